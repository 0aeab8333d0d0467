// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The UI loop, live (tui_cmd) and replayed (tui_replay). The loop owns time:
 * a snapshot every interval, events as their fd becomes readable, keys from
 * stdin, and a redraw only when something changed (at most once per
 * interval for model changes, at once for keys). One restore path puts the
 * terminal back on every exit: q, a signal, an error, atexit.
 */
#define NCURSES_WIDECHAR 1
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <ncursesw/curses.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "format.h"
#include "tui.h"
#include "util.h"

/* main.c defines it; this weak one lets unit tests link the UI without
 * main.o */
__attribute__((weak)) volatile sig_atomic_t st_exiting;

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

/* ---- the terminal: one way in, one way out ---------------------------------- */

char tui_first_status[256];

static int curses_on;
static int saved_stderr = -1;
static int stderr_pipe = -1; /* read end: messages printed while curses owns the screen */

static void tui_restore(void)
{
	if (curses_on) {
		curs_set(1);
		endwin();
		curses_on = 0;
	}
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
	if (stderr_pipe >= 0) {
		close(stderr_pipe);
		stderr_pipe = -1;
	}
}

/* A crash must not leave the terminal raw either: restore, then die of
 * the same signal. */
static void on_fatal_signal(int sig)
{
	tui_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int tui_start(struct tui *t)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	static int atexit_done;
	int p[2];

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		st_err("the live UI needs a terminal: use --once, --events or --no-tui -w FILE");
		return -ENOTTY;
	}
	setlocale(LC_ALL, "");
	t->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	if (!atexit_done) {
		atexit(tui_restore);
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], on_fatal_signal);
		atexit_done = 1;
	}
	if (!newterm(NULL, stdout, stdin)) {
		st_err("cannot start the terminal UI (TERM='%s')", getenv("TERM") ? getenv("TERM") : "");
		return -ENOTTY;
	}
	curses_on = 1;
	/* Messages from libraries (libbpf, the trace writer) would scribble
	 * over the screen: route stderr into a pipe the loop reads and shows
	 * in the footer. */
	if (!pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		saved_stderr = dup(STDERR_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		stderr_pipe = p[0];
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	tui_colors_init(t);
	return 0;
}

void tui_set_status(struct tui *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->status, sizeof(t->status), fmt, ap);
	va_end(ap);
	t->status_ns = st_now_ns(); /* wall time: a replay's clock may run fast */
}

static void read_stderr_pipe(struct tui *t)
{
	char buf[512], esc[512];
	ssize_t n;

	if (stderr_pipe < 0)
		return;
	while ((n = read(stderr_pipe, buf, sizeof(buf) - 1)) > 0) {
		char *line, *last = NULL, *save;

		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			last = line;
		if (last) {
			st_term_escape(esc, sizeof(esc), last, strlen(last));
			tui_set_status(t, "%s", esc);
		}
	}
}

/* ---- state -------------------------------------------------------------------- */

static int tui_init(struct tui *t, const struct st_env *env, uint32_t pid)
{
	memset(t, 0, sizeof(*t));
	t->env = env;
	t->speed = 1.0;
	for (int i = 0; i < TUI_PANEL_COUNT; i++) {
		t->panels[i].ops = &tui_panel_ops[i];
		t->panels[i].built_gen = (uint64_t)-1;
	}
	/* --filter TYPES starts the event log filtered (words, any matches) */
	if (env->filter)
		snprintf(t->panels[TUI_EVENTS].filter, sizeof(t->panels[TUI_EVENTS].filter), "%s",
			 env->filter);
	return st_model__init(&t->model, pid);
}

static void tui_fini(struct tui *t)
{
	for (int i = 0; i < TUI_PANEL_COUNT; i++)
		st_rows__free(&t->panels[i].rows);
	st_model__free(&t->model);
}

