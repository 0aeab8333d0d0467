/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The event engine: BPF hook programs (bpf/events.bpf.c) for one target
 * process, each hook on the best tier this kernel allows, feeding one ring
 * buffer. Used by --events, the recorder and the TUI.
 */
#ifndef SOCKTRACE_EVENTS_H
#define SOCKTRACE_EVENTS_H

#include <stdint.h>
#include "cli.h"
#include "socktrace.h"

/* The design card's hooks, each with its own tier. */
enum st_hook {
	ST_HOOK_CONNECT = 0,	/* tcp_v4_connect / tcp_v6_connect */
	ST_HOOK_ACCEPT,		/* inet_csk_accept */
	ST_HOOK_SYN_QUEUE,	/* SYN received, SYN-ACK retransmit, SYN queue full */
	ST_HOOK_ACCEPT_QUEUE,	/* child queued, accept-queue overflow */
	ST_HOOK_EPOLL,		/* ep_poll_callback, epoll_wait return */
	ST_HOOK_STATE,		/* state changes, close */
	ST_HOOK_COUNT,
};

struct st_hook_status {
	const char *hook;	/* "tcp_v4_connect", ... */
	enum st_tier tier;	/* what attached; ST_TIER_NONE if nothing */
	char why[160];		/* why better tiers are unavailable ("" if best) */
};

struct event_source;

typedef void (*st_event_fn)(const struct st_event *e, void *ctx);

/* Loads and attaches the hook programs for process pid with the given mode.
 * Prints one clear line and returns -errno on failure. */
int event_source__open(struct event_source **out, uint32_t pid, enum st_mode mode);
/* event_source__open() that produces only the types in type_mask (see
 * event_source__set_filter()) from the first event on. */
int event_source__open_filtered(struct event_source **out, uint32_t pid, enum st_mode mode,
				uint32_t type_mask);
/* Only event types whose bit (1u << enum st_event_type) is set are produced
 * (in BPF, so filtered events cost no ring space); default: all. ST_EV_LOST
 * is always reported. Returns 0 or -errno: -EOPNOTSUPP when the source was
 * opened for the listeners' queue events alone, which loads no syscall exit
 * program (see event_source__takes_exits()), and type_mask needs them. */
int event_source__set_filter(struct event_source *s, uint32_t type_mask);
/* Waits up to timeout_ms (0: no wait) and calls fn for each event, in time
 * order. Events the BPF side could not reserve, and hook runs the kernel
 * skipped, come through as ST_EV_LOST events (count = how many, old_state =
 * enum st_lost_reason). Returns the number of events or -errno. */
int event_source__poll(struct event_source *s, int timeout_ms, st_event_fn fn, void *ctx);
/* The last poll before closing: stops the programs, then delivers
 * everything there is, including events newer than the poll that
 * event_source__poll() would keep back for the next one (to deliver in
 * time order across CPUs). */
int event_source__drain(struct event_source *s, st_event_fn fn, void *ctx);
/* An fd that becomes readable when events are waiting (for poll()/select()).
 * Wake-ups are batched (ring over a threshold, or 20 ms since the last one),
 * so also call event_source__poll() on your own tick (<= 100 ms). */
int event_source__fd(const struct event_source *s);
/* Total events lost so far: events the ring could not take, and hook runs
 * the kernel skipped (each counted as an event lost). */
uint64_t event_source__lost(const struct event_source *s);
/* Of those, the hook runs the kernel skipped. */
uint64_t event_source__skipped(const struct event_source *s);
/* Events delivered after later ones (out of time order): read from the
 * ring after their time was handed on (but for connects and children's
 * clones, which carry an earlier moment than they are sent at, by design).
 * Expected 0. */
uint64_t event_source__late(const struct event_source *s);
/* Drops the kernel counted on the target's listeners that closed while
 * traced and that no hook saw (tracepoint tier; expected 0): overflows or
 * SYN-queue drops that went untold. */
uint64_t event_source__drops_unseen(const struct event_source *s);
/* Total events delivered so far. */
uint64_t event_source__delivered(const struct event_source *s);
/* 1 when the source takes syscall exits, 0 when its filter needs none
 * and no program for them is loaded (see event_source__set_filter()). */
int event_source__takes_exits(const struct event_source *s);
/* Per-hook tier, ST_HOOK_COUNT entries. */
const struct st_hook_status *event_source__hooks(const struct event_source *s);
/* Detaches every program and link; accepts NULL. */
void event_source__close(struct event_source *s);

/* Probes this kernel without a target: what tier each hook would get with
 * mode, and why. Fills ST_HOOK_COUNT entries. Returns 0 or -errno. */
int event_source__probe(struct st_hook_status hooks[ST_HOOK_COUNT], enum st_mode mode);
/* How syscall exits are taken with these hook tiers: "fexit __x64_sys_*"
 * (fexit programs on the syscalls socktrace needs; no other syscall pays),
 * "syscalls:sys_exit_*" (only the syscalls socktrace needs run a program,
 * every syscall takes the slow path) or "raw sys_exit" (every syscall of
 * every process runs one), with why not a better way ("" when it is the
 * best). */
const char *event_source__syscall_exits(const struct st_hook_status *hooks,
					const char **why);
/* How the tracepoint tier tells the SYNs our listeners take from the other
 * packets consume_skb frees (see tp_consume_skb_at). */
const char *event_source__syn_packets(void);
/* Does this kernel count the kprobe programs it skips (prog info's
 * recursion_misses, which come through as lost events)? See
 * st_kprobe_skips_counted(). */
int event_source__kprobe_skips_counted(void);
/* 1 when any of hooks (event_source__hooks(), event_source__probe()) is on
 * kprobes. */
int event_source__kprobe_hooks(const struct st_hook_status *hooks);
/* 1 when s has a hook on kprobes and this kernel does not count their
 * skipped runs (ST_KPROBE_GAP_MSG says what that means). */
int event_source__kprobe_gap(const struct event_source *s);

#endif
