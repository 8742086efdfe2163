/* test_ctrl_connect.c - the control thread's active opens (ctrl/slow.c)
 * toward a next hop whose ARP entry is missing, and the events they give
 * the app (ctrl/app.c): thousands of opens in one burst all wait for the
 * one ARP answer; its arrival sends every one to the core; without an
 * answer every one fails, each app hearing it once and in order even when
 * its kin ring is full.
 *
 * A real fast-path core is created on an in-memory NIC but never runs:
 * the test reads the commands the control thread posts to it. The app is
 * the daemon's own struct fp_app with a segment in plain memory.
 *
 * Needs: nothing (no root, no netns, no hardware). ASAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl/svc.h"
#include "tcp/fp_int.h"
#include "tcp/wire.h"
#include "tests/unit/nic_stub.h"

#define NOPENS 3000u	    /* far more than ARP_PENDING and TAS_KIN_ENTRIES */
#define PEER_IP 0xc6120002u /* 198.18.0.2, host order */
#define OUR_IP 0xc6120001u
#define PEER_PORT 7100
#define SEG_SIZE (1u << 20)
#define KIN_OFF 4096 /* the context's kin ring in the segment */
#define SEC_NS 1000000000ull
#define ARP_REQUESTS 3 /* slow.c's ARP_TRIES: requests before giving up */

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 2 };

/* ---- ctrl/main.c's part, which libsvc leaves out ---- */

void svc_post_cmd(struct svc *s, unsigned k, const struct fp_cmd *cmd)
{
	/* the core does not run here: its ring must have room */
	assert_true(fp_core_post_cmd(s->cores[k], cmd));
}

void svc_drain_core(struct svc *s, unsigned k)
{
	(void)s, (void)k;
}

/* ---- an in-memory NIC that only counts what the core would send ---- */

static unsigned f_rx(struct nic *n, unsigned q, struct nic_rx *rx, unsigned m)
{
	(void)n, (void)q, (void)rx, (void)m;
	return 0;
}

static unsigned f_tx(struct nic *n, unsigned q, const struct nic_tx *tx,
		     unsigned m)
{
	(void)n, (void)q, (void)tx;
	return m;
}

static unsigned f_comp(struct nic *n, unsigned q, uint64_t *c, unsigned m)
{
	(void)n, (void)q, (void)c, (void)m;
	return 0;
}

static const struct nic_ops fake_ops = {
	.rx_burst = f_rx,
	.tx_burst = f_tx,
	.tx_completions = f_comp,
	NIC_STUB_OPS,
};

/* ---- fixture: the control thread, one core, one app with a context ---- */

struct env {
	struct svc s; /* large: heap */
	struct nic nic;
	struct fp_shared sh;
	struct fp_app *a;
	struct tas_ring kin; /* the app's side */
	uint64_t now;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct svc *s;
	struct fp_app *a;

	assert_non_null(e);
	s = &e->s;
	e->nic.ops = &fake_ops;
	e->nic.name = "fake";
	s->nic = &e->nic;
	s->cfg.ip = htonl(OUR_IP);
	s->cfg.prefix = 24;
	s->cfg.rxbuf = s->cfg.txbuf = 4096;
	e->sh.ip = s->cfg.ip;
	e->sh.mtu = 1500;
	e->sh.rxbuf_size = e->sh.txbuf_size = 4096;
	e->sh.max_flows = 16;
	tcp_cfg_default(&e->sh.tcp, 1500);
	app_pool_ops(&e->sh.pool);
	s->cores[0] = fp_core_create(0, &e->nic, 0, &e->sh);
	assert_non_null(s->cores[0]);
	s->ncores = 1;

	a = &s->apps[0];
	a->used = true;
	a->id = 1;
	a->svc = s;
	a->seg_size = SEG_SIZE;
	a->seg = aligned_alloc(4096, SEG_SIZE);
	assert_non_null(a->seg);
	memset(a->seg, 0, SEG_SIZE);
	a->nslots = NOPENS;
	a->slots_free = NOPENS;
	a->slot_used = calloc(NOPENS, 1);
	assert_non_null(a->slot_used);
	pthread_mutex_init(&a->pool_lock, NULL);
	a->ctx[0].used = true;
	a->ctx[0].off = 0; /* struct tas_ctx_shm at 0: waiting stays 0 */
	a->ctx[0].evfd = -1;
	assert_int_equal(tas_ring_init(&a->ctx[0].kin, a->seg + KIN_OFF,
				       TAS_KIN_ENTRIES, sizeof(struct tas_ev)),
			 0);
	assert_int_equal(tas_ring_attach(&e->kin, a->seg + KIN_OFF,
					 TAS_KIN_ENTRIES,
					 sizeof(struct tas_ev)),
			 0);
	e->a = a;
	e->now = svc_now_ns();
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	slow_app_gone(&e->s, e->a); /* frees what still waits for ARP */
	free(e->a->ctx[0].kin_wait);
	free(e->a->slot_used);
	pthread_mutex_destroy(&e->a->pool_lock);
	free(e->a->seg);
	fp_core_destroy(e->s.cores[0]);
	ports_fini(&e->s.ports);
	free(e);
	return 0;
}

