/* test_nic_packet.c - the AF_PACKET backend over a veth pair between two
 * network namespaces the test creates (198.18.0.0/24)
 *
 * Needs root and `ip netns`; skips visibly otherwise. Namespaces are deleted
 * in the group teardown, which runs on failure too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "verbs/nic.h"

#define FRAMES_PER_DIR 100000u
#define WINDOW 64u
#define ETH_TEST 0x88b5
#define FRAME_MAX 1514
#define IP_KERNEL "198.18.0.2"
#define UDP_PORT 4242

static const uint8_t mac_a[6] = { 0x02, 0xaa, 0, 0, 0, 1 };
static const uint8_t mac_b[6] = { 0x02, 0xbb, 0, 0, 0, 2 };

static char ns_a[32], ns_b[32], if_a[16], if_b[16], if_down[16];
static int orig_ns = -1;
static bool ready;
static const char *skip_reason;

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int enter_ns(const char *ns)
{
	char path[128];
	int fd, rc;

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

static void leave_ns(void)
{
	assert_int_equal(setns(orig_ns, CLONE_NEWNET), 0);
}

static int group_teardown(void **state)
{
	(void)state;
	if (orig_ns >= 0) {
		setns(orig_ns, CLONE_NEWNET);
		close(orig_ns);
		orig_ns = -1;
	}
	if (ns_a[0]) {
		sh("ip netns del %s >/dev/null 2>&1", ns_a);
		sh("ip netns del %s >/dev/null 2>&1", ns_b);
	}
	return 0;
}

static int group_setup(void **state)
{
	int pid = (int)getpid();

	(void)state;
	if (geteuid() != 0) {
		skip_reason = "needs root (netns, CAP_NET_RAW)";
		return 0;
	}
	if (sh("ip netns list >/dev/null 2>&1") != 0) {
		skip_reason = "ip netns unavailable";
		return 0;
	}
	snprintf(ns_a, sizeof(ns_a), "taspkA%d", pid);
	snprintf(ns_b, sizeof(ns_b), "taspkB%d", pid);
	snprintf(if_a, sizeof(if_a), "pa%d", pid);
	snprintf(if_b, sizeof(if_b), "pb%d", pid);
	snprintf(if_down, sizeof(if_down), "pd%d", pid);
	orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig_ns < 0 || sh("ip netns add %s", ns_a) ||
	    sh("ip netns add %s", ns_b) ||
	    sh("ip netns exec %s sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
	       ns_a) ||
	    sh("ip netns exec %s sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
	       ns_b) ||
	    sh("ip netns exec %s sysctl -qw "
	       "net.ipv6.conf.default.disable_ipv6=1",
	       ns_a) ||
	    sh("ip netns exec %s sysctl -qw "
	       "net.ipv6.conf.default.disable_ipv6=1",
	       ns_b) ||
	    sh("ip link add %s address 02:aa:00:00:00:01 netns %s type veth "
	       "peer name %s address 02:bb:00:00:00:02 netns %s",
	       if_a, ns_a, if_b, ns_b) ||
	    sh("ip netns exec %s ethtool -K %s tx off tso off gso off gro off "
	       ">/dev/null 2>&1",
	       ns_a, if_a) ||
	    sh("ip netns exec %s ethtool -K %s tx off tso off gso off gro off "
	       ">/dev/null 2>&1",
	       ns_b, if_b) ||
	    sh("ip -n %s addr add 198.18.0.2/24 dev %s", ns_b, if_b) ||
	    sh("ip -n %s link set %s up", ns_a, if_a) ||
	    sh("ip -n %s link set %s up", ns_b, if_b) ||
	    sh("ip -n %s neigh replace 198.18.0.1 lladdr 02:aa:00:00:00:01 "
	       "dev %s nud permanent",
	       ns_b, if_b) ||
	    sh("ip link add %s netns %s type veth peer name %sx netns %s",
	       if_down, ns_a, if_down, ns_a)) {
		group_teardown(state);
		ns_a[0] = '\0';
		skip_reason = "could not build the namespaces";
		return 0;
	}
	ready = true;
	return 0;
}

#define NEED_NETNS()                                                 \
	do {                                                         \
		if (!ready) {                                        \
			print_message("skipped: %s\n", skip_reason); \
			skip();                                      \
		}                                                    \
	} while (0)

static struct nic *open_in(const char *ns, const char *ifname,
			   const struct nic_params *p, char *err)
{
	char spec[64];
	struct nic *nic;

	snprintf(spec, sizeof(spec), "packet:%s", ifname);
	assert_int_equal(enter_ns(ns), 0);
	nic = nic_open(spec, p, err);
	leave_ns();
	return nic;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t fnv32(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static uint32_t frame_len(uint32_t seq, int dir)
{
	return 60 + (seq * 977u + (unsigned)dir * 331u) % (FRAME_MAX - 60 + 1);
}

/* eth header, then dir(1) seq(4) len(2) fnv32 of the rest(4), pattern */
static void frame_fill(uint8_t *b, uint32_t seq, int dir)
{
	uint32_t len = frame_len(seq, dir), i, h;
	uint16_t l16 = (uint16_t)len;

	memcpy(b, dir ? mac_a : mac_b, 6);
	memcpy(b + 6, dir ? mac_b : mac_a, 6);
	b[12] = ETH_TEST >> 8;
	b[13] = ETH_TEST & 0xff;
	b[14] = (uint8_t)dir;
	memcpy(b + 15, &seq, 4);
	memcpy(b + 19, &l16, 2);
	for (i = 25; i < len; i++)
		b[i] = (uint8_t)(seq * 13u + i * 29u + (unsigned)dir);
	h = fnv32(b + 25, len - 25);
	memcpy(b + 21, &h, 4);
}

