// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The per-process model: see model.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "format.h"
#include "model.h"
#include "util.h"

#define NS_PER_S 1000000000ull

enum st_fill st_fill_level(uint32_t depth, uint32_t limit)
{
	/* A listener with backlog 0 still holds one connection: only an
	 * occupied queue can be "full" then. */
	if (depth && depth >= limit)
		return ST_FILL_FULL;
	if (limit && depth * 2 >= limit && depth)
		return ST_FILL_FILLING;
	return ST_FILL_OK;
}

int st_model__init(struct st_model *m, uint32_t pid)
{
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	m->somaxconn = -1;
	m->log = calloc(ST_MODEL_LOG, sizeof(*m->log));
	if (!m->log)
		return -ENOMEM;
	return 0;
}

void st_model__free(struct st_model *m)
{
	if (!m)
		return;
	st_snapshot__free(&m->snap);
	free(m->listeners);
	free(m->epolls);
	free(m->log);
	memset(m, 0, sizeof(*m));
}

static void mark_counters(struct st_model *m);

static void advance(struct st_model *m, uint64_t t)
{
	if (t > m->now_ns)
		m->now_ns = t;
	if (!m->start_ns && t)
		m->start_ns = t;
	/* the first mark: rates count from when the model first saw time */
	if (!m->mark_len && t)
		mark_counters(m);
}

static struct st_listener_stats *find_old_listener(struct st_listener_stats *old, size_t n,
						   const struct st_listener *l)
{
	for (size_t i = 0; i < n; i++)
		if (old[i].fd == l->fd && old[i].sk_id == l->sk_id)
			return &old[i];
	return NULL;
}

static struct st_epoll_stats *find_old_epoll(struct st_epoll_stats *old, size_t n,
					     const struct st_epoll *e)
{
	for (size_t i = 0; i < n; i++)
		if (old[i].fd == e->fd && old[i].ep_id == e->ep_id)
			return &old[i];
	return NULL;
}

void st_listener_stats__sample(struct st_listener_stats *ls, uint64_t now)
{
	uint16_t v = ls->accept_queue > UINT16_MAX ? UINT16_MAX : ls->accept_queue;
	unsigned int newest = (ls->hist_head + ST_MODEL_HIST - 1) % ST_MODEL_HIST;

	if (ls->hist_len && now < ls->hist_step_ns + ST_MODEL_HIST_STEP_NS) {
		if (v > ls->hist[newest])
			ls->hist[newest] = v;
		return;
	}
	/* steps with no snapshot at all (a paused or slow refresh) repeat the
	 * last value rather than compress time */
	if (ls->hist_len && now >= ls->hist_step_ns + 2 * ST_MODEL_HIST_STEP_NS) {
		uint64_t missed = (now - ls->hist_step_ns) / ST_MODEL_HIST_STEP_NS - 1;
		uint16_t last = ls->hist[newest];

		for (uint64_t i = 0; i < missed && i < ST_MODEL_HIST; i++) {
			ls->hist[ls->hist_head] = last;
			ls->hist_head = (ls->hist_head + 1) % ST_MODEL_HIST;
			if (ls->hist_len < ST_MODEL_HIST)
				ls->hist_len++;
		}
	}
	ls->hist[ls->hist_head] = v;
	ls->hist_head = (ls->hist_head + 1) % ST_MODEL_HIST;
	if (ls->hist_len < ST_MODEL_HIST)
		ls->hist_len++;
	ls->hist_step_ns = now - (ls->hist_len > 1 ? (now - ls->hist_step_ns) % ST_MODEL_HIST_STEP_NS : 0);
}

