/* fastpath.c - per-core run-to-completion loop: NIC RX, flow lookup, the
 * TCP engine, app queues, TX, timers, idle sleep
 *
 * One poll: receive a burst, parse each frame once (tcp/wire.c), hand TCP
 * segments of known flows to the engine (tcp/tcp_in.c), SYNs to listeners,
 * ARP/ICMP/other to the control thread; apply app commands; apply control
 * commands; fire timers; emit segments (payload pointed at in the app's
 * send ring); deliver coalesced events to apps; sleep when idle.
 *
 * Congestion-control feedback and pacing live in fp_cc.c.
 *
 * Known gaps: timers are found by a scan bounded by the earliest deadline
 * (no timer wheel yet); retransmissions and sends during loss recovery are
 * not paced.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "tcp/csum.h"
#include "tcp/fp_int.h"
#include "tcp/seq.h"

static const char *const stat_names[ST__FIXED_NR] = {
	[ST_RX_FRAMES] = "rx_frames",
	[ST_RX_BYTES] = "rx_bytes",
	[ST_TX_FRAMES] = "tx_frames",
	[ST_TX_BYTES] = "tx_bytes",
	[ST_TX_RING_FULL] = "tx_ring_full",
	[ST_EXC_FRAMES] = "exception_frames",
	[ST_TCP_SEGS_IN] = "tcp_segs_in",
	[ST_TCP_SEGS_OUT] = "tcp_segs_out",
	[ST_RETRANS] = "retransmits",
	[ST_FAST_RETRANS] = "fast_retransmits",
	[ST_TIMEOUTS] = "rto_timeouts",
	[ST_TLP_PROBES] = "tlp_probes",
	[ST_OOO_SEGS] = "ooo_segs_in",
	[ST_DUP_SEGS] = "dup_segs_in",
	[ST_CONN_OPENED] = "conn_established",
	[ST_CONN_RESET] = "conn_reset",
	[ST_RST_SENT] = "rst_sent",
	[ST_SYN_DROPPED] = "syn_dropped",
	[ST_DROP_PARSE] = "drop_parse",
	[ST_DROP_NOT_OURS] = "drop_not_ours",
	[ST_DROP_NO_FLOW] = "drop_no_flow",
	[ST_DROP_EXC_FULL] = "drop_exception_full",
	[ST_DROP_BAD_CMD] = "drop_bad_app_cmd",
	[ST_DROP_BAD_RING] = "drop_bad_app_ring",
	[ST_EV_DEFERRED] = "app_events_deferred",
	[ST_ZC_TX_BYTES] = "zc_tx_bytes",
	[ST_ZC_TX_BOUNCE] = "zc_tx_bounced_frames",
	[ST_ZC_RX_NOCOPY] = "zc_rx_placed_nocopy_bytes",
	[ST_ZC_RX_COPY] = "zc_rx_placed_copy_bytes",
	[ST_ZC_RX_RING] = "zc_rx_ring_bytes",
	[ST_ZC_BAD] = "drop_bad_zc_cmd",
	[ST_ZC_RX_UNSAFE] = "zc_rx_dropped_unplaceable",
};

/**
 * fp_stat_name - counter name for tasctl ("drop_ip_csum" for parse errors)
 */
const char *fp_stat_name(unsigned i)
{
	static char names[PKT_ERR__NR][32];

	if (i < ST__FIXED_NR)
		return stat_names[i];
	if (i < ST__NR) {
		char *n = names[i - ST_PKT_ERR_BASE];

		if (!n[0])
			snprintf(n, sizeof(names[0]), "drop_%s",
				 pkt_err_str(
					 (enum pkt_err)(i - ST_PKT_ERR_BASE)));
		return n;
	}
	return "?";
}

/* ---- TX ---- */

/**
 * fp_tx_flush - post the batched frames; keep what the NIC refused
 */
void fp_tx_flush(struct fp_core *c)
{
	unsigned sent = 0;

	/* completions are polled even with nothing new to send: decorators
	 * (the --link queue) move held frames along in that call */
	if (c->ntx)
		sent = nic_tx_burst(c->nic, c->queue, c->txq, c->ntx);
	c->tx_full = sent < c->ntx;
	if (c->tx_full)
		stat_add(c, ST_TX_RING_FULL, 1);
	if (sent && sent < c->ntx) {
		/* keep the rest (and their headers) for the next flush */
		memmove(&c->txq[0], &c->txq[sent],
			(c->ntx - sent) * sizeof(c->txq[0]));
		memmove(&c->txhdr[0], &c->txhdr[sent],
			(c->ntx - sent) * sizeof(c->txhdr[0]));
		for (unsigned i = 0; i < c->ntx - sent; i++)
			c->txq[i].hdr = c->txhdr[i];
	}
	c->ntx -= sent;
	uint64_t cookies[64];
	unsigned n;
	/* completions come in posting order: the last cookie says every
	 * frame up to it no longer reads app memory */
	while ((n = nic_tx_completions(c->nic, c->queue, cookies, 64)) > 0)
		c->tx_done = cookies[n - 1];
}

