/* fastpath.h - per-core fast path: the run-to-completion loop that owns one
 * NIC queue, its flows, and the app queues attached to it
 *
 * A core talks to the control thread only through SPSC rings (no locks on
 * the data path): commands and frames to send come in, exception frames
 * (ARP, ICMP, anything not TCP for us) and notifications go out. The one
 * exception is the app's connection-buffer pool, taken through callbacks
 * at connection setup and teardown (never per packet).
 */
#ifndef TAS_TCP_FASTPATH_H
#define TAS_TCP_FASTPATH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tas/abi.h"
#include "tas/ring.h"
#include "tcp/tcp.h"
#include "tcp/wire.h"
#include "verbs/nic.h"

/* Per-core counters. Written by the owning core only, summed by the control
 * thread (relaxed loads). Keep fp_stat_names in fastpath.c in sync. */
enum fp_stat {
	ST_RX_FRAMES,
	ST_RX_BYTES,
	ST_TX_FRAMES,
	ST_TX_BYTES,
	ST_TX_RING_FULL, /* NIC queue refused a frame; retried later */
	ST_EXC_FRAMES,	 /* handed to the control thread */
	ST_TCP_SEGS_IN,
	ST_TCP_SEGS_OUT,
	ST_RETRANS,
	ST_FAST_RETRANS,
	ST_TIMEOUTS,
	ST_TLP_PROBES,	/* tail loss probes sent (RFC 8985) */
	ST_OOO_SEGS,	/* data segments received out of order */
	ST_DUP_SEGS,	/* data segments received again (all old bytes) */
	ST_CONN_OPENED, /* reached ESTABLISHED */
	ST_CONN_RESET,
	ST_RST_SENT,
	ST_SYN_DROPPED,	  /* no listener slot, backlog or buffers */
	ST_DROP_PARSE,	  /* any pkt_err, split out below */
	ST_DROP_NOT_OURS, /* TCP to another IP */
	ST_DROP_NO_FLOW,  /* answered with RST */
	ST_DROP_EXC_FULL, /* exception ring to control thread full */
	ST_DROP_BAD_CMD,  /* app command failed validation */
	ST_DROP_BAD_RING, /* app queue indices impossible: ctx dropped */
	ST_EV_DEFERRED,	  /* app event ring full; retried */
	ST_ZC_TX_BYTES,	  /* payload bytes sent from app regions */
	ST_ZC_TX_BOUNCE,  /* zero-copy frames with too many pieces: copied */
	ST_ZC_RX_NOCOPY,  /* bytes the NIC placed into posted buffers */
	ST_ZC_RX_COPY,	  /* bytes copied from frames into posted buffers */
	ST_ZC_RX_RING,	  /* bytes of zero-copy flows that went to the ring */
	ST_ZC_BAD,	  /* zero-copy command refused: region/offset/len */
	ST_ZC_RX_UNSAFE,  /* segment bound for a buffer the NIC still fills */
	ST__FIXED_NR
};
#define ST_PKT_ERR_BASE ST__FIXED_NR /* + enum pkt_err */
#define ST__NR (ST__FIXED_NR + PKT_ERR__NR)

const char *fp_stat_name(unsigned i);

/* A frame crossing between control thread and core. */
#define FP_FRAME_MAX 2032
struct fp_frame {
	uint32_t len;
	uint8_t csum; /* enum nic_csum */
	uint8_t pad[11];
	uint8_t data[FP_FRAME_MAX];
};
_Static_assert(sizeof(struct fp_frame) == 2048, "fp_frame size");

enum fp_cmd_type {
	FP_CMD_CTX_ADD = 1, /* attach an app context's queues */
	FP_CMD_APP_DEL,	    /* app gone: reset its flows, drop its contexts;
			     * FP_NOTE_APP_DELETED follows */
	FP_CMD_LISTEN,	    /* add a listener (port may repeat: reuseport) */
	FP_CMD_LISTEN_CLOSE,
	FP_CMD_CONNECT, /* active open, buffers and MAC already resolved */
	FP_CMD_DUMP,	/* fill a connection snapshot for tasctl */
};

