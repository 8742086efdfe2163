/* fp_int.h - internal to the fast path (fastpath.c, fp_app.c): the
 * per-core struct and the helpers both files use
 */
#ifndef TAS_TCP_FP_INT_H
#define TAS_TCP_FP_INT_H

#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "tcp/fastpath.h"
#include "tcp/flow.h"
#include "tcp/pacer.h"

#define RX_BURST 32
/* frames received per poll at most */
#define RX_BUDGET (8 * RX_BURST)
#define TXQ_MAX 64
#define MAX_CTX 256
#define MAX_LISTENERS 64
#define CMD_RING 4096
#define FRAME_RING 64
#define EXC_RING 256
#define NOTE_RING 256
#define APP_CMD_BURST 64
/* first size of the note backlog; it grows up to NOTE_BACKLOG_MAX notes */
#define NOTE_BACKLOG 4096
#define NOTE_BACKLOG_MAX (1u << 20)
#define PACER_SLOTS 4096   /* wheel buckets: a 4 ms horizon ... */
#define PACER_GRAN_NS 1000 /* ... of 1 us each */
#define PACER_BURST 64	   /* flows taken from the pacer per call */

struct fp_ctx {
	bool used;
	bool dead;	   /* queue indices went bad: ignored from now on */
	bool kick;	   /* events posted this poll */
	uint32_t full_gen; /* event ring found full in notify pass #full_gen */
	uint16_t ctx_id;
	uint32_t app_id;
	struct fp_app *app;
	uint8_t *seg_base;
	uint64_t seg_size;
	uint32_t mem_key;
	struct tas_seg_hdr *seg_hdr;
	struct tas_ctx_shm *shm;
	struct fp_region *regions; /* the app's zero-copy regions */
	struct tas_ring atx;	   /* app -> core, we consume */
	struct tas_ring arx;	   /* core -> app, we produce */
	int evfd;
};

struct fp_listener {
	bool used;
	uint16_t port;
	int ctx;
	struct fp_app *app;
	uint32_t app_id;
	uint64_t user;
	uint32_t backlog;
	uint32_t pending; /* SYN_RCVD flows */
};

struct fp_core {
	/* --- read-mostly --- */
	unsigned id;
	unsigned queue;
	struct nic *nic;
	const struct fp_shared *sh;
	uint32_t offloads;
	uint16_t max_segs; /* payload pieces per TX frame */
	int nic_fd;
	int doorbell; /* eventfd: apps and the control thread wake us */
	int ctrl_fd;  /* eventfd: we wake the control thread */
	int epfd;
	pthread_t thread;
	bool started;
	_Atomic bool stop;

	/* --- flows and app state (core-private) --- */
	struct flow_table ft;
	struct fp_ctx ctx[MAX_CTX];
	int nctx; /* contexts in use are all below this index */
	struct fp_listener lst[MAX_LISTENERS];
	unsigned lst_rr;
	uint32_t *dirty; /* flows needing tcp_output */
	uint32_t ndirty;
	uint32_t *notify; /* flows with undelivered events */
	uint32_t nnotify;
	uint32_t notify_gen; /* notify passes so far */
	uint64_t timer_next;
	struct pacer pacer; /* paced flows waiting for their next release */
	bool kick_ctrl;
	bool frame_pending; /* a frame_in slot is still referenced by txq */
	uint32_t frame_key;
	uint64_t idle_since;

	/* --- TX batch --- */
	struct nic_tx txq[TXQ_MAX];
	uint8_t txhdr[TXQ_MAX][NIC_HDR_MAX];
	unsigned ntx;
	bool tx_full;	  /* the last flush left frames the NIC refused */
	uint8_t *scratch; /* receive sink of flows whose app is gone */
	/* notes that found note_out full, oldest at note_backlog_head; the
	 * array grows rather than drop one (a lost PORT_FREE leaks a port,
	 * a lost APP_DELETED an app) */
	struct fp_note *note_backlog;
	uint32_t nnote_backlog, note_backlog_head, note_backlog_cap;
	struct fp_cc_slot *cc; /* one per flow index */
	_Atomic uint32_t cc_hiwater;
	uint64_t tx_seq;  /* cookie of the last descriptor handed out */
	uint64_t tx_done; /* cookie of the last completed frame */
	uint16_t ip_id;
	uint8_t *bounce; /* zero-copy frames with too many pieces (fp_zc.c) */
	uint64_t *bounce_tag;
	uint32_t bounce_next;
	/* receive placement (fp_zc.c): flow index + 1 per placement queue
	 * id, registered buffers for frames that are not placed */
	int32_t *pl_map;
	uint8_t *pl_buf;
	uint32_t pl_buf_key;
	uint32_t *pl_free, pl_nfree;
	uint8_t *pl_join; /* a scattered frame put back together */

	/* --- rings with the control thread (private memory) ---
	 * The core's own handles: it consumes cmd_in and frame_in and
	 * produces exc_out and note_out. A tas_ring handle holds its side's
	 * authoritative index and a cached copy of the other side's, so each
	 * thread needs a handle of its own (the ctl_* ones below): one handle
	 * written by both threads loses or repeats entries. */
	struct tas_ring cmd_in, frame_in, exc_out, note_out;
	void *ring_mem[4];

