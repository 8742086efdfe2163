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
#include "tests/unit/kat/frame_build.h"

#define FQ 32
#define SLOT_BYTES 4096
#define NSLOTS 4

struct fake_nic {
	struct nic nic;
	uint8_t rxq[FQ][FB_MAX];
	uint32_t rxlen[FQ];
	unsigned rx_head, rx_tail;
	uint8_t rx_cur[FQ][FB_MAX]; /* frames handed out, valid until next */
	uint8_t last_tx[FB_MAX];
	uint32_t last_tx_len;
	uint64_t done[256];
	unsigned ndone;
};

static struct fake_nic *to_fake(struct nic *n)
{
	return container_of(n, struct fake_nic, nic);
}

static unsigned f_rx(struct nic *n, unsigned q, struct nic_rx *rx, unsigned m)
{
	struct fake_nic *f = to_fake(n);
	unsigned k = 0;

	(void)q;
	while (k < m && f->rx_tail != f->rx_head) {
		unsigned i = f->rx_tail++ % FQ;

		memcpy(f->rx_cur[k], f->rxq[i], f->rxlen[i]);
		rx[k] = (struct nic_rx){ .data = f->rx_cur[k],
					 .len = f->rxlen[i],
					 .csum = NIC_CSUM_OK };
		k++;
	}
	return k;
}

static unsigned f_tx(struct nic *n, unsigned q, const struct nic_tx *tx,
		     unsigned m)
{
	struct fake_nic *f = to_fake(n);

	(void)q;
	for (unsigned i = 0; i < m; i++) {
		uint32_t len = tx[i].hdr_len;

		memcpy(f->last_tx, tx[i].hdr, len);
		for (unsigned s = 0; s < tx[i].nseg; s++) {
			/* read every payload byte: ASan checks the pointers */
			if (len + tx[i].seg[s].len <= FB_MAX)
				memcpy(f->last_tx + len, tx[i].seg[s].addr,
				       tx[i].seg[s].len);
			len += tx[i].seg[s].len;
		}
		f->last_tx_len = len > FB_MAX ? FB_MAX : len;
		if (f->ndone < 256)
			f->done[f->ndone++] = tx[i].cookie;
	}
	return m;
}

static unsigned f_comp(struct nic *n, unsigned q, uint64_t *c, unsigned m)
{
	struct fake_nic *f = to_fake(n);
	unsigned k = f->ndone < m ? f->ndone : m;

	(void)q;
	memcpy(c, f->done, k * sizeof(*c));
	memmove(f->done, f->done + k, (f->ndone - k) * sizeof(*c));
	f->ndone -= k;
	return k;
}

static int f_reg(struct nic *n, void *a, size_t l, uint32_t *key)
{
	(void)n, (void)a, (void)l;
	*key = 1;
	return 0;
}

static int f_dereg(struct nic *n, uint32_t k)
{
	(void)n, (void)k;
	return 0;
}

static int f_steer(struct nic *n, const struct nic_steer *r)
{
	(void)n, (void)r;
	return 0;
}

static void f_info(struct nic *n, struct nic_link_info *li)
{
	(void)n;
	memset(li, 0, sizeof(*li));
	li->mtu = 1500;
	li->nqueues = 1;
	li->max_segs = NIC_TX_MAX_SEG;
	li->numa_node = -1;
}

static int f_arm(struct nic *n, unsigned q)
{
	(void)n, (void)q;
	return 0;
}

static int f_fd(struct nic *n, unsigned q)
{
	(void)n, (void)q;
	return -1;
}

static unsigned f_fq(struct nic *n, uint32_t a, uint16_t b, uint32_t c,
		     uint16_t d)
{
	(void)n, (void)a, (void)b, (void)c, (void)d;
	return 0;
}

static void f_close(struct nic *n)
{
	(void)n;
}

