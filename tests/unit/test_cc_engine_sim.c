/*
 * test_cc_engine_sim.c - congestion control proven on the real stacks: the
 * TCP engines of tcp/ and the daemon's control loop (ctrl/cc_loop.c, so
 * ctrl/cc.c) through one modelled bottleneck, on the virtual clock of
 * tests/sim/ccsim.c (no threads, no real time)
 *
 * Setup of issue 9: 10 Gbit/s, 20 us propagation round trip (2 us sender
 * to switch, 8 us switch to receiver, 10 us back; 22.5 us with both
 * serializations of a full frame), K = 65 packets, 200-packet buffer,
 * --cc-interval 100 us. Scenarios: DCTCP with 4 long flows and Reno (the
 * engine's own, no ECN, as --cc reno runs it) side by side; a fifth DCTCP
 * flow joining; incast of 16 senders x 64 KB, repeated, with DCTCP and
 * Reno; const at 2 Gbit/s per flow. Every row of the printed table must
 * match tests/sim/cc_engine_snapshot.txt (TAS_SIM_UPDATE=1 rewrites it,
 * TAS_SIM_SNAPSHOT names another file), so the run is also an exact
 * regression test of the engines and the CC code.
 *
 * Columns: util = wire bytes that left the bottleneck over its capacity
 * (Ethernet framing counted: a full 1448-byte segment is 1538 bytes on the
 * wire, so payload goodput tops out at 94.1% of the line); gput = payload
 * Gbit/s at the receivers; q_p99/q_max = bottleneck occupancy at arrivals
 * (packets); drops = bottleneck drops over the whole run; jain = the
 * smallest Jain index over the windows named; rto/frtx/retx = timeouts,
 * fast retransmits, retransmitted segments of all senders.
 *
 * Simulated time is scaled for ASan: long flows run 20 ms to converge and
 * are measured over the next 200 ms (Jain over 100 ms windows, as the
 * issue asks, and over 10 ms windows for a stricter view).
 *
 * Needs: nothing (no root, no netns, no hardware); run from the repo root.
 * ASAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/ccsim.h"

#define US 1000ull
#define MS 1000000ull
#define LINE_BPS 10000000000ull
#define K_PKTS 65u
#define BUF_PKTS 200u
#define BIN_NS (100 * US)
#define NBINS 6000u /* 600 ms of bins */
#define SEED 1u
#define BASE_RTT_NS 20000ull /* propagation round trip */
#define MAX_FLOWS 16u

static struct ccsim_params params(enum cc_algo algo)
{
	struct ccsim_params p = {
		.rate_bps = LINE_BPS,
		.up_ns = 2 * US,
		.down_ns = 8 * US,
		.ack_ns = 10 * US,
		.limit = BUF_PKTS,
		.ecn_k = K_PKTS,
		.mtu = 1500,
		.ring = 512u << 10,
		.seed = SEED,
		.bin_ns = BIN_NS,
		.nbins = NBINS,
	};

	cc_config_init(&p.cc);
	p.cc.algo = algo;
	p.cc.interval_us = 100;
	return p;
}

/* ---- the summary table (also the snapshot) ---- */

struct row {
	char name[32];
	double util, gput_gbps, jain_long, jain_short;
	struct link_queue_stats q;
	uint64_t drops_all, timeouts, fast_retx, retx, corrupt, resets;
	char note[48];
};

static struct row rows[16];
static unsigned nrows;

static void row_add(const struct row *r)
{
	assert_true(nrows < sizeof(rows) / sizeof(rows[0]));
	rows[nrows++] = *r;
}

