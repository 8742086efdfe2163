/*
 * libtas.c - libtas process and context plumbing: registration with the tas
 * daemon over its Unix socket, the shared segment, context queues, polling,
 * doorbells and sleeping
 *
 * Follows include/tas/abi.h (TAS_ABI_VERSION 1) and include/tas/ring.h.
 * Connection and listener calls, and the translation of service events into
 * flextcp events, are in ll_conn.c.
 *
 * fork: a child that calls flextcp_init() drops the registration it
 * inherited (its copies of the socket, segment mapping and doorbells; the
 * parent's stay intact) and registers afresh as a new app. Contexts created
 * before that are invalid in the child from then on (every call on them, or
 * on their listeners and connections, fails).
 *
 * Known gaps: no context destruction in the public API (upstream has none);
 * a daemon restart is not survived (the socket and segment stay dead); a
 * child must not use inherited contexts before it calls flextcp_init() (they
 * share the parent's queues).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "libtas.h"

struct libtas_proc libtas_proc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.sock = -1,
	.gen = 1,
};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Largest number of fds one reply may carry: memfd + doorbells. */
#define LIBTAS_MAX_FDS (1 + TAS_MAX_CORES)
#define LIBTAS_FLOWS_INIT 64
#define LIBTAS_PEND_INIT 64

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/*
 * Receive one reply message and up to @maxfds fds passed with it. Extra fds
 * are closed. Returns 0 or a negative errno; *@nfds fds are then owned by the
 * caller.
 */
static int recv_reply(int sock, struct tas_msg *m, int *fds, int maxfds,
		      int *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * LIBTAS_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm;
	ssize_t ret;
	int n = 0;

	*nfds = 0;
	do {
		ret = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t cnt;
		int tmp;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < cnt; i++) {
			memcpy(&tmp, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
			if (n < maxfds)
				fds[n++] = tmp;
			else
				close(tmp);
		}
	}
	*nfds = n;
	if (ret == 0)
		goto err_proto_reset;
	if ((size_t)ret != sizeof(*m) || (mh.msg_flags & MSG_CTRUNC))
		goto err_proto;
	return 0;

err_proto_reset:
	close_fds(fds, n);
	*nfds = 0;
	return -ECONNRESET;
err_proto:
	close_fds(fds, n);
	*nfds = 0;
	return -EPROTO;
}

static int send_msg_locked(int sock, const struct tas_msg *m)
{
	ssize_t ret;

	do {
		ret = send(sock, m, sizeof(*m), MSG_NOSIGNAL);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if ((size_t)ret != sizeof(*m))
		return -EPROTO;
	return 0;
}

/**
 * libtas_send_msg - send a request that has no socket reply
 * @msg: the request; abi_version is filled in
 *
 * Return: 0 or a negative errno.
 */
int libtas_send_msg(struct tas_msg *msg)
{
	int ret;

	msg->abi_version = TAS_ABI_VERSION;
	pthread_mutex_lock(&libtas_proc.lock);
	ret = libtas_proc.inited ? send_msg_locked(libtas_proc.sock, msg)
				 : -ENOTCONN;
	pthread_mutex_unlock(&libtas_proc.lock);
	return ret;
}

/**
 * libtas_request - send a request and wait for its socket reply
 * @m:  the request; replaced by the reply
 * @fd: set to the one descriptor the reply carried, or -1
 *
 * Return: 0 (the reply's own status is in @m) or a negative errno.
 */
int libtas_request(struct tas_msg *m, int *fd)
{
	int ret, nfds = 0;

	*fd = -1;
	m->abi_version = TAS_ABI_VERSION;
	pthread_mutex_lock(&libtas_proc.lock);
	ret = libtas_proc.inited ? send_msg_locked(libtas_proc.sock, m)
				 : -ENOTCONN;
	if (ret == 0)
		ret = recv_reply(libtas_proc.sock, m, fd, 1, &nfds);
	pthread_mutex_unlock(&libtas_proc.lock);
	if (nfds == 0)
		*fd = -1;
	return ret;
}

/**
 * libtas_seg_range_ok - whether [@off, @off + @len) lies inside the segment
 * @off: offset from the segment start
 * @len: length in bytes
 *
 * Return: true if the range is inside the mapped segment.
 */
bool libtas_seg_range_ok(uint64_t off, uint64_t len)
{
	uint64_t size = libtas_proc.seg_size;

	return off <= size && len <= size - off;
}

static int connect_daemon(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -1;
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(sock);
		errno = err;
		return -1;
	}
	return sock;
}

