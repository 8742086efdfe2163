/* nic_link.c - "link": a bottleneck (switch egress queue) model, as a pure
 * queue and as a decorator around any nic
 *
 * Model: one FIFO served at rate=RATE (frame bytes as handed to the NIC,
 * no preamble, FCS or inter-frame gap), followed by delay=DUR of
 * propagation. An arriving packet that finds queue=PKTS packets queued or
 * on the wire is dropped (drop-tail); an ECT packet (RFC 3168 ECT(0) or
 * ECT(1)) that finds more than ecn=PKTS is marked CE, with the IPv4 header
 * checksum updated incrementally (RFC 1624 eqn. 3). This is the marking
 * rule of DCTCP (RFC 8257 §3.1: instantaneous queue, threshold K).
 *
 * Decorator: the modelled side (dir=tx, the default, or dir=rx) goes
 * through one link_queue shared by all NIC queues under a mutex, like the
 * single egress port it models; every other call passes through. Frames
 * are copied (TX into a pool registered with the inner nic, RX into
 * malloc'd buffers); TX cookies complete when tx_burst accepts a frame
 * (dropped ones too), in posting order, as in nic_fault.c. A frame is
 * handed on when it leaves the far end of the link, during the next
 * tx_burst/tx_completions (TX) or rx_burst (RX) of its queue; arm()
 * returns -EAGAIN while frames are held, so callers never sleep on them.
 * Time comes from CLOCK_MONOTONIC or from nic_link_set_clock().
 *
 * Known gaps: NIC_OFF_TSO is masked out of link_info (copies are at most
 * mtu + 14 bytes); when the TX copy pool runs out (a long delay at a high
 * rate with small frames) tx_burst pushes back instead of queueing;
 * release granularity is the caller's polling, so a frame can leave later
 * than modelled but never earlier; IPv6 frames are never marked.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "verbs/nic.h"
#include "verbs/nic_link.h"

#define LINK_COMP_CAP 4096u  /* caller cookies waiting per queue */
#define LINK_RX_OUT_MAX 256u /* frames one rx_burst hands out */
#define LINK_FLUSH_BATCH 32u /* frames per inner tx_burst */
#define LINK_BUFS_MIN 512u   /* copy buffers per queue, at least */
#define LINK_BUFS_MAX 32768u /* and at most */
#define LINK_AVG_FRAME 256u  /* sizing guess for the delay line */
#define LINK_QUEUE_DEFAULT 100u

/* ---- parsing ---- */

/**
 * nic_link_parse_rate - parse a rate such as "10gbit", "500mbit", "1.5gbit"
 * @v: number with unit bit, kbit, mbit, gbit or tbit (case-insensitive)
 * @bps: bits per second, > 0
 *
 * Return: true on success.
 */
bool nic_link_parse_rate(const char *v, uint64_t *bps)
{
	static const struct {
		const char *unit;
		double mul;
	} units[] = { { "bit", 1 },
		      { "kbit", 1e3 },
		      { "mbit", 1e6 },
		      { "gbit", 1e9 },
		      { "tbit", 1e12 } };
	char *end;
	double x;
	size_t i;

	if (!v || !isdigit((unsigned char)*v))
		return false;
	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || !isfinite(x) || x <= 0)
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit) == 0) {
			x *= units[i].mul;
			if (x < 1 || x > 1e15)
				return false;
			*bps = (uint64_t)(x + 0.5);
			return true;
		}
	}
	return false;
}

/**
 * nic_link_parse_dur - parse a duration such as "20us", "5ms", "1s", "0"
 * @v: integer with unit ns, us, ms or s ("0" needs none)
 * @ns: nanoseconds
 *
 * Return: true on success.
 */
bool nic_link_parse_dur(const char *v, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = { { "ns", 1 },
		      { "us", 1000 },
		      { "ms", 1000000 },
		      { "s", 1000000000 } };
	unsigned long long x;
	char *end;
	size_t i;

	if (!v || !isdigit((unsigned char)*v))
		return false;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno)
		return false;
	if (!*end && x == 0) {
		*ns = 0;
		return true;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			if (x > UINT64_MAX / units[i].ns / 2)
				return false;
			*ns = x * units[i].ns;
			return true;
		}
	}
	return false;
}

