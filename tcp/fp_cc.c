/* fp_cc.c - the fast path's side of congestion control: per-flow feedback
 * for the control thread's algorithms (ctrl/cc_loop.c), the windows and
 * rates it sends back, and pacing of rate-limited flows
 *
 * Flows with a rate (TIMELY, const) are paced: a token bucket per flow,
 * enforced through the engine's window, and a per-core timer wheel
 * (tcp/pacer.c) that wakes them when their next segment's worth of tokens
 * has accrued.
 *
 * Known gaps: retransmissions and sends during loss recovery are not paced.
 */
#include <stdatomic.h>

#include "tcp/fp_int.h"
#include "tcp/seq.h"

/* Pacing parameters (see "pacing" below). */
#define PACE_BURST_SEGS 8   /* absorbs late wakeups without losing rate */
#define PACE_QUANTUM_SEGS 2 /* per release: the peer ACKs every 2nd segment */
#define PACE_BURST_NS 20000ull	     /* 20 us of the rate, at high rates */
#define PACE_RATE_MAX 10000000000ull /* bytes/s; keeps ns products in 64 bits */

/* Act on what the engine asked for. */
static inline void cc_store32(_Atomic uint32_t *p, uint32_t v)
{
	atomic_store_explicit(p, v, memory_order_relaxed);
}

