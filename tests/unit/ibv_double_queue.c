/* ibv_double_queue.c - the libibverbs double's queues: CQs and their
 * completion channels, raw packet QPs (post_send records and checks every
 * WR, post_recv), WQs, indirection tables and flow rules, and the helpers
 * tests drive them with (complete sends, deliver frames). See
 * ibv_double.h; the devices, contexts and memory are ibv_double.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/ibv_double_int.h"

dbl_tx_tap_fn dbl_tx_tap;
void *dbl_tx_tap_arg;

/* ---- CQs and events ---- */

static void cq_push(struct ibv_cq *cq, const struct ibv_wc *wc)
{
	struct dbl_cq *c = (struct dbl_cq *)cq;

	if (c->head - c->tail >= c->cap) {
		dbl_misuse("CQ overrun (%u entries)", c->cap);
		return;
	}
	c->ring[c->head++ % c->cap] = *wc;
	if (c->armed && cq->channel) {
		struct dbl_chan *ch = (struct dbl_chan *)cq->channel;

		c->armed = 0;
		if (write(ch->wfd, &cq, sizeof(cq)) != sizeof(cq))
			dbl_misuse("event pipe full");
	}
}

int dbl_op_poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc)
{
	struct dbl_cq *c = (struct dbl_cq *)cq;
	int k = 0;

	while (k < n && c->tail != c->head)
		wc[k++] = c->ring[c->tail++ % c->cap];
	return k;
}

int dbl_op_req_notify_cq(struct ibv_cq *cq, int solicited)
{
	int e = dbl_call(DBL_REQ_NOTIFY_CQ);

	(void)solicited;
	if (e)
		return e;
	((struct dbl_cq *)cq)->armed = 1;
	return 0;
}

struct ibv_comp_channel *ibv_create_comp_channel(struct ibv_context *ctx)
{
	struct dbl_chan *ch;
	int fds[2], e = dbl_call(DBL_CREATE_COMP_CHANNEL);

	if (e) {
		errno = e;
		return NULL;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch || pipe2(fds, O_CLOEXEC)) {
		free(ch);
		errno = ENOMEM;
		return NULL;
	}
	ch->ch.context = ctx;
	ch->ch.fd = fds[0];
	ch->wfd = fds[1];
	dbl.live[DBL_O_CHANNEL]++;
	return &ch->ch;
}

int ibv_destroy_comp_channel(struct ibv_comp_channel *channel)
{
	struct dbl_chan *ch = (struct dbl_chan *)channel;

	if (ch->cqs) {
		dbl_misuse("destroy_comp_channel with %d CQs", ch->cqs);
		return EBUSY;
	}
	close(ch->ch.fd);
	close(ch->wfd);
	free(ch);
	dbl.live[DBL_O_CHANNEL]--;
	return 0;
}

int ibv_get_cq_event(struct ibv_comp_channel *channel, struct ibv_cq **cq,
		     void **cq_context)
{
	struct ibv_cq *c;

	if (read(channel->fd, &c, sizeof(c)) != sizeof(c))
		return -1;
	((struct dbl_cq *)c)->got++;
	*cq = c;
	*cq_context = c->cq_context;
	return 0;
}

void ibv_ack_cq_events(struct ibv_cq *cq, unsigned int nevents)
{
	struct dbl_cq *c = (struct dbl_cq *)cq;

	c->acked += nevents;
	if (c->acked > c->got)
		dbl_misuse("acked %u events, fetched %u", c->acked, c->got);
}

struct ibv_cq *ibv_create_cq(struct ibv_context *ctx, int cqe, void *cq_context,
			     struct ibv_comp_channel *channel, int comp_vector)
{
	struct dbl_cq *c;
	int e = dbl_call(DBL_CREATE_CQ);

