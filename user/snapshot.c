// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Takes snapshots with the iterator programs of bpf/snapshot.bpf.c and turns
 * their records into struct st_snapshot.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "snapshot.h"
#include "snapshot.skel.h"
#include "util.h"

struct snapshot_taker {
	struct snapshot_bpf *skel;
	struct bpf_link *file_link;
	struct bpf_link *tcp_link;
	uint32_t pid;
	int own_netns;	  /* fd of socktrace's netns, -1 when same as target */
	int target_netns; /* fd of the target's netns, -1 when same */
	char *buf;	  /* reused read buffers */
	size_t cap;
	char *tcp_buf;
	size_t tcp_cap;
	size_t tcp_len;	      /* the last iter/tcp walk's records, in tcp_buf */
	uint64_t tcp_cost_ns; /* what a walk costs (moving average) */
	uint64_t tcp_next_ns; /* periodic: no walk before this */
	uint64_t tcp_walks, tcp_walk_ns_total;
	int periodic;
};

/*
 * iter/tcp walks the whole established hash of the target's namespace,
 * every bucket and every socket in it, TIME_WAIT ones too (namespaces share
 * the host's table unless net.ipv4.tcp_child_ehash_entries gives them their
 * own): what it costs is the machine's, not the target's. Among the churn
 * benchmark's TIME_WAIT sockets it took 7-20 ms, 43% of the live view's CPU
 * time at a snapshot per 100 ms. A periodic taker walks at most once
 * per this many times what a walk costs (1% of a CPU) and keeps the last
 * walk's lists in between.
 */
#define TCP_WALK_PERIOD_COSTS 100

/* Reads an iterator fd to EOF into *buf, growing it. Returns bytes or -errno. */
static ssize_t read_iter(int iter_fd, char **buf, size_t *cap)
{
	size_t used = 0;

	for (;;) {
		ssize_t n;

		if (*cap - used < 65536) {
			size_t ncap = *cap ? *cap * 2 : 1 << 20;
			char *nbuf = realloc(*buf, ncap);

			if (!nbuf)
				return -ENOMEM;
			*buf = nbuf;
			*cap = ncap;
		}
		n = read(iter_fd, *buf + used, *cap - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return (ssize_t)used;
		used += (size_t)n;
	}
}

static int same_netns(uint32_t pid, int *target_fd, int *own_fd)
{
	char path[64];
	struct stat a, b;

	*target_fd = *own_fd = -1;
	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	if (stat(path, &a) || stat("/proc/self/ns/net", &b))
		return 1; /* best effort: stay in our own */
	if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		return 1;
	*target_fd = open(path, O_RDONLY | O_CLOEXEC);
	*own_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*target_fd < 0 || *own_fd < 0) {
		if (*target_fd >= 0)
			close(*target_fd);
		if (*own_fd >= 0)
			close(*own_fd);
		*target_fd = *own_fd = -1;
		return 1;
	}
	return 0;
}

int snapshot_taker__open(struct snapshot_taker **out, uint32_t pid)
{
	DECLARE_LIBBPF_OPTS(bpf_object_open_opts, open_opts,
			    .btf_custom_path = st_btf_path());
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, iter_opts);
	union bpf_iter_link_info linfo;
	struct snapshot_taker *t;
	int err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->pid = pid;
	t->skel = snapshot_bpf__open_opts(&open_opts);
	if (!t->skel) {
		err = -errno;
		st_err("failed to open snapshot programs: %s", strerror(-err));
		goto cleanup;
	}
	t->skel->rodata->target_tgid = pid;
	err = snapshot_bpf__load(t->skel);
	if (err) {
		st_err("failed to load snapshot programs: %s (needs Linux 5.17+ "
		       "with BTF and BPF iterators; run with -v for the verifier log)",
		       strerror(-err));
		goto cleanup;
	}

	/* Task iterators take a pid filter since 6.1; without it the program
	 * filters by tgid itself, so an older kernel only costs more time. */
	memset(&linfo, 0, sizeof(linfo));
	linfo.task.pid = pid;
	iter_opts.link_info = &linfo;
	iter_opts.link_info_len = sizeof(linfo);
	t->file_link = bpf_program__attach_iter(t->skel->progs.dump_task_file, &iter_opts);
	if (!t->file_link)
		t->file_link = bpf_program__attach_iter(t->skel->progs.dump_task_file, NULL);
	if (!t->file_link) {
		err = -errno;
		st_err("failed to attach iter/task_file: %s", strerror(-err));
		goto cleanup;
	}
	t->tcp_link = bpf_program__attach_iter(t->skel->progs.dump_tcp, NULL);
	if (!t->tcp_link)
		st_warn("iter/tcp unavailable (%s): half-open connections not listed",
			strerror(errno));
	same_netns(pid, &t->target_netns, &t->own_netns);
	*out = t;
	return 0;

