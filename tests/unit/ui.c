/* Unit tests for the terminal-free UI logic: navigation, the filtered and
 * sorted rows, gauges, sparklines, row texts (escaped) and wrapping. */
#include <arpa/inet.h>
#include <stdlib.h>
#include "format.h"
#include "view.h"
#include "unit.h"

static void test_gauge(void)
{
	char g[32];

	ASSERT_EQ(st_gauge_cells(0, 8, 8), 0, "empty");
	ASSERT_EQ(st_gauge_cells(1, 8, 8), 1, "one");
	ASSERT_EQ(st_gauge_cells(1, 128, 8), 1, "one of 128 still shows");
	ASSERT_EQ(st_gauge_cells(4, 8, 8), 4, "half");
	ASSERT_EQ(st_gauge_cells(7, 8, 8), 7, "seven");
	ASSERT_EQ(st_gauge_cells(8, 8, 8), 8, "full");
	ASSERT_EQ(st_gauge_cells(9, 8, 8), 8, "over the limit stays in the box");
	ASSERT_EQ(st_gauge_cells(1, 0, 8), 8, "backlog 0 with one waiting");
	ASSERT_EQ(st_gauge_cells(5, 8, 0), 0, "no width");
	ASSERT_STREQ(st_gauge_format(g, sizeof(g), 3, 6, 8), "[###   ]", "gauge text");
	ASSERT_STREQ(st_gauge_format(g, sizeof(g), 9, 8, 8), "[######]", "gauge full");
	ASSERT_STREQ(st_gauge_format(g, 4, 9, 8, 8), "", "buffer too small: empty");
}

static void test_sparkline(void)
{
	uint16_t ring[8] = { 0, 1, 2, 4, 8, 9, 0, 0 };
	char s[128];

	/* 6 samples in a ring of 8, head at 6: oldest 0 ... newest 9 */
	ASSERT_STREQ(st_sparkline(s, sizeof(s), ring, 8, 6, 6, 6, 9, 0), "_.:-*#", "ascii levels");
	ASSERT_STREQ(st_sparkline(s, sizeof(s), ring, 8, 6, 6, 8, 9, 0), "  _.:-*#",
		     "older than the history is blank");
	ASSERT_STREQ(st_sparkline(s, sizeof(s), ring, 8, 6, 6, 3, 9, 0), "-*#", "newest at right");
	ASSERT_STREQ(st_sparkline(s, sizeof(s), ring, 8, 6, 6, 2, 9, 1), "\u2587\u2588",
		     "utf8 blocks");
	/* wrap-around: head 2, 8 samples: ring[2..7] then ring[0..1] */
	ASSERT_STREQ(st_sparkline(s, sizeof(s), ring, 8, 2, 8, 8, 9, 0), ":-*#___.", "ring wraps");
	ASSERT_STREQ(st_sparkline(s, 3, ring, 8, 6, 6, 6, 9, 1), "", "no room for a block");
	ASSERT_STREQ(st_sparkline(s, 4, ring, 8, 6, 6, 6, 9, 1), "\u2581", "room for one block");
	ASSERT_STREQ(st_sparkline(s, sizeof(s), ring, 8, 6, 6, 2, 0, 0), "##", "max 0 treated as 1");
}

static void test_list_view(void)
{
	struct list_view lv = {};

	list_view__set(&lv, 100, 10, 1);
	ASSERT_EQ(list_view__visible(&lv), 10, "visible");
	list_view__move(&lv, 15);
	ASSERT_EQ(lv.selected, 15, "moved down");
	ASSERT_EQ(lv.top, 6, "scrolled to keep selection on the last line");
	list_view__move(&lv, -100);
	ASSERT_EQ(lv.selected, 0, "clamped at top");
	ASSERT_EQ(lv.top, 0, "scrolled to top");
	list_view__end(&lv);
	ASSERT_EQ(lv.selected, 99, "end");
	ASSERT_EQ(lv.top, 90, "end shows the last page");
	list_view__page(&lv, -1);
	ASSERT_EQ(lv.selected, 90, "page up by height - 1");
	list_view__home(&lv);
	list_view__page(&lv, 1);
	ASSERT_EQ(lv.selected, 9, "page down");
	/* the list shrinks under the selection */
	list_view__end(&lv);
	list_view__set(&lv, 5, 10, 1);
	ASSERT_EQ(lv.selected, 4, "selection clamped to the new end");
	ASSERT_EQ(lv.top, 0, "no blank space above");
	/* two lines per item */
	list_view__set(&lv, 10, 5, 2);
	ASSERT_EQ(list_view__visible(&lv), 2, "two-line items");
	list_view__move(&lv, 4);
	ASSERT_EQ(lv.selected, 8, "moved");
	ASSERT_EQ(lv.top, 7, "two-line scroll");
	list_view__set(&lv, 0, 5, 1);
	list_view__move(&lv, 1);
	ASSERT_EQ(lv.selected, 0, "empty list");
}

