/*
 * sock_poll.c - libtas_sockets readiness: epoll, poll and select over any
 * mix of TAS sockets and kernel fds, sleeping in the kernel (never
 * spinning) through sock_sleep()
 *
 * An epoll instance is a real kernel epoll fd that holds the kernel fds;
 * TAS sockets registered in it are items on a list, evaluated on every
 * wait. Level-triggered items report while ready; edge-triggered ones
 * report when a new input or output event arrived since the last report
 * (generation counters), like Linux, which also reports an ET item once
 * right after EPOLL_CTL_ADD/MOD if it is ready; EPOLLONESHOT disables an
 * item after one report until EPOLL_CTL_MOD.
 *
 * Known gaps: an epoll instance that holds no TAS socket when epoll_wait
 * starts waits in the kernel only, so a TAS socket added by another thread
 * during that wait is seen at the next call; an epoll fd inside another
 * epoll sees only its kernel fds; EPOLLEXCLUSIVE is ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/sock.h"

#define SOCK_POLL_STACK 64

/**
 * tas_epoll_create1 - epoll_create1(2); the instance may hold TAS sockets
 * @flags: EPOLL_CLOEXEC
 *
 * Return: the epoll fd or -1 with errno.
 */
SOCK_API int tas_epoll_create1(int flags)
{
	struct sock_epoll *ep;
	int fd;

	sock_libc_init();
	fd = sock_libc.epoll_create1(flags);
	if (fd < 0 || fd >= SOCK_FD_MAX || sock_proc.tab == NULL)
		return fd;
	ep = calloc(1, sizeof(*ep));
	if (ep == NULL) {
		sock_libc.close(fd);
		return sock_fail(ENOMEM);
	}
	ep->obj.kind = SOCK_OBJ_EPOLL;
	ep->obj.refs = 1;
	ep->head.next = ep->head.prev = &ep->head;
	sock_lock();
	sock_table_set(fd, &ep->obj);
	sock_unlock();
	return fd;
}

/**
 * tas_epoll_create - epoll_create(2)
 * @size: must be positive (ignored otherwise, as in Linux)
 *
 * Return: the epoll fd or -1 with errno.
 */
SOCK_API int tas_epoll_create(int size)
{
	if (size <= 0)
		return sock_fail(EINVAL);
	return tas_epoll_create1(0);
}

static void item_unlink(struct sock_epitem *it)
{
	struct sock_epitem **pp;

	it->prev->next = it->next;
	it->next->prev = it->prev;
	it->ep->nitems--;
	for (pp = &it->ts->watchers; *pp; pp = &(*pp)->ts_next) {
		if (*pp == it) {
			*pp = it->ts_next;
			break;
		}
	}
	free(it);
}

/**
 * sock_epitems_drop - remove a dying TAS socket from every epoll (lock
 *                     held)
 * @ts: socket whose last fd is gone
 */
void sock_epitems_drop(struct tsock *ts)
{
	while (ts->watchers)
		item_unlink(ts->watchers);
}

/**
 * sock_epoll_release - free an epoll instance whose last fd is gone
 * @ep: instance (lock held)
 */
void sock_epoll_release(struct sock_epoll *ep)
{
	while (ep->head.next != &ep->head)
		item_unlink(ep->head.next);
	free(ep);
}

static struct sock_epitem *item_find(struct sock_epoll *ep, int fd)
{
	for (struct sock_epitem *it = ep->head.next; it != &ep->head;
	     it = it->next)
		if (it->fd == fd)
			return it;
	return NULL;
}

static void item_arm(struct sock_epitem *it, const struct epoll_event *ev)
{
	it->events = ev->events;
	it->data = ev->data;
	it->disabled = false;
	/* an edge-triggered item reports current readiness once */
	it->seen_in = it->ts->gen_in - 1;
	it->seen_out = it->ts->gen_out - 1;
}

static int ctl_tas(struct sock_epoll *ep, int op, int fd, struct tsock *ts,
		   struct epoll_event *ev)
{
	struct sock_epitem *it = item_find(ep, fd);

	if (op != EPOLL_CTL_DEL && ev == NULL)
		return sock_fail(EFAULT);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (it)
			return sock_fail(EEXIST);
		it = calloc(1, sizeof(*it));
		if (it == NULL)
			return sock_fail(ENOMEM);
		it->ep = ep;
		it->ts = ts;
		it->fd = fd;
		item_arm(it, ev);
		it->prev = ep->head.prev;
		it->next = &ep->head;
		ep->head.prev->next = it;
		ep->head.prev = it;
		ep->nitems++;
		it->ts_next = ts->watchers;
		ts->watchers = it;
		break;
	case EPOLL_CTL_MOD:
		if (it == NULL)
			return sock_fail(ENOENT);
		item_arm(it, ev);
		break;
	case EPOLL_CTL_DEL:
		if (it == NULL)
			return sock_fail(ENOENT);
		item_unlink(it);
		break;
	default:
		return sock_fail(EINVAL);
	}
	sock_wake_all(); /* a waiter on @ep re-evaluates */
	return 0;
}

