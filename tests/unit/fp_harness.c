/* fp_harness.c - see fp_harness.h */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fp_harness.h"
#include "tests/unit/nic_stub.h"

static struct fph *to_h(struct nic *n)
{
	return container_of(n, struct fph, nic);
}

static unsigned f_rx(struct nic *n, unsigned q, struct nic_rx *rx, unsigned m)
{
	struct fph *h = to_h(n);
	unsigned k = 0;

	(void)q;
	while (k < m && h->rx_tail != h->rx_head) {
		unsigned i = h->rx_tail++ % FPH_RXQ;
		uint32_t len = h->rxlen[i], hl = h->pl_hdr;

		if (h->pl_open) {
			/* scatter like a NIC: header slot, then the buffer */
			unsigned w = h->pl_head;

			if (!h->pl_n ||
			    len - (len < hl ? len : hl) > h->pl_wqe[w].len) {
				h->pl_drops++; /* no buffer / too long */
				continue;
			}
			h->pl_head = (w + 1) % 512;
			h->pl_n--;
			memcpy(h->pl_hdrs[k], h->rxq[i], len < hl ? len : hl);
			if (len > hl)
				memcpy(h->pl_wqe[w].addr, h->rxq[i] + hl,
				       len - hl);
			rx[k] = (struct nic_rx){ .data = h->pl_hdrs[k],
						 .len = len,
						 .csum = NIC_CSUM_OK,
						 .payload = h->pl_wqe[w].addr,
						 .hdr_len = hl,
						 .place_id = 0,
						 .place_cookie =
							 h->pl_wqe[w].cookie };
			k++;
			continue;
		}
		memcpy(h->rx_cur[k], h->rxq[i], len);
		rx[k] = (struct nic_rx){ .data = h->rx_cur[k],
					 .len = len,
					 .csum = NIC_CSUM_OK,
					 .place_id = -1 };
		k++;
	}
	return k;
}

static unsigned f_tx(struct nic *n, unsigned q, const struct nic_tx *tx,
		     unsigned m)
{
	struct fph *h = to_h(n);

	(void)q;
	for (unsigned i = 0; i < m; i++) {
		struct fph_tx *t = &h->txlog[h->ntx++ % FPH_TXLOG];
		uint32_t len = tx[i].hdr_len;

		memcpy(t->data, tx[i].hdr, len);
		for (unsigned s = 0; s < tx[i].nseg; s++) {
			/* read every payload byte: ASan checks the pointers */
			if (len + tx[i].seg[s].len <= FB_MAX)
				memcpy(t->data + len, tx[i].seg[s].addr,
				       tx[i].seg[s].len);
			len += tx[i].seg[s].len;
		}
		t->len = len > FB_MAX ? FB_MAX : len;
		t->desc = tx[i];
		if (h->ndone < 1024)
			h->done[h->ndone++] = tx[i].cookie;
	}
	return m;
}

static unsigned f_comp(struct nic *n, unsigned q, uint64_t *c, unsigned m)
{
	struct fph *h = to_h(n);
	unsigned k = h->ndone < m ? h->ndone : m;

	(void)q;
	if (h->hold_completions)
		return 0;
	memcpy(c, h->done, k * sizeof(*c));
	memmove(h->done, h->done + k, (h->ndone - k) * sizeof(*c));
	h->ndone -= k;
	return k;
}

static int f_place_open(struct nic *n, unsigned q, const struct nic_steer *rule,
			uint16_t hdr_len, unsigned depth)
{
	struct fph *h = to_h(n);

	(void)q, (void)depth;
	if (!h->place || h->pl_open || rule->kind != NIC_STEER_FLOW ||
	    hdr_len > 128)
		return -EOPNOTSUPP;
	h->pl_open = true;
	h->pl_hdr = hdr_len;
	h->pl_head = h->pl_n = 0;
	h->pl_opens++;
	return 0;
}

static int f_place_post(struct nic *n, int id, void *addr, uint32_t len,
			uint32_t key, uint64_t cookie)
{
	struct fph *h = to_h(n);
	unsigned w;

	(void)key;
	if (id != 0 || !h->pl_open)
		return -EINVAL;
	if (h->pl_n == 512)
		return -ENOSPC;
	w = (h->pl_head + h->pl_n++) % 512;
	h->pl_wqe[w].addr = addr;
	h->pl_wqe[w].len = len;
	h->pl_wqe[w].cookie = cookie;
	return 0;
}

static void f_place_close(struct nic *n, int id)
{
	struct fph *h = to_h(n);

	if (id == 0 && h->pl_open) {
		h->pl_open = false;
		h->pl_n = 0;
		h->pl_closes++;
	}
}

