/* test_nic_ibv_place.c - ibv zero-copy receive placement against the double
 *
 * place_open/place_post/place_close and the placement side of rx_burst:
 * the flow rule (its priority over a NIC_STEER_FLOW rule of the same
 * 4-tuple, checked through the double's model of the port), the receive
 * WRs (header slot + posted buffer), where the "NIC" scatters each frame,
 * what rx_burst reports, depth and key errors, close, and the unwinding of
 * every failing verbs call. Each test runs on one queue (a raw packet QP
 * per placement queue) and on three (a WQ behind an RSS QP). Every test
 * ends with no live verbs object and no misuse in the double.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/unit/ibv_fixture.h"
#include "verbs/nic.h"

#define HDR 66 /* Ethernet + IPv4 + TCP with timestamps */
#define MSS 1448
#define RPORT 40000
#define MEM_LEN 65536

/* One open nic with LOCAL steering and a NIC_STEER_FLOW rule for the
 * test flow, and registered payload memory. */
struct env {
	struct nic *nic;
	unsigned nq;
	unsigned q;  /* the queue placement queues complete on */
	unsigned fq; /* the NIC_STEER_FLOW rule's queue */
	uint8_t *mem;
	uint32_t key;
};

static uint8_t frame_buf[2048];

static uint8_t pat(uint32_t i)
{
	return (uint8_t)(i * 7u + (i >> 8) + 1u);
}

static struct nic_steer flow_rule(uint16_t rport, uint16_t queue)
{
	return (struct nic_steer){ .kind = NIC_STEER_FLOW,
				   .queue = queue,
				   .local_ip = htonl(0x0a000001),
				   .remote_ip = htonl(0x0a000002),
				   .local_port = htons(80),
				   .remote_port = htons(rport) };
}

/* A segment from 10.0.0.2:@rport to 10.0.0.1:80 with @opt bytes of TCP
 * options (NOPs) and @plen payload bytes pat(@off + i). */
static uint32_t tcp_frame(uint8_t *f, uint16_t rport, unsigned opt,
			  uint32_t off, uint32_t plen)
{
	uint32_t hl = 54 + opt, sip = htonl(0x0a000002);
	uint32_t dip = htonl(0x0a000001);
	uint16_t ip_len = htons((uint16_t)(40 + opt + plen));
	uint16_t sp = htons(rport), dp = htons(80);

	memset(f, 0, hl);
	memcpy(f, MAC0, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x08;
	f[14] = 0x45;
	memcpy(f + 16, &ip_len, 2);
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, &sip, 4);
	memcpy(f + 30, &dip, 4);
	memcpy(f + 34, &sp, 2);
	memcpy(f + 36, &dp, 2);
	f[46] = (uint8_t)(((20 + opt) / 4) << 4);
	f[47] = 0x10;
	memset(f + 54, 1, opt);
	for (uint32_t i = 0; i < plen; i++)
		f[hl + i] = pat(off + i);
	return hl + plen;
}

