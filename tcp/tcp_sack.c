/* tcp_sack.c - SACK-based loss recovery of the sans-IO engine: the sender's
 * scoreboard, RFC 6675 pipe and NextSeg, detection of lost retransmissions,
 * and tail loss probes
 *
 * RFCs: 2018 (SACK blocks), 6675 (scoreboard, IsLost, pipe, NextSeg rules
 * 1-4 with the rescue retransmission, recovery entry on DupThresh dupacks
 * or IsLost(HighACK + 1)), 8985 (RACK: a retransmission is lost again when
 * a retransmission sent more than reo_wnd = min_rtt/4 after it was
 * delivered, or when DupThresh worth of data sent after it was SACKed; a
 * delivered retransmission or probe marks the unSACKed data below it lost;
 * TLP: a probe after 2*SRTT, new data if the window allows, else the last
 * segment), 6298 (the RTO stays the last resort).
 * Known gaps: original transmissions are judged lost by sequence
 * (DupThresh) only, RACK times only retransmissions and probes; no D-SACK
 * (spurious recoveries are not undone); no PRR: cwnd = ssthresh on entry
 * (RFC 6675 5); no TLP-based loss detection (RFC 8985 7.4); after an RTO
 * the scoreboard is cleared (RFC 2018 8) and go-back-N resends SACKed data.
 */
#include <string.h>

#include "tcp/tcp_int.h"

static uint32_t sb_sacked_bytes(const struct tcp_conn *c)
{
	uint32_t k, n = 0;

	for (k = 0; k < c->sack_n; k++)
		n += c->sacked[k].end - c->sacked[k].start;
	return n;
}

/**
 * tcp_sb_update - merge the peer's SACK blocks into the scoreboard
 * @c: connection
 * @h: segment carrying SACK blocks
 *
 * Blocks outside (snd_una, snd_max] are ignored (RFC 2018; D-SACK blocks
 * below snd_una fall out here too).
 *
 * Return: SACKed bytes that are new on this ACK.
 */
uint32_t tcp_sb_update(struct tcp_conn *c, const struct tcp_hdr *h)
{
	uint32_t before = sb_sacked_bytes(c), after, i;

	for (i = 0; i < h->opts.nsack && i < TCP_SACK_MAX; i++) {
		uint32_t s = h->opts.sack[i].start, e = h->opts.sack[i].end;

		if (!seq_lt(s, e) || !seq_gt(e, c->snd_una) ||
		    seq_gt(e, c->snd_max))
			continue;
		s = seq_max(s, c->snd_una);
		tcp_range_insert(c->sacked, &c->sack_n, TCP_SB_MAX, s, e);
	}
	after = sb_sacked_bytes(c);
	return after > before ? after - before : 0;
}

/**
 * tcp_sb_prune - drop scoreboard ranges the cumulative ACK passed
 * @c: connection
 */
void tcp_sb_prune(struct tcp_conn *c)
{
	uint32_t i = 0;

	while (i < c->sack_n && seq_leq(c->sacked[i].end, c->snd_una))
		i++;
	if (i) {
		memmove(&c->sacked[0], &c->sacked[i],
			(c->sack_n - i) * sizeof(c->sacked[0]));
		c->sack_n -= i;
	}
	if (c->sack_n && seq_lt(c->sacked[0].start, c->snd_una))
		c->sacked[0].start = c->snd_una;
}

/**
 * tcp_sb_clear - forget SACK and recovery bookkeeping (after an RTO,
 * RFC 2018 8, and when a recovery ends)
 * @c: connection
 */
void tcp_sb_clear(struct tcp_conn *c)
{
	c->sack_n = 0;
	c->rtx_n = 0;
	c->lost_hi = c->snd_una;
	c->rescue_done = false;
	c->rtx_force = false;
	c->tlp_out = false;
	c->t_tlp = 0;
}

/* [s, e) cumulatively acknowledged or inside one SACKed range. A FIN at
 * the end is never SACKed (SACK blocks cover data): its data is enough. */
