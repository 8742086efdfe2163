/* nic_fault.c - "fault": a seeded fault injector wrapped around any nic
 *
 * Per direction (rx, tx) and frame, in this fixed order: drop, truncate,
 * corrupt (one bit), reorder (held back, sent after the next frame), dup
 * (a second copy right behind), then delay (every frame of the direction
 * waits DUR on CLOCK_MONOTONIC; order is kept). Decisions come from one
 * xorshift64* PRNG per direction and queue, seeded from seed=S; a draw is
 * made only for faults with a non-zero rate, so the same spec, seed and
 * frame sequence replays exactly (delay aside, which depends on the clock).
 *
 * Every frame is copied: RX frames into malloc'd buffers (valid until the
 * next rx_burst, like any backend), TX frames into a per-queue buffer pool
 * registered with the inner nic. The caller's TX cookies therefore complete
 * as soon as tx_burst accepts a frame (dropped ones too), in posting order.
 *
 * A reordered frame with no frame behind it is released after
 * FAULT_REORDER_IDLE calls that see no new frame (rx_burst for RX,
 * tx_completions for TX), so a lone frame is late rather than lost. arm()
 * returns -EAGAIN while frames are held, so callers never sleep on them.
 *
 * Known gaps: NIC_OFF_TSO is masked out of link_info (TX copies are at most
 * mtu + 14 bytes); frames are always copied, so it is a test tool, not a
 * fast path.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verbs/nic.h"
#include "verbs/nic_fault.h"

#define FAULT_PEND_CAP 4096u  /* frames queued per direction and queue */
#define FAULT_TX_BUFS 2048u   /* TX pool buffers per queue */
#define FAULT_COMP_CAP 4096u  /* caller cookies waiting per queue */
#define FAULT_RX_OUT_MAX 256u /* frames one rx_burst hands out */
#define FAULT_REORDER_IDLE 8u /* idle calls before a held frame goes */
#define FAULT_FLUSH_BATCH 32u

enum { FAULT_RX = 0, FAULT_TX = 1 };

struct fault_cfg {
	double p_drop, p_dup, p_reorder, p_corrupt, p_truncate;
	uint64_t delay_ns;
	uint64_t seed;
	bool dir[2]; /* [FAULT_RX], [FAULT_TX] */
};

/* A frame owned by the injector: malloc'd (RX) or a pool buffer (TX). */
struct fault_frame {
	uint8_t *buf;
	uint32_t len;
	int32_t idx; /* TX pool index, -1 for malloc'd */
	uint64_t due;
	uint16_t gso_size; /* RX */
	uint8_t csum;	   /* RX */
	uint16_t flags;	   /* TX */
	uint16_t mss;	   /* TX */
};

/* One direction of one queue. Used only by the queue's thread. */
struct fault_dir {
	uint64_t rng;
	uint64_t delay_ns; /* cfg.delay_ns when faults apply to this dir */
	struct fault_frame pend[FAULT_PEND_CAP];
	uint32_t pend_head, pend_tail;
	struct fault_frame held;
	bool held_valid, held_dup;
	unsigned idle;
	struct nic_fault_dir_stats st;
};

struct fault_queue {
	struct fault_dir dir[2];
	/* RX: buffers handed out by the last rx_burst */
	uint8_t *handed[FAULT_RX_OUT_MAX];
	unsigned nhanded;
	/* TX: pool registered with the inner nic */
	uint8_t *pool;
	uint32_t pool_key;
	bool pool_reg;
	uint32_t free_idx[FAULT_TX_BUFS];
	unsigned nfree;
	uint64_t comp[FAULT_COMP_CAP];
	uint32_t comp_head, comp_tail;
};

struct fault_nic {
	struct nic nic;
	struct nic *inner;
	struct fault_cfg cfg;
	unsigned nqueues;
	uint32_t buf_size;
	char name[NIC_ERR_LEN];
	struct fault_queue *q;
};

static const struct nic_ops fault_ops;

static struct fault_nic *to_fault(struct nic *nic)
{
	return container_of(nic, struct fault_nic, nic);
}

/* splitmix64: spreads a seed over the state; never yields a zero state
 * in practice and makes nearby seeds unrelated */
