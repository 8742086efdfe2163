/*
 * test_libtas_zc.c - unit tests of libtas's zero-copy extension
 * (client/ll_zc.c, docs/ZEROCOPY.md) against the fake daemon of
 * libtas_harness.c: regions (allocation, sharing, refusals, generations,
 * EBUSY), zero-copy sends (chunks by send-ring space, order with ring bytes
 * and FIN, completion, the per-flow limit) and posted receive buffers
 * (RX_AT/RX_POST, placement, bytes announced before the post, ring bytes
 * held back behind a full post, end of stream, reset and close, hostile
 * RX_PLACED).
 *
 * The test plays the fast path: it reads the tas_cmd entries libtas queued
 * and answers with tas_ev entries. Stream positions are counted from 0; the
 * receive ring is indexed by stream position modulo its size.
 *
 * Needs: nothing (no root, no netns, no hardware). ASAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <tas_ll.h>
#include "client/libtas.h"
#include "libtas_fx.h"

#define ZC_CORE 1		  /* the connection's fast-path core */
#define REGION_LEN (64u << 10)	  /* the fixture's region */
#define PAGE 4096u		  /* the fake daemon's page size */
#define ZC_ABORT (-ECONNABORTED)  /* status of ops the connection ended */
#define EV_ROOM LIBTAS_EV_MAX_OUT /* room for any one poll here */

/**
 * struct zfx - fixture: one open connection and one region
 * @f: the fake daemon and context
 * @c: a connection on core ZC_CORE
 * @o: its CONN_OPEN event (flow, rings)
 * @r: a REGION_LEN region (NULL once a test freed it)
 */
struct zfx {
	struct fx f;
	struct flextcp_connection c;
	struct tas_ev o;
	struct flextcp_mem_region *r;
};

static int zc_setup(void **state)
{
	struct zfx *z = calloc(1, sizeof(*z));
	struct tas_msg m;

	if (z == NULL)
		return -1;
	*state = z;
	if (fx_init(&z->f) != 0)
		return -1;
	z->o = fx_open_conn(&z->f, &z->c, ZC_CORE);
	if (flextcp_mem_alloc(&z->f.ctx, REGION_LEN, &z->r) != 0)
		return -1;
	/* tests look at their own requests only */
	if (harness_next_msg(z->f.h, &m, 1000) != 0 ||
	    m.type != TAS_MSG_MEM_ALLOC)
		return -1;
	return 0;
}

/* Ends the connection (zero-copy state is freed at its end) and frees the
 * region: the fake daemon must then hold no region (no leak). */
static int zc_teardown(void **state)
{
	struct zfx *z = *state;
	struct tas_ev ev = fx_ev_for(&z->o, TAS_EV_RESET, 0);
	struct flextcp_event out[EV_ROOM];
	int ret = 0;

	if (z->c.state_ == LIBTAS_CONN_OPEN ||
	    z->c.state_ == LIBTAS_CONN_CLOSING) {
		ev.status = -ECONNRESET;
		harness_ev_push(z->f.h, z->f.ctx.ctx_id_, ZC_CORE, &ev);
		flextcp_context_poll(&z->f.ctx, EV_ROOM, out);
	}
	if (z->r && flextcp_mem_free(&z->f.ctx, z->r) != 0)
		ret = -1;
	if (harness_region_count(z->f.h) != 0)
		ret = -1;
	fx_fini(&z->f);
	free(z);
	return ret;
}

/* ---- helpers ---- */

/* The fast path sends an event of type @type, count @a, for the flow. */
static void zev(struct zfx *z, uint8_t type, uint32_t a)
{
	struct tas_ev ev = fx_ev_for(&z->o, type, a);

	fx_push(&z->f, ZC_CORE, &ev);
}

static int zpoll(struct zfx *z, struct flextcp_event *out, int num)
{
	return fx_poll_all(&z->f.ctx, out, num);
}

static uint64_t drops(struct zfx *z, enum libtas_drop why)
{
	return z->f.ctx.priv_->drops[why];
}

/* The next command is (@type, the flow, the fixture's region, @off, @len). */
static void expect_region_cmd(struct zfx *z, uint8_t type, uint32_t off,
			      uint32_t len)
{
	struct tas_cmd cmd = fx_pop_cmd(&z->f, ZC_CORE);

	assert_int_equal(cmd.type, type);
	assert_int_equal(cmd.flow, z->o.flow);
	assert_int_equal(cmd.region, z->r->id_);
	assert_int_equal(cmd.off, off);
	assert_int_equal(cmd.len, len);
}

