// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace writer/reader: round trip, every truncation offset, flipped bytes,
 * hostile lengths, write errors, file policy. No root needed.
 * With --corpus DIR it writes the fuzzer's seed traces instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "unit.h"
#include "trace.h"

static char tmpdir[] = "/tmp/socktrace-unit-trace.XXXXXX";

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static struct trace_header test_header(void)
{
	struct trace_header h = {};

	trace_header__init(&h);
	h.pid = 4242;
	snprintf(h.comm, sizeof(h.comm), "srv\x1b[31m");
	for (int i = 0; i < ST_HOOK_COUNT; i++)
		h.hook_tier[i] = (uint8_t)(i % 4);
	h.start_mono_ns = 1000000000ull;
	return h;
}

/* A churn-like stream: connect, syn_recv, child_queued, accept, state
 * changes and closes over a handful of sockets. */
static void make_event(struct st_event *e, unsigned int i)
{
	static const uint16_t types[] = { ST_EV_CONNECT, ST_EV_SYN_RECV, ST_EV_CHILD_QUEUED,
					  ST_EV_CONNECT_DONE, ST_EV_ACCEPT, ST_EV_STATE,
					  ST_EV_STATE, ST_EV_CLOSE, ST_EV_EP_WAKEUP,
					  ST_EV_EPOLL_WAIT_DONE, ST_EV_ACCEPT_OVERFLOW, ST_EV_LOST };
	unsigned int conn = i / 12;

	memset(e, 0, sizeof(*e));
	e->type = types[i % 12];
	e->time_ns = 1000000000ull + i * 20000ull + (i % 7) * 333;
	if (i % 50 == 49)
		e->time_ns -= 5000; /* out of order across CPUs */
	e->latency_ns = e->type == ST_EV_ACCEPT ? 12345 + conn : 0;
	e->sk_id = 0xffff888100000000ull + (conn % 64) * 0x900 + (i % 2) * 0x40000;
	e->pid = 4242;
	e->tid = 4242 + (i % 3);
	e->family = 2;
	e->fd = e->type == ST_EV_ACCEPT ? (int32_t)(5 + conn % 100) : -1;
	e->sport = (uint16_t)(30000 + conn);
	e->dport = 8080;
	e->saddr[0] = 127;
	e->saddr[3] = 1;
	e->daddr[0] = 127;
	e->daddr[3] = 1;
	e->queue_len = conn % 5;
	e->queue_max = 128;
	e->err = e->type == ST_EV_CONNECT_DONE && conn % 9 == 0 ? -111 : 0;
	e->count = e->type == ST_EV_LOST ? 3 : 0;
	e->epfd = e->type >= ST_EV_EP_WAKEUP ? 4 : 0;
	e->events = e->type >= ST_EV_EP_WAKEUP ? 1 : 0;
	e->old_state = e->type == ST_EV_STATE ? 2 : 0;
	e->new_state = e->type == ST_EV_STATE ? 1 : 0;
	e->tier = ST_TIER_TRACEPOINT;
	if (i % 500 == 0)
		e->family = 10, e->saddr[15] = 1, e->daddr[15] = 1;
	snprintf(e->comm, sizeof(e->comm), i % 1000 == 7 ? "worker-%u\x07" : "srv", i % 10);
}

/* Snapshots that change a little from one to the next. */
static void make_snapshot(struct st_snapshot *s, unsigned int k)
{
	memset(s, 0, sizeof(*s));
	s->pid = 4242;
	snprintf(s->comm, sizeof(s->comm), "srv");
	s->time_ns = 1000000000ull + k * 100000000ull;
	s->n_fds = 6 + k % 4;
	s->fds = calloc(s->n_fds, sizeof(*s->fds));
	for (size_t i = 0; i < s->n_fds; i++) {
		struct st_fd *f = &s->fds[i];

		f->fd = (int32_t)(i < 3 ? i : i + k % 3);
		f->kind = i < 3 ? ST_FD_FILE : ST_FD_TCP;
		f->state = i == 3 ? 10 : 1;
		f->family = 2;
		f->sock_type = 1;
		f->local.family = 2;
		f->local.addr[0] = 127;
		f->local.addr[3] = 1;
		f->local.port = 8080;
		f->remote.family = i == 3 ? 0 : 2;
		f->remote.port = (uint16_t)(40000 + i + k);
		f->rx_queue = (uint32_t)(k * i % 7);
		f->ino = 1000 + i;
		f->obj_id = 0xffff888100000000ull + i * 64;
		if (i < 3)
			f->path = strdup(i == 2 && k % 2 ? "/dev/pts/\x1b]0;x" : "/dev/null");
	}
	s->n_listeners = 1;
	s->listeners = calloc(1, sizeof(*s->listeners));
	s->listeners[0].fd = 3;
	s->listeners[0].family = 2;
	s->listeners[0].local = s->fds[3].local;
	s->listeners[0].syn_queue = k % 3;
	s->listeners[0].accept_queue = k % 5;
	s->listeners[0].accept_max = 4;
	s->listeners[0].drops = k / 2;
	s->listeners[0].sk_id = s->fds[3].obj_id;
	s->listeners[0].n_half_open = k % 3;
	if (k % 3) {
		s->listeners[0].half_open = calloc(k % 3, sizeof(struct st_half_open));
		for (size_t j = 0; j < k % 3; j++) {
			s->listeners[0].half_open[j].local = s->fds[3].local;
			s->listeners[0].half_open[j].remote.family = 2;
			s->listeners[0].half_open[j].remote.port = (uint16_t)(50000 + j);
			s->listeners[0].half_open[j].synack_retrans = (uint16_t)j;
		}
	}
	s->n_epolls = k % 2 + 1;
	s->epolls = calloc(s->n_epolls, sizeof(*s->epolls));
	for (size_t i = 0; i < s->n_epolls; i++) {
		struct st_epoll *e = &s->epolls[i];

		e->fd = (int32_t)(20 + i);
		e->ep_id = 0xffff888200000000ull + i;
		e->n_interest = 3;
		e->interest = calloc(3, sizeof(*e->interest));
		for (int j = 0; j < 3; j++)
			e->interest[j] = (struct st_ep_entry){ 3 + j, 1u | (j ? 0x80000000u : 0) };
		e->n_ready = k % 2;
		if (e->n_ready) {
			e->ready = calloc(1, sizeof(*e->ready));
			e->ready[0] = (struct st_ep_entry){ 3, 1 };
		}
	}
}

