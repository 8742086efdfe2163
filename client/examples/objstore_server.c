/*
 * objstore_server.c - the objstore server on flextcp with zero-copy (see
 * objstore.c): PUT payloads placed by the service into buffers of one
 * shared region (rx_post) and written to disk with O_DIRECT from there,
 * GETs read into such buffers and sent with tx_send_zc. One context, one
 * thread; each connection a state machine that consumes its stream, ring
 * pieces and placed buffers alike, strictly in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tas_ll.h>

#include "bench_common.h"
#include "objstore.h"

#define PIECES 16 /* unconsumed stream pieces per connection */

/* ==== the flextcp server ==== */

/* Page allocator over the one shared region (first fit). */
struct pool {
	struct flextcp_mem_region *r;
	uint8_t *base;
	size_t npages, nfree;
	uint8_t *used; /* per page */
};

static uint8_t *pool_get(struct pool *p, uint64_t len)
{
	size_t n = os_pages(len), run = 0;

	if (n > p->nfree)
		return NULL;
	for (size_t i = 0; i < p->npages; i++) {
		run = p->used[i] ? 0 : run + 1;
		if (run == n) {
			memset(p->used + i + 1 - n, 1, n);
			p->nfree -= n;
			return p->base + (i + 1 - n) * OS_PAGE;
		}
	}
	return NULL;
}

static void pool_put(struct pool *p, uint8_t *b, uint64_t len)
{
	size_t i = (size_t)(b - p->base) / OS_PAGE, n = os_pages(len);

	memset(p->used + i, 0, n);
	p->nfree += n;
}

enum sstate {
	SS_HDR,	 /* collecting a request header */
	SS_WAIT, /* the request waits for buffer memory */
	SS_PUT,	 /* PUT payload: eager bytes, then the posted rest */
};

struct piece {
	const uint8_t *p;
	size_t n;
	bool ring; /* in the receive ring (needs rx_done) or placed */
};

struct server;

struct sconn {
	struct flextcp_connection c; /* first: events hand it back */
	struct server *s;
	struct sconn *next, *wnext; /* all connections; waiting for memory */
	bool waiting;
	enum sstate state;
	struct piece q[PIECES]; /* stream bytes not consumed, in order */
	unsigned qh, qn;
	uint8_t hb[OS_HDR_LEN];
	size_t hn;
	struct os_hdr req;
	uint8_t *buf; /* the PUT's buffer (NULL: drain, answer an error) */
	uint64_t got; /* PUT payload bytes in place */
	bool posted;
	int rfd; /* GET waiting for memory: the open file */
	bool rdirect;
	uint64_t rsize;
	/* output: one reply header, then maybe one zero-copy payload */
	uint8_t ob[OS_HDR_LEN];
	size_t ob_left;
	uint8_t *zbuf;
	uint64_t zlen;
	unsigned zc_inflight;
	bool rx_closed, closing, broken;
	bool retry; /* stopped on a full command queue: advance again */
	char name[32];
	struct conn_stats st;
};

struct server {
	struct flextcp_context ctx;
	struct flextcp_listener lst;
	struct pool pool;
	const char *dir;
	int dirfd;
	struct sconn *conns, *wait_head, *wait_tail;
	struct conn_stats total;
	struct io_stats io;
};

static void sc_fail(struct sconn *sc, const char *why)
{
	fprintf(stderr, "objstore: %s: %s; closing the connection\n", sc->name,
		why);
	sc->broken = true;
	sc->st.errors++;
}

static void sc_reply(struct sconn *sc, uint16_t op, int status, uint64_t len)
{
	struct os_hdr h = { .op = op,
			    .status = (int16_t)status,
			    .id = sc->req.id,
			    .len = len };

	os_hdr_emit(&h, sc->ob);
	sc->ob_left = OS_HDR_LEN;
}

