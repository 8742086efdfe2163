/*
 * test_tcp_out.c - send side and timers of the TCP engine: segmentation
 * within min(snd_wnd, cwnd), tcp_out capacity, zero window and persist
 * probes, RTO with backoff and RFC 6298 estimation, Karn, SYN and data
 * retry limits, slow start, fast retransmit with NewReno, limited
 * transmit, RFC 6675 SACK recovery (IsLost, pipe), lost retransmissions
 * detected again, tail loss and stall probes, RTO with a kept scoreboard,
 * ECN sender marks.
 *
 * Needs: nothing (no root, no netns, no hardware). ASAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tcp_test_util.h"

#define B (LOCAL_ISS + 1)

static int setup(void **state)
{
	*state = tconn_new();
	return 0;
}

static int teardown(void **state)
{
	tconn_free(*state);
	return 0;
}

static void test_established_send_segments_to_mss_and_cwnd(void **state)
{
	struct tconn *t = *state;
	unsigned i;

	conn_established(t);
	assert_int_equal(app_send(t, 20 * T_MSS), 0);
	assert_int_equal(t->out.nseg, 10); /* initial window */
	for (i = 0; i < 10; i++) {
		assert_int_equal(oseg(t, i)->h.seq, B + i * T_MSS);
		assert_int_equal(oseg(t, i)->len, T_MSS);
		assert_int_equal(oseg(t, i)->h.flags, TCP_ACK);
	}
	assert_int_equal(t->c.snd_nxt, B + 10 * T_MSS);
	assert_true(t->c.t_rto != 0);
	/* an ACK of 2 segments: slow start lets 4 more go */
	seg_in(t, .flags = TCP_ACK, .ack = B + 2 * T_MSS);
	assert_int_equal(t->out.tx_freed, 2 * T_MSS);
	assert_int_equal(t->c.cwnd, 12 * T_MSS);
	assert_int_equal(t->out.nseg, 4);
	assert_int_equal(olast(t)->h.flags, TCP_ACK);
}

static void test_established_send_limited_by_peer_window(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	t->c.snd_wnd = 3000;
	app_send(t, 5000);
	assert_int_equal(t->out.nseg, 2);
	/* 80 bytes left: sender SWS avoidance waits */
	assert_int_equal(t->c.snd_nxt, B + 2 * T_MSS);
	/* the last piece carries PSH */
	seg_in(t, .flags = TCP_ACK, .ack = B + 2 * T_MSS, .wnd = 5000);
	assert_int_equal(t->out.nseg, 2);
	assert_int_equal(olast(t)->len, 5000 - 3 * T_MSS);
	assert_true(olast(t)->h.flags & TCP_PSH);
	assert_int_equal(t->c.snd_nxt, B + 5000);
}

static void test_established_out_full_stops_and_resumes(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	t->c.cwnd = 100 * T_MSS;
	t->c.snd_wnd = 100 * T_MSS;
	assert_int_equal(app_send(t, T_TX_SIZE), 0);
	assert_int_equal(t->out.nseg, (T_TX_SIZE + T_MSS - 1) / T_MSS);
	assert_int_equal(t->c.snd_nxt, B + T_TX_SIZE);
}

static void test_established_out_capacity_never_overflows(void **state)
{
	struct tconn *t = *state;
	uint32_t total = 0;

	conn_established(t);
	t->cfg.mss = 100;
	t->c.snd_mss = 100;
	t->c.cwnd = 1 << 20;
	t->c.snd_wnd = 65535;
	assert_int_equal(app_send(t, 10000), 0);
	assert_int_equal(t->out.nseg, TCP_OUT_SEGS);
	total += TCP_OUT_SEGS * 100;
	assert_int_equal(t->c.snd_nxt, B + total);
	do_output(t);
	assert_int_equal(t->out.nseg, 36);
	assert_int_equal(t->c.snd_nxt, B + 10000);
}

/* A caller with only 3 free transmit slots (out.cap): the engine emits 3
 * segments and counts only those as sent; the rest go out on the next
 * call as new data, not as retransmissions. */