/* Check the reply to HELLO and map the segment; consumes @fds. */
static int hello_setup(const char *path, const struct tas_msg *r, int *fds,
		       int nfds)
{
	struct libtas_proc *lp = &libtas_proc;
	struct tas_seg_hdr *hdr;
	uint32_t ncores = r->hello.ncores;
	void *seg;

	if (r->type != TAS_MSG_HELLO_REPLY)
		goto err_proto;
	if (r->status == -EPROTO) {
		fprintf(stderr,
			"libtas: ABI version mismatch: libtas speaks version "
			"%u, the tas daemon at %s speaks version %u\n",
			TAS_ABI_VERSION, path, r->abi_version);
		goto err;
	}
	if (r->status < 0) {
		fprintf(stderr, "libtas: the tas daemon at %s refused us: %s\n",
			path, strerror(-r->status));
		goto err;
	}
	if (ncores == 0 || ncores > TAS_MAX_CORES ||
	    nfds != (int)(1 + ncores) ||
	    r->hello.seg_size < sizeof(struct tas_seg_hdr) ||
	    r->hello.seg_size > SIZE_MAX)
		goto err_proto;
	seg = mmap(NULL, r->hello.seg_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fds[0], 0);
	if (seg == MAP_FAILED) {
		fprintf(stderr, "libtas: cannot map the tas segment: %s\n",
			strerror(errno));
		goto err;
	}
	hdr = seg;
	if (hdr->magic != TAS_SEG_MAGIC ||
	    hdr->abi_version != TAS_ABI_VERSION ||
	    hdr->size != r->hello.seg_size || hdr->ncores != ncores) {
		munmap(seg, r->hello.seg_size);
		goto err_proto;
	}
	close(fds[0]);
	lp->seg = seg;
	lp->hdr = hdr;
	lp->seg_size = r->hello.seg_size;
	lp->ncores = ncores;
	lp->app_id = r->hello.app_id;
	lp->ctx_max = r->hello.ctx_max;
	lp->rxbuf_size = r->hello.rxbuf_size;
	lp->txbuf_size = r->hello.txbuf_size;
	for (uint32_t k = 0; k < ncores; k++)
		lp->doorbell[k] = fds[1 + k];
	return 0;

err_proto:
	fprintf(stderr,
		"libtas: bad registration reply from the tas daemon "
		"at %s\n",
		path);
err:
	close_fds(fds, nfds);
	return -1;
}

/* fork child: the lock may have been held by a thread that is gone. */
static void atfork_child(void)
{
	pthread_mutex_init(&libtas_proc.lock, NULL);
}

static void atfork_register(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

/*
 * In a fork child: forget the registration inherited from the parent. Only
 * the child's copies of the fds and of the mapping go; the parent's
 * registration is untouched. Contexts created so far become invalid.
 */
static void proc_drop_inherited(struct libtas_proc *lp)
{
	close(lp->sock);
	munmap(lp->seg, lp->seg_size);
	close_fds(lp->doorbell, (int)lp->ncores);
	lp->sock = -1;
	lp->seg = NULL;
	lp->hdr = NULL;
	lp->seg_size = 0;
	lp->ncores = 0;
	lp->inited = false;
	lp->gen++;
}

/**
 * flextcp_init - register this process with the tas daemon
 *
 * Connects to $TAS_SOCKET (default TAS_SOCKET_DEFAULT), checks the ABI
 * version and maps the process's shared segment. Errors are explained in one
 * line on stderr. Calling it again after success does nothing, except in a
 * fork child of a registered process: there it drops the registration
 * inherited from the parent (the parent's stays intact), registers the
 * child afresh (a new segment), and invalidates the contexts created
 * before the fork.
 *
 * Return: 0 on success, -1 on failure.
 */
LIBTAS_API int flextcp_init(void)
{
	struct libtas_proc *lp = &libtas_proc;
	struct tas_msg m = { .type = TAS_MSG_HELLO };
	int fds[LIBTAS_MAX_FDS], nfds = 0, ret;
	const char *path = getenv("TAS_SOCKET");

	if (path == NULL || path[0] == '\0')
		path = TAS_SOCKET_DEFAULT;
	pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&lp->lock);
	if (lp->inited && lp->pid == getpid()) {
		pthread_mutex_unlock(&lp->lock);
		return 0;
	}
	if (lp->inited)
		proc_drop_inherited(lp);
	lp->sock = connect_daemon(path);
	if (lp->sock < 0) {
		fprintf(stderr,
			"libtas: cannot reach the tas daemon at %s: %s (is tas "
			"running? set TAS_SOCKET)\n",
			path, strerror(errno));
		goto err;
	}
	m.abi_version = TAS_ABI_VERSION;
	ret = send_msg_locked(lp->sock, &m);
	if (ret == 0)
		ret = recv_reply(lp->sock, &m, fds, LIBTAS_MAX_FDS, &nfds);
	if (ret < 0) {
		fprintf(stderr,
			"libtas: registration with the tas daemon at "
			"%s failed: %s\n",
			path, strerror(-ret));
		goto err_close;
	}
	if (hello_setup(path, &m, fds, nfds) < 0)
		goto err_close;
	lp->pid = getpid();
	lp->inited = true;
	pthread_mutex_unlock(&lp->lock);
	return 0;

err_close:
	close(lp->sock);
	lp->sock = -1;
err:
	pthread_mutex_unlock(&lp->lock);
	return -1;
}

