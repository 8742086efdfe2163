/* test_nic_ibv.c - the ibv backend against the libibverbs/librdmacm double
 *
 * What the backend asks of verbs to set up (device selection, QP
 * attributes and transitions, RSS configuration, flow-spec bytes, RSS
 * queue prediction, arming, memory registration) and its unwinding after
 * every failing call; the data path (WRs, completions, RX refill) is
 * test_nic_ibv_data.c. A fake sysfs tree ($TAS_SYSFS_ROOT) maps netdevs to
 * devices.
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

/* ---- device selection and errors ---- */

static void test_open_no_devices_enosys_error_line(void **state)
{
	char err[NIC_ERR_LEN] = "";

	(void)state;
	dbl_cfg.list_errno = ENOSYS;
	assert_null(nic_ibv_open("mlx5_0", NULL, err));
	assert_int_equal(errno, ENODEV);
	assert_string_equal(err, "ibv:mlx5_0: no RDMA devices found "
				 "(ibv_get_device_list: Function not "
				 "implemented)");
}

static void test_open_zero_devices_error_line(void **state)
{
	char err[NIC_ERR_LEN] = "";

	(void)state;
	dbl_cfg.ndev = 0;
	assert_null(nic_ibv_open("enp65s0f0", NULL, err));
	assert_string_equal(err, "ibv:enp65s0f0: no RDMA devices found "
				 "(ibv_get_device_list: 0 devices)");
}

static void test_open_unknown_name_names_both_routes(void **state)
{
	char err[NIC_ERR_LEN] = "";

	(void)state;
	assert_null(nic_ibv_open("nosuch0", NULL, err));
	assert_int_equal(errno, ENODEV);
	assert_non_null(strstr(err, "ibv:nosuch0: no RDMA device or netdev "
				    "named nosuch0"));
	assert_non_null(strstr(err, "rdmacm: no IPv4 address on nosuch0"));
}

static void test_open_rdma_name_link_info_from_sysfs(void **state)
{
	struct nic_link_info li;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 64, 64);
	nic_link_info(nic, &li);
	assert_memory_equal(li.mac, MAC0, 6);
	assert_int_equal(li.mtu, 1500);
	assert_int_equal(li.nqueues, 1);
	assert_int_equal(li.offloads,
			 NIC_OFF_TX_CSUM | NIC_OFF_RX_CSUM | NIC_OFF_TSO);
	assert_int_equal(li.max_tso, 262144);
	assert_int_equal(li.max_segs, NIC_TX_MAX_SEG);
	assert_int_equal(li.numa_node, 0);
	assert_string_equal(nic->name, "ibv:mlx5_0");
	nic_close(nic);
}

static void test_open_netdev_name_maps_device_and_port(void **state)
{
	struct nic_link_info li;
	struct nic *nic;

	(void)state;
	dbl_cfg.ndev = 2;
	/* enp65s0f1: device mlx5_1, dev_port 1 -> port 2, no NUMA node */
	nic = open_nic("enp65s0f1", 1, 64, 64);
	assert_int_equal(qp_nth(0, 0)->port[0], 2);
	nic_link_info(nic, &li);
	assert_int_equal(li.mac[5], 0x57);
	assert_int_equal(li.numa_node, -1);
	nic_close(nic);
}

static void test_open_netdev_without_sysfs_uses_rdmacm(void **state)
{
	struct nic *nic;

	(void)state;
	dbl_cfg.cm_errno = 0; /* librdmacm works; "lo" has 127.0.0.1 */
	nic = open_nic("lo", 1, 64, 64);
	assert_int_equal(dbl.calls[DBL_RDMA_BIND_ADDR], 1);
	assert_int_equal(dbl.live[DBL_O_CM_ID], 0);
	nic_close(nic);
}

static void test_open_port_not_ethernet_refused(void **state)
{
	char err[NIC_ERR_LEN];

	(void)state;
	dbl_cfg.link_layer = IBV_LINK_LAYER_INFINIBAND;
	assert_null(nic_ibv_open("mlx5_0", NULL, err));
	assert_non_null(strstr(err, "is not Ethernet"));
}

