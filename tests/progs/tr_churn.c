/*
 * Load for the trace tests (tests/test_trace.sh, tests/bench/bench_trace.sh):
 *   tr_churn server PORT            epoll server on 127.0.0.1:PORT: accepts,
 *                                   reads, closes on EOF; prints "ready"
 *   tr_churn client PORT N          N connections one after another: connect,
 *                                   send a byte, close
 *   tr_churn churn PORT SECS THREADS
 *                                   connect/close as fast as THREADS threads
 *                                   can for SECS seconds; prints the count
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "testlib.h"

static struct sockaddr_in addr;
static double churn_secs;
static atomic_long churned;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int server(void)
{
	int lfd, ep, one = 1;
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];

	CHECK(lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
	CHECK(setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	CHECK(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)));
	CHECK(listen(lfd, 4096));
	CHECK(ep = epoll_create1(0));
	ev.data.fd = lfd;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event cev = { .events = EPOLLIN, .data.fd = c };

					CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev));
				}
			} else {
				char buf[256];
				ssize_t k = read(fd, buf, sizeof(buf));

				if (k == 0 || (k < 0 && errno != EAGAIN))
					close(fd);
			}
		}
	}
}

static void one_conn(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHECK(fd);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		(void)!write(fd, "x", 1);
	close(fd);
}

static void *churn_thread(void *arg)
{
	double end = now_s() + churn_secs;
	long n = 0;

	while (now_s() < end) {
		one_conn();
		n++;
	}
	atomic_fetch_add(&churned, n);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tr_churn server PORT | client PORT N | churn PORT SECS THREADS\n");
		return 2;
	}
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(argv[2]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!strcmp(argv[1], "server"))
		return server();
	if (!strcmp(argv[1], "client") && argc == 4) {
		for (int i = 0; i < atoi(argv[3]); i++)
			one_conn();
		return 0;
	}
	if (!strcmp(argv[1], "churn") && argc == 5) {
		int n = atoi(argv[4]);
		pthread_t t[64];

		churn_secs = atof(argv[3]);
		if (n < 1 || n > 64)
			return 2;
		for (int i = 0; i < n; i++)
			pthread_create(&t[i], NULL, churn_thread, NULL);
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		printf("%ld\n", atomic_load(&churned));
		return 0;
	}
	fprintf(stderr, "tr_churn: bad arguments\n");
	return 2;
}
