/*
 * test_tcp_in.c - receive side of the TCP engine: handshakes (both ways,
 * with and without options, simultaneous open, refused), in-order and
 * out-of-order data with SACK, trimming, windows and scaling, delayed ACKs,
 * RFC 5961 RST/SYN/ACK checks, PAWS, ECN (RFC 3168 and the RFC 8257 DCTCP
 * receiver), 1 ms timestamps and RTT sampling (ns timer, coarse TS echoes).
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

#define B_LOCAL (LOCAL_ISS + 1)

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

/* ---- handshake ---- */

static void test_closed_connect_sends_syn_with_options(void **state)
{
	struct tconn *t = *state;
	const struct tcp_seg_out *s;

	t->cfg.ts = t->cfg.sack = t->cfg.ecn = true;
	t->cfg.wscale = 7;
	conn_syn_sent(t);
	assert_int_equal(t->c.state, TCP_SYN_SENT);
	assert_int_equal(t->out.nseg, 1);
	s = oseg(t, 0);
	assert_int_equal(s->h.flags, TCP_SYN | TCP_ECE | TCP_CWR);
	assert_int_equal(s->h.seq, LOCAL_ISS);
	assert_true(s->h.opts.has_mss && s->h.opts.mss == 1460);
	assert_true(s->h.opts.has_wscale && s->h.opts.wscale == 7);
	assert_true(s->h.opts.sack_ok && s->h.opts.has_ts);
	assert_int_equal(s->h.opts.ts_ecr, 0);
	assert_int_equal(s->len, 0);
	assert_int_equal(s->ecn, IP_ECN_NOT_ECT);
	assert_true(t->c.t_rto != 0);
}

static void test_syn_sent_synack_all_options_established(void **state)
{
	struct tconn *t = *state;
	struct tcp_hdr h;

	t->cfg.ts = t->cfg.sack = t->cfg.ecn = true;
	t->cfg.wscale = 7;
	conn_syn_sent(t);
	memset(&h, 0, sizeof(h));
	h.sport = REMOTE_PORT;
	h.dport = LOCAL_PORT;
	h.seq = REMOTE_ISS;
	h.ack = LOCAL_ISS + 1;
	h.flags = TCP_SYN | TCP_ACK | TCP_ECE;
	h.wnd = 29200;
	h.opts.has_mss = true;
	h.opts.mss = 1400;
	h.opts.has_wscale = true;
	h.opts.wscale = 15; /* clamped to 14 */
	h.opts.sack_ok = true;
	h.opts.has_ts = true;
	h.opts.ts_val = 4242;
	h.opts.ts_ecr = (uint32_t)(t->now / 1000) + t->c.ts_offset;
	t->now += 50 * US;
	tcp_out_reset(&t->out);
	tcp_input(&t->c, &h, NULL, 0, 0, t->now, &t->out);
	assert_int_equal(t->c.state, TCP_ESTABLISHED);
	assert_true(t->out.events & TCP_OUT_ESTABLISHED);
	assert_int_equal(t->c.snd_wscale, 14);
	assert_int_equal(t->c.rcv_wscale, 7);
	assert_true(t->c.ts_ok && t->c.sack_ok && t->c.ecn_ok);
	assert_int_equal(t->c.ts_recent, 4242);
	assert_int_equal(t->c.snd_mss, 1400 - 12);
	assert_int_equal(t->c.snd_wnd, 29200); /* SYN window unscaled */
	assert_int_equal(t->c.srtt_us, 50);
	assert_int_equal(t->c.cwnd, 10 * (1400 - 12));
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_ACK);
	assert_int_equal(oseg(t, 0)->h.ack, REMOTE_ISS + 1);
	assert_int_equal(oseg(t, 0)->h.opts.ts_ecr, 4242);
	assert_int_equal(t->c.t_rto, 0);
}

static void test_syn_sent_synack_no_options_defaults(void **state)
{
	struct tconn *t = *state;

	t->cfg.ts = t->cfg.sack = true;
	t->cfg.wscale = 7;
	conn_syn_sent(t);
	seg_in(t, .raw = true, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1,
	       .flags = TCP_SYN | TCP_ACK, .wnd = 8192);
	assert_int_equal(t->c.state, TCP_ESTABLISHED);
	assert_false(t->c.ts_ok || t->c.sack_ok || t->c.ecn_ok);
	assert_int_equal(t->c.snd_wscale, 0);
	assert_int_equal(t->c.rcv_wscale, 0);
	assert_int_equal(t->c.snd_mss, 536);
	assert_false(oseg(t, 0)->h.opts.has_ts);
}

