/* nic_ibv.c - rdma-core raw packet QP backend: queues, RSS, data path
 *
 * "ibv:<mlx5_0 | enp65s0f0>": one raw packet QP per queue for TX; RX on
 * that QP (one queue) or on per-queue WQs behind an RSS QP (several).
 * The object layout is drawn in nic_ibv.h; steering rules, flow->queue
 * prediction and placement queues live in nic_ibv_flow.c, device lookup,
 * capabilities and NUMA memory in nic_ibv_dev.c.
 *
 * Facts relied on (shared/notes/verbs.md):
 * - Raw QPs go RESET->INIT with IBV_QP_STATE|IBV_QP_PORT (mlx5 enables
 *   checksum offload and caches max_tso only then), then RTR, RTS with
 *   IBV_QP_STATE alone; receive WQEs are posted after INIT (§1.5).
 * - RSS: WQs moved to IBV_WQS_RDY, an indirection table of 2^n WQs, an
 *   RSS QP with Toeplitz, a 40-byte key, IPv4+TCP fields; RSS QPs take no
 *   state transitions. A 1-entry table with hash mask 0 steers to one WQ
 *   without hashing (§2.4).
 * - IBV_SEND_INLINE copies the bytes during ibv_post_send; IBV_WR_TSO
 *   copies tso.hdr into the WQE and wants IBV_SEND_IP_CSUM too (§3.2).
 *   libmlx5 may memcpy the first bytes of SGE 0 with the CPU, so headers
 *   live in our own VA==IOVA memory.
 * - The SQ completes in order: a signalled CQE completes every earlier
 *   WR of that QP (§3.4). ibv_destroy_cq waits for every event fetched
 *   with ibv_get_cq_event to be acked (§3.6).
 *
 * Signalling: a WR is signalled when it is the sig_every-th since the
 * last signalled one, when it fills the ring, and when it is the last WR
 * a tx_burst call posts. The last rule costs one CQE per burst but means
 * every posted payload is covered by a CQE, so send-ring bytes are never
 * held back forever when traffic stops.
 *
 * Registrations (reg_mem) grant IBV_ACCESS_LOCAL_WRITE: placement queues
 * receive into them. The registration table is read by place_post on
 * fast-path threads under reg_lock; ibv_reg_mr/ibv_dereg_mr (slow, they
 * pin pages) run outside it.
 *
 * Known gaps: no striding RQ, no flow tags, no extended CQs (timestamps);
 * RX checksum status is OK or UNKNOWN (mlx5 reports no "bad" bit);
 * indirection tables are as small as the queue count allows, so a count
 * that is not a power of two is uneven; an RSS QP per queue exists only
 * to let flow rules target one queue; place_post takes reg_lock (one
 * uncontended mutex pair per posted buffer).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs/nic_ibv.h"

#define RX_POLL 32

/**
 * ibv_errno - the positive errno of a failed verbs call
 * @rc: its return value (a positive errno, or 0/-1 for calls that set
 *      errno or return NULL)
 *
 * Return: @rc when positive, else errno, else EIO.
 */
int ibv_errno(int rc)
{
	if (rc > 0)
		return rc;
	return errno ? errno : EIO;
}

/**
 * ibv_rq_post - post a chain of receive WRs on a raw QP's RQ or a WQ
 * @rq: the receive queue
 * @wr: the chain
 * @bad: set to the first WR not posted
 *
 * Return: 0 or the verbs error.
 */
int ibv_rq_post(struct ibv_rq *rq, struct ibv_recv_wr *wr,
		struct ibv_recv_wr **bad)
{
	if (rq->wq)
		return ibv_post_wq_recv(rq->wq, wr, bad);
	return ibv_post_recv(rq->qp, wr, bad);
}

/* ---- receive buffers ---- */

/* Post buffers ids[0..cnt) in one WR chain; returns how many went in and
 * leaves the verbs error in *rc (0 when all did). */
static unsigned rx_post(struct ibv_rxq *r, const uint32_t *ids, unsigned cnt,
			int *rc)
{
	struct ibv_recv_wr *bad = NULL;

	*rc = 0;
	if (!cnt)
		return 0;
	for (unsigned i = 0; i < cnt; i++) {
		uint32_t id = ids[i];

		r->sge[i].addr = (uintptr_t)(r->buf + (size_t)id * r->buf_size);
		r->sge[i].length = r->buf_size;
		r->sge[i].lkey = r->mr->lkey;
		r->wr[i].wr_id = id;
		r->wr[i].sg_list = &r->sge[i];
		r->wr[i].num_sge = 1;
		r->wr[i].next = i + 1 < cnt ? &r->wr[i + 1] : NULL;
	}
	*rc = ibv_rq_post(&r->rq, r->wr, &bad);
	if (!*rc)
		return cnt;
	return bad ? (unsigned)(bad - r->wr) : 0;
}

