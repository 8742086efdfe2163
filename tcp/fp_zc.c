/* fp_zc.c - zero-copy sends from app regions and placement of received
 * payload into posted app buffers (docs/ZEROCOPY.md)
 *
 * Both directions keep the send and receive rings' byte accounting: a
 * zero-copy send takes send-ring space (its bytes are never written there)
 * and a posted buffer takes receive-window space until its bytes are in.
 * Positions below are stream offsets (sequence minus the initial sequence
 * + 1), free-running 32-bit counters compared modulo 2^32.
 *
 * Send: TAS_CMD_TX_ZC appends an extent {stream position, length, region
 * memory} to the flow; fp_emit gathers a segment's payload from the ring
 * and from extents, pointing NIC descriptors at the region (the ibv
 * backend sends from it with the region's key). An extent is released,
 * and its region reference dropped, once its bytes are acknowledged and
 * every frame posted before that has completed, which is when the app
 * also gets TX_FREED for them (and libtas turns that into TX_ZC_DONE).
 *
 * Receive: TAS_CMD_RX_POST (after TAS_CMD_RX_AT with its stream offset)
 * covers [at, at + len): the bytes right after those the app has been told
 * about. Bytes of it already received (in the ring, in order or not) are
 * copied in when the post arrives; the engine hands every later piece of
 * payload to fp_zc_place, which copies it from the frame straight into the
 * posted buffer, or into the ring outside posted ranges: one copy either
 * way. A payload pointer that already equals its destination (the NIC
 * scattered the payload there, see the placement queues below) is counted
 * as placed without a copy. Events go out in stream order: TAS_EV_RX for
 * ring bytes, TAS_EV_RX_PLACED when a buffer is full (or the stream
 * ended). Placed bytes give their receive-window space back by themselves
 * as soon as the app has freed every ring byte before them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/csum.h"
#include "tcp/fp_int.h"
#include "tcp/tcp_int.h"

#define BOUNCE_SLOTS 256
#define BOUNCE_SIZE 2048
#define ZC_PIECES (2 * TAS_ZC_TX_MAX + 4)
#define PL_IDS 256   /* placement queue ids a core maps to flows */
#define PL_DEPTH 256 /* buffers posted per placement queue */
#define PL_BUFS 1024 /* per-core buffers for frames not placed */
#define PL_BUF_SIZE 2048
#define PL_NONE UINT32_MAX /* a WQE into a post, not a core buffer */

struct zc_ext {
	uint32_t pos, len; /* stream range */
	uint8_t *addr;	   /* region memory of pos */
	struct fp_region *r;
};

struct zc_post {
	uint32_t pos, len;
	uint8_t *addr;
	struct fp_region *r; /* NULL once reported (reference dropped) */
};

/* A buffer posted on the flow's placement queue: for stream bytes from
 * pos on (an estimate: the NIC fills it with whatever frame comes next),
 * either a slot of a posted app buffer or a core buffer (buf). */
struct zc_wqe {
	uint32_t pos;
	uint32_t buf; /* PL_NONE: into a post */
};

struct fp_zc {
	struct fp_core *core;
	/* receive placement queue (NIC backends that have one) */
	int pl_id;	    /* -1: none */
	bool pl_tried;	    /* place_open was called */
	uint16_t pl_hdr;    /* header bytes the NIC splits off */
	uint32_t pl_stride; /* payload bytes per buffer */
	uint32_t pl_est;    /* where the next posted buffer will land */
	uint32_t pl_end;    /* end of the highest slot ever posted */
	struct zc_wqe pl_q[PL_DEPTH]; /* FIFO, completion order */
	uint32_t pl_head, pl_n;
	struct zc_ext tx[TAS_ZC_TX_MAX]; /* FIFO in stream order */
	uint32_t tx_head, tx_n;
	struct zc_post rx[TAS_ZC_RX_MAX]; /* FIFO in stream order */
	uint32_t rx_head, rx_n;
	uint32_t rx_ev;	  /* stream offset announced to the app */
	uint32_t post_at; /* from TAS_CMD_RX_AT, for the next post */
	bool post_at_ok;
	uint64_t tx_bytes, rx_nocopy, rx_copy; /* for tasctl conns */
};

static void pl_open(struct fp_core *c, struct flow *f);
static void pl_close(struct fp_core *c, struct fp_zc *z);
static void pl_refill(struct fp_core *c, struct flow *f);

