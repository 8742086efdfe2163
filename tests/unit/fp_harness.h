/* fp_harness.h - one fast-path core on an in-memory NIC with one app
 * context, for unit tests and fuzz targets (no real time, no threads)
 *
 * The NIC keeps injected frames in an RX queue and logs every frame the
 * core posts (flattened bytes plus its payload descriptors). Completions
 * are reported at once unless hold_completions is set. The app's segment
 * is laid out like the daemon lays one out: header, one context (kin,
 * arx[0], atx[0]) and FPH_NSLOTS connection buffer slots.
 */
#ifndef TESTS_UNIT_FP_HARNESS_H
#define TESTS_UNIT_FP_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "tas/abi.h"
#include "tas/ring.h"
#include "tcp/fastpath.h"
#include "tests/unit/kat/frame_build.h"

#define FPH_RXQ 64
#define FPH_TXLOG 512
#define FPH_NSLOTS 4
#define FPH_PEER_PORT 5000
#define FPH_PORT 80

struct fph_tx {
	uint8_t data[FB_MAX]; /* headers + payload, flattened */
	uint32_t len;
	struct nic_tx desc; /* as posted (hdr pointer not valid later) */
};

/* the app's segment, its buffer pool and its zero-copy regions */
struct fp_app {
	uint8_t *seg;
	uint64_t size;
	uint64_t slots_off;
	uint32_t slot_bytes;
	uint8_t used[FPH_NSLOTS];
	struct fp_region regions[TAS_MAX_REGIONS];
};

struct fph {
	struct nic nic;
	uint8_t rxq[FPH_RXQ][FB_MAX];
	uint32_t rxlen[FPH_RXQ];
	unsigned rx_head, rx_tail;
	uint8_t rx_cur[FPH_RXQ][FB_MAX];
	struct fph_tx *txlog; /* FPH_TXLOG entries, oldest overwritten */
	unsigned ntx;	      /* frames posted so far */
	uint64_t done[1024];
	unsigned ndone;
	bool hold_completions;

	/* receive placement (verbs/nic.h place_*), opt-in with place: one
	 * queue (id 0) that takes every injected frame while open, like a
	 * flow rule for the peer's 4-tuple */
	bool place;
	bool pl_open;
	uint16_t pl_hdr;
	struct {
		uint8_t *addr;
		uint32_t len;
		uint64_t cookie;
	} pl_wqe[512];
	unsigned pl_head, pl_n;
	unsigned pl_opens, pl_closes, pl_drops;
	uint8_t pl_hdrs[FPH_RXQ][128];

	struct nic *use;  /* the NIC the core runs on: &nic or another */
	bool seg_reg;	  /* the app's segment is registered with use */
	uint32_t seg_key; /* its key (the context's mem_key) */
	struct fp_shared sh;
	struct fp_app app;
	struct tas_ctx_shm *cs;
	struct fp_core *core;
	struct tas_ring atx, arx;
	uint64_t now;
	uint32_t peer_seq; /* next sequence the peer sends */
	uint32_t our_seq;  /* next sequence we send (peer's ack point) */
	uint32_t flow;	   /* handle of the established flow */
	/* the app's receive position, as libtas keeps it (fph_cmd,
	 * fph_saw_event): bytes announced, and where the next post starts */
	uint32_t app_pos, next_at;
	unsigned posts_out;
	uint64_t rx_off, tx_off; /* its rings in the segment */
};

/* Core and app with rings of @bufsize bytes per connection; 0 or -1. */
int fph_init(struct fph *h, uint32_t bufsize);
/* The same on another NIC (e.g. the ibv backend over the verbs double);
 * fph_inject and the TX log then do not apply: the test drives @nic. The
 * app's segment is registered with @nic (deregistered by fph_fini) and
 * its key is the context's mem_key, as the control thread does, so ring
 * bytes can be sent from it. */
int fph_init_nic(struct fph *h, uint32_t bufsize, struct nic *nic);
void fph_fini(struct fph *h);
/* Queue a segment from the peer (198.18.0.2:5000 -> 198.18.0.1:80). */
void fph_inject(struct fph *h, struct tcp_hdr *t, const uint8_t *pl,
		size_t plen);
/* Advance the clock by @dt_ns and run the core once. */
void fph_poll(struct fph *h, uint64_t dt_ns);
/* Post the listener on port 80 (user 7, backlog 4) and run the core. */
void fph_listen(struct fph *h);
/* Listener on port 80 and a handshake from the peer; true if the app got
 * CONN_NEW (h->flow set). */
bool fph_establish(struct fph *h);
/* The most recent frame posted @back frames ago (0: the last), or NULL. */
const struct fph_tx *fph_tx_at(const struct fph *h, unsigned back);
/* Queue an app command for the flow; TAS_CMD_RX_POST goes with the
 * TAS_CMD_RX_AT libtas would send before it. */
void fph_cmd(struct fph *h, uint8_t type, uint16_t region, uint32_t off,
	     uint32_t len);
/* Events of @type among @ev[0..n) and the sum of their a fields. */
unsigned fph_count_ev(const struct tas_ev *ev, unsigned n, uint8_t type,
		      uint64_t *sum);
/* Account an event the app read (its receive position). */
void fph_saw_event(struct fph *h, const struct tas_ev *ev);
/* Publish region slot @idx with @id over @mem, like the control thread. */
void fph_region(struct fph *h, unsigned idx, uint16_t id, void *mem,
		uint64_t len, uint32_t key);

#endif /* TESTS_UNIT_FP_HARNESS_H */
