/*
 * bench_common.c - see bench_common.h: what the examples and their kernel
 * twins in tests/bench/ share. libc only.
 */
#include "bench_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_OPTS 16
#define PATTERN_MOD 251
#define PATTERN_LEN (PATTERN_MOD * 256)

const char *bench_prog = "bench";
const char *bench_synopsis = "";

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_fail(const char *what)
{
	fprintf(stderr, "%s: %s\n", bench_prog, what);
	exit(1);
}

void bench_fail_err(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", bench_prog, what, strerror(err));
	exit(1);
}

void bench_usage(const char *why, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s; usage: %s\n", bench_prog, why,
		arg ? " " : "", arg ? arg : "", bench_synopsis);
	exit(2);
}

long long bench_parse_num(const char *s, long long min, long long max,
			  const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max)
		bench_usage(what, s);
	return v;
}

long bench_parse_range(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "%s: bad %s '%s' (want %ld..%ld)\n", bench_prog,
			what, s, min, max);
		exit(2);
	}
	return v;
}

/* @base followed by @extra (zero-terminated, may be NULL) in @all. */
static void merge_opts(struct option *all, const struct option *base,
		       size_t nbase, const struct option *extra)
{
	size_t n = 0;

	for (size_t i = 0; i < nbase; i++)
		all[n++] = base[i];
	for (; extra != NULL && extra->name != NULL && n < MAX_OPTS - 1;
	     extra++)
		all[n++] = *extra;
	memset(&all[n], 0, sizeof(all[n]));
}

static uint32_t parse_ip(const char *s)
{
	struct in_addr ip;

	if (inet_pton(AF_INET, s, &ip) != 1)
		bench_usage("bad IPv4 address", s);
	return ip.s_addr;
}

void bench_echo_parse(int argc, char **argv, long max_threads, long *port,
		      long *nthreads, uint32_t *ip_be)
{
	static const struct option base[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "ip", required_argument, NULL, 'i' },
	};
	struct option all[MAX_OPTS];
	struct in_addr ip;
	int o;

	merge_opts(all, base, ip_be ? 3 : 2, NULL);
	*port = -1;
	*nthreads = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", all, NULL)) != -1) {
		switch (o) {
		case 'p':
			*port = bench_parse_range(optarg, 1, 65535, "port");
			break;
		case 't':
			*nthreads = bench_parse_range(optarg, 1, max_threads,
						      "threads");
			break;
		case 'i':
			if (inet_pton(AF_INET, optarg, &ip) != 1) {
				fprintf(stderr, "%s: bad ip '%s'\n", bench_prog,
					optarg);
				exit(2);
			}
			*ip_be = ip.s_addr;
			break;
		default:
			fprintf(stderr, "%s: bad argument '%s'; usage: %s\n",
				bench_prog, argv[optind - 1], bench_synopsis);
			exit(2);
		}
	}
	if (*port < 0 || optind != argc) {
		fprintf(stderr, "%s: usage: %s\n", bench_prog, bench_synopsis);
		exit(2);
	}
}

void bench_rpc_parse(int argc, char **argv, const struct option *extra,
		     void (*extra_fn)(int val), struct bench_rpc_args *a)
{
	static const struct option base[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "requests", required_argument, NULL, 'n' },
	};
	struct option all[MAX_OPTS];
	int have_ip = 0, o;

	merge_opts(all, base, sizeof(base) / sizeof(base[0]), extra);
	a->port = -1;
	a->conns = 1;
	a->size = 64;
	a->max_requests = -1;
	a->duration_s = -1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", all, NULL)) != -1) {
		switch (o) {
		case 'i':
			a->ip_be = parse_ip(optarg);
			have_ip = 1;
			break;
		case 'p':
			a->port = (long)bench_parse_num(optarg, 1, 65535,
							"bad port");
			break;
		case 'c':
			a->conns = (long)bench_parse_num(
				optarg, 1, BENCH_MAX_CONNS, "bad conns");
			break;
		case 's':
			a->size = (long)bench_parse_num(optarg, 1, 1 << 20,
							"bad size");
			break;
		case 'd':
			a->duration_s = (double)bench_parse_num(
				optarg, 1, 86400, "bad duration");
			break;
		case 'n':
			a->max_requests = (long)bench_parse_num(
				optarg, 1, 1LL << 40, "bad requests");
			break;
		case '?':
			bench_usage("bad argument", argv[optind - 1]);
		default:
			if (extra_fn == NULL)
				bench_usage("bad argument", argv[optind - 1]);
			extra_fn(o);
		}
	}
	if (!have_ip || a->port < 0 || optind != argc)
		bench_usage("missing --ip or --port", NULL);
	if (a->duration_s > 0 && a->max_requests > 0)
		bench_usage("--duration and --requests exclude each other",
			    NULL);
	if (a->duration_s < 0 && a->max_requests < 0)
		a->duration_s = BENCH_DEFAULT_DURATION_S;
}

