/* test_fp_zc.c - zero-copy sends and receive placement in a real fast-path
 * core (tcp/fp_zc.c) on the in-memory NIC of fp_harness
 *
 * What the NIC is handed (payload descriptors pointing into the region with
 * its key), when the bytes are given back (after the ACK and the frames'
 * completions, never for bytes still unacknowledged), where received bytes
 * land (posted buffer or ring, in stream order, once), and the refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fp_harness.h"

#define BUF 16384
#define RID (TAS_MAX_REGIONS + 1) /* slot 1, generation 1 */
#define RKEY 0x77
#define RLEN (64 * 1024)

struct env {
	struct fph h;
	uint8_t *region;
	struct tas_ev ev[256];
	unsigned nev;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	assert_int_equal(fph_init(&e->h, BUF), 0);
	e->region = aligned_alloc(4096, RLEN);
	assert_non_null(e->region);
	for (unsigned i = 0; i < RLEN; i++)
		e->region[i] = (uint8_t)(i * 7 + (i >> 9));
	fph_region(&e->h, 1, RID, e->region, RLEN, RKEY);
	assert_true(fph_establish(&e->h));
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	fph_fini(&e->h);
	free(e->region);
	free(e);
	return 0;
}

static void cmd(struct env *e, uint8_t type, uint16_t region, uint32_t off,
		uint32_t len)
{
	fph_cmd(&e->h, type, region, off, len);
}

/* Run the core; collect the app's events. */
static void run(struct env *e)
{
	struct tas_ev ev;

	fph_poll(&e->h, 10000);
	while (tas_ring_dequeue_burst(&e->h.arx, &ev, 1) == 1) {
		fph_saw_event(&e->h, &ev);
		if (e->nev < 256)
			e->ev[e->nev++] = ev;
	}
}

static uint64_t stat(struct env *e, unsigned s)
{
	uint64_t st[ST__NR];

	fp_core_stats(e->h.core, st);
	return st[s];
}

static void peer_ack(struct env *e, uint32_t ack)
{
	struct tcp_hdr t = { .sport = FPH_PEER_PORT,
			     .dport = FPH_PORT,
			     .seq = e->h.peer_seq,
			     .ack = ack,
			     .flags = TCP_ACK,
			     .wnd = 65535 };

	fph_inject(&e->h, &t, NULL, 0);
}

/* Peer data at stream offset @off (0 = first byte after the SYN). */
static void peer_data(struct env *e, uint32_t off, const uint8_t *p,
		      uint32_t len, bool fin)
{
	struct tcp_hdr t = { .sport = FPH_PEER_PORT,
			     .dport = FPH_PORT,
			     .seq = 1001 + off,
			     .ack = e->h.our_seq,
			     .flags = TCP_ACK | TCP_PSH | (fin ? TCP_FIN : 0),
			     .wnd = 65535 };

	fph_inject(&e->h, &t, p, len);
}

/* The payload the core sent so far, by stream offset; returns the highest
 * offset + 1 seen. Checks every data frame's descriptors. */
static uint32_t sent_stream(struct env *e, uint8_t *out, uint32_t cap,
			    unsigned *zc_segs)
{
	uint32_t top = 0;

	*zc_segs = 0;
	for (unsigned b = 0; b < e->h.ntx && b < FPH_TXLOG; b++) {
		const struct fph_tx *t = fph_tx_at(&e->h, b);
		struct pkt p;
		uint32_t off;

		assert_int_equal(pkt_parse(t->data, t->len, true, &p), PKT_OK);
		if (!p.payload_len)
			continue;
		off = p.tcp.seq - e->h.our_seq;
		assert_true(off + p.payload_len <= cap);
		memcpy(out + off, p.payload, p.payload_len);
		if (off + p.payload_len > top)
			top = off + p.payload_len;
		for (unsigned s = 0; s < t->desc.nseg; s++) {
			const uint8_t *a = t->desc.seg[s].addr;

			if (a >= e->region && a < e->region + RLEN) {
				assert_int_equal(t->desc.seg[s].key, RKEY);
				assert_true(a + t->desc.seg[s].len <=
					    e->region + RLEN);
				(*zc_segs)++;
			}
		}
	}
	return top;
}

