/* tcp_out.c - send side of the sans-IO engine: segmentation of the tx ring,
 * FIN, ACKs and window updates, SACK blocks, timestamps, ECN marks
 *
 * RFCs: 9293 (3.8.6.2 SWS avoidance both sides), 7323 (scaled windows
 * rounded up so the right edge never retracts; TSval/TSecr on every
 * segment), 2018 (SACK blocks, the newest first), 3168 (ECT(0) on new data,
 * ECE until CWR, CWR after a reduction; RFC 8257 3.2 ECE = CE state with
 * dctcp_ecn_echo), 6582 (NewReno retransmissions for peers without SACK;
 * SACK recovery is tcp_sack.c), 3042 (limited transmit), 5681, 6928.
 * Known gaps: no Nagle (the engine behaves as TCP_NODELAY); no TSO hints;
 * no DSACK; no pacing; at most out->cap (<= TCP_OUT_SEGS) segments per
 * call: when a call fills struct tcp_out, it stops and the caller calls
 * tcp_output again (the connection state stays consistent at every
 * segment; what was not emitted counts as not sent).
 */
#include <string.h>

#include "tcp/tcp_int.h"

/**
 * tcp_rcv_wnd_field - the window field of the next ACK; moves rcv_adv
 * @c: synchronized connection
 *
 * The right edge only advances by at least min(rx_size/2, MSS) (receiver
 * SWS avoidance) and never retracts (rcv_adv). The scaled value is rounded
 * down: the edge on the wire never passes the ring's, so a sender that
 * fills the window never has the tail of its last segment trimmed (which
 * left a hole, SACK recovery and a spurious window cut). It may sit up to
 * (1 << wscale) - 1 bytes below an edge announced before (RFC 7323 2.4);
 * data up to the ring's edge is still taken.
 *
 * Return: the value for the header (already shifted).
 */
uint16_t tcp_rcv_wnd_field(struct tcp_conn *c)
{
	uint32_t edge = tcp_rx_edge(c);
	uint32_t cap = c->rcv_nxt + (65535u << c->rcv_wscale);
	uint32_t sws = tcp_min32(c->rx_size / 2, c->cfg->mss);
	uint32_t wnd, field;

	if (seq_gt(edge, cap))
		edge = cap;
	if (seq_lt(c->rcv_adv, c->rcv_nxt))
		c->rcv_adv = c->rcv_nxt;
	if (seq_gt(edge, c->rcv_adv) && edge - c->rcv_adv >= sws)
		c->rcv_adv = edge;
	wnd = c->rcv_adv - c->rcv_nxt;
	field = wnd >> c->rcv_wscale;
	if (field > 65535)
		field = 65535;
	return (uint16_t)field;
}

/**
 * tcp_wnd_update_due - the app freed enough rx space to announce it
 * @c: connection
 *
 * Return: true when the right edge would move by >= min(rx_size/2, 2*MSS),
 * or the advertised window is below one SWS unit (zero) and can open by one.
 */
bool tcp_wnd_update_due(const struct tcp_conn *c)
{
	uint32_t edge = tcp_rx_edge(c);
	uint32_t cap = c->rcv_nxt + (65535u << c->rcv_wscale);
	uint32_t sws = tcp_min32(c->rx_size / 2, c->cfg->mss);
	uint32_t inc;

	if (c->state == TCP_SYN_SENT || c->state == TCP_CLOSED || c->fin_rcvd)
		return false;
	if (seq_gt(edge, cap))
		edge = cap;
	if (!seq_gt(edge, c->rcv_adv))
		return false;
	inc = edge - c->rcv_adv;
	if (inc >= tcp_min32(c->rx_size / 2, 2u * c->cfg->mss))
		return true;
	return seq_lt(c->rcv_adv - sws, c->rcv_nxt) && inc >= sws;
}