/* Post every buffer of an idle queue; 0 or -errno with @err filled. */
static int rx_fill(struct ibv_nic *n, unsigned q, char *err)
{
	struct ibv_rxq *r = &n->rxq[q];
	unsigned posted;
	int rc;

	for (uint32_t i = 0; i < r->size; i++)
		r->held[i] = i;
	posted = rx_post(r, r->held, r->size, &rc);
	if (posted != r->size) {
		rc = ibv_errno(rc);
		ibv_err(n, err, rc, "%s queue %u (%u of %u buffers)",
			n->nq > 1 ? "ibv_post_wq_recv" : "ibv_post_recv", q,
			posted, r->size);
		return -rc;
	}
	r->nheld = 0;
	return 0;
}

/* ---- queue set-up ---- */

/**
 * ibv_raw_qp_create - a raw packet QP on queue @q's CQs
 * @n: backend
 * @q: queue whose send CQ (and, with @recv_wr, recv CQ) it uses
 * @recv_wr: receive WRs (0: no RQ; the recv CQ is then the send CQ)
 * @recv_sge: SGEs per receive WR
 * @send: a send queue of the queue's depth, inline data and TSO; without
 *        it the QP has no send WRs at all (a placement queue's)
 *
 * Return: the QP in RESET, or NULL with errno set.
 */
struct ibv_qp *ibv_raw_qp_create(struct ibv_nic *n, unsigned q,
				 uint32_t recv_wr, uint32_t recv_sge, bool send)
{
	struct ibv_qp_init_attr_ex a;
	struct ibv_txq *t = &n->txq[q];
	struct ibv_qp *qp;
	uint32_t sge = 1 + NIC_TX_MAX_SEG;

	if (n->max_sge && sge > n->max_sge)
		sge = n->max_sge;
	memset(&a, 0, sizeof(a));
	a.qp_type = IBV_QPT_RAW_PACKET;
	a.send_cq = t->cq;
	a.recv_cq = recv_wr ? n->rxq[q].cq : t->cq;
	a.cap.max_recv_wr = recv_wr;
	a.cap.max_recv_sge = recv_sge;
	a.sq_sig_all = 0;
	a.comp_mask = IBV_QP_INIT_ATTR_PD;
	a.pd = n->pd;
	if (send) {
		a.cap.max_send_wr = t->size;
		a.cap.max_send_sge = sge;
		a.cap.max_inline_data = IBV_TX_INLINE_REQ;
		if (n->max_tso) {
			a.comp_mask |= IBV_QP_INIT_ATTR_MAX_TSO_HEADER;
			a.max_tso_header = NIC_HDR_MAX;
		}
	}
	qp = ibv_create_qp_ex(n->ctx, &a);
	if (qp && send)
		t->max_inline = a.cap.max_inline_data;
	return qp;
}

/**
 * ibv_qp_move - move a raw packet QP to @st
 * @n: backend (its port, for INIT)
 * @qp: the QP
 * @st: IBV_QPS_RESET, INIT (binds the port: mlx5 enables checksum offload
 *      only then), RTR or RTS
 * @what: the QP's name in the error line ("queue 2")
 * @err: NIC_ERR_LEN buffer, or NULL
 *
 * Return: 0 or a negative errno.
 */
int ibv_qp_move(const struct ibv_nic *n, struct ibv_qp *qp,
		enum ibv_qp_state st, const char *what, char *err)
{
	static const char *const name[] = {
		[IBV_QPS_RESET] = "RESET",
		[IBV_QPS_INIT] = "INIT",
		[IBV_QPS_RTR] = "RTR",
		[IBV_QPS_RTS] = "RTS",
	};
	struct ibv_qp_attr at;
	int mask = IBV_QP_STATE, rc;

	memset(&at, 0, sizeof(at));
	at.qp_state = st;
	if (st == IBV_QPS_INIT) {
		at.port_num = n->port;
		mask |= IBV_QP_PORT;
	}
	rc = ibv_modify_qp(qp, &at, mask);
	if (!rc)
		return 0;
	rc = ibv_errno(rc);
	ibv_err(n, err, rc, "ibv_modify_qp(%s) %s", name[st], what);
	return -rc;
}

