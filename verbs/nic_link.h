/* nic_link.h - bottleneck link model: a switch egress queue as a pure
 * helper (link_queue_*) and as a NIC decorator (nic_link_wrap)
 *
 * The pure queue is shared by the decorator and by the congestion-control
 * simulation (tests/unit/test_cc_sim.c), so both see the same semantics:
 * serialization at a fixed rate, a fixed propagation delay behind it,
 * drop-tail at a packet limit and CE marking of ECT packets above a packet
 * threshold (the DCTCP "K" of RFC 8257 §3.1, instantaneous queue).
 */
#ifndef TAS_VERBS_NIC_LINK_H
#define TAS_VERBS_NIC_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "verbs/nic.h"

#define LINK_ECN_OFF UINT32_MAX /* link_params.ecn_k: never mark */
#define LINK_QUEUE_MAX 1000000u /* largest queue= accepted */

/* What the model does; parsed from "rate=..,delay=..,queue=..,ecn=..". */
struct link_params {
	uint64_t rate_bps; /* serialization rate in bits/s, > 0 */
	uint64_t delay_ns; /* propagation delay after serialization */
	uint32_t limit;	   /* drop-tail: packets the queue holds, >= 1 */
	uint32_t ecn_k;	   /* mark ECT packets arriving to more than ecn_k
			    * queued packets; LINK_ECN_OFF disables */
	bool dir_rx;	   /* decorator: model the RX side instead of TX */
};

/* Counters of one queue; occupancy is sampled at every arrival and counts
 * the packets ahead of the arriving one (including the one on the wire). */
struct link_queue_stats {
	uint64_t enqueued; /* accepted packets (marked ones included) */
	uint64_t dropped;  /* drop-tail losses */
	uint64_t marked;   /* ECT packets set to CE */
	uint64_t bytes;	   /* accepted bytes */
	uint32_t max_occupancy;
	uint32_t p99_occupancy; /* filled by link_queue_stats() */
};

/* Verdicts of link_queue_enqueue. */
enum link_verdict {
	LINK_PASS = 0, /* queued unchanged */
	LINK_MARK,     /* queued; the caller sets IP ECN to CE */
	LINK_DROP,     /* drop-tail: the caller discards the packet */
};

/* One egress queue. Not thread-safe: the decorator serializes callers. */
struct link_queue {
	struct link_params p;
	uint64_t busy_until; /* ns: when the last queued packet is sent */
	uint64_t rem;	     /* serialization remainder, bit-ns */
	uint64_t *dep;	     /* departure times of queued packets, FIFO */
	uint32_t head, count;
	uint64_t *hist; /* arrivals by occupancy, limit + 1 buckets */
	struct link_queue_stats st;
};

/**
 * nic_link_parse - parse a --link spec
 * @spec: "rate=RATE,delay=DUR,queue=PKTS,ecn=PKTS[,dir=tx|rx]"; rate is
 *        required, delay defaults to 0, queue to 100, ecn to off
 * @out: the parameters
 * @err: one line on failure (NIC_ERR_LEN bytes)
 *
 * Return: 0, or -EINVAL with @err filled.
 */
int nic_link_parse(const char *spec, struct link_params *out, char *err);

/**
 * nic_link_parse_rate - parse a rate such as "10gbit", "500mbit", "1.5gbit"
 * @v: number with unit bit, kbit, mbit, gbit or tbit (case-insensitive)
 * @bps: bits per second, > 0
 *
 * Return: true on success.
 */
bool nic_link_parse_rate(const char *v, uint64_t *bps);

/**
 * nic_link_parse_dur - parse a duration such as "20us", "5ms", "1s", "0"
 * @v: integer with unit ns, us, ms or s ("0" needs none)
 * @ns: nanoseconds
 *
 * Return: true on success.
 */
bool nic_link_parse_dur(const char *v, uint64_t *ns);

/**
 * link_queue_init - set up an empty queue
 * @q: the queue
 * @p: its parameters (rate_bps > 0, limit in [1, LINK_QUEUE_MAX])
 *
 * Return: 0, -EINVAL for bad parameters or -ENOMEM.
 */
int link_queue_init(struct link_queue *q, const struct link_params *p);

/**
 * link_queue_fini - free what link_queue_init allocated
 * @q: the queue (may be zeroed)
 */