static int addr_eq(const struct st_addr *a, const struct st_addr *b)
{
	return a->family == b->family && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

static int snap_eq(const struct st_snapshot *a, const struct st_snapshot *b)
{
	if (a->pid != b->pid || strcmp(a->comm, b->comm) || a->time_ns != b->time_ns ||
	    a->n_fds != b->n_fds || a->n_listeners != b->n_listeners || a->n_epolls != b->n_epolls)
		return 0;
	for (size_t i = 0; i < a->n_fds; i++) {
		const struct st_fd *x = &a->fds[i], *y = &b->fds[i];

		if (x->fd != y->fd || x->kind != y->kind || x->state != y->state ||
		    x->family != y->family || x->sock_type != y->sock_type ||
		    !addr_eq(&x->local, &y->local) || !addr_eq(&x->remote, &y->remote) ||
		    x->rx_queue != y->rx_queue || x->tx_queue != y->tx_queue ||
		    x->drops != y->drops || x->ino != y->ino || x->obj_id != y->obj_id ||
		    !x->path != !y->path || (x->path && strcmp(x->path, y->path)))
			return 0;
	}
	for (size_t i = 0; i < a->n_listeners; i++) {
		const struct st_listener *x = &a->listeners[i], *y = &b->listeners[i];

		if (x->fd != y->fd || x->family != y->family || !addr_eq(&x->local, &y->local) ||
		    x->syn_queue != y->syn_queue || x->accept_queue != y->accept_queue ||
		    x->accept_max != y->accept_max || x->drops != y->drops ||
		    x->sk_id != y->sk_id || x->n_half_open != y->n_half_open)
			return 0;
		for (size_t j = 0; j < x->n_half_open; j++)
			if (!addr_eq(&x->half_open[j].local, &y->half_open[j].local) ||
			    !addr_eq(&x->half_open[j].remote, &y->half_open[j].remote) ||
			    x->half_open[j].synack_retrans != y->half_open[j].synack_retrans)
				return 0;
	}
	for (size_t i = 0; i < a->n_epolls; i++) {
		const struct st_epoll *x = &a->epolls[i], *y = &b->epolls[i];

		if (x->fd != y->fd || x->ep_id != y->ep_id || x->n_interest != y->n_interest ||
		    x->n_ready != y->n_ready ||
		    (x->n_interest && memcmp(x->interest, y->interest,
					     x->n_interest * sizeof(*x->interest))) ||
		    (x->n_ready && memcmp(x->ready, y->ready, x->n_ready * sizeof(*x->ready))))
			return 0;
	}
	return 1;
}

/* The recording every test reads: expected records in order. */
struct expect {
	int kind;
	struct st_event event;
	struct st_snapshot snap;
};

static struct expect *exp_recs;
static size_t n_exp;
static uint64_t *chunk_ends;	/* file offset after each chunk */
static size_t *chunk_recs;	/* records up to and including that chunk */
static size_t n_chunks;

static void free_expect(void)
{
	for (size_t i = 0; i < n_exp; i++)
		st_snapshot__free(&exp_recs[i].snap);
	free(exp_recs);
	free(chunk_ends);
	free(chunk_recs);
	exp_recs = NULL;
	chunk_ends = NULL;
	chunk_recs = NULL;
	n_exp = n_chunks = 0;
}

/* Writes n_events events, a snapshot every snap_every, a chunk every
 * flush_every records (0: never by hand). */
static int write_recording(const char *path, unsigned int n_events, unsigned int snap_every,
			   unsigned int flush_every)
{
	struct trace_header h = test_header();
	struct trace_writer *w;
	unsigned int k = 0;
	int err;

	free_expect();
	exp_recs = calloc(n_events + n_events / (snap_every ? snap_every : 1) + 2, sizeof(*exp_recs));
	chunk_ends = calloc(n_events + 2, sizeof(*chunk_ends));
	chunk_recs = calloc(n_events + 2, sizeof(*chunk_recs));
	err = trace_writer__open(&w, path, 1, &h);
	if (err)
		return err;
	for (unsigned int i = 0; i < n_events; i++) {
		if (snap_every && i % snap_every == 0) {
			struct expect *x = &exp_recs[n_exp++];

			x->kind = TRACE_REC_SNAPSHOT;
			make_snapshot(&x->snap, k++);
			x->snap.time_ns = 1000000000ull + i * 20000ull;
			err = trace_writer__snapshot(w, &x->snap);
			if (err)
				break;
		}
		exp_recs[n_exp].kind = TRACE_REC_EVENT;
		make_event(&exp_recs[n_exp].event, i);
		err = trace_writer__event(w, &exp_recs[n_exp++].event);
		if (err)
			break;
		if (flush_every && n_exp % flush_every == 0) {
			uint64_t before = trace_writer__bytes(w);

			err = trace_writer__flush(w);
			if (err)
				break;
			if (trace_writer__bytes(w) != before) {
				chunk_ends[n_chunks] = trace_writer__bytes(w);
				chunk_recs[n_chunks++] = n_exp;
			}
		}
	}
	if (!err) {
		uint64_t before = trace_writer__bytes(w);

		err = trace_writer__flush(w);
		if (!err && trace_writer__bytes(w) != before) {
			chunk_ends[n_chunks] = trace_writer__bytes(w);
			chunk_recs[n_chunks++] = n_exp;
		}
	}
	if (!err)
		err = trace_writer__close(w);
	else
		trace_writer__close(w);
	return err;
}

static int rec_matches(const struct trace_record *r, const struct expect *x)
{
	if ((int)r->kind != x->kind)
		return 0;
	if (r->kind == TRACE_REC_EVENT)
		return !memcmp(&r->event, &x->event, sizeof(x->event)) &&
		       r->time_ns == x->event.time_ns;
	return snap_eq(&r->snapshot, &x->snap) && r->time_ns == x->snap.time_ns;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc(n ? n : 1);
	if (fread(p, 1, n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Reads buf; returns the final status; *n_ok counts leading records equal
 * to the expected ones, *n_bad any that were returned but differ. */
static int read_mem(const uint8_t *buf, size_t len, size_t *n_ok, size_t *n_bad,
		    enum trace_damage *damage, uint64_t *off)
{
	struct trace_reader *r;
	struct trace_record rec;
	int ret;

	*n_ok = *n_bad = 0;
	*off = 0;
	/* Refused at open: the header itself is damaged. */
	*damage = TRACE_DAMAGE_CORRUPT;
	ret = trace_reader__open_mem(&r, "mem", buf, len, TRACE_READER_QUIET);
	if (ret)
		return ret;
	while ((ret = trace_reader__next(r, &rec)) == 1) {
		if (*n_ok < n_exp && !*n_bad && rec_matches(&rec, &exp_recs[*n_ok]))
			(*n_ok)++;
		else
			(*n_bad)++;
	}
	*damage = trace_reader__damage(r, off);
	/* Once damaged, it stays damaged. */
	if (ret == -EBADMSG && trace_reader__next(r, &rec) != -EBADMSG)
		(*n_bad)++;
	trace_reader__close(r);
	return ret;
}

static void test_round_trip(void)
{
	char path[256];
	struct trace_reader *r;
	struct trace_record rec;
	const struct trace_header *h;
	struct trace_header want = test_header();
	size_t i = 0, bad = 0, len;
	uint8_t *buf;
	int ret;
	struct stat st;

	tmp_path(path, sizeof(path), "big.st");
	/* Enough records for several size-limited (1 MiB) chunks. */
	if (!ASSERT_EQ(write_recording(path, 300000, 100, 0), 0, "write big recording"))
		return;
	if (!ASSERT_EQ(trace_reader__open(&r, path), 0, "open big recording"))
		return;
	h = trace_reader__header(r);
	ASSERT_EQ(h->version, TRACE_VERSION, "header version");
	ASSERT_EQ(h->pid, 4242, "header pid");
	ASSERT_STREQ(h->comm, want.comm, "header comm");
	ASSERT_STREQ(h->socktrace_version, want.socktrace_version, "header socktrace version");
	ASSERT_STREQ(h->kernel_release, want.kernel_release, "header kernel release");
	ASSERT_STREQ(h->hostname, want.hostname, "header hostname");
	ASSERT_EQ(h->start_mono_ns, want.start_mono_ns, "header start mono");
	ASSERT_TRUE(!memcmp(h->hook_tier, want.hook_tier, sizeof(want.hook_tier)), "header tiers");
	while ((ret = trace_reader__next(r, &rec)) == 1) {
		if (i < n_exp && rec_matches(&rec, &exp_recs[i]))
			i++;
		else
			bad++;
	}
	ASSERT_EQ(ret, 0, "big recording: clean end");
	ASSERT_EQ(i, n_exp, "big recording: every record equal");
	ASSERT_EQ(bad, 0, "big recording: no record differs");
	ASSERT_EQ(trace_reader__next(r, &rec), 0, "clean end repeats");
	trace_reader__close(r);

	stat(path, &st);
	ASSERT_EQ(st.st_mode & 0777, 0600, "file mode 0600");
	buf = slurp(path, &len);
	printf("info: %zu events + %zu snapshots in %zu bytes: %.2f bytes/record (synthetic)\n",
	       (size_t)300000, n_exp - 300000, len, (double)len / n_exp);
	ASSERT_TRUE(len / (double)n_exp <= 16, "synthetic stream <= 16 bytes/record");
	free(buf);
}

static void test_truncation(void)
{
	char path[256];
	size_t len, ok, bad, fails = 0, wrong_count = 0, io = 0;
	uint8_t *buf;
	enum trace_damage dmg;
	uint64_t off;

	tmp_path(path, sizeof(path), "small.st");
	if (!ASSERT_EQ(write_recording(path, 60, 10, 9), 0, "write small recording"))
		return;
	ASSERT_TRUE(n_chunks >= 5, "small recording has several chunks");
	buf = slurp(path, &len);
	if (!ASSERT_TRUE(buf, "read small recording"))
		return;
	printf("info: every prefix and 3 flips at every byte of a %zu-byte, %zu-chunk, "
	       "%zu-record recording\n", len, n_chunks, n_exp);
	/* Every prefix of the file: an error at open, or every record of each
	 * complete chunk and then "truncated" at the cut chunk. */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		size_t want = 0;
		int ret;

		memcpy(copy, buf, cut);
		for (size_t c = 0; c < n_chunks; c++)
			if (chunk_ends[c] <= cut)
				want = chunk_recs[c];
		ret = read_mem(copy, cut, &ok, &bad, &dmg, &off);
		free(copy);
		if (ret != -EBADMSG)
			io++;
		else if (bad || (ok && dmg != TRACE_DAMAGE_TRUNCATED) || off > cut)
			fails++;
		else if (ok != want && cut >= 100)
			wrong_count++;
	}
	ASSERT_EQ(io, 0, "every truncation reports -EBADMSG");
	ASSERT_EQ(fails, 0, "every truncation: only good records, damage 'truncated' at or before the cut");
	ASSERT_EQ(wrong_count, 0, "every truncation: all records of complete chunks");
	ASSERT_EQ(read_mem(buf, len, &ok, &bad, &dmg, &off), 0, "whole file: clean end");
	ASSERT_EQ(ok, n_exp, "whole file: every record");

	/* Flipped bytes: never accepted silently, never a wrong record. */
	fails = 0;
	for (size_t at = 0; at < len; at++) {
		static const uint8_t flips[] = { 0x01, 0x80, 0xff };

		for (size_t f = 0; f < sizeof(flips); f++) {
			int ret;

			buf[at] ^= flips[f];
			ret = read_mem(buf, len, &ok, &bad, &dmg, &off);
			buf[at] ^= flips[f];
			if (ret != -EBADMSG || bad || dmg == TRACE_DAMAGE_NONE)
				fails++;
		}
	}
	ASSERT_EQ(fails, 0, "every flipped byte: damage found, good records only");
	free(buf);
}

/* ---- hand-made hostile files ---- */

struct mk {
	uint8_t *p;
	size_t len, cap;
};

static void mk_put(struct mk *m, const void *d, size_t n)
{
	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2 + 64;
		m->p = realloc(m->p, m->cap);
	}
	memcpy(m->p + m->len, d, n);
	m->len += n;
}

static void mk_le(struct mk *m, uint64_t v, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t b = (uint8_t)(v >> (8 * i));

		mk_put(m, &b, 1);
	}
}

static void mk_varint(struct mk *m, uint64_t v)
{
	do {
		uint8_t b = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);

		mk_put(m, &b, 1);
		v >>= 7;
	} while (v);
}

