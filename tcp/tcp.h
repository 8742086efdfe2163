/* tcp.h - the sans-IO TCP connection engine
 *
 * One struct tcp_conn per connection. The engine never reads a clock, never
 * touches a NIC and never allocates: every entry point takes `now` (ns, any
 * monotonic origin) and fills a struct tcp_out with what the caller must do
 * (segments to emit, bytes that became readable, send-ring bytes freed,
 * events). The caller owns framing (Ethernet/IPv4), checksums, flow lookup,
 * and delivery of events to the app. Tests drive it with a virtual clock.
 *
 * Buffers: each connection has a receive ring and a send ring (power-of-two
 * sizes) in the app's shared segment. Sequence numbers map to ring offsets:
 *   rx byte with sequence s lives at (s - (irs + 1)) & (rx_size - 1)
 *   tx byte with sequence s lives at (s - (iss + 1)) & (tx_size - 1)
 * The engine writes received payload (in order and out of order) straight
 * into the rx ring; emitted segments name their payload by sequence number
 * and the caller points NIC payload segments into the tx ring (zero copy).
 */
#ifndef TAS_TCP_TCP_H
#define TAS_TCP_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/wire.h"

enum tcp_state {
	TCP_CLOSED = 0,
	TCP_SYN_SENT,
	TCP_SYN_RCVD,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
	TCP_STATE__NR
};

const char *tcp_state_str(enum tcp_state s);

/* Stack-wide policy. Units in the names. */
struct tcp_cfg {
	uint16_t mss;	       /* MSS we advertise and cap sends at */
	uint8_t wscale;	       /* our receive window scale (RFC 7323) */
	bool sack;	       /* offer SACK-permitted (RFC 2018) */
	bool ts;	       /* offer timestamps (RFC 7323) */
	bool ecn;	       /* offer ECN (RFC 3168) */
	uint32_t rto_init_us;  /* RFC 6298 (2.1): 1 s */
	uint32_t rto_min_us;   /* RFC 6298 (2.4) says 1 s; Linux uses 200 ms */
	uint32_t rto_max_us;   /* upper bound after backoff */
	uint32_t delack_us;    /* delayed ACK timer (RFC 9293 3.8.6.3) */
	uint32_t time_wait_us; /* 2*MSL */
	uint32_t syn_retries;  /* SYN / SYN-ACK retransmissions before
				  * giving up (-ETIMEDOUT) */
	uint32_t max_retries;  /* data retransmissions before giving up */
	uint32_t init_cwnd_segs; /* RFC 6928: 10 */
	bool tlp;		 /* RFC 8985 7 tail loss probes (SACK) */
	bool ecn_external;	 /* ECE cuts the window in the caller's CC, not
			       * here (DCTCP in the control thread) */
	bool dctcp_ecn_echo;	 /* RFC 8257 3.2 receiver: ECE mirrors the
				  * CE state of the data (else RFC 3168
				  * ECE until CWR) */
};

/* tcp_cfg_default - the defaults above, with mss from the link MTU. */
void tcp_cfg_default(struct tcp_cfg *cfg, uint16_t mtu);

/* Segment to emit. Payload bytes are [seq, seq + len) of the tx ring (or
 * none); SYN and FIN occupy sequence space but no ring bytes. */
struct tcp_seg_out {
	struct tcp_hdr h; /* ports, seq, ack, flags, wnd (already scaled),
			     * options; hlen set by tcp_emit */
	uint32_t len;	  /* payload bytes */
	uint8_t ecn;	  /* IP ECN codepoint for this segment */
};

#define TCP_OUT_SEGS 64

/* Event bits in tcp_out.events. */
enum {
	TCP_OUT_ESTABLISHED = 1u << 0, /* handshake completed */
	TCP_OUT_RX_FIN = 1u << 1,      /* peer's FIN reached in order */
	TCP_OUT_FIN_ACKED = 1u << 2,   /* our FIN acknowledged */
	TCP_OUT_RESET = 1u << 3,       /* aborted; err says why */
	TCP_OUT_CLOSED = 1u << 4,      /* reached CLOSED: the caller frees */
};

struct tcp_out {
	unsigned nseg;
	unsigned cap; /* segments this call may emit, <= TCP_OUT_SEGS: the
		       * caller's free transmit slots */
	struct tcp_seg_out seg[TCP_OUT_SEGS];
	uint32_t rx_new;   /* bytes that became readable, in order */
	uint32_t tx_freed; /* send-ring bytes acknowledged */
	uint32_t events;   /* TCP_OUT_* */
	int err;	   /* with TCP_OUT_RESET: -ECONNRESET, -ECONNREFUSED,
			    * -ETIMEDOUT */
};

static inline void tcp_out_reset(struct tcp_out *o)
{
	o->nseg = 0;
	o->cap = TCP_OUT_SEGS;
	o->rx_new = 0;
	o->tx_freed = 0;
	o->events = 0;
	o->err = 0;
}

#define TCP_OOO_MAX 32	 /* out-of-order intervals kept */
#define TCP_SB_MAX 32	 /* sender SACK scoreboard ranges */
#define TCP_RTX_MAX 32	 /* retransmissions tracked during SACK recovery */
#define TCP_SENT_HIST 16 /* recent (snd_max, time) marks for RACK */

