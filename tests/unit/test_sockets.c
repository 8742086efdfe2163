/*
 * test_sockets.c - unit tests of libtas_sockets (client/sock_*.c) against
 * the fake daemon of libtas_harness.c: fd mapping onto real kernel fds,
 * dup/close, nonblocking connect (EINPROGRESS, SO_ERROR), partial and
 * peeked reads, EOF, reset (ECONNRESET then EPIPE), SHUT_WR -> FIN,
 * listen/accept, closing a listening socket (the flextcp listener is
 * closed, the port listened on again), and epoll bookkeeping (level, edge, oneshot, mixed with a
 * kernel pipe), poll and select over the same mix, and a thread blocked
 * in read woken by data (no spinning: it sleeps on the context eventfd).
 *
 * The test plays the daemon: it answers the library's requests and pushes
 * service events; the library's state is process-wide, so one harness
 * serves every test. Needs: nothing (no root, no netns). ASAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tas_sockets.h>
#include "client/libtas.h"
#include "client/sock.h"
#include "libtas_harness.h"

#define NCORES 1
#define SEG_SIZE (8u << 20)
#define RING 4096u
#define PEER_IP 0xc6120002u /* 198.18.0.2, host order */
#define LOCAL_IP 0xc6120001u

static struct harness *h;
static uint32_t next_flow = 1;

struct conn_fx {
	int fd;
	struct tas_ev ev; /* the CONN_OPEN / CONN_NEW that opened it */
};

static int group_setup(void **state)
{
	struct harness_cfg cfg = { .ncores = NCORES,
				   .abi_version = TAS_ABI_VERSION,
				   .seg_size = SEG_SIZE };

	(void)state;
	h = harness_start(&cfg);
	if (h == NULL)
		return -1;
	setenv("TAS_SOCKET", harness_path(h), 1);
	return tas_init();
}

static int group_teardown(void **state)
{
	(void)state;
	harness_stop(h);
	return 0;
}

static uint16_t ctx_id(void)
{
	return sock_proc.ctx.ctx_id_;
}

/* Publish an event and, as the daemon's producers do, kick a waiting
 * context's eventfd. */
static void push(int q, const struct tas_ev *ev)
{
	uint64_t one = 1;

	assert_true(harness_ev_push(h, ctx_id(), q, ev));
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&harness_ctx_shm(h, ctx_id())->waiting))
		assert_int_equal(
			write(harness_ctx_evfd(h, ctx_id()), &one, sizeof(one)),
			sizeof(one));
}

static struct tas_ev flow_ev(uint8_t type, uint64_t user)
{
	struct tas_ev ev = { .type = type, .core = 0, .user = user };

	ev.flow = (1u << 24) | next_flow++;
	ev.rx_off = harness_rings_alloc(h, RING, RING, &ev.tx_off);
	ev.rx_size = RING;
	ev.tx_size = RING;
	ev.local_ip = LOCAL_IP;
	ev.remote_ip = PEER_IP;
	ev.local_port = 40001;
	ev.remote_port = 80;
	return ev;
}

static struct tas_ev ev_for(const struct tas_ev *conn, uint8_t type, uint32_t a)
{
	struct tas_ev ev = { .type = type, .core = conn->core };

	ev.flow = conn->flow;
	ev.a = a;
	return ev;
}

static struct sockaddr_in peer(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	sin.sin_addr.s_addr = htonl(PEER_IP);
	sin.sin_port = htons(port);
	return sin;
}

/* A nonblocking socket connected through the fake daemon. */
static struct conn_fx connect_ok(void)
{
	struct sockaddr_in sin = peer(80);
	struct conn_fx c;
	struct tas_msg m;

	c.fd = tas_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(c.fd >= 0);
	assert_int_equal(
		tas_connect(c.fd, (struct sockaddr *)&sin, sizeof(sin)), -1);
	assert_int_equal(errno, EINPROGRESS);
	assert_int_equal(harness_next_msg(h, &m, 1000), 0);
	assert_int_equal(m.type, TAS_MSG_CONNECT);
	assert_int_equal(m.connect.ip, PEER_IP);
	assert_int_equal(m.connect.port, 80);
	c.ev = flow_ev(TAS_EV_CONN_OPEN, m.user);
	push(0, &c.ev);
	return c;
}