	if (!e && (cqe <= 0 || cqe > dbl_cfg.max_cqe ||
		   comp_vector >= ctx->num_comp_vectors))
		e = EINVAL;
	if (e) {
		errno = e;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	c->ring = calloc((size_t)cqe, sizeof(*c->ring));
	c->cap = (unsigned)cqe;
	c->cq.context = ctx;
	c->cq.channel = channel;
	c->cq.cq_context = cq_context;
	c->cq.cqe = cqe;
	if (channel)
		((struct dbl_chan *)channel)->cqs++;
	dbl.live[DBL_O_CQ]++;
	return &c->cq;
}

int ibv_resize_cq(struct ibv_cq *cq, int cqe)
{
	struct dbl_cq *c = (struct dbl_cq *)cq;
	unsigned used = c->head - c->tail;
	struct ibv_wc *ring;
	int e = dbl_call(DBL_RESIZE_CQ);

	if (!e && (cqe <= 0 || cqe > dbl_cfg.max_cqe || (unsigned)cqe < used))
		e = EINVAL;
	if (e)
		return e;
	ring = calloc((size_t)cqe, sizeof(*ring));
	for (unsigned i = 0; i < used; i++)
		ring[i] = c->ring[(c->tail + i) % c->cap];
	free(c->ring);
	c->ring = ring;
	c->cap = (unsigned)cqe;
	c->tail = 0;
	c->head = used;
	cq->cqe = cqe;
	return 0;
}

int ibv_destroy_cq(struct ibv_cq *cq)
{
	struct dbl_cq *c = (struct dbl_cq *)cq;

	if (c->users) {
		dbl_misuse("destroy_cq with %d QPs/WQs", c->users);
		return EBUSY;
	}
	if (c->got != c->acked) {
		dbl_misuse("destroy_cq with %u unacked events (would hang)",
			   c->got - c->acked);
		return EBUSY;
	}
	if (cq->channel)
		((struct dbl_chan *)cq->channel)->cqs--;
	free(c->ring);
	free(c);
	dbl.live[DBL_O_CQ]--;
	return 0;
}

/* ---- QPs ---- */

/* WRs still posted on @rq are gone: no completion, never written. */
static void rq_discard(void *rq)
{
	for (int i = 0; i < dbl.nrecv; i++)
		if (dbl.recvs[i].rq == rq)
			dbl.recvs[i].consumed = 1;
}

struct dbl_qp_rec *dbl_qp_rec(struct ibv_qp *qp)
{
	for (int i = 0; i < dbl.nqp; i++)
		if (dbl.qps[i].qp == qp)
			return &dbl.qps[i];
	return NULL;
}

/* Hand the bytes of accepted WR @wr (@tot of them) to the tap. */
static void tap_wr(const struct dbl_send_rec *s, const struct ibv_send_wr *wr,
		   uint32_t tot)
{
	uint8_t *b = malloc(tot ? tot : 1);
	uint32_t off = 0;

	if (!b) {
		dbl_misuse("tx tap: out of memory");
		return;
	}
	for (int k = 0; k < wr->num_sge; k++) {
		memcpy(b + off, (void *)(uintptr_t)wr->sg_list[k].addr,
		       wr->sg_list[k].length);
		off += wr->sg_list[k].length;
	}
	dbl_tx_tap(s, b, tot, dbl_tx_tap_arg);
	free(b);
}

void dbl_set_tx_tap(dbl_tx_tap_fn fn, void *arg)
{
	dbl_tx_tap = fn;
	dbl_tx_tap_arg = arg;
}

int dbl_op_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		     struct ibv_send_wr **bad)
{
	struct dbl_qp_rec *r = ((struct dbl_qp *)ibqp)->rec;
	int e = dbl_call(DBL_POST_SEND), out = dbl_sq_outstanding(ibqp);
	unsigned i = 0;

	for (; wr; wr = wr->next, i++) {
		struct dbl_send_rec *s;
		uint32_t tot = 0;
		int bad_wr = 0;

		if (e && i >= dbl.fail_wr_index)
			goto fail;
		for (int k = 0; k < wr->num_sge; k++)
			tot += wr->sg_list[k].length;
		if (ibqp->state != IBV_QPS_RTS || !r->attr.send_cq)
			bad_wr = EINVAL;
		else if (wr->num_sge > (int)r->attr.cap.max_send_sge)
			bad_wr = EINVAL;
		else if ((wr->send_flags & IBV_SEND_INLINE) &&
			 tot > r->attr.cap.max_inline_data)
			bad_wr = EINVAL;
		else if ((wr->send_flags & IBV_SEND_IP_CSUM) &&
			 (!r->port_set ||
			  !(dbl_cfg.device_cap_flags & IBV_DEVICE_RAW_IP_CSUM)))
			bad_wr = EINVAL;
		else if (wr->opcode == IBV_WR_TSO &&
			 (!(r->attr.comp_mask &
			    IBV_QP_INIT_ATTR_MAX_TSO_HEADER) ||
			  wr->tso.hdr_sz > r->attr.max_tso_header ||
			  wr->tso.hdr_sz < 14))
			bad_wr = EINVAL;
		else if (out + 1 > (int)r->attr.cap.max_send_wr)
			bad_wr = ENOMEM;
		if (bad_wr) {
			dbl_misuse("post_send wr %u rejected: %s", i,
				   strerror(bad_wr));
			e = bad_wr;
			goto fail;
		}
		if (!(wr->send_flags & IBV_SEND_INLINE))
			for (int k = 0; k < wr->num_sge; k++)
				if (!dbl_mr_covers(wr->sg_list[k].lkey,
						   wr->sg_list[k].addr,
						   wr->sg_list[k].length, 0))
					dbl_misuse("send sge %d: lkey %#x does "
						   "not "
						   "cover it",
						   k, wr->sg_list[k].lkey);
		if (dbl.nsend == DBL_MAX_SEND) {
			dbl_misuse("send records full");
			e = ENOMEM;
			goto fail;
		}
		s = &dbl.sends[dbl.nsend++];
		memset(s, 0, sizeof(*s));
		s->qp = ibqp;
		s->post = r->posts;
		s->wr_id = wr->wr_id;
		s->opcode = wr->opcode;
		s->flags = wr->send_flags;
		s->num_sge = wr->num_sge;
		for (int k = 0; k < wr->num_sge && k < 8; k++) {
			const struct ibv_sge *g = &wr->sg_list[k];
			uint32_t c = g->length;

			s->sge[k] = *g;
			if (s->len + c > DBL_DATA)
				c = DBL_DATA - s->len;
			memcpy(s->data + s->len, (void *)(uintptr_t)g->addr, c);
			s->len += c;
		}
		s->len = tot;
		if (wr->opcode == IBV_WR_TSO) {
			s->hdr_sz = wr->tso.hdr_sz;
			s->mss = wr->tso.mss;
			memcpy(s->tso_hdr, wr->tso.hdr, s->hdr_sz);
		}
		if (dbl_tx_tap)
			tap_wr(s, wr, tot);
		out++;
	}
	r->posts++;
	return 0;
fail:
	r->posts++;
	*bad = wr;
	return e;
}

