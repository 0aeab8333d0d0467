/*
 * Times snapshot_taker__take() for one process: the cost of one socktrace
 * snapshot once the programs are loaded. Usage: snapbench PID ROUNDS
 * Prints "snapshot fds=N median_ms=M min_ms=M max_ms=M".
 */
#include <stdio.h>
#include <stdlib.h>
#include "snapshot.h"
#include "util.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct snapshot_taker *t;
	struct st_snapshot snap;
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	uint64_t *ns;
	size_t fds = 0;

	if (argc < 2 || rounds < 1)
		return 2;
	ns = calloc(rounds, sizeof(*ns));
	if (!ns || snapshot_taker__open(&t, (uint32_t)atoi(argv[1])))
		return 1;
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = st_now_ns();

		if (snapshot_taker__take(t, &snap))
			return 1;
		ns[i] = st_now_ns() - t0;
		fds = snap.n_fds;
		st_snapshot__free(&snap);
	}
	qsort(ns, rounds, sizeof(*ns), cmp_u64);
	printf("snapshot fds=%zu median_ms=%.2f min_ms=%.2f max_ms=%.2f\n", fds,
	       ns[rounds / 2] / 1e6, ns[0] / 1e6, ns[rounds - 1] / 1e6);
	snapshot_taker__close(t);
	return 0;
}
