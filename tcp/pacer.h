/* pacer.h - per-core pacing scheduler: a timer wheel (calendar queue) of
 * flows waiting for their next release time
 *
 * Sans-IO: every call takes the time explicitly (ns, any monotonic clock).
 * Flows are named by their index in the core's flow table; the pacer keeps
 * one intrusive entry per index, so schedule and cancel are O(1) and
 * allocate nothing. Flows that are not waiting on their rate (idle, or
 * sending freely) are not in the pacer at all and cost nothing.
 *
 * Layout: a wheel of @slots buckets of @granularity_ns each covers the
 * horizon [cur, cur + slots) ticks; a release time beyond it waits in an
 * overflow list that is moved into the wheel every half revolution; a
 * release time already in the past goes to a ready list. A bitmap of
 * non-empty buckets lets pacer_expired() and pacer_next() skip empty
 * ones 64 at a time. Within one tick flows come out in the order they
 * entered its bucket (scheduling order; a far-future flow joins when the
 * wheel reaches it), so the output is a deterministic function of the calls.
 *
 * Known gaps: one level only (a far-future flow is looked at once per half
 * revolution while it waits); no batching of flows released together.
 */
#ifndef TAS_TCP_PACER_H
#define TAS_TCP_PACER_H

#include <stdbool.h>
#include <stdint.h>

#define PACER_NONE UINT32_MAX /* pacer_ent.list: not scheduled */

/* One flow's entry (intrusive doubly-linked list node). */
struct pacer_ent {
	uint64_t tick;	     /* release tick, ceil(when / granularity) */
	uint32_t next, prev; /* flow indices, PACER_NONE at the ends */
	uint32_t list;	     /* bucket < nslots, nslots: overflow,
			      * nslots + 1: ready, PACER_NONE: not scheduled */
};

struct pacer {
	uint64_t gran_ns;  /* ns per tick */
	uint32_t nslots;   /* buckets, a power of two */
	uint32_t cap;	   /* flow indices 0 .. cap-1 */
	uint64_t cur;	   /* next tick to process: all before it are done */
	uint64_t mig_next; /* tick at which the overflow list is moved in */
	uint64_t ov_lo;	   /* no overflow entry has a smaller tick */
	uint32_t nwheel;   /* entries in the buckets */
	uint32_t nov;	   /* entries in the overflow list */
	uint32_t nready;   /* entries in the ready list */
	uint32_t *head, *tail; /* per list: nslots buckets, overflow, ready */
	uint64_t *bits;	       /* non-empty buckets, one bit each */
	struct pacer_ent *ent; /* per flow index */
	uint64_t work; /* entries and bitmap words touched (tests, tuning) */
};

/**
 * pacer_init - an empty pacer
 * @p: the pacer
 * @cap: number of flow indices (the flow table's capacity)
 * @slots: wheel buckets, a power of two from 64 to 2^24
 * @granularity_ns: width of one bucket, > 0
 * @now: current time, ns (the wheel starts here)
 *
 * Return: 0, -EINVAL on a bad parameter, -ENOMEM.
 */
int pacer_init(struct pacer *p, uint32_t cap, uint32_t slots,
	       uint64_t granularity_ns, uint64_t now);

/**
 * pacer_fini - free what pacer_init allocated (safe on a zeroed pacer)
 * @p: the pacer
 */
void pacer_fini(struct pacer *p);

/**
 * pacer_schedule - release flow @idx at @when_ns (replaces an earlier
 * schedule of the same flow); O(1)
 * @p: the pacer
 * @idx: flow index < cap
 * @when_ns: release time; rounded up to the granularity, so a flow never
 *           comes out before it. A time already past is due at once.
 *
 * Return: 0, or -EINVAL when @idx is out of range.
 */
int pacer_schedule(struct pacer *p, uint32_t idx, uint64_t when_ns);

/**
 * pacer_cancel - forget flow @idx if it is scheduled; O(1)
 * @p: the pacer
 * @idx: flow index (out of range: ignored)
 */
void pacer_cancel(struct pacer *p, uint32_t idx);

/**
 * pacer_pending - whether flow @idx is scheduled
 * @p: the pacer
 * @idx: flow index
 *
 * Return: true if scheduled.
 */
bool pacer_pending(const struct pacer *p, uint32_t idx);

/**
 * pacer_expired - take the flows whose release time is at or before @now,
 * earliest tick first, FIFO within a tick
 * @p: the pacer
 * @now: current time, ns (never less than at the previous call)
 * @out: flow indices written here
 * @max: room in @out; what does not fit stays due for the next call
 *
 * Cost: the flows returned plus the buckets passed, skipped 64 per word of
 * the non-empty bitmap (at most one revolution per call), plus the overflow
 * list once per half revolution while it holds entries.
 *
 * Return: number of indices written.
 */
uint32_t pacer_expired(struct pacer *p, uint64_t now, uint32_t *out,
		       uint32_t max);

/**
 * pacer_next - the earliest time a scheduled flow may be due, for bounding
 * an idle sleep
 * @p: the pacer
 *
 * Never later than the earliest release; may be earlier (the next overflow
 * migration), which only costs a spurious wakeup.
 *
 * Return: ns; 0 when a flow is due now, UINT64_MAX when none is scheduled.
 */
uint64_t pacer_next(const struct pacer *p);

/**
 * pacer_count - number of scheduled flows
 * @p: the pacer
 *
 * Return: the count.
 */
static inline uint32_t pacer_count(const struct pacer *p)
{
	return p->nwheel + p->nov + p->nready;
}

#endif /* TAS_TCP_PACER_H */
