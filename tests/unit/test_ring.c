/*
 * test_ring.c - unit tests of the SPSC shared-memory ring (include/tas/ring.h):
 * single-thread semantics, partial bursts, full/empty, wrap of the uint32_t
 * counters, entry sizes 8/16/64, zero-copy accessors, hostile indices from
 * either side (ring between PROT_NONE guard pages), and a two-thread stress
 * test with sequence numbers.
 *
 * Needs: nothing (no root, no netns, no hardware). ASAN_OK, TSAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tas/ring.h"

#define CANARY 0xa5
#define STRESS_ENTRIES 2000000u
#define STRESS_CAP 1024u
#define STRESS_MAX_BURST 64u
#define STRESS_DEADLINE_NS (10ull * 1000 * 1000 * 1000)
#define STRESS_SEED 0x9e3779b97f4a7c15ull
#define HOSTILE_SEED 0x2545f4914f6cdd1dull

/* xorshift64 (Marsaglia); explicit so a failing seed replays exactly. */
static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Fill entry @i of size @esize with a pattern derived from @seq. */
static void entry_fill(void *e, uint32_t esize, uint64_t seq)
{
	unsigned char *p = e;
	uint32_t off;

	for (off = 0; off < esize; off += 8) {
		uint64_t v = seq * 0x100000001b3ull + off;
		uint32_t len = esize - off < 8 ? esize - off : 8;

		if (off == 0)
			v = seq;
		memcpy(p + off, &v, len);
	}
}

static int entry_check(const void *e, uint32_t esize, uint64_t seq)
{
	unsigned char want[256];

	entry_fill(want, esize, seq);
	return memcmp(e, want, esize) == 0;
}

/*
 * A ring between guard pages: [PROT_NONE][canary..hdr][slots][PROT_NONE].
 * cap * esize is one page, so any slot access out of [0, cap) faults and any
 * stray write before the header shows in the canary.
 */
struct guarded {
	unsigned char *map;
	size_t page;
	struct tas_ring_shm *shm;
	uint32_t cap;
	uint32_t esize;
};

static void guarded_open(struct guarded *g, uint32_t esize)
{
	unsigned char *hdr_page;

	g->page = (size_t)sysconf(_SC_PAGESIZE);
	g->esize = esize;
	g->cap = (uint32_t)(g->page / esize);
	assert_int_equal(g->cap & (g->cap - 1), 0);
	g->map = mmap(NULL, 4 * g->page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	assert_true(g->map != MAP_FAILED);
	hdr_page = g->map + g->page;
	assert_int_equal(
		mprotect(hdr_page, 2 * g->page, PROT_READ | PROT_WRITE), 0);
	memset(hdr_page, CANARY, 2 * g->page);
	g->shm = (struct tas_ring_shm *)(hdr_page + g->page -
					 sizeof(struct tas_ring_shm));
	assert_ptr_equal(g->shm->slots, g->map + 2 * g->page);
	assert_int_equal(tas_ring_shm_size(g->cap, esize),
			 sizeof(struct tas_ring_shm) + g->page);
}

static void guarded_close(struct guarded *g)
{
	unsigned char *p = g->map + g->page;
	size_t i, n = g->page - sizeof(struct tas_ring_shm);

	for (i = 0; i < n; i++)
		assert_int_equal(p[i], CANARY);
	assert_int_equal(munmap(g->map, 4 * g->page), 0);
}

/* Producer and consumer handles on one freshly created guarded ring. */
static void guarded_pair(struct guarded *g, uint32_t esize,
			 struct tas_ring *prod, struct tas_ring *cons)
{
	guarded_open(g, esize);
	assert_int_equal(tas_ring_init(prod, g->shm, g->cap, esize), 0);
	assert_int_equal(tas_ring_attach(cons, g->shm, g->cap, esize), 0);
}

static void shm_set_prod(struct tas_ring_shm *shm, uint32_t v)
{
	atomic_store_explicit(&shm->prod, v, memory_order_release);
}

static void shm_set_cons(struct tas_ring_shm *shm, uint32_t v)
{
	atomic_store_explicit(&shm->cons, v, memory_order_release);
}

/* Enqueue @n entries numbered from *@seq, one by one burst of @n. */
static uint32_t enq_seq(struct tas_ring *r, uint64_t *seq, uint32_t n)
{
	unsigned char buf[64 * 256];
	uint32_t i, done;

	assert_true(n <= sizeof(buf) / r->esize);
	for (i = 0; i < n; i++)
		entry_fill(buf + (size_t)i * r->esize, r->esize, *seq + i);
	done = tas_ring_enqueue_burst(r, buf, n);
	*seq += done;
	return done;
}

/* Dequeue up to @n entries and check they are numbered from *@seq. */
static uint32_t deq_seq(struct tas_ring *r, uint64_t *seq, uint32_t n)
{
	unsigned char buf[64 * 256];
	uint32_t i, done;

	assert_true(n <= sizeof(buf) / r->esize);
	done = tas_ring_dequeue_burst(r, buf, n);
	for (i = 0; i < done; i++)
		assert_true(entry_check(buf + (size_t)i * r->esize, r->esize,
					*seq + i));
	*seq += done;
	return done;
}

/* ---- geometry ---- */

static void test_ring_init_non_pow2_cap_rejected(void **state)
{
	static _Alignas(64) unsigned char mem[4096 + 128];
	struct tas_ring r;
	uint32_t bad_caps[] = { 0,	    3, 6, 12, 100, 1000, (1u << 31) + 1,
				0xffffffffu };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_caps) / sizeof(bad_caps[0]); i++) {
		assert_int_equal(tas_ring_init(&r, mem, bad_caps[i], 8),
				 -EINVAL);
		assert_int_equal(tas_ring_attach(&r, mem, bad_caps[i], 8),
				 -EINVAL);
		assert_int_equal(tas_ring_shm_size(bad_caps[i], 8), 0);
	}
	assert_int_equal(tas_ring_init(&r, mem, 16, 0), -EINVAL);
	assert_int_equal(tas_ring_init(&r, mem + 8, 16, 8), -EINVAL);
	assert_int_equal(tas_ring_init(NULL, mem, 16, 8), -EINVAL);
	assert_int_equal(tas_ring_init(&r, NULL, 16, 8), -EINVAL);
	assert_int_equal(tas_ring_init(&r, mem, 1, 8), 0);
	assert_int_equal(tas_ring_init(&r, mem, 512, 8), 0);
	assert_int_equal(tas_ring_cap(&r), 512);
}

