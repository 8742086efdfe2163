/*
 * objstore_client.c - the objstore client (see objstore.c): what both
 * transports share, the flextcp client (one context, the connections as
 * state machines over plain ring sends and receives), the result lines
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tas_ll.h>

#include "bench_common.h"
#include "objstore.h"

/* ==== clients ==== */

/**
 * os_object_ok - one more object stored or verified
 */
void os_object_ok(struct cli *cl)
{
	atomic_fetch_add(&cl->ok, 1);
}

/**
 * os_report_mismatch - count a failed object (the first ten printed)
 */
void os_report_mismatch(struct cli *cl, uint64_t id, const char *why)
{
	atomic_fetch_add(&cl->failed, 1);
	if (atomic_fetch_add(&cl->reported, 1) < 10)
		fprintf(stderr, "objstore: object %llu: %s\n",
			(unsigned long long)id, why);
}

/**
 * os_obj_id - the id of object @k (0-based) of connection @j
 */
uint64_t os_obj_id(const struct cli *cl, long j, uint64_t k)
{
	return cl->first + k * (uint64_t)cl->conns + (uint64_t)j;
}

/**
 * os_objs_of - how many objects connection @j handles
 */
uint64_t os_objs_of(const struct cli *cl, long j)
{
	return cl->count / (uint64_t)cl->conns +
	       ((uint64_t)j < cl->count % (uint64_t)cl->conns);
}

/* ---- flextcp client: one context, the connections as state machines
 * (plain ring sends and receives) ---- */

enum cstate {
	CS_OPENING,
	CS_SEND,  /* header and payload up to tx_lim */
	CS_REPLY, /* waiting for READY or DONE */
	CS_DATA,  /* GET payload */
	CS_DONE,
};

struct ccon {
	struct flextcp_connection c;
	struct cli *cl;
	struct flextcp_context *ctx;
	long j;
	enum cstate st;
	uint64_t k, n; /* objects done, assigned */
	uint64_t id;
	uint8_t ob[OS_HDR_LEN];
	size_t ob_left;
	uint64_t tx_off, tx_lim; /* PUT payload sent, allowed so far */
	uint8_t hb[OS_HDR_LEN];
	size_t hn;
	uint64_t rx_left;
	struct sha256 h_got, h_exp;
	uint64_t rx_off;
	int err;
};

static void cc_begin(struct ccon *cc)
{
	struct cli *cl = cc->cl;
	struct os_hdr h = { .op = cl->put ? OS_OP_PUT : OS_OP_GET };

	if (cc->k == cc->n) {
		cc->st = CS_DONE;
		if (flextcp_connection_close(cc->ctx, &cc->c) != 0)
			cc->err = -EIO;
		return;
	}
	if (bench_now_ns() > cl->deadline_ns) {
		cc->err = -ETIMEDOUT;
		return;
	}
	cc->id = os_obj_id(cl, cc->j, cc->k);
	h.id = cc->id;
	if (cl->put) {
		h.len = cl->size;
		h.eager = cl->eager < cl->size ? cl->eager : (uint32_t)cl->size;
		cc->tx_lim = h.eager;
	} else {
		cc->tx_lim = 0;
	}
	os_hdr_emit(&h, cc->ob);
	cc->ob_left = OS_HDR_LEN;
	cc->tx_off = 0;
	cc->st = CS_SEND;
}

static void cc_send(struct ccon *cc)
{
	while (cc->st == CS_SEND && !cc->err) {
		uint64_t want = cc->ob_left + (cc->tx_lim - cc->tx_off);
		void *b[2];
		size_t l[2];
		ssize_t n;

		if (want == 0) {
			cc->st = CS_REPLY;
			break;
		}
		n = flextcp_connection_tx_alloc2(
			&cc->c, want > (1u << 30) ? (1u << 30) : (size_t)want,
			&b[0], &l[0], &b[1]);
		if (n <= 0) {
			if (n < 0)
				cc->err = -EIO;
			return; /* SENDBUF brings us back */
		}
		l[1] = (size_t)n - l[0];
		for (int i = 0; i < 2; i++) {
			uint8_t *p = b[i];
			size_t m = l[i];

			while (m && cc->ob_left) {
				size_t k = m < cc->ob_left ? m : cc->ob_left;

				memcpy(p, cc->ob + OS_HDR_LEN - cc->ob_left, k);
				cc->ob_left -= k;
				p += k;
				m -= k;
			}
			if (m) {
				os_obj_fill(p, cc->id, cc->tx_off, m);
				cc->tx_off += m;
			}
		}
		if (flextcp_connection_tx_send(cc->ctx, &cc->c, (size_t)n))
			cc->err = -EIO;
	}
}

