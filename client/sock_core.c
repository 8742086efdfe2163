/*
 * sock_core.c - libtas_sockets core: libc resolution, the fd table, lazy
 * registration with the daemon, and the socket calls that are not data
 * transfer or readiness (socket, bind, listen, accept, connect, close,
 * shutdown; options, names, fcntl, ioctl and dup are in sock_opt.c)
 *
 * POSIX (IEEE Std 1003.1-2017) and Linux tcp(7)/socket(7) semantics; see
 * sock.h for the design and docs/SOCKETS.md for what differs.
 *
 * Known gaps: SO_LINGER is accepted but not honoured; binding to a specific
 * non-loopback address is recorded, not checked.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "client/sock.h"

struct sock_libc sock_libc;
struct sock_proc sock_proc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static pthread_once_t libc_once = PTHREAD_ONCE_INIT;

static void *resolve(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		fprintf(stderr, "libtas_sockets: cannot resolve libc %s\n",
			name);
		abort();
	}
	return p;
}

#define RESOLVE(f) sock_libc.f = (__typeof__(sock_libc.f))resolve(#f)

static void atfork_prepare(void)
{
	sock_lock();
}

static void atfork_parent(void)
{
	sock_unlock();
}

static void atfork_child(void)
{
	pthread_mutex_init(&sock_proc.lock, NULL);
	/* the segment and the context stay the parent's: hands off */
	if (sock_proc.up == 1)
		sock_proc.child = true;
	sock_proc.leader = false;
	sock_proc.waiters = NULL;
	sock_waiter_forget();
}