static void test_open_port_down_refused(void **state)
{
	char err[NIC_ERR_LEN];

	(void)state;
	dbl_cfg.port_state = IBV_PORT_DOWN;
	assert_null(nic_ibv_open("mlx5_0", NULL, err));
	assert_non_null(strstr(err, "port 1 is DOWN, not ACTIVE"));
}

static void test_open_no_flow_steering_refused(void **state)
{
	char err[NIC_ERR_LEN];

	(void)state;
	dbl_cfg.device_cap_flags = IBV_DEVICE_RAW_IP_CSUM;
	assert_null(nic_ibv_open("mlx5_0", NULL, err));
	assert_non_null(strstr(err, "IBV_DEVICE_MANAGED_FLOW_STEERING"));
}

static void test_open_create_qp_eperm_hints_cap_net_raw(void **state)
{
	char err[NIC_ERR_LEN];

	(void)state;
	dbl_fail_nth(DBL_CREATE_QP, 1, EPERM);
	assert_null(nic_ibv_open("mlx5_0", NULL, err));
	assert_int_equal(errno, EPERM);
	assert_string_equal(err, "ibv:mlx5_0: ibv_create_qp_ex(raw packet) "
				 "queue 0 on mlx5_0 port 1: Operation not "
				 "permitted (needs CAP_NET_RAW: run as root or "
				 "setcap cap_net_raw+ep)");
}

/* Fail the k-th verbs call of a good open, for every k: NULL, one line
 * naming the device, and nothing left alive. */
static void fail_each_call(const char *dev, unsigned nq)
{
	struct nic_params p = { .nqueues = nq, .rx_ring = 32, .tx_ring = 32 };
	char err[NIC_ERR_LEN];
	unsigned total;
	struct nic *nic;

	dbl_reset();
	nic = nic_ibv_open(dev, &p, err);
	assert_non_null(nic);
	total = dbl.total_calls;
	nic_close(nic);
	assert_int_equal(dbl_live_total(), 0);
	assert_true(total > 10);
	for (unsigned k = 1; k <= total; k++) {
		dbl_reset();
		dbl_fail_any(k, k % 2 ? ENOMEM : EIO);
		err[0] = '\0';
		nic = nic_ibv_open(dev, &p, err);
		if (nic)
			print_error("call %u of %u did not fail the open\n", k,
				    total);
		assert_null(nic);
		/* the device list failing reads as "no device" */
		assert_int_equal(errno, k == 1 ? ENODEV : k % 2 ? ENOMEM : EIO);
		assert_true(strncmp(err, "ibv:", 4) == 0);
		assert_non_null(strstr(err, strerror(k % 2 ? ENOMEM : EIO)));
		if (dbl_live_total() || dbl.misuse)
			print_error("call %u: %d live, misuse: %s\n", k,
				    dbl_live_total(), dbl.misuse_msg);
		assert_int_equal(dbl_live_total(), 0);
		assert_int_equal(dbl.misuse, 0);
	}
}

static void test_open_fail_each_call_one_queue_unwinds(void **state)
{
	(void)state;
	fail_each_call("mlx5_0", 1);
}

static void test_open_fail_each_call_rss_unwinds(void **state)
{
	(void)state;
	fail_each_call("enp65s0f0", 3);
}

/* ---- QPs, RSS ---- */