/* Appends rec to raw as one length-prefixed record, and empties rec. */
static void mk_rec(struct mk *raw, struct mk *rec)
{
	mk_varint(raw, rec->len);
	mk_put(raw, rec->p, rec->len);
	rec->len = 0;
}

/* The real header of a fresh recording. */
static void mk_header(struct mk *m)
{
	char path[256];
	struct trace_header h = test_header();
	struct trace_writer *w;
	uint8_t *buf;
	size_t len;

	tmp_path(path, sizeof(path), "hdr.st");
	trace_writer__open(&w, path, 1, &h);
	trace_writer__close(w);
	buf = slurp(path, &len);
	mk_put(m, buf, len - 28); /* without the end marker */
	free(buf);
}

static void mk_chunk_raw(struct mk *m, int kind, const uint8_t *comp, uint32_t comp_len,
			 uint32_t raw_len, uint32_t n_records)
{
	size_t at = m->len;

	mk_put(m, "STCK", 4);
	mk_le(m, kind, 1);
	mk_le(m, 0, 3);
	mk_le(m, comp_len, 4);
	mk_le(m, raw_len, 4);
	mk_le(m, n_records, 4);
	mk_le(m, comp ? crc32(0, comp, comp_len) : 0, 4);
	mk_le(m, crc32(0, m->p + at, 24), 4);
	if (comp)
		mk_put(m, comp, comp_len);
}