/* The app opens NOPENS connections to the peer, cookie i for the i-th. */
static void open_all(struct env *e)
{
	for (uint32_t i = 0; i < NOPENS; i++)
		assert_int_equal(
			slow_connect(&e->s, e->a, 0, i, PEER_IP, PEER_PORT), 0);
}

/* Everything the app can read from kin, the daemon retrying what waits
 * (its 100 ms tick) whenever the ring ran dry. */
static unsigned read_kin(struct env *e, struct tas_ev *out, unsigned max)
{
	unsigned n = 0, idle = 0;

	while (n < max && idle < 2) {
		unsigned got =
			tas_ring_dequeue_burst(&e->kin, out + n, max - n);

		n += got;
		if (got) {
			idle = 0;
			continue;
		}
		idle++;
		app_kin_retry(&e->s);
	}
	return n;
}

static void test_unresolved_hop_burst_of_opens_waits_for_one_arp(void **state)
{
	struct env *e = *state;
	struct tas_ev ev;

	open_all(e);
	/* none refused for want of a table slot, one request for the hop */
	assert_int_equal(tas_ring_dequeue_burst(&e->kin, &ev, 1), 0);
	assert_int_equal(e->s.ctr_arp_tx, 1);
	assert_int_equal(e->s.ports.n, NOPENS);
}

static void
test_unresolved_hop_arp_answer_sends_every_open_to_core(void **state)
{
	struct env *e = *state;
	struct fp_core *c = e->s.cores[0];
	uint8_t seen[EPHEMERAL_HI - EPHEMERAL_LO + 1] = { 0 };
	struct fp_frame fr = { .csum = NIC_CSUM_OK };
	struct eth_hdr eh = { .type = ETHTYPE_ARP };
	struct arp_pkt ap = { .op = ARP_OP_REPLY };
	struct fp_cmd m;
	struct tas_ev ev;

	open_all(e);
	memcpy(eh.dst, e->s.link.mac, 6);
	memcpy(eh.src, peer_mac, 6);
	memcpy(ap.sha, peer_mac, 6);
	ap.spa = htonl(PEER_IP);
	memcpy(ap.tha, e->s.link.mac, 6);
	ap.tpa = e->s.cfg.ip;
	fr.len = (uint32_t)eth_emit(fr.data, &eh);
	fr.len += (uint32_t)arp_emit(fr.data + fr.len, &ap);
	slow_exception(&e->s, &fr);

	for (uint32_t i = 0; i < NOPENS; i++) {
		assert_int_equal(tas_ring_dequeue_burst(&c->cmd_in, &m, 1), 1);
		assert_int_equal(m.type, FP_CMD_CONNECT);
		assert_int_equal(m.user, i);
		assert_ptr_equal(m.app, e->a);
		assert_memory_equal(m.conn.mac, peer_mac, 6);
		assert_int_equal(m.conn.remote_ip, htonl(PEER_IP));
		assert_in_range(m.conn.local_port, EPHEMERAL_LO, EPHEMERAL_HI);
		assert_int_equal(seen[m.conn.local_port - EPHEMERAL_LO]++, 0);
	}
	assert_int_equal(tas_ring_dequeue_burst(&c->cmd_in, &m, 1), 0);
	assert_int_equal(tas_ring_dequeue_burst(&e->kin, &ev, 1), 0);
}

static void
test_unresolved_hop_no_answer_every_open_fails_once_in_order(void **state)
{
	struct env *e = *state;
	struct tas_ev *evs = calloc(NOPENS + 1, sizeof(*evs));
	unsigned n;

	assert_non_null(evs);
	open_all(e);
	/* ARP_REQUESTS requests a second apart, then the opens fail */
	for (unsigned t = 1; t <= ARP_REQUESTS + 1; t++)
		slow_tick(&e->s, e->now + t * 2 * SEC_NS);
	assert_int_equal(e->s.ctr_arp_tx, ARP_REQUESTS);
	n = read_kin(e, evs, NOPENS + 1);
	assert_int_equal(n, NOPENS);
	for (uint32_t i = 0; i < NOPENS; i++) {
		assert_int_equal(evs[i].type, TAS_EV_CONN_OPEN);
		assert_int_equal(evs[i].status, -EHOSTUNREACH);
		assert_int_equal(evs[i].user, i);
	}
	/* every port and buffer slot back */
	assert_int_equal(e->s.ports.n, 0);
	assert_int_equal(e->a->slots_free, NOPENS);
	free(evs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_unresolved_hop_burst_of_opens_waits_for_one_arp,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unresolved_hop_arp_answer_sends_every_open_to_core,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unresolved_hop_no_answer_every_open_fails_once_in_order,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
