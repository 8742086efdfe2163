/* nic_ibv.h - internal state of the ibv (rdma-core raw packet QP) backend
 *
 * Shared by nic_ibv.c (queues, data path, memory registration),
 * nic_ibv_flow.c (steering rules, flow->queue prediction, placement
 * queues) and nic_ibv_dev.c (device lookup, capabilities, sysfs, NUMA
 * memory, error lines). Nothing outside verbs/nic_ibv*.c and the backend's
 * unit tests includes it.
 *
 * Object layout (one ibv_context and one PD per nic):
 *
 *   nqueues == 1:  queue 0: send CQ, recv CQ (+ completion channel), one
 *                  raw packet QP that sends and receives; every steering
 *                  rule targets that QP.
 *   nqueues  > 1:  queue k: send CQ, recv CQ (+ channel), a TX-only raw
 *                  packet QP, a receive WQ feeding the recv CQ, and a
 *                  1-entry indirection table plus a hash-less RSS QP over
 *                  that WQ alone (the target for NIC_STEER_FLOW to queue k
 *                  and NIC_STEER_ARP to queue 0). One shared indirection
 *                  table (entry e -> WQ of queue e % nqueues) under one
 *                  Toeplitz RSS QP is the target of NIC_STEER_LOCAL.
 *
 *   placement queue (place_open on queue q): its own RQ that completes on
 *                  queue q's recv CQ, the target of one 4-tuple rule at
 *                  IBV_PRIO_PLACE. nqueues == 1: a receive-only raw packet
 *                  QP (send CQ: queue q's, never used: no send WRs);
 *                  nqueues > 1: a WQ + 1-entry table + hash-less RSS QP,
 *                  like queue k's. The recv CQ grows (ibv_resize_cq) to
 *                  hold every WQE that can complete on it.
 */
#ifndef TAS_VERBS_NIC_IBV_H
#define TAS_VERBS_NIC_IBV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "verbs/nic.h"

#define IBV_RING_DEFAULT 1024 /* rx_ring / tx_ring when params say 0 */
#define IBV_RING_MIN 16
#define IBV_TX_INLINE_REQ 128 /* max_inline_data asked for at QP creation */
#define IBV_TX_SLOT 256	      /* header-buffer slot: header + copied bytes */
#define IBV_TX_CHUNK 32	      /* WRs linked per ibv_post_send call */
#define IBV_SIG_MAX 64	      /* signal at least every this many WRs */
#define IBV_RSS_KEY_LEN 40    /* mlx5 insists on exactly 40 bytes */
#define IBV_PRIO_PLACE 0      /* flow rule priorities: lower wins */
#define IBV_PRIO_FLOW 1
#define IBV_PRIO_LOCAL 2
#define IBV_PRIO_ARP 3
#define IBV_PLACE_PER_Q 256    /* placement queues per queue */
#define IBV_PLACE_HDR_MAX 256  /* largest hdr_len of a placement queue */
#define IBV_PLACE_HDR_ALIGN 64 /* header slots start on cache lines */
#define IBV_SYSFS_ENV "TAS_SYSFS_ROOT" /* sysfs root override for tests */

/* TX side of one queue. Slots are indexed by a free-running WR counter:
 * [reaped, done) completed but not yet handed back, [done, head) posted.
 * A slot (header buffer + cookie) is reused only after its cookie was
 * handed back by tx_completions, which also bounds the SQ depth. */
struct ibv_txq {
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *hdr_mr;
	uint8_t *hdr_buf; /* size * IBV_TX_SLOT bytes, registered */
	uint64_t *cookies;
	uint32_t size; /* SQ depth, slots */
	uint32_t sig_every;
	uint32_t max_inline;
	uint32_t head;	 /* next WR index to post */
	uint32_t done;	 /* WRs before this are complete (signalled CQE) */
	uint32_t reaped; /* WRs before this had their cookie handed back */
	uint32_t unsig;	 /* WRs posted since the last signalled one */
	uint64_t errors; /* send CQEs with a status other than success */
	uint64_t bad;	 /* frames refused: unregistered payload too large */
};

/* A receive queue that flow rules can target: a raw packet QP's own RQ
 * (nqueues == 1), or a WQ behind a 1-entry indirection table and a
 * hash-less RSS QP (nqueues > 1). */