cleanup:
	snapshot_taker__close(t);
	return err;
}

uint32_t snapshot_taker__pid(const struct snapshot_taker *t)
{
	return t->pid;
}

void snapshot_taker__close(struct snapshot_taker *t)
{
	if (!t)
		return;
	bpf_link__destroy(t->file_link);
	bpf_link__destroy(t->tcp_link);
	snapshot_bpf__destroy(t->skel);
	if (t->own_netns >= 0)
		close(t->own_netns);
	if (t->target_netns >= 0)
		close(t->target_netns);
	free(t->buf);
	free(t->tcp_buf);
	free(t);
}

static void clear_listener_map(struct snapshot_taker *t)
{
	int fd = bpf_map__fd(t->skel->maps.target_listeners);
	__u64 key, next;

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(fd, &key))
			break;
	}
}

/* iter/tcp walks the netns of whoever creates the iterator: the target's. */
static ssize_t read_tcp_iter(struct snapshot_taker *t)
{
	ssize_t n;
	int fd;

	if (!t->tcp_link)
		return 0;
	if (t->target_netns >= 0 && setns(t->target_netns, CLONE_NEWNET))
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(t->tcp_link));
	if (t->target_netns >= 0 && setns(t->own_netns, CLONE_NEWNET)) {
		/* Staying in the wrong netns would corrupt later work. */
		st_err("failed to return to own network namespace: %s", strerror(errno));
		exit(ST_EXIT_FAIL);
	}
	if (fd < 0)
		return -errno;
	n = read_iter(fd, &t->tcp_buf, &t->tcp_cap);
	close(fd);
	return n;
}

void snapshot_taker__set_periodic(struct snapshot_taker *t)
{
	t->periodic = 1;
}

void snapshot_taker__walks(const struct snapshot_taker *t, uint64_t *walks, uint64_t *ns_total)
{
	*walks = t->tcp_walks;
	*ns_total = t->tcp_walk_ns_total;
}

/* The request-socket records for this snapshot: none when no listener of
 * the target has any (the file pass counts them, exactly as the kernel
 * does); for a periodic taker, the last walk's until the next is due. */
static size_t half_open_recs(struct snapshot_taker *t)
{
	uint64_t t0, cost;
	ssize_t n;

	if (!t->skel->bss->listeners_half_open) {
		t->tcp_len = 0;
		return 0;
	}
	t0 = st_now_ns();
	if (t->periodic && t->tcp_walks && t0 < t->tcp_next_ns)
		return t->tcp_len;
	n = read_tcp_iter(t);
	cost = st_now_ns() - t0;
	t->tcp_cost_ns = t->tcp_walks ? (4 * t->tcp_cost_ns + cost) / 5 : cost;
	t->tcp_walks++;
	t->tcp_walk_ns_total += cost;
	t->tcp_next_ns = t0 + TCP_WALK_PERIOD_COSTS * t->tcp_cost_ns;
	t->tcp_len = n > 0 ? (size_t)n : 0;
	return t->tcp_len;
}

int snapshot_taker__take(struct snapshot_taker *t, struct st_snapshot *snap)
{
	ssize_t file_len;
	size_t tcp_len;
	int iter_fd, err;

	memset(snap, 0, sizeof(*snap));
	t->skel->bss->task_seen = 0;
	t->skel->bss->listeners_half_open = 0;
	clear_listener_map(t);

	iter_fd = bpf_iter_create(bpf_link__fd(t->file_link));
	if (iter_fd < 0)
		return -errno;
	file_len = read_iter(iter_fd, &t->buf, &t->cap);
	close(iter_fd);

	if (file_len < 0)
		return (int)file_len;
	tcp_len = half_open_recs(t);
	if (!t->skel->bss->task_seen && !st_pid_alive(t->pid))
		return -ESRCH;
	err = st_snapshot__parse(snap, t->buf, (size_t)file_len, t->tcp_buf, tcp_len);
	if (err)
		return err;
	snap->pid = t->pid;
	snap->time_ns = st_now_ns();
	memcpy(snap->comm, t->skel->bss->task_comm, ST_COMM_LEN);
	snap->comm[ST_COMM_LEN] = '\0';
	if (!t->skel->bss->task_seen) {
		/* A live process with no open fds: name it from /proc. */
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%u/comm", t->pid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(snap->comm, sizeof(snap->comm), f))
				snap->comm[strcspn(snap->comm, "\n")] = '\0';
			fclose(f);
		}
	}
	return 0;
}

