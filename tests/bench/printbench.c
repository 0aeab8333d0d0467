/*
 * Times the --events printers alone, on the events one connection of
 * bench_events.sh's echo workload gives (handshake, accept, ten round trips
 * through epoll, close), printed to /dev/null.
 * Usage: printbench json|text [CONNECTIONS]
 * Prints "print json events=N ns_per_event=X". Wall time is noisy on a
 * shared machine; for instructions per event, deterministic:
 *   valgrind --tool=callgrind --toggle-collect=st_print_event_json \
 *     tests/.output/bench_printbench json 20000
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "print.h"
#include "socktrace.h"
#include "util.h"

#define LISTEN_SK 0xffff88815e748940ull

struct conn {
	struct st_event base;
	uint64_t now;
	void (*print)(FILE *f, const struct st_event *e);
	FILE *out;
	long events;
};

static void emit(struct conn *c, unsigned int type, void (*set)(struct st_event *e, void *arg),
		 void *arg)
{
	struct st_event e = c->base;

	c->now += 7919;
	e.time_ns = c->now;
	e.type = type;
	if (set)
		set(&e, arg);
	c->print(c->out, &e);
	c->events++;
}

static void set_state(struct st_event *e, void *arg)
{
	const uint8_t *states = arg;

	e->fd = -1;
	e->old_state = states[0];
	e->new_state = states[1];
}

static void set_listener(struct st_event *e, void *arg)
{
	e->fd = 3;
	e->sk_id = LISTEN_SK;
	e->queue_len = 1;
	e->queue_max = 4096;
	if (e->type == ST_EV_EP_WAKEUP) {
		memset(e->daddr, 0, sizeof(e->daddr));
		e->dport = 0;
		e->events = 1; /* EPOLLIN */
	}
}

static void set_wait_done(struct st_event *e, void *arg)
{
	e->tid = e->pid;
	e->count = 1;
	e->latency_ns = *(uint64_t *)arg;
	e->family = 0;
}

static void set_child(struct st_event *e, void *arg)
{
	e->fd = -1;
	e->queue_len = 1;
	e->queue_max = 4096;
}

static void set_accept(struct st_event *e, void *arg)
{
	e->tid = e->pid;
	e->queue_max = 4096;
	e->latency_ns = 370825;
}

static void set_data(struct st_event *e, void *arg)
{
	e->events = 1;
}

static void set_close(struct st_event *e, void *arg)
{
	e->tid = e->pid;
	e->old_state = 8; /* CLOSE_WAIT */
}

static void connection(struct conn *c, uint16_t peer_port)
{
	static const uint8_t clone[2] = { 10, 3 }, established[2] = { 3, 1 },
			     fin[2] = { 1, 8 }, last_ack[2] = { 8, 9 };
	uint64_t wait = 55815, no_wait = 0;

	c->base.dport = peer_port;
	c->base.sk_id += 0x1280;
	emit(c, ST_EV_SYN_RECV, set_listener, NULL);
	emit(c, ST_EV_STATE, set_state, (void *)clone);
	emit(c, ST_EV_STATE, set_state, (void *)established);
	emit(c, ST_EV_CHILD_QUEUED, set_child, NULL);
	emit(c, ST_EV_EP_WAKEUP, set_listener, NULL);
	emit(c, ST_EV_EPOLL_WAIT_DONE, set_wait_done, &wait);
	emit(c, ST_EV_ACCEPT, set_accept, NULL);
	emit(c, ST_EV_EPOLL_WAIT_DONE, set_wait_done, &no_wait);
	for (int i = 0; i < 10; i++) {
		emit(c, ST_EV_EP_WAKEUP, set_data, NULL);
		emit(c, ST_EV_EPOLL_WAIT_DONE, set_wait_done, &wait);
	}
	emit(c, ST_EV_STATE, set_state, (void *)fin);
	emit(c, ST_EV_EP_WAKEUP, set_data, NULL);
	emit(c, ST_EV_CLOSE, set_close, NULL);
	emit(c, ST_EV_STATE, set_state, (void *)last_ack);
}

int main(int argc, char **argv)
{
	static char outbuf[256 << 10]; /* socktrace's stdout buffer */
	struct conn c = { .now = 12670065839457ull };
	long conns = argc > 2 ? atol(argv[2]) : 100000;
	uint64_t t0, ns;

	if (argc < 2 || conns < 1 || (strcmp(argv[1], "json") && strcmp(argv[1], "text")))
		return 2;
	c.print = strcmp(argv[1], "json") ? st_print_event_text : st_print_event_json;
	c.out = fopen("/dev/null", "w");
	if (!c.out)
		return 1;
	setvbuf(c.out, outbuf, _IOFBF, sizeof(outbuf));
	c.base = (struct st_event){ .pid = 28922, .fd = 5, .epfd = 4, .family = AF_INET,
				    .sport = 42705, .sk_id = 0xffff888130526f00ull,
				    .tier = ST_TIER_TRACEPOINT };
	inet_pton(AF_INET, "127.0.0.1", c.base.saddr);
	inet_pton(AF_INET, "127.0.0.1", c.base.daddr);
	memcpy(c.base.comm, "churn", 5);
	t0 = st_now_ns();
	for (long i = 0; i < conns; i++)
		connection(&c, (uint16_t)(1024 + i % 64000));
	fflush(c.out);
	ns = st_now_ns() - t0;
	printf("print %s events=%ld ns_per_event=%.1f\n", argv[1], c.events,
	       (double)ns / (double)c.events);
	fclose(c.out);
	return 0;
}