/* RESET -> INIT (port) -> [post receives] -> RTR -> RTS. */
static int raw_qp_up(struct ibv_nic *n, unsigned q, char *err)
{
	struct ibv_qp *qp = n->txq[q].qp;
	char what[24]; /* "queue " + a u32 */
	int rc;

	snprintf(what, sizeof(what), "queue %u", q);
	rc = ibv_qp_move(n, qp, IBV_QPS_INIT, what, err);
	if (!rc && n->nq == 1)
		rc = rx_fill(n, q, err);
	if (!rc)
		rc = ibv_qp_move(n, qp, IBV_QPS_RTR, what, err);
	if (!rc)
		rc = ibv_qp_move(n, qp, IBV_QPS_RTS, what, err);
	return rc;
}

/* An RSS QP over @ind hashing @fields (0: the single-WQ case). */
static struct ibv_qp *
create_rss_qp(struct ibv_nic *n, struct ibv_rwq_ind_table *ind, uint64_t fields)
{
	uint8_t key[IBV_RSS_KEY_LEN];
	struct ibv_qp_init_attr_ex a;

	memcpy(key, ibv_rss_key, sizeof(key));
	memset(&a, 0, sizeof(a));
	a.qp_type = IBV_QPT_RAW_PACKET;
	a.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_IND_TABLE |
		      IBV_QP_INIT_ATTR_RX_HASH;
	a.pd = n->pd;
	a.rwq_ind_tbl = ind;
	a.rx_hash_conf.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ;
	a.rx_hash_conf.rx_hash_key_len = IBV_RSS_KEY_LEN;
	a.rx_hash_conf.rx_hash_key = key;
	a.rx_hash_conf.rx_hash_fields_mask = fields;
	return ibv_create_qp_ex(n->ctx, &a);
}

/**
 * ibv_wq_rq_open - a WQ made ready, its 1-entry table and hash-less RSS QP
 * @n: backend
 * @rq: filled on success (all three NULL on failure)
 * @cq: the CQ the WQ completes on
 * @max_wr: receive WRs
 * @max_sge: SGEs per receive WR
 * @what: its name in the error line ("queue 2")
 * @err: NIC_ERR_LEN buffer, or NULL
 *
 * nqueues > 1: the target of rules for one queue or one placement queue.
 *
 * Return: 0 or a negative errno.
 */
int ibv_wq_rq_open(struct ibv_nic *n, struct ibv_rq *rq, struct ibv_cq *cq,
		   uint32_t max_wr, uint32_t max_sge, const char *what,
		   char *err)
{
	struct ibv_rwq_ind_table_init_attr ia;
	struct ibv_wq_init_attr wa;
	struct ibv_wq_attr ma;
	int rc;

	memset(&wa, 0, sizeof(wa));
	wa.wq_type = IBV_WQT_RQ;
	wa.max_wr = max_wr;
	wa.max_sge = max_sge;
	wa.pd = n->pd;
	wa.cq = cq;
	rq->wq = ibv_create_wq(n->ctx, &wa);
	if (!rq->wq) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_create_wq %s", what);
		return rc;
	}
	memset(&ma, 0, sizeof(ma));
	ma.attr_mask = IBV_WQ_ATTR_STATE;
	ma.wq_state = IBV_WQS_RDY;
	rc = ibv_modify_wq(rq->wq, &ma);
	if (rc) {
		rc = -ibv_errno(rc);
		ibv_err(n, err, -rc, "ibv_modify_wq(RDY) %s", what);
		goto err_wq;
	}
	memset(&ia, 0, sizeof(ia));
	ia.log_ind_tbl_size = 0;
	ia.ind_tbl = &rq->wq;
	rq->ind = ibv_create_rwq_ind_table(n->ctx, &ia);
	if (!rq->ind) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_create_rwq_ind_table %s", what);
		goto err_wq;
	}
	rq->qp = create_rss_qp(n, rq->ind, 0);
	if (!rq->qp) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_create_qp_ex(rss, 1 wq) %s", what);
		goto err_ind;
	}
	return 0;

err_ind:
	ibv_destroy_rwq_ind_table(rq->ind);
err_wq:
	ibv_destroy_wq(rq->wq);
	rq->wq = NULL;
	rq->ind = NULL;
	return rc;
}

/**
 * ibv_wq_rq_close - destroy what ibv_wq_rq_open made
 * @rq: the receive queue; buffers still posted are never written again
 */
void ibv_wq_rq_close(struct ibv_rq *rq)
{
	ibv_destroy_qp(rq->qp);
	ibv_destroy_rwq_ind_table(rq->ind);
	ibv_destroy_wq(rq->wq);
}

