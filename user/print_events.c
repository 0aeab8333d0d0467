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

static void json_addr(FILE *f, const char *key, const struct st_event *e, const uint8_t *a)
{
	char ip[INET6_ADDRSTRLEN] = "";

	inet_ntop(e->family, a, ip, sizeof(ip));
	fprintf(f, ",\"%s\":\"%s\"", key, ip);
}

static void json_sock(FILE *f, const struct st_event *e)
{
	if (!has_sock(e))
		return;
	fprintf(f, ",\"family\":\"%s\"", st_family_name(e->family));
	json_addr(f, "saddr", e, e->saddr);
	fprintf(f, ",\"sport\":%u", e->sport);
	json_addr(f, "daddr", e, e->daddr);
	fprintf(f, ",\"dport\":%u,\"sk_id\":\"0x%" PRIx64 "\"", e->dport, (uint64_t)e->sk_id);
}

static void json_err(FILE *f, int err)
{
	const char *n = err_name(err);

	fprintf(f, ",\"err\":%d", err);
	if (n)
		fprintf(f, ",\"error\":\"%s\"", n);
}

struct json_list {
	FILE *f;
	int n;
};

static void json_list_item(const char *name, void *arg)
{
	struct json_list *l = arg;

	fprintf(l->f, "%s\"%s\"", l->n++ ? "," : "", name);
}

void st_print_event_json(FILE *f, const struct st_event *e)
{
	fprintf(f, "{\"type\":\"%s\",\"time_ns\":%" PRIu64 ",\"pid\":%u",
		st_event_type_name(e->type), (uint64_t)e->time_ns, e->pid);
	if (e->tid)
		fprintf(f, ",\"tid\":%u", e->tid);
	fprintf(f, ",\"comm\":");
	st_json_string(f, e->comm, strnlen(e->comm, ST_COMM_LEN));
	if (e->type == ST_EV_LOST) {
		fprintf(f, ",\"count\":%u}\n", e->count);
		return;
	}
	fprintf(f, ",\"tier\":\"%s\"", st_tier_name(e->tier));
	if (e->type == ST_EV_EP_WAKEUP || e->type == ST_EV_EPOLL_WAIT_DONE)
		fprintf(f, ",\"epfd\":%d", e->epfd);
	if (e->type != ST_EV_EPOLL_WAIT_DONE)
		fprintf(f, ",\"fd\":%d", e->fd);
	json_sock(f, e);
	switch (e->type) {
	case ST_EV_CONNECT:
		json_err(f, e->err);
		break;
	case ST_EV_CONNECT_DONE:
		json_err(f, e->err);
		fprintf(f, ",\"latency_ns\":%" PRIu64, (uint64_t)e->latency_ns);
		break;
	case ST_EV_SYN_RECV:
	case ST_EV_SYN_QUEUE_FULL:
		fprintf(f, ",\"syn_queue\":%u,\"queue_max\":%u", e->queue_len, e->queue_max);
		if (e->type == ST_EV_SYN_QUEUE_FULL)
			fprintf(f, ",\"action\":\"%s\"", e->count ? "drop" : "cookie");
		break;
	case ST_EV_SYNACK_RETRANS:
		fprintf(f, ",\"retrans\":%u,\"syn_queue\":%u,\"queue_max\":%u", e->count,
			e->queue_len, e->queue_max);
		break;
	case ST_EV_CHILD_QUEUED:
		fprintf(f, ",\"accept_queue\":%u,\"queue_max\":%u", e->queue_len, e->queue_max);
		break;
	case ST_EV_ACCEPT:
		fprintf(f, ",\"accept_queue\":%u,\"queue_max\":%u,\"latency_ns\":%" PRIu64,
			e->queue_len, e->queue_max, (uint64_t)e->latency_ns);
		break;
	case ST_EV_ACCEPT_OVERFLOW:
		fprintf(f, ",\"accept_queue\":%u,\"queue_max\":%u,\"dropped\":\"%s\"",
			e->queue_len, e->queue_max, e->count == 2 ? "ack" : "syn");
		break;
	case ST_EV_EP_WAKEUP: {
		struct json_list l = { f, 0 };

		fprintf(f, ",\"events\":%u,\"event_names\":[", e->events);
		st_epoll_events_each(e->events, json_list_item, &l);
		fprintf(f, "]");
		break;
	}
	case ST_EV_EPOLL_WAIT_DONE:
		fprintf(f, ",\"count\":%u,\"latency_ns\":%" PRIu64, e->count, (uint64_t)e->latency_ns);
		if (e->err)
			json_err(f, e->err);
		break;
	case ST_EV_STATE:
		fprintf(f, ",\"old_state\":\"%s\",\"new_state\":\"%s\"",
			st_tcp_state_name(e->old_state), st_tcp_state_name(e->new_state));
		break;
	case ST_EV_CLOSE:
		fprintf(f, ",\"state\":\"%s\"", st_tcp_state_name(e->old_state));
		break;
	}
	fprintf(f, "}\n");
}