static void test_qp_raw_attrs_and_states_in_order(void **state)
{
	struct dbl_qp_rec *r;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 64, 128);
	assert_int_equal(dbl.nqp, 1);
	r = &dbl.qps[0];
	assert_int_equal(r->attr.qp_type, IBV_QPT_RAW_PACKET);
	assert_int_equal(r->attr.sq_sig_all, 0);
	assert_int_equal(r->attr.cap.max_send_wr, 128);
	assert_int_equal(r->attr.cap.max_recv_wr, 64);
	assert_int_equal(r->attr.cap.max_send_sge, 1 + NIC_TX_MAX_SEG);
	assert_int_equal(r->attr.comp_mask,
			 IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_MAX_TSO_HEADER);
	assert_int_equal(r->attr.max_tso_header, NIC_HDR_MAX);
	assert_ptr_not_equal(r->attr.send_cq, r->attr.recv_cq);
	assert_non_null(r->attr.recv_cq->channel);
	assert_int_equal(r->nmod, 3);
	assert_int_equal(r->state[0], IBV_QPS_INIT);
	assert_int_equal(r->mask[0], IBV_QP_STATE | IBV_QP_PORT);
	assert_int_equal(r->port[0], 1);
	assert_int_equal(r->state[1], IBV_QPS_RTR);
	assert_int_equal(r->mask[1], IBV_QP_STATE);
	assert_int_equal(r->state[2], IBV_QPS_RTS);
	assert_int_equal(r->mask[2], IBV_QP_STATE);
	/* all receive buffers posted in INIT, in one chain */
	assert_int_equal(dbl_rq_posted(r->qp), 64);
	assert_int_equal(r->recv_posts, 1);
	for (int i = 0; i < dbl.nrecv; i++)
		assert_int_equal(dbl.recvs[i].qp_state, IBV_QPS_INIT);
	/* RX buffers writable, TX header slots read-only */
	assert_int_equal(dbl.reg_access[0], IBV_ACCESS_LOCAL_WRITE);
	assert_int_equal(dbl.reg_access[1], 0);
	nic_close(nic);
}

static void test_qp_no_tso_caps_plain_create(void **state)
{
	struct nic_link_info li;
	struct nic *nic;

	(void)state;
	dbl_cfg.tso_qpts = 1u << IBV_QPT_UD; /* TSO, but not on raw QPs */
	nic = open_nic("mlx5_0", 1, 64, 64);
	assert_int_equal(dbl.qps[0].attr.comp_mask, IBV_QP_INIT_ATTR_PD);
	nic_link_info(nic, &li);
	assert_int_equal(li.offloads, NIC_OFF_TX_CSUM | NIC_OFF_RX_CSUM);
	nic_close(nic);
}

static void test_rss_config_hash_key_and_tables(void **state)
{
	static const uint8_t key_head[4] = { 0x6d, 0x5a, 0x56, 0xda };
	const uint64_t fields = IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
				IBV_RX_HASH_SRC_PORT_TCP |
				IBV_RX_HASH_DST_PORT_TCP;
	struct dbl_qp_rec *rss;
	struct dbl_ind_rec *main_t = NULL;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 3, 32, 32);
	/* per queue: a TX-only raw QP through INIT/RTR/RTS */
	for (int q = 0; q < 3; q++) {
		struct dbl_qp_rec *t = qp_nth(0, q);

		assert_non_null(t);
		assert_int_equal(t->attr.cap.max_recv_wr, 0);
		assert_int_equal(t->nmod, 3);
		assert_int_equal(t->state[2], IBV_QPS_RTS);
		assert_int_equal(dbl.wqs[q].state, IBV_WQS_RDY);
		assert_int_equal(dbl.wqs[q].attr.wq_type, IBV_WQT_RQ);
		assert_int_equal(dbl.wqs[q].attr.max_wr, 32);
		assert_int_equal(dbl_rq_posted(dbl.wqs[q].wq), 32);
		assert_int_equal(dbl.wqs[q].recv_posts, 1);
		assert_non_null(dbl.wqs[q].attr.cq->channel);
	}
	assert_null(qp_nth(0, 3));
	/* 3 single-WQ tables, hash-less; one 4-entry table, Toeplitz */
	assert_int_equal(dbl.nind, 4);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dbl.inds[i].log_size, 0);
		assert_ptr_equal(dbl.inds[i].wq[0], dbl.wqs[i].wq);
		assert_int_equal(
			qp_nth(1, i)->attr.rx_hash_conf.rx_hash_fields_mask, 0);
	}
	main_t = &dbl.inds[3];
	assert_int_equal(main_t->log_size, 2);
	for (int e = 0; e < 4; e++)
		assert_ptr_equal(main_t->wq[e], dbl.wqs[e % 3].wq);
	rss = qp_nth(1, 3);
	assert_non_null(rss);
	assert_int_equal(rss->attr.comp_mask,
			 IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_IND_TABLE |
				 IBV_QP_INIT_ATTR_RX_HASH);
	assert_ptr_equal(rss->attr.rwq_ind_tbl, main_t->t);
	assert_int_equal(rss->attr.rx_hash_conf.rx_hash_function,
			 IBV_RX_HASH_FUNC_TOEPLITZ);
	assert_int_equal(rss->attr.rx_hash_conf.rx_hash_key_len, 40);
	assert_memory_equal(rss->key, key_head, 4);
	assert_int_equal(rss->attr.rx_hash_conf.rx_hash_fields_mask, fields);
	assert_int_equal(rss->nmod, 0); /* RSS QPs take no transitions */
	nic_close(nic);
}

