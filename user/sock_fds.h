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
	uint32_t gen;       /* events.c's first_wakeup: the epoll instance's */
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

/*
 * The fds the target holds such children on, from accept to close: the
 * socket by fd, since the kernel hands out the lowest free fd, so that a
 * busy server's accepts and closes, which run through its fds in order,
 * touch lines near the ones before (a table by socket address touches a
 * random one each time, most often out of every cache under load); and,
 * for the events that carry no fd (a state change in softirq), a hint by
 * socket: the fd it was last accepted on, checked against the table, which
 * is searched when another socket took the hint's place.
 */
#define ACCEPTED_FDS_MAX (1u << 24) /* fds from here on are not kept */
#define ACCEPTED_HINTS (1u << 17)

struct accepted_fds {
	uint64_t *sk;   /* by fd; 0: none */
	size_t cap;     /* fds the table covers */
	uint32_t *hint; /* by socket: fd + 1; 0: none */
};

/* sk accepted on fd; -1 when out of memory or fd out of range */
int accepted_fds__add(struct accepted_fds *a, uint64_t sk, int32_t fd);
/* the fd sk was accepted on and is not closed, or -1 */
int32_t accepted_fds__find(const struct accepted_fds *a, uint64_t sk);
/* sk closed on fd: forgotten (nothing when fd is not sk's) */
void accepted_fds__close(struct accepted_fds *a, uint64_t sk, int32_t fd);
void accepted_fds__free(struct accepted_fds *a);

#endif