static bool link_parse_pkts(const char *v, uint32_t *out)
{
	unsigned long long x;
	char *end;

	if (!isdigit((unsigned char)*v))
		return false;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || x > LINK_QUEUE_MAX)
		return false;
	*out = (uint32_t)x;
	return true;
}

/**
 * nic_link_parse - parse a --link spec
 * @spec: "rate=RATE,delay=DUR,queue=PKTS,ecn=PKTS[,dir=tx|rx]"
 * @out: the parameters
 * @err: one line on failure (NIC_ERR_LEN bytes)
 *
 * Return: 0, or -EINVAL with @err filled.
 */
int nic_link_parse(const char *spec, struct link_params *out, char *err)
{
	char buf[NIC_ERR_LEN], *tok, *save = NULL;
	bool have_rate = false;

	memset(out, 0, sizeof(*out));
	out->limit = LINK_QUEUE_DEFAULT;
	out->ecn_k = LINK_ECN_OFF;
	if (!spec || !*spec) {
		snprintf(err, NIC_ERR_LEN,
			 "--link: empty spec (want rate=RATE[,delay=DUR,"
			 "queue=PKTS,ecn=PKTS,dir=tx|rx])");
		return -EINVAL;
	}
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, NIC_ERR_LEN, "--link: spec too long (max %zu)",
			 sizeof(buf) - 1);
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *k = tok, *v, *want;
		bool ok;

		if (!eq) {
			snprintf(err, NIC_ERR_LEN,
				 "--link: bad token \"%.64s\" (want key=value)",
				 tok);
			return -EINVAL;
		}
		*eq = '\0';
		v = eq + 1;
		if (!strcmp(k, "rate")) {
			ok = nic_link_parse_rate(v, &out->rate_bps);
			have_rate = ok;
			want = "a rate such as 10gbit or 500mbit";
		} else if (!strcmp(k, "delay")) {
			ok = nic_link_parse_dur(v, &out->delay_ns);
			want = "a duration such as 20us, 5ms or 0";
		} else if (!strcmp(k, "queue")) {
			ok = link_parse_pkts(v, &out->limit) && out->limit >= 1;
			want = "packets, 1..1000000";
		} else if (!strcmp(k, "ecn")) {
			ok = link_parse_pkts(v, &out->ecn_k);
			want = "packets, 0..1000000";
		} else if (!strcmp(k, "dir")) {
			ok = !strcmp(v, "tx") || !strcmp(v, "rx");
			out->dir_rx = !strcmp(v, "rx");
			want = "tx or rx";
		} else {
			*eq = '=';
			snprintf(err, NIC_ERR_LEN,
				 "--link: unknown key \"%.64s\" (want rate, "
				 "delay, queue, ecn or dir)",
				 tok);
			return -EINVAL;
		}
		if (!ok) {
			*eq = '=';
			snprintf(err, NIC_ERR_LEN,
				 "--link: bad value \"%.64s\" (want %s)", tok,
				 want);
			return -EINVAL;
		}
	}
	if (!have_rate) {
		snprintf(err, NIC_ERR_LEN,
			 "--link: rate=RATE is required (e.g. rate=1gbit)");
		return -EINVAL;
	}
	if (out->ecn_k != LINK_ECN_OFF && out->ecn_k >= out->limit) {
		snprintf(err, NIC_ERR_LEN,
			 "--link: ecn=%u must be below queue=%u", out->ecn_k,
			 out->limit);
		return -EINVAL;
	}
	return 0;
}

/* ---- the pure queue ---- */

/**
 * link_queue_init - set up an empty queue
 * @q: the queue
 * @p: its parameters (rate_bps > 0, limit in [1, LINK_QUEUE_MAX])
 *
 * Return: 0, -EINVAL for bad parameters or -ENOMEM.
 */
