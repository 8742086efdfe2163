/* nic_ibv_flow.c - ibv backend: steering rules, flow->queue prediction and
 * zero-copy receive placement queues
 *
 * add_steer turns nic_steer rules into ibv_create_flow rules on the queue
 * objects nic_ibv.c built; flow_queue predicts the RSS QP's choice in
 * software. A placement queue (place_open) is an RQ of its own for one TCP
 * flow, completing on the recv CQ of the queue that opened it, whose WQEs
 * scatter each frame into a header slot of ours (SGE 0) and a buffer the
 * caller posted (SGE 1); the layout is drawn in nic_ibv.h.
 *
 * Facts relied on (shared/notes/verbs.md):
 * - Flow rules: one zeroed buffer, ibv_flow_attr then specs, sizes
 *   right, values in network byte order, full masks; lower priority
 *   number wins (mlx5: 0..15); DONT_TRAP also leaves a copy to the kernel
 *   (§2.1-2.3). IBV_PRIO_PLACE is below IBV_PRIO_FLOW, so a placement
 *   queue wins over a NIC_STEER_FLOW rule of the same 4-tuple.
 * - A receive WQE takes one frame, scattered sequentially over its SGEs;
 *   byte_len is the whole frame (§3.1). The split is positional: a frame
 *   whose headers are not hdr_len bytes long still splits at hdr_len, and
 *   the caller sees that from the headers in the slot.
 * - RSS: a 1-entry table with hash mask 0 steers to one WQ (§2.4); flow_queue
 *   uses the key, fields and table of the RSS QP (ibv_toeplitz).
 * - Moving a QP or WQ to RESET drops its posted WQEs without completions
 *   (libmlx5 also cleans its CQEs from the CQ); destroying it does too.
 *   Completions that a provider leaves in the CQ carry the placement id's
 *   old generation in their wr_id and are dropped by rx_burst.
 *
 * Threading: add_steer is a control-thread call and appends to n->flows;
 * placement state is per queue (ids are q * IBV_PLACE_PER_Q + index) and
 * touched only by that queue's thread, apart from the registration lookup
 * of place_post (ibv_reg_lkey, under reg_lock).
 *
 * Known gaps: no per-flow removal of add_steer rules; a placement WQE
 * completed with an error is reported with len 0 so its buffer comes back
 * (nic.h says nothing of errors); header slots are 2 * depth (see
 * struct ibv_place); the recv CQ grows with placement queues, never
 * shrinks.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "verbs/nic_ibv.h"

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
		return -ibv_errno(0);
	n->flows[n->nflows++] = fl;
	return 0;
}

/* The rule for one TCP flow's received segments (src remote, dst local). */
static void flow_tuple(union flow_buf *f, const struct ibv_nic *n,
		       uint16_t prio, const struct nic_steer *s)
{
	flow_init(f, n->port, prio, 0);
	flow_eth(f, n->link.mac, 0);
	flow_ipv4(f, s->remote_ip, s->local_ip);
	flow_tcp(f, s->remote_port, s->local_port);
}

/**
 * ibv_add_steer - the add_steer op: one or two ibv_create_flow rules
 * @nic: the backend
 * @s: the rule
 *
 * Control thread. The flows live until close.
 *
 * Return: 0 or a negative errno (-EINVAL for a bad kind or queue).
 */
