/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Command-line settings and the commands main() dispatches to. */
#ifndef SOCKTRACE_CLI_H
#define SOCKTRACE_CLI_H

#include <signal.h>
#include <stdint.h>

enum st_mode {
	ST_MODE_AUTO = 0,
	ST_MODE_FENTRY,
	ST_MODE_KPROBE,
	ST_MODE_TRACEPOINT,
};

struct st_env {
	uint32_t pid;		/* after resolving a tid to its process */
	uint32_t pid_arg;	/* as given */
	int once;
	int json;
	int text;
	int events;
	int probe;
	int demo;
	int no_tui;
	int force;
	enum st_mode mode;
	double duration_s;	/* 0: until stopped */
	unsigned int interval_ms;
	const char *write_path;	/* -w */
	const char *read_path;	/* -r */
	const char *export_fmt;	/* --export */
	const char *output_path; /* -o */
	const char *filter;	/* --filter TYPE[,TYPE] for events */
};

/* Set by SIGINT/SIGTERM handlers; every loop polls it. */
extern volatile sig_atomic_t st_exiting;
void st_install_signals(void);

int snapshot_cmd(const struct st_env *env);	/* --once */
int events_cmd(const struct st_env *env);	/* --events, --no-tui */
int probe_cmd(const struct st_env *env);	/* --probe */
int tui_cmd(const struct st_env *env);		/* default */
int demo_cmd(const struct st_env *env);		/* --demo */
int replay_cmd(const struct st_env *env);	/* -r */
int record_cmd(const struct st_env *env);	/* -w with --no-tui or --events */

#endif