static inline bool pos_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline uint32_t pos_min(uint32_t a, uint32_t b)
{
	return pos_lt(a, b) ? a : b;
}

static inline uint32_t rx_base(const struct tcp_conn *tc)
{
	return tc->irs + 1;
}

static inline uint32_t tx_base(const struct tcp_conn *tc)
{
	return tc->iss + 1;
}

/* ---- regions ---- */

/**
 * fp_region_get - take a reference on a live region of the app
 * @tab: the app's region table (TAS_MAX_REGIONS entries)
 * @id: region id from the app
 * @off, @len: the range the caller will touch, checked against the region
 *
 * Return: the region, or NULL if the id is not live or the range is out of
 * bounds (or empty).
 */
struct fp_region *fp_region_get(struct fp_region *tab, uint16_t id,
				uint32_t off, uint32_t len)
{
	struct fp_region *r;
	uint32_t n;

	if (!tab || id == 0)
		return NULL;
	r = &tab[TAS_REGION_IDX(id)];
	if (atomic_load_explicit(&r->id, memory_order_acquire) != id)
		return NULL;
	n = atomic_load_explicit(&r->refs, memory_order_relaxed);
	do {
		if (n == 0)
			return NULL; /* freed: never resurrect */
	} while (!atomic_compare_exchange_weak_explicit(&r->refs, &n, n + 1,
							memory_order_acquire,
							memory_order_relaxed));
	/* the slot may have been freed and reused between the two loads */
	if (atomic_load_explicit(&r->id, memory_order_acquire) != id ||
	    len == 0 || off > r->len || len > r->len - off) {
		fp_region_put(r);
		return NULL;
	}
	return r;
}

/**
 * fp_region_put - drop a reference taken by fp_region_get
 */
void fp_region_put(struct fp_region *r)
{
	atomic_fetch_sub_explicit(&r->refs, 1, memory_order_release);
}

/* ---- per-flow state ---- */

static struct fp_zc *zc_get(struct fp_core *c, struct flow *f)
{
	struct fp_zc *z = f->zc;

	if (z)
		return z;
	z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	z->core = c;
	z->pl_id = -1;
	/* everything the engine made readable so far is announced or due as
	 * ring bytes (f->ev_rx) */
	z->rx_ev = tcp_rcv_data_nxt(&f->tc) - rx_base(&f->tc) - f->ev_rx;
	f->zc = z;
	f->tc.rx_place = fp_zc_place;
	return z;
}

/**
 * fp_zc_drop - forget a flow's zero-copy state, dropping its references
 */
void fp_zc_drop(struct fp_core *c, struct flow *f)
{
	struct fp_zc *z = f->zc;

	if (!z)
		return;
	pl_close(c, z);
	for (uint32_t i = 0; i < z->tx_n; i++)
		fp_region_put(z->tx[(z->tx_head + i) % TAS_ZC_TX_MAX].r);
	for (uint32_t i = 0; i < z->rx_n; i++) {
		struct zc_post *p = &z->rx[(z->rx_head + i) % TAS_ZC_RX_MAX];

		if (p->r)
			fp_region_put(p->r);
	}
	free(z);
	f->zc = NULL;
	f->tc.rx_place = NULL;
}

/**
 * fp_zc_rx_drop - the app closed the flow: its posts and the placement
 * queue go (sends stay until acknowledged: retransmissions need them)
 */
void fp_zc_rx_drop(struct fp_core *c, struct flow *f)
{
	struct fp_zc *z = f->zc;

	if (!z)
		return;
	pl_close(c, z);
	for (uint32_t i = 0; i < z->rx_n; i++) {
		struct zc_post *p = &z->rx[(z->rx_head + i) % TAS_ZC_RX_MAX];

		if (p->r)
			fp_region_put(p->r);
	}
	z->rx_n = 0;
}

/* ---- commands ---- */

