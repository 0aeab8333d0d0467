/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The terminal-free half of the UI: list navigation, the filtered and sorted
 * row index a panel shows, gauges, sparklines, row texts and word wrapping.
 * Everything here is unit-tested without a terminal (tests/unit/ui.c).
 */
#ifndef SOCKTRACE_VIEW_H
#define SOCKTRACE_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "snapshot.h"

/* Selection and scroll position of a list of count items shown in height
 * screen lines, item_lines lines per item. */
struct list_view {
	size_t count;
	size_t selected;
	size_t top; /* first item shown */
	int height;
	int item_lines;
};

void list_view__set(struct list_view *lv, size_t count, int height, int item_lines);
void list_view__move(struct list_view *lv, long delta);
void list_view__home(struct list_view *lv);
void list_view__end(struct list_view *lv);
void list_view__page(struct list_view *lv, int dir); /* -1 up, +1 down */
/* Items that fit in height. */
size_t list_view__visible(const struct list_view *lv);

/* A panel's rows: indexes into its source, filtered then sorted. */
typedef void (*st_row_text_fn)(void *ctx, size_t idx, char *buf, size_t len);
typedef int (*st_row_cmp_fn)(void *ctx, size_t a, size_t b, int key);

struct st_rows {
	size_t *idx;
	size_t n, cap;
};

/* Rebuilds rows from count source items: those whose text matches filter
 * (all when filter is empty or NULL), ordered by cmp with key (source
 * order when cmp is NULL; ties keep source order). reverse shows the
 * source last-to-first. Returns 0 or -ENOMEM. */
int st_rows__build(struct st_rows *r, size_t count, void *ctx, st_row_text_fn text,
		   const char *filter, st_row_cmp_fn cmp, int key);
void st_rows__free(struct st_rows *r);

/* Case-insensitive: does text contain any of filter's words (separated by
 * spaces or commas)? An empty filter matches everything. */
int st_filter_match(const char *text, const char *filter);

/* Cells of a width-cell gauge filled for depth of limit: rounded up, so
 * one waiting connection shows; all cells at or over the limit. */
int st_gauge_cells(uint32_t depth, uint32_t limit, int width);
/* "[####    ]" in width cells, brackets included (ASCII). */
char *st_gauge_format(char *buf, size_t len, uint32_t depth, uint32_t limit, int width);

/* Sparkline of the last width samples of a ring (hist_len samples ending
 * at head - 1), scaled to max (at least 1). utf8 picks block characters
 * (3 bytes each), else " .:-=+*#". Samples older than the ring are blank. */
char *st_sparkline(char *buf, size_t len, const uint16_t *ring, unsigned int ring_size,
		   unsigned int head, unsigned int n, int width, uint32_t max, int utf8);

/* fd table sort keys; names shown in the panel title. */
enum st_fd_sort {
	ST_FD_SORT_FD = 0,
	ST_FD_SORT_TYPE,
	ST_FD_SORT_STATE,
	ST_FD_SORT_LOCAL,
	ST_FD_SORT_REMOTE,
	ST_FD_SORT_RXQ,
	ST_FD_SORT_TXQ,
	ST_FD_SORT_COUNT,
};
const char *st_fd_sort_name(int key);
/* Compares fds a and b by key; queue sizes sort largest first; ties by fd. */
int st_fd_compare(const struct st_fd *a, const struct st_fd *b, int key);

enum st_listener_sort {
	ST_LISTENER_SORT_FD = 0,
	ST_LISTENER_SORT_FILL,	/* fullest accept queue first */
	ST_LISTENER_SORT_DROPS, /* most drops first */
	ST_LISTENER_SORT_COUNT,
};
const char *st_listener_sort_name(int key);
int st_listener_compare(const struct st_listener_stats *a, const struct st_listener_stats *b,
			int key);

/* Row texts. addr_width: columns for each address. Strings from the
 * kernel (paths, comm) are escaped. */
char *st_fd_row(char *buf, size_t len, const struct st_fd *f, int addr_width);
char *st_fd_header(char *buf, size_t len, int addr_width);
/* base_ns: the time shown as +0. */
char *st_event_row(char *buf, size_t len, const struct st_event *e, uint64_t base_ns);

/* Word-wraps text to width columns; '\n' forces a break. Calls line for
 * each line (not NUL-terminated). Returns the number of lines. */
int st_wrap(const char *text, int width, void (*line)(const char *s, int n, void *arg),
	    void *arg);

#endif
