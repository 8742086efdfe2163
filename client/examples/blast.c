/*
 * blast.c - example: one-way bulk transfer with a SHA-256 of the stream
 *
 *   blast send --ip A --port P --bytes N [--pattern]
 *   blast recv --port P [--pause-after BYTES --pause-ms MS] [--place]
 *              [--pattern]
 *
 * --place receives into buffers posted with flextcp_connection_rx_post
 * (docs/ZEROCOPY.md): eight 1 MiB buffers of one region, re-posted as they
 * fill; bytes that reach the receive ring instead are read from there.
 *
 * --pattern (both ends) checks the stream by comparing it with the
 * pattern instead of hashing it: SHA-256 runs at ~2 Gbit/s here, slower
 * than the stack, so the bench's stack-cost rows use this. The receiver
 * still fails on the first wrong byte; the line ends "pattern checked".
 *
 * --pause-after makes the receiver stop reading for MS milliseconds once
 * BYTES arrived (the sender must stop on the closed window and resume).
 *
 * The sender writes N bytes of a fixed pattern (byte i of the stream is
 * i mod 251), sends FIN, and prints once the FIN is acknowledged:
 *   blast: sent N bytes in T s, G Gbit/s, sha256 HEX
 * The receiver accepts one connection, hashes whatever arrives and prints,
 * after the peer closed:
 *   blast: received N bytes in T s, G Gbit/s, sha256 HEX
 * Both exit non-zero on any error. Uses only <tas_ll.h>, libc, sha256.c and
 * bench_common.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tas_ll.h>

#include "bench_common.h"
#include "sha256.h"

#define EV_BATCH 64

static struct flextcp_context ctx;
static struct flextcp_connection conn;
static struct flextcp_listener lst;
static struct sha256 hash;
static uint64_t total, want, t0;
static int done, is_send;
static uint64_t pause_after, pause_ms;
static int place;	 /* --place: receive into posted buffers (zero-copy) */
static int pattern;	 /* --pattern: compare instead of SHA-256 */
static uint64_t checked; /* --pattern receiver: stream bytes compared */
static struct flextcp_mem_region *region;

#define PLACE_BUFS 8
#define PLACE_CHUNK (1u << 20)

static void fail(const char *what, int err)
{
	if (err)
		bench_fail_err(what, -err);
	bench_fail(what);
}

/* Post buffer @i of the region for the next stream bytes. Refused once
 * the peer's FIN is in (this poll's batch may hold it already): the
 * stream is over, nothing more needs a buffer. */
static void place_post(unsigned i)
{
	if (flextcp_connection_rx_post(&ctx, &conn, region,
				       (size_t)i * PLACE_CHUNK, PLACE_CHUNK,
				       i) != 0 &&
	    errno != EINVAL)
		fail("rx_post failed", -errno);
}

static void hash_piece(const uint8_t *p, size_t n, void *arg)
{
	sha256_update(arg, p, n);
}

/* Copy @len pattern bytes of stream offset @off to @dst and hash them. */
static void fill(uint8_t *dst, uint64_t off, size_t len)
{
	bench_stream_fill(dst, off, len, pattern ? NULL : hash_piece, &hash);
}

/* The receiver's view of the next @len stream bytes. */
static void take(const uint8_t *p, size_t len)
{
	long bad;

	if (!pattern) {
		sha256_update(&hash, p, len);
		return;
	}
	bad = bench_stream_check(p, checked, len);
	if (bad >= 0) {
		fprintf(stderr, "blast: byte %llu of the stream is wrong\n",
			(unsigned long long)(checked + (uint64_t)bad));
		exit(1);
	}
	checked += len;
}

static void send_some(void)
{
	while (total < want) {
		void *b1, *b2;
		size_t l1;
		uint64_t left = want - total;
		ssize_t got = flextcp_connection_tx_alloc2(
			&conn, left > (1u << 30) ? (1u << 30) : (size_t)left,
			&b1, &l1, &b2);

		if (got < 0)
			fail("send failed", 0);
		if (got == 0)
			return;
		fill(b1, total, l1);
		if ((size_t)got > l1)
			fill(b2, total + l1, (size_t)got - l1);
		if (flextcp_connection_tx_send(&ctx, &conn, (size_t)got) != 0)
			fail("send failed", 0);
		total += (uint64_t)got;
	}
	if (flextcp_connection_tx_close(&ctx, &conn) != 0)
		fail("cannot close the stream", 0);
	want = UINT64_MAX; /* FIN queued: nothing more to send */
}

static void report(void)
{
	uint8_t dg[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN];

	sha256_final(&hash, dg);
	sha256_hex(dg, hex);
	bench_blast_report(is_send, total, t0, pattern ? NULL : hex);
}

