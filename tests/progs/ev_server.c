// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A TCP server for the event tests. Prints "LISTEN <port>" once listening,
 * then, per mode:
 *   accept N   accepts N connections one by one ("ACCEPT <fd> <rport>"),
 *              reads each to EOF, closes it ("CLOSE <fd>"); blocked in
 *              accept() (-r: in poll() on all listeners)
 *   noaccept   never accepts (the accept queue fills up)
 *   epoll      epoll echo server: "EPFD <fd>" once, "WAIT <n>" per
 *              epoll_wait return, "READY <fd>" per readable fd
 *   epreuse    an epoll instance watching the listener ("EPFD <fd>") is
 *              closed after a connection wakes it, unwaited; 0.5 s later
 *              a new one gets its fd and the listener, still readable
 *              (never accepted), so its epoll_wait returns at once:
 *              "EPFD2 <fd> WAIT <n>"
 *   epexcl first|second
 *              this process's epoll instance and a child's watch the
 *              listener with EPOLLEXCLUSIVE, this one's added first or
 *              second ("EPFD <fd>", "OTHER <pid>" once both are); the
 *              child waits in epoll_wait (edge-triggered) and never
 *              accepts ("OTHER_WAKE <n>" per return); this one waits for
 *              SIGUSR1, then "READY <n>" from an epoll_wait that does not
 *              block: 1 if a wake-up put the listener on its ready list
 *   epmany N   N epoll instances watch the listener ("EPFDS <fd>..."); on
 *              SIGUSR1, "READY <fd> <n>" for each, from an epoll_wait that
 *              does not block
 * and exits after -t SECONDS (default 60) or on SIGTERM. -r N: N listeners
 * on the port (SO_REUSEPORT), accept mode taking from any. -W: in accept
 * mode, wait for SIGUSR1 before the first accept (connections wait in the
 * accept queue until then). -L K: listeners K and on (counted from 0) listen
 * only after a SIGUSR1 ("HOLD" once they wait), so that a tracer attached
 * meanwhile sees their listen().
 *
 *   ev_server [-6] [-W] [-r N] [-L K] [-p PORT] [-b BACKLOG] [-t SECONDS] MODE [N]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "testlib.h"

static int listen_on(int v6, int port, int backlog, int reuseport)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int fd, one = 1;

	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	CHECK(fd);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	if (reuseport)
		CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)));
	if (v6) {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons(port);
		len = sizeof(*a);
	}
	CHECK(bind(fd, (void *)&ss, len));
	CHECK(listen(fd, backlog));
	CHECK(getsockname(fd, (void *)&ss, &len));
	printf("LISTEN %u\n", ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
				       ((struct sockaddr_in *)&ss)->sin_port));
	return fd;
}

static int peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (void *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						((struct sockaddr_in *)&ss)->sin_port);
}

static void on_alarm(int sig)
{
	exit(0);
}

