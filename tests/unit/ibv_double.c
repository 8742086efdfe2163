/* ibv_double.c - link-time test double of libibverbs and librdmacm
 *
 * See ibv_double.h. Every fake object is a calloc'd wrapper whose first
 * member is the public verbs struct; the context is a struct verbs_context
 * (sz, abi_compat and the op pointers set) so the header's inline wrappers
 * dispatch here. Completion channels are pipes: an armed CQ writes its
 * pointer when a CQE is pushed, ibv_get_cq_event reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/ibv_double.h"

struct dbl_config dbl_cfg;
struct dbl_state dbl;

static unsigned fail_nth[DBL_FN_NR];
static int fail_err[DBL_FN_NR];
static unsigned fail_any_k;
static int fail_any_err;
static struct ibv_device devs[DBL_MAX_DEV];

struct dbl_ctx {
	struct verbs_context v; /* ibv_context is its last member */
	int counted;
};

struct dbl_chan {
	struct ibv_comp_channel ch;
	int wfd;
	int cqs; /* CQs using it */
};

struct dbl_cq {
	struct ibv_cq cq;
	struct ibv_wc *ring;
	unsigned cap, head, tail; /* fifo: [tail, head) */
	int armed;
	unsigned got, acked; /* events fetched, acked */
	int users;	     /* QPs and WQs using it */
};

struct dbl_pd {
	struct ibv_pd pd;
	int users;
};

struct dbl_mr {
	struct ibv_mr mr;
	unsigned access;
};

struct dbl_qp {
	struct ibv_qp qp;
	struct dbl_qp_rec *rec;
	int flows;
};

struct dbl_wq {
	struct ibv_wq wq;
	struct dbl_wq_rec *rec;
	int inds;
};

struct dbl_ind {
	struct ibv_rwq_ind_table t;
	struct dbl_ind_rec *rec;
	int qps;
};

struct dbl_flow {
	struct ibv_flow f;
	struct dbl_qp *qp;
	struct dbl_flow_rec *rec;
};

static dbl_tx_tap_fn tx_tap;
static void *tx_tap_arg;
static struct dbl_mr *mrs[1024];
static int nmrs;
static struct dbl_ctx cm_ctx; /* context librdmacm would own */
static uint32_t next_num = 0x100;

static void misuse(const char *fmt, ...)
{
	va_list ap;
	size_t l = strlen(dbl.misuse_msg);

	dbl.misuse++;
	if (l + 2 >= sizeof(dbl.misuse_msg))
		return;
	va_start(ap, fmt);
	vsnprintf(dbl.misuse_msg + l, sizeof(dbl.misuse_msg) - l, fmt, ap);
	va_end(ap);
	l = strlen(dbl.misuse_msg);
	if (l + 2 < sizeof(dbl.misuse_msg))
		strcat(dbl.misuse_msg, "; ");
}

/* Count a call of @fn; returns the errno to fail it with, or 0. */
static int call(enum dbl_fn fn)
{
	int e = 0;

	dbl.calls[fn]++;
	dbl.total_calls++;
	if (fail_nth[fn] && dbl.calls[fn] == fail_nth[fn])
		e = fail_err[fn];
	if (fail_any_k && dbl.total_calls == fail_any_k)
		e = fail_any_err;
	return e;
}

void dbl_fail_nth(enum dbl_fn fn, unsigned nth, int err)
{
	fail_nth[fn] = nth ? dbl.calls[fn] + nth : 0;
	fail_err[fn] = err;
}

void dbl_fail_any(unsigned k, int err)
{
	fail_any_k = k ? dbl.total_calls + k : 0;
	fail_any_err = err;
}

int dbl_live_total(void)
{
	int t = 0;

	for (int i = 0; i < DBL_O_NR; i++)
		t += dbl.live[i];
	return t;
}

/* ---- CQs and events ---- */

