/* ports.h - local ports of active opens
 *
 * A local port is taken per (local port, remote address, remote port), as
 * Linux's connect() does: one port serves every destination it is not yet
 * connected to, so a client of many servers is not limited to one port
 * range in all. Control thread only.
 */
#ifndef TAS_CTRL_PORTS_H
#define TAS_CTRL_PORTS_H

#include <stdint.h>

#define EPHEMERAL_LO 32768
#define EPHEMERAL_HI 60999

struct port_table {
	uint64_t *keys; /* open addressing, 0 = empty; NULL until first use */
	uint32_t cap;	/* slots, a power of two */
	uint32_t n;	/* (port, destination) pairs taken */
	uint32_t next;	/* where the next search starts, 0-based */
};

/* A free local port towards @rip:@rport (network byte order address, host
 * order port), taken; -EADDRNOTAVAIL when every port is connected to that
 * destination, -ENOMEM. */
int ports_take(struct port_table *t, uint32_t rip, uint16_t rport);
/* Give back what ports_take() returned; unknown triples are ignored. */
void ports_put(struct port_table *t, uint16_t port, uint32_t rip,
	       uint16_t rport);
void ports_fini(struct port_table *t);

#endif
