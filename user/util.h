/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef SOCKTRACE_UTIL_H
#define SOCKTRACE_UTIL_H

#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

/* Exit codes, documented in --help and the man page. */
#define ST_EXIT_OK 0
#define ST_EXIT_FAIL 1
#define ST_EXIT_USAGE 2

/* "socktrace: <message>\n" on stderr. Messages are lower-case, no period. */
void st_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void st_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int st_verbose;

uint64_t st_now_ns(void); /* CLOCK_MONOTONIC */
/* Fully buffer stdout in 256 KiB (one write per 256 KiB at high event
 * rates; callers flush every poll). Call before the first output. */
void st_stdout_buffer(void);

/* Checks the things every BPF mode needs (privilege, BTF) and prints one
 * line naming what is missing and what to do. Returns 0 or -errno. */
int st_check_bpf_env(void);
/* BTF path libbpf should use: $SOCKTRACE_BTF when set (for tests of the
 * no-BTF path), else NULL for the kernel's own. */
const char *st_btf_path(void);

/* Resolves a pid or thread id to its process id. Returns 0 or -ESRCH. */
int st_resolve_pid(uint32_t id, uint32_t *tgid);
/* 1 when the process still exists (and is not a zombie), 0 otherwise. */
int st_pid_alive(uint32_t pid);
/* The start of a small file (a /proc or /sys value) into buf, NUL
 * terminated: the bytes read, -errno when it does not open, -EIO when
 * nothing could be read. */
int st_read_small(const char *path, char *buf, size_t len);

/* --filter "accept,accept_overflow" -> a bit per event type (1 << type);
 * all bits when filter is NULL. Prints one line and returns -EINVAL on an
 * unknown or empty list. */
int st_event_filter_parse(const char *filter, uint64_t *mask);

/* The text of kernel function name, [*start, *end), from a /proc/kallsyms
 * listing (its end: the next symbol's address). Returns 0, or -ENOENT when
 * the function is not listed or the addresses are hidden (kptr_restrict). */
int st_ksym_range(FILE *f, const char *name, uint64_t *start, uint64_t *end);

/* Is kernel release ("6.1.0-57-cloud-amd64", uname -r) major.minor or
 * later? 0 for a release that does not start with two numbers. */
int st_release_at_least(const char *release, unsigned int major, unsigned int minor);

/* Does a kernel of this release count the kprobe programs it skips (prog
 * info's recursion_misses)? From Linux 6.7 ("bpf: Count missed stats in
 * trace_call_bpf"); before it, kprobe programs share a guard per CPU with
 * perf's tracepoints and the bpf() syscall's map updates, and a run that
 * finds it taken is dropped without a count. */
int st_kprobe_skips_counted(const char *release);

/* What to say where a hook is on kprobes and the kernel does not count
 * their skipped runs: those losses are in no lost count. */
#define ST_KPROBE_GAP_MSG                                                               \
	"this kernel counts no kprobe run it skips (from Linux 6.7 it does): events lost " \
	"that way on the kprobe hooks are not reported; --mode fentry or tracepoint have " \
	"no such gap"

#endif
