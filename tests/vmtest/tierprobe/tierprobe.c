// SPDX-License-Identifier: GPL-2.0
/* tierprobe: can this kernel load and fire one BPF attach tier?
 *
 *   tierprobe [-v] fentry|kprobe|tracepoint|tp_btf
 *
 * Loads the one program of that tier, attaches it, makes a TCP connection
 * on 127.0.0.1 and checks that the program saw it. Exit 0: attached and
 * fired; 2: open/load/attach failed; 3: attached but never fired; 1: usage
 * or a setup error. One line on stdout says which.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "tierprobe.skel.h"

static const char *const tier_names[] = { "fentry", "kprobe", "tracepoint", "tp_btf" };
#define TIER_COUNT (sizeof(tier_names) / sizeof(tier_names[0]))

static int verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static struct bpf_program *tier_program(struct tierprobe_bpf *skel, int tier)
{
	struct bpf_program *progs[] = {
		skel->progs.on_fentry, skel->progs.on_kprobe,
		skel->progs.on_tracepoint, skel->progs.on_tp_btf,
	};
	return progs[tier];
}

/* one connect() to a listener of our own; returns 0 or -errno */
static int trigger_connect(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int listener, client, err = 0;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0)
		return -errno;
	if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(listener, 1) ||
	    getsockname(listener, (struct sockaddr *)&addr, &len)) {
		err = -errno;
		goto close_listener;
	}
	client = socket(AF_INET, SOCK_STREAM, 0);
	if (client < 0) {
		err = -errno;
		goto close_listener;
	}
	if (connect(client, (struct sockaddr *)&addr, sizeof(addr)))
		err = -errno;
	close(client);
close_listener:
	close(listener);
	return err;
}

int main(int argc, char **argv)
{
	struct tierprobe_bpf *skel = NULL;
	int tier = -1, err, i, arg = 1;
	__u64 hits;

	while (arg < argc && strcmp(argv[arg], "-v") == 0) {
		verbose++;
		arg++;
	}
	for (i = 0; arg == argc - 1 && i < (int)TIER_COUNT; i++)
		if (strcmp(argv[arg], tier_names[i]) == 0)
			tier = i;
	if (tier < 0) {
		fprintf(stderr, "usage: tierprobe [-v] fentry|kprobe|tracepoint|tp_btf\n");
		return 1;
	}
	libbpf_set_print(libbpf_print);

	skel = tierprobe_bpf__open();
	if (!skel) {
		err = -errno;
		printf("%s: open failed: %s\n", tier_names[tier], strerror(-err));
		return 2;
	}
	skel->rodata->target_tgid = getpid();
	for (i = 0; i < (int)TIER_COUNT; i++)
		bpf_program__set_autoload(tier_program(skel, i), i == tier);

	err = tierprobe_bpf__load(skel);
	if (err) {
		printf("%s: load failed: %s\n", tier_names[tier], strerror(-err));
		err = 2;
		goto destroy;
	}
	if (!bpf_program__attach(tier_program(skel, tier))) {
		err = -errno;
		printf("%s: attach failed: %s\n", tier_names[tier], strerror(-err));
		err = 2;
		goto destroy;
	}
	err = trigger_connect();
	if (err) {
		printf("%s: connect on 127.0.0.1 failed: %s\n", tier_names[tier], strerror(-err));
		err = 1;
		goto destroy;
	}
	hits = skel->bss->hits[tier];
	if (!hits) {
		printf("%s: attached, but saw no tcp_v4_connect\n", tier_names[tier]);
		err = 3;
		goto destroy;
	}
	printf("%s: attached and fired %llu time(s)\n", tier_names[tier], (unsigned long long)hits);
	err = 0;
destroy:
	tierprobe_bpf__destroy(skel);
	return err;
}
