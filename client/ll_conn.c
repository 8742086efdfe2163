/*
 * ll_conn.c - libtas listeners and connections: the flextcp_listen_* and
 * flextcp_connection_* calls, deferred commands,
 * and the translation of service events (struct tas_ev) into flextcp events
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
 * Listener close: the daemon answers LISTEN_CLOSED on kin before its cores
 * have dropped the listener, and kin is drained before the cores' queues, so
 * arrivals for a closed listener can come after the answer. Close records
 * stay as tombstones (the last LIBTAS_LST_TOMBSTONES per context) so those
 * are closed quietly too; older ones are refused as unknown (closed and
 * counted as a drop).
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

static void bump_unlink(struct libtas_ctx *p, struct flextcp_connection *c)
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

	while (c) {
		next = c->bump_next_;
		if (conn_flush(p, c)) {
			if (prev)
				prev->bump_next_ = next;
			else
				p->bump_first = next;
			if (p->bump_last == c)
				p->bump_last = prev;
			c->bump_ &= (uint8_t)~LIBTAS_BUMP_LISTED;
			c->bump_next_ = NULL;
		} else {
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
static int conn_setup(struct flextcp_context *ctx, struct flextcp_connection *c,
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
static void flow_refuse(struct libtas_ctx *p, const struct tas_ev *ev)
{
	if (ev->core < p->ncores)
		cmd_push(p, ev->core, TAS_CMD_CLOSE, ev->flow, 0);
}

/* ---- listeners ---- */

static bool listener_known(struct libtas_ctx *p, uint64_t user,
			   struct flextcp_listener **out)
{
	for (struct flextcp_listener *l = p->listeners; l; l = l->next_) {
		if ((uintptr_t)l == user) {
			*out = l;
			return true;
		}
	}
	return false;
}

static void listener_unlink(struct libtas_ctx *p, struct flextcp_listener *lst)
{
	for (struct flextcp_listener **pp = &p->listeners; *pp;
	     pp = &(*pp)->next_) {
		if (*pp == lst) {
			*pp = lst->next_;
			break;
		}
	}
	lst->next_ = NULL;
}

/*
 * Arrival stand-ins are library memory: besides their listener's FIFO they
 * sit on the context's hidden list (linked through bump_next_, which they
 * never need otherwise), so the context can free them without touching the
 * app's listener structures.
 */
static void hidden_add(struct libtas_ctx *p, struct flextcp_connection *h)
{
	h->bump_next_ = p->hidden;
	p->hidden = h;
}

static void hidden_del(struct libtas_ctx *p, struct flextcp_connection *h)
{
	for (struct flextcp_connection **pp = &p->hidden; *pp;
	     pp = &(*pp)->bump_next_) {
		if (*pp == h) {
			*pp = h->bump_next_;
			break;
		}
	}
	h->bump_next_ = NULL;
}

/**
 * libtas_hidden_free - free the library-owned state of a context: stand-ins
 *                      of arrivals never accepted, connections being closed
 *                      for a closed listener, pending listener closes
 * @p: context state
 */
void libtas_hidden_free(struct libtas_ctx *p)
{
	struct flextcp_connection *h = p->hidden, *next;
	struct libtas_lst_closing *r, *rnext;

	for (; h; h = next) {
		next = h->bump_next_;
		free(h);
	}
	p->hidden = NULL;
	for (h = p->orphans; h; h = next) {
		next = h->next_;
		free(h);
	}
	p->orphans = NULL;
	for (r = p->closing_first; r; r = rnext) {
		rnext = r->next;
		free(r);
	}
	p->closing_first = p->closing_last = NULL;
}

/*
 * Close a library-owned connection (an arrival of a closed listener): it
 * goes on the orphan list until the fast path reports it CLOSED (or RESET),
 * and emits no events meanwhile.
 */
static void orphan_close(struct libtas_ctx *p, struct flextcp_connection *h)
{
	h->flags_ |= LIBTAS_CF_HIDDEN;
	h->state_ = LIBTAS_CONN_CLOSING;
	h->next_ = p->orphans;
	p->orphans = h;
	h->bump_ |= LIBTAS_BUMP_CLOSE;
	libtas_conn_bump(p, h);
}

