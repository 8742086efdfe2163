/*
 * fuzz_ring.c - libFuzzer target for the SPSC shared-memory ring
 * (include/tas/ring.h).
 *
 * The input is a ring geometry followed by a sequence of operations: bursts
 * and zero-copy accesses by an honest producer and consumer handle on the
 * same ring, interleaved with raw writes of arbitrary values into the shared
 * indices and slots, as a hostile peer would do. Invariants, checked after
 * every operation (abort() on violation):
 *   - no access outside the slots (ASan: the ring is an exact-size heap
 *     block), returned pointers and counts stay within the slot array;
 *   - every handle keeps prod - cons <= cap; counts are <= cap and <= n;
 *   - a handle marked bad moves nothing and leaves its own index alone;
 *   - while nobody has scribbled on shared memory, the ring behaves exactly
 *     like a bounded FIFO model (counts, free room, never bad) and every
 *     entry read is the one written, in order.
 *
 * Input layout: byte 0 geometry (cap = 1 << (b & 7), esize from b >> 3),
 * byte 1 start index near 2^32, then records of 1 opcode byte plus operand
 * bytes (missing operand bytes read as 0).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tas/ring.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

#define MAX_CAP 128u
#define MAX_ESIZE 64u

enum fuzz_op {
	OP_ENQ,		  /* n: enqueue_burst */
	OP_DEQ,		  /* n: dequeue_burst */
	OP_RESERVE,	  /* n, k: enqueue_reserve n, write, commit k */
	OP_PEEK,	  /* n, k: dequeue_peek n, check, commit k */
	OP_EVIL_PROD,	  /* u32: raw write to shm prod */
	OP_EVIL_CONS,	  /* u32: raw write to shm cons */
	OP_NUDGE_PROD,	  /* s8: shm prod += delta */
	OP_NUDGE_CONS,	  /* s8: shm cons += delta */
	OP_EVIL_SLOT,	  /* idx16, byte: raw write into a slot */
	OP_COUNTS,	  /* count, free_count, empty */
	OP_REATTACH_CONS, /* attach a fresh consumer handle */
	OP_REATTACH_PROD, /* attach a fresh producer handle */
	OP_RESET,	  /* init the ring again, honest from here */
	OP_NR,
};

struct fuzz {
	const uint8_t *in;
	size_t len;
	size_t pos;
	struct tas_ring_shm *shm;
	struct tas_ring p;
	struct tas_ring c;
	uint32_t cap;
	uint32_t esize;
	uint32_t start;
	bool honest;   /* no raw write since the last reset */
	uint64_t wseq; /* entries written since the last reset */
	uint64_t rseq; /* entries read since the last reset */
};

static uint8_t next_u8(struct fuzz *f)
{
	return f->pos < f->len ? f->in[f->pos++] : 0;
}

static uint32_t next_u32(struct fuzz *f)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | next_u8(f);
	return v;
}

static void entry_fill(unsigned char *e, uint32_t esize, uint64_t seq)
{
	uint32_t off;

	for (off = 0; off < esize; off += 8) {
		uint64_t v = seq ^ ((uint64_t)off << 56);

		memcpy(e + off, &v, 8);
	}
}

static bool entry_ok(const unsigned char *e, uint32_t esize, uint64_t seq)
{
	unsigned char want[MAX_ESIZE];

	entry_fill(want, esize, seq);
	return memcmp(e, want, esize) == 0;
}

