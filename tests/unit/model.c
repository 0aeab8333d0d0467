/* Unit tests for the model: snapshots and events merged, rates, history,
 * percentiles, explain texts. Time is given, never read from a clock. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <unistd.h>
#include "format.h"
#include "model.h"
#include "unit.h"

#define S 1000000000ull
#define MS 1000000ull

/* A snapshot with one listener on 127.0.0.1:port and one epoll fd. */
static void make_snap(struct st_snapshot *s, uint64_t t, uint32_t acc, uint32_t max,
		      uint32_t syn, uint32_t drops, size_t ready)
{
	struct st_listener *l;
	struct st_epoll *e;

	memset(s, 0, sizeof(*s));
	s->pid = 42;
	memcpy(s->comm, "srv\x1b[31m", 9);
	s->time_ns = t;
	s->n_listeners = 1;
	s->listeners = l = calloc(1, sizeof(*l));
	l->fd = 3;
	l->family = AF_INET;
	l->local.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", l->local.addr);
	l->local.port = 8080;
	l->accept_queue = acc;
	l->accept_max = max;
	l->syn_queue = syn;
	l->drops = drops;
	l->sk_id = 0xffff1234;
	s->n_epolls = 1;
	s->epolls = e = calloc(1, sizeof(*e));
	e->fd = 4;
	e->ep_id = 0xffff5678;
	e->n_interest = 3;
	e->interest = calloc(3, sizeof(*e->interest));
	for (int i = 0; i < 3; i++)
		e->interest[i] = (struct st_ep_entry){ 5 + i, 1 };
	e->n_ready = ready;
	e->ready = ready ? calloc(ready, sizeof(*e->ready)) : NULL;
	for (size_t i = 0; i < ready; i++)
		e->ready[i] = e->interest[i];
}

static void feed(struct st_model *m, uint64_t t, uint32_t acc, uint32_t max, uint32_t syn,
		 uint32_t drops, size_t ready)
{
	struct st_snapshot s;

	make_snap(&s, t, acc, max, syn, drops, ready);
	st_model__take_snapshot(m, &s);
	ASSERT_EQ(s.n_listeners, 0, "snapshot moved into the model");
}

static struct st_event ev(uint16_t type, uint64_t t)
{
	struct st_event e = { .time_ns = t, .type = type, .fd = -1, .epfd = -1,
			      .family = AF_INET, .sport = 8080 };

	return e;
}

static void test_fill(void)
{
	ASSERT_EQ(st_fill_level(0, 8), ST_FILL_OK, "empty");
	ASSERT_EQ(st_fill_level(3, 8), ST_FILL_OK, "below half");
	ASSERT_EQ(st_fill_level(4, 8), ST_FILL_FILLING, "half");
	ASSERT_EQ(st_fill_level(8, 8), ST_FILL_FULL, "at limit");
	ASSERT_EQ(st_fill_level(9, 8), ST_FILL_FULL, "over limit (backlog + 1)");
	ASSERT_EQ(st_fill_level(0, 0), ST_FILL_OK, "backlog 0, empty");
	ASSERT_EQ(st_fill_level(1, 0), ST_FILL_FULL, "backlog 0, one waiting");
}

static void test_percentile(void)
{
	uint64_t v[100];

	for (int i = 0; i < 100; i++)
		v[i] = 100 - i; /* 100..1, unsorted */
	ASSERT_EQ(st_percentile(v, 100, 0.5), 50, "median of 1..100");
	ASSERT_EQ(st_percentile(v, 100, 0.99), 99, "p99 of 1..100");
	ASSERT_EQ(st_percentile(v, 1, 0.99), 1, "one sample");
	ASSERT_EQ(st_percentile(v, 0, 0.5), 0, "no samples");
}

