/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Text and JSON printers for snapshots and events. */
#ifndef SOCKTRACE_PRINT_H
#define SOCKTRACE_PRINT_H

#include <stdio.h>
#include "snapshot.h"

/* The --once text view: listeners, epoll instances, then the fd table. */
void st_print_snapshot_text(FILE *f, const struct st_snapshot *s);
/* One JSON object on one line, newline-terminated (the --once --json shape). */
void st_print_snapshot_json(FILE *f, const struct st_snapshot *s);

/* One event as a text line / as one JSON object line (--events shapes). */
void st_print_event_text(FILE *f, const struct st_event *e);
void st_print_event_json(FILE *f, const struct st_event *e);

#endif