static void test_rss_unsupported_refused_with_hint(void **state)
{
	char err[NIC_ERR_LEN];
	struct nic_params p = { .nqueues = 2 };

	(void)state;
	dbl_cfg.rss.rx_hash_fields_mask = IBV_RX_HASH_SRC_IPV4;
	assert_null(nic_ibv_open("mlx5_0", &p, err));
	assert_non_null(strstr(err, "use nqueues=1"));
}

/* ---- steering ---- */

static void test_steer_local_eth_ipv4_specs_network_order(void **state)
{
	struct nic_steer s = { .kind = NIC_STEER_LOCAL,
			       .local_ip = htonl(0x0a000001) };
	struct ibv_flow_spec_eth eth;
	struct ibv_flow_spec_ipv4 ip;
	struct ibv_flow_attr a;
	static const uint8_t ipb[4] = { 10, 0, 0, 1 };
	struct dbl_flow_rec *f;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 64, 64);
	assert_int_equal(nic_add_steer(nic, &s), 0);
	assert_int_equal(dbl.nflow, 1);
	f = &dbl.flows[0];
	assert_ptr_equal(f->qp, dbl.qps[0].qp);
	memcpy(&a, f->buf, sizeof(a));
	assert_int_equal(a.type, IBV_FLOW_ATTR_NORMAL);
	assert_int_equal(a.size, sizeof(a) + sizeof(eth) + sizeof(ip));
	assert_int_equal(f->len, a.size);
	assert_int_equal(a.num_of_specs, 2);
	assert_int_equal(a.priority, 2);
	assert_int_equal(a.port, 1);
	assert_int_equal(a.flags, 0);
	assert_int_equal(a.comp_mask, 0);
	memcpy(&eth, flow_spec(f, 0), sizeof(eth));
	assert_int_equal(eth.type, IBV_FLOW_SPEC_ETH);
	assert_int_equal(eth.size, sizeof(eth));
	assert_memory_equal(eth.val.dst_mac, MAC0, 6);
	assert_memory_equal(eth.mask.dst_mac, "\xff\xff\xff\xff\xff\xff", 6);
	assert_int_equal(eth.mask.ether_type, 0);
	memcpy(&ip, flow_spec(f, 1), sizeof(ip));
	assert_int_equal(ip.type, IBV_FLOW_SPEC_IPV4);
	assert_int_equal(ip.size, sizeof(ip));
	assert_memory_equal(&ip.val.dst_ip, ipb, 4);
	assert_int_equal(ip.mask.dst_ip, 0xffffffffu);
	assert_int_equal(ip.mask.src_ip, 0);
	nic_close(nic);
}

static void test_steer_local_rss_targets_rss_qp(void **state)
{
	struct nic_steer s = { .kind = NIC_STEER_LOCAL, .local_ip = 1 };
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 2, 32, 32);
	assert_int_equal(nic_add_steer(nic, &s), 0);
	assert_ptr_equal(dbl.flows[0].qp, qp_nth(1, 2)->qp);
	nic_close(nic);
}

