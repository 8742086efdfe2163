/* SPDX-License-Identifier: MIT */
/*
 * ring.h - single-producer/single-consumer ring of fixed-size entries in
 * shared memory, between an app (libtas) and the service's fast path.
 *
 * Part of the versioned app<->service ABI (include/tas/): header-only, libc
 * and C11 <stdatomic.h> only, so client/ and the service both include it.
 *
 * Who does what
 * -------------
 * Exactly one producer and one consumer, each in its own address space (or
 * thread). The memfd holding struct tas_ring_shm is mapped by both sides at
 * different addresses, so shared memory holds no pointers, only two indices
 * and the slots:
 *
 *   field   written by   read by    meaning
 *   prod    producer     consumer   entries [cons, prod) are filled
 *   cons    consumer     producer   entries before cons may be reused
 *   slots   producer     consumer   cap entries of esize bytes each
 *
 * Which side produces is fixed per ring by the queue that uses it (for
 * example app->service command queues are produced by the app, service->app
 * event queues by the service); the ring itself only knows "producer" and
 * "consumer". Each side keeps a private handle, struct tas_ring, that holds
 * its own authoritative copy of the index it writes, a cached copy of the
 * other side's index, and its own copies of the capacity and entry size
 * given at init/attach. Nothing about the geometry is read from shared
 * memory, and a side never reads its own index back from shared memory.
 *
 * Indices are free-running uint32_t counters (they wrap at 2^32), masked with
 * cap - 1 only when a slot is addressed; cap is a power of two <= 2^31, so
 * prod - cons (mod 2^32) is the fill level.
 *
 * Memory ordering (C11 acquire/release, no volatile, no full fences)
 * ------------------------------------------------------------------
 * - Producer, after copying entries into slots:
 *     atomic_store_explicit(&prod, p, release)
 *   orders the slot writes before the new prod becomes visible.
 * - Consumer, before reading slots:
 *     atomic_load_explicit(&prod, acquire)
 *   pairs with the store above: slot reads after it see the entries written
 *   before the producer published prod.
 * - Consumer, after copying entries out of slots:
 *     atomic_store_explicit(&cons, c, release)
 *   orders the slot reads before the slots are handed back.
 * - Producer, before overwriting slots:
 *     atomic_load_explicit(&cons, acquire)
 *   pairs with the store above: the producer's later slot writes cannot
 *   overtake the consumer's reads of those slots.
 * A burst does at most one acquire load of the other side's index (only when
 * the cached copy says there is not enough room or entries) and exactly one
 * release store of its own index (none when it moves nothing).
 *
 * Untrusted peer
 * --------------
 * The two sides do not trust each other; either may write any bytes into the
 * shared page at any time. Every index read from the other side is checked
 * before any slot is touched:
 *   - the consumer accepts a producer index only if (prod - cons) <= cap;
 *   - the producer accepts a consumer index only if (prod - cons) <= cap.
 * An impossible value (ahead by more than cap, behind the reader, random)
 * sets the sticky r->bad flag and the operation returns 0. From then on every
 * operation on that handle returns 0 (or NULL) and moves nothing: the owner
 * of the ring is expected to notice tas_ring_bad(), count it and tear down
 * the queue. No operation loops, and no slot outside [0, cap) is ever
 * addressed, whatever shared memory contains. An honest peer can never
 * trigger the flag.
 *
 * The slot contents remain the other side's bytes: a consumer using the
 * zero-copy accessors must read each field of an entry once (copy, then
 * validate) because a hostile producer may change it concurrently.
 */
#ifndef TAS_RING_H
#define TAS_RING_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bumped when struct tas_ring_shm changes; carried by the segment header. */
#define TAS_RING_ABI_VERSION 1

/* Cache line size the layout is built for. */
#define TAS_RING_CACHELINE 64

/* Largest capacity: keeps (prod - cons) <= cap meaningful in uint32_t. */
#define TAS_RING_CAP_MAX (UINT32_C(1) << 31)

