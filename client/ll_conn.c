/*
 * ll_conn.c - libtas connections: the flextcp_connection_* calls, deferred
 * commands, and the translation of service events (struct tas_ev) into
 * flextcp events (listener events: ll_listen.c)
 *
 * Follows include/tas/abi.h. Every service event is copied once out of its
 * queue and validated against this context's own tables before anything is
 * touched: the cookie (user) is only ever compared with pointers the app
 * gave us, never dereferenced; flows are looked up by (core, handle); counts
 * are bounded by the connection's own rings.
 *
 * The flow table is in ll_flow.c.
 *
 * Extensions beyond upstream's API: flextcp_listen_close() and the
 * connection accessors (flextcp_connection_tx_space, _tx_capacity, _addrs).
 *
 * Known gaps: a moved connection loses events the fast path had already
 * queued on its old context (see docs/API.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libtas.h"

/* ---- commands ---- */

/**
 * libtas_cmd_push - queue one command to fast-path core @core
 *
 * Return: false if the queue is full.
 */
bool libtas_cmd_push(struct libtas_ctx *p, uint8_t core,
		     const struct tas_cmd *cmd)
{
	if (tas_ring_enqueue_burst(&p->atx[core], cmd, 1) != 1)
		return false;
	p->kick |= 1u << core;
	return true;
}

static bool cmd_push(struct libtas_ctx *p, uint8_t core, uint8_t type,
		     uint32_t flow, uint32_t len)
{
	struct tas_cmd cmd = { .type = type, .flow = flow, .len = len };

	return libtas_cmd_push(p, core, &cmd);
}

/* Send what @c owes the fast path, in order; true if nothing is left. */
static bool conn_flush(struct libtas_ctx *p, struct flextcp_connection *c)
{
	if (c->tx_sent_ != c->tx_cmd_) {
		if (!cmd_push(p, c->core_, TAS_CMD_TX, c->flow_,
			      c->tx_sent_ - c->tx_cmd_))
			return false;
		c->tx_cmd_ = c->tx_sent_;
	}
	if (c->zc_ && !libtas_zc_flush(p, c))
		return false;
	if (c->rx_freed_ != c->rx_cmd_) {
		if (!cmd_push(p, c->core_, TAS_CMD_RX_DONE, c->flow_,
			      c->rx_freed_ - c->rx_cmd_))
			return false;
		c->rx_cmd_ = c->rx_freed_;
	}
	if (c->zc_ && libtas_zc_tx_blocked(c))
		return true; /* FIN and CLOSE wait; TX_FREED bumps us again */
	if (c->bump_ & LIBTAS_BUMP_FIN) {
		if (!cmd_push(p, c->core_, TAS_CMD_TX_FIN, c->flow_, 0))
			return false;
		c->bump_ &= (uint8_t)~LIBTAS_BUMP_FIN;
	}
	if (c->bump_ & LIBTAS_BUMP_CLOSE) {
		if (!cmd_push(p, c->core_, TAS_CMD_CLOSE, c->flow_, 0))
			return false;
		c->bump_ &= (uint8_t)~LIBTAS_BUMP_CLOSE;
	}
	return true;
}

/* Flush @c now, or list it for the next poll if its queue is full. */
void libtas_conn_bump(struct libtas_ctx *p, struct flextcp_connection *c)
{
	if (c->bump_ & LIBTAS_BUMP_LISTED)
		return; /* keeps the order: the list flush goes first */
	if (conn_flush(p, c))
		return;
	c->bump_ |= LIBTAS_BUMP_LISTED;
	c->bump_next_ = NULL;
	if (p->bump_last)
		p->bump_last->bump_next_ = c;
	else
		p->bump_first = c;
	p->bump_last = c;
}

void libtas_bump_unlink(struct libtas_ctx *p, struct flextcp_connection *c)
{
	struct flextcp_connection **pp, *prev = NULL;

	if (!(c->bump_ & LIBTAS_BUMP_LISTED))
		return;
	for (pp = &p->bump_first; *pp; prev = *pp, pp = &(*pp)->bump_next_) {
		if (*pp == c) {
			*pp = c->bump_next_;
			if (p->bump_last == c)
				p->bump_last = prev;
			break;
		}
	}
	c->bump_ = 0;
	c->bump_next_ = NULL;
}

/**
 * libtas_bump_flush - retry deferred commands of a context
 * @ctx: context
 */
