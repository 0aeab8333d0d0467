// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --events: stream a process's socket events; --probe: show hook tiers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "events.h"
#include "format.h"
#include "print.h"
#include "util.h"

/* Ring drain tick: bounds how long a batched event waits to be printed. */
#define POLL_MS 50
#define ALIVE_CHECK_NS (200 * 1000 * 1000ull)

struct events_out {
	FILE *f;
	int json;
	uint64_t by_type[ST_EV_TYPE_COUNT];
	uint64_t printed;
};

static void on_event(const struct st_event *e, void *ctx)
{
	struct events_out *o = ctx;

	if (e->type < ST_EV_TYPE_COUNT)
		o->by_type[e->type]++;
	o->printed++;
	if (o->json)
		st_print_event_json(o->f, e);
	else
		st_print_event_text(o->f, e);
}

static void print_tiers(FILE *f, const struct event_source *src)
{
	const struct st_hook_status *hooks = event_source__hooks(src);

	for (int h = 0; h < ST_HOOK_COUNT; h++)
		fprintf(f, "%s%s=%s", h ? " " : "", hooks[h].hook, st_tier_name(hooks[h].tier));
	if (!event_source__takes_exits(src))
		fprintf(f, "; no syscall exits (--filter needs none)");
	fprintf(f, "\n");
}

static void print_summary(const struct events_out *o, struct event_source *src, uint32_t pid,
			  const char *why)
{
	uint64_t lost = event_source__lost(src), skipped = event_source__skipped(src);
	uint64_t late = event_source__late(src), unseen = event_source__drops_unseen(src);

	fprintf(stderr, "socktrace: %s: %" PRIu64 " events", why, o->printed);
	for (unsigned int t = 1; t < ST_EV_TYPE_COUNT; t++)
		if (o->by_type[t] && t != ST_EV_LOST)
			fprintf(stderr, ", %s %" PRIu64, st_event_type_name(t), o->by_type[t]);
	if (skipped)
		fprintf(stderr, "; %" PRIu64 " lost (%" PRIu64 " of them hook runs the kernel skipped)",
			lost, skipped);
	else
		fprintf(stderr, "; %" PRIu64 " lost", lost);
	if (late)
		fprintf(stderr, "; %" PRIu64 " out of time order", late);
	if (unseen)
		fprintf(stderr, "; %" PRIu64 " drops on the listeners that no hook saw", unseen);
	fprintf(stderr, "\n");
	if (o->json) {
		fprintf(o->f, "{\"type\":\"summary\",\"time_ns\":%" PRIu64 ",\"pid\":%u,"
			"\"delivered\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"lost_skipped\":%" PRIu64
			",\"late\":%" PRIu64 ",\"drops_unseen\":%" PRIu64 ",\"by_type\":{",
			st_now_ns(), pid, event_source__delivered(src), lost, skipped, late, unseen);
		int n = 0;

		for (unsigned int t = 1; t < ST_EV_TYPE_COUNT; t++)
			if (o->by_type[t])
				fprintf(o->f, "%s\"%s\":%" PRIu64, n++ ? "," : "",
					st_event_type_name(t), o->by_type[t]);
		fprintf(o->f, "}}\n");
	}
}

int events_cmd(const struct st_env *env)
{
	struct events_out out = { .f = stdout, .json = env->json };
	struct event_source *src = NULL;
	uint64_t start, deadline = 0, next_alive;
	uint64_t mask;
	const char *why = "stopped";
	int err, ret = ST_EXIT_OK;

	if (st_event_filter_parse(env->filter, &mask))
		return ST_EXIT_USAGE;
	if (st_check_bpf_env())
		return ST_EXIT_FAIL;
	err = event_source__open_filtered(&src, env->pid, env->mode, (uint32_t)mask);
	if (err)
		return ST_EXIT_FAIL;
	st_stdout_buffer();
	fprintf(stderr, "socktrace: tracing pid %u: ", env->pid);
	print_tiers(stderr, src);
	if (event_source__kprobe_gap(src))
		st_warn("%s", ST_KPROBE_GAP_MSG);

	start = st_now_ns();
	next_alive = start + ALIVE_CHECK_NS;
	if (env->duration_s > 0)
		deadline = start + (uint64_t)(env->duration_s * 1e9);
	while (!st_exiting) {
		uint64_t now;
		int timeout = POLL_MS;

		err = event_source__poll(src, timeout, on_event, &out);
		if (err < 0 && err != -EINTR) {
			st_err("failed to read events: %s", strerror(-err));
			ret = ST_EXIT_FAIL;
			break;
		}
		if (fflush(out.f) || ferror(out.f)) {
			st_err("failed to write output: %s", strerror(errno));
			ret = ST_EXIT_FAIL;
			break;
		}
		now = st_now_ns();
		if (deadline && now >= deadline) {
			why = "duration elapsed";
			break;
		}
		if (now >= next_alive) {
			next_alive = now + ALIVE_CHECK_NS;
			if (!st_pid_alive(env->pid)) {
				why = "process exited";
				break;
			}
		}
	}
	if (st_exiting)
		why = st_exiting == SIGTERM ? "SIGTERM" : st_exiting == SIGINT ? "SIGINT" : "signal";
	/* what is already in the ring */
	event_source__drain(src, on_event, &out);
	print_summary(&out, src, env->pid, why);
	if (fflush(out.f) || ferror(out.f))
		ret = ST_EXIT_FAIL;
	event_source__close(src);
	return ret;
}

