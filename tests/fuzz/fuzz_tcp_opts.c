/* fuzz_tcp_opts.c - libFuzzer target: tcp_opts_parse, then emit + re-parse
 *
 * RFC 9293 §3.2, RFC 7323, RFC 2018. Any input must parse without reading
 * past its length; an option set that parses must survive tcp_emit and
 * tcp_opts_parse unchanged, except SACK blocks that the Linux layout
 * cannot fit in 40 bytes (dropped from the end). Mismatch -> abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct tcp_opts *a, const struct tcp_opts *b,
		       size_t emitted)
{
	if (a->has_mss != b->has_mss || (a->has_mss && a->mss != b->mss))
		abort();
	if (a->has_wscale != b->has_wscale ||
	    (a->has_wscale && a->wscale != b->wscale))
		abort();
	if (a->sack_ok != b->sack_ok || a->has_ts != b->has_ts)
		abort();
	if (a->has_ts && (a->ts_val != b->ts_val || a->ts_ecr != b->ts_ecr))
		abort();
	if (b->nsack > a->nsack)
		abort();
	/* fewer blocks only when one more would not have fit */
	if (b->nsack < a->nsack && emitted + 8 <= TCP_OPT_MAX)
		abort();
	for (int i = 0; i < b->nsack; i++)
		if (a->sack[i].start != b->sack[i].start ||
		    a->sack[i].end != b->sack[i].end)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t b[TCP_HLEN + TCP_OPT_MAX];
	struct tcp_hdr h = { .sport = 1, .dport = 2, .flags = TCP_ACK };
	struct tcp_hdr back;
	struct tcp_opts o;
	size_t len;

	if (tcp_opts_parse(data, size, &o) != PKT_OK)
		return 0;
	if (o.nsack > TCP_SACK_MAX)
		abort();
	h.opts = o;
	len = tcp_hdr_len(&h);
	if (len > sizeof(b) || len % 4)
		abort();
	if (tcp_emit(b, &h) != len || h.hlen != len)
		abort();
	if (tcp_parse(b, len, &back) != PKT_OK || back.hlen != len)
		abort();
	check_same(&o, &back.opts, len - TCP_HLEN);
	return 0;
}