static void test_ring_shm_size_header_plus_slots(void **state)
{
	(void)state;
	assert_int_equal(tas_ring_shm_size(16, 8), 128 + 128);
	assert_int_equal(tas_ring_shm_size(64, 64), 128 + 4096);
	assert_int_equal(tas_ring_shm_size(1, 1), 129);
	assert_int_equal(offsetof(struct tas_ring_shm, cons), 64);
	assert_int_equal(offsetof(struct tas_ring_shm, slots), 128);
}

/* ---- single-thread semantics, per entry size ---- */

static void fifo_roundtrip(uint32_t esize)
{
	struct guarded g;
	struct tas_ring p, c;
	uint64_t wseq = 0, rseq = 0;
	uint32_t round;

	guarded_pair(&g, esize, &p, &c);
	assert_true(tas_ring_empty(&c));
	assert_int_equal(tas_ring_count(&c), 0);
	assert_int_equal(tas_ring_free_count(&p), g.cap);
	/* Uneven bursts so the slot index crosses the end many times. */
	for (round = 0; round < 10 * g.cap; round++) {
		uint32_t n = 1 + round % 7;

		assert_int_equal(enq_seq(&p, &wseq, n), n);
		assert_int_equal(tas_ring_count(&c), n);
		assert_int_equal(deq_seq(&c, &rseq, n + 3), n);
		assert_true(tas_ring_empty(&c));
	}
	assert_int_equal(wseq, rseq);
	assert_false(tas_ring_bad(&p));
	assert_false(tas_ring_bad(&c));
	guarded_close(&g);
}

static void test_ring_esize8_roundtrip_preserves_fifo(void **state)
{
	(void)state;
	fifo_roundtrip(8);
}

static void test_ring_esize16_roundtrip_preserves_fifo(void **state)
{
	(void)state;
	fifo_roundtrip(16);
}

static void test_ring_esize64_roundtrip_preserves_fifo(void **state)
{
	(void)state;
	fifo_roundtrip(64);
}