static void write_stats(const struct tui *t)
{
	const char *path = getenv("SOCKTRACE_TUI_STATS");
	uint64_t walks = 0, walk_ns = 0, lost = t->model.events_lost;
	FILE *f;

	if (!path || !*path)
		return;
	f = fopen(path, "w");
	if (!f)
		return;
	if (t->taker)
		snapshot_taker__walks(t->taker, &walks, &walk_ns);
	if (t->events && event_source__lost(t->events) > lost)
		lost = event_source__lost(t->events);
	fprintf(f, "frames %llu\ndraw_avg_us %.1f\ndraw_max_us %.1f\nsnapshots %llu\n"
		   "snapshot_avg_us %.1f\nevents %llu\nlost %llu\ntcp_walks %llu\n"
		   "tcp_walk_us %.1f\nlive_us %.1f\n",
		(unsigned long long)t->frames,
		t->frames ? t->frame_ns_total / 1e3 / t->frames : 0.0, t->frame_ns_max / 1e3,
		(unsigned long long)t->snaps, t->snaps ? t->snap_ns_total / 1e3 / t->snaps : 0.0,
		(unsigned long long)t->model.events_total, (unsigned long long)lost,
		(unsigned long long)walks, walk_ns / 1e3, t->live_ns / 1e3);
	fclose(f);
}

static void draw_frame(struct tui *t)
{
	uint64_t t0 = st_now_ns(), dt;

	tui_layout(t);
	tui_draw(t);
	dt = st_now_ns() - t0;
	t->frames++;
	t->frame_ns_total += dt;
	if (dt > t->frame_ns_max)
		t->frame_ns_max = dt;
}

/* Draws when asked to, or when the model changed and a frame is due: at
 * most one frame per interval, however fast events arrive. */
static void draw_if_due(struct tui *t, int flags, uint64_t now, uint64_t interval,
			uint64_t *drawn_gen, uint64_t *last_draw)
{
	if ((flags & TUI_REDRAW) ||
	    (t->model.generation != *drawn_gen && now - *last_draw >= interval)) {
		draw_frame(t);
		*drawn_gen = t->model.generation;
		*last_draw = now;
	}
}

/* ---- recording ------------------------------------------------------------------ */

static void fill_trace_header(struct tui *t, struct trace_header *h)
{
	const struct st_hook_status *hooks = t->events ? event_source__hooks(t->events) : NULL;

	memset(h, 0, sizeof(*h));
	trace_header__init(h);
	h->pid = t->model.pid;
	memcpy(h->comm, t->model.comm, sizeof(h->comm));
	for (int i = 0; i < ST_HOOK_COUNT; i++)
		h->hook_tier[i] = hooks ? hooks[i].tier : ST_TIER_NONE;
	/* the recording opens with the snapshot on screen, which is a little
	 * older than now: start the clock there */
	if (t->model.have_snap && t->model.snap.time_ns && t->model.snap.time_ns < h->start_mono_ns) {
		uint64_t back = h->start_mono_ns - t->model.snap.time_ns;

		h->start_mono_ns -= back;
		h->start_realtime_ns -= back;
	}
}

static int record_start(struct tui *t)
{
	struct trace_header h;
	const char *path = t->env->write_path;
	int err;

	if (!path || t->rec_path[0]) {
		/* -w names the first recording; later ones get their own name */
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
		snprintf(t->rec_path, sizeof(t->rec_path), "socktrace-%u-%s.st", t->model.pid, ts);
	} else {
		snprintf(t->rec_path, sizeof(t->rec_path), "%s", path);
	}
	fill_trace_header(t, &h);
	err = trace_writer__open(&t->writer, t->rec_path, t->env->force, &h);
	if (err) {
		t->writer = NULL;
		read_stderr_pipe(t);
		if (!t->status[0])
			tui_set_status(t, "cannot record to %s: %s", t->rec_path, strerror(-err));
		return err;
	}
	if (t->model.have_snap)
		trace_writer__snapshot(t->writer, &t->model.snap);
	tui_set_status(t, "recording to %s (w stops)", t->rec_path);
	return 0;
}

static void record_stop(struct tui *t, const char *why)
{
	uint64_t n, bytes;
	int err;

	if (!t->writer)
		return;
	n = trace_writer__events(t->writer);
	bytes = trace_writer__bytes(t->writer);
	err = trace_writer__close(t->writer);
	t->writer = NULL;
	if (err)
		tui_set_status(t, "recording %s ended with an error: %s", t->rec_path,
			       strerror(-err));
	else
		tui_set_status(t, "recorded %llu events, %llu bytes to %s%s%s",
			       (unsigned long long)n, (unsigned long long)bytes, t->rec_path,
			       why ? ": " : "", why ? why : "");
}