/**
 * fp_out_begin - an empty engine output that fits the free TX slots
 *
 * What the engine cannot emit now stays unsent (the flow is marked dirty
 * and resumes next poll) instead of being framed and dropped for want of
 * a TX slot, which cost a timeout per lost segment under load.
 */
void fp_out_begin(struct fp_core *c, struct tcp_out *o)
{
	tcp_out_reset(o);
	/* short of slots: offer the queue to the NIC, unless it just
	 * refused (each try can be a syscall; the poll's end tries again) */
	if (TXQ_MAX - c->ntx < TCP_OUT_SEGS / 4 && !c->tx_full)
		fp_tx_flush(c);
	if (TXQ_MAX - c->ntx < o->cap)
		o->cap = TXQ_MAX - c->ntx;
}

/**
 * fp_tx_slot - next free TX descriptor (flushing when full), NULL if none
 */
struct nic_tx *fp_tx_slot(struct fp_core *c)
{
	if (c->ntx == TXQ_MAX)
		fp_tx_flush(c);
	if (c->ntx == TXQ_MAX)
		return NULL;
	struct nic_tx *t = &c->txq[c->ntx];
	memset(t, 0, sizeof(*t));
	t->hdr = c->txhdr[c->ntx];
	t->cookie = ++c->tx_seq;
	return t;
}

/* Sum of ring bytes [off, off+len) split at the wrap; odd first piece
 * shifts the second piece's byte lanes (RFC 1071 byte-order independence). */
static uint32_t ring_csum(const uint8_t *base, uint32_t size, uint32_t off,
			  uint32_t len, uint32_t sum, struct nic_tx *t,
			  uint32_t key, bool soft)
{
	uint32_t l1 = size - off < len ? size - off : len;

	t->seg[t->nseg++] = (struct nic_seg){ base + off, l1, key };
	if (len > l1)
		t->seg[t->nseg++] = (struct nic_seg){ base, len - l1, key };
	if (!soft)
		return 0; /* the NIC sums */
	sum = csum_partial(base + off, l1, sum);
	if (len > l1) {
		uint32_t s2 = csum_partial(base, len - l1, 0);

		if (l1 & 1) {
			uint16_t f = (uint16_t)~csum_fold(s2);

			s2 = (uint16_t)((f << 8) | (f >> 8));
		}
		sum += s2;
	}
	return sum;
}

/* Frame one segment: Ethernet + IPv4 + TCP headers in core memory, payload
 * straight from the send ring (zero copy). */
/**
 * fp_emit - frame one segment; payload is pointed at in the send ring
 */