static void merge_listener(struct st_listener_stats *ls, const struct st_listener *l,
			   uint64_t now, int fresh)
{
	uint32_t prev_drops;

	if (fresh) {
		memset(ls, 0, sizeof(*ls));
		ls->fd = l->fd;
		ls->sk_id = l->sk_id;
		ls->drops_base = l->drops;
		ls->drops = l->drops;
		/* drops from before we looked are not a rate */
		for (int i = 0; i < ST_RATE_MARKS; i++)
			ls->drops_mark[i] = l->drops;
	}
	ls->local = l->local;
	ls->syn_queue = l->syn_queue;
	ls->accept_queue = l->accept_queue;
	ls->accept_max = l->accept_max;
	ls->syn_max = l->accept_max;
	ls->n_half_open = l->n_half_open;
	prev_drops = ls->drops;
	if (l->drops != ls->drops) {
		ls->drops_last_delta = l->drops - ls->drops;
		ls->drops = l->drops;
		ls->drops_changed_ns = now;
	}
	if (st_fill_level(ls->accept_queue, ls->accept_max) == ST_FILL_FULL) {
		if (!ls->full_since_ns) {
			ls->full_at_first_sight = fresh;
			ls->full_since_ns = now;
			/* drops seen in the same snapshot as the filling
			 * happened while it filled: count them */
			ls->drops_at_full = fresh ? ls->drops : prev_drops;
		}
	} else {
		ls->full_since_ns = 0;
	}
	if (st_fill_level(ls->syn_queue, ls->syn_max) == ST_FILL_FULL) {
		if (!ls->syn_full_since_ns)
			ls->syn_full_since_ns = now;
	} else {
		ls->syn_full_since_ns = 0;
	}
	st_listener_stats__sample(ls, now);
	ls->present = 1;
}

void st_model__take_snapshot(struct st_model *m, struct st_snapshot *s)
{
	struct st_listener_stats *nl = NULL;
	struct st_epoll_stats *ne = NULL;
	uint64_t now = s->time_ns ? s->time_ns : m->now_ns;

	advance(m, now);
	if (s->n_listeners)
		nl = calloc(s->n_listeners, sizeof(*nl));
	if (s->n_epolls)
		ne = calloc(s->n_epolls, sizeof(*ne));
	if ((s->n_listeners && !nl) || (s->n_epolls && !ne)) {
		/* Out of memory: keep the old state rather than show half. */
		free(nl);
		free(ne);
		st_snapshot__free(s);
		return;
	}
	for (size_t i = 0; i < s->n_listeners; i++) {
		const struct st_listener *l = &s->listeners[i];
		struct st_listener_stats *old = find_old_listener(m->listeners, m->n_listeners, l);

		if (old)
			nl[i] = *old;
		merge_listener(&nl[i], l, now, !old);
	}
	for (size_t i = 0; i < s->n_epolls; i++) {
		const struct st_epoll *e = &s->epolls[i];
		struct st_epoll_stats *old = find_old_epoll(m->epolls, m->n_epolls, e);

		if (old) {
			ne[i] = *old;
		} else {
			ne[i].fd = e->fd;
			ne[i].ep_id = e->ep_id;
		}
		ne[i].n_interest = e->n_interest;
		ne[i].n_ready = e->n_ready;
		if (!e->n_ready)
			ne[i].ready_since_ns = 0;
		else if (!ne[i].ready_since_ns)
			ne[i].ready_since_ns = now;
		ne[i].present = 1;
	}
	free(m->listeners);
	free(m->epolls);
	m->listeners = nl;
	m->n_listeners = s->n_listeners;
	m->epolls = ne;
	m->n_epolls = s->n_epolls;

	st_snapshot__free(&m->snap);
	m->snap = *s;
	memset(s, 0, sizeof(*s));
	memcpy(m->comm, m->snap.comm, sizeof(m->comm));
	m->comm[ST_COMM_LEN] = '\0';
	if (m->snap.pid)
		m->pid = m->snap.pid;
	m->have_snap = 1;
	m->snap_count++;
	m->generation++;
}

/* The listener an event is about: by socket identity first, then by local
 * port (accept events may carry the child socket, whose local port is the
 * listener's). */
static struct st_listener_stats *event_listener(struct st_model *m, const struct st_event *e)
{
	for (size_t i = 0; i < m->n_listeners; i++)
		if (e->sk_id && m->listeners[i].sk_id == e->sk_id)
			return &m->listeners[i];
	for (size_t i = 0; i < m->n_listeners; i++)
		if (e->sport && m->listeners[i].local.port == e->sport)
			return &m->listeners[i];
	return NULL;
}

static struct st_epoll_stats *event_epoll(struct st_model *m, const struct st_event *e)
{
	for (size_t i = 0; i < m->n_epolls; i++)
		if (e->epfd >= 0 && m->epolls[i].fd == e->epfd)
			return &m->epolls[i];
	return NULL;
}