static unsigned count_ev(struct env *e, uint8_t type, uint64_t *sum)
{
	return fph_count_ev(e->ev, e->nev, type, sum);
}

static uint32_t refs(struct env *e)
{
	return atomic_load(&e->h.app.regions[1].refs);
}

static void test_tx_zc_descriptors_point_into_region(void **state)
{
	struct env *e = *state;
	uint8_t *got = calloc(1, RLEN);
	unsigned zc;

	cmd(e, TAS_CMD_TX_ZC, RID, 100, 5000);
	run(e);
	assert_int_equal(sent_stream(e, got, RLEN, &zc), 5000);
	assert_memory_equal(got, e->region + 100, 5000);
	assert_true(zc >= 4); /* 4 MSS-sized frames, no copy */
	assert_int_equal(stat(e, ST_ZC_TX_BYTES), 5000);
	assert_int_equal(stat(e, ST_ZC_TX_BOUNCE), 0);
	assert_int_equal(refs(e), 2); /* owner + the extent */
	free(got);
}

static void test_tx_zc_released_only_after_ack_and_completion(void **state)
{
	struct env *e = *state;
	uint64_t sum;

	cmd(e, TAS_CMD_TX_ZC, RID, 0, 4000);
	e->h.hold_completions = true;
	run(e);
	/* the peer acknowledges the first segment only: "lost" the rest */
	peer_ack(e, e->h.our_seq + 1448);
	run(e);
	assert_int_equal(count_ev(e, TAS_EV_TX_FREED, &sum), 0);
	e->h.hold_completions = false;
	run(e);
	assert_int_equal(count_ev(e, TAS_EV_TX_FREED, &sum), 1);
	assert_int_equal(sum, 1448);
	assert_int_equal(refs(e), 2); /* 2552 bytes may be retransmitted */
	peer_ack(e, e->h.our_seq + 4000);
	run(e);
	run(e);
	count_ev(e, TAS_EV_TX_FREED, &sum);
	assert_int_equal(sum, 4000);
	assert_int_equal(refs(e), 1); /* extent gone with the last ACK */
}

static void test_tx_zc_keeps_order_with_ring_bytes(void **state)
{
	struct env *e = *state;
	uint8_t *ring = e->h.app.seg + e->h.tx_off;
	uint8_t *got = calloc(1, RLEN), want[3000];
	unsigned zc;

	memset(ring, 'a', 10);
	cmd(e, TAS_CMD_TX, 0, 0, 10);
	cmd(e, TAS_CMD_TX_ZC, RID, 7, 2000);
	/* ring positions 10..2009 are the region's; the next ring bytes
	 * follow at 2010 */
	memset(ring + 2010, 'b', 10);
	cmd(e, TAS_CMD_TX, 0, 0, 10);
	run(e);
	memset(want, 'a', 10);
	memcpy(want + 10, e->region + 7, 2000);
	memset(want + 2010, 'b', 10);
	assert_int_equal(sent_stream(e, got, RLEN, &zc), 2020);
	assert_memory_equal(got, want, 2020);
	assert_true(zc >= 2);
	free(got);
}

static void test_rx_post_places_in_order_bytes_once(void **state)
{
	struct env *e = *state;
	uint8_t data[3000];
	uint64_t sum;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 5);
	cmd(e, TAS_CMD_RX_POST, RID, 4096, 3000);
	run(e);
	peer_data(e, 0, data, 1448, false);
	run(e);
	assert_int_equal(count_ev(e, TAS_EV_RX_PLACED, &sum), 0);
	peer_data(e, 1448, data + 1448, 1448, false);
	peer_data(e, 2896, data + 2896, 104, false);
	run(e);
	assert_int_equal(count_ev(e, TAS_EV_RX_PLACED, &sum), 1);
	assert_int_equal(sum, 3000);
	assert_int_equal(count_ev(e, TAS_EV_RX, &sum), 0);
	assert_memory_equal(e->region + 4096, data, 3000);
	assert_int_equal(stat(e, ST_ZC_RX_COPY), 3000);
	assert_int_equal(stat(e, ST_ZC_RX_RING), 0);
	assert_int_equal(refs(e), 1); /* reported: reference dropped */
}