static void expect_msg(struct zfx *z, uint32_t type, int32_t status,
		       uint32_t region)
{
	struct tas_msg m;

	assert_int_equal(harness_next_msg(z->f.h, &m, 1000), 0);
	assert_int_equal(m.type, type);
	assert_int_equal(m.status, status);
	assert_int_equal(m.mem.region, region);
}

/* No request reached the daemon (requests are synchronous: no waiting). */
static void expect_no_msg(struct zfx *z)
{
	struct tas_msg m;

	assert_int_equal(harness_next_msg(z->f.h, &m, 0), -ETIMEDOUT);
}

static void send_zc(struct zfx *z, uint32_t off, uint32_t len, uint64_t cookie)
{
	assert_int_equal(flextcp_connection_tx_send_zc(&z->f.ctx, &z->c, z->r,
						       off, len, cookie),
			 0);
}

/* tx_send_zc of [@off, @off + @len) fails with @err; nothing is queued. */
static void send_zc_refused(struct zfx *z, uint32_t off, uint32_t len, int err)
{
	errno = 0;
	assert_int_equal(flextcp_connection_tx_send_zc(&z->f.ctx, &z->c, z->r,
						       off, len, 0x99),
			 -1);
	assert_int_equal(errno, err);
	fx_expect_no_cmd(&z->f, ZC_CORE);
}

/* Post [@off, @off + @len) of the region: RX_AT @at, then RX_POST. */
static void post(struct zfx *z, uint32_t off, uint32_t len, uint64_t cookie,
		 uint32_t at)
{
	assert_int_equal(flextcp_connection_rx_post(&z->f.ctx, &z->c, z->r, off,
						    len, cookie),
			 0);
	fx_expect_cmd(&z->f, ZC_CORE, TAS_CMD_RX_AT, z->o.flow, at);
	expect_region_cmd(z, TAS_CMD_RX_POST, off, len);
}

/* CONN_RECEIVED of @len ring bytes from stream position @pos. */
static void expect_received(struct zfx *z, const struct flextcp_event *e,
			    uint32_t pos, uint32_t len)
{
	uint8_t *ring = libtas_proc.seg + z->o.rx_off;

	assert_int_equal(e->event_type, FLEXTCP_EV_CONN_RECEIVED);
	assert_ptr_equal(e->ev.conn_received.conn, &z->c);
	assert_ptr_equal(e->ev.conn_received.buf, ring + pos % FX_RING);
	assert_int_equal(e->ev.conn_received.len, len);
}

static void expect_placed(struct zfx *z, const struct flextcp_event *e,
			  int status, uint64_t cookie, uint32_t off,
			  uint32_t len)
{
	assert_int_equal(e->event_type, FLEXTCP_EV_CONN_RX_PLACED);
	assert_int_equal(e->ev.conn_rx_placed.status, status);
	assert_ptr_equal(e->ev.conn_rx_placed.conn, &z->c);
	assert_int_equal(e->ev.conn_rx_placed.cookie, cookie);
	assert_ptr_equal(e->ev.conn_rx_placed.buf, (uint8_t *)z->r->addr + off);
	assert_int_equal(e->ev.conn_rx_placed.len, len);
}

static void expect_zc_done(struct zfx *z, const struct flextcp_event *e,
			   int status, uint64_t cookie, uint32_t len)
{
	assert_int_equal(e->event_type, FLEXTCP_EV_CONN_TX_ZC_DONE);
	assert_int_equal(e->ev.conn_tx_zc_done.status, status);
	assert_ptr_equal(e->ev.conn_tx_zc_done.conn, &z->c);
	assert_int_equal(e->ev.conn_tx_zc_done.cookie, cookie);
	assert_int_equal(e->ev.conn_tx_zc_done.len, len);
}

static void expect_sendbuf(struct zfx *z, const struct flextcp_event *e)
{
	assert_int_equal(e->event_type, FLEXTCP_EV_CONN_SENDBUF);
	assert_ptr_equal(e->ev.conn_sendbuf.conn, &z->c);
}

/* Ring bytes were received and released up to @n: RX_DONE of exactly @n. */
static void rx_done(struct zfx *z, uint32_t n)
{
	assert_int_equal(flextcp_connection_rx_done(&z->f.ctx, &z->c, n), 0);
	fx_expect_cmd(&z->f, ZC_CORE, TAS_CMD_RX_DONE, z->o.flow, n);
	fx_expect_no_cmd(&z->f, ZC_CORE);
}

/* ---- regions ---- */