/* ---- parsing ---- */

#define GROW(arr, n, cap)                                                     \
	({                                                                    \
		int __ok = 1;                                                 \
		if ((n) == (cap)) {                                           \
			size_t __c = (cap) ? (cap) * 2 : 16;                  \
			void *__p = realloc((arr), __c * sizeof(*(arr)));     \
			if (__p) {                                            \
				(arr) = __p;                                  \
				(cap) = __c;                                  \
			} else {                                              \
				__ok = 0;                                     \
			}                                                     \
		}                                                             \
		__ok;                                                         \
	})

/* st_fd, st_ep_entry, st_listener and st_epoll all start with int32_t fd. */
_Static_assert(offsetof(struct st_fd, fd) == 0 && offsetof(struct st_ep_entry, fd) == 0 &&
		       offsetof(struct st_listener, fd) == 0 && offsetof(struct st_epoll, fd) == 0,
	       "cmp_leading_fd needs fd first");

static int cmp_leading_fd(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_epitem(const void *a, const void *b)
{
	const struct st_epitem_rec *x = a, *y = b;

	if (x->ep_id != y->ep_id)
		return x->ep_id < y->ep_id ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	return (x->file_id > y->file_id) - (x->file_id < y->file_id);
}

static void fill_addr(struct st_addr *a, int family, const uint8_t addr[16],
		      uint16_t port)
{
	a->family = (uint8_t)family;
	memcpy(a->addr, addr, 16);
	a->port = port;
}

struct epitem_acc {
	struct st_epitem_rec *items;
	size_t n, cap;
};

int st_snapshot__parse(struct st_snapshot *snap, const void *file_recs,
		       size_t file_len, const void *tcp_recs, size_t tcp_len)
{
	const char *p = file_recs, *end = p + file_len;
	size_t fd_cap = 0, l_cap = 0, e_cap = 0;
	struct epitem_acc acc = {};
	char *pending_path = NULL;
	int32_t pending_fd = -1;
	int err = -EINVAL;

	memset(snap, 0, sizeof(*snap));
	while (p < end) {
		struct st_rec_hdr hdr;

		if ((size_t)(end - p) < sizeof(hdr))
			goto out;
		memcpy(&hdr, p, sizeof(hdr));
		if (hdr.len < sizeof(hdr) || hdr.len > (size_t)(end - p))
			goto out;
		switch (hdr.type) {
		case ST_REC_PATH: {
			struct st_path_rec pr;

			if (hdr.len < sizeof(pr))
				goto out;
			memcpy(&pr, p, sizeof(pr));
			if (pr.path_len != hdr.len - sizeof(pr))
				goto out;
			free(pending_path);
			pending_path = strndup(p + sizeof(pr), pr.path_len);
			pending_fd = (int32_t)pr.fd;
			break;
		}
		case ST_REC_FD: {
			struct st_fd_rec r;
			struct st_fd *f;

			if (hdr.len != sizeof(r))
				goto out;
			memcpy(&r, p, sizeof(r));
			/* One task's fds come in ascending order: a smaller or
			 * equal fd is another thread sharing the table (when
			 * the BPF side could not tell, e.g. a zombie leader). */
			if (snap->n_fds && (int32_t)r.fd <= snap->fds[snap->n_fds - 1].fd) {
				p = end;
				continue;
			}
			if (!GROW(snap->fds, snap->n_fds, fd_cap)) {
				err = -ENOMEM;
				goto out;
			}
			f = &snap->fds[snap->n_fds++];
			memset(f, 0, sizeof(*f));
			f->fd = (int32_t)r.fd;
			f->kind = r.kind < ST_FD_KIND_COUNT ? r.kind : ST_FD_OTHER;
			f->state = r.state;
			f->family = r.family;
			f->sock_type = r.sock_type;
			if (r.family == 2 || r.family == 10) {
				fill_addr(&f->local, r.family, r.laddr, r.lport);
				fill_addr(&f->remote, r.family, r.raddr, r.rport);
			}
			f->rx_queue = r.rx_queue;
			f->tx_queue = r.tx_queue;
			f->drops = r.drops;
			f->ino = r.ino;
			f->obj_id = r.obj_id;
			if (pending_path && pending_fd == f->fd) {
				f->path = pending_path;
				pending_path = NULL;
			}
			if ((f->kind == ST_FD_TCP || f->kind == ST_FD_TCP6) &&
			    f->state == 10 /* LISTEN */) {
				struct st_listener *l;

				if (!GROW(snap->listeners, snap->n_listeners, l_cap)) {
					err = -ENOMEM;
					goto out;
				}
				l = &snap->listeners[snap->n_listeners++];
				memset(l, 0, sizeof(*l));
				l->fd = f->fd;
				l->family = f->family;
				l->local = f->local;
				l->syn_queue = r.syn_queue;
				l->accept_queue = r.accept_queue;
				l->accept_max = r.accept_max;
				l->drops = r.drops;
				l->sk_id = r.obj_id;
			}
			if (f->kind == ST_FD_EPOLL) {
				struct st_epoll *e;

				if (!GROW(snap->epolls, snap->n_epolls, e_cap)) {
					err = -ENOMEM;
					goto out;
				}
				e = &snap->epolls[snap->n_epolls++];
				memset(e, 0, sizeof(*e));
				e->fd = f->fd;
				e->ep_id = r.obj_id;
			}
			break;
		}
		case ST_REC_EPITEM: {
			if (hdr.len != sizeof(struct st_epitem_rec))
				goto out;
			if (!GROW(acc.items, acc.n, acc.cap)) {
				err = -ENOMEM;
				goto out;
			}
			memcpy(&acc.items[acc.n++], p, sizeof(struct st_epitem_rec));
			break;
		}
		default:
			/* Unknown record types are skipped: newer BPF, older parser. */
			break;
		}
		p += hdr.len;
	}

	/* An item is written once per fd holding its file (dup()s) and maybe
	 * again by the orphan walk: keep one per (epoll, fd, file). */
	qsort(acc.items, acc.n, sizeof(*acc.items), cmp_epitem);
	{
		size_t w = 0;

		for (size_t j = 0; j < acc.n; j++)
			if (!w || cmp_epitem(&acc.items[w - 1], &acc.items[j]))
				acc.items[w++] = acc.items[j];
		acc.n = w;
	}
	/* Epoll items come before or after their epoll fd: join them now. */
	for (size_t i = 0; i < snap->n_epolls; i++) {
		struct st_epoll *e = &snap->epolls[i];
		size_t ni = 0, nr = 0;

		for (size_t j = 0; j < acc.n; j++) {
			if (acc.items[j].ep_id != e->ep_id)
				continue;
			ni++;
			nr += acc.items[j].ready ? 1 : 0;
		}
		e->interest = calloc(ni ? ni : 1, sizeof(*e->interest));
		e->ready = calloc(nr ? nr : 1, sizeof(*e->ready));
		if (!e->interest || !e->ready) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t j = 0; j < acc.n; j++) {
			struct st_epitem_rec *it = &acc.items[j];

			if (it->ep_id != e->ep_id)
				continue;
			e->interest[e->n_interest++] = (struct st_ep_entry){ (int32_t)it->fd, it->events };
			if (it->ready)
				e->ready[e->n_ready++] = (struct st_ep_entry){ (int32_t)it->fd, it->events };
		}
		qsort(e->interest, e->n_interest, sizeof(*e->interest), cmp_leading_fd);
		qsort(e->ready, e->n_ready, sizeof(*e->ready), cmp_leading_fd);
	}

	if (tcp_recs && tcp_len) {
		err = st_snapshot__add_half_open(snap, tcp_recs, tcp_len);
		if (err)
			goto out;
		err = -EINVAL;
	}
	qsort(snap->fds, snap->n_fds, sizeof(*snap->fds), cmp_leading_fd);
	qsort(snap->listeners, snap->n_listeners, sizeof(*snap->listeners), cmp_leading_fd);
	qsort(snap->epolls, snap->n_epolls, sizeof(*snap->epolls), cmp_leading_fd);
	err = 0;
out:
	free(pending_path);
	free(acc.items);
	if (err)
		st_snapshot__free(snap);
	return err;
}