static void test_snapshots(void)
{
	struct st_model m;
	struct st_listener_stats *l;

	ASSERT_EQ(st_model__init(&m, 42), 0, "init");
	feed(&m, 10 * S, 2, 8, 0, 5, 0);
	ASSERT_EQ(m.n_listeners, 1, "one listener");
	l = &m.listeners[0];
	ASSERT_EQ(l->drops_base, 5, "drops baseline at first sight");
	ASSERT_EQ(l->drops_changed_ns, 0, "no change seen yet");
	ASSERT_EQ(l->full_since_ns, 0, "not full");
	ASSERT_EQ(l->syn_max, 8, "SYN queue limit is the backlog");

	feed(&m, 11 * S, 9, 8, 0, 5, 0);
	l = &m.listeners[0];
	ASSERT_EQ(l->full_since_ns, 11 * S, "full since");
	ASSERT_EQ(l->full_at_first_sight, 0, "became full while watched");
	feed(&m, 12 * S, 9, 8, 0, 17, 1);
	l = &m.listeners[0];
	ASSERT_EQ(l->drops, 17, "drops read");
	ASSERT_EQ(l->drops_last_delta, 12, "drops delta");
	ASSERT_EQ(l->drops_changed_ns, 12 * S, "drops change time");
	ASSERT_EQ(l->full_since_ns, 11 * S, "still full since the first full snapshot");
	ASSERT_EQ(m.epolls[0].ready_since_ns, 12 * S, "ready list non-empty since");

	feed(&m, 13 * S, 1, 8, 0, 17, 0);
	l = &m.listeners[0];
	ASSERT_EQ(l->full_since_ns, 0, "drained");
	ASSERT_EQ(l->drops_changed_ns, 12 * S, "last change kept");
	ASSERT_EQ(m.epolls[0].ready_since_ns, 0, "ready list empty");
	ASSERT_EQ(m.snap_count, 4, "snapshot count");
	ASSERT_TRUE(!memcmp(m.comm, "srv\x1b[31m", 9), "comm kept raw (escaped at display)");

	/* filling and dropping between two snapshots: the drops count */
	feed(&m, 13500 * MS, 9, 8, 0, 30, 0);
	l = &m.listeners[0];
	ASSERT_EQ(l->drops - l->drops_at_full, 13, "drops with the filling counted");

	/* a new socket on the same fd starts over */
	{
		struct st_snapshot s;

		make_snap(&s, 14 * S, 0, 128, 0, 0, 0);
		s.listeners[0].sk_id = 0xffffabcd;
		st_model__take_snapshot(&m, &s);
		ASSERT_EQ(m.listeners[0].drops_base, 0, "new socket, new baseline");
		ASSERT_EQ(m.listeners[0].hist_len, 1, "new socket, new history");
	}
	st_model__free(&m);
	st_model__free(NULL);
}

static void test_history(void)
{
	struct st_model m;
	const struct st_listener_stats *l;

	st_model__init(&m, 42);
	/* 100 ms snapshots: one history step per 250 ms, holding the maximum */
	feed(&m, 1000 * MS, 1, 8, 0, 0, 0);
	feed(&m, 1100 * MS, 7, 8, 0, 0, 0);
	feed(&m, 1200 * MS, 2, 8, 0, 0, 0);
	l = &m.listeners[0];
	ASSERT_EQ(l->hist_len, 1, "one step so far");
	ASSERT_EQ(l->hist[0], 7, "step keeps the peak");
	feed(&m, 1300 * MS, 3, 8, 0, 0, 0);
	l = &m.listeners[0];
	ASSERT_EQ(l->hist_len, 2, "second step");
	ASSERT_EQ(l->hist[1], 3, "second step value");
	/* a 1 s gap repeats the last value instead of compressing time */
	feed(&m, 2300 * MS, 5, 8, 0, 0, 0);
	l = &m.listeners[0];
	ASSERT_EQ(l->hist_len, 6, "gap filled: 2 + 3 repeated + 1");
	ASSERT_EQ(l->hist[4], 3, "repeated value");
	ASSERT_EQ(l->hist[5], 5, "newest value");
	for (int i = 0; i < 100; i++)
		feed(&m, (3000 + 250 * i) * MS, i % 10, 8, 0, 0, 0);
	l = &m.listeners[0];
	ASSERT_EQ(l->hist_len, ST_MODEL_HIST, "history bounded");
	ASSERT_EQ(l->hist[(l->hist_head + ST_MODEL_HIST - 1) % ST_MODEL_HIST], 9, "newest after wrap");
	st_model__free(&m);
}

