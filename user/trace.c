// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The trace file writer and reader; the format is in docs/trace-format.md.
 *
 * Records are encoded field by field, little-endian and LEB128 varints, each
 * against the previous record of its kind in the same chunk (a presence
 * bitmap names the fields that changed), then compressed with zlib one chunk
 * at a time. Every chunk is an independent zlib stream with its own CRC, so
 * a file cut at any byte reads back up to its last complete chunk, and the
 * delta state never crosses a chunk boundary.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "format.h"
#include "trace.h"
#include "util.h"

#define TRACE_MAGIC "\x89STRACE\n"
#define TRACE_MAGIC_LEN 8
#define TRACE_BOM 0x01020304u
#define HDR_FIXED_LEN 16	/* magic, version, header length, byte order */
#define HDR_MAX_LEN 4096

#define CHUNK_MAGIC "STCK"
#define CHUNK_HDR_LEN 28
#define CHUNK_DATA 1
#define CHUNK_END 2
/* A chunk ends once it holds this much encoded input, or is half a second
 * old: with the recorder's 100 ms tick and a loaded machine's delays, a
 * killed recorder still loses less than the promised second. */
#define CHUNK_RAW_TARGET (1u << 20)
#define CHUNK_AGE_NS 500000000ull
#define SYNC_INTERVAL_NS 1000000000ull
/* Bounds a reader enforces before allocating anything. */
#define REC_MAX_LEN (16u << 20)
#define CHUNK_RAW_MAX (CHUNK_RAW_TARGET + REC_MAX_LEN + 16)
#define CHUNK_COMP_MAX (CHUNK_RAW_MAX + CHUNK_RAW_MAX / 16 + 4096)
#define STAGE_LEN (64u << 10)
#define READ_STEP (1u << 20)

#define SNAP_MAX_FDS (1u << 21)
#define SNAP_MAX_LIST (1u << 20)

enum rec_tag {
	REC_EVENT = 1,
	REC_SNAPSHOT = 2,
};

/* Event fields sent only when they differ from the previous event, in
 * roughly the order of how often they change on a connection churn, so the
 * common events need a one-byte bitmap. */
enum ev_bit {
	EV_SK_ID, EV_SK_MRU, EV_OLD_STATE, EV_NEW_STATE, EV_FD, EV_DPORT, EV_SPORT,
	EV_LATENCY, EV_QUEUE_LEN, EV_QUEUE_MAX, EV_TID, EV_EPFD, EV_EVENTS, EV_COUNT,
	EV_ERR, EV_PID, EV_FAMILY, EV_SADDR, EV_DADDR, EV_TIER, EV_PAD, EV_COMM,
	EV_BIT_COUNT,
};

/* Recently seen socket ids: events alternate between a listener, request
 * sockets and children, and a one-byte index beats a 4-byte delta. */
#define SK_MRU_LEN 8

/* Snapshot entries: fields that differ from the previous snapshot's entry
 * with the same fd number. */
enum fd_bit {
	FD_KIND, FD_STATE, FD_FAMILY, FD_SOCK_TYPE, FD_LOCAL, FD_REMOTE, FD_RX_QUEUE,
	FD_TX_QUEUE, FD_DROPS, FD_INO, FD_OBJ_ID, FD_PATH, FD_BIT_COUNT,
};
enum listener_bit {
	LS_FAMILY, LS_LOCAL, LS_SYN_QUEUE, LS_ACCEPT_QUEUE, LS_ACCEPT_MAX, LS_DROPS,
	LS_SK_ID, LS_HALF_OPEN, LS_BIT_COUNT,
};
enum epoll_bit {
	EP_ID, EP_INTEREST, EP_READY, EP_BIT_COUNT,
};

/* ---- encoding ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

static int buf_reserve(struct buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->oom)
		return -ENOMEM;
	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -ENOMEM;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static void put_bytes(struct buf *b, const void *d, size_t n)
{
	if (!n || buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put_u8(struct buf *b, uint8_t v)
{
	put_bytes(b, &v, 1);
}

static void put_le(struct buf *b, uint64_t v, int n)
{
	uint8_t d[8];

	for (int i = 0; i < n; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	put_bytes(b, d, n);
}

static void put_varint(struct buf *b, uint64_t v)
{
	uint8_t d[10];
	int n = 0;

	do {
		d[n] = v & 0x7f;
		v >>= 7;
		if (v)
			d[n] |= 0x80;
		n++;
	} while (v);
	put_bytes(b, d, n);
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void put_zz(struct buf *b, int64_t v)
{
	put_varint(b, zigzag(v));
}

/* A string of at most max bytes, stopping at the first NUL. */
static void put_str(struct buf *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	put_u8(b, (uint8_t)n);
	put_bytes(b, s, n);
}

/* An address with its trailing zero bytes left out. */
static void put_addr_bytes(struct buf *b, const uint8_t addr[16])
{
	int n = 16;

	while (n > 0 && !addr[n - 1])
		n--;
	put_u8(b, (uint8_t)n);
	put_bytes(b, addr, n);
}

static void put_st_addr(struct buf *b, const struct st_addr *a)
{
	put_u8(b, a->family);
	put_addr_bytes(b, a->addr);
	put_varint(b, a->port);
}

/* ---- decoding ---- */

struct cur {
	const uint8_t *p;
	size_t len, pos;
	const char *bad; /* first problem found; every get after it fails */
};

static int cur_fail(struct cur *c, const char *why)
{
	if (!c->bad)
		c->bad = why;
	return -EBADMSG;
}

static size_t cur_left(const struct cur *c)
{
	return c->bad ? 0 : c->len - c->pos;
}

static int get_bytes(struct cur *c, void *d, size_t n)
{
	if (c->bad)
		return -EBADMSG;
	if (n > c->len - c->pos)
		return cur_fail(c, "record ends inside a field");
	memcpy(d, c->p + c->pos, n);
	c->pos += n;
	return 0;
}

static uint8_t get_u8(struct cur *c)
{
	uint8_t v = 0;

	get_bytes(c, &v, 1);
	return v;
}

static uint64_t get_le(struct cur *c, int n)
{
	uint8_t d[8] = {};
	uint64_t v = 0;

	get_bytes(c, d, n);
	for (int i = 0; i < n; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

static uint64_t get_varint(struct cur *c)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t byte;

		if (c->bad)
			return 0;
		if (c->pos >= c->len) {
			cur_fail(c, "record ends inside a number");
			return 0;
		}
		byte = c->p[c->pos++];
		if (shift == 63 && byte > 1) {
			cur_fail(c, "number too large");
			return 0;
		}
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return v;
	}
	cur_fail(c, "number too long");
	return 0;
}

static uint64_t get_varint_max(struct cur *c, uint64_t max)
{
	uint64_t v = get_varint(c);

	if (v > max) {
		cur_fail(c, "value out of range");
		return 0;
	}
	return v;
}

static int64_t get_zz_range(struct cur *c, int64_t min, int64_t max)
{
	int64_t v = unzigzag(get_varint(c));

	if (v < min || v > max) {
		cur_fail(c, "value out of range");
		return 0;
	}
	return v;
}

static void get_str(struct cur *c, char *dst, size_t size)
{
	size_t n = get_u8(c);

	memset(dst, 0, size);
	if (n >= size) {
		cur_fail(c, "string too long");
		return;
	}
	get_bytes(c, dst, n);
}

static void get_addr_bytes(struct cur *c, uint8_t addr[16])
{
	size_t n = get_u8(c);

	memset(addr, 0, 16);
	if (n > 16) {
		cur_fail(c, "address too long");
		return;
	}
	get_bytes(c, addr, n);
}

static void get_st_addr(struct cur *c, struct st_addr *a)
{
	a->family = get_u8(c);
	get_addr_bytes(c, a->addr);
	a->port = (uint16_t)get_varint_max(c, UINT16_MAX);
}

/* A count of entries that each take at least min_bytes: bounded by what is
 * left of the record before anything is allocated. */
static size_t get_count(struct cur *c, size_t min_bytes, size_t max)
{
	uint64_t n = get_varint(c);

	if (n > max || n > cur_left(c) / min_bytes) {
		cur_fail(c, "count larger than the record");
		return 0;
	}
	return (size_t)n;
}

/* ---- header ---- */

int trace_header__kprobe_gap(const struct trace_header *hdr)
{
	for (int i = 0; i < ST_HOOK_COUNT; i++)
		if (hdr->hook_tier[i] == ST_TIER_KPROBE)
			return !st_kprobe_skips_counted(hdr->kernel_release);
	return 0;
}

const char *trace_hook_name(unsigned int hook)
{
	static const char *const names[ST_HOOK_COUNT] = {
		[ST_HOOK_CONNECT] = "connect",
		[ST_HOOK_ACCEPT] = "accept",
		[ST_HOOK_SYN_QUEUE] = "syn_queue",
		[ST_HOOK_ACCEPT_QUEUE] = "accept_queue",
		[ST_HOOK_EPOLL] = "epoll",
		[ST_HOOK_STATE] = "state",
	};

	return hook < ST_HOOK_COUNT && names[hook] ? names[hook] : "unknown";
}