static void test_steer_arp_dont_trap_to_queue0(void **state)
{
	struct nic_steer s = { .kind = NIC_STEER_ARP };
	struct ibv_flow_spec_eth eth;
	struct ibv_flow_attr a;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 4, 32, 32);
	assert_int_equal(nic_add_steer(nic, &s), 0);
	assert_int_equal(dbl.nflow, 2);
	for (int i = 0; i < 2; i++) {
		/* queue 0's single-WQ RSS QP */
		assert_ptr_equal(dbl.flows[i].qp, qp_nth(1, 0)->qp);
		memcpy(&a, dbl.flows[i].buf, sizeof(a));
		assert_int_equal(a.flags, IBV_FLOW_ATTR_FLAGS_DONT_TRAP);
		assert_int_equal(a.priority, 3);
		assert_int_equal(a.num_of_specs, 1);
		assert_int_equal(a.size, sizeof(a) + sizeof(eth));
	}
	memcpy(&eth, flow_spec(&dbl.flows[0], 0), sizeof(eth));
	assert_memory_equal(&eth.val.ether_type, "\x08\x06", 2);
	assert_int_equal(eth.mask.ether_type, 0xffff);
	assert_memory_equal(eth.mask.dst_mac, "\0\0\0\0\0\0", 6);
	memcpy(&eth, flow_spec(&dbl.flows[1], 0), sizeof(eth));
	assert_memory_equal(eth.val.dst_mac, "\xff\xff\xff\xff\xff\xff", 6);
	assert_memory_equal(eth.mask.dst_mac, "\xff\xff\xff\xff\xff\xff", 6);
	assert_int_equal(eth.mask.ether_type, 0);
	nic_close(nic);
}

static void test_steer_flow_five_tuple_higher_priority(void **state)
{
	struct nic_steer s = { .kind = NIC_STEER_FLOW,
			       .queue = 2,
			       .local_ip = htonl(0x0a000001),
			       .remote_ip = htonl(0x0a000002),
			       .local_port = htons(80),
			       .remote_port = htons(40000) };
	struct ibv_flow_spec_tcp_udp tcp;
	struct ibv_flow_spec_ipv4 ip;
	struct ibv_flow_attr a;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 4, 32, 32);
	assert_int_equal(nic_add_steer(nic, &s), 0);
	assert_ptr_equal(dbl.flows[0].qp, qp_nth(1, 2)->qp);
	memcpy(&a, dbl.flows[0].buf, sizeof(a));
	assert_int_equal(a.num_of_specs, 3);
	assert_int_equal(a.priority, 1); /* 0 is a placement queue's */
	assert_int_equal(a.size, sizeof(a) + sizeof(struct ibv_flow_spec_eth) +
					 sizeof(ip) + sizeof(tcp));
	memcpy(&ip, flow_spec(&dbl.flows[0], 1), sizeof(ip));
	assert_memory_equal(&ip.val.src_ip, "\x0a\0\0\x02", 4);
	assert_memory_equal(&ip.val.dst_ip, "\x0a\0\0\x01", 4);
	assert_int_equal(ip.mask.src_ip, 0xffffffffu);
	memcpy(&tcp, flow_spec(&dbl.flows[0], 2), sizeof(tcp));
	assert_int_equal(tcp.type, IBV_FLOW_SPEC_TCP);
	assert_int_equal(tcp.size, sizeof(tcp));
	assert_memory_equal(&tcp.val.dst_port, "\x00\x50", 2);
	assert_memory_equal(&tcp.val.src_port, "\x9c\x40", 2);
	assert_int_equal(tcp.mask.dst_port, 0xffff);
	assert_int_equal(tcp.mask.src_port, 0xffff);
	s.queue = 4;
	assert_int_equal(nic_add_steer(nic, &s), -EINVAL);
	nic_close(nic);
}

static void test_steer_create_flow_failure_returns_errno(void **state)
{
	struct nic_steer s = { .kind = NIC_STEER_ARP };
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 32, 32);
	dbl_fail_nth(DBL_CREATE_FLOW, 2, ENOSPC);
	assert_int_equal(nic_add_steer(nic, &s), -ENOSPC);
	assert_int_equal(dbl.live[DBL_O_FLOW], 1);
	nic_close(nic);
}

/* ---- flow -> queue prediction (RSS Toeplitz) ---- */

/* The default key of the Microsoft RSS specification. */
static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* "Verifying the RSS Hash Calculation" (Microsoft RSS specification),
 * IPv4 table: hash over src/dst address, and over src/dst address plus
 * src/dst TCP port. */
