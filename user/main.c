// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* socktrace: see what the kernel holds for a process's sockets. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "util.h"

volatile sig_atomic_t st_exiting;

static void on_signal(int sig)
{
	st_exiting = sig;
}

void st_install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

const char *argp_program_version = "socktrace " SOCKTRACE_VERSION;
const char *argp_program_bug_address = "https://github.com/socktrace/socktrace/issues";

static const char doc[] =
"socktrace: see, live, what the kernel holds for one process's sockets.\n"
"\n"
"For process PID it shows each listening socket's two queues (the SYN queue of\n"
"half-open connections and the accept queue of finished handshakes waiting for\n"
"accept()), overflows as they happen, the fd table, and each epoll instance's\n"
"interest list and ready list. State comes from BPF iterators, events from BPF\n"
"programs on the kernel's socket paths. Needs root (or CAP_BPF+CAP_PERFMON) and\n"
"a kernel with BTF.\n"
"\n"
"MODES (default: the live terminal UI)\n"
"  --once       print one snapshot and exit\n"
"  --events     stream events, one line each\n"
"  --probe      show which hook tier this kernel allows, and why\n"
"  --demo       run a built-in overloaded server and watch it\n"
"  -r FILE      read a recorded trace (TUI replay, --text, --json, --export)\n"
"\n"
"EXAMPLES\n"
"  sudo socktrace --demo                     watch a backlog overflow, live\n"
"  sudo socktrace --pid $(pgrep -o nginx)    live view of nginx's sockets\n"
"  sudo socktrace -p 1234 --once             print queues, epoll and fds\n"
"  sudo socktrace -p 1234 --once --json      the same as one JSON object\n"
"  sudo socktrace -p 1234 --events --duration 10\n"
"                                            10 s of connect/accept/overflow...\n"
"  sudo socktrace -p 1234 --events --filter accept_overflow,syn_queue_full\n"
"                                            the drops alone, at the least cost\n"
"  sudo socktrace -p 1234 --no-tui -w x.st   record headless until Ctrl-C\n"
"  socktrace -r x.st --text                  print a recording\n"
"  socktrace -r x.st --export perfetto -o x.json\n"
"                                            open in ui.perfetto.dev\n"
"\n"
"EXIT STATUS\n"
"  0 ok, 1 runtime failure (no such process, no permission, no BTF...),\n"
"  2 usage error.\n"
"\n"
"OPTIONS";

enum {
	OPT_ONCE = 1000, OPT_JSON, OPT_TEXT, OPT_EVENTS, OPT_PROBE, OPT_DEMO,
	OPT_NO_TUI, OPT_FORCE, OPT_MODE, OPT_DURATION, OPT_EXPORT, OPT_FILTER,
};

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Process to trace (a thread id means its process)", 1 },
	{ "once", OPT_ONCE, NULL, 0, "Print one snapshot (listeners, epoll, fds) and exit", 1 },
	{ "events", OPT_EVENTS, NULL, 0, "Print one line per event until stopped", 1 },
	{ "json", OPT_JSON, NULL, 0, "JSON output (one object per line) for --once, --events, -r", 1 },
	{ "text", OPT_TEXT, NULL, 0, "Text output for -r", 1 },
	{ "duration", OPT_DURATION, "SECONDS", 0, "Stop after SECONDS (decimals allowed)", 1 },
	{ "filter", OPT_FILTER, "TYPES", 0,
	  "Only these event types, comma-separated (e.g. accept,accept_overflow), "
	  "with --events or -r and --text/--json; the listeners' queue events alone "
	  "need no syscall exits and cost least", 1 },
	{ "interval", 'i', "MS", 0, "Refresh interval of the UI and snapshots (default 100)", 2 },
	{ "mode", OPT_MODE, "MODE", 0,
	  "Hook tier: auto (default: best per hook), fentry, kprobe, tracepoint", 2 },
	{ "probe", OPT_PROBE, NULL, 0, "Show the tier each hook gets on this kernel, and why", 2 },
	{ "demo", OPT_DEMO, NULL, 0, "Start a demo server that overflows its backlog, and watch it", 2 },
	{ "write", 'w', "FILE", 0, "Record to FILE (with the UI, --events or --no-tui)", 3 },
	{ "no-tui", OPT_NO_TUI, NULL, 0, "Record without the UI (with -w)", 3 },
	{ "force", OPT_FORCE, NULL, 0, "Overwrite an existing -w/-o file", 3 },
	{ "read", 'r', "FILE", 0, "Read a recorded trace", 3 },
	{ "export", OPT_EXPORT, "FORMAT", 0, "With -r: convert (perfetto: Chrome Trace Event JSON)", 3 },
	{ "output", 'o', "FILE", 0, "Output file for --export (default: stdout)", 3 },
	{ "verbose", 'v', NULL, 0, "Show libbpf messages (verifier logs), and when syscall exits pass from a tracepoint to fexit alone", 4 },
	{},
};

static struct st_env env = { .interval_ms = 100 };

