/* tcp_int.h - helpers shared by the engine's files (tcp_in.c, tcp_out.c,
 * tcp_timer.c, tcp_conn.c); nothing outside tcp/tcp_*.c includes this.
 */
#ifndef TAS_TCP_TCP_INT_H
#define TAS_TCP_TCP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcp/seq.h"
#include "tcp/tcp.h"

#define TCP_NS_PER_US 1000ull
#define TCP_NS_PER_MS 1000000ull    /* TSval tick: RFC 7323 5.4, 1 ms..1 s */
#define TCP_TS_RTT_MIN_TICKS 2u	    /* TS echo RTT samples: >= 2 ticks only */
#define TCP_DUPTHRESH 3u	    /* RFC 5681 / RFC 6675 DupThresh */
#define TCP_TLP_MIN_US 2000u	    /* PTO floor (Linux TCP_TIMEOUT_MIN_US) */
#define TCP_TLP_WCDELACK_US 200000u /* RFC 8985 7.2 WCDelAckT */
#define TCP_MSS_DEFAULT 536u	    /* RFC 9293 3.7.1: no MSS option */
#define TCP_WSCALE_MAX 14u	    /* RFC 7323 2.3 */
#define TCP_TS_OPT_LEN 12u	    /* NOP NOP TS, as tcp_emit lays it out */
#define TCP_CLOCK_G_US 1u	    /* RFC 6298 G: our clock granularity */
#define TCP_CHALLENGE_WIN_NS (1000ull * 1000 * 1000) /* RFC 5961 7 */
#define TCP_CHALLENGE_MAX 10u /* challenge/out-of-window ACKs per window */
#define TCP_SSTHRESH_INIT 0x3fffffffu
#define TCP_CWND_MAX 0x3fffffffu

static inline uint32_t tcp_min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static inline uint32_t tcp_max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

/* Our TSval at @now (RFC 7323 5.4: a 1 ms clock). It only grows with the
 * engine's monotonic clock, so it is monotonic per connection (PAWS). */
static inline uint32_t tcp_ts_now(const struct tcp_conn *c, uint64_t now)
{
	return (uint32_t)(now / TCP_NS_PER_MS) + c->ts_offset;
}

/* Sequence after the last received data byte (rcv_nxt less the FIN). */
static inline uint32_t tcp_rcv_data_nxt(const struct tcp_conn *c)
{
	return c->rcv_nxt - (c->fin_rcvd ? 1u : 0u);
}

/* Right edge of the rx ring: the first sequence that has no room. */
static inline uint32_t tcp_rx_edge(const struct tcp_conn *c)
{
	return c->rx_read + c->rx_size;
}

/* First payload sequence still held in the tx ring. */
static inline uint32_t tcp_tx_head(const struct tcp_conn *c)
{
	uint32_t una = seq_max(c->snd_una, c->iss + 1);

	return seq_min(una, c->tx_end);
}

/* Bytes in flight (sequence space, SYN/FIN included). */
static inline uint32_t tcp_flight(const struct tcp_conn *c)
{
	return c->snd_max - c->snd_una;
}

/* True when our FIN has been sent and acknowledged. */
static inline bool tcp_fin_acked(const struct tcp_conn *c)
{
	return c->fin_sent && seq_gt(c->snd_una, c->tx_end);
}

/* tcp_in.c */
int tcp_range_insert(struct tcp_seq_range *r, uint32_t *n, uint32_t max,
		     uint32_t s, uint32_t e);

/* tcp_sack.c */
uint32_t tcp_sb_update(struct tcp_conn *c, const struct tcp_hdr *h);
void tcp_sb_prune(struct tcp_conn *c);
void tcp_sb_clear(struct tcp_conn *c);
uint32_t tcp_sb_lost_bound(const struct tcp_conn *c);
uint32_t tcp_sb_pipe(const struct tcp_conn *c);
void tcp_sack_on_ack(struct tcp_conn *c, uint64_t now, bool advanced);
void tcp_sent_mark(struct tcp_conn *c, uint64_t now);
void tcp_sack_recovery_enter(struct tcp_conn *c);
void tcp_sack_output(struct tcp_conn *c, uint64_t now, struct tcp_out *out);
void tcp_tlp_arm(struct tcp_conn *c, uint64_t now);
void tcp_tlp_fire(struct tcp_conn *c, uint64_t now, struct tcp_out *out);

/* tcp_out.c */
bool tcp_send_data(struct tcp_conn *c, uint64_t now, struct tcp_out *out,
		   uint32_t seq, uint32_t len, bool fin, bool probe);
uint32_t tcp_send_new(struct tcp_conn *c, uint64_t now, struct tcp_out *out,
		      uint32_t wnd, uint32_t max_segs);
uint32_t tcp_seg_payload_max(const struct tcp_conn *c);
uint16_t tcp_rcv_wnd_field(struct tcp_conn *c);
bool tcp_wnd_update_due(const struct tcp_conn *c);
struct tcp_seg_out *tcp_seg_new(struct tcp_conn *c, struct tcp_out *out,
				uint32_t seq, uint8_t flags, uint64_t now);
void tcp_send_syn(struct tcp_conn *c, uint64_t now, struct tcp_out *out);
void tcp_send_ack(struct tcp_conn *c, uint64_t now, struct tcp_out *out);
void tcp_send_rst(struct tcp_conn *c, uint32_t seq, uint32_t ack, uint8_t flags,
		  struct tcp_out *out);
void tcp_send_probe(struct tcp_conn *c, uint64_t now, struct tcp_out *out);
uint64_t tcp_persist_interval_ns(const struct tcp_conn *c);

/* tcp_timer.c */
void tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt_us);
void tcp_rto_arm(struct tcp_conn *c, uint64_t now);
void tcp_timewait_enter(struct tcp_conn *c, uint64_t now);

/* tcp_conn.c */
void tcp_set_closed(struct tcp_conn *c);
void tcp_set_reset(struct tcp_conn *c, int err, struct tcp_out *out);
void tcp_negotiate(struct tcp_conn *c, const struct tcp_hdr *syn);
void tcp_established_init(struct tcp_conn *c);
bool tcp_challenge_allowed(struct tcp_conn *c, uint64_t now);
void tcp_syn_sent_rcv_init(struct tcp_conn *c, const struct tcp_hdr *syn);
uint64_t tcp_siphash24(const uint8_t key[16], const uint8_t *in, size_t len);

#endif /* TAS_TCP_TCP_INT_H */
