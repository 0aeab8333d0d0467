// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The snapshot: what the kernel holds for one process's fds, sockets and
 * epoll instances, read by BPF iterators. Each program writes fixed records
 * (bpf/socktrace.h) into the iterator's seq file; user/snapshot.c parses them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "socktrace.h"
#include "compat.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0;

/* Filled while walking the target's files; read by user space afterwards. */
__u32 task_seen = 0;
char task_comm[ST_COMM_LEN] = {};
/* Listeners of the target with a request socket in their SYN queue: when
 * none has, iter/tcp has nothing to find and is not run. */
__u32 listeners_half_open = 0;

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFIFO 0010000
#define ANON_INODE_FS_MAGIC 0x09041934
#define PIPEFS_MAGIC 0x50495045
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_LISTEN 10
#define TCP_NEW_SYN_RECV 12

/* Listening sockets of the target, filled by the task_file pass, so the
 * iter/tcp pass can pick out request sockets that belong to them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} target_listeners SEC(".maps");

struct scratch {
	struct st_fd_rec fd_rec;
	struct st_path_rec path_hdr;
	char path[ST_PATH_MAX];
	/* the orphans of the epoll walk under way (see ep_walk) */
	__u32 orphans;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline int name_is(const char *name, const char *want, int n)
{
	for (int i = 0; i < n; i++)
		if (name[i] != want[i])
			return 0;
	return 1;
}

static __always_inline __u16 anon_kind(struct file *file)
{
	char name[16] = {};
	const unsigned char *dname = BPF_CORE_READ(file, f_path.dentry, d_name.name);

	bpf_probe_read_kernel_str(name, sizeof(name), dname);
	if (name_is(name, "[eventpoll]", 11))
		return ST_FD_EPOLL;
	if (name_is(name, "[eventfd]", 9))
		return ST_FD_EVENTFD;
	if (name_is(name, "[timerfd]", 9))
		return ST_FD_TIMERFD;
	if (name_is(name, "[signalfd]", 10))
		return ST_FD_SIGNALFD;
	return ST_FD_OTHER;
}

/*
 * Sockets are most of a busy server's fds, so this path uses direct loads
 * through the BTF pointer bpf_sock_from_file() gives, which the JIT turns
 * into plain loads, instead of one probe-read helper call per field:
 * 10,000 sockets in about 10 ms. struct sock's fields only: the
 * tcp_sock ones beyond it are probe-read, since 6.18.44's verifier marks
 * sock->sk untrusted and bpf_skc_to_tcp_sock() turns an untrusted pointer
 * away (the program failed to load there).
 */
static __always_inline void fill_inet(struct st_fd_rec *r, struct sock *sk)
{
	struct sock_common *skc = &sk->__sk_common;

	r->lport = skc->skc_num;
	r->rport = bpf_ntohs(skc->skc_dport);
	if (r->family == AF_INET) {
		*(__u32 *)r->laddr = skc->skc_rcv_saddr;
		*(__u32 *)r->raddr = skc->skc_daddr;
		return;
	}
	for (int i = 0; i < 4; i++) {
		((__u32 *)r->laddr)[i] = skc->skc_v6_rcv_saddr.in6_u.u6_addr32[i];
		((__u32 *)r->raddr)[i] = skc->skc_v6_daddr.in6_u.u6_addr32[i];
	}
}

/*
 * A connected TCP socket's queued bytes, from four tcp_sock fields beyond
 * struct sock (probe reads: see fill_inet()). Where they lie within
 * TCP_SEQ_SPAN bytes of each other (212 since 6.8 grouped tcp_sock's fields
 * by cache line) one read brings them all, into buf (the scratch path
 * buffer, which a socket does not use).
 */
#define TCP_SEQ_SPAN ST_PATH_MAX

