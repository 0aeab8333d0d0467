/* Unit tests for the --events printers: every type gives one JSON object
 * on one line with its fields, untrusted process names are escaped. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "format.h"
#include "print.h"
#include "unit.h"

static char *print_one(const struct st_event *e, int json)
{
	static char out[2048];
	FILE *f = fmemopen(out, sizeof(out), "w");

	if (json)
		st_print_event_json(f, e);
	else
		st_print_event_text(f, e);
	fclose(f);
	return out;
}

static struct st_event make(unsigned int type)
{
	struct st_event e = { .type = type, .time_ns = 1234567890123ull, .pid = 42, .fd = 5,
			      .epfd = 4, .family = AF_INET, .sport = 8080, .dport = 40000 };

	inet_pton(AF_INET, "127.0.0.1", e.saddr);
	inet_pton(AF_INET, "127.0.0.2", e.daddr);
	memcpy(e.comm, "srv", 3);
	e.tier = ST_TIER_TRACEPOINT;
	return e;
}

/* Quotes balanced outside escapes, braces balanced, one line. */
static int json_shape_ok(const char *s)
{
	int depth = 0, in_str = 0;
	size_t n = strlen(s);

	if (n < 3 || s[0] != '{' || s[n - 1] != '\n' || s[n - 2] != '}')
		return 0;
	for (size_t i = 0; i < n - 1; i++) {
		unsigned char c = s[i];

		if (c < 0x20)
			return 0;
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
	}
	return depth == 0 && !in_str;
}

static void test_every_type(void)
{
	char want[64];

	for (unsigned int t = 1; t < ST_EV_TYPE_COUNT; t++) {
		struct st_event e = make(t);
		const char *j = print_one(&e, 1);

		snprintf(want, sizeof(want), "{\"type\":\"%s\",\"time_ns\":1234567890123,\"pid\":42",
			 st_event_type_name(t));
		ASSERT_TRUE(!strncmp(j, want, strlen(want)), st_event_type_name(t));
		ASSERT_TRUE(json_shape_ok(j), "json shape");
		const char *txt = print_one(&e, 0);

		ASSERT_TRUE(strstr(txt, st_event_type_name(t)) != NULL, "text names the type");
		ASSERT_EQ(strchr(txt, '\n') - txt, (long)strlen(txt) - 1, "text is one line");
	}
}