void fp_emit(struct fp_core *c, const uint8_t *dmac, uint32_t dst_ip,
	     struct tcp_seg_out *s, const struct flow *f,
	     const struct fp_ctx *x)
{
	struct nic_tx *t = fp_tx_slot(c);
	bool soft = !(c->offloads & NIC_OFF_TX_CSUM);
	struct eth_hdr eh;
	struct ipv4_hdr ih;
	uint8_t *p;
	size_t tl;
	uint32_t sum = 0;

	if (!t) {
		stat_add(c, ST_TX_RING_FULL, 1);
		return;
	}
	p = (uint8_t *)t->hdr;
	memcpy(eh.dst, dmac, 6);
	memcpy(eh.src, c->sh->mac, 6);
	eh.type = ETHTYPE_IPV4;
	eth_emit(p, &eh);
	tl = tcp_emit(p + ETH_HLEN + IPV4_HLEN, &s->h);
	memset(&ih, 0, sizeof(ih));
	ih.tos = s->ecn;
	ih.tot_len = (uint16_t)(IPV4_HLEN + tl + s->len);
	ih.id = c->ip_id++;
	ih.ttl = 64;
	ih.proto = IPPROTO_TCP_;
	ih.src = c->sh->ip;
	ih.dst = dst_ip;
	ipv4_emit(p + ETH_HLEN, &ih);
	t->hdr_len = (uint16_t)(ETH_HLEN + IPV4_HLEN + tl);

	if (soft) {
		sum = csum_pseudo(ih.src, ih.dst, IPPROTO_TCP_,
				  (uint16_t)(tl + s->len));
		sum = csum_partial(p + ETH_HLEN + IPV4_HLEN, tl, sum);
	}
	if (s->len && f && x) {
		const struct tcp_conn *tc = &f->tc;
		uint32_t start = s->h.seq + ((s->h.flags & TCP_SYN) ? 1 : 0);
		uint32_t pos = start - (tc->iss + 1);

		if (!f->zc)
			sum = ring_csum(tc->tx_buf, tc->tx_size,
					pos & (tc->tx_size - 1), s->len, sum, t,
					x->mem_key, soft);
		else if (!fp_zc_payload(c, f, x, pos, s->len, t,
					soft ? &sum : NULL)) {
			stat_add(c, ST_TX_RING_FULL, 1);
			return; /* slot stays free; retransmitted later */
		}
	}
	if (!soft) {
		t->flags |= NIC_TX_CSUM;
	} else {
		uint16_t ck = csum_fold(sum);

		p[ETH_HLEN + IPV4_HLEN + 16] = (uint8_t)(ck >> 8);
		p[ETH_HLEN + IPV4_HLEN + 17] = (uint8_t)ck;
	}
	c->ntx++;
	stat_add(c, ST_TX_FRAMES, 1);
	stat_add(c, ST_TX_BYTES, t->hdr_len + s->len);
	stat_add(c, ST_TCP_SEGS_OUT, 1);
	if (s->h.flags & TCP_RST)
		stat_add(c, ST_RST_SENT, 1);
}

/**
 * fp_handle_out - act on the engine's output for one flow
 */
void fp_handle_out(struct fp_core *c, struct flow *f, struct tcp_out *o)
{
	struct fp_ctx *x = f->ctx >= 0 ? &c->ctx[f->ctx] : NULL;

	for (unsigned i = 0; i < o->nseg; i++)
		fp_emit(c, f->mac, f->tc.remote_ip, &o->seg[i], f, x);
	if (o->nseg >= o->cap)
		fp_mark_dirty(c, f); /* engine may have more to send */
	if (o->rx_new && f->app_closed) {
		/* data after close(): abort like Linux does */
		struct tcp_out a;

		tcp_out_reset(&a);
		tcp_abort(&f->tc, mono_ns(), &a);
		for (unsigned i = 0; i < a.nseg; i++)
			fp_emit(c, f->mac, f->tc.remote_ip, &a.seg[i], NULL,
				NULL);
		o->events |= TCP_OUT_CLOSED;
	}
	f->ev_rx += o->rx_new;
	if (f->zc && o->rx_new && fp_zc_rx_credit(f))
		fp_mark_dirty(c, f);
	if (c->sh->cc_external && (o->events & TCP_OUT_ESTABLISHED))
		fp_cc_open(c, f);
	if (f->cc_on)
		fp_cc_feedback(c, f, o);
	if (o->tx_freed) {
		/* acknowledged, but a retransmission may still be posted:
		 * hand the bytes back only after every frame posted so far
		 * has completed (see fp_flow_deliver) */
		f->tx_hold += o->tx_freed;
		f->tx_hold_tag = c->tx_seq;
	}
	f->ev_flags |= o->events & ~(uint32_t)TCP_OUT_CLOSED;
	if (o->events & TCP_OUT_RESET) {
		f->ev_err = o->err;
		stat_add(c, ST_CONN_RESET, 1);
	}
	if (o->events & (TCP_OUT_CLOSED | TCP_OUT_RESET))
		f->dead = true;
	if (f->ev_rx || f->ev_txfreed || f->tx_hold || f->ev_flags)
		fp_mark_notify(c, f);
	if (f->dead)
		fp_mark_notify(c, f); /* flush frees it once delivered */
	if (f->app_closed && f->tc.state == TCP_TIME_WAIT &&
	    f->buf_slot != UINT32_MAX) {
		/* nothing more is read or written in TIME_WAIT: give the
		 * buffers back now rather than after 2*MSL */
		c->sh->pool.free(f->app, f->buf_slot);
		f->buf_slot = UINT32_MAX;
	}
	uint64_t d = tcp_next_deadline(&f->tc);
	if (d < c->timer_next)
		c->timer_next = d;
}

/* ---- receive ---- */

static void send_rst_reply(struct fp_core *c, const struct pkt *p)
{
	struct tcp_seg_out rst;

	memset(&rst, 0, sizeof(rst));
	if (!tcp_reset_reply(&p->tcp, p->payload_len, &rst))
		return;
	fp_emit(c, p->eth.src, p->ip.src, &rst, NULL, NULL);
}