void trace_header__init(struct trace_header *hdr)
{
	struct utsname u;
	struct timespec ts;

	hdr->version = TRACE_VERSION;
	snprintf(hdr->socktrace_version, sizeof(hdr->socktrace_version), "%s",
		 SOCKTRACE_VERSION);
	if (!uname(&u))
		snprintf(hdr->kernel_release, sizeof(hdr->kernel_release), "%s", u.release);
	if (gethostname(hdr->hostname, sizeof(hdr->hostname) - 1))
		hdr->hostname[0] = '\0';
	hdr->hostname[sizeof(hdr->hostname) - 1] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	hdr->start_realtime_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	hdr->start_mono_ns = st_now_ns();
}

static void encode_header(struct buf *b, const struct trace_header *h)
{
	size_t len_at;
	uint32_t crc;

	put_bytes(b, TRACE_MAGIC, TRACE_MAGIC_LEN);
	put_le(b, TRACE_VERSION, 2);
	len_at = b->len;
	put_le(b, 0, 2);
	put_le(b, TRACE_BOM, 4);
	put_str(b, h->socktrace_version, sizeof(h->socktrace_version) - 1);
	put_str(b, h->kernel_release, sizeof(h->kernel_release) - 1);
	put_str(b, h->hostname, sizeof(h->hostname) - 1);
	put_le(b, h->pid, 4);
	put_str(b, h->comm, sizeof(h->comm) - 1);
	put_u8(b, ST_HOOK_COUNT);
	put_bytes(b, h->hook_tier, ST_HOOK_COUNT);
	put_le(b, h->start_realtime_ns, 8);
	put_le(b, h->start_mono_ns, 8);
	if (b->oom)
		return;
	b->p[len_at] = (uint8_t)(b->len + 4);
	b->p[len_at + 1] = (uint8_t)((b->len + 4) >> 8);
	crc = crc32(0, b->p, b->len);
	put_le(b, crc, 4);
}

/* ---- events ---- */

/* What a reader will decode: comm bytes after the first NUL do not survive. */
static void event_normalize(struct st_event *dst, const struct st_event *src)
{
	size_t n = strnlen(src->comm, ST_COMM_LEN);

	*dst = *src;
	memset(dst->comm, 0, ST_COMM_LEN);
	memcpy(dst->comm, src->comm, n);
}

static int sk_mru_find(const uint64_t mru[SK_MRU_LEN], uint64_t id)
{
	for (int i = 0; i < SK_MRU_LEN; i++)
		if (mru[i] == id)
			return i;
	return -1;
}

/* Moves id to the front (both sides run this after every event). */
static void sk_mru_use(uint64_t mru[SK_MRU_LEN], uint64_t id)
{
	int i = sk_mru_find(mru, id);

	if (i < 0)
		i = SK_MRU_LEN - 1;
	memmove(mru + 1, mru, i * sizeof(*mru));
	mru[0] = id;
}

static void encode_event(struct buf *b, const struct st_event *e, const struct st_event *prev,
			 uint64_t prev_time, const uint64_t mru[SK_MRU_LEN])
{
	uint64_t bits = 0;
	int mru_idx = -1;

#define DIFF(bit, field) if (e->field != prev->field) bits |= 1ull << (bit)
	DIFF(EV_SK_ID, sk_id);
	DIFF(EV_OLD_STATE, old_state);
	DIFF(EV_NEW_STATE, new_state);
	DIFF(EV_FD, fd);
	DIFF(EV_DPORT, dport);
	DIFF(EV_SPORT, sport);
	DIFF(EV_LATENCY, latency_ns);
	DIFF(EV_QUEUE_LEN, queue_len);
	DIFF(EV_QUEUE_MAX, queue_max);
	DIFF(EV_TID, tid);
	DIFF(EV_EPFD, epfd);
	DIFF(EV_EVENTS, events);
	DIFF(EV_COUNT, count);
	DIFF(EV_ERR, err);
	DIFF(EV_PID, pid);
	DIFF(EV_FAMILY, family);
	DIFF(EV_TIER, tier);
	DIFF(EV_PAD, xflags);
#undef DIFF
	if (memcmp(e->saddr, prev->saddr, 16))
		bits |= 1ull << EV_SADDR;
	if (memcmp(e->daddr, prev->daddr, 16))
		bits |= 1ull << EV_DADDR;
	if (memcmp(e->comm, prev->comm, ST_COMM_LEN))
		bits |= 1ull << EV_COMM;
	if ((bits & (1ull << EV_SK_ID)) && (mru_idx = sk_mru_find(mru, e->sk_id)) >= 0)
		bits ^= (1ull << EV_SK_ID) | (1ull << EV_SK_MRU);

	put_u8(b, REC_EVENT);
	put_varint(b, e->type);
	put_varint(b, bits);
	put_zz(b, (int64_t)(e->time_ns - prev_time));
	if (bits & (1ull << EV_SK_ID))
		put_zz(b, (int64_t)(e->sk_id - prev->sk_id));
	if (bits & (1ull << EV_SK_MRU))
		put_u8(b, (uint8_t)mru_idx);
	if (bits & (1ull << EV_OLD_STATE))
		put_u8(b, e->old_state);
	if (bits & (1ull << EV_NEW_STATE))
		put_u8(b, e->new_state);
	if (bits & (1ull << EV_FD))
		put_zz(b, e->fd);
	if (bits & (1ull << EV_DPORT))
		put_varint(b, e->dport);
	if (bits & (1ull << EV_SPORT))
		put_varint(b, e->sport);
	if (bits & (1ull << EV_LATENCY))
		put_varint(b, e->latency_ns);
	if (bits & (1ull << EV_QUEUE_LEN))
		put_varint(b, e->queue_len);
	if (bits & (1ull << EV_QUEUE_MAX))
		put_varint(b, e->queue_max);
	if (bits & (1ull << EV_TID))
		put_zz(b, (int64_t)e->tid - (int64_t)e->pid);
	if (bits & (1ull << EV_EPFD))
		put_zz(b, e->epfd);
	if (bits & (1ull << EV_EVENTS))
		put_varint(b, e->events);
	if (bits & (1ull << EV_COUNT))
		put_varint(b, e->count);
	if (bits & (1ull << EV_ERR))
		put_zz(b, e->err);
	if (bits & (1ull << EV_PID))
		put_varint(b, e->pid);
	if (bits & (1ull << EV_FAMILY))
		put_varint(b, e->family);
	if (bits & (1ull << EV_SADDR))
		put_addr_bytes(b, e->saddr);
	if (bits & (1ull << EV_DADDR))
		put_addr_bytes(b, e->daddr);
	if (bits & (1ull << EV_TIER))
		put_u8(b, e->tier);
	if (bits & (1ull << EV_PAD))
		put_u8(b, e->xflags);
	if (bits & (1ull << EV_COMM))
		put_str(b, e->comm, ST_COMM_LEN);
}

