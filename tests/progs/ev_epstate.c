// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Epoll wake-ups that come from a socket's state changes, not its data
 * (sk_state_change(), sk_error_report()), for the event tests.
 *   ev_epstate PORT CLOSED_PORT
 * Prints "READY", waits for SIGUSR1 (a tracer attaches meanwhile), then,
 * each fd in an epoll instance (EPFD <epfd>) before anything happens to it:
 *   connect:  a non-blocking connect to 127.0.0.1:PORT, EPOLLOUT only;
 *   refused:  the same to CLOSED_PORT (nothing listens: a reset);
 *   accepted: the connection accept() got, EPOLLRDHUP only, until the
 *             client's shutdown(SHUT_WR) (its FIN) makes it ready;
 *   client:   the connecting side, EPOLLRDHUP only, through its own
 *             shutdown(SHUT_WR), the ACK of its FIN, and the peer's close.
 * Each step prints "FD <name> <fd>" and "GOT <name> <events>" (what
 * epoll_wait returned for it, in hex; 0 if nothing within 5 s), and at
 * the end "DONE", then waits for SIGUSR1 again before exiting.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testlib.h"

static int ep;

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static void watch(const char *name, int fd, unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	printf("FD %s %d\n", name, fd);
	fflush(stdout);
}

/* What epoll_wait returns for fd (other ready fds are skipped); it is
 * taken off the instance after. */
static void wait_for(const char *name, int fd, unsigned int want)
{
	struct epoll_event evs[8];
	unsigned int got = 0;

	for (int tries = 0; tries < 50 && (got & want) != want; tries++) {
		int n = epoll_wait(ep, evs, 8, 100);

		CHECK(n);
		for (int i = 0; i < n; i++)
			if (evs[i].data.fd == fd)
				got |= evs[i].events;
	}
	printf("GOT %s %x\n", name, got);
	fflush(stdout);
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL));
}

static int nb_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHECK(fd);
	CHECK(fcntl(fd, F_SETFL, O_NONBLOCK));
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a;
	sigset_t usr1;
	int sig, lfd, one = 1, c, r, s, acc;

	if (argc != 3) {
		fprintf(stderr, "usage: ev_epstate PORT CLOSED_PORT\n");
		return 2;
	}
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	alarm(120);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(lfd);
	CHECK(setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	a = loopback(atoi(argv[1]));
	CHECK(bind(lfd, (struct sockaddr *)&a, sizeof(a)));
	CHECK(listen(lfd, 8));
	ep = epoll_create1(0);
	CHECK(ep);
	printf("EPFD %d\nREADY\n", ep);
	fflush(stdout);
	sigwait(&usr1, &sig);

	/* connect: watched before connect(), so its end is a wake-up */
	c = nb_socket();
	watch("connect", c, EPOLLOUT);
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
		DIE("connect");
	/* the unconnected socket was ready (EPOLLHUP) when added: what is
	 * waited for is EPOLLOUT without it */
	for (int tries = 0; tries < 50; tries++) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, 100), done = 0;

		CHECK(n);
		for (int i = 0; i < n; i++)
			if (evs[i].data.fd == c && !(evs[i].events & EPOLLHUP)) {
				printf("GOT connect %x\n", evs[i].events);
				done = 1;
			}
		if (done)
			break;
	}
	fflush(stdout);
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL));

	/* refused: a reset from the closed port */
	r = nb_socket();
	watch("refused", r, EPOLLOUT);
	a = loopback(atoi(argv[2]));
	if (connect(r, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS &&
	    errno != ECONNREFUSED)
		DIE("connect refused");
	wait_for("refused", r, EPOLLERR);

	/* accepted, then the client's FIN */
	acc = -1;
	for (int tries = 0; tries < 50 && acc < 0; tries++) {
		acc = accept(lfd, NULL, NULL);
		if (acc < 0)
			usleep(20000);
	}
	CHECK(acc);
	watch("accepted", acc, EPOLLRDHUP);
	watch("client", c, EPOLLRDHUP);
	usleep(100000);
	CHECK(shutdown(c, SHUT_WR));
	wait_for("accepted", acc, EPOLLRDHUP);

	/* the client: its FIN was acked (FIN_WAIT2); now the peer's close */
	s = c;
	usleep(100000);
	close(acc);
	wait_for("client", s, EPOLLRDHUP);
	usleep(100000);
	printf("DONE\n");
	fflush(stdout);
	sigwait(&usr1, &sig);
	return 0;
}