static void test_rx_ring_and_placed_bytes_interleave_in_order(void **state)
{
	struct env *e = *state;
	uint8_t *ring = e->h.app.seg + e->h.rx_off;
	uint8_t data[1200];

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 3 + 1);
	peer_data(e, 0, data, 100, false); /* before the post: ring */
	run(e);
	cmd(e, TAS_CMD_RX_POST, RID, 0, 1000);
	run(e);
	peer_data(e, 100, data + 100, 1100, false);
	run(e);
	assert_int_equal(e->nev, 3);
	assert_int_equal(e->ev[0].type, TAS_EV_RX);
	assert_int_equal(e->ev[0].a, 100);
	assert_int_equal(e->ev[1].type, TAS_EV_RX_PLACED);
	assert_int_equal(e->ev[1].a, 1000);
	assert_int_equal(e->ev[2].type, TAS_EV_RX);
	assert_int_equal(e->ev[2].a, 100);
	assert_memory_equal(ring, data, 100);
	assert_memory_equal(e->region, data + 100, 1000);
	assert_memory_equal(ring + 1100, data + 1100, 100); /* after a hole */
	/* the first 100 came before the flow had zero-copy state */
	assert_int_equal(stat(e, ST_ZC_RX_RING), 100);
	assert_int_equal(stat(e, ST_ZC_RX_COPY), 1000);
}

static void test_rx_out_of_order_lands_in_place(void **state)
{
	struct env *e = *state;
	uint8_t data[4000];
	uint64_t sum;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 11 + 3);
	cmd(e, TAS_CMD_RX_POST, RID, 0, 4000);
	run(e);
	peer_data(e, 1448, data + 1448, 1448, false); /* hole at 0 */
	peer_data(e, 2896, data + 2896, 1104, false);
	run(e);
	assert_int_equal(count_ev(e, TAS_EV_RX_PLACED, &sum), 0);
	peer_data(e, 0, data, 1448, false);
	run(e);
	assert_int_equal(count_ev(e, TAS_EV_RX_PLACED, &sum), 1);
	assert_int_equal(sum, 4000);
	assert_memory_equal(e->region, data, 4000);
	assert_int_equal(stat(e, ST_ZC_RX_COPY), 4000);
}

static void test_rx_fin_ends_a_partly_filled_post(void **state)
{
	struct env *e = *state;
	uint8_t data[500];

	memset(data, 0x5a, sizeof(data));
	cmd(e, TAS_CMD_RX_POST, RID, 0, 1000);
	cmd(e, TAS_CMD_RX_POST, RID, 1000, 1000);
	run(e);
	peer_data(e, 0, data, 500, true);
	run(e);
	assert_int_equal(e->nev, 3);
	assert_int_equal(e->ev[0].type, TAS_EV_RX_PLACED);
	assert_int_equal(e->ev[0].a, 500);
	assert_int_equal(e->ev[1].type, TAS_EV_RX_PLACED);
	assert_int_equal(e->ev[1].a, 0);
	assert_int_equal(e->ev[2].type, TAS_EV_RX_FIN);
	assert_int_equal(refs(e), 1);
}

/* A post starts at the app's position, even when bytes after it were
 * already received (and told to the app, the event still in flight): the
 * daemon copies those into the buffer; RX_PLACED counts only the rest. */
