/* tcp_conn.c - connection life cycle of the sans-IO engine: init, open,
 * app calls, close/abort, option negotiation, RST replies and ISNs
 *
 * RFCs: 9293 (state machine, 3.10.7.1 resets for unknown connections),
 * 7323 (window scale, timestamps), 2018 (SACK-permitted), 3168 (ECN setup),
 * 6528 (ISN = M + SipHash-2-4(4-tuple, secret)), 6928 (initial window).
 * Known gaps: no TCP Fast Open; data carried on a SYN is not accepted (the
 * peer retransmits it); CLOSE in SYN_SENT drops the TCB without an RST.
 */
#include <errno.h>
#include <string.h>

#include "tcp/tcp_int.h"

static const char *const state_names[TCP_STATE__NR] = {
	[TCP_CLOSED] = "CLOSED",	 [TCP_SYN_SENT] = "SYN_SENT",
	[TCP_SYN_RCVD] = "SYN_RCVD",	 [TCP_ESTABLISHED] = "ESTABLISHED",
	[TCP_FIN_WAIT_1] = "FIN_WAIT_1", [TCP_FIN_WAIT_2] = "FIN_WAIT_2",
	[TCP_CLOSE_WAIT] = "CLOSE_WAIT", [TCP_CLOSING] = "CLOSING",
	[TCP_LAST_ACK] = "LAST_ACK",	 [TCP_TIME_WAIT] = "TIME_WAIT",
};

/**
 * tcp_state_str - printable name of a state ("ESTABLISHED")
 * @s: state
 *
 * Return: a static string, "?" for an out-of-range value.
 */
const char *tcp_state_str(enum tcp_state s)
{
	if ((unsigned)s >= TCP_STATE__NR)
		return "?";
	return state_names[s];
}

/**
 * tcp_cfg_default - fill @cfg with the stack defaults
 * @cfg: config to fill
 * @mtu: link MTU; the MSS is mtu - 40 (IPv4 + TCP headers)
 *
 * Timers follow Linux where RFCs leave room (200 ms minimum RTO, 40 ms
 * delayed ACK, 60 s TIME_WAIT, 6 SYN retries, 15 data retries). ECN is off:
 * the control plane turns it on with DCTCP.
 */
void tcp_cfg_default(struct tcp_cfg *cfg, uint16_t mtu)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mss = mtu > 40 + 64 ? (uint16_t)(mtu - 40) : 64;
	cfg->wscale = 7;
	cfg->sack = true;
	cfg->ts = true;
	cfg->ecn = false;
	cfg->rto_init_us = 1000 * 1000;
	cfg->rto_min_us = 200 * 1000;
	cfg->rto_max_us = 120 * 1000 * 1000;
	cfg->delack_us = 40 * 1000;
	cfg->time_wait_us = 60 * 1000 * 1000;
	cfg->syn_retries = 6;
	cfg->max_retries = 15;
	cfg->init_cwnd_segs = 10;
	cfg->tlp = true;
	cfg->dctcp_ecn_echo = false;
}

/**
 * tcp_conn_init - set up a connection in CLOSED with its identity and rings
 * @c: connection (fully overwritten)
 * @cfg: stack policy; must outlive @c
 * @local_ip: our address, network order
 * @local_port: our port, host order
 * @remote_ip: peer address, network order
 * @remote_port: peer port, host order
 * @iss: initial send sequence (tcp_isn())
 * @rx_buf: receive ring, @rx_size bytes, a power of two
 * @rx_size: receive ring size
 * @tx_buf: send ring, @tx_size bytes, a power of two
 * @tx_size: send ring size
 */
void tcp_conn_init(struct tcp_conn *c, const struct tcp_cfg *cfg,
		   uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
		   uint16_t remote_port, uint32_t iss, uint8_t *rx_buf,
		   uint32_t rx_size, const uint8_t *tx_buf, uint32_t tx_size)
{
	memset(c, 0, sizeof(*c));
	c->local_ip = local_ip;
	c->remote_ip = remote_ip;
	c->local_port = local_port;
	c->remote_port = remote_port;
	c->state = TCP_CLOSED;
	c->cfg = cfg;
	c->rx_buf = rx_buf;
	c->rx_size = rx_size;
	c->tx_buf = tx_buf;
	c->tx_size = tx_size;
	c->iss = iss;
	c->snd_una = iss;
	c->snd_nxt = iss;
	c->snd_max = iss;
	c->tx_end = iss + 1;
	c->recover = iss;
	c->ecn_recover = iss;
	c->lost_hi = iss;
	c->snd_mss = TCP_MSS_DEFAULT;
	c->peer_mss = TCP_MSS_DEFAULT;
	c->rcv_mss = TCP_MSS_DEFAULT;
	c->ts_offset = iss; /* per-connection offset (RFC 7323 5.4): TSval
			     * counts 1 ms ticks from it, only ever up */
	c->rto_us = cfg->rto_init_us;
	c->cwnd = cfg->init_cwnd_segs * TCP_MSS_DEFAULT;
	c->ssthresh = TCP_SSTHRESH_INIT;
}