static void mk_chunk(struct mk *m, const struct mk *raw, uint32_t n_records, long raw_len_adj)
{
	uLongf comp_len = compressBound(raw->len);
	uint8_t *comp = malloc(comp_len);

	compress(comp, &comp_len, raw->p, raw->len);
	mk_chunk_raw(m, 1, comp, (uint32_t)comp_len, (uint32_t)(raw->len + raw_len_adj), n_records);
	free(comp);
}

static void mk_end(struct mk *m)
{
	mk_chunk_raw(m, 2, NULL, 0, 0, 0);
}

/* Reads a hand-made file; returns the final status and damage kind. */
static int read_hostile(struct mk *m, enum trace_damage *dmg, size_t *n)
{
	struct trace_reader *r;
	struct trace_record rec;
	int ret;

	*n = 0;
	*dmg = TRACE_DAMAGE_NONE;
	ret = trace_reader__open_mem(&r, "hostile", m->p, m->len, TRACE_READER_QUIET);
	if (ret)
		return ret;
	while ((ret = trace_reader__next(r, &rec)) == 1)
		(*n)++;
	*dmg = trace_reader__damage(r, NULL);
	trace_reader__close(r);
	return ret;
}

#define HOSTILE(name, build, want_ret, want_dmg, want_n) do {                   \
	struct mk m = {}, raw = {}, rec = {};                                   \
	enum trace_damage dmg;                                                  \
	size_t n;                                                               \
	int ret;                                                                \
	mk_header(&m);                                                          \
	build;                                                                  \
	ret = read_hostile(&m, &dmg, &n);                                       \
	ASSERT_EQ(ret, want_ret, name ": status");                              \
	ASSERT_EQ(dmg, want_dmg, name ": damage kind");                         \
	ASSERT_EQ(n, want_n, name ": records before it");                       \
	free(m.p);                                                              \
	free(raw.p);                                                            \
	free(rec.p);                                                            \
} while (0)