/* A half-open range [start, end) of sequence numbers. */
struct tcp_seq_range {
	uint32_t start, end;
};

/* A retransmission of [start, end) in flight during SACK recovery: the
 * RFC 6675 HighRxt bookkeeping per range, plus what RFC 8985 (RACK) needs
 * to tell when it was lost again. */
struct tcp_rtx_rec {
	uint32_t start, end;
	uint32_t hi;	 /* snd_max when sent: data above went after it */
	uint32_t old_hi; /* data below was sent over reo_wnd before it */
	uint64_t ns;	 /* when it was sent */
};

/* By time ns, everything below seq had been sent once. */
struct tcp_sent_mark {
	uint32_t seq;
	uint64_t ns;
};

/* Counters kept per connection (summed per core by the caller). */
struct tcp_conn_stats {
	uint64_t segs_in, segs_out, bytes_in, bytes_out;
	uint64_t retrans_segs, fast_retrans, timeouts;
	uint64_t ooo_segs, dup_segs, challenge_acks;
	uint64_t tlp_probes;  /* RFC 8985 tail loss probes sent */
	uint64_t rtx_lost;    /* retransmissions detected lost again */
	uint64_t sack_recov;  /* SACK (RFC 6675) recoveries entered */
	uint64_t rtt_samples; /* RTT samples taken (tcp_in.c rtt_on_ack) */
	uint64_t rtt_sum_us;  /* ... and their sum, us */
};

struct tcp_conn {
	/* identity (addresses network order, ports host order) */
	uint32_t local_ip, remote_ip;
	uint16_t local_port, remote_port;
	enum tcp_state state;
	const struct tcp_cfg *cfg;

	/* rings */
	uint8_t *rx_buf;
	uint32_t rx_size;
	const uint8_t *tx_buf;
	uint32_t tx_size;
	/* Optional: received payload of sequence seq goes through this hook
	 * instead of straight into rx_buf (zero-copy placement, tcp/fp_zc.c).
	 * Called once per accepted piece of new data, in any order. */
	void (*rx_place)(struct tcp_conn *c, uint32_t seq, const uint8_t *p,
			 uint32_t len);

	/* send sequence space (RFC 9293 3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd; /* peer's window in bytes, unscaled */
	uint32_t snd_wl1, snd_wl2;
	uint32_t tx_end; /* sequence after the last byte the app queued */
	bool fin_queued; /* app closed its half: FIN after tx_end */
	bool fin_sent;
	uint16_t snd_mss;   /* effective send MSS */
	uint8_t snd_wscale; /* peer's shift */

	/* receive sequence space */
	uint32_t irs, rcv_nxt;
	uint32_t rcv_adv;   /* right edge we advertised (never shrinks) */
	uint32_t rx_read;   /* sequence up to which the app freed bytes */
	uint8_t rcv_wscale; /* our shift */
	bool fin_rcvd;
	uint32_t ooo_n;
	struct tcp_seq_range ooo[TCP_OOO_MAX]; /* sorted, disjoint */

	/* negotiated options */
	bool ts_ok, sack_ok, ecn_ok;
	uint32_t ts_recent;
	uint32_t ts_offset; /* our TSval = now_ms + ts_offset (1 ms ticks) */

	/* RTT / RTO (RFC 6298) */
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t rtt_seq; /* Karn: sequence being timed, when rtt_timing */
	uint64_t rtt_start;
	bool rtt_timing;
	uint32_t backoff; /* consecutive timeouts */

	/* congestion (Reno/NewReno until the CC module replaces it) */
	uint32_t cwnd, ssthresh;
	uint32_t dupacks;
	uint32_t recover; /* NewReno recovery point */
	bool in_recovery;
	bool ece_pending; /* receiver: echo ECE until CWR */

	/* ACK generation */
	uint32_t unacked_segs; /* received segments not yet acknowledged */
	bool ack_now;

	/* timers: absolute deadlines in ns, 0 = not armed */
	uint64_t t_rto, t_delack, t_persist, t_timewait;

	struct tcp_conn_stats st;

