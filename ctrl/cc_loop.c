/* cc_loop.c - the control thread's congestion-control loop (the TAS split):
 * the fast path accumulates per-flow feedback without locks, this loop
 * computes each flow's next window or rate from it (ctrl/cc.c) and writes
 * it back
 *
 * Rate-based algorithms (TIMELY, const) publish their rate, which the fast
 * path paces at (tcp/pacer.c), plus a generous window cap of
 * 2 x rate x RTT + 4 MSS that does not bind while the flow keeps its rate.
 *
 * RTT: the core publishes the engine's RTT sample count and sum since the
 * flow opened (a pair under a seqlock, see struct fp_cc_slot); each
 * interval gets their differences, so TIMELY runs on the mean of the
 * interval's samples, and an interval without samples reports no RTT.
 *
 * Known gaps: in an interval with samples, rtt_last_us and rtt_min_us are
 * the smoothed RTT, not the latest and smallest sample (TIMELY uses the
 * mean then).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl/cc_loop.h"

#define RTT_READ_TRIES 4 /* the core's write is a few stores */

/**
 * cc_loop_init - private per-flow state for every core's slots
 */
int cc_loop_init(struct cc_loop *l, const struct cc_config *cfg,
		 struct fp_core **cores, unsigned ncores, uint32_t max_flows)
{
	memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
	l->cores = cores;
	l->ncores = ncores;
	l->max_flows = max_flows;
	for (unsigned k = 0; k < ncores; k++) {
		l->priv[k] = calloc(max_flows, sizeof(struct cc_priv));
		if (!l->priv[k]) {
			cc_loop_fini(l);
			return -ENOMEM;
		}
	}
	return 0;
}

/**
 * cc_loop_fini - free what cc_loop_init allocated
 */
void cc_loop_fini(struct cc_loop *l)
{
	for (unsigned k = 0; k < TAS_MAX_CORES; k++) {
		free(l->priv[k]);
		l->priv[k] = NULL;
	}
}

static uint32_t window_of(const struct cc_out *o, uint32_t srtt_us,
			  uint32_t mss)
{
	uint64_t w;

	if (o->cwnd != CC_CWND_UNLIMITED)
		return o->cwnd;
	if (o->rate == CC_RATE_UNLIMITED || !srtt_us)
		return 0; /* nothing to enforce yet */
	/* the fast path paces at the rate: the window is only a cap, twice
	 * what the rate carries in one RTT plus a few segments, so that it
	 * never binds before the pacer does */
	if (o->rate > UINT64_MAX / 4 / srtt_us)
		return UINT32_MAX / 2;
	w = 2 * o->rate * srtt_us / 1000000 + 4ull * mss;
	return w > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)w;
}

/* The slot's RTT sample count and sum, read as a pair: false if the core
 * was changing them every time (they count in the next interval then). */
static bool rtt_read(struct fp_cc_slot *sl, uint32_t *n, uint64_t *sum)
{
	for (unsigned i = 0; i < RTT_READ_TRIES; i++) {
		uint32_t s = atomic_load_explicit(&sl->rtt_seq,
						  memory_order_acquire);

		*n = atomic_load_explicit(&sl->rtt_samples,
					  memory_order_relaxed);
		*sum = atomic_load_explicit(&sl->rtt_sum_us,
					    memory_order_relaxed);
		/* the pair's loads before the second look at the sequence */
		atomic_thread_fence(memory_order_acquire);
		if (!(s & 1) && s == atomic_load_explicit(&sl->rtt_seq,
							  memory_order_relaxed))
			return true;
	}
	return false;
}

static void flow_step(struct cc_loop *l, struct fp_cc_slot *sl,
		      struct cc_priv *p)
{
	uint32_t gen = atomic_load_explicit(&sl->gen, memory_order_relaxed);
	uint32_t mss = atomic_load_explicit(&sl->mss, memory_order_relaxed);
	struct cc_feedback fb;
	struct cc_out out;
	uint64_t acked, ecn, rsum;
	uint32_t fr, to, w, rn;
	bool fresh = false;