static void test_mem_alloc_rounds_to_pages_and_is_shared(void **state)
{
	struct zfx *z = *state;
	struct flextcp_mem_region *r;
	uint64_t len = 0;
	uint8_t *d, *a;
	uint32_t id;

	assert_int_equal(flextcp_mem_alloc(&z->f.ctx, 5000, &r), 0);
	id = r->id_;
	expect_msg(z, TAS_MSG_MEM_ALLOC, 0, id);
	/* slot 1 (the fixture holds slot 0), generation 1 */
	assert_int_equal(TAS_REGION_IDX(id), 1);
	assert_int_equal(id / TAS_MAX_REGIONS, 1);
	assert_int_equal((uintptr_t)r->addr % PAGE, 0);
	assert_int_equal(r->len, 2 * PAGE);
	d = harness_region(z->f.h, id, &len);
	assert_non_null(d);
	assert_int_equal(len, 2 * PAGE);
	/* what the app writes, the daemon reads, and the other way round */
	a = r->addr;
	for (uint32_t i = 0; i < r->len; i++)
		a[i] = (uint8_t)(i * 7 + 1);
	for (uint32_t i = 0; i < r->len; i++)
		assert_int_equal(d[i], (uint8_t)(i * 7 + 1));
	d[r->len - 1] = 0x5a;
	assert_int_equal(a[r->len - 1], 0x5a);

	assert_int_equal(flextcp_mem_free(&z->f.ctx, r), 0);
	expect_msg(z, TAS_MSG_MEM_FREE, 0, id);
	assert_null(harness_region(z->f.h, id, NULL));
	assert_int_equal(harness_region_count(z->f.h), 1);
	/* the slot's next region has the next generation */
	assert_int_equal(flextcp_mem_alloc(&z->f.ctx, 1, &r), 0);
	expect_msg(z, TAS_MSG_MEM_ALLOC, 0, 2 * TAS_MAX_REGIONS + 1);
	assert_int_equal(r->id_, 2 * TAS_MAX_REGIONS + 1);
	assert_int_equal(r->len, PAGE);
	assert_int_equal(flextcp_mem_free(&z->f.ctx, r), 0);
	expect_msg(z, TAS_MSG_MEM_FREE, 0, 2 * TAS_MAX_REGIONS + 1);
}

