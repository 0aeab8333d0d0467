// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The event engine's loader: probes which tier each hook can have on this
 * kernel, switches off every program of the other tiers, loads and attaches
 * bpf/events.bpf.c, seeds socket and epoll ownership from a snapshot and
 * drains the ring buffer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/membarrier.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "event_order.h"
#include "events.h"
#include "events.skel.h"
#include "format.h"
#include "snapshot.h"
#include "sock_fds.h"
#include "syscall_tp.h"
#include "util.h"

#define KPROBE_PMU "/sys/bus/event_source/devices/kprobe"
#define MAX_FUNCS 4
/* the syscalls' functions, as bpf/events.bpf.c's SYS_FN names them */
#if defined(__aarch64__)
#define SYS_FN "__arm64_sys_"
#else
#define SYS_FN "__x64_sys_"
#endif
#define MAX_TPS 3

/* A hook's programs per tier: the functions its fentry/kprobe variants
 * attach to (the first n_required must all work), the tracepoints its
 * tracepoint variant needs. */
struct hook_def {
	const char *name;
	const char *funcs[MAX_FUNCS];
	int n_required;
	const char *tps[MAX_TPS];
};

static const struct hook_def hook_defs[ST_HOOK_COUNT] = {
	[ST_HOOK_CONNECT] = { "tcp_v4_connect/tcp_v6_connect",
			      { "tcp_v4_connect", "tcp_v6_connect" }, 1,
			      { "inet_sock_set_state", "sys_exit" } },
	[ST_HOOK_ACCEPT] = { "inet_csk_accept", { "inet_csk_accept" }, 1, { "sys_exit" } },
	[ST_HOOK_SYN_QUEUE] = { "syn_queue (tcp_conn_request)", { "tcp_conn_request" }, 1,
				{ "consume_skb", "tcp_retransmit_synack" } },
	/* the final-ACK drop (tcp_v*_syn_recv_sock) is optional: 6.1 refuses
	 * fentry there, and the skb hooks can tell it instead */
	[ST_HOOK_ACCEPT_QUEUE] = { "accept_queue (inet_csk_complete_hashdance)",
				   { "tcp_conn_request", "inet_csk_complete_hashdance",
				     "tcp_v4_syn_recv_sock", "tcp_v6_syn_recv_sock" }, 2,
				   { "inet_sock_set_state", "consume_skb", "kfree_skb" } },
	[ST_HOOK_EPOLL] = { "ep_poll_callback", { "ep_poll_callback" }, 1,
			    { "sk_data_ready", "sys_exit" } },
	[ST_HOOK_STATE] = { "state/close (inet_sock_set_state)", { NULL }, 0,
			    { "inet_sock_set_state" } },
};

/* Every program of the skeleton: its tier, the hooks it serves, and the
 * kernel function (or tracepoint) it needs. */
enum { VARIANT_ANY, VARIANT_ACCEPT_ARG, VARIANT_ACCEPT_OLD, VARIANT_SKB_SITE, VARIANT_SKB_ANY };

struct prog_def {
	const char *prog;
	enum st_tier tier;
	unsigned int hooks; /* bit per enum st_hook; 0: always (plumbing) */
	const char *target; /* function, or tracepoint for the tracepoint tier */
	int variant;
};

#define H(x) (1u << ST_HOOK_##x)
static const struct prog_def prog_defs[] = {
	{ "tp_sys_exit", ST_TIER_TRACEPOINT, 0, "sys_exit" },
	{ "tp_syscall_exit", ST_TIER_TRACEPOINT, 0, "sys_exit" },
	{ "tp_set_state", ST_TIER_TRACEPOINT, 0, "inet_sock_set_state" },
	{ "tp_set_state_again", ST_TIER_TRACEPOINT, 0, "inet_sock_set_state" },
	{ "tp_synack_retrans", ST_TIER_TRACEPOINT, 0, "tcp_retransmit_synack" },
	{ "tp_consume_skb", ST_TIER_TRACEPOINT, H(SYN_QUEUE) | H(ACCEPT_QUEUE), "consume_skb",
	  VARIANT_SKB_ANY },
	{ "tp_consume_skb_at", ST_TIER_TRACEPOINT, H(SYN_QUEUE) | H(ACCEPT_QUEUE), "consume_skb",
	  VARIANT_SKB_SITE },
	{ "tp_kfree_skb", ST_TIER_TRACEPOINT, H(SYN_QUEUE) | H(ACCEPT_QUEUE), "kfree_skb" },
	{ "tp_sk_data_ready", ST_TIER_TRACEPOINT, H(EPOLL), "sk_data_ready" },

	{ "fentry_tcp_v4_connect", ST_TIER_FENTRY, H(CONNECT), "tcp_v4_connect" },
	{ "fexit_tcp_v4_connect", ST_TIER_FENTRY, H(CONNECT), "tcp_v4_connect" },
	{ "fentry_tcp_v6_connect", ST_TIER_FENTRY, H(CONNECT), "tcp_v6_connect" },
	{ "fexit_tcp_v6_connect", ST_TIER_FENTRY, H(CONNECT), "tcp_v6_connect" },
	{ "fexit_inet_csk_accept", ST_TIER_FENTRY, H(ACCEPT), "inet_csk_accept",
	  VARIANT_ACCEPT_ARG },
	{ "fexit_inet_csk_accept_old", ST_TIER_FENTRY, H(ACCEPT), "inet_csk_accept",
	  VARIANT_ACCEPT_OLD },
	{ "fentry_tcp_conn_request", ST_TIER_FENTRY, H(SYN_QUEUE) | H(ACCEPT_QUEUE),
	  "tcp_conn_request" },
	{ "fexit_tcp_v4_syn_recv_sock", ST_TIER_FENTRY, H(ACCEPT_QUEUE), "tcp_v4_syn_recv_sock" },
	{ "fexit_tcp_v6_syn_recv_sock", ST_TIER_FENTRY, H(ACCEPT_QUEUE), "tcp_v6_syn_recv_sock" },
	{ "fexit_inet_csk_complete_hashdance", ST_TIER_FENTRY, H(ACCEPT_QUEUE),
	  "inet_csk_complete_hashdance" },
	/* children made from SYN cookies; off without CONFIG_SYN_COOKIES */
	{ "fexit_cookie_v4_check", ST_TIER_FENTRY, H(ACCEPT_QUEUE), "cookie_v4_check" },
	{ "fexit_cookie_v6_check", ST_TIER_FENTRY, H(ACCEPT_QUEUE), "cookie_v6_check" },
	{ "fentry_ep_poll_callback", ST_TIER_FENTRY, H(EPOLL), "ep_poll_callback" },

	{ "kprobe_tcp_v4_connect", ST_TIER_KPROBE, H(CONNECT), "tcp_v4_connect" },
	{ "kretprobe_tcp_v4_connect", ST_TIER_KPROBE, H(CONNECT), "tcp_v4_connect" },
	{ "kprobe_tcp_v6_connect", ST_TIER_KPROBE, H(CONNECT), "tcp_v6_connect" },
	{ "kretprobe_tcp_v6_connect", ST_TIER_KPROBE, H(CONNECT), "tcp_v6_connect" },
	{ "kretprobe_inet_csk_accept", ST_TIER_KPROBE, H(ACCEPT), "inet_csk_accept" },
	{ "kprobe_tcp_conn_request", ST_TIER_KPROBE, H(SYN_QUEUE) | H(ACCEPT_QUEUE),
	  "tcp_conn_request" },
	{ "kprobe_tcp_v4_syn_recv_sock", ST_TIER_KPROBE, H(ACCEPT_QUEUE), "tcp_v4_syn_recv_sock" },
	{ "kretprobe_tcp_v4_syn_recv_sock", ST_TIER_KPROBE, H(ACCEPT_QUEUE),
	  "tcp_v4_syn_recv_sock" },
	{ "kprobe_tcp_v6_syn_recv_sock", ST_TIER_KPROBE, H(ACCEPT_QUEUE), "tcp_v6_syn_recv_sock" },
	{ "kretprobe_tcp_v6_syn_recv_sock", ST_TIER_KPROBE, H(ACCEPT_QUEUE),
	  "tcp_v6_syn_recv_sock" },
	{ "kprobe_inet_csk_complete_hashdance", ST_TIER_KPROBE, H(ACCEPT_QUEUE),
	  "inet_csk_complete_hashdance" },
	{ "kretprobe_inet_csk_complete_hashdance", ST_TIER_KPROBE, H(ACCEPT_QUEUE),
	  "inet_csk_complete_hashdance" },
	{ "kprobe_cookie_v4_check", ST_TIER_KPROBE, H(ACCEPT_QUEUE), "cookie_v4_check" },
	{ "kretprobe_cookie_v4_check", ST_TIER_KPROBE, H(ACCEPT_QUEUE), "cookie_v4_check" },
	{ "kprobe_cookie_v6_check", ST_TIER_KPROBE, H(ACCEPT_QUEUE), "cookie_v6_check" },
	{ "kretprobe_cookie_v6_check", ST_TIER_KPROBE, H(ACCEPT_QUEUE), "cookie_v6_check" },
	{ "kprobe_ep_poll_callback", ST_TIER_KPROBE, H(EPOLL), "ep_poll_callback" },

	/* syscall exits on fentry kernels (see exit_way()) */
	{ "fexit_sys_connect", ST_TIER_FENTRY, 0, SYS_FN "connect" },
	{ "fexit_sys_accept", ST_TIER_FENTRY, 0, SYS_FN "accept" },
	{ "fexit_sys_accept4", ST_TIER_FENTRY, 0, SYS_FN "accept4" },
	{ "fexit_sys_epoll_wait", ST_TIER_FENTRY, 0, SYS_FN "epoll_wait" },
	{ "fexit_sys_epoll_pwait", ST_TIER_FENTRY, 0, SYS_FN "epoll_pwait" },
	{ "fexit_sys_epoll_pwait2", ST_TIER_FENTRY, 0, SYS_FN "epoll_pwait2" },
	{ "fexit_sys_epoll_create", ST_TIER_FENTRY, 0, SYS_FN "epoll_create" },
	{ "fexit_sys_epoll_create1", ST_TIER_FENTRY, 0, SYS_FN "epoll_create1" },
};
#undef H
#define N_PROGS (sizeof(prog_defs) / sizeof(prog_defs[0]))

