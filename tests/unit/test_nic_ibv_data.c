/* test_nic_ibv_data.c - the ibv backend's data path against the
 * libibverbs double: TX work requests (inline headers, header slots, lkeys,
 * checksum and TSO flags, selective signalling, completions, a full send
 * queue, post failures, the RSS queue's own QP) and RX (frames then one
 * refill batch, burst limits, checksum status, error completions, RSS
 * queues). Setup, steering, RSS prediction and arming: test_nic_ibv.c.
 * Every test ends with no live verbs object and no misuse in the double.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/ibv_fixture.h"
#include "verbs/nic.h"
#include "verbs/nic_ibv.h"

/* ---- helpers ---- */

static int nsig(struct ibv_qp *qp)
{
	int n = 0;

	for (int i = 0; i < dbl.nsend; i++)
		if (dbl.sends[i].qp == qp &&
		    (dbl.sends[i].flags & IBV_SEND_SIGNALED))
			n++;
	return n;
}

/* ---- TX ---- */

static uint8_t hdr54[54];

static void test_tx_small_frame_inline_with_csum(void **state)
{
	static char pay[10] = "0123456789";
	struct dbl_send_rec *s;
	struct nic_tx t;
	struct nic *nic;
	uint32_t key;

	(void)state;
	nic = open_nic("mlx5_0", 1, 64, 64);
	assert_int_equal(nic_reg_mem(nic, pay, sizeof(pay), &key), 0);
	memset(hdr54, 0xab, sizeof(hdr54));
	t = ibv_tx_frame(hdr54, 54, 7);
	t.flags = NIC_TX_CSUM;
	t.nseg = 1;
	t.seg[0] = (struct nic_seg){ pay, 10, key };
	assert_int_equal(nic_tx_burst(nic, 0, &t, 1), 1);
	s = &dbl.sends[0];
	assert_int_equal(s->opcode, IBV_WR_SEND);
	assert_true(s->flags & IBV_SEND_INLINE);
	assert_true(s->flags & IBV_SEND_IP_CSUM);
	assert_int_equal(s->num_sge, 2);
	assert_int_equal(s->len, 64);
	assert_memory_equal(s->data, hdr54, 54);
	assert_memory_equal(s->data + 54, pay, 10);
	/* reg_mem: placement queues receive into it too */
	assert_int_equal(dbl.reg_access[2], IBV_ACCESS_LOCAL_WRITE);
	nic_close(nic);
}

static void test_tx_large_frame_header_slot_and_lkeys(void **state)
{
	static uint8_t pay[3000];
	struct dbl_send_rec *s;
	struct nic_tx t;
	struct nic *nic;
	uint32_t key;

	(void)state;
	nic = open_nic("mlx5_0", 1, 64, 64);
	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)i;
	assert_int_equal(nic_reg_mem(nic, pay, sizeof(pay), &key), 0);
	memset(hdr54, 0x5a, sizeof(hdr54));
	t = ibv_tx_frame(hdr54, 54, 1);
	t.nseg = 2; /* a ring wrap: two pieces */
	t.seg[0] = (struct nic_seg){ pay + 2000, 1000, key };
	t.seg[1] = (struct nic_seg){ pay, 400, key };
	assert_int_equal(nic_tx_burst(nic, 0, &t, 1), 1);
	memset(hdr54, 0, sizeof(hdr54)); /* the backend copied it */
	s = &dbl.sends[0];
	assert_false(s->flags & IBV_SEND_INLINE);
	assert_false(s->flags & IBV_SEND_IP_CSUM);
	assert_int_equal(s->num_sge, 3);
	assert_ptr_not_equal((void *)(uintptr_t)s->sge[0].addr, hdr54);
	assert_int_equal(s->sge[0].length, 54);
	assert_int_equal(((uint8_t *)(uintptr_t)s->sge[0].addr)[0], 0x5a);
	assert_int_equal(s->sge[1].addr, (uintptr_t)(pay + 2000));
	assert_int_equal(s->sge[1].length, 1000);
	assert_int_equal(s->sge[1].lkey, key);
	assert_int_equal(s->sge[2].addr, (uintptr_t)pay);
	assert_int_equal(s->sge[2].lkey, key);
	assert_int_equal(s->len, 1454);
	nic_close(nic);
}