static int listener_pick(struct fp_core *c, uint16_t port)
{
	int found[MAX_LISTENERS], n = 0;

	for (int i = 0; i < MAX_LISTENERS; i++)
		if (c->lst[i].used && c->lst[i].port == port &&
		    !c->ctx[c->lst[i].ctx].dead)
			found[n++] = i;
	if (!n)
		return -1;
	return found[c->lst_rr++ % (unsigned)n];
}

static void passive_open(struct fp_core *c, const struct pkt *p, uint64_t now)
{
	int li = listener_pick(c, p->tcp.dport);
	struct fp_listener *l;
	struct fp_ctx *x;
	struct flow *f;
	struct tcp_out o;
	uint32_t slot;

	if (li < 0) {
		stat_add(c, ST_DROP_NO_FLOW, 1);
		send_rst_reply(c, p);
		return;
	}
	l = &c->lst[li];
	x = &c->ctx[l->ctx];
	if (l->pending >= l->backlog || !(f = flow_alloc(&c->ft))) {
		stat_add(c, ST_SYN_DROPPED, 1);
		return;
	}
	if (c->sh->pool.alloc(l->app, &slot)) {
		flow_free(&c->ft, f);
		stat_add(c, ST_SYN_DROPPED, 1);
		return;
	}
	f->app = l->app;
	f->app_id = l->app_id;
	f->buf_slot = slot;
	c->sh->pool.offsets(l->app, slot, &f->rx_off, &f->tx_off);
	f->passive = true;
	f->listener = li;
	f->ctx = l->ctx;
	memcpy(f->mac, p->eth.src, 6);
	tcp_conn_init(&f->tc, &c->sh->tcp, c->sh->ip, p->tcp.dport, p->ip.src,
		      p->tcp.sport,
		      tcp_isn(c->sh->isn_secret, c->sh->ip, p->tcp.dport,
			      p->ip.src, p->tcp.sport, now),
		      x->seg_base + f->rx_off, c->sh->rxbuf_size,
		      x->seg_base + f->tx_off, c->sh->txbuf_size);
	flow_insert(&c->ft, f);
	l->pending++;
	tcp_out_reset(&o);
	tcp_accept_syn(&f->tc, &p->tcp, now, &o);
	fp_handle_out(c, f, &o);
}

static void exception(struct fp_core *c, const struct nic_rx *r)
{
	struct fp_frame *fr;
	uint32_t n = 1;

	fr = tas_ring_enqueue_reserve(&c->exc_out, &n);
	if (!fr || r->len > FP_FRAME_MAX) {
		stat_add(c, ST_DROP_EXC_FULL, 1);
		return;
	}
	fr->len = r->len;
	fr->csum = r->csum;
	memcpy(fr->data, r->data, r->len);
	tas_ring_enqueue_commit(&c->exc_out, 1);
	c->kick_ctrl = true;
	stat_add(c, ST_EXC_FRAMES, 1);
}

/* What one call into the TCP engine did to a flow's counters. */
static void stat_conn_delta(struct fp_core *c, const struct tcp_conn_stats *a,
			    const struct tcp_conn_stats *b)
{
	stat_add(c, ST_RETRANS, b->retrans_segs - a->retrans_segs);
	stat_add(c, ST_FAST_RETRANS, b->fast_retrans - a->fast_retrans);
	stat_add(c, ST_TIMEOUTS, b->timeouts - a->timeouts);
	stat_add(c, ST_TLP_PROBES, b->tlp_probes - a->tlp_probes);
	stat_add(c, ST_OOO_SEGS, b->ooo_segs - a->ooo_segs);
	stat_add(c, ST_DUP_SEGS, b->dup_segs - a->dup_segs);
}
static void rx_frame(struct fp_core *c, const struct nic_rx *r, uint64_t now)
{
	bool verify = r->csum != NIC_CSUM_OK && r->csum != NIC_CSUM_PARTIAL;
	struct pkt p;
	enum pkt_err err;

	stat_add(c, ST_RX_FRAMES, 1);
	stat_add(c, ST_RX_BYTES, r->len);
	if (r->csum == NIC_CSUM_BAD) {
		stat_add(c, ST_DROP_PARSE, 1);
		stat_add(c, ST_PKT_ERR_BASE + PKT_ERR_TCP_CSUM, 1);
		return;
	}
	if (r->payload) {
		fp_zc_rx_placed(c, r, verify, now); /* from a placement queue */
		return;
	}
	err = pkt_parse(r->data, r->len, verify, &p);
	if (err != PKT_OK) {
		fp_rx_bad(c, err);
		return;
	}
	if (p.kind != PKT_KIND_TCP) {
		exception(c, r);
		return;
	}
	fp_rx_tcp(c, &p, now);
}

