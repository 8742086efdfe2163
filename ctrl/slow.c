/* slow.c - the control thread's protocol work: ARP (RFC 826) with a cache
 * and timeouts, ICMP echo (RFC 792), next-hop routing through the gateway,
 * listeners, active opens (ephemeral ports, ARP first), and the text that
 * tasctl prints
 *
 * Known gaps: no gratuitous ARP, no ARP cache aging of entries in use by
 * open connections (their MAC is fixed at open).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ctrl/log.h"
#include "ctrl/svc.h"
#include "tcp/csum.h"
#include "tcp/wire.h"
#include "verbs/nic_fault.h"
#include "verbs/nic_link.h"

#define ARP_TTL_NS (60ull * 1000000000ull)
#define ARP_RETRY_NS (1000000000ull)
#define ARP_TRIES 3

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/**
 * svc_now_ns - CLOCK_MONOTONIC in ns
 */
uint64_t svc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ip_str(uint32_t ip_net, char *buf)
{
	inet_ntop(AF_INET, &ip_net, buf, 16);
}

static void send_frame(struct svc *s, const uint8_t *f, size_t len)
{
	/* the control thread transmits through core 0's queue */
	if (!fp_core_post_frame(s->cores[0], f, (uint32_t)len))
		s->ctr_exc_drop++;
}

/* ---- ARP ---- */

static struct arp_entry *arp_find(struct svc *s, uint32_t ip)
{
	for (unsigned i = 0; i < ARP_CACHE; i++)
		if (s->arp[i].valid && s->arp[i].ip == ip)
			return &s->arp[i];
	return NULL;
}

static void arp_send(struct svc *s, uint16_t op, const uint8_t *dmac,
		     uint32_t tip, const uint8_t *tha)
{
	uint8_t f[ETH_HLEN + ARP_LEN];
	struct eth_hdr e;
	struct arp_pkt a;

	memcpy(e.dst, dmac, 6);
	memcpy(e.src, s->link.mac, 6);
	e.type = ETHTYPE_ARP;
	a.op = op;
	memcpy(a.sha, s->link.mac, 6);
	a.spa = s->cfg.ip;
	memcpy(a.tha, tha, 6);
	a.tpa = tip;
	eth_emit(f, &e);
	arp_emit(f + ETH_HLEN, &a);
	send_frame(s, f, sizeof(f));
	s->ctr_arp_tx++;
}

/* An active open that cannot go on: the app hears why, its port and
 * buffer slot go back. */
static void connect_fail(struct svc *s, const struct fp_cmd *cmd, int err)
{
	struct tas_ev e = { .type = TAS_EV_CONN_OPEN,
			    .status = (int16_t)err,
			    .user = cmd->user };
	struct fp_pool_ops ops;

	app_kin_post(cmd->app, cmd->ctx_id, &e);
	slow_port_free(s, cmd->conn.local_port, cmd->conn.remote_ip,
		       cmd->conn.remote_port);
	app_pool_ops(&ops);
	ops.free(cmd->app, cmd->conn.buf_slot);
}

static void connect_dispatch(struct svc *s, struct fp_cmd *cmd,
			     const uint8_t *mac)
{
	/* the flow lives on the core whose queue receives its segments */
	unsigned k =
		nic_flow_queue(s->nic, s->cfg.ip, cmd->conn.local_port,
			       cmd->conn.remote_ip, cmd->conn.remote_port) %
		s->ncores;

	memcpy(cmd->conn.mac, mac, 6);
	svc_post_cmd(s, k, cmd);
}

/* The waiting entry of next hop @ip, or a free one for it (NULL: the
 * table is full). */
static struct arp_wait *arp_wait_get(struct svc *s, uint32_t ip)
{
	struct arp_wait *free_w = NULL;

	for (unsigned i = 0; i < ARP_PENDING; i++) {
		struct arp_wait *w = &s->arpq[i];

		if (w->used && w->ip == ip)
			return w;
		if (!w->used && !free_w)
			free_w = w;
	}
	return free_w;
}

/* Queue @cmd behind the ARP answer for @w's next hop; -ENOBUFS without
 * memory. */
static int arp_wait_add(struct arp_wait *w, const struct fp_cmd *cmd)
{
	if (w->ncmds == w->cap) {
		uint32_t cap = w->cap ? 2 * w->cap : ARP_WAIT_INIT;
		struct fp_cmd *n = realloc(w->cmds, cap * sizeof(*n));

		if (!n)
			return -ENOBUFS;
		w->cmds = n;
		w->cap = cap;
	}
	w->cmds[w->ncmds++] = *cmd;
	return 0;
}

