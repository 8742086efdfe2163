/* ccsim.c - simulation harness of ccsim.h: real TCP engines, the daemon's
 * real congestion-control loop, a link_queue bottleneck, a virtual clock
 *
 * Called unchanged: the engines (tcp/tcp_in.c, tcp_out.c and the rest), ctrl/cc_loop.c (cc_loop_run, so
 * ctrl/cc.c and the daemon's feedback differencing and rate-to-window cap)
 * and link_queue_* of verbs/nic_link.c. cc_loop_run reaches the flows'
 * exchange slots through fp_core_cc_slots(), which this file replaces at
 * link time (STYLE rule 13) with a stand-in core that has only the slots;
 * tcp/fastpath.o is therefore never linked into a binary that uses ccsim.
 *
 * Mirrored from tcp/fp_cc.c, because there they need a whole core (NIC,
 * flow table, app rings, pacer wheel); keep them in step:
 *  - sim_cc_open is fp_cc_open, sim_cc_feedback is fp_cc_feedback
 *    (including: after an RTO the engine's one-segment window stands until
 *    the control loop has seen the timeout), sim_rtt_publish is
 *    cc_rtt_publish (the RTT sample count and sum under the seqlock);
 *  - pace_begin/pace_end are fp_pace_begin/fp_pace_end with the same
 *    constants; the per-core pacer wheel is one EV_PACE event per flow.
 * Every sender-side engine call goes through the same sequence as the fast
 * path's: pace_begin, the engine, pace_end, then the fp_handle_out part
 * (emit, fp_cc_open on ESTABLISHED, cc_feedback).
 *
 * Event order is total: (time, insertion number) in one heap for frames
 * and pacing releases; at equal times heap events go first, then the
 * control tick, then engine timers in flow order.
 *
 * Found with it (see tests/unit/test_cc_engine_sim.c): the engine's own
 * Reno growth keeps running between control intervals; until the daemon
 * also set the engine's ssthresh to the CC window, a flow slow-started past
 * the CC between two intervals (start-up and incast losses).
 *
 * Known gaps: receivers do not report to the control loop (the daemon
 * opens a slot for them too; they send no data, so their window never
 * binds); the app reacts at once (no app queue latency); the ACK path has
 * no queue; one path MTU and one rate for every NIC.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl/cc_loop.h"
#include "tcp/seq.h"
#include "tcp/tcp.h"
#include "tcp/wire.h"
#include "tests/sim/ccsim.h"

#define NIC_LIMIT_PKTS 8192u /* a sender's own NIC queue: never binds */
#define OUTPUT_GUARD 256u    /* tcp_output calls per wakeup, at most */

/* Pacing constants, as in tcp/fastpath.c. */
#define PACE_BURST_SEGS 8
#define PACE_QUANTUM_SEGS 2
#define PACE_BURST_NS 20000ull
#define PACE_RATE_MAX 10000000000ull
#define NS_PER_S 1000000000ull

/* The simulation's fast-path core: only what ctrl/cc_loop.c reads. */
struct fp_core {
	struct fp_cc_slot slots[CCSIM_MAX_FLOWS];
	_Atomic uint32_t hiwater;
};

/**
 * fp_core_cc_slots - link-time double of tcp/fastpath.c's: the simulated
 * core's exchange slots, for cc_loop_run
 * @c: the core
 * @hiwater: set to the highest slot in use + 1
 *
 * Return: the slots.
 */
struct fp_cc_slot *fp_core_cc_slots(struct fp_core *c, uint32_t *hiwater)
{
	*hiwater = atomic_load_explicit(&c->hiwater, memory_order_acquire);
	return c->slots;
}

struct frame {
	struct frame *next; /* free list */
	uint32_t len;
	uint8_t ecn;
	uint8_t data[TCP_HLEN + TCP_OPT_MAX + CCSIM_MTU_MAX];
};

enum ev_type {
	EV_SWITCH, /* a data frame reaches the bottleneck */
	EV_RCV,	   /* ... the receiver */
	EV_ACK,	   /* a receiver's frame reaches the sender */
	EV_PACE,   /* a paced sender may send again */
};

struct ev {
	uint64_t t, seq;
	struct frame *fr;
	uint32_t flow;
	uint32_t type;
};

struct end {
	struct tcp_conn c;
	struct tcp_out out;
	uint8_t *rx;
	uint64_t deadline; /* tcp_next_deadline after the last call */
};

