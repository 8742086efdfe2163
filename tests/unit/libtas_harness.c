/*
 * libtas_harness.c - fake tas daemon side of the app queues, for
 * test_libtas (see libtas_harness.h)
 *
 * Segment layout, as the daemon builds it: struct tas_seg_hdr at 0, then per
 * context its struct tas_ctx_shm and rings, then connection byte rings, all
 * taken from one bump allocator at 64-byte (rings: 4096-byte) alignment.
 *
 * Several clients may be connected at once (a fork child registers beside
 * its parent); they share the one segment and the context table. LISTEN is
 * recorded and remembered; LISTEN_CLOSE is recorded and answered on the
 * context's kin as ctrl/slow.c does: TAS_EV_LISTEN_CLOSED, status 0 for a
 * listener LISTEN named, -ENOENT otherwise.
 *
 * Zero-copy regions are answered as ctrl/app.c region_alloc/region_free do:
 * MEM_ALLOC gets a memfd of the page-rounded length (mapped here too, so a
 * test sees what the app wrote) and id generation * TAS_MAX_REGIONS +
 * index, generation 1..1023 per slot; refusals are -EINVAL (length 0 or
 * over 1 GiB), -ENOSPC (over the byte limit, harness_mem_limit) and -EMFILE
 * (TAS_MAX_REGIONS live). MEM_FREE of an id that is not live is -EINVAL.
 * Both are recorded before the reply goes out, with the reply's status and
 * (MEM_ALLOC) region id filled in; mem.len stays the length asked for.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tas/ring.h"
#include "libtas_harness.h"

#define HARNESS_MSGS 64
#define HARNESS_CLIENTS 8
#define HARNESS_LISTENERS 64
#define HARNESS_PAGE 4096ull
#define HARNESS_REGION_MAX (1ull << 30)
#define HARNESS_ZC_MEM_DEFAULT (1024ull << 20) /* tas --zc-mem default */

struct hctx {
	bool used;
	uint64_t off;
	struct tas_ctx_shm *shm;
	struct tas_ring kin;
	struct tas_ring arx[TAS_MAX_CORES];
	struct tas_ring atx[TAS_MAX_CORES];
	int evfd;
};

/* A region as the daemon keeps it: live while id != 0. */
struct hregion {
	uint32_t id;
	uint16_t gen;
	uint8_t *map;
	uint64_t len;
};

struct harness {
	struct harness_cfg cfg;
	char dir[64];
	char path[108];
	int lsock;
	int stopfd;
	int memfd;
	uint8_t *seg;
	uint64_t alloc;
	int doorbell[TAS_MAX_CORES];
	struct hctx ctx[TAS_MAX_CTX];
	uint16_t nctx;
	pthread_t thr;

	pthread_mutex_t lock; /* msgs, alloc, listeners */
	pthread_cond_t cond;
	struct tas_msg msgs[HARNESS_MSGS];
	uint32_t msg_head, msg_count;
	uint64_t listeners[HARNESS_LISTENERS]; /* cookies; 0 = free */
	uint64_t listen_closes;
	struct hregion regions[TAS_MAX_REGIONS];
	uint64_t region_bytes, region_limit;

	/* producers of the event queues: the test thread and the answers */
	pthread_mutex_t push_lock;
};

static uint64_t seg_alloc(struct harness *h, uint64_t len, uint64_t align)
{
	uint64_t off;

	pthread_mutex_lock(&h->lock);
	off = (h->alloc + align - 1) & ~(align - 1);
	if (off + len > h->cfg.seg_size) {
		pthread_mutex_unlock(&h->lock);
		fprintf(stderr, "harness: segment full\n");
		abort();
	}
	h->alloc = off + len;
	pthread_mutex_unlock(&h->lock);
	return off;
}

static uint64_t ring_create(struct harness *h, struct tas_ring *r, uint32_t cap,
			    uint32_t esize)
{
	uint64_t off = seg_alloc(h, tas_ring_shm_size(cap, esize), 64);

	if (tas_ring_init(r, h->seg + off, cap, esize) != 0)
		abort();
	return off;
}

static void send_reply(int sock, const struct tas_msg *m, const int *fds,
		       int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * (TAS_MAX_CORES + 1))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		perror("harness: sendmsg");
}