static void test_tx_unregistered_small_payload_copied_to_slot(void **state)
{
	static uint8_t pay[150], big[400];
	struct dbl_send_rec *s;
	struct nic_tx t;
	struct nic *nic;

	(void)state;
	dbl_cfg.max_inline = 64; /* force the slot path */
	nic = open_nic("mlx5_0", 1, 64, 64);
	memset(pay, 0x33, sizeof(pay));
	t = ibv_tx_frame(hdr54, 54, 1);
	t.nseg = 1;
	t.seg[0] = (struct nic_seg){ pay, sizeof(pay), 0 };
	assert_int_equal(nic_tx_burst(nic, 0, &t, 1), 1);
	s = &dbl.sends[0];
	assert_int_equal(s->num_sge, 1);
	assert_int_equal(s->sge[0].length, 54 + 150);
	assert_memory_equal(s->data + 54, pay, 150);
	/* too big to copy and not registered: refused, short count */
	t.seg[0] = (struct nic_seg){ big, sizeof(big), 0 };
	assert_int_equal(nic_tx_burst(nic, 0, &t, 1), 0);
	nic_close(nic);
}

static void test_tx_no_csum_offload_no_flag(void **state)
{
	struct nic_link_info li;
	struct nic_tx t;
	struct nic *nic;

	(void)state;
	dbl_cfg.device_cap_flags = IBV_DEVICE_MANAGED_FLOW_STEERING;
	dbl_cfg.raw_packet_caps = 0;
	nic = open_nic("mlx5_0", 1, 64, 64);
	nic_link_info(nic, &li);
	assert_int_equal(li.offloads, 0); /* no csum: no TSO either */
	t = ibv_tx_frame(hdr54, 54, 1);
	t.flags = NIC_TX_CSUM;
	assert_int_equal(nic_tx_burst(nic, 0, &t, 1), 1);
	assert_false(dbl.sends[0].flags & IBV_SEND_IP_CSUM);
	nic_close(nic);
}

static void test_tx_tso_header_mss_payload_only_sges(void **state)
{
	static uint8_t pay[20000], hdr66[66];
	struct dbl_send_rec *s;
	struct nic_tx t;
	struct nic *nic;
	uint32_t key;

	(void)state;
	nic = open_nic("mlx5_0", 1, 64, 64);
	assert_int_equal(nic_reg_mem(nic, pay, sizeof(pay), &key), 0);
	for (int i = 0; i < 66; i++)
		hdr66[i] = (uint8_t)(i + 1);
	t = ibv_tx_frame(hdr66, 66, 9);
	t.flags = NIC_TX_TSO | NIC_TX_CSUM;
	t.mss = 1448;
	t.nseg = 1;
	t.seg[0] = (struct nic_seg){ pay, sizeof(pay), key };
	assert_int_equal(nic_tx_burst(nic, 0, &t, 1), 1);
	s = &dbl.sends[0];
	assert_int_equal(s->opcode, IBV_WR_TSO);
	assert_int_equal(s->hdr_sz, 66);
	assert_int_equal(s->mss, 1448);
	assert_memory_equal(s->tso_hdr, hdr66, 66);
	assert_true(s->flags & IBV_SEND_IP_CSUM);
	assert_false(s->flags & IBV_SEND_INLINE);
	assert_int_equal(s->num_sge, 1);
	assert_int_equal(s->sge[0].addr, (uintptr_t)pay);
	assert_int_equal(s->sge[0].length, 20000);
	assert_int_equal(s->sge[0].lkey, key);
	nic_close(nic);
}

static void test_tx_signal_every_nth_and_last_of_burst(void **state)
{
	struct nic_tx t[40];
	struct ibv_qp *qp;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 64, 64); /* sig_every = 16 */
	qp = dbl.qps[0].qp;
	for (int i = 0; i < 40; i++)
		t[i] = ibv_tx_frame(hdr54, 54, (uint64_t)i);
	assert_int_equal(nic_tx_burst(nic, 0, t, 40), 40);
	assert_int_equal(dbl.nsend, 40);
	for (int i = 0; i < 40; i++) {
		int sig = !!(dbl.sends[i].flags & IBV_SEND_SIGNALED);

		assert_int_equal(sig, i == 15 || i == 31 || i == 39);
		assert_int_equal(dbl.sends[i].wr_id, i);
	}
	/* one doorbell per chunk of IBV_TX_CHUNK (32) WRs */
	assert_int_equal(dbl.sends[31].post, 0);
	assert_int_equal(dbl.sends[32].post, 1);
	assert_int_equal(nic_tx_burst(nic, 0, t, 1), 1);
	assert_true(dbl.sends[40].flags & IBV_SEND_SIGNALED);
	assert_int_equal(nsig(qp), 4);
	dbl_tx_complete_all(qp);
	nic_close(nic);
}