/* Write what output is pending; true if none is left. */
static bool sc_flush(struct sconn *sc)
{
	struct server *s = sc->s;

	while (sc->ob_left) {
		void *b1, *b2;
		size_t l1;
		ssize_t n = flextcp_connection_tx_alloc2(&sc->c, sc->ob_left,
							 &b1, &l1, &b2);
		const uint8_t *src = sc->ob + OS_HDR_LEN - sc->ob_left;

		if (n < 0) {
			sc_fail(sc, "cannot send");
			return false;
		}
		if (n == 0)
			return false; /* SENDBUF brings us back */
		memcpy(b1, src, l1);
		if ((size_t)n > l1)
			memcpy(b2, src + l1, (size_t)n - l1);
		if (flextcp_connection_tx_send(&s->ctx, &sc->c, (size_t)n)) {
			sc_fail(sc, "tx_send failed");
			return false;
		}
		sc->ob_left -= (size_t)n;
	}
	if (sc->zbuf) {
		if (flextcp_connection_tx_send_zc(
			    &s->ctx, &sc->c, s->pool.r,
			    (size_t)(sc->zbuf - s->pool.base), sc->zlen,
			    (uint64_t)(uintptr_t)sc->zbuf)) {
			if (errno == ENOBUFS)
				return false; /* TX_ZC_DONE brings us back */
			sc_fail(sc, "tx_send_zc failed");
			return false;
		}
		sc->st.zc_sent += sc->zlen;
		sc->zc_inflight++;
		sc->zbuf = NULL;
	}
	return true;
}

static void sc_wait(struct sconn *sc)
{
	struct server *s = sc->s;

	sc->state = SS_WAIT;
	if (sc->waiting)
		return;
	sc->waiting = true;
	sc->wnext = NULL;
	if (s->wait_tail)
		s->wait_tail->wnext = sc;
	else
		s->wait_head = sc;
	s->wait_tail = sc;
}

/* The remaining payload is the client's next bytes: post it, then READY.
 * False if the command queue is full (the post must go out before READY;
 * retried on the next pass). */
static bool put_post(struct sconn *sc)
{
	struct server *s = sc->s;
	uint64_t rest = sc->req.len - sc->got;

	if (flextcp_connection_tx_possible(&s->ctx, &sc->c))
		return false;
	if (flextcp_connection_rx_post(&s->ctx, &sc->c, s->pool.r,
				       (size_t)(sc->buf - s->pool.base) +
					       sc->got,
				       rest, sc->got)) {
		sc_fail(sc, "rx_post failed");
		return false;
	}
	sc->posted = true;
	sc_reply(sc, OS_OP_READY, 0, rest);
	return true;
}

static void put_done(struct sconn *sc)
{
	struct server *s = sc->s;
	int ret = -EFBIG;

	if (sc->buf) {
		ret = os_obj_write(s->dirfd, s->dir, sc->req.id, sc->buf,
				   sc->req.len, &s->io);
		pool_put(&s->pool, sc->buf, sc->req.len);
		sc->buf = NULL;
	}
	if (ret == 0) {
		sc->st.puts++;
		sc->st.put_bytes += sc->req.len;
	} else {
		sc->st.errors++;
		fprintf(stderr, "objstore: %s: PUT %llu: %s\n", sc->name,
			(unsigned long long)sc->req.id, strerror(-ret));
	}
	sc_reply(sc, OS_OP_DONE, ret, 0);
	sc->state = SS_HDR;
}

/* Start the request in sc->req once memory is there; false: wait. */
static bool req_start(struct sconn *sc)
{
	struct server *s = sc->s;
	uint64_t len = sc->req.op == OS_OP_PUT ? sc->req.len : sc->rsize;
	bool fits = os_pages(len) <= s->pool.npages;
	uint8_t *b = fits ? pool_get(&s->pool, len) : NULL;
	int ret;

	if (fits && b == NULL) {
		sc_wait(sc);
		return false;
	}
	sc->state = SS_HDR;
	if (sc->req.op == OS_OP_PUT) {
		sc->buf = b; /* NULL: too big, drain the eager bytes */
		sc->got = 0;
		sc->posted = false;
		sc->state = SS_PUT;
		if (sc->req.len == 0)
			put_done(sc);
		return true;
	}
	if (b == NULL) {
		close(sc->rfd);
		sc_reply(sc, OS_OP_DONE, -EFBIG, 0);
		return true;
	}
	ret = os_obj_read(sc->rfd, sc->rdirect, b, sc->rsize, &s->io);
	if (ret) {
		pool_put(&s->pool, b, sc->rsize);
		sc->st.errors++;
		sc_reply(sc, OS_OP_DONE, ret, 0);
		return true;
	}
	sc_reply(sc, OS_OP_DONE, 0, sc->rsize);
	sc->st.gets++;
	sc->st.get_bytes += sc->rsize;
	if (sc->rsize) {
		sc->zbuf = b;
		sc->zlen = sc->rsize;
	} else {
		pool_put(&s->pool, b, 0);
	}
	return true;
}

