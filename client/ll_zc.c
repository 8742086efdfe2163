/*
 * ll_zc.c - libtas zero-copy extension: regions shared with the service,
 * sends from them (flextcp_connection_tx_send_zc) and receive buffers
 * posted into them (flextcp_connection_rx_post); see docs/ZEROCOPY.md
 *
 * A zero-copy send takes send-ring space like tx_send, without writing the
 * ring: the library hands the service chunks of at most the free ring
 * space (TAS_CMD_TX_ZC) and the operation is done when TX_FREED has
 * covered its last byte, which the service reports only once the bytes are
 * acknowledged and every frame that carried them has completed. Ordinary
 * sends wait behind a send that is not fully handed over, so the stream
 * keeps the order of the calls.
 *
 * A posted receive buffer covers the stream bytes right after the app's
 * position when it posts (everything announced to it, plus earlier posts):
 * TAS_CMD_RX_AT carries that position, TAS_CMD_RX_POST the buffer. Bytes
 * of that range the service had announced as ring bytes before it saw the
 * post arrive here as TAS_EV_RX all the same; libtas hides them (the
 * service copied them into the buffer when it took the post) and the
 * service's TAS_EV_RX_PLACED counts the rest. Ring bytes after a post that
 * the service announced before it took the post wait (defer) until its
 * TAS_EV_RX_PLACED, so the app sees the stream in order. Placed and hidden
 * bytes need no rx_done: the service gives their window back itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libtas.h"

struct zc_send {
	struct flextcp_mem_region *r;
	uint64_t cookie;
	size_t off;
	uint32_t len, issued;
	uint32_t end; /* tx_cmd_ after the last byte, once all issued */
};

struct zc_recv {
	struct flextcp_mem_region *r;
	uint64_t cookie;
	size_t off;
	uint32_t len;
	uint32_t at;	 /* stream offset of its first byte */
	uint32_t hidden; /* of it, bytes that came as ring bytes */
};

struct libtas_zc {
	struct zc_send tx[TAS_ZC_TX_MAX]; /* FIFO */
	uint32_t tx_head, tx_n;
	uint32_t tx_issued; /* ops from the head fully handed over */
	bool closing;	    /* connection closed: issue nothing more */
	struct zc_recv rx[TAS_ZC_RX_MAX]; /* FIFO */
	uint32_t rx_head, rx_n;
	uint32_t rx_sent; /* posts from the head handed over */
	uint32_t defer;	  /* ring bytes held back behind a full post */
	bool fin;	  /* RX_FIN came while posts were outstanding */
};

/* ---- regions ---- */

/**
 * flextcp_mem_alloc - allocate buffer memory shared with the service
 * @ctx:    any context of the process
 * @len:    bytes (rounded up to whole pages), at most 1 GiB
 * @region: set to the new region; (*region)->addr is page aligned
 *
 * Return: 0, or -1 with errno: EINVAL (bad length), ENOSPC (the app's
 * --zc-mem limit), EMFILE (TAS_MAX_REGIONS live), ENOMEM, or the socket
 * error.
 */
LIBTAS_API int flextcp_mem_alloc(struct flextcp_context *ctx, size_t len,
				 struct flextcp_mem_region **region)
{
	struct tas_msg m = { .type = TAS_MSG_MEM_ALLOC };
	struct flextcp_mem_region *r;
	int fd, ret;
	void *p;

	if (!libtas_ctx_ok(ctx) || region == NULL || len == 0) {
		errno = EINVAL;
		return -1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -1;
	m.mem.len = len;
	ret = libtas_request(&m, &fd);
	if (ret == 0 && (m.type != TAS_MSG_MEM_REPLY || m.status > 0 ||
			 (m.status == 0 &&
			  (fd < 0 || m.mem.len < len || m.mem.region == 0 ||
			   m.mem.region > UINT16_MAX))))
		ret = -EPROTO;
	if (ret == 0 && m.status < 0)
		ret = m.status;
	if (ret < 0) {
		if (fd >= 0)
			close(fd);
		free(r);
		errno = -ret;
		return -1;
	}
	p = mmap(NULL, m.mem.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		ret = errno;
		m.type = TAS_MSG_MEM_FREE;
		libtas_request(&m, &fd);
		free(r);
		errno = ret;
		return -1;
	}
	r->addr = p;
	r->len = m.mem.len;
	r->id_ = m.mem.region;
	*region = r;
	return 0;
}

/**
 * flextcp_mem_free - give a region back
 * @ctx:    any context of the process
 * @region: from flextcp_mem_alloc
 *
 * Return: 0, or -1 with errno EBUSY (zero-copy sends or posted buffers of
 * the region are not done yet: nothing changed) or EINVAL.
 */
LIBTAS_API int flextcp_mem_free(struct flextcp_context *ctx,
				struct flextcp_mem_region *region)
{
	struct tas_msg m = { .type = TAS_MSG_MEM_FREE };
	int fd, ret;