static void cq_push(struct ibv_cq *cq, const struct ibv_wc *wc)
{
	struct dbl_cq *c = (struct dbl_cq *)cq;

	if (c->head - c->tail >= c->cap) {
		misuse("CQ overrun (%u entries)", c->cap);
		return;
	}
	c->ring[c->head++ % c->cap] = *wc;
	if (c->armed && cq->channel) {
		struct dbl_chan *ch = (struct dbl_chan *)cq->channel;

		c->armed = 0;
		if (write(ch->wfd, &cq, sizeof(cq)) != sizeof(cq))
			misuse("event pipe full");
	}
}

static int op_poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc)
{
	struct dbl_cq *c = (struct dbl_cq *)cq;
	int k = 0;

	while (k < n && c->tail != c->head)
		wc[k++] = c->ring[c->tail++ % c->cap];
	return k;
}

static int op_req_notify_cq(struct ibv_cq *cq, int solicited)
{
	int e = call(DBL_REQ_NOTIFY_CQ);

	(void)solicited;
	if (e)
		return e;
	((struct dbl_cq *)cq)->armed = 1;
	return 0;
}

struct ibv_comp_channel *ibv_create_comp_channel(struct ibv_context *ctx)
{
	struct dbl_chan *ch;
	int fds[2], e = call(DBL_CREATE_COMP_CHANNEL);

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
		misuse("destroy_comp_channel with %d CQs", ch->cqs);
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
		misuse("acked %u events, fetched %u", c->acked, c->got);
}