static void test_syn_sent_rst_with_ack_refused(void **state)
{
	struct tconn *t = *state;

	conn_syn_sent(t);
	seg_in(t, .raw = true, .seq = 0, .ack = LOCAL_ISS + 1,
	       .flags = TCP_RST | TCP_ACK);
	assert_int_equal(t->c.state, TCP_CLOSED);
	assert_true(t->out.events & TCP_OUT_RESET);
	assert_int_equal(t->out.err, -ECONNREFUSED);
}

static void test_syn_sent_bad_ack_sends_rst_stays(void **state)
{
	struct tconn *t = *state;

	conn_syn_sent(t);
	seg_in(t, .raw = true, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 77,
	       .flags = TCP_SYN | TCP_ACK);
	assert_int_equal(t->c.state, TCP_SYN_SENT);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_RST);
	assert_int_equal(oseg(t, 0)->h.seq, LOCAL_ISS + 77);
	/* a RST with an unacceptable ACK is ignored */
	seg_in(t, .raw = true, .seq = 0, .ack = LOCAL_ISS + 77,
	       .flags = TCP_RST | TCP_ACK);
	assert_int_equal(t->c.state, TCP_SYN_SENT);
	assert_int_equal(t->out.nseg, 0);
}

static void test_syn_sent_syn_simultaneous_open(void **state)
{
	struct tconn *t = *state;

	conn_syn_sent(t);
	seg_in(t, .raw = true, .seq = REMOTE_ISS, .flags = TCP_SYN);
	assert_int_equal(t->c.state, TCP_SYN_RCVD);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_SYN | TCP_ACK);
	assert_int_equal(oseg(t, 0)->h.seq, LOCAL_ISS);
	assert_int_equal(oseg(t, 0)->h.ack, REMOTE_ISS + 1);
	/* the peer's SYN-ACK completes it */
	seg_in(t, .raw = true, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1,
	       .flags = TCP_SYN | TCP_ACK);
	assert_int_equal(t->c.state, TCP_ESTABLISHED);
	assert_true(t->out.events & TCP_OUT_ESTABLISHED);
}

static void test_listen_syn_options_synack_answers_only_offered(void **state)
{
	struct tconn *t = *state;
	struct tcp_hdr syn;
	const struct tcp_seg_out *s;

	t->cfg.ts = t->cfg.sack = t->cfg.ecn = true;
	t->cfg.wscale = 9;
	memset(&syn, 0, sizeof(syn));
	syn.sport = REMOTE_PORT;
	syn.dport = LOCAL_PORT;
	syn.seq = REMOTE_ISS;
	syn.flags = TCP_SYN | TCP_ECE | TCP_CWR;
	syn.wnd = 64240;
	syn.opts.has_mss = true;
	syn.opts.mss = 8960;
	syn.opts.has_ts = true;
	syn.opts.ts_val = 99;
	tcp_out_reset(&t->out);
	tcp_accept_syn(&t->c, &syn, t->now, &t->out);
	assert_int_equal(t->c.state, TCP_SYN_RCVD);
	s = oseg(t, 0);
	assert_int_equal(s->h.flags, TCP_SYN | TCP_ACK | TCP_ECE);
	assert_false(s->h.opts.has_wscale); /* peer offered none */
	assert_false(s->h.opts.sack_ok);
	assert_true(s->h.opts.has_ts && s->h.opts.ts_ecr == 99);
	assert_int_equal(s->h.opts.mss, 1460);
	assert_int_equal(t->c.snd_mss, 1460 - 12);
	assert_true(t->c.ecn_ok);
	assert_int_equal(t->c.rcv_wscale, 0);
}

static void test_syn_rcvd_ack_established(void **state)
{
	struct tconn *t = *state;

	conn_syn_rcvd(t);
	seg_in(t, .flags = TCP_ACK);
	assert_int_equal(t->c.state, TCP_ESTABLISHED);
	assert_true(t->out.events & TCP_OUT_ESTABLISHED);
	assert_int_equal(t->c.snd_una, LOCAL_ISS + 1);
	assert_int_equal(t->c.t_rto, 0);
	assert_int_equal(t->out.tx_freed, 0);
}