/* The syscalls whose exits tp_syscall_exit takes, each on its own
 * tracepoint (those tp_sys_exit lets through; a kernel may lack some:
 * arm64 has no epoll_wait), and the fexit_sys_* programs of prog_defs, on
 * the syscalls' functions of the same names (SYS_FN). */
static const char *const exit_syscalls[] = { "connect",	    "accept",	   "accept4",
					      "epoll_wait",  "epoll_pwait", "epoll_pwait2",
					      "epoll_create", "epoll_create1" };
#define N_EXIT_SYSCALLS (sizeof(exit_syscalls) / sizeof(exit_syscalls[0]))

/* Is prog one of the fexit_sys_* programs (syscall exits, no hook's)? */
static int is_fexit_sys(const char *prog)
{
	return !strncmp(prog, "fexit_sys_", 10);
}

/*
 * The children queued on one listener port, in the order their child_queued
 * events came (a ring), each with its time, until its accept: the accept
 * queue is a FIFO, so an accept finds its child at the front or a few
 * places in (two CPUs queueing at once may swap neighbours). Read in order:
 * a hash of the same sockets (13,000 at once in the churn benchmark) missed
 * the cache at every lookup and cost socktrace a third more CPU.
 */
struct child_queued_at {
	uint64_t sk; /* 0: accepted */
	uint64_t ns;
};

struct child_fifo {
	uint16_t port;
	size_t head, n, cap; /* cap: a power of two */
	struct child_queued_at *q;
};

#define CHILD_FIFOS 64
/* how far into a fifo an accept looks */
#define CHILD_FIFO_WINDOW 64
/* children kept per port at most (the oldest make way) */
#define CHILD_FIFO_MAX (1u << 20)

struct event_source {
	struct events_bpf *skel;
	struct ring_buffer *rb;
	uint32_t pid;
	char comm[ST_COMM_LEN];
	struct st_hook_status hooks[ST_HOOK_COUNT];
	uint64_t delivered;
	uint64_t lost;    /* ring full */
	uint64_t skipped; /* hook runs the kernel skipped (see read_skipped()) */
	uint64_t unwritten; /* staged in BPF, never written out (see st_stage) */
	uint64_t walks_cut; /* wake-up walks stopped at their bound (ep_walks_cut) */
	uint64_t released; /* every event up to this time was handed on */
	uint64_t late;     /* events read after their time was handed on */
	int test_no_hold;  /* test hook: hand on all read, stages or not */
	uint64_t skipped_read_ns;
	uint64_t skipped_base; /* skipped before the programs were armed */
	int prog_fds[N_PROGS];
	int n_prog_fds;
	int state_first_fd;
	uint32_t type_mask;
	int ncpus;
	uint64_t *lost_percpu;
	uint64_t *oldest_percpu;
	/* read from the ring, not delivered yet: the BPF side stages events
	 * per CPU, so the ring is not in time order */
	struct event_order pending;
	/* a listener's children the BPF side follows by their port (no entry
	 * there): their fds, from their accept to their close (when they
	 * were queued, from child_queued to their accept: fifos) */
	struct accepted_fds accepted;
	/* per epoll fd (key fd + 1), the first wake-up since its last
	 * epoll_wait return (in queued_ns), of the instance gen */
	struct sock_fds first_wakeup;
	struct child_fifo fifos[CHILD_FIFOS];
	int n_fifos;
	/* tp_syscall_exit's, one per syscall (see exit_syscalls) */
	struct bpf_link *exit_links[N_EXIT_SYSCALLS];
	/* fexit_sys_* take the exits, a tracepoint still those of the calls
	 * in progress at attach, of these threads (see exit_handover in
	 * bpf/events.bpf.c) */
	int handover;
	/* the filter needs no syscall exit: no program for them loaded */
	int no_exits;
	int handover_for_good; /* the scan did not finish: no end to it */
	struct handover_thread *handover_tids;
	size_t n_handover;
	uint64_t handover_checked_ns;
	/* valid during one poll */
	st_event_fn fn;
	void *fn_ctx;
	int polled;
};

/* A thread of the target's in a syscall at attach, or running (then only
 * until `until`, see handover_scan()) */
struct handover_thread {
	uint32_t tid;
	uint64_t until; /* 0: until its exit is seen */
};

/* The types the BPF side emits for a user's filter: sock_note() needs a
 * child's accept, child_queued and close to fill in its other events. */
static uint32_t bpf_type_mask(uint32_t type_mask)
{
	uint32_t socks = 1u << ST_EV_STATE | 1u << ST_EV_CLOSE | 1u << ST_EV_ACCEPT;

	if (type_mask & socks)
		type_mask |= socks | 1u << ST_EV_CHILD_QUEUED;
	if (type_mask & 1u << ST_EV_EPOLL_WAIT_DONE)
		type_mask |= 1u << ST_EV_EP_WAKEUP;
	return type_mask;
}

/*
 * The types whose events, or whose sockets' following, take something from
 * a syscall's exit: an accept's fd and its child, a connect's return, an
 * epoll_wait's count, a new epoll instance (the wake-ups it is woken for),
 * and the states and close of the sockets those follow. A filter with none
 * of them (the listeners' queue events alone: syn_recv, synack_retrans,
 * syn_queue_full, child_queued, accept_overflow) loads no syscall exit
 * program: on a kernel without trampolines that is no syscall tracepoint,
 * and no slow path for every syscall of every task.
 */
#define EXIT_TYPES                                                                     \
	(1u << ST_EV_CONNECT | 1u << ST_EV_CONNECT_DONE | 1u << ST_EV_ACCEPT |           \
	 1u << ST_EV_EP_WAKEUP | 1u << ST_EV_EPOLL_WAIT_DONE | 1u << ST_EV_STATE |       \
	 1u << ST_EV_CLOSE)

static int needs_exits(uint32_t type_mask)
{
	return (bpf_type_mask(type_mask) & EXIT_TYPES) != 0;
}

/* ---- probing ---- */

/* What this kernel allows, found once per process. */
struct probe_cache {
	int ready;
	struct btf *vmlinux;
	char vmlinux_err[96];
	int kprobe_pmu_type; /* -errno when none */
	struct {
		const char *func;
		int fentry_err, kprobe_err; /* 0 ok, -errno, 1 untried */
		char fentry_why[96], kprobe_why[96];
	} funcs[20];
	int n_funcs;
	/* syscalls:sys_exit_* (per exit_syscalls), or why not: the count
	 * found, or -errno (1: not looked up yet) */
	int exit_tp_ids[N_EXIT_SYSCALLS];
	int exit_tps;
	char exit_tps_why[96];
	/* an fexit_sys_* program failed to load or attach (see open_skel's
	 * caller): the tracepoints take syscall exits */
	char fexit_exits_failed[128];
	/* where SYNs are consumed (see consume_site()); 1: not looked up */
	int consume_site;
	uint64_t consume_lo, consume_end;
};

static struct probe_cache cache = { .exit_tps = 1, .consume_site = 1 };

/*
 * Can syscall exits be taken per syscall (tp_syscall_exit), with these
 * hook tiers? Not beside a kprobe: kprobe programs and those of perf's
 * tracepoints share one per-CPU guard (bpf_prog_active), so a kprobe in a
 * softirq that interrupts the exit's program would be skipped, an event
 * lost. tp_btf and fentry programs each have their own.
 */
static int exit_tps_usable(const struct st_hook_status *hooks, const char **why)
{
	if (cache.exit_tps == 1)
		cache.exit_tps = syscall_exit_tp_ids(exit_syscalls, N_EXIT_SYSCALLS,
						     cache.exit_tp_ids, cache.exit_tps_why,
						     sizeof(cache.exit_tps_why));
	*why = "";
	if (cache.exit_tps <= 0) {
		*why = cache.exit_tps_why;
		return 0;
	}
	for (int h = 0; h < ST_HOOK_COUNT; h++) {
		if (hooks[h].tier == ST_TIER_KPROBE) {
			*why = "a hook is on kprobes (a kprobe interrupting a syscall tracepoint's program would be skipped)";
			return 0;
		}
	}
	return 1;
}

static int func_probe(const char *func, enum st_tier tier, const char **why);

/*
 * Can syscall exits be taken by fexit programs on the syscalls' functions
 * (fexit_sys_*)? When every hook with a function variant is on fentry (a
 * kernel with kprobes or tracepoints only, or a tier forced, goes without:
 * --mode tracepoint is this project's test machine's way), and each of
 * those functions this kernel has takes one. SOCKTRACE_SYSCALL_EXITS=
 * tracepoint (a test and benchmark hook) keeps to the tracepoints.
 */
