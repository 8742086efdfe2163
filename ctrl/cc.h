/* cc.h - congestion control: pure per-flow algorithms run by the control
 * thread once per control interval (DCTCP, TIMELY, const, Reno)
 *
 * The fast path accumulates a struct cc_feedback per flow; every
 * --cc-interval the control thread hands it to cc_update(), which moves
 * the flow's struct cc_flow forward and says what the fast path enforces
 * next: a congestion window in bytes and/or a pacing rate in bytes/s.
 * Nothing here reads a clock, allocates or does I/O.
 */
#ifndef TAS_CTRL_CC_H
#define TAS_CTRL_CC_H

#include <stdbool.h>
#include <stdint.h>

#define CC_ERR_LEN 256		     /* size of cc_parse's error buffer */
#define CC_CWND_UNLIMITED UINT32_MAX /* cc_out.cwnd: no window limit */
#define CC_RATE_UNLIMITED 0	     /* cc_out.rate: do not pace */
#define CC_INTERVAL_DEFAULT_US \
	1000		     /* a few RTTs on veth; 100us suits
				      * datacenter NICs with spare cores */
#define CC_INIT_CWND_SEGS 10 /* RFC 6928 */
#define CC_MIN_CWND_SEGS 2   /* RFC 5681 loss floor */

enum cc_algo {
	CC_DCTCP = 0, /* RFC 8257, the default */
	CC_TIMELY,    /* Mittal et al., SIGCOMM 2015 */
	CC_CONST,     /* a fixed rate per flow */
	CC_RENO,      /* RFC 5681 + RFC 3168 ECE-as-loss, for contrast */
};

/* TIMELY's knobs, named as in the paper (Algorithm 1, Table 1). */
struct cc_timely_params {
	uint32_t t_low_us;   /* below: additive increase regardless (50) */
	uint32_t t_high_us;  /* above: multiplicative decrease (500) */
	uint64_t delta;	     /* additive step, bytes/s (10 Mbit/s) */
	double beta;	     /* multiplicative decrease factor (0.8) */
	double alpha;	     /* EWMA weight of a new RTT difference (0.875) */
	uint32_t min_rtt_us; /* normalizes the gradient (20); see
			      * cc_timely_update for longer intervals */
	uint32_t hai_n;	     /* HAI: N*delta after N negative gradients (5) */
	uint64_t min_rate;   /* floor, bytes/s (10 Mbit/s) */
	uint64_t max_rate;   /* ceiling and start, bytes/s (line, 10 Gbit/s) */
};

struct cc_config {
	enum cc_algo algo;
	uint64_t interval_us;	 /* --cc-interval */
	uint64_t const_rate;	 /* CC_CONST: bytes/s */
	uint32_t init_cwnd_segs; /* window algorithms */
	uint32_t dctcp_g_shift;	 /* g = 1 / 2^shift; RFC 8257: 4 */
	double dctcp_alpha_init; /* RFC 8257 §3.3: 1 */
	struct cc_timely_params timely;
};

/* What the fast path accumulated for one flow over one interval. */
struct cc_feedback {
	uint64_t acked;	      /* bytes newly acknowledged */
	uint64_t ecn_acked;   /* of those, acknowledged with ECN-Echo */
	uint32_t rtt_min_us;  /* smallest sample in the interval, 0: none */
	uint32_t rtt_last_us; /* latest sample, 0: none */
	uint32_t rtt_ewma_us; /* smoothed RTT (RFC 6298 SRTT), 0: none */
	uint64_t rtt_sum_us;  /* sum of the interval's samples ... */
	uint32_t rtt_count;   /* ... and their number, 0: not reported */
	uint32_t fast_retx;   /* fast retransmissions (loss episodes) */
	uint32_t timeouts;    /* retransmission timeouts */
	uint32_t inflight;    /* bytes sent and not acked, now */
	uint32_t mss;	      /* current sender MSS, bytes */
};

/* What the fast path enforces until the next interval. */
struct cc_out {
	uint32_t cwnd; /* bytes, or CC_CWND_UNLIMITED */
	uint64_t rate; /* bytes/s, or CC_RATE_UNLIMITED */
};

/* Per-flow state, owned by the control thread. */
struct cc_flow {
	enum cc_algo algo;
	uint32_t mss;
	/* window algorithms (DCTCP, Reno) */
	uint32_t cwnd, ssthresh; /* bytes */
	uint64_t acked_total;	 /* bytes acked since the flow started */
	uint64_t cut_end; /* no second cut before acked_total reaches it */
	/* DCTCP (RFC 8257 §3.3) */
	double alpha;
	uint64_t obs_end;   /* current observation window ends here */
	uint64_t obs_start; /* ... and began here */
	uint64_t obs_acked, obs_marked;
	/* rate algorithms (TIMELY, const) */
	uint64_t rate;	    /* bytes/s */
	double prev_rtt_us; /* TIMELY's previous RTT, 0: none yet */
	uint32_t rtt_gap;   /* intervals since that RTT without a new one */
	double rtt_diff_us; /* TIMELY's EWMA of RTT differences */
	double gradient;    /* last normalized gradient, for tasctl */
	uint32_t neg_count; /* consecutive non-positive gradients (HAI) */
	/* what happened, for tasctl and tests */
	uint32_t cuts, loss_cuts, rto_cuts;
};