static void do_hello(struct harness *h, int sock, const struct tas_msg *in)
{
	struct tas_msg r = { .type = TAS_MSG_HELLO_REPLY };
	int fds[TAS_MAX_CORES + 1];

	r.abi_version = h->cfg.abi_version;
	if (in->abi_version != h->cfg.abi_version) {
		r.status = -EPROTO;
		send_reply(sock, &r, NULL, 0);
		return;
	}
	r.hello.seg_size = h->cfg.seg_size;
	r.hello.ncores = h->cfg.ncores;
	r.hello.app_id = 7;
	r.hello.ctx_max = TAS_MAX_CTX;
	r.hello.rxbuf_size = 4096;
	r.hello.txbuf_size = 4096;
	fds[0] = h->memfd;
	for (uint32_t k = 0; k < h->cfg.ncores; k++)
		fds[1 + k] = h->doorbell[k];
	send_reply(sock, &r, fds, 1 + (int)h->cfg.ncores);
}

static void do_ctx_create(struct harness *h, int sock)
{
	struct tas_msg r = { .type = TAS_MSG_CTX_REPLY };
	struct hctx *c;
	uint16_t id;

	r.abi_version = h->cfg.abi_version;
	pthread_mutex_lock(&h->lock);
	id = h->nctx < TAS_MAX_CTX ? h->nctx++ : TAS_MAX_CTX;
	pthread_mutex_unlock(&h->lock);
	if (id == TAS_MAX_CTX) {
		r.status = -ENOSPC;
		send_reply(sock, &r, NULL, 0);
		return;
	}
	c = &h->ctx[id];
	c->off = seg_alloc(h, sizeof(struct tas_ctx_shm), 64);
	c->shm = (struct tas_ctx_shm *)(h->seg + c->off);
	c->shm->kin_off =
		ring_create(h, &c->kin, TAS_KIN_ENTRIES, sizeof(struct tas_ev));
	for (uint32_t k = 0; k < h->cfg.ncores; k++) {
		c->shm->arx_off[k] = ring_create(h, &c->arx[k], TAS_ARX_ENTRIES,
						 sizeof(struct tas_ev));
		c->shm->atx_off[k] = ring_create(h, &c->atx[k], TAS_ATX_ENTRIES,
						 sizeof(struct tas_cmd));
	}
	c->evfd = eventfd(0, EFD_CLOEXEC);
	c->used = true;
	r.ctx_id = id;
	r.ctx.off = c->off;
	send_reply(sock, &r, &c->evfd, 1);
}

static void record_msg(struct harness *h, const struct tas_msg *m)
{
	pthread_mutex_lock(&h->lock);
	if (h->msg_count < HARNESS_MSGS) {
		h->msgs[(h->msg_head + h->msg_count) % HARNESS_MSGS] = *m;
		h->msg_count++;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
}

static void listener_add(struct harness *h, uint64_t user)
{
	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < HARNESS_LISTENERS; i++) {
		if (h->listeners[i] == 0) {
			h->listeners[i] = user;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
}

/* Forget every listener with cookie @user; whether there was one. */
static bool listener_del(struct harness *h, uint64_t user)
{
	bool found = false;

	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < HARNESS_LISTENERS; i++) {
		if (user != 0 && h->listeners[i] == user) {
			h->listeners[i] = 0;
			found = true;
		}
	}
	h->listen_closes++;
	pthread_mutex_unlock(&h->lock);
	return found;
}

/* Post @ev on a context's kin and kick it if it waits, as the daemon. */
static void kin_post(struct harness *h, uint16_t ctx_id,
		     const struct tas_ev *ev)
{
	uint64_t one = 1;

	if (ctx_id >= TAS_MAX_CTX || !h->ctx[ctx_id].used)
		return;
	if (!harness_ev_push(h, ctx_id, HARNESS_KIN, ev))
		fprintf(stderr, "harness: kin full\n");
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&h->ctx[ctx_id].shm->waiting) &&
	    write(h->ctx[ctx_id].evfd, &one, sizeof(one)) != sizeof(one))
		perror("harness: kick");
}