void libtas_bump_flush(struct flextcp_context *ctx)
{
	struct libtas_ctx *p = ctx->priv_;
	struct flextcp_connection *c = p->bump_first, *prev = NULL, *next;
	uint64_t full = 0; /* cores whose queue filled up in this pass */

	while (c) {
		next = c->bump_next_;
		if (full & (1ull << c->core_)) {
			/* the rest of that core's list waits: with thousands
			 * listed, trying each cost a walk on every poll */
			prev = c;
		} else if (conn_flush(p, c)) {
			if (prev)
				prev->bump_next_ = next;
			else
				p->bump_first = next;
			if (p->bump_last == c)
				p->bump_last = prev;
			c->bump_ &= (uint8_t)~LIBTAS_BUMP_LISTED;
			c->bump_next_ = NULL;
		} else {
			full |= 1ull << c->core_;
			prev = c;
		}
		c = next;
	}
}

/* ---- connection setup shared by active and passive opens ---- */

static bool ring_geom_ok(uint64_t off, uint32_t size)
{
	return size != 0 && (size & (size - 1)) == 0 &&
	       size <= TAS_RING_CAP_MAX && libtas_seg_range_ok(off, size);
}

/* Fill @c from a CONN_NEW/CONN_OPEN event; -EPROTO if it is impossible. */
int libtas_conn_setup(struct flextcp_context *ctx, struct flextcp_connection *c,
		      const struct tas_ev *ev)
{
	if (ev->core >= ctx->priv_->ncores ||
	    !ring_geom_ok(ev->rx_off, ev->rx_size) ||
	    !ring_geom_ok(ev->tx_off, ev->tx_size))
		return -EPROTO;
	memset(c, 0, sizeof(*c));
	c->ctx_ = ctx;
	c->rxb_base_ = libtas_proc.seg + ev->rx_off;
	c->txb_base_ = libtas_proc.seg + ev->tx_off;
	c->rxb_size_ = ev->rx_size;
	c->txb_size_ = ev->tx_size;
	c->flow_ = ev->flow;
	c->core_ = ev->core;
	c->local_ip_ = ev->local_ip;
	c->remote_ip_ = ev->remote_ip;
	c->local_port_ = ev->local_port;
	c->remote_port_ = ev->remote_port;
	c->state_ = LIBTAS_CONN_OPEN;
	return 0;
}

/* Refuse a flow we cannot use: ask the fast path to close it. */
void libtas_flow_refuse(struct libtas_ctx *p, const struct tas_ev *ev)
{
	if (ev->core < p->ncores)
		cmd_push(p, ev->core, TAS_CMD_CLOSE, ev->flow, 0);
}

/* ---- connections ---- */

/**
 * flextcp_connection_open - open a connection (asynchronous)
 * @ctx:      context that receives the connection's events
 * @conn:     the app's connection structure
 * @dst_ip:   remote IPv4 address, host byte order
 * @dst_port: remote port, host byte order
 *
 * FLEXTCP_EV_CONN_OPEN follows on @ctx (status 0 or negative errno).
 *
 * Return: 0 if the request was sent, -1 otherwise.
 */
LIBTAS_API int flextcp_connection_open(struct flextcp_context *ctx,
				       struct flextcp_connection *conn,
				       uint32_t dst_ip, uint16_t dst_port)
{
	struct tas_msg m = { .type = TAS_MSG_CONNECT };
	struct libtas_ctx *p;

	if (!libtas_ctx_ok(ctx) || conn == NULL)
		return -1;
	p = ctx->priv_;
	for (struct flextcp_connection *o = p->opening; o; o = o->next_)
		if (o == conn)
			return -1; /* already opening */
	memset(conn, 0, sizeof(*conn));
	conn->ctx_ = ctx;
	conn->state_ = LIBTAS_CONN_OPENING;
	conn->remote_ip_ = dst_ip;
	conn->remote_port_ = dst_port;
	m.ctx_id = ctx->ctx_id_;
	m.user = (uintptr_t)conn;
	m.connect.ip = dst_ip;
	m.connect.port = dst_port;
	if (libtas_send_msg(&m) < 0) {
		conn->state_ = LIBTAS_CONN_NONE;
		return -1;
	}
	conn->next_ = p->opening;
	p->opening = conn;
	return 0;
}