/**
 * struct tas_ring_shm - shared-memory part of a ring (lives in the memfd)
 * @prod: producer index; written only by the producer (release), read by
 *        the consumer (acquire). Alone on the first cache line.
 * @pad0: keeps @cons off the producer's line.
 * @cons: consumer index; written only by the consumer (release), read by
 *        the producer (acquire). Alone on the second cache line.
 * @pad1: keeps the slots off the consumer's line.
 * @slots: cap entries of esize bytes; entry i lives at i & (cap - 1).
 *
 * Must be placed at a 64-byte aligned address; tas_ring_shm_size() bytes.
 * The slot array starts 64-byte aligned, so every entry is aligned to the
 * largest power of two (up to 64) that divides esize: use an esize that is
 * a multiple of the entry type's alignment for the zero-copy accessors.
 */
struct tas_ring_shm {
	_Alignas(TAS_RING_CACHELINE) _Atomic uint32_t prod;
	uint8_t pad0[TAS_RING_CACHELINE - sizeof(uint32_t)];
	_Atomic uint32_t cons;
	uint8_t pad1[TAS_RING_CACHELINE - sizeof(uint32_t)];
	unsigned char slots[];
};

_Static_assert(sizeof(_Atomic uint32_t) == 4, "atomic index is 4 bytes");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
	       "indices must be lock-free to be shared between processes");
_Static_assert(offsetof(struct tas_ring_shm, prod) == 0, "prod at 0");
_Static_assert(offsetof(struct tas_ring_shm, cons) == TAS_RING_CACHELINE,
	       "cons on its own cache line");
_Static_assert(offsetof(struct tas_ring_shm, slots) == 2 * TAS_RING_CACHELINE,
	       "slots start on the third cache line");
_Static_assert(sizeof(struct tas_ring_shm) == 2 * TAS_RING_CACHELINE,
	       "ring header is two cache lines");
_Static_assert(_Alignof(struct tas_ring_shm) == TAS_RING_CACHELINE,
	       "ring header is cache-line aligned");

/**
 * struct tas_ring - one side's private handle on a ring (never in shm)
 * @shm:   the shared part, at this side's mapping address
 * @slots: @shm->slots, cached
 * @mask:  cap - 1, this side's own copy (never read from shm)
 * @esize: entry size in bytes, this side's own copy
 * @prod:  producer index: authoritative on the producer side, last
 *         validated value read from shm on the consumer side
 * @cons:  consumer index: authoritative on the consumer side, last
 *         validated value read from shm on the producer side
 * @bad:   sticky: set when the other side published an impossible index;
 *         every later operation on this handle moves nothing
 *
 * Invariant, whatever the peer does: @prod - @cons <= @mask + 1.
 */
struct tas_ring {
	struct tas_ring_shm *shm;
	unsigned char *slots;
	uint32_t mask;
	uint32_t esize;
	uint32_t prod;
	uint32_t cons;
	bool bad;
};

/* Geometry check shared by init, attach and shm_size. */
static inline bool tas_ring_geom_ok(uint32_t cap, uint32_t esize)
{
	if (cap == 0 || cap > TAS_RING_CAP_MAX || (cap & (cap - 1)) != 0)
		return false;
	if (esize == 0)
		return false;
	/* cap * esize + header must fit in size_t (matters on 32-bit). */
	if ((uint64_t)cap * esize >
	    (uint64_t)(SIZE_MAX - 2 * TAS_RING_CACHELINE))
		return false;
	return true;
}

/**
 * tas_ring_shm_size - bytes of shared memory a ring needs
 * @cap:   number of entries, a power of two in [1, 2^31]
 * @esize: bytes per entry, > 0
 *
 * Return: sizeof(struct tas_ring_shm) + cap * esize, or 0 if @cap or @esize
 * is invalid.
 */
static inline size_t tas_ring_shm_size(uint32_t cap, uint32_t esize)
{
	if (!tas_ring_geom_ok(cap, esize))
		return 0;
	return sizeof(struct tas_ring_shm) + (size_t)cap * esize;
}

/* Common part of init and attach: validate, fill the private handle. */
static inline int tas_ring_setup(struct tas_ring *r, void *shm, uint32_t cap,
				 uint32_t esize)
{
	if (r == NULL)
		return -EINVAL;
	/* Inert until proven good: a failed init/attach leaves a handle on
	 * which every operation moves nothing. */
	*r = (struct tas_ring){ .bad = true };
	if (shm == NULL || !tas_ring_geom_ok(cap, esize))
		return -EINVAL;
	if ((uintptr_t)shm % TAS_RING_CACHELINE != 0)
		return -EINVAL;
	r->shm = shm;
	r->slots = r->shm->slots;
	r->mask = cap - 1;
	r->esize = esize;
	r->prod = 0;
	r->cons = 0;
	r->bad = false;
	return 0;
}