/**
 * tas_epoll_ctl - epoll_ctl(2) for TAS sockets and kernel fds alike
 * @epfd:  epoll instance
 * @op:    EPOLL_CTL_ADD, _MOD, _DEL
 * @fd:    fd to watch
 * @event: events and data
 *
 * Return: 0 or -1 with errno.
 */
SOCK_API int tas_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	struct sock_obj *eo, *o;
	struct sock_epoll *ep;
	int ret;

	sock_libc_init();
	if (sock_tcp(sock_peek(fd)) == NULL)
		return sock_libc.epoll_ctl(epfd, op, fd, event);
	sock_lock();
	o = sock_get(fd);
	eo = sock_get(epfd);
	ep = sock_ep(eo);
	if (sock_tcp(o) == NULL) {
		ret = sock_libc.epoll_ctl(epfd, op, fd, event);
	} else if (ep == NULL) {
		/* an epoll fd we did not create (or not an epoll fd at all:
		 * epoll_wait will say so): adopt it */
		if (epfd < 0 || epfd >= SOCK_FD_MAX || eo != NULL) {
			ret = sock_fail(EINVAL);
		} else if ((ep = calloc(1, sizeof(*ep))) == NULL) {
			ret = sock_fail(ENOMEM);
		} else {
			ep->obj.kind = SOCK_OBJ_EPOLL;
			ep->obj.refs = 2; /* table + this call */
			ep->head.next = ep->head.prev = &ep->head;
			sock_table_set(epfd, &ep->obj);
			eo = &ep->obj;
			ret = ctl_tas(ep, op, fd, sock_tcp(o), event);
		}
	} else if (epfd == fd) {
		ret = sock_fail(EINVAL);
	} else {
		ret = ctl_tas(ep, op, fd, sock_tcp(o), event);
	}
	sock_put(eo);
	sock_put(o);
	sock_unlock();
	return ret;
}

/* Collect ready TAS items into @evs (at most @max); rotates the list. */
static int ep_collect(struct sock_epoll *ep, struct epoll_event *evs, int max)
{
	struct sock_epitem *it, *next, *last = NULL;
	int n = 0;

	for (it = ep->head.next; it != &ep->head && n < max; it = next) {
		uint32_t want, r, in, out;

		next = it->next;
		if (it->disabled)
			continue;
		want = it->events | EPOLLERR | EPOLLHUP;
		r = sock_revents(it->ts) & want;
		if (it->events & EPOLLET) {
			in = EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP;
			out = EPOLLOUT;
			if (it->ts->gen_in == it->seen_in)
				r &= ~in;
			if (it->ts->gen_out == it->seen_out)
				r &= ~out;
			if (r) {
				it->seen_in = it->ts->gen_in;
				it->seen_out = it->ts->gen_out;
			}
		}
		if (r == 0)
			continue;
		evs[n].events = r;
		evs[n].data = it->data;
		n++;
		last = it;
		if (it->events & EPOLLONESHOT)
			it->disabled = true;
	}
	if (last && last->next != &ep->head) {
		/* fairness: the next call starts after the last reported */
		ep->head.prev->next = ep->head.next;
		ep->head.next->prev = ep->head.prev;
		ep->head.next = last->next;
		last->next->prev = &ep->head;
		ep->head.prev = last;
		last->next = &ep->head;
	}
	return n;
}

/**
 * tas_epoll_pwait - epoll_pwait(2) over TAS sockets and kernel fds
 * @epfd:      epoll instance
 * @events:    out
 * @maxevents: room in @events
 * @timeout:   milliseconds, -1 forever
 * @sigmask:   signal mask while waiting, or NULL
 *
 * Return: number of events, 0 on timeout, -1 with errno.
 */
