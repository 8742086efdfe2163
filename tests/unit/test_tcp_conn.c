/*
 * test_tcp_conn.c - connection life cycle of the TCP engine: every close
 * path of RFC 9293 (active, passive, simultaneous, FIN with data, FIN out
 * of order, TIME_WAIT expiry and restart), abort, RST replies for unknown
 * connections (3.10.7.1), RFC 6528 ISNs over SipHash-2-4, sequence wrap
 * through a whole transfer, app call bounds, names and defaults.
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

#include "tcp/tcp_int.h"
#include "tcp_test_util.h"

#define B (LOCAL_ISS + 1)
#define R (REMOTE_ISS + 1)

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

static void test_established_app_close_fin_after_data(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	app_send(t, 100);
	tcp_out_reset(&t->out);
	tcp_app_close(&t->c, t->now, &t->out);
	assert_int_equal(t->c.state, TCP_FIN_WAIT_1);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.seq, B + 100);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_ACK | TCP_FIN);
	assert_int_equal(t->c.snd_max, B + 101);
	/* data and FIN acked */
	seg_in(t, .flags = TCP_ACK, .ack = B + 101);
	assert_int_equal(t->c.state, TCP_FIN_WAIT_2);
	assert_true(t->out.events & TCP_OUT_FIN_ACKED);
	assert_int_equal(t->out.tx_freed, 100);
	/* peer's FIN: TIME_WAIT, then CLOSED after 2*MSL */
	seg_in(t, .flags = TCP_ACK | TCP_FIN);
	assert_int_equal(t->c.state, TCP_TIME_WAIT);
	assert_true(t->out.events & TCP_OUT_RX_FIN);
	assert_int_equal(oseg(t, 0)->h.ack, R + 1);
	assert_int_equal(tcp_next_deadline(&t->c), t->now + 60000 * MS);
	/* a retransmitted FIN is acked and restarts the timer */
	t->now += 1000 * MS;
	seg_in(t, .seq = R, .flags = TCP_ACK | TCP_FIN);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(t->c.t_timewait, t->now + 60000 * MS);
	step(t, 60000 * MS - 1);
	assert_int_equal(t->c.state, TCP_TIME_WAIT);
	step(t, 1);
	assert_int_equal(t->c.state, TCP_CLOSED);
	assert_true(t->out.events & TCP_OUT_CLOSED);
}

static void test_established_fin_close_wait_last_ack_closed(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	seg_in(t, .flags = TCP_ACK | TCP_FIN, .data = "bye");
	assert_int_equal(t->c.state, TCP_CLOSE_WAIT);
	assert_true(t->out.events & TCP_OUT_RX_FIN);
	assert_int_equal(t->out.rx_new, 3);
	assert_int_equal(tcp_rx_avail(&t->c), 3);
	assert_int_equal(oseg(t, 0)->h.ack, R + 4); /* FIN acked at once */
	app_send(t, 10);
	tcp_out_reset(&t->out);
	tcp_app_close(&t->c, t->now, &t->out);
	assert_int_equal(t->c.state, TCP_LAST_ACK);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_ACK | TCP_FIN);
	seg_in(t, .flags = TCP_ACK, .ack = B + 11);
	assert_int_equal(t->c.state, TCP_CLOSED);
	assert_true(t->out.events & TCP_OUT_CLOSED);
	assert_true(t->out.events & TCP_OUT_FIN_ACKED);
}

static void test_fin_wait_1_fin_simultaneous_close_closing(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	tcp_app_close(&t->c, t->now, &t->out);
	seg_in(t, .flags = TCP_ACK | TCP_FIN, .ack = B); /* FIN not acked */
	assert_int_equal(t->c.state, TCP_CLOSING);
	seg_in(t, .flags = TCP_ACK, .ack = B + 1);
	assert_int_equal(t->c.state, TCP_TIME_WAIT);
	assert_true(t->out.events & TCP_OUT_FIN_ACKED);
}

static void test_fin_wait_1_finack_time_wait(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	tcp_app_close(&t->c, t->now, &t->out);
	seg_in(t, .flags = TCP_ACK | TCP_FIN, .ack = B + 1);
	assert_int_equal(t->c.state, TCP_TIME_WAIT);
}

static void test_fin_wait_1_fin_retransmitted_on_rto(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	tcp_app_close(&t->c, t->now, &t->out);
	step(t, t->c.t_rto - t->now);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_ACK | TCP_FIN);
	assert_int_equal(oseg(t, 0)->h.seq, B);
}

