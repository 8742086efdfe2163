/* wire.h - wire formats: Ethernet II, ARP, IPv4, ICMP echo, TCP and options
 *
 * RFC 894 (Ethernet), RFC 826 (ARP), RFC 791 (IPv4), RFC 792 (ICMP),
 * RFC 9293 (TCP), RFC 7323 (window scale, timestamps), RFC 2018 (SACK).
 *
 * Parsers are (const uint8_t *buf, size_t len, struct X *out) -> enum
 * pkt_err; they never read past len whatever the bytes. Parsed structs hold
 * host-order values (IPv4 addresses stay in network order, as uint32_t, the
 * way they travel through the API). Emitters write exactly X_len(&x) bytes
 * and fill every checksum they own.
 */
#ifndef TAS_TCP_WIRE_H
#define TAS_TCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETHTYPE_IPV4 0x0800
#define ETHTYPE_ARP 0x0806
#define ETHTYPE_VLAN 0x8100
#define ETHTYPE_QINQ 0x88a8

#define IPV4_HLEN 20
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IP_ECN_MASK 0x03
#define IP_ECN_NOT_ECT 0x00
#define IP_ECN_ECT1 0x01
#define IP_ECN_ECT0 0x02
#define IP_ECN_CE 0x03

#define TCP_HLEN 20
#define TCP_OPT_MAX 40
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define TCP_SACK_MAX 4

/* Why a frame was refused. Counted per reason by the fast path. */
enum pkt_err {
	PKT_OK = 0,
	PKT_ERR_SHORT,	    /* shorter than the headers it claims */
	PKT_ERR_VLAN,	    /* 802.1Q / 802.1ad tagged */
	PKT_ERR_ETHERTYPE,  /* neither IPv4 nor ARP */
	PKT_ERR_ARP_FORMAT, /* not IPv4-over-Ethernet, or bad opcode */
	PKT_ERR_IP_VERSION, /* version != 4 */
	PKT_ERR_IP_HLEN,    /* IHL < 5 or beyond the frame */
	PKT_ERR_IP_LEN,	    /* total length < IHL or > frame */
	PKT_ERR_IP_CSUM,    /* header checksum wrong */
	PKT_ERR_IP_FRAG,    /* MF set or fragment offset != 0 */
	PKT_ERR_IP_OPTS,    /* IPv4 options present */
	PKT_ERR_IP_TTL,	    /* TTL 0 */
	PKT_ERR_IP_PROTO,   /* not TCP or ICMP */
	PKT_ERR_ICMP_TYPE,  /* ICMP other than echo request/reply */
	PKT_ERR_ICMP_CSUM,
	PKT_ERR_TCP_OFF, /* data offset < 5 or beyond the segment */
	PKT_ERR_TCP_OPT, /* malformed option length */
	PKT_ERR_TCP_CSUM,
	PKT_ERR_TCP_FLAGS, /* impossible flag combination (SYN+RST, none) */
	PKT_ERR__NR
};

/* pkt_err_str - stable short name ("ip_csum") for counters and tasctl. */
const char *pkt_err_str(enum pkt_err e);

struct eth_hdr {
	uint8_t dst[ETH_ALEN];
	uint8_t src[ETH_ALEN];
	uint16_t type; /* host order */
};

#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
#define ARP_LEN 28

struct arp_pkt {
	uint16_t op;	       /* ARP_OP_* */
	uint8_t sha[ETH_ALEN]; /* sender hardware address */
	uint32_t spa;	       /* sender IP, network order */
	uint8_t tha[ETH_ALEN]; /* target hardware address */
	uint32_t tpa;	       /* target IP, network order */
};

struct ipv4_hdr {
	uint8_t tos;	  /* DSCP << 2 | ECN */
	uint16_t tot_len; /* header + payload, host order */
	uint16_t id;
	uint8_t ttl;
	uint8_t proto;
	uint32_t src; /* network order */
	uint32_t dst; /* network order */
	/* parse only: */
	uint8_t hlen; /* bytes, always 20 after a successful parse */
};

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define ICMP_ECHO_HLEN 8

