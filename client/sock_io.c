/*
 * sock_io.c - libtas_sockets data transfer: the read and write families
 * and sendfile, copying between the app's buffers and the connection's
 * rings in the shared segment
 *
 * Semantics of Linux tcp(7): blocking calls wait (SO_RCVTIMEO/SO_SNDTIMEO
 * give EAGAIN), nonblocking ones return partial counts or EAGAIN; a blocking
 * send returns when everything is in the send ring; EOF reads 0; after a
 * reset the first call says ECONNRESET, then reads give 0 and writes EPIPE;
 * EPIPE raises SIGPIPE unless MSG_NOSIGNAL; MSG_PEEK, MSG_DONTWAIT and
 * MSG_WAITALL are honoured.
 *
 * Known gaps: no urgent data (MSG_OOB fails with EOPNOTSUPP); sendfile
 * copies through a bounce buffer.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/sock.h"

#define SOCK_SENDFILE_CHUNK 65536

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Find byte @off of the iovec: index and offset inside it. */
static void iov_seek(const struct iovec *iov, int iovcnt, size_t off, int *vi,
		     size_t *vo)
{
	int i = 0;

	while (i < iovcnt && off >= iov[i].iov_len) {
		off -= iov[i].iov_len;
		i++;
	}
	*vi = i;
	*vo = off;
}

/*
 * Copy up to @len received bytes into @iov from byte @skip on; drop them
 * from the socket (and release them to the service) unless @peek.
 */
static size_t rx_copy(struct tsock *ts, const struct iovec *iov, int iovcnt,
		      size_t skip, size_t len, bool peek)
{
	size_t done = 0, po = 0, vo;
	unsigned pi = 0;
	int vi;

	iov_seek(iov, iovcnt, skip, &vi, &vo);
	while (done < len && pi < ts->rx_n && vi < iovcnt) {
		size_t a = ts->rx[pi].len - po, b = iov[vi].iov_len - vo;
		size_t n = a < b ? a : b;

		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)iov[vi].iov_base + vo, ts->rx[pi].buf + po,
		       n);
		done += n;
		po += n;
		vo += n;
		if (po == ts->rx[pi].len) {
			pi++;
			po = 0;
		}
		if (vo == iov[vi].iov_len) {
			vi++;
			vo = 0;
		}
	}
	if (peek || done == 0)
		return done;
	/* drop pieces [0, pi) and po bytes of piece pi */
	memmove(ts->rx, ts->rx + pi, (ts->rx_n - pi) * sizeof(ts->rx[0]));
	ts->rx_n -= pi;
	if (po) {
		ts->rx[0].buf += po;
		ts->rx[0].len -= po;
	}
	ts->rx_avail -= done;
	flextcp_connection_rx_done(&sock_proc.ctx, &ts->conn, done);
	return done;
}

static ssize_t do_recv(struct tsock *ts, const struct iovec *iov, int iovcnt,
		       int flags)
{
	bool peek = (flags & MSG_PEEK) != 0;
	bool nb = ts->nonblock || (flags & MSG_DONTWAIT);
	bool all = (flags & MSG_WAITALL) && !peek && !nb;
	size_t want = iov_total(iov, iovcnt), got = 0;
	int ret, err;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (ts->state == TS_LISTEN || ts->state == TS_ACCEPTING)
		return -ENOTCONN;
	if (want == 0)
		return 0;
	for (;;) {
		sock_dispatch();
		if (ts->state == TS_CONNECTED && ts->rx_avail > 0 &&
		    !ts->rd_shut) {
			got += rx_copy(ts, iov, iovcnt, got, want - got, peek);
			if (!all || got == want)
				return (ssize_t)got;
			continue;
		}
		if (got > 0 && (ts->reset || ts->rx_eof || ts->rd_shut))
			return (ssize_t)got;
		if (ts->so_error) {
			err = ts->so_error;
			ts->so_error = 0;
			return -err;
		}
		if (ts->reset || ts->rx_eof || ts->rd_shut)
			return 0;
		if (ts->state == TS_NEW)
			return -ENOTCONN;
		if (nb)
			return got ? (ssize_t)got : -EAGAIN;
		ret = sock_block(ts, EPOLLIN, ts->rcvtimeo_ms);
		if (ret < 0)
			return got ? (ssize_t)got : ret;
	}
}