static void test_established_fin_out_of_order_held(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	seg_in(t, .seq = R + 10, .flags = TCP_ACK | TCP_FIN, .len = 10);
	assert_int_equal(t->c.state, TCP_ESTABLISHED);
	assert_false(t->out.events & TCP_OUT_RX_FIN);
	seg_in(t, .seq = R, .flags = TCP_ACK, .len = 10);
	assert_int_equal(t->out.rx_new, 20);
	assert_true(t->out.events & TCP_OUT_RX_FIN);
	assert_int_equal(t->c.state, TCP_CLOSE_WAIT);
	assert_int_equal(oseg(t, 0)->h.ack, R + 21);
	assert_int_equal(tcp_rx_avail(&t->c), 20);
}

static void test_syn_sent_app_close_drops(void **state)
{
	struct tconn *t = *state;

	conn_syn_sent(t);
	tcp_out_reset(&t->out);
	tcp_app_close(&t->c, t->now, &t->out);
	assert_int_equal(t->c.state, TCP_CLOSED);
	assert_true(t->out.events & TCP_OUT_CLOSED);
	assert_int_equal(t->out.nseg, 0);
}

static void test_syn_rcvd_app_close_fin_after_handshake(void **state)
{
	struct tconn *t = *state;

	conn_syn_rcvd(t);
	tcp_app_close(&t->c, t->now, &t->out);
	seg_in(t, .flags = TCP_ACK);
	assert_int_equal(t->c.state, TCP_FIN_WAIT_1);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_ACK | TCP_FIN);
}

static void test_established_abort_sends_rst(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	app_send(t, 10);
	tcp_out_reset(&t->out);
	tcp_abort(&t->c, t->now, &t->out);
	assert_int_equal(t->c.state, TCP_CLOSED);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_RST | TCP_ACK);
	assert_int_equal(oseg(t, 0)->h.seq, B + 10);
	assert_true(t->out.events & TCP_OUT_CLOSED);
	assert_int_equal(tcp_next_deadline(&t->c), UINT64_MAX);
}

static void test_time_wait_abort_no_rst(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	tcp_timewait_enter(&t->c, t->now);
	tcp_out_reset(&t->out);
	tcp_abort(&t->c, t->now, &t->out);
	assert_int_equal(t->out.nseg, 0);
	assert_int_equal(t->c.state, TCP_CLOSED);
}

static void test_closed_segment_gets_reset_reply(void **state)
{
	struct tconn *t = *state;
	struct tcp_hdr h;
	struct tcp_seg_out rst;

	(void)t;
	memset(&h, 0, sizeof(h));
	h.sport = 1234;
	h.dport = 80;
	h.seq = 100;
	h.ack = 7777;
	/* ACK set: <SEQ=SEG.ACK><CTL=RST> */
	h.flags = TCP_ACK;
	assert_true(tcp_reset_reply(&h, 10, &rst));
	assert_int_equal(rst.h.flags, TCP_RST);
	assert_int_equal(rst.h.seq, 7777);
	assert_int_equal(rst.h.sport, 80);
	assert_int_equal(rst.h.dport, 1234);
	/* SYN without ACK: <SEQ=0><ACK=SEQ+LEN(+SYN)><CTL=RST,ACK> */
	h.flags = TCP_SYN;
	assert_true(tcp_reset_reply(&h, 0, &rst));
	assert_int_equal(rst.h.flags, TCP_RST | TCP_ACK);
	assert_int_equal(rst.h.seq, 0);
	assert_int_equal(rst.h.ack, 101);
	/* data + FIN without ACK */
	h.flags = TCP_FIN;
	assert_true(tcp_reset_reply(&h, 10, &rst));
	assert_int_equal(rst.h.ack, 111);
	/* never answer a RST */
	h.flags = TCP_RST | TCP_ACK;
	assert_false(tcp_reset_reply(&h, 0, &rst));
}

static void test_isn_changes_with_time_and_tuple(void **state)
{
	static const uint8_t key[16] = { 1, 2,	3,  4,	5,  6,	7,  8,
					 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t key2[16] = { 2 };
	uint32_t a, b;

	(void)state;
	a = tcp_isn(key, LOCAL_IP, 1000, REMOTE_IP, 80, 0);
	b = tcp_isn(key, LOCAL_IP, 1000, REMOTE_IP, 80, 4000);
	assert_int_equal(b - a, 1); /* M ticks every 4 us */
	b = tcp_isn(key, LOCAL_IP, 1000, REMOTE_IP, 80, 4000000);
	assert_int_equal(b - a, 1000);
	assert_int_not_equal(a, tcp_isn(key, LOCAL_IP, 1001, REMOTE_IP, 80, 0));
	assert_int_not_equal(
		a, tcp_isn(key, LOCAL_IP, 1000, REMOTE_IP + 1, 80, 0));
	assert_int_not_equal(a,
			     tcp_isn(key2, LOCAL_IP, 1000, REMOTE_IP, 80, 0));
}

static void test_siphash24_reference_vector(void **state)
{
	uint8_t key[16], in[15];
	unsigned i;

	(void)state;
	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 15; i++)
		in[i] = (uint8_t)i;
	/* the paper's appendix A vector: 0xa129ca6149be45e5 */
	assert_true(tcp_siphash24(key, in, 15) == 0xa129ca6149be45e5ull);
	/* reference vectors.h, empty input */
	assert_true(tcp_siphash24(key, in, 0) == 0x726fdb47dd0e0e31ull);
}

