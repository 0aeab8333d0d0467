// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The event engine: hook programs for one target process, every tier of
 * every hook in one object. User space (user/events.c) picks a tier per hook,
 * switches the other programs off before load and tells these programs which
 * tier emits what through hook_tier[] (rodata).
 *
 * Attribution never trusts the current task in softirq context: a socket is
 * ours when it is in `listeners` or `socks` (seeded from a snapshot, then
 * maintained from process-context events of the target), an epoll instance
 * when it is in `epolls`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "socktrace.h"
#include "compat.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EPOLLIN 0x001
#define EPOLLOUT 0x004
#define EPOLLERR 0x008
#define EPOLLPRI 0x002
#define EPOLLRDNORM 0x040
#define EPOLLRDBAND 0x080
#define EPOLLWRNORM 0x100
#define EPOLLEXCLUSIVE (1u << 28)
#define EP_PRIVATE_BITS ((1u << 28) | (1u << 29) | (1u << 30) | (1u << 31))
/* the key of a wake-up without one (sk_state_change()): every waiter is
 * called, with every event it watches, as ep_poll_callback()'s hooks
 * report such a wake-up */
#define WAKE_ALL (~EP_PRIVATE_BITS)
#define WQ_FLAG_EXCLUSIVE 0x01
#define ECONNABORTED 103
#define E2BIG 7
#define EEXIST 17
#define TCPF_SYN 0x02
#define TCPF_ACK 0x10
/* Epitems followed per socket file (inline, then in a loop), and
 * wait-queue entries per wake-up where some are EPOLLEXCLUSIVE; a walk cut
 * short is counted (ep_walks_cut). */
#define MAX_EPITEMS_PER_FILE 8
#define MAX_EPITEMS_MORE 4096
#define MAX_WAITERS 4096

/* TCP_* states come from vmlinux.h's enum. */

#if defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR(regs) ((regs)->syscallno)
#define NR_close 57
#define NR_connect 203
#define NR_accept 202
#define NR_accept4 242
#define NR_listen 201
#define NR_epoll_wait (-1)
#define NR_epoll_pwait 22
#define NR_epoll_pwait2 441
#define NR_epoll_create (-1)
#define NR_epoll_create1 20
#define NR_close_range 436
#else
#define SYSCALL_NR(regs) ((regs)->orig_ax) /* tp_btf: a direct load */
#define NR_close 3
#define NR_connect 42
#define NR_accept 43
#define NR_accept4 288
#define NR_listen 50
#define NR_epoll_wait 232
#define NR_epoll_pwait 281
#define NR_epoll_pwait2 441
#define NR_epoll_create 213
#define NR_epoll_create1 291
#define NR_close_range 436
#endif

/* Hook indexes: keep in sync with enum st_hook in user/events.h. */
#define HOOK_CONNECT 0
#define HOOK_ACCEPT 1
#define HOOK_SYN_QUEUE 2
#define HOOK_ACCEPT_QUEUE 3
#define HOOK_EPOLL 4
#define HOOK_STATE 5
#define HOOK_COUNT 6

const volatile __u32 target_tgid = 0;
/* enum st_tier per hook: which programs emit that hook's events. */
const volatile __u8 hook_tier[HOOK_COUNT] = {};
/* Wake the reader at most every wakeup_interval_ns (it also drains on its own
 * timer), sooner when wakeup_bytes are waiting; otherwise BPF_RB_NO_WAKEUP.
 * Each wake-up is an irq_work (a self-IPI), so never one per event. */
const volatile __u64 wakeup_bytes = 2 << 20;
const volatile __u64 wakeup_interval_ns = 20 * 1000 * 1000;
#define WAKEUP_MIN_GAP_NS (1000 * 1000)

/* Final-ACK overflows from the skb hooks although the accept-queue hook is
 * on a function tier: tcp_v4_syn_recv_sock() cannot take fentry on some
 * kernels (6.1: ENOTSUPP). */
const volatile __u8 ack_overflow_by_skb = 0;

/* Where tcp_rcv_state_process() lies in kernel text, [lo, lo + len), from
 * kallsyms: a SYN a listener took (kept or dropped) is consumed there, and
 * tp_consume_skb_at lets only those through (see listener_skb()). */
const volatile __u64 syn_consume_lo = 0;
const volatile __u64 syn_consume_len = 0;

/* Event types to emit (bit per enum st_event_type), set at run time. */
__u32 type_mask = ~0u;
/*
 * Set by user space once every program is attached; until then each one
 * returns at once. Programs attach one at a time, milliseconds apart on a
 * busy machine, and a half-attached set is wrong in ways that last: an
 * accept seen before the state hook is attached makes an entry whose
 * socket's end goes unseen, and a socket born before it (no fresh start,
 * see sock_forget()) that later takes the freed address then passes for
 * the target's.
 */
__u32 armed = 0;
__u64 last_wakeup_ns = 0;
/* Number of entries in `listeners`: a cheap early exit for skb hooks. */
__s64 listener_count = 0;
/* Bit per local port of a listener (set, never cleared: a stale bit only
 * costs a map lookup), the first test every freed packet meets. */
__u64 listen_port_bits[65536 / 64] = {};
/* Bit per local port that more than one listener of ours holds
 * (SO_REUSEPORT: see port_groups); set, never cleared. */
__u64 group_port_bits[65536 / 64] = {};
/* Sockets not followed because `socks` and `socks_spill` were full. */
__u64 untracked = 0;
/* Entries in `socks_spill`. */
__s64 socks_spilled = 0;
/*
 * Sockets in `socks` and `socks_spill`: while none (a server whose children
 * are followed by their port), no hook reads the filter, whose line for a
 * socket is a random one of 256 KiB, most often not in this CPU's cache.
 * Counted as the filter is (before a socket can be found, after it cannot).
 * A section of its own, so that its line moves between CPUs alone, not
 * with the globals every program reads.
 */
__s64 socks_live SEC(".data.socks") = 0;
/* see st_sock_filter_slot() */
__u32 sock_filter[ST_SOCK_FILTER_SLOTS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");


/* Drops the kernel counted on our listeners (sk_drops) that no packet hook
 * claimed (drops_claim()), added up as each listener closes: on the
 * tracepoint tier every SYN or final ACK a listener drops is told from the
 * packet, so this is what went untold. 0 where function hooks count drops. */
__u64 listener_drops_unseen = 0;

/* Listening sockets of the target, by struct sock address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct st_listener_state);
} listeners SEC(".maps");

/* Local port and family -> listener and its namespace, to find the
 * listener of a child socket or of an incoming skb (st_port_owner_idx()).
 * Direct loads: a hash map's lookup, hashing and walking a bucket's chain,
 * came to about 1% of all CPU time under churn, several per connection. */
struct st_port_owner port_owners[ST_PORT_OWNERS] = {};

static __always_inline struct st_port_owner *port_owner(__u16 port, __u16 family)
{
	__u32 i = st_port_owner_idx(port, family);

	/* the mask again, where the verifier sees it: clang drops it for a
	 * port it knows is 16 bits, which older verifiers (6.1) do not */
	asm volatile("" : "+r"(i));
	return &port_owners[i & (ST_PORT_OWNERS - 1)];
}



/* Connections of the target (connected, accepted, or children of its
 * listeners not yet accepted), cleared when they reach CLOSE (every TCP
 * socket does before it is freed). Not a hash map: an array of buckets
 * (struct st_sock_bucket), a socket's key and state in one cache line. An
 * entry is touched from both sides of a connection (softirq and the
 * target's threads, often on other CPUs), and each line it spans moves
 * between them: a hash map's bucket head and element of two lines, where
 * this moves one, and a hash map takes a lock to insert or delete, where
 * this takes a compare-and-swap of the key. Mappable: user space seeds it
 * with the same atomics (user/events.c). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_SOCK_BUCKETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct st_sock_bucket);
} socks SEC(".maps");

/* Where a full bucket's sockets go (with tens of thousands of connections
 * at once some buckets fill: the churn benchmark's accept queue holds
 * 13,000); looked in only while it holds any.
 * When it is full too, new sockets are not followed and `untracked` says
 * how many. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct st_sock_state);
} socks_spill SEC(".maps");


/*
 * Children of our listeners on the tracepoint tier are not in `socks`: a
 * socket whose local port is a listener's of ours, in its namespace, is
 * that listener's child (the kernel gives no outgoing connection a port
 * bound by a listener), and that test reads only maps every CPU shares
 * and the line of the socket the state change just wrote. An entry would
 * move between the CPUs at each of the child's changes: the client's side
 * (its clone, its handshake's end, its FIN) and the server's (accept, close).
 *
 * A listener that closes leaves its port here, for its children still
 * open; a socket is one of them if it holds the same bind bucket (the
 * kernel keeps it while any of them is open, and lends an outgoing
 * connection no port that has one).
 */
struct retired_port {
	__u64 net;
	__u64 bind; /* the listener's inet_bind_bucket */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* st_port_key() */
	__type(value, struct retired_port);
} retired_ports SEC(".maps");

/* The listeners of ours on a port several of them hold (SO_REUSEPORT),
 * by st_port_key(): the port's owner (port_owners) is one of them, and a
 * packet's drop or a child's queueing is another's as often. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct st_port_group);
} port_groups SEC(".maps");

/* set once a listener retired: until then the common case looks no further */
__u32 any_retired = 0;

/* A child's clone (LISTEN -> SYN_RECV), kept for its next change (in the
 * same packet's processing, on this CPU) to go in one record with it; per
 * CPU and context (0 process, 1 softirq), as state_seen. */
struct clone_stash {
	__u64 sk;
	__u64 ns;
	__u32 old;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct clone_stash);
} clone_stash SEC(".maps");

/* The target's epoll instances, by struct eventpoll address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct st_epoll_state);
} epolls SEC(".maps");

/*
 * A per-CPU cache of `epolls` (a hash lookup is about 60 ns here, with the
 * return thunks of an SRSO-mitigated CPU, and every wake-up and every
 * epoll_wait return of the target takes one; an array's lookup is inlined).
 * Direct-mapped by the instance's address. An entry is good while
 * epoll_epoch is what it was when the entry was filled: every write to
 * `epolls` here (a new instance, a new generation at an address) moves the
 * epoch, after the write, so no CPU keeps an old generation. Only entries
 * found in `epolls` are cached: the cache never says "ours" of an instance
 * the map does not know, save one the map's LRU let go since.
 */
#define EPOLL_CACHE_SLOTS 64

struct epoll_slot {
	__u64 ep;
	__u32 epoch;
	__s32 epfd;
	__u32 gen;
	__u32 pad;
};

struct epoll_cache {
	struct epoll_slot s[EPOLL_CACHE_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct epoll_cache);
} epoll_cache SEC(".maps");

__u32 epoll_epoch = 0;

/* What a hook inside a syscall found, for that syscall's exit, per thread:
 * connect's socket (tracepoint tier), accept's child (fexit/kretprobe).
 * There is no sys_enter program: raw_syscalls hooks put every syscall of
 * every process on the slow path, so only the exit is hooked. */
struct call_state {
	__u64 sk;
	__s32 nr;
	__s32 fd;
};

/* LRU: a thread killed inside a syscall never deletes its entry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct call_state);
} calls SEC(".maps");

/* kprobe entry arguments for the matching kretprobe. Process-context
 * functions key by thread, softirq ones (which do not nest) by CPU. */
struct kp_args {
	__u64 a0, a1, a2;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct kp_args);
} kp_task_args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, struct kp_args);
} kp_cpu_args SEC(".maps");

#define KP_CPU_SYN_RECV_SOCK 0
#define KP_CPU_HASHDANCE 1
#define KP_CPU_COOKIE 2

/*
 * Is a tp_btf program running on the current task's stack, i.e. in process
 * context? x86-64 runs softirqs (from an interrupt's exit or from
 * local_bh_enable()) and interrupts on the CPU's own IRQ stack; softirqs
 * run by ksoftirqd use its task stack, but nothing nests into those. (The
 * preempt count would tell more directly, but reading a per-CPU variable
 * needs CONFIG_KALLSYMS_ALL, which not every kernel has.) The stack is
 * told by where ctx is, the arguments the kernel's bpf_trace_run*() keeps
 * in its frame, not by the program's own frame pointer: since 6.13 a
 * program may run on a private per-CPU stack.
 */
#define ST_THREAD_SIZE (16 << 10) /* x86-64's (32 KiB with KASAN: still inside) */

/* 0 in process context, 1 in an interrupt or softirq (see above) */
static __always_inline __u32 ctx_where(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 base = (__u64)t->stack, at;

	/* ctx's low half as a plain number (see sock_slot()): older
	 * verifiers allow no math between a pointer and an unbounded one */
	asm volatile("r0 = %1; w0 = w0; %0 = r0" : "=r"(at) : "r"(ctx) : "r0");
	return (__u32)(at - base) > ST_THREAD_SIZE;
}

static __always_inline int is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline int tier_is(int hook, int tier)
{
	return hook_tier[hook] == tier;
}

/*
 * The syscall the current thread is in and its first two arguments, from
 * the registers saved at syscall entry. They stay there until the return to
 * user space, task work included: a socket's close() runs from task work
 * after the syscall returned, still with close's registers.
 */
struct syscall_args {
	long nr;
	long arg1;
	long arg2;
};

static __always_inline void current_syscall(struct syscall_args *a)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	/* direct loads (the helper's pointer is BTF-typed): a probe read
	 * apiece had cost more than the rest of a syscall exit's test */
	a->nr = SYSCALL_NR(regs);
	a->arg1 = PT_REGS_PARM1_SYSCALL(regs);
	a->arg2 = PT_REGS_PARM2_SYSCALL(regs);
}

/* The fd argument of syscall nr when the current thread is inside it, else
 * -1. Only for hooks that run in the caller's process context. */
static __always_inline __s32 syscall_fd(long nr)
{
	struct syscall_args a;

	current_syscall(&a);
	return a.nr == nr ? (__s32)a.arg1 : -1;
}

/* Is the current thread closing fd (close(), close_range())? For hooks in
 * process context; the caller has checked is_target(). */
static __always_inline int closing_fd(__s32 fd)
{
	struct syscall_args a;

	if (fd < 0)
		return 0;
	current_syscall(&a);
	if (a.nr == NR_close)
		return (__s32)a.arg1 == fd;
	return a.nr == NR_close_range && (__u32)fd >= (__u32)a.arg1 &&
	       (__u32)fd <= (__u32)a.arg2;
}

/* Remember sk for the exit of syscall nr of the current thread. */
static __always_inline void call_put(long nr, __s32 fd, __u64 sk)
{
	struct call_state c = { .sk = sk, .nr = nr, .fd = fd };
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
}

/* ---- ring buffer ---- */

/*
 * Events are staged per CPU and go to the ring STAGE_N at a time: each
 * ring reservation takes the ring's lock and bounces its producer/consumer
 * cache lines between CPUs, which cost more than building the events did.
 * A stage level per nesting depth (process, softirq, hardirq) keeps a
 * program that interrupts another on the same CPU off its half-built
 * event. A stage is written out when full, when its oldest event is
 * STAGE_MAX_AGE_NS old at the next event, and otherwise by flush_stage(),
 * which user space runs on each CPU with pending events before it reads the
 * ring (and sorts what it read by time).
 */
#define STAGE_N ST_STAGE_N
#define STAGE_LEVELS ST_STAGE_LEVELS
#define STAGE_MAX_AGE_NS (2 * 1000 * 1000)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_stage);
} stage SEC(".maps");