static void test_tx_completions_in_order_after_covering_cqe(void **state)
{
	uint64_t c[64];
	struct nic_tx t[40];
	struct ibv_qp *qp;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 64, 64);
	qp = dbl.qps[0].qp;
	for (int i = 0; i < 40; i++)
		t[i] = ibv_tx_frame(hdr54, 54, 100 + (uint64_t)i);
	assert_int_equal(nic_tx_burst(nic, 0, t, 40), 40);
	assert_int_equal(nic_tx_completions(nic, 0, c, 64), 0);
	/* CQE for WR 15 completes WRs 0..15 */
	assert_int_equal(dbl_tx_complete(qp, 15, IBV_WC_SUCCESS), 0);
	assert_int_equal(nic_tx_completions(nic, 0, c, 5), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(c[i], 100 + i);
	assert_int_equal(nic_tx_completions(nic, 0, c, 64), 11);
	for (int i = 0; i < 11; i++)
		assert_int_equal(c[i], 105 + i);
	assert_int_equal(nic_tx_completions(nic, 0, c, 64), 0);
	/* an error status still releases (the NIC no longer reads them) */
	assert_int_equal(dbl_tx_complete(qp, 39, IBV_WC_GENERAL_ERR), 0);
	assert_int_equal(nic_tx_completions(nic, 0, c, 64), 24);
	for (int i = 0; i < 24; i++)
		assert_int_equal(c[i], 116 + i);
	assert_int_equal(nic_tx_completions(nic, 0, c, 64), 0);
	nic_close(nic);
}

static void test_tx_sq_full_short_count_then_resumes(void **state)
{
	uint64_t c[32];
	struct nic_tx t[20];
	struct ibv_qp *qp;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 16, 16); /* sig_every = 4 */
	qp = dbl.qps[0].qp;
	for (int i = 0; i < 20; i++)
		t[i] = ibv_tx_frame(hdr54, 54, (uint64_t)i);
	assert_int_equal(nic_tx_burst(nic, 0, t, 20), 16);
	assert_true(dbl.sends[15].flags & IBV_SEND_SIGNALED);
	assert_int_equal(nic_tx_burst(nic, 0, t, 20), 0);
	assert_int_equal(dbl_sq_outstanding(qp), 16);
	/* completed but not yet reaped: slots stay taken */
	dbl_tx_complete_all(qp);
	assert_int_equal(nic_tx_burst(nic, 0, t, 1), 0);
	assert_int_equal(nic_tx_completions(nic, 0, c, 32), 16);
	assert_int_equal(nic_tx_burst(nic, 0, t + 16, 4), 4);
	assert_int_equal(dbl.sends[16].wr_id, 16);
	dbl_tx_complete_all(qp);
	assert_int_equal(nic_tx_completions(nic, 0, c, 32), 4);
	assert_int_equal(c[0], 16);
	nic_close(nic);
}

static void test_tx_post_failure_short_count_prefix(void **state)
{
	uint64_t c[16];
	struct nic_tx t[6];
	struct ibv_qp *qp;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 64, 64);
	qp = dbl.qps[0].qp;
	for (int i = 0; i < 6; i++)
		t[i] = ibv_tx_frame(hdr54, 54, (uint64_t)i);
	dbl.fail_wr_index = 3;
	dbl_fail_nth(DBL_POST_SEND, 1, ENOMEM);
	assert_int_equal(nic_tx_burst(nic, 0, t, 6), 3);
	dbl.fail_wr_index = 0;
	/* the next burst continues the WR numbering and covers the tail */
	assert_int_equal(nic_tx_burst(nic, 0, t + 3, 3), 3);
	assert_int_equal(dbl.sends[3].wr_id, 3);
	dbl_tx_complete_all(qp);
	assert_int_equal(nic_tx_completions(nic, 0, c, 16), 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(c[i], i);
	nic_close(nic);
}

static void test_tx_rss_queue_uses_its_own_qp(void **state)
{
	struct nic_tx t = ibv_tx_frame(hdr54, 54, 1);
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 2, 32, 32);
	assert_int_equal(nic_tx_burst(nic, 1, &t, 1), 1);
	assert_ptr_equal(dbl.sends[0].qp, qp_nth(0, 1)->qp);
	nic_close(nic);
}

/* ---- RX ---- */

static void test_rx_frames_then_refill_in_one_batch(void **state)
{
	struct nic_rx rx[8];
	uint8_t f[100];
	struct dbl_qp_rec *r;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 16, 16);
	r = &dbl.qps[0];
	for (int i = 0; i < 5; i++) {
		memset(f, i + 1, sizeof(f));
		assert_int_equal(dbl_rx_frame(r->qp, f, 60 + (uint32_t)i, 0,
					      IBV_WC_SUCCESS),
				 0);
	}
	assert_int_equal(nic_rx_burst(nic, 0, rx, 8), 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(rx[i].len, 60 + i);
		assert_int_equal(rx[i].data[0], i + 1);
		assert_int_equal(rx[i].gso_size, 0);
	}
	/* frames still the caller's: nothing reposted yet */
	assert_int_equal(dbl_rq_posted(r->qp), 11);
	assert_int_equal(r->recv_posts, 1);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 8), 0);
	assert_int_equal(dbl_rq_posted(r->qp), 16);
	assert_int_equal(r->recv_posts, 2);
	for (int i = dbl.nrecv - 5; i < dbl.nrecv; i++)
		assert_int_equal(dbl.recvs[i].post, 1);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 8), 0);
	assert_int_equal(r->recv_posts, 2); /* nothing held, no post */
	nic_close(nic);
}