static void test_fields(void)
{
	struct st_event e = make(ST_EV_ACCEPT);
	const char *j;

	e.latency_ns = 1500;
	e.queue_len = 1;
	e.queue_max = 128;
	j = print_one(&e, 1);
	ASSERT_TRUE(strstr(j, "\"saddr\":\"127.0.0.1\",\"sport\":8080,\"daddr\":\"127.0.0.2\",\"dport\":40000") != NULL,
		    "accept 4-tuple");
	ASSERT_TRUE(strstr(j, "\"accept_queue\":1,\"queue_max\":128,\"latency_ns\":1500") != NULL,
		    "accept queue and wait");
	ASSERT_TRUE(strstr(print_one(&e, 0), "127.0.0.1:8080 <- 127.0.0.2:40000") != NULL, "text tuple");
	ASSERT_TRUE(strstr(j, "\"state\"") == NULL, "accept: no state when the tier gave none");
	e.new_state = ST_TCP_ESTABLISHED;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"state\"") == NULL, "accept: no state when ESTABLISHED");
	ASSERT_TRUE(strstr(print_one(&e, 0), "already") == NULL, "text: nothing when ESTABLISHED");
	e.new_state = 8; /* CLOSE_WAIT: the peer closed it in the queue */
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"latency_ns\":1500,\"state\":\"CLOSE_WAIT\"") != NULL,
		    "accept of a connection the peer closed: its state");
	ASSERT_TRUE(strstr(print_one(&e, 0), "waited 1.5 us, already CLOSE_WAIT") != NULL,
		    "text: already CLOSE_WAIT");
	e.new_state = 7; /* CLOSE: reset */
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"state\":\"CLOSE\"") != NULL, "accept of a reset connection");

	e = make(ST_EV_CONNECT_DONE);
	e.err = -111;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"err\":-111,\"error\":\"ECONNREFUSED\"") != NULL,
		    "connect_done error");
	ASSERT_TRUE(strstr(print_one(&e, 0), "ECONNREFUSED") != NULL, "text error");

	e = make(ST_EV_ACCEPT_OVERFLOW);
	e.count = 2;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"dropped\":\"ack\"") != NULL, "overflow on the final ACK");
	e.count = 1;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"dropped\":\"syn\"") != NULL, "overflow on the SYN");

	e = make(ST_EV_EP_WAKEUP);
	e.events = 0x1 | 0x40;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"epfd\":4,\"fd\":5") != NULL, "wakeup fds");
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"event_names\":[\"EPOLLIN\",\"EPOLLRDNORM\"]") != NULL,
		    "wakeup event names");

	e = make(ST_EV_LOST);
	e.count = 7;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"count\":7,") != NULL, "lost count");

	e = make(ST_EV_STATE);
	e.old_state = 1;
	e.new_state = 8;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"old_state\":\"ESTABLISHED\",\"new_state\":\"CLOSE_WAIT\"") != NULL,
		    "state names");

	e = make(ST_EV_ACCEPT);
	e.family = AF_INET6;
	inet_pton(AF_INET6, "::1", e.saddr);
	inet_pton(AF_INET6, "::ffff:10.0.0.1", e.daddr);
	j = print_one(&e, 1);
	ASSERT_TRUE(strstr(j, "\"family\":\"ipv6\",\"saddr\":\"::1\"") != NULL, "ipv6");
	ASSERT_TRUE(strstr(j, "\"daddr\":\"::ffff:10.0.0.1\"") != NULL, "v4-mapped");
}

/* The printers keep the last IPv4 address's text per side: each event
 * still shows its own addresses, whatever came before, in JSON and text. */
static void test_addresses_in_turn(void)
{
	static const char *const addrs[][2] = {
		{ "127.0.0.1", "127.0.0.2" }, { "10.1.2.3", "192.168.200.255" },
		{ "10.1.2.3", "127.0.0.2" }, { "255.255.255.255", "0.0.0.0" },
		{ "127.0.0.1", "127.0.0.2" }, { "1.2.3.4", "1.2.3.4" },
	};
	struct st_event e = make(ST_EV_STATE);
	char want[128];

	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
			inet_pton(AF_INET, addrs[i][0], e.saddr);
			inet_pton(AF_INET, addrs[i][1], e.daddr);
			snprintf(want, sizeof(want), "\"saddr\":\"%s\",\"sport\":8080,\"daddr\":\"%s\",",
				 addrs[i][0], addrs[i][1]);
			ASSERT_TRUE(strstr(print_one(&e, 1), want) != NULL, want);
			snprintf(want, sizeof(want), " %s:8080 <-> %s:40000 ", addrs[i][0], addrs[i][1]);
			ASSERT_TRUE(strstr(print_one(&e, 0), want) != NULL, want);
		}
		/* an IPv6 event between leaves the kept IPv4 text alone */
		e.family = AF_INET6;
		inet_pton(AF_INET6, "::1", e.saddr);
		inet_pton(AF_INET6, "::2", e.daddr);
		ASSERT_TRUE(strstr(print_one(&e, 1), "\"saddr\":\"::1\"") != NULL, "ipv6 between");
		e.family = AF_INET;
	}
}

