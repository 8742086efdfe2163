/* ibv_double_wire.c - the port in front of the double's receive queues
 *
 * A model of what the NIC does with a received frame, built only from
 * what the double recorded: the flow rules (ibv_create_flow specs, as
 * passed, matched with their masks), their priorities (lower value wins;
 * among equal ones the first created, a choice the hardware does not
 * promise), and for a rule on an RSS QP its indirection table and the
 * Toeplitz hash of its fields. The winning RQ gets the frame through
 * dbl_rx_frame. Ethernet without VLAN, IPv4, TCP; other specs never match.
 */
#include <stddef.h>
#include <string.h>

#include "tests/unit/ibv_double.h"

/* What the rules can look at in a frame, in network order. */
struct dbl_hdrs {
	uint8_t dst[6], src[6], type[2];
	int ipv4, tcp;
	uint8_t sip[4], dip[4], sport[2], dport[2];
};

static void parse(const uint8_t *f, uint32_t len, struct dbl_hdrs *h)
{
	uint32_t ihl;

	memset(h, 0, sizeof(*h));
	if (len < 14)
		return;
	memcpy(h->dst, f, 6);
	memcpy(h->src, f + 6, 6);
	memcpy(h->type, f + 12, 2);
	if (h->type[0] != 0x08 || h->type[1] != 0x00 || len < 34)
		return;
	h->ipv4 = 1;
	memcpy(h->sip, f + 26, 4);
	memcpy(h->dip, f + 30, 4);
	ihl = (f[14] & 0xfu) * 4u;
	if (f[23] != 6 || len < 14 + ihl + 4)
		return;
	h->tcp = 1;
	memcpy(h->sport, f + 14 + ihl, 2);
	memcpy(h->dport, f + 16 + ihl, 2);
}

/* Is (@field & @mask) == (@val & @mask), byte by byte? */
static int masked_eq(const void *val, const void *mask, const void *field,
		     size_t n)
{
	const uint8_t *v = val, *m = mask, *f = field;

	for (size_t i = 0; i < n; i++)
		if ((f[i] & m[i]) != (v[i] & m[i]))
			return 0;
	return 1;
}

static int spec_matches(const uint8_t *spec, const struct dbl_hdrs *h)
{
	struct ibv_flow_spec_eth e;
	struct ibv_flow_spec_ipv4 ip;
	struct ibv_flow_spec_tcp_udp t;
	uint32_t type;

	memcpy(&type, spec, sizeof(type));
	switch (type) {
	case IBV_FLOW_SPEC_ETH:
		memcpy(&e, spec, sizeof(e));
		return masked_eq(e.val.dst_mac, e.mask.dst_mac, h->dst, 6) &&
		       masked_eq(e.val.src_mac, e.mask.src_mac, h->src, 6) &&
		       masked_eq(&e.val.ether_type, &e.mask.ether_type, h->type,
				 2) &&
		       !(e.val.vlan_tag & e.mask.vlan_tag);
	case IBV_FLOW_SPEC_IPV4:
		memcpy(&ip, spec, sizeof(ip));
		return h->ipv4 &&
		       masked_eq(&ip.val.src_ip, &ip.mask.src_ip, h->sip, 4) &&
		       masked_eq(&ip.val.dst_ip, &ip.mask.dst_ip, h->dip, 4);
	case IBV_FLOW_SPEC_TCP:
		memcpy(&t, spec, sizeof(t));
		return h->tcp &&
		       masked_eq(&t.val.src_port, &t.mask.src_port, h->sport,
				 2) &&
		       masked_eq(&t.val.dst_port, &t.mask.dst_port, h->dport,
				 2);
	}
	return 0;
}

static int rule_matches(const struct dbl_flow_rec *f, const struct dbl_hdrs *h)
{
	struct ibv_flow_attr a;
	size_t off = sizeof(a);

	memcpy(&a, f->buf, sizeof(a));
	for (int i = 0; i < a.num_of_specs; i++) {
		uint16_t sz;

		memcpy(&sz,
		       f->buf + off + offsetof(struct ibv_flow_spec_eth, size),
		       sizeof(sz));
		if (!spec_matches(f->buf + off, h))
			return 0;
		off += sz;
	}
	return 1;
}

uint32_t dbl_toeplitz(const uint8_t *key, size_t klen, const uint8_t *in,
		      size_t n)
{
	uint32_t r = 0;

	for (size_t bit = 0; bit < n * 8; bit++) {
		uint32_t w = 0;

		if (!(in[bit / 8] & (0x80u >> (bit % 8))))
			continue;
		for (size_t j = 0; j < 32; j++) {
			size_t kb = bit + j;
			unsigned v = kb / 8 < klen
					     ? key[kb / 8] >> (7 - kb % 8) & 1u
					     : 0;

			w = w << 1 | v;
		}
		r ^= w;
	}
	return r;
}

static size_t hash_in(uint8_t *to, int on, const uint8_t *field, size_t len)
{
	if (!on)
		return 0;
	memcpy(to, field, len);
	return len;
}

/* The RQ behind rule target @qp for this frame. */
static void *target_rq(struct ibv_qp *qp, const struct dbl_hdrs *h)
{
	const struct dbl_qp_rec *r = dbl_qp_rec(qp);
	const struct ibv_rx_hash_conf *c;
	const struct dbl_ind_rec *t = NULL;
	uint64_t fields;
	uint8_t in[12];
	size_t n = 0;

	if (!(r->attr.comp_mask & IBV_QP_INIT_ATTR_IND_TABLE))
		return qp;
	for (int i = 0; i < dbl.nind; i++)
		if (dbl.inds[i].t == r->attr.rwq_ind_tbl)
			t = &dbl.inds[i];
	if (!t)
		return NULL;
	c = &r->attr.rx_hash_conf;
	fields = c->rx_hash_fields_mask;
	/* the Microsoft input order: src IP, dst IP, src port, dst port */
	n += hash_in(in + n, h->ipv4 && (fields & IBV_RX_HASH_SRC_IPV4), h->sip,
		     4);
	n += hash_in(in + n, h->ipv4 && (fields & IBV_RX_HASH_DST_IPV4), h->dip,
		     4);
	n += hash_in(in + n, h->tcp && (fields & IBV_RX_HASH_SRC_PORT_TCP),
		     h->sport, 2);
	n += hash_in(in + n, h->tcp && (fields & IBV_RX_HASH_DST_PORT_TCP),
		     h->dport, 2);
	return t->wq[dbl_toeplitz(r->key, c->rx_hash_key_len, in, n) &
		     ((1u << t->log_size) - 1)];
}

void *dbl_wire_frame(const void *frame, uint32_t len, unsigned wc_flags)
{
	const struct dbl_flow_rec *best = NULL;
	uint16_t best_prio = 0;
	struct dbl_hdrs h;
	void *rq;

	parse(frame, len, &h);
	for (int i = 0; i < dbl.nflow; i++) {
		const struct dbl_flow_rec *f = &dbl.flows[i];
		struct ibv_flow_attr a;

		memcpy(&a, f->buf, sizeof(a));
		if (!f->live || !rule_matches(f, &h))
			continue;
		if (!best || a.priority < best_prio) {
			best = f;
			best_prio = a.priority;
		}
	}
	if (!best)
		return NULL;
	rq = target_rq(best->qp, &h);
	if (!rq || dbl_rx_frame(rq, frame, len, wc_flags, IBV_WC_SUCCESS))
		return NULL;
	return rq;
}