static void test_syn_rcvd_ack_with_data_delivers(void **state)
{
	struct tconn *t = *state;

	conn_syn_rcvd(t);
	seg_in(t, .flags = TCP_ACK | TCP_PSH, .len = 100);
	assert_int_equal(t->c.state, TCP_ESTABLISHED);
	assert_int_equal(t->out.rx_new, 100);
	assert_true(rx_matches(t, 0, 100));
}

static void test_syn_rcvd_bad_ack_sends_rst(void **state)
{
	struct tconn *t = *state;

	conn_syn_rcvd(t);
	seg_in(t, .flags = TCP_ACK, .ack = LOCAL_ISS + 1000);
	assert_int_equal(t->c.state, TCP_SYN_RCVD);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_RST);
	assert_int_equal(oseg(t, 0)->h.seq, LOCAL_ISS + 1000);
}

static void test_syn_rcvd_syn_retransmit_resends_synack(void **state)
{
	struct tconn *t = *state;

	conn_syn_rcvd(t);
	seg_in(t, .raw = true, .seq = REMOTE_ISS, .flags = TCP_SYN);
	assert_int_equal(t->c.state, TCP_SYN_RCVD);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_SYN | TCP_ACK);
}

/* ---- data ---- */

static void test_established_in_order_delivered_delayed_ack(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	seg_in(t, .flags = TCP_ACK, .data = "abc");
	assert_int_equal(t->out.rx_new, 3);
	assert_memory_equal(t->rx, "abc", 3);
	assert_int_equal(t->out.nseg, 0); /* delayed */
	assert_true(t->c.t_delack == t->now + 40 * MS);
	assert_int_equal(tcp_rx_avail(&t->c), 3);
	step(t, 39 * MS);
	assert_int_equal(t->out.nseg, 0);
	step(t, 1 * MS);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.ack, REMOTE_ISS + 4);
	assert_int_equal(t->c.t_delack, 0);
}

static void test_established_two_full_segments_ack_immediately(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	seg_in(t, .flags = TCP_ACK, .len = T_MSS);
	assert_int_equal(t->out.nseg, 0);
	seg_in(t, .flags = TCP_ACK, .len = T_MSS);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.ack, REMOTE_ISS + 1 + 2 * T_MSS);
	assert_true(rx_matches(t, 0, 2 * T_MSS));
	assert_int_equal(t->c.t_delack, 0);
}

static void test_established_ooo_two_holes_sack_then_fill(void **state)
{
	struct tconn *t = *state;
	const uint32_t b = REMOTE_ISS + 1;
	const struct tcp_seg_out *s;

	conn_established_opts(t, true, true, 0);
	/* holes at [0,100) and [200,300) */
	seg_in(t, .seq = b + 100, .flags = TCP_ACK, .len = 100);
	assert_int_equal(t->out.rx_new, 0);
	assert_int_equal(t->out.nseg, 1); /* immediate dupack */
	s = oseg(t, 0);
	assert_int_equal(s->h.ack, b);
	assert_int_equal(s->h.opts.nsack, 1);
	assert_int_equal(s->h.opts.sack[0].start, b + 100);
	assert_int_equal(s->h.opts.sack[0].end, b + 200);
	seg_in(t, .seq = b + 300, .flags = TCP_ACK, .len = 100);
	s = oseg(t, 0);
	assert_int_equal(t->c.ooo_n, 2);
	assert_int_equal(s->h.opts.nsack, 2);
	assert_int_equal(s->h.opts.sack[0].start, b + 300); /* newest first */
	assert_int_equal(s->h.opts.sack[1].start, b + 100);
	/* fill the first hole: rcv_nxt jumps to 200 */
	seg_in(t, .seq = b, .flags = TCP_ACK, .len = 100);
	assert_int_equal(t->out.rx_new, 200);
	assert_int_equal(t->c.rcv_nxt, b + 200);
	assert_int_equal(t->c.ooo_n, 1);
	assert_int_equal(t->out.nseg, 1); /* hole filling: immediate */
	/* fill the second: everything to 400 */
	seg_in(t, .seq = b + 200, .flags = TCP_ACK, .len = 100);
	assert_int_equal(t->out.rx_new, 200);
	assert_int_equal(t->c.rcv_nxt, b + 400);
	assert_int_equal(t->c.ooo_n, 0);
	assert_int_equal(oseg(t, 0)->h.opts.nsack, 0);
	assert_true(rx_matches(t, 0, 400));
}

