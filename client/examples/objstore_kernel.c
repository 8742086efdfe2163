/*
 * objstore_kernel.c - the objstore server and client on Linux kernel
 * sockets (see objstore.c): the same protocol and file logic, a thread per
 * connection, recv into page-aligned buffers. The baseline for the
 * zero-copy server, and the Linux peer of the tests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench_common.h"
#include "objstore.h"

static int os_recv_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -EPIPE : -errno;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int os_send_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int os_send_hdr(int fd, uint16_t op, int status, uint64_t id,
		       uint64_t len)
{
	struct os_hdr h = {
		.op = op, .status = (int16_t)status, .id = id, .len = len
	};
	uint8_t b[OS_HDR_LEN];

	os_hdr_emit(&h, b);
	return os_send_all(fd, b, OS_HDR_LEN);
}

static int os_recv_hdr(int fd, struct os_hdr *h)
{
	uint8_t b[OS_HDR_LEN];
	int ret = os_recv_all(fd, b, OS_HDR_LEN);

	return ret ? ret : os_hdr_parse(b, OS_HDR_LEN, h);
}

/* ==== the kernel-socket server: the same logic, a thread per
 * connection ==== */

struct kserver {
	int dirfd;
	const char *dir;
	pthread_mutex_t lock; /* total, io, stdout */
	struct conn_stats total;
	struct io_stats io;
};

struct kconn {
	struct kserver *ks;
	int fd;
	char name[32];
};

/* A page-aligned buffer of at least @len bytes (grown as needed). */
static uint8_t *kbuf(uint8_t **buf, uint64_t *cap, uint64_t len)
{
	uint64_t want = os_pages(len) * OS_PAGE;
	void *p;

	if (*cap >= want)
		return *buf;
	free(*buf);
	*buf = NULL;
	*cap = 0;
	if (posix_memalign(&p, OS_PAGE, want))
		return NULL;
	*buf = p;
	*cap = want;
	return p;
}

static int kreq(struct kconn *kc, const struct os_hdr *rq, uint8_t **buf,
		uint64_t *cap, struct conn_stats *st, struct io_stats *io)
{
	struct kserver *ks = kc->ks;
	uint8_t *b = kbuf(buf, cap, rq->op == OS_OP_PUT ? rq->len : 0);
	uint64_t size;
	bool direct;
	int ret, fd;

	if (rq->op == OS_OP_PUT) {
		if (b == NULL)
			return -ENOMEM;
		ret = os_recv_all(kc->fd, b, rq->eager);
		if (ret == 0 && rq->eager < rq->len) {
			ret = os_send_hdr(kc->fd, OS_OP_READY, 0, rq->id,
					  rq->len - rq->eager);
			if (ret == 0)
				ret = os_recv_all(kc->fd, b + rq->eager,
						  rq->len - rq->eager);
		}
		if (ret)
			return ret;
		st->copied += rq->len;
		pthread_mutex_lock(&ks->lock);
		ret = os_obj_write(ks->dirfd, ks->dir, rq->id, b, rq->len, io);
		pthread_mutex_unlock(&ks->lock);
		if (ret == 0) {
			st->puts++;
			st->put_bytes += rq->len;
		} else {
			st->errors++;
		}
		return os_send_hdr(kc->fd, OS_OP_DONE, ret, rq->id, 0);
	}
	fd = os_obj_open(ks->dirfd, rq->id, &size, &direct);
	if (fd < 0) {
		st->errors++;
		return os_send_hdr(kc->fd, OS_OP_DONE, fd, rq->id, 0);
	}
	b = kbuf(buf, cap, size);
	if (b == NULL) {
		close(fd);
		return -ENOMEM;
	}
	ret = os_obj_read(fd, direct, b, size, io);
	if (ret) {
		st->errors++;
		return os_send_hdr(kc->fd, OS_OP_DONE, ret, rq->id, 0);
	}
	ret = os_send_hdr(kc->fd, OS_OP_DONE, 0, rq->id, size);
	if (ret == 0)
		ret = os_send_all(kc->fd, b, size);
	if (ret == 0) {
		st->gets++;
		st->get_bytes += size;
	}
	return ret;
}