/* ---- keys ------------------------------------------------------------------------ */

typedef int (*tui_action)(struct tui *t, int ch);

static struct tui_panel *focused(struct tui *t)
{
	return &t->panels[t->focus];
}

static int act_quit(struct tui *t, int ch) { return TUI_QUIT; }

static int act_help(struct tui *t, int ch)
{
	t->popup = t->popup == TUI_POPUP_HELP ? TUI_POPUP_NONE : TUI_POPUP_HELP;
	return TUI_REDRAW;
}

static int act_explain(struct tui *t, int ch)
{
	t->popup = t->popup == TUI_POPUP_EXPLAIN ? TUI_POPUP_NONE : TUI_POPUP_EXPLAIN;
	return TUI_REDRAW;
}

static int act_next_panel(struct tui *t, int ch)
{
	t->focus = (t->focus + (ch == KEY_BTAB ? TUI_PANEL_COUNT - 1 : 1)) % TUI_PANEL_COUNT;
	return TUI_REDRAW;
}

static int act_move(struct tui *t, int ch)
{
	struct list_view *lv = &focused(t)->lv;

	switch (ch) {
	case KEY_UP: case 'k': list_view__move(lv, -1); break;
	case KEY_DOWN: case 'j': list_view__move(lv, 1); break;
	case KEY_PPAGE: list_view__page(lv, -1); break;
	case KEY_NPAGE: list_view__page(lv, 1); break;
	case KEY_HOME: case 'g': list_view__home(lv); break;
	case KEY_END: case 'G': list_view__end(lv); break;
	}
	return TUI_REDRAW;
}

static int act_left_right(struct tui *t, int ch)
{
	return act_next_panel(t, ch == KEY_LEFT ? KEY_BTAB : '\t');
}

static int act_sort(struct tui *t, int ch)
{
	struct tui_panel *p = focused(t);

	if (!p->ops->n_sorts) {
		tui_set_status(t, "%s are shown in a fixed order", p->ops->title);
		return TUI_REDRAW;
	}
	p->sort = (p->sort + 1) % p->ops->n_sorts;
	tui_set_status(t, "%s sorted by %s", p->ops->title, p->ops->sort_name(p->sort));
	return TUI_REDRAW;
}

static int act_filter(struct tui *t, int ch)
{
	t->popup = TUI_POPUP_FILTER;
	memcpy(t->edit, focused(t)->filter, sizeof(t->edit));
	return TUI_REDRAW;
}

static int act_escape(struct tui *t, int ch)
{
	if (t->popup) {
		t->popup = TUI_POPUP_NONE;
	} else if (focused(t)->filter[0]) {
		focused(t)->filter[0] = '\0';
	}
	return TUI_REDRAW;
}

static int act_pause(struct tui *t, int ch)
{
	t->paused = !t->paused;
	return TUI_REDRAW;
}

static int act_rescan(struct tui *t, int ch)
{
	return TUI_RESCAN | TUI_REDRAW;
}

static int act_record(struct tui *t, int ch)
{
	if (t->replay) {
		tui_set_status(t, "this is a recording already");
		return TUI_REDRAW;
	}
	if (t->writer)
		record_stop(t, NULL);
	else
		record_start(t);
	return TUI_REDRAW;
}

static int act_resize(struct tui *t, int ch)
{
	return TUI_REDRAW;
}

/* replay keys: set flags the replay loop reads */
enum { REPLAY_STEP = 1 << 8, REPLAY_FWD = 1 << 9, REPLAY_BACK = 1 << 10 };

static int act_speed(struct tui *t, int ch)
{
	if (!t->replay)
		return 0;
	if ((ch == '+' || ch == '=') && t->speed < 64)
		t->speed *= 2;
	else if (ch == '-' && t->speed > 1.0 / 16)
		t->speed /= 2;
	return TUI_REDRAW;
}