static void test_established_tx_cap_leaves_rest_unsent(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	t->c.cwnd = 100 * T_MSS;
	t->c.snd_wnd = 100 * T_MSS;
	assert_int_equal(tcp_app_tx(&t->c, 10 * T_MSS), 0);
	tcp_out_reset(&t->out);
	t->out.cap = 3;
	tcp_output(&t->c, t->now, &t->out);
	assert_int_equal(t->out.nseg, 3);
	assert_int_equal(t->c.snd_nxt, B + 3 * T_MSS);
	assert_int_equal(t->c.snd_max, B + 3 * T_MSS);
	do_output(t);
	assert_int_equal(t->out.nseg, 7);
	assert_int_equal(oseg(t, 0)->h.seq, B + 3 * T_MSS);
	assert_int_equal(t->c.snd_nxt, B + 10 * T_MSS);
	assert_int_equal(t->c.st.retrans_segs, 0);
}

/* No room for the SYN's retransmission: the timer is armed again rather
 * than the connection waiting forever in SYN-SENT. */
static void test_syn_sent_no_room_keeps_the_timer(void **state)
{
	struct tconn *t = *state;

	conn_syn_sent(t);
	t->now += 1000 * MS;
	tcp_out_reset(&t->out);
	t->out.cap = 0;
	tcp_timers(&t->c, t->now, &t->out);
	assert_int_equal(t->out.nseg, 0);
	assert_int_equal(t->c.state, TCP_SYN_SENT);
	assert_true(tcp_next_deadline(&t->c) > t->now);
	assert_true(tcp_next_deadline(&t->c) != UINT64_MAX);
	step(t, tcp_next_deadline(&t->c) - t->now);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_SYN);
}

static void test_established_app_tx_bounds_einval(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	assert_int_equal(tcp_tx_space(&t->c), T_TX_SIZE);
	assert_int_equal(tcp_app_tx(&t->c, T_TX_SIZE + 1), -EINVAL);
	assert_int_equal(tcp_app_tx(&t->c, T_TX_SIZE - 10), 0);
	assert_int_equal(tcp_app_tx(&t->c, 11), -EINVAL);
	assert_int_equal(tcp_tx_space(&t->c), 10);
	do_output(t);
	seg_in(t, .flags = TCP_ACK, .ack = B + 1000);
	assert_int_equal(tcp_tx_space(&t->c), 1010);
	tcp_app_close(&t->c, t->now, &t->out);
	assert_int_equal(tcp_app_tx(&t->c, 1), -EINVAL);
}

static void test_established_zero_window_persist_probe_reopen(void **state)
{
	struct tconn *t = *state;
	uint64_t iv;

	conn_established(t);
	seg_in(t, .flags = TCP_ACK, .wnd0 = true);
	assert_int_equal(t->c.snd_wnd, 0);
	app_send(t, 3000);
	assert_int_equal(t->out.nseg, 0);
	assert_int_equal(t->c.t_rto, 0);
	assert_int_equal(t->c.t_persist, t->now + 1000 * MS);
	step(t, 1000 * MS);
	assert_int_equal(t->out.nseg, 1); /* 1 byte beyond the window */
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(oseg(t, 0)->len, 1);
	iv = t->c.t_persist - t->now;
	assert_int_equal(iv, 2000 * MS); /* backed off */
	/* still closed: the probe byte is re-sent */
	seg_in(t, .flags = TCP_ACK, .ack = B, .wnd0 = true);
	assert_int_equal(t->out.nseg, 0);
	step(t, 2000 * MS);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(oseg(t, 0)->len, 1);
	assert_int_equal(t->c.t_persist - t->now, 4000 * MS);
	/* window opens: everything goes, persist stops */
	seg_in(t, .flags = TCP_ACK, .ack = B, .wnd = 10000);
	assert_int_equal(t->c.t_persist, 0);
	assert_int_equal(t->out.nseg, 3);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(t->c.snd_nxt, B + 3000);
	assert_true(t->c.t_rto != 0);
}