static int recv_check(void *rq, int state, struct ibv_recv_wr *wr, int max_wr,
		      int max_sge, unsigned post, struct ibv_recv_wr **bad)
{
	int e = dbl_call(DBL_POST_RECV), out = dbl_rq_posted(rq);

	for (; wr; wr = wr->next) {
		struct dbl_recv_rec *rr;

		if (e)
			goto fail;
		if (wr->num_sge < 1 || wr->num_sge > max_sge ||
		    wr->num_sge > DBL_MAX_RSGE || out + 1 > max_wr) {
			dbl_misuse(
				"post_recv beyond the RQ (%d of %d WRs, %d of "
				"%d SGEs)",
				out + 1, max_wr, wr->num_sge, max_sge);
			e = ENOMEM;
			goto fail;
		}
		for (int k = 0; k < wr->num_sge; k++)
			if (!dbl_mr_covers(wr->sg_list[k].lkey,
					   wr->sg_list[k].addr,
					   wr->sg_list[k].length,
					   IBV_ACCESS_LOCAL_WRITE))
				dbl_misuse("recv sge %d: lkey %#x is not a "
					   "LOCAL_WRITE MR covering it",
					   k, wr->sg_list[k].lkey);
		if (dbl.nrecv == DBL_MAX_RECV) {
			dbl_misuse("recv records full");
			e = ENOMEM;
			goto fail;
		}
		rr = &dbl.recvs[dbl.nrecv++];
		memset(rr, 0, sizeof(*rr));
		rr->rq = rq;
		rr->post = post;
		rr->wr_id = wr->wr_id;
		rr->num_sge = wr->num_sge;
		memcpy(rr->sge, wr->sg_list, sizeof(*rr->sge) * wr->num_sge);
		rr->qp_state = state;
		out++;
	}
	return 0;
fail:
	*bad = wr;
	return e;
}

