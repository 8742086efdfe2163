/* pacer.c - per-core pacing scheduler: a one-level timer wheel of flow
 * indices with an overflow list for release times beyond its horizon
 *
 * Invariants (ticks are ceil(ns / granularity)):
 * - a bucket entry has cur <= tick < cur + nslots, so bucket
 *   tick % nslots holds one tick only;
 * - an overflow entry was at least nslots ahead of cur when it went in;
 *   the overflow list is moved into the wheel whenever cur reaches
 *   mig_next (half a revolution after the previous move, or after the
 *   first entry went in), taking every entry that then fits, so while the
 *   wheel is walked every overflow entry stays >= cur + nslots / 2;
 * - while the wheel is empty cur may jump past mig_next, but only up to
 *   ov_lo (a lower bound of the overflow ticks), and the move then
 *   happens before the next walk;
 * - a ready entry has tick < cur (already due).
 *
 * Known gaps: see pacer.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/pacer.h"

#define MAX_SLOTS (1u << 24)

static inline uint32_t list_ov(const struct pacer *p)
{
	return p->nslots;
}

static inline uint32_t list_ready(const struct pacer *p)
{
	return p->nslots + 1;
}

static void count_add(struct pacer *p, uint32_t list, int32_t d)
{
	if (list < p->nslots)
		p->nwheel += (uint32_t)d;
	else if (list == list_ov(p))
		p->nov += (uint32_t)d;
	else
		p->nready += (uint32_t)d;
}

/* Append @idx at the tail of @list (FIFO). */
static void list_push(struct pacer *p, uint32_t list, uint32_t idx)
{
	struct pacer_ent *e = &p->ent[idx];

	e->list = list;
	e->next = PACER_NONE;
	e->prev = p->tail[list];
	if (e->prev == PACER_NONE)
		p->head[list] = idx;
	else
		p->ent[e->prev].next = idx;
	p->tail[list] = idx;
	if (list < p->nslots)
		p->bits[list / 64] |= 1ull << (list % 64);
	count_add(p, list, 1);
}

static void list_unlink(struct pacer *p, uint32_t idx)
{
	struct pacer_ent *e = &p->ent[idx];
	uint32_t list = e->list;

	if (e->prev == PACER_NONE)
		p->head[list] = e->next;
	else
		p->ent[e->prev].next = e->next;
	if (e->next == PACER_NONE)
		p->tail[list] = e->prev;
	else
		p->ent[e->next].prev = e->prev;
	if (list < p->nslots && p->head[list] == PACER_NONE)
		p->bits[list / 64] &= ~(1ull << (list % 64));
	e->list = PACER_NONE;
	e->next = e->prev = PACER_NONE;
	count_add(p, list, -1);
}

static uint32_t list_pop(struct pacer *p, uint32_t list)
{
	uint32_t idx = p->head[list];

	list_unlink(p, idx);
	p->work++;
	return idx;
}

/* Where an entry with @tick belongs now. */
static uint32_t list_for(const struct pacer *p, uint64_t tick)
{
	if (tick < p->cur)
		return list_ready(p);
	if (tick - p->cur < p->nslots)
		return (uint32_t)(tick & (p->nslots - 1));
	return list_ov(p);
}

/* First tick in [from, to] whose bucket is not empty, UINT64_MAX if none;
 * to - from < nslots. Buckets are skipped a 64-bit word at a time (nslots
 * is a multiple of 64, so words never straddle the wrap). */
static uint64_t wheel_first(const struct pacer *p, uint64_t from, uint64_t to,
			    uint64_t *work)
{
	uint64_t t = from;

	while (t <= to) {
		uint32_t s = (uint32_t)(t & (p->nslots - 1));
		uint64_t w = p->bits[s / 64] >> (s % 64);

		(*work)++;
		if (w) {
			uint64_t hit = t + (uint64_t)__builtin_ctzll(w);

			return hit <= to ? hit : UINT64_MAX;
		}
		t += 64 - s % 64;
	}
	return UINT64_MAX;
}

/* Move every overflow entry that now fits the horizon into its bucket;
 * the rest set the overflow list's lower bound exactly. */
static void migrate(struct pacer *p)
{
	uint32_t idx = p->head[list_ov(p)];

	p->ov_lo = UINT64_MAX;
	while (idx != PACER_NONE) {
		uint32_t next = p->ent[idx].next, list;
		uint64_t tick = p->ent[idx].tick;

		p->work++;
		list = list_for(p, tick);
		if (list != list_ov(p)) {
			list_unlink(p, idx);
			list_push(p, list, idx);
		} else if (tick < p->ov_lo) {
			p->ov_lo = tick;
		}
		idx = next;
	}
	p->mig_next = p->cur + p->nslots / 2;
}

/**
 * pacer_init - an empty pacer starting at @now
 */
