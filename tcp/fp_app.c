/* fp_app.c - the fast path's side of the app and control queues: events
 * to apps (coalesced per flow, deferred when a ring is full), validation of
 * app commands, and control-thread commands (contexts, listeners, active
 * opens, app teardown, connection dumps)
 *
 * Everything read from an app's queue is untrusted: each field of a
 * command is read once, the flow handle must belong to the sending
 * context, and lengths are bounded by that flow's own rings.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/fp_int.h"

/* ---- events to apps ---- */

/**
 * fp_mark_dirty - queue a flow for tcp_output at the end of the poll
 */
void fp_mark_dirty(struct fp_core *c, struct flow *f)
{
	if (!f->dirty) {
		f->dirty = true;
		c->dirty[c->ndirty++] = flow_index(&c->ft, f);
	}
}

/**
 * fp_mark_notify - queue a flow for event delivery at the end of the poll
 */
void fp_mark_notify(struct fp_core *c, struct flow *f)
{
	if (!f->notify) {
		f->notify = true;
		c->notify[c->nnotify++] = flow_index(&c->ft, f);
	}
}

static void ev_fill_conn(struct fp_core *c, struct flow *f, struct tas_ev *e)
{
	e->local_ip = ntohl(f->tc.local_ip);
	e->remote_ip = ntohl(f->tc.remote_ip);
	e->local_port = f->tc.local_port;
	e->remote_port = f->tc.remote_port;
	e->rx_off = f->rx_off;
	e->tx_off = f->tx_off;
	e->rx_size = f->tc.rx_size;
	e->tx_size = f->tc.tx_size;
	(void)c;
}

/**
 * fp_ev_post - enqueue one event for an app context; false when full
 */
bool fp_ev_post(struct fp_core *c, struct fp_ctx *x, const struct tas_ev *e)
{
	if (tas_ring_enqueue_burst(&x->arx, e, 1) != 1) {
		stat_add(c, ST_EV_DEFERRED, 1);
		x->full_gen = c->notify_gen;
		return false;
	}
	x->kick = true;
	return true;
}

/**
 * fp_flow_release - return a flow's buffers and port, free its slot
 */
void fp_flow_release(struct fp_core *c, struct flow *f)
{
	fp_zc_drop(c, f);
	if (f->buf_slot != UINT32_MAX && f->app)
		c->sh->pool.free(f->app, f->buf_slot);
	f->buf_slot = UINT32_MAX;
	if (!f->passive && f->tc.local_port) {
		struct fp_note n = { .type = FP_NOTE_PORT_FREE,
				     .port = f->tc.local_port,
				     .remote_port = f->tc.remote_port,
				     .remote_ip = f->tc.remote_ip };
		fp_note_post(c, &n);
	}
	fp_cc_close(c, f);
	pacer_cancel(&c->pacer, flow_index(&c->ft, f));
	if (f->passive && f->listener >= 0 && !f->open_posted &&
	    c->lst[f->listener].pending)
		c->lst[f->listener].pending--;
	flow_free(&c->ft, f);
}

/* The answer to an app command (TAS_EV_CLOSED, TAS_EV_MOVED) on the flow's
 * context; false if its event ring is full (the flow keeps it due). */
static bool answer_post(struct fp_core *c, struct flow *f, uint8_t type)
{
	struct tas_ev e;

	if (f->ctx < 0 || !c->ctx[f->ctx].used || c->ctx[f->ctx].dead)
		return true; /* nobody left to tell */
	memset(&e, 0, sizeof(e));
	e.type = type;
	e.core = (uint8_t)c->id;
	e.flow = flow_handle(&c->ft, f);
	e.user = f->user;
	return fp_ev_post(c, &c->ctx[f->ctx], &e);
}

/* Deliver what a flow owes its app, in order; false if the ring filled. */
/**
 * fp_flow_deliver - deliver a flow's pending events in order
 */