/* The fast path is done with orphan @h: forget and free it. */
static void orphan_free(struct libtas_ctx *p, struct flextcp_connection *h)
{
	for (struct flextcp_connection **pp = &p->orphans; *pp;
	     pp = &(*pp)->next_) {
		if (*pp == h) {
			*pp = h->next_;
			break;
		}
	}
	libtas_flow_remove(p, h->core_, h->flow_);
	bump_unlink(p, h);
	free(h);
}

/*
 * First close record of cookie @user: @open: one still waiting for the
 * listener's LISTEN_OPEN; @unanswered: one still waiting for LISTEN_CLOSED;
 * neither: any, tombstones included.
 */
static struct libtas_lst_closing *
closing_find(struct libtas_ctx *p, uint64_t user, bool open, bool unanswered)
{
	for (struct libtas_lst_closing *r = p->closing_first; r; r = r->next)
		if (r->user == user && (!open || r->want_open) &&
		    (!unanswered || !r->answered))
			return r;
	return NULL;
}

static void closing_del(struct libtas_ctx *p, struct libtas_lst_closing *rec)
{
	struct libtas_lst_closing **pp, *prev = NULL;

	for (pp = &p->closing_first; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == rec) {
			*pp = rec->next;
			if (p->closing_last == rec)
				p->closing_last = prev;
			if (rec->answered)
				p->ntombs--;
			free(rec);
			return;
		}
	}
}

/* LISTEN_CLOSED for @rec: keep it as a tombstone, the last few only. */
static void closing_answered(struct libtas_ctx *p,
			     struct libtas_lst_closing *rec)
{
	rec->answered = true;
	rec->want_open = false;
	p->ntombs++;
	while (p->ntombs > LIBTAS_LST_TOMBSTONES) {
		struct libtas_lst_closing *r = p->closing_first;

		while (!r->answered)
			r = r->next;
		closing_del(p, r);
	}
}

/* A listener reuses cookie @user: its arrivals are no longer stale. */
static void closing_forget_tombs(struct libtas_ctx *p, uint64_t user)
{
	struct libtas_lst_closing *r = p->closing_first, *next;

	for (; r; r = next) {
		next = r->next;
		if (r->user == user && r->answered)
			closing_del(p, r);
	}
}

/**
 * flextcp_listen_open - open a listening port (asynchronous)
 * @ctx:     context that receives the listener's events
 * @lst:     the app's listener structure
 * @port:    local port, host byte order
 * @backlog: connections the service may hold before they are accepted
 * @flags:   0 or FLEXTCP_LISTEN_REUSEPORT
 *
 * FLEXTCP_EV_LISTEN_OPEN follows on @ctx with the status.
 *
 * Return: 0 if the request was sent, -1 otherwise.
 */
LIBTAS_API int flextcp_listen_open(struct flextcp_context *ctx,
				   struct flextcp_listener *lst, uint16_t port,
				   uint32_t backlog, uint32_t flags)
{
	struct tas_msg m = { .type = TAS_MSG_LISTEN };
	struct libtas_ctx *p;
	struct flextcp_listener *old;

	if (!libtas_ctx_ok(ctx) || lst == NULL ||
	    (flags & ~(uint32_t)FLEXTCP_LISTEN_REUSEPORT))
		return -1;
	p = ctx->priv_;
	if (listener_known(p, (uintptr_t)lst, &old))
		return -1; /* already open on this context */
	memset(lst, 0, sizeof(*lst));
	lst->ctx_ = ctx;
	lst->local_port_ = port;
	lst->backlog_ = backlog;
	lst->flags_ = flags;
	lst->state_ = LIBTAS_LST_OPENING;
	lst->next_ = p->listeners;
	p->listeners = lst;

	m.ctx_id = ctx->ctx_id_;
	m.user = (uintptr_t)lst;
	m.listen.port = port;
	m.listen.backlog = backlog;
	m.listen.flags = flags;
	if (libtas_send_msg(&m) < 0) {
		listener_unlink(p, lst);
		lst->state_ = LIBTAS_LST_NONE;
		return -1;
	}
	closing_forget_tombs(p, m.user);
	return 0;
}

/* Give arrival stand-in @h to the app's handle @c; events go to @p. */
static void accept_pair(struct flextcp_context *ctx,
			struct flextcp_connection *h,
			struct flextcp_connection *c)
{
	struct libtas_ctx *p = ctx->priv_;
	struct flextcp_event ev = { .event_type = FLEXTCP_EV_LISTEN_ACCEPT };