/* nqueues > 1: the queue's WQ behind its own RSS QP, filled. */
static int wq_open(struct ibv_nic *n, unsigned q, char *err)
{
	struct ibv_rxq *r = &n->rxq[q];
	char what[24]; /* "queue " + a u32 */
	int rc;

	snprintf(what, sizeof(what), "queue %u", q);
	rc = ibv_wq_rq_open(n, &r->rq, r->cq, r->size, 1, what, err);
	if (rc)
		return rc;
	rc = rx_fill(n, q, err);
	if (rc)
		ibv_wq_rq_close(&r->rq);
	return rc;
}

/* Fetch and ack every pending completion event of queue @q's channel. */
static void rx_ack_events(struct ibv_rxq *r)
{
	struct ibv_cq *cq;
	void *ctx;
	unsigned nev = 0;

	while (!ibv_get_cq_event(r->ch, &cq, &ctx))
		nev++;
	if (nev)
		ibv_ack_cq_events(r->cq, nev);
}

static size_t rx_mem_len(const struct ibv_rxq *r)
{
	return (size_t)r->size * r->buf_size;
}

static size_t tx_mem_len(const struct ibv_txq *t)
{
	return (size_t)t->size * IBV_TX_SLOT;
}

static int queue_open(struct ibv_nic *n, unsigned q, char *err)
{
	struct ibv_rxq *r = &n->rxq[q];
	struct ibv_txq *t = &n->txq[q];
	int nvec = n->ctx->num_comp_vectors > 0 ? n->ctx->num_comp_vectors : 1;
	int rc, fl, vec = (int)(q % (unsigned)nvec); /* spread interrupts */

	r->ch = ibv_create_comp_channel(n->ctx);
	if (!r->ch) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_create_comp_channel queue %u", q);
		return rc;
	}
	fl = fcntl(r->ch->fd, F_GETFL);
	if (fl < 0 || fcntl(r->ch->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "fcntl(O_NONBLOCK) on channel queue %u",
			q);
		goto err_ch;
	}
	r->cq = ibv_create_cq(n->ctx, (int)r->size, r, r->ch, vec);
	if (!r->cq) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_create_cq(rx, %u) queue %u", r->size,
			q);
		goto err_ch;
	}
	t->cq = ibv_create_cq(n->ctx, (int)t->size, t, NULL, vec);
	if (!t->cq) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_create_cq(tx, %u) queue %u", t->size,
			q);
		goto err_rcq;
	}
	r->held = calloc(r->size, sizeof(*r->held));
	r->wr = calloc(r->size, sizeof(*r->wr));
	r->sge = calloc(r->size, sizeof(*r->sge));
	t->cookies = calloc(t->size, sizeof(*t->cookies));
	r->buf = ibv_buf_alloc(n, rx_mem_len(r));
	if (!r->held || !r->wr || !r->sge || !t->cookies || !r->buf) {
		rc = -ENOMEM;
		ibv_err(n, err, ENOMEM, "allocating queue %u rings", q);
		goto err_arrays;
	}
	r->mr = ibv_reg_mr(n->pd, r->buf, rx_mem_len(r),
			   IBV_ACCESS_LOCAL_WRITE);
	if (!r->mr) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_reg_mr(rx, %zu bytes) queue %u",
			rx_mem_len(r), q);
		goto err_arrays;
	}
	t->hdr_buf = ibv_buf_alloc(n, tx_mem_len(t));
	if (!t->hdr_buf) {
		rc = -ENOMEM;
		ibv_err(n, err, ENOMEM, "allocating queue %u header slots", q);
		goto err_rmr;
	}
	t->hdr_mr = ibv_reg_mr(n->pd, t->hdr_buf, tx_mem_len(t), 0);
	if (!t->hdr_mr) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_reg_mr(tx headers) queue %u", q);
		goto err_hdr;
	}
	t->qp = ibv_raw_qp_create(n, q, n->nq == 1 ? r->size : 0,
				  n->nq == 1 ? 1 : 0, true);
	if (!t->qp) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_create_qp_ex(raw packet) queue %u",
			q);
		goto err_hmr;
	}
	if (n->nq == 1)
		r->rq.qp = t->qp;
	rc = raw_qp_up(n, q, err);
	if (rc)
		goto err_qp;
	if (n->nq > 1) {
		rc = wq_open(n, q, err);
		if (rc)
			goto err_qp;
	}
	t->head = t->done = t->reaped = t->unsig = 0;
	return 0;

err_qp:
	ibv_destroy_qp(t->qp);
	r->rq.qp = t->qp = NULL;
err_hmr:
	ibv_dereg_mr(t->hdr_mr);