static uint64_t fault_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* xorshift64* (Vigna): the decision stream */
static uint64_t fault_next(struct fault_dir *d)
{
	uint64_t x = d->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	d->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static bool fault_draw(struct fault_dir *d, double p)
{
	if (p <= 0.0)
		return false;
	return (double)(fault_next(d) >> 11) * 0x1.0p-53 < p;
}

static uint64_t fault_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned fault_pend_count(const struct fault_dir *d)
{
	return d->pend_head - d->pend_tail;
}

static void fault_frame_free(struct fault_queue *fq, struct fault_frame *f)
{
	if (f->idx >= 0)
		fq->free_idx[fq->nfree++] = (uint32_t)f->idx;
	else
		free(f->buf);
	f->buf = NULL;
}

/* A second copy of @f for dup; false when out of buffers. */
static bool fault_frame_clone(struct fault_nic *fn, struct fault_queue *fq,
			      const struct fault_frame *f,
			      struct fault_frame *out)
{
	*out = *f;
	if (f->idx >= 0) {
		if (!fq->nfree)
			return false;
		out->idx = (int32_t)fq->free_idx[--fq->nfree];
		out->buf = fq->pool + (size_t)out->idx * fn->buf_size;
	} else {
		out->buf = malloc(f->len ? f->len : 1);
		if (!out->buf)
			return false;
	}
	memcpy(out->buf, f->buf, f->len);
	return true;
}

static void fault_push(struct fault_nic *fn, struct fault_dir *d,
		       struct fault_frame *f, uint64_t now)
{
	(void)fn;
	f->due = 0;
	if (d->delay_ns) {
		f->due = now + d->delay_ns;
		d->st.delay++;
	}
	d->pend[d->pend_head++ % FAULT_PEND_CAP] = *f;
	d->st.out++;
}

static void fault_push_dup(struct fault_nic *fn, struct fault_queue *fq,
			   struct fault_dir *d, struct fault_frame *f, bool dup,
			   uint64_t now)
{
	struct fault_frame c;

	fault_push(fn, d, f, now);
	if (dup && fault_frame_clone(fn, fq, f, &c)) {
		d->st.dup++;
		fault_push(fn, d, &c, now);
	}
}

/* Runs the fault pipeline on one owned frame. Needs room for 4 frames in
 * d->pend and, for TX, 1 free pool buffer. */
static void fault_process(struct fault_nic *fn, struct fault_queue *fq,
			  struct fault_dir *d, struct fault_frame *f,
			  uint64_t now)
{
	const struct fault_cfg *c = &fn->cfg;
	bool dup;

	d->st.frames++;
	if (fault_draw(d, c->p_drop)) {
		d->st.drop++;
		fault_frame_free(fq, f);
		return;
	}
	if (fault_draw(d, c->p_truncate) && f->len > 1) {
		f->len = 1 + (uint32_t)(fault_next(d) % (f->len - 1));
		d->st.truncate++;
	}
	if (fault_draw(d, c->p_corrupt) && f->len > 0) {
		uint64_t bit = fault_next(d) % ((uint64_t)f->len * 8);

		f->buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		d->st.corrupt++;
		/* the sender's checksums were right (or trusted): a NIC
		 * checks them and sees the flipped bit */
		if (f->csum == NIC_CSUM_OK || f->csum == NIC_CSUM_PARTIAL)
			f->csum = NIC_CSUM_BAD;
	}
	if (fault_draw(d, c->p_reorder) && !d->held_valid) {
		d->held = *f;
		d->held_dup = fault_draw(d, c->p_dup);
		d->held_valid = true;
		d->idle = 0;
		d->st.reorder++;
		return;
	}
	dup = fault_draw(d, c->p_dup);
	fault_push_dup(fn, fq, d, f, dup, now);
	if (d->held_valid) {
		d->held_valid = false;
		fault_push_dup(fn, fq, d, &d->held, d->held_dup, now);
	}
}

/* Called when a burst saw no new frame: a held frame goes after a while. */
static void fault_idle(struct fault_nic *fn, struct fault_queue *fq,
		       struct fault_dir *d, uint64_t now)
{
	if (!d->held_valid || ++d->idle < FAULT_REORDER_IDLE)
		return;
	d->held_valid = false;
	fault_push_dup(fn, fq, d, &d->held, d->held_dup, now);
}

static unsigned fault_rx_burst(struct nic *nic, unsigned q, struct nic_rx *rx,
			       unsigned n)
{
	struct fault_nic *fn = to_fault(nic);
	struct fault_queue *fq = &fn->q[q];
	struct fault_dir *d = &fq->dir[FAULT_RX];
	struct nic_rx in[FAULT_RX_OUT_MAX];
	uint64_t now = fn->cfg.delay_ns ? fault_now_ns() : 0;
	unsigned i, k, room, out = 0;

	for (i = 0; i < fq->nhanded; i++)
		free(fq->handed[i]);
	fq->nhanded = 0;
	if (n > FAULT_RX_OUT_MAX)
		n = FAULT_RX_OUT_MAX;
	if (!fn->cfg.dir[FAULT_RX]) {
		/* pass-through, but keep anything still queued in order */
		if (!fault_pend_count(d) && !d->held_valid)
			return nic_rx_burst(fn->inner, q, rx, n);
	}
	room = (FAULT_PEND_CAP - fault_pend_count(d)) / 4;
	if (room > n)
		room = n;
	k = room ? nic_rx_burst(fn->inner, q, in, room) : 0;
	for (i = 0; i < k; i++) {
		struct fault_frame f = { .len = in[i].len,
					 .idx = -1,
					 .gso_size = in[i].gso_size,
					 .csum = in[i].csum };

		f.buf = malloc(f.len ? f.len : 1);
		if (!f.buf)
			continue; /* counted nowhere: out of memory */
		memcpy(f.buf, in[i].data, f.len);
		if (fn->cfg.dir[FAULT_RX]) {
			fault_process(fn, fq, d, &f, now);
		} else {
			d->st.frames++;
			fault_push(fn, d, &f, now);
		}
	}
	if (!k)
		fault_idle(fn, fq, d, now);
	while (out < n && fault_pend_count(d)) {
		struct fault_frame *f = &d->pend[d->pend_tail % FAULT_PEND_CAP];

		if (f->due > now)
			break;
		rx[out] = (struct nic_rx){ .data = f->buf,
					   .len = f->len,
					   .gso_size = f->gso_size,
					   .csum = f->csum,
					   .place_id = -1 };
		fq->handed[fq->nhanded++] = f->buf;
		d->pend_tail++;
		out++;
	}
	return out;
}

static void fault_tx_reap(struct fault_nic *fn, struct fault_queue *fq,
			  unsigned q)
{
	uint64_t c[64];
	unsigned k, i;

	do {
		k = nic_tx_completions(fn->inner, q, c, 64);
		for (i = 0; i < k; i++) {
			if (c[i] < FAULT_TX_BUFS)
				fq->free_idx[fq->nfree++] = (uint32_t)c[i];
		}
	} while (k == 64);
}

/* Hands due frames to the inner nic, in order, until it pushes back. */
static void fault_tx_flush(struct fault_nic *fn, struct fault_queue *fq,
			   unsigned q, uint64_t now)
{
	struct fault_dir *d = &fq->dir[FAULT_TX];
	struct nic_tx t[FAULT_FLUSH_BATCH];
	unsigned m, acc;

	for (;;) {
		for (m = 0; m < FAULT_FLUSH_BATCH && m < fault_pend_count(d);
		     m++) {
			struct fault_frame *f =
				&d->pend[(d->pend_tail + m) % FAULT_PEND_CAP];
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
				t[m].seg[0].key = fq->pool_key;
			}
		}
		if (!m)
			return;
		acc = nic_tx_burst(fn->inner, q, t, m);
		d->pend_tail += acc;
		if (acc < m)
			return;
	}
}

