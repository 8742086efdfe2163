/* flow.c - per-core flow table: chained hash on the 4-tuple over a fixed
 * array of flows, with generation-tagged handles for apps
 *
 * Known gaps: fixed capacity chosen at start (--max-flows).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tas/abi.h"
#include "tcp/flow.h"

static uint32_t flow_hash(uint32_t rip, uint16_t rport, uint16_t lport)
{
	uint64_t h = ((uint64_t)rip << 32) | ((uint32_t)rport << 16) | lport;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

/**
 * flow_table_init - allocate a table of @cap flows (cap < 2^24)
 */
int flow_table_init(struct flow_table *t, uint32_t cap)
{
	uint32_t nb = 1, i;

	if (cap == 0 || cap > 0xffffff)
		return -EINVAL;
	while (nb < 2 * cap)
		nb <<= 1;
	memset(t, 0, sizeof(*t));
	t->flows = calloc(cap, sizeof(*t->flows));
	t->buckets = malloc(nb * sizeof(*t->buckets));
	if (!t->flows || !t->buckets) {
		free(t->flows);
		free(t->buckets);
		return -ENOMEM;
	}
	t->cap = cap;
	t->bmask = nb - 1;
	for (i = 0; i < nb; i++)
		t->buckets[i] = -1;
	for (i = 0; i < cap; i++)
		t->flows[i].hnext = (i + 1 < cap) ? (int32_t)(i + 1) : -1;
	t->free_head = 0;
	return 0;
}

/**
 * flow_table_fini - free the table's memory
 */
void flow_table_fini(struct flow_table *t)
{
	free(t->flows);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

/**
 * flow_alloc - take a free flow slot, zeroed but for its generation
 */
struct flow *flow_alloc(struct flow_table *t)
{
	struct flow *f;
	uint8_t gen;

	if (t->free_head < 0)
		return NULL;
	f = &t->flows[t->free_head];
	t->free_head = f->hnext;
	gen = f->gen;
	memset(f, 0, sizeof(*f));
	f->gen = gen;
	f->used = true;
	f->hnext = -1;
	if (flow_index(t, f) >= t->hiwater)
		t->hiwater = flow_index(t, f) + 1;
	f->buf_slot = UINT32_MAX;
	f->listener = -1;
	t->used++;
	return f;
}

/**
 * flow_insert - make @f findable by its 4-tuple
 */
void flow_insert(struct flow_table *t, struct flow *f)
{
	uint32_t b = flow_hash(f->tc.remote_ip, f->tc.remote_port,
			       f->tc.local_port) &
		     t->bmask;

	f->hnext = t->buckets[b];
	t->buckets[b] = (int32_t)flow_index(t, f);
}

/**
 * flow_free - unhash @f, free its slot, invalidate outstanding handles
 */
void flow_free(struct flow_table *t, struct flow *f)
{
	uint32_t b = flow_hash(f->tc.remote_ip, f->tc.remote_port,
			       f->tc.local_port) &
		     t->bmask;
	int32_t idx = (int32_t)flow_index(t, f), *pp = &t->buckets[b];

	while (*pp >= 0) {
		if (*pp == idx) {
			*pp = f->hnext;
			break;
		}
		pp = &t->flows[*pp].hnext;
	}
	f->used = false;
	f->gen++;
	f->hnext = t->free_head;
	t->free_head = idx;
	t->used--;
}

/**
 * flow_lookup - find the flow of a received segment
 */
struct flow *flow_lookup(struct flow_table *t, uint32_t remote_ip,
			 uint16_t remote_port, uint16_t local_port)
{
	int32_t i = t->buckets[flow_hash(remote_ip, remote_port, local_port) &
			       t->bmask];

	while (i >= 0) {
		struct flow *f = &t->flows[i];

		if (f->tc.remote_ip == remote_ip &&
		    f->tc.remote_port == remote_port &&
		    f->tc.local_port == local_port)
			return f;
		i = f->hnext;
	}
	return NULL;
}

/**
 * flow_from_handle - validate an app-supplied handle
 */
struct flow *flow_from_handle(struct flow_table *t, uint32_t handle)
{
	uint32_t idx = TAS_FLOW_IDX(handle);
	struct flow *f;

	if (idx >= t->cap)
		return NULL;
	f = &t->flows[idx];
	if (!f->used || f->gen != TAS_FLOW_GEN(handle))
		return NULL;
	return f;
}

/**
 * flow_handle - the handle apps use for @f
 */
uint32_t flow_handle(const struct flow_table *t, const struct flow *f)
{
	return TAS_FLOW_HANDLE(flow_index(t, f), f->gen);
}
