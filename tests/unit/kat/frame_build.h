/* frame_build.h - build whole frames with our emitters, for the wire tests
 *
 * Test-only helpers shared by test_wire.c and test_wire_kat.c: Ethernet +
 * IPv4 + TCP (checksum filled over pseudo-header, header and payload),
 * Ethernet + IPv4 + ICMP echo, Ethernet + ARP. No known gaps.
 */
#ifndef TAS_TESTS_FRAME_BUILD_H
#define TAS_TESTS_FRAME_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tcp/csum.h"
#include "tcp/wire.h"

#define FB_MAX 1600

/* fb_tcp - eth + ipv4 (proto, tot_len filled) + tcp + payload; TCP
 * checksum computed. Returns the frame length. */
static inline size_t fb_tcp(uint8_t *buf, const struct eth_hdr *eth,
			    const struct ipv4_hdr *ip_in, struct tcp_hdr *t,
			    const void *pl, size_t plen)
{
	struct eth_hdr e = *eth;
	struct ipv4_hdr ip = *ip_in;
	size_t l4_len = tcp_hdr_len(t) + plen;
	uint8_t *l4 = buf + ETH_HLEN + IPV4_HLEN;
	uint16_t c;

	e.type = ETHTYPE_IPV4;
	eth_emit(buf, &e);
	ip.proto = IPPROTO_TCP_;
	ip.tot_len = (uint16_t)(IPV4_HLEN + l4_len);
	ipv4_emit(buf + ETH_HLEN, &ip);
	tcp_emit(l4, t);
	if (plen)
		memcpy(l4 + t->hlen, pl, plen);
	c = csum_fold(csum_partial(
		l4, l4_len,
		csum_pseudo(ip.src, ip.dst, IPPROTO_TCP_, (uint16_t)l4_len)));
	l4[16] = (uint8_t)(c >> 8);
	l4[17] = (uint8_t)c;
	return ETH_HLEN + IPV4_HLEN + l4_len;
}

/* fb_icmp - eth + ipv4 + ICMP echo (checksum from icmp_echo_emit). */
static inline size_t fb_icmp(uint8_t *buf, const struct eth_hdr *eth,
			     const struct ipv4_hdr *ip_in,
			     const struct icmp_echo *ic)
{
	struct eth_hdr e = *eth;
	struct ipv4_hdr ip = *ip_in;

	e.type = ETHTYPE_IPV4;
	eth_emit(buf, &e);
	ip.proto = IPPROTO_ICMP_;
	ip.tot_len = (uint16_t)(IPV4_HLEN + icmp_echo_len(ic));
	ipv4_emit(buf + ETH_HLEN, &ip);
	return ETH_HLEN + IPV4_HLEN +
	       icmp_echo_emit(buf + ETH_HLEN + IPV4_HLEN, ic);
}

/* fb_arp - eth + ARP, no padding. */
static inline size_t fb_arp(uint8_t *buf, const struct eth_hdr *eth,
			    const struct arp_pkt *a)
{
	struct eth_hdr e = *eth;

	e.type = ETHTYPE_ARP;
	eth_emit(buf, &e);
	return ETH_HLEN + arp_emit(buf + ETH_HLEN, a);
}

#endif /* TAS_TESTS_FRAME_BUILD_H */
