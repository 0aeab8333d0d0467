// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --events printers: one text line or one JSON object line per event. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "format.h"
#include "print.h"
#include "socktrace.h"

static const char *err_name(int err)
{
	/* the usual suspects by name; the rest by number */
	switch (-err) {
	case 0: return "ok";
	case 4: return "EINTR";
	case 11: return "EAGAIN";
	case 22: return "EINVAL";
	case 99: return "EADDRNOTAVAIL";
	case 101: return "ENETUNREACH";
	case 103: return "ECONNABORTED";
	case 104: return "ECONNRESET";
	case 110: return "ETIMEDOUT";
	case 111: return "ECONNREFUSED";
	case 113: return "EHOSTUNREACH";
	case 115: return "EINPROGRESS";
	default: return NULL;
	}
}

static int has_sock(const struct st_event *e)
{
	return e->family == AF_INET || e->family == AF_INET6;
}

/* Listener-side events: the peer is remote, the local side the listener. */
static int is_listener_event(unsigned int type)
{
	return type == ST_EV_SYN_RECV || type == ST_EV_SYNACK_RETRANS ||
	       type == ST_EV_SYN_QUEUE_FULL || type == ST_EV_ACCEPT_OVERFLOW ||
	       type == ST_EV_CHILD_QUEUED || type == ST_EV_ACCEPT;
}

static void text_tuple(FILE *f, const struct st_event *e)
{
	char l[ST_ADDR_STRLEN], r[ST_ADDR_STRLEN];
	const char *arrow = e->type == ST_EV_CONNECT || e->type == ST_EV_CONNECT_DONE ? "->" :
			    is_listener_event(e->type) ? "<-" : "<->";

	if (!has_sock(e))
		return;
	fprintf(f, " %s %s %s", st_addr_format(l, sizeof(l), e->family, e->saddr, e->sport),
		arrow, st_addr_format(r, sizeof(r), e->family, e->daddr, e->dport));
}

static void text_err(FILE *f, int err)
{
	const char *n = err_name(err);

	if (n)
		fprintf(f, " %s", n);
	else
		fprintf(f, " error %d", err);
}

void st_print_event_text(FILE *f, const struct st_event *e)
{
	char comm[4 * ST_COMM_LEN + 1], buf[128];

	st_term_escape(comm, sizeof(comm), e->comm, strnlen(e->comm, ST_COMM_LEN));
	fprintf(f, "%" PRIu64 ".%06" PRIu64 " %-15s %u/%s", (uint64_t)e->time_ns / 1000000000,
		((uint64_t)e->time_ns / 1000) % 1000000, st_event_type_name(e->type), e->pid, comm);
	switch (e->type) {
	case ST_EV_LOST:
		fprintf(f, " %u events lost (ring buffer full)\n", e->count);
		return;
	case ST_EV_EP_WAKEUP:
		fprintf(f, " epfd %d fd %d %s", e->epfd, e->fd,
			st_epoll_events_format(buf, sizeof(buf), e->events));
		text_tuple(f, e);
		break;
	case ST_EV_EPOLL_WAIT_DONE:
		fprintf(f, " epfd %d returned %u", e->epfd, e->count);
		if (e->err)
			text_err(f, e->err);
		if (e->latency_ns)
			fprintf(f, ", %s after the first wake-up",
				st_duration_format(buf, sizeof(buf), e->latency_ns));
		break;
	default:
		if (e->fd >= 0)
			fprintf(f, " fd %d", e->fd);
		text_tuple(f, e);
		break;
	}
	switch (e->type) {
	case ST_EV_CONNECT:
		text_err(f, e->err);
		break;
	case ST_EV_CONNECT_DONE:
		text_err(f, e->err);
		fprintf(f, " in %s", st_duration_format(buf, sizeof(buf), e->latency_ns));
		break;
	case ST_EV_SYN_RECV:
	case ST_EV_SYN_QUEUE_FULL:
		fprintf(f, " syn queue %u/%u", e->queue_len, e->queue_max);
		if (e->type == ST_EV_SYN_QUEUE_FULL)
			fprintf(f, e->count ? " (SYN dropped)" : " (SYN cookie)");
		break;
	case ST_EV_SYNACK_RETRANS:
		fprintf(f, " retransmit %u, syn queue %u", e->count, e->queue_len);
		break;
	case ST_EV_CHILD_QUEUED:
		fprintf(f, " accept queue %u/%u", e->queue_len, e->queue_max);
		break;
	case ST_EV_ACCEPT:
		fprintf(f, " accept queue %u/%u, waited %s", e->queue_len, e->queue_max,
			st_duration_format(buf, sizeof(buf), e->latency_ns));
		break;
	case ST_EV_ACCEPT_OVERFLOW:
		fprintf(f, " accept queue %u/%u full, %s dropped", e->queue_len, e->queue_max,
			e->count == 2 ? "final ACK" : "SYN");
		break;
	case ST_EV_STATE:
		fprintf(f, " %s -> %s", st_tcp_state_name(e->old_state),
			st_tcp_state_name(e->new_state));
		break;
	case ST_EV_CLOSE:
		fprintf(f, " %s", st_tcp_state_name(e->old_state));
		break;
	}
	fprintf(f, " [%s]\n", st_tier_name(e->tier));
}