static size_t table_format(char *buf, size_t cap)
{
	size_t len = 0;
	unsigned i;

	len += (size_t)snprintf(
		buf + len, cap - len,
		"# cc_engine_sim: 10 Gbit/s, 20 us base RTT, K=%u, buffer %u, "
		"--cc-interval 100 us, seed %u\n"
		"# %-20s %6s %6s %5s %5s %6s %8s %6s %6s %4s %5s %6s  %s\n",
		K_PKTS, BUF_PKTS, SEED, "scenario", "util%", "gput", "q_p99",
		"q_max", "drops", "marked", "jainL", "jainS", "rto", "frtx",
		"retx", "note");
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		len += (size_t)snprintf(
			buf + len, cap - len,
			"%-22s %6.2f %6.3f %5u %5u %6llu %8llu %6.4f %6.4f "
			"%4llu %5llu %6llu  %s\n",
			r->name, r->util * 100, r->gput_gbps,
			r->q.p99_occupancy, r->q.max_occupancy,
			(unsigned long long)r->drops_all,
			(unsigned long long)r->q.marked, r->jain_long,
			r->jain_short, (unsigned long long)r->timeouts,
			(unsigned long long)r->fast_retx,
			(unsigned long long)r->retx, r->note);
	}
	return len;
}

/* ---- measurements ---- */

static double jain(const double *x, unsigned n)
{
	double s = 0, s2 = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		s += x[i];
		s2 += x[i] * x[i];
	}
	return s2 > 0 ? s * s / (n * s2) : 1;
}

/* Smallest Jain index of flows [0, n) over windows of @win in [from, to). */
static double jain_min(const struct ccsim *s, unsigned n, uint64_t from,
		       uint64_t to, uint64_t win)
{
	double j, m = 1, x[MAX_FLOWS];
	uint64_t t;
	unsigned i;

	for (t = from; t + win <= to; t += win) {
		for (i = 0; i < n; i++)
			x[i] = (double)ccsim_goodput(s, i, t, t + win);
		j = jain(x, n);
		if (j < m)
			m = j;
	}
	return m;
}

/* Sender counters of flows [0, n) into @r. */
static void row_senders(const struct ccsim *s, unsigned n, struct row *r)
{
	struct ccsim_flow_stats st;
	unsigned i;

	for (i = 0; i < n; i++) {
		ccsim_flow_stats(s, i, &st);
		r->timeouts += st.timeouts;
		r->fast_retx += st.fast_retrans;
		r->retx += st.retrans_segs;
		r->corrupt += st.corrupt;
		r->resets += st.resets;
	}
}

/* @n long flows of @algo, started 7 us apart: converge until @conv,
 * measure until @end. */
static struct ccsim *long_flows(const char *name, const struct ccsim_params *p,
				unsigned n, uint64_t conv, uint64_t end,
				struct row *r)
{
	struct link_queue_stats st;
	uint64_t drops_before, gput = 0;
	struct ccsim *s;
	unsigned i;

	s = ccsim_new(p);
	assert_non_null(s);
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	for (i = 0; i < n; i++) {
		ccsim_run_until(s, i * 7 * US);
		assert_int_equal(ccsim_flow_add(s, CCSIM_LONG), (int)i);
	}
	ccsim_run_until(s, conv);
	ccsim_link_stats(s, &st);
	drops_before = st.dropped;
	ccsim_link_stats_reset(s);
	ccsim_run_until(s, end);
	ccsim_link_stats(s, &r->q);
	r->drops_all = drops_before + r->q.dropped;
	r->util = (double)ccsim_wire_bytes(s, conv, end) * 8 /
		  ((double)LINE_BPS * (double)(end - conv) / 1e9);
	for (i = 0; i < n; i++)
		gput += ccsim_goodput(s, i, conv, end);
	r->gput_gbps = (double)gput * 8 / (double)(end - conv);
	r->jain_long = jain_min(s, n, conv, end, 100 * MS);
	r->jain_short = jain_min(s, n, conv, end, 10 * MS);
	row_senders(s, n, r);
	assert_int_equal(ccsim_nic_drops(s), 0);
	return s;
}

/* ---- the scenarios ---- */