static void test_established_ooo_merge_adjacent_and_overlap(void **state)
{
	struct tconn *t = *state;
	const uint32_t b = REMOTE_ISS + 1;

	conn_established(t);
	seg_in(t, .seq = b + 100, .flags = TCP_ACK, .len = 50);
	seg_in(t, .seq = b + 150, .flags = TCP_ACK, .len = 50); /* adjacent */
	assert_int_equal(t->c.ooo_n, 1);
	seg_in(t, .seq = b + 300, .flags = TCP_ACK, .len = 50);
	seg_in(t, .seq = b + 180, .flags = TCP_ACK, .len = 140); /* bridges */
	assert_int_equal(t->c.ooo_n, 1);
	assert_int_equal(t->c.ooo[0].start, b + 100);
	assert_int_equal(t->c.ooo[0].end, b + 350);
	seg_in(t, .seq = b + 120, .flags = TCP_ACK, .len = 10); /* covered */
	assert_int_equal(t->c.st.dup_segs, 1);
	seg_in(t, .seq = b, .flags = TCP_ACK, .len = 110); /* overlaps */
	assert_int_equal(t->out.rx_new, 350);
	assert_true(rx_matches(t, 0, 350));
}

static void test_established_ooo_more_than_max_ranges_kept_bounded(void **state)
{
	struct tconn *t = *state;
	const uint32_t b = REMOTE_ISS + 1;
	uint32_t i;

	conn_established(t);
	for (i = 0; i < TCP_OOO_MAX + 3; i++)
		seg_in(t, .seq = b + 100 + 200 * i, .flags = TCP_ACK,
		       .len = 100);
	assert_int_equal(t->c.ooo_n, TCP_OOO_MAX);
	/* a lower range evicts the highest */
	seg_in(t, .seq = b + 10, .flags = TCP_ACK, .len = 10);
	assert_int_equal(t->c.ooo_n, TCP_OOO_MAX);
	assert_int_equal(t->c.ooo[0].start, b + 10);
}

static void test_established_duplicate_trimmed_and_acked(void **state)
{
	struct tconn *t = *state;
	const uint32_t b = REMOTE_ISS + 1;

	conn_established(t);
	seg_in(t, .flags = TCP_ACK, .len = 100);
	seg_in(t, .seq = b, .flags = TCP_ACK, .len = 100); /* full dup */
	assert_int_equal(t->out.rx_new, 0);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.ack, b + 100);
	seg_in(t, .seq = b + 50, .flags = TCP_ACK, .len = 100); /* overlap */
	assert_int_equal(t->out.rx_new, 50);
	assert_int_equal(t->c.rcv_nxt, b + 150);
	assert_true(rx_matches(t, 0, 150));
}

static void test_established_beyond_window_trimmed(void **state)
{
	struct tconn *t = *state;
	const uint32_t b = REMOTE_ISS + 1;

	conn_established(t);
	/* fill the ring but 100 bytes, the app reads nothing */
	seg_in(t, .seq = b, .flags = TCP_ACK, .len = T_RX_SIZE - 100);
	seg_in(t, .flags = TCP_ACK, .len = 300);
	assert_int_equal(t->out.rx_new, 100);
	assert_int_equal(tcp_rx_avail(&t->c), T_RX_SIZE);
	assert_int_equal(oseg(t, 0)->h.wnd, 0);
	/* zero window: a probe is not stored but its ACK is answered */
	seg_in(t, .flags = TCP_ACK, .len = 1);
	assert_int_equal(t->out.rx_new, 0);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.wnd, 0);
	assert_int_equal(oseg(t, 0)->h.ack, b + T_RX_SIZE);
}

static void test_established_window_scaled_rounded_down(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, false, false, 7);
	t->c.rcv_adv = t->c.rcv_nxt + T_RX_SIZE;
	seg_in(t, .flags = TCP_ACK | TCP_PSH, .len = 1000);
	step(t, 40 * MS);
	/* 64536 bytes of ring left: rounded down, the edge on the wire stays
	 * inside the ring; rcv_adv (what acceptability uses) never retracts */
	assert_int_equal(oseg(t, 0)->h.wnd, (T_RX_SIZE - 1000) / 128);
	assert_true(seq_geq(t->c.rcv_adv, REMOTE_ISS + 1 + T_RX_SIZE));
	/* the peer's window is scaled by its shift */
	seg_in(t, .flags = TCP_ACK, .wnd = 10);
	assert_int_equal(t->c.snd_wnd, 10 << 7);
}