/* Deliver @len bytes of @data as received on @c. */
static void rx_in(struct conn_fx *c, uint32_t *pos, const char *data,
		  uint32_t len)
{
	struct tas_ev ev = ev_for(&c->ev, TAS_EV_RX, len);

	memcpy(harness_seg(h) + c->ev.rx_off + *pos, data, len);
	*pos += len;
	push(0, &ev);
}

/* ---- fd mapping ---- */

static void test_socket_fd_is_real_kernel_fd(void **state)
{
	int fd, p[2], u;
	struct stat st;

	(void)state;
	fd = tas_socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_true(sock_is_tas(fd));
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(pipe(p), 0);
	assert_true(p[0] != fd && p[1] != fd);
	assert_false(sock_is_tas(p[0]));
	u = tas_socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(u >= 0);
	assert_false(sock_is_tas(u));
	assert_int_equal(tas_close(fd), 0);
	assert_false(sock_is_tas(fd));
	close(p[0]);
	close(p[1]);
	tas_close(u);
}

static void test_dup_shares_and_close_keeps_other(void **state)
{
	int fd, d, p[2];

	(void)state;
	fd = tas_socket(AF_INET, SOCK_STREAM, 0);
	d = tas_dup(fd);
	assert_true(d >= 0 && d != fd);
	assert_ptr_equal(sock_peek(fd), sock_peek(d));
	assert_int_equal(sock_peek(fd)->refs, 2);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(tas_dup2(fd, p[0]), p[0]);
	assert_ptr_equal(sock_peek(p[0]), sock_peek(fd));
	assert_int_equal(tas_close(fd), 0);
	assert_true(sock_is_tas(d));
	assert_int_equal(sock_peek(d)->refs, 2);
	/* a kernel fd dup2'ed over a TAS number makes it a kernel fd */
	assert_int_equal(tas_dup2(p[1], d), d);
	assert_false(sock_is_tas(d));
	assert_int_equal(sock_peek(p[0])->refs, 1);
	tas_close(p[0]);
	close(p[1]);
	close(d);
}

