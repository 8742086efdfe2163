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

#include "client/examples/bench_common.h"
#include "client/examples/sha256.h"

#define CHUNK 65536
#define FIN_WAIT_MS 10000

static struct sha256 hash;
static uint8_t buf[CHUNK];
static uint64_t total, t0;
static int is_send;

static void fail(const char *what)
{
	bench_fail_err(what, errno);
}

static void hash_piece(const uint8_t *p, size_t n, void *arg)
{
	sha256_update(arg, p, n);
}

/* Copy @len pattern bytes of stream offset @off to @dst and hash them. */
static void fill(uint8_t *dst, uint64_t off, size_t len)
{
	bench_stream_fill(dst, off, len, hash_piece, &hash);
}

static void report(void)
{
	uint8_t dg[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN];

	sha256_final(&hash, dg);
	sha256_hex(dg, hex);
	bench_blast_report(is_send, total, t0, hex);
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
	t0 = bench_now_ns();
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
	t0 = bench_now_ns();
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

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct bench_blast_args a;

	bench_prog = "kblast";
	bench_synopsis = "kblast send --ip A --port P --bytes N | kblast recv "
			 "--port P";
	bench_blast_parse(argc, argv, NULL, NULL, "recv takes only --port", &a);
	is_send = a.is_send;
	sa.sin_addr.s_addr = a.ip_be;
	sa.sin_port = htons((uint16_t)a.port);

	sha256_init(&hash);
	if (is_send)
		do_send(&sa, a.bytes);
	else
		do_recv(&sa);
	return 0;
}
