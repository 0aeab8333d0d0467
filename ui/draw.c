// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The panels and their drawing: everything that talks to ncurses but the
 * loop. Each panel is a list view behind struct tui_panel_ops. */
#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "format.h"
#include "tui.h"
#include "util.h"

enum {
	PAIR_OK = 1,
	PAIR_FILLING,
	PAIR_FULL,
	PAIR_TITLE,
	PAIR_BANNER,
	PAIR_READY,
	PAIR_DIM,
};

void tui_colors_init(struct tui *t)
{
	const char *nc = getenv("NO_COLOR");

	/* https://no-color.org: any non-empty value turns colour off */
	t->color = has_colors() && !(nc && *nc);
	if (!t->color)
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_OK, COLOR_GREEN, -1);
	init_pair(PAIR_FILLING, COLOR_YELLOW, -1);
	init_pair(PAIR_FULL, COLOR_RED, -1);
	init_pair(PAIR_TITLE, COLOR_CYAN, -1);
	init_pair(PAIR_BANNER, COLOR_WHITE, COLOR_RED);
	init_pair(PAIR_READY, COLOR_BLACK, COLOR_YELLOW);
	init_pair(PAIR_DIM, COLOR_BLUE, -1);
}

/* Attributes degrade to bold/reverse/underline without colour. */
static attr_t fill_attr(const struct tui *t, enum st_fill f)
{
	switch (f) {
	case ST_FILL_FULL:
		return t->color ? COLOR_PAIR(PAIR_FULL) | A_BOLD : A_BOLD | A_REVERSE;
	case ST_FILL_FILLING:
		return t->color ? COLOR_PAIR(PAIR_FILLING) | A_BOLD : A_BOLD;
	default:
		return t->color ? COLOR_PAIR(PAIR_OK) : A_NORMAL;
	}
}

static attr_t title_attr(const struct tui *t, int focused)
{
	attr_t a = t->color ? COLOR_PAIR(PAIR_TITLE) : A_UNDERLINE;

	return focused ? a | A_BOLD | A_REVERSE : a | A_BOLD;
}

static attr_t banner_attr(const struct tui *t)
{
	return t->color ? COLOR_PAIR(PAIR_BANNER) | A_BOLD : A_REVERSE | A_BOLD;
}