/**
 * fp_rx_bad - count a frame that failed parsing
 */
void fp_rx_bad(struct fp_core *c, enum pkt_err err)
{
	stat_add(c, ST_DROP_PARSE, 1);
	stat_add(c, ST_PKT_ERR_BASE + err, 1);
}

/**
 * fp_rx_tcp - one parsed TCP segment: to its flow, a listener, or an RST
 */
void fp_rx_tcp(struct fp_core *c, const struct pkt *p, uint64_t now)
{
	struct flow *f;
	struct tcp_out o;

	if (p->ip.dst != c->sh->ip) {
		stat_add(c, ST_DROP_NOT_OURS, 1);
		return;
	}
	stat_add(c, ST_TCP_SEGS_IN, 1);
	f = flow_lookup(&c->ft, p->ip.src, p->tcp.sport, p->tcp.dport);
	if (!f) {
		if ((p->tcp.flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
			passive_open(c, p, now);
		} else {
			stat_add(c, ST_DROP_NO_FLOW, 1);
			send_rst_reply(c, p);
		}
		return;
	}
	if (f->dead && f->tc.state == TCP_CLOSED) {
		send_rst_reply(c, p);
		return;
	}
	if (f->zc && !fp_zc_rx_safe(f, p)) {
		/* would write where the NIC may still place: let the peer
		 * retransmit it */
		stat_add(c, ST_ZC_RX_UNSAFE, 1);
		return;
	}
	struct tcp_conn_stats st0 = f->tc.st;
	struct fp_pace ps;

	fp_out_begin(c, &o);
	f->last_ece = (p->tcp.flags & TCP_ECE) != 0;
	fp_pace_begin(c, f, now, true, &ps);
	tcp_input(&f->tc, &p->tcp, p->payload, p->payload_len,
		  p->ip.tos & IP_ECN_MASK, now, &o);
	fp_pace_end(c, f, now, &ps);
	fp_handle_out(c, f, &o);
	stat_conn_delta(c, &st0, &f->tc.st);
}

/* ---- timers and output ---- */

static void run_timers(struct fp_core *c, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	uint32_t top = 0;

	if (now < c->timer_next)
		return;
	for (uint32_t i = 0; i < c->ft.hiwater; i++) {
		struct flow *f = &c->ft.flows[i];
		uint64_t d;

		if (!f->used)
			continue;
		top = i + 1;
		d = tcp_next_deadline(&f->tc);
		if (d <= now) {
			struct tcp_out o;
			struct fp_pace ps;
			struct tcp_conn_stats st0 = f->tc.st;

			fp_out_begin(c, &o);
			fp_pace_begin(c, f, now, false, &ps);
			tcp_timers(&f->tc, now, &o);
			fp_pace_end(c, f, now, &ps);
			fp_handle_out(c, f, &o);
			stat_conn_delta(c, &st0, &f->tc.st);
			d = tcp_next_deadline(&f->tc);
		}
		if (d < next)
			next = d;
	}
	/* flows freed by the handlers above cannot lower it further */
	if (top < c->ft.hiwater && !c->ft.flows[c->ft.hiwater - 1].used)
		c->ft.hiwater = top;
	c->timer_next = next;
}

/* Paced flows whose release time came go on the output list. */
static void run_pacer(struct fp_core *c, uint64_t now)
{
	uint32_t due[PACER_BURST], n;

	do {
		n = pacer_expired(&c->pacer, now, due, PACER_BURST);
		for (uint32_t i = 0; i < n; i++)
			if (c->ft.flows[due[i]].used)
				fp_mark_dirty(c, &c->ft.flows[due[i]]);
	} while (n == PACER_BURST);
}

static void flush(struct fp_core *c, uint64_t now)
{
	uint32_t i, keep = 0, n = c->ndirty;

	/* flows marked again here (more to send than the NIC took) wait
	 * for the next poll */
	for (i = 0; i < n; i++) {
		struct flow *f = &c->ft.flows[c->dirty[i]];
		struct tcp_out o;
		struct fp_pace ps;

		if (!f->used || !f->dirty)
			continue; /* stale entry of a freed flow */
		f->dirty = false;
		fp_out_begin(c, &o);
		fp_pace_begin(c, f, now, false, &ps);
		tcp_output(&f->tc, now, &o);
		fp_pace_end(c, f, now, &ps);
		fp_handle_out(c, f, &o);
	}
	memmove(c->dirty, c->dirty + n, (c->ndirty - n) * sizeof(*c->dirty));
	c->ndirty -= n;
	fp_tx_flush(c);

	c->notify_gen++;
	for (i = 0; i < c->nnotify; i++) {
		uint32_t idx = c->notify[i];
		struct flow *f = &c->ft.flows[idx];

		if (!f->used || !f->notify)
			continue; /* stale entry of a freed flow */
		if (f->ctx >= 0 && c->ctx[f->ctx].full_gen == c->notify_gen &&
		    (f->moved_due || f->closed_due || !f->app_closed)) {
			/* its app's event ring filled up in this pass: with
			 * thousands of flows waiting, trying each one cost
			 * a walk of the list on every poll */
			c->notify[keep++] = idx;
			continue;
		}
		if (!fp_flow_deliver(c, f) || f->tx_hold) {
			/* ring full, or acked bytes still wait for NIC
			 * completions: try again next poll */
			c->notify[keep++] = idx;
			continue;
		}
		f->notify = false;
		/* a flow is reused only once the engine is done with it and
		 * the app has closed it (or never had it) */
		if (f->dead && (f->app_closed || f->ctx < 0 ||
				(f->passive && !f->open_posted)))
			fp_flow_release(c, f);
	}
	c->nnotify = keep;

	for (int k = 0; k < c->nctx; k++) {
		struct fp_ctx *x = &c->ctx[k];

		if (!x->kick)
			continue;
		x->kick = false;
		/* order our ring publication before reading the flag */
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&x->shm->waiting,
					 memory_order_relaxed))
			efd_kick(x->evfd);
	}
	if (c->kick_ctrl) {
		c->kick_ctrl = false;
		efd_kick(c->ctrl_fd);
	}
}