static void req_parsed(struct sconn *sc)
{
	struct server *s = sc->s;
	int ret = os_hdr_parse(sc->hb, OS_HDR_LEN, &sc->req);

	sc->hn = 0;
	if (ret || (sc->req.op != OS_OP_PUT && sc->req.op != OS_OP_GET)) {
		sc_fail(sc, "bad request header");
		return;
	}
	if (sc->req.op == OS_OP_GET) {
		ret = os_obj_open(s->dirfd, sc->req.id, &sc->rsize,
				  &sc->rdirect);
		if (ret < 0) {
			sc->st.errors++;
			sc_reply(sc, OS_OP_DONE, ret, 0);
			return;
		}
		sc->rfd = ret;
	}
	req_start(sc);
}

/* Consume stream bytes at @p, @n of them, in state order; bytes used. */
static size_t sc_consume(struct sconn *sc, const uint8_t *p, size_t n)
{
	size_t k;

	if (sc->state == SS_HDR) {
		k = OS_HDR_LEN - sc->hn < n ? OS_HDR_LEN - sc->hn : n;
		memcpy(sc->hb + sc->hn, p, k);
		sc->hn += k;
		if (sc->hn == OS_HDR_LEN)
			req_parsed(sc);
		return k;
	}
	/* SS_PUT: payload byte got goes to buf + got */
	k = sc->req.len - sc->got < n ? (size_t)(sc->req.len - sc->got) : n;
	if (sc->buf && p == sc->buf + sc->got) {
		sc->st.placed += k;
	} else if (sc->buf) {
		/* from the ring, or a post that started elsewhere */
		memmove(sc->buf + sc->got, p, k);
		sc->st.copied += k;
	}
	sc->got += k;
	if (sc->got == sc->req.len)
		put_done(sc);
	return k;
}

/* Run the connection as far as its input and output allow. */
static void sc_advance(struct sconn *sc)
{
	struct server *s = sc->s;
	size_t ring_used = 0;

	while (!sc->broken && !sc->closing) {
		struct piece *pc;
		size_t k;

		if (!sc_flush(sc))
			break; /* replies first: no new request meanwhile */
		if (sc->state == SS_WAIT && (sc->waiting || !req_start(sc)))
			break;
		if (sc->state == SS_PUT && !sc->posted &&
		    sc->got == sc->req.eager && sc->got < sc->req.len) {
			if (sc->buf == NULL) {
				/* too big: the eager bytes are drained */
				sc_reply(sc, OS_OP_DONE, -EFBIG, 0);
				sc->st.errors++;
				sc->state = SS_HDR;
				continue;
			}
			if (!put_post(sc)) {
				sc->retry = !sc->broken;
				break;
			}
			continue; /* READY goes out first */
		}
		if (sc->qn == 0)
			break;
		pc = &sc->q[sc->qh];
		k = sc_consume(sc, pc->p, pc->n);
		pc->p += k;
		pc->n -= k;
		if (pc->ring)
			ring_used += k;
		if (pc->n == 0) {
			sc->qh = (sc->qh + 1) % PIECES;
			sc->qn--;
		}
	}
	if (ring_used &&
	    flextcp_connection_rx_done(&s->ctx, &sc->c, ring_used) != 0)
		sc_fail(sc, "rx_done failed");
	if (sc->closing)
		return;
	if (sc->broken ||
	    (sc->rx_closed && sc->qn == 0 && !sc->ob_left && !sc->zbuf &&
	     !sc->zc_inflight && sc->state != SS_WAIT)) {
		if (!sc->broken && (sc->state != SS_HDR || sc->hn))
			fprintf(stderr,
				"objstore: %s: stream ended inside a "
				"request\n",
				sc->name);
		sc->closing = true;
		/* -1: the connection was reset and libtas knows it already
		 * (its CONN_CLOSED waits later in this batch of events) */
		flextcp_connection_close(&s->ctx, &sc->c);
	}
}