static void test_rx_post_covers_bytes_already_received(void **state)
{
	struct env *e = *state;
	uint8_t data[1500];
	uint64_t sum;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 17 + 9);
	peer_data(e, 0, data, 500, false);
	fph_poll(&e->h, 10000); /* RX 500 posted, not yet read by the app */
	cmd(e, TAS_CMD_RX_POST, RID, 0, 1500); /* at 0: the app's position */
	run(e);
	peer_data(e, 500, data + 500, 1000, false);
	run(e);
	assert_int_equal(e->nev, 2);
	assert_int_equal(e->ev[0].type, TAS_EV_RX);
	assert_int_equal(e->ev[0].a, 500);
	assert_int_equal(e->ev[1].type, TAS_EV_RX_PLACED);
	assert_int_equal(e->ev[1].a, 1000);
	assert_memory_equal(e->region, data, 1500);
	assert_int_equal(stat(e, ST_ZC_RX_COPY), 1500);
	count_ev(e, TAS_EV_RX_PLACED, &sum);
	assert_int_equal(sum, 1000);
	assert_int_equal(refs(e), 1);
}

static void test_rx_post_of_bytes_all_here_done_at_once(void **state)
{
	struct env *e = *state;
	uint8_t data[800];

	memset(data, 0x3c, sizeof(data));
	peer_data(e, 0, data, 800, false);
	fph_poll(&e->h, 10000);
	cmd(e, TAS_CMD_RX_POST, RID, 100, 500);
	run(e);
	assert_int_equal(e->nev, 2);
	assert_int_equal(e->ev[0].type, TAS_EV_RX);
	assert_int_equal(e->ev[0].a, 800);
	assert_int_equal(e->ev[1].type, TAS_EV_RX_PLACED);
	assert_int_equal(e->ev[1].a, 0);
	assert_memory_equal(e->region + 100, data, 500);
}

static void test_rx_post_at_a_wrong_position_refused(void **state)
{
	struct env *e = *state;
	struct tas_cmd at = { .type = TAS_CMD_RX_AT,
			      .flow = e->h.flow,
			      .len = 5000 }; /* beyond anything announced */
	struct tas_cmd post = { .type = TAS_CMD_RX_POST,
				.region = RID,
				.flow = e->h.flow,
				.len = 100 };
	uint64_t sum;

	tas_ring_enqueue_burst(&e->h.atx, &at, 1);
	tas_ring_enqueue_burst(&e->h.atx, &post, 1);
	run(e);
	assert_int_equal(stat(e, ST_ZC_BAD), 1);
	assert_int_equal(count_ev(e, TAS_EV_RESET, &sum), 1);
	assert_int_equal(refs(e), 1);
}

static void test_bad_region_refused_and_flow_reset(void **state)
{
	struct env *e = *state;
	uint64_t sum;

	cmd(e, TAS_CMD_TX_ZC, RID, RLEN - 10, 100); /* out of bounds */
	run(e);
	assert_int_equal(stat(e, ST_ZC_BAD), 1);
	assert_int_equal(count_ev(e, TAS_EV_RESET, &sum), 1);
	assert_int_equal(refs(e), 1);
}

static void test_stale_region_id_refused(void **state)
{
	struct env *e = *state;
	uint64_t sum;

	cmd(e, TAS_CMD_RX_POST, RID + TAS_MAX_REGIONS, 0, 100); /* old gen */
	cmd(e, TAS_CMD_RX_POST, 0, 0, 100);
	run(e);
	assert_int_equal(stat(e, ST_ZC_BAD), 1); /* the second hits a dead
						  * flow and is ignored */
	assert_int_equal(count_ev(e, TAS_EV_RESET, &sum), 1);
}

static void test_freed_region_stays_until_released(void **state)
{
	struct env *e = *state;
	struct fp_region *r = &e->h.app.regions[1];

	cmd(e, TAS_CMD_TX_ZC, RID, 0, 3000);
	run(e);
	/* the app frees it while in flight: the control thread unpublishes
	 * it and drops its own reference, as ctrl/app.c does */
	atomic_store(&r->id, 0);
	assert_int_equal(atomic_fetch_sub(&r->refs, 1), 2);
	cmd(e, TAS_CMD_TX_ZC, RID, 0, 10); /* refused: not live any more */
	run(e);
	assert_int_equal(stat(e, ST_ZC_BAD), 1);
	/* the reset flow lets go of its extent when the app closes it */
	cmd(e, TAS_CMD_CLOSE, 0, 0, 0);
	run(e);
	run(e);
	assert_int_equal(atomic_load(&r->refs), 0);
}

