/* nic_ibv_dev.c - ibv backend: find, open and describe the RDMA device
 *
 * Finds the ibv_context for "ibv:<dev>" (an RDMA name such as mlx5_0, or a
 * netdev such as enp65s0f0), checks the port, reads MAC/MTU/NUMA node from
 * sysfs, reads the device capabilities that decide the offloads, and owns
 * the NUMA-placed buffer allocator and the one-line error format, and the
 * RSS key with the Toeplitz hash that predicts the RSS QP's choice.
 *
 * Facts relied on (shared/notes/verbs.md §1.1, §1.4, §4.1):
 * - ibv_get_device_list fails with ENOSYS on kernels without
 *   CONFIG_INFINIBAND and may return 0 devices; both mean "no device".
 * - /sys/class/net/<if>/device/infiniband/ names the RDMA device of a
 *   netdev; <if>/dev_port is the 0-based port (mlx4 has two per device;
 *   mlx5 one). /sys/class/infiniband/<dev>/device/net/ lists the netdevs.
 * - librdmacm: rdma_bind_addr on the netdev's IPv4 sets id->verbs and
 *   id->port_num (needs rdma_cm and IP-based RoCE GIDs); used only when
 *   the sysfs route finds nothing.
 * - IBV_DEVICE_RAW_IP_CSUM (or IBV_RAW_PACKET_CAP_IP_CSUM) enables TX/RX
 *   checksum offload on raw QPs; tso_caps must list IBV_QPT_RAW_PACKET.
 * - IBV_DEVICE_MANAGED_FLOW_STEERING is required for ibv_create_flow.
 * - mlx5 RSS needs a 40-byte Toeplitz key; IPv4 and TCP fields only.
 *
 * The sysfs root is $TAS_SYSFS_ROOT when set (unit tests point it at a
 * fake tree), else /sys.
 *
 * Known gaps: the port of a netdev comes from dev_port only (no GID
 * ndev_ifindex scan); the device name cannot carry a port ("mlx5_0:2");
 * a port that is not ACTIVE is refused at open rather than waited for.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <numa.h>
#include <rdma/rdma_cma.h>

#include "verbs/nic_ibv.h"

/* The Microsoft RSS verification key, also used by DPDK and mlx5e. */
const uint8_t ibv_rss_key[IBV_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/**
 * ibv_toeplitz - the Toeplitz hash of the Microsoft RSS specification
 * @key: the secret key (ibv_rss_key for our RSS QP)
 * @key_len: its length; bytes past it count as zero
 * @in: the hash input, in the order and byte order the NIC feeds it
 * @len: bytes of @in
 *
 * For every set bit i of @in (most significant bit of in[0] first) the
 * 32 key bits starting at bit i are XORed into the result. mlx5 computes
 * exactly this for IBV_RX_HASH_FUNC_TOEPLITZ; the unit test checks it
 * against the specification's verification table.
 *
 * Return: the 32-bit hash.
 */
uint32_t ibv_toeplitz(const uint8_t *key, size_t key_len, const uint8_t *in,
		      size_t len)
{
	uint32_t hash = 0, window = 0;
	size_t i;

	for (i = 0; i < 4; i++)
		window = window << 8 | (i < key_len ? key[i] : 0);
	for (i = 0; i < len; i++) {
		uint8_t next = i + 4 < key_len ? key[i + 4] : 0;

		for (int b = 7; b >= 0; b--) {
			if (in[i] >> b & 1)
				hash ^= window;
			window = window << 1 | (uint32_t)(next >> b & 1);
		}
	}
	return hash;
}

/**
 * ibv_msg - write one error line into a NIC_ERR_LEN buffer
 * @err: the buffer, or NULL (ops without an error buffer)
 * @fmt: printf format
 *
 * A line that does not fit is cut; that is fine for a message.
 */
void ibv_msg(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, NIC_ERR_LEN, fmt, ap);
	va_end(ap);
}

static void copy_str(char *dst, size_t len, const char *src)
{
	size_t l = strnlen(src, len - 1);

	memcpy(dst, src, l);
	dst[l] = '\0';
}

