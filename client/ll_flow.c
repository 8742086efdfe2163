/*
 * ll_flow.c - libtas per-context flow table: (fast-path core, flow handle)
 * to the connection that owns it, so that service events are matched
 * against the library's own state and their cookies never dereferenced
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones); grown at half load. Single-threaded: a context is used by
 * one thread at a time.
 */
#include <errno.h>
#include <stdlib.h>

#include "libtas.h"

static uint64_t flow_key(uint8_t core, uint32_t flow)
{
	return ((uint64_t)core << 32) | flow;
}

static uint32_t flow_slot(const struct libtas_ctx *p, uint64_t key)
{
	/* Fibonacci hashing: the top bits of the product are well mixed */
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) &
	       (p->flow_cap - 1);
}

static int flow_grow(struct libtas_ctx *p)
{
	uint32_t ocap = p->flow_cap, ncap = ocap * 2;
	struct libtas_flow_slot *old = p->flows, *n;

	n = calloc(ncap, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	p->flows = n;
	p->flow_cap = ncap;
	p->nflows = 0;
	for (uint32_t i = 0; i < ocap; i++)
		if (old[i].conn)
			libtas_flow_insert(p, old[i].conn);
	free(old);
	return 0;
}

/**
 * libtas_flow_insert - map (core, flow) of @c to @c, replacing any entry
 * @p: context state
 * @c: connection with core_ and flow_ set
 *
 * Return: 0 or -ENOMEM.
 */
int libtas_flow_insert(struct libtas_ctx *p, struct flextcp_connection *c)
{
	uint64_t key = flow_key(c->core_, c->flow_);
	uint32_t i;

	for (i = flow_slot(p, key); p->flows[i].conn;
	     i = (i + 1) & (p->flow_cap - 1)) {
		if (p->flows[i].key == key) {
			p->flows[i].conn = c; /* replacing never fails */
			return 0;
		}
	}
	if ((p->nflows + 1) * 2 > p->flow_cap) {
		if (flow_grow(p) < 0)
			return -ENOMEM;
		for (i = flow_slot(p, key); p->flows[i].conn;
		     i = (i + 1) & (p->flow_cap - 1))
			;
	}
	p->flows[i].key = key;
	p->flows[i].conn = c;
	p->nflows++;
	return 0;
}

/**
 * libtas_flow_find - look up a flow of this context
 * @p:    context state
 * @core: fast-path core from the event
 * @flow: flow handle from the event
 *
 * Return: the connection, or NULL.
 */
struct flextcp_connection *libtas_flow_find(struct libtas_ctx *p, uint8_t core,
					    uint32_t flow)
{
	uint64_t key = flow_key(core, flow);

	for (uint32_t i = flow_slot(p, key); p->flows[i].conn;
	     i = (i + 1) & (p->flow_cap - 1))
		if (p->flows[i].key == key)
			return p->flows[i].conn;
	return NULL;
}

/**
 * libtas_flow_remove - forget a flow of this context
 * @p:    context state
 * @core: fast-path core
 * @flow: flow handle
 */
void libtas_flow_remove(struct libtas_ctx *p, uint8_t core, uint32_t flow)
{
	uint64_t key = flow_key(core, flow);
	uint32_t mask = p->flow_cap - 1, i, j;

	for (i = flow_slot(p, key); p->flows[i].conn; i = (i + 1) & mask)
		if (p->flows[i].key == key)
			break;
	if (p->flows[i].conn == NULL)
		return;
	/* backward shift: pull later entries of the cluster into the hole
	 * unless their home slot lies cyclically in (i, j] */
	for (j = (i + 1) & mask; p->flows[j].conn; j = (j + 1) & mask) {
		uint32_t home = flow_slot(p, p->flows[j].key);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			p->flows[i] = p->flows[j];
			i = j;
		}
	}
	p->flows[i].conn = NULL;
	p->flows[i].key = 0;
	p->nflows--;
}