static void env_open(struct env *e, unsigned nq, unsigned rx)
{
	struct nic_steer local = { .kind = NIC_STEER_LOCAL,
				   .local_ip = htonl(0x0a000001) };
	struct nic_steer fl;

	e->nq = nq;
	e->q = nq - 1;
	e->fq = nq > 1 ? 1 : 0;
	e->nic = open_nic("mlx5_0", nq, rx, 32);
	fl = flow_rule(RPORT, (uint16_t)e->fq);
	assert_int_equal(nic_add_steer(e->nic, &local), 0);
	assert_int_equal(nic_add_steer(e->nic, &fl), 0);
	e->mem = mmap(NULL, MEM_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(e->mem != MAP_FAILED);
	memset(e->mem, 0xee, MEM_LEN);
	assert_int_equal(nic_reg_mem(e->nic, e->mem, MEM_LEN, &e->key), 0);
}

static void env_close(struct env *e)
{
	nic_close(e->nic);
	munmap(e->mem, MEM_LEN);
}

static int place_open(struct env *e, uint16_t hdr_len, unsigned depth)
{
	struct nic_steer r = flow_rule(RPORT, 7); /* queue is ignored */

	return e->nic->ops->place_open(e->nic, e->q, &r, hdr_len, depth);
}

/* env_open, then a placement queue of HDR bytes and @depth; its id. */
static int env_place(struct env *e, unsigned nq, unsigned rx, unsigned depth)
{
	int id;

	env_open(e, nq, rx);
	id = place_open(e, HDR, depth);
	assert_true(id >= 0);
	return id;
}

static int post(struct env *e, int id, uint32_t off, uint32_t len,
		uint64_t cookie)
{
	return e->nic->ops->place_post(e->nic, id, e->mem + off, len, e->key,
				       cookie);
}

/* Queue @q's own RQ: its raw QP, or its WQ. */
static void *queue_rq(const struct env *e, unsigned q)
{
	return e->nq == 1 ? qp_nth(0, 0)->qp : (void *)dbl.wqs[q].wq;
}

/* The RQ of the placement queue opened last. */
static void *last_place_rq(const struct env *e)
{
	if (e->nq > 1)
		return dbl.wqs[dbl.nwq - 1].wq;
	for (int i = dbl.nqp - 1; i >= 0; i--)
		if (!(dbl.qps[i].attr.comp_mask & IBV_QP_INIT_ATTR_IND_TABLE))
			return dbl.qps[i].qp;
	return NULL;
}

/* The @i-th receive WR posted on @rq. */
static const struct dbl_recv_rec *recv_nth(const void *rq, int i)
{
	for (int k = 0; k < dbl.nrecv; k++)
		if (dbl.recvs[k].rq == rq && i-- == 0)
			return &dbl.recvs[k];
	return NULL;
}

/* Frames reported on every queue; returns the count and puts queue @q's
 * in @rx. */
static unsigned burst_all(struct env *e, unsigned q, struct nic_rx *rx,
			  unsigned n)
{
	struct nic_rx other[64];
	unsigned got = 0, tot = 0;

	for (unsigned k = 0; k < e->nq; k++) {
		unsigned c = k == q ? nic_rx_burst(e->nic, k, rx, n)
				    : nic_rx_burst(e->nic, k, other, 64);

		tot += c;
		if (k == q)
			got = c;
	}
	return tot == got ? got : tot + 1000; /* 1000+: wrong queue */
}

/* test_<name>_one_queue and test_<name>_rss: @name on 1 and 3 queues */
#define BOTH(name)                                     \
	static void test_##name##_one_queue(void **st) \
	{                                              \
		(void)st;                              \
		name(1);                               \
	}                                              \
	static void test_##name##_rss(void **st)       \
	{                                              \
		(void)st;                              \
		name(3);                               \
	}

/* 1. The rule: the flow's 4-tuple at a priority that wins over its
 * NIC_STEER_FLOW rule, on an RQ of its own that completes on queue q;
 * other flows still reach the ordinary queues. */
static void place_rule_wins(unsigned nq)
{
	const struct dbl_flow_rec *fr, *pr;
	struct ibv_flow_attr fa, pa;
	struct nic_rx rx[4];
	struct env e;
	uint32_t len;
	void *prq;
	int id;

	id = env_place(&e, nq, 32, 8);
	fr = &dbl.flows[dbl.nflow - 2]; /* the NIC_STEER_FLOW rule */
	pr = &dbl.flows[dbl.nflow - 1];
	memcpy(&fa, fr->buf, sizeof(fa));
	memcpy(&pa, pr->buf, sizeof(pa));
	assert_int_equal(pa.num_of_specs, 3);
	assert_true(pa.priority < fa.priority);
	/* same 4-tuple specs, byte for byte */
	assert_int_equal(pa.size, fa.size);
	assert_memory_equal(flow_spec(pr, 0), flow_spec(fr, 0),
			    pa.size - sizeof(pa));
	prq = last_place_rq(&e);
	if (nq == 1) {
		const struct dbl_qp_rec *r = dbl_qp_rec(pr->qp);

		assert_ptr_equal(pr->qp, prq);
		assert_ptr_equal(r->attr.recv_cq, qp_nth(0, 0)->attr.recv_cq);
		assert_int_equal(r->attr.cap.max_recv_wr, 8);
		assert_int_equal(r->attr.cap.max_recv_sge, 2);
		assert_int_equal(r->attr.cap.max_send_wr, 0);
		assert_int_equal(r->mask[0], IBV_QP_STATE | IBV_QP_PORT);
		assert_int_equal(((struct ibv_qp *)prq)->state, IBV_QPS_RTR);
	} else {
		const struct dbl_wq_rec *w = &dbl.wqs[dbl.nwq - 1];
		const struct dbl_qp_rec *r = dbl_qp_rec(pr->qp);

		assert_ptr_equal(w->attr.cq, dbl.wqs[e.q].attr.cq);
		assert_int_equal(w->attr.max_wr, 8);
		assert_int_equal(w->attr.max_sge, 2);
		assert_int_equal(w->state, IBV_WQS_RDY);
		assert_int_equal(r->attr.rx_hash_conf.rx_hash_fields_mask, 0);
		assert_ptr_equal(dbl.inds[dbl.nind - 1].wq[0], prq);
		assert_int_equal(dbl.inds[dbl.nind - 1].log_size, 0);
	}
	/* nothing posted: the flow's frame is dropped, not sent elsewhere */
	len = tcp_frame(frame_buf, RPORT, 12, 0, 100);
	assert_null(dbl_wire_frame(frame_buf, len, 0));
	assert_int_equal(post(&e, id, 0, MSS, 1), 0);
	assert_ptr_equal(dbl_wire_frame(frame_buf, len, 0), prq);
	assert_int_equal(burst_all(&e, e.q, rx, 4), 1);
	assert_int_equal(rx[0].place_id, id);
	/* another flow: the ordinary queue, reported as an ordinary frame */
	len = tcp_frame(frame_buf, RPORT + 1, 12, 0, 100);
	prq = dbl_wire_frame(frame_buf, len, 0);
	assert_non_null(prq);
	for (unsigned q = 0; q < nq; q++) {
		if (prq != queue_rq(&e, q))
			continue;
		assert_int_equal(burst_all(&e, q, rx, 4), 1);
		assert_int_equal(rx[0].len, len);
		assert_null(rx[0].payload);
		assert_int_equal(rx[0].hdr_len, 0);
		assert_int_equal(rx[0].place_id, -1);
		assert_int_equal(rx[0].place_cookie, 0);
		prq = NULL;
	}
	assert_null(prq); /* it was one of the queues' own RQs */
	env_close(&e);
}
BOTH(place_rule_wins)

/* 2. In-order full frames: each payload lands where it was posted, so
 * the stream is contiguous in the posted memory, written by the NIC
 * (the memory is read-only while rx_burst runs). */
static void place_in_order_frames_contiguous(unsigned nq)
{
	static uint8_t hdrs[6][HDR];
	struct nic_rx rx[8];
	struct env e;
	void *prq;
	int id;

	id = env_place(&e, nq, 32, 8);
	prq = last_place_rq(&e);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(post(&e, id, i * MSS, MSS, 100 + i), 0);
	for (int i = 0; i < 6; i++) {
		const struct dbl_recv_rec *w = recv_nth(prq, i);

		assert_non_null(w);
		assert_int_equal(w->num_sge, 2);
		assert_int_equal(w->sge[0].length, HDR);
		assert_int_equal(w->sge[1].addr, (uintptr_t)(e.mem + i * MSS));
		assert_int_equal(w->sge[1].length, MSS);
		assert_int_equal(w->sge[1].lkey, e.key);
	}
	for (uint32_t i = 0; i < 6; i++) {
		uint32_t len = tcp_frame(frame_buf, RPORT, 12, i * MSS, MSS);

		memcpy(hdrs[i], frame_buf, HDR);
		assert_int_equal(len, HDR + MSS);
		assert_ptr_equal(
			dbl_wire_frame(frame_buf, len, IBV_WC_IP_CSUM_OK), prq);
	}
	assert_int_equal(mprotect(e.mem, MEM_LEN, PROT_READ), 0);
	assert_int_equal(burst_all(&e, e.q, rx, 8), 6);
	assert_int_equal(mprotect(e.mem, MEM_LEN, PROT_READ | PROT_WRITE), 0);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(rx[i].len, HDR + MSS);
		assert_int_equal(rx[i].hdr_len, HDR);
		assert_ptr_equal(rx[i].payload, e.mem + i * MSS);
		assert_int_equal(rx[i].place_cookie, 100 + i);
		assert_int_equal(rx[i].place_id, id);
		assert_int_equal(rx[i].csum, NIC_CSUM_OK);
		assert_int_equal(rx[i].gso_size, 0);
		/* the header slot is SGE 0 of its WR, holding the header */
		assert_int_equal((uintptr_t)rx[i].data,
				 recv_nth(prq, i)->sge[0].addr);
		assert_memory_equal(rx[i].data, hdrs[i], HDR);
	}
	for (uint32_t i = 0; i < 6 * MSS; i++)
		if (e.mem[i] != pat(i))
			fail_msg("stream byte %u: %#x, want %#x", i, e.mem[i],
				 pat(i));
	assert_int_equal(e.mem[6 * MSS], 0xee); /* nothing past it */
	env_close(&e); /* closes the placement queue too */
}
BOTH(place_in_order_frames_contiguous)

