// SPDX-License-Identifier: GPL-2.0
/*
 * pokeloop: attach and detach a no-op BPF program on the sys_exit
 * tracepoint, over and over. Each attach and detach makes the kernel patch
 * the tracepoint's jump label and static call in the syscall exit path,
 * which every other CPU runs through meanwhile. guest-pokeloop.sh runs it
 * under syscall load to show that multi-threaded TCG panics a 6.12 guest
 * on such patching (and single-threaded TCG does not); see boot.sh.
 *
 *   pokeloop raw N        BPF_PROG_TYPE_RAW_TRACEPOINT on sys_exit, as a
 *                         tp_btf program attaches
 *   pokeloop perf ID N    BPF_PROG_TYPE_TRACEPOINT on the perf tracepoint
 *                         ID (e.g. syscalls/sys_exit_connect/id)
 *
 * Prints "<how> <i>" every 200 rounds; exit 0 after N rounds.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int load_noop(enum bpf_prog_type type)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.insns = (unsigned long)insns;
	attr.insn_cnt = 2;
	attr.license = (unsigned long)"GPL";
	return sys_bpf(BPF_PROG_LOAD, &attr);
}

static int attach_raw(int prog)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.raw_tracepoint.name = (unsigned long)"sys_exit";
	attr.raw_tracepoint.prog_fd = prog;
	return sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &attr);
}

static int attach_perf(int prog, unsigned long id, int cpu)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = id;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog) || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	int perf = argc == 4 && !strcmp(argv[1], "perf");
	unsigned long id = 0;
	long i, n;
	int prog;

	if (!perf && !(argc == 3 && !strcmp(argv[1], "raw"))) {
		fprintf(stderr, "usage: pokeloop raw N | pokeloop perf TRACEPOINT_ID N\n");
		return 2;
	}
	if (perf)
		id = strtoul(argv[2], NULL, 10);
	n = atol(argv[argc - 1]);
	prog = load_noop(perf ? BPF_PROG_TYPE_TRACEPOINT : BPF_PROG_TYPE_RAW_TRACEPOINT);
	if (prog < 0) {
		fprintf(stderr, "pokeloop: loading the program: %s\n", strerror(errno));
		return 1;
	}
	for (i = 1; i <= n; i++) {
		int fd = perf ? attach_perf(prog, id, (int)(i % 2)) : attach_raw(prog);

		if (fd < 0) {
			fprintf(stderr, "pokeloop: attaching, round %ld: %s\n", i, strerror(errno));
			return 1;
		}
		usleep(1000);
		close(fd);
		if (i % 200 == 0) {
			printf("%s %ld\n", argv[1], i);
			fflush(stdout);
		}
	}
	return 0;
}