static void sc_push(struct sconn *sc, const void *p, size_t n, bool ring)
{
	struct piece *last =
		sc->qn ? &sc->q[(sc->qh + sc->qn - 1) % PIECES] : NULL;

	if (n == 0)
		return;
	if (last && last->ring == ring && last->p + last->n == p) {
		last->n += n; /* contiguous in the ring */
		return;
	}
	if (sc->qn == PIECES) {
		sc_fail(sc, "too many unconsumed pieces");
		return;
	}
	sc->q[(sc->qh + sc->qn++) % PIECES] =
		(struct piece){ .p = p, .n = n, .ring = ring };
}

static struct sconn *sc_new(struct server *s)
{
	struct sconn *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		bench_fail("out of memory");
	sc->s = s;
	sc->rfd = -1;
	if (flextcp_listen_accept(&s->ctx, &s->lst, &sc->c) != 0)
		bench_fail("accept failed");
	return sc;
}

static void sc_closed(struct sconn *sc, int status)
{
	struct server *s = sc->s;
	struct sconn **pp;

	if (status)
		fprintf(stderr, "objstore: %s: connection aborted: %s\n",
			sc->name, strerror(-status));
	if (sc->buf)
		pool_put(&s->pool, sc->buf, sc->req.len);
	if (sc->zbuf)
		pool_put(&s->pool, sc->zbuf, sc->zlen);
	if (sc->state == SS_WAIT && sc->req.op == OS_OP_GET)
		close(sc->rfd);
	if (sc->waiting) {
		struct sconn **w = &s->wait_head, *prev = NULL;

		while (*w != sc) {
			prev = *w;
			w = &(*w)->wnext;
		}
		*w = sc->wnext;
		if (s->wait_tail == sc)
			s->wait_tail = prev;
	}
	for (pp = &s->conns; *pp != sc; pp = &(*pp)->next)
		;
	*pp = sc->next;
	os_stats_add(&s->total, &sc->st);
	os_stats_print(sc->name, &sc->st, &s->io);
	os_stats_print("total", &s->total, &s->io);
	printf("objstore: buffers: %zu of %zu pages free\n", s->pool.nfree,
	       s->pool.npages);
	fflush(stdout);
	free(sc);
}

/* Memory came back: restart waiting requests in arrival order. */
static void wake_waiters(struct server *s)
{
	while (s->wait_head) {
		struct sconn *sc = s->wait_head;

		if (!req_start(sc))
			return; /* still waiting (and still first) */
		sc->waiting = false;
		s->wait_head = sc->wnext;
		if (s->wait_head == NULL)
			s->wait_tail = NULL;
		sc_advance(sc);
	}
}

/* Connections that stopped on a full command queue. */
static void retry_stalled(struct server *s)
{
	for (struct sconn *sc = s->conns; sc; sc = sc->next) {
		if (!sc->retry)
			continue;
		sc->retry = false;
		sc_advance(sc);
	}
}

