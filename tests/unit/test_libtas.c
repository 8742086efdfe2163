/*
 * test_libtas.c - unit tests of libtas (client/) against the fake daemon of
 * libtas_harness.c: registration and its errors, contexts, listen/accept
 * pairing in both orders, connect, in-place receive incl. ring wrap, send
 * ring allocation at wrap, commands, FIN/RESET/CLOSE mapping, doorbell
 * suppression, hostile events, sleeping, moves and full command queues;
 * the extensions: listener close (arrivals closed, accept handles given
 * back, late arrivals, reopen), connection accessors, and a fork child that
 * registers afresh. The fixture (struct fx and the fast-path helpers) is
 * libtas_fx.c, shared with test_libtas_zc.c.
 *
 * Needs: nothing (no root, no netns, no hardware). ASAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tas_ll.h>
#include "client/libtas.h"
#include "libtas_fx.h"

/* Run flextcp_init() with stderr captured into @buf. */
static int init_capture(char *buf, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(2), ret;
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	ret = flextcp_init();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return ret;
}

/* ---- registration ---- */

static void test_init_no_daemon_fails_with_message(void **state)
{
	char buf[512];

	(void)state;
	setenv("TAS_SOCKET", "/tmp/libtas-test-nonexistent/tas.sock", 1);
	assert_int_equal(init_capture(buf, sizeof(buf)), -1);
	assert_non_null(strstr(buf, "libtas: cannot reach the tas daemon at "
				    "/tmp/libtas-test-nonexistent/tas.sock: "
				    "No such file or directory (is tas "
				    "running? set TAS_SOCKET)\n"));
	assert_int_equal(flextcp_context_create(&(struct flextcp_context){ 0 }),
			 -1);
}

static void test_init_abi_mismatch_names_both_versions(void **state)
{
	struct harness *h = fx_start(TAS_ABI_VERSION + 6);
	char buf[512], want[128];

	(void)state;
	assert_int_equal(init_capture(buf, sizeof(buf)), -1);
	snprintf(want, sizeof(want), "libtas speaks version %u",
		 TAS_ABI_VERSION);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), "speaks version %u\n",
		 TAS_ABI_VERSION + 6);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "ABI version mismatch"));
	harness_stop(h);
}

static void test_init_second_call_returns_zero(void **state)
{
	struct fx *f = *state;

	(void)f;
	assert_int_equal(flextcp_init(), 0);
	assert_int_equal(flextcp_init(), 0);
}

static void test_context_create_attaches_queues(void **state)
{
	struct fx *f = *state;
	struct flextcp_context c2;
	struct flextcp_event ev;

	assert_int_equal(f->ctx.ctx_id_, 0);
	assert_true(flextcp_context_waitfd(&f->ctx) >= 0);
	assert_int_equal(flextcp_context_create(&c2), 0);
	assert_int_equal(c2.ctx_id_, 1);
	assert_int_equal(flextcp_context_poll(&c2, 1, &ev), 0);
	assert_int_equal(flextcp_context_poll(NULL, 1, &ev), -1);
	libtas_context_free(&c2);
}

/* ---- listeners ---- */

static void listen_ok(struct fx *f, struct flextcp_listener *l)
{
	struct tas_msg m;
	struct tas_ev ev = { .type = TAS_EV_LISTEN_OPEN };
	struct flextcp_event out[2];

	assert_int_equal(flextcp_listen_open(&f->ctx, l, 7, 64,
					     FLEXTCP_LISTEN_REUSEPORT),
			 0);
	assert_int_equal(harness_next_msg(f->h, &m, 1000), 0);
	assert_int_equal(m.type, TAS_MSG_LISTEN);
	assert_int_equal(m.ctx_id, f->ctx.ctx_id_);
	assert_int_equal(m.user, (uintptr_t)l);
	assert_int_equal(m.listen.port, 7);
	assert_int_equal(m.listen.backlog, 64);
	assert_int_equal(m.listen.flags, FLEXTCP_LISTEN_REUSEPORT);
	ev.user = m.user;
	fx_push(f, HARNESS_KIN, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_LISTEN_OPEN);
	assert_int_equal(out[0].ev.listen_open.status, 0);
	assert_ptr_equal(out[0].ev.listen_open.listener, l);
}