/* One event record, all fields "same as before". */
static void raw_event(struct mk *raw)
{
	mk_varint(raw, 4);
	mk_varint(raw, 1); /* REC_EVENT */
	mk_varint(raw, ST_EV_ACCEPT);
	mk_varint(raw, 0); /* no fields */
	mk_varint(raw, 2); /* time +1 */
}

static void test_hostile(void)
{
	const int B = -EBADMSG;
	const int T = TRACE_DAMAGE_TRUNCATED, C = TRACE_DAMAGE_CORRUPT;

	HOSTILE("good hand-made file", (raw_event(&raw), raw_event(&raw), mk_chunk(&m, &raw, 2, 0),
					mk_end(&m)), 0, TRACE_DAMAGE_NONE, 2);
	HOSTILE("no end marker", (raw_event(&raw), mk_chunk(&m, &raw, 1, 0)), B, T, 1);
	HOSTILE("data after end marker", (mk_end(&m), mk_le(&m, 0, 1)), B, C, 0);
	HOSTILE("huge raw length, file short",
		mk_chunk_raw(&m, 1, (const uint8_t *)"x", 1, (16u << 20), 1), B, C, 0);
	HOSTILE("raw length over the bound",
		mk_chunk_raw(&m, 1, (const uint8_t *)"x", 1, 0xffffffffu, 1), B, C, 0);
	HOSTILE("compressed length past the end",
		(mk_chunk_raw(&m, 1, NULL, 0x01000000u, 100, 1), m.len -= 0), B, T, 0);
	HOSTILE("raw length smaller than the data", (raw_event(&raw), raw_event(&raw),
						     mk_chunk(&m, &raw, 2, -1), mk_end(&m)), B, C, 0);
	HOSTILE("raw length larger than the data", (raw_event(&raw),
						    mk_chunk(&m, &raw, 1, 1000), mk_end(&m)), B, C, 0);
	HOSTILE("more records than counted", (raw_event(&raw), raw_event(&raw),
					      mk_chunk(&m, &raw, 1, 0), mk_end(&m)), B, C, 1);
	HOSTILE("fewer records than counted", (raw_event(&raw), mk_chunk(&m, &raw, 2, 0),
					       mk_end(&m)), B, C, 1);
	HOSTILE("record length past the chunk", (mk_varint(&raw, 1000), mk_varint(&raw, 1),
						 mk_chunk(&m, &raw, 1, 0), mk_end(&m)), B, C, 0);
	HOSTILE("record length 2^63", (mk_varint(&raw, 1ull << 63), mk_varint(&raw, 1),
				       mk_chunk(&m, &raw, 1, 0), mk_end(&m)), B, C, 0);
	HOSTILE("varint of 11 bytes", (mk_put(&rec, "\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 13),
				       mk_rec(&raw, &rec), mk_chunk(&m, &raw, 1, 0), mk_end(&m)), B, C, 0);
	HOSTILE("unknown record type", (mk_varint(&rec, 9), mk_rec(&raw, &rec),
					mk_chunk(&m, &raw, 1, 0), mk_end(&m)), B, C, 0);
	HOSTILE("unknown event field bit", (mk_varint(&rec, 1), mk_varint(&rec, 1),
					    mk_varint(&rec, 1ull << 40), mk_varint(&rec, 0),
					    mk_rec(&raw, &rec), mk_chunk(&m, &raw, 1, 0), mk_end(&m)),
		B, C, 0);
	HOSTILE("event record with trailing bytes", (mk_varint(&rec, 1), mk_varint(&rec, 1),
						     mk_varint(&rec, 0), mk_varint(&rec, 0),
						     mk_le(&rec, 0, 2), mk_rec(&raw, &rec),
						     mk_chunk(&m, &raw, 1, 0), mk_end(&m)), B, C, 0);
	HOSTILE("socket id index 8", (mk_varint(&rec, 1), mk_varint(&rec, 1), mk_varint(&rec, 2),
				      mk_varint(&rec, 0), mk_varint(&rec, 8), mk_rec(&raw, &rec),
				      mk_chunk(&m, &raw, 1, 0), mk_end(&m)), B, C, 0);
	HOSTILE("socket id as delta and index", (mk_varint(&rec, 1), mk_varint(&rec, 1),
						 mk_varint(&rec, 3), mk_varint(&rec, 0),
						 mk_varint(&rec, 2), mk_varint(&rec, 1),
						 mk_rec(&raw, &rec), mk_chunk(&m, &raw, 1, 0),
						 mk_end(&m)), B, C, 0);
	HOSTILE("good event with a socket id index", (mk_varint(&rec, 1), mk_varint(&rec, 1),
						      mk_varint(&rec, 2), mk_varint(&rec, 0),
						      mk_varint(&rec, 7), mk_rec(&raw, &rec),
						      mk_chunk(&m, &raw, 1, 0), mk_end(&m)),
		0, TRACE_DAMAGE_NONE, 1);
	HOSTILE("event type 2^20", (mk_varint(&rec, 1), mk_varint(&rec, 1u << 20),
				    mk_varint(&rec, 0), mk_varint(&rec, 0), mk_rec(&raw, &rec),
				    mk_chunk(&m, &raw, 1, 0), mk_end(&m)), B, C, 0);
	/* A snapshot claiming 2^40 fds in a 10-byte record. */
	HOSTILE("snapshot fd count 2^40", (mk_varint(&rec, 2), mk_varint(&rec, 0),
					   mk_varint(&rec, 1), mk_varint(&rec, 0),
					   mk_varint(&rec, 1ull << 40), mk_rec(&raw, &rec),
					   mk_chunk(&m, &raw, 1, 0), mk_end(&m)), B, C, 0);
	HOSTILE("snapshot path length 2^32", (mk_varint(&rec, 2), mk_varint(&rec, 0),
					      mk_varint(&rec, 1), mk_varint(&rec, 0),
					      mk_varint(&rec, 1), mk_varint(&rec, 0),
					      mk_varint(&rec, 1u << 11), mk_varint(&rec, 1ull << 32),
					      mk_rec(&raw, &rec), mk_chunk(&m, &raw, 1, 0), mk_end(&m)),
		B, C, 0);
	HOSTILE("epoll list count past the record", (mk_varint(&rec, 2), mk_varint(&rec, 0),
						     mk_varint(&rec, 1), mk_varint(&rec, 0),
						     mk_varint(&rec, 0), mk_varint(&rec, 0),
						     mk_varint(&rec, 1), mk_varint(&rec, 8),
						     mk_varint(&rec, 2), mk_varint(&rec, 100000),
						     mk_rec(&raw, &rec), mk_chunk(&m, &raw, 1, 0),
						     mk_end(&m)), B, C, 0);
	HOSTILE("fd number past int32", (mk_varint(&rec, 2), mk_varint(&rec, 0),
					 mk_varint(&rec, 1), mk_varint(&rec, 0),
					 mk_varint(&rec, 2), mk_varint(&rec, 2u * 0x7fffffffu),
					 mk_varint(&rec, 0), mk_varint(&rec, 2),
					 mk_varint(&rec, 0), mk_varint(&rec, 0),
					 mk_rec(&raw, &rec), mk_chunk(&m, &raw, 1, 0), mk_end(&m)),
		B, C, 0);
	HOSTILE("comm longer than 16", (mk_varint(&rec, 2), mk_varint(&rec, 0),
					mk_varint(&rec, 1), mk_varint(&rec, 20),
					mk_put(&rec, "01234567890123456789", 20), mk_rec(&raw, &rec),
					mk_chunk(&m, &raw, 1, 0), mk_end(&m)), B, C, 0);
	HOSTILE("good snapshot", (mk_varint(&rec, 2), mk_varint(&rec, 0), mk_varint(&rec, 1),
				  mk_varint(&rec, 0), mk_varint(&rec, 0), mk_varint(&rec, 0),
				  mk_varint(&rec, 0), mk_rec(&raw, &rec),
				  mk_chunk(&m, &raw, 1, 0), mk_end(&m)), 0, TRACE_DAMAGE_NONE, 1);
	/* A zip bomb: 16 MiB of zeros behind a header that says 100 bytes. */
	{
		struct mk m = {};
		size_t big = 16u << 20, n;
		uint8_t *zeros = calloc(1, big);
		uLongf clen = compressBound(big);
		uint8_t *comp = malloc(clen);
		enum trace_damage dmg;

		compress(comp, &clen, zeros, big);
		mk_header(&m);
		mk_chunk_raw(&m, 1, comp, (uint32_t)clen, 100, 1);
		ASSERT_EQ(read_hostile(&m, &dmg, &n), -EBADMSG, "zip bomb: status");
		ASSERT_EQ(dmg, TRACE_DAMAGE_CORRUPT, "zip bomb: corrupt");
		free(zeros);
		free(comp);
		free(m.p);
	}
	/* Header problems, each refused at open. */
	{
		struct mk m = {};
		struct trace_reader *r;
		size_t hl;

		mk_header(&m);
		hl = m.len;
		m.p[8] = 2; /* version 2, header checksum fixed up */
		{
			uint32_t crc = crc32(0, m.p, hl - 4);

			for (int i = 0; i < 4; i++)
				m.p[hl - 4 + i] = (uint8_t)(crc >> (8 * i));
		}
		ASSERT_EQ(trace_reader__open_mem(&r, "v2", m.p, m.len, TRACE_READER_QUIET), -EBADMSG,
			  "newer version refused");
		m.p[8] = 1;
		m.p[12] = 1, m.p[13] = 2, m.p[14] = 3, m.p[15] = 4;
		ASSERT_EQ(trace_reader__open_mem(&r, "be", m.p, m.len, TRACE_READER_QUIET), -EBADMSG,
			  "big-endian refused");
		ASSERT_EQ(trace_reader__open_mem(&r, "gz", "\x1f\x8b\x08\x00", 4, TRACE_READER_QUIET),
			  -EBADMSG, "bad magic refused");
		ASSERT_EQ(trace_reader__open_mem(&r, "empty", "", 0, TRACE_READER_QUIET), -EBADMSG,
			  "empty file refused");
		free(m.p);
	}
}

/* A write error (here EFBIG from RLIMIT_FSIZE, as ENOSPC would be) stops the
 * writer and leaves a file that reads back up to its last chunk. */
static void test_write_error(void)
{
	char path[256];
	struct trace_reader *r;
	struct trace_record rec;
	size_t n = 0, bad = 0;
	int status, ret;
	pid_t pid;

	tmp_path(path, sizeof(path), "full.st");
	unlink(path);
	pid = fork();
	if (pid == 0) {
		struct trace_header h = test_header();
		struct rlimit rl = { 40000, 40000 };
		struct trace_writer *w;
		struct st_event e;
		int err = 0, seen = 0;

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		freopen("/dev/null", "w", stderr);
		if (trace_writer__open(&w, path, 0, &h))
			_exit(10);
		for (unsigned int i = 0; i < 2000000 && !err; i++) {
			make_event(&e, i);
			err = trace_writer__event(w, &e);
			if (i % 5000 == 4999 && !err)
				err = trace_writer__flush(w);
		}
		seen = err == -EFBIG;
		/* Refuses further records with the same error. */
		seen &= trace_writer__event(w, &e) == -EFBIG;
		trace_writer__close(w);
		_exit(seen ? 0 : 11);
	}
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "write error: -EFBIG returned and kept");
	if (!ASSERT_EQ(trace_reader__open(&r, path), 0, "write error: file opens"))
		return;
	while ((ret = trace_reader__next(r, &rec)) == 1) {
		struct st_event e;

		make_event(&e, (unsigned int)n);
		if (memcmp(&e, &rec.event, sizeof(e)))
			bad++;
		n++;
	}
	ASSERT_EQ(ret, -EBADMSG, "write error: file ends without end marker");
	ASSERT_EQ(trace_reader__damage(r, NULL), TRACE_DAMAGE_TRUNCATED, "write error: reads as truncated");
	ASSERT_TRUE(n >= 5000, "write error: the complete chunks read back");
	ASSERT_EQ(bad, 0, "write error: records equal");
	trace_reader__close(r);
}