int dbl_op_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		     struct ibv_recv_wr **bad)
{
	struct dbl_qp_rec *r = ((struct dbl_qp *)ibqp)->rec;

	if (ibqp->state == IBV_QPS_RESET)
		dbl_misuse("post_recv on a QP in RESET");
	return recv_check(ibqp, ibqp->state, wr, (int)r->attr.cap.max_recv_wr,
			  (int)r->attr.cap.max_recv_sge, r->recv_posts++, bad);
}

static int wq_post_recv(struct ibv_wq *wq, struct ibv_recv_wr *wr,
			struct ibv_recv_wr **bad)
{
	struct dbl_wq_rec *r = ((struct dbl_wq *)wq)->rec;

	return recv_check(wq, -1, wr, (int)r->attr.max_wr, (int)r->attr.max_sge,
			  r->recv_posts++, bad);
}

struct ibv_qp *dbl_op_create_qp_ex(struct ibv_context *ctx,
				   struct ibv_qp_init_attr_ex *a)
{
	struct dbl_qp *q;
	struct dbl_qp_rec *r;
	int e = dbl_call(DBL_CREATE_QP),
	    rss = !!(a->comp_mask & IBV_QP_INIT_ATTR_IND_TABLE);

	if (!e &&
	    (a->qp_type != IBV_QPT_RAW_PACKET || !a->pd ||
	     !(a->comp_mask & IBV_QP_INIT_ATTR_PD) ||
	     (!rss && (!a->send_cq || !a->recv_cq)) ||
	     (rss && (a->send_cq || a->rx_hash_conf.rx_hash_key_len != 40)) ||
	     a->cap.max_send_wr > (uint32_t)dbl_cfg.max_qp_wr ||
	     a->cap.max_recv_wr > (uint32_t)dbl_cfg.max_qp_wr ||
	     a->cap.max_send_sge > (uint32_t)dbl_cfg.max_sge))
		e = EINVAL;
	if (!e && dbl.nqp == DBL_MAX_QP)
		e = ENOMEM;
	if (e) {
		errno = e;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	r = &dbl.qps[dbl.nqp++];
	memset(r, 0, sizeof(*r));
	if (!rss && dbl_cfg.max_inline)
		a->cap.max_inline_data = dbl_cfg.max_inline;
	r->attr = *a;
	if (rss) {
		memcpy(r->key, a->rx_hash_conf.rx_hash_key,
		       a->rx_hash_conf.rx_hash_key_len);
		r->attr.rx_hash_conf.rx_hash_key = r->key;
		((struct dbl_ind *)a->rwq_ind_tbl)->qps++;
	}
	r->qp = &q->qp;
	q->rec = r;
	q->qp.context = ctx;
	q->qp.pd = a->pd;
	q->qp.send_cq = a->send_cq;
	q->qp.recv_cq = a->recv_cq;
	q->qp.qp_num = dbl_next_num++;
	q->qp.state = IBV_QPS_RESET;
	q->qp.qp_type = a->qp_type;
	if (a->send_cq)
		((struct dbl_cq *)a->send_cq)->users++;
	if (a->recv_cq)
		((struct dbl_cq *)a->recv_cq)->users++;
	((struct dbl_pd *)a->pd)->users++;
	dbl.live[DBL_O_QP]++;
	return &q->qp;
}

struct ibv_qp *ibv_create_qp(struct ibv_pd *pd, struct ibv_qp_init_attr *ia)
{
	struct ibv_qp_init_attr_ex a;

