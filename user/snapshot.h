/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel-state snapshot of one process: fd table, listeners with their
 * two queues, epoll instances with interest and ready lists. Plain data, so
 * the printers, the trace file and the TUI can all share it.
 */
#ifndef SOCKTRACE_SNAPSHOT_H
#define SOCKTRACE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include "socktrace.h"

struct st_addr {
	uint8_t family; /* AF_INET, AF_INET6, 0 */
	uint8_t addr[16];
	uint16_t port;
};

struct st_fd {
	int32_t fd; /* first, in every struct sorted by fd */
	uint16_t kind;	/* enum st_fd_kind */
	uint8_t state;	/* see st_sock_state_name() */
	uint8_t family;
	uint16_t sock_type;
	struct st_addr local, remote;
	uint32_t rx_queue, tx_queue;
	uint32_t drops;
	uint64_t ino;
	uint64_t obj_id; /* kernel sock/eventpoll address, a join key only */
	char *path;	 /* files and bound unix sockets; NULL otherwise */
};

/* A half-open connection: a request socket waiting for the final ACK. */
struct st_half_open {
	struct st_addr local, remote;
	uint16_t synack_retrans;
};

struct st_listener {
	int32_t fd;
	uint8_t family;
	struct st_addr local;
	uint32_t syn_queue;	/* request sockets (icsk_accept_queue.qlen) */
	uint32_t accept_queue;	/* sk_ack_backlog */
	uint32_t accept_max;	/* sk_max_ack_backlog */
	uint32_t drops;		/* sk_drops: tcp_listendrop() */
	uint64_t sk_id;
	struct st_half_open *half_open; /* from iter/tcp, may be < syn_queue */
	size_t n_half_open;
};

struct st_ep_entry {
	int32_t fd;
	uint32_t events;
};

struct st_epoll {
	int32_t fd;
	uint64_t ep_id;
	struct st_ep_entry *interest; /* in fd order */
	size_t n_interest;
	struct st_ep_entry *ready;    /* fds on the kernel's ready list */
	size_t n_ready;
};

struct st_snapshot {
	uint32_t pid;
	char comm[ST_COMM_LEN + 1];
	uint64_t time_ns; /* CLOCK_MONOTONIC when taken */
	struct st_fd *fds; /* in fd order */
	size_t n_fds;
	struct st_listener *listeners; /* in fd order */
	size_t n_listeners;
	struct st_epoll *epolls; /* in fd order */
	size_t n_epolls;
};

struct snapshot_taker;

/* Loads the iterator programs for process pid (a thread id resolves to its
 * process). Returns 0 or -errno, with a message already printed. */
int snapshot_taker__open(struct snapshot_taker **out, uint32_t pid);
/* Fills snap (which the caller frees with st_snapshot__free()). Returns 0,
 * -ESRCH when the process is gone, or another -errno. */
int snapshot_taker__take(struct snapshot_taker *t, struct st_snapshot *snap);
/* For a taker called again and again (the live view, recording): the
 * listeners' half-open lists come from a walk of the namespace's whole TCP
 * table, which is then made at most once per 100 times what it costs, and
 * each snapshot in between has the last walk's lists (user/snapshot.c).
 * The SYN queue lengths are read afresh every time. */
void snapshot_taker__set_periodic(struct snapshot_taker *t);
/* How many times the TCP table was walked, and the time that took. */
void snapshot_taker__walks(const struct snapshot_taker *t, uint64_t *walks, uint64_t *ns_total);
uint32_t snapshot_taker__pid(const struct snapshot_taker *t);
void snapshot_taker__close(struct snapshot_taker *t);

/* Builds a snapshot from iterator records (both seq-file buffers), for the
 * live path and for tests. Returns 0 or -EINVAL on a malformed record. */
int st_snapshot__parse(struct st_snapshot *snap, const void *file_recs,
		       size_t file_len, const void *tcp_recs, size_t tcp_len);
/* Adds iter/tcp request-socket records to the listeners they belong to.
 * Returns 0, -EINVAL on a malformed record, or -ENOMEM. */
int st_snapshot__add_half_open(struct st_snapshot *snap, const void *tcp_recs,
			       size_t tcp_len);
void st_snapshot__free(struct st_snapshot *snap);
/* Deep copy; returns 0 or -ENOMEM. */
int st_snapshot__copy(struct st_snapshot *dst, const struct st_snapshot *src);

const struct st_fd *st_snapshot__find_fd(const struct st_snapshot *s, int32_t fd);

#endif
