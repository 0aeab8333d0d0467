// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * -w FILE with --no-tui or --events: record headless. Every event goes to
 * the trace; a snapshot is taken every --interval but written only when it
 * differs from the last one written, or when that one is a second old, so
 * an idle target costs about one small record a second and a busy one a
 * snapshot per tick. Stops on SIGINT/SIGTERM, --duration, the target's exit
 * or a write error (the file stays readable up to its last chunk).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "events.h"
#include "format.h"
#include "print.h"
#include "snapshot.h"
#include "trace.h"
#include "util.h"

#define NS_PER_MS 1000000ull
#define SNAPSHOT_KEYFRAME_NS 1000000000ull
#define PROGRESS_NS 250000000ull

struct recorder {
	const struct st_env *env;
	struct trace_writer *w;
	uint64_t print_mask;	/* --events: types to print (--filter) */
	int print;
	int err;		/* first write error: recording stops */
	struct st_snapshot last; /* the last snapshot written */
	int have_last;
	uint64_t last_written_ns;
	int snap_failed;	/* warned once about a failing snapshot */
};


/* Everything goes to the file; --filter only narrows what is printed. */
static void on_event(const struct st_event *e, void *ctx)
{
	struct recorder *rec = ctx;

	if (rec->err)
		return;
	rec->err = trace_writer__event(rec->w, e);
	if (rec->err || !rec->print)
		return;
	if (e->type < 64 && !(rec->print_mask & (1ull << e->type)))
		return;
	if (rec->env->json)
		st_print_event_json(stdout, e);
	else
		st_print_event_text(stdout, e);
}

/* Returns 0, or -ESRCH when the target is gone. */
static int record_snapshot(struct recorder *rec, struct snapshot_taker *taker, int force)
{
	struct st_snapshot snap;
	uint64_t now;
	int err;

	err = snapshot_taker__take(taker, &snap);
	if (err == -ESRCH)
		return err;
	if (err) {
		if (!rec->snap_failed++)
			st_warn("failed to take a snapshot: %s (recording events only until it "
				"works again)", strerror(-err));
		return 0;
	}
	now = st_now_ns();
	if (!force && rec->have_last && trace_snapshot_same(&rec->last, &snap) &&
	    now - rec->last_written_ns < SNAPSHOT_KEYFRAME_NS) {
		st_snapshot__free(&snap);
		return 0;
	}
	err = trace_writer__snapshot(rec->w, &snap);
	if (err && err != -E2BIG) {
		rec->err = err;
		st_snapshot__free(&snap);
		return 0;
	}
	st_snapshot__free(&rec->last);
	rec->last = snap;
	rec->have_last = 1;
	rec->last_written_ns = now;
	return 0;
}

