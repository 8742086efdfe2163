/* test_wire.c - packet codec: round trips, every error code, truncation,
 * Ethernet padding, Linux option layout
 *
 * RFC 791, 792, 826, 9293, 7323, 2018 as tcp/wire.c follows them. Run under
 * ASan: truncated frames are copied into exact-size heap buffers so any read
 * past len is caught.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "tcp/csum.h"
#include "tcp/wire.h"
#include "tests/unit/kat/frame_build.h"

static const struct eth_hdr ETH = {
	.dst = { 0x02, 0, 0, 0, 0, 0x02 },
	.src = { 0x02, 0, 0, 0, 0, 0x01 },
};

static struct ipv4_hdr ip_tmpl(void)
{
	struct ipv4_hdr ip = {
		.tos = IP_ECN_ECT0,
		.id = 0x1234,
		.ttl = 64,
		.src = htonl(0xc6120001),
		.dst = htonl(0xc6120002),
	};

	return ip;
}

static struct tcp_hdr tcp_syn_tmpl(void)
{
	struct tcp_hdr t = {
		.sport = 40000,
		.dport = 80,
		.seq = 0xfffffff0u,
		.ack = 0,
		.flags = TCP_SYN,
		.wnd = 64240,
		.opts = { .has_mss = true,
			  .mss = 1460,
			  .sack_ok = true,
			  .has_ts = true,
			  .ts_val = 0x01020304,
			  .ts_ecr = 0,
			  .has_wscale = true,
			  .wscale = 7 },
	};

	return t;
}

static const uint8_t PAYLOAD[10] = "0123456789";

/* The base TCP frame of the error table: SYN+ACK with all SYN options and
 * 10 bytes of payload, 84 bytes. */
static size_t base_tcp(uint8_t *buf)
{
	struct ipv4_hdr ip = ip_tmpl();
	struct tcp_hdr t = tcp_syn_tmpl();

	t.flags = TCP_SYN | TCP_ACK;
	return fb_tcp(buf, &ETH, &ip, &t, PAYLOAD, sizeof(PAYLOAD));
}

static size_t base_icmp(uint8_t *buf)
{
	struct ipv4_hdr ip = ip_tmpl();
	struct icmp_echo ic = { .type = ICMP_ECHO_REQUEST,
				.id = 0x4242,
				.seq = 7,
				.data = PAYLOAD,
				.data_len = 5 };

	return fb_icmp(buf, &ETH, &ip, &ic);
}

static size_t base_arp(uint8_t *buf)
{
	struct arp_pkt a = { .op = ARP_OP_REQUEST,
			     .sha = { 0x02, 0, 0, 0, 0, 1 },
			     .spa = htonl(0xc6120001),
			     .tpa = htonl(0xc6120002) };

	return fb_arp(buf, &ETH, &a);
}

static void assert_opts_equal(const struct tcp_opts *a,
			      const struct tcp_opts *b)
{
	assert_int_equal(a->has_mss, b->has_mss);
	if (a->has_mss)
		assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->has_wscale, b->has_wscale);
	if (a->has_wscale)
		assert_int_equal(a->wscale, b->wscale);
	assert_int_equal(a->sack_ok, b->sack_ok);
	assert_int_equal(a->has_ts, b->has_ts);
	if (a->has_ts) {
		assert_int_equal(a->ts_val, b->ts_val);
		assert_int_equal(a->ts_ecr, b->ts_ecr);
	}
	assert_int_equal(a->nsack, b->nsack);
	for (int i = 0; i < a->nsack; i++) {
		assert_int_equal(a->sack[i].start, b->sack[i].start);
		assert_int_equal(a->sack[i].end, b->sack[i].end);
	}
}

/* ---- names ---- */

static void test_pkt_err_str_every_code_named_uniquely(void **state)
{
	(void)state;
	for (int i = 0; i < PKT_ERR__NR; i++) {
		const char *s = pkt_err_str((enum pkt_err)i);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_not_equal(s, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(s,
						pkt_err_str((enum pkt_err)j));
	}
	assert_string_equal(pkt_err_str(PKT_OK), "ok");
	assert_string_equal(pkt_err_str(PKT_ERR_IP_CSUM), "ip_csum");
	assert_string_equal(pkt_err_str(PKT_ERR__NR), "unknown");
	assert_string_equal(pkt_err_str((enum pkt_err) - 1), "unknown");
}

/* ---- round trips, one per emitter ---- */

static void test_eth_emit_parse_roundtrip(void **state)
{
	static const uint16_t types[] = { ETHTYPE_IPV4, ETHTYPE_ARP };
	uint8_t b[ETH_HLEN];
	struct eth_hdr in = ETH, out;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		in.type = types[i];
		assert_int_equal(eth_emit(b, &in), ETH_HLEN);
		assert_int_equal(eth_parse(b, sizeof(b), &out), PKT_OK);
		assert_memory_equal(out.dst, in.dst, ETH_ALEN);
		assert_memory_equal(out.src, in.src, ETH_ALEN);
		assert_int_equal(out.type, in.type);
	}
	assert_int_equal(b[12], 0x08);
	assert_int_equal(b[13], 0x06);
}

