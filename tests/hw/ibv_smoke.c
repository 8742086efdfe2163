/* ibv_smoke.c - hardware smoke test of the ibv backend on a real RDMA NIC
 *
 * Usage: ibv_smoke probe|open|queues|loopback
 *   device: $TAS_HW_DEV (RDMA or netdev name), else the first RDMA device
 *   exit 0 pass, 1 fail, 77 skipped (prints "skipped: <reason>")
 *
 * probe     opens the device once; a missing device, missing CAP_NET_RAW,
 *           a non-Ethernet or down port is a skip, anything else a failure
 * open      link info and one queue, open/close
 * queues    $TAS_HW_QUEUES (default 4) queues with RSS plus LOCAL and ARP
 *           rules; a device without RSS on raw QPs is a skip
 * loopback  two contexts on the device (mlx5 enables vport self-loopback
 *           when a second transport domain exists, notes §3.5): A sends
 *           frames to our own MAC, B steers their 4-tuple to its queue and
 *           must receive them intact, after its completion fd woke.
 *           TAS_HW_NO_LOOPBACK=1 turns a device that blocks self-loopback
 *           into a skip.
 *
 * Nothing here passes without hardware.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <infiniband/verbs.h>

#include "verbs/nic.h"

#define SKIP 77
#define NFRAMES 8
#define SRC_IP 0xc6120001u /* 198.18.0.1: benchmarking range (RFC 2544) */
#define DST_IP 0xc6120002u
#define SRC_PORT 40000
#define DST_PORT 9

static char dev[64];

static int pick_device(void)
{
	struct ibv_device **l;
	const char *env = getenv("TAS_HW_DEV");
	int n = 0;

	if (env && env[0]) {
		snprintf(dev, sizeof(dev), "%s", env);
		return 0;
	}
	errno = 0;
	l = ibv_get_device_list(&n);
	if (!l || n <= 0) {
		printf("skipped: no RDMA devices found (ibv_get_device_list: "
		       "%s)\n",
		       l ? "0 devices" : strerror(errno ? errno : ENODEV));
		if (l)
			ibv_free_device_list(l);
		return SKIP;
	}
	snprintf(dev, sizeof(dev), "%s", ibv_get_device_name(l[0]));
	ibv_free_device_list(l);
	return 0;
}

/* Open, or say why not: a missing prerequisite is a skip. */
static struct nic *open_or_say(unsigned nq, int *rc)
{
	struct nic_params p = { .nqueues = nq, .rx_ring = 256, .tx_ring = 256 };
	char err[NIC_ERR_LEN];
	struct nic *nic = nic_ibv_open(dev, &p, err);
	int e = errno;

