/* test_wire_kat.c - known-answer tests of the codec against scapy
 *
 * Both directions, against an independent implementation (python3-scapy):
 * - frames scapy built (tests/unit/kat/kat_frames.h, from gen_kat.py) are
 *   parsed by us field by field and checksum by checksum, and rebuilt by our
 *   emitters byte for byte where scapy used the Linux option layout;
 * - frames our emitters built are written to a temp file and judged by
 *   tests/unit/kat/check_ours.py, which recomputes every checksum with
 *   scapy. That test skips visibly when /usr/bin/python3 or scapy is
 *   missing; it never passes without them. It needs cwd = repository root
 *   (tests/run.sh runs there).
 *
 * RFC 791, 792, 826, 9293, 7323, 2018.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "tcp/csum.h"
#include "tcp/wire.h"
#include "tests/unit/kat/frame_build.h"
#include "tests/unit/kat/kat_frames.h"

#define KAT_N (sizeof(kat_frames) / sizeof(kat_frames[0]))
#define PYTHON "/usr/bin/python3"
#define CHECKER "tests/unit/kat/check_ours.py"

static uint32_t addr(const uint8_t a[4])
{
	uint32_t v;

	memcpy(&v, a, 4);
	return v;
}

static const struct kat_frame *kat_find(const char *name)
{
	for (size_t i = 0; i < KAT_N; i++)
		if (!strcmp(kat_frames[i].name, name))
			return &kat_frames[i];
	fail_msg("no KAT frame %s", name);
	return NULL;
}

static void check_fields(const struct kat_frame *k, const struct pkt *p)
{
	assert_memory_equal(p->eth.dst, k->eth_dst, 6);
	assert_memory_equal(p->eth.src, k->eth_src, 6);
	assert_int_equal(p->eth.type, k->eth_type);
	assert_int_equal(p->kind, k->kind);
	if (p->kind == PKT_KIND_ARP) {
		assert_int_equal(p->arp.op, k->arp_op);
		assert_memory_equal(p->arp.sha, k->arp_sha, 6);
		assert_memory_equal(p->arp.tha, k->arp_tha, 6);
		assert_int_equal(p->arp.spa, addr(k->arp_spa));
		assert_int_equal(p->arp.tpa, addr(k->arp_tpa));
		return;
	}
	assert_int_equal(p->ip.tos, k->ip_tos);
	assert_int_equal(p->ip.tot_len, k->ip_tot_len);
	assert_int_equal(p->ip.id, k->ip_id);
	assert_int_equal(p->ip.ttl, k->ip_ttl);
	assert_int_equal(p->ip.proto, k->ip_proto);
	assert_int_equal(p->ip.src, addr(k->ip_src));
	assert_int_equal(p->ip.dst, addr(k->ip_dst));
	assert_int_equal(p->ip.hlen, IPV4_HLEN);
	assert_ptr_equal(p->payload, k->buf + k->payload_off);
	assert_int_equal(p->payload_len, k->payload_len);
	if (p->kind == PKT_KIND_ICMP) {
		assert_int_equal(p->icmp.type, k->icmp_type);
		assert_int_equal(p->icmp.id, k->icmp_id);
		assert_int_equal(p->icmp.seq, k->icmp_seq);
		assert_int_equal(p->icmp.data_len, k->payload_len);
		return;
	}
	assert_int_equal(p->tcp.sport, k->tcp_sport);
	assert_int_equal(p->tcp.dport, k->tcp_dport);
	assert_int_equal(p->tcp.seq, k->tcp_seq);
	assert_int_equal(p->tcp.ack, k->tcp_ack);
	assert_int_equal(p->tcp.flags, k->tcp_flags);
	assert_int_equal(p->tcp.wnd, k->tcp_wnd);
	assert_int_equal(p->tcp.urg, k->tcp_urg);
	assert_int_equal(p->tcp.hlen, k->tcp_hlen);
	assert_int_equal(p->tcp.opts.has_mss, k->has_mss);
	assert_int_equal(p->tcp.opts.mss, k->mss);
	assert_int_equal(p->tcp.opts.has_wscale, k->has_wscale);
	assert_int_equal(p->tcp.opts.wscale, k->wscale);
	assert_int_equal(p->tcp.opts.sack_ok, k->sack_ok);
	assert_int_equal(p->tcp.opts.has_ts, k->has_ts);
	assert_int_equal(p->tcp.opts.ts_val, k->ts_val);
	assert_int_equal(p->tcp.opts.ts_ecr, k->ts_ecr);
	assert_int_equal(p->tcp.opts.nsack, k->nsack);
	for (int i = 0; i < k->nsack; i++) {
		assert_int_equal(p->tcp.opts.sack[i].start, k->sack[i].start);
		assert_int_equal(p->tcp.opts.sack[i].end, k->sack[i].end);
	}
}

/* Each scapy frame: the pkt_err we must return with and without checksum
 * verification, then every field scapy decoded. */