bool fp_flow_deliver(struct fp_core *c, struct flow *f)
{
	struct fp_ctx *x;
	struct tas_ev e;

	/* answers that found the event ring full, in command order */
	if (f->moved_due && !answer_post(c, f, TAS_EV_MOVED))
		return false;
	f->moved_due = false;
	if (f->closed_due && !answer_post(c, f, TAS_EV_CLOSED))
		return false;
	f->closed_due = false;
	if (f->app_closed || f->ctx < 0)
		return true;
	x = &c->ctx[f->ctx];
	if (!x->used || x->dead)
		return true;
	memset(&e, 0, sizeof(e));
	e.core = (uint8_t)c->id;
	e.flow = flow_handle(&c->ft, f);
	if (!f->open_posted && (f->ev_flags & TCP_OUT_ESTABLISHED)) {
		e.type = f->passive ? TAS_EV_CONN_NEW : TAS_EV_CONN_OPEN;
		e.user = f->passive ? c->lst[f->listener].user : f->user;
		ev_fill_conn(c, f, &e);
		if (!fp_ev_post(c, x, &e))
			return false;
		f->open_posted = true;
		if (f->passive && c->lst[f->listener].pending)
			c->lst[f->listener].pending--;
		stat_add(c, ST_CONN_OPENED, 1);
	}
	if (!f->open_posted) {
		/* active open failed before establishing */
		if (!f->passive && (f->ev_flags & TCP_OUT_RESET)) {
			e.type = TAS_EV_CONN_OPEN;
			e.user = f->user;
			e.status =
				(int16_t)(f->ev_err ? f->ev_err : -ECONNRESET);
			if (!fp_ev_post(c, x, &e))
				return false;
			f->ev_flags = 0;
			f->app_closed = true; /* the app never got a handle */
		}
		return true;
	}
	e.user = f->user;
	if (f->zc) {
		/* ending: no byte will come for what is still posted */
		bool ending =
			(f->ev_flags & (TCP_OUT_RX_FIN | TCP_OUT_RESET)) ||
			f->tc.fin_rcvd || f->dead;

		if (!fp_zc_deliver(c, f, x, &e, ending))
			return false;
	} else if (f->ev_rx) {
		e.type = TAS_EV_RX;
		e.a = f->ev_rx;
		if (!fp_ev_post(c, x, &e))
			return false;
		f->ev_rx = 0;
	}
	if (f->tx_hold && c->tx_done >= f->tx_hold_tag) {
		f->ev_txfreed += f->tx_hold;
		f->tx_hold = 0;
		if (f->zc)
			fp_zc_tx_release(f);
	}
	if (f->ev_txfreed) {
		e.type = TAS_EV_TX_FREED;
		e.a = f->ev_txfreed;
		if (!fp_ev_post(c, x, &e))
			return false;
		f->ev_txfreed = 0;
	}
	e.a = 0;
	if (f->ev_flags & TCP_OUT_RX_FIN) {
		e.type = TAS_EV_RX_FIN;
		if (!fp_ev_post(c, x, &e))
			return false;
		f->ev_flags &= ~(uint32_t)TCP_OUT_RX_FIN;
	}
	if (f->ev_flags & TCP_OUT_FIN_ACKED) {
		e.type = TAS_EV_TX_FIN_ACKED;
		if (!fp_ev_post(c, x, &e))
			return false;
		f->ev_flags &= ~(uint32_t)TCP_OUT_FIN_ACKED;
	}
	if (f->ev_flags & TCP_OUT_RESET) {
		e.type = TAS_EV_RESET;
		e.status = (int16_t)(f->ev_err ? f->ev_err : -ECONNRESET);
		if (!fp_ev_post(c, x, &e))
			return false;
		f->ev_flags &= ~(uint32_t)TCP_OUT_RESET;
		/* the handle dies with the reset: the library does not close
		 * it, so the slot is freed once the engine is done */
		f->app_closed = true;
	}
	f->ev_flags &= ~(uint32_t)TCP_OUT_ESTABLISHED;
	return true;
}