static void test_events(void)
{
	struct st_model m;
	struct st_event e;
	const struct st_listener_stats *l;

	st_model__init(&m, 42);
	feed(&m, 1 * S, 0, 8, 0, 0, 0);
	/* 100 accepts, waits 1..100 ms, over one second */
	for (int i = 1; i <= 100; i++) {
		e = ev(ST_EV_ACCEPT, S + i * 10 * MS);
		e.latency_ns = i * MS;
		e.sk_id = 0x1; /* the child: matched by local port */
		st_model__event(&m, &e);
	}
	e = ev(ST_EV_ACCEPT_OVERFLOW, 2 * S);
	e.sk_id = 0xffff1234;
	e.sport = 0;
	st_model__event(&m, &e);
	for (int i = 0; i < 30; i++) {
		e = ev(ST_EV_EP_WAKEUP, 2 * S);
		e.epfd = 4;
		st_model__event(&m, &e);
	}
	for (int i = 0; i < 10; i++) {
		e = ev(ST_EV_EPOLL_WAIT_DONE, 2 * S);
		e.epfd = 4;
		e.count = 3;
		e.latency_ns = (i + 1) * MS;
		st_model__event(&m, &e);
	}
	e = ev(ST_EV_LOST, 2 * S);
	e.count = 7;
	st_model__event(&m, &e);
	st_model__tick(&m, 2 * S + 1);

	l = &m.listeners[0];
	ASSERT_EQ(l->accepts, 100, "accepts matched by port");
	ASSERT_EQ(l->overflow_events, 1, "overflow matched by socket");
	ASSERT_EQ(l->wait_p50_ns, 50 * MS, "accept wait median");
	ASSERT_EQ(l->wait_p99_ns, 99 * MS, "accept wait p99");
	ASSERT_TRUE(l->accepts_per_s > 99 && l->accepts_per_s < 101, "accepts per second");
	ASSERT_EQ(m.epolls[0].wakeups, 30, "wake-ups");
	ASSERT_EQ(m.epolls[0].returns, 10, "epoll_wait returns");
	ASSERT_EQ(m.epolls[0].returned, 30, "events returned");
	ASSERT_TRUE(m.epolls[0].wakeups_per_s > 29 && m.epolls[0].wakeups_per_s < 31, "wake-ups/s");
	ASSERT_EQ(m.epolls[0].wake_p50_ns, 5 * MS, "wake-up to return median");
	ASSERT_EQ(m.epolls[0].wake_p99_ns, 10 * MS, "wake-up to return p99");
	ASSERT_EQ(m.events_lost, 7, "lost events counted");
	ASSERT_EQ(m.events_total, 142, "all events counted");
	ASSERT_EQ(m.per_type[ST_EV_ACCEPT], 100, "per type");
	ASSERT_EQ(st_model__log_get(&m, 0)->type, ST_EV_LOST, "log newest first");
	ASSERT_EQ(st_model__log_get(&m, 141)->type, ST_EV_ACCEPT, "log oldest last");
	ASSERT_TRUE(st_model__log_get(&m, 142) == NULL, "log end");

	/* the log is bounded */
	for (int i = 0; i < ST_MODEL_LOG + 10; i++) {
		e = ev(ST_EV_STATE, 3 * S + i);
		st_model__event(&m, &e);
	}
	ASSERT_EQ(m.log_len, ST_MODEL_LOG, "log bounded");
	ASSERT_EQ(st_model__log_get(&m, 0)->time_ns, 3 * S + ST_MODEL_LOG + 9, "newest kept");
	st_model__free(&m);
}

