/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records shared by the BPF programs and user space. Everything here crosses
 * the kernel/user boundary on one machine (iterator seq files, ring buffer),
 * so fixed-width types only; the trace file serializes them field by field.
 */
#ifndef SOCKTRACE_H
#define SOCKTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ST_COMM_LEN 16
#define ST_PATH_MAX 256
/* Upper bound on epoll items walked per epoll instance in one snapshot. */
#define ST_EPOLL_MAX_ITEMS 65536

/* What a file descriptor is. Order is ABI for the trace file: append only. */
enum st_fd_kind {
	ST_FD_OTHER = 0,
	ST_FD_FILE,
	ST_FD_TCP,
	ST_FD_TCP6,
	ST_FD_UDP,
	ST_FD_UDP6,
	ST_FD_UNIX,
	ST_FD_EPOLL,
	ST_FD_PIPE,
	ST_FD_EVENTFD,
	ST_FD_TIMERFD,
	ST_FD_SIGNALFD,
	ST_FD_SOCKET, /* a socket of another family or protocol */
	ST_FD_KIND_COUNT,
};

/* Iterator records: each starts with st_rec_hdr; len covers the header. */
enum st_rec_type {
	ST_REC_TASK = 1,   /* struct st_task_rec */
	ST_REC_FD = 2,     /* struct st_fd_rec */
	ST_REC_PATH = 3,   /* struct st_path_rec + path bytes */
	ST_REC_EPITEM = 4, /* struct st_epitem_rec */
	ST_REC_REQSK = 5,  /* struct st_reqsk_rec (iter/tcp) */
};

struct st_rec_hdr {
	__u16 type;
	__u16 len;
};

struct st_task_rec {
	struct st_rec_hdr hdr;
	__u32 pid;
	char comm[ST_COMM_LEN];
};

/* Addresses are in network byte order; IPv4 uses the first 4 bytes. */
struct st_fd_rec {
	struct st_rec_hdr hdr;
	__u32 fd;
	__u16 kind;   /* enum st_fd_kind */
	__u8 state;   /* TCP_* for TCP, SS_* style for others (0 unknown) */
	__u8 family;  /* AF_INET, AF_INET6, AF_UNIX, 0 */
	__u16 sock_type; /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 lport;  /* host byte order */
	__u16 rport;
	__u16 pad;
	__u8 laddr[16];
	__u8 raddr[16];
	__u32 rx_queue; /* bytes to read (listener: accept queue length) */
	__u32 tx_queue; /* bytes unsent/unacked (listener: backlog limit) */
	/* listeners only */
	__u32 syn_queue;
	__u32 accept_queue;
	__u32 accept_max;
	__u32 drops;
	__u64 ino;
	__u64 obj_id; /* kernel address of the sock or eventpoll: a join key */
};

struct st_path_rec {
	struct st_rec_hdr hdr;
	__u32 fd;
	__u32 path_len; /* bytes following, no NUL */
};

struct st_epitem_rec {
	struct st_rec_hdr hdr;
	__u32 reserved;  /* 0; items join their epoll by ep_id */
	__u32 fd;      /* the fd number given to epoll_ctl */
	__u32 events;  /* registered event mask */
	__u32 ready;   /* 1 when on the ready list */
	__u32 revents; /* for ready items: events the kernel saw (0: unknown) */
	__u32 pad;
	__u64 ep_id;
	__u64 file_id; /* the watched struct file, to tell stale fd numbers */
};

/* A request socket (SYN_RECV) found by iter/tcp, with its listener. */
struct st_reqsk_rec {
	struct st_rec_hdr hdr;
	__u32 pad;
	__u64 listener_id;
	__u16 family;
	__u16 lport;
	__u16 rport;
	__u16 retrans;
	__u8 laddr[16];
	__u8 raddr[16];
};

/* Ring buffer events. Order is ABI for the trace file: append only. */
enum st_event_type {
	ST_EV_CONNECT = 1,
	ST_EV_CONNECT_DONE,
	ST_EV_SYN_RECV,
	ST_EV_SYNACK_RETRANS,
	ST_EV_SYN_QUEUE_FULL,
	ST_EV_CHILD_QUEUED,
	ST_EV_ACCEPT,
	ST_EV_ACCEPT_OVERFLOW,
	ST_EV_EP_WAKEUP,
	ST_EV_EPOLL_WAIT_DONE,
	ST_EV_STATE,
	ST_EV_CLOSE,
	ST_EV_LOST,
	ST_EV_TYPE_COUNT,
};

