/*
 * test_tcp_out.c - send side and timers of the TCP engine: segmentation
 * within min(snd_wnd, cwnd), tcp_out capacity, zero window and persist
 * probes, RTO with backoff and RFC 6298 estimation, Karn, SYN and data
 * retry limits, slow start, fast retransmit with NewReno and SACK holes,
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
	/* the next dupack retransmits the second hole, not SACKed data */
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + 3 * T_MSS, B + 6 * T_MSS } });
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B + 2 * T_MSS);
	assert_int_equal(oseg(t, 0)->len, T_MSS);
}

static void test_established_rto_clears_recovery_and_sack(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, false, true, 0);
	app_send(t, 10 * T_MSS);
	seg_in(t, .flags = TCP_ACK, .ack = B, .nsack = 1,
	       .sack = { { B + T_MSS, B + 2 * T_MSS } });
	step(t, t->c.t_rto - t->now);
	assert_int_equal(t->c.sack_n, 0);
	assert_false(t->c.in_recovery);
	assert_int_equal(t->c.recover, B + 10 * T_MSS - 1);
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
		T(test_established_rto_clears_recovery_and_sack),
		T(test_established_ecn_marks_and_cwr),
		T(test_established_delack_deadline_reported),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
