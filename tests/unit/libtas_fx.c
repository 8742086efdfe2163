/*
 * libtas_fx.c - CMocka fixture of the libtas suites: the fake daemon, a
 * registered process with one context, connections opened through it, and
 * events and commands exchanged as the fast path would (see libtas_fx.h)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "client/libtas.h"
#include "libtas_fx.h"

/**
 * fx_start - start a fake daemon and point $TAS_SOCKET at it
 * @abi: the ABI version it speaks
 *
 * Return: the harness.
 */
struct harness *fx_start(uint32_t abi)
{
	struct harness_cfg cfg = { .ncores = FX_NCORES,
				   .abi_version = abi,
				   .seg_size = FX_SEG_SIZE };
	struct harness *h = harness_start(&cfg);

	setenv("TAS_SOCKET", harness_path(h), 1);
	return h;
}

/**
 * fx_init - start the daemon, register, create one context
 * @f: zeroed fixture
 *
 * Return: 0, or -1 if registration or the context failed.
 */
int fx_init(struct fx *f)
{
	f->h = fx_start(TAS_ABI_VERSION);
	f->next_flow = TAS_FLOW_HANDLE(1, 3);
	if (flextcp_init() != 0 || flextcp_context_create(&f->ctx) != 0)
		return -1;
	return 0;
}

/**
 * fx_fini - undo fx_init()
 * @f: fixture
 */
void fx_fini(struct fx *f)
{
	libtas_context_free(&f->ctx);
	libtas_fini();
	harness_stop(f->h);
}

/**
 * fx_setup - CMocka setup: a fresh struct fx in *@state
 * @state: CMocka state
 *
 * Return: 0, or -1.
 */
int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	return fx_init(f);
}

/**
 * fx_teardown - CMocka teardown of fx_setup()
 * @state: CMocka state
 *
 * Return: 0.
 */
int fx_teardown(void **state)
{
	struct fx *f = *state;

	fx_fini(f);
	free(f);
	return 0;
}

/**
 * fx_poll_all - one flextcp_context_poll()
 * @ctx: context
 * @evs: room for @num events
 * @num: room
 *
 * Return: events stored.
 */
int fx_poll_all(struct flextcp_context *ctx, struct flextcp_event *evs, int num)
{
	return flextcp_context_poll(ctx, num, evs);
}

/**
 * fx_flow_ev - a tas_ev for an established flow with fresh rings
 * @f:    fixture
 * @type: TAS_EV_CONN_NEW or TAS_EV_CONN_OPEN
 * @core: the flow's core
 * @user: the cookie
 *
 * Return: the event (flow handle f->next_flow, then incremented).
 */
struct tas_ev fx_flow_ev(struct fx *f, uint8_t type, uint8_t core,
			 uint64_t user)
{
	struct tas_ev ev = { .type = type, .core = core, .user = user };

	ev.flow = f->next_flow++;
	ev.rx_off = harness_rings_alloc(f->h, FX_RING, FX_RING, &ev.tx_off);
	ev.rx_size = FX_RING;
	ev.tx_size = FX_RING;
	ev.local_ip = FX_LOCAL_IP;
	ev.remote_ip = FX_PEER_IP;
	ev.local_port = 7;
	ev.remote_port = 40000;
	return ev;
}

/**
 * fx_open_conn - connect @c through core @core, CONN_OPEN status 0 polled
 * @f:    fixture
 * @c:    the app's connection
 * @core: core the fake daemon puts the flow on
 *
 * Return: the CONN_OPEN event sent (flow, rings).
 */
struct tas_ev fx_open_conn(struct fx *f, struct flextcp_connection *c,
			   uint8_t core)
{
	struct tas_msg m;
	struct tas_ev ev;
	struct flextcp_event out[4];

	assert_int_equal(flextcp_connection_open(&f->ctx, c, FX_PEER_IP, 80),
			 0);
	assert_int_equal(harness_next_msg(f->h, &m, 1000), 0);
	assert_int_equal(m.type, TAS_MSG_CONNECT);
	ev = fx_flow_ev(f, TAS_EV_CONN_OPEN, core, m.user);
	assert_true(harness_ev_push(f->h, f->ctx.ctx_id_, core, &ev));
	assert_int_equal(fx_poll_all(&f->ctx, out, 4), 1);
	assert_int_equal(out[0].event_type, FLEXTCP_EV_CONN_OPEN);
	assert_int_equal(out[0].ev.conn_open.status, 0);
	assert_ptr_equal(out[0].ev.conn_open.conn, c);
	return ev;
}

/**
 * fx_ev_for - an event of @type for the flow of @conn
 * @conn: the flow's CONN_OPEN/CONN_NEW event
 * @type: event type
 * @a:    its count
 *
 * Return: the event.
 */
struct tas_ev fx_ev_for(const struct tas_ev *conn, uint8_t type, uint32_t a)
{
	struct tas_ev ev = { .type = type, .core = conn->core };

	ev.flow = conn->flow;
	ev.a = a;
	return ev;
}

/**
 * fx_push - enqueue @ev on the fixture context's queue @q
 * @f:  fixture
 * @q:  HARNESS_KIN or a core (arx)
 * @ev: event
 */
void fx_push(struct fx *f, int q, const struct tas_ev *ev)
{
	assert_true(harness_ev_push(f->h, f->ctx.ctx_id_, q, ev));
}

/**
 * fx_pop_cmd - the next command libtas queued for @core; there must be one
 * @f:    fixture
 * @core: core
 *
 * Return: the command.
 */
struct tas_cmd fx_pop_cmd(struct fx *f, uint32_t core)
{
	struct tas_cmd cmd;

	assert_true(harness_cmd_pop(f->h, f->ctx.ctx_id_, core, &cmd));
	return cmd;
}

/**
 * fx_expect_cmd - the next command for @core is (@type, @flow, @len)
 * @f:    fixture
 * @core: core
 * @type: enum tas_cmd_type
 * @flow: flow handle
 * @len:  its len
 */
void fx_expect_cmd(struct fx *f, uint32_t core, uint8_t type, uint32_t flow,
		   uint32_t len)
{
	struct tas_cmd cmd = fx_pop_cmd(f, core);

	assert_int_equal(cmd.type, type);
	assert_int_equal(cmd.flow, flow);
	assert_int_equal(cmd.len, len);
}

/**
 * fx_expect_no_cmd - nothing is queued for @core
 * @f:    fixture
 * @core: core
 */
void fx_expect_no_cmd(struct fx *f, uint32_t core)
{
	struct tas_cmd cmd;

	assert_false(harness_cmd_pop(f->h, f->ctx.ctx_id_, core, &cmd));
}
