/* tcp_in.c - receive side of the sans-IO engine: a fast path for in-order
 * established traffic and one slow function in RFC 9293 3.10.7 order
 *
 * RFCs: 9293 (3.10.7 segment arrives), 5961 (RST/SYN/ACK checks with
 * challenge ACKs), 7323 (PAWS, TS.Recent, coarse RTT from TSecr), 2018
 * and 6675 (SACK scoreboard and recovery entry, in tcp_sack.c), 5681 +
 * 6582 (dupacks, fast retransmit, NewReno without SACK), 3168 (ECE, CWR,
 * CE), 8257 3.2 (DCTCP receiver, with cfg->dctcp_ecn_echo), 6298 (RTO
 * restart on new ACKs; Karn).
 * RTT: the segment being timed is measured on the engine's ns clock
 * (precise, Karn's rule); TSecr echoes (1 ms ticks) give a coarse sample
 * only when nothing is timed (after retransmissions) and the echo is at
 * least TCP_TS_RTT_MIN_TICKS old, so sub-ms paths keep exact estimates.
 * Known gaps: URG is ignored; no PAWS 24-day idle exception; data on a SYN
 * is not accepted; no DSACK; ooo data beyond TCP_OOO_MAX ranges is dropped
 * (the highest range is evicted first).
 * tcp_input ends with tcp_output: the ACK and any data the ACK allowed are
 * in @out when it returns.
 */
#include <errno.h>
#include <string.h>

#include "tcp/tcp_int.h"

/**
 * tcp_range_insert - add [s, e) to a sorted set of disjoint ranges,
 * merging overlapping and adjacent ones
 * @r: ranges
 * @n: in/out count
 * @max: capacity
 * @s: start
 * @e: end (after @s)
 *
 * When the set is full and [s, e) merges with nothing, the highest range is
 * evicted if [s, e) lies below it, else [s, e) is dropped.
 *
 * Return: 0 added, 1 already covered, -1 dropped.
 */
int tcp_range_insert(struct tcp_seq_range *r, uint32_t *n, uint32_t max,
		     uint32_t s, uint32_t e)
{
	uint32_t i = 0, j;

	while (i < *n && seq_lt(r[i].end, s))
		i++;
	if (i < *n && seq_leq(r[i].start, s) && seq_geq(r[i].end, e))
		return 1;
	j = i;
	while (j < *n && seq_leq(r[j].start, e)) {
		s = seq_min(s, r[j].start);
		e = seq_max(e, r[j].end);
		j++;
	}
	if (j == i && *n == max) {
		if (i == *n)
			return -1;
		(*n)--;
	}
	memmove(&r[i + 1], &r[j], (*n - j) * sizeof(*r));
	r[i].start = s;
	r[i].end = e;
	*n = *n - (j - i) + 1;
	return 0;
}

/* Copy payload with sequence @seq into the rx ring at its offset. */
static void rx_copy(struct tcp_conn *c, uint32_t seq, const uint8_t *p,
		    uint32_t len)
{
	uint32_t off = (seq - (c->irs + 1)) & (c->rx_size - 1);
	uint32_t first = tcp_min32(len, c->rx_size - off);

	if (c->rx_place) {
		c->rx_place(c, seq, p, len);
		return;
	}
	memcpy(c->rx_buf + off, p, first);
	memcpy(c->rx_buf, p + first, len - first);
}

/* RFC 7323 4.3: TS.Recent from segments that cover Last.ACK.sent. */
static void ts_update(struct tcp_conn *c, const struct tcp_hdr *h)
{
	if (c->ts_ok && h->opts.has_ts && seq_leq(h->seq, c->rcv_acked) &&
	    seq_geq(h->opts.ts_val, c->ts_recent))
		c->ts_recent = h->opts.ts_val;
}

/* One RTT sample: into SRTT/RTO, and counted for the congestion control
 * (the fast path reports the count and sum, tcp/fp_cc.c). */
static void rtt_take(struct tcp_conn *c, uint32_t us)
{
	tcp_rtt_sample(c, us);
	c->st.rtt_samples++;
	c->st.rtt_sum_us += us ? us : 1; /* as tcp_rtt_sample takes it */
}

/* An ACK of new data: the timed segment on the ns clock (Karn: timing is
 * cancelled by any retransmission), else a coarse TSecr sample. */