static bool sb_covers(const struct tcp_conn *c, uint32_t s, uint32_t e)
{
	uint32_t k;

	if (seq_leq(e, c->snd_una))
		return true;
	if (c->fin_sent && e == c->tx_end + 1 && seq_lt(s, c->tx_end))
		e = c->tx_end;
	s = seq_max(s, c->snd_una);
	for (k = 0; k < c->sack_n; k++)
		if (seq_leq(c->sacked[k].start, s) &&
		    seq_geq(c->sacked[k].end, e))
			return true;
	return false;
}

/* SACKed bytes at or above @from; *n gets the ranges holding them. */
static uint32_t sb_sacked_above(const struct tcp_conn *c, uint32_t from,
				uint32_t *n)
{
	uint32_t k, bytes = 0;

	*n = 0;
	for (k = 0; k < c->sack_n; k++) {
		if (!seq_gt(c->sacked[k].end, from))
			continue;
		bytes += c->sacked[k].end - seq_max(c->sacked[k].start, from);
		(*n)++;
	}
	return bytes;
}

/* SACKed bytes in [snd_una, x). */
static uint32_t sb_sacked_below(const struct tcp_conn *c, uint32_t x)
{
	uint32_t k, bytes = 0;

	for (k = 0; k < c->sack_n && seq_lt(c->sacked[k].start, x); k++)
		bytes += seq_min(c->sacked[k].end, x) - c->sacked[k].start;
	return bytes;
}

/* RFC 6675 IsLost: DupThresh discontiguous SACKed ranges, or more than
 * (DupThresh - 1) * SMSS SACKed bytes, above a sequence. */
static bool sb_lost_thresh(const struct tcp_conn *c, uint32_t bytes, uint32_t n)
{
	return n >= TCP_DUPTHRESH ||
	       bytes > (TCP_DUPTHRESH - 1) * (uint32_t)c->snd_mss;
}

/* Highest SACKed sequence (HighSACK + 1), snd_una when none. */
static uint32_t sb_high(const struct tcp_conn *c)
{
	return c->sack_n ? c->sacked[c->sack_n - 1].end : c->snd_una;
}

/**
 * tcp_sb_lost_bound - every unSACKed byte below the result is lost
 * @c: connection
 *
 * IsLost (RFC 6675 4) is monotone in the sequence number, so it is a
 * bound: the start of the highest SACKed range with enough SACKed data at
 * and above it. RACK marks (lost_hi) can raise it.
 *
 * Return: the bound, snd_una when nothing is lost.
 */
uint32_t tcp_sb_lost_bound(const struct tcp_conn *c)
{
	uint32_t bytes = 0, k = c->sack_n, bound = c->snd_una;

	while (k > 0) {
		k--;
		bytes += c->sacked[k].end - c->sacked[k].start;
		if (sb_lost_thresh(c, bytes, c->sack_n - k)) {
			bound = c->sacked[k].start;
			break;
		}
	}
	if (seq_gt(c->lost_hi, bound) && seq_leq(c->lost_hi, c->snd_max))
		bound = c->lost_hi;
	return bound;
}

/**
 * tcp_sb_pipe - RFC 6675 pipe: bytes presumed in the network
 * @c: connection
 *
 * Original transmissions count unless SACKed or lost; retransmissions in
 * flight count once more.
 *
 * Return: bytes.
 */
uint32_t tcp_sb_pipe(const struct tcp_conn *c)
{
	uint32_t bound = tcp_sb_lost_bound(c), k;
	uint32_t unsacked = tcp_flight(c) - sb_sacked_below(c, c->snd_max);
	uint32_t lost = (bound - c->snd_una) - sb_sacked_below(c, bound);
	uint32_t pipe = unsacked - lost;

	for (k = 0; k < c->rtx_n; k++)
		pipe += c->rtx[k].end - c->rtx[k].start;
	return pipe;
}

/* The lowest sequence at or above @s that is neither SACKed nor being
 * retransmitted; *limit is where that run ends. */