static int exit_fexit_usable(const struct st_hook_status *hooks, const char **why)
{
	static char buf[160];
	const char *env = getenv("SOCKTRACE_SYSCALL_EXITS"), *r;
	int found = 0, err;

	*why = buf;
	if (cache.fexit_exits_failed[0]) {
		*why = cache.fexit_exits_failed;
		return 0;
	}
	if (env && !strcmp(env, "tracepoint")) {
		snprintf(buf, sizeof(buf), "not fexit: SOCKTRACE_SYSCALL_EXITS=tracepoint");
		return 0;
	}
	for (int h = 0; h < ST_HOOK_COUNT; h++) {
		if (hook_defs[h].n_required && hooks[h].tier != ST_TIER_FENTRY &&
		    hooks[h].tier != ST_TIER_NONE) {
			snprintf(buf, sizeof(buf), "not fexit: the %s hook is on %s",
				 hook_defs[h].name, st_tier_name(hooks[h].tier));
			return 0;
		}
		found |= hooks[h].tier == ST_TIER_FENTRY;
	}
	if (!found) {
		snprintf(buf, sizeof(buf), "not fexit: no hook is on fentry");
		return 0;
	}
	found = 0;
	for (size_t i = 0; i < N_PROGS; i++) {
		if (!is_fexit_sys(prog_defs[i].prog))
			continue;
		err = func_probe(prog_defs[i].target, ST_TIER_FENTRY, &r);
		/* not in kernel BTF: a syscall this arch or kernel lacks */
		if (err == -ENOENT && (!cache.vmlinux || btf__find_by_name_kind(cache.vmlinux,
								prog_defs[i].target, BTF_KIND_FUNC) < 0))
			continue;
		if (err) {
			snprintf(buf, sizeof(buf), "not fexit: %s", r);
			return 0;
		}
		found++;
	}
	if (!found) {
		snprintf(buf, sizeof(buf), "not fexit: no %s* function in kernel BTF", SYS_FN);
		return 0;
	}
	buf[0] = 0;
	return 1;
}

/* EXIT_NONE: none taken, a filter needing none (open_skel() only) */
enum exit_way { EXIT_RAW, EXIT_PER_SYSCALL, EXIT_FEXIT, EXIT_NONE };

/* How syscall exits are taken with these hook tiers; why not a better way. */
static enum exit_way exit_way(const struct st_hook_status *hooks, const char **why)
{
	const char *why_fexit;

	if (exit_fexit_usable(hooks, &why_fexit)) {
		*why = "";
		return EXIT_FEXIT;
	}
	if (exit_tps_usable(hooks, why)) {
		*why = why_fexit;
		return EXIT_PER_SYSCALL;
	}
	return EXIT_RAW;
}

const char *event_source__syscall_exits(const struct st_hook_status *hooks, const char **why)
{
	switch (exit_way(hooks, why)) {
	case EXIT_FEXIT: return "fexit " SYS_FN "*";
	case EXIT_PER_SYSCALL: return "syscalls:sys_exit_*";
	default: return "raw sys_exit";
	}
}

static void probe_init(void)
{
	char buf[32] = {};
	int fd, err;

	if (cache.ready)
		return;
	cache.ready = 1;
	cache.vmlinux = btf__load_vmlinux_btf();
	err = libbpf_get_error(cache.vmlinux);
	if (err) {
		cache.vmlinux = NULL;
		snprintf(cache.vmlinux_err, sizeof(cache.vmlinux_err),
			 "no kernel BTF (%s)", strerror(-err));
	}
	fd = open(KPROBE_PMU "/type", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cache.kprobe_pmu_type = -errno;
		return;
	}
	cache.kprobe_pmu_type = read(fd, buf, sizeof(buf) - 1) > 0 ? atoi(buf) : -EINVAL;
	close(fd);
}

static const char *errno_name(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case ENOTSUP: return "ENOTSUP";
	case ENOSYS: return "ENOSYS";
	case EBUSY: return "EBUSY";
	case E2BIG: return "E2BIG";
	case ESRCH: return "ESRCH";
	case 524: return "ENOTSUPP (not traceable)";
	default: return strerror(err);
	}
}

static const struct bpf_insn ret0_insns[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

/* libbpf-tools' fentry_can_attach(), plus the attach: load a two-instruction
 * fentry program on func and attach it. */
static int try_fentry(const char *func, char *why, size_t len)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	int id, prog_fd, link_fd, err;

	if (!cache.vmlinux) {
		snprintf(why, len, "%s", cache.vmlinux_err);
		return -ENOENT;
	}
	id = btf__find_by_name_kind(cache.vmlinux, func, BTF_KIND_FUNC);
	if (id < 0) {
		snprintf(why, len, "%s not in kernel BTF", func);
		return -ENOENT;
	}
	opts.attach_btf_id = id;
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "st_probe", "GPL", ret0_insns, 2, &opts);
	if (prog_fd < 0) {
		err = -errno;
		snprintf(why, len, "load failed: %s%s", errno_name(-err),
			 err == -EPERM ? " (kernel lockdown?)" : "");
		return err;
	}
	link_fd = bpf_raw_tracepoint_open(NULL, prog_fd);
	if (link_fd < 0) {
		err = -errno;
		snprintf(why, len, "attach to %s failed: %s%s", func, errno_name(-err),
			 err == -EPERM ? " (kernel lockdown?)" : "");
		close(prog_fd);
		return err;
	}
	close(link_fd);
	close(prog_fd);
	return 0;
}

/* A real kprobe on func through the kprobe PMU, with a trivial program. */
static int try_kprobe(const char *func, char *why, size_t len)
{
	struct perf_event_attr attr = {};
	int prog_fd, pfd, err;

	if (cache.kprobe_pmu_type < 0) {
		snprintf(why, len, "no kprobes (CONFIG_KPROBES off: %s missing)", KPROBE_PMU);
		return cache.kprobe_pmu_type;
	}
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "st_probe", "GPL", ret0_insns, 2, NULL);
	if (prog_fd < 0) {
		err = -errno;
		snprintf(why, len, "load failed: %s", errno_name(-err));
		return err;
	}
	attr.size = sizeof(attr);
	attr.type = cache.kprobe_pmu_type;
	attr.config1 = (uint64_t)(uintptr_t)func;
	pfd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0) {
		err = -errno;
		snprintf(why, len, "attach failed on %s: %s%s", func, errno_name(-err),
			 err == -ENOENT || err == -EINVAL ? " (not a probeable symbol)" : "");
		close(prog_fd);
		return err;
	}
	err = ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog_fd) ? -errno : 0;
	if (err)
		snprintf(why, len, "attach failed: %s", errno_name(-err));
	close(pfd);
	close(prog_fd);
	return err;
}

/* 0 when func can carry a program of tier (fentry or kprobe), else -errno
 * with the reason in *why. Cached per function. */
static int func_probe(const char *func, enum st_tier tier, const char **why)
{
	int i;

	for (i = 0; i < cache.n_funcs; i++)
		if (!strcmp(cache.funcs[i].func, func))
			break;
	if (i == cache.n_funcs) {
		if (i == (int)(sizeof(cache.funcs) / sizeof(cache.funcs[0])))
			return -E2BIG;
		cache.n_funcs++;
		cache.funcs[i].func = func;
		cache.funcs[i].fentry_err = cache.funcs[i].kprobe_err = 1;
	}
	if (tier == ST_TIER_FENTRY) {
		if (cache.funcs[i].fentry_err == 1)
			cache.funcs[i].fentry_err = try_fentry(func, cache.funcs[i].fentry_why,
							       sizeof(cache.funcs[i].fentry_why));
		*why = cache.funcs[i].fentry_why;
		return cache.funcs[i].fentry_err;
	}
	if (cache.funcs[i].kprobe_err == 1)
		cache.funcs[i].kprobe_err = try_kprobe(func, cache.funcs[i].kprobe_why,
						       sizeof(cache.funcs[i].kprobe_why));
	*why = cache.funcs[i].kprobe_why;
	return cache.funcs[i].kprobe_err;
}

static int tracepoint_exists(const char *tp)
{
	char name[128];

	if (!cache.vmlinux)
		return 0;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf__find_by_name_kind(cache.vmlinux, name, BTF_KIND_TYPEDEF) >= 0;
}

/* Can hook h take tier? 0 or -errno, with why filled. */
static int hook_can(int h, enum st_tier tier, char *why, size_t len)
{
	const struct hook_def *d = &hook_defs[h];
	const char *r;
	int i, err;

	if (tier == ST_TIER_TRACEPOINT) {
		for (i = 0; i < MAX_TPS && d->tps[i]; i++) {
			if (!tracepoint_exists(d->tps[i])) {
				snprintf(why, len, "tracepoint %s missing", d->tps[i]);
				return -ENOENT;
			}
		}
		return 0;
	}
	if (!d->n_required) {
		snprintf(why, len, "no %s variant: this hook is a tracepoint",
			 st_tier_name(tier));
		return -ENOTSUP;
	}
	for (i = 0; i < d->n_required; i++) {
		err = func_probe(d->funcs[i], tier, &r);
		if (err) {
			snprintf(why, len, "%s", r);
			return err;
		}
	}
	return 0;
}

static void why_append(char *dst, size_t len, const char *tier, const char *what)
{
	size_t used = strlen(dst);

	snprintf(dst + used, len - used, "%s%s: %s", used ? "; " : "", tier, what);
}

/* Fills the tier of every hook for mode. Forcing fentry or kprobe fails
 * (-EOPNOTSUPP, with a message) when a hook that has that tier cannot take
 * it; a missing tracepoint only switches its hook off. */