static void test_ring_full_enqueue_returns_zero(void **state)
{
	struct guarded g;
	struct tas_ring p, c;
	uint64_t wseq = 0, rseq = 0;

	(void)state;
	guarded_pair(&g, 64, &p, &c);
	assert_int_equal(enq_seq(&p, &wseq, g.cap), g.cap);
	assert_int_equal(tas_ring_free_count(&p), 0);
	assert_int_equal(enq_seq(&p, &wseq, 1), 0);
	assert_int_equal(enq_seq(&p, &wseq, 5), 0);
	assert_int_equal(tas_ring_count(&c), g.cap);
	assert_int_equal(deq_seq(&c, &rseq, 1), 1);
	assert_int_equal(enq_seq(&p, &wseq, 5), 1);
	assert_int_equal(deq_seq(&c, &rseq, g.cap), g.cap);
	assert_false(tas_ring_bad(&p));
	guarded_close(&g);
}

static void test_ring_empty_dequeue_returns_zero(void **state)
{
	struct guarded g;
	struct tas_ring p, c;
	uint64_t rseq = 0;
	uint32_t n = 4;

	(void)state;
	guarded_pair(&g, 16, &p, &c);
	assert_int_equal(deq_seq(&c, &rseq, 1), 0);
	assert_int_equal(deq_seq(&c, &rseq, 100), 0);
	assert_null(tas_ring_dequeue_peek(&c, &n));
	assert_int_equal(n, 0);
	assert_true(tas_ring_empty(&c));
	assert_false(tas_ring_bad(&c));
	guarded_close(&g);
}

static void test_ring_burst_partial_when_nearly_full(void **state)
{
	struct guarded g;
	struct tas_ring p, c;
	uint64_t wseq = 0, rseq = 0;

	(void)state;
	guarded_pair(&g, 16, &p, &c);
	assert_int_equal(enq_seq(&p, &wseq, g.cap - 3), g.cap - 3);
	assert_int_equal(enq_seq(&p, &wseq, 10), 3);
	assert_int_equal(deq_seq(&c, &rseq, 7), 7);
	assert_int_equal(enq_seq(&p, &wseq, 10), 7);
	assert_int_equal(deq_seq(&c, &rseq, 255), 255);
	assert_int_equal(deq_seq(&c, &rseq, 255), 1);
	assert_int_equal(wseq, rseq);
	guarded_close(&g);
}

static void test_ring_counters_near_wrap_preserve_fifo(void **state)
{
	static const uint32_t starts[] = { 0xfffffff0u, 0xffffffffu,
					   0x7ffffff8u, 0xffffff00u };
	size_t s;

	(void)state;
	for (s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		struct guarded g;
		struct tas_ring init, p, c;
		uint64_t wseq = 0, rseq = 0;
		uint32_t i;

		guarded_open(&g, 8);
		assert_int_equal(tas_ring_init(&init, g.shm, g.cap, 8), 0);
		shm_set_prod(g.shm, starts[s]);
		shm_set_cons(g.shm, starts[s]);
		assert_int_equal(tas_ring_attach(&p, g.shm, g.cap, 8), 0);
		assert_int_equal(tas_ring_attach(&c, g.shm, g.cap, 8), 0);
		assert_int_equal(p.prod, starts[s]);
		assert_int_equal(c.cons, starts[s]);
		assert_int_equal(tas_ring_free_count(&p), g.cap);
		for (i = 0; i < 3000; i++) {
			uint32_t n = 1 + (i * 37) % 200;
			uint32_t got = enq_seq(&p, &wseq, n);

			assert_int_equal(tas_ring_count(&c), got);
			assert_int_equal(deq_seq(&c, &rseq, n), got);
			assert_int_equal(got, n);
		}
		/* Fill completely across the 2^32 boundary. */
		assert_int_equal(enq_seq(&p, &wseq, 200), 200);
		assert_int_equal(enq_seq(&p, &wseq, 200), 200);
		assert_int_equal(enq_seq(&p, &wseq, 200), g.cap - 400);
		assert_int_equal(tas_ring_count(&c), g.cap);
		assert_int_equal(tas_ring_free_count(&p), 0);
		while (deq_seq(&c, &rseq, 100) > 0)
			;
		assert_int_equal(wseq, rseq);
		assert_true(wseq > 0x100000000ull - starts[s] ||
			    starts[s] < 0x80000000u);
		assert_false(tas_ring_bad(&p));
		assert_false(tas_ring_bad(&c));
		guarded_close(&g);
	}
}