static void test_kat_scapy_frames_parse_field_by_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < KAT_N; i++) {
		const struct kat_frame *k = &kat_frames[i];
		/* exact-size copy so ASan sees any read past len */
		uint8_t *b = malloc(k->len);
		struct pkt p;
		enum pkt_err e, en;

		assert_non_null(b);
		memcpy(b, k->buf, k->len);
		e = pkt_parse(b, k->len, true, &p);
		en = pkt_parse(b, k->len, false, &p);
		free(b);
		if (e != k->err || en != k->err_nocsum)
			fail_msg("%s: got %s/%s, want %s/%s", k->name,
				 pkt_err_str(e), pkt_err_str(en),
				 pkt_err_str(k->err),
				 pkt_err_str(k->err_nocsum));
		if (en != PKT_OK)
			continue;
		print_message("fields %s\n", k->name);
		assert_int_equal(pkt_parse(k->buf, k->len, false, &p), PKT_OK);
		check_fields(k, &p);
	}
}

/* Our csum_* over each scapy frame give scapy's checksums: the IPv4 header
 * sum, and TCP (with pseudo-header) or ICMP, good and deliberately bad. */
static void test_kat_scapy_checksums_equal_ours(void **state)
{
	int nip = 0, nl4 = 0;

	(void)state;
	for (size_t i = 0; i < KAT_N; i++) {
		const struct kat_frame *k = &kat_frames[i];
		uint8_t b[FB_MAX];
		size_t ihl, l4_len;
		uint8_t *l4;
		uint32_t s = 0;

		if (k->eth_type != ETHTYPE_IPV4)
			continue;
		assert_true(k->len <= sizeof(b));
		memcpy(b, k->buf, k->len);
		ihl = (b[ETH_HLEN] & 0x0f) * 4u;
		assert_int_equal(b[24] << 8 | b[25], k->ip_csum);
		b[24] = b[25] = 0;
		assert_int_equal(csum_fold(csum_partial(b + ETH_HLEN, ihl, 0)),
				 k->ip_csum_good);
		nip++;
		if (!k->kind || k->kind == PKT_KIND_ARP)
			continue;
		l4 = b + ETH_HLEN + ihl;
		l4_len = k->ip_tot_len - ihl;
		if (k->kind == PKT_KIND_TCP) {
			assert_int_equal(l4[16] << 8 | l4[17], k->l4_csum);
			l4[16] = l4[17] = 0;
			s = csum_pseudo(addr(k->ip_src), addr(k->ip_dst),
					IPPROTO_TCP_, (uint16_t)l4_len);
		} else {
			assert_int_equal(l4[2] << 8 | l4[3], k->l4_csum);
			l4[2] = l4[3] = 0;
		}
		assert_int_equal(csum_fold(csum_partial(l4, l4_len, s)),
				 k->l4_csum_good);
		nl4++;
	}
	assert_true(nip >= 20);
	assert_true(nl4 >= 12);
}

/* Parse a scapy frame, rebuild it with our emitters from the parsed
 * fields, get scapy's bytes back (checksums included). Covers frames whose
 * options scapy laid out as Linux does and whose IPv4 header has DF. */
