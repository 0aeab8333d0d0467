/*
 * The BPF side stages events per CPU and nesting level and writes a stage
 * to the ring at a time (bpf/events.bpf.c). So a ring record is a run of
 * events already in time order, and the runs of one stage follow each other
 * in order too: only a few streams (CPUs, levels) interleave. Instead of
 * sorting all that was read, the runs are strung into chains, each in time
 * order, and the chains are merged: a few comparisons per event, against a
 * sort's log2(n) calls of a comparison function on scattered memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "event_order.h"

/* More streams than this at once: the runs are too mixed for a merge to
 * pay (a merge step compares every chain's head); sort instead. */
#define MAX_CHAINS 32
#define NO_RUN SIZE_MAX

struct event_order_key {
	uint64_t time_ns, seq;
	size_t idx;
};

/* Grows the arrays that share the capacity *cap to hold need elements. */
static int grow(size_t *cap, size_t need, void **arrays[], const size_t sizes[], int n)
{
	size_t cap_new = *cap ? *cap : 1024;

	if (need <= *cap)
		return 0;
	while (cap_new < need)
		cap_new *= 2;
	for (int i = 0; i < n; i++) {
		void *p = realloc(*arrays[i], cap_new * sizes[i]);

		if (!p)
			return -ENOMEM; /* those grown so far keep their room */
		*arrays[i] = p;
	}
	*cap = cap_new;
	return 0;
}

int event_order__add(struct event_order *o, const void *recs, size_t n, size_t rec_size)
{
	void **ev_arrays[] = { (void **)&o->ev, (void **)&o->ev_next, (void **)&o->keys };
	const size_t ev_sizes[] = { sizeof(*o->ev), sizeof(*o->ev), sizeof(*o->keys) };
	void **run_arrays[] = { (void **)&o->runs, (void **)&o->runs_next, (void **)&o->run_next };
	const size_t run_sizes[] = { sizeof(*o->runs), sizeof(*o->runs), sizeof(*o->run_next) };
	const char *rec = recs;

	if (!n)
		return 0;
	if (rec_size > sizeof(struct st_event))
		return -EINVAL;
	/* at most one run per event */
	if (grow(&o->cap, o->n + n, ev_arrays, ev_sizes, 3) ||
	    grow(&o->cap_runs, o->n_runs + n, run_arrays, run_sizes, 3))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++, rec += rec_size) {
		struct st_event *e = &o->ev[o->n];

		memcpy(e, rec, rec_size);
		memset((char *)e + rec_size, 0, sizeof(*e) - rec_size);
		/* a record is in time order as written; a new run if not */
		if (i == 0 || e->time_ns < e[-1].time_ns)
			o->runs[o->n_runs++] = (struct event_run){ o->n, o->n, o->seq };
		o->n++;
		o->seq++;
		o->runs[o->n_runs - 1].end = o->n;
	}
	return 0;
}

/* What was not handed on (of each run, the events after `until`: a suffix)
 * becomes the pending events, as runs again. */
static void keep_rest(struct event_order *o, uint64_t until)
{
	struct st_event *ev = o->ev;
	struct event_run *runs = o->runs;
	size_t n = 0, n_runs = 0;

	for (size_t r = 0; r < o->n_runs; r++) {
		const struct event_run *run = &o->runs[r];
		size_t from = run->end;

		while (from > run->start && o->ev[from - 1].time_ns > until)
			from--;
		if (from == run->end)
			continue;
		o->runs_next[n_runs++] = (struct event_run){ n, n + (run->end - from),
							     run->seq + (from - run->start) };
		memcpy(&o->ev_next[n], &o->ev[from], (run->end - from) * sizeof(*o->ev));
		n += run->end - from;
	}
	o->ev = o->ev_next;
	o->ev_next = ev;
	o->runs = o->runs_next;
	o->runs_next = runs;
	o->n = n;
	o->n_runs = n_runs;
}

static int key_cmp(const void *a, const void *b)
{
	const struct event_order_key *x = a, *y = b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void sort_release(struct event_order *o, uint64_t until, event_order_fn fn, void *ctx)
{
	size_t i = 0;

	for (size_t r = 0; r < o->n_runs; r++)
		for (size_t p = o->runs[r].start; p < o->runs[r].end; p++)
			o->keys[i++] = (struct event_order_key){
				o->ev[p].time_ns, o->runs[r].seq + (p - o->runs[r].start), p
			};
	qsort(o->keys, o->n, sizeof(*o->keys), key_cmp);
	for (i = 0; i < o->n && o->keys[i].time_ns <= until; i++)
		fn(&o->ev[o->keys[i].idx], ctx);
	keep_rest(o, until);
}

void event_order__release(struct event_order *o, uint64_t until, event_order_fn fn, void *ctx)
{
	/* per chain: its last run; then the run and event its head is at,
	 * and that event's time and read order */
	size_t tail[MAX_CHAINS], run[MAX_CHAINS], pos[MAX_CHAINS];
	uint64_t head_ns[MAX_CHAINS], head_seq[MAX_CHAINS];
	size_t k = 0, c;

	if (!o->n)
		return;
	/* A run goes after the chain whose last event is the latest not
	 * after its first: chains stay in order, and one per interleaved
	 * stream is enough. Equal times stay in read order: a run is read
	 * after every run before it in the chain. */
	for (size_t r = 0; r < o->n_runs; r++) {
		uint64_t first = o->ev[o->runs[r].start].time_ns, best_ns = 0;
		size_t best = NO_RUN;

		for (c = 0; c < k; c++) {
			uint64_t last = o->ev[o->runs[tail[c]].end - 1].time_ns;

			if (last <= first && (best == NO_RUN || last > best_ns)) {
				best = c;
				best_ns = last;
			}
		}
		o->run_next[r] = NO_RUN;
		if (best != NO_RUN) {
			o->run_next[tail[best]] = r;
			tail[best] = r;
			continue;
		}
		if (k == MAX_CHAINS) {
			sort_release(o, until, fn, ctx);
			return;
		}
		tail[k] = run[k] = r;
		pos[k] = o->runs[r].start;
		head_ns[k] = o->ev[pos[k]].time_ns;
		head_seq[k] = o->runs[r].seq;
		k++;
	}
	while (k) {
		size_t min = 0;

		for (c = 1; c < k; c++)
			if (head_ns[c] < head_ns[min] ||
			    (head_ns[c] == head_ns[min] && head_seq[c] < head_seq[min]))
				min = c;
		if (head_ns[min] > until)
			break;
		fn(&o->ev[pos[min]], ctx);
		if (++pos[min] == o->runs[run[min]].end) {
			run[min] = o->run_next[run[min]];
			if (run[min] == NO_RUN) { /* chain done: the last one takes its place */
				k--;
				run[min] = run[k];
				pos[min] = pos[k];
				head_ns[min] = head_ns[k];
				head_seq[min] = head_seq[k];
				continue;
			}
			pos[min] = o->runs[run[min]].start;
			head_seq[min] = o->runs[run[min]].seq;
		} else {
			head_seq[min]++;
		}
		head_ns[min] = o->ev[pos[min]].time_ns;
	}
	keep_rest(o, until);
}

size_t event_order__pending(const struct event_order *o)
{
	return o ? o->n : 0;
}

void event_order__free(struct event_order *o)
{
	if (!o)
		return;
	free(o->ev);
	free(o->ev_next);
	free(o->runs);
	free(o->runs_next);
	free(o->run_next);
	free(o->keys);
	memset(o, 0, sizeof(*o));
}
