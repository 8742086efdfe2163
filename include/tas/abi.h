/* abi.h - the versioned app<->service ABI: control messages, the per-app
 * shared segment layout, and the entries of the shared-memory queues
 *
 * Transport: an app connects to the daemon's Unix socket (SOCK_SEQPACKET,
 * default TAS_SOCKET_DEFAULT, env TAS_SOCKET) and sends struct tas_msg
 * requests. The daemon answers HELLO with the app's memfd segment and the
 * fast-path doorbell eventfds, and CTX_CREATE with the context's eventfd
 * (all with SCM_RIGHTS). Everything after that flows through SPSC rings
 * (include/tas/ring.h) inside the segment:
 *
 *   per context:  kin        daemon control thread -> app  (struct tas_ev)
 *   per context and fast-path core k:
 *                 arx[k]     fast-path core k -> app        (struct tas_ev)
 *                 atx[k]     app -> fast-path core k        (struct tas_cmd)
 *
 * Requests that change connection tables (listen, connect, close) travel
 * as messages on the socket; their results and all data-path events arrive
 * as tas_ev entries. Data never crosses the socket: every connection has a
 * receive and a send byte ring inside the segment (offsets below are from
 * the segment start; ring sizes are powers of two).
 *
 * Trust: the daemon trusts nothing an app writes into the segment. Entries
 * are validated (flow handle owned by this context, lengths bounded by the
 * connection's own rings); a bad entry is dropped, counted, and resets the
 * offending connection only.
 *
 * Byte order: addresses and ports in messages and events are host order,
 * as upstream TAS's flextcp API passes them.
 */
#ifndef TAS_ABI_H
#define TAS_ABI_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define TAS_ABI_VERSION 2
#define TAS_SOCKET_DEFAULT "/run/tas/tas.sock"
#define TAS_SEG_MAGIC 0x54415331u /* "TAS1" */

#define TAS_MAX_CORES 16 /* fast-path cores (FLEXTCP_MAX_FTCPCORES) */
#define TAS_MAX_CTX 32	 /* contexts per app (FLEXTCP_MAX_CONTEXTS) */

/* Zero-copy buffer regions (flextcp_mem_alloc): per app at most
 * TAS_MAX_REGIONS live at a time. A region id carries the table index in
 * its low bits and a generation above, so a stale id is refused. Per flow
 * at most TAS_ZC_TX_MAX zero-copy sends and TAS_ZC_RX_MAX posted receive
 * buffers are outstanding. */
#define TAS_MAX_REGIONS 64
#define TAS_REGION_IDX(id) ((id) & (TAS_MAX_REGIONS - 1))
#define TAS_ZC_TX_MAX 32
#define TAS_ZC_RX_MAX 32

/* ---- control messages (socket) ---- */

enum tas_msg_type {
	TAS_MSG_HELLO = 1,    /* app -> daemon: abi_version */
	TAS_MSG_HELLO_REPLY,  /* + SCM_RIGHTS: memfd, then ncores doorbells */
	TAS_MSG_CTX_CREATE,   /* app -> daemon */
	TAS_MSG_CTX_REPLY,    /* + SCM_RIGHTS: the context's eventfd */
	TAS_MSG_LISTEN,	      /* -> kin: TAS_EV_LISTEN_OPEN (no socket reply) */
	TAS_MSG_CONNECT,      /* -> arx/kin: TAS_EV_CONN_OPEN */
	TAS_MSG_LISTEN_CLOSE, /* -> kin: TAS_EV_LISTEN_CLOSED */
	TAS_MSG_MEM_ALLOC,    /* mem.len -> MEM_REPLY + SCM_RIGHTS: memfd */
	TAS_MSG_MEM_FREE,     /* mem.region -> MEM_REPLY (no fd) */
	TAS_MSG_MEM_REPLY,    /* status, mem.region, mem.len */
	/* tasctl: answered with text messages, then one empty message */
	TAS_MSG_STATS = 100,
	TAS_MSG_CONNS,
};

struct tas_msg {
	uint32_t type; /* enum tas_msg_type */
	uint32_t abi_version;
	int32_t status; /* replies: 0 or negative errno */
	uint16_t ctx_id;
	uint16_t pad;
	uint64_t user; /* app cookie echoed in the resulting event */
	union {
		struct {
			uint64_t seg_size;
			uint32_t ncores;
			uint32_t app_id;
			uint32_t ctx_max;
			uint32_t rxbuf_size; /* per connection */
			uint32_t txbuf_size;
			uint32_t pad;
		} hello;
		struct {
			uint64_t off; /* struct tas_ctx_shm in the segment */
		} ctx;
		struct {
			uint16_t port;
			uint16_t pad;
			uint32_t backlog;
			uint32_t flags; /* FLEXTCP_LISTEN_REUSEPORT */
		} listen;
		struct {
			uint32_t ip;
			uint16_t port;
			uint16_t pad;
		} connect;
		struct {
			uint64_t len; /* bytes, a multiple of the page size */
			uint32_t region;
			uint32_t pad;
		} mem;
		uint8_t raw[40];
	};
};
_Static_assert(sizeof(struct tas_msg) == 64, "tas_msg ABI size");

/* ---- queue entries ---- */