	if (!libtas_ctx_ok(ctx) || region == NULL || region->id_ == 0) {
		errno = EINVAL;
		return -1;
	}
	if (__atomic_load_n(&region->busy_, __ATOMIC_RELAXED)) {
		errno = EBUSY;
		return -1;
	}
	m.mem.region = region->id_;
	ret = libtas_request(&m, &fd);
	if (fd >= 0)
		close(fd);
	if (ret == 0 && m.status < 0)
		ret = m.status;
	munmap(region->addr, region->len);
	region->id_ = 0;
	free(region);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

/* ---- operations ---- */

/* A region may serve connections of several contexts (threads). */
static void busy_add(struct flextcp_mem_region *r, int d)
{
	__atomic_fetch_add(&r->busy_, (uint32_t)d, __ATOMIC_RELAXED);
}

static bool range_ok(const struct flextcp_mem_region *r, size_t off, size_t len)
{
	return r != NULL && r->id_ != 0 && len > 0 && off <= r->len &&
	       len <= r->len - off && len <= UINT32_MAX / 2;
}

/* The checks both operations share (@dir_ok: the direction is open); the
 * connection's zero-copy state, made on first use, or NULL with errno
 * EINVAL or ENOMEM. */
static struct libtas_zc *zc_start(struct flextcp_context *ctx,
				  struct flextcp_connection *c,
				  const struct flextcp_mem_region *r,
				  size_t off, size_t len, bool dir_ok)
{
	if (!libtas_conn_usable(ctx, c) || !dir_ok || !range_ok(r, off, len)) {
		errno = EINVAL;
		return NULL;
	}
	if (c->zc_ == NULL)
		c->zc_ = calloc(1, sizeof(*c->zc_));
	return c->zc_;
}

/**
 * flextcp_connection_tx_send_zc - send bytes of a region without copying
 * @ctx:    the connection's context
 * @conn:   an open connection
 * @region: the bytes' region
 * @offset: first byte in the region
 * @len:    bytes (any length; handed over as send-ring space frees up)
 * @cookie: reported back in FLEXTCP_EV_CONN_TX_ZC_DONE
 *
 * The bytes follow everything sent so far, and bytes sent later follow
 * them. They must not change until FLEXTCP_EV_CONN_TX_ZC_DONE.
 *
 * Return: 0, or -1 with errno: EINVAL (range, connection not open or
 * closed for sending, send-ring bytes allocated but not sent), ENOBUFS
 * (TAS_ZC_TX_MAX sends outstanding), ENOMEM.
 */
LIBTAS_API int flextcp_connection_tx_send_zc(struct flextcp_context *ctx,
					     struct flextcp_connection *conn,
					     struct flextcp_mem_region *region,
					     size_t offset, size_t len,
					     uint64_t cookie)
{
	struct libtas_zc *z =
		zc_start(ctx, conn, region, offset, len,
			 conn && !(conn->flags_ & LIBTAS_CF_TX_CLOSED) &&
				 conn->tx_alloc_ == conn->tx_sent_);

	if (z == NULL)
		return -1;
	if (z->tx_n == TAS_ZC_TX_MAX) {
		errno = ENOBUFS;
		return -1;
	}
	z->tx[(z->tx_head + z->tx_n++) % TAS_ZC_TX_MAX] =
		(struct zc_send){ .r = region,
				  .cookie = cookie,
				  .off = offset,
				  .len = (uint32_t)len };
	busy_add(region, 1);
	libtas_conn_bump(ctx->priv_, conn);
	libtas_kick(ctx->priv_);
	return 0;
}

/**
 * flextcp_connection_rx_post - receive the next stream bytes into a region
 * @ctx:    the connection's context
 * @conn:   an open connection
 * @region: the buffer's region
 * @offset: first byte in the region
 * @len:    bytes
 * @cookie: reported back in FLEXTCP_EV_CONN_RX_PLACED
 *
 * Covers the @len stream bytes right after those announced to the app so
 * far (CONN_RECEIVED, RX_PLACED) and after earlier posts, also when some
 * of them have arrived already; bytes outside posted buffers arrive in
 * the receive ring as usual.
 *
 * Return: 0, or -1 with errno: EINVAL, ENOBUFS (TAS_ZC_RX_MAX posts
 * outstanding), ENOMEM.
 */
LIBTAS_API int flextcp_connection_rx_post(struct flextcp_context *ctx,
					  struct flextcp_connection *conn,
					  struct flextcp_mem_region *region,
					  size_t offset, size_t len,
					  uint64_t cookie)
{
	struct libtas_zc *z =
		zc_start(ctx, conn, region, offset, len,
			 conn && !(conn->flags_ & LIBTAS_CF_RX_CLOSED));

	if (z == NULL)
		return -1;
	if (z->rx_n == TAS_ZC_RX_MAX) {
		errno = ENOBUFS;
		return -1;
	}
	z->rx[(z->rx_head + z->rx_n) % TAS_ZC_RX_MAX] = (struct zc_recv){
		.r = region,
		.cookie = cookie,
		.off = offset,
		.len = (uint32_t)len,
		/* right after the app's position and earlier posts */
		.at = z->rx_n ? z->rx[(z->rx_head + z->rx_n - 1) %
				      TAS_ZC_RX_MAX]
						.at +
					z->rx[(z->rx_head + z->rx_n - 1) %
					      TAS_ZC_RX_MAX]
						.len
			      : conn->rx_head_
	};
	z->rx_n++;
	busy_add(region, 1);
	libtas_conn_bump(ctx->priv_, conn);
	libtas_kick(ctx->priv_);
	return 0;
}

/* ---- called by ll_conn.c ---- */

/**
 * libtas_zc_flush - hand the service what send-ring space allows of the
 * pending zero-copy sends, and the posts not yet handed over
 *
 * Return: false if the command queue filled (retried later).
 */
bool libtas_zc_flush(struct libtas_ctx *p, struct flextcp_connection *c)
{
	struct libtas_zc *z = c->zc_;
	struct tas_cmd cmd = { .flow = c->flow_ };

	if (z == NULL)
		return true;
	while (!z->closing && z->tx_issued < z->tx_n) {
		struct zc_send *o =
			&z->tx[(z->tx_head + z->tx_issued) % TAS_ZC_TX_MAX];
		uint32_t room = c->txb_size_ - (c->tx_alloc_ - c->tx_freed_);
		uint32_t k = o->len - o->issued;

		if (room == 0)
			break; /* TX_FREED brings us back */
		if (k > room)
			k = room;
		cmd.type = TAS_CMD_TX_ZC;
		cmd.region = (uint16_t)o->r->id_;
		cmd.off = (uint32_t)(o->off + o->issued);
		cmd.len = k;
		if (!libtas_cmd_push(p, c->core_, &cmd))
			return false;
		c->tx_alloc_ += k;
		c->tx_sent_ += k;
		c->tx_cmd_ += k;
		o->issued += k;
		if (o->issued == o->len) {
			o->end = c->tx_cmd_;
			z->tx_issued++;
		}
	}
	while (z->rx_sent < z->rx_n) {
		struct zc_recv *o =
			&z->rx[(z->rx_head + z->rx_sent) % TAS_ZC_RX_MAX];
		struct tas_cmd at = { .type = TAS_CMD_RX_AT,
				      .flow = c->flow_,
				      .len = o->at };

		if (tas_ring_free_count(&p->atx[c->core_]) < 2)
			return false; /* the pair goes in together */
		cmd.type = TAS_CMD_RX_POST;
		cmd.region = (uint16_t)o->r->id_;
		cmd.off = (uint32_t)o->off;
		cmd.len = o->len;
		libtas_cmd_push(p, c->core_, &at);
		libtas_cmd_push(p, c->core_, &cmd);
		z->rx_sent++;
	}
	return true;
}

/**
 * libtas_zc_tx_blocked - a zero-copy send waits for send-ring space (so
 * ordinary sends and the FIN wait too)
 */
bool libtas_zc_tx_blocked(const struct flextcp_connection *c)
{
	const struct libtas_zc *z = c->zc_;

	return z != NULL && !z->closing && z->tx_issued < z->tx_n;
}

/**
 * libtas_zc_close - the app closed the connection: hand over nothing more
 */
void libtas_zc_close(struct flextcp_connection *c)
{
	if (c->zc_)
		c->zc_->closing = true;
}

/**
 * libtas_zc_tx_freed - TX_ZC_DONE for the sends TX_FREED has covered
 *
 * Return: events stored in @out (at most TAS_ZC_TX_MAX).
 */
unsigned libtas_zc_tx_freed(struct flextcp_connection *c,
			    struct flextcp_event *out)
{
	struct libtas_zc *z = c->zc_;
	unsigned n = 0;