int pacer_init(struct pacer *p, uint32_t cap, uint32_t slots,
	       uint64_t granularity_ns, uint64_t now)
{
	memset(p, 0, sizeof(*p));
	if (!granularity_ns || slots < 64 || slots > MAX_SLOTS ||
	    (slots & (slots - 1)) || cap == PACER_NONE)
		return -EINVAL;
	p->gran_ns = granularity_ns;
	p->nslots = slots;
	p->cap = cap;
	p->cur = now / granularity_ns;
	p->mig_next = p->cur + slots / 2;
	p->head = malloc((slots + 2) * sizeof(*p->head));
	p->tail = malloc((slots + 2) * sizeof(*p->tail));
	p->bits = calloc(slots / 64, sizeof(*p->bits));
	p->ent = malloc((cap ? cap : 1) * sizeof(*p->ent));
	if (!p->head || !p->tail || !p->bits || !p->ent) {
		pacer_fini(p);
		return -ENOMEM;
	}
	memset(p->head, 0xff, (slots + 2) * sizeof(*p->head));
	memset(p->tail, 0xff, (slots + 2) * sizeof(*p->tail));
	for (uint32_t i = 0; i < cap; i++)
		p->ent[i] = (struct pacer_ent){ .next = PACER_NONE,
						.prev = PACER_NONE,
						.list = PACER_NONE };
	return 0;
}

/**
 * pacer_fini - free the pacer's arrays
 */
void pacer_fini(struct pacer *p)
{
	free(p->head);
	free(p->tail);
	free(p->bits);
	free(p->ent);
	memset(p, 0, sizeof(*p));
}

/**
 * pacer_schedule - (re)schedule flow @idx for @when_ns
 */
int pacer_schedule(struct pacer *p, uint32_t idx, uint64_t when_ns)
{
	uint64_t tick;
	uint32_t list;

	if (idx >= p->cap)
		return -EINVAL;
	if (p->ent[idx].list != PACER_NONE)
		list_unlink(p, idx);
	/* round up: a flow never comes out before its time */
	tick = when_ns / p->gran_ns + (when_ns % p->gran_ns != 0);
	p->ent[idx].tick = tick;
	list = list_for(p, tick);
	if (list == list_ov(p)) {
		if (!p->nov) {
			p->mig_next = p->cur + p->nslots / 2;
			p->ov_lo = UINT64_MAX;
		}
		if (tick < p->ov_lo)
			p->ov_lo = tick;
	}
	list_push(p, list, idx);
	return 0;
}

/**
 * pacer_cancel - unschedule flow @idx
 */
void pacer_cancel(struct pacer *p, uint32_t idx)
{
	if (idx < p->cap && p->ent[idx].list != PACER_NONE)
		list_unlink(p, idx);
}

/**
 * pacer_pending - whether flow @idx waits in the pacer
 */
bool pacer_pending(const struct pacer *p, uint32_t idx)
{
	return idx < p->cap && p->ent[idx].list != PACER_NONE;
}

/**
 * pacer_expired - the flows due at @now, in release order
 */
uint32_t pacer_expired(struct pacer *p, uint64_t now, uint32_t *out,
		       uint32_t max)
{
	uint64_t target = now / p->gran_ns;
	uint32_t n = 0;

	while (n < max && p->nready)
		out[n++] = list_pop(p, list_ready(p));
	while (n < max && p->cur <= target) {
		uint64_t lim, t;
		uint32_t s;

		if (p->nov && p->cur >= p->mig_next)
			migrate(p);
		if (!p->nwheel) {
			if (!p->nov || p->ov_lo > target) {
				/* nothing due: skip the empty wheel in one
				 * step. Overflow entries stay where they are
				 * (all beyond @now); mig_next, now behind cur,
				 * moves them before the wheel is walked again */
				p->cur = target + 1;
				break;
			}
			/* jump to the earliest overflow entry (ov_lo is a
			 * lower bound after cancels; migrate makes it
			 * exact) instead of walking to it */
			if (p->ov_lo > p->cur)
				p->cur = p->ov_lo;
			migrate(p);
			continue;
		}
		/* walk no further than @now, one revolution, and the next
		 * overflow move */
		lim = target;
		if (lim - p->cur >= p->nslots)
			lim = p->cur + p->nslots - 1;
		if (p->nov && p->mig_next - 1 < lim)
			lim = p->mig_next - 1;
		t = wheel_first(p, p->cur, lim, &p->work);
		if (t == UINT64_MAX) {
			p->cur = lim + 1;
			continue;
		}
		p->cur = t;
		s = (uint32_t)(t & (p->nslots - 1));
		while (n < max && p->head[s] != PACER_NONE)
			out[n++] = list_pop(p, s);
		if (p->head[s] == PACER_NONE)
			p->cur = t + 1;
		/* ready entries scheduled meanwhile cannot exist: the
		 * caller does not schedule inside this call */
	}
	return n;
}

/**
 * pacer_next - earliest time something may be due
 */
uint64_t pacer_next(const struct pacer *p)
{
	uint64_t t = UINT64_MAX, work = 0; /* a peek: not counted */

	if (p->nready)
		return 0;
	if (p->nwheel)
		t = wheel_first(p, p->cur, p->cur + p->nslots - 1, &work);
	if (p->nov) {
		/* a bound, never late: the next move into the wheel, or the
		 * overflow list's lower bound when the wheel is empty */
		uint64_t m = p->nwheel ? p->mig_next : p->ov_lo;

		if (m < t)
			t = m;
	}
	if (t == UINT64_MAX || t > UINT64_MAX / p->gran_ns)
		return UINT64_MAX;
	return t * p->gran_ns;
}
