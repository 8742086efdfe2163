/* test_cc.c - the congestion-control formulas of ctrl/cc.c, one interval
 * at a time: DCTCP alpha and cuts (RFC 8257), Reno (RFC 5681/3168),
 * TIMELY thresholds and gradient (SIGCOMM 2015), const, and the parser
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "ctrl/cc.h"

#define MSS 1000u

static struct cc_config cfg_of(enum cc_algo algo)
{
	struct cc_config c;

	cc_config_init(&c);
	c.algo = algo;
	return c;
}

/* One window's worth of feedback: @acked bytes, @marked of them ECE. */
static struct cc_feedback fb_win(uint64_t acked, uint64_t marked,
				 uint32_t inflight)
{
	struct cc_feedback fb = { .acked = acked,
				  .ecn_acked = marked,
				  .inflight = inflight,
				  .mss = MSS };
	return fb;
}

static void test_dctcp_alpha_constant_fraction_converges(void **state)
{
	struct cc_config c = cfg_of(CC_DCTCP);
	struct cc_flow f;
	struct cc_out o;
	double want = 1.0;
	int i;

	(void)state;
	cc_flow_init(&f, &c, MSS, &o);
	assert_int_equal(o.cwnd, 10 * MSS);
	assert_true(f.alpha == 1.0); /* RFC 8257 §3.3 */
	/* each interval acks exactly one window (= in flight), 25% marked */
	for (i = 0; i < 200; i++) {
		struct cc_feedback fb =
			fb_win(10 * MSS, 10 * MSS / 4, 10 * MSS);

		cc_update(&f, &c, &fb, &o);
		want = (15.0 / 16) * want + (1.0 / 16) * 0.25;
		if (i < 5)
			assert_true(fabs(f.alpha - want) < 1e-3);
	}
	assert_true(fabs(f.alpha - 0.25) < 1e-3);
}

static void test_dctcp_alpha_no_marks_decays_by_g(void **state)
{
	struct cc_config c = cfg_of(CC_DCTCP);
	struct cc_feedback fb;
	struct cc_flow f;
	struct cc_out o;

	(void)state;
	cc_flow_init(&f, &c, MSS, &o);
	fb = fb_win(10 * MSS, 0, 10 * MSS);
	cc_update(&f, &c, &fb, &o);
	assert_true(fabs(f.alpha - 15.0 / 16) < 1e-9);
	/* half a window: the observation window is not over, alpha waits */
	fb = fb_win(f.obs_end - f.acked_total - 1, 0, 10 * MSS);
	cc_update(&f, &c, &fb, &o);
	assert_true(fabs(f.alpha - 15.0 / 16) < 1e-9);
}

static void test_dctcp_alpha_interval_of_k_windows_takes_k_steps(void **state)
{
	struct cc_config c = cfg_of(CC_DCTCP);
	struct cc_feedback fb;
	struct cc_flow f;
	struct cc_out o;

	(void)state;
	cc_flow_init(&f, &c, MSS, &o);
	/* 3 windows of 10 MSS acked in one interval, none marked */
	fb = fb_win(30 * MSS, 0, 10 * MSS);
	f.ssthresh = 10 * MSS; /* keep the window at 10 MSS-ish */
	cc_update(&f, &c, &fb, &o);
	assert_true(fabs(f.alpha - pow(15.0 / 16, 3)) < 1e-9);
}

static void test_dctcp_ece_cuts_by_half_alpha_once_per_window(void **state)
{
	struct cc_config c = cfg_of(CC_DCTCP);
	struct cc_feedback fb;
	struct cc_flow f;
	struct cc_out o;
	uint32_t w;

	(void)state;
	cc_flow_init(&f, &c, MSS, &o);
	f.cwnd = 100 * MSS;
	f.ssthresh = 100 * MSS;
	f.alpha = 0.5;
	f.obs_end = UINT64_MAX; /* freeze alpha for this test */
	fb = fb_win(10 * MSS, MSS, 100 * MSS);
	cc_update(&f, &c, &fb, &o);
	w = 100 * MSS - (uint32_t)(100 * MSS * 0.25);
	assert_int_equal(o.cwnd, w);
	assert_int_equal(f.ssthresh, w);
	assert_int_equal(f.cuts, 1);
	/* more ECE within the same window: no second cut, no growth */
	fb = fb_win(50 * MSS, MSS, 100 * MSS);
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.cwnd, w);
	assert_int_equal(f.cuts, 1);
	/* the window that was in flight at the cut is acked: cut again */
	fb = fb_win(50 * MSS, MSS, 100 * MSS);
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(f.cuts, 2);
	assert_int_equal(o.cwnd, w - (uint32_t)(w * 0.25));
}