int st_snapshot__add_half_open(struct st_snapshot *snap, const void *tcp_recs,
			       size_t tcp_len)
{
	/* Joined to their listener by the listener socket address. */
	const char *p = tcp_recs, *end = p + tcp_len;

	while (p < end) {
		struct st_rec_hdr hdr;
		struct st_reqsk_rec rq;

		if ((size_t)(end - p) < sizeof(hdr))
			return -EINVAL;
		memcpy(&hdr, p, sizeof(hdr));
		if (hdr.len < sizeof(hdr) || hdr.len > (size_t)(end - p))
			return -EINVAL;
		if (hdr.type == ST_REC_REQSK && hdr.len == sizeof(rq)) {
			memcpy(&rq, p, sizeof(rq));
			for (size_t i = 0; i < snap->n_listeners; i++) {
				struct st_listener *l = &snap->listeners[i];
				struct st_half_open *h, *nh;

				if (l->sk_id != rq.listener_id)
					continue;
				nh = realloc(l->half_open, (l->n_half_open + 1) * sizeof(*nh));
				if (!nh)
					return -ENOMEM;
				l->half_open = nh;
				h = &nh[l->n_half_open++];
				fill_addr(&h->local, rq.family, rq.laddr, rq.lport);
				fill_addr(&h->remote, rq.family, rq.raddr, rq.rport);
				h->synack_retrans = rq.retrans;
				break;
			}
		}
		p += hdr.len;
	}

	return 0;
}