	memset(&a, 0, sizeof(a));
	memcpy(&a, ia, sizeof(*ia));
	a.comp_mask = IBV_QP_INIT_ATTR_PD;
	a.pd = pd;
	struct ibv_qp *qp = dbl_op_create_qp_ex(pd->context, &a);

	if (qp)
		ia->cap = a.cap;
	return qp;
}

int ibv_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *at, int mask)
{
	struct dbl_qp_rec *r = ((struct dbl_qp *)qp)->rec;
	int e = dbl_call(DBL_MODIFY_QP);

	if (e)
		return e;
	if (r->attr.comp_mask & IBV_QP_INIT_ATTR_IND_TABLE) {
		dbl_misuse("modify_qp on an RSS QP");
		return EOPNOTSUPP;
	}
	if (r->nmod < DBL_MAX_MODS) {
		r->state[r->nmod] = at->qp_state;
		r->mask[r->nmod] = mask;
		r->port[r->nmod] = at->port_num;
		r->nmod++;
	}
	if (!(mask & IBV_QP_STATE))
		return EINVAL;
	if ((at->qp_state == IBV_QPS_INIT && qp->state != IBV_QPS_RESET) ||
	    (at->qp_state == IBV_QPS_RTR && qp->state != IBV_QPS_INIT) ||
	    (at->qp_state == IBV_QPS_RTS && qp->state != IBV_QPS_RTR)) {
		dbl_misuse("modify_qp %d -> %d", qp->state, at->qp_state);
		return EINVAL;
	}
	if (at->qp_state == IBV_QPS_INIT && (mask & IBV_QP_PORT)) {
		if (at->port_num < 1 || at->port_num > 2)
			return EINVAL;
		r->port_set = 1;
	}
	if (at->qp_state == IBV_QPS_RESET)
		rq_discard(qp);
	qp->state = at->qp_state;
	return 0;
}

int ibv_destroy_qp(struct ibv_qp *qp)
{
	struct dbl_qp *q = (struct dbl_qp *)qp;
	struct dbl_qp_rec *r = q->rec;

	if (q->flows) {
		dbl_misuse("destroy_qp with %d flows", q->flows);
		return EBUSY;
	}
	if (qp->send_cq)
		((struct dbl_cq *)qp->send_cq)->users--;
	if (qp->recv_cq)
		((struct dbl_cq *)qp->recv_cq)->users--;
	if (r->attr.comp_mask & IBV_QP_INIT_ATTR_IND_TABLE)
		((struct dbl_ind *)r->attr.rwq_ind_tbl)->qps--;
	((struct dbl_pd *)qp->pd)->users--;
	rq_discard(qp);
	r->qp = NULL;
	free(q);
	dbl.live[DBL_O_QP]--;
	return 0;
}

/* ---- WQs, indirection tables, flows ---- */

struct ibv_wq *dbl_op_create_wq(struct ibv_context *ctx,
				struct ibv_wq_init_attr *a)
{
	struct dbl_wq *w;
	int e = dbl_call(DBL_CREATE_WQ);

