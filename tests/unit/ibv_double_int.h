/* ibv_double_int.h - what the two halves of the libibverbs double share:
 * the fake objects behind the verbs structs, the call counter with fault
 * injection, misuse reports and registered memory (ibv_double.c: devices,
 * contexts, memory, librdmacm; ibv_double_queue.c: CQs, QPs, WQs, flows
 * and the queue helpers of ibv_double.h) */
#ifndef TAS_TESTS_IBV_DOUBLE_INT_H
#define TAS_TESTS_IBV_DOUBLE_INT_H

#include "tests/unit/ibv_double.h"

struct dbl_ctx {
	struct verbs_context v; /* ibv_context is its last member */
	int counted;
};

struct dbl_chan {
	struct ibv_comp_channel ch;
	int wfd;
	int cqs; /* CQs using it */
};

struct dbl_cq {
	struct ibv_cq cq;
	struct ibv_wc *ring;
	unsigned cap, head, tail; /* fifo: [tail, head) */
	int armed;
	unsigned got, acked; /* events fetched, acked */
	int users;	     /* QPs and WQs using it */
};

struct dbl_pd {
	struct ibv_pd pd;
	int users;
};

struct dbl_mr {
	struct ibv_mr mr;
	unsigned access;
};

struct dbl_qp {
	struct ibv_qp qp;
	struct dbl_qp_rec *rec;
	int flows;
};

struct dbl_wq {
	struct ibv_wq wq;
	struct dbl_wq_rec *rec;
	int inds;
};

struct dbl_ind {
	struct ibv_rwq_ind_table t;
	struct dbl_ind_rec *rec;
	int qps;
};

struct dbl_flow {
	struct ibv_flow f;
	struct dbl_qp *qp;
	struct dbl_flow_rec *rec;
};

/* shared state: object numbers, the TX tap (dbl_set_tx_tap) */
extern uint32_t dbl_next_num;
extern dbl_tx_tap_fn dbl_tx_tap;
extern void *dbl_tx_tap_arg;

/* Count a call of @fn; returns the errno to fail it with, or 0. */
int dbl_call(enum dbl_fn fn);
/* Note a misuse of the API (dbl.misuse, dbl.misuse_msg). */
void dbl_misuse(const char *fmt, ...);
/* Does a registered MR with @access cover [addr, addr + len) under @lkey? */
int dbl_mr_covers(uint32_t lkey, uint64_t addr, uint32_t len, unsigned access);

/* the context's ops (ibv_double_queue.c) */
int dbl_op_poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc);
int dbl_op_req_notify_cq(struct ibv_cq *cq, int solicited);
int dbl_op_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		     struct ibv_send_wr **bad);
int dbl_op_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		     struct ibv_recv_wr **bad);
struct ibv_qp *dbl_op_create_qp_ex(struct ibv_context *ctx,
				   struct ibv_qp_init_attr_ex *a);
struct ibv_wq *dbl_op_create_wq(struct ibv_context *ctx,
				struct ibv_wq_init_attr *a);
int dbl_op_modify_wq(struct ibv_wq *wq, struct ibv_wq_attr *a);
int dbl_op_destroy_wq(struct ibv_wq *wq);
struct ibv_rwq_ind_table *
dbl_op_create_ind(struct ibv_context *ctx,
		  struct ibv_rwq_ind_table_init_attr *a);
int dbl_op_destroy_ind(struct ibv_rwq_ind_table *it);
struct ibv_flow *dbl_op_create_flow(struct ibv_qp *qp, struct ibv_flow_attr *a);
int dbl_op_destroy_flow(struct ibv_flow *fl);

#endif
