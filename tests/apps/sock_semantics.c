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
#include "sock_sem.h"

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
void begin(int t)
{
	cur_test = t;
	peer_busy = true;
	assert_int_equal(ctl_send(MSG_T_CMD, t, NULL), 0);
}

/* Wait for the peer's half to end; fail with its message. */
void finish(void)
{
	struct ctl_msg m;

	if (ctl_recv(MSG_T_RESULT, &m, 30000))
		fail_msg("peer did not finish");
	if (m.val != 0)
		fail_msg("peer: %s", m.text);
	peer_busy = false;
}

int get(void)
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

void expect_pat(const uint8_t *b, uint64_t off, size_t n, uint32_t seed)
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