static void test_arp_emit_parse_roundtrip(void **state)
{
	uint8_t b[ARP_LEN];
	struct arp_pkt in = { .sha = { 1, 2, 3, 4, 5, 6 },
			      .spa = htonl(0x0a000001),
			      .tha = { 7, 8, 9, 10, 11, 12 },
			      .tpa = htonl(0x0a000002) },
		       out;

	(void)state;
	for (uint16_t op = ARP_OP_REQUEST; op <= ARP_OP_REPLY; op++) {
		in.op = op;
		assert_int_equal(arp_emit(b, &in), ARP_LEN);
		assert_int_equal(arp_parse(b, sizeof(b), &out), PKT_OK);
		assert_int_equal(out.op, op);
		assert_memory_equal(out.sha, in.sha, ETH_ALEN);
		assert_memory_equal(out.tha, in.tha, ETH_ALEN);
		assert_int_equal(out.spa, in.spa);
		assert_int_equal(out.tpa, in.tpa);
	}
	/* network-order address bytes on the wire */
	assert_int_equal(b[14], 10);
	assert_int_equal(b[17], 1);
}

static void test_ipv4_emit_parse_roundtrip_sets_df_and_csum(void **state)
{
	uint8_t b[IPV4_HLEN + 8] = { 0 };
	struct ipv4_hdr in = ip_tmpl(), out;

	(void)state;
	in.proto = IPPROTO_TCP_;
	in.tot_len = sizeof(b);
	assert_int_equal(ipv4_emit(b, &in), IPV4_HLEN);
	assert_int_equal(b[0], 0x45);
	assert_int_equal(b[6], 0x40); /* DF */
	assert_int_equal(b[7], 0x00);
	assert_int_equal(csum_fold(csum_partial(b, IPV4_HLEN, 0)), 0);
	assert_int_equal(ipv4_parse(b, sizeof(b), &out), PKT_OK);
	assert_int_equal(out.tos, in.tos);
	assert_int_equal(out.tot_len, in.tot_len);
	assert_int_equal(out.id, in.id);
	assert_int_equal(out.ttl, in.ttl);
	assert_int_equal(out.proto, in.proto);
	assert_int_equal(out.src, in.src);
	assert_int_equal(out.dst, in.dst);
	assert_int_equal(out.hlen, IPV4_HLEN);
}

static void test_icmp_emit_parse_roundtrip_odd_and_in_place(void **state)
{
	uint8_t b[64];
	struct icmp_echo in = { .type = ICMP_ECHO_REQUEST,
				.id = 0xbeef,
				.seq = 0xffff,
				.data = PAYLOAD },
			 out;

	(void)state;
	for (size_t n = 0; n <= sizeof(PAYLOAD); n++) {
		in.data_len = n;
		assert_int_equal(icmp_echo_len(&in), 8 + n);
		assert_int_equal(icmp_echo_emit(b, &in), 8 + n);
		assert_int_equal(icmp_echo_parse(b, 8 + n, &out), PKT_OK);
		assert_int_equal(out.type, in.type);
		assert_int_equal(out.id, in.id);
		assert_int_equal(out.seq, in.seq);
		assert_int_equal(out.data_len, n);
		assert_ptr_equal(out.data, b + 8);
		assert_memory_equal(out.data, PAYLOAD, n);
	}
	/* echo reply built in place from the parsed request */
	out.type = ICMP_ECHO_REPLY;
	assert_int_equal(icmp_echo_emit(b, &out), 8 + sizeof(PAYLOAD));
	assert_int_equal(icmp_echo_parse(b, 8 + sizeof(PAYLOAD), &in), PKT_OK);
	assert_int_equal(in.type, ICMP_ECHO_REPLY);
	assert_memory_equal(in.data, PAYLOAD, sizeof(PAYLOAD));
}

/* Every combination of options and 0..4 SACK blocks through tcp_emit and
 * tcp_parse; SACK blocks that do not fit the 40 bytes are dropped from the
 * end, never the others. */
