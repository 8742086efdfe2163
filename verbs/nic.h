/* nic.h - the NIC layer: one small, batch-oriented interface, many backends
 *
 * Backends: "ibv:DEV" (rdma-core raw packet QPs), "packet:IFNAME" (AF_PACKET
 * mmap rings, the embedded default), "wire:NAME" (shared-memory cable between
 * two stacks). "fault" and "link" are decorators that wrap any struct nic.
 *
 * Error convention (STYLE.md rule 7): constructors return NULL with errno
 * set and one human-readable line in the caller's error buffer; burst calls
 * return a count and report no errors; everything else returns 0 or a
 * negative errno.
 *
 * Threading: queue q is used by one thread at a time (its fast-path core);
 * different queues may be used concurrently. reg_mem/dereg_mem/add_steer and
 * link_info are control-thread calls.
 */
#ifndef TAS_VERBS_NIC_H
#define TAS_VERBS_NIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NIC_MAX_QUEUES 64
#define NIC_TX_MAX_SEG 4 /* payload segments per frame (ring wrap + more) */
#define NIC_HDR_MAX 128	 /* largest header a TX descriptor may carry */
#define NIC_ERR_LEN 256	 /* size of the error buffers below */

/* Offload bits in nic_link_info.offloads. */
enum {
	NIC_OFF_TX_CSUM = 1u << 0, /* fills IPv4 and TCP/UDP checksums */
	NIC_OFF_RX_CSUM = 1u << 1, /* reports NIC_CSUM_OK / NIC_CSUM_BAD */
	NIC_OFF_TSO = 1u << 2,	   /* segments TCP frames larger than MTU */
};

struct nic_link_info {
	uint8_t mac[6];
	uint16_t mtu;	   /* IP MTU, e.g. 1500: largest frame is mtu + 14 */
	uint16_t nqueues;  /* RX/TX queue pairs opened */
	uint32_t offloads; /* NIC_OFF_* */
	uint32_t max_tso;  /* largest TSO payload when NIC_OFF_TSO */
	uint16_t
		max_segs; /* payload segments per TX frame, <= NIC_TX_MAX_SEG */
	int numa_node;	  /* -1 when unknown */
};

/* What the backend knows about a received frame's checksums. */
enum nic_csum {
	NIC_CSUM_UNKNOWN = 0, /* verify in software */
	NIC_CSUM_OK,	      /* IPv4 and L4 checksums verified by the NIC */
	NIC_CSUM_BAD,	      /* NIC says a checksum is wrong */
	NIC_CSUM_PARTIAL,     /* local sender left it to offload (veth): the
			       * content is trustworthy, the field is not */
};

/* One received frame. data stays valid until the next rx_burst on the same
 * queue (or close). A frame longer than the MTU is a GSO super-frame from a
 * local kernel peer; gso_size then says its segment size.
 *
 * A frame from a placement queue (see place_open) was scattered: its first
 * min(len, hdr_len) bytes are at data (a header slot of the backend, valid
 * like data above) and the remaining len - hdr_len bytes, if any, at
 * payload, the buffer place_post gave with place_cookie (len 0: the
 * buffer came back without data, e.g. a frame too long for it). Header
 * slots of a placement queue end with its place_close. For every other
 * frame payload is NULL, hdr_len and place_cookie are 0, place_id -1. */
struct nic_rx {
	uint8_t *data;
	uint32_t len;
	uint16_t gso_size; /* 0 unless a super-frame */
	uint8_t csum;	   /* enum nic_csum */
	uint8_t pad;
	uint8_t *payload;
	uint32_t hdr_len;
	int32_t place_id; /* placement queue, -1 for ordinary frames */
	uint64_t place_cookie;
};

/* A segment of TX payload in memory registered with reg_mem. */
struct nic_seg {
	const void *addr;
	uint32_t len;
	uint32_t key; /* from reg_mem; 0 means backend-owned or unregistered */
};

enum {
	NIC_TX_CSUM = 1u << 0, /* NIC fills IPv4 header and TCP checksums; only
				* when link_info has NIC_OFF_TX_CSUM */
	NIC_TX_TSO =
		1u << 1, /* segment payload at mss; only with NIC_OFF_TSO */
};

/* One frame to send: headers (copied by the backend before tx_burst
 * returns) followed by nseg payload segments (read by the NIC until the
 * frame's completion is reported). The total never exceeds mtu + 14 unless
 * NIC_TX_TSO is set. */
struct nic_tx {
	const uint8_t *hdr;
	uint16_t hdr_len; /* <= NIC_HDR_MAX */
	uint16_t flags;	  /* NIC_TX_* */
	uint16_t mss;	  /* TCP payload per segment with NIC_TX_TSO */
	uint8_t nseg;	  /* <= link_info.max_segs */
	uint8_t pad;
	struct nic_seg seg[NIC_TX_MAX_SEG];
	uint64_t cookie; /* handed back by tx_completions */
};