struct icmp_echo {
	uint8_t type; /* ICMP_ECHO_REQUEST or ICMP_ECHO_REPLY */
	uint16_t id;
	uint16_t seq;
	const uint8_t *data; /* payload after the 8-byte header */
	size_t data_len;
};

/* TCP options. A has_* flag says the option was present. */
struct tcp_opts {
	bool has_mss, has_wscale, sack_ok, has_ts;
	uint16_t mss;
	uint8_t wscale; /* as sent; receivers clamp to 14 (RFC 7323 §2.3) */
	uint32_t ts_val, ts_ecr;
	uint8_t nsack; /* SACK blocks present, <= TCP_SACK_MAX */
	struct {
		uint32_t start, end;
	} sack[TCP_SACK_MAX];
};

struct tcp_hdr {
	uint16_t sport, dport; /* host order */
	uint32_t seq, ack;
	uint8_t flags; /* TCP_* */
	uint16_t wnd;  /* raw, unscaled */
	uint16_t urg;
	uint8_t hlen; /* bytes incl. options (parse and emit) */
	struct tcp_opts opts;
};

/* A whole received frame, parsed once and validated (smoltcp style). */
struct pkt {
	struct eth_hdr eth;
	int kind; /* PKT_KIND_* */
	union {
		struct arp_pkt arp;
		struct {
			struct ipv4_hdr ip;
			union {
				struct tcp_hdr tcp;
				struct icmp_echo icmp;
			};
			const uint8_t *payload; /* TCP payload */
			uint32_t payload_len;
		};
	};
	const uint8_t *l3; /* start of IPv4 or ARP */
	const uint8_t *l4; /* start of TCP or ICMP */
};

enum { PKT_KIND_ARP = 1, PKT_KIND_TCP, PKT_KIND_ICMP };

enum pkt_err eth_parse(const uint8_t *buf, size_t len, struct eth_hdr *out);
enum pkt_err arp_parse(const uint8_t *buf, size_t len, struct arp_pkt *out);
/* ipv4_parse checks version, IHL, lengths, checksum, fragments, options,
 * TTL; *out->tot_len bounds the L4 part (trailing Ethernet padding is not
 * payload). */
enum pkt_err ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_hdr *out);
enum pkt_err icmp_echo_parse(const uint8_t *buf, size_t len,
			     struct icmp_echo *out);
enum pkt_err tcp_opts_parse(const uint8_t *buf, size_t len,
			    struct tcp_opts *out);
/* tcp_parse parses header and options; it does not verify the checksum. */
enum pkt_err tcp_parse(const uint8_t *buf, size_t len, struct tcp_hdr *out);

/**
 * pkt_parse - parse and validate a whole Ethernet frame
 * @verify_csum: false when the NIC already verified (or the frame is a local
 *               partial-checksum frame); true to check IP, TCP, ICMP sums
 */
enum pkt_err pkt_parse(const uint8_t *buf, size_t len, bool verify_csum,
		       struct pkt *out);
enum pkt_err pkt_parse_split(const uint8_t *hdr, size_t hdr_len,
			     const uint8_t *pl, size_t pl_len, bool verify_csum,
			     struct pkt *out);

/* Emitters: write exactly *_len() bytes at buf, return that length. */
size_t eth_emit(uint8_t *buf, const struct eth_hdr *h);
size_t arp_emit(uint8_t *buf, const struct arp_pkt *a);
/* ipv4_emit writes a 20-byte header with DF set and its checksum. */
size_t ipv4_emit(uint8_t *buf, const struct ipv4_hdr *h);
size_t icmp_echo_len(const struct icmp_echo *e);
size_t icmp_echo_emit(uint8_t *buf, const struct icmp_echo *e);
/* Options are laid out like Linux: MSS, SACK-permitted+TS or NOP NOP TS,
 * NOP wscale, NOP NOP SACK blocks; padded to 4 bytes. */
size_t tcp_opts_len(const struct tcp_opts *o);
size_t tcp_hdr_len(const struct tcp_hdr *h);
/* tcp_emit writes header and options with checksum 0 (the caller sums the
 * pseudo-header and payload, or leaves it to the NIC); sets h->hlen. */
size_t tcp_emit(uint8_t *buf, struct tcp_hdr *h);

#endif /* TAS_TCP_WIRE_H */