static attr_t ready_attr(const struct tui *t)
{
	return t->color ? COLOR_PAIR(PAIR_READY) | A_BOLD : A_REVERSE;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Writes ASCII s at the cursor, at most up to column maxx. */
/* Horizontal rules as characters rather than ACS: line-drawing charset
 * switching is lost when TERM does not match the terminal (vt100 in tmux
 * shows "qqqq"), a UTF-8 box character is not. */
static void rule_h(const struct tui *t, int y, int x, int n)
{
	move(y, x);
	for (int i = 0; i < n; i++)
		addstr(t->utf8 ? "\u2500" : "-");
}

static void put(attr_t a, const char *s, int maxx)
{
	int y, x;

	getyx(stdscr, y, x);
	(void)y;
	if (x >= maxx)
		return;
	attron(a);
	addnstr(s, maxx - x);
	attroff(a);
}

static void putf(attr_t a, int maxx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void putf(attr_t a, int maxx, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(a, buf, maxx);
}

/* Listeners, epoll and fds change with snapshots; the log with events. */
static uint64_t snapshot_version(struct tui *t)
{
	return t->model.snap_count;
}

static uint64_t events_version(struct tui *t)
{
	return t->model.events_total;
}

/* ---- listeners ----------------------------------------------------------- */

static size_t listeners_count(struct tui *t)
{
	return t->model.n_listeners;
}

static void listener_text(void *arg, size_t idx, char *buf, size_t len)
{
	struct tui *t = arg;
	const struct st_listener_stats *l = &t->model.listeners[idx];
	char a[ST_ADDR_STRLEN];

	snprintf(buf, len, "%d %s %u/%u %u/%u drops %u", l->fd,
		 st_addr_format(a, sizeof(a), l->local.family, l->local.addr, l->local.port),
		 l->syn_queue, l->syn_max, l->accept_queue, l->accept_max, l->drops);
}

static int listener_cmp(void *arg, size_t a, size_t b, int key)
{
	struct tui *t = arg;

	return st_listener_compare(&t->model.listeners[a], &t->model.listeners[b], key);
}

static void gauge(struct tui *t, const char *label, uint32_t depth, uint32_t limit, int w,
		  int maxx)
{
	enum st_fill f = st_fill_level(depth, limit);
	char g[32];

	put(A_NORMAL, label, maxx);
	put(fill_attr(t, f), st_gauge_format(g, sizeof(g), depth, limit, w), maxx);
	putf(fill_attr(t, f), maxx, " %3u/%-4u", depth, limit);
}

static void listener_draw(struct tui *t, size_t idx, int y, int width, int selected)
{
	const struct st_listener_stats *l = &t->model.listeners[idx];
	struct st_model *m = &t->model;
	char a[ST_ADDR_STRLEN], d1[32], d2[32], spark[ST_MODEL_HIST * 3 + 1];
	int flash, spark_w;
	uint32_t hmax = l->accept_max + 1;

	move(y, 0);
	putf(selected ? A_REVERSE : A_NORMAL, width, "%4d ", l->fd);
	putf(A_BOLD, width, "%-22.22s ",
	     st_addr_format(a, sizeof(a), l->local.family, l->local.addr, l->local.port));
	gauge(t, "SYN ", l->syn_queue, l->syn_max, 8, width);
	gauge(t, " ACCEPT ", l->accept_queue, l->accept_max, 8, width);
	if (st_fill_level(l->accept_queue, l->accept_max) == ST_FILL_FULL)
		put(fill_attr(t, ST_FILL_FULL), " FULL", width);

	move(y + 1, 0);
	flash = l->drops_changed_ns && m->now_ns - l->drops_changed_ns < ST_MODEL_FLASH_NS;
	put(A_NORMAL, "     drops ", width);
	putf(flash ? fill_attr(t, ST_FILL_FULL) | A_REVERSE : A_BOLD, width, "%u", l->drops);
	if (flash)
		putf(fill_attr(t, ST_FILL_FULL), width, " +%u", l->drops_last_delta);
	else if (l->drops_changed_ns)
		putf(A_NORMAL, width, " (%s ago)",
		     st_duration_format(d1, sizeof(d1), m->now_ns - l->drops_changed_ns));
	put(A_NORMAL, "  history ", width);
	spark_w = clampi(16 + (width - 80), 16, ST_MODEL_HIST);
	if (hmax < 2)
		hmax = 2;
	st_sparkline(spark, sizeof(spark), l->hist, ST_MODEL_HIST, l->hist_head, l->hist_len,
		     spark_w, hmax, t->utf8);
	{
		int cy, cx;

		getyx(stdscr, cy, cx);
		(void)cy;
		if (cx + spark_w <= width) {
			attron(fill_attr(t, st_fill_level(l->accept_queue, l->accept_max)));
			addstr(spark);
			attroff(fill_attr(t, st_fill_level(l->accept_queue, l->accept_max)));
		}
	}
	if (l->wait_count)
		putf(A_NORMAL, width, "  wait p50 %s p99 %s",
		     st_duration_format(d1, sizeof(d1), l->wait_p50_ns),
		     st_duration_format(d2, sizeof(d2), l->wait_p99_ns));
	else
		put(A_NORMAL, "  wait -", width);
	if (l->accepts)
		putf(A_NORMAL, width, "  %.0f acc/s", l->accepts_per_s);
}

/* ---- epoll ---------------------------------------------------------------- */

static size_t epoll_count(struct tui *t)
{
	return t->model.n_epolls;
}

static void epoll_text(void *arg, size_t idx, char *buf, size_t len)
{
	struct tui *t = arg;
	const struct st_epoll_stats *e = &t->model.epolls[idx];

	snprintf(buf, len, "epoll %d watch %zu ready %zu", e->fd, e->n_interest, e->n_ready);
}

static int is_ready(const struct st_epoll *e, int32_t fd)
{
	for (size_t i = 0; i < e->n_ready; i++)
		if (e->ready[i].fd == fd)
			return 1;
	return 0;
}

static void epoll_draw(struct tui *t, size_t idx, int y, int width, int selected)
{
	const struct st_epoll_stats *e = &t->model.epolls[idx];
	const struct st_epoll *se = idx < t->model.snap.n_epolls ? &t->model.snap.epolls[idx] : NULL;

	move(y, 0);
	putf(selected ? A_REVERSE : A_NORMAL, width, "%4d ", e->fd);
	putf(A_NORMAL, width, "watch %-5zu ready ", e->n_interest);
	putf(e->n_ready ? ready_attr(t) : A_NORMAL, width, "%-3zu", e->n_ready);
	putf(A_NORMAL, width, " wake %5.0f/s ret %5.0f/s", e->wakeups_per_s, e->returns_per_s);
	if (e->wake_count) {
		char d[32];

		putf(A_NORMAL, width, " p99 %s", st_duration_format(d, sizeof(d), e->wake_p99_ns));
	}
	put(A_NORMAL, "  fds:", width);
	if (!se)
		return;
	for (size_t i = 0; i < se->n_interest; i++) {
		int cy, cx, r = is_ready(se, se->interest[i].fd);
		char num[16];

		getyx(stdscr, cy, cx);
		(void)cy;
		snprintf(num, sizeof(num), "%d%s", se->interest[i].fd, r ? "*" : "");
		if (cx + (int)strlen(num) + 5 > width) {
			putf(A_NORMAL, width, " +%zu", se->n_interest - i);
			break;
		}
		put(A_NORMAL, " ", width);
		put(r ? ready_attr(t) : A_NORMAL, num, width);
	}
}

/* ---- fd table -------------------------------------------------------------- */

static size_t fds_count(struct tui *t)
{
	return t->model.snap.n_fds;
}

static void fd_text(void *arg, size_t idx, char *buf, size_t len)
{
	struct tui *t = arg;

	st_fd_row(buf, len, &t->model.snap.fds[idx], t->addr_width);
}

static int fd_cmp(void *arg, size_t a, size_t b, int key)
{
	struct tui *t = arg;

	return st_fd_compare(&t->model.snap.fds[a], &t->model.snap.fds[b], key);
}

static const char *fd_header(struct tui *t, char *buf, size_t len)
{
	return st_fd_header(buf, len, t->addr_width);
}

/* ---- event log ------------------------------------------------------------- */

static size_t events_count(struct tui *t)
{
	return t->model.log_len;
}

static void event_text(void *arg, size_t idx, char *buf, size_t len)
{
	struct tui *t = arg;
	const struct st_event *e = st_model__log_get(&t->model, idx);

	if (e)
		st_event_row(buf, len, e, t->base_ns);
	else
		buf[0] = '\0';
}

const struct tui_panel_ops tui_panel_ops[TUI_PANEL_COUNT] = {
	[TUI_LISTENERS] = {
		.title = "Listeners",
		.item_lines = 2,
		.count = listeners_count,
		.row_text = listener_text,
		.draw_row = listener_draw,
		.version = snapshot_version,
		.compare = listener_cmp,
		.source_sorted_by = ST_LISTENER_SORT_FD,
		.n_sorts = ST_LISTENER_SORT_COUNT,
		.sort_name = st_listener_sort_name,
	},
	[TUI_EPOLL] = {
		.title = "Epoll (ready fds marked *)",
		.item_lines = 1,
		.count = epoll_count,
		.row_text = epoll_text,
		.draw_row = epoll_draw,
		.version = snapshot_version,
		.source_sorted_by = -1,
	},
	[TUI_FDS] = {
		.title = "File descriptors",
		.item_lines = 1,
		.count = fds_count,
		.row_text = fd_text,
		.header = fd_header,
		.version = snapshot_version,
		.compare = fd_cmp,
		.source_sorted_by = ST_FD_SORT_FD,
		.n_sorts = ST_FD_SORT_COUNT,
		.sort_name = st_fd_sort_name,
	},
	[TUI_EVENTS] = {
		.title = "Events (newest first)",
		.item_lines = 1,
		.count = events_count,
		.row_text = event_text,
		.version = events_version,
		.source_sorted_by = -1,
	},
};

/* ---- layout and frame ------------------------------------------------------ */

#define HEADER_LINES 3
#define MIN_COLS 80
#define MIN_LINES 24

void tui_layout(struct tui *t)
{
	int avail, lh, eh, rest, fh, y;
	struct tui_panel *p = t->panels;

	t->too_small = COLS < MIN_COLS || LINES < MIN_LINES;
	t->addr_width = clampi((COLS - 43) / 2, 15, 46);
	if (t->too_small)
		return;
	avail = LINES - HEADER_LINES - 1;
	lh = 1 + 2 * clampi((int)t->model.n_listeners, 1, 3);
	eh = 1 + clampi((int)t->model.n_epolls, 1, 3);
	rest = avail - lh - eh;
	if (t->focus == TUI_FDS)
		fh = rest * 2 / 3;
	else if (t->focus == TUI_EVENTS)
		fh = rest / 3;
	else
		fh = rest / 2;
	y = HEADER_LINES;
	p[TUI_LISTENERS].y = y; p[TUI_LISTENERS].h = lh; y += lh;
	p[TUI_EPOLL].y = y; p[TUI_EPOLL].h = eh; y += eh;
	p[TUI_FDS].y = y; p[TUI_FDS].h = fh; y += fh;
	p[TUI_EVENTS].y = y; p[TUI_EVENTS].h = rest - fh;
}

void tui_panels_refresh(struct tui *t)
{
	for (int i = 0; i < TUI_PANEL_COUNT; i++) {
		struct tui_panel *p = &t->panels[i];
		const struct tui_panel_ops *o = p->ops;
		int rows_h = p->h - 1 - (o->header ? 1 : 0);

		uint64_t version = o->version(t);

		if (p->built_gen != version || p->built_sort != p->sort ||
		    strcmp(p->built_filter, p->filter)) {
			/* snapshots come in fd order: no sort needed for that */
			st_row_cmp_fn cmp = p->sort == o->source_sorted_by ? NULL : o->compare;

			st_rows__build(&p->rows, o->count(t), t, o->row_text, p->filter, cmp,
				       p->sort);
			p->built_gen = version;
			p->built_sort = p->sort;
			memcpy(p->built_filter, p->filter, sizeof(p->filter));
		}
		list_view__set(&p->lv, p->rows.n, rows_h > 0 ? rows_h : 0, o->item_lines);
	}
}

static const char *tier_short(unsigned int tier)
{
	switch (tier) {
	case ST_TIER_FENTRY: return "fentry";
	case ST_TIER_KPROBE: return "kprobe";
	case ST_TIER_TRACEPOINT: return "tp";
	default: return "-";
	}
}

/* Short labels for the header, by enum st_hook (the full names and the
 * reasons are in --probe). */
static const char *const hook_short[ST_HOOK_COUNT] = {
	[ST_HOOK_CONNECT] = "connect",	   [ST_HOOK_ACCEPT] = "accept",
	[ST_HOOK_SYN_QUEUE] = "synq",	   [ST_HOOK_ACCEPT_QUEUE] = "acceptq",
	[ST_HOOK_EPOLL] = "epoll",	   [ST_HOOK_STATE] = "state",
};

/* Before the hooks (whose line a narrow terminal cuts), where the kernel
 * leaves kprobe skips uncounted; the whole story is ST_KPROBE_GAP_MSG,
 * printed by --events and recording */
#define KPROBE_GAP_SHORT "kprobe skips uncounted (kernel < 6.7)  "

static void draw_header(struct tui *t)
{
	struct st_model *m = &t->model;
	char comm[4 * ST_COMM_LEN + 1], line[512];
	const struct st_hook_status *hooks = NULL;

	move(0, 0);
	st_term_escape(comm, sizeof(comm), m->comm, strnlen(m->comm, ST_COMM_LEN));
	put(A_BOLD, "socktrace", COLS);
	putf(A_NORMAL, COLS, "  pid %u ", m->pid);
	putf(A_BOLD, COLS, "%s", comm);
	putf(A_NORMAL, COLS, "  events %.0f/s", m->events_per_s);
	{
		/* the ring's own count covers losses before a lost record
		 * could be delivered */
		uint64_t lost = m->events_lost;

		if (t->events && event_source__lost(t->events) > lost)
			lost = event_source__lost(t->events);
		putf(lost ? fill_attr(t, ST_FILL_FULL) : A_NORMAL, COLS, " lost %llu",
		     (unsigned long long)lost);
	}
	if (t->replay) {
		uint64_t rt = 0;
		time_t secs;
		struct tm tm;
		char ts[64];

		if (t->trace_hdr && m->now_ns >= t->trace_hdr->start_mono_ns)
			rt = t->trace_hdr->start_realtime_ns + (m->now_ns - t->trace_hdr->start_mono_ns);
		secs = (time_t)(rt / 1000000000ull);
		localtime_r(&secs, &tm);
		strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
		putf(A_BOLD, COLS, "  REPLAY %s.%03u +%.1fs x%g", ts,
		     (unsigned int)(rt / 1000000 % 1000),
		     m->now_ns > t->base_ns ? (m->now_ns - t->base_ns) / 1e9 : 0.0, t->speed);
	} else if (t->writer) {
		putf(banner_attr(t), COLS, "  REC %llu ev %llu KB ",
		     (unsigned long long)trace_writer__events(t->writer),
		     (unsigned long long)trace_writer__bytes(t->writer) / 1024);
	} else {
		put(A_NORMAL, "  rec off", COLS);
	}
	if (!t->replay)
		putf(A_NORMAL, COLS, "  %u ms", t->env->interval_ms);
	if (!t->replay && t->snap_period_ns > (uint64_t)t->env->interval_ms * 1000000ull)
		putf(A_NORMAL, COLS, " (snapshots %llu ms)",
		     (unsigned long long)(t->snap_period_ns / 1000000ull));

	move(1, 0);
	if (t->events)
		hooks = event_source__hooks(t->events);
	if (hooks) {
		if (event_source__kprobe_gap(t->events))
			put(fill_attr(t, ST_FILL_FULL), KPROBE_GAP_SHORT, COLS);
		put(A_NORMAL, "hooks:", COLS);
		for (int i = 0; i < ST_HOOK_COUNT; i++)
			putf(hooks[i].tier == ST_TIER_NONE ? fill_attr(t, ST_FILL_FULL) : A_NORMAL,
			     COLS, " %s=%s", hook_short[i], tier_short(hooks[i].tier));
	} else if (t->replay && t->trace_hdr) {
		if (trace_header__kprobe_gap(t->trace_hdr))
			put(fill_attr(t, ST_FILL_FULL), KPROBE_GAP_SHORT, COLS);
		put(A_NORMAL, "recorded with hooks:", COLS);
		for (int i = 0; i < ST_HOOK_COUNT; i++)
			putf(A_NORMAL, COLS, " %s=%s", hook_short[i],
			     tier_short(t->trace_hdr->hook_tier[i]));
	} else {
		putf(t->color ? COLOR_PAIR(PAIR_FILLING) : A_BOLD, COLS,
		     "events off: %s; queues and epoll lists from snapshots only",
		     t->events_why[0] ? t->events_why : "no event source");
	}

	move(2, 0);
	if (m->target_gone) {
		putf(banner_attr(t), COLS, " process %u exited: showing its last state, q quits ",
		     m->pid);
	} else if (t->paused) {
		put(banner_attr(t), t->replay ? " PAUSED (space resumes) " : " PAUSED (p resumes) ",
		    COLS);
	} else if (t->replay_done) {
		put(banner_attr(t), " end of recording (q quits, [ seeks back) ", COLS);
	}
	st_model__headline(m, line, sizeof(line));
	if (line[0]) {
		put(A_NORMAL, " ", COLS);
		put(fill_attr(t, ST_FILL_FULL), "! ", COLS);
		put(A_BOLD, line, COLS);
		put(A_NORMAL, "  (e explains)", COLS);
	} else if (!m->target_gone && !t->paused) {
		put(t->color ? COLOR_PAIR(PAIR_DIM) : A_NORMAL,
		    m->have_snap ? "no overflow seen" : "waiting for the first snapshot", COLS);
	}
}

static void draw_panel(struct tui *t, int id)
{
	struct tui_panel *p = &t->panels[id];
	const struct tui_panel_ops *o = p->ops;
	int y = p->y, focused = t->focus == id;
	size_t vis;
	char buf[1024];

	if (p->h <= 0)
		return;
	move(y, 0);
	attron(title_attr(t, focused));
	printw(" %s (%zu", o->title, p->rows.n);
	if (p->rows.n != o->count(t))
		printw(" of %zu", o->count(t));
	printw(") ");
	attroff(title_attr(t, focused));
	if (o->n_sorts)
		putf(A_NORMAL, COLS, " sort: %s", o->sort_name(p->sort));
	if (p->filter[0]) {
		st_term_escape(buf, sizeof(buf), p->filter, strlen(p->filter));
		putf(A_BOLD, COLS, "  filter: %s", buf);
	}
	{
		int cy, cx;

		getyx(stdscr, cy, cx);
		(void)cy;
		if (cx < COLS - 1) {
			put(A_NORMAL, " ", COLS);
			rule_h(t, y, cx + 1, COLS - cx - 1);
		}
	}
	y++;
	if (o->header) {
		move(y, 0);
		put(A_UNDERLINE, o->header(t, buf, sizeof(buf)), COLS);
		y++;
	}
	vis = list_view__visible(&p->lv);
	if (!p->rows.n) {
		move(y, 0);
		put(t->color ? COLOR_PAIR(PAIR_DIM) : A_NORMAL,
		    p->filter[0] ? "   (nothing matches the filter)" : "   (none)", COLS);
		return;
	}
	for (size_t i = 0; i < vis && p->lv.top + i < p->rows.n; i++) {
		size_t row = p->lv.top + i;
		size_t idx = p->rows.idx[row];
		int sel = focused && row == p->lv.selected;
		int ry = y + (int)i * o->item_lines;

		if (o->draw_row) {
			o->draw_row(t, idx, ry, COLS, sel);
		} else {
			o->row_text(t, idx, buf, sizeof(buf));
			move(ry, 0);
			put(sel ? A_REVERSE : A_NORMAL, buf, COLS);
		}
	}
}

static const char *const help_lines[] = {
	"  q           quit (Ctrl-C too)",
	"  ?           this help",
	"  Tab, S-Tab  next / previous panel",
	"  Up, Down    move in the panel (k/j too)",
	"  PgUp, PgDn  page; Home/End (g/G) first/last",
	"  s           sort the panel by the next key",
	"  /           filter the panel (words, any matches)",
	"  Esc         clear the filter / close a popup",
	"  e           explain the selected listener or epoll fd",
	"  p           pause / resume the display",
	"  w           start / stop recording to a trace file",
	"  r           take a snapshot now",
	"",
	"  replay      space pause, + - speed, n step, ] [ seek 10 s",
	"",
	"Gauges show depth/limit: green below half, yellow filling, red FULL.",
	"drops is the listener's sk_drops (SYNs and ACKs dropped on overflow);",
	"it flashes when it moves. * marks fds on an epoll ready list.",
};

struct box {
	int y, x, w, h, row;
};

static void box_line(const char *s, int n, void *arg)
{
	struct box *b = arg;

	if (b->row > b->h)
		return;
	mvaddnstr(b->y + 1 + b->row, b->x + 2, s, n < b->w - 4 ? n : b->w - 4);
	b->row++;
}

static void draw_box(struct tui *t, const char *title, const char *text)
{
	struct box b;
	int h = LINES - 2;

	b.w = COLS - 4 > 80 ? 80 : COLS - 4;
	b.x = (COLS - b.w) / 2;
	b.y = 1;
	for (int y = 0; y < h; y++)
		mvhline(b.y + y, b.x, ' ', b.w);
	attron(A_BOLD);
	rule_h(t, b.y, b.x, b.w);
	rule_h(t, b.y + h - 1, b.x, b.w);
	for (int y = 0; y < h; y++) {
		mvaddstr(b.y + y, b.x, t->utf8 ? "\u2502" : "|");
		mvaddstr(b.y + y, b.x + b.w - 1, t->utf8 ? "\u2502" : "|");
	}
	mvprintw(b.y, b.x + 2, " %s ", title);
	attroff(A_BOLD);
	/* text past the box's last line is cut: the box is most of the screen */
	b.row = 1;
	b.h = h - 3;
	st_wrap(text, b.w - 4, box_line, &b);
	mvaddstr(b.y + h - 1, b.x + 2, " Esc or q closes ");
}

static void draw_popup(struct tui *t)
{
	char text[4096];
	size_t o = 0;

	if (t->popup == TUI_POPUP_HELP) {
		for (size_t i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]); i++)
			o += snprintf(text + o, sizeof(text) - o, "%s\n", help_lines[i]);
		draw_box(t, "socktrace keys", text);
	} else if (t->popup == TUI_POPUP_EXPLAIN) {
		struct tui_panel *p = &t->panels[t->focus];
		size_t idx = p->rows.n ? p->rows.idx[p->lv.selected] : 0;

		if (t->focus == TUI_EPOLL)
			st_model__explain_epoll(&t->model, idx, text, sizeof(text));
		else if (t->focus == TUI_LISTENERS)
			st_model__explain_listener(&t->model, idx, text, sizeof(text));
		else if (t->model.n_listeners)
			st_model__explain_listener(&t->model, 0, text, sizeof(text));
		else
			snprintf(text, sizeof(text), "Select a listener or an epoll fd (Tab) and "
				 "press e.");
		draw_box(t, "explain", text);
	}
}