static void test_hostile_comm(void)
{
	struct st_event e = make(ST_EV_CLOSE);
	const char *s;

	memcpy(e.comm, "a\"b\\c\x1b[2Jd\n", 12);
	s = print_one(&e, 1);
	ASSERT_TRUE(json_shape_ok(s), "json with hostile comm");
	ASSERT_TRUE(strstr(s, "\"comm\":\"a\\\"b\\\\c\\u001b[2Jd\\n\"") != NULL, "comm escaped in json");
	s = print_one(&e, 0);
	ASSERT_TRUE(strchr(s, 0x1b) == NULL, "no escape byte reaches the terminal");
	ASSERT_TRUE(strstr(s, "a\"b\\\\c\\x1b[2Jd\\x0a") != NULL, "comm escaped in text");
	/* a full 16-byte comm has no NUL: never read past it */
	memset(e.comm, 'x', sizeof(e.comm));
	e.fd = 9;
	s = print_one(&e, 1);
	ASSERT_TRUE(strstr(s, "\"comm\":\"xxxxxxxxxxxxxxxx\",") != NULL, "16-byte comm");
}

/* Whole lines, byte for byte: the printers build them by hand for speed, so
 * every separator, rounding and fallback is pinned here. */
static void test_exact_lines(void)
{
	struct st_event e = make(ST_EV_ACCEPT);

	e.tid = 43;
	e.sk_id = 0xffff888104c3b780ull;
	e.queue_len = 1;
	e.queue_max = 4096;
	e.latency_ns = 370825;
	ASSERT_STREQ(print_one(&e, 1),
		     "{\"type\":\"accept\",\"time_ns\":1234567890123,\"pid\":42,\"tid\":43,\"comm\":\"srv\","
		     "\"tier\":\"tracepoint\",\"fd\":5,\"family\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":8080,"
		     "\"daddr\":\"127.0.0.2\",\"dport\":40000,\"sk_id\":\"0xffff888104c3b780\","
		     "\"accept_queue\":1,\"queue_max\":4096,\"latency_ns\":370825}\n", "accept json");
	ASSERT_STREQ(print_one(&e, 0),
		     "1234.567890 accept          42/srv fd 5 127.0.0.1:8080 <- 127.0.0.2:40000 "
		     "accept queue 1/4096, waited 370.8 us [tracepoint]\n", "accept text");

	/* IPv6, no fd, an error without a name, a duration on a decimal tie */
	e = make(ST_EV_CONNECT_DONE);
	e.family = AF_INET6;
	e.fd = -1;
	e.err = -9999;
	e.latency_ns = 1250;
	inet_pton(AF_INET6, "2001:db8::1", e.saddr);
	inet_pton(AF_INET6, "::ffff:10.0.0.1", e.daddr);
	ASSERT_STREQ(print_one(&e, 1),
		     "{\"type\":\"connect_done\",\"time_ns\":1234567890123,\"pid\":42,\"comm\":\"srv\","
		     "\"tier\":\"tracepoint\",\"fd\":-1,\"family\":\"ipv6\",\"saddr\":\"2001:db8::1\",\"sport\":8080,"
		     "\"daddr\":\"::ffff:10.0.0.1\",\"dport\":40000,\"sk_id\":\"0x0\",\"err\":-9999,"
		     "\"latency_ns\":1250}\n", "connect_done json");
	ASSERT_STREQ(print_one(&e, 0),
		     "1234.567890 connect_done    42/srv [2001:db8::1]:8080 -> [::ffff:10.0.0.1]:40000 "
		     "error -9999 in 1.2 us [tracepoint]\n", "connect_done text");

	/* named flags in bit order, then the bits without a name */
	e = make(ST_EV_EP_WAKEUP);
	e.events = 0x1 | 0x800 | 0x2000 | 0x80000000u;
	ASSERT_TRUE(strstr(print_one(&e, 1),
			   "\"events\":2147493889,\"event_names\":[\"EPOLLIN\",\"EPOLLRDHUP\",\"EPOLLET\",\"0x800\"]}\n") != NULL,
		    "wakeup flag names json");
	ASSERT_STREQ(print_one(&e, 0),
		     "1234.567890 ep_wakeup       42/srv epfd 4 fd 5 EPOLLIN|EPOLLRDHUP|EPOLLET|0x800 "
		     "127.0.0.1:8080 <-> 127.0.0.2:40000 [tracepoint]\n", "wakeup text");

	/* 999.995 ms: the tie printf rounds up */
	e = make(ST_EV_EPOLL_WAIT_DONE);
	e.count = 3;
	e.err = -4;
	e.latency_ns = 999995000;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"epfd\":4,\"family\"") != NULL, "wait_done has no fd");
	ASSERT_STREQ(print_one(&e, 0),
		     "1234.567890 epoll_wait_done 42/srv epfd 4 returned 3 EINTR, 1000.00 ms after the "
		     "first wake-up [tracepoint]\n", "wait_done text");

	/* a lost event per reason: JSON's reason, text's tail */
	static const struct {
		uint8_t why;
		const char *json, *text, *name;
	} lost[] = {
		{ ST_LOST_RING, "ring_full", "events lost (ring buffer full)", "" },
		{ ST_LOST_SKIPPED, "hook_skipped",
		  "hook runs skipped by the kernel (recursion): events lost", ", skipped hook runs" },
		{ ST_LOST_STAGE, "stage", "events lost in socktrace's per-CPU stages (a bug)",
		  ", lost in the stages" },
		{ ST_LOST_WALK, "walk_cut",
		  "wake-ups not followed to every epoll instance (more watch the socket than "
		  "socktrace walks): ep_wakeup events may be lost",
		  ", wake-up walks cut" },
	};
	for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
		char want[256], name[64];

		e = make(ST_EV_LOST);
		e.count = 7;
		e.old_state = lost[i].why;
		snprintf(want, sizeof(want),
			 "{\"type\":\"lost\",\"time_ns\":1234567890123,\"pid\":42,\"comm\":\"srv\","
			 "\"count\":7,\"reason\":\"%s\"}\n", lost[i].json);
		snprintf(name, sizeof(name), "lost json%s", lost[i].name);
		ASSERT_STREQ(print_one(&e, 1), want, name);
		snprintf(want, sizeof(want), "1234.567890 lost            42/srv 7 %s\n", lost[i].text);
		snprintf(name, sizeof(name), "lost text%s", lost[i].name);
		ASSERT_STREQ(print_one(&e, 0), want, name);
	}

	/* out-of-range state and tier */
	e = make(ST_EV_STATE);
	e.time_ns = 0;
	e.old_state = 1;
	e.new_state = 200;
	e.tier = 9;
	ASSERT_STREQ(print_one(&e, 0),
		     "0.000000 state           42/srv fd 5 127.0.0.1:8080 <-> 127.0.0.2:40000 "
		     "ESTABLISHED -> UNKNOWN [none]\n", "state text");
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"tier\":\"none\"") != NULL, "unknown tier json");
}

