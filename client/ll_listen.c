/*
 * ll_listen.c - libtas listeners: flextcp_listen_open/accept/close, the
 * library's stand-ins for arrivals not yet accepted (hidden), arrivals of
 * closed listeners (orphans), and the translation of the listener events
 * (TAS_EV_LISTEN_OPEN, TAS_EV_CONN_NEW, TAS_EV_LISTEN_CLOSED)
 *
 * Listener close: the daemon answers LISTEN_CLOSED on kin before its cores
 * have dropped the listener, and kin is drained before the cores' queues, so
 * arrivals for a closed listener can come after the answer. Close records
 * stay as tombstones (the last LIBTAS_LST_TOMBSTONES per context) so those
 * are closed quietly too; older ones are refused as unknown (closed and
 * counted as a drop).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libtas.h"

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
void libtas_orphan_free(struct libtas_ctx *p, struct flextcp_connection *h)
{
	for (struct flextcp_connection **pp = &p->orphans; *pp;
	     pp = &(*pp)->next_) {
		if (*pp == h) {
			*pp = h->next_;
			break;
		}
	}
	libtas_flow_remove(p, h->core_, h->flow_);
	libtas_bump_unlink(p, h);
	free(h);
}

/*
 * First close record of cookie @user: @open: one still waiting for the
 * listener's LISTEN_OPEN; @unanswered: one still waiting for LISTEN_CLOSED;
 * neither: any, tombstones included.
 */
struct libtas_lst_closing *libtas_closing_find(struct libtas_ctx *p,
					       uint64_t user, bool open,
					       bool unanswered)
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
void libtas_closing_answered(struct libtas_ctx *p,
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

unsigned libtas_ev_listen_open(struct flextcp_context *ctx,
			       const struct tas_ev *ev,
			       struct flextcp_event *out)
{
	struct libtas_ctx *p = ctx->priv_;
	struct flextcp_listener *l;
	struct libtas_lst_closing *rec =
		libtas_closing_find(p, ev->user, true, false);

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
	if (h == NULL || libtas_conn_setup(ctx, h, ev) < 0 ||
	    libtas_flow_insert(p, h) < 0) {
		libtas_drop(p, h ? LIBTAS_DROP_BAD_RING : LIBTAS_DROP_NOMEM);
		free(h);
		libtas_flow_refuse(p, ev);
		return 0;
	}
	orphan_close(p, h);
	return 0;
}

unsigned libtas_ev_conn_new(struct flextcp_context *ctx,
			    const struct tas_ev *ev, struct flextcp_event *out)
{
	struct libtas_ctx *p = ctx->priv_;
	struct flextcp_connection tmp, *c, *h, *next;
	struct flextcp_listener *l;

	if ((!listener_known(p, ev->user, &l) ||
	     l->state_ != LIBTAS_LST_OPEN) &&
	    libtas_closing_find(p, ev->user, false, false))
		return arrival_close(ctx, ev);
	if (!listener_known(p, ev->user, &l)) {
		libtas_drop(p, LIBTAS_DROP_BAD_USER);
		libtas_flow_refuse(p, ev);
		return 0;
	}
	if (l->state_ != LIBTAS_LST_OPEN) {
		libtas_drop(p, LIBTAS_DROP_BAD_STATE);
		libtas_flow_refuse(p, ev);
		return 0;
	}
	if (ev->core >= p->ncores || libtas_flow_find(p, ev->core, ev->flow)) {
		libtas_drop(p, LIBTAS_DROP_BAD_FLOW);
		return 0;
	}
	if (libtas_conn_setup(ctx, &tmp, ev) < 0) {
		libtas_drop(p, LIBTAS_DROP_BAD_RING);
		libtas_flow_refuse(p, ev);
		return 0;
	}
	c = l->acc_first_;
	h = c ? c : malloc(sizeof(*h));
	if (h == NULL) {
		libtas_drop(p, LIBTAS_DROP_NOMEM);
		libtas_flow_refuse(p, ev);
		return 0;
	}
	next = h->next_;
	*h = tmp;
	if (libtas_flow_insert(p, h) < 0) {
		libtas_drop(p, LIBTAS_DROP_NOMEM);
		libtas_flow_refuse(p, ev);
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
void libtas_arrival_forget(struct libtas_ctx *p, struct flextcp_connection *h)
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