static const char *hint_for(int e, const char *call)
{
	if ((e == EPERM || e == EACCES) &&
	    (strstr(call, "create_qp") || strstr(call, "create_flow") ||
	     strstr(call, "create_wq")))
		return " (needs CAP_NET_RAW: run as root or setcap "
		       "cap_net_raw+ep)";
	if (e == ENOMEM && strstr(call, "reg_mr"))
		return " (pinned memory over RLIMIT_MEMLOCK? raise ulimit -l "
		       "or grant CAP_IPC_LOCK)";
	if ((e == ENOMEM || e == ENOSPC) && strstr(call, "create_flow"))
		return " (steering table full or priority unsupported)";
	if (e == EINVAL && strstr(call, "rss"))
		return " (mlx5 wants a 40-byte Toeplitz key and IPv4+TCP "
		       "fields)";
	return "";
}

/**
 * ibv_err - format the one error line of a failed verbs call
 * @n: the backend (names the device)
 * @err: NIC_ERR_LEN buffer, or NULL (ops without an error buffer)
 * @e: positive errno of the failure
 * @fmt: printf format naming the call and its context
 *
 * Writes "ibv:<dev>: <call> on <ibdev> port <p>: <strerror>[ (hint)]".
 */
void ibv_err(const struct ibv_nic *n, char *err, int e, const char *fmt, ...)
{
	char call[128];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(call, sizeof(call), fmt, ap);
	va_end(ap);
	if (n->ibdev[0])
		ibv_msg(err, "ibv:%s: %s on %s port %u: %s%s", n->dev, call,
			n->ibdev, n->port, strerror(e), hint_for(e, call));
	else
		ibv_msg(err, "ibv:%s: %s: %s%s", n->dev, call, strerror(e),
			hint_for(e, call));
}

static const char *sysfs_root(void)
{
	const char *r = getenv(IBV_SYSFS_ENV);

	return r && r[0] ? r : "/sys";
}

/* Read the first line of <root>/<path> into buf; 0 or -errno. */
static int sysfs_read(char *buf, size_t len, const char *fmt, ...)
{
	char path[512], rel[384];
	va_list ap;
	ssize_t k;
	int fd;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", sysfs_root(), rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k = read(fd, buf, len - 1);
	close(fd);
	if (k < 0)
		return -EIO;
	buf[k] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Name of the first entry of directory <root>/<rel> whose dev_port (read
 * as <root>/class/net/<entry>/dev_port when @want_port >= 0) matches;
 * with no match, the first entry. 0 or -ENOENT. */
static int sysfs_first(char *out, size_t len, const char *rel, int want_port)
{
	char path[512], buf[32], first[64] = "";
	struct dirent *de;
	int found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", sysfs_root(), rel);
	d = opendir(path);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!first[0])
			copy_str(first, sizeof(first), de->d_name);
		if (want_port < 0)
			break;
		if (!sysfs_read(buf, sizeof(buf), "class/net/%s/dev_port",
				de->d_name) &&
		    atoi(buf) == want_port) {
			copy_str(out, len, de->d_name);
			found = 1;
			break;
		}
	}
	closedir(d);
	if (!found && first[0])
		copy_str(out, len, first);
	return found || first[0] ? 0 : -ENOENT;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* librdmacm route: the RDMA device and port behind the netdev's IPv4. */
static int resolve_rdmacm(struct ibv_nic *n, char *why, size_t wlen)
{
	struct sockaddr_in sin;
	struct ifaddrs *ifa, *i;
	struct rdma_cm_id *id;
	int found = 0, e;

	if (getifaddrs(&ifa)) {
		snprintf(why, wlen, "getifaddrs: %s", strerror(errno));
		return -errno;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, n->dev)) {
			memcpy(&sin, i->ifa_addr, sizeof(sin));
			found = 1;
			break;
		}
	}
	freeifaddrs(ifa);
	if (!found) {
		snprintf(why, wlen, "rdmacm: no IPv4 address on %s", n->dev);
		return -ENODEV;
	}
	if (rdma_create_id(NULL, &id, NULL, RDMA_PS_UDP)) {
		e = errno;
		snprintf(why, wlen, "rdma_create_id: %s", strerror(e));
		return -e;
	}
	sin.sin_port = 0;
	if (rdma_bind_addr(id, (struct sockaddr *)&sin) || !id->verbs) {
		e = errno ? errno : ENODEV;
		snprintf(why, wlen, "rdma_bind_addr: %s", strerror(e));
		rdma_destroy_id(id);
		return -e;
	}
	copy_str(n->ibdev, sizeof(n->ibdev),
		 ibv_get_device_name(id->verbs->device));
	n->port = id->port_num ? id->port_num : 1;
	rdma_destroy_id(id);
	return 0;
}