static void test_listen_open_result_reported(void **state)
{
	struct fx *f = *state;
	struct flextcp_listener l, l2;
	struct tas_msg m;
	struct tas_ev ev = { .type = TAS_EV_LISTEN_OPEN,
			     .status = -EADDRINUSE };
	struct flextcp_event out[2];

	listen_ok(f, &l);
	assert_int_equal(flextcp_listen_open(&f->ctx, &l2, 7, 8, 0), 0);
	assert_int_equal(harness_next_msg(f->h, &m, 1000), 0);
	ev.user = m.user;
	fx_push(f, HARNESS_KIN, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	assert_int_equal(out[0].ev.listen_open.status, -EADDRINUSE);
	assert_ptr_equal(out[0].ev.listen_open.listener, &l2);
	assert_int_equal(
		flextcp_listen_accept(&f->ctx, &l2,
				      &(struct flextcp_connection){ 0 }),
		-1);
}

static void test_listen_accept_before_arrival_pairs(void **state)
{
	struct fx *f = *state;
	struct flextcp_listener l;
	struct flextcp_connection c[2];
	struct flextcp_event out[4];
	struct tas_ev ev;

	listen_ok(f, &l);
	assert_int_equal(flextcp_listen_accept(&f->ctx, &l, &c[0]), 0);
	assert_int_equal(flextcp_listen_accept(&f->ctx, &l, &c[1]), 0);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 0);
	ev = fx_flow_ev(f, TAS_EV_CONN_NEW, 1, (uintptr_t)&l);
	fx_push(f, 1, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 2);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_LISTEN_NEWCONN);
	assert_int_equal(out[0].ev.listen_newconn.remote_ip, FX_PEER_IP);
	assert_int_equal(out[0].ev.listen_newconn.remote_port, 40000);
	assert_ptr_equal(out[0].ev.listen_newconn.listener, &l);
	assert_int_equal(out[1].event_type, FLEXTCP_EV_LISTEN_ACCEPT);
	assert_int_equal(out[1].ev.listen_accept.status, 0);
	assert_ptr_equal(out[1].ev.listen_accept.conn, &c[0]);
	/* the second handle goes to the second arrival, FIFO */
	ev = fx_flow_ev(f, TAS_EV_CONN_NEW, 0, (uintptr_t)&l);
	fx_push(f, 0, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 2);
	assert_ptr_equal(out[1].ev.listen_accept.conn, &c[1]);
	/* the accepted connection works */
	ev = fx_ev_for(&ev, TAS_EV_RX, 3);
	fx_push(f, 0, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 1);
	assert_ptr_equal(out[0].ev.conn_received.conn, &c[1]);
}

static void test_listen_accept_after_arrival_pairs(void **state)
{
	struct fx *f = *state;
	struct flextcp_listener l;
	struct flextcp_connection c;
	struct flextcp_event out[4];
	struct tas_ev ev, rx;

	listen_ok(f, &l);
	ev = fx_flow_ev(f, TAS_EV_CONN_NEW, 0, (uintptr_t)&l);
	fx_push(f, 0, &ev);
	/* the peer sends and closes before the app accepts */
	memcpy(harness_seg(f->h) + ev.rx_off, "hello", 5);
	rx = fx_ev_for(&ev, TAS_EV_RX, 5);
	fx_push(f, 0, &rx);
	rx = fx_ev_for(&ev, TAS_EV_RX_FIN, 0);
	fx_push(f, 0, &rx);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_LISTEN_NEWCONN);
	assert_int_equal(libtas_ctx_drops(&f->ctx), 0);

	assert_int_equal(flextcp_listen_accept(&f->ctx, &l, &c), 0);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 3);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_LISTEN_ACCEPT);
	assert_ptr_equal(out[0].ev.listen_accept.conn, &c);
	assert_int_equal(out[1].event_type, FLEXTCP_EV_CONN_RECEIVED);
	assert_int_equal(out[1].ev.conn_received.len, 5);
	assert_memory_equal(out[1].ev.conn_received.buf, "hello", 5);
	assert_int_equal(out[2].event_type, FLEXTCP_EV_CONN_RXCLOSED);
	assert_int_equal(flextcp_connection_rx_done(&f->ctx, &c, 5), 0);
	fx_expect_cmd(f, 0, TAS_CMD_RX_DONE, ev.flow, 5);
}

/* ---- connections ---- */

static void test_connect_result_ok_and_error(void **state)
{
	struct fx *f = *state;
	struct flextcp_connection c, c2;
	struct tas_msg m;
	struct tas_ev ev = { .type = TAS_EV_CONN_OPEN,
			     .status = -ECONNREFUSED };
	struct flextcp_event out[2];

	fx_open_conn(f, &c, 1);
	assert_int_equal(flextcp_connection_open(&f->ctx, &c2,
						 0x0a000001u /* 10.0.0.1 */,
						 1234),
			 0);
	assert_int_equal(harness_next_msg(f->h, &m, 1000), 0);
	assert_int_equal(m.connect.ip, 0x0a000001u);
	assert_int_equal(m.connect.port, 1234);
	assert_int_equal(m.user, (uintptr_t)&c2);
	ev.user = m.user;
	fx_push(f, HARNESS_KIN, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_CONN_OPEN);
	assert_int_equal(out[0].ev.conn_open.status, -ECONNREFUSED);
	assert_ptr_equal(out[0].ev.conn_open.conn, &c2);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c2, 0), -1);
}