/* ---- app commands ---- */

/**
 * fp_flow_kill - abort a flow with RST; it is freed once delivered
 */
void fp_flow_kill(struct fp_core *c, struct flow *f, uint64_t now)
{
	struct tcp_out o;

	tcp_out_reset(&o);
	tcp_abort(&f->tc, now, &o);
	for (unsigned i = 0; i < o.nseg; i++)
		fp_emit(c, f->mac, f->tc.remote_ip, &o.seg[i], NULL, NULL);
	f->dead = true;
	fp_mark_notify(c, f);
}

static void app_close(struct fp_core *c, struct flow *f, uint64_t now)
{
	struct tcp_out o;
	struct fp_pace ps;

	if (!f->dead) {
		tcp_out_reset(&o);
		if (tcp_rx_avail(&f->tc) > 0) {
			fp_flow_kill(c, f, now); /* unread data: RST (Linux) */
		} else {
			/* tcp_app_close sends what the window allows */
			fp_pace_begin(c, f, now, false, &ps);
			tcp_app_close(&f->tc, now, &o);
			fp_pace_end(c, f, now, &ps);
			fp_handle_out(c, f, &o);
			fp_mark_dirty(c, f);
		}
	}
	f->app_closed = true;
	fp_zc_rx_drop(c, f);
	/* ring full (or an earlier answer still due): fp_flow_deliver tries
	 * again, and the slot is not reused before */
	f->closed_due = f->moved_due || !answer_post(c, f, TAS_EV_CLOSED);
	fp_mark_notify(c, f);
}

/* The app's view of the stream no longer matches ours: reset the flow. */
static void bad_cmd_reset(struct fp_core *c, struct flow *f, uint64_t now)
{
	fp_flow_kill(c, f, now);
	f->ev_flags |= TCP_OUT_RESET;
	f->ev_err = -EINVAL;
	fp_mark_notify(c, f);
}

static void app_cmd(struct fp_core *c, int xi, const struct tas_cmd *cmd,
		    uint64_t now)
{
	struct fp_ctx *x = &c->ctx[xi];
	/* read each field of the shared entry once (the app may change it) */
	uint8_t type = cmd->type;
	uint32_t handle = cmd->flow, len = cmd->len, off = cmd->off;
	uint16_t region = cmd->region;
	struct flow *f = flow_from_handle(&c->ft, handle);

	if (!f || f->app != x->app || f->app_closed ||
	    (type != TAS_CMD_MOVE && f->ctx != xi)) {
		stat_add(c, ST_DROP_BAD_CMD, 1);
		return;
	}
	switch (type) {
	case TAS_CMD_TX:
		if (f->dead)
			return;
		if (tcp_app_tx(&f->tc, len)) {
			stat_add(c, ST_DROP_BAD_CMD, 1);
			bad_cmd_reset(c, f, now);
			return;
		}
		fp_mark_dirty(c, f);
		break;
	case TAS_CMD_RX_DONE:
		if (f->dead)
			return;
		if (tcp_app_rx_done(&f->tc, len)) {
			stat_add(c, ST_DROP_BAD_CMD, 1);
			return;
		}
		if (f->zc)
			fp_zc_rx_credit(f);
		fp_mark_dirty(c, f);
		break;
	case TAS_CMD_TX_ZC:
	case TAS_CMD_RX_POST:
	case TAS_CMD_RX_AT:
		if (f->dead)
			return;
		if (fp_zc_cmd(c, x, f, type, region, off, len)) {
			stat_add(c, ST_ZC_BAD, 1);
			bad_cmd_reset(c, f, now);
			return;
		}
		fp_mark_dirty(c, f);
		if (type == TAS_CMD_RX_POST)
			fp_mark_notify(c, f); /* it may be complete already */
		break;
	case TAS_CMD_TX_FIN:
		if (!f->dead) {
			struct tcp_out o;
			struct fp_pace ps;

			fp_out_begin(c, &o);
			fp_pace_begin(c, f, now, false, &ps);
			tcp_app_close(&f->tc, now, &o);
			fp_pace_end(c, f, now, &ps);
			fp_handle_out(c, f, &o);
			fp_mark_dirty(c, f);
		}
		break;
	case TAS_CMD_CLOSE:
		app_close(c, f, now);
		break;
	case TAS_CMD_MOVE:
		f->ctx = xi;
		if (!f->moved_due && !answer_post(c, f, TAS_EV_MOVED)) {
			f->moved_due = true; /* one answer per pending move */
			fp_mark_notify(c, f);
		}
		break;
	default:
		stat_add(c, ST_DROP_BAD_CMD, 1);
	}
}