int ibv_add_steer(struct nic *nic, const struct nic_steer *s)
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
		return flow_create(n, n->nq > 1 ? n->rss_qp : n->rxq[0].rq.qp,
				   &f);
	case NIC_STEER_ARP:
		/* Both at one priority: a broadcast ARP matches one entry of
		 * the table, so queue 0 gets it once (and the kernel too). */
		flow_init(&f, n->port, IBV_PRIO_ARP,
			  IBV_FLOW_ATTR_FLAGS_DONT_TRAP);
		flow_eth(&f, NULL, 0x0806);
		rc = flow_create(n, n->rxq[0].rq.qp, &f);
		if (rc)
			return rc;
		flow_init(&f, n->port, IBV_PRIO_ARP,
			  IBV_FLOW_ATTR_FLAGS_DONT_TRAP);
		flow_eth(&f, bcast, 0);
		return flow_create(n, n->rxq[0].rq.qp, &f);
	case NIC_STEER_FLOW:
		if (s->queue >= n->nq)
			return -EINVAL;
		flow_tuple(&f, n, IBV_PRIO_FLOW, s);
		return flow_create(n, n->rxq[s->queue].rq.qp, &f);
	}
	return -EINVAL;
}

/* ---- flow -> queue prediction ---- */

/**
 * ibv_flow_queue - the flow_queue op
 * @nic: the backend
 * @local_ip: the segment's destination, network order
 * @local_port: host order
 * @remote_ip: the segment's source, network order
 * @remote_port: host order
 *
 * Where the NIC_STEER_LOCAL rule's RSS QP puts a received segment: the
 * Toeplitz hash over src IPv4, dst IPv4, src TCP port, dst TCP port, all
 * in network byte order (IBV_RX_HASH_{SRC,DST}_IPV4 | _{SRC,DST}_PORT_TCP,
 * the Microsoft RSS input order), then entry hash & (table size - 1) of the
 * indirection table rss_open built, whose entry e is queue e % nq.
 *
 * Return: the queue index.
 */
unsigned ibv_flow_queue(struct nic *nic, uint32_t local_ip, uint16_t local_port,
			uint32_t remote_ip, uint16_t remote_port)
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

/* ---- zero-copy placement queues ---- */

static size_t place_hdr_bytes(const struct ibv_place *p)
{
	return (size_t)p->nslots * p->hdr_stride;
}

/* The open placement queue @id, and its queue in *q; NULL if none. */
static struct ibv_place *place_get(struct ibv_nic *n, int id, unsigned *q)
{
	struct ibv_place_tab *t;
	struct ibv_place *p;

	if (id < 0 || (unsigned)id >= n->nq * IBV_PLACE_PER_Q)
		return NULL;
	*q = (unsigned)id / IBV_PLACE_PER_Q;
	t = n->rxq[*q].place;
	p = t ? &t->p[(unsigned)id % IBV_PLACE_PER_Q] : NULL;
	return p && p->open ? p : NULL;
}

/* Grow queue @r's recv CQ so that every WQE that may complete on it has
 * a CQE: its own buffers and its placement queues' with @more added. */
static int place_cq_room(struct ibv_nic *n, struct ibv_rxq *r, uint32_t more)
{
	uint64_t need = (uint64_t)r->size + r->place->wqes + more, want;
	int rc;

	if (need <= (uint64_t)r->cq->cqe)
		return 0;
	if (n->max_cqe && need > n->max_cqe)
		return -ENOSPC;
	want = 2 * (uint64_t)r->cq->cqe; /* fewer resizes as flows come */
	if (want < need || (n->max_cqe && want > n->max_cqe))
		want = need;
	rc = ibv_resize_cq(r->cq, (int)want);
	return rc ? -ibv_errno(rc) : 0;
}

static void place_slots_free(struct ibv_nic *n, struct ibv_place *p)
{
	if (p->hdr_mr)
		ibv_dereg_mr(p->hdr_mr);
	ibv_buf_free(n, p->hdr_buf, place_hdr_bytes(p));
	free(p->held);
	free(p->free);
	free(p->bufs);
	p->hdr_mr = NULL;
	p->hdr_buf = NULL;
	p->held = p->free = NULL;
	p->bufs = NULL;
}