void link_queue_fini(struct link_queue *q);

/**
 * link_queue_enqueue - one packet arrives at the queue
 * @q: the queue
 * @now: arrival time in ns; calls must not go back in time
 * @len: bytes serialized for the packet
 * @ect: the packet is ECN-capable (ECT(0) or ECT(1))
 * @deliver: unless dropped, the time the packet leaves the far end of the
 *           link (departure after serialization plus the delay)
 *
 * Return: LINK_PASS, LINK_MARK (only when @ect) or LINK_DROP.
 */
enum link_verdict link_queue_enqueue(struct link_queue *q, uint64_t now,
				     uint32_t len, bool ect, uint64_t *deliver);

/**
 * link_queue_occupancy - packets queued or on the wire at @now
 * @q: the queue
 * @now: time in ns, not before the last enqueue
 *
 * Return: the occupancy.
 */
uint32_t link_queue_occupancy(struct link_queue *q, uint64_t now);

/**
 * link_queue_stats - read the counters, p99 of occupancy computed
 * @q: the queue
 * @out: the counters
 */
void link_queue_stats(const struct link_queue *q, struct link_queue_stats *out);

/**
 * link_queue_stats_reset - zero the counters and the occupancy histogram
 * @q: the queue; its packets stay queued
 */
void link_queue_stats_reset(struct link_queue *q);

/**
 * link_frame_mark_ce - set IP ECN to CE in an Ethernet/IPv4 frame
 * @frame: the frame (Ethernet, optional 802.1Q tag, IPv4)
 * @len: its length
 *
 * The IPv4 header checksum is updated incrementally (RFC 1624 eqn. 3).
 *
 * Return: true when the frame was ECT and is now CE; false (unchanged)
 * for Not-ECT, already-CE, non-IPv4 or short frames.
 */
bool link_frame_mark_ce(uint8_t *frame, uint32_t len);

/**
 * link_frame_is_ect - whether a frame is IPv4 with ECT(0) or ECT(1)
 * @frame: the frame
 * @len: its length
 *
 * Return: true for ECT.
 */
bool link_frame_is_ect(const uint8_t *frame, uint32_t len);

/* Counters of a link decorator, over all queues of the modelled side. */
struct nic_link_stats {
	uint64_t enqueued;
	uint64_t dropped;
	uint64_t marked;
	uint64_t bytes;
	uint64_t delivered; /* frames handed on after their delay */
	uint64_t nobuf;	    /* TX frames refused: out of copy buffers */
	uint32_t max_occupancy;
	uint32_t p99_occupancy;
};

/* A clock for the decorator: nanoseconds, monotonic. */
typedef uint64_t (*nic_link_clock_fn)(void *arg);

/**
 * nic_link_wrap - wrap @inner in a bottleneck link model
 * @inner: any open nic; owned by the result on success
 * @spec: see nic_link_parse
 * @err: one line on failure (NIC_ERR_LEN bytes)
 *
 * Frames of the modelled direction (TX by default) go through one shared
 * link_queue (all NIC queues share the bottleneck, as in a switch), are
 * copied, dropped or marked there, and are handed on when they leave the
 * far end of the link. TX cookies complete when tx_burst accepts a frame.
 *
 * Return: the wrapper, or NULL with errno set (EINVAL for a bad spec) and
 * @inner left open.
 */
struct nic *nic_link_wrap(struct nic *inner, const char *spec, char *err);

/**
 * nic_link_set_clock - replace CLOCK_MONOTONIC, for deterministic tests
 * @nic: a nic returned by nic_link_wrap()
 * @fn: returns the time in ns; NULL restores CLOCK_MONOTONIC
 * @arg: passed to @fn
 *
 * Call before traffic flows; time must not go backwards.
 *
 * Return: 0, or -EINVAL when @nic is not a link wrapper.
 */
int nic_link_set_clock(struct nic *nic, nic_link_clock_fn fn, void *arg);

/**
 * nic_link_stats - read the counters of a link wrapper
 * @nic: a nic returned by nic_link_wrap()
 * @out: the counters
 *
 * Control-thread call; takes the queue lock briefly.
 *
 * Return: 0, or -EINVAL when @nic is not a link wrapper.
 */
int nic_link_stats(struct nic *nic, struct nic_link_stats *out);

#endif /* TAS_VERBS_NIC_LINK_H */
