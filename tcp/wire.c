/* wire.c - parse and emit Ethernet II, ARP, IPv4, ICMP echo, TCP + options
 *
 * RFC 894 (IPv4 over Ethernet), RFC 826 (ARP), RFC 791 (IPv4), RFC 792
 * (ICMP echo), RFC 9293 (TCP header), RFC 7323 (window scale, timestamps),
 * RFC 2018 (SACK), RFC 1071 (checksums, through csum.c).
 *
 * Parsers read only inside [buf, buf + len) whatever the bytes claim, and
 * load multi-byte fields byte by byte or with memcpy. Error precedence is
 * the order of the checks below, outer headers first; each parser fills
 * what it could read before failing, but callers must not rely on that.
 *
 * Policy:
 * - eth_parse refuses 802.1Q/802.1ad tags (PKT_ERR_VLAN) and any ethertype
 *   but IPv4 and ARP (PKT_ERR_ETHERTYPE); out->type is set either way so a
 *   caller can count what it dropped.
 * - ipv4_parse refuses fragments, options and TTL 0, ignores the DF and
 *   reserved flag bits; the protocol check is pkt_parse's (PKT_ERR_IP_PROTO).
 * - tcp_parse refuses SYN+RST, SYN+FIN and a segment with none of
 *   FIN/SYN/RST/PSH/ACK/URG (a "null" segment); everything else, including a
 *   bare FIN, is left to the state machine, which may owe a RST.
 * - tcp_opts_parse stops at EOL, skips unknown kinds by their length, keeps
 *   the last of duplicated options.
 * - The option emitter keeps Linux's layout and drops trailing SACK blocks
 *   that do not fit in the 40-byte option space.
 *
 * Known gaps: no IPv6, no VLAN, no IPv4 options or reassembly, no TCP-AO /
 * MD5 or MPTCP options (skipped as unknown), no URG semantics.
 */
#include <string.h>

#include "tcp/csum.h"
#include "tcp/wire.h"

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WS 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8

#define TCPOLEN_MSS 4
#define TCPOLEN_WS 3
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_SACK_BASE 2
#define TCPOLEN_SACK_BLOCK 8
#define TCPOLEN_TS 10