void st_snapshot__free(struct st_snapshot *snap)
{
	if (!snap)
		return;
	for (size_t i = 0; i < snap->n_fds; i++)
		free(snap->fds[i].path);
	for (size_t i = 0; i < snap->n_listeners; i++)
		free(snap->listeners[i].half_open);
	for (size_t i = 0; i < snap->n_epolls; i++) {
		free(snap->epolls[i].interest);
		free(snap->epolls[i].ready);
	}
	free(snap->fds);
	free(snap->listeners);
	free(snap->epolls);
	memset(snap, 0, sizeof(*snap));
}

static void *dup_array(const void *src, size_t n, size_t size, int *failed)
{
	void *p;

	if (!n)
		return NULL;
	p = malloc(n * size);
	if (!p) {
		*failed = 1;
		return NULL;
	}
	memcpy(p, src, n * size);
	return p;
}

int st_snapshot__copy(struct st_snapshot *dst, const struct st_snapshot *src)
{
	int failed = 0;

	*dst = *src;
	dst->fds = dup_array(src->fds, src->n_fds, sizeof(*src->fds), &failed);
	dst->listeners = dup_array(src->listeners, src->n_listeners,
				   sizeof(*src->listeners), &failed);
	dst->epolls = dup_array(src->epolls, src->n_epolls, sizeof(*src->epolls), &failed);
	if (failed) {
		free(dst->fds);
		free(dst->listeners);
		free(dst->epolls);
		memset(dst, 0, sizeof(*dst));
		return -ENOMEM;
	}
	for (size_t i = 0; i < dst->n_fds; i++) {
		if (src->fds[i].path) {
			dst->fds[i].path = strdup(src->fds[i].path);
			failed |= !dst->fds[i].path;
		}
	}
	for (size_t i = 0; i < dst->n_listeners; i++)
		dst->listeners[i].half_open =
			dup_array(src->listeners[i].half_open, src->listeners[i].n_half_open,
				  sizeof(struct st_half_open), &failed);
	for (size_t i = 0; i < dst->n_epolls; i++) {
		dst->epolls[i].interest = dup_array(src->epolls[i].interest,
						    src->epolls[i].n_interest,
						    sizeof(struct st_ep_entry), &failed);
		dst->epolls[i].ready = dup_array(src->epolls[i].ready, src->epolls[i].n_ready,
						 sizeof(struct st_ep_entry), &failed);
	}
	if (failed) {
		st_snapshot__free(dst);
		return -ENOMEM;
	}
	return 0;
}

const struct st_fd *st_snapshot__find_fd(const struct st_snapshot *s, int32_t fd)
{
	size_t lo = 0, hi = s->n_fds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->fds[mid].fd == fd)
			return &s->fds[mid];
		if (s->fds[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