static int zc_tx(struct fp_core *c, struct flow *f, struct fp_region *r,
		 uint32_t off, uint32_t len)
{
	struct fp_zc *z = zc_get(c, f);
	struct tcp_conn *tc = &f->tc;
	uint32_t pos = tc->tx_end - tx_base(tc);
	struct zc_ext *t;

	if (!z || len > tcp_tx_space(tc))
		return -EINVAL;
	t = z->tx_n ? &z->tx[(z->tx_head + z->tx_n - 1) % TAS_ZC_TX_MAX] : NULL;
	if (t && t->r == r && t->pos + t->len == pos &&
	    t->addr + t->len == r->base + off) {
		if (tcp_app_tx(tc, len))
			return -EINVAL;
		t->len += len; /* one extent, one reference */
		fp_region_put(r);
		return 0;
	}
	if (z->tx_n == TAS_ZC_TX_MAX || tcp_app_tx(tc, len))
		return -EINVAL;
	t = &z->tx[(z->tx_head + z->tx_n++) % TAS_ZC_TX_MAX];
	*t = (struct zc_ext){ pos, len, r->base + off, r };
	return 0;
}

/* Copy received stream bytes [s, e) of the ring into post @q. */
static void ring_to_post(struct fp_core *c, const struct tcp_conn *tc,
			 const struct zc_post *q, uint32_t s, uint32_t e)
{
	s = pos_lt(s, q->pos) ? q->pos : s;
	e = pos_min(e, q->pos + q->len);
	while (pos_lt(s, e)) {
		uint32_t ro = s & (tc->rx_size - 1);
		uint32_t k = pos_min(e - s, tc->rx_size - ro);

		memcpy(q->addr + (s - q->pos), tc->rx_buf + ro, k);
		stat_add(c, ST_ZC_RX_COPY, k);
		s += k;
	}
}

static int zc_post(struct fp_core *c, struct flow *f, struct fp_region *r,
		   uint32_t off, uint32_t len)
{
	struct fp_zc *z = zc_get(c, f);
	struct tcp_conn *tc = &f->tc;
	uint32_t at, read, nxt;
	struct zc_post *q;

	if (!z || z->rx_n == TAS_ZC_RX_MAX || !z->post_at_ok)
		return -EINVAL;
	z->post_at_ok = false;
	at = z->post_at;
	read = tc->rx_read - rx_base(tc);
	nxt = tcp_rcv_data_nxt(tc) - rx_base(tc);
	if (tc->fin_rcvd) {
		/* the stream is over (the app may not know yet): nothing
		 * will land in it, fp_zc_deliver ends it at once */
	} else if (z->rx_n) {
		/* right after the previous post */
		q = &z->rx[(z->rx_head + z->rx_n - 1) % TAS_ZC_RX_MAX];
		if (at != q->pos + q->len)
			return -EINVAL;
	} else if (pos_lt(at, read) || pos_lt(z->rx_ev, at)) {
		/* the app's position lies between what it released and
		 * what it was told */
		return -EINVAL;
	}
	q = &z->rx[(z->rx_head + z->rx_n++) % TAS_ZC_RX_MAX];
	*q = (struct zc_post){ at, len, r->base + off, r };
	/* bytes of it already here (told to the app as ring bytes or not
	 * yet): into the buffer now, the ring's copies are never read */
	ring_to_post(c, tc, q, at, nxt);
	for (uint32_t i = 0; i < tc->ooo_n; i++)
		ring_to_post(c, tc, q, tc->ooo[i].start - rx_base(tc),
			     tc->ooo[i].end - rx_base(tc));
	pl_open(c, f);
	pl_refill(c, f);
	return 0;
}

/* ---- receive placement queues ---- */

/* Close the flow's placement queue: the NIC writes none of its buffers
 * after this. */
static void pl_close(struct fp_core *c, struct fp_zc *z)
{
	if (z->pl_id < 0)
		return;
	c->nic->ops->place_close(c->nic, z->pl_id);
	c->pl_map[z->pl_id] = 0;
	for (uint32_t i = 0; i < z->pl_n; i++) {
		uint32_t b = z->pl_q[(z->pl_head + i) % PL_DEPTH].buf;

		if (b != PL_NONE)
			c->pl_free[c->pl_nfree++] = b;
	}
	z->pl_n = 0;
	z->pl_id = -1;
}

/* Highest stream offset received so far, in order or not. */
static uint32_t rx_top(const struct tcp_conn *tc)
{
	uint32_t top = tcp_rcv_data_nxt(tc);

	if (tc->ooo_n && pos_lt(top, tc->ooo[tc->ooo_n - 1].end))
		top = tc->ooo[tc->ooo_n - 1].end;
	return top - rx_base(tc);
}