#define IP_FLAG_DF 0x4000
#define IP_FLAG_MF 0x2000
#define IP_FRAG_OFF_MASK 0x1fff

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Network-order address, kept as it travels (no byte swap). */
static inline uint32_t rdaddr(const uint8_t *p)
{
	uint32_t a;

	memcpy(&a, p, 4);
	return a;
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void wraddr(uint8_t *p, uint32_t a)
{
	memcpy(p, &a, 4);
}

static const char *const pkt_err_names[] = {
	[PKT_OK] = "ok",
	[PKT_ERR_SHORT] = "short",
	[PKT_ERR_VLAN] = "vlan",
	[PKT_ERR_ETHERTYPE] = "ethertype",
	[PKT_ERR_ARP_FORMAT] = "arp_format",
	[PKT_ERR_IP_VERSION] = "ip_version",
	[PKT_ERR_IP_HLEN] = "ip_hlen",
	[PKT_ERR_IP_LEN] = "ip_len",
	[PKT_ERR_IP_CSUM] = "ip_csum",
	[PKT_ERR_IP_FRAG] = "ip_frag",
	[PKT_ERR_IP_OPTS] = "ip_opts",
	[PKT_ERR_IP_TTL] = "ip_ttl",
	[PKT_ERR_IP_PROTO] = "ip_proto",
	[PKT_ERR_ICMP_TYPE] = "icmp_type",
	[PKT_ERR_ICMP_CSUM] = "icmp_csum",
	[PKT_ERR_TCP_OFF] = "tcp_off",
	[PKT_ERR_TCP_OPT] = "tcp_opt",
	[PKT_ERR_TCP_CSUM] = "tcp_csum",
	[PKT_ERR_TCP_FLAGS] = "tcp_flags",
};

_Static_assert(sizeof(pkt_err_names) / sizeof(pkt_err_names[0]) == PKT_ERR__NR,
	       "pkt_err_names must name every enum pkt_err");

/**
 * pkt_err_str - stable short name of a parse error, for counters and tasctl
 * @e: error code
 *
 * Return: a static string; "unknown" for a value outside the enum.
 */
const char *pkt_err_str(enum pkt_err e)
{
	if ((unsigned int)e >= PKT_ERR__NR)
		return "unknown";
	return pkt_err_names[e];
}

/* ---- Ethernet ---- */

/**
 * eth_parse - parse an Ethernet II header
 * @buf: frame
 * @len: frame length
 * @out: header, host-order type; filled even on VLAN/ETHERTYPE errors
 *
 * Return: PKT_OK for IPv4 and ARP, PKT_ERR_VLAN for 802.1Q/802.1ad tags,
 * PKT_ERR_ETHERTYPE for anything else, PKT_ERR_SHORT below 14 bytes.
 */
enum pkt_err eth_parse(const uint8_t *buf, size_t len, struct eth_hdr *out)
{
	if (len < ETH_HLEN)
		return PKT_ERR_SHORT;
	memcpy(out->dst, buf, ETH_ALEN);
	memcpy(out->src, buf + ETH_ALEN, ETH_ALEN);
	out->type = rd16(buf + 2 * ETH_ALEN);
	switch (out->type) {
	case ETHTYPE_IPV4:
	case ETHTYPE_ARP:
		return PKT_OK;
	case ETHTYPE_VLAN:
	case ETHTYPE_QINQ:
		return PKT_ERR_VLAN;
	default:
		return PKT_ERR_ETHERTYPE;
	}
}

/**
 * eth_emit - write a 14-byte Ethernet II header
 * @buf: destination, at least ETH_HLEN bytes
 * @h: header, host-order type
 *
 * Return: ETH_HLEN.
 */
size_t eth_emit(uint8_t *buf, const struct eth_hdr *h)
{
	memcpy(buf, h->dst, ETH_ALEN);
	memcpy(buf + ETH_ALEN, h->src, ETH_ALEN);
	wr16(buf + 2 * ETH_ALEN, h->type);
	return ETH_HLEN;
}

/* ---- ARP ---- */

/**
 * arp_parse - parse an IPv4-over-Ethernet ARP request or reply
 * @buf: ARP packet (after the Ethernet header)
 * @len: bytes available; trailing padding is ignored
 * @out: parsed packet
 *
 * Return: PKT_OK, PKT_ERR_SHORT or PKT_ERR_ARP_FORMAT (hardware type not 1,
 * protocol not IPv4, address lengths not 6/4, opcode not request/reply).
 */
enum pkt_err arp_parse(const uint8_t *buf, size_t len, struct arp_pkt *out)
{
	if (len < ARP_LEN)
		return PKT_ERR_SHORT;
	if (rd16(buf) != 1 || rd16(buf + 2) != ETHTYPE_IPV4 ||
	    buf[4] != ETH_ALEN || buf[5] != 4)
		return PKT_ERR_ARP_FORMAT;
	out->op = rd16(buf + 6);
	if (out->op != ARP_OP_REQUEST && out->op != ARP_OP_REPLY)
		return PKT_ERR_ARP_FORMAT;
	memcpy(out->sha, buf + 8, ETH_ALEN);
	out->spa = rdaddr(buf + 14);
	memcpy(out->tha, buf + 18, ETH_ALEN);
	out->tpa = rdaddr(buf + 24);
	return PKT_OK;
}

/**
 * arp_emit - write a 28-byte IPv4-over-Ethernet ARP packet
 * @buf: destination, at least ARP_LEN bytes
 * @a: packet
 *
 * Return: ARP_LEN.
 */
size_t arp_emit(uint8_t *buf, const struct arp_pkt *a)
{
	wr16(buf, 1);
	wr16(buf + 2, ETHTYPE_IPV4);
	buf[4] = ETH_ALEN;
	buf[5] = 4;
	wr16(buf + 6, a->op);
	memcpy(buf + 8, a->sha, ETH_ALEN);
	wraddr(buf + 14, a->spa);
	memcpy(buf + 18, a->tha, ETH_ALEN);
	wraddr(buf + 24, a->tpa);
	return ARP_LEN;
}

/* ---- IPv4 ---- */

static enum pkt_err __ipv4_parse(const uint8_t *buf, size_t len,
				 struct ipv4_hdr *out, bool verify_csum)
{
	unsigned int hlen;
	uint16_t frag;

	if (len < IPV4_HLEN)
		return PKT_ERR_SHORT;
	if (buf[0] >> 4 != 4)
		return PKT_ERR_IP_VERSION;
	hlen = (buf[0] & 0x0f) * 4u;
	out->hlen = (uint8_t)hlen;
	if (hlen < IPV4_HLEN || hlen > len)
		return PKT_ERR_IP_HLEN;
	out->tos = buf[1];
	out->tot_len = rd16(buf + 2);
	out->id = rd16(buf + 4);
	out->ttl = buf[8];
	out->proto = buf[9];
	out->src = rdaddr(buf + 12);
	out->dst = rdaddr(buf + 16);
	if (out->tot_len < hlen || out->tot_len > len)
		return PKT_ERR_IP_LEN;
	if (verify_csum && csum_fold(csum_partial(buf, hlen, 0)) != 0)
		return PKT_ERR_IP_CSUM;
	frag = rd16(buf + 6);
	if (frag & (IP_FLAG_MF | IP_FRAG_OFF_MASK))
		return PKT_ERR_IP_FRAG;
	if (hlen != IPV4_HLEN)
		return PKT_ERR_IP_OPTS;
	if (out->ttl == 0)
		return PKT_ERR_IP_TTL;
	return PKT_OK;
}

/**
 * ipv4_parse - parse and validate an IPv4 header, checksum included
 * @buf: IPv4 packet (after the Ethernet header)
 * @len: bytes available, possibly with Ethernet padding after tot_len
 * @out: parsed header; out->tot_len bounds the L4 part
 *
 * Checks, in this order: length, version, IHL, total length, header
 * checksum, fragments, options, TTL. The protocol is not checked.
 *
 * Return: PKT_OK or the first failed check.
 */
enum pkt_err ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_hdr *out)
{
	return __ipv4_parse(buf, len, out, true);
}