static void test_rx_burst_limit_keeps_rest_queued(void **state)
{
	struct nic_rx rx[4];
	uint8_t f[64] = { 0 };
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 64, 16);
	for (int i = 0; i < 40; i++)
		dbl_rx_frame(dbl.qps[0].qp, f, 64, 0, IBV_WC_SUCCESS);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 4), 4);
	for (int left = 36; left > 0; left -= 4)
		assert_int_equal(nic_rx_burst(nic, 0, rx, 4), 4);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 4), 0);
	assert_int_equal(dbl_rq_posted(dbl.qps[0].qp), 64);
	nic_close(nic);
}

static void test_rx_csum_ok_flag_maps_to_status(void **state)
{
	struct nic_rx rx[4];
	uint8_t f[64] = { 0 };
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 16, 16);
	dbl_rx_frame(dbl.qps[0].qp, f, 64, IBV_WC_IP_CSUM_OK, IBV_WC_SUCCESS);
	dbl_rx_frame(dbl.qps[0].qp, f, 64, 0, IBV_WC_SUCCESS);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 4), 2);
	assert_int_equal(rx[0].csum, NIC_CSUM_OK);
	assert_int_equal(rx[1].csum, NIC_CSUM_UNKNOWN);
	nic_close(nic);
}

static void test_rx_csum_flag_ignored_without_offload(void **state)
{
	struct nic_rx rx[4];
	uint8_t f[64] = { 0 };
	struct nic *nic;

	(void)state;
	dbl_cfg.device_cap_flags = IBV_DEVICE_MANAGED_FLOW_STEERING;
	dbl_cfg.raw_packet_caps = 0;
	nic = open_nic("mlx5_0", 1, 16, 16);
	dbl_rx_frame(dbl.qps[0].qp, f, 64, IBV_WC_IP_CSUM_OK, IBV_WC_SUCCESS);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 4), 1);
	assert_int_equal(rx[0].csum, NIC_CSUM_UNKNOWN);
	nic_close(nic);
}

static void test_rx_error_cqe_not_returned_buffer_reposted(void **state)
{
	static uint8_t f[4000];
	struct nic_rx rx[4];
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 16, 16);
	/* larger than the buffer: IBV_WC_LOC_LEN_ERR */
	dbl_rx_frame(dbl.qps[0].qp, f, sizeof(f), 0, IBV_WC_SUCCESS);
	dbl_rx_frame(dbl.qps[0].qp, f, 100, 0, IBV_WC_SUCCESS);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 4), 1);
	assert_int_equal(rx[0].len, 100);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 4), 0);
	assert_int_equal(dbl_rq_posted(dbl.qps[0].qp), 16);
	nic_close(nic);
}

static void test_rx_rss_queue_reads_its_wq(void **state)
{
	struct nic_rx rx[4];
	uint8_t f[64] = { 7 };
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 2, 16, 16);
	dbl_rx_frame(dbl.wqs[1].wq, f, 64, 0, IBV_WC_SUCCESS);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 4), 0);
	assert_int_equal(nic_rx_burst(nic, 1, rx, 4), 1);
	assert_int_equal(rx[0].data[0], 7);
	assert_int_equal(nic_rx_burst(nic, 1, rx, 4), 0);
	assert_int_equal(dbl_rq_posted(dbl.wqs[1].wq), 16);
	assert_int_equal(dbl.wqs[1].recv_posts, 2);
	nic_close(nic);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tx_small_frame_inline_with_csum),
		T(test_tx_large_frame_header_slot_and_lkeys),
		T(test_tx_unregistered_small_payload_copied_to_slot),
		T(test_tx_no_csum_offload_no_flag),
		T(test_tx_tso_header_mss_payload_only_sges),
		T(test_tx_signal_every_nth_and_last_of_burst),
		T(test_tx_completions_in_order_after_covering_cqe),
		T(test_tx_sq_full_short_count_then_resumes),
		T(test_tx_post_failure_short_count_prefix),
		T(test_tx_rss_queue_uses_its_own_qp),
		T(test_rx_frames_then_refill_in_one_batch),
		T(test_rx_burst_limit_keeps_rest_queued),
		T(test_rx_csum_ok_flag_maps_to_status),
		T(test_rx_csum_flag_ignored_without_offload),
		T(test_rx_error_cqe_not_returned_buffer_reposted),
		T(test_rx_rss_queue_reads_its_wq),
	};

	return cmocka_run_group_tests(tests, ibv_fix_group_setup,
				      ibv_fix_group_teardown);
}
