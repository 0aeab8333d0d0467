/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The ids of the per-syscall exit tracepoints (syscalls:sys_exit_<name>). */
#ifndef SOCKTRACE_SYSCALL_TP_H
#define SOCKTRACE_SYSCALL_TP_H
#include <stddef.h>

/*
 * Fills ids[i] with the id of syscalls:sys_exit_<names[i]>, -1 for one this
 * kernel lacks. Read from tracefs where it is mounted, or else from a
 * private mount of it, undone before returning (nothing stays mounted).
 * Returns how many were found, or -errno with why filled (no tracefs, no
 * syscall tracepoints: CONFIG_FTRACE_SYSCALLS off).
 */
int syscall_exit_tp_ids(const char *const *names, int n, int *ids, char *why, size_t len);

#endif
