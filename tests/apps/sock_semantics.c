/*
 * sock_semantics.c - socket semantics of libtas_sockets with real traffic
 * between two running tas daemons (tests/apps/sockets_wire.sh starts them
 * on the wire backend)
 *
 * The CMocka process (TAS_SOCKET = daemon A, SEM_IP_A) runs the checks; at
 * start it execs itself as a peer process (--peer, TAS_SOCKET =
 * SEM_PEER_SOCKET, daemon B, SEM_IP_B) that plays the other end of every
 * test, driven over a Unix socketpair. Both ends use the tas_* API, so both
 * exercise the library. A test that fails restarts the peer.
 *
 * Covered: blocking and nonblocking I/O (EAGAIN, EINPROGRESS, EALREADY,
 * EISCONN, SO_ERROR and the next connect() after a nonblocking connect,
 * ECONNREFUSED from a closed port), partial reads and writes, MSG_WAITALL,
 * EOF, ECONNRESET then EPIPE and SIGPIPE unless MSG_NOSIGNAL (the peer
 * closes with SO_LINGER 0 and unread data: RST), SO_REUSEADDR and
 * SO_REUSEPORT (EADDRINUSE without it), common options (TCP_NODELAY ...),
 * getsockname/getpeername on both ends, shutdown(SHUT_WR) -> EOF,
 * EPOLLRDHUP, listen backlog, accept4 flags, MSG_PEEK, MSG_DONTWAIT,
 * FIONREAD, epoll level/edge/oneshot, epoll/poll/select over a TAS socket,
 * a pipe, an eventfd, a timerfd and a UDP socket in one call (and no
 * spinning while they sleep), threads sharing a listener and a connection.
 * Every byte is checked against a position-dependent pattern.
 *
 * Usage: sock_semantics [--list | TEST-NAME]   (env: TAS_SOCKET,
 * SEM_PEER_SOCKET, SEM_IP_A, SEM_IP_B, SEM_PORT_BASE)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tas_sockets.h>

#define TMO_MS 10000	   /* SO_RCVTIMEO/SO_SNDTIMEO of every socket */
#define CTL_TMO_MS 20000   /* waiting for the other process */
#define SYNC_FAIL (-99999) /* sync_get() failed */

/* ---- shared by both processes ---- */

static const char *ip_a = "198.18.0.11"; /* the CMocka process's daemon */
static const char *ip_b = "198.18.0.12"; /* the peer's daemon */
static int port_base = 7600;
static int cur_test;
static int ctl_fd = -1;

/* Port @k of the running test: both processes agree on it. */
#define PORT(k) ((uint16_t)(port_base + 16 * cur_test + (k)))

enum { MSG_T_CMD = 1, MSG_T_SYNC, MSG_T_RESULT };

struct ctl_msg {
	int32_t type;
	int32_t val;
	char text[240];
};

static int ctl_send(int type, int val, const char *text)
{
	struct ctl_msg m = { .type = type, .val = val };

	if (text)
		snprintf(m.text, sizeof(m.text), "%s", text);
	return send(ctl_fd, &m, sizeof(m), MSG_NOSIGNAL) == sizeof(m) ? 0 : -1;
}