static uint32_t sb_next_hole(const struct tcp_conn *c, uint32_t s,
			     uint32_t *limit)
{
	uint32_t k, lim = c->snd_max;
	bool moved = true;

	while (moved) {
		moved = false;
		for (k = 0; k < c->sack_n; k++)
			if (seq_in_window(s, c->sacked[k].start,
					  c->sacked[k].end -
						  c->sacked[k].start)) {
				s = c->sacked[k].end;
				moved = true;
			}
		for (k = 0; k < c->rtx_n; k++)
			if (seq_in_window(s, c->rtx[k].start,
					  c->rtx[k].end - c->rtx[k].start)) {
				s = c->rtx[k].end;
				moved = true;
			}
	}
	for (k = 0; k < c->sack_n; k++)
		if (seq_gt(c->sacked[k].start, s))
			lim = seq_min(lim, c->sacked[k].start);
	for (k = 0; k < c->rtx_n; k++)
		if (seq_gt(c->rtx[k].start, s))
			lim = seq_min(lim, c->rtx[k].start);
	*limit = lim;
	return s;
}

/**
 * tcp_sent_mark - note that everything below snd_max has been sent by @now
 * (new data only; one mark per instant, a ring of the latest)
 * @c: connection
 * @now: time, ns
 */
void tcp_sent_mark(struct tcp_conn *c, uint64_t now)
{
	struct tcp_sent_mark *m;

	if (c->sent_n) {
		m = &c->sent[(c->sent_n - 1) % TCP_SENT_HIST];
		if (m->ns == now) {
			m->seq = c->snd_max;
			return;
		}
	}
	m = &c->sent[c->sent_n % TCP_SENT_HIST];
	m->seq = c->snd_max;
	m->ns = now;
	c->sent_n++;
}

/* RACK reordering window (RFC 8985 6.2: min_rtt / 4), ns. */
static uint64_t reo_wnd_ns(const struct tcp_conn *c)
{
	return (uint64_t)c->rtt_min_us * TCP_NS_PER_US / 4;
}

/* Highest sequence all of whose data was sent at or before @t, @dflt when
 * the marks do not reach back that far. */
static uint32_t sent_before(const struct tcp_conn *c, uint64_t t, uint32_t dflt)
{
	uint32_t k, n = tcp_min32(c->sent_n, TCP_SENT_HIST), best = dflt;

	for (k = 0; k < n; k++)
		if (c->sent[k].ns <= t && seq_gt(c->sent[k].seq, best))
			best = c->sent[k].seq;
	return best;
}

static void rtx_remove(struct tcp_conn *c, uint32_t k)
{
	c->rtx[k] = c->rtx[--c->rtx_n];
}

/* Retransmit from @seq up to @limit (one segment, FIN included when it is
 * the last thing below @limit) and record it. False if nothing went. */
static bool sack_rtx(struct tcp_conn *c, uint64_t now, struct tcp_out *out,
		     uint32_t seq, uint32_t limit)
{
	uint32_t len = 0;
	bool fin;

	if (!seq_lt(seq, limit) || c->rtx_n >= TCP_RTX_MAX)
		return false;
	if (seq_lt(seq, c->tx_end)) {
		len = tcp_min32(limit - seq, tcp_seg_payload_max(c));
		len = tcp_min32(len, c->tx_end - seq);
	}
	fin = c->fin_sent && seq + len == c->tx_end && seq_gt(limit, c->tx_end);
	if (!len && !fin)
		return false;
	if (!tcp_send_data(c, now, out, seq, len, fin, false))
		return false;
	c->tlp_rearm = true;
	c->rtx[c->rtx_n].start = seq;
	c->rtx[c->rtx_n].end = seq + len + (fin ? 1u : 0u);
	c->rtx[c->rtx_n].hi = c->snd_max;
	c->rtx[c->rtx_n].old_hi =
		now > reo_wnd_ns(c) ? sent_before(c, now - reo_wnd_ns(c), seq)
				    : seq;
	c->rtx[c->rtx_n].ns = now;
	c->rtx_n++;
	return true;
}