/* One line and exit 2: argp_error() adds a second "Try --help" line. */
#define usage_error(state, ...)                                              \
	do {                                                                 \
		(void)(state);                                               \
		st_err(__VA_ARGS__);                                         \
		exit(ST_EXIT_USAGE);                                         \
	} while (0)

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	unsigned long v;
	char *end;

	switch (key) {
	case 'p':
		if (parse_uint(arg, INT_MAX, &v) || v == 0)
			usage_error(state, "invalid pid '%s': want a positive number", arg);
		env.pid_arg = (uint32_t)v;
		break;
	case OPT_ONCE: env.once = 1; break;
	case OPT_EVENTS: env.events = 1; break;
	case OPT_JSON: env.json = 1; break;
	case OPT_TEXT: env.text = 1; break;
	case OPT_PROBE: env.probe = 1; break;
	case OPT_DEMO: env.demo = 1; break;
	case OPT_NO_TUI: env.no_tui = 1; break;
	case OPT_FORCE: env.force = 1; break;
	case OPT_FILTER: env.filter = arg; break;
	case OPT_DURATION:
		errno = 0;
		env.duration_s = strtod(arg, &end);
		if (errno || end == arg || *end || env.duration_s <= 0 || env.duration_s > 1e7)
			usage_error(state, "invalid duration '%s': want seconds > 0", arg);
		break;
	case 'i':
		if (parse_uint(arg, 60000, &v) || v < 10)
			usage_error(state, "invalid interval '%s': want 10 to 60000 ms", arg);
		env.interval_ms = (unsigned int)v;
		break;
	case OPT_MODE:
		if (!strcmp(arg, "auto")) env.mode = ST_MODE_AUTO;
		else if (!strcmp(arg, "fentry")) env.mode = ST_MODE_FENTRY;
		else if (!strcmp(arg, "kprobe")) env.mode = ST_MODE_KPROBE;
		else if (!strcmp(arg, "tracepoint")) env.mode = ST_MODE_TRACEPOINT;
		else
			usage_error(state, "invalid mode '%s': want auto, fentry, kprobe or tracepoint", arg);
		break;
	case 'w': env.write_path = arg; break;
	case 'r': env.read_path = arg; break;
	case OPT_EXPORT:
		if (strcmp(arg, "perfetto"))
			usage_error(state, "unknown export format '%s': want perfetto", arg);
		env.export_fmt = arg;
		break;
	case 'o': env.output_path = arg; break;
	case 'v': st_verbose = 1; break;
	case ARGP_KEY_ARG:
		usage_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && st_verbose < 2)
		return 0;
	if (!st_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int check_usage(void)
{
	int modes = env.once + env.events + env.probe + env.demo + !!env.read_path;

	if (env.no_tui && !env.read_path)
		modes += !env.events;
	if (modes > 1 && !(env.no_tui && env.events)) {
		st_err("choose one of --once, --events/--no-tui, --probe, --demo, -r");
		return -EINVAL;
	}
	if ((env.text || env.export_fmt || env.output_path) && !env.read_path) {
		st_err("--text, --export and -o go with -r FILE");
		return -EINVAL;
	}
	/* it picks the events printed: elsewhere it would do nothing */
	if (env.filter && !env.events && !(env.read_path && (env.text || env.json))) {
		st_err("--filter picks the events printed: use it with --events, or -r FILE with --text or --json");
		return -EINVAL;
	}
	if (env.output_path && !env.export_fmt) {
		st_err("-o goes with --export");
		return -EINVAL;
	}
	if (env.no_tui && !env.write_path && !env.events) {
		st_err("--no-tui records: give -w FILE (or use --events to print)");
		return -EINVAL;
	}
	if (env.write_path && (env.once || env.probe || env.read_path || env.demo)) {
		st_err("-w records live tracing: use it with the UI, --events or --no-tui");
		return -EINVAL;
	}
	if (!env.pid_arg && !env.probe && !env.demo && !env.read_path) {
		st_err("no process given: use --pid PID (or --demo, --probe, -r FILE; see --help)");
		return -EINVAL;
	}
	if (env.pid_arg && (env.probe || env.demo || env.read_path)) {
		st_err("--pid does not go with --probe, --demo or -r");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc };
	int err;

	argp_err_exit_status = ST_EXIT_USAGE;
	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return ST_EXIT_USAGE;
	if (check_usage())
		return ST_EXIT_USAGE;
	libbpf_set_print(libbpf_print);
	st_install_signals();

	if (env.read_path)
		return replay_cmd(&env);
	if (env.probe)
		return probe_cmd(&env);
	if (env.demo)
		return demo_cmd(&env);

	if (st_resolve_pid(env.pid_arg, &env.pid)) {
		st_err("no process with pid %u (check the number with 'ps -p %u')",
		       env.pid_arg, env.pid_arg);
		return ST_EXIT_FAIL;
	}
	if (env.once)
		return snapshot_cmd(&env);
	if (env.write_path && (env.events || env.no_tui))
		return record_cmd(&env);
	if (env.events)
		return events_cmd(&env);
	return tui_cmd(&env);
}