static void rtt_on_ack(struct tcp_conn *c, const struct tcp_hdr *h,
		       uint32_t ack, uint64_t now)
{
	if (c->rtt_timing && seq_gt(ack, c->rtt_seq)) {
		uint32_t us = (uint32_t)((now - c->rtt_start) / TCP_NS_PER_US);

		rtt_take(c, us);
		if (!c->rtt_min_us || us < c->rtt_min_us)
			c->rtt_min_us = us ? us : 1;
		c->rtt_timing = false;
	} else if (c->ts_ok && h->opts.has_ts && h->opts.ts_ecr) {
		uint32_t d = tcp_ts_now(c, now) - h->opts.ts_ecr;

		if (d >= TCP_TS_RTT_MIN_TICKS && d < 0x7fffffffu / 1000)
			rtt_take(c, d * 1000);
	}
}

/* Slow start or congestion avoidance (RFC 5681 3.1). */
static void cc_grow(struct tcp_conn *c, uint32_t acked)
{
	uint32_t mss = c->snd_mss;

	if (c->cwnd < c->ssthresh)
		c->cwnd += tcp_min32(acked, 2u * mss); /* RFC 3465 L = 2 */
	else
		c->cwnd += tcp_max32(
			1, (uint32_t)((uint64_t)mss * acked / c->cwnd));
	c->cwnd =
		tcp_min32(c->cwnd, tcp_max32(TCP_CWND_MAX / 4 < c->tx_size * 2u
						     ? TCP_CWND_MAX
						     : c->tx_size * 2u,
					     4u * mss));
}

/* New data acknowledged: slow start, congestion avoidance, recovery exit,
 * NewReno partial ACK (RFC 5681 3.1, RFC 6582 3.2 steps 3-5). With SACK a
 * partial ACK only updates the scoreboard (RFC 6675), except in the
 * recovery after a timeout, which is slow start (RFC 5681 3.1). */
static void cc_ack(struct tcp_conn *c, uint32_t acked, uint32_t ack)
{
	uint32_t mss = c->snd_mss;

	if (c->in_recovery) {
		if (seq_gt(ack, c->recover)) {
			c->in_recovery = false;
			c->dupacks = 0;
			c->rtx_quota = 0;
			if (c->rto_recovery)
				cc_grow(c, acked);
			else
				c->cwnd = tcp_min32(
					c->ssthresh,
					tcp_max32(tcp_flight(c), mss) + mss);
			c->rto_recovery = false;
			c->rtx_n = 0;
			c->lost_hi = ack;
		} else if (c->rto_recovery) {
			cc_grow(c, acked);
		} else if (!c->sack_ok) {
			c->cwnd = (c->cwnd > acked ? c->cwnd - acked : 0) +
				  (acked >= mss ? mss : 0);
			c->cwnd = tcp_max32(c->cwnd, mss);
			c->rtx_quota++;
		}
		return;
	}
	c->dupacks = 0;
	cc_grow(c, acked);
}

/* RFC 5681 3.2 / RFC 6582 3.2 steps 1-2: a duplicate ACK. With SACK only
 * counted (limited transmit); tcp_sack_on_ack decides on recovery. */
static void cc_dupack(struct tcp_conn *c)
{
	uint32_t mss = c->snd_mss;

	c->dupacks++;
	if (c->sack_ok)
		return;
	if (c->in_recovery) {
		c->cwnd += mss;
		return;
	}
	if (c->dupacks < 3 || !seq_gt(c->snd_una, c->recover))
		return;
	c->ssthresh = tcp_max32(tcp_flight(c) / 2, 2u * mss);
	c->cwnd = c->ssthresh + 3u * mss;
	c->recover = c->snd_max - 1;
	c->in_recovery = true;
	c->rtx_nxt = c->snd_una;
	c->rtx_quota = 1;
	c->st.fast_retrans++;
}

/* RFC 3168 6.1.2: one reduction per window on ECE. */
static void ecn_ece(struct tcp_conn *c)
{
	if (c->in_recovery || !seq_geq(c->snd_una, c->ecn_recover))
		return;
	/* with an external CC (DCTCP in the control thread) the window cut
	 * is its job; CWR still tells a classic receiver to stop echoing */
	if (!c->cfg->ecn_external) {
		c->ssthresh = tcp_max32(tcp_flight(c) / 2, 2u * c->snd_mss);
		c->cwnd = tcp_max32(c->ssthresh, c->snd_mss);
	}
	c->cwr_pending = true;
	c->ecn_recover = c->snd_max;
}