SOCK_API int tas_epoll_pwait(int epfd, struct epoll_event *events,
			     int maxevents, int timeout,
			     const sigset_t *sigmask)
{
	struct sock_epoll *ep;
	struct pollfd p[3];
	struct timespec dl;
	int n, k, left = timeout;
	bool kfirst = false;

	sock_libc_init();
	if (sock_peek(epfd) == NULL)
		return sock_libc.epoll_pwait(epfd, events, maxevents, timeout,
					     sigmask);
	if (maxevents <= 0 || events == NULL)
		return sock_fail(EINVAL);
	sock_lock();
	ep = sock_ep(sock_get(epfd));
	if (ep == NULL || ep->nitems == 0 || sock_proc.child) {
		if (ep)
			sock_put(&ep->obj);
		sock_unlock();
		return sock_libc.epoll_pwait(epfd, events, maxevents, timeout,
					     sigmask);
	}
	if (timeout > 0)
		sock_deadline_set(&dl, timeout);
	for (;;) {
		sock_dispatch();
		n = 0;
		kfirst = !kfirst;
		if (kfirst) {
			k = sock_libc.epoll_pwait(epfd, events, maxevents, 0,
						  NULL);
			n = k > 0 ? k : 0;
		}
		n += ep_collect(ep, events + n, maxevents - n);
		if (!kfirst && n < maxevents) {
			k = sock_libc.epoll_pwait(epfd, events + n,
						  maxevents - n, 0, NULL);
			n += k > 0 ? k : 0;
		}
		if (n > 0 || timeout == 0)
			break;
		if (timeout > 0) {
			left = sock_deadline_left(&dl);
			if (left == 0)
				break;
		}
		p[0].fd = epfd;
		p[0].events = POLLIN;
		if (sock_sleep(p, 1, left, sigmask) < 0 && errno == EINTR) {
			n = -1;
			break;
		}
	}
	sock_put(&ep->obj);
	sock_unlock();
	if (n < 0)
		errno = EINTR;
	return n;
}

/**
 * tas_epoll_wait - epoll_wait(2) over TAS sockets and kernel fds
 * @epfd:      epoll instance
 * @events:    out
 * @maxevents: room in @events
 * @timeout:   milliseconds, -1 forever
 *
 * Return: number of events, 0 on timeout, -1 with errno.
 */
SOCK_API int tas_epoll_wait(int epfd, struct epoll_event *events, int maxevents,
			    int timeout)
{
	return tas_epoll_pwait(epfd, events, maxevents, timeout, NULL);
}

static int ms_of_ts(const struct timespec *t)
{
	long long ms;

	if (t == NULL)
		return -1;
	ms = (long long)t->tv_sec * 1000 + (t->tv_nsec + 999999) / 1000000;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/* Fill revents of TAS entries; kernel entries are copied to @k. */
static int poll_scan(struct pollfd *fds, nfds_t nfds, struct pollfd *k,
		     nfds_t *nk, nfds_t *kidx)
{
	int n = 0;

	*nk = 0;
	for (nfds_t i = 0; i < nfds; i++) {
		struct tsock *ts = sock_tcp(sock_peek(fds[i].fd));

		fds[i].revents = 0;
		if (ts == NULL || sock_proc.child) {
			k[*nk] = fds[i];
			kidx[(*nk)++] = i;
			continue;
		}
		fds[i].revents = (short)(sock_revents(ts) &
					 ((uint32_t)(uint16_t)fds[i].events |
					  POLLERR | POLLHUP));
		if (fds[i].revents)
			n++;
	}
	return n;
}

static int do_ppoll(struct pollfd *fds, nfds_t nfds, int timeout,
		    const sigset_t *sigmask, struct pollfd *k, nfds_t *kidx)
{
	struct timespec dl, zero = { 0, 0 };
	int n, r, left = timeout;
	nfds_t nk;

	if (timeout > 0)
		sock_deadline_set(&dl, timeout);
	for (;;) {
		sock_dispatch();
		n = poll_scan(fds, nfds, k, &nk, kidx);
		if (nk > 0) {
			r = sock_libc.ppoll(k, nk, &zero, NULL);
			if (r < 0)
				return -1;
			for (nfds_t i = 0; i < nk; i++) {
				fds[kidx[i]].revents = k[i].revents;
				if (k[i].revents)
					n++;
			}
		}
		if (n > 0 || timeout == 0)
			return n;
		if (timeout > 0) {
			left = sock_deadline_left(&dl);
			if (left == 0)
				return 0;
		}
		if (sock_sleep(k, nk, left, sigmask) < 0 && errno == EINTR)
			return -1;
	}
}

/**
 * tas_ppoll - ppoll(2) over TAS sockets and kernel fds
 * @fds:     entries
 * @nfds:    their number
 * @tmo_p:   timeout, NULL forever
 * @sigmask: signal mask while waiting, or NULL
 *
 * Return: entries with events, 0 on timeout, -1 with errno.
 */
SOCK_API int tas_ppoll(struct pollfd *fds, nfds_t nfds,
		       const struct timespec *tmo_p, const sigset_t *sigmask)
{
	struct pollfd kst[SOCK_POLL_STACK + 2], *k = kst;
	nfds_t ist[SOCK_POLL_STACK], *kidx = ist, i;
	int ret;

	sock_libc_init();
	for (i = 0; i < nfds; i++)
		if (sock_tcp(sock_peek(fds[i].fd)))
			break;
	if (i == nfds)
		return sock_libc.ppoll(fds, nfds, tmo_p, sigmask);
	if (nfds > SOCK_POLL_STACK) {
		k = calloc(nfds + 2, sizeof(*k));
		kidx = calloc(nfds, sizeof(*kidx));
		if (k == NULL || kidx == NULL) {
			free(k);
			free(kidx);
			return sock_fail(ENOMEM);
		}
	}
	sock_lock();
	ret = do_ppoll(fds, nfds, ms_of_ts(tmo_p), sigmask, k, kidx);
	sock_unlock();
	if (k != kst) {
		free(k);
		free(kidx);
	}
	return ret;
}

/**
 * tas_poll - poll(2) over TAS sockets and kernel fds
 * @fds:     entries
 * @nfds:    their number
 * @timeout: milliseconds, -1 forever
 *
 * Return: entries with events, 0 on timeout, -1 with errno.
 */
SOCK_API int tas_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct timespec t;

	if (timeout < 0)
		return tas_ppoll(fds, nfds, NULL, NULL);
	t.tv_sec = timeout / 1000;
	t.tv_nsec = (long)(timeout % 1000) * 1000000L;
	return tas_ppoll(fds, nfds, &t, NULL);
}