static void test_packet_veth_100k_frames_each_way_byte_exact(void **state)
{
	static uint8_t bufs[32][FRAME_MAX], want[FRAME_MAX];
	char err[NIC_ERR_LEN] = "";
	struct nic *nic[2];
	struct nic_link_info li;
	uint32_t sent[2] = { 0 }, got[2] = { 0 };
	uint64_t comp[2] = { 0 }, bytes = 0, t0, other = 0;
	double secs;
	int d;

	(void)state;
	NEED_NETNS();
	nic[0] = open_in(ns_a, if_a, NULL, err);
	if (!nic[0])
		print_error("%s\n", err);
	assert_non_null(nic[0]);
	nic[1] = open_in(ns_b, if_b, NULL, err);
	if (!nic[1])
		print_error("%s\n", err);
	assert_non_null(nic[1]);
	nic_link_info(nic[0], &li);
	assert_memory_equal(li.mac, mac_a, 6);
	assert_int_equal(li.mtu, 1500);
	assert_int_equal(li.offloads, 0);
	assert_int_equal(li.max_segs, NIC_TX_MAX_SEG);
	t0 = now_ns();
	while ((got[0] < FRAMES_PER_DIR || got[1] < FRAMES_PER_DIR) &&
	       now_ns() - t0 < 60000000000ull) {
		for (d = 0; d < 2; d++) {
			struct nic_tx tx[32];
			struct nic_rx rx[64];
			uint64_t c[64];
			unsigned m = 0, k, i;

			while (sent[d] + m < FRAMES_PER_DIR && m < 32 &&
			       sent[d] + m - got[d] < WINDOW) {
				uint32_t seq = sent[d] + m;
				uint32_t len = frame_len(seq, d);

				frame_fill(bufs[m], seq, d);
				memset(&tx[m], 0, sizeof(tx[m]));
				tx[m].hdr = bufs[m];
				tx[m].hdr_len = 14;
				tx[m].nseg = 2;
				tx[m].seg[0].addr = bufs[m] + 14;
				tx[m].seg[0].len = (len - 14) / 2;
				tx[m].seg[1].addr =
					bufs[m] + 14 + tx[m].seg[0].len;
				tx[m].seg[1].len = len - 14 - tx[m].seg[0].len;
				tx[m].cookie = seq;
				m++;
			}
			if (m)
				sent[d] += nic_tx_burst(nic[d], 0, tx, m);
			while ((k = nic_tx_completions(nic[d], 0, c, 64)) > 0)
				for (i = 0; i < k; i++)
					assert_int_equal(c[i], comp[d]++);
			k = nic_rx_burst(nic[!d], 0, rx, 64);
			for (i = 0; i < k; i++) {
				const uint8_t *p = rx[i].data;
				uint32_t seq, h;

				if (rx[i].len < 25 ||
				    p[12] != (ETH_TEST >> 8) ||
				    p[13] != (ETH_TEST & 0xff)) {
					other++;
					continue;
				}
				memcpy(&seq, p + 15, 4);
				if (seq != got[d])
					fail_msg("dir %d: frame %u lost, got "
						 "%u",
						 d, got[d], seq);
				assert_int_equal(rx[i].len, frame_len(seq, d));
				memcpy(&h, p + 21, 4);
				assert_int_equal(h,
						 fnv32(p + 25, rx[i].len - 25));
				frame_fill(want, seq, d);
				assert_memory_equal(p, want, rx[i].len);
				bytes += rx[i].len;
				got[d]++;
			}
		}
	}
	secs = (double)(now_ns() - t0) / 1e9;
	print_message("packet veth: %u + %u frames, %llu bytes in %.2f s "
		      "(%.0f frames/s), %llu other frames ignored\n",
		      got[0], got[1], (unsigned long long)bytes, secs,
		      (got[0] + got[1]) / secs, (unsigned long long)other);
	assert_int_equal(got[0], FRAMES_PER_DIR);
	assert_int_equal(got[1], FRAMES_PER_DIR);
	assert_int_equal(comp[0], FRAMES_PER_DIR);
	assert_int_equal(comp[1], FRAMES_PER_DIR);
	nic_close(nic[0]);
	nic_close(nic[1]);
}

