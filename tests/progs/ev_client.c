// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A TCP client for the event tests.
 *   ev_client [-6] [-s MSG] [-d MS] ADDR PORT N
 *       N connections one after the other: connect, print "CONN <lport>",
 *       with -s send MSG and wait for the echo, then close
 *   ev_client [-6] -H SECONDS ADDR PORT N
 *       N non-blocking connects at once, held open SECONDS, then closed
 * -W: wait for SIGUSR1 before the first connect (so a tracer can attach)
 * -K: after the last close print "DONE" and wait for SIGUSR1 (so a tracer
 *     stopped by this process's exit does not stop before the peer's FINs)
 * -w MS: pause MS before sending and before closing
 * -e: a failed connect prints "ERR <errno>" and goes on
 * -R: close with a reset (SO_LINGER 0) instead of a FIN
 */
#include <signal.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "testlib.h"

static socklen_t make_addr(struct sockaddr_storage *ss, int v6, const char *addr, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *a = (void *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
			DIE("bad address %s", addr);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (void *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
		DIE("bad address %s", addr);
	return sizeof(*a);
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (void *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						((struct sockaddr_in *)&ss)->sin_port);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	const char *msg = NULL;
	int v6 = 0, hold = -1, delay_ms = 0, pause_ms = 0, wait_sig = 0, tolerate = 0, reset = 0;
	int keep = 0;
	int opt, n, port, sig;
	sigset_t usr1;
	socklen_t len;

	while ((opt = getopt(argc, argv, "6s:d:H:Ww:eRK")) != -1) {
		switch (opt) {
		case 'W': wait_sig = 1; break;
		case 'K': keep = 1; break;
		case 'w': pause_ms = atoi(optarg); break;
		case 'e': tolerate = 1; break;
		case 'R': reset = 1; break;
		case '6': v6 = 1; break;
		case 's': msg = optarg; break;
		case 'd': delay_ms = atoi(optarg); break;
		case 'H': hold = atoi(optarg); break;
		default: fprintf(stderr, "usage: ev_client [-6] [-R] [-W] [-K] [-s MSG] [-d MS] [-H S] ADDR PORT N\n"); return 2;
		}
	}
	if (argc - optind != 3) {
		fprintf(stderr, "usage: ev_client [-6] [-R] [-W] [-K] [-s MSG] [-d MS] [-H S] ADDR PORT N\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	port = atoi(argv[optind + 1]);
	n = atoi(argv[optind + 2]);
	len = make_addr(&ss, v6, argv[optind], port);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (wait_sig || keep)
		sigprocmask(SIG_BLOCK, &usr1, NULL);
	if (wait_sig) {
		printf("WAITING\n");
		sigwait(&usr1, &sig);
	}

	if (hold >= 0) {
		int *fds = calloc(n, sizeof(int));

		for (int i = 0; i < n; i++) {
			fds[i] = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
			CHECK(fds[i]);
			if (connect(fds[i], (void *)&ss, len) && errno != EINPROGRESS)
				DIE("connect");
			printf("CONN %d\n", local_port(fds[i]));
		}
		sleep(hold);
		for (int i = 0; i < n; i++)
			close(fds[i]);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		int fd = socket(ss.ss_family, SOCK_STREAM, 0);
		char buf[4096];

		CHECK(fd);
		if (connect(fd, (void *)&ss, len)) {
			if (!tolerate)
				DIE("connect");
			printf("ERR %d\n", errno);
			close(fd);
			continue;
		}
		printf("CONN %d\n", local_port(fd));
		sleep_ms(pause_ms);
		if (msg) {
			size_t got = 0, want = strlen(msg);

			CHECK(write(fd, msg, want));
			while (got < want) {
				ssize_t r = read(fd, buf, sizeof(buf));

				if (r <= 0)
					DIE("read echo");
				got += r;
			}
		}
		sleep_ms(pause_ms);
		if (reset) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
		}
		close(fd);
		sleep_ms(delay_ms);
	}
	if (keep) {
		printf("DONE\n");
		sigwait(&usr1, &sig);
	}
	return 0;
}
