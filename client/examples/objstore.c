/*
 * objstore.c - example: an object store on the zero-copy extension
 * (flextcp_mem_alloc, flextcp_connection_rx_post, tx_send_zc)
 *
 *   objstore server --port P --dir D [--buf-mb N] [--kernel]
 *   objstore client --ip A --port P put|get --count N --size S [--kernel]
 *                   [--conns C] [--first ID] [--eager B] [--hashes FILE]
 *                   [--timeout S]
 *
 * The server keeps object ID in the file D/ID. PUT payloads land in
 * buffers of one shared region, placed there by the service (rx_post), and
 * are written to disk with O_DIRECT straight from that buffer; GET reads
 * the file into a region buffer (O_DIRECT when it can) and sends it with
 * tx_send_zc. --kernel runs the same logic on kernel sockets (a thread per
 * connection, recv into page-aligned buffers) as the baseline.
 *
 * Protocol: every message starts with a 32-byte header (struct os_hdr,
 * big endian). A PUT is written like NVMe/TCP writes with "ready to
 * transfer": the client sends the header and the first `eager` payload
 * bytes at once, then waits for READY before it sends the rest. The
 * server answers READY only once it has taken the eager bytes from the
 * receive ring and posted a buffer for the rest, so the post covers
 * exactly the bytes the client sends next (a post covers the next bytes
 * the service has not received yet, whenever the service gets to it: a
 * client that sent on regardless would shift it). Bytes that reach the
 * ring anyway are still consumed strictly in stream order and copied to
 * their place. DONE ends each request (status 0 or -errno); a GET's DONE
 * carries the length and is followed by the payload.
 *
 * Object content is a deterministic function of the id (os_obj_fill), so the
 * client verifies a GET's SHA-256 without keeping anything. The client
 * prints its throughput and a last line "objstore: ... ok" or
 * "... FAILED" (exit 1); --hashes writes "SHA256  ID" lines (sha256sum
 * format) of the expected content. The server prints one line per
 * connection and a running total ("objstore: total ...").
 *
 * Files: objstore.c (this one: protocol, content, files, statistics,
 * options), objstore_server.c (the zero-copy server), objstore_kernel.c
 * (server and client on kernel sockets), objstore_client.c (the flextcp
 * client, results), objstore.h. Uses <tas_ll.h>, libc, sha256.c and
 * bench_common.c.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tas_ll.h>

#include "bench_common.h"
#include "objstore.h"

/**
 * os_hdr_emit - write @h as the OS_HDR_LEN bytes at @b
 */
void os_hdr_emit(const struct os_hdr *h, uint8_t *b)
{
	uint32_t w32;
	uint16_t w16;
	uint64_t w64;

	memset(b, 0, OS_HDR_LEN);
	w32 = htobe32(OS_MAGIC);
	memcpy(b, &w32, 4);
	w16 = htobe16(h->op);
	memcpy(b + 4, &w16, 2);
	w16 = htobe16((uint16_t)h->status);
	memcpy(b + 6, &w16, 2);
	w32 = htobe32(h->eager);
	memcpy(b + 8, &w32, 4);
	w64 = htobe64(h->id);
	memcpy(b + 16, &w64, 8);
	w64 = htobe64(h->len);
	memcpy(b + 24, &w64, 8);
}

/**
 * os_hdr_parse - read a header from the @n bytes at @b
 *
 * Return: 0, or -EPROTO (not our header, unknown op) / -EFBIG (length).
 */
