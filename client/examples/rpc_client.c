/*
 * rpc_client.c - example: closed-loop request/response against an echo
 * server over C connections; every reply byte is checked
 *
 *   rpc_client --ip A --port P [--conns C] [--size S]
 *              [--duration SEC | --requests N]
 *
 * Prints one line:
 *   rpc_client: R requests in T s, X req/s, latency p50 A us, p99 B us,
 *   p99.9 C us
 * and exits non-zero on any mismatch, connection failure or early close.
 * Uses only <tas_ll.h> and libc.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tas_ll.h>

#define EV_BATCH 64
#define MAX_CONNS 4096
#define DEFAULT_DURATION_S 5

struct rconn {
	struct flextcp_connection c; /* first: events give us &c */
	uint32_t id;
	uint64_t req;	  /* number of the request in flight */
	size_t tx_done;	  /* bytes of it written */
	size_t rx_done;	  /* bytes of its reply checked */
	uint64_t sent_ns; /* when it started */
	int open, busy, closed;
};

static struct flextcp_context ctx;
static struct rconn *conns;
static long nconns = 1, size = 64, max_requests = -1;
static double duration_s = -1;
static uint64_t completed, start_ns;
static double *lat_us;
static size_t nlat, lat_cap;
static int stopping;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t pattern(const struct rconn *r, size_t i)
{
	return (uint8_t)(r->id * 7u + r->req * 13u + i);
}

static void fail(const char *what)
{
	fprintf(stderr, "rpc_client: %s\n", what);
	exit(1);
}

/* Write as much of the current request as the send ring takes. */
static void send_some(struct rconn *r)
{
	while (r->tx_done < (size_t)size) {
		void *b1, *b2;
		size_t l1, off = r->tx_done;
		ssize_t got = flextcp_connection_tx_alloc2(
			&r->c, (size_t)size - off, &b1, &l1, &b2);

		if (got < 0)
			fail("send failed");
		if (got == 0)
			return;
		for (size_t i = 0; i < (size_t)got; i++) {
			uint8_t *d = i < l1 ? (uint8_t *)b1 + i
					    : (uint8_t *)b2 + (i - l1);

			*d = pattern(r, off + i);
		}
		if (flextcp_connection_tx_send(&ctx, &r->c, (size_t)got) != 0)
			fail("send failed");
		r->tx_done += (size_t)got;
	}
}

static int time_is_up(void)
{
	if (max_requests >= 0)
		return completed >= (uint64_t)max_requests;
	return (double)(now_ns() - start_ns) / 1e9 >= duration_s;
}

static void start_request(struct rconn *r)
{
	if (stopping || time_is_up()) {
		stopping = 1;
		r->busy = 0;
		return;
	}
	r->busy = 1;
	r->tx_done = 0;
	r->rx_done = 0;
	r->sent_ns = now_ns();
	send_some(r);
}

static void record(double us)
{
	if (nlat == lat_cap) {
		size_t ncap = lat_cap ? 2 * lat_cap : 4096;
		double *n = realloc(lat_us, ncap * sizeof(*n));

		if (n == NULL)
			fail("out of memory");
		lat_us = n;
		lat_cap = ncap;
	}
	lat_us[nlat++] = us;
}

static void received(struct rconn *r, const uint8_t *buf, size_t len)
{
	if (!r->busy || r->rx_done + len > (size_t)size) {
		fprintf(stderr,
			"rpc_client: connection %u: unexpected %zu "
			"bytes\n",
			r->id, len);
		exit(1);
	}
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != pattern(r, r->rx_done + i)) {
			fprintf(stderr,
				"rpc_client: connection %u: reply "
				"mismatch at request %llu byte %zu\n",
				r->id, (unsigned long long)r->req,
				r->rx_done + i);
			exit(1);
		}
	}
	if (flextcp_connection_rx_done(&ctx, &r->c, len) != 0)
		fail("rx_done failed");
	r->rx_done += len;
	if (r->rx_done < (size_t)size)
		return;
	record((double)(now_ns() - r->sent_ns) / 1e3);
	completed++;
	r->req++;
	start_request(r);
}