static void test_dctcp_no_ece_slow_start_then_additive(void **state)
{
	struct cc_config c = cfg_of(CC_DCTCP);
	struct cc_feedback fb;
	struct cc_flow f;
	struct cc_out o;

	(void)state;
	cc_flow_init(&f, &c, MSS, &o);
	fb = fb_win(10 * MSS, 0, 10 * MSS);
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.cwnd, 20 * MSS); /* slow start: +acked */
	f.ssthresh = 20 * MSS;
	fb = fb_win(20 * MSS, 0, 20 * MSS);
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.cwnd, 21 * MSS); /* one MSS per window */
	assert_int_equal(o.rate, CC_RATE_UNLIMITED);
}

static void test_dctcp_loss_halves_once_per_window(void **state)
{
	struct cc_config c = cfg_of(CC_DCTCP);
	struct cc_feedback fb;
	struct cc_flow f;
	struct cc_out o;

	(void)state;
	cc_flow_init(&f, &c, MSS, &o);
	f.cwnd = 80 * MSS;
	fb = fb_win(10 * MSS, 0, 80 * MSS);
	fb.fast_retx = 3;
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.cwnd, 40 * MSS);
	assert_int_equal(f.ssthresh, 40 * MSS);
	fb.acked = 20 * MSS; /* same window, more retransmissions */
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.cwnd, 40 * MSS);
	assert_int_equal(f.loss_cuts, 1);
}

static void test_dctcp_timeout_one_mss_ssthresh_half_flight(void **state)
{
	struct cc_config c = cfg_of(CC_DCTCP);
	struct cc_feedback fb;
	struct cc_flow f;
	struct cc_out o;

	(void)state;
	cc_flow_init(&f, &c, MSS, &o);
	f.cwnd = 64 * MSS;
	fb = fb_win(0, 0, 60 * MSS);
	fb.timeouts = 1;
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.cwnd, MSS);
	assert_int_equal(f.ssthresh, 30 * MSS);
	/* recovery: slow start back up to ssthresh, then additive */
	fb = fb_win(MSS, 0, MSS);
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.cwnd, 2 * MSS); /* slow start per MSS acked */
	fb = fb_win(70 * MSS, 0, 2 * MSS);
	cc_update(&f, &c, &fb, &o);
	assert_true(o.cwnd > 30 * MSS);
}

static void test_reno_ece_halves_like_loss(void **state)
{
	struct cc_config c = cfg_of(CC_RENO);
	struct cc_feedback fb;
	struct cc_flow f;
	struct cc_out o;

	(void)state;
	cc_flow_init(&f, &c, MSS, &o);
	f.cwnd = 50 * MSS;
	fb = fb_win(10 * MSS, MSS, 50 * MSS);
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.cwnd, 25 * MSS);
	fb = fb_win(25 * MSS, 0, 25 * MSS);
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.cwnd, 26 * MSS);
}

/* TIMELY with one RTT per min RTT, the cadence of Algorithm 1: the
 * gradient is the RTT difference over min_rtt exactly. */
static struct cc_config timely_cfg(void)
{
	struct cc_config c = cfg_of(CC_TIMELY);

	c.interval_us = c.timely.min_rtt_us;
	return c;
}

static struct cc_flow timely_at(struct cc_config *c, uint64_t rate,
				uint32_t prev_rtt)
{
	struct cc_flow f;
	struct cc_out o;

	cc_flow_init(&f, c, MSS, &o);
	f.rate = rate;
	f.prev_rtt_us = prev_rtt;
	return f;
}

static void test_timely_below_t_low_adds_delta(void **state)
{
	struct cc_config c = timely_cfg();
	struct cc_flow f = timely_at(&c, 500000000, 40);
	struct cc_feedback fb = { .rtt_last_us = 45, .mss = MSS };
	struct cc_out o;

	(void)state;
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.rate, 500000000 + c.timely.delta);
	assert_int_equal(o.cwnd, CC_CWND_UNLIMITED);
}

