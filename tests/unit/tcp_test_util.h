/* tcp_test_util.h - fixtures for the TCP engine tests: connections put
 * straight into a state, segments built relative to them with designated
 * initializers, a capturing tcp_out, and time stepped by the test.
 */
#ifndef TAS_TESTS_TCP_TEST_UTIL_H
#define TAS_TESTS_TCP_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/seq.h"
#include "tcp/tcp.h"

#define LOCAL_IP 0x0112a8c6u  /* 198.18.0.1, network order (LE host) */
#define REMOTE_IP 0x0212a8c6u /* 198.18.0.2 */
#define LOCAL_PORT 40000
#define REMOTE_PORT 80
#define LOCAL_ISS 1000u
#define REMOTE_ISS 500000u
#define T_RX_SIZE 65536u
#define T_TX_SIZE 65536u
#define T_MSS 1460u
#define MS 1000000ull
#define US 1000ull

struct tconn {
	struct tcp_conn c;
	struct tcp_cfg cfg;
	struct tcp_out out;
	uint64_t now;
	uint32_t peer_tsval; /* the peer's TS clock, bumped per segment */
	uint8_t rx[T_RX_SIZE];
	uint8_t tx[T_TX_SIZE];
};

/* A segment from the peer. Zero fields mean "the obvious value": seq 0 is
 * rcv_nxt, ack 0 is snd_max, wnd 0 is 65535 (use wnd0 for a zero window);
 * raw takes seq/ack literally. Timestamps are added when negotiated. */
struct seg_tmpl {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	bool wnd0, raw, no_ts;
	const char *data;
	uint32_t len; /* with data NULL: len pattern bytes */
	uint32_t tsval, tsecr;
	uint8_t ecn;
	uint8_t nsack;
	struct tcp_seq_range sack[TCP_SACK_MAX];
};

struct tconn *tconn_new(void);
void tconn_free(struct tconn *t);
/* A config with options off; tests switch on what they exercise. */
void tconn_reinit(struct tconn *t, uint32_t iss);
void conn_established(struct tconn *t);
void conn_established_opts(struct tconn *t, bool ts, bool sack, uint8_t wscale);
void conn_syn_sent(struct tconn *t);
void conn_syn_rcvd(struct tconn *t);

void seg_in_(struct tconn *t, const struct seg_tmpl *s);
#define seg_in(t, ...) seg_in_((t), &(struct seg_tmpl){ __VA_ARGS__ })

/* App writes @len pattern bytes (offset-based) and tcp_output runs. */
int app_send(struct tconn *t, uint32_t len);
void do_output(struct tconn *t);
void step(struct tconn *t, uint64_t ns);
void run_timers(struct tconn *t);

/* Pattern byte for stream offset @i. */
static inline uint8_t pat(uint32_t i)
{
	return (uint8_t)(i * 7 + (i >> 8) + 3);
}

/* Segment @i of the last output. */
const struct tcp_seg_out *oseg(const struct tconn *t, unsigned i);
/* The last segment of the last output, NULL if none. */
const struct tcp_seg_out *olast(const struct tconn *t);
/* Does the rx ring hold pattern bytes for stream offsets [from, to)? */
bool rx_matches(const struct tconn *t, uint32_t from, uint32_t to);

#endif /* TAS_TESTS_TCP_TEST_UTIL_H */