static void test_ring_attach_keeps_indices(void **state)
{
	struct guarded g;
	struct tas_ring p, c, c2;
	uint64_t wseq = 0, rseq = 0;

	(void)state;
	guarded_pair(&g, 8, &p, &c);
	assert_int_equal(enq_seq(&p, &wseq, 30), 30);
	assert_int_equal(deq_seq(&c, &rseq, 10), 10);
	/* A consumer re-attaching resumes where the old one stopped. */
	assert_int_equal(tas_ring_attach(&c2, g.shm, g.cap, 8), 0);
	assert_int_equal(tas_ring_count(&c2), 20);
	assert_int_equal(deq_seq(&c2, &rseq, 100), 20);
	guarded_close(&g);
}

/* ---- zero-copy accessors ---- */

static void test_ring_peek_stops_at_slot_end(void **state)
{
	struct guarded g;
	struct tas_ring p, c;
	uint64_t wseq = 0, rseq = 0;
	const unsigned char *e;
	uint32_t n, i;

	(void)state;
	guarded_pair(&g, 64, &p, &c);
	/* Move both indices to cap - 2, then put 5 entries in. */
	assert_int_equal(enq_seq(&p, &wseq, g.cap - 2), g.cap - 2);
	assert_int_equal(deq_seq(&c, &rseq, g.cap - 2), g.cap - 2);
	assert_int_equal(enq_seq(&p, &wseq, 5), 5);
	n = 100;
	e = tas_ring_dequeue_peek(&c, &n);
	assert_non_null(e);
	assert_int_equal(n, 2);
	assert_ptr_equal(e, g.shm->slots + (size_t)(g.cap - 2) * 64);
	for (i = 0; i < n; i++)
		assert_true(entry_check(e + (size_t)i * 64, 64, rseq + i));
	tas_ring_dequeue_commit(&c, n);
	rseq += n;
	n = 100;
	e = tas_ring_dequeue_peek(&c, &n);
	assert_int_equal(n, 3);
	assert_ptr_equal(e, g.shm->slots);
	for (i = 0; i < n; i++)
		assert_true(entry_check(e + (size_t)i * 64, 64, rseq + i));
	tas_ring_dequeue_commit(&c, 3);
	assert_true(tas_ring_empty(&c));
	guarded_close(&g);
}

static void test_ring_reserve_commit_publishes_entries(void **state)
{
	struct guarded g;
	struct tas_ring p, c;
	uint64_t wseq = 0, rseq = 0;
	unsigned char *e;
	uint32_t n, i;

	(void)state;
	guarded_pair(&g, 16, &p, &c);
	assert_int_equal(enq_seq(&p, &wseq, g.cap - 4), g.cap - 4);
	assert_int_equal(deq_seq(&c, &rseq, g.cap - 6), g.cap - 6);
	/* 4 slots contiguous to the end, then 2 at the start. */
	n = 50;
	e = tas_ring_enqueue_reserve(&p, &n);
	assert_int_equal(n, 4);
	assert_ptr_equal(e, g.shm->slots + (size_t)(g.cap - 4) * 16);
	for (i = 0; i < n; i++)
		entry_fill(e + (size_t)i * 16, 16, wseq + i);
	/* Nothing visible before the commit. */
	assert_int_equal(tas_ring_count(&c), 2);
	tas_ring_enqueue_commit(&p, n);
	wseq += n;
	assert_int_equal(tas_ring_count(&c), 6);
	n = 50;
	e = tas_ring_enqueue_reserve(&p, &n);
	assert_int_equal(n, 50);
	assert_ptr_equal(e, g.shm->slots);
	n = 0;
	assert_null(tas_ring_enqueue_reserve(&p, &n));
	assert_int_equal(deq_seq(&c, &rseq, 10), 6);
	assert_int_equal(wseq, rseq);
	guarded_close(&g);
}

static void test_ring_commit_over_room_clamped(void **state)
{
	struct guarded g;
	struct tas_ring p, c;
	uint64_t wseq = 0;

	(void)state;
	guarded_pair(&g, 8, &p, &c);
	assert_int_equal(enq_seq(&p, &wseq, g.cap - 2), g.cap - 2);
	tas_ring_enqueue_commit(&p, 1000);
	assert_int_equal(p.prod - p.cons, g.cap);
	assert_int_equal(tas_ring_count(&c), g.cap);
	tas_ring_dequeue_commit(&c, 0xffffffffu);
	assert_int_equal(c.cons, g.cap);
	assert_true(tas_ring_empty(&c));
	assert_false(tas_ring_bad(&p));
	assert_false(tas_ring_bad(&c));
	guarded_close(&g);
}