static void test_rx_event_points_into_ring(void **state)
{
	struct fx *f = *state;
	struct flextcp_connection c;
	struct flextcp_event out[2];
	struct tas_ev o = fx_open_conn(f, &c, 0), ev;

	memcpy(harness_seg(f->h) + o.rx_off, "0123456789", 10);
	ev = fx_ev_for(&o, TAS_EV_RX, 10);
	fx_push(f, 0, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_CONN_RECEIVED);
	assert_ptr_equal(out[0].ev.conn_received.conn, &c);
	assert_int_equal(out[0].ev.conn_received.len, 10);
	assert_memory_equal(out[0].ev.conn_received.buf, "0123456789", 10);
	/* in place: the library's mapping of the same ring bytes */
	harness_seg(f->h)[o.rx_off] = 'X';
	assert_int_equal(((char *)out[0].ev.conn_received.buf)[0], 'X');
}

static void test_rx_wrap_splits_into_two_events(void **state)
{
	struct fx *f = *state;
	struct flextcp_connection c;
	struct flextcp_event out[1];
	struct tas_ev o = fx_open_conn(f, &c, 0), ev;
	uint8_t *ring = libtas_proc.seg + o.rx_off;

	ev = fx_ev_for(&o, TAS_EV_RX, 4000);
	fx_push(f, 0, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 1), 1);
	assert_int_equal(flextcp_connection_rx_done(&f->ctx, &c, 4000), 0);
	fx_expect_cmd(f, 0, TAS_CMD_RX_DONE, o.flow, 4000);
	ev.a = 200;
	fx_push(f, 0, &ev);
	/* room for one event per poll: the second piece is kept for later */
	assert_int_equal(fx_poll_all(&f->ctx, out, 1), 1);
	assert_ptr_equal(out[0].ev.conn_received.buf, ring + 4000);
	assert_int_equal(out[0].ev.conn_received.len, 96);
	assert_int_equal(fx_poll_all(&f->ctx, out, 1), 1);
	assert_ptr_equal(out[0].ev.conn_received.buf, ring);
	assert_int_equal(out[0].ev.conn_received.len, 104);
	assert_int_equal(fx_poll_all(&f->ctx, out, 1), 0);
	/* rx_done beyond what was received is refused */
	assert_int_equal(flextcp_connection_rx_done(&f->ctx, &c, 201), -1);
	assert_int_equal(flextcp_connection_rx_done(&f->ctx, &c, 200), 0);
	fx_expect_cmd(f, 0, TAS_CMD_RX_DONE, o.flow, 200);
	fx_expect_no_cmd(f, 0);
}

static void test_tx_alloc_short_at_wrap(void **state)
{
	struct fx *f = *state;
	struct flextcp_connection c;
	struct flextcp_event out[2];
	struct tas_ev o = fx_open_conn(f, &c, 1), ev;
	uint8_t *ring = libtas_proc.seg + o.tx_off;
	void *buf, *b1, *b2;
	size_t l1;

	assert_int_equal(flextcp_connection_tx_alloc(&c, 3000, &buf), 3000);
	assert_ptr_equal(buf, ring);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 3001), -1);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 3000), 0);
	fx_expect_cmd(f, 1, TAS_CMD_TX, o.flow, 3000);
	/* 1096 bytes left, all before the end of the ring */
	assert_int_equal(flextcp_connection_tx_alloc(&c, 2000, &buf), 1096);
	assert_ptr_equal(buf, ring + 3000);
	assert_int_equal(flextcp_connection_tx_alloc(&c, 1, &buf), 0);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 1096), 0);
	fx_expect_cmd(f, 1, TAS_CMD_TX, o.flow, 1096);

	/* acknowledgement frees space: SENDBUF, and the space is reused */
	ev = fx_ev_for(&o, TAS_EV_TX_FREED, 3500);
	fx_push(f, 1, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_CONN_SENDBUF);
	assert_ptr_equal(out[0].ev.conn_sendbuf.conn, &c);
	assert_int_equal(flextcp_connection_tx_alloc(&c, 5000, &buf), 3500);
	assert_ptr_equal(buf, ring);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 3500), 0);
	fx_expect_cmd(f, 1, TAS_CMD_TX, o.flow, 3500);

	/* tx_alloc2 across the end: 100 at 3500, then the ring start */
	ev.a = 4096;
	fx_push(f, 1, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	ev.a = 100;
	fx_push(f, 1, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 0); /* more than sent */
	assert_int_equal(libtas_ctx_drops(&f->ctx), 1);
	assert_int_equal(flextcp_connection_tx_alloc2(&c, 0, &b1, &l1, &b2), 0);
	assert_int_equal(flextcp_connection_tx_alloc(&c, 0, &buf), 0);
	assert_int_equal(flextcp_connection_tx_alloc(&c, 500, &buf), 500);
	assert_ptr_equal(buf, ring + 3500);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 500), 0);
	fx_expect_cmd(f, 1, TAS_CMD_TX, o.flow, 500);
	ev.a = 500;
	fx_push(f, 1, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	/* position 4000 (mod 4096): 96 bytes, then 4000 at the start */
	assert_int_equal(flextcp_connection_tx_alloc2(&c, 5000, &b1, &l1, &b2),
			 4096);
	assert_ptr_equal(b1, ring + 4000);
	assert_int_equal(l1, 96);
	assert_ptr_equal(b2, ring);
}

