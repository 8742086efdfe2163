/* ibv_double.h - link-time test double of libibverbs and librdmacm
 *
 * Built only from the public headers (infiniband/verbs.h, rdma/rdma_cma.h)
 * and linked into test_nic_ibv instead of -libverbs -lrdmacm. Exported
 * functions are defined here; the static-inline ones reach the double
 * through the fake context: ibv_post_send/post_recv/poll_cq/req_notify_cq
 * through ctx->ops, ibv_create_qp_ex/create_wq/modify_wq/create_flow/
 * create_rwq_ind_table/query_device_ex/query_port through the verbs_context
 * ops (verbs_get_ctx_op), ibv_post_wq_recv through wq->post_recv
 * (shared/notes/verbs.md §4.4).
 *
 * It records every call with its arguments, lets a test inject send and
 * receive completions, fails the Nth call of any function with a chosen
 * errno, counts live objects, and counts misuse that real verbs would
 * punish (destroying a busy object, overflowing a queue, a bad lkey,
 * IP_CSUM on a QP that never saw IBV_QP_PORT, destroying a CQ with
 * unacked events, ...). ibv_double_wire.c models the port in front of the
 * RQs: flow rules by priority, RSS, delivery (dbl_wire_frame). Beyond
 * that it says nothing about hardware behaviour.
 */
#ifndef TAS_TESTS_IBV_DOUBLE_H
#define TAS_TESTS_IBV_DOUBLE_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

/* Functions whose calls are counted and can be failed. */
enum dbl_fn {
	DBL_GET_DEVICE_LIST,
	DBL_OPEN_DEVICE,
	DBL_QUERY_PORT,
	DBL_QUERY_DEVICE_EX,
	DBL_ALLOC_PD,
	DBL_REG_MR,
	DBL_CREATE_COMP_CHANNEL,
	DBL_CREATE_CQ,
	DBL_CREATE_QP, /* ibv_create_qp and the create_qp_ex op */
	DBL_MODIFY_QP,
	DBL_CREATE_WQ,
	DBL_MODIFY_WQ,
	DBL_CREATE_IND_TABLE,
	DBL_CREATE_FLOW,
	DBL_POST_SEND,
	DBL_POST_RECV, /* ibv_post_recv and ibv_post_wq_recv */
	DBL_REQ_NOTIFY_CQ,
	DBL_RESIZE_CQ,
	DBL_RDMA_CREATE_ID,
	DBL_RDMA_BIND_ADDR,
	DBL_FN_NR,
};

/* Kinds of live objects. */
enum dbl_obj {
	DBL_O_DEVLIST,
	DBL_O_CTX,
	DBL_O_PD,
	DBL_O_MR,
	DBL_O_CHANNEL,
	DBL_O_CQ,
	DBL_O_QP,
	DBL_O_WQ,
	DBL_O_IND,
	DBL_O_FLOW,
	DBL_O_CM_ID,
	DBL_O_NR,
};

#define DBL_MAX_DEV 4
#define DBL_MAX_QP 160
#define DBL_MAX_WQ 80
#define DBL_MAX_IND 80
#define DBL_MAX_FLOW 64
#define DBL_MAX_SEND 8192
#define DBL_MAX_RECV 32768
#define DBL_MAX_MODS 8
#define DBL_MAX_RSGE 4 /* SGEs per receive WR */
#define DBL_DATA 256

struct dbl_config {
	int ndev;
	const char *dev_name[DBL_MAX_DEV];
	int list_errno; /* != 0: ibv_get_device_list returns NULL with it */
	uint8_t link_layer;
	enum ibv_port_state port_state;
	unsigned device_cap_flags;
	uint32_t raw_packet_caps;
	uint32_t max_tso, tso_qpts;
	struct ibv_rss_caps rss;
	uint32_t max_wq_type_rq;
	int max_qp_wr, max_cqe, max_sge;
	uint32_t max_inline; /* 0: echo the request back */
	int num_comp_vectors;
	int cm_errno; /* rdma_create_id fails with it when != 0 */
	int cm_dev;   /* device index rdma_bind_addr reports */
	uint8_t cm_port;
};

struct dbl_qp_rec {
	struct ibv_qp *qp;
	struct ibv_qp_init_attr_ex attr; /* as passed (caps as written back) */
	uint8_t key[64];		 /* copy of rx_hash_key */
	int nmod;
	enum ibv_qp_state state[DBL_MAX_MODS];
	int mask[DBL_MAX_MODS];
	uint8_t port[DBL_MAX_MODS];
	int port_set;	/* went to INIT with IBV_QP_PORT */
	unsigned posts; /* ibv_post_send calls */
	unsigned recv_posts;
};

struct dbl_wq_rec {
	struct ibv_wq *wq;
	struct ibv_wq_init_attr attr;
	enum ibv_wq_state state;
	unsigned recv_posts;
};

struct dbl_ind_rec {
	struct ibv_rwq_ind_table *t;
	uint32_t log_size;
	struct ibv_wq *wq[256];
};

struct dbl_flow_rec {
	struct ibv_qp *qp;
	uint8_t buf[512]; /* the attr and its specs, as passed */
	size_t len;
	int live; /* not destroyed yet */
};

