/* ibv_double.c - link-time test double of libibverbs and librdmacm
 *
 * See ibv_double.h. Every fake object is a calloc'd wrapper whose first
 * member is the public verbs struct; the context is a struct verbs_context
 * (sz, abi_compat and the op pointers set) so the header's inline wrappers
 * dispatch here. This file: call counting and fault injection, devices,
 * contexts and ports, PDs and MRs, librdmacm, dbl_reset; the queues (CQs,
 * QPs, WQs, flows) are ibv_double_queue.c, sharing ibv_double_int.h.
 * Completion channels are pipes: an armed CQ writes its pointer when a CQE
 * is pushed, ibv_get_cq_event reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/ibv_double_int.h"

struct dbl_config dbl_cfg;
struct dbl_state dbl;

static unsigned fail_nth[DBL_FN_NR];
static int fail_err[DBL_FN_NR];
static unsigned fail_any_k;
static int fail_any_err;
static struct dbl_mr *mrs[1024];
static int nmrs;
static struct dbl_ctx cm_ctx; /* context librdmacm would own */
uint32_t dbl_next_num = 0x100;
static struct ibv_device devs[DBL_MAX_DEV];

void dbl_misuse(const char *fmt, ...)
{
	va_list ap;
	size_t l = strlen(dbl.misuse_msg);

	dbl.misuse++;
	if (l + 2 >= sizeof(dbl.misuse_msg))
		return;
	va_start(ap, fmt);
	vsnprintf(dbl.misuse_msg + l, sizeof(dbl.misuse_msg) - l, fmt, ap);
	va_end(ap);
	l = strlen(dbl.misuse_msg);
	if (l + 2 < sizeof(dbl.misuse_msg))
		strcat(dbl.misuse_msg, "; ");
}

/* Count a call of @fn; returns the errno to fail it with, or 0. */
int dbl_call(enum dbl_fn fn)
{
	int e = 0;

	dbl.calls[fn]++;
	dbl.total_calls++;
	if (fail_nth[fn] && dbl.calls[fn] == fail_nth[fn])
		e = fail_err[fn];
	if (fail_any_k && dbl.total_calls == fail_any_k)
		e = fail_any_err;
	return e;
}

void dbl_fail_nth(enum dbl_fn fn, unsigned nth, int err)
{
	fail_nth[fn] = nth ? dbl.calls[fn] + nth : 0;
	fail_err[fn] = err;
}

void dbl_fail_any(unsigned k, int err)
{
	fail_any_k = k ? dbl.total_calls + k : 0;
	fail_any_err = err;
}

int dbl_live_total(void)
{
	int t = 0;

	for (int i = 0; i < DBL_O_NR; i++)
		t += dbl.live[i];
	return t;
}

/* ---- memory ---- */

struct ibv_pd *ibv_alloc_pd(struct ibv_context *ctx)
{
	struct dbl_pd *p;
	int e = dbl_call(DBL_ALLOC_PD);

