/*
 * sock_event.c - libtas_sockets event side: dispatch of flextcp events into
 * socket state, readiness, accept-handle refills, and sleeping without
 * spinning (leader/follower over the context's eventfd)
 *
 * Readiness follows Linux's tcp_poll(): an unconnected socket is
 * EPOLLOUT|EPOLLHUP, a reset one IN|OUT|HUP|RDHUP (+ERR while the error is
 * pending), a half-closed one IN|RDHUP, writable means a quarter of the
 * send ring free.
 *
 * Known gaps: one context and one lock for all threads (see sock.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "client/sock.h"

#define SOCK_EV_BURST 32

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/**
 * sock_tsock_alloc - a zeroed TAS socket object
 *
 * Return: the object with no references, or NULL (errno ENOMEM).
 */
struct tsock *sock_tsock_alloc(void)
{
	struct tsock *ts = calloc(1, sizeof(*ts));

	if (ts == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	ts->obj.kind = SOCK_OBJ_TCP;
	ts->local.sin_family = AF_INET;
	ts->remote.sin_family = AF_INET;
	return ts;
}

/**
 * sock_tx_room - bytes a send could place now (lock held)
 * @ts: connected socket
 *
 * Return: free bytes of the send ring, 0 when it cannot send.
 */
uint32_t sock_tx_room(const struct tsock *ts)
{
	if (ts->state != TS_CONNECTED || !ts->conn_live || ts->tx_shut)
		return 0;
	return (uint32_t)flextcp_connection_tx_space(&ts->conn);
}

/* Copy the connection's addresses into the socket's names. */
static void conn_addrs(struct tsock *ts)
{
	uint32_t lip, rip;
	uint16_t lport, rport;

	if (flextcp_connection_addrs(&ts->conn, &lip, &lport, &rip, &rport))
		return;
	ts->local.sin_family = AF_INET;
	ts->local.sin_addr.s_addr = htonl(lip);
	ts->local.sin_port = htons(lport);
	ts->remote.sin_family = AF_INET;
	ts->remote.sin_addr.s_addr = htonl(rip);
	ts->remote.sin_port = htons(rport);
}

/**
 * sock_revents - the socket's readiness as EPOLL* bits (lock held)
 * @ts: socket
 *
 * Return: EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLERR, EPOLLHUP as Linux
 * reports them for a TCP socket in the same state.
 */
uint32_t sock_revents(const struct tsock *ts)
{
	uint32_t m = 0;

	switch (ts->state) {
	case TS_NEW:
		m = EPOLLOUT | EPOLLHUP;
		break;
	case TS_LISTEN:
		if (ts->lst && ts->lst->nready > 0)
			m = EPOLLIN;
		break;
	case TS_CONNECTED:
		if (ts->reset) {
			m = EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP;
			break;
		}
		if (ts->rx_avail > 0 || ts->rx_eof || ts->rd_shut)
			m |= EPOLLIN;
		if (ts->rx_eof || ts->rd_shut)
			m |= EPOLLRDHUP;
		if (ts->tx_shut)
			m |= EPOLLOUT;
		else if (ts->conn_live &&
			 flextcp_connection_tx_space(&ts->conn) >=
				 flextcp_connection_tx_capacity(&ts->conn) / 4)
			m |= EPOLLOUT;
		if (ts->rx_eof && ts->tx_shut)
			m |= EPOLLHUP;
		break;
	default:
		break;
	}
	if (ts->so_error)
		m |= EPOLLERR;
	return m;
}

static void tsock_free(struct tsock *ts)
{
	free(ts);
}

/* Ask flextcp to close @ts's connection; @ts becomes an orphan. */
static void conn_abandon(struct tsock *ts)
{
	if (!sock_proc.child &&
	    flextcp_connection_close(&sock_proc.ctx, &ts->conn) == 0) {
		ts->orphan = true;
		return;
	}
	tsock_free(ts);
}

/* Free @sl once it is closed in libtas and every accept handle is back. */
static void listen_maybe_free(struct sock_listen *sl)
{
	if (sl->owner || !sl->closed || sl->offered > 0)
		return;
	for (struct sock_listen **pp = &sock_proc.listeners; *pp;
	     pp = &(*pp)->next) {
		if (*pp == sl) {
			*pp = sl->next;
			break;
		}
	}
	free(sl);
}

/*
 * The app closed the listening socket of @sl: close the flextcp listener so
 * the port stops completing handshakes and may be listened on again. The
 * accept handles come back as LISTEN_ACCEPT {-ECONNABORTED}; @sl goes with
 * the last. If libtas cannot close it, @sl stays idle for a later listen()
 * on its port.
 */
static void listen_release(struct sock_listen *sl)
{
	if (sock_proc.child ||
	    flextcp_listen_close(&sock_proc.ctx, &sl->l) != 0)
		return;
	sl->closed = true;
	listen_maybe_free(sl);
}

/**
 * sock_tsock_release - the last reference to @ts is gone (lock held)
 * @ts: socket with no fd and no call in progress
 *
 * Frees it, or leaves it as an orphan until flextcp reports its
 * connection finished.
 */
void sock_tsock_release(struct tsock *ts)
{
	struct sock_listen *sl;
	struct tsock *r, *next;

	sock_epitems_drop(ts);
	switch (ts->state) {
	case TS_LISTEN:
		sl = ts->lst;
		if (sl) {
			sl->owner = NULL;
			for (r = sl->ready_first; r; r = next) {
				next = r->next;
				conn_abandon(r);
			}
			sl->ready_first = sl->ready_last = NULL;
			sl->nready = 0;
			listen_release(sl);
		}
		tsock_free(ts);
		break;
	case TS_CONNECTING:
		if (sock_proc.child)
			tsock_free(ts);
		else
			ts->orphan = true;
		break;
	case TS_CONNECTED:
		if (ts->conn_live)
			conn_abandon(ts);
		else
			tsock_free(ts);
		break;
	default:
		tsock_free(ts);
		break;
	}
}

/**
 * sock_listen_refill - keep accept handles offered to a listener
 * @sl: listener (lock held)
 *
 * Offered plus ready-but-not-accepted handles stay at @sl->target, so the
 * ready queue never grows past the backlog.
 */
void sock_listen_refill(struct sock_listen *sl)
{
	while (sl->owner && !sock_proc.child &&
	       sl->offered + sl->nready < sl->target) {
		struct tsock *h = sock_tsock_alloc();

		if (h == NULL)
			return;
		h->state = TS_ACCEPTING;
		h->lst = sl;
		if (flextcp_listen_accept(&sock_proc.ctx, &sl->l, &h->conn)) {
			tsock_free(h);
			return;
		}
		sl->offered++;
	}
}

static void ev_accept(struct flextcp_connection *c, int status)
{
	struct tsock *ts = container_of(c, struct tsock, conn);
	struct sock_listen *sl = ts->lst;

	if (sl->offered > 0)
		sl->offered--;
	if (status != 0) {
		/* handle given back (listener closed) */
		tsock_free(ts);
		sock_listen_refill(sl);
		listen_maybe_free(sl);
		return;
	}
	ts->state = TS_CONNECTED;
	ts->conn_live = true;
	ts->lst = NULL;
	conn_addrs(ts);
	if (sl->owner == NULL) {
		conn_abandon(ts); /* listener closed by the app */
		listen_maybe_free(sl);
		return;
	}
	ts->next = NULL;
	if (sl->ready_last)
		sl->ready_last->next = ts;
	else
		sl->ready_first = ts;
	sl->ready_last = ts;
	sl->nready++;
	sl->owner->gen_in++;
	sock_listen_refill(sl);
}

static void ev_conn_open(struct flextcp_connection *c, int status)
{
	struct tsock *ts = container_of(c, struct tsock, conn);

	ts->gen_in++;
	ts->gen_out++;
	if (status == 0) {
		ts->state = TS_CONNECTED;
		ts->conn_live = true;
		conn_addrs(ts);
		if (ts->orphan) {
			ts->orphan = false;
			conn_abandon(ts);
		}
		return;
	}
	ts->state = TS_NEW;
	ts->so_error = -status;
	if (ts->orphan)
		tsock_free(ts);
}

static void rx_add(struct tsock *ts, uint8_t *buf, size_t len)
{
	struct sock_rxp *last = ts->rx_n ? &ts->rx[ts->rx_n - 1] : NULL;

	if (last && last->buf + last->len == buf) {
		last->len += len;
	} else if (ts->rx_n < SOCK_RXP) {
		ts->rx[ts->rx_n].buf = buf;
		ts->rx[ts->rx_n].len = len;
		ts->rx_n++;
	} else {
		/* impossible with a ring; never lose count silently */
		ts->so_error = EPROTO;
		return;
	}
	ts->rx_avail += len;
	ts->gen_in++;
}

static void ev_closed(struct flextcp_connection *c, int status)
{
	struct tsock *ts = container_of(c, struct tsock, conn);

	ts->conn_live = false;
	ts->exit_closed = false;
	if (ts->orphan) {
		tsock_free(ts);
		return;
	}
	if (status < 0) {
		/* aborted: the rings may be reused, drop unread bytes */
		ts->reset = true;
		ts->so_error = -status;
		ts->rx_n = 0;
		ts->rx_avail = 0;
	}
	ts->gen_in++;
	ts->gen_out++;
}

static void handle(const struct flextcp_event *ev)
{
	struct flextcp_connection *c;

	switch (ev->event_type) {
	case FLEXTCP_EV_LISTEN_OPEN: {
		struct sock_listen *sl = container_of(
			ev->ev.listen_open.listener, struct sock_listen, l);

		sl->open_done = true;
		sl->open_status = ev->ev.listen_open.status;
		break;
	}
	case FLEXTCP_EV_LISTEN_ACCEPT:
		ev_accept(ev->ev.listen_accept.conn,
			  ev->ev.listen_accept.status);
		break;
	case FLEXTCP_EV_CONN_OPEN:
		ev_conn_open(ev->ev.conn_open.conn, ev->ev.conn_open.status);
		break;
	case FLEXTCP_EV_CONN_RECEIVED:
		c = ev->ev.conn_received.conn;
		rx_add(container_of(c, struct tsock, conn),
		       ev->ev.conn_received.buf, ev->ev.conn_received.len);
		break;
	case FLEXTCP_EV_CONN_SENDBUF:
		c = ev->ev.conn_sendbuf.conn;
		container_of(c, struct tsock, conn)->gen_out++;
		break;
	case FLEXTCP_EV_CONN_RXCLOSED: {
		struct tsock *ts = container_of(ev->ev.conn_rxclosed.conn,
						struct tsock, conn);

		ts->rx_eof = true;
		ts->gen_in++;
		break;
	}
	case FLEXTCP_EV_CONN_CLOSED:
		ev_closed(ev->ev.conn_closed.conn, ev->ev.conn_closed.status);
		break;
	default: /* NEWCONN, TXCLOSED, MOVED: nothing to track */
		break;
	}
}

/**
 * sock_dispatch - apply every pending flextcp event (lock held)
 *
 * Wakes the sleeping threads if anything happened.
 */
void sock_dispatch(void)
{
	struct flextcp_event ev[SOCK_EV_BURST];
	bool any = false;
	int n;

	if (sock_proc.up != 1 || sock_proc.child)
		return;
	while ((n = flextcp_context_poll(&sock_proc.ctx, SOCK_EV_BURST, ev)) >
	       0) {
		any = true;
		for (int i = 0; i < n; i++)
			handle(&ev[i]);
	}
	if (any)
		sock_wake_all();
}

/* ---- sleeping ---- */

static __thread struct sock_waiter tls_waiter = { .fd = -1 };
static pthread_key_t waiter_key;
static pthread_once_t waiter_once = PTHREAD_ONCE_INIT;

static void waiter_dtor(void *arg)
{
	struct sock_waiter *w = arg;

	if (w && w->fd >= 0) {
		sock_libc.close(w->fd);
		w->fd = -1;
	}
}

static void waiter_key_init(void)
{
	pthread_key_create(&waiter_key, waiter_dtor);
}

static struct sock_waiter *waiter_get(void)
{
	struct sock_waiter *w = &tls_waiter;