static uint16_t csum_fold(const uint8_t *p, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Waits up to 2 s for an IPv4 frame with protocol @proto on @nic; copies
 * it into @out. Returns its length, 0 on timeout. */
static uint32_t wait_ipv4(struct nic *nic, uint8_t proto, uint8_t *out,
			  uint8_t *csum)
{
	uint64_t t0 = now_ns();

	while (now_ns() - t0 < 2000000000ull) {
		struct nic_rx rx[16];
		unsigned k, i;

		k = nic_rx_burst(nic, 0, rx, 16);
		for (i = 0; i < k; i++) {
			const uint8_t *p = rx[i].data;

			if (rx[i].len < 34 || p[12] != 0x08 || p[13] != 0 ||
			    p[23] != proto || rx[i].len > FRAME_MAX)
				continue;
			memcpy(out, p, rx[i].len);
			*csum = rx[i].csum;
			return rx[i].len;
		}
	}
	return 0;
}

static void test_packet_icmp_echo_to_kernel_gets_intact_reply(void **state)
{
	uint8_t f[98], r[FRAME_MAX], csum;
	char err[NIC_ERR_LEN] = "";
	struct nic_tx tx;
	struct nic *nic;
	uint32_t len, kip = inet_addr(IP_KERNEL), us = htonl(0xc6120001u);
	uint16_t c;
	unsigned i;

	(void)state;
	NEED_NETNS();
	nic = open_in(ns_a, if_a, NULL, err);
	assert_non_null(nic);
	memset(f, 0, sizeof(f));
	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = 0;
	f[17] = 84; /* 20 + 8 + 56 */
	f[18] = 0x12;
	f[19] = 0x34;
	f[20] = 0x40; /* DF */
	f[22] = 64;
	f[23] = 1;
	memcpy(f + 26, &us, 4);
	memcpy(f + 30, &kip, 4);
	c = (uint16_t)~csum_fold(f + 14, 20, 0);
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
	f[34] = 8; /* echo request */
	f[38] = 0xbe;
	f[39] = 0xef;
	f[41] = 1;
	for (i = 42; i < 98; i++)
		f[i] = (uint8_t)(i * 3);
	c = (uint16_t)~csum_fold(f + 34, 64, 0);
	f[36] = (uint8_t)(c >> 8);
	f[37] = (uint8_t)c;
	memset(&tx, 0, sizeof(tx));
	tx.hdr = f;
	tx.hdr_len = 42;
	tx.nseg = 1;
	tx.seg[0].addr = f + 42;
	tx.seg[0].len = 56;
	assert_int_equal(nic_tx_burst(nic, 0, &tx, 1), 1);
	len = wait_ipv4(nic, 1, r, &csum);
	assert_int_equal(len, 98);
	assert_memory_equal(r, mac_a, 6);
	assert_int_equal(csum_fold(r + 14, 20, 0), 0xffff); /* IP csum */
	assert_memory_equal(r + 26, &kip, 4);
	assert_memory_equal(r + 30, &us, 4);
	assert_int_equal(r[34], 0);			    /* echo reply */
	assert_int_equal(csum_fold(r + 34, 64, 0), 0xffff); /* ICMP csum */
	assert_memory_equal(r + 38, f + 38, 60);	    /* id, seq, data */
	nic_close(nic);
}

/* Sends @n bytes from a kernel UDP socket in ns B to us; returns the frame
 * our nic got. */
static uint32_t kernel_udp(struct nic *nic, const uint8_t *payload, size_t n,
			   uint8_t *r, uint8_t *csum)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(UDP_PORT) };
	int fd;

	to.sin_addr.s_addr = htonl(0xc6120001u);
	assert_int_equal(enter_ns(ns_b), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	leave_ns();
	assert_true(fd >= 0);
	assert_int_equal(
		sendto(fd, payload, n, 0, (struct sockaddr *)&to, sizeof(to)),
		(ssize_t)n);
	close(fd);
	return wait_ipv4(nic, 17, r, csum);
}