/* Per CPU: time of the oldest staged event, 0 when none (read by user
 * space to know which CPUs need flush_stage()). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} stage_oldest SEC(".maps");

static __always_inline void count_lost(__u64 n)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

	if (lost)
		*lost += n;
}

/* Batched wake-ups: a wake-up per write costs the reader a context switch
 * each; instead wake when enough is waiting or the reader has slept long
 * enough that the user would notice. */
static __always_inline __u64 wakeup_flags(__u64 now)
{
	__u64 since = now - last_wakeup_ns;

	if (since >= wakeup_interval_ns ||
	    (since >= WAKEUP_MIN_GAP_NS &&
	     bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)) {
		last_wakeup_ns = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void stage_write(struct st_stage_level *lv, __u64 now)
{
	__u32 n = lv->n;
	__u64 flags;

	if (!n)
		return;
	/* no helper call between the bound and the use: older verifiers
	 * lose a bound through the stack */
	flags = wakeup_flags(now);
	n = ((n - 1) & (STAGE_N - 1)) + 1; /* 1..STAGE_N, as the verifier sees it */
	if (bpf_ringbuf_output(&events, lv->buf, n * ST_RING_RECORD_SIZE, flags))
		count_lost(n);
	lv->out += n;
	lv->n = 0;
}

static __always_inline struct st_event *ev_reserve(__u16 type, __u8 tier)
{
	struct st_stage_level *lv;
	struct st_event *e;
	struct st_stage *st;
	__u32 zero = 0, d;
	__u64 pid_tgid;

	if (!(type_mask & (1u << type)))
		return NULL;
	st = bpf_map_lookup_elem(&stage, &zero);
	if (!st)
		return NULL;
	/* Plain per-CPU updates: a program that interrupts this one on the
	 * same CPU runs to its end and leaves depth as it found it. */
	d = st->depth;
	if (d >= STAGE_LEVELS) {
		count_lost(1);
		return NULL;
	}
	st->depth = d + 1;
	asm volatile("" ::: "memory"); /* depth taken before the slot is */
	lv = &st->lv[d];
	if (lv->n >= STAGE_N) /* not reached: a full stage is written at once */
		stage_write(lv, bpf_ktime_get_ns());
	e = (void *)lv->buf + (lv->n & (STAGE_N - 1)) * ST_RING_RECORD_SIZE;
	__builtin_memset(e, 0, ST_RING_RECORD_SIZE);
	e->time_ns = bpf_ktime_get_ns();
	e->type = type;
	e->tier = tier;
	e->pid = target_tgid;
	e->fd = -1;
	e->epfd = -1;
	/* one helper call for both (a call costs about 15 ns with the return
	 * thunk of this machine's SRSO mitigation) */
	pid_tgid = bpf_get_current_pid_tgid();
	if ((pid_tgid >> 32) == target_tgid)
		e->tid = (__u32)pid_tgid;
	return e;
}

/* stage_oldest after st's stages were written out: cleared first, so an
 * interrupting program that stages meanwhile sets it again (from 0), and
 * one that staged before is seen here. */
static __always_inline void stage_oldest_reset(struct st_stage *st)
{
	__u32 zero = 0;
	__u64 *oldest = bpf_map_lookup_elem(&stage_oldest, &zero);

	if (!oldest)
		return;
	*oldest = 0;
	asm volatile("" ::: "memory");
	for (int i = 0; i < STAGE_LEVELS; i++)
		if (st->lv[i].n)
			*oldest = st->lv[i].first_ns;
}

/* The event ev_reserve() returned last on this CPU is complete. */
static __always_inline void ev_submit(struct st_event *e)
{
	struct st_stage_level *lv;
	struct st_stage *st;
	__u32 zero = 0, d;
	__u64 *oldest;

	st = bpf_map_lookup_elem(&stage, &zero);
	if (!st)
		return;
	d = st->depth - 1;
	if (d >= STAGE_LEVELS)
		return;
	lv = &st->lv[d];
	lv->staged++;
	if (lv->n++ == 0)
		lv->first_ns = e->time_ns;
	if (lv->n >= STAGE_N || e->time_ns - lv->first_ns >= STAGE_MAX_AGE_NS) {
		stage_write(lv, e->time_ns);
		/* nothing left staged here: user space need not flush */
		stage_oldest_reset(st);
	} else {
		oldest = bpf_map_lookup_elem(&stage_oldest, &zero);
		if (oldest && !*oldest)
			*oldest = lv->first_ns;
	}
	asm volatile("" ::: "memory");
	st->depth = d;
}

/* Run by user space (BPF_PROG_TEST_RUN on one CPU): write out that CPU's
 * stages. Returns 1 when a program was half-way through an event there
 * (try again), else 0. On another CPU it runs in an IPI; on user space's
 * own CPU in process context, where a softirq may interrupt it: so each
 * level is written with the levels up to it taken (an interrupting
 * program stages above), as a program of that level would. */
SEC("raw_tp")
int flush_stage(void *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	struct st_stage *st;
	__u32 zero = 0;

	st = bpf_map_lookup_elem(&stage, &zero);
	if (!st)
		return 0;
	if (st->depth)
		return 1;
	for (int i = 0; i < STAGE_LEVELS; i++) {
		if (!st->lv[i].n)
			continue;
		st->depth = i + 1;
		asm volatile("" ::: "memory");
		stage_write(&st->lv[i], now);
		asm volatile("" ::: "memory");
	}
	st->depth = 0;
	stage_oldest_reset(st);
	return 0;
}

/* ---- kernel objects ---- */

/* The bytes at the head of sock_common fill_sock() reads at once. */
#define SKC_HEAD 24

/* fill_sock()'s fields one read apiece: slower, and no room on the stack */
static __always_inline __u8 fill_sock_fields(struct st_event *e, struct sock_common *skc)
{
	e->family = BPF_CORE_READ(skc, skc_family);
	e->sport = BPF_CORE_READ(skc, skc_num);
	e->dport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	read_addrs(e->saddr, e->daddr, e->family, skc);
	return BPF_CORE_READ(skc, skc_state);
}

/*
 * fill_sock() for a socket reached through probe reads (the accept path,
 * kprobes): sock_common opens with the IPv4 addresses, the ports and the
 * family, so one read brings them all (the offsets relocated for this
 * kernel; a layout that spread them further would take a read apiece).
 */
static __always_inline __u8 fill_sock(struct st_event *e, struct sock *sk)
{
	struct sock_common *skc = &sk->__sk_common;
	__u32 o_daddr = bpf_core_field_offset(skc->skc_daddr);
	__u32 o_saddr = bpf_core_field_offset(skc->skc_rcv_saddr);
	__u32 o_dport = bpf_core_field_offset(skc->skc_dport);
	__u32 o_num = bpf_core_field_offset(skc->skc_num);
	__u32 o_family = bpf_core_field_offset(skc->skc_family);
	__u32 o_state = bpf_core_field_offset(skc->skc_state);
	__u64 head[SKC_HEAD / 8] = {};
	__u8 *h = (__u8 *)head;
	__u16 port;
	__u8 state;

	e->sk_id = (__u64)sk;
	if (o_daddr > SKC_HEAD - 4 || o_saddr > SKC_HEAD - 4 || o_dport > SKC_HEAD - 2 ||
	    o_num > SKC_HEAD - 2 || o_family > SKC_HEAD - 2 || o_state > SKC_HEAD - 1) {
		state = fill_sock_fields(e, skc);
	} else {
		bpf_probe_read_kernel(head, sizeof(head), skc);
		__builtin_memcpy(&e->family, h + o_family, 2);
		__builtin_memcpy(&e->sport, h + o_num, 2);
		__builtin_memcpy(&port, h + o_dport, 2);
		e->dport = bpf_ntohs(port);
		state = h[o_state];
		if (e->family == AF_INET) {
			__builtin_memcpy(e->saddr, h + o_saddr, 4);
			__builtin_memcpy(e->daddr, h + o_daddr, 4);
		} else {
			read_addrs(e->saddr, e->daddr, e->family, skc);
		}
	}
	/* closed (a connection reset while it waited to be accepted): the
	 * port was given back, inet_sport keeps it (see sock_sport_btf()) */
	if (!e->sport && state == TCP_CLOSE)
		e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	return state;
}

/* A socket's local port. tcp_set_state(TCP_CLOSE) gives the port back
 * (inet_put_port() zeroes skc_num) just before the tracepoint; inet_sport
 * keeps it: a read beyond struct sock, once per socket's end. */
static __always_inline __u16 sock_sport_btf(struct sock *sk)
{
	__u16 port = sk->__sk_common.skc_num;

	return port ? port : bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
}

/* fill_sock() for a BTF-typed socket (a tp_btf or fentry argument): direct
 * loads instead of a helper call per field, on the paths every connection
 * takes. */
static __always_inline void fill_sock_btf(struct st_event *e, struct sock *sk)
{
	struct sock_common *skc = &sk->__sk_common;

	e->sk_id = (__u64)sk;
	e->family = skc->skc_family;
	e->sport = sock_sport_btf(sk);
	e->dport = bpf_ntohs(skc->skc_dport);
	if (e->family == AF_INET) {
		*(__u32 *)e->saddr = skc->skc_rcv_saddr;
		*(__u32 *)e->daddr = skc->skc_daddr;
	} else {
		__builtin_memcpy(e->saddr, &skc->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(e->daddr, &skc->skc_v6_daddr, 16);
	}
}

/* A listener's accept queue length and limit. */
static __always_inline void listener_queue(struct sock *listener, __u32 *len, __u32 *max)
{
	__u32 o_len = bpf_core_field_offset(listener->sk_ack_backlog);
	__u32 o_max = bpf_core_field_offset(listener->sk_max_ack_backlog);
	__u32 q[2] = {};

	/* side by side since 5.x: one read */
	if (o_max == o_len + 4) {
		bpf_probe_read_kernel(q, sizeof(q), (void *)listener + o_len);
		*len = q[0];
		*max = q[1];
		return;
	}
	*len = BPF_CORE_READ(listener, sk_ack_backlog);
	*max = BPF_CORE_READ(listener, sk_max_ack_backlog);
}

static __always_inline void fill_listener_queue(struct st_event *e, struct sock *listener)
{
	listener_queue(listener, &e->queue_len, &e->queue_max);
}

static __always_inline __u32 syn_queue_len(struct sock *listener)
{
	struct inet_connection_sock *icsk = (void *)listener;

	return BPF_CORE_READ(icsk, icsk_accept_queue.qlen.counter);
}

/* net.ipv4.tcp_syncookies of the socket's namespace */
static __always_inline int syncookies_on(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ipv4.sysctl_tcp_syncookies) != 0;
}

static __always_inline __u64 sock_net_id(struct sock *sk)
{
	return (__u64)BPF_CORE_READ(sk, __sk_common.skc_net.net);
}

/* The file at fd in task's table (task: bpf_get_current_task_btf()), or
 * NULL. Direct loads as far as the table, one probe read for the slot. */
static __always_inline struct file *task_fd_file(struct task_struct *task, __s32 fd)
{
	struct files_struct *files = task->files;
	struct fdtable *fdt;
	struct file **arr, *file = NULL;

	if (!files || fd < 0)
		return NULL;
	fdt = files->fdt;
	if (!fdt || (__u32)fd >= fdt->max_fds)
		return NULL;
	arr = fdt->fd;
	bpf_probe_read_kernel(&file, sizeof(file), &arr[fd]);
	return file;
}

/* The file at fd in the current task's table, or NULL. */
static __always_inline struct file *fd_file(__s32 fd)
{
	return task_fd_file(bpf_get_current_task_btf(), fd);
}

/* The sock of a socket file, NULL when file is not a socket's. */
static __always_inline struct sock *file_sock(struct file *file)
{
	struct socket *sock;
	__u32 o_file = bpf_core_field_offset(struct socket, file);
	__u32 o_sk = bpf_core_field_offset(struct socket, sk);
	__u64 fs[2] = {};

	if (!file)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	/* A socket's file and sock sit side by side (since 2.6): one read,
	 * and the socket's file pointing back at this one is the test that
	 * it is a socket, two reads fewer than the inode's mode. */
	if (o_sk == o_file + 8) {
		if (bpf_probe_read_kernel(fs, sizeof(fs), (void *)sock + o_file) ||
		    fs[0] != (__u64)file)
			return NULL;
		return (struct sock *)fs[1];
	}
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

static __always_inline int is_tcp(struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP &&
	       (family == AF_INET || family == AF_INET6);
}

/* is_tcp() for a BTF-typed pointer (tp_btf, fentry): direct loads, no
 * helper calls, on the hottest path (every TCP state change). */
static __always_inline int is_tcp_btf(struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;

	return sk->sk_protocol == IPPROTO_TCP && (family == AF_INET || family == AF_INET6);
}

/* ---- ownership ---- */


static __always_inline int port_grouped(__u16 port)
{
	__u32 w = port >> 6;

	asm volatile("" : "+r"(w)); /* the mask kept, as in port_owner() */
	return group_port_bits[w & 1023] & (1ull << (port & 63));
}

/* Puts listener l in the port's group (once). */
static __always_inline void group_join(struct st_port_group *g, __u64 l)
{
	for (int i = 0; i < ST_GROUP_MAX; i++)
		if (g->l[i] == l)
			return;
	for (int i = 0; i < ST_GROUP_MAX; i++)
		if (!g->l[i] && __sync_val_compare_and_swap(&g->l[i], 0, l) == 0)
			return;
}

/* A second listener of ours on a port: the group holds both. */
static __always_inline void group_add(__u32 pkey, __u16 port, __u64 a, __u64 b)
{
	struct st_port_group fresh = {}, *g;

	bpf_map_update_elem(&port_groups, &pkey, &fresh, BPF_NOEXIST);
	g = bpf_map_lookup_elem(&port_groups, &pkey);
	if (!g)
		return;
	group_join(g, a);
	group_join(g, b);
	__sync_fetch_and_or(&group_port_bits[port >> 6], 1ull << (port & 63));
}

/* l leaves its port's group; another member still listening, or 0. */
static __always_inline __u64 group_leave(__u32 pkey, __u64 l)
{
	struct st_port_group *g = bpf_map_lookup_elem(&port_groups, &pkey);
	__u64 heir = 0;

	if (!g)
		return 0;
	for (int i = 0; i < ST_GROUP_MAX; i++) {
		__u64 m = g->l[i];

		if (m == l)
			__sync_val_compare_and_swap(&g->l[i], l, 0);
		else if (m && !heir && bpf_map_lookup_elem(&listeners, &m))
			heir = m;
	}
	return heir;
}

static __always_inline void listener_add(struct sock *sk, __s32 fd)
{
	struct st_listener_state ls = {};
	struct st_port_owner *po;
	__u64 key = (__u64)sk, prev;

	ls.net = sock_net_id(sk);
	ls.fd = fd;
	ls.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	ls.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	ls.last_drops = sk_drops_read(sk);
	po = port_owner(ls.port, ls.family);
	__sync_fetch_and_or(&listen_port_bits[ls.port >> 6], 1ull << (ls.port & 63));
	if (!bpf_map_update_elem(&listeners, &key, &ls, BPF_NOEXIST))
		__sync_fetch_and_add(&listener_count, 1);
	/* its namespace before it (an exchange orders the two) */
	po->net = ls.net;
	prev = __sync_lock_test_and_set(&po->l, key);
	/* another of ours on the port (SO_REUSEPORT, or the port's last
	 * owner in another namespace: drops are claimed per listener) */
	if (prev && prev != key && bpf_map_lookup_elem(&listeners, &prev))
		group_add(st_port_key(ls.port, ls.family), ls.port, prev, key);
}

/* Children followed by their port (see retired_ports) */
static __always_inline int port_children(void)
{
	return tier_is(HOOK_ACCEPT_QUEUE, ST_TIER_TRACEPOINT);
}

static __always_inline __u64 sock_bind_bucket(struct sock *sk)
{
	struct inet_connection_sock *icsk = (void *)sk;

	return (__u64)BPF_CORE_READ(icsk, icsk_bind_hash);
}

/* retire: the listener closed (its port stays for its children), rather
 * than an entry found stale */
static __always_inline void listener_del(struct sock *sk, struct st_listener_state *ls,
					 int retire)
{
	struct st_port_owner *po = port_owner(ls->port, ls->family);
	__u32 pkey = st_port_key(ls->port, ls->family);
	__u64 key = (__u64)sk, heir;

	/* another of ours still holds the port: it owns it now */
	heir = port_grouped(ls->port) ? group_leave(pkey, key) : 0;
	if (heir) {
		__sync_val_compare_and_swap(&po->l, key, heir);
	} else if (__sync_val_compare_and_swap(&po->l, key, 0) == key) {
		if (retire && port_children()) {
			struct retired_port r = { .net = ls->net, .bind = sock_bind_bucket(sk) };

			if (r.bind) {
				bpf_map_update_elem(&retired_ports, &pkey, &r, BPF_ANY);
				any_retired = 1;
			}
		}
	}
	if (!bpf_map_delete_elem(&listeners, &key))
		__sync_fetch_and_add(&listener_count, -1);
}

/* A listener closing: its drops no packet hook claimed (see
 * listener_drops_unseen), where the packet hooks tell every drop. */
static __always_inline void listener_drops_tally(struct sock *sk, struct st_listener_state *ls)
{
	__u64 drops, last;

	if (!tier_is(HOOK_SYN_QUEUE, ST_TIER_TRACEPOINT) ||
	    !tier_is(HOOK_ACCEPT_QUEUE, ST_TIER_TRACEPOINT))
		return;
	drops = sk_drops_read(sk);
	last = ls->last_drops;
	if (drops > last)
		__sync_fetch_and_add(&listener_drops_unseen, drops - last);
}

/* Our listener for local port `port` in network namespace `net` (0: any),
 * for a connection or packet of `family`; IPv4 falls back to a dual-stack
 * IPv6 listener, as the kernel's lookup does. 0 when none. */
static __always_inline __u64 listener_by_port(__u16 port, __u16 family, __u64 net,
					       struct st_listener_state **lsp)
{
	struct st_port_owner *po = port_owner(port, family);
	struct st_listener_state *ls;
	__u64 l = po->l, pnet;

	if (!l && family == AF_INET) {
		po = port_owner(port, AF_INET6);
		l = po->l;
	}
	if (!l)
		return 0;
	/* its namespace: read at first use when seeded from user space,
	 * which cannot know it */
	pnet = po->net;
	if (!pnet) {
		pnet = sock_net_id((struct sock *)l);
		if (po->l == l)
			po->net = pnet;
	}
	if (net && pnet != net)
		return 0;
	/* the listener's state only when asked for: user space seeds the
	 * port's owner before the listener's entry (see seed_ownership()),
	 * so a child is never taken for ours without its changes being
	 * followed */
	if (!lsp)
		return l;
	ls = bpf_map_lookup_elem(&listeners, &l);
	if (!ls)
		return 0;
	if (!ls->net)
		ls->net = pnet;
	*lsp = ls;
	return l;
}

/* Is l one of our listeners, the owner of its port? (Not when another of
 * ours holds the port in another namespace.) */
static __always_inline int listener_owns_port(struct sock *l)
{
	__u16 port = BPF_CORE_READ(l, __sk_common.skc_num);
	__u16 family = BPF_CORE_READ(l, __sk_common.skc_family);

	return port_owner(port, family)->l == (__u64)l;
}

/* The filter slot of a socket. The verifier allows no arithmetic on a
 * BTF-typed pointer; a 32-bit move of one gives its low half as a plain
 * number (to a privileged loader), which is all the slot needs. */
static __always_inline __u32 sock_slot(const __u64 *key)
{
	__u64 lo;

	asm volatile("r0 = %1; w0 = w0; %0 = r0" : "=r"(lo) : "r"(*key) : "r0");
	return st_sock_filter_slot(lo) & (ST_SOCK_FILTER_SLOTS - 1);
}

static __always_inline struct st_sock_bucket *sock_bucket(__u32 slot)
{
	__u32 b = st_sock_bucket_of(slot);

	return bpf_map_lookup_elem(&socks, &b);
}

/* sk's state in `socks`, or NULL. A pointer into the table: an entry
 * cleared meanwhile on another CPU may be reused, as a hash map's
 * preallocated element may. */
static __always_inline struct st_sock_state *sock_get(__u64 key)
{
	__u32 slot = sock_slot(&key);
	struct st_sock_bucket *b;

	if (!socks_live || !sock_filter[slot])
		return NULL;
	b = sock_bucket(slot);
	if (!b)
		return NULL;
#pragma clang loop unroll(full)
	for (int w = 0; w < ST_SOCK_WAYS; w++)
		if (b->way[w].key == key)
			return &b->way[w].ss;
	if (socks_spilled > 0)
		return bpf_map_lookup_elem(&socks_spill, &key);
	return NULL;
}

/* Adds sk to `socks` with state ss unless it is there. 0 when added. */
static __always_inline long sock_insert(struct sock *sk, struct st_sock_state *ss)
{
	__u64 key = (__u64)sk;
	__u32 slot = sock_slot(&key);
	struct st_sock_bucket *b;
	long err = -E2BIG;

	/* counted before it can be found, uncounted after it cannot; a slot
	 * counted 0 before holds no socket, so none to look for (each way's
	 * key is a line of its own, most often not in this CPU's cache) */
	__u32 counted = sock_filter[slot];

	__sync_fetch_and_add(&socks_live, 1);
	__sync_fetch_and_add(&sock_filter[slot], 1);
	b = sock_bucket(slot);
	if (!b)
		goto out;
	if (counted) {
#pragma clang loop unroll(full)
		for (int w = 0; w < ST_SOCK_WAYS; w++)
			if (b->way[w].key == key) {
				err = -EEXIST;
				goto out;
			}
	}
#pragma clang loop unroll(full)
	for (int w = 0; w < ST_SOCK_WAYS; w++) {
		/* claimed, filled, then published: a lookup never meets a
		 * half-written state */
		if (!b->way[w].key &&
		    __sync_val_compare_and_swap(&b->way[w].key, 0, ST_SOCK_CLAIMED) == 0) {
			b->way[w].ss = *ss;
			__sync_lock_test_and_set(&b->way[w].key, key);
			return 0;
		}
	}
	__sync_fetch_and_add(&socks_spilled, 1); /* looked in from now */
	err = bpf_map_update_elem(&socks_spill, &key, ss, BPF_NOEXIST);
	if (!err)
		return 0;
	__sync_fetch_and_add(&socks_spilled, -1);
out:
	__sync_fetch_and_add(&sock_filter[slot], -1);
	__sync_fetch_and_add(&socks_live, -1);
	if (err == -E2BIG)
		__sync_fetch_and_add(&untracked, 1);
	return err;
}

static __always_inline void sock_untrack(__u64 key)
{
	__u32 slot = sock_slot(&key);
	struct st_sock_bucket *b;
	int found = 0;

	if (!socks_live || !sock_filter[slot])
		return;
	b = sock_bucket(slot);
	if (!b)
		return;
#pragma clang loop unroll(full)
	for (int w = 0; w < ST_SOCK_WAYS; w++) {
		/* whoever clears the key uncounts it. A second copy of a
		 * socket (two inserts racing: a seed from user space and a
		 * program) counts in the same slot: with the slot at 0 none
		 * is left, and the ways after are not read */
		if (b->way[w].key == key &&
		    __sync_val_compare_and_swap(&b->way[w].key, key, 0) == key) {
			__sync_fetch_and_add(&sock_filter[slot], -1);
			__sync_fetch_and_add(&socks_live, -1);
			if (!sock_filter[slot])
				return;
			found = 1;
		}
	}
	if (!found && socks_spilled > 0 && !bpf_map_delete_elem(&socks_spill, &key)) {
		__sync_fetch_and_add(&socks_spilled, -1);
		__sync_fetch_and_add(&sock_filter[slot], -1);
		__sync_fetch_and_add(&socks_live, -1);
	}
}

/*
 * Where a socket's life starts, an entry at its address can only be left
 * from an earlier socket there: the kernel skips a tracepoint program that
 * interrupts itself on one CPU (a softirq during a run in process context;
 * counted as the program's recursion_misses, which user space reports as
 * lost), so a CLOSE can go unseen. Forgetting it there keeps another
 * process's socket from passing for ours.
 */
static __always_inline void sock_forget(__u64 key)
{
	sock_untrack(key);
}

/*
 * A seeded entry may be an earlier socket's: the snapshot saw it, it closed
 * before its seed landed, and another socket took its address. So a seed is
 * checked against the socket where it is first met, by the local port,
 * remote port and remote address the snapshot read. A local port of 0 is
 * no evidence: the kernel gives a socket's port back before its move to
 * CLOSE is traced.
 */
static __always_inline int seed_is(const struct st_sock_state *ss, __u16 sport, __u16 dport,
				   __u32 daddr)
{
	return (!sport || ss->seed_sport == sport) && ss->seed_dport == dport &&
	       ss->seed_daddr == daddr;
}

/* The outcome of the check: ss, now unseeded, or NULL (entry forgotten). */
static __always_inline struct st_sock_state *seed_settle(struct st_sock_state *ss, __u64 key,
							 int same)
{
	if (!same) {
		sock_untrack(key);
		return NULL;
	}
	ss->flags &= ~ST_SS_SEEDED;
	return ss;
}

/* The socks entry of a BTF-typed socket, if it is ours. */
static __always_inline struct st_sock_state *sock_lookup_btf(struct sock *sk, __u64 *key)
{
	struct sock_common *skc = &sk->__sk_common;
	struct st_sock_state *ss;
	__u32 daddr[4] = {};
	int v6;

	ss = sock_get(*key);
	if (!ss || !(ss->flags & ST_SS_SEEDED))
		return ss;
	v6 = skc->skc_family == AF_INET6;
	if (v6)
		__builtin_memcpy(daddr, &skc->skc_v6_daddr, 16);
	else
		daddr[0] = skc->skc_daddr;
	return seed_settle(ss, *key,
			   seed_is(ss, skc->skc_num, bpf_ntohs(skc->skc_dport),
				   st_addr_fold(daddr, v6)));
}

/* The seed check for an entry found through a socket that is not
 * BTF-typed (the accept path, kprobes): probe reads, seeds only. */
static __always_inline struct st_sock_state *seed_check(struct st_sock_state *ss,
							struct sock *sk)
{
	struct sock_common *skc = &sk->__sk_common;
	__u32 daddr[4] = {};
	int v6;

	if (!ss || !(ss->flags & ST_SS_SEEDED))
		return ss;
	v6 = BPF_CORE_READ(skc, skc_family) == AF_INET6;
	if (v6)
		bpf_probe_read_kernel(daddr, sizeof(daddr), &skc->skc_v6_daddr);
	else
		daddr[0] = BPF_CORE_READ(skc, skc_daddr);
	return seed_settle(ss, (__u64)sk,
			   seed_is(ss, BPF_CORE_READ(skc, skc_num),
				   bpf_ntohs(BPF_CORE_READ(skc, skc_dport)),
				   st_addr_fold(daddr, v6)));
}

/* sk's entry, made with fd and flags unless it has one (then checked, when
 * a seed, and made afresh if that was an earlier socket's). */
static __always_inline struct st_sock_state *sock_track(struct sock *sk, __s32 fd, __u32 flags)
{
	struct st_sock_state ss = { .fd = fd, .flags = flags };
	__u64 key = (__u64)sk;

	if (sock_insert(sk, &ss) == -EEXIST &&
	    !seed_check(sock_get(key), sk))
		sock_insert(sk, &ss);
	return sock_get(key);
}

/* ---- event builders shared by the tiers ---- */

/* sk: BTF-typed (inet_sock_set_state's). time_ns: 0 for now. */
static __always_inline void emit_state(struct sock *sk, __s32 fd, int old, int new,
				       __u64 time_ns)
{
	struct st_event *e = ev_reserve(ST_EV_STATE, ST_TIER_TRACEPOINT);

	if (!e)
		return;
	fill_sock_btf(e, sk);
	if (time_ns)
		e->time_ns = time_ns;
	e->fd = fd;
	e->old_state = old;
	e->new_state = new;
	ev_submit(e);
}

static __always_inline void emit_connect(struct sock *sk, struct st_sock_state *ss, int err,
					 __u8 tier)
{
	struct st_event *e;

	ss->flags |= ST_SS_CONNECT_EMITTED;
	e = ev_reserve(ST_EV_CONNECT, tier);
	if (!e)
		return;
	fill_sock(e, sk);
	if (ss->connect_ns)
		e->time_ns = ss->connect_ns;
	e->fd = ss->fd;
	e->err = err;
	ev_submit(e);
}

static __always_inline void emit_connect_done(struct sock *sk, struct st_sock_state *ss,
					      int newstate)
{
	struct st_event *e;

	if (!(ss->flags & ST_SS_CONNECT_EMITTED))
		emit_connect(sk, ss, 0, hook_tier[HOOK_CONNECT]);
	e = ev_reserve(ST_EV_CONNECT_DONE, hook_tier[HOOK_CONNECT]);
	if (!e)
		return;
	fill_sock(e, sk);
	e->fd = ss->fd;
	if (ss->connect_ns)
		e->latency_ns = e->time_ns - ss->connect_ns;
	if (newstate != TCP_ESTABLISHED) {
		/* tcp_done_with_error() sets sk_err before the move to CLOSE. */
		int err = BPF_CORE_READ(sk, sk_err);

		if (!err)
			err = BPF_CORE_READ(sk, sk_err_soft);
		e->err = err ? -err : -ECONNABORTED;
	}
	e->old_state = TCP_SYN_SENT;
	e->new_state = newstate;
	ev_submit(e);
}

/* The fd of a listener of ours, -1 when it has none (yet). A child has no
 * fd until accepted: its queueing carries its listener's, as the other
 * listener events do. */
static __always_inline __s32 listener_fd(struct sock *listener)
{
	__u64 key = (__u64)listener;
	struct st_listener_state *ls = bpf_map_lookup_elem(&listeners, &key);

	return ls ? ls->fd : -1;
}

/* ls: the listener's entry where the caller has it, else NULL (looked up) */
static __always_inline void emit_child_queued(struct sock *listener,
					      struct st_listener_state *ls,
					      struct sock *child, __u8 tier)
{
	struct st_event *e = ev_reserve(ST_EV_CHILD_QUEUED, tier);

	if (!e)
		return;
	fill_sock(e, child);
	fill_listener_queue(e, listener);
	e->fd = ls ? ls->fd : listener_fd(listener);
	ev_submit(e);
}

/* An event on a listener about a peer known only from a packet or a request
 * socket: local side is the listener's (its family as ls keeps it), queue
 * the accept queue's length and limit as the caller read them. */
static __always_inline struct st_event *listener_event_queue(__u16 type, __u8 tier,
							     struct sock *listener,
							     struct st_listener_state *ls,
							     __u32 qlen, __u32 qmax)
{
	struct st_event *e = ev_reserve(type, tier);

	if (!e)
		return NULL;
	e->sk_id = (__u64)listener;
	e->family = ls->family;
	e->sport = ls->port;
	e->fd = ls->fd;
	e->queue_len = qlen;
	e->queue_max = qmax;
	return e;
}

/* listener_event_queue() with the accept queue read now. */
static __always_inline struct st_event *listener_event(__u16 type, __u8 tier,
						       struct sock *listener,
						       struct st_listener_state *ls)
{
	struct st_event *e = listener_event_queue(type, tier, listener, ls, 0, 0);

	if (e)
		fill_listener_queue(e, listener);
	return e;
}

/* Peer address and port from an skb's IP and TCP headers. */
struct skb_tcp {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u8 flags;
};

static __always_inline int skb_parse_tcp(struct sk_buff *skb, struct skb_tcp *t)
{
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u8 tcph[14];

	if (th == (__u16)~0u || nh == (__u16)~0u || th <= nh)
		return -1;
	/* one read per header: this runs for every freed skb */
	/* Wire-format offsets, not vmlinux.h's iphdr/ipv6hdr: their saddr and
	 * daddr moved into a union in 6.x (struct_group), which would make
	 * CO-RE relocations of a local copy fail on older kernels. */
	if (proto == ETH_P_IP) {
		__u8 ip[20];

		if (bpf_probe_read_kernel(ip, sizeof(ip), head + nh) || ip[9] != IPPROTO_TCP)
			return -1;
		t->family = AF_INET;
		__builtin_memcpy(t->saddr, ip + 12, 4);
		__builtin_memcpy(t->daddr, ip + 16, 4);
	} else if (proto == ETH_P_IPV6) {
		__u8 ip6[40];

		if (bpf_probe_read_kernel(ip6, sizeof(ip6), head + nh) || ip6[6] != IPPROTO_TCP)
			return -1;
		t->family = AF_INET6;
		__builtin_memcpy(t->saddr, ip6 + 8, 16);
		__builtin_memcpy(t->daddr, ip6 + 24, 16);
	} else {
		return -1;
	}
	if (bpf_probe_read_kernel(tcph, sizeof(tcph), head + th))
		return -1;
	t->sport = (tcph[0] << 8) | tcph[1];
	t->dport = (tcph[2] << 8) | tcph[3];
	t->flags = tcph[13];
	return 0;
}

static __always_inline void set_peer_from_skb(struct st_event *e, struct skb_tcp *t)
{
	e->family = t->family;
	e->dport = t->sport;
	__builtin_memcpy(e->saddr, t->daddr, 16);
	__builtin_memcpy(e->daddr, t->saddr, 16);
}

static __always_inline void set_peer_from_req(struct st_event *e, struct request_sock *req)
{
	struct sock_common *skc = &req->__req_common;

	e->family = BPF_CORE_READ(skc, skc_family);
	e->dport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	read_addrs(e->saddr, e->daddr, e->family, skc);
}

/* What epoll_wakeups() needs of an epitem. */
struct epi_fields {
	__u64 ep;
	__u64 next; /* the next epitem's fllink */
	__u32 events;
	__s32 fd;
};

/* An epitem is 120 bytes (6.18) and these fields are spread over it: one
 * read of all of it, a read apiece only if some kernel's is larger. */
#define EPI_BUF 128

/* epitem_fields(), one read a field: no buffer on the stack */
static __always_inline int epitem_fields_lean(__u64 node, struct epi_fields *f)
{
	struct epitem *epi = (void *)(node - bpf_core_field_offset(struct epitem, fllink));

	f->ep = (__u64)BPF_CORE_READ(epi, ep);
	f->next = (__u64)BPF_CORE_READ(epi, fllink.next);
	f->events = BPF_CORE_READ(epi, event.events);
	f->fd = BPF_CORE_READ(epi, ffd.fd);
	return 0;
}

static __always_inline int epitem_fields(__u64 node, struct epi_fields *f)
{
	struct epitem *epi = (void *)(node - bpf_core_field_offset(struct epitem, fllink));
	__u32 size = bpf_core_type_size(struct epitem);
	__u32 o_ep = bpf_core_field_offset(epi->ep);
	__u32 o_next = bpf_core_field_offset(epi->fllink.next);
	__u32 o_events = bpf_core_field_offset(epi->event.events);
	__u32 o_fd = bpf_core_field_offset(epi->ffd.fd);
	__u8 buf[EPI_BUF];

	if (size <= EPI_BUF && o_ep <= EPI_BUF - 8 && o_next <= EPI_BUF - 8 &&
	    o_events <= EPI_BUF - 4 && o_fd <= EPI_BUF - 4) {
		if (bpf_probe_read_kernel(buf, size, epi))
			return -1;
		__builtin_memcpy(&f->ep, buf + o_ep, 8);
		__builtin_memcpy(&f->next, buf + o_next, 8);
		__builtin_memcpy(&f->events, buf + o_events, 4);
		__builtin_memcpy(&f->fd, buf + o_fd, 4);
		return 0;
	}
	return epitem_fields_lean(node, f);
}

/* Is ep (a struct eventpoll's address) the target's? Fills *out when it
 * is: from this CPU's cache, else from `epolls` (then cached). A program
 * that interrupts this one on the CPU may fill the same slot: the slot's
 * key is cleared while it is written and checked again after the read. */
static __always_inline int epoll_find(__u64 ep, struct st_epoll_state *out)
{
	__u32 zero = 0, epoch = *(volatile __u32 *)&epoll_epoch;
	struct epoll_cache *c = bpf_map_lookup_elem(&epoll_cache, &zero);
	struct epoll_slot *sl = NULL;
	struct st_epoll_state *es;

	if (c) {
		sl = &c->s[((ep >> 8) ^ (ep >> 16)) & (EPOLL_CACHE_SLOTS - 1)];
		if (sl->ep == ep && sl->epoch == epoch) {
			out->epfd = sl->epfd;
			out->gen = sl->gen;
			asm volatile("" ::: "memory");
			if (sl->ep == ep && sl->epoch == epoch)
				return 1;
		}
	}
	es = bpf_map_lookup_elem(&epolls, &ep);
	if (!es)
		return 0;
	out->epfd = es->epfd;
	out->gen = es->gen;
	if (sl) {
		sl->ep = 0;
		asm volatile("" ::: "memory");
		sl->epoch = epoch;
		sl->epfd = out->epfd;
		sl->gen = out->gen;
		asm volatile("" ::: "memory");
		sl->ep = ep;
	}
	return 1;
}

/* After a write to `epolls`: every CPU's cached entries are old. */
static __always_inline void epoll_cache_stale(void)
{
	__sync_fetch_and_add(&epoll_epoch, 1);
}

/* Wake-up walks that stopped at their bound with entries left (a socket
 * watched by more epoll instances than they follow): each may have missed
 * a wake-up of the target's. User space reports them as lost. */
__u64 ep_walks_cut = 0;

/*
 * An ep_wakeup of a socket by its plain address, out of line: a global
 * function (its arguments are numbers, two to a register: five at most)
 * is verified once per program, not once for each walk that calls it, and
 * the bpf_loop() walks of the wake-ups call it from four places (inline,
 * this took a start 0.3 s more here, and seconds under QEMU's emulation).
 * -1: the ring is full.
 */
__noinline int ep_wakeup_out(__u64 sk, __u64 gen_epfd, __u64 tier_fd, __u32 events)
{
	struct st_event *e = ev_reserve(ST_EV_EP_WAKEUP, tier_fd >> 32);

	if (!e)
		return -1;
	/* fill_sock(), with no buffer on the stack: this is the third frame of
	 * a bpf_loop() walk's, whose stacks together may not pass 512 bytes */
	e->sk_id = sk;
	if (fill_sock_fields(e, &((struct sock *)sk)->__sk_common) == TCP_CLOSE && !e->sport)
		e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	e->epfd = (__s32)gen_epfd;
	e->queue_max = gen_epfd >> 32;
	e->fd = (__s32)tier_fd;
	e->events = events;
	ev_submit(e);
	return 0;
}

/* A BTF pointer as the plain number ep_wakeup_out() takes (the verifier
 * follows a pointer through the stack, and a cast does not change it): read
 * from where it is kept, here the stack. tp_sk_data_ready's walks read it
 * from the program's context instead: its stack has no 8 bytes to spare. */
static __always_inline __u64 sk_number(struct sock *sk)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &sk);
	return v;
}

/* btf: sk is BTF-typed (direct loads), else a plain address */
static __always_inline int ep_wakeup_emit(struct sock *sk, struct st_epoll_state *es,
					  struct epi_fields *f, __u32 key, __u8 tier, int btf)
{
	struct st_event *e;

	if (!btf)
		return ep_wakeup_out((__u64)sk, (__u64)es->gen << 32 | (__u32)es->epfd,
				     (__u64)tier << 32 | (__u32)f->fd, f->events & key);
	e = ev_reserve(ST_EV_EP_WAKEUP, tier);
	if (!e)
		return -1;
	fill_sock_btf(e, sk);
	e->epfd = es->epfd;
	e->queue_max = es->gen;
	e->fd = f->fd;
	e->events = f->events & key;
	ev_submit(e);
	return 0;
}

/* ep_poll_callback()'s test: disabled (EPOLLONESHOT fired) or not
 * interested in these events */
static __always_inline int epi_wants(struct epi_fields *f, __u32 key)
{
	return (f->events & ~EP_PRIVATE_BITS) && (f->events & key);
}

/* waitqueue_active(&ep->wq): a task of its own blocked in epoll_wait */
static __always_inline int ep_has_waiter(__u64 ep)
{
	__u64 head = ep + bpf_core_field_offset(struct eventpoll, wq) +
		     bpf_core_field_offset(struct wait_queue_head, head);
	__u64 next = 0;

	if (bpf_probe_read_kernel(&next, sizeof(next), (void *)head))
		return 0;
	return next && next != head;
}

/*
 * A wake-up of a socket some EPOLLEXCLUSIVE item watches (nginx's
 * listeners, one per worker), in the order of the socket's wait queue: the
 * kernel calls every entry without WQ_FLAG_EXCLUSIVE (at its head, newest
 * first, as in the file's epitems), then the exclusive ones (oldest first)
 * only until one wakes a task: for ep_poll_callback(), an instance with a
 * task blocked in epoll_wait, interested in the wake-up's direction (here
 * EPOLLIN). Each item called before that has the socket put on its ready
 * list. Any other exclusive waiter (a thread blocked in accept()) is taken
 * to have woken, and ends it too. An entry is epoll's when its
 * eppoll_entry names this queue and its epitem this file. The first `skip`
 * epoll entries without the flag were epoll_wakeups()'. A bpf_loop(): its
 * step is verified once, not once per entry (that added 0.4 s to a start).
 */
struct wq_walk {
	__u64 sk;
	__u64 file;
	__u64 whead; /* the socket's wait_queue_head */
	__u64 head;  /* its list's head */
	__u64 cur;   /* the next entry's list link */
	__u32 key;
	__u32 skip;
	__u8 tier;
	__u8 done;
};

static long wq_walk_step(__u32 i, void *data)
{
	struct wq_walk *x = data;
	__u32 inout = x->key & (EPOLLIN | EPOLLOUT);
	struct wait_queue_entry *w;
	struct eppoll_entry *pwq;
	struct st_epoll_state es;
	struct epi_fields f;
	struct epitem *epi;
	unsigned int flags;
	__u64 cur = x->cur;

	if (!cur || cur == x->head)
		goto end;
	w = (void *)(cur - bpf_core_field_offset(struct wait_queue_entry, entry));
	if (bpf_core_read(&flags, sizeof(flags), &w->flags) ||
	    bpf_core_read(&x->cur, sizeof(x->cur), &w->entry.next))
		goto end;
	pwq = (void *)((__u64)w - bpf_core_field_offset(struct eppoll_entry, wait));
	epi = BPF_CORE_READ(pwq, base);
	if ((__u64)BPF_CORE_READ(pwq, whead) != x->whead || !epi ||
	    (__u64)BPF_CORE_READ(epi, ffd.file) != x->file) {
		if (flags & WQ_FLAG_EXCLUSIVE)
			goto end; /* not epoll's: it takes the wake-up */
		return 0;
	}
	if (!(flags & WQ_FLAG_EXCLUSIVE) && x->skip) {
		x->skip--;
		return 0;
	}
	/* lean: this is the middle frame of three, under sk_data_ready's */
	if (epitem_fields_lean((__u64)epi + bpf_core_field_offset(struct epitem, fllink), &f))
		goto end;
	if (!epi_wants(&f, x->key))
		return 0; /* called, and wakes nobody */
	if (epoll_find(f.ep, &es) &&
	    ep_wakeup_emit((struct sock *)x->sk, &es, &f, x->key, x->tier, 0))
		goto end;
	/* ep_poll_callback()'s ewake */
	if ((flags & WQ_FLAG_EXCLUSIVE) && ep_has_waiter(f.ep) &&
	    (inout == EPOLLIN ? f.events & EPOLLIN : inout == EPOLLOUT ? f.events & EPOLLOUT :
									 inout == 0))
		goto end;
	return 0;
end:
	x->done = 1;
	return 1;
}

/* sk_at: where sk's address is kept (see sk_number()) */
static __always_inline void exclusive_wakeups(struct sock *sk, const void *sk_at,
					      struct file *file, __u32 key, __u8 tier, int skip)
{
	struct wq_walk x = { .file = (__u64)file, .key = key, .skip = skip, .tier = tier };
	__u64 wq = (__u64)BPF_CORE_READ(sk, sk_wq);

	if (!wq || bpf_probe_read_kernel(&x.sk, sizeof(x.sk), sk_at))
		return;
	x.whead = wq + bpf_core_field_offset(struct socket_wq, wait);
	x.head = x.whead + bpf_core_field_offset(struct wait_queue_head, head);
	if (bpf_probe_read_kernel(&x.cur, sizeof(x.cur), (void *)x.head))
		return;
	bpf_loop(MAX_WAITERS, wq_walk_step, &x, 0);
	if (!x.done && x.cur && x.cur != x.head)
		__sync_fetch_and_add(&ep_walks_cut, 1);
}

/* epoll_wakeups()' walk past its first MAX_EPITEMS_PER_FILE items, and
 * state_wakeups()' walks */
struct fep_walk {
	__u64 sk;
	__u64 node;
	__u32 key;
	__u32 called; /* items without EPOLLEXCLUSIVE */
	__u8 tier;
	__u8 exclusive;
	__u8 stop;
};

/* state_wakeups()': the walk's state, and what is left after it */
struct state_walk {
	struct fep_walk w;
	__u64 first; /* the file's first item */
	__u8 again;  /* more wake-ups without a key */
	__u8 err;    /* then one with EPOLLERR */
};

/* The item at x->node, called by a wake-up with x->key: 1 to stop (the
 * ring is full, or the item unreadable) */
static __always_inline int fep_visit(struct fep_walk *x)
{
	struct st_epoll_state es;
	struct epi_fields f;

	if (epitem_fields(x->node, &f))
		return 1;
	x->node = f.next;
	if ((f.events & EPOLLEXCLUSIVE) && x->key != WAKE_ALL) {
		x->exclusive = 1;
		return 0;
	}
	x->called++;
	return epoll_find(f.ep, &es) && epi_wants(&f, x->key) &&
	       ep_wakeup_emit((struct sock *)x->sk, &es, &f, x->key, x->tier, 0);
}

static long fep_walk_step(__u32 i, void *data)
{
	struct fep_walk *x = data;

	if (!x->node)
		return 1;
	if (fep_visit(x)) {
		x->stop = 1;
		return 1;
	}
	return 0;
}

/* state_wakeups()': the file's items once per wake-up, in one loop */
static long state_walk_step(__u32 i, void *data)
{
	struct state_walk *s = data;
	struct fep_walk *x = &s->w;

	if (!x->node) {
		if (s->again) {
			s->again--;
		} else if (s->err) {
			s->err = 0;
			x->key = EPOLLERR;
			x->called = 0;
		} else {
			return 1;
		}
		x->node = s->first;
		return 0;
	}
	if (fep_visit(x)) {
		x->stop = 1;
		return 1;
	}
	return 0;
}

/*
 * The epoll instances of the target watching this socket's file, as
 * ep_poll_callback() would see them for a wake-up with `key` events. sk is
 * BTF-typed (sk_data_ready's): direct loads as far as the file. Items
 * without EPOLLEXCLUSIVE are all called; the others, if any, as
 * exclusive_wakeups() finds (WAKE_ALL: every one). The
 * first few inline; a socket more epoll
 * instances watch (a listener shared by many workers), in a bpf_loop().
 */
static __always_inline void epoll_wakeups(struct sock *sk, const void *sk_at, __u32 key,
					  __u8 tier)
{
	struct socket *sock = sk->sk_socket;
	struct file *file = sock ? sock->file : NULL;
	__u64 node = file_first_epitem_link(file);
	int exclusive = 0, called = 0;

	for (int i = 0; i < MAX_EPITEMS_PER_FILE && node; i++) {
		struct st_epoll_state es;
		struct epi_fields f;

		if (epitem_fields(node, &f))
			return;
		node = f.next;
		if ((f.events & EPOLLEXCLUSIVE) && key != WAKE_ALL) {
			exclusive = 1;
			continue;
		}
		called++;
		if (!epoll_find(f.ep, &es) || !epi_wants(&f, key))
			continue;
		if (ep_wakeup_emit(sk, &es, &f, key, tier, 1))
			return;
	}
	if (node) {
		struct fep_walk x = { .node = node, .key = key, .tier = tier };

		if (bpf_probe_read_kernel(&x.sk, sizeof(x.sk), sk_at))
			return;
		bpf_loop(MAX_EPITEMS_MORE, fep_walk_step, &x, 0);
		if (x.stop)
			return;
		if (x.node)
			__sync_fetch_and_add(&ep_walks_cut, 1);
		exclusive |= x.exclusive;
		called += x.called;
	}
	if (exclusive)
		exclusive_wakeups(sk, sk_at, file, key, tier, called);
}

/* ---- tracepoint tier (and the plumbing every tier uses) ---- */

/*
 * The tracepoint tier's other wake-ups of a socket: sk_state_change()
 * (sock_def_wakeup(): every waiter, no key) and sk_error_report()
 * (EPOLLERR) have no tracepoint, so they are told by the state change each
 * comes with, in the kernel paths that make one, for a socket not yet
 * orphaned (SOCK_DEAD; a closed socket's epitems are gone anyway):
 *   a FIN: ESTABLISHED -> CLOSE_WAIT, FIN_WAIT1 -> CLOSING (tcp_fin());
 *   our FIN acked: FIN_WAIT1 -> FIN_WAIT2;
 *   a handshake done: SYN_SENT (or SYN_RECV) -> ESTABLISHED (connect()'s
 *   EPOLLOUT);
 *   shutdown(SHUT_WR): ESTABLISHED -> FIN_WAIT1, CLOSE_WAIT -> LAST_ACK;
 *   tcp_done() to CLOSE: one, two from FIN_WAIT2 (a FIN: tcp_time_wait()'s
 *   and tcp_fin()'s), and with sk_err set (a reset, a timeout, an abort)
 *   sk_error_report()'s too; none for connect()'s own failure (SYN_SENT,
 *   no error).
 * The wake-up's packet is still being handled: this comes before the
 * wake-up itself, as sk_data_ready's does.
 */
static __always_inline void state_wakeups(struct sock *sk, int old, int new)
{
	struct socket *sock = sk->sk_socket;
	struct file *file = sock ? sock->file : NULL;
	struct state_walk x = { .w = { .tier = ST_TIER_TRACEPOINT } };
	int n = 0, err = 0;

	if (sk->__sk_common.skc_flags & (1ul << SOCK_DEAD))
		return;
	switch (new) {
	case TCP_CLOSE_WAIT:
		n = 1;
		break;
	case TCP_CLOSING:
	case TCP_FIN_WAIT2:
		n = old == TCP_FIN_WAIT1;
		break;
	case TCP_ESTABLISHED:
		n = old == TCP_SYN_SENT || old == TCP_SYN_RECV;
		break;
	case TCP_FIN_WAIT1:
		n = old == TCP_ESTABLISHED;
		break;
	case TCP_LAST_ACK:
		n = old == TCP_CLOSE_WAIT;
		break;
	case TCP_CLOSE:
		err = sk->sk_err != 0;
		n = err ? 1 : old == TCP_SYN_SENT ? 0 : old == TCP_FIN_WAIT2 ? 2 : 1;
		break;
	}
	if (!n && !err)
		return;
	x.first = file_first_epitem_link(file);
	if (!x.first)
		return;
	x.w.sk = sk_number(sk);
	/* the wake-ups without a key first, then sk_error_report()'s */
	x.w.node = x.first;
	x.w.key = n ? WAKE_ALL : EPOLLERR;
	x.again = n > 1;
	x.err = n && err;
	bpf_loop(3 * (MAX_EPITEMS_PER_FILE + MAX_EPITEMS_MORE + 1), state_walk_step, &x, 0);
	if (x.w.stop)
		return;
	if (x.w.node || x.again || x.err)
		__sync_fetch_and_add(&ep_walks_cut, 1);
	else if (x.w.exclusive)
		exclusive_wakeups(sk, &x.w.sk, file, EPOLLERR, ST_TIER_TRACEPOINT, x.w.called);
}

/* The socket at fd is being closed by the target (close(), from the state
 * change old -> new its release makes; a socket already in CLOSE makes
 * none): the close and that state event, in one record. */
static __always_inline void emit_close(struct sock *sk, __s32 fd, int old, int new,
				       int listener)
{
	struct st_event *e;

	if (!(type_mask & (1u << ST_EV_CLOSE))) {
		emit_state(sk, fd, old, new, 0);
		return;
	}
	e = ev_reserve(ST_EV_CLOSE, ST_TIER_TRACEPOINT);
	if (!e)
		return;
	fill_sock_btf(e, sk);
	e->fd = fd;
	e->old_state = old;
	e->new_state = new;
	e->xflags = ST_XF_CLOSE_STATE;
	if (listener) {
		e->queue_len = sk->sk_ack_backlog;
		e->queue_max = sk->sk_max_ack_backlog;
	}
	ev_submit(e);
}

static __always_inline void on_accept_exit(struct task_struct *t, struct call_state *c, long ret)
{
	struct sock *child, *listener;
	struct st_sock_state *ss;
	struct st_event *e;
	__u64 key;

	if (ret < 0)
		return; /* EAGAIN from non-blocking servers is not news */
	child = c->sk ? (struct sock *)c->sk : file_sock(task_fd_file(t, ret));
	if (!child)
		return;
	key = (__u64)child;
	ss = seed_check(sock_get(key), child);
	if (!ss && !is_tcp(child))
		return;
	/* a child we saw queued knows its listener: no walk of the fd table */
	listener = ss && ss->listener ? (struct sock *)ss->listener : file_sock(task_fd_file(t, c->fd));
	e = ev_reserve(ST_EV_ACCEPT, hook_tier[HOOK_ACCEPT]);
	if (e) {
		/* its state: CLOSE_WAIT or CLOSE when the peer closed or reset
		 * it while it waited in the queue */
		e->new_state = fill_sock(e, child);
		e->fd = ret;
		if (ss && ss->queued_ns)
			e->latency_ns = e->time_ns - ss->queued_ns;
		if (listener)
			fill_listener_queue(e, listener);
		ev_submit(e);
	}
	/* a child of a listener that owns its port is followed by the port
	 * (see retired_ports): user space keeps its fd, from this event.
	 * Any other gets an entry (another listener of ours holds the port,
	 * in another namespace; or the listener is not known yet: seeding
	 * under way, see seed_ownership()). */
	if (!ss && !(port_children() && listener && listener_owns_port(listener)))
		ss = sock_track(child, ret, ST_SS_ACCEPTED);
	if (ss) {
		ss->fd = ret;
		ss->flags |= ST_SS_ACCEPTED;
	}
}

/* A new st_epoll_state.gen: the clock's low bits, never 0 (the seeded
 * entries'); two instances on one epfd are never made in the same ns. */
static __always_inline __u32 epoll_gen(void)
{
	return (__u32)bpf_ktime_get_ns() | 1;
}

static __always_inline void on_epoll_wait_exit(struct task_struct *t, struct call_state *c,
					       long ret)
{
	struct file *file = task_fd_file(t, c->fd);
	struct st_epoll_state es, fresh = { .epfd = c->fd };
	struct st_event *e;
	__u64 ep;

	if (!file)
		return;
	ep = (__u64)BPF_CORE_READ(file, private_data);
	if (!epoll_find(ep, &es)) {
		if (ret < 0)
			return; /* maybe not an epoll fd at all */
		fresh.gen = epoll_gen();
		bpf_map_update_elem(&epolls, &ep, &fresh, BPF_NOEXIST);
		epoll_cache_stale();
		if (!epoll_find(ep, &es))
			return;
	}
	e = ev_reserve(ST_EV_EPOLL_WAIT_DONE, ST_TIER_TRACEPOINT);
	if (e) {
		e->epfd = c->fd;
		e->queue_max = es.gen;
		e->sk_id = ep;
		if (ret >= 0)
			e->count = ret;
		else
			e->err = ret;
		/* the time since the first wake-up: user space has them all
		 * in order (an instance's state written here and at every
		 * wake-up would move between the CPUs at each) */
		ev_submit(e);
	}
}

static __always_inline void on_epoll_create_exit(struct task_struct *t, long ret)
{
	struct file *file = ret >= 0 ? task_fd_file(t, ret) : NULL;
	struct st_epoll_state es = { .epfd = ret };
	__u64 ep;

	if (!file)
		return;
	ep = (__u64)BPF_CORE_READ(file, private_data);
	es.gen = epoll_gen();
	bpf_map_update_elem(&epolls, &ep, &es, BPF_ANY);
	epoll_cache_stale();
}

/* The exit of a syscall of the target's, one of those tp_sys_exit lets
 * through, in thread t (the current task, of the target); regs: the
 * registers saved at its entry. */
static __always_inline void sys_exit_ours(struct task_struct *t, struct pt_regs *regs, long nr,
					  long ret)
{
	struct call_state *c, none = {};
	__u32 tid;

	/* only connect (tracepoint tier: its socket) and accept (function
	 * tiers: the child) find something in `calls` */
	if (nr == NR_connect && !tier_is(HOOK_CONNECT, ST_TIER_TRACEPOINT))
		return;
	tid = t->pid;
	if (nr == NR_connect ||
	    ((nr == NR_accept || nr == NR_accept4) && !tier_is(HOOK_ACCEPT, ST_TIER_TRACEPOINT)))
		c = bpf_map_lookup_elem(&calls, &tid);
	else
		c = NULL;
	if (c && c->nr != nr) {
		bpf_map_delete_elem(&calls, &tid); /* left by a killed syscall */
		c = NULL;
	}
	if (!c) {
		/* the argument registers still hold the fd argument */
		none.nr = nr;
		none.fd = (__s32)PT_REGS_PARM1_SYSCALL(regs);
		c = &none;
	}
	if (nr == NR_accept || nr == NR_accept4) {
		on_accept_exit(t, c, ret);
	} else if (nr == NR_connect) {
		__u64 key = c->sk;
		struct st_sock_state *ss = key ? sock_get(key) : NULL;

		if (ss && !(ss->flags & ST_SS_CONNECT_EMITTED))
			emit_connect((struct sock *)key, ss, ret, hook_tier[HOOK_CONNECT]);
	} else if (nr == NR_epoll_wait || nr == NR_epoll_pwait || nr == NR_epoll_pwait2) {
		on_epoll_wait_exit(t, c, ret);
	} else {
		on_epoll_create_exit(t, ret);
	}
	if (c != &none)
		bpf_map_delete_elem(&calls, &tid);
}

/*
 * The handover from a tracepoint to fexit_sys_* (below). A trampoline sees
 * only the calls entered after it went in: an epoll_wait or accept a
 * thread was blocked in at attach returns past it. So with fexit taking
 * the exits, one of the two tracepoint programs is attached as well, for
 * those calls only, until each has returned (user space follows them in
 * handover_pending and then detaches it, see end_handover()). Each exit
 * is taken once: fexit_sys_* runs first, at the syscall function's return,
 * and leaves its mark for the tracepoint, run at the syscall's exit.
 */
__u32 exit_handover = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);   /* thread id */
	__type(value, __u32); /* the syscall fexit_sys_* took */
} fexit_done SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* thread id, in a syscall at attach */
	__type(value, __u8);
} handover_pending SEC(".maps");

