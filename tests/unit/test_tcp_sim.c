/*
 * test_tcp_sim.c - deterministic simulation: two TCP engines joined by a
 * modelled link (rate, delay, drop-tail queue, seeded xorshift loss,
 * reordering and duplication) under a virtual clock, no threads and no
 * real time. Each run moves SIM_BYTES both ways, verifies every byte
 * against the generated streams, closes both ends cleanly (through
 * TIME_WAIT), and adds a row to a table that must match the committed
 * snapshot tests/sim/tcp_sim_snapshot.txt (TAS_SIM_UPDATE=1 rewrites it;
 * TAS_SIM_SNAPSHOT names another file). Frames cross the link as bytes
 * (tcp_emit/tcp_parse), so option encoding is part of the path.
 * Scenarios sweep seeds, random loss (1% and 5%), reordering, duplication,
 * and a tail loss (the first transmission of each of the last `tail`
 * segments of each stream is dropped). Columns: retransmitted segments,
 * RTO timeouts (SYN ones included), probe timeouts (tail loss probes and
 * stall probes), frames dropped on the links, time to complete.
 *
 * Needs: nothing (no root, no netns, no hardware); run from the repo root.
 * ASAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/seq.h"
#include "tcp/tcp.h"
#include "tcp/wire.h"

#define SIM_BYTES (4u << 20)
#define SIM_RING (256u << 10)
#define SIM_MTU 1500
#define SIM_RATE_BPS 1000000000ull /* 1 Gbit/s each way */
#define SIM_DELAY_NS 50000ull	   /* 50 us one way */
#define SIM_QUEUE_FRAMES 128	   /* drop-tail bottleneck queue */
#define SIM_FRAMES_MAX 4096	   /* frames in flight per direction */
#define SIM_STEPS_MAX 20000000u
#define SIM_TIME_MAX_NS (600ull * 1000 * 1000 * 1000)
#define SIM_FRAME_OVERHEAD 38 /* Ethernet header+FCS+preamble+IFG ~ */
#define PPM 1000000u

struct frame {
	uint64_t at, order;
	uint32_t len;
	uint8_t ecn;
	uint8_t data[TCP_HLEN + TCP_OPT_MAX + SIM_MTU];
};

struct link {
	struct frame *f; /* sorted by (at, order) */
	uint32_t n;
	uint64_t busy_until, order;
	uint32_t loss_ppm, reorder_ppm, dup_ppm;
	uint32_t tail_bytes; /* drop first sends ending in the last bytes */
	uint32_t sent_hi;    /* stream offset the sender has reached */
	uint64_t rng;
	uint64_t dropped;
};

struct host {
	struct tcp_conn c;
	struct tcp_out out;
	struct link *tx_link;
	uint8_t dir; /* stream this host sends */
	uint8_t *rx, *tx;
	uint32_t written, verified, intact;
	bool app_closed, rx_fin, closed, reset;
};

struct scenario {
	uint64_t seed;
	uint32_t loss_ppm, reorder_ppm, dup_ppm;
	uint32_t tail_segs;
};

static const struct scenario scenarios[] = {
	{ 1, 0, 0, 0, 0 },
	{ 1, 10000, 0, 0, 0 },
	{ 2, 10000, 0, 0, 0 },
	{ 3, 10000, 0, 0, 0 },
	{ 1, 50000, 0, 0, 0 },
	{ 2, 50000, 0, 0, 0 },
	{ 1, 0, 20000, 0, 0 },
	{ 2, 0, 20000, 0, 0 },
	{ 1, 10000, 20000, 10000, 0 },
	{ 1, 20000, 20000, 10000, 0 },
	{ 2, 20000, 20000, 10000, 0 },
	{ 1, 50000, 20000, 0, 0 },
	{ 2, 50000, 20000, 10000, 0 },
	{ 1, 0, 0, 0, 3 },
	{ 2, 10000, 0, 0, 3 },
};

/* xorshift64 (Marsaglia): a failing seed replays exactly. */
static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static bool chance(struct link *l, uint32_t ppm)
{
	return ppm && xorshift64(&l->rng) % PPM < ppm;
}

static uint8_t gen(uint8_t dir, uint32_t off)
{
	uint32_t x = off * 2654435761u + dir * 0x9e3779b9u;

	return (uint8_t)(x >> 13 ^ x >> 24 ^ off);
}

