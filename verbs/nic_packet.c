/* nic_packet.c - "packet:IFNAME": AF_PACKET TPACKET_V2 mmap RX/TX rings
 *
 * One socket with an RX and a TX ring per queue, bound to ETH_P_ALL on the
 * interface; several queues share a PACKET_FANOUT_CBPF group whose classic
 * BPF program picks the queue from the IPv4/TCP 4-tuple with the same
 * function flow_queue computes (see "Fanout" below). PACKET_VNET_HDR is turned on where the kernel takes
 * it and reports partial checksums (NEEDS_CSUM -> NIC_CSUM_PARTIAL),
 * verified ones (DATA_VALID -> NIC_CSUM_OK) and gso_size of super-frames;
 * without it tp_status CSUMNOTREADY / CSUM_VALID say the same.
 * PACKET_QDISC_BYPASS and PACKET_IGNORE_OUTGOING are used where they exist;
 * our own outgoing frames are also filtered on sll_pkttype.
 *
 * TX copies header and payload into a ring slot and kicks the kernel with
 * one send() per burst; a copied frame is complete at once, so its cookie is
 * reported by the next tx_completions. A frame longer than mtu + 14 is
 * never handed to the kernel (that would be EMSGSIZE): it is counted,
 * dropped and still completed.
 *
 * Steering: AF_PACKET sees every frame on the interface, so add_steer only
 * records nothing and returns 0; the stack filters in software. Memory
 * registration is a no-op (TX always copies).
 *
 * Fanout: the kernel runs the group's program on every received frame and
 * delivers it to member (return value % members); members are numbered in
 * the order they joined, and queue q joins q-th, so the return value is
 * the queue. The program returns pkt_flow_hash(saddr, daddr, sport << 16 |
 * dport) % nqueues for IPv4/TCP frames that are not fragments, and 0 for
 * everything else (ARP, IPv6, fragments, frames too short to hold the
 * headers). Loads are relative to the network header (SKF_NET_OFF), which
 * the kernel has set before the packet taps run, so the program does not
 * depend on where skb->data points; the TCP header is found through the
 * IHL (BPF_MSH), so IP options are handled.
 *
 * Known gaps: RX slots fit mtu + 14 bytes, so a GSO super-frame from a
 * local peer with TSO/GSO on is longer than its slot and is dropped and
 * counted (turn tso/gso off on the peer); checksums are never offloaded
 * (offloads 0); the kernel still sees every frame too (see
 * shared/notes/verbs.md 5.1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "verbs/nic.h"

/* 8 MiB of 2 KiB slots: room for a burst of replies to thousands of
 * connections while the core is off the CPU */
#define PKT_DEFAULT_RX_FRAMES 4096u
#define PKT_DEFAULT_TX_FRAMES 512u
#define PKT_MAX_FRAMES 65536u
#define PKT_PAGE 4096u
/* offset of frame data in a TX slot (kernel: tp_hdrlen - sockaddr_ll) */
#define PKT_TX_DATA_OFF TPACKET_ALIGN(sizeof(struct tpacket2_hdr))
#define PKT_SLL_OFF TPACKET_ALIGN(sizeof(struct tpacket2_hdr))

struct pkt_queue {
	int fd;
	uint8_t *map;
	size_t map_len;
	uint8_t *rx_ring, *tx_ring;
	uint32_t rx_frames, tx_frames, frame_size;
	uint32_t rx_idx;     /* next RX slot to look at (free-running) */
	uint32_t rx_pending; /* slots before rx_idx still handed out */
	uint32_t tx_idx;     /* next TX slot to fill (free-running) */
	uint64_t *comp;	     /* cookies of copied frames, comp_cap entries */
	uint32_t comp_head, comp_tail, comp_cap;
	uint64_t tx_oversize, tx_bad_format, tx_kick_err, rx_trunc;
	uint64_t rx_drops; /* kernel: RX ring full (PACKET_STATISTICS) */
};