static int act_replay_pause(struct tui *t, int ch)
{
	return t->replay ? act_pause(t, ch) : 0;
}

static int act_step(struct tui *t, int ch)
{
	if (!t->replay)
		return 0;
	t->paused = 1;
	return REPLAY_STEP | TUI_REDRAW;
}

static int act_seek(struct tui *t, int ch)
{
	if (!t->replay)
		return 0;
	return (ch == ']' ? REPLAY_FWD : REPLAY_BACK) | TUI_REDRAW;
}

static const tui_action keys[KEY_MAX + 1] = {
	['q'] = act_quit,	  ['Q'] = act_quit,
	['?'] = act_help,	  ['h'] = act_help,	   [KEY_F(1)] = act_help,
	['e'] = act_explain,	  ['\t'] = act_next_panel, [KEY_BTAB] = act_next_panel,
	[KEY_LEFT] = act_left_right, [KEY_RIGHT] = act_left_right,
	[KEY_UP] = act_move,	  [KEY_DOWN] = act_move,   ['k'] = act_move,
	['j'] = act_move,	  [KEY_PPAGE] = act_move,  [KEY_NPAGE] = act_move,
	[KEY_HOME] = act_move,	  [KEY_END] = act_move,	   ['g'] = act_move,
	['G'] = act_move,	  ['s'] = act_sort,	   ['/'] = act_filter,
	[27] = act_escape,	  ['p'] = act_pause,	   ['r'] = act_rescan,
	['w'] = act_record,	  [KEY_RESIZE] = act_resize, ['+'] = act_speed,
	['='] = act_speed,	  ['-'] = act_speed,	   [' '] = act_replay_pause,
	['n'] = act_step,	  [']'] = act_seek,	   ['['] = act_seek,
};

/* Keys while the filter line is open edit it. */
static int filter_key(struct tui *t, int ch)
{
	size_t n = strlen(t->edit);

	switch (ch) {
	case 27:
		t->popup = TUI_POPUP_NONE;
		break;
	case '\n': case '\r': case KEY_ENTER:
		memcpy(focused(t)->filter, t->edit, sizeof(t->edit));
		focused(t)->lv.selected = 0;
		t->popup = TUI_POPUP_NONE;
		break;
	case KEY_BACKSPACE: case 127: case 8:
		if (n)
			t->edit[n - 1] = '\0';
		break;
	default:
		if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof(t->edit)) {
			t->edit[n] = (char)ch;
			t->edit[n + 1] = '\0';
		}
	}
	return TUI_REDRAW;
}

static int dispatch(struct tui *t, int ch)
{
	if (ch == KEY_RESIZE)
		return TUI_REDRAW;
	if (t->popup == TUI_POPUP_FILTER)
		return filter_key(t, ch);
	if (t->popup == TUI_POPUP_HELP || t->popup == TUI_POPUP_EXPLAIN) {
		/* q and Esc close the popup rather than quit */
		if (ch == 'q' || ch == 27 || ch == '\n' || ch == '\r') {
			t->popup = TUI_POPUP_NONE;
			return TUI_REDRAW;
		}
	}
	if (ch == 3) /* Ctrl-C arriving as a key (raw terminals) */
		return TUI_QUIT;
	if (ch >= 0 && ch <= KEY_MAX && keys[ch])
		return keys[ch](t, ch);
	return 0;
}

static int read_keys(struct tui *t)
{
	int ch, flags = 0;

	while ((ch = getch()) != ERR)
		flags |= dispatch(t, ch);
	return flags;
}

/* ---- live ---------------------------------------------------------------------------- */

static void on_event(const struct st_event *e, void *ctx)
{
	struct tui *t = ctx;

	if (t->writer && trace_writer__event(t->writer, e))
		record_stop(t, "write failed");
	if (!t->paused)
		st_model__event(&t->model, e);
}

#define PF_EXITING_FLAG 0x00000004 /* include/linux/sched.h PF_EXITING */

/* 1 when pid is gone, a zombie, or in do_exit() (PF_EXITING: it may be
 * closing its files right now). */