	hidden_del(p, h);
	*c = *h;
	c->next_ = NULL;
	c->flags_ &= (uint8_t)~LIBTAS_CF_HIDDEN;
	libtas_flow_insert(p, c); /* replaces h: cannot fail */
	free(h);
	ev.ev.listen_accept.status = 0;
	ev.ev.listen_accept.conn = c;
	if (libtas_pend_push(p, &ev) < 0)
		libtas_drop(p, LIBTAS_DROP_NOMEM);
	if (c->rx_head_ != c->rx_freed_) {
		/* data that arrived before the accept: one piece, since the
		 * ring was empty at position 0 when it started */
		ev.event_type = FLEXTCP_EV_CONN_RECEIVED;
		ev.ev.conn_received.buf = c->rxb_base_;
		ev.ev.conn_received.len = c->rx_head_ - c->rx_freed_;
		ev.ev.conn_received.conn = c;
		if (libtas_pend_push(p, &ev) < 0)
			libtas_drop(p, LIBTAS_DROP_NOMEM);
	}
	if (c->flags_ & LIBTAS_CF_RX_CLOSED) {
		ev.event_type = FLEXTCP_EV_CONN_RXCLOSED;
		ev.ev.conn_rxclosed.conn = c;
		if (libtas_pend_push(p, &ev) < 0)
			libtas_drop(p, LIBTAS_DROP_NOMEM);
	}
}

/**
 * flextcp_listen_accept - offer a connection handle to a listener
 * @ctx:  the context the listener was opened on
 * @lst:  listener
 * @conn: the app's connection structure for the next connection
 *
 * May be called before or after connections arrive, any number of times:
 * handles are paired with arrivals in FIFO order. Each pairing produces
 * FLEXTCP_EV_LISTEN_ACCEPT (status 0, conn = @conn) on @ctx.
 *
 * Return: 0, or -1 for bad arguments or a failed listener.
 */
LIBTAS_API int flextcp_listen_accept(struct flextcp_context *ctx,
				     struct flextcp_listener *lst,
				     struct flextcp_connection *conn)
{
	struct flextcp_connection *h;

	if (!libtas_ctx_ok(ctx) || lst == NULL || conn == NULL ||
	    lst->ctx_ != ctx ||
	    (lst->state_ != LIBTAS_LST_OPENING &&
	     lst->state_ != LIBTAS_LST_OPEN))
		return -1;
	h = lst->arr_first_;
	if (h) {
		lst->arr_first_ = h->next_;
		if (lst->arr_first_ == NULL)
			lst->arr_last_ = NULL;
		lst->arr_count_--;
		accept_pair(ctx, h, conn);
		return 0;
	}
	memset(conn, 0, sizeof(*conn));
	conn->ctx_ = ctx;
	conn->state_ = LIBTAS_CONN_ACCEPTING;
	if (lst->acc_last_)
		lst->acc_last_->next_ = conn;
	else
		lst->acc_first_ = conn;
	lst->acc_last_ = conn;
	return 0;
}

/**
 * flextcp_listen_close - stop listening (extension: not in upstream TAS)
 * @ctx: the context the listener was opened on
 * @lst: listener, open or still opening
 *
 * Asks the service to drop the listener on every fast-path core, so the
 * port stops completing handshakes and may be listened on again (the
 * service handles the close before any later flextcp_listen_open()).
 * Connections already accepted stay open. Connections that arrived and
 * were not accepted are closed by the library (RST if they sent data).
 * Accept handles still queued are given back: each gets
 * FLEXTCP_EV_LISTEN_ACCEPT {status -ECONNABORTED} from the following polls;
 * the library no longer uses them. After the call @lst is the app's again
 * (free or reuse it); no event refers to it any more, and the service's
 * answer is consumed by the library.
 *
 * Return: 0 if the request was sent, -1 for bad arguments, a listener that
 * is not open or opening on @ctx, or no daemon (nothing changed then).
 */
LIBTAS_API int flextcp_listen_close(struct flextcp_context *ctx,
				    struct flextcp_listener *lst)
{
	struct tas_msg m = { .type = TAS_MSG_LISTEN_CLOSE };
	struct flextcp_event ev = { .event_type = FLEXTCP_EV_LISTEN_ACCEPT };
	struct flextcp_connection *c, *next;
	struct libtas_lst_closing *rec;
	struct flextcp_listener *l;
	struct libtas_ctx *p;