/* The header pool (registered, NIC-writable) and the slot bookkeeping. */
static int place_slots_alloc(struct ibv_nic *n, struct ibv_place *p,
			     uint16_t hdr_len, uint32_t depth)
{
	p->depth = depth;
	p->nslots = 2 * depth;
	p->posted = p->nheld = 0;
	p->hdr_len = hdr_len;
	p->hdr_stride = (uint16_t)((hdr_len + IBV_PLACE_HDR_ALIGN - 1) &
				   ~(IBV_PLACE_HDR_ALIGN - 1));
	p->bufs = calloc(p->nslots, sizeof(*p->bufs));
	p->free = calloc(p->nslots, sizeof(*p->free));
	p->held = calloc(depth, sizeof(*p->held));
	p->hdr_buf = ibv_buf_alloc(n, place_hdr_bytes(p));
	if (!p->bufs || !p->free || !p->held || !p->hdr_buf) {
		place_slots_free(n, p);
		return -ENOMEM;
	}
	p->hdr_mr = ibv_reg_mr(n->pd, p->hdr_buf, place_hdr_bytes(p),
			       IBV_ACCESS_LOCAL_WRITE);
	if (!p->hdr_mr) {
		int rc = -ibv_errno(0);

		place_slots_free(n, p);
		return rc;
	}
	for (p->nfree = 0; p->nfree < p->nslots; p->nfree++)
		p->free[p->nfree] = p->nslots - 1 - p->nfree; /* 0 on top */
	return 0;
}

/* The flow's own RQ on queue @q's recv CQ (layout in nic_ibv.h). */
static int place_rq_open(struct ibv_nic *n, unsigned q, struct ibv_place *p)
{
	int rc;

	memset(&p->rq, 0, sizeof(p->rq));
	if (n->nq > 1)
		return ibv_wq_rq_open(n, &p->rq, n->rxq[q].cq, p->depth, 2,
				      "placement", NULL);
	p->rq.qp = ibv_raw_qp_create(n, q, p->depth, 2, false);
	if (!p->rq.qp)
		return -ibv_errno(0);
	rc = ibv_qp_move(n, p->rq.qp, IBV_QPS_INIT, "placement", NULL);
	if (!rc)
		rc = ibv_qp_move(n, p->rq.qp, IBV_QPS_RTR, "placement", NULL);
	if (rc) {
		ibv_destroy_qp(p->rq.qp);
		p->rq.qp = NULL;
	}
	return rc;
}

/* RESET drops the posted WQEs without completions; then destroy. */
static void place_rq_close(struct ibv_nic *n, struct ibv_place *p)
{
	struct ibv_wq_attr wa = { .attr_mask = IBV_WQ_ATTR_STATE,
				  .wq_state = IBV_WQS_RESET };

	if (p->rq.wq) {
		ibv_modify_wq(p->rq.wq, &wa);
		ibv_wq_rq_close(&p->rq);
	} else {
		ibv_qp_move(n, p->rq.qp, IBV_QPS_RESET, "placement", NULL);
		ibv_destroy_qp(p->rq.qp);
	}
	memset(&p->rq, 0, sizeof(p->rq));
}

/**
 * ibv_place_open - the place_open op (nic.h)
 * @nic: the backend
 * @q: the queue whose rx_burst reports the frames; its thread calls this
 * @rule: a NIC_STEER_FLOW rule (queue ignored)
 * @hdr_len: bytes of each frame that go to a header slot, 1..256
 * @depth: most buffers posted at once, up to the device's max_qp_wr
 *
 * Return: the id (q * IBV_PLACE_PER_Q + index), or -EINVAL (bad
 * arguments), -ENOSPC (IBV_PLACE_PER_Q open on @q, or the recv CQ cannot
 * grow), -ENOMEM or the errno of the failing verbs call; on failure
 * nothing is left behind.
 */