static void libc_init_once(void)
{
	const char *fb = getenv("TAS_FALLBACK");
	void *tab;

	RESOLVE(socket);
	RESOLVE(close);
	RESOLVE(bind);
	RESOLVE(listen);
	RESOLVE(accept4);
	RESOLVE(connect);
	RESOLVE(shutdown);
	RESOLVE(read);
	RESOLVE(write);
	RESOLVE(readv);
	RESOLVE(writev);
	RESOLVE(pread);
	RESOLVE(pwrite);
	RESOLVE(recvfrom);
	RESOLVE(sendto);
	RESOLVE(recvmsg);
	RESOLVE(sendmsg);
	RESOLVE(sendfile);
	RESOLVE(getsockopt);
	RESOLVE(setsockopt);
	RESOLVE(getsockname);
	RESOLVE(getpeername);
	RESOLVE(fcntl);
	RESOLVE(ioctl);
	RESOLVE(epoll_create1);
	RESOLVE(epoll_ctl);
	RESOLVE(epoll_pwait);
	RESOLVE(ppoll);
	RESOLVE(dup);
	RESOLVE(dup2);
	RESOLVE(dup3);
	RESOLVE(fork);
	sock_proc.fallback = fb && strcmp(fb, "1") == 0;
	tab = mmap(NULL, SOCK_FD_MAX * sizeof(*sock_proc.tab),
		   PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (tab != MAP_FAILED)
		sock_proc.tab = tab;
	sock_proc.next_port = (uint16_t)(49152 + getpid() % 8192);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/**
 * sock_libc_init - resolve libc and set up the fd table (idempotent)
 */
void sock_libc_init(void)
{
	pthread_once(&libc_once, libc_init_once);
}

__attribute__((constructor)) static void sock_ctor(void)
{
	sock_libc_init();
}

/**
 * sock_table_set - point fd number @fd at @o (NULL: not ours) (lock held)
 * @fd: number below SOCK_FD_MAX
 * @o:  object or NULL
 */
void sock_table_set(int fd, struct sock_obj *o)
{
	atomic_store_explicit(&sock_proc.tab[fd], o, memory_order_release);
}

/**
 * sock_get - the object of @fd with a reference taken (lock held)
 * @fd: fd number
 *
 * Return: the object, or NULL if @fd is not ours.
 */
struct sock_obj *sock_get(int fd)
{
	struct sock_obj *o = sock_peek(fd);

	if (o)
		o->refs++;
	return o;
}

/**
 * sock_put - drop a reference; the last one releases the object
 * @o: object (lock held)
 */
void sock_put(struct sock_obj *o)
{
	if (o == NULL || --o->refs > 0)
		return;
	if (o->kind == SOCK_OBJ_TCP)
		sock_tsock_release((struct tsock *)o);
	else
		sock_epoll_release((struct sock_epoll *)o);
}

/**
 * sock_is_tas - whether @fd is a TAS socket or epoll instance (lock-free)
 * @fd: fd number
 *
 * Return: true if calls on @fd must go through this library.
 */
bool sock_is_tas(int fd)
{
	return sock_peek(fd) != NULL;
}

/**
 * sock_fail - set errno, return -1 (the POSIX convention in one place)
 * @err: positive errno
 *
 * Return: -1.
 */
int sock_fail(int err)
{
	errno = err;
	return -1;
}

/* How long exit() waits for sent bytes to be acknowledged, and then for
 * the service to take the closes. */
#define SOCK_EXIT_ACK_MS 5000
#define SOCK_EXIT_CLOSE_MS 1000

/*
 * Bytes of @ts's send ring not yet acknowledged. libtas has no accessor
 * for this (tx_space says 0 once the send half is shut), so it is read from
 * the connection's counters: bytes allocated minus bytes freed by acks.
 */
static uint32_t exit_unacked(const struct tsock *ts)
{
	return ts->conn.tx_alloc_ - ts->conn.tx_freed_;
}

/* A connection exit_close() must still finish. */
static bool exit_live(const struct tsock *ts)
{
	return ts->state == TS_CONNECTED && ts->conn_live && !ts->reset;
}

/*
 * One pass over the fd table (lock held). @phase 0: whether a connection
 * still has unacknowledged bytes; 1: close every live connection; 2:
 * whether a close is still unanswered.
 */
static bool exit_scan(int maxfd, int phase)
{
	for (int fd = 0; fd < maxfd; fd++) {
		struct tsock *ts = sock_tcp(sock_peek(fd));

		if (ts == NULL || !exit_live(ts))
			continue;
		if (phase == 0 && !ts->exit_closed && exit_unacked(ts) > 0)
			return true;
		if (phase == 1 && !ts->exit_closed &&
		    flextcp_connection_close(&sock_proc.ctx, &ts->conn) == 0) {
			ts->exit_closed = true;
			ts->tx_shut = true;
			ts->rd_shut = true;
		}
		if (phase == 2 && ts->exit_closed)
			return true;
	}
	return false;
}

/* Sleep on the context until @phase is done or @timeout_ms passed. */
static void exit_wait(int maxfd, int phase, int timeout_ms)
{
	struct pollfd p[2];
	struct timespec dl;
	int left;

	sock_deadline_set(&dl, timeout_ms);
	for (;;) {
		sock_dispatch();
		if (!exit_scan(maxfd, phase))
			return;
		left = sock_deadline_left(&dl);
		if (left == 0)
			return;
		sock_sleep(p, 0, left < 10 ? left : 10, NULL);
	}
}

/*
 * exit(): Linux closes every fd and the kernel still delivers what was
 * sent. The send rings live in this process's segment, and the service
 * lets a connection outlive its app only once nothing but the FIN is
 * unacknowledged (it resets the rest). So wait, bounded, until the bytes
 * sent are acknowledged, then close every connection (FIN, or RST with
 * unread data, as Linux) and wait until the service took the closes. Not
 * run by _exit() or fatal signals, nor in a forked child.
 */
static void sock_exit(void)
{
	struct timespec lk;
	struct rlimit rl;
	int maxfd = SOCK_FD_MAX;

	if (sock_proc.up != 1 || sock_proc.child || sock_proc.tab == NULL)
		return;
	/* a thread stuck holding the lock must not hold up the exit */
	clock_gettime(CLOCK_REALTIME, &lk);
	lk.tv_sec += 1;
	if (pthread_mutex_timedlock(&sock_proc.lock, &lk) != 0)
		return;
	if (sock_proc.up == 1 && !sock_proc.child) {
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < (rlim_t)SOCK_FD_MAX)
			maxfd = (int)rl.rlim_cur;
		exit_wait(maxfd, 0, SOCK_EXIT_ACK_MS);
		exit_scan(maxfd, 1);
		exit_wait(maxfd, 2, SOCK_EXIT_CLOSE_MS);
	}
	sock_unlock();
}

/**
 * sock_tas_up - register with the daemon once (lock held)
 *
 * A failure is final for the process: libtas printed why, and with
 * TAS_FALLBACK=1 one more line says that TCP now uses the kernel.
 *
 * Return: 0 registered, -1 not (errno ENETDOWN).
 */
int sock_tas_up(void)
{
	if (sock_proc.up == 1)
		return 0;
	if (sock_proc.up == 0) {
		if (flextcp_init() == 0 &&
		    flextcp_context_create(&sock_proc.ctx) == 0) {
			sock_proc.up = 1;
			atexit(sock_exit);
			return 0;
		}
		sock_proc.up = -1;
		if (sock_proc.fallback)
			fprintf(stderr, "libtas_sockets: TAS_FALLBACK=1: TCP "
					"sockets use the Linux kernel\n");
	}
	errno = ENETDOWN;
	return -1;
}

/**
 * tas_init - register with the tas daemon now instead of at first use
 *
 * Return: 0, or -1 (errno ENETDOWN) with the reason on stderr.
 */
SOCK_API int tas_init(void)
{
	int ret;

	sock_libc_init();
	sock_lock();
	ret = sock_tas_up();
	sock_unlock();
	return ret;
}

static bool is_loopback(const struct sockaddr_in *sin)
{
	return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
}

/* Hand @fd to the kernel: its placeholder becomes the real socket. */
static int to_kernel(int fd, struct tsock *ts)
{
	int ret = 0;

	sock_table_set(fd, NULL);
	if (ts->bound)
		ret = sock_libc.bind(fd, (struct sockaddr *)&ts->local,
				     sizeof(ts->local));
	sock_put(&ts->obj); /* the table's reference */
	return ret;
}

/**
 * tas_socket - create a socket; IPv4 TCP ones become TAS candidates
 * @domain:   AF_INET for TAS; anything else goes to libc
 * @type:     SOCK_STREAM (| SOCK_NONBLOCK | SOCK_CLOEXEC)
 * @protocol: 0 or IPPROTO_TCP
 *
 * Return: the fd number, or -1 with errno.
 */
SOCK_API int tas_socket(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct tsock *ts;
	int fd;

	sock_libc_init();
	fd = sock_libc.socket(domain, type, protocol);
	if (fd < 0 || domain != AF_INET || base != SOCK_STREAM ||
	    (protocol != 0 && protocol != IPPROTO_TCP) || fd >= SOCK_FD_MAX ||
	    sock_proc.tab == NULL)
		return fd;
	sock_lock();
	if (sock_proc.child || (sock_proc.up == -1 && sock_proc.fallback)) {
		sock_unlock();
		return fd;
	}
	ts = sock_tsock_alloc();
	if (ts == NULL) {
		sock_unlock();
		sock_libc.close(fd);
		return sock_fail(ENOMEM);
	}
	ts->nonblock = (type & SOCK_NONBLOCK) != 0;
	ts->obj.refs = 1;
	sock_table_set(fd, &ts->obj);
	sock_unlock();
	return fd;
}

/**
 * tas_bind - bind a socket (recorded; loopback goes to the kernel)
 * @sockfd:  socket
 * @addr:    struct sockaddr_in
 * @addrlen: its length
 *
 * Return: 0 or -1 with errno.
 */
SOCK_API int tas_bind(int sockfd, const struct sockaddr *addr,
		      socklen_t addrlen)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
	struct tsock *ts;
	int ret = 0;

	sock_libc_init();
	if (sock_tcp(sock_peek(sockfd)) == NULL)
		return sock_libc.bind(sockfd, addr, addrlen);
	sock_lock();
	ts = sock_tcp(sock_get(sockfd));
	if (ts == NULL) {
		sock_unlock();
		return sock_libc.bind(sockfd, addr, addrlen);
	}
	if (addr == NULL || addrlen < sizeof(*sin) ||
	    sin->sin_family != AF_INET)
		ret = sock_fail(addr && sin->sin_family != AF_INET
					? EAFNOSUPPORT
					: EINVAL);
	else if (ts->state != TS_NEW || ts->bound)
		ret = sock_fail(EINVAL);
	else if (is_loopback(sin))
		ret = to_kernel(sockfd, ts)
			      ? -1
			      : sock_libc.bind(sockfd, addr, addrlen);
	else {
		ts->local = *sin;
		ts->bound = true;
	}
	sock_put(&ts->obj);
	sock_unlock();
	return ret;
}