void st_model__event(struct st_model *m, const struct st_event *e)
{
	struct st_listener_stats *l;
	struct st_epoll_stats *ep;

	advance(m, e->time_ns);
	if (e->type == ST_EV_LOST) {
		m->events_lost += e->count;
	}
	if (e->type < ST_EV_TYPE_COUNT)
		m->per_type[e->type]++;
	m->events_total++;
	m->log[m->log_head] = *e;
	m->log_head = (m->log_head + 1) % ST_MODEL_LOG;
	if (m->log_len < ST_MODEL_LOG)
		m->log_len++;
	m->generation++;

	switch (e->type) {
	case ST_EV_ACCEPT:
		l = event_listener(m, e);
		if (!l)
			break;
		l->accepts++;
		/* 0: the tier could not time this one */
		if (!e->err && e->latency_ns) {
			l->wait_ns[l->wait_head] = e->latency_ns;
			l->wait_head = (l->wait_head + 1) % ST_MODEL_WAIT_SAMPLES;
			if (l->wait_len < ST_MODEL_WAIT_SAMPLES)
				l->wait_len++;
		}
		break;
	case ST_EV_ACCEPT_OVERFLOW:
	case ST_EV_SYN_QUEUE_FULL:
		l = event_listener(m, e);
		if (l)
			l->overflow_events++;
		break;
	case ST_EV_SYNACK_RETRANS:
		l = event_listener(m, e);
		if (l)
			l->synack_retrans++;
		break;
	case ST_EV_EP_WAKEUP:
		ep = event_epoll(m, e);
		if (ep)
			ep->wakeups++;
		break;
	case ST_EV_EPOLL_WAIT_DONE:
		ep = event_epoll(m, e);
		if (ep) {
			ep->returns++;
			ep->returned += e->count;
			if (e->latency_ns) {
				ep->wake_ns[ep->wake_head] = e->latency_ns;
				ep->wake_head = (ep->wake_head + 1) % ST_MODEL_EPOLL_SAMPLES;
				if (ep->wake_len < ST_MODEL_EPOLL_SAMPLES)
					ep->wake_len++;
			}
		}
		break;
	default:
		break;
	}
}