static uint32_t model_count(const struct fuzz *f)
{
	return (uint32_t)(f->wseq - f->rseq);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* A pointer range [e, e + n entries) lies within the slot array. */
static void check_span(const struct fuzz *f, const void *e, uint32_t n)
{
	const unsigned char *s = f->shm->slots, *p = e;

	if (n == 0) {
		CHECK(e == NULL);
		return;
	}
	CHECK(p >= s);
	CHECK((size_t)(p - s) % f->esize == 0);
	CHECK((size_t)(p - s) + (size_t)n * f->esize <=
	      (size_t)f->cap * f->esize);
}

static void check_invariants(const struct fuzz *f)
{
	CHECK(f->p.prod - f->p.cons <= f->cap);
	CHECK(f->c.prod - f->c.cons <= f->cap);
	CHECK(tas_ring_cap(&f->p) == f->cap && tas_ring_cap(&f->c) == f->cap);
	if (!f->honest)
		return;
	CHECK(!tas_ring_bad(&f->p) && !tas_ring_bad(&f->c));
	CHECK(f->wseq - f->rseq <= f->cap);
	CHECK(f->p.prod == (uint32_t)(f->start + f->wseq));
	CHECK(f->c.cons == (uint32_t)(f->start + f->rseq));
	CHECK(atomic_load(&f->shm->prod) == f->p.prod);
	CHECK(atomic_load(&f->shm->cons) == f->c.cons);
}

static void ring_reset(struct fuzz *f)
{
	struct tas_ring init;

	CHECK(tas_ring_init(&init, f->shm, f->cap, f->esize) == 0);
	atomic_store(&f->shm->prod, f->start);
	atomic_store(&f->shm->cons, f->start);
	CHECK(tas_ring_attach(&f->p, f->shm, f->cap, f->esize) == 0);
	CHECK(tas_ring_attach(&f->c, f->shm, f->cap, f->esize) == 0);
	f->honest = true;
	f->wseq = 0;
	f->rseq = 0;
}

static void op_enq(struct fuzz *f)
{
	unsigned char buf[2 * MAX_CAP * MAX_ESIZE];
	uint32_t n = next_u8(f) % (2 * f->cap + 1), i, got;
	uint32_t prod0 = f->p.prod;
	bool bad0 = tas_ring_bad(&f->p);

	for (i = 0; i < n; i++)
		entry_fill(buf + (size_t)i * f->esize, f->esize, f->wseq + i);
	got = tas_ring_enqueue_burst(&f->p, buf, n);
	CHECK(got <= n && got <= f->cap);
	CHECK(f->p.prod == prod0 + got);
	if (bad0)
		CHECK(got == 0);
	if (f->honest)
		CHECK(got == min_u32(n, f->cap - model_count(f)));
	f->wseq += got;
}

static void op_deq(struct fuzz *f)
{
	unsigned char buf[2 * MAX_CAP * MAX_ESIZE];
	uint32_t n = next_u8(f) % (2 * f->cap + 1), i, got;
	uint32_t cons0 = f->c.cons;
	bool bad0 = tas_ring_bad(&f->c);

	got = tas_ring_dequeue_burst(&f->c, buf, n);
	CHECK(got <= n && got <= f->cap);
	CHECK(f->c.cons == cons0 + got);
	if (bad0)
		CHECK(got == 0);
	if (f->honest) {
		CHECK(got == min_u32(n, model_count(f)));
		for (i = 0; i < got; i++)
			CHECK(entry_ok(buf + (size_t)i * f->esize, f->esize,
				       f->rseq + i));
	}
	f->rseq += got;
}

static void op_reserve(struct fuzz *f)
{
	uint32_t want = next_u8(f) % (2 * f->cap + 1), n = want, k, i;
	uint32_t prod0 = f->p.prod;
	bool bad0 = tas_ring_bad(&f->p);
	unsigned char *e;

	k = next_u8(f);
	e = tas_ring_enqueue_reserve(&f->p, &n);
	check_span(f, e, n);
	CHECK(n <= want);
	if (bad0)
		CHECK(n == 0);
	if (f->honest) {
		uint32_t contig = f->cap - (f->p.prod & (f->cap - 1));

		CHECK(n ==
		      min_u32(min_u32(want, f->cap - model_count(f)), contig));
	}
	k = k % (n + 1);
	for (i = 0; i < k; i++)
		entry_fill(e + (size_t)i * f->esize, f->esize, f->wseq + i);
	tas_ring_enqueue_commit(&f->p, k);
	CHECK(f->p.prod == prod0 + (tas_ring_bad(&f->p) ? 0 : k));
	if (tas_ring_bad(&f->p))
		k = 0;
	f->wseq += k;
}

static void op_peek(struct fuzz *f)
{
	uint32_t want = next_u8(f) % (2 * f->cap + 1), n = want, k, i;
	uint32_t cons0 = f->c.cons;
	bool bad0 = tas_ring_bad(&f->c);
	const unsigned char *e;

	k = next_u8(f);
	e = tas_ring_dequeue_peek(&f->c, &n);
	check_span(f, e, n);
	CHECK(n <= want);
	if (bad0)
		CHECK(n == 0);
	if (f->honest) {
		uint32_t contig = f->cap - (f->c.cons & (f->cap - 1));

		CHECK(n == min_u32(min_u32(want, model_count(f)), contig));
		for (i = 0; i < n; i++)
			CHECK(entry_ok(e + (size_t)i * f->esize, f->esize,
				       f->rseq + i));
	} else {
		/* Touch every byte handed out so ASan faults if it is out of
		 * bounds; volatile only keeps the loads (no synchronization). */
		volatile unsigned char sink = 0;

		for (i = 0; i < n * f->esize; i++)
			sink ^= e[i];
		(void)sink;
	}
	k = k % (n + 1);
	tas_ring_dequeue_commit(&f->c, k);
	if (tas_ring_bad(&f->c))
		k = 0;
	CHECK(f->c.cons == cons0 + k);
	f->rseq += k;
}

static void op_counts(struct fuzz *f)
{
	uint32_t cnt = tas_ring_count(&f->c);
	uint32_t room = tas_ring_free_count(&f->p);
	bool empty = tas_ring_empty(&f->c);

	CHECK(cnt <= f->cap && room <= f->cap);
	if (tas_ring_bad(&f->c))
		CHECK(cnt == 0 && empty);
	if (tas_ring_bad(&f->p))
		CHECK(room == 0);
	if (f->honest) {
		CHECK(cnt == model_count(f));
		CHECK(room == f->cap - model_count(f));
		CHECK(empty == (cnt == 0));
	}
}

static void op_reattach(struct fuzz *f, struct tas_ring *r)
{
	int ret = tas_ring_attach(r, f->shm, f->cap, f->esize);

	CHECK(ret == 0 || ret == -EPROTO);
	CHECK(r->prod - r->cons <= f->cap);
	if (ret)
		CHECK(tas_ring_bad(r));
	if (f->honest) {
		CHECK(ret == 0);
		/* An attached handle sees the shared indices: in honest mode
		 * they equal the model's. */
		CHECK(r->prod == (uint32_t)(f->start + f->wseq));
		CHECK(r->cons == (uint32_t)(f->start + f->rseq));
	}
}

static void run_op(struct fuzz *f, uint8_t op)
{
	uint32_t v;

	switch (op % OP_NR) {
	case OP_ENQ:
		op_enq(f);
		break;
	case OP_DEQ:
		op_deq(f);
		break;
	case OP_RESERVE:
		op_reserve(f);
		break;
	case OP_PEEK:
		op_peek(f);
		break;
	case OP_EVIL_PROD:
		atomic_store(&f->shm->prod, next_u32(f));
		f->honest = false;
		break;
	case OP_EVIL_CONS:
		atomic_store(&f->shm->cons, next_u32(f));
		f->honest = false;
		break;
	case OP_NUDGE_PROD:
		v = (uint32_t)(int32_t)(int8_t)next_u8(f);
		atomic_fetch_add(&f->shm->prod, v);
		f->honest = false;
		break;
	case OP_NUDGE_CONS:
		v = (uint32_t)(int32_t)(int8_t)next_u8(f);
		atomic_fetch_add(&f->shm->cons, v);
		f->honest = false;
		break;
	case OP_EVIL_SLOT:
		v = (uint32_t)next_u8(f) << 8;
		v = (v | next_u8(f)) % (f->cap * f->esize);
		f->shm->slots[v] = next_u8(f);
		f->honest = false;
		break;
	case OP_COUNTS:
		op_counts(f);
		break;
	case OP_REATTACH_CONS:
		op_reattach(f, &f->c);
		break;
	case OP_REATTACH_PROD:
		op_reattach(f, &f->p);
		break;
	case OP_RESET:
		ring_reset(f);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t esizes[] = { 8, 16, 24, 64 };
	struct fuzz f = { .in = data, .len = size };
	uint8_t geom;
	size_t bytes;
	void *mem;

	geom = next_u8(&f);
	f.cap = 1u << (geom & 7);
	f.esize = esizes[(geom >> 3) & 3];
	f.start = 0u - 3u * next_u8(&f);
	bytes = tas_ring_shm_size(f.cap, f.esize);
	CHECK(bytes == sizeof(struct tas_ring_shm) + (size_t)f.cap * f.esize);
	/* Exact size, so ASan flags any access past the last slot. */
	if (posix_memalign(&mem, TAS_RING_CACHELINE, bytes) != 0)
		return 0;
	memset(mem, 0, bytes);
	f.shm = mem;
	ring_reset(&f);
	while (f.pos < f.len) {
		run_op(&f, next_u8(&f));
		check_invariants(&f);
	}
	free(mem);
	return 0;
}