int main(int argc, char **argv)
{
	int v6 = 0, port = 0, backlog = 128, secs = 60, wait_sig = 0, nlisten = 1, hold = -1, opt;
	int lfd, sig;
	int lfds[8];
	sigset_t usr1;
	const char *mode;

	while ((opt = getopt(argc, argv, "6Wp:b:t:r:L:")) != -1) {
		switch (opt) {
		case 'r':
			nlisten = atoi(optarg);
			if (nlisten < 1 || nlisten > 8)
				DIE("-r: 1 to 8 listeners");
			break;
		case 'L': hold = atoi(optarg); break;
		case 'W': wait_sig = 1; break;
		case '6': v6 = 1; break;
		case 'p': port = atoi(optarg); break;
		case 'b': backlog = atoi(optarg); break;
		case 't': secs = atoi(optarg); break;
		default: fprintf(stderr, "usage: ev_server [-6] [-W] [-r N] [-L K] [-p PORT] [-b BACKLOG] [-t S] MODE [N]\n"); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ev_server: no mode\n");
		return 2;
	}
	mode = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm(secs);
	/* blocked before LISTEN is printed: a SIGUSR1 sent then waits */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	/* -r N: N listeners on the port (SO_REUSEPORT; it needs a port) */
	if (nlisten > 1 && !port)
		DIE("-r needs -p");
	if (hold >= nlisten)
		DIE("-L: a listener of -r's");
	for (int i = 0; i < nlisten; i++) {
		if (i == hold) {
			printf("HOLD\n");
			sigwait(&usr1, &sig);
		}
		lfds[i] = listen_on(v6, port, backlog, nlisten > 1);
	}
	lfd = lfds[0];

	if (!strcmp(mode, "accept")) {
		int n = optind + 1 < argc ? atoi(argv[optind + 1]) : 1;
		char buf[4096];

		if (wait_sig)
			sigwait(&usr1, &sig);
		for (int i = 0; i < n; i++) {
			struct pollfd p[8];
			int fd, ready = 0;

			/* from whichever listener has one; one listener: blocked
			 * in accept(), as a simple server is */
			for (int k = 0; k < nlisten; k++)
				p[k] = (struct pollfd){ .fd = lfds[k], .events = POLLIN };
			if (nlisten > 1)
				CHECK(poll(p, nlisten, -1));
			while (nlisten > 1 && !(p[ready].revents & POLLIN))
				ready++;
			fd = accept(lfds[ready], NULL, NULL);

			CHECK(fd);
			printf("ACCEPT %d %d\n", fd, peer_port(fd));
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
			printf("CLOSE %d\n", fd);
		}
		printf("DONE\n");
		pause();
	} else if (!strcmp(mode, "noaccept")) {
		for (;;)
			pause();
	} else if (!strcmp(mode, "epoll")) {
		struct epoll_event ev = { .events = EPOLLIN }, evs[64];
		int ep = epoll_create1(0);
		char buf[4096];

		CHECK(ep);
		printf("EPFD %d\n", ep);
		ev.data.fd = lfd;
		CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
		for (;;) {
			int n = epoll_wait(ep, evs, 64, -1);

			if (n < 0)
				continue;
			printf("WAIT %d\n", n);
			for (int i = 0; i < n; i++) {
				int fd = evs[i].data.fd;

				printf("READY %d\n", fd);
				if (fd == lfd) {
					int c = accept(lfd, NULL, NULL);

					if (c < 0)
						continue;
					printf("ACCEPT %d %d\n", c, peer_port(c));
					ev.events = EPOLLIN;
					ev.data.fd = c;
					CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
					continue;
				}
				ssize_t r = read(fd, buf, sizeof(buf));

				if (r > 0) {
					if (write(fd, buf, r) < 0)
						perror("write");
				} else {
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					close(fd);
					printf("CLOSE %d\n", fd);
				}
			}
		}
	} else if (!strcmp(mode, "epreuse")) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[4];
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int ep = epoll_create1(0), n;

		CHECK(ep);
		CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
		printf("EPFD %d\n", ep);
		CHECK(poll(&p, 1, -1)); /* the wake-up, seen by poll, not epoll_wait */
		close(ep);
		usleep(500 * 1000);
		ep = epoll_create1(0);
		CHECK(ep);
		/* ready when added: on the ready list with no wake-up */
		CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
		n = epoll_wait(ep, evs, 4, 2000);
		printf("EPFD2 %d WAIT %d\n", ep, n);
		for (;;)
			pause();
	} else if (!strcmp(mode, "epexcl")) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = lfd },
				   evs[4];
		int first = optind + 1 < argc && !strcmp(argv[optind + 1], "first");
		int to_kid[2], to_us[2], ep = -1, n;
		char b = 0;
		pid_t kid;

		CHECK(pipe(to_kid));
		CHECK(pipe(to_us));
		kid = fork();
		CHECK(kid);
		if (kid == 0) {
			int kep;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (first && read(to_kid[0], &b, 1) != 1)
				DIE("epexcl: parent gone");
			kep = epoll_create1(0);
			CHECK(kep);
			ev.events |= EPOLLET;
			CHECK(epoll_ctl(kep, EPOLL_CTL_ADD, lfd, &ev));
			CHECK(write(to_us[1], &b, 1));
			for (;;) {
				n = epoll_wait(kep, evs, 4, -1);
				if (n > 0)
					printf("OTHER_WAKE %d\n", n);
			}
		}
		if (first) {
			ep = epoll_create1(0);
			CHECK(ep);
			CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
			CHECK(write(to_kid[1], &b, 1));
		}
		if (read(to_us[0], &b, 1) != 1)
			DIE("epexcl: child gone");
		if (!first) {
			ep = epoll_create1(0);
			CHECK(ep);
			CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
		}
		printf("EPFD %d\nOTHER %d\n", ep, (int)kid);
		sigwait(&usr1, &sig);
		n = epoll_wait(ep, evs, 4, 0);
		printf("READY %d\n", n);
		for (;;)
			pause();
	} else if (!strcmp(mode, "epmany")) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[4];
		int n = optind + 1 < argc ? atoi(argv[optind + 1]) : 1, eps[64];

		if (n < 1 || n > 64)
			DIE("epmany: 1 to 64 instances");
		printf("EPFDS");
		for (int i = 0; i < n; i++) {
			eps[i] = epoll_create1(0);
			CHECK(eps[i]);
			CHECK(epoll_ctl(eps[i], EPOLL_CTL_ADD, lfd, &ev));
			printf(" %d", eps[i]);
		}
		printf("\n");
		sigwait(&usr1, &sig);
		for (int i = 0; i < n; i++)
			printf("READY %d %d\n", eps[i], epoll_wait(eps[i], evs, 4, 0));
		for (;;)
			pause();
	} else {
		fprintf(stderr, "ev_server: unknown mode '%s'\n", mode);
		return 2;
	}
	return 0;
}