static void read_comm(uint32_t pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	comm[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

static void progress(const struct recorder *rec, const struct event_source *src,
		     uint64_t elapsed_ns)
{
	fprintf(stderr, "\rrecording: %llu events, %.1f KiB, %llu lost, %.1f s\033[K",
		(unsigned long long)trace_writer__events(rec->w),
		trace_writer__bytes(rec->w) / 1024.0,
		(unsigned long long)event_source__lost(src), elapsed_ns / 1e9);
}

int record_cmd(const struct st_env *env)
{
	struct recorder rec = { .env = env, .print = env->events };
	struct event_source *src = NULL;
	struct snapshot_taker *taker = NULL;
	struct trace_header hdr = {};
	const struct st_hook_status *hooks;
	uint64_t start = 0, end = 0, next_snap, next_progress, interval;
	int status = ST_EXIT_FAIL, show_progress, target_gone = 0;
	struct stat st;

	if (st_event_filter_parse(env->filter, &rec.print_mask))
		return ST_EXIT_USAGE;
	/* Fail before loading anything when the file is in the way; the
	 * writer's O_EXCL open is what actually guards against races. */
	if (!env->force && !lstat(env->write_path, &st)) {
		st_err("failed to open trace '%s': %s", env->write_path,
		       S_ISLNK(st.st_mode) ? "is a symbolic link (not followed)"
					   : "file exists (use --force to overwrite)");
		return ST_EXIT_FAIL;
	}
	if (st_check_bpf_env())
		return ST_EXIT_FAIL;
	if (event_source__open(&src, env->pid, env->mode))
		goto cleanup;
	if (snapshot_taker__open(&taker, env->pid))
		goto cleanup;
	snapshot_taker__set_periodic(taker);

	trace_header__init(&hdr);
	hdr.pid = env->pid;
	read_comm(env->pid, hdr.comm, sizeof(hdr.comm));
	hooks = event_source__hooks(src);
	for (int i = 0; hooks && i < ST_HOOK_COUNT; i++)
		hdr.hook_tier[i] = (uint8_t)hooks[i].tier;
	if (trace_writer__open(&rec.w, env->write_path, env->force, &hdr))
		goto cleanup;
	{
		char name[4 * 256 + 1], comm[4 * ST_COMM_LEN + 1];

		st_term_escape(name, sizeof(name), env->write_path, strnlen(env->write_path, 256));
		st_term_escape(comm, sizeof(comm), hdr.comm, strlen(hdr.comm));
		fprintf(stderr, "socktrace: recording pid %u (%s) to '%s':", env->pid, comm, name);
		for (int i = 0; hooks && i < ST_HOOK_COUNT; i++)
			fprintf(stderr, " %s=%s", trace_hook_name(i), st_tier_name(hooks[i].tier));
		fputc('\n', stderr);
	}
	if (event_source__kprobe_gap(src))
		st_warn("%s", ST_KPROBE_GAP_MSG);
	if (rec.print)
		st_stdout_buffer();

	show_progress = isatty(STDERR_FILENO) && !(rec.print && isatty(STDOUT_FILENO));
	interval = (env->interval_ms ? env->interval_ms : 100) * NS_PER_MS;
	start = st_now_ns();
	if (env->duration_s > 0)
		end = start + (uint64_t)(env->duration_s * 1e9);
	next_snap = start;
	next_progress = start + PROGRESS_NS;

	while (!st_exiting && !rec.err) {
		uint64_t now = st_now_ns(), wake;
		int n;

		if (end && now >= end)
			break;
		if (now >= next_snap) {
			if (record_snapshot(&rec, taker, 0) == -ESRCH || !st_pid_alive(env->pid)) {
				target_gone = 1;
				break;
			}
			next_snap += interval;
			if (next_snap <= now)
				next_snap = now + interval;
			if (!rec.err)
				rec.err = trace_writer__tick(rec.w);
		}
		if (show_progress && now >= next_progress) {
			progress(&rec, src, now - start);
			next_progress = now + PROGRESS_NS;
		}
		wake = next_snap;
		if (end && end < wake)
			wake = end;
		now = st_now_ns();
		n = event_source__poll(src, wake > now ? (int)((wake - now + NS_PER_MS - 1) / NS_PER_MS) : 0,
				       on_event, &rec);
		if (n < 0 && n != -EINTR) {
			st_err("failed to read events: %s", strerror(-n));
			goto cleanup_writer;
		}
		if (rec.print && fflush(stdout) && errno == EPIPE)
			break;
	}
	/* What the ring buffer still holds, then the final state. */
	if (!rec.err)
		event_source__drain(src, on_event, &rec);
	if (!rec.err && !target_gone)
		record_snapshot(&rec, taker, 0);
	if (!rec.err)
		status = ST_EXIT_OK;

cleanup_writer:
	if (show_progress)
		fputs("\r\033[K", stderr);
	{
		uint64_t events = trace_writer__events(rec.w);
		uint64_t snaps = trace_writer__snapshots(rec.w);
		uint64_t lost = event_source__lost(src);
		double secs = (st_now_ns() - start) / 1e9;
		char name[4 * 256 + 1];

		if (trace_writer__close(rec.w))
			status = ST_EXIT_FAIL;
		rec.w = NULL;
		if (!stat(env->write_path, &st)) {
			st_term_escape(name, sizeof(name), env->write_path,
				       strnlen(env->write_path, 256));
			char per_event[48] = "";

			if (events)
				snprintf(per_event, sizeof(per_event), " (%.1f bytes/event)",
					 (double)st.st_size / events);
			uint64_t n_late = event_source__late(src);
			char late[64] = "";

			if (n_late)
				snprintf(late, sizeof(late), ", %llu out of time order",
					 (unsigned long long)n_late);
			fprintf(stderr, "socktrace: recorded %llu events and %llu snapshots to '%s' "
				"in %.1f s: %lld bytes%s, %llu lost%s%s\n",
				(unsigned long long)events, (unsigned long long)snaps, name, secs,
				(long long)st.st_size, per_event, (unsigned long long)lost, late,
				target_gone ? "; the process exited" : "");
		}
	}
cleanup:
	trace_writer__close(rec.w);
	st_snapshot__free(&rec.last);
	snapshot_taker__close(taker);
	event_source__close(src);
	return status;
}