static void test_rates(void)
{
	struct st_model m;
	struct st_event e;

	st_model__init(&m, 42);
	feed(&m, 10 * S, 0, 8, 0, 100, 0);
	for (int i = 1; i <= 4; i++)
		st_model__tick(&m, 10 * S + i * 250 * MS);
	ASSERT_EQ(m.listeners[0].accepts_per_s, 0, "quiet");
	ASSERT_EQ(m.listeners[0].drops_per_s, 0, "drops before we looked are no rate");
	for (int i = 0; i < 50; i++) {
		e = ev(ST_EV_ACCEPT, 11 * S + 100 * MS);
		st_model__event(&m, &e);
	}
	feed(&m, 11 * S + 200 * MS, 0, 8, 0, 120, 0);
	st_model__tick(&m, 11 * S + 250 * MS);
	/* a burst shows within a quarter second, averaged over the last second */
	ASSERT_TRUE(m.listeners[0].accepts_per_s > 49.9 && m.listeners[0].accepts_per_s < 50.1,
		    "burst rate within 250 ms");
	ASSERT_TRUE(m.listeners[0].drops_per_s > 19.9 && m.listeners[0].drops_per_s < 20.1,
		    "drop rate");
	ASSERT_TRUE(m.events_per_s > 49.9 && m.events_per_s < 50.1, "events/s");
	st_model__tick(&m, 11 * S + 300 * MS);
	ASSERT_TRUE(m.listeners[0].accepts_per_s > 49.9, "no update between steps");
	for (int i = 2; i <= 6; i++)
		st_model__tick(&m, 11 * S + i * 250 * MS);
	ASSERT_EQ(m.listeners[0].accepts_per_s, 0, "back to 0 a second after the burst");
	st_model__free(&m);
}