static void test_file_policy(void)
{
	char path[256], link[256], target[256];
	struct trace_header h = test_header();
	struct trace_writer *w;
	struct stat st;
	int fd, saved;

	tmp_path(path, sizeof(path), "exists.st");
	tmp_path(link, sizeof(link), "link.st");
	tmp_path(target, sizeof(target), "target");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write(fd, "keep", 4);
	close(fd);
	saved = dup(2);
	freopen("/dev/null", "w", stderr);
	ASSERT_EQ(trace_writer__open(&w, path, 0, &h), -EEXIST, "existing file refused without force");
	stat(path, &st);
	ASSERT_EQ(st.st_size, 4, "existing file untouched");

	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write(fd, "keep", 4);
	close(fd);
	symlink(target, link);
	ASSERT_EQ(trace_writer__open(&w, link, 0, &h), -EEXIST, "symlink refused");
	ASSERT_EQ(trace_writer__open(&w, link, 1, &h), -ELOOP, "symlink refused with force");
	stat(target, &st);
	ASSERT_EQ(st.st_size, 4, "symlink target untouched");
	ASSERT_EQ(trace_writer__open(&w, "/dev/null", 1, &h), -EINVAL, "device refused with force");
	dup2(saved, 2);
	close(saved);

	if (ASSERT_EQ(trace_writer__open(&w, path, 1, &h), 0, "force overwrites")) {
		ASSERT_EQ(trace_writer__close(w), 0, "close");
		stat(path, &st);
		ASSERT_EQ(st.st_mode & 0777, 0600, "overwritten file is mode 0600");
	}
	ASSERT_EQ(trace_writer__close(NULL), 0, "close(NULL)");
	trace_reader__close(NULL);
}