static void handle(const struct flextcp_event *ev)
{
	switch (ev->event_type) {
	case FLEXTCP_EV_LISTEN_OPEN:
		if (ev->ev.listen_open.status != 0)
			fail("cannot listen", ev->ev.listen_open.status);
		break;
	case FLEXTCP_EV_LISTEN_ACCEPT:
		t0 = bench_now_ns();
		for (unsigned i = 0; place && i < PLACE_BUFS; i++)
			place_post(i);
		break;
	case FLEXTCP_EV_CONN_RX_PLACED:
		/* in stream order with CONN_RECEIVED: hash as they come */
		if (ev->ev.conn_rx_placed.status != 0)
			break; /* connection ending: nothing was placed */
		take(ev->ev.conn_rx_placed.buf, ev->ev.conn_rx_placed.len);
		total += ev->ev.conn_rx_placed.len;
		if (ev->ev.conn_rx_placed.len == PLACE_CHUNK)
			place_post((unsigned)ev->ev.conn_rx_placed.cookie);
		break;
	case FLEXTCP_EV_CONN_OPEN:
		if (ev->ev.conn_open.status != 0)
			fail("connect failed", ev->ev.conn_open.status);
		t0 = bench_now_ns();
		send_some();
		break;
	case FLEXTCP_EV_CONN_SENDBUF:
		if (want != UINT64_MAX)
			send_some();
		break;
	case FLEXTCP_EV_CONN_RECEIVED:
		take(ev->ev.conn_received.buf, ev->ev.conn_received.len);
		total += ev->ev.conn_received.len;
		if (pause_after && total >= pause_after) {
			struct timespec ts = { (time_t)(pause_ms / 1000),
					       (long)(pause_ms % 1000) *
						       1000000 };

			pause_after = 0; /* once: hold the window shut */
			nanosleep(&ts, NULL);
		}
		if (flextcp_connection_rx_done(&ctx, &conn,
					       ev->ev.conn_received.len) != 0)
			fail("rx_done failed", 0);
		break;
	case FLEXTCP_EV_CONN_RXCLOSED:
		if (is_send)
			break;
		report();
		if (flextcp_connection_close(&ctx, &conn) != 0)
			fail("close failed", 0);
		break;
	case FLEXTCP_EV_CONN_TXCLOSED:
		if (!is_send)
			break;
		report();
		if (flextcp_connection_close(&ctx, &conn) != 0)
			fail("close failed", 0);
		break;
	case FLEXTCP_EV_CONN_CLOSED:
		if (ev->ev.conn_closed.status != 0)
			fail("connection reset", ev->ev.conn_closed.status);
		done = 1;
		break;
	default:
		break;
	}
}

static void extra_opt(int val, const char *arg)
{
	if (val == 'P')
		place = 1;
	else if (val == 't')
		pattern = 1;
	else if (val == 'a')
		pause_after = (uint64_t)bench_parse_num(arg, 1, 1LL << 50,
							"bad pause-after");
	else
		pause_ms = (uint64_t)bench_parse_num(arg, 0, 600000,
						     "bad pause-ms");
}

int main(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "pause-after", required_argument, NULL, 'a' },
		{ "pause-ms", required_argument, NULL, 'm' },
		{ "place", no_argument, NULL, 'P' },
		{ "pattern", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct flextcp_event evs[EV_BATCH];
	struct bench_blast_args a;

	bench_prog = "blast";
	bench_synopsis = "blast send --ip A --port P --bytes N [--pattern] | "
			 "blast recv --port P [--place] [--pattern]";
	bench_blast_parse(argc, argv, extra, extra_opt,
			  "recv takes only --port, --pause-* and --place", &a);
	is_send = a.is_send;
	want = a.bytes;
	if (is_send && (pause_after || place))
		bench_usage("--pause-after and --place are for recv", NULL);

	sha256_init(&hash);
	if (flextcp_init() != 0 || flextcp_context_create(&ctx) != 0)
		return 1;
	if (place &&
	    flextcp_mem_alloc(&ctx, PLACE_BUFS * PLACE_CHUNK, &region) != 0)
		fail("cannot allocate the receive region", -errno);
	if (is_send) {
		if (flextcp_connection_open(&ctx, &conn, ntohl(a.ip_be),
					    (uint16_t)a.port) != 0)
			fail("cannot open the connection", 0);
	} else {
		if (flextcp_listen_open(&ctx, &lst, (uint16_t)a.port, 8, 0) !=
			    0 ||
		    flextcp_listen_accept(&ctx, &lst, &conn) != 0)
			fail("cannot listen", 0);
	}
	while (!done) {
		int n = flextcp_context_poll(&ctx, EV_BATCH, evs);

		for (int i = 0; i < n; i++)
			handle(&evs[i]);
		if (n == 0)
			flextcp_block(&ctx, 100);
	}
	return 0;
}