static void test_kat_reemit_equals_scapy_bytes(void **state)
{
	static const char *const names[] = {
		"arp_reply",	   "icmp_echo_request", "icmp_echo_reply_odd",
		"tcp_syn",	   "tcp_syn_ack",	"tcp_ack_sack",
		"tcp_data_psh",	   "tcp_ack_padded",	"tcp_fin",
		"tcp_urg_ece_cwr",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct kat_frame *k = kat_find(names[i]);
		uint8_t b[FB_MAX];
		struct pkt p;
		size_t n;

		print_message("reemit %s\n", k->name);
		assert_int_equal(pkt_parse(k->buf, k->len, true, &p), PKT_OK);
		if (p.kind == PKT_KIND_ARP) {
			n = fb_arp(b, &p.eth, &p.arp);
		} else if (p.kind == PKT_KIND_ICMP) {
			n = fb_icmp(b, &p.eth, &p.ip, &p.icmp);
		} else {
			struct tcp_hdr t = p.tcp;

			n = fb_tcp(b, &p.eth, &p.ip, &t, p.payload,
				   p.payload_len);
			assert_int_equal(t.hlen, p.tcp.hlen);
		}
		assert_true(n <= k->len);
		assert_memory_equal(b, k->buf, n);
	}
}

/* ---- frames we build, judged by scapy ---- */

struct ours {
	const char *name;
	char hex[2 * FB_MAX + 1];
	char expect[1024];
};