static struct sock_listen *listen_find_idle(uint16_t port)
{
	for (struct sock_listen *sl = sock_proc.listeners; sl; sl = sl->next)
		if (sl->port == port && sl->owner == NULL && !sl->closed)
			return sl;
	return NULL;
}

/* Open a flextcp listener on @port and wait for the answer (lock held). */
static struct sock_listen *listen_open(uint16_t port, int backlog,
				       bool reuseport)
{
	struct sock_listen *sl = calloc(1, sizeof(*sl));
	struct pollfd p[2];
	struct timespec dl;
	int left;

	if (sl == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	sl->port = port;
	sl->reuseport = reuseport;
	if (flextcp_listen_open(&sock_proc.ctx, &sl->l, port, (uint32_t)backlog,
				reuseport ? FLEXTCP_LISTEN_REUSEPORT : 0)) {
		free(sl);
		errno = ENOBUFS;
		return NULL;
	}
	sock_deadline_set(&dl, SOCK_LISTEN_TIMEOUT_MS);
	for (;;) {
		sock_dispatch();
		if (sl->open_done)
			break;
		left = sock_deadline_left(&dl);
		if (left == 0) {
			/* no accept handles yet: closed, sl is ours again;
			 * if even that fails, libtas still owns sl: it leaks */
			if (flextcp_listen_close(&sock_proc.ctx, &sl->l) == 0)
				free(sl);
			errno = ETIMEDOUT;
			return NULL;
		}
		sock_sleep(p, 0, left, NULL);
	}
	if (sl->open_status != 0) {
		errno = -sl->open_status;
		free(sl);
		return NULL;
	}
	sl->next = sock_proc.listeners;
	sock_proc.listeners = sl;
	return sl;
}

static int do_listen(int fd, struct tsock *ts, int backlog)
{
	struct sock_listen *sl;
	uint16_t port;

	if (backlog <= 0)
		backlog = 1;
	if (backlog > 4096)
		backlog = 4096;
	if (ts->state == TS_LISTEN) {
		ts->lst->target =
			(uint32_t)(backlog < SOCK_ACCEPT_MAX ? backlog
							     : SOCK_ACCEPT_MAX);
		sock_listen_refill(ts->lst);
		return 0;
	}
	if (ts->state != TS_NEW)
		return sock_fail(EINVAL);
	if (sock_tas_up() < 0) {
		if (!sock_proc.fallback)
			return -1;
		if (to_kernel(fd, ts) < 0)
			return -1;
		return sock_libc.listen(fd, backlog);
	}
	port = ntohs(ts->local.sin_port);
	if (port == 0) {
		port = sock_proc.next_port++;
		if (sock_proc.next_port < 49152)
			sock_proc.next_port = 49152;
		ts->local.sin_port = htons(port);
	}
	sl = listen_find_idle(port);
	if (sl == NULL)
		sl = listen_open(port, backlog, ts->reuseport);
	if (sl == NULL)
		return -1;
	ts->state = TS_LISTEN;
	ts->lst = sl;
	sl->owner = ts;
	sl->target = (uint32_t)(backlog < SOCK_ACCEPT_MAX ? backlog
							  : SOCK_ACCEPT_MAX);
	sock_listen_refill(sl);
	return 0;
}

/**
 * tas_listen - listen through TAS (waits for the daemon's answer)
 * @sockfd:  socket
 * @backlog: as listen(2); also bounds connections accepted by the
 *           library ahead of the app
 *
 * Return: 0 or -1 with errno (EADDRINUSE, ENETDOWN without a daemon).
 */
SOCK_API int tas_listen(int sockfd, int backlog)
{
	struct tsock *ts;
	int ret;

	sock_libc_init();
	if (sock_tcp(sock_peek(sockfd)) == NULL)
		return sock_libc.listen(sockfd, backlog);
	sock_lock();
	ts = sock_tcp(sock_get(sockfd));
	if (ts == NULL) {
		sock_unlock();
		return sock_libc.listen(sockfd, backlog);
	}
	ret = sock_proc.child ? sock_fail(EBADF)
			      : do_listen(sockfd, ts, backlog);
	sock_put(&ts->obj);
	sock_unlock();
	return ret;
}

/**
 * sock_addr_out - copy an address out as getsockname(2) does (truncating)
 * @sin:     address
 * @addr:    destination, may be NULL
 * @addrlen: in: room at @addr; out: the full length
 */
void sock_addr_out(const struct sockaddr_in *sin, struct sockaddr *addr,
		   socklen_t *addrlen)
{
	socklen_t n;

	if (addr == NULL || addrlen == NULL)
		return;
	n = *addrlen < sizeof(*sin) ? *addrlen : sizeof(*sin);
	memcpy(addr, sin, n);
	*addrlen = sizeof(*sin);
}

static int do_accept(struct tsock *ts, struct sockaddr *addr,
		     socklen_t *addrlen, int flags)
{
	struct sock_listen *sl;
	struct tsock *c;
	int nfd, ret;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return sock_fail(EINVAL);
	if (ts->state != TS_LISTEN)
		return sock_fail(EINVAL);
	for (;;) {
		sock_dispatch();
		sl = ts->lst;
		if (ts->state != TS_LISTEN)
			return sock_fail(EINVAL);
		if (sl->nready > 0)
			break;
		if (ts->nonblock)
			return sock_fail(EAGAIN);
		ret = sock_block(ts, EPOLLIN, ts->rcvtimeo_ms);
		if (ret < 0)
			return sock_fail(-ret);
	}
	nfd = sock_libc.socket(AF_INET, SOCK_STREAM | flags, 0);
	if (nfd < 0)
		return -1;
	if (nfd >= SOCK_FD_MAX) {
		sock_libc.close(nfd);
		return sock_fail(EMFILE);
	}
	c = sl->ready_first;
	sl->ready_first = c->next;
	if (sl->ready_first == NULL)
		sl->ready_last = NULL;
	sl->nready--;
	c->next = NULL;
	c->obj.refs = 1;
	c->nonblock = (flags & SOCK_NONBLOCK) != 0;
	sock_table_set(nfd, &c->obj);
	sock_listen_refill(sl);
	sock_addr_out(&c->remote, addr, addrlen);
	return nfd;
}

/**
 * tas_accept4 - accept a connection
 * @sockfd:  listening socket
 * @addr:    peer address out (may be NULL)
 * @addrlen: in: room at @addr; out: the address length
 * @flags:   SOCK_NONBLOCK, SOCK_CLOEXEC
 *
 * Return: the new fd, or -1 with errno (EAGAIN when none is ready on a
 * nonblocking socket).
 */
SOCK_API int tas_accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen,
			 int flags)
{
	struct tsock *ts;
	int ret;

	sock_libc_init();
	if (sock_tcp(sock_peek(sockfd)) == NULL)
		return sock_libc.accept4(sockfd, addr, addrlen, flags);
	sock_lock();
	ts = sock_tcp(sock_get(sockfd));
	if (ts == NULL) {
		sock_unlock();
		return sock_libc.accept4(sockfd, addr, addrlen, flags);
	}
	ret = sock_proc.child ? sock_fail(EBADF)
			      : do_accept(ts, addr, addrlen, flags);
	sock_put(&ts->obj);
	sock_unlock();
	return ret;
}