static int choose_tiers(struct st_hook_status hooks[ST_HOOK_COUNT], enum st_mode mode,
			int print_errors)
{
	static const enum st_tier order[] = { ST_TIER_FENTRY, ST_TIER_KPROBE, ST_TIER_TRACEPOINT };
	char why[128];
	int h, i, ret = 0;

	probe_init();
	for (h = 0; h < ST_HOOK_COUNT; h++) {
		struct st_hook_status *st = &hooks[h];

		memset(st, 0, sizeof(*st));
		st->hook = hook_defs[h].name;
		st->tier = ST_TIER_NONE;
		if (mode == ST_MODE_AUTO) {
			for (i = 0; i < 3; i++) {
				if (order[i] != ST_TIER_TRACEPOINT && !hook_defs[h].n_required)
					continue; /* no such variant: nothing to explain */
				if (!hook_can(h, order[i], why, sizeof(why))) {
					st->tier = order[i];
					break;
				}
				why_append(st->why, sizeof(st->why), st_tier_name(order[i]), why);
			}
			continue;
		}
		enum st_tier want = mode == ST_MODE_FENTRY ? ST_TIER_FENTRY :
				    mode == ST_MODE_KPROBE ? ST_TIER_KPROBE : ST_TIER_TRACEPOINT;

		if (want != ST_TIER_TRACEPOINT && !hook_defs[h].n_required)
			want = ST_TIER_TRACEPOINT;
		if (!hook_can(h, want, why, sizeof(why))) {
			st->tier = want;
			if (want != ST_TIER_TRACEPOINT || hook_defs[h].n_required)
				snprintf(st->why, sizeof(st->why), "--mode %s", st_tier_name(want));
			continue;
		}
		why_append(st->why, sizeof(st->why), st_tier_name(want), why);
		if (want != ST_TIER_TRACEPOINT) {
			if (print_errors)
				st_err("--mode %s: %s: %s", st_tier_name(want), st->hook, why);
			ret = -EOPNOTSUPP;
		}
	}
	/* say so when a part of the accept-queue hook comes from elsewhere */
	struct st_hook_status *aq = &hooks[ST_HOOK_ACCEPT_QUEUE];
	const char *r;

	if ((aq->tier == ST_TIER_FENTRY || aq->tier == ST_TIER_KPROBE) &&
	    func_probe("tcp_v4_syn_recv_sock", aq->tier, &r)) {
		snprintf(why, sizeof(why), "final-ACK drops from skb tracepoints (%s)", r);
		why_append(aq->why, sizeof(aq->why), st_tier_name(aq->tier), why);
	}
	return ret;
}

int event_source__probe(struct st_hook_status hooks[ST_HOOK_COUNT], enum st_mode mode)
{
	return choose_tiers(hooks, mode, 0);
}

/* ---- loading ---- */

static int accept_has_arg_struct(void)
{
	return cache.vmlinux &&
	       btf__find_by_name_kind(cache.vmlinux, "proto_accept_arg", BTF_KIND_STRUCT) >= 0;
}

/*
 * Can tp_consume_skb_at take consume_skb? Its tracepoint must pass the
 * caller (6.3+: btf_trace_consume_skb(void *, skb, location)) and kallsyms
 * must say where tcp_rcv_state_process() is. Else tp_consume_skb, which
 * reads every consumed packet's headers.
 */
static int consume_site(void)
{
	const struct btf_type *t;
	FILE *f;
	int id;

	if (cache.consume_site != 1)
		return cache.consume_site;
	cache.consume_site = 0;
	if (!cache.vmlinux)
		return 0;
	id = btf__find_by_name_kind(cache.vmlinux, "btf_trace_consume_skb", BTF_KIND_TYPEDEF);
	if (id < 0)
		return 0;
	t = btf__type_by_id(cache.vmlinux, btf__resolve_type(cache.vmlinux, id));
	if (!t || !btf_is_ptr(t))
		return 0;
	t = btf__type_by_id(cache.vmlinux, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 3)
		return 0;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return 0;
	cache.consume_site = st_ksym_range(f, "tcp_rcv_state_process", &cache.consume_lo,
					   &cache.consume_end) == 0;
	fclose(f);
	return cache.consume_site;
}

int event_source__kprobe_skips_counted(void)
{
	struct utsname u;

	return !uname(&u) && st_kprobe_skips_counted(u.release);
}

int event_source__kprobe_gap(const struct event_source *s)
{
	return s && event_source__kprobe_hooks(event_source__hooks(s)) &&
	       !event_source__kprobe_skips_counted();
}

int event_source__kprobe_hooks(const struct st_hook_status *hooks)
{
	for (int h = 0; h < ST_HOOK_COUNT; h++)
		if (hooks[h].tier == ST_TIER_KPROBE)
			return 1;
	return 0;
}

const char *event_source__syn_packets(void)
{
	probe_init();
	return consume_site() ? "by caller (consume_skb from tcp_rcv_state_process)"
			      : "every consumed packet's headers read";
}

/* The one of tp_consume_skb and tp_consume_skb_at this kernel takes; any
 * other program passes. */
static int skb_variant_ok(const struct prog_def *p)
{
	if (p->variant == VARIANT_SKB_SITE)
		return consume_site();
	if (p->variant == VARIANT_SKB_ANY)
		return !consume_site();
	return 1;
}

static int prog_wanted(const struct prog_def *p, const struct st_hook_status *hooks)
{
	const char *why;
	int h, used = !p->hooks;

	for (h = 0; h < ST_HOOK_COUNT; h++)
		if ((p->hooks & (1u << h)) && hooks[h].tier == p->tier)
			used = 1;
	if (!used)
		return 0;
	if (!skb_variant_ok(p))
		return 0;
	if (p->tier == ST_TIER_TRACEPOINT)
		return tracepoint_exists(p->target);
	if (p->variant == VARIANT_ACCEPT_ARG && !accept_has_arg_struct())
		return 0;
	if (p->variant == VARIANT_ACCEPT_OLD && accept_has_arg_struct())
		return 0;
	/* optional functions (tcp_v6_* when IPv6 is a module) just stay off */
	return func_probe(p->target, p->tier, &why) == 0;
}

/* The accept-queue hook on a function tier without tcp_v4_syn_recv_sock()
 * for that tier: final-ACK overflows come from the skb tracepoints. */
static int ack_overflow_by_skb(struct event_source *s)
{
	enum st_tier tier = s->hooks[ST_HOOK_ACCEPT_QUEUE].tier;
	const char *why;

	if (tier != ST_TIER_FENTRY && tier != ST_TIER_KPROBE)
		return 0;
	return func_probe("tcp_v4_syn_recv_sock", tier, &why) != 0;
}

static void detach_syscall_exits(struct event_source *s)
{
	for (size_t i = 0; i < N_EXIT_SYSCALLS; i++) {
		bpf_link__destroy(s->exit_links[i]);
		s->exit_links[i] = NULL;
	}
}