static void *kconn_main(void *arg)
{
	struct kconn *kc = arg;
	struct kserver *ks = kc->ks;
	struct conn_stats st = { 0 };
	struct io_stats io = { 0 };
	uint8_t *buf = NULL, hb[OS_HDR_LEN];
	uint64_t cap = 0;
	int ret;

	for (;;) {
		struct os_hdr rq;

		ret = os_recv_all(kc->fd, hb, OS_HDR_LEN);
		if (ret == -EPIPE) {
			ret = 0; /* the client closed between requests */
			break;
		}
		if (ret == 0 && (os_hdr_parse(hb, OS_HDR_LEN, &rq) ||
				 (rq.op != OS_OP_PUT && rq.op != OS_OP_GET)))
			ret = -EPROTO;
		if (ret == 0)
			ret = kreq(kc, &rq, &buf, &cap, &st, &io);
		if (ret)
			break;
	}
	if (ret) {
		fprintf(stderr, "objstore: %s: %s; closing the connection\n",
			kc->name, strerror(-ret));
		st.errors++;
	}
	close(kc->fd);
	free(buf);
	pthread_mutex_lock(&ks->lock);
	ks->io.direct += io.direct;
	ks->io.buffered += io.buffered;
	ks->io.rdirect += io.rdirect;
	ks->io.rbuffered += io.rbuffered;
	os_stats_add(&ks->total, &st);
	os_stats_print(kc->name, &st, &io);
	os_stats_print("total", &ks->total, &ks->io);
	pthread_mutex_unlock(&ks->lock);
	free(kc);
	return NULL;
}

/**
 * os_run_kserver - the kernel-socket server, until SIGINT or SIGTERM
 */
int os_run_kserver(long port, const char *dir, uint32_t ip_be)
{
	struct kserver *ks = calloc(1, sizeof(*ks));
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = ip_be };
	sigset_t stop_sigs, old;
	int one = 1, lfd;

	if (ks == NULL)
		bench_fail("out of memory");
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	pthread_mutex_init(&ks->lock, NULL);
	ks->dir = dir;
	ks->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ks->dirfd < 0)
		bench_fail_err(dir, errno);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 64))
		bench_fail_err("cannot listen", errno);
	printf("objstore: server on port %ld, dir %s (kernel sockets)\n", port,
	       dir);
	printf("objstore: listening\n");
	fflush(stdout);
	os_catch_signals(); /* accept returns EINTR on SIGTERM */
	while (!os_stop) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
				 SOCK_CLOEXEC);
		struct kconn *kc;
		pthread_t t;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			bench_fail_err("accept", errno);
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		kc = os_xmalloc(sizeof(*kc));
		kc->ks = ks;
		kc->fd = fd;
		snprintf(kc->name, sizeof(kc->name), "%s:%u",
			 inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
		/* signals are for the accepting thread only: the connection
		 * threads inherit a mask that blocks them */
		pthread_sigmask(SIG_BLOCK, &stop_sigs, &old);
		if (pthread_create(&t, NULL, kconn_main, kc))
			bench_fail("pthread_create failed");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_detach(t);
	}
	pthread_mutex_lock(&ks->lock);
	os_stats_print("at exit", &ks->total, &ks->io);
	pthread_mutex_unlock(&ks->lock);
	return 0;
}

/* ---- kernel-socket client: a thread per connection ---- */

struct kcli {
	struct cli *cl;
	long j;
	pthread_t t;
	int err;
};

