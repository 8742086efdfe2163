/*
 * tas_sockets.h - POSIX-like sockets over TAS (libtas_sockets), source
 * compatible with upstream TAS's lib/sockets/include/tas_sockets.h
 *
 * Every call takes and returns ordinary file descriptor numbers. A TAS
 * socket's number is a real kernel fd (an unconnected kernel TCP socket
 * that stands in for it), so it never collides with a kernel fd, and
 * fstat(), F_GETFD/F_SETFD and unknown socket options keep working on it.
 * Calls given a kernel fd pass it to libc unchanged, so epoll, poll and
 * select may mix TAS sockets with pipes, eventfds, Unix and UDP sockets.
 *
 * Errors follow POSIX: -1 and errno. docs/SOCKETS.md describes semantics,
 * threads, fork/exec rules and limits.
 */
#ifndef TAS_SOCKETS_H_
#define TAS_SOCKETS_H_

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

int tas_init(void);

int tas_socket(int domain, int type, int protocol);
int tas_close(int sockfd);
int tas_shutdown(int sockfd, int how);
int tas_bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
int tas_connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
int tas_listen(int sockfd, int backlog);
int tas_accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen,
		int flags);
int tas_accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
int tas_fcntl(int sockfd, int cmd, ...);
int tas_ioctl(int sockfd, unsigned long request, void *arg);
int tas_getsockopt(int sockfd, int level, int optname, void *optval,
		   socklen_t *optlen);
int tas_setsockopt(int sockfd, int level, int optname, const void *optval,
		   socklen_t optlen);
int tas_getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
int tas_getpeername(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
int tas_move_conn(int sockfd);

ssize_t tas_read(int fd, void *buf, size_t count);
ssize_t tas_recv(int sockfd, void *buf, size_t len, int flags);
ssize_t tas_recvfrom(int sockfd, void *buf, size_t len, int flags,
		     struct sockaddr *src_addr, socklen_t *addrlen);
ssize_t tas_recvmsg(int sockfd, struct msghdr *msg, int flags);
ssize_t tas_readv(int sockfd, const struct iovec *iov, int iovcnt);
ssize_t tas_pread(int sockfd, void *buf, size_t count, off_t offset);
ssize_t tas_write(int fd, const void *buf, size_t count);
ssize_t tas_send(int sockfd, const void *buf, size_t len, int flags);
ssize_t tas_sendto(int sockfd, const void *buf, size_t len, int flags,
		   const struct sockaddr *dest_addr, socklen_t addrlen);
ssize_t tas_sendmsg(int sockfd, const struct msghdr *msg, int flags);
ssize_t tas_writev(int sockfd, const struct iovec *iov, int iovcnt);
ssize_t tas_pwrite(int sockfd, const void *buf, size_t count, off_t offset);
ssize_t tas_sendfile(int sockfd, int in_fd, off_t *offset, size_t len);

int tas_epoll_create(int size);
int tas_epoll_create1(int flags);
int tas_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
int tas_epoll_wait(int epfd, struct epoll_event *events, int maxevents,
		   int timeout);
int tas_epoll_pwait(int epfd, struct epoll_event *events, int maxevents,
		    int timeout, const sigset_t *sigmask);

int tas_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
	       struct timeval *timeout);
int tas_pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
		const struct timespec *timeout, const sigset_t *sigmask);
int tas_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int tas_ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo_p,
	      const sigset_t *sigmask);

int tas_dup(int oldfd);
int tas_dup2(int oldfd, int newfd);
int tas_dup3(int oldfd, int newfd, int flags);

#ifdef __cplusplus
}
#endif

#endif /* TAS_SOCKETS_H_ */