/* 3. Frames whose headers are not HDR bytes split at HDR all the same;
 * rx_burst reports them so the caller can see it. A frame too long for
 * its WR is reported empty, handing the buffer back unwritten. */
static void place_other_header_lengths(unsigned nq)
{
	struct nic_rx rx[8];
	struct env e;
	uint32_t l54, l78, l60;
	int id;

	id = env_place(&e, nq, 32, 8);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(post(&e, id, i * 2048, 200, i), 0);
	/* 12 bytes fewer options: 12 payload bytes go to the slot */
	l54 = tcp_frame(frame_buf, RPORT, 0, 0, 100);
	assert_non_null(dbl_wire_frame(frame_buf, l54, 0));
	assert_int_equal(nic_rx_burst(e.nic, e.q, rx, 8), 1);
	assert_int_equal(rx[0].len, 154);
	assert_int_equal(rx[0].hdr_len, HDR);
	assert_int_equal((rx[0].data[46] >> 4) * 4, 20); /* not 32 */
	assert_memory_equal(rx[0].data, frame_buf, HDR);
	assert_memory_equal(rx[0].payload, frame_buf + HDR, 154 - HDR);
	assert_int_equal(e.mem[154 - HDR], 0xee);
	/* 12 bytes more: the slot ends inside the options */
	l78 = tcp_frame(frame_buf, RPORT, 24, 0, 100);
	assert_non_null(dbl_wire_frame(frame_buf, l78, 0));
	assert_int_equal(nic_rx_burst(e.nic, e.q, rx, 8), 1);
	assert_int_equal(rx[0].len, 178);
	assert_ptr_equal(rx[0].payload, e.mem + 2048);
	assert_memory_equal(rx[0].data, frame_buf, HDR);
	assert_memory_equal(rx[0].payload, "\x01\x01\x01\x01", 4);
	assert_memory_equal(rx[0].payload + 12, frame_buf + 78, 100);
	/* shorter than the slot (a pure ACK): the buffer is untouched */
	l60 = tcp_frame(frame_buf, RPORT, 0, 0, 6);
	assert_non_null(dbl_wire_frame(frame_buf, l60, 0));
	/* longer than slot + buffer: an error completion, reported empty */
	assert_non_null(dbl_wire_frame(
		frame_buf, tcp_frame(frame_buf, RPORT, 12, 0, 300), 0));
	assert_int_equal(nic_rx_burst(e.nic, e.q, rx, 8), 2);
	assert_int_equal(rx[0].len, l60);
	assert_int_equal(rx[0].place_cookie, 2);
	assert_int_equal(e.mem[2 * 2048], 0xee);
	assert_int_equal(rx[1].len, 0);
	assert_int_equal(rx[1].place_cookie, 3);
	assert_ptr_equal(rx[1].payload, e.mem + 3 * 2048);
	assert_int_equal(rx[1].csum, NIC_CSUM_UNKNOWN);
	assert_int_equal(e.mem[3 * 2048], 0xee);
	env_close(&e);
}
BOTH(place_other_header_lengths)

