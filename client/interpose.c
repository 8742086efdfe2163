/*
 * interpose.c - libtas_interpose.so: LD_PRELOAD shim that runs unmodified
 * programs' IPv4 TCP over TAS
 *
 * Each POSIX name forwards to its tas_* twin (client/sock_*.c), which sends
 * TAS sockets to TAS and everything else (files, pipes, Unix, UDP, IPv6,
 * loopback TCP) to libc through dlsym(RTLD_NEXT). Only these names are
 * exported (client/interpose.map); the library and libtas inside are
 * hidden. The _FORTIFY_SOURCE entry points (__read_chk, __recv_chk,
 * __recvfrom_chk, __poll_chk, __ppoll_chk) and the 64-bit file-offset
 * aliases (fcntl64, sendfile64) are covered too, since Debian builds its
 * packages with both.
 *
 * Registration with the daemon is lazy (first listen or connect through
 * TAS); without a daemon that call fails with ENETDOWN after one line on
 * stderr, or, with TAS_FALLBACK=1, TCP uses the kernel.
 *
 * Known gaps: calls libc makes internally (stdio on a socket, sendmmsg)
 * bypass the shim; see docs/SOCKETS.md.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/sock.h"

#define EXPORT __attribute__((visibility("default")))

/* Declarations of the names glibc's headers hide or redirect. */
EXPORT int fcntl64(int fd, int cmd, ...);
EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count);
EXPORT ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen,
			  int flags);
EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen,
			      int flags, struct sockaddr *addr,
			      socklen_t *addrlen);
EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout,
		      size_t fdslen);
EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds,
		       const struct timespec *timeout, const sigset_t *ss,
		       size_t fdslen);

EXPORT int socket(int domain, int type, int protocol)
{
	return tas_socket(domain, type, protocol);
}

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	return tas_bind(fd, addr, len);
}

EXPORT int listen(int fd, int backlog)
{
	return tas_listen(fd, backlog);
}

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return tas_accept4(fd, addr, len, 0);
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return tas_accept4(fd, addr, len, flags);
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return tas_connect(fd, addr, len);
}

EXPORT int close(int fd)
{
	return tas_close(fd);
}

EXPORT int shutdown(int fd, int how)
{
	return tas_shutdown(fd, how);
}

EXPORT ssize_t read(int fd, void *buf, size_t count)
{
	return tas_read(fd, buf, count);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen)
{
	if (nbytes > buflen)
		abort(); /* what glibc's __chk_fail does, minus the message */
	return tas_read(fd, buf, nbytes);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	return tas_readv(fd, iov, iovcnt);
}

EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	return tas_write(fd, buf, count);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	return tas_writev(fd, iov, iovcnt);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	return tas_sendto(fd, buf, len, flags, NULL, 0);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
		      const struct sockaddr *addr, socklen_t alen)
{
	return tas_sendto(fd, buf, len, flags, addr, alen);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return tas_sendmsg(fd, msg, flags);
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return tas_recvfrom(fd, buf, len, flags, NULL, NULL);
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen,
			  int flags)
{
	if (len > buflen)
		abort();
	return tas_recvfrom(fd, buf, len, flags, NULL, NULL);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
			struct sockaddr *addr, socklen_t *alen)
{
	return tas_recvfrom(fd, buf, len, flags, addr, alen);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen,
			      int flags, struct sockaddr *addr,
			      socklen_t *addrlen)
{
	if (len > buflen)
		abort();
	return tas_recvfrom(fd, buf, len, flags, addr, addrlen);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	return tas_recvmsg(fd, msg, flags);
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	return tas_getsockopt(fd, level, name, val, len);
}

EXPORT int setsockopt(int fd, int level, int name, const void *val,
		      socklen_t len)
{
	return tas_setsockopt(fd, level, name, val, len);
}

EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	return tas_getsockname(fd, addr, len);
}

EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	return tas_getpeername(fd, addr, len);
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return tas_fcntl(fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return tas_fcntl(fd, cmd, arg);
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	return tas_ioctl(fd, request, arg);
}

EXPORT int epoll_create(int size)
{
	return tas_epoll_create(size);
}

EXPORT int epoll_create1(int flags)
{
	return tas_epoll_create1(flags);
}

EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	return tas_epoll_ctl(epfd, op, fd, ev);
}

EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	return tas_epoll_pwait(epfd, evs, max, timeout, NULL);
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout,
		       const sigset_t *sigmask)
{
	return tas_epoll_pwait(epfd, evs, max, timeout, sigmask);
}

EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	return tas_poll(fds, nfds, timeout);
}

EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout,
		      size_t fdslen)
{
	if (fdslen / sizeof(*fds) < nfds)
		abort();
	return tas_poll(fds, nfds, timeout);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t nfds,
		 const struct timespec *timeout, const sigset_t *ss)
{
	return tas_ppoll(fds, nfds, timeout, ss);
}

EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds,
		       const struct timespec *timeout, const sigset_t *ss,
		       size_t fdslen)
{
	if (fdslen / sizeof(*fds) < nfds)
		abort();
	return tas_ppoll(fds, nfds, timeout, ss);
}

EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e,
		  struct timeval *timeout)
{
	return tas_select(nfds, r, w, e, timeout);
}

EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
		   const struct timespec *timeout, const sigset_t *ss)
{
	return tas_pselect(nfds, r, w, e, timeout, ss);
}

EXPORT int dup(int fd)
{
	return tas_dup(fd);
}

EXPORT int dup2(int oldfd, int newfd)
{
	return tas_dup2(oldfd, newfd);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return tas_dup3(oldfd, newfd, flags);
}

EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	return tas_sendfile(out_fd, in_fd, offset, count);
}

EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count)
{
	return tas_sendfile(out_fd, in_fd, offset, count);
}

/*
 * fork: the work is in sock_core.c's pthread_atfork handlers, which run
 * for every fork (also libc's own); this name is here so the shim covers
 * the call explicitly.
 */
EXPORT pid_t fork(void)
{
	sock_libc_init();
	return sock_libc.fork();
}