static void hexify(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static void fmt_mac(char *s, const uint8_t m[6])
{
	sprintf(s, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		m[4], m[5]);
}

static void fmt_ip(char *s, uint32_t a)
{
	inet_ntop(AF_INET, &a, s, INET_ADDRSTRLEN);
}

/* Append " key=value" to o->expect. */
static void expect(struct ours *o, const char *fmt, ...)
{
	size_t n = strlen(o->expect);
	va_list ap;

	va_start(ap, fmt);
	o->expect[n] = ' ';
	vsnprintf(o->expect + n + 1, sizeof(o->expect) - n - 1, fmt, ap);
	va_end(ap);
}

static void expect_eth_ip(struct ours *o, const struct eth_hdr *e,
			  const struct ipv4_hdr *ip, size_t frame_len)
{
	char a[INET_ADDRSTRLEN], m[18];

	fmt_mac(m, e->dst);
	expect(o, "edst=%s", m);
	fmt_mac(m, e->src);
	expect(o, "esrc=%s", m);
	expect(o, "etype=0x0800");
	fmt_ip(a, ip->src);
	expect(o, "ip_src=%s", a);
	fmt_ip(a, ip->dst);
	expect(o, "ip_dst=%s", a);
	expect(o, "ip_ttl=%u", ip->ttl);
	expect(o, "ip_id=%u", ip->id);
	expect(o, "ip_tos=%u", ip->tos);
	expect(o, "ip_len=%zu", frame_len - ETH_HLEN);
	expect(o, "ip_df=1");
}

static void expect_payload(struct ours *o, const void *pl, size_t n)
{
	char h[2 * 256 + 1];

	assert_true(n <= 256);
	hexify(h, pl, n);
	expect(o, "payload=%s", n ? h : "-");
}

static void ours_tcp(struct ours *o, const char *name, struct tcp_hdr t,
		     const char *opts, const char *pl)
{
	static const struct eth_hdr e = { .dst = { 2, 0, 0, 0, 0, 2 },
					  .src = { 2, 0, 0, 0, 0, 1 } };
	struct ipv4_hdr ip = { .tos = IP_ECN_ECT0,
			       .id = 77,
			       .ttl = 64,
			       .src = htonl(0xc6120001),
			       .dst = htonl(0xc6120002) };
	uint8_t b[FB_MAX];
	size_t pl_len = pl ? strlen(pl) : 0;
	size_t n = fb_tcp(b, &e, &ip, &t, pl, pl_len);
	char list[64] = "";

	o->name = name;
	hexify(o->hex, b, n);
	o->expect[0] = '\0';
	expect_eth_ip(o, &e, &ip, n);
	expect(o, "ip_proto=6");
	expect(o, "sport=%u", t.sport);
	expect(o, "dport=%u", t.dport);
	expect(o, "seq=%u", t.seq);
	expect(o, "ack=%u", t.ack);
	expect(o, "flags=%u", t.flags);
	expect(o, "window=%u", t.wnd);
	expect(o, "urg=%u", t.urg);
	expect(o, "dataofs=%u", t.hlen / 4);
	expect(o, "opts=%s", opts[0] ? opts : "");
	if (t.opts.has_mss)
		expect(o, "mss=%u", t.opts.mss);
	if (t.opts.has_wscale)
		expect(o, "wscale=%u", t.opts.wscale);
	expect(o, "sackok=%d", t.opts.sack_ok);
	if (t.opts.has_ts)
		expect(o, "ts=%u,%u", t.opts.ts_val, t.opts.ts_ecr);
	for (int i = 0; i < t.opts.nsack; i++) {
		size_t l = strlen(list);

		snprintf(list + l, sizeof(list) - l, "%s%u,%u", i ? "," : "",
			 t.opts.sack[i].start, t.opts.sack[i].end);
	}
	if (t.opts.nsack)
		expect(o, "sack=%s", list);
	expect_payload(o, pl, pl_len);
}

static void ours_icmp(struct ours *o, const char *name, uint8_t type,
		      const char *pl)
{
	static const struct eth_hdr e = { .dst = { 2, 0, 0, 0, 0, 1 },
					  .src = { 2, 0, 0, 0, 0, 2 } };
	struct ipv4_hdr ip = { .id = 9,
			       .ttl = 255,
			       .src = htonl(0xc6120002),
			       .dst = htonl(0xc6120001) };
	struct icmp_echo ic = { .type = type,
				.id = 0xabcd,
				.seq = 0x0102,
				.data = (const uint8_t *)pl,
				.data_len = strlen(pl) };
	uint8_t b[FB_MAX];
	size_t n = fb_icmp(b, &e, &ip, &ic);

	o->name = name;
	hexify(o->hex, b, n);
	o->expect[0] = '\0';
	expect_eth_ip(o, &e, &ip, n);
	expect(o, "ip_proto=1");
	expect(o, "icmp_type=%u", type);
	expect(o, "icmp_id=%u", ic.id);
	expect(o, "icmp_seq=%u", ic.seq);
	expect_payload(o, pl, ic.data_len);
}

static void ours_arp(struct ours *o, const char *name, uint16_t op)
{
	struct eth_hdr e = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
			     .src = { 2, 0, 0, 0, 0, 1 } };
	struct arp_pkt a = { .op = op,
			     .sha = { 2, 0, 0, 0, 0, 1 },
			     .spa = htonl(0xc6120001),
			     .tha = { 0 },
			     .tpa = htonl(0xc6120002) };
	char s[INET_ADDRSTRLEN], m[18];
	uint8_t b[FB_MAX];
	size_t n;

	if (op == ARP_OP_REPLY) {
		memcpy(e.dst, "\x02\x00\x00\x00\x00\x02", 6);
		memcpy(a.tha, e.dst, 6);
	}
	n = fb_arp(b, &e, &a);
	o->name = name;
	hexify(o->hex, b, n);
	o->expect[0] = '\0';
	expect(o, "etype=0x0806");
	expect(o, "arp_op=%u", op);
	fmt_mac(m, a.sha);
	expect(o, "arp_hwsrc=%s", m);
	fmt_mac(m, a.tha);
	expect(o, "arp_hwdst=%s", m);
	fmt_ip(s, a.spa);
	expect(o, "arp_psrc=%s", s);
	fmt_ip(s, a.tpa);
	expect(o, "arp_pdst=%s", s);
}