static void decode_event(struct cur *c, struct st_event *e, const struct st_event *prev,
			 uint64_t prev_time, const uint64_t mru[SK_MRU_LEN])
{
	int64_t tid_delta = 0;
	uint64_t bits;

	*e = *prev;
	e->type = (uint16_t)get_varint_max(c, UINT16_MAX);
	bits = get_varint(c);
	if (bits >> EV_BIT_COUNT)
		cur_fail(c, "unknown event field");
	if ((bits & (1ull << EV_SK_ID)) && (bits & (1ull << EV_SK_MRU)))
		cur_fail(c, "socket id given twice");
	e->time_ns = prev_time + (uint64_t)unzigzag(get_varint(c));
	if (bits & (1ull << EV_SK_ID))
		e->sk_id = prev->sk_id + (uint64_t)unzigzag(get_varint(c));
	if (bits & (1ull << EV_SK_MRU)) {
		uint8_t i = get_u8(c);

		if (i >= SK_MRU_LEN)
			cur_fail(c, "bad socket id index");
		else
			e->sk_id = mru[i];
	}
	if (bits & (1ull << EV_OLD_STATE))
		e->old_state = get_u8(c);
	if (bits & (1ull << EV_NEW_STATE))
		e->new_state = get_u8(c);
	if (bits & (1ull << EV_FD))
		e->fd = (int32_t)get_zz_range(c, INT32_MIN, INT32_MAX);
	if (bits & (1ull << EV_DPORT))
		e->dport = (uint16_t)get_varint_max(c, UINT16_MAX);
	if (bits & (1ull << EV_SPORT))
		e->sport = (uint16_t)get_varint_max(c, UINT16_MAX);
	if (bits & (1ull << EV_LATENCY))
		e->latency_ns = get_varint(c);
	if (bits & (1ull << EV_QUEUE_LEN))
		e->queue_len = (uint32_t)get_varint_max(c, UINT32_MAX);
	if (bits & (1ull << EV_QUEUE_MAX))
		e->queue_max = (uint32_t)get_varint_max(c, UINT32_MAX);
	/* tid is stored against pid, which comes later: keep the delta. */
	if (bits & (1ull << EV_TID))
		tid_delta = get_zz_range(c, -(int64_t)UINT32_MAX, UINT32_MAX);
	if (bits & (1ull << EV_EPFD))
		e->epfd = (int32_t)get_zz_range(c, INT32_MIN, INT32_MAX);
	if (bits & (1ull << EV_EVENTS))
		e->events = (uint32_t)get_varint_max(c, UINT32_MAX);
	if (bits & (1ull << EV_COUNT))
		e->count = (uint32_t)get_varint_max(c, UINT32_MAX);
	if (bits & (1ull << EV_ERR))
		e->err = (int32_t)get_zz_range(c, INT32_MIN, INT32_MAX);
	if (bits & (1ull << EV_PID))
		e->pid = (uint32_t)get_varint_max(c, UINT32_MAX);
	if (bits & (1ull << EV_TID)) {
		int64_t tid = (int64_t)e->pid + tid_delta;

		if (tid < 0 || tid > UINT32_MAX)
			cur_fail(c, "value out of range");
		else
			e->tid = (uint32_t)tid;
	}
	if (bits & (1ull << EV_FAMILY))
		e->family = (uint16_t)get_varint_max(c, UINT16_MAX);
	if (bits & (1ull << EV_SADDR))
		get_addr_bytes(c, e->saddr);
	if (bits & (1ull << EV_DADDR))
		get_addr_bytes(c, e->daddr);
	if (bits & (1ull << EV_TIER))
		e->tier = get_u8(c);
	if (bits & (1ull << EV_PAD))
		e->xflags = get_u8(c);
	if (bits & (1ull << EV_COMM)) {
		char comm[ST_COMM_LEN + 1];

		get_str(c, comm, sizeof(comm));
		memcpy(e->comm, comm, ST_COMM_LEN);
	}
}

/* ---- snapshots ---- */

/* Each entry type starts with its int32 fd, so one lookup serves all three. */
_Static_assert(offsetof(struct st_fd, fd) == 0, "fd first");
_Static_assert(offsetof(struct st_listener, fd) == 0, "fd first");
_Static_assert(offsetof(struct st_epoll, fd) == 0, "fd first");

/* The previous snapshot's entry with this fd number. Entries come in fd
 * order, so a cursor that only moves forward finds it; on input that is not
 * in order it finds nothing, the same way on both sides. */
static const void *find_base(const void *arr, size_t n, size_t stride, size_t *cursor,
			     int32_t fd)
{
	while (*cursor < n) {
		const char *p = (const char *)arr + *cursor * stride;
		int32_t base_fd;

		memcpy(&base_fd, p, sizeof(base_fd));
		if (base_fd == fd)
			return p;
		if (base_fd > fd)
			return NULL;
		(*cursor)++;
	}
	return NULL;
}