	while (z && z->tx_issued) {
		struct zc_send *o = &z->tx[z->tx_head];

		if ((int32_t)(c->tx_freed_ - o->end) < 0)
			break;
		out[n].event_type = FLEXTCP_EV_CONN_TX_ZC_DONE;
		out[n].ev.conn_tx_zc_done.status = 0;
		out[n].ev.conn_tx_zc_done.conn = c;
		out[n].ev.conn_tx_zc_done.cookie = o->cookie;
		out[n].ev.conn_tx_zc_done.len = o->len;
		n++;
		busy_add(o->r, -1);
		z->tx_head = (z->tx_head + 1) % TAS_ZC_TX_MAX;
		z->tx_n--;
		z->tx_issued--;
	}
	return n;
}

/* Bytes the app will never see in the ring nor free: the service gives
 * their window back by itself. */
static void rx_skip(struct flextcp_connection *c, uint32_t n)
{
	c->rx_head_ += n;
	c->rx_freed_ += n;
	c->rx_cmd_ += n;
}

/**
 * libtas_zc_rx - TAS_EV_RX of a connection with posts: bytes inside a post
 * are hidden (they are in its buffer), bytes after it are shown, or held
 * back while a full post waits for the service's word
 *
 * Return: events stored in @out (at most 2).
 */
unsigned libtas_zc_rx(struct flextcp_connection *c, uint32_t a,
		      struct flextcp_event *out)
{
	struct libtas_zc *z = c->zc_;

