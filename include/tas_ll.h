/*
 * tas_ll.h - the low-level flextcp API of TAS (libtas), source compatible
 * with upstream TAS's lib/tas/include/tas_ll.h
 *
 * Programs declare struct flextcp_context, struct flextcp_connection and
 * struct flextcp_listener themselves (on the stack, in arrays, inside their
 * own structs), so the types below are complete. Every field is private to
 * libtas (the names end in an underscore): read or write none of them.
 * Events hand back the very pointers the program passed in.
 *
 * Byte order: IPv4 addresses and ports are host byte order everywhere in this
 * API, e.g. flextcp_connection_open(ctx, c, ntohl(inet_addr("10.0.0.1")),
 * 1234).
 *
 * Threads: one context is used by one thread at a time. Different contexts
 * may be used concurrently; flextcp_context_create() is thread safe.
 *
 * fork: a child of a registered process that calls flextcp_init() registers
 * afresh (new segment); contexts it inherited are invalid from then on.
 *
 * Extensions beyond upstream TAS (marked below): flextcp_listen_close(), the
 * read-only connection accessors, and zero-copy sends and receive
 * placement (docs/ZEROCOPY.md).
 *
 * docs/API.md describes every call, the events that follow it and the error
 * codes.
 */
#ifndef TAS_LL_H_
#define TAS_LL_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLEXTCP_MAX_CONTEXTS 32
#define FLEXTCP_MAX_FTCPCORES 16

/* Flag of flextcp_listen_open(): share the port with other listeners. */
#define FLEXTCP_LISTEN_REUSEPORT 0x1

struct libtas_ctx;
struct libtas_zc;

/**
 * struct flextcp_context - per-thread state: the queues to the service
 *
 * All fields are private to libtas.
 */
struct flextcp_context {
	struct libtas_ctx *priv_; /* queues, tables, pending events */
	uint32_t magic_;	  /* set by flextcp_context_create() */
	uint16_t ctx_id_;	  /* the service's id of this context */
	uint16_t ncores_;	  /* fast-path cores: queue pairs */
	int evfd_;		  /* eventfd to sleep on */
	int pad_;
};

/**
 * struct flextcp_listener - a listening "socket"
 *
 * All fields are private to libtas.
 */
struct flextcp_listener {
	struct flextcp_context *ctx_;	       /* context it was opened on */
	struct flextcp_listener *next_;	       /* the context's listener list */
	struct flextcp_connection *acc_first_; /* accept handles, FIFO */
	struct flextcp_connection *acc_last_;
	struct flextcp_connection *arr_first_; /* arrived, not accepted */
	struct flextcp_connection *arr_last_;
	uint32_t arr_count_;
	uint32_t backlog_;
	uint32_t flags_;
	uint16_t local_port_;
	uint8_t state_;
	uint8_t pad_;
};

/**
 * struct flextcp_connection - one TCP connection
 *
 * All fields are private to libtas. Ring positions are free-running byte
 * counters that start at 0 when the connection opens.
 */
struct flextcp_connection {
	struct flextcp_context *ctx_;	  /* context its events arrive on */
	struct flextcp_connection *next_; /* accept queue / opening list */
	struct flextcp_connection *bump_next_; /* deferred-command list */
	uint8_t *rxb_base_;		       /* receive ring in the segment */
	uint8_t *txb_base_;		       /* send ring in the segment */
	uint32_t rxb_size_;		       /* ring sizes, powers of two */
	uint32_t txb_size_;
	uint32_t rx_head_;  /* bytes handed to the app */
	uint32_t rx_freed_; /* bytes released with rx_done */
	uint32_t rx_cmd_;   /* bytes released to the fast path */
	uint32_t tx_alloc_; /* bytes allocated */
	uint32_t tx_sent_;  /* bytes passed to tx_send */
	uint32_t tx_cmd_;   /* bytes announced to the fast path */
	uint32_t tx_freed_; /* bytes acknowledged, free again */
	uint32_t flow_;	    /* the service's flow handle */
	uint32_t local_ip_; /* host byte order */
	uint32_t remote_ip_;
	uint16_t local_port_;
	uint16_t remote_port_;
	uint8_t core_; /* fast-path core owning the flow */
	uint8_t state_;
	uint8_t flags_;
	uint8_t bump_;	       /* commands waiting for queue space */
	struct libtas_zc *zc_; /* zero-copy sends and posts, or NULL */
};