/* The current task when the programs are armed and it is the target's,
 * else NULL: the syscall exits' first test. (The task once, for the target
 * test, the registers and the fd table: a helper call apiece had cost 50
 * ns a run.) */
static __always_inline struct task_struct *armed_target_task(void)
{
	struct task_struct *t;

	if (!armed)
		return NULL;
	t = bpf_get_current_task_btf();
	return t->tgid == target_tgid ? t : NULL;
}

/* For the tracepoint's programs: 1 when fexit_sys_* took this exit. */
static __always_inline int fexit_took(struct task_struct *t, long nr)
{
	__u32 tid = t->pid, *done;
	int took;

	if (!exit_handover)
		return 0;
	bpf_map_delete_elem(&handover_pending, &tid);
	done = bpf_map_lookup_elem(&fexit_done, &tid);
	if (!done)
		return 0;
	took = *done == (__u32)nr;
	bpf_map_delete_elem(&fexit_done, &tid);
	return took;
}

/*
 * Syscall exits, one of three ways (the third, fexit, below). A tp_btf program on raw sys_exit is run
 * at every syscall's exit, of every process: that dispatch was half of
 * what socktrace cost an epoll echo server. A program on the per-syscall
 * tracepoints (syscalls:sys_exit_<name>; user space attaches it to each of
 * those tp_sys_exit lets through) is run only for those: the kernel turns
 * the others away with a bitmap test. They need tracefs (for their ids)
 * and CONFIG_FTRACE_SYSCALLS; without either, the tp_btf program.
 */