/* Open the flow's placement queue, once, if the NIC has them. */
static void pl_open(struct fp_core *c, struct flow *f)
{
	struct fp_zc *z = f->zc;
	const struct tcp_conn *tc = &f->tc;
	struct nic_steer rule = { .kind = NIC_STEER_FLOW,
				  .local_ip = tc->local_ip,
				  .remote_ip = tc->remote_ip,
				  .local_port = htons(tc->local_port),
				  .remote_port = htons(tc->remote_port) };
	int id;

	if (z->pl_tried || !c->pl_map || tc->state != TCP_ESTABLISHED)
		return;
	z->pl_tried = true;
	z->pl_hdr = ETH_HLEN + IPV4_HLEN + TCP_HLEN + (tc->ts_ok ? 12 : 0);
	z->pl_stride = c->sh->mtu + ETH_HLEN - z->pl_hdr;
	id = c->nic->ops->place_open(c->nic, c->queue, &rule, z->pl_hdr,
				     PL_DEPTH);
	if (id < 0 || id >= PL_IDS) {
		if (id >= 0)
			c->nic->ops->place_close(c->nic, id);
		return; /* placement by copy, as on packet and wire */
	}
	z->pl_id = id;
	c->pl_map[id] = (int32_t)flow_index(&c->ft, f) + 1;
	z->pl_est = rx_top(tc);
	z->pl_end = z->pl_est;
}

/* The unreported post that holds [pos, pos + len) whole, or NULL. */
static const struct zc_post *post_holding(const struct fp_zc *z, uint32_t pos,
					  uint32_t len)
{
	for (uint32_t i = 0; i < z->rx_n; i++) {
		const struct zc_post *q =
			&z->rx[(z->rx_head + i) % TAS_ZC_RX_MAX];

		if (q->r && !pos_lt(pos, q->pos) &&
		    !pos_lt(q->pos + q->len, pos + len))
			return q;
	}
	return NULL;
}

/*
 * Keep the placement queue stocked. A buffer goes into a post only where
 * no other posted buffer and no byte already received can be: at or after
 * pl_end and rx_top. Everything else (ring bytes, ACKs, positions the
 * estimate cannot place) gets a core buffer, whose frame is copied.
 */
static void pl_refill(struct fp_core *c, struct flow *f)
{
	struct fp_zc *z = f->zc;
	uint32_t top;

	if (z->pl_id < 0)
		return;
	top = rx_top(&f->tc);
	while (z->pl_n < PL_DEPTH) {
		const struct zc_post *q = NULL;
		struct zc_wqe w = { z->pl_est, PL_NONE };
		uint8_t *addr;
		uint32_t key;

		if (!pos_lt(w.pos, z->pl_end) && !pos_lt(w.pos, top))
			q = post_holding(z, w.pos, z->pl_stride);
		if (q) {
			addr = q->addr + (w.pos - q->pos);
			key = q->r->key;
		} else {
			if (!c->pl_nfree)
				break;
			w.buf = c->pl_free[--c->pl_nfree];
			addr = c->pl_buf + (size_t)w.buf * PL_BUF_SIZE;
			key = c->pl_buf_key;
		}
		if (c->nic->ops->place_post(c->nic, z->pl_id, addr,
					    z->pl_stride, key, w.pos)) {
			if (w.buf != PL_NONE)
				c->pl_free[c->pl_nfree++] = w.buf;
			break;
		}
		z->pl_q[(z->pl_head + z->pl_n++) % PL_DEPTH] = w;
		z->pl_est += z->pl_stride;
		if (q)
			z->pl_end = z->pl_est;
	}
}

/**
 * fp_zc_rx_safe - whether a segment's new bytes may be written where they
 * belong: not into a post slot the NIC may still fill
 */
bool fp_zc_rx_safe(const struct flow *f, const struct pkt *p)
{
	const struct fp_zc *z = f->zc;
	const struct tcp_conn *tc = &f->tc;
	uint32_t s, e, nxt, lo = 0;
	bool any = false;

	if (z->pl_id < 0 || !p->payload_len)
		return true;
	for (uint32_t i = 0; i < z->pl_n; i++) {
		const struct zc_wqe *w = &z->pl_q[(z->pl_head + i) % PL_DEPTH];

		if (w->buf == PL_NONE) {
			lo = w->pos;
			any = true;
			break;
		}
	}
	if (!any)
		return true;
	s = p->tcp.seq - rx_base(tc);
	e = s + p->payload_len;
	nxt = tcp_rcv_data_nxt(tc) - rx_base(tc);
	if (pos_lt(s, nxt))
		s = nxt; /* old bytes are never written again */
	/* outstanding slots lie in [lo, pl_end) */
	return !pos_lt(s, e) || !pos_lt(s, z->pl_end) || !pos_lt(lo, e);
}