static void test_dctcp_4flows_vs_reno_queue_fairness_loss(void **state)
{
	struct ccsim_params pd = params(CC_DCTCP), pr = params(CC_RENO);
	uint64_t conv = 20 * MS, end = 420 * MS;
	struct row d, r;
	struct ccsim *s;

	(void)state;
	s = long_flows("dctcp 4 flows", &pd, 4, conv, end, &d);
	snprintf(d.note, sizeof(d.note), "daemon glue, alpha %.3f",
		 ccsim_flow_cc(s, 0) ? ccsim_flow_cc(s, 0)->alpha : -1.0);
	ccsim_free(s);
	row_add(&d);
	s = long_flows("reno 4 flows", &pr, 4, conv, end, &r);
	snprintf(r.note, sizeof(r.note), "engine Reno, no ECN");
	ccsim_free(s);
	row_add(&r);
	printf("dctcp: util %.2f%% q p99 %u max %u drops %llu (after "
	       "convergence %llu) jain100ms %.4f jain10ms %.4f rto %llu\n",
	       d.util * 100, d.q.p99_occupancy, d.q.max_occupancy,
	       (unsigned long long)d.drops_all, (unsigned long long)d.q.dropped,
	       d.jain_long, d.jain_short, (unsigned long long)d.timeouts);
	printf("reno:  util %.2f%% q p99 %u max %u drops %llu rto %llu\n",
	       r.util * 100, r.q.p99_occupancy, r.q.max_occupancy,
	       (unsigned long long)r.drops_all, (unsigned long long)r.timeouts);
	assert_int_equal(d.corrupt + r.corrupt, 0);
	assert_int_equal(d.resets + r.resets, 0);
	/* the targets, after convergence */
	assert_true(d.util >= 0.95);
	assert_true(d.q.p99_occupancy <= 2 * K_PKTS);
	assert_true(d.q.max_occupancy < BUF_PKTS);
	assert_true(d.jain_long >= 0.98); /* 100 ms windows */
	assert_int_equal(d.q.dropped, 0); /* no loss after convergence */
	assert_int_equal(d.timeouts, 0);
	assert_int_equal(d.drops_all, 0); /* nor before */
	/* Missed, asserted as it is: over 10 ms windows Jain is about 0.97,
	 * not 0.98 (the issue's own 100 ms windows pass). */
	assert_true(d.jain_short >= 0.95);
	/* the contrast: Reno fills the buffer and loses */
	assert_true(r.q.max_occupancy >= BUF_PKTS);
	assert_true(r.drops_all > 0);
	assert_true(r.q.p99_occupancy > d.q.p99_occupancy);
}