enum nic_steer_kind {
	NIC_STEER_LOCAL, /* frames to our MAC and ip: RSS over all queues */
	NIC_STEER_ARP,	 /* ARP and broadcast: copy to queue 0 */
	NIC_STEER_FLOW,	 /* one TCP 4-tuple to one queue */
};

struct nic_steer {
	uint8_t kind;	     /* enum nic_steer_kind */
	uint16_t queue;	     /* NIC_STEER_FLOW target */
	uint32_t local_ip;   /* network byte order */
	uint32_t remote_ip;  /* network byte order, NIC_STEER_FLOW */
	uint16_t local_port; /* network byte order, NIC_STEER_FLOW */
	uint16_t remote_port;
};

struct nic;

struct nic_ops {
	/* Receive up to n frames from queue q into rx[]; returns the count. */
	unsigned (*rx_burst)(struct nic *nic, unsigned q, struct nic_rx *rx,
			     unsigned n);
	/* Post up to n frames on queue q; returns how many were accepted
	 * (a prefix of tx[]). */
	unsigned (*tx_burst)(struct nic *nic, unsigned q,
			     const struct nic_tx *tx, unsigned n);
	/* Cookies of frames whose payload the NIC no longer reads, in posting
	 * order, up to n; returns the count. */
	unsigned (*tx_completions)(struct nic *nic, unsigned q,
				   uint64_t *cookies, unsigned n);
	/* Register [addr, addr+len) for TX payload and placement buffers
	 * (the NIC may write it: map it writable); *key for nic_seg and
	 * place_post. */
	int (*reg_mem)(struct nic *nic, void *addr, size_t len, uint32_t *key);
	int (*dereg_mem)(struct nic *nic, uint32_t key);
	int (*add_steer)(struct nic *nic, const struct nic_steer *rule);
	void (*link_info)(struct nic *nic, struct nic_link_info *info);
	/* Enable the wakeup on queue q before sleeping on fd(q). Returns
	 * -EAGAIN when frames are already waiting (do not sleep). */
	int (*arm)(struct nic *nic, unsigned q);
	/* fd that becomes readable when queue q has work after arm(). */
	int (*fd)(struct nic *nic, unsigned q);
	/* The RX queue, in [0, nqueues), that a received TCP segment of this
	 * flow (src remote, dst local) is delivered to by NIC_STEER_LOCAL
	 * steering; addresses in network byte order, ports in host order.
	 * Pure and cheap: any thread may call it. See nic_flow_queue. */
	unsigned (*flow_queue)(struct nic *nic, uint32_t local_ip,
			       uint16_t local_port, uint32_t remote_ip,
			       uint16_t remote_port);
	/* Zero-copy receive placement; all three NULL when the backend has
	 * none. Called by the thread that owns queue q.
	 *
	 * place_open: a receive queue for one TCP flow (rule: a
	 * NIC_STEER_FLOW, its queue field ignored), completing on queue q's
	 * rx_burst, up to depth buffers posted. Its frames take precedence
	 * over every other steering of the flow. Returns an id >= 0 or a
	 * negative errno. */
	int (*place_open)(struct nic *nic, unsigned q,
			  const struct nic_steer *rule, uint16_t hdr_len,
			  unsigned depth);
	/* Post one receive buffer: the next frame of the flow puts its first
	 * hdr_len bytes into a header slot of the backend and the rest into
	 * [addr, addr + len) (memory from reg_mem, @key); the frame comes
	 * back from rx_burst with payload = addr and place_cookie = @cookie.
	 * Buffers complete in posting order; frames of the flow that were
	 * already on their way to another queue may still arrive there. 0,
	 * -ENOSPC when depth buffers are outstanding, -EINVAL for a len of 0
	 * or memory @key does not cover. */
	int (*place_post)(struct nic *nic, int id, void *addr, uint32_t len,
			  uint32_t key, uint64_t cookie);
	/* Remove the rule and the queue: the flow's frames follow the other
	 * steering again; buffers not completed are never written after this
	 * returns and are not reported. */
	void (*place_close)(struct nic *nic, int id);
	/* *n = frames the backend dropped for want of a free receive slot
	 * since it was opened, all queues; -ENOTSUP (or a NULL op) where it
	 * cannot tell. Control thread only. */
	int (*rx_dropped)(struct nic *nic, uint64_t *n);
	void (*close)(struct nic *nic);
};

struct nic {
	const struct nic_ops *ops;
	const char *name; /* the spec it was opened with, for logs */
};