int os_hdr_parse(const uint8_t *b, size_t n, struct os_hdr *h)
{
	uint32_t w32;
	uint16_t w16;
	uint64_t w64;

	if (n < OS_HDR_LEN)
		return -EPROTO;
	memcpy(&w32, b, 4);
	if (be32toh(w32) != OS_MAGIC)
		return -EPROTO;
	memcpy(&w16, b + 4, 2);
	h->op = be16toh(w16);
	memcpy(&w16, b + 6, 2);
	h->status = (int16_t)be16toh(w16);
	memcpy(&w32, b + 8, 4);
	h->eager = be32toh(w32);
	memcpy(&w64, b + 16, 8);
	h->id = be64toh(w64);
	memcpy(&w64, b + 24, 8);
	h->len = be64toh(w64);
	if (h->op < OS_OP_PUT || h->op > OS_OP_DONE)
		return -EPROTO;
	if (h->len > OS_MAX_OBJ || h->eager > h->len)
		return -EFBIG;
	return 0;
}

/* ---- object content: byte i of object id, random access ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/**
 * os_obj_fill - bytes [@off, @off + @len) of object @id's content
 */
void os_obj_fill(uint8_t *dst, uint64_t id, uint64_t off, size_t len)
{
	uint64_t seed = mix64(id + 0x6f626a73746f7265ull);

	while (len) {
		uint64_t w = htole64(mix64(seed + off / 8));
		size_t b = (size_t)(off % 8), k = 8 - b < len ? 8 - b : len;

		memcpy(dst, (uint8_t *)&w + b, k);
		dst += k;
		off += k;
		len -= k;
	}
}

/**
 * os_obj_sha - SHA-256 of object @id's @len bytes, made in @scratch
 * (@cap bytes) piece by piece
 */
void os_obj_sha(uint64_t id, uint64_t len, uint8_t *scratch, size_t cap,
		uint8_t out[SHA256_DIGEST_LEN])
{
	struct sha256 s;

	sha256_init(&s);
	for (uint64_t o = 0; o < len;) {
		size_t k = len - o < cap ? (size_t)(len - o) : cap;

		os_obj_fill(scratch, id, o, k);
		sha256_update(&s, scratch, k);
		o += k;
	}
	sha256_final(&s, out);
}

/**
 * os_xmalloc - malloc that exits on failure
 */
void *os_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		bench_fail("out of memory");
	return p;
}

/* ---- files ---- */

static void say_path(struct io_stats *io, const char *dir, int kind)
{
	if (kind == 0 && !io->said_direct) {
		io->said_direct = true;
		printf("objstore: writes to %s use O_DIRECT from the receive "
		       "buffer\n",
		       dir);
	} else if (kind == 1 && !io->said_unaligned) {
		io->said_unaligned = true;
		printf("objstore: sizes that are not a multiple of 4096 are "
		       "written buffered\n");
	} else if (kind == 2 && !io->said_nodirect) {
		io->said_nodirect = true;
		printf("objstore: O_DIRECT refused on %s (EINVAL): buffered "
		       "writes\n",
		       dir);
	} else {
		return;
	}
	fflush(stdout);
}

static int write_all(int fd, const uint8_t *buf, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		size_t k = len - done < (1u << 30) ? (size_t)(len - done)
						   : (1u << 30);
		ssize_t w = pwrite(fd, buf + done, k, (off_t)done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		done += (uint64_t)w;
	}
	return 0;
}

/**
 * os_obj_write - store @len bytes at @buf (page aligned) as DIR/ID
 *
 * O_DIRECT when the length is a multiple of 4096 and the file system takes
 * it; a buffered write otherwise (counted in @io, the first of each kind
 * printed).
 *
 * Return: 0 or a negative errno.
 */
int os_obj_write(int dirfd, const char *dir, uint64_t id, const uint8_t *buf,
		 uint64_t len, struct io_stats *io)
{
	char name[24];
	int fd = -1, ret;

	snprintf(name, sizeof(name), "%llu", (unsigned long long)id);
	if (len % OS_PAGE == 0 && (uintptr_t)buf % OS_PAGE == 0) {
		fd = openat(dirfd, name,
			    O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC,
			    0644);
		if (fd < 0 && errno != EINVAL)
			return -errno;
		if (fd >= 0) {
			ret = write_all(fd, buf, len);
			if (close(fd) && ret == 0)
				ret = -errno;
			if (ret != -EINVAL) {
				if (ret == 0) {
					io->direct++;
					say_path(io, dir, 0);
				}
				return ret;
			}
		}
		say_path(io, dir, 2); /* open or write said EINVAL */
	} else {
		say_path(io, dir, 1);
	}
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, buf, len);
	if (close(fd) && ret == 0)
		ret = -errno;
	if (ret == 0)
		io->buffered++;
	return ret;
}