/* Option bytes the SACK blocks will take on the next ACK (NOP NOP SACK). */
static uint32_t sack_nblocks(const struct tcp_conn *c)
{
	if (!c->sack_ok || !c->ooo_n)
		return 0;
	return tcp_min32(c->ooo_n, c->ts_ok ? 3 : 4);
}

static void sack_fill(const struct tcp_conn *c, struct tcp_opts *o)
{
	uint32_t max = sack_nblocks(c), first = 0, i;

	for (i = 0; i < c->ooo_n; i++)
		if (seq_in_window(c->ooo_recent, c->ooo[i].start,
				  c->ooo[i].end - c->ooo[i].start))
			first = i;
	o->nsack = 0;
	if (!max)
		return;
	o->sack[o->nsack].start = c->ooo[first].start;
	o->sack[o->nsack++].end = c->ooo[first].end;
	for (i = 0; i < c->ooo_n && o->nsack < max; i++) {
		if (i == first)
			continue;
		o->sack[o->nsack].start = c->ooo[i].start;
		o->sack[o->nsack++].end = c->ooo[i].end;
	}
}

/**
 * tcp_seg_new - append a segment to @out with the connection's fields
 * @c: connection
 * @out: actions
 * @seq: sequence number
 * @flags: TCP_*; with TCP_ACK the ACK number, window, SACK blocks and ECE
 *         are filled and the pending-ACK state is cleared
 * @now: time, ns (timestamps)
 *
 * Return: the segment, or NULL when @out is full.
 */
struct tcp_seg_out *tcp_seg_new(struct tcp_conn *c, struct tcp_out *out,
				uint32_t seq, uint8_t flags, uint64_t now)
{
	struct tcp_seg_out *s;

	if (out->nseg >= out->cap)
		return NULL;
	s = &out->seg[out->nseg++];
	memset(s, 0, sizeof(*s));
	s->h.sport = c->local_port;
	s->h.dport = c->remote_port;
	s->h.seq = seq;
	if (c->ts_ok && !(flags & TCP_RST)) {
		s->h.opts.has_ts = true;
		s->h.opts.ts_val = tcp_ts_now(c, now);
		s->h.opts.ts_ecr = c->ts_recent;
	}
	if ((flags & TCP_ACK) && !(flags & TCP_SYN)) {
		s->h.ack = c->rcv_nxt;
		s->h.wnd = tcp_rcv_wnd_field(c);
		c->rcv_acked = c->rcv_nxt;
		c->ack_now = false;
		c->unacked_segs = 0;
		c->t_delack = 0;
		if (c->ecn_ok &&
		    (c->cfg->dctcp_ecn_echo ? c->dctcp_ce : c->ece_pending))
			flags |= TCP_ECE;
		sack_fill(c, &s->h.opts);
	}
	s->h.flags = flags;
	c->st.segs_out++;
	return s;
}

/**
 * tcp_send_syn - (re)send our SYN (SYN_SENT) or SYN-ACK (SYN_RCVD)
 * @c: connection
 * @now: time, ns
 * @out: actions
 *
 * A retransmitted SYN drops ECE|CWR (RFC 3168 6.1.1.1 fallback, as Linux).
 */
