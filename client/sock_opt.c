/*
 * sock_opt.c - libtas_sockets calls that describe or duplicate a socket:
 * fcntl, ioctl, setsockopt/getsockopt, getsockname/getpeername, dup,
 * dup2, dup3
 *
 * A TAS socket's kernel stand-in validates and keeps every option, so
 * unknown options behave as on Linux; only the options TAS itself needs
 * (reuse, timeouts, SO_ERROR, SO_ACCEPTCONN, O_NONBLOCK, FIONREAD) are
 * tracked here.
 *
 * Known gaps: SO_LINGER, TCP_INFO and buffer sizes come from the
 * unconnected stand-in, not from the service.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client/sock.h"

/* dup helpers: @nfd, a fresh kernel number, now also names @o. */
static int dup_install(struct sock_obj *o, int nfd)
{
	if (nfd < 0)
		return nfd;
	if (nfd >= SOCK_FD_MAX) {
		sock_libc.close(nfd);
		return sock_fail(EMFILE);
	}
	o->refs++;
	sock_table_set(nfd, o);
	return nfd;
}

/**
 * tas_fcntl - fcntl(2); O_NONBLOCK and F_DUPFD* are tracked for TAS fds
 * @sockfd: fd
 * @cmd:    command
 *
 * Return: as fcntl(2).
 */
SOCK_API int tas_fcntl(int sockfd, int cmd, ...)
{
	struct sock_obj *o;
	struct tsock *ts;
	va_list ap;
	long arg;
	int ret;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	sock_libc_init();
	if (sock_peek(sockfd) == NULL)
		return sock_libc.fcntl(sockfd, cmd, arg);
	sock_lock();
	o = sock_get(sockfd);
	if (o == NULL) {
		sock_unlock();
		return sock_libc.fcntl(sockfd, cmd, arg);
	}
	ret = sock_libc.fcntl(sockfd, cmd, arg);
	ts = sock_tcp(o);
	if (ret >= 0 && cmd == F_SETFL && ts)
		ts->nonblock = (arg & O_NONBLOCK) != 0;
	else if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		ret = dup_install(o, ret);
	sock_put(o);
	sock_unlock();
	return ret;
}

/**
 * tas_ioctl - ioctl(2); FIONBIO and FIONREAD are answered for TAS sockets
 * @sockfd:  fd
 * @request: request
 * @arg:     its argument
 *
 * Return: as ioctl(2).
 */
SOCK_API int tas_ioctl(int sockfd, unsigned long request, void *arg)
{
	struct tsock *ts;
	int ret = 0;

	sock_libc_init();
	if (sock_tcp(sock_peek(sockfd)) == NULL)
		return sock_libc.ioctl(sockfd, request, arg);
	sock_lock();
	ts = sock_tcp(sock_get(sockfd));
	if (ts == NULL) {
		sock_unlock();
		return sock_libc.ioctl(sockfd, request, arg);
	}
	if (request == FIONREAD) {
		sock_dispatch();
		if (arg == NULL)
			ret = sock_fail(EFAULT);
		else if (ts->state == TS_LISTEN)
			ret = sock_fail(EINVAL);
		else
			*(int *)arg = ts->rx_avail > 0x7fffffff
					      ? 0x7fffffff
					      : (int)ts->rx_avail;
	} else {
		ret = sock_libc.ioctl(sockfd, request, arg);
		if (ret == 0 && request == FIONBIO && arg)
			ts->nonblock = *(int *)arg != 0;
	}
	sock_put(&ts->obj);
	sock_unlock();
	return ret;
}

