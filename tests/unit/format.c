/* Unit tests for the pure formatting helpers and the snapshot record parser. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include "format.h"
#include "snapshot.h"
#include "unit.h"

static char *json_of(const char *s, size_t len)
{
	static char out[512];
	FILE *f = fmemopen(out, sizeof(out), "w");

	st_json_string(f, s, len);
	fclose(f);
	return out;
}

static void test_addr(void)
{
	char buf[ST_ADDR_STRLEN];
	uint8_t a[16] = {};

	inet_pton(AF_INET, "127.0.0.1", a);
	ASSERT_STREQ(st_addr_format(buf, sizeof(buf), AF_INET, a, 8080), "127.0.0.1:8080", "ipv4");
	memset(a, 0, sizeof(a));
	ASSERT_STREQ(st_addr_format(buf, sizeof(buf), AF_INET, a, 0), "0.0.0.0:0", "ipv4 any");
	inet_pton(AF_INET6, "::1", a);
	ASSERT_STREQ(st_addr_format(buf, sizeof(buf), AF_INET6, a, 443), "[::1]:443", "ipv6");
	inet_pton(AF_INET6, "::ffff:10.0.0.1", a);
	ASSERT_STREQ(st_addr_format(buf, sizeof(buf), AF_INET6, a, 65535),
		     "[::ffff:10.0.0.1]:65535", "ipv4-mapped");
	inet_pton(AF_INET6, "fe80::1:2:3:4", a);
	ASSERT_STREQ(st_addr_format(buf, sizeof(buf), AF_INET6, a, 1), "[fe80::1:2:3:4]:1", "ipv6 long");
	ASSERT_STREQ(st_addr_format(buf, sizeof(buf), 0, a, 1), "-", "unknown family");
	/* A short buffer truncates instead of overflowing. */
	inet_pton(AF_INET, "255.255.255.255", a);
	st_addr_format(buf, 8, AF_INET, a, 65535);
	ASSERT_EQ(strlen(buf), 7, "truncated to buffer");
}

static void test_epoll_names(void)
{
	char buf[256];

	ASSERT_STREQ(st_epoll_events_format(buf, sizeof(buf), EPOLLIN), "EPOLLIN", "in");
	ASSERT_STREQ(st_epoll_events_format(buf, sizeof(buf), EPOLLIN | EPOLLOUT | EPOLLET),
		     "EPOLLIN|EPOLLOUT|EPOLLET", "in|out|et");
	ASSERT_STREQ(st_epoll_events_format(buf, sizeof(buf), 0), "0", "zero");
	ASSERT_STREQ(st_epoll_events_format(buf, sizeof(buf), EPOLLIN | (1u << 20)),
		     "EPOLLIN|0x100000", "unknown bit as hex");
	ASSERT_STREQ(st_epoll_events_format(buf, sizeof(buf), EPOLLRDHUP | EPOLLONESHOT),
		     "EPOLLRDHUP|EPOLLONESHOT", "rdhup|oneshot");
	st_epoll_events_format(buf, 6, EPOLLIN | EPOLLOUT);
	ASSERT_TRUE(strlen(buf) < 6, "short buffer");
}

static void test_json(void)
{
	ASSERT_STREQ(json_of("nginx", 5), "\"nginx\"", "plain");
	ASSERT_STREQ(json_of("a\"b\\c", 5), "\"a\\\"b\\\\c\"", "quote and backslash");
	ASSERT_STREQ(json_of("\x1b[31m", 5), "\"\\u001b[31m\"", "escape char");
	ASSERT_STREQ(json_of("a\nb\tc", 5), "\"a\\nb\\tc\"", "newline tab");
	ASSERT_STREQ(json_of("\xff", 1), "\"\\u00ff\"", "high byte");
	ASSERT_STREQ(json_of("a\0b", 3), "\"a\\u0000b\"", "nul inside");
	ASSERT_STREQ(json_of("\x7f", 1), "\"\\u007f\"", "del");
}

static void test_term_escape(void)
{
	char buf[64];

	ASSERT_STREQ(st_term_escape(buf, sizeof(buf), "\x1b[2Jx", 5), "\\x1b[2Jx", "esc");
	ASSERT_STREQ(st_term_escape(buf, sizeof(buf), "a\\b", 3), "a\\\\b", "backslash");
	ASSERT_STREQ(st_term_escape(buf, sizeof(buf), "ok\0hidden", 9), "ok", "stops at nul");
	ASSERT_STREQ(st_term_escape(buf, 5, "\x1b\x1b", 2), "\\x1b", "never half an escape");
	ASSERT_STREQ(st_term_escape(buf, sizeof(buf), "\xc3\xa9", 2), "\\xc3\\xa9", "high bytes");
}