static unsigned ev_conn_open(struct flextcp_context *ctx,
			     const struct tas_ev *ev, struct flextcp_event *out)
{
	struct libtas_ctx *p = ctx->priv_;
	struct flextcp_connection **pp, *c = NULL;
	int16_t status = ev->status > 0 ? -EPROTO : ev->status;

	for (pp = &p->opening; *pp; pp = &(*pp)->next_) {
		if ((uintptr_t)*pp == ev->user) {
			c = *pp;
			*pp = c->next_;
			c->next_ = NULL;
			break;
		}
	}
	if (c == NULL) {
		libtas_drop(p, LIBTAS_DROP_BAD_USER);
		if (status == 0)
			libtas_flow_refuse(p, ev);
		return 0;
	}
	if (status == 0 &&
	    (ev->core >= p->ncores || libtas_flow_find(p, ev->core, ev->flow) ||
	     libtas_conn_setup(ctx, c, ev) < 0 ||
	     libtas_flow_insert(p, c) < 0)) {
		libtas_drop(p, LIBTAS_DROP_BAD_RING);
		libtas_flow_refuse(p, ev);
		status = -EPROTO;
	}
	if (status < 0) {
		c->state_ = LIBTAS_CONN_NONE;
		c->ctx_ = NULL;
	}
	out->event_type = FLEXTCP_EV_CONN_OPEN;
	out->ev.conn_open.status = status;
	out->ev.conn_open.conn = c;
	return 1;
}

/* The connection is finished: forget it everywhere. */
static void conn_dead(struct libtas_ctx *p, struct flextcp_connection *c)
{
	libtas_flow_remove(p, c->core_, c->flow_);
	libtas_bump_unlink(p, c);
	c->state_ = LIBTAS_CONN_CLOSED;
}

static unsigned ev_rx(struct libtas_ctx *p, struct flextcp_connection *c,
		      const struct tas_ev *ev, struct flextcp_event *out)
{
	uint32_t a = ev->a, size = c->rxb_size_;
	uint32_t used = c->rx_head_ - c->rx_freed_;

	if (c->zc_)
		used += libtas_zc_deferred(c);
	if (c->flags_ & LIBTAS_CF_RX_CLOSED) {
		libtas_drop(p, LIBTAS_DROP_BAD_STATE);
		return 0;
	}
	if (a == 0 || a > size - used) {
		libtas_drop(p, LIBTAS_DROP_BAD_LEN);
		return 0;
	}
	if (c->zc_)
		return libtas_zc_rx(c, a, out);
	return libtas_rx_show(c, a, out);
}

/**
 * libtas_rx_show - the next @a ring bytes become the app's: up to two
 * FLEXTCP_EV_CONN_RECEIVED (the ring wraps)
 *
 * Return: events stored in @out.
 */
unsigned libtas_rx_show(struct flextcp_connection *c, uint32_t a,
			struct flextcp_event *out)
{
	uint32_t size = c->rxb_size_, pos = c->rx_head_ & (size - 1), first;

	c->rx_head_ += a;
	if (c->flags_ & LIBTAS_CF_HIDDEN)
		return 0; /* told to the app at accept */
	first = size - pos < a ? size - pos : a;
	out[0].event_type = FLEXTCP_EV_CONN_RECEIVED;
	out[0].ev.conn_received.buf = c->rxb_base_ + pos;
	out[0].ev.conn_received.len = first;
	out[0].ev.conn_received.conn = c;
	if (first == a)
		return 1;
	out[1].event_type = FLEXTCP_EV_CONN_RECEIVED;
	out[1].ev.conn_received.buf = c->rxb_base_;
	out[1].ev.conn_received.len = a - first;
	out[1].ev.conn_received.conn = c;
	return 2;
}

/* Events for a known flow of this context. */
static unsigned ev_flow(struct flextcp_context *ctx, const struct tas_ev *ev,
			struct flextcp_event *out)
{
	struct libtas_ctx *p = ctx->priv_;
	struct flextcp_connection *c;
	unsigned n;

	c = ev->core < p->ncores ? libtas_flow_find(p, ev->core, ev->flow)
				 : NULL;
	if (c == NULL) {
		libtas_drop(p, LIBTAS_DROP_BAD_FLOW);
		return 0;
	}
	if (c->ctx_ != ctx) {
		/* moved away: the old context forgets the flow lazily */
		libtas_flow_remove(p, ev->core, ev->flow);
		libtas_drop(p, LIBTAS_DROP_BAD_STATE);
		return 0;
	}
	if (c->state_ == LIBTAS_CONN_CLOSING && ev->type != TAS_EV_CLOSED &&
	    ev->type != TAS_EV_RESET)
		return 0; /* the app is done with it: nothing to report */