static void ctx_poison(struct fp_core *c, int xi, uint64_t now)
{
	/* impossible queue indices: this context loses its flows */
	stat_add(c, ST_DROP_BAD_RING, 1);
	c->ctx[xi].dead = true;
	for (uint32_t i = 0; i < c->ft.cap; i++) {
		struct flow *f = &c->ft.flows[i];

		if (f->used && f->ctx == xi && !f->dead)
			fp_flow_kill(c, f, now);
		if (f->used && f->ctx == xi)
			f->app_closed = true;
	}
}

/**
 * fp_poll_apps - apply the commands waiting in every context's queue
 */
unsigned fp_poll_apps(struct fp_core *c, uint64_t now)
{
	struct tas_cmd cmds[APP_CMD_BURST];
	unsigned work = 0;

	for (int i = 0; i < c->nctx; i++) {
		struct fp_ctx *x = &c->ctx[i];
		uint32_t n;

		if (!x->used || x->dead)
			continue;
		n = tas_ring_dequeue_burst(&x->atx, cmds, APP_CMD_BURST);
		if (tas_ring_bad(&x->atx) || tas_ring_bad(&x->arx)) {
			ctx_poison(c, i, now);
			continue;
		}
		for (uint32_t k = 0; k < n; k++)
			app_cmd(c, i, &cmds[k], now);
		work += n;
	}
	return work;
}

/* ---- control commands ---- */

static int ctx_find(struct fp_core *c, uint32_t app_id, uint16_t ctx_id)
{
	for (int i = 0; i < c->nctx; i++)
		if (c->ctx[i].used && c->ctx[i].app_id == app_id &&
		    c->ctx[i].ctx_id == ctx_id)
			return i;
	return -1;
}

static void cmd_ctx_add(struct fp_core *c, const struct fp_cmd *m)
{
	struct tas_ctx_shm *shm =
		(struct tas_ctx_shm *)(m->ctx.seg_base + m->ctx.ctx_off);
	int i;

	for (i = 0; i < MAX_CTX && c->ctx[i].used; i++)
		;
	if (i == MAX_CTX)
		return;
	if (i + 1 > c->nctx)
		c->nctx = i + 1; /* loops over contexts stop here */
	struct fp_ctx *x = &c->ctx[i];
	memset(x, 0, sizeof(*x));
	x->ctx_id = m->ctx_id;
	x->app_id = m->app_id;
	x->app = m->app;
	x->seg_base = m->ctx.seg_base;
	x->seg_size = m->ctx.seg_size;
	x->mem_key = m->ctx.mem_key;
	x->seg_hdr = (struct tas_seg_hdr *)m->ctx.seg_base;
	x->shm = shm;
	x->evfd = m->ctx.evfd;
	x->regions = m->ctx.regions;
	/* offsets were written by the control thread, before the app saw
	 * the segment; they are ours, not the app's */
	if (tas_ring_attach(&x->atx, x->seg_base + shm->atx_off[c->id],
			    TAS_ATX_ENTRIES, sizeof(struct tas_cmd)) ||
	    tas_ring_attach(&x->arx, x->seg_base + shm->arx_off[c->id],
			    TAS_ARX_ENTRIES, sizeof(struct tas_ev)))
		x->dead = true;
	x->used = true;
}