static void test_fin_close_mapping(void **state)
{
	struct fx *f = *state;
	struct flextcp_connection c;
	struct flextcp_event out[2];
	struct tas_ev o = fx_open_conn(f, &c, 0), ev;
	void *buf;

	ev = fx_ev_for(&o, TAS_EV_RX_FIN, 0);
	fx_push(f, 0, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_CONN_RXCLOSED);
	assert_ptr_equal(out[0].ev.conn_rxclosed.conn, &c);

	assert_int_equal(flextcp_connection_tx_alloc(&c, 10, &buf), 10);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 4), 0);
	assert_int_equal(flextcp_connection_tx_close(&f->ctx, &c), 0);
	assert_int_equal(flextcp_connection_tx_close(&f->ctx, &c), -1);
	assert_int_equal(flextcp_connection_tx_alloc(&c, 10, &buf), -1);
	fx_expect_cmd(f, 0, TAS_CMD_TX, o.flow, 4);
	fx_expect_cmd(f, 0, TAS_CMD_TX_FIN, o.flow, 0);
	ev = fx_ev_for(&o, TAS_EV_TX_FIN_ACKED, 0);
	fx_push(f, 0, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_CONN_TXCLOSED);

	assert_int_equal(flextcp_connection_close(&f->ctx, &c), 0);
	assert_int_equal(flextcp_connection_close(&f->ctx, &c), -1);
	fx_expect_cmd(f, 0, TAS_CMD_CLOSE, o.flow, 0);
	ev = fx_ev_for(&o, TAS_EV_CLOSED, 0);
	fx_push(f, 0, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_CONN_CLOSED);
	assert_int_equal(out[0].ev.conn_closed.status, 0);
	assert_ptr_equal(out[0].ev.conn_closed.conn, &c);
	/* the flow is gone: later events for it are dropped */
	ev = fx_ev_for(&o, TAS_EV_RX, 1);
	fx_push(f, 0, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 0);
	assert_int_equal(libtas_ctx_drops(&f->ctx), 1);
}

static void test_reset_maps_to_closed_with_status(void **state)
{
	struct fx *f = *state;
	struct flextcp_connection c;
	struct flextcp_event out[2];
	struct tas_ev o = fx_open_conn(f, &c, 1), ev;

	ev = fx_ev_for(&o, TAS_EV_RESET, 0);
	ev.status = -ETIMEDOUT;
	fx_push(f, 1, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_CONN_CLOSED);
	assert_int_equal(out[0].ev.conn_closed.status, -ETIMEDOUT);
	assert_ptr_equal(out[0].ev.conn_closed.conn, &c);
	assert_int_equal(flextcp_connection_close(&f->ctx, &c), -1);
	fx_expect_no_cmd(f, 1);
}

/* ---- doorbells, hostile events, sleeping ---- */

static void test_doorbell_written_only_when_sleeping(void **state)
{
	struct fx *f = *state;
	struct flextcp_connection c;
	struct tas_ev o = fx_open_conn(f, &c, 1);
	struct tas_seg_hdr *hdr = harness_hdr(f->h);
	void *buf;

	assert_int_equal(flextcp_connection_tx_alloc(&c, 100, &buf), 100);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 50), 0);
	assert_int_equal(harness_doorbell_read(f->h, 1), 0);
	atomic_store(&hdr->sleeping[1], 1);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 50), 0);
	assert_int_equal(harness_doorbell_read(f->h, 1), 1);
	assert_int_equal(harness_doorbell_read(f->h, 0), 0);
	atomic_store(&hdr->sleeping[0], 1);
	assert_int_equal(flextcp_connection_rx_done(&f->ctx, &c, 0), 0);
	assert_int_equal(harness_doorbell_read(f->h, 0), 0);
	fx_expect_cmd(f, 1, TAS_CMD_TX, o.flow, 50);
	fx_expect_cmd(f, 1, TAS_CMD_TX, o.flow, 50);
}