/* Map n->dev to n->ibdev/n->port/n->netdev. @list holds the devices. */
static int resolve(struct ibv_nic *n, struct ibv_device **list, char *err)
{
	char buf[64], rel[160], why[160] = "";
	int rc;

	for (int i = 0; list[i]; i++) {
		if (!strcmp(ibv_get_device_name(list[i]), n->dev)) {
			copy_str(n->ibdev, sizeof(n->ibdev), n->dev);
			n->port = 1;
			snprintf(rel, sizeof(rel),
				 "class/infiniband/%s/device/net", n->ibdev);
			if (sysfs_first(n->netdev, sizeof(n->netdev), rel, 0))
				n->netdev[0] = '\0';
			return 0;
		}
	}
	snprintf(rel, sizeof(rel), "class/net/%s/device/infiniband", n->dev);
	rc = sysfs_first(n->ibdev, sizeof(n->ibdev), rel, -1);
	if (!rc) {
		n->port = 1;
		if (!sysfs_read(buf, sizeof(buf), "class/net/%s/dev_port",
				n->dev))
			n->port = (uint8_t)(atoi(buf) + 1);
	} else {
		rc = resolve_rdmacm(n, why, sizeof(why));
	}
	if (rc) {
		n->ibdev[0] = '\0';
		ibv_msg(err,
			"ibv:%s: no RDMA device or netdev named %s "
			"(nothing in %s/%s; %s)",
			n->dev, n->dev, sysfs_root(), rel, why);
		return -ENODEV;
	}
	copy_str(n->netdev, sizeof(n->netdev), n->dev);
	return 0;
}

/* MAC, MTU and NUMA node from sysfs. */
static int read_link(struct ibv_nic *n, char *err)
{
	char buf[64];

	if (!n->netdev[0] ||
	    sysfs_read(buf, sizeof(buf), "class/net/%s/address", n->netdev) ||
	    parse_mac(buf, n->link.mac)) {
		ibv_msg(err,
			"ibv:%s: no netdev with a MAC address for %s port %u "
			"(looked in %s/class/infiniband/%s/device/net)",
			n->dev, n->ibdev, n->port, sysfs_root(), n->ibdev);
		return -ENODEV;
	}
	n->link.mtu = 1500;
	if (!sysfs_read(buf, sizeof(buf), "class/net/%s/mtu", n->netdev) &&
	    atoi(buf) > 0)
		n->link.mtu = atoi(buf) > 9216 ? 9216 : (uint16_t)atoi(buf);
	n->numa_node = -1;
	if (!sysfs_read(buf, sizeof(buf),
			"class/infiniband/%s/device/numa_node", n->ibdev))
		n->numa_node = atoi(buf) < 0 ? -1 : atoi(buf);
	n->use_numa = n->numa_node >= 0 && numa_available() >= 0 &&
		      n->numa_node <= numa_max_node();
	n->link.numa_node = n->numa_node;
	return 0;
}

/**
 * ibv_dev_open - find and open the device of n->dev, check its port
 * @n: backend with n->dev set
 * @err: NIC_ERR_LEN buffer for the failure line
 *
 * Return: 0 with n->ctx open, or a negative errno with @err filled.
 */