/* A closed flow whose FIN exchange is under way keeps going after its app
 * exits (as Linux does): nothing of it is unacknowledged, so it never
 * reads the send ring again, and anything it would still receive lands in
 * the core's scratch buffer (and resets the flow: data after close). */
static bool flow_can_orphan(const struct flow *f)
{
	const struct tcp_conn *tc = &f->tc;

	if (!f->app_closed || f->dead)
		return false;
	if (tc->state != TCP_FIN_WAIT_2 && tc->state != TCP_TIME_WAIT &&
	    tc->state != TCP_FIN_WAIT_1 && tc->state != TCP_CLOSING &&
	    tc->state != TCP_LAST_ACK)
		return false;
	/* only the FIN may be outstanding */
	return tc->fin_sent && tc->snd_max - tc->snd_una <= 1;
}

static void cmd_app_del(struct fp_core *c, const struct fp_cmd *m, uint64_t now)
{
	struct fp_note n = { .type = FP_NOTE_APP_DELETED, .app_id = m->app_id };

	for (uint32_t i = 0; i < c->ft.cap; i++) {
		struct flow *f = &c->ft.flows[i];

		if (!f->used || f->app != m->app)
			continue;
		if (f->buf_slot != UINT32_MAX)
			c->sh->pool.free(f->app, f->buf_slot);
		f->buf_slot = UINT32_MAX;
		if (flow_can_orphan(f)) {
			fp_zc_drop(c, f);
			f->tc.rx_buf = c->scratch;
			f->tc.tx_buf = c->scratch;
			f->app = NULL;
			f->ctx = -1;
			continue;
		}
		if (!f->dead)
			fp_flow_kill(c, f, now);
		f->app_closed = true;
		f->app = NULL;
		f->ctx = -1;
		fp_flow_release(c, f);
	}
	for (int i = 0; i < MAX_LISTENERS; i++)
		if (c->lst[i].used && c->lst[i].app == m->app)
			c->lst[i].used = false;
	for (int i = 0; i < c->nctx; i++)
		if (c->ctx[i].used && c->ctx[i].app == m->app)
			memset(&c->ctx[i], 0, sizeof(c->ctx[i]));
	/* the RSTs go out before the app's memory does */
	fp_tx_flush(c);
	fp_note_post(c, &n);
}

/* Room for one more note at the end of the backlog: slide the queued
 * ones to the front once at least half of the array lies before them, else
 * double the array. Amortized O(1) per note. */
static bool note_backlog_room(struct fp_core *c)
{
	struct fp_note *nb;
	uint32_t cap = c->note_backlog_cap;

	if (c->note_backlog_head + c->nnote_backlog < cap)
		return true;
	if (c->note_backlog_head >= cap / 2) {
		memmove(c->note_backlog, c->note_backlog + c->note_backlog_head,
			c->nnote_backlog * sizeof(*nb));
		c->note_backlog_head = 0;
		return true;
	}
	if (cap >= NOTE_BACKLOG_MAX)
		return false;
	nb = realloc(c->note_backlog, 2 * (size_t)cap * sizeof(*nb));
	if (!nb)
		return false;
	c->note_backlog = nb;
	c->note_backlog_cap = 2 * cap;
	return true;
}

/**
 * fp_note_post - tell the control thread something; never blocks (a full
 * ring spills into a local backlog that fp_note_flush retries; the backlog
 * grows, a note is dropped and counted only when memory runs out)
 */
void fp_note_post(struct fp_core *c, const struct fp_note *n)
{
	c->kick_ctrl = true;
	if (!c->nnote_backlog &&
	    tas_ring_enqueue_burst(&c->note_out, n, 1) == 1)
		return;
	if (!note_backlog_room(c)) {
		stat_add(c, ST_DROP_EXC_FULL, 1);
		return;
	}
	c->note_backlog[c->note_backlog_head + c->nnote_backlog++] = *n;
}