/**
 * tcp_sack_recovery_enter - RFC 6675 5 steps (4.1)-(4.2): RecoveryPoint =
 * HighData, ssthresh = cwnd = FlightSize / 2; the first retransmission
 * goes out regardless of pipe (4.3)
 * @c: connection
 */
void tcp_sack_recovery_enter(struct tcp_conn *c)
{
	c->ssthresh = tcp_max32(tcp_flight(c) / 2, 2u * c->snd_mss);
	c->cwnd = c->ssthresh;
	c->recover = c->snd_max - 1;
	c->in_recovery = true;
	c->rto_recovery = false;
	c->rescue_done = false;
	c->rtx_force = true;
	c->tlp_out = false;
	c->t_tlp = 0;
	c->st.fast_retrans++;
	c->st.sack_recov++;
}

/**
 * tcp_sack_on_ack - scoreboard consequences of an ACK (after the SACK
 * blocks are merged and snd_una moved): delivered and lost-again
 * retransmissions, the probe's fate, recovery entry
 * @c: connection with SACK
 * @now: time, ns
 * @advanced: this ACK moved snd_una
 */
void tcp_sack_on_ack(struct tcp_conn *c, uint64_t now, bool advanced)
{
	uint64_t deliv_ns = 0, min_ns = (uint64_t)c->rtt_min_us * TCP_NS_PER_US;
	uint64_t reo_ns = reo_wnd_ns(c);
	bool deliv = false;
	uint32_t k, bytes, n;

	if (seq_lt(c->lost_hi, c->snd_una) || seq_gt(c->lost_hi, c->snd_max))
		c->lost_hi = c->snd_una;
	/* retransmissions that arrived: their sending time is RACK.xmit_ts;
	 * what was sent reo_wnd before and is still missing is lost. One
	 * SACKed sooner than min_rtt after it went may be the original (RFC
	 * 8985 6.2 step 2) and says nothing */
	for (k = 0; k < c->rtx_n;) {
		struct tcp_rtx_rec *r = &c->rtx[k];

		if (!sb_covers(c, r->start, r->end)) {
			if (seq_lt(r->start, c->snd_una))
				r->start = c->snd_una;
			k++;
			continue;
		}
		if (now - r->ns >= min_ns) {
			if (!deliv || r->ns > deliv_ns)
				deliv_ns = r->ns;
			deliv = true;
			if (seq_gt(r->start, c->lost_hi))
				c->lost_hi = r->start;
			if (seq_gt(r->old_hi, c->lost_hi) &&
			    seq_leq(r->old_hi, c->snd_max))
				c->lost_hi = r->old_hi;
		}
		rtx_remove(c, k);
	}
	/* retransmissions lost again: one sent later by more than reo_wnd
	 * arrived, or DupThresh of data sent after it was SACKed */
	for (k = 0; k < c->rtx_n;) {
		struct tcp_rtx_rec *r = &c->rtx[k];

		bytes = sb_sacked_above(c, r->hi, &n);
		if ((deliv && r->ns + reo_ns < deliv_ns) ||
		    sb_lost_thresh(c, bytes, n)) {
			if (seq_gt(r->end, c->lost_hi))
				c->lost_hi = r->end;
			c->st.rtx_lost++;
			rtx_remove(c, k);
			continue;
		}
		k++;
	}
	/* a probe that arrived while data below it did not: that data, sent
	 * at least a PTO earlier, is lost. Any progress of snd_una ends the
	 * probe episode too, so a probe lost with what followed it is probed
	 * for again rather than left to the RTO (no TLP-based cwnd response
	 * depends on the episode here, RFC 8985 7.4 is not implemented). */
	if (c->tlp_out) {
		if (seq_geq(c->snd_una, c->tlp_high) || advanced) {
			c->tlp_out = false;
		} else if (sb_covers(c, c->tlp_seq, c->tlp_high)) {
			if (seq_gt(c->tlp_seq, c->lost_hi))
				c->lost_hi = c->tlp_seq;
			c->tlp_out = false;
		}
	}
	/* RFC 6675 5: DupThresh dupacks or IsLost(HighACK + 1); RFC 6675
	 * 5.1: not again before the previous RecoveryPoint is acknowledged */
	if (!c->in_recovery && c->snd_una != c->snd_max &&
	    seq_gt(c->snd_una, c->recover) &&
	    (c->dupacks >= TCP_DUPTHRESH ||
	     seq_gt(tcp_sb_lost_bound(c), c->snd_una)))
		tcp_sack_recovery_enter(c);
}