	if (!libtas_ctx_ok(ctx) || lst == NULL || lst->ctx_ != ctx)
		return -1;
	p = ctx->priv_;
	if (!listener_known(p, (uintptr_t)lst, &l) ||
	    (lst->state_ != LIBTAS_LST_OPENING &&
	     lst->state_ != LIBTAS_LST_OPEN))
		return -1;
	rec = calloc(1, sizeof(*rec));
	if (rec == NULL)
		return -1;
	m.ctx_id = ctx->ctx_id_;
	m.user = (uintptr_t)lst;
	if (libtas_send_msg(&m) < 0) {
		free(rec);
		return -1;
	}
	rec->user = (uintptr_t)lst;
	rec->want_open = lst->state_ == LIBTAS_LST_OPENING;
	if (p->closing_last)
		p->closing_last->next = rec;
	else
		p->closing_first = rec;
	p->closing_last = rec;
	listener_unlink(p, lst);

	for (c = lst->acc_first_; c; c = next) {
		next = c->next_;
		c->next_ = NULL;
		c->ctx_ = NULL;
		c->state_ = LIBTAS_CONN_NONE;
		ev.ev.listen_accept.status = -ECONNABORTED;
		ev.ev.listen_accept.conn = c;
		if (libtas_pend_push(p, &ev) < 0)
			libtas_drop(p, LIBTAS_DROP_NOMEM);
	}
	for (c = lst->arr_first_; c; c = next) {
		next = c->next_;
		hidden_del(p, c);
		orphan_close(p, c);
	}
	lst->acc_first_ = lst->acc_last_ = NULL;
	lst->arr_first_ = lst->arr_last_ = NULL;
	lst->arr_count_ = 0;
	lst->state_ = LIBTAS_LST_NONE;
	lst->ctx_ = NULL;
	libtas_kick(p);
	return 0;
}

static unsigned ev_listen_open(struct flextcp_context *ctx,
			       const struct tas_ev *ev,
			       struct flextcp_event *out)
{
	struct libtas_ctx *p = ctx->priv_;
	struct flextcp_listener *l;
	struct libtas_lst_closing *rec = closing_find(p, ev->user, true, false);

	if (rec) { /* closed before the answer: nothing to report */
		rec->want_open = false;
		return 0;
	}
	if (!listener_known(p, ev->user, &l)) {
		libtas_drop(p, LIBTAS_DROP_BAD_USER);
		return 0;
	}
	if (l->state_ != LIBTAS_LST_OPENING) {
		libtas_drop(p, LIBTAS_DROP_BAD_STATE);
		return 0;
	}
	out->event_type = FLEXTCP_EV_LISTEN_OPEN;
	out->ev.listen_open.status = ev->status > 0 ? -EPROTO : ev->status;
	out->ev.listen_open.listener = l;
	if (ev->status == 0) {
		l->state_ = LIBTAS_LST_OPEN;
	} else {
		/* accept handles queued meanwhile are given back silently */
		l->state_ = LIBTAS_LST_FAILED;
		listener_unlink(p, l);
	}
	return 1;
}

/* A connection arrived for a listener the app closed: close it. */
static unsigned arrival_close(struct flextcp_context *ctx,
			      const struct tas_ev *ev)
{
	struct libtas_ctx *p = ctx->priv_;
	struct flextcp_connection *h;

	if (ev->core >= p->ncores || libtas_flow_find(p, ev->core, ev->flow)) {
		libtas_drop(p, LIBTAS_DROP_BAD_FLOW);
		return 0;
	}
	h = malloc(sizeof(*h));
	if (h == NULL || conn_setup(ctx, h, ev) < 0 ||
	    libtas_flow_insert(p, h) < 0) {
		libtas_drop(p, h ? LIBTAS_DROP_BAD_RING : LIBTAS_DROP_NOMEM);
		free(h);
		flow_refuse(p, ev);
		return 0;
	}
	orphan_close(p, h);
	return 0;
}