SEC("tracepoint")
int tp_syscall_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *t = armed_target_task();

	if (!t || fexit_took(t, ctx->id))
		return 0;
	sys_exit_ours(t, (struct pt_regs *)bpf_task_pt_regs(t), ctx->id, ctx->ret);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *t = armed_target_task();
	long nr;

	if (!t)
		return 0;
	nr = SYSCALL_NR(regs);
	/* read/write/... of a busy server: out before any map lookup */
	if (nr != NR_connect && nr != NR_accept && nr != NR_accept4 && nr != NR_epoll_wait &&
	    nr != NR_epoll_pwait && nr != NR_epoll_pwait2 && nr != NR_epoll_create &&
	    nr != NR_epoll_create1)
		return 0;
	if (fexit_took(t, nr))
		return 0;
	sys_exit_ours(t, regs, nr, ret);
	return 0;
}

/*
 * Syscall exits, the third way: on kernels with fentry, fexit programs on
 * the syscalls' own entry points (the arch's __<arch>_sys_<name>, which
 * take the registers saved at entry). Unlike any syscall tracepoint, which
 * sends every syscall of every process down the slow path while it is
 * enabled (about 6% of an epoll echo server on an SRSO-mitigated CPU),
 * these cost nothing to the syscalls they are not on.
 */