/* A peer that always sends up to the edge we announced, in segments of
 * odd sizes, while the app reads odd amounts: with window scaling no byte
 * inside an announced window may be trimmed (a trimmed tail left a hole,
 * then SACK recovery and a spurious window cut: 12,000 out-of-order
 * segments per 256 MiB on the wire backend before this was fixed). */
static void test_established_scaled_window_is_never_overrun(void **state)
{
	struct tconn *t = *state;
	uint32_t edge, seq, x = 12345, stored = 0, sent = 0;

	conn_established_opts(t, false, false, 7);
	edge = t->c.rcv_nxt + 65535u; /* SYN window: unscaled */
	seq = t->c.rcv_nxt;
	for (int round = 0; round < 2000; round++) {
		uint32_t rd;

		/* fill the announced window */
		while (seq_lt(seq, edge)) {
			uint32_t len;

			x = x * 1103515245u + 12345u;
			len = 1 + (x >> 8) % T_MSS;
			if (len > edge - seq)
				len = edge - seq;
			seg_in(t, .seq = seq, .flags = TCP_ACK, .len = len,
			       .raw = false);
			assert_int_equal(t->out.rx_new, len);
			stored += len;
			sent += len;
			seq += len;
			for (unsigned i = 0; i < t->out.nseg; i++) {
				const struct tcp_seg_out *o = oseg(t, i);
				uint32_t e =
					o->h.ack + ((uint32_t)o->h.wnd << 7);

				assert_true(seq_leq(e, t->c.rx_read +
							       t->c.rx_size));
				if (seq_gt(e, edge))
					edge = e;
			}
		}
		/* the app reads an odd amount; window updates go out */
		x = x * 1103515245u + 12345u;
		rd = 1 + (x >> 8) % (stored < 20000 ? stored : 20000);
		assert_int_equal(tcp_app_rx_done(&t->c, rd), 0);
		stored -= rd;
		do_output(t);
		for (unsigned i = 0; i < t->out.nseg; i++) {
			const struct tcp_seg_out *o = oseg(t, i);
			uint32_t e = o->h.ack + ((uint32_t)o->h.wnd << 7);

			assert_true(seq_leq(e, t->c.rx_read + t->c.rx_size));
			if (seq_gt(e, edge))
				edge = e;
		}
		step(t, 1 * MS);
	}
	assert_int_equal(t->c.st.ooo_segs, 0);
	assert_true(sent > 10u * T_RX_SIZE);
}

static void test_established_app_read_window_update(void **state)
{
	struct tconn *t = *state;
	const uint32_t b = REMOTE_ISS + 1;

	conn_established(t);
	seg_in(t, .seq = b, .flags = TCP_ACK, .len = 60000);
	assert_int_equal(oseg(t, 0)->h.wnd,
			 T_RX_SIZE - 60000 < 65535 ? 65535 - 60000 : 0);
	assert_int_equal(tcp_app_rx_done(&t->c, 1000), 0);
	do_output(t);
	assert_int_equal(t->out.nseg, 0); /* small: SWS avoidance */
	assert_int_equal(tcp_app_rx_done(&t->c, 59000), 0);
	do_output(t);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.wnd, 65535);
	assert_int_equal(tcp_app_rx_done(&t->c, 1), -EINVAL);
}

static void test_established_zero_window_reopens_on_read(void **state)
{
	struct tconn *t = *state;
	const uint32_t b = REMOTE_ISS + 1;

	conn_established_opts(t, false, false, 2);
	t->c.rcv_adv = b + T_RX_SIZE;
	seg_in(t, .seq = b, .flags = TCP_ACK, .len = T_RX_SIZE);
	assert_int_equal(oseg(t, 0)->h.wnd, 0);
	assert_int_equal(tcp_app_rx_done(&t->c, 100), 0);
	do_output(t);
	assert_int_equal(t->out.nseg, 0); /* < 1 MSS: keep it closed */
	assert_int_equal(tcp_app_rx_done(&t->c, 2000), 0);
	do_output(t);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.wnd, 2100 / 4);
}

