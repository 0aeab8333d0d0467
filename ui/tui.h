/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The ncurses UI: one state struct shared by the loop (tui.c) and the
 * panels (draw.c). The model holds the data; this holds only what the
 * screen needs (focus, selection, filters, sort keys, popups).
 */
#ifndef SOCKTRACE_TUI_H
#define SOCKTRACE_TUI_H

#include <stdint.h>
#include "cli.h"
#include "events.h"
#include "model.h"
#include "trace.h"
#include "view.h"

/* What an action asks of the loop. */
enum {
	TUI_REDRAW = 1 << 0,
	TUI_RESCAN = 1 << 1, /* take a snapshot now */
	TUI_QUIT = 1 << 2,
};

enum tui_panel_id {
	TUI_LISTENERS = 0,
	TUI_EPOLL,
	TUI_FDS,
	TUI_EVENTS,
	TUI_PANEL_COUNT,
};

enum tui_popup {
	TUI_POPUP_NONE = 0,
	TUI_POPUP_HELP,
	TUI_POPUP_EXPLAIN,
	TUI_POPUP_FILTER, /* editing the focused panel's filter */
};

struct tui;

/* A panel is a list view over one kind of row, behind this small vtable. */
struct tui_panel_ops {
	const char *title;
	int item_lines;
	size_t (*count)(struct tui *t);
	void (*row_text)(void *t, size_t idx, char *buf, size_t len);
	/* NULL: rows are drawn from row_text */
	void (*draw_row)(struct tui *t, size_t idx, int y, int width, int selected);
	/* column headings, NULL for none */
	const char *(*header)(struct tui *t, char *buf, size_t len);
	/* changes whenever the rows may have: rows are rebuilt only then */
	uint64_t (*version)(struct tui *t);
	st_row_cmp_fn compare; /* NULL: source order */
	int source_sorted_by;  /* the sort key the source is already in, or -1 */
	int n_sorts;
	const char *(*sort_name)(int key);
};

struct tui_panel {
	const struct tui_panel_ops *ops;
	struct list_view lv;
	struct st_rows rows;
	char filter[64];
	int sort;
	int y, h; /* placement, h 0: hidden */
	uint64_t built_gen;
	int built_sort;
	char built_filter[64];
};

struct tui {
	const struct st_env *env;
	struct st_model model;
	struct tui_panel panels[TUI_PANEL_COUNT];
	int focus;
	int popup;
	char edit[64]; /* filter being typed */
	int paused;
	int color;
	int utf8;
	int too_small;
	int addr_width;
	uint64_t base_ns; /* shown as +0 in the event log */

	/* live */
	struct snapshot_taker *taker;
	struct event_source *events;
	char events_why[160]; /* why there are no events, "" when there are */
	struct trace_writer *writer;
	char rec_path[512];
	char status[256]; /* last message, shown in the footer */
	uint64_t status_ns;

	/* replay */
	int replay;
	const struct trace_header *trace_hdr;
	double speed;
	uint64_t replay_end_ns; /* last record time seen */
	int replay_done;

	/* Snapshots of a process with many fds take tens of ms of kernel time:
	 * the period stretches so they use at most ~4% of a core. */
	uint64_t snap_period_ns;
	double snap_cost_ns; /* moving average */

	/* frame statistics (SOCKTRACE_TUI_STATS) */
	uint64_t frames, frame_ns_total, frame_ns_max;
	uint64_t snaps, snap_ns_total;
	uint64_t live_ns; /* how long the live loop ran */
};

/* draw.c */
extern const struct tui_panel_ops tui_panel_ops[TUI_PANEL_COUNT];
void tui_layout(struct tui *t);
void tui_draw(struct tui *t);
void tui_colors_init(struct tui *t);
void tui_panels_refresh(struct tui *t); /* rebuild rows if the model changed */

/* tui.c. Replays a recording from r (opened by the caller, who closes it)
 * in the same screen as the live view; env->read_path lets it reopen the
 * file to seek backwards. Returns an exit code. */
int tui_replay(const struct st_env *env, struct trace_reader *r);
/* Shown in the footer when the UI starts (the demo says what it runs). */
extern char tui_first_status[256];

void tui_set_status(struct tui *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