static void link_push(struct link *l, const struct frame *fr)
{
	uint32_t i = l->n;

	assert_true(l->n < SIM_FRAMES_MAX);
	while (i > 0 &&
	       (l->f[i - 1].at > fr->at ||
		(l->f[i - 1].at == fr->at && l->f[i - 1].order > fr->order)))
		i--;
	memmove(&l->f[i + 1], &l->f[i], (l->n - i) * sizeof(*fr));
	l->f[i] = *fr;
	l->n++;
}

static void transmit(struct host *h, const struct tcp_seg_out *s, uint64_t now)
{
	static struct frame fr;
	struct link *l = h->tx_link;
	struct tcp_hdr hdr = s->h;
	uint32_t hlen, off, first, wire;
	uint64_t ser, start;

	hlen = (uint32_t)tcp_emit(fr.data, &hdr);
	off = (s->h.seq - (h->c.iss + 1)) & (SIM_RING - 1);
	if (s->len) {
		first = s->len < SIM_RING - off ? s->len : SIM_RING - off;
		memcpy(fr.data + hlen, h->tx + off, first);
		memcpy(fr.data + hlen + first, h->tx, s->len - first);
	}
	fr.len = hlen + s->len;
	fr.ecn = s->ecn;
	wire = fr.len + IPV4_HLEN + SIM_FRAME_OVERHEAD;
	ser = (uint64_t)wire * 8 * 1000000000ull / SIM_RATE_BPS;
	start = l->busy_until > now ? l->busy_until : now;
	if (s->len) {
		uint32_t end = s->h.seq - (h->c.iss + 1) + s->len;
		bool first = end > l->sent_hi;

		if (first)
			l->sent_hi = end;
		if (first && l->tail_bytes && end > SIM_BYTES - l->tail_bytes) {
			l->dropped++;
			return;
		}
	}
	if (start - now > SIM_QUEUE_FRAMES * ser || chance(l, l->loss_ppm)) {
		l->dropped++;
		return;
	}
	l->busy_until = start + ser;
	fr.at = l->busy_until + SIM_DELAY_NS;
	if (chance(l, l->reorder_ppm))
		fr.at += 4 * ser + SIM_DELAY_NS / 2;
	fr.order = l->order++;
	link_push(l, &fr);
	if (chance(l, l->dup_ppm)) {
		fr.at += ser;
		fr.order = l->order++;
		link_push(l, &fr);
	}
}

/* Perform what the engine asked for: send, verify, free, note events. */
static void handle(struct host *h, uint64_t now)
{
	struct tcp_out *o = &h->out;
	uint32_t i;

	for (i = 0; i < o->nseg; i++)
		transmit(h, &o->seg[i], now);
	for (i = 0; i < o->rx_new; i++) {
		uint32_t off = h->verified + i;

		if (h->rx[off & (SIM_RING - 1)] == gen(h->dir ^ 1, off))
			h->intact++;
	}
	h->verified += o->rx_new;
	if (o->rx_new)
		assert_int_equal(tcp_app_rx_done(&h->c, o->rx_new), 0);
	if (o->events & TCP_OUT_RX_FIN)
		h->rx_fin = true;
	if (o->events & TCP_OUT_RESET) {
		h->reset = true;
		if (getenv("TAS_SIM_DEBUG"))
			fprintf(stderr,
				"dir %u reset err %d at %llu state %s\n",
				h->dir, o->err, (unsigned long long)now,
				tcp_state_str(h->c.state));
	}
	if (o->events & (TCP_OUT_CLOSED | TCP_OUT_RESET))
		h->closed = true;
	tcp_out_reset(o);
}

/* The app writes whatever fits, closes when done, and the engine sends. */
static void app_step(struct host *h, uint64_t now)
{
	uint32_t space, n, i, guard;

	if (h->closed || h->c.state == TCP_SYN_SENT ||
	    h->c.state == TCP_SYN_RCVD || h->c.state == TCP_CLOSED)
		return;
	space = tcp_tx_space(&h->c);
	n = SIM_BYTES - h->written < space ? SIM_BYTES - h->written : space;
	if (n && !h->app_closed) {
		for (i = 0; i < n; i++) {
			uint32_t off = h->written + i;

			h->tx[off & (SIM_RING - 1)] = gen(h->dir, off);
		}
		assert_int_equal(tcp_app_tx(&h->c, n), 0);
		h->written += n;
	}
	if (h->written == SIM_BYTES && !h->app_closed) {
		h->app_closed = true;
		tcp_app_close(&h->c, now, &h->out);
		handle(h, now);
	}
	for (guard = 0; guard < 64; guard++) {
		tcp_output(&h->c, now, &h->out);
		n = h->out.nseg;
		handle(h, now);
		if (n < TCP_OUT_SEGS)
			break;
	}
}