static void test_timely_above_t_high_cuts_by_formula(void **state)
{
	struct cc_config c = timely_cfg();
	struct cc_flow f = timely_at(&c, 1000000000, 900);
	struct cc_feedback fb = { .rtt_last_us = 1000, .mss = MSS };
	struct cc_out o;
	double want = 1e9 * (1 - 0.8 * (1 - 500.0 / 1000));

	(void)state;
	cc_update(&f, &c, &fb, &o);
	assert_true(fabs((double)o.rate - want) <= 1);
}

static void test_timely_positive_gradient_cuts_negative_adds(void **state)
{
	struct cc_config c = timely_cfg();
	struct cc_flow f = timely_at(&c, 1000000000, 100);
	struct cc_feedback fb = { .rtt_last_us = 104, .mss = MSS };
	struct cc_out o;
	double grad = 0.875 * 4 / 20.0;

	(void)state;
	cc_update(&f, &c, &fb, &o);
	assert_true(fabs(f.gradient - grad) < 1e-9);
	assert_true(fabs((double)o.rate - 1e9 * (1 - 0.8 * grad)) <= 1);
	/* falling RTT: gradient turns negative, additive increase */
	fb.rtt_last_us = 90;
	cc_update(&f, &c, &fb, &o);
	assert_true(f.gradient < 0);
	assert_int_equal(o.rate,
			 (uint64_t)(1e9 * (1 - 0.8 * grad)) + c.timely.delta);
}

static void test_timely_hai_after_n_negative_gradients(void **state)
{
	struct cc_config c = timely_cfg();
	struct cc_flow f = timely_at(&c, 100000000, 200);
	struct cc_feedback fb = { .mss = MSS };
	struct cc_out o;
	uint64_t before;
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++) {
		fb.rtt_last_us = 199 - i;
		before = f.rate;
		cc_update(&f, &c, &fb, &o);
		assert_int_equal(o.rate, before + c.timely.delta);
	}
	fb.rtt_last_us = 190;
	before = f.rate;
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.rate, before + 5 * c.timely.delta);
}

static void test_timely_rate_clamped_to_min_and_max(void **state)
{
	struct cc_config c = timely_cfg();
	struct cc_flow f = timely_at(&c, c.timely.max_rate, 30);
	struct cc_feedback fb = { .rtt_last_us = 35, .mss = MSS };
	struct cc_out o;

	(void)state;
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.rate, c.timely.max_rate);
	f.prev_rtt_us = 100;
	fb.rtt_last_us = 400; /* gradient 13: the product goes negative */
	cc_update(&f, &c, &fb, &o);
	assert_int_equal(o.rate, c.timely.min_rate);
}

static void test_timely_gradient_normalized_by_sample_span(void **state)
{
	struct cc_config c = cfg_of(CC_TIMELY);
	struct cc_flow f;
	struct cc_feedback fb = { .rtt_last_us = 104, .mss = MSS };
	struct cc_out o;
	double diff = 0.875 * 4, rate;

	(void)state;
	c.interval_us = 100; /* five min RTTs between samples */
	f = timely_at(&c, 1000000000, 100);
	cc_update(&f, &c, &fb, &o);
	assert_true(fabs(f.gradient - diff / 100) < 1e-9);
	rate = 1e9 * (1 - 0.8 * diff / 100);
	assert_true(fabs((double)o.rate - rate) <= 1);
	/* an interval without an RTT: the rate holds, the next difference
	 * spans two intervals */
	fb.rtt_last_us = 0;
	cc_update(&f, &c, &fb, &o);
	assert_true(fabs((double)o.rate - rate) <= 1);
	fb.rtt_last_us = 112;
	cc_update(&f, &c, &fb, &o);
	diff = 0.125 * diff + 0.875 * 8;
	assert_true(fabs(f.gradient - diff / 200) < 1e-9);
	/* intervals shorter than min_rtt: Algorithm 1's min_rtt again */
	c.interval_us = 5;
	fb.rtt_last_us = 116;
	cc_update(&f, &c, &fb, &o);
	diff = 0.125 * diff + 0.875 * 4;
	assert_true(fabs(f.gradient - diff / 20) < 1e-9);
}