static void cc_object_done(struct ccon *cc, bool ok)
{
	struct cli *cl = cc->cl;

	if (ok)
		os_object_ok(cl);
	atomic_fetch_add(&cl->bytes, cl->size);
	cc->k++;
	cc_begin(cc);
	cc_send(cc);
}

static void cc_reply(struct ccon *cc, const struct os_hdr *h)
{
	struct cli *cl = cc->cl;

	if (h->id != cc->id || (h->op != OS_OP_READY && h->op != OS_OP_DONE)) {
		cc->err = -EPROTO;
		return;
	}
	if (cl->put && h->op == OS_OP_READY && cc->tx_lim < cl->size) {
		cc->tx_lim = cl->size;
		cc->st = CS_SEND;
		cc_send(cc);
		return;
	}
	if (h->op != OS_OP_DONE) {
		cc->err = -EPROTO;
		return;
	}
	if (h->status) {
		os_report_mismatch(cl, cc->id, strerror(-h->status));
		if (cl->put) {
			cc->err = h->status;
			return;
		}
		cc->k++; /* a GET refused: the next one */
		cc_begin(cc);
		cc_send(cc);
		return;
	}
	if (cl->put) {
		if (cc->tx_lim != cl->size) {
			cc->err = -EPROTO;
			return;
		}
		if (cl->hashes)
			os_obj_sha(cc->id, cl->size, cl->scratch, cl->scap,
				   cl->hashes[cc->id - cl->first]);
		cc_object_done(cc, true);
		return;
	}
	if (h->len != cl->size) {
		os_report_mismatch(cl, cc->id, "wrong length");
		cc->err = -EPROTO; /* cannot tell where the stream goes on */
		return;
	}
	cc->rx_left = h->len;
	cc->rx_off = 0;
	sha256_init(&cc->h_got);
	sha256_init(&cc->h_exp);
	cc->st = CS_DATA;
	if (h->len == 0)
		cc_object_done(cc, true);
}

static void cc_data_done(struct ccon *cc)
{
	struct cli *cl = cc->cl;
	uint8_t got[SHA256_DIGEST_LEN], exp[SHA256_DIGEST_LEN];
	bool ok;

	sha256_final(&cc->h_got, got);
	sha256_final(&cc->h_exp, exp);
	if (cl->hashes)
		memcpy(cl->hashes[cc->id - cl->first], exp, sizeof(exp));
	ok = !memcmp(got, exp, sizeof(got));
	if (!ok)
		os_report_mismatch(cl, cc->id, "SHA-256 differs");
	cc_object_done(cc, ok);
}

static void cc_received(struct ccon *cc, const uint8_t *p, size_t n)
{
	uint8_t *scratch = cc->cl->scratch;
	size_t scap = cc->cl->scap;

	while (n && !cc->err) {
		size_t k;

		if (cc->st == CS_DATA) {
			k = cc->rx_left < n ? (size_t)cc->rx_left : n;
			k = k < scap ? k : scap;
			sha256_update(&cc->h_got, p, k);
			os_obj_fill(scratch, cc->id, cc->rx_off, k);
			sha256_update(&cc->h_exp, scratch, k);
			cc->rx_off += k;
			cc->rx_left -= k;
			if (cc->rx_left == 0)
				cc_data_done(cc);
		} else if (cc->st == CS_REPLY || cc->st == CS_SEND) {
			/* a reply may come while we still send (an error) */
			struct os_hdr h;

			k = OS_HDR_LEN - cc->hn < n ? OS_HDR_LEN - cc->hn : n;
			memcpy(cc->hb + cc->hn, p, k);
			cc->hn += k;
			if (cc->hn == OS_HDR_LEN) {
				cc->hn = 0;
				if (os_hdr_parse(cc->hb, OS_HDR_LEN, &h))
					cc->err = -EPROTO;
				else if (cc->st == CS_SEND &&
					 h.op == OS_OP_READY)
					cc->err = -EPROTO;
				else
					cc_reply(cc, &h);
			}
		} else {
			cc->err = -EPROTO;
			return;
		}
		p += k;
		n -= k;
	}
}