static int addr_eq(const struct st_addr *a, const struct st_addr *b)
{
	return a->family == b->family && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

static int path_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

static int ep_list_eq(const struct st_ep_entry *a, size_t na, const struct st_ep_entry *b,
		      size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (a[i].fd != b[i].fd || a[i].events != b[i].events)
			return 0;
	return 1;
}

static int half_open_eq(const struct st_listener *a, const struct st_listener *b)
{
	if (a->n_half_open != b->n_half_open)
		return 0;
	for (size_t i = 0; i < a->n_half_open; i++)
		if (!addr_eq(&a->half_open[i].local, &b->half_open[i].local) ||
		    !addr_eq(&a->half_open[i].remote, &b->half_open[i].remote) ||
		    a->half_open[i].synack_retrans != b->half_open[i].synack_retrans)
			return 0;
	return 1;
}

static int fd_same(const struct st_fd *f, const struct st_fd *o)
{
	return f->fd == o->fd && f->kind == o->kind && f->state == o->state &&
	       f->family == o->family && f->sock_type == o->sock_type &&
	       addr_eq(&f->local, &o->local) && addr_eq(&f->remote, &o->remote) &&
	       f->rx_queue == o->rx_queue && f->tx_queue == o->tx_queue &&
	       f->drops == o->drops && f->ino == o->ino && f->obj_id == o->obj_id &&
	       path_eq(f->path, o->path);
}

static int listener_same(const struct st_listener *l, const struct st_listener *o)
{
	return l->fd == o->fd && l->family == o->family && addr_eq(&l->local, &o->local) &&
	       l->syn_queue == o->syn_queue && l->accept_queue == o->accept_queue &&
	       l->accept_max == o->accept_max && l->drops == o->drops &&
	       l->sk_id == o->sk_id && half_open_eq(l, o);
}

int trace_snapshot_same(const struct st_snapshot *a, const struct st_snapshot *b)
{
	if (a->pid != b->pid || strncmp(a->comm, b->comm, sizeof(a->comm)) ||
	    a->n_fds != b->n_fds || a->n_listeners != b->n_listeners ||
	    a->n_epolls != b->n_epolls)
		return 0;
	for (size_t i = 0; i < a->n_fds; i++)
		if (!fd_same(&a->fds[i], &b->fds[i]))
			return 0;
	for (size_t i = 0; i < a->n_listeners; i++)
		if (!listener_same(&a->listeners[i], &b->listeners[i]))
			return 0;
	for (size_t i = 0; i < a->n_epolls; i++) {
		const struct st_epoll *x = &a->epolls[i], *y = &b->epolls[i];

		if (x->fd != y->fd || x->ep_id != y->ep_id ||
		    !ep_list_eq(x->interest, x->n_interest, y->interest, y->n_interest) ||
		    !ep_list_eq(x->ready, x->n_ready, y->ready, y->n_ready))
			return 0;
	}
	return 1;
}

static void put_ep_list(struct buf *b, const struct st_ep_entry *l, size_t n)
{
	int32_t prev = 0;

	put_varint(b, n);
	for (size_t i = 0; i < n; i++) {
		put_zz(b, (int64_t)l[i].fd - prev);
		put_varint(b, l[i].events);
		prev = l[i].fd;
	}
}

static void encode_snapshot(struct buf *b, const struct st_snapshot *s,
			    const struct st_snapshot *base, uint64_t prev_time)
{
	static const struct st_fd zero_fd;
	static const struct st_listener zero_listener;
	static const struct st_epoll zero_epoll;
	size_t cursor;
	int32_t prev_fd;

	put_u8(b, REC_SNAPSHOT);
	put_zz(b, (int64_t)(s->time_ns - prev_time));
	put_varint(b, s->pid);
	put_str(b, s->comm, ST_COMM_LEN);

	put_varint(b, s->n_fds);
	cursor = 0;
	prev_fd = 0;
	for (size_t i = 0; i < s->n_fds; i++) {
		const struct st_fd *f = &s->fds[i];
		const struct st_fd *o = find_base(base->fds, base->n_fds, sizeof(*o), &cursor, f->fd);
		uint64_t bits = 0;

		if (!o)
			o = &zero_fd;
		bits |= (uint64_t)(f->kind != o->kind) << FD_KIND;
		bits |= (uint64_t)(f->state != o->state) << FD_STATE;
		bits |= (uint64_t)(f->family != o->family) << FD_FAMILY;
		bits |= (uint64_t)(f->sock_type != o->sock_type) << FD_SOCK_TYPE;
		bits |= (uint64_t)!addr_eq(&f->local, &o->local) << FD_LOCAL;
		bits |= (uint64_t)!addr_eq(&f->remote, &o->remote) << FD_REMOTE;
		bits |= (uint64_t)(f->rx_queue != o->rx_queue) << FD_RX_QUEUE;
		bits |= (uint64_t)(f->tx_queue != o->tx_queue) << FD_TX_QUEUE;
		bits |= (uint64_t)(f->drops != o->drops) << FD_DROPS;
		bits |= (uint64_t)(f->ino != o->ino) << FD_INO;
		bits |= (uint64_t)(f->obj_id != o->obj_id) << FD_OBJ_ID;
		bits |= (uint64_t)!path_eq(f->path, o->path) << FD_PATH;

		put_zz(b, (int64_t)f->fd - prev_fd);
		prev_fd = f->fd;
		put_varint(b, bits);
		if (bits & (1u << FD_KIND))
			put_varint(b, f->kind);
		if (bits & (1u << FD_STATE))
			put_u8(b, f->state);
		if (bits & (1u << FD_FAMILY))
			put_u8(b, f->family);
		if (bits & (1u << FD_SOCK_TYPE))
			put_varint(b, f->sock_type);
		if (bits & (1u << FD_LOCAL))
			put_st_addr(b, &f->local);
		if (bits & (1u << FD_REMOTE))
			put_st_addr(b, &f->remote);
		if (bits & (1u << FD_RX_QUEUE))
			put_varint(b, f->rx_queue);
		if (bits & (1u << FD_TX_QUEUE))
			put_varint(b, f->tx_queue);
		if (bits & (1u << FD_DROPS))
			put_varint(b, f->drops);
		if (bits & (1u << FD_INO))
			put_varint(b, f->ino);
		if (bits & (1u << FD_OBJ_ID))
			put_varint(b, f->obj_id);
		if (bits & (1u << FD_PATH)) {
			size_t n = f->path ? strnlen(f->path, ST_PATH_MAX * 16) : 0;

			/* 0: no path; n + 1: n bytes follow */
			put_varint(b, f->path ? n + 1 : 0);
			put_bytes(b, f->path, n);
		}
	}

	put_varint(b, s->n_listeners);
	cursor = 0;
	prev_fd = 0;
	for (size_t i = 0; i < s->n_listeners; i++) {
		const struct st_listener *l = &s->listeners[i];
		const struct st_listener *o = find_base(base->listeners, base->n_listeners,
							sizeof(*o), &cursor, l->fd);
		uint64_t bits = 0;

		if (!o)
			o = &zero_listener;
		bits |= (uint64_t)(l->family != o->family) << LS_FAMILY;
		bits |= (uint64_t)!addr_eq(&l->local, &o->local) << LS_LOCAL;
		bits |= (uint64_t)(l->syn_queue != o->syn_queue) << LS_SYN_QUEUE;
		bits |= (uint64_t)(l->accept_queue != o->accept_queue) << LS_ACCEPT_QUEUE;
		bits |= (uint64_t)(l->accept_max != o->accept_max) << LS_ACCEPT_MAX;
		bits |= (uint64_t)(l->drops != o->drops) << LS_DROPS;
		bits |= (uint64_t)(l->sk_id != o->sk_id) << LS_SK_ID;
		bits |= (uint64_t)!half_open_eq(l, o) << LS_HALF_OPEN;

		put_zz(b, (int64_t)l->fd - prev_fd);
		prev_fd = l->fd;
		put_varint(b, bits);
		if (bits & (1u << LS_FAMILY))
			put_u8(b, l->family);
		if (bits & (1u << LS_LOCAL))
			put_st_addr(b, &l->local);
		if (bits & (1u << LS_SYN_QUEUE))
			put_varint(b, l->syn_queue);
		if (bits & (1u << LS_ACCEPT_QUEUE))
			put_varint(b, l->accept_queue);
		if (bits & (1u << LS_ACCEPT_MAX))
			put_varint(b, l->accept_max);
		if (bits & (1u << LS_DROPS))
			put_varint(b, l->drops);
		if (bits & (1u << LS_SK_ID))
			put_varint(b, l->sk_id);
		if (bits & (1u << LS_HALF_OPEN)) {
			put_varint(b, l->n_half_open);
			for (size_t j = 0; j < l->n_half_open; j++) {
				put_st_addr(b, &l->half_open[j].local);
				put_st_addr(b, &l->half_open[j].remote);
				put_varint(b, l->half_open[j].synack_retrans);
			}
		}
	}

	put_varint(b, s->n_epolls);
	cursor = 0;
	prev_fd = 0;
	for (size_t i = 0; i < s->n_epolls; i++) {
		const struct st_epoll *e = &s->epolls[i];
		const struct st_epoll *o = find_base(base->epolls, base->n_epolls, sizeof(*o),
						     &cursor, e->fd);
		uint64_t bits = 0;

		if (!o)
			o = &zero_epoll;
		bits |= (uint64_t)(e->ep_id != o->ep_id) << EP_ID;
		bits |= (uint64_t)!ep_list_eq(e->interest, e->n_interest, o->interest,
					      o->n_interest) << EP_INTEREST;
		bits |= (uint64_t)!ep_list_eq(e->ready, e->n_ready, o->ready, o->n_ready)
			<< EP_READY;
		put_zz(b, (int64_t)e->fd - prev_fd);
		prev_fd = e->fd;
		put_varint(b, bits);
		if (bits & (1u << EP_ID))
			put_varint(b, e->ep_id);
		if (bits & (1u << EP_INTEREST))
			put_ep_list(b, e->interest, e->n_interest);
		if (bits & (1u << EP_READY))
			put_ep_list(b, e->ready, e->n_ready);
	}
}

static struct st_ep_entry *get_ep_list(struct cur *c, size_t *n_out)
{
	size_t n = get_count(c, 2, SNAP_MAX_LIST);
	struct st_ep_entry *l;
	int64_t fd = 0;

	*n_out = 0;
	if (!n)
		return NULL;
	l = calloc(n, sizeof(*l));
	if (!l) {
		cur_fail(c, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		fd += get_zz_range(c, -(int64_t)UINT32_MAX, UINT32_MAX);
		if (fd < INT32_MIN || fd > INT32_MAX)
			cur_fail(c, "fd out of range");
		l[i].fd = (int32_t)fd;
		l[i].events = (uint32_t)get_varint_max(c, UINT32_MAX);
	}
	*n_out = n;
	return l;
}

static struct st_ep_entry *dup_ep_list(struct cur *c, const struct st_ep_entry *src, size_t n)
{
	struct st_ep_entry *l;

	if (!n)
		return NULL;
	l = malloc(n * sizeof(*l));
	if (!l) {
		cur_fail(c, "out of memory");
		return NULL;
	}
	memcpy(l, src, n * sizeof(*l));
	return l;
}

static int32_t get_fd_delta(struct cur *c, int32_t prev)
{
	int64_t fd = prev + get_zz_range(c, -(int64_t)UINT32_MAX, UINT32_MAX);

	if (fd < INT32_MIN || fd > INT32_MAX) {
		cur_fail(c, "fd out of range");
		return 0;
	}
	return (int32_t)fd;
}

/* Decodes into s (zeroed by the caller) against base. On failure s holds
 * what was decoded so far, for st_snapshot__free(). */
static void decode_snapshot(struct cur *c, struct st_snapshot *s, const struct st_snapshot *base,
			    uint64_t prev_time)
{
	static const struct st_fd zero_fd;
	static const struct st_listener zero_listener;
	static const struct st_epoll zero_epoll;
	size_t n, cursor;
	int32_t prev_fd;

	s->time_ns = prev_time + (uint64_t)unzigzag(get_varint(c));
	s->pid = (uint32_t)get_varint_max(c, UINT32_MAX);
	get_str(c, s->comm, sizeof(s->comm));

	n = get_count(c, 2, SNAP_MAX_FDS);
	if (n && !(s->fds = calloc(n, sizeof(*s->fds))))
		cur_fail(c, "out of memory");
	cursor = 0;
	prev_fd = 0;
	for (size_t i = 0; i < n && !c->bad; i++) {
		struct st_fd *f = &s->fds[i];
		const struct st_fd *o;
		uint64_t bits;

		f->fd = prev_fd = get_fd_delta(c, prev_fd);
		o = find_base(base->fds, base->n_fds, sizeof(*o), &cursor, f->fd);
		if (!o)
			o = &zero_fd;
		*f = *o;
		f->fd = prev_fd;
		f->path = NULL;
		s->n_fds = i + 1;
		bits = get_varint(c);
		if (bits >> FD_BIT_COUNT)
			cur_fail(c, "unknown fd field");
		if (bits & (1u << FD_KIND))
			f->kind = (uint16_t)get_varint_max(c, UINT16_MAX);
		if (bits & (1u << FD_STATE))
			f->state = get_u8(c);
		if (bits & (1u << FD_FAMILY))
			f->family = get_u8(c);
		if (bits & (1u << FD_SOCK_TYPE))
			f->sock_type = (uint16_t)get_varint_max(c, UINT16_MAX);
		if (bits & (1u << FD_LOCAL))
			get_st_addr(c, &f->local);
		if (bits & (1u << FD_REMOTE))
			get_st_addr(c, &f->remote);
		if (bits & (1u << FD_RX_QUEUE))
			f->rx_queue = (uint32_t)get_varint_max(c, UINT32_MAX);
		if (bits & (1u << FD_TX_QUEUE))
			f->tx_queue = (uint32_t)get_varint_max(c, UINT32_MAX);
		if (bits & (1u << FD_DROPS))
			f->drops = (uint32_t)get_varint_max(c, UINT32_MAX);
		if (bits & (1u << FD_INO))
			f->ino = get_varint(c);
		if (bits & (1u << FD_OBJ_ID))
			f->obj_id = get_varint(c);
		if (bits & (1u << FD_PATH)) {
			uint64_t len = get_varint_max(c, cur_left(c) + 1);

			if (len && !c->bad) {
				f->path = calloc(1, len);
				if (!f->path)
					cur_fail(c, "out of memory");
				else
					get_bytes(c, f->path, len - 1);
			}
		} else if (o->path && !(f->path = strdup(o->path))) {
			cur_fail(c, "out of memory");
		}
	}

	n = get_count(c, 2, SNAP_MAX_FDS);
	if (n && !(s->listeners = calloc(n, sizeof(*s->listeners))))
		cur_fail(c, "out of memory");
	cursor = 0;
	prev_fd = 0;
	for (size_t i = 0; i < n && !c->bad; i++) {
		struct st_listener *l = &s->listeners[i];
		const struct st_listener *o;
		uint64_t bits;

		prev_fd = get_fd_delta(c, prev_fd);
		o = find_base(base->listeners, base->n_listeners, sizeof(*o), &cursor, prev_fd);
		if (!o)
			o = &zero_listener;
		*l = *o;
		l->fd = prev_fd;
		l->half_open = NULL;
		l->n_half_open = 0;
		s->n_listeners = i + 1;
		bits = get_varint(c);
		if (bits >> LS_BIT_COUNT)
			cur_fail(c, "unknown listener field");
		if (bits & (1u << LS_FAMILY))
			l->family = get_u8(c);
		if (bits & (1u << LS_LOCAL))
			get_st_addr(c, &l->local);
		if (bits & (1u << LS_SYN_QUEUE))
			l->syn_queue = (uint32_t)get_varint_max(c, UINT32_MAX);
		if (bits & (1u << LS_ACCEPT_QUEUE))
			l->accept_queue = (uint32_t)get_varint_max(c, UINT32_MAX);
		if (bits & (1u << LS_ACCEPT_MAX))
			l->accept_max = (uint32_t)get_varint_max(c, UINT32_MAX);
		if (bits & (1u << LS_DROPS))
			l->drops = (uint32_t)get_varint_max(c, UINT32_MAX);
		if (bits & (1u << LS_SK_ID))
			l->sk_id = get_varint(c);
		if (bits & (1u << LS_HALF_OPEN)) {
			size_t m = get_count(c, 7, SNAP_MAX_LIST);

			if (m && !(l->half_open = calloc(m, sizeof(*l->half_open))))
				cur_fail(c, "out of memory");
			for (size_t j = 0; j < m && !c->bad; j++) {
				get_st_addr(c, &l->half_open[j].local);
				get_st_addr(c, &l->half_open[j].remote);
				l->half_open[j].synack_retrans =
					(uint16_t)get_varint_max(c, UINT16_MAX);
			}
			if (l->half_open)
				l->n_half_open = m;
		} else if (o->n_half_open) {
			l->half_open = malloc(o->n_half_open * sizeof(*l->half_open));
			if (!l->half_open) {
				cur_fail(c, "out of memory");
			} else {
				memcpy(l->half_open, o->half_open,
				       o->n_half_open * sizeof(*l->half_open));
				l->n_half_open = o->n_half_open;
			}
		}
	}

	n = get_count(c, 2, SNAP_MAX_FDS);
	if (n && !(s->epolls = calloc(n, sizeof(*s->epolls))))
		cur_fail(c, "out of memory");
	cursor = 0;
	prev_fd = 0;
	for (size_t i = 0; i < n && !c->bad; i++) {
		struct st_epoll *e = &s->epolls[i];
		const struct st_epoll *o;
		uint64_t bits;

		prev_fd = get_fd_delta(c, prev_fd);
		o = find_base(base->epolls, base->n_epolls, sizeof(*o), &cursor, prev_fd);
		if (!o)
			o = &zero_epoll;
		e->fd = prev_fd;
		e->ep_id = o->ep_id;
		s->n_epolls = i + 1;
		bits = get_varint(c);
		if (bits >> EP_BIT_COUNT)
			cur_fail(c, "unknown epoll field");
		if (bits & (1u << EP_ID))
			e->ep_id = get_varint(c);
		if (bits & (1u << EP_INTEREST))
			e->interest = get_ep_list(c, &e->n_interest);
		else if ((e->interest = dup_ep_list(c, o->interest, o->n_interest)))
			e->n_interest = o->n_interest;
		if (bits & (1u << EP_READY))
			e->ready = get_ep_list(c, &e->n_ready);
		else if ((e->ready = dup_ep_list(c, o->ready, o->n_ready)))
			e->n_ready = o->n_ready;
	}
}

/* ---- writer ---- */

struct trace_writer {
	int fd;
	char *path;
	z_stream z;
	int z_ready;
	struct buf rec;		/* the record being encoded */
	struct buf stage;	/* encoded records not yet given to zlib */
	struct buf out;		/* this chunk's compressed bytes so far */
	uint64_t chunk_raw;	/* encoded bytes in this chunk */
	uint32_t chunk_records;
	uint64_t chunk_start_ns;
	uint64_t last_sync_ns;
	/* fdatasync() runs on its own thread: under someone else's heavy I/O
	 * it can take seconds, and the recording must not stop for it. */
	pthread_t sync_thread;
	pthread_mutex_t sync_lock;
	pthread_cond_t sync_cond;
	int sync_started, sync_pending, sync_stop;
	uint64_t good_bytes;	/* file length up to the last complete chunk */
	uint64_t events, snapshots, records;
	int failed;		/* -errno once a write failed */
	/* delta state, reset at every chunk */
	uint64_t prev_time;
	struct st_event prev_event;
	uint64_t sk_mru[SK_MRU_LEN];
	struct st_snapshot base;
	uint64_t start_mono_ns;
};

static int write_all(int fd, const struct iovec *iov_in, int n_iov)
{
	struct iovec iov[4];
	int i = 0;

	memcpy(iov, iov_in, n_iov * sizeof(*iov));
	while (i < n_iov) {
		ssize_t n = writev(fd, iov + i, n_iov - i);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		while (i < n_iov && (size_t)n >= iov[i].iov_len) {
			n -= iov[i].iov_len;
			i++;
		}
		if (i < n_iov) {
			iov[i].iov_base = (char *)iov[i].iov_base + n;
			iov[i].iov_len -= n;
		}
	}
	return 0;
}

static void writer_reset_delta(struct trace_writer *w)
{
	w->prev_time = w->start_mono_ns;
	memset(&w->prev_event, 0, sizeof(w->prev_event));
	memset(w->sk_mru, 0, sizeof(w->sk_mru));
	st_snapshot__free(&w->base);
}

static int writer_fail(struct trace_writer *w, int err, const char *what)
{
	w->failed = err;
	/* Cut a partly written chunk so the file ends on a chunk boundary. */
	if (ftruncate(w->fd, (off_t)w->good_bytes) == 0)
		lseek(w->fd, (off_t)w->good_bytes, SEEK_SET);
	st_err("failed to %s trace '%s': %s; recording stopped, the file is readable "
	       "up to byte %llu", what, w->path, strerror(-err),
	       (unsigned long long)w->good_bytes);
	return err;
}

/* Gives the staged bytes to zlib; flush is Z_NO_FLUSH or Z_FINISH. */
static int writer_deflate(struct trace_writer *w, int flush)
{
	int ret;

	w->z.next_in = w->stage.p;
	w->z.avail_in = (uInt)w->stage.len;
	for (;;) {
		if (w->out.cap - w->out.len < 4096 && buf_reserve(&w->out, 64 << 10))
			return -ENOMEM;
		w->z.next_out = w->out.p + w->out.len;
		w->z.avail_out = (uInt)(w->out.cap - w->out.len);
		ret = deflate(&w->z, flush);
		w->out.len = w->out.cap - w->z.avail_out;
		if (ret == Z_STREAM_END)
			break;
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			return -EIO;
		if (flush == Z_NO_FLUSH && w->z.avail_in == 0)
			break;
	}
	w->stage.len = 0;
	return 0;
}

static int put_chunk_header(uint8_t *h, int kind, uint32_t comp_len, uint32_t raw_len,
			    uint32_t n_records, uint32_t data_crc)
{
	struct buf b = {};

	put_bytes(&b, CHUNK_MAGIC, 4);
	put_u8(&b, (uint8_t)kind);
	put_le(&b, 0, 3);
	put_le(&b, comp_len, 4);
	put_le(&b, raw_len, 4);
	put_le(&b, n_records, 4);
	put_le(&b, data_crc, 4);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	put_le(&b, crc32(0, b.p, 24), 4);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	memcpy(h, b.p, CHUNK_HDR_LEN);
	free(b.p);
	return 0;
}

static void *writer_sync_main(void *arg)
{
	struct trace_writer *w = arg;

	pthread_mutex_lock(&w->sync_lock);
	for (;;) {
		while (!w->sync_pending && !w->sync_stop)
			pthread_cond_wait(&w->sync_cond, &w->sync_lock);
		if (w->sync_stop)
			break;
		w->sync_pending = 0;
		pthread_mutex_unlock(&w->sync_lock);
		/* An error here shows again in the final fdatasync() at close. */
		fdatasync(w->fd);
		pthread_mutex_lock(&w->sync_lock);
	}
	pthread_mutex_unlock(&w->sync_lock);
	return NULL;
}

static void writer_sync_start(struct trace_writer *w)
{
	pthread_mutex_init(&w->sync_lock, NULL);
	pthread_cond_init(&w->sync_cond, NULL);
	w->sync_started = !pthread_create(&w->sync_thread, NULL, writer_sync_main, w);
}

static void writer_sync_stop(struct trace_writer *w)
{
	if (!w->sync_started)
		return;
	pthread_mutex_lock(&w->sync_lock);
	w->sync_stop = 1;
	pthread_cond_signal(&w->sync_cond);
	pthread_mutex_unlock(&w->sync_lock);
	pthread_join(w->sync_thread, NULL);
	pthread_cond_destroy(&w->sync_cond);
	pthread_mutex_destroy(&w->sync_lock);
	w->sync_started = 0;
}

static void writer_maybe_sync(struct trace_writer *w)
{
	uint64_t now = st_now_ns();

	/* Durable about a second after the chunk: fdatasync() once a second,
	 * not per chunk, and never on the recording's own thread. */
	if (now - w->last_sync_ns < SYNC_INTERVAL_NS)
		return;
	w->last_sync_ns = now;
	if (!w->sync_started) {
		fdatasync(w->fd);
		return;
	}
	pthread_mutex_lock(&w->sync_lock);
	w->sync_pending = 1;
	pthread_cond_signal(&w->sync_cond);
	pthread_mutex_unlock(&w->sync_lock);
}

static int writer_end_chunk(struct trace_writer *w)
{
	uint8_t hdr[CHUNK_HDR_LEN];
	struct iovec iov[2];
	int err;

	if (w->failed)
		return w->failed;
	if (!w->chunk_records)
		return 0;
	err = writer_deflate(w, Z_FINISH);
	if (err)
		return writer_fail(w, err, "compress");
	err = put_chunk_header(hdr, CHUNK_DATA, (uint32_t)w->out.len, (uint32_t)w->chunk_raw,
			       w->chunk_records, (uint32_t)crc32(0, w->out.p, (uInt)w->out.len));
	if (err)
		return writer_fail(w, err, "write");
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ w->out.p, w->out.len };
	err = write_all(w->fd, iov, 2);
	if (err)
		return writer_fail(w, err, "write");
	w->good_bytes += sizeof(hdr) + w->out.len;
	w->out.len = 0;
	w->chunk_raw = 0;
	w->chunk_records = 0;
	if (deflateReset(&w->z) != Z_OK)
		return writer_fail(w, -EIO, "compress");
	writer_reset_delta(w);
	writer_maybe_sync(w);
	return 0;
}

int trace_writer__open(struct trace_writer **out, const char *path, int force,
		       const struct trace_header *hdr)
{
	struct trace_writer *w;
	struct buf head = {};
	struct iovec iov;
	struct stat st;
	/* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
	int err, flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path))) {
		free(w);
		st_err("failed to open trace '%s': %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	w->fd = open(path, flags | (force ? 0 : O_EXCL), 0600);
	if (w->fd < 0) {
		err = -errno;
		if (err == -EEXIST && !lstat(path, &st) && S_ISLNK(st.st_mode))
			st_err("failed to open trace '%s': is a symbolic link (not followed)", path);
		else if (err == -EEXIST)
			st_err("failed to open trace '%s': file exists (use --force to overwrite)",
			       path);
		else if (err == -ELOOP)
			st_err("failed to open trace '%s': is a symbolic link (not followed)", path);
		else
			st_err("failed to open trace '%s': %s", path, strerror(-err));
		goto err_free;
	}
	if (fstat(w->fd, &st)) {
		err = -errno;
		st_err("failed to open trace '%s': %s", path, strerror(-err));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		st_err("failed to open trace '%s': not a regular file", path);
		goto err_close;
	}
	if (fcntl(w->fd, F_SETFL, 0)) {
		err = -errno;
		st_err("failed to open trace '%s': %s", path, strerror(-err));
		goto err_close;
	}
	/* --force on an existing file: it gets this file's mode and contents. */
	if (ftruncate(w->fd, 0) || fchmod(w->fd, 0600)) {
		err = -errno;
		st_err("failed to open trace '%s': %s", path, strerror(-err));
		goto err_close;
	}
	if (deflateInit(&w->z, Z_DEFAULT_COMPRESSION) != Z_OK) {
		err = -ENOMEM;
		st_err("failed to open trace '%s': zlib initialisation failed", path);
		goto err_close;
	}
	w->z_ready = 1;
	w->start_mono_ns = hdr->start_mono_ns;
	writer_reset_delta(w);
	encode_header(&head, hdr);
	if (head.oom) {
		err = -ENOMEM;
		st_err("failed to write trace '%s': %s", path, strerror(-err));
		goto err_close;
	}
	iov = (struct iovec){ head.p, head.len };
	err = write_all(w->fd, &iov, 1);
	if (err) {
		st_err("failed to write trace '%s': %s", path, strerror(-err));
		goto err_close;
	}
	w->good_bytes = head.len;
	w->last_sync_ns = st_now_ns();
	writer_sync_start(w);
	free(head.p);
	*out = w;
	return 0;

err_close:
	free(head.p);
	if (w->z_ready)
		deflateEnd(&w->z);
	close(w->fd);
	/* Only a file this call created; with --force it may be someone's. */
	if (!force)
		unlink(path);
err_free:
	free(w->path);
	free(w);
	return err;
}

/* Appends the record in w->rec to the chunk, ending the chunk first when it
 * is a second old and after when it is full. */
static int writer_append(struct trace_writer *w, uint64_t time_ns)
{
	uint8_t len[10];
	int err, n = 0;
	uint64_t v = w->rec.len;

	if (w->rec.oom)
		return writer_fail(w, -ENOMEM, "encode");
	if (w->rec.len > REC_MAX_LEN) {
		st_warn("trace '%s': record of %zu bytes left out (limit %u)", w->path,
			w->rec.len, REC_MAX_LEN);
		return -E2BIG;
	}
	do {
		len[n] = v & 0x7f;
		v >>= 7;
		if (v)
			len[n] |= 0x80;
		n++;
	} while (v);
	put_bytes(&w->stage, len, n);
	put_bytes(&w->stage, w->rec.p, w->rec.len);
	if (w->stage.oom)
		return writer_fail(w, -ENOMEM, "encode");
	if (!w->chunk_records)
		w->chunk_start_ns = st_now_ns();
	w->chunk_raw += n + w->rec.len;
	w->chunk_records++;
	w->records++;
	w->prev_time = time_ns;
	if (w->stage.len >= STAGE_LEN) {
		err = writer_deflate(w, Z_NO_FLUSH);
		if (err)
			return writer_fail(w, err, "compress");
	}
	if (w->chunk_raw >= CHUNK_RAW_TARGET || w->chunk_records == UINT32_MAX)
		return writer_end_chunk(w);
	return 0;
}

static int writer_check(struct trace_writer *w)
{
	if (!w)
		return -EINVAL;
	if (w->failed)
		return w->failed;
	if (w->chunk_records && st_now_ns() - w->chunk_start_ns >= CHUNK_AGE_NS)
		return writer_end_chunk(w);
	return 0;
}

int trace_writer__event(struct trace_writer *w, const struct st_event *e)
{
	struct st_event norm;
	int err = writer_check(w);

	if (err)
		return err;
	event_normalize(&norm, e);
	w->rec.len = 0;
	encode_event(&w->rec, &norm, &w->prev_event, w->prev_time, w->sk_mru);
	w->prev_event = norm;
	sk_mru_use(w->sk_mru, norm.sk_id);
	err = writer_append(w, norm.time_ns);
	if (!err)
		w->events++;
	return err;
}

int trace_writer__snapshot(struct trace_writer *w, const struct st_snapshot *s)
{
	int err = writer_check(w);

	if (err)
		return err;
	w->rec.len = 0;
	encode_snapshot(&w->rec, s, &w->base, w->prev_time);
	err = writer_append(w, s->time_ns);
	if (err)
		return err;
	w->snapshots++;
	/* The chunk may have ended inside writer_append(): then the next
	 * snapshot starts from an empty base, as the reader's will. */
	if (w->chunk_records) {
		st_snapshot__free(&w->base);
		if (st_snapshot__copy(&w->base, s))
			return writer_fail(w, -ENOMEM, "encode");
	}
	return 0;
}

int trace_writer__tick(struct trace_writer *w)
{
	return writer_check(w);
}

int trace_writer__flush(struct trace_writer *w)
{
	int err = writer_check(w);

	return err ? err : writer_end_chunk(w);
}

uint64_t trace_writer__events(const struct trace_writer *w)
{
	return w ? w->events : 0;
}

uint64_t trace_writer__snapshots(const struct trace_writer *w)
{
	return w ? w->snapshots : 0;
}

uint64_t trace_writer__bytes(const struct trace_writer *w)
{
	return w ? w->good_bytes : 0;
}

int trace_writer__close(struct trace_writer *w)
{
	uint8_t hdr[CHUNK_HDR_LEN];
	struct iovec iov;
	int err;

	if (!w)
		return 0;
	err = writer_end_chunk(w);
	if (!err) {
		err = put_chunk_header(hdr, CHUNK_END, 0, 0, (uint32_t)w->records, 0);
		iov = (struct iovec){ hdr, sizeof(hdr) };
		if (!err)
			err = write_all(w->fd, &iov, 1);
		if (err)
			writer_fail(w, err, "write");
		else
			w->good_bytes += sizeof(hdr);
	}
	writer_sync_stop(w);
	if (!err && fdatasync(w->fd) && errno != EINVAL) {
		err = -errno;
		st_err("failed to write trace '%s': %s", w->path, strerror(-err));
	}
	if (close(w->fd) && !err) {
		err = -errno;
		st_err("failed to close trace '%s': %s", w->path, strerror(-err));
	}
	if (w->z_ready)
		deflateEnd(&w->z);
	st_snapshot__free(&w->base);
	free(w->rec.p);
	free(w->stage.p);
	free(w->out.p);
	free(w->path);
	free(w);
	return err;
}

/* ---- reader ---- */

struct trace_reader {
	char *name;
	int fd;			/* -1 when reading from memory */
	const uint8_t *mem;
	size_t mem_len, mem_pos;
	unsigned int flags;
	struct trace_header hdr;
	uint64_t offset;	/* file offset of the next unread byte */
	uint64_t chunk_off;	/* file offset of the current chunk */
	uint8_t *comp;
	size_t comp_cap;
	uint8_t *raw;
	size_t raw_cap, raw_len, raw_pos;
	uint32_t records_left, record_no;
	z_stream z;
	int z_ready;
	int done;		/* 1: clean end; <0: the error to repeat */
	enum trace_damage damage;
	uint64_t damage_off;
	char error[320];
	/* delta state, reset at every chunk */
	uint64_t prev_time;
	struct st_event prev_event;
	uint64_t sk_mru[SK_MRU_LEN];
	struct st_snapshot snap; /* the last snapshot: the next one's base */
};

static void reader_msg(struct trace_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reader_msg(struct trace_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	if (r->flags & TRACE_READER_QUIET)
		return;
	/* A cut-short recording (killed recorder, full disk) is expected and
	 * everything up to the cut is there: a warning, not an error. */
	if (r->damage == TRACE_DAMAGE_TRUNCATED && r->hdr.version)
		st_warn("%s", r->error);
	else
		st_err("%s", r->error);
}

/* Marks the trace damaged at off; returns -EBADMSG. */
static int reader_damaged(struct trace_reader *r, enum trace_damage kind, uint64_t off,
			  const char *why)
{
	char name[4 * 256 + 1];

	r->damage = kind;
	r->damage_off = off;
	r->done = -EBADMSG;
	st_term_escape(name, sizeof(name), r->name, strnlen(r->name, 256));
	reader_msg(r, "trace '%s' is %s at byte %llu: %s%s", name,
		   kind == TRACE_DAMAGE_TRUNCATED ? "truncated" : "corrupt",
		   (unsigned long long)off, why,
		   r->hdr.version ? "; the records before it were read" : "");
	return -EBADMSG;
}

static int reader_io_error(struct trace_reader *r, int err)
{
	char name[4 * 256 + 1];

	r->done = err;
	st_term_escape(name, sizeof(name), r->name, strnlen(r->name, 256));
	reader_msg(r, "failed to read trace '%s' at byte %llu: %s", name,
		   (unsigned long long)r->offset, strerror(-err));
	return err;
}

/* Reads up to n bytes; returns how many (short only at the end) or -errno. */
static ssize_t reader_read(struct trace_reader *r, void *dst, size_t n)
{
	size_t got = 0;

	if (r->fd < 0) {
		got = r->mem_len - r->mem_pos < n ? r->mem_len - r->mem_pos : n;
		memcpy(dst, r->mem + r->mem_pos, got);
		r->mem_pos += got;
	} else {
		while (got < n) {
			ssize_t k = read(r->fd, (char *)dst + got, n - got);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return -errno;
			if (k == 0)
				break;
			got += k;
		}
	}
	r->offset += got;
	return (ssize_t)got;
}

static int parse_header(struct trace_reader *r)
{
	uint8_t fixed[HDR_FIXED_LEN], rest[HDR_MAX_LEN];
	struct trace_header *h = &r->hdr;
	struct cur c = { fixed, sizeof(fixed), 0, NULL };
	uint32_t version, hdr_len, bom, crc;
	uint8_t n_hooks;
	ssize_t n;

	n = reader_read(r, fixed, sizeof(fixed));
	if (n < 0)
		return reader_io_error(r, (int)n);
	if (n == 0)
		return reader_damaged(r, TRACE_DAMAGE_TRUNCATED, 0, "the file is empty");
	if (memcmp(fixed, TRACE_MAGIC, (size_t)n < TRACE_MAGIC_LEN ? (size_t)n : TRACE_MAGIC_LEN))
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, 0,
				      "not a socktrace trace (bad magic)");
	if (n < HDR_FIXED_LEN)
		return reader_damaged(r, TRACE_DAMAGE_TRUNCATED, n, "header cut short");
	c.pos = TRACE_MAGIC_LEN;
	version = (uint32_t)get_le(&c, 2);
	hdr_len = (uint32_t)get_le(&c, 2);
	bom = (uint32_t)get_le(&c, 4);
	if (bom == 0x04030201u)
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, 12,
				      "big-endian trace files are not supported");
	if (bom != TRACE_BOM)
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, 12, "bad byte-order mark");
	if (version != TRACE_VERSION) {
		char why[96];

		snprintf(why, sizeof(why), "format version %u is not supported (this socktrace "
			 "reads version %u)", version, TRACE_VERSION);
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, 8, why);
	}
	if (hdr_len < HDR_FIXED_LEN + 4 || hdr_len > HDR_MAX_LEN)
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, 10, "bad header length");
	memcpy(rest, fixed, sizeof(fixed));
	n = reader_read(r, rest + HDR_FIXED_LEN, hdr_len - HDR_FIXED_LEN);
	if (n < 0)
		return reader_io_error(r, (int)n);
	if ((size_t)n < hdr_len - HDR_FIXED_LEN)
		return reader_damaged(r, TRACE_DAMAGE_TRUNCATED, r->offset, "header cut short");
	c = (struct cur){ rest, hdr_len, hdr_len - 4, NULL };
	crc = (uint32_t)get_le(&c, 4);
	if (crc != (uint32_t)crc32(0, rest, hdr_len - 4))
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, 0, "header checksum mismatch");
	/* Fields a later version appends after ours are skipped. */
	c = (struct cur){ rest, hdr_len - 4, HDR_FIXED_LEN, NULL };
	h->version = version;
	get_str(&c, h->socktrace_version, sizeof(h->socktrace_version));
	get_str(&c, h->kernel_release, sizeof(h->kernel_release));
	get_str(&c, h->hostname, sizeof(h->hostname));
	h->pid = (uint32_t)get_le(&c, 4);
	get_str(&c, h->comm, sizeof(h->comm));
	n_hooks = get_u8(&c);
	for (unsigned int i = 0; i < n_hooks; i++) {
		uint8_t tier = get_u8(&c);

		if (i < ST_HOOK_COUNT)
			h->hook_tier[i] = tier;
	}
	h->start_realtime_ns = get_le(&c, 8);
	h->start_mono_ns = get_le(&c, 8);
	if (c.bad)
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, HDR_FIXED_LEN, c.bad);
	return 0;
}