static unsigned fault_tx_burst(struct nic *nic, unsigned q,
			       const struct nic_tx *tx, unsigned n)
{
	struct fault_nic *fn = to_fault(nic);
	struct fault_queue *fq = &fn->q[q];
	struct fault_dir *d = &fq->dir[FAULT_TX];
	uint64_t now = fn->cfg.delay_ns ? fault_now_ns() : 0;
	unsigned i, j;

	fault_tx_reap(fn, fq, q);
	for (i = 0; i < n; i++) {
		const struct nic_tx *t = &tx[i];
		struct fault_frame f = { .idx = -1 };
		size_t total = t->hdr_len;
		uint8_t *p;

		if (fq->nfree < 3 || FAULT_PEND_CAP - fault_pend_count(d) < 4 ||
		    fq->comp_head - fq->comp_tail == FAULT_COMP_CAP)
			break;
		if (t->nseg > NIC_TX_MAX_SEG || t->hdr_len > NIC_HDR_MAX)
			total = SIZE_MAX;
		else
			for (j = 0; j < t->nseg; j++)
				total += t->seg[j].len;
		fq->comp[fq->comp_head++ % FAULT_COMP_CAP] = t->cookie;
		if (total > fn->buf_size) {
			d->st.frames++;
			d->st.drop++; /* cannot copy it: a drop, counted */
			continue;
		}
		f.idx = (int32_t)fq->free_idx[--fq->nfree];
		f.buf = fq->pool + (size_t)f.idx * fn->buf_size;
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
		if (fn->cfg.dir[FAULT_TX]) {
			fault_process(fn, fq, d, &f, now);
		} else {
			d->st.frames++;
			fault_push(fn, d, &f, now);
		}
		d->idle = 0;
	}
	fault_tx_flush(fn, fq, q, now);
	return i;
}

