// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * -r FILE --export perfetto: Chrome Trace Event JSON, which ui.perfetto.dev
 * and chrome://tracing open. Per listener, counter tracks for the SYN queue,
 * the accept queue and drops (from the snapshots); every event as an
 * instant on its thread; every connection as an async slice from connect
 * or accept to close, keyed by the socket's address.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "format.h"
#include "trace.h"
#include "util.h"

#define TCP_CLOSE 7

struct listener_track {
	int32_t fd;
	uint64_t sk_id;
	uint32_t syn_queue, accept_queue, drops;
	int emitted;
};

/* Open connections: an open-addressing set of socket ids. */
struct conn_set {
	uint64_t *ids;
	size_t cap, n;
};

struct exporter {
	FILE *out;
	const struct trace_header *hdr;
	uint64_t last_ts_ns;
	int n_written;
	struct listener_track *listeners;
	size_t n_listeners;
	struct conn_set conns;
	uint32_t *tids; /* threads named so far */
	size_t n_tids;
	int oom;
};

static uint64_t hash_id(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return id;
}

static int conn_slot(const struct conn_set *s, uint64_t id)
{
	size_t i = hash_id(id) & (s->cap - 1);

	while (s->ids[i] && s->ids[i] != id)
		i = (i + 1) & (s->cap - 1);
	return (int)i;
}

static int conn_has(const struct conn_set *s, uint64_t id)
{
	return s->cap && s->ids[conn_slot(s, id)] == id;
}

static int conn_add(struct conn_set *s, uint64_t id)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *ids = calloc(cap, sizeof(*ids)), *old = s->ids;
		size_t old_cap = s->cap;

		if (!ids)
			return -ENOMEM;
		s->ids = ids;
		s->cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i])
				s->ids[conn_slot(s, old[i])] = old[i];
		free(old);
	}
	s->ids[conn_slot(s, id)] = id;
	s->n++;
	return 0;
}

/* Deletion in linear probing: re-place the entries after the hole. */
static void conn_del(struct conn_set *s, uint64_t id)
{
	size_t i = (size_t)conn_slot(s, id), j;

	if (s->ids[i] != id)
		return;
	s->ids[i] = 0;
	s->n--;
	for (j = (i + 1) & (s->cap - 1); s->ids[j]; j = (j + 1) & (s->cap - 1)) {
		uint64_t v = s->ids[j];

		s->ids[j] = 0;
		s->ids[conn_slot(s, v)] = v;
	}
}

/* Microseconds since the recording started, as Chrome JSON wants. */
static void put_ts(struct exporter *x, uint64_t ns)
{
	uint64_t rel = ns > x->hdr->start_mono_ns ? ns - x->hdr->start_mono_ns : 0;

	fprintf(x->out, "\"ts\":%llu.%03llu", (unsigned long long)(rel / 1000),
		(unsigned long long)(rel % 1000));
}

static void begin(struct exporter *x)
{
	fputs(x->n_written++ ? ",\n" : "\n", x->out);
}

static void json_str(FILE *f, const char *s, size_t max)
{
	st_json_string(f, s, strnlen(s, max));
}

static void name_thread(struct exporter *x, uint32_t tid, const char *comm)
{
	uint32_t *tids;

	for (size_t i = 0; i < x->n_tids; i++)
		if (x->tids[i] == tid)
			return;
	tids = realloc(x->tids, (x->n_tids + 1) * sizeof(*tids));
	if (!tids) {
		x->oom = 1;
		return;
	}
	x->tids = tids;
	x->tids[x->n_tids++] = tid;
	begin(x);
	fprintf(x->out, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,"
		"\"args\":{\"name\":", x->hdr->pid, tid);
	json_str(x->out, comm, ST_COMM_LEN);
	fputs("}}", x->out);
}

static struct listener_track *listener_track(struct exporter *x, const struct st_listener *l)
{
	struct listener_track *t;