/**
 * fp_zc_rx_placed - a frame from a placement queue: its buffer is done;
 * the segment goes through the normal path with its payload where the NIC
 * put it (in place when it is the expected one: no copy at all)
 */
void fp_zc_rx_placed(struct fp_core *c, const struct nic_rx *r, bool verify,
		     uint64_t now)
{
	int32_t fi = r->place_id >= 0 && r->place_id < PL_IDS && c->pl_map
			     ? c->pl_map[r->place_id]
			     : 0;
	struct flow *f = fi ? &c->ft.flows[fi - 1] : NULL;
	struct fp_zc *z = f ? f->zc : NULL;
	uint32_t buf = PL_NONE, hl = r->hdr_len;
	enum pkt_err err;
	struct pkt p;

	if (z && z->pl_n && z->pl_id == r->place_id) {
		struct zc_wqe *w = &z->pl_q[z->pl_head];

		if (w->pos == (uint32_t)r->place_cookie) {
			buf = w->buf;
			z->pl_head = (z->pl_head + 1) % PL_DEPTH;
			z->pl_n--;
		}
	}
	if (r->len > hl && pkt_parse_split(r->data, hl, r->payload, r->len - hl,
					   verify, &p) == PKT_OK) {
		err = PKT_OK;
	} else if (r->len > hl + PL_BUF_SIZE) {
		err = PKT_ERR_SHORT; /* more than any buffer holds */
	} else {
		/* other header length, or a short frame: join and copy */
		memcpy(c->pl_join, r->data, r->len < hl ? r->len : hl);
		if (r->len > hl)
			memcpy(c->pl_join + hl, r->payload, r->len - hl);
		err = pkt_parse(c->pl_join, r->len, verify, &p);
		if (err == PKT_OK && p.kind != PKT_KIND_TCP)
			err = PKT_ERR_IP_PROTO;
	}
	if (err == PKT_OK)
		fp_rx_tcp(c, &p, now);
	else
		fp_rx_bad(c, err);
	if (buf != PL_NONE)
		c->pl_free[c->pl_nfree++] = buf;
	if (f && f->used && f->zc == z && z && z->pl_id == r->place_id) {
		/* realign: the buffers still posted take the frames after
		 * this one, one each */
		uint32_t end = tcp_rcv_data_nxt(&f->tc) - rx_base(&f->tc);

		if (err == PKT_OK && p.payload_len &&
		    pos_lt(end, p.tcp.seq - rx_base(&f->tc) + p.payload_len))
			end = p.tcp.seq - rx_base(&f->tc) + p.payload_len;
		z->pl_est = end + z->pl_n * z->pl_stride;
		pl_refill(c, f);
	}
}

/**
 * fp_zc_core_init - per-core placement state, when the NIC can place
 */
int fp_zc_core_init(struct fp_core *c)
{
	if (!c->nic->ops->place_open)
		return 0;
	c->pl_map = calloc(PL_IDS, sizeof(*c->pl_map));
	c->pl_free = calloc(PL_BUFS, sizeof(*c->pl_free));
	c->pl_buf = aligned_alloc(4096, (size_t)PL_BUFS * PL_BUF_SIZE);
	c->pl_join = malloc(FP_FRAME_MAX + PL_BUF_SIZE);
	if (!c->pl_map || !c->pl_free || !c->pl_buf || !c->pl_join ||
	    nic_reg_mem(c->nic, c->pl_buf, (size_t)PL_BUFS * PL_BUF_SIZE,
			&c->pl_buf_key)) {
		fp_zc_core_fini(c);
		return 0; /* no placement: receive by copy */
	}
	for (uint32_t i = 0; i < PL_BUFS; i++)
		c->pl_free[i] = PL_BUFS - 1 - i;
	c->pl_nfree = PL_BUFS;
	return 0;
}

void fp_zc_core_fini(struct fp_core *c)
{
	free(c->bounce);
	free(c->bounce_tag);
	free(c->pl_map);
	free(c->pl_free);
	free(c->pl_buf);
	free(c->pl_join);
	c->pl_map = NULL;
	c->pl_free = NULL;
	c->pl_buf = NULL;
	c->pl_join = NULL;
}

