/* Unit tests for event_order: ring records from interleaved per-CPU
 * streams come out in time order, equal times in read order, and what is
 * later than the release point stays pending, whatever the batches. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "event_order.h"
#include "socktrace.h"
#include "unit.h"

#define REC ST_RING_RECORD_SIZE
#define MAX_EV 20000

struct out {
	uint64_t id[MAX_EV];
	size_t n;
	int comm_zero; /* every event handed on had its tail (comm) zeroed */
};

static void collect(struct st_event *e, void *ctx)
{
	struct out *o = ctx;

	if (o->n < MAX_EV)
		o->id[o->n++] = e->sk_id;
	for (size_t i = 0; i < sizeof(e->comm); i++)
		if (e->comm[i])
			o->comm_zero = 0;
}

/* ids are read order; the expected order is by time, then read order */
static uint64_t times[MAX_EV];

static int by_time_then_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	if (times[x] != times[y])
		return times[x] < times[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state % n;
}

/*
 * streams: how many CPU-like streams interleave, each in time order with
 * repeated times; records of 1..16 events; now and then a record out of
 * order (a stage written by another path); released at rising points,
 * then at the end.
 */
static void run_case(const char *name, int streams, int disorder)
{
	static struct out out;
	static uint64_t want[MAX_EV];
	struct event_order o = {};
	uint64_t clock[64] = {}, until = 0;
	unsigned char batch[16 * REC];
	size_t n = 0, held_max = 0;
	int ok = 1;

	out.n = 0;
	out.comm_zero = 1;
	while (n + 16 <= 12000) {
		int st = rnd(streams), len = 1 + rnd(16);

		for (int i = 0; i < len; i++) {
			struct st_event e = {};

			clock[st] += rnd(4); /* 0: same time as the last */
			e.time_ns = 1000 + clock[st];
			if (disorder && rnd(50) == 0)
				e.time_ns -= rnd(30);
			e.sk_id = n;
			times[n++] = e.time_ns;
			memcpy(batch + i * REC, &e, REC);
		}
		if (event_order__add(&o, batch, len, REC))
			ok = 0;
		if (rnd(5) == 0) {
			/* every stream's clock is past this: all up to it is read */
			uint64_t low = UINT64_MAX;

			for (int i = 0; i < streams; i++)
				if (1000 + clock[i] < low)
					low = 1000 + clock[i];
			until = low - 40; /* disorder reaches 30 back */
			event_order__release(&o, until, collect, &out);
			if (event_order__pending(&o) > held_max)
				held_max = event_order__pending(&o);
		}
	}
	event_order__release(&o, UINT64_MAX, collect, &out);
	ASSERT_TRUE(ok, "adds succeed");
	ASSERT_EQ(out.n, n, name);
	ASSERT_EQ(event_order__pending(&o), 0, "nothing left pending");
	ASSERT_TRUE(held_max < n, "releases hand events on before the end");
	ASSERT_TRUE(out.comm_zero, "the record's tail is zeroed");
	for (size_t i = 0; i < n; i++)
		want[i] = i;
	qsort(want, n, sizeof(want[0]), by_time_then_id);
	ASSERT_TRUE(!memcmp(want, out.id, n * sizeof(want[0])), name);
	event_order__free(&o);
	event_order__free(&o); /* after free: a no-op */
}

/* What is later than the release point waits, even in the first record. */
static void test_holds_later(void)
{
	struct st_event e[3] = { { .time_ns = 10, .sk_id = 0 }, { .time_ns = 20, .sk_id = 1 },
				 { .time_ns = 30, .sk_id = 2 } };
	static struct out out;
	struct event_order o = {};
	unsigned char buf[3 * REC];

	for (int i = 0; i < 3; i++)
		memcpy(buf + i * REC, &e[i], REC);
	out.n = 0;
	ASSERT_EQ(event_order__add(&o, buf, 3, REC), 0, "add");
	event_order__release(&o, 20, collect, &out);
	ASSERT_EQ(out.n, 2, "two events up to 20");
	ASSERT_EQ(event_order__pending(&o), 1, "one waits");
	/* an earlier event read later still goes first */
	e[0].time_ns = 25;
	e[0].sk_id = 3;
	ASSERT_EQ(event_order__add(&o, &e[0], 1, REC), 0, "add later");
	event_order__release(&o, UINT64_MAX, collect, &out);
	ASSERT_EQ(out.n, 4, "all handed on");
	ASSERT_EQ(out.id[2], 3, "25 before 30");
	ASSERT_EQ(out.id[3], 2, "30 last");
	ASSERT_EQ(event_order__add(&o, buf, 1, sizeof(struct st_event) + 1), -22,
		  "a record larger than an event is refused");
	event_order__free(&o);
	event_order__free(NULL);
}

int main(void)
{
	test_holds_later();
	run_case("one stream", 1, 0);
	run_case("two CPUs", 2, 0);
	run_case("six streams, some records out of order", 6, 1);
	/* more streams than chains: the sort path */
	run_case("sixty streams", 60, 1);
	return UNIT_DONE("event_order");
}