static inline void cc_add64(_Atomic uint64_t *p, uint64_t v)
{
	/* one writer: load + store, no locked instruction */
	atomic_store_explicit(p,
			      atomic_load_explicit(p, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* The RTT pair under the slot's one-writer seqlock (struct fp_cc_slot):
 * the control thread keeps a count and a sum only if they belong
 * together. */
static void cc_rtt_publish(struct fp_cc_slot *sl, uint32_t n, uint64_t sum)
{
	uint32_t s = atomic_load_explicit(&sl->rtt_seq, memory_order_relaxed);

	atomic_store_explicit(&sl->rtt_seq, s + 1, memory_order_relaxed);
	/* the odd sequence before the pair's new values */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&sl->rtt_sum_us, sum, memory_order_relaxed);
	atomic_store_explicit(&sl->rtt_samples, n, memory_order_relaxed);
	/* the new values before the even sequence */
	atomic_store_explicit(&sl->rtt_seq, s + 2, memory_order_release);
}

/**
 * fp_cc_open - an established flow starts reporting to the control thread
 */
void fp_cc_open(struct fp_core *c, struct flow *f)
{
	uint32_t idx = flow_index(&c->ft, f);
	struct fp_cc_slot *sl = &c->cc[idx];

	f->cc_on = true;
	atomic_store_explicit(&sl->acked, 0, memory_order_relaxed);
	atomic_store_explicit(&sl->ecn_acked, 0, memory_order_relaxed);
	cc_store32(&sl->fast_retx, 0);
	cc_store32(&sl->timeouts, 0);
	f->cc_fr0 = (uint32_t)f->tc.st.fast_retrans;
	f->cc_to0 = (uint32_t)f->tc.st.timeouts;
	f->cc_to_seen = 0;
	/* samples from before (the handshake's) are not this flow's CC's */
	sl->rtt_n0 = (uint32_t)f->tc.st.rtt_samples;
	sl->rtt_sum0 = f->tc.st.rtt_sum_us;
	cc_rtt_publish(sl, 0, 0);
	sl->applied_seq =
		atomic_load_explicit(&sl->out_seq, memory_order_acquire);
	atomic_fetch_add_explicit(&sl->gen, 1, memory_order_relaxed);
	/* the counters above before the flag, which the control thread
	 * reads with acquire */
	atomic_store_explicit(&sl->active, 1, memory_order_release);
	if (idx + 1 >
	    atomic_load_explicit(&c->cc_hiwater, memory_order_relaxed))
		atomic_store_explicit(&c->cc_hiwater, idx + 1,
				      memory_order_release);
}

/**
 * fp_cc_close - the flow stops reporting (freed or closed)
 */
void fp_cc_close(struct fp_core *c, struct flow *f)
{
	if (!f->cc_on)
		return;
	f->cc_on = false;
	atomic_store_explicit(&c->cc[flow_index(&c->ft, f)].active, 0,
			      memory_order_release);
}

/**
 * fp_cc_feedback - report what the engine just did; take the control
 * thread's window and rate
 */
void fp_cc_feedback(struct fp_core *c, struct flow *f, const struct tcp_out *o)
{
	struct fp_cc_slot *sl = &c->cc[flow_index(&c->ft, f)];
	const struct tcp_conn *tc = &f->tc;
	uint32_t seq, to = (uint32_t)tc->st.timeouts - f->cc_to0;
	uint32_t nrtt = (uint32_t)tc->st.rtt_samples - sl->rtt_n0;

	if (o->tx_freed) {
		cc_add64(&sl->acked, o->tx_freed);
		if (f->last_ece)
			cc_add64(&sl->ecn_acked, o->tx_freed);
	}
	cc_store32(&sl->srtt_us, tc->srtt_us);
	cc_store32(&sl->rtt_last_us, tc->srtt_us);
	/* cumulative, so each sample counts once however often this runs */
	if (nrtt !=
	    atomic_load_explicit(&sl->rtt_samples, memory_order_relaxed))
		cc_rtt_publish(sl, nrtt, tc->st.rtt_sum_us - sl->rtt_sum0);
	cc_store32(&sl->fast_retx, (uint32_t)tc->st.fast_retrans - f->cc_fr0);
	cc_store32(&sl->timeouts, to);
	cc_store32(&sl->inflight, tc->snd_nxt - tc->snd_una);
	cc_store32(&sl->mss, tc->snd_mss);
	seq = atomic_load_explicit(&sl->out_seq, memory_order_acquire);
	if (seq == sl->applied_seq)
		return;
	sl->applied_seq = seq;
	/* Between intervals the engine reacts to loss on its own; after an
	 * RTO its one-segment window stands until the control thread has
	 * seen the timeout (out_cwnd is then computed from it). */
	if (to != f->cc_to_seen) {
		f->cc_to_seen = to;
		return;
	}
	uint32_t w = atomic_load_explicit(&sl->out_cwnd, memory_order_relaxed);
	uint64_t rate =
		atomic_load_explicit(&sl->out_rate, memory_order_relaxed);
	if (w) {
		/* ssthresh too: between intervals the engine then grows the
		 * window linearly instead of slow-starting past the CC */
		f->tc.cwnd = w;
		f->tc.ssthresh = w;
	}
	/* a rate (TIMELY, const) is enforced by pacing, 0 turns it off */
	f->pace_rate = rate < PACE_RATE_MAX ? rate : PACE_RATE_MAX;
	if (!f->pace_rate)
		pacer_cancel(&c->pacer, flow_index(&c->ft, f));
}

/* ---- pacing (rate-based congestion control) ----
 *
 * A paced flow (pace_rate > 0) sends new data from a token bucket: at
 * @now it may send rate x (now - pace_vt) bytes, at most a burst of
 * PACE_BURST_SEGS segments (or PACE_BURST_NS of its rate, if more). The
 * engine has no budget parameter, so the budget is enforced through the
 * window it obeys: around each engine call that may send, fp_pace_begin
 * lowers cwnd to what the bucket allows and fp_pace_end puts the window
 * back, charges the bytes sent, and, when data still waits but the bucket
 * is empty, schedules the flow in the core's pacer for the moment the next
 * release (PACE_QUANTUM_SEGS segments) has accrued. Expired flows are
 * marked dirty each poll. A release is two segments, not one, because a
 * receiver ACKs every second full segment at once but holds a lone one
 * for its delayed-ACK timer, which would inflate the RTT that TIMELY
 * reacts to (Linux paces TSO bursts of at least two segments likewise).
 *
 * Not paced: retransmissions the engine triggers itself, and anything
 * during loss recovery (no clamp then). A window the engine cut during the
 * call (loss, ECE, RTO: ssthresh or the timeout count changed) is kept
 * until the control thread's next window, as for unpaced flows.
 */

static uint64_t pace_burst(const struct flow *f)
{
	uint64_t segs = (uint64_t)PACE_BURST_SEGS * f->tc.snd_mss;
	uint64_t t = f->pace_rate * PACE_BURST_NS / NS_PER_S;

	return t > segs ? t : segs;
}

/* Tokens (bytes) at @now. A full bucket moves pace_vt up so that it never
 * holds more than a burst; pace_vt may be ahead of @now after a send that
 * went over (FIN, limited transmit): then the bucket is empty. */
static uint64_t pace_budget(struct flow *f, uint64_t now)
{
	uint64_t burst = pace_burst(f);
	uint64_t burst_ns = burst * NS_PER_S / f->pace_rate;

	if (now <= f->pace_vt)
		return 0;
	if (now - f->pace_vt >= burst_ns) {
		f->pace_vt = now - burst_ns;
		return burst;
	}
	return (now - f->pace_vt) * f->pace_rate / NS_PER_S;
}

/**
 * fp_pace_begin - before an engine call that may send new data: lower a
 * paced flow's window to what its token bucket allows
 * @c: the core
 * @f: the flow
 * @now: time, ns
 * @acks: the call may process an ACK (tcp_input), which moves the
 *        window's left edge: then the clamp leaves no room for in-flight
 *        bytes, so at most the budget goes out even if all are acked, and
 *        fp_pace_end marks the flow dirty to send the rest from flush
 * @ps: what to restore, for fp_pace_end
 */
void fp_pace_begin(struct fp_core *c, struct flow *f, uint64_t now, bool acks,
		   struct fp_pace *ps)
{
	struct tcp_conn *tc = &f->tc;
	uint64_t budget, left, room, quantum;

	(void)c;
	ps->on = f->pace_rate && !tc->in_recovery;
	if (!ps->on)
		return;
	ps->acks = acks;
	ps->cwnd = tc->cwnd;
	ps->ssthresh = tc->ssthresh;
	ps->snd_nxt = tc->snd_nxt;
	ps->timeouts = tc->st.timeouts;
	budget = pace_budget(f, now);
	left = seq_lt(tc->snd_nxt, tc->tx_end) ? tc->tx_end - tc->snd_nxt : 0;
	quantum = (uint64_t)PACE_QUANTUM_SEGS * tc->snd_mss;
	/* while more waits: a whole release or nothing, in whole segments
	 * (no runt now and another later) */
	if (budget < left && tc->snd_mss)
		budget = budget < quantum ? 0 : budget - budget % tc->snd_mss;
	room = acks ? budget : (uint64_t)(tc->snd_nxt - tc->snd_una) + budget;
	if (room < tc->cwnd)
		tc->cwnd = (uint32_t)room;
}

/**
 * fp_pace_end - after the engine call: restore the window, charge the
 * bucket, and wake the flow when it may send again
 * @c: the core
 * @f: the flow
 * @now: time, ns (as given to fp_pace_begin)
 * @ps: filled by fp_pace_begin
 */
void fp_pace_end(struct fp_core *c, struct flow *f, uint64_t now,
		 const struct fp_pace *ps)
{
	struct tcp_conn *tc = &f->tc;
	uint32_t sent;
	uint64_t need, left;

	if (!ps->on)
		return;
	sent = seq_gt(tc->snd_nxt, ps->snd_nxt) ? tc->snd_nxt - ps->snd_nxt : 0;
	f->pace_vt += (uint64_t)sent * NS_PER_S / f->pace_rate;
	if (tc->ssthresh == ps->ssthresh && tc->st.timeouts == ps->timeouts &&
	    !tc->in_recovery)
		tc->cwnd = ps->cwnd; /* else keep the engine's cut */
	if (!seq_lt(tc->snd_nxt, tc->tx_end) || tc->in_recovery)
		return;
	/* the next release: a quantum, or what is left if less */
	left = tc->tx_end - tc->snd_nxt;
	need = (uint64_t)PACE_QUANTUM_SEGS * (tc->snd_mss ? tc->snd_mss : 1);
	if (left < need)
		need = left;
	if (pace_budget(f, now) >= need) {
		/* budget left: after an ACK, send it from flush (this
		 * poll); after tcp_output the window binds, not the rate */
		if (ps->acks)
			fp_mark_dirty(c, f);
		return;
	}
	pacer_schedule(&c->pacer, flow_index(&c->ft, f),
		       f->pace_vt + (need * NS_PER_S + f->pace_rate - 1) /
					    f->pace_rate);
}

/**
 * fp_core_cc_slots - the CC exchange slots and how many are in use
 */
struct fp_cc_slot *fp_core_cc_slots(struct fp_core *c, uint32_t *hiwater)
{
	*hiwater = atomic_load_explicit(&c->cc_hiwater, memory_order_acquire);
	return c->cc;
}