/**
 * tas_ring_init - create a ring in fresh shared memory (creating side)
 * @r:     handle to fill
 * @shm:   tas_ring_shm_size(@cap, @esize) bytes, 64-byte aligned
 * @cap:   number of entries, a power of two in [1, 2^31]
 * @esize: bytes per entry, > 0
 *
 * Zeroes both indices. Must run before the memory is handed to the peer
 * (the fd passing that follows orders these stores before the peer's loads).
 *
 * Return: 0, or -EINVAL for a bad @cap, @esize or @shm (then @r, if not
 * NULL, is left marked bad and every operation on it moves nothing).
 */
static inline int tas_ring_init(struct tas_ring *r, void *shm, uint32_t cap,
				uint32_t esize)
{
	int ret = tas_ring_setup(r, shm, cap, esize);

	if (ret)
		return ret;
	/* relaxed: nobody else sees the memory yet */
	atomic_store_explicit(&r->shm->prod, 0, memory_order_relaxed);
	atomic_store_explicit(&r->shm->cons, 0, memory_order_relaxed);
	return 0;
}

/**
 * tas_ring_attach - open a ring that the other side created
 * @r:     handle to fill
 * @shm:   this side's mapping of the ring, 64-byte aligned
 * @cap:   number of entries, as agreed out of band (never read from shm)
 * @esize: bytes per entry, as agreed out of band
 *
 * Does not reset the indices: both are read from @shm (cons first, then
 * prod, so that a peer already running honestly cannot make them look
 * inconsistent) and become the handle's starting point.
 *
 * Return: 0; -EINVAL for a bad @cap, @esize or @shm; -EPROTO if the indices
 * in @shm are impossible ((prod - cons) > cap). On either error @r (if not
 * NULL) is left marked bad and every operation on it moves nothing.
 */
static inline int tas_ring_attach(struct tas_ring *r, void *shm, uint32_t cap,
				  uint32_t esize)
{
	int ret = tas_ring_setup(r, shm, cap, esize);

	if (ret)
		return ret;
	/* acquire: whatever the creator wrote before publishing is visible */
	r->cons = atomic_load_explicit(&r->shm->cons, memory_order_acquire);
	/* acquire: slot contents up to prod are visible to this side */
	r->prod = atomic_load_explicit(&r->shm->prod, memory_order_acquire);
	if (r->prod - r->cons > cap) {
		r->prod = r->cons;
		r->bad = true;
		return -EPROTO;
	}
	return 0;
}

/**
 * tas_ring_cap - capacity of a ring
 * @r: handle
 *
 * Return: the number of entries the ring holds (this side's own copy).
 */
static inline uint32_t tas_ring_cap(const struct tas_ring *r)
{
	return r->mask + 1;
}

/**
 * tas_ring_bad - whether the other side has published an impossible index
 * @r: handle
 *
 * Return: true once any operation saw a corrupt index; sticky.
 */
static inline bool tas_ring_bad(const struct tas_ring *r)
{
	return r->bad;
}

/*
 * Slow path of the consumer: re-read the producer index (the one acquire
 * load of a burst) and accept it only if it is within cap of our cons.
 */
static inline bool tas_ring_refresh_prod(struct tas_ring *r)
{
	/* acquire: pairs with the producer's release of prod; orders our
	 * following slot reads after its slot writes */
	uint32_t p = atomic_load_explicit(&r->shm->prod, memory_order_acquire);

	if (p - r->cons > tas_ring_cap(r)) {
		r->bad = true;
		return false;
	}
	r->prod = p;
	return true;
}

/*
 * Slow path of the producer: re-read the consumer index (the one acquire
 * load of a burst) and accept it only if it is within cap of our prod.
 */