static unsigned fault_tx_completions(struct nic *nic, unsigned q,
				     uint64_t *cookies, unsigned n)
{
	struct fault_nic *fn = to_fault(nic);
	struct fault_queue *fq = &fn->q[q];
	uint64_t now = fn->cfg.delay_ns ? fault_now_ns() : 0;
	unsigned k = 0;

	fault_tx_reap(fn, fq, q);
	fault_idle(fn, fq, &fq->dir[FAULT_TX], now);
	fault_tx_flush(fn, fq, q, now);
	while (k < n && fq->comp_tail != fq->comp_head)
		cookies[k++] = fq->comp[fq->comp_tail++ % FAULT_COMP_CAP];
	return k;
}

static int fault_reg_mem(struct nic *nic, void *addr, size_t len, uint32_t *key)
{
	return nic_reg_mem(to_fault(nic)->inner, addr, len, key);
}

static int fault_dereg_mem(struct nic *nic, uint32_t key)
{
	return nic_dereg_mem(to_fault(nic)->inner, key);
}

static int fault_add_steer(struct nic *nic, const struct nic_steer *rule)
{
	return nic_add_steer(to_fault(nic)->inner, rule);
}

static void fault_link_info(struct nic *nic, struct nic_link_info *info)
{
	nic_link_info(to_fault(nic)->inner, info);
	/* checksums in software: a frame corrupted on its way out must not
	 * travel as "checksums offloaded" (trusted) */
	info->offloads &= ~(uint32_t)(NIC_OFF_TSO | NIC_OFF_TX_CSUM);
	info->max_tso = 0;
	info->max_segs = NIC_TX_MAX_SEG;
}

static int fault_rx_dropped(struct nic *nic, uint64_t *n)
{
	return nic_rx_dropped(to_fault(nic)->inner, n) ? 0 : -ENOTSUP;
}

static int fault_arm(struct nic *nic, unsigned q)
{
	struct fault_nic *fn = to_fault(nic);
	struct fault_queue *fq = &fn->q[q];
	unsigned i;

	for (i = 0; i < 2; i++) {
		if (fault_pend_count(&fq->dir[i]) || fq->dir[i].held_valid)
			return -EAGAIN;
	}
	return nic_arm(fn->inner, q);
}

static int fault_fd(struct nic *nic, unsigned q)
{
	return nic_fd(to_fault(nic)->inner, q);
}

/* Faults never move a frame to another queue: steering is the inner's. */
static unsigned fault_flow_queue(struct nic *nic, uint32_t local_ip,
				 uint16_t local_port, uint32_t remote_ip,
				 uint16_t remote_port)
{
	return nic_flow_queue(to_fault(nic)->inner, local_ip, local_port,
			      remote_ip, remote_port);
}

static void fault_free(struct fault_nic *fn)
{
	unsigned q, i;

	for (q = 0; q < fn->nqueues && fn->q; q++) {
		struct fault_queue *fq = &fn->q[q];

		for (i = 0; i < fq->nhanded; i++)
			free(fq->handed[i]);
		for (i = 0; i < 2; i++) {
			struct fault_dir *d = &fq->dir[i];

			while (fault_pend_count(d)) {
				struct fault_frame *f =
					&d->pend[d->pend_tail++ %
						 FAULT_PEND_CAP];
				if (f->idx < 0)
					free(f->buf);
			}
			if (d->held_valid && d->held.idx < 0)
				free(d->held.buf);
		}
		if (fq->pool_reg)
			nic_dereg_mem(fn->inner, fq->pool_key);
		free(fq->pool);
	}
	free(fn->q);
	free(fn);
}

