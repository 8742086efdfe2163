/* nic_ibv.c - rdma-core raw packet QP backend: queues, RSS, steering, data
 *
 * "ibv:<mlx5_0 | enp65s0f0>": one raw packet QP per queue for TX; RX on
 * that QP (one queue) or on per-queue WQs behind an RSS QP (several);
 * ibv_create_flow rules for our MAC+IP, ARP/broadcast and single flows.
 * The object layout is drawn in nic_ibv.h; device lookup, capabilities
 * and NUMA memory live in nic_ibv_dev.c.
 *
 * Facts relied on (shared/notes/verbs.md):
 * - Raw QPs go RESET->INIT with IBV_QP_STATE|IBV_QP_PORT (mlx5 enables
 *   checksum offload and caches max_tso only then), then RTR, RTS with
 *   IBV_QP_STATE alone; receive WQEs are posted after INIT (§1.5).
 * - RSS: WQs moved to IBV_WQS_RDY, an indirection table of 2^n WQs, an
 *   RSS QP with Toeplitz, a 40-byte key, IPv4+TCP fields; RSS QPs take no
 *   state transitions. A 1-entry table with hash mask 0 steers to one WQ
 *   without hashing (§2.4). flow_queue predicts that QP's choice in
 *   software: the same key, fields and table (ibv_toeplitz).
 * - Flow rules: one zeroed buffer, ibv_flow_attr then specs, sizes
 *   right, values in network byte order, full masks; lower priority
 *   number wins; DONT_TRAP also leaves a copy to the kernel (§2.1-2.3).
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
 * Known gaps: no striding RQ, no flow tags, no extended CQs (timestamps),
 * no per-flow rule removal; RX checksum status is OK or UNKNOWN (mlx5
 * reports no "bad" bit); indirection tables are as small as the queue
 * count allows, so a count that is not a power of two is uneven; an RSS
 * QP per queue exists only to let flow rules target one queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "verbs/nic_ibv.h"

#define RX_POLL 32

static int err_of(int rc)
{
	if (rc > 0)
		return rc;
	return errno ? errno : EIO;
}

/* ---- receive buffers ---- */

/* Post buffers ids[0..cnt) in one WR chain; returns how many went in and
 * leaves the verbs error in *rc (0 when all did). */
static unsigned rx_post(struct ibv_nic *n, struct ibv_rxq *r,
			const uint32_t *ids, unsigned cnt, int *rc)
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
	if (n->nq > 1)
		*rc = ibv_post_wq_recv(r->wq, r->wr, &bad);
	else
		*rc = ibv_post_recv(r->qp, r->wr, &bad);
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
	posted = rx_post(n, r, r->held, r->size, &rc);
	if (posted != r->size) {
		rc = err_of(rc);
		ibv_err(n, err, rc, "%s queue %u (%u of %u buffers)",
			n->nq > 1 ? "ibv_post_wq_recv" : "ibv_post_recv", q,
			posted, r->size);
		return -rc;
	}
	r->nheld = 0;
	return 0;
}

/* ---- queue set-up ---- */

static struct ibv_qp *create_raw_qp(struct ibv_nic *n, unsigned q)
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
	a.recv_cq = n->nq == 1 ? n->rxq[q].cq : t->cq;
	a.cap.max_send_wr = t->size;
	a.cap.max_send_sge = sge;
	a.cap.max_inline_data = IBV_TX_INLINE_REQ;
	a.cap.max_recv_wr = n->nq == 1 ? n->rxq[q].size : 0;
	a.cap.max_recv_sge = n->nq == 1 ? 1 : 0;
	a.sq_sig_all = 0;
	a.comp_mask = IBV_QP_INIT_ATTR_PD;
	a.pd = n->pd;
	if (n->max_tso) {
		a.comp_mask |= IBV_QP_INIT_ATTR_MAX_TSO_HEADER;
		a.max_tso_header = NIC_HDR_MAX;
	}
	qp = ibv_create_qp_ex(n->ctx, &a);
	if (qp)
		t->max_inline = a.cap.max_inline_data;
	return qp;
}

/* RESET -> INIT (port) -> [post receives] -> RTR -> RTS. */
static int raw_qp_up(struct ibv_nic *n, unsigned q, char *err)
{
	struct ibv_qp *qp = n->txq[q].qp;
	struct ibv_qp_attr at;
	int rc;

	memset(&at, 0, sizeof(at));
	at.qp_state = IBV_QPS_INIT;
	at.port_num = n->port;
	rc = ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_PORT);
	if (rc) {
		ibv_err(n, err, err_of(rc), "ibv_modify_qp(INIT) queue %u", q);
		return -err_of(rc);
	}
	if (n->nq == 1) {
		rc = rx_fill(n, q, err);
		if (rc)
			return rc;
	}
	memset(&at, 0, sizeof(at));
	at.qp_state = IBV_QPS_RTR;
	rc = ibv_modify_qp(qp, &at, IBV_QP_STATE);
	if (rc) {
		ibv_err(n, err, err_of(rc), "ibv_modify_qp(RTR) queue %u", q);
		return -err_of(rc);
	}
	at.qp_state = IBV_QPS_RTS;
	rc = ibv_modify_qp(qp, &at, IBV_QP_STATE);
	if (rc) {
		ibv_err(n, err, err_of(rc), "ibv_modify_qp(RTS) queue %u", q);
		return -err_of(rc);
	}
	return 0;
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