void bench_lat_add(struct bench_lat *l, double us)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 4096;
		double *n = realloc(l->us, ncap * sizeof(*n));

		if (n == NULL)
			bench_fail("out of memory");
		l->us = n;
		l->cap = ncap;
	}
	l->us[l->n++] = us;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const struct bench_lat *l, double p)
{
	size_t i;

	if (l->n == 0)
		return 0;
	i = (size_t)(p * (double)(l->n - 1) + 0.5);
	return l->us[i];
}

void bench_rpc_report(struct bench_lat *l, uint64_t completed, double secs,
		      const char *what, const char *unit)
{
	if (l->n > 0)
		qsort(l->us, l->n, sizeof(*l->us), cmp_double);
	printf("%s: %llu %s in %.2f s, %.1f %s/s, latency p50 %.1f us, p99 "
	       "%.1f us, p99.9 %.1f us\n",
	       bench_prog, (unsigned long long)completed, what, secs,
	       secs > 0 ? (double)completed / secs : 0.0, unit, pct(l, 0.50),
	       pct(l, 0.99), pct(l, 0.999));
	free(l->us);
	l->us = NULL;
	l->n = l->cap = 0;
}

void bench_blast_parse(int argc, char **argv, const struct option *extra,
		       void (*extra_fn)(int val, const char *arg),
		       const char *recv_only, struct bench_blast_args *a)
{
	static const struct option base[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "bytes", required_argument, NULL, 'b' },
	};
	struct option all[MAX_OPTS];
	int have_ip = 0, have_bytes = 0, o;

	merge_opts(all, base, sizeof(base) / sizeof(base[0]), extra);
	memset(a, 0, sizeof(*a));
	a->port = -1;
	if (argc < 2)
		bench_usage("missing mode", NULL);
	if (strcmp(argv[1], "send") == 0)
		a->is_send = 1;
	else if (strcmp(argv[1], "recv") != 0)
		bench_usage("bad mode", argv[1]);
	opterr = 0;
	optind = 2;
	while ((o = getopt_long(argc, argv, "", all, NULL)) != -1) {
		switch (o) {
		case 'i':
			a->ip_be = parse_ip(optarg);
			have_ip = 1;
			break;
		case 'p':
			a->port = bench_parse_num(optarg, 1, 65535, "bad port");
			break;
		case 'b':
			a->bytes = (uint64_t)bench_parse_num(
				optarg, 0, 1LL << 50, "bad bytes");
			have_bytes = 1;
			break;
		case '?':
			bench_usage("bad argument", argv[optind - 1]);
		default:
			if (extra_fn == NULL)
				bench_usage("bad argument", argv[optind - 1]);
			extra_fn(o, optarg);
		}
	}
	if (a->port < 0 || optind != argc)
		bench_usage("missing --port", NULL);
	if (a->is_send && (!have_ip || !have_bytes))
		bench_usage("send needs --ip and --bytes", NULL);
	if (!a->is_send && (have_ip || have_bytes))
		bench_usage(recv_only, NULL);
}

/* PATTERN_LEN stream bytes from any start in [0, PATTERN_MOD) */
static const uint8_t *stream_pattern(void)
{
	static uint8_t pat[PATTERN_LEN + PATTERN_MOD];
	static int pat_ready;

	if (!pat_ready) {
		for (size_t i = 0; i < sizeof(pat); i++)
			pat[i] = (uint8_t)(i % PATTERN_MOD);
		pat_ready = 1;
	}
	return pat;
}

void bench_stream_fill(uint8_t *dst, uint64_t off, size_t len,
		       void (*each)(const uint8_t *p, size_t n, void *arg),
		       void *arg)
{
	const uint8_t *pat = stream_pattern();

	while (len > 0) {
		size_t start = (size_t)(off % PATTERN_MOD);
		size_t n = len < PATTERN_LEN ? len : PATTERN_LEN;

		memcpy(dst, pat + start, n);
		if (each != NULL)
			each(dst, n, arg);
		dst += n;
		off += n;
		len -= n;
	}
}

long bench_stream_check(const uint8_t *p, uint64_t off, size_t len)
{
	const uint8_t *pat = stream_pattern();
	size_t done = 0;

	while (done < len) {
		const uint8_t *want = pat + (off + done) % PATTERN_MOD;
		size_t n = len - done < PATTERN_LEN ? len - done : PATTERN_LEN;

		if (memcmp(p + done, want, n) != 0) {
			for (size_t i = 0; i < n; i++)
				if (p[done + i] != want[i])
					return (long)(done + i);
		}
		done += n;
	}
	return -1;
}

void bench_blast_report(int is_send, uint64_t total, uint64_t t0_ns,
			const char *sha_hex)
{
	double secs = (double)(bench_now_ns() - t0_ns) / 1e9;

	printf("%s: %s %llu bytes in %.2f s, %.2f Gbit/s, %s%s\n", bench_prog,
	       is_send ? "sent" : "received", (unsigned long long)total, secs,
	       secs > 0 ? (double)total * 8 / secs / 1e9 : 0.0,
	       sha_hex ? "sha256 " : "pattern checked", sha_hex ? sha_hex : "");
	fflush(stdout);
}