/* Why a `lost` event's events were lost (its old_state). */
enum st_lost_reason {
	ST_LOST_RING = 0,    /* the ring buffer was full */
	ST_LOST_SKIPPED = 1, /* the kernel skipped hook runs (recursion on a
			      * CPU): each may have been an event */
	ST_LOST_STAGE = 2,   /* staged in BPF and never written out: a bug
			      * of ours, found at exit (see st_stage) */
	ST_LOST_WALK = 3,    /* a wake-up's walk of a socket's epoll items
			      * stopped at its bound (ep_walks_cut): each
			      * may have missed an ep_wakeup */
};

/* Which tier produced an event or attached a hook. */
enum st_tier {
	ST_TIER_NONE = 0,
	ST_TIER_FENTRY,
	ST_TIER_KPROBE,
	ST_TIER_TRACEPOINT,
};

struct st_event {
	__u64 time_ns;    /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 latency_ns; /* connect: handshake time; accept: wait in queue;
			   * epoll_wait_done: time since first wake-up */
	__u64 sk_id;      /* kernel address of the socket: a join key */
	__u32 pid;
	__u32 tid;
	__u16 type;       /* enum st_event_type */
	__u16 family;
	__s32 fd;         /* -1 when unknown */
	__u16 sport;      /* host byte order, local side */
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 queue_len;  /* accept/SYN queue depth at the event */
	__u32 queue_max;  /* (ring records of ep_wakeup and epoll_wait_done:
			   * the instance's generation, st_epoll_state's;
			   * 0 in every event user space hands on) */
	__s32 err;        /* connect/accept result, 0 ok */
	__u32 count;      /* lost: events dropped (old_state: enum st_lost_reason);
			   * epoll_wait_done: returned */
	__s32 epfd;
	__u32 events;     /* epoll event mask */
	__u8 old_state;
	__u8 new_state;   /* accept: the connection's state when accepted
			   * (0 unknown) */
	__u8 tier;        /* enum st_tier */
	__u8 xflags;      /* ring records only (ST_XF_*); 0 in every event
			   * user space hands on */
	char comm[ST_COMM_LEN];
};

/*
 * One ring record can stand for several events that happen together, so
 * that a connection costs fewer ring reservations (each takes the ring's
 * lock); user space (event_source) expands them before anyone sees them.
 */
/* child_queued, preceded by the child's two state events: old_state ->
 * new_state (its clone, LISTEN -> SYN_RECV) at time_ns - latency_ns, then
 * SYN_RECV -> ESTABLISHED at time_ns. */
#define ST_XF_CHILD_STATES 0x1
/* close of a socket in old_state, followed by its state event old_state ->
 * new_state at the same time. */
#define ST_XF_CLOSE_STATE 0x2

/* A ring record's fd for a socket the target accepted and has not closed
 * whose fd the BPF side does not keep (a listener's child followed by its
 * port): user space fills it in from the accept (user/events.c). */
#define ST_FD_ACCEPTED (-3)

/* A ring record is an event without its comm, which user space fills in
 * (the BPF side never knows it better: 16 bytes less per record). */
#define ST_RING_RECORD_SIZE __builtin_offsetof(struct st_event, comm)

/* A CPU's stages of events (bpf/events.bpf.c: a level per nesting depth).
 * staged and out count the events put in and written out (or counted
 * lost, the ring full): once the programs have stopped and the stages are
 * written, what was staged and not written out was lost unseen, and user
 * space reports it. Each is written only by the level's own user. */
#define ST_STAGE_N 64
#define ST_STAGE_LEVELS 3
struct st_stage_level {
	__u64 first_ns;
	__u32 n;
	__u32 pad;
	__u64 staged;
	__u64 out;
	__u8 buf[ST_STAGE_N * ST_RING_RECORD_SIZE];
};

struct st_stage {
	__u32 depth; /* levels in use on this CPU */
	__u32 pad;
	struct st_stage_level lv[ST_STAGE_LEVELS];
};

/* TCP states the expansion names (the kernel's values) */
#define ST_TCP_ESTABLISHED 1
#define ST_TCP_SYN_RECV 3

/* An accept of a connection the peer closed or reset while it waited in
 * the queue (new_state then CLOSE_WAIT, CLOSE, ...; 0 when the tier did
 * not say). */
static inline int st_accepted_late(const struct st_event *e)
{
	return e->new_state && e->new_state != ST_TCP_ESTABLISHED;
}

/* Values of the event programs' ownership maps (bpf/events.bpf.c), which
 * user space seeds from a snapshot. */