/* prog (loaded or not) on each syscalls:sys_exit_* of exit_syscalls. */
static int attach_syscall_exits(struct event_source *s, struct bpf_program *prog)
{
	int pfd, err;

	if (bpf_program__fd(prog) < 0)
		return 0;
	for (size_t i = 0; i < N_EXIT_SYSCALLS; i++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_TRACEPOINT,
			.size = sizeof(attr),
			.config = (uint64_t)cache.exit_tp_ids[i],
		};

		if (cache.exit_tp_ids[i] <= 0)
			continue;
		/* one event, on CPU 0: a tracepoint's program runs on all */
		pfd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
		if (pfd < 0) {
			err = -errno;
			st_err("cannot open tracepoint syscalls:sys_exit_%s: %s", exit_syscalls[i],
			       strerror(-err));
			return err;
		}
		s->exit_links[i] = bpf_program__attach_perf_event(prog, pfd);
		if (!s->exit_links[i]) {
			err = -errno;
			close(pfd);
			st_err("cannot attach to syscalls:sys_exit_%s: %s", exit_syscalls[i],
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

static int open_skel(struct event_source *s)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = st_btf_path());
	struct bpf_program *prog;
	struct events_bpf *skel;
	const char *why;
	enum exit_way exits = exit_way(s->hooks, &why), tp_way = exits;
	size_t i;
	int h, err;

	/* with fexit, a tracepoint too, for the calls in progress at attach */
	if (exits == EXIT_FEXIT)
		tp_way = exit_tps_usable(s->hooks, &why) ? EXIT_PER_SYSCALL : EXIT_RAW;
	if (s->no_exits)
		exits = tp_way = EXIT_NONE;
	skel = events_bpf__open_opts(&open_opts);
	if (!skel)
		return -errno;
	skel->rodata->target_tgid = s->pid;
	skel->data->type_mask = bpf_type_mask(s->type_mask);
	for (h = 0; h < ST_HOOK_COUNT; h++)
		skel->rodata->hook_tier[h] = s->hooks[h].tier;
	skel->rodata->ack_overflow_by_skb = ack_overflow_by_skb(s);
	for (i = 0; i < N_PROGS; i++) {
		struct bpf_program *prog =
			bpf_object__find_program_by_name(skel->obj, prog_defs[i].prog);
		/* syscall exits one way or another (see exit_way()) */
		int want = is_fexit_sys(prog_defs[i].prog) && exits != EXIT_FEXIT ?
				   0 :
				   prog_wanted(&prog_defs[i], s->hooks);

		/* the skb hooks also count SYN drops, to keep their per-packet
		 * share of the listener's sk_drops right */
		if (skel->rodata->ack_overflow_by_skb &&
		    (!strcmp(prog_defs[i].target, "consume_skb") ||
		     !strcmp(prog_defs[i].target, "kfree_skb")))
			want = tracepoint_exists(prog_defs[i].target) &&
			       skb_variant_ok(&prog_defs[i]);
		if (!strcmp(prog_defs[i].prog, "tp_sys_exit"))
			want = want && tp_way == EXIT_RAW;
		if (!strcmp(prog_defs[i].prog, "tp_syscall_exit"))
			want = want && tp_way == EXIT_PER_SYSCALL;
		/* bench hook: leave programs out to see what each costs */
		if (getenv("SOCKTRACE_SKIP_PROGS") &&
		    strstr(getenv("SOCKTRACE_SKIP_PROGS"), prog_defs[i].prog))
			want = 0;
		if (prog)
			bpf_program__set_autoload(prog, want);
	}
	/* kallsyms read only when tp_consume_skb_at is to load (prog_wanted()) */
	if (bpf_program__autoload(skel->progs.tp_consume_skb_at)) {
		skel->rodata->syn_consume_lo = cache.consume_lo;
		skel->rodata->syn_consume_len = cache.consume_end - cache.consume_lo;
	}
	/* run by user space only (flush_stages()) */
	bpf_program__set_autoattach(skel->progs.flush_stage, false);
	/* attached to each syscall's tracepoint below */
	bpf_program__set_autoattach(skel->progs.tp_syscall_exit, false);
	/* test hook: a small ring (KiB, a power of two >= the page size) to
	 * make the lost-event path observable */
	if (getenv("SOCKTRACE_RING_KB"))
		bpf_map__set_max_entries(skel->maps.events,
					 (uint32_t)strtoul(getenv("SOCKTRACE_RING_KB"), NULL, 10) << 10);
	err = events_bpf__load(skel);
	if (!err)
		err = events_bpf__attach(skel);
	if (!err)
		err = attach_syscall_exits(s, skel->progs.tp_syscall_exit);
	if (err) {
		detach_syscall_exits(s);
		events_bpf__destroy(skel);
		return err;
	}
	s->skel = skel;
	s->handover = exits == EXIT_FEXIT;
	skel->bss->exit_handover = s->handover;
	/* whose recursion misses are lost events (read_skipped()): the loaded
	 * hooks, less tp_set_state_again (its misses are changes tp_set_state
	 * did) and flush_stage (run by us, not a hook) */
	s->n_prog_fds = 0;
	s->state_first_fd = bpf_program__fd(skel->progs.tp_set_state);
	bpf_object__for_each_program(prog, skel->obj)
		if (bpf_program__fd(prog) >= 0 && prog != skel->progs.tp_set_state_again &&
		    prog != skel->progs.flush_stage && (size_t)s->n_prog_fds < N_PROGS)
			s->prog_fds[s->n_prog_fds++] = bpf_program__fd(prog);
	return 0;
}

/* After a load or attach failure with function hooks: move each such hook
 * one tier down and say why. Returns 1 when anything moved. */
/* The program libbpf names in "prog 'X': failed to load", caught while the
 * skeleton loads, so only the hooks of that program move down a tier. */
static libbpf_print_fn_t outer_print;
static char failed_prog[64];

static int catch_failed_prog(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[256];
	const char *p, *q;
	va_list copy;

	va_copy(copy, args);
	vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	p = strstr(line, "prog '");
	if (p && (strstr(line, "failed to load") || strstr(line, "failed to attach") ||
		  strstr(line, "failed to auto-attach"))) {
		p += 6;
		q = strchr(p, '\'');
		if (q && !failed_prog[0])
			snprintf(failed_prog, sizeof(failed_prog), "%.*s", (int)(q - p), p);
	}
	return outer_print ? outer_print(level, fmt, args) : 0;
}

/* After a load or attach failure with function hooks: move the hooks of the
 * failed program (all function-tier hooks when unknown) one tier down, and
 * say why. Returns 1 when anything moved. */
static int downgrade(struct event_source *s, int err)
{
	char why[128], what[128];
	unsigned int mask = ~0u;
	int h, moved = 0;
	size_t i;

	for (i = 0; failed_prog[0] && i < N_PROGS; i++)
		if (!strcmp(prog_defs[i].prog, failed_prog))
			mask = prog_defs[i].hooks ? prog_defs[i].hooks : ~0u;
	snprintf(what, sizeof(what), "%s%s failed to load or attach: %s",
		 failed_prog[0] ? "program " : "programs", failed_prog, errno_name(-err));
	for (h = 0; h < ST_HOOK_COUNT; h++) {
		struct st_hook_status *st = &s->hooks[h];

		if (st->tier != ST_TIER_FENTRY && st->tier != ST_TIER_KPROBE)
			continue;
		if (!(mask & (1u << h)))
			continue;
		why_append(st->why, sizeof(st->why), st_tier_name(st->tier), what);
		if (st->tier == ST_TIER_FENTRY && !hook_can(h, ST_TIER_KPROBE, why, sizeof(why)))
			st->tier = ST_TIER_KPROBE;
		else
			st->tier = hook_can(h, ST_TIER_TRACEPOINT, why, sizeof(why)) ?
					   ST_TIER_NONE : ST_TIER_TRACEPOINT;
		moved = 1;
	}
	return moved;
}

_Static_assert(sizeof(struct st_sock_entry) == 64, "a socket's entry is one cache line");

/* Adds a seed to `socks` as sock_insert() in bpf/events.bpf.c does, with
 * the same atomics: the programs are running. */
static void seed_sock(struct event_source *s, struct st_sock_bucket *tab, uint64_t key,
		      const struct st_sock_state *ss)
{
	uint32_t slot = st_sock_filter_slot(key) & (ST_SOCK_FILTER_SLOTS - 1);
	struct st_sock_bucket *b = &tab[st_sock_bucket_of(slot)];
	uint32_t *filter = s->skel->bss->sock_filter;
	__s64 *spilled = &s->skel->bss->socks_spilled;
	__s64 *live = &s->skel->data_socks->socks_live;
	int w;

	__atomic_fetch_add(live, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&filter[slot], 1, __ATOMIC_SEQ_CST);
	for (w = 0; w < ST_SOCK_WAYS; w++)
		if (__atomic_load_n(&b->way[w].key, __ATOMIC_ACQUIRE) == key)
			goto uncount;
	for (w = 0; w < ST_SOCK_WAYS; w++) {
		uint64_t free_key = 0;

		if (__atomic_compare_exchange_n(&b->way[w].key, &free_key, ST_SOCK_CLAIMED, 0,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			b->way[w].ss = *ss;
			__atomic_store_n(&b->way[w].key, key, __ATOMIC_SEQ_CST);
			return;
		}
	}
	__atomic_fetch_add(spilled, 1, __ATOMIC_SEQ_CST);
	if (!bpf_map_update_elem(bpf_map__fd(s->skel->maps.socks_spill), &key, ss, BPF_NOEXIST))
		return;
	__atomic_fetch_sub(spilled, 1, __ATOMIC_SEQ_CST);
uncount:
	__atomic_fetch_sub(&filter[slot], 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_sub(live, 1, __ATOMIC_SEQ_CST);
}

/* test hook: the seeding thread preempted between a listener's steps, for
 * this long (tests/test_events.sh) */
static void seed_pause(void)
{
	const char *us = getenv("SOCKTRACE_TEST_SEED_PAUSE_US");

	if (us)
		usleep((useconds_t)strtoul(us, NULL, 10));
}

/* Listeners of the target sharing a port and family (SO_REUSEPORT) go in
 * the port's group, where the programs look for the one a drop or a
 * queued child is of (the port's owner is one of them). */
static void seed_groups(struct event_source *s, const struct st_snapshot *snap)
{
	int groups_fd = bpf_map__fd(s->skel->maps.port_groups);

	for (size_t i = 0; i < snap->n_listeners; i++) {
		const struct st_listener *a = &snap->listeners[i];
		struct st_port_group g = {};
		uint32_t key = st_port_key(a->local.port, a->family);
		size_t n = 0;

		/* once per port and family, at its first listener */
		for (size_t j = 0; j < i; j++)
			if (snap->listeners[j].local.port == a->local.port &&
			    snap->listeners[j].family == a->family)
				goto next;
		for (size_t j = i; j < snap->n_listeners && n < ST_GROUP_MAX; j++)
			if (snap->listeners[j].local.port == a->local.port &&
			    snap->listeners[j].family == a->family)
				g.l[n++] = snap->listeners[j].sk_id;
		if (n < 2)
			continue;
		if (bpf_map_update_elem(groups_fd, &key, &g, BPF_NOEXIST))
			continue; /* a listen() made it first: its programs' */
		__atomic_fetch_or(&s->skel->bss->group_port_bits[a->local.port >> 6],
				  1ull << (a->local.port & 63), __ATOMIC_SEQ_CST);
next:;
	}
}

static int seed_ownership(struct event_source *s, struct snapshot_taker *taker)
{
	struct st_snapshot snap;
	int listeners_fd = bpf_map__fd(s->skel->maps.listeners);
	int epolls_fd = bpf_map__fd(s->skel->maps.epolls);
	size_t socks_len = (size_t)bpf_map__max_entries(s->skel->maps.socks) *
			   sizeof(struct st_sock_bucket);
	struct st_sock_bucket *socks;
	int64_t added = 0;
	size_t i;
	int err;

	socks = mmap(NULL, socks_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     bpf_map__fd(s->skel->maps.socks), 0);
	if (socks == MAP_FAILED)
		return -errno;
	err = snapshot_taker__take(taker, &snap);
	if (err) {
		munmap(socks, socks_len);
		return err;
	}
	memcpy(s->comm, snap.comm, sizeof(s->comm) - 1);
	for (i = 0; i < snap.n_listeners; i++) {
		const struct st_listener *l = &snap.listeners[i];
		struct st_listener_state ls = {};
		struct st_port_owner *po =
			&s->skel->bss->port_owners[st_port_owner_idx(l->local.port, l->family)];
		__u64 none = 0;

		/* In this order, as the programs read them: a child whose
		 * listener owns its port (accepted from now on) is followed
		 * by the port, so the port's bit comes first; a child whose
		 * listener is only in `listeners` gets an entry of its own.
		 * (With the entry first, this thread preempted for a few
		 * milliseconds before the bit hid the ends of the children
		 * accepted meanwhile.) */
		__atomic_fetch_or(&s->skel->bss->listen_port_bits[l->local.port >> 6],
				  1ull << (l->local.port & 63), __ATOMIC_SEQ_CST);
		seed_pause();
		/* net stays 0: the BPF side reads it at first use */
		__atomic_compare_exchange_n(&po->l, &none, l->sk_id, 0, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
		seed_pause();
		/* net unknown from here: 0 skips the namespace check */
		ls.fd = l->fd;
		ls.port = l->local.port;
		ls.family = l->family;
		ls.last_drops = l->drops;
		if (!bpf_map_update_elem(listeners_fd, &l->sk_id, &ls, BPF_NOEXIST))
			added++;
	}
	__atomic_fetch_add(&s->skel->bss->listener_count, added, __ATOMIC_SEQ_CST);
	seed_groups(s, &snap);
	for (i = 0; i < snap.n_fds; i++) {
		const struct st_fd *f = &snap.fds[i];

		if ((f->kind == ST_FD_TCP || f->kind == ST_FD_TCP6) && f->state != 10 /* LISTEN */) {
			struct st_sock_state ss = { .fd = f->fd,
						    .flags = ST_SS_ACCEPTED | ST_SS_SEEDED,
						    .seed_sport = f->local.port,
						    .seed_dport = f->remote.port };
			uint32_t daddr[4];

			memcpy(daddr, f->remote.addr, sizeof(daddr));
			ss.seed_daddr = st_addr_fold(daddr, f->family == AF_INET6);

			seed_sock(s, socks, f->obj_id, &ss);
		} else if (f->kind == ST_FD_EPOLL) {
			struct st_epoll_state es = { .epfd = f->fd };

			bpf_map_update_elem(epolls_fd, &f->obj_id, &es, BPF_NOEXIST);
		}
	}
	st_snapshot__free(&snap);
	munmap(socks, socks_len);
	return 0;
}

static struct child_fifo *child_fifo(struct event_source *s, uint16_t port, int make)
{
	struct child_fifo *f;

	for (int i = 0; i < s->n_fifos; i++)
		if (s->fifos[i].port == port)
			return &s->fifos[i];
	if (!make || s->n_fifos == CHILD_FIFOS)
		return NULL;
	f = &s->fifos[s->n_fifos++];
	*f = (struct child_fifo){ .port = port };
	return f;
}

static void child_fifo_push(struct child_fifo *f, uint64_t sk, uint64_t ns)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		struct child_queued_at *q;

		if (cap > CHILD_FIFO_MAX) {
			f->head = (f->head + 1) & (f->cap - 1); /* the oldest makes way */
			f->n--;
		} else if ((q = malloc(cap * sizeof(*q)))) {
			for (size_t i = 0; i < f->n; i++)
				q[i] = f->q[(f->head + i) & (f->cap - 1)];
			free(f->q);
			f->q = q;
			f->cap = cap;
			f->head = 0;
		} else {
			return;
		}
	}
	f->q[(f->head + f->n) & (f->cap - 1)] = (struct child_queued_at){ sk, ns };
	f->n++;
}

/* sk's queueing time, taken out of f; 0 when not there */
static uint64_t child_fifo_take(struct child_fifo *f, uint64_t sk)
{
	for (int again = 0; again < 2 && f->n; again++) {
		for (size_t k = 0; k < f->n && k < CHILD_FIFO_WINDOW; k++) {
			struct child_queued_at *c = &f->q[(f->head + k) & (f->cap - 1)];
			uint64_t ns = c->ns;

			if (c->sk != sk)
				continue;
			c->sk = 0;
			while (f->n && !f->q[f->head].sk) {
				f->head = (f->head + 1) & (f->cap - 1);
				f->n--;
			}
			return ns;
		}
		/* not within the window: the front is a child never accepted
		 * (its listener closed, or its queueing was not seen) */
		if (f->n <= CHILD_FIFO_WINDOW)
			break;
		f->head = (f->head + 1) & (f->cap - 1);
		f->n--;
	}
	return 0;
}

/* What records leave out, from earlier ones, once per record in time
 * order. A child followed by its port (no entry in BPF): its wait in the
 * accept queue (the accept's time less the child_queued's) and, from its
 * accept to its close, its fd (ST_FD_ACCEPTED). An epoll_wait return: the
 * time since the first wake-up of its instance after the return before. */
static void sock_note(struct event_source *s, struct st_event *e)
{
	struct child_fifo *q;
	struct sock_fd *f;
	uint64_t ns;
	uint32_t gen;

	switch (e->type) {
	case ST_EV_CHILD_QUEUED:
		/* every tier: the function tiers time the wait in the child's
		 * entry, which a reset (its CLOSE) ends before the accept */
		if ((q = child_fifo(s, e->sport, 1)))
			child_fifo_push(q, e->sk_id, e->time_ns);
		break;
	case ST_EV_ACCEPT:
		/* taken even when timed already, or the queue would fill */
		if ((q = child_fifo(s, e->sport, 0)) && (ns = child_fifo_take(q, e->sk_id)) &&
		    !e->latency_ns && e->time_ns >= ns)
			e->latency_ns = e->time_ns - ns;
		if (e->fd >= 0)
			accepted_fds__add(&s->accepted, e->sk_id, e->fd);
		break;
	case ST_EV_STATE:
	case ST_EV_CLOSE:
		if (e->fd == ST_FD_ACCEPTED)
			e->fd = accepted_fds__find(&s->accepted, e->sk_id);
		if (e->type == ST_EV_CLOSE)
			accepted_fds__close(&s->accepted, e->sk_id, e->fd);
		break;
	case ST_EV_EP_WAKEUP:
		gen = e->queue_max;
		e->queue_max = 0;
		if (e->epfd < 0)
			break;
		f = sock_fds__put(&s->first_wakeup, (uint64_t)e->epfd + 1);
		if (!f)
			break;
		/* another instance on this fd: the closed one's wake-ups
		 * were never waited for */
		if (f->gen != gen) {
			f->gen = gen;
			f->queued_ns = 0;
		}
		if (!f->queued_ns)
			f->queued_ns = e->time_ns;
		break;
	case ST_EV_EPOLL_WAIT_DONE:
		gen = e->queue_max;
		e->queue_max = 0;
		f = e->epfd >= 0 ? sock_fds__get(&s->first_wakeup, (uint64_t)e->epfd + 1) : NULL;
		if (!f)
			break;
		if (!e->latency_ns && f->gen == gen && f->queued_ns && e->time_ns > f->queued_ns)
			e->latency_ns = e->time_ns - f->queued_ns;
		f->queued_ns = 0;
		f->gen = gen;
		break;
	}
}

static void deliver(struct event_source *s, const struct st_event *e)
{
	/* a compound record's parts may include filtered-out types, and
	 * the BPF side sends some for sock_note() (bpf_type_mask()) */
	if (!(s->type_mask & (1u << e->type)) && e->type != ST_EV_LOST)
		return;
	s->delivered++;
	s->polled++;
	if (s->fn)
		s->fn(e, s->fn_ctx);
}

/* A record standing for several events (ST_XF_*): the events, in order. */
static void deliver_compound(struct event_source *s, struct st_event *e)
{
	struct st_event state;

	sock_note(s, e);
	state = *e;

	state.type = ST_EV_STATE;
	state.xflags = 0;
	state.latency_ns = 0;
	state.queue_len = 0;
	state.queue_max = 0;
	if (e->xflags & ST_XF_CHILD_STATES) {
		state.time_ns = e->time_ns - e->latency_ns;
		deliver(s, &state);
		state.time_ns = e->time_ns;
		state.old_state = ST_TCP_SYN_RECV;
		state.new_state = ST_TCP_ESTABLISHED;
		deliver(s, &state);
		e->latency_ns = 0;
	}
	e->xflags = 0;
	e->old_state = e->type == ST_EV_CLOSE ? e->old_state : 0;
	e->new_state = 0;
	deliver(s, e);
	if (e->type == ST_EV_CLOSE)
		deliver(s, &state);
}

/* Events the BPF side sends later than their time, by design: a connect
 * (the call's start, sent when it returns or its handshake ends) and a
 * child's clone (sent with its next change). */
static int timed_before_sent(const struct st_event *e)
{
	return e->type == ST_EV_CONNECT ||
	       (e->type == ST_EV_STATE && e->new_state == ST_TCP_SYN_RECV);
}

/* A ring record holds one CPU's staged events (bpf/events.bpf.c). One
 * whose time was handed on already goes out after later events: counted
 * (event_source__late()), not hidden, but for those timed_before_sent(). */
static int on_ring_event(void *ctx, void *data, size_t size)
{
	struct event_source *s = ctx;
	size_t n = size / ST_RING_RECORD_SIZE;
	const char *rec = data;

	for (size_t i = 0; i < n; i++, rec += ST_RING_RECORD_SIZE) {
		const struct st_event *e = (const void *)rec;

		if (e->time_ns <= s->released && !timed_before_sent(e))
			s->late++;
	}
	return event_order__add(&s->pending, data, n, ST_RING_RECORD_SIZE);
}

static void deliver_pending_one(struct st_event *e, void *ctx)
{
	struct event_source *s = ctx;

	memcpy(e->comm, s->comm, sizeof(e->comm));
	if (e->xflags) {
		deliver_compound(s, e);
	} else {
		sock_note(s, e);
		deliver(s, e);
	}
}

/* How old a CPU's staged events get before user space has that CPU write
 * them out (a busy CPU writes its own within 2 ms; an IPI costs more than a
 * few events on a VM). */
#define STAGE_FLUSH_AGE_NS (10 * 1000 * 1000ull)
/* Longer than any program takes from an event's time to its staging. */
#define STAGE_SLACK_NS (1000 * 1000ull)
/* The longest the reader waits for a CPU it could not have write out. */
#define STAGE_HOLD_MAX_NS (1000 * 1000 * 1000ull)

/* Has each CPU with old staged events (all: every CPU) write them to the
 * ring. Returns the time up to which every event is in the ring: events
 * after it may still sit in some CPU's stage. */
static uint64_t flush_stages(struct event_source *s, uint64_t now, int all)
{
	int prog = bpf_program__fd(s->skel->progs.flush_stage);
	uint64_t until = now - STAGE_SLACK_NS;
	uint32_t zero = 0;

	if (s->test_no_hold && !all)
		return now;
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.stage_oldest), &zero,
				s->oldest_percpu))
		all = 1;
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		uint64_t oldest = all ? 0 : s->oldest_percpu[cpu];

		if (!all && !oldest)
			continue;
		if (!all && now - oldest < STAGE_FLUSH_AGE_NS) {
			if (oldest - 1 < until)
				until = oldest - 1;
			continue;
		}
		int written = 0;

		/* 1: a program was half-way through an event there */
		for (int try = 0; try < 8 && !written; try++) {
			LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU,
				    .cpu = cpu);

			/* (an error: nothing to wait for, the stage is left to
			 * its CPU's next event) */
			written = bpf_prog_test_run_opts(prog, &opts) || opts.retval == 0;
		}
		/* Still staged there: what comes after its oldest waits for a
		 * later poll, as for a CPU not yet due, unless it has waited
		 * STAGE_HOLD_MAX_NS (a CPU that never lets go must not stop
		 * the stream; what comes late then is counted as late). */
		if (!written && !all && oldest && now - oldest < STAGE_HOLD_MAX_NS &&
		    oldest - 1 < until)
			until = oldest - 1;
	}
	return all ? UINT64_MAX : until;
}