static void test_explain(void)
{
	struct st_model m;
	char buf[4096], line[512];

	st_model__init(&m, 42);
	m.somaxconn = 4096;
	m.somaxconn_is_target = 1;
	feed(&m, 10 * S, 1, 128, 0, 0, 0);
	st_model__explain_listener(&m, 0, buf, sizeof(buf));
	ASSERT_TRUE(strstr(buf, "Nothing was dropped") != NULL, "healthy listener");
	ASSERT_STREQ(st_model__headline(&m, line, sizeof(line)), "", "no headline when healthy");

	/* full for 3 s with 57 drops */
	feed(&m, 11 * S, 129, 128, 0, 0, 0);
	feed(&m, 14 * S, 129, 128, 0, 57, 0);
	st_model__explain_listener(&m, 0, buf, sizeof(buf));
	ASSERT_TRUE(strstr(buf, "has been full for 3.00 s") != NULL, "full duration");
	ASSERT_TRUE(strstr(buf, "57 connection attempts dropped") != NULL, "drops while full");
	ASSERT_TRUE(strstr(buf, "not calling accept() fast enough") != NULL, "accept too slow");
	ASSERT_TRUE(strstr(buf, "now 128, net.core.somaxconn 4096") != NULL, "backlog and somaxconn");
	ASSERT_TRUE(strstr(buf, "capped by somaxconn") == NULL, "not capped");
	st_model__headline(&m, line, sizeof(line));
	ASSERT_TRUE(strstr(line, "127.0.0.1:8080 full (129/128) for 3.00 s, 57 dropped") != NULL,
		    "headline names the full queue");

	/* backlog capped by somaxconn */
	m.somaxconn = 128;
	st_model__explain_listener(&m, 0, buf, sizeof(buf));
	ASSERT_TRUE(strstr(buf, "capped by somaxconn") != NULL, "capped");

	/* drained, drops in the past: bursts */
	feed(&m, 15 * S, 0, 128, 0, 57, 0);
	st_model__explain_listener(&m, 0, buf, sizeof(buf));
	ASSERT_TRUE(strstr(buf, "overflows in bursts") != NULL, "bursts");
	ASSERT_TRUE(strstr(buf, "the last 1.00 s ago") != NULL, "last drop time");
	st_model__headline(&m, line, sizeof(line));
	ASSERT_STREQ(line, "127.0.0.1:8080 overflows in bursts: 57 dropped while watched, the last 1.00 s ago",
		     "bursts headline: every drop seen");

	/* SYN queue */
	feed(&m, 16 * S, 0, 128, 7, 57, 0);
	st_model__explain_listener(&m, 0, buf, sizeof(buf));
	ASSERT_TRUE(strstr(buf, "7 half-open connections") != NULL, "half-open");

	/* full when first seen: "at least" */
	st_model__free(&m);
	st_model__init(&m, 42);
	feed(&m, 10 * S, 9, 8, 0, 100, 0);
	feed(&m, 12 * S, 9, 8, 0, 100, 0);
	st_model__explain_listener(&m, 0, buf, sizeof(buf));
	ASSERT_TRUE(strstr(buf, "full for at least 2.00 s") != NULL, "full before we looked");
	ASSERT_TRUE(strstr(buf, "100 since the socket was made") != NULL, "old drops");
	/* 100 drops before attach, then drained and 3 more: the headline
	 * counts those and names the row's total */
	{
		struct st_model m2;

		st_model__init(&m2, 42);
		feed(&m2, 10 * S, 0, 8, 0, 100, 0);
		feed(&m2, 12 * S, 0, 8, 0, 103, 0);
		feed(&m2, 13 * S, 0, 8, 0, 103, 0);
		st_model__headline(&m2, line, sizeof(line));
		ASSERT_STREQ(line,
			     "127.0.0.1:8080 overflows in bursts: 3 dropped while watched (103 in all), the last 1.00 s ago",
			     "bursts headline: drops from before attach in the total only");
		st_model__free(&m2);
	}

	/* epoll: ready list stuck */
	feed(&m, 13 * S, 0, 8, 0, 100, 2);
	feed(&m, 16 * S, 0, 8, 0, 100, 2);
	st_model__explain_epoll(&m, 0, buf, sizeof(buf));
	ASSERT_TRUE(strstr(buf, "epoll fd 4 watches 3 fds") != NULL, "epoll sizes");
	ASSERT_TRUE(strstr(buf, "2 of them are on the ready list") != NULL, "ready count");
	ASSERT_TRUE(strstr(buf, "not been empty for 3.00 s") != NULL, "stuck ready list");
	ASSERT_TRUE(strstr(buf, "not calling epoll_wait()") != NULL, "epoll advice");
	st_model__headline(&m, line, sizeof(line));
	ASSERT_TRUE(strstr(line, "epoll fd 4 has had 2 ready fds uncollected") != NULL,
		    "epoll headline");
	ASSERT_TRUE(strstr(st_model__explain_listener(&m, 5, buf, sizeof(buf)), "No listening") != NULL,
		    "out of range");
	/* truncation is safe */
	st_model__explain_listener(&m, 0, buf, 10);
	ASSERT_EQ(strlen(buf), 9, "explain truncated to the buffer");
	st_model__free(&m);
}

static void test_somaxconn(void)
{
	int is_target = -1;
	int v = st_read_somaxconn(getpid(), &is_target);

	ASSERT_TRUE(v > 0, "somaxconn readable");
	ASSERT_EQ(is_target, 1, "own process: same namespace");
}

int main(void)
{
	test_fill();
	test_percentile();
	test_snapshots();
	test_history();
	test_events();
	test_rates();
	test_explain();
	test_somaxconn();
	return UNIT_DONE("model");
}