struct dbl_send_rec {
	struct ibv_qp *qp;
	unsigned post; /* which ibv_post_send call of this QP (0-based) */
	uint64_t wr_id;
	enum ibv_wr_opcode opcode;
	unsigned flags;
	int num_sge;
	struct ibv_sge sge[8];
	uint8_t data[DBL_DATA]; /* gathered SGE bytes at post time */
	uint32_t len;		/* total SGE bytes */
	uint8_t tso_hdr[128];
	uint16_t hdr_sz, mss;
	int completed;
};

struct dbl_recv_rec {
	void *rq; /* struct ibv_qp * or struct ibv_wq * */
	unsigned post;
	uint64_t wr_id;
	struct ibv_sge sge[DBL_MAX_RSGE];
	int num_sge;
	int qp_state; /* state of the QP when posted (-1 for a WQ) */
	int consumed; /* by a frame, or dropped by RESET or destroy */
};

struct dbl_state {
	unsigned calls[DBL_FN_NR];
	unsigned total_calls; /* failable calls of any kind */
	int live[DBL_O_NR];
	unsigned misuse;
	char misuse_msg[512];
	struct dbl_qp_rec qps[DBL_MAX_QP];
	int nqp;
	struct dbl_wq_rec wqs[DBL_MAX_WQ];
	int nwq;
	struct dbl_ind_rec inds[DBL_MAX_IND];
	int nind;
	struct dbl_flow_rec flows[DBL_MAX_FLOW];
	int nflow;
	struct dbl_send_rec sends[DBL_MAX_SEND];
	int nsend;
	struct dbl_recv_rec recvs[DBL_MAX_RECV];
	int nrecv;
	unsigned reg_access[64]; /* access flags of each ibv_reg_mr */
	int nreg;
	unsigned fail_wr_index; /* injected post failure: first bad WR */
};

extern struct dbl_config dbl_cfg;
extern struct dbl_state dbl;

/* Forget all records, injections and counters; default config (one
 * device "mlx5_0" with flow steering, IP csum, TSO and RSS). Objects still
 * live from a previous test are reported as leaks by dbl_live_total. */
void dbl_reset(void);

/* Fail the @nth call (1-based, from now) of @fn with @err. */
void dbl_fail_nth(enum dbl_fn fn, unsigned nth, int err);

/* Fail the @k-th failable call of any function (1-based) with @err. */
void dbl_fail_any(unsigned k, int err);

/* Live objects of every kind together. */
int dbl_live_total(void);

/* Complete the signalled send WR @wr_id of @qp with @st, and with it
 * every earlier WR of the QP; pushes one CQE on its send CQ. 0, or -1 if
 * no such pending signalled WR exists. */
int dbl_tx_complete(struct ibv_qp *qp, uint64_t wr_id, enum ibv_wc_status st);

/* Complete every pending signalled WR of @qp (one CQE each); returns how
 * many CQEs were pushed. */
int dbl_tx_complete_all(struct ibv_qp *qp);

/* Deliver a frame into the oldest posted WR of @rq (a QP or WQ): scatters
 * @data over its SGEs in order, pushes a receive CQE with byte_len @len
 * and @wc_flags (status IBV_WC_LOC_LEN_ERR, nothing written, when @len
 * exceeds the SGEs). 0, or -1 when the RQ has no posted WR or is not
 * receiving (a QP not in RTR/RTS, a WQ not RDY). */
int dbl_rx_frame(void *rq, const void *data, uint32_t len, unsigned wc_flags,
		 enum ibv_wc_status st);

/* ibv_double_wire.c: the port. Deliver @frame (Ethernet, IPv4, TCP) as
 * the NIC would: the live flow rule with the lowest priority value whose
 * specs all match (the first created among equals), then its QP's RQ, or
 * for an RSS QP the WQ that its indirection table names for the Toeplitz
 * hash of its fields. Returns the RQ (QP or WQ) that got the frame, or
 * NULL when no rule matched or dbl_rx_frame refused it. */
void *dbl_wire_frame(const void *frame, uint32_t len, unsigned wc_flags);

/* Toeplitz hash (Microsoft RSS), one key window per input bit: the model
 * of the NIC, written apart from the backend's ibv_toeplitz. Key bits
 * past @klen count as zero. */
uint32_t dbl_toeplitz(const uint8_t *key, size_t klen, const uint8_t *in,
		      size_t n);

/* A test's view of the wire on the send side: called by ibv_post_send
 * for every WR it accepts, after recording it, with @s its record and
 * @bytes the WR's SGEs gathered in order (what the NIC reads: headers and
 * payload; for IBV_WR_TSO the header is s->tso_hdr), @len bytes. */
typedef void (*dbl_tx_tap_fn)(const struct dbl_send_rec *s,
			      const uint8_t *bytes, uint32_t len, void *arg);

/* Install @fn (NULL: none) with @arg; dbl_reset removes it. */
void dbl_set_tx_tap(dbl_tx_tap_fn fn, void *arg);

/* Posted, not yet consumed receive buffers of @rq. */
int dbl_rq_posted(void *rq);

/* Posted, not yet completed send WRs of @qp. */
int dbl_sq_outstanding(struct ibv_qp *qp);

/* The record of @qp, or NULL. */
struct dbl_qp_rec *dbl_qp_rec(struct ibv_qp *qp);

#endif /* TAS_TESTS_IBV_DOUBLE_H */
