/* Events read from the ring buffer, handed on in time order. */
#ifndef EVENT_ORDER_H
#define EVENT_ORDER_H
#include <stddef.h>
#include <stdint.h>
#include "socktrace.h"

/* ev[start..end) is in time order; seq is ev[start]'s place in read order. */
struct event_run {
	size_t start, end;
	uint64_t seq;
};

/* Zero-initialised before use; event_order__free() accepts one never used. */
struct event_order {
	struct st_event *ev, *ev_next; /* pending, and where what stays is moved */
	struct event_run *runs, *runs_next;
	size_t n, cap, n_runs, cap_runs;
	uint64_t seq;                  /* events added so far */
	/* room event_order__release() needs, allocated by event_order__add() */
	size_t *run_next;               /* per run: the next run of its chain */
	struct event_order_key *keys;   /* per event, when runs are too mixed */
};

typedef void (*event_order_fn)(struct st_event *e, void *ctx);

/* Appends n ring records of rec_size bytes each (a prefix of struct st_event;
 * the rest is zeroed). Returns 0 or -ENOMEM (nothing appended then). */
int event_order__add(struct event_order *o, const void *recs, size_t n, size_t rec_size);
/* Hands on every pending event with time_ns <= until, in time order (equal
 * times in read order); the rest stays pending. */
void event_order__release(struct event_order *o, uint64_t until, event_order_fn fn, void *ctx);
size_t event_order__pending(const struct event_order *o);
void event_order__free(struct event_order *o);
#endif