/**
 * ipv4_emit - write a 20-byte IPv4 header with DF set and its checksum
 * @buf: destination, at least IPV4_HLEN bytes
 * @h: header; h->hlen is ignored
 *
 * Return: IPV4_HLEN.
 */
size_t ipv4_emit(uint8_t *buf, const struct ipv4_hdr *h)
{
	buf[0] = 0x45;
	buf[1] = h->tos;
	wr16(buf + 2, h->tot_len);
	wr16(buf + 4, h->id);
	wr16(buf + 6, IP_FLAG_DF);
	buf[8] = h->ttl;
	buf[9] = h->proto;
	wr16(buf + 10, 0);
	wraddr(buf + 12, h->src);
	wraddr(buf + 16, h->dst);
	wr16(buf + 10, csum_fold(csum_ip20(buf)));
	return IPV4_HLEN;
}

/* ---- ICMP echo ---- */

static enum pkt_err __icmp_echo_parse(const uint8_t *buf, size_t len,
				      struct icmp_echo *out, bool verify_csum)
{
	if (len < ICMP_ECHO_HLEN)
		return PKT_ERR_SHORT;
	out->type = buf[0];
	out->id = rd16(buf + 4);
	out->seq = rd16(buf + 6);
	out->data = buf + ICMP_ECHO_HLEN;
	out->data_len = len - ICMP_ECHO_HLEN;
	if ((out->type != ICMP_ECHO_REQUEST && out->type != ICMP_ECHO_REPLY) ||
	    buf[1] != 0)
		return PKT_ERR_ICMP_TYPE;
	if (verify_csum && csum_fold(csum_partial(buf, len, 0)) != 0)
		return PKT_ERR_ICMP_CSUM;
	return PKT_OK;
}

/**
 * icmp_echo_parse - parse an ICMP echo request or reply, checksum included
 * @buf: ICMP message
 * @len: exact message length (bounded by the IPv4 total length)
 * @out: parsed header; out->data points into @buf
 *
 * Return: PKT_OK, PKT_ERR_SHORT, PKT_ERR_ICMP_TYPE (not echo, or code != 0)
 * or PKT_ERR_ICMP_CSUM.
 */