	switch (ev->type) {
	case TAS_EV_RX:
		return ev_rx(p, c, ev, out);
	case TAS_EV_TX_FREED:
		if (ev->a == 0 || ev->a > c->tx_cmd_ - c->tx_freed_) {
			libtas_drop(p, LIBTAS_DROP_BAD_LEN);
			return 0;
		}
		c->tx_freed_ += ev->a;
		out->event_type = FLEXTCP_EV_CONN_SENDBUF;
		out->ev.conn_sendbuf.conn = c;
		if (!c->zc_)
			return 1;
		if (libtas_zc_tx_blocked(c))
			libtas_conn_bump(p, c); /* more of it fits now */
		return 1 + libtas_zc_tx_freed(c, out + 1);
	case TAS_EV_RX_PLACED:
		return libtas_zc_placed(p, c, ev->a, out);
	case TAS_EV_RX_FIN:
		if (c->flags_ & LIBTAS_CF_RX_CLOSED) {
			libtas_drop(p, LIBTAS_DROP_BAD_STATE);
			return 0;
		}
		c->flags_ |= LIBTAS_CF_RX_CLOSED;
		if (c->flags_ & LIBTAS_CF_HIDDEN)
			return 0;
		if (libtas_zc_fin_held(c))
			return 0;
		out->event_type = FLEXTCP_EV_CONN_RXCLOSED;
		out->ev.conn_rxclosed.conn = c;
		return 1;
	case TAS_EV_TX_FIN_ACKED:
		if (!(c->flags_ & LIBTAS_CF_TX_CLOSED)) {
			libtas_drop(p, LIBTAS_DROP_BAD_STATE);
			return 0;
		}
		out->event_type = FLEXTCP_EV_CONN_TXCLOSED;
		out->ev.conn_txclosed.conn = c;
		return 1;
	case TAS_EV_RESET:
		if ((c->flags_ & LIBTAS_CF_HIDDEN) &&
		    c->state_ == LIBTAS_CONN_CLOSING) {
			libtas_orphan_free(p, c);
			return 0;
		}
		if (c->flags_ & LIBTAS_CF_HIDDEN) {
			libtas_arrival_forget(p, c);
			return 0;
		}
		conn_dead(p, c);
		n = libtas_zc_end(c, out);
		out[n].event_type = FLEXTCP_EV_CONN_CLOSED;
		out[n].ev.conn_closed.status =
			ev->status < 0 ? ev->status : -ECONNRESET;
		out[n].ev.conn_closed.conn = c;
		return n + 1;
	case TAS_EV_CLOSED:
		if (c->state_ != LIBTAS_CONN_CLOSING) {
			libtas_drop(p, LIBTAS_DROP_BAD_STATE);
			return 0;
		}
		if (c->flags_ & LIBTAS_CF_HIDDEN) {
			libtas_orphan_free(p, c);
			return 0;
		}
		conn_dead(p, c);
		n = libtas_zc_end(c, out);
		out[n].event_type = FLEXTCP_EV_CONN_CLOSED;
		out[n].ev.conn_closed.status = 0;
		out[n].ev.conn_closed.conn = c;
		return n + 1;
	case TAS_EV_MOVED:
		if (!(c->flags_ & LIBTAS_CF_MOVING)) {
			libtas_drop(p, LIBTAS_DROP_BAD_STATE);
			return 0;
		}
		c->flags_ &= (uint8_t)~LIBTAS_CF_MOVING;
		out->event_type = FLEXTCP_EV_CONN_MOVED;
		out->ev.conn_moved.status =
			ev->status > 0 ? -EPROTO : ev->status;
		out->ev.conn_moved.conn = c;
		return 1;
	default:
		libtas_drop(p, LIBTAS_DROP_BAD_TYPE);
		return 0;
	}
}

/**
 * libtas_ev_translate - validate one service event and translate it
 * @ctx: context the event arrived on
 * @ev:  private copy of the event
 * @out: room for LIBTAS_EV_MAX_OUT flextcp events
 *
 * Invalid events are dropped and counted in the context's drop counters.
 *
 * Return: number of events stored in @out.
 */