/**
 * tcp_sack_output - RFC 6675 5 step (C): while cwnd - pipe >= 1 SMSS, send
 * what NextSeg picks: a lost hole (rule 1), new data (rule 2), a hole below
 * the highest SACK (rule 3), once per recovery the tail (rule 4, rescue)
 * @c: connection in SACK recovery
 * @now: time, ns
 * @out: actions
 */
void tcp_sack_output(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	bool force = c->rtx_force;
	uint32_t guard;

	c->rtx_force = false;
	for (guard = 0; guard < TCP_OUT_SEGS && out->nseg < out->cap; guard++) {
		uint32_t pipe = tcp_sb_pipe(c), bound, hi, s, limit;

		if (!force && (pipe >= c->cwnd || c->cwnd - pipe < c->snd_mss))
			break;
		force = false;
		bound = tcp_sb_lost_bound(c);
		hi = seq_max(sb_high(c), bound);
		s = sb_next_hole(c, c->snd_una, &limit);
		if (seq_lt(s, bound)) { /* rule 1 */
			if (sack_rtx(c, now, out, s, seq_min(limit, bound)))
				continue;
			break;
		}
		if (!c->t_persist && c->snd_nxt == c->snd_max && /* rule 2 */
		    tcp_send_new(c, now, out, c->snd_wnd, 1))
			continue;
		if (seq_lt(s, hi)) { /* rule 3 */
			if (sack_rtx(c, now, out, s, seq_min(limit, hi)))
				continue;
			break;
		}
		if (!c->rescue_done) { /* rule 4 */
			uint32_t back = tcp_min32(tcp_flight(c),
						  tcp_seg_payload_max(c) + 1);

			c->rescue_done = true;
			s = sb_next_hole(c, seq_max(c->snd_max - back, hi),
					 &limit);
			if (sack_rtx(c, now, out, s, limit))
				continue;
		}
		break;
	}
}

/**
 * tcp_tlp_arm - schedule the probe timeout (PTO) after the last sign of
 * life: new data or a retransmission sent, the cumulative ACK moved, new
 * data SACKed
 * @c: connection
 * @now: time, ns
 *
 * PTO = 2 * SRTT, at least TCP_TLP_MIN_US. In the open state (RFC 8985 7.2:
 * nothing SACKed, not in recovery) it is a tail loss probe: plus WCDelAckT
 * with a single segment in flight (not for a lone FIN, which receivers ACK
 * at once), and at most until the RTO would fire, so the probe goes
 * instead of the timeout and the RTO restarts after it (RFC 8985 7.3, as
 * Linux). With SACKed data or in recovery it is RACK's reordering timer
 * (RFC 8985 6.3) stretched to 2 * SRTT, armed only when it beats the RTO.
 * None with a probe outstanding, without SACK or without an RTT sample.
 */