/**
 * fp_zc_cmd - TAS_CMD_TX_ZC or TAS_CMD_RX_POST from an app
 *
 * Return: 0, or -EINVAL when the region, range or limits refuse it (the
 * caller counts it and resets the flow: the app's view of the stream
 * would no longer match ours).
 */
int fp_zc_cmd(struct fp_core *c, struct fp_ctx *x, struct flow *f, uint8_t type,
	      uint16_t region, uint32_t off, uint32_t len)
{
	struct fp_region *r;
	int ret;

	if (type == TAS_CMD_RX_AT) {
		struct fp_zc *z = zc_get(c, f);

		if (!z)
			return -EINVAL;
		z->post_at = len;
		z->post_at_ok = true;
		return 0;
	}
	r = fp_region_get(x->regions, region, off, len);
	if (!r)
		return -EINVAL;
	if (type == TAS_CMD_TX_ZC)
		ret = zc_tx(c, f, r, off, len);
	else
		ret = zc_post(c, f, r, off, len);
	if (ret) {
		fp_region_put(r);
		return ret;
	}
	if (type == TAS_CMD_TX_ZC) {
		f->zc->tx_bytes += len;
		stat_add(c, ST_ZC_TX_BYTES, len);
	}
	return 0;
}

/* ---- send: payload gather ---- */

/* Add one payload piece's checksum; @done bytes precede it in the segment
 * (an odd count swaps its byte lanes, RFC 1071). */
static uint32_t csum_piece(uint32_t sum, const void *p, uint32_t n,
			   uint32_t done)
{
	uint32_t s2;
	uint16_t f;

	if (!(done & 1))
		return csum_partial(p, n, sum);
	s2 = csum_partial(p, n, 0);
	f = (uint16_t)~csum_fold(s2);
	return sum + (uint16_t)((f << 8) | (f >> 8));
}

static uint8_t *bounce_slot(struct fp_core *c, uint64_t cookie)
{
	uint32_t i;

	if (!c->bounce) {
		c->bounce = malloc((size_t)BOUNCE_SLOTS * BOUNCE_SIZE);
		c->bounce_tag = calloc(BOUNCE_SLOTS, sizeof(*c->bounce_tag));
		if (!c->bounce || !c->bounce_tag) {
			free(c->bounce);
			free(c->bounce_tag);
			c->bounce = NULL;
			c->bounce_tag = NULL;
			return NULL;
		}
	}
	i = c->bounce_next % BOUNCE_SLOTS;
	if (c->bounce_tag[i] > c->tx_done)
		return NULL; /* the NIC may still read it */
	c->bounce_next++;
	c->bounce_tag[i] = cookie;
	return c->bounce + (size_t)i * BOUNCE_SIZE;
}

/**
 * fp_zc_payload - point @t at payload [pos, pos+len) of a zero-copy flow
 * @sum: checksum so far; the payload's is added (NULL: the NIC sums)
 *
 * Ring bytes and region bytes alternate as the app queued them. More
 * pieces than the NIC takes per frame are copied into a bounce buffer
 * (counted).
 *
 * Return: false if no bounce buffer is free (the frame is not sent; the
 * engine retransmits it like any lost segment).
 */
bool fp_zc_payload(struct fp_core *c, const struct flow *f,
		   const struct fp_ctx *x, uint32_t pos, uint32_t len,
		   struct nic_tx *t, uint32_t *sum)
{
	const struct tcp_conn *tc = &f->tc;
	const struct fp_zc *z = f->zc;
	struct nic_seg pc[ZC_PIECES];
	uint32_t n = 0, i = 0, done = 0;
	uint8_t *b;