struct sflow {
	struct end snd, rcv;
	struct link_queue nic; /* the sender's own NIC */
	uint64_t want, queued, acked, delivered, corrupt, resets;
	bool established;
	/* the fields of struct flow (tcp/flow.h) that CC and pacing use */
	bool cc_on, last_ece;
	uint32_t cc_fr0, cc_to0, cc_to_seen;
	uint64_t pace_rate, pace_vt, pace_at;
	uint64_t *gbins; /* goodput per bin */
};

struct ccsim {
	struct ccsim_params p;
	struct tcp_cfg tcp;
	bool cc_external;
	uint64_t now, seq, rng;
	struct ev *heap;
	size_t nheap, capheap;
	struct frame *free_frames;
	struct link_queue bn; /* the bottleneck */
	uint64_t *wbins;      /* bottleneck wire bytes per bin */
	uint8_t *pat;	      /* every sender's tx ring: a fixed pattern */
	struct fp_core core;
	struct fp_core *cores[1];
	struct cc_loop loop;
	uint64_t next_tick;
	uint64_t nic_drops;
	unsigned nflows;
	struct sflow *fl[CCSIM_MAX_FLOWS];
};

/* State of fp_pace_begin for fp_pace_end (struct fp_pace, tcp/fp_int.h). */
struct pace_state {
	bool on, acks;
	uint32_t cwnd, ssthresh, snd_nxt;
	uint64_t timeouts;
};

enum call { CALL_INPUT, CALL_TIMERS, CALL_OUTPUT };

static void die(const char *what)
{
	fprintf(stderr, "ccsim: %s\n", what);
	abort();
}

/* xorshift64 (Marsaglia): a seed replays exactly. */
static uint64_t xorshift64(uint64_t *st)
{
	uint64_t x = *st;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*st = x;
	return x;
}

/* ---- frames and events ---- */

static struct frame *frame_get(struct ccsim *s)
{
	struct frame *fr = s->free_frames;

	if (fr) {
		s->free_frames = fr->next;
		return fr;
	}
	fr = malloc(sizeof(*fr));
	if (!fr)
		die("out of memory");
	return fr;
}

static void frame_put(struct ccsim *s, struct frame *fr)
{
	fr->next = s->free_frames;
	s->free_frames = fr;
}

static uint32_t wire_len(const struct frame *fr)
{
	return fr->len + IPV4_HLEN + CCSIM_WIRE_EXTRA;
}

