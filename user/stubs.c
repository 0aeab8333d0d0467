// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Weak placeholders for commands whose modules are not linked in: the real
 * definition (events.c, tui.c, replay.c...) overrides each one. */
#include "cli.h"
#include "print.h"
#include "util.h"

#define NOT_YET(fn, what)                                            \
	__attribute__((weak)) int fn(const struct st_env *env)        \
	{                                                             \
		st_err("%s is not implemented yet", what);            \
		return ST_EXIT_FAIL;                                  \
	}

NOT_YET(events_cmd, "--events")
NOT_YET(probe_cmd, "--probe")
NOT_YET(tui_cmd, "the live UI")
NOT_YET(demo_cmd, "--demo")
NOT_YET(replay_cmd, "-r")
NOT_YET(record_cmd, "-w")
__attribute__((weak)) void st_print_event_text(FILE *f, const struct st_event *e) {}
__attribute__((weak)) void st_print_event_json(FILE *f, const struct st_event *e) {}

/* Library placeholders, so every module links while another is unwritten. */
#include <errno.h>
#include "events.h"
#include "trace.h"

#define WEAK __attribute__((weak))
WEAK int event_source__open(struct event_source **out, uint32_t pid, enum st_mode mode)
{
	st_err("the event engine is not implemented yet");
	return -ENOSYS;
}
WEAK int event_source__poll(struct event_source *s, int t, st_event_fn fn, void *ctx) { return -ENOSYS; }
WEAK int event_source__drain(struct event_source *s, st_event_fn fn, void *ctx) { return -ENOSYS; }
WEAK int event_source__fd(const struct event_source *s) { return -1; }
WEAK uint64_t event_source__lost(const struct event_source *s) { return 0; }
WEAK uint64_t event_source__skipped(const struct event_source *s) { return 0; }
WEAK uint64_t event_source__delivered(const struct event_source *s) { return 0; }
WEAK uint64_t event_source__late(const struct event_source *s) { return 0; }
WEAK uint64_t event_source__drops_unseen(const struct event_source *s) { return 0; }
WEAK const struct st_hook_status *event_source__hooks(const struct event_source *s) { return NULL; }
WEAK int event_source__kprobe_gap(const struct event_source *s) { return 0; }
WEAK void event_source__close(struct event_source *s) {}
WEAK int event_source__probe(struct st_hook_status h[ST_HOOK_COUNT], enum st_mode m) { return -ENOSYS; }
WEAK int trace_writer__open(struct trace_writer **out, const char *path, int force,
			    const struct trace_header *hdr)
{
	st_err("trace recording is not implemented yet");
	return -ENOSYS;
}
WEAK int trace_writer__event(struct trace_writer *w, const struct st_event *e) { return -ENOSYS; }
WEAK int trace_writer__snapshot(struct trace_writer *w, const struct st_snapshot *s) { return -ENOSYS; }
WEAK int trace_writer__tick(struct trace_writer *w) { return 0; }
WEAK uint64_t trace_writer__events(const struct trace_writer *w) { return 0; }
WEAK uint64_t trace_writer__bytes(const struct trace_writer *w) { return 0; }
WEAK int trace_writer__close(struct trace_writer *w) { return 0; }
WEAK int trace_reader__open(struct trace_reader **out, const char *path)
{
	st_err("trace reading is not implemented yet");
	return -ENOSYS;
}
WEAK const struct trace_header *trace_reader__header(const struct trace_reader *r) { return NULL; }
WEAK int trace_reader__next(struct trace_reader *r, struct trace_record *rec) { return 0; }
WEAK void trace_reader__close(struct trace_reader *r) {}