	for (size_t i = 0; i < x->n_listeners; i++)
		if (x->listeners[i].fd == l->fd && x->listeners[i].sk_id == l->sk_id)
			return &x->listeners[i];
	t = realloc(x->listeners, (x->n_listeners + 1) * sizeof(*t));
	if (!t) {
		x->oom = 1;
		return NULL;
	}
	x->listeners = t;
	t = &x->listeners[x->n_listeners++];
	memset(t, 0, sizeof(*t));
	t->fd = l->fd;
	t->sk_id = l->sk_id;
	return t;
}

static void counter(struct exporter *x, const struct st_listener *l, const char *what,
		    uint32_t value, uint64_t ts)
{
	char addr[ST_ADDR_STRLEN];

	begin(x);
	fprintf(x->out, "{\"name\":\"%s fd %d %s\",\"ph\":\"C\",\"pid\":%u,", what, l->fd,
		st_addr_format(addr, sizeof(addr), l->local.family, l->local.addr, l->local.port),
		x->hdr->pid);
	put_ts(x, ts);
	fprintf(x->out, ",\"args\":{\"value\":%u}}", value);
}

/* Counter values only when they change: a flat queue costs nothing. */
static void export_snapshot(struct exporter *x, const struct st_snapshot *s)
{
	for (size_t i = 0; i < s->n_listeners; i++) {
		const struct st_listener *l = &s->listeners[i];
		struct listener_track *t = listener_track(x, l);

		if (!t)
			return;
		if (!t->emitted || t->syn_queue != l->syn_queue)
			counter(x, l, "syn_queue", l->syn_queue, s->time_ns);
		if (!t->emitted || t->accept_queue != l->accept_queue)
			counter(x, l, "accept_queue", l->accept_queue, s->time_ns);
		if (!t->emitted || t->drops != l->drops)
			counter(x, l, "drops", l->drops, s->time_ns);
		t->syn_queue = l->syn_queue;
		t->accept_queue = l->accept_queue;
		t->drops = l->drops;
		t->emitted = 1;
	}
}

static void conn_name(char *buf, size_t len, const struct st_event *e)
{
	char a[ST_ADDR_STRLEN], b[ST_ADDR_STRLEN];

	snprintf(buf, len, "%s %s -> %s", e->type == ST_EV_CONNECT ? "connect" : "accepted",
		 st_addr_format(a, sizeof(a), e->family, e->saddr, e->sport),
		 st_addr_format(b, sizeof(b), e->family, e->daddr, e->dport));
}

static void async_slice(struct exporter *x, const char *ph, const struct st_event *e,
			uint32_t tid, uint64_t sk_id, uint64_t ts)
{
	begin(x);
	fprintf(x->out, "{\"name\":\"connection\",\"cat\":\"connection\",\"ph\":\"%s\","
		"\"id\":\"0x%llx\",\"pid\":%u,\"tid\":%u,", ph, (unsigned long long)sk_id,
		x->hdr->pid, tid);
	put_ts(x, ts);
	if (e) {
		char name[2 * ST_ADDR_STRLEN + 16];

		conn_name(name, sizeof(name), e);
		fputs(",\"args\":{\"socket\":", x->out);
		json_str(x->out, name, sizeof(name));
		fprintf(x->out, ",\"fd\":%d}", e->fd);
	}
	fputc('}', x->out);
}

