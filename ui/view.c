// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Terminal-free UI logic: see view.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "format.h"
#include "view.h"

size_t list_view__visible(const struct list_view *lv)
{
	int per = lv->item_lines > 0 ? lv->item_lines : 1;

	return lv->height > 0 ? (size_t)(lv->height / per) : 0;
}

static void list_view__clamp(struct list_view *lv)
{
	size_t vis = list_view__visible(lv);

	if (!lv->count) {
		lv->selected = lv->top = 0;
		return;
	}
	if (lv->selected >= lv->count)
		lv->selected = lv->count - 1;
	if (lv->selected < lv->top)
		lv->top = lv->selected;
	if (vis && lv->selected >= lv->top + vis)
		lv->top = lv->selected - vis + 1;
	/* no empty space under the last item when the list could fill it */
	if (vis && lv->top + vis > lv->count)
		lv->top = lv->count > vis ? lv->count - vis : 0;
}

void list_view__set(struct list_view *lv, size_t count, int height, int item_lines)
{
	lv->count = count;
	lv->height = height;
	lv->item_lines = item_lines;
	list_view__clamp(lv);
}

void list_view__move(struct list_view *lv, long delta)
{
	if (delta < 0 && (size_t)-delta > lv->selected)
		lv->selected = 0;
	else
		lv->selected += delta;
	list_view__clamp(lv);
}

void list_view__home(struct list_view *lv)
{
	lv->selected = 0;
	list_view__clamp(lv);
}

void list_view__end(struct list_view *lv)
{
	lv->selected = lv->count ? lv->count - 1 : 0;
	list_view__clamp(lv);
}

void list_view__page(struct list_view *lv, int dir)
{
	long vis = (long)list_view__visible(lv);

	list_view__move(lv, dir * (vis > 1 ? vis - 1 : 1));
}

int st_filter_match(const char *text, const char *filter)
{
	const char *p = filter;

	if (!filter || !*filter)
		return 1;
	while (*p) {
		char word[64];
		size_t n = 0;

		while (*p == ' ' || *p == ',')
			p++;
		while (*p && *p != ' ' && *p != ',') {
			if (n < sizeof(word) - 1)
				word[n++] = *p;
			p++;
		}
		word[n] = '\0';
		if (n && strcasestr(text, word))
			return 1;
	}
	/* a filter of only separators matches everything */
	for (p = filter; *p; p++)
		if (*p != ' ' && *p != ',')
			return 0;
	return 1;
}

struct sort_ctx {
	void *ctx;
	st_row_cmp_fn cmp;
	int key;
};