static void test_hostile_events_dropped_and_counted(void **state)
{
	struct fx *f = *state;
	struct flextcp_connection c;
	struct flextcp_listener l;
	struct flextcp_event out[4];
	struct tas_ev o, ev;
	uint64_t drops = 0;

	listen_ok(f, &l);
	o = fx_open_conn(f, &c, 0);

	ev = fx_ev_for(&o, 0xee, 1); /* unknown type */
	fx_push(f, 0, &ev);
	ev = fx_ev_for(&o, TAS_EV_RX, 1);
	ev.flow ^= 0x55; /* unknown flow */
	fx_push(f, 0, &ev);
	ev = fx_ev_for(&o, TAS_EV_RX, 1);
	ev.core = 9; /* core beyond ncores */
	fx_push(f, 0, &ev);
	ev = fx_ev_for(&o, TAS_EV_RX, FX_RING + 1); /* more than the ring */
	fx_push(f, 0, &ev);
	ev = fx_ev_for(&o, TAS_EV_TX_FREED, 1); /* nothing was sent */
	fx_push(f, 0, &ev);
	ev = fx_ev_for(&o, TAS_EV_CLOSED, 0); /* close never asked for */
	fx_push(f, 0, &ev);
	ev = fx_ev_for(&o, TAS_EV_MOVED, 0); /* move never asked for */
	fx_push(f, 0, &ev);
	drops += 7;
	ev = (struct tas_ev){ .type = TAS_EV_LISTEN_OPEN,
			      .user = (uintptr_t)&c }; /* not a listener */
	fx_push(f, HARNESS_KIN, &ev);
	ev.user = 0xdeadbeef;
	fx_push(f, HARNESS_KIN, &ev);
	ev = fx_flow_ev(f, TAS_EV_CONN_OPEN, 0, 0x1234); /* nobody connecting */
	fx_push(f, 0, &ev);
	ev = fx_flow_ev(f, TAS_EV_CONN_NEW, 0, 0x5678); /* not a listener */
	fx_push(f, 0, &ev);
	drops += 4;
	ev = fx_flow_ev(f, TAS_EV_CONN_NEW, 0, (uintptr_t)&l);
	ev.rx_off = FX_SEG_SIZE - 64; /* ring outside the segment */
	fx_push(f, 0, &ev);
	ev = fx_flow_ev(f, TAS_EV_CONN_NEW, 1, (uintptr_t)&l);
	ev.tx_size = 3000; /* not a power of two */
	fx_push(f, 1, &ev);
	drops += 2;
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 0);
	assert_int_equal(libtas_ctx_drops(&f->ctx), drops);
	/* refused flows are closed towards the fast path */
	fx_expect_cmd(f, 0, TAS_CMD_CLOSE, f->next_flow - 4, 0);
	fx_expect_cmd(f, 0, TAS_CMD_CLOSE, f->next_flow - 3, 0);
	fx_expect_cmd(f, 0, TAS_CMD_CLOSE, f->next_flow - 2, 0);
	fx_expect_cmd(f, 1, TAS_CMD_CLOSE, f->next_flow - 1, 0);
	/* the good connection still works */
	ev = fx_ev_for(&o, TAS_EV_RX, 2);
	fx_push(f, 0, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 1);
	assert_int_equal(out[0].ev.conn_received.len, 2);
}

static void test_bad_queue_index_stops_queue(void **state)
{
	struct fx *f = *state;
	struct tas_ctx_shm *shm = harness_ctx_shm(f->h, f->ctx.ctx_id_);
	struct tas_ring_shm *kin =
		(struct tas_ring_shm *)(harness_seg(f->h) + shm->kin_off);
	struct flextcp_event out[2];

	atomic_store(&kin->prod, 100000u);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 0);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 0);
	assert_int_equal(libtas_ctx_drops(&f->ctx), 1);
}

static void test_canwait_and_waitfd_semantics(void **state)
{
	struct fx *f = *state;
	struct tas_ctx_shm *shm = harness_ctx_shm(f->h, f->ctx.ctx_id_);
	struct flextcp_listener l;
	struct flextcp_event out[2];
	struct tas_ev ev = { .type = TAS_EV_LISTEN_OPEN };
	uint64_t one = 1;
	int efd = harness_ctx_evfd(f->h, f->ctx.ctx_id_);

	assert_int_equal(flextcp_context_canwait(&f->ctx), 0);
	assert_int_equal(atomic_load(&shm->waiting), 1);
	assert_int_equal(flextcp_context_wait(&f->ctx, 0), 0);
	/* a producer saw waiting = 1 and kicked */
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(flextcp_context_wait(&f->ctx, 1000), 1);
	flextcp_context_waitclear(&f->ctx);
	assert_int_equal(atomic_load(&shm->waiting), 0);
	assert_int_equal(flextcp_context_wait(&f->ctx, 0), 0); /* consumed */

	/* pending event: may not sleep */
	assert_int_equal(flextcp_listen_open(&f->ctx, &l, 9, 1, 0), 0);
	ev.user = (uintptr_t)&l;
	fx_push(f, HARNESS_KIN, &ev);
	assert_int_equal(flextcp_context_canwait(&f->ctx), -1);
	flextcp_block(&f->ctx, 10000); /* returns at once */
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 1);
	assert_int_equal(flextcp_context_canwait(&f->ctx), 0);
	flextcp_context_waitclear(&f->ctx);
	assert_int_equal(flextcp_context_waitfd(&f->ctx),
			 f->ctx.evfd_); /* the fd the daemon kicks */
}