static void test_names(void)
{
	ASSERT_STREQ(st_tcp_state_name(10), "LISTEN", "listen");
	ASSERT_STREQ(st_tcp_state_name(1), "ESTABLISHED", "established");
	ASSERT_STREQ(st_tcp_state_name(200), "UNKNOWN", "out of range");
	ASSERT_STREQ(st_fd_kind_name(ST_FD_EPOLL), "epoll", "epoll kind");
	ASSERT_STREQ(st_fd_kind_name(999), "other", "kind out of range");
	ASSERT_STREQ(st_sock_state_name(ST_FD_UDP, 7), "UNCONN", "udp unconnected");
	ASSERT_STREQ(st_event_type_name(ST_EV_ACCEPT_OVERFLOW), "accept_overflow", "event name");
	ASSERT_EQ(st_event_type_parse("epoll_wait_done"), ST_EV_EPOLL_WAIT_DONE, "event parse");
	ASSERT_EQ(st_event_type_parse("nope"), 0, "event parse unknown");
}

/* Records as the iterator writes them, then damaged ones. */
static void test_parse(void)
{
	/* In the kernel's order: one task's fds ascending. */
	struct {
		struct st_epitem_rec item;
		struct st_fd_rec listener;
		struct st_fd_rec ep;
	} recs = {};
	struct {
		struct st_fd_rec listener, ep, again_listener, again_ep;
	} threads;
	struct st_snapshot snap;
	char bad[sizeof(recs)];

	recs.item = (struct st_epitem_rec){ .hdr = { ST_REC_EPITEM, sizeof(recs.item) },
					    .fd = 3, .events = EPOLLIN, .ready = 1,
					    .ep_id = 0xabc };
	recs.ep = (struct st_fd_rec){ .hdr = { ST_REC_FD, sizeof(recs.ep) }, .fd = 5,
				      .kind = ST_FD_EPOLL, .obj_id = 0xabc };
	recs.listener = (struct st_fd_rec){ .hdr = { ST_REC_FD, sizeof(recs.listener) },
					    .fd = 3, .kind = ST_FD_TCP, .state = 10,
					    .family = AF_INET, .lport = 80, .accept_queue = 5,
					    .accept_max = 4, .syn_queue = 2, .drops = 9 };
	if (ASSERT_EQ(st_snapshot__parse(&snap, &recs, sizeof(recs), NULL, 0), 0, "parse")) {
		ASSERT_EQ(snap.n_fds, 2, "two fds");
		ASSERT_EQ(snap.fds[0].fd, 3, "sorted by fd");
		ASSERT_EQ(snap.n_listeners, 1, "one listener");
		ASSERT_EQ(snap.listeners[0].accept_queue, 5, "accept queue");
		ASSERT_EQ(snap.listeners[0].drops, 9, "drops");
		ASSERT_EQ(snap.n_epolls, 1, "one epoll");
		ASSERT_EQ(snap.epolls[0].n_interest, 1, "interest joined to its epoll");
		ASSERT_EQ(snap.epolls[0].n_ready, 1, "ready");
		ASSERT_TRUE(st_snapshot__find_fd(&snap, 5) != NULL, "find fd 5");
		ASSERT_TRUE(st_snapshot__find_fd(&snap, 4) == NULL, "no fd 4");
		st_snapshot__free(&snap);
	}
	/* Every truncation is rejected or parsed, never read past the end. */
	for (size_t cut = 1; cut < sizeof(recs); cut++) {
		char *p = malloc(cut);
		int err;

		memcpy(p, &recs, cut);
		err = st_snapshot__parse(&snap, p, cut, NULL, 0);
		if (!err)
			st_snapshot__free(&snap);
		free(p);
		if (cut % sizeof(recs.ep) && !ASSERT_TRUE(err == -EINVAL || !err, "truncation"))
			break;
	}
	/* A second thread sharing the fd table repeats it: counted once. */
	threads.listener = threads.again_listener = recs.listener;
	threads.ep = threads.again_ep = recs.ep;
	if (ASSERT_EQ(st_snapshot__parse(&snap, &threads, sizeof(threads), NULL, 0), 0,
		      "parse thread repeat")) {
		ASSERT_EQ(snap.n_fds, 2, "repeated fds counted once");
		ASSERT_EQ(snap.n_listeners, 1, "repeated listener counted once");
		st_snapshot__free(&snap);
	}
	memcpy(bad, &recs, sizeof(bad));
	((struct st_rec_hdr *)bad)->len = 0;
	ASSERT_EQ(st_snapshot__parse(&snap, bad, sizeof(bad), NULL, 0), -EINVAL, "zero length");
	((struct st_rec_hdr *)bad)->len = 0xffff;
	ASSERT_EQ(st_snapshot__parse(&snap, bad, sizeof(bad), NULL, 0), -EINVAL, "overlong");
}

int main(void)
{
	test_addr();
	test_epoll_names();
	test_json();
	test_term_escape();
	test_names();
	test_parse();
	return UNIT_DONE("format");
}