static inline bool tas_ring_refresh_cons(struct tas_ring *r)
{
	/* acquire: pairs with the consumer's release of cons; orders our
	 * following slot writes after its slot reads */
	uint32_t c = atomic_load_explicit(&r->shm->cons, memory_order_acquire);

	if (r->prod - c > tas_ring_cap(r)) {
		r->bad = true;
		return false;
	}
	r->cons = c;
	return true;
}

/* Entries the producer can write, refreshing cons only if below @want. */
static inline uint32_t tas_ring_prod_room(struct tas_ring *r, uint32_t want)
{
	uint32_t room;

	if (r->bad)
		return 0;
	room = tas_ring_cap(r) - (r->prod - r->cons);
	if (room < want) {
		if (!tas_ring_refresh_cons(r))
			return 0;
		room = tas_ring_cap(r) - (r->prod - r->cons);
	}
	return room;
}

/* Entries the consumer can read, refreshing prod only if below @want. */
static inline uint32_t tas_ring_cons_avail(struct tas_ring *r, uint32_t want)
{
	uint32_t avail;

	if (r->bad)
		return 0;
	avail = r->prod - r->cons;
	if (avail < want) {
		if (!tas_ring_refresh_prod(r))
			return 0;
		avail = r->prod - r->cons;
	}
	return avail;
}

/* Publish the producer index: the one release store of a burst. */
static inline void tas_ring_publish_prod(struct tas_ring *r)
{
	/* release: orders our slot writes before the new prod is visible */
	atomic_store_explicit(&r->shm->prod, r->prod, memory_order_release);
}

/* Publish the consumer index: the one release store of a burst. */
static inline void tas_ring_publish_cons(struct tas_ring *r)
{
	/* release: orders our slot reads before the slots are handed back */
	atomic_store_explicit(&r->shm->cons, r->cons, memory_order_release);
}

/**
 * tas_ring_enqueue_burst - copy up to @n entries into the ring (producer)
 * @r:       producer handle
 * @entries: @n entries of esize bytes each, contiguous
 * @n:       number of entries offered
 *
 * Copies whole entries only, as many as fit, in order, then publishes them
 * with one release store.
 *
 * Return: number of entries enqueued, 0..@n; 0 also when the ring is bad.
 */
static inline uint32_t tas_ring_enqueue_burst(struct tas_ring *r,
					      const void *entries, uint32_t n)
{
	const unsigned char *src = entries;
	uint32_t room, idx, first;

	room = tas_ring_prod_room(r, n);
	if (n > room)
		n = room;
	if (n == 0)
		return 0;
	idx = r->prod & r->mask;
	first = tas_ring_cap(r) - idx;
	if (first > n)
		first = n;
	memcpy(r->slots + (size_t)idx * r->esize, src,
	       (size_t)first * r->esize);
	if (n > first)
		memcpy(r->slots, src + (size_t)first * r->esize,
		       (size_t)(n - first) * r->esize);
	r->prod += n;
	tas_ring_publish_prod(r);
	return n;
}

/**
 * tas_ring_dequeue_burst - copy up to @n entries out of the ring (consumer)
 * @r:       consumer handle
 * @entries: room for @n entries of esize bytes each
 * @n:       number of entries wanted
 *
 * Copies whole entries, in order, then hands their slots back with one
 * release store.
 *
 * Return: number of entries dequeued, 0..@n; 0 also when the ring is bad.
 */
static inline uint32_t tas_ring_dequeue_burst(struct tas_ring *r, void *entries,
					      uint32_t n)
{
	unsigned char *dst = entries;
	uint32_t avail, idx, first;

	avail = tas_ring_cons_avail(r, n);
	if (n > avail)
		n = avail;
	if (n == 0)
		return 0;
	idx = r->cons & r->mask;
	first = tas_ring_cap(r) - idx;
	if (first > n)
		first = n;
	memcpy(dst, r->slots + (size_t)idx * r->esize,
	       (size_t)first * r->esize);
	if (n > first)
		memcpy(dst + (size_t)first * r->esize, r->slots,
		       (size_t)(n - first) * r->esize);
	r->cons += n;
	tas_ring_publish_cons(r);
	return n;
}

/**
 * tas_ring_enqueue_reserve - zero-copy: free slots to write in place
 * @r: producer handle
 * @n: in: entries wanted; out: contiguous free entries at the returned
 *     address (0..in), never past the end of the slot array
 *
 * Nothing is published until tas_ring_enqueue_commit().
 *
 * Return: address of the first free slot, or NULL with *@n = 0.
 */