/**
 * fp_core_poll - one iteration of the fast-path loop
 */
unsigned fp_core_poll(struct fp_core *c, uint64_t now)
{
	struct nic_rx rx[RX_BURST];
	unsigned n, work = 0;

	/* Receive up to RX_BUDGET frames before taking app commands: one
	 * poll may send APP_CMD_BURST segments per context, each of which
	 * the peer answers, and a single RX_BURST per poll let the NIC ring
	 * overflow under thousands of connections (packet: 42k of 118k
	 * frames dropped with 10,000 connections, each loss an RTO). */
	do {
		n = nic_rx_burst(c->nic, c->queue, rx, RX_BURST);
		for (unsigned i = 0; i < n; i++)
			rx_frame(c, &rx[i], now);
		work += n;
	} while (n == RX_BURST && work < RX_BUDGET);
	work += fp_poll_apps(c, now);
	work += fp_poll_ctrl(c, now);
	fp_note_flush(c);
	run_timers(c, now);
	run_pacer(c, now);
	flush(c, now);
	/* flows whose close finished while nothing else happened */
	return work;
}

/* ---- idle sleep ---- */

static bool core_has_work(struct fp_core *c)
{
	if (!tas_ring_empty(&c->cmd_in) || !tas_ring_empty(&c->frame_in))
		return true;
	for (int i = 0; i < c->nctx; i++)
		if (c->ctx[i].used && !c->ctx[i].dead &&
		    !tas_ring_empty(&c->ctx[i].atx))
			return true;
	return c->ntx > 0 || c->nnotify > 0 || c->ndirty > 0 ||
	       c->nnote_backlog > 0;
}

static void set_sleeping(struct fp_core *c, uint32_t v)
{
	for (int i = 0; i < c->nctx; i++)
		if (c->ctx[i].used && c->ctx[i].seg_hdr)
			atomic_store_explicit(
				&c->ctx[i].seg_hdr->sleeping[c->id], v,
				memory_order_seq_cst);
}