static __always_inline void tcp_queued(struct st_fd_rec *r, struct tcp_sock *tp, __u8 *buf)
{
	__u32 o_rcv_nxt = bpf_core_field_offset(tp->rcv_nxt);
	__u32 o_copied = bpf_core_field_offset(tp->copied_seq);
	__u32 o_write = bpf_core_field_offset(tp->write_seq);
	__u32 o_una = bpf_core_field_offset(tp->snd_una);
	__u32 lo = o_rcv_nxt, hi = o_rcv_nxt;
	__u32 rcv_nxt, copied, write, una;
	__s32 rx;

	/* offsets are constants at load time: the verifier takes one way */
	lo = o_copied < lo ? o_copied : lo;
	lo = o_write < lo ? o_write : lo;
	lo = o_una < lo ? o_una : lo;
	hi = o_copied > hi ? o_copied : hi;
	hi = o_write > hi ? o_write : hi;
	hi = o_una > hi ? o_una : hi;
	if (hi + 4 - lo <= TCP_SEQ_SPAN) {
		if (bpf_probe_read_kernel(buf, hi + 4 - lo, (void *)tp + lo))
			return;
		__builtin_memcpy(&rcv_nxt, buf + (o_rcv_nxt - lo), 4);
		__builtin_memcpy(&copied, buf + (o_copied - lo), 4);
		__builtin_memcpy(&write, buf + (o_write - lo), 4);
		__builtin_memcpy(&una, buf + (o_una - lo), 4);
	} else {
		rcv_nxt = BPF_CORE_READ(tp, rcv_nxt);
		copied = BPF_CORE_READ(tp, copied_seq);
		write = BPF_CORE_READ(tp, write_seq);
		una = BPF_CORE_READ(tp, snd_una);
	}
	rx = rcv_nxt - copied;
	r->rx_queue = rx > 0 ? rx : 0;
	r->tx_queue = write - una;
}

static __always_inline void fill_socket(struct st_fd_rec *r, struct file *file, __u8 *buf)
{
	struct socket *sock = bpf_sock_from_file(file);
	struct sock *sk;
	__u16 protocol;

	sk = sock ? sock->sk : NULL;
	if (!sk) {
		r->kind = ST_FD_SOCKET;
		return;
	}
	r->obj_id = (__u64)sk;
	r->family = sk->__sk_common.skc_family;
	r->state = sk->__sk_common.skc_state;
	r->sock_type = sk->sk_type;
	protocol = sk->sk_protocol;

	if (r->family == AF_UNIX) {
		r->kind = ST_FD_UNIX;
		r->rx_queue = sk->sk_backlog.rmem_alloc.counter;
		return;
	}
	if (r->family != AF_INET && r->family != AF_INET6) {
		r->kind = ST_FD_SOCKET;
		return;
	}
	fill_inet(r, sk);
	if (protocol == IPPROTO_TCP && r->sock_type == 1 /* SOCK_STREAM */) {
		struct tcp_sock *tp = (void *)sk;

		r->kind = r->family == AF_INET ? ST_FD_TCP : ST_FD_TCP6;
		if (r->state == TCP_LISTEN) {
			__u32 one = 1;
			__u64 key = (__u64)sk;

			/* Same as ss: Recv-Q is the accept queue, Send-Q its limit. */
			r->accept_queue = sk->sk_ack_backlog;
			r->accept_max = sk->sk_max_ack_backlog;
			r->syn_queue = BPF_CORE_READ(tp, inet_conn.icsk_accept_queue.qlen.counter);
			if (r->syn_queue)
				listeners_half_open++;
			r->drops = sk_drops_read(sk);
			r->rx_queue = r->accept_queue;
			r->tx_queue = r->accept_max;
			bpf_map_update_elem(&target_listeners, &key, &one, BPF_ANY);
		} else {
			tcp_queued(r, tp, buf);
		}
		return;
	}
	if (protocol == IPPROTO_UDP) {
		r->kind = r->family == AF_INET ? ST_FD_UDP : ST_FD_UDP6;
		r->rx_queue = sk->sk_backlog.rmem_alloc.counter;
		r->tx_queue = sk->sk_wmem_alloc.refs.counter - 1;
		r->drops = sk_drops_read(sk);
		return;
	}
	r->kind = ST_FD_SOCKET;
}

/*
 * Epoll items are written from the watched file's side (file->f_ep), one
 * file per iterator call: a seq-file record must fit the iterator's buffer
 * (32 KiB), and an epoll instance watching 10,000 fds would not. A file's
 * 256 items (48 bytes each) and an epoll file's 256 orphans fit.
 */
#define ST_F_EP_MAX 8
#define ST_F_EP_MORE (256 - ST_F_EP_MAX)
#define ST_ORPHANS_MAX 256