static void draw_footer(struct tui *t)
{
	char buf[256];

	move(LINES - 1, 0);
	if (t->popup == TUI_POPUP_FILTER) {
		st_term_escape(buf, sizeof(buf), t->edit, strlen(t->edit));
		putf(A_BOLD, COLS, "filter %s: %s", t->panels[t->focus].ops->title, buf);
		put(A_REVERSE, " ", COLS);
		put(A_NORMAL, "   (Enter applies, Esc cancels)", COLS);
		return;
	}
	if (t->status[0] && st_now_ns() - t->status_ns < 5000000000ull) {
		put(A_BOLD, t->status, COLS);
		return;
	}
	if (t->replay)
		put(A_NORMAL, "q quit  ? help  Tab panel  space pause  +/- speed  n step  [ ] seek  "
			      "e explain  / filter  s sort", COLS);
	else
		put(A_NORMAL, "q quit  ? help  Tab panel  arrows move  s sort  / filter  e explain  "
			      "p pause  w record", COLS);
}

void tui_draw(struct tui *t)
{
	erase();
	if (t->too_small) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "terminal is %dx%d: socktrace needs at least "
				 "%dx%d", COLS, LINES, MIN_COLS, MIN_LINES);

		mvaddnstr(LINES / 2, COLS > n ? (COLS - n) / 2 : 0, msg, COLS);
		mvaddnstr(LINES / 2 + 1, 0, "enlarge the window or press q", COLS);
		refresh();
		return;
	}
	tui_panels_refresh(t);
	draw_header(t);
	for (int i = 0; i < TUI_PANEL_COUNT; i++)
		draw_panel(t, i);
	draw_footer(t);
	draw_popup(t);
	refresh();
}