/* The text printer rounds durations with integers: same digits as
 * st_duration_format() on both sides of every rounding boundary. */
static void test_text_durations(void)
{
	static const uint64_t ns[] = {
		0, 999, 1000, 1049, 1050, 1051, 1150, 1250, 1350, 99950, 999949, 999950, 999999,
		1000000, 1004999, 1005000, 1015000, 999994999, 999995000, 1000000000, 1005000000,
		1015000000, 123456789012345ull, 999999999999999ull, 1000000000000000ull,
		18446744073709551615ull,
	};
	char dur[32], want[64], *line;

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		struct st_event e = make(ST_EV_ACCEPT);

		e.latency_ns = ns[i];
		snprintf(want, sizeof(want), ", waited %s [", st_duration_format(dur, sizeof(dur), ns[i]));
		line = print_one(&e, 0);
		if (!ASSERT_TRUE(strstr(line, want) != NULL, "duration as st_duration_format()"))
			fprintf(stderr, "  %llu ns: want '%s' in %s", (unsigned long long)ns[i], want, line);
	}
}

/* The longest lines stay far from the printers' 1 KiB line buffer. */
static void test_longest_lines(void)
{
	for (unsigned int t = 1; t < ST_EV_TYPE_COUNT; t++) {
		struct st_event e;

		memset(&e, 0xff, sizeof(e));
		e.type = t;
		e.family = AF_INET6;
		e.fd = e.epfd = e.err = -2147483647 - 1;
		e.old_state = e.new_state = 13;
		memset(e.comm, 0x01, sizeof(e.comm));
		ASSERT_TRUE(strlen(print_one(&e, 1)) < 700, "longest json line");
		ASSERT_TRUE(strlen(print_one(&e, 0)) < 500, "longest text line");
	}
}

