/* sock_sem_util.c - sock_semantics: the control channel, the byte
 * pattern and socket helpers both processes use (sock_sem.h) */
#include "sock_sem.h"

/* ---- shared by both processes ---- */

const char *ip_a = "198.18.0.11"; /* the CMocka process's daemon */
const char *ip_b = "198.18.0.12"; /* the peer's daemon */
int port_base = 7600;
int cur_test;
int ctl_fd = -1;

int ctl_send(int type, int val, const char *text)
{
	struct ctl_msg m = { .type = type, .val = val };

	if (text)
		snprintf(m.text, sizeof(m.text), "%s", text);
	return send(ctl_fd, &m, sizeof(m), MSG_NOSIGNAL) == sizeof(m) ? 0 : -1;
}

int ctl_recv(int type, struct ctl_msg *m, int ms)
{
	struct pollfd p = { .fd = ctl_fd, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return -1;
	if (recv(ctl_fd, m, sizeof(*m), 0) != sizeof(*m))
		return -1;
	return m->type == type ? 0 : -1;
}

void sync_put(int v)
{
	ctl_send(MSG_T_SYNC, v, NULL);
}

int sync_get(void)
{
	struct ctl_msg m;

	return ctl_recv(MSG_T_SYNC, &m, CTL_TMO_MS) ? SYNC_FAIL : m.val;
}

/* Byte @i of pattern @seed: no short period, differs per seed. */
uint8_t pat(uint64_t i, uint32_t seed)
{
	uint32_t x = (uint32_t)i * 0x9E3779B1u ^ (uint32_t)(i >> 32) ^
		     (seed * 0x85EBCA6Bu);

	x ^= x >> 15;
	x *= 0x2C1B3C6Du;
	x ^= x >> 12;
	return (uint8_t)(x >> 8);
}

void pat_fill(uint8_t *b, uint64_t off, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pat(off + i, seed);
}

/* Return: -1 if @b holds bytes [off, off + n) of @seed, else the index. */
long pat_check(const uint8_t *b, uint64_t off, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(off + i, seed))
			return (long)i;
	return -1;
}

int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* Whether @a is @ip:@port (@port < 0: any port). */
bool addr_is(const struct sockaddr_in *a, const char *ip, int port)
{
	struct sockaddr_in w = sin_of(ip, 0);

	return a->sin_family == AF_INET &&
	       a->sin_addr.s_addr == w.sin_addr.s_addr &&
	       (port < 0 || ntohs(a->sin_port) == port);
}

int set_tmo(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (tas_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -1;
	return tas_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int set_int(int fd, int level, int opt, int v)
{
	return tas_setsockopt(fd, level, opt, &v, sizeof(v));
}

int get_int(int fd, int level, int opt)
{
	int v = -12345;
	socklen_t l = sizeof(v);

	if (tas_getsockopt(fd, level, opt, &v, &l))
		return -12345;
	return v;
}

/* A TAS listener on 0.0.0.0:@port (SO_REUSEADDR). Return: fd or -1. */
int tcp_listen(uint16_t port, int backlog, int flags)
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
int tcp_connect(const char *ip, uint16_t port)
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

int write_all(int fd, const void *b, size_t n)
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
int read_full(int fd, void *b, size_t n)
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
int wait_io(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = tas_poll(&p, 1, ms);

	return r < 0 ? -1 : r == 0 ? 0 : p.revents;
}

/* Bytes readable on @fd (FIONREAD), -1 on error. */
int nread(int fd)
{
	int n = -1;

	return tas_ioctl(fd, FIONREAD, &n) ? -1 : n;
}

/* Wait until FIONREAD reaches @n (5 s at most). */
bool wait_nread(int fd, int n)
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