static void test_established_rto_retransmit_backoff(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	app_send(t, 3 * T_MSS);
	assert_int_equal(t->c.rto_us, 1000000);
	step(t, 999 * MS);
	assert_int_equal(t->out.nseg, 0);
	step(t, 1 * MS);
	assert_int_equal(t->out.nseg, 1); /* cwnd 1 MSS: go-back-N */
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(oseg(t, 0)->len, T_MSS);
	assert_int_equal(t->c.cwnd, T_MSS);
	assert_int_equal(t->c.ssthresh, 2 * T_MSS);
	assert_int_equal(t->c.rto_us, 2000000);
	assert_int_equal(t->c.backoff, 1);
	assert_int_equal(t->c.st.retrans_segs, 1);
	step(t, 2000 * MS);
	assert_int_equal(t->c.rto_us, 4000000);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	/* ACK of the retransmission: no RTT sample (Karn), backoff ends */
	seg_in(t, .flags = TCP_ACK, .ack = B + T_MSS);
	assert_int_equal(t->c.srtt_us, 0);
	assert_int_equal(t->c.backoff, 0);
	assert_int_equal(t->c.rto_us, 4000000);
	assert_int_equal(t->out.nseg, 2);
	assert_int_equal(oseg(t, 0)->h.seq, B + T_MSS); /* retransmit */
}

static void test_established_rtt_estimation_rfc6298(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	app_send(t, 100);
	t->now += 100 * MS;
	seg_in(t, .flags = TCP_ACK, .ack = B + 100);
	assert_int_equal(t->c.srtt_us, 100000);
	assert_int_equal(t->c.rttvar_us, 50000);
	assert_int_equal(t->c.rto_us, 100000 + 4 * 50000);
	app_send(t, 100);
	t->now += 200 * MS;
	seg_in(t, .flags = TCP_ACK, .ack = B + 200);
	/* rttvar = 3/4*50000 + 1/4*100000; srtt = 7/8*100000 + 1/8*200000 */
	assert_int_equal(t->c.rttvar_us, 62500);
	assert_int_equal(t->c.srtt_us, 112500);
	assert_int_equal(t->c.rto_us, 112500 + 4 * 62500);
	/* small RTTs are clamped at rto_min */
	app_send(t, 100);
	t->now += 10 * US;
	seg_in(t, .flags = TCP_ACK, .ack = B + 300);
	app_send(t, 100);
	t->now += 10 * US;
	seg_in(t, .flags = TCP_ACK, .ack = B + 400);
	t->cfg.rto_min_us = 200000;
	assert_true(t->c.rto_us >= 200000);
}

static void test_established_rtt_from_timestamps(void **state)
{
	struct tconn *t = *state;
	uint32_t ts;

	conn_established_opts(t, true, false, 0);
	app_send(t, 100);
	ts = oseg(t, 0)->h.opts.ts_val;
	t->now += 30 * MS;
	seg_in(t, .flags = TCP_ACK, .ack = B + 100, .tsecr = ts);
	assert_int_equal(t->c.srtt_us, 30000);
}

static void test_syn_sent_retries_then_etimedout(void **state)
{
	struct tconn *t = *state;
	uint32_t i;
	uint64_t rto = 1000 * MS;

	t->cfg.syn_retries = 3;
	conn_syn_sent(t);
	for (i = 0; i < 3; i++) {
		step(t, rto);
		assert_int_equal(t->out.nseg, 1);
		assert_int_equal(oseg(t, 0)->h.flags, TCP_SYN);
		rto *= 2;
	}
	step(t, rto - 1);
	assert_int_equal(t->out.nseg, 0);
	step(t, 1);
	assert_int_equal(t->c.state, TCP_CLOSED);
	assert_true(t->out.events & TCP_OUT_RESET);
	assert_int_equal(t->out.err, -ETIMEDOUT);
}