err_hdr:
	ibv_buf_free(n, t->hdr_buf, tx_mem_len(t));
err_rmr:
	ibv_dereg_mr(r->mr);
err_arrays:
	ibv_buf_free(n, r->buf, rx_mem_len(r));
	free(t->cookies);
	free(r->sge);
	free(r->wr);
	free(r->held);
	ibv_destroy_cq(t->cq);
err_rcq:
	ibv_destroy_cq(r->cq);
err_ch:
	ibv_destroy_comp_channel(r->ch);
	return rc;
}

static void queue_close(struct ibv_nic *n, unsigned q)
{
	struct ibv_rxq *r = &n->rxq[q];
	struct ibv_txq *t = &n->txq[q];

	ibv_place_close_all(n, q); /* their QPs use this queue's CQs */
	free(r->place);
	if (n->nq > 1)
		ibv_wq_rq_close(&r->rq);
	ibv_destroy_qp(t->qp);
	ibv_dereg_mr(t->hdr_mr);
	ibv_buf_free(n, t->hdr_buf, tx_mem_len(t));
	ibv_dereg_mr(r->mr);
	ibv_buf_free(n, r->buf, rx_mem_len(r));
	free(t->cookies);
	free(r->sge);
	free(r->wr);
	free(r->held);
	ibv_destroy_cq(t->cq);
	rx_ack_events(r);
	ibv_destroy_cq(r->cq);
	ibv_destroy_comp_channel(r->ch);
}

/* nqueues > 1: the shared table (entry e -> queue e % nq), Toeplitz QP. */
static int rss_open(struct ibv_nic *n, char *err)
{
	struct ibv_wq *wqs[NIC_MAX_QUEUES];
	struct ibv_rwq_ind_table_init_attr ia;
	uint32_t size = 1u << n->rss_log_size;
	int rc;

	for (uint32_t e = 0; e < size; e++)
		wqs[e] = n->rxq[e % n->nq].rq.wq;
	memset(&ia, 0, sizeof(ia));
	ia.log_ind_tbl_size = n->rss_log_size;
	ia.ind_tbl = wqs;
	n->rss_ind = ibv_create_rwq_ind_table(n->ctx, &ia);
	if (!n->rss_ind) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_create_rwq_ind_table(%u entries)",
			size);
		return rc;
	}
	n->rss_qp = create_rss_qp(n, n->rss_ind,
				  IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
					  IBV_RX_HASH_SRC_PORT_TCP |
					  IBV_RX_HASH_DST_PORT_TCP);
	if (!n->rss_qp) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_create_qp_ex(rss, %u queues)", n->nq);
		goto err_ind;
	}
	return 0;

err_ind:
	ibv_destroy_rwq_ind_table(n->rss_ind);
	n->rss_ind = NULL;
	return rc;
}

/* ---- data path ---- */

static unsigned ibv_rx_burst(struct nic *nic, unsigned q, struct nic_rx *rx,
			     unsigned cnt)
{
	struct ibv_nic *n = to_ibv(nic);
	struct ibv_rxq *r = &n->rxq[q];
	struct ibv_wc wc[RX_POLL];
	unsigned got = 0, posted;
	int rc;

	/* The previous burst's frames are now the caller's no longer. */
	posted = rx_post(r, r->held, r->nheld, &rc);
	if (posted < r->nheld)
		memmove(r->held, r->held + posted,
			(r->nheld - posted) * sizeof(*r->held));
	r->nheld -= posted;
	if (r->place)
		ibv_place_release(r->place);

	while (got < cnt) {
		int k, want = (int)(cnt - got < RX_POLL ? cnt - got : RX_POLL);

		if (r->has_stash) {
			wc[0] = r->stash;
			r->has_stash = 0;
			k = 1;
		} else {
			k = ibv_poll_cq(r->cq, want, wc);
		}
		if (k <= 0)
			break;
		for (int i = 0; i < k; i++) {
			uint32_t id = (uint32_t)wc[i].wr_id;

			if (wc[i].wr_id & IBV_WRID_PLACE) {
				got += ibv_place_rx(n, q, &wc[i], &rx[got]);
				continue;
			}
			r->held[r->nheld++] = id;
			if (wc[i].status != IBV_WC_SUCCESS) {
				r->errors++;
				continue;
			}
			rx[got++] = (struct nic_rx){
				.data = r->buf + (size_t)id * r->buf_size,
				.len = wc[i].byte_len,
				.csum = ibv_rx_csum(n, &wc[i]),
				.place_id = -1,
			};
		}
		if (k < want)
			break;
	}
	return got;
}