/**
 * tas_accept - accept(2): tas_accept4() without flags
 * @sockfd:  listening socket
 * @addr:    peer address out (may be NULL)
 * @addrlen: in/out length
 *
 * Return: the new fd, or -1 with errno.
 */
SOCK_API int tas_accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen)
{
	return tas_accept4(sockfd, addr, addrlen, 0);
}

/* Report the outcome of an asynchronous connect once (Linux order). */
static int connect_result(struct tsock *ts)
{
	int err;

	if (ts->state == TS_CONNECTED) {
		if (ts->connect_reported)
			return sock_fail(EISCONN);
		ts->connect_reported = true;
		return 0;
	}
	err = ts->so_error ? ts->so_error : ECONNREFUSED;
	ts->so_error = 0;
	ts->connect_reported = true;
	return sock_fail(err);
}

static int do_connect(int fd, struct tsock *ts, const struct sockaddr *addr,
		      socklen_t addrlen)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
	int ret;

	switch (ts->state) {
	case TS_CONNECTING:
		if (ts->nonblock)
			return sock_fail(EALREADY);
		break;
	case TS_CONNECTED:
		return connect_result(ts);
	case TS_LISTEN:
		return sock_fail(EISCONN);
	default:
		if (ts->so_error && !ts->connect_reported)
			return connect_result(ts);
		if (addr == NULL || addrlen < sizeof(*sin))
			return sock_fail(EINVAL);
		if (sin->sin_family != AF_INET)
			return sock_fail(EAFNOSUPPORT);
		if (is_loopback(sin) ||
		    (sock_tas_up() < 0 && sock_proc.fallback)) {
			if (to_kernel(fd, ts) < 0)
				return -1;
			return sock_libc.connect(fd, addr, addrlen);
		}
		if (sock_proc.up != 1)
			return sock_fail(ENETDOWN);
		ts->remote = *sin;
		ts->so_error = 0;
		ts->connect_reported = false;
		if (flextcp_connection_open(&sock_proc.ctx, &ts->conn,
					    ntohl(sin->sin_addr.s_addr),
					    ntohs(sin->sin_port)))
			return sock_fail(ENOBUFS);
		ts->state = TS_CONNECTING;
		if (ts->nonblock)
			return sock_fail(EINPROGRESS);
	}
	ret = sock_block(ts, EPOLLOUT, ts->sndtimeo_ms);
	if (ret == -EAGAIN)
		return sock_fail(EINPROGRESS);
	if (ret < 0)
		return sock_fail(-ret);
	return connect_result(ts);
}