int link_queue_init(struct link_queue *q, const struct link_params *p)
{
	memset(q, 0, sizeof(*q));
	if (!p->rate_bps || !p->limit || p->limit > LINK_QUEUE_MAX)
		return -EINVAL;
	q->p = *p;
	q->dep = calloc(p->limit, sizeof(*q->dep));
	q->hist = calloc((size_t)p->limit + 1, sizeof(*q->hist));
	if (!q->dep || !q->hist) {
		link_queue_fini(q);
		return -ENOMEM;
	}
	return 0;
}

/**
 * link_queue_fini - free what link_queue_init allocated
 * @q: the queue (may be zeroed)
 */
void link_queue_fini(struct link_queue *q)
{
	free(q->dep);
	free(q->hist);
	q->dep = NULL;
	q->hist = NULL;
}

/**
 * link_queue_occupancy - packets queued or on the wire at @now
 * @q: the queue
 * @now: time in ns, not before the last enqueue
 *
 * Return: the occupancy.
 */
uint32_t link_queue_occupancy(struct link_queue *q, uint64_t now)
{
	while (q->count && q->dep[q->head] <= now) {
		q->head = q->head + 1 == q->p.limit ? 0 : q->head + 1;
		q->count--;
	}
	return q->count;
}

/**
 * link_queue_enqueue - one packet arrives at the queue
 * @q: the queue
 * @now: arrival time in ns; calls must not go back in time
 * @len: bytes serialized for the packet
 * @ect: the packet is ECN-capable (ECT(0) or ECT(1))
 * @deliver: unless dropped, the time the packet leaves the far end of the
 *           link (departure after serialization plus the delay)
 *
 * Return: LINK_PASS, LINK_MARK (only when @ect) or LINK_DROP.
 */
enum link_verdict link_queue_enqueue(struct link_queue *q, uint64_t now,
				     uint32_t len, bool ect, uint64_t *deliver)
{
	uint32_t occ = link_queue_occupancy(q, now);
	enum link_verdict v = LINK_PASS;
	uint64_t bits_ns, start;
	uint32_t tail;

	q->hist[occ]++;
	if (occ > q->st.max_occupancy)
		q->st.max_occupancy = occ;
	if (occ >= q->p.limit) {
		q->st.dropped++;
		return LINK_DROP;
	}
	if (ect && q->p.ecn_k != LINK_ECN_OFF && occ > q->p.ecn_k) {
		q->st.marked++;
		v = LINK_MARK;
	}
	/* serialization in ns, the remainder carried so that the long-run
	 * rate is exact */
	bits_ns = (uint64_t)len * 8 * 1000000000ull + q->rem;
	start = q->busy_until > now ? q->busy_until : now;
	q->busy_until = start + bits_ns / q->p.rate_bps;
	q->rem = bits_ns % q->p.rate_bps;
	tail = (q->head + q->count) % q->p.limit;
	q->dep[tail] = q->busy_until;
	q->count++;
	q->st.enqueued++;
	q->st.bytes += len;
	*deliver = q->busy_until + q->p.delay_ns;
	return v;
}

/**
 * link_queue_stats - read the counters, p99 of occupancy computed
 * @q: the queue
 * @out: the counters
 */
void link_queue_stats(const struct link_queue *q, struct link_queue_stats *out)
{
	uint64_t total = 0, acc = 0;
	uint32_t i;

	*out = q->st;
	out->p99_occupancy = 0;
	for (i = 0; i <= q->p.limit; i++)
		total += q->hist[i];
	for (i = 0; i <= q->p.limit && total; i++) {
		acc += q->hist[i];
		if (acc * 100 >= total * 99) {
			out->p99_occupancy = i;
			break;
		}
	}
}

/**
 * link_queue_stats_reset - zero the counters and the occupancy histogram
 * @q: the queue; its packets stay queued
 */