/* Parameters for nic_open; zero means "backend default". */
struct nic_params {
	unsigned nqueues; /* default 1 */
	unsigned mtu;	  /* default: the device's MTU (wire: 1500) */
	unsigned rx_ring; /* frames per RX ring */
	unsigned tx_ring; /* frames per TX ring */
};

/**
 * nic_open - open a backend from a "BACKEND:DEV" spec
 * @spec: "ibv:mlx5_0", "ibv:eth0", "packet:veth0", "wire:name"
 * @p: parameters, or NULL for defaults
 * @err: on failure, one line naming the cause (NIC_ERR_LEN bytes)
 *
 * Return: the nic, or NULL with errno set and @err filled.
 */
struct nic *nic_open(const char *spec, const struct nic_params *p, char *err);

/* Backend constructors behind nic_open, same convention. */
struct nic *nic_ibv_open(const char *dev, const struct nic_params *p,
			 char *err);
struct nic *nic_packet_open(const char *ifname, const struct nic_params *p,
			    char *err);
struct nic *nic_wire_open(const char *name, const struct nic_params *p,
			  char *err);

/**
 * nic_fault_wrap - wrap @inner in the fault injector
 * @spec: "drop=P,dup=P,reorder=P,corrupt=P,truncate=P,delay=DUR,seed=S,
 *         dir=rx|tx|both" (P a fraction 0..1 or a percentage "2%")
 *
 * On success the returned nic owns @inner (closing it closes both). On a bad
 * spec returns NULL, errno EINVAL, @err says which part is wrong, and @inner
 * is left open for the caller.
 */
struct nic *nic_fault_wrap(struct nic *inner, const char *spec, char *err);

/* Convenience wrappers, so callers read nic_rx_burst(nic, ...) like DPDK. */
static inline unsigned nic_rx_burst(struct nic *nic, unsigned q,
				    struct nic_rx *rx, unsigned n)
{
	return nic->ops->rx_burst(nic, q, rx, n);
}

static inline unsigned nic_tx_burst(struct nic *nic, unsigned q,
				    const struct nic_tx *tx, unsigned n)
{
	return nic->ops->tx_burst(nic, q, tx, n);
}

static inline unsigned nic_tx_completions(struct nic *nic, unsigned q,
					  uint64_t *cookies, unsigned n)
{
	return nic->ops->tx_completions(nic, q, cookies, n);
}

static inline int nic_reg_mem(struct nic *nic, void *addr, size_t len,
			      uint32_t *key)
{
	return nic->ops->reg_mem(nic, addr, len, key);
}

static inline int nic_dereg_mem(struct nic *nic, uint32_t key)
{
	return nic->ops->dereg_mem(nic, key);
}

static inline int nic_add_steer(struct nic *nic, const struct nic_steer *r)
{
	return nic->ops->add_steer(nic, r);
}

static inline void nic_link_info(struct nic *nic, struct nic_link_info *info)
{
	nic->ops->link_info(nic, info);
}

/* false when the backend cannot count its receive drops */
static inline bool nic_rx_dropped(struct nic *nic, uint64_t *n)
{
	return nic->ops->rx_dropped && nic->ops->rx_dropped(nic, n) == 0;
}

static inline int nic_arm(struct nic *nic, unsigned q)
{
	return nic->ops->arm(nic, q);
}

static inline int nic_fd(struct nic *nic, unsigned q)
{
	return nic->ops->fd(nic, q);
}

/**
 * nic_flow_queue - the RX queue a TCP flow's received segments land on
 * @nic: an open nic
 * @local_ip: our IPv4 address (the segment's destination), network order
 * @local_port: our TCP port, host order
 * @remote_ip: the peer's IPv4 address (the segment's source), network order
 * @remote_port: the peer's TCP port, host order
 *
 * Lets the daemon create an active open on the fast-path core that owns
 * the queue the peer's packets will arrive on (core k polls queue k). The
 * answer is exact for IPv4/TCP frames without IP fragmentation steered by
 * NIC_STEER_LOCAL (ibv: the Toeplitz hash and indirection table of the RSS
 * QP; packet: the fanout CBPF program). On ibv a NIC_STEER_FLOW rule or a
 * placement queue overrides it for its flow. Single-queue backends and
 * wire return 0.
 *
 * Return: a queue index in [0, link_info.nqueues).
 */
static inline unsigned nic_flow_queue(struct nic *nic, uint32_t local_ip,
				      uint16_t local_port, uint32_t remote_ip,
				      uint16_t remote_port)
{
	return nic->ops->flow_queue(nic, local_ip, local_port, remote_ip,
				    remote_port);
}

static inline void nic_close(struct nic *nic)
{
	if (nic)
		nic->ops->close(nic);
}

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#endif /* TAS_VERBS_NIC_H */