static void reader_reset_delta(struct trace_reader *r)
{
	r->prev_time = r->hdr.start_mono_ns;
	memset(&r->prev_event, 0, sizeof(r->prev_event));
	memset(r->sk_mru, 0, sizeof(r->sk_mru));
	st_snapshot__free(&r->snap);
}

/* Reads n bytes into r->comp, growing it only as data actually arrives, so a
 * hostile length costs no more memory than the file holds. */
static ssize_t reader_read_comp(struct trace_reader *r, size_t n)
{
	size_t got = 0;

	while (got < n) {
		size_t step = n - got < READ_STEP ? n - got : READ_STEP;
		ssize_t k;

		if (got + step > r->comp_cap) {
			uint8_t *p = realloc(r->comp, got + step);

			if (!p)
				return -ENOMEM;
			r->comp = p;
			r->comp_cap = got + step;
		}
		k = reader_read(r, r->comp + got, step);
		if (k < 0)
			return k;
		got += k;
		if ((size_t)k < step)
			break;
	}
	return (ssize_t)got;
}

static int reader_inflate(struct trace_reader *r, size_t comp_len, size_t raw_len)
{
	int ret;

	if (!r->z_ready) {
		if (inflateInit(&r->z) != Z_OK)
			return -ENOMEM;
		r->z_ready = 1;
	} else if (inflateReset(&r->z) != Z_OK) {
		return -EIO;
	}
	r->z.next_in = r->comp;
	r->z.avail_in = (uInt)comp_len;
	r->raw_len = 0;
	for (;;) {
		if (r->raw_len == r->raw_cap) {
			size_t cap = r->raw_cap ? r->raw_cap * 2 : 64 << 10;
			uint8_t *p;

			/* One byte past raw_len tells "too long" from "exact". */
			if (cap > raw_len + 1)
				cap = raw_len + 1;
			if (cap <= r->raw_cap)
				return -EBADMSG;
			p = realloc(r->raw, cap);
			if (!p)
				return -ENOMEM;
			r->raw = p;
			r->raw_cap = cap;
		}
		r->z.next_out = r->raw + r->raw_len;
		r->z.avail_out = (uInt)(r->raw_cap - r->raw_len);
		ret = inflate(&r->z, Z_NO_FLUSH);
		r->raw_len = r->raw_cap - r->z.avail_out;
		if (ret == Z_STREAM_END)
			break;
		if (ret == Z_MEM_ERROR)
			return -ENOMEM;
		if (ret != Z_OK)
			return -EBADMSG;
		if (r->z.avail_out && !r->z.avail_in)
			return -EBADMSG; /* stream ends before its end marker */
	}
	if (r->raw_len != raw_len || r->z.avail_in)
		return -EBADMSG;
	return 0;
}