static const struct nic_ops fake_ops = {
	.rx_burst = f_rx,
	.tx_burst = f_tx,
	.tx_completions = f_comp,
	.place_open = f_place_open,
	.place_post = f_place_post,
	.place_close = f_place_close,
	NIC_STUB_OPS,
};

static int p_alloc(struct fp_app *a, uint32_t *slot)
{
	for (uint32_t i = 0; i < FPH_NSLOTS; i++)
		if (!a->used[i]) {
			a->used[i] = 1;
			*slot = i;
			return 0;
		}
	return -1;
}

static void p_free(struct fp_app *a, uint32_t slot)
{
	if (slot < FPH_NSLOTS)
		a->used[slot] = 0;
}

static void p_off(struct fp_app *a, uint32_t slot, uint64_t *rx, uint64_t *tx)
{
	*rx = a->slots_off + (uint64_t)slot * 2 * a->slot_bytes;
	*tx = *rx + a->slot_bytes;
}

static const uint8_t our_mac[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t peer_mac[6] = { 2, 0, 0, 0, 0, 2 };

/**
 * fph_init - a core on the in-memory NIC and one app context
 */
int fph_init(struct fph *h, uint32_t bufsize)
{
	return fph_init_nic(h, bufsize, NULL);
}

int fph_init_nic(struct fph *h, uint32_t bufsize, struct nic *nic)
{
	struct fp_app *app = &h->app;
	uint64_t off;

	memset(h, 0, sizeof(*h));
	h->use = nic ? nic : &h->nic;
	h->txlog = calloc(FPH_TXLOG, sizeof(*h->txlog));
	if (!h->txlog)
		return -1;
	h->now = 1000000;
	h->nic.ops = &fake_ops;
	h->nic.name = "fake";
	h->sh.ip = htonl(0xc6120001);
	memcpy(h->sh.mac, our_mac, 6);
	h->sh.mtu = 1500;
	h->sh.rxbuf_size = h->sh.txbuf_size = bufsize;
	h->sh.max_flows = 16;
	h->sh.busy_poll = true;
	tcp_cfg_default(&h->sh.tcp, 1500);
	h->sh.pool = (struct fp_pool_ops){ p_alloc, p_free, p_off };

	app->slot_bytes = bufsize;
	app->slots_off = 4096 + 65536 + 65536;
	app->size = app->slots_off + FPH_NSLOTS * 2ull * bufsize;
	app->seg = aligned_alloc(4096, app->size);
	if (!app->seg)
		goto err;
	memset(app->seg, 0, app->size);
	if (nic) {
		if (nic_reg_mem(nic, app->seg, app->size, &h->seg_key))
			goto err;
		h->seg_reg = true;
	}
	h->cs = (struct tas_ctx_shm *)(app->seg + 4096);
	off = 4096 + 512;
	h->cs->kin_off = off;
	off += 32768;
	h->cs->arx_off[0] = off;
	tas_ring_init(&h->arx, app->seg + off, TAS_ARX_ENTRIES,
		      sizeof(struct tas_ev));
	off += tas_ring_shm_size(TAS_ARX_ENTRIES, sizeof(struct tas_ev));
	off = (off + 63) & ~63ull;
	h->cs->atx_off[0] = off;
	tas_ring_init(&h->atx, app->seg + off, TAS_ATX_ENTRIES,
		      sizeof(struct tas_cmd));

	h->core = fp_core_create(0, h->use, 0, &h->sh);
	if (!h->core)
		goto err;
	struct fp_cmd m = { .type = FP_CMD_CTX_ADD, .app_id = 1, .app = app };
	m.ctx.seg_base = app->seg;
	m.ctx.seg_size = app->size;
	m.ctx.ctx_off = 4096;
	m.ctx.evfd = -1;
	m.ctx.regions = app->regions;
	m.ctx.mem_key = h->seg_key;
	fp_core_post_cmd(h->core, &m);
	fph_poll(h, 0);
	return 0;
err:
	if (h->seg_reg)
		nic_dereg_mem(h->use, h->seg_key);
	free(app->seg);
	free(h->txlog);
	return -1;
}

void fph_fini(struct fph *h)
{
	fp_core_destroy(h->core);
	if (h->seg_reg)
		nic_dereg_mem(h->use, h->seg_key);
	free(h->app.seg);
	free(h->txlog);
}

void fph_inject(struct fph *h, struct tcp_hdr *t, const uint8_t *pl,
		size_t plen)
{
	struct eth_hdr e;
	struct ipv4_hdr ip;
	unsigned i;

	if (h->rx_head - h->rx_tail >= FPH_RXQ)
		return;
	i = h->rx_head++ % FPH_RXQ;
	memcpy(e.dst, our_mac, 6);
	memcpy(e.src, peer_mac, 6);
	memset(&ip, 0, sizeof(ip));
	ip.ttl = 64;
	ip.src = htonl(0xc6120002); /* 198.18.0.2 */
	ip.dst = htonl(0xc6120001);
	if (plen > 1460)
		plen = 1460;
	h->rxlen[i] = (uint32_t)fb_tcp(h->rxq[i], &e, &ip, t, pl, plen);
}

void fph_poll(struct fph *h, uint64_t dt_ns)
{
	h->now += dt_ns;
	fp_core_poll(h->core, h->now);
}

const struct fph_tx *fph_tx_at(const struct fph *h, unsigned back)
{
	if (back >= h->ntx || back >= FPH_TXLOG)
		return NULL;
	return &h->txlog[(h->ntx - 1 - back) % FPH_TXLOG];
}

static bool last_tx_seq(struct fph *h, uint32_t *seq)
{
	const struct fph_tx *t = fph_tx_at(h, 0);
	struct pkt p;

	if (!t || pkt_parse(t->data, t->len, false, &p) != PKT_OK ||
	    p.kind != PKT_KIND_TCP)
		return false;
	*seq = p.tcp.seq;
	return true;
}

void fph_listen(struct fph *h)
{
	struct fp_cmd m = { .type = FP_CMD_LISTEN,
			    .app_id = 1,
			    .app = &h->app,
			    .port = FPH_PORT,
			    .backlog = 4,
			    .user = 7 };

	fp_core_post_cmd(h->core, &m);
	fph_poll(h, 1000);
}

bool fph_establish(struct fph *h)
{
	struct tcp_hdr t = { .sport = FPH_PEER_PORT,
			     .dport = FPH_PORT,
			     .seq = 1000,
			     .flags = TCP_SYN,
			     .wnd = 65535 };
	struct tas_ev ev;
	uint32_t s;

	fph_listen(h);
	t.opts.has_mss = true;
	t.opts.mss = 1460;
	fph_inject(h, &t, NULL, 0);
	fph_poll(h, 1000);
	if (!last_tx_seq(h, &s))
		return false;
	h->our_seq = s + 1;
	h->peer_seq = 1001;
	t = (struct tcp_hdr){ .sport = FPH_PEER_PORT,
			      .dport = FPH_PORT,
			      .seq = h->peer_seq,
			      .ack = h->our_seq,
			      .flags = TCP_ACK,
			      .wnd = 65535 };
	fph_inject(h, &t, NULL, 0);
	fph_poll(h, 1000);
	while (tas_ring_dequeue_burst(&h->arx, &ev, 1) == 1)
		if (ev.type == TAS_EV_CONN_NEW) {
			h->flow = ev.flow;
			h->rx_off = ev.rx_off;
			h->tx_off = ev.tx_off;
			return true;
		}
	return false;
}

void fph_region(struct fph *h, unsigned idx, uint16_t id, void *mem,
		uint64_t len, uint32_t key)
{
	struct fp_region *r = &h->app.regions[idx];

	r->base = mem;
	r->len = len;
	r->key = key;
	atomic_store(&r->refs, 1);
	atomic_store(&r->id, id);
}

void fph_cmd(struct fph *h, uint8_t type, uint16_t region, uint32_t off,
	     uint32_t len)
{
	struct tas_cmd c = { .type = type,
			     .region = region,
			     .flow = h->flow,
			     .len = len,
			     .off = off };

	if (type == TAS_CMD_RX_POST) {
		struct tas_cmd at = { .type = TAS_CMD_RX_AT,
				      .flow = h->flow,
				      .len = h->posts_out ? h->next_at
							  : h->app_pos };

		tas_ring_enqueue_burst(&h->atx, &at, 1);
		h->next_at = at.len + len;
		h->posts_out++;
	}
	tas_ring_enqueue_burst(&h->atx, &c, 1);
}

void fph_saw_event(struct fph *h, const struct tas_ev *ev)
{
	if (ev->flow != h->flow)
		return;
	if (ev->type == TAS_EV_RX || ev->type == TAS_EV_RX_PLACED)
		h->app_pos += ev->a;
	if (ev->type == TAS_EV_RX_PLACED && h->posts_out)
		h->posts_out--;
}

unsigned fph_count_ev(const struct tas_ev *ev, unsigned n, uint8_t type,
		      uint64_t *sum)
{
	unsigned k = 0;

	*sum = 0;
	for (unsigned i = 0; i < n; i++)
		if (ev[i].type == type) {
			k++;
			*sum += ev[i].a;
		}
	return k;
}