void tcp_send_syn(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	const struct tcp_cfg *cfg = c->cfg;
	bool synack = c->state == TCP_SYN_RCVD;
	uint8_t flags = TCP_SYN | (synack ? TCP_ACK : 0);
	struct tcp_seg_out *s;

	if (synack && c->ecn_ok)
		flags |= TCP_ECE;
	else if (!synack && cfg->ecn && !c->backoff)
		flags |= TCP_ECE | TCP_CWR;
	s = tcp_seg_new(c, out, c->iss, flags, now);
	if (!s) {
		/* no room to send it now: the timer sends it again */
		tcp_rto_arm(c, now);
		return;
	}
	s->h.opts.has_mss = true;
	s->h.opts.mss = cfg->mss;
	s->h.wnd = (uint16_t)tcp_min32(c->rx_size, 65535);
	if (synack) {
		s->h.ack = c->rcv_nxt;
		/* Answer a window scale only if the SYN had one (7323 2.2). */
		s->h.opts.has_wscale = c->ws_ok;
		s->h.opts.wscale = c->rcv_wscale;
		s->h.opts.sack_ok = c->sack_ok;
		if (!c->ts_ok)
			s->h.opts.has_ts = false;
		c->rcv_acked = c->rcv_nxt;
	} else {
		s->h.opts.has_wscale = true;
		s->h.opts.wscale =
			(uint8_t)tcp_min32(cfg->wscale, TCP_WSCALE_MAX);
		s->h.opts.sack_ok = cfg->sack;
		s->h.opts.has_ts = cfg->ts;
		s->h.opts.ts_val = tcp_ts_now(c, now);
		s->h.opts.ts_ecr = 0;
	}
	if (c->backoff) {
		c->st.retrans_segs++;
		c->rtt_timing = false;
	} else {
		c->rtt_timing = true;
		c->rtt_seq = c->iss;
		c->rtt_start = now;
	}
	c->snd_nxt = c->iss + 1;
	if (seq_lt(c->snd_max, c->snd_nxt))
		c->snd_max = c->snd_nxt;
	tcp_rto_arm(c, now);
}

/**
 * tcp_send_ack - a pure ACK (window update, delayed or immediate ACK),
 * sequence number snd_max
 * @c: connection
 * @now: time, ns
 * @out: actions
 */
void tcp_send_ack(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	/* snd_max, not snd_nxt: after an RTO rollback snd_nxt may lie below
	 * the peer's rcv_nxt, and an ACK that fails its sequence check has
	 * its ACK field ignored (both sides rolled back would deadlock). */
	tcp_seg_new(c, out, c->snd_max, TCP_ACK, now);
}

/**
 * tcp_send_rst - a RST (no options, no timestamps)
 * @c: connection (ports)
 * @seq: sequence number
 * @ack: acknowledgment number (with TCP_ACK in @flags)
 * @flags: TCP_RST, optionally with TCP_ACK
 * @out: actions
 */
void tcp_send_rst(struct tcp_conn *c, uint32_t seq, uint32_t ack, uint8_t flags,
		  struct tcp_out *out)
{
	struct tcp_seg_out *s;

	if (out->nseg >= out->cap)
		return;
	s = &out->seg[out->nseg++];
	memset(s, 0, sizeof(*s));
	s->h.sport = c->local_port;
	s->h.dport = c->remote_port;
	s->h.seq = seq;
	s->h.ack = (flags & TCP_ACK) ? ack : 0;
	s->h.flags = flags;
	c->st.segs_out++;
}

/**
 * tcp_send_data - emit [seq, seq + len) of the tx ring (plus FIN)
 * @c: connection
 * @now: time, ns
 * @out: actions
 * @seq: first sequence; below snd_max it is a retransmission
 * @len: payload bytes
 * @fin: FIN after the payload
 * @probe: a zero-window probe (timed by the persist timer, not the RTO)
 *
 * Return: false when @out is full (nothing sent).
 */
bool tcp_send_data(struct tcp_conn *c, uint64_t now, struct tcp_out *out,
		   uint32_t seq, uint32_t len, bool fin, bool probe)
{
	bool rtx = seq_lt(seq, c->snd_max);
	uint8_t flags = TCP_ACK;
	struct tcp_seg_out *s;
	uint32_t end = seq + len + (fin ? 1u : 0u);

	if (fin)
		flags |= TCP_FIN;
	if (len && seq + len == c->tx_end)
		flags |= TCP_PSH;
	if (len && c->ecn_ok && !rtx && c->cwr_pending) {
		flags |= TCP_CWR;
		c->cwr_pending = false;
	}
	s = tcp_seg_new(c, out, seq, flags, now);
	if (!s)
		return false;
	s->len = len;
	if (len && c->ecn_ok && !rtx)
		s->ecn =
			IP_ECN_ECT0; /* never on retransmissions (3168 6.1.5) */
	c->st.bytes_out += len;
	if (rtx) {
		c->st.retrans_segs++;
		c->rtt_timing = false; /* Karn */
	} else if (!probe) {
		c->tlp_rearm = true;
		if (!c->rtt_timing && len) {
			c->rtt_timing = true;
			c->rtt_seq = seq;
			c->rtt_start = now;
		}
	}
	if (fin)
		c->fin_sent = true;
	if (seq_gt(end, c->snd_max)) {
		c->snd_max = end;
		tcp_sent_mark(c, now);
	}
	if (!c->t_rto && !probe)
		tcp_rto_arm(c, now);
	return true;
}