static unsigned ev_conn_new(struct flextcp_context *ctx,
			    const struct tas_ev *ev, struct flextcp_event *out)
{
	struct libtas_ctx *p = ctx->priv_;
	struct flextcp_connection tmp, *c, *h, *next;
	struct flextcp_listener *l;

	if ((!listener_known(p, ev->user, &l) ||
	     l->state_ != LIBTAS_LST_OPEN) &&
	    closing_find(p, ev->user, false, false))
		return arrival_close(ctx, ev);
	if (!listener_known(p, ev->user, &l)) {
		libtas_drop(p, LIBTAS_DROP_BAD_USER);
		flow_refuse(p, ev);
		return 0;
	}
	if (l->state_ != LIBTAS_LST_OPEN) {
		libtas_drop(p, LIBTAS_DROP_BAD_STATE);
		flow_refuse(p, ev);
		return 0;
	}
	if (ev->core >= p->ncores || libtas_flow_find(p, ev->core, ev->flow)) {
		libtas_drop(p, LIBTAS_DROP_BAD_FLOW);
		return 0;
	}
	if (conn_setup(ctx, &tmp, ev) < 0) {
		libtas_drop(p, LIBTAS_DROP_BAD_RING);
		flow_refuse(p, ev);
		return 0;
	}
	c = l->acc_first_;
	h = c ? c : malloc(sizeof(*h));
	if (h == NULL) {
		libtas_drop(p, LIBTAS_DROP_NOMEM);
		flow_refuse(p, ev);
		return 0;
	}
	next = h->next_;
	*h = tmp;
	if (libtas_flow_insert(p, h) < 0) {
		libtas_drop(p, LIBTAS_DROP_NOMEM);
		flow_refuse(p, ev);
		if (c) { /* stays queued for the next arrival */
			memset(c, 0, sizeof(*c));
			c->ctx_ = ctx;
			c->state_ = LIBTAS_CONN_ACCEPTING;
			c->next_ = next;
		} else {
			free(h);
		}
		return 0;
	}
	out[0].event_type = FLEXTCP_EV_LISTEN_NEWCONN;
	out[0].ev.listen_newconn.remote_port = ev->remote_port;
	out[0].ev.listen_newconn.remote_ip = ev->remote_ip;
	out[0].ev.listen_newconn.listener = l;
	if (c == NULL) {
		h->flags_ |= LIBTAS_CF_HIDDEN;
		hidden_add(p, h);
		if (l->arr_last_)
			l->arr_last_->next_ = h;
		else
			l->arr_first_ = h;
		l->arr_last_ = h;
		l->arr_count_++;
		return 1;
	}
	l->acc_first_ = next;
	if (l->acc_first_ == NULL)
		l->acc_last_ = NULL;
	c->next_ = NULL;
	out[1].event_type = FLEXTCP_EV_LISTEN_ACCEPT;
	out[1].ev.listen_accept.status = 0;
	out[1].ev.listen_accept.conn = c;
	return 2;
}

/* Drop an arrival stand-in that was reset before anyone accepted it. */
static void arrival_forget(struct libtas_ctx *p, struct flextcp_connection *h)
{
	for (struct flextcp_listener *l = p->listeners; l; l = l->next_) {
		struct flextcp_connection **pp, *prev = NULL;

		for (pp = &l->arr_first_; *pp; prev = *pp, pp = &(*pp)->next_) {
			if (*pp != h)
				continue;
			*pp = h->next_;
			if (l->arr_last_ == h)
				l->arr_last_ = prev;
			l->arr_count_--;
			libtas_flow_remove(p, h->core_, h->flow_);
			hidden_del(p, h);
			free(h);
			return;
		}
	}
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
			flow_refuse(p, ev);
		return 0;
	}
	if (status == 0 &&
	    (ev->core >= p->ncores || libtas_flow_find(p, ev->core, ev->flow) ||
	     conn_setup(ctx, c, ev) < 0 || libtas_flow_insert(p, c) < 0)) {
		libtas_drop(p, LIBTAS_DROP_BAD_RING);
		flow_refuse(p, ev);
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
	bump_unlink(p, c);
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
			orphan_free(p, c);
			return 0;
		}
		if (c->flags_ & LIBTAS_CF_HIDDEN) {
			arrival_forget(p, c);
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
			orphan_free(p, c);
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
		return ev_listen_open(ctx, ev, out);
	case TAS_EV_CONN_NEW:
		return ev_conn_new(ctx, ev, out);
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
			closing_find(p, ev->user, false, true);

		if (rec == NULL)
			libtas_drop(p, LIBTAS_DROP_BAD_USER);
		else
			closing_answered(p, rec);
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