/**
 * libtas_fini - undo flextcp_init() (tests only; contexts become invalid)
 */
void libtas_fini(void)
{
	struct libtas_proc *lp = &libtas_proc;

	pthread_mutex_lock(&lp->lock);
	if (lp->inited) {
		close(lp->sock);
		munmap(lp->seg, lp->seg_size);
		close_fds(lp->doorbell, (int)lp->ncores);
		lp->sock = -1;
		lp->seg = NULL;
		lp->hdr = NULL;
		lp->seg_size = 0;
		lp->ncores = 0;
		lp->inited = false;
	}
	pthread_mutex_unlock(&lp->lock);
}

/* Attach a ring the daemon created at segment offset @off. */
static int ring_attach(struct tas_ring *r, uint64_t off, uint32_t cap,
		       uint32_t esize)
{
	size_t len = tas_ring_shm_size(cap, esize);

	if (len == 0 || off % TAS_RING_CACHELINE != 0 ||
	    !libtas_seg_range_ok(off, len))
		return -EPROTO;
	return tas_ring_attach(r, libtas_proc.seg + off, cap, esize);
}

static int ctx_attach(struct libtas_ctx *p, uint64_t off)
{
	struct tas_ctx_shm *shm;
	uint64_t o;
	int ret;

	if (off % 64 != 0 || !libtas_seg_range_ok(off, sizeof(*shm)))
		return -EPROTO;
	shm = (struct tas_ctx_shm *)(libtas_proc.seg + off);
	p->shm = shm;
	p->ncores = libtas_proc.ncores;
	/* read each offset once: the copy is what gets validated */
	o = shm->kin_off;
	ret = ring_attach(&p->kin, o, TAS_KIN_ENTRIES, sizeof(struct tas_ev));
	for (uint32_t k = 0; ret == 0 && k < p->ncores; k++) {
		o = shm->arx_off[k];
		ret = ring_attach(&p->arx[k], o, TAS_ARX_ENTRIES,
				  sizeof(struct tas_ev));
		if (ret)
			break;
		o = shm->atx_off[k];
		ret = ring_attach(&p->atx[k], o, TAS_ATX_ENTRIES,
				  sizeof(struct tas_cmd));
	}
	return ret;
}

/**
 * flextcp_context_create - create a context (a queue pair per fast-path core)
 * @ctx: the app's context structure to initialize
 *
 * Thread safe. Needs flextcp_init() first.
 *
 * Return: 0 on success, -1 on failure (with a line on stderr if the daemon
 * refused or answered nonsense).
 */