/* Not zero-copy, but the same bookkeeping: the answers to the app's move
 * and close wait for room in a full event ring instead of being lost. */
static void test_closed_event_waits_for_a_full_event_ring(void **state)
{
	struct env *e = *state;
	struct tas_ev ev;
	unsigned moved = 0, closed = 0;

	/* each TAS_CMD_MOVE is answered with TAS_EV_MOVED: fill the ring */
	for (int i = 0; i < TAS_ARX_ENTRIES + 64; i++) {
		cmd(e, TAS_CMD_MOVE, 0, 0, 0);
		if (i % 64 == 63)
			fph_poll(&e->h, 1000);
	}
	fph_poll(&e->h, 1000);
	cmd(e, TAS_CMD_CLOSE, 0, 0, 0);
	fph_poll(&e->h, 1000);
	while (tas_ring_dequeue_burst(&e->h.arx, &ev, 1) == 1) {
		moved += ev.type == TAS_EV_MOVED;
		closed += ev.type == TAS_EV_CLOSED;
	}
	assert_int_equal(moved, TAS_ARX_ENTRIES);
	assert_int_equal(closed, 0); /* no room when it was due */
	fph_poll(&e->h, 1000);
	moved = 0;
	while (tas_ring_dequeue_burst(&e->h.arx, &ev, 1) == 1) {
		/* the move answer that was due first, then the close's */
		if (ev.type == TAS_EV_MOVED)
			assert_int_equal(closed, 0);
		moved += ev.type == TAS_EV_MOVED;
		closed += ev.type == TAS_EV_CLOSED;
	}
	assert_int_equal(moved, 1); /* one answer per pending move */
	assert_int_equal(closed, 1);
}

/* ---- placement queues (the NIC scatters payload into the post) ---- */

#define MSS 1460 /* no timestamps in the harness handshake: 54-byte headers */

static void fill(uint8_t *d, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		d[i] = (uint8_t)(i * 29 + seed + (i >> 7));
}

static void test_place_in_order_frames_need_no_copy(void **state)
{
	struct env *e = *state;
	uint8_t data[4 * MSS];
	uint64_t sum;

	fill(data, sizeof(data), 1);
	e->h.place = true;
	cmd(e, TAS_CMD_RX_POST, RID, 8192, sizeof(data));
	run(e);
	assert_true(e->h.pl_open);
	assert_true(e->h.pl_n >= 4);
	for (uint32_t i = 0; i < 4; i++)
		peer_data(e, i * MSS, data + i * MSS, MSS, false);
	run(e);
	assert_int_equal(count_ev(e, TAS_EV_RX_PLACED, &sum), 1);
	assert_int_equal(sum, sizeof(data));
	assert_memory_equal(e->region + 8192, data, sizeof(data));
	assert_int_equal(stat(e, ST_ZC_RX_NOCOPY), sizeof(data));
	assert_int_equal(stat(e, ST_ZC_RX_COPY), 0);
	assert_int_equal(e->h.pl_drops, 0);
}

static void test_place_ack_shifts_then_realigns(void **state)
{
	struct env *e = *state;
	static uint8_t data[30 * MSS];
	uint64_t sum;

	fill(data, sizeof(data), 2);
	e->h.place = true;
	cmd(e, TAS_CMD_RX_POST, RID, 0, sizeof(data));
	run(e);
	peer_data(e, 0, data, MSS, false);
	run(e);
	peer_ack(e, e->h.our_seq); /* takes a buffer meant for data */
	run(e);
	for (uint32_t i = 1; i < 30; i++) {
		peer_data(e, i * MSS, data + i * MSS, MSS, false);
		run(e);
	}
	assert_int_equal(count_ev(e, TAS_EV_RX_PLACED, &sum), 1);
	assert_int_equal(sum, sizeof(data));
	assert_memory_equal(e->region, data, sizeof(data));
	/* every byte placed once: the shifted frames by copy */
	assert_int_equal(stat(e, ST_ZC_RX_NOCOPY) + stat(e, ST_ZC_RX_COPY),
			 sizeof(data));
	assert_true(stat(e, ST_ZC_RX_COPY) > 0);
	assert_true(stat(e, ST_ZC_RX_NOCOPY) > 0);
}