/* nqueues > 1: the queue's WQ, made ready and filled, and its 1-entry
 * table + hash-less RSS QP (the target of rules for this queue alone). */
static int wq_open(struct ibv_nic *n, unsigned q, char *err)
{
	struct ibv_rwq_ind_table_init_attr ia;
	struct ibv_rxq *r = &n->rxq[q];
	struct ibv_wq_init_attr wa;
	struct ibv_wq_attr ma;
	int rc;

	memset(&wa, 0, sizeof(wa));
	wa.wq_type = IBV_WQT_RQ;
	wa.max_wr = r->size;
	wa.max_sge = 1;
	wa.pd = n->pd;
	wa.cq = r->cq;
	r->wq = ibv_create_wq(n->ctx, &wa);
	if (!r->wq) {
		rc = -err_of(0);
		ibv_err(n, err, -rc, "ibv_create_wq queue %u", q);
		return rc;
	}
	memset(&ma, 0, sizeof(ma));
	ma.attr_mask = IBV_WQ_ATTR_STATE;
	ma.wq_state = IBV_WQS_RDY;
	rc = ibv_modify_wq(r->wq, &ma);
	if (rc) {
		rc = -err_of(rc);
		ibv_err(n, err, -rc, "ibv_modify_wq(RDY) queue %u", q);
		goto err_wq;
	}
	rc = rx_fill(n, q, err);
	if (rc)
		goto err_wq;
	memset(&ia, 0, sizeof(ia));
	ia.log_ind_tbl_size = 0;
	ia.ind_tbl = &r->wq;
	r->ind = ibv_create_rwq_ind_table(n->ctx, &ia);
	if (!r->ind) {
		rc = -err_of(0);
		ibv_err(n, err, -rc, "ibv_create_rwq_ind_table queue %u", q);
		goto err_wq;
	}
	r->qp = create_rss_qp(n, r->ind, 0);
	if (!r->qp) {
		rc = -err_of(0);
		ibv_err(n, err, -rc, "ibv_create_qp_ex(rss, 1 wq) queue %u", q);
		goto err_ind;
	}
	return 0;

err_ind:
	ibv_destroy_rwq_ind_table(r->ind);
err_wq:
	ibv_destroy_wq(r->wq);
	r->wq = NULL;
	r->ind = NULL;
	return rc;
}

static void wq_close(struct ibv_nic *n, unsigned q)
{
	struct ibv_rxq *r = &n->rxq[q];

	ibv_destroy_qp(r->qp);
	ibv_destroy_rwq_ind_table(r->ind);
	ibv_destroy_wq(r->wq);
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
		rc = -err_of(0);
		ibv_err(n, err, -rc, "ibv_create_comp_channel queue %u", q);
		return rc;
	}
	fl = fcntl(r->ch->fd, F_GETFL);
	if (fl < 0 || fcntl(r->ch->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		rc = -err_of(0);
		ibv_err(n, err, -rc, "fcntl(O_NONBLOCK) on channel queue %u",
			q);
		goto err_ch;
	}
	r->cq = ibv_create_cq(n->ctx, (int)r->size, r, r->ch, vec);
	if (!r->cq) {
		rc = -err_of(0);
		ibv_err(n, err, -rc, "ibv_create_cq(rx, %u) queue %u", r->size,
			q);
		goto err_ch;
	}
	t->cq = ibv_create_cq(n->ctx, (int)t->size, t, NULL, vec);
	if (!t->cq) {
		rc = -err_of(0);
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
		rc = -err_of(0);
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
		rc = -err_of(0);
		ibv_err(n, err, -rc, "ibv_reg_mr(tx headers) queue %u", q);
		goto err_hdr;
	}
	t->qp = create_raw_qp(n, q);
	if (!t->qp) {
		rc = -err_of(0);
		ibv_err(n, err, -rc, "ibv_create_qp_ex(raw packet) queue %u",
			q);
		goto err_hmr;
	}
	if (n->nq == 1)
		r->qp = t->qp;
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
	r->qp = t->qp = NULL;
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

	if (n->nq > 1)
		wq_close(n, q);
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
		wqs[e] = n->rxq[e % n->nq].wq;
	memset(&ia, 0, sizeof(ia));
	ia.log_ind_tbl_size = n->rss_log_size;
	ia.ind_tbl = wqs;
	n->rss_ind = ibv_create_rwq_ind_table(n->ctx, &ia);
	if (!n->rss_ind) {
		rc = -err_of(0);
		ibv_err(n, err, -rc, "ibv_create_rwq_ind_table(%u entries)",
			size);
		return rc;
	}
	n->rss_qp = create_rss_qp(n, n->rss_ind,
				  IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
					  IBV_RX_HASH_SRC_PORT_TCP |
					  IBV_RX_HASH_DST_PORT_TCP);
	if (!n->rss_qp) {
		rc = -err_of(0);
		ibv_err(n, err, -rc, "ibv_create_qp_ex(rss, %u queues)", n->nq);
		goto err_ind;
	}
	return 0;

err_ind:
	ibv_destroy_rwq_ind_table(n->rss_ind);
	n->rss_ind = NULL;
	return rc;
}

