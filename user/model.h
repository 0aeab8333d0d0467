/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The per-process model: snapshots (state) and events (deltas) merged into
 * what the views show — queue gauges with their history, overflow counters,
 * accept-queue wait percentiles, epoll rates, a bounded event log and the
 * plain-words diagnoses behind `e` (explain). Time comes from the caller
 * (snapshot and event timestamps, st_model__tick()), so a replay drives the
 * same model as the live view. Never includes <ncurses.h>.
 */
#ifndef SOCKTRACE_MODEL_H
#define SOCKTRACE_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "snapshot.h"
#include "socktrace.h"

/* Accept-queue depth history for the sparkline: each sample is the deepest
 * the queue was seen in ST_MODEL_HIST_STEP_NS, so short spikes between
 * refreshes still show. */
#define ST_MODEL_HIST 64
#define ST_MODEL_HIST_STEP_NS 250000000ull
/* Accept-wait samples kept per listener for the median and p99. */
#define ST_MODEL_WAIT_SAMPLES 1024
/* wake-up-to-return samples kept per epoll instance */
#define ST_MODEL_EPOLL_SAMPLES 256
/* Events kept in the log ring. */
#define ST_MODEL_LOG 4096
/* Rates (events/s, accepts/s...): counters are marked every
 * ST_RATE_STEP_NS and a rate is the change since the oldest of
 * ST_RATE_MARKS marks (1 s back), so it follows a burst within a quarter
 * second. */
#define ST_RATE_STEP_NS 250000000ull
#define ST_RATE_MARKS 5
/* How long an overflow counter "flashes" after it moves. */
#define ST_MODEL_FLASH_NS 1000000000ull

/* How full a queue is, for colours and the FULL mark. */
enum st_fill {
	ST_FILL_OK = 0,	/* below half */
	ST_FILL_FILLING,	/* half or more */
	ST_FILL_FULL,	/* at or over the limit */
};

enum st_fill st_fill_level(uint32_t depth, uint32_t limit);

struct st_listener_stats {
	int32_t fd;
	uint64_t sk_id;
	struct st_addr local;
	uint32_t syn_queue;
	/* The kernel treats the SYN queue as full when it holds more request
	 * sockets than sk_max_ack_backlog (inet_csk_reqsk_queue_is_full()), so
	 * the accept backlog is its limit too. */
	uint32_t syn_max;
	uint32_t accept_queue;
	uint32_t accept_max;
	uint32_t drops;		   /* sk_drops as last read */
	uint32_t drops_base;	   /* sk_drops when first seen */
	uint64_t drops_changed_ns; /* last time drops moved; 0: never seen moving */
	uint32_t drops_last_delta; /* by how much */
	uint64_t full_since_ns;	   /* accept queue full since; 0: not full */
	uint64_t syn_full_since_ns;
	uint32_t drops_at_full;	   /* drops when the current full spell began */
	int full_at_first_sight;   /* full when socktrace first saw it */
	size_t n_half_open;
	/* from events */
	uint64_t accepts;
	uint64_t overflow_events;  /* accept_overflow + syn_queue_full */
	uint64_t synack_retrans;
	double accepts_per_s;
	double drops_per_s;
	uint64_t wait_p50_ns, wait_p99_ns; /* 0 when no samples */
	size_t wait_count;		   /* samples behind the percentiles */
	/* sparkline: hist_len samples ending at hist_head - 1 (ring) */
	uint16_t hist[ST_MODEL_HIST];
	unsigned int hist_head, hist_len;
	/* private to the model */
	uint64_t hist_step_ns; /* when the newest sample's step began */
	uint64_t wait_ns[ST_MODEL_WAIT_SAMPLES];
	unsigned int wait_head, wait_len;
	uint64_t accepts_mark[ST_RATE_MARKS];
	uint64_t drops_mark[ST_RATE_MARKS];
	int present; /* in the latest snapshot */
};