static void test_packet_kernel_udp_arrives_byte_exact(void **state)
{
	uint8_t pl[300], r[FRAME_MAX], csum, pseudo[12];
	char err[NIC_ERR_LEN] = "";
	struct nic *nic;
	uint32_t len;
	uint16_t ulen;
	unsigned i;

	(void)state;
	NEED_NETNS();
	nic = open_in(ns_a, if_a, NULL, err);
	assert_non_null(nic);
	for (i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 7 + 1);
	len = kernel_udp(nic, pl, sizeof(pl), r, &csum);
	assert_int_equal(len, 14 + 20 + 8 + sizeof(pl));
	assert_int_equal(csum_fold(r + 14, 20, 0), 0xffff);
	assert_int_equal(r[36] << 8 | r[37], UDP_PORT);
	ulen = (uint16_t)(r[38] << 8 | r[39]);
	assert_int_equal(ulen, 8 + sizeof(pl));
	assert_memory_equal(r + 42, pl, sizeof(pl));
	/* tx off on the kernel side: a full UDP checksum, not partial */
	assert_true(csum != NIC_CSUM_PARTIAL);
	memcpy(pseudo, r + 26, 8);
	pseudo[8] = 0;
	pseudo[9] = 17;
	pseudo[10] = (uint8_t)(ulen >> 8);
	pseudo[11] = (uint8_t)ulen;
	assert_int_equal(csum_fold(r + 34, ulen, csum_fold(pseudo, 12, 0)),
			 0xffff);
	nic_close(nic);
}

static void test_packet_kernel_tx_csum_on_reports_partial(void **state)
{
	uint8_t pl[64], r[FRAME_MAX], csum = 0;
	char err[NIC_ERR_LEN] = "";
	struct nic *nic;
	uint32_t len;

	(void)state;
	NEED_NETNS();
	nic = open_in(ns_a, if_a, NULL, err);
	assert_non_null(nic);
	memset(pl, 0x5a, sizeof(pl));
	assert_int_equal(sh("ip netns exec %s ethtool -K %s tx on "
			    ">/dev/null 2>&1",
			    ns_b, if_b),
			 0);
	len = kernel_udp(nic, pl, sizeof(pl), r, &csum);
	sh("ip netns exec %s ethtool -K %s tx off >/dev/null 2>&1", ns_b, if_b);
	assert_int_equal(len, 14 + 20 + 8 + sizeof(pl));
	assert_memory_equal(r + 42, pl, sizeof(pl));
	assert_int_equal(csum, NIC_CSUM_PARTIAL);
	nic_close(nic);
}

static void test_packet_missing_interface_fails_with_one_line(void **state)
{
	char err[NIC_ERR_LEN] = "";

	(void)state;
	NEED_NETNS();
	assert_int_equal(enter_ns(ns_a), 0);
	errno = 0;
	assert_null(nic_open("packet:nosuch0", NULL, err));
	assert_int_equal(errno, ENODEV);
	leave_ns();
	assert_string_equal(err, "packet:nosuch0: no such interface");
}

static void test_packet_interface_down_fails_clearly(void **state)
{
	char err[NIC_ERR_LEN] = "", want[64];

	(void)state;
	NEED_NETNS();
	errno = 0;
	assert_null(open_in(ns_a, if_down, NULL, err));
	assert_int_equal(errno, ENETDOWN);
	snprintf(want, sizeof(want), "packet:%s: interface is down", if_down);
	assert_string_equal(err, want);
}