static void core_sleep(struct fp_core *c, uint64_t now)
{
	struct epoll_event ev[4];
	int timeout_ms = 100;
	uint64_t pace = pacer_next(&c->pacer);

	set_sleeping(c, 1);
	/* flag store before re-checking the queues (Dekker with the app's
	 * enqueue-then-read-flag) */
	atomic_thread_fence(memory_order_seq_cst);
	if (core_has_work(c) || (c->nic_fd >= 0 && nic_arm(c->nic, c->queue))) {
		set_sleeping(c, 0);
		return;
	}
	if (c->timer_next != UINT64_MAX) {
		uint64_t d = c->timer_next > now ? c->timer_next - now : 0;

		timeout_ms = (int)(d / 1000000) + 1;
		if (timeout_ms > 100)
			timeout_ms = 100;
	}
	if (c->nic_fd < 0 && timeout_ms > 1)
		timeout_ms = 1; /* backend without a wakeup fd: nap briefly */
	pace = pace > now ? pace - now : 0; /* UINT64_MAX: none stays huge */
	if (pace < (uint64_t)timeout_ms * 1000000) {
		/* a paced release comes first: wake for it to the
		 * microsecond (epoll_wait's milliseconds would cap the rate;
		 * without epoll_pwait2 the loop just polls again) */
		struct timespec ts = { .tv_sec = (time_t)(pace / NS_PER_S),
				       .tv_nsec = (long)(pace % NS_PER_S) };

		if (pace && epoll_pwait2(c->epfd, ev, 4, &ts, NULL) > 0)
			efd_drain(c->doorbell);
	} else if (epoll_wait(c->epfd, ev, 4, timeout_ms) > 0) {
		efd_drain(c->doorbell);
	}
	set_sleeping(c, 0);
}

static void *core_main(void *arg)
{
	struct fp_core *c = arg;

	c->idle_since = mono_ns();
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		uint64_t now = mono_ns();

		if (fp_core_poll(c, now)) {
			c->idle_since = now;
		} else if (c->sh->busy_poll) {
			/* a dedicated core: spin */
		} else if (now - c->idle_since > c->sh->idle_us * 1000ull) {
			core_sleep(c, now);
		} else {
			/* a shared CPU: while we wait for a packet, the peer
			 * or app that will produce it may need this CPU */
			sched_yield();
		}
	}
	return NULL;
}

/* ---- construction ---- */

/* A ring between the core and the control thread: @r is the core's handle,
 * @ctl the control thread's, on the same memory. */
static int ring_make(struct tas_ring *r, struct tas_ring *ctl, void **mem,
		     uint32_t cap, uint32_t esize)
{
	size_t sz = tas_ring_shm_size(cap, esize);
	int ret;

	*mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	if (!*mem)
		return -ENOMEM;
	ret = tas_ring_init(r, *mem, cap, esize);
	return ret ? ret : tas_ring_attach(ctl, *mem, cap, esize);
}

/**
 * fp_core_create - allocate a fast-path core for NIC queue @queue
 */
struct fp_core *fp_core_create(unsigned id, struct nic *nic, unsigned queue,
			       const struct fp_shared *sh)
{
	struct fp_core *c = aligned_alloc(64, sizeof(*c));
	struct nic_link_info li;
	struct epoll_event ev = { .events = EPOLLIN };

	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->queue = queue;
	c->nic = nic;
	c->sh = sh;
	c->timer_next = UINT64_MAX;
	nic_link_info(nic, &li);
	c->offloads = li.offloads;
	c->max_segs = li.max_segs ? li.max_segs : 1;
	c->doorbell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->ctrl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->nic_fd = nic_fd(nic, queue);
	if (c->doorbell < 0 || c->ctrl_fd < 0 || c->epfd < 0)
		goto err;
	if (flow_table_init(&c->ft, sh->max_flows))
		goto err;
	/* room for stale entries of flows freed and reused in one poll */
	c->dirty = calloc(2 * sh->max_flows + 16, sizeof(*c->dirty));
	c->notify = calloc(2 * sh->max_flows + 16, sizeof(*c->notify));
	c->cc = calloc(sh->max_flows, sizeof(*c->cc));
	c->scratch = malloc(sh->rxbuf_size > sh->txbuf_size ? sh->rxbuf_size
							    : sh->txbuf_size);
	c->note_backlog = calloc(NOTE_BACKLOG, sizeof(*c->note_backlog));
	c->note_backlog_cap = NOTE_BACKLOG;
	if (!c->dirty || !c->notify || !c->cc || !c->scratch ||
	    !c->note_backlog)
		goto err;
	if (pacer_init(&c->pacer, sh->max_flows, PACER_SLOTS, PACER_GRAN_NS,
		       mono_ns()))
		goto err;
	if (fp_zc_core_init(c))
		goto err;
	if (ring_make(&c->cmd_in, &c->ctl_cmd_in, &c->ring_mem[0], CMD_RING,
		      sizeof(struct fp_cmd)) ||
	    ring_make(&c->frame_in, &c->ctl_frame_in, &c->ring_mem[1],
		      FRAME_RING, sizeof(struct fp_frame)) ||
	    ring_make(&c->exc_out, &c->ctl_exc_out, &c->ring_mem[2], EXC_RING,
		      sizeof(struct fp_frame)) ||
	    ring_make(&c->note_out, &c->ctl_note_out, &c->ring_mem[3],
		      NOTE_RING, sizeof(struct fp_note)))
		goto err;
	nic_reg_mem(nic, c->ring_mem[1],
		    tas_ring_shm_size(FRAME_RING, sizeof(struct fp_frame)),
		    &c->frame_key);
	ev.data.fd = c->doorbell;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->doorbell, &ev))
		goto err;
	if (c->nic_fd >= 0) {
		ev.data.fd = c->nic_fd;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->nic_fd, &ev))
			goto err;
	}
	return c;