#if defined(__TARGET_ARCH_arm64)
#define SYS_FN(name) "fexit/__arm64_sys_" #name
#else
#define SYS_FN(name) "fexit/__x64_sys_" #name
#endif

/*
 * Each program's syscall number, from read-only data (FEXIT_SYS() makes a
 * constant apiece): to clang a load, so one body serves all (with the
 * number a constant apiece, clang laid out the connect one's stack past
 * the limit); to the verifier a constant (a frozen map's), so it verifies
 * that syscall's way alone. Read from the registers, as tp_sys_exit does,
 * every program was verified for all four: 18,000-24,000 instructions and
 * about 0.2 s apiece under QEMU's emulation; now 40 to 900 for connect and
 * the epoll calls.
 */
static __always_inline int fexit_sys(struct pt_regs *regs, long ret, long nr)
{
	struct task_struct *t = armed_target_task();

	if (!t)
		return 0;
	if (exit_handover) {
		__u32 tid = t->pid, n = nr;

		bpf_map_update_elem(&fexit_done, &tid, &n, BPF_ANY);
	}
	sys_exit_ours(t, regs, nr, ret);
	return 0;
}

#define FEXIT_SYS(name)                                                             \
	const volatile long fexit_nr_##name = NR_##name;                            \
	SEC(SYS_FN(name))                                                           \
	int BPF_PROG(fexit_sys_##name, struct pt_regs *regs, long ret)              \
	{                                                                           \
		return fexit_sys(regs, ret, fexit_nr_##name);                       \
	}

FEXIT_SYS(connect)
FEXIT_SYS(accept)
FEXIT_SYS(accept4)
FEXIT_SYS(epoll_pwait)
FEXIT_SYS(epoll_pwait2)
FEXIT_SYS(epoll_create1)
#if !defined(__TARGET_ARCH_arm64)
FEXIT_SYS(epoll_wait)
FEXIT_SYS(epoll_create)
#endif

/* The listener of ours a child just queued on is l, the port's owner, or
 * on a port several of ours hold (SO_REUSEPORT) the one whose accept
 * queue ends with it. */
static __always_inline __u64 queued_on(__u64 l, struct sock *child)
{
	__u16 port = BPF_CORE_READ(child, __sk_common.skc_num);
	struct st_listener_state *ls;
	struct st_port_group *g;
	__u32 pkey;

	if (!port_grouped(port) || !(ls = bpf_map_lookup_elem(&listeners, &l)))
		return l;
	pkey = st_port_key(port, ls->family);
	g = bpf_map_lookup_elem(&port_groups, &pkey);
	for (int i = 0; g && i < ST_GROUP_MAX; i++) {
		struct inet_connection_sock *icsk = (void *)g->l[i];
		struct request_sock *tail;

		if (!icsk)
			continue;
		tail = BPF_CORE_READ(icsk, icsk_accept_queue.rskq_accept_tail);
		if (tail && BPF_CORE_READ(tail, sk) == child)
			return g->l[i];
	}
	return l;
}

/* A child's clone (LISTEN -> SYN_RECV at clone_ns), SYN_RECV -> ESTABLISHED
 * and its queueing on the listener, one record (ST_XF_CHILD_STATES).
 * Returns the record's time (0 when not emitted). */
static __always_inline __u64 emit_child_states(struct sock *sk, __u64 listener, __u64 clone_ns,
					       __u8 clone_old)
{
	struct st_event *e = ev_reserve(ST_EV_CHILD_QUEUED, ST_TIER_TRACEPOINT);
	struct sock *l;
	__u64 now;

	if (!e)
		return 0;
	now = e->time_ns;
	fill_sock_btf(e, sk);
	l = (struct sock *)queued_on(listener, sk);
	fill_listener_queue(e, l);
	e->fd = listener_fd(l);
	e->xflags = ST_XF_CHILD_STATES;
	e->old_state = clone_old;
	e->new_state = TCP_SYN_RECV;
	e->latency_ns = now - clone_ns;
	ev_submit(e);
	return now;
}

static __always_inline void child_queued_states(struct sock *sk, struct st_sock_state *ss)
{
	__u64 clone_ns = ss->clone_ns, t;

	ss->clone_ns = 0;
	t = emit_child_states(sk, ss->listener, clone_ns, ss->clone_old);
	/* queued now: the event's time, one clock read less */
	if (!ss->queued_ns)
		ss->queued_ns = t ? t : bpf_ktime_get_ns();
}

/* Is sk (BTF-typed, not a listener) a child of a listener of ours? Its
 * listener, 1 when that listener closed, 0 when not ours (see
 * retired_ports). */
static __always_inline __u64 child_listener(struct sock *sk, __u16 port)
{
	__u64 net, l, bind;
	struct retired_port *r;
	__u32 pkey;

	if (!(listen_port_bits[port >> 6] & (1ull << (port & 63))))
		return 0;
	net = (__u64)sk->__sk_common.skc_net.net;
	l = listener_by_port(port, sk->__sk_common.skc_family, net, NULL);
	if (l || !any_retired)
		return l;
	pkey = st_port_key(port, sk->__sk_common.skc_family);
	r = bpf_map_lookup_elem(&retired_ports, &pkey);
	if (!r && sk->__sk_common.skc_family == AF_INET) {
		pkey = st_port_key(port, AF_INET6);
		r = bpf_map_lookup_elem(&retired_ports, &pkey);
	}
	if (!r || r->net != net)
		return 0;
	/* a socket moving to CLOSE gave its bucket back already */
	bind = sock_bind_bucket(sk);
	return !bind || bind == r->bind;
}

/* sk's local port. The kernel gives it back (inet_num 0) before the move
 * to CLOSE is traced; the port its packets carried stays. */
static __always_inline __u16 sock_local_port(struct sock *sk, int newstate)
{
	return newstate == TCP_CLOSE ? sock_sport_btf(sk) : sk->__sk_common.skc_num;
}

static __always_inline struct clone_stash *clone_stash_here(__u32 where)
{
	return bpf_map_lookup_elem(&clone_stash, &where);
}

/* The fd the current thread is closing: ST_FD_ACCEPTED when close_range()
 * (which of its range is not known here; user space knows the socket's
 * fd), -2 when not closing. For hooks in process context. */
static __always_inline __s32 closing_any_fd(void)
{
	struct syscall_args a;

	current_syscall(&a);
	if (a.nr == NR_close)
		return (__s32)a.arg1;
	return a.nr == NR_close_range ? ST_FD_ACCEPTED : -2;
}

/* A change of a child followed by its port: no entry, so fd -1 in its
 * events (user space knows it from the accept) but for its close, which
 * is the target's close() of a socket it accepted (sk_socket set) in
 * process context. 1: an accepted one's change, for state_wakeups(). */
static __always_inline int port_child_change(struct sock *sk, __u64 l, int old, int new,
					     __u32 where)
{
	struct clone_stash *cs = clone_stash_here(where);
	__u64 clone_ns = 0;
	__u8 clone_old = 0;
	__s32 fd = -2;

	if (cs && cs->sk == (__u64)sk) {
		clone_ns = cs->ns;
		clone_old = cs->old;
		cs->sk = 0;
	}
	/* queued just before it leaves SYN_RECV (see set_state()); a TCP
	 * Fast Open child may be accepted before */
	if (old == TCP_SYN_RECV && new == TCP_ESTABLISHED && !sk->sk_socket && l > 1) {
		if (clone_ns && (type_mask & (1u << ST_EV_CHILD_QUEUED))) {
			emit_child_states(sk, l, clone_ns, clone_old);
			return 0;
		}
		if (clone_ns)
			emit_state(sk, -1, clone_old, TCP_SYN_RECV, clone_ns);
		emit_state(sk, -1, old, new, 0);
		emit_child_queued((struct sock *)queued_on(l, sk), NULL, sk, ST_TIER_TRACEPOINT);
		return 0;
	}
	if (clone_ns)
		emit_state(sk, -1, clone_old, TCP_SYN_RECV, clone_ns);
	/* sk_socket: accepted and not closed. Not a child the listener's
	 * close() drops, nor one whose close() orphaned it (its later
	 * changes, from the backlog, still in close()). */
	if (!where && sk->sk_socket && is_target())
		fd = closing_any_fd();
	if (fd != -2) {
		emit_close(sk, fd, old, new, 0);
		return 0;
	}
	emit_state(sk, sk->sk_socket ? ST_FD_ACCEPTED : -1, old, new, 0);
	return sk->sk_socket && tier_is(HOOK_EPOLL, ST_TIER_TRACEPOINT);
}

/* A child's clone, kept for its next change. A clone left here by a child
 * whose next change did not come on this CPU is sent now, on its own. */
static __always_inline void clone_put(struct sock *sk, int old, __u32 where)
{
	struct clone_stash *cs = clone_stash_here(where);

	if (!cs)
		return;
	if (cs->sk) {
		struct st_event *e = ev_reserve(ST_EV_STATE, ST_TIER_TRACEPOINT);

		if (e) {
			fill_sock((void *)e, (struct sock *)cs->sk);
			e->sk_id = cs->sk;
			e->time_ns = cs->ns;
			e->old_state = cs->old;
			e->new_state = TCP_SYN_RECV;
			ev_submit(e);
		}
	}
	cs->sk = (__u64)sk;
	cs->ns = bpf_ktime_get_ns();
	cs->old = old;
}

/* where: ctx_where(). 1: the change of a socket of the target's with an
 * fd, for state_wakeups() (called by the program, after: in here, each of
 * this function's paths verified the wake-up walk again, past the
 * verifier's million instructions) */
static __noinline int set_state(struct sock *sk, int oldstate, int newstate, __u32 where)
{
	struct st_listener_state *ls;
	struct st_sock_state *ss;
	__u64 key = (__u64)sk;
	int wake = 0;
	__s32 fd;

	/* Most changes are of other processes' sockets: a connect() is told
	 * by the current task, the rest by the filter, from the address
	 * alone (a load from the socket is a cache miss more often than not). */
	if (oldstate != TCP_LISTEN && newstate != TCP_LISTEN) {
		if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
			if (!is_target()) {
				sock_forget(key);
				return 0;
			}
		} else if (!socks_live || !sock_filter[sock_slot(&key)]) {
			/* nor a child of a listener of ours (a port bit: the
			 * socket's line was just written) */
			__u16 port = sock_local_port(sk, newstate);

			if (!port_children() ||
			    !(listen_port_bits[port >> 6] & (1ull << (port & 63))))
				return 0;
		}
	}
	if (!is_tcp_btf(sk))
		return 0;
	if (newstate == TCP_LISTEN) {
		if (!is_target()) {
			/* a listener's life starts here: an entry at this
			 * address is an earlier socket's, whose close the
			 * kernel skipped (see sock_forget()) */
			ls = bpf_map_lookup_elem(&listeners, &key);
			if (ls)
				listener_del(sk, ls, 0);
			/* another's listener on a port ours left: its children
			 * would share the bind bucket (see retired_ports) */
			if (any_retired) {
				__u32 pkey = st_port_key(sk->__sk_common.skc_num,
						      sk->__sk_common.skc_family);

				bpf_map_delete_elem(&retired_ports, &pkey);
			}
			return 0;
		}
		listener_add(sk, syscall_fd(NR_listen));
		ls = bpf_map_lookup_elem(&listeners, &key);
		emit_state(sk, ls ? ls->fd : -1, oldstate, newstate, 0);
		return 0;
	}
	/* only a listener leaves LISTEN, and a child cloned from one (its
	 * first change, to SYN_RECV): one lookup for everything else */
	if (oldstate == TCP_LISTEN && newstate != TCP_SYN_RECV) {
		ls = bpf_map_lookup_elem(&listeners, &key);
		if (!ls)
			return 0;
		if (is_target() && closing_fd(ls->fd))
			emit_close(sk, ls->fd, oldstate, newstate, 1);
		else
			emit_state(sk, ls->fd, oldstate, newstate, 0);
		if (newstate == TCP_CLOSE) {
			listener_drops_tally(sk, ls);
			listener_del(sk, ls, 1);
		}
		return 0;
	}

	/* where a socket's life starts (a child's clone, or connect() on the
	 * tracepoint tier) it is decided afresh whether it is ours */
	if ((oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV) ||
	    (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT &&
	     tier_is(HOOK_CONNECT, ST_TIER_TRACEPOINT))) {
		sock_forget(key);
		ss = NULL;
	} else {
		ss = sock_lookup_btf(sk, &key);
	}
	if (!ss) {
		if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
			/* connect(), in the caller's context: the tracepoint
			 * tier's connect start (fentry/kprobe got here first) */
			ss = sock_track(sk, syscall_fd(NR_connect), 0);
			if (!ss)
				return 0;
			ss->connect_ns = bpf_ktime_get_ns();
			if (tier_is(HOOK_CONNECT, ST_TIER_TRACEPOINT))
				call_put(NR_connect, ss->fd, key);
		} else if (newstate == TCP_SYN_RECV) {
			/* a child cloned from a listener, in softirq: ours
			 * when the listener on its local port is */
			__u16 port = sk->__sk_common.skc_num;
			__u64 l;

			if (!(listen_port_bits[port >> 6] & (1ull << (port & 63))))
				return 0;
			l = listener_by_port(port, sk->__sk_common.skc_family,
					     (__u64)sk->__sk_common.skc_net.net, NULL);
			if (!l)
				return 0;
			/* its clone is sent with its next change, in one
			 * record when that is to ESTABLISHED (microseconds
			 * later, in the same packet's processing) */
			if (port_children()) {
				clone_put(sk, oldstate, where);
				return 0;
			}
			struct st_sock_state child = {
				.fd = -1,
				.flags = ST_SS_CHILD,
				.listener = l,
				.clone_ns = bpf_ktime_get_ns(),
				.clone_old = oldstate,
			};

			sock_insert(sk, &child);
			return 0;
		} else {
			__u64 l = port_children() ?
				  child_listener(sk, sock_local_port(sk, newstate)) : 0;

			return l ? port_child_change(sk, l, oldstate, newstate, where) : 0;
		}
	} else if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
		/* connect() after fentry/kprobe saw it start */
		if (is_target() && tier_is(HOOK_CONNECT, ST_TIER_TRACEPOINT))
			call_put(NR_connect, ss->fd, key);
	} else if (ss->fd >= 0 && is_target() && closing_fd(ss->fd)) {
		/* the release of the socket's last file: a state change
		 * (even FIN_WAIT2 to itself) unless it is CLOSE already. The
		 * fd is gone: a later change must not match a reused number. */
		fd = ss->fd;
		ss->fd = -1;
		emit_close(sk, fd, oldstate, newstate, 0);
		goto out;
	}

	/* The child was put on the accept queue just before it leaves
	 * SYN_RECV (inet_csk_complete_hashdance(), then tcp_child_process()). */
	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED &&
	    (ss->flags & ST_SS_CHILD) && !(ss->flags & ST_SS_ACCEPTED)) {
		if (tier_is(HOOK_ACCEPT_QUEUE, ST_TIER_TRACEPOINT) && ss->clone_ns &&
		    (type_mask & (1u << ST_EV_CHILD_QUEUED))) {
			child_queued_states(sk, ss);
			goto out;
		}
		if (!ss->queued_ns)
			ss->queued_ns = bpf_ktime_get_ns();
	}
	if (ss->clone_ns) {
		emit_state(sk, ss->fd, ss->clone_old, TCP_SYN_RECV, ss->clone_ns);
		ss->clone_ns = 0;
	}
	emit_state(sk, ss->fd, oldstate, newstate, 0);
	if (oldstate == TCP_SYN_SENT)
		emit_connect_done(sk, ss, newstate);
	wake = ss->fd >= 0 && tier_is(HOOK_EPOLL, ST_TIER_TRACEPOINT);
	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED &&
	    (ss->flags & ST_SS_CHILD) && !(ss->flags & ST_SS_ACCEPTED) &&
	    tier_is(HOOK_ACCEPT_QUEUE, ST_TIER_TRACEPOINT))
		emit_child_queued((struct sock *)queued_on(ss->listener, sk), NULL, sk,
				  ST_TIER_TRACEPOINT);