LIBTAS_API int flextcp_context_create(struct flextcp_context *ctx)
{
	struct libtas_proc *lp = &libtas_proc;
	struct tas_msg m = { .type = TAS_MSG_CTX_CREATE };
	struct libtas_ctx *p;
	int fd = -1, nfds = 0, ret;

	if (ctx == NULL)
		return -1;
	memset(ctx, 0, sizeof(*ctx));
	ctx->evfd_ = -1;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	p->flow_cap = LIBTAS_FLOWS_INIT;
	p->flows = calloc(p->flow_cap, sizeof(*p->flows));
	p->pend_cap = LIBTAS_PEND_INIT;
	p->pend = calloc(p->pend_cap, sizeof(*p->pend));
	if (p->flows == NULL || p->pend == NULL)
		goto err_free;

	m.abi_version = TAS_ABI_VERSION;
	pthread_mutex_lock(&lp->lock);
	if (!lp->inited) {
		pthread_mutex_unlock(&lp->lock);
		goto err_free;
	}
	ret = send_msg_locked(lp->sock, &m);
	if (ret == 0)
		ret = recv_reply(lp->sock, &m, &fd, 1, &nfds);
	pthread_mutex_unlock(&lp->lock);
	if (ret < 0) {
		fprintf(stderr, "libtas: context creation failed: %s\n",
			strerror(-ret));
		goto err_free;
	}
	if (m.type != TAS_MSG_CTX_REPLY || m.status < 0 || nfds != 1) {
		fprintf(stderr,
			"libtas: the tas daemon refused a context: %s\n",
			m.status < 0 ? strerror(-m.status) : "bad reply");
		goto err_fd;
	}
	ret = ctx_attach(p, m.ctx.off);
	if (ret < 0) {
		fprintf(stderr, "libtas: bad context queues from the tas "
				"daemon\n");
		goto err_fd;
	}
	p->gen = lp->gen;
	ctx->priv_ = p;
	ctx->ctx_id_ = m.ctx_id;
	ctx->ncores_ = (uint16_t)lp->ncores;
	ctx->evfd_ = fd;
	ctx->magic_ = LIBTAS_CTX_MAGIC;
	return 0;

err_fd:
	if (nfds == 1)
		close(fd);
err_free:
	free(p->flows);
	free(p->pend);
	free(p);
	return -1;
}

/**
 * libtas_context_free - release a context's library state (tests only)
 * @ctx: context from flextcp_context_create()
 *
 * The service is not told; its queues stay allocated until the process
 * exits.
 */
void libtas_context_free(struct flextcp_context *ctx)
{
	struct libtas_ctx *p;

	/* also frees contexts a fork child's fresh registration invalidated */
	if (ctx == NULL || ctx->magic_ != LIBTAS_CTX_MAGIC ||
	    ctx->priv_ == NULL)
		return;
	p = ctx->priv_;
	libtas_hidden_free(p);
	free(p->flows);
	free(p->pend);
	free(p);
	close(ctx->evfd_);
	memset(ctx, 0, sizeof(*ctx));
	ctx->evfd_ = -1;
}

/**
 * libtas_ctx_ok - whether @ctx is a created context
 * @ctx: context pointer from the app
 *
 * Return: true if flextcp_context_create() succeeded on it under the
 * current registration (not one a fork child dropped).
 */
bool libtas_ctx_ok(struct flextcp_context *ctx)
{
	return ctx != NULL && ctx->magic_ == LIBTAS_CTX_MAGIC &&
	       ctx->priv_ != NULL && ctx->priv_->gen == libtas_proc.gen;
}

/**
 * libtas_ctx_drops - dropped service events of a context, all reasons
 * @ctx: context
 *
 * Return: the sum of the per-reason drop counters.
 */
uint64_t libtas_ctx_drops(struct flextcp_context *ctx)
{
	uint64_t sum = 0;

	if (!libtas_ctx_ok(ctx))
		return 0;
	for (int i = 0; i < LIBTAS_DROP_NR; i++)
		sum += ctx->priv_->drops[i];
	return sum;
}

/**
 * libtas_drop - count a dropped service event
 * @p:   context state
 * @why: reason
 */
void libtas_drop(struct libtas_ctx *p, enum libtas_drop why)
{
	p->drops[why]++;
}

/**
 * libtas_pend_push - queue a synthesized event for the next poll
 * @p:  context state
 * @ev: event to copy
 *
 * Return: 0, or -ENOMEM if the queue could not grow.
 */
int libtas_pend_push(struct libtas_ctx *p, const struct flextcp_event *ev)
{
	if (p->pend_count == p->pend_cap) {
		uint32_t ncap = p->pend_cap * 2;
		struct flextcp_event *n = calloc(ncap, sizeof(*n));

		if (n == NULL || ncap == 0) {
			free(n);
			return -ENOMEM;
		}
		for (uint32_t i = 0; i < p->pend_count; i++)
			n[i] = p->pend[(p->pend_head + i) % p->pend_cap];
		free(p->pend);
		p->pend = n;
		p->pend_cap = ncap;
		p->pend_head = 0;
	}
	p->pend[(p->pend_head + p->pend_count) % p->pend_cap] = *ev;
	p->pend_count++;
	return 0;
}