static void test_tcp_emit_parse_roundtrip_all_option_sets(void **state)
{
	uint8_t b[TCP_HLEN + TCP_OPT_MAX];
	struct tcp_hdr in = tcp_syn_tmpl(), out;

	(void)state;
	in.flags = TCP_ACK | TCP_PSH | TCP_ECE | TCP_CWR | TCP_URG;
	in.ack = 0x80000000u;
	in.urg = 3;
	for (unsigned int m = 0; m < 16; m++) {
		for (uint8_t ns = 0; ns <= TCP_SACK_MAX; ns++) {
			size_t len, fit;

			in.opts.has_mss = m & 1;
			in.opts.sack_ok = m & 2;
			in.opts.has_ts = m & 4;
			in.opts.has_wscale = m & 8;
			in.opts.nsack = ns;
			for (int i = 0; i < TCP_SACK_MAX; i++) {
				in.opts.sack[i].start = 0xfffffff0u + 100 * i;
				in.opts.sack[i].end = 50 + 100 * i;
			}
			len = tcp_emit(b, &in);
			assert_int_equal(len, tcp_hdr_len(&in));
			assert_int_equal(in.hlen, len);
			assert_int_equal(len % 4, 0);
			assert_true(len <= sizeof(b));
			assert_int_equal(b[16], 0); /* checksum left 0 */
			assert_int_equal(b[17], 0);
			assert_int_equal(tcp_parse(b, len, &out), PKT_OK);
			assert_int_equal(out.sport, in.sport);
			assert_int_equal(out.dport, in.dport);
			assert_int_equal(out.seq, in.seq);
			assert_int_equal(out.ack, in.ack);
			assert_int_equal(out.flags, in.flags);
			assert_int_equal(out.wnd, in.wnd);
			assert_int_equal(out.urg, in.urg);
			assert_int_equal(out.hlen, len);
			fit = out.opts.nsack;
			assert_true(fit <= ns);
			if (fit < ns) /* one more block would overflow */
				assert_true(len + 8 > TCP_HLEN + TCP_OPT_MAX);
			in.opts.nsack = (uint8_t)fit;
			assert_opts_equal(&out.opts, &in.opts);
		}
	}
}

struct layout_case {
	const char *name;
	struct tcp_opts opts;
	uint8_t bytes[TCP_OPT_MAX];
	size_t len;
};

static void test_tcp_opts_emit_layout_matches_linux(void **state)
{
	static const struct layout_case
		cases[] = {
			{ "syn all",
			  { .has_mss = true,
			    .mss = 1460,
			    .sack_ok = true,
			    .has_ts = true,
			    .ts_val = 0x11223344,
			    .ts_ecr = 0,
			    .has_wscale = true,
			    .wscale = 7 },
			  { 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08,
			    0x0a, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00,
			    0x00, 0x00, 0x01, 0x03, 0x03, 0x07 },
			  20 },
			{ "syn no sack",
			  { .has_mss = true,
			    .mss = 536,
			    .has_ts = true,
			    .ts_val = 1,
			    .ts_ecr = 2,
			    .has_wscale = true,
			    .wscale = 0 },
			  { 0x02, 0x04, 0x02, 0x18, 0x01, 0x01, 0x08,
			    0x0a, 0,	0,    0,    1,	  0,	0,
			    0,	  2,	0x01, 0x03, 0x03, 0x00 },
			  20 },
			{ "syn no ts",
			  { .has_mss = true,
			    .mss = 1460,
			    .sack_ok = true,
			    .has_wscale = true,
			    .wscale = 9 },
			  { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02,
			    0x01, 0x03, 0x03, 0x09 },
			  12 },
			{ "ack ts sack",
			  { .has_ts = true,
			    .ts_val = 0xaabbccdd,
			    .ts_ecr = 0x01,
			    .nsack = 1,
			    .sack = { { 0x10, 0x20 } } },
			  { 0x01, 0x01, 0x08, 0x0a, 0xaa, 0xbb, 0xcc, 0xdd,
			    0,	  0,	0,    1,    0x01, 0x01, 0x05, 0x0a,
			    0,	  0,	0,    0x10, 0,	  0,	0,    0x20 },
			  24 },
			{ "none", { 0 }, { 0 }, 0 },
		};
	uint8_t b[TCP_HLEN + TCP_OPT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tcp_hdr h = { .flags = TCP_SYN, .opts = cases[i].opts };

		print_message("layout %s\n", cases[i].name);
		assert_int_equal(tcp_opts_len(&h.opts), cases[i].len);
		assert_int_equal(tcp_emit(b, &h), TCP_HLEN + cases[i].len);
		assert_int_equal(b[12] >> 4, (TCP_HLEN + cases[i].len) / 4);
		assert_memory_equal(b + TCP_HLEN, cases[i].bytes, cases[i].len);
	}
}

static void test_tcp_opts_emit_sack_overflow_keeps_first_blocks(void **state)
{
	struct tcp_opts o = { .has_ts = true, .has_wscale = true, .nsack = 4 };
	struct tcp_hdr h = { .flags = TCP_ACK }, out;
	uint8_t b[TCP_HLEN + TCP_OPT_MAX];

	(void)state;
	for (int i = 0; i < 4; i++) {
		o.sack[i].start = 1000u * (i + 1);
		o.sack[i].end = 1000u * (i + 1) + 500;
	}
	h.opts = o;
	/* 12 (TS) + 4 (WS) leave 24: NOP NOP SACK with 2 blocks = 20 */
	assert_int_equal(tcp_opts_len(&o), 36);
	assert_int_equal(tcp_emit(b, &h), TCP_HLEN + 36);
	assert_int_equal(tcp_parse(b, TCP_HLEN + 36, &out), PKT_OK);
	assert_int_equal(out.opts.nsack, 2);
	assert_int_equal(out.opts.sack[0].start, 1000);
	assert_int_equal(out.opts.sack[1].end, 2500);
	/* more blocks than TCP_SACK_MAX are clamped, not overrun */
	o.has_ts = o.has_wscale = false;
	o.nsack = 200;
	assert_int_equal(tcp_opts_len(&o), 4 + 8 * TCP_SACK_MAX);
}