/* ---- RFC 5961 ---- */

static void test_established_rst_exact_resets(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	seg_in(t, .flags = TCP_RST);
	assert_int_equal(t->c.state, TCP_CLOSED);
	assert_true(t->out.events & TCP_OUT_RESET);
	assert_int_equal(t->out.err, -ECONNRESET);
}

static void test_established_rst_in_window_challenge_ack(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	seg_in(t, .seq = REMOTE_ISS + 1 + 1000, .flags = TCP_RST);
	assert_int_equal(t->c.state, TCP_ESTABLISHED);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.flags, TCP_ACK);
	assert_int_equal(oseg(t, 0)->h.ack, REMOTE_ISS + 1);
	assert_int_equal(t->c.st.challenge_acks, 1);
}

static void test_established_rst_out_of_window_ignored(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	seg_in(t, .seq = REMOTE_ISS + 1 + 100000, .flags = TCP_RST);
	assert_int_equal(t->c.state, TCP_ESTABLISHED);
	assert_int_equal(t->out.nseg, 0);
	seg_in(t, .seq = REMOTE_ISS - 10, .flags = TCP_RST);
	assert_int_equal(t->out.nseg, 0);
}

static void test_established_syn_challenge_ack_rate_limited(void **state)
{
	struct tconn *t = *state;
	unsigned i, acks = 0;

	conn_established(t);
	for (i = 0; i < 20; i++) {
		seg_in(t, .flags = TCP_SYN);
		acks += t->out.nseg;
		assert_int_equal(t->c.state, TCP_ESTABLISHED);
	}
	assert_int_equal(acks, 10);
	t->now += 1000 * MS;
	seg_in(t, .flags = TCP_SYN);
	assert_int_equal(t->out.nseg, 1);
}

static void test_established_ack_beyond_snd_max_acked_dropped(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	seg_in(t, .flags = TCP_ACK, .ack = LOCAL_ISS + 5000, .data = "xyz");
	assert_int_equal(t->out.rx_new, 0);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.ack, REMOTE_ISS + 1);
	assert_int_equal(t->c.snd_una, LOCAL_ISS + 1);
}

static void test_established_old_segment_dupack(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	seg_in(t, .flags = TCP_ACK, .len = 10);
	seg_in(t, .seq = REMOTE_ISS - 5000, .flags = TCP_ACK, .len = 10);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.ack, REMOTE_ISS + 11);
}

static void test_established_paws_old_tsval_dropped(void **state)
{
	struct tconn *t = *state;

	conn_established_opts(t, true, false, 0);
	seg_in(t, .flags = TCP_ACK, .len = 10, .tsval = 1000000);
	assert_int_equal(t->c.ts_recent, 1000000);
	seg_in(t, .flags = TCP_ACK, .len = 10, .tsval = 999);
	assert_int_equal(t->out.rx_new, 0);
	assert_int_equal(t->out.nseg, 1);
	assert_int_equal(oseg(t, 0)->h.opts.ts_ecr, 1000000);
}

/* ---- ECN ---- */

static void test_established_ce_echoes_ece_until_cwr(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	t->c.ecn_ok = true;
	seg_in(t, .flags = TCP_ACK, .len = T_MSS, .ecn = IP_ECN_CE);
	seg_in(t, .flags = TCP_ACK, .len = T_MSS);
	assert_true(oseg(t, 0)->h.flags & TCP_ECE);
	seg_in(t, .flags = TCP_ACK | TCP_CWR, .len = T_MSS);
	seg_in(t, .flags = TCP_ACK, .len = T_MSS);
	assert_false(oseg(t, 0)->h.flags & TCP_ECE);
}