static void test_syn_rcvd_synack_retries_then_etimedout(void **state)
{
	struct tconn *t = *state;
	uint32_t i;

	t->cfg.syn_retries = 2;
	conn_syn_rcvd(t);
	for (i = 0; i < 2; i++) {
		step(t, t->c.t_rto - t->now);
		assert_int_equal(oseg(t, 0)->h.flags, TCP_SYN | TCP_ACK);
	}
	step(t, t->c.t_rto - t->now);
	assert_int_equal(t->out.err, -ETIMEDOUT);
	assert_int_equal(t->c.state, TCP_CLOSED);
}

static void test_established_data_retries_then_etimedout(void **state)
{
	struct tconn *t = *state;
	uint32_t i;

	t->cfg.max_retries = 4;
	conn_established(t);
	app_send(t, 10);
	for (i = 0; i < 4; i++) {
		step(t, t->c.t_rto - t->now);
		assert_int_equal(t->out.nseg, 1);
	}
	step(t, t->c.t_rto - t->now);
	assert_int_equal(t->c.state, TCP_CLOSED);
	assert_int_equal(t->out.err, -ETIMEDOUT);
	assert_int_equal(tcp_next_deadline(&t->c), UINT64_MAX);
}

static void test_established_rto_capped_at_rto_max(void **state)
{
	struct tconn *t = *state;
	uint32_t i;

	t->cfg.rto_max_us = 3000000;
	conn_established(t);
	app_send(t, 10);
	for (i = 0; i < 5; i++)
		step(t, t->c.t_rto - t->now);
	assert_int_equal(t->c.rto_us, 3000000);
}

static void test_established_three_dupacks_fast_retransmit_newreno(void **state)
{
	struct tconn *t = *state;
	uint32_t i;

	conn_established(t);
	app_send(t, 10 * T_MSS);
	/* segment 0 lost; segments 1..9 arrive: 9 dupacks */
	for (i = 0; i < 2; i++) {
		seg_in(t, .flags = TCP_ACK, .ack = B);
		assert_int_equal(t->out.nseg, 0);
	}
	seg_in(t, .flags = TCP_ACK, .ack = B);
	assert_true(t->c.in_recovery);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(t->c.ssthresh, 5 * T_MSS);
	assert_int_equal(t->c.cwnd, 8 * T_MSS);
	assert_int_equal(t->c.st.fast_retrans, 1);
	/* partial ACK (segment 3 was lost too): retransmit it */
	seg_in(t, .flags = TCP_ACK, .ack = B + 3 * T_MSS);
	assert_true(t->c.in_recovery);
	assert_int_equal(oseg(t, 0)->h.seq, B + 3 * T_MSS);
	assert_int_equal(oseg(t, 0)->len, T_MSS);
	/* full ACK ends recovery, cwnd deflated */
	seg_in(t, .flags = TCP_ACK, .ack = B + 10 * T_MSS);
	assert_false(t->c.in_recovery);
	assert_true(t->c.cwnd <= 5 * T_MSS);
	assert_int_equal(t->c.t_rto, 0);
}

static void test_established_sack_recovery_skips_sacked(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, false, true, 0);
	app_send(t, 10 * T_MSS);
	/* 0 and 2 lost */
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 2 * T_MSS } });
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + 3 * T_MSS, B + 4 * T_MSS } });
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + 3 * T_MSS, B + 5 * T_MSS } });
	assert_true(t->c.in_recovery);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(t->c.sack_n, 2);
	assert_int_equal(t->c.ssthresh, 5 * T_MSS);
	assert_int_equal(t->c.cwnd, 5 * T_MSS);
	/* RFC 6675: segment 2 is lost too (3 MSS SACKed above it), but pipe
	 * (6 unSACKed - 2 lost + 1 retransmitted = 5 MSS) fills cwnd */
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + 3 * T_MSS, B + 6 * T_MSS } });
	assert_int_equal(t->out.nseg, 0);
	/* the next SACK frees pipe: the second hole, not SACKed data */
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + 3 * T_MSS, B + 7 * T_MSS } });
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B + 2 * T_MSS);
	assert_int_equal(oseg(t, 0)->len, T_MSS);
}