	if (w->fd < 0) {
		pthread_once(&waiter_once, waiter_key_init);
		w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->fd < 0)
			return NULL;
		pthread_setspecific(waiter_key, w);
	}
	return w;
}

/**
 * sock_waiter_forget - drop the calling thread's wake fd (fork child)
 *
 * The eventfd is shared with the parent after fork; the child makes its
 * own when it needs one.
 */
void sock_waiter_forget(void)
{
	if (tls_waiter.fd >= 0)
		sock_libc.close(tls_waiter.fd);
	tls_waiter.fd = -1;
	tls_waiter.linked = false;
}

/**
 * sock_wake_all - kick every thread sleeping in sock_sleep() (lock held)
 */
void sock_wake_all(void)
{
	uint64_t one = 1;

	for (struct sock_waiter *w = sock_proc.waiters; w; w = w->next) {
		ssize_t r = sock_libc.write(w->fd, &one, sizeof(one));

		(void)r; /* a full eventfd is readable anyway */
	}
}

/**
 * sock_deadline_set - a CLOCK_MONOTONIC deadline @timeout_ms from now
 * @deadline:   set
 * @timeout_ms: milliseconds, >= 0
 */
void sock_deadline_set(struct timespec *deadline, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += timeout_ms / 1000;
	deadline->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

/**
 * sock_deadline_left - milliseconds until @deadline (rounded up)
 * @deadline: from sock_deadline_set()
 *
 * Return: 0 when passed.
 */
int sock_deadline_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec + 999999) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