static void test_ring_cached_index_refreshed_only_when_short(void **state)
{
	struct guarded g;
	struct tas_ring p, c;
	uint64_t wseq = 0, rseq = 0;

	(void)state;
	guarded_pair(&g, 8, &p, &c);
	assert_int_equal(enq_seq(&p, &wseq, 4), 4);
	assert_int_equal(deq_seq(&c, &rseq, 1), 1); /* caches prod = 4 */
	/* Poison shm: the consumer must not look while its cache suffices. */
	shm_set_prod(g.shm, 0xdeadbeefu);
	assert_int_equal(deq_seq(&c, &rseq, 3), 3);
	assert_false(tas_ring_bad(&c));
	assert_int_equal(deq_seq(&c, &rseq, 1), 0);
	assert_true(tas_ring_bad(&c));
	/* Same for the producer's view of cons. */
	shm_set_prod(g.shm, p.prod);
	assert_int_equal(tas_ring_free_count(&p), g.cap);
	shm_set_cons(g.shm, 0xdeadbeefu);
	assert_int_equal(enq_seq(&p, &wseq, g.cap), g.cap);
	assert_false(tas_ring_bad(&p));
	assert_int_equal(enq_seq(&p, &wseq, 1), 0);
	assert_true(tas_ring_bad(&p));
	guarded_close(&g);
}

/* ---- hostile peers ---- */

/*
 * Hostile producer: after honest traffic, the producer index in shm is set
 * to @evil. The consumer must refuse it when (evil - cons) > cap, without
 * touching its output buffer or reading outside the (guarded) slots, and
 * stay refused after the index is made honest again.
 */
static void hostile_prod_case(uint32_t esize, uint32_t evil)
{
	struct guarded g;
	struct tas_ring p, c;
	uint64_t wseq = 0, rseq = 0;
	unsigned char out[65536]; /* one page, up to 64 KiB pages */
	uint32_t n, cap, got, cons0;
	bool valid;

	guarded_pair(&g, esize, &p, &c);
	cap = g.cap;
	assert_int_equal(enq_seq(&p, &wseq, cap / 2 + 3), cap / 2 + 3);
	assert_int_equal(deq_seq(&c, &rseq, cap / 2), cap / 2);
	cons0 = c.cons;
	valid = evil - cons0 <= cap;
	shm_set_prod(g.shm, evil);
	assert_true(sizeof(out) >= (size_t)cap * esize);
	memset(out, 0xee, (size_t)cap * esize);
	got = tas_ring_dequeue_burst(&c, out, cap);
	if (!valid) {
		size_t i;

		assert_int_equal(got, 0);
		assert_true(tas_ring_bad(&c));
		for (i = 0; i < (size_t)cap * esize; i++)
			assert_int_equal(out[i], 0xee);
		/* Sticky: every accessor now moves nothing. */
		shm_set_prod(g.shm, p.prod);
		assert_int_equal(tas_ring_dequeue_burst(&c, out, cap), 0);
		n = cap;
		assert_null(tas_ring_dequeue_peek(&c, &n));
		assert_int_equal(n, 0);
		assert_int_equal(tas_ring_count(&c), 0);
		assert_true(tas_ring_empty(&c));
		tas_ring_dequeue_commit(&c, 1);
		assert_int_equal(c.cons, (uint32_t)rseq);
		assert_int_equal(atomic_load(&g.shm->cons), (uint32_t)rseq);
	} else {
		/* A lie within the window: only garbage data, in bounds. */
		assert_int_equal(got, evil - cons0);
		assert_int_equal(c.cons, evil);
		assert_false(tas_ring_bad(&c));
	}
	guarded_close(&g);
}

static void test_ring_hostile_prod_beyond_cap_refused(void **state)
{
	static const uint32_t esizes[] = { 8, 16, 64 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		uint32_t cap = 4096 / esizes[i], cons = cap / 2;

		hostile_prod_case(esizes[i], cons + cap + 1);
		hostile_prod_case(esizes[i], cons + 2 * cap);
		hostile_prod_case(esizes[i], cons + 0x80000000u);
		hostile_prod_case(esizes[i], 0xffffffffu);
	}
}