static void deliver(struct host *to, const struct frame *fr, uint64_t now)
{
	struct tcp_hdr hdr;

	assert_int_equal(tcp_parse(fr->data, fr->len, &hdr), PKT_OK);
	if (to->c.state == TCP_CLOSED && !to->closed &&
	    (hdr.flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
		tcp_accept_syn(&to->c, &hdr, now, &to->out);
	} else if (!to->closed) {
		tcp_input(&to->c, &hdr, fr->data + hdr.hlen, fr->len - hdr.hlen,
			  fr->ecn, now, &to->out);
	}
	handle(to, now);
}

struct result {
	uint32_t intact_ab, intact_ba;
	uint64_t retrans, timeouts, probes, time_ns, dropped;
};

static void run(const struct scenario *sc, struct result *r)
{
	static struct frame fa[SIM_FRAMES_MAX], fb[SIM_FRAMES_MAX];
	struct tcp_cfg cfg;
	struct link lab = { 0 }, lba = { 0 };
	struct host *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct host *hosts[2] = { a, b };
	struct link *links[2] = { &lab, &lba };
	uint64_t now = 0, done_at = 0;
	uint32_t steps, k;

	assert_non_null(a);
	assert_non_null(b);
	tcp_cfg_default(&cfg, SIM_MTU);
	cfg.ecn = true;
	lab.f = fa;
	lba.f = fb;
	lab.rng = sc->seed * 0x9e3779b97f4a7c15ull + 1;
	lba.rng = sc->seed * 0xbf58476d1ce4e5b9ull + 7;
	for (k = 0; k < 2; k++) {
		links[k]->loss_ppm = sc->loss_ppm;
		links[k]->reorder_ppm = sc->reorder_ppm;
		links[k]->dup_ppm = sc->dup_ppm;
		links[k]->tail_bytes = sc->tail_segs * (SIM_MTU - 40 - 12);
		hosts[k]->rx = calloc(1, SIM_RING);
		hosts[k]->tx = calloc(1, SIM_RING);
		assert_non_null(hosts[k]->rx);
		assert_non_null(hosts[k]->tx);
		hosts[k]->dir = (uint8_t)k;
		tcp_out_reset(&hosts[k]->out);
	}
	a->tx_link = &lab;
	b->tx_link = &lba;
	tcp_conn_init(&a->c, &cfg, 0x0100000a, 40000, 0x0200000a, 80,
		      0xfffff000u + (uint32_t)sc->seed, a->rx, SIM_RING, a->tx,
		      SIM_RING);
	tcp_conn_init(&b->c, &cfg, 0x0200000a, 80, 0x0100000a, 40000,
		      0x7ffff000u * (uint32_t)sc->seed, b->rx, SIM_RING, b->tx,
		      SIM_RING);
	tcp_connect(&a->c, now, &a->out);
	handle(a, now);
	for (steps = 0; steps < SIM_STEPS_MAX; steps++) {
		uint64_t next = UINT64_MAX, d;

		for (k = 0; k < 2; k++) {
			if (links[k]->n && links[k]->f[0].at < next)
				next = links[k]->f[0].at;
			d = hosts[k]->closed ? UINT64_MAX
					     : tcp_next_deadline(&hosts[k]->c);
			if (d < next)
				next = d;
		}
		if (next == UINT64_MAX || next > SIM_TIME_MAX_NS)
			break;
		now = next > now ? next : now;
		for (k = 0; k < 2; k++) {
			struct link *l = links[k];

			while (l->n && l->f[0].at <= now) {
				static struct frame fr;

				fr = l->f[0];
				memmove(&l->f[0], &l->f[1],
					(l->n - 1) * sizeof(fr));
				l->n--;
				deliver(hosts[k ^ 1], &fr, now);
			}
		}
		for (k = 0; k < 2; k++) {
			if (!hosts[k]->closed &&
			    tcp_next_deadline(&hosts[k]->c) <= now) {
				tcp_timers(&hosts[k]->c, now, &hosts[k]->out);
				handle(hosts[k], now);
			}
			app_step(hosts[k], now);
		}
		if (!done_at && a->verified == SIM_BYTES &&
		    b->verified == SIM_BYTES && a->rx_fin && b->rx_fin &&
		    (a->c.state == TCP_TIME_WAIT || a->c.state == TCP_CLOSED) &&
		    (b->c.state == TCP_TIME_WAIT || b->c.state == TCP_CLOSED))
			done_at = now;
		if (a->closed && b->closed)
			break;
	}
	if (getenv("TAS_SIM_DEBUG"))
		fprintf(stderr,
			"steps %u now %llu a %s w %u v %u una-iss %u nxt-iss "
			"%u "
			"wnd %u cwnd %u | b %s w %u v %u una-iss %u wnd %u "
			"cwnd %u links %u %u\n",
			steps, (unsigned long long)now,
			tcp_state_str(a->c.state), a->written, a->verified,
			a->c.snd_una - a->c.iss, a->c.snd_nxt - a->c.iss,
			a->c.snd_wnd, a->c.cwnd, tcp_state_str(b->c.state),
			b->written, b->verified, b->c.snd_una - b->c.iss,
			b->c.snd_wnd, b->c.cwnd, lab.n, lba.n);
	assert_false(a->reset);
	assert_false(b->reset);
	assert_true(a->closed && b->closed);
	assert_int_equal(a->c.state, TCP_CLOSED);
	assert_int_equal(b->c.state, TCP_CLOSED);
	assert_int_equal(b->verified, SIM_BYTES);
	assert_int_equal(a->verified, SIM_BYTES);
	r->intact_ab = b->intact;
	r->intact_ba = a->intact;
	r->retrans = a->c.st.retrans_segs + b->c.st.retrans_segs;
	r->timeouts = a->c.st.timeouts + b->c.st.timeouts;
	r->probes = a->c.st.tlp_probes + b->c.st.tlp_probes;
	r->time_ns = done_at;
	r->dropped = lab.dropped + lba.dropped;
	for (k = 0; k < 2; k++) {
		free(hosts[k]->rx);
		free(hosts[k]->tx);
		free(hosts[k]);
	}
}

static void test_sim_bulk_both_ways_sweep_matches_snapshot(void **state)
{
	const char *path = getenv("TAS_SIM_SNAPSHOT");
	const char *upd = getenv("TAS_SIM_UPDATE");
	static char table[16384], old[16384];
	size_t len = 0, n;
	unsigned i;
	FILE *f;

	(void)state;
	if (!path)
		path = "tests/sim/tcp_sim_snapshot.txt";
	len += (size_t)snprintf(
		table + len, sizeof(table) - len,
		"# tcp_sim: %u bytes each way, 1 Gbit/s, "
		"50 us one way, %u-frame queue\n"
		"# seed loss%% reord%% dup%% tail   a->b_intact "
		"  b->a_intact retrans  rtos probes drops  "
		"time_ms\n",
		SIM_BYTES, SIM_QUEUE_FRAMES);
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const struct scenario *sc = &scenarios[i];
		struct result r;

		run(sc, &r);
		assert_int_equal(r.intact_ab, SIM_BYTES);
		assert_int_equal(r.intact_ba, SIM_BYTES);
		len += (size_t)snprintf(
			table + len, sizeof(table) - len,
			"%6llu %5.1f %6.1f %4.1f %4u %13u %13u %7llu %5llu "
			"%6llu %5llu %8.3f\n",
			(unsigned long long)sc->seed, sc->loss_ppm / 1e4,
			sc->reorder_ppm / 1e4, sc->dup_ppm / 1e4, sc->tail_segs,
			r.intact_ab, r.intact_ba, (unsigned long long)r.retrans,
			(unsigned long long)r.timeouts,
			(unsigned long long)r.probes,
			(unsigned long long)r.dropped, r.time_ns / 1e6);
	}
	printf("%s", table);
	if (upd && !strcmp(upd, "1")) {
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(table, 1, len, f), len);
		fclose(f);
		return;
	}
	f = fopen(path, "r");
	if (!f)
		fail_msg("no snapshot %s (run from the repo root, or set "
			 "TAS_SIM_UPDATE=1 to write it)",
			 path);
	n = fread(old, 1, sizeof(old) - 1, f);
	fclose(f);
	old[n] = 0;
	if (n != len || memcmp(old, table, len))
		fail_msg("simulation differs from %s (TAS_SIM_UPDATE=1 "
			 "rewrites it after a deliberate change)",
			 path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_sim_bulk_both_ways_sweep_matches_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
