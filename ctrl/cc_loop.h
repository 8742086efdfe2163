/* cc_loop.h - the control thread's congestion-control loop: every
 * --cc-interval it reads each flow's feedback from the cores, runs
 * ctrl/cc.c and publishes the next window */
#ifndef TAS_CTRL_CC_LOOP_H
#define TAS_CTRL_CC_LOOP_H

#include <stdint.h>

#include "ctrl/cc.h"
#include "tcp/fastpath.h"

struct cc_priv {
	uint32_t gen;
	uint32_t on;
	struct cc_flow st;
	uint64_t acked, ecn_acked;
	uint32_t fast_retx, timeouts;
	uint32_t rtt_samples; /* the slot's RTT pair at the last read */
	uint64_t rtt_sum_us;
	uint32_t out_seq;
};

struct cc_loop {
	struct cc_config cfg;
	unsigned ncores;
	uint32_t max_flows;
	struct fp_core **cores;
	struct cc_priv *priv[TAS_MAX_CORES];
	uint64_t updates;
};

int cc_loop_init(struct cc_loop *l, const struct cc_config *cfg,
		 struct fp_core **cores, unsigned ncores, uint32_t max_flows);
void cc_loop_fini(struct cc_loop *l);
/* cc_loop_run - one interval over every active flow of every core */
void cc_loop_run(struct cc_loop *l);
/* cc_loop_flow - the control thread's state of one flow, NULL if none */
const struct cc_flow *cc_loop_flow(const struct cc_loop *l, unsigned core,
				   uint32_t idx);

#endif /* TAS_CTRL_CC_LOOP_H */