static uint64_t hook_misses(struct event_source *s);

/* ---- the handover from a tracepoint to fexit (see exit_handover) ---- */

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

/* Is nr one of the syscalls whose exits socktrace takes? */
static int exit_syscall_nr(long nr)
{
	return nr == SYS_connect || nr == SYS_accept || nr == SYS_accept4 ||
#ifdef SYS_epoll_wait
	       nr == SYS_epoll_wait || nr == SYS_epoll_create ||
#endif
	       nr == SYS_epoll_pwait || nr == SYS_epoll_pwait2 || nr == SYS_epoll_create1;
}

/* Where thread tid of pid is, by /proc/PID/task/TID/syscall: the syscall
 * it is blocked in (>= 0), -1 blocked outside any, -2 running (on a CPU
 * or about to be: in user space, or in the kernel, maybe in a syscall of
 * ours), -3 gone. */
static long thread_syscall(uint32_t pid, uint32_t tid)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%u/task/%u/syscall", pid, tid);
	if (st_read_small(path, buf, sizeof(buf)) < 0)
		return -3;
	if (!strncmp(buf, "running", 7))
		return -2;
	return strtol(buf, NULL, 10);
}

/* how long a thread found running may still be in a call entered before
 * the trampolines (a call that blocks shows in /proc meanwhile) */