out:
	if (newstate == TCP_CLOSE)
		sock_untrack(key);
	return wake;
}

/*
 * The kernel skips a tracepoint program that interrupts itself on one CPU
 * (counted as its recursion_misses): a state change in a softirq (a
 * child's clone, a handshake's end, a FIN) during a run in process context
 * would be lost, and a lost CLOSE would leave its socket's entry behind. So
 * a second program follows the first, and does the work the first did not
 * do for that change: tp_set_state leaves a token per context, which
 * tp_set_state_again finds. The two never run at once in one context, so a
 * change is lost only when both are skipped, and user space counts those
 * (tp_set_state's misses less state_recovered) as lost.
 */
struct state_change {
	__u64 sk;
	__u32 states; /* old << 8 | new */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* 0: process context, 1: softirq */
	__type(key, __u32);
	__type(value, struct state_change);
} state_seen SEC(".maps");

/* state changes tp_set_state_again did because tp_set_state was skipped */
__u64 state_recovered = 0;

/* the token slot of the context this run is in */
static __always_inline struct state_change *state_seen_here(__u32 where)
{
	return bpf_map_lookup_elem(&state_seen, &where);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_set_state, struct sock *sk, int oldstate, int newstate)
{
	__u32 where = ctx_where(ctx);
	struct state_change *seen = state_seen_here(where);

	/* the token first, armed or not: tp_set_state_again may be armed
	 * by the time it runs */
	if (seen) {
		seen->sk = (__u64)sk;
		seen->states = oldstate << 8 | newstate;
	}
	if (!armed)
		return 0;
	if (set_state(sk, oldstate, newstate, where))
		state_wakeups(sk, oldstate, newstate);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_set_state_again, struct sock *sk, int oldstate, int newstate)
{
	struct state_change *seen;
	__u32 where;

	if (!armed)
		return 0;
	where = ctx_where(ctx);
	seen = state_seen_here(where);
	if (!seen)
		return 0;
	if (seen->sk == (__u64)sk && seen->states == (oldstate << 8 | newstate)) {
		seen->sk = 0;
		return 0;
	}
	__sync_fetch_and_add(&state_recovered, 1);
	if (set_state(sk, oldstate, newstate, where))
		state_wakeups(sk, oldstate, newstate);
	return 0;
}