/* ---- steering ---- */

union flow_buf {
	struct ibv_flow_attr attr;
	uint8_t b[sizeof(struct ibv_flow_attr) +
		  sizeof(struct ibv_flow_spec_eth) +
		  sizeof(struct ibv_flow_spec_ipv4) +
		  sizeof(struct ibv_flow_spec_tcp_udp)];
};

static void flow_init(union flow_buf *f, uint8_t port, uint16_t prio,
		      uint32_t flags)
{
	memset(f, 0, sizeof(*f));
	f->attr.type = IBV_FLOW_ATTR_NORMAL;
	f->attr.size = sizeof(f->attr);
	f->attr.priority = prio;
	f->attr.port = port;
	f->attr.flags = flags;
}

static void flow_add(union flow_buf *f, const void *spec, uint16_t len)
{
	memcpy(f->b + f->attr.size, spec, len);
	f->attr.size += len;
	f->attr.num_of_specs++;
}

static void flow_eth(union flow_buf *f, const uint8_t *dst_mac,
		     uint16_t ether_type)
{
	struct ibv_flow_spec_eth s;

	memset(&s, 0, sizeof(s));
	s.type = IBV_FLOW_SPEC_ETH;
	s.size = sizeof(s);
	if (dst_mac) {
		memcpy(s.val.dst_mac, dst_mac, 6);
		memset(s.mask.dst_mac, 0xff, 6);
	}
	if (ether_type) {
		s.val.ether_type = htons(ether_type);
		s.mask.ether_type = 0xffff;
	}
	flow_add(f, &s, sizeof(s));
}

static void flow_ipv4(union flow_buf *f, uint32_t src, uint32_t dst)
{
	struct ibv_flow_spec_ipv4 s;

	memset(&s, 0, sizeof(s));
	s.type = IBV_FLOW_SPEC_IPV4;
	s.size = sizeof(s);
	s.val.src_ip = src;
	s.mask.src_ip = src ? 0xffffffffu : 0;
	s.val.dst_ip = dst;
	s.mask.dst_ip = 0xffffffffu;
	flow_add(f, &s, sizeof(s));
}

static void flow_tcp(union flow_buf *f, uint16_t src, uint16_t dst)
{
	struct ibv_flow_spec_tcp_udp s;

	memset(&s, 0, sizeof(s));
	s.type = IBV_FLOW_SPEC_TCP;
	s.size = sizeof(s);
	s.val.src_port = src;
	s.mask.src_port = 0xffff;
	s.val.dst_port = dst;
	s.mask.dst_port = 0xffff;
	flow_add(f, &s, sizeof(s));
}