static void test_packet_fanout_two_queues_opens(void **state)
{
	struct nic_params p = { .nqueues = 2 };
	char err[NIC_ERR_LEN] = "";
	struct nic_link_info li;
	struct nic *nic;

	(void)state;
	NEED_NETNS();
	nic = open_in(ns_a, if_a, &p, err);
	if (!nic)
		print_error("%s\n", err);
	assert_non_null(nic);
	nic_link_info(nic, &li);
	assert_int_equal(li.nqueues, 2);
	assert_true(nic_fd(nic, 0) != nic_fd(nic, 1));
	assert_int_equal(nic_arm(nic, 1), 0);
	nic_close(nic);
}

/* ---- fanout steering: frames land where nic_flow_queue says ---- */

#define STEER_TCP 512u	/* raw TCP frames of random 4-tuples */
#define STEER_OTHER 8u	/* each: ARP, UDP, first fragments */
#define STEER_KERNEL 16 /* kernel SYNs from ns B */
#define STEER_MAGIC 0x54415351u

enum steer_kind { K_TCP, K_ARP, K_UDP, K_FRAG, K_SYN, K_NR };

struct steer_frame {
	uint8_t kind;
	uint32_t sip, dip; /* network order */
	uint16_t sport, dport;
	int want, got; /* queue; got -1 until seen */
	unsigned seen;
};

static uint32_t xs_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* IPv4 frame from B to A with @optw words of IP options (NOPs), protocol
 * TCP or UDP, ports from @f and a payload "TASQ" + idx. */