	while (a) {
		struct zc_recv *o = NULL;
		uint32_t k;

		if (z->defer) {
			z->defer += a; /* behind a full post: keep the order */
			return 0;
		}
		for (uint32_t i = 0; i < z->rx_n; i++) {
			struct zc_recv *q =
				&z->rx[(z->rx_head + i) % TAS_ZC_RX_MAX];

			if ((int32_t)(c->rx_head_ - q->at) >= 0 &&
			    (int32_t)(c->rx_head_ - (q->at + q->len)) < 0) {
				o = q;
				break;
			}
		}
		if (o == NULL && z->rx_n &&
		    (int32_t)(c->rx_head_ - (z->rx[z->rx_head].at +
					     z->rx[z->rx_head].len)) >= 0) {
			z->defer = a; /* behind a full, unreported post */
			return 0;
		}
		if (o == NULL)
			return libtas_rx_show(c, a, out);
		k = o->at + o->len - c->rx_head_;
		k = k < a ? k : a;
		o->hidden += k;
		rx_skip(c, k);
		a -= k;
		if (o->hidden == o->len && a) {
			/* full, but the service has not said so yet: it may
			 * not even have copied these bytes in */
			z->defer = a;
			return 0;
		}
	}
	return 0;
}

/**
 * libtas_zc_placed - TAS_EV_RX_PLACED: the oldest post is done, @len of its
 * bytes placed (the rest came as ring bytes, hidden)
 *
 * Return: events stored in @out (0 if the event does not fit our posts:
 * dropped and counted); at most 3.
 */
unsigned libtas_zc_placed(struct libtas_ctx *p, struct flextcp_connection *c,
			  uint32_t len, struct flextcp_event *out)
{
	struct libtas_zc *z = c->zc_;
	struct zc_recv *o;
	uint32_t d;
	unsigned n;

	if (z == NULL || z->rx_sent == 0) {
		libtas_drop(p, LIBTAS_DROP_BAD_STATE);
		return 0;
	}
	o = &z->rx[z->rx_head];
	if (len > o->len - o->hidden) {
		libtas_drop(p, LIBTAS_DROP_BAD_LEN);
		return 0;
	}
	/* the bytes took stream (ring) positions without entering the ring */
	rx_skip(c, len);
	out->event_type = FLEXTCP_EV_CONN_RX_PLACED;
	out->ev.conn_rx_placed.status = 0;
	out->ev.conn_rx_placed.conn = c;
	out->ev.conn_rx_placed.cookie = o->cookie;
	out->ev.conn_rx_placed.buf = (uint8_t *)o->r->addr + o->off;
	out->ev.conn_rx_placed.len = o->hidden + len;
	busy_add(o->r, -1);
	z->rx_head = (z->rx_head + 1) % TAS_ZC_RX_MAX;
	z->rx_n--;
	z->rx_sent--;
	d = z->defer;
	z->defer = 0;
	n = 1 + (d ? libtas_zc_rx(c, d, out + 1) : 0);
	if (z->fin && z->rx_n == 0) {
		z->fin = false;
		out[n].event_type = FLEXTCP_EV_CONN_RXCLOSED;
		out[n].ev.conn_rxclosed.conn = c;
		n++;
	}
	return n;
}

/**
 * libtas_zc_deferred - ring bytes held back (they count as received)
 */
uint32_t libtas_zc_deferred(const struct flextcp_connection *c)
{
	return c->zc_ ? c->zc_->defer : 0;
}

/**
 * libtas_zc_end - the connection is gone: every outstanding send and post
 * ends with -ECONNABORTED; the zero-copy state is freed
 *
 * Return: events stored in @out (at most TAS_ZC_TX_MAX + TAS_ZC_RX_MAX).
 */
unsigned libtas_zc_end(struct flextcp_connection *c, struct flextcp_event *out)
{
	struct libtas_zc *z = c->zc_;
	unsigned n = 0;

	if (z == NULL)
		return 0;
	for (uint32_t i = 0; i < z->tx_n; i++, n++) {
		struct zc_send *o = &z->tx[(z->tx_head + i) % TAS_ZC_TX_MAX];

		out[n].event_type = FLEXTCP_EV_CONN_TX_ZC_DONE;
		out[n].ev.conn_tx_zc_done.status = -ECONNABORTED;
		out[n].ev.conn_tx_zc_done.conn = c;
		out[n].ev.conn_tx_zc_done.cookie = o->cookie;
		out[n].ev.conn_tx_zc_done.len = o->len;
		busy_add(o->r, -1);
	}
	for (uint32_t i = 0; i < z->rx_n; i++, n++) {
		struct zc_recv *o = &z->rx[(z->rx_head + i) % TAS_ZC_RX_MAX];

		out[n].event_type = FLEXTCP_EV_CONN_RX_PLACED;
		out[n].ev.conn_rx_placed.status = -ECONNABORTED;
		out[n].ev.conn_rx_placed.conn = c;
		out[n].ev.conn_rx_placed.cookie = o->cookie;
		out[n].ev.conn_rx_placed.buf = (uint8_t *)o->r->addr + o->off;
		out[n].ev.conn_rx_placed.len = 0;
		busy_add(o->r, -1);
	}
	free(z);
	c->zc_ = NULL;
	return n;
}

/**
 * libtas_zc_fin_held - the peer's FIN came while posts are outstanding:
 * RXCLOSED waits until the last of them is reported (stream order)
 *
 * Return: true if held.
 */
bool libtas_zc_fin_held(struct flextcp_connection *c)
{
	if (c->zc_ == NULL || c->zc_->rx_n == 0)
		return false;
	c->zc_->fin = true;
	return true;
}