int ibv_dev_open(struct ibv_nic *n, char *err)
{
	struct ibv_device **list, *dev = NULL;
	struct ibv_port_attr pa;
	int num = 0, rc, e;

	errno = 0;
	list = ibv_get_device_list(&num);
	if (!list || num <= 0) {
		e = errno;
		ibv_msg(err,
			"ibv:%s: no RDMA devices found (ibv_get_device_list: "
			"%s)",
			n->dev, list ? "0 devices" : strerror(e ? e : ENODEV));
		if (list)
			ibv_free_device_list(list);
		return -ENODEV;
	}
	rc = resolve(n, list, err);
	if (rc)
		goto out_list;
	for (int i = 0; list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), n->ibdev))
			dev = list[i];
	if (!dev) {
		ibv_msg(err,
			"ibv:%s: RDMA device %s is not in ibv_get_device_list",
			n->dev, n->ibdev);
		rc = -ENODEV;
		goto out_list;
	}
	n->ctx = ibv_open_device(dev);
	if (!n->ctx) {
		e = errno ? errno : ENODEV;
		ibv_err(n, err, e, "ibv_open_device");
		rc = -e;
		goto out_list;
	}
	memset(&pa, 0, sizeof(pa));
	rc = ibv_query_port(n->ctx, n->port, &pa);
	if (rc) {
		ibv_err(n, err, rc, "ibv_query_port");
		rc = -rc;
		goto err_ctx;
	}
	if (pa.link_layer != IBV_LINK_LAYER_ETHERNET) {
		ibv_msg(err,
			"ibv:%s: %s port %u is not Ethernet (link_layer %u); "
			"raw packet QPs need an Ethernet port",
			n->dev, n->ibdev, n->port, pa.link_layer);
		rc = -EPROTONOSUPPORT;
		goto err_ctx;
	}
	if (pa.state != IBV_PORT_ACTIVE) {
		ibv_msg(err,
			"ibv:%s: %s port %u is %s, not ACTIVE (cable or link "
			"partner?)",
			n->dev, n->ibdev, n->port,
			ibv_port_state_str(pa.state));
		rc = -ENETDOWN;
		goto err_ctx;
	}
	rc = read_link(n, err);
	if (rc)
		goto err_ctx;
	ibv_free_device_list(list);
	return 0;

err_ctx:
	ibv_close_device(n->ctx);
	n->ctx = NULL;
out_list:
	ibv_free_device_list(list);
	return rc;
}

/**
 * ibv_dev_close - close the context opened by ibv_dev_open
 * @n: backend
 */
void ibv_dev_close(struct ibv_nic *n)
{
	ibv_close_device(n->ctx);
	n->ctx = NULL;
}