#define HANDOVER_RUNNING_NS (1000ull * 1000 * 1000)

/* fexit alone from now on: the tracepoint's programs off, and only after
 * every run of them has ended does fexit stop leaving its marks. */
static void end_handover(struct event_source *s)
{
	if (!s->handover)
		return;
	s->handover = 0;
	bpf_link__destroy(s->skel->links.tp_sys_exit);
	s->skel->links.tp_sys_exit = NULL;
	detach_syscall_exits(s);
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(10 * 1000);
	__atomic_store_n(&s->skel->bss->exit_handover, 0, __ATOMIC_SEQ_CST);
	free(s->handover_tids);
	s->handover_tids = NULL;
	s->n_handover = 0;
	if (st_verbose)
		fprintf(stderr, "socktrace: syscall exits by fexit alone from now on\n");
}

/* After the programs are armed: the target's threads in one of our
 * syscalls, or running, go in handover_pending, where the tracepoint's
 * program takes each out at its first exit. */
static void handover_scan(struct event_source *s)
{
	int pending_fd = bpf_map__fd(s->skel->maps.handover_pending);
	uint64_t now = st_now_ns();
	size_t cap = 0;
	char dir[64];
	struct dirent *d = NULL;
	DIR *tasks;

	if (!s->handover)
		return;
	snprintf(dir, sizeof(dir), "/proc/%u/task", s->pid);
	tasks = opendir(dir);
	while (tasks && (d = readdir(tasks))) {
		uint32_t tid = (uint32_t)strtoul(d->d_name, NULL, 10);
		struct handover_thread *t;
		uint8_t one = 1;
		long nr;

		if (!tid)
			continue;
		nr = thread_syscall(s->pid, tid);
		if (nr != -2 && !exit_syscall_nr(nr))
			continue;
		if (s->n_handover == cap) {
			cap = cap ? 2 * cap : 16;
			t = realloc(s->handover_tids, cap * sizeof(*t));
			if (!t)
				break;
			s->handover_tids = t;
		}
		if (bpf_map_update_elem(pending_fd, &tid, &one, BPF_ANY))
			break;
		s->handover_tids[s->n_handover++] =
			(struct handover_thread){ tid, nr == -2 ? now + HANDOVER_RUNNING_NS : 0 };
	}
	/* a thread left out would lose its call's exit: unless every one was
	 * looked at, the tracepoint stays on for good */
	s->handover_for_good = !tasks || d != NULL;
	if (tasks)
		closedir(tasks);
	if (!s->handover_for_good && !s->n_handover)
		end_handover(s);
	s->handover_checked_ns = now;
}

/* Each poll, now and then: a thread is done with once the tracepoint's
 * program has seen it exit a syscall of ours, or it is gone, or, found
 * running, it was blocked outside our syscalls since or ran too long to
 * be in one. */
static void handover_check(struct event_source *s)
{
	int pending_fd = bpf_map__fd(s->skel->maps.handover_pending);
	uint64_t now = st_now_ns();
	size_t i, kept = 0;

	if (!s->handover || s->handover_for_good ||
	    now - s->handover_checked_ns < 50 * 1000 * 1000)
		return;
	s->handover_checked_ns = now;
	for (i = 0; i < s->n_handover; i++) {
		struct handover_thread *t = &s->handover_tids[i];
		uint8_t v;
		long nr;

		if (bpf_map_lookup_elem(pending_fd, &t->tid, &v))
			continue; /* seen */
		nr = thread_syscall(s->pid, t->tid);
		if (nr == -3)
			continue;
		if (t->until) {
			if (nr >= 0 && exit_syscall_nr(nr))
				t->until = 0; /* blocked in one: until its exit */
			else if (nr != -2 || now >= t->until)
				continue;
		}
		s->handover_tids[kept++] = *t;
	}
	s->n_handover = kept;
	if (!kept)
		end_handover(s);
}

int event_source__open(struct event_source **out, uint32_t pid, enum st_mode mode)
{
	return event_source__open_filtered(out, pid, mode, ~0u);
}

int event_source__open_filtered(struct event_source **out, uint32_t pid, enum st_mode mode,
				uint32_t type_mask)
{
	struct snapshot_taker *taker = NULL;
	struct event_source *s;
	int err, attempt;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->pid = pid;
	s->type_mask = type_mask;
	s->no_exits = !needs_exits(type_mask);
	err = choose_tiers(s->hooks, mode, 1);
	if (err)
		goto fail;
	/* Loaded before the event programs are attached: from the attach to
	 * the first read the ring only fills, so that time is kept short. */
	err = snapshot_taker__open(&taker, pid);
	if (err)
		goto seed_failed;
	for (attempt = 0; attempt < 2 * ST_HOOK_COUNT; attempt++) {
		failed_prog[0] = 0;
		outer_print = libbpf_set_print(catch_failed_prog);
		err = open_skel(s);
		libbpf_set_print(outer_print);
		if (!err)
			break;
		/* not a hook's: the syscall exits go back to the tracepoints,
		 * whatever the mode */
		if (is_fexit_sys(failed_prog) && !cache.fexit_exits_failed[0]) {
			snprintf(cache.fexit_exits_failed, sizeof(cache.fexit_exits_failed),
				 "not fexit: program %s failed to load or attach: %s", failed_prog,
				 errno_name(-err));
			continue;
		}
		if (mode == ST_MODE_FENTRY || mode == ST_MODE_KPROBE || !downgrade(s, err))
			break;
	}
	if (err) {
		st_err("failed to load event programs: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	/* All attached: the programs start work together (see `armed` in
	 * bpf/events.bpf.c). What the kernel skipped before is not lost. */
	s->skipped_base = hook_misses(s);
	/* test hook: every event read handed on at once, none held back for
	 * the stages (tests/test_events.sh: the late count counts) */
	s->test_no_hold = !!getenv("SOCKTRACE_TEST_NO_HOLD");
	/* bench hook: every program attached but none at work, the price of
	 * the hooks alone (tests/bench/bench_events.sh -o unarmed) */
	if (!getenv("SOCKTRACE_UNARMED"))
		__atomic_store_n(&s->skel->bss->armed, 1, __ATOMIC_SEQ_CST);
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		err = s->ncpus ? s->ncpus : -EINVAL;
		goto fail;
	}
	s->lost_percpu = calloc(s->ncpus, sizeof(uint64_t));
	s->oldest_percpu = calloc(s->ncpus, sizeof(uint64_t));
	if (!s->lost_percpu || !s->oldest_percpu) {
		err = -ENOMEM;
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_ring_event, s, NULL);
	if (!s->rb) {
		err = -errno;
		st_err("failed to set up the ring buffer: %s", strerror(-err));
		goto fail;
	}
	handover_scan(s);
	/* After attach, so a socket made meanwhile is seen by one or the other. */
	err = seed_ownership(s, taker);
	if (err)
		goto seed_failed;
	snapshot_taker__close(taker);
	*out = s;
	return 0;
seed_failed:
	if (err == -ESRCH)
		st_err("process %u exited", pid);
	else
		st_err("failed to read the sockets of process %u: %s", pid, strerror(-err));
fail:
	snapshot_taker__close(taker);
	event_source__close(s);
	return err;
}