static int target_exiting(uint32_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long flags = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	/* fields after the name, which may hold spaces and parentheses */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 1;
	if (p[2] == 'Z' || p[2] == 'X' || p[2] == 'x')
		return 1;
	/* state ppid pgrp session tty_nr tpgid flags */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return 0;
	return !!(flags & PF_EXITING_FLAG);
}

/* Snapshots at most once per this many times what one costs (4% of a
 * core): a server churning through thousands of fds takes 7 ms each. */
#define SNAP_PERIOD_COSTS 25

static int take_snapshot(struct tui *t)
{
	struct st_snapshot snap;
	uint64_t t0 = st_now_ns(), cost;
	int err;

	err = snapshot_taker__take(t->taker, &snap);
	cost = st_now_ns() - t0;
	t->snaps++;
	t->snap_ns_total += cost;
	t->snap_cost_ns = t->snaps == 1 ? cost : 0.8 * t->snap_cost_ns + 0.2 * cost;
	t->snap_period_ns = (uint64_t)t->env->interval_ms * NS_PER_MS;
	if (SNAP_PERIOD_COSTS * t->snap_cost_ns > t->snap_period_ns)
		t->snap_period_ns = (uint64_t)(SNAP_PERIOD_COSTS * t->snap_cost_ns);
	/* A snapshot taken while the process was exiting may have caught its
	 * fd table half closed: the last state worth keeping is the one
	 * before, so such a snapshot is dropped. */
	if (err == -ESRCH || (!err && target_exiting(t->model.pid))) {
		if (!err)
			st_snapshot__free(&snap);
		return -ESRCH;
	}
	if (err) {
		tui_set_status(t, "snapshot failed: %s", strerror(-err));
		return err;
	}
	if (t->writer && trace_writer__snapshot(t->writer, &snap))
		record_stop(t, "write failed");
	if (t->paused) {
		st_snapshot__free(&snap);
		return 0;
	}
	st_model__take_snapshot(&t->model, &snap);
	return 0;
}

static void tui_loop_live(struct tui *t)
{
	uint64_t interval = (uint64_t)t->env->interval_ms * NS_PER_MS;
	uint64_t next_snap = 0, last_draw = 0, drawn_gen = (uint64_t)-1;
	uint64_t started = st_now_ns();
	uint64_t stop_at = t->env->duration_s > 0
				   ? st_now_ns() + (uint64_t)(t->env->duration_s * NS_PER_S) : 0;
	int flags = TUI_REDRAW;

	while (!st_exiting) {
		uint64_t now = st_now_ns();

		if (stop_at && now >= stop_at)
			break;
		struct pollfd pfd[3];
		int n = 0, timeout_ms, ev_fd;

		if (!t->model.target_gone && (now >= next_snap || (flags & TUI_RESCAN))) {
			if (take_snapshot(t) == -ESRCH) {
				st_model__set_gone(&t->model, now);
				if (t->writer)
					record_stop(t, "the process exited");
			}
			if (!st_pid_alive(t->model.pid))
				st_model__set_gone(&t->model, now);
			next_snap = now + (t->snap_period_ns ? t->snap_period_ns : interval);
		}
		if (!t->paused)
			st_model__tick(&t->model, now);
		if (t->writer)
			trace_writer__tick(t->writer);
		read_stderr_pipe(t);
		draw_if_due(t, flags, now, interval, &drawn_gen, &last_draw);
		flags = 0;

		pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		ev_fd = t->events ? event_source__fd(t->events) : -1;
		if (ev_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = ev_fd, .events = POLLIN };
		if (stderr_pipe >= 0)
			pfd[n++] = (struct pollfd){ .fd = stderr_pipe, .events = POLLIN };
		now = st_now_ns();
		timeout_ms = t->model.target_gone ? 1000
			     : next_snap > now ? (int)((next_snap - now + NS_PER_MS - 1) / NS_PER_MS) : 0;
		/* events arriving between frames: wake no later than the next frame */
		if (t->model.generation != drawn_gen) {
			uint64_t due = last_draw + interval;
			int d = due > now ? (int)((due - now) / NS_PER_MS) + 1 : 0;

			if (d < timeout_ms)
				timeout_ms = d;
		}
		/* the idle tick: poll stands in for getch()'s timeout because
		 * events arrive on a second fd */
		poll(pfd, n, timeout_ms);
		if (st_exiting)
			break;
		if (t->events && event_source__poll(t->events, 0, on_event, t) < 0 &&
		    !t->events_why[0])
			snprintf(t->events_why, sizeof(t->events_why), "reading events failed");
		flags |= read_keys(t);
		if (flags & TUI_QUIT)
			break;
	}
	t->live_ns = st_now_ns() - started;
}

