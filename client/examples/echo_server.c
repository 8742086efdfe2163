/*
 * echo_server.c - example: echo every received byte back, on N threads
 * (one flextcp context and one REUSEPORT listener each)
 *
 *   echo_server --port P [--threads N]
 *
 * Prints "echo_server: listening on port P (N threads)" once every listener
 * is open. A connection is closed after the peer closed its side and every
 * byte was echoed. Uses only <tas_ll.h>, libc and bench_common.c.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tas_ll.h>

#include "bench_common.h"

#define EV_BATCH 64
#define MAX_THREADS FLEXTCP_MAX_CONTEXTS
#define BACKLOG 1024

/* Received bytes not echoed yet: they stay in the receive ring. */
struct piece {
	uint8_t *buf;
	size_t len;
};

struct econn {
	struct flextcp_connection c; /* first: events give us &c */
	struct piece *pieces;
	size_t head, count, cap;
	int rx_closed, fin_sent;
};

struct worker {
	int id;
	uint16_t port;
	int nthreads;
	struct flextcp_context ctx;
	struct flextcp_listener lst;
};

static atomic_int listening;

static struct econn *econn_new(void)
{
	struct econn *e = calloc(1, sizeof(*e));

	if (e == NULL)
		bench_fail("out of memory");
	return e;
}

static void econn_free(struct econn *e)
{
	free(e->pieces);
	free(e);
}

static void piece_push(struct econn *e, void *buf, size_t len)
{
	if (e->head + e->count == e->cap) {
		if (e->head > 0) {
			memmove(e->pieces, e->pieces + e->head,
				e->count * sizeof(*e->pieces));
			e->head = 0;
		} else {
			size_t ncap = e->cap ? 2 * e->cap : 8;
			struct piece *n = realloc(e->pieces, ncap * sizeof(*n));

			if (n == NULL)
				bench_fail("out of memory");
			e->pieces = n;
			e->cap = ncap;
		}
	}
	e->pieces[e->head + e->count].buf = buf;
	e->pieces[e->head + e->count].len = len;
	e->count++;
}

/* Copy pending received bytes into the send ring as far as it has room. */
static void echo_some(struct flextcp_context *ctx, struct econn *e)
{
	while (e->count > 0) {
		struct piece *p = &e->pieces[e->head];
		void *b1, *b2;
		size_t l1;
		ssize_t got;

		got = flextcp_connection_tx_alloc2(&e->c, p->len, &b1, &l1,
						   &b2);
		if (got <= 0)
			break;
		memcpy(b1, p->buf, l1);
		if ((size_t)got > l1)
			memcpy(b2, p->buf + l1, (size_t)got - l1);
		if (flextcp_connection_tx_send(ctx, &e->c, (size_t)got) != 0 ||
		    flextcp_connection_rx_done(ctx, &e->c, (size_t)got) != 0) {
			fprintf(stderr, "echo_server: send failed\n");
			exit(1);
		}
		p->buf += got;
		p->len -= (size_t)got;
		if (p->len == 0) {
			e->head++;
			e->count--;
		}
	}
	if (e->count == 0)
		e->head = 0;
	if (e->rx_closed && e->count == 0 && !e->fin_sent) {
		e->fin_sent = 1;
		if (flextcp_connection_tx_close(ctx, &e->c) != 0)
			flextcp_connection_close(ctx, &e->c);
	}
}

static void handle(struct worker *w, const struct flextcp_event *ev)
{
	struct flextcp_context *ctx = &w->ctx;
	struct econn *e;

	switch (ev->event_type) {
	case FLEXTCP_EV_LISTEN_OPEN:
		if (ev->ev.listen_open.status != 0) {
			fprintf(stderr,
				"echo_server: cannot listen on port %u: %s\n",
				w->port, strerror(-ev->ev.listen_open.status));
			exit(1);
		}
		if (atomic_fetch_add(&listening, 1) + 1 == w->nthreads) {
			printf("echo_server: listening on port %u (%d "
			       "threads)\n",
			       w->port, w->nthreads);
			fflush(stdout);
		}
		break;
	case FLEXTCP_EV_LISTEN_ACCEPT:
		if (flextcp_listen_accept(ctx, &w->lst, &econn_new()->c) != 0) {
			fprintf(stderr, "echo_server: accept failed\n");
			exit(1);
		}
		break;
	case FLEXTCP_EV_CONN_RECEIVED:
		e = (struct econn *)ev->ev.conn_received.conn;
		piece_push(e, ev->ev.conn_received.buf,
			   ev->ev.conn_received.len);
		echo_some(ctx, e);
		break;
	case FLEXTCP_EV_CONN_SENDBUF:
		echo_some(ctx, (struct econn *)ev->ev.conn_sendbuf.conn);
		break;
	case FLEXTCP_EV_CONN_RXCLOSED:
		e = (struct econn *)ev->ev.conn_rxclosed.conn;
		e->rx_closed = 1;
		echo_some(ctx, e);
		break;
	case FLEXTCP_EV_CONN_TXCLOSED:
		flextcp_connection_close(ctx, ev->ev.conn_txclosed.conn);
		break;
	case FLEXTCP_EV_CONN_CLOSED:
		econn_free((struct econn *)ev->ev.conn_closed.conn);
		break;
	default:
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct flextcp_event evs[EV_BATCH];
	uint32_t flags = w->nthreads > 1 ? FLEXTCP_LISTEN_REUSEPORT : 0;

	if (flextcp_context_create(&w->ctx) != 0) {
		fprintf(stderr, "echo_server: cannot create a context\n");
		exit(1);
	}
	if (flextcp_listen_open(&w->ctx, &w->lst, w->port, BACKLOG, flags) !=
		    0 ||
	    flextcp_listen_accept(&w->ctx, &w->lst, &econn_new()->c) != 0) {
		fprintf(stderr, "echo_server: cannot listen on port %u\n",
			w->port);
		exit(1);
	}
	for (;;) {
		int n = flextcp_context_poll(&w->ctx, EV_BATCH, evs);

		for (int i = 0; i < n; i++)
			handle(w, &evs[i]);
		if (n == 0)
			flextcp_block(&w->ctx, 1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	pthread_t thr[MAX_THREADS];
	long port, nthreads;

	bench_prog = "echo_server";
	bench_synopsis = "echo_server --port P [--threads N]";
	bench_echo_parse(argc, argv, MAX_THREADS, &port, &nthreads, NULL);
	if (flextcp_init() != 0)
		return 1;
	for (int i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].port = (uint16_t)port;
		w[i].nthreads = (int)nthreads;
		if (pthread_create(&thr[i], NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "echo_server: cannot start threads\n");
			return 1;
		}
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(thr[i], NULL);
	return 0;
}