static void test_tcp_opts_parse_unknown_skipped_eol_stops(void **state)
{
	static const uint8_t b[] = {
		0xfd, 0x04, 0xab, 0xcd,			  /* unknown, skipped */
		0x01, 0x03, 0x03, 0x05,			  /* NOP WS 5 */
		0x02, 0x04, 0x01, 0x00,			  /* MSS 256 */
		0x02, 0x04, 0x02, 0x00,			  /* again: last wins */
		0x00, 0x02, 0x01, 0xff, 0x03, 0x09, 0x09, /* EOL, then junk */
	};
	struct tcp_opts o;

	(void)state;
	assert_int_equal(tcp_opts_parse(b, sizeof(b), &o), PKT_OK);
	assert_true(o.has_wscale);
	assert_int_equal(o.wscale, 5);
	assert_true(o.has_mss);
	assert_int_equal(o.mss, 512);
	assert_false(o.has_ts);
	assert_false(o.sack_ok);
	assert_int_equal(o.nsack, 0);
	/* an empty area, and one of NOPs only */
	assert_int_equal(tcp_opts_parse(b, 0, &o), PKT_OK);
	assert_int_equal(tcp_opts_parse((const uint8_t *)"\1\1\1\1", 4, &o),
			 PKT_OK);
}

/* ---- whole frames ---- */

static void test_pkt_parse_tcp_frame_roundtrip(void **state)
{
	uint8_t b[FB_MAX];
	struct ipv4_hdr ip = ip_tmpl();
	struct tcp_hdr t = tcp_syn_tmpl();
	struct pkt p;
	size_t len;

	(void)state;
	t.flags = TCP_ACK | TCP_PSH;
	t.opts.has_mss = t.opts.sack_ok = t.opts.has_wscale = false;
	t.opts.nsack = 3;
	t.opts.sack[0].start = 1;
	t.opts.sack[0].end = 2;
	t.opts.sack[1].start = 3;
	t.opts.sack[1].end = 4;
	t.opts.sack[2].start = 5;
	t.opts.sack[2].end = 6;
	len = fb_tcp(b, &ETH, &ip, &t, PAYLOAD, sizeof(PAYLOAD));
	for (int v = 0; v < 2; v++) {
		assert_int_equal(pkt_parse(b, len, v, &p), PKT_OK);
		assert_int_equal(p.kind, PKT_KIND_TCP);
		assert_int_equal(p.eth.type, ETHTYPE_IPV4);
		assert_ptr_equal(p.l3, b + ETH_HLEN);
		assert_ptr_equal(p.l4, b + ETH_HLEN + IPV4_HLEN);
		assert_int_equal(p.ip.tos, IP_ECN_ECT0);
		assert_int_equal(p.ip.tot_len, len - ETH_HLEN);
		assert_int_equal(p.tcp.hlen, t.hlen);
		assert_int_equal(p.tcp.flags, t.flags);
		assert_opts_equal(&p.tcp.opts, &t.opts);
		assert_int_equal(p.payload_len, sizeof(PAYLOAD));
		assert_ptr_equal(p.payload, b + len - sizeof(PAYLOAD));
	}
}

static void test_pkt_parse_icmp_and_arp_frames_roundtrip(void **state)
{
	uint8_t b[FB_MAX];
	struct pkt p;
	size_t len;

	(void)state;
	len = base_icmp(b);
	assert_int_equal(pkt_parse(b, len, true, &p), PKT_OK);
	assert_int_equal(p.kind, PKT_KIND_ICMP);
	assert_int_equal(p.icmp.type, ICMP_ECHO_REQUEST);
	assert_int_equal(p.icmp.id, 0x4242);
	assert_int_equal(p.icmp.seq, 7);
	assert_int_equal(p.icmp.data_len, 5);
	assert_memory_equal(p.icmp.data, PAYLOAD, 5);
	assert_int_equal(p.payload_len, 5);

	len = base_arp(b);
	assert_int_equal(len, 42);
	assert_int_equal(pkt_parse(b, len, true, &p), PKT_OK);
	assert_int_equal(p.kind, PKT_KIND_ARP);
	assert_int_equal(p.arp.op, ARP_OP_REQUEST);
	assert_int_equal(p.arp.tpa, htonl(0xc6120002));
}

/* 54-byte ACK padded to the 60-byte Ethernet minimum: the padding is not
 * payload and not summed, whatever its bytes. Same for ICMP. */
