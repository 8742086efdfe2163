/* tcp_timer.c - timers of the sans-IO engine: retransmission (RTO), tail
 * loss probe, delayed ACK, persist (zero-window probes), TIME_WAIT, and RTT
 * estimation
 *
 * RFCs: 6298 (SRTT/RTTVAR/RTO, Karn, exponential backoff bounded by
 * rto_max), 7323 (RTT samples from TSecr), 9293 (3.8.6.1 persist,
 * 3.8.6.3 delayed ACK, 3.10.8 timeouts), 5681/6582 (cwnd and recover after
 * a timeout), 2018 (SACK scoreboard cleared after a timeout), 6675 5.1
 * (no new recovery before the RecoveryPoint set by a timeout), 8985 7
 * (the probe timeout; tcp_sack.c sends the probe). The RTO is the last
 * resort: SACK recovery and probes repair losses first.
 * Known gaps: no RFC 7323 appendix G per-window sample weighting; the RTO
 * is not raised to 3 s after a retransmitted SYN (RFC 6298 5.7); persist
 * probes never give up while the peer keeps answering.
 */
#include <errno.h>

#include "tcp/tcp_int.h"

/**
 * tcp_rtt_sample - fold one RTT measurement into SRTT/RTTVAR (RFC 6298 2)
 * @c: connection
 * @rtt_us: measured round-trip time, us
 *
 * RTO = max(rto_min, SRTT + max(G, 4 * RTTVAR)), at most rto_max; a new
 * sample also ends any backoff.
 */
void tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt_us)
{
	uint64_t rto;

	if (!rtt_us)
		rtt_us = 1;
	if (!c->srtt_us) {
		c->srtt_us = rtt_us;
		c->rttvar_us = rtt_us / 2;
	} else {
		uint32_t d = c->srtt_us > rtt_us ? c->srtt_us - rtt_us
						 : rtt_us - c->srtt_us;

		c->rttvar_us = (3 * c->rttvar_us + d) / 4;
		c->srtt_us = (7 * c->srtt_us + rtt_us) / 8;
	}
	rto = (uint64_t)c->srtt_us +
	      tcp_max32(TCP_CLOCK_G_US, 4 * c->rttvar_us);
	if (rto < c->cfg->rto_min_us)
		rto = c->cfg->rto_min_us;
	if (rto > c->cfg->rto_max_us)
		rto = c->cfg->rto_max_us;
	c->rto_us = (uint32_t)rto;
}

/**
 * tcp_rto_arm - (re)start the retransmission timer at now + RTO
 * @c: connection
 * @now: time, ns
 */
void tcp_rto_arm(struct tcp_conn *c, uint64_t now)
{
	c->t_rto = now + (uint64_t)c->rto_us * TCP_NS_PER_US;
}

/**
 * tcp_timewait_enter - enter TIME_WAIT for time_wait_us (2*MSL)
 * @c: connection
 * @now: time, ns
 */
void tcp_timewait_enter(struct tcp_conn *c, uint64_t now)
{
	c->state = TCP_TIME_WAIT;
	c->t_rto = 0;
	c->t_tlp = 0;
	c->t_persist = 0;
	c->t_delack = 0;
	c->t_timewait = now + (uint64_t)c->cfg->time_wait_us * TCP_NS_PER_US;
}

/**
 * tcp_next_deadline - earliest armed timer
 * @c: connection
 *
 * Return: absolute ns, UINT64_MAX when none is armed.
 */
uint64_t tcp_next_deadline(const struct tcp_conn *c)
{
	uint64_t t[5] = { c->t_rto, c->t_delack, c->t_persist, c->t_timewait,
			  c->t_tlp };
	uint64_t m = UINT64_MAX;
	int i;

	for (i = 0; i < 5; i++)
		if (t[i] && t[i] < m)
			m = t[i];
	return m;
}