static void test_move_retargets_to_new_context(void **state)
{
	struct fx *f = *state;
	struct flextcp_context c2;
	struct flextcp_connection c;
	struct flextcp_event out[2];
	struct tas_ev o = fx_open_conn(f, &c, 1), ev;
	struct tas_cmd cmd;

	assert_int_equal(flextcp_context_create(&c2), 0);
	assert_int_equal(flextcp_connection_move(&c2, &c), 0);
	assert_int_equal(flextcp_connection_move(&c2, &c), -1); /* pending */
	fx_expect_no_cmd(f, 1);
	assert_true(harness_cmd_pop(f->h, c2.ctx_id_, 1, &cmd));
	assert_int_equal(cmd.type, TAS_CMD_MOVE);
	assert_int_equal(cmd.flow, o.flow);
	ev = fx_ev_for(&o, TAS_EV_MOVED, 0);
	assert_true(harness_ev_push(f->h, c2.ctx_id_, 1, &ev));
	assert_int_equal(flextcp_context_poll(&c2, 2, out), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_CONN_MOVED);
	assert_int_equal(out[0].ev.conn_moved.status, 0);
	assert_ptr_equal(out[0].ev.conn_moved.conn, &c);
	/* data now flows on the new context; the old one refuses the conn */
	assert_int_equal(flextcp_connection_rx_done(&f->ctx, &c, 0), -1);
	ev = fx_ev_for(&o, TAS_EV_RX, 7);
	assert_true(harness_ev_push(f->h, c2.ctx_id_, 1, &ev));
	assert_int_equal(flextcp_context_poll(&c2, 2, out), 1);
	assert_int_equal(flextcp_connection_rx_done(&c2, &c, 7), 0);
	assert_true(harness_cmd_pop(f->h, c2.ctx_id_, 1, &cmd));
	assert_int_equal(cmd.type, TAS_CMD_RX_DONE);
	libtas_context_free(&c2);
}

static void test_full_command_queue_defers_in_order(void **state)
{
	struct fx *f = *state;
	struct flextcp_connection c;
	struct flextcp_event out[2];
	struct tas_ev o = fx_open_conn(f, &c, 0);
	struct tas_cmd cmd;
	void *buf;
	uint32_t n = 0;

	/* fill atx[0] with one-byte sends */
	while (flextcp_connection_tx_possible(&f->ctx, &c) == 0) {
		assert_int_equal(flextcp_connection_tx_alloc(&c, 1, &buf), 1);
		assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 1), 0);
		n++;
	}
	assert_int_equal(n, TAS_ATX_ENTRIES);
	/* these wait in the library, merged, FIN behind them */
	assert_int_equal(flextcp_connection_tx_alloc(&c, 5, &buf), 5);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 5), 0);
	assert_int_equal(flextcp_connection_tx_close(&f->ctx, &c), 0);
	assert_int_equal(flextcp_context_canwait(&f->ctx), -1);
	for (uint32_t i = 0; i < n; i++)
		fx_expect_cmd(f, 0, TAS_CMD_TX, o.flow, 1);
	fx_expect_no_cmd(f, 0);
	assert_int_equal(fx_poll_all(&f->ctx, out, 2), 0);
	fx_expect_cmd(f, 0, TAS_CMD_TX, o.flow, 5);
	fx_expect_cmd(f, 0, TAS_CMD_TX_FIN, o.flow, 0);
	assert_true(harness_cmd_pop(f->h, f->ctx.ctx_id_, 0, &cmd) == false);
	assert_int_equal(flextcp_context_canwait(&f->ctx), 0);
	flextcp_context_waitclear(&f->ctx);
}

/* ---- listener close (extension) ---- */

/* The LISTEN_CLOSE request for @l; the fake daemon has answered it. */
static void expect_listen_close(struct fx *f, struct flextcp_listener *l)
{
	struct tas_msg m;

	assert_int_equal(harness_next_msg(f->h, &m, 1000), 0);
	assert_int_equal(m.type, TAS_MSG_LISTEN_CLOSE);
	assert_int_equal(m.ctx_id, f->ctx.ctx_id_);
	assert_int_equal(m.user, (uintptr_t)l);
}