/* Loads the next chunk. Returns 1, 0 at a clean end, or a negative error. */
static int reader_next_chunk(struct trace_reader *r)
{
	uint8_t h[CHUNK_HDR_LEN];
	struct cur c = { h, sizeof(h), 4, NULL };
	uint32_t kind, comp_len, raw_len, n_records, data_crc, hdr_crc;
	uint8_t extra;
	ssize_t n;
	int err;

	r->chunk_off = r->offset;
	n = reader_read(r, h, sizeof(h));
	if (n < 0)
		return reader_io_error(r, (int)n);
	if (n == 0)
		return reader_damaged(r, TRACE_DAMAGE_TRUNCATED, r->chunk_off,
				      "no end marker (the recording was cut short)");
	if (n < CHUNK_HDR_LEN)
		return reader_damaged(r, TRACE_DAMAGE_TRUNCATED, r->chunk_off,
				      "chunk header cut short");
	if (memcmp(h, CHUNK_MAGIC, 4))
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, r->chunk_off, "bad chunk magic");
	kind = get_u8(&c);
	c.pos = 8;
	comp_len = (uint32_t)get_le(&c, 4);
	raw_len = (uint32_t)get_le(&c, 4);
	n_records = (uint32_t)get_le(&c, 4);
	data_crc = (uint32_t)get_le(&c, 4);
	hdr_crc = (uint32_t)get_le(&c, 4);
	if (hdr_crc != (uint32_t)crc32(0, h, 24))
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, r->chunk_off,
				      "chunk header checksum mismatch");
	if (kind == CHUNK_END) {
		if (comp_len || raw_len)
			return reader_damaged(r, TRACE_DAMAGE_CORRUPT, r->chunk_off,
					      "bad end marker");
		n = reader_read(r, &extra, 1);
		if (n < 0)
			return reader_io_error(r, (int)n);
		if (n)
			return reader_damaged(r, TRACE_DAMAGE_CORRUPT, r->offset - 1,
					      "data after the end marker");
		r->done = 1;
		return 0;
	}
	if (kind != CHUNK_DATA)
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, r->chunk_off + 4,
				      "unknown chunk kind");
	if (!comp_len || comp_len > CHUNK_COMP_MAX || !raw_len || raw_len > CHUNK_RAW_MAX ||
	    !n_records || n_records > raw_len)
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, r->chunk_off + 8,
				      "chunk length out of bounds");
	n = reader_read_comp(r, comp_len);
	if (n < 0)
		return n == -ENOMEM ? reader_damaged(r, TRACE_DAMAGE_CORRUPT, r->chunk_off,
						     "out of memory")
				    : reader_io_error(r, (int)n);
	if ((size_t)n < comp_len)
		return reader_damaged(r, TRACE_DAMAGE_TRUNCATED, r->chunk_off,
				      "last chunk cut short");
	if (data_crc != (uint32_t)crc32(0, r->comp, comp_len))
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, r->chunk_off,
				      "chunk checksum mismatch");
	err = reader_inflate(r, comp_len, raw_len);
	if (err)
		return reader_damaged(r, TRACE_DAMAGE_CORRUPT, r->chunk_off,
				      err == -ENOMEM ? "out of memory" : "bad compressed data");
	r->raw_pos = 0;
	r->records_left = n_records;
	r->record_no = 0;
	reader_reset_delta(r);
	return 1;
}

