// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * --events printers: one text line or one JSON object line per event.
 *
 * At full load socktrace prints a few hundred thousand events a second, so
 * these run hot: each line is built in a stack buffer by appenders that take
 * and return a cursor, and written with one put_line() (the output is
 * only written from the thread that polls the events). Keys are
 * literals copied with constant sizes, numbers are written two digits at a
 * time, and the names of types, tiers, states and epoll flags are copied from
 * fixed-size slots filled once from format.c, so that the common event costs
 * no strlen(), no printf and no call to a variable-length memcpy().
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "format.h"
#include "print.h"
#include "socktrace.h"

/*
 * Every field of an event has a bounded width: the longest JSON line (IPv6
 * addresses, every epoll flag, a process name of 16 escaped bytes, 20-digit
 * numbers) is under 700 bytes, the longest text line under 500. The rest is
 * room for the fixed-size copies below, which may write up to NAME_SLOT bytes
 * past the cursor.
 */
#define LINE_SIZE 1024

static const char *err_name(int err)
{
	/* the usual suspects by name; the rest by number */
	switch (err) {
	case 0: return "ok";
	case -4: return "EINTR";
	case -11: return "EAGAIN";
	case -22: return "EINVAL";
	case -99: return "EADDRNOTAVAIL";
	case -101: return "ENETUNREACH";
	case -103: return "ECONNABORTED";
	case -104: return "ECONNRESET";
	case -110: return "ETIMEDOUT";
	case -111: return "ECONNREFUSED";
	case -113: return "EHOSTUNREACH";
	case -115: return "EINPROGRESS";
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

/*
 * Tables filled once from format.c, so that every name lives there. A name
 * sits with its length in a NUL-padded slot: copying the whole slot is a
 * couple of moves where strlen() and a memcpy() of a few bytes were two
 * calls; the cursor then advances by len. The names in format.c are much
 * shorter than a slot; a longer one would be cut, never overflow.
 */
#define NAME_SLOT 32

struct name {
	char s[NAME_SLOT];
	uint8_t len;
};

/* Type names (the last slot for any type past the table, "unknown"), the
 * same padded to the text line's column, tiers, TCP states, the epoll flag
 * of each bit. */
static struct name type_names[ST_EV_TYPE_COUNT + 1];
static struct name type_columns[ST_EV_TYPE_COUNT + 1];
static struct name tier_names[256];
static struct name tcp_state_names[256];
static struct name family_names[2];
static struct name epoll_bit_names[32];
static uint32_t epoll_named_bits;
/* "00".."ff" for each byte */
static char hex_pairs[2 * 256];
/* bytes a process name can show as they are, in JSON and on a terminal */
static uint8_t comm_plain[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void name_set(struct name *n, const char *fmt, const char *s)
{
	int len = snprintf(n->s, sizeof(n->s), fmt, s);

	n->len = len < 0 ? 0 : len < NAME_SLOT ? len : NAME_SLOT - 1;
}

static void epoll_bit_name(const char *name, void *arg)
{
	/* a bit without a name comes back as "0x..." */
	if (strncmp(name, "0x", 2))
		name_set(arg, "%s", name);
}

static void tables_init(void)
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned int t = 0; t <= ST_EV_TYPE_COUNT; t++) {
		name_set(&type_names[t], "%s", st_event_type_name(t));
		name_set(&type_columns[t], "%-15s", st_event_type_name(t));
	}
	for (unsigned int i = 0; i < 256; i++) {
		name_set(&tier_names[i], "%s", st_tier_name(i));
		name_set(&tcp_state_names[i], "%s", st_tcp_state_name(i));
		hex_pairs[2 * i] = hex[i >> 4];
		hex_pairs[2 * i + 1] = hex[i & 0xf];
		comm_plain[i] = i >= 0x20 && i < 0x7f && i != '"' && i != '\\';
	}
	name_set(&family_names[0], "%s", st_family_name(AF_INET));
	name_set(&family_names[1], "%s", st_family_name(AF_INET6));
	for (unsigned int b = 0; b < 32; b++) {
		st_epoll_events_each(1u << b, epoll_bit_name, &epoll_bit_names[b]);
		if (epoll_bit_names[b].len)
			epoll_named_bits |= 1u << b;
	}
}

static const struct name *type_name(unsigned int type)
{
	return &type_names[type < ST_EV_TYPE_COUNT ? type : ST_EV_TYPE_COUNT];
}

static const struct name *type_column(unsigned int type)
{
	return &type_columns[type < ST_EV_TYPE_COUNT ? type : ST_EV_TYPE_COUNT];
}

/* Appenders: each writes at p and returns the new end. */

static inline char *put_mem(char *p, const void *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

/*
 * One line to f: copied straight into f's buffer when it is fully buffered
 * and has room, as glibc's own putc_unlocked() does (a line- or unbuffered
 * stream keeps no room there, so it always takes fwrite's path). Half the
 * instructions of an fwrite_unlocked() call go to its bookkeeping.
 */
static void put_line(FILE *f, const char *line, size_t len)
{
#ifdef __GLIBC__
	if ((size_t)(f->_IO_write_end - f->_IO_write_ptr) >= len) {
		memcpy(f->_IO_write_ptr, line, len);
		f->_IO_write_ptr += len;
		return;
	}
#endif
	fwrite_unlocked(line, 1, len, f);
}

/* lit must be a string literal: its length is a constant. */
#define put_lit(p, lit) put_mem(p, lit, sizeof(lit) - 1)

static char *put_str(char *p, const char *s)
{
	return put_mem(p, s, strlen(s));
}

static const char digit_pairs[200] =
	"00010203040506070809" "10111213141516171819" "20212223242526272829"
	"30313233343536373839" "40414243444546474849" "50515253545556575859"
	"60616263646566676869" "70717273747576777879" "80818283848586878889"
	"90919293949596979899";

/* The n low decimal digits of v, zero-padded, ending at end: v < 10^n. */
static inline void digits_before(char *end, uint32_t v, unsigned int n)
{
	for (; n >= 2; n -= 2) {
		end -= 2;
		memcpy(end, &digit_pairs[2 * (v % 100)], 2);
		v /= 100;
	}
	if (n)
		end[-1] = (char)('0' + v);
}

static unsigned int decimal_len(uint32_t v)
{
	static const uint32_t pow10[10] = {
		1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	};
	/* log10(2) ~ 1233/4096 turns the bit length into the digit count, or
	 * one less; v | 1 has the digits of v and makes 0 one digit long */
	unsigned int t = (32 - __builtin_clz(v | 1)) * 1233 >> 12;

	return t + ((v | 1) >= pow10[t]);
}

static inline char *put_u32(char *p, uint32_t v)
{
	char *end = p + decimal_len(v), *q = end;

	while (v >= 100) {
		q -= 2;
		memcpy(q, &digit_pairs[2 * (v % 100)], 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(q - 2, &digit_pairs[2 * v], 2);
	else
		q[-1] = (char)('0' + v);
	return end;
}

static char *put_u64(char *p, uint64_t v)
{
	uint64_t high;

	if (v <= UINT32_MAX)
		return put_u32(p, v);
	/* 32-bit division is cheaper: the low eight digits apart, then the
	 * rest (time_ns has 13 to 16 digits, its high part fits) */
	high = v / 100000000;
	p = high <= UINT32_MAX ? put_u32(p, high) : put_u64(p, high);
	digits_before(p + 8, v % 100000000, 8);
	return p + 8;
}

/*
 * put_u64() for event times, which come in order: the digits above the
 * low six change once a millisecond, so they are kept from the last time.
 */
static __thread uint64_t time_ms_last = UINT64_MAX;
static __thread char time_ms_text[24];
static __thread size_t time_ms_len;

static char *put_time_ns(char *p, uint64_t ns)
{
	uint64_t ms = ns / 1000000;

	if (!ms)
		return put_u64(p, ns);
	if (ms != time_ms_last) {
		time_ms_len = put_u64(time_ms_text, ms) - time_ms_text;
		time_ms_last = ms;
	}
	p = put_mem(p, time_ms_text, time_ms_len);
	digits_before(p + 6, ns % 1000000, 6);
	return p + 6;
}

static char *put_i64(char *p, int64_t v)
{
	if (v >= 0)
		return put_u64(p, (uint64_t)v);
	*p++ = '-';
	return put_u64(p, -(uint64_t)v);
}

/* v in lower-case hex, no leading zeros: printf's "%x" */
static char *put_hex(char *p, uint64_t v)
{
	unsigned int n = (64 - __builtin_clzll(v | 1) + 3) / 4;
	char *q = p + n;

	for (; v >= 0x10; v >>= 8) {
		q -= 2;
		memcpy(q, &hex_pairs[2 * (v & 0xff)], 2);
	}
	if (q > p)
		q[-1] = hex_pairs[2 * v + 1];
	return p + n;
}

/* 0..255 without a leading zero */
static char *put_u8(char *p, unsigned int v)
{
	unsigned int n = v >= 100 ? 3 : v >= 10 ? 2 : 1;

	digits_before(p + n, v, n);
	return p + n;
}

/* Dotted quad, as inet_ntop() writes it. */
static char *put_ipv4_text(char *p, const uint8_t a[4])
{
	p = put_u8(p, a[0]);
	*p++ = '.';
	p = put_u8(p, a[1]);
	*p++ = '.';
	p = put_u8(p, a[2]);
	*p++ = '.';
	return put_u8(p, a[3]);
}

/*
 * put_ipv4_text() with the last address's text kept per side (0: local,
 * 1: remote): a server's local address hardly changes, and a client's
 * connections come in runs. An event has room for the whole kept slot.
 */
enum { ADDR_LOCAL, ADDR_REMOTE };
#define IPV4_TEXT_SLOT 16 /* "255.255.255.255" */

static __thread struct {
	uint32_t addr;
	uint8_t len;
	char text[IPV4_TEXT_SLOT];
} ipv4_kept[2];

static char *put_ipv4(char *p, const uint8_t a[4], int side)
{
	uint32_t addr;

	memcpy(&addr, a, sizeof(addr));
	if (!ipv4_kept[side].len || ipv4_kept[side].addr != addr) {
		ipv4_kept[side].len = put_ipv4_text(ipv4_kept[side].text, a) - ipv4_kept[side].text;
		ipv4_kept[side].addr = addr;
	}
	memcpy(p, ipv4_kept[side].text, IPV4_TEXT_SLOT);
	return p + ipv4_kept[side].len;
}

/* IPv6 is rarer on the hot path and its text form has many rules (the
 * longest zero run, embedded IPv4): inet_ntop() keeps it exact. */
static char *put_ipv6(char *p, const uint8_t a[16])
{
	if (!inet_ntop(AF_INET6, a, p, INET6_ADDRSTRLEN))
		return p;
	return p + strlen(p);
}

static char *put_ip(char *p, int family, const uint8_t a[16], int side)
{
	return family == AF_INET ? put_ipv4(p, a, side) : put_ipv6(p, a);
}

static inline char *put_name(char *p, const struct name *n)
{
	memcpy(p, n->s, NAME_SLOT);
	return p + n->len;
}

/*
 * Length of a process name that needs no escaping, in JSON or on a terminal
 * (printable ASCII, no quote, no backslash), or -1. Process names are
 * untrusted; the rare one that fails goes through format.c's escaping.
 */
static int plain_comm_len(const char *comm)
{
	int i;

	for (i = 0; i < ST_COMM_LEN && comm[i]; i++)
		if (!comm_plain[(unsigned char)comm[i]])
			return -1;
	return i;
}

/* comm is a fixed ST_COMM_LEN-byte array: copy all of it, keep len. */
static inline char *put_comm(char *p, const char *comm, int len)
{
	memcpy(p, comm, ST_COMM_LEN);
	return p + len;
}

/*
 * st_duration_format()'s "1.23 ms" without its floating point. printf
 * rounds the double ns / 10^k, which for ns < 10^15 is within 2 * 10^-10 of
 * the exact quotient, while a quotient that is not an exact decimal tie is at
 * least 10^-9 from a rounding boundary: rounding the integers gives the same
 * digits. Ties, where the double's last bit decides, and values past 10^15 ns
 * go through st_duration_format() itself.
 */
static char *put_duration(char *p, uint64_t ns)
{
	uint64_t step, scale, q, rem;
	const char *unit;
	size_t unit_len = 3;

	if (ns < 1000) {
		p = put_u64(p, ns);
		return put_lit(p, " ns");
	}
	if (ns < 1000000) {
		step = 100, scale = 10, unit = " us";
	} else if (ns < 1000000000) {
		step = 10000, scale = 100, unit = " ms";
	} else if (ns < 1000000000000000ull) {
		step = 10000000, scale = 100, unit = " s", unit_len = 2;
	} else {
		st_duration_format(p, 32, ns);
		return p + strlen(p);
	}
	q = ns / step;
	rem = ns % step;
	if (rem * 2 == step) {
		st_duration_format(p, 32, ns);
		return p + strlen(p);
	}
	q += rem * 2 > step;
	p = put_u64(p, q / scale);
	*p++ = '.';
	if (scale == 10) {
		*p++ = (char)('0' + q % 10);
	} else {
		digits_before(p + 2, q % 100, 2);
		p += 2;
	}
	return put_mem(p, unit, unit_len);
}

static char *text_addr(char *p, const struct st_event *e, const uint8_t *a, uint16_t port,
		       int side)
{
	if (e->family == AF_INET) {
		p = put_ipv4(p, a, side);
	} else {
		*p++ = '[';
		p = put_ipv6(p, a);
		*p++ = ']';
	}
	*p++ = ':';
	return put_u64(p, port);
}

static char *text_tuple(char *p, const struct st_event *e)
{
	if (!has_sock(e))
		return p;
	*p++ = ' ';
	p = text_addr(p, e, e->saddr, e->sport, ADDR_LOCAL);
	if (e->type == ST_EV_CONNECT || e->type == ST_EV_CONNECT_DONE)
		p = put_lit(p, " -> ");
	else if (is_listener_event(e->type))
		p = put_lit(p, " <- ");
	else
		p = put_lit(p, " <-> ");
	return text_addr(p, e, e->daddr, e->dport, ADDR_REMOTE);
}

static char *text_err(char *p, int err)
{
	const char *n = err_name(err);

	*p++ = ' ';
	if (n)
		return put_str(p, n);
	p = put_lit(p, "error ");
	return put_i64(p, err);
}

/* st_epoll_events_format() into its 128-byte buffer: "EPOLLIN|EPOLLET",
 * "0" for none, cut at 127 bytes. */
static char *text_epoll_events(char *p, uint32_t mask)
{
	uint32_t named = mask & epoll_named_bits;
	char *start = p;

	if (!mask)
		return put_lit(p, "0");
	/* format.c lists the flags in bit order */
	for (; named; named &= named - 1) {
		if (p != start)
			*p++ = '|';
		p = put_name(p, &epoll_bit_names[__builtin_ctz(named)]);
	}
	if (mask & ~epoll_named_bits) {
		if (p != start)
			*p++ = '|';
		p = put_lit(p, "0x");
		p = put_hex(p, mask & ~epoll_named_bits);
	}
	return p - start > 127 ? start + 127 : p;
}

void st_print_event_text(FILE *f, const struct st_event *e)
{
	char line[LINE_SIZE], *p = line;
	int comm_len;

	pthread_once(&tables_once, tables_init);
	comm_len = plain_comm_len(e->comm);
	p = put_u64(p, e->time_ns / 1000000000);
	*p++ = '.';
	digits_before(p + 6, e->time_ns / 1000 % 1000000, 6);
	p += 6;
	*p++ = ' ';
	p = put_name(p, type_column(e->type));
	*p++ = ' ';
	p = put_u64(p, e->pid);
	*p++ = '/';
	if (comm_len >= 0) {
		p = put_comm(p, e->comm, comm_len);
	} else {
		st_term_escape(p, 4 * ST_COMM_LEN + 1, e->comm, ST_COMM_LEN);
		p += strlen(p);
	}
	switch (e->type) {
	case ST_EV_LOST:
		*p++ = ' ';
		p = put_u64(p, e->count);
		if (e->old_state == ST_LOST_SKIPPED)
			p = put_lit(p, " hook runs skipped by the kernel (recursion): events lost\n");
		else if (e->old_state == ST_LOST_STAGE)
			p = put_lit(p, " events lost in socktrace's per-CPU stages (a bug)\n");
		else if (e->old_state == ST_LOST_WALK)
			p = put_lit(p, " wake-ups not followed to every epoll instance (more watch "
				       "the socket than socktrace walks): ep_wakeup events may be lost\n");
		else
			p = put_lit(p, " events lost (ring buffer full)\n");
		put_line(f, line, p - line);
		return;
	case ST_EV_EP_WAKEUP:
		p = put_lit(p, " epfd ");
		p = put_i64(p, e->epfd);
		p = put_lit(p, " fd ");
		p = put_i64(p, e->fd);
		*p++ = ' ';
		p = text_epoll_events(p, e->events);
		p = text_tuple(p, e);
		break;
	case ST_EV_EPOLL_WAIT_DONE:
		p = put_lit(p, " epfd ");
		p = put_i64(p, e->epfd);
		p = put_lit(p, " returned ");
		p = put_u64(p, e->count);
		if (e->err)
			p = text_err(p, e->err);
		if (e->latency_ns) {
			p = put_lit(p, ", ");
			p = put_duration(p, e->latency_ns);
			p = put_lit(p, " after the first wake-up");
		}
		break;
	default:
		if (e->fd >= 0) {
			p = put_lit(p, " fd ");
			p = put_u64(p, e->fd);
		}
		p = text_tuple(p, e);
		break;
	}
	switch (e->type) {
	case ST_EV_CONNECT:
		p = text_err(p, e->err);
		break;
	case ST_EV_CONNECT_DONE:
		p = text_err(p, e->err);
		p = put_lit(p, " in ");
		p = put_duration(p, e->latency_ns);
		break;
	case ST_EV_SYN_RECV:
	case ST_EV_SYN_QUEUE_FULL:
		p = put_lit(p, " syn queue ");
		p = put_u64(p, e->queue_len);
		*p++ = '/';
		p = put_u64(p, e->queue_max);
		if (e->type == ST_EV_SYN_QUEUE_FULL) {
			if (e->count)
				p = put_lit(p, " (SYN dropped)");
			else
				p = put_lit(p, " (SYN cookie)");
		}
		break;
	case ST_EV_SYNACK_RETRANS:
		p = put_lit(p, " retransmit ");
		p = put_u64(p, e->count);
		p = put_lit(p, ", syn queue ");
		p = put_u64(p, e->queue_len);
		break;
	case ST_EV_CHILD_QUEUED:
		p = put_lit(p, " accept queue ");
		p = put_u64(p, e->queue_len);
		*p++ = '/';
		p = put_u64(p, e->queue_max);
		break;
	case ST_EV_ACCEPT:
		p = put_lit(p, " accept queue ");
		p = put_u64(p, e->queue_len);
		*p++ = '/';
		p = put_u64(p, e->queue_max);
		p = put_lit(p, ", waited ");
		p = put_duration(p, e->latency_ns);
		if (st_accepted_late(e)) {
			p = put_lit(p, ", already ");
			p = put_name(p, &tcp_state_names[e->new_state]);
		}
		break;
	case ST_EV_ACCEPT_OVERFLOW:
		p = put_lit(p, " accept queue ");
		p = put_u64(p, e->queue_len);
		*p++ = '/';
		p = put_u64(p, e->queue_max);
		if (e->count == 2)
			p = put_lit(p, " full, final ACK dropped");
		else
			p = put_lit(p, " full, SYN dropped");
		break;
	case ST_EV_STATE:
		*p++ = ' ';
		p = put_name(p, &tcp_state_names[e->old_state]);
		p = put_lit(p, " -> ");
		p = put_name(p, &tcp_state_names[e->new_state]);
		break;
	case ST_EV_CLOSE:
		*p++ = ' ';
		p = put_name(p, &tcp_state_names[e->old_state]);
		break;
	}
	p = put_lit(p, " [");
	p = put_name(p, &tier_names[e->tier]);
	p = put_lit(p, "]\n");
	put_line(f, line, p - line);
}

/* ,"key": with key a string literal */
#define put_key(p, key) put_lit(p, ",\"" key "\":")

static char *put_name_quote(char *p, const struct name *n)
{
	p = put_name(p, n);
	*p++ = '"';
	return p;
}

/* ,"key":"name" */
#define put_key_name(p, key, n) put_name_quote(put_lit(p, ",\"" key "\":\""), n)

static char *json_sock(char *p, const struct st_event *e)
{
	if (!has_sock(e))
		return p;
	p = put_key_name(p, "family", &family_names[e->family == AF_INET6]);
	p = put_lit(p, ",\"saddr\":\"");
	p = put_ip(p, e->family, e->saddr, ADDR_LOCAL);
	p = put_lit(p, "\",\"sport\":");
	p = put_u64(p, e->sport);
	p = put_lit(p, ",\"daddr\":\"");
	p = put_ip(p, e->family, e->daddr, ADDR_REMOTE);
	p = put_lit(p, "\",\"dport\":");
	p = put_u64(p, e->dport);
	p = put_lit(p, ",\"sk_id\":\"0x");
	p = put_hex(p, e->sk_id);
	*p++ = '"';
	return p;
}

static char *json_err(char *p, int err)
{
	const char *n = err_name(err);

	p = put_key(p, "err");
	p = put_i64(p, err);
	if (n) {
		p = put_lit(p, ",\"error\":\"");
		p = put_str(p, n);
		*p++ = '"';
	}
	return p;
}

/* st_epoll_events_each()'s names as a JSON array, same order. */
static char *json_epoll_events(char *p, uint32_t mask)
{
	uint32_t named = mask & epoll_named_bits;
	char sep = '[';

	for (; named; named &= named - 1) {
		*p++ = sep;
		*p++ = '"';
		p = put_name(p, &epoll_bit_names[__builtin_ctz(named)]);
		*p++ = '"';
		sep = ',';
	}
	if (mask & ~epoll_named_bits) {
		*p++ = sep;
		p = put_lit(p, "\"0x");
		p = put_hex(p, mask & ~epoll_named_bits);
		*p++ = '"';
		sep = ',';
	}
	if (sep == '[')
		*p++ = '[';
	*p++ = ']';
	return p;
}

/*
 * The pid, tid and process name of a JSON line, the same for a target's
 * events but for its few threads: kept as text, a slot per tid hash, and
 * used while all three are the same (names are untrusted and checked once
 * for escaping when kept).
 */
#define HEAD_SLOTS 8

struct head_text {
	uint32_t pid, tid;
	char comm[ST_COMM_LEN];
	uint32_t len; /* 0: empty */
	char text[80]; /* ,"pid":N,"tid":N,"comm":"..." is at most 62 */
};

static __thread struct head_text head_cache[HEAD_SLOTS];

void st_print_event_json(FILE *f, const struct st_event *e)
{
	char line[LINE_SIZE], *p = line, *head;
	struct head_text *h;
	int comm_len;

	pthread_once(&tables_once, tables_init);
	p = put_lit(p, "{\"type\":\"");
	p = put_name(p, type_name(e->type));
	p = put_lit(p, "\",\"time_ns\":");
	p = put_time_ns(p, e->time_ns);
	h = &head_cache[e->tid & (HEAD_SLOTS - 1)];
	if (h->len && h->pid == e->pid && h->tid == e->tid &&
	    !memcmp(h->comm, e->comm, ST_COMM_LEN)) {
		p = put_mem(p, h->text, h->len);
		goto tail;
	}
	comm_len = plain_comm_len(e->comm);
	head = p;
	p = put_key(p, "pid");
	p = put_u64(p, e->pid);
	if (e->tid) {
		p = put_key(p, "tid");
		p = put_u64(p, e->tid);
	}
	p = put_key(p, "comm");
	if (comm_len >= 0) {
		*p++ = '"';
		p = put_comm(p, e->comm, comm_len);
		*p++ = '"';
		if ((size_t)(p - head) <= sizeof(h->text)) {
			h->pid = e->pid;
			h->tid = e->tid;
			memcpy(h->comm, e->comm, ST_COMM_LEN);
			h->len = p - head;
			memcpy(h->text, head, h->len);
		}
	} else {
		/* rare: write what we have, let st_json_string() escape */
		put_line(f, line, p - line);
		st_json_string(f, e->comm, strnlen(e->comm, ST_COMM_LEN));
		p = line;
	}
tail:
	if (e->type == ST_EV_LOST) {
		p = put_key(p, "count");
		p = put_u64(p, e->count);
		if (e->old_state == ST_LOST_SKIPPED)
			p = put_lit(p, ",\"reason\":\"hook_skipped\"}\n");
		else if (e->old_state == ST_LOST_STAGE)
			p = put_lit(p, ",\"reason\":\"stage\"}\n");
		else if (e->old_state == ST_LOST_WALK)
			p = put_lit(p, ",\"reason\":\"walk_cut\"}\n");
		else
			p = put_lit(p, ",\"reason\":\"ring_full\"}\n");
		put_line(f, line, p - line);
		return;
	}
	p = put_key_name(p, "tier", &tier_names[e->tier]);
	if (e->type == ST_EV_EP_WAKEUP || e->type == ST_EV_EPOLL_WAIT_DONE) {
		p = put_key(p, "epfd");
		p = put_i64(p, e->epfd);
	}
	if (e->type != ST_EV_EPOLL_WAIT_DONE) {
		p = put_key(p, "fd");
		p = put_i64(p, e->fd);
	}
	p = json_sock(p, e);
	switch (e->type) {
	case ST_EV_CONNECT:
		p = json_err(p, e->err);
		break;
	case ST_EV_CONNECT_DONE:
		p = json_err(p, e->err);
		p = put_key(p, "latency_ns");
		p = put_u64(p, e->latency_ns);
		break;
	case ST_EV_SYN_RECV:
	case ST_EV_SYN_QUEUE_FULL:
		p = put_key(p, "syn_queue");
		p = put_u64(p, e->queue_len);
		p = put_key(p, "queue_max");
		p = put_u64(p, e->queue_max);
		if (e->type == ST_EV_SYN_QUEUE_FULL) {
			if (e->count)
				p = put_lit(p, ",\"action\":\"drop\"");
			else
				p = put_lit(p, ",\"action\":\"cookie\"");
		}
		break;
	case ST_EV_SYNACK_RETRANS:
		p = put_key(p, "retrans");
		p = put_u64(p, e->count);
		p = put_key(p, "syn_queue");
		p = put_u64(p, e->queue_len);
		p = put_key(p, "queue_max");
		p = put_u64(p, e->queue_max);
		break;
	case ST_EV_CHILD_QUEUED:
		p = put_key(p, "accept_queue");
		p = put_u64(p, e->queue_len);
		p = put_key(p, "queue_max");
		p = put_u64(p, e->queue_max);
		break;
	case ST_EV_ACCEPT:
		p = put_key(p, "accept_queue");
		p = put_u64(p, e->queue_len);
		p = put_key(p, "queue_max");
		p = put_u64(p, e->queue_max);
		p = put_key(p, "latency_ns");
		p = put_u64(p, e->latency_ns);
		if (st_accepted_late(e))
			p = put_key_name(p, "state", &tcp_state_names[e->new_state]);
		break;
	case ST_EV_ACCEPT_OVERFLOW:
		p = put_key(p, "accept_queue");
		p = put_u64(p, e->queue_len);
		p = put_key(p, "queue_max");
		p = put_u64(p, e->queue_max);
		if (e->count == 2)
			p = put_lit(p, ",\"dropped\":\"ack\"");
		else
			p = put_lit(p, ",\"dropped\":\"syn\"");
		break;
	case ST_EV_EP_WAKEUP:
		p = put_key(p, "events");
		p = put_u64(p, e->events);
		p = put_key(p, "event_names");
		p = json_epoll_events(p, e->events);
		break;
	case ST_EV_EPOLL_WAIT_DONE:
		p = put_key(p, "count");
		p = put_u64(p, e->count);
		p = put_key(p, "latency_ns");
		p = put_u64(p, e->latency_ns);
		if (e->err)
			p = json_err(p, e->err);
		break;
	case ST_EV_STATE:
		p = put_key_name(p, "old_state", &tcp_state_names[e->old_state]);
		p = put_key_name(p, "new_state", &tcp_state_names[e->new_state]);
		break;
	case ST_EV_CLOSE:
		p = put_key_name(p, "state", &tcp_state_names[e->old_state]);
		break;
	}
	p = put_lit(p, "}\n");
	put_line(f, line, p - line);
}