/**
 * libtas_kick - ring the doorbells of cores that got commands in this call
 * @p: context state
 *
 * A core's doorbell is written only if the core announced it is sleeping.
 */
void libtas_kick(struct libtas_ctx *p)
{
	uint32_t mask = p->kick;

	if (mask == 0)
		return;
	p->kick = 0;
	/* seq_cst fence: orders our release of atx prod before the load of
	 * sleeping[k]; pairs with the core's fence between storing
	 * sleeping[k] = 1 and re-checking its queues, so either it sees our
	 * commands or we see it asleep */
	atomic_thread_fence(memory_order_seq_cst);
	for (uint32_t k = 0; k < p->ncores; k++) {
		uint64_t one = 1;
		ssize_t ret;

		if (!(mask & (1u << k)))
			continue;
		if (atomic_load_explicit(&libtas_proc.hdr->sleeping[k],
					 memory_order_relaxed) == 0)
			continue;
		ret = write(libtas_proc.doorbell[k], &one, sizeof(one));
		(void)ret; /* a saturated eventfd is awake anyway */
	}
}

/* Move one service event's translation into the caller's array. */
static int deliver(struct libtas_ctx *p, const struct flextcp_event *evs,
		   unsigned cnt, struct flextcp_event *out, int n, int num)
{
	for (unsigned i = 0; i < cnt; i++) {
		if (n < num)
			out[n++] = evs[i];
		else if (libtas_pend_push(p, &evs[i]) < 0)
			libtas_drop(p, LIBTAS_DROP_NOMEM);
	}
	return n;
}

#define POLL_BURST 16

/* Drain ring @r (queue index @qi for bad-queue accounting) into @out. */
static int drain_ring(struct flextcp_context *ctx, struct tas_ring *r,
		      unsigned qi, struct flextcp_event *out, int n, int num)
{
	struct libtas_ctx *p = ctx->priv_;
	struct tas_ev evs[POLL_BURST];
	struct flextcp_event tr[LIBTAS_EV_MAX_OUT];

	while (n < num) {
		uint32_t want = (uint32_t)(num - n);
		uint32_t got;

		if (want > POLL_BURST)
			want = POLL_BURST;
		got = tas_ring_dequeue_burst(r, evs, want);
		for (uint32_t i = 0; i < got; i++) {
			unsigned cnt = libtas_ev_translate(ctx, &evs[i], tr);

			n = deliver(p, tr, cnt, out, n, num);
		}
		if (got < want)
			break;
	}
	if (tas_ring_bad(r) && !p->queue_bad_counted[qi]) {
		p->queue_bad_counted[qi] = true;
		libtas_drop(p, LIBTAS_DROP_BAD_QUEUE);
	}
	return n;
}

/**
 * flextcp_context_poll - collect up to @num events without blocking
 * @ctx:    context
 * @num:    room in @events
 * @events: where events are stored
 *
 * Also retries commands that earlier found a command queue full.
 *
 * Return: number of events stored (0..@num), or -1 on bad arguments.
 */
LIBTAS_API int flextcp_context_poll(struct flextcp_context *ctx, int num,
				    struct flextcp_event *events)
{
	struct libtas_ctx *p;
	int n = 0;

	if (!libtas_ctx_ok(ctx) || num < 0 || (num > 0 && events == NULL))
		return -1;
	p = ctx->priv_;
	libtas_bump_flush(ctx);
	while (n < num && p->pend_count > 0) {
		events[n++] = p->pend[p->pend_head];
		p->pend_head = (p->pend_head + 1) % p->pend_cap;
		p->pend_count--;
	}
	n = drain_ring(ctx, &p->kin, TAS_MAX_CORES, events, n, num);
	for (uint32_t k = 0; k < p->ncores && n < num; k++)
		n = drain_ring(ctx, &p->arx[k], k, events, n, num);
	libtas_kick(p);
	return n;
}

/**
 * flextcp_context_waitfd - the fd to sleep on for this context
 * @ctx: context
 *
 * Readable when the service has kicked the context after
 * flextcp_context_canwait() returned 0.
 *
 * Return: the context's eventfd, or -1 for a bad context.
 */
LIBTAS_API int flextcp_context_waitfd(struct flextcp_context *ctx)
{
	return libtas_ctx_ok(ctx) ? ctx->evfd_ : -1;
}

