// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * -r FILE: read a recorded trace. --text and --json print its records with
 * the live printers (so a replay prints exactly what --events / --once
 * printed live), --export perfetto converts it, and with neither the TUI
 * replays it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "format.h"
#include "print.h"
#include "trace.h"
#include "util.h"

/* The TUI's replay (ui/tui.c); absent when the UI is not linked in. */
extern int tui_replay(const struct st_env *env, struct trace_reader *r) __attribute__((weak));


static void format_realtime(char *buf, size_t len, uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
}

static void print_header_text(FILE *f, const char *path, const struct trace_header *h)
{
	char name[4 * 256 + 1], comm[4 * ST_COMM_LEN + 1], host[4 * 64 + 1], rel[4 * 64 + 1];
	char ver[4 * 32 + 1], when[64];

	st_term_escape(name, sizeof(name), path, strnlen(path, 256));
	st_term_escape(comm, sizeof(comm), h->comm, strlen(h->comm));
	st_term_escape(host, sizeof(host), h->hostname, strlen(h->hostname));
	st_term_escape(rel, sizeof(rel), h->kernel_release, strlen(h->kernel_release));
	st_term_escape(ver, sizeof(ver), h->socktrace_version, strlen(h->socktrace_version));
	format_realtime(when, sizeof(when), h->start_realtime_ns);
	fprintf(f, "trace %s: process %u (%s) on %s, kernel %s, socktrace %s\n", name, h->pid,
		comm, host, rel, ver);
	fprintf(f, "recorded from %s; hooks:", when);
	for (int i = 0; i < ST_HOOK_COUNT; i++)
		fprintf(f, " %s=%s", trace_hook_name(i), st_tier_name(h->hook_tier[i]));
	fputc('\n', f);
	if (trace_header__kprobe_gap(h))
		fprintf(f, "note: kernel %s counts no kprobe run it skips (from Linux 6.7 it does): "
			   "events lost that way on the kprobe hooks are in no lost count here\n",
			rel);
	fputc('\n', f);
}

static void print_header_json(FILE *f, const struct trace_header *h)
{
	fprintf(f, "{\"trace\":{\"version\":%u,\"socktrace_version\":", h->version);
	st_json_string(f, h->socktrace_version, strlen(h->socktrace_version));
	fputs(",\"kernel_release\":", f);
	st_json_string(f, h->kernel_release, strlen(h->kernel_release));
	fputs(",\"hostname\":", f);
	st_json_string(f, h->hostname, strlen(h->hostname));
	fprintf(f, ",\"pid\":%u,\"comm\":", h->pid);
	st_json_string(f, h->comm, strlen(h->comm));
	fprintf(f, ",\"start_realtime_ns\":%llu,\"start_mono_ns\":%llu,\"hooks\":{",
		(unsigned long long)h->start_realtime_ns, (unsigned long long)h->start_mono_ns);
	for (int i = 0; i < ST_HOOK_COUNT; i++)
		fprintf(f, "%s\"%s\":\"%s\"", i ? "," : "", trace_hook_name(i),
			st_tier_name(h->hook_tier[i]));
	fprintf(f, "},\"kprobe_skips_counted\":%s}}\n",
		st_kprobe_skips_counted(h->kernel_release) ? "true" : "false");
}

/* What the reader's last status means for the exit code: a cut-short
 * recording was read as far as it goes, which is success; damage is not. */
static int finish_status(struct trace_reader *r, int ret)
{
	if (ret == 0)
		return ST_EXIT_OK;
	if (ret == -EBADMSG && trace_reader__damage(r, NULL) == TRACE_DAMAGE_TRUNCATED)
		return ST_EXIT_OK;
	return ST_EXIT_FAIL;
}

static int print_records(const struct st_env *env, struct trace_reader *r)
{
	const struct trace_header *h = trace_reader__header(r);
	struct trace_record rec;
	uint64_t mask;
	int ret;

	if (st_event_filter_parse(env->filter, &mask))
		return ST_EXIT_USAGE;
	if (env->json)
		print_header_json(stdout, h);
	else
		print_header_text(stdout, env->read_path, h);
	while ((ret = trace_reader__next(r, &rec)) == 1) {
		if (rec.kind == TRACE_REC_EVENT) {
			if (rec.event.type >= 64 || !(mask & (1ull << rec.event.type)))
				continue;
			if (env->json)
				st_print_event_json(stdout, &rec.event);
			else
				st_print_event_text(stdout, &rec.event);
		} else if (env->json) {
			st_print_snapshot_json(stdout, &rec.snapshot);
		} else {
			char when[32];
			int64_t rel = (int64_t)(rec.time_ns - h->start_mono_ns);

			snprintf(when, sizeof(when), "%s%.3f s", rel < 0 ? "-" : "+",
				 (double)(rel < 0 ? -rel : rel) / 1e9);
			printf("--- snapshot at %s ---\n", when);
			st_print_snapshot_text(stdout, &rec.snapshot);
			putchar('\n');
		}
		/* A closed pipe (| head) ends the replay, not an error per record. */
		if (ferror(stdout))
			break;
	}
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			st_err("failed to write output: %s", strerror(errno));
		return ST_EXIT_FAIL;
	}
	return finish_status(r, ret);
}

/* -o FILE for --export: the same rules as -w (0600, no overwrite without
 * --force, symlinks not followed). */
static FILE *open_output(const struct st_env *env)
{
	int fd, flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	FILE *f;

	if (!env->output_path || !strcmp(env->output_path, "-"))
		return stdout;
	flags |= env->force ? O_TRUNC : O_EXCL;
	fd = open(env->output_path, flags, 0600);
	if (fd < 0) {
		int err = errno;

		if (err == EEXIST)
			st_err("failed to create '%s': file exists (use --force to overwrite)",
			       env->output_path);
		else if (err == ELOOP)
			st_err("failed to create '%s': is a symbolic link (not followed)",
			       env->output_path);
		else
			st_err("failed to create '%s': %s", env->output_path, strerror(err));
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		st_err("failed to create '%s': %s", env->output_path, strerror(errno));
		close(fd);
	}
	return f;
}

static int export_cmd(const struct st_env *env, struct trace_reader *r)
{
	FILE *out = open_output(env);
	int ret, status;

	if (!out)
		return ST_EXIT_FAIL;
	ret = trace_export_perfetto(r, out);
	status = finish_status(r, ret);
	if (ret && ret != -EBADMSG)
		status = ST_EXIT_FAIL;
	if (out != stdout) {
		if (fclose(out)) {
			st_err("failed to write '%s': %s", env->output_path, strerror(errno));
			status = ST_EXIT_FAIL;
		}
	} else if (fflush(stdout)) {
		st_err("failed to write output: %s", strerror(errno));
		status = ST_EXIT_FAIL;
	}
	return status;
}

int replay_cmd(const struct st_env *env)
{
	struct trace_reader *r = NULL;
	int status;

	if (trace_reader__open(&r, env->read_path))
		return ST_EXIT_FAIL;
	if (env->export_fmt) {
		status = export_cmd(env, r);
	} else if (env->text || env->json) {
		status = print_records(env, r);
	} else if (!tui_replay) {
		st_warn("this socktrace has no replay UI; printing the trace as text");
		status = print_records(env, r);
	} else if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		st_warn("replay UI needs a terminal; printing the trace as text "
			"(use --text or --json to choose)");
		status = print_records(env, r);
	} else {
		status = tui_replay(env, r);
	}
	trace_reader__close(r);
	return status;
}