static void test_pkt_parse_eth_padding_not_payload(void **state)
{
	static const uint8_t fills[] = { 0x00, 0xaa, 0xff };
	uint8_t b[FB_MAX];
	struct ipv4_hdr ip = ip_tmpl();
	struct tcp_hdr t = { .sport = 1, .dport = 2, .flags = TCP_ACK };
	struct pkt p;
	size_t len;

	(void)state;
	for (size_t f = 0; f < sizeof(fills); f++) {
		len = fb_tcp(b, &ETH, &ip, &t, NULL, 0);
		assert_int_equal(len, 54);
		memset(b + len, fills[f], 60 - len);
		assert_int_equal(pkt_parse(b, 60, true, &p), PKT_OK);
		assert_int_equal(p.kind, PKT_KIND_TCP);
		assert_int_equal(p.payload_len, 0);

		len = base_icmp(b);
		memset(b + len, fills[f], 60 - len);
		assert_int_equal(pkt_parse(b, 60, true, &p), PKT_OK);
		assert_int_equal(p.icmp.data_len, 5);
		assert_int_equal(p.payload_len, 5);

		len = base_arp(b);
		memset(b + len, fills[f], 60 - len);
		assert_int_equal(pkt_parse(b, 60, true, &p), PKT_OK);
		assert_int_equal(p.kind, PKT_KIND_ARP);
	}
}

/* Every prefix of a valid frame, in an exact-size heap copy: never OK,
 * never a read past the end (ASan). Sub-parsers get the same treatment. */
static void test_pkt_parse_truncated_every_length_fails(void **state)
{
	size_t (*const bases[])(uint8_t *) = { base_tcp, base_icmp, base_arp };
	uint8_t full[FB_MAX];

	(void)state;
	for (size_t k = 0; k < sizeof(bases) / sizeof(bases[0]); k++) {
		size_t n = bases[k](full);

		for (size_t len = 0; len < n; len++) {
			uint8_t *c = malloc(len ? len : 1);
			union {
				struct eth_hdr eth;
				struct arp_pkt arp;
				struct ipv4_hdr ip;
				struct icmp_echo ic;
				struct tcp_hdr tcp;
				struct tcp_opts opts;
			} u;
			struct pkt p;

			assert_non_null(c);
			memcpy(c, full, len);
			assert_int_not_equal(pkt_parse(c, len, true, &p),
					     PKT_OK);
			assert_int_not_equal(pkt_parse(c, len, false, &p),
					     PKT_OK);
			/* same bytes through each parser at each layer:
			 * results vary, reads must stay inside */
			(void)eth_parse(c, len, &u.eth);
			for (size_t off = 0; off <= len; off++) {
				(void)arp_parse(c + off, len - off, &u.arp);
				(void)ipv4_parse(c + off, len - off, &u.ip);
				(void)icmp_echo_parse(c + off, len - off,
						      &u.ic);
				(void)tcp_parse(c + off, len - off, &u.tcp);
				(void)tcp_opts_parse(c + off, len - off,
						     &u.opts);
			}
			free(c);
		}
		assert_int_equal(pkt_parse(full, n, true, &(struct pkt){ 0 }),
				 PKT_OK);
	}
}

/* ---- every error code ---- */

enum parser { P_PKT, P_PKT_NOCSUM, P_ETH, P_ARP, P_IPV4, P_ICMP, P_TCP };
enum base { B_TCP, B_ICMP, B_ARP };

struct mut {
	uint8_t off, val;
};

struct err_case {
	const char *name;
	enum parser parser;
	enum base base;
	int len; /* bytes from the parser's layer; 0: all */
	int fix; /* FIX_IP / FIX_L4: recompute that checksum after mut */
	enum pkt_err want;
	int nmut;
	struct mut mut[2];
};

enum { FIX_IP = 1, FIX_L4 = 2 };
#define NOMUT                \
	{                    \
		{ 0, 0 },    \
		{            \
			0, 0 \
		}            \
	}

/* Offsets in the base frames: IPv4 at 14, L4 at 34, TCP flags at 47,
 * TCP options at 54 (MSS 54, SACK_PERM 58, TS 60, NOP 70, WS 71). */