static uint32_t build_ip(uint8_t *b, const struct steer_frame *f, uint32_t idx,
			 unsigned optw)
{
	unsigned ihl = 5 + optw, l4 = f->kind == K_UDP ? 8 : 20;
	uint32_t len = 14 + ihl * 4 + l4 + 8, magic = htonl(STEER_MAGIC);
	uint8_t *ip = b + 14, *th = ip + ihl * 4;
	uint16_t c;

	memset(b, 0, len);
	memcpy(b, mac_a, 6);
	memcpy(b + 6, mac_b, 6);
	b[12] = 0x08;
	ip[0] = (uint8_t)(0x40 | ihl);
	ip[2] = (uint8_t)((len - 14) >> 8);
	ip[3] = (uint8_t)(len - 14);
	ip[6] = f->kind == K_FRAG ? 0x20 : 0x40; /* MF (offset 0) or DF */
	ip[8] = 64;
	ip[9] = f->kind == K_UDP ? 17 : 6;
	memcpy(ip + 12, &f->sip, 4);
	memcpy(ip + 16, &f->dip, 4);
	memset(ip + 20, 1, optw * 4); /* NOP options */
	c = (uint16_t)~csum_fold(ip, ihl * 4, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	th[0] = (uint8_t)(f->sport >> 8);
	th[1] = (uint8_t)f->sport;
	th[2] = (uint8_t)(f->dport >> 8);
	th[3] = (uint8_t)f->dport;
	if (f->kind == K_UDP) {
		th[5] = 16;
	} else {
		th[12] = 5 << 4;
		th[13] = 0x02; /* SYN */
		th[15] = 0xff;
	}
	memcpy(th + l4, &magic, 4);
	memcpy(th + l4 + 4, &idx, 4);
	return len;
}

/* ARP request from B whose target protocol address carries idx. */
static uint32_t build_arp(uint8_t *b, uint32_t idx)
{
	static const uint8_t hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	uint32_t tpa = htonl(0x0a630000u | idx), spa = inet_addr(IP_KERNEL);

	memset(b, 0, 60);
	memset(b, 0xff, 6);
	memcpy(b + 6, mac_b, 6);
	b[12] = 0x08;
	b[13] = 0x06;
	memcpy(b + 14, hdr, 8);
	memcpy(b + 22, mac_b, 6);
	memcpy(b + 28, &spa, 4);
	memcpy(b + 38, &tpa, 4);
	return 60;
}

/* Which steer_frame @p is, or -1. */
static int steer_classify(const uint8_t *p, uint32_t len,
			  const struct steer_frame *fr, unsigned nfr)
{
	uint32_t magic, idx, ihl, sip, dip;
	uint16_t sport, dport;
	const uint8_t *th;
	unsigned i;

	if (len >= 42 && p[12] == 0x08 && p[13] == 0x06 &&
	    !memcmp(p + 6, mac_b, 6)) {
		idx = (uint32_t)p[40] << 8 | p[41];
		return p[38] == 10 && p[39] == 0x63 && idx < nfr &&
				       fr[idx].kind == K_ARP
			       ? (int)idx
			       : -1;
	}
	if (len < 34 || p[12] != 0x08 || p[13] != 0)
		return -1;
	ihl = (p[14] & 0xfu) * 4;
	if (len < 14 + ihl + 16) /* UDP + magic */
		return -1;
	th = p + 14 + ihl;
	memcpy(&sip, p + 26, 4);
	memcpy(&dip, p + 30, 4);
	sport = (uint16_t)(th[0] << 8 | th[1]);
	dport = (uint16_t)(th[2] << 8 | th[3]);
	if (p[23] == 6 && (th[13] & 0x12) == 0x02) { /* a kernel SYN? */
		for (i = 0; i < nfr; i++)
			if (fr[i].kind == K_SYN && fr[i].sip == sip &&
			    fr[i].dip == dip && fr[i].sport == sport &&
			    fr[i].dport == dport)
				return (int)i;
	}
	th += p[23] == 17 ? 8 : 20;
	if (th + 8 > p + len)
		return -1;
	memcpy(&magic, th, 4);
	memcpy(&idx, th + 4, 4);
	if (magic != htonl(STEER_MAGIC) || idx >= nfr)
		return -1;
	return (int)idx;
}

/* Drains every queue of @nic for up to @ms, recording where frames went. */
static void steer_collect(struct nic *nic, unsigned nq, struct steer_frame *fr,
			  unsigned nfr, unsigned ms)
{
	uint64_t t0 = now_ns();
	unsigned i, left;

	do {
		for (unsigned q = 0; q < nq; q++) {
			struct nic_rx rx[64];
			unsigned k = nic_rx_burst(nic, q, rx, 64);

			for (i = 0; i < k; i++) {
				int j = steer_classify(rx[i].data, rx[i].len,
						       fr, nfr);

				if (j < 0)
					continue;
				if (fr[j].seen && fr[j].got != (int)q)
					fail_msg("frame %d seen on queues %d "
						 "and %u",
						 j, fr[j].got, q);
				fr[j].got = (int)q;
				fr[j].seen++;
			}
		}
		for (i = 0, left = 0; i < nfr; i++)
			left += !fr[i].seen;
	} while (left && now_ns() - t0 < ms * 1000000ull);
}

/* Kernel TCP connects from ns B to 198.18.0.1 (unanswered: their SYNs
 * reach A's queues). Fills fr[] with their tuples; fds in @fds. */
static void steer_kernel_syns(struct steer_frame *fr, int *fds, int n,
			      uint32_t local_ip)
{
	for (int i = 0; i < n; i++) {
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_addr.s_addr = local_ip };
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);

		to.sin_port = htons((uint16_t)(5000 + i * 37));
		assert_int_equal(enter_ns(ns_b), 0);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		leave_ns();
		assert_true(fds[i] >= 0);
		assert_true(connect(fds[i], (struct sockaddr *)&to,
				    sizeof(to)) < 0 &&
			    errno == EINPROGRESS);
		assert_int_equal(
			getsockname(fds[i], (struct sockaddr *)&me, &ml), 0);
		fr[i].kind = K_SYN;
		fr[i].sip = me.sin_addr.s_addr;
		fr[i].dip = local_ip;
		fr[i].sport = ntohs(me.sin_port);
		fr[i].dport = ntohs(to.sin_port);
	}
}