struct st_listener_state {
	__u64 net;
	__u64 last_drops; /* sk_drops when last looked at (64-bit for cmpxchg) */
	__s32 fd;
	__u32 synq_full;  /* the SYN queue was full at the last SYN (written
			   * only when that changes: every CPU reads it) */
	__u16 port;
	__u16 family;
	__u16 pad[2];
};

#define ST_SS_CHILD 0x1		  /* created from one of our listeners */
#define ST_SS_CONNECT_EMITTED 0x2 /* `connect` already sent */
#define ST_SS_ACCEPTED 0x4
/* Seeded by user space from a snapshot and not seen since: the socket may
 * have closed before the seed landed and its memory gone to another
 * socket, so its first sighting checks the seed_* identity. */
#define ST_SS_SEEDED 0x8

struct st_sock_state {
	__u64 connect_ns; /* connect() started */
	__u64 queued_ns;  /* child put on the accept queue */
	__u64 listener;
	__u64 clone_ns;   /* a child's first state event, not sent yet */
	__s32 fd;
	__u32 flags;      /* ST_SS_* */
	__u8 clone_old;   /* ... its old state (the listener's, LISTEN) */
	__u8 pad;
	__u16 seed_sport; /* ST_SS_SEEDED: local port, */
	__u32 seed_daddr; /* remote address (st_addr_fold()) */
	__u16 seed_dport; /* and remote port */
	__u16 pad2[3];
};

/* The events programs' port_owners index of a listener's local port and
 * family (a v4 and a v6 listener may share a port). 10 is AF_INET6. */
#define ST_PORT_OWNERS (65536 * 2)
static inline __u32 st_port_owner_idx(__u16 port, __u16 family)
{
	return ((__u32)port << 1 | (family == 10)) & (ST_PORT_OWNERS - 1);
}

/* Key of a port and family in port_groups and retired_ports: a v4 and a
 * v6 listener may share a port. */
static inline __u32 st_port_key(__u16 port, __u16 family)
{
	return port | (__u32)family << 16;
}

/* Listeners of ours sharing one port and family (SO_REUSEPORT): the
 * port_groups map's value, by st_port_key(); 0: a free slot. */
#define ST_GROUP_MAX 8
struct st_port_group {
	__u64 l[ST_GROUP_MAX];
};

struct st_port_owner {
	__u64 l;   /* the listener (struct sock address); 0: none */
	__u64 net; /* its namespace; 0: not read yet (seeded from user space) */
};

/* A remote address in 32 bits, for ST_SS_SEEDED checks: IPv4's own, the
 * XOR of IPv6's four words. */
static inline __u32 st_addr_fold(const __u32 a[4], int v6)
{
	return v6 ? a[0] ^ a[1] ^ a[2] ^ a[3] : a[0];
}

/*
 * A counting filter in front of `socks`, for the hooks every TCP socket of
 * the machine passes (state changes, data ready): a slot per hash of the
 * socket address counts the tracked sockets that hash there. 0 means not
 * ours without a map lookup; inserts count up before, deletes down after.
 */
#define ST_SOCK_FILTER_SLOTS 65536

static inline __u32 st_sock_filter_slot(__u64 sk)
{
	return ((__u32)sk * 0x9E3779B1u) >> 16; /* the low half only (see sock_slot()) */
}

/* The `socks` table (bpf/events.bpf.c): a bucket per four sock_filter
 * slots, ST_SOCK_WAYS sockets per bucket, each socket's key (its address;
 * 0 free, ST_SOCK_CLAIMED being filled) and state in one cache line. */
#define ST_SOCK_WAYS 4
#define ST_SOCK_BUCKETS (ST_SOCK_FILTER_SLOTS / 4)
#define ST_SOCK_CLAIMED 1

struct st_sock_entry {
	__u64 key;
	struct st_sock_state ss;
};

struct st_sock_bucket {
	struct st_sock_entry way[ST_SOCK_WAYS];
};

static inline __u32 st_sock_bucket_of(__u32 filter_slot)
{
	return filter_slot >> 2;
}

struct st_epoll_state {
	__s32 epfd; /* written once: only read after (see user/events.c's
		     * sock_note() for an epoll_wait's delay) */
	/* which instance on this epfd: a fresh number each time the BPF side
	 * makes an entry (0: seeded by user space; see epoll_gen()), so that
	 * wake-ups left pending on a closed instance are not counted toward
	 * the delay of the next one given its fd (or its address) */
	__u32 gen;
};

#endif /* SOCKTRACE_H */