/* 4. place_post: unknown key or range -EINVAL; depth outstanding
 * -ENOSPC; a completed WQE makes room at once, and header slots still
 * held by the caller's frames are not posted again before the next
 * rx_burst. */
static void place_post_errors_and_depth(unsigned nq)
{
	struct nic_rx rx[8];
	struct env e;
	void *prq;
	int id;

	id = env_place(&e, nq, 32, 4);
	prq = last_place_rq(&e);
	assert_int_equal(
		e.nic->ops->place_post(e.nic, id, e.mem, 100, e.key + 1, 0),
		-EINVAL);
	assert_int_equal(post(&e, id, MEM_LEN - 100, 101, 0), -EINVAL);
	assert_int_equal(post(&e, id, 0, 0, 0), -EINVAL);
	assert_int_equal(post(&e, id + 1, 0, 100, 0), -EINVAL);
	assert_int_equal(post(&e, -1, 0, 100, 0), -EINVAL);
	assert_int_equal(dbl_rq_posted(prq), 0);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(post(&e, id, i * 2048, 2048, i), 0);
	assert_int_equal(post(&e, id, 8192, 2048, 4), -ENOSPC);
	/* a verbs failure posts nothing and costs no slot */
	assert_non_null(dbl_wire_frame(
		frame_buf, tcp_frame(frame_buf, RPORT, 12, 0, 10), 0));
	assert_int_equal(nic_rx_burst(e.nic, e.q, rx, 8), 1);
	dbl_fail_nth(DBL_POST_RECV, 1, ENOMEM);
	assert_int_equal(post(&e, id, 8192, 2048, 4), -ENOMEM);
	assert_int_equal(post(&e, id, 8192, 2048, 4), 0);
	assert_int_equal(post(&e, id, 10240, 2048, 5), -ENOSPC);
	/* all four complete and are held by the caller */
	for (int i = 0; i < 4; i++)
		assert_non_null(dbl_wire_frame(
			frame_buf, tcp_frame(frame_buf, RPORT, 12, 0, 10), 0));
	assert_int_equal(nic_rx_burst(e.nic, e.q, rx, 8), 4);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(post(&e, id, 12288 + i * 2048, 2048, 6 + i),
				 0);
	assert_int_equal(post(&e, id, 0, 2048, 10), -ENOSPC);
	for (int i = dbl.nrecv - 4; i < dbl.nrecv; i++)
		for (int k = 0; k < 4; k++)
			assert_int_not_equal(dbl.recvs[i].sge[0].addr,
					     (uintptr_t)rx[k].data);
	assert_int_equal(nic_rx_burst(e.nic, e.q, rx, 8), 0);
	assert_int_equal(post(&e, id, 0, 2048, 10), -ENOSPC);
	assert_int_equal(dbl_rq_posted(prq), 4);
	env_close(&e);
}
BOTH(place_post_errors_and_depth)