/**
 * tas_connect - connect through TAS (loopback destinations: the kernel)
 * @sockfd:  socket
 * @addr:    struct sockaddr_in of the peer
 * @addrlen: its length
 *
 * Return: 0 or -1 with errno (EINPROGRESS when nonblocking; the result is
 * then in SO_ERROR).
 */
SOCK_API int tas_connect(int sockfd, const struct sockaddr *addr,
			 socklen_t addrlen)
{
	struct tsock *ts;
	int ret;

	sock_libc_init();
	if (sock_tcp(sock_peek(sockfd)) == NULL)
		return sock_libc.connect(sockfd, addr, addrlen);
	sock_lock();
	ts = sock_tcp(sock_get(sockfd));
	if (ts == NULL) {
		sock_unlock();
		return sock_libc.connect(sockfd, addr, addrlen);
	}
	ret = sock_proc.child ? sock_fail(EBADF)
			      : do_connect(sockfd, ts, addr, addrlen);
	sock_put(&ts->obj);
	sock_unlock();
	return ret;
}

/**
 * tas_close - close an fd; the last fd of a TAS socket closes it
 * @sockfd: fd
 *
 * A connection gets FIN (RST if unread data remains), in the background.
 * In a forked child only the child's number goes away.
 *
 * Return: 0 or -1 with errno.
 */