static void steer_round(struct nic *nic, unsigned nq, uint32_t seed)
{
	enum { NFR = STEER_TCP + 3 * STEER_OTHER + STEER_KERNEL };
	static struct steer_frame fr[NFR];
	static uint8_t bufs[32][128];
	char err[NIC_ERR_LEN] = "";
	unsigned per_q[NIC_MAX_QUEUES] = { 0 }, by_kind[K_NR] = { 0 };
	uint32_t local_ip = htonl(0xc6120001u);
	int fds[STEER_KERNEL];
	struct nic *peer;
	unsigned i, sent = 0;

	memset(fr, 0, sizeof(fr));
	steer_kernel_syns(fr, fds, STEER_KERNEL, local_ip);
	for (i = STEER_KERNEL; i < NFR; i++) {
		struct steer_frame *f = &fr[i];
		unsigned k = i - STEER_KERNEL;

		f->kind = k < STEER_TCP			    ? K_TCP
			  : k < STEER_TCP + STEER_OTHER	    ? K_ARP
			  : k < STEER_TCP + 2 * STEER_OTHER ? K_UDP
							    : K_FRAG;
		f->sip = htonl(xs_next(&seed));
		/* half to our address, half to random ones */
		f->dip = k & 1 ? local_ip : htonl(xs_next(&seed));
		f->sport = (uint16_t)xs_next(&seed);
		f->dport = (uint16_t)xs_next(&seed);
	}
	for (i = 0; i < NFR; i++) {
		fr[i].got = -1;
		fr[i].want = fr[i].kind == K_TCP || fr[i].kind == K_SYN
				     ? (int)nic_flow_queue(
					       nic, fr[i].dip, fr[i].dport,
					       fr[i].sip, fr[i].sport)
				     : 0;
		assert_true(fr[i].want >= 0 && fr[i].want < (int)nq);
	}
	peer = open_in(ns_b, if_b, NULL, err);
	if (!peer)
		print_error("%s\n", err);
	assert_non_null(peer);
	for (i = STEER_KERNEL; i < NFR;) {
		struct nic_tx tx[32];
		unsigned m = 0, done;

		while (i + m < NFR && m < 32) {
			struct steer_frame *f = &fr[i + m];
			uint32_t len;

			if (f->kind == K_ARP)
				len = build_arp(bufs[m], i + m);
			else /* every third frame carries IP options */
				len = build_ip(bufs[m], f, i + m,
					       (i + m) % 3 ? 0
							   : (i + m) % 7 + 1);
			memset(&tx[m], 0, sizeof(tx[m]));
			tx[m].hdr = bufs[m];
			tx[m].hdr_len = (uint16_t)len;
			tx[m].cookie = i + m;
			m++;
		}
		done = nic_tx_burst(peer, 0, tx, m);
		i += done;
		sent += done;
		steer_collect(nic, nq, fr, NFR, 0);
		{
			uint64_t c[64];

			while (nic_tx_completions(peer, 0, c, 64))
				;
		}
	}
	steer_collect(nic, nq, fr, NFR, 3000);
	for (i = 0; i < STEER_KERNEL; i++)
		close(fds[i]);
	nic_close(peer);
	assert_int_equal(sent, NFR - STEER_KERNEL);
	for (i = 0; i < NFR; i++) {
		if (!fr[i].seen)
			fail_msg("nq %u: frame %u (kind %d) never arrived", nq,
				 i, fr[i].kind);
		if (fr[i].got != fr[i].want)
			fail_msg("nq %u: frame %u (kind %d) on queue %d, "
				 "flow_queue says %d",
				 nq, i, fr[i].kind, fr[i].got, fr[i].want);
		per_q[fr[i].got]++;
		by_kind[fr[i].kind]++;
	}
	print_message("nq %u:", nq);
	for (unsigned q = 0; q < nq; q++) {
		print_message(" q%u=%u", q, per_q[q]);
		/* 528 flows over at most 4 queues: each gets a fair share */
		assert_true(per_q[q] >= STEER_TCP / nq / 2);
	}
	print_message(" (tcp %u, kernel syn %u, arp/udp/frag %u/%u/%u)\n",
		      by_kind[K_TCP], by_kind[K_SYN], by_kind[K_ARP],
		      by_kind[K_UDP], by_kind[K_FRAG]);
}

static void test_packet_fanout_flows_land_on_flow_queue(void **state)
{
	static const unsigned nqs[] = { 2, 4 };
	char err[NIC_ERR_LEN] = "";

	(void)state;
	NEED_NETNS();
	for (unsigned t = 0; t < 2; t++) {
		struct nic_params p = { .nqueues = nqs[t] };
		struct nic *nic = open_in(ns_a, if_a, &p, err);

		if (!nic)
			print_error("%s\n", err);
		assert_non_null(nic);
		steer_round(nic, nqs[t], 0x9e3779b9u + t);
		nic_close(nic);
	}
}

/* A link flap unlinks and relinks every fanout member; the kernel keeps
 * them in creation order, so the mapping must survive. */
