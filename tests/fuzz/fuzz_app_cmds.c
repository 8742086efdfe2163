/* fuzz_app_cmds.c - libFuzzer target: a hostile app's command queue and a
 * hostile peer's segments against one fast-path core
 *
 * Each input gets a fresh core on an in-memory NIC, one app context whose
 * queues live in a buffer laid out like the daemon lays out a segment, a
 * listener, and one established connection (real handshake through the
 * core). The input is then read as a script: 16-byte app commands written
 * straight into the context's command ring (handles and lengths arbitrary,
 * some pointed at the real flow), peer segments with arbitrary flags,
 * sequence numbers and payload, and raw writes into the ring indices.
 * ASan/UBSan and LSan do the checking; the core must survive every input.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tas/abi.h"
#include "tas/ring.h"
#include "tcp/fastpath.h"
#include "tests/unit/fp_harness.h"

#define BUF 4096
#define REGION_ID (TAS_MAX_REGIONS + 1) /* slot 1, generation 1 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fph h;
	static uint8_t region[2 * BUF];
	struct tcp_hdr t;
	struct tas_ev ev;
	uint32_t flow;
	size_t pos = 0;

	if (fph_init(&h, BUF))
		return 0;
	fph_region(&h, 1, REGION_ID, region, sizeof(region), 9);
	fph_establish(&h);
	flow = h.flow;

	if (getenv("FUZZ_APP_DEBUG")) {
		uint64_t st[ST__NR];

		fp_core_stats(h.core, st);
		fprintf(stderr, "fuzz_app_cmds: established flow handle %#x\n",
			flow);
		for (unsigned i = 0; i < ST__NR; i++)
			if (st[i])
				fprintf(stderr, "  %s %llu\n", fp_stat_name(i),
					(unsigned long long)st[i]);
	}
	/* the script */
	while (pos + 1 < size) {
		uint8_t op = data[pos++];

		if (op < 128 && pos + 16 <= size) {
			struct tas_cmd c;

			memcpy(&c, data + pos, sizeof(c));
			pos += sizeof(c);
			if (op & 1)
				c.flow = flow; /* aim at the real flow */
			if (op & 4)
				c.region = REGION_ID; /* and the real region */
			tas_ring_enqueue_burst(&h.atx, &c, 1);
		} else if (op < 220 && pos + 12 <= size) {
			uint32_t d;
			uint16_t plen;

			t = (struct tcp_hdr){ .sport = FPH_PEER_PORT,
					      .dport = FPH_PORT,
					      .wnd = 65535 };
			t.flags = data[pos];
			memcpy(&d, data + pos + 1, 4);
			t.seq = h.peer_seq + (op & 2 ? 0 : d);
			memcpy(&d, data + pos + 5, 4);
			t.ack = h.our_seq + (op & 4 ? 0 : d);
			memcpy(&plen, data + pos + 9, 2);
			pos += 12;
			plen %= 1201;
			if (plen > size - pos)
				plen = (uint16_t)(size - pos);
			fph_inject(&h, &t, data + pos, plen);
			pos += plen;
		} else if (pos + 5 <= size) {
			/* raw index writes: the app lies about its queues */
			struct tas_ring_shm *r =
				(struct tas_ring_shm
					 *)(h.app.seg +
					    (data[pos] & 1 ? h.cs->atx_off[0]
							   : h.cs->arx_off[0]));
			uint32_t v;

			memcpy(&v, data + pos + 1, 4);
			pos += 5;
			if (data[pos - 5] & 2)
				atomic_store(&r->prod, v);
			else
				atomic_store(&r->cons, v);
		} else {
			break;
		}
		fph_poll(&h, 50000);
		while (tas_ring_dequeue_burst(&h.arx, &ev, 1) == 1)
			;
	}
	/* time passes: every timer fires */
	for (int i = 0; i < 8; i++)
		fph_poll(&h, 500000000ull);
	fph_fini(&h);
	return 0;
}