static const struct {
	const char *dst, *src;
	uint16_t dport, sport;
	uint32_t h_ip, h_tcp;
} ms_v4[] = {
	{ "161.142.100.80", "66.9.149.187", 1766, 2794, 0x323e8fc2,
	  0x51ccc178 },
	{ "65.69.140.83", "199.92.111.2", 4739, 14230, 0xd718262a, 0xc626b0ea },
	{ "12.22.207.184", "24.19.198.95", 38024, 12898, 0xd2d0a5de,
	  0x5c2b394a },
	{ "209.142.163.6", "38.27.205.30", 2217, 48228, 0x82989176,
	  0xafc7327f },
	{ "202.188.127.2", "153.39.163.191", 1303, 44251, 0x5d1809c5,
	  0x10e828a2 },
};

/* Hash input as the NIC builds it: src IP, dst IP, src port, dst port,
 * network order (ports given in host order). */
static void rss_input(uint8_t in[12], uint32_t sip, uint32_t dip,
		      uint16_t sport, uint16_t dport)
{
	uint16_t sp = htons(sport), dp = htons(dport);

	memcpy(in, &sip, 4);
	memcpy(in + 4, &dip, 4);
	memcpy(in + 8, &sp, 2);
	memcpy(in + 10, &dp, 2);
}

static void test_toeplitz_microsoft_verification_vectors(void **state)
{
	(void)state;
	/* the backend programs the spec's default key */
	assert_memory_equal(ibv_rss_key, ms_key, sizeof(ms_key));
	for (size_t i = 0; i < sizeof(ms_v4) / sizeof(ms_v4[0]); i++) {
		uint8_t in[12];

		rss_input(in, inet_addr(ms_v4[i].src), inet_addr(ms_v4[i].dst),
			  ms_v4[i].sport, ms_v4[i].dport);
		assert_int_equal(ibv_toeplitz(ms_key, 40, in, 8),
				 ms_v4[i].h_ip);
		assert_int_equal(ibv_toeplitz(ms_key, 40, in, 12),
				 ms_v4[i].h_tcp);
		assert_int_equal(dbl_toeplitz(ms_key, 40, in, 8),
				 ms_v4[i].h_ip);
		assert_int_equal(dbl_toeplitz(ms_key, 40, in, 12),
				 ms_v4[i].h_tcp);
	}
}

static void test_toeplitz_matches_reference_random_inputs(void **state)
{
	uint32_t s = 0x12345678u;
	uint8_t key[40], in[36];

	(void)state;
	for (int t = 0; t < 200; t++) {
		for (size_t i = 0; i < sizeof(key); i++) {
			s ^= s << 13;
			s ^= s >> 17;
			s ^= s << 5;
			key[i] = (uint8_t)s;
			if (i < sizeof(in))
				in[i] = (uint8_t)(s >> 8);
		}
		/* up to the longest input a 40-byte key covers, and past
		 * it (missing key bits count as zero) */
		for (size_t n = 0; n <= sizeof(in); n += 4)
			assert_int_equal(ibv_toeplitz(key, 40, in, n),
					 dbl_toeplitz(key, 40, in, n));
		assert_int_equal(ibv_toeplitz(key, 7, in, 12),
				 dbl_toeplitz(key, 7, in, 12));
	}
}

/* A model of the NIC built only from what the double recorded: the
 * Toeplitz RSS QP's key and fields and its indirection table. Returns the
 * queue whose WQ that table entry names. */
static unsigned model_queue(unsigned nq, uint32_t sip, uint32_t dip,
			    uint16_t sport, uint16_t dport)
{
	const uint64_t fields = IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
				IBV_RX_HASH_SRC_PORT_TCP |
				IBV_RX_HASH_DST_PORT_TCP;
	struct dbl_qp_rec *rss = qp_nth(1, (int)nq); /* after nq 1-WQ QPs */
	const struct dbl_ind_rec *t = NULL;
	uint8_t in[12];
	uint32_t h;
	struct ibv_wq *wq;

	assert_non_null(rss);
	assert_int_equal(rss->attr.rx_hash_conf.rx_hash_fields_mask, fields);
	assert_int_equal(rss->attr.rx_hash_conf.rx_hash_key_len, 40);
	for (int i = 0; i < dbl.nind; i++)
		if (dbl.inds[i].t == rss->attr.rwq_ind_tbl)
			t = &dbl.inds[i];
	assert_non_null(t);
	rss_input(in, sip, dip, sport, dport);
	h = dbl_toeplitz(rss->key, 40, in, sizeof(in));
	wq = t->wq[h & ((1u << t->log_size) - 1)];
	for (unsigned q = 0; q < nq; q++)
		if (dbl.wqs[q].wq == wq)
			return q;
	fail_msg("table entry names no queue's WQ");
	return 0;
}