static __always_inline void emit_epitem(struct seq_file *seq, struct epitem *epi)
{
	struct st_epitem_rec rec = {};
	struct epitem item;

	/* One helper call for the whole item; fields below are CO-RE
	 * relocated within the copy. */
	if (bpf_core_read(&item, bpf_core_type_size(struct epitem), epi))
		return;
	rec.hdr.type = ST_REC_EPITEM;
	rec.hdr.len = sizeof(rec);
	rec.ep_id = (__u64)item.ep;
	rec.fd = item.ffd.fd;
	rec.events = item.event.events;
	rec.file_id = (__u64)item.ffd.file;
	/* list_del_init() leaves rdllink pointing at itself off the list. */
	rec.ready = item.rdllink.next && item.rdllink.next != &epi->rdllink;
	bpf_seq_write(seq, &rec, sizeof(rec));
}

/* emit_file_epitems() past its first ST_F_EP_MAX items */
struct f_ep_walk {
	struct seq_file *seq;
	struct hlist_node *node;
};

static long f_ep_step(__u32 i, void *data)
{
	struct f_ep_walk *w = data;
	struct hlist_node *node = w->node;

	if (!node)
		return 1;
	emit_epitem(w->seq, container_of(node, struct epitem, fllink));
	w->node = BPF_CORE_READ(node, next);
	return 0;
}

/* The instances watching this file: a few inline, the rest (a listener
 * every worker of a server watches) in a bpf_loop(). */
static __always_inline void emit_file_epitems(struct seq_file *seq, struct file *file)
{
	struct hlist_head *head = file->f_ep;
	struct hlist_node *node;

	if (!head)
		return;
	node = BPF_CORE_READ(head, first);
	for (int i = 0; i < ST_F_EP_MAX && node; i++) {
		emit_epitem(seq, container_of(node, struct epitem, fllink));
		node = BPF_CORE_READ(node, next);
	}
	if (node) {
		struct f_ep_walk w = { .seq = seq, .node = node };

		bpf_loop(ST_F_EP_MORE, f_ep_step, &w, 0);
	}
}

/*
 * The walk's state, on the stack across bpf_loop() steps. Its count of
 * orphans is kept in the scratch map, not here: a counter on the stack
 * compared with its bound is a known value at every step, so from 6.7
 * (which verifies a bpf_loop() callback until its states converge) the
 * verifier walked each of its 256 values, 234,000 instructions and 0.6 s
 * of every start (3,300 and 4 ms with the count in a map value).
 */
struct ep_walk {
	struct seq_file *seq;
	struct rb_node *node;
	struct file **fd_array; /* the target's fd table */
	struct scratch *s;
	__u32 max_fds;
	__u32 descending;
};

/* An item whose fd no longer holds its file (closed, or reused, while a dup
 * keeps the file open) is not found from the fd side: write it from here. */
static __always_inline void visit_epitem(struct ep_walk *w, struct rb_node *n)
{
	struct epitem *epi = container_of(n, struct epitem, rbn);
	__u32 fd = BPF_CORE_READ(epi, ffd.fd);
	struct file *held = NULL;

	if (fd < w->max_fds)
		bpf_probe_read_kernel(&held, sizeof(held), &w->fd_array[fd]);
	if (held == BPF_CORE_READ(epi, ffd.file) || w->s->orphans >= ST_ORPHANS_MAX)
		return;
	w->s->orphans++;
	emit_epitem(w->seq, epi);
}

/*
 * One step of an in-order walk of the interest rb-tree, using parent
 * pointers instead of a stack: nested bounded loops inside the fd loop exceed
 * the verifier's complexity limit, bpf_loop() with O(1) steps does not.
 */
static long ep_walk_step(__u32 i, void *data)
{
	struct ep_walk *w = data;
	struct rb_node *n = w->node, *parent;
	struct rb_node node, pnode;

	/* One read per node: this walk runs once per watched fd. */
	if (!n || bpf_probe_read_kernel(&node, sizeof(node), n))
		return 1;
	if (w->descending) {
		if (node.rb_left) {
			w->node = node.rb_left;
			return 0;
		}
		visit_epitem(w, n);
		if (node.rb_right) {
			w->node = node.rb_right;
			return 0;
		}
		w->descending = 0;
		return 0;
	}
	parent = (struct rb_node *)(node.__rb_parent_color & ~3UL);
	if (!parent || bpf_probe_read_kernel(&pnode, sizeof(pnode), parent)) {
		w->node = NULL;
		return 1;
	}
	w->node = parent;
	if (pnode.rb_left == n) {
		visit_epitem(w, parent);
		if (pnode.rb_right) {
			w->node = pnode.rb_right;
			w->descending = 1;
		}
	}
	return 0;
}