/* One case per line reads as a table, so clang-format keeps out. */
/* clang-format off */
static const struct err_case err_cases[] = {
	/* name, parser, base, len, fix, want, nmut, mutations (off, byte) */
	{ "tcp ok", P_PKT, B_TCP, 0, 0, PKT_OK, 0, NOMUT },
	{ "eth short", P_ETH, B_TCP, 13, 0, PKT_ERR_SHORT, 0, NOMUT },
	{ "frame short", P_PKT, B_TCP, 5, 0, PKT_ERR_SHORT, 0, NOMUT },
	{ "vlan", P_PKT, B_TCP, 0, 0, PKT_ERR_VLAN, 2, { { 12, 0x81 }, { 13, 0x00 } } },
	{ "qinq", P_ETH, B_TCP, 0, 0, PKT_ERR_VLAN, 2, { { 12, 0x88 }, { 13, 0xa8 } } },
	{ "ipv6", P_PKT, B_TCP, 0, 0, PKT_ERR_ETHERTYPE, 2, { { 12, 0x86 }, { 13, 0xdd } } },
	{ "ethertype", P_ETH, B_TCP, 0, 0, PKT_ERR_ETHERTYPE, 2, { { 12, 0x08 }, { 13, 0x05 } } },
	{ "arp short", P_ARP, B_ARP, 27, 0, PKT_ERR_SHORT, 0, NOMUT },
	{ "arp frame short", P_PKT, B_ARP, 20, 0, PKT_ERR_SHORT, 0, NOMUT },
	{ "arp htype", P_PKT, B_ARP, 0, 0, PKT_ERR_ARP_FORMAT, 1, { { 15, 6 } } },
	{ "arp ptype", P_ARP, B_ARP, 0, 0, PKT_ERR_ARP_FORMAT, 1, { { 16, 0x86 } } },
	{ "arp hlen", P_ARP, B_ARP, 0, 0, PKT_ERR_ARP_FORMAT, 1, { { 18, 8 } } },
	{ "arp plen", P_ARP, B_ARP, 0, 0, PKT_ERR_ARP_FORMAT, 1, { { 19, 16 } } },
	{ "arp op 3", P_ARP, B_ARP, 0, 0, PKT_ERR_ARP_FORMAT, 1, { { 21, 3 } } },
	{ "arp op 0", P_ARP, B_ARP, 0, 0, PKT_ERR_ARP_FORMAT, 1, { { 21, 0 } } },
	{ "ip short", P_IPV4, B_TCP, 19, 0, PKT_ERR_SHORT, 0, NOMUT },
	{ "ip frame short", P_PKT, B_TCP, 33, 0, PKT_ERR_SHORT, 0, NOMUT },
	{ "ip version 6", P_PKT, B_TCP, 0, FIX_IP, PKT_ERR_IP_VERSION, 1, { { 14, 0x65 } } },
	{ "ip ihl 4", P_IPV4, B_TCP, 0, FIX_IP, PKT_ERR_IP_HLEN, 1, { { 14, 0x44 } } },
	{ "ip ihl past len", P_IPV4, B_TCP, 40, FIX_IP, PKT_ERR_IP_HLEN, 1, { { 14, 0x4f } } },
	{ "ip tot_len < ihl", P_PKT, B_TCP, 0, FIX_IP, PKT_ERR_IP_LEN, 2, { { 16, 0 }, { 17, 19 } } },
	{ "ip tot_len > frame", P_PKT, B_TCP, 0, FIX_IP, PKT_ERR_IP_LEN, 1, { { 16, 0x7f } } },
	{ "ip csum", P_PKT, B_TCP, 0, 0, PKT_ERR_IP_CSUM, 2, { { 24, 0x00 }, { 25, 0x01 } } },
	{ "ip csum direct", P_IPV4, B_TCP, 0, 0, PKT_ERR_IP_CSUM, 1, { { 25, 0x55 } } },
	{ "ip csum ignored", P_PKT_NOCSUM, B_TCP, 0, 0, PKT_OK, 2, { { 24, 0 }, { 25, 1 } } },
	{ "ip mf", P_PKT, B_TCP, 0, FIX_IP, PKT_ERR_IP_FRAG, 1, { { 20, 0x60 } } },
	{ "ip frag off", P_IPV4, B_TCP, 0, FIX_IP, PKT_ERR_IP_FRAG, 2, { { 20, 0x00 }, { 21, 0x01 } } },
	{ "ip opts", P_PKT, B_TCP, 0, FIX_IP, PKT_ERR_IP_OPTS, 1, { { 14, 0x46 } } },
	{ "ip ttl 0", P_PKT, B_TCP, 0, FIX_IP, PKT_ERR_IP_TTL, 1, { { 22, 0 } } },
	{ "ip proto udp", P_PKT, B_TCP, 0, FIX_IP, PKT_ERR_IP_PROTO, 1, { { 23, 17 } } },
	{ "icmp ok", P_PKT, B_ICMP, 0, 0, PKT_OK, 0, NOMUT },
	{ "icmp short", P_ICMP, B_ICMP, 7, 0, PKT_ERR_SHORT, 0, NOMUT },
	{ "icmp tot_len short", P_PKT, B_ICMP, 0, FIX_IP, PKT_ERR_SHORT, 1, { { 17, 27 } } },
	{ "icmp type 3", P_PKT, B_ICMP, 0, FIX_L4, PKT_ERR_ICMP_TYPE, 1, { { 34, 3 } } },
	{ "icmp code 1", P_ICMP, B_ICMP, 0, FIX_L4, PKT_ERR_ICMP_TYPE, 1, { { 35, 1 } } },
	{ "icmp csum", P_PKT, B_ICMP, 0, 0, PKT_ERR_ICMP_CSUM, 2, { { 36, 0 }, { 37, 0 } } },
	{ "icmp csum direct", P_ICMP, B_ICMP, 0, 0, PKT_ERR_ICMP_CSUM, 1, { { 40, 0x77 } } },
	{ "icmp csum ignored", P_PKT_NOCSUM, B_ICMP, 0, 0, PKT_OK, 1, { { 36, 0 } } },
	{ "tcp short", P_TCP, B_TCP, 19, 0, PKT_ERR_SHORT, 0, NOMUT },
	{ "tcp tot_len short", P_PKT, B_TCP, 0, FIX_IP, PKT_ERR_SHORT, 1, { { 17, 39 } } },
	{ "tcp doff 4", P_PKT, B_TCP, 0, FIX_L4, PKT_ERR_TCP_OFF, 1, { { 46, 0x40 } } },
	{ "tcp doff 15", P_PKT, B_TCP, 0, FIX_L4, PKT_ERR_TCP_OFF, 1, { { 46, 0xf0 } } },
	{ "tcp mss len 3", P_PKT, B_TCP, 0, FIX_L4, PKT_ERR_TCP_OPT, 1, { { 55, 3 } } },
	{ "tcp sackperm len 3", P_TCP, B_TCP, 0, FIX_L4, PKT_ERR_TCP_OPT, 1, { { 59, 3 } } },
	{ "tcp ts len 8", P_TCP, B_TCP, 0, FIX_L4, PKT_ERR_TCP_OPT, 1, { { 61, 8 } } },
	{ "tcp ws len 2", P_TCP, B_TCP, 0, FIX_L4, PKT_ERR_TCP_OPT, 1, { { 72, 2 } } },
	{ "tcp opt past area", P_TCP, B_TCP, 0, FIX_L4, PKT_ERR_TCP_OPT, 2, { { 71, 0xfe }, { 72, 4 } } },
	{ "tcp opt len 0", P_TCP, B_TCP, 0, FIX_L4, PKT_ERR_TCP_OPT, 2, { { 71, 0xfe }, { 72, 0 } } },
	{ "tcp opt len 1", P_TCP, B_TCP, 0, FIX_L4, PKT_ERR_TCP_OPT, 2, { { 71, 0xfe }, { 72, 1 } } },
	/* window shift parsed as sent; the receiver clamps it to 14 */
	{ "tcp ws shift 15 kept", P_TCP, B_TCP, 0, FIX_L4, PKT_OK, 1, { { 73, 15 } } },
	{ "tcp csum", P_PKT, B_TCP, 0, 0, PKT_ERR_TCP_CSUM, 1, { { 80, 'x' } } },
	{ "tcp csum ignored", P_PKT_NOCSUM, B_TCP, 0, 0, PKT_OK, 1, { { 50, 0 } } },
	{ "tcp syn+rst", P_PKT, B_TCP, 0, FIX_L4, PKT_ERR_TCP_FLAGS, 1, { { 47, 0x06 } } },
	{ "tcp syn+fin", P_TCP, B_TCP, 0, FIX_L4, PKT_ERR_TCP_FLAGS, 1, { { 47, 0x03 } } },
	{ "tcp no flags", P_TCP, B_TCP, 0, FIX_L4, PKT_ERR_TCP_FLAGS, 1, { { 47, 0x00 } } },
	{ "tcp ece+cwr only", P_TCP, B_TCP, 0, FIX_L4, PKT_ERR_TCP_FLAGS, 1, { { 47, 0xc0 } } },
	{ "tcp fin only", P_PKT, B_TCP, 0, FIX_L4, PKT_OK, 1, { { 47, 0x01 } } },
};
/* clang-format on */