/* Behaviour changed: the first timeout keeps the scoreboard (Linux's loss
 * state) and resends only unSACKed data; a second one forgets it. */
static void test_established_sack_rto_keeps_scoreboard_then_clears(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, false, true, 0);
	app_send(t, 10 * T_MSS);
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 2 * T_MSS } });
	assert_false(t->c.in_recovery);
	step(t, t->c.t_rto - t->now);
	assert_int_equal(t->c.st.timeouts, 1);
	assert_int_equal(t->c.sack_n, 1);
	assert_true(t->c.in_recovery);
	assert_int_equal(t->c.recover, B + 10 * T_MSS - 1);
	assert_int_equal(t->c.cwnd, T_MSS);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(t->c.snd_nxt, B + 10 * T_MSS); /* no go-back-N */
	/* its ACK: slow start, the next hole skips the SACKed segment 1 */
	seg_in(t, .flags = TCP_ACK, .ack = B + T_MSS, .nsack = 1,
	       .sack = { { B + T_MSS, B + 2 * T_MSS } });
	assert_int_equal(t->out.nseg, 2);
	assert_int_equal(oseg(t, 0)->h.seq, B + 2 * T_MSS);
	assert_int_equal(oseg(t, 1)->h.seq, B + 3 * T_MSS);
	/* the next timeout keeps it; a second in a row (the peer may have
	 * reneged, RFC 2018 8) forgets it */
	step(t, t->c.t_rto - t->now);
	assert_int_equal(t->c.st.timeouts, 2);
	assert_int_equal(t->c.sack_n, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B + 2 * T_MSS);
	step(t, t->c.t_rto - t->now);
	assert_int_equal(t->c.st.timeouts, 3);
	assert_int_equal(t->c.sack_n, 0);
	assert_int_equal(oseg(t, 0)->h.seq, B + T_MSS);
}

static void test_established_sack_islost_enters_recovery_at_once(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, false, true, 0);
	app_send(t, 10 * T_MSS);
	/* one ACK SACKing 3 segments above the first: IsLost(HighACK + 1)
	 * holds before three dupacks (RFC 6675 5) */
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 4 * T_MSS } });
	assert_true(t->c.in_recovery);
	assert_int_equal(t->c.dupacks, 1);
	assert_int_equal(t->c.st.fast_retrans, 1);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(oseg(t, 0)->len, T_MSS);
	assert_int_equal(t->c.rtx_n, 1);
}

static void
test_established_sack_reorder_below_thresh_no_retransmit(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, false, true, 0);
	app_send(t, 10 * T_MSS);
	/* segment 0 overtaken by 1 and 2: not yet lost */
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 2 * T_MSS } });
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 3 * T_MSS } });
	assert_false(t->c.in_recovery);
	assert_int_equal(t->out.nseg, 0);
	seg_in(t, .flags = TCP_ACK, .ack = B + 10 * T_MSS);
	assert_int_equal(t->c.st.retrans_segs, 0);
	assert_int_equal(t->c.sack_n, 0);
	assert_int_equal(t->c.cwnd, 12 * T_MSS); /* no reduction */
}

static void test_established_dupacks_limited_transmit_new_data(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	app_send(t, 20 * T_MSS);
	assert_int_equal(t->out.nseg, 10);
	/* RFC 3042: a new segment on each of the first two dupacks */
	seg_in(t, .flags = TCP_ACK, .ack = B);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B + 10 * T_MSS);
	seg_in(t, .flags = TCP_ACK, .ack = B);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B + 11 * T_MSS);
	assert_int_equal(t->c.cwnd, 10 * T_MSS);
	/* the third: fast retransmit, nothing new */
	seg_in(t, .flags = TCP_ACK, .ack = B);
	assert_true(t->c.in_recovery);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(t->c.ssthresh, 6 * T_MSS);
}