	if (e) {
		errno = e;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	p->pd.context = ctx;
	p->pd.handle = dbl_next_num++;
	dbl.live[DBL_O_PD]++;
	return &p->pd;
}

int ibv_dealloc_pd(struct ibv_pd *pd)
{
	struct dbl_pd *p = (struct dbl_pd *)pd;

	if (p->users) {
		dbl_misuse("dealloc_pd with %d users", p->users);
		return EBUSY;
	}
	free(p);
	dbl.live[DBL_O_PD]--;
	return 0;
}

static struct ibv_mr *reg(struct ibv_pd *pd, void *addr, size_t len,
			  unsigned access)
{
	struct dbl_mr *m;
	int e = dbl_call(DBL_REG_MR);

	if (e) {
		errno = e;
		return NULL;
	}
	if (nmrs == (int)(sizeof(mrs) / sizeof(mrs[0]))) {
		errno = ENOMEM;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	m->mr.context = pd->context;
	m->mr.pd = pd;
	m->mr.addr = addr;
	m->mr.length = len;
	m->mr.lkey = m->mr.rkey = dbl_next_num++;
	m->access = access;
	mrs[nmrs++] = m;
	if (dbl.nreg < 64)
		dbl.reg_access[dbl.nreg++] = access;
	((struct dbl_pd *)pd)->users++;
	dbl.live[DBL_O_MR]++;
	return &m->mr;
}

struct ibv_mr *(ibv_reg_mr)(struct ibv_pd *pd, void *addr, size_t length,
			    int access)
{
	return reg(pd, addr, length, (unsigned)access);
}

struct ibv_mr *(ibv_reg_mr_iova2)(struct ibv_pd *pd, void *addr, size_t length,
				  uint64_t iova, unsigned int access)
{
	(void)iova;
	return reg(pd, addr, length, access);
}

int ibv_dereg_mr(struct ibv_mr *mr)
{
	for (int i = 0; i < nmrs; i++) {
		if (&mrs[i]->mr != mr)
			continue;
		((struct dbl_pd *)mr->pd)->users--;
		free(mrs[i]);
		mrs[i] = mrs[--nmrs];
		dbl.live[DBL_O_MR]--;
		return 0;
	}
	dbl_misuse("dereg_mr of an unknown MR");
	return EINVAL;
}

/* Does a live MR with @lkey cover [addr, addr+len) with @access? */
int dbl_mr_covers(uint32_t lkey, uint64_t addr, uint32_t len, unsigned access)
{
	for (int i = 0; i < nmrs; i++) {
		struct ibv_mr *m = &mrs[i]->mr;

		if (m->lkey != lkey)
			continue;
		return addr >= (uintptr_t)m->addr &&
		       addr + len <= (uintptr_t)m->addr + m->length &&
		       (mrs[i]->access & access) == access;
	}
	return 0;
}

/* ---- device and context ---- */

static int op_query_device_ex(struct ibv_context *ctx,
			      const struct ibv_query_device_ex_input *in,
			      struct ibv_device_attr_ex *a, size_t len)
{
	int e = dbl_call(DBL_QUERY_DEVICE_EX);

	(void)ctx;
	(void)in;
	if (e)
		return e;
	memset(a, 0, len);
	a->orig_attr.device_cap_flags = dbl_cfg.device_cap_flags;
	a->orig_attr.max_qp_wr = dbl_cfg.max_qp_wr;
	a->orig_attr.max_cqe = dbl_cfg.max_cqe;
	a->orig_attr.max_sge = dbl_cfg.max_sge;
	a->orig_attr.phys_port_cnt = 1;
	a->raw_packet_caps = dbl_cfg.raw_packet_caps;
	a->tso_caps.max_tso = dbl_cfg.max_tso;
	a->tso_caps.supported_qpts = dbl_cfg.tso_qpts;
	a->rss_caps = dbl_cfg.rss;
	a->max_wq_type_rq = dbl_cfg.max_wq_type_rq;
	return 0;
}

int ibv_query_device(struct ibv_context *ctx, struct ibv_device_attr *a)
{
	struct ibv_device_attr_ex ax;
	int rc = op_query_device_ex(ctx, NULL, &ax, sizeof(ax));

	if (!rc)
		*a = ax.orig_attr;
	return rc;
}

static int op_query_port(struct ibv_context *ctx, uint8_t port,
			 struct ibv_port_attr *a, size_t len)
{
	int e = dbl_call(DBL_QUERY_PORT);

	(void)ctx;
	if (e)
		return e;
	if (port < 1 || port > 2)
		return EINVAL;
	memset(a, 0, len);
	a->state = dbl_cfg.port_state;
	a->link_layer = dbl_cfg.link_layer;
	return 0;
}

int(ibv_query_port)(struct ibv_context *ctx, uint8_t port,
		    struct _compat_ibv_port_attr *a)
{
	return op_query_port(ctx, port, (struct ibv_port_attr *)a,
			     sizeof(struct ibv_port_attr));
}

const char *ibv_port_state_str(enum ibv_port_state s)
{
	static const char *const n[] = { "NOP",	  "DOWN",   "INIT",
					 "ARMED", "ACTIVE", "ACTIVE_DEFER" };

	return (unsigned)s < 6 ? n[s] : "unknown";
}

static void ctx_init(struct dbl_ctx *c, struct ibv_device *dev)
{
	struct verbs_context *v = &c->v;

	memset(c, 0, sizeof(*c));
	v->sz = sizeof(*v);
	v->context.abi_compat = __VERBS_ABI_IS_EXTENDED;
	v->context.device = dev;
	v->context.num_comp_vectors = dbl_cfg.num_comp_vectors;
	v->context.cmd_fd = -1;
	v->context.async_fd = -1;
	v->context.ops.poll_cq = dbl_op_poll_cq;
	v->context.ops.req_notify_cq = dbl_op_req_notify_cq;
	v->context.ops.post_send = dbl_op_post_send;
	v->context.ops.post_recv = dbl_op_post_recv;
	v->query_port = op_query_port;
	v->query_device_ex = op_query_device_ex;
	v->create_qp_ex = dbl_op_create_qp_ex;
	v->create_wq = dbl_op_create_wq;
	v->modify_wq = dbl_op_modify_wq;
	v->destroy_wq = dbl_op_destroy_wq;
	v->create_rwq_ind_table = dbl_op_create_ind;
	v->destroy_rwq_ind_table = dbl_op_destroy_ind;
	v->ibv_create_flow = dbl_op_create_flow;
	v->ibv_destroy_flow = dbl_op_destroy_flow;
}

struct ibv_device **ibv_get_device_list(int *num)
{
	struct ibv_device **l;
	int e = dbl_call(DBL_GET_DEVICE_LIST);

	if (!e)
		e = dbl_cfg.list_errno;
	if (e) {
		errno = e;
		return NULL;
	}
	l = calloc((size_t)dbl_cfg.ndev + 1, sizeof(*l));
	for (int i = 0; i < dbl_cfg.ndev; i++) {
		snprintf(devs[i].name, sizeof(devs[i].name), "%s",
			 dbl_cfg.dev_name[i]);
		snprintf(devs[i].dev_name, sizeof(devs[i].dev_name), "uverbs%d",
			 i);
		devs[i].transport_type = IBV_TRANSPORT_IB;
		l[i] = &devs[i];
	}
	if (num)
		*num = dbl_cfg.ndev;
	dbl.live[DBL_O_DEVLIST]++;
	return l;
}

void ibv_free_device_list(struct ibv_device **list)
{
	free(list);
	dbl.live[DBL_O_DEVLIST]--;
}

const char *ibv_get_device_name(struct ibv_device *dev)
{
	return dev->name;
}

struct ibv_context *ibv_open_device(struct ibv_device *dev)
{
	struct dbl_ctx *c;
	int e = dbl_call(DBL_OPEN_DEVICE);

	if (e) {
		errno = e;
		return NULL;
	}
	c = malloc(sizeof(*c));
	ctx_init(c, dev);
	c->counted = 1;
	dbl.live[DBL_O_CTX]++;
	return &c->v.context;
}

int ibv_close_device(struct ibv_context *ctx)
{
	struct dbl_ctx *c =
		(struct dbl_ctx *)((char *)ctx -
				   offsetof(struct verbs_context, context));

	if (dbl.live[DBL_O_PD] || dbl.live[DBL_O_CQ] || dbl.live[DBL_O_CHANNEL])
		dbl_misuse("close_device with live PD/CQ/channel");
	free(c);
	dbl.live[DBL_O_CTX]--;
	return 0;
}

/* ---- librdmacm ---- */

int rdma_create_id(struct rdma_event_channel *ch, struct rdma_cm_id **id,
		   void *context, enum rdma_port_space ps)
{
	int e = dbl_call(DBL_RDMA_CREATE_ID);

	if (!e)
		e = dbl_cfg.cm_errno;
	if (e) {
		errno = e;
		return -1;
	}
	*id = calloc(1, sizeof(**id));
	(*id)->channel = ch;
	(*id)->context = context;
	(*id)->ps = ps;
	dbl.live[DBL_O_CM_ID]++;
	return 0;
}

int rdma_bind_addr(struct rdma_cm_id *id, struct sockaddr *addr)
{
	int e = dbl_call(DBL_RDMA_BIND_ADDR);

	(void)addr;
	if (e) {
		errno = e;
		return -1;
	}
	snprintf(devs[dbl_cfg.cm_dev].name, sizeof(devs[0].name), "%s",
		 dbl_cfg.dev_name[dbl_cfg.cm_dev]);
	ctx_init(&cm_ctx, &devs[dbl_cfg.cm_dev]);
	id->verbs = &cm_ctx.v.context;
	id->port_num = dbl_cfg.cm_port;
	return 0;
}

int rdma_destroy_id(struct rdma_cm_id *id)
{
	free(id);
	dbl.live[DBL_O_CM_ID]--;
	return 0;
}

/* ---- test helpers ---- */

void dbl_reset(void)
{
	memset(&dbl, 0, sizeof(dbl));
	memset(fail_nth, 0, sizeof(fail_nth));
	memset(fail_err, 0, sizeof(fail_err));
	fail_any_k = 0;
	nmrs = 0;
	dbl_tx_tap = NULL;
	dbl_tx_tap_arg = NULL;
	memset(&dbl_cfg, 0, sizeof(dbl_cfg));
	dbl_cfg.ndev = 1;
	dbl_cfg.dev_name[0] = "mlx5_0";
	dbl_cfg.dev_name[1] = "mlx5_1";
	dbl_cfg.link_layer = IBV_LINK_LAYER_ETHERNET;
	dbl_cfg.port_state = IBV_PORT_ACTIVE;
	dbl_cfg.device_cap_flags =
		IBV_DEVICE_MANAGED_FLOW_STEERING | IBV_DEVICE_RAW_IP_CSUM;
	dbl_cfg.raw_packet_caps = IBV_RAW_PACKET_CAP_IP_CSUM;
	dbl_cfg.max_tso = 262144;
	dbl_cfg.tso_qpts = 1u << IBV_QPT_RAW_PACKET;
	dbl_cfg.rss.supported_qpts = 1u << IBV_QPT_RAW_PACKET;
	dbl_cfg.rss.max_rwq_indirection_tables = 64;
	dbl_cfg.rss.max_rwq_indirection_table_size = 256;
	dbl_cfg.rss.rx_hash_fields_mask =
		IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
		IBV_RX_HASH_SRC_PORT_TCP | IBV_RX_HASH_DST_PORT_TCP |
		IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP;
	dbl_cfg.rss.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ;
	dbl_cfg.max_wq_type_rq = 64;
	dbl_cfg.max_qp_wr = 32768;
	dbl_cfg.max_cqe = 4194303;
	dbl_cfg.max_sge = 30;
	dbl_cfg.num_comp_vectors = 4;
	dbl_cfg.cm_errno = ENODEV;
	dbl_cfg.cm_port = 1;
}