void tcp_tlp_arm(struct tcp_conn *c, uint64_t now)
{
	uint64_t pto_us, at;
	bool open = !c->in_recovery && !c->sack_n;

	c->t_tlp = 0;
	if (!c->cfg->tlp || !c->sack_ok || c->tlp_out || c->t_persist ||
	    !c->srtt_us || !c->t_rto || c->snd_una == c->snd_max ||
	    c->snd_nxt != c->snd_max)
		return;
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	default:
		return;
	}
	pto_us = 2ull * c->srtt_us;
	if (open && tcp_flight(c) <= c->snd_mss &&
	    !(c->fin_sent && c->snd_max == c->tx_end + 1))
		pto_us += TCP_TLP_WCDELACK_US;
	if (pto_us < TCP_TLP_MIN_US)
		pto_us = TCP_TLP_MIN_US;
	at = now + pto_us * TCP_NS_PER_US;
	if (at >= c->t_rto) {
		if (!open)
			return;
		at = c->t_rto;
	}
	c->t_tlp = at;
}

/* Open state: RFC 8985 7.3, new data if the window allows, else the last
 * segment again; the RTO restarts. */
static void tail_probe(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	uint32_t start = c->snd_max;

	if (!tcp_send_new(c, now, out, c->snd_wnd, 1)) {
		bool fin = c->fin_sent && c->snd_max == c->tx_end + 1;
		uint32_t end = fin ? c->tx_end : c->snd_max;
		uint32_t pm = tcp_seg_payload_max(c);

		start = seq_gt(end, c->snd_una + pm) ? end - pm : c->snd_una;
		if (!seq_lt(start, end) && !fin)
			return;
		if (!tcp_send_data(c, now, out, start, end - start, fin, false))
			return;
	}
	c->tlp_out = true;
	c->tlp_seq = start;
	c->tlp_high = c->snd_max;
	c->st.tlp_probes++;
	tcp_rto_arm(c, now);
}

/* SACKed data or recovery, and 2 * SRTT without progress: by RACK every
 * unSACKed byte below the highest SACK is lost by now, and so is every
 * retransmission older than SRTT; recover them. With nothing to go on,
 * resend the first unacknowledged segment (the RTO stays armed). */
static void stall_probe(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	uint64_t age = (uint64_t)c->srtt_us * TCP_NS_PER_US;
	uint32_t k, s, limit, n0 = out->nseg;

	if (seq_gt(sb_high(c), c->lost_hi))
		c->lost_hi = sb_high(c);
	for (k = 0; k < c->rtx_n;) {
		if (now - c->rtx[k].ns >= age) {
			if (seq_gt(c->rtx[k].end, c->lost_hi))
				c->lost_hi = c->rtx[k].end;
			c->st.rtx_lost++;
			rtx_remove(c, k);
			continue;
		}
		k++;
	}
	if (!c->in_recovery && seq_gt(c->snd_una, c->recover))
		tcp_sack_recovery_enter(c);
	if (!c->in_recovery)
		return;
	s = sb_next_hole(c, c->snd_una, &limit);
	if (seq_lt(s, tcp_sb_lost_bound(c))) {
		c->rtx_force = true;
		tcp_sack_output(c, now, out);
	} else {
		s = c->snd_una;
		for (k = 0; k < c->rtx_n; k++)
			if (c->rtx[k].start == s) {
				rtx_remove(c, k);
				break;
			}
		s = sb_next_hole(c, s, &limit);
		sack_rtx(c, now, out, s, limit);
	}
	if (out->nseg == n0)
		return;
	c->tlp_out = true;
	c->tlp_seq = out->seg[n0].h.seq;
	c->tlp_high = c->tlp_seq + out->seg[n0].len +
		      ((out->seg[n0].h.flags & TCP_FIN) ? 1u : 0u);
	c->st.tlp_probes++;
}

/**
 * tcp_tlp_fire - the probe timeout: a tail loss probe in the open state, a
 * RACK-style loss marking and retransmission otherwise
 * @c: connection
 * @now: time, ns
 * @out: actions
 */
void tcp_tlp_fire(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	c->t_tlp = 0;
	if (c->tlp_out || c->snd_una == c->snd_max || c->t_persist ||
	    c->snd_nxt != c->snd_max)
		return;
	if (!c->in_recovery && !c->sack_n)
		tail_probe(c, now, out);
	else
		stall_probe(c, now, out);
}