/**
 * struct flextcp_mem_region - buffer memory shared with the service
 * (extension, see flextcp_mem_alloc)
 * @addr: page-aligned start of @len bytes the app reads and writes
 *
 * The fields ending in an underscore are private to libtas.
 */
struct flextcp_mem_region {
	void *addr;
	size_t len;
	uint32_t id_;	/* the service's region id */
	uint32_t busy_; /* zero-copy sends and posts not yet done */
};

/** enum flextcp_event_type - kinds of events a context delivers */
enum flextcp_event_type {
	FLEXTCP_EV_LISTEN_OPEN,	   /* flextcp_listen_open() result */
	FLEXTCP_EV_LISTEN_NEWCONN, /* a connection arrived on a listener */
	FLEXTCP_EV_LISTEN_ACCEPT,  /* an accept handle got a connection */
	FLEXTCP_EV_CONN_OPEN,	   /* flextcp_connection_open() result */
	FLEXTCP_EV_CONN_CLOSED,	   /* connection closed (or reset) */
	FLEXTCP_EV_CONN_RECEIVED,  /* data arrived */
	FLEXTCP_EV_CONN_SENDBUF,   /* send buffer space freed */
	FLEXTCP_EV_CONN_RXCLOSED,  /* peer closed its direction */
	FLEXTCP_EV_CONN_TXCLOSED,  /* our FIN was acknowledged */
	FLEXTCP_EV_CONN_MOVED,	   /* flextcp_connection_move() done */
	/* extensions (docs/ZEROCOPY.md) */
	FLEXTCP_EV_CONN_TX_ZC_DONE, /* a zero-copy send's bytes are free */
	FLEXTCP_EV_CONN_RX_PLACED,  /* a posted receive buffer is done */
};

/** struct flextcp_event - one event; ev member chosen by event_type */
struct flextcp_event {
	uint8_t event_type;
	union {
		struct {
			int16_t status;
			struct flextcp_listener *listener;
		} listen_open;
		struct {
			uint16_t remote_port; /* host order */
			uint32_t remote_ip;   /* host order */
			struct flextcp_listener *listener;
		} listen_newconn;
		struct {
			int16_t status;
			struct flextcp_connection *conn;
		} listen_accept;
		struct {
			int16_t status;
			struct flextcp_connection *conn;
		} conn_open;
		struct {
			void *buf; /* in place in the receive ring */
			size_t len;
			struct flextcp_connection *conn;
		} conn_received;
		struct {
			struct flextcp_connection *conn;
		} conn_sendbuf;
		struct {
			struct flextcp_connection *conn;
		} conn_rxclosed;
		struct {
			struct flextcp_connection *conn;
		} conn_txclosed;
		struct {
			int16_t status;
			struct flextcp_connection *conn;
		} conn_moved;
		struct {
			int16_t status; /* 0, or negative errno after a reset */
			struct flextcp_connection *conn;
		} conn_closed;
		struct {
			int16_t status; /* 0; -ECONNABORTED: the connection
					 * ended before all was acked */
			struct flextcp_connection *conn;
			uint64_t cookie;
			size_t len;
		} conn_tx_zc_done;
		struct {
			int16_t status; /* 0; -ECONNABORTED: connection ended
					 * (len bytes arrived before) */
			struct flextcp_connection *conn;
			uint64_t cookie;
			void *buf;  /* the posted buffer */
			size_t len; /* bytes placed: the posted length, less
				     * if the stream ended first */
		} conn_rx_placed;
	} ev;
};

int flextcp_init(void);

int flextcp_context_create(struct flextcp_context *ctx);
int flextcp_context_poll(struct flextcp_context *ctx, int num,
			 struct flextcp_event *events);

int flextcp_context_waitfd(struct flextcp_context *ctx);
int flextcp_context_canwait(struct flextcp_context *ctx);
void flextcp_context_waitclear(struct flextcp_context *ctx);
int flextcp_context_wait(struct flextcp_context *ctx, int timeout_ms);
void flextcp_block(struct flextcp_context *ctx, int timeout_ms);

