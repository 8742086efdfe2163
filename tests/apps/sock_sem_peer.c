/* sock_sem_peer.c - sock_semantics: the peer process, its half of every
 * test, driven by the CMocka process over the control socket */
#include "sock_sem.h"

/* ---- the peer process: its half of every test ---- */

static char perr[240];

#define PCHK(c)                                                         \
	do {                                                            \
		if (!(c)) {                                             \
			snprintf(perr, sizeof(perr),                    \
				 "%s:%d: %s (errno %d %s)", __func__,   \
				 __LINE__, #c, errno, strerror(errno)); \
			return -1;                                      \
		}                                                       \
	} while (0)

#define PERR(expr, e)                                                       \
	do {                                                                \
		long r_;                                                    \
		errno = 0;                                                  \
		r_ = (long)(expr);                                          \
		if (r_ != -1 || errno != (e)) {                             \
			snprintf(perr, sizeof(perr),                        \
				 "%s:%d: %s = %ld errno %d, want %s",       \
				 __func__, __LINE__, #expr, r_, errno, #e); \
			return -1;                                          \
		}                                                           \
	} while (0)

/* Echo everything on @c until EOF; then close it. */
static int echo_conn(int c)
{
	static uint8_t buf[65536];
	ssize_t n;

	while ((n = tas_read(c, buf, sizeof(buf))) > 0)
		PCHK(write_all(c, buf, (size_t)n) == 0);
	PCHK(n == 0);
	PCHK(tas_close(c) == 0);
	return 0;
}

/* Listen on PORT(0), accept @n connections one after another, echo. */
static int peer_echo_n(int n)
{
	int l = tcp_listen(PORT(0), 4, 0);

	PCHK(l >= 0);
	sync_put(1);
	for (int i = 0; i < n; i++) {
		int c = tas_accept(l, NULL, NULL);

		PCHK(c >= 0);
		PCHK(set_tmo(c, TMO_MS) == 0);
		if (echo_conn(c))
			return -1;
	}
	PCHK(tas_close(l) == 0);
	return 0;
}

static int peer_echo(void)
{
	return peer_echo_n(1);
}

/*
 * Sends on command: v > 0 sends v bytes of pattern 7 (v >= 100000: after
 * 200 ms, v - 100000 bytes), -2 shuts down writing, -1 ends.
 */
static int peer_sender(void)
{
	static uint8_t buf[65536];
	uint64_t off = 0;
	int l = tcp_listen(PORT(0), 4, 0), c, v;

	PCHK(l >= 0);
	sync_put(1);
	c = tas_accept(l, NULL, NULL);
	PCHK(c >= 0);
	PCHK(set_tmo(c, TMO_MS) == 0);
	for (;;) {
		v = sync_get();
		PCHK(v != SYNC_FAIL);
		if (v == -1)
			break;
		if (v == -2) {
			PCHK(tas_shutdown(c, SHUT_WR) == 0);
			continue;
		}
		if (v >= 100000) {
			sleep_ms(200);
			v -= 100000;
		}
		PCHK(v > 0 && v <= (int)sizeof(buf));
		pat_fill(buf, off, (size_t)v, 7);
		PCHK(write_all(c, buf, (size_t)v) == 0);
		off += (uint64_t)v;
	}
	PCHK(tas_close(c) == 0);
	PCHK(tas_close(l) == 0);
	return 0;
}

static int peer_blocking(void)
{
	struct sockaddr_in sa, me;
	socklen_t len = sizeof(sa), ml = sizeof(me);
	int l = tcp_listen(PORT(0), 4, 0), c;

	PCHK(l >= 0);
	sync_put(1);
	c = tas_accept(l, (struct sockaddr *)&sa, &len);
	PCHK(c >= 0);
	PCHK(set_tmo(c, TMO_MS) == 0);
	PCHK(len == sizeof(sa) && addr_is(&sa, ip_a, -1));
	PCHK(tas_getsockname(c, (struct sockaddr *)&me, &ml) == 0);
	PCHK(ml == sizeof(me) && addr_is(&me, ip_b, PORT(0)));
	len = sizeof(me);
	PCHK(tas_getpeername(c, (struct sockaddr *)&me, &len) == 0);
	PCHK(memcmp(&me, &sa, sizeof(sa)) == 0);
	sync_put(ntohs(sa.sin_port));
	if (echo_conn(c))
		return -1;
	PCHK(tas_close(l) == 0);
	return 0;
}

static int peer_nbconnect(void)
{
	int l = tcp_listen(PORT(0), 4, 0), c;

	PCHK(l >= 0);
	sync_put(1);
	c = tas_accept(l, NULL, NULL);
	PCHK(c >= 0);
	PCHK(sync_get() == 1);
	PCHK(tas_send(c, "ok", 2, 0) == 2);
	PCHK(sync_get() == 2);
	PCHK(tas_close(c) == 0);
	PCHK(tas_close(l) == 0);
	return 0;
}

static int peer_partial(void)
{
	static uint8_t buf[65536];
	uint64_t got = 0;
	int l = tcp_listen(PORT(0), 4, 0), c;
	ssize_t n;

	PCHK(l >= 0);
	sync_put(1);
	c = tas_accept(l, NULL, NULL);
	PCHK(c >= 0);
	PCHK(set_tmo(c, TMO_MS) == 0);
	PCHK(sync_get() == 1); /* the writer saw its ring fill up */
	while ((n = tas_read(c, buf, sizeof(buf))) > 0) {
		PCHK(pat_check(buf, got, (size_t)n, 3) < 0);
		got += (uint64_t)n;
	}
	PCHK(n == 0);
	sync_put((int)got);
	PCHK(sync_get() == 2);
	pat_fill(buf, 0, 3150, 4);
	PCHK(write_all(c, buf, 100) == 0);
	PCHK(sync_get() == 3);
	PCHK(write_all(c, buf + 100, 50) == 0);
	PCHK(sync_get() == 4);
	for (int i = 0; i < 3; i++) {
		PCHK(write_all(c, buf + 150 + 1000 * i, 1000) == 0);
		sleep_ms(50);
	}
	PCHK(sync_get() == 5);
	PCHK(tas_close(c) == 0);
	PCHK(tas_close(l) == 0);
	return 0;
}

static int peer_peek(void)
{
	static uint8_t buf[65536];
	int l = tcp_listen(PORT(0), 4, 0), c, total;
	uint64_t got = 0;
	ssize_t n;

	PCHK(l >= 0);
	sync_put(1);
	c = tas_accept(l, NULL, NULL);
	PCHK(c >= 0);
	PCHK(set_tmo(c, TMO_MS) == 0);
	PCHK(sync_get() == 1);
	PCHK(tas_send(c, "hello, world!", 13, 0) == 13);
	total = sync_get();
	PCHK(total > 0);
	while ((n = tas_read(c, buf, sizeof(buf))) > 0) {
		PCHK(pat_check(buf, got, (size_t)n, 5) < 0);
		got += (uint64_t)n;
	}
	PCHK(n == 0 && got == (uint64_t)total);
	PCHK(tas_close(c) == 0);
	PCHK(tas_close(l) == 0);
	return 0;
}

static int peer_eof(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	int l = tcp_listen(PORT(0), 4, 0), c, ep;
	char b[8];

	PCHK(l >= 0);
	sync_put(1);
	c = tas_accept(l, NULL, NULL);
	PCHK(c >= 0);
	PCHK(set_tmo(c, TMO_MS) == 0);
	ep = tas_epoll_create1(EPOLL_CLOEXEC);
	PCHK(ep >= 0);
	PCHK(tas_epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	PCHK(read_full(c, b, 3) == 0 && memcmp(b, "abc", 3) == 0);
	PCHK(tas_read(c, b, sizeof(b)) == 0); /* FIN: EOF */
	PCHK(tas_epoll_wait(ep, &ev, 1, 5000) == 1);
	PCHK((ev.events & (EPOLLIN | EPOLLRDHUP)) == (EPOLLIN | EPOLLRDHUP));
	PCHK(!(ev.events & EPOLLHUP)); /* only one direction is closed */
	PCHK(wait_io(c, POLLOUT, 1000) & POLLOUT); /* still writable */
	PCHK(write_all(c, "reply", 5) == 0);
	PCHK(tas_close(c) == 0);
	PCHK(tas_close(ep) == 0);
	PCHK(tas_close(l) == 0);
	return 0;
}

static int peer_reset(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int l = tcp_listen(PORT(0), 4, 0), c;

	PCHK(l >= 0);
	sync_put(1);
	for (int i = 1; i <= 3; i++) {
		c = tas_accept(l, NULL, NULL);
		PCHK(c >= 0);
		PCHK(sync_get() == i);
		/* 1000 bytes arrived and stay unread: close sends RST */
		PCHK(wait_nread(c, 1000));
		PCHK(tas_setsockopt(c, SOL_SOCKET, SO_LINGER, &lg,
				    sizeof(lg)) == 0);
		PCHK(tas_close(c) == 0);
		sync_put(i);
	}
	PCHK(tas_close(l) == 0);
	return 0;
}

static int peer_reuse(void)
{
	struct sockaddr_in a0 = sin_of("0.0.0.0", PORT(0));
	struct sockaddr_in a1 = sin_of("0.0.0.0", PORT(1));
	struct pollfd p[3];
	int a, b, r1, r2, x, fds[3], n[3] = { 0, 0, 0 }, total = 0;

	/* SO_REUSEADDR: listen, close, listen on the same port at once */
	a = tas_socket(AF_INET, SOCK_STREAM, 0);
	PCHK(a >= 0);
	PCHK(set_int(a, SOL_SOCKET, SO_REUSEADDR, 1) == 0);
	PCHK(get_int(a, SOL_SOCKET, SO_REUSEADDR) == 1);
	PCHK(tas_bind(a, (struct sockaddr *)&a0, sizeof(a0)) == 0);
	PCHK(tas_listen(a, 8) == 0);
	PCHK(tas_close(a) == 0);
	b = tas_socket(AF_INET, SOCK_STREAM, 0);
	PCHK(b >= 0);
	PCHK(set_int(b, SOL_SOCKET, SO_REUSEADDR, 1) == 0);
	PCHK(tas_bind(b, (struct sockaddr *)&a0, sizeof(a0)) == 0);
	PCHK(tas_listen(b, 8) == 0);
	/* SO_REUSEPORT: two listeners share a port */
	r1 = tas_socket(AF_INET, SOCK_STREAM, 0);
	r2 = tas_socket(AF_INET, SOCK_STREAM, 0);
	PCHK(r1 >= 0 && r2 >= 0);
	PCHK(set_int(r1, SOL_SOCKET, SO_REUSEPORT, 1) == 0);
	PCHK(set_int(r2, SOL_SOCKET, SO_REUSEPORT, 1) == 0);
	PCHK(get_int(r2, SOL_SOCKET, SO_REUSEPORT) == 1);
	PCHK(tas_bind(r1, (struct sockaddr *)&a1, sizeof(a1)) == 0);
	PCHK(tas_bind(r2, (struct sockaddr *)&a1, sizeof(a1)) == 0);
	PCHK(tas_listen(r1, 8) == 0);
	PCHK(tas_listen(r2, 8) == 0);
	/* without SO_REUSEPORT the port is taken */
	x = tas_socket(AF_INET, SOCK_STREAM, 0);
	PCHK(x >= 0);
	PCHK(tas_bind(x, (struct sockaddr *)&a1, sizeof(a1)) == 0);
	PERR(tas_listen(x, 8), EADDRINUSE);
	PCHK(tas_close(x) == 0);
	x = tas_socket(AF_INET, SOCK_STREAM, 0);
	PCHK(x >= 0);
	PCHK(tas_bind(x, (struct sockaddr *)&a0, sizeof(a0)) == 0);
	PERR(tas_listen(x, 8), EADDRINUSE);
	PCHK(tas_close(x) == 0);
	sync_put(1);
	/* serve 1 connection on b and 8 on the shared port */
	fds[0] = b;
	fds[1] = r1;
	fds[2] = r2;
	while (total < 9) {
		for (int i = 0; i < 3; i++)
			p[i] = (struct pollfd){ .fd = fds[i],
						.events = POLLIN };
		PCHK(tas_poll(p, 3, TMO_MS) > 0);
		for (int i = 0; i < 3; i++) {
			uint32_t id;
			int c;

			if (!(p[i].revents & POLLIN))
				continue;
			c = tas_accept(fds[i], NULL, NULL);
			PCHK(c >= 0);
			PCHK(set_tmo(c, TMO_MS) == 0);
			PCHK(read_full(c, &id, 4) == 0);
			id ^= 0xa5a5a5a5u;
			PCHK(write_all(c, &id, 4) == 0);
			PCHK(tas_close(c) == 0);
			n[i]++;
			total++;
		}
	}
	PCHK(n[0] == 1);
	sync_put(n[1] * 100 + n[2]);
	PCHK(tas_close(b) == 0);
	PCHK(tas_close(r1) == 0);
	PCHK(tas_close(r2) == 0);
	return 0;
}

static int peer_accept(void)
{
	struct sockaddr_in me, pa;
	socklen_t ml, pl;
	int lp, s[2];
	char b[2];

	lp = sync_get();
	PCHK(lp > 0);
	for (int i = 0; i < 2; i++) {
		s[i] = tcp_connect(ip_a, (uint16_t)lp);
		PCHK(s[i] >= 0);
		ml = sizeof(me);
		pl = sizeof(pa);
		PCHK(tas_getsockname(s[i], (struct sockaddr *)&me, &ml) == 0);
		PCHK(addr_is(&me, ip_b, -1) && ntohs(me.sin_port) != 0);
		PCHK(tas_getpeername(s[i], (struct sockaddr *)&pa, &pl) == 0);
		PCHK(addr_is(&pa, ip_a, lp));
		sync_put(ntohs(me.sin_port));
	}
	PCHK(read_full(s[0], b, 2) == 0 && memcmp(b, "yo", 2) == 0);
	PCHK(read_full(s[1], b, 2) == 0 && memcmp(b, "hi", 2) == 0);
	PCHK(sync_get() == 1);
	PCHK(tas_close(s[0]) == 0);
	PCHK(tas_close(s[1]) == 0);
	return 0;
}

static int peer_backlog(void)
{
	struct sockaddr_in a = sin_of(ip_a, 0);
	int s[5], done = 0;

	a.sin_port = htons(PORT(0));
	PCHK(sync_get() == 1);
	for (int i = 0; i < 5; i++) {
		s[i] = tas_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		PCHK(s[i] >= 0);
		PERR(tas_connect(s[i], (struct sockaddr *)&a, sizeof(a)),
		     EINPROGRESS);
	}
	sleep_ms(1500);
	for (int i = 0; i < 5; i++)
		if ((wait_io(s[i], POLLOUT, 0) & POLLOUT) &&
		    get_int(s[i], SOL_SOCKET, SO_ERROR) == 0)
			done++;
	sync_put(done);
	/* once the server accepts, every connection completes */
	for (int i = 0; i < 5; i++) {
		uint8_t id = (uint8_t)i;
		int r = wait_io(s[i], POLLOUT, 15000);

		PCHK(r & POLLOUT);
		PCHK(!(r & POLLERR));
		PCHK(get_int(s[i], SOL_SOCKET, SO_ERROR) == 0);
		PCHK(tas_send(s[i], &id, 1, 0) == 1);
	}
	PCHK(sync_get() == 2);
	for (int i = 0; i < 5; i++)
		PCHK(tas_close(s[i]) == 0);
	return 0;
}

struct acc_arg {
	int l;
	int id;
	int err;
};

static int peer_threads(void)
{
	static uint8_t buf[65536];
	int l1 = tcp_listen(PORT(1), 4, 0), l2 = tcp_listen(PORT(2), 4, 0);
	int s[4], c;
	uint64_t off;

	PCHK(l1 >= 0 && l2 >= 0);
	sync_put(1);
	/* a: 4 connections to the server's threads sharing a listener */
	PCHK(sync_get() == 1);
	for (int i = 0; i < 4; i++) {
		uint32_t id = (uint32_t)i + 1;

		s[i] = tcp_connect(ip_a, PORT(0));
		PCHK(s[i] >= 0);
		PCHK(write_all(s[i], &id, 4) == 0);
	}
	for (int i = 0; i < 4; i++) {
		PCHK(read_full(s[i], buf, 65536) == 0);
		PCHK(pat_check(buf, 0, 65536, (uint32_t)i + 1) < 0);
		PCHK(tas_read(s[i], buf, 1) == 0);
		PCHK(tas_close(s[i]) == 0);
	}
	/* b: echo for the full-duplex connection */
	c = tas_accept(l1, NULL, NULL);
	PCHK(c >= 0);
	PCHK(set_tmo(c, TMO_MS) == 0);
	if (echo_conn(c))
		return -1;
	/* c: 2 MB of bytes i % 251 for two readers, then close */
	c = tas_accept(l2, NULL, NULL);
	PCHK(c >= 0);
	PCHK(set_tmo(c, TMO_MS) == 0);
	for (off = 0; off < (2u << 20); off += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)((off + i) % 251);
		PCHK(write_all(c, buf, sizeof(buf)) == 0);
	}
	PCHK(tas_close(c) == 0);
	PCHK(tas_close(l1) == 0);
	PCHK(tas_close(l2) == 0);
	return 0;
}

/* ---- the test list: peer side ---- */

static int (*const peer_fn[T_COUNT])(void) = {
	[T_BLOCKING] = peer_blocking, [T_NBCONNECT] = peer_nbconnect,
	[T_PARTIAL] = peer_partial,   [T_PEEK] = peer_peek,
	[T_EOF] = peer_eof,	      [T_RESET] = peer_reset,
	[T_REUSE] = peer_reuse,	      [T_OPTIONS] = peer_echo,
	[T_ACCEPT] = peer_accept,     [T_BACKLOG] = peer_backlog,
	[T_EPOLL] = peer_sender,      [T_MIX] = peer_sender,
	[T_THREADS] = peer_threads,
};

int peer_main(void)
{
	struct ctl_msg m;

	signal(SIGPIPE, SIG_IGN);
	if (tas_init()) {
		fprintf(stderr, "peer: tas_init failed\n");
		return 1;
	}
	for (;;) {
		int ret;

		if (ctl_recv(MSG_T_CMD, &m, -1))
			return 1;
		if (m.val < 0 || m.val >= T_COUNT)
			return 0;
		cur_test = m.val;
		perr[0] = 0;
		ret = peer_fn[m.val]();
		if (ret)
			fprintf(stderr, "peer: %s\n", perr);
		ctl_send(MSG_T_RESULT, ret, perr);
	}
}