/* A transfer across the 2^32 wrap both ways, in rings that wrap too. */
static void test_established_sequence_wrap_whole_transfer(void **state)
{
	struct tconn *t = *state;
	uint32_t sent = 0, got = 0, i;

	tconn_reinit(t, 0xffffffffu - 3000);
	conn_established(t);
	t->c.irs = 0xffffffffu - 5000;
	t->c.rcv_nxt = t->c.rx_read = t->c.rcv_acked = t->c.irs + 1;
	t->c.rcv_adv = t->c.rcv_nxt + 65535;
	t->c.snd_wl1 = t->c.rcv_nxt;
	for (i = 0; i < 200 && (sent < 300000 || got < 200000); i++) {
		uint32_t n = tcp_tx_space(&t->c);

		if (n > 300000 - sent)
			n = 300000 - sent;
		if (n)
			assert_int_equal(app_send(t, n), 0);
		sent += n;
		seg_in(t, .flags = TCP_ACK, .ack = t->c.snd_max, .len = 8000);
		assert_true(rx_matches(t, got, got + t->out.rx_new));
		got += t->out.rx_new;
		assert_int_equal(tcp_app_rx_done(&t->c, t->out.rx_new), 0);
		do_output(t);
	}
	assert_int_equal(sent, 300000);
	assert_true(seq_gt(t->c.snd_una, 0xffffffffu - 3000));
	assert_true(t->c.snd_una < 0x100000u); /* wrapped */
	assert_true(t->c.rcv_nxt < 0x200000u);
	assert_true(got > 65536 * 2);
}

static void test_established_app_rx_done_bounds_einval(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	assert_int_equal(tcp_app_rx_done(&t->c, 1), -EINVAL);
	seg_in(t, .flags = TCP_ACK, .len = 10);
	assert_int_equal(tcp_app_rx_done(&t->c, 11), -EINVAL);
	assert_int_equal(tcp_app_rx_done(&t->c, 4), 0);
	assert_int_equal(tcp_app_rx_done(&t->c, 6), 0);
	assert_int_equal(tcp_rx_avail(&t->c), 0);
	/* after the FIN, the FIN is not a readable byte */
	seg_in(t, .flags = TCP_ACK | TCP_FIN);
	assert_int_equal(tcp_rx_avail(&t->c), 0);
	assert_int_equal(tcp_app_rx_done(&t->c, 1), -EINVAL);
}

static void test_state_names_and_defaults(void **state)
{
	struct tcp_cfg cfg;

	(void)state;
	assert_string_equal(tcp_state_str(TCP_ESTABLISHED), "ESTABLISHED");
	assert_string_equal(tcp_state_str(TCP_TIME_WAIT), "TIME_WAIT");
	assert_string_equal(tcp_state_str(TCP_STATE__NR), "?");
	tcp_cfg_default(&cfg, 9000);
	assert_int_equal(cfg.mss, 8960);
	assert_int_equal(cfg.rto_init_us, 1000000);
	assert_int_equal(cfg.init_cwnd_segs, 10);
	assert_true(cfg.sack && cfg.ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_established_app_close_fin_after_data),
		T(test_established_fin_close_wait_last_ack_closed),
		T(test_fin_wait_1_fin_simultaneous_close_closing),
		T(test_fin_wait_1_finack_time_wait),
		T(test_fin_wait_1_fin_retransmitted_on_rto),
		T(test_established_fin_out_of_order_held),
		T(test_syn_sent_app_close_drops),
		T(test_syn_rcvd_app_close_fin_after_handshake),
		T(test_established_abort_sends_rst),
		T(test_time_wait_abort_no_rst),
		T(test_closed_segment_gets_reset_reply),
		T(test_isn_changes_with_time_and_tuple),
		T(test_siphash24_reference_vector),
		T(test_established_sequence_wrap_whole_transfer),
		T(test_established_app_rx_done_bounds_einval),
		T(test_state_names_and_defaults),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