/* Copy @len bytes from @iov (from byte @skip) into the send ring; send. */
static void tx_put(struct tsock *ts, const struct iovec *iov, int iovcnt,
		   size_t skip, size_t len)
{
	void *b1, *b2;
	size_t l1, vo, done = 0;
	ssize_t n;
	int vi;

	n = flextcp_connection_tx_alloc2(&ts->conn, len, &b1, &l1, &b2);
	if (n <= 0)
		return;
	iov_seek(iov, iovcnt, skip, &vi, &vo);
	while (done < (size_t)n && vi < iovcnt) {
		size_t c = iov[vi].iov_len - vo;
		uint8_t *dst;

		if (c > (size_t)n - done)
			c = (size_t)n - done;
		if (done < l1) {
			dst = (uint8_t *)b1 + done;
			if (c > l1 - done)
				c = l1 - done;
		} else {
			dst = (uint8_t *)b2 + (done - l1);
		}
		memcpy(dst, (const uint8_t *)iov[vi].iov_base + vo, c);
		done += c;
		vo += c;
		if (vo == iov[vi].iov_len) {
			vi++;
			vo = 0;
		}
	}
	flextcp_connection_tx_send(&sock_proc.ctx, &ts->conn, (size_t)n);
}

/*
 * What a send must fail with now (0: go on). EPIPE sets *@pipe so the
 * caller raises SIGPIPE after dropping the lock.
 */
static int tx_check(struct tsock *ts, int flags, bool *pipe)
{
	int err;

	if (ts->reset && ts->so_error) {
		err = ts->so_error;
		ts->so_error = 0;
		return -err;
	}
	if (ts->state == TS_CONNECTING)
		return 0;
	if (ts->state != TS_CONNECTED || ts->tx_shut || ts->reset ||
	    !ts->conn_live) {
		if (ts->state == TS_NEW && ts->so_error) {
			err = ts->so_error;
			ts->so_error = 0;
			return -err;
		}
		*pipe = !(flags & MSG_NOSIGNAL);
		return -EPIPE;
	}
	return 0;
}

static ssize_t do_send(struct tsock *ts, const struct iovec *iov, int iovcnt,
		       int flags, bool *pipe)
{
	bool nb = ts->nonblock || (flags & MSG_DONTWAIT);
	size_t want = iov_total(iov, iovcnt), sent = 0;
	uint32_t room;
	int ret;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	for (;;) {
		sock_dispatch();
		ret = tx_check(ts, flags, pipe);
		if (ret < 0) {
			if (sent)
				*pipe = false;
			return sent ? (ssize_t)sent : ret;
		}
		if (ts->state == TS_CONNECTED && sent == want)
			return (ssize_t)sent;
		room = sock_tx_room(ts);
		if (room > 0) {
			size_t n = want - sent < room ? want - sent : room;

			tx_put(ts, iov, iovcnt, sent, n);
			sent += n;
			continue;
		}
		if (nb)
			return sent ? (ssize_t)sent : -EAGAIN;
		ret = sock_block(ts, EPOLLOUT, ts->sndtimeo_ms);
		if (ret < 0)
			return sent ? (ssize_t)sent : ret;
	}
}

/* Look @fd up for I/O; NULL with errno when it is unusable. */
static struct tsock *io_get(int fd)
{
	struct tsock *ts;

	sock_lock();
	ts = sock_tcp(sock_get(fd));
	if (ts == NULL || sock_proc.child) {
		if (ts)
			sock_put(&ts->obj);
		sock_unlock();
		errno = EBADF;
		return NULL;
	}
	return ts;
}