static void test_filter(void)
{
	ASSERT_TRUE(st_filter_match("accept_overflow fd 3", ""), "empty filter");
	ASSERT_TRUE(st_filter_match("accept_overflow fd 3", NULL), "no filter");
	ASSERT_TRUE(st_filter_match("accept_overflow fd 3", "OVERFLOW"), "case-insensitive");
	ASSERT_TRUE(st_filter_match("ep_wakeup", "accept,wakeup"), "any word");
	ASSERT_TRUE(st_filter_match("ep_wakeup", "accept wakeup"), "space separated");
	ASSERT_TRUE(!st_filter_match("connect", "accept,wakeup"), "no word matches");
	ASSERT_TRUE(st_filter_match("x", " , "), "separators only");
}

struct rows_ctx {
	const char *const *names;
	const int *vals;
};

static void rows_text(void *arg, size_t i, char *buf, size_t len)
{
	struct rows_ctx *c = arg;

	snprintf(buf, len, "%s", c->names[i]);
}

static int rows_cmp(void *arg, size_t a, size_t b, int key)
{
	struct rows_ctx *c = arg;

	if (key == 1)
		return c->vals[a] < c->vals[b] ? 1 : c->vals[a] > c->vals[b] ? -1 : 0;
	return strcmp(c->names[a], c->names[b]);
}

static void test_rows(void)
{
	static const char *const names[] = { "tcp b", "pipe", "tcp a", "udp", "tcp c" };
	static const int vals[] = { 5, 0, 9, 5, 1 };
	struct rows_ctx c = { names, vals };
	struct st_rows r = {};

	ASSERT_EQ(st_rows__build(&r, 5, &c, rows_text, "", NULL, 0), 0, "build");
	ASSERT_EQ(r.n, 5, "all rows");
	ASSERT_EQ(r.idx[3], 3, "source order");
	st_rows__build(&r, 5, &c, rows_text, "tcp", rows_cmp, 0);
	ASSERT_EQ(r.n, 3, "filtered");
	ASSERT_EQ(r.idx[0], 2, "sorted by name: tcp a");
	ASSERT_EQ(r.idx[2], 4, "sorted by name: tcp c");
	st_rows__build(&r, 5, &c, rows_text, NULL, rows_cmp, 1);
	ASSERT_EQ(r.idx[0], 2, "largest first");
	ASSERT_EQ(r.idx[1], 0, "ties keep source order (0 before 3)");
	ASSERT_EQ(r.idx[2], 3, "tie second");
	st_rows__build(&r, 5, &c, rows_text, "nothing", rows_cmp, 1);
	ASSERT_EQ(r.n, 0, "nothing matches");
	st_rows__free(&r);
	st_rows__free(NULL);
}

static struct st_fd mkfd(int fd, unsigned int kind, unsigned int state, const char *laddr,
			 uint16_t lport, uint32_t rxq)
{
	struct st_fd f = { .fd = fd, .kind = kind, .state = state, .rx_queue = rxq };

	f.local.family = AF_INET;
	inet_pton(AF_INET, laddr, f.local.addr);
	f.local.port = lport;
	f.remote.family = AF_INET;
	return f;
}

static void test_sorting(void)
{
	struct st_fd a = mkfd(3, ST_FD_TCP, 10, "127.0.0.1", 80, 0);
	struct st_fd b = mkfd(4, ST_FD_TCP, 1, "127.0.0.1", 8080, 100);
	struct st_fd p = mkfd(5, ST_FD_PIPE, 0, "0.0.0.0", 0, 0);
	struct st_listener_stats x = { .fd = 3, .accept_queue = 9, .accept_max = 8, .drops = 1 };
	struct st_listener_stats y = { .fd = 4, .accept_queue = 100, .accept_max = 1024, .drops = 50 };

	ASSERT_TRUE(st_fd_compare(&a, &b, ST_FD_SORT_FD) < 0, "by fd");
	ASSERT_TRUE(st_fd_compare(&b, &a, ST_FD_SORT_RXQ) < 0, "rx queue: largest first");
	ASSERT_TRUE(st_fd_compare(&b, &a, ST_FD_SORT_STATE) < 0, "ESTABLISHED < LISTEN");
	ASSERT_TRUE(st_fd_compare(&a, &b, ST_FD_SORT_LOCAL) < 0, "local port 80 < 8080");
	ASSERT_TRUE(st_fd_compare(&p, &a, ST_FD_SORT_TYPE) < 0, "pipe < tcp");
	ASSERT_TRUE(st_fd_compare(&a, &a, ST_FD_SORT_TYPE) == 0, "equal");
	ASSERT_STREQ(st_fd_sort_name(ST_FD_SORT_RXQ), "rx-q", "sort name");
	ASSERT_STREQ(st_fd_sort_name(99), "?", "bad sort name");
	ASSERT_TRUE(st_listener_compare(&x, &y, ST_LISTENER_SORT_FILL) < 0, "fullest first");
	ASSERT_TRUE(st_listener_compare(&y, &x, ST_LISTENER_SORT_DROPS) < 0, "most drops first");
	ASSERT_TRUE(st_listener_compare(&x, &y, ST_LISTENER_SORT_FD) < 0, "by fd");
	ASSERT_STREQ(st_listener_sort_name(ST_LISTENER_SORT_FILL), "fill", "listener sort name");
}