/*
 * JSON lines are built in a buffer with a few appenders and written with one
 * fwrite: at tens of thousands of events per second, a dozen fprintf calls
 * per event were most of socktrace's own CPU time.
 */
struct jbuf {
	char s[1024];
	size_t n;
};

static void jb_mem(struct jbuf *b, const char *p, size_t len)
{
	if (len > sizeof(b->s) - b->n)
		len = sizeof(b->s) - b->n;
	memcpy(b->s + b->n, p, len);
	b->n += len;
}

#define jb_lit(b, lit) jb_mem(b, lit, sizeof(lit) - 1)

static void jb_str(struct jbuf *b, const char *p)
{
	jb_mem(b, p, strlen(p));
}

static void jb_u64(struct jbuf *b, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	jb_mem(b, tmp + i, sizeof(tmp) - i);
}

static void jb_i64(struct jbuf *b, int64_t v)
{
	if (v < 0) {
		jb_lit(b, "-");
		jb_u64(b, (uint64_t)(-(v + 1)) + 1);
	} else {
		jb_u64(b, (uint64_t)v);
	}
}

/* ,"key":<unsigned> */
static void jb_kv_u(struct jbuf *b, const char *key, uint64_t v)
{
	jb_lit(b, ",\"");
	jb_str(b, key);
	jb_lit(b, "\":");
	jb_u64(b, v);
}

static void jb_kv_s(struct jbuf *b, const char *key, const char *v)
{
	jb_lit(b, ",\"");
	jb_str(b, key);
	jb_lit(b, "\":\"");
	jb_str(b, v);
	jb_lit(b, "\"");
}

static void jb_flush(FILE *f, struct jbuf *b)
{
	fwrite(b->s, 1, b->n, f);
	b->n = 0;
}

static void json_addr(struct jbuf *b, const char *key, const struct st_event *e, const uint8_t *a)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (e->family == AF_INET) {
		jb_lit(b, ",\"");
		jb_str(b, key);
		jb_lit(b, "\":\"");
		for (int i = 0; i < 4; i++) {
			if (i)
				jb_lit(b, ".");
			jb_u64(b, a[i]);
		}
		jb_lit(b, "\"");
		return;
	}
	inet_ntop(e->family, a, ip, sizeof(ip));
	jb_kv_s(b, key, ip);
}

static void json_sock(struct jbuf *b, const struct st_event *e)
{
	static const char hex[] = "0123456789abcdef";
	char id[19];
	int n = 0;

	if (!has_sock(e))
		return;
	jb_kv_s(b, "family", st_family_name(e->family));
	json_addr(b, "saddr", e, e->saddr);
	jb_kv_u(b, "sport", e->sport);
	json_addr(b, "daddr", e, e->daddr);
	jb_kv_u(b, "dport", e->dport);
	id[n++] = '0';
	id[n++] = 'x';
	for (int shift = 60, started = 0; shift >= 0; shift -= 4) {
		int d = (e->sk_id >> shift) & 0xf;

		if (d || started || shift == 0) {
			id[n++] = hex[d];
			started = 1;
		}
	}
	id[n] = 0;
	jb_kv_s(b, "sk_id", id);
}

static void json_err(struct jbuf *b, int err)
{
	const char *n = err_name(err);

	jb_lit(b, ",\"err\":");
	jb_i64(b, err);
	if (n)
		jb_kv_s(b, "error", n);
}

struct json_list {
	struct jbuf *b;
	int n;
};

static void json_list_item(const char *name, void *arg)
{
	struct json_list *l = arg;

	if (l->n++)
		jb_lit(l->b, ",");
	jb_lit(l->b, "\"");
	jb_str(l->b, name);
	jb_lit(l->b, "\"");
}