enum pkt_err icmp_echo_parse(const uint8_t *buf, size_t len,
			     struct icmp_echo *out)
{
	return __icmp_echo_parse(buf, len, out, true);
}

/**
 * icmp_echo_len - bytes icmp_echo_emit writes
 * @e: message
 *
 * Return: 8 + e->data_len.
 */
size_t icmp_echo_len(const struct icmp_echo *e)
{
	return ICMP_ECHO_HLEN + e->data_len;
}

/**
 * icmp_echo_emit - write an ICMP echo message with its checksum
 * @buf: destination, at least icmp_echo_len(e) bytes; e->data may already
 *       point at buf + 8 (an echo reply built in place)
 * @e: message
 *
 * Return: icmp_echo_len(e).
 */
size_t icmp_echo_emit(uint8_t *buf, const struct icmp_echo *e)
{
	size_t len = icmp_echo_len(e);

	if (e->data_len && e->data != buf + ICMP_ECHO_HLEN)
		memmove(buf + ICMP_ECHO_HLEN, e->data, e->data_len);
	buf[0] = e->type;
	buf[1] = 0;
	wr16(buf + 2, 0);
	wr16(buf + 4, e->id);
	wr16(buf + 6, e->seq);
	wr16(buf + 2, csum_fold(csum_partial(buf, len, 0)));
	return len;
}

/* ---- TCP options ---- */

/**
 * tcp_opts_parse - parse the TCP option area
 * @buf: options (after the fixed 20-byte header)
 * @len: option bytes, data offset * 4 - 20
 * @out: parsed options, zeroed first
 *
 * EOL ends the list; NOP is skipped; MSS, window scale, SACK-permitted, SACK
 * (1 to 4 blocks) and timestamps are decoded; other kinds are skipped by
 * their length. A duplicated option overwrites the earlier one.
 *
 * Return: PKT_OK, or PKT_ERR_TCP_OPT for a length below 2, running past the
 * area, or wrong for a known kind.
 */
