/* cc.c - congestion-control algorithms: DCTCP, TIMELY, const and Reno as
 * pure per-interval updates of a per-flow state
 *
 * Follows: RFC 8257 (DCTCP: alpha with g = 1/16 once per window of data,
 * cut by alpha/2 once per window with ECE, loss as in RFC 5681), RFC 5681
 * (slow start, congestion avoidance, FlightSize/2 and a 1 MSS loss window
 * after RTO), RFC 3168 §6.1.2 (Reno: ECE halves the window once per
 * window), RFC 3465 (window growth by bytes acked), TIMELY (Mittal et al.,
 * "TIMELY: RTT-based Congestion Control for the Datacenter", SIGCOMM 2015,
 * Algorithm 1 with its HAI mode; defaults from its evaluation: T_low 50 us,
 * T_high 500 us, delta 10 Mbit/s, beta 0.8, alpha 0.875, min RTT 20 us,
 * N = 5).
 *
 * Interval granularity: the control thread calls cc_update() every
 * --cc-interval, not per ACK. "Once per window" is therefore measured in
 * bytes acked: a window ends when the bytes acked since it began reach the
 * bytes in flight when it began (the RFC's snd_nxt at the window start).
 * When an interval spans k windows, alpha takes the k steps at once
 * ((1-g)^k), and the window is cut at most once.
 *
 * Known gaps: the RTO timer and its exponential backoff belong to the
 * engine (tcp_timer.c); this code only sets the loss window. No RFC 7661
 * restraint on growth while application-limited. TIMELY is run once per
 * interval, not per completion event, on the interval's mean RTT where
 * the fast path reports its samples (rtt_sum_us, rtt_count) and on its
 * latest sample otherwise (the daemon's fast path reports only SRTT
 * today), and reacts to timeouts by halving the rate (the paper leaves
 * loss to the transport).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl/cc.h"
#include "verbs/nic_link.h"

#define CC_CWND_MAX (1u << 30) /* bytes; far above any datacenter BDP */
#define CC_ALPHA_STEPS_MAX 64  /* (1-g)^64 < 2e-2 at g = 1/16 */
#define CC_INTERVAL_MAX_US 1000000ull

/**
 * cc_config_init - the defaults: DCTCP, CC_INTERVAL_DEFAULT_US, TIMELY's
 * paper parameters, const at 1 Gbit/s
 * @cfg: filled
 */
void cc_config_init(struct cc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->algo = CC_DCTCP;
	cfg->interval_us = CC_INTERVAL_DEFAULT_US;
	cfg->const_rate = 1000000000ull / 8;
	cfg->init_cwnd_segs = CC_INIT_CWND_SEGS;
	cfg->dctcp_g_shift = 4;
	cfg->dctcp_alpha_init = 1.0;
	cfg->timely.t_low_us = 50;
	cfg->timely.t_high_us = 500;
	cfg->timely.delta = 10000000ull / 8;
	cfg->timely.beta = 0.8;
	cfg->timely.alpha = 0.875;
	cfg->timely.min_rtt_us = 20;
	cfg->timely.hai_n = 5;
	cfg->timely.min_rate = 10000000ull / 8;
	cfg->timely.max_rate = 10000000000ull / 8;
}

/**
 * cc_algo_name - "dctcp", "timely", "const" or "reno"
 * @algo: the algorithm
 *
 * Return: a static string.
 */
const char *cc_algo_name(enum cc_algo algo)
{
	switch (algo) {
	case CC_DCTCP:
		return "dctcp";
	case CC_TIMELY:
		return "timely";
	case CC_CONST:
		return "const";
	case CC_RENO:
		return "reno";
	}
	return "?";
}

static bool cc_parse_frac(const char *v, double *out)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(x) || x <= 0 || x > 1)
		return false;
	*out = x;
	return true;
}

static bool cc_parse_us(const char *v, uint32_t *out)
{
	uint64_t ns;

	if (!nic_link_parse_dur(v, &ns) || ns < 1000 || ns / 1000 > UINT32_MAX)
		return false;
	*out = (uint32_t)(ns / 1000);
	return true;
}

static bool cc_parse_Bps(const char *v, uint64_t *out)
{
	uint64_t bps;

	if (!nic_link_parse_rate(v, &bps) || bps < 8)
		return false;
	*out = bps / 8;
	return true;
}