static void test_dctcp_join_fifth_flow_reaches_fair_share(void **state)
{
	struct ccsim_params p = params(CC_DCTCP);
	uint64_t t0 = 30 * MS, t_end = t0 + 130 * MS, t, reached = 0;
	double rtts = 0, srtt_at = 0, x[5], y[5];
	struct ccsim_flow_stats st;
	struct ccsim *s = ccsim_new(&p);
	struct row r = { .name = "dctcp join 5th" };
	unsigned i, j;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < 4; i++) {
		ccsim_run_until(s, i * 7 * US);
		ccsim_flow_add(s, CCSIM_LONG);
	}
	ccsim_run_until(s, t0);
	j = (unsigned)ccsim_flow_add(s, CCSIM_LONG);
	ccsim_link_stats_reset(s);
	/* RTTs are counted on the joining flow's own smoothed RTT (the
	 * engine's srtt, queueing included): each 100 us step adds
	 * 100 us / srtt. Fair share is a fifth of what the five flows
	 * received over the trailing 1 ms. */
	for (t = t0 + BIN_NS; t <= t_end; t += BIN_NS) {
		ccsim_run_until(s, t);
		ccsim_flow_stats(s, j, &st);
		if (st.srtt_us)
			rtts += (double)BIN_NS / 1e3 / st.srtt_us;
		if (!reached && t >= t0 + MS) {
			uint64_t sum = 0, mine = ccsim_goodput(s, j, t - MS, t);

			for (i = 0; i < 5; i++)
				sum += ccsim_goodput(s, i, t - MS, t);
			if (mine * 50 >= sum * 8 && mine * 50 <= sum * 12) {
				reached = t - t0;
				srtt_at = rtts;
			}
		}
	}
	ccsim_link_stats(s, &r.q);
	r.drops_all = r.q.dropped;
	r.util = (double)ccsim_wire_bytes(s, t0, t_end) * 8 /
		 ((double)LINE_BPS * (double)(t_end - t0) / 1e9);
	for (i = 0; i < 5; i++) {
		x[i] = (double)ccsim_goodput(s, i, t_end - 10 * MS, t_end);
		y[i] = (double)ccsim_goodput(s, i, t_end - 100 * MS, t_end);
		r.gput_gbps += (double)ccsim_goodput(s, i, t0, t_end) * 8 /
			       (double)(t_end - t0);
	}
	r.jain_short = jain(x, 5);
	r.jain_long = jain(y, 5);
	row_senders(s, 5, &r);
	snprintf(r.note, sizeof(r.note), "fair after %.1f ms = %.0f RTTs",
		 reached / 1e6, srtt_at);
	row_add(&r);
	printf("dctcp join: 5th flow within 20%% of fair share after %.2f ms "
	       "= %.0f of its own RTTs (srtt) = %.0f base RTTs of 20 us; "
	       "last 10 ms Gbit/s:",
	       reached / 1e6, srtt_at, reached / (double)BASE_RTT_NS);
	for (i = 0; i < 5; i++)
		printf(" %.2f", x[i] * 8 / 1e7);
	printf("; last 100 ms:");
	for (i = 0; i < 5; i++)
		printf(" %.2f", y[i] * 8 / 1e8);
	printf("\n");
	assert_true(reached > 0);
	assert_true(srtt_at <= 200);
	assert_int_equal(r.drops_all, 0);
	assert_int_equal(r.timeouts, 0);
	/* the others gave way: each within 20% of fair share over the last
	 * 100 ms (the fairness window; over the last 10 ms one flow
	 * is 34% above the mean, reported in the jainS column) */
	for (i = 0; i < 5; i++) {
		double fair = (y[0] + y[1] + y[2] + y[3] + y[4]) / 5;

		assert_true(fabs(y[i] - fair) <= 0.2 * fair);
	}
	assert_true(r.jain_long >= 0.98);
	ccsim_free(s);
}

/* 16 senders x 64 KB to one receiver, @rounds times, persistent flows. */
static struct row incast(const char *name, const struct ccsim_params *p,
			 unsigned rounds)
{
	struct ccsim *s = ccsim_new(p);
	struct row r = { 0 };
	uint64_t start, total = 0, worst = 0, t_first;
	unsigned i, k;

	snprintf(r.name, sizeof(r.name), "%s", name);
	assert_non_null(s);
	for (i = 0; i < MAX_FLOWS; i++)
		assert_int_equal(ccsim_flow_add(s, 0), (int)i);
	ccsim_run_until(s, 1 * MS); /* handshakes */
	t_first = ccsim_now(s);
	ccsim_link_stats_reset(s);
	for (k = 0; k < rounds; k++) {
		start = ccsim_now(s);
		for (i = 0; i < MAX_FLOWS; i++)
			ccsim_flow_more(s, i, 65536);
		for (;;) {
			bool all = true;

			ccsim_run_until(s, ccsim_now(s) + 10 * US);
			for (i = 0; i < MAX_FLOWS; i++)
				all &= ccsim_flow_done(s, i);
			if (all)
				break;
			assert_true(ccsim_now(s) - start < 5000 * MS);
		}
		total += ccsim_now(s) - start;
		if (ccsim_now(s) - start > worst)
			worst = ccsim_now(s) - start;
		ccsim_run_until(s, ccsim_now(s) + 100 * US); /* think time */
	}
	ccsim_link_stats(s, &r.q);
	r.drops_all = r.q.dropped;
	row_senders(s, MAX_FLOWS, &r);
	/* bytes the bottleneck accepted (all leave it): longer than bins */
	r.util = (double)r.q.bytes * 8 /
		 ((double)LINE_BPS * (double)(ccsim_now(s) - t_first) / 1e9);
	r.gput_gbps = (double)rounds * MAX_FLOWS * 65536 * 8 / (double)total;
	r.jain_long = r.jain_short = 1;
	snprintf(r.note, sizeof(r.note), "%u rounds, mean %.0f us, worst %.0f",
		 rounds, total / 1e3 / rounds, worst / 1e3);
	row_add(&r);
	assert_int_equal(ccsim_nic_drops(s), 0);
	ccsim_free(s);
	return r;
}