unsigned libtas_ev_translate(struct flextcp_context *ctx,
			     const struct tas_ev *ev,
			     struct flextcp_event out[LIBTAS_EV_MAX_OUT])
{
	struct libtas_ctx *p = ctx->priv_;

	switch (ev->type) {
	case TAS_EV_LISTEN_OPEN:
		return libtas_ev_listen_open(ctx, ev, out);
	case TAS_EV_CONN_NEW:
		return libtas_ev_conn_new(ctx, ev, out);
	case TAS_EV_CONN_OPEN:
		return ev_conn_open(ctx, ev, out);
	case TAS_EV_RX:
	case TAS_EV_TX_FREED:
	case TAS_EV_RX_FIN:
	case TAS_EV_TX_FIN_ACKED:
	case TAS_EV_RESET:
	case TAS_EV_CLOSED:
	case TAS_EV_MOVED:
	case TAS_EV_RX_PLACED:
		return ev_flow(ctx, ev, out);
	case TAS_EV_LISTEN_CLOSED: {
		/* answer to flextcp_listen_close(): already done for the app */
		struct libtas_lst_closing *rec =
			libtas_closing_find(p, ev->user, false, true);

		if (rec == NULL)
			libtas_drop(p, LIBTAS_DROP_BAD_USER);
		else
			libtas_closing_answered(p, rec);
		return 0;
	}
	default:
		libtas_drop(p, LIBTAS_DROP_BAD_TYPE);
		return 0;
	}
}

/* Common argument check of the per-connection calls. */
bool libtas_conn_usable(struct flextcp_context *ctx,
			struct flextcp_connection *c)
{
	return libtas_ctx_ok(ctx) && c != NULL && c->ctx_ == ctx &&
	       c->state_ == LIBTAS_CONN_OPEN;
}

/**
 * flextcp_connection_close - close a connection (asynchronous)
 * @ctx:  the connection's context
 * @conn: connection
 *
 * Sends FIN after the bytes already passed to tx_send (RST if received data
 * remains unread in the service). FLEXTCP_EV_CONN_CLOSED (status 0) follows;
 * until then the structure must stay valid. No other event is reported for
 * the connection after this call.
 *
 * Return: 0, or -1 if the connection is not open on @ctx.
 */
LIBTAS_API int flextcp_connection_close(struct flextcp_context *ctx,
					struct flextcp_connection *conn)
{
	if (!libtas_conn_usable(ctx, conn))
		return -1;
	conn->state_ = LIBTAS_CONN_CLOSING;
	libtas_zc_close(conn);
	conn->bump_ |= LIBTAS_BUMP_CLOSE;
	libtas_conn_bump(ctx->priv_, conn);
	libtas_kick(ctx->priv_);
	return 0;
}

/**
 * flextcp_connection_rx_done - release received bytes
 * @ctx:  the connection's context
 * @conn: connection
 * @len:  bytes, counted from the oldest unreleased received byte
 *
 * Return: 0, or -1 if @len exceeds the bytes received and not released.
 */
LIBTAS_API int flextcp_connection_rx_done(struct flextcp_context *ctx,
					  struct flextcp_connection *conn,
					  size_t len)
{
	if (!libtas_conn_usable(ctx, conn) ||
	    len > (size_t)(conn->rx_head_ - conn->rx_freed_))
		return -1;
	if (len == 0)
		return 0;
	conn->rx_freed_ += (uint32_t)len;
	libtas_conn_bump(ctx->priv_, conn);
	libtas_kick(ctx->priv_);
	return 0;
}

/* Free bytes and the position of the first unallocated one. */
static uint32_t tx_room(const struct flextcp_connection *c, uint32_t *pos)
{
	*pos = c->tx_alloc_ & (c->txb_size_ - 1);
	if (c->zc_ && libtas_zc_tx_blocked(c))
		return 0; /* a zero-copy send goes first */
	return c->txb_size_ - (c->tx_alloc_ - c->tx_freed_);
}

static bool tx_usable(const struct flextcp_connection *c)
{
	return c != NULL && c->state_ == LIBTAS_CONN_OPEN &&
	       !(c->flags_ & LIBTAS_CF_TX_CLOSED) && libtas_ctx_ok(c->ctx_);
}