static int reader_open_common(struct trace_reader *r)
{
	int err = parse_header(r);

	if (err)
		return err;
	reader_reset_delta(r);
	return 0;
}

int trace_reader__open(struct trace_reader **out, const char *path)
{
	struct trace_reader *r;
	int err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->name = strdup(path))) {
		free(r);
		st_err("failed to open trace '%s': %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		err = -errno;
		st_err("failed to open trace '%s': %s", path, strerror(-err));
		trace_reader__close(r);
		return err;
	}
	err = reader_open_common(r);
	if (err) {
		trace_reader__close(r);
		return err;
	}
	*out = r;
	return 0;
}

int trace_reader__open_mem(struct trace_reader **out, const char *name, const void *buf,
			   size_t len, unsigned int flags)
{
	struct trace_reader *r;
	int err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->name = strdup(name))) {
		free(r);
		return -ENOMEM;
	}
	r->fd = -1;
	r->mem = buf;
	r->mem_len = len;
	r->flags = flags;
	err = reader_open_common(r);
	if (err) {
		trace_reader__close(r);
		return err;
	}
	*out = r;
	return 0;
}

const struct trace_header *trace_reader__header(const struct trace_reader *r)
{
	return &r->hdr;
}

static int reader_corrupt_record(struct trace_reader *r, const char *why)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "record %u of the chunk (byte %zu of its data): %s",
		 r->record_no, r->raw_pos, why);
	return reader_damaged(r, TRACE_DAMAGE_CORRUPT, r->chunk_off, msg);
}