static void write_seed(const char *dir, const char *name, uint8_t mode, const uint8_t *a,
		       size_t a_len, const uint8_t *b, size_t b_len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(&mode, 1, 1, f);
	fwrite(a, 1, a_len, f);
	fwrite(b, 1, b_len, f);
	fclose(f);
}

/* Seeds for the fuzzer (tests/fuzz/fuzz_trace.c): whole files behind a 0
 * byte, and the decompressed first chunk behind 1 and its record count - 1. */
static int write_corpus(const char *dir)
{
	static const unsigned int n[] = { 5, 30, 120 };
	char src[256], name[64];
	size_t len;
	uint8_t *buf;

	tmp_path(src, sizeof(src), "seed.st");
	for (int i = 0; i < 3; i++) {
		size_t hl, comp_len;
		uLongf raw_len;
		uint8_t *raw, count;

		if (write_recording(src, n[i], i + 3, 7 + i))
			return 1;
		buf = slurp(src, &len);
		snprintf(name, sizeof(name), "file-%u", n[i]);
		write_seed(dir, name, 0, buf, len, NULL, 0);
		if (i == 1)
			write_seed(dir, "file-cut", 0, buf, len * 2 / 3, NULL, 0);
		hl = buf[10] | buf[11] << 8;
		comp_len = buf[hl + 8] | buf[hl + 9] << 8;
		raw_len = buf[hl + 12] | buf[hl + 13] << 8;
		count = (uint8_t)(buf[hl + 16] - 1);
		raw = malloc(raw_len);
		if (uncompress(raw, &raw_len, buf + hl + 28, comp_len) == Z_OK) {
			snprintf(name, sizeof(name), "chunk-%u", n[i]);
			write_seed(dir, name, 1, &count, 1, raw, raw_len);
		}
		free(raw);
		free(buf);
	}
	free_expect();
	return 0;
}