/* MEM_ALLOC: refusals and ids as ctrl/app.c region_alloc. */
static void do_mem_alloc(struct harness *h, int sock, struct tas_msg *m)
{
	uint64_t len = (m->mem.len + HARNESS_PAGE - 1) & ~(HARNESS_PAGE - 1);
	struct tas_msg r = { .type = TAS_MSG_MEM_REPLY,
			     .abi_version = h->cfg.abi_version };
	struct hregion *g = NULL;
	int fd = -1;
	void *p;

	pthread_mutex_lock(&h->lock);
	if (m->mem.len == 0 || len > HARNESS_REGION_MAX)
		r.status = -EINVAL;
	else if (h->region_bytes + len > h->region_limit)
		r.status = -ENOSPC;
	for (int i = 0; r.status == 0 && g == NULL && i < TAS_MAX_REGIONS; i++)
		if (h->regions[i].id == 0)
			g = &h->regions[i];
	if (r.status == 0 && g == NULL)
		r.status = -EMFILE;
	if (r.status == 0) {
		fd = memfd_create("tas-test-region", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
			abort();
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			abort();
		g->gen = (uint16_t)(g->gen % 1023 + 1);
		g->id = (uint32_t)g->gen * TAS_MAX_REGIONS +
			(uint32_t)(g - h->regions);
		g->map = p;
		g->len = len;
		h->region_bytes += len;
		r.mem.region = g->id;
		r.mem.len = len;
	}
	pthread_mutex_unlock(&h->lock);
	m->status = r.status;
	m->mem.region = r.mem.region;
	record_msg(h, m);
	send_reply(sock, &r, &fd, fd >= 0 ? 1 : 0);
	if (fd >= 0)
		close(fd); /* the mapping stays */
}

/* MEM_FREE: -EINVAL unless @m names a live region. */
static void do_mem_free(struct harness *h, int sock, struct tas_msg *m)
{
	struct tas_msg r = { .type = TAS_MSG_MEM_REPLY,
			     .abi_version = h->cfg.abi_version };
	uint32_t id = m->mem.region;
	struct hregion *g = &h->regions[TAS_REGION_IDX(id)];

	pthread_mutex_lock(&h->lock);
	if (id == 0 || g->id != id) {
		r.status = -EINVAL;
	} else {
		munmap(g->map, g->len);
		h->region_bytes -= g->len;
		g->id = 0;
		g->map = NULL;
		g->len = 0;
	}
	pthread_mutex_unlock(&h->lock);
	r.mem.region = id;
	m->status = r.status;
	record_msg(h, m);
	send_reply(sock, &r, NULL, 0);
}

/* One request of a client; false when it hung up. */
static bool serve_one(struct harness *h, int sock)
{
	struct tas_ev e = { .type = TAS_EV_LISTEN_CLOSED };
	struct tas_msg m;
	ssize_t n;

	n = recv(sock, &m, sizeof(m), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	if (n != sizeof(m))
		return true;
	switch (m.type) {
	case TAS_MSG_HELLO:
		do_hello(h, sock, &m);
		break;
	case TAS_MSG_CTX_CREATE:
		do_ctx_create(h, sock);
		break;
	case TAS_MSG_LISTEN:
		listener_add(h, m.user);
		record_msg(h, &m);
		break;
	case TAS_MSG_MEM_ALLOC:
		do_mem_alloc(h, sock, &m);
		break;
	case TAS_MSG_MEM_FREE:
		do_mem_free(h, sock, &m);
		break;
	case TAS_MSG_LISTEN_CLOSE:
		e.user = m.user;
		e.status = listener_del(h, m.user) ? 0 : -ENOENT;
		kin_post(h, m.ctx_id, &e); /* answered once the test sees it */
		record_msg(h, &m);
		break;
	default:
		record_msg(h, &m);
		break;
	}
	return true;
}

static void *harness_main(void *arg)
{
	struct harness *h = arg;
	int cl[HARNESS_CLIENTS];
	nfds_t ncl = 0;

	for (;;) {
		struct pollfd pfd[2 + HARNESS_CLIENTS] = {
			{ .fd = h->stopfd, .events = POLLIN },
			{ .fd = h->lsock, .events = POLLIN },
		};

		for (nfds_t i = 0; i < ncl; i++) {
			pfd[2 + i].fd = cl[i];
			pfd[2 + i].events = POLLIN;
		}
		if (poll(pfd, 2 + ncl, -1) < 0)
			continue;
		if (pfd[0].revents)
			break;
		for (nfds_t i = ncl; i-- > 0;) {
			if (pfd[2 + i].revents == 0 || serve_one(h, cl[i]))
				continue;
			close(cl[i]);
			cl[i] = cl[--ncl];
		}
		if ((pfd[1].revents & POLLIN) && ncl < HARNESS_CLIENTS) {
			int sock = accept4(h->lsock, NULL, NULL, SOCK_CLOEXEC);

			if (sock >= 0)
				cl[ncl++] = sock;
		}
	}
	for (nfds_t i = 0; i < ncl; i++)
		close(cl[i]);
	return NULL;
}

/**
 * harness_start - start a fake daemon on a fresh temporary socket
 * @cfg: cores, ABI version spoken and segment size
 *
 * Return: the harness (abort() on setup failure: tests cannot go on).
 */
struct harness *harness_start(const struct harness_cfg *cfg)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tas_seg_hdr *hdr;

	if (h == NULL)
		abort();
	h->cfg = *cfg;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->push_lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	strcpy(h->dir, "/tmp/libtas-test-XXXXXX");
	if (mkdtemp(h->dir) == NULL)
		abort();
	snprintf(h->path, sizeof(h->path), "%s/tas.sock", h->dir);
	strcpy(sa.sun_path, h->path);
	h->lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (h->lsock < 0 ||
	    bind(h->lsock, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(h->lsock, 4) < 0)
		abort();
	h->stopfd = eventfd(0, EFD_CLOEXEC);
	h->memfd = memfd_create("tas-test-seg", MFD_CLOEXEC);
	if (h->memfd < 0 || ftruncate(h->memfd, (off_t)cfg->seg_size) < 0)
		abort();
	h->seg = mmap(NULL, cfg->seg_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      h->memfd, 0);
	if (h->seg == MAP_FAILED)
		abort();
	hdr = (struct tas_seg_hdr *)h->seg;
	hdr->magic = TAS_SEG_MAGIC;
	hdr->abi_version = cfg->abi_version;
	hdr->size = cfg->seg_size;
	hdr->ncores = cfg->ncores;
	hdr->ctx_max = TAS_MAX_CTX;
	h->alloc = sizeof(*hdr);
	h->region_limit = HARNESS_ZC_MEM_DEFAULT;
	for (uint32_t k = 0; k < cfg->ncores; k++)
		h->doorbell[k] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pthread_create(&h->thr, NULL, harness_main, h) != 0)
		abort();
	return h;
}

/**
 * harness_stop - stop the thread and free everything
 * @h: harness
 */
void harness_stop(struct harness *h)
{
	uint64_t one = 1;

	if (write(h->stopfd, &one, sizeof(one)) != sizeof(one))
		abort();
	pthread_join(h->thr, NULL);
	for (int i = 0; i < TAS_MAX_CTX; i++)
		if (h->ctx[i].used)
			close(h->ctx[i].evfd);
	for (uint32_t k = 0; k < h->cfg.ncores; k++)
		close(h->doorbell[k]);
	for (int i = 0; i < TAS_MAX_REGIONS; i++)
		if (h->regions[i].id != 0)
			munmap(h->regions[i].map, h->regions[i].len);
	munmap(h->seg, h->cfg.seg_size);
	close(h->memfd);
	close(h->stopfd);
	close(h->lsock);
	unlink(h->path);
	rmdir(h->dir);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->push_lock);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/**
 * harness_path - the socket path to put into $TAS_SOCKET
 * @h: harness
 *
 * Return: the path.
 */
const char *harness_path(const struct harness *h)
{
	return h->path;
}

/**
 * harness_seg - the daemon side's mapping of the segment
 * @h: harness
 *
 * Return: segment base.
 */
uint8_t *harness_seg(struct harness *h)
{
	return h->seg;
}

/**
 * harness_hdr - the segment header (to set sleeping[])
 * @h: harness
 *
 * Return: the header.
 */
struct tas_seg_hdr *harness_hdr(struct harness *h)
{
	return (struct tas_seg_hdr *)h->seg;
}

/**
 * harness_ctx_shm - a context's shared block (to look at waiting)
 * @h:      harness
 * @ctx_id: context id
 *
 * Return: the block, or NULL for an unknown context.
 */
struct tas_ctx_shm *harness_ctx_shm(struct harness *h, uint16_t ctx_id)
{
	return ctx_id < TAS_MAX_CTX && h->ctx[ctx_id].used ? h->ctx[ctx_id].shm
							   : NULL;
}

/**
 * harness_ctx_evfd - the daemon side of a context's eventfd
 * @h:      harness
 * @ctx_id: context id
 *
 * Return: the fd, or -1.
 */
int harness_ctx_evfd(struct harness *h, uint16_t ctx_id)
{
	return ctx_id < TAS_MAX_CTX && h->ctx[ctx_id].used ? h->ctx[ctx_id].evfd
							   : -1;
}

/**
 * harness_next_msg - next request other than HELLO/CTX_CREATE
 * @h:          harness
 * @out:        the request
 * @timeout_ms: how long to wait
 *
 * Return: 0, or -ETIMEDOUT.
 */
int harness_next_msg(struct harness *h, struct tas_msg *out, int timeout_ms)
{
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&h->lock);
	while (h->msg_count == 0 && ret == 0)
		ret = pthread_cond_timedwait(&h->cond, &h->lock, &ts);
	if (h->msg_count > 0) {
		*out = h->msgs[h->msg_head];
		h->msg_head = (h->msg_head + 1) % HARNESS_MSGS;
		h->msg_count--;
		ret = 0;
	} else {
		ret = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/**
 * harness_ev_push - inject an event as the daemon would
 * @h:      harness
 * @ctx_id: context
 * @queue:  HARNESS_KIN or a core number (arx)
 * @ev:     the entry
 *
 * Return: true if it was enqueued.
 */
bool harness_ev_push(struct harness *h, uint16_t ctx_id, int queue,
		     const struct tas_ev *ev)
{
	struct hctx *c = &h->ctx[ctx_id];
	struct tas_ring *r = queue == HARNESS_KIN ? &c->kin : &c->arx[queue];
	bool ok;

	pthread_mutex_lock(&h->push_lock);
	ok = tas_ring_enqueue_burst(r, ev, 1) == 1;
	pthread_mutex_unlock(&h->push_lock);
	return ok;
}

/**
 * harness_cmd_pop - take the next command the app queued for a core
 * @h:      harness
 * @ctx_id: context
 * @core:   core
 * @out:    the entry
 *
 * Return: true if there was one.
 */
bool harness_cmd_pop(struct harness *h, uint16_t ctx_id, uint32_t core,
		     struct tas_cmd *out)
{
	return tas_ring_dequeue_burst(&h->ctx[ctx_id].atx[core], out, 1) == 1;
}

/**
 * harness_rings_alloc - allocate a connection's byte rings in the segment
 * @h:       harness
 * @rx_size: receive ring bytes (power of two)
 * @tx_size: send ring bytes (power of two)
 * @tx_off:  set to the send ring's offset
 *
 * Return: the receive ring's offset.
 */
uint64_t harness_rings_alloc(struct harness *h, uint32_t rx_size,
			     uint32_t tx_size, uint64_t *tx_off)
{
	uint64_t rx = seg_alloc(h, rx_size, 4096);

	*tx_off = seg_alloc(h, tx_size, 4096);
	return rx;
}

/**
 * harness_listen_count - listeners the fake daemon holds now
 * @h: harness
 *
 * Return: LISTENs not yet undone by a LISTEN_CLOSE.
 */
unsigned harness_listen_count(struct harness *h)
{
	unsigned n = 0;

	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < HARNESS_LISTENERS; i++)
		n += h->listeners[i] != 0;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/**
 * harness_doorbell_read - consume a core's doorbell counter
 * @h:    harness
 * @core: core
 *
 * Return: the eventfd counter (0 if never written since the last read).
 */
uint64_t harness_doorbell_read(struct harness *h, uint32_t core)
{
	uint64_t v = 0;

	if (read(h->doorbell[core], &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/**
 * harness_mem_limit - bytes of regions the fake daemon lets the app hold
 * @h:     harness
 * @bytes: the limit (tas --zc-mem; 1 GiB until set)
 */
void harness_mem_limit(struct harness *h, uint64_t bytes)
{
	pthread_mutex_lock(&h->lock);
	h->region_limit = bytes;
	pthread_mutex_unlock(&h->lock);
}

/**
 * harness_region - the fake daemon's mapping of a live region
 * @h:   harness
 * @id:  region id from MEM_REPLY
 * @len: set to the region's length (may be NULL)
 *
 * Return: the mapping, or NULL if @id is not live.
 */
uint8_t *harness_region(struct harness *h, uint32_t id, uint64_t *len)
{
	struct hregion *g = &h->regions[TAS_REGION_IDX(id)];
	uint8_t *map = NULL;

	pthread_mutex_lock(&h->lock);
	if (id != 0 && g->id == id) {
		map = g->map;
		if (len)
			*len = g->len;
	}
	pthread_mutex_unlock(&h->lock);
	return map;
}

/**
 * harness_region_count - regions the fake daemon holds now
 * @h: harness
 *
 * Return: live regions.
 */
unsigned harness_region_count(struct harness *h)
{
	unsigned n = 0;

	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < TAS_MAX_REGIONS; i++)
		n += h->regions[i].id != 0;
	pthread_mutex_unlock(&h->lock);
	return n;
}