void link_queue_stats_reset(struct link_queue *q)
{
	memset(&q->st, 0, sizeof(q->st));
	memset(q->hist, 0, ((size_t)q->p.limit + 1) * sizeof(*q->hist));
}

/* ---- frames ---- */

/* Offset of the IPv4 header, or 0 when the frame is not a whole IPv4
 * header behind Ethernet (and an optional 802.1Q tag). */
static uint32_t link_ip_off(const uint8_t *f, uint32_t len)
{
	uint32_t off = 14;
	uint16_t type;

	if (len < 14)
		return 0;
	type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == 0x8100) {
		if (len < 18)
			return 0;
		type = (uint16_t)(f[16] << 8 | f[17]);
		off = 18;
	}
	if (type != 0x0800 || len < off + 20 || (f[off] >> 4) != 4 ||
	    (f[off] & 0x0f) < 5 || len < off + (uint32_t)(f[off] & 0x0f) * 4)
		return 0;
	return off;
}

/**
 * link_frame_is_ect - whether a frame is IPv4 with ECT(0) or ECT(1)
 * @frame: the frame
 * @len: its length
 *
 * Return: true for ECT.
 */
bool link_frame_is_ect(const uint8_t *frame, uint32_t len)
{
	uint32_t off = link_ip_off(frame, len);
	uint8_t ecn;

	if (!off)
		return false;
	ecn = frame[off + 1] & 0x03;
	return ecn == 0x01 || ecn == 0x02;
}

/**
 * link_frame_mark_ce - set IP ECN to CE in an Ethernet/IPv4 frame
 * @frame: the frame (Ethernet, optional 802.1Q tag, IPv4)
 * @len: its length
 *
 * Return: true when the frame was ECT and is now CE.
 */
bool link_frame_mark_ce(uint8_t *frame, uint32_t len)
{
	uint32_t off = link_ip_off(frame, len), sum;
	uint16_t old, new_, csum;
	uint8_t *ip = frame + off;

	if (!link_frame_is_ect(frame, len))
		return false;
	old = (uint16_t)(ip[0] << 8 | ip[1]);
	ip[1] |= 0x03;
	new_ = (uint16_t)(ip[0] << 8 | ip[1]);
	csum = (uint16_t)(ip[10] << 8 | ip[11]);
	/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') */
	sum = (uint16_t)~csum;
	sum += (uint16_t)~old;
	sum += new_;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	csum = (uint16_t)~sum;
	ip[10] = (uint8_t)(csum >> 8);
	ip[11] = (uint8_t)csum;
	return true;
}

/* ---- the decorator ---- */

/* A frame held by the wrapper: a pool buffer (TX) or malloc'd (RX). */
struct link_frame {
	uint8_t *buf;
	uint32_t len;
	int32_t idx; /* TX pool index, -1 for malloc'd */
	uint64_t due;
	uint16_t gso_size; /* RX */
	uint8_t csum;	   /* RX */
	uint16_t flags;	   /* TX */
	uint16_t mss;	   /* TX */
};

/* Per NIC queue; used only by that queue's thread (counters are read by
 * the control thread without locks, as in nic_fault.c). */
struct link_pq {
	struct link_frame *pend; /* the delay line, due times ascending */
	uint32_t pend_head, pend_tail;
	uint8_t *handed[LINK_RX_OUT_MAX];
	unsigned nhanded;
	uint8_t *pool;
	uint32_t pool_key;
	bool pool_reg;
	uint32_t *free_idx;
	unsigned nfree;
	uint64_t comp[LINK_COMP_CAP];
	uint32_t comp_head, comp_tail;
	uint64_t delivered, nobuf;
};

struct link_nic {
	struct nic nic;
	struct nic *inner;
	struct link_params p;
	pthread_mutex_t lock; /* serializes lq across NIC queues */
	struct link_queue lq;
	nic_link_clock_fn clock;
	void *clock_arg;
	unsigned nqueues;
	uint32_t buf_size, nbufs;
	char name[NIC_ERR_LEN];
	struct link_pq *q;
};

static const struct nic_ops link_ops;

