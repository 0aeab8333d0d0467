/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kernel differences, in one place. Each flavour names the change it covers;
 * no kernel-version #ifdefs (CO-RE picks at load time).
 */
#ifndef SOCKTRACE_COMPAT_BPF_H
#define SOCKTRACE_COMPAT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/*
 * 6.18 ("net: add sk_drops_read() and sk_drops_add()" / per-NUMA drop
 * counters) added sk->sk_drop_counters: when set (UDP), drops are counted
 * there instead of in sk->sk_drops.
 */
struct numa_drop_counters___x {
	atomic_t drops0;
	atomic_t drops1;
} __attribute__((preserve_access_index));

struct sock___x {
	struct numa_drop_counters___x *sk_drop_counters;
} __attribute__((preserve_access_index));

static __always_inline __u32 sk_drops_read(struct sock *sk)
{
	__u32 drops = BPF_CORE_READ(sk, sk_drops.counter);
	struct sock___x *skx = (void *)sk;

	if (bpf_core_field_exists(skx->sk_drop_counters)) {
		struct numa_drop_counters___x *c = BPF_CORE_READ(skx, sk_drop_counters);

		if (c)
			drops += BPF_CORE_READ(c, drops0.counter) +
				 BPF_CORE_READ(c, drops1.counter);
	}
	return drops;
}

/* Local and remote address of a socket into 16-byte buffers (network order;
 * IPv4 in the first 4 bytes). */
static __always_inline void read_addrs(__u8 *laddr, __u8 *raddr, __u16 family,
				       struct sock_common *skc)
{
	if (family == 2 /* AF_INET */) {
		bpf_core_read(laddr, 4, &skc->skc_rcv_saddr);
		bpf_core_read(raddr, 4, &skc->skc_daddr);
	} else {
		bpf_core_read(laddr, 16, &skc->skc_v6_rcv_saddr);
		bpf_core_read(raddr, 16, &skc->skc_v6_daddr);
	}
}

/*
 * 6.10 ("net: change proto and proto_ops accept type", 92ef0fd55ac8) folded
 * inet_csk_accept()'s (int flags, int *err, bool kern) into one
 * struct proto_accept_arg *. The flavour lets the check build against any
 * vmlinux.h; fexit programs pick their prototype with it at load time.
 */
struct proto_accept_arg___x {
	int flags;
	int err;
} __attribute__((preserve_access_index));

static __always_inline int inet_csk_accept_has_arg_struct(void)
{
	return bpf_core_type_exists(struct proto_accept_arg___x);
}

/*
 * 5.11 ("epoll: take epitem list out of struct file") replaced
 * file->f_ep_links (a list_head) with file->f_ep (an hlist_head pointer) and
 * epitem->fllink with an hlist_node. Only the newer layout is walked; on
 * older kernels the epitems of a file are not found (0 returned).
 */
struct file___x {
	struct hlist_head *f_ep;
} __attribute__((preserve_access_index));

/* The first epitem link of a BTF-typed file (direct loads), as a number:
 * the epitems are read from it with probe reads. */
static __always_inline __u64 file_first_epitem_link(struct file *file)
{
	struct file___x *f = (void *)file;
	struct hlist_head *head;

	if (!file || !bpf_core_field_exists(f->f_ep))
		return 0;
	head = f->f_ep;
	return head ? (__u64)head->first : 0;
}

#endif