struct st_epoll_stats {
	int32_t fd;
	uint64_t ep_id;
	size_t n_interest, n_ready;
	uint64_t ready_since_ns; /* ready list non-empty since; 0: empty */
	uint64_t wakeups;	 /* ep_poll_callback */
	uint64_t returns;	 /* epoll_wait returns */
	uint64_t returned;	 /* events returned by them */
	double wakeups_per_s, returns_per_s;
	/* epoll_wait returns: time from the first wake-up to the return */
	uint64_t wake_p50_ns, wake_p99_ns;
	size_t wake_count;
	/* private to the model */
	uint64_t wake_ns[ST_MODEL_EPOLL_SAMPLES];
	unsigned int wake_head, wake_len;
	uint64_t wakeups_mark[ST_RATE_MARKS], returns_mark[ST_RATE_MARKS];
	int present;
};

struct st_model {
	uint32_t pid;
	char comm[ST_COMM_LEN + 1]; /* raw bytes from the kernel: escape to show */
	struct st_snapshot snap;    /* the latest, owned */
	int have_snap;
	uint64_t snap_count;
	uint64_t now_ns;	    /* latest time seen (snapshot, event or tick) */
	uint64_t start_ns;

	struct st_listener_stats *listeners; /* in snapshot (fd) order */
	size_t n_listeners;
	struct st_epoll_stats *epolls;
	size_t n_epolls;

	/* event log ring: newest at log_head - 1 */
	struct st_event *log;
	size_t log_head, log_len;
	uint64_t events_total;
	uint64_t events_lost;
	uint64_t per_type[ST_EV_TYPE_COUNT];
	double events_per_s;

	/* rate marks: counters as they were at mark_ns[] (a ring shared by
	 * every counter) */
	uint64_t mark_ns[ST_RATE_MARKS];
	unsigned int mark_head, mark_len;
	uint64_t events_mark[ST_RATE_MARKS];

	int somaxconn;		 /* -1 when unknown */
	int somaxconn_is_target; /* read in the target's netns */

	int target_gone;
	uint64_t gone_ns;
	uint64_t generation; /* bumped whenever what a view shows changes */
};

/* Returns 0 or -ENOMEM. somaxconn starts unknown: see st_read_somaxconn(). */
int st_model__init(struct st_model *m, uint32_t pid);
/* Accepts a zeroed or NULL model. */
void st_model__free(struct st_model *m);
/* Takes ownership of *s (left zeroed) as the latest snapshot. */
void st_model__take_snapshot(struct st_model *m, struct st_snapshot *s);
void st_model__event(struct st_model *m, const struct st_event *e);
/* Advances the clock; every ST_RATE_STEP_NS, updates the rates (over the
 * last second) and the percentiles. */
void st_model__tick(struct st_model *m, uint64_t now_ns);
void st_model__set_gone(struct st_model *m, uint64_t now_ns);

/* Event log: i = 0 is the newest; NULL past the end. */
const struct st_event *st_model__log_get(const struct st_model *m, size_t i);

/* Plain-words explanation of listener idx / epoll idx: what the numbers
 * show and what to do. Wrapped by the caller. Returns buf. */
char *st_model__explain_listener(const struct st_model *m, size_t idx, char *buf, size_t len);
char *st_model__explain_epoll(const struct st_model *m, size_t idx, char *buf, size_t len);
/* One line for the header: the most pressing problem, or "" when none. */
char *st_model__headline(const struct st_model *m, char *buf, size_t len);

/* Adds the current accept-queue depth to the history at time now. */
void st_listener_stats__sample(struct st_listener_stats *ls, uint64_t now);

/* p in [0, 1]: nearest-rank percentile of n values (sorted in place). */
uint64_t st_percentile(uint64_t *vals, size_t n, double p);

/* net.core.somaxconn as the target sees it. It is per network namespace
 * and /proc/sys shows the reader's namespace, so this enters the target's
 * namespace (setns on /proc/PID/ns/net) for the read and returns to ours.
 * Falls back to our own namespace's value (*is_target = 0) when that fails.
 * Returns the value or -errno. */
int st_read_somaxconn(uint32_t pid, int *is_target);

#endif