static int ctl_recv(int type, struct ctl_msg *m, int ms)
{
	struct pollfd p = { .fd = ctl_fd, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return -1;
	if (recv(ctl_fd, m, sizeof(*m), 0) != sizeof(*m))
		return -1;
	return m->type == type ? 0 : -1;
}

static void sync_put(int v)
{
	ctl_send(MSG_T_SYNC, v, NULL);
}

static int sync_get(void)
{
	struct ctl_msg m;

	return ctl_recv(MSG_T_SYNC, &m, CTL_TMO_MS) ? SYNC_FAIL : m.val;
}

/* Byte @i of pattern @seed: no short period, differs per seed. */
static uint8_t pat(uint64_t i, uint32_t seed)
{
	uint32_t x = (uint32_t)i * 0x9E3779B1u ^ (uint32_t)(i >> 32) ^
		     (seed * 0x85EBCA6Bu);

	x ^= x >> 15;
	x *= 0x2C1B3C6Du;
	x ^= x >> 12;
	return (uint8_t)(x >> 8);
}

static void pat_fill(uint8_t *b, uint64_t off, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pat(off + i, seed);
}

/* Return: -1 if @b holds bytes [off, off + n) of @seed, else the index. */
static long pat_check(const uint8_t *b, uint64_t off, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(off + i, seed))
			return (long)i;
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* Whether @a is @ip:@port (@port < 0: any port). */
static bool addr_is(const struct sockaddr_in *a, const char *ip, int port)
{
	struct sockaddr_in w = sin_of(ip, 0);

	return a->sin_family == AF_INET &&
	       a->sin_addr.s_addr == w.sin_addr.s_addr &&
	       (port < 0 || ntohs(a->sin_port) == port);
}

static int set_tmo(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (tas_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -1;
	return tas_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int set_int(int fd, int level, int opt, int v)
{
	return tas_setsockopt(fd, level, opt, &v, sizeof(v));
}

static int get_int(int fd, int level, int opt)
{
	int v = -12345;
	socklen_t l = sizeof(v);

	if (tas_getsockopt(fd, level, opt, &v, &l))
		return -12345;
	return v;
}

/* A TAS listener on 0.0.0.0:@port (SO_REUSEADDR). Return: fd or -1. */
static int tcp_listen(uint16_t port, int backlog, int flags)
{
	struct sockaddr_in a = sin_of("0.0.0.0", port);
	int fd = tas_socket(AF_INET, SOCK_STREAM | flags, 0);

	if (fd < 0)
		return -1;
	if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) || set_tmo(fd, TMO_MS) ||
	    tas_bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    tas_listen(fd, backlog)) {
		tas_close(fd);
		return -1;
	}
	return fd;
}

/* A blocking TAS connection to @ip:@port. Return: fd or -1. */
static int tcp_connect(const char *ip, uint16_t port)
{
	struct sockaddr_in a = sin_of(ip, port);
	int fd = tas_socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (set_tmo(fd, TMO_MS) ||
	    tas_connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		int e = errno;

		tas_close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int write_all(int fd, const void *b, size_t n)
{
	const uint8_t *p = b;

	while (n > 0) {
		ssize_t k = tas_write(fd, p, n);

		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Read exactly @n bytes (blocking). Return: 0, or -1 (errno 0 at EOF). */
static int read_full(int fd, void *b, size_t n)
{
	uint8_t *p = b;

	while (n > 0) {
		ssize_t k = tas_read(fd, p, n);

		if (k <= 0) {
			if (k == 0)
				errno = 0;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* poll one fd. Return: revents, 0 on timeout, -1 on error. */
static int wait_io(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = tas_poll(&p, 1, ms);

	return r < 0 ? -1 : r == 0 ? 0 : p.revents;
}

/* Bytes readable on @fd (FIONREAD), -1 on error. */
static int nread(int fd)
{
	int n = -1;

	return tas_ioctl(fd, FIONREAD, &n) ? -1 : n;
}

/* Wait until FIONREAD reaches @n (5 s at most). */
static bool wait_nread(int fd, int n)
{
	int64_t end = now_ms() + 5000;

	while (now_ms() < end) {
		if (nread(fd) >= n)
			return true;
		wait_io(fd, POLLIN, 50);
		sleep_ms(5);
	}
	return nread(fd) >= n;
}

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

/* ---- the test list: CMocka side and peer side ---- */

enum {
	T_BLOCKING,
	T_NBCONNECT,
	T_PARTIAL,
	T_PEEK,
	T_EOF,
	T_RESET,
	T_REUSE,
	T_OPTIONS,
	T_ACCEPT,
	T_BACKLOG,
	T_EPOLL,
	T_MIX,
	T_THREADS,
	T_COUNT
};

static int (*const peer_fn[T_COUNT])(void) = {
	[T_BLOCKING] = peer_blocking, [T_NBCONNECT] = peer_nbconnect,
	[T_PARTIAL] = peer_partial,   [T_PEEK] = peer_peek,
	[T_EOF] = peer_eof,	      [T_RESET] = peer_reset,
	[T_REUSE] = peer_reuse,	      [T_OPTIONS] = peer_echo,
	[T_ACCEPT] = peer_accept,     [T_BACKLOG] = peer_backlog,
	[T_EPOLL] = peer_sender,      [T_MIX] = peer_sender,
	[T_THREADS] = peer_threads,
};

static int peer_main(void)
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

/* ---- the CMocka side ---- */

static const char *peer_sock;
static pid_t peer_pid = -1;
static bool peer_busy;
static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static int peer_spawn(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -1;
	peer_pid = fork();
	if (peer_pid < 0)
		return -1;
	if (peer_pid == 0) {
		char fdbuf[16];
		int fd = dup(sv[1]); /* without close-on-exec */

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(fdbuf, sizeof(fdbuf), "%d", fd);
		setenv("TAS_SOCKET", peer_sock, 1);
		execl("/proc/self/exe", "sock_semantics", "--peer", fdbuf,
		      (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	ctl_fd = sv[0];
	return 0;
}

static void peer_stop(void)
{
	if (peer_pid > 0) {
		ctl_send(MSG_T_CMD, -1, NULL);
		if (peer_busy)
			kill(peer_pid, SIGKILL);
		waitpid(peer_pid, NULL, 0);
	}
	if (ctl_fd >= 0)
		close(ctl_fd);
	peer_pid = -1;
	ctl_fd = -1;
}

/* Start the peer's half of test @t. */
static void begin(int t)
{
	cur_test = t;
	peer_busy = true;
	assert_int_equal(ctl_send(MSG_T_CMD, t, NULL), 0);
}

/* Wait for the peer's half to end; fail with its message. */
static void finish(void)
{
	struct ctl_msg m;

	if (ctl_recv(MSG_T_RESULT, &m, 30000))
		fail_msg("peer did not finish");
	if (m.val != 0)
		fail_msg("peer: %s", m.text);
	peer_busy = false;
}

static int get(void)
{
	int v = sync_get();

	if (v == SYNC_FAIL)
		fail_msg("no word from the peer");
	return v;
}

static int test_teardown(void **state)
{
	(void)state;
	if (peer_busy) {
		/* a failed test: the peer may be stuck in its half */
		peer_stop();
		peer_busy = false;
		return peer_spawn();
	}
	return 0;
}

#define EXPECT_ERR(expr, e)                                                    \
	do {                                                                   \
		long r_;                                                       \
		int e_;                                                        \
		errno = 0;                                                     \
		r_ = (long)(expr);                                             \
		e_ = errno;                                                    \
		if (r_ != -1 || e_ != (e))                                     \
			fail_msg("%s = %ld, errno %d (%s), want -1 %s", #expr, \
				 r_, e_, strerror(e_), #e);                    \
	} while (0)

#define EXPECT_OK(expr)                                                       \
	do {                                                                  \
		long r_;                                                      \
		errno = 0;                                                    \
		r_ = (long)(expr);                                            \
		if (r_ < 0)                                                   \
			fail_msg("%s = %ld, errno %d (%s)", #expr, r_, errno, \
				 strerror(errno));                            \
	} while (0)

static void expect_pat(const uint8_t *b, uint64_t off, size_t n, uint32_t seed)
{
	long bad = pat_check(b, off, n, seed);

	if (bad >= 0)
		fail_msg("byte %llu differs (pattern %u)",
			 (unsigned long long)(off + (uint64_t)bad), seed);
}

/*
 * Blocking connect, names on both ends, one blocking write of 64 KB,
 * reads of odd sizes, writev/readv, SHUT_WR -> EOF, EPIPE after SHUT_WR.
 */
static void t_blocking(void **state)
{
	static uint8_t wb[65536 + 23010], rb[65536];
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	const size_t sizes[] = { 1, 7, 100, 1460, 4096, 65536 };
	struct sockaddr_in dst;
	struct iovec iov[3];
	size_t off = 0, k = 0;
	int s, lport;
	ssize_t n;

	(void)state;
	begin(T_BLOCKING);
	assert_int_equal(get(), 1);
	s = tas_socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	EXPECT_ERR(tas_getpeername(s, (struct sockaddr *)&sa, &len), ENOTCONN);
	EXPECT_OK(set_tmo(s, TMO_MS));
	dst = sin_of(ip_b, PORT(0));
	EXPECT_OK(tas_connect(s, (struct sockaddr *)&dst, sizeof(dst)));
	len = sizeof(sa);
	EXPECT_OK(tas_getsockname(s, (struct sockaddr *)&sa, &len));
	assert_int_equal(len, sizeof(sa));
	assert_true(addr_is(&sa, ip_a, -1));
	lport = ntohs(sa.sin_port);
	assert_int_not_equal(lport, 0);
	len = sizeof(sa);
	EXPECT_OK(tas_getpeername(s, (struct sockaddr *)&sa, &len));
	assert_true(addr_is(&sa, ip_b, PORT(0)));
	assert_int_equal(get(), lport); /* the peer saw our real port */

	/* a blocking write returns when every byte is in the send ring */
	pat_fill(wb, 0, sizeof(wb), 1);
	assert_int_equal(tas_write(s, wb, 65536), 65536);
	while (off < 65536) {
		size_t want = sizes[k++ % 6];

		if (want > 65536 - off)
			want = 65536 - off;
		n = tas_read(s, rb, want);
		assert_true(n > 0 && (size_t)n <= want);
		expect_pat(rb, off, (size_t)n, 1);
		off += (size_t)n;
	}

	/* writev of 3 pieces, readv into 3 pieces of other sizes */
	iov[0] = (struct iovec){ wb + 65536, 10 };
	iov[1] = (struct iovec){ wb + 65546, 3000 };
	iov[2] = (struct iovec){ wb + 68546, 20000 };
	assert_int_equal(tas_writev(s, iov, 3), 23010);
	off = 0;
	while (off < 23010) {
		size_t left = 23010 - off, a = left < 5 ? left : 5;
		size_t b = left - a < 1000 ? left - a : 1000;

		iov[0] = (struct iovec){ rb + off, a };
		iov[1] = (struct iovec){ rb + off + a, b };
		iov[2] = (struct iovec){ rb + off + a + b, left - a - b };
		n = tas_readv(s, iov, 3);
		assert_true(n > 0);
		off += (size_t)n;
	}
	expect_pat(rb, 65536, 23010, 1);

	/* SHUT_WR: the peer reads EOF and closes: we read EOF */
	EXPECT_OK(tas_shutdown(s, SHUT_WR));
	assert_int_equal(tas_read(s, rb, 100), 0);
	assert_int_equal(tas_read(s, rb, 100), 0);
	EXPECT_ERR(tas_send(s, "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT_OK(tas_close(s));
	finish();
}

/*
 * Nonblocking connect: EINPROGRESS, EALREADY, POLLOUT, SO_ERROR 0, the
 * next connect() 0 then EISCONN, EAGAIN; to a closed port: POLLERR and ECONNREFUSED from
 * SO_ERROR, from the next connect(), and from a blocking connect.
 */
static void t_nbconnect(void **state)
{
	struct sockaddr_in dst = sin_of(ip_b, 0), closed = sin_of(ip_b, 0);
	int s, r, fl, one = 1;
	char b[8];

	(void)state;
	begin(T_NBCONNECT);
	dst.sin_port = htons(PORT(0));
	closed.sin_port = htons(PORT(15));
	assert_int_equal(get(), 1);
	s = tas_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(s >= 0);
	EXPECT_ERR(tas_connect(s, (struct sockaddr *)&dst, sizeof(dst)),
		   EINPROGRESS);
	/* as Linux: EALREADY while in progress; once it completed, the
	 * next connect() says 0 (once), later ones EISCONN */
	errno = 0;
	r = tas_connect(s, (struct sockaddr *)&dst, sizeof(dst));
	if (!(r == 0 || (r == -1 && errno == EALREADY)))
		fail_msg("second connect: %d errno %d", r, errno);
	fl = wait_io(s, POLLOUT, 5000);
	assert_true(fl & POLLOUT);
	assert_false(fl & (POLLERR | POLLHUP));
	assert_int_equal(get_int(s, SOL_SOCKET, SO_ERROR), 0);
	if (r != 0)
		EXPECT_OK(tas_connect(s, (struct sockaddr *)&dst, sizeof(dst)));
	EXPECT_ERR(tas_connect(s, (struct sockaddr *)&dst, sizeof(dst)),
		   EISCONN);
	EXPECT_ERR(tas_recv(s, b, sizeof(b), 0), EAGAIN);
	sync_put(1);
	assert_true(wait_io(s, POLLIN, 5000) & POLLIN);
	assert_int_equal(tas_recv(s, b, sizeof(b), 0), 2);
	assert_memory_equal(b, "ok", 2);

	/* refused, seen through POLLERR and SO_ERROR (O_NONBLOCK by fcntl) */
	r = tas_socket(AF_INET, SOCK_STREAM, 0);
	assert_true(r >= 0);
	fl = tas_fcntl(r, F_GETFL);
	EXPECT_OK(tas_fcntl(r, F_SETFL, fl | O_NONBLOCK));
	EXPECT_ERR(tas_connect(r, (struct sockaddr *)&closed, sizeof(closed)),
		   EINPROGRESS);
	fl = wait_io(r, POLLOUT, 5000);
	assert_true(fl & POLLERR);
	assert_true(fl & POLLOUT);
	assert_int_equal(get_int(r, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	assert_int_equal(get_int(r, SOL_SOCKET, SO_ERROR), 0);
	EXPECT_OK(tas_close(r));

	/* refused, reported by the next connect() (FIONBIO) */
	r = tas_socket(AF_INET, SOCK_STREAM, 0);
	assert_true(r >= 0);
	EXPECT_OK(tas_ioctl(r, FIONBIO, &one));
	EXPECT_ERR(tas_connect(r, (struct sockaddr *)&closed, sizeof(closed)),
		   EINPROGRESS);
	assert_true(wait_io(r, POLLOUT, 5000) & POLLOUT);
	EXPECT_ERR(tas_connect(r, (struct sockaddr *)&closed, sizeof(closed)),
		   ECONNREFUSED);
	EXPECT_OK(tas_close(r));

	/* refused, blocking */
	r = tas_socket(AF_INET, SOCK_STREAM, 0);
	assert_true(r >= 0);
	EXPECT_OK(set_tmo(r, TMO_MS));
	EXPECT_ERR(tas_connect(r, (struct sockaddr *)&closed, sizeof(closed)),
		   ECONNREFUSED);
	EXPECT_OK(tas_close(r));
	sync_put(2);
	EXPECT_OK(tas_close(s));
	finish();
}

/*
 * Partial writes on a nonblocking socket until the rings are full (flow
 * control holds it), the rest after POLLOUT; partial reads (a short read
 * of a large buffer, 7-byte reads), MSG_WAITALL across 3 segments, EOF.
 */
static void t_partial(void **state)
{
	const size_t total_w = 4u << 20, chunk = 1u << 20;
	uint8_t *big = malloc(total_w), rb[4096];
	size_t total = 0, off;
	bool partial = false;
	int s, fl;
	ssize_t n;

	(void)state;
	assert_non_null(big);
	pat_fill(big, 0, total_w, 3);
	begin(T_PARTIAL);
	assert_int_equal(get(), 1);
	s = tcp_connect(ip_b, PORT(0));
	assert_true(s >= 0);
	fl = tas_fcntl(s, F_GETFL);
	EXPECT_OK(tas_fcntl(s, F_SETFL, fl | O_NONBLOCK));
	/* the peer does not read: write until EAGAIN and no POLLOUT */
	for (;;) {
		n = tas_write(s, big + total, chunk);
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			if (wait_io(s, POLLOUT, 300) == 0)
				break;
			continue;
		}
		assert_true(n > 0 && (size_t)n <= chunk);
		if ((size_t)n < chunk)
			partial = true;
		total += (size_t)n;
		assert_true(total < 2 * chunk); /* flow control holds */
	}
	assert_true(partial);
	print_message("nonblocking writes: %zu bytes until the peer's window "
		      "and our ring were full\n",
		      total);
	sync_put(1);
	while (total < total_w) {
		assert_true(wait_io(s, POLLOUT, 5000) & POLLOUT);
		n = tas_write(s, big + total, total_w - total);
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			continue;
		}
		total += (size_t)n;
	}
	EXPECT_OK(tas_shutdown(s, SHUT_WR));
	assert_int_equal(get(), (int)total_w); /* byte-exact at the peer */

	/* partial reads: blocking again */
	EXPECT_OK(tas_fcntl(s, F_SETFL, fl & ~O_NONBLOCK));
	sync_put(2); /* 100 bytes */
	n = tas_read(s, rb, sizeof(rb));
	assert_true(n > 0 && n <= 100);
	off = (size_t)n;
	if (off < 100)
		assert_int_equal(read_full(s, rb + off, 100 - off), 0);
	expect_pat(rb, 0, 100, 4);
	sync_put(3); /* 50 bytes, read 7 at a time */
	for (off = 0; off < 50; off += (size_t)n) {
		size_t want = 50 - off < 7 ? 50 - off : 7;

		n = tas_read(s, rb + off, want);
		assert_true(n > 0 && (size_t)n <= want);
	}
	expect_pat(rb, 100, 50, 4);
	sync_put(4); /* 3 x 1000 bytes, 50 ms apart */
	assert_int_equal(tas_recv(s, rb, 3000, MSG_WAITALL), 3000);
	expect_pat(rb, 150, 3000, 4);
	sync_put(5); /* the peer closes */
	assert_int_equal(tas_read(s, rb, sizeof(rb)), 0);
	EXPECT_OK(tas_close(s));
	free(big);
	finish();
}

/*
 * MSG_DONTWAIT on a blocking socket (recv EAGAIN, send partial then
 * EAGAIN), FIONREAD, MSG_PEEK of part and all, reads after a peek.
 */
static void t_peek(void **state)
{
	const size_t chunk = 1u << 20;
	uint8_t *big = malloc(2 * chunk);
	size_t total = 0;
	bool partial = false;
	char b[64];
	int s;
	ssize_t n;

	(void)state;
	assert_non_null(big);
	pat_fill(big, 0, 2 * chunk, 5);
	begin(T_PEEK);
	assert_int_equal(get(), 1);
	s = tcp_connect(ip_b, PORT(0));
	assert_true(s >= 0);
	EXPECT_ERR(tas_recv(s, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
	assert_int_equal(nread(s), 0);
	sync_put(1); /* "hello, world!" */
	assert_true(wait_nread(s, 13));
	assert_int_equal(nread(s), 13);
	assert_int_equal(tas_recv(s, b, 5, MSG_PEEK), 5);
	assert_memory_equal(b, "hello", 5);
	assert_int_equal(tas_recv(s, b, sizeof(b), MSG_PEEK), 13);
	assert_memory_equal(b, "hello, world!", 13);
	assert_int_equal(nread(s), 13);
	assert_int_equal(tas_recv(s, b, 6, 0), 6);
	assert_memory_equal(b, "hello,", 6);
	assert_int_equal(tas_recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT), 7);
	assert_memory_equal(b, " world!", 7);
	assert_int_equal(tas_recv(s, b, sizeof(b), 0), 7);
	assert_memory_equal(b, " world!", 7);
	EXPECT_ERR(tas_recv(s, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
	assert_int_equal(nread(s), 0);

	/* MSG_DONTWAIT sends while the peer does not read */
	for (;;) {
		n = tas_send(s, big + total, chunk, MSG_DONTWAIT);
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			if (wait_io(s, POLLOUT, 300) == 0)
				break;
			continue;
		}
		assert_true(n > 0 && (size_t)n <= chunk);
		if ((size_t)n < chunk)
			partial = true;
		total += (size_t)n;
		assert_true(total < chunk);
	}
	assert_true(partial);
	sync_put((int)total);
	EXPECT_OK(tas_shutdown(s, SHUT_WR));
	assert_int_equal(tas_read(s, b, sizeof(b)), 0);
	EXPECT_OK(tas_close(s));
	free(big);
	finish();
}

/*
 * shutdown(SHUT_WR): the peer reads the data, then EOF, and sees
 * EPOLLIN|EPOLLRDHUP while it can still write; its reply arrives, then
 * EOF here with EPOLLRDHUP and POLLHUP (both directions closed).
 */
static void t_eof(void **state)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	char b[8];
	int s, ep, r;

	(void)state;
	begin(T_EOF);
	assert_int_equal(get(), 1);
	s = tcp_connect(ip_b, PORT(0));
	assert_true(s >= 0);
	ep = tas_epoll_create1(0);
	assert_true(ep >= 0);
	EXPECT_OK(tas_epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	assert_int_equal(tas_send(s, "abc", 3, 0), 3);
	EXPECT_OK(tas_shutdown(s, SHUT_WR));
	EXPECT_ERR(tas_send(s, "x", 1, MSG_NOSIGNAL), EPIPE);
	assert_int_equal(read_full(s, b, 5), 0);
	assert_memory_equal(b, "reply", 5);
	assert_int_equal(tas_read(s, b, sizeof(b)), 0);
	assert_int_equal(tas_read(s, b, sizeof(b)), 0);
	assert_int_equal(tas_epoll_wait(ep, &ev, 1, 5000), 1);
	assert_int_equal(ev.events & (EPOLLIN | EPOLLRDHUP),
			 EPOLLIN | EPOLLRDHUP);
	r = wait_io(s, POLLIN | POLLRDHUP, 1000);
	assert_int_equal(r & (POLLIN | POLLRDHUP | POLLHUP),
			 POLLIN | POLLRDHUP | POLLHUP);
	EXPECT_OK(tas_close(ep));
	EXPECT_OK(tas_close(s));
	finish();
}

/* Connect and send 1000 bytes the peer will not read before its RST. */
static int reset_conn(int i)
{
	static uint8_t b[1000];
	int s = tcp_connect(ip_b, PORT(0)), r;

	assert_true(s >= 0);
	assert_int_equal(write_all(s, b, sizeof(b)), 0);
	sync_put(i);
	assert_int_equal(get(), i); /* closed with SO_LINGER 0 */
	r = wait_io(s, POLLIN, 5000);
	assert_true(r & POLLIN);
	assert_true(r & (POLLHUP | POLLERR));
	return s;
}

/*
 * The peer closes with unread data and SO_LINGER 0: RST. ECONNRESET once
 * (from recv, send or SO_ERROR), then reads give 0 and writes EPIPE;
 * SIGPIPE unless MSG_NOSIGNAL.
 */
static void t_reset(void **state)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	sig_atomic_t before;
	char b[16];
	int s;

	(void)state;
	begin(T_RESET);
	assert_int_equal(get(), 1);
	s = reset_conn(1);
	EXPECT_ERR(tas_recv(s, b, sizeof(b), 0), ECONNRESET);
	assert_int_equal(tas_recv(s, b, sizeof(b), 0), 0);
	EXPECT_ERR(tas_getpeername(s, (struct sockaddr *)&sa, &len), ENOTCONN);
	before = sigpipes;
	EXPECT_ERR(tas_send(s, "x", 1, MSG_NOSIGNAL), EPIPE);
	assert_int_equal(sigpipes, before);
	EXPECT_ERR(tas_send(s, "x", 1, 0), EPIPE);
	assert_int_equal(sigpipes, before + 1);
	EXPECT_ERR(tas_write(s, "x", 1), EPIPE);
	assert_int_equal(sigpipes, before + 2);
	EXPECT_OK(tas_close(s));

	s = reset_conn(2);
	before = sigpipes;
	EXPECT_ERR(tas_send(s, "x", 1, MSG_NOSIGNAL), ECONNRESET);
	EXPECT_ERR(tas_send(s, "x", 1, MSG_NOSIGNAL), EPIPE);
	assert_int_equal(sigpipes, before);
	EXPECT_OK(tas_close(s));

	s = reset_conn(3);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_ERROR), ECONNRESET);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_ERROR), 0);
	assert_int_equal(tas_recv(s, b, sizeof(b), 0), 0);
	EXPECT_OK(tas_close(s));
	finish();
}

/*
 * The peer re-listens on a port it just closed (SO_REUSEADDR), shares a
 * port between two SO_REUSEPORT listeners and gets EADDRINUSE without it;
 * 8 connections to the shared port reach both listeners.
 */
static void t_reuse(void **state)
{
	int v;

	(void)state;
	begin(T_REUSE);
	assert_int_equal(get(), 1);
	for (int i = 0; i < 9; i++) {
		uint32_t id = 1000u + (uint32_t)i, r = 0;
		int s = tcp_connect(ip_b, i == 0 ? PORT(0) : PORT(1));

		assert_true(s >= 0);
		assert_int_equal(write_all(s, &id, 4), 0);
		assert_int_equal(read_full(s, &r, 4), 0);
		assert_int_equal(r, id ^ 0xa5a5a5a5u);
		EXPECT_OK(tas_close(s));
	}
	v = get();
	print_message("SO_REUSEPORT: %d and %d connections per listener\n",
		      v / 100, v % 100);
	assert_int_equal(v / 100 + v % 100, 8);
	assert_true(v / 100 > 0 && v % 100 > 0);
	finish();
}

/*
 * Options are accepted and read back (TCP_NODELAY, SO_KEEPALIVE,
 * SO_SNDBUF, IP_TOS, SO_TYPE, SO_ACCEPTCONN), before and after connect;
 * 200 small ping-pongs with TCP_NODELAY arrive byte-exact.
 */
static void t_options(void **state)
{
	static uint8_t wb[200], rb[200];
	struct timeval tv;
	socklen_t len = sizeof(tv);
	struct sockaddr_in dst;
	int64_t t0;
	int s;

	(void)state;
	begin(T_OPTIONS);
	assert_int_equal(get(), 1);
	s = tas_socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	EXPECT_OK(set_int(s, IPPROTO_TCP, TCP_NODELAY, 1));
	assert_int_not_equal(get_int(s, IPPROTO_TCP, TCP_NODELAY), 0);
	EXPECT_OK(set_int(s, SOL_SOCKET, SO_KEEPALIVE, 1));
	assert_int_not_equal(get_int(s, SOL_SOCKET, SO_KEEPALIVE), 0);
	EXPECT_OK(set_int(s, SOL_SOCKET, SO_SNDBUF, 65536));
	assert_true(get_int(s, SOL_SOCKET, SO_SNDBUF) >= 65536);
	EXPECT_OK(set_int(s, IPPROTO_IP, IP_TOS, 0x10));
	assert_int_equal(get_int(s, IPPROTO_IP, IP_TOS), 0x10);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	EXPECT_OK(set_tmo(s, 7250));
	EXPECT_OK(tas_getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &len));
	assert_int_equal(tv.tv_sec, 7);
	dst = sin_of(ip_b, PORT(0));
	EXPECT_OK(tas_connect(s, (struct sockaddr *)&dst, sizeof(dst)));
	EXPECT_OK(set_int(s, IPPROTO_TCP, TCP_NODELAY, 1));
	assert_int_not_equal(get_int(s, IPPROTO_TCP, TCP_NODELAY), 0);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_ACCEPTCONN), 0);
	t0 = now_ms();
	for (int i = 1; i <= 200; i++) {
		pat_fill(wb, (uint64_t)i * 1000, (size_t)i, 8);
		assert_int_equal(tas_send(s, wb, (size_t)i, 0), i);
		assert_int_equal(read_full(s, rb, (size_t)i), 0);
		expect_pat(rb, (uint64_t)i * 1000, (size_t)i, 8);
	}
	print_message("200 ping-pongs with TCP_NODELAY in %lld ms\n",
		      (long long)(now_ms() - t0));
	EXPECT_OK(tas_shutdown(s, SHUT_WR));
	assert_int_equal(tas_read(s, rb, 1), 0);
	EXPECT_OK(tas_close(s));
	finish();
}

/*
 * Server side: a listener on port 0 gets a port (getsockname), nonblocking
 * accept says EAGAIN, bad accept4 flags EINVAL; accept4(SOCK_NONBLOCK |
 * SOCK_CLOEXEC) sets both; accept's address (also truncated) and
 * getpeername match the peer's own getsockname.
 */
static void t_accept(void **state)
{
	struct sockaddr_in a = sin_of("0.0.0.0", 0), sa, me;
	socklen_t len = sizeof(sa);
	int l, c, c2, lp, qp;
	char b[4];

	(void)state;
	begin(T_ACCEPT);
	l = tas_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(l >= 0);
	EXPECT_OK(tas_bind(l, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_OK(tas_listen(l, 4));
	EXPECT_OK(tas_getsockname(l, (struct sockaddr *)&sa, &len));
	lp = ntohs(sa.sin_port);
	assert_int_not_equal(lp, 0);
	assert_int_equal(get_int(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
	EXPECT_ERR(tas_accept(l, NULL, NULL), EAGAIN);
	EXPECT_ERR(tas_accept4(l, NULL, NULL, 1), EINVAL);
	sync_put(lp);

	qp = get();
	assert_true(wait_io(l, POLLIN, 5000) & POLLIN);
	len = sizeof(sa);
	c = tas_accept4(l, (struct sockaddr *)&sa, &len,
			SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(c >= 0);
	assert_int_equal(len, sizeof(sa));
	assert_true(addr_is(&sa, ip_b, qp));
	assert_true(tas_fcntl(c, F_GETFL) & O_NONBLOCK);
	assert_true(tas_fcntl(c, F_GETFD) & FD_CLOEXEC);
	EXPECT_ERR(tas_recv(c, b, sizeof(b), 0), EAGAIN);
	len = sizeof(me);
	EXPECT_OK(tas_getsockname(c, (struct sockaddr *)&me, &len));
	assert_true(addr_is(&me, ip_a, lp));
	len = sizeof(me);
	EXPECT_OK(tas_getpeername(c, (struct sockaddr *)&me, &len));
	assert_true(addr_is(&me, ip_b, qp));

	qp = get();
	assert_true(wait_io(l, POLLIN, 5000) & POLLIN);
	memset(&sa, 0, sizeof(sa));
	len = 4; /* room for family and port only */
	c2 = tas_accept4(l, (struct sockaddr *)&sa, &len, 0);
	assert_true(c2 >= 0);
	assert_int_equal(len, sizeof(sa));
	assert_int_equal(sa.sin_family, AF_INET);
	assert_int_equal(ntohs(sa.sin_port), qp);
	assert_int_equal(sa.sin_addr.s_addr, 0);
	assert_false(tas_fcntl(c2, F_GETFL) & O_NONBLOCK);
	assert_false(tas_fcntl(c2, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(tas_send(c2, "hi", 2, 0), 2);
	assert_int_equal(tas_send(c, "yo", 2, 0), 2);
	sync_put(1);
	EXPECT_OK(tas_close(c));
	EXPECT_OK(tas_close(c2));
	EXPECT_OK(tas_close(l));
	finish();
}

/*
 * listen(backlog 2) without accepting: of 5 nonblocking connects at most
 * 2 * backlog complete (the rest wait in SYN retransmission); once the
 * server accepts, all 5 complete and each delivers its byte.
 */
static void t_backlog(void **state)
{
	unsigned seen = 0;
	int l, done, n = 0;
	int64_t end;

	(void)state;
	begin(T_BACKLOG);
	l = tcp_listen(PORT(0), 2, SOCK_NONBLOCK);
	assert_true(l >= 0);
	sync_put(1);
	done = get();
	print_message("backlog 2: %d of 5 connects completed before accept\n",
		      done);
	assert_true(done >= 1 && done <= 4);
	end = now_ms() + 20000;
	while (n < 5 && now_ms() < end) {
		uint8_t id;
		int c;

		wait_io(l, POLLIN, 1000);
		c = tas_accept(l, NULL, NULL);
		if (c < 0) {
			assert_int_equal(errno, EAGAIN);
			continue;
		}
		EXPECT_OK(set_tmo(c, TMO_MS));
		assert_int_equal(tas_recv(c, &id, 1, MSG_WAITALL), 1);
		assert_true(id < 5);
		seen |= 1u << id;
		EXPECT_OK(tas_close(c));
		n++;
	}
	assert_int_equal(n, 5);
	assert_int_equal(seen, 0x1f);
	sync_put(2);
	EXPECT_OK(tas_close(l));
	finish();
}

static int ep_wait1(int ep, int ms, uint32_t *events)
{
	struct epoll_event ev[4];
	int n = tas_epoll_wait(ep, ev, 4, ms);

	if (n == 1 && events)
		*events = ev[0].events;
	return n;
}

/*
 * epoll with a TAS socket: level-triggered reports while data is there,
 * edge-triggered once per arrival (and EPOLLOUT once), EPOLLONESHOT once
 * until EPOLL_CTL_MOD, EPOLLRDHUP at the peer's FIN, EPOLL_CTL_DEL, a
 * pipe in the same instance.
 */
static void t_epoll(void **state)
{
	struct epoll_event ev;
	uint8_t b[64];
	uint32_t evs = 0;
	int s, lt, et, os, eo, rd, pfd[2];

	(void)state;
	begin(T_EPOLL);
	assert_int_equal(get(), 1);
	s = tcp_connect(ip_b, PORT(0));
	assert_true(s >= 0);
	assert_int_equal(pipe(pfd), 0);
	lt = tas_epoll_create1(0);
	et = tas_epoll_create1(0);
	os = tas_epoll_create1(0);
	eo = tas_epoll_create1(0);
	rd = tas_epoll_create1(0);
	assert_true(lt >= 0 && et >= 0 && os >= 0 && eo >= 0 && rd >= 0);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 1 };
	EXPECT_OK(tas_epoll_ctl(lt, EPOLL_CTL_ADD, s, &ev));
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 2 };
	EXPECT_OK(tas_epoll_ctl(lt, EPOLL_CTL_ADD, pfd[0], &ev));
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET };
	EXPECT_OK(tas_epoll_ctl(et, EPOLL_CTL_ADD, s, &ev));
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT };
	EXPECT_OK(tas_epoll_ctl(os, EPOLL_CTL_ADD, s, &ev));
	ev = (struct epoll_event){ .events = EPOLLOUT | EPOLLET };
	EXPECT_OK(tas_epoll_ctl(eo, EPOLL_CTL_ADD, s, &ev));
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLRDHUP };
	EXPECT_OK(tas_epoll_ctl(rd, EPOLL_CTL_ADD, s, &ev));
	EXPECT_ERR(tas_epoll_ctl(lt, EPOLL_CTL_ADD, s, &ev), EEXIST);

	assert_int_equal(tas_epoll_wait(lt, &ev, 1, 0), 0);
	assert_int_equal(ep_wait1(eo, 1000, &evs), 1); /* writable, once */
	assert_true(evs & EPOLLOUT);
	assert_int_equal(ep_wait1(eo, 100, NULL), 0);

	sync_put(10);
	assert_int_equal(tas_epoll_wait(lt, &ev, 1, 5000), 1);
	assert_int_equal(ev.data.u32, 1);
	assert_true(ev.events & EPOLLIN);
	assert_int_equal(tas_epoll_wait(lt, &ev, 1, 0), 1); /* still there */
	assert_int_equal(ep_wait1(et, 1000, &evs), 1);
	assert_true(evs & EPOLLIN);
	assert_int_equal(ep_wait1(et, 100, NULL), 0); /* no new edge */
	assert_int_equal(ep_wait1(os, 1000, NULL), 1);
	assert_int_equal(ep_wait1(os, 100, NULL), 0); /* disarmed */
	sync_put(5);
	assert_int_equal(ep_wait1(et, 5000, NULL), 1); /* a new edge */
	assert_true(wait_nread(s, 15));
	assert_int_equal(ep_wait1(os, 100, NULL), 0); /* still disarmed */
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT };
	EXPECT_OK(tas_epoll_ctl(os, EPOLL_CTL_MOD, s, &ev));
	assert_int_equal(ep_wait1(os, 0, NULL), 1);
	assert_int_equal(read_full(s, b, 15), 0);
	expect_pat(b, 0, 15, 7);
	assert_int_equal(tas_epoll_wait(lt, &ev, 1, 100), 0);
	assert_int_equal(ep_wait1(et, 100, NULL), 0);

	/* the pipe in the same instance */
	assert_int_equal(write(pfd[1], "p", 1), 1);
	assert_int_equal(tas_epoll_wait(lt, &ev, 1, 1000), 1);
	assert_int_equal(ev.data.u32, 2);
	assert_int_equal(read(pfd[0], b, 1), 1);

	/* EPOLLRDHUP when the peer shuts down writing */
	assert_int_equal(ep_wait1(rd, 0, NULL), 0);
	sync_put(-2);
	assert_int_equal(ep_wait1(rd, 5000, &evs), 1);
	assert_int_equal(evs & (EPOLLIN | EPOLLRDHUP), EPOLLIN | EPOLLRDHUP);
	assert_int_equal(tas_epoll_wait(lt, &ev, 1, 0), 1);
	assert_int_equal(tas_read(s, b, sizeof(b)), 0);
	EXPECT_OK(tas_epoll_ctl(lt, EPOLL_CTL_DEL, s, NULL));
	assert_int_equal(tas_epoll_wait(lt, &ev, 1, 0), 0);
	EXPECT_ERR(tas_epoll_ctl(lt, EPOLL_CTL_DEL, s, NULL), ENOENT);
	sync_put(-1);
	close(pfd[0]);
	close(pfd[1]);
	EXPECT_OK(tas_close(lt));
	EXPECT_OK(tas_close(et));
	EXPECT_OK(tas_close(os));
	EXPECT_OK(tas_close(eo));
	EXPECT_OK(tas_close(rd));
	EXPECT_OK(tas_close(s));
	finish();
}

/* ---- epoll, poll and select over a mix of fds ---- */

enum { MIX_TAS, MIX_PIPE, MIX_EVENT, MIX_TIMER, MIX_UDP, MIX_N };
enum { MECH_EPOLL, MECH_POLL, MECH_SELECT };
static const char *const mech_name[] = { "epoll", "poll", "select" };

struct mix {
	int fd[MIX_N];
	int pipe_w, udp_tx, ep;
	struct sockaddr_in udp_addr;
	uint64_t tas_off;
};

/* Wait for input on the mix. Return: bit i set if fd[i] is readable. */
static int mix_wait(struct mix *m, int mech, int ms)
{
	int mask = 0, r;

	if (mech == MECH_EPOLL) {
		struct epoll_event ev[MIX_N];

		r = tas_epoll_wait(m->ep, ev, MIX_N, ms);
		assert_true(r >= 0);
		for (int i = 0; i < r; i++)
			if (ev[i].events & EPOLLIN)
				mask |= 1 << ev[i].data.u32;
	} else if (mech == MECH_POLL) {
		struct pollfd p[MIX_N];

		for (int i = 0; i < MIX_N; i++)
			p[i] = (struct pollfd){ .fd = m->fd[i],
						.events = POLLIN };
		r = tas_poll(p, MIX_N, ms);
		assert_true(r >= 0);
		for (int i = 0; i < MIX_N; i++)
			if (p[i].revents & POLLIN)
				mask |= 1 << i;
	} else {
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		fd_set rs;
		int mx = 0;

		FD_ZERO(&rs);
		for (int i = 0; i < MIX_N; i++) {
			assert_true(m->fd[i] < FD_SETSIZE);
			FD_SET(m->fd[i], &rs);
			if (m->fd[i] > mx)
				mx = m->fd[i];
		}
		r = tas_select(mx + 1, &rs, NULL, NULL, &tv);
		assert_true(r >= 0);
		for (int i = 0; i < MIX_N; i++)
			if (FD_ISSET(m->fd[i], &rs))
				mask |= 1 << i;
	}
	return mask;
}

static void mix_trigger(struct mix *m, int i, int delay_ms)
{
	struct itimerspec its = { .it_value = { 0, 1000000L } };
	uint64_t one = 1;

	switch (i) {
	case MIX_TAS:
		sync_put(delay_ms ? 100000 + 64 : 64);
		break;
	case MIX_PIPE:
		assert_int_equal(write(m->pipe_w, "p", 1), 1);
		break;
	case MIX_EVENT:
		assert_int_equal(write(m->fd[MIX_EVENT], &one, 8), 8);
		break;
	case MIX_TIMER:
		if (delay_ms)
			its.it_value.tv_nsec = delay_ms * 1000000L;
		EXPECT_OK(timerfd_settime(m->fd[MIX_TIMER], 0, &its, NULL));
		break;
	case MIX_UDP:
		assert_int_equal(tas_sendto(m->udp_tx, "u", 1, 0,
					    (struct sockaddr *)&m->udp_addr,
					    sizeof(m->udp_addr)),
				 1);
		break;
	}
}

static void mix_drain(struct mix *m, int i)
{
	uint8_t b[64];

	switch (i) {
	case MIX_TAS:
		assert_int_equal(read_full(m->fd[MIX_TAS], b, 64), 0);
		expect_pat(b, m->tas_off, 64, 7);
		m->tas_off += 64;
		break;
	case MIX_PIPE:
		assert_int_equal(tas_read(m->fd[MIX_PIPE], b, 1), 1);
		break;
	case MIX_EVENT:
	case MIX_TIMER:
		assert_int_equal(tas_read(m->fd[i], b, 8), 8);
		break;
	case MIX_UDP:
		assert_int_equal(tas_recv(m->fd[MIX_UDP], b, sizeof(b), 0), 1);
		break;
	}
}

static void mix_round(struct mix *m, int mech)
{
	struct rusage r0, r1;
	int64_t t0, cpu;
	int got = 0;

	assert_int_equal(mix_wait(m, mech, 0), 0);
	/* each source alone */
	for (int i = 0; i < MIX_N; i++) {
		mix_trigger(m, i, 0);
		assert_int_equal(mix_wait(m, mech, 5000), 1 << i);
		mix_drain(m, i);
		assert_int_equal(mix_wait(m, mech, 0), 0);
	}
	/* all five in one call */
	for (int i = 0; i < MIX_N; i++)
		mix_trigger(m, i, 0);
	t0 = now_ms();
	while (got != (1 << MIX_N) - 1 && now_ms() - t0 < 5000)
		got = mix_wait(m, mech, 1000);
	assert_int_equal(got, (1 << MIX_N) - 1);
	for (int i = 0; i < MIX_N; i++)
		mix_drain(m, i);
	/* asleep: woken by TAS data, then by the timerfd */
	t0 = now_ms();
	mix_trigger(m, MIX_TAS, 200);
	assert_int_equal(mix_wait(m, mech, 5000), 1 << MIX_TAS);
	assert_true(now_ms() - t0 >= 100);
	mix_drain(m, MIX_TAS);
	t0 = now_ms();
	mix_trigger(m, MIX_TIMER, 200);
	assert_int_equal(mix_wait(m, mech, 5000), 1 << MIX_TIMER);
	assert_true(now_ms() - t0 >= 100);
	mix_drain(m, MIX_TIMER);
	/* an idle wait sleeps: little CPU in 300 ms */
	getrusage(RUSAGE_SELF, &r0);
	assert_int_equal(mix_wait(m, mech, 300), 0);
	getrusage(RUSAGE_SELF, &r1);
	cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1000000LL +
	      (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) +
	      (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000000LL +
	      (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
	print_message("%s: 5 sources alone and together; idle 300 ms used "
		      "%lld us CPU\n",
		      mech_name[mech], (long long)cpu);
	assert_true(cpu < 100000);
}

/*
 * epoll, poll and select, each over a TAS socket, a pipe, an eventfd, a
 * timerfd and a UDP socket: each source alone is reported alone, all five
 * in one call, a sleeping wait wakes for TAS data and for a kernel fd, and
 * an idle wait does not spin.
 */
static void t_mix(void **state)
{
	struct mix m = { .tas_off = 0 };
	socklen_t len = sizeof(m.udp_addr);
	struct sockaddr_in lo = sin_of("127.0.0.1", 0);
	int pfd[2];

	(void)state;
	begin(T_MIX);
	assert_int_equal(get(), 1);
	m.fd[MIX_TAS] = tcp_connect(ip_b, PORT(0));
	assert_true(m.fd[MIX_TAS] >= 0);
	assert_int_equal(pipe(pfd), 0);
	m.fd[MIX_PIPE] = pfd[0];
	m.pipe_w = pfd[1];
	m.fd[MIX_EVENT] = eventfd(0, EFD_NONBLOCK);
	m.fd[MIX_TIMER] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	m.fd[MIX_UDP] = tas_socket(AF_INET, SOCK_DGRAM, 0);
	m.udp_tx = tas_socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(m.fd[MIX_EVENT] >= 0 && m.fd[MIX_TIMER] >= 0);
	assert_true(m.fd[MIX_UDP] >= 0 && m.udp_tx >= 0);
	EXPECT_OK(tas_bind(m.fd[MIX_UDP], (struct sockaddr *)&lo, sizeof(lo)));
	EXPECT_OK(tas_getsockname(m.fd[MIX_UDP], (struct sockaddr *)&m.udp_addr,
				  &len));
	m.ep = tas_epoll_create1(EPOLL_CLOEXEC);
	assert_true(m.ep >= 0);
	for (int i = 0; i < MIX_N; i++) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u32 = (uint32_t)i };

		EXPECT_OK(tas_epoll_ctl(m.ep, EPOLL_CTL_ADD, m.fd[i], &ev));
	}
	for (int mech = MECH_EPOLL; mech <= MECH_SELECT; mech++)
		mix_round(&m, mech);
	sync_put(-1);
	assert_int_equal(tas_read(m.fd[MIX_TAS], pfd, 1), 0);
	for (int i = 0; i < MIX_N; i++)
		EXPECT_OK(tas_close(m.fd[i]));
	EXPECT_OK(tas_close(m.pipe_w));
	EXPECT_OK(tas_close(m.udp_tx));
	EXPECT_OK(tas_close(m.ep));
	finish();
}

/* ---- threads ---- */

struct thr {
	pthread_t t;
	int fd;
	uint32_t id;
	uint64_t bytes;
	uint64_t hist[256];
	char err[128];
};

/* Accept one connection on the shared listener; answer its id. */
static void *thr_accept(void *arg)
{
	static __thread uint8_t buf[65536];
	struct thr *t = arg;
	int c = tas_accept(t->fd, NULL, NULL);

	if (c < 0) {
		snprintf(t->err, sizeof(t->err), "accept: %s", strerror(errno));
		return NULL;
	}
	if (set_tmo(c, TMO_MS) || read_full(c, &t->id, 4)) {
		snprintf(t->err, sizeof(t->err), "read id: %s",
			 strerror(errno));
		return NULL;
	}
	pat_fill(buf, 0, sizeof(buf), t->id);
	if (write_all(c, buf, sizeof(buf)) || tas_close(c))
		snprintf(t->err, sizeof(t->err), "reply: %s", strerror(errno));
	return NULL;
}

/* Write 4 MB of pattern 9 in 64 KB pieces, then SHUT_WR. */
static void *thr_write(void *arg)
{
	struct thr *t = arg;
	uint8_t *buf = malloc(65536);

	for (uint64_t off = 0; buf && off < (4u << 20); off += 65536) {
		pat_fill(buf, off, 65536, 9);
		if (write_all(t->fd, buf, 65536)) {
			snprintf(t->err, sizeof(t->err), "write: %s",
				 strerror(errno));
			break;
		}
	}
	if (tas_shutdown(t->fd, SHUT_WR))
		snprintf(t->err, sizeof(t->err), "shutdown: %s",
			 strerror(errno));
	free(buf);
	return NULL;
}

/* Read until EOF in odd-sized pieces; count every byte value. */
static void *thr_read_hist(void *arg)
{
	struct thr *t = arg;
	uint8_t buf[3001];
	size_t want = 1;
	ssize_t n;

	while ((n = tas_read(t->fd, buf, want)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			t->hist[buf[i]]++;
		t->bytes += (uint64_t)n;
		want = want * 7 % sizeof(buf) + 1;
	}
	if (n < 0)
		snprintf(t->err, sizeof(t->err), "read: %s", strerror(errno));
	return NULL;
}

/*
 * Threads: 4 threads block in accept() on one listener and each gets one
 * connection; a writer thread and a reader share a connection (4 MB echoed
 * byte-exact); two threads read one connection concurrently and together
 * get each of its 2 MB exactly once.
 */
static void t_threads(void **state)
{
	static struct thr th[4];
	const uint64_t total = 2u << 20;
	uint64_t want[256] = { 0 }, off = 0;
	uint8_t *buf = malloc(65536);
	unsigned ids = 0;
	int l, s;

	(void)state;
	assert_non_null(buf);
	begin(T_THREADS);
	l = tcp_listen(PORT(0), 8, 0);
	assert_true(l >= 0);
	assert_int_equal(get(), 1);
	memset(th, 0, sizeof(th));
	for (int i = 0; i < 4; i++) {
		th[i].fd = l;
		assert_int_equal(
			pthread_create(&th[i].t, NULL, thr_accept, &th[i]), 0);
	}
	sync_put(1);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i].t, NULL);
		if (th[i].err[0])
			fail_msg("accept thread %d: %s", i, th[i].err);
		assert_true(th[i].id >= 1 && th[i].id <= 4);
		ids |= 1u << th[i].id;
	}
	assert_int_equal(ids, 0x1e);
	EXPECT_OK(tas_close(l));

	/* full duplex: a writer thread, this thread reads the echo */
	s = tcp_connect(ip_b, PORT(1));
	assert_true(s >= 0);
	memset(th, 0, sizeof(th));
	th[0].fd = s;
	assert_int_equal(pthread_create(&th[0].t, NULL, thr_write, &th[0]), 0);
	while (off < (4u << 20)) {
		ssize_t n = tas_read(s, buf, 65536);

		assert_true(n > 0);
		expect_pat(buf, off, (size_t)n, 9);
		off += (uint64_t)n;
	}
	assert_int_equal(tas_read(s, buf, 1), 0);
	pthread_join(th[0].t, NULL);
	if (th[0].err[0])
		fail_msg("writer thread: %s", th[0].err);
	EXPECT_OK(tas_close(s));

	/* two readers on one connection */
	s = tcp_connect(ip_b, PORT(2));
	assert_true(s >= 0);
	memset(th, 0, sizeof(th));
	for (int i = 0; i < 2; i++) {
		th[i].fd = s;
		assert_int_equal(
			pthread_create(&th[i].t, NULL, thr_read_hist, &th[i]),
			0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i].t, NULL);
		if (th[i].err[0])
			fail_msg("reader thread %d: %s", i, th[i].err);
	}
	for (uint64_t i = 0; i < total; i++)
		want[i % 251]++;
	for (int v = 0; v < 256; v++)
		assert_int_equal(th[0].hist[v] + th[1].hist[v], want[v]);
	print_message("two readers of one socket: %llu + %llu bytes\n",
		      (unsigned long long)th[0].bytes,
		      (unsigned long long)th[1].bytes);
	assert_int_equal(th[0].bytes + th[1].bytes, total);
	EXPECT_OK(tas_close(s));
	free(buf);
	finish();
}

static int group_setup(void **state)
{
	(void)state;
	if (peer_spawn())
		return -1;
	return tas_init();
}

static int group_teardown(void **state)
{
	(void)state;
	peer_stop();
	return 0;
}

#define TEST(f) cmocka_unit_test_teardown(f, test_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TEST(t_blocking), TEST(t_nbconnect), TEST(t_partial),
		TEST(t_peek),	  TEST(t_eof),	     TEST(t_reset),
		TEST(t_reuse),	  TEST(t_options),   TEST(t_accept),
		TEST(t_backlog),  TEST(t_epoll),     TEST(t_mix),
		TEST(t_threads),
	};
	struct sigaction sa = { .sa_handler = on_sigpipe };
	const char *e;

	if ((e = getenv("SEM_IP_A")) != NULL)
		ip_a = e;
	if ((e = getenv("SEM_IP_B")) != NULL)
		ip_b = e;
	if ((e = getenv("SEM_PORT_BASE")) != NULL)
		port_base = atoi(e);
	if (argc == 3 && strcmp(argv[1], "--peer") == 0) {
		ctl_fd = atoi(argv[2]);
		return peer_main();
	}
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	peer_sock = getenv("SEM_PEER_SOCKET");
	if (peer_sock == NULL || getenv("TAS_SOCKET") == NULL) {
		fprintf(stderr,
			"usage: TAS_SOCKET=A SEM_PEER_SOCKET=B %s "
			"[--list | TEST]\n",
			argv[0]);
		return 2;
	}
	if (argc == 2)
		cmocka_set_test_filter(argv[1]);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	return cmocka_run_group_tests_name("sock_semantics", tests, group_setup,
					   group_teardown);
}