static void test_rss_flow_queue_matches_recorded_rss_config(void **state)
{
	static const unsigned nqs[] = { 1, 2, 3, 4, 5, 8, 64 };
	uint32_t s = 0xdecafbadu;

	(void)state;
	for (size_t k = 0; k < sizeof(nqs) / sizeof(nqs[0]); k++) {
		unsigned nq = nqs[k], hits[NIC_MAX_QUEUES] = { 0 };
		struct nic *nic = open_nic("mlx5_0", nq, 16, 16);

		for (int i = 0; i < 4000; i++) {
			uint32_t lip, rip, q;
			uint16_t lport, rport;

			s ^= s << 13;
			s ^= s >> 17;
			s ^= s << 5;
			lip = i & 1 ? htonl(0xc0a80001u) : s;
			rip = s * 2654435761u;
			lport = i & 2 ? 80 : (uint16_t)(s >> 16);
			rport = (uint16_t)(s ^ s >> 11);
			q = nic_flow_queue(nic, lip, lport, rip, rport);
			assert_true(q < nq);
			if (nq == 1)
				assert_int_equal(q, 0);
			else /* the received segment: src remote, dst local */
				assert_int_equal(q, model_queue(nq, rip, lip,
								rport, lport));
			hits[q]++;
		}
		for (unsigned q = 0; q < nq; q++) /* every queue is used */
			assert_true(hits[q] > 0);
		nic_close(nic);
		dbl_reset();
	}
}

/* End to end through the double: a segment delivered to the WQ the
 * model picks is read from the queue nic_flow_queue named. */
static void test_rss_flow_queue_frame_read_on_that_queue(void **state)
{
	struct nic_rx rx[4];
	uint8_t f[64];
	struct nic *nic;
	uint32_t lip = inet_addr("161.142.100.80");
	uint32_t rip = inet_addr("66.9.149.187");

	(void)state;
	nic = open_nic("mlx5_0", 3, 16, 16);
	for (uint16_t rport = 2794; rport < 2794 + 24; rport++) {
		uint32_t r = htonl(ntohl(rip) + rport * 7919u);
		unsigned q = nic_flow_queue(nic, lip, 1766, r, rport);
		unsigned m = model_queue(3, r, lip, rport, 1766);

		assert_int_equal(q, m);
		memset(f, 0, sizeof(f));
		memcpy(f + 34, &rport, 2);
		assert_int_equal(dbl_rx_frame(dbl.wqs[m].wq, f, sizeof(f), 0,
					      IBV_WC_SUCCESS),
				 0);
		for (unsigned o = 0; o < 3; o++) {
			unsigned k = nic_rx_burst(nic, o, rx, 4);

			assert_int_equal(k, o == q);
			if (k)
				assert_memory_equal(rx[0].data + 34, &rport, 2);
		}
	}
	/* the specification's first vector: hash 0x51ccc178, a 4-entry
	 * table -> entry 0 -> queue 0 */
	assert_int_equal(nic_flow_queue(nic, lip, 1766, rip, 2794),
			 (0x51ccc178u & 3) % 3);
	nic_close(nic);
}

/* ---- arm / fd ---- */

static void test_arm_idle_then_event_wakes_fd(void **state)
{
	struct pollfd pfd;
	struct nic_rx rx[4];
	uint8_t f[64] = { 0 };
	struct nic *nic;
	int fd;

	(void)state;
	nic = open_nic("mlx5_0", 1, 16, 16);
	fd = nic_fd(nic, 0);
	assert_true(fd >= 0);
	assert_int_equal(nic_arm(nic, 0), 0);
	assert_int_equal(dbl.calls[DBL_REQ_NOTIFY_CQ], 1);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 0), 0);
	dbl_rx_frame(dbl.qps[0].qp, f, 64, 0, IBV_WC_SUCCESS);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 4), 1);
	/* re-arming acks the event (else ibv_destroy_cq would hang) */
	assert_int_equal(nic_arm(nic, 0), 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	nic_close(nic);
}