/* Take @w's waiting opens and free the entry first: dispatching waits for
 * core rings and drains exceptions meanwhile, which may resolve (or
 * re-request) the same next hop. */
static struct fp_cmd *arp_wait_take(struct arp_wait *w, uint32_t *n)
{
	struct fp_cmd *cmds = w->cmds;

	*n = w->ncmds;
	memset(w, 0, sizeof(*w));
	return cmds;
}

static void arp_learn(struct svc *s, uint32_t ip, const uint8_t *mac,
		      uint64_t now)
{
	struct arp_entry *e = arp_find(s, ip), *old = &s->arp[0];
	char ips[16];

	if (!e) {
		for (unsigned i = 0; i < ARP_CACHE; i++) {
			if (!s->arp[i].valid) {
				e = &s->arp[i];
				break;
			}
			if (s->arp[i].expires_ns < old->expires_ns)
				old = &s->arp[i];
		}
		if (!e)
			e = old;
		ip_str(ip, ips);
		log_info("arp: %s is at %02x:%02x:%02x:%02x:%02x:%02x", ips,
			 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	}
	e->ip = ip;
	memcpy(e->mac, mac, 6);
	e->valid = true;
	e->expires_ns = now + ARP_TTL_NS;
	for (unsigned i = 0; i < ARP_PENDING; i++) {
		uint8_t m[6];
		struct fp_cmd *cmds;
		uint32_t n;

		if (!s->arpq[i].used || s->arpq[i].ip != ip)
			continue;
		memcpy(m, mac, 6); /* @mac may be the frame being drained */
		cmds = arp_wait_take(&s->arpq[i], &n);
		for (uint32_t j = 0; j < n; j++)
			connect_dispatch(s, &cmds[j], m);
		free(cmds);
	}
}

static void arp_input(struct svc *s, const struct pkt *p, uint64_t now)
{
	const struct arp_pkt *a = &p->arp;

	s->ctr_arp_rx++;
	if (a->tpa != s->cfg.ip)
		return; /* RFC 826: merge only when we are the target */
	arp_learn(s, a->spa, a->sha, now);
	if (a->op == ARP_OP_REQUEST)
		arp_send(s, ARP_OP_REPLY, a->sha, a->spa, a->sha);
}

/* ---- ICMP echo ---- */

static void icmp_input(struct svc *s, const struct pkt *p)
{
	uint8_t f[FP_FRAME_MAX];
	struct eth_hdr e;
	struct ipv4_hdr ip;
	struct icmp_echo r;
	size_t il;

	if (p->icmp.type != ICMP_ECHO_REQUEST || p->ip.dst != s->cfg.ip)
		return;
	r = p->icmp;
	r.type = ICMP_ECHO_REPLY;
	il = icmp_echo_len(&r);
	if (ETH_HLEN + IPV4_HLEN + il > sizeof(f))
		return;
	memcpy(e.dst, p->eth.src, 6);
	memcpy(e.src, s->link.mac, 6);
	e.type = ETHTYPE_IPV4;
	memset(&ip, 0, sizeof(ip));
	ip.tot_len = (uint16_t)(IPV4_HLEN + il);
	ip.ttl = 64;
	ip.proto = IPPROTO_ICMP_;
	ip.src = s->cfg.ip;
	ip.dst = p->ip.src;
	eth_emit(f, &e);
	ipv4_emit(f + ETH_HLEN, &ip);
	icmp_echo_emit(f + ETH_HLEN + IPV4_HLEN, &r);
	send_frame(s, f, ETH_HLEN + IPV4_HLEN + il);
	s->ctr_icmp_echo++;
}

/**
 * slow_exception - a frame the fast path handed up (ARP, ICMP, other)
 */
void slow_exception(struct svc *s, const struct fp_frame *fr)
{
	struct pkt p;
	bool verify = fr->csum != NIC_CSUM_OK && fr->csum != NIC_CSUM_PARTIAL;

	if (pkt_parse(fr->data, fr->len, verify, &p) != PKT_OK) {
		s->ctr_exc_drop++;
		return;
	}
	if (p.kind == PKT_KIND_ARP)
		arp_input(s, &p, svc_now_ns());
	else if (p.kind == PKT_KIND_ICMP)
		icmp_input(s, &p);
	else
		s->ctr_exc_drop++;
}

/**
 * slow_tick - retry ARP requests, fail active opens that got no answer
 */
void slow_tick(struct svc *s, uint64_t now)
{
	for (unsigned i = 0; i < ARP_PENDING; i++) {
		struct arp_wait *w = &s->arpq[i];
		char ips[16];

		if (!w->used || now < w->next_try_ns)
			continue;
		if (w->tries >= ARP_TRIES) {
			struct fp_cmd *cmds;
			uint32_t n;

			ip_str(w->ip, ips);
			cmds = arp_wait_take(w, &n);
			log_warn("arp: no answer from %s, %u connects fail",
				 ips, n);
			for (uint32_t j = 0; j < n; j++)
				connect_fail(s, &cmds[j], -EHOSTUNREACH);
			free(cmds);
			continue;
		}
		w->tries++;
		w->next_try_ns = now + ARP_RETRY_NS;
		arp_send(s, ARP_OP_REQUEST, bcast, w->ip,
			 (const uint8_t[6]){ 0 });
	}
}

/* ---- ports, listeners, connects ---- */

/**
 * slow_connect_failed - a core had no flow slot for an active open: the
 * app hears it on kin (which queues rather than drops) and the port goes
 */
void slow_connect_failed(struct svc *s, const struct fp_note *n)
{
	struct tas_ev e = { .type = TAS_EV_CONN_OPEN,
			    .status = (int16_t)n->status,
			    .user = n->user };

	for (unsigned i = 0; i < SVC_MAX_APPS; i++) {
		struct fp_app *a = &s->apps[i];

		if (a->used && !a->dying && a->id == n->app_id) {
			app_kin_post(a, n->ctx_id, &e);
			break;
		}
	}
	slow_port_free(s, n->port, n->remote_ip, n->remote_port);
}

/**
 * slow_port_free - an active open's local port is free again
 */
void slow_port_free(struct svc *s, uint16_t port, uint32_t rip, uint16_t rport)
{
	ports_put(&s->ports, port, rip, rport);
}

/**
 * slow_connect - start an active open for an app
 */
int slow_connect(struct svc *s, struct fp_app *a, uint16_t ctx, uint64_t user,
		 uint32_t ip_host, uint16_t port)
{
	struct tas_ev e = { .type = TAS_EV_CONN_OPEN, .user = user };
	struct fp_cmd cmd = { .type = FP_CMD_CONNECT };
	uint32_t ip = htonl(ip_host), hop, mask;
	struct fp_pool_ops ops;
	struct arp_entry *ae;
	struct arp_wait *w = NULL;
	uint32_t slot;
	int lport;

	if (ctx >= TAS_MAX_CTX || !a->ctx[ctx].used)
		return -EPROTO;
	mask = s->cfg.prefix ? htonl(~0u << (32 - s->cfg.prefix)) : 0;
	hop = ((ip & mask) == (s->cfg.ip & mask)) ? ip : s->cfg.gateway;
	if (!port || !ip || !hop) {
		e.status = !hop ? -ENETUNREACH : -EINVAL;
		goto fail;
	}
	ae = arp_find(s, hop);
	if (!ae || ae->expires_ns <= svc_now_ns()) {
		ae = NULL;
		w = arp_wait_get(s, hop);
		if (!w) { /* ARP_PENDING next hops unresolved at once */
			e.status = -ENOBUFS;
			goto fail;
		}
	}
	app_pool_ops(&ops);
	if (ops.alloc(a, &slot)) {
		e.status = -ENOBUFS;
		goto fail;
	}
	lport = ports_take(&s->ports, ip, port);
	if (lport < 0) {
		ops.free(a, slot);
		e.status = (int16_t)lport;
		goto fail;
	}
	cmd.app_id = a->id;
	cmd.app = a;
	cmd.ctx_id = ctx;
	cmd.user = user;
	cmd.conn.remote_ip = ip;
	cmd.conn.remote_port = port;
	cmd.conn.local_port = (uint16_t)lport;
	cmd.conn.buf_slot = slot;
	if (ae) {
		connect_dispatch(s, &cmd, ae->mac);
		return 0;
	}
	if (arp_wait_add(w, &cmd)) {
		connect_fail(s, &cmd, -ENOBUFS);
		return 0;
	}
	if (!w->used) { /* first open to this next hop: ask now */
		w->used = true;
		w->ip = hop;
		w->next_try_ns = 0;
		slow_tick(s, svc_now_ns());
	}
	return 0;
fail:
	app_kin_post(a, ctx, &e);
	return 0;
}

/**
 * slow_listen - register a listener (reuseport across contexts allowed)
 */
int slow_listen(struct svc *s, struct fp_app *a, const struct tas_msg *m)
{
	struct tas_ev e = { .type = TAS_EV_LISTEN_OPEN, .user = m->user };
	bool reuse = m->listen.flags & 1;
	struct listen_rec *free_rec = NULL;
	uint16_t port = m->listen.port;

	if (m->ctx_id >= TAS_MAX_CTX || !a->ctx[m->ctx_id].used)
		return -EPROTO;
	for (unsigned i = 0; i < SVC_MAX_LISTEN; i++) {
		struct listen_rec *l = &s->lst[i];

		if (!l->used) {
			if (!free_rec)
				free_rec = l;
			continue;
		}
		if (l->port == port && (!reuse || !l->reuseport)) {
			e.status = -EADDRINUSE;
			goto out;
		}
	}
	if (!port || !free_rec) {
		e.status = !port ? -EINVAL : -ENOBUFS;
		goto out;
	}
	*free_rec = (struct listen_rec){ .used = true,
					 .port = port,
					 .reuseport = reuse,
					 .app = a,
					 .ctx = m->ctx_id,
					 .user = m->user };
	for (unsigned k = 0; k < s->ncores; k++) {
		struct fp_cmd c = { .type = FP_CMD_LISTEN,
				    .app_id = a->id,
				    .app = a,
				    .ctx_id = m->ctx_id,
				    .port = port,
				    .backlog = m->listen.backlog,
				    .user = m->user };
		svc_post_cmd(s, k, &c);
	}
	log_info("app %u listens on port %u%s", a->id, port,
		 reuse ? " (reuseport)" : "");
	return 0; /* LISTEN_OPEN once every core confirmed (slow_listen_ack) */
out:
	app_kin_post(a, m->ctx_id, &e);
	return 0;
}

static struct fp_app *app_by_id(struct svc *s, uint32_t id)
{
	for (unsigned i = 0; i < SVC_MAX_APPS; i++)
		if (s->apps[i].used && !s->apps[i].dying && s->apps[i].id == id)
			return &s->apps[i];
	return NULL;
}

/**
 * slow_listen_ack - a core applied a LISTEN or LISTEN_CLOSE; the app hears
 * about it when the last core did
 */
void slow_listen_ack(struct svc *s, const struct fp_note *n)
{
	struct fp_app *a = app_by_id(s, n->app_id);
	struct tas_ev e = { .user = n->user };

	if (!a)
		return;
	if (n->type == FP_NOTE_LISTEN_DONE) {
		for (unsigned i = 0; i < SVC_MAX_LISTEN; i++) {
			struct listen_rec *l = &s->lst[i];

			if (!l->used || l->app != a || l->user != n->user ||
			    l->port != n->port || l->acks >= s->ncores)
				continue;
			if (++l->acks == s->ncores) {
				e.type = TAS_EV_LISTEN_OPEN;
				app_kin_post(a, l->ctx, &e);
			}
			return;
		}
		return;
	}
	for (unsigned i = 0; i < SVC_MAX_LISTEN; i++) {
		struct listen_close *lc = &s->lclose[i];

		if (!lc->used || lc->app != a || lc->user != n->user)
			continue;
		if (++lc->acks == s->ncores) {
			e.type = TAS_EV_LISTEN_CLOSED;
			e.status = (int16_t)lc->status;
			app_kin_post(a, lc->ctx, &e);
			lc->used = false;
		}
		return;
	}
}

/**
 * slow_listen_close - drop a listener
 */
int slow_listen_close(struct svc *s, struct fp_app *a, const struct tas_msg *m)
{
	struct tas_ev e = { .type = TAS_EV_LISTEN_CLOSED,
			    .user = m->user,
			    .status = -ENOENT };
	struct listen_close *lc = NULL;

	if (m->ctx_id >= TAS_MAX_CTX || !a->ctx[m->ctx_id].used)
		return -EPROTO;
	for (unsigned i = 0; i < SVC_MAX_LISTEN; i++) {
		struct listen_rec *l = &s->lst[i];

		if (l->used && l->app == a && l->user == m->user) {
			l->used = false;
			e.status = 0;
		}
		if (!lc && !s->lclose[i].used)
			lc = &s->lclose[i];
	}
	if (e.status || !lc) {
		/* nothing to undo on the cores: answer now */
		app_kin_post(a, m->ctx_id, &e);
		return 0;
	}
	*lc = (struct listen_close){
		.used = true, .app = a, .ctx = m->ctx_id, .user = m->user
	};
	for (unsigned k = 0; k < s->ncores; k++) {
		struct fp_cmd c = { .type = FP_CMD_LISTEN_CLOSE,
				    .app_id = a->id,
				    .app = a,
				    .user = m->user };
		svc_post_cmd(s, k, &c);
	}
	return 0;
}

/**
 * slow_app_gone - forget an app's listeners and pending opens
 */
void slow_app_gone(struct svc *s, struct fp_app *a)
{
	for (unsigned i = 0; i < SVC_MAX_LISTEN; i++) {
		if (s->lst[i].used && s->lst[i].app == a)
			s->lst[i].used = false;
		if (s->lclose[i].used && s->lclose[i].app == a)
			s->lclose[i].used = false;
	}
	for (unsigned i = 0; i < ARP_PENDING; i++) {
		struct arp_wait *w = &s->arpq[i];
		uint32_t keep = 0;

		if (!w->used)
			continue;
		/* the app's buffer slots go with its segment */
		for (uint32_t j = 0; j < w->ncmds; j++) {
			if (w->cmds[j].app == a)
				slow_port_free(s, w->cmds[j].conn.local_port,
					       w->cmds[j].conn.remote_ip,
					       w->cmds[j].conn.remote_port);
			else
				w->cmds[keep++] = w->cmds[j];
		}
		w->ncmds = keep;
		if (!keep)
			free(arp_wait_take(w, &keep));
	}
}

/* ---- tasctl text ---- */

static void text_send(int fd, const char *buf, size_t len)
{
	while (len) {
		size_t n = len > 4000 ? 4000 : len;

		if (send(fd, buf, n, MSG_NOSIGNAL) < 0)
			return;
		buf += n;
		len -= n;
	}
}

static void text_end(int fd)
{
	send(fd, "", 0, MSG_NOSIGNAL);
}

/**
 * slow_stats_text - every counter, "name value" per line
 */
void slow_stats_text(struct svc *s, int fd)
{
	uint64_t sum[ST__NR] = { 0 }, one[ST__NR];
	char buf[8192];
	size_t o = 0;

	for (unsigned k = 0; k < s->ncores; k++) {
		fp_core_stats(s->cores[k], one);
		for (unsigned i = 0; i < ST__NR; i++)
			sum[i] += one[i];
	}
	for (unsigned i = 0; i < ST__NR && o < sizeof(buf) - 64; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s %llu\n",
				      fp_stat_name(i),
				      (unsigned long long)sum[i]);
	o += (size_t)snprintf(
		buf + o, sizeof(buf) - o,
		"arp_rx %llu\narp_tx %llu\nicmp_echo_replies %llu\n"
		"exception_drops %llu\napps_registered %llu\n"
		"app_protocol_errors %llu\nzc_requests_refused %llu\n"
		"ports_in_use %u\n",
		(unsigned long long)s->ctr_arp_rx,
		(unsigned long long)s->ctr_arp_tx,
		(unsigned long long)s->ctr_icmp_echo,
		(unsigned long long)s->ctr_exc_drop,
		(unsigned long long)s->ctr_apps,
		(unsigned long long)s->ctr_app_errors,
		(unsigned long long)s->ctr_zc_refused, s->ports.n);
	{
		uint64_t d;

		if (nic_rx_dropped(s->nic, &d))
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
					      "nic_rx_dropped %llu\n",
					      (unsigned long long)d);
	}
	if (s->link_nic) {
		struct nic_link_stats ls;

		nic_link_stats(s->link_nic, &ls);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				      "link_enqueued %llu\nlink_dropped %llu\n"
				      "link_marked %llu\nlink_max_queue %u\n"
				      "link_p99_queue %u\n",
				      (unsigned long long)ls.enqueued,
				      (unsigned long long)ls.dropped,
				      (unsigned long long)ls.marked,
				      ls.max_occupancy, ls.p99_occupancy);
	}
	if (s->fault_nic) {
		struct nic_fault_stats fs;

		nic_fault_stats(s->fault_nic, &fs);
		o += (size_t)snprintf(
			buf + o, sizeof(buf) - o,
			"fault_dropped %llu\nfault_duplicated %llu\n"
			"fault_reordered %llu\nfault_corrupted %llu\n"
			"fault_truncated %llu\n",
			(unsigned long long)(fs.rx.drop + fs.tx.drop),
			(unsigned long long)(fs.rx.dup + fs.tx.dup),
			(unsigned long long)(fs.rx.reorder + fs.tx.reorder),
			(unsigned long long)(fs.rx.corrupt + fs.tx.corrupt),
			(unsigned long long)(fs.rx.truncate + fs.tx.truncate));
	}
	o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			      "cc_algorithm %s\ncc_updates %llu\n",
			      cc_algo_name(s->cfg.cc.algo),
			      (unsigned long long)s->cc.updates);
	text_send(fd, buf, o);
	text_end(fd);
}