int trace_reader__next(struct trace_reader *r, struct trace_record *rec)
{
	struct cur c;
	uint64_t len;
	int err;

	memset(rec, 0, sizeof(*rec));
	if (r->done)
		return r->done > 0 ? 0 : r->done;
	while (r->raw_pos == r->raw_len) {
		if (r->records_left)
			return reader_corrupt_record(r, "fewer records than the chunk header says");
		err = reader_next_chunk(r);
		if (err <= 0)
			return err;
	}
	if (!r->records_left)
		return reader_corrupt_record(r, "more records than the chunk header says");

	c = (struct cur){ r->raw, r->raw_len, r->raw_pos, NULL };
	len = get_varint(&c);
	if (c.bad || len == 0 || len > REC_MAX_LEN || len > c.len - c.pos)
		return reader_corrupt_record(r, "bad record length");
	c.len = c.pos + (size_t)len;

	switch (get_u8(&c)) {
	case REC_EVENT:
		decode_event(&c, &rec->event, &r->prev_event, r->prev_time, r->sk_mru);
		if (c.bad)
			break;
		rec->kind = TRACE_REC_EVENT;
		rec->time_ns = rec->event.time_ns;
		r->prev_event = rec->event;
		sk_mru_use(r->sk_mru, rec->event.sk_id);
		break;
	case REC_SNAPSHOT: {
		struct st_snapshot s = {};

		decode_snapshot(&c, &s, &r->snap, r->prev_time);
		if (c.bad) {
			st_snapshot__free(&s);
			break;
		}
		st_snapshot__free(&r->snap);
		r->snap = s;
		rec->kind = TRACE_REC_SNAPSHOT;
		rec->time_ns = s.time_ns;
		rec->snapshot = s;
		break;
	}
	default:
		cur_fail(&c, "unknown record type");
	}
	if (!c.bad && c.pos != c.len)
		cur_fail(&c, "record longer than its fields");
	if (c.bad) {
		memset(rec, 0, sizeof(*rec));
		return reader_corrupt_record(r, c.bad);
	}
	r->prev_time = rec->time_ns;
	r->raw_pos = c.len;
	r->records_left--;
	r->record_no++;
	return 1;
}

enum trace_damage trace_reader__damage(const struct trace_reader *r, uint64_t *offset)
{
	if (offset)
		*offset = r->damage_off;
	return r->damage;
}

const char *trace_reader__error(const struct trace_reader *r)
{
	return r->error;
}

void trace_reader__close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->z_ready)
		inflateEnd(&r->z);
	st_snapshot__free(&r->snap);
	free(r->comp);
	free(r->raw);
	free(r->name);
	free(r);
}