enum tas_ev_type {
	TAS_EV_LISTEN_OPEN = 1, /* status; user = listener */
	TAS_EV_CONN_NEW,	/* passive open established: conn fields; user =
			     * listener */
	TAS_EV_CONN_OPEN,	/* active open result: status, conn fields */
	TAS_EV_RX,		/* a = bytes newly readable (in order) */
	TAS_EV_TX_FREED,	/* a = send-ring bytes acknowledged, now free */
	TAS_EV_RX_FIN,		/* peer closed its half; no more data */
	TAS_EV_TX_FIN_ACKED,	/* our FIN was acknowledged */
	TAS_EV_RESET,  /* aborted: status = -ECONNRESET, -ETIMEDOUT ... */
	TAS_EV_CLOSED, /* TAS_CMD_CLOSE done; flow handle is dead */
	TAS_EV_MOVED,  /* TAS_CMD_MOVE done: events now come here */
	TAS_EV_LISTEN_CLOSED,
	TAS_EV_RX_PLACED, /* the oldest posted receive buffer is done: a =
			   * its bytes not announced before as TAS_EV_RX
			   * (those were already received when it was
			   * posted; the daemon copied them into it too).
			   * Short when the stream ended (RX_FIN/RESET
			   * follow). */
};

/* Event entry, 64 bytes (one cache line). user is the app's own cookie
 * (its struct flextcp_connection / flextcp_listener pointer); the library
 * must still check it against its own tables. */
struct tas_ev {
	uint8_t type;	/* enum tas_ev_type */
	uint8_t core;	/* fast-path core owning the flow */
	int16_t status; /* 0 or negative errno */
	uint32_t flow;	/* flow handle (see tas_cmd) */
	uint64_t user;
	uint32_t a; /* type-specific count, see enum tas_ev_type */
	uint32_t local_ip, remote_ip;
	uint16_t local_port, remote_port;
	uint64_t rx_off; /* CONN_NEW / CONN_OPEN: rings in the segment */
	uint64_t tx_off;
	uint32_t rx_size, tx_size;
	uint32_t pad;
};
_Static_assert(sizeof(struct tas_ev) == 64, "tas_ev ABI size");

enum tas_cmd_type {
	TAS_CMD_TX = 1,	 /* len more bytes written after the last ones */
	TAS_CMD_RX_DONE, /* len bytes read by the app, free in the rx ring */
	TAS_CMD_TX_FIN,	 /* no more data: send FIN after the queued bytes */
	TAS_CMD_CLOSE,	 /* app is done with the flow: FIN (or RST when
			  * unread data remains); TAS_EV_CLOSED follows */
	TAS_CMD_MOVE,	 /* sent on the new context's atx: retarget events
			  * of a flow of the same app to this context */
	TAS_CMD_TX_ZC,	 /* len more bytes, read from region at off instead
			  * of the send ring; they take send-ring space
			  * like TAS_CMD_TX (see docs/ZEROCOPY.md) */
	TAS_CMD_RX_POST, /* place stream bytes [at, at + len) into region
			  * at off instead of the receive ring; at comes
			  * from the TAS_CMD_RX_AT just before */
	TAS_CMD_RX_AT,	 /* len = the stream offset the next RX_POST of the
			  * flow starts at: the app's receive position
			  * (every byte announced to it so far, TAS_EV_RX
			  * and TAS_EV_RX_PLACED, counted from 0) */
};

/* Command entry, 16 bytes. flow: the handle from CONN_NEW/CONN_OPEN
 * (core-local flow index in the low 24 bits, generation in the top 8).
 * region and off: TAS_CMD_TX_ZC and TAS_CMD_RX_POST only. */
struct tas_cmd {
	uint8_t type; /* enum tas_cmd_type */
	uint8_t pad;
	uint16_t region; /* region id from TAS_MSG_MEM_REPLY */
	uint32_t flow;
	uint32_t len;
	uint32_t off; /* byte offset into the region */
};
_Static_assert(sizeof(struct tas_cmd) == 16, "tas_cmd ABI size");

#define TAS_FLOW_IDX(h) ((h)&0xffffffu)
#define TAS_FLOW_GEN(h) ((h) >> 24)
#define TAS_FLOW_HANDLE(idx, gen) (((uint32_t)(gen) << 24) | (idx))

/* ---- segment layout ---- */

#define TAS_KIN_ENTRIES 256
#define TAS_ARX_ENTRIES 1024
#define TAS_ATX_ENTRIES 1024

/* Segment header at offset 0, written by the daemon before HELLO_REPLY;
 * the app may only read it. */
struct tas_seg_hdr {
	uint32_t magic; /* TAS_SEG_MAGIC */
	uint32_t abi_version;
	uint64_t size;
	uint32_t ncores;
	uint32_t ctx_max;
	/* Doorbell suppression: core k sets sleeping[k] = 1 before it blocks;
	 * an app kicks doorbell k (eventfd) only when it reads 1. */
	_Alignas(64) _Atomic uint32_t sleeping[TAS_MAX_CORES];
};

/* One context's queues, at the offset CTX_REPLY gives. Each ring is a
 * tas_ring_shm of the stated entry count; offsets are relative to the
 * segment start. */
struct tas_ctx_shm {
	uint64_t kin_off;
	uint64_t arx_off[TAS_MAX_CORES];
	uint64_t atx_off[TAS_MAX_CORES];
	/* The app sets this to 1 before blocking on its eventfd; producers
	 * kick the eventfd only when they see 1. */
	_Alignas(64) _Atomic uint32_t waiting;
};

#endif /* TAS_ABI_H */