static int build_ours(struct ours *o)
{
	const struct tcp_opts syn_opts = { .has_mss = true,
					   .mss = 1460,
					   .sack_ok = true,
					   .has_ts = true,
					   .ts_val = 4000000000u,
					   .has_wscale = true,
					   .wscale = 7 };
	struct tcp_hdr t = { .sport = 80, .dport = 40000, .wnd = 65535 };
	int n = 0;

	ours_arp(&o[n++], "arp_request", ARP_OP_REQUEST);
	ours_arp(&o[n++], "arp_reply", ARP_OP_REPLY);
	ours_icmp(&o[n++], "icmp_request", ICMP_ECHO_REQUEST,
		  "abcdefghijklmnopqrstuvwxyz012345");
	ours_icmp(&o[n++], "icmp_reply_odd", ICMP_ECHO_REPLY, "odd");
	ours_icmp(&o[n++], "icmp_empty", ICMP_ECHO_REQUEST, "");

	t.flags = TCP_SYN;
	t.seq = 0xffffffffu;
	t.opts = syn_opts;
	ours_tcp(&o[n++], "tcp_syn", t, "MSS,SAckOK,Timestamp,NOP,WScale",
		 NULL);
	t.flags = TCP_SYN | TCP_ACK | TCP_ECE;
	t.ack = 12345;
	t.opts.sack_ok = false;
	t.opts.ts_ecr = 4000000000u;
	ours_tcp(&o[n++], "tcp_synack_nosack", t,
		 "MSS,NOP,NOP,Timestamp,NOP,WScale", NULL);
	t.opts.has_ts = false;
	t.opts.sack_ok = true;
	ours_tcp(&o[n++], "tcp_synack_nots", t, "MSS,NOP,NOP,SAckOK,NOP,WScale",
		 NULL);

	memset(&t.opts, 0, sizeof(t.opts));
	t.flags = TCP_ACK;
	t.seq = 0;
	t.opts.has_ts = true;
	t.opts.ts_val = 1;
	t.opts.ts_ecr = 2;
	t.opts.nsack = 3;
	for (int i = 0; i < 3; i++) {
		t.opts.sack[i].start = 0xfffff000u + 0x1000u * i;
		t.opts.sack[i].end = 0xfffff800u + 0x1000u * i;
	}
	ours_tcp(&o[n++], "tcp_ack_sack3", t, "NOP,NOP,Timestamp,NOP,NOP,SAck",
		 NULL);
	t.opts.nsack = 0;
	t.flags = TCP_ACK | TCP_PSH | TCP_CWR;
	ours_tcp(&o[n++], "tcp_data_psh", t, "NOP,NOP,Timestamp",
		 "hello, scapy: an odd-length payload!");
	t.flags = TCP_ACK | TCP_FIN;
	t.opts.has_ts = false;
	ours_tcp(&o[n++], "tcp_fin", t, "", NULL);
	t.flags = TCP_RST;
	t.ack = 0;
	t.wnd = 0;
	ours_tcp(&o[n++], "tcp_rst", t, "", NULL);
	t.flags = TCP_ACK | TCP_URG;
	t.urg = 1;
	t.wnd = 1;
	ours_tcp(&o[n++], "tcp_urg", t, "", "!");
	return n;
}

static void test_kat_our_frames_checked_by_scapy(void **state)
{
	static struct ours ours[16];
	char path[] = "/tmp/tas_kat_XXXXXX", cmd[256], line[4096];
	int n, ok = 0, bad = 0, fd;
	FILE *f, *pp;

	(void)state;
	if (access(PYTHON, X_OK) != 0) {
		print_message("skipped: %s not found\n", PYTHON);
		skip();
	}
	if (access(CHECKER, R_OK) != 0)
		fail_msg("%s not found: run from the repository root", CHECKER);
	n = build_ours(ours);
	assert_true(n <= (int)(sizeof(ours) / sizeof(ours[0])));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s %s%s\n", ours[i].name, ours[i].hex,
			ours[i].expect);
	assert_int_equal(fclose(f), 0);

	snprintf(cmd, sizeof(cmd), "%s %s %s 2>&1", PYTHON, CHECKER, path);
	pp = popen(cmd, "r");
	assert_non_null(pp);
	while (fgets(line, sizeof(line), pp)) {
		if (!strncmp(line, "SKIP", 4)) {
			pclose(pp);
			unlink(path);
			print_message("skipped: %s", line + 5);
			skip();
		}
		if (!strncmp(line, "OK ", 3)) {
			ok++;
		} else {
			bad++;
			print_message("%s", line);
		}
	}
	assert_int_equal(pclose(pp), 0);
	unlink(path);
	assert_int_equal(bad, 0);
	assert_int_equal(ok, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_scapy_frames_parse_field_by_field),
		cmocka_unit_test(test_kat_scapy_checksums_equal_ours),
		cmocka_unit_test(test_kat_reemit_equals_scapy_bytes),
		cmocka_unit_test(test_kat_our_frames_checked_by_scapy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