	/* skip extents that end at or before pos */
	while (i < z->tx_n) {
		const struct zc_ext *e =
			&z->tx[(z->tx_head + i) % TAS_ZC_TX_MAX];

		if (pos_lt(pos, e->pos + e->len))
			break;
		i++;
	}
	while (len && n < ZC_PIECES) {
		const struct zc_ext *e =
			i < z->tx_n ? &z->tx[(z->tx_head + i) % TAS_ZC_TX_MAX]
				    : NULL;
		uint32_t k;

		if (e && !pos_lt(pos, e->pos)) {
			k = pos_min(len, e->pos + e->len - pos);
			pc[n++] = (struct nic_seg){ e->addr + (pos - e->pos), k,
						    e->r->key };
			i++;
		} else {
			uint32_t ro = pos & (tc->tx_size - 1);

			k = e ? e->pos - pos : len;
			k = k < len ? k : len;
			k = k < tc->tx_size - ro ? k : tc->tx_size - ro;
			pc[n++] = (struct nic_seg){ tc->tx_buf + ro, k,
						    x->mem_key };
		}
		pos += k;
		len -= k;
	}
	if (len) /* cannot happen: extents are bounded by TAS_ZC_TX_MAX */
		return false;
	if (n <= c->max_segs) {
		for (i = 0; i < n; i++) {
			t->seg[t->nseg++] = pc[i];
			if (sum)
				*sum = csum_piece(*sum, pc[i].addr, pc[i].len,
						  done);
			done += pc[i].len;
		}
		return true;
	}
	b = bounce_slot(c, t->cookie);
	if (!b)
		return false;
	for (i = 0; i < n; i++) {
		memcpy(b + done, pc[i].addr, pc[i].len);
		done += pc[i].len;
	}
	t->seg[t->nseg++] = (struct nic_seg){ b, done, 0 };
	if (sum)
		*sum = csum_partial(b, done, *sum);
	stat_add(c, ST_ZC_TX_BOUNCE, 1);
	return true;
}

/**
 * fp_zc_tx_release - drop the extents the app has been given back
 *
 * Called once released bytes (acknowledged, every frame up to then
 * completed) moved from tx_hold to the app's TX_FREED count.
 */
void fp_zc_tx_release(struct flow *f)
{
	struct fp_zc *z = f->zc;
	uint32_t safe = tcp_tx_head(&f->tc) - tx_base(&f->tc) - f->tx_hold;

	while (z->tx_n) {
		struct zc_ext *e = &z->tx[z->tx_head];

		if (pos_lt(safe, e->pos + e->len))
			break;
		fp_region_put(e->r);
		z->tx_head = (z->tx_head + 1) % TAS_ZC_TX_MAX;
		z->tx_n--;
	}
}

/* ---- receive: placement ---- */

/**
 * fp_zc_place - the engine's rx_place hook of flows with zero-copy state
 */
void fp_zc_place(struct tcp_conn *tc, uint32_t seq, const uint8_t *p,
		 uint32_t len)
{
	struct flow *f = container_of(tc, struct flow, tc);
	struct fp_zc *z = f->zc;
	uint32_t pos = seq - rx_base(tc);

	while (len) {
		const struct zc_post *q = NULL;
		uint32_t k = len;

		for (uint32_t i = 0; i < z->rx_n; i++) {
			const struct zc_post *o =
				&z->rx[(z->rx_head + i) % TAS_ZC_RX_MAX];

			if (!pos_lt(pos, o->pos + o->len))
				continue;
			if (pos_lt(pos, o->pos)) {
				k = pos_min(k, o->pos - pos);
				break;
			}
			q = o;
			k = pos_min(k, o->pos + o->len - pos);
			break;
		}
		if (q && q->r) {
			uint8_t *dst = q->addr + (pos - q->pos);

			if (dst == p) {
				z->rx_nocopy += k;
				stat_add(z->core, ST_ZC_RX_NOCOPY, k);
			} else {
				memmove(dst, p,
					k); /* may overlap: a shifted slot */
				z->rx_copy += k;
				stat_add(z->core, ST_ZC_RX_COPY, k);
			}
		} else {
			uint32_t off = pos & (tc->rx_size - 1);
			uint32_t first =
				tc->rx_size - off < k ? tc->rx_size - off : k;

			memcpy(tc->rx_buf + off, p, first);
			memcpy(tc->rx_buf, p + first, k - first);
		}
		pos += k;
		p += k;
		len -= k;
	}
}

/**
 * fp_zc_rx_credit - give back the window of placed bytes the app need not
 * free: those after every ring byte it has freed
 *
 * Return: true if the window opened (the flow has output to do).
 */