/**
 * os_obj_open - open DIR/ID for reading, O_DIRECT if possible
 *
 * Return: the descriptor (its size in @size, O_DIRECT in @direct) or a
 * negative errno.
 */
int os_obj_open(int dirfd, uint64_t id, uint64_t *size, bool *direct)
{
	char name[24];
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "%llu", (unsigned long long)id);
	*direct = true;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 && errno == EINVAL) {
		*direct = false;
		fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > OS_MAX_OBJ) {
		close(fd);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/**
 * os_obj_read - read the @size bytes of @fd into @buf and close @fd
 *
 * @buf is page aligned with @size rounded up to pages of room.
 *
 * Return: 0 or a negative errno.
 */
int os_obj_read(int fd, bool direct, uint8_t *buf, uint64_t size,
		struct io_stats *io)
{
	uint64_t done = 0,
		 want = direct ? (size + OS_PAGE - 1) & ~(OS_PAGE - 1) : size;
	int ret = 0;

	while (done < size) {
		size_t k = want - done < (1u << 30) ? (size_t)(want - done)
						    : (1u << 30);
		ssize_t r = pread(fd, buf + done, k, (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EINVAL && direct) {
			/* the file system takes O_DIRECT opens, not reads */
			int fl = fcntl(fd, F_GETFL);

			if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_DIRECT)) {
				ret = -errno;
				break;
			}
			direct = false;
			want = size;
			continue;
		}
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO; /* shrank under us */
			break;
		}
		done += (uint64_t)r;
	}
	close(fd);
	if (ret == 0) {
		if (direct)
			io->rdirect++;
		else
			io->rbuffered++;
	}
	return ret;
}

/* ---- per-connection statistics, printed by both servers ---- */

/**
 * os_stats_add - add @s to @t
 */
void os_stats_add(struct conn_stats *t, const struct conn_stats *s)
{
	t->puts += s->puts;
	t->gets += s->gets;
	t->put_bytes += s->put_bytes;
	t->get_bytes += s->get_bytes;
	t->placed += s->placed;
	t->copied += s->copied;
	t->zc_sent += s->zc_sent;
	t->errors += s->errors;
}

/**
 * os_stats_print - "objstore: WHAT: puts N put-bytes B ..." on stdout
 */
void os_stats_print(const char *what, const struct conn_stats *s,
		    const struct io_stats *io)
{
	printf("objstore: %s: puts %llu put-bytes %llu gets %llu get-bytes "
	       "%llu "
	       "placed %llu copied-from-ring %llu zc-sent %llu writes-direct "
	       "%llu writes-buffered %llu reads-direct %llu reads-buffered "
	       "%llu errors %llu\n",
	       what, (unsigned long long)s->puts,
	       (unsigned long long)s->put_bytes, (unsigned long long)s->gets,
	       (unsigned long long)s->get_bytes, (unsigned long long)s->placed,
	       (unsigned long long)s->copied, (unsigned long long)s->zc_sent,
	       (unsigned long long)io->direct, (unsigned long long)io->buffered,
	       (unsigned long long)io->rdirect,
	       (unsigned long long)io->rbuffered,
	       (unsigned long long)s->errors);
	fflush(stdout);
}

volatile sig_atomic_t os_stop;

static void on_signal(int sig)
{
	(void)sig;
	os_stop = 1;
}