static inline void *tas_ring_enqueue_reserve(struct tas_ring *r, uint32_t *n)
{
	uint32_t room = tas_ring_prod_room(r, *n);
	uint32_t idx = r->prod & r->mask;
	uint32_t contig = tas_ring_cap(r) - idx;

	if (room > contig)
		room = contig;
	if (*n > room)
		*n = room;
	if (*n == 0)
		return NULL;
	return r->slots + (size_t)idx * r->esize;
}

/**
 * tas_ring_enqueue_commit - publish entries written after a reserve
 * @r: producer handle
 * @n: entries written, at most what tas_ring_enqueue_reserve() returned
 *
 * Clamped to the free room as this handle knows it, so a caller bug cannot
 * break the index invariant. One release store; nothing when @n is 0 or the
 * ring is bad.
 */
static inline void tas_ring_enqueue_commit(struct tas_ring *r, uint32_t n)
{
	uint32_t room = tas_ring_cap(r) - (r->prod - r->cons);

	if (r->bad)
		return;
	if (n > room)
		n = room;
	if (n == 0)
		return;
	r->prod += n;
	tas_ring_publish_prod(r);
}

/**
 * tas_ring_dequeue_peek - zero-copy: filled entries to read in place
 * @r: consumer handle
 * @n: in: entries wanted; out: contiguous filled entries at the returned
 *     address (0..in), never past the end of the slot array
 *
 * The entries stay owned by the consumer until tas_ring_dequeue_commit().
 * They are the producer's bytes: read each field once before trusting it.
 *
 * Return: address of the first filled entry, or NULL with *@n = 0.
 */
static inline const void *tas_ring_dequeue_peek(struct tas_ring *r, uint32_t *n)
{
	uint32_t avail = tas_ring_cons_avail(r, *n);
	uint32_t idx = r->cons & r->mask;
	uint32_t contig = tas_ring_cap(r) - idx;

	if (avail > contig)
		avail = contig;
	if (*n > avail)
		*n = avail;
	if (*n == 0)
		return NULL;
	return r->slots + (size_t)idx * r->esize;
}

/**
 * tas_ring_dequeue_commit - hand back entries consumed after a peek
 * @r: consumer handle
 * @n: entries consumed, at most what tas_ring_dequeue_peek() returned
 *
 * Clamped to the entries this handle knows are filled. One release store;
 * nothing when @n is 0 or the ring is bad.
 */
static inline void tas_ring_dequeue_commit(struct tas_ring *r, uint32_t n)
{
	uint32_t avail = r->prod - r->cons;

	if (r->bad)
		return;
	if (n > avail)
		n = avail;
	if (n == 0)
		return;
	r->cons += n;
	tas_ring_publish_cons(r);
}

/**
 * tas_ring_count - filled entries, as the consumer sees them
 * @r: consumer handle
 *
 * Re-reads the producer index (one acquire load) and validates it.
 *
 * Return: entries ready to dequeue, 0..cap; 0 when the ring is bad.
 */
static inline uint32_t tas_ring_count(struct tas_ring *r)
{
	if (r->bad || !tas_ring_refresh_prod(r))
		return 0;
	return r->prod - r->cons;
}

/**
 * tas_ring_free_count - free slots, as the producer sees them
 * @r: producer handle
 *
 * Re-reads the consumer index (one acquire load) and validates it.
 *
 * Return: entries that can be enqueued, 0..cap; 0 when the ring is bad.
 */
static inline uint32_t tas_ring_free_count(struct tas_ring *r)
{
	if (r->bad || !tas_ring_refresh_cons(r))
		return 0;
	return tas_ring_cap(r) - (r->prod - r->cons);
}

/**
 * tas_ring_empty - whether the consumer has nothing to dequeue
 * @r: consumer handle
 *
 * Uses the cached producer index first and re-reads it only when that says
 * empty.
 *
 * Return: true if no entry is ready (also when the ring is bad).
 */
static inline bool tas_ring_empty(struct tas_ring *r)
{
	return tas_ring_cons_avail(r, 1) == 0;
}

#endif /* TAS_RING_H */
