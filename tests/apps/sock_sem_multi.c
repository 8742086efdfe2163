/* sock_sem_multi.c - sock_semantics, CMocka side: epoll, poll and select
 * over a TAS socket and kernel fds in one call, and threads sharing a
 * listener and a connection */
#include "sock_sem.h"

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
void t_mix(void **state)
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
void t_threads(void **state)
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
