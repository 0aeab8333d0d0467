// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The kernel's floor for taking syscall exits from a tracepoint: holds one
 * perf event open on a per-syscall exit tracepoint (its id from tracefs,
 * e.g. events/syscalls/sys_exit_sync/id) and runs no code of anyone's on
 * it. While any syscall tracepoint is registered the kernel sends every
 * syscall of every task down its slow path, so what a load loses beside
 * this program is what any tool taking syscall exits this way costs it
 * before doing any work (tests/bench/bench_events.sh -o floor). Prints
 * "HOLDING <pid>" once the event is open; holds it until killed.
 *
 *   tpfloor TRACEPOINT_ID
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.sample_period = 1,
		.sample_type = PERF_SAMPLE_RAW,
	};
	char *end;
	long fd;

	if (argc != 2 || (attr.config = strtoull(argv[1], &end, 10), *end) || !*argv[1]) {
		fprintf(stderr, "usage: tpfloor TRACEPOINT_ID\n");
		return 2;
	}
	/* this process, any CPU: registering the tracepoint is what flags
	 * every task; the event itself would take this process's calls of
	 * that syscall, which it makes none of */
	fd = syscall(SYS_perf_event_open, &attr, getpid(), -1, -1, 0);
	if (fd < 0) {
		fprintf(stderr, "tpfloor: perf_event_open(tracepoint %s): %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	printf("HOLDING %d\n", getpid());
	fflush(stdout);
	for (;;)
		pause();
}
