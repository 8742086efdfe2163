/*
 * sock.h - internal header of libtas_sockets (client/sock_*.c) and of the
 * LD_PRELOAD shim (client/interpose.c): the fd table, TAS socket and epoll
 * objects, the process lock, event dispatch and sleeping
 *
 * Design (docs/SOCKETS.md has the user-facing version):
 *
 *  - fd mapping: every TAS socket owns a real kernel fd, an unconnected
 *    kernel TCP socket created by socket() (accept() creates one per
 *    connection). Its number is the TAS socket's number, so numbers never
 *    collide with kernel fds and dup/close keep kernel semantics. A table
 *    indexed by fd maps a number to its object (TAS socket or epoll
 *    instance); dup()ed numbers share the object (reference counted).
 *    Lookups of numbers that are not ours are one lock-free load, so calls
 *    on kernel fds pass through at the cost of a branch.
 *  - threads: one flextcp context per process, shared by all threads under
 *    one mutex (sock_proc.lock) that also guards every object. Sleeping is
 *    leader/follower: each sleeping thread polls its own wake eventfd plus
 *    its kernel fds; at most one of them (the leader) also sleeps on the
 *    context's eventfd. Whoever dispatches events, and a leader that
 *    leaves, kicks every sleeper's wake eventfd, so nobody sleeps through
 *    an event and nobody spins while idle.
 *  - sockets start as candidates: listen() and connect() decide. Loopback
 *    addresses, and everything when the daemon is unreachable and
 *    TAS_FALLBACK=1, turn the candidate into the plain kernel socket that
 *    already holds its number.
 *  - fork: the child inherits numbers and objects but never talks to the
 *    daemon (the segment is shared with the parent): closing inherited TAS
 *    sockets only drops the child's numbers, other calls on them fail with
 *    EBADF, and new TCP sockets in the child are kernel sockets.
 *
 * Conventions: tas_* calls follow POSIX (-1 and errno); sock_* helpers
 * return 0 or a negative errno. Every helper named __sock_* or documented
 * "lock held" expects sock_proc.lock held.
 */
#ifndef CLIENT_SOCK_H
#define CLIENT_SOCK_H

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <tas_ll.h>
#include <tas_sockets.h>

/* Exported from libtas_sockets.so; the interposer's map hides them. */
#define SOCK_API __attribute__((visibility("default")))

/* Most fd numbers the table covers; higher numbers are never TAS. */
#define SOCK_FD_MAX (1 << 20)
/* Receive pieces a socket tracks (the ring makes at most 3 live). */
#define SOCK_RXP 8
/* Accept handles kept offered per listener (and ready, not accepted). */
#define SOCK_ACCEPT_MAX 128
/* How long listen() waits for the daemon's answer. */
#define SOCK_LISTEN_TIMEOUT_MS 5000

/**
 * struct sock_libc - the libc functions the library calls on kernel fds
 *
 * Resolved with dlsym(RTLD_NEXT) so that the interposer never calls
 * itself.
 */
struct sock_libc {
	int (*socket)(int, int, int);
	int (*close)(int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*shutdown)(int, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *,
			    socklen_t *);
	ssize_t (*sendto)(int, const void *, size_t, int,
			  const struct sockaddr *, socklen_t);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*epoll_create1)(int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_pwait)(int, struct epoll_event *, int, int,
			   const sigset_t *);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *,
		     const sigset_t *);
	int (*dup)(int);
	int (*dup3)(int, int, int);
	int (*dup2)(int, int);
	pid_t (*fork)(void);
};

extern struct sock_libc sock_libc;
void sock_libc_init(void);

enum sock_kind {
	SOCK_OBJ_TCP = 1,
	SOCK_OBJ_EPOLL,
};

/* What the fd table points to; embedded first in both kinds. */
struct sock_obj {
	uint8_t kind;
	uint32_t refs; /* fd numbers + calls in progress */
};

enum tsock_state {
	TS_NEW,	       /* socket() done, maybe bound */
	TS_LISTEN,     /* listening through TAS */
	TS_CONNECTING, /* flextcp_connection_open sent */
	TS_CONNECTED,  /* open (may be half closed or reset: see flags) */
	TS_ACCEPTING,  /* accept handle offered to a listener, no fd yet */
};

struct sock_listen;
struct sock_epitem;

struct sock_rxp {
	uint8_t *buf;
	size_t len;
};

/**
 * struct tsock - one TAS TCP socket
 *
 * Freed when no fd refers to it and flextcp has nothing more to say about
 * its connection (orphans wait for CONN_OPEN or CONN_CLOSED).
 */
struct tsock {
	struct sock_obj obj;
	uint8_t state; /* enum tsock_state */
	bool nonblock;
	bool orphan;	       /* no fd left; awaiting a flextcp event */
	bool conn_live;	       /* flextcp owns conn (close needed) */
	bool connect_reported; /* connect() said 0/error after async */
	bool rx_eof, rd_shut;  /* peer FIN; SHUT_RD */
	bool tx_shut;	       /* SHUT_WR done (FIN queued) */
	bool reset;	       /* aborted by the service */
	bool reuseaddr, reuseport;
	bool bound;
	bool exit_closed; /* closed by exit(): CONN_CLOSED pending */
	int so_error;	  /* pending error, reported once */
	int rcvtimeo_ms, sndtimeo_ms; /* 0 = none */
	struct sockaddr_in local, remote;
	struct sock_listen *lst;  /* TS_LISTEN */
	struct tsock *next;	  /* listener's ready queue */
	uint32_t gen_in, gen_out; /* bumped on input / output events */
	struct sock_epitem *watchers;
	unsigned rx_n;
	size_t rx_avail;
	struct sock_rxp rx[SOCK_RXP];
	struct flextcp_connection conn; /* must not move while live */
};