static void fault_close(struct nic *nic)
{
	struct fault_nic *fn = to_fault(nic);
	struct nic *inner = fn->inner;

	fault_free(fn); /* deregisters pools from inner first */
	nic_close(inner);
}

static const struct nic_ops fault_ops = {
	.rx_burst = fault_rx_burst,
	.tx_burst = fault_tx_burst,
	.tx_completions = fault_tx_completions,
	.reg_mem = fault_reg_mem,
	.dereg_mem = fault_dereg_mem,
	.add_steer = fault_add_steer,
	.link_info = fault_link_info,
	.arm = fault_arm,
	.fd = fault_fd,
	.flow_queue = fault_flow_queue,
	.place_open = NULL, /* no receive placement */
	.place_post = NULL,
	.place_close = NULL,
	.rx_dropped = fault_rx_dropped,
	.close = fault_close,
};

/* "0.1" or "2%" into [0, 1]. */
static bool fault_parse_prob(const char *v, double *out)
{
	char *end;
	double x;

	if (!*v)
		return false;
	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || !isfinite(x))
		return false;
	if (*end == '%') {
		end++;
		if (x < 0 || x > 100)
			return false;
		x /= 100;
	} else if (x < 0 || x > 1) {
		return false;
	}
	if (*end)
		return false;
	*out = x;
	return true;
}

/* "100us", "5ms", "1s", "250ns" or "0" into nanoseconds. */
static bool fault_parse_dur(const char *v, uint64_t *out)
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

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno)
		return false;
	if (!*end && x == 0) {
		*out = 0;
		return true;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			if (x > UINT64_MAX / units[i].ns / 2)
				return false;
			*out = x * units[i].ns;
			return true;
		}
	}
	return false;
}

static int fault_parse(const char *spec, struct fault_cfg *c, char *err)
{
	char buf[NIC_ERR_LEN], *tok, *save = NULL;

	memset(c, 0, sizeof(*c));
	c->seed = 1;
	c->dir[FAULT_RX] = c->dir[FAULT_TX] = true;
	if (!spec)
		return 0;
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, NIC_ERR_LEN, "--fault: spec too long (max %zu)",
			 sizeof(buf) - 1);
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *k = tok, *v;
		double *pp = NULL;

		if (!eq) {
			snprintf(
				err, NIC_ERR_LEN,
				"--fault: bad token \"%.64s\" (want key=value)",
				tok);
			return -EINVAL;
		}
		v = eq + 1;
		*eq = '\0';
		if (!strcmp(k, "drop"))
			pp = &c->p_drop;
		else if (!strcmp(k, "dup"))
			pp = &c->p_dup;
		else if (!strcmp(k, "reorder"))
			pp = &c->p_reorder;
		else if (!strcmp(k, "corrupt"))
			pp = &c->p_corrupt;
		else if (!strcmp(k, "truncate"))
			pp = &c->p_truncate;
		if (pp) {
			if (fault_parse_prob(v, pp))
				continue;
			*eq = '=';
			snprintf(err, NIC_ERR_LEN,
				 "--fault: bad probability \"%.64s\" (want "
				 "0..1 or 0..100%%)",
				 tok);
			return -EINVAL;
		}
		if (!strcmp(k, "delay")) {
			if (fault_parse_dur(v, &c->delay_ns))
				continue;
			*eq = '=';
			snprintf(err, NIC_ERR_LEN,
				 "--fault: bad duration \"%.64s\" (want e.g. "
				 "100us, 5ms or 1s)",
				 tok);
			return -EINVAL;
		}
		if (!strcmp(k, "seed")) {
			char *end;

			errno = 0;
			c->seed = strtoull(v, &end, 0);
			if (!errno && *v >= '0' && *v <= '9' && !*end)
				continue;
			*eq = '=';
			snprintf(err, NIC_ERR_LEN,
				 "--fault: bad seed \"%.64s\" (want an "
				 "unsigned integer)",
				 tok);
			return -EINVAL;
		}
		if (!strcmp(k, "dir")) {
			c->dir[FAULT_RX] =
				!strcmp(v, "rx") || !strcmp(v, "both");
			c->dir[FAULT_TX] =
				!strcmp(v, "tx") || !strcmp(v, "both");
			if (c->dir[FAULT_RX] || c->dir[FAULT_TX])
				continue;
			*eq = '=';
			snprintf(err, NIC_ERR_LEN,
				 "--fault: bad direction \"%.64s\" (want rx, "
				 "tx or both)",
				 tok);
			return -EINVAL;
		}
		*eq = '=';
		snprintf(err, NIC_ERR_LEN,
			 "--fault: unknown key \"%.64s\" (want drop, dup, "
			 "reorder, corrupt, truncate, delay, seed or dir)",
			 tok);
		return -EINVAL;
	}
	return 0;
}