/* 5. place_close: the flow follows the other rules again, posted
 * buffers are never written, and no completion of the queue is reported,
 * not even one already in the CQ, nor after its id is opened again. */
static void place_close_restores_and_reports_nothing(unsigned nq)
{
	struct nic_rx rx[8];
	struct env e;
	uint32_t len;
	int live, id, id2;

	env_open(&e, nq, 32);
	live = dbl_live_total();
	id = place_open(&e, HDR, 4);
	assert_true(id >= 0);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(post(&e, id, i * 2048, 2048, i), 0);
	len = tcp_frame(frame_buf, RPORT, 12, 0, 100);
	assert_non_null(dbl_wire_frame(frame_buf, len, 0)); /* not polled */
	memset(e.mem, 0xee, 2048);
	e.nic->ops->place_close(e.nic, id);
	assert_int_equal(dbl_live_total(), live);
	if (nq == 1) {
		const struct dbl_qp_rec *r = &dbl.qps[dbl.nqp - 1];

		assert_int_equal(r->state[r->nmod - 1], IBV_QPS_RESET);
	} else {
		assert_int_equal(dbl.wqs[dbl.nwq - 1].state, IBV_WQS_RESET);
	}
	assert_int_equal(burst_all(&e, e.q, rx, 8), 0);
	/* the flow's frames go to the NIC_STEER_FLOW rule's queue again */
	assert_ptr_equal(dbl_wire_frame(frame_buf, len, 0), queue_rq(&e, e.fq));
	assert_int_equal(burst_all(&e, e.fq, rx, 8), 1);
	assert_int_equal(rx[0].place_id, -1);
	assert_null(rx[0].payload);
	for (uint32_t i = 0; i < 4 * 2048; i++)
		assert_int_equal(e.mem[i], 0xee);
	/* the same id again; a frame of the old queue still in the CQ */
	id = place_open(&e, HDR, 4);
	assert_true(id >= 0);
	assert_int_equal(post(&e, id, 0, 2048, 1), 0);
	assert_non_null(dbl_wire_frame(frame_buf, len, 0));
	e.nic->ops->place_close(e.nic, id);
	id2 = place_open(&e, HDR, 4);
	assert_int_equal(id2, id);
	assert_int_equal(post(&e, id2, 4096, 2048, 2), 0);
	assert_int_equal(burst_all(&e, e.q, rx, 8), 0);
	assert_non_null(dbl_wire_frame(frame_buf, len, 0));
	assert_int_equal(burst_all(&e, e.q, rx, 8), 1);
	assert_int_equal(rx[0].place_cookie, 2);
	assert_ptr_equal(rx[0].payload, e.mem + 4096);
	e.nic->ops->place_close(e.nic, id2);
	e.nic->ops->place_close(e.nic, id2); /* closed: ignored */
	assert_int_equal(dbl_live_total(), live);
	env_close(&e);
}
BOTH(place_close_restores_and_reports_nothing)

