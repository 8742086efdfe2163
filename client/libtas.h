/*
 * libtas.h - internal header of libtas (client/): process state, per-context
 * state and the helpers shared by libtas.c (init, contexts, polling, waiting)
 * and ll_conn.c (listeners, connections, event translation)
 *
 * Only include/ headers and libc. Nothing here is exported from libtas.so
 * (client/libtas.map exports flextcp_* only).
 */
#ifndef CLIENT_LIBTAS_H
#define CLIENT_LIBTAS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <tas_ll.h>
#include "tas/abi.h"
#include "tas/ring.h"

/* Marks the flextcp_* API; everything else is hidden (-fvisibility). */
#define LIBTAS_API __attribute__((visibility("default")))

#define LIBTAS_CTX_MAGIC 0x4c4c4354u /* "TCLL" */

/* Why an event from the service was dropped (per-context counters). */
enum libtas_drop {
	LIBTAS_DROP_BAD_TYPE,  /* unknown event type */
	LIBTAS_DROP_BAD_FLOW,  /* flow handle/core not known here */
	LIBTAS_DROP_BAD_USER,  /* cookie is none of our listeners/conns */
	LIBTAS_DROP_BAD_LEN,   /* count beyond the connection's ring */
	LIBTAS_DROP_BAD_RING,  /* ring geometry outside the segment */
	LIBTAS_DROP_BAD_STATE, /* event not valid in the current state */
	LIBTAS_DROP_BAD_QUEUE, /* a queue published an impossible index */
	LIBTAS_DROP_NOMEM,     /* could not queue a synthesized event */
	LIBTAS_DROP_NR,
};

/* Connection states (flextcp_connection.state_). */
enum libtas_conn_state {
	LIBTAS_CONN_NONE = 0,
	LIBTAS_CONN_OPENING,   /* connect sent, CONN_OPEN awaited */
	LIBTAS_CONN_ACCEPTING, /* queued accept handle */
	LIBTAS_CONN_OPEN,
	LIBTAS_CONN_CLOSING, /* TAS_CMD_CLOSE queued/sent */
	LIBTAS_CONN_CLOSED,
};

/* Connection flags (flextcp_connection.flags_). */
#define LIBTAS_CF_RX_CLOSED 0x1 /* peer FIN seen */
#define LIBTAS_CF_TX_CLOSED 0x2 /* tx_close called */
#define LIBTAS_CF_MOVING 0x4	/* MOVE sent, MOVED awaited */
#define LIBTAS_CF_HIDDEN \
	0x8 /* library-owned stand-in for an arrival
				 * not yet accepted: emits no events */

/* Deferred commands (flextcp_connection.bump_). */
#define LIBTAS_BUMP_LISTED 0x1 /* on the context's bump list */
#define LIBTAS_BUMP_FIN 0x2
#define LIBTAS_BUMP_CLOSE 0x4

/* Listener states (flextcp_listener.state_). */
enum libtas_lst_state {
	LIBTAS_LST_NONE = 0,
	LIBTAS_LST_OPENING,
	LIBTAS_LST_OPEN,
	LIBTAS_LST_FAILED,
};

/*
 * A flextcp_listen_close(): the cookie (never dereferenced), whether the
 * LISTEN_OPEN of the same listener is still due, whether LISTEN_CLOSED
 * came. FIFO per context, in the order of the close calls. Answered ones
 * stay as tombstones (the last LIBTAS_LST_TOMBSTONES) so that handshakes
 * completing late on a fast-path core are closed quietly.
 */
struct libtas_lst_closing {
	uint64_t user;
	bool want_open;
	bool answered;
	struct libtas_lst_closing *next;
};
#define LIBTAS_LST_TOMBSTONES 16

/* Flow table slot: key = core << 32 | flow handle; conn NULL = empty. */
struct libtas_flow_slot {
	uint64_t key;
	struct flextcp_connection *conn;
};

/**
 * struct libtas_ctx - a context's private state (flextcp_context.priv_)
 * @shm:     the context's tas_ctx_shm in the segment
 * @kin:     control thread -> app events (consumer side)
 * @arx:     fast-path core k -> app events (consumer side)
 * @atx:     app -> fast-path core k commands (producer side)
 * @kick:    cores with commands enqueued during this API call
 * @flows:   open-addressing table of this context's flows
 * @nflows:  used slots; @flow_cap: slots (power of two)
 * @listeners: listeners opened on this context
 * @opening: connections waiting for CONN_OPEN
 * @bump_first, @bump_last: connections with deferred commands
 * @hidden:  library-owned stand-ins of arrivals not yet accepted
 * @orphans: library-owned connections being closed (arrivals of closed
 *           listeners), linked through next_, freed at their CLOSED/RESET
 * @closing_first, @closing_last: listener closes (struct libtas_lst_closing)
 * @ntombs:  answered entries among them
 * @gen:     libtas_proc.gen when created; a mismatch (fork child that
 *           registered afresh) makes the context invalid
 * @pend:    synthesized events not yet returned by poll (FIFO ring)
 * @drops:   dropped service events, by enum libtas_drop
 */
struct libtas_ctx {
	struct tas_ctx_shm *shm;
	struct tas_ring kin;
	struct tas_ring arx[TAS_MAX_CORES];
	struct tas_ring atx[TAS_MAX_CORES];
	uint32_t kick;
	uint32_t ncores;
	bool queue_bad_counted[TAS_MAX_CORES + 1];

	struct libtas_flow_slot *flows;
	uint32_t nflows, flow_cap;

