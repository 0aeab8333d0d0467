// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * --demo: a server that is too slow for its clients, and the UI watching it.
 *
 * Two children of socktrace, in a network namespace of their own (so the
 * demo's drops do not mix with the host's counters; if one cannot be made,
 * the host's loopback is used on a free port):
 *
 *  demo-server  epoll loop on 127.0.0.1:8080, listen(fd, 8), accepting about
 *               12 connections a second (the listener leaves the epoll set
 *               between accepts, a timerfd brings it back), with
 *               TCP_DEFER_ACCEPT so connections that have not sent data stay
 *               in the SYN queue;
 *  demo-load    every 8 s a wave of 6 "slow talkers" (connect, send after
 *               1.5 s: they sit in the SYN queue meanwhile) then 30 quick
 *               clients (connect, send, read the reply, close). The accept
 *               queue fills to 9/8 within milliseconds, further SYNs are
 *               dropped (the drops counter moves), clients retry after 1 s
 *               and 3 s, and the queue drains before the next wave.
 *
 * Both die with socktrace (PR_SET_PDEATHSIG) and are killed and reaped on
 * every way out of demo_cmd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "tui.h"
#include "util.h"

#define DEMO_PORT 8080
#define DEMO_BACKLOG 8
#define DEMO_ACCEPT_GAP_MS 80	/* about 12 accepts per second */
#define DEMO_WAVE_S 8
#define DEMO_FAST 30
#define DEMO_SLOW 6
#define DEMO_SLOW_DELAY_MS 1500
#define DEMO_CLIENT_TIMEOUT_S 12
#define DEMO_MAX_CONNS 256

static pid_t demo_pids[2];

static void demo_kill_children(void)
{
	for (int i = 0; i < 2; i++)
		if (demo_pids[i] > 0)
			kill(demo_pids[i], SIGTERM);
	for (int i = 0; i < 2; i++) {
		if (demo_pids[i] <= 0)
			continue;
		for (int tries = 0; tries < 100; tries++) {
			if (waitpid(demo_pids[i], NULL, WNOHANG) != 0)
				break;
			if (tries == 50)
				kill(demo_pids[i], SIGKILL);
			usleep(10000);
		}
		waitpid(demo_pids[i], NULL, WNOHANG);
		demo_pids[i] = 0;
	}
}

static uint64_t ms_now(void)
{
	return st_now_ns() / 1000000;
}

/* Children: die with the parent, default signal behaviour. */
static void child_setup(const char *name, pid_t parent)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	int null;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	/* not socktrace's terminal: the UI owns it */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	prctl(PR_SET_NAME, name);
}

static int loopback_up(void)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* ---- demo-server ------------------------------------------------------------ */

static void epoll_set(int ep, int op, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	epoll_ctl(ep, op, fd, &ev);
}

static void __attribute__((noreturn)) run_server(int ready_fd, pid_t parent)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct itimerspec gap = { .it_value.tv_nsec = DEMO_ACCEPT_GAP_MS * 1000000L };
	static const char reply[] = "HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nok\n";
	int lfd, ep, tfd, one = 1, defer = 5, own_netns, paused = 0, n_conns = 0;
	socklen_t len = sizeof(sin);
	char msg[32];

	child_setup("demo-server", parent);
	own_netns = !unshare(CLONE_NEWNET) && !loopback_up();
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (lfd < 0 || ep < 0 || tfd < 0)
		_exit(1);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(own_netns ? DEMO_PORT : 0);
	if (bind(lfd, (void *)&sin, sizeof(sin)) || listen(lfd, DEMO_BACKLOG) ||
	    getsockname(lfd, (void *)&sin, &len))
		_exit(1);
	epoll_set(ep, EPOLL_CTL_ADD, lfd, EPOLLIN);
	epoll_set(ep, EPOLL_CTL_ADD, tfd, EPOLLIN);
	snprintf(msg, sizeof(msg), "%u %d\n", ntohs(sin.sin_port), own_netns);
	if (write(ready_fd, msg, strlen(msg)) < 0)
		_exit(1);
	close(ready_fd);

	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 1000);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (c >= 0 && n_conns < DEMO_MAX_CONNS) {
					epoll_set(ep, EPOLL_CTL_ADD, c, EPOLLIN | EPOLLRDHUP);
					n_conns++;
				} else if (c >= 0) {
					close(c);
				}
				/* one accept, then a pause: the slow part of this server */
				epoll_set(ep, EPOLL_CTL_MOD, lfd, 0);
				timerfd_settime(tfd, 0, &gap, NULL);
				paused = 1;
			} else if (fd == tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					_exit(1);
				if (paused) {
					epoll_set(ep, EPOLL_CTL_MOD, lfd, EPOLLIN);
					paused = 0;
				}
			} else {
				char buf[512];
				ssize_t r = read(fd, buf, sizeof(buf));

				if (r > 0 && write(fd, reply, sizeof(reply) - 1) < 0) {
					/* the client left: close below */
				}
				if (r >= 0 || errno != EAGAIN) {
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					close(fd);
					n_conns--;
				}
			}
		}
	}
}

/* ---- demo-load ---------------------------------------------------------------- */

struct demo_client {
	int fd;
	int slow;
	int sent;
	uint64_t start_ms;
};