struct pkt_nic {
	struct nic nic;
	char spec[IFNAMSIZ + 8];
	int ifindex;
	uint8_t mac[6];
	uint32_t mtu;
	unsigned nqueues;
	bool vnet;
	struct pkt_queue q[NIC_MAX_QUEUES];
};

static struct pkt_nic *to_pkt(struct nic *nic)
{
	return container_of(nic, struct pkt_nic, nic);
}

/* ---- fanout: one function, in C and in classic BPF ---- */

#define PKT_MIX_MUL 0x045d9f3bu /* odd multiplier of the finalizer */

/* The queue hash of a received IPv4/TCP frame, all inputs in host order
 * as BPF loads them: @ports is (src port << 16 | dst port). XOR folds the
 * tuple, then a multiply-xorshift finalizer spreads every input bit into
 * the low bits the modulo keeps. Only operations classic BPF has (32-bit
 * xor, shift, multiply, modulo); pkt_fanout_prog computes the same. */
static uint32_t pkt_flow_hash(uint32_t saddr, uint32_t daddr, uint32_t ports)
{
	uint32_t h = saddr ^ daddr ^ ports;

	h ^= h >> 16;
	h *= PKT_MIX_MUL;
	h ^= h >> 16;
	return h;
}

#define PKT_NET(k) ((uint32_t)(SKF_NET_OFF + (k))) /* network-header load */
#define PKT_PROG_LEN 24u
#define PKT_RET0(i) ((uint8_t)(PKT_PROG_LEN - 1u - ((i) + 1u))) /* jump */

/* Fills @f with the fanout program for @nq queues (nq > 1). Every load
 * that falls outside the frame ends the program with 0 (queue 0). */
static void pkt_fanout_prog(struct sock_filter f[PKT_PROG_LEN], unsigned nq)
{
	const struct sock_filter prog[PKT_PROG_LEN] = {
		/* 0: A = ethertype (host order); not IPv4 -> queue 0 */
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS,
			 (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 0, PKT_RET0(1)),
		/* 2: IP protocol; not TCP -> queue 0 */
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, PKT_NET(9)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, PKT_RET0(3)),
		/* 4: MF or a fragment offset: no (or no reliable) ports */
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, PKT_NET(6)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, PKT_RET0(5), 0),
		/* 6: X = IP header length, 4 * (ihl & 0xf) */
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, PKT_NET(0)),
		/* 7: A = sport << 16 | dport (first word of the TCP header) */
		BPF_STMT(BPF_LD | BPF_W | BPF_IND, PKT_NET(0)),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* 9: A = saddr ^ daddr ^ ports */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, PKT_NET(12)),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, PKT_NET(16)),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		/* 14: h ^= h >> 16 */
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		/* 17: h *= PKT_MIX_MUL; h ^= h >> 16 */
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, PKT_MIX_MUL),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		/* 21: the queue */
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 0 /* nq, below */),
		BPF_STMT(BPF_RET | BPF_A, 0),
		/* 23: queue 0 */
		BPF_STMT(BPF_RET | BPF_K, 0),
	};

	memcpy(f, prog, sizeof(prog));
	f[21].k = nq;
}

/* The kernel and we hand slots to each other through tp_status. */
static uint32_t pkt_status_load(struct tpacket2_hdr *h)
{
	/* acquire: slot contents after seeing the kernel's status */
	return atomic_load_explicit((_Atomic uint32_t *)&h->tp_status,
				    memory_order_acquire);
}

static void pkt_status_store(struct tpacket2_hdr *h, uint32_t st)
{
	/* release: our slot accesses before giving it to the kernel */
	atomic_store_explicit((_Atomic uint32_t *)&h->tp_status, st,
			      memory_order_release);
}

static struct tpacket2_hdr *pkt_rx_slot(struct pkt_queue *pq, uint32_t i)
{
	return (struct tpacket2_hdr *)(pq->rx_ring +
				       (size_t)(i % pq->rx_frames) *
					       pq->frame_size);
}

static struct tpacket2_hdr *pkt_tx_slot(struct pkt_queue *pq, uint32_t i)
{
	return (struct tpacket2_hdr *)(pq->tx_ring +
				       (size_t)(i % pq->tx_frames) *
					       pq->frame_size);
}

