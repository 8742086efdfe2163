/* app.c - app registration over the Unix socket: SO_PEERCRED identity,
 * one memfd segment per app (sealed, registered with the NIC), contexts
 * with their queues and eventfds (SCM_RIGHTS), connection buffer slots, and
 * clean teardown when an app goes away
 *
 * Known gaps: segment geometry is fixed per daemon (--rxbuf, --txbuf,
 * --app-conns); no per-uid limits yet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctrl/log.h"
#include "ctrl/svc.h"

#define SEG_HDR_SIZE 4096

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t ctx_area_size(unsigned ncores)
{
	uint64_t sz = align_up(sizeof(struct tas_ctx_shm), 64);

	sz += align_up(
		tas_ring_shm_size(TAS_KIN_ENTRIES, sizeof(struct tas_ev)), 64);
	sz += ncores * align_up(tas_ring_shm_size(TAS_ARX_ENTRIES,
						  sizeof(struct tas_ev)),
				64);
	sz += ncores * align_up(tas_ring_shm_size(TAS_ATX_ENTRIES,
						  sizeof(struct tas_cmd)),
				64);
	return align_up(sz, 4096);
}

/* ---- connection buffer pool (also called by the cores) ---- */

static int pool_alloc(struct fp_app *a, uint32_t *slot)
{
	int ret = -ENOMEM;

	pthread_mutex_lock(&a->pool_lock);
	for (uint32_t i = 0; a->slots_free && i < a->nslots; i++) {
		if (!a->slot_used[i]) {
			a->slot_used[i] = 1;
			a->slots_free--;
			*slot = i;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&a->pool_lock);
	return ret;
}

static void pool_free(struct fp_app *a, uint32_t slot)
{
	pthread_mutex_lock(&a->pool_lock);
	if (slot < a->nslots && a->slot_used[slot]) {
		a->slot_used[slot] = 0;
		a->slots_free++;
	}
	pthread_mutex_unlock(&a->pool_lock);
}

static void pool_offsets(struct fp_app *a, uint32_t slot, uint64_t *rx_off,
			 uint64_t *tx_off)
{
	*rx_off = a->slots_off + (uint64_t)slot * a->slot_size;
	*tx_off = *rx_off + a->svc->cfg.rxbuf;
}

/**
 * app_pool_ops - the callbacks the cores use for buffer slots
 */
void app_pool_ops(struct fp_pool_ops *ops)
{
	ops->alloc = pool_alloc;
	ops->free = pool_free;
	ops->offsets = pool_offsets;
}

/* ---- socket plumbing ---- */

/**
 * app_listen_socket - create the daemon's Unix socket and add it to epoll
 */
int app_listen_socket(struct svc *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1ull << 32 };
	char dir[sizeof(sa.sun_path)], *slash;
	int fd, probe;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->cfg.socket);
	snprintf(dir, sizeof(dir), "%s", s->cfg.socket);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755); /* EEXIST is fine; bind reports the rest */
	}
	/* refuse to steal the socket of a running daemon */
	probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0 &&
	    connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		log_err("socket %s: another tas daemon is running there",
			s->cfg.socket);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(s->cfg.socket);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 64)) {
		int e = errno;

		log_err("socket %s: %s", s->cfg.socket, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	chmod(s->cfg.socket, 0666);
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return -errno;
	}
	s->lsock = fd;
	return 0;
}

static int send_fds(int sock, const struct tas_msg *m, const int *fds,
		    unsigned nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * (TAS_MAX_CORES + 1))];
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(*m) ? 0
								       : -errno;
}

/**
 * app_accept - take one new app connection
 */