struct ibv_cq *ibv_create_cq(struct ibv_context *ctx, int cqe, void *cq_context,
			     struct ibv_comp_channel *channel, int comp_vector)
{
	struct dbl_cq *c;
	int e = call(DBL_CREATE_CQ);

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
	int e = call(DBL_RESIZE_CQ);

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
		misuse("destroy_cq with %d QPs/WQs", c->users);
		return EBUSY;
	}
	if (c->got != c->acked) {
		misuse("destroy_cq with %u unacked events (would hang)",
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

/* ---- memory ---- */

struct ibv_pd *ibv_alloc_pd(struct ibv_context *ctx)
{
	struct dbl_pd *p;
	int e = call(DBL_ALLOC_PD);

	if (e) {
		errno = e;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	p->pd.context = ctx;
	p->pd.handle = next_num++;
	dbl.live[DBL_O_PD]++;
	return &p->pd;
}

int ibv_dealloc_pd(struct ibv_pd *pd)
{
	struct dbl_pd *p = (struct dbl_pd *)pd;

	if (p->users) {
		misuse("dealloc_pd with %d users", p->users);
		return EBUSY;
	}
	free(p);
	dbl.live[DBL_O_PD]--;
	return 0;
}

static struct ibv_mr *reg(struct ibv_pd *pd, void *addr, size_t len,
			  unsigned access)
{
	struct dbl_mr *m;
	int e = call(DBL_REG_MR);

	if (e) {
		errno = e;
		return NULL;
	}
	if (nmrs == (int)(sizeof(mrs) / sizeof(mrs[0]))) {
		errno = ENOMEM;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	m->mr.context = pd->context;
	m->mr.pd = pd;
	m->mr.addr = addr;
	m->mr.length = len;
	m->mr.lkey = m->mr.rkey = next_num++;
	m->access = access;
	mrs[nmrs++] = m;
	if (dbl.nreg < 64)
		dbl.reg_access[dbl.nreg++] = access;
	((struct dbl_pd *)pd)->users++;
	dbl.live[DBL_O_MR]++;
	return &m->mr;
}

struct ibv_mr *(ibv_reg_mr)(struct ibv_pd *pd, void *addr, size_t length,
			    int access)
{
	return reg(pd, addr, length, (unsigned)access);
}

struct ibv_mr *(ibv_reg_mr_iova2)(struct ibv_pd *pd, void *addr, size_t length,
				  uint64_t iova, unsigned int access)
{
	(void)iova;
	return reg(pd, addr, length, access);
}

int ibv_dereg_mr(struct ibv_mr *mr)
{
	for (int i = 0; i < nmrs; i++) {
		if (&mrs[i]->mr != mr)
			continue;
		((struct dbl_pd *)mr->pd)->users--;
		free(mrs[i]);
		mrs[i] = mrs[--nmrs];
		dbl.live[DBL_O_MR]--;
		return 0;
	}
	misuse("dereg_mr of an unknown MR");
	return EINVAL;
}

/* Does a live MR with @lkey cover [addr, addr+len) with @access? */
static int mr_covers(uint32_t lkey, uint64_t addr, uint32_t len,
		     unsigned access)
{
	for (int i = 0; i < nmrs; i++) {
		struct ibv_mr *m = &mrs[i]->mr;

		if (m->lkey != lkey)
			continue;
		return addr >= (uintptr_t)m->addr &&
		       addr + len <= (uintptr_t)m->addr + m->length &&
		       (mrs[i]->access & access) == access;
	}
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
		misuse("tx tap: out of memory");
		return;
	}
	for (int k = 0; k < wr->num_sge; k++) {
		memcpy(b + off, (void *)(uintptr_t)wr->sg_list[k].addr,
		       wr->sg_list[k].length);
		off += wr->sg_list[k].length;
	}
	tx_tap(s, b, tot, tx_tap_arg);
	free(b);
}

void dbl_set_tx_tap(dbl_tx_tap_fn fn, void *arg)
{
	tx_tap = fn;
	tx_tap_arg = arg;
}

static int op_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
			struct ibv_send_wr **bad)
{
	struct dbl_qp_rec *r = ((struct dbl_qp *)ibqp)->rec;
	int e = call(DBL_POST_SEND), out = dbl_sq_outstanding(ibqp);
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
			misuse("post_send wr %u rejected: %s", i,
			       strerror(bad_wr));
			e = bad_wr;
			goto fail;
		}
		if (!(wr->send_flags & IBV_SEND_INLINE))
			for (int k = 0; k < wr->num_sge; k++)
				if (!mr_covers(wr->sg_list[k].lkey,
					       wr->sg_list[k].addr,
					       wr->sg_list[k].length, 0))
					misuse("send sge %d: lkey %#x does not "
					       "cover it",
					       k, wr->sg_list[k].lkey);
		if (dbl.nsend == DBL_MAX_SEND) {
			misuse("send records full");
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
		if (tx_tap)
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
	int e = call(DBL_POST_RECV), out = dbl_rq_posted(rq);

	for (; wr; wr = wr->next) {
		struct dbl_recv_rec *rr;

		if (e)
			goto fail;
		if (wr->num_sge < 1 || wr->num_sge > max_sge ||
		    wr->num_sge > DBL_MAX_RSGE || out + 1 > max_wr) {
			misuse("post_recv beyond the RQ (%d of %d WRs, %d of "
			       "%d SGEs)",
			       out + 1, max_wr, wr->num_sge, max_sge);
			e = ENOMEM;
			goto fail;
		}
		for (int k = 0; k < wr->num_sge; k++)
			if (!mr_covers(wr->sg_list[k].lkey, wr->sg_list[k].addr,
				       wr->sg_list[k].length,
				       IBV_ACCESS_LOCAL_WRITE))
				misuse("recv sge %d: lkey %#x is not a "
				       "LOCAL_WRITE MR covering it",
				       k, wr->sg_list[k].lkey);
		if (dbl.nrecv == DBL_MAX_RECV) {
			misuse("recv records full");
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

static int op_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
			struct ibv_recv_wr **bad)
{
	struct dbl_qp_rec *r = ((struct dbl_qp *)ibqp)->rec;

	if (ibqp->state == IBV_QPS_RESET)
		misuse("post_recv on a QP in RESET");
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

static struct ibv_qp *op_create_qp_ex(struct ibv_context *ctx,
				      struct ibv_qp_init_attr_ex *a)
{
	struct dbl_qp *q;
	struct dbl_qp_rec *r;
	int e = call(DBL_CREATE_QP),
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
	q->qp.qp_num = next_num++;
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
	struct ibv_qp *qp = op_create_qp_ex(pd->context, &a);

	if (qp)
		ia->cap = a.cap;
	return qp;
}

int ibv_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *at, int mask)
{
	struct dbl_qp_rec *r = ((struct dbl_qp *)qp)->rec;
	int e = call(DBL_MODIFY_QP);

	if (e)
		return e;
	if (r->attr.comp_mask & IBV_QP_INIT_ATTR_IND_TABLE) {
		misuse("modify_qp on an RSS QP");
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
		misuse("modify_qp %d -> %d", qp->state, at->qp_state);
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
		misuse("destroy_qp with %d flows", q->flows);
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

static struct ibv_wq *op_create_wq(struct ibv_context *ctx,
				   struct ibv_wq_init_attr *a)
{
	struct dbl_wq *w;
	int e = call(DBL_CREATE_WQ);

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
	w->wq.wq_num = next_num++;
	w->wq.state = IBV_WQS_RESET;
	w->wq.wq_type = a->wq_type;
	w->wq.post_recv = wq_post_recv;
	((struct dbl_cq *)a->cq)->users++;
	((struct dbl_pd *)a->pd)->users++;
	dbl.live[DBL_O_WQ]++;
	return &w->wq;
}

static int op_modify_wq(struct ibv_wq *wq, struct ibv_wq_attr *a)
{
	int e = call(DBL_MODIFY_WQ);

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

static int op_destroy_wq(struct ibv_wq *wq)
{
	struct dbl_wq *w = (struct dbl_wq *)wq;

	if (w->inds) {
		misuse("destroy_wq in %d indirection tables", w->inds);
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

static struct ibv_rwq_ind_table *
op_create_ind(struct ibv_context *ctx, struct ibv_rwq_ind_table_init_attr *a)
{
	struct dbl_ind *t;
	uint32_t size = 1u << a->log_ind_tbl_size;
	int e = call(DBL_CREATE_IND_TABLE);

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
	t->t.ind_tbl_num = next_num++;
	dbl.live[DBL_O_IND]++;
	return &t->t;
}

static int op_destroy_ind(struct ibv_rwq_ind_table *it)
{
	struct dbl_ind *t = (struct dbl_ind *)it;

	if (t->qps) {
		misuse("destroy_rwq_ind_table under %d QPs", t->qps);
		return EBUSY;
	}
	for (uint32_t i = 0; i < (1u << t->rec->log_size); i++)
		((struct dbl_wq *)t->rec->wq[i])->inds--;
	t->rec->t = NULL;
	free(t);
	dbl.live[DBL_O_IND]--;
	return 0;
}

static struct ibv_flow *op_create_flow(struct ibv_qp *qp,
				       struct ibv_flow_attr *a)
{
	struct dbl_flow *f;
	struct dbl_flow_rec *r;
	int e = call(DBL_CREATE_FLOW);

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

static int op_destroy_flow(struct ibv_flow *fl)
{
	struct dbl_flow *f = (struct dbl_flow *)fl;

	f->qp->flows--;
	f->rec->live = 0;
	free(f);
	dbl.live[DBL_O_FLOW]--;
	return 0;
}

/* ---- device and context ---- */

static int op_query_device_ex(struct ibv_context *ctx,
			      const struct ibv_query_device_ex_input *in,
			      struct ibv_device_attr_ex *a, size_t len)
{
	int e = call(DBL_QUERY_DEVICE_EX);

	(void)ctx;
	(void)in;
	if (e)
		return e;
	memset(a, 0, len);
	a->orig_attr.device_cap_flags = dbl_cfg.device_cap_flags;
	a->orig_attr.max_qp_wr = dbl_cfg.max_qp_wr;
	a->orig_attr.max_cqe = dbl_cfg.max_cqe;
	a->orig_attr.max_sge = dbl_cfg.max_sge;
	a->orig_attr.phys_port_cnt = 1;
	a->raw_packet_caps = dbl_cfg.raw_packet_caps;
	a->tso_caps.max_tso = dbl_cfg.max_tso;
	a->tso_caps.supported_qpts = dbl_cfg.tso_qpts;
	a->rss_caps = dbl_cfg.rss;
	a->max_wq_type_rq = dbl_cfg.max_wq_type_rq;
	return 0;
}

int ibv_query_device(struct ibv_context *ctx, struct ibv_device_attr *a)
{
	struct ibv_device_attr_ex ax;
	int rc = op_query_device_ex(ctx, NULL, &ax, sizeof(ax));

	if (!rc)
		*a = ax.orig_attr;
	return rc;
}

static int op_query_port(struct ibv_context *ctx, uint8_t port,
			 struct ibv_port_attr *a, size_t len)
{
	int e = call(DBL_QUERY_PORT);

	(void)ctx;
	if (e)
		return e;
	if (port < 1 || port > 2)
		return EINVAL;
	memset(a, 0, len);
	a->state = dbl_cfg.port_state;
	a->link_layer = dbl_cfg.link_layer;
	return 0;
}

int(ibv_query_port)(struct ibv_context *ctx, uint8_t port,
		    struct _compat_ibv_port_attr *a)
{
	return op_query_port(ctx, port, (struct ibv_port_attr *)a,
			     sizeof(struct ibv_port_attr));
}

const char *ibv_port_state_str(enum ibv_port_state s)
{
	static const char *const n[] = { "NOP",	  "DOWN",   "INIT",
					 "ARMED", "ACTIVE", "ACTIVE_DEFER" };

	return (unsigned)s < 6 ? n[s] : "unknown";
}

static void ctx_init(struct dbl_ctx *c, struct ibv_device *dev)
{
	struct verbs_context *v = &c->v;

	memset(c, 0, sizeof(*c));
	v->sz = sizeof(*v);
	v->context.abi_compat = __VERBS_ABI_IS_EXTENDED;
	v->context.device = dev;
	v->context.num_comp_vectors = dbl_cfg.num_comp_vectors;
	v->context.cmd_fd = -1;
	v->context.async_fd = -1;
	v->context.ops.poll_cq = op_poll_cq;
	v->context.ops.req_notify_cq = op_req_notify_cq;
	v->context.ops.post_send = op_post_send;
	v->context.ops.post_recv = op_post_recv;
	v->query_port = op_query_port;
	v->query_device_ex = op_query_device_ex;
	v->create_qp_ex = op_create_qp_ex;
	v->create_wq = op_create_wq;
	v->modify_wq = op_modify_wq;
	v->destroy_wq = op_destroy_wq;
	v->create_rwq_ind_table = op_create_ind;
	v->destroy_rwq_ind_table = op_destroy_ind;
	v->ibv_create_flow = op_create_flow;
	v->ibv_destroy_flow = op_destroy_flow;
}

struct ibv_device **ibv_get_device_list(int *num)
{
	struct ibv_device **l;
	int e = call(DBL_GET_DEVICE_LIST);

	if (!e)
		e = dbl_cfg.list_errno;
	if (e) {
		errno = e;
		return NULL;
	}
	l = calloc((size_t)dbl_cfg.ndev + 1, sizeof(*l));
	for (int i = 0; i < dbl_cfg.ndev; i++) {
		snprintf(devs[i].name, sizeof(devs[i].name), "%s",
			 dbl_cfg.dev_name[i]);
		snprintf(devs[i].dev_name, sizeof(devs[i].dev_name), "uverbs%d",
			 i);
		devs[i].transport_type = IBV_TRANSPORT_IB;
		l[i] = &devs[i];
	}
	if (num)
		*num = dbl_cfg.ndev;
	dbl.live[DBL_O_DEVLIST]++;
	return l;
}

void ibv_free_device_list(struct ibv_device **list)
{
	free(list);
	dbl.live[DBL_O_DEVLIST]--;
}

const char *ibv_get_device_name(struct ibv_device *dev)
{
	return dev->name;
}

struct ibv_context *ibv_open_device(struct ibv_device *dev)
{
	struct dbl_ctx *c;
	int e = call(DBL_OPEN_DEVICE);

	if (e) {
		errno = e;
		return NULL;
	}
	c = malloc(sizeof(*c));
	ctx_init(c, dev);
	c->counted = 1;
	dbl.live[DBL_O_CTX]++;
	return &c->v.context;
}

int ibv_close_device(struct ibv_context *ctx)
{
	struct dbl_ctx *c =
		(struct dbl_ctx *)((char *)ctx -
				   offsetof(struct verbs_context, context));

	if (dbl.live[DBL_O_PD] || dbl.live[DBL_O_CQ] || dbl.live[DBL_O_CHANNEL])
		misuse("close_device with live PD/CQ/channel");
	free(c);
	dbl.live[DBL_O_CTX]--;
	return 0;
}

/* ---- librdmacm ---- */

int rdma_create_id(struct rdma_event_channel *ch, struct rdma_cm_id **id,
		   void *context, enum rdma_port_space ps)
{
	int e = call(DBL_RDMA_CREATE_ID);

	if (!e)
		e = dbl_cfg.cm_errno;
	if (e) {
		errno = e;
		return -1;
	}
	*id = calloc(1, sizeof(**id));
	(*id)->channel = ch;
	(*id)->context = context;
	(*id)->ps = ps;
	dbl.live[DBL_O_CM_ID]++;
	return 0;
}

int rdma_bind_addr(struct rdma_cm_id *id, struct sockaddr *addr)
{
	int e = call(DBL_RDMA_BIND_ADDR);

	(void)addr;
	if (e) {
		errno = e;
		return -1;
	}
	snprintf(devs[dbl_cfg.cm_dev].name, sizeof(devs[0].name), "%s",
		 dbl_cfg.dev_name[dbl_cfg.cm_dev]);
	ctx_init(&cm_ctx, &devs[dbl_cfg.cm_dev]);
	id->verbs = &cm_ctx.v.context;
	id->port_num = dbl_cfg.cm_port;
	return 0;
}

int rdma_destroy_id(struct rdma_cm_id *id)
{
	free(id);
	dbl.live[DBL_O_CM_ID]--;
	return 0;
}

/* ---- test helpers ---- */

void dbl_reset(void)
{
	memset(&dbl, 0, sizeof(dbl));
	memset(fail_nth, 0, sizeof(fail_nth));
	memset(fail_err, 0, sizeof(fail_err));
	fail_any_k = 0;
	nmrs = 0;
	tx_tap = NULL;
	tx_tap_arg = NULL;
	memset(&dbl_cfg, 0, sizeof(dbl_cfg));
	dbl_cfg.ndev = 1;
	dbl_cfg.dev_name[0] = "mlx5_0";
	dbl_cfg.dev_name[1] = "mlx5_1";
	dbl_cfg.link_layer = IBV_LINK_LAYER_ETHERNET;
	dbl_cfg.port_state = IBV_PORT_ACTIVE;
	dbl_cfg.device_cap_flags =
		IBV_DEVICE_MANAGED_FLOW_STEERING | IBV_DEVICE_RAW_IP_CSUM;
	dbl_cfg.raw_packet_caps = IBV_RAW_PACKET_CAP_IP_CSUM;
	dbl_cfg.max_tso = 262144;
	dbl_cfg.tso_qpts = 1u << IBV_QPT_RAW_PACKET;
	dbl_cfg.rss.supported_qpts = 1u << IBV_QPT_RAW_PACKET;
	dbl_cfg.rss.max_rwq_indirection_tables = 64;
	dbl_cfg.rss.max_rwq_indirection_table_size = 256;
	dbl_cfg.rss.rx_hash_fields_mask =
		IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
		IBV_RX_HASH_SRC_PORT_TCP | IBV_RX_HASH_DST_PORT_TCP |
		IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP;
	dbl_cfg.rss.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ;
	dbl_cfg.max_wq_type_rq = 64;
	dbl_cfg.max_qp_wr = 32768;
	dbl_cfg.max_cqe = 4194303;
	dbl_cfg.max_sge = 30;
	dbl_cfg.num_comp_vectors = 4;
	dbl_cfg.cm_errno = ENODEV;
	dbl_cfg.cm_port = 1;
}

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
