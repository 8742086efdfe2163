/* ibv_fixture.c - what the ibv backend's unit tests share: a fake sysfs
 * tree ($TAS_SYSFS_ROOT) with two PCI functions (mlx5_0/enp65s0f0 with
 * MAC0 on NUMA node 0, mlx5_1/enp65s0f1 on port 2) and "lo" without an
 * RDMA device, the per-test reset and leak/misuse check, and lookups in
 * the double's records. See ibv_fixture.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/ibv_fixture.h"

const uint8_t MAC0[6] = { 0xb8, 0x59, 0x9f, 0x12, 0x34, 0x56 };
static char sysroot[64];

/* ---- fake sysfs ---- */

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", sysroot, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *fmt, ...)
{
	char rel[160], path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", sysroot, rel);
	for (char *p = path + strlen(sysroot) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
}

static void link_to(const char *target_rel, const char *link_rel)
{
	char t[256], l[256];

	snprintf(t, sizeof(t), "%s/%s", sysroot, target_rel);
	snprintf(l, sizeof(l), "%s/%s", sysroot, link_rel);
	assert_int_equal(symlink(t, l), 0);
}

/* One PCI function with an RDMA device and a netdev. */
static void fake_fn(const char *pci, const char *ib, const char *net,
		    const char *mac, const char *dev_port, const char *numa)
{
	char rel[200], dir[100];

	snprintf(dir, sizeof(dir), "devices/pci0000:00/%s", pci);
	mkdirs("%s/infiniband/%s", dir, ib);
	mkdirs("%s/net/%s", dir, net);
	snprintf(rel, sizeof(rel), "%s/numa_node", dir);
	put(rel, numa);
	mkdirs("class/net/%s", net);
	mkdirs("class/infiniband/%s", ib);
	snprintf(rel, sizeof(rel), "class/net/%s/address", net);
	put(rel, mac);
	snprintf(rel, sizeof(rel), "class/net/%s/mtu", net);
	put(rel, "1500\n");
	snprintf(rel, sizeof(rel), "class/net/%s/dev_port", net);
	put(rel, dev_port);
	snprintf(rel, sizeof(rel), "class/net/%s/device", net);
	link_to(dir, rel);
	snprintf(rel, sizeof(rel), "class/infiniband/%s/device", ib);
	link_to(dir, rel);
}

int ibv_fix_group_setup(void **state)
{
	(void)state;
	snprintf(sysroot, sizeof(sysroot), "/tmp/tas-ibv-sysfs-XXXXXX");
	if (!mkdtemp(sysroot))
		return -1;
	fake_fn("0000:41:00.0", "mlx5_0", "enp65s0f0", "b8:59:9f:12:34:56\n",
		"0\n", "0\n");
	fake_fn("0000:41:00.1", "mlx5_1", "enp65s0f1", "b8:59:9f:12:34:57\n",
		"1\n", "-1\n");
	/* lo: a netdev without an RDMA device (the librdmacm route) */
	mkdirs("class/net/lo");
	put("class/net/lo/address", "00:00:00:00:00:00\n");
	put("class/net/lo/mtu", "65536\n");
	setenv("TAS_SYSFS_ROOT", sysroot, 1);
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int ibv_fix_group_teardown(void **state)
{
	(void)state;
	nftw(sysroot, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("TAS_SYSFS_ROOT");
	return 0;
}

int ibv_fix_setup(void **state)
{
	(void)state;
	dbl_reset();
	return 0;
}

int ibv_fix_teardown(void **state)
{
	(void)state;
	if (dbl.misuse)
		print_error("double saw misuse: %s\n", dbl.misuse_msg);
	assert_int_equal(dbl.misuse, 0);
	assert_int_equal(dbl_live_total(), 0);
	return 0;
}

/* ---- helpers ---- */

struct nic *open_nic(const char *dev, unsigned nq, unsigned rx, unsigned tx)
{
	struct nic_params p = { .nqueues = nq, .rx_ring = rx, .tx_ring = tx };
	char err[NIC_ERR_LEN] = "";
	struct nic *nic = nic_ibv_open(dev, &p, err);

	if (!nic)
		print_error("open %s: %s\n", dev, err);
	assert_non_null(nic);
	return nic;
}

/* i-th QP created that is (rss != 0) an RSS QP or (rss == 0) a raw QP. */
struct dbl_qp_rec *qp_nth(int rss, int i)
{
	for (int k = 0; k < dbl.nqp; k++) {
		int is_rss = !!(dbl.qps[k].attr.comp_mask &
				IBV_QP_INIT_ATTR_IND_TABLE);

		if (is_rss == rss && i-- == 0)
			return &dbl.qps[k];
	}
	return NULL;
}

const uint8_t *flow_spec(const struct dbl_flow_rec *f, int i)
{
	const uint8_t *p = f->buf + sizeof(struct ibv_flow_attr);

	while (i--) {
		uint16_t sz;

		memcpy(&sz, p + offsetof(struct ibv_flow_spec_eth, size),
		       sizeof(sz));
		p += sz;
	}
	return p;
}

/* A frame of just a header, for nic_tx_burst. */
struct nic_tx ibv_tx_frame(const uint8_t *hdr, uint16_t hl, uint64_t cookie)
{
	struct nic_tx t;

	memset(&t, 0, sizeof(t));
	t.hdr = hdr;
	t.hdr_len = hl;
	t.cookie = cookie;
	return t;
}