static void export_event(struct exporter *x, const struct st_event *e)
{
	uint32_t tid = e->tid ? e->tid : x->hdr->pid;
	char a[ST_ADDR_STRLEN], b[ST_ADDR_STRLEN];

	name_thread(x, tid, e->comm);
	begin(x);
	fprintf(x->out, "{\"name\":\"%s\",\"cat\":\"event\",\"ph\":\"i\",\"s\":\"t\","
		"\"pid\":%u,\"tid\":%u,", st_event_type_name(e->type), x->hdr->pid, tid);
	put_ts(x, e->time_ns);
	fprintf(x->out, ",\"args\":{\"fd\":%d,\"local\":\"%s\",\"remote\":\"%s\","
		"\"sk_id\":\"0x%llx\"", e->fd,
		st_addr_format(a, sizeof(a), e->family, e->saddr, e->sport),
		st_addr_format(b, sizeof(b), e->family, e->daddr, e->dport),
		(unsigned long long)e->sk_id);
	if (e->latency_ns)
		fprintf(x->out, ",\"latency_us\":%.3f", e->latency_ns / 1e3);
	if (e->queue_len || e->queue_max)
		fprintf(x->out, ",\"queue_len\":%u,\"queue_max\":%u", e->queue_len, e->queue_max);
	if (e->err)
		fprintf(x->out, ",\"err\":%d", e->err);
	if (e->count)
		fprintf(x->out, ",\"count\":%u", e->count);
	if (e->type == ST_EV_STATE)
		fprintf(x->out, ",\"old_state\":\"%s\",\"new_state\":\"%s\"",
			st_tcp_state_name(e->old_state), st_tcp_state_name(e->new_state));
	if (e->type == ST_EV_EP_WAKEUP || e->type == ST_EV_EPOLL_WAIT_DONE)
		fprintf(x->out, ",\"epfd\":%d,\"events\":%u", e->epfd, e->events);
	fprintf(x->out, ",\"tier\":\"%s\"}}", st_tier_name(e->tier));

	if (!e->sk_id)
		return;
	if ((e->type == ST_EV_CONNECT || e->type == ST_EV_ACCEPT) && !conn_has(&x->conns, e->sk_id)) {
		if (conn_add(&x->conns, e->sk_id)) {
			x->oom = 1;
			return;
		}
		async_slice(x, "b", e, tid, e->sk_id, e->time_ns);
	} else if ((e->type == ST_EV_CLOSE ||
		    (e->type == ST_EV_STATE && e->new_state == TCP_CLOSE)) &&
		   conn_has(&x->conns, e->sk_id)) {
		conn_del(&x->conns, e->sk_id);
		async_slice(x, "e", NULL, tid, e->sk_id, e->time_ns);
	}
}

int trace_export_perfetto(struct trace_reader *r, FILE *out)
{
	struct exporter x = { .out = out, .hdr = trace_reader__header(r) };
	struct trace_record rec;
	int ret;

	fputs("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"socktrace_version\":", out);
	json_str(out, x.hdr->socktrace_version, sizeof(x.hdr->socktrace_version));
	fputs(",\"kernel_release\":", out);
	json_str(out, x.hdr->kernel_release, sizeof(x.hdr->kernel_release));
	fputs(",\"hostname\":", out);
	json_str(out, x.hdr->hostname, sizeof(x.hdr->hostname));
	fprintf(out, ",\"start_realtime_ns\":\"%llu\"},\"traceEvents\":[",
		(unsigned long long)x.hdr->start_realtime_ns);
	begin(&x);
	fprintf(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%u,\"args\":{\"name\":",
		x.hdr->pid);
	json_str(out, x.hdr->comm, sizeof(x.hdr->comm));
	fputs("}}", out);

	while ((ret = trace_reader__next(r, &rec)) == 1 && !x.oom) {
		if (rec.time_ns > x.last_ts_ns)
			x.last_ts_ns = rec.time_ns;
		if (rec.kind == TRACE_REC_EVENT)
			export_event(&x, &rec.event);
		else
			export_snapshot(&x, &rec.snapshot);
		if (ferror(out))
			break;
	}
	/* Connections still open when the recording stopped end with it. */
	for (size_t i = 0; i < x.conns.cap; i++)
		if (x.conns.ids[i])
			async_slice(&x, "e", NULL, x.hdr->pid, x.conns.ids[i], x.last_ts_ns);
	fputs("\n]}\n", out);

	free(x.listeners);
	free(x.conns.ids);
	free(x.tids);
	if (x.oom) {
		st_err("out of memory exporting the trace");
		return -ENOMEM;
	}
	if (ferror(out)) {
		st_err("failed to write the export: %s", strerror(errno));
		return -EIO;
	}
	return ret == 1 ? 0 : ret;
}