bool fp_zc_rx_credit(struct flow *f)
{
	struct fp_zc *z = f->zc;
	struct tcp_conn *tc = &f->tc;
	uint32_t read = tc->rx_read - rx_base(tc);
	uint32_t nxt = tcp_rcv_data_nxt(tc) - rx_base(tc);
	bool moved = false;

	for (uint32_t i = 0; i < z->rx_n; i++) {
		const struct zc_post *q =
			&z->rx[(z->rx_head + i) % TAS_ZC_RX_MAX];
		uint32_t end = q->pos + q->len, upto;

		if (pos_lt(read, q->pos))
			break; /* ring bytes before it are still the app's */
		if (!pos_lt(read, end))
			continue;
		upto = pos_min(nxt, end);
		if (pos_lt(read, upto)) {
			tcp_app_rx_done(tc, upto - read);
			read = upto;
			moved = true;
		}
		if (read != end)
			break;
	}
	/* reported posts the window has passed are done with */
	while (z->rx_n && !z->rx[z->rx_head].r &&
	       !pos_lt(read, z->rx[z->rx_head].pos + z->rx[z->rx_head].len)) {
		z->rx_head = (z->rx_head + 1) % TAS_ZC_RX_MAX;
		z->rx_n--;
	}
	return moved;
}

static struct zc_post *first_unreported(struct fp_zc *z)
{
	for (uint32_t i = 0; i < z->rx_n; i++) {
		struct zc_post *q = &z->rx[(z->rx_head + i) % TAS_ZC_RX_MAX];

		if (q->r)
			return q;
	}
	return NULL;
}

static bool report_placed(struct fp_core *c, struct flow *f, struct fp_ctx *x,
			  struct tas_ev *e, struct zc_post *q, uint32_t a)
{
	struct fp_zc *z = f->zc;

	e->type = TAS_EV_RX_PLACED;
	e->a = a;
	if (!fp_ev_post(c, x, e))
		return false;
	fp_region_put(q->r);
	q->r = NULL;
	z->rx_ev += a;
	f->ev_rx -= a;
	if (pos_lt(z->rx_ev, q->pos + q->len))
		q->len = pos_lt(q->pos, z->rx_ev) ? z->rx_ev - q->pos : 0;
	return true;
}

/**
 * fp_zc_deliver - announce a zero-copy flow's new in-order bytes: ring
 * bytes as TAS_EV_RX, full posted buffers as TAS_EV_RX_PLACED, in stream
 * order; with @ending (FIN or reset next), partly filled buffers too
 *
 * Return: false if the app's event ring filled (retried later).
 */
bool fp_zc_deliver(struct fp_core *c, struct flow *f, struct fp_ctx *x,
		   struct tas_ev *e, bool ending)
{
	struct fp_zc *z = f->zc;
	struct zc_post *q;

	if (ending)
		pl_close(c, z); /* posts end early: the NIC must stop first */
	while ((q = first_unreported(z)) != NULL || f->ev_rx) {
		uint32_t avail = f->ev_rx;

		/* at a post (part of it may have gone out as ring bytes
		 * before it was posted); or the stream ended before later
		 * posts start */
		if (q && (!pos_lt(z->rx_ev, q->pos) || (ending && !avail))) {
			uint32_t end = q->pos + q->len;
			uint32_t need =
				pos_lt(z->rx_ev, end) ? end - z->rx_ev : 0;

			if (pos_lt(z->rx_ev, q->pos))
				need = 0; /* nothing of it arrived */
			if (avail < need && !ending)
				break; /* not full yet */
			if (!report_placed(c, f, x, e, q,
					   avail < need ? avail : need))
				return false;
			continue;
		}
		if (!avail)
			break;
		if (q && q->pos - z->rx_ev < avail)
			avail = q->pos - z->rx_ev;
		e->type = TAS_EV_RX;
		e->a = avail;
		if (!fp_ev_post(c, x, e))
			return false;
		stat_add(c, ST_ZC_RX_RING, avail);
		z->rx_ev += avail;
		f->ev_rx -= avail;
	}
	if (fp_zc_rx_credit(f))
		fp_mark_dirty(c, f);
	return true;
}

/**
 * fp_zc_counters - a flow's zero-copy byte counters for tasctl
 */
void fp_zc_counters(const struct flow *f, uint64_t *tx, uint64_t *rx_nocopy,
		    uint64_t *rx_copy)
{
	const struct fp_zc *z = f->zc;

	*tx = z ? z->tx_bytes : 0;
	*rx_nocopy = z ? z->rx_nocopy : 0;
	*rx_copy = z ? z->rx_copy : 0;
}