static ssize_t io_done(struct tsock *ts, ssize_t ret, bool pipe)
{
	sock_put(&ts->obj);
	sock_unlock();
	if (pipe)
		raise(SIGPIPE);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/**
 * sock_recv_iov - receive into an iovec from a TAS socket
 * @fd:     TAS socket
 * @iov:    buffers
 * @iovcnt: their number
 * @flags:  MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL
 *
 * Return: bytes read, 0 at EOF, -1 with errno.
 */
ssize_t sock_recv_iov(int fd, const struct iovec *iov, int iovcnt, int flags)
{
	struct tsock *ts;

	if (iovcnt < 0 || (iovcnt > 0 && iov == NULL))
		return sock_fail(EINVAL);
	ts = io_get(fd);
	if (ts == NULL)
		return -1;
	return io_done(ts, do_recv(ts, iov, iovcnt, flags), false);
}

/**
 * sock_send_iov - send an iovec on a TAS socket
 * @fd:     TAS socket
 * @iov:    buffers
 * @iovcnt: their number
 * @flags:  MSG_NOSIGNAL, MSG_DONTWAIT (MSG_MORE and others are ignored)
 *
 * Return: bytes sent, -1 with errno.
 */
ssize_t sock_send_iov(int fd, const struct iovec *iov, int iovcnt, int flags)
{
	bool pipe = false;
	struct tsock *ts;
	ssize_t ret;

	if (iovcnt < 0 || (iovcnt > 0 && iov == NULL))
		return sock_fail(EINVAL);
	ts = io_get(fd);
	if (ts == NULL)
		return -1;
	ret = do_send(ts, iov, iovcnt, flags, &pipe);
	return io_done(ts, ret, pipe);
}

static bool is_tcp(int fd)
{
	sock_libc_init();
	return sock_tcp(sock_peek(fd)) != NULL;
}

/**
 * tas_read - read(2)
 * @fd:    fd
 * @buf:   buffer
 * @count: its size
 *
 * Return: bytes, 0 at EOF, -1 with errno.
 */
SOCK_API ssize_t tas_read(int fd, void *buf, size_t count)
{
	struct iovec v = { .iov_base = buf, .iov_len = count };

	if (!is_tcp(fd))
		return sock_libc.read(fd, buf, count);
	return sock_recv_iov(fd, &v, 1, 0);
}

/**
 * tas_recv - recv(2)
 * @sockfd: fd
 * @buf:    buffer
 * @len:    its size
 * @flags:  MSG_*
 *
 * Return: bytes, 0 at EOF, -1 with errno.
 */
SOCK_API ssize_t tas_recv(int sockfd, void *buf, size_t len, int flags)
{
	return tas_recvfrom(sockfd, buf, len, flags, NULL, NULL);
}

/**
 * tas_recvfrom - recvfrom(2); a TCP socket reports no source address
 * @sockfd:   fd
 * @buf:      buffer
 * @len:      its size
 * @flags:    MSG_*
 * @src_addr: unused for TAS sockets
 * @addrlen:  set to 0 for TAS sockets
 *
 * Return: bytes, 0 at EOF, -1 with errno.
 */
SOCK_API ssize_t tas_recvfrom(int sockfd, void *buf, size_t len, int flags,
			      struct sockaddr *src_addr, socklen_t *addrlen)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };

	if (!is_tcp(sockfd))
		return sock_libc.recvfrom(sockfd, buf, len, flags, src_addr,
					  addrlen);
	if (addrlen)
		*addrlen = 0;
	return sock_recv_iov(sockfd, &v, 1, flags);
}

/**
 * tas_recvmsg - recvmsg(2) (no address, no control data for TAS)
 * @sockfd: fd
 * @msg:    message
 * @flags:  MSG_*
 *
 * Return: bytes, 0 at EOF, -1 with errno.
 */
SOCK_API ssize_t tas_recvmsg(int sockfd, struct msghdr *msg, int flags)
{
	if (!is_tcp(sockfd))
		return sock_libc.recvmsg(sockfd, msg, flags);
	if (msg == NULL)
		return sock_fail(EFAULT);
	msg->msg_namelen = 0;
	msg->msg_controllen = 0;
	msg->msg_flags = 0;
	return sock_recv_iov(sockfd, msg->msg_iov, (int)msg->msg_iovlen, flags);
}

/**
 * tas_readv - readv(2)
 * @sockfd: fd
 * @iov:    buffers
 * @iovcnt: their number
 *
 * Return: bytes, 0 at EOF, -1 with errno.
 */
SOCK_API ssize_t tas_readv(int sockfd, const struct iovec *iov, int iovcnt)
{
	if (!is_tcp(sockfd))
		return sock_libc.readv(sockfd, iov, iovcnt);
	return sock_recv_iov(sockfd, iov, iovcnt, 0);
}

/**
 * tas_pread - pread(2); sockets cannot seek (ESPIPE)
 * @sockfd: fd
 * @buf:    buffer
 * @count:  its size
 * @offset: file offset
 *
 * Return: bytes or -1 with errno.
 */
SOCK_API ssize_t tas_pread(int sockfd, void *buf, size_t count, off_t offset)
{
	if (!is_tcp(sockfd))
		return sock_libc.pread(sockfd, buf, count, offset);
	return sock_fail(ESPIPE);
}

/**
 * tas_write - write(2)
 * @fd:    fd
 * @buf:   data
 * @count: bytes
 *
 * Return: bytes written or -1 with errno.
 */
SOCK_API ssize_t tas_write(int fd, const void *buf, size_t count)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = count };

	if (!is_tcp(fd))
		return sock_libc.write(fd, buf, count);
	return sock_send_iov(fd, &v, 1, 0);
}

/**
 * tas_send - send(2)
 * @sockfd: fd
 * @buf:    data
 * @len:    bytes
 * @flags:  MSG_*
 *
 * Return: bytes sent or -1 with errno.
 */
SOCK_API ssize_t tas_send(int sockfd, const void *buf, size_t len, int flags)
{
	return tas_sendto(sockfd, buf, len, flags, NULL, 0);
}

/**
 * tas_sendto - sendto(2); the address is ignored on a TAS socket
 * @sockfd:    fd
 * @buf:       data
 * @len:       bytes
 * @flags:     MSG_*
 * @dest_addr: ignored for TAS sockets (as Linux does for TCP)
 * @addrlen:   its length
 *
 * Return: bytes sent or -1 with errno.
 */
