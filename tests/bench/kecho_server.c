/*
 * kecho_server.c - benchmark baseline: the Linux-kernel twin of
 * client/examples/echo_server.c (epoll, one SO_REUSEPORT listener per thread)
 *
 *   kecho_server --port P [--threads N] [--ip A]
 *
 * Same behaviour and output as echo_server: echoes every received byte,
 * closes a connection after the peer closed its side and every byte was
 * echoed, and prints "kecho_server: listening on port P (N threads)" once
 * every listener is open. Sockets get TCP_NODELAY (the flextcp service never
 * delays small segments). Threads sleep in epoll_wait when idle, as
 * echo_server sleeps in flextcp_block.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/examples/bench_common.h"

#define EV_BATCH 64
#define MAX_THREADS 64
#define BACKLOG 1024
#define BUF_LEN 65536

/* One connection: bytes read but not yet written back stay in buf. */
struct kconn {
	int fd;
	size_t off, len; /* pending bytes are buf[off, off + len) */
	int rx_closed, want_out;
	uint8_t buf[BUF_LEN];
};

struct worker {
	int id;
	int ep, lfd;
	struct in_addr ip;
	uint16_t port;
	int nthreads;
};

static atomic_int listening;

static void die(const char *what)
{
	bench_fail_err(what, errno);
}

static void conn_close(struct worker *w, struct kconn *k)
{
	epoll_ctl(w->ep, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	free(k);
}

static void conn_arm(struct worker *w, struct kconn *k, int out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
				  .data.ptr = k };

	if (out == k->want_out)
		return;
	k->want_out = out;
	if (epoll_ctl(w->ep, EPOLL_CTL_MOD, k->fd, &ev) != 0)
		die("epoll_ctl");
}

/* Write pending bytes; returns -1 when the connection is gone. */
static int flush_pending(struct kconn *k)
{
	while (k->len > 0) {
		ssize_t n = send(k->fd, k->buf + k->off, k->len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		k->off += (size_t)n;
		k->len -= (size_t)n;
	}
	k->off = 0;
	return 0;
}

static void conn_event(struct worker *w, struct kconn *k, uint32_t events)
{
	if (flush_pending(k) != 0)
		goto gone;
	/* read only while nothing is pending: back-pressure like the ring */
	while (k->len == 0 && !k->rx_closed &&
	       (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		ssize_t n = recv(k->fd, k->buf, BUF_LEN, 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			goto gone;
		}
		if (n == 0) {
			k->rx_closed = 1;
			break;
		}
		k->off = 0;
		k->len = (size_t)n;
		if (flush_pending(k) != 0)
			goto gone;
	}
	if (k->rx_closed && k->len == 0)
		goto gone;
	conn_arm(w, k, k->len > 0);
	return;
gone:
	conn_close(w, k);
}

static void accept_all(struct worker *w)
{
	for (;;) {
		int one = 1, fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK);
		struct epoll_event ev = { .events = EPOLLIN };
		struct kconn *k;

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		k = calloc(1, sizeof(*k));
		if (k == NULL) {
			fprintf(stderr, "kecho_server: out of memory\n");
			exit(1);
		}
		k->fd = fd;
		ev.data.ptr = k;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			die("epoll_ctl");
		/* data may have arrived with the handshake's last ACK */
		conn_event(w, k, EPOLLIN);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[EV_BATCH];
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(w->port),
				  .sin_addr = w->ip };
	int one = 1;

	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (w->ep < 0 || w->lfd < 0)
		die("socket");
	setsockopt(w->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (w->nthreads > 1)
		setsockopt(w->lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(w->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(w->lfd, BACKLOG) != 0)
		die("cannot listen");
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &lev) != 0)
		die("epoll_ctl");
	if (atomic_fetch_add(&listening, 1) + 1 == w->nthreads) {
		printf("kecho_server: listening on port %u (%d threads)\n",
		       w->port, w->nthreads);
		fflush(stdout);
	}
	for (;;) {
		int n = epoll_wait(w->ep, evs, EV_BATCH, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accept_all(w);
			else
				conn_event(w, evs[i].data.ptr, evs[i].events);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	pthread_t thr[MAX_THREADS];
	struct in_addr ip = { .s_addr = htonl(INADDR_ANY) };
	long port, nthreads;

	bench_prog = "kecho_server";
	bench_synopsis = "kecho_server --port P [--threads N] [--ip A]";
	bench_echo_parse(argc, argv, MAX_THREADS, &port, &nthreads, &ip.s_addr);
	for (int i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].ip = ip;
		w[i].port = (uint16_t)port;
		w[i].nthreads = (int)nthreads;
		if (pthread_create(&thr[i], NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "kecho_server: cannot start threads\n");
			return 1;
		}
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(thr[i], NULL);
	return 0;
}