/* 6. Fail each verbs call of place_open in turn: the errno comes back,
 * nothing is left alive, and the next place_open gets the same id. */
static void place_open_fail_each_call(unsigned nq)
{
	unsigned total, calls;
	struct env e;
	int live, id;

	dbl_reset();
	env_open(&e, nq, 32);
	calls = dbl.total_calls;
	id = place_open(&e, HDR, 8);
	assert_true(id >= 0);
	total = dbl.total_calls - calls;
	env_close(&e);
	assert_int_equal(dbl_live_total(), 0);
	assert_true(total >= 5);
	for (unsigned k = 1; k <= total; k++) {
		int err = k % 2 ? ENOMEM : EIO, rc;

		dbl_reset();
		env_open(&e, nq, 32);
		live = dbl_live_total();
		dbl_fail_any(k, err);
		rc = place_open(&e, HDR, 8);
		if (rc != -err)
			print_error("call %u of %u: place_open %d\n", k, total,
				    rc);
		assert_int_equal(rc, -err);
		if (dbl_live_total() != live || dbl.misuse)
			print_error("call %u: %d live (was %d), misuse: %s\n",
				    k, dbl_live_total(), live, dbl.misuse_msg);
		assert_int_equal(dbl_live_total(), live);
		assert_int_equal(dbl.misuse, 0);
		assert_int_equal(place_open(&e, HDR, 8), id);
		env_close(&e);
		assert_int_equal(dbl_live_total(), 0);
	}
}
BOTH(place_open_fail_each_call)