static void test_arm_pending_completion_eagain_frame_kept(void **state)
{
	struct nic_rx rx[4];
	uint8_t f[64] = { 0x42 };
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 16, 16);
	dbl_rx_frame(dbl.qps[0].qp, f, 64, 0, IBV_WC_SUCCESS);
	assert_int_equal(nic_arm(nic, 0), -EAGAIN);
	assert_int_equal(nic_arm(nic, 0), -EAGAIN);
	assert_int_equal(nic_rx_burst(nic, 0, rx, 4), 1);
	assert_int_equal(rx[0].data[0], 0x42);
	assert_int_equal(nic_arm(nic, 0), 0);
	nic_close(nic);
}

static void test_arm_close_with_unfetched_event_no_hang(void **state)
{
	uint8_t f[64] = { 0 };
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 16, 16);
	assert_int_equal(nic_arm(nic, 0), 0);
	dbl_rx_frame(dbl.qps[0].qp, f, 64, 0, IBV_WC_SUCCESS);
	nic_close(nic); /* teardown: no unacked-event misuse */
}

/* ---- memory registration ---- */

static void test_reg_mem_dereg_and_close_releases_rest(void **state)
{
	static uint8_t a[4096], b[4096];
	uint32_t ka, kb;
	struct nic *nic;

	(void)state;
	nic = open_nic("mlx5_0", 1, 16, 16);
	assert_int_equal(nic_reg_mem(nic, a, sizeof(a), &ka), 0);
	assert_int_equal(nic_reg_mem(nic, b, sizeof(b), &kb), 0);
	assert_int_not_equal(ka, kb);
	assert_int_equal(nic_dereg_mem(nic, ka), 0);
	assert_int_equal(nic_dereg_mem(nic, ka), -ENOENT);
	dbl_fail_nth(DBL_REG_MR, 1, ENOMEM);
	assert_int_equal(nic_reg_mem(nic, a, sizeof(a), &ka), -ENOMEM);
	nic_close(nic); /* b is deregistered by close */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_no_devices_enosys_error_line),
		T(test_open_zero_devices_error_line),
		T(test_open_unknown_name_names_both_routes),
		T(test_open_rdma_name_link_info_from_sysfs),
		T(test_open_netdev_name_maps_device_and_port),
		T(test_open_netdev_without_sysfs_uses_rdmacm),
		T(test_open_port_not_ethernet_refused),
		T(test_open_port_down_refused),
		T(test_open_no_flow_steering_refused),
		T(test_open_create_qp_eperm_hints_cap_net_raw),
		T(test_open_fail_each_call_one_queue_unwinds),
		T(test_open_fail_each_call_rss_unwinds),
		T(test_qp_raw_attrs_and_states_in_order),
		T(test_qp_no_tso_caps_plain_create),
		T(test_rss_config_hash_key_and_tables),
		T(test_rss_unsupported_refused_with_hint),
		T(test_steer_local_eth_ipv4_specs_network_order),
		T(test_steer_local_rss_targets_rss_qp),
		T(test_steer_arp_dont_trap_to_queue0),
		T(test_steer_flow_five_tuple_higher_priority),
		T(test_steer_create_flow_failure_returns_errno),
		T(test_toeplitz_microsoft_verification_vectors),
		T(test_toeplitz_matches_reference_random_inputs),
		T(test_rss_flow_queue_matches_recorded_rss_config),
		T(test_rss_flow_queue_frame_read_on_that_queue),
		T(test_arm_idle_then_event_wakes_fd),
		T(test_arm_pending_completion_eagain_frame_kept),
		T(test_arm_close_with_unfetched_event_no_hang),
		T(test_reg_mem_dereg_and_close_releases_rest),
	};

	return cmocka_run_group_tests(tests, ibv_fix_group_setup,
				      ibv_fix_group_teardown);
}