struct opt_case {
	const char *name;
	uint8_t b[44];
	size_t len;
	enum pkt_err want;
};

static const struct opt_case opt_cases[] = {
	{ "kind without len", { 0x02 }, 1, PKT_ERR_TCP_OPT },
	{ "unknown len 1", { 0xfe, 0x01, 0x01, 0x01 }, 4, PKT_ERR_TCP_OPT },
	{ "unknown overrun", { 0xfe, 0x06, 0, 0 }, 4, PKT_ERR_TCP_OPT },
	{ "unknown exact", { 0xfe, 0x04, 0, 0 }, 4, PKT_OK },
	{ "mss len 5", { 0x02, 0x05, 0, 0, 0 }, 5, PKT_ERR_TCP_OPT },
	{ "ws len 4", { 0x03, 0x04, 7, 0 }, 4, PKT_ERR_TCP_OPT },
	{ "sackperm len 4", { 0x04, 0x04, 0, 0 }, 4, PKT_ERR_TCP_OPT },
	{ "sack 0 blocks", { 0x05, 0x02, 1, 1 }, 4, PKT_ERR_TCP_OPT },
	{ "sack len 11", { 0x05, 0x0b }, 12, PKT_ERR_TCP_OPT },
	{ "sack 5 blocks", { 0x05, 0x2a }, 42, PKT_ERR_TCP_OPT },
	{ "sack 4 blocks", { 0x05, 0x22 }, 34, PKT_OK },
	{ "ts len 9", { 0x08, 0x09 }, 9, PKT_ERR_TCP_OPT },
	{ "ts truncated", { 0x08, 0x0a, 0, 0 }, 4, PKT_ERR_TCP_OPT },
};

