// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Per-socket fd and queueing time (see sock_fds.h): linear probing, deletion
 * by moving later entries of the run back (no tombstones). */
#include <stdlib.h>
#include <string.h>
#include "sock_fds.h"

static size_t home(const struct sock_fds *m, uint64_t sk)
{
	/* kernel addresses differ in their middle bits: mix them down */
	sk ^= sk >> 29;
	sk *= 0xbf58476d1ce4e5b9ull;
	sk ^= sk >> 32;
	return (size_t)sk & (m->cap - 1);
}

struct sock_fd *sock_fds__get(struct sock_fds *m, uint64_t sk)
{
	size_t i;

	if (!m->cap || !sk)
		return NULL;
	for (i = home(m, sk);; i = (i + 1) & (m->cap - 1)) {
		if (m->slot[i].sk == sk)
			return &m->slot[i];
		if (!m->slot[i].sk)
			return NULL;
	}
}

static int grow(struct sock_fds *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024, i;
	struct sock_fds bigger = { .slot = calloc(cap, sizeof(*m->slot)), .cap = cap };

	if (!bigger.slot)
		return -1;
	for (i = 0; i < m->cap; i++) {
		if (m->slot[i].sk) {
			size_t j = home(&bigger, m->slot[i].sk);

			while (bigger.slot[j].sk)
				j = (j + 1) & (cap - 1);
			bigger.slot[j] = m->slot[i];
			bigger.n++;
		}
	}
	free(m->slot);
	*m = bigger;
	return 0;
}

struct sock_fd *sock_fds__put(struct sock_fds *m, uint64_t sk)
{
	struct sock_fd *f = sock_fds__get(m, sk);
	size_t i;

	if (f || !sk)
		return f;
	if ((m->n + 1) * 2 > m->cap && grow(m))
		return NULL;
	for (i = home(m, sk); m->slot[i].sk; i = (i + 1) & (m->cap - 1))
		;
	m->slot[i] = (struct sock_fd){ .sk = sk, .fd = -1 };
	m->n++;
	return &m->slot[i];
}

void sock_fds__del(struct sock_fds *m, uint64_t sk)
{
	struct sock_fd *f = sock_fds__get(m, sk);
	size_t i, j, h, mask = m->cap - 1;

	if (!f)
		return;
	i = (size_t)(f - m->slot);
	m->slot[i].sk = 0;
	m->n--;
	/* move back each later entry of the run that may sit at i */
	for (j = (i + 1) & mask; m->slot[j].sk; j = (j + 1) & mask) {
		h = home(m, m->slot[j].sk);
		/* j's home is cyclically in (i, j]: it stays */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		m->slot[i] = m->slot[j];
		m->slot[j].sk = 0;
		i = j;
	}
}

void sock_fds__free(struct sock_fds *m)
{
	free(m->slot);
	*m = (struct sock_fds){ 0 };
}

static size_t hint_of(uint64_t sk)
{
	sk ^= sk >> 29;
	sk *= 0xbf58476d1ce4e5b9ull;
	sk ^= sk >> 32;
	return (size_t)sk & (ACCEPTED_HINTS - 1);
}

int accepted_fds__add(struct accepted_fds *a, uint64_t sk, int32_t fd)
{
	if (!sk || fd < 0 || (uint32_t)fd >= ACCEPTED_FDS_MAX)
		return -1;
	if (!a->hint && !(a->hint = calloc(ACCEPTED_HINTS, sizeof(*a->hint))))
		return -1;
	if ((size_t)fd >= a->cap) {
		size_t cap = a->cap ? a->cap : 1024;
		uint64_t *bigger;

		while (cap <= (size_t)fd)
			cap *= 2;
		bigger = realloc(a->sk, cap * sizeof(*a->sk));
		if (!bigger)
			return -1;
		memset(bigger + a->cap, 0, (cap - a->cap) * sizeof(*bigger));
		a->sk = bigger;
		a->cap = cap;
	}
	a->sk[fd] = sk;
	a->hint[hint_of(sk)] = (uint32_t)fd + 1;
	return 0;
}

int32_t accepted_fds__find(const struct accepted_fds *a, uint64_t sk)
{
	uint32_t h;

	if (!sk || !a->hint)
		return -1;
	h = a->hint[hint_of(sk)];
	if (h && h - 1 < a->cap && a->sk[h - 1] == sk)
		return (int32_t)(h - 1);
	for (size_t fd = 0; fd < a->cap; fd++)
		if (a->sk[fd] == sk)
			return (int32_t)fd;
	return -1;
}

void accepted_fds__close(struct accepted_fds *a, uint64_t sk, int32_t fd)
{
	if (fd >= 0 && (size_t)fd < a->cap && a->sk[fd] == sk)
		a->sk[fd] = 0;
}

void accepted_fds__free(struct accepted_fds *a)
{
	free(a->sk);
	free(a->hint);
	*a = (struct accepted_fds){ 0 };
}