static int ms_of(const void *optval, socklen_t optlen)
{
	const struct timeval *tv = optval;
	long long ms;

	if (optlen < sizeof(*tv))
		return 0;
	ms = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/**
 * tas_setsockopt - setsockopt(2): validated and kept by the socket's
 *                  kernel stand-in; TAS uses reuse and timeout options
 * @sockfd:  socket
 * @level:   SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP ...
 * @optname: option
 * @optval:  value
 * @optlen:  its length
 *
 * TCP_NODELAY and the other common options are accepted (the service
 * decides segmentation itself).
 *
 * Return: 0 or -1 with errno.
 */
SOCK_API int tas_setsockopt(int sockfd, int level, int optname,
			    const void *optval, socklen_t optlen)
{
	struct tsock *ts;
	int ret, on;

	sock_libc_init();
	ret = sock_libc.setsockopt(sockfd, level, optname, optval, optlen);
	if (ret < 0 || sock_tcp(sock_peek(sockfd)) == NULL ||
	    level != SOL_SOCKET)
		return ret;
	sock_lock();
	ts = sock_tcp(sock_get(sockfd));
	if (ts) {
		on = optlen >= sizeof(int) && *(const int *)optval != 0;
		if (optname == SO_REUSEADDR)
			ts->reuseaddr = on;
		else if (optname == SO_REUSEPORT)
			ts->reuseport = on;
		else if (optname == SO_RCVTIMEO)
			ts->rcvtimeo_ms = ms_of(optval, optlen);
		else if (optname == SO_SNDTIMEO)
			ts->sndtimeo_ms = ms_of(optval, optlen);
		sock_put(&ts->obj);
	}
	sock_unlock();
	return ret;
}

static int opt_int(void *optval, socklen_t *optlen, int v)
{
	if (optval == NULL || optlen == NULL || *optlen < sizeof(int))
		return sock_fail(EINVAL);
	*(int *)optval = v;
	*optlen = sizeof(int);
	return 0;
}

/**
 * tas_getsockopt - getsockopt(2): SO_ERROR and SO_ACCEPTCONN from TAS
 *                  state, the rest from the kernel stand-in
 * @sockfd:  socket
 * @level:   level
 * @optname: option
 * @optval:  value out
 * @optlen:  in/out length
 *
 * Return: 0 or -1 with errno.
 */
SOCK_API int tas_getsockopt(int sockfd, int level, int optname, void *optval,
			    socklen_t *optlen)
{
	struct tsock *ts;
	int ret;

	sock_libc_init();
	if (sock_tcp(sock_peek(sockfd)) == NULL || level != SOL_SOCKET ||
	    (optname != SO_ERROR && optname != SO_ACCEPTCONN))
		return sock_libc.getsockopt(sockfd, level, optname, optval,
					    optlen);
	sock_lock();
	ts = sock_tcp(sock_get(sockfd));
	if (ts == NULL) {
		sock_unlock();
		return sock_libc.getsockopt(sockfd, level, optname, optval,
					    optlen);
	}
	if (optname == SO_ERROR) {
		sock_dispatch();
		ret = opt_int(optval, optlen, ts->so_error);
		if (ret == 0)
			ts->so_error = 0;
	} else {
		ret = opt_int(optval, optlen, ts->state == TS_LISTEN);
	}
	sock_put(&ts->obj);
	sock_unlock();
	return ret;
}

/**
 * tas_getsockname - the socket's local address
 * @sockfd:  socket
 * @addr:    out
 * @addrlen: in/out length
 *
 * Return: 0 or -1 with errno.
 */
SOCK_API int tas_getsockname(int sockfd, struct sockaddr *addr,
			     socklen_t *addrlen)
{
	struct tsock *ts;

	sock_libc_init();
	if (sock_tcp(sock_peek(sockfd)) == NULL)
		return sock_libc.getsockname(sockfd, addr, addrlen);
	sock_lock();
	ts = sock_tcp(sock_get(sockfd));
	if (ts == NULL) {
		sock_unlock();
		return sock_libc.getsockname(sockfd, addr, addrlen);
	}
	if (addr == NULL || addrlen == NULL) {
		sock_put(&ts->obj);
		sock_unlock();
		return sock_fail(EFAULT);
	}
	sock_addr_out(&ts->local, addr, addrlen);
	sock_put(&ts->obj);
	sock_unlock();
	return 0;
}

/**
 * tas_getpeername - the connected peer's address
 * @sockfd:  socket
 * @addr:    out
 * @addrlen: in/out length
 *
 * Return: 0 or -1 with errno (ENOTCONN).
 */
SOCK_API int tas_getpeername(int sockfd, struct sockaddr *addr,
			     socklen_t *addrlen)
{
	struct tsock *ts;
	int ret = 0;

	sock_libc_init();
	if (sock_tcp(sock_peek(sockfd)) == NULL)
		return sock_libc.getpeername(sockfd, addr, addrlen);
	sock_lock();
	ts = sock_tcp(sock_get(sockfd));
	if (ts == NULL) {
		sock_unlock();
		return sock_libc.getpeername(sockfd, addr, addrlen);
	}
	if (ts->state != TS_CONNECTED || ts->reset)
		ret = sock_fail(ENOTCONN);
	else if (addr == NULL || addrlen == NULL)
		ret = sock_fail(EFAULT);
	else
		sock_addr_out(&ts->remote, addr, addrlen);
	sock_put(&ts->obj);
	sock_unlock();
	return ret;
}

/**
 * tas_move_conn - move a connection to the calling thread's context
 * @sockfd: socket
 *
 * One context serves the whole process, so there is nothing to move.
 *
 * Return: 0, or -1 (EBADF) for an fd that is not a TAS socket.
 */
SOCK_API int tas_move_conn(int sockfd)
{
	return sock_tcp(sock_peek(sockfd)) ? 0 : sock_fail(EBADF);
}

/**
 * tas_dup - dup(2) that keeps TAS sockets and epoll instances shared
 * @oldfd: fd
 *
 * Return: the new fd or -1 with errno.
 */
SOCK_API int tas_dup(int oldfd)
{
	struct sock_obj *o;
	int ret;

	sock_libc_init();
	if (sock_peek(oldfd) == NULL)
		return sock_libc.dup(oldfd);
	sock_lock();
	ret = sock_libc.dup(oldfd);
	o = sock_peek(oldfd);
	if (o && ret >= 0)
		ret = dup_install(o, ret);
	sock_unlock();
	return ret;
}

static int dup_common(int oldfd, int newfd, int flags, bool three)
{
	struct sock_obj *oo, *no;
	int ret;

	sock_libc_init();
	if (sock_peek(oldfd) == NULL && sock_peek(newfd) == NULL)
		return three ? sock_libc.dup3(oldfd, newfd, flags)
			     : sock_libc.dup2(oldfd, newfd);
	if (oldfd == newfd)
		return three ? sock_fail(EINVAL) : sock_libc.dup2(oldfd, newfd);
	sock_lock();
	ret = three ? sock_libc.dup3(oldfd, newfd, flags)
		    : sock_libc.dup2(oldfd, newfd);
	if (ret >= 0) {
		oo = sock_peek(oldfd);
		no = sock_peek(newfd);
		if (no) {
			sock_table_set(newfd, NULL);
			sock_put(no);
		}
		if (oo)
			dup_install(oo, newfd);
	}
	sock_unlock();
	return ret;
}

/**
 * tas_dup2 - dup2(2) that keeps TAS sockets shared
 * @oldfd: fd
 * @newfd: number to reuse (its old object is released)
 *
 * Return: @newfd or -1 with errno.
 */
SOCK_API int tas_dup2(int oldfd, int newfd)
{
	return dup_common(oldfd, newfd, 0, false);
}

/**
 * tas_dup3 - dup3(2) that keeps TAS sockets shared
 * @oldfd: fd
 * @newfd: number to reuse
 * @flags: O_CLOEXEC
 *
 * Return: @newfd or -1 with errno.
 */
SOCK_API int tas_dup3(int oldfd, int newfd, int flags)
{
	return dup_common(oldfd, newfd, flags, true);
}