struct fp_dump_row {
	uint32_t local_ip, remote_ip;
	uint16_t local_port, remote_port;
	uint8_t state;
	uint32_t app_id;
	uint32_t snd_wnd, rcv_wnd, cwnd, srtt_us, rto_us;
	uint64_t bytes_in, bytes_out, retrans;
	uint32_t rx_avail, tx_queued;
	uint32_t flow_idx;
	uint64_t zc_tx, zc_rx_nocopy, zc_rx_copy; /* bytes, see ST_ZC_* */
};

struct fp_dump {
	struct fp_dump_row *rows;
	uint32_t max;
	uint32_t n;	  /* rows written */
	_Atomic int done; /* set (release) by the core when complete */
};

struct fp_app; /* the control thread's app, opaque to the core */

/* One zero-copy region of an app (flextcp_mem_alloc), in a table the
 * control thread owns and every core reads. The control thread fills
 * base/len/key, sets refs to 1 (its own) and then publishes id (release);
 * a core takes a reference per send extent or receive post it keeps
 * (fp_region_get), so a freed region (id 0, owner reference dropped) is
 * unmapped only once refs reaches 0 (app_region_sweep). */
struct fp_region {
	_Atomic uint32_t id; /* 0: free or being freed */
	_Atomic uint32_t refs;
	uint8_t *base;
	uint64_t len;
	uint32_t key; /* nic_reg_mem key */
	uint32_t pad;
};

struct fp_cmd {
	uint32_t type;
	uint32_t app_id;
	struct fp_app *app;
	uint16_t ctx_id;
	uint16_t port;
	uint32_t backlog;
	uint64_t user;
	union {
		struct {
			uint8_t *seg_base;
			uint64_t seg_size;
			uint32_t mem_key;
			uint64_t ctx_off; /* struct tas_ctx_shm */
			int evfd;
			struct fp_region *regions; /* TAS_MAX_REGIONS */
		} ctx;
		struct {
			uint32_t remote_ip; /* network order */
			uint16_t remote_port, local_port;
			uint8_t mac[6];
			uint32_t buf_slot;
		} conn;
		struct fp_dump *dump;
	};
};

enum fp_note_type {
	FP_NOTE_APP_DELETED = 1, /* the core no longer touches the app */
	FP_NOTE_LISTEN_DONE,	 /* a listener is active on this core */
	FP_NOTE_LISTEN_CLOSED,	 /* ... and gone again */
	FP_NOTE_PORT_FREE,	 /* active-open local port can be reused */
	FP_NOTE_CONNECT_FAILED,	 /* an active open found no flow slot: tell
				  * the app (kin) and free the port */
};

struct fp_note {
	uint32_t type;
	uint32_t app_id;
	uint16_t port;
	uint16_t ctx_id;      /* CONNECT_FAILED */
	uint16_t remote_port; /* PORT_FREE, CONNECT_FAILED: with port, */
	uint32_t remote_ip;   /* the destination the port was taken for */
	int32_t status;	      /* CONNECT_FAILED: negative errno */
	uint64_t user;	      /* LISTEN_*: the listener's app cookie;
			  * CONNECT_FAILED: the connection's */
};

/* Callbacks into the control thread's buffer pool (mutex-protected there;
 * called at connection setup/teardown only). */
struct fp_pool_ops {
	/* -> 0 and a slot, or -ENOMEM */
	int (*alloc)(struct fp_app *app, uint32_t *slot);
	void (*free)(struct fp_app *app, uint32_t slot);
	/* offsets of a slot's rings in the app segment */
	void (*offsets)(struct fp_app *app, uint32_t slot, uint64_t *rx_off,
			uint64_t *tx_off);
};