static void backoff_rto(struct tcp_conn *c)
{
	uint64_t rto = (uint64_t)c->rto_us * 2;

	if (rto > c->cfg->rto_max_us)
		rto = c->cfg->rto_max_us;
	c->rto_us = (uint32_t)rto;
}

/* RFC 6298 5.4-5.6 and RFC 5681 (7): go back to snd_una with one segment. */
static void rto_fire(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	uint32_t flight = tcp_flight(c);

	c->t_rto = 0;
	c->t_tlp = 0;
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RCVD:
		if (c->backoff >= c->cfg->syn_retries) {
			tcp_set_reset(c, -ETIMEDOUT, out);
			return;
		}
		c->backoff++;
		c->st.timeouts++;
		backoff_rto(c);
		tcp_send_syn(c, now, out);
		return;
	case TCP_CLOSED:
	case TCP_TIME_WAIT:
	case TCP_FIN_WAIT_2:
		return;
	default:
		break;
	}
	if (c->snd_una == c->snd_max)
		return;
	if (!c->snd_wnd && !c->fin_sent) {
		/* The peer shrank its window to zero under our data: probe
		 * instead of counting timeouts (as Linux does). */
		c->snd_nxt = c->snd_una;
		c->t_persist = now;
		return;
	}
	if (c->backoff >= c->cfg->max_retries) {
		tcp_set_reset(c, -ETIMEDOUT, out);
		return;
	}
	c->backoff++;
	c->st.timeouts++;
	backoff_rto(c);
	c->ssthresh = tcp_max32(flight / 2, 2u * c->snd_mss);
	c->cwnd = c->snd_mss;
	c->dupacks = 0;
	c->rtx_quota = 0;
	c->recover = c->snd_max - 1;
	c->rtt_timing = false;
	if (c->sack_ok) {
		/* As Linux's loss state: every unSACKed byte is lost and SACK
		 * recovery resends them in slow start, skipping what the peer
		 * holds, and still notices lost retransmissions. The peer may
		 * have reneged (RFC 2018 8): a second timeout in a row forgets
		 * the SACKed state and resends everything. */
		if (c->backoff > 1)
			tcp_sb_clear(c);
		c->rtx_n = 0;
		c->tlp_out = false;
		c->t_tlp = 0;
		c->lost_hi = c->snd_max;
		c->snd_nxt = c->snd_max;
		c->in_recovery = true;
		c->rto_recovery = true;
		c->rescue_done = true;
		c->rtx_force = true;
	} else {
		/* go back N from snd_una */
		c->in_recovery = false;
		c->snd_nxt = c->snd_una;
	}
	tcp_output(c, now, out);
	if (!c->t_rto)
		tcp_rto_arm(c, now);
}

/**
 * tcp_timers - fire every timer whose deadline is <= @now
 * @c: connection
 * @now: time, ns
 * @out: actions (retransmissions, ACKs, probes, events)
 */
void tcp_timers(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	if (c->t_timewait && c->t_timewait <= now) {
		tcp_set_closed(c);
		out->events |= TCP_OUT_CLOSED;
		return;
	}
	/* the probe first: it may stand in for the RTO */
	if (c->t_tlp && c->t_tlp <= now)
		tcp_tlp_fire(c, now, out);
	if (c->t_rto && c->t_rto <= now) {
		rto_fire(c, now, out);
		if (c->state == TCP_CLOSED)
			return;
	}
	if (c->t_persist && c->t_persist <= now) {
		if (c->snd_wnd || !seq_lt(c->snd_una, c->tx_end)) {
			c->t_persist = 0;
			c->persist_backoff = 0;
			tcp_output(c, now, out);
		} else {
			tcp_send_probe(c, now, out);
			c->persist_backoff++;
			c->t_persist = now + tcp_persist_interval_ns(c);
		}
	}
	if (c->t_delack && c->t_delack <= now) {
		c->t_delack = 0;
		c->ack_now = true;
		tcp_output(c, now, out);
	}
}