int flextcp_listen_open(struct flextcp_context *ctx,
			struct flextcp_listener *lst, uint16_t port,
			uint32_t backlog, uint32_t flags);
int flextcp_listen_accept(struct flextcp_context *ctx,
			  struct flextcp_listener *lst,
			  struct flextcp_connection *conn);

int flextcp_connection_open(struct flextcp_context *ctx,
			    struct flextcp_connection *conn, uint32_t dst_ip,
			    uint16_t dst_port);
int flextcp_connection_close(struct flextcp_context *ctx,
			     struct flextcp_connection *conn);
int flextcp_connection_rx_done(struct flextcp_context *ctx,
			       struct flextcp_connection *conn, size_t len);
ssize_t flextcp_connection_tx_alloc(struct flextcp_connection *conn, size_t len,
				    void **buf);
ssize_t flextcp_connection_tx_alloc2(struct flextcp_connection *conn,
				     size_t len, void **buf_1, size_t *len_1,
				     void **buf_2);
int flextcp_connection_tx_send(struct flextcp_context *ctx,
			       struct flextcp_connection *conn, size_t len);
int flextcp_connection_tx_close(struct flextcp_context *ctx,
				struct flextcp_connection *conn);
int flextcp_connection_tx_possible(struct flextcp_context *ctx,
				   struct flextcp_connection *conn);
int flextcp_connection_move(struct flextcp_context *ctx,
			    struct flextcp_connection *conn);

/* ---- extensions of this implementation (not in upstream TAS) ---- */

/* Stop listening: the service drops the listener (the port may be listened
 * on again); accepted connections stay open, arrived-but-unaccepted ones
 * are closed, queued accept handles get LISTEN_ACCEPT {-ECONNABORTED}.
 * 0 if sent, -1 otherwise. */
int flextcp_listen_close(struct flextcp_context *ctx,
			 struct flextcp_listener *lst);
/* Free bytes of the send ring (what tx_alloc2 could reserve now); 0 if the
 * connection cannot send. */
size_t flextcp_connection_tx_space(const struct flextcp_connection *conn);
/* Size of the send ring; 0 if the connection is not open. */
size_t flextcp_connection_tx_capacity(const struct flextcp_connection *conn);
/* Addresses of an established connection, host byte order; any pointer may
 * be NULL. 0, or -1 if the connection never was established. */
int flextcp_connection_addrs(const struct flextcp_connection *conn,
			     uint32_t *local_ip, uint16_t *local_port,
			     uint32_t *remote_ip, uint16_t *remote_port);

/* Zero-copy (extensions, docs/ZEROCOPY.md). A region is page-aligned
 * memory the service maps too (on ibv: registered with the NIC), at most
 * 1 GiB each and --zc-mem MiB per app. 0, or -1 with errno set. */
int flextcp_mem_alloc(struct flextcp_context *ctx, size_t len,
		      struct flextcp_mem_region **region);
/* -1 errno EBUSY while sends or posts from the region are outstanding. */
int flextcp_mem_free(struct flextcp_context *ctx,
		     struct flextcp_mem_region *region);
/* Send len bytes at offset of the region without copying them, after the
 * bytes sent so far; FLEXTCP_EV_CONN_TX_ZC_DONE with cookie follows when
 * they are acknowledged and no retransmission can need them. The region's
 * bytes must stay unchanged until then. */
int flextcp_connection_tx_send_zc(struct flextcp_context *ctx,
				  struct flextcp_connection *conn,
				  struct flextcp_mem_region *region,
				  size_t offset, size_t len, uint64_t cookie);
/* Place the len stream bytes after those the app has been given (and
 * after earlier posts) at offset of the region instead of the receive
 * ring; FLEXTCP_EV_CONN_RX_PLACED with cookie follows when they are all
 * there (or the stream ended). */
int flextcp_connection_rx_post(struct flextcp_context *ctx,
			       struct flextcp_connection *conn,
			       struct flextcp_mem_region *region, size_t offset,
			       size_t len, uint64_t cookie);

#ifdef __cplusplus
}
#endif

#endif /* TAS_LL_H_ */
