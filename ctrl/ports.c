/* ports.c - local ports of active opens, one per (port, destination)
 *
 * A set of (remote address, remote port, local port) keys in an
 * open-addressing table with linear probing and backward-shift deletion.
 * A remote address of 0 is never connected to, so key 0 marks a free slot.
 */
#include <errno.h>
#include <stdlib.h>

#include "ctrl/ports.h"

#define PORTS_N (EPHEMERAL_HI - EPHEMERAL_LO + 1)
#define PORTS_CAP0 1024u

static uint64_t key_of(uint16_t port, uint32_t rip, uint16_t rport)
{
	return (uint64_t)rip << 32 | (uint64_t)rport << 16 | port;
}

static uint32_t slot_of(const struct port_table *t, uint64_t k)
{
	k *= 0x9e3779b97f4a7c15ull; /* Fibonacci hashing */
	return (uint32_t)(k >> 32) & (t->cap - 1);
}

static uint32_t find(const struct port_table *t, uint64_t k)
{
	uint32_t i = slot_of(t, k);

	while (t->keys[i] && t->keys[i] != k)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int grow(struct port_table *t)
{
	struct port_table g = { .cap = t->cap ? 2 * t->cap : PORTS_CAP0 };

	g.keys = calloc(g.cap, sizeof(*g.keys));
	if (!g.keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->keys[i])
			g.keys[find(&g, t->keys[i])] = t->keys[i];
	free(t->keys);
	t->keys = g.keys;
	t->cap = g.cap;
	return 0;
}

int ports_take(struct port_table *t, uint32_t rip, uint16_t rport)
{
	if (2 * (t->n + 1) > t->cap && grow(t))
		return -ENOMEM;
	for (uint32_t i = 0; i < PORTS_N; i++) {
		uint32_t p = (t->next + i) % PORTS_N;
		uint64_t k = key_of((uint16_t)(EPHEMERAL_LO + p), rip, rport);
		uint32_t s = find(t, k);

		if (t->keys[s])
			continue; /* connected to this destination already */
		t->keys[s] = k;
		t->n++;
		t->next = (p + 1) % PORTS_N;
		return (int)(EPHEMERAL_LO + p);
	}
	return -EADDRNOTAVAIL;
}

void ports_put(struct port_table *t, uint16_t port, uint32_t rip,
	       uint16_t rport)
{
	uint32_t i, j;

	if (!t->keys)
		return;
	i = find(t, key_of(port, rip, rport));
	if (!t->keys[i])
		return;
	/* backward shift: move up every key of the run that may not stay
	 * behind the hole */
	for (j = (i + 1) & (t->cap - 1); t->keys[j];
	     j = (j + 1) & (t->cap - 1)) {
		uint32_t home = slot_of(t, t->keys[j]);

		if (((j - home) & (t->cap - 1)) >= ((j - i) & (t->cap - 1))) {
			t->keys[i] = t->keys[j];
			i = j;
		}
	}
	t->keys[i] = 0;
	t->n--;
}

void ports_fini(struct port_table *t)
{
	free(t->keys);
	*t = (struct port_table){ 0 };
}