int tui_cmd(const struct st_env *env)
{
	struct tui *t;
	struct st_snapshot snap;
	int err, ret = ST_EXIT_FAIL;

	if (st_check_bpf_env())
		return ST_EXIT_FAIL;
	t = malloc(sizeof(*t));
	if (!t || tui_init(t, env, env->pid)) {
		st_err("out of memory");
		free(t);
		return ST_EXIT_FAIL;
	}
	err = snapshot_taker__open(&t->taker, env->pid);
	if (err)
		goto cleanup;
	snapshot_taker__set_periodic(t->taker);
	err = snapshot_taker__take(t->taker, &snap);
	if (err) {
		st_err("failed to take a snapshot of process %u: %s", env->pid, strerror(-err));
		goto cleanup;
	}
	st_model__take_snapshot(&t->model, &snap);
	t->base_ns = t->model.now_ns;
	t->model.somaxconn = st_read_somaxconn(env->pid, &t->model.somaxconn_is_target);

	err = event_source__open(&t->events, env->pid, env->mode);
	if (err) {
		t->events = NULL;
		snprintf(t->events_why, sizeof(t->events_why), "%s",
			 err == -ENOSYS ? "the event engine is not built in"
					: "the event engine failed to start (see above)");
		if (err != -ENOSYS)
			sleep(1); /* let the message be read before the screen takes over */
	}
	if (tui_start(t))
		goto cleanup;
	if (tui_first_status[0])
		tui_set_status(t, "%s", tui_first_status);
	if (env->write_path)
		record_start(t);
	tui_loop_live(t);
	ret = ST_EXIT_OK;
cleanup:
	record_stop(t, NULL);
	tui_restore();
	if (t->status[0] && ret == ST_EXIT_OK && t->rec_path[0])
		fprintf(stderr, "socktrace: %s\n", t->status);
	write_stats(t);
	event_source__close(t->events);
	snapshot_taker__close(t->taker);
	tui_fini(t);
	free(t);
	return ret;
}

/* ---- replay ---------------------------------------------------------------------------- */

struct replay {
	struct trace_reader *r;	    /* the one we read now */
	struct trace_reader *owned; /* opened here for a seek back */
	struct trace_record next;   /* read ahead, not applied yet */
	struct st_snapshot next_snap;
	int have_next;
	int end; /* 1 clean end, -errno error */
};

static int replay_read(struct tui *t, struct replay *rp)
{
	int err;

	if (rp->have_next || rp->end)
		return rp->have_next;
	err = trace_reader__next(rp->r, &rp->next);
	if (err <= 0) {
		rp->end = err ? err : 1;
		t->replay_done = 1;
		read_stderr_pipe(t);
		if (err)
			tui_set_status(t, "the recording ends early: %s", strerror(-err));
		return 0;
	}
	if (rp->next.kind == TRACE_REC_SNAPSHOT &&
	    st_snapshot__copy(&rp->next_snap, &rp->next.snapshot)) {
		rp->end = -ENOMEM;
		return 0;
	}
	rp->have_next = 1;
	return 1;
}

static uint64_t replay_time(const struct trace_record *rec)
{
	if (rec->time_ns)
		return rec->time_ns;
	return rec->kind == TRACE_REC_EVENT ? rec->event.time_ns : rec->snapshot.time_ns;
}

/* Applies the read-ahead record; returns its kind. */
static int replay_apply(struct tui *t, struct replay *rp)
{
	int kind = rp->next.kind;

	if (kind == TRACE_REC_EVENT)
		st_model__event(&t->model, &rp->next.event);
	else
		st_model__take_snapshot(&t->model, &rp->next_snap);
	rp->have_next = 0;
	return kind;
}