/**
 * nic_fault_wrap - wrap @inner in the fault injector
 * @inner: any open nic; owned by the result on success
 * @spec: "drop=P,dup=P,reorder=P,corrupt=P,truncate=P,delay=DUR,seed=S,
 *         dir=rx|tx|both"; NULL or "" injects nothing
 * @err: one line on failure
 *
 * Return: the wrapper, or NULL with errno set (EINVAL for a bad spec) and
 * @inner left open.
 */
struct nic *nic_fault_wrap(struct nic *inner, const char *spec, char *err)
{
	struct nic_link_info li;
	struct fault_nic *fn;
	unsigned q, i;
	int rc;

	fn = calloc(1, sizeof(*fn));
	if (!fn) {
		snprintf(err, NIC_ERR_LEN, "--fault: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	rc = fault_parse(spec, &fn->cfg, err);
	if (rc < 0)
		goto err_free;
	fn->inner = inner;
	nic_link_info(inner, &li);
	fn->nqueues = li.nqueues ? li.nqueues : 1;
	fn->buf_size = ((uint32_t)li.mtu + 14 + 63) & ~63u;
	fn->q = calloc(fn->nqueues, sizeof(*fn->q));
	if (!fn->q)
		goto err_nomem;
	for (q = 0; q < fn->nqueues; q++) {
		struct fault_queue *fq = &fn->q[q];
		size_t len = (size_t)FAULT_TX_BUFS * fn->buf_size;

		for (i = 0; i < 2; i++) {
			fq->dir[i].rng = fault_splitmix(fn->cfg.seed ^
							((uint64_t)i << 32) ^
							((uint64_t)q << 48));
			fq->dir[i].delay_ns =
				fn->cfg.dir[i] ? fn->cfg.delay_ns : 0;
		}
		fq->pool = malloc(len);
		if (!fq->pool)
			goto err_nomem;
		if (nic_reg_mem(inner, fq->pool, len, &fq->pool_key) == 0)
			fq->pool_reg = true;
		else
			fq->pool_key = 0;
		for (i = 0; i < FAULT_TX_BUFS; i++)
			fq->free_idx[i] = FAULT_TX_BUFS - 1 - i;
		fq->nfree = FAULT_TX_BUFS;
	}
	snprintf(fn->name, sizeof(fn->name), "%s+fault",
		 inner->name ? inner->name : "nic");
	fn->nic.ops = &fault_ops;
	fn->nic.name = fn->name;
	return &fn->nic;
err_nomem:
	snprintf(err, NIC_ERR_LEN, "--fault: out of memory");
	rc = -ENOMEM;
err_free:
	fn->inner = inner;
	fault_free(fn);
	errno = -rc;
	return NULL;
}

/**
 * nic_fault_stats - read the fault counters of a fault wrapper
 * @nic: a nic returned by nic_fault_wrap()
 * @out: filled with the counters, summed over queues
 *
 * Return: 0, or -EINVAL when @nic is not a fault wrapper.
 */
int nic_fault_stats(struct nic *nic, struct nic_fault_stats *out)
{
	struct fault_nic *fn;
	unsigned q, i;

	if (!nic || nic->ops != &fault_ops || !out)
		return -EINVAL;
	fn = to_fault(nic);
	memset(out, 0, sizeof(*out));
	for (q = 0; q < fn->nqueues; q++) {
		for (i = 0; i < 2; i++) {
			const struct nic_fault_dir_stats *s =
				&fn->q[q].dir[i].st;
			struct nic_fault_dir_stats *o =
				i == FAULT_RX ? &out->rx : &out->tx;

			o->frames += s->frames;
			o->drop += s->drop;
			o->dup += s->dup;
			o->reorder += s->reorder;
			o->corrupt += s->corrupt;
			o->truncate += s->truncate;
			o->delay += s->delay;
			o->out += s->out;
		}
	}
	return 0;
}