/* "k=v,k=v" for TIMELY into @t. */
static int cc_parse_timely(const char *opts, struct cc_timely_params *t,
			   char *err)
{
	char buf[CC_ERR_LEN], *tok, *save = NULL;

	if (strlen(opts) >= sizeof(buf)) {
		snprintf(err, CC_ERR_LEN, "--cc: timely options too long");
		return -EINVAL;
	}
	strcpy(buf, opts);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *k = tok, *v;
		uint64_t n;
		char *end;
		bool ok;

		if (!eq) {
			snprintf(err, CC_ERR_LEN,
				 "--cc: bad timely option \"%.64s\" (want "
				 "key=value)",
				 tok);
			return -EINVAL;
		}
		*eq = '\0';
		v = eq + 1;
		if (!strcmp(k, "t_low"))
			ok = cc_parse_us(v, &t->t_low_us);
		else if (!strcmp(k, "t_high"))
			ok = cc_parse_us(v, &t->t_high_us);
		else if (!strcmp(k, "min_rtt"))
			ok = cc_parse_us(v, &t->min_rtt_us);
		else if (!strcmp(k, "delta"))
			ok = cc_parse_Bps(v, &t->delta);
		else if (!strcmp(k, "min_rate"))
			ok = cc_parse_Bps(v, &t->min_rate);
		else if (!strcmp(k, "max_rate"))
			ok = cc_parse_Bps(v, &t->max_rate);
		else if (!strcmp(k, "beta"))
			ok = cc_parse_frac(v, &t->beta);
		else if (!strcmp(k, "alpha"))
			ok = cc_parse_frac(v, &t->alpha);
		else if (!strcmp(k, "hai")) {
			errno = 0;
			n = strtoull(v, &end, 10);
			ok = !errno && *v >= '0' && *v <= '9' && !*end &&
			     n >= 1 && n <= 1000;
			t->hai_n = (uint32_t)n;
		} else {
			*eq = '=';
			snprintf(err, CC_ERR_LEN,
				 "--cc: unknown timely option \"%.64s\" (want "
				 "t_low, t_high, min_rtt, delta, min_rate, "
				 "max_rate, beta, alpha or hai)",
				 tok);
			return -EINVAL;
		}
		if (!ok) {
			*eq = '=';
			snprintf(err, CC_ERR_LEN,
				 "--cc: bad timely value \"%.64s\"", tok);
			return -EINVAL;
		}
	}
	if (t->t_low_us >= t->t_high_us) {
		snprintf(err, CC_ERR_LEN,
			 "--cc: timely t_low (%u us) must be below t_high "
			 "(%u us)",
			 t->t_low_us, t->t_high_us);
		return -EINVAL;
	}
	if (t->min_rate > t->max_rate) {
		snprintf(err, CC_ERR_LEN,
			 "--cc: timely min_rate must not exceed max_rate");
		return -EINVAL;
	}
	return 0;
}

/**
 * cc_parse - parse a --cc value into @out
 * @spec: "dctcp", "reno", "const[:RATE]" or "timely[:k=v,...]"
 * @out: initialized with cc_config_init(); interval_us is kept
 * @err: one line on failure (CC_ERR_LEN bytes)
 *
 * Return: 0, or -EINVAL with @err filled and @out unchanged.
 */