/**
 * tcp_send_probe - zero-window probe (RFC 9293 3.8.6.1): the byte at
 * snd_una, new the first time and re-sent after; it is timed by the
 * persist timer, not by the RTO
 * @c: connection
 * @now: time, ns
 * @out: actions
 */
void tcp_send_probe(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	uint32_t seq = c->snd_una;

	if (!seq_lt(seq, c->tx_end)) {
		tcp_seg_new(c, out, c->snd_una - 1, TCP_ACK, now);
		return;
	}
	if (!tcp_send_data(c, now, out, seq, 1, false, true))
		return;
	if (seq_lt(c->snd_nxt, seq + 1))
		c->snd_nxt = seq + 1;
}

/**
 * tcp_seg_payload_max - payload per segment when the ACK also carries
 * SACK blocks
 * @c: connection
 *
 * Return: bytes.
 */
uint32_t tcp_seg_payload_max(const struct tcp_conn *c)
{
	uint32_t n = sack_nblocks(c), opt = n ? 4 + 8 * n : 0;

	return c->snd_mss > opt + 8 ? c->snd_mss - opt : 8;
}

/* RFC 6582 (peers without SACK): retransmit from snd_una while the quota
 * (one per partial ACK) allows. */
static void rtx_holes(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	uint32_t hi = c->sack_n ? c->sacked[c->sack_n - 1].end : c->snd_una;
	uint32_t guard, k;

	for (guard = 0; c->rtx_quota && guard < TCP_OUT_SEGS; guard++) {
		uint32_t seq = seq_max(c->rtx_nxt, c->snd_una);
		uint32_t limit = c->snd_max, len = 0;
		bool fin = false;

		for (k = 0; k < c->sack_n; k++) {
			if (seq_geq(seq, c->sacked[k].start) &&
			    seq_lt(seq, c->sacked[k].end))
				seq = c->sacked[k].end;
			else if (seq_gt(c->sacked[k].start, seq)) {
				limit = c->sacked[k].start;
				break;
			}
		}
		if (c->sack_n ? !seq_lt(seq, hi) : seq != c->snd_una)
			break;
		if (!seq_lt(seq, c->snd_max))
			break;
		if (seq_lt(seq, c->tx_end)) {
			len = tcp_min32(limit - seq, tcp_seg_payload_max(c));
			len = tcp_min32(len, c->tx_end - seq);
		}
		fin = c->fin_sent && seq + len == c->tx_end &&
		      seq_gt(limit, c->tx_end);
		if (!len && !fin)
			break;
		if (!tcp_send_data(c, now, out, seq, len, fin, false))
			return;
		c->rtx_nxt = seq + len + (fin ? 1u : 0u);
		c->rtx_quota--;
	}
	c->rtx_quota = 0;
}

/**
 * tcp_send_new - new data (and data after an RTO rollback) up to
 * snd_una + @wnd
 * @c: connection
 * @now: time, ns
 * @out: actions
 * @wnd: usable window from snd_una (min(snd_wnd, cwnd) normally)
 * @max_segs: at most this many segments
 *
 * Return: segments sent.
 */