static struct link_nic *to_link(struct nic *nic)
{
	return container_of(nic, struct link_nic, nic);
}

static uint64_t link_now(struct link_nic *ln)
{
	struct timespec ts;

	if (ln->clock)
		return ln->clock(ln->clock_arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t link_pend_count(const struct link_pq *pq)
{
	return pq->pend_head - pq->pend_tail;
}

static void link_frame_free(struct link_pq *pq, struct link_frame *f)
{
	if (f->idx >= 0)
		pq->free_idx[pq->nfree++] = (uint32_t)f->idx;
	else
		free(f->buf);
	f->buf = NULL;
}

/* Runs one owned frame through the shared queue; keeps it or frees it. */
static void link_admit(struct link_nic *ln, struct link_pq *pq,
		       struct link_frame *f, uint64_t now)
{
	enum link_verdict v;
	uint64_t deliver = 0;

	pthread_mutex_lock(&ln->lock);
	v = link_queue_enqueue(&ln->lq, now, f->len,
			       link_frame_is_ect(f->buf, f->len), &deliver);
	pthread_mutex_unlock(&ln->lock);
	if (v == LINK_DROP) {
		link_frame_free(pq, f);
		return;
	}
	if (v == LINK_MARK)
		link_frame_mark_ce(f->buf, f->len);
	f->due = deliver;
	pq->pend[pq->pend_head++ % ln->nbufs] = *f;
}

static unsigned link_rx_burst(struct nic *nic, unsigned q, struct nic_rx *rx,
			      unsigned n)
{
	struct link_nic *ln = to_link(nic);
	struct link_pq *pq = &ln->q[q];
	struct nic_rx in[LINK_RX_OUT_MAX];
	unsigned i, k, room, out = 0;
	uint64_t now;

	if (!ln->p.dir_rx)
		return nic_rx_burst(ln->inner, q, rx, n);
	for (i = 0; i < pq->nhanded; i++)
		free(pq->handed[i]);
	pq->nhanded = 0;
	if (n > LINK_RX_OUT_MAX)
		n = LINK_RX_OUT_MAX;
	room = ln->nbufs - link_pend_count(pq);
	if (room > n)
		room = n;
	k = room ? nic_rx_burst(ln->inner, q, in, room) : 0;
	now = link_now(ln);
	for (i = 0; i < k; i++) {
		struct link_frame f = { .len = in[i].len,
					.idx = -1,
					.gso_size = in[i].gso_size,
					.csum = in[i].csum };

		f.buf = malloc(f.len ? f.len : 1);
		if (!f.buf) {
			pq->nobuf++;
			continue;
		}
		memcpy(f.buf, in[i].data, f.len);
		link_admit(ln, pq, &f, now);
	}
	while (out < n && link_pend_count(pq)) {
		struct link_frame *f = &pq->pend[pq->pend_tail % ln->nbufs];

		if (f->due > now)
			break;
		rx[out] = (struct nic_rx){ .data = f->buf,
					   .len = f->len,
					   .gso_size = f->gso_size,
					   .csum = f->csum,
					   .place_id = -1 };
		pq->handed[pq->nhanded++] = f->buf;
		pq->pend_tail++;
		pq->delivered++;
		out++;
	}
	return out;
}

static void link_tx_reap(struct link_nic *ln, struct link_pq *pq, unsigned q)
{
	uint64_t c[64];
	unsigned k, i;

	do {
		k = nic_tx_completions(ln->inner, q, c, 64);
		for (i = 0; i < k; i++) {
			if (c[i] < ln->nbufs)
				pq->free_idx[pq->nfree++] = (uint32_t)c[i];
		}
	} while (k == 64);
}

/* Hands due frames to the inner nic, in order, until it pushes back. */
static void link_tx_flush(struct link_nic *ln, struct link_pq *pq, unsigned q,
			  uint64_t now)
{
	struct nic_tx t[LINK_FLUSH_BATCH];
	unsigned m, acc;

	for (;;) {
		for (m = 0; m < LINK_FLUSH_BATCH && m < link_pend_count(pq);
		     m++) {
			struct link_frame *f =
				&pq->pend[(pq->pend_tail + m) % ln->nbufs];
			uint16_t hl = f->len > NIC_HDR_MAX ? NIC_HDR_MAX
							   : (uint16_t)f->len;

			if (f->due > now)
				break;
			memset(&t[m], 0, sizeof(t[m]));
			t[m].hdr = f->buf;
			t[m].hdr_len = hl;
			t[m].flags = f->flags;
			t[m].mss = f->mss;
			t[m].cookie = (uint64_t)f->idx;
			if (f->len > hl) {
				t[m].nseg = 1;
				t[m].seg[0].addr = f->buf + hl;
				t[m].seg[0].len = f->len - hl;
				t[m].seg[0].key = pq->pool_key;
			}
		}
		if (!m)
			return;
		acc = nic_tx_burst(ln->inner, q, t, m);
		pq->pend_tail += acc;
		pq->delivered += acc;
		if (acc < m)
			return;
	}
}

static unsigned link_tx_burst(struct nic *nic, unsigned q,
			      const struct nic_tx *tx, unsigned n)
{
	struct link_nic *ln = to_link(nic);
	struct link_pq *pq = &ln->q[q];
	uint64_t now;
	unsigned i, j;

	if (ln->p.dir_rx)
		return nic_tx_burst(ln->inner, q, tx, n);
	link_tx_reap(ln, pq, q);
	now = link_now(ln);
	for (i = 0; i < n; i++) {
		const struct nic_tx *t = &tx[i];
		struct link_frame f = { .idx = -1 };
		size_t total = t->hdr_len;
		uint8_t *p;

		if (!pq->nfree || link_pend_count(pq) == ln->nbufs ||
		    pq->comp_head - pq->comp_tail == LINK_COMP_CAP) {
			pq->nobuf++;
			break;
		}
		if (t->nseg > NIC_TX_MAX_SEG || t->hdr_len > NIC_HDR_MAX)
			total = SIZE_MAX;
		else
			for (j = 0; j < t->nseg; j++)
				total += t->seg[j].len;
		pq->comp[pq->comp_head++ % LINK_COMP_CAP] = t->cookie;
		if (total > ln->buf_size) {
			pq->nobuf++; /* cannot copy it: discarded, counted */
			continue;
		}
		f.idx = (int32_t)pq->free_idx[--pq->nfree];
		f.buf = pq->pool + (size_t)f.idx * ln->buf_size;
		f.len = (uint32_t)total;
		f.flags = t->flags;
		f.mss = t->mss;
		p = f.buf;
		memcpy(p, t->hdr, t->hdr_len);
		p += t->hdr_len;
		for (j = 0; j < t->nseg; j++) {
			memcpy(p, t->seg[j].addr, t->seg[j].len);
			p += t->seg[j].len;
		}
		link_admit(ln, pq, &f, now);
	}
	link_tx_flush(ln, pq, q, now);
	return i;
}

static unsigned link_tx_completions(struct nic *nic, unsigned q,
				    uint64_t *cookies, unsigned n)
{
	struct link_nic *ln = to_link(nic);
	struct link_pq *pq = &ln->q[q];
	unsigned k = 0;

	if (ln->p.dir_rx)
		return nic_tx_completions(ln->inner, q, cookies, n);
	link_tx_reap(ln, pq, q);
	link_tx_flush(ln, pq, q, link_now(ln));
	while (k < n && pq->comp_tail != pq->comp_head)
		cookies[k++] = pq->comp[pq->comp_tail++ % LINK_COMP_CAP];
	return k;
}

static int link_reg_mem(struct nic *nic, void *addr, size_t len, uint32_t *key)
{
	return nic_reg_mem(to_link(nic)->inner, addr, len, key);
}

static int link_dereg_mem(struct nic *nic, uint32_t key)
{
	return nic_dereg_mem(to_link(nic)->inner, key);
}

static int link_add_steer(struct nic *nic, const struct nic_steer *rule)
{
	return nic_add_steer(to_link(nic)->inner, rule);
}

static void link_link_info(struct nic *nic, struct nic_link_info *info)
{
	nic_link_info(to_link(nic)->inner, info);
	info->offloads &= ~(uint32_t)NIC_OFF_TSO;
	info->max_tso = 0;
	info->max_segs = NIC_TX_MAX_SEG;
}

static int link_rx_dropped(struct nic *nic, uint64_t *n)
{
	return nic_rx_dropped(to_link(nic)->inner, n) ? 0 : -ENOTSUP;
}

static int link_arm(struct nic *nic, unsigned q)
{
	struct link_nic *ln = to_link(nic);

	if (link_pend_count(&ln->q[q]))
		return -EAGAIN;
	return nic_arm(ln->inner, q);
}

static int link_fd(struct nic *nic, unsigned q)
{
	return nic_fd(to_link(nic)->inner, q);
}

/* The link never moves a frame to another queue: steering is the inner's. */
static unsigned link_flow_queue(struct nic *nic, uint32_t local_ip,
				uint16_t local_port, uint32_t remote_ip,
				uint16_t remote_port)
{
	return nic_flow_queue(to_link(nic)->inner, local_ip, local_port,
			      remote_ip, remote_port);
}

static void link_free(struct link_nic *ln)
{
	unsigned q, i;

	for (q = 0; q < ln->nqueues && ln->q; q++) {
		struct link_pq *pq = &ln->q[q];

		for (i = 0; i < pq->nhanded; i++)
			free(pq->handed[i]);
		while (pq->pend && link_pend_count(pq)) {
			struct link_frame *f =
				&pq->pend[pq->pend_tail++ % ln->nbufs];

			if (f->idx < 0)
				free(f->buf);
		}
		if (pq->pool_reg)
			nic_dereg_mem(ln->inner, pq->pool_key);
		free(pq->pool);
		free(pq->free_idx);
		free(pq->pend);
	}
	free(ln->q);
	link_queue_fini(&ln->lq);
	pthread_mutex_destroy(&ln->lock);
	free(ln);
}

static void link_close(struct nic *nic)
{
	struct link_nic *ln = to_link(nic);
	struct nic *inner = ln->inner;

	link_free(ln); /* deregisters pools from inner first */
	nic_close(inner);
}

static const struct nic_ops link_ops = {
	.rx_burst = link_rx_burst,
	.tx_burst = link_tx_burst,
	.tx_completions = link_tx_completions,
	.reg_mem = link_reg_mem,
	.dereg_mem = link_dereg_mem,
	.add_steer = link_add_steer,
	.link_info = link_link_info,
	.arm = link_arm,
	.fd = link_fd,
	.flow_queue = link_flow_queue,
	.place_open = NULL, /* no receive placement */
	.place_post = NULL,
	.place_close = NULL,
	.rx_dropped = link_rx_dropped,
	.close = link_close,
};

/* Copy buffers per queue: the queue, the delay line at an average frame
 * size, and slack for the inner ring; bounded. */
static uint32_t link_nbufs(const struct link_params *p)
{
	double line = (double)p->rate_bps / 8 * ((double)p->delay_ns / 1e9) /
		      LINK_AVG_FRAME;
	double n = (double)p->limit + line + LINK_BUFS_MIN;

	return n > LINK_BUFS_MAX ? LINK_BUFS_MAX : (uint32_t)n;
}

/**
 * nic_link_wrap - wrap @inner in a bottleneck link model
 * @inner: any open nic; owned by the result on success
 * @spec: see nic_link_parse
 * @err: one line on failure (NIC_ERR_LEN bytes)
 *
 * Return: the wrapper, or NULL with errno set (EINVAL for a bad spec) and
 * @inner left open.
 */
struct nic *nic_link_wrap(struct nic *inner, const char *spec, char *err)
{
	struct nic_link_info li;
	struct link_nic *ln;
	unsigned q, i;
	int rc;

	ln = calloc(1, sizeof(*ln));
	if (!ln) {
		snprintf(err, NIC_ERR_LEN, "--link: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&ln->lock, NULL);
	ln->inner = inner;
	rc = nic_link_parse(spec, &ln->p, err);
	if (rc < 0)
		goto err_free;
	rc = link_queue_init(&ln->lq, &ln->p);
	if (rc < 0)
		goto err_nomem;
	nic_link_info(inner, &li);
	ln->nqueues = li.nqueues ? li.nqueues : 1;
	ln->buf_size = ((uint32_t)li.mtu + 14 + 63) & ~63u;
	ln->nbufs = link_nbufs(&ln->p);
	ln->q = calloc(ln->nqueues, sizeof(*ln->q));
	if (!ln->q)
		goto err_nomem;
	for (q = 0; q < ln->nqueues; q++) {
		struct link_pq *pq = &ln->q[q];
		size_t len = (size_t)ln->nbufs * ln->buf_size;

		pq->pend = calloc(ln->nbufs, sizeof(*pq->pend));
		if (!pq->pend)
			goto err_nomem;
		if (ln->p.dir_rx)
			continue;
		pq->pool = malloc(len);
		pq->free_idx = calloc(ln->nbufs, sizeof(*pq->free_idx));
		if (!pq->pool || !pq->free_idx)
			goto err_nomem;
		if (nic_reg_mem(inner, pq->pool, len, &pq->pool_key) == 0)
			pq->pool_reg = true;
		else
			pq->pool_key = 0;
		for (i = 0; i < ln->nbufs; i++)
			pq->free_idx[i] = ln->nbufs - 1 - i;
		pq->nfree = ln->nbufs;
	}
	snprintf(ln->name, sizeof(ln->name), "%s+link",
		 inner->name ? inner->name : "nic");
	ln->nic.ops = &link_ops;
	ln->nic.name = ln->name;
	return &ln->nic;
err_nomem:
	snprintf(err, NIC_ERR_LEN, "--link: out of memory");
	rc = -ENOMEM;
err_free:
	link_free(ln);
	errno = -rc;
	return NULL;
}

/**
 * nic_link_set_clock - replace CLOCK_MONOTONIC, for deterministic tests
 * @nic: a nic returned by nic_link_wrap()
 * @fn: returns the time in ns; NULL restores CLOCK_MONOTONIC
 * @arg: passed to @fn
 *
 * Return: 0, or -EINVAL when @nic is not a link wrapper.
 */
int nic_link_set_clock(struct nic *nic, nic_link_clock_fn fn, void *arg)
{
	struct link_nic *ln;

	if (!nic || nic->ops != &link_ops)
		return -EINVAL;
	ln = to_link(nic);
	ln->clock = fn;
	ln->clock_arg = arg;
	return 0;
}

/**
 * nic_link_stats - read the counters of a link wrapper
 * @nic: a nic returned by nic_link_wrap()
 * @out: the counters
 *
 * Return: 0, or -EINVAL when @nic is not a link wrapper.
 */
int nic_link_stats(struct nic *nic, struct nic_link_stats *out)
{
	struct link_queue_stats s;
	struct link_nic *ln;
	unsigned q;

	if (!nic || nic->ops != &link_ops || !out)
		return -EINVAL;
	ln = to_link(nic);
	pthread_mutex_lock(&ln->lock);
	link_queue_stats(&ln->lq, &s);
	pthread_mutex_unlock(&ln->lock);
	memset(out, 0, sizeof(*out));
	out->enqueued = s.enqueued;
	out->dropped = s.dropped;
	out->marked = s.marked;
	out->bytes = s.bytes;
	out->max_occupancy = s.max_occupancy;
	out->p99_occupancy = s.p99_occupancy;
	for (q = 0; q < ln->nqueues; q++) {
		out->delivered += ln->q[q].delivered;
		out->nobuf += ln->q[q].nobuf;
	}
	return 0;
}