	/* --- the control thread's handles on the same rings: written by
	 * the control thread only (fp_core_post_cmd, fp_core_post_frame,
	 * fp_core_take_exc, fp_core_take_notes) --- */
	_Alignas(64) struct tas_ring ctl_cmd_in, ctl_frame_in, ctl_exc_out,
		ctl_note_out;

	_Alignas(64) _Atomic uint64_t stats[ST__NR];
};

_Static_assert(offsetof(struct fp_core, stats) % 64 == 0,
	       "stats on their own cache lines");
_Static_assert(offsetof(struct fp_core, ctl_cmd_in) % 64 == 0,
	       "control-thread ring handles off the core's cache lines");

static inline void stat_add(struct fp_core *c, unsigned s, uint64_t n)
{
	/* single writer: relaxed load + store, no locked instruction */
	uint64_t v = atomic_load_explicit(&c->stats[s], memory_order_relaxed);

	atomic_store_explicit(&c->stats[s], v + n, memory_order_relaxed);
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void efd_kick(int fd)
{
	uint64_t one = 1;
	ssize_t r = write(fd, &one, sizeof(one));

	(void)r; /* EAGAIN: counter saturated, a wakeup is pending anyway */
}

static inline void efd_drain(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));

	(void)r;
}

/* What fp_pace_begin changed, for fp_pace_end to put back. */
struct fp_pace {
	bool on;	   /* the flow is paced in this call */
	bool acks;	   /* the call may move snd_una (tcp_input) */
	uint32_t cwnd;	   /* the window before the clamp */
	uint32_t ssthresh; /* ... to notice a cut by the engine */
	uint32_t snd_nxt;  /* ... to charge what was sent */
	uint64_t timeouts;
};

#define NS_PER_S 1000000000ull

/* fp_cc.c */
void fp_cc_feedback(struct fp_core *c, struct flow *f, const struct tcp_out *o);

/* fp_zc.c */
struct fp_region *fp_region_get(struct fp_region *tab, uint16_t id,
				uint32_t off, uint32_t len);
void fp_region_put(struct fp_region *r);
int fp_zc_cmd(struct fp_core *c, struct fp_ctx *x, struct flow *f, uint8_t type,
	      uint16_t region, uint32_t off, uint32_t len);
bool fp_zc_payload(struct fp_core *c, const struct flow *f,
		   const struct fp_ctx *x, uint32_t pos, uint32_t len,
		   struct nic_tx *t, uint32_t *sum);
void fp_zc_tx_release(struct flow *f);
void fp_zc_place(struct tcp_conn *tc, uint32_t seq, const uint8_t *p,
		 uint32_t len);
bool fp_zc_rx_credit(struct flow *f);
bool fp_zc_deliver(struct fp_core *c, struct flow *f, struct fp_ctx *x,
		   struct tas_ev *e, bool ending);
void fp_zc_drop(struct fp_core *c, struct flow *f);
void fp_zc_rx_drop(struct fp_core *c, struct flow *f);
void fp_zc_counters(const struct flow *f, uint64_t *tx, uint64_t *rx_nocopy,
		    uint64_t *rx_copy);
int fp_zc_core_init(struct fp_core *c);
void fp_zc_core_fini(struct fp_core *c);
void fp_zc_rx_placed(struct fp_core *c, const struct nic_rx *r, bool verify,
		     uint64_t now);
bool fp_zc_rx_safe(const struct flow *f, const struct pkt *p);

/* fastpath.c */
void fp_rx_bad(struct fp_core *c, enum pkt_err err);
void fp_rx_tcp(struct fp_core *c, const struct pkt *p, uint64_t now);
void fp_pace_begin(struct fp_core *c, struct flow *f, uint64_t now, bool acks,
		   struct fp_pace *ps);
void fp_pace_end(struct fp_core *c, struct flow *f, uint64_t now,
		 const struct fp_pace *ps);
void fp_cc_open(struct fp_core *c, struct flow *f);
void fp_cc_close(struct fp_core *c, struct flow *f);
void fp_emit(struct fp_core *c, const uint8_t *dmac, uint32_t dst_ip,
	     struct tcp_seg_out *s, const struct flow *f,
	     const struct fp_ctx *x);
void fp_handle_out(struct fp_core *c, struct flow *f, struct tcp_out *o);
void fp_tx_flush(struct fp_core *c);
void fp_out_begin(struct fp_core *c, struct tcp_out *o);
struct nic_tx *fp_tx_slot(struct fp_core *c);

/* fp_app.c */
void fp_note_post(struct fp_core *c, const struct fp_note *n);
void fp_note_flush(struct fp_core *c);
void fp_mark_dirty(struct fp_core *c, struct flow *f);
void fp_mark_notify(struct fp_core *c, struct flow *f);
bool fp_ev_post(struct fp_core *c, struct fp_ctx *x, const struct tas_ev *e);
void fp_flow_release(struct fp_core *c, struct flow *f);
bool fp_flow_deliver(struct fp_core *c, struct flow *f);
void fp_flow_kill(struct fp_core *c, struct flow *f, uint64_t now);
unsigned fp_poll_apps(struct fp_core *c, uint64_t now);
unsigned fp_poll_ctrl(struct fp_core *c, uint64_t now);

#endif /* TAS_TCP_FP_INT_H */