int ibv_place_open(struct nic *nic, unsigned q, const struct nic_steer *rule,
		   uint16_t hdr_len, unsigned depth)
{
	struct ibv_nic *n = to_ibv(nic);
	struct ibv_place *p;
	struct ibv_rxq *r;
	union flow_buf f;
	unsigned k;
	int rc;

	if (q >= n->nq || !rule || rule->kind != NIC_STEER_FLOW || !hdr_len ||
	    hdr_len > IBV_PLACE_HDR_MAX || !depth || depth > n->max_qp_wr ||
	    (n->max_sge && n->max_sge < 2))
		return -EINVAL;
	r = &n->rxq[q];
	if (!r->place && !(r->place = calloc(1, sizeof(*r->place))))
		return -ENOMEM;
	for (k = 0; k < IBV_PLACE_PER_Q && r->place->p[k].open; k++)
		;
	if (k == IBV_PLACE_PER_Q)
		return -ENOSPC;
	p = &r->place->p[k];
	rc = place_cq_room(n, r, depth);
	if (rc)
		return rc;
	rc = place_slots_alloc(n, p, hdr_len, depth);
	if (rc)
		return rc;
	rc = place_rq_open(n, q, p);
	if (rc)
		goto err_slots;
	flow_tuple(&f, n, IBV_PRIO_PLACE, rule);
	p->flow = ibv_create_flow(p->rq.qp, &f.attr);
	if (!p->flow) {
		rc = -ibv_errno(0);
		goto err_rq;
	}
	p->open = 1;
	r->place->wqes += depth;
	return (int)(q * IBV_PLACE_PER_Q + k);

err_rq:
	place_rq_close(n, p);
err_slots:
	place_slots_free(n, p);
	return rc;
}

/**
 * ibv_place_post - the place_post op (nic.h): one WQE, header slot + buffer
 * @nic: the backend
 * @id: from place_open
 * @addr: the buffer, inside memory registered with reg_mem as @key
 * @len: its length, > 0
 * @key: from reg_mem
 * @cookie: handed back with the frame
 *
 * Return: 0, -ENOSPC with depth buffers posted, -EINVAL for an unknown id
 * or key, a range the key does not cover or @len 0, or the errno of
 * ibv_post_recv / ibv_post_wq_recv.
 */
int ibv_place_post(struct nic *nic, int id, void *addr, uint32_t len,
		   uint32_t key, uint64_t cookie)
{
	struct ibv_nic *n = to_ibv(nic);
	struct ibv_recv_wr wr, *bad = NULL;
	struct ibv_sge sge[2];
	struct ibv_place *p;
	uint32_t slot, lkey;
	unsigned q;
	int rc;

	p = place_get(n, id, &q);
	if (!p || !len)
		return -EINVAL;
	if (p->posted == p->depth || !p->nfree)
		return -ENOSPC;
	rc = ibv_reg_lkey(n, key, addr, len, &lkey);
	if (rc)
		return rc;
	slot = p->free[p->nfree - 1];
	sge[0].addr = (uintptr_t)(p->hdr_buf + (size_t)slot * p->hdr_stride);
	sge[0].length = p->hdr_len;
	sge[0].lkey = p->hdr_mr->lkey;
	sge[1].addr = (uintptr_t)addr;
	sge[1].length = len;
	sge[1].lkey = lkey;
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = ibv_wrid_place(p->gen, (unsigned)id, slot);
	wr.sg_list = sge;
	wr.num_sge = 2;
	rc = ibv_rq_post(&p->rq, &wr, &bad);
	if (rc)
		return -ibv_errno(rc);
	p->nfree--;
	p->bufs[slot] = (struct ibv_place_buf){ addr, cookie };
	p->posted++;
	return 0;
}

/**
 * ibv_place_close - the place_close op (nic.h)
 * @nic: the backend
 * @id: from place_open; unknown or closed ids are ignored
 *
 * The rule goes first (the flow's frames follow the other rules again),
 * then the RQ through RESET, so a posted buffer is never written again
 * and none completes; a completion already in the CQ carries the old
 * generation and rx_burst drops it. Frames of this queue from the last
 * rx_burst lose their header slots here.
 */