/*
 * The first test every freed packet meets (tp_btf: direct loads, one
 * read): an IPv4/IPv6 TCP packet to a port of one of our listeners? Fills
 * t from its headers when it is. Most packets stop at the port bitmap.
 */
static __always_inline int skb_tcp_to_listener(struct sk_buff *skb, struct skb_tcp *t)
{
	__u16 th = skb->transport_header, nh = skb->network_header;
	__u16 proto = bpf_ntohs(skb->protocol);
	__u8 h[76]; /* an IPv4 header with options or an IPv6 header, then TCP's */
	__u32 off;
	__u16 port;
	__u32 p32;

	if ((proto != ETH_P_IP && proto != ETH_P_IPV6) || th == (__u16)~0u ||
	    nh == (__u16)~0u || th <= nh || th - nh > 60)
		return 0;
	off = (th - nh) & 63;
	if (bpf_probe_read_kernel(h, sizeof(h), skb->head + nh))
		return 0;
	if (off + 14 > sizeof(h))
		return 0;
	p32 = h[off + 2] << 8 | h[off + 3];
	/* the mask where the verifier sees it: 6.1's loses the bounds of
	 * the OR, and clang drops a mask it knows changes nothing */
	asm volatile("" : "+r"(p32));
	port = p32 & 0xffff;
	if (!(listen_port_bits[port >> 6] & (1ull << (port & 63))))
		return 0;
	/* Wire-format offsets, not vmlinux.h's iphdr/ipv6hdr: their saddr and
	 * daddr moved into a union in 6.x (struct_group). */
	if (proto == ETH_P_IP) {
		if (h[9] != IPPROTO_TCP)
			return 0;
		t->family = AF_INET;
		__builtin_memcpy(t->saddr, h + 12, 4);
		__builtin_memcpy(t->daddr, h + 16, 4);
	} else {
		if (h[6] != IPPROTO_TCP)
			return 0;
		t->family = AF_INET6;
		__builtin_memcpy(t->saddr, h + 8, 16);
		__builtin_memcpy(t->daddr, h + 24, 16);
	}
	t->sport = h[off] << 8 | h[off + 1];
	t->dport = port;
	t->flags = h[off + 13];
	return 1;
}

/*
 * Claims a packet's share of the listener's new drops: a dropped SYN adds 1
 * (tcp_listendrop()), a dropped final ACK 2 (tcp_listendrop() in
 * tcp_v4_syn_recv_sock(), sk_drops_add() when tcp_v4_rcv() discards it).
 * Claiming a fixed share rather than the whole delta keeps the count right
 * when two CPUs drop packets for one listener at once. 1: claimed.
 */
static __always_inline int drops_claim(struct sock *sk, struct st_listener_state *ls, int syn)
{
	__u64 drops = sk_drops_read(sk), last = ls->last_drops;

	for (int i = 0; i < 4 && drops > last; i++) {
		__u64 share = syn ? 1 : 2, seen;

		if (drops - last < share)
			share = drops - last;
		seen = __sync_val_compare_and_swap(&ls->last_drops, last, last + share);
		if (seen == last)
			return 1;
		last = seen; /* another CPU claimed first: try again */
	}
	return 0;
}

/*
 * A packet for one of our listeners, freed after the listener handled it.
 * A SYN dropped for a full accept queue is consumed (consume_skb, no drop
 * reason) after tcp_conn_request() bumped the listener's sk_drops, a final
 * ACK dropped for it is freed with kfree_skb after tcp_v4_syn_recv_sock()
 * did. The listener's sk_drops moving since the last packet tells a drop;
 * the queue lengths tell which.
 */