	if (!mss)
		return;
	if (!p->on || p->gen != gen) {
		memset(p, 0, sizeof(*p));
		p->on = 1;
		p->gen = gen;
		cc_flow_init(&p->st, &l->cfg, mss, &out);
		fresh = true;
	}
	acked = atomic_load_explicit(&sl->acked, memory_order_relaxed);
	ecn = atomic_load_explicit(&sl->ecn_acked, memory_order_relaxed);
	fr = atomic_load_explicit(&sl->fast_retx, memory_order_relaxed);
	to = atomic_load_explicit(&sl->timeouts, memory_order_relaxed);
	/* an idle flow (most of 10,000) has nothing to move: no update, and
	 * no new window for its core to apply */
	if (!fresh && acked == p->acked && fr == p->fast_retx &&
	    to == p->timeouts && cc_quiet_is_noop(l->cfg.algo))
		return;
	memset(&fb, 0, sizeof(fb));
	fb.acked = acked - p->acked;
	fb.ecn_acked = ecn - p->ecn_acked;
	if (fb.ecn_acked > fb.acked)
		fb.ecn_acked = fb.acked; /* torn pair of reads: clamp */
	fb.fast_retx = fr - p->fast_retx;
	fb.timeouts = to - p->timeouts;
	fb.rtt_last_us =
		atomic_load_explicit(&sl->rtt_last_us, memory_order_relaxed);
	fb.rtt_ewma_us =
		atomic_load_explicit(&sl->srtt_us, memory_order_relaxed);
	fb.rtt_min_us = fb.rtt_last_us;
	fb.inflight = atomic_load_explicit(&sl->inflight, memory_order_relaxed);
	fb.mss = mss;
	if (rtt_read(sl, &rn, &rsum)) {
		fb.rtt_count = rn - p->rtt_samples;
		fb.rtt_sum_us = rsum - p->rtt_sum_us;
		p->rtt_samples = rn;
		p->rtt_sum_us = rsum;
	}
	/* No sample in this interval: no RTT (cc.h's 0 = none), so TIMELY
	 * skips it, as in the model it is tuned on (tests/unit/test_cc_sim.c).
	 * The smoothed RTT instead would put a lagging estimate between two
	 * interval means and fake a gradient. */
	if (!fb.rtt_count)
		fb.rtt_last_us = fb.rtt_min_us = 0;
	p->acked = acked;
	p->ecn_acked = ecn;
	p->fast_retx = fr;
	p->timeouts = to;
	cc_update(&p->st, &l->cfg, &fb, &out);
	w = window_of(&out, fb.rtt_ewma_us, mss);
	if (!w && out.rate == CC_RATE_UNLIMITED)
		return;
	atomic_store_explicit(&sl->out_cwnd, w, memory_order_relaxed);
	atomic_store_explicit(&sl->out_rate, out.rate, memory_order_relaxed);
	/* window and rate before the sequence number the core checks */
	atomic_store_explicit(&sl->out_seq, ++p->out_seq, memory_order_release);
	l->updates++;
}

/**
 * cc_loop_run - one control interval
 */
void cc_loop_run(struct cc_loop *l)
{
	for (unsigned k = 0; k < l->ncores; k++) {
		uint32_t hi;
		struct fp_cc_slot *slots = fp_core_cc_slots(l->cores[k], &hi);

		if (hi > l->max_flows)
			hi = l->max_flows;
		for (uint32_t i = 0; i < hi; i++) {
			struct cc_priv *p = &l->priv[k][i];

			if (!atomic_load_explicit(&slots[i].active,
						  memory_order_acquire)) {
				p->on = 0;
				continue;
			}
			flow_step(l, &slots[i], p);
		}
	}
}

/**
 * cc_loop_flow - CC state of flow @idx on @core for tasctl
 */
const struct cc_flow *cc_loop_flow(const struct cc_loop *l, unsigned core,
				   uint32_t idx)
{
	if (core >= l->ncores || idx >= l->max_flows || !l->priv[core][idx].on)
		return NULL;
	return &l->priv[core][idx].st;
}