static void test_packet_fanout_mapping_survives_link_flap(void **state)
{
	struct nic_params p = { .nqueues = 4 };
	char err[NIC_ERR_LEN] = "";
	struct nic *nic;

	(void)state;
	NEED_NETNS();
	nic = open_in(ns_a, if_a, &p, err);
	if (!nic)
		print_error("%s\n", err);
	assert_non_null(nic);
	assert_int_equal(sh("ip -n %s link set %s down", ns_a, if_a), 0);
	assert_int_equal(sh("ip -n %s link set %s up", ns_a, if_a), 0);
	usleep(200000); /* veth carrier back */
	steer_round(nic, 4, 12345);
	nic_close(nic);
}

static void test_packet_flow_queue_single_queue_is_zero(void **state)
{
	char err[NIC_ERR_LEN] = "";
	struct nic *nic;
	uint32_t s = 1;

	(void)state;
	NEED_NETNS();
	nic = open_in(ns_a, if_a, NULL, err);
	assert_non_null(nic);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(
			nic_flow_queue(nic, xs_next(&s), (uint16_t)xs_next(&s),
				       xs_next(&s), (uint16_t)xs_next(&s)),
			0);
	nic_close(nic);
}

/* 200 frames into a 16-slot RX ring nobody reads: the kernel drops what
 * does not fit, and rx_dropped counts every one of them (got + dropped). */
static void test_packet_rx_ring_overflow_is_counted(void **state)
{
	static uint8_t buf[FRAME_MAX];
	const struct nic_params small = { .rx_ring = 16 };
	char err[NIC_ERR_LEN] = "";
	struct nic *a, *b;
	uint64_t dropped = 0, again = 0, c[64];
	uint32_t sent = 0, got = 0;
	uint64_t t0;

	(void)state;
	NEED_NETNS();
	a = open_in(ns_a, if_a, &small, err);
	assert_non_null(a);
	b = open_in(ns_b, if_b, NULL, err);
	assert_non_null(b);
	assert_true(nic_rx_dropped(a, &dropped));
	t0 = now_ns();
	while (sent < 200 && now_ns() - t0 < 5000000000ull) {
		struct nic_tx tx = {
			.hdr = buf, .hdr_len = 14, .nseg = 1, .cookie = sent
		};

		frame_fill(buf, sent, 1);
		tx.seg[0].addr = buf + 14;
		tx.seg[0].len = frame_len(sent, 1) - 14;
		sent += nic_tx_burst(b, 0, &tx, 1);
		while (nic_tx_completions(b, 0, c, 64) > 0)
			;
	}
	assert_int_equal(sent, 200);
	usleep(100000);
	for (;;) {
		struct nic_rx rx[64];
		unsigned k = nic_rx_burst(a, 0, rx, 64);

		if (!k)
			break;
		for (unsigned i = 0; i < k; i++)
			if (rx[i].len >= 25 &&
			    rx[i].data[12] == ETH_TEST >> 8 &&
			    rx[i].data[13] == (ETH_TEST & 0xff))
				got++;
	}
	assert_true(nic_rx_dropped(a, &dropped));
	assert_true(nic_rx_dropped(a, &again)); /* summed, not reset */
	print_message("rx ring of 16: %u of 200 frames read, %llu dropped\n",
		      got, (unsigned long long)dropped);
	assert_true(got <= 16);
	assert_true(got + dropped >= 200);
	assert_true(again >= dropped);
	nic_close(a);
	nic_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_packet_veth_100k_frames_each_way_byte_exact),
		cmocka_unit_test(
			test_packet_icmp_echo_to_kernel_gets_intact_reply),
		cmocka_unit_test(test_packet_kernel_udp_arrives_byte_exact),
		cmocka_unit_test(test_packet_kernel_tx_csum_on_reports_partial),
		cmocka_unit_test(
			test_packet_missing_interface_fails_with_one_line),
		cmocka_unit_test(test_packet_interface_down_fails_clearly),
		cmocka_unit_test(test_packet_fanout_two_queues_opens),
		cmocka_unit_test(test_packet_fanout_flows_land_on_flow_queue),
		cmocka_unit_test(test_packet_fanout_mapping_survives_link_flap),
		cmocka_unit_test(test_packet_flow_queue_single_queue_is_zero),
		cmocka_unit_test(test_packet_rx_ring_overflow_is_counted),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
