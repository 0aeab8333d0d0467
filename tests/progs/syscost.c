// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The price of a syscall nobody hooks: N calls of getppid() (no work in the
 * kernel), timed with CLOCK_MONOTONIC, best of R rounds; prints
 * "ns_per_call <best> <median>". tests/bench/bench_syscalls.sh runs it with
 * and without socktrace attached elsewhere: a syscall tracepoint sends every
 * syscall of every task down the kernel's slow path, fexit programs on the
 * syscalls socktrace needs do not.
 *
 *   syscost [N] [R]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	int r = argc > 2 ? atoi(argv[2]) : 5;
	double per[64];

	if (n < 1 || r < 1 || r > 64) {
		fprintf(stderr, "usage: syscost [CALLS] [ROUNDS (1-64)]\n");
		return 2;
	}
	for (int i = 0; i < r; i++) {
		double t0 = now_ns();

		for (long k = 0; k < n; k++)
			syscall(SYS_getppid);
		per[i] = (now_ns() - t0) / n;
	}
	qsort(per, r, sizeof(per[0]), cmp);
	printf("ns_per_call %.1f %.1f\n", per[0], per[r / 2]);
	return 0;
}