static void test_recovery_lost_retransmission_sent_again(void **state)
{
	struct tconn *t = *state;
	unsigned i;
	bool again = false;

	conn_established_opts(t, false, true, 0);
	app_send(t, 20 * T_MSS);
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 4 * T_MSS } });
	assert_int_equal(oseg(t, 0)->h.seq, B); /* retransmission ... */
	assert_int_equal(t->c.rtx[0].hi, B + 10 * T_MSS);
	/* pipe (7 - 1 + 1) fills cwnd 5: nothing yet */
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 8 * T_MSS } });
	/* pipe 3: two new segments (NextSeg rule 2) */
	assert_int_equal(t->out.nseg, 2);
	assert_int_equal(oseg(t, 0)->h.seq, B + 10 * T_MSS);
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 10 * T_MSS } });
	assert_int_equal(t->out.nseg, 2);
	assert_int_equal(t->c.st.rtx_lost, 0);
	/* ... lost: three segments sent after it arrive, it does not */
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 13 * T_MSS } });
	assert_int_equal(t->c.st.rtx_lost, 1);
	for (i = 0; i < t->out.nseg; i++)
		if (oseg(t, i)->h.seq == B)
			again = true;
	assert_true(again);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(t->c.st.timeouts, 0);
	/* and it arrives: recovery continues to the recovery point */
	seg_in(t, .flags = TCP_ACK, .ack = B + 5 * T_MSS);
	assert_true(t->c.in_recovery);
	seg_in(t, .flags = TCP_ACK, .ack = t->c.snd_max);
	assert_false(t->c.in_recovery);
	assert_int_equal(t->c.rtx_n, 0);
}

static void test_established_tail_loss_probe_resends_last_segment(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, false, true, 0);
	t->c.srtt_us = 10000;
	t->c.rtt_min_us = 10000;
	app_send(t, 3 * T_MSS);
	assert_int_equal(t->c.t_tlp, t->now + 20 * MS); /* 2 * SRTT */
	assert_int_equal(tcp_next_deadline(&t->c), t->c.t_tlp);
	step(t, 20 * MS);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B + 2 * T_MSS);
	assert_int_equal(oseg(t, 0)->len, T_MSS);
	assert_int_equal(t->c.st.tlp_probes, 1);
	assert_int_equal(t->c.st.timeouts, 0);
	assert_int_equal(t->c.t_rto, t->now + (uint64_t)t->c.rto_us * US);
	assert_int_equal(t->c.t_tlp, 0);
	/* the probe is SACKed, the first two are not: they are lost */
	t->now += 10 * MS;
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + 2 * T_MSS, B + 3 * T_MSS } });
	assert_true(t->c.in_recovery);
	assert_int_equal(t->out.nseg, 2);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(oseg(t, 1)->h.seq, B + T_MSS);
}

static void test_established_tail_loss_probe_prefers_new_data(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, false, true, 0);
	t->c.srtt_us = 10000;
	t->c.cwnd = 2 * T_MSS;
	app_send(t, 4 * T_MSS);
	assert_int_equal(t->out.nseg, 2);
	step(t, 20 * MS);
	/* cwnd is full but the peer's window is not: one new segment */
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B + 2 * T_MSS);
	assert_int_equal(t->c.st.retrans_segs, 0);
	assert_true(t->c.tlp_out);
}

static void test_established_single_segment_probe_waits_for_delack(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, false, true, 0);
	t->c.srtt_us = 10000;
	t->c.rto_us = 1000000;
	app_send(t, 100);
	/* 2 * SRTT + WCDelAckT (RFC 8985 7.2) */
	assert_int_equal(t->c.t_tlp, t->now + 220 * MS);
	/* capped by the RTO: the probe then goes instead of the timeout */
	t->c.rto_us = 200000;
	seg_in(t, .flags = TCP_ACK, .ack = B + 50);
	assert_int_equal(t->c.t_tlp, t->c.t_rto);
	step(t, 200 * MS);
	assert_int_equal(t->c.st.timeouts, 0);
	assert_int_equal(t->c.st.tlp_probes, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B + 50);
	assert_true(t->c.cwnd >= 10 * T_MSS); /* no collapse */
}