static void test_listen_close_closes_arrivals_keeps_accepted(void **state)
{
	struct fx *f = *state;
	struct flextcp_listener l;
	struct flextcp_connection c;
	struct flextcp_event out[4];
	struct tas_ev a1, a2, ev;

	listen_ok(f, &l);
	assert_int_equal(harness_listen_count(f->h), 1);
	assert_int_equal(flextcp_listen_accept(&f->ctx, &l, &c), 0);
	a1 = fx_flow_ev(f, TAS_EV_CONN_NEW, 0, (uintptr_t)&l);
	fx_push(f, 0, &a1);
	a2 = fx_flow_ev(f, TAS_EV_CONN_NEW, 1, (uintptr_t)&l);
	fx_push(f, 1, &a2);
	ev = fx_ev_for(&a2, TAS_EV_RX, 4); /* unread data: the service RSTs */
	fx_push(f, 1, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4),
			 3); /* 2 NEWCONN, ACCEPT */

	assert_int_equal(flextcp_listen_close(&f->ctx, &l), 0);
	expect_listen_close(f, &l);
	assert_int_equal(harness_listen_count(f->h), 0);
	/* the arrival nobody accepted is closed towards its core */
	fx_expect_cmd(f, 1, TAS_CMD_CLOSE, a2.flow, 0);
	fx_expect_no_cmd(f, 0);
	assert_int_equal(flextcp_listen_close(&f->ctx, &l), -1); /* twice */
	assert_int_equal(
		flextcp_listen_accept(&f->ctx, &l,
				      &(struct flextcp_connection){ 0 }),
		-1);
	/* LISTEN_CLOSED and the closed arrival's events are the library's */
	ev = fx_ev_for(&a2, TAS_EV_RX, 2);
	fx_push(f, 1, &ev);
	ev = fx_ev_for(&a2, TAS_EV_CLOSED, 0);
	fx_push(f, 1, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 0);
	assert_int_equal(libtas_ctx_drops(&f->ctx), 0);
	/* the accepted connection is untouched */
	ev = fx_ev_for(&a1, TAS_EV_RX, 3);
	fx_push(f, 0, &ev);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_CONN_RECEIVED);
	assert_ptr_equal(out[0].ev.conn_received.conn, &c);
	assert_int_equal(flextcp_connection_rx_done(&f->ctx, &c, 3), 0);
	fx_expect_cmd(f, 0, TAS_CMD_RX_DONE, a1.flow, 3);
	/* the listener structure can be opened again */
	listen_ok(f, &l);
	assert_int_equal(harness_listen_count(f->h), 1);
	assert_int_equal(libtas_ctx_drops(&f->ctx), 0);
}

static void test_listen_close_returns_accept_handles(void **state)
{
	struct fx *f = *state;
	struct flextcp_listener l;
	struct flextcp_connection c[2];
	struct flextcp_event out[4];

	listen_ok(f, &l);
	assert_int_equal(flextcp_listen_accept(&f->ctx, &l, &c[0]), 0);
	assert_int_equal(flextcp_listen_accept(&f->ctx, &l, &c[1]), 0);
	assert_int_equal(flextcp_listen_close(&f->ctx, &l), 0);
	expect_listen_close(f, &l);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(out[i].event_type, FLEXTCP_EV_LISTEN_ACCEPT);
		assert_int_equal(out[i].ev.listen_accept.status, -ECONNABORTED);
		assert_ptr_equal(out[i].ev.listen_accept.conn, &c[i]);
	}
	assert_int_equal(flextcp_connection_close(&f->ctx, &c[0]), -1);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 0);
	assert_int_equal(libtas_ctx_drops(&f->ctx), 0);
	/* bad arguments */
	assert_int_equal(flextcp_listen_close(&f->ctx, NULL), -1);
	assert_int_equal(flextcp_listen_close(NULL, &l), -1);
}

static void test_listen_close_late_and_opening(void **state)
{
	struct fx *f = *state;
	struct flextcp_listener l, l2;
	struct flextcp_event out[4];
	struct tas_ev late, open = { .type = TAS_EV_LISTEN_OPEN };
	struct tas_msg m;

	/* a handshake completes after the daemon answered the close */
	listen_ok(f, &l);
	assert_int_equal(flextcp_listen_close(&f->ctx, &l), 0);
	expect_listen_close(f, &l);
	late = fx_flow_ev(f, TAS_EV_CONN_NEW, 1, (uintptr_t)&l);
	fx_push(f, 1, &late);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 0);
	fx_expect_cmd(f, 1, TAS_CMD_CLOSE, late.flow, 0);
	late = fx_ev_for(&late, TAS_EV_RESET, 0); /* or CLOSED: both end it */
	late.status = -ECONNRESET;
	fx_push(f, 1, &late);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 0);
	assert_int_equal(libtas_ctx_drops(&f->ctx), 0);

	/* closed before LISTEN_OPEN came: both answers are swallowed */
	assert_int_equal(flextcp_listen_open(&f->ctx, &l2, 9, 4, 0), 0);
	assert_int_equal(harness_next_msg(f->h, &m, 1000), 0);
	assert_int_equal(m.type, TAS_MSG_LISTEN);
	open.user = m.user;
	fx_push(f, HARNESS_KIN, &open); /* the daemon answers in order */
	assert_int_equal(flextcp_listen_close(&f->ctx, &l2), 0);
	expect_listen_close(f, &l2);
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 0);
	assert_int_equal(libtas_ctx_drops(&f->ctx), 0);
	/* and reopened with the same structure: its answer is reported */
	listen_ok(f, &l2);
	assert_int_equal(libtas_ctx_drops(&f->ctx), 0);
}

/* ---- accessors (extension) ---- */