static void waiter_link(struct sock_waiter *w)
{
	w->prev = NULL;
	w->next = sock_proc.waiters;
	if (w->next)
		w->next->prev = w;
	sock_proc.waiters = w;
	w->linked = true;
}

static void waiter_unlink(struct sock_waiter *w)
{
	if (!w->linked)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		sock_proc.waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->linked = false;
}

/**
 * sock_sleep - sleep until a kernel fd is ready, events may have arrived,
 *              another thread kicks us, or @timeout_ms passes (lock held)
 * @pfds:       @n kernel fds to wait on, followed by two spare entries
 * @n:          kernel fds
 * @timeout_ms: -1 forever
 * @sigmask:    signal mask during the sleep (ppoll), or NULL
 *
 * Drops the lock while asleep. Returns at once (0) if the context has
 * events pending. Callers loop: dispatch, check, sleep.
 *
 * Return: ppoll's result (revents of @pfds are valid), -1 with errno.
 */
int sock_sleep(struct pollfd *pfds, nfds_t n, int timeout_ms,
	       const sigset_t *sigmask)
{
	struct sock_waiter *w = waiter_get();
	struct timespec ts, *tp = NULL;
	bool leader = false;
	nfds_t cnt = n;
	int ret, err;
	uint64_t v;

	if (w == NULL)
		return -1;
	if (sock_proc.up == 1 && !sock_proc.child && !sock_proc.leader) {
		if (flextcp_context_canwait(&sock_proc.ctx) != 0)
			return 0;
		leader = true;
		sock_proc.leader = true;
		pfds[cnt].fd = flextcp_context_waitfd(&sock_proc.ctx);
		pfds[cnt].events = POLLIN;
		pfds[cnt].revents = 0;
		cnt++;
	}
	pfds[cnt].fd = w->fd;
	pfds[cnt].events = POLLIN;
	pfds[cnt].revents = 0;
	cnt++;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tp = &ts;
	}
	waiter_link(w);
	sock_unlock();
	ret = sock_libc.ppoll(pfds, cnt, tp, sigmask);
	err = errno;
	sock_lock();
	waiter_unlink(w);
	if (sock_libc.read(w->fd, &v, sizeof(v)) < 0) {
		/* nothing to consume */
	}
	if (leader) {
		flextcp_context_waitclear(&sock_proc.ctx);
		sock_proc.leader = false;
		sock_wake_all(); /* someone else takes over the context */
	}
	errno = err;
	return ret;
}

/**
 * sock_block - wait until @ts shows any of @mask (or ERR/HUP) (lock held)
 * @ts:         socket, referenced by the caller
 * @mask:       EPOLL* bits
 * @timeout_ms: 0 or less: no limit
 *
 * Return: 0 ready, -EAGAIN timed out, -EINTR interrupted by a signal.
 */
int sock_block(struct tsock *ts, uint32_t mask, int timeout_ms)
{
	struct pollfd p[2];
	struct timespec dl;
	int left = -1;

	if (timeout_ms > 0)
		sock_deadline_set(&dl, timeout_ms);
	for (;;) {
		sock_dispatch();
		if (sock_revents(ts) & (mask | EPOLLERR | EPOLLHUP))
			return 0;
		if (timeout_ms > 0) {
			left = sock_deadline_left(&dl);
			if (left == 0)
				return -EAGAIN;
		}
		if (sock_sleep(p, 0, left, NULL) < 0 && errno == EINTR)
			return -EINTR;
	}
}
