/* sock_sem.h - what the two halves of sock_semantics share: the control
 * channel between the CMocka process and its peer, the byte pattern and
 * small socket helpers (sock_sem_util.c), the test list; the peer's half
 * of every test is sock_sem_peer.c, the checks sock_semantics.c */
#ifndef TAS_TESTS_SOCK_SEM_H
#define TAS_TESTS_SOCK_SEM_H
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

extern const char *ip_a, *ip_b; /* the CMocka process's daemon, the peer's */
extern int port_base, cur_test, ctl_fd;

/* Port @k of the running test: both processes agree on it. */
#define PORT(k) ((uint16_t)(port_base + 16 * cur_test + (k)))

enum { MSG_T_CMD = 1, MSG_T_SYNC, MSG_T_RESULT };

struct ctl_msg {
	int32_t type;
	int32_t val;
	char text[240];
};

/* the tests, in order; both processes index by them */
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

int ctl_send(int type, int val, const char *text);
int ctl_recv(int type, struct ctl_msg *m, int ms);
void sync_put(int v);
int sync_get(void);
uint8_t pat(uint64_t i, uint32_t seed);
void pat_fill(uint8_t *b, uint64_t off, size_t n, uint32_t seed);
long pat_check(const uint8_t *b, uint64_t off, size_t n, uint32_t seed);
int64_t now_ms(void);
void sleep_ms(int ms);
struct sockaddr_in sin_of(const char *ip, uint16_t port);
bool addr_is(const struct sockaddr_in *a, const char *ip, int port);
int set_tmo(int fd, int ms);
int set_int(int fd, int level, int opt, int v);
int get_int(int fd, int level, int opt);
int tcp_listen(uint16_t port, int backlog, int flags);
int tcp_connect(const char *ip, uint16_t port);
int write_all(int fd, const void *b, size_t n);
int read_full(int fd, void *b, size_t n);
int wait_io(int fd, short events, int ms);
int nread(int fd);
bool wait_nread(int fd, int n);

/* the peer process: runs its half of each test it is told */
int peer_main(void);

/* CMocka checks of a call's result and errno */
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

/* the CMocka side (sock_semantics.c): start test @t's peer half, wait for
 * its result, read a sync value, check bytes against the pattern */
void begin(int t);
void finish(void);
int get(void);
void expect_pat(const uint8_t *b, uint64_t off, size_t n, uint32_t seed);
/* tests in sock_sem_multi.c */
void t_mix(void **state);
void t_threads(void **state);

#endif
