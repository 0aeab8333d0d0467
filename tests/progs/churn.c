// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Load generator for the event benchmark, loopback only, bounded in time.
 *
 *   churn server [-p PORT] [-t SECONDS]
 *       epoll server on 127.0.0.1: accepts, echoes what it reads, closes on
 *       EOF. Prints "SERVER <pid> <port>"; exits after SECONDS (default 120)
 *       or on SIGTERM.
 *   churn client [-j THREADS] [-n ROUNDTRIPS] [-s SIZE] PORT SECONDS
 *       THREADS threads, each: connect, ROUNDTRIPS times write SIZE bytes and
 *       read them back (0: none, pure connect/accept/close churn), close;
 *       as fast as it goes for SECONDS. Prints
 *       "RESULT conns <n> seconds <s> conns_per_s <r> errors <e>".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "testlib.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_alarm(int sig)
{
	_exit(0);
}

static int server(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct epoll_event ev, evs[256];
	int port = 0, secs = 120, opt, lfd, ep, one = 1;
	socklen_t len = sizeof(a);
	char buf[65536];

	while ((opt = getopt(argc, argv, "p:t:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 't': secs = atoi(optarg); break;
		default: fprintf(stderr, "usage: churn server [-p PORT] [-t SECONDS]\n"); return 2;
		}
	}
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm(secs);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(lfd);
	CHECK(setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	CHECK(bind(lfd, (void *)&a, sizeof(a)));
	CHECK(listen(lfd, 65535));
	CHECK(getsockname(lfd, (void *)&a, &len));
	ep = epoll_create1(0);
	CHECK(ep);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
	printf("SERVER %d %u\n", getpid(), ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					ev.events = EPOLLIN;
					ev.data.fd = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev))
						close(c);
				}
				continue;
			}
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r > 0) {
				if (write(fd, buf, r) != r) {
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					close(fd);
				}
			} else if (r == 0 || errno != EAGAIN) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
	}
}

struct client_cfg {
	struct sockaddr_in addr;
	int roundtrips;
	int size;
	double end;
	atomic_ulong conns;
	atomic_ulong errors;
};

static void *client_thread(void *arg)
{
	struct client_cfg *c = arg;
	char *buf = calloc(1, c->size ? c->size : 1);
	int one = 1;

	while (now_s() < c->end) {
		/* a batch between clock reads */
		for (int k = 0; k < 16; k++) {
			int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 1;

			if (fd < 0) {
				atomic_fetch_add(&c->errors, 1);
				continue;
			}
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			if (connect(fd, (void *)&c->addr, sizeof(c->addr))) {
				atomic_fetch_add(&c->errors, 1);
				close(fd);
				continue;
			}
			for (int i = 0; i < c->roundtrips && ok; i++) {
				int got = 0;

				if (write(fd, buf, c->size) != c->size) {
					ok = 0;
					break;
				}
				while (got < c->size) {
					ssize_t r = read(fd, buf + got, c->size - got);

					if (r <= 0) {
						ok = 0;
						break;
					}
					got += r;
				}
			}
			close(fd);
			if (ok)
				atomic_fetch_add(&c->conns, 1);
			else
				atomic_fetch_add(&c->errors, 1);
		}
	}
	free(buf);
	return NULL;
}

static int client(int argc, char **argv)
{
	static struct client_cfg c = { .size = 64 };
	int threads = 2, opt;
	pthread_t tids[64];
	double secs, start;

	while ((opt = getopt(argc, argv, "j:n:s:")) != -1) {
		switch (opt) {
		case 'j': threads = atoi(optarg); break;
		case 'n': c.roundtrips = atoi(optarg); break;
		case 's': c.size = atoi(optarg); break;
		default: fprintf(stderr, "usage: churn client [-j T] [-n RT] [-s SIZE] PORT SECONDS\n"); return 2;
		}
	}
	if (argc - optind != 2 || threads < 1 || threads > 64 || c.size < 1 || c.size > 65536) {
		fprintf(stderr, "usage: churn client [-j T] [-n RT] [-s SIZE] PORT SECONDS\n");
		return 2;
	}
	c.addr.sin_family = AF_INET;
	c.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c.addr.sin_port = htons(atoi(argv[optind]));
	secs = atof(argv[optind + 1]);
	if (secs <= 0 || secs > 600) {
		fprintf(stderr, "churn: SECONDS must be in (0, 600]\n");
		return 2;
	}
	start = now_s();
	c.end = start + secs;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, client_thread, &c))
			DIE("pthread_create");
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	secs = now_s() - start;
	printf("RESULT conns %lu seconds %.3f conns_per_s %.0f errors %lu\n",
	       (unsigned long)c.conns, secs, c.conns / secs, (unsigned long)c.errors);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "server"))
		return server(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "client"))
		return client(argc - 1, argv + 1);
	fprintf(stderr, "usage: churn server|client ...\n");
	return 2;
}