static void test_dctcp_incast_16x64k_no_timeouts(void **state)
{
	struct ccsim_params pd = params(CC_DCTCP), pr = params(CC_RENO);
	struct row d, r;

	(void)state;
	d = incast("dctcp incast 16x64K", &pd, 20);
	r = incast("reno incast 16x64K", &pr, 20);
	printf("incast: dctcp rto %llu drops %llu q_max %u (%s); reno rto "
	       "%llu drops %llu q_max %u (%s)\n",
	       (unsigned long long)d.timeouts, (unsigned long long)d.drops_all,
	       d.q.max_occupancy, d.note, (unsigned long long)r.timeouts,
	       (unsigned long long)r.drops_all, r.q.max_occupancy, r.note);
	assert_int_equal(d.corrupt + r.corrupt, 0);
	assert_int_equal(d.resets + r.resets, 0);
	assert_int_equal(d.timeouts, 0);
	/* the bursts fit the buffer */
	assert_int_equal(d.drops_all, 0);
}

static void test_const_4flows_each_within_5pct(void **state)
{
	uint64_t conv = 5 * MS, end = 55 * MS;
	double want = 2000000000.0 / 8;
	struct ccsim *s;
	struct row r;
	unsigned i;

	struct ccsim_params p = params(CC_CONST);

	(void)state;
	p.cc.const_rate = 2000000000ull / 8; /* 2 Gbit/s each */
	s = long_flows("const 4 x 2gbit", &p, 4, conv, end, &r);
	snprintf(r.note, sizeof(r.note), "goodput/rate:");
	for (i = 0; i < 4; i++) {
		double rate = (double)ccsim_goodput(s, i, conv, end) /
			      ((double)(end - conv) / 1e9);
		size_t l = strlen(r.note);

		snprintf(r.note + l, sizeof(r.note) - l, " %.3f", rate / want);
	}
	row_add(&r);
	for (i = 0; i < 4; i++) {
		double rate = (double)ccsim_goodput(s, i, conv, end) /
			      ((double)(end - conv) / 1e9);

		assert_true(fabs(rate - want) <= 0.05 * want);
	}
	assert_int_equal(r.drops_all, 0);
	assert_int_equal(r.corrupt, 0);
	ccsim_free(s);
}

static void test_table_matches_snapshot(void **state)
{
	const char *path = getenv("TAS_SIM_SNAPSHOT");
	const char *upd = getenv("TAS_SIM_UPDATE");
	static char table[8192], old[8192];
	size_t len, n;
	FILE *f;

	(void)state;
	if (!path)
		path = "tests/sim/cc_engine_snapshot.txt";
	len = table_format(table, sizeof(table));
	printf("\n%s", table);
	fflush(stdout);
	assert_int_equal(nrows, 6);
	if (upd && !strcmp(upd, "1")) {
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(table, 1, len, f), len);
		fclose(f);
		return;
	}
	f = fopen(path, "r");
	if (!f)
		fail_msg("no snapshot %s (run from the repo root, or set "
			 "TAS_SIM_UPDATE=1 to write it)",
			 path);
	n = fread(old, 1, sizeof(old) - 1, f);
	fclose(f);
	old[n] = 0;
	if (n != len || memcmp(old, table, len))
		fail_msg("simulation differs from %s (TAS_SIM_UPDATE=1 "
			 "rewrites it after a deliberate change)",
			 path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dctcp_4flows_vs_reno_queue_fairness_loss),
		cmocka_unit_test(test_dctcp_join_fifth_flow_reaches_fair_share),
		cmocka_unit_test(test_dctcp_incast_16x64k_no_timeouts),
		cmocka_unit_test(test_const_4flows_each_within_5pct),
		cmocka_unit_test(test_table_matches_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
