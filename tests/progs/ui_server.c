/*
 * A target for the TUI tests and benchmark. Prints "KEY VALUE" lines for
 * what it made, then "ready", then runs until killed.
 *
 *   --listen ADDR:PORT   TCP listener (never accepts unless --accept-every)
 *   --backlog N          listen() backlog (default 128)
 *   --accept-every MS    accept one connection every MS milliseconds
 *   --epoll N:R          epoll watching N pipes, R of them readable
 *   --name NAME          process name (prctl PR_SET_NAME)
 *   --hold N             N connected loopback TCP pairs (2N sockets)
 *   --churn RATE         connect/accept/close RATE times a second on a
 *                        private listener, in a thread, epoll-driven
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "testlib.h"

static int tcp_listen(const char *addr, int port, int backlog, int *bound_port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t len = sizeof(sin);
	int one = 1, fd;

	CHECK(fd = socket(AF_INET, SOCK_STREAM, 0));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, addr, &sin.sin_addr);
	CHECK(bind(fd, (void *)&sin, sizeof(sin)));
	CHECK(listen(fd, backlog));
	CHECK(getsockname(fd, (void *)&sin, &len));
	if (bound_port)
		*bound_port = ntohs(sin.sin_port);
	return fd;
}

static int tcp_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd = socket(AF_INET, SOCK_STREAM, 0));
	CHECK(connect(fd, (void *)&sin, sizeof(sin)));
	return fd;
}

static int churn_rate;

static void *churn_thread(void *arg)
{
	int port, lfd = tcp_listen("127.0.0.1", 0, 1024, &port), ep;
	struct epoll_event ev = { .events = EPOLLIN };
	struct timespec gap = { 0, churn_rate > 0 ? 1000000000L / churn_rate : 0 };

	CHECK(ep = epoll_create1(0));
	ev.data.fd = lfd;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
	for (;;) {
		struct epoll_event out;
		int c = tcp_connect(port), a;

		if (epoll_wait(ep, &out, 1, 1000) == 1) {
			a = accept(lfd, NULL, NULL);
			if (a >= 0) {
				if (write(c, "x", 1) < 0)
					DIE("write");
				close(a);
			}
		}
		close(c);
		if (gap.tv_nsec)
			nanosleep(&gap, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int backlog = 128, accept_ms = 0, lfd = -1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--backlog"))
			backlog = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--accept-every"))
			accept_ms = atoi(argv[i + 1]);
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *opt = argv[i], *val = argv[i + 1];

		if (!strcmp(opt, "--listen")) {
			char addr[64];
			int port;

			if (sscanf(val, "%63[^:]:%d", addr, &port) != 2)
				DIE("bad --listen %s", val);
			lfd = tcp_listen(addr, port, backlog, NULL);
			printf("listen %d\n", lfd);
		} else if (!strcmp(opt, "--epoll")) {
			int n, r, ep;

			if (sscanf(val, "%d:%d", &n, &r) != 2)
				DIE("bad --epoll %s", val);
			CHECK(ep = epoll_create1(0));
			printf("epoll %d\n", ep);
			for (int k = 0; k < n; k++) {
				struct epoll_event ev = { .events = EPOLLIN };
				int p[2];

				CHECK(pipe(p));
				ev.data.fd = p[0];
				CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
				if (k < r && write(p[1], "x", 1) != 1)
					DIE("write");
			}
		} else if (!strcmp(opt, "--name")) {
			prctl(PR_SET_NAME, val);
		} else if (!strcmp(opt, "--hold")) {
			int n = atoi(val), port, hl;
			struct rlimit rl = { 2 * n + 1024, 2 * n + 1024 };

			CHECK(setrlimit(RLIMIT_NOFILE, &rl));
			hl = tcp_listen("127.0.0.1", 0, 4096, &port);
			for (int k = 0; k < n; k++) {
				tcp_connect(port);
				CHECK(accept(hl, NULL, NULL));
			}
			printf("held %d\n", 2 * n);
		} else if (!strcmp(opt, "--churn")) {
			pthread_t t;

			churn_rate = atoi(val);
			pthread_create(&t, NULL, churn_thread, NULL);
		} else if (strcmp(opt, "--backlog") && strcmp(opt, "--accept-every")) {
			fprintf(stderr, "unknown option %s\n", opt);
			return 2;
		}
	}
	printf("ready\n");
	for (;;) {
		if (accept_ms && lfd >= 0) {
			usleep(accept_ms * 1000);
			int c = accept(lfd, NULL, NULL);

			if (c >= 0)
				close(c);
		} else {
			pause();
		}
	}
}