static __always_inline void walk_epoll(struct seq_file *seq, struct task_struct *task,
				       struct file *file, struct scratch *s)
{
	struct eventpoll *ep = BPF_CORE_READ(file, private_data);
	struct ep_walk w = {};

	s->fd_rec.obj_id = (__u64)ep;
	s->orphans = 0;
	w.s = s;
	w.seq = seq;
	w.fd_array = BPF_CORE_READ(task, files, fdt, fd);
	w.max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
	w.node = BPF_CORE_READ(ep, rbr.rb_root.rb_node);
	w.descending = 1;
	/* Each item takes at most three steps (down, visit, up). */
	bpf_loop(3 * ST_EPOLL_MAX_ITEMS, ep_walk_step, &w, 0);
}

SEC("iter/task_file")
int dump_task_file(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct scratch *s;
	struct st_fd_rec *r;
	struct inode *inode;
	__u32 zero = 0, mode;
	unsigned long magic;

	if (!task || !file || task->tgid != target_tgid)
		return 0;
	/* The pid-filtered task iterator of 6.1 visits every thread, each with
	 * the same fd table; later kernels skip threads sharing the leader's. */
	if (task->pid != task->tgid && task->files == task->group_leader->files)
		return 0;
	if (!task_seen) {
		task_seen = 1;
		bpf_probe_read_kernel_str(task_comm, sizeof(task_comm),
					  task->group_leader->comm);
	}
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	r = &s->fd_rec;
	__builtin_memset(r, 0, sizeof(*r));
	r->hdr.type = ST_REC_FD;
	r->hdr.len = sizeof(*r);
	r->fd = ctx->fd;

	inode = file->f_inode;
	mode = inode->i_mode;
	magic = inode->i_sb->s_magic;
	r->ino = inode->i_ino;

	/* Anon inodes are S_IFREG since 6.15, so ask the superblock first. */
	if (magic == ANON_INODE_FS_MAGIC) {
		r->kind = anon_kind(file);
		if (r->kind == ST_FD_EPOLL)
			walk_epoll(seq, task, file, s);
	} else if ((mode & S_IFMT) == S_IFSOCK) {
		fill_socket(r, file, (__u8 *)s->path);
	} else if ((mode & S_IFMT) == S_IFIFO || magic == PIPEFS_MAGIC) {
		r->kind = ST_FD_PIPE;
	} else {
		long len;

		r->kind = ST_FD_FILE;
		len = bpf_d_path((struct path *)&file->f_path, s->path, sizeof(s->path));
		if (len > 1) {
			len -= 1; /* drop the NUL */
			s->path_hdr.hdr.type = ST_REC_PATH;
			s->path_hdr.fd = ctx->fd;
			s->path_hdr.path_len = len;
			s->path_hdr.hdr.len = sizeof(s->path_hdr) + len;
			bpf_seq_write(seq, &s->path_hdr, sizeof(s->path_hdr));
			bpf_seq_write(seq, s->path, len & (ST_PATH_MAX - 1));
		}
	}
	emit_file_epitems(seq, file);
	bpf_seq_write(seq, r, sizeof(*r));
	return 0;
}

/*
 * Request sockets live in the established hash, not on the listener; iter/tcp
 * is the only place to see which half-open connections a listener holds.
 */
SEC("iter/tcp")
int dump_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct request_sock *req;
	struct st_reqsk_rec rec = {};
	__u64 listener;

	if (!skc || BPF_CORE_READ(skc, skc_state) != TCP_NEW_SYN_RECV)
		return 0;
	req = (struct request_sock *)skc;
	listener = (__u64)BPF_CORE_READ(req, __req_common.skc_listener);
	if (!bpf_map_lookup_elem(&target_listeners, &listener))
		return 0;
	rec.hdr.type = ST_REC_REQSK;
	rec.hdr.len = sizeof(rec);
	rec.listener_id = listener;
	rec.family = BPF_CORE_READ(skc, skc_family);
	rec.lport = BPF_CORE_READ(skc, skc_num);
	rec.rport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	rec.retrans = BPF_CORE_READ(req, num_retrans);
	read_addrs(rec.laddr, rec.raddr, rec.family, skc);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