/* Build frame @f as WR @idx into @wr/@sge; 0, or -EINVAL if unsendable. */
static int tx_build(struct ibv_nic *n, struct ibv_txq *t,
		    const struct nic_tx *f, uint32_t idx,
		    struct ibv_send_wr *wr, struct ibv_sge *sge)
{
	uint8_t *slot =
		t->hdr_buf + (size_t)(idx & (t->size - 1)) * IBV_TX_SLOT;
	uint32_t total = f->hdr_len, off;
	int ns = 0;

	if (f->nseg > n->link.max_segs || f->hdr_len > NIC_HDR_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < f->nseg; i++)
		total += f->seg[i].len;
	memset(wr, 0, sizeof(*wr));
	wr->wr_id = idx;
	wr->sg_list = sge;
	wr->opcode = IBV_WR_SEND;
	if ((f->flags & NIC_TX_CSUM) && n->csum)
		wr->send_flags |= IBV_SEND_IP_CSUM;
	if ((f->flags & NIC_TX_TSO) && n->max_tso) {
		memcpy(slot, f->hdr, f->hdr_len);
		wr->opcode = IBV_WR_TSO;
		wr->tso.hdr = slot;
		wr->tso.hdr_sz = f->hdr_len;
		wr->tso.mss = f->mss;
		wr->send_flags |= IBV_SEND_IP_CSUM;
	} else if (total <= t->max_inline) {
		/* Copied into the WQE by ibv_post_send, before we return. */
		wr->send_flags |= IBV_SEND_INLINE;
		sge[ns].addr = (uintptr_t)f->hdr;
		sge[ns].length = f->hdr_len;
		sge[ns++].lkey = t->hdr_mr->lkey;
	} else {
		memcpy(slot, f->hdr, f->hdr_len);
		sge[ns].addr = (uintptr_t)slot;
		sge[ns].length = f->hdr_len;
		sge[ns++].lkey = t->hdr_mr->lkey;
	}
	off = wr->opcode == IBV_WR_SEND ? f->hdr_len : 0;
	for (unsigned i = 0; i < f->nseg; i++) {
		const struct nic_seg *s = &f->seg[i];

		if (!s->len)
			continue;
		if (s->key || (wr->send_flags & IBV_SEND_INLINE)) {
			sge[ns].addr = (uintptr_t)s->addr;
			sge[ns].length = s->len;
			sge[ns++].lkey = s->key;
			continue;
		}
		/* Unregistered payload: copy behind the header in the slot,
		 * only while the slot is still the sole SGE. */
		if (wr->opcode != IBV_WR_SEND || ns != 1 ||
		    off + s->len > IBV_TX_SLOT)
			return -EINVAL;
		memcpy(slot + off, s->addr, s->len);
		off += s->len;
		sge[0].length += s->len;
	}
	wr->num_sge = ns;
	return 0;
}

static unsigned ibv_tx_burst(struct nic *nic, unsigned q,
			     const struct nic_tx *tx, unsigned cnt)
{
	struct ibv_nic *n = to_ibv(nic);
	struct ibv_txq *t = &n->txq[q];
	struct ibv_send_wr wr[IBV_TX_CHUNK], *bad;
	struct ibv_sge sge[IBV_TX_CHUNK][1 + NIC_TX_MAX_SEG];
	unsigned sent = 0;

	while (sent < cnt) {
		uint32_t room = t->size - (t->head - t->reaped);
		unsigned want = cnt - sent, k = 0, posted;
		int stop;

		if (want > room)
			want = room;
		if (want > IBV_TX_CHUNK)
			want = IBV_TX_CHUNK;
		if (!want)
			break;
		for (; k < want; k++) {
			uint32_t idx = t->head + k;

			if (tx_build(n, t, &tx[sent + k], idx, &wr[k],
				     sge[k])) {
				t->bad++;
				break;
			}
			t->cookies[idx & (t->size - 1)] = tx[sent + k].cookie;
			if (k)
				wr[k - 1].next = &wr[k];
			if (++t->unsig >= t->sig_every ||
			    idx + 1 - t->reaped == t->size) {
				wr[k].send_flags |= IBV_SEND_SIGNALED;
				t->unsig = 0;
			}
		}
		if (!k)
			break;
		/* Last chunk of this call: cover its tail with a CQE. */
		stop = k < want || sent + k == cnt || k == room;
		if (stop && !(wr[k - 1].send_flags & IBV_SEND_SIGNALED)) {
			wr[k - 1].send_flags |= IBV_SEND_SIGNALED;
			t->unsig = 0;
		}
		bad = NULL;
		posted = ibv_post_send(t->qp, wr, &bad) == 0
				 ? k
				 : (bad ? (unsigned)(bad - wr) : 0);
		t->head += posted;
		sent += posted;
		if (posted < k || stop)
			break;
	}
	return sent;
}