/**
 * flextcp_connection_tx_space - free bytes of the send ring (extension)
 * @conn: connection
 *
 * What flextcp_connection_tx_alloc2() could reserve now.
 *
 * Return: bytes, 0 if the connection cannot send (not open, tx closed).
 */
LIBTAS_API size_t
flextcp_connection_tx_space(const struct flextcp_connection *conn)
{
	uint32_t pos;

	return tx_usable(conn) ? tx_room(conn, &pos) : 0;
}

/**
 * flextcp_connection_tx_capacity - size of the send ring (extension)
 * @conn: connection
 *
 * Return: bytes, 0 if the connection is not open.
 */
LIBTAS_API size_t
flextcp_connection_tx_capacity(const struct flextcp_connection *conn)
{
	return conn != NULL && conn->state_ == LIBTAS_CONN_OPEN
		       ? conn->txb_size_
		       : 0;
}

/**
 * flextcp_connection_addrs - the connection's addresses (extension)
 * @conn:        connection
 * @local_ip:    set to the local IPv4 address, host order (may be NULL)
 * @local_port:  set to the local port, host order (may be NULL)
 * @remote_ip:   set to the remote IPv4 address, host order (may be NULL)
 * @remote_port: set to the remote port, host order (may be NULL)
 *
 * Valid once the connection was established (CONN_OPEN status 0 or
 * LISTEN_ACCEPT status 0), also after it closed.
 *
 * Return: 0, or -1 if @conn never was established.
 */
LIBTAS_API int flextcp_connection_addrs(const struct flextcp_connection *conn,
					uint32_t *local_ip,
					uint16_t *local_port,
					uint32_t *remote_ip,
					uint16_t *remote_port)
{
	if (conn == NULL || (conn->state_ != LIBTAS_CONN_OPEN &&
			     conn->state_ != LIBTAS_CONN_CLOSING &&
			     conn->state_ != LIBTAS_CONN_CLOSED))
		return -1;
	if (local_ip)
		*local_ip = conn->local_ip_;
	if (local_port)
		*local_port = conn->local_port_;
	if (remote_ip)
		*remote_ip = conn->remote_ip_;
	if (remote_port)
		*remote_port = conn->remote_port_;
	return 0;
}

/**
 * flextcp_connection_tx_alloc - reserve send-ring space, one piece
 * @conn: connection
 * @len:  bytes wanted
 * @buf:  set to the start of the reserved space
 *
 * The space follows earlier allocations. Short at the end of the ring.
 *
 * Return: bytes reserved (0..@len), or -1 if the connection cannot send.
 */
LIBTAS_API ssize_t flextcp_connection_tx_alloc(struct flextcp_connection *conn,
					       size_t len, void **buf)
{
	uint32_t pos, room, n;

	if (!tx_usable(conn) || buf == NULL)
		return -1;
	room = tx_room(conn, &pos);
	if (room > conn->txb_size_ - pos)
		room = conn->txb_size_ - pos;
	n = len < room ? (uint32_t)len : room;
	*buf = conn->txb_base_ + pos;
	conn->tx_alloc_ += n;
	return n;
}

/**
 * flextcp_connection_tx_alloc2 - reserve send-ring space, up to two pieces
 * @conn:  connection
 * @len:   bytes wanted
 * @buf_1: set to the first piece
 * @len_1: set to the first piece's length
 * @buf_2: set to the second piece (the ring start), used past *@len_1
 *
 * Return: bytes reserved in all (0..@len), or -1 if the connection cannot
 * send.
 */
LIBTAS_API ssize_t flextcp_connection_tx_alloc2(struct flextcp_connection *conn,
						size_t len, void **buf_1,
						size_t *len_1, void **buf_2)
{
	uint32_t pos, room, n, first;

	if (!tx_usable(conn) || buf_1 == NULL || len_1 == NULL || buf_2 == NULL)
		return -1;
	room = tx_room(conn, &pos);
	n = len < room ? (uint32_t)len : room;
	first = conn->txb_size_ - pos < n ? conn->txb_size_ - pos : n;
	*buf_1 = conn->txb_base_ + pos;
	*len_1 = first;
	*buf_2 = conn->txb_base_;
	conn->tx_alloc_ += n;
	return n;
}

