/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef SOCKTRACE_SOCK_FDS_H
#define SOCKTRACE_SOCK_FDS_H

#include <stddef.h>
#include <stdint.h>

/*
 * What user space keeps per socket for the BPF side's children of a
 * listener, which it follows by their port and not by an entry (see
 * retired_ports in bpf/events.bpf.c): the fd the target accepted it on,
 * and when it was queued on the listener. Keyed by the socket's kernel
 * address (an event's sk_id, never 0): an open-addressing table that grows.
 */
struct sock_fd {
	uint64_t sk;        /* 0: free */
	uint64_t queued_ns; /* 0: not known */
	int32_t fd;         /* -1: not known */
};

struct sock_fds {
	struct sock_fd *slot;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/* sk's entry, or NULL */
struct sock_fd *sock_fds__get(struct sock_fds *m, uint64_t sk);
/* sk's entry, made (fd -1, queued_ns 0) when absent; NULL when out of memory */
struct sock_fd *sock_fds__put(struct sock_fds *m, uint64_t sk);
void sock_fds__del(struct sock_fds *m, uint64_t sk);
void sock_fds__free(struct sock_fds *m);

#endif