SOCK_API ssize_t tas_sendto(int sockfd, const void *buf, size_t len, int flags,
			    const struct sockaddr *dest_addr, socklen_t addrlen)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };

	if (!is_tcp(sockfd))
		return sock_libc.sendto(sockfd, buf, len, flags, dest_addr,
					addrlen);
	return sock_send_iov(sockfd, &v, 1, flags);
}

/**
 * tas_sendmsg - sendmsg(2) (control data ignored on TAS sockets)
 * @sockfd: fd
 * @msg:    message
 * @flags:  MSG_*
 *
 * Return: bytes sent or -1 with errno.
 */
SOCK_API ssize_t tas_sendmsg(int sockfd, const struct msghdr *msg, int flags)
{
	if (!is_tcp(sockfd))
		return sock_libc.sendmsg(sockfd, msg, flags);
	if (msg == NULL)
		return sock_fail(EFAULT);
	return sock_send_iov(sockfd, msg->msg_iov, (int)msg->msg_iovlen, flags);
}

/**
 * tas_writev - writev(2)
 * @sockfd: fd
 * @iov:    buffers
 * @iovcnt: their number
 *
 * Return: bytes sent or -1 with errno.
 */
SOCK_API ssize_t tas_writev(int sockfd, const struct iovec *iov, int iovcnt)
{
	if (!is_tcp(sockfd))
		return sock_libc.writev(sockfd, iov, iovcnt);
	return sock_send_iov(sockfd, iov, iovcnt, 0);
}

/**
 * tas_pwrite - pwrite(2); sockets cannot seek (ESPIPE)
 * @sockfd: fd
 * @buf:    data
 * @count:  bytes
 * @offset: file offset
 *
 * Return: bytes or -1 with errno.
 */
SOCK_API ssize_t tas_pwrite(int sockfd, const void *buf, size_t count,
			    off_t offset)
{
	if (!is_tcp(sockfd))
		return sock_libc.pwrite(sockfd, buf, count, offset);
	return sock_fail(ESPIPE);
}

static ssize_t do_sendfile(struct tsock *ts, int in_fd, off_t *offset,
			   size_t len, uint8_t *buf, bool *pipe)
{
	size_t total = 0;
	uint32_t room;
	ssize_t k;
	int ret;

	while (total < len) {
		struct iovec v;

		sock_dispatch();
		ret = tx_check(ts, 0, pipe);
		if (ret < 0) {
			if (total)
				*pipe = false;
			return total ? (ssize_t)total : ret;
		}
		room = sock_tx_room(ts);
		if (room == 0) {
			if (ts->nonblock)
				return total ? (ssize_t)total : -EAGAIN;
			ret = sock_block(ts, EPOLLOUT, ts->sndtimeo_ms);
			if (ret < 0)
				return total ? (ssize_t)total : ret;
			continue;
		}
		v.iov_len = len - total;
		if (v.iov_len > room)
			v.iov_len = room;
		if (v.iov_len > SOCK_SENDFILE_CHUNK)
			v.iov_len = SOCK_SENDFILE_CHUNK;
		k = offset ? sock_libc.pread(in_fd, buf, v.iov_len, *offset)
			   : sock_libc.read(in_fd, buf, v.iov_len);
		if (k < 0)
			return total ? (ssize_t)total : -errno;
		if (k == 0)
			break;
		v.iov_base = buf;
		v.iov_len = (size_t)k;
		tx_put(ts, &v, 1, 0, (size_t)k);
		total += (size_t)k;
		if (offset)
			*offset += k;
	}
	return (ssize_t)total;
}

/**
 * tas_sendfile - sendfile(2) to a TAS socket (from any readable fd)
 * @sockfd: destination
 * @in_fd:  source, read with pread at *@offset (or read when NULL)
 * @offset: file offset, advanced; NULL: the file position advances
 * @len:    bytes
 *
 * Return: bytes sent or -1 with errno.
 */
SOCK_API ssize_t tas_sendfile(int sockfd, int in_fd, off_t *offset, size_t len)
{
	bool pipe = false;
	struct tsock *ts;
	uint8_t *buf;
	ssize_t ret;

	if (!is_tcp(sockfd)) {
		if (is_tcp(in_fd))
			return sock_fail(EINVAL);
		return sock_libc.sendfile(sockfd, in_fd, offset, len);
	}
	buf = malloc(SOCK_SENDFILE_CHUNK);
	if (buf == NULL)
		return sock_fail(ENOMEM);
	ts = io_get(sockfd);
	if (ts == NULL) {
		free(buf);
		return -1;
	}
	ret = do_sendfile(ts, in_fd, offset, len, buf, &pipe);
	ret = io_done(ts, ret, pipe);
	free(buf);
	return ret;
}