int cc_parse(const char *spec, struct cc_config *out, char *err)
{
	struct cc_config c = *out;
	const char *colon;
	size_t n;

	if (!spec || !*spec) {
		snprintf(err, CC_ERR_LEN,
			 "--cc: empty (want dctcp, timely, const[:RATE] or "
			 "reno)");
		return -EINVAL;
	}
	colon = strchr(spec, ':');
	n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (n == 5 && !strncmp(spec, "dctcp", n) && !colon) {
		c.algo = CC_DCTCP;
	} else if (n == 4 && !strncmp(spec, "reno", n) && !colon) {
		c.algo = CC_RENO;
	} else if (n == 5 && !strncmp(spec, "const", n)) {
		c.algo = CC_CONST;
		if (colon && !cc_parse_Bps(colon + 1, &c.const_rate)) {
			snprintf(err, CC_ERR_LEN,
				 "--cc: bad rate \"%.64s\" (want e.g. 1gbit "
				 "or 500mbit)",
				 colon + 1);
			return -EINVAL;
		}
	} else if (n == 6 && !strncmp(spec, "timely", n)) {
		c.algo = CC_TIMELY;
		if (colon && cc_parse_timely(colon + 1, &c.timely, err))
			return -EINVAL;
	} else {
		snprintf(err, CC_ERR_LEN,
			 "--cc: unknown \"%.64s\" (want dctcp, timely[:k=v,"
			 "...], const[:RATE] or reno)",
			 spec);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

/**
 * cc_parse_interval - parse a --cc-interval value such as "100us", "1ms"
 * @dur: the duration, 1 us .. 1 s
 * @out: its interval_us is set
 * @err: one line on failure (CC_ERR_LEN bytes)
 *
 * Return: 0, or -EINVAL with @err filled.
 */
int cc_parse_interval(const char *dur, struct cc_config *out, char *err)
{
	uint64_t ns;

	if (!nic_link_parse_dur(dur, &ns) || ns < 1000 ||
	    ns / 1000 > CC_INTERVAL_MAX_US) {
		snprintf(err, CC_ERR_LEN,
			 "--cc-interval: bad duration \"%.64s\" (want 1us "
			 "to 1s, e.g. 100us or 2ms)",
			 dur ? dur : "");
		return -EINVAL;
	}
	out->interval_us = ns / 1000;
	return 0;
}

/**
 * cc_flow_init - start a flow's congestion state
 * @f: the state
 * @cfg: the configuration
 * @mss: the flow's MSS in bytes
 * @out: what to enforce before the first interval
 */
void cc_flow_init(struct cc_flow *f, const struct cc_config *cfg, uint32_t mss,
		  struct cc_out *out)
{
	memset(f, 0, sizeof(*f));
	f->algo = cfg->algo;
	f->mss = mss ? mss : 536;
	f->cwnd = cfg->init_cwnd_segs * f->mss;
	f->ssthresh = CC_CWND_MAX;
	f->alpha = cfg->dctcp_alpha_init;
	f->obs_end = f->cwnd;
	out->cwnd = CC_CWND_UNLIMITED;
	out->rate = CC_RATE_UNLIMITED;
	switch (f->algo) {
	case CC_DCTCP:
	case CC_RENO:
		out->cwnd = f->cwnd;
		break;
	case CC_TIMELY:
		f->rate = cfg->timely.max_rate;
		out->rate = f->rate;
		break;
	case CC_CONST:
		f->rate = cfg->const_rate;
		out->rate = f->rate;
		break;
	}
}

static uint32_t cc_min_cwnd(const struct cc_flow *f)
{
	return CC_MIN_CWND_SEGS * f->mss;
}

/* RFC 8257 §3.3 step 4, taken k times for the k windows the data since
 * the observation window began spans. */
static void cc_dctcp_alpha(struct cc_flow *f, const struct cc_config *cfg,
			   const struct cc_feedback *fb)
{
	uint64_t win = f->obs_end - f->obs_start, k;
	double g = 1.0 / (double)(1u << cfg->dctcp_g_shift), keep, frac;

	f->obs_acked += fb->acked;
	f->obs_marked += fb->ecn_acked;
	if (f->acked_total < f->obs_end || !f->obs_acked)
		return;
	if (win < f->mss)
		win = f->mss;
	k = f->obs_acked / win;
	if (k < 1)
		k = 1;
	if (k > CC_ALPHA_STEPS_MAX)
		k = CC_ALPHA_STEPS_MAX;
	frac = (double)f->obs_marked / (double)f->obs_acked;
	if (frac > 1)
		frac = 1;
	keep = pow(1 - g, (double)k);
	f->alpha = keep * f->alpha + (1 - keep) * frac;
	f->obs_start = f->acked_total;
	f->obs_end = f->acked_total +
		     (fb->inflight > f->mss ? fb->inflight : f->mss);
	f->obs_acked = 0;
	f->obs_marked = 0;
}

/* The next cut waits until what is in flight now has been acked. */
static void cc_arm_cut(struct cc_flow *f, const struct cc_feedback *fb)
{
	f->cut_end = f->acked_total +
		     (fb->inflight > f->mss ? fb->inflight : f->mss);
}

/* Loss reactions shared by DCTCP and Reno; true when one applied (or the
 * flow is still recovering from one), so the window does not grow. */
static bool cc_window_loss(struct cc_flow *f, const struct cc_feedback *fb)
{
	uint32_t half;

	if (fb->timeouts) {
		/* RFC 5681 eq. 4 and the loss window of §3.1 */
		half = fb->inflight / 2;
		f->ssthresh = half > cc_min_cwnd(f) ? half : cc_min_cwnd(f);
		f->cwnd = f->mss;
		f->rto_cuts++;
		cc_arm_cut(f, fb);
		return true;
	}
	if (!fb->fast_retx)
		return false;
	if (f->acked_total >= f->cut_end) {
		half = f->cwnd / 2;
		f->ssthresh = half > cc_min_cwnd(f) ? half : cc_min_cwnd(f);
		f->cwnd = f->ssthresh;
		f->loss_cuts++;
		cc_arm_cut(f, fb);
	}
	return true;
}

/* RFC 5681 §3.1 with RFC 3465 byte counting, over an interval. */
static void cc_window_grow(struct cc_flow *f, uint64_t acked)
{
	uint64_t cwnd = f->cwnd, ss;

	if (cwnd < f->ssthresh) {
		ss = f->ssthresh - cwnd;
		if (ss > acked)
			ss = acked;
		cwnd += ss;
		acked -= ss;
	}
	if (acked && cwnd)
		cwnd += (uint64_t)f->mss * acked / cwnd;
	f->cwnd = cwnd > CC_CWND_MAX ? CC_CWND_MAX : (uint32_t)cwnd;
}

/**
 * cc_dctcp_update - DCTCP (RFC 8257) for one interval
 * @f: the state
 * @cfg: the configuration
 * @fb: the feedback
 * @out: window; rate is CC_RATE_UNLIMITED
 */
void cc_dctcp_update(struct cc_flow *f, const struct cc_config *cfg,
		     const struct cc_feedback *fb, struct cc_out *out)
{
	if (fb->mss)
		f->mss = fb->mss;
	f->acked_total += fb->acked;
	cc_dctcp_alpha(f, cfg, fb);
	if (cc_window_loss(f, fb))
		goto out;
	if (fb->ecn_acked) {
		/* RFC 8257 §3.3 step 5, once per window; no growth while a
		 * reduction is in progress (CWR) */
		if (f->acked_total >= f->cut_end) {
			uint32_t cut =
				(uint32_t)((double)f->cwnd * f->alpha / 2);

			f->cwnd = f->cwnd - cut > cc_min_cwnd(f)
					  ? f->cwnd - cut
					  : cc_min_cwnd(f);
			f->ssthresh = f->cwnd;
			f->cuts++;
			cc_arm_cut(f, fb);
		}
		goto out;
	}
	cc_window_grow(f, fb->acked);
out:
	out->cwnd = f->cwnd;
	out->rate = CC_RATE_UNLIMITED;
}

/**
 * cc_reno_update - Reno (RFC 5681, ECE as loss per RFC 3168) for one
 * interval
 * @f: the state
 * @cfg: the configuration
 * @fb: the feedback
 * @out: window; rate is CC_RATE_UNLIMITED
 */
void cc_reno_update(struct cc_flow *f, const struct cc_config *cfg,
		    const struct cc_feedback *fb, struct cc_out *out)
{
	struct cc_feedback lossy = *fb;

	(void)cfg;
	if (fb->mss)
		f->mss = fb->mss;
	f->acked_total += fb->acked;
	/* RFC 3168 §6.1.2: ECE is a loss indication without a loss */
	if (fb->ecn_acked && !lossy.fast_retx)
		lossy.fast_retx = 1;
	if (!cc_window_loss(f, &lossy))
		cc_window_grow(f, fb->acked);
	out->cwnd = f->cwnd;
	out->rate = CC_RATE_UNLIMITED;
}

static uint64_t cc_clamp_rate(double r, const struct cc_timely_params *t)
{
	if (!(r >= (double)t->min_rate))
		return t->min_rate;
	if (r > (double)t->max_rate)
		return t->max_rate;
	return (uint64_t)r;
}

/* TIMELY's RTT for one interval: the mean of the interval's samples where
 * the fast path reports them, else its latest sample; 0: none. One ACK's
 * RTT carries the jitter of where its packet fell among other flows'
 * packets (a few us at 10 Gbit/s), as much as a 2% rate excess adds to
 * the queue in 50 us. Algorithm 1 answers a positive gradient with a cut
 * of beta x gradient x rate but a negative one with delta only, so
 * zero-mean noise in the gradient is a net decrease: on single samples
 * the queue settles at or below T_low instead of between the thresholds.
 */
static double cc_timely_rtt(const struct cc_feedback *fb)
{
	if (fb->rtt_count)
		return (double)fb->rtt_sum_us / fb->rtt_count;
	return fb->rtt_last_us;
}

/**
 * cc_timely_update - TIMELY (SIGCOMM 2015, Algorithm 1) for one interval
 * @f: the state
 * @cfg: the configuration
 * @fb: the feedback; its RTT is the mean of the interval's samples
 *      (rtt_sum_us / rtt_count), or rtt_last_us where none are reported
 * @out: rate; cwnd is CC_CWND_UNLIMITED
 *
 * Algorithm 1 divides the RTT difference between two completion events
 * by min_rtt (its authors' code also scales each step by the time since
 * the last one, capped at one min RTT), so the gradient stands for the
 * queueing delay's growth per unit time, (sum of rates - C) / C, and a cut
 * of beta x gradient takes back beta of the excess rate. Here the
 * difference spans the control intervals since the previous RTT, often
 * several min RTTs, so it is divided by that span (never by less than
 * min_rtt). Divided by min_rtt alone, a 50 us difference made the gradient
 * 2.5 times too steep and each cut twice the excess (0.8 x 2.5): the rate
 * fell below capacity after every rise of the queue.
 */
void cc_timely_update(struct cc_flow *f, const struct cc_config *cfg,
		      const struct cc_feedback *fb, struct cc_out *out)
{
	const struct cc_timely_params *t = &cfg->timely;
	double r = (double)f->rate, rtt = cc_timely_rtt(fb), span, new_diff;

	if (fb->mss)
		f->mss = fb->mss;
	if (fb->timeouts || !(rtt > 0)) {
		if (f->rtt_gap < UINT32_MAX)
			f->rtt_gap++;
		if (fb->timeouts) {
			r /= 2;
			f->neg_count = 0;
		}
		goto out;
	}
	span = (double)cfg->interval_us * ((double)f->rtt_gap + 1);
	f->rtt_gap = 0;
	if (!(f->prev_rtt_us > 0)) {
		f->prev_rtt_us = rtt;
		goto out;
	}
	if (span < (double)t->min_rtt_us)
		span = (double)t->min_rtt_us;
	if (span < 1)
		span = 1;
	new_diff = rtt - f->prev_rtt_us;
	f->prev_rtt_us = rtt;
	f->rtt_diff_us = (1 - t->alpha) * f->rtt_diff_us + t->alpha * new_diff;
	f->gradient = f->rtt_diff_us / span;
	if (rtt < t->t_low_us) {
		r += (double)t->delta;
		f->neg_count = 0;
	} else if (rtt > t->t_high_us) {
		r *= 1 - t->beta * (1 - (double)t->t_high_us / rtt);
		f->neg_count = 0;
	} else if (f->gradient <= 0) {
		f->neg_count++;
		r += (double)t->delta *
		     (f->neg_count >= t->hai_n ? t->hai_n : 1);
	} else {
		r *= 1 - t->beta * f->gradient;
		f->neg_count = 0;
	}
out:
	f->rate = cc_clamp_rate(r, t);
	out->cwnd = CC_CWND_UNLIMITED;
	out->rate = f->rate;
}

/**
 * cc_const_update - a fixed rate
 * @f: the state
 * @cfg: the configuration (const_rate)
 * @fb: ignored
 * @out: rate = const_rate; cwnd is CC_CWND_UNLIMITED
 */
void cc_const_update(struct cc_flow *f, const struct cc_config *cfg,
		     const struct cc_feedback *fb, struct cc_out *out)
{
	(void)fb;
	f->rate = cfg->const_rate;
	out->cwnd = CC_CWND_UNLIMITED;
	out->rate = f->rate;
}

/**
 * cc_quiet_is_noop - see cc.h
 */
bool cc_quiet_is_noop(enum cc_algo algo)
{
	return algo == CC_DCTCP || algo == CC_RENO || algo == CC_CONST;
}

/**
 * cc_update - one control interval of the flow's algorithm
 * @f: the state
 * @cfg: the configuration
 * @fb: the feedback accumulated since the previous call
 * @out: what to enforce next
 */
void cc_update(struct cc_flow *f, const struct cc_config *cfg,
	       const struct cc_feedback *fb, struct cc_out *out)
{
	switch (f->algo) {
	case CC_DCTCP:
		cc_dctcp_update(f, cfg, fb, out);
		return;
	case CC_TIMELY:
		cc_timely_update(f, cfg, fb, out);
		return;
	case CC_CONST:
		cc_const_update(f, cfg, fb, out);
		return;
	case CC_RENO:
		cc_reno_update(f, cfg, fb, out);
		return;
	}
	out->cwnd = CC_CWND_UNLIMITED;
	out->rate = CC_RATE_UNLIMITED;
}