static void rm_tmp(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	system(cmd);
}

/* A recording's kprobe gap, by its own tiers and kernel release (not
 * the machine's that reads it). */
static void test_kprobe_gap(void)
{
	struct trace_header h = {};

	for (int i = 0; i < ST_HOOK_COUNT; i++)
		h.hook_tier[i] = ST_TIER_TRACEPOINT;
	snprintf(h.kernel_release, sizeof(h.kernel_release), "6.1.0-57-cloud-amd64");
	ASSERT_EQ(trace_header__kprobe_gap(&h), 0, "6.1, no hook on kprobes: no gap");
	h.hook_tier[ST_HOOK_EPOLL] = ST_TIER_KPROBE;
	ASSERT_EQ(trace_header__kprobe_gap(&h), 1, "6.1, epoll on kprobes: a gap");
	snprintf(h.kernel_release, sizeof(h.kernel_release), "6.12.118+deb12-cloud-amd64");
	ASSERT_EQ(trace_header__kprobe_gap(&h), 0, "6.12 counts them");
	h.kernel_release[0] = 0;
	ASSERT_EQ(trace_header__kprobe_gap(&h), 1, "no release: not known to count");
}

/* For test_trace and test_tui (--kprobe-6.1 PATH): a recording as Debian
 * 12's kernel would have made it with the hooks on kprobes, whose skipped
 * runs that kernel does not count. A snapshot and a few events. */
static int write_kprobe_61(const char *path)
{
	struct trace_header h = test_header();
	struct trace_writer *w;
	struct st_snapshot snap;
	struct st_event e;
	int err;

	snprintf(h.kernel_release, sizeof(h.kernel_release), "6.1.0-57-cloud-amd64");
	snprintf(h.comm, sizeof(h.comm), "kp_server");
	for (int i = 0; i < ST_HOOK_COUNT; i++)
		h.hook_tier[i] = ST_TIER_KPROBE;
	err = trace_writer__open(&w, path, 1, &h);
	if (err)
		return 1;
	make_snapshot(&snap, 0);
	err = trace_writer__snapshot(w, &snap);
	st_snapshot__free(&snap);
	for (unsigned int i = 0; i < 4 && !err; i++) {
		make_event(&e, i);
		err = trace_writer__event(w, &e);
	}
	if (err) {
		trace_writer__close(w);
		return 1;
	}
	return trace_writer__close(w) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	if (argc == 3 && !strcmp(argv[1], "--kprobe-6.1")) {
		int ret = write_kprobe_61(argv[2]);

		rm_tmp();
		return ret;
	}
	if (argc == 3 && !strcmp(argv[1], "--corpus")) {
		int ret = write_corpus(argv[2]);

		rm_tmp();
		return ret;
	}
	test_round_trip();
	test_truncation();
	test_hostile();
	test_write_error();
	test_file_policy();
	test_kprobe_gap();
	free_expect();
	rm_tmp();
	return UNIT_DONE("trace");
}