static void test_connection_accessors(void **state)
{
	struct fx *f = *state;
	struct flextcp_connection c, none = { 0 };
	struct tas_ev o = fx_open_conn(f, &c, 1);
	uint32_t lip = 0, rip = 0;
	uint16_t lport = 0, rport = 0;
	void *buf;

	(void)o;
	assert_int_equal(
		flextcp_connection_addrs(&c, &lip, &lport, &rip, &rport), 0);
	assert_int_equal(lip, FX_LOCAL_IP);
	assert_int_equal(lport, 7);
	assert_int_equal(rip, FX_PEER_IP);
	assert_int_equal(rport, 40000);
	assert_int_equal(flextcp_connection_addrs(&c, NULL, NULL, &rip, NULL),
			 0);
	assert_int_equal(
		flextcp_connection_addrs(&none, &lip, NULL, NULL, NULL), -1);
	assert_int_equal(flextcp_connection_addrs(NULL, NULL, NULL, NULL, NULL),
			 -1);

	assert_int_equal(flextcp_connection_tx_capacity(&c), FX_RING);
	assert_int_equal(flextcp_connection_tx_space(&c), FX_RING);
	assert_int_equal(flextcp_connection_tx_alloc(&c, 100, &buf), 100);
	assert_int_equal(flextcp_connection_tx_space(&c), FX_RING - 100);
	assert_int_equal(flextcp_connection_tx_send(&f->ctx, &c, 100), 0);
	assert_int_equal(flextcp_connection_tx_space(&c), FX_RING - 100);
	assert_int_equal(flextcp_connection_tx_close(&f->ctx, &c), 0);
	assert_int_equal(flextcp_connection_tx_space(&c), 0);
	assert_int_equal(flextcp_connection_tx_capacity(&c), FX_RING);
	assert_int_equal(flextcp_connection_tx_space(&none), 0);
	assert_int_equal(flextcp_connection_tx_capacity(&none), 0);
	assert_int_equal(flextcp_connection_tx_space(NULL), 0);
}

/* ---- fork ---- */

/* Child of test_fork_child_registers_afresh; exit code = failed step. */
static int fork_child(struct fx *f)
{
	struct flextcp_context cc;
	struct flextcp_listener l;
	struct flextcp_event out[2];
	int n = 0;

	if (flextcp_init() != 0)
		return 2;
	/* the context inherited from the parent is no longer valid */
	if (flextcp_context_poll(&f->ctx, 2, out) != -1)
		return 3;
	if (flextcp_context_create(&cc) != 0)
		return 4;
	if (flextcp_listen_open(&cc, &l, 8080, 8, 0) != 0)
		return 5;
	/* the parent answers LISTEN_OPEN into the child's queue */
	for (int i = 0; i < 5000 && n == 0; i++) {
		n = flextcp_context_poll(&cc, 2, out);
		if (n == 0)
			usleep(1000);
	}
	if (n != 1 || out[0].event_type != FLEXTCP_EV_LISTEN_OPEN ||
	    out[0].ev.listen_open.listener != &l ||
	    out[0].ev.listen_open.status != 0)
		return 6;
	if (flextcp_init() != 0 || flextcp_context_poll(&cc, 2, out) != 0)
		return 7; /* a second call in the child changes nothing */
	return 0;
}

static void test_fork_child_registers_afresh(void **state)
{
	struct fx *f = *state;
	struct tas_ev ev = { .type = TAS_EV_LISTEN_OPEN };
	struct flextcp_listener l;
	struct tas_msg m;
	int st;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fork_child(f));
	/* the child registered as a new app with a context of its own */
	assert_int_equal(harness_next_msg(f->h, &m, 5000), 0);
	assert_int_equal(m.type, TAS_MSG_LISTEN);
	assert_int_equal(m.listen.port, 8080);
	assert_true(m.ctx_id != f->ctx.ctx_id_);
	ev.user = m.user;
	assert_true(harness_ev_push(f->h, m.ctx_id, HARNESS_KIN, &ev));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* the parent's registration and context still work */
	assert_int_equal(flextcp_init(), 0);
	listen_ok(f, &l);
	assert_int_equal(libtas_ctx_drops(&f->ctx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_no_daemon_fails_with_message),
		cmocka_unit_test(test_init_abi_mismatch_names_both_versions),
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_init_second_call_returns_zero),
		T(test_context_create_attaches_queues),
		T(test_listen_open_result_reported),
		T(test_listen_accept_before_arrival_pairs),
		T(test_listen_accept_after_arrival_pairs),
		T(test_connect_result_ok_and_error),
		T(test_rx_event_points_into_ring),
		T(test_rx_wrap_splits_into_two_events),
		T(test_tx_alloc_short_at_wrap),
		T(test_fin_close_mapping),
		T(test_reset_maps_to_closed_with_status),
		T(test_doorbell_written_only_when_sleeping),
		T(test_hostile_events_dropped_and_counted),
		T(test_bad_queue_index_stops_queue),
		T(test_canwait_and_waitfd_semantics),
		T(test_move_retargets_to_new_context),
		T(test_full_command_queue_defers_in_order),
		T(test_listen_close_closes_arrivals_keeps_accepted),
		T(test_listen_close_returns_accept_handles),
		T(test_listen_close_late_and_opening),
		T(test_connection_accessors),
		T(test_fork_child_registers_afresh),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