static __always_inline void listener_skb(struct sk_buff *skb, int consumed)
{
	int synq_tp = tier_is(HOOK_SYN_QUEUE, ST_TIER_TRACEPOINT);
	int acceptq_tp = tier_is(HOOK_ACCEPT_QUEUE, ST_TIER_TRACEPOINT);
	struct st_listener_state *ls;
	struct net_device *dev;
	struct skb_tcp t = {};
	struct st_event *e;
	struct sock *sk;
	__u32 backlog, max, synq, count = 0;
	__u64 l, net = 0;
	int syn, dropped = 0;
	__u16 type = 0;

	if (listener_count <= 0 || !skb_tcp_to_listener(skb, &t))
		return;
	syn = (t.flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN;
	/* only a SYN is consumed after a drop (tcp_rcv_state_process()); a
	 * dropped final ACK is freed with a reason. A SYN freed so is a
	 * retransmit that met its request socket (tcp_check_req() answered
	 * it with a SYN-ACK), which tcp_v4_rcv() added to the listener's
	 * sk_drops: not a new request, no drop of the queues'; its share is
	 * claimed below and nothing told. */
	if (consumed && !syn)
		return;
	dev = skb->dev;
	if (dev)
		net = (__u64)dev->nd_net.net;
	ls = NULL;
	l = listener_by_port(t.dport, t.family, net, &ls);
	if (!l || !ls)
		return;
	sk = (struct sock *)l;
	dropped = drops_claim(sk, ls, syn);
	/* SO_REUSEPORT: the drop may be another listener's of the port */
	if (!dropped && port_grouped(t.dport)) {
		__u32 pkey = st_port_key(ls->port, ls->family);
		struct st_port_group *g = bpf_map_lookup_elem(&port_groups, &pkey);

		for (int i = 0; g && i < ST_GROUP_MAX; i++) {
			__u64 m = g->l[i];
			struct st_listener_state *lm;

			if (!m || m == l)
				continue;
			lm = bpf_map_lookup_elem(&listeners, &m);
			if (!lm || (lm->net && net && lm->net != net))
				continue;
			if (drops_claim((struct sock *)m, lm, syn)) {
				l = m;
				sk = (struct sock *)m;
				ls = lm;
				dropped = 1;
				break;
			}
		}
	}
	if (syn != consumed || (!syn && !dropped))
		return;
	listener_queue(sk, &backlog, &max);
	synq = syn_queue_len(sk);

	/* a SYN the full SYN queue dropped (no cookies) is not an overflow */
	if (dropped && backlog > max && !(syn && synq >= max && !syncookies_on(sk))) {
		if (syn ? !acceptq_tp : !(acceptq_tp || ack_overflow_by_skb))
			goto out;
		type = ST_EV_ACCEPT_OVERFLOW;
		count = syn ? 1 : 2;
	} else if (!syn || !synq_tp) {
		goto out;
	} else if (dropped || (synq >= max && ls->synq_full)) {
		/* dropped with room in the accept queue: the SYN queue was
		 * full (tcp_syncookies=0); not dropped but the queue stayed
		 * full: answered with a SYN cookie */
		type = ST_EV_SYN_QUEUE_FULL;
		count = dropped;
	} else {
		type = ST_EV_SYN_RECV;
	}
out:
	if (syn && ls->synq_full != (synq >= max))
		ls->synq_full = synq >= max;
	if (!type)
		return;
	/* reserve last, with one NULL check: older verifiers lose track of
	 * a ring buffer reference checked twice */
	e = listener_event_queue(type, ST_TIER_TRACEPOINT, sk, ls, backlog, max);
	if (!e)
		return;
	set_peer_from_skb(e, &t);
	e->count = count;
	if (type != ST_EV_ACCEPT_OVERFLOW) {
		e->queue_len = synq;
		e->queue_max = max;
	}
	ev_submit(e);
}

SEC("tp_btf/consume_skb")
int BPF_PROG(tp_consume_skb, struct sk_buff *skb)
{
	if (!armed)
		return 0;
	listener_skb(skb, 1);
	return 0;
}

/*
 * consume_skb with its caller (6.3+): a packet for one of our listeners is
 * consumed by tcp_rcv_state_process() (a SYN, kept or dropped), a server's
 * data packets and ACKs elsewhere, many times per connection. Their caller,
 * one subtraction and compare, turns them away before the packet's headers
 * are read.
 */
SEC("tp_btf/consume_skb")
int BPF_PROG(tp_consume_skb_at, struct sk_buff *skb, void *location)
{
	if (!armed)
		return 0;
	if ((__u64)location - syn_consume_lo >= syn_consume_len)
		return 0;
	listener_skb(skb, 1);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(tp_kfree_skb, struct sk_buff *skb)
{
	if (!armed)
		return 0;
	listener_skb(skb, 0);
	return 0;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(tp_synack_retrans, struct sock *sk, struct request_sock *req)
{
	__u64 key = (__u64)sk;
	struct st_listener_state *ls;
	struct st_event *e;

	if (!armed)
		return 0;
	ls = bpf_map_lookup_elem(&listeners, &key);
	if (!ls)
		return 0;
	e = listener_event(ST_EV_SYNACK_RETRANS, ST_TIER_TRACEPOINT, sk, ls);
	if (!e)
		return 0;
	set_peer_from_req(e, req);
	e->count = BPF_CORE_READ(req, num_retrans);
	e->queue_len = syn_queue_len(sk);
	ev_submit(e);
	return 0;
}

/* Fires on the listener when a child is queued and on a connection when
 * data or a FIN arrives: the readable half of ep_poll_callback(). */
SEC("tp_btf/sk_data_ready")
int BPF_PROG(tp_sk_data_ready, struct sock *sk)
{
	__u64 key = (__u64)sk;
	void *ours;

	if (!armed)
		return 0;
	if (sk->__sk_common.skc_state == TCP_LISTEN)
		ours = listener_owns_port(sk) ? (void *)sk : bpf_map_lookup_elem(&listeners, &key);
	else
		ours = sock_lookup_btf(sk, &key);
	if (!ours && !(port_children() && child_listener(sk, sk->__sk_common.skc_num)))
		return 0;
	/* sock_def_readable()'s key; ctx[0]: sk's address, as the walks'
	 * out-of-line part takes it */
	epoll_wakeups(sk, ctx, EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND, ST_TIER_TRACEPOINT);
	return 0;
}

/* ---- function-hook tiers: fentry/fexit and kprobe/kretprobe ---- */

static __always_inline void connect_enter(struct sock *sk)
{
	struct st_sock_state *ss;
	__u64 key = (__u64)sk;

	if (!is_target())
		return;
	sock_forget(key); /* a reused socket starts afresh */
	ss = sock_track(sk, syscall_fd(NR_connect), 0);
	if (ss)
		ss->connect_ns = bpf_ktime_get_ns();
}

static __always_inline void connect_exit(struct sock *sk, int ret, __u8 tier)
{
	__u64 key = (__u64)sk;
	struct st_sock_state *ss;

	if (!is_target())
		return;
	ss = sock_get(key);
	if (!ss || (ss->flags & ST_SS_CONNECT_EMITTED))
		return;
	emit_connect(sk, ss, ret, tier);
	if (ret)
		sock_untrack(key);
}

static __always_inline void accept_exit(struct sock *newsk, __u8 tier)
{
	struct syscall_args a;

	if (!newsk || !is_target())
		return;
	current_syscall(&a);
	if (a.nr == NR_accept || a.nr == NR_accept4) {
		/* emitted at syscall exit, with the fd */
		call_put(a.nr, (__s32)a.arg1, (__u64)newsk);
		return;
	}
	/* not from accept(2) (io_uring, kernel users): no fd to report */
	struct st_event *e = ev_reserve(ST_EV_ACCEPT, tier);
	__u64 key = (__u64)newsk;
	struct st_sock_state *ss = sock_get(key);

	if (!e)
		return;
	e->new_state = fill_sock(e, newsk);
	if (ss && ss->queued_ns)
		e->latency_ns = e->time_ns - ss->queued_ns;
	ev_submit(e);
}

/* tcp_conn_request(): a SYN on a listener, before the queue checks. */
static __always_inline void conn_request(struct sock *sk, struct sk_buff *skb, __u8 tier)
{
	__u64 key = (__u64)sk;
	struct st_listener_state *ls = bpf_map_lookup_elem(&listeners, &key);
	struct skb_tcp t = {};
	struct st_event *e;
	__u32 backlog, max, synq;
	__u16 type;
	int cookies;

	if (!ls)
		return;
	backlog = BPF_CORE_READ(sk, sk_ack_backlog);
	max = BPF_CORE_READ(sk, sk_max_ack_backlog);
	synq = syn_queue_len(sk);
	cookies = syncookies_on(sk);
	/* the same tests, in the same order, as tcp_conn_request(): a full
	 * SYN queue drops the SYN unless cookies are on, then a full accept
	 * queue drops it (the only case counted as ListenOverflows) */
	if (synq >= max && tier_is(HOOK_SYN_QUEUE, tier)) {
		e = listener_event(ST_EV_SYN_QUEUE_FULL, tier, sk, ls);
		if (e) {
			e->count = !cookies;
			skb_parse_tcp(skb, &t);
			set_peer_from_skb(e, &t);
			e->queue_len = synq;
			e->queue_max = max;
			ev_submit(e);
		}
	}
	if (synq >= max && !cookies)
		return;
	if (backlog > max) {
		if (!tier_is(HOOK_ACCEPT_QUEUE, tier))
			return;
		type = ST_EV_ACCEPT_OVERFLOW;
	} else if (synq < max && tier_is(HOOK_SYN_QUEUE, tier)) {
		type = ST_EV_SYN_RECV;
	} else {
		return;
	}
	e = listener_event(type, tier, sk, ls);
	if (!e)
		return;
	if (type == ST_EV_ACCEPT_OVERFLOW) {
		e->count = 1;
	} else {
		e->queue_len = synq + 1;
		e->queue_max = max;
	}
	skb_parse_tcp(skb, &t);
	set_peer_from_skb(e, &t);
	ev_submit(e);
}

/* tcp_v{4,6}_syn_recv_sock() returned NULL: the final ACK was dropped. */
static __always_inline void syn_recv_sock_exit(struct sock *sk, struct request_sock *req,
					       struct sock *child, __u8 tier)
{
	__u64 key = (__u64)sk;
	struct st_listener_state *ls;
	struct st_event *e;

	if (child || !tier_is(HOOK_ACCEPT_QUEUE, tier))
		return;
	ls = bpf_map_lookup_elem(&listeners, &key);
	if (!ls || BPF_CORE_READ(sk, sk_ack_backlog) <= BPF_CORE_READ(sk, sk_max_ack_backlog))
		return;
	e = listener_event(ST_EV_ACCEPT_OVERFLOW, tier, sk, ls);
	if (!e)
		return;
	set_peer_from_req(e, req);
	e->count = 2;
	ev_submit(e);
}

/* inet_csk_complete_hashdance() returned the child it queued. */
static __always_inline void hashdance_exit(struct sock *sk, struct sock *child, int own_req,
					   struct sock *ret, __u8 tier)
{
	__u64 key = (__u64)sk;
	struct st_listener_state *ls;
	struct st_sock_state *ss;

	if (!ret || !own_req || !tier_is(HOOK_ACCEPT_QUEUE, tier))
		return;
	ls = bpf_map_lookup_elem(&listeners, &key);
	if (!ls)
		return;
	/* tp_set_state tracked it already, at its clone (a fresh entry) */
	ss = sock_track(child, -1, ST_SS_CHILD);
	if (ss) {
		ss->listener = key;
		ss->queued_ns = bpf_ktime_get_ns();
	}
	emit_child_queued(sk, ls, child, tier);
}

/* cookie_v{4,6}_check() returned: the listener itself when the ACK held no
 * SYN cookie, NULL when it was refused, else the child that a valid cookie
 * made, queued by tcp_get_cookie_sock() (no hashdance on that way: with the
 * SYN queue full, or tcp_syncookies=2, every child comes by it). */
static __always_inline void cookie_check_exit(struct sock *sk, struct sock *ret, __u8 tier)
{
	if (ret && ret != sk)
		hashdance_exit(sk, ret, 1, ret, tier);
}

static __always_inline void ep_poll_callback_enter(wait_queue_entry_t *wait, void *key,
						   __u8 tier)
{
	struct eppoll_entry *pwq = container_of(wait, struct eppoll_entry, wait);
	struct epitem *epi = BPF_CORE_READ(pwq, base);
	__u64 ep = (__u64)BPF_CORE_READ(epi, ep);
	__u32 pollflags = (__u32)(__u64)key, mask;
	struct st_epoll_state es;
	struct st_event *e;
	struct sock *sk;

	if (!epoll_find(ep, &es))
		return;
	mask = BPF_CORE_READ(epi, event.events);
	if (!(mask & ~EP_PRIVATE_BITS) || (pollflags && !(pollflags & mask)))
		return;
	e = ev_reserve(ST_EV_EP_WAKEUP, tier);
	if (!e)
		return;
	sk = file_sock(BPF_CORE_READ(epi, ffd.file));
	if (sk)
		fill_sock(e, sk);
	e->epfd = es.epfd;
	e->queue_max = es.gen;
	e->fd = BPF_CORE_READ(epi, ffd.fd);
	e->events = pollflags ? pollflags & mask : mask & ~EP_PRIVATE_BITS;
	ev_submit(e);
}

/* fentry/fexit */

SEC("fentry/tcp_v4_connect")
int BPF_PROG(fentry_tcp_v4_connect, struct sock *sk)
{
	if (!armed)
		return 0;
	connect_enter(sk);
	return 0;
}

SEC("fexit/tcp_v4_connect")
int BPF_PROG(fexit_tcp_v4_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len,
	     int ret)
{
	if (!armed)
		return 0;
	connect_exit(sk, ret, ST_TIER_FENTRY);
	return 0;
}

SEC("fentry/tcp_v6_connect")
int BPF_PROG(fentry_tcp_v6_connect, struct sock *sk)
{
	if (!armed)
		return 0;
	connect_enter(sk);
	return 0;
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(fexit_tcp_v6_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len,
	     int ret)
{
	if (!armed)
		return 0;
	connect_exit(sk, ret, ST_TIER_FENTRY);
	return 0;
}

/* Since 6.10: inet_csk_accept(sk, struct proto_accept_arg *arg). */
SEC("fexit/inet_csk_accept")
int BPF_PROG(fexit_inet_csk_accept, struct sock *sk, struct proto_accept_arg *arg,
	     struct sock *newsk)
{
	if (!armed)
		return 0;
	if (inet_csk_accept_has_arg_struct())
		accept_exit(newsk, ST_TIER_FENTRY);
	return 0;
}

/* Before 6.10: inet_csk_accept(sk, int flags, int *err, bool kern). */
SEC("fexit/inet_csk_accept")
int BPF_PROG(fexit_inet_csk_accept_old, struct sock *sk, int flags, int *err, bool kern,
	     struct sock *newsk)
{
	if (!armed)
		return 0;
	if (!inet_csk_accept_has_arg_struct())
		accept_exit(newsk, ST_TIER_FENTRY);
	return 0;
}

SEC("fentry/tcp_conn_request")
int BPF_PROG(fentry_tcp_conn_request, struct request_sock_ops *rsk_ops,
	     const struct tcp_request_sock_ops *af_ops, struct sock *sk, struct sk_buff *skb)
{
	if (!armed)
		return 0;
	conn_request(sk, skb, ST_TIER_FENTRY);
	return 0;
}

/*
 * tcp_v{4,6}_syn_recv_sock() gained a seventh argument in later kernels
 * (6.12 Debian: a child-init callback), which moves the return value in the
 * fexit context; bpf_get_func_ret() finds it under either prototype.
 */
SEC("fexit/tcp_v4_syn_recv_sock")
int fexit_tcp_v4_syn_recv_sock(__u64 *ctx)
{
	__u64 ret = 0;

	if (!armed)
		return 0;
	bpf_get_func_ret(ctx, &ret);
	syn_recv_sock_exit((struct sock *)ctx[0], (struct request_sock *)ctx[2],
			   (struct sock *)ret, ST_TIER_FENTRY);
	return 0;
}

SEC("fexit/tcp_v6_syn_recv_sock")
int fexit_tcp_v6_syn_recv_sock(__u64 *ctx)
{
	if (!armed)
		return 0;
	struct sk_buff *skb = (struct sk_buff *)ctx[1];
	__u64 ret = 0;

	/* an IPv4 packet on a v6 listener went through the v4 function */
	if (BPF_CORE_READ(skb, protocol) == bpf_htons(ETH_P_IP))
		return 0;
	bpf_get_func_ret(ctx, &ret);
	syn_recv_sock_exit((struct sock *)ctx[0], (struct request_sock *)ctx[2],
			   (struct sock *)ret, ST_TIER_FENTRY);
	return 0;
}

SEC("fexit/inet_csk_complete_hashdance")
int BPF_PROG(fexit_inet_csk_complete_hashdance, struct sock *sk, struct sock *child,
	     struct request_sock *req, bool own_req, struct sock *ret)
{
	if (!armed)
		return 0;
	hashdance_exit(sk, child, own_req, ret, ST_TIER_FENTRY);
	return 0;
}

SEC("fexit/cookie_v4_check")
int BPF_PROG(fexit_cookie_v4_check, struct sock *sk, struct sk_buff *skb, struct sock *ret)
{
	if (!armed)
		return 0;
	cookie_check_exit(sk, ret, ST_TIER_FENTRY);
	return 0;
}

SEC("fexit/cookie_v6_check")
int BPF_PROG(fexit_cookie_v6_check, struct sock *sk, struct sk_buff *skb, struct sock *ret)
{
	if (!armed)
		return 0;
	cookie_check_exit(sk, ret, ST_TIER_FENTRY);
	return 0;
}

SEC("fentry/ep_poll_callback")
int BPF_PROG(fentry_ep_poll_callback, wait_queue_entry_t *wait, unsigned int mode, int sync,
	     void *key)
{
	if (!armed)
		return 0;
	ep_poll_callback_enter(wait, key, ST_TIER_FENTRY);
	return 0;
}

/* kprobe/kretprobe */

static __always_inline void kp_task_save(__u64 a0, __u64 a1, __u64 a2)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kp_args a = { a0, a1, a2 };

	bpf_map_update_elem(&kp_task_args, &tid, &a, BPF_ANY);
}

static __always_inline int kp_task_take(struct kp_args *out)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kp_args *a = bpf_map_lookup_elem(&kp_task_args, &tid);

	if (!a)
		return -1;
	*out = *a;
	bpf_map_delete_elem(&kp_task_args, &tid);
	return 0;
}

static __always_inline void kp_cpu_save(__u32 slot, __u64 a0, __u64 a1, __u64 a2)
{
	struct kp_args *a = bpf_map_lookup_elem(&kp_cpu_args, &slot);

	if (a) {
		a->a0 = a0;
		a->a1 = a1;
		a->a2 = a2;
	}
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_tcp_v4_connect, struct sock *sk)
{
	if (!armed)
		return 0;
	if (is_target()) {
		connect_enter(sk);
		kp_task_save((__u64)sk, 0, 0);
	}
	return 0;
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(kretprobe_tcp_v4_connect, int ret)
{
	struct kp_args a;

	if (!armed)
		return 0;
	if (is_target() && !kp_task_take(&a))
		connect_exit((struct sock *)a.a0, ret, ST_TIER_KPROBE);
	return 0;
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kprobe_tcp_v6_connect, struct sock *sk)
{
	if (!armed)
		return 0;
	if (is_target()) {
		connect_enter(sk);
		kp_task_save((__u64)sk, 0, 0);
	}
	return 0;
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(kretprobe_tcp_v6_connect, int ret)
{
	struct kp_args a;

	if (!armed)
		return 0;
	if (is_target() && !kp_task_take(&a))
		connect_exit((struct sock *)a.a0, ret, ST_TIER_KPROBE);
	return 0;
}

/* The return value is the child under both prototypes. */
SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(kretprobe_inet_csk_accept, struct sock *newsk)
{
	if (!armed)
		return 0;
	accept_exit(newsk, ST_TIER_KPROBE);
	return 0;
}

SEC("kprobe/tcp_conn_request")
int BPF_KPROBE(kprobe_tcp_conn_request, struct request_sock_ops *rsk_ops,
	       const struct tcp_request_sock_ops *af_ops, struct sock *sk, struct sk_buff *skb)
{
	if (!armed)
		return 0;
	conn_request(sk, skb, ST_TIER_KPROBE);
	return 0;
}

SEC("kprobe/tcp_v4_syn_recv_sock")
int BPF_KPROBE(kprobe_tcp_v4_syn_recv_sock, struct sock *sk, struct sk_buff *skb,
	       struct request_sock *req)
{
	if (!armed)
		return 0;
	kp_cpu_save(KP_CPU_SYN_RECV_SOCK, (__u64)sk, (__u64)req, 0);
	return 0;
}

SEC("kretprobe/tcp_v4_syn_recv_sock")
int BPF_KRETPROBE(kretprobe_tcp_v4_syn_recv_sock, struct sock *ret)
{
	__u32 slot = KP_CPU_SYN_RECV_SOCK;
	struct kp_args *a;

	if (!armed)
		return 0;
	a = bpf_map_lookup_elem(&kp_cpu_args, &slot);
	if (a && a->a0) {
		syn_recv_sock_exit((struct sock *)a->a0, (struct request_sock *)a->a1, ret,
				   ST_TIER_KPROBE);
		a->a0 = 0;
	}
	return 0;
}

SEC("kprobe/tcp_v6_syn_recv_sock")
int BPF_KPROBE(kprobe_tcp_v6_syn_recv_sock, struct sock *sk, struct sk_buff *skb,
	       struct request_sock *req)
{
	if (!armed)
		return 0;
	/* an IPv4 packet on a v6 listener goes through the v4 function,
	 * which then owns the slot */
	if (BPF_CORE_READ(skb, protocol) != bpf_htons(ETH_P_IP))
		kp_cpu_save(KP_CPU_SYN_RECV_SOCK, (__u64)sk, (__u64)req, 0);
	return 0;
}

SEC("kretprobe/tcp_v6_syn_recv_sock")
int BPF_KRETPROBE(kretprobe_tcp_v6_syn_recv_sock, struct sock *ret)
{
	__u32 slot = KP_CPU_SYN_RECV_SOCK;
	struct kp_args *a;

	if (!armed)
		return 0;
	a = bpf_map_lookup_elem(&kp_cpu_args, &slot);
	if (a && a->a0) {
		syn_recv_sock_exit((struct sock *)a->a0, (struct request_sock *)a->a1, ret,
				   ST_TIER_KPROBE);
		a->a0 = 0;
	}
	return 0;
}

SEC("kprobe/inet_csk_complete_hashdance")
int BPF_KPROBE(kprobe_inet_csk_complete_hashdance, struct sock *sk, struct sock *child,
	       struct request_sock *req, bool own_req)
{
	if (!armed)
		return 0;
	kp_cpu_save(KP_CPU_HASHDANCE, (__u64)sk, (__u64)child, own_req);
	return 0;
}

SEC("kretprobe/inet_csk_complete_hashdance")
int BPF_KRETPROBE(kretprobe_inet_csk_complete_hashdance, struct sock *ret)
{
	__u32 slot = KP_CPU_HASHDANCE;
	struct kp_args *a;

	if (!armed)
		return 0;
	a = bpf_map_lookup_elem(&kp_cpu_args, &slot);
	if (a && a->a0) {
		hashdance_exit((struct sock *)a->a0, (struct sock *)a->a1, a->a2, ret,
			       ST_TIER_KPROBE);
		a->a0 = 0;
	}
	return 0;
}

/* one slot for both: an IPv4 packet on a v6 listener goes through
 * cookie_v4_check() alone */
SEC("kprobe/cookie_v4_check")
int BPF_KPROBE(kprobe_cookie_v4_check, struct sock *sk)
{
	if (!armed)
		return 0;
	kp_cpu_save(KP_CPU_COOKIE, (__u64)sk, 0, 0);
	return 0;
}

SEC("kprobe/cookie_v6_check")
int BPF_KPROBE(kprobe_cookie_v6_check, struct sock *sk)
{
	if (!armed)
		return 0;
	kp_cpu_save(KP_CPU_COOKIE, (__u64)sk, 0, 0);
	return 0;
}

static __always_inline void kretprobe_cookie(struct sock *ret)
{
	__u32 slot = KP_CPU_COOKIE;
	struct kp_args *a;

	if (!armed)
		return;
	a = bpf_map_lookup_elem(&kp_cpu_args, &slot);
	if (a && a->a0) {
		cookie_check_exit((struct sock *)a->a0, ret, ST_TIER_KPROBE);
		a->a0 = 0;
	}
}

SEC("kretprobe/cookie_v4_check")
int BPF_KRETPROBE(kretprobe_cookie_v4_check, struct sock *ret)
{
	kretprobe_cookie(ret);
	return 0;
}

SEC("kretprobe/cookie_v6_check")
int BPF_KRETPROBE(kretprobe_cookie_v6_check, struct sock *ret)
{
	kretprobe_cookie(ret);
	return 0;
}

SEC("kprobe/ep_poll_callback")
int BPF_KPROBE(kprobe_ep_poll_callback, wait_queue_entry_t *wait, unsigned int mode, int sync,
	       void *key)
{
	if (!armed)
		return 0;
	ep_poll_callback_enter(wait, key, ST_TIER_KPROBE);
	return 0;
}