/**
 * os_catch_signals - SIGINT and SIGTERM set os_stop (and interrupt
 * blocking calls: no SA_RESTART); SIGPIPE is ignored
 */
void os_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- options ---- */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "dir", required_argument, NULL, 'd' },
		{ "buf-mb", required_argument, NULL, 'm' },
		{ "kernel", no_argument, NULL, 'k' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'c' },
		{ "first", required_argument, NULL, 'f' },
		{ "eager", required_argument, NULL, 'e' },
		{ "hashes", required_argument, NULL, 'h' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	static struct cli cl;
	const char *dir = NULL, *hashes = NULL;
	long port = -1, buf_mb = 64;
	bool server, have_ip = false;
	struct in_addr ip = { .s_addr = htonl(INADDR_ANY) };
	int o, ret;

	bench_prog = "objstore";
	bench_synopsis =
		"objstore server --port P --dir D [--buf-mb N] [--kernel] | "
		"objstore client --ip A --port P put|get --count N --size S "
		"[--kernel] [--conns C] [--first ID] [--eager B] "
		"[--hashes FILE] [--timeout S]";
	if (argc < 2)
		bench_usage("missing mode", NULL);
	server = !strcmp(argv[1], "server");
	if (!server && strcmp(argv[1], "client"))
		bench_usage("bad mode", argv[1]);
	cl.conns = 1;
	cl.timeout_s = 600;
	cl.count = 1;
	cl.size = 1 << 20;
	opterr = 0;
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			if (inet_pton(AF_INET, optarg, &ip) != 1)
				bench_usage("bad IPv4 address", optarg);
			have_ip = true;
			break;
		case 'p':
			port = (long)bench_parse_num(optarg, 1, 65535,
						     "bad port");
			break;
		case 'd':
			dir = optarg;
			break;
		case 'm':
			buf_mb = (long)bench_parse_num(optarg, 1, 1024,
						       "bad buf-mb");
			break;
		case 'k':
			cl.kernel = true;
			break;
		case 'n':
			cl.count = (uint64_t)bench_parse_num(optarg, 1, 1 << 24,
							     "bad count");
			break;
		case 's':
			cl.size = (uint64_t)bench_parse_num(
				optarg, 0, OS_MAX_OBJ, "bad size");
			break;
		case 'c':
			cl.conns = (long)bench_parse_num(optarg, 1, 256,
							 "bad conns");
			break;
		case 'f':
			cl.first = (uint64_t)bench_parse_num(
				optarg, 0, 1LL << 50, "bad first");
			break;
		case 'e':
			cl.eager = (uint32_t)bench_parse_num(optarg, 0, 1 << 30,
							     "bad eager");
			break;
		case 'h':
			hashes = optarg;
			cl.want_hashes = true;
			break;
		case 't':
			cl.timeout_s = (double)bench_parse_num(optarg, 1, 86400,
							       "bad timeout");
			break;
		default:
			bench_usage("bad argument", argv[optind - 1]);
		}
	}
	if (server) {
		if (port < 0 || dir == NULL || optind != argc)
			bench_usage("server needs --port and --dir", NULL);
		if (cl.kernel)
			return os_run_kserver(port, dir, ip.s_addr);
		return os_run_server(port, dir, buf_mb);
	}
	if (optind + 1 != argc || port < 0 || !have_ip)
		bench_usage("client needs --ip, --port and put or get", NULL);
	if (!strcmp(argv[optind], "put"))
		cl.put = true;
	else if (strcmp(argv[optind], "get"))
		bench_usage("bad operation", argv[optind]);
	cl.ip_be = ip.s_addr;
	cl.port = port;
	if ((uint64_t)cl.conns > cl.count)
		cl.conns = (long)cl.count;
	ret = os_run_client(&cl);
	if (hashes) {
		int e = os_write_hashes(&cl, hashes);

		if (e)
			bench_fail_err(hashes, -e);
	}
	return ret;
}
