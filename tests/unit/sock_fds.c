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
	return UNIT_DONE("sock_fds");
}