static int kput(struct cli *cl, int fd, uint64_t id, uint8_t *buf)
{
	struct os_hdr h = { .op = OS_OP_PUT,
			    .id = id,
			    .len = cl->size,
			    .eager = cl->eager < cl->size
					     ? cl->eager
					     : (uint32_t)cl->size };
	uint8_t hb[OS_HDR_LEN];
	struct iovec iov[2] = { { hb, OS_HDR_LEN }, { buf, h.eager } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t left = OS_HDR_LEN + h.eager;
	int ret;

	os_obj_fill(buf, id, 0, cl->size);
	if (cl->hashes) {
		struct sha256 s;

		sha256_init(&s);
		sha256_update(&s, buf, cl->size);
		sha256_final(&s, cl->hashes[id - cl->first]);
	}
	os_hdr_emit(&h, hb);
	while (left) { /* header and eager bytes in one go */
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		left -= (size_t)w;
		while (w > 0) {
			size_t k = (size_t)w < iov[0].iov_len ? (size_t)w
							      : iov[0].iov_len;

			iov[0].iov_base = (uint8_t *)iov[0].iov_base + k;
			iov[0].iov_len -= k;
			w -= (ssize_t)k;
			if (iov[0].iov_len == 0 && mh.msg_iovlen == 2) {
				iov[0] = iov[1];
				mh.msg_iovlen = 1;
			}
		}
	}
	if (h.eager < cl->size) {
		uint32_t eager = h.eager;

		ret = os_recv_hdr(fd, &h);
		if (ret)
			return ret;
		if (h.op == OS_OP_DONE) /* refused before the payload */
			return h.status ? h.status : -EPROTO;
		if (h.op != OS_OP_READY || h.id != id ||
		    h.len != cl->size - eager)
			return -EPROTO;
		ret = os_send_all(fd, buf + eager, cl->size - eager);
		if (ret)
			return ret;
	}
	ret = os_recv_hdr(fd, &h);
	if (ret)
		return ret;
	if (h.op != OS_OP_DONE || h.id != id)
		return -EPROTO;
	return h.status;
}

static int kget(struct cli *cl, int fd, uint64_t id, uint8_t *buf,
		uint8_t *scratch)
{
	struct os_hdr h = { .op = OS_OP_GET, .id = id };
	uint8_t hb[OS_HDR_LEN], got[SHA256_DIGEST_LEN], exp[SHA256_DIGEST_LEN];
	struct sha256 s;
	int ret;

	os_hdr_emit(&h, hb);
	ret = os_send_all(fd, hb, OS_HDR_LEN);
	if (ret == 0)
		ret = os_recv_hdr(fd, &h);
	if (ret)
		return ret;
	if (h.op != OS_OP_DONE || h.id != id)
		return -EPROTO;
	if (h.status) {
		os_report_mismatch(cl, id, strerror(-h.status));
		return 0;
	}
	if (h.len > cl->size) /* more than we can hold: stream lost */
		return -EFBIG;
	ret = os_recv_all(fd, buf, h.len);
	if (ret)
		return ret;
	sha256_init(&s);
	sha256_update(&s, buf, h.len);
	sha256_final(&s, got);
	os_obj_sha(id, cl->size, scratch, 1 << 20, exp);
	if (cl->hashes)
		memcpy(cl->hashes[id - cl->first], exp, sizeof(exp));
	if (h.len != cl->size)
		os_report_mismatch(cl, id, "wrong length");
	else if (memcmp(got, exp, sizeof(got)))
		os_report_mismatch(cl, id, "SHA-256 differs");
	else
		os_object_ok(cl);
	atomic_fetch_add(&cl->bytes, h.len);
	return 0;
}

static void *kcli_main(void *arg)
{
	struct kcli *k = arg;
	struct cli *cl = k->cl;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)cl->port),
				  .sin_addr.s_addr = cl->ip_be };
	uint8_t *buf = os_xmalloc(cl->size), *scratch = os_xmalloc(1 << 20);
	uint64_t n = os_objs_of(cl, k->j);
	struct timeval tv = { .tv_sec = (time_t)cl->timeout_s };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	k->err = 0;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		k->err = -errno;
		goto out;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* no call waits longer than the whole run may take */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (uint64_t i = 0; i < n && !k->err; i++) {
		uint64_t id = os_obj_id(cl, k->j, i);

		if (bench_now_ns() > cl->deadline_ns) {
			k->err = -ETIMEDOUT;
			break;
		}
		if (cl->put) {
			k->err = kput(cl, fd, id, buf);
			if (k->err == 0) {
				os_object_ok(cl);
				atomic_fetch_add(&cl->bytes, cl->size);
			}
		} else {
			k->err = kget(cl, fd, id, buf, scratch);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(scratch);
	return NULL;
}

/**
 * os_run_kclient - the kernel-socket client: a thread per connection
 *
 * Return: 0, or the first connection's error (negative errno).
 */
int os_run_kclient(struct cli *cl)
{
	struct kcli *ks = calloc((size_t)cl->conns, sizeof(*ks));
	int err = 0;

	if (ks == NULL)
		bench_fail("out of memory");
	for (long j = 0; j < cl->conns; j++) {
		ks[j].cl = cl;
		ks[j].j = j;
		if (pthread_create(&ks[j].t, NULL, kcli_main, &ks[j]))
			bench_fail("pthread_create failed");
	}
	for (long j = 0; j < cl->conns; j++) {
		pthread_join(ks[j].t, NULL);
		if (ks[j].err && !err) {
			err = ks[j].err;
			fprintf(stderr, "objstore: connection %ld: %s\n", j,
				strerror(-err));
		}
	}
	free(ks);
	return err;
}
