/*
 * kblast.c - benchmark baseline: the Linux-kernel twin of
 * client/examples/blast.c (one-way bulk transfer with a SHA-256 of the
 * stream)
 *
 *   kblast send --ip A --port P --bytes N
 *   kblast recv --port P
 *
 * Same stream (byte i is i mod 251), same hashing and the same output lines
 * as blast, with its own name:
 *   kblast: sent N bytes in T s, G Gbit/s, sha256 HEX
 *   kblast: received N bytes in T s, G Gbit/s, sha256 HEX
 * The sender reports once its FIN is acknowledged (TCP_INFO state
 * FIN_WAIT2 or later), as blast reports on CONN_TXCLOSED. The receiver
 * accepts one connection and reports after the peer closed. Both exit
 * non-zero on any error. Uses libc and client/examples/sha256.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/examples/sha256.h"

#define PATTERN_MOD 251
#define PATTERN_LEN (PATTERN_MOD * 256)
#define CHUNK 65536
#define FIN_WAIT_MS 10000

static struct sha256 hash;
static uint8_t pat[PATTERN_LEN + PATTERN_MOD];
static uint8_t buf[CHUNK];
static uint64_t total, t0;
static int is_send;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "kblast: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(const char *why, const char *arg)
{
	fprintf(stderr,
		"kblast: %s%s%s; usage: kblast send --ip A --port P "
		"--bytes N | kblast recv --port P\n",
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

static void report(void)
{
	uint8_t dg[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN];
	double secs = (double)(now_ns() - t0) / 1e9;

	sha256_final(&hash, dg);
	sha256_hex(dg, hex);
	printf("kblast: %s %llu bytes in %.2f s, %.2f Gbit/s, sha256 %s\n",
	       is_send ? "sent" : "received", (unsigned long long)total, secs,
	       secs > 0 ? (double)total * 8 / secs / 1e9 : 0.0, hex);
	fflush(stdout);
}

/* Wait until the peer acknowledged our FIN. */
static void wait_fin_acked(int fd)
{
	for (int i = 0; i < FIN_WAIT_MS * 10; i++) {
		struct tcp_info ti;
		socklen_t l = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) != 0)
			fail("TCP_INFO");
		if (ti.tcpi_state != TCP_ESTABLISHED &&
		    ti.tcpi_state != TCP_FIN_WAIT1 &&
		    ti.tcpi_state != TCP_CLOSE_WAIT &&
		    ti.tcpi_state != TCP_LAST_ACK)
			return;
		usleep(100);
	}
	errno = ETIMEDOUT;
	fail("FIN not acknowledged");
}

static void do_send(struct sockaddr_in *sa, uint64_t want)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		fail("socket");
	if (connect(fd, (struct sockaddr *)sa, sizeof(*sa)) != 0)
		fail("connect failed");
	t0 = now_ns();
	while (total < want) {
		size_t n =
			want - total < CHUNK ? (size_t)(want - total) : CHUNK;
		size_t off = 0;

		fill(buf, total, n);
		while (off < n) {
			ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				fail("send failed");
			off += (size_t)w;
		}
		total += n;
	}
	if (shutdown(fd, SHUT_WR) != 0)
		fail("cannot close the stream");
	wait_fin_acked(fd);
	report();
	close(fd);
}

static void do_recv(struct sockaddr_in *sa)
{
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0), fd;

	if (lfd < 0)
		fail("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)sa, sizeof(*sa)) != 0 ||
	    listen(lfd, 8) != 0)
		fail("cannot listen");
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		fail("accept");
	t0 = now_ns();
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("receive failed");
		if (n == 0)
			break;
		sha256_update(&hash, buf, (size_t)n);
		total += (uint64_t)n;
	}
	report();
	close(fd);
	close(lfd);
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
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int have_ip = 0, have_bytes = 0, o;
	long long port = -1;
	uint64_t want = 0;

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
			if (inet_pton(AF_INET, optarg, &sa.sin_addr) != 1)
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
		default:
			usage("bad argument", argv[optind - 1]);
		}
	}
	if (port < 0 || optind != argc)
		usage("missing --port", NULL);
	if (is_send && (!have_ip || !have_bytes))
		usage("send needs --ip and --bytes", NULL);
	if (!is_send && (have_ip || have_bytes))
		usage("recv takes only --port", NULL);
	sa.sin_port = htons((uint16_t)port);

	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i % PATTERN_MOD);
	sha256_init(&hash);
	if (is_send)
		do_send(&sa, want);
	else
		do_recv(&sa);
	return 0;
}
