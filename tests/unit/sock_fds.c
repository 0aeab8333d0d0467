// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* user/sock_fds.c against a plain array doing the same, over random puts and
 * deletes of kernel-like addresses (many landing in the same runs). */
#include <stdint.h>
#include <stdlib.h>
#include "../../user/sock_fds.h"
#include "unit.h"

#define KEYS 5000

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* accepted_fds against a reference: sockets accepted on the lowest free
 * fd, closed at random, more of them than hints (so that hints are taken
 * over and found by search) */
static void accepted_checks(void)
{
	enum { SOCKS = 3 * ACCEPTED_HINTS, FDS = ACCEPTED_HINTS + 5000 };
	static int32_t want[SOCKS]; /* fd, -1 when not open */
	static uint64_t on_fd[FDS]; /* socket index + 1 */
	static char hinted[FDS];
	struct accepted_fds a = { 0 };
	int bad = 0, searched = 0, open_n = 0, step;

	for (int i = 0; i < SOCKS; i++)
		want[i] = -1;
	ASSERT_EQ(accepted_fds__find(&a, 0xffff888100000000ull), -1, "empty: nothing found");
	for (step = 0; step < 400000; step++) {
		int i = (int)(rnd() % SOCKS);
		uint64_t sk = 0xffff888100000000ull + (uint64_t)i * 0x980;

		if (want[i] < 0 && open_n < FDS - 10) {
			int fd = 3;

			while (on_fd[fd])
				fd++;
			if (accepted_fds__add(&a, sk, fd))
				bad++;
			want[i] = fd;
			on_fd[fd] = (uint64_t)i + 1;
			open_n++;
		} else if (want[i] >= 0) {
			/* a close elsewhere first: a wrong fd changes nothing */
			accepted_fds__close(&a, sk, want[i] == 3 ? 4 : 3);
			if (accepted_fds__find(&a, sk) != want[i])
				bad++;
			accepted_fds__close(&a, sk, want[i]);
			on_fd[want[i]] = 0;
			want[i] = -1;
			open_n--;
			if (accepted_fds__find(&a, sk) != -1)
				bad++;
		}
	}
	/* fds some hint points to */
	for (size_t k = 0; k < ACCEPTED_HINTS; k++)
		if (a.hint[k] && a.hint[k] - 1 < FDS)
			hinted[a.hint[k] - 1] = 1;
	for (int i = 0; i < SOCKS; i++) {
		uint64_t sk = 0xffff888100000000ull + (uint64_t)i * 0x980;

		if (accepted_fds__find(&a, sk) != want[i])
			bad++;
		/* found, but no hint to its fd: by search */
		searched += want[i] >= 0 && !hinted[want[i]];
	}
	ASSERT_EQ(bad, 0, "accepted: finds agree with the reference after accepts and closes");
	ASSERT_TRUE(open_n > (int)ACCEPTED_HINTS, "accepted: more sockets open than hints");
	ASSERT_TRUE(searched > 0, "accepted: some found by search, their hint taken");
	ASSERT_EQ(accepted_fds__add(&a, 0xffff888100000000ull, -1), -1, "accepted: fd -1 not kept");
	ASSERT_EQ(accepted_fds__add(&a, 0xffff888100000000ull, ACCEPTED_FDS_MAX), -1,
		  "accepted: fds past the limit not kept");
	ASSERT_EQ(accepted_fds__add(&a, 0, 5), -1, "accepted: socket 0 not kept");
	accepted_fds__free(&a);
	ASSERT_EQ(accepted_fds__find(&a, 0xffff888100000000ull + 0x980), -1, "accepted: freed finds nothing");
}

int main(void)
{
	static uint64_t key[KEYS];
	static int32_t want[KEYS]; /* -2: absent */
	struct sock_fds m = { 0 };
	int i, step, bad = 0, present = 0;
	size_t n;

	/* slab-like addresses: a few pages, objects 0x780 apart */
	for (i = 0; i < KEYS; i++) {
		key[i] = 0xffff888100000000ull + (uint64_t)(i / 8) * 0x4000 + (i % 8) * 0x780;
		want[i] = -2;
	}
	ASSERT_TRUE(sock_fds__get(&m, key[0]) == NULL, "empty table finds nothing");
	ASSERT_TRUE(sock_fds__put(&m, 0) == NULL, "key 0 is not a socket");
	for (step = 0; step < 200000; step++) {
		i = rnd() % KEYS;
		if (rnd() % 3) {
			struct sock_fd *f = sock_fds__put(&m, key[i]);

			if (!f || f->sk != key[i] || (want[i] == -2 && f->fd != -1))
				bad++;
			else
				f->fd = want[i] = (int32_t)(rnd() % 1000);
		} else {
			sock_fds__del(&m, key[i]);
			want[i] = -2;
		}
		/* every so often, all of it */
		if (step % 20000 == 0 || step == 199999) {
			for (int j = 0; j < KEYS; j++) {
				struct sock_fd *f = sock_fds__get(&m, key[j]);

				if (want[j] == -2 ? f != NULL : (!f || f->fd != want[j]))
					bad++;
			}
		}
	}
	for (i = 0; i < KEYS; i++)
		present += want[i] != -2;
	n = m.n;
	ASSERT_EQ(bad, 0, "lookups agree with the reference after puts and deletes");
	ASSERT_EQ(n, present, "count of entries");
	ASSERT_TRUE(m.cap >= 2 * m.n, "at most half full");
	for (i = 0; i < KEYS; i++)
		sock_fds__del(&m, key[i]);
	ASSERT_EQ(m.n, 0, "all deleted");
	for (i = 0; i < KEYS; i++)
		if (sock_fds__get(&m, key[i]))
			bad++;
	ASSERT_EQ(bad, 0, "none found after all deleted");
	sock_fds__free(&m);
	ASSERT_TRUE(sock_fds__get(&m, key[1]) == NULL, "freed table finds nothing");
	accepted_checks();
	return UNIT_DONE("sock_fds");
}