	if (nic)
		return nic;
	if (e == ENODEV || e == EPERM || e == EACCES || e == ENETDOWN ||
	    e == EPROTONOSUPPORT || (nq > 1 && e == EOPNOTSUPP)) {
		printf("skipped: %s\n", err);
		*rc = SKIP;
	} else {
		printf("FAIL: %s\n", err);
		*rc = 1;
	}
	return NULL;
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

/* Ethernet + IPv4 + TCP header (54 bytes) for @plen payload bytes. */
static void build_hdr(uint8_t *h, const uint8_t mac[6], const uint8_t *pay,
		      uint16_t plen, uint32_t seq)
{
	uint8_t ph[12];
	uint32_t s;

	memset(h, 0, 54);
	memcpy(h, mac, 6);
	memcpy(h + 6, mac, 6);
	h[12] = 0x08;
	h[14] = 0x45;
	h[16] = (uint8_t)((40 + plen) >> 8);
	h[17] = (uint8_t)(40 + plen);
	h[22] = 64;
	h[23] = 6;
	*(uint32_t *)(void *)(h + 26) = htonl(SRC_IP);
	*(uint32_t *)(void *)(h + 30) = htonl(DST_IP);
	s = csum_fold(csum_add(0, h + 14, 20));
	h[24] = (uint8_t)(s >> 8);
	h[25] = (uint8_t)s;
	h[34] = SRC_PORT >> 8;
	h[35] = SRC_PORT & 0xff;
	h[36] = 0;
	h[37] = DST_PORT;
	h[38] = (uint8_t)(seq >> 24);
	h[39] = (uint8_t)(seq >> 16);
	h[40] = (uint8_t)(seq >> 8);
	h[41] = (uint8_t)seq;
	h[46] = 0x50;
	h[47] = 0x18; /* PSH|ACK */
	h[48] = 0xff;
	h[49] = 0xff;
	memcpy(ph, h + 26, 8);
	ph[8] = 0;
	ph[9] = 6;
	ph[10] = (uint8_t)((20 + plen) >> 8);
	ph[11] = (uint8_t)(20 + plen);
	s = csum_add(0, ph, 12);
	s = csum_add(s, h + 34, 20);
	s = csum_add(s, pay, plen);
	s = csum_fold(s);
	h[50] = (uint8_t)(s >> 8);
	h[51] = (uint8_t)s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_open(void)
{
	struct nic_link_info li;
	struct nic *nic;
	int rc = 0;

	nic = open_or_say(1, &rc);
	if (!nic)
		return rc;
	nic_link_info(nic, &li);
	printf("%s: mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u offloads %#x "
	       "max_tso %u max_segs %u numa %d\n",
	       nic->name, li.mac[0], li.mac[1], li.mac[2], li.mac[3], li.mac[4],
	       li.mac[5], li.mtu, li.offloads, li.max_tso, li.max_segs,
	       li.numa_node);
	nic_close(nic);
	return 0;
}

static int run_queues(void)
{
	const char *q = getenv("TAS_HW_QUEUES");
	struct nic_steer s = { .kind = NIC_STEER_LOCAL,
			       .local_ip = htonl(DST_IP) };
	struct nic *nic;
	int rc = 0;

	nic = open_or_say(q ? (unsigned)atoi(q) : 4, &rc);
	if (!nic)
		return rc;
	rc = nic_add_steer(nic, &s);
	if (!rc) {
		s.kind = NIC_STEER_ARP;
		rc = nic_add_steer(nic, &s);
	}
	if (rc)
		printf("FAIL: add_steer: %s\n", strerror(-rc));
	nic_close(nic);
	return rc ? 1 : 0;
}

static int run_loopback(void)
{
	static uint8_t pay[NFRAMES][1024] __attribute__((aligned(4096)));
	static uint8_t hdr[NFRAMES][54];
	struct nic_steer st = { .kind = NIC_STEER_FLOW,
				.local_ip = htonl(DST_IP),
				.remote_ip = htonl(SRC_IP),
				.local_port = htons(DST_PORT),
				.remote_port = htons(SRC_PORT) };
	struct nic_tx tx[NFRAMES];
	struct nic_rx rx[32];
	struct nic_link_info li;
	struct nic *a, *b;
	struct pollfd pfd;
	uint64_t cookies[NFRAMES];
	unsigned sent, done = 0, got = 0, csum_ok = 0;
	uint32_t key;
	int rc = 0, woke;
	double end;

	a = open_or_say(1, &rc);
	if (!a)
		return rc;
	b = open_or_say(1, &rc);
	if (!b) {
		nic_close(a);
		return rc == SKIP ? 1 : rc; /* the first one opened */
	}
	nic_link_info(a, &li);
	rc = nic_add_steer(b, &st);
	if (rc) {
		printf("FAIL: add_steer(flow): %s\n", strerror(-rc));
		goto out;
	}
	rc = nic_reg_mem(a, pay, sizeof(pay), &key);
	if (rc) {
		printf("FAIL: reg_mem: %s\n", strerror(-rc));
		goto out;
	}
	for (unsigned i = 0; i < NFRAMES; i++) {
		/* half small (inline), half 1000 bytes from registered memory */
		uint16_t plen = i % 2 ? 1000 : 32;

		for (unsigned k = 0; k < plen; k++)
			pay[i][k] = (uint8_t)(i * 7 + k);
		build_hdr(hdr[i], li.mac, pay[i], plen, i);
		memset(&tx[i], 0, sizeof(tx[i]));
		tx[i].hdr = hdr[i];
		tx[i].hdr_len = 54;
		tx[i].flags = li.offloads & NIC_OFF_TX_CSUM ? NIC_TX_CSUM : 0;
		tx[i].nseg = 1;
		tx[i].seg[0] = (struct nic_seg){ pay[i], plen, key };
		tx[i].cookie = i;
	}
	if (nic_arm(b, 0) != 0) {
		printf("FAIL: arm on an idle queue did not return 0\n");
		rc = 1;
		goto out;
	}
	sent = nic_tx_burst(a, 0, tx, NFRAMES);
	if (sent != NFRAMES) {
		printf("FAIL: tx_burst took %u of %u\n", sent, NFRAMES);
		rc = 1;
		goto out;
	}
	pfd = (struct pollfd){ .fd = nic_fd(b, 0), .events = POLLIN };
	woke = poll(&pfd, 1, 2000);
	end = now_s() + 2.0;
	while (now_s() < end && (done < NFRAMES || got < NFRAMES)) {
		unsigned k = nic_tx_completions(a, 0, cookies, NFRAMES);

		for (unsigned i = 0; i < k; i++, done++) {
			if (cookies[i] != done) {
				printf("FAIL: cookie %llu, expected %u\n",
				       (unsigned long long)cookies[i], done);
				rc = 1;
				goto out;
			}
		}
		k = nic_rx_burst(b, 0, rx, 32);
		for (unsigned i = 0; i < k; i++) {
			const uint8_t *d = rx[i].data;
			uint32_t seq = (uint32_t)(d[38] << 24 | d[39] << 16 |
						  d[40] << 8 | d[41]);
			uint16_t plen = seq % 2 ? 1000 : 32;

			if (seq >= NFRAMES || rx[i].len < 54u + plen ||
			    memcmp(d + 54, pay[seq], plen)) {
				printf("FAIL: frame %u (len %u) is not what "
				       "was sent\n",
				       seq, rx[i].len);
				rc = 1;
				goto out;
			}
			csum_ok += rx[i].csum == NIC_CSUM_OK;
			got++;
		}
	}
	printf("%u/%u sent frames completed, %u/%u received (%u csum ok), "
	       "fd woke: %s\n",
	       done, NFRAMES, got, NFRAMES, csum_ok, woke > 0 ? "yes" : "no");
	if (done != NFRAMES) {
		printf("FAIL: TX completions missing\n");
		rc = 1;
	} else if (!got && getenv("TAS_HW_NO_LOOPBACK")) {
		printf("skipped: no frame came back and TAS_HW_NO_LOOPBACK is "
		       "set (device blocks self-loopback)\n");
		rc = SKIP;
	} else if (got != NFRAMES || woke <= 0) {
		printf("FAIL: loopback incomplete (self-loopback blocked? set "
		       "TAS_HW_NO_LOOPBACK=1 to skip on such devices)\n");
		rc = 1;
	} else if ((li.offloads & NIC_OFF_RX_CSUM) && csum_ok != got) {
		printf("note: RX checksum offload on, but only %u of %u "
		       "frames reported NIC_CSUM_OK\n",
		       csum_ok, got);
	}
out:
	nic_close(b);
	nic_close(a);
	return rc;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "probe";
	int rc = pick_device();

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rc)
		return rc;
	if (!strcmp(mode, "probe")) {
		struct nic *nic = open_or_say(1, &rc);

		if (nic)
			printf("device %s opens\n", dev);
		nic_close(nic);
		return rc;
	}
	if (!strcmp(mode, "open"))
		return run_open();
	if (!strcmp(mode, "queues"))
		return run_queues();
	if (!strcmp(mode, "loopback"))
		return run_loopback();
	fprintf(stderr, "usage: %s probe|open|queues|loopback\n", argv[0]);
	return 2;
}