SOCK_API int tas_close(int sockfd)
{
	struct sock_obj *o;
	int ret;

	sock_libc_init();
	if (sock_peek(sockfd) == NULL)
		return sock_libc.close(sockfd);
	sock_lock();
	o = sock_peek(sockfd);
	if (o)
		sock_table_set(sockfd, NULL);
	ret = sock_libc.close(sockfd);
	sock_put(o);
	sock_unlock();
	return ret;
}

static int do_shutdown(struct tsock *ts, int how)
{
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return sock_fail(EINVAL);
	if (ts->state == TS_LISTEN)
		return 0;
	if (ts->state != TS_CONNECTED)
		return sock_fail(ENOTCONN);
	if (how != SHUT_WR) {
		ts->rd_shut = true;
		ts->gen_in++;
	}
	if (how != SHUT_RD && !ts->tx_shut) {
		ts->tx_shut = true;
		if (ts->conn_live && !ts->reset)
			flextcp_connection_tx_close(&sock_proc.ctx, &ts->conn);
		ts->gen_out++;
	}
	sock_wake_all();
	return 0;
}

/**
 * tas_shutdown - shut a direction down; SHUT_WR sends FIN
 * @sockfd: socket
 * @how:    SHUT_RD, SHUT_WR or SHUT_RDWR
 *
 * Return: 0 or -1 with errno (ENOTCONN when not connected).
 */
SOCK_API int tas_shutdown(int sockfd, int how)
{
	struct tsock *ts;
	int ret;

	sock_libc_init();
	if (sock_tcp(sock_peek(sockfd)) == NULL)
		return sock_libc.shutdown(sockfd, how);
	sock_lock();
	ts = sock_tcp(sock_get(sockfd));
	if (ts == NULL) {
		sock_unlock();
		return sock_libc.shutdown(sockfd, how);
	}
	ret = sock_proc.child ? sock_fail(EBADF) : do_shutdown(ts, how);
	sock_put(&ts->obj);
	sock_unlock();
	return ret;
}