static int rows_cmp(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *s = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = s->cmp(s->ctx, x, y, s->key);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

int st_rows__build(struct st_rows *r, size_t count, void *ctx, st_row_text_fn text,
		   const char *filter, st_row_cmp_fn cmp, int key)
{
	char buf[512];
	int filtering = filter && *filter && text;

	if (count > r->cap) {
		size_t cap = count + count / 2 + 16;
		size_t *p = realloc(r->idx, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->idx = p;
		r->cap = cap;
	}
	r->n = 0;
	for (size_t i = 0; i < count; i++) {
		if (filtering) {
			text(ctx, i, buf, sizeof(buf));
			if (!st_filter_match(buf, filter))
				continue;
		}
		r->idx[r->n++] = i;
	}
	if (cmp && r->n > 1) {
		struct sort_ctx s = { ctx, cmp, key };

		qsort_r(r->idx, r->n, sizeof(*r->idx), rows_cmp, &s);
	}
	return 0;
}

void st_rows__free(struct st_rows *r)
{
	if (!r)
		return;
	free(r->idx);
	memset(r, 0, sizeof(*r));
}

int st_gauge_cells(uint32_t depth, uint32_t limit, int width)
{
	uint64_t cells;

	if (width <= 0 || !depth)
		return 0;
	if (depth >= limit)
		return width;
	cells = ((uint64_t)depth * width + limit - 1) / limit;
	return cells > (uint64_t)width ? width : (int)cells;
}

char *st_gauge_format(char *buf, size_t len, uint32_t depth, uint32_t limit, int width)
{
	int inner = width - 2, cells, o = 0;

	if (!len)
		return buf;
	if (inner < 1 || (size_t)width + 1 > len) {
		buf[0] = '\0';
		return buf;
	}
	cells = st_gauge_cells(depth, limit, inner);
	buf[o++] = '[';
	for (int i = 0; i < inner; i++)
		buf[o++] = i < cells ? '#' : ' ';
	buf[o++] = ']';
	buf[o] = '\0';
	return buf;
}

char *st_sparkline(char *buf, size_t len, const uint16_t *ring, unsigned int ring_size,
		   unsigned int head, unsigned int n, int width, uint32_t max, int utf8)
{
	static const char *const blocks[8] = { "\u2581", "\u2582", "\u2583", "\u2584",
						"\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = "_.:-=+*#";
	size_t o = 0;

	if (!len)
		return buf;
	if (!max)
		max = 1;
	if (n > ring_size)
		n = ring_size;
	for (int i = 0; i < width; i++) {
		/* column i shows the sample (width - 1 - i) steps back */
		unsigned int back = (unsigned int)(width - 1 - i);
		const char *cell = " ";
		char one[2] = { ' ', '\0' };

		if (back < n) {
			uint32_t v = ring[(head + ring_size - 1 - back) % ring_size];
			/* 0 is the lowest bar; anything queued is at least one
			 * step up, so a single waiting connection shows */
			int level = !v ? 0 : v >= max ? 7 : 1 + (int)(((uint64_t)v * 6) / max);

			if (utf8) {
				cell = blocks[level];
			} else {
				one[0] = ascii[level];
				cell = one;
			}
		}
		if (o + strlen(cell) + 1 > len)
			break;
		memcpy(buf + o, cell, strlen(cell));
		o += strlen(cell);
	}
	buf[o] = '\0';
	return buf;
}

static const char *const fd_sort_names[ST_FD_SORT_COUNT] = {
	[ST_FD_SORT_FD] = "fd",		[ST_FD_SORT_TYPE] = "type",
	[ST_FD_SORT_STATE] = "state",	[ST_FD_SORT_LOCAL] = "local",
	[ST_FD_SORT_REMOTE] = "remote", [ST_FD_SORT_RXQ] = "rx-q",
	[ST_FD_SORT_TXQ] = "tx-q",
};

const char *st_fd_sort_name(int key)
{
	return key >= 0 && key < ST_FD_SORT_COUNT ? fd_sort_names[key] : "?";
}

static int addr_cmp(const struct st_addr *a, const struct st_addr *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c < 0 ? -1 : 1;
	return a->port < b->port ? -1 : a->port > b->port;
}

#define CMP(x, y) ((x) < (y) ? -1 : (x) > (y))

int st_fd_compare(const struct st_fd *a, const struct st_fd *b, int key)
{
	int c = 0;

	switch (key) {
	case ST_FD_SORT_TYPE:
		c = strcmp(st_fd_kind_name(a->kind), st_fd_kind_name(b->kind));
		break;
	case ST_FD_SORT_STATE:
		c = strcmp(st_sock_state_name(a->kind, a->state),
			   st_sock_state_name(b->kind, b->state));
		break;
	case ST_FD_SORT_LOCAL:
		c = addr_cmp(&a->local, &b->local);
		break;
	case ST_FD_SORT_REMOTE:
		c = addr_cmp(&a->remote, &b->remote);
		break;
	case ST_FD_SORT_RXQ:
		c = CMP(b->rx_queue, a->rx_queue);
		break;
	case ST_FD_SORT_TXQ:
		c = CMP(b->tx_queue, a->tx_queue);
		break;
	default:
		break;
	}
	if (c)
		return c < 0 ? -1 : 1;
	return CMP(a->fd, b->fd);
}

static const char *const listener_sort_names[ST_LISTENER_SORT_COUNT] = {
	[ST_LISTENER_SORT_FD] = "fd",
	[ST_LISTENER_SORT_FILL] = "fill",
	[ST_LISTENER_SORT_DROPS] = "drops",
};

const char *st_listener_sort_name(int key)
{
	return key >= 0 && key < ST_LISTENER_SORT_COUNT ? listener_sort_names[key] : "?";
}

int st_listener_compare(const struct st_listener_stats *a, const struct st_listener_stats *b,
			int key)
{
	int c = 0;

	switch (key) {
	case ST_LISTENER_SORT_FILL: {
		/* fill as a fraction, compared without division */
		uint64_t fa = (uint64_t)a->accept_queue * (b->accept_max ? b->accept_max : 1);
		uint64_t fb = (uint64_t)b->accept_queue * (a->accept_max ? a->accept_max : 1);

		c = CMP(fb, fa);
		break;
	}
	case ST_LISTENER_SORT_DROPS:
		c = CMP(b->drops, a->drops);
		break;
	default:
		break;
	}
	if (c)
		return c;
	return CMP(a->fd, b->fd);
}

static int is_inet(unsigned int kind)
{
	return kind == ST_FD_TCP || kind == ST_FD_TCP6 || kind == ST_FD_UDP || kind == ST_FD_UDP6;
}

char *st_fd_header(char *buf, size_t len, int addr_width)
{
	snprintf(buf, len, "%5s %-7s %-11s %-*s %-*s %7s %7s", "FD", "TYPE", "STATE",
		 addr_width, "LOCAL", addr_width, "REMOTE/PATH", "RX-Q", "TX-Q");
	return buf;
}

char *st_fd_row(char *buf, size_t len, const struct st_fd *f, int addr_width)
{
	char a[ST_ADDR_STRLEN], b[ST_ADDR_STRLEN], path[4 * ST_PATH_MAX + 1];

	if (is_inet(f->kind)) {
		snprintf(buf, len, "%5d %-7s %-11.11s %-*.*s %-*.*s %7u %7u", f->fd,
			 st_fd_kind_name(f->kind), st_sock_state_name(f->kind, f->state),
			 addr_width, addr_width,
			 st_addr_format(a, sizeof(a), f->local.family, f->local.addr, f->local.port),
			 addr_width, addr_width,
			 st_addr_format(b, sizeof(b), f->remote.family, f->remote.addr,
					f->remote.port),
			 f->rx_queue, f->tx_queue);
	} else {
		path[0] = '\0';
		if (f->path)
			st_term_escape(path, sizeof(path), f->path, strlen(f->path));
		if (f->kind == ST_FD_UNIX)
			snprintf(buf, len, "%5d %-7s %-11.11s %-*s %s", f->fd,
				 st_fd_kind_name(f->kind), st_sock_state_name(f->kind, f->state),
				 addr_width, "", path);
		else
			snprintf(buf, len, "%5d %-7s %-11s %-*s %s", f->fd,
				 st_fd_kind_name(f->kind), "", addr_width, "", path);
	}
	return buf;
}

char *st_event_row(char *buf, size_t len, const struct st_event *e, uint64_t base_ns)
{
	char a[ST_ADDR_STRLEN], b[ST_ADDR_STRLEN], comm[4 * ST_COMM_LEN + 1], d[32];
	char extra[96] = "", fdstr[16];
	double t = e->time_ns >= base_ns ? (e->time_ns - base_ns) / 1e9
					 : -((base_ns - e->time_ns) / 1e9);
	int o = 0;

	st_term_escape(comm, sizeof(comm), e->comm, strnlen(e->comm, ST_COMM_LEN));
	/* events in softirq context (SYN, child queued) have no fd */
	if (e->fd >= 0)
		snprintf(fdstr, sizeof(fdstr), "%d", e->fd);
	else
		snprintf(fdstr, sizeof(fdstr), "-");
	switch (e->type) {
	case ST_EV_ACCEPT:
		o = snprintf(extra, sizeof(extra), "waited %s",
			     st_duration_format(d, sizeof(d), e->latency_ns));
		/* the peer closed or reset it while it waited */
		if (st_accepted_late(e) && o < (int)sizeof(extra))
			o += snprintf(extra + o, sizeof(extra) - o, ", already %s",
				      st_tcp_state_name(e->new_state));
		break;
	case ST_EV_CONNECT_DONE:
		o = snprintf(extra, sizeof(extra), "took %s",
			     st_duration_format(d, sizeof(d), e->latency_ns));
		break;
	case ST_EV_EPOLL_WAIT_DONE:
		o = snprintf(extra, sizeof(extra), "epfd %d returned %u", e->epfd, e->count);
		break;
	case ST_EV_EP_WAKEUP:
		o = snprintf(extra, sizeof(extra), "epfd %d", e->epfd);
		break;
	case ST_EV_STATE:
		o = snprintf(extra, sizeof(extra), "%s -> %s", st_tcp_state_name(e->old_state),
			     st_tcp_state_name(e->new_state));
		break;
	case ST_EV_LOST:
		o = snprintf(extra, sizeof(extra), "%u events lost (%s)", e->count,
			     e->old_state == ST_LOST_SKIPPED ? "hook runs skipped"
			     : e->old_state == ST_LOST_STAGE ? "lost in stages"
			     : e->old_state == ST_LOST_WALK  ? "wake-up walks cut"
							     : "ring full");
		break;
	default:
		break;
	}
	if (e->queue_max && o >= 0 && (size_t)o < sizeof(extra))
		o += snprintf(extra + o, sizeof(extra) - o, "%squeue %u/%u", o ? " " : "",
			      e->queue_len, e->queue_max);
	if (e->err && o >= 0 && (size_t)o < sizeof(extra))
		snprintf(extra + o, sizeof(extra) - o, "%serr %d", o ? " " : "", e->err);
	if (e->type == ST_EV_LOST || (!e->sport && !e->dport))
		snprintf(buf, len, "%+9.3f %-15s %-4s %s  %s", t, st_event_type_name(e->type),
			 "", extra, comm);
	else
		snprintf(buf, len, "%+9.3f %-15s fd %-3s %s %s %s  %s  %s", t,
			 st_event_type_name(e->type), fdstr,
			 st_addr_format(a, sizeof(a), e->family, e->saddr, e->sport),
			 "<>", st_addr_format(b, sizeof(b), e->family, e->daddr, e->dport), extra,
			 comm);
	return buf;
}

int st_wrap(const char *text, int width, void (*line)(const char *s, int n, void *arg),
	    void *arg)
{
	const char *p = text;
	int lines = 0;

	if (width < 1)
		width = 1;
	while (*p) {
		const char *start = p, *brk = NULL;
		int n = 0;

		while (p[n] && p[n] != '\n' && n < width) {
			if (p[n] == ' ')
				brk = p + n;
			n++;
		}
		if (p[n] && p[n] != '\n' && p[n] != ' ' && brk) {
			/* break at the last space that fits */
			n = (int)(brk - start);
			p = brk + 1;
		} else {
			p += n;
			if (*p == ' ' || *p == '\n')
				p++;
		}
		line(start, n, arg);
		lines++;
	}
	return lines;
}
