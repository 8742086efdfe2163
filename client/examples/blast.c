/*
 * blast.c - example: one-way bulk transfer with a SHA-256 of the stream
 *
 *   blast send --ip A --port P --bytes N
 *   blast recv --port P [--pause-after BYTES --pause-ms MS]
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
 * Both exit non-zero on any error. Uses only <tas_ll.h>, libc and sha256.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tas_ll.h>

#include "sha256.h"

#define EV_BATCH 64
#define PATTERN_MOD 251
#define PATTERN_LEN (PATTERN_MOD * 256)

static struct flextcp_context ctx;
static struct flextcp_connection conn;
static struct flextcp_listener lst;
static struct sha256 hash;
static uint8_t pat[PATTERN_LEN + PATTERN_MOD];
static uint64_t total, want, t0;
static int done, is_send;
static uint64_t pause_after, pause_ms;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what, int err)
{
	if (err)
		fprintf(stderr, "blast: %s: %s\n", what, strerror(-err));
	else
		fprintf(stderr, "blast: %s\n", what);
	exit(1);
}

static void usage(const char *why, const char *arg)
{
	fprintf(stderr,
		"blast: %s%s%s; usage: blast send --ip A --port P "
		"--bytes N | blast recv --port P\n",
		why, arg ? " " : "", arg ? arg : "");
	exit(2);
}

/* Copy @len pattern bytes of stream offset @off to @dst and hash them. */
static void fill(uint8_t *dst, uint64_t off, size_t len)
{
	while (len > 0) {
		size_t start = (size_t)(off % PATTERN_MOD);
		size_t n = len < PATTERN_LEN ? len : PATTERN_LEN;

		memcpy(dst, pat + start, n);
		sha256_update(&hash, dst, n);
		dst += n;
		off += n;
		len -= n;
	}
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
	double secs = (double)(now_ns() - t0) / 1e9;

	sha256_final(&hash, dg);
	sha256_hex(dg, hex);
	printf("blast: %s %llu bytes in %.2f s, %.2f Gbit/s, sha256 %s\n",
	       is_send ? "sent" : "received", (unsigned long long)total, secs,
	       secs > 0 ? (double)total * 8 / secs / 1e9 : 0.0, hex);
	fflush(stdout);
}

static void handle(const struct flextcp_event *ev)
{
	switch (ev->event_type) {
	case FLEXTCP_EV_LISTEN_OPEN:
		if (ev->ev.listen_open.status != 0)
			fail("cannot listen", ev->ev.listen_open.status);
		break;
	case FLEXTCP_EV_LISTEN_ACCEPT:
		t0 = now_ns();
		break;
	case FLEXTCP_EV_CONN_OPEN:
		if (ev->ev.conn_open.status != 0)
			fail("connect failed", ev->ev.conn_open.status);
		t0 = now_ns();
		send_some();
		break;
	case FLEXTCP_EV_CONN_SENDBUF:
		if (want != UINT64_MAX)
			send_some();
		break;
	case FLEXTCP_EV_CONN_RECEIVED:
		sha256_update(&hash, ev->ev.conn_received.buf,
			      ev->ev.conn_received.len);
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

static long long parse_num(const char *s, long long min, long long max,
			   const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max)
		usage(what, s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "pause-after", required_argument, NULL, 'a' },
		{ "pause-ms", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct flextcp_event evs[EV_BATCH];
	struct in_addr ip;
	int have_ip = 0, have_bytes = 0, o;
	long long port = -1;

	if (argc < 2)
		usage("missing mode", NULL);
	if (strcmp(argv[1], "send") == 0)
		is_send = 1;
	else if (strcmp(argv[1], "recv") != 0)
		usage("bad mode", argv[1]);
	opterr = 0;
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			if (inet_pton(AF_INET, optarg, &ip) != 1)
				usage("bad IPv4 address", optarg);
			have_ip = 1;
			break;
		case 'p':
			port = parse_num(optarg, 1, 65535, "bad port");
			break;
		case 'b':
			want = (uint64_t)parse_num(optarg, 0, 1LL << 50,
						   "bad bytes");
			have_bytes = 1;
			break;
		case 'a':
			pause_after = (uint64_t)parse_num(optarg, 1, 1LL << 50,
							  "bad pause-after");
			break;
		case 'm':
			pause_ms = (uint64_t)parse_num(optarg, 0, 600000,
						       "bad pause-ms");
			break;
		default:
			usage("bad argument", argv[optind - 1]);
		}
	}
	if (port < 0 || optind != argc)
		usage("missing --port", NULL);
	if (is_send && (!have_ip || !have_bytes))
		usage("send needs --ip and --bytes", NULL);
	if (!is_send && (have_ip || have_bytes))
		usage("recv takes only --port and --pause-*", NULL);
	if (is_send && pause_after)
		usage("--pause-after is for recv", NULL);

	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i % PATTERN_MOD);
	sha256_init(&hash);
	if (flextcp_init() != 0 || flextcp_context_create(&ctx) != 0)
		return 1;
	if (is_send) {
		if (flextcp_connection_open(&ctx, &conn, ntohl(ip.s_addr),
					    (uint16_t)port) != 0)
			fail("cannot open the connection", 0);
	} else {
		if (flextcp_listen_open(&ctx, &lst, (uint16_t)port, 8, 0) !=
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