static void test_place_refuses_writes_into_pending_slots(void **state)
{
	struct env *e = *state;
	uint8_t data[3 * MSS];
	uint64_t sum;

	fill(data, sizeof(data), 3);
	e->h.place = true;
	cmd(e, TAS_CMD_RX_POST, RID, 0, sizeof(data));
	run(e);
	/* segment 1 comes first: it lands in slot 0, but belongs in slot 1,
	 * which the NIC may still fill: dropped, not written */
	peer_data(e, MSS, data + MSS, MSS, false);
	run(e);
	assert_int_equal(stat(e, ST_ZC_RX_UNSAFE), 1);
	peer_data(e, 0, data, MSS, false);
	peer_data(e, MSS, data + MSS, MSS, false);
	peer_data(e, 2 * MSS, data + 2 * MSS, MSS, false);
	run(e);
	assert_int_equal(count_ev(e, TAS_EV_RX_PLACED, &sum), 1);
	assert_int_equal(sum, sizeof(data));
	assert_memory_equal(e->region, data, sizeof(data));
}

static void test_place_fin_closes_queue_before_reporting(void **state)
{
	struct env *e = *state;
	uint8_t data[MSS];

	fill(data, sizeof(data), 4);
	e->h.place = true;
	cmd(e, TAS_CMD_RX_POST, RID, 0, 4 * MSS);
	run(e);
	peer_data(e, 0, data, MSS, true);
	run(e);
	assert_false(e->h.pl_open); /* closed before RX_PLACED went out */
	assert_int_equal(e->h.pl_closes, 1);
	assert_int_equal(e->ev[0].type, TAS_EV_RX_PLACED);
	assert_int_equal(e->ev[0].a, MSS);
	assert_memory_equal(e->region, data, MSS);
	assert_int_equal(refs(e), 1);
}

static void test_place_closed_when_the_app_closes(void **state)
{
	struct env *e = *state;

	e->h.place = true;
	cmd(e, TAS_CMD_RX_POST, RID, 0, 4 * MSS);
	run(e);
	assert_true(e->h.pl_open);
	cmd(e, TAS_CMD_CLOSE, 0, 0, 0);
	run(e);
	/* the app is done with it: posts and the queue go at once */
	assert_false(e->h.pl_open);
	assert_int_equal(e->h.pl_closes, 1);
	assert_int_equal(refs(e), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_tx_zc_descriptors_point_into_region),
		T(test_tx_zc_released_only_after_ack_and_completion),
		T(test_tx_zc_keeps_order_with_ring_bytes),
		T(test_rx_post_places_in_order_bytes_once),
		T(test_rx_ring_and_placed_bytes_interleave_in_order),
		T(test_rx_out_of_order_lands_in_place),
		T(test_rx_fin_ends_a_partly_filled_post),
		T(test_rx_post_covers_bytes_already_received),
		T(test_rx_post_of_bytes_all_here_done_at_once),
		T(test_rx_post_at_a_wrong_position_refused),
		T(test_bad_region_refused_and_flow_reset),
		T(test_stale_region_id_refused),
		T(test_freed_region_stays_until_released),
		T(test_closed_event_waits_for_a_full_event_ring),
		T(test_place_in_order_frames_need_no_copy),
		T(test_place_ack_shifts_then_realigns),
		T(test_place_refuses_writes_into_pending_slots),
		T(test_place_fin_closes_queue_before_reporting),
		T(test_place_closed_when_the_app_closes),
#undef T
	};

	return cmocka_run_group_tests_name("fp_zc", tests, NULL, NULL);
}