void app_accept(struct svc *s)
{
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	struct fp_app *a = NULL;
	int fd;

	fd = accept4(s->lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (unsigned i = 0; i < SVC_MAX_APPS; i++)
		if (!s->apps[i].used) {
			a = &s->apps[i];
			break;
		}
	if (!a || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl)) {
		log_warn("app refused: %s", a ? strerror(errno)
					      : "too many "
						"apps");
		close(fd);
		return;
	}
	memset(a, 0, sizeof(*a));
	a->used = true;
	a->id = ++s->next_app_id;
	a->sock = fd;
	a->pid = cr.pid;
	a->uid = cr.uid;
	a->memfd = -1;
	a->svc = s;
	pthread_mutex_init(&a->pool_lock, NULL);
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = (2ull << 32) |
					      (uint64_t)(a - s->apps) };
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int app_hello(struct svc *s, struct fp_app *a, const struct tas_msg *m)
{
	struct tas_msg r = { .type = TAS_MSG_HELLO_REPLY,
			     .abi_version = TAS_ABI_VERSION };
	int fds[TAS_MAX_CORES + 1];
	uint64_t slots_off;
	struct tas_seg_hdr *h;

	if (a->seg) {
		r.status = -EALREADY;
		return send_fds(a->sock, &r, NULL, 0);
	}
	if (m->abi_version != TAS_ABI_VERSION) {
		log_warn("app %u (pid %d): ABI version %u, daemon speaks %u",
			 a->id, a->pid, m->abi_version, TAS_ABI_VERSION);
		r.status = -EPROTO;
		send_fds(a->sock, &r, NULL, 0);
		return -EPROTO;
	}
	slots_off = align_up(
		SEG_HDR_SIZE + TAS_MAX_CTX * ctx_area_size(s->ncores), 4096);
	a->slot_size = s->cfg.rxbuf + s->cfg.txbuf;
	a->nslots = s->cfg.app_conns;
	a->slots_free = a->nslots;
	a->slots_off = slots_off;
	a->seg_size = slots_off + (uint64_t)a->nslots * a->slot_size;
	a->slot_used = calloc(a->nslots, 1);
	a->memfd = memfd_create("tas-app", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (!a->slot_used || a->memfd < 0 ||
	    ftruncate(a->memfd, (off_t)a->seg_size) ||
	    fcntl(a->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		goto err;
	a->seg = mmap(NULL, a->seg_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      a->memfd, 0);
	if (a->seg == MAP_FAILED) {
		a->seg = NULL;
		goto err;
	}
	h = (struct tas_seg_hdr *)a->seg;
	h->magic = TAS_SEG_MAGIC;
	h->abi_version = TAS_ABI_VERSION;
	h->size = a->seg_size;
	h->ncores = s->ncores;
	h->ctx_max = TAS_MAX_CTX;
	if (nic_reg_mem(s->nic, a->seg, a->seg_size, &a->mem_key) == 0)
		a->mem_reg = true;
	r.hello.seg_size = a->seg_size;
	r.hello.ncores = s->ncores;
	r.hello.app_id = a->id;
	r.hello.ctx_max = TAS_MAX_CTX;
	r.hello.rxbuf_size = s->cfg.rxbuf;
	r.hello.txbuf_size = s->cfg.txbuf;
	fds[0] = a->memfd;
	for (unsigned k = 0; k < s->ncores; k++)
		fds[k + 1] = fp_core_doorbell_fd(s->cores[k]);
	s->ctr_apps++;
	log_info("app %u registered: pid %d uid %u, segment %llu MiB", a->id,
		 a->pid, a->uid, (unsigned long long)(a->seg_size >> 20));
	return send_fds(a->sock, &r, fds, s->ncores + 1);
err:
	r.status = -errno ? -errno : -ENOMEM;
	log_err("app %u: segment setup failed: %s", a->id, strerror(errno));
	send_fds(a->sock, &r, NULL, 0);
	return r.status;
}

static int app_ctx_create(struct svc *s, struct fp_app *a)
{
	struct tas_msg r = { .type = TAS_MSG_CTX_REPLY,
			     .abi_version = TAS_ABI_VERSION };
	uint64_t base, off;
	struct tas_ctx_shm *cs;
	struct tas_ring tmp;
	struct app_ctx *c = NULL;
	unsigned i;

	for (i = 0; a->seg && i < TAS_MAX_CTX; i++)
		if (!a->ctx[i].used) {
			c = &a->ctx[i];
			break;
		}
	if (!c) {
		r.status = a->seg ? -EMFILE : -EPROTO;
		return send_fds(a->sock, &r, NULL, 0);
	}
	base = SEG_HDR_SIZE + i * ctx_area_size(s->ncores);
	cs = (struct tas_ctx_shm *)(a->seg + base);
	memset(cs, 0, sizeof(*cs));
	off = base + align_up(sizeof(*cs), 64);
	cs->kin_off = off;
	tas_ring_init(&c->kin, a->seg + off, TAS_KIN_ENTRIES,
		      sizeof(struct tas_ev));
	off += align_up(
		tas_ring_shm_size(TAS_KIN_ENTRIES, sizeof(struct tas_ev)), 64);
	for (unsigned k = 0; k < s->ncores; k++) {
		cs->arx_off[k] = off;
		tas_ring_init(&tmp, a->seg + off, TAS_ARX_ENTRIES,
			      sizeof(struct tas_ev));
		off += align_up(tas_ring_shm_size(TAS_ARX_ENTRIES,
						  sizeof(struct tas_ev)),
				64);
		cs->atx_off[k] = off;
		tas_ring_init(&tmp, a->seg + off, TAS_ATX_ENTRIES,
			      sizeof(struct tas_cmd));
		off += align_up(tas_ring_shm_size(TAS_ATX_ENTRIES,
						  sizeof(struct tas_cmd)),
				64);
	}
	c->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->evfd < 0) {
		r.status = -errno;
		return send_fds(a->sock, &r, NULL, 0);
	}
	c->used = true;
	c->off = base;
	for (unsigned k = 0; k < s->ncores; k++) {
		struct fp_cmd cmd = { .type = FP_CMD_CTX_ADD,
				      .app_id = a->id,
				      .app = a,
				      .ctx_id = (uint16_t)i };
		cmd.ctx.seg_base = a->seg;
		cmd.ctx.seg_size = a->seg_size;
		cmd.ctx.mem_key = a->mem_key;
		cmd.ctx.ctx_off = base;
		cmd.ctx.evfd = c->evfd;
		cmd.ctx.regions = a->regions;
		svc_post_cmd(s, k, &cmd);
	}
	r.ctx_id = (uint16_t)i;
	r.ctx.off = base;
	log_debug("app %u: context %u created", a->id, i);
	return send_fds(a->sock, &r, &c->evfd, 1);
}

/* Kick the context's eventfd if the app sleeps on it. */
static void kin_kick(struct fp_app *a, struct app_ctx *c)
{
	struct tas_ctx_shm *cs = (struct tas_ctx_shm *)(a->seg + c->off);
	uint64_t one = 1;

	/* order the ring publication before reading the flag */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&cs->waiting, memory_order_relaxed) &&
	    write(c->evfd, &one, sizeof(one)) < 0)
		return; /* counter full: a wakeup is pending */
}

