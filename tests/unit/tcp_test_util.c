/* tcp_test_util.c - fixtures for the TCP engine tests (see the header) */
#include <stdlib.h>
#include <string.h>

#include "tcp_test_util.h"

struct tconn *tconn_new(void)
{
	struct tconn *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	tcp_cfg_default(&t->cfg, 1500);
	t->cfg.sack = false;
	t->cfg.ts = false;
	t->cfg.ecn = false;
	t->cfg.wscale = 0;
	t->now = 1000 * MS;
	t->peer_tsval = 77777;
	tconn_reinit(t, LOCAL_ISS);
	return t;
}

void tconn_free(struct tconn *t)
{
	free(t);
}

void tconn_reinit(struct tconn *t, uint32_t iss)
{
	uint32_t i;

	tcp_conn_init(&t->c, &t->cfg, LOCAL_IP, LOCAL_PORT, REMOTE_IP,
		      REMOTE_PORT, iss, t->rx, T_RX_SIZE, t->tx, T_TX_SIZE);
	/* the tx ring holds the pattern at each stream offset */
	for (i = 0; i < T_TX_SIZE; i++)
		t->tx[i] = 0;
	tcp_out_reset(&t->out);
}

void conn_established_opts(struct tconn *t, bool ts, bool sack, uint8_t wscale)
{
	struct tcp_conn *c = &t->c;

	c->state = TCP_ESTABLISHED;
	c->irs = REMOTE_ISS;
	c->rcv_nxt = c->rx_read = c->rcv_acked = REMOTE_ISS + 1;
	c->rcv_wscale = wscale;
	c->snd_wscale = wscale;
	c->ws_ok = wscale != 0;
	c->rcv_adv =
		c->rcv_nxt +
		(wscale ? T_RX_SIZE : (T_RX_SIZE > 65535 ? 65535 : T_RX_SIZE));
	c->snd_una = c->snd_nxt = c->snd_max = c->iss + 1;
	c->snd_wnd = c->max_snd_wnd = 65535u << wscale;
	c->snd_wl1 = REMOTE_ISS + 1;
	c->snd_wl2 = c->iss + 1;
	c->ts_ok = ts;
	c->ts_recent = t->peer_tsval;
	c->sack_ok = sack;
	c->peer_mss = T_MSS;
	c->snd_mss = (uint16_t)(T_MSS - (ts ? 12 : 0));
	c->rcv_mss = c->snd_mss;
	c->cwnd = 10 * c->snd_mss;
	c->ssthresh = 0x3fffffff;
	c->recover = c->iss;
	c->ecn_recover = c->iss + 1;
}

void conn_established(struct tconn *t)
{
	conn_established_opts(t, false, false, 0);
}

void conn_syn_sent(struct tconn *t)
{
	tcp_out_reset(&t->out);
	tcp_connect(&t->c, t->now, &t->out);
}

void conn_syn_rcvd(struct tconn *t)
{
	struct tcp_hdr syn;

	memset(&syn, 0, sizeof(syn));
	syn.sport = REMOTE_PORT;
	syn.dport = LOCAL_PORT;
	syn.seq = REMOTE_ISS;
	syn.flags = TCP_SYN;
	syn.wnd = 65535;
	syn.opts.has_mss = true;
	syn.opts.mss = T_MSS;
	tcp_out_reset(&t->out);
	tcp_accept_syn(&t->c, &syn, t->now, &t->out);
}

void seg_in_(struct tconn *t, const struct seg_tmpl *s)
{
	static uint8_t buf[1 << 17];
	struct tcp_conn *c = &t->c;
	struct tcp_hdr h;
	const uint8_t *p = NULL;
	uint32_t len = 0, i;

	memset(&h, 0, sizeof(h));
	h.sport = REMOTE_PORT;
	h.dport = LOCAL_PORT;
	h.seq = s->raw || s->seq ? s->seq : c->rcv_nxt;
	h.ack = s->raw || s->ack ? s->ack : c->snd_max;
	h.flags = s->flags;
	h.wnd = s->wnd0 ? 0 : (s->wnd ? s->wnd : 65535);
	if (s->data) {
		p = (const uint8_t *)s->data;
		len = s->len ? s->len : (uint32_t)strlen(s->data);
	} else if (s->len) {
		uint32_t off = h.seq - (c->irs + 1);

		for (i = 0; i < s->len && i < sizeof(buf); i++)
			buf[i] = pat(off + i);
		p = buf;
		len = s->len;
	}
	if (c->ts_ok && !s->no_ts) {
		h.opts.has_ts = true;
		h.opts.ts_val = s->tsval ? s->tsval : ++t->peer_tsval;
		h.opts.ts_ecr = s->tsecr;
	}
	h.opts.nsack = s->nsack;
	for (i = 0; i < s->nsack; i++) {
		h.opts.sack[i].start = s->sack[i].start;
		h.opts.sack[i].end = s->sack[i].end;
	}
	tcp_out_reset(&t->out);
	tcp_input(c, &h, p, len, s->ecn, t->now, &t->out);
}

int app_send(struct tconn *t, uint32_t len)
{
	struct tcp_conn *c = &t->c;
	uint32_t off = c->tx_end - (c->iss + 1), i;
	int r = tcp_app_tx(c, len);

	if (r)
		return r;
	for (i = 0; i < len; i++)
		t->tx[(off + i) & (T_TX_SIZE - 1)] = pat(off + i);
	do_output(t);
	return 0;
}

void do_output(struct tconn *t)
{
	tcp_out_reset(&t->out);
	tcp_output(&t->c, t->now, &t->out);
}

void run_timers(struct tconn *t)
{
	tcp_out_reset(&t->out);
	tcp_timers(&t->c, t->now, &t->out);
}

void step(struct tconn *t, uint64_t ns)
{
	t->now += ns;
	run_timers(t);
}

const struct tcp_seg_out *oseg(const struct tconn *t, unsigned i)
{
	return i < t->out.nseg ? &t->out.seg[i] : NULL;
}

const struct tcp_seg_out *olast(const struct tconn *t)
{
	return t->out.nseg ? &t->out.seg[t->out.nseg - 1] : NULL;
}

bool rx_matches(const struct tconn *t, uint32_t from, uint32_t to)
{
	uint32_t i;

	for (i = from; i != to; i++)
		if (t->rx[i & (T_RX_SIZE - 1)] != pat(i))
			return false;
	return true;
}