/**
 * tas_pselect - pselect(2) over TAS sockets and kernel fds (via ppoll)
 * @nfds:      highest fd + 1 (at most FD_SETSIZE)
 * @readfds:   in/out
 * @writefds:  in/out
 * @exceptfds: in/out (nothing exceptional is ever reported for TAS)
 * @timeout:   NULL forever
 * @sigmask:   signal mask while waiting, or NULL
 *
 * Return: number of bits set, 0 on timeout, -1 with errno.
 */
SOCK_API int tas_pselect(int nfds, fd_set *readfds, fd_set *writefds,
			 fd_set *exceptfds, const struct timespec *timeout,
			 const sigset_t *sigmask)
{
	struct pollfd *p;
	int n = 0, cnt = 0, ret;

	if (nfds < 0 || nfds > FD_SETSIZE)
		return sock_fail(EINVAL);
	p = calloc((size_t)nfds + 1, sizeof(*p));
	if (p == NULL)
		return sock_fail(ENOMEM);
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;

		if (readfds && FD_ISSET(fd, readfds))
			ev |= POLLIN;
		if (writefds && FD_ISSET(fd, writefds))
			ev |= POLLOUT;
		if (exceptfds && FD_ISSET(fd, exceptfds))
			ev |= POLLPRI;
		if (ev == 0)
			continue;
		p[n].fd = fd;
		p[n].events = ev;
		n++;
	}
	ret = tas_ppoll(p, (nfds_t)n, timeout, sigmask);
	if (ret < 0) {
		free(p);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		short r = p[i].revents;

		if (r & POLLNVAL) {
			free(p);
			return sock_fail(EBADF);
		}
	}
	if (readfds)
		FD_ZERO(readfds);
	if (writefds)
		FD_ZERO(writefds);
	if (exceptfds)
		FD_ZERO(exceptfds);
	for (int i = 0; i < n; i++) {
		short r = p[i].revents, e = p[i].events;

		if ((e & POLLIN) && (r & (POLLIN | POLLHUP | POLLERR))) {
			FD_SET(p[i].fd, readfds);
			cnt++;
		}
		if ((e & POLLOUT) && (r & (POLLOUT | POLLERR))) {
			FD_SET(p[i].fd, writefds);
			cnt++;
		}
		if ((e & POLLPRI) && (r & POLLPRI)) {
			FD_SET(p[i].fd, exceptfds);
			cnt++;
		}
	}
	free(p);
	return cnt;
}

/**
 * tas_select - select(2) over TAS sockets and kernel fds
 * @nfds:      highest fd + 1
 * @readfds:   in/out
 * @writefds:  in/out
 * @exceptfds: in/out
 * @timeout:   in/out remaining time (Linux updates it), NULL forever
 *
 * Return: number of bits set, 0 on timeout, -1 with errno.
 */
SOCK_API int tas_select(int nfds, fd_set *readfds, fd_set *writefds,
			fd_set *exceptfds, struct timeval *timeout)
{
	struct timespec t, dl;
	int ret;

	if (timeout == NULL)
		return tas_pselect(nfds, readfds, writefds, exceptfds, NULL,
				   NULL);
	if (timeout->tv_sec < 0 || timeout->tv_usec < 0)
		return sock_fail(EINVAL);
	t.tv_sec = timeout->tv_sec;
	t.tv_nsec = timeout->tv_usec * 1000L;
	sock_deadline_set(&dl, ms_of_ts(&t));
	ret = tas_pselect(nfds, readfds, writefds, exceptfds, &t, NULL);
	if (ret >= 0) {
		int left = sock_deadline_left(&dl);

		timeout->tv_sec = left / 1000;
		timeout->tv_usec = (left % 1000) * 1000L;
	}
	return ret;
}