static void test_established_ce_flip_dctcp_acks_at_once(void **state)
{
	struct tconn *t = *state;
	const uint32_t b = REMOTE_ISS + 1;

	t->cfg.dctcp_ecn_echo = true;
	conn_established(t);
	t->c.ecn_ok = true;
	seg_in(t, .flags = TCP_ACK, .len = T_MSS);
	assert_int_equal(t->out.nseg, 0); /* delayed */
	/* CE: the held data is ACKed without ECE, this one with ECE */
	seg_in(t, .flags = TCP_ACK, .len = T_MSS, .ecn = IP_ECN_CE);
	assert_int_equal(t->out.nseg, 2);
	assert_int_equal(oseg(t, 0)->h.ack, b + T_MSS);
	assert_false(oseg(t, 0)->h.flags & TCP_ECE);
	assert_int_equal(oseg(t, 1)->h.ack, b + 2 * T_MSS);
	assert_true(oseg(t, 1)->h.flags & TCP_ECE);
	/* CE again: no change, the usual delayed ACK; CWR changes nothing */
	seg_in(t, .flags = TCP_ACK | TCP_CWR, .len = T_MSS, .ecn = IP_ECN_CE);
	assert_int_equal(t->out.nseg, 0);
	/* not CE: the held segment with ECE, this one without */
	seg_in(t, .flags = TCP_ACK, .len = T_MSS);
	assert_int_equal(t->out.nseg, 2);
	assert_int_equal(oseg(t, 0)->h.ack, b + 3 * T_MSS);
	assert_true(oseg(t, 0)->h.flags & TCP_ECE);
	assert_int_equal(oseg(t, 1)->h.ack, b + 4 * T_MSS);
	assert_false(oseg(t, 1)->h.flags & TCP_ECE);
	/* ECE follows the state exactly, not until CWR */
	seg_in(t, .flags = TCP_ACK, .len = T_MSS);
	seg_in(t, .flags = TCP_ACK, .len = T_MSS);
	assert_int_equal(t->out.nseg, 1);
	assert_false(oseg(t, 0)->h.flags & TCP_ECE);
}

static void test_established_ce_default_classic_no_immediate_ack(void **state)
{
	struct tconn *t = *state;

	conn_established(t);
	t->c.ecn_ok = true;
	assert_false(t->cfg.dctcp_ecn_echo);
	seg_in(t, .flags = TCP_ACK, .len = T_MSS, .ecn = IP_ECN_CE);
	assert_int_equal(t->out.nseg, 0); /* RFC 3168: delayed as usual */
	seg_in(t, .flags = TCP_ACK, .len = T_MSS);
	assert_true(oseg(t, 0)->h.flags & TCP_ECE);
}

/* ---- timestamps ---- */

static void test_established_tsval_ticks_milliseconds(void **state)
{
	struct tconn *t = *state;
	uint32_t ts0;

	conn_established_opts(t, true, false, 0);
	app_send(t, 10);
	ts0 = oseg(t, 0)->h.opts.ts_val;
	assert_int_equal(ts0, (uint32_t)(t->now / MS) + LOCAL_ISS);
	t->now += 999 * US;
	app_send(t, 10);
	assert_int_equal(oseg(t, 0)->h.opts.ts_val, ts0);
	t->now += 1 * US;
	app_send(t, 10);
	assert_int_equal(oseg(t, 0)->h.opts.ts_val, ts0 + 1);
	t->now += 5000 * MS;
	app_send(t, 10);
	assert_int_equal(oseg(t, 0)->h.opts.ts_val, ts0 + 5001);
}

static void test_established_rtt_timed_in_ns_not_ts_ticks(void **state)
{
	struct tconn *t = *state;
	uint32_t ts;

	conn_established_opts(t, true, false, 0);
	app_send(t, 100);
	ts = oseg(t, 0)->h.opts.ts_val;
	t->now += 150 * US; /* well below one TS tick */
	seg_in(t, .flags = TCP_ACK, .ack = B_LOCAL + 100, .tsecr = ts);
	assert_int_equal(t->c.srtt_us, 150);
	assert_int_equal(t->c.rtt_min_us, 150);
}

/* Every sample the estimator takes is counted once, with its value, for
 * the congestion control's per-interval mean (tcp/fp_cc.c). */
