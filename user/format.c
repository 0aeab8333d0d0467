// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "format.h"
#include "socktrace.h"

const char *st_addr_format(char *buf, size_t len, int family,
			   const uint8_t addr[16], uint16_t port)
{
	char ip[INET6_ADDRSTRLEN];

	if (family == AF_INET) {
		inet_ntop(AF_INET, addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, port);
	} else if (family == AF_INET6) {
		inet_ntop(AF_INET6, addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, port);
	} else {
		snprintf(buf, len, "-");
	}
	return buf;
}

static const char *const fd_kind_names[ST_FD_KIND_COUNT] = {
	[ST_FD_OTHER] = "other",     [ST_FD_FILE] = "file",
	[ST_FD_TCP] = "tcp",	     [ST_FD_TCP6] = "tcp6",
	[ST_FD_UDP] = "udp",	     [ST_FD_UDP6] = "udp6",
	[ST_FD_UNIX] = "unix",	     [ST_FD_EPOLL] = "epoll",
	[ST_FD_PIPE] = "pipe",	     [ST_FD_EVENTFD] = "eventfd",
	[ST_FD_TIMERFD] = "timerfd", [ST_FD_SIGNALFD] = "signalfd",
	[ST_FD_SOCKET] = "socket",
};

const char *st_fd_kind_name(unsigned int kind)
{
	return kind < ST_FD_KIND_COUNT ? fd_kind_names[kind] : "other";
}

static const char *const tcp_state_names[] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT",	 [3] = "SYN_RECV",
	[4] = "FIN_WAIT1",   [5] = "FIN_WAIT2",	 [6] = "TIME_WAIT",
	[7] = "CLOSE",	     [8] = "CLOSE_WAIT", [9] = "LAST_ACK",
	[10] = "LISTEN",     [11] = "CLOSING",	 [12] = "NEW_SYN_RECV",
	[13] = "BOUND_INACTIVE",
};

const char *st_tcp_state_name(unsigned int state)
{
	if (state < sizeof(tcp_state_names) / sizeof(tcp_state_names[0]) &&
	    tcp_state_names[state])
		return tcp_state_names[state];
	return "UNKNOWN";
}

const char *st_sock_state_name(unsigned int kind, unsigned int state)
{
	switch (kind) {
	case ST_FD_TCP:
	case ST_FD_TCP6:
	case ST_FD_UNIX:
		return st_tcp_state_name(state);
	case ST_FD_UDP:
	case ST_FD_UDP6:
		/* UDP reuses TCP_ESTABLISHED for connected, TCP_CLOSE otherwise. */
		return state == 1 ? "CONNECTED" : "UNCONN";
	default:
		return "";
	}
}

const char *st_family_name(int family)
{
	switch (family) {
	case AF_INET: return "ipv4";
	case AF_INET6: return "ipv6";
	case AF_UNIX: return "unix";
	default: return "other";
	}
}

static const char *const event_type_names[ST_EV_TYPE_COUNT] = {
	[ST_EV_CONNECT] = "connect",
	[ST_EV_CONNECT_DONE] = "connect_done",
	[ST_EV_SYN_RECV] = "syn_recv",
	[ST_EV_SYNACK_RETRANS] = "synack_retrans",
	[ST_EV_SYN_QUEUE_FULL] = "syn_queue_full",
	[ST_EV_CHILD_QUEUED] = "child_queued",
	[ST_EV_ACCEPT] = "accept",
	[ST_EV_ACCEPT_OVERFLOW] = "accept_overflow",
	[ST_EV_EP_WAKEUP] = "ep_wakeup",
	[ST_EV_EPOLL_WAIT_DONE] = "epoll_wait_done",
	[ST_EV_STATE] = "state",
	[ST_EV_CLOSE] = "close",
	[ST_EV_LOST] = "lost",
};

const char *st_event_type_name(unsigned int type)
{
	if (type < ST_EV_TYPE_COUNT && event_type_names[type])
		return event_type_names[type];
	return "unknown";
}

unsigned int st_event_type_parse(const char *name)
{
	for (unsigned int t = 1; t < ST_EV_TYPE_COUNT; t++)
		if (event_type_names[t] && !strcmp(name, event_type_names[t]))
			return t;
	return 0;
}

const char *st_tier_name(unsigned int tier)
{
	switch (tier) {
	case ST_TIER_FENTRY: return "fentry";
	case ST_TIER_KPROBE: return "kprobe";
	case ST_TIER_TRACEPOINT: return "tracepoint";
	default: return "none";
	}
}

static const struct {
	uint32_t bit;
	const char *name;
} epoll_flags[] = {
	{ EPOLLIN, "EPOLLIN" },		{ EPOLLPRI, "EPOLLPRI" },
	{ EPOLLOUT, "EPOLLOUT" },	{ EPOLLERR, "EPOLLERR" },
	{ EPOLLHUP, "EPOLLHUP" },	{ EPOLLRDNORM, "EPOLLRDNORM" },
	{ EPOLLRDBAND, "EPOLLRDBAND" }, { EPOLLWRNORM, "EPOLLWRNORM" },
	{ EPOLLWRBAND, "EPOLLWRBAND" }, { EPOLLMSG, "EPOLLMSG" },
	{ EPOLLRDHUP, "EPOLLRDHUP" },	{ 1u << 27, "EPOLLURING_WAKE" },
	{ EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE" },
	{ EPOLLWAKEUP, "EPOLLWAKEUP" }, { EPOLLONESHOT, "EPOLLONESHOT" },
	{ EPOLLET, "EPOLLET" },
};

int st_epoll_events_each(uint32_t mask, void (*fn)(const char *name, void *arg),
			 void *arg)
{
	uint32_t known = 0;
	int calls = 0;
	char hex[16];

	for (size_t i = 0; i < sizeof(epoll_flags) / sizeof(epoll_flags[0]); i++) {
		known |= epoll_flags[i].bit;
		if (mask & epoll_flags[i].bit) {
			fn(epoll_flags[i].name, arg);
			calls++;
		}
	}
	if (mask & ~known) {
		snprintf(hex, sizeof(hex), "0x%x", mask & ~known);
		fn(hex, arg);
		calls++;
	}
	return calls;
}

struct events_buf {
	char *buf;
	size_t len, used;
};

static void events_append(const char *name, void *arg)
{
	struct events_buf *b = arg;
	int n;

	if (b->used >= b->len)
		return;
	n = snprintf(b->buf + b->used, b->len - b->used, "%s%s",
		     b->used ? "|" : "", name);
	if (n > 0)
		b->used += (size_t)n;
}

const char *st_epoll_events_format(char *buf, size_t len, uint32_t mask)
{
	struct events_buf b = { buf, len, 0 };

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!mask)
		snprintf(buf, len, "0");
	else
		st_epoll_events_each(mask, events_append, &b);
	return buf;
}

void st_json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			/* Kernel strings are bytes, not UTF-8: escaping the
			 * high half keeps the output valid JSON whatever came in. */
			if (c < 0x20 || c >= 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

char *st_term_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t o = 0;

	if (!dstlen)
		return dst;
	for (size_t i = 0; i < srclen && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];
		char tmp[5];
		size_t n;

		if (c == '\\') {
			memcpy(tmp, "\\\\", 3);
			n = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			n = 4;
		} else {
			tmp[0] = (char)c;
			n = 1;
		}
		if (o + n >= dstlen)
			break;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
	return dst;
}

const char *st_duration_format(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}