/* step 5 for synchronized states: the ACK field. Return -1 to drop. */
static int ack_in(struct tcp_conn *c, const struct tcp_hdr *h, uint32_t len,
		  uint64_t now, struct tcp_out *out)
{
	uint32_t ack = h->ack, wnd = (uint32_t)h->wnd << c->snd_wscale;
	uint32_t newly_sacked = 0;
	bool dup, advanced = false;

	if (seq_gt(ack, c->snd_max) ||
	    seq_lt(ack, c->snd_una - c->max_snd_wnd - 1)) {
		/* RFC 5961 5.2: ACK it (rate-limited) and drop */
		if (tcp_challenge_allowed(c, now))
			c->ack_now = true;
		return -1;
	}
	if (c->sack_ok && h->opts.nsack)
		newly_sacked = tcp_sb_update(c, h);
	if (seq_gt(ack, c->snd_una)) {
		uint32_t acked = ack - c->snd_una;
		uint32_t head = tcp_tx_head(c);

		advanced = true;
		if (c->snd_una == c->iss)
			acked--; /* the SYN */
		rtt_on_ack(c, h, ack, now);
		c->snd_una = ack;
		out->tx_freed += tcp_tx_head(c) - head;
		if (seq_lt(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		c->backoff = 0;
		tcp_sb_prune(c);
		if (acked)
			cc_ack(c, acked, ack);
		c->tlp_rearm = true;
		if (c->snd_una == c->snd_max) {
			c->t_rto = 0;
			c->t_tlp = 0;
		} else if (!c->t_persist) {
			tcp_rto_arm(c, now);
		}
	} else if (ack == c->snd_una && c->snd_una != c->snd_max &&
		   c->snd_wnd && !c->t_persist) {
		/* RFC 5681 2 (and RFC 6675 2: with SACK, an ACK that SACKs
		 * new data, whatever it carries) */
		if (c->sack_ok)
			dup = newly_sacked != 0;
		else
			dup = !len && !(h->flags & (TCP_SYN | TCP_FIN)) &&
			      wnd == c->snd_wnd;
		if (dup)
			cc_dupack(c);
	}
	if (newly_sacked)
		c->tlp_rearm = true;
	if (c->sack_ok)
		tcp_sack_on_ack(c, now, advanced);
	if (seq_lt(c->snd_wl1, h->seq) ||
	    (c->snd_wl1 == h->seq && seq_leq(c->snd_wl2, ack))) {
		c->snd_wnd = wnd;
		c->snd_wl1 = h->seq;
		c->snd_wl2 = ack;
		c->max_snd_wnd = tcp_max32(c->max_snd_wnd, wnd);
		if (wnd && c->t_persist) {
			/* window opened: resend any probe byte with the rest */
			c->t_persist = 0;
			c->persist_backoff = 0;
			c->snd_nxt = c->snd_una;
		}
	}
	if (c->ecn_ok && (h->flags & TCP_ECE))
		ecn_ece(c);
	return 0;
}

/* step 8 - FIN reached in order */
static void fin_in(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	c->rcv_nxt++;
	c->fin_rcvd = true;
	c->ack_now = true;
	out->events |= TCP_OUT_RX_FIN;
	switch (c->state) {
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		c->state = TCP_CLOSE_WAIT;
		break;
	case TCP_FIN_WAIT_1:
		if (tcp_fin_acked(c))
			tcp_timewait_enter(c, now);
		else
			c->state = TCP_CLOSING;
		break;
	case TCP_FIN_WAIT_2:
		tcp_timewait_enter(c, now);
		break;
	default:
		break;
	}
}

/* CE on arriving data. RFC 3168 6.1.3: ECE on every ACK until CWR. RFC
 * 8257 3.2 (dctcp_ecn_echo): ECE mirrors the CE state of the data; when
 * the state flips, data held for a delayed ACK is acknowledged at once with
 * the old state, and this segment is acknowledged at once with the new. */
static void ce_in(struct tcp_conn *c, bool ce, uint64_t now,
		  struct tcp_out *out)
{
	if (!c->cfg->dctcp_ecn_echo) {
		if (ce)
			c->ece_pending = true;
		return;
	}
	if (ce == c->dctcp_ce)
		return;
	if (seq_gt(c->rcv_nxt, c->rcv_acked))
		tcp_send_ack(c, now, out);
	c->dctcp_ce = ce;
	c->ack_now = true;
}

/* steps 7 and 8: payload into the ring (in order or not), then FIN. */
static void data_in(struct tcp_conn *c, uint32_t seq, const uint8_t *p,
		    uint32_t len, bool fin, uint8_t ip_ecn, uint64_t now,
		    struct tcp_out *out)
{
	uint32_t fin_seq = seq + len;
	bool intact = true;

	if (len && c->ecn_ok)
		ce_in(c, (ip_ecn & IP_ECN_MASK) == IP_ECN_CE, now, out);
	c->st.bytes_in += len;
	if (len && seq_lt(seq, c->rcv_nxt)) {
		uint32_t d = c->rcv_nxt - seq;

		if (d >= len) {
			c->st.dup_segs++;
			c->ack_now = true;
			len = 0;
		} else {
			seq += d;
			p += d;
			len -= d;
		}
	}
	if (len) {
		uint32_t edge = tcp_rx_edge(c);

		if (!seq_lt(seq, edge)) {
			len = 0;
			intact = false;
			c->ack_now = true;
		} else if (seq_gt(seq + len, edge)) {
			len = edge - seq;
			intact = false;
			c->ack_now = true;
		}
	}
	if (len && seq == c->rcv_nxt) {
		uint32_t old = c->rcv_nxt, had = c->ooo_n;

		rx_copy(c, seq, p, len);
		c->rcv_nxt += len;
		while (c->ooo_n && seq_leq(c->ooo[0].start, c->rcv_nxt)) {
			c->rcv_nxt = seq_max(c->rcv_nxt, c->ooo[0].end);
			memmove(&c->ooo[0], &c->ooo[1],
				(c->ooo_n - 1) * sizeof(c->ooo[0]));
			c->ooo_n--;
		}
		out->rx_new += c->rcv_nxt - old;
		c->rcv_mss = tcp_max32(c->rcv_mss, tcp_min32(len, c->cfg->mss));
		c->unacked_segs++;
		if (had)
			c->ack_now = true; /* a hole filled */
		else if (c->rcv_nxt - c->rcv_acked >= 2u * c->rcv_mss)
			c->ack_now = true;
		else if (!c->t_delack)
			c->t_delack = now + (uint64_t)c->cfg->delack_us *
						    TCP_NS_PER_US;
	} else if (len) {
		int r = tcp_range_insert(c->ooo, &c->ooo_n, TCP_OOO_MAX, seq,
					 seq + len);

		c->st.ooo_segs++;
		if (r == 1)
			c->st.dup_segs++;
		if (r == 0) {
			rx_copy(c, seq, p, len);
			c->ooo_recent = seq;
		}
		c->ack_now = true;
	}
	if (fin && c->fin_rcvd) {
		c->ack_now = true; /* retransmitted FIN */
	} else if (fin && intact && !c->rcv_fin_valid) {
		c->rcv_fin_valid = true;
		c->rcv_fin_seq = fin_seq;
	}
	if (c->rcv_fin_valid && !c->fin_rcvd && c->rcv_nxt == c->rcv_fin_seq)
		fin_in(c, now, out);
}

/* RFC 9293 3.10.7.3: SYN_SENT. */
static void syn_sent_input(struct tcp_conn *c, const struct tcp_hdr *h,
			   uint64_t now, struct tcp_out *out)
{
	uint8_t f = h->flags;

	/* first - check the ACK bit */
	if ((f & TCP_ACK) &&
	    (seq_leq(h->ack, c->iss) || seq_gt(h->ack, c->snd_max))) {
		if (!(f & TCP_RST))
			tcp_send_rst(c, h->ack, 0, TCP_RST, out);
		return;
	}
	/* second - check the RST bit */
	if (f & TCP_RST) {
		if (f & TCP_ACK)
			tcp_set_reset(c, -ECONNREFUSED, out);
		return;
	}
	/* third - security: not implemented */
	/* fourth - check the SYN bit */
	if (!(f & TCP_SYN))
		return;
	tcp_syn_sent_rcv_init(c, h);
	c->snd_wnd = h->wnd; /* never scaled in a SYN */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = h->seq;
	c->snd_wl2 = h->ack;
	if (f & TCP_ACK) {
		rtt_on_ack(c, h, h->ack, now);
		c->snd_una = h->ack;
		c->state = TCP_ESTABLISHED;
		tcp_established_init(c);
		c->t_rto = 0;
		out->events |= TCP_OUT_ESTABLISHED;
		c->ack_now = true;
		tcp_output(c, now, out);
		return;
	}
	/* simultaneous open: SYN_RCVD, SYN-ACK with our original ISS */
	c->state = TCP_SYN_RCVD;
	tcp_send_syn(c, now, out);
}

/* SYN_RCVD: an acceptable ACK completes the handshake. Return -1 to drop. */
static int syn_rcvd_ack(struct tcp_conn *c, const struct tcp_hdr *h,
			struct tcp_out *out)
{
	if (!seq_gt(h->ack, c->snd_una) || seq_gt(h->ack, c->snd_max)) {
		tcp_send_rst(c, h->ack, 0, TCP_RST, out);
		return -1;
	}
	c->state = TCP_ESTABLISHED;
	tcp_established_init(c);
	c->snd_wl1 = h->seq - 1; /* take this segment's window */
	out->events |= TCP_OUT_ESTABLISHED;
	if (c->fin_queued)
		c->state = TCP_FIN_WAIT_1;
	return 0;
}

/* RFC 9293 3.10.7.4 step 1 (with RFC 7323 PAWS first). Linux's test: the
 * segment must end at or after rcv_nxt and start at or before rcv_adv, so a
 * probe at a zero window still has its ACK processed. */
static bool seq_acceptable(const struct tcp_conn *c, const struct tcp_hdr *h,
			   uint32_t seg_len)
{
	return seq_geq(h->seq + seg_len, c->rcv_nxt) &&
	       seq_leq(h->seq, c->rcv_adv);
}

static void input_slow(struct tcp_conn *c, const struct tcp_hdr *hin,
		       const uint8_t *p, uint32_t len, uint8_t ip_ecn,
		       uint64_t now, struct tcp_out *out)
{
	struct tcp_hdr hh = *hin;
	struct tcp_hdr *h = &hh;
	uint32_t seg_len;
	int err;

	switch (c->state) {
	case TCP_CLOSED: {
		struct tcp_seg_out rst;

		if (out->nseg < out->cap && tcp_reset_reply(h, len, &rst))
			out->seg[out->nseg++] = rst;
		return;
	}
	case TCP_SYN_SENT:
		syn_sent_input(c, h, now, out);
		return;
	default:
		break;
	}
	if (c->state == TCP_SYN_RCVD && (h->flags & TCP_SYN) &&
	    !(h->flags & TCP_RST) && h->seq == c->irs) {
		if (!(h->flags & TCP_ACK) || !seq_gt(h->ack, c->snd_una) ||
		    seq_gt(h->ack, c->snd_max)) {
			tcp_send_syn(c, now, out); /* our SYN-ACK was lost */
			return;
		}
		/* simultaneous open: the peer's SYN-ACK acks our SYN */
		h->flags &= (uint8_t)~TCP_SYN;
		h->seq++;
	}
	seg_len = len + ((h->flags & TCP_SYN) ? 1u : 0u) +
		  ((h->flags & TCP_FIN) ? 1u : 0u);

	/* step 1 - sequence number (PAWS, then acceptability) */
	if (c->ts_ok && h->opts.has_ts && !(h->flags & TCP_RST) &&
	    seq_lt(h->opts.ts_val, c->ts_recent)) {
		c->st.dup_segs++;
		c->ack_now = true;
		goto out;
	}
	if (!seq_acceptable(c, h, seg_len)) {
		if (!(h->flags & TCP_RST) &&
		    (len || tcp_challenge_allowed(c, now)))
			c->ack_now = true;
		if (len)
			c->st.dup_segs++;
		goto out;
	}

	/* step 2 - RST (RFC 5961 3.2) */
	if (h->flags & TCP_RST) {
		if (h->seq != c->rcv_nxt) {
			if (tcp_challenge_allowed(c, now))
				c->ack_now = true;
			goto out;
		}
		if (c->state == TCP_TIME_WAIT) {
			tcp_set_closed(c);
			out->events |= TCP_OUT_CLOSED;
			return;
		}
		err = c->state == TCP_SYN_RCVD && c->active_open ? -ECONNREFUSED
								 : -ECONNRESET;
		tcp_set_reset(c, err, out);
		return;
	}

	/* step 3 - security and precedence: not implemented */

	/* step 4 - SYN in a synchronized state (RFC 5961 4.2) */
	if (h->flags & TCP_SYN) {
		if (tcp_challenge_allowed(c, now))
			c->ack_now = true;
		goto out;
	}

	/* step 5 - ACK */
	if (!(h->flags & TCP_ACK))
		goto out;
	ts_update(c, h);
	if (c->ecn_ok && (h->flags & TCP_CWR) && !c->cfg->dctcp_ecn_echo)
		c->ece_pending = false;
	if (c->state == TCP_SYN_RCVD && syn_rcvd_ack(c, h, out) < 0)
		return;
	if (ack_in(c, h, len, now, out) < 0)
		goto out;
	switch (c->state) {
	case TCP_FIN_WAIT_1:
		if (tcp_fin_acked(c)) {
			c->state = TCP_FIN_WAIT_2;
			out->events |= TCP_OUT_FIN_ACKED;
		}
		break;
	case TCP_CLOSING:
		if (tcp_fin_acked(c)) {
			out->events |= TCP_OUT_FIN_ACKED;
			tcp_timewait_enter(c, now);
		}
		break;
	case TCP_LAST_ACK:
		if (tcp_fin_acked(c)) {
			tcp_set_closed(c);
			out->events |= TCP_OUT_FIN_ACKED | TCP_OUT_CLOSED;
			return;
		}
		break;
	default:
		break;
	}

	/* step 6 - URG: ignored */

	/* steps 7 and 8 - segment text, FIN */
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
		data_in(c, h->seq, p, len, h->flags & TCP_FIN, ip_ecn, now,
			out);
		break;
	default:
		if (len || (h->flags & TCP_FIN))
			c->ack_now = true;
		if ((h->flags & TCP_FIN) && c->state == TCP_TIME_WAIT)
			tcp_timewait_enter(c, now); /* restart 2*MSL */
		break;
	}
out:
	tcp_output(c, now, out);
}

/* The common case: ESTABLISHED, in order, ACK in window, no SYN/FIN/RST/
 * URG, no ECN signal, no recovery or ooo state. */
static bool input_fast(struct tcp_conn *c, const struct tcp_hdr *h,
		       const uint8_t *p, uint32_t len, uint8_t ip_ecn,
		       uint64_t now, struct tcp_out *out)
{
	if (c->state != TCP_ESTABLISHED || h->flags & ~(TCP_ACK | TCP_PSH) ||
	    !(h->flags & TCP_ACK))
		return false;
	if (h->seq != c->rcv_nxt || c->ooo_n || c->in_recovery ||
	    c->t_persist || c->rcv_fin_valid || h->opts.nsack ||
	    (ip_ecn & IP_ECN_MASK) == IP_ECN_CE)
		return false;
	if (seq_gt(h->ack, c->snd_max) || seq_lt(h->ack, c->snd_una) ||
	    (h->ack == c->snd_una && !len))
		return false;
	if (len > tcp_rx_edge(c) - c->rcv_nxt)
		return false;
	if (c->ts_ok &&
	    (!h->opts.has_ts || seq_lt(h->opts.ts_val, c->ts_recent)))
		return false;
	ts_update(c, h);
	ack_in(c, h, len, now, out);
	if (len)
		data_in(c, h->seq, p, len, false, ip_ecn, now, out);
	tcp_output(c, now, out);
	return true;
}

/**
 * tcp_input - process one segment of this connection
 * @c: connection (ports and addresses already matched by the caller)
 * @h: parsed header and options
 * @payload: @len payload bytes
 * @len: payload length
 * @ip_ecn: the IP header's ECN field
 * @now: time, ns
 * @out: actions; ends with what tcp_output emits
 */
void tcp_input(struct tcp_conn *c, const struct tcp_hdr *h,
	       const uint8_t *payload, uint32_t len, uint8_t ip_ecn,
	       uint64_t now, struct tcp_out *out)
{
	c->st.segs_in++;
	if (input_fast(c, h, payload, len, ip_ecn, now, out))
		return;
	input_slow(c, h, payload, len, ip_ecn, now, out);
}