static uint32_t pow2_ceil(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static uint32_t pow2_floor(uint32_t v)
{
	uint32_t p = 1;

	while (p * 2 <= v && p * 2 != 0)
		p <<= 1;
	return p;
}

/* Ring size: requested (or default), power of two, within device limits. */
static uint32_t ring_size(unsigned req, uint32_t dev_max)
{
	uint32_t r = req ? req : IBV_RING_DEFAULT;

	if (r < IBV_RING_MIN)
		r = IBV_RING_MIN;
	r = pow2_ceil(r);
	if (dev_max && r > dev_max)
		r = pow2_floor(dev_max);
	return r;
}

/**
 * ibv_dev_caps - read device capabilities, decide offloads and ring sizes
 * @n: backend with an open context
 * @p: caller parameters (may be NULL)
 * @err: NIC_ERR_LEN buffer
 *
 * Fills n->link (queues, offloads, max_tso, max_segs, mtu), n->csum,
 * n->max_tso, n->nq, n->rss_log_size and the per-queue ring sizes.
 *
 * Return: 0 or a negative errno with @err filled.
 */
int ibv_dev_caps(struct ibv_nic *n, const struct nic_params *p, char *err)
{
	const uint64_t fields = IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
				IBV_RX_HASH_SRC_PORT_TCP |
				IBV_RX_HASH_DST_PORT_TCP;
	struct ibv_device_attr_ex a;
	unsigned nq = p && p->nqueues ? p->nqueues : 1;
	uint32_t rx, tx, max_wr;
	int rc;

	if (nq > NIC_MAX_QUEUES) {
		ibv_msg(err, "ibv:%s: %u queues asked, at most %d", n->dev, nq,
			NIC_MAX_QUEUES);
		return -EINVAL;
	}
	memset(&a, 0, sizeof(a));
	rc = ibv_query_device_ex(n->ctx, NULL, &a);
	if (rc) {
		ibv_err(n, err, rc, "ibv_query_device_ex");
		return -rc;
	}
	if (!(a.orig_attr.device_cap_flags &
	      IBV_DEVICE_MANAGED_FLOW_STEERING)) {
		ibv_msg(err,
			"ibv:%s: %s lacks managed flow steering "
			"(IBV_DEVICE_MANAGED_FLOW_STEERING); raw packet QPs "
			"would receive nothing",
			n->dev, n->ibdev);
		return -EOPNOTSUPP;
	}
	n->csum = (a.orig_attr.device_cap_flags & IBV_DEVICE_RAW_IP_CSUM) ||
		  (a.raw_packet_caps & IBV_RAW_PACKET_CAP_IP_CSUM);
	if (a.tso_caps.max_tso &&
	    ibv_is_qpt_supported(a.tso_caps.supported_qpts, IBV_QPT_RAW_PACKET))
		n->max_tso = a.tso_caps.max_tso;
	n->max_sge = (uint32_t)a.orig_attr.max_sge;
	n->max_qp_wr = (uint32_t)a.orig_attr.max_qp_wr;
	n->max_cqe = (uint32_t)a.orig_attr.max_cqe;
	n->nq = nq;
	if (nq > 1) {
		n->rss_log_size = 0;
		while ((1u << n->rss_log_size) < nq)
			n->rss_log_size++;
		if (!ibv_is_qpt_supported(a.rss_caps.supported_qpts,
					  IBV_QPT_RAW_PACKET) ||
		    (a.rss_caps.rx_hash_fields_mask & fields) != fields ||
		    !(a.rss_caps.rx_hash_function &
		      IBV_RX_HASH_FUNC_TOEPLITZ) ||
		    a.rss_caps.max_rwq_indirection_table_size <
			    (1u << n->rss_log_size) ||
		    a.max_wq_type_rq < nq) {
			ibv_msg(err,
				"ibv:%s: %s cannot spread %u queues: RSS with "
				"Toeplitz over IPv4+TCP on raw packet QPs is "
				"not supported (use nqueues=1)",
				n->dev, n->ibdev, nq);
			return -EOPNOTSUPP;
		}
	}
	max_wr = n->max_qp_wr;
	if (n->max_cqe && n->max_cqe < max_wr)
		max_wr = n->max_cqe;
	rx = ring_size(p ? p->rx_ring : 0, max_wr);
	tx = ring_size(p ? p->tx_ring : 0, max_wr);
	if (p && p->mtu)
		n->link.mtu = (uint16_t)p->mtu;
	for (unsigned q = 0; q < nq; q++) {
		n->rxq[q].size = rx;
		n->rxq[q].buf_size = (n->link.mtu + 18u + 63u) & ~63u;
		n->txq[q].size = tx;
		n->txq[q].sig_every =
			tx / 4 < IBV_SIG_MAX ? tx / 4 : IBV_SIG_MAX;
	}
	n->link.nqueues = (uint16_t)nq;
	n->link.offloads = 0;
	if (n->csum)
		n->link.offloads |= NIC_OFF_TX_CSUM | NIC_OFF_RX_CSUM;
	if (n->max_tso && n->csum) {
		n->link.offloads |= NIC_OFF_TSO;
		n->link.max_tso = n->max_tso;
	} else {
		n->max_tso = 0; /* libmlx5 TSO relies on IBV_SEND_IP_CSUM */
	}
	n->link.max_segs = n->max_sge > NIC_TX_MAX_SEG ? NIC_TX_MAX_SEG
			   : n->max_sge > 1 ? (uint16_t)(n->max_sge - 1)
					    : 0;
	return 0;
}

/**
 * ibv_buf_alloc - zeroed, page-aligned memory on the device's NUMA node
 * @n: backend (n->use_numa, n->numa_node)
 * @len: bytes
 *
 * Return: the memory, or NULL with errno set. Free with ibv_buf_free.
 */
void *ibv_buf_alloc(const struct ibv_nic *n, size_t len)
{
	void *p;

	if (n->use_numa) {
		p = numa_alloc_onnode(len, n->numa_node);
		if (!p)
			errno = ENOMEM;
		else
			memset(p, 0, len);
		return p;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/**
 * ibv_buf_free - release memory from ibv_buf_alloc
 * @n: backend
 * @p: memory, or NULL
 * @len: the length it was allocated with
 */
void ibv_buf_free(const struct ibv_nic *n, void *p, size_t len)
{
	if (!p)
		return;
	if (n->use_numa)
		numa_free(p, len);
	else
		munmap(p, len);
}
