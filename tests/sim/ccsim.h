/* ccsim.h - deterministic simulation of the real TCP engines (tcp/) and the
 * daemon's congestion control (ctrl/cc_loop.c running ctrl/cc.c) through one
 * modelled bottleneck (verbs/nic_link.c's link_queue), on a virtual clock
 *
 * N flows, each a sender engine and a receiver engine joined by a real
 * handshake. Segments cross as bytes (tcp_emit/tcp_parse). Data direction:
 * the sender's own NIC (a link_queue at line rate, no marking), then the
 * shared bottleneck (rate, drop-tail limit, CE marking above K: the
 * receiving engine sees CE as ip_ecn), then a fixed delay. ACK direction:
 * a fixed delay, no queue. Timers come from tcp_next_deadline. No threads,
 * no real time: the same parameters give the same run, event for event.
 *
 * Congestion control is wired as the daemon wires it (ctrl/main.c): for
 * every algorithm but CC_RENO the engines run with ecn_external (and ECN
 * with the RFC 8257 receiver echo for DCTCP), every cc.interval_us the real
 * cc_loop_run() reads each flow's feedback slot and publishes a window and
 * rate, and the sender side applies them like tcp/fastpath.c (cc_feedback,
 * fp_pace_begin/fp_pace_end; see ccsim.c for what is mirrored). With
 * CC_RENO the engine's own Reno runs, without ECN and without the control
 * loop (the daemon's --cc reno).
 *
 * Needs nothing: no root, no netns, no hardware.
 */
#ifndef TAS_TESTS_SIM_CCSIM_H
#define TAS_TESTS_SIM_CCSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "ctrl/cc.h"
#include "verbs/nic_link.h"

#define CCSIM_MAX_FLOWS 32u
#define CCSIM_MTU_MAX 1500u
#define CCSIM_LONG UINT64_MAX /* ccsim_flow_add: the app never stops */
#define CCSIM_WIRE_EXTRA 38u  /* Ethernet header, FCS, preamble, IFG */

struct ccsim_params {
	uint64_t rate_bps;   /* bottleneck and every sender NIC, bits/s */
	uint64_t up_ns;	     /* sender NIC to switch, after serialization */
	uint64_t down_ns;    /* switch to receiver, after serialization */
	uint64_t ack_ns;     /* receiver to sender, fixed (no queue) */
	uint32_t limit;	     /* bottleneck drop-tail limit, packets */
	uint32_t ecn_k;	     /* CE above this many queued packets */
	uint16_t mtu;	     /* at most CCSIM_MTU_MAX */
	uint32_t ring;	     /* per-connection ring bytes, power of two */
	struct cc_config cc; /* algo and interval as --cc, --cc-interval */
	uint64_t seed;	     /* initial sequence numbers */
	uint64_t bin_ns;     /* width of the per-flow byte counters */
	uint32_t nbins;	     /* how many (later bytes are not binned) */
};

struct ccsim;

struct ccsim_flow_stats {
	bool established;
	uint64_t queued;    /* bytes the sender's app queued */
	uint64_t acked;	    /* ... the sender saw acknowledged */
	uint64_t delivered; /* ... the receiver's app read, in order */
	uint64_t corrupt;   /* delivered bytes that were not the stream's */
	uint64_t retrans_segs, fast_retrans, timeouts, tlp_probes;
	uint64_t resets; /* TCP_OUT_RESET events on either side */
	uint32_t srtt_us, cwnd, ssthresh;
	uint64_t pace_rate; /* bytes/s the sender paces at, 0: none */
};

/**
 * ccsim_new - an empty simulation at time 0
 * @p: its parameters (copied)
 *
 * Return: the simulation, or NULL with errno set (EINVAL, ENOMEM).
 */
struct ccsim *ccsim_new(const struct ccsim_params *p);

/**
 * ccsim_free - free a simulation and everything in flight
 * @s: the simulation, or NULL
 */
void ccsim_free(struct ccsim *s);

/**
 * ccsim_flow_add - open a new flow now: the sender sends its SYN
 * @s: the simulation
 * @bytes: what its app sends in all, or CCSIM_LONG
 *
 * Return: the flow's index, or -ENOSPC when CCSIM_MAX_FLOWS are open.
 */
int ccsim_flow_add(struct ccsim *s, uint64_t bytes);

/**
 * ccsim_flow_more - the sender's app has @bytes more to send
 * @s: the simulation
 * @i: the flow
 * @bytes: added to what it sends in all
 */
void ccsim_flow_more(struct ccsim *s, unsigned i, uint64_t bytes);

/**
 * ccsim_flow_done - whether everything queued so far arrived and was acked
 * @s: the simulation
 * @i: the flow
 *
 * Return: true when the app queued all it has, the receiver's app read
 * it and the sender saw it acknowledged.
 */
bool ccsim_flow_done(const struct ccsim *s, unsigned i);

/**
 * ccsim_run_until - advance the virtual clock to @t_ns, handling every
 * event on the way
 * @s: the simulation
 * @t_ns: the new time (not before the current one)
 */
void ccsim_run_until(struct ccsim *s, uint64_t t_ns);

/**
 * ccsim_now - the virtual clock
 * @s: the simulation
 *
 * Return: time in ns.
 */
uint64_t ccsim_now(const struct ccsim *s);

/**
 * ccsim_flow_stats - counters of one flow
 * @s: the simulation
 * @i: the flow
 * @out: filled
 */
void ccsim_flow_stats(const struct ccsim *s, unsigned i,
		      struct ccsim_flow_stats *out);

/**
 * ccsim_flow_cc - the control loop's state of one flow
 * @s: the simulation
 * @i: the flow
 *
 * Return: the state, or NULL (engine Reno, or not yet established).
 */
const struct cc_flow *ccsim_flow_cc(const struct ccsim *s, unsigned i);

/**
 * ccsim_goodput - bytes of flow @i its receiver's app read in [from, to)
 * @s: the simulation
 * @i: the flow
 * @from: start, ns (rounded down to a bin)
 * @to: end, ns (rounded down to a bin)
 *
 * Return: the bytes.
 */
uint64_t ccsim_goodput(const struct ccsim *s, unsigned i, uint64_t from,
		       uint64_t to);

/**
 * ccsim_wire_bytes - bytes of all flows that left the bottleneck in
 * [from, to), framing included (CCSIM_WIRE_EXTRA)
 * @s: the simulation
 * @from: start, ns (rounded down to a bin)
 * @to: end, ns (rounded down to a bin)
 *
 * Return: the bytes.
 */
uint64_t ccsim_wire_bytes(const struct ccsim *s, uint64_t from, uint64_t to);

/**
 * ccsim_link_stats - the bottleneck queue's counters (p99 computed)
 * @s: the simulation
 * @out: filled
 */
void ccsim_link_stats(const struct ccsim *s, struct link_queue_stats *out);

/**
 * ccsim_link_stats_reset - zero the bottleneck's counters and histogram
 * @s: the simulation
 */
void ccsim_link_stats_reset(struct ccsim *s);

/**
 * ccsim_nic_drops - frames any sender's own NIC queue refused (expected 0)
 * @s: the simulation
 *
 * Return: the count.
 */
uint64_t ccsim_nic_drops(const struct ccsim *s);

#endif /* TAS_TESTS_SIM_CCSIM_H */