int event_source__set_filter(struct event_source *s, uint32_t type_mask)
{
	if (!s || !s->skel)
		return -EINVAL;
	/* opened without the syscall exits these types need */
	if (s->no_exits && needs_exits(type_mask))
		return -EOPNOTSUPP;
	__atomic_store_n(&s->skel->data->type_mask, bpf_type_mask(type_mask), __ATOMIC_RELAXED);
	s->type_mask = type_mask;
	return 0;
}

static uint64_t read_lost(struct event_source *s)
{
	uint32_t zero = 0;
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.lost_events), &zero, s->lost_percpu))
		return s->lost;
	for (int i = 0; i < s->ncpus; i++)
		sum += s->lost_percpu[i];
	return sum;
}

/*
 * Hook runs the kernel skipped: it does not run a tracing program that
 * interrupts itself on one CPU (a softirq during a run in process context),
 * and counts each as one of the program's recursion_misses. Each may have
 * been an event of ours, or an end of a socket's life (so every one
 * counts). inet_sock_set_state has a second program that redoes what the
 * first missed (see tp_set_state_again): only what both missed counts.
 */
static uint64_t hook_misses(struct event_source *s)
{
	uint64_t sum = 0;

	for (int i = 0; i < s->n_prog_fds; i++) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		uint64_t m;

		if (bpf_obj_get_info_by_fd(s->prog_fds[i], &info, &len))
			continue;
		m = info.recursion_misses;
		if (s->prog_fds[i] == s->state_first_fd) {
			uint64_t redone = __atomic_load_n(&s->skel->bss->state_recovered,
							  __ATOMIC_RELAXED);

			m = m > redone ? m - redone : 0;
		}
		sum += m;
	}
	return sum;
}

/* Skipped since the programs were armed; never less than reported. */
static uint64_t read_skipped(struct event_source *s)
{
	uint64_t sum = hook_misses(s);

	sum = sum > s->skipped_base ? sum - s->skipped_base : 0;
	return sum > s->skipped ? sum : s->skipped;
}

static void report_lost(struct event_source *s, uint64_t n, enum st_lost_reason why)
{
	struct st_event e = { .type = ST_EV_LOST, .pid = s->pid, .fd = -1, .epfd = -1 };

	e.time_ns = st_now_ns();
	e.count = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
	e.old_state = why;
	memcpy(e.comm, s->comm, sizeof(e.comm));
	s->polled++;
	if (s->fn)
		s->fn(&e, s->fn_ctx);
}

/* Events staged and never written out, over every CPU: after the
 * programs stopped and every stage was written, only events a bug lost. */
static uint64_t read_unwritten(struct event_source *s)
{
	size_t sz = (sizeof(struct st_stage) + 7) & ~(size_t)7;
	uint64_t staged = 0, out = 0;
	uint32_t zero = 0;
	char *v = calloc(s->ncpus, sz);

	if (!v)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.stage), &zero, v)) {
		for (int cpu = 0; cpu < s->ncpus; cpu++) {
			const struct st_stage *st = (const void *)(v + cpu * sz);

			for (int i = 0; i < ST_STAGE_LEVELS; i++) {
				staged += st->lv[i].staged;
				out += st->lv[i].out;
			}
		}
	}
	free(v);
	return staged > out ? staged - out : 0;
}

static int poll_events(struct event_source *s, int timeout_ms, st_event_fn fn, void *ctx,
		       int all)
{
	uint64_t lost, until, done, now;
	int err;

	s->fn = fn;
	s->fn_ctx = ctx;
	s->polled = 0;
	handover_check(s);
	/* Wake-ups are batched in BPF: the wait may time out with events
	 * waiting, so always drain after it. Every event up to `until` is in
	 * the ring then; later ones may still sit in some CPU's stage, so
	 * they wait for a later poll, to go out in time order. */
	err = ring_buffer__poll(s->rb, timeout_ms);
	now = st_now_ns();
	until = flush_stages(s, now, all);
	if (err >= 0 || err == -EINTR)
		err = ring_buffer__consume(s->rb);
	event_order__release(&s->pending, until, deliver_pending_one, s);
	/* handed on up to here (all: every CPU written out, as of now) */
	done = all ? now : until;
	if (done > s->released)
		s->released = done;
	lost = read_lost(s);
	if (lost > s->lost) {
		report_lost(s, lost - s->lost, ST_LOST_RING);
		s->lost = lost;
	}
	if (all) {
		uint64_t unwritten = read_unwritten(s);

		if (unwritten > s->unwritten) {
			report_lost(s, unwritten - s->unwritten, ST_LOST_STAGE);
			s->unwritten = unwritten;
		}
	}
	/* a system call per program: ten times a second is enough */
	now = st_now_ns();
	if (all || now - s->skipped_read_ns >= 100 * 1000 * 1000) {
		uint64_t skipped = read_skipped(s);

		s->skipped_read_ns = now;
		if (skipped > s->skipped) {
			report_lost(s, skipped - s->skipped, ST_LOST_SKIPPED);
			s->skipped = skipped;
		}
		uint64_t cut = __atomic_load_n(&s->skel->bss->ep_walks_cut, __ATOMIC_RELAXED);

		if (cut > s->walks_cut) {
			report_lost(s, cut - s->walks_cut, ST_LOST_WALK);
			s->walks_cut = cut;
		}
	}
	s->fn = NULL;
	if (err < 0 && err != -EINTR)
		return err;
	return s->polled;
}

int event_source__poll(struct event_source *s, int timeout_ms, st_event_fn fn, void *ctx)
{
	return poll_events(s, timeout_ms, fn, ctx, 0);
}

int event_source__drain(struct event_source *s, st_event_fn fn, void *ctx)
{
	/* The programs stop first, and those already past `armed` end (an
	 * RCU grace period: they run under RCU with preemption off), so
	 * nothing is staged after the stages are written out: every event
	 * made is delivered. */
	__atomic_store_n(&s->skel->bss->armed, 0, __ATOMIC_SEQ_CST);
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(10 * 1000);
	return poll_events(s, 0, fn, ctx, 1);
}

int event_source__fd(const struct event_source *s)
{
	return s && s->rb ? ring_buffer__epoll_fd(s->rb) : -1;
}

uint64_t event_source__lost(const struct event_source *s)
{
	return s ? s->lost + s->unwritten + s->skipped + s->walks_cut : 0;
}

uint64_t event_source__skipped(const struct event_source *s)
{
	return s ? s->skipped : 0;
}

uint64_t event_source__late(const struct event_source *s)
{
	return s ? s->late : 0;
}

uint64_t event_source__drops_unseen(const struct event_source *s)
{
	return s && s->skel ? __atomic_load_n(&s->skel->bss->listener_drops_unseen, __ATOMIC_RELAXED)
			    : 0;
}

uint64_t event_source__delivered(const struct event_source *s)
{
	return s ? s->delivered : 0;
}

int event_source__takes_exits(const struct event_source *s)
{
	return s && !s->no_exits;
}

const struct st_hook_status *event_source__hooks(const struct event_source *s)
{
	return s ? s->hooks : NULL;
}

void event_source__close(struct event_source *s)
{
	if (!s)
		return;
	if (s->skel && s->skel->bss->untracked)
		st_err("warning: %llu connections were not followed (no room in the table of %u)",
		       (unsigned long long)s->skel->bss->untracked,
		       bpf_map__max_entries(s->skel->maps.socks) * ST_SOCK_WAYS +
			       bpf_map__max_entries(s->skel->maps.socks_spill));
	ring_buffer__free(s->rb);
	detach_syscall_exits(s);
	/* destroys every link, then the programs and maps */
	events_bpf__destroy(s->skel);
	free(s->lost_percpu);
	free(s->oldest_percpu);
	free(s->handover_tids);
	event_order__free(&s->pending);
	accepted_fds__free(&s->accepted);
	sock_fds__free(&s->first_wakeup);
	for (int i = 0; i < s->n_fifos; i++)
		free(s->fifos[i].q);
	free(s);
}