/* Receive-side sequence variables once the peer's ISN is known. */
static void rcv_init(struct tcp_conn *c, uint32_t irs)
{
	c->irs = irs;
	c->rcv_nxt = irs + 1;
	c->rx_read = irs + 1;
	c->rcv_acked = irs + 1;
	/* The window in a SYN is never scaled (RFC 7323 2.2). */
	c->rcv_adv = c->rcv_nxt + tcp_min32(c->rx_size, 65535);
}

/**
 * tcp_negotiate - record the options of the peer's SYN (or SYN-ACK)
 * @c: connection; cfg says what we offered
 * @syn: the peer's SYN
 *
 * Each option is on only when both sides offered it (RFC 7323 2.2, 3.2;
 * RFC 2018 2; RFC 3168 6.1.1: a SYN carries ECE|CWR, a SYN-ACK ECE only).
 */
void tcp_negotiate(struct tcp_conn *c, const struct tcp_hdr *syn)
{
	const struct tcp_cfg *cfg = c->cfg;
	const struct tcp_opts *o = &syn->opts;

	c->peer_mss = o->has_mss && o->mss ? o->mss : TCP_MSS_DEFAULT;
	c->ws_ok = o->has_wscale;
	if (o->has_wscale) {
		c->snd_wscale = (uint8_t)tcp_min32(o->wscale, TCP_WSCALE_MAX);
		c->rcv_wscale = (uint8_t)tcp_min32(cfg->wscale, TCP_WSCALE_MAX);
	} else {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	c->ts_ok = cfg->ts && o->has_ts;
	if (c->ts_ok)
		c->ts_recent = o->ts_val;
	c->sack_ok = cfg->sack && o->sack_ok;
	if (syn->flags & TCP_ACK)
		c->ecn_ok = cfg->ecn && (syn->flags & TCP_ECE) &&
			    !(syn->flags & TCP_CWR);
	else
		c->ecn_ok = cfg->ecn && (syn->flags & TCP_ECE) &&
			    (syn->flags & TCP_CWR);
	c->snd_mss = (uint16_t)(tcp_min32(c->peer_mss, cfg->mss) -
				(c->ts_ok ? TCP_TS_OPT_LEN : 0));
	c->rcv_mss = tcp_min32(cfg->mss, c->peer_mss);
}

/**
 * tcp_established_init - congestion state when the handshake completes
 * @c: connection entering ESTABLISHED
 *
 * RFC 6928 initial window; one segment if the SYN or SYN-ACK had to be
 * retransmitted (RFC 5681 3.1).
 */
void tcp_established_init(struct tcp_conn *c)
{
	uint32_t segs = c->backoff ? 1 : c->cfg->init_cwnd_segs;

	c->cwnd = tcp_max32(segs, 1) * c->snd_mss;
	c->ssthresh = TCP_SSTHRESH_INIT;
	c->backoff = 0;
	c->recover = c->snd_una - 1;
	c->ecn_recover = c->snd_una;
	c->lost_hi = c->snd_una;
}

/**
 * tcp_set_closed - enter CLOSED and disarm every timer
 * @c: connection
 */
void tcp_set_closed(struct tcp_conn *c)
{
	c->state = TCP_CLOSED;
	c->t_rto = 0;
	c->t_delack = 0;
	c->t_persist = 0;
	c->t_timewait = 0;
	c->t_tlp = 0;
	c->ack_now = false;
}

/**
 * tcp_set_reset - abort: CLOSED plus TCP_OUT_RESET with @err
 * @c: connection
 * @err: -ECONNRESET, -ECONNREFUSED or -ETIMEDOUT
 * @out: actions
 */
void tcp_set_reset(struct tcp_conn *c, int err, struct tcp_out *out)
{
	tcp_set_closed(c);
	out->events |= TCP_OUT_RESET;
	out->err = err;
}

/**
 * tcp_challenge_allowed - RFC 5961 7: rate-limit challenge and
 * out-of-window ACKs (at most TCP_CHALLENGE_MAX per second per connection)
 * @c: connection
 * @now: time, ns
 *
 * Return: true when one may be sent now (and counts it).
 */
bool tcp_challenge_allowed(struct tcp_conn *c, uint64_t now)
{
	if (now - c->chall_start >= TCP_CHALLENGE_WIN_NS ||
	    now < c->chall_start) {
		c->chall_start = now;
		c->chall_cnt = 0;
	}
	if (c->chall_cnt >= TCP_CHALLENGE_MAX)
		return false;
	c->chall_cnt++;
	c->st.challenge_acks++;
	return true;
}

/**
 * tcp_connect - active open: CLOSED -> SYN_SENT, emit the SYN
 * @c: connection from tcp_conn_init
 * @now: time, ns
 * @out: actions (the SYN)
 */
void tcp_connect(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	if (c->state != TCP_CLOSED)
		return;
	c->active_open = true;
	c->state = TCP_SYN_SENT;
	c->rto_us = c->cfg->rto_init_us;
	tcp_send_syn(c, now, out);
}

/**
 * tcp_accept_syn - passive open from a listener's SYN: CLOSED -> SYN_RCVD
 * @c: connection from tcp_conn_init
 * @syn: the parsed SYN (the caller checked SYN set, ACK and RST clear)
 * @now: time, ns
 * @out: actions (the SYN-ACK)
 */
void tcp_accept_syn(struct tcp_conn *c, const struct tcp_hdr *syn, uint64_t now,
		    struct tcp_out *out)
{
	if (c->state != TCP_CLOSED)
		return;
	rcv_init(c, syn->seq);
	tcp_negotiate(c, syn);
	c->snd_wnd = syn->wnd; /* unscaled in a SYN */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = syn->seq;
	c->snd_wl2 = c->iss;
	c->state = TCP_SYN_RCVD;
	c->rto_us = c->cfg->rto_init_us;
	tcp_send_syn(c, now, out);
}

/**
 * tcp_syn_sent_rcv_init - SYN_SENT saw the peer's SYN: set up receive
 * @c: connection
 * @syn: peer's SYN or SYN-ACK
 */
void tcp_syn_sent_rcv_init(struct tcp_conn *c, const struct tcp_hdr *syn)
{
	rcv_init(c, syn->seq);
	tcp_negotiate(c, syn);
}

/**
 * tcp_app_tx - the app queued @len more bytes in the tx ring
 * @c: connection
 * @len: bytes
 *
 * Return: 0, or -EINVAL when the send half is closed, the connection is
 * gone, or the bytes would overrun the unacknowledged part of the ring.
 */
int tcp_app_tx(struct tcp_conn *c, uint32_t len)
{
	if (c->fin_queued || c->state == TCP_TIME_WAIT)
		return -EINVAL;
	if (len > tcp_tx_space(c))
		return -EINVAL;
	c->tx_end += len;
	return 0;
}

/**
 * tcp_app_rx_done - the app consumed @len bytes of the rx ring
 * @c: connection
 * @len: bytes
 *
 * Return: 0, or -EINVAL when @len exceeds the readable bytes.
 */
int tcp_app_rx_done(struct tcp_conn *c, uint32_t len)
{
	if (len > tcp_rx_avail(c))
		return -EINVAL;
	c->rx_read += len;
	return 0;
}

/**
 * tcp_rx_avail - bytes the app can read (in order, not yet freed)
 * @c: connection
 *
 * Return: bytes.
 */
uint32_t tcp_rx_avail(const struct tcp_conn *c)
{
	if (c->state == TCP_CLOSED && !c->rcv_nxt && !c->irs)
		return 0;
	if (seq_leq(tcp_rcv_data_nxt(c), c->rx_read))
		return 0;
	return tcp_rcv_data_nxt(c) - c->rx_read;
}

/**
 * tcp_tx_space - bytes the app may still queue
 * @c: connection
 *
 * Return: bytes.
 */
uint32_t tcp_tx_space(const struct tcp_conn *c)
{
	uint32_t queued = c->tx_end - tcp_tx_head(c);

	return queued >= c->tx_size ? 0 : c->tx_size - queued;
}

/**
 * tcp_app_close - the app closed its send half: FIN after the queued bytes
 * @c: connection
 * @now: time, ns
 * @out: actions
 *
 * ESTABLISHED -> FIN_WAIT_1 and CLOSE_WAIT -> LAST_ACK at once (like
 * Linux); the FIN follows the queued data. SYN_RCVD keeps the FIN queued
 * until the handshake completes. SYN_SENT just drops the TCB
 * (TCP_OUT_CLOSED).
 */
void tcp_app_close(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	switch (c->state) {
	case TCP_CLOSED:
		return;
	case TCP_SYN_SENT:
		tcp_set_closed(c);
		out->events |= TCP_OUT_CLOSED;
		return;
	case TCP_SYN_RCVD:
		c->fin_queued = true;
		return;
	case TCP_ESTABLISHED:
		c->fin_queued = true;
		c->state = TCP_FIN_WAIT_1;
		break;
	case TCP_CLOSE_WAIT:
		c->fin_queued = true;
		c->state = TCP_LAST_ACK;
		break;
	default:
		return;
	}
	tcp_output(c, now, out);
}

/**
 * tcp_abort - emit RST (unless CLOSED/SYN_SENT/TIME_WAIT), go to CLOSED
 * @c: connection
 * @now: time, ns (unused: an RST carries no timestamp)
 * @out: actions; TCP_OUT_CLOSED tells the caller to free
 */
void tcp_abort(struct tcp_conn *c, uint64_t now, struct tcp_out *out)
{
	(void)now;
	switch (c->state) {
	case TCP_CLOSED:
		return;
	case TCP_SYN_SENT:
	case TCP_TIME_WAIT:
		break;
	default:
		tcp_send_rst(c, c->snd_max, c->rcv_nxt, TCP_RST | TCP_ACK, out);
		break;
	}
	tcp_set_closed(c);
	out->events |= TCP_OUT_CLOSED;
}

/**
 * tcp_reset_reply - RFC 9293 3.10.7.1: the RST answering a segment that
 * matches no connection
 * @in: the segment (ports as received)
 * @payload_len: its payload bytes
 * @rst: filled with the reply (ports swapped, no options)
 *
 * ACK set: <SEQ=SEG.ACK><CTL=RST>. ACK clear: <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
 * <CTL=RST,ACK>, SEG.LEN counting SYN and FIN.
 *
 * Return: false when none is due (the segment is a RST itself).
 */
bool tcp_reset_reply(const struct tcp_hdr *in, uint32_t payload_len,
		     struct tcp_seg_out *rst)
{
	if (in->flags & TCP_RST)
		return false;
	memset(rst, 0, sizeof(*rst));
	rst->h.sport = in->dport;
	rst->h.dport = in->sport;
	if (in->flags & TCP_ACK) {
		rst->h.seq = in->ack;
		rst->h.flags = TCP_RST;
	} else {
		rst->h.seq = 0;
		rst->h.ack = in->seq + payload_len +
			     ((in->flags & TCP_SYN) ? 1u : 0u) +
			     ((in->flags & TCP_FIN) ? 1u : 0u);
		rst->h.flags = TCP_RST | TCP_ACK;
	}
	rst->ecn = IP_ECN_NOT_ECT;
	return true;
}

/* ---- SipHash-2-4 (Aumasson, Bernstein), for RFC 6528 ---- */

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND(v0, v1, v2, v3)     \
	do {                         \
		v0 += v1;            \
		v1 = rotl64(v1, 13); \
		v1 ^= v0;            \
		v0 = rotl64(v0, 32); \
		v2 += v3;            \
		v3 = rotl64(v3, 16); \
		v3 ^= v2;            \
		v0 += v3;            \
		v3 = rotl64(v3, 21); \
		v3 ^= v0;            \
		v2 += v1;            \
		v1 = rotl64(v1, 17); \
		v1 ^= v2;            \
		v2 = rotl64(v2, 32); \
	} while (0)

/**
 * tcp_siphash24 - SipHash-2-4 of @len bytes under a 128-bit key
 * @key: 16-byte key
 * @in: message
 * @len: message bytes
 *
 * Return: the 64-bit hash (reference test vectors hold).
 */
uint64_t tcp_siphash24(const uint8_t key[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t j = 0; j < left; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/**
 * tcp_isn - RFC 6528 initial sequence number
 * @secret: 128-bit secret key
 * @local_ip: network order
 * @local_port: host order
 * @remote_ip: network order
 * @remote_port: host order
 * @now_ns: time, ns
 *
 * ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a
 * 4 us timer, F the low 32 bits of SipHash-2-4 over the 12-byte tuple.
 *
 * Return: the ISN.
 */
uint32_t tcp_isn(const uint8_t secret[16], uint32_t local_ip,
		 uint16_t local_port, uint32_t remote_ip, uint16_t remote_port,
		 uint64_t now_ns)
{
	uint8_t m[12];

	memcpy(m, &local_ip, 4);
	m[4] = (uint8_t)(local_port >> 8);
	m[5] = (uint8_t)local_port;
	memcpy(m + 6, &remote_ip, 4);
	m[10] = (uint8_t)(remote_port >> 8);
	m[11] = (uint8_t)remote_port;
	return (uint32_t)(now_ns / 4000) +
	       (uint32_t)tcp_siphash24(secret, m, sizeof(m));
}