static unsigned ibv_tx_completions(struct nic *nic, unsigned q,
				   uint64_t *cookies, unsigned cnt)
{
	struct ibv_nic *n = to_ibv(nic);
	struct ibv_txq *t = &n->txq[q];
	struct ibv_wc wc[RX_POLL];
	unsigned out;
	int k;

	do {
		k = ibv_poll_cq(t->cq, RX_POLL, wc);
		for (int i = 0; i < k; i++) {
			uint32_t id = (uint32_t)wc[i].wr_id;

			if (wc[i].status != IBV_WC_SUCCESS)
				t->errors++;
			/* In order: this CQE completes [done, id]. */
			if (id - t->done < t->head - t->done)
				t->done = id + 1;
		}
	} while (k == RX_POLL);
	out = t->done - t->reaped;
	if (out > cnt)
		out = cnt;
	for (unsigned i = 0; i < out; i++)
		cookies[i] = t->cookies[(t->reaped + i) & (t->size - 1)];
	t->reaped += out;
	return out;
}

/* ---- control ---- */

static int ibv_reg_mem(struct nic *nic, void *addr, size_t len, uint32_t *key)
{
	struct ibv_nic *n = to_ibv(nic);
	struct ibv_memreg *nr;
	struct ibv_mr *mr;
	int rc = 0;

	/* TX payload and placement buffers: the NIC reads and writes it. */
	mr = ibv_reg_mr(n->pd, addr, len, IBV_ACCESS_LOCAL_WRITE);
	if (!mr)
		return -ibv_errno(0);
	pthread_mutex_lock(&n->reg_lock);
	if (n->nregs == n->cap_regs) {
		unsigned cap = n->cap_regs ? n->cap_regs * 2 : 8;

		nr = realloc(n->regs, cap * sizeof(*nr));
		if (nr) {
			n->regs = nr;
			n->cap_regs = cap;
		} else {
			rc = -ENOMEM;
		}
	}
	if (!rc)
		n->regs[n->nregs++] = (struct ibv_memreg){ mr->lkey, mr };
	pthread_mutex_unlock(&n->reg_lock);
	if (rc) {
		ibv_dereg_mr(mr);
		return rc;
	}
	*key = mr->lkey;
	return 0;
}

/* Index of registration @key, or -1; under reg_lock or on the control
 * thread (the only writer). */
static int reg_find(const struct ibv_nic *n, uint32_t key)
{
	for (unsigned i = 0; i < n->nregs; i++)
		if (n->regs[i].key == key)
			return (int)i;
	return -1;
}

static int ibv_dereg_mem(struct nic *nic, uint32_t key)
{
	struct ibv_nic *n = to_ibv(nic);
	struct ibv_memreg e = { 0 };
	int i, rc;

	/* Unpublished first, so no place_post uses it while it goes. */
	pthread_mutex_lock(&n->reg_lock);
	i = reg_find(n, key);
	if (i >= 0) {
		e = n->regs[i];
		n->regs[i] = n->regs[--n->nregs];
	}
	pthread_mutex_unlock(&n->reg_lock);
	if (i < 0)
		return -ENOENT;
	rc = ibv_dereg_mr(e.mr);
	if (rc) {
		/* Still registered: back in (room: this thread alone adds). */
		pthread_mutex_lock(&n->reg_lock);
		n->regs[n->nregs++] = e;
		pthread_mutex_unlock(&n->reg_lock);
		return -ibv_errno(rc);
	}
	return 0;
}

/**
 * ibv_reg_lkey - the lkey for [addr, addr + len) of registration @key
 * @n: backend
 * @key: from reg_mem
 * @addr: start of the range
 * @len: its length
 * @lkey: set on success
 *
 * Any thread (takes reg_lock).
 *
 * Return: 0, or -EINVAL when @key is unknown or does not cover the range.
 */