struct ibv_rq {
	struct ibv_wq *wq;	       /* nqueues > 1 */
	struct ibv_rwq_ind_table *ind; /* nqueues > 1: 1-entry table */
	struct ibv_qp *qp;	       /* the rules' target */
};

/* Receive wr_ids: an ordinary buffer's is its index; a placement WQE's
 * has IBV_WRID_PLACE set, the placement id and the generation of that id
 * (bumped by place_close, so a completion of a closed queue that is still
 * in the CQ is recognised and dropped) above bit 32, the header slot
 * below. */
#define IBV_WRID_PLACE (1ull << 63)
#define IBV_WRID_GEN_MASK 0x7fffu
#define IBV_WRID_ID_MASK 0xffffu

static inline uint64_t ibv_wrid_place(unsigned gen, unsigned id, uint32_t slot)
{
	return IBV_WRID_PLACE | (uint64_t)(gen & IBV_WRID_GEN_MASK) << 48 |
	       (uint64_t)(id & IBV_WRID_ID_MASK) << 32 | slot;
}

/* What a placement queue remembers of a posted buffer. */
struct ibv_place_buf {
	uint8_t *addr;
	uint64_t cookie;
};

/* One placement queue (nic.h place_open). Header slots: 2 * depth, so
 * that depth WQEs can be posted while the frames of the last rx_burst
 * still hold their slots (a slot is free again at the next rx_burst, like
 * an ordinary buffer). Touched only by the thread of its queue. */
struct ibv_place {
	struct ibv_rq rq;
	struct ibv_flow *flow;
	struct ibv_mr *hdr_mr;
	uint8_t *hdr_buf;	    /* nslots * hdr_stride bytes, registered */
	struct ibv_place_buf *bufs; /* per slot: the buffer posted with it */
	uint32_t *free;		    /* free slots (a stack) */
	uint32_t *held;		    /* slots handed out by the last rx_burst */
	uint32_t nfree, nheld;
	uint32_t depth, posted, nslots;
	uint16_t hdr_len, hdr_stride;
	uint16_t gen; /* of this id, in its WQEs' wr_ids */
	uint8_t open;
};

/* Placement queues of one queue, allocated by its first place_open. Ids
 * are q * IBV_PLACE_PER_Q + index, so each queue's thread owns its table
 * and no lock is needed. */
struct ibv_place_tab {
	struct ibv_place p[IBV_PLACE_PER_Q];
	/* indexes of the entries with held slots */
	uint16_t dirty[IBV_PLACE_PER_Q];
	unsigned ndirty;
	uint32_t wqes;	 /* depth of every open entry: recv CQ room they need */
	uint64_t errors; /* completions with an error status (reported len 0) */
	uint64_t stale;	 /* completions of closed queues, dropped */
};

/* RX side of one queue. Buffer i is rx buffer slot i; wr_id is i. */
struct ibv_rxq {
	struct ibv_comp_channel *ch;
	struct ibv_cq *cq;
	struct ibv_rq rq; /* rq.qp: steering target of this queue */
	struct ibv_mr *mr;
	uint8_t *buf;
	uint32_t size;	   /* buffers (RQ depth) */
	uint32_t buf_size; /* bytes per buffer */
	uint32_t *held;	   /* buffers handed out by the last rx_burst */
	uint32_t nheld;
	struct ibv_recv_wr *wr; /* size entries, for reposting */
	struct ibv_sge *sge;
	struct ibv_wc stash; /* a completion arm() polled early */
	int has_stash;
	uint64_t errors;	     /* recv CQEs with an error status */
	struct ibv_place_tab *place; /* NULL until the first place_open */
};

struct ibv_memreg {
	uint32_t key;
	struct ibv_mr *mr;
};