static unsigned pkt_rx_burst(struct nic *nic, unsigned q, struct nic_rx *rx,
			     unsigned n)
{
	struct pkt_nic *pn = to_pkt(nic);
	struct pkt_queue *pq = &pn->q[q];
	unsigned out = 0;
	uint32_t i;

	for (i = pq->rx_idx - pq->rx_pending; i != pq->rx_idx; i++)
		pkt_status_store(pkt_rx_slot(pq, i), TP_STATUS_KERNEL);
	pq->rx_pending = 0;
	while (out < n && pq->rx_pending < pq->rx_frames) {
		struct tpacket2_hdr *h = pkt_rx_slot(pq, pq->rx_idx);
		uint32_t st = pkt_status_load(h);
		struct sockaddr_ll *sll;
		uint8_t *data;

		if (!(st & TP_STATUS_USER))
			break;
		pq->rx_idx++;
		pq->rx_pending++;
		sll = (struct sockaddr_ll *)((uint8_t *)h + PKT_SLL_OFF);
		if (sll->sll_pkttype == PACKET_OUTGOING)
			continue;
		if (h->tp_snaplen < h->tp_len ||
		    h->tp_mac + h->tp_snaplen > pq->frame_size) {
			pq->rx_trunc++;
			continue;
		}
		data = (uint8_t *)h + h->tp_mac;
		rx[out] = (struct nic_rx){ .data = data,
					   .len = h->tp_snaplen,
					   .csum = NIC_CSUM_UNKNOWN,
					   .place_id = -1 };
		if (st & TP_STATUS_CSUMNOTREADY)
			rx[out].csum = NIC_CSUM_PARTIAL;
		else if (st & TP_STATUS_CSUM_VALID)
			rx[out].csum = NIC_CSUM_OK;
		if (pn->vnet && h->tp_mac >= sizeof(struct virtio_net_hdr)) {
			struct virtio_net_hdr vh;

			memcpy(&vh, data - sizeof(vh), sizeof(vh));
			if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
				rx[out].csum = NIC_CSUM_PARTIAL;
			else if (vh.flags & VIRTIO_NET_HDR_F_DATA_VALID)
				rx[out].csum = NIC_CSUM_OK;
			if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE)
				rx[out].gso_size = le16toh(vh.gso_size);
		}
		out++;
	}
	return out;
}