/**
 * fp_note_flush - retry notes that found the ring full, oldest first
 */
void fp_note_flush(struct fp_core *c)
{
	uint32_t done;

	if (!c->nnote_backlog)
		return;
	done = tas_ring_enqueue_burst(&c->note_out,
				      c->note_backlog + c->note_backlog_head,
				      c->nnote_backlog);
	c->nnote_backlog -= done;
	c->note_backlog_head =
		c->nnote_backlog ? c->note_backlog_head + done : 0;
	c->kick_ctrl = true;
}

static void listen_note(struct fp_core *c, const struct fp_cmd *m,
			uint32_t type)
{
	struct fp_note n = { .type = type,
			     .app_id = m->app_id,
			     .port = m->port,
			     .user = m->user };

	fp_note_post(c, &n);
}

static void cmd_listen(struct fp_core *c, const struct fp_cmd *m)
{
	int xi = ctx_find(c, m->app_id, m->ctx_id), i;

	/* the control thread answers the app once every core confirmed,
	 * so a SYN right after LISTEN_OPEN finds the listener */
	listen_note(c, m, FP_NOTE_LISTEN_DONE);
	if (xi < 0)
		return;
	for (i = 0; i < MAX_LISTENERS && c->lst[i].used; i++)
		;
	if (i == MAX_LISTENERS)
		return;
	c->lst[i] =
		(struct fp_listener){ .used = true,
				      .port = m->port,
				      .ctx = xi,
				      .app = m->app,
				      .app_id = m->app_id,
				      .user = m->user,
				      .backlog = m->backlog ? m->backlog : 1 };
}

static void cmd_listen_close(struct fp_core *c, const struct fp_cmd *m)
{
	for (int i = 0; i < MAX_LISTENERS; i++)
		if (c->lst[i].used && c->lst[i].app == m->app &&
		    c->lst[i].user == m->user)
			c->lst[i].used = false;
	listen_note(c, m, FP_NOTE_LISTEN_CLOSED);
}

static void cmd_connect(struct fp_core *c, const struct fp_cmd *m, uint64_t now)
{
	int xi = ctx_find(c, m->app_id, m->ctx_id);
	struct flow *f;
	struct tcp_out o;

	if (xi < 0 || !(f = flow_alloc(&c->ft))) {
		/* the control thread answers on kin, which never loses an
		 * event (its overflow queue), and frees the port */
		struct fp_note n = { .type = FP_NOTE_CONNECT_FAILED,
				     .app_id = m->app_id,
				     .port = m->conn.local_port,
				     .ctx_id = m->ctx_id,
				     .remote_port = m->conn.remote_port,
				     .remote_ip = m->conn.remote_ip,
				     .status = xi < 0 ? -ENOTCONN : -ENOBUFS,
				     .user = m->user };

		c->sh->pool.free(m->app, m->conn.buf_slot);
		fp_note_post(c, &n);
		return;
	}
	struct fp_ctx *x = &c->ctx[xi];
	f->app = m->app;
	f->app_id = m->app_id;
	f->ctx = xi;
	f->user = m->user;
	f->buf_slot = m->conn.buf_slot;
	c->sh->pool.offsets(m->app, f->buf_slot, &f->rx_off, &f->tx_off);
	memcpy(f->mac, m->conn.mac, 6);
	tcp_conn_init(&f->tc, &c->sh->tcp, c->sh->ip, m->conn.local_port,
		      m->conn.remote_ip, m->conn.remote_port,
		      tcp_isn(c->sh->isn_secret, c->sh->ip, m->conn.local_port,
			      m->conn.remote_ip, m->conn.remote_port, now),
		      x->seg_base + f->rx_off, c->sh->rxbuf_size,
		      x->seg_base + f->tx_off, c->sh->txbuf_size);
	flow_insert(&c->ft, f);
	tcp_out_reset(&o);
	tcp_connect(&f->tc, now, &o);
	fp_handle_out(c, f, &o);
}