/* Applies every record up to time vt. */
static void replay_until(struct tui *t, struct replay *rp, uint64_t vt)
{
	while (replay_read(t, rp) && replay_time(&rp->next) <= vt)
		replay_apply(t, rp);
	st_model__tick(&t->model, vt);
}

static void replay_reset(struct replay *rp)
{
	if (rp->have_next && rp->next.kind == TRACE_REC_SNAPSHOT)
		st_snapshot__free(&rp->next_snap);
	rp->have_next = 0;
	rp->end = 0;
}

int tui_replay(const struct st_env *env, struct trace_reader *r)
{
	struct replay rp = { .r = r };
	struct tui *t;
	uint64_t vt, last_real, interval, last_draw = 0, drawn_gen = (uint64_t)-1;
	int flags = TUI_REDRAW;

	t = malloc(sizeof(*t));
	if (!t || tui_init(t, env, 0)) {
		st_err("out of memory");
		free(t);
		return ST_EXIT_FAIL;
	}
	t->replay = 1;
	t->trace_hdr = trace_reader__header(r);
	if (t->trace_hdr) {
		t->model.pid = t->trace_hdr->pid;
		memcpy(t->model.comm, t->trace_hdr->comm, sizeof(t->model.comm));
		t->base_ns = t->trace_hdr->start_mono_ns;
	}
	snprintf(t->events_why, sizeof(t->events_why), "recorded");
	interval = (uint64_t)(env->interval_ms ? env->interval_ms : 100) * NS_PER_MS;
	if (!replay_read(t, &rp) && rp.end < 0) {
		st_err("the recording has no readable records");
		tui_fini(t);
		free(t);
		return ST_EXIT_FAIL;
	}
	vt = rp.have_next ? replay_time(&rp.next) : t->base_ns;
	if (!t->base_ns)
		t->base_ns = vt;
	if (tui_start(t)) {
		replay_reset(&rp);
		tui_fini(t);
		free(t);
		return ST_EXIT_FAIL;
	}
	replay_until(t, &rp, vt);
	last_real = st_now_ns();

	while (!st_exiting) {
		uint64_t now = st_now_ns();
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };

		if (!t->paused && !t->replay_done)
			vt += (uint64_t)((now - last_real) * t->speed);
		last_real = now;
		if (flags & REPLAY_STEP) {
			/* up to and including the next snapshot */
			while (replay_read(t, &rp)) {
				vt = replay_time(&rp.next);
				if (replay_apply(t, &rp) == TRACE_REC_SNAPSHOT)
					break;
			}
		}
		if (flags & REPLAY_FWD)
			vt += 10 * NS_PER_S;
		if (flags & REPLAY_BACK) {
			struct trace_reader *nr = NULL;
			uint64_t target = vt > t->base_ns + 10 * NS_PER_S ? vt - 10 * NS_PER_S
									 : t->base_ns;

			if (env->read_path && !trace_reader__open(&nr, env->read_path)) {
				replay_reset(&rp);
				trace_reader__close(rp.owned);
				rp.owned = rp.r = nr;
				st_model__free(&t->model);
				st_model__init(&t->model, t->trace_hdr ? t->trace_hdr->pid : 0);
				if (t->trace_hdr)
					memcpy(t->model.comm, t->trace_hdr->comm, sizeof(t->model.comm));
				t->replay_done = 0;
				for (int i = 0; i < TUI_PANEL_COUNT; i++)
					t->panels[i].built_gen = (uint64_t)-1;
				vt = target;
			} else {
				read_stderr_pipe(t);
				tui_set_status(t, "cannot reopen the recording to seek back");
			}
		}
		replay_until(t, &rp, vt);
		read_stderr_pipe(t);
		draw_if_due(t, flags, now, interval, &drawn_gen, &last_draw);
		flags = 0;
		poll(&pfd, 1, (int)(interval / NS_PER_MS));
		if (st_exiting)
			break;
		flags |= read_keys(t);
		if (flags & TUI_QUIT)
			break;
	}
	tui_restore();
	write_stats(t);
	replay_reset(&rp);
	trace_reader__close(rp.owned);
	tui_fini(t);
	free(t);
	return ST_EXIT_OK;
}