static const struct nic_ops fake_ops = {
	.rx_burst = f_rx,
	.tx_burst = f_tx,
	.tx_completions = f_comp,
	.reg_mem = f_reg,
	.dereg_mem = f_dereg,
	.add_steer = f_steer,
	.link_info = f_info,
	.arm = f_arm,
	.fd = f_fd,
	.flow_queue = f_fq,
	.close = f_close,
};

/* the app's segment and its buffer pool */
struct fp_app {
	uint8_t *seg;
	uint64_t size;
	uint64_t slots_off;
	uint8_t used[NSLOTS];
};

static int p_alloc(struct fp_app *a, uint32_t *slot)
{
	for (uint32_t i = 0; i < NSLOTS; i++)
		if (!a->used[i]) {
			a->used[i] = 1;
			*slot = i;
			return 0;
		}
	return -1;
}

static void p_free(struct fp_app *a, uint32_t slot)
{
	if (slot < NSLOTS)
		a->used[slot] = 0;
}

static void p_off(struct fp_app *a, uint32_t slot, uint64_t *rx, uint64_t *tx)
{
	*rx = a->slots_off + (uint64_t)slot * 2 * SLOT_BYTES;
	*tx = *rx + SLOT_BYTES;
}

static const uint8_t our_mac[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t peer_mac[6] = { 2, 0, 0, 0, 0, 2 };

static void inject(struct fake_nic *f, struct tcp_hdr *t, const uint8_t *pl,
		   size_t plen)
{
	struct eth_hdr e;
	struct ipv4_hdr ip;
	unsigned i;

	if (f->rx_head - f->rx_tail >= FQ)
		return;
	i = f->rx_head++ % FQ;
	memcpy(e.dst, our_mac, 6);
	memcpy(e.src, peer_mac, 6);
	memset(&ip, 0, sizeof(ip));
	ip.ttl = 64;
	ip.src = htonl(0xc6120002); /* 198.18.0.2 */
	ip.dst = htonl(0xc6120001);
	if (plen > 1200)
		plen = 1200;
	f->rxlen[i] = (uint32_t)fb_tcp(f->rxq[i], &e, &ip, t, pl, plen);
}

static uint32_t peer_seq, our_seq;

static bool last_tx_seq(struct fake_nic *f, uint32_t *seq, uint32_t *ack)
{
	struct pkt p;

	if (!f->last_tx_len ||
	    pkt_parse(f->last_tx, f->last_tx_len, false, &p) != PKT_OK ||
	    p.kind != PKT_KIND_TCP)
		return false;
	*seq = p.tcp.seq;
	*ack = p.tcp.ack;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_nic f;
	struct fp_shared sh;
	struct fp_app app;
	struct fp_core *core;
	struct tas_ring atx, arx;
	struct tas_ctx_shm *cs;
	uint64_t off, now = 1000000;
	size_t pos = 0;

	memset(&f, 0, sizeof(f));
	f.nic.ops = &fake_ops;
	f.nic.name = "fake";
	memset(&sh, 0, sizeof(sh));
	sh.ip = htonl(0xc6120001);
	memcpy(sh.mac, our_mac, 6);
	sh.mtu = 1500;
	sh.rxbuf_size = sh.txbuf_size = SLOT_BYTES;
	sh.max_flows = 16;
	sh.busy_poll = true;
	tcp_cfg_default(&sh.tcp, 1500);
	sh.pool = (struct fp_pool_ops){ p_alloc, p_free, p_off };

	/* segment: header, one context (kin, arx[0], atx[0]), slots */
	memset(&app, 0, sizeof(app));
	app.slots_off = 4096 + 65536 + 65536;
	app.size = app.slots_off + NSLOTS * 2 * SLOT_BYTES;
	app.seg = aligned_alloc(4096, app.size);
	if (!app.seg)
		return 0;
	memset(app.seg, 0, app.size);
	cs = (struct tas_ctx_shm *)(app.seg + 4096);
	off = 4096 + 512;
	cs->kin_off = off;
	off += 32768;
	cs->arx_off[0] = off;
	tas_ring_init(&arx, app.seg + off, TAS_ARX_ENTRIES,
		      sizeof(struct tas_ev));
	off += tas_ring_shm_size(TAS_ARX_ENTRIES, sizeof(struct tas_ev));
	off = (off + 63) & ~63ull;
	cs->atx_off[0] = off;
	tas_ring_init(&atx, app.seg + off, TAS_ATX_ENTRIES,
		      sizeof(struct tas_cmd));

	core = fp_core_create(0, &f.nic, 0, &sh);
	if (!core) {
		free(app.seg);
		return 0;
	}
	struct fp_cmd m = { .type = FP_CMD_CTX_ADD, .app_id = 1, .app = &app };
	m.ctx.seg_base = app.seg;
	m.ctx.seg_size = app.size;
	m.ctx.ctx_off = 4096;
	m.ctx.evfd = -1;
	fp_core_post_cmd(core, &m);
	m = (struct fp_cmd){ .type = FP_CMD_LISTEN,
			     .app_id = 1,
			     .app = &app,
			     .port = 80,
			     .backlog = 4,
			     .user = 7 };
	fp_core_post_cmd(core, &m);
	fp_core_poll(core, now);

	/* handshake: SYN, SYN-ACK (captured), ACK */
	struct tcp_hdr t = { .sport = 5000,
			     .dport = 80,
			     .seq = 1000,
			     .flags = TCP_SYN,
			     .wnd = 65535 };
	t.opts.has_mss = true;
	t.opts.mss = 1460;
	inject(&f, &t, NULL, 0);
	fp_core_poll(core, now += 1000);
	uint32_t flow = 0, s, a;
	if (last_tx_seq(&f, &s, &a)) {
		our_seq = s + 1;
		peer_seq = 1001;
		t = (struct tcp_hdr){ .sport = 5000,
				      .dport = 80,
				      .seq = peer_seq,
				      .ack = our_seq,
				      .flags = TCP_ACK,
				      .wnd = 65535 };
		inject(&f, &t, NULL, 0);
		fp_core_poll(core, now += 1000);
	}
	struct tas_ev ev;
	while (tas_ring_dequeue_burst(&arx, &ev, 1) == 1)
		if (ev.type == TAS_EV_CONN_NEW)
			flow = ev.flow;

	if (getenv("FUZZ_APP_DEBUG")) {
		uint64_t st[ST__NR];

		fp_core_stats(core, st);
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
			tas_ring_enqueue_burst(&atx, &c, 1);
		} else if (op < 220 && pos + 12 <= size) {
			uint32_t d;
			uint16_t plen;

			t = (struct tcp_hdr){ .sport = 5000,
					      .dport = 80,
					      .wnd = 65535 };
			t.flags = data[pos];
			memcpy(&d, data + pos + 1, 4);
			t.seq = peer_seq + (op & 2 ? 0 : d);
			memcpy(&d, data + pos + 5, 4);
			t.ack = our_seq + (op & 4 ? 0 : d);
			memcpy(&plen, data + pos + 9, 2);
			pos += 12;
			plen %= 1201;
			if (plen > size - pos)
				plen = (uint16_t)(size - pos);
			inject(&f, &t, data + pos, plen);
			pos += plen;
		} else if (pos + 5 <= size) {
			/* raw index writes: the app lies about its queues */
			struct tas_ring_shm *r =
				(struct tas_ring_shm
					 *)(app.seg +
					    (data[pos] & 1 ? cs->atx_off[0]
							   : cs->arx_off[0]));
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
		fp_core_poll(core, now += 50000);
		while (tas_ring_dequeue_burst(&arx, &ev, 1) == 1)
			;
	}
	/* time passes: every timer fires */
	for (int i = 0; i < 8; i++)
		fp_core_poll(core, now += 500000000ull);
	fp_core_destroy(core);
	free(app.seg);
	return 0;
}