static unsigned pkt_tx_burst(struct nic *nic, unsigned q,
			     const struct nic_tx *tx, unsigned n)
{
	struct pkt_nic *pn = to_pkt(nic);
	struct pkt_queue *pq = &pn->q[q];
	size_t vlen = pn->vnet ? sizeof(struct virtio_net_hdr) : 0;
	unsigned i, queued = 0;
	bool full = false;

	for (i = 0; i < n; i++) {
		const struct nic_tx *t = &tx[i];
		struct tpacket2_hdr *h;
		size_t total = t->hdr_len;
		uint32_t st;
		uint8_t *p;
		unsigned j;

		if (pq->comp_head - pq->comp_tail == pq->comp_cap)
			break;
		if (t->nseg > NIC_TX_MAX_SEG || t->hdr_len > NIC_HDR_MAX)
			total = SIZE_MAX;
		else
			for (j = 0; j < t->nseg; j++)
				total += t->seg[j].len;
		if (total < 14 || total > pn->mtu + 14u) {
			pq->tx_oversize++; /* never EMSGSIZE: drop, complete */
			pq->comp[pq->comp_head++ % pq->comp_cap] = t->cookie;
			continue;
		}
		h = pkt_tx_slot(pq, pq->tx_idx);
		st = pkt_status_load(h);
		if (st & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING)) {
			full = true;
			break;
		}
		if (st & TP_STATUS_WRONG_FORMAT)
			pq->tx_bad_format++;
		p = (uint8_t *)h + PKT_TX_DATA_OFF;
		if (vlen) {
			memset(p, 0, vlen); /* no offload, no GSO */
			p += vlen;
		}
		memcpy(p, t->hdr, t->hdr_len);
		p += t->hdr_len;
		for (j = 0; j < t->nseg; j++) {
			memcpy(p, t->seg[j].addr, t->seg[j].len);
			p += t->seg[j].len;
		}
		h->tp_len = (uint32_t)(total + vlen);
		pkt_status_store(h, TP_STATUS_SEND_REQUEST);
		pq->tx_idx++;
		queued++;
		pq->comp[pq->comp_head++ % pq->comp_cap] = t->cookie;
	}
	if (queued || full) {
		if (send(pq->fd, NULL, 0, MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
			pq->tx_kick_err++;
	}
	return i;
}

static unsigned pkt_tx_completions(struct nic *nic, unsigned q,
				   uint64_t *cookies, unsigned n)
{
	struct pkt_queue *pq = &to_pkt(nic)->q[q];
	unsigned k = 0;

	while (k < n && pq->comp_tail != pq->comp_head)
		cookies[k++] = pq->comp[pq->comp_tail++ % pq->comp_cap];
	return k;
}

static int pkt_reg_mem(struct nic *nic, void *addr, size_t len, uint32_t *key)
{
	(void)nic;
	(void)addr;
	(void)len;
	*key = 1; /* TX copies into the ring: nothing to register */
	return 0;
}

static int pkt_dereg_mem(struct nic *nic, uint32_t key)
{
	(void)nic;
	(void)key;
	return 0;
}

static int pkt_add_steer(struct nic *nic, const struct nic_steer *rule)
{
	(void)nic;
	(void)rule;
	return 0; /* AF_PACKET sees every frame; the stack filters */
}

static void pkt_link_info(struct nic *nic, struct nic_link_info *info)
{
	struct pkt_nic *pn = to_pkt(nic);

	memset(info, 0, sizeof(*info));
	memcpy(info->mac, pn->mac, 6);
	info->mtu = (uint16_t)pn->mtu;
	info->nqueues = (uint16_t)pn->nqueues;
	info->offloads = 0;
	info->max_tso = 0;
	info->max_segs = NIC_TX_MAX_SEG;
	info->numa_node = -1;
}

static int pkt_arm(struct nic *nic, unsigned q)
{
	struct pkt_queue *pq = &to_pkt(nic)->q[q];

	/* poll(POLLIN) on the socket wakes when a slot turns TP_STATUS_USER;
	 * nothing to enable, only check that nothing is waiting already */
	if (pkt_status_load(pkt_rx_slot(pq, pq->rx_idx)) & TP_STATUS_USER)
		return -EAGAIN;
	return 0;
}

static int pkt_fd(struct nic *nic, unsigned q)
{
	return to_pkt(nic)->q[q].fd;
}

static unsigned pkt_flow_queue(struct nic *nic, uint32_t local_ip,
			       uint16_t local_port, uint32_t remote_ip,
			       uint16_t remote_port)
{
	struct pkt_nic *pn = to_pkt(nic);

	if (pn->nqueues <= 1)
		return 0;
	/* the received segment: source remote, destination local */
	return pkt_flow_hash(ntohl(remote_ip), ntohl(local_ip),
			     (uint32_t)remote_port << 16 | local_port) %
	       pn->nqueues;
}

static void pkt_queue_close(struct pkt_queue *pq)
{
	if (pq->map)
		munmap(pq->map, pq->map_len);
	if (pq->fd >= 0)
		close(pq->fd);
	free(pq->comp);
	pq->map = NULL;
	pq->fd = -1;
	pq->comp = NULL;
}

/* The kernel counts frames it found no free RX slot for; reading the
 * counters resets them, so they are summed here. */
static int pkt_rx_dropped(struct nic *nic, uint64_t *n)
{
	struct pkt_nic *pn = to_pkt(nic);
	uint64_t sum = 0;

	for (unsigned q = 0; q < pn->nqueues; q++) {
		struct pkt_queue *pq = &pn->q[q];
		struct tpacket_stats st;
		socklen_t len = sizeof(st);

		if (pq->fd >= 0 &&
		    getsockopt(pq->fd, SOL_PACKET, PACKET_STATISTICS, &st,
			       &len) == 0)
			pq->rx_drops += st.tp_drops;
		sum += pq->rx_drops;
	}
	*n = sum;
	return 0;
}

static void pkt_close(struct nic *nic)
{
	struct pkt_nic *pn = to_pkt(nic);
	unsigned q;

	for (q = 0; q < pn->nqueues; q++)
		pkt_queue_close(&pn->q[q]);
	free(pn);
}

static const struct nic_ops pkt_ops = {
	.rx_burst = pkt_rx_burst,
	.tx_burst = pkt_tx_burst,
	.tx_completions = pkt_tx_completions,
	.reg_mem = pkt_reg_mem,
	.dereg_mem = pkt_dereg_mem,
	.add_steer = pkt_add_steer,
	.link_info = pkt_link_info,
	.arm = pkt_arm,
	.fd = pkt_fd,
	.flow_queue = pkt_flow_queue,
	.place_open = NULL, /* no receive placement */
	.place_post = NULL,
	.place_close = NULL,
	.rx_dropped = pkt_rx_dropped,
	.close = pkt_close,
};

static uint32_t pkt_pow2(uint32_t x)
{
	uint32_t v = 1;

	while (v < x)
		v <<= 1;
	return v;
}

static int pkt_setopt(int fd, int opt, int val)
{
	return setsockopt(fd, SOL_PACKET, opt, &val, sizeof(val));
}

/* Opens queue @qi: socket, options, rings, bind, fanout. */
static int pkt_queue_open(struct pkt_nic *pn, unsigned qi,
			  const struct nic_params *p, int fanout_id, char *err)
{
	struct pkt_queue *pq = &pn->q[qi];
	struct tpacket_req req;
	struct sockaddr_ll sll;
	uint32_t need, block;
	int rc;

	pq->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (pq->fd < 0) {
		rc = -errno;
		if (errno == EPERM || errno == EACCES)
			snprintf(err, NIC_ERR_LEN,
				 "%s: needs CAP_NET_RAW (run as root)",
				 pn->spec);
		else
			snprintf(err, NIC_ERR_LEN, "%s: socket: %s", pn->spec,
				 strerror(errno));
		return rc;
	}
	if (pkt_setopt(pq->fd, PACKET_VERSION, TPACKET_V2) < 0) {
		rc = -errno;
		snprintf(err, NIC_ERR_LEN, "%s: TPACKET_V2: %s", pn->spec,
			 strerror(errno));
		return rc;
	}
	if (qi == 0)
		pn->vnet = pkt_setopt(pq->fd, PACKET_VNET_HDR, 1) == 0;
	else if (pn->vnet && pkt_setopt(pq->fd, PACKET_VNET_HDR, 1) < 0)
		goto err_opt; /* queue 0 took it: all queues must agree */
	(void)pkt_setopt(pq->fd, PACKET_LOSS, 1); /* skip bad TX slots */
	(void)pkt_setopt(pq->fd, PACKET_QDISC_BYPASS, 1);
	(void)pkt_setopt(pq->fd, PACKET_IGNORE_OUTGOING, 1);

	/* slot: tpacket2_hdr + sockaddr_ll + 16 + vnet header + frame */
	need = TPACKET2_HDRLEN + 16 + sizeof(struct virtio_net_hdr) + 16 +
	       pn->mtu + 14;
	pq->frame_size = pkt_pow2(need);
	block = pq->frame_size > PKT_PAGE ? pq->frame_size : PKT_PAGE;
	pq->rx_frames =
		pkt_pow2(p->rx_ring ? p->rx_ring : PKT_DEFAULT_RX_FRAMES);
	pq->tx_frames =
		pkt_pow2(p->tx_ring ? p->tx_ring : PKT_DEFAULT_TX_FRAMES);
	if (pq->rx_frames > PKT_MAX_FRAMES)
		pq->rx_frames = PKT_MAX_FRAMES;
	if (pq->tx_frames > PKT_MAX_FRAMES)
		pq->tx_frames = PKT_MAX_FRAMES;
	if (pq->rx_frames * pq->frame_size < block)
		pq->rx_frames = block / pq->frame_size;
	if (pq->tx_frames * pq->frame_size < block)
		pq->tx_frames = block / pq->frame_size;

	memset(&req, 0, sizeof(req));
	req.tp_block_size = block;
	req.tp_frame_size = pq->frame_size;
	req.tp_frame_nr = pq->rx_frames;
	req.tp_block_nr = pq->rx_frames * pq->frame_size / block;
	if (setsockopt(pq->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) <
	    0)
		goto err_opt;
	req.tp_frame_nr = pq->tx_frames;
	req.tp_block_nr = pq->tx_frames * pq->frame_size / block;
	if (setsockopt(pq->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) <
	    0)
		goto err_opt;
	pq->map_len = (size_t)(pq->rx_frames + pq->tx_frames) * pq->frame_size;
	pq->map = mmap(NULL, pq->map_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_LOCKED, pq->fd, 0);
	if (pq->map == MAP_FAILED)
		pq->map = mmap(NULL, pq->map_len, PROT_READ | PROT_WRITE,
			       MAP_SHARED, pq->fd, 0);
	if (pq->map == MAP_FAILED) {
		pq->map = NULL;
		rc = -errno;
		snprintf(err, NIC_ERR_LEN, "%s: mmap rings: %s", pn->spec,
			 strerror(errno));
		return rc;
	}
	pq->rx_ring = pq->map;
	pq->tx_ring = pq->map + (size_t)pq->rx_frames * pq->frame_size;
	pq->comp_cap = 2 * pq->tx_frames;
	pq->comp = calloc(pq->comp_cap, sizeof(*pq->comp));
	if (!pq->comp) {
		snprintf(err, NIC_ERR_LEN, "%s: out of memory", pn->spec);
		return -ENOMEM;
	}

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = pn->ifindex;
	if (bind(pq->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		rc = -errno;
		snprintf(err, NIC_ERR_LEN, "%s: bind: %s", pn->spec,
			 strerror(errno));
		return rc;
	}
	if (pn->nqueues > 1 &&
	    pkt_setopt(pq->fd, PACKET_FANOUT,
		       (fanout_id & 0xffff) | (PACKET_FANOUT_CBPF << 16)) < 0) {
		rc = -errno;
		snprintf(err, NIC_ERR_LEN, "%s: PACKET_FANOUT: %s", pn->spec,
			 strerror(errno));
		return rc;
	}
	if (pn->nqueues > 1 && qi == 0) {
		/* The program belongs to the group; until it is set the
		 * kernel delivers everything to member 0. */
		struct sock_filter prog[PKT_PROG_LEN];
		struct sock_fprog fprog = { .len = PKT_PROG_LEN,
					    .filter = prog };

		pkt_fanout_prog(prog, pn->nqueues);
		if (setsockopt(pq->fd, SOL_PACKET, PACKET_FANOUT_DATA, &fprog,
			       sizeof(fprog)) < 0) {
			rc = -errno;
			snprintf(err, NIC_ERR_LEN,
				 "%s: PACKET_FANOUT_DATA (cBPF): %s", pn->spec,
				 strerror(errno));
			return rc;
		}
	}
	return 0;
err_opt:
	rc = -errno;
	snprintf(err, NIC_ERR_LEN, "%s: packet socket option: %s", pn->spec,
		 strerror(errno));
	return rc;
}

/* Interface checks through an ioctl socket (needs no privilege). */
static int pkt_query_if(struct pkt_nic *pn, const char *ifname,
			const struct nic_params *p, char *err)
{
	struct ifreq ifr;
	int fd, rc = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, NIC_ERR_LEN, "%s: socket: %s", pn->spec,
			 strerror(errno));
		return rc;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto err_ioctl;
	if (!(ifr.ifr_flags & IFF_UP)) {
		snprintf(err, NIC_ERR_LEN, "%s: interface is down", pn->spec);
		rc = -ENETDOWN;
		goto out;
	}
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		goto err_ioctl;
	if (ifr.ifr_hwaddr.sa_family != 1 /* ARPHRD_ETHER */) {
		snprintf(err, NIC_ERR_LEN, "%s: not an Ethernet interface",
			 pn->spec);
		rc = -EINVAL;
		goto out;
	}
	memcpy(pn->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		goto err_ioctl;
	pn->mtu = (uint32_t)ifr.ifr_mtu;
	if (p->mtu && p->mtu > pn->mtu) {
		snprintf(err, NIC_ERR_LEN,
			 "%s: mtu %u is larger than the interface's %u",
			 pn->spec, p->mtu, pn->mtu);
		rc = -EINVAL;
		goto out;
	}
	if (p->mtu)
		pn->mtu = p->mtu;
	if (pn->mtu < 68 || pn->mtu > 65535 - 14) {
		snprintf(err, NIC_ERR_LEN, "%s: unusable mtu %u", pn->spec,
			 pn->mtu);
		rc = -EINVAL;
	}
	goto out;
err_ioctl:
	rc = -errno;
	snprintf(err, NIC_ERR_LEN, "%s: %s", pn->spec, strerror(errno));
out:
	close(fd);
	return rc;
}

/**
 * nic_packet_open - open an interface through AF_PACKET mmap rings
 * @ifname: the interface, e.g. "veth0" (must be up)
 * @p: nqueues (PACKET_FANOUT_CBPF group when > 1), mtu (at most the
 *     interface's), rx_ring/tx_ring (slots per ring, default 1024/512)
 * @err: one line on failure ("packet:X: no such interface", "...: interface
 *       is down", "...: needs CAP_NET_RAW (run as root)")
 *
 * Return: the nic, or NULL with errno set.
 */
struct nic *nic_packet_open(const char *ifname, const struct nic_params *p,
			    char *err)
{
	static const struct nic_params defaults;
	static _Atomic unsigned fanout_seq;
	struct pkt_nic *pn;
	unsigned q;
	int rc, fanout_id;

	if (!p)
		p = &defaults;
	pn = calloc(1, sizeof(*pn));
	if (!pn) {
		snprintf(err, NIC_ERR_LEN, "packet:%s: out of memory", ifname);
		errno = ENOMEM;
		return NULL;
	}
	for (q = 0; q < NIC_MAX_QUEUES; q++)
		pn->q[q].fd = -1;
	snprintf(pn->spec, sizeof(pn->spec), "packet:%.*s", IFNAMSIZ - 1,
		 ifname);
	if (strlen(ifname) >= IFNAMSIZ || !*ifname) {
		snprintf(err, NIC_ERR_LEN, "packet:%.64s: bad interface name",
			 ifname);
		rc = -EINVAL;
		goto err_free;
	}
	pn->nqueues = p->nqueues ? p->nqueues : 1;
	if (pn->nqueues > NIC_MAX_QUEUES) {
		snprintf(err, NIC_ERR_LEN, "%s: %u queues, at most %u",
			 pn->spec, pn->nqueues, NIC_MAX_QUEUES);
		rc = -EINVAL;
		goto err_free;
	}
	pn->ifindex = (int)if_nametoindex(ifname);
	if (!pn->ifindex) {
		snprintf(err, NIC_ERR_LEN, "%s: no such interface", pn->spec);
		rc = -ENODEV;
		goto err_free;
	}
	rc = pkt_query_if(pn, ifname, p, err);
	if (rc < 0)
		goto err_free;
	fanout_id = (int)((getpid() * 31u + (unsigned)pn->ifindex * 7u +
			   atomic_fetch_add(&fanout_seq, 1)) &
			  0xffff);
	for (q = 0; q < pn->nqueues; q++) {
		rc = pkt_queue_open(pn, q, p, fanout_id, err);
		if (rc < 0)
			goto err_close;
	}
	pn->nic.ops = &pkt_ops;
	pn->nic.name = pn->spec;
	return &pn->nic;
err_close:
	for (q = 0; q < pn->nqueues; q++)
		pkt_queue_close(&pn->q[q]);
err_free:
	free(pn);
	errno = -rc;
	return NULL;
}