static void test_timely_uses_interval_mean_rtt(void **state)
{
	struct cc_config c = timely_cfg();
	struct cc_flow f = timely_at(&c, 1000000000, 60);
	/* the last ACK says below T_low, the interval's mean says rising */
	struct cc_feedback fb = { .rtt_last_us = 40,
				  .rtt_sum_us = 4 * 70,
				  .rtt_count = 4,
				  .mss = MSS };
	struct cc_out o;
	double grad = 0.875 * 10 / 20.0;

	(void)state;
	cc_update(&f, &c, &fb, &o);
	assert_true(fabs(f.prev_rtt_us - 70) < 1e-9);
	assert_true(fabs(f.gradient - grad) < 1e-9);
	assert_true(fabs((double)o.rate - 1e9 * (1 - 0.8 * grad)) <= 1);
	/* the mean keeps its fraction: 70.25 us */
	fb.rtt_sum_us = 281;
	cc_update(&f, &c, &fb, &o);
	assert_true(fabs(f.prev_rtt_us - 70.25) < 1e-9);
}

static void test_const_rate_is_exact(void **state)
{
	struct cc_config c = cfg_of(CC_CONST);
	struct cc_feedback fb = { .acked = 12345,
				  .ecn_acked = 12345,
				  .fast_retx = 9,
				  .timeouts = 1,
				  .rtt_last_us = 9999,
				  .mss = MSS };
	struct cc_flow f;
	struct cc_out o;
	int i;

	(void)state;
	assert_int_equal(cc_parse("const:2.5gbit", &c, (char[CC_ERR_LEN]){ 0 }),
			 0);
	cc_flow_init(&f, &c, MSS, &o);
	assert_int_equal(o.rate, 312500000);
	for (i = 0; i < 10; i++) {
		cc_update(&f, &c, &fb, &o);
		assert_int_equal(o.rate, 312500000);
		assert_int_equal(o.cwnd, CC_CWND_UNLIMITED);
	}
}

static void test_parse_good_specs_set_algo_and_params(void **state)
{
	char err[CC_ERR_LEN];
	struct cc_config c;

	(void)state;
	cc_config_init(&c);
	assert_int_equal(c.algo, CC_DCTCP);
	assert_int_equal(cc_parse_interval("2ms", &c, err), 0);
	assert_int_equal(c.interval_us, 2000);
	assert_int_equal(cc_parse("reno", &c, err), 0);
	assert_int_equal(c.algo, CC_RENO);
	assert_int_equal(cc_parse("const", &c, err), 0);
	assert_int_equal(c.const_rate, 125000000);
	assert_int_equal(cc_parse("const:500mbit", &c, err), 0);
	assert_int_equal(c.const_rate, 62500000);
	assert_int_equal(cc_parse("timely:t_low=40us,t_high=1ms,beta=0.5,"
				  "alpha=0.3,delta=20mbit,hai=3,min_rtt=10us",
				  &c, err),
			 0);
	assert_int_equal(c.algo, CC_TIMELY);
	assert_int_equal(c.timely.t_low_us, 40);
	assert_int_equal(c.timely.t_high_us, 1000);
	assert_true(c.timely.beta == 0.5 && c.timely.alpha == 0.3);
	assert_int_equal(c.timely.delta, 2500000);
	assert_int_equal(c.timely.hai_n, 3);
	assert_int_equal(c.timely.min_rtt_us, 10);
	assert_int_equal(cc_parse("dctcp", &c, err), 0);
	assert_int_equal(c.algo, CC_DCTCP);
	assert_int_equal(c.interval_us, 2000); /* untouched by cc_parse */
	assert_string_equal(cc_algo_name(CC_TIMELY), "timely");
}