/**
 * slow_conns_text - one line per connection, like ss
 */
void slow_conns_text(struct svc *s, int fd)
{
	const uint32_t max = 4096;
	char line[544], a[16], b[16];

	for (unsigned k = 0; k < s->ncores; k++) {
		/* the core writes into it: on the heap, and left to the core
		 * if it does not answer in time */
		struct fp_dump *d =
			calloc(1, sizeof(*d) + max * sizeof(*d->rows));
		struct fp_cmd c = { .type = FP_CMD_DUMP, .dump = d };
		uint64_t until = svc_now_ns() + 500000000ull;

		if (!d)
			break;
		d->rows = (struct fp_dump_row *)(d + 1);
		d->max = max;
		if (!fp_core_post_cmd(s->cores[k], &c)) {
			free(d);
			continue;
		}
		while (!atomic_load_explicit(&d->done, memory_order_acquire) &&
		       svc_now_ns() < until)
			;
		if (!atomic_load_explicit(&d->done, memory_order_acquire)) {
			/* core stuck: say nothing rather than lie; the dump
			 * stays allocated (leaked) since the core may still
			 * fill it */
			log_warn("tasctl conns: core %u did not answer", k);
			continue;
		}
		for (uint32_t i = 0; i < d->n; i++) {
			struct fp_dump_row *r = &d->rows[i];
			int n;

			const struct cc_flow *cf =
				cc_loop_flow(&s->cc, k, r->flow_idx);
			char ccs[256] = "";

			if (cf)
				snprintf(ccs, sizeof(ccs),
					 " cc=%s alpha=%.3f marked=%.3f "
					 "grad=%.3f rate=%llu cuts=%u",
					 cc_algo_name(cf->algo), cf->alpha,
					 cf->obs_acked
						 ? (double)cf->obs_marked /
							   (double)cf->obs_acked
						 : 0.0,
					 cf->gradient,
					 (unsigned long long)cf->rate,
					 cf->cuts);
			if (r->zc_tx || r->zc_rx_copy || r->zc_rx_nocopy) {
				size_t l = strlen(ccs);

				snprintf(ccs + l, sizeof(ccs) - l,
					 " zc_tx=%llu zc_rx_copy=%llu "
					 "zc_rx_nocopy=%llu",
					 (unsigned long long)r->zc_tx,
					 (unsigned long long)r->zc_rx_copy,
					 (unsigned long long)r->zc_rx_nocopy);
			}
			ip_str(r->local_ip, a);
			ip_str(r->remote_ip, b);
			n = snprintf(
				line, sizeof(line),
				"%-11s %s:%u %s:%u app=%u core=%u "
				"snd_wnd=%u rcv_wnd=%u cwnd=%u rtt=%uus "
				"rto=%uus in=%llu out=%llu retrans=%llu%s\n",
				tcp_state_str((enum tcp_state)r->state), a,
				r->local_port, b, r->remote_port, r->app_id, k,
				r->snd_wnd, r->rcv_wnd, r->cwnd, r->srtt_us,
				r->rto_us, (unsigned long long)r->bytes_in,
				(unsigned long long)r->bytes_out,
				(unsigned long long)r->retrans, ccs);
			if (n < 0)
				continue;
			if ((size_t)n >= sizeof(line))
				n = (int)sizeof(line) - 1;
			text_send(fd, line, (size_t)n);
		}
		free(d);
	}
	text_end(fd);
}