	struct flextcp_listener *listeners;
	struct flextcp_connection *opening;
	struct flextcp_connection *bump_first, *bump_last;
	struct flextcp_connection *hidden;
	struct flextcp_connection *orphans;
	struct libtas_lst_closing *closing_first, *closing_last;
	uint32_t ntombs;
	uint32_t gen;

	struct flextcp_event *pend;
	uint32_t pend_head, pend_count, pend_cap;

	uint64_t drops[LIBTAS_DROP_NR];
};

/**
 * struct libtas_proc - process-wide state set up by flextcp_init()
 * @lock:     serializes request/reply on @sock and init itself
 * @inited:   flextcp_init() succeeded
 * @sock:     SEQPACKET socket to the daemon
 * @seg:      the mapped segment; @seg_size its length
 * @hdr:      @seg's header
 * @ncores:   fast-path cores
 * @doorbell: per-core eventfds
 * @pid:      process that registered (a fork child differs)
 * @gen:      registration generation; bumped when a fork child drops the
 *            registration it inherited, invalidating inherited contexts
 */
struct libtas_proc {
	pthread_mutex_t lock;
	bool inited;
	int sock;
	uint8_t *seg;
	uint64_t seg_size;
	struct tas_seg_hdr *hdr;
	uint32_t ncores, app_id, ctx_max, rxbuf_size, txbuf_size;
	int doorbell[TAS_MAX_CORES];
	pid_t pid;
	uint32_t gen;
};

extern struct libtas_proc libtas_proc;

static inline struct libtas_ctx *libtas_priv(struct flextcp_context *ctx)
{
	return ctx->priv_;
}

/* libtas.c */
bool libtas_ctx_ok(struct flextcp_context *ctx);
bool libtas_seg_range_ok(uint64_t off, uint64_t len);
int libtas_send_msg(struct tas_msg *msg);
int libtas_request(struct tas_msg *m, int *fd);
void libtas_drop(struct libtas_ctx *p, enum libtas_drop why);
int libtas_pend_push(struct libtas_ctx *p, const struct flextcp_event *ev);
void libtas_kick(struct libtas_ctx *p);
void libtas_fini(void);
void libtas_context_free(struct flextcp_context *ctx);
uint64_t libtas_ctx_drops(struct flextcp_context *ctx);

/* ll_conn.c */
int libtas_flow_insert(struct libtas_ctx *p, struct flextcp_connection *c);
struct flextcp_connection *libtas_flow_find(struct libtas_ctx *p, uint8_t core,
					    uint32_t flow);
void libtas_flow_remove(struct libtas_ctx *p, uint8_t core, uint32_t flow);
/* Most flextcp events one service event turns into: RX wrap, NEWCONN +
 * ACCEPT, or a reset that ends every zero-copy send and post. */
#define LIBTAS_EV_MAX_OUT (2 + TAS_ZC_TX_MAX + TAS_ZC_RX_MAX)
unsigned libtas_ev_translate(struct flextcp_context *ctx,
			     const struct tas_ev *ev,
			     struct flextcp_event out[LIBTAS_EV_MAX_OUT]);
void libtas_bump_flush(struct flextcp_context *ctx);
void libtas_bump_unlink(struct libtas_ctx *p, struct flextcp_connection *c);
int libtas_conn_setup(struct flextcp_context *ctx, struct flextcp_connection *c,
		      const struct tas_ev *ev);
void libtas_flow_refuse(struct libtas_ctx *p, const struct tas_ev *ev);

/* ll_listen.c */
unsigned libtas_ev_listen_open(struct flextcp_context *ctx,
			       const struct tas_ev *ev,
			       struct flextcp_event *out);
unsigned libtas_ev_conn_new(struct flextcp_context *ctx,
			    const struct tas_ev *ev, struct flextcp_event *out);
void libtas_arrival_forget(struct libtas_ctx *p, struct flextcp_connection *h);
void libtas_orphan_free(struct libtas_ctx *p, struct flextcp_connection *h);
struct libtas_lst_closing *libtas_closing_find(struct libtas_ctx *p,
					       uint64_t user, bool open,
					       bool unanswered);
void libtas_closing_answered(struct libtas_ctx *p,
			     struct libtas_lst_closing *rec);
void libtas_hidden_free(struct libtas_ctx *p);
bool libtas_cmd_push(struct libtas_ctx *p, uint8_t core,
		     const struct tas_cmd *cmd);
void libtas_conn_bump(struct libtas_ctx *p, struct flextcp_connection *c);
unsigned libtas_rx_show(struct flextcp_connection *c, uint32_t a,
			struct flextcp_event *out);
bool libtas_conn_usable(struct flextcp_context *ctx,
			struct flextcp_connection *c);

/* ll_zc.c */
bool libtas_zc_flush(struct libtas_ctx *p, struct flextcp_connection *c);
bool libtas_zc_tx_blocked(const struct flextcp_connection *c);
void libtas_zc_close(struct flextcp_connection *c);
unsigned libtas_zc_tx_freed(struct flextcp_connection *c,
			    struct flextcp_event *out);
unsigned libtas_zc_placed(struct libtas_ctx *p, struct flextcp_connection *c,
			  uint32_t len, struct flextcp_event *out);
unsigned libtas_zc_rx(struct flextcp_connection *c, uint32_t a,
		      struct flextcp_event *out);
uint32_t libtas_zc_deferred(const struct flextcp_connection *c);
bool libtas_zc_fin_held(struct flextcp_connection *c);
unsigned libtas_zc_end(struct flextcp_connection *c, struct flextcp_event *out);

#endif /* CLIENT_LIBTAS_H */