/* Move waiting events into kin, oldest first; true if none is left. */
static bool kin_flush(struct fp_app *a, struct app_ctx *c)
{
	uint32_t n;

	if (!c->kin_wn)
		return true;
	n = tas_ring_enqueue_burst(&c->kin, c->kin_wait + c->kin_whead,
				   c->kin_wn);
	c->kin_wn -= n;
	c->kin_whead = c->kin_wn ? c->kin_whead + n : 0;
	if (n)
		kin_kick(a, c);
	return !c->kin_wn;
}

/* Append @e to the waiting events (slide to the front or grow first). */
static bool kin_wait_push(struct app_ctx *c, const struct tas_ev *e)
{
	if (c->kin_whead + c->kin_wn == c->kin_wcap) {
		if (c->kin_whead >= c->kin_wcap / 2 && c->kin_wcap) {
			memmove(c->kin_wait, c->kin_wait + c->kin_whead,
				c->kin_wn * sizeof(*e));
			c->kin_whead = 0;
		} else {
			uint32_t cap =
				c->kin_wcap ? 2 * c->kin_wcap : TAS_KIN_ENTRIES;
			struct tas_ev *n =
				realloc(c->kin_wait, cap * sizeof(*n));

			if (!n)
				return false;
			c->kin_wait = n;
			c->kin_wcap = cap;
		}
	}
	c->kin_wait[c->kin_whead + c->kin_wn++] = *e;
	return true;
}

/**
 * app_kin_post - queue a control-thread event for one of @a's contexts
 *
 * When kin is full the event waits in the daemon (app_kin_retry) and keeps
 * its order; it is lost only when that memory cannot be had.
 *
 * Return: false if the context does not exist or the event was lost.
 */
bool app_kin_post(struct fp_app *a, uint16_t ctx, const struct tas_ev *e)
{
	struct app_ctx *c;

	if (ctx >= TAS_MAX_CTX || !a->ctx[ctx].used)
		return false;
	c = &a->ctx[ctx];
	if (kin_flush(a, c) && tas_ring_enqueue_burst(&c->kin, e, 1) == 1) {
		kin_kick(a, c);
		return true;
	}
	if (kin_wait_push(c, e))
		return true;
	log_warn("app %u: context %u: event lost (out of memory)", a->id, ctx);
	return false;
}

/**
 * app_kin_retry - move events that found kin full into it (timer tick)
 */
