/*
 * A process holding the kinds of fds the snapshot must report, set up from
 * the command line, then waiting to be inspected. Prints "ready" once set up
 * and one "KEY VALUE" line per thing it made (fd numbers), then sleeps.
 *
 *   --listen ADDR:PORT --backlog N   TCP listener that never accepts
 *   --listen6 PORT                   IPv6 listener on [::1]:PORT
 *   --epoll N:R                      epoll watching N pipes, R of them readable
 *   --epoll-orphans N                epoll watching N pipes whose fds were then
 *                                    closed, their files held open by a child
 *                                    process only: items nothing in this fd
 *                                    table leads to (fdinfo lists them)
 *   --udp PORT:COUNT                 UDP socket with COUNT datagrams queued
 *   --tcp-pair PORT:BYTES            a connected TCP pair on 127.0.0.1:PORT, both
 *                                    ends held; BYTES sent to the accepted end,
 *                                    left unread (its Recv-Q)
 *   --unix PATH                      bound, listening unix socket
 *   --file PATH                      a regular file opened read-only
 *   --threads N                      extra threads (for tid -> pid tests)
 *   --name NAME                      set the process name (prctl)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include "testlib.h"

static void *idle_thread(void *arg)
{
	printf("tid %ld\n", (long)syscall(SYS_gettid));
	fflush(stdout);
	for (;;)
		pause();
	return NULL;
}

static int tcp_listen(int family, const char *addr, int port, int backlog)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int one = 1, fd;

	CHECK(fd = socket(family, SOCK_STREAM, 0));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (void *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, addr, &sin->sin_addr);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (void *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		len = sizeof(*sin6);
	}
	CHECK(bind(fd, (void *)&ss, len));
	CHECK(listen(fd, backlog));
	return fd;
}

int main(int argc, char **argv)
{
	int backlog = 128;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--backlog") && i + 1 < argc)
			backlog = atoi(argv[i + 1]);

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *opt = argv[i], *val = argv[i + 1];

		if (!strcmp(opt, "--listen")) {
			char addr[64];
			int port;

			if (sscanf(val, "%63[^:]:%d", addr, &port) != 2)
				DIE("bad --listen %s", val);
			printf("listen %d\n", tcp_listen(AF_INET, addr, port, backlog));
		} else if (!strcmp(opt, "--listen6")) {
			printf("listen6 %d\n", tcp_listen(AF_INET6, "::1", atoi(val), backlog));
		} else if (!strcmp(opt, "--epoll")) {
			int n, r, ep;

			if (sscanf(val, "%d:%d", &n, &r) != 2)
				DIE("bad --epoll %s", val);
			CHECK(ep = epoll_create1(0));
			printf("epoll %d\n", ep);
			for (int k = 0; k < n; k++) {
				int p[2];
				struct epoll_event ev = { .events = EPOLLIN | (k % 2 ? EPOLLET : 0) };

				CHECK(pipe(p));
				ev.data.fd = p[0];
				CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
				if (k < r) {
					CHECK(write(p[1], "x", 1));
					printf("ready %d\n", p[0]);
				}
				printf("watched %d\n", p[0]);
			}
		} else if (!strcmp(opt, "--epoll-orphans")) {
			int n = atoi(val), ep, *rd;
			struct rlimit rl;
			pid_t child;

			if (n <= 0 || !(rd = calloc(n, sizeof(*rd))))
				DIE("bad --epoll-orphans %s", val);
			CHECK(getrlimit(RLIMIT_NOFILE, &rl));
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			CHECK(ep = epoll_create1(0));
			printf("epoll_orphans %d\n", ep);
			for (int k = 0; k < n; k++) {
				int p[2];
				struct epoll_event ev = { .events = EPOLLIN };

				CHECK(pipe(p));
				CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
				close(p[1]);
				rd[k] = p[0];
			}
			/* the child holds the files; this process closes them */
			CHECK(child = fork());
			if (!child) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				for (;;)
					pause();
			}
			for (int k = 0; k < n; k++)
				close(rd[k]);
			free(rd);
		} else if (!strcmp(opt, "--udp")) {
			struct sockaddr_in sin = { .sin_family = AF_INET };
			int port, count, fd;

			if (sscanf(val, "%d:%d", &port, &count) != 2)
				DIE("bad --udp %s", val);
			sin.sin_port = htons(port);
			inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
			CHECK(fd = socket(AF_INET, SOCK_DGRAM, 0));
			CHECK(bind(fd, (void *)&sin, sizeof(sin)));
			for (int k = 0; k < count; k++)
				CHECK(sendto(fd, "hello", 5, 0, (void *)&sin, sizeof(sin)));
			printf("udp %d\n", fd);
		} else if (!strcmp(opt, "--tcp-pair")) {
			struct sockaddr_in sin = { .sin_family = AF_INET };
			int port, bytes, lfd, cfd, afd;
			char buf[4096] = {};

			if (sscanf(val, "%d:%d", &port, &bytes) != 2 || bytes < 0 ||
			    bytes > (int)sizeof(buf))
				DIE("bad --tcp-pair %s", val);
			lfd = tcp_listen(AF_INET, "127.0.0.1", port, 1);
			sin.sin_port = htons(port);
			inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
			CHECK(cfd = socket(AF_INET, SOCK_STREAM, 0));
			CHECK(connect(cfd, (void *)&sin, sizeof(sin)));
			CHECK(afd = accept(lfd, NULL, NULL));
			close(lfd);
			if (bytes)
				CHECK(write(cfd, buf, bytes));
			printf("tcp_client %d\ntcp_accepted %d\n", cfd, afd);
		} else if (!strcmp(opt, "--unix")) {
			struct sockaddr_un sun = { .sun_family = AF_UNIX };
			int fd;

			snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", val);
			unlink(val);
			CHECK(fd = socket(AF_UNIX, SOCK_STREAM, 0));
			CHECK(bind(fd, (void *)&sun, sizeof(sun)));
			CHECK(listen(fd, 4));
			printf("unix %d\n", fd);
		} else if (!strcmp(opt, "--file")) {
			int fd;

			CHECK(fd = open(val, O_RDONLY));
			printf("file %d\n", fd);
		} else if (!strcmp(opt, "--pipe")) {
			int p[2];

			CHECK(pipe(p));
			printf("pipe %d\n", p[0]);
		} else if (!strcmp(opt, "--threads")) {
			for (int k = 0; k < atoi(val); k++) {
				pthread_t t;

				pthread_create(&t, NULL, idle_thread, NULL);
			}
			usleep(100000);
		} else if (!strcmp(opt, "--name")) {
			prctl(PR_SET_NAME, val);
		} else if (strcmp(opt, "--backlog")) {
			fprintf(stderr, "unknown option %s\n", opt);
			return 2;
		}
	}
	printf("ready\n");
	for (;;)
		pause();
}