/**
 * flextcp_connection_tx_send - send allocated bytes
 * @ctx:  the connection's context
 * @conn: connection
 * @len:  bytes, counted from the oldest allocated, unsent byte
 *
 * FLEXTCP_EV_CONN_SENDBUF follows whenever acknowledged bytes free space.
 *
 * Return: 0, or -1 if @len exceeds the allocated, unsent bytes.
 */
LIBTAS_API int flextcp_connection_tx_send(struct flextcp_context *ctx,
					  struct flextcp_connection *conn,
					  size_t len)
{
	if (!libtas_conn_usable(ctx, conn) ||
	    len > (size_t)(conn->tx_alloc_ - conn->tx_sent_))
		return -1;
	if (len == 0)
		return 0;
	conn->tx_sent_ += (uint32_t)len;
	libtas_conn_bump(ctx->priv_, conn);
	libtas_kick(ctx->priv_);
	return 0;
}

/**
 * flextcp_connection_tx_close - send FIN after the bytes sent so far
 * @ctx:  the connection's context
 * @conn: connection
 *
 * Allocated but unsent bytes are given back. FLEXTCP_EV_CONN_TXCLOSED
 * follows when the FIN is acknowledged.
 *
 * Return: 0, or -1 if the connection is not open or already closed for
 * sending.
 */
LIBTAS_API int flextcp_connection_tx_close(struct flextcp_context *ctx,
					   struct flextcp_connection *conn)
{
	if (!libtas_conn_usable(ctx, conn) ||
	    (conn->flags_ & LIBTAS_CF_TX_CLOSED))
		return -1;
	conn->tx_alloc_ = conn->tx_sent_;
	conn->flags_ |= LIBTAS_CF_TX_CLOSED;
	conn->bump_ |= LIBTAS_BUMP_FIN;
	libtas_conn_bump(ctx->priv_, conn);
	libtas_kick(ctx->priv_);
	return 0;
}

/**
 * flextcp_connection_tx_possible - whether a command can be queued now
 * @ctx:  the connection's context
 * @conn: connection
 *
 * Checks the context's command queue to the connection's core, not the send
 * buffer.
 *
 * Return: 0 if there is room, -1 otherwise.
 */
LIBTAS_API int flextcp_connection_tx_possible(struct flextcp_context *ctx,
					      struct flextcp_connection *conn)
{
	if (!libtas_conn_usable(ctx, conn) ||
	    (conn->bump_ & LIBTAS_BUMP_LISTED))
		return -1;
	return tas_ring_free_count(&ctx->priv_->atx[conn->core_]) > 0 ? 0 : -1;
}

/**
 * flextcp_connection_move - move a connection's events to another context
 * @ctx:  the new context
 * @conn: an open connection of another context of this process
 *
 * The connection must be quiescent: no thread uses it through its old
 * context during or after the call. FLEXTCP_EV_CONN_MOVED follows on @ctx.
 *
 * Return: 0, or -1 (errno EAGAIN: commands of the connection still wait
 * for queue space, poll the old context and retry).
 */
LIBTAS_API int flextcp_connection_move(struct flextcp_context *ctx,
				       struct flextcp_connection *conn)
{
	struct flextcp_event ev = { .event_type = FLEXTCP_EV_CONN_MOVED };
	struct libtas_ctx *p;

	if (!libtas_ctx_ok(ctx) || conn == NULL ||
	    conn->state_ != LIBTAS_CONN_OPEN || !libtas_ctx_ok(conn->ctx_) ||
	    (conn->flags_ & LIBTAS_CF_MOVING))
		return -1;
	p = ctx->priv_;
	ev.ev.conn_moved.conn = conn;
	if (conn->ctx_ == ctx)
		return libtas_pend_push(p, &ev) < 0 ? -1 : 0;
	if (conn->bump_ || conn->tx_sent_ != conn->tx_cmd_ ||
	    conn->rx_freed_ != conn->rx_cmd_) {
		errno = EAGAIN;
		return -1;
	}
	/* an entry left behind on failure is stale (conn->ctx_ differs) and
	 * is dropped lazily like any moved-away flow */
	if (libtas_flow_insert(p, conn) < 0)
		return -1;
	if (!cmd_push(p, conn->core_, TAS_CMD_MOVE, conn->flow_, 0)) {
		errno = EAGAIN;
		return -1;
	}
	conn->ctx_ = ctx;
	conn->flags_ |= LIBTAS_CF_MOVING;
	libtas_kick(p);
	return 0;
}
