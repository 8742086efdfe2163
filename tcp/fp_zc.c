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
 * Receive: TAS_CMD_RX_POST covers the next stream bytes not yet received
 * (after everything already in the ring, in or out of order, and after
 * earlier posts). The engine hands every new piece of payload to
 * zc_place, which copies it from the frame straight into the posted
 * buffer, or into the ring outside posted ranges: one copy either way. A
 * payload pointer that already equals its destination (a NIC that
 * scattered the payload into the buffer) is counted as placed without a
 * copy. Events go out in stream order: TAS_EV_RX for ring bytes,
 * TAS_EV_RX_PLACED when a buffer is full (or the stream ended). Placed
 * bytes give their receive-window space back by themselves as soon as the
 * app has freed every ring byte before them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/csum.h"
#include "tcp/fp_int.h"
#include "tcp/tcp_int.h"

#define BOUNCE_SLOTS 256
#define BOUNCE_SIZE 2048
#define ZC_PIECES (2 * TAS_ZC_TX_MAX + 4)

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

struct fp_zc {
	struct fp_core *core;
	struct zc_ext tx[TAS_ZC_TX_MAX]; /* FIFO in stream order */
	uint32_t tx_head, tx_n;
	struct zc_post rx[TAS_ZC_RX_MAX]; /* FIFO in stream order */
	uint32_t rx_head, rx_n;
	uint32_t rx_ev; /* stream offset announced to the app */
	uint64_t tx_bytes, rx_nocopy, rx_copy; /* for tasctl conns */
};

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
void fp_zc_drop(struct flow *f)
{
	struct fp_zc *z = f->zc;

	if (!z)
		return;
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

static int zc_post(struct fp_core *c, struct flow *f, struct fp_region *r,
		   uint32_t off, uint32_t len)
{
	struct fp_zc *z = zc_get(c, f);
	struct tcp_conn *tc = &f->tc;
	uint32_t pos;

	if (!z || z->rx_n == TAS_ZC_RX_MAX)
		return -EINVAL;
	if (z->rx_n) {
		const struct zc_post *p =
			&z->rx[(z->rx_head + z->rx_n - 1) % TAS_ZC_RX_MAX];

		pos = p->pos + p->len;
	} else {
		/* after every byte already received, in order or not */
		uint32_t top = tcp_rcv_data_nxt(tc);

		if (tc->ooo_n)
			top = pos_lt(top, tc->ooo[tc->ooo_n - 1].end)
				      ? tc->ooo[tc->ooo_n - 1].end
				      : top;
		pos = top - rx_base(tc);
	}
	z->rx[(z->rx_head + z->rx_n++) % TAS_ZC_RX_MAX] =
		(struct zc_post){ pos, len, r->base + off, r };
	return 0;
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
	struct fp_region *r = fp_region_get(x->regions, region, off, len);
	int ret;

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
 * @sum: checksum so far; the payload's is added
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
			*sum = csum_piece(*sum, pc[i].addr, pc[i].len, done);
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
				memcpy(dst, p, k);
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
	if (a < q->len)
		q->len = a; /* the stream ended inside it */
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

	while ((q = first_unreported(z)) != NULL || f->ev_rx) {
		uint32_t avail = f->ev_rx;

		/* at a post; or the stream ended before later posts start */
		if (q && (!pos_lt(z->rx_ev, q->pos) || (ending && !avail))) {
			if (avail < q->len && !ending)
				break; /* not full yet */
			if (!report_placed(c, f, x, e, q,
					   avail < q->len ? avail : q->len))
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