int probe_cmd(const struct st_env *env)
{
	struct st_hook_status hooks[ST_HOOK_COUNT];
	const char *exits, *exits_why;
	int err;

	if (st_check_bpf_env())
		return ST_EXIT_FAIL;
	err = event_source__probe(hooks, env->mode);
	exits = event_source__syscall_exits(hooks, &exits_why);
	if (env->json) {
		printf("{\"mode\":\"%s\",\"ok\":%s,\"hooks\":[",
		       env->mode == ST_MODE_AUTO ? "auto" : st_tier_name((unsigned int)env->mode),
		       err ? "false" : "true");
		for (int h = 0; h < ST_HOOK_COUNT; h++) {
			printf("%s{\"hook\":", h ? "," : "");
			st_json_string(stdout, hooks[h].hook, strlen(hooks[h].hook));
			printf(",\"tier\":\"%s\",\"why\":", st_tier_name(hooks[h].tier));
			st_json_string(stdout, hooks[h].why, strlen(hooks[h].why));
			printf("}");
		}
		printf("],\"syscall_exits\":\"%s\",\"syscall_exits_why\":", exits);
		st_json_string(stdout, exits_why, strlen(exits_why));
		printf(",\"syn_packets\":\"%s\",\"kprobe_skips_counted\":%s}\n",
		       event_source__syn_packets(),
		       event_source__kprobe_skips_counted() ? "true" : "false");
	} else {
		printf("%-44s %-10s %s\n", "HOOK", "TIER", "WHY NOT A BETTER TIER");
		for (int h = 0; h < ST_HOOK_COUNT; h++)
			printf("%-44s %-10s %s\n", hooks[h].hook, st_tier_name(hooks[h].tier),
			       hooks[h].why[0] ? hooks[h].why : "-");
		/* every tier takes some syscall exits (an accept's fd, an
		 * epoll_wait's return) */
		if (!strncmp(exits, "fexit", 5))
			printf("\nsyscall exits: %s (only the syscalls needed pay; a tracepoint as well "
			       "until the target's calls in progress at attach have returned)\n",
			       exits);
		else {
			if (!strncmp(exits, "syscalls:", 9))
				printf("\nsyscall exits: %s (a program at the syscalls needed only, but "
				       "every syscall takes the kernel's slow path while any syscall "
				       "tracepoint is on; %s)\n",
				       exits, exits_why);
			else
				printf("\nsyscall exits: %s, every syscall runs a program: %s\n", exits,
				       exits_why);
			/* where the exits cost every syscall, the way not to pay */
			printf("  (none taken by --events --filter of listener events alone: syn_recv, "
			       "synack_retrans, syn_queue_full, child_queued, accept_overflow)\n");
		}
		printf("SYN packets: %s\n", event_source__syn_packets());
		if (event_source__kprobe_hooks(hooks))
			printf("kprobe runs the kernel skips: %s\n",
			       event_source__kprobe_skips_counted()
				       ? "counted, reported as lost"
				       : "not counted before Linux 6.7, so not reported "
					 "(--mode fentry or tracepoint have no such gap)");
	}
	if (fflush(stdout) || ferror(stdout))
		return ST_EXIT_FAIL;
	if (err) {
		st_err("--mode %s is not available on this kernel (see above)",
		       st_tier_name((unsigned int)env->mode));
		return ST_EXIT_FAIL;
	}
	return ST_EXIT_OK;
}