/* Service-wide settings every core reads (immutable after start). */
struct fp_shared {
	uint32_t ip; /* network order */
	uint8_t mac[6];
	uint16_t mtu;
	uint32_t rxbuf_size, txbuf_size;
	uint32_t max_flows;
	uint32_t idle_us; /* busy-poll this long before sleeping */
	bool cc_external; /* windows come from the control thread's CC */
	bool busy_poll;	  /* never sleep */
	struct tcp_cfg tcp;
	uint8_t isn_secret[16];
	struct fp_pool_ops pool;
};

/* Congestion-control exchange for one flow slot, in core memory. The core
 * writes the feedback (cumulative counters, relaxed stores: one writer);
 * the control thread reads them every --cc-interval, runs ctrl/cc.c and
 * publishes a window and a pacing rate with out_seq (release). The core
 * applies both when it sees a new out_seq (acquire). */
struct fp_cc_slot {
	_Atomic uint32_t gen;	    /* bumped when the slot gets a new flow */
	_Atomic uint32_t active;    /* 1 while an established flow uses it */
	_Atomic uint64_t acked;	    /* payload bytes acknowledged */
	_Atomic uint64_t ecn_acked; /* ... by ACKs carrying ECE */
	_Atomic uint32_t srtt_us, rtt_last_us;
	/* The engine's RTT samples since the flow opened here: how many and
	 * their sum. A pair, so written under a one-writer seqlock: rtt_seq
	 * is odd while the core changes them (fp_cc.c), and a reader keeps
	 * what it read only if rtt_seq was even and unchanged around it. */
	_Atomic uint32_t rtt_seq;
	_Atomic uint32_t rtt_samples;
	_Atomic uint64_t rtt_sum_us;
	_Atomic uint32_t fast_retx, timeouts;
	_Atomic uint32_t inflight, mss;
	_Atomic uint32_t out_cwnd; /* control thread -> core; 0: keep */
	_Atomic uint32_t out_seq;
	_Atomic uint64_t out_rate; /* bytes/s the core paces at; 0: none */
	uint32_t applied_seq;	   /* core only */
	uint32_t rtt_n0;   /* core only: the engine's sample count ... */
	uint64_t rtt_sum0; /* ... and sum when the flow opened here */
};

struct fp_core;

/* The core's CC slots (one per flow index) and the highest index in use
 * + 1, for the control thread's scan. */
struct fp_cc_slot *fp_core_cc_slots(struct fp_core *core, uint32_t *hiwater);

struct fp_core *fp_core_create(unsigned id, struct nic *nic, unsigned queue,
			       const struct fp_shared *sh);
void fp_core_destroy(struct fp_core *core);
int fp_core_start(struct fp_core *core, int cpu);
void fp_core_stop(struct fp_core *core);

/* Control-thread side of the core's rings. Each returns false when full. */
bool fp_core_post_cmd(struct fp_core *core, const struct fp_cmd *cmd);
bool fp_core_post_frame(struct fp_core *core, const void *frame, uint32_t len);
unsigned fp_core_take_exc(struct fp_core *core, struct fp_frame *frames,
			  unsigned n);
unsigned fp_core_take_notes(struct fp_core *core, struct fp_note *notes,
			    unsigned n);
/* fd the control thread polls: readable when exceptions/notes wait. */
int fp_core_ctrl_fd(struct fp_core *core);
/* Counters of this core (relaxed reads). */
void fp_core_stats(struct fp_core *core, uint64_t *out /* ST__NR */);
/* Doorbell eventfd apps kick (index == core id). */
int fp_core_doorbell_fd(struct fp_core *core);

/* One iteration of the loop (for tests and the wire-backend benches):
 * returns work done. */
unsigned fp_core_poll(struct fp_core *core, uint64_t now);

#endif /* TAS_TCP_FASTPATH_H */