void app_kin_retry(struct svc *s)
{
	for (unsigned i = 0; i < SVC_MAX_APPS; i++) {
		struct fp_app *a = &s->apps[i];

		if (!a->used || a->dying || !a->seg)
			continue;
		for (unsigned k = 0; k < TAS_MAX_CTX; k++)
			if (a->ctx[k].used && a->ctx[k].kin_wn)
				kin_flush(a, &a->ctx[k]);
	}
}

/* ---- zero-copy regions ---- */

static void region_unmap(struct svc *s, struct fp_app *a, unsigned i)
{
	struct fp_region *r = &a->regions[i];

	if (a->region_reg[i])
		nic_dereg_mem(s->nic, r->key);
	munmap(r->base, r->len);
	a->region_bytes -= r->len;
	a->region_mapped[i] = false;
	a->region_reg[i] = false;
	r->base = NULL;
	r->len = 0;
}

static int region_reply(struct fp_app *a, int status, uint32_t id, uint64_t len,
			int fd)
{
	struct tas_msg r = { .type = TAS_MSG_MEM_REPLY,
			     .abi_version = TAS_ABI_VERSION,
			     .status = status };

	r.mem.region = id;
	r.mem.len = len;
	return send_fds(a->sock, &r, &fd, fd >= 0 ? 1 : 0);
}

/* Page-aligned shared memory the app and the cores both map, registered
 * with the NIC; the app gets the memfd. */
static int region_alloc(struct svc *s, struct fp_app *a,
			const struct tas_msg *m)
{
	uint64_t len = (m->mem.len + 4095) & ~4095ull;
	uint64_t limit = (uint64_t)s->cfg.zc_mem_mb << 20;
	struct fp_region *r;
	unsigned i;
	int fd, ret;
	void *p;

	if (!a->seg || m->mem.len == 0 || len > (1ull << 30)) {
		ret = -EINVAL;
		goto refuse;
	}
	if (a->region_bytes + len > limit) {
		ret = -ENOSPC;
		goto refuse;
	}
	for (i = 0; i < TAS_MAX_REGIONS; i++)
		if (!a->region_mapped[i])
			break;
	if (i == TAS_MAX_REGIONS) {
		ret = -EMFILE;
		goto refuse;
	}
	fd = memfd_create("tas-region", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)len)) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		goto refuse;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		close(fd);
		goto refuse;
	}
	r = &a->regions[i];
	r->base = p;
	r->len = len;
	r->key = 0;
	a->region_reg[i] = nic_reg_mem(s->nic, p, len, &r->key) == 0;
	a->region_mapped[i] = true;
	a->region_bytes += len;
	a->region_gen[i] = (uint16_t)(a->region_gen[i] % 1023 + 1);
	atomic_store_explicit(&r->refs, 1, memory_order_relaxed);
	atomic_store_explicit(&r->id,
			      (uint32_t)a->region_gen[i] * TAS_MAX_REGIONS + i,
			      memory_order_release);
	log_debug("app %u: region %u, %llu KiB", a->id,
		  (unsigned)atomic_load(&r->id), (unsigned long long)len >> 10);
	ret = region_reply(a, 0, atomic_load(&r->id), len, fd);
	close(fd); /* the mapping stays */
	return ret;
refuse:
	s->ctr_zc_refused++;
	log_debug("app %u: region of %llu bytes refused: %s", a->id,
		  (unsigned long long)m->mem.len, strerror(-ret));
	return region_reply(a, ret, 0, 0, -1);
}

/* Unpublish the region; it is unmapped once no core holds a reference
 * (now, or by app_region_sweep). */
static int region_free(struct svc *s, struct fp_app *a, uint32_t id)
{
	unsigned i = TAS_REGION_IDX(id);
	struct fp_region *r = &a->regions[i];

	if (id == 0 || id > UINT16_MAX || !a->region_mapped[i] ||
	    atomic_load_explicit(&r->id, memory_order_relaxed) != id) {
		s->ctr_zc_refused++;
		return region_reply(a, -EINVAL, id, 0, -1);
	}
	atomic_store_explicit(&r->id, 0, memory_order_release);
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
		region_unmap(s, a, i);
	else
		a->regions_dying++;
	return region_reply(a, 0, id, 0, -1);
}

/**
 * app_region_sweep - unmap freed regions the cores no longer reference
 */
