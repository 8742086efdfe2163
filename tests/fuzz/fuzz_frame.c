/* fuzz_frame.c - libFuzzer target: pkt_parse on whole Ethernet frames
 *
 * RFC 791, 792, 826, 9293, 7323, 2018. For any input: pkt_parse with and
 * without checksum verification agree (they differ only where a checksum
 * was wrong), pointers stay inside the input, and a frame that parses is
 * rebuilt with our emitters (header, options, payload, checksums) and must
 * parse again, verified, to the same fields. Mismatch -> abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/csum.h"
#include "tcp/wire.h"
#include "tests/unit/kat/frame_build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_csum_err(enum pkt_err e)
{
	return e == PKT_ERR_IP_CSUM || e == PKT_ERR_TCP_CSUM ||
	       e == PKT_ERR_ICMP_CSUM;
}

static void check_inside(const uint8_t *data, size_t size, const void *p,
			 size_t n)
{
	const uint8_t *q = p;

	if (q < data || q > data + size || n > (size_t)(data + size - q))
		abort();
}

static void check_opts(const struct tcp_opts *a, const struct tcp_opts *b,
		       size_t emitted)
{
	if (a->has_mss != b->has_mss || (a->has_mss && a->mss != b->mss) ||
	    a->has_wscale != b->has_wscale ||
	    (a->has_wscale && a->wscale != b->wscale) ||
	    a->sack_ok != b->sack_ok || a->has_ts != b->has_ts ||
	    (a->has_ts && (a->ts_val != b->ts_val || a->ts_ecr != b->ts_ecr)))
		abort();
	if (b->nsack > a->nsack ||
	    (b->nsack < a->nsack && emitted + 8 <= TCP_OPT_MAX))
		abort();
	for (int i = 0; i < b->nsack; i++)
		if (a->sack[i].start != b->sack[i].start ||
		    a->sack[i].end != b->sack[i].end)
			abort();
}

static void check_ip(const struct ipv4_hdr *a, const struct ipv4_hdr *b)
{
	if (a->tos != b->tos || a->id != b->id || a->ttl != b->ttl ||
	    a->proto != b->proto || a->src != b->src || a->dst != b->dst)
		abort();
}

static void roundtrip(const struct pkt *p)
{
	static uint8_t b[FB_MAX + 65536];
	struct pkt q;
	size_t n;

	switch (p->kind) {
	case PKT_KIND_ARP:
		n = fb_arp(b, &p->eth, &p->arp);
		if (pkt_parse(b, n, true, &q) != PKT_OK ||
		    q.kind != PKT_KIND_ARP || q.arp.op != p->arp.op ||
		    q.arp.spa != p->arp.spa || q.arp.tpa != p->arp.tpa ||
		    memcmp(q.arp.sha, p->arp.sha, ETH_ALEN) ||
		    memcmp(q.arp.tha, p->arp.tha, ETH_ALEN))
			abort();
		break;
	case PKT_KIND_ICMP:
		n = fb_icmp(b, &p->eth, &p->ip, &p->icmp);
		if (pkt_parse(b, n, true, &q) != PKT_OK ||
		    q.kind != PKT_KIND_ICMP || q.icmp.type != p->icmp.type ||
		    q.icmp.id != p->icmp.id || q.icmp.seq != p->icmp.seq ||
		    q.icmp.data_len != p->icmp.data_len ||
		    memcmp(q.icmp.data, p->icmp.data, p->icmp.data_len))
			abort();
		check_ip(&p->ip, &q.ip);
		break;
	case PKT_KIND_TCP: {
		struct tcp_hdr t = p->tcp;

		/* the options may shrink (SACK blocks that do not fit) */
		if (tcp_hdr_len(&t) + p->payload_len + IPV4_HLEN > 0xffff)
			return;
		n = fb_tcp(b, &p->eth, &p->ip, &t, p->payload, p->payload_len);
		if (pkt_parse(b, n, true, &q) != PKT_OK ||
		    q.kind != PKT_KIND_TCP || q.tcp.sport != p->tcp.sport ||
		    q.tcp.dport != p->tcp.dport || q.tcp.seq != p->tcp.seq ||
		    q.tcp.ack != p->tcp.ack || q.tcp.flags != p->tcp.flags ||
		    q.tcp.wnd != p->tcp.wnd || q.tcp.urg != p->tcp.urg ||
		    q.tcp.hlen != t.hlen || q.payload_len != p->payload_len ||
		    memcmp(q.payload, p->payload, p->payload_len))
			abort();
		check_ip(&p->ip, &q.ip);
		check_opts(&p->tcp.opts, &q.tcp.opts, t.hlen - TCP_HLEN);
		break;
	}
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt pv, pn;
	enum pkt_err ev = pkt_parse(data, size, true, &pv);
	enum pkt_err en = pkt_parse(data, size, false, &pn);

	if ((unsigned int)ev >= PKT_ERR__NR || (unsigned int)en >= PKT_ERR__NR)
		abort();
	if (is_csum_err(en))
		abort();
	if (!is_csum_err(ev) && ev != en)
		abort();
	if (is_csum_err(ev) && ev != PKT_ERR_IP_CSUM && en != PKT_OK)
		abort();
	if (en != PKT_OK)
		return 0;
	check_inside(data, size, pn.l3, 0);
	if (pn.kind != PKT_KIND_ARP) {
		check_inside(data, size, pn.l4, 0);
		check_inside(data, size, pn.payload, pn.payload_len);
		if (pn.ip.hlen != IPV4_HLEN || pn.ip.tot_len > size - ETH_HLEN)
			abort();
	}
	if (ev == PKT_OK)
		roundtrip(&pv);
	roundtrip(&pn);
	return 0;
}