err:
	fp_core_destroy(c);
	return NULL;
}

/**
 * fp_core_destroy - free a stopped core
 */
void fp_core_destroy(struct fp_core *c)
{
	if (!c)
		return;
	fp_core_stop(c);
	if (c->doorbell >= 0)
		close(c->doorbell);
	if (c->ctrl_fd >= 0)
		close(c->ctrl_fd);
	if (c->epfd >= 0)
		close(c->epfd);
	for (uint32_t i = 0; c->ft.flows && i < c->ft.cap; i++)
		if (c->ft.flows[i].used)
			fp_zc_drop(c, &c->ft.flows[i]);
	flow_table_fini(&c->ft);
	free(c->dirty);
	free(c->notify);
	free(c->cc);
	free(c->scratch);
	fp_zc_core_fini(c);
	free(c->note_backlog);
	pacer_fini(&c->pacer);
	for (int i = 0; i < 4; i++)
		free(c->ring_mem[i]);
	free(c);
}

/**
 * fp_core_start - run the core's loop on a thread pinned to @cpu (-1: any)
 */
int fp_core_start(struct fp_core *c, int cpu)
{
	int ret = pthread_create(&c->thread, NULL, core_main, c);
	char name[16];

	if (ret)
		return -ret;
	c->started = true;
	/* top -H, ps -L and the bench find the cores by name */
	snprintf(name, sizeof(name), "tas-fp%u", c->id);
	pthread_setname_np(c->thread, name);
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_setaffinity_np(c->thread, sizeof(set), &set);
	}
	return 0;
}

/**
 * fp_core_stop - ask the loop to end and join it
 */
void fp_core_stop(struct fp_core *c)
{
	if (!c->started)
		return;
	atomic_store(&c->stop, true);
	efd_kick(c->doorbell);
	pthread_join(c->thread, NULL);
	c->started = false;
}

/**
 * fp_core_post_cmd - queue a control command (control thread only)
 */
bool fp_core_post_cmd(struct fp_core *c, const struct fp_cmd *cmd)
{
	if (tas_ring_enqueue_burst(&c->ctl_cmd_in, cmd, 1) != 1)
		return false;
	efd_kick(c->doorbell);
	return true;
}

/**
 * fp_core_post_frame - queue a frame the core transmits as is
 */
bool fp_core_post_frame(struct fp_core *c, const void *frame, uint32_t len)
{
	uint32_t n = 1;
	struct fp_frame *f;

	if (len > FP_FRAME_MAX)
		return false;
	f = tas_ring_enqueue_reserve(&c->ctl_frame_in, &n);
	if (!f)
		return false;
	f->len = len;
	memcpy(f->data, frame, len);
	tas_ring_enqueue_commit(&c->ctl_frame_in, 1);
	efd_kick(c->doorbell);
	return true;
}

/**
 * fp_core_take_exc - dequeue exception frames (control thread only)
 */
unsigned fp_core_take_exc(struct fp_core *c, struct fp_frame *frames,
			  unsigned n)
{
	return tas_ring_dequeue_burst(&c->ctl_exc_out, frames, n);
}

/**
 * fp_core_take_notes - dequeue notifications (control thread only)
 */
unsigned fp_core_take_notes(struct fp_core *c, struct fp_note *notes,
			    unsigned n)
{
	return tas_ring_dequeue_burst(&c->ctl_note_out, notes, n);
}

/**
 * fp_core_ctrl_fd - eventfd the control thread polls for this core
 */
int fp_core_ctrl_fd(struct fp_core *c)
{
	return c->ctrl_fd;
}

/**
 * fp_core_doorbell_fd - eventfd apps and the control thread kick
 */
int fp_core_doorbell_fd(struct fp_core *c)
{
	return c->doorbell;
}

/**
 * fp_core_stats - copy this core's counters (relaxed reads)
 */
void fp_core_stats(struct fp_core *c, uint64_t *out)
{
	for (unsigned i = 0; i < ST__NR; i++)
		out[i] = atomic_load_explicit(&c->stats[i],
					      memory_order_relaxed);
}
