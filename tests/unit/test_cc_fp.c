/* test_cc_fp.c - the daemon's RTT feedback path end to end: a real
 * fast-path core (tcp/fp_cc.c, on fp_harness's in-memory NIC) reports the
 * engine's RTT samples in its CC slot, and the real control loop
 * (ctrl/cc_loop.c) hands TIMELY (ctrl/cc.c) the mean of each interval's
 * samples
 *
 * The harness's clock is stepped by the test, so every sample is exact:
 * the app sends, the peer acknowledges rtt_us later. TIMELY's prev_rtt_us
 * is the RTT it used for the last interval. RTTs stay below T_low, so
 * TIMELY only raises the rate and pacing never holds a send back.
 *
 * Needs: nothing (no root, no netns, no hardware). ASAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl/cc_loop.h"
#include "tests/unit/fp_harness.h"

#define BUF 16384
#define MAX_FLOWS 16 /* fp_harness's sh.max_flows */

struct env {
	struct fph h;
	struct fp_core *cores[1];
	struct cc_loop l;
	struct fp_cc_slot *sl; /* the established flow's */
	uint32_t idx;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct cc_config cfg;
	uint32_t hi;

	assert_non_null(e);
	assert_int_equal(fph_init(&e->h, BUF), 0);
	e->h.sh.cc_external = true; /* as ctrl/main.c sets it for --cc */
	assert_true(fph_establish(&e->h));
	e->idx = TAS_FLOW_IDX(e->h.flow);
	e->sl = &fp_core_cc_slots(e->h.core, &hi)[e->idx];
	assert_true(hi > e->idx);
	cc_config_init(&cfg);
	cfg.algo = CC_TIMELY;
	e->cores[0] = e->h.core;
	assert_int_equal(cc_loop_init(&e->l, &cfg, e->cores, 1, MAX_FLOWS), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	cc_loop_fini(&e->l);
	fph_fini(&e->h);
	free(e);
	return 0;
}

/* The app sends @len bytes; the peer acknowledges them @rtt_us later. */
static void exchange(struct env *e, uint32_t len, uint32_t rtt_us)
{
	struct tas_cmd c = { .type = TAS_CMD_TX,
			     .flow = e->h.flow,
			     .len = len };
	struct tcp_hdr t = { .sport = FPH_PEER_PORT,
			     .dport = FPH_PORT,
			     .seq = e->h.peer_seq,
			     .flags = TCP_ACK,
			     .wnd = 65535 };
	unsigned sent = e->h.ntx;

	assert_int_equal(tas_ring_enqueue_burst(&e->h.atx, &c, 1), 1);
	fph_poll(&e->h, 1000);
	assert_true(e->h.ntx > sent); /* the data went out in this poll */
	e->h.our_seq += len;
	t.ack = e->h.our_seq;
	fph_inject(&e->h, &t, NULL, 0);
	fph_poll(&e->h, (uint64_t)rtt_us * 1000);
	fph_poll(&e->h, 1000); /* an idle poll: nothing counts twice */
}

static uint32_t slot_samples(const struct env *e)
{
	return atomic_load(&e->sl->rtt_samples);
}

static uint64_t slot_sum(const struct env *e)
{
	return atomic_load(&e->sl->rtt_sum_us);
}

/* TIMELY's RTT for the interval cc_loop_run just ran. */
static double interval_rtt(struct env *e)
{
	const struct cc_flow *f;

	cc_loop_run(&e->l);
	f = cc_loop_flow(&e->l, 0, e->idx);
	assert_non_null(f);
	assert_int_equal(f->algo, CC_TIMELY);
	return f->prev_rtt_us;
}

static void test_established_handshake_sample_not_reported(void **state)
{
	struct env *e = *state;

	/* the engine timed the SYN-ACK (1 us), before the flow's CC began */
	assert_int_equal(atomic_load(&e->sl->srtt_us), 1);
	assert_int_equal(slot_samples(e), 0);
	assert_int_equal(slot_sum(e), 0);
	assert_int_equal(atomic_load(&e->sl->rtt_seq) % 2, 0);
}

static void test_established_each_sample_reported_once(void **state)
{
	struct env *e = *state;
	struct tcp_hdr dup = { .sport = FPH_PEER_PORT,
			       .dport = FPH_PORT,
			       .seq = e->h.peer_seq,
			       .flags = TCP_ACK,
			       .wnd = 65535 };

	exchange(e, 1000, 20);
	assert_int_equal(slot_samples(e), 1);
	assert_int_equal(slot_sum(e), 20);
	exchange(e, 500, 30);
	assert_int_equal(slot_samples(e), 2);
	assert_int_equal(slot_sum(e), 50);
	/* polls with nothing new, and a duplicate ACK: no sample */
	fph_poll(&e->h, 5000);
	fph_poll(&e->h, 5000);
	dup.ack = e->h.our_seq;
	fph_inject(&e->h, &dup, NULL, 0);
	fph_poll(&e->h, 1000);
	assert_int_equal(slot_samples(e), 2);
	assert_int_equal(slot_sum(e), 50);
	assert_int_equal(atomic_load(&e->sl->rtt_seq) % 2, 0);
}

static void test_loop_timely_gets_interval_mean(void **state)
{
	struct env *e = *state;

	exchange(e, 1000, 20);
	exchange(e, 1000, 30);
	exchange(e, 1000, 40);
	assert_true(interval_rtt(e) == 30.0); /* (20 + 30 + 40) / 3 */
	/* the next interval: its own samples only, not the running mean */
	exchange(e, 1000, 44);
	exchange(e, 1000, 47);
	assert_true(interval_rtt(e) == 45.5);
	exchange(e, 1000, 10);
	assert_true(interval_rtt(e) == 10.0);
}

/* An interval without samples has no RTT: TIMELY skips it (rtt_gap) rather
 * than taking the smoothed RTT for a new measurement. */
static void test_loop_interval_without_samples_has_no_rtt(void **state)
{
	struct env *e = *state;
	const struct cc_flow *f;

	exchange(e, 1000, 20);
	assert_true(interval_rtt(e) == 20.0);
	assert_int_not_equal(atomic_load(&e->sl->srtt_us), 20);
	fph_poll(&e->h, 100000);
	assert_true(interval_rtt(e) == 20.0);
	f = cc_loop_flow(&e->l, 0, e->idx);
	assert_int_equal(f->rtt_gap, 1);
	exchange(e, 1000, 30);
	assert_true(interval_rtt(e) == 30.0);
	assert_int_equal(f->rtt_gap, 0);
}

/* A read while the core is between its stores (odd sequence) is not
 * used; the samples count in the next interval instead of being lost. */
static void test_loop_pair_being_written_waits_for_next_interval(void **state)
{
	struct env *e = *state;
	uint32_t q;

	exchange(e, 1000, 20);
	assert_true(interval_rtt(e) == 20.0);
	exchange(e, 1000, 42);
	exchange(e, 1000, 46);
	q = atomic_load(&e->sl->rtt_seq);
	atomic_store(&e->sl->rtt_seq, q + 1); /* as in cc_rtt_publish */
	assert_true(interval_rtt(e) == 20.0); /* no RTT this interval */
	atomic_store(&e->sl->rtt_seq, q + 2);
	assert_true(interval_rtt(e) == 44.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_established_handshake_sample_not_reported),
		T(test_established_each_sample_reported_once),
		T(test_loop_timely_gets_interval_mean),
		T(test_loop_interval_without_samples_has_no_rtt),
		T(test_loop_pair_being_written_waits_for_next_interval),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