static void test_established_rtt_samples_counted_once(void **state)
{
	struct tconn *t = *state;
	uint64_t n0, sum0;
	uint32_t ts;

	conn_established_opts(t, true, false, 0);
	n0 = t->c.st.rtt_samples;
	sum0 = t->c.st.rtt_sum_us;
	app_send(t, 100);
	ts = oseg(t, 0)->h.opts.ts_val;
	t->now += 150 * US;
	seg_in(t, .flags = TCP_ACK, .ack = B_LOCAL + 100, .tsecr = ts);
	assert_int_equal(t->c.st.rtt_samples, n0 + 1);
	assert_int_equal(t->c.st.rtt_sum_us, sum0 + 150);
	/* a duplicate ACK acks nothing new: no sample */
	t->now += 10 * US;
	seg_in(t, .flags = TCP_ACK, .ack = B_LOCAL + 100, .tsecr = ts);
	assert_int_equal(t->c.st.rtt_samples, n0 + 1);
	/* two segments, only the first timed: one sample for both ACKs */
	app_send(t, 100);
	ts = oseg(t, 0)->h.opts.ts_val;
	app_send(t, 100);
	t->now += 80 * US;
	seg_in(t, .flags = TCP_ACK, .ack = B_LOCAL + 200, .tsecr = ts);
	t->now += 5 * US;
	seg_in(t, .flags = TCP_ACK, .ack = B_LOCAL + 300, .tsecr = ts);
	assert_int_equal(t->c.srtt_us, (7 * 150 + 80) / 8);
	assert_int_equal(t->c.st.rtt_samples, n0 + 2);
	assert_int_equal(t->c.st.rtt_sum_us, sum0 + 150 + 80);
}

static void test_established_rtt_ts_echo_after_retransmit(void **state)
{
	struct tconn *t = *state;
	uint64_t n0;
	uint32_t ts;

	conn_established_opts(t, true, false, 0);
	n0 = t->c.st.rtt_samples;
	app_send(t, 100);
	step(t, t->c.t_rto - t->now); /* Karn: no timing from here */
	ts = oseg(t, 0)->h.opts.ts_val;
	t->now += 30 * MS;
	seg_in(t, .flags = TCP_ACK, .ack = B_LOCAL + 100, .tsecr = ts);
	assert_int_equal(t->c.srtt_us, 30000); /* the echo tells which */
	assert_int_equal(t->c.st.rtt_samples, n0 + 1); /* counted too */
	/* an echo under TCP_TS_RTT_MIN_TICKS old is too coarse to use */
	app_send(t, 100);
	t->c.rtt_timing = false;
	ts = oseg(t, 0)->h.opts.ts_val;
	t->now += 1 * MS;
	seg_in(t, .flags = TCP_ACK, .ack = B_LOCAL + 200, .tsecr = ts);
	assert_int_equal(t->c.srtt_us, 30000);
	assert_int_equal(t->c.st.rtt_samples, n0 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_closed_connect_sends_syn_with_options),
		T(test_syn_sent_synack_all_options_established),
		T(test_syn_sent_synack_no_options_defaults),
		T(test_syn_sent_rst_with_ack_refused),
		T(test_syn_sent_bad_ack_sends_rst_stays),
		T(test_syn_sent_syn_simultaneous_open),
		T(test_listen_syn_options_synack_answers_only_offered),
		T(test_syn_rcvd_ack_established),
		T(test_syn_rcvd_ack_with_data_delivers),
		T(test_syn_rcvd_bad_ack_sends_rst),
		T(test_syn_rcvd_syn_retransmit_resends_synack),
		T(test_established_in_order_delivered_delayed_ack),
		T(test_established_two_full_segments_ack_immediately),
		T(test_established_ooo_two_holes_sack_then_fill),
		T(test_established_ooo_merge_adjacent_and_overlap),
		T(test_established_ooo_more_than_max_ranges_kept_bounded),
		T(test_established_duplicate_trimmed_and_acked),
		T(test_established_beyond_window_trimmed),
		T(test_established_window_scaled_rounded_down),
		T(test_established_scaled_window_is_never_overrun),
		T(test_established_app_read_window_update),
		T(test_established_zero_window_reopens_on_read),
		T(test_established_rst_exact_resets),
		T(test_established_rst_in_window_challenge_ack),
		T(test_established_rst_out_of_window_ignored),
		T(test_established_syn_challenge_ack_rate_limited),
		T(test_established_ack_beyond_snd_max_acked_dropped),
		T(test_established_old_segment_dupack),
		T(test_established_paws_old_tsval_dropped),
		T(test_established_ce_echoes_ece_until_cwr),
		T(test_established_ce_flip_dctcp_acks_at_once),
		T(test_established_ce_default_classic_no_immediate_ack),
		T(test_established_tsval_ticks_milliseconds),
		T(test_established_rtt_timed_in_ns_not_ts_ticks),
		T(test_established_rtt_samples_counted_once),
		T(test_established_rtt_ts_echo_after_retransmit),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
