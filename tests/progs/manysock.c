/*
 * Holds N connected TCP sockets (N/2 client ends, N/2 accepted ends) on
 * 127.0.0.1 and one epoll instance watching all of them, for benchmarks.
 * Usage: manysock N PORT ; prints "ready" when set up, then sleeps.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testlib.h"

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int n = argc > 1 ? atoi(argv[1]) : 10000, lfd, ep, one = 1;
	struct rlimit rl = { n + 256, n + 256 };

	CHECK(setrlimit(RLIMIT_NOFILE, &rl));
	sin.sin_port = htons(argc > 2 ? atoi(argv[2]) : 9999);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	CHECK(lfd = socket(AF_INET, SOCK_STREAM, 0));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CHECK(bind(lfd, (void *)&sin, sizeof(sin)));
	CHECK(listen(lfd, 4096));
	CHECK(ep = epoll_create1(0));
	for (int i = 0; i < n / 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		int c, a;

		CHECK(c = socket(AF_INET, SOCK_STREAM, 0));
		CHECK(connect(c, (void *)&sin, sizeof(sin)));
		CHECK(a = accept(lfd, NULL, NULL));
		ev.data.fd = c;
		CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
		ev.data.fd = a;
		CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev));
		/* Some data queued, so ready lists and queues are not all empty. */
		if (i % 10 == 0)
			CHECK(write(c, "ping", 4));
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