struct ibv_nic {
	struct nic nic;
	char dev[64];	 /* the name given to nic_ibv_open, for messages */
	char ibdev[64];	 /* RDMA device name */
	char netdev[64]; /* netdev name, "" when unknown */
	char name[80];	 /* "ibv:<dev>" for nic.name */
	uint8_t port;
	int numa_node; /* -1 when unknown */
	int use_numa;  /* buffers through numa_alloc_onnode */
	struct nic_link_info link;
	int csum;	  /* IBV_DEVICE_RAW_IP_CSUM: SEND_IP_CSUM, IP_CSUM_OK */
	uint32_t max_tso; /* 0: no TSO on raw packet QPs */
	uint32_t max_sge; /* device max_sge */
	uint32_t max_qp_wr;
	uint32_t max_cqe;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	unsigned nq;
	struct ibv_txq txq[NIC_MAX_QUEUES];
	struct ibv_rxq rxq[NIC_MAX_QUEUES];
	struct ibv_rwq_ind_table *rss_ind; /* nq > 1 */
	struct ibv_qp *rss_qp;		   /* nq > 1: NIC_STEER_LOCAL target */
	uint32_t rss_log_size;
	struct ibv_flow **flows;
	unsigned nflows, cap_flows;
	/* regs: written by the control thread only (reg_mem, dereg_mem),
	 * read by place_post on fast-path threads, under reg_lock; the
	 * verbs calls themselves run outside it. */
	pthread_mutex_t reg_lock;
	struct ibv_memreg *regs;
	unsigned nregs, cap_regs;
};

static inline struct ibv_nic *to_ibv(struct nic *nic)
{
	return container_of(nic, struct ibv_nic, nic);
}

/* The Toeplitz key used for RSS (the well-known Microsoft key, which is
 * also what software port selection should use to predict the queue). */
extern const uint8_t ibv_rss_key[IBV_RSS_KEY_LEN];

static inline uint8_t ibv_rx_csum(const struct ibv_nic *n,
				  const struct ibv_wc *wc)
{
	return n->csum && (wc->wc_flags & IBV_WC_IP_CSUM_OK) ? NIC_CSUM_OK
							     : NIC_CSUM_UNKNOWN;
}

/* nic_ibv.c: objects shared with the placement queues */
int ibv_errno(int rc);
int ibv_qp_move(const struct ibv_nic *n, struct ibv_qp *qp,
		enum ibv_qp_state st, const char *what, char *err);
struct ibv_qp *ibv_raw_qp_create(struct ibv_nic *n, unsigned q,
				 uint32_t recv_wr, uint32_t recv_sge,
				 bool send);
int ibv_wq_rq_open(struct ibv_nic *n, struct ibv_rq *rq, struct ibv_cq *cq,
		   uint32_t max_wr, uint32_t max_sge, const char *what,
		   char *err);
void ibv_wq_rq_close(struct ibv_rq *rq);
int ibv_rq_post(struct ibv_rq *rq, struct ibv_recv_wr *wr,
		struct ibv_recv_wr **bad);
int ibv_reg_lkey(struct ibv_nic *n, uint32_t key, const void *addr,
		 uint32_t len, uint32_t *lkey);

/* nic_ibv_flow.c */
int ibv_add_steer(struct nic *nic, const struct nic_steer *s);
unsigned ibv_flow_queue(struct nic *nic, uint32_t local_ip, uint16_t local_port,
			uint32_t remote_ip, uint16_t remote_port);
int ibv_place_open(struct nic *nic, unsigned q, const struct nic_steer *rule,
		   uint16_t hdr_len, unsigned depth);
int ibv_place_post(struct nic *nic, int id, void *addr, uint32_t len,
		   uint32_t key, uint64_t cookie);
void ibv_place_close(struct nic *nic, int id);
void ibv_place_release(struct ibv_place_tab *t);
unsigned ibv_place_rx(struct ibv_nic *n, unsigned q, const struct ibv_wc *wc,
		      struct nic_rx *rx);
void ibv_place_close_all(struct ibv_nic *n, unsigned q);

/* nic_ibv_dev.c */
uint32_t ibv_toeplitz(const uint8_t *key, size_t key_len, const uint8_t *in,
		      size_t len);
void ibv_msg(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ibv_err(const struct ibv_nic *n, char *err, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int ibv_dev_open(struct ibv_nic *n, char *err);
void ibv_dev_close(struct ibv_nic *n);
int ibv_dev_caps(struct ibv_nic *n, const struct nic_params *p, char *err);
void *ibv_buf_alloc(const struct ibv_nic *n, size_t len);
void ibv_buf_free(const struct ibv_nic *n, void *p, size_t len);

#endif /* TAS_VERBS_NIC_IBV_H */