void ibv_place_close(struct nic *nic, int id)
{
	struct ibv_nic *n = to_ibv(nic);
	struct ibv_place_tab *t;
	struct ibv_place *p;
	unsigned q, k = (unsigned)id % IBV_PLACE_PER_Q;

	p = place_get(n, id, &q);
	if (!p)
		return;
	t = n->rxq[q].place;
	ibv_destroy_flow(p->flow);
	p->flow = NULL;
	place_rq_close(n, p);
	place_slots_free(n, p);
	for (unsigned i = 0; p->nheld && i < t->ndirty; i++)
		if (t->dirty[i] == k)
			t->dirty[i] = t->dirty[--t->ndirty];
	p->nheld = 0;
	t->wqes -= p->depth;
	p->gen = (p->gen + 1) & IBV_WRID_GEN_MASK;
	p->open = 0;
}

/**
 * ibv_place_close_all - close every placement queue of queue @q
 * @n: the backend
 * @q: the queue
 */
void ibv_place_close_all(struct ibv_nic *n, unsigned q)
{
	for (unsigned k = 0; n->rxq[q].place && k < IBV_PLACE_PER_Q; k++)
		ibv_place_close(&n->nic, (int)(q * IBV_PLACE_PER_Q + k));
}

/**
 * ibv_place_release - header slots of the last burst's frames are free
 * @t: the queue's placement table
 *
 * Called at the start of rx_burst, when the caller gave those frames back.
 */
void ibv_place_release(struct ibv_place_tab *t)
{
	for (unsigned i = 0; i < t->ndirty; i++) {
		struct ibv_place *p = &t->p[t->dirty[i]];

		memcpy(p->free + p->nfree, p->held,
		       p->nheld * sizeof(*p->held));
		p->nfree += p->nheld;
		p->nheld = 0;
	}
	t->ndirty = 0;
}

/**
 * ibv_place_rx - turn a placement completion on queue @q into a frame
 * @n: the backend
 * @q: the queue whose recv CQ gave it
 * @wc: the completion (wr_id with IBV_WRID_PLACE)
 * @rx: filled when the completion is reported
 *
 * A completion with an error status consumed its buffer too: it is
 * reported with len 0 (and counted) so the caller gets the buffer back.
 * Completions of closed queues (an old generation) are dropped.
 *
 * Return: 1 when @rx was filled, 0 when dropped.
 */
unsigned ibv_place_rx(struct ibv_nic *n, unsigned q, const struct ibv_wc *wc,
		      struct nic_rx *rx)
{
	struct ibv_place_tab *t = n->rxq[q].place;
	unsigned id = (unsigned)(wc->wr_id >> 32) & IBV_WRID_ID_MASK;
	unsigned gen = (unsigned)(wc->wr_id >> 48) & IBV_WRID_GEN_MASK;
	uint32_t slot = (uint32_t)wc->wr_id;
	struct ibv_place *p;

	if (!t)
		return 0;
	p = &t->p[id % IBV_PLACE_PER_Q];
	if (id / IBV_PLACE_PER_Q != q || !p->open || p->gen != gen ||
	    slot >= p->nslots) {
		t->stale++;
		return 0;
	}
	p->posted--;
	if (!p->nheld)
		t->dirty[t->ndirty++] = (uint16_t)(id % IBV_PLACE_PER_Q);
	p->held[p->nheld++] = slot;
	*rx = (struct nic_rx){
		.data = p->hdr_buf + (size_t)slot * p->hdr_stride,
		.len = wc->byte_len,
		.csum = ibv_rx_csum(n, wc),
		.payload = p->bufs[slot].addr,
		.hdr_len = p->hdr_len,
		.place_id = (int32_t)id,
		.place_cookie = p->bufs[slot].cookie,
	};
	if (wc->status != IBV_WC_SUCCESS) {
		t->errors++;
		rx->len = 0;
		rx->csum = NIC_CSUM_UNKNOWN;
	}
	return 1;
}