static bool ctx_has_work(struct libtas_ctx *p)
{
	if (p->pend_count > 0 || p->bump_first != NULL)
		return true;
	if (!tas_ring_empty(&p->kin))
		return true;
	for (uint32_t k = 0; k < p->ncores; k++)
		if (!tas_ring_empty(&p->arx[k]))
			return true;
	return false;
}

/**
 * flextcp_context_canwait - announce intent to sleep, if nothing is pending
 * @ctx: context
 *
 * Sets the context's waiting flag so that producers kick its eventfd, then
 * re-checks every queue.
 *
 * Return: 0 if the caller may sleep on flextcp_context_waitfd(), -1 if events
 * are pending (poll first) or @ctx is bad.
 */
LIBTAS_API int flextcp_context_canwait(struct flextcp_context *ctx)
{
	struct libtas_ctx *p;

	if (!libtas_ctx_ok(ctx))
		return -1;
	p = ctx->priv_;
	if (p->pend_count > 0 || p->bump_first != NULL)
		return -1;
	atomic_store_explicit(&p->shm->waiting, 1, memory_order_seq_cst);
	/* seq_cst fence: the store of waiting is ordered before the loads of
	 * the producers' indices below; pairs with the producer's fence
	 * between publishing an entry and reading waiting */
	atomic_thread_fence(memory_order_seq_cst);
	if (ctx_has_work(p)) {
		atomic_store_explicit(&p->shm->waiting, 0,
				      memory_order_relaxed);
		return -1;
	}
	return 0;
}

/**
 * flextcp_context_wait - sleep until the context is kicked or @timeout_ms
 * @ctx:        context, after flextcp_context_canwait() returned 0
 * @timeout_ms: milliseconds, -1 for no limit
 *
 * Return: 1 if kicked, 0 on timeout, -1 on error (errno set, EINTR too).
 */
LIBTAS_API int flextcp_context_wait(struct flextcp_context *ctx, int timeout_ms)
{
	struct pollfd pfd;
	int ret;

	if (!libtas_ctx_ok(ctx)) {
		errno = EINVAL;
		return -1;
	}
	pfd.fd = ctx->evfd_;
	pfd.events = POLLIN;
	pfd.revents = 0;
	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return -1;
	return ret > 0 ? 1 : 0;
}

/**
 * flextcp_context_waitclear - end a wait: consume the kick, clear waiting
 * @ctx: context
 */
LIBTAS_API void flextcp_context_waitclear(struct flextcp_context *ctx)
{
	struct pollfd pfd;
	uint64_t val;

	if (!libtas_ctx_ok(ctx))
		return;
	/* the eventfd may be blocking: read only when it is readable */
	pfd.fd = ctx->evfd_;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
		ssize_t ret = read(ctx->evfd_, &val, sizeof(val));

		(void)ret; /* a racing reader may have emptied it */
	}
	atomic_store_explicit(&ctx->priv_->shm->waiting, 0,
			      memory_order_seq_cst);
}

/**
 * flextcp_block - sleep until there may be events, at most @timeout_ms
 * @ctx:        context
 * @timeout_ms: milliseconds, -1 for no limit
 *
 * Returns at once if events are already pending.
 */
LIBTAS_API void flextcp_block(struct flextcp_context *ctx, int timeout_ms)
{
	static int spin_us = -1;

	if (!libtas_ctx_ok(ctx))
		return;
	if (spin_us < 0) {
		/* TAS_SPIN_US: poll this long before sleeping; a wakeup costs
		 * tens of microseconds, a ping-pong reply often comes sooner */
		const char *e = getenv("TAS_SPIN_US");

		spin_us = e ? atoi(e) : 0;
		if (spin_us < 0 || spin_us > 100000)
			spin_us = 0;
	}
	if (spin_us > 0 && timeout_ms != 0) {
		struct timespec ts;
		uint64_t until;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		until = (uint64_t)ts.tv_sec * 1000000000ull +
			(uint64_t)ts.tv_nsec + (uint64_t)spin_us * 1000;
		for (;;) {
			if (ctx_has_work(ctx->priv_))
				return;
			/* the daemon or peer we wait for may need this CPU */
			sched_yield();
			clock_gettime(CLOCK_MONOTONIC, &ts);
			if ((uint64_t)ts.tv_sec * 1000000000ull +
				    (uint64_t)ts.tv_nsec >=
			    until)
				break;
		}
	}
	if (flextcp_context_canwait(ctx) != 0)
		return;
	flextcp_context_wait(ctx, timeout_ms);
	flextcp_context_waitclear(ctx);
}