static int run_fclient(struct cli *cl)
{
	struct flextcp_context ctx;
	struct flextcp_event evs[OS_EV_BATCH];
	struct ccon *cs = calloc((size_t)cl->conns, sizeof(*cs));
	long closed = 0;
	int err = 0;

	if (cs == NULL)
		bench_fail("out of memory");
	cl->scap = 1 << 20;
	cl->scratch = os_xmalloc(cl->scap);
	if (flextcp_init() != 0 || flextcp_context_create(&ctx) != 0)
		bench_fail("cannot reach the tas daemon");
	for (long j = 0; j < cl->conns; j++) {
		cs[j].cl = cl;
		cs[j].ctx = &ctx;
		cs[j].j = j;
		cs[j].n = os_objs_of(cl, j);
		cs[j].st = CS_OPENING;
		if (flextcp_connection_open(&ctx, &cs[j].c, ntohl(cl->ip_be),
					    (uint16_t)cl->port) != 0)
			bench_fail("cannot open a connection");
	}
	while (closed < cl->conns && !err) {
		int n = flextcp_context_poll(&ctx, OS_EV_BATCH, evs);

		for (int i = 0; i < n && !err; i++) {
			const struct flextcp_event *ev = &evs[i];
			struct ccon *cc;

			switch (ev->event_type) {
			case FLEXTCP_EV_CONN_OPEN:
				cc = (struct ccon *)ev->ev.conn_open.conn;
				if (ev->ev.conn_open.status) {
					cc->err = ev->ev.conn_open.status;
					break;
				}
				cc_begin(cc);
				cc_send(cc);
				break;
			case FLEXTCP_EV_CONN_SENDBUF:
				cc = (struct ccon *)ev->ev.conn_sendbuf.conn;
				cc_send(cc);
				break;
			case FLEXTCP_EV_CONN_RECEIVED:
				cc = (struct ccon *)ev->ev.conn_received.conn;
				cc_received(cc, ev->ev.conn_received.buf,
					    ev->ev.conn_received.len);
				if (cc->st != CS_DONE &&
				    flextcp_connection_rx_done(
					    &ctx, &cc->c,
					    ev->ev.conn_received.len))
					cc->err = -EIO;
				break;
			case FLEXTCP_EV_CONN_RXCLOSED:
				cc = (struct ccon *)ev->ev.conn_rxclosed.conn;
				if (cc->st != CS_DONE)
					cc->err = -EPIPE;
				break;
			case FLEXTCP_EV_CONN_CLOSED:
				cc = (struct ccon *)ev->ev.conn_closed.conn;
				if (ev->ev.conn_closed.status)
					cc->err = ev->ev.conn_closed.status;
				closed++;
				break;
			default:
				cc = NULL;
				break;
			}
			if (cc && cc->err)
				err = cc->err;
		}
		if (!err && bench_now_ns() > cl->deadline_ns)
			err = -ETIMEDOUT;
		if (n == 0 && !err)
			flextcp_block(&ctx, 100);
	}
	if (err)
		fprintf(stderr, "objstore: %s\n", strerror(-err));
	free(cs);
	free(cl->scratch);
	return err;
}

/**
 * os_run_client - run the client, print its result lines
 *
 * Return: 0 if every object was stored or verified, else 1.
 */
int os_run_client(struct cli *cl)
{
	uint64_t t0 = bench_now_ns();
	double secs;
	int err;

	cl->deadline_ns = t0 + (uint64_t)(cl->timeout_s * 1e9);
	if (cl->want_hashes) {
		cl->hashes = calloc(cl->count, SHA256_DIGEST_LEN);
		if (cl->hashes == NULL)
			bench_fail("out of memory");
	}
	err = cl->kernel ? os_run_kclient(cl) : run_fclient(cl);
	secs = (double)(bench_now_ns() - t0) / 1e9;
	printf("objstore: %s %llu of %llu objects of %llu bytes (%llu bytes) "
	       "in %.2f s, %.1f MB/s, %ld connection(s), %s\n",
	       cl->put ? "put" : "got", (unsigned long long)cl->ok,
	       (unsigned long long)cl->count, (unsigned long long)cl->size,
	       (unsigned long long)cl->bytes, secs,
	       secs > 0 ? (double)cl->bytes / secs / 1e6 : 0.0, cl->conns,
	       cl->kernel ? "kernel sockets" : "flextcp");
	if (err == 0 && cl->failed == 0 && cl->ok == cl->count) {
		printf("objstore: %s %llu objects: %s ok\n",
		       cl->put ? "put" : "get", (unsigned long long)cl->count,
		       cl->put ? "all stored" : "every SHA-256 matches,");
		return 0;
	}
	printf("objstore: %s: %llu of %llu objects FAILED%s\n",
	       cl->put ? "put" : "get",
	       (unsigned long long)(cl->count - cl->ok),
	       (unsigned long long)cl->count,
	       err ? " (the run stopped early)" : "");
	return 1;
}

/**
 * os_write_hashes - "SHA256  ID" lines of the expected content
 *
 * Return: 0 or a negative errno.
 */
int os_write_hashes(const struct cli *cl, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -errno;
	for (uint64_t i = 0; i < cl->count; i++) {
		char hex[SHA256_HEX_LEN];

		sha256_hex(cl->hashes[i], hex);
		fprintf(f, "%s  %llu\n", hex,
			(unsigned long long)(cl->first + i));
	}
	return fclose(f) ? -errno : 0;
}