void app_region_sweep(struct svc *s)
{
	for (unsigned k = 0; k < SVC_MAX_APPS; k++) {
		struct fp_app *a = &s->apps[k];

		for (unsigned i = 0;
		     a->used && a->regions_dying && i < TAS_MAX_REGIONS; i++) {
			struct fp_region *r = &a->regions[i];

			if (a->region_mapped[i] &&
			    !atomic_load_explicit(&r->id,
						  memory_order_relaxed) &&
			    !atomic_load_explicit(&r->refs,
						  memory_order_acquire)) {
				region_unmap(s, a, i);
				a->regions_dying--;
			}
		}
	}
}

static void app_free(struct svc *s, struct fp_app *a)
{
	/* every core has let go of the app: its regions too */
	for (unsigned i = 0; i < TAS_MAX_REGIONS; i++)
		if (a->region_mapped[i])
			region_unmap(s, a, i);
	if (a->mem_reg)
		nic_dereg_mem(s->nic, a->mem_key);
	if (a->seg)
		munmap(a->seg, a->seg_size);
	if (a->memfd >= 0)
		close(a->memfd);
	for (unsigned i = 0; i < TAS_MAX_CTX; i++) {
		if (a->ctx[i].used)
			close(a->ctx[i].evfd);
		free(a->ctx[i].kin_wait);
	}
	free(a->slot_used);
	pthread_mutex_destroy(&a->pool_lock);
	if (a->seg)
		log_info("app %u: resources freed", a->id);
	memset(a, 0, sizeof(*a));
}

/**
 * app_begin_delete - the app is gone or misbehaved: drop it everywhere
 */
void app_begin_delete(struct svc *s, struct fp_app *a, const char *why)
{
	if (a->dying)
		return;
	a->dying = true;
	if (a->seg) /* tasctl and failed HELLOs have nothing to reset */
		log_info("app %u (pid %d) gone: %s; resetting its connections",
			 a->id, a->pid, why);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, a->sock, NULL);
	close(a->sock);
	a->sock = -1;
	slow_app_gone(s, a);
	if (!a->seg) {
		app_free(s, a);
		return;
	}
	for (unsigned k = 0; k < s->ncores; k++) {
		struct fp_cmd cmd = { .type = FP_CMD_APP_DEL,
				      .app_id = a->id,
				      .app = a };
		svc_post_cmd(s, k, &cmd);
	}
}

/**
 * app_deleted_ack - a core no longer touches the app; free it after all
 */
void app_deleted_ack(struct svc *s, uint32_t app_id)
{
	for (unsigned i = 0; i < SVC_MAX_APPS; i++) {
		struct fp_app *a = &s->apps[i];

		if (a->used && a->dying && a->id == app_id &&
		    ++a->del_acks == s->ncores)
			app_free(s, a);
	}
}

/**
 * app_handle - serve the requests waiting on an app's socket
 */
bool app_handle(struct svc *s, struct fp_app *a)
{
	struct tas_msg m;
	ssize_t n;
	int ret = 0;

	for (;;) {
		n = recv(a->sock, &m, sizeof(m), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n <= 0) {
			app_begin_delete(s, a,
					 n == 0 ? "socket closed"
						: strerror(errno));
			return false;
		}
		if (n != sizeof(m)) {
			s->ctr_app_errors++;
			app_begin_delete(s, a, "malformed request");
			return false;
		}
		switch (m.type) {
		case TAS_MSG_HELLO:
			ret = app_hello(s, a, &m);
			break;
		case TAS_MSG_CTX_CREATE:
			ret = app_ctx_create(s, a);
			break;
		case TAS_MSG_LISTEN:
			ret = slow_listen(s, a, &m);
			break;
		case TAS_MSG_LISTEN_CLOSE:
			ret = slow_listen_close(s, a, &m);
			break;
		case TAS_MSG_MEM_ALLOC:
			ret = region_alloc(s, a, &m);
			break;
		case TAS_MSG_MEM_FREE:
			ret = region_free(s, a, m.mem.region);
			break;
		case TAS_MSG_CONNECT:
			ret = slow_connect(s, a, m.ctx_id, m.user, m.connect.ip,
					   m.connect.port);
			break;
		case TAS_MSG_STATS:
			slow_stats_text(s, a->sock);
			break;
		case TAS_MSG_CONNS:
			slow_conns_text(s, a->sock);
			break;
		default:
			ret = -EPROTO;
		}
		if (ret == -EPROTO) {
			s->ctr_app_errors++;
			app_begin_delete(s, a, "protocol error");
			return false;
		}
	}
}
