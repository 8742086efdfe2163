/* flow.h - per-core flow table: 4-tuple -> flow, fixed capacity, handles
 * with generations so stale app handles are refused
 */
#ifndef TAS_TCP_FLOW_H
#define TAS_TCP_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/tcp.h"

struct fp_app;
struct fp_zc;

struct flow {
	struct tcp_conn tc;
	bool used;
	bool passive;	  /* from a listener: CONN_NEW, else CONN_OPEN */
	bool open_posted; /* CONN_NEW/CONN_OPEN event delivered */
	bool app_closed;  /* TAS_CMD_CLOSE seen: no more app events */
	bool closed_due;  /* ... but its TAS_EV_CLOSED is still to post */
	bool moved_due;	  /* TAS_EV_MOVED found the event ring full */
	bool dead;	  /* engine reached CLOSED / reset: waits for the
			     * app's close before the slot is reused */
	bool dirty;	  /* on the output list */
	bool notify;	  /* on the event list */
	uint8_t gen;
	uint8_t mac[6]; /* next hop */
	int ctx;	/* index of the owning context on this core */
	int listener;	/* passive: listener index until CONN_NEW */
	struct fp_app *app;
	uint32_t app_id;
	uint64_t user;	   /* app cookie (active opens) */
	uint32_t buf_slot; /* UINT32_MAX: none held */
	uint64_t rx_off, tx_off;
	/* events not yet delivered (coalesced) */
	uint32_t ev_rx, ev_txfreed, ev_flags;
	bool cc_on;    /* reporting to the control thread's CC */
	bool last_ece; /* the segment being processed had ECE */
	uint32_t cc_fr0, cc_to0, cc_to_seen;
	uint64_t pace_rate;   /* bytes/s from the control thread, 0: unpaced */
	uint64_t pace_vt;     /* token bucket: time it was (or will be) empty */
	uint32_t tx_hold;     /* acked send-ring bytes not yet released */
	uint64_t tx_hold_tag; /* ...until the core's tx_done reaches this */
	int ev_err;
	struct fp_zc *zc; /* zero-copy sends and posts (fp_zc.c), or NULL */
	int32_t hnext;	  /* hash chain */
};

struct flow_table {
	struct flow *flows;
	uint32_t cap;
	uint32_t used;
	uint32_t hiwater; /* every used slot is below (scans stop here);
			   * freed slots are reused first (LIFO), so the
			   * used ones stay packed low */
	int32_t *buckets; /* heads of hash chains, -1 = empty */
	uint32_t bmask;
	int32_t free_head; /* free list through hnext */
};

int flow_table_init(struct flow_table *t, uint32_t cap);
void flow_table_fini(struct flow_table *t);
/* Allocate a slot (not yet in the hash); NULL when full. */
struct flow *flow_alloc(struct flow_table *t);
void flow_insert(struct flow_table *t, struct flow *f);
/* Remove from the hash (if hashed) and free the slot; bumps gen. */
void flow_free(struct flow_table *t, struct flow *f);
struct flow *flow_lookup(struct flow_table *t, uint32_t remote_ip,
			 uint16_t remote_port, uint16_t local_port);
/* Flow from an app handle, NULL if stale or out of range. */
struct flow *flow_from_handle(struct flow_table *t, uint32_t handle);
uint32_t flow_handle(const struct flow_table *t, const struct flow *f);
static inline uint32_t flow_index(const struct flow_table *t,
				  const struct flow *f)
{
	return (uint32_t)(f - t->flows);
}

#endif /* TAS_TCP_FLOW_H */