static bool ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void ev_push(struct ccsim *s, uint64_t t, enum ev_type type,
		    unsigned flow, struct frame *fr)
{
	struct ev e = {
		.t = t, .seq = s->seq++, .fr = fr, .flow = flow, .type = type
	};
	size_t i;

	if (s->nheap == s->capheap) {
		size_t cap = s->capheap ? s->capheap * 2 : 4096;
		struct ev *h = realloc(s->heap, cap * sizeof(*h));

		if (!h)
			die("out of memory");
		s->heap = h;
		s->capheap = cap;
	}
	i = s->nheap++;
	while (i && ev_less(&e, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = e;
}

static struct ev ev_pop(struct ccsim *s)
{
	struct ev top = s->heap[0], last = s->heap[--s->nheap];
	size_t i = 0, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap)
		s->heap[i] = last;
	return top;
}

static void bin_add(uint64_t *bins, const struct ccsim_params *p, uint64_t t,
		    uint64_t bytes)
{
	uint64_t b = t / p->bin_ns;

	if (b < p->nbins)
		bins[b] += bytes;
}

/* Serialize @so into a frame and start it on its way: data direction
 * through the sender's NIC, ACK direction after the fixed delay. */
static void transmit(struct ccsim *s, unsigned i, const struct end *e,
		     const struct tcp_seg_out *so, bool data_dir)
{
	struct sflow *f = s->fl[i];
	struct frame *fr = frame_get(s);
	struct tcp_hdr h = so->h;
	uint32_t hlen, off, first, mask = s->p.ring - 1;
	uint64_t at;

	hlen = (uint32_t)tcp_emit(fr->data, &h);
	if (so->len) {
		off = (so->h.seq - (e->c.iss + 1)) & mask;
		first = so->len < s->p.ring - off ? so->len : s->p.ring - off;
		memcpy(fr->data + hlen, s->pat + off, first);
		memcpy(fr->data + hlen + first, s->pat, so->len - first);
	}
	fr->len = hlen + so->len;
	fr->ecn = so->ecn;
	if (!data_dir) {
		ev_push(s, s->now + s->p.ack_ns, EV_ACK, i, fr);
		return;
	}
	if (link_queue_enqueue(&f->nic, s->now, wire_len(fr), false, &at) ==
	    LINK_DROP) {
		s->nic_drops++;
		frame_put(s, fr);
		return;
	}
	ev_push(s, at, EV_SWITCH, i, fr);
}

/* ---- the fast path's CC glue (mirrors of tcp/fp_cc.c) ---- */

/* fp_cc.c's cc_rtt_publish: the RTT pair under the slot's seqlock. */
static void sim_rtt_publish(struct fp_cc_slot *sl, uint32_t n, uint64_t sum)
{
	uint32_t q = atomic_load_explicit(&sl->rtt_seq, memory_order_relaxed);

	atomic_store_explicit(&sl->rtt_seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&sl->rtt_sum_us, sum, memory_order_relaxed);
	atomic_store_explicit(&sl->rtt_samples, n, memory_order_relaxed);
	atomic_store_explicit(&sl->rtt_seq, q + 2, memory_order_release);
}

/* fp_cc_open: an established flow starts reporting. */
static void sim_cc_open(struct ccsim *s, unsigned i)
{
	struct sflow *f = s->fl[i];
	struct fp_cc_slot *sl = &s->core.slots[i];

	f->cc_on = true;
	atomic_store_explicit(&sl->acked, 0, memory_order_relaxed);
	atomic_store_explicit(&sl->ecn_acked, 0, memory_order_relaxed);
	atomic_store_explicit(&sl->fast_retx, 0, memory_order_relaxed);
	atomic_store_explicit(&sl->timeouts, 0, memory_order_relaxed);
	f->cc_fr0 = (uint32_t)f->snd.c.st.fast_retrans;
	f->cc_to0 = (uint32_t)f->snd.c.st.timeouts;
	f->cc_to_seen = 0;
	sl->rtt_n0 = (uint32_t)f->snd.c.st.rtt_samples;
	sl->rtt_sum0 = f->snd.c.st.rtt_sum_us;
	sim_rtt_publish(sl, 0, 0);
	sl->applied_seq =
		atomic_load_explicit(&sl->out_seq, memory_order_acquire);
	atomic_fetch_add_explicit(&sl->gen, 1, memory_order_relaxed);
	atomic_store_explicit(&sl->active, 1, memory_order_release);
	if (i + 1 >
	    atomic_load_explicit(&s->core.hiwater, memory_order_relaxed))
		atomic_store_explicit(&s->core.hiwater, i + 1,
				      memory_order_release);
}

/* cc_feedback: report what the engine just did; take the loop's output. */
static void sim_cc_feedback(struct ccsim *s, unsigned i,
			    const struct tcp_out *o)
{
	struct sflow *f = s->fl[i];
	struct fp_cc_slot *sl = &s->core.slots[i];
	const struct tcp_conn *tc = &f->snd.c;
	uint32_t seq, w, to = (uint32_t)tc->st.timeouts - f->cc_to0;
	uint32_t nrtt = (uint32_t)tc->st.rtt_samples - sl->rtt_n0;
	uint64_t rate;

	if (o->tx_freed) {
		atomic_fetch_add_explicit(&sl->acked, o->tx_freed,
					  memory_order_relaxed);
		if (f->last_ece)
			atomic_fetch_add_explicit(&sl->ecn_acked, o->tx_freed,
						  memory_order_relaxed);
	}
	atomic_store_explicit(&sl->srtt_us, tc->srtt_us, memory_order_relaxed);
	atomic_store_explicit(&sl->rtt_last_us, tc->srtt_us,
			      memory_order_relaxed);
	if (nrtt !=
	    atomic_load_explicit(&sl->rtt_samples, memory_order_relaxed))
		sim_rtt_publish(sl, nrtt, tc->st.rtt_sum_us - sl->rtt_sum0);
	atomic_store_explicit(&sl->fast_retx,
			      (uint32_t)tc->st.fast_retrans - f->cc_fr0,
			      memory_order_relaxed);
	atomic_store_explicit(&sl->timeouts, to, memory_order_relaxed);
	atomic_store_explicit(&sl->inflight, tc->snd_nxt - tc->snd_una,
			      memory_order_relaxed);
	atomic_store_explicit(&sl->mss, tc->snd_mss, memory_order_relaxed);
	seq = atomic_load_explicit(&sl->out_seq, memory_order_acquire);
	if (seq == sl->applied_seq)
		return;
	sl->applied_seq = seq;
	/* after an RTO the engine's one-segment window stands until the
	 * control loop has seen the timeout */
	if (to != f->cc_to_seen) {
		f->cc_to_seen = to;
		return;
	}
	w = atomic_load_explicit(&sl->out_cwnd, memory_order_relaxed);
	rate = atomic_load_explicit(&sl->out_rate, memory_order_relaxed);
	if (w) {
		f->snd.c.cwnd = w;
		f->snd.c.ssthresh = w; /* engine grows linearly in between */
	}
	f->pace_rate = rate < PACE_RATE_MAX ? rate : PACE_RATE_MAX;
	if (!f->pace_rate)
		f->pace_at = 0; /* pacer_cancel */
}

/* pace_burst and pace_budget of tcp/fastpath.c. */
static uint64_t pace_burst(const struct sflow *f)
{
	uint64_t segs = (uint64_t)PACE_BURST_SEGS * f->snd.c.snd_mss;
	uint64_t t = f->pace_rate * PACE_BURST_NS / NS_PER_S;

	return t > segs ? t : segs;
}

static uint64_t pace_budget(struct sflow *f, uint64_t now)
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

/* fp_pace_begin: lower a paced flow's window to its token budget. */
static void pace_begin(struct sflow *f, uint64_t now, bool acks,
		       struct pace_state *ps)
{
	struct tcp_conn *tc = &f->snd.c;
	uint64_t budget, left, room, quantum;

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
	if (budget < left && tc->snd_mss)
		budget = budget < quantum ? 0 : budget - budget % tc->snd_mss;
	room = acks ? budget : (uint64_t)(tc->snd_nxt - tc->snd_una) + budget;
	if (room < tc->cwnd)
		tc->cwnd = (uint32_t)room;
}

/* fp_pace_end: restore the window, charge the bucket, schedule the next
 * release (fp_mark_dirty is implicit: every wakeup ends in tcp_output). */
static void pace_end(struct ccsim *s, unsigned i, const struct pace_state *ps)
{
	struct sflow *f = s->fl[i];
	struct tcp_conn *tc = &f->snd.c;
	uint64_t need, left, at;
	uint32_t sent;

	if (!ps->on)
		return;
	sent = seq_gt(tc->snd_nxt, ps->snd_nxt) ? tc->snd_nxt - ps->snd_nxt : 0;
	f->pace_vt += (uint64_t)sent * NS_PER_S / f->pace_rate;
	if (tc->ssthresh == ps->ssthresh && tc->st.timeouts == ps->timeouts &&
	    !tc->in_recovery)
		tc->cwnd = ps->cwnd;
	if (!seq_lt(tc->snd_nxt, tc->tx_end) || tc->in_recovery)
		return;
	left = tc->tx_end - tc->snd_nxt;
	need = (uint64_t)PACE_QUANTUM_SEGS * (tc->snd_mss ? tc->snd_mss : 1);
	if (left < need)
		need = left;
	if (pace_budget(f, s->now) >= need)
		return;
	at = f->pace_vt + (need * NS_PER_S + f->pace_rate - 1) / f->pace_rate;
	if (f->pace_at == at)
		return;
	f->pace_at = at; /* pacer_schedule: replaces an earlier release */
	ev_push(s, at, EV_PACE, i, NULL);
}

/* ---- the two ends ---- */

/* fp_handle_out for the sender: emit, open CC, report. */
static unsigned snd_handle_out(struct ccsim *s, unsigned i)
{
	struct sflow *f = s->fl[i];
	struct tcp_out *o = &f->snd.out;
	unsigned k, nseg = o->nseg;

	for (k = 0; k < o->nseg; k++)
		transmit(s, i, &f->snd, &o->seg[k], true);
	if (o->events & TCP_OUT_ESTABLISHED) {
		f->established = true;
		if (s->cc_external)
			sim_cc_open(s, i);
	}
	if (o->events & TCP_OUT_RESET)
		f->resets++;
	f->acked += o->tx_freed;
	if (f->cc_on)
		sim_cc_feedback(s, i, o);
	tcp_out_reset(o);
	f->snd.deadline = tcp_next_deadline(&f->snd.c);
	return nseg;
}

/* One engine call on the sender, wrapped like the fast path's. */
static unsigned snd_call(struct ccsim *s, unsigned i, enum call k,
			 const struct tcp_hdr *h, const struct frame *fr)
{
	struct sflow *f = s->fl[i];
	struct pace_state ps;

	pace_begin(f, s->now, k == CALL_INPUT, &ps);
	switch (k) {
	case CALL_INPUT:
		f->last_ece = (h->flags & TCP_ECE) != 0;
		tcp_input(&f->snd.c, h, fr->data + h->hlen, fr->len - h->hlen,
			  fr->ecn, s->now, &f->snd.out);
		break;
	case CALL_TIMERS:
		tcp_timers(&f->snd.c, s->now, &f->snd.out);
		break;
	case CALL_OUTPUT:
		tcp_output(&f->snd.c, s->now, &f->snd.out);
		break;
	}
	pace_end(s, i, &ps);
	return snd_handle_out(s, i);
}

/* The sender's app queues what fits, then the core flushes the flow. */
static void snd_app(struct ccsim *s, unsigned i)
{
	struct sflow *f = s->fl[i];
	uint64_t n;
	unsigned g;

	if (f->snd.c.state != TCP_ESTABLISHED)
		return;
	n = tcp_tx_space(&f->snd.c);
	if (f->want - f->queued < n)
		n = f->want - f->queued;
	if (n) {
		if (tcp_app_tx(&f->snd.c, (uint32_t)n))
			die("tcp_app_tx refused bytes that fit");
		f->queued += n;
	}
	for (g = 0; g < OUTPUT_GUARD; g++)
		if (snd_call(s, i, CALL_OUTPUT, NULL, NULL) < TCP_OUT_SEGS)
			break;
}

/* The receiver: send its segments back, read and check what arrived. */
static void rcv_handle_out(struct ccsim *s, unsigned i)
{
	struct sflow *f = s->fl[i];
	struct tcp_out *o = &f->rcv.out;
	uint32_t n = o->rx_new, mask = s->p.ring - 1, done = 0;
	unsigned k;

	for (k = 0; k < o->nseg; k++)
		transmit(s, i, &f->rcv, &o->seg[k], false);
	if (o->events & TCP_OUT_RESET)
		f->resets++;
	while (done < n) {
		uint32_t off = (uint32_t)((f->delivered + done) & mask);
		uint32_t chunk =
			n - done < s->p.ring - off ? n - done : s->p.ring - off;

		if (memcmp(f->rcv.rx + off, s->pat + off, chunk))
			f->corrupt += chunk;
		done += chunk;
	}
	f->delivered += n;
	bin_add(f->gbins, &s->p, s->now, n);
	tcp_out_reset(o);
	if (n) {
		if (tcp_app_rx_done(&f->rcv.c, n))
			die("tcp_app_rx_done refused bytes it delivered");
		tcp_output(&f->rcv.c, s->now, o);
		for (k = 0; k < o->nseg; k++)
			transmit(s, i, &f->rcv, &o->seg[k], false);
		tcp_out_reset(o);
	}
	f->rcv.deadline = tcp_next_deadline(&f->rcv.c);
}

/* ---- events ---- */

static void on_switch(struct ccsim *s, const struct ev *e)
{
	struct frame *fr = e->fr;
	uint8_t ecn = fr->ecn & IP_ECN_MASK;
	enum link_verdict v;
	uint64_t at;

	v = link_queue_enqueue(&s->bn, s->now, wire_len(fr),
			       ecn == IP_ECN_ECT0 || ecn == IP_ECN_ECT1, &at);
	if (v == LINK_DROP) {
		frame_put(s, fr);
		return;
	}
	if (v == LINK_MARK)
		fr->ecn = (fr->ecn & ~IP_ECN_MASK) | IP_ECN_CE;
	bin_add(s->wbins, &s->p, at - s->p.down_ns, wire_len(fr));
	ev_push(s, at, EV_RCV, e->flow, fr);
}

static void on_rcv(struct ccsim *s, const struct ev *e)
{
	struct sflow *f = s->fl[e->flow];
	struct frame *fr = e->fr;
	struct tcp_hdr h;

	if (tcp_parse(fr->data, fr->len, &h) != PKT_OK)
		die("a frame the engine emitted does not parse");
	if (f->rcv.c.state == TCP_CLOSED &&
	    (h.flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN)
		tcp_accept_syn(&f->rcv.c, &h, s->now, &f->rcv.out);
	else
		tcp_input(&f->rcv.c, &h, fr->data + h.hlen, fr->len - h.hlen,
			  fr->ecn, s->now, &f->rcv.out);
	frame_put(s, fr);
	rcv_handle_out(s, e->flow);
}

static void on_ack(struct ccsim *s, const struct ev *e)
{
	struct frame *fr = e->fr;
	struct tcp_hdr h;

	if (tcp_parse(fr->data, fr->len, &h) != PKT_OK)
		die("a frame the engine emitted does not parse");
	snd_call(s, e->flow, CALL_INPUT, &h, fr);
	frame_put(s, fr);
	snd_app(s, e->flow);
}

static void on_timer(struct ccsim *s, unsigned i, bool sender)
{
	struct sflow *f = s->fl[i];

	if (sender) {
		snd_call(s, i, CALL_TIMERS, NULL, NULL);
		snd_app(s, i);
		return;
	}
	tcp_timers(&f->rcv.c, s->now, &f->rcv.out);
	rcv_handle_out(s, i);
}

/**
 * ccsim_run_until - advance the virtual clock to @t_ns, handling every
 * event on the way
 * @s: the simulation
 * @t_ns: the new time (not before the current one)
 */
void ccsim_run_until(struct ccsim *s, uint64_t t_ns)
{
	for (;;) {
		uint64_t next = UINT64_MAX;
		int kind = -1; /* 0 heap, 1 tick, 2 timer */
		unsigned who = 0, i;
		bool snd = false;

		if (s->nheap) {
			next = s->heap[0].t;
			kind = 0;
		}
		if (s->cc_external && s->next_tick < next) {
			next = s->next_tick;
			kind = 1;
		}
		for (i = 0; i < s->nflows; i++) {
			if (s->fl[i]->snd.deadline < next) {
				next = s->fl[i]->snd.deadline;
				kind = 2;
				who = i;
				snd = true;
			}
			if (s->fl[i]->rcv.deadline < next) {
				next = s->fl[i]->rcv.deadline;
				kind = 2;
				who = i;
				snd = false;
			}
		}
		if (kind < 0 || next > t_ns)
			break;
		if (next > s->now)
			s->now = next;
		if (kind == 0) {
			struct ev e = ev_pop(s);

			switch (e.type) {
			case EV_SWITCH:
				on_switch(s, &e);
				break;
			case EV_RCV:
				on_rcv(s, &e);
				break;
			case EV_ACK:
				on_ack(s, &e);
				break;
			case EV_PACE:
				if (s->fl[e.flow]->pace_at != e.t)
					break; /* replaced or cancelled */
				s->fl[e.flow]->pace_at = 0;
				snd_app(s, e.flow);
				break;
			}
		} else if (kind == 1) {
			cc_loop_run(&s->loop);
			s->next_tick += s->p.cc.interval_us * 1000;
		} else {
			on_timer(s, who, snd);
		}
	}
	if (t_ns > s->now)
		s->now = t_ns;
}

/* ---- set-up and accessors ---- */

/**
 * ccsim_new - an empty simulation at time 0
 * @p: its parameters (copied)
 *
 * Return: the simulation, or NULL with errno set (EINVAL, ENOMEM).
 */
struct ccsim *ccsim_new(const struct ccsim_params *p)
{
	struct link_params lp = { .rate_bps = p->rate_bps,
				  .delay_ns = p->down_ns,
				  .limit = p->limit,
				  .ecn_k = p->ecn_k };
	struct ccsim *s;
	uint32_t k;

	if (!p->rate_bps || !p->ring || (p->ring & (p->ring - 1)) ||
	    p->mtu > CCSIM_MTU_MAX || p->mtu < 576 || !p->bin_ns || !p->nbins ||
	    !p->cc.interval_us) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->p = *p;
	s->wbins = calloc(p->nbins, sizeof(*s->wbins));
	s->pat = malloc(p->ring);
	if (!s->wbins || !s->pat)
		goto err;
	if (link_queue_init(&s->bn, &lp))
		goto err;
	s->rng = p->seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	for (k = 0; k < p->ring; k++)
		s->pat[k] = (uint8_t)(xorshift64(&s->rng) >> 29);
	/* as ctrl/main.c configures the engines for --cc */
	tcp_cfg_default(&s->tcp, p->mtu);
	s->tcp.ecn = p->cc.algo == CC_DCTCP;
	s->tcp.dctcp_ecn_echo = p->cc.algo == CC_DCTCP;
	s->cc_external = p->cc.algo != CC_RENO;
	s->tcp.ecn_external = s->cc_external;
	s->cores[0] = &s->core;
	if (cc_loop_init(&s->loop, &p->cc, s->cores, 1, CCSIM_MAX_FLOWS))
		goto err;
	s->next_tick = p->cc.interval_us * 1000;
	return s;
err:
	ccsim_free(s);
	errno = ENOMEM;
	return NULL;
}

/**
 * ccsim_free - free a simulation and everything in flight
 * @s: the simulation, or NULL
 */
void ccsim_free(struct ccsim *s)
{
	struct frame *fr;
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < s->nflows; i++) {
		link_queue_fini(&s->fl[i]->nic);
		free(s->fl[i]->snd.rx);
		free(s->fl[i]->rcv.rx);
		free(s->fl[i]->gbins);
		free(s->fl[i]);
	}
	while (s->nheap)
		free(s->heap[--s->nheap].fr);
	while ((fr = s->free_frames)) {
		s->free_frames = fr->next;
		free(fr);
	}
	cc_loop_fini(&s->loop);
	link_queue_fini(&s->bn);
	free(s->heap);
	free(s->wbins);
	free(s->pat);
	free(s);
}

/**
 * ccsim_flow_add - open a new flow now: the sender sends its SYN
 * @s: the simulation
 * @bytes: what its app sends in all, or CCSIM_LONG
 *
 * Return: the flow's index, or -ENOSPC when CCSIM_MAX_FLOWS are open.
 */
int ccsim_flow_add(struct ccsim *s, uint64_t bytes)
{
	struct link_params np = { .rate_bps = s->p.rate_bps,
				  .delay_ns = s->p.up_ns,
				  .limit = NIC_LIMIT_PKTS,
				  .ecn_k = LINK_ECN_OFF };
	unsigned i = s->nflows;
	struct sflow *f;
	uint32_t iss_a, iss_b;

	if (i >= CCSIM_MAX_FLOWS)
		return -ENOSPC;
	f = calloc(1, sizeof(*f));
	if (!f)
		die("out of memory");
	f->snd.rx = calloc(1, s->p.ring);
	f->rcv.rx = calloc(1, s->p.ring);
	f->gbins = calloc(s->p.nbins, sizeof(*f->gbins));
	if (!f->snd.rx || !f->rcv.rx || !f->gbins ||
	    link_queue_init(&f->nic, &np))
		die("out of memory");
	f->want = bytes;
	s->fl[i] = f;
	s->nflows++;
	iss_a = (uint32_t)xorshift64(&s->rng);
	iss_b = (uint32_t)xorshift64(&s->rng);
	/* 10.0.1.(i+1):(40000+i) -> 10.0.0.1:80 (network-order addresses) */
	tcp_conn_init(&f->snd.c, &s->tcp, 0x0001000a | (i + 1) << 24,
		      (uint16_t)(40000 + i), 0x0100000a, 80, iss_a, f->snd.rx,
		      s->p.ring, s->pat, s->p.ring);
	tcp_conn_init(&f->rcv.c, &s->tcp, 0x0100000a, 80,
		      0x0001000a | (i + 1) << 24, (uint16_t)(40000 + i), iss_b,
		      f->rcv.rx, s->p.ring, s->pat, s->p.ring);
	tcp_out_reset(&f->snd.out);
	tcp_out_reset(&f->rcv.out);
	f->rcv.deadline = UINT64_MAX;
	tcp_connect(&f->snd.c, s->now, &f->snd.out);
	snd_handle_out(s, i);
	return (int)i;
}

/**
 * ccsim_flow_more - the sender's app has @bytes more to send
 * @s: the simulation
 * @i: the flow
 * @bytes: added to what it sends in all
 */
void ccsim_flow_more(struct ccsim *s, unsigned i, uint64_t bytes)
{
	struct sflow *f = s->fl[i];

	f->want = CCSIM_LONG - f->want < bytes ? CCSIM_LONG : f->want + bytes;
	snd_app(s, i);
}

/**
 * ccsim_flow_done - whether everything queued so far arrived and was acked
 * @s: the simulation
 * @i: the flow
 *
 * Return: true when the app queued all it has, the receiver's app read
 * it and the sender saw it acknowledged.
 */
bool ccsim_flow_done(const struct ccsim *s, unsigned i)
{
	const struct sflow *f = s->fl[i];

	return f->queued == f->want && f->acked == f->want &&
	       f->delivered == f->want;
}

/**
 * ccsim_now - the virtual clock
 * @s: the simulation
 *
 * Return: time in ns.
 */
uint64_t ccsim_now(const struct ccsim *s)
{
	return s->now;
}

/**
 * ccsim_flow_stats - counters of one flow
 * @s: the simulation
 * @i: the flow
 * @out: filled
 */
void ccsim_flow_stats(const struct ccsim *s, unsigned i,
		      struct ccsim_flow_stats *out)
{
	const struct sflow *f = s->fl[i];
	const struct tcp_conn *c = &f->snd.c;

	memset(out, 0, sizeof(*out));
	out->established = f->established;
	out->queued = f->queued;
	out->acked = f->acked;
	out->delivered = f->delivered;
	out->corrupt = f->corrupt;
	out->retrans_segs = c->st.retrans_segs;
	out->fast_retrans = c->st.fast_retrans;
	out->timeouts = c->st.timeouts;
	out->tlp_probes = c->st.tlp_probes;
	out->resets = f->resets;
	out->srtt_us = c->srtt_us;
	out->cwnd = c->cwnd;
	out->ssthresh = c->ssthresh;
	out->pace_rate = f->pace_rate;
}

/**
 * ccsim_flow_cc - the control loop's state of one flow
 * @s: the simulation
 * @i: the flow
 *
 * Return: the state, or NULL (engine Reno, or not yet established).
 */
const struct cc_flow *ccsim_flow_cc(const struct ccsim *s, unsigned i)
{
	if (!s->cc_external)
		return NULL;
	return cc_loop_flow(&s->loop, 0, i);
}

static uint64_t bins_sum(const uint64_t *bins, const struct ccsim_params *p,
			 uint64_t from, uint64_t to)
{
	uint64_t b, sum = 0;

	for (b = from / p->bin_ns; b < to / p->bin_ns && b < p->nbins; b++)
		sum += bins[b];
	return sum;
}

/**
 * ccsim_goodput - bytes of flow @i its receiver's app read in [from, to)
 * @s: the simulation
 * @i: the flow
 * @from: start, ns (rounded down to a bin)
 * @to: end, ns (rounded down to a bin)
 *
 * Return: the bytes.
 */
uint64_t ccsim_goodput(const struct ccsim *s, unsigned i, uint64_t from,
		       uint64_t to)
{
	return bins_sum(s->fl[i]->gbins, &s->p, from, to);
}

/**
 * ccsim_wire_bytes - bytes of all flows that left the bottleneck in
 * [from, to), framing included
 * @s: the simulation
 * @from: start, ns (rounded down to a bin)
 * @to: end, ns (rounded down to a bin)
 *
 * Return: the bytes.
 */
uint64_t ccsim_wire_bytes(const struct ccsim *s, uint64_t from, uint64_t to)
{
	return bins_sum(s->wbins, &s->p, from, to);
}

/**
 * ccsim_link_stats - the bottleneck queue's counters (p99 computed)
 * @s: the simulation
 * @out: filled
 */
void ccsim_link_stats(const struct ccsim *s, struct link_queue_stats *out)
{
	link_queue_stats(&s->bn, out);
}

/**
 * ccsim_link_stats_reset - zero the bottleneck's counters and histogram
 * @s: the simulation
 */
void ccsim_link_stats_reset(struct ccsim *s)
{
	link_queue_stats_reset(&s->bn);
}

/**
 * ccsim_nic_drops - frames any sender's own NIC queue refused (expected 0)
 * @s: the simulation
 *
 * Return: the count.
 */
uint64_t ccsim_nic_drops(const struct ccsim *s)
{
	return s->nic_drops;
}