/* 7. The queue's recv CQ grows to hold every WQE that can complete on
 * it: ordinary and placement frames all pending, no overrun. */
static void place_cq_grows(unsigned nq)
{
	struct nic_rx rx[64];
	struct env e;
	unsigned got = 0, k, ord = 0;
	void *prq, *orq;
	int id;

	id = env_place(&e, nq, 16, 32);
	assert_int_equal(dbl.calls[DBL_RESIZE_CQ], 1);
	prq = last_place_rq(&e);
	orq = queue_rq(&e, e.q);
	for (uint32_t i = 0; i < 32; i++)
		assert_int_equal(post(&e, id, i * 2048, 2048, i), 0);
	for (int i = 0; i < 32; i++) {
		uint32_t len = tcp_frame(frame_buf, RPORT, 12, 0, 10);

		assert_ptr_equal(dbl_wire_frame(frame_buf, len, 0), prq);
		if (i % 2 == 0)
			assert_int_equal(dbl_rx_frame(orq, frame_buf, 60, 0,
						      IBV_WC_SUCCESS),
					 0);
	}
	while ((k = nic_rx_burst(e.nic, e.q, rx, 64)) > 0) {
		for (unsigned i = 0; i < k; i++)
			ord += rx[i].place_id == -1;
		got += k;
	}
	assert_int_equal(got, 48);
	assert_int_equal(ord, 16);
	env_close(&e);
}
BOTH(place_cq_grows)

/* Bad arguments to place_open. */
static void test_place_open_bad_arguments(void **st)
{
	struct nic_steer local = { .kind = NIC_STEER_LOCAL };
	struct nic_steer r = flow_rule(RPORT, 0);
	struct env e;

	(void)st;
	env_open(&e, 3, 32);
	assert_int_equal(e.nic->ops->place_open(e.nic, 3, &r, HDR, 8), -EINVAL);
	assert_int_equal(e.nic->ops->place_open(e.nic, 0, &local, HDR, 8),
			 -EINVAL);
	assert_int_equal(e.nic->ops->place_open(e.nic, 0, &r, 0, 8), -EINVAL);
	assert_int_equal(e.nic->ops->place_open(e.nic, 0, &r, 257, 8), -EINVAL);
	assert_int_equal(e.nic->ops->place_open(e.nic, 0, &r, HDR, 0), -EINVAL);
	assert_int_equal(e.nic->ops->place_open(e.nic, 0, &r, HDR, 40000),
			 -EINVAL);
	/* ids of different queues are distinct */
	assert_int_not_equal(e.nic->ops->place_open(e.nic, 0, &r, HDR, 8),
			     e.nic->ops->place_open(e.nic, 1, &r, HDR, 8));
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_place_rule_wins_one_queue),
		T(test_place_rule_wins_rss),
		T(test_place_in_order_frames_contiguous_one_queue),
		T(test_place_in_order_frames_contiguous_rss),
		T(test_place_other_header_lengths_one_queue),
		T(test_place_other_header_lengths_rss),
		T(test_place_post_errors_and_depth_one_queue),
		T(test_place_post_errors_and_depth_rss),
		T(test_place_close_restores_and_reports_nothing_one_queue),
		T(test_place_close_restores_and_reports_nothing_rss),
		T(test_place_open_fail_each_call_one_queue),
		T(test_place_open_fail_each_call_rss),
		T(test_place_cq_grows_one_queue),
		T(test_place_cq_grows_rss),
		T(test_place_open_bad_arguments),
	};

	return cmocka_run_group_tests(tests, ibv_fix_group_setup,
				      ibv_fix_group_teardown);
}