enum pkt_err tcp_opts_parse(const uint8_t *buf, size_t len,
			    struct tcp_opts *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		uint8_t kind = buf[i], olen;
		const uint8_t *o = buf + i;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return PKT_ERR_TCP_OPT;
		olen = o[1];
		if (olen < 2 || olen > len - i)
			return PKT_ERR_TCP_OPT;
		switch (kind) {
		case TCPOPT_MSS:
			if (olen != TCPOLEN_MSS)
				return PKT_ERR_TCP_OPT;
			out->has_mss = true;
			out->mss = rd16(o + 2);
			break;
		case TCPOPT_WS:
			if (olen != TCPOLEN_WS)
				return PKT_ERR_TCP_OPT;
			out->has_wscale = true;
			out->wscale = o[2];
			break;
		case TCPOPT_SACK_PERM:
			if (olen != TCPOLEN_SACK_PERM)
				return PKT_ERR_TCP_OPT;
			out->sack_ok = true;
			break;
		case TCPOPT_SACK: {
			unsigned int n =
				(olen - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_BLOCK;

			if ((olen - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_BLOCK ||
			    n < 1 || n > TCP_SACK_MAX)
				return PKT_ERR_TCP_OPT;
			out->nsack = (uint8_t)n;
			for (unsigned int b = 0; b < n; b++) {
				const uint8_t *s = o + 2 + b * 8;

				out->sack[b].start = rd32(s);
				out->sack[b].end = rd32(s + 4);
			}
			break;
		}
		case TCPOPT_TS:
			if (olen != TCPOLEN_TS)
				return PKT_ERR_TCP_OPT;
			out->has_ts = true;
			out->ts_val = rd32(o + 2);
			out->ts_ecr = rd32(o + 6);
			break;
		default:
			break;
		}
		i += olen;
	}
	return PKT_OK;
}

/* Option bytes without SACK blocks, in the layout tcp_opts_write uses. */
static size_t opts_len_nosack(const struct tcp_opts *o)
{
	size_t n = 0;

	if (o->has_mss)
		n += TCPOLEN_MSS;
	if (o->has_ts)
		n += 2 + TCPOLEN_TS; /* SACK_PERM or NOP NOP, then TS */
	else if (o->sack_ok)
		n += 2 + TCPOLEN_SACK_PERM; /* NOP NOP SACK_PERM */
	if (o->has_wscale)
		n += 1 + TCPOLEN_WS;
	return n;
}

/* SACK blocks that are emitted: all of them when they fit in the option
 * space after the other options, else as many leading ones as fit. */
static unsigned int opts_nsack_fit(const struct tcp_opts *o)
{
	size_t room = TCP_OPT_MAX - opts_len_nosack(o);
	unsigned int n = o->nsack > TCP_SACK_MAX ? TCP_SACK_MAX : o->nsack;
	unsigned int fit;

	if (room < 4 + TCPOLEN_SACK_BLOCK)
		return 0;
	fit = (unsigned int)((room - 4) / TCPOLEN_SACK_BLOCK);
	return n < fit ? n : fit;
}

/**
 * tcp_opts_len - bytes of options tcp_emit writes for @o
 * @o: options
 *
 * Always a multiple of 4 and at most TCP_OPT_MAX: SACK blocks that do not
 * fit after the other options are left out (the first ones are kept).
 *
 * Return: option bytes.
 */
size_t tcp_opts_len(const struct tcp_opts *o)
{
	unsigned int n = opts_nsack_fit(o);

	return opts_len_nosack(o) +
	       (n ? 4 + (size_t)n * TCPOLEN_SACK_BLOCK : 0);
}

/* Linux order (tcp_options_write): MSS; SACK_PERM+TS or NOP NOP TS, or
 * NOP NOP SACK_PERM; NOP WS; NOP NOP SACK. Every piece is 4-byte aligned,
 * so no trailing padding is ever needed. */
static size_t tcp_opts_write(uint8_t *p, const struct tcp_opts *o)
{
	uint8_t *start = p;
	unsigned int n = opts_nsack_fit(o);

	if (o->has_mss) {
		*p++ = TCPOPT_MSS;
		*p++ = TCPOLEN_MSS;
		wr16(p, o->mss);
		p += 2;
	}
	if (o->has_ts) {
		if (o->sack_ok) {
			*p++ = TCPOPT_SACK_PERM;
			*p++ = TCPOLEN_SACK_PERM;
		} else {
			*p++ = TCPOPT_NOP;
			*p++ = TCPOPT_NOP;
		}
		*p++ = TCPOPT_TS;
		*p++ = TCPOLEN_TS;
		wr32(p, o->ts_val);
		wr32(p + 4, o->ts_ecr);
		p += 8;
	} else if (o->sack_ok) {
		*p++ = TCPOPT_NOP;
		*p++ = TCPOPT_NOP;
		*p++ = TCPOPT_SACK_PERM;
		*p++ = TCPOLEN_SACK_PERM;
	}
	if (o->has_wscale) {
		*p++ = TCPOPT_NOP;
		*p++ = TCPOPT_WS;
		*p++ = TCPOLEN_WS;
		*p++ = o->wscale;
	}
	if (n) {
		*p++ = TCPOPT_NOP;
		*p++ = TCPOPT_NOP;
		*p++ = TCPOPT_SACK;
		*p++ = (uint8_t)(TCPOLEN_SACK_BASE + n * TCPOLEN_SACK_BLOCK);
		for (unsigned int b = 0; b < n; b++) {
			wr32(p, o->sack[b].start);
			wr32(p + 4, o->sack[b].end);
			p += 8;
		}
	}
	return (size_t)(p - start);
}

/* ---- TCP ---- */

/**
 * tcp_parse - parse a TCP header and its options (checksum not verified)
 * @buf: TCP segment
 * @len: segment length (bounded by the IPv4 total length)
 * @out: parsed header; out->hlen is the data offset in bytes
 *
 * Return: PKT_OK, PKT_ERR_SHORT, PKT_ERR_TCP_OFF (data offset < 5 or past
 * @len), PKT_ERR_TCP_FLAGS (SYN+RST, SYN+FIN, or no control flag at all) or
 * PKT_ERR_TCP_OPT.
 */
enum pkt_err tcp_parse(const uint8_t *buf, size_t len, struct tcp_hdr *out)
{
	unsigned int hlen;
	uint8_t f;

	if (len < TCP_HLEN)
		return PKT_ERR_SHORT;
	out->sport = rd16(buf);
	out->dport = rd16(buf + 2);
	out->seq = rd32(buf + 4);
	out->ack = rd32(buf + 8);
	hlen = (buf[12] >> 4) * 4u;
	out->hlen = (uint8_t)hlen;
	out->flags = f = buf[13];
	out->wnd = rd16(buf + 14);
	out->urg = rd16(buf + 18);
	if (hlen < TCP_HLEN || hlen > len)
		return PKT_ERR_TCP_OFF;
	if ((f & TCP_SYN) && (f & (TCP_RST | TCP_FIN)))
		return PKT_ERR_TCP_FLAGS;
	if (!(f & (TCP_FIN | TCP_SYN | TCP_RST | TCP_PSH | TCP_ACK | TCP_URG)))
		return PKT_ERR_TCP_FLAGS;
	return tcp_opts_parse(buf + TCP_HLEN, hlen - TCP_HLEN, &out->opts);
}

/**
 * tcp_hdr_len - bytes tcp_emit writes for @h
 * @h: header
 *
 * Return: 20 + tcp_opts_len(&h->opts).
 */
size_t tcp_hdr_len(const struct tcp_hdr *h)
{
	return TCP_HLEN + tcp_opts_len(&h->opts);
}

/**
 * tcp_emit - write a TCP header and options with checksum 0
 * @buf: destination, at least tcp_hdr_len(h) bytes
 * @h: header; h->hlen is set to the bytes written
 *
 * The caller adds csum_pseudo and the payload sum, or leaves it to the NIC.
 *
 * Return: tcp_hdr_len(h).
 */
size_t tcp_emit(uint8_t *buf, struct tcp_hdr *h)
{
	size_t hlen = TCP_HLEN + tcp_opts_write(buf + TCP_HLEN, &h->opts);

	wr16(buf, h->sport);
	wr16(buf + 2, h->dport);
	wr32(buf + 4, h->seq);
	wr32(buf + 8, h->ack);
	buf[12] = (uint8_t)(hlen / 4 << 4);
	buf[13] = h->flags;
	wr16(buf + 14, h->wnd);
	wr16(buf + 16, 0);
	wr16(buf + 18, h->urg);
	h->hlen = (uint8_t)hlen;
	return hlen;
}

/* ---- whole frame ---- */

static bool l4_csum_ok(const struct ipv4_hdr *ip, const uint8_t *l4,
		       size_t l4_len)
{
	uint32_t s = csum_pseudo(ip->src, ip->dst, ip->proto, (uint16_t)l4_len);

	return csum_fold(csum_partial(l4, l4_len, s)) == 0;
}

/**
 * pkt_parse - parse and validate a whole Ethernet frame
 * @buf: frame, starting at the destination MAC
 * @len: frame length, possibly padded to the 60-byte minimum
 * @verify_csum: true to check the IPv4 header, TCP and ICMP checksums
 * @out: parsed frame; l3, l4 and payload point into @buf
 *
 * Ethernet -> ARP, or IPv4 -> TCP or ICMP echo. L4 length and payload come
 * from the IPv4 total length, never from @len, so Ethernet padding is not
 * payload. For ICMP, payload/payload_len repeat icmp.data/data_len.
 *
 * Return: PKT_OK or the first error met, outer headers first.
 */
enum pkt_err pkt_parse(const uint8_t *buf, size_t len, bool verify_csum,
		       struct pkt *out)
{
	const uint8_t *l3, *l4;
	size_t l4_len;
	enum pkt_err e;

	out->kind = 0;
	out->l3 = NULL;
	out->l4 = NULL;
	e = eth_parse(buf, len, &out->eth);
	if (e != PKT_OK)
		return e;
	l3 = buf + ETH_HLEN;
	out->l3 = l3;
	if (out->eth.type == ETHTYPE_ARP) {
		e = arp_parse(l3, len - ETH_HLEN, &out->arp);
		if (e == PKT_OK)
			out->kind = PKT_KIND_ARP;
		return e;
	}

	out->payload = NULL;
	out->payload_len = 0;
	e = __ipv4_parse(l3, len - ETH_HLEN, &out->ip, verify_csum);
	if (e != PKT_OK)
		return e;
	l4 = l3 + IPV4_HLEN;
	l4_len = out->ip.tot_len - IPV4_HLEN;
	out->l4 = l4;
	switch (out->ip.proto) {
	case IPPROTO_TCP_:
		e = tcp_parse(l4, l4_len, &out->tcp);
		if (e != PKT_OK)
			return e;
		if (verify_csum && !l4_csum_ok(&out->ip, l4, l4_len))
			return PKT_ERR_TCP_CSUM;
		out->payload = l4 + out->tcp.hlen;
		out->payload_len = (uint32_t)(l4_len - out->tcp.hlen);
		out->kind = PKT_KIND_TCP;
		return PKT_OK;
	case IPPROTO_ICMP_:
		e = __icmp_echo_parse(l4, l4_len, &out->icmp, verify_csum);
		if (e != PKT_OK)
			return e;
		out->payload = out->icmp.data;
		out->payload_len = (uint32_t)out->icmp.data_len;
		out->kind = PKT_KIND_ICMP;
		return PKT_OK;
	default:
		return PKT_ERR_IP_PROTO;
	}
}

/**
 * pkt_parse_split - pkt_parse for an IPv4/TCP frame a NIC scattered at the
 * end of its headers
 * @hdr: the first @hdr_len bytes: Ethernet, IPv4 and TCP headers, exactly
 * @pl: the remaining @pl_len bytes (payload, maybe Ethernet padding)
 * @verify_csum: as for pkt_parse (the TCP sum covers both pieces)
 * @out: parsed frame; payload points into @pl
 *
 * Return: PKT_OK, or an error also when the headers do not end exactly at
 * @hdr_len (the caller then joins the pieces and uses pkt_parse).
 */
enum pkt_err pkt_parse_split(const uint8_t *hdr, size_t hdr_len,
			     const uint8_t *pl, size_t pl_len, bool verify_csum,
			     struct pkt *out)
{
	const uint8_t *l4;
	size_t l4_len;
	enum pkt_err e;

	out->kind = 0;
	out->l3 = NULL;
	out->l4 = NULL;
	e = eth_parse(hdr, hdr_len, &out->eth);
	if (e != PKT_OK)
		return e;
	if (out->eth.type != ETHTYPE_IPV4 || hdr_len < ETH_HLEN + IPV4_HLEN)
		return PKT_ERR_SHORT;
	out->l3 = hdr + ETH_HLEN;
	e = __ipv4_parse(out->l3, hdr_len - ETH_HLEN + pl_len, &out->ip,
			 verify_csum);
	if (e != PKT_OK)
		return e;
	if (out->ip.proto != IPPROTO_TCP_)
		return PKT_ERR_IP_PROTO;
	l4 = out->l3 + IPV4_HLEN;
	l4_len = out->ip.tot_len - IPV4_HLEN;
	e = tcp_parse(l4, hdr_len - ETH_HLEN - IPV4_HLEN, &out->tcp);
	if (e != PKT_OK)
		return e;
	if ((size_t)(ETH_HLEN + IPV4_HLEN + out->tcp.hlen) != hdr_len ||
	    l4_len < out->tcp.hlen)
		return PKT_ERR_TCP_OFF;
	out->l4 = l4;
	out->payload = pl;
	out->payload_len = (uint32_t)(l4_len - out->tcp.hlen);
	if (verify_csum) {
		uint32_t s = csum_pseudo(out->ip.src, out->ip.dst, IPPROTO_TCP_,
					 (uint16_t)l4_len);

		/* the TCP header length is a multiple of 4: no lane swap */
		s = csum_partial(l4, out->tcp.hlen, s);
		if (csum_fold(csum_partial(pl, out->payload_len, s)) != 0)
			return PKT_ERR_TCP_CSUM;
	}
	out->kind = PKT_KIND_TCP;
	return PKT_OK;
}