static void test_mem_alloc_refusals_map_to_errno(void **state)
{
	struct zfx *z = *state;
	struct flextcp_mem_region *r, *many[TAS_MAX_REGIONS];
	uint32_t id;

	/* refused by the library: nothing asked */
	errno = 0;
	assert_int_equal(flextcp_mem_alloc(&z->f.ctx, 0, &r), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(flextcp_mem_alloc(&z->f.ctx, PAGE, NULL), -1);
	assert_int_equal(errno, EINVAL);
	expect_no_msg(z);
	/* refused by the daemon: its status */
	errno = 0;
	assert_int_equal(flextcp_mem_alloc(&z->f.ctx, (1u << 30) + 1, &r), -1);
	assert_int_equal(errno, EINVAL);
	expect_msg(z, TAS_MSG_MEM_ALLOC, -EINVAL, 0);
	harness_mem_limit(z->f.h, REGION_LEN + 2 * PAGE);
	assert_int_equal(flextcp_mem_alloc(&z->f.ctx, 2 * PAGE, &r), 0);
	id = r->id_;
	expect_msg(z, TAS_MSG_MEM_ALLOC, 0, id);
	errno = 0;
	assert_int_equal(flextcp_mem_alloc(&z->f.ctx, 1, &many[0]), -1);
	assert_int_equal(errno, ENOSPC);
	expect_msg(z, TAS_MSG_MEM_ALLOC, -ENOSPC, 0);
	assert_int_equal(flextcp_mem_free(&z->f.ctx, r), 0);
	expect_msg(z, TAS_MSG_MEM_FREE, 0, id);
	/* the table: TAS_MAX_REGIONS live, the fixture's included */
	harness_mem_limit(z->f.h, 1u << 30);
	for (int i = 1; i < TAS_MAX_REGIONS; i++) {
		assert_int_equal(flextcp_mem_alloc(&z->f.ctx, 1, &many[i]), 0);
		expect_msg(z, TAS_MSG_MEM_ALLOC, 0, many[i]->id_);
	}
	errno = 0;
	assert_int_equal(flextcp_mem_alloc(&z->f.ctx, 1, &r), -1);
	assert_int_equal(errno, EMFILE);
	expect_msg(z, TAS_MSG_MEM_ALLOC, -EMFILE, 0);
	for (int i = 1; i < TAS_MAX_REGIONS; i++) {
		id = many[i]->id_;
		assert_int_equal(flextcp_mem_free(&z->f.ctx, many[i]), 0);
		expect_msg(z, TAS_MSG_MEM_FREE, 0, id);
	}
	assert_int_equal(harness_region_count(z->f.h), 1);
}

static void test_mem_free_stale_id_refused(void **state)
{
	struct zfx *z = *state;
	struct flextcp_mem_region *r, *stale = calloc(1, sizeof(*stale));
	uint32_t id;

	assert_non_null(stale);
	assert_int_equal(flextcp_mem_alloc(&z->f.ctx, PAGE, &r), 0);
	id = r->id_;
	expect_msg(z, TAS_MSG_MEM_ALLOC, 0, id);
	assert_int_equal(flextcp_mem_free(&z->f.ctx, r), 0);
	expect_msg(z, TAS_MSG_MEM_FREE, 0, id);
	/* a copy of the freed region (its memory a mapping of its own, which
	 * the library unmaps and frees with it) */
	stale->addr = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(stale->addr != MAP_FAILED);
	stale->len = PAGE;
	stale->id_ = id;
	errno = 0;
	assert_int_equal(flextcp_mem_free(&z->f.ctx, stale), -1);
	assert_int_equal(errno, EINVAL);
	expect_msg(z, TAS_MSG_MEM_FREE, -EINVAL, id);
	assert_int_equal(harness_region_count(z->f.h), 1);
}

static void test_mem_free_busy_while_send_or_post_outstanding(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[4];
	uint32_t id = z->r->id_;

	send_zc(z, 0, 100, 1);
	expect_region_cmd(z, TAS_CMD_TX_ZC, 0, 100);
	errno = 0;
	assert_int_equal(flextcp_mem_free(&z->f.ctx, z->r), -1);
	assert_int_equal(errno, EBUSY);
	expect_no_msg(z);
	fx_expect_no_cmd(&z->f, ZC_CORE);
	assert_int_equal(z->r->id_, id); /* still the app's */
	assert_non_null(harness_region(z->f.h, id, NULL));
	zev(z, TAS_EV_TX_FREED, 100);
	assert_int_equal(zpoll(z, out, 4), 2);
	expect_zc_done(z, &out[1], 0, 1, 100);

	post(z, 0, 10, 2, 0);
	errno = 0;
	assert_int_equal(flextcp_mem_free(&z->f.ctx, z->r), -1);
	assert_int_equal(errno, EBUSY);
	expect_no_msg(z);
	fx_expect_no_cmd(&z->f, ZC_CORE);
	zev(z, TAS_EV_RX_PLACED, 10);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_placed(z, &out[0], 0, 2, 0, 10);

	assert_int_equal(z->r->busy_, 0);
	assert_int_equal(flextcp_mem_free(&z->f.ctx, z->r), 0);
	z->r = NULL;
	expect_msg(z, TAS_MSG_MEM_FREE, 0, id);
	assert_int_equal(harness_region_count(z->f.h), 0);
}

/* ---- zero-copy sends ---- */

static void test_tx_zc_chunks_follow_ring_space(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[4];
	uint8_t *txring = libtas_proc.seg + z->o.tx_off;
	void *buf, *b2;
	size_t l1;

	send_zc(z, 100, 10000, 0xc0ffee);
	/* as much as the send ring has room for */
	expect_region_cmd(z, TAS_CMD_TX_ZC, 100, FX_RING);
	fx_expect_no_cmd(&z->f, ZC_CORE);
	/* ring bytes wait behind it */
	assert_int_equal(flextcp_connection_tx_space(&z->c), 0);
	assert_int_equal(flextcp_connection_tx_alloc(&z->c, 10, &buf), 0);
	assert_int_equal(
		flextcp_connection_tx_alloc2(&z->c, 10, &buf, &l1, &b2), 0);

	zev(z, TAS_EV_TX_FREED, 1000);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_sendbuf(z, &out[0]);
	expect_region_cmd(z, TAS_CMD_TX_ZC, 100 + FX_RING, 1000);
	fx_expect_no_cmd(&z->f, ZC_CORE);
	assert_int_equal(flextcp_connection_tx_alloc(&z->c, 10, &buf), 0);
	zev(z, TAS_EV_TX_FREED, FX_RING);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_region_cmd(z, TAS_CMD_TX_ZC, 5196, FX_RING);
	zev(z, TAS_EV_TX_FREED, FX_RING);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_region_cmd(z, TAS_CMD_TX_ZC, 9292, 808); /* the last chunk */
	fx_expect_no_cmd(&z->f, ZC_CORE);

	/* all handed over: ring bytes follow it, at stream position 10000 */
	assert_int_equal(flextcp_connection_tx_space(&z->c),
			 FX_RING - (10000 - 9192));
	assert_int_equal(flextcp_connection_tx_alloc(&z->c, 100, &buf), 100);
	assert_ptr_equal(buf, txring + 10000 % FX_RING);
	assert_int_equal(flextcp_connection_tx_send(&z->f.ctx, &z->c, 100), 0);
	fx_expect_cmd(&z->f, ZC_CORE, TAS_CMD_TX, z->o.flow, 100);

	/* done only once TX_FREED covers its last byte */
	zev(z, TAS_EV_TX_FREED, 807);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_sendbuf(z, &out[0]);
	assert_int_equal(z->r->busy_, 1);
	zev(z, TAS_EV_TX_FREED, 1);
	assert_int_equal(zpoll(z, out, 4), 2);
	expect_sendbuf(z, &out[0]);
	expect_zc_done(z, &out[1], 0, 0xc0ffee, 10000);
	assert_int_equal(z->r->busy_, 0);
	zev(z, TAS_EV_TX_FREED, 100);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_sendbuf(z, &out[0]);
	fx_expect_no_cmd(&z->f, ZC_CORE);
	assert_int_equal(libtas_ctx_drops(&z->f.ctx), 0);
}

static void test_tx_zc_ordered_with_ring_bytes_and_fin(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[4];
	void *buf;

	assert_int_equal(flextcp_connection_tx_alloc(&z->c, 50, &buf), 50);
	assert_int_equal(flextcp_connection_tx_send(&z->f.ctx, &z->c, 50), 0);
	fx_expect_cmd(&z->f, ZC_CORE, TAS_CMD_TX, z->o.flow, 50);
	/* allocated but unsent ring bytes: refused, nothing queued */
	assert_int_equal(flextcp_connection_tx_alloc(&z->c, 20, &buf), 20);
	send_zc_refused(z, 0, 10, EINVAL);
	assert_int_equal(flextcp_connection_tx_send(&z->f.ctx, &z->c, 20), 0);
	fx_expect_cmd(&z->f, ZC_CORE, TAS_CMD_TX, z->o.flow, 20);
	/* ranges outside the region */
	send_zc_refused(z, REGION_LEN - 10, 11, EINVAL);
	send_zc_refused(z, 0, 0, EINVAL);

	send_zc(z, 0, 5000, 7);
	expect_region_cmd(z, TAS_CMD_TX_ZC, 0, FX_RING - 70);
	/* the FIN waits until the send is handed over completely */
	assert_int_equal(flextcp_connection_tx_close(&z->f.ctx, &z->c), 0);
	send_zc_refused(z, 0, 10, EINVAL); /* closed for sending */
	zev(z, TAS_EV_TX_FREED, 2000);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_sendbuf(z, &out[0]);
	expect_region_cmd(z, TAS_CMD_TX_ZC, FX_RING - 70,
			  5000 - (FX_RING - 70));
	fx_expect_cmd(&z->f, ZC_CORE, TAS_CMD_TX_FIN, z->o.flow, 0);
	fx_expect_no_cmd(&z->f, ZC_CORE);
	zev(z, TAS_EV_TX_FREED, 5070 - 2000);
	assert_int_equal(zpoll(z, out, 4), 2);
	expect_zc_done(z, &out[1], 0, 7, 5000);
}

static void test_tx_zc_at_most_tx_max_outstanding(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[EV_ROOM];

	for (uint32_t i = 0; i < TAS_ZC_TX_MAX; i++) {
		send_zc(z, i, 1, 100 + i);
		expect_region_cmd(z, TAS_CMD_TX_ZC, i, 1);
	}
	send_zc_refused(z, 0, 1, ENOBUFS);
	assert_int_equal(z->r->busy_, TAS_ZC_TX_MAX);
	/* one TX_FREED completes several, in order */
	zev(z, TAS_EV_TX_FREED, TAS_ZC_TX_MAX - 1);
	assert_int_equal(zpoll(z, out, EV_ROOM), TAS_ZC_TX_MAX);
	expect_sendbuf(z, &out[0]);
	for (uint32_t i = 0; i < TAS_ZC_TX_MAX - 1; i++)
		expect_zc_done(z, &out[1 + i], 0, 100 + i, 1);
	assert_int_equal(z->r->busy_, 1);
	send_zc(z, 0, 1, 1); /* room again */
	expect_region_cmd(z, TAS_CMD_TX_ZC, 0, 1);
	zev(z, TAS_EV_TX_FREED, 2);
	assert_int_equal(zpoll(z, out, EV_ROOM), 3);
	expect_zc_done(z, &out[1], 0, 100 + TAS_ZC_TX_MAX - 1, 1);
	expect_zc_done(z, &out[2], 0, 1, 1);
}

/* ---- posted receive buffers ---- */

static void test_rx_placed_bytes_skip_the_ring(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[4];
	uint8_t *d = harness_region(z->f.h, z->r->id_, NULL);

	zev(z, TAS_EV_RX, 200);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_received(z, &out[0], 0, 200);
	post(z, 64, 3000, 0xa1, 200);
	memset(d + 64, 'p', 3000); /* the daemon places the payload */
	zev(z, TAS_EV_RX_PLACED, 3000);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_placed(z, &out[0], 0, 0xa1, 64, 3000);
	assert_int_equal(((uint8_t *)out[0].ev.conn_rx_placed.buf)[2999], 'p');
	/* placed bytes are never released by the app */
	fx_expect_no_cmd(&z->f, ZC_CORE);
	assert_int_equal(flextcp_connection_rx_done(&z->f.ctx, &z->c, 201), -1);
	rx_done(z, 200);
	/* ring bytes after them sit at their stream position in the ring */
	zev(z, TAS_EV_RX, 50);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_received(z, &out[0], 3200, 50);
	rx_done(z, 50);
	post(z, 0, 3000, 0xa2, 3250);
	zev(z, TAS_EV_RX_PLACED, 3000);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_placed(z, &out[0], 0, 0xa2, 0, 3000);
	zev(z, TAS_EV_RX, 10);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_received(z, &out[0], 6250, 10); /* ring offset 2154 */
	fx_expect_no_cmd(&z->f, ZC_CORE);
	rx_done(z, 10);
	assert_int_equal(libtas_ctx_drops(&z->f.ctx), 0);
}

static void test_rx_post_at_follows_outstanding_posts(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[4];

	zev(z, TAS_EV_RX, 40);
	assert_int_equal(zpoll(z, out, 4), 1);
	post(z, 0, 100, 1, 40);
	post(z, PAGE, 200, 2, 140); /* right after the outstanding one */
	zev(z, TAS_EV_RX_PLACED, 100);
	zev(z, TAS_EV_RX_PLACED, 200);
	assert_int_equal(zpoll(z, out, 4), 2);
	expect_placed(z, &out[0], 0, 1, 0, 100);
	expect_placed(z, &out[1], 0, 2, PAGE, 200);
	post(z, 2 * PAGE, 10, 3, 340); /* none outstanding: the position */
	zev(z, TAS_EV_RX_PLACED, 10);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_placed(z, &out[0], 0, 3, 2 * PAGE, 10);
	assert_int_equal(z->r->busy_, 0);
}

static void test_rx_post_hides_bytes_announced_before_it(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[4];

	zev(z, TAS_EV_RX, 100);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_received(z, &out[0], 0, 100);
	post(z, 0, 1000, 0xb1, 100);
	/* the daemon had announced 300 bytes of the post's range before it
	 * took the post (and copied them into the buffer then) */
	zev(z, TAS_EV_RX, 300);
	assert_int_equal(zpoll(z, out, 4), 0);
	assert_int_equal(flextcp_connection_rx_done(&z->f.ctx, &z->c, 101), -1);
	zev(z, TAS_EV_RX_PLACED, 700);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_placed(z, &out[0], 0, 0xb1, 0, 1000);
	zev(z, TAS_EV_RX, 10);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_received(z, &out[0], 1100, 10);
	rx_done(z, 110); /* ring bytes only: 100 before, 10 after */
	assert_int_equal(libtas_ctx_drops(&z->f.ctx), 0);
}

static void test_rx_post_holds_ring_bytes_behind_full_post(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[4];

	post(z, 0, 100, 0xc1, 0);
	/* 100 of the post's range and 150 after it, announced before the
	 * daemon took the post */
	zev(z, TAS_EV_RX, 250);
	assert_int_equal(zpoll(z, out, 4), 0);
	assert_int_equal(flextcp_connection_rx_done(&z->f.ctx, &z->c, 1), -1);
	zev(z, TAS_EV_RX_PLACED, 0);
	/* in stream order, also across polls */
	assert_int_equal(zpoll(z, out, 1), 1);
	expect_placed(z, &out[0], 0, 0xc1, 0, 100);
	assert_int_equal(zpoll(z, out, 1), 1);
	expect_received(z, &out[0], 100, 150);
	assert_int_equal(zpoll(z, out, 4), 0);
	rx_done(z, 150);
	assert_int_equal(libtas_ctx_drops(&z->f.ctx), 0);
}

static void test_rx_post_end_of_stream_reports_filled_part(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[4];

	post(z, 0, 1000, 0xd1, 0);
	post(z, 1000, 500, 0xd2, 1000);
	zev(z, TAS_EV_RX, 100);
	zev(z, TAS_EV_RX_PLACED, 300); /* short: the stream ended */
	zev(z, TAS_EV_RX_PLACED, 0);
	zev(z, TAS_EV_RX_FIN, 0);
	assert_int_equal(zpoll(z, out, 4), 3);
	expect_placed(z, &out[0], 0, 0xd1, 0, 400);
	expect_placed(z, &out[1], 0, 0xd2, 1000, 0);
	assert_int_equal(out[2].event_type, FLEXTCP_EV_CONN_RXCLOSED);
	assert_ptr_equal(out[2].ev.conn_rxclosed.conn, &z->c);
	assert_int_equal(z->r->busy_, 0);
	errno = 0;
	assert_int_equal(
		flextcp_connection_rx_post(&z->f.ctx, &z->c, z->r, 0, 10, 0xd3),
		-1);
	assert_int_equal(errno, EINVAL);
	fx_expect_no_cmd(&z->f, ZC_CORE);
}

static void test_reset_aborts_outstanding_sends_and_posts(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[8];
	struct tas_ev ev = fx_ev_for(&z->o, TAS_EV_RESET, 0);

	send_zc(z, 0, 10000, 0xe1);
	expect_region_cmd(z, TAS_CMD_TX_ZC, 0, FX_RING);
	send_zc(z, 10000, 10, 0xe2); /* not handed over at all */
	post(z, 20000, 1000, 0xe3, 0);
	post(z, 21000, 500, 0xe4, 1000);
	fx_expect_no_cmd(&z->f, ZC_CORE);
	assert_int_equal(z->r->busy_, 4);
	ev.status = -ECONNRESET;
	fx_push(&z->f, ZC_CORE, &ev);
	assert_int_equal(zpoll(z, out, 8), 5);
	expect_zc_done(z, &out[0], ZC_ABORT, 0xe1, 10000);
	expect_zc_done(z, &out[1], ZC_ABORT, 0xe2, 10);
	expect_placed(z, &out[2], ZC_ABORT, 0xe3, 20000, 0);
	expect_placed(z, &out[3], ZC_ABORT, 0xe4, 21000, 0);
	assert_int_equal(out[4].event_type, FLEXTCP_EV_CONN_CLOSED);
	assert_int_equal(out[4].ev.conn_closed.status, -ECONNRESET);
	assert_ptr_equal(out[4].ev.conn_closed.conn, &z->c);
	fx_expect_no_cmd(&z->f, ZC_CORE);
	assert_int_equal(z->r->busy_, 0);
	assert_int_equal(flextcp_mem_free(&z->f.ctx, z->r), 0);
	z->r = NULL;
}

static void test_close_hands_over_nothing_more_and_aborts(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[8];

	send_zc(z, 0, 10000, 0xf1);
	expect_region_cmd(z, TAS_CMD_TX_ZC, 0, FX_RING);
	post(z, 0, 100, 0xf2, 0);
	/* the close does not wait for the send's remaining chunks */
	assert_int_equal(flextcp_connection_close(&z->f.ctx, &z->c), 0);
	fx_expect_cmd(&z->f, ZC_CORE, TAS_CMD_CLOSE, z->o.flow, 0);
	zev(z, TAS_EV_TX_FREED, FX_RING);
	assert_int_equal(zpoll(z, out, 8), 0);
	fx_expect_no_cmd(&z->f, ZC_CORE);
	zev(z, TAS_EV_CLOSED, 0);
	assert_int_equal(zpoll(z, out, 8), 3);
	expect_zc_done(z, &out[0], ZC_ABORT, 0xf1, 10000);
	expect_placed(z, &out[1], ZC_ABORT, 0xf2, 0, 0);
	assert_int_equal(out[2].event_type, FLEXTCP_EV_CONN_CLOSED);
	assert_int_equal(out[2].ev.conn_closed.status, 0);
	assert_int_equal(z->r->busy_, 0);
}

static void test_hostile_rx_placed_dropped_and_counted(void **state)
{
	struct zfx *z = *state;
	struct flextcp_event out[4];

	zev(z, TAS_EV_RX_PLACED, 0); /* no post ever */
	assert_int_equal(zpoll(z, out, 4), 0);
	assert_int_equal(drops(z, LIBTAS_DROP_BAD_STATE), 1);
	post(z, 0, 100, 0xf1, 0);
	zev(z, TAS_EV_RX_PLACED, 101); /* more than the post */
	zev(z, TAS_EV_RX, 30);
	zev(z, TAS_EV_RX_PLACED, 71); /* more than it still takes */
	assert_int_equal(zpoll(z, out, 4), 0);
	assert_int_equal(drops(z, LIBTAS_DROP_BAD_LEN), 2);
	zev(z, TAS_EV_RX_PLACED, 70);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_placed(z, &out[0], 0, 0xf1, 0, 100);
	zev(z, TAS_EV_RX_PLACED, 0); /* none outstanding any more */
	assert_int_equal(zpoll(z, out, 4), 0);
	assert_int_equal(drops(z, LIBTAS_DROP_BAD_STATE), 2);
	assert_int_equal(libtas_ctx_drops(&z->f.ctx), 4);
	/* the connection goes on */
	zev(z, TAS_EV_RX, 5);
	assert_int_equal(zpoll(z, out, 4), 1);
	expect_received(z, &out[0], 100, 5);
}

/* ---- reproductions of libtas bugs (skipped until fixed) ---- */

struct zstep {
	uint8_t type; /* enum tas_ev_type */
	uint32_t a;
};

/* A post of 100 bytes at stream 0, then the fast path sends @steps
 * (ending with RX_PLACED a=0): the app must see, in stream order, the post
 * placed, the @shown ring bytes after it, then RXCLOSED if a step is
 * RX_FIN. */
static void post_steps_expect_order(struct zfx *z, const struct zstep *steps,
				    int n, uint32_t shown)
{
	struct flextcp_event out[4];
	int fin = 0;

	post(z, 0, 100, 0x11, 0);
	for (int i = 0; i < n; i++) {
		zev(z, steps[i].type, steps[i].a);
		fin |= steps[i].type == TAS_EV_RX_FIN;
	}
	assert_int_equal(zpoll(z, out, 4), 2 + fin);
	expect_placed(z, &out[0], 0, 0x11, 0, 100);
	expect_received(z, &out[1], 100, shown);
	if (fin)
		assert_int_equal(out[2].event_type, FLEXTCP_EV_CONN_RXCLOSED);
}

/* The post fills exactly at the end of one TAS_EV_RX and the next
 * TAS_EV_RX carries the bytes after it (the daemon announced both before
 * it took the post). Those wait for the post's RX_PLACED like in
 * test_rx_post_holds_ring_bytes_behind_full_post. */
static void test_ring_bytes_after_post_filled_by_earlier_rx(void **state)
{
	const struct zstep steps[] = { { TAS_EV_RX, 100 },
				       { TAS_EV_RX, 50 },
				       { TAS_EV_RX_PLACED, 0 } };

	post_steps_expect_order(*state, steps, 3, 50);
}

/* The peer's last bytes and FIN were announced before the daemon took the
 * post, which it then ends at once (RX_PLACED after RX_FIN). The app sees
 * the data before RXCLOSED. */
static void test_rxclosed_after_data_of_post(void **state)
{
	const struct zstep steps[] = { { TAS_EV_RX, 250 },
				       { TAS_EV_RX_FIN, 0 },
				       { TAS_EV_RX_PLACED, 0 } };

	post_steps_expect_order(*state, steps, 3, 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, zc_setup, zc_teardown)
		T(test_mem_alloc_rounds_to_pages_and_is_shared),
		T(test_mem_alloc_refusals_map_to_errno),
		T(test_mem_free_stale_id_refused),
		T(test_mem_free_busy_while_send_or_post_outstanding),
		T(test_tx_zc_chunks_follow_ring_space),
		T(test_tx_zc_ordered_with_ring_bytes_and_fin),
		T(test_tx_zc_at_most_tx_max_outstanding),
		T(test_rx_placed_bytes_skip_the_ring),
		T(test_rx_post_at_follows_outstanding_posts),
		T(test_rx_post_hides_bytes_announced_before_it),
		T(test_rx_post_holds_ring_bytes_behind_full_post),
		T(test_rx_post_end_of_stream_reports_filled_part),
		T(test_reset_aborts_outstanding_sends_and_posts),
		T(test_close_hands_over_nothing_more_and_aborts),
		T(test_hostile_rx_placed_dropped_and_counted),
		T(test_ring_bytes_after_post_filled_by_earlier_rx),
		T(test_rxclosed_after_data_of_post),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
