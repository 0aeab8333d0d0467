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