static void cmd_dump(struct fp_core *c, struct fp_dump *d)
{
	d->n = 0;
	for (uint32_t i = 0; i < c->ft.cap && d->n < d->max; i++) {
		struct flow *f = &c->ft.flows[i];
		struct fp_dump_row *r;

		if (!f->used)
			continue;
		r = &d->rows[d->n++];
		r->local_ip = f->tc.local_ip;
		r->remote_ip = f->tc.remote_ip;
		r->local_port = f->tc.local_port;
		r->remote_port = f->tc.remote_port;
		r->state = (uint8_t)f->tc.state;
		r->app_id = f->app_id;
		r->snd_wnd = f->tc.snd_wnd;
		r->rcv_wnd = f->tc.rcv_adv - f->tc.rcv_nxt;
		r->cwnd = f->tc.cwnd;
		r->srtt_us = f->tc.srtt_us;
		r->rto_us = f->tc.rto_us;
		r->bytes_in = f->tc.st.bytes_in;
		r->bytes_out = f->tc.st.bytes_out;
		r->retrans = f->tc.st.retrans_segs;
		r->rx_avail = tcp_rx_avail(&f->tc);
		r->tx_queued = f->tc.tx_end - f->tc.snd_una;
		r->flow_idx = i;
		fp_zc_counters(f, &r->zc_tx, &r->zc_rx_nocopy, &r->zc_rx_copy);
	}
	atomic_store_explicit(&d->done, 1, memory_order_release);
}

/**
 * fp_poll_ctrl - apply control-thread commands and send its frames
 */
unsigned fp_poll_ctrl(struct fp_core *c, uint64_t now)
{
	struct fp_cmd m;
	struct fp_frame *fr;
	unsigned work = 0;

	while (work < 16 && tas_ring_dequeue_burst(&c->cmd_in, &m, 1) == 1) {
		work++;
		switch (m.type) {
		case FP_CMD_CTX_ADD:
			cmd_ctx_add(c, &m);
			break;
		case FP_CMD_APP_DEL:
			cmd_app_del(c, &m, now);
			break;
		case FP_CMD_LISTEN:
			cmd_listen(c, &m);
			break;
		case FP_CMD_LISTEN_CLOSE:
			cmd_listen_close(c, &m);
			break;
		case FP_CMD_CONNECT:
			cmd_connect(c, &m, now);
			break;
		case FP_CMD_DUMP:
			cmd_dump(c, m.dump);
			break;
		}
	}
	/* Frames from the control thread go out from their ring slot; the
	 * slot is released only once the NIC took the frame. */
	if (c->frame_pending) {
		fp_tx_flush(c);
		if (c->ntx)
			return work;
		tas_ring_dequeue_commit(&c->frame_in, 1);
		c->frame_pending = false;
	}
	for (uint32_t n = 1; (fr = (struct fp_frame *)tas_ring_dequeue_peek(
				      &c->frame_in, &n)) != NULL;
	     n = 1) {
		struct nic_tx *t;
		uint32_t len = fr->len, hl;

		fp_tx_flush(c);
		if (c->ntx || !(t = fp_tx_slot(c)))
			break;
		if (len > FP_FRAME_MAX)
			len = FP_FRAME_MAX;
		hl = len > NIC_HDR_MAX ? NIC_HDR_MAX : len;
		memcpy((uint8_t *)t->hdr, fr->data, hl);
		t->hdr_len = (uint16_t)hl;
		if (len > hl) {
			t->seg[0] = (struct nic_seg){ fr->data + hl, len - hl,
						      c->frame_key };
			t->nseg = 1;
		}
		c->ntx++;
		stat_add(c, ST_TX_FRAMES, 1);
		stat_add(c, ST_TX_BYTES, len);
		work++;
		fp_tx_flush(c);
		if (c->ntx) {
			c->frame_pending = true;
			break;
		}
		tas_ring_dequeue_commit(&c->frame_in, 1);
	}
	return work;
}