	if (!e && (a->wq_type != IBV_WQT_RQ || !a->pd || !a->cq ||
		   a->max_wr > (uint32_t)dbl_cfg.max_qp_wr))
		e = EINVAL;
	if (!e && dbl.nwq == DBL_MAX_WQ)
		e = ENOMEM;
	if (e) {
		errno = e;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	w->rec = &dbl.wqs[dbl.nwq++];
	memset(w->rec, 0, sizeof(*w->rec));
	w->rec->wq = &w->wq;
	w->rec->attr = *a;
	w->rec->state = IBV_WQS_RESET;
	w->wq.context = ctx;
	w->wq.pd = a->pd;
	w->wq.cq = a->cq;
	w->wq.wq_num = dbl_next_num++;
	w->wq.state = IBV_WQS_RESET;
	w->wq.wq_type = a->wq_type;
	w->wq.post_recv = wq_post_recv;
	((struct dbl_cq *)a->cq)->users++;
	((struct dbl_pd *)a->pd)->users++;
	dbl.live[DBL_O_WQ]++;
	return &w->wq;
}

int dbl_op_modify_wq(struct ibv_wq *wq, struct ibv_wq_attr *a)
{
	int e = dbl_call(DBL_MODIFY_WQ);

	if (e)
		return e;
	if (a->attr_mask & IBV_WQ_ATTR_STATE) {
		if (a->wq_state == IBV_WQS_RESET)
			rq_discard(wq);
		wq->state = a->wq_state;
		((struct dbl_wq *)wq)->rec->state = a->wq_state;
	}
	return 0;
}

int dbl_op_destroy_wq(struct ibv_wq *wq)
{
	struct dbl_wq *w = (struct dbl_wq *)wq;

	if (w->inds) {
		dbl_misuse("destroy_wq in %d indirection tables", w->inds);
		return EBUSY;
	}
	((struct dbl_cq *)wq->cq)->users--;
	((struct dbl_pd *)wq->pd)->users--;
	rq_discard(wq);
	w->rec->wq = NULL;
	pthread_mutex_destroy(&wq->mutex);
	pthread_cond_destroy(&wq->cond);
	free(w);
	dbl.live[DBL_O_WQ]--;
	return 0;
}

struct ibv_rwq_ind_table *
dbl_op_create_ind(struct ibv_context *ctx,
		  struct ibv_rwq_ind_table_init_attr *a)
{
	struct dbl_ind *t;
	uint32_t size = 1u << a->log_ind_tbl_size;
	int e = dbl_call(DBL_CREATE_IND_TABLE);

	if (!e &&
	    (size > 256 || size > dbl_cfg.rss.max_rwq_indirection_table_size))
		e = EINVAL;
	if (!e && dbl.nind == DBL_MAX_IND)
		e = ENOMEM;
	if (e) {
		errno = e;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	t->rec = &dbl.inds[dbl.nind++];
	t->rec->t = &t->t;
	t->rec->log_size = a->log_ind_tbl_size;
	for (uint32_t i = 0; i < size; i++) {
		t->rec->wq[i] = a->ind_tbl[i];
		((struct dbl_wq *)a->ind_tbl[i])->inds++;
	}
	t->t.context = ctx;
	t->t.ind_tbl_num = dbl_next_num++;
	dbl.live[DBL_O_IND]++;
	return &t->t;
}

int dbl_op_destroy_ind(struct ibv_rwq_ind_table *it)
{
	struct dbl_ind *t = (struct dbl_ind *)it;

	if (t->qps) {
		dbl_misuse("destroy_rwq_ind_table under %d QPs", t->qps);
		return EBUSY;
	}
	for (uint32_t i = 0; i < (1u << t->rec->log_size); i++)
		((struct dbl_wq *)t->rec->wq[i])->inds--;
	t->rec->t = NULL;
	free(t);
	dbl.live[DBL_O_IND]--;
	return 0;
}

struct ibv_flow *dbl_op_create_flow(struct ibv_qp *qp, struct ibv_flow_attr *a)
{
	struct dbl_flow *f;
	struct dbl_flow_rec *r;
	int e = dbl_call(DBL_CREATE_FLOW);