/* Process names are untrusted: plain ASCII goes straight in, anything else
 * through st_json_string()'s escaping. */
static void json_comm(FILE *f, struct jbuf *b, const char *comm)
{
	size_t len = strnlen(comm, ST_COMM_LEN);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = comm[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			jb_flush(f, b);
			st_json_string(f, comm, len);
			return;
		}
	}
	jb_lit(b, "\"");
	jb_mem(b, comm, len);
	jb_lit(b, "\"");
}

void st_print_event_json(FILE *f, const struct st_event *e)
{
	struct jbuf b = { .n = 0 };

	jb_lit(&b, "{\"type\":\"");
	jb_str(&b, st_event_type_name(e->type));
	jb_lit(&b, "\"");
	jb_kv_u(&b, "time_ns", e->time_ns);
	jb_kv_u(&b, "pid", e->pid);
	if (e->tid)
		jb_kv_u(&b, "tid", e->tid);
	jb_lit(&b, ",\"comm\":");
	json_comm(f, &b, e->comm);
	if (e->type == ST_EV_LOST) {
		jb_kv_u(&b, "count", e->count);
		jb_lit(&b, "}\n");
		jb_flush(f, &b);
		return;
	}
	jb_kv_s(&b, "tier", st_tier_name(e->tier));
	if (e->type == ST_EV_EP_WAKEUP || e->type == ST_EV_EPOLL_WAIT_DONE) {
		jb_lit(&b, ",\"epfd\":");
		jb_i64(&b, e->epfd);
	}
	if (e->type != ST_EV_EPOLL_WAIT_DONE) {
		jb_lit(&b, ",\"fd\":");
		jb_i64(&b, e->fd);
	}
	json_sock(&b, e);
	switch (e->type) {
	case ST_EV_CONNECT:
		json_err(&b, e->err);
		break;
	case ST_EV_CONNECT_DONE:
		json_err(&b, e->err);
		jb_kv_u(&b, "latency_ns", e->latency_ns);
		break;
	case ST_EV_SYN_RECV:
	case ST_EV_SYN_QUEUE_FULL:
		jb_kv_u(&b, "syn_queue", e->queue_len);
		jb_kv_u(&b, "queue_max", e->queue_max);
		if (e->type == ST_EV_SYN_QUEUE_FULL)
			jb_kv_s(&b, "action", e->count ? "drop" : "cookie");
		break;
	case ST_EV_SYNACK_RETRANS:
		jb_kv_u(&b, "retrans", e->count);
		jb_kv_u(&b, "syn_queue", e->queue_len);
		jb_kv_u(&b, "queue_max", e->queue_max);
		break;
	case ST_EV_CHILD_QUEUED:
		jb_kv_u(&b, "accept_queue", e->queue_len);
		jb_kv_u(&b, "queue_max", e->queue_max);
		break;
	case ST_EV_ACCEPT:
		jb_kv_u(&b, "accept_queue", e->queue_len);
		jb_kv_u(&b, "queue_max", e->queue_max);
		jb_kv_u(&b, "latency_ns", e->latency_ns);
		break;
	case ST_EV_ACCEPT_OVERFLOW:
		jb_kv_u(&b, "accept_queue", e->queue_len);
		jb_kv_u(&b, "queue_max", e->queue_max);
		jb_kv_s(&b, "dropped", e->count == 2 ? "ack" : "syn");
		break;
	case ST_EV_EP_WAKEUP: {
		struct json_list l = { &b, 0 };

		jb_kv_u(&b, "events", e->events);
		jb_lit(&b, ",\"event_names\":[");
		st_epoll_events_each(e->events, json_list_item, &l);
		jb_lit(&b, "]");
		break;
	}
	case ST_EV_EPOLL_WAIT_DONE:
		jb_kv_u(&b, "count", e->count);
		jb_kv_u(&b, "latency_ns", e->latency_ns);
		if (e->err)
			json_err(&b, e->err);
		break;
	case ST_EV_STATE:
		jb_kv_s(&b, "old_state", st_tcp_state_name(e->old_state));
		jb_kv_s(&b, "new_state", st_tcp_state_name(e->new_state));
		break;
	case ST_EV_CLOSE:
		jb_kv_s(&b, "state", st_tcp_state_name(e->old_state));
		break;
	}
	jb_lit(&b, "}\n");
	jb_flush(f, &b);
}
