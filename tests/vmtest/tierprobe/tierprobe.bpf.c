// SPDX-License-Identifier: GPL-2.0
/* One tiny program per attach tier, all counting tcp_v4_connect() by one
 * process. tierprobe loads exactly one of them. No vmlinux.h: none of the
 * programs reads a kernel struct, so the file builds before the project's
 * vmlinux.h exists and on any kernel's headers.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum { TIER_FENTRY, TIER_KPROBE, TIER_TRACEPOINT, TIER_TP_BTF, TIER_MAX };

const volatile __u32 target_tgid = 0;
__u64 hits[TIER_MAX] = {};

static __always_inline void count(int tier)
{
	if ((bpf_get_current_pid_tgid() >> 32) == target_tgid)
		__sync_fetch_and_add(&hits[tier], 1);
}

SEC("fentry/tcp_v4_connect")
int on_fentry(void *ctx)
{
	count(TIER_FENTRY);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int on_kprobe(void *ctx)
{
	count(TIER_KPROBE);
	return 0;
}

/* CLOSE -> SYN_SENT happens in connect(), in the caller's context */
SEC("tracepoint/sock/inet_sock_set_state")
int on_tracepoint(void *ctx)
{
	count(TIER_TRACEPOINT);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int on_tp_btf(void *ctx)
{
	count(TIER_TP_BTF);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