	/* Engine-private below: only tcp/tcp_*.c read or write these. */
	bool active_open;     /* we sent the first SYN */
	bool ws_ok;	      /* window scaling negotiated */
	bool rcv_fin_valid;   /* peer's FIN seen, maybe out of order ... */
	uint32_t rcv_fin_seq; /* ... at this sequence */
	uint32_t rcv_acked;   /* Last.ACK.sent (RFC 7323 4.3) */
	uint32_t rcv_mss;     /* largest segment received (ACK policy) */
	uint32_t ooo_recent;  /* seq of the latest ooo segment (SACK 1st) */
	uint16_t peer_mss;    /* MSS option the peer sent (536 if none) */
	uint32_t max_snd_wnd; /* largest window the peer offered */
	uint32_t persist_backoff;
	uint32_t rtx_nxt;   /* recovery: next sequence to retransmit */
	uint32_t rtx_quota; /* recovery: retransmissions now allowed */
	uint32_t sack_n;    /* scoreboard: ranges the peer SACKed above */
	struct tcp_seq_range sacked[TCP_SB_MAX]; /* ... snd_una, sorted */
	uint32_t rtx_n; /* SACK recovery: retransmissions in flight */
	struct tcp_rtx_rec rtx[TCP_RTX_MAX]; /* ... unordered */
	uint32_t lost_hi;    /* RACK: unSACKed, unretransmitted bytes below
			     * are lost (beyond what IsLost says) */
	bool rescue_done;    /* RFC 6675 rule 4 used in this recovery */
	bool rto_recovery;   /* the recovery a timeout started (slow start) */
	bool rtx_force;	     /* RFC 6675 (4.3): first retransmission goes
			     * regardless of pipe */
	uint32_t rtt_min_us; /* smallest RTT sample (RACK reo_wnd) */
	uint32_t sent_n;     /* marks written (ring index = n % HIST) */
	struct tcp_sent_mark sent[TCP_SENT_HIST];
	uint64_t t_tlp;		    /* RFC 8985 probe timeout, 0 = not armed */
	bool tlp_rearm;		    /* new data sent or snd_una moved */
	bool tlp_out;		    /* a probe is outstanding ... */
	uint32_t tlp_seq, tlp_high; /* ... covering [tlp_seq, tlp_high) */
	bool dctcp_ce;	      /* RFC 8257 3.2: CE state of the last data */
	bool cwr_pending;     /* ECN: set CWR on the next new data */
	uint32_t ecn_recover; /* ECN: one reduction per window */
	uint64_t chall_start; /* RFC 5961 challenge-ACK rate limit window */
	uint32_t chall_cnt;
};

/**
 * tcp_conn_init - set up a connection in CLOSED with its identity and rings
 */
void tcp_conn_init(struct tcp_conn *c, const struct tcp_cfg *cfg,
		   uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
		   uint16_t remote_port, uint32_t iss, uint8_t *rx_buf,
		   uint32_t rx_size, const uint8_t *tx_buf, uint32_t tx_size);

/* Active open: CLOSED -> SYN_SENT, emits the SYN. */
void tcp_connect(struct tcp_conn *c, uint64_t now, struct tcp_out *out);

/* Passive open from a listener's SYN (already parsed): CLOSED -> SYN_RCVD,
 * emits the SYN-ACK. ip_ecn is the SYN's IP ECN field. */
void tcp_accept_syn(struct tcp_conn *c, const struct tcp_hdr *syn, uint64_t now,
		    struct tcp_out *out);

/* A segment for this connection (ports/addresses already matched). */
void tcp_input(struct tcp_conn *c, const struct tcp_hdr *h,
	       const uint8_t *payload, uint32_t len, uint8_t ip_ecn,
	       uint64_t now, struct tcp_out *out);

/* Emit what the windows allow (new data, FIN, pending ACK/window update). */
void tcp_output(struct tcp_conn *c, uint64_t now, struct tcp_out *out);

/* Fire the timers whose deadline is <= now. */
void tcp_timers(struct tcp_conn *c, uint64_t now, struct tcp_out *out);

/* Earliest armed deadline, UINT64_MAX when none. */
uint64_t tcp_next_deadline(const struct tcp_conn *c);

/* The app queued len more bytes in the tx ring. -EINVAL if that would
 * overrun the ring (bytes not yet acknowledged plus len > tx_size) or the
 * send half is closed. Call tcp_output afterwards. */
int tcp_app_tx(struct tcp_conn *c, uint32_t len);

/* The app consumed len bytes of the rx ring. -EINVAL if more than it had.
 * May open the window: call tcp_output afterwards. */
int tcp_app_rx_done(struct tcp_conn *c, uint32_t len);

/* The app closed its send half: FIN goes after the queued bytes. */
void tcp_app_close(struct tcp_conn *c, uint64_t now, struct tcp_out *out);

/* Abort: emit RST (unless CLOSED/SYN_SENT/TIME_WAIT), go to CLOSED. */
void tcp_abort(struct tcp_conn *c, uint64_t now, struct tcp_out *out);

/* Bytes the app can read / may still queue. */
uint32_t tcp_rx_avail(const struct tcp_conn *c);
uint32_t tcp_tx_space(const struct tcp_conn *c);

/**
 * tcp_reset_reply - RFC 9293 3.10.7.1: the RST answering a segment that
 * matches no connection. Returns false when none is due (the segment is a
 * RST itself).
 */
bool tcp_reset_reply(const struct tcp_hdr *in, uint32_t payload_len,
		     struct tcp_seg_out *rst);

/**
 * tcp_isn - RFC 6528 initial sequence number: M + F(localip, localport,
 * remoteip, remoteport, secretkey), M a 4 us timer, F a keyed hash
 * (SipHash-2-4 with a 128-bit secret).
 */
uint32_t tcp_isn(const uint8_t secret[16], uint32_t local_ip,
		 uint16_t local_port, uint32_t remote_ip, uint16_t remote_port,
		 uint64_t now_ns);

#endif /* TAS_TCP_TCP_H */