static enum pkt_err run_err_case(const struct err_case *c)
{
	static const size_t layer_off[] = {
		[P_PKT] = 0,	    [P_PKT_NOCSUM] = 0,	 [P_ETH] = 0,
		[P_ARP] = ETH_HLEN, [P_IPV4] = ETH_HLEN, [P_ICMP] = 34,
		[P_TCP] = 34,
	};
	uint8_t full[FB_MAX];
	size_t n, off = layer_off[c->parser], len;
	union {
		struct pkt p;
		struct eth_hdr eth;
		struct arp_pkt arp;
		struct ipv4_hdr ip;
		struct icmp_echo ic;
		struct tcp_hdr tcp;
	} u;
	uint8_t *buf;
	enum pkt_err e;

	n = c->base == B_TCP	? base_tcp(full)
	    : c->base == B_ICMP ? base_icmp(full)
				: base_arp(full);
	for (int i = 0; i < c->nmut; i++)
		full[c->mut[i].off] = c->mut[i].val;
	if (c->fix & FIX_IP) {
		size_t ihl = (full[14] & 0x0f) * 4u;
		uint16_t s;

		full[24] = full[25] = 0;
		s = csum_fold(csum_partial(full + 14, ihl < 20 ? 20 : ihl, 0));
		full[24] = (uint8_t)(s >> 8);
		full[25] = (uint8_t)s;
	}
	if (c->fix & FIX_L4) {
		size_t l4 = n - 34, at = c->base == B_TCP ? 34 + 16 : 34 + 2;
		uint32_t ps = c->base == B_TCP ? csum_pseudo(htonl(0xc6120001),
							     htonl(0xc6120002),
							     6, (uint16_t)l4)
					       : 0;
		uint16_t s;

		full[at] = full[at + 1] = 0;
		s = csum_fold(csum_partial(full + 34, l4, ps));
		full[at] = (uint8_t)(s >> 8);
		full[at + 1] = (uint8_t)s;
	}
	/* base frames have no padding: n - off is the exact layer length */
	len = c->len ? (size_t)c->len : n - off;
	buf = malloc(len);
	assert_non_null(buf);
	memcpy(buf, full + off, len);
	switch (c->parser) {
	case P_PKT:
		e = pkt_parse(buf, len, true, &u.p);
		break;
	case P_PKT_NOCSUM:
		e = pkt_parse(buf, len, false, &u.p);
		break;
	case P_ETH:
		e = eth_parse(buf, len, &u.eth);
		break;
	case P_ARP:
		e = arp_parse(buf, len, &u.arp);
		break;
	case P_IPV4:
		e = ipv4_parse(buf, len, &u.ip);
		break;
	case P_ICMP:
		e = icmp_echo_parse(buf, len, &u.ic);
		break;
	default:
		e = tcp_parse(buf, len, &u.tcp);
		break;
	}
	free(buf);
	return e;
}

static void test_parsers_every_error_code_produced(void **state)
{
	bool seen[PKT_ERR__NR] = { false };
	struct tcp_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		enum pkt_err e = run_err_case(c);

		if (e != c->want)
			fail_msg("case \"%s\": got %s, want %s", c->name,
				 pkt_err_str(e), pkt_err_str(c->want));
		seen[e] = true;
	}
	for (size_t i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
		const struct opt_case *c = &opt_cases[i];
		uint8_t *buf = malloc(c->len);
		enum pkt_err e;

		assert_non_null(buf);
		memcpy(buf, c->b, c->len);
		e = tcp_opts_parse(buf, c->len, &o);
		free(buf);
		if (e != c->want)
			fail_msg("opt case \"%s\": got %s, want %s", c->name,
				 pkt_err_str(e), pkt_err_str(c->want));
		seen[e] = true;
	}
	for (int i = 0; i < PKT_ERR__NR; i++)
		if (!seen[i])
			fail_msg("no case produces %s",
				 pkt_err_str((enum pkt_err)i));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkt_err_str_every_code_named_uniquely),
		cmocka_unit_test(test_eth_emit_parse_roundtrip),
		cmocka_unit_test(test_arp_emit_parse_roundtrip),
		cmocka_unit_test(
			test_ipv4_emit_parse_roundtrip_sets_df_and_csum),
		cmocka_unit_test(
			test_icmp_emit_parse_roundtrip_odd_and_in_place),
		cmocka_unit_test(test_tcp_emit_parse_roundtrip_all_option_sets),
		cmocka_unit_test(test_tcp_opts_emit_layout_matches_linux),
		cmocka_unit_test(
			test_tcp_opts_emit_sack_overflow_keeps_first_blocks),
		cmocka_unit_test(test_tcp_opts_parse_unknown_skipped_eol_stops),
		cmocka_unit_test(test_pkt_parse_tcp_frame_roundtrip),
		cmocka_unit_test(test_pkt_parse_icmp_and_arp_frames_roundtrip),
		cmocka_unit_test(test_pkt_parse_eth_padding_not_payload),
		cmocka_unit_test(test_pkt_parse_truncated_every_length_fails),
		cmocka_unit_test(test_parsers_every_error_code_produced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