/**
 * struct sock_listen - a flextcp listener and its accept queue
 *
 * Closing the socket closes the flextcp listener (flextcp_listen_close);
 * the object goes when its last offered accept handle came back. Should
 * the close fail, it stays idle and a later listen() on the same port
 * takes it over again.
 */
struct sock_listen {
	struct flextcp_listener l;
	struct sock_listen *next;
	struct tsock *owner; /* NULL once the app closed it */
	struct tsock *ready_first, *ready_last;
	uint32_t nready, offered, target;
	uint16_t port;
	bool reuseport;
	bool open_done;
	bool closed; /* flextcp_listen_close() done; freed when offered = 0 */
	int open_status;
};

/* One registration of a TAS socket in an epoll instance. */
struct sock_epitem {
	struct sock_epoll *ep;
	struct tsock *ts;
	int fd;
	uint32_t events;
	epoll_data_t data;
	uint32_t seen_in, seen_out;	 /* generations last reported (ET) */
	bool disabled;			 /* EPOLLONESHOT fired */
	struct sock_epitem *prev, *next; /* ring in ep (head sentinel) */
	struct sock_epitem *ts_next;	 /* ts->watchers */
};

/* An epoll instance: the kernel epoll fd holds the kernel fds. */
struct sock_epoll {
	struct sock_obj obj;
	struct sock_epitem head;
	int nitems;
};

/* A thread that sleeps in sock_sleep(). */
struct sock_waiter {
	int fd; /* eventfd, nonblocking */
	bool linked;
	struct sock_waiter *prev, *next;
};

/**
 * struct sock_proc - process state of the sockets layer
 * @lock:     guards everything below and every object
 * @up:       0 not tried, 1 registered with the daemon, -1 failed
 * @fallback: TAS_FALLBACK=1: use the kernel when the daemon is unreachable
 * @child:    this is a forked child: never touch the context
 * @ctx:      the process's flextcp context
 * @leader:   a thread sleeps on the context's eventfd
 * @waiters:  threads in sock_sleep()
 * @listeners: every flextcp listener opened
 * @tab:      fd -> object, SOCK_FD_MAX entries, read lock-free
 */
struct sock_proc {
	pthread_mutex_t lock;
	int up;
	bool fallback;
	bool child;
	bool leader;
	struct flextcp_context ctx;
	struct sock_waiter *waiters;
	struct sock_listen *listeners;
	_Atomic(struct sock_obj *) *tab;
	uint16_t next_port;
};

extern struct sock_proc sock_proc;

static inline void sock_lock(void)
{
	pthread_mutex_lock(&sock_proc.lock);
}

static inline void sock_unlock(void)
{
	pthread_mutex_unlock(&sock_proc.lock);
}

/* Lock-free peek: non-NULL only for our numbers (may be stale). */
static inline struct sock_obj *sock_peek(int fd)
{
	if (fd < 0 || fd >= SOCK_FD_MAX || sock_proc.tab == NULL)
		return NULL;
	return atomic_load_explicit(&sock_proc.tab[fd], memory_order_acquire);
}

static inline struct tsock *sock_tcp(struct sock_obj *o)
{
	return o && o->kind == SOCK_OBJ_TCP ? (struct tsock *)o : NULL;
}

static inline struct sock_epoll *sock_ep(struct sock_obj *o)
{
	return o && o->kind == SOCK_OBJ_EPOLL ? (struct sock_epoll *)o : NULL;
}

/* sock_core.c */
int sock_table_init(void);
void sock_table_set(int fd, struct sock_obj *o);
struct sock_obj *sock_get(int fd);
void sock_put(struct sock_obj *o);
int sock_tas_up(void);
int sock_fail(int err);
bool sock_is_tas(int fd);
void sock_addr_out(const struct sockaddr_in *sin, struct sockaddr *addr,
		   socklen_t *addrlen);

/* sock_event.c */
void sock_dispatch(void);
int sock_sleep(struct pollfd *pfds, nfds_t n, int timeout_ms,
	       const sigset_t *sigmask);
void sock_wake_all(void);
void sock_waiter_forget(void);
uint32_t sock_revents(const struct tsock *ts);
int sock_block(struct tsock *ts, uint32_t mask, int timeout_ms);
int sock_deadline_left(const struct timespec *deadline);
void sock_deadline_set(struct timespec *deadline, int timeout_ms);
void sock_tsock_release(struct tsock *ts);
struct tsock *sock_tsock_alloc(void);
void sock_listen_refill(struct sock_listen *sl);
void sock_epoll_release(struct sock_epoll *ep);
void sock_epitems_drop(struct tsock *ts);
uint32_t sock_tx_room(const struct tsock *ts);

/* sock_io.c */
ssize_t sock_recv_iov(int fd, const struct iovec *iov, int iovcnt, int flags);
ssize_t sock_send_iov(int fd, const struct iovec *iov, int iovcnt, int flags);

#endif /* CLIENT_SOCK_H */