static void test_ring_hostile_prod_behind_consumer_refused(void **state)
{
	static const uint32_t esizes[] = { 8, 16, 64 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		uint32_t cap = 4096 / esizes[i], cons = cap / 2;

		hostile_prod_case(esizes[i], cons - 1);
		hostile_prod_case(esizes[i], 0);
		hostile_prod_case(esizes[i], cons - cap);
	}
}

static void test_ring_hostile_prod_within_window_stays_in_bounds(void **state)
{
	static const uint32_t esizes[] = { 8, 16, 64 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		uint32_t cap = 4096 / esizes[i], cons = cap / 2;

		hostile_prod_case(esizes[i], cons + cap);
		hostile_prod_case(esizes[i], cons);
		hostile_prod_case(esizes[i], cons + 1);
	}
}

static void test_ring_hostile_prod_random_refused(void **state)
{
	uint64_t s = HOSTILE_SEED;
	int i;

	(void)state;
	for (i = 0; i < 300; i++) {
		uint64_t x = xorshift64(&s);
		static const uint32_t esizes[] = { 8, 16, 64 };

		hostile_prod_case(esizes[x % 3], (uint32_t)(x >> 32));
	}
}

/*
 * Hostile consumer: the consumer index in shm is set to @evil. The producer
 * must refuse it when (prod - evil) > cap, and never write outside the
 * guarded slots (a stray write would fault or show in the canary).
 */
static void hostile_cons_case(uint32_t esize, uint32_t evil)
{
	struct guarded g;
	struct tas_ring p, c;
	uint64_t wseq = 0, rseq = 0;
	uint32_t n, cap, got;
	bool valid;

	guarded_pair(&g, esize, &p, &c);
	cap = g.cap;
	assert_int_equal(enq_seq(&p, &wseq, cap / 2 + 3), cap / 2 + 3);
	assert_int_equal(deq_seq(&c, &rseq, cap / 2), cap / 2);
	valid = p.prod - evil <= cap;
	shm_set_cons(g.shm, evil);
	/* Ask for more than the cached room, forcing a refresh. */
	got = enq_seq(&p, &wseq, cap);
	if (!valid) {
		assert_int_equal(got, 0);
		assert_true(tas_ring_bad(&p));
		shm_set_cons(g.shm, c.cons);
		assert_int_equal(enq_seq(&p, &wseq, 1), 0);
		n = 1;
		assert_null(tas_ring_enqueue_reserve(&p, &n));
		assert_int_equal(n, 0);
		assert_int_equal(tas_ring_free_count(&p), 0);
		tas_ring_enqueue_commit(&p, 1);
		assert_int_equal(atomic_load(&g.shm->prod), cap / 2 + 3);
		/* The honest consumer still gets exactly what was sent. */
		assert_int_equal(deq_seq(&c, &rseq, cap), 3);
	} else {
		assert_true(got <= cap);
		assert_false(tas_ring_bad(&p));
		assert_true(p.prod - p.cons <= cap);
	}
	guarded_close(&g);
}

static void test_ring_hostile_cons_ahead_of_producer_refused(void **state)
{
	static const uint32_t esizes[] = { 8, 16, 64 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		uint32_t cap = 4096 / esizes[i], prod = cap / 2 + 3;

		hostile_cons_case(esizes[i], prod + 1);
		hostile_cons_case(esizes[i], prod + cap);
		hostile_cons_case(esizes[i], 0xffffffffu);
	}
}

static void test_ring_hostile_cons_too_far_behind_refused(void **state)
{
	static const uint32_t esizes[] = { 8, 16, 64 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		uint32_t cap = 4096 / esizes[i], prod = cap / 2 + 3;

		hostile_cons_case(esizes[i], prod - cap - 1);
		hostile_cons_case(esizes[i], prod - 0x80000000u);
		/* Within the window: accepted, still in bounds. */
		hostile_cons_case(esizes[i], prod - cap);
		hostile_cons_case(esizes[i], prod);
		hostile_cons_case(esizes[i], 0);
	}
}

static void test_ring_hostile_cons_random_refused(void **state)
{
	uint64_t s = HOSTILE_SEED ^ 0xffff;
	int i;

	(void)state;
	for (i = 0; i < 300; i++) {
		uint64_t x = xorshift64(&s);
		static const uint32_t esizes[] = { 8, 16, 64 };

		hostile_cons_case(esizes[x % 3], (uint32_t)(x >> 32));
	}
}