static void test_rows_text(void)
{
	struct st_fd f = mkfd(7, ST_FD_TCP, 1, "10.0.0.1", 5000, 12);
	struct st_event e = { .time_ns = 3500000000ull, .type = ST_EV_ACCEPT, .fd = 9,
			      .family = AF_INET, .sport = 8080, .dport = 40000,
			      .latency_ns = 1500000 };
	char buf[512], hdr[512];

	st_fd_row(buf, sizeof(buf), &f, 20);
	ASSERT_TRUE(strstr(buf, "    7 tcp     ESTABLISHED 10.0.0.1:5000") == buf, "fd row start");
	ASSERT_TRUE(strstr(buf, "     12       0") != NULL, "queues");
	st_fd_header(hdr, sizeof(hdr), 20);
	ASSERT_EQ(strlen(hdr), strlen(buf), "header as wide as a row");

	f = mkfd(8, ST_FD_FILE, 0, "0.0.0.0", 0, 0);
	f.path = "/tmp/\x1b]0;pwned\x07";
	st_fd_row(buf, sizeof(buf), &f, 20);
	ASSERT_TRUE(strchr(buf, '\x1b') == NULL, "no raw ESC in a path");
	ASSERT_TRUE(strstr(buf, "/tmp/\\x1b]0;pwned\\x07") != NULL, "path escaped");

	inet_pton(AF_INET, "127.0.0.1", e.saddr);
	inet_pton(AF_INET, "127.0.0.1", e.daddr);
	memcpy(e.comm, "evil\x1b[2J\x9b", 10);
	st_event_row(buf, sizeof(buf), &e, 1000000000ull);
	ASSERT_TRUE(strstr(buf, "   +2.500 accept") == buf, "event time and type");
	ASSERT_TRUE(strstr(buf, "127.0.0.1:8080 <> 127.0.0.1:40000") != NULL, "event addresses");
	ASSERT_TRUE(strstr(buf, "waited 1.50 ms") != NULL, "accept wait");
	ASSERT_TRUE(strchr(buf, '\x1b') == NULL && !strchr(buf, '\x9b'), "no raw control bytes");
	ASSERT_TRUE(strstr(buf, "evil\\x1b[2J\\x9b") != NULL, "comm escaped");

	e = (struct st_event){ .time_ns = 1000000000ull, .type = ST_EV_LOST, .count = 12 };
	st_event_row(buf, sizeof(buf), &e, 1000000000ull);
	ASSERT_TRUE(strstr(buf, "12 events lost") != NULL, "lost row");
	e = (struct st_event){ .time_ns = 0, .type = ST_EV_ACCEPT_OVERFLOW, .queue_len = 9,
			       .queue_max = 8, .sport = 8080, .family = AF_INET };
	st_event_row(buf, sizeof(buf), &e, 1000000000ull);
	ASSERT_TRUE(strstr(buf, "-1.000 accept_overflow") != NULL, "before base: negative");
	ASSERT_TRUE(strstr(buf, "queue 9/8") != NULL, "queue depth in the row");
	e.fd = -1;
	st_event_row(buf, sizeof(buf), &e, 0);
	ASSERT_TRUE(strstr(buf, "accept_overflow fd -   0.0.0.0:8080") != NULL, "no fd: a dash");
	st_event_row(buf, 16, &e, 0);
	ASSERT_EQ(strlen(buf), 15, "row truncated to buffer");
}

struct wrap_out {
	char lines[16][64];
	int n;
};

static void wrap_line(const char *s, int n, void *arg)
{
	struct wrap_out *w = arg;

	if (w->n < 16)
		snprintf(w->lines[w->n++], 64, "%.*s", n, s);
}

static void test_wrap(void)
{
	struct wrap_out w = {};

	ASSERT_EQ(st_wrap("the accept queue is full\n\nraise the backlog", 10, wrap_line, &w), 6,
		  "lines");
	ASSERT_STREQ(w.lines[0], "the accept", "break at space");
	ASSERT_STREQ(w.lines[1], "queue is", "second");
	ASSERT_STREQ(w.lines[2], "full", "before newline");
	ASSERT_STREQ(w.lines[3], "", "blank line kept");
	ASSERT_STREQ(w.lines[4], "raise the", "after blank");
	ASSERT_STREQ(w.lines[5], "backlog", "last");
	memset(&w, 0, sizeof(w));
	ASSERT_EQ(st_wrap("abcdefghijkl", 5, wrap_line, &w), 3, "long word split");
	ASSERT_STREQ(w.lines[2], "kl", "split rest");
}

int main(void)
{
	test_gauge();
	test_sparkline();
	test_list_view();
	test_filter();
	test_rows();
	test_sorting();
	test_rows_text();
	test_wrap();
	return UNIT_DONE("ui");
}