/**
 * cc_config_init - the defaults: DCTCP, CC_INTERVAL_DEFAULT_US, TIMELY's
 * paper parameters, const at 1 Gbit/s
 * @cfg: filled
 */
void cc_config_init(struct cc_config *cfg);

/**
 * cc_parse - parse a --cc value into @out
 * @spec: "dctcp", "reno", "const[:RATE]" (RATE like 1gbit, 500mbit) or
 *        "timely[:k=v,...]" with keys t_low, t_high, min_rtt (durations),
 *        delta, min_rate, max_rate (rates), beta, alpha (0..1), hai (count)
 * @out: initialized with cc_config_init(); only the algorithm and its
 *       parameters change (never interval_us)
 * @err: one line on failure (CC_ERR_LEN bytes)
 *
 * Return: 0, or -EINVAL with @err filled and @out unchanged.
 */
int cc_parse(const char *spec, struct cc_config *out, char *err);

/**
 * cc_parse_interval - parse a --cc-interval value such as "100us", "1ms"
 * @dur: the duration, 1 us .. 1 s
 * @out: its interval_us is set
 * @err: one line on failure (CC_ERR_LEN bytes)
 *
 * Return: 0, or -EINVAL with @err filled.
 */
int cc_parse_interval(const char *dur, struct cc_config *out, char *err);

/**
 * cc_algo_name - "dctcp", "timely", "const" or "reno"
 * @algo: the algorithm
 *
 * Return: a static string.
 */
const char *cc_algo_name(enum cc_algo algo);

/**
 * cc_flow_init - start a flow's congestion state
 * @f: the state
 * @cfg: the configuration
 * @mss: the flow's MSS in bytes
 * @out: what to enforce before the first interval
 */
void cc_flow_init(struct cc_flow *f, const struct cc_config *cfg, uint32_t mss,
		  struct cc_out *out);

/**
 * cc_quiet_is_noop - does an interval without ACKs, losses or timeouts
 * leave the flow's state and output as they are? (DCTCP, Reno and const:
 * yes; TIMELY counts such intervals.) The control loop then skips the
 * update of every idle flow.
 */
bool cc_quiet_is_noop(enum cc_algo algo);

/**
 * cc_update - one control interval of the flow's algorithm
 * @f: the state
 * @cfg: the configuration
 * @fb: the feedback accumulated since the previous call
 * @out: what to enforce next
 */
void cc_update(struct cc_flow *f, const struct cc_config *cfg,
	       const struct cc_feedback *fb, struct cc_out *out);

/* The algorithms behind cc_update, same contract (exposed for tests). */

/**
 * cc_dctcp_update - DCTCP (RFC 8257) for one interval
 * @f: the state
 * @cfg: the configuration
 * @fb: the feedback
 * @out: window; rate is CC_RATE_UNLIMITED
 */
void cc_dctcp_update(struct cc_flow *f, const struct cc_config *cfg,
		     const struct cc_feedback *fb, struct cc_out *out);

/**
 * cc_reno_update - Reno (RFC 5681, ECE as loss per RFC 3168) for one
 * interval
 * @f: the state
 * @cfg: the configuration
 * @fb: the feedback
 * @out: window; rate is CC_RATE_UNLIMITED
 */
void cc_reno_update(struct cc_flow *f, const struct cc_config *cfg,
		    const struct cc_feedback *fb, struct cc_out *out);

/**
 * cc_timely_update - TIMELY (SIGCOMM 2015, Algorithm 1) for one interval
 * @f: the state
 * @cfg: the configuration
 * @fb: the feedback; its RTT is the mean of the interval's samples
 *      (rtt_sum_us / rtt_count), or rtt_last_us where none are reported
 * @out: rate; cwnd is CC_CWND_UNLIMITED
 */
void cc_timely_update(struct cc_flow *f, const struct cc_config *cfg,
		      const struct cc_feedback *fb, struct cc_out *out);

/**
 * cc_const_update - a fixed rate
 * @f: the state
 * @cfg: the configuration (const_rate)
 * @fb: ignored
 * @out: rate = const_rate; cwnd is CC_CWND_UNLIMITED
 */
void cc_const_update(struct cc_flow *f, const struct cc_config *cfg,
		     const struct cc_feedback *fb, struct cc_out *out);

#endif /* TAS_CTRL_CC_H */
