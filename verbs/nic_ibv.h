/* nic_ibv.h - internal state of the ibv (rdma-core raw packet QP) backend
 *
 * Shared by nic_ibv.c (queues, steering, data path) and nic_ibv_dev.c
 * (device lookup, capabilities, sysfs, NUMA memory, error lines). Nothing
 * outside verbs/nic_ibv*.c and the backend's unit test includes it.
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
 */
#ifndef TAS_VERBS_NIC_IBV_H
#define TAS_VERBS_NIC_IBV_H

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
#define IBV_PRIO_FLOW 0	      /* flow rule priorities: lower wins */
#define IBV_PRIO_LOCAL 1
#define IBV_PRIO_ARP 2
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

/* RX side of one queue. Buffer i is rx buffer slot i; wr_id is i. */
struct ibv_rxq {
	struct ibv_comp_channel *ch;
	struct ibv_cq *cq;
	struct ibv_wq *wq;	       /* nqueues > 1 */
	struct ibv_rwq_ind_table *ind; /* nqueues > 1: 1-entry table */
	struct ibv_qp *qp;	       /* steering target of this queue */
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
	uint64_t errors; /* recv CQEs with an error status */
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