static void srv_event(struct server *s, const struct flextcp_event *ev)
{
	struct sconn *sc;

	switch (ev->event_type) {
	case FLEXTCP_EV_LISTEN_OPEN:
		if (ev->ev.listen_open.status)
			bench_fail_err("cannot listen",
				       -ev->ev.listen_open.status);
		printf("objstore: listening\n");
		fflush(stdout);
		break;
	case FLEXTCP_EV_LISTEN_ACCEPT: {
		uint32_t ip;
		uint16_t port;

		sc = (struct sconn *)ev->ev.listen_accept.conn;
		if (ev->ev.listen_accept.status) {
			free(sc);
			break;
		}
		flextcp_connection_addrs(&sc->c, NULL, NULL, &ip, &port);
		snprintf(sc->name, sizeof(sc->name), "%u.%u.%u.%u:%u", ip >> 24,
			 (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, port);
		sc->next = s->conns;
		s->conns = sc;
		sc_new(s);
		break;
	}
	case FLEXTCP_EV_CONN_RECEIVED:
		sc = (struct sconn *)ev->ev.conn_received.conn;
		sc_push(sc, ev->ev.conn_received.buf, ev->ev.conn_received.len,
			true);
		sc_advance(sc);
		break;
	case FLEXTCP_EV_CONN_RX_PLACED:
		sc = (struct sconn *)ev->ev.conn_rx_placed.conn;
		if (ev->ev.conn_rx_placed.status)
			break; /* the connection is ending: CLOSED follows */
		sc_push(sc, ev->ev.conn_rx_placed.buf,
			ev->ev.conn_rx_placed.len, false);
		sc_advance(sc);
		break;
	case FLEXTCP_EV_CONN_TX_ZC_DONE:
		sc = (struct sconn *)ev->ev.conn_tx_zc_done.conn;
		pool_put(&s->pool,
			 (uint8_t *)(uintptr_t)ev->ev.conn_tx_zc_done.cookie,
			 ev->ev.conn_tx_zc_done.len);
		sc->zc_inflight--;
		sc_advance(sc);
		wake_waiters(s);
		break;
	case FLEXTCP_EV_CONN_SENDBUF:
		sc_advance((struct sconn *)ev->ev.conn_sendbuf.conn);
		break;
	case FLEXTCP_EV_CONN_RXCLOSED:
		sc = (struct sconn *)ev->ev.conn_rxclosed.conn;
		sc->rx_closed = true;
		sc_advance(sc);
		break;
	case FLEXTCP_EV_CONN_CLOSED:
		sc_closed((struct sconn *)ev->ev.conn_closed.conn,
			  ev->ev.conn_closed.status);
		wake_waiters(s);
		break;
	default:
		break;
	}
}

/**
 * os_run_server - the zero-copy flextcp server, until SIGINT or SIGTERM
 */
int os_run_server(long port, const char *dir, long buf_mb)
{
	struct flextcp_event evs[OS_EV_BATCH];
	struct server *s = calloc(1, sizeof(*s));

	if (s == NULL)
		bench_fail("out of memory");
	s->dir = dir;
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		bench_fail_err(dir, errno);
	if (flextcp_init() != 0 || flextcp_context_create(&s->ctx) != 0)
		bench_fail("cannot reach the tas daemon");
	if (flextcp_mem_alloc(&s->ctx, (size_t)buf_mb << 20, &s->pool.r))
		bench_fail_err("flextcp_mem_alloc", errno);
	s->pool.base = s->pool.r->addr;
	s->pool.npages = s->pool.nfree = s->pool.r->len / OS_PAGE;
	s->pool.used = calloc(s->pool.npages, 1);
	if (s->pool.used == NULL)
		bench_fail("out of memory");
	if (flextcp_listen_open(&s->ctx, &s->lst, (uint16_t)port, 64, 0) != 0)
		bench_fail("cannot listen");
	sc_new(s);
	printf("objstore: server on port %ld, dir %s, %zu MiB of buffers "
	       "(flextcp, zero-copy)\n",
	       port, dir, s->pool.r->len >> 20);
	fflush(stdout);
	os_catch_signals();
	while (!os_stop) {
		int n = flextcp_context_poll(&s->ctx, OS_EV_BATCH, evs);
		bool stalled = false;

		for (int i = 0; i < n; i++)
			srv_event(s, &evs[i]);
		retry_stalled(s);
		for (struct sconn *sc = s->conns; sc; sc = sc->next)
			stalled |= sc->retry;
		if (n == 0)
			flextcp_block(&s->ctx, stalled ? 1 : 100);
	}
	for (struct sconn *sc = s->conns; sc; sc = sc->next)
		os_stats_add(&s->total, &sc->st);
	os_stats_print("at exit", &s->total, &s->io);
	return 0;
}