static void test_fcntl_nonblock_and_loopback_goes_kernel(void **state)
{
	struct sockaddr_in lo = { .sin_family = AF_INET };
	int fd;

	(void)state;
	fd = tas_socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(tas_fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(tas_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	assert_true(((struct tsock *)sock_peek(fd))->nonblock);
	assert_int_equal(tas_fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(tas_bind(fd, (struct sockaddr *)&lo, sizeof(lo)), 0);
	assert_false(sock_is_tas(fd));
	tas_close(fd);
}

/* ---- connect ---- */

static void test_nonblocking_connect_refused_sets_so_error(void **state)
{
	struct sockaddr_in sin = peer(81);
	struct pollfd p;
	struct tas_msg m;
	struct tas_ev ev = { .type = TAS_EV_CONN_OPEN,
			     .status = -ECONNREFUSED };
	socklen_t len = sizeof(int);
	int fd, err = 0;

	(void)state;
	fd = tas_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(tas_connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
			 -1);
	assert_int_equal(errno, EINPROGRESS);
	assert_int_equal(tas_connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
			 -1);
	assert_int_equal(errno, EALREADY);
	p.fd = fd;
	p.events = POLLOUT;
	assert_int_equal(tas_poll(&p, 1, 0), 0);
	assert_int_equal(harness_next_msg(h, &m, 1000), 0);
	ev.user = m.user;
	push(HARNESS_KIN, &ev);
	assert_int_equal(tas_poll(&p, 1, 1000), 1);
	assert_true(p.revents & POLLERR);
	assert_int_equal(tas_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len),
			 0);
	assert_int_equal(err, ECONNREFUSED);
	assert_int_equal(tas_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len),
			 0);
	assert_int_equal(err, 0);
	tas_close(fd);
}

static void test_connect_names_write_read_peek_eof(void **state)
{
	struct conn_fx c = connect_ok();
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	struct pollfd p = { .fd = c.fd, .events = POLLIN | POLLOUT };
	struct tas_cmd cmd;
	uint32_t pos = 0;
	char buf[16];
	int n = -1;

	(void)state;
	assert_int_equal(tas_poll(&p, 1, 1000), 1);
	assert_int_equal(p.revents, POLLOUT);
	assert_int_equal(tas_connect(c.fd, NULL, 0), 0); /* reports once */
	assert_int_equal(tas_getpeername(c.fd, (struct sockaddr *)&a, &alen),
			 0);
	assert_int_equal(ntohl(a.sin_addr.s_addr), PEER_IP);
	assert_int_equal(ntohs(a.sin_port), 80);
	assert_int_equal(tas_getsockname(c.fd, (struct sockaddr *)&a, &alen),
			 0);
	assert_int_equal(ntohl(a.sin_addr.s_addr), LOCAL_IP);
	assert_int_equal(ntohs(a.sin_port), 40001);

	assert_int_equal(tas_write(c.fd, "hello", 5), 5);
	assert_true(harness_cmd_pop(h, ctx_id(), 0, &cmd));
	assert_int_equal(cmd.type, TAS_CMD_TX);
	assert_int_equal(cmd.len, 5);
	assert_memory_equal(harness_seg(h) + c.ev.tx_off, "hello", 5);

	assert_int_equal(tas_read(c.fd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
	rx_in(&c, &pos, "abcdef", 6);
	assert_int_equal(tas_recv(c.fd, buf, 3, MSG_PEEK), 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(tas_ioctl(c.fd, FIONREAD, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(tas_read(c.fd, buf, 4), 4); /* partial */
	assert_memory_equal(buf, "abcd", 4);
	assert_true(harness_cmd_pop(h, ctx_id(), 0, &cmd));
	assert_int_equal(cmd.type, TAS_CMD_RX_DONE);
	assert_int_equal(cmd.len, 4);
	rx_in(&c, &pos, "gh", 2);
	assert_int_equal(tas_read(c.fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "efgh", 4);

	{
		struct tas_ev fin = ev_for(&c.ev, TAS_EV_RX_FIN, 0);

		push(0, &fin);
	}
	p.events = POLLIN | POLLRDHUP;
	assert_int_equal(tas_poll(&p, 1, 1000), 1);
	assert_true(p.revents & POLLRDHUP);
	assert_int_equal(tas_read(c.fd, buf, sizeof(buf)), 0);

	assert_int_equal(tas_shutdown(c.fd, SHUT_WR), 0);
	while (harness_cmd_pop(h, ctx_id(), 0, &cmd) &&
	       cmd.type != TAS_CMD_TX_FIN)
		;
	assert_int_equal(cmd.type, TAS_CMD_TX_FIN);
	assert_int_equal(tas_send(c.fd, "x", 1, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	tas_close(c.fd);
	assert_true(harness_cmd_pop(h, ctx_id(), 0, &cmd));
	assert_int_equal(cmd.type, TAS_CMD_CLOSE);
}

static void test_reset_econnreset_then_eof_and_epipe(void **state)
{
	struct conn_fx c = connect_ok();
	struct tas_ev rst = ev_for(&c.ev, TAS_EV_RESET, 0);
	struct pollfd p = { .fd = c.fd, .events = POLLIN };
	char buf[4];

	(void)state;
	rst.status = -ECONNRESET;
	assert_int_equal(tas_poll(&p, 1, 1000), 0 + 0); /* connected, idle */
	push(0, &rst);
	assert_int_equal(tas_poll(&p, 1, 1000), 1);
	assert_true(p.revents & (POLLERR | POLLHUP));
	assert_int_equal(tas_read(c.fd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(tas_read(c.fd, buf, sizeof(buf)), 0);
	assert_int_equal(tas_send(c.fd, "x", 1, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	tas_close(c.fd);
}

/* ---- listen / accept ---- */

struct listen_helper {
	uint64_t user;
	uint16_t port;
};

/* The LISTEN_CLOSE a closed listening socket sent (the fake daemon has
 * answered it). */
static void expect_listen_close(uint64_t user)
{
	struct tas_msg m;

	assert_int_equal(harness_next_msg(h, &m, 1000), 0);
	assert_int_equal(m.type, TAS_MSG_LISTEN_CLOSE);
	assert_int_equal(m.ctx_id, ctx_id());
	assert_int_equal(m.user, user);
}

static void *answer_listen(void *arg)
{
	struct listen_helper *lh = arg;
	struct tas_ev ev = { .type = TAS_EV_LISTEN_OPEN };
	struct tas_msg m;

	if (harness_next_msg(h, &m, 5000) != 0 || m.type != TAS_MSG_LISTEN)
		return NULL;
	lh->user = m.user;
	lh->port = m.listen.port;
	ev.user = m.user;
	harness_ev_push(h, ctx_id(), HARNESS_KIN, &ev);
	return NULL;
}

static void test_listen_accept4_flags_and_peer(void **state)
{
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct listen_helper lh = { 0 };
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	struct tas_ev ev;
	pthread_t thr;
	int lfd, cfd, one = 1;

	(void)state;
	lfd = tas_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(tas_setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one,
					sizeof(one)),
			 0);
	any.sin_port = htons(7777);
	assert_int_equal(tas_bind(lfd, (struct sockaddr *)&any, sizeof(any)),
			 0);
	pthread_create(&thr, NULL, answer_listen, &lh);
	assert_int_equal(tas_listen(lfd, 16), 0);
	pthread_join(thr, NULL);
	assert_int_equal(lh.port, 7777);
	assert_int_equal(tas_accept(lfd, NULL, NULL), -1);
	assert_int_equal(errno, EAGAIN);

	ev = flow_ev(TAS_EV_CONN_NEW, lh.user);
	ev.local_port = 7777;
	ev.remote_port = 5555;
	push(0, &ev);
	cfd = tas_accept4(lfd, (struct sockaddr *)&a, &alen,
			  SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(cfd >= 0);
	assert_true(sock_is_tas(cfd));
	assert_int_equal(ntohs(a.sin_port), 5555);
	assert_int_equal(ntohl(a.sin_addr.s_addr), PEER_IP);
	assert_true(tas_fcntl(cfd, F_GETFD) & FD_CLOEXEC);
	assert_true(((struct tsock *)sock_peek(cfd))->nonblock);
	{
		socklen_t l = sizeof(int);
		int v = 0;

		assert_int_equal(
			tas_getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l),
			0);
		assert_int_equal(v, 1);
	}
	tas_close(cfd);
	tas_close(lfd);
	expect_listen_close(lh.user);
}

/* A nonblocking socket listening on @port through the fake daemon. */
static int listen_on(uint16_t port, struct listen_helper *lh)
{
	struct sockaddr_in any = { .sin_family = AF_INET };
	pthread_t thr;
	int lfd;

	lfd = tas_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(lfd >= 0);
	any.sin_port = htons(port);
	assert_int_equal(tas_bind(lfd, (struct sockaddr *)&any, sizeof(any)),
			 0);
	pthread_create(&thr, NULL, answer_listen, lh);
	assert_int_equal(tas_listen(lfd, 16), 0);
	pthread_join(thr, NULL);
	assert_int_equal(lh->port, port);
	return lfd;
}

static unsigned listeners_on(uint16_t port)
{
	unsigned n = 0;

	for (struct sock_listen *sl = sock_proc.listeners; sl; sl = sl->next)
		n += sl->port == port;
	return n;
}

static void expect_close_cmd(uint32_t flow)
{
	struct tas_cmd cmd;

	assert_true(harness_cmd_pop(h, ctx_id(), 0, &cmd));
	assert_int_equal(cmd.type, TAS_CMD_CLOSE);
	assert_int_equal(cmd.flow, flow);
}

static void test_close_listener_stops_port_and_relisten(void **state)
{
	struct listen_helper lh = { 0 }, lh2 = { 0 };
	struct pollfd p = { .events = POLLIN };
	struct conn_fx acc;
	struct tas_ev ev2, late, ev;
	struct tas_cmd cmd;
	uint32_t pos = 0;
	char buf[8];
	int lfd, cfd;

	(void)state;
	while (harness_cmd_pop(h, ctx_id(), 0, &cmd))
		;
	lfd = listen_on(7778, &lh);
	acc.ev = flow_ev(TAS_EV_CONN_NEW, lh.user);
	push(0, &acc.ev);
	acc.fd = tas_accept(lfd, NULL, NULL);
	assert_true(acc.fd >= 0);
	ev2 = flow_ev(TAS_EV_CONN_NEW, lh.user); /* arrives, not accepted */
	push(0, &ev2);
	p.fd = lfd;
	assert_int_equal(tas_poll(&p, 1, 1000), 1);

	assert_int_equal(tas_close(lfd), 0);
	expect_listen_close(lh.user);
	expect_close_cmd(ev2.flow);
	/* the accept handles come back and the listener object goes */
	p.fd = acc.fd;
	assert_int_equal(tas_poll(&p, 1, 0), 0);
	assert_int_equal(listeners_on(7778), 0);
	/* a handshake the service completes late is closed by the library */
	late = flow_ev(TAS_EV_CONN_NEW, lh.user);
	push(0, &late);
	assert_int_equal(tas_poll(&p, 1, 0), 0);
	expect_close_cmd(late.flow);
	ev = ev_for(&ev2, TAS_EV_CLOSED, 0);
	push(0, &ev);
	ev = ev_for(&late, TAS_EV_CLOSED, 0);
	push(0, &ev);
	/* the accepted connection stays open */
	rx_in(&acc, &pos, "still", 5);
	assert_int_equal(tas_read(acc.fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "still", 5);
	assert_int_equal(libtas_ctx_drops(&sock_proc.ctx), 0);

	/* the port can be listened on again: a fresh flextcp listener */
	lfd = listen_on(7778, &lh2);
	assert_int_equal(listeners_on(7778), 1);
	ev = flow_ev(TAS_EV_CONN_NEW, lh2.user);
	push(0, &ev);
	p.fd = lfd;
	assert_int_equal(tas_poll(&p, 1, 1000), 1);
	cfd = tas_accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	tas_close(cfd);
	tas_close(acc.fd);
	tas_close(lfd);
	expect_listen_close(lh2.user);
}

/* ---- epoll, poll, select ---- */

static void test_epoll_level_edge_oneshot_mixed_with_pipe(void **state)
{
	struct conn_fx a = connect_ok(), b = connect_ok();
	struct epoll_event ev, out[8];
	uint32_t pa = 0, pb = 0;
	int ep, p[2];
	char buf[8];

	(void)state;
	assert_int_equal(pipe(p), 0);
	ep = tas_epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u32 = 1;
	assert_int_equal(tas_epoll_ctl(ep, EPOLL_CTL_ADD, a.fd, &ev), 0);
	assert_int_equal(tas_epoll_ctl(ep, EPOLL_CTL_ADD, a.fd, &ev), -1);
	assert_int_equal(errno, EEXIST);
	ev.events = EPOLLIN;
	ev.data.u32 = 2;
	assert_int_equal(tas_epoll_ctl(ep, EPOLL_CTL_ADD, b.fd, &ev), 0);
	ev.data.u32 = 3;
	assert_int_equal(tas_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	assert_int_equal(tas_epoll_wait(ep, out, 8, 0), 0);

	rx_in(&a, &pa, "A", 1);
	rx_in(&b, &pb, "B", 1);
	assert_int_equal(write(p[1], "P", 1), 1);
	assert_int_equal(tas_epoll_wait(ep, out, 8, 1000), 3);
	/* edge: a is not reported again until new data; level: b and the
	 * pipe are */
	assert_int_equal(tas_epoll_wait(ep, out, 8, 0), 2);
	for (int i = 0; i < 2; i++)
		assert_true(out[i].data.u32 == 2 || out[i].data.u32 == 3);
	rx_in(&a, &pa, "A", 1);
	assert_int_equal(tas_epoll_wait(ep, out, 8, 0), 3);

	/* oneshot: reported once, then not until MOD */
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.u32 = 2;
	assert_int_equal(tas_epoll_ctl(ep, EPOLL_CTL_MOD, b.fd, &ev), 0);
	assert_int_equal(tas_epoll_ctl(ep, EPOLL_CTL_DEL, a.fd, NULL), 0);
	assert_int_equal(read(p[0], buf, 1), 1);
	assert_int_equal(tas_epoll_wait(ep, out, 8, 0), 1);
	assert_int_equal(out[0].data.u32, 2);
	assert_int_equal(tas_epoll_wait(ep, out, 8, 0), 0);
	assert_int_equal(tas_epoll_ctl(ep, EPOLL_CTL_MOD, b.fd, &ev), 0);
	assert_int_equal(tas_epoll_wait(ep, out, 8, 0), 1);

	/* closing a socket drops its registration */
	assert_int_equal(tas_close(b.fd), 0);
	assert_int_equal(((struct sock_epoll *)sock_peek(ep))->nitems, 0);
	assert_int_equal(tas_epoll_wait(ep, out, 8, 0), 0);

	tas_close(a.fd);
	tas_close(ep);
	close(p[0]);
	close(p[1]);
}

static void test_select_and_poll_mix_tas_and_pipe(void **state)
{
	struct conn_fx c = connect_ok();
	struct timeval tv = { 0, 0 };
	struct pollfd pf[2];
	uint32_t pos = 0;
	fd_set r;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	FD_ZERO(&r);
	FD_SET(c.fd, &r);
	FD_SET(p[0], &r);
	assert_int_equal(tas_select(FD_SETSIZE, &r, NULL, NULL, &tv), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	rx_in(&c, &pos, "y", 1);
	FD_ZERO(&r);
	FD_SET(c.fd, &r);
	FD_SET(p[0], &r);
	tv.tv_sec = 1;
	assert_int_equal(tas_select(FD_SETSIZE, &r, NULL, NULL, &tv), 2);
	assert_true(FD_ISSET(c.fd, &r) && FD_ISSET(p[0], &r));
	pf[0].fd = c.fd;
	pf[0].events = POLLIN;
	pf[1].fd = p[0];
	pf[1].events = POLLIN;
	assert_int_equal(tas_poll(pf, 2, 0), 2);
	tas_close(c.fd);
	close(p[0]);
	close(p[1]);
}

/* ---- threads ---- */

struct reader_arg {
	int fd;
	ssize_t got;
	char buf[8];
};

static void *blocking_reader(void *arg)
{
	struct reader_arg *ra = arg;

	ra->got = tas_read(ra->fd, ra->buf, sizeof(ra->buf));
	return NULL;
}

static void test_blocked_reader_thread_wakes_on_data(void **state)
{
	struct conn_fx c = connect_ok();
	struct reader_arg ra = { .fd = c.fd, .got = -2 };
	struct pollfd p = { .fd = c.fd, .events = POLLOUT };
	uint32_t pos = 0;
	pthread_t thr;

	(void)state;
	assert_int_equal(tas_poll(&p, 1, 1000), 1);	  /* connected */
	assert_int_equal(tas_fcntl(c.fd, F_SETFL, 0), 0); /* blocking */
	pthread_create(&thr, NULL, blocking_reader, &ra);
	usleep(100 * 1000); /* the reader sleeps on the context's eventfd */
	assert_int_equal(ra.got, -2);
	rx_in(&c, &pos, "wake", 4);
	pthread_join(thr, NULL);
	assert_int_equal(ra.got, 4);
	assert_memory_equal(ra.buf, "wake", 4);
	tas_close(c.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_fd_is_real_kernel_fd),
		cmocka_unit_test(test_dup_shares_and_close_keeps_other),
		cmocka_unit_test(test_fcntl_nonblock_and_loopback_goes_kernel),
		cmocka_unit_test(
			test_nonblocking_connect_refused_sets_so_error),
		cmocka_unit_test(test_connect_names_write_read_peek_eof),
		cmocka_unit_test(test_reset_econnreset_then_eof_and_epipe),
		cmocka_unit_test(test_listen_accept4_flags_and_peer),
		cmocka_unit_test(test_close_listener_stops_port_and_relisten),
		cmocka_unit_test(test_epoll_level_edge_oneshot_mixed_with_pipe),
		cmocka_unit_test(test_select_and_poll_mix_tas_and_pipe),
		cmocka_unit_test(test_blocked_reader_thread_wakes_on_data),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