	if (!e && (a->size > sizeof(r->buf) || a->port < 1))
		e = EINVAL;
	if (!e && dbl.nflow == DBL_MAX_FLOW)
		e = ENOMEM;
	if (e) {
		errno = e;
		return NULL;
	}
	r = &dbl.flows[dbl.nflow++];
	r->qp = qp;
	r->len = a->size;
	r->live = 1;
	memcpy(r->buf, a, a->size);
	f = calloc(1, sizeof(*f));
	f->f.context = qp->context;
	f->qp = (struct dbl_qp *)qp;
	f->rec = r;
	f->qp->flows++;
	dbl.live[DBL_O_FLOW]++;
	return &f->f;
}

int dbl_op_destroy_flow(struct ibv_flow *fl)
{
	struct dbl_flow *f = (struct dbl_flow *)fl;

	f->qp->flows--;
	f->rec->live = 0;
	free(f);
	dbl.live[DBL_O_FLOW]--;
	return 0;
}

/* ---- test helpers: the queues ---- */

int dbl_sq_outstanding(struct ibv_qp *qp)
{
	int n = 0;

	for (int i = 0; i < dbl.nsend; i++)
		if (dbl.sends[i].qp == qp && !dbl.sends[i].completed)
			n++;
	return n;
}

int dbl_rq_posted(void *rq)
{
	int n = 0;

	for (int i = 0; i < dbl.nrecv; i++)
		if (dbl.recvs[i].rq == rq && !dbl.recvs[i].consumed)
			n++;
	return n;
}

int dbl_tx_complete(struct ibv_qp *qp, uint64_t wr_id, enum ibv_wc_status st)
{
	struct ibv_wc wc;
	int hit = -1;

	for (int i = 0; i < dbl.nsend; i++)
		if (dbl.sends[i].qp == qp && !dbl.sends[i].completed &&
		    dbl.sends[i].wr_id == wr_id &&
		    (dbl.sends[i].flags & IBV_SEND_SIGNALED)) {
			hit = i;
			break;
		}
	if (hit < 0)
		return -1;
	for (int i = 0; i <= hit; i++)
		if (dbl.sends[i].qp == qp)
			dbl.sends[i].completed = 1;
	memset(&wc, 0, sizeof(wc));
	wc.wr_id = wr_id;
	wc.status = st;
	wc.opcode =
		dbl.sends[hit].opcode == IBV_WR_TSO ? IBV_WC_TSO : IBV_WC_SEND;
	wc.qp_num = qp->qp_num;
	cq_push(qp->send_cq, &wc);
	return 0;
}

int dbl_tx_complete_all(struct ibv_qp *qp)
{
	int n = 0;

	for (int i = 0; i < dbl.nsend; i++)
		if (dbl.sends[i].qp == qp && !dbl.sends[i].completed &&
		    (dbl.sends[i].flags & IBV_SEND_SIGNALED) &&
		    !dbl_tx_complete(qp, dbl.sends[i].wr_id, IBV_WC_SUCCESS))
			n++;
	return n;
}

int dbl_rx_frame(void *rq, const void *data, uint32_t len, unsigned wc_flags,
		 enum ibv_wc_status st)
{
	struct ibv_cq *cq = NULL;
	struct ibv_wc wc;
	struct dbl_recv_rec *r = NULL;
	uint64_t room = 0;
	int ready = 0;

	for (int i = 0; i < dbl.nrecv; i++)
		if (dbl.recvs[i].rq == rq && !dbl.recvs[i].consumed) {
			r = &dbl.recvs[i];
			break;
		}
	if (!r)
		return -1;
	for (int i = 0; i < dbl.nqp && !cq; i++) {
		struct ibv_qp *qp = rq;

		if (dbl.qps[i].qp != rq)
			continue;
		cq = qp->recv_cq;
		ready = qp->state == IBV_QPS_RTR || qp->state == IBV_QPS_RTS;
	}
	if (!cq) {
		cq = ((struct ibv_wq *)rq)->cq;
		ready = ((struct ibv_wq *)rq)->state == IBV_WQS_RDY;
	}
	if (!ready)
		return -1;
	r->consumed = 1;
	memset(&wc, 0, sizeof(wc));
	wc.wr_id = r->wr_id;
	wc.status = st;
	wc.opcode = IBV_WC_RECV;
	wc.byte_len = len;
	wc.wc_flags = wc_flags;
	for (int k = 0; k < r->num_sge; k++)
		room += r->sge[k].length;
	if (st == IBV_WC_SUCCESS && len > room)
		wc.status = IBV_WC_LOC_LEN_ERR;
	for (uint32_t k = 0, off = 0; wc.status == IBV_WC_SUCCESS && off < len;
	     k++) {
		uint32_t c = len - off < r->sge[k].length ? len - off
							  : r->sge[k].length;

		memcpy((void *)(uintptr_t)r->sge[k].addr,
		       (const uint8_t *)data + off, c);
		off += c;
	}
	cq_push(cq, &wc);
	return 0;
}