static void handle(const struct flextcp_event *ev, long *open_left)
{
	struct rconn *r;

	switch (ev->event_type) {
	case FLEXTCP_EV_CONN_OPEN:
		r = (struct rconn *)ev->ev.conn_open.conn;
		if (ev->ev.conn_open.status != 0) {
			fprintf(stderr, "rpc_client: connect failed: %s\n",
				strerror(-ev->ev.conn_open.status));
			exit(1);
		}
		r->open = 1;
		(*open_left)--;
		break;
	case FLEXTCP_EV_CONN_RECEIVED:
		received((struct rconn *)ev->ev.conn_received.conn,
			 ev->ev.conn_received.buf, ev->ev.conn_received.len);
		break;
	case FLEXTCP_EV_CONN_SENDBUF:
		r = (struct rconn *)ev->ev.conn_sendbuf.conn;
		if (r->busy)
			send_some(r);
		break;
	case FLEXTCP_EV_CONN_RXCLOSED:
		fail("server closed a connection early");
		break;
	case FLEXTCP_EV_CONN_CLOSED:
		r = (struct rconn *)ev->ev.conn_closed.conn;
		if (!stopping || ev->ev.conn_closed.status != 0) {
			fprintf(stderr,
				"rpc_client: connection %u closed: "
				"%s\n",
				r->id, strerror(-ev->ev.conn_closed.status));
			exit(1);
		}
		r->closed = 1;
		break;
	default:
		break;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	size_t i;

	if (nlat == 0)
		return 0;
	i = (size_t)(p * (double)(nlat - 1) + 0.5);
	return lat_us[i];
}

static void usage(const char *why, const char *arg)
{
	fprintf(stderr,
		"rpc_client: %s%s%s; usage: rpc_client --ip A --port "
		"P [--conns C] [--size S] [--duration SEC | "
		"--requests N]\n",
		why, arg ? " " : "", arg ? arg : "");
	exit(2);
}

static long parse_num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max)
		usage(what, s);
	return v;
}

static void run_loop(int (*done)(void))
{
	struct flextcp_event evs[EV_BATCH];
	long dummy = 0;

	while (!done()) {
		int n = flextcp_context_poll(&ctx, EV_BATCH, evs);

		for (int i = 0; i < n; i++)
			handle(&evs[i], &dummy);
	}
}

static long open_left;

static int all_open(void)
{
	return open_left == 0;
}

static int all_idle(void)
{
	if (!stopping && time_is_up())
		stopping = 1;
	for (long i = 0; i < nconns; i++)
		if (conns[i].busy)
			return 0;
	return stopping;
}

static int all_closed(void)
{
	for (long i = 0; i < nconns; i++)
		if (!conns[i].closed)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "requests", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct flextcp_event evs[EV_BATCH];
	struct in_addr ip;
	int have_ip = 0, o;
	long port = -1;
	double secs;

	opterr = 0;
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
		case 'c':
			nconns = parse_num(optarg, 1, MAX_CONNS, "bad conns");
			break;
		case 's':
			size = parse_num(optarg, 1, 1 << 20, "bad size");
			break;
		case 'd':
			duration_s = (double)parse_num(optarg, 1, 86400,
						       "bad duration");
			break;
		case 'n':
			max_requests =
				parse_num(optarg, 1, 1L << 40, "bad requests");
			break;
		default:
			usage("bad argument", argv[optind - 1]);
		}
	}
	if (!have_ip || port < 0 || optind != argc)
		usage("missing --ip or --port", NULL);
	if (duration_s > 0 && max_requests > 0)
		usage("--duration and --requests exclude each other", NULL);
	if (duration_s < 0 && max_requests < 0)
		duration_s = DEFAULT_DURATION_S;

	if (flextcp_init() != 0 || flextcp_context_create(&ctx) != 0)
		return 1;
	conns = calloc((size_t)nconns, sizeof(*conns));
	if (conns == NULL)
		fail("out of memory");
	open_left = nconns;
	for (long i = 0; i < nconns; i++) {
		conns[i].id = (uint32_t)i;
		if (flextcp_connection_open(&ctx, &conns[i].c, ntohl(ip.s_addr),
					    (uint16_t)port) != 0)
			fail("cannot open a connection");
	}
	while (!all_open()) {
		int n = flextcp_context_poll(&ctx, EV_BATCH, evs);

		for (int i = 0; i < n; i++)
			handle(&evs[i], &open_left);
	}
	start_ns = now_ns();
	for (long i = 0; i < nconns; i++)
		start_request(&conns[i]);
	run_loop(all_idle);
	secs = (double)(now_ns() - start_ns) / 1e9;
	for (long i = 0; i < nconns; i++)
		flextcp_connection_close(&ctx, &conns[i].c);
	run_loop(all_closed);

	qsort(lat_us, nlat, sizeof(*lat_us), cmp_double);
	printf("rpc_client: %llu requests in %.2f s, %.1f req/s, latency p50 "
	       "%.1f us, p99 %.1f us, p99.9 %.1f us\n",
	       (unsigned long long)completed, secs,
	       secs > 0 ? (double)completed / secs : 0.0, pct(0.50), pct(0.99),
	       pct(0.999));
	free(lat_us);
	free(conns);
	return 0;
}
