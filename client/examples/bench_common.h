/*
 * bench_common.h - the transport-independent parts the example programs
 * (rpc_client, blast, echo_server) share with their Linux-kernel twins in
 * tests/bench/ (krpc_client, kblast, kecho_server): clocks, error exits,
 * number and option parsing, the request and stream byte patterns, latency
 * percentiles and the result lines that tests and the benchmark parse.
 *
 * Plain C and libc: nothing here knows about flextcp or kernel sockets.
 * Every message starts with bench_prog, which each program sets first.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

/* The program's name in every message ("rpc_client", "kblast", ...). */
extern const char *bench_prog;
/* Its usage synopsis, after "usage: " (bench_usage). */
extern const char *bench_synopsis;

uint64_t bench_now_ns(void);

/* "PROG: WHAT", exit 1 */
_Noreturn void bench_fail(const char *what);
/* "PROG: WHAT: strerror(err)" (err > 0), exit 1 */
_Noreturn void bench_fail_err(const char *what, int err);
/* "PROG: WHY[ ARG]; usage: SYNOPSIS", exit 2 */
_Noreturn void bench_usage(const char *why, const char *arg);

/* A decimal in [min, max]; anything else is bench_usage(what, s). */
long long bench_parse_num(const char *s, long long min, long long max,
			  const char *what);
/* The same for the echo servers: "PROG: bad WHAT 'S' (want MIN..MAX)",
 * exit 2. */
long bench_parse_range(const char *s, long min, long max, const char *what);

/* ---- echo servers (echo_server, kecho_server) ---- */
/*
 * Parse --port P [--threads N] and, with @ip_be non-NULL, [--ip A]
 * (network byte order). Usage errors exit 2 with bench_synopsis.
 */
void bench_echo_parse(int argc, char **argv, long max_threads, long *port,
		      long *nthreads, uint32_t *ip_be);

/* ---- closed-loop request/response (rpc_client, krpc_client) ---- */
#define BENCH_MAX_CONNS 16384
#define BENCH_DEFAULT_DURATION_S 5

struct bench_rpc_args {
	uint32_t ip_be; /* --ip, network byte order */
	long port, conns, size, max_requests;
	double duration_s;
};

/*
 * Parse --ip --port [--conns] [--size] [--duration | --requests], plus the
 * program's own no-argument options @extra (terminated by a zero entry;
 * their val goes to @extra_fn). Usage errors exit 2.
 */
void bench_rpc_parse(int argc, char **argv, const struct option *extra,
		     void (*extra_fn)(int val), struct bench_rpc_args *a);

/* Byte @i of request @req on connection @id (the echo brings it back). */
static inline uint8_t bench_rpc_pattern(uint32_t id, uint64_t req, size_t i)
{
	return (uint8_t)(id * 7u + req * 13u + i);
}

/* Latency samples in microseconds. */
struct bench_lat {
	double *us;
	size_t n, cap;
};

void bench_lat_add(struct bench_lat *l, double us);
/* Sort, print "PROG: R WHAT in T s, X UNIT/s, latency p50 A us, p99 B us,
 * p99.9 C us" and free the samples. */
void bench_rpc_report(struct bench_lat *l, uint64_t completed, double secs,
		      const char *what, const char *unit);

/* ---- one-way bulk stream (blast, kblast) ---- */
struct bench_blast_args {
	int is_send;
	uint32_t ip_be;
	long long port;
	uint64_t bytes;
};

/*
 * Parse "send --ip A --port P --bytes N | recv --port P" plus the
 * program's own options @extra (with an argument; to @extra_fn). @recv_only
 * is the complaint when recv gets --ip or --bytes.
 */
void bench_blast_parse(int argc, char **argv, const struct option *extra,
		       void (*extra_fn)(int val, const char *arg),
		       const char *recv_only, struct bench_blast_args *a);

/* Byte i of the stream is i mod 251. Copies @len stream bytes from offset
 * @off to @dst in cache-sized pieces, handing each piece to @each. */
void bench_stream_fill(uint8_t *dst, uint64_t off, size_t len,
		       void (*each)(const uint8_t *p, size_t n, void *arg),
		       void *arg);

/* Do @len bytes at @p hold stream bytes from offset @off? Returns the
 * index of the first that does not, or -1. */
long bench_stream_check(const uint8_t *p, uint64_t off, size_t len);

/* "PROG: sent|received N bytes in T s, G Gbit/s, sha256 HEX", or with
 * @sha_hex NULL "..., pattern checked" */
void bench_blast_report(int is_send, uint64_t total, uint64_t t0_ns,
			const char *sha_hex);

#endif