int ibv_reg_lkey(struct ibv_nic *n, uint32_t key, const void *addr,
		 uint32_t len, uint32_t *lkey)
{
	uintptr_t a = (uintptr_t)addr;
	int i, rc = -EINVAL;

	pthread_mutex_lock(&n->reg_lock);
	i = reg_find(n, key);
	if (i >= 0) {
		const struct ibv_mr *mr = n->regs[i].mr;
		uintptr_t base = (uintptr_t)mr->addr;

		if (a >= base && a - base <= mr->length &&
		    len <= mr->length - (a - base)) {
			*lkey = mr->lkey;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&n->reg_lock);
	return rc;
}

static void ibv_link_info(struct nic *nic, struct nic_link_info *info)
{
	*info = to_ibv(nic)->link;
}

static int ibv_arm(struct nic *nic, unsigned q)
{
	struct ibv_nic *n = to_ibv(nic);
	struct ibv_rxq *r = &n->rxq[q];
	int rc, k;

	rx_ack_events(r);
	if (r->has_stash)
		return -EAGAIN;
	rc = ibv_req_notify_cq(r->cq, 0);
	if (rc)
		return -ibv_errno(rc);
	/* Close the race with a completion that beat the arm. */
	k = ibv_poll_cq(r->cq, 1, &r->stash);
	if (k > 0) {
		r->has_stash = 1;
		return -EAGAIN;
	}
	return k < 0 ? -EIO : 0;
}

static int ibv_fd(struct nic *nic, unsigned q)
{
	return to_ibv(nic)->rxq[q].ch->fd;
}

static void ibv_close(struct nic *nic)
{
	struct ibv_nic *n = to_ibv(nic);

	for (unsigned i = n->nflows; i-- > 0;)
		ibv_destroy_flow(n->flows[i]);
	free(n->flows);
	if (n->nq > 1) {
		ibv_destroy_qp(n->rss_qp);
		ibv_destroy_rwq_ind_table(n->rss_ind);
	}
	for (unsigned q = n->nq; q-- > 0;)
		queue_close(n, q);
	for (unsigned i = n->nregs; i-- > 0;)
		ibv_dereg_mr(n->regs[i].mr);
	free(n->regs);
	pthread_mutex_destroy(&n->reg_lock);
	ibv_dealloc_pd(n->pd);
	ibv_dev_close(n);
	free(n);
}

static const struct nic_ops ibv_ops = {
	.rx_burst = ibv_rx_burst,
	.tx_burst = ibv_tx_burst,
	.tx_completions = ibv_tx_completions,
	.reg_mem = ibv_reg_mem,
	.dereg_mem = ibv_dereg_mem,
	.add_steer = ibv_add_steer,
	.link_info = ibv_link_info,
	.arm = ibv_arm,
	.fd = ibv_fd,
	.flow_queue = ibv_flow_queue,
	.place_open = ibv_place_open,
	.place_post = ibv_place_post,
	.place_close = ibv_place_close,
	.close = ibv_close,
};

/**
 * nic_ibv_open - open a raw packet QP backend on an RDMA device
 * @dev: RDMA device name ("mlx5_0", port 1) or netdev name ("enp65s0f0")
 * @p: parameters (queues, MTU, ring sizes), or NULL for defaults
 * @err: NIC_ERR_LEN buffer for one line naming the failed call
 *
 * Needs CAP_NET_RAW. Buffers are placed on the device's NUMA node.
 *
 * Return: the nic, or NULL with errno set and @err filled.
 */
struct nic *nic_ibv_open(const char *dev, const struct nic_params *p, char *err)
{
	struct ibv_nic *n;
	unsigned q = 0;
	int rc;

	n = calloc(1, sizeof(*n));
	if (!n) {
		ibv_msg(err, "ibv:%s: out of memory", dev);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(n->dev, sizeof(n->dev), "%.63s", dev);
	snprintf(n->name, sizeof(n->name), "ibv:%.63s", dev);
	n->nic.ops = &ibv_ops;
	n->nic.name = n->name;
	pthread_mutex_init(&n->reg_lock, NULL);
	rc = ibv_dev_open(n, err);
	if (rc)
		goto err_free;
	rc = ibv_dev_caps(n, p, err);
	if (rc)
		goto err_dev;
	n->pd = ibv_alloc_pd(n->ctx);
	if (!n->pd) {
		rc = -ibv_errno(0);
		ibv_err(n, err, -rc, "ibv_alloc_pd");
		goto err_dev;
	}
	for (q = 0; q < n->nq; q++) {
		rc = queue_open(n, q, err);
		if (rc)
			goto err_queues;
	}
	if (n->nq > 1) {
		rc = rss_open(n, err);
		if (rc)
			goto err_queues;
	}
	return &n->nic;

err_queues:
	while (q-- > 0)
		queue_close(n, q);
	ibv_dealloc_pd(n->pd);
err_dev:
	ibv_dev_close(n);
err_free:
	pthread_mutex_destroy(&n->reg_lock);
	free(n);
	errno = -rc;
	return NULL;
}