static void __attribute__((noreturn)) run_load(pid_t server, uint16_t port, int same_netns,
					       pid_t parent)
{
	struct demo_client cl[DEMO_MAX_CONNS];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	uint64_t next_wave = ms_now();
	int n = 0;

	child_setup("demo-load", parent);
	if (!same_netns) {
		char path[64];
		int nsfd;

		snprintf(path, sizeof(path), "/proc/%d/ns/net", server);
		nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET))
			_exit(1);
		close(nsfd);
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	for (;;) {
		struct pollfd pfd[DEMO_MAX_CONNS];
		uint64_t now = ms_now();
		int timeout;

		if (now >= next_wave) {
			/* slow talkers first, so they reach the SYN queue before
			 * the accept queue fills and SYNs start being dropped */
			for (int i = 0; i < DEMO_SLOW + DEMO_FAST && n < DEMO_MAX_CONNS; i++) {
				int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

				if (fd < 0)
					break;
				if (connect(fd, (void *)&sin, sizeof(sin)) && errno != EINPROGRESS) {
					close(fd);
					continue;
				}
				cl[n++] = (struct demo_client){ fd, i < DEMO_SLOW, 0, now };
			}
			next_wave = now + DEMO_WAVE_S * 1000;
		}
		/* drop finished and timed-out clients */
		for (int i = 0; i < n;) {
			if (cl[i].fd < 0 || now - cl[i].start_ms > DEMO_CLIENT_TIMEOUT_S * 1000) {
				if (cl[i].fd >= 0)
					close(cl[i].fd);
				cl[i] = cl[--n];
				continue;
			}
			i++;
		}
		for (int i = 0; i < n; i++) {
			int want_send = !cl[i].sent &&
					(!cl[i].slow || now - cl[i].start_ms >= DEMO_SLOW_DELAY_MS);

			pfd[i] = (struct pollfd){ .fd = cl[i].fd,
						  .events = want_send ? POLLOUT : POLLIN };
			if (!cl[i].sent && !want_send)
				pfd[i].events = 0; /* a slow talker, not talking yet */
		}
		timeout = next_wave > now ? (int)(next_wave - now) : 0;
		if (timeout > 100)
			timeout = 100;
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			_exit(1);
		for (int i = 0; i < n; i++) {
			if (pfd[i].revents & (POLLERR | POLLHUP)) {
				close(cl[i].fd);
				cl[i].fd = -1;
			} else if (pfd[i].revents & POLLOUT) {
				if (write(cl[i].fd, req, sizeof(req) - 1) > 0)
					cl[i].sent = 1;
			} else if (pfd[i].revents & POLLIN) {
				char buf[256];

				ssize_t r = read(cl[i].fd, buf, sizeof(buf));

				/* one read of the reply is enough */
				if (r >= 0 || errno != EAGAIN) {
					close(cl[i].fd);
					cl[i].fd = -1;
				}
			}
		}
	}
}

/* ---- socktrace side ------------------------------------------------------------- */

int demo_cmd(const struct st_env *env)
{
	struct st_env demo_env = *env;
	pid_t parent = getpid();
	int ready[2], own_netns = 0, ret = ST_EXIT_FAIL;
	unsigned int port = 0;
	char buf[64] = "";
	ssize_t r;

	if (st_check_bpf_env())
		return ST_EXIT_FAIL;
	if (pipe2(ready, O_CLOEXEC)) {
		st_err("failed to start the demo: pipe: %s", strerror(errno));
		return ST_EXIT_FAIL;
	}
	atexit(demo_kill_children);
	demo_pids[0] = fork();
	if (demo_pids[0] < 0) {
		st_err("failed to start the demo server: fork: %s", strerror(errno));
		goto cleanup;
	}
	if (!demo_pids[0]) {
		close(ready[0]);
		run_server(ready[1], parent);
	}
	close(ready[1]);
	ready[1] = -1;
	/* The server answers "PORT OWN_NETNS" once it listens. */
	{
		struct pollfd p = { .fd = ready[0], .events = POLLIN };

		if (poll(&p, 1, 5000) == 1 && (r = read(ready[0], buf, sizeof(buf) - 1)) > 0)
			buf[r] = '\0';
	}
	if (sscanf(buf, "%u %d", &port, &own_netns) != 2 || !port) {
		st_err("the demo server did not start");
		goto cleanup;
	}
	demo_pids[1] = fork();
	if (demo_pids[1] < 0) {
		st_err("failed to start the demo load: fork: %s", strerror(errno));
		goto cleanup;
	}
	if (!demo_pids[1])
		run_load(demo_pids[0], (uint16_t)port, !own_netns, parent);

	demo_env.pid = demo_env.pid_arg = (uint32_t)demo_pids[0];
	snprintf(tui_first_status, sizeof(tui_first_status),
		 "demo: backlog %d, ~%d accepts/s, %d clients every %d s%s; ? for keys",
		 DEMO_BACKLOG, 1000 / DEMO_ACCEPT_GAP_MS, DEMO_FAST + DEMO_SLOW, DEMO_WAVE_S,
		 own_netns ? " (own netns)" : "");
	ret = tui_cmd(&demo_env);
cleanup:
	if (ready[0] >= 0)
		close(ready[0]);
	demo_kill_children();
	return ret;
}
