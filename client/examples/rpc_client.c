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
 * Uses only <tas_ll.h>, libc and bench_common.c.
 */
#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tas_ll.h>

#include "bench_common.h"

#define EV_BATCH 64

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
static struct bench_rpc_args args;
static long nconns, size, max_requests;
static double duration_s;
static uint64_t completed, start_ns;
static struct bench_lat lat;
static int stopping;

static uint8_t pattern(const struct rconn *r, size_t i)
{
	return bench_rpc_pattern(r->id, r->req, i);
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
			bench_fail("send failed");
		if (got == 0)
			return;
		for (size_t i = 0; i < (size_t)got; i++) {
			uint8_t *d = i < l1 ? (uint8_t *)b1 + i
					    : (uint8_t *)b2 + (i - l1);

			*d = pattern(r, off + i);
		}
		if (flextcp_connection_tx_send(&ctx, &r->c, (size_t)got) != 0)
			bench_fail("send failed");
		r->tx_done += (size_t)got;
	}
}

static int time_is_up(void)
{
	if (max_requests >= 0)
		return completed >= (uint64_t)max_requests;
	return (double)(bench_now_ns() - start_ns) / 1e9 >= duration_s;
}

static long nbusy;   /* connections with a request in flight */
static long nclosed; /* connections whose CLOSED came */

static void set_busy(struct rconn *r, int busy)
{
	nbusy += busy - r->busy;
	r->busy = busy;
}

static void start_request(struct rconn *r)
{
	if (stopping || time_is_up()) {
		stopping = 1;
		set_busy(r, 0);
		return;
	}
	set_busy(r, 1);
	r->tx_done = 0;
	r->rx_done = 0;
	r->sent_ns = bench_now_ns();
	send_some(r);
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
		bench_fail("rx_done failed");
	r->rx_done += len;
	if (r->rx_done < (size_t)size)
		return;
	bench_lat_add(&lat, (double)(bench_now_ns() - r->sent_ns) / 1e3);
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
		bench_fail("server closed a connection early");
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
		if (!r->closed)
			nclosed++;
		r->closed = 1;
		break;
	default:
		break;
	}
}

/* Poll until @done(): never sleeps (a wakeup would cost tens of µs), but
 * yields the CPU after an empty poll, since on a shared machine the daemon
 * or the peer that will produce our next event may be waiting for it. */
static void run_loop(int (*done)(void), long *opened)
{
	struct flextcp_event evs[EV_BATCH];

	while (!done()) {
		int n = flextcp_context_poll(&ctx, EV_BATCH, evs);

		for (int i = 0; i < n; i++)
			handle(&evs[i], opened);
		if (n == 0)
			sched_yield();
	}
}

static long open_left;

static int all_open(void)
{
	return open_left == 0;
}

/* a counter, not a scan: the loop asks after every poll */
static int all_idle(void)
{
	if (!stopping && time_is_up())
		stopping = 1;
	return stopping && nbusy == 0;
}

static int all_closed(void)
{
	return nclosed == nconns;
}

int main(int argc, char **argv)
{
	long dummy = 0;
	double secs;

	bench_prog = "rpc_client";
	bench_synopsis = "rpc_client --ip A --port P [--conns C] [--size S] "
			 "[--duration SEC | --requests N]";
	bench_rpc_parse(argc, argv, NULL, NULL, &args);
	nconns = args.conns;
	size = args.size;
	max_requests = args.max_requests;
	duration_s = args.duration_s;

	if (flextcp_init() != 0 || flextcp_context_create(&ctx) != 0)
		return 1;
	conns = calloc((size_t)nconns, sizeof(*conns));
	if (conns == NULL)
		bench_fail("out of memory");
	open_left = nconns;
	for (long i = 0; i < nconns; i++) {
		conns[i].id = (uint32_t)i;
		if (flextcp_connection_open(&ctx, &conns[i].c,
					    ntohl(args.ip_be),
					    (uint16_t)args.port) != 0)
			bench_fail("cannot open a connection");
	}
	run_loop(all_open, &open_left);
	start_ns = bench_now_ns();
	for (long i = 0; i < nconns; i++)
		start_request(&conns[i]);
	run_loop(all_idle, &dummy);
	secs = (double)(bench_now_ns() - start_ns) / 1e9;
	for (long i = 0; i < nconns; i++)
		flextcp_connection_close(&ctx, &conns[i].c);
	run_loop(all_closed, &dummy);

	bench_rpc_report(&lat, completed, secs, "requests", "req");
	free(conns);
	return 0;
}