/* The JSON printer keeps a thread's pid, tid and name as text and the
 * time's digits above the millisecond from line to line: what it prints is
 * still each event's own, when they change, when times go back, and (as
 * for a socket address reused) when only part of an event changes. */
static void test_json_kept_parts(void)
{
	static const uint64_t times[] = {
		1234567890123ull, 1234567890999ull, 1234567999999ull, 1234568000000ull,
		1234566000001ull, 999999ull, 1000000ull, 0, 1000001ull, 18446744073709551615ull,
		1234567890123ull,
	};
	struct st_event e = make(ST_EV_STATE);
	char want[64];

	e.sk_id = 0xffff888100001000ull;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"sport\":8080,\"daddr\":\"127.0.0.2\","
				      "\"dport\":40000,\"sk_id\":\"0xffff888100001000\"") != NULL,
		    "tuple, first line");
	/* the same address, a later socket there */
	e.dport = 40001;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"dport\":40001,") != NULL, "tuple, other port");
	inet_pton(AF_INET, "10.0.0.9", e.daddr);
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"daddr\":\"10.0.0.9\"") != NULL,
		    "tuple, other address");
	e.sport = 9;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"sport\":9,") != NULL, "tuple, other local port");
	/* another socket in the same slot or not, then back */
	e.sk_id = 0xffff888100002000ull;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"sk_id\":\"0xffff888100002000\"") != NULL,
		    "tuple, other socket");
	e.sk_id = 0xffff888100001000ull;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"sk_id\":\"0xffff888100001000\"") != NULL,
		    "tuple, first socket again");
	e.family = AF_INET6;
	inet_pton(AF_INET6, "::1", e.saddr);
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"family\":\"ipv6\",\"saddr\":\"::1\"") != NULL,
		    "tuple, the socket as IPv6");
	e.tid = 43;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"pid\":42,\"tid\":43,\"comm\":\"srv\"") != NULL,
		    "head, a thread");
	e.tid = 51; /* the same slot as 43 */
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"pid\":42,\"tid\":51,\"comm\":\"srv\"") != NULL,
		    "head, another thread");
	memcpy(e.comm, "srv2", 4);
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"tid\":51,\"comm\":\"srv2\"") != NULL,
		    "head, renamed");
	e.pid = 7;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"pid\":7,\"tid\":51,") != NULL, "head, other pid");
	e.tid = 0;
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"pid\":7,\"comm\":\"srv2\"") != NULL,
		    "head, no thread");
	memcpy(e.comm, "a\"b", 4);
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"comm\":\"a\\\"b\"") != NULL, "head, escaped name");
	ASSERT_TRUE(strstr(print_one(&e, 1), "\"comm\":\"a\\\"b\"") != NULL,
		    "head, escaped name again");
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		e.time_ns = times[i];
		snprintf(want, sizeof(want), "\"time_ns\":%llu,", (unsigned long long)times[i]);
		ASSERT_TRUE(strstr(print_one(&e, 1), want) != NULL, "time_ns digits");
	}
}

int main(void)
{
	test_every_type();
	test_fields();
	test_addresses_in_turn();
	test_hostile_comm();
	test_exact_lines();
	test_text_durations();
	test_longest_lines();
	test_json_kept_parts();
	return UNIT_DONE("events_print");
}