uint32_t tcp_send_new(struct tcp_conn *c, uint64_t now, struct tcp_out *out,
		      uint32_t wnd, uint32_t max_segs)
{
	uint32_t guard, sent = 0;

	for (guard = 0; guard < TCP_OUT_SEGS && sent < max_segs; guard++) {
		uint32_t seq = c->snd_nxt, mss = tcp_seg_payload_max(c);
		uint32_t avail = seq_lt(seq, c->tx_end) ? c->tx_end - seq : 0;
		bool fin_due = c->fin_queued && seq_leq(seq, c->tx_end);
		uint32_t edge = c->snd_una + tcp_min32(wnd, c->snd_wnd);
		uint32_t left, len;
		bool fin;

		if (!avail && !fin_due)
			break;
		left = seq_lt(seq, edge) ? edge - seq : 0;
		len = tcp_min32(tcp_min32(avail, mss), left);
		if (avail && !len)
			break;
		/* sender SWS avoidance (RFC 9293 3.8.6.2.1), no Nagle */
		if (len < avail && len < mss && c->snd_nxt != c->snd_una &&
		    len < c->max_snd_wnd / 2)
			break;
		fin = fin_due && seq + len == c->tx_end;
		if (!tcp_send_data(c, now, out, seq, len, fin, false))
			break;
		c->snd_nxt = seq + len + (fin ? 1u : 0u);
		sent++;
	}
	return sent;
}

/* The window for new data outside SACK recovery: min(snd_wnd, cwnd), plus
 * up to two segments on the first two dupacks (RFC 3042 limited transmit:
 * FlightSize may reach cwnd + 2*SMSS; cwnd itself is unchanged). */
static uint32_t send_wnd(const struct tcp_conn *c)
{
	uint32_t wnd = c->cwnd;

	if (!c->in_recovery && c->dupacks)
		wnd += tcp_min32(c->dupacks, 2) * c->snd_mss;
	return tcp_min32(c->snd_wnd, wnd);
}

static uint64_t persist_ns(const struct tcp_conn *c)
{
	uint64_t us = c->rto_us;
	uint32_t i;

	for (i = 0; i < c->persist_backoff && us < c->cfg->rto_max_us; i++)
		us *= 2;
	if (us > c->cfg->rto_max_us)
		us = c->cfg->rto_max_us;
	return us * TCP_NS_PER_US;
}

/**
 * tcp_output - emit what the windows allow: retransmissions during
 * recovery (RFC 6675 NextSeg with SACK, NewReno without), new data and
 * FIN, then a pure ACK if one is still due; (re)arms the probe timeout
 * @c: connection
 * @now: time, ns
 * @out: actions; never more than out->cap segments: when it fills up
 *       the call stops, and calling tcp_output again continues
 *
 * Also arms the persist timer when data waits behind a zero window and
 * nothing is in flight.
 */
void tcp_output(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	switch (c->state) {
	case TCP_CLOSED:
	case TCP_SYN_SENT:
		return;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		if (c->in_recovery && c->sack_ok) {
			tcp_sack_output(c, now, out);
		} else {
			if (c->in_recovery)
				rtx_holes(c, now, out);
			if (!c->t_persist)
				tcp_send_new(c, now, out, send_wnd(c),
					     TCP_OUT_SEGS);
		}
		if (!c->snd_wnd && seq_lt(c->snd_nxt, c->tx_end) && !c->t_rto &&
		    !c->t_persist)
			c->t_persist = now + persist_ns(c);
		if (c->tlp_rearm) {
			c->tlp_rearm = false;
			tcp_tlp_arm(c, now);
		}
		break;
	default:
		break;
	}
	if (c->ack_now || (c->state != TCP_SYN_RCVD && tcp_wnd_update_due(c)))
		tcp_send_ack(c, now, out);
}

/**
 * tcp_persist_interval_ns - current persist interval (backed off)
 * @c: connection
 *
 * Return: ns.
 */
uint64_t tcp_persist_interval_ns(const struct tcp_conn *c)
{
	return persist_ns(c);
}