static void test_recovery_stall_probe_resends_lost_retransmission(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, false, true, 0);
	t->c.srtt_us = 10000;
	t->c.rtt_min_us = 10000;
	app_send(t, 10 * T_MSS);
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 4 * T_MSS } });
	assert_true(t->c.in_recovery);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	/* the retransmission is lost and nothing else comes back */
	assert_int_equal(tcp_next_deadline(&t->c), t->now + 20 * MS);
	step(t, 20 * MS);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B);
	assert_int_equal(t->c.st.tlp_probes, 1);
	assert_int_equal(t->c.st.rtx_lost, 1);
	assert_int_equal(t->c.st.timeouts, 0);
	assert_true(t->c.in_recovery);
}

static void test_established_ecn_marks_and_cwr(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	t->c.ecn_ok = true;
	app_send(t, 4 * T_MSS);
	assert_int_equal(oseg(t, 0)->ecn, IP_ECN_ECT0);
	seg_in(t, .flags = TCP_ACK | TCP_ECE, .ack = B + T_MSS);
	assert_int_equal(t->c.ssthresh, 2 * T_MSS);
	assert_true(t->c.cwr_pending);
	app_send(t, T_MSS);
	assert_int_equal(t->out.nseg, 0); /* flight 3 MSS > cwnd 2 MSS */
	seg_in(t, .flags = TCP_ACK, .ack = B + 3 * T_MSS);
	assert_int_equal(t->out.nseg, 1);
	assert_true(oseg(t, 0)->h.flags & TCP_CWR);
	assert_false(t->c.cwr_pending);
	/* retransmissions are not ECT */
	step(t, t->c.t_rto - t->now);
	assert_int_equal(oseg(t, 0)->ecn, IP_ECN_NOT_ECT);
}

static void test_established_delack_deadline_reported(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	assert_int_equal(tcp_next_deadline(&t->c), UINT64_MAX);
	seg_in(t, .flags = TCP_ACK, .data = "x");
	assert_int_equal(tcp_next_deadline(&t->c), t->now + 40 * MS);
	app_send(t, 10); /* the ACK rides on data */
	assert_int_equal(t->c.t_delack, 0);
	assert_int_equal(oseg(t, 0)->h.ack, REMOTE_ISS + 2);
	assert_int_equal(tcp_next_deadline(&t->c), t->c.t_rto);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_established_send_segments_to_mss_and_cwnd),
		T(test_established_send_limited_by_peer_window),
		T(test_established_out_full_stops_and_resumes),
		T(test_established_out_capacity_never_overflows),
		T(test_established_tx_cap_leaves_rest_unsent),
		T(test_syn_sent_no_room_keeps_the_timer),
		T(test_established_app_tx_bounds_einval),
		T(test_established_zero_window_persist_probe_reopen),
		T(test_established_rto_retransmit_backoff),
		T(test_established_rtt_estimation_rfc6298),
		T(test_established_rtt_from_timestamps),
		T(test_syn_sent_retries_then_etimedout),
		T(test_syn_rcvd_synack_retries_then_etimedout),
		T(test_established_data_retries_then_etimedout),
		T(test_established_rto_capped_at_rto_max),
		T(test_established_three_dupacks_fast_retransmit_newreno),
		T(test_established_sack_recovery_skips_sacked),
		T(test_established_sack_rto_keeps_scoreboard_then_clears),
		T(test_established_sack_islost_enters_recovery_at_once),
		T(test_established_sack_reorder_below_thresh_no_retransmit),
		T(test_established_dupacks_limited_transmit_new_data),
		T(test_recovery_lost_retransmission_sent_again),
		T(test_established_tail_loss_probe_resends_last_segment),
		T(test_established_tail_loss_probe_prefers_new_data),
		T(test_established_single_segment_probe_waits_for_delack),
		T(test_recovery_stall_probe_resends_lost_retransmission),
		T(test_established_ecn_marks_and_cwr),
		T(test_established_delack_deadline_reported),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