static void test_parse_bad_specs_rejected_with_one_line(void **state)
{
	static const char *bad[] = { "",
				     "cubic",
				     "dctcpx",
				     "dctcp:1",
				     "reno:",
				     "const:",
				     "const:fast",
				     "const:10",
				     "const:-1gbit",
				     "timely:t_low",
				     "timely:t_low=x",
				     "timely:beta=2",
				     "timely:t_low=600us",
				     "timely:bogus=1" };
	struct cc_config c, before;
	char err[CC_ERR_LEN];
	size_t i;

	(void)state;
	cc_config_init(&c);
	before = c;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(cc_parse(bad[i], &c, err), -EINVAL);
		assert_true(strlen(err) > 5);
		assert_null(strchr(err, '\n'));
		assert_memory_equal(&c, &before, sizeof(c));
	}
	assert_int_equal(cc_parse_interval("0", &c, err), -EINVAL);
	assert_int_equal(cc_parse_interval("5", &c, err), -EINVAL);
	assert_int_equal(cc_parse_interval("2s", &c, err), -EINVAL);
	assert_non_null(strstr(err, "--cc-interval"));
}

/* The control loop skips flows with no ACKs, losses or timeouts since the
 * last interval where cc_quiet_is_noop() says so; that is only right if
 * such an update would change nothing, whatever RTT and in-flight values
 * the slot holds. */
static void test_quiet_interval_changes_nothing_where_skipped(void **state)
{
	static const enum cc_algo algos[] = { CC_DCTCP, CC_RENO, CC_CONST,
					      CC_TIMELY };

	(void)state;
	for (size_t k = 0; k < sizeof(algos) / sizeof(algos[0]); k++) {
		struct cc_config c = cfg_of(algos[k]);
		struct cc_flow f, f0;
		struct cc_out o, o0;
		struct cc_feedback quiet = { .mss = MSS,
					     .inflight = 7 * MSS,
					     .rtt_ewma_us = 40 };

		cc_flow_init(&f, &c, MSS, &o);
		for (int i = 0; i < 20; i++) {
			struct cc_feedback fb =
				fb_win(10 * MSS, i % 3 ? 0 : MSS, 10 * MSS);

			fb.rtt_last_us = fb.rtt_min_us = 30 + (uint32_t)i;
			fb.rtt_ewma_us = 35;
			fb.rtt_count = 2;
			fb.rtt_sum_us = 2 * fb.rtt_last_us;
			if (i == 7)
				fb.fast_retx = 1;
			cc_update(&f, &c, &fb, &o);
		}
		f0 = f;
		o0 = o;
		for (int i = 0; i < 5; i++)
			cc_update(&f, &c, &quiet, &o);
		if (cc_quiet_is_noop(algos[k])) {
			assert_memory_equal(&f, &f0, sizeof(f));
			assert_int_equal(o.cwnd, o0.cwnd);
			assert_int_equal(o.rate, o0.rate);
		} else {
			/* TIMELY counts intervals without an RTT */
			assert_int_equal(algos[k], CC_TIMELY);
			assert_memory_not_equal(&f, &f0, sizeof(f));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_quiet_interval_changes_nothing_where_skipped),
		cmocka_unit_test(test_dctcp_alpha_constant_fraction_converges),
		cmocka_unit_test(test_dctcp_alpha_no_marks_decays_by_g),
		cmocka_unit_test(
			test_dctcp_alpha_interval_of_k_windows_takes_k_steps),
		cmocka_unit_test(
			test_dctcp_ece_cuts_by_half_alpha_once_per_window),
		cmocka_unit_test(test_dctcp_no_ece_slow_start_then_additive),
		cmocka_unit_test(test_dctcp_loss_halves_once_per_window),
		cmocka_unit_test(
			test_dctcp_timeout_one_mss_ssthresh_half_flight),
		cmocka_unit_test(test_reno_ece_halves_like_loss),
		cmocka_unit_test(test_timely_below_t_low_adds_delta),
		cmocka_unit_test(test_timely_above_t_high_cuts_by_formula),
		cmocka_unit_test(
			test_timely_positive_gradient_cuts_negative_adds),
		cmocka_unit_test(test_timely_hai_after_n_negative_gradients),
		cmocka_unit_test(test_timely_rate_clamped_to_min_and_max),
		cmocka_unit_test(
			test_timely_gradient_normalized_by_sample_span),
		cmocka_unit_test(test_timely_uses_interval_mean_rtt),
		cmocka_unit_test(test_const_rate_is_exact),
		cmocka_unit_test(test_parse_good_specs_set_algo_and_params),
		cmocka_unit_test(test_parse_bad_specs_rejected_with_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