static int flow_create(struct ibv_nic *n, struct ibv_qp *qp, union flow_buf *f)
{
	struct ibv_flow **nf, *fl;

	if (n->nflows == n->cap_flows) {
		unsigned cap = n->cap_flows ? n->cap_flows * 2 : 8;

		nf = realloc(n->flows, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		n->flows = nf;
		n->cap_flows = cap;
	}
	fl = ibv_create_flow(qp, &f->attr);
	if (!fl)
		return -err_of(0);
	n->flows[n->nflows++] = fl;
	return 0;
}

static int ibv_add_steer(struct nic *nic, const struct nic_steer *s)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct ibv_nic *n = to_ibv(nic);
	union flow_buf f;
	int rc;

	switch (s->kind) {
	case NIC_STEER_LOCAL:
		flow_init(&f, n->port, IBV_PRIO_LOCAL, 0);
		flow_eth(&f, n->link.mac, 0);
		flow_ipv4(&f, 0, s->local_ip);
		return flow_create(n, n->nq > 1 ? n->rss_qp : n->rxq[0].qp, &f);
	case NIC_STEER_ARP:
		/* Both at one priority: a broadcast ARP matches one entry of
		 * the table, so queue 0 gets it once (and the kernel too). */
		flow_init(&f, n->port, IBV_PRIO_ARP,
			  IBV_FLOW_ATTR_FLAGS_DONT_TRAP);
		flow_eth(&f, NULL, 0x0806);
		rc = flow_create(n, n->rxq[0].qp, &f);
		if (rc)
			return rc;
		flow_init(&f, n->port, IBV_PRIO_ARP,
			  IBV_FLOW_ATTR_FLAGS_DONT_TRAP);
		flow_eth(&f, bcast, 0);
		return flow_create(n, n->rxq[0].qp, &f);
	case NIC_STEER_FLOW:
		if (s->queue >= n->nq)
			return -EINVAL;
		flow_init(&f, n->port, IBV_PRIO_FLOW, 0);
		flow_eth(&f, n->link.mac, 0);
		flow_ipv4(&f, s->remote_ip, s->local_ip);
		flow_tcp(&f, s->remote_port, s->local_port);
		return flow_create(n, n->rxq[s->queue].qp, &f);
	}
	return -EINVAL;
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
	posted = rx_post(n, r, r->held, r->nheld, &rc);
	if (posted < r->nheld)
		memmove(r->held, r->held + posted,
			(r->nheld - posted) * sizeof(*r->held));
	r->nheld -= posted;

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

			r->held[r->nheld++] = id;
			if (wc[i].status != IBV_WC_SUCCESS) {
				r->errors++;
				continue;
			}
			rx[got].data = r->buf + (size_t)id * r->buf_size;
			rx[got].len = wc[i].byte_len;
			rx[got].gso_size = 0;
			rx[got].csum =
				n->csum && (wc[i].wc_flags & IBV_WC_IP_CSUM_OK)
					? NIC_CSUM_OK
					: NIC_CSUM_UNKNOWN;
			rx[got].pad = 0;
			got++;
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

	if (n->nregs == n->cap_regs) {
		unsigned cap = n->cap_regs ? n->cap_regs * 2 : 8;

		nr = realloc(n->regs, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		n->regs = nr;
		n->cap_regs = cap;
	}
	/* TX payload only: the NIC reads it, never writes (access 0). */
	mr = ibv_reg_mr(n->pd, addr, len, 0);
	if (!mr)
		return -err_of(0);
	n->regs[n->nregs].key = mr->lkey;
	n->regs[n->nregs++].mr = mr;
	*key = mr->lkey;
	return 0;
}

static int ibv_dereg_mem(struct nic *nic, uint32_t key)
{
	struct ibv_nic *n = to_ibv(nic);

	for (unsigned i = 0; i < n->nregs; i++) {
		if (n->regs[i].key != key)
			continue;
		int rc = ibv_dereg_mr(n->regs[i].mr);

		if (rc)
			return -err_of(rc);
		n->regs[i] = n->regs[--n->nregs];
		return 0;
	}
	return -ENOENT;
}

/* ---- flow -> queue prediction ---- */

/* Where the NIC_STEER_LOCAL rule's RSS QP puts a received segment: the
 * Toeplitz hash over src IPv4, dst IPv4, src TCP port, dst TCP port, all
 * in network byte order (IBV_RX_HASH_{SRC,DST}_IPV4 | _{SRC,DST}_PORT_TCP,
 * the Microsoft RSS input order), then entry hash & (table size - 1) of the
 * indirection table rss_open built, whose entry e is queue e % nq. */
static unsigned ibv_flow_queue(struct nic *nic, uint32_t local_ip,
			       uint16_t local_port, uint32_t remote_ip,
			       uint16_t remote_port)
{
	struct ibv_nic *n = to_ibv(nic);
	uint16_t sport = htons(remote_port), dport = htons(local_port);
	uint8_t in[12];
	uint32_t hash;

	if (n->nq <= 1)
		return 0;
	memcpy(in, &remote_ip, 4); /* the segment's source */
	memcpy(in + 4, &local_ip, 4);
	memcpy(in + 8, &sport, 2);
	memcpy(in + 10, &dport, 2);
	hash = ibv_toeplitz(ibv_rss_key, IBV_RSS_KEY_LEN, in, sizeof(in));
	return (hash & ((1u << n->rss_log_size) - 1)) % n->nq;
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
		return -err_of(rc);
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
	rc = ibv_dev_open(n, err);
	if (rc)
		goto err_free;
	rc = ibv_dev_caps(n, p, err);
	if (rc)
		goto err_dev;
	n->pd = ibv_alloc_pd(n->ctx);
	if (!n->pd) {
		rc = -err_of(0);
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
	free(n);
	errno = -rc;
	return NULL;
}