static void test_ring_attach_impossible_indices_rejected(void **state)
{
	struct guarded g;
	struct tas_ring init, r;
	unsigned char out[16];

	(void)state;
	guarded_open(&g, 16);
	assert_int_equal(tas_ring_init(&init, g.shm, g.cap, 16), 0);
	shm_set_cons(g.shm, 100);
	shm_set_prod(g.shm, 100 + g.cap + 1);
	assert_int_equal(tas_ring_attach(&r, g.shm, g.cap, 16), -EPROTO);
	assert_true(tas_ring_bad(&r));
	assert_int_equal(tas_ring_dequeue_burst(&r, out, 1), 0);
	shm_set_prod(g.shm, 99);
	assert_int_equal(tas_ring_attach(&r, g.shm, g.cap, 16), -EPROTO);
	shm_set_prod(g.shm, 100 + g.cap);
	assert_int_equal(tas_ring_attach(&r, g.shm, g.cap, 16), 0);
	assert_int_equal(tas_ring_count(&r), g.cap);
	guarded_close(&g);
}

/* ---- two-thread stress ---- */

struct stress_entry {
	uint64_t seq;
	uint64_t check;
};

struct stress {
	struct tas_ring_shm *shm;
	atomic_bool stop;
	uint64_t deadline_ns;
	/* written by the consumer thread only, read after join */
	uint64_t received;
	uint64_t errors;
	uint64_t first_bad_seq;
	bool cons_timed_out;
	bool cons_bad;
	/* written by the producer thread only, read after join */
	uint64_t sent;
	bool prod_timed_out;
	bool prod_bad;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t stress_check(uint64_t seq)
{
	return ~seq * 0x9e3779b97f4a7c15ull;
}

static void *stress_producer(void *arg)
{
	struct stress *st = arg;
	struct stress_entry buf[STRESS_MAX_BURST];
	struct tas_ring r;
	uint64_t rng = STRESS_SEED, seq = 0;
	uint32_t idle = 0;

	if (tas_ring_attach(&r, st->shm, STRESS_CAP, sizeof(buf[0])) != 0) {
		st->prod_bad = true;
		atomic_store(&st->stop, true);
		return NULL;
	}
	while (seq < STRESS_ENTRIES && !atomic_load(&st->stop)) {
		uint64_t x = xorshift64(&rng);
		uint32_t want = 1 + (uint32_t)(x % STRESS_MAX_BURST), i, done;

		if (want > STRESS_ENTRIES - seq)
			want = (uint32_t)(STRESS_ENTRIES - seq);
		if (x & (1ull << 40)) {
			for (i = 0; i < want; i++) {
				buf[i].seq = seq + i;
				buf[i].check = stress_check(seq + i);
			}
			done = tas_ring_enqueue_burst(&r, buf, want);
		} else {
			struct stress_entry *e;

			done = want;
			e = tas_ring_enqueue_reserve(&r, &done);
			for (i = 0; i < done; i++) {
				e[i].seq = seq + i;
				e[i].check = stress_check(seq + i);
			}
			tas_ring_enqueue_commit(&r, done);
		}
		seq += done;
		if (tas_ring_bad(&r)) {
			st->prod_bad = true;
			break;
		}
		if (done == 0 && (++idle & 0xff) == 0) {
			if (now_ns() > st->deadline_ns) {
				st->prod_timed_out = true;
				break;
			}
			sched_yield();
		}
	}
	st->sent = seq;
	if (seq < STRESS_ENTRIES)
		atomic_store(&st->stop, true);
	return NULL;
}

static void *stress_consumer(void *arg)
{
	struct stress *st = arg;
	struct stress_entry buf[STRESS_MAX_BURST];
	struct tas_ring r;
	uint64_t rng = STRESS_SEED ^ 0x5555, seq = 0;
	uint32_t idle = 0;

	if (tas_ring_attach(&r, st->shm, STRESS_CAP, sizeof(buf[0])) != 0) {
		st->cons_bad = true;
		atomic_store(&st->stop, true);
		return NULL;
	}
	while (seq < STRESS_ENTRIES && !atomic_load(&st->stop)) {
		uint64_t x = xorshift64(&rng);
		uint32_t want = 1 + (uint32_t)(x % STRESS_MAX_BURST), i, done;
		const struct stress_entry *e;

		if (x & (1ull << 40)) {
			done = tas_ring_dequeue_burst(&r, buf, want);
			e = buf;
		} else {
			done = want;
			e = tas_ring_dequeue_peek(&r, &done);
		}
		for (i = 0; i < done; i++) {
			if (e[i].seq != seq + i ||
			    e[i].check != stress_check(seq + i)) {
				if (st->errors++ == 0)
					st->first_bad_seq = seq + i;
			}
		}
		if (e != buf)
			tas_ring_dequeue_commit(&r, done);
		seq += done;
		if (tas_ring_bad(&r)) {
			st->cons_bad = true;
			break;
		}
		if (done == 0 && (++idle & 0xff) == 0) {
			if (now_ns() > st->deadline_ns) {
				st->cons_timed_out = true;
				break;
			}
			sched_yield();
		}
	}
	st->received = seq;
	if (seq < STRESS_ENTRIES)
		atomic_store(&st->stop, true);
	return NULL;
}

static void test_ring_two_threads_every_entry_once_in_order(void **state)
{
	struct stress st;
	struct tas_ring init;
	size_t size =
		tas_ring_shm_size(STRESS_CAP, sizeof(struct stress_entry));
	pthread_t tp, tc;
	void *mem;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(posix_memalign(&mem, 64, size), 0);
	st.shm = mem;
	assert_int_equal(tas_ring_init(&init, st.shm, STRESS_CAP,
				       sizeof(struct stress_entry)),
			 0);
	atomic_init(&st.stop, false);
	st.deadline_ns = now_ns() + STRESS_DEADLINE_NS;
	assert_int_equal(pthread_create(&tc, NULL, stress_consumer, &st), 0);
	assert_int_equal(pthread_create(&tp, NULL, stress_producer, &st), 0);
	assert_int_equal(pthread_join(tp, NULL), 0);
	assert_int_equal(pthread_join(tc, NULL), 0);
	if (st.errors)
		print_error("first out-of-order entry at seq %llu\n",
			    (unsigned long long)st.first_bad_seq);
	assert_false(st.prod_timed_out);
	assert_false(st.cons_timed_out);
	assert_false(st.prod_bad);
	assert_false(st.cons_bad);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.sent, STRESS_ENTRIES);
	assert_int_equal(st.received, STRESS_ENTRIES);
	assert_int_equal(atomic_load(&st.shm->prod), STRESS_ENTRIES);
	assert_int_equal(atomic_load(&st.shm->cons), STRESS_ENTRIES);
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_init_non_pow2_cap_rejected),
		cmocka_unit_test(test_ring_shm_size_header_plus_slots),
		cmocka_unit_test(test_ring_esize8_roundtrip_preserves_fifo),
		cmocka_unit_test(test_ring_esize16_roundtrip_preserves_fifo),
		cmocka_unit_test(test_ring_esize64_roundtrip_preserves_fifo),
		cmocka_unit_test(test_ring_full_enqueue_returns_zero),
		cmocka_unit_test(test_ring_empty_dequeue_returns_zero),
		cmocka_unit_test(test_ring_burst_partial_when_nearly_full),
		cmocka_unit_test(test_ring_counters_near_wrap_preserve_fifo),
		cmocka_unit_test(test_ring_attach_keeps_indices),
		cmocka_unit_test(test_ring_peek_stops_at_slot_end),
		cmocka_unit_test(test_ring_reserve_commit_publishes_entries),
		cmocka_unit_test(test_ring_commit_over_room_clamped),
		cmocka_unit_test(
			test_ring_cached_index_refreshed_only_when_short),
		cmocka_unit_test(test_ring_hostile_prod_beyond_cap_refused),
		cmocka_unit_test(
			test_ring_hostile_prod_behind_consumer_refused),
		cmocka_unit_test(
			test_ring_hostile_prod_within_window_stays_in_bounds),
		cmocka_unit_test(test_ring_hostile_prod_random_refused),
		cmocka_unit_test(
			test_ring_hostile_cons_ahead_of_producer_refused),
		cmocka_unit_test(test_ring_hostile_cons_too_far_behind_refused),
		cmocka_unit_test(test_ring_hostile_cons_random_refused),
		cmocka_unit_test(test_ring_attach_impossible_indices_rejected),
		cmocka_unit_test(
			test_ring_two_threads_every_entry_once_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