const struct st_event *st_model__log_get(const struct st_model *m, size_t i)
{
	if (i >= m->log_len)
		return NULL;
	return &m->log[(m->log_head + ST_MODEL_LOG - 1 - i) % ST_MODEL_LOG];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t st_percentile(uint64_t *vals, size_t n, double p)
{
	size_t rank;

	if (!n)
		return 0;
	qsort(vals, n, sizeof(*vals), cmp_u64);
	/* nearest rank: the smallest value with at least p of the samples at
	 * or below it */
	rank = (size_t)(p * n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return vals[rank - 1];
}

/* Records every counter at now_ns in the mark ring. */
static void mark_counters(struct st_model *m)
{
	unsigned int i = m->mark_head;

	m->mark_ns[i] = m->now_ns;
	m->events_mark[i] = m->events_total;
	for (size_t k = 0; k < m->n_listeners; k++) {
		m->listeners[k].accepts_mark[i] = m->listeners[k].accepts;
		m->listeners[k].drops_mark[i] = m->listeners[k].drops;
	}
	for (size_t k = 0; k < m->n_epolls; k++) {
		m->epolls[k].wakeups_mark[i] = m->epolls[k].wakeups;
		m->epolls[k].returns_mark[i] = m->epolls[k].returns;
	}
	m->mark_head = (i + 1) % ST_RATE_MARKS;
	if (m->mark_len < ST_RATE_MARKS)
		m->mark_len++;
}

static double rate(uint64_t now_count, uint64_t then_count, double secs)
{
	/* a counter that went backwards (a new socket on the fd) is no rate */
	return now_count >= then_count ? (now_count - then_count) / secs : 0;
}

void st_model__tick(struct st_model *m, uint64_t now_ns)
{
	unsigned int newest, oldest;
	double s;

	advance(m, now_ns);
	newest = (m->mark_head + ST_RATE_MARKS - 1) % ST_RATE_MARKS;
	if (!m->mark_len || m->now_ns < m->mark_ns[newest] + ST_RATE_STEP_NS)
		return;
	mark_counters(m);
	oldest = (m->mark_head + ST_RATE_MARKS - m->mark_len) % ST_RATE_MARKS;
	s = (double)(m->now_ns - m->mark_ns[oldest]) / NS_PER_S;
	if (s <= 0)
		return;
	m->events_per_s = rate(m->events_total, m->events_mark[oldest], s);
	for (size_t i = 0; i < m->n_listeners; i++) {
		struct st_listener_stats *l = &m->listeners[i];
		uint64_t tmp[ST_MODEL_WAIT_SAMPLES];

		l->accepts_per_s = rate(l->accepts, l->accepts_mark[oldest], s);
		l->drops_per_s = rate(l->drops, l->drops_mark[oldest], s);
		memcpy(tmp, l->wait_ns, l->wait_len * sizeof(tmp[0]));
		l->wait_count = l->wait_len;
		l->wait_p50_ns = st_percentile(tmp, l->wait_len, 0.50);
		l->wait_p99_ns = st_percentile(tmp, l->wait_len, 0.99);
	}
	for (size_t i = 0; i < m->n_epolls; i++) {
		struct st_epoll_stats *e = &m->epolls[i];
		uint64_t tmp[ST_MODEL_EPOLL_SAMPLES];

		e->wakeups_per_s = rate(e->wakeups, e->wakeups_mark[oldest], s);
		e->returns_per_s = rate(e->returns, e->returns_mark[oldest], s);
		memcpy(tmp, e->wake_ns, e->wake_len * sizeof(tmp[0]));
		e->wake_count = e->wake_len;
		e->wake_p50_ns = st_percentile(tmp, e->wake_len, 0.50);
		e->wake_p99_ns = st_percentile(tmp, e->wake_len, 0.99);
	}
	m->generation++;
}

void st_model__set_gone(struct st_model *m, uint64_t now_ns)
{
	if (m->target_gone)
		return;
	advance(m, now_ns);
	m->target_gone = 1;
	m->gone_ns = m->now_ns;
	m->generation++;
}

/* Bounded appends: the texts are built piece by piece. */
struct sbuf {
	char *buf;
	size_t len, off;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->off >= b->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->off, b->len - b->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->off += (size_t)n;
	if (b->off >= b->len)
		b->off = b->len - 1;
}

static const char *ago(char *buf, size_t len, uint64_t now, uint64_t then)
{
	return st_duration_format(buf, len, now > then ? now - then : 0);
}

char *st_model__explain_listener(const struct st_model *m, size_t idx, char *buf, size_t len)
{
	struct sbuf b = { buf, len, 0 };
	const struct st_listener_stats *l;
	char addr[ST_ADDR_STRLEN], d1[32], d2[32], d3[32];
	uint32_t dropped;
	enum st_fill fill;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (idx >= m->n_listeners) {
		sb_printf(&b, "No listening socket selected.");
		return buf;
	}
	l = &m->listeners[idx];
	st_addr_format(addr, sizeof(addr), l->local.family, l->local.addr, l->local.port);
	fill = st_fill_level(l->accept_queue, l->accept_max);
	dropped = l->drops - l->drops_base;

	sb_printf(&b, "Listening socket %s (fd %d): %u connections wait in the accept queue "
		  "(limit %u), %u in the SYN queue. ", addr, l->fd, l->accept_queue,
		  l->accept_max, l->syn_queue);
	sb_printf(&b, "The accept queue holds connections whose handshake is done, until the "
		  "process calls accept(); the SYN queue holds half-open ones waiting for the "
		  "client's final ACK.\n\n");

	if (fill == ST_FILL_FULL && l->full_since_ns) {
		sb_printf(&b, "The accept queue has been full for %s%s",
			  l->full_at_first_sight ? "at least " : "",
			  ago(d1, sizeof(d1), m->now_ns, l->full_since_ns));
		if (l->drops > l->drops_at_full)
			sb_printf(&b, " with %u connection attempts dropped meanwhile",
				  l->drops - l->drops_at_full);
		sb_printf(&b, " (%u dropped since socktrace started, %u since the socket was made). ",
			  dropped, l->drops);
		sb_printf(&b, "While it is full the kernel drops new SYNs and final ACKs; "
			  "clients retry after 1 s, 3 s, 7 s..., which users see as slow or "
			  "refused connections. ");
	} else if (dropped && l->drops_changed_ns) {
		sb_printf(&b, "The accept queue is not full now, but %u connection attempts "
			  "were dropped since socktrace started, the last %s ago: it "
			  "overflows in bursts. ", dropped,
			  ago(d1, sizeof(d1), m->now_ns, l->drops_changed_ns));
	} else if (fill == ST_FILL_FILLING) {
		sb_printf(&b, "The accept queue is more than half full but nothing was dropped "
			  "yet. ");
	} else {
		sb_printf(&b, "Nothing was dropped since socktrace started%s: the process accepts "
			  "connections as fast as they arrive.",
			  l->drops ? "" : " (nor since the socket was made)");
		if (l->drops && !dropped)
			sb_printf(&b, " (%u drops happened before.)", l->drops);
		sb_printf(&b, "\n\n");
	}
	if (fill != ST_FILL_OK || dropped) {
		sb_printf(&b, "Either the process is not calling accept() fast enough");
		if (l->accepts)
			sb_printf(&b, " (%.0f accepts/s now", l->accepts_per_s);
		if (l->wait_count)
			sb_printf(&b, "; connections waited %s median, %s p99 before accept()",
				  st_duration_format(d2, sizeof(d2), l->wait_p50_ns),
				  st_duration_format(d3, sizeof(d3), l->wait_p99_ns));
		if (l->accepts)
			sb_printf(&b, ")");
		sb_printf(&b, ", or its backlog is too small (now %u", l->accept_max);
		if (m->somaxconn >= 0)
			sb_printf(&b, ", net.core.somaxconn %d%s", m->somaxconn,
				  m->somaxconn_is_target ? "" : " in socktrace's namespace");
		sb_printf(&b, "). ");
		if (m->somaxconn >= 0 && l->accept_max >= (uint32_t)m->somaxconn)
			sb_printf(&b, "The backlog is capped by somaxconn: raise "
				  "net.core.somaxconn as well as the listen() backlog. ");
		sb_printf(&b, "\n\nWhat to do: accept in a loop until EAGAIN on every wake-up, "
			  "move slow work off the accepting thread, and raise the backlog "
			  "passed to listen() (a few hundred to a few thousand for busy "
			  "servers).\n\n");
	}
	if (l->syn_queue) {
		/* the list is the last walk's, which may be a second old or
		 * more (user/snapshot.c); the count is this snapshot's */
		sb_printf(&b, "%u half-open connections (%zu listed at the last walk of the TCP "
			  "table) wait for their final ACK", l->syn_queue, l->n_half_open);
		if (l->syn_full_since_ns)
			sb_printf(&b, "; the SYN queue has been at its limit for %s (the kernel "
				  "then answers with SYN cookies or drops SYNs)",
				  ago(d1, sizeof(d1), m->now_ns, l->syn_full_since_ns));
		sb_printf(&b, ". Many of them with few completed handshakes point to lost ACKs, a "
			  "SYN flood, or TCP_DEFER_ACCEPT waiting for the first data.");
		if (l->synack_retrans)
			sb_printf(&b, " %llu SYN-ACK retransmits seen.",
				  (unsigned long long)l->synack_retrans);
		sb_printf(&b, "\n");
	}
	return buf;
}

char *st_model__explain_epoll(const struct st_model *m, size_t idx, char *buf, size_t len)
{
	struct sbuf b = { buf, len, 0 };
	const struct st_epoll_stats *e;
	char d1[32];

	if (!len)
		return buf;
	buf[0] = '\0';
	if (idx >= m->n_epolls) {
		sb_printf(&b, "No epoll instance selected.");
		return buf;
	}
	e = &m->epolls[idx];
	sb_printf(&b, "epoll fd %d watches %zu fds (its interest list, registered with "
		  "epoll_ctl). %zu of them are on the ready list now: the kernel has seen "
		  "them become ready and epoll_wait() has not returned them yet.\n\n",
		  e->fd, e->n_interest, e->n_ready);
	sb_printf(&b, "Wake-ups (ep_poll_callback) %.0f/s, epoll_wait returns %.0f/s",
		  e->wakeups_per_s, e->returns_per_s);
	if (e->returns)
		sb_printf(&b, ", %.1f events per return on average",
			  (double)e->returned / e->returns);
	sb_printf(&b, ". ");
	if (e->wake_count) {
		char d2[32];

		sb_printf(&b, "From the first wake-up to epoll_wait() returning took %s median, "
			  "%s p99: how long ready fds waited for the process. ",
			  st_duration_format(d1, sizeof(d1), e->wake_p50_ns),
			  st_duration_format(d2, sizeof(d2), e->wake_p99_ns));
	}
	if (e->ready_since_ns && m->now_ns - e->ready_since_ns >= NS_PER_S) {
		sb_printf(&b, "\n\nThe ready list has not been empty for %s: the process is "
			  "not calling epoll_wait() (busy elsewhere, blocked, or this instance is "
			  "abandoned), or with level-triggered fds it never drains them. "
			  "Check what its threads are doing (e.g. /proc/%u/task/*/stack or a "
			  "profiler).", ago(d1, sizeof(d1), m->now_ns, e->ready_since_ns), m->pid);
	} else if (e->wakeups_per_s > 0 && e->returns_per_s > 0 &&
		   e->wakeups_per_s > 10 * e->returns_per_s) {
		sb_printf(&b, "\n\nMany wake-ups per return: events arrive in bursts and are "
			  "batched, which is what epoll is for.");
	} else if (!e->n_ready) {
		sb_printf(&b, "\n\nNothing is on the ready list right now.");
	}
	return buf;
}

char *st_model__headline(const struct st_model *m, char *buf, size_t len)
{
	struct sbuf b = { buf, len, 0 };
	char addr[ST_ADDR_STRLEN], d[32];

	if (!len)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < m->n_listeners; i++) {
		const struct st_listener_stats *l = &m->listeners[i];

		if (!l->full_since_ns)
			continue;
		st_addr_format(addr, sizeof(addr), l->local.family, l->local.addr, l->local.port);
		sb_printf(&b, "accept queue of %s full (%u/%u)", addr, l->accept_queue,
			  l->accept_max);
		if (m->now_ns - l->full_since_ns >= NS_PER_S / 2 || l->full_at_first_sight)
			sb_printf(&b, " for %s%s", l->full_at_first_sight ? ">" : "",
				  ago(d, sizeof(d), m->now_ns, l->full_since_ns));
		sb_printf(&b, ", %u dropped: accept() too slow or backlog too small",
			  l->drops - l->drops_at_full);
		return buf;
	}
	for (size_t i = 0; i < m->n_listeners; i++) {
		const struct st_listener_stats *l = &m->listeners[i];

		if (!l->drops_changed_ns || m->now_ns - l->drops_changed_ns > 10 * NS_PER_S)
			continue;
		st_addr_format(addr, sizeof(addr), l->local.family, l->local.addr, l->local.port);
		/* the listener's own count (its row's) includes drops from
		 * before socktrace attached: both, so the two agree */
		sb_printf(&b, "%s overflows in bursts: %u dropped while watched", addr,
			  l->drops - l->drops_base);
		if (l->drops_base)
			sb_printf(&b, " (%u in all)", l->drops);
		sb_printf(&b, ", the last %s ago", ago(d, sizeof(d), m->now_ns, l->drops_changed_ns));
		return buf;
	}
	for (size_t i = 0; i < m->n_epolls; i++) {
		const struct st_epoll_stats *e = &m->epolls[i];

		if (!e->ready_since_ns || m->now_ns - e->ready_since_ns < 2 * NS_PER_S)
			continue;
		sb_printf(&b, "epoll fd %d has had %zu ready fds uncollected for %s", e->fd,
			  e->n_ready, ago(d, sizeof(d), m->now_ns, e->ready_since_ns));
		return buf;
	}
	return buf;
}

static int read_int_file(const char *path)
{
	char line[64];
	int n = st_read_small(path, line, sizeof(line));

	return n < 0 ? n : atoi(line);
}

int st_read_somaxconn(uint32_t pid, int *is_target)
{
	static const char path[] = "/proc/sys/net/core/somaxconn";
	char nspath[64];
	struct stat ours, theirs;
	int self_ns = -1, target_ns = -1, val = -ENOENT;

	*is_target = 0;
	snprintf(nspath, sizeof(nspath), "/proc/%u/ns/net", pid);
	self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	target_ns = open(nspath, O_RDONLY | O_CLOEXEC);
	if (self_ns < 0 || target_ns < 0 || fstat(self_ns, &ours) || fstat(target_ns, &theirs))
		goto ours;
	if (ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev) {
		*is_target = 1;
		goto ours;
	}
	/* /proc/sys/net follows the reading task's namespace, so visit it.
	 * socktrace is single-threaded here; BPF objects do not care which
	 * namespace we are in. */
	if (setns(target_ns, CLONE_NEWNET))
		goto ours;
	val = read_int_file(path);
	if (setns(self_ns, CLONE_NEWNET)) {
		/* Cannot happen with the privilege we just used; if it does,
		 * staying in the target's namespace breaks nothing we do. */
	}
	if (val >= 0) {
		*is_target = 1;
		goto out;
	}
ours:
	val = read_int_file(path);
out:
	if (self_ns >= 0)
		close(self_ns);
	if (target_ns >= 0)
		close(target_ns);
	return val;
}
