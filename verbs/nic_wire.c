/* nic_wire.c - "wire:NAME": two stacks joined by a shared-memory cable
 *
 * The cable is /dev/shm/tas-wire-NAME: a header and two single-producer,
 * single-consumer frame rings (A->B and B->A) of fixed-size slots. The
 * first opener creates it (O_EXCL) and is side A, the second attaches as
 * side B, a third gets EBUSY. Works across processes and within one.
 *
 * Wakeup: two named FIFOs next to the file (tas-wire-NAME.ab, .ba). fd(q) is
 * the read end of our RX FIFO; arm() sets the ring's "armed" flag and the
 * producer writes one byte to the FIFO only when it finds the flag set
 * (Dekker-style: store flag / seq_cst fence / re-check ring on one side,
 * publish head / seq_cst fence / check flag on the other).
 *
 * Lifetime: the file and FIFOs are unlinked when the last side closes. After
 * one side closed, the cable stays half-open (new openers get EBUSY) until
 * the other side closes too. A file left by a crashed side A (its pid gone)
 * is removed and recreated by the next opener.
 *
 * Known gaps: one queue only; the ring size and MTU are chosen by side A
 * (side B must agree on the MTU or leave it 0); RX frames point straight
 * into the shared slots, so a buggy peer could still scribble on a frame
 * being read.
 *
 * Checksums: like veth, the cable cannot corrupt a frame, so it offers
 * NIC_OFF_TX_CSUM: a frame sent with NIC_TX_CSUM keeps whatever its
 * checksum fields hold and is received as NIC_CSUM_PARTIAL (content
 * trustworthy); any other frame as NIC_CSUM_UNKNOWN. The flag travels in
 * the top bit of the slot's length.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "verbs/nic.h"

#define WIRE_MAGIC 0x54415357u /* "TASW" */
#define WIRE_VERSION 1u
#define WIRE_DIR "/dev/shm"
#define WIRE_NAME_MAX 64
#define WIRE_DEFAULT_MTU 1500u
#define WIRE_MAX_MTU 9000u
#define WIRE_DEFAULT_SLOTS 256u
#define WIRE_MAX_SLOTS 65536u
#define WIRE_SLOT_HDR 2u /* uint16_t length; keeps the IP header 4-aligned */
#define WIRE_LEN_PARTIAL 0x8000u /* in the length: checksums offloaded */
#define WIRE_ATTACH_WAIT_MS 1000
#define WIRE_A 1u /* bits in wire_shm.attached */
#define WIRE_B 2u

/* One direction. The producer writes head (and clears armed); the consumer
 * writes tail and sets armed. Producer and consumer fields live on
 * separate cache lines. */
struct wire_ring {
	_Atomic uint32_t head; /* producer: frames published (free-running) */
	uint8_t pad0[60];
	_Atomic uint32_t tail;	/* consumer: frames consumed (free-running) */
	_Atomic uint32_t armed; /* consumer sets before sleeping on its FIFO */
	uint8_t pad1[56];
};

/* The file's header; slots follow at WIRE_SLOTS_OFF: ring 0's nslots slots,
 * then ring 1's. */
struct wire_shm {
	_Atomic uint32_t magic; /* A stores it (release) after initializing */
	uint32_t version;
	uint32_t mtu;		   /* IP MTU: frames up to mtu + 14 bytes */
	uint32_t nslots;	   /* per ring, a power of two */
	uint32_t slot_size;	   /* WIRE_SLOT_HDR + mtu + 14, rounded to 64 */
	_Atomic uint32_t attached; /* WIRE_A | WIRE_B of the open sides */
	_Atomic int32_t pid_a;
	_Atomic int32_t pid_b;
	uint8_t pad[32];
	struct wire_ring ring[2]; /* [0] A->B, [1] B->A */
};

#define WIRE_SLOTS_OFF sizeof(struct wire_shm)
_Static_assert(sizeof(struct wire_ring) == 128, "wire_ring layout");
_Static_assert(sizeof(struct wire_shm) == 320, "wire_shm layout");

struct wire_nic {
	struct nic nic;
	struct wire_shm *shm;
	size_t map_len;
	unsigned side; /* 0 = A, 1 = B */
	struct wire_ring *tx, *rx;
	uint8_t *tx_slots, *rx_slots;
	uint32_t nslots, slot_size, max_frame, mtu;
	uint32_t tx_head;    /* our copy of tx->head */
	uint32_t rx_tail;    /* our copy of rx->tail */
	uint32_t rx_pending; /* slots handed out by the last rx_burst */
	int rx_fifo, tx_fifo;
	uint64_t *comp; /* completed TX cookies, a ring of comp_cap */
	uint32_t comp_head, comp_tail, comp_cap;
	uint64_t tx_oversize, rx_bad, peer_bad;
	char path[sizeof(WIRE_DIR) + WIRE_NAME_MAX + 16];
	char fifo_path[2][sizeof(WIRE_DIR) + WIRE_NAME_MAX + 16];
	char spec[WIRE_NAME_MAX + 8];
};

static struct wire_nic *to_wire(struct nic *nic)
{
	return container_of(nic, struct wire_nic, nic);
}

static uint8_t *wire_slot(struct wire_nic *w, uint8_t *base, uint32_t idx)
{
	return base + (size_t)(idx & (w->nslots - 1)) * w->slot_size;
}

static unsigned wire_rx_burst(struct nic *nic, unsigned q, struct nic_rx *rx,
			      unsigned n)
{
	struct wire_nic *w = to_wire(nic);
	uint32_t head, avail, k;
	unsigned out = 0;

	(void)q;
	if (w->rx_pending) {
		w->rx_tail += w->rx_pending;
		w->rx_pending = 0;
		/* release: our reads of the slots happen before the peer may
		 * overwrite them */
		atomic_store_explicit(&w->rx->tail, w->rx_tail,
				      memory_order_release);
	}
	/* acquire: the peer's slot writes are visible after we see head */
	head = atomic_load_explicit(&w->rx->head, memory_order_acquire);
	avail = head - w->rx_tail;
	if (avail > w->nslots) {
		w->peer_bad++; /* a buggy peer: ignore its ring */
		return 0;
	}
	for (k = 0; k < avail && out < n; k++) {
		uint8_t *s = wire_slot(w, w->rx_slots, w->rx_tail + k);
		uint16_t len;

		uint8_t csum;

		memcpy(&len, s, sizeof(len));
		csum = len & WIRE_LEN_PARTIAL ? NIC_CSUM_PARTIAL
					      : NIC_CSUM_UNKNOWN;
		len &= (uint16_t)~WIRE_LEN_PARTIAL;
		if (len == 0 || len > w->max_frame) {
			w->rx_bad++;
			continue;
		}
		rx[out] = (struct nic_rx){ .data = s + WIRE_SLOT_HDR,
					   .len = len,
					   .csum = csum,
					   .place_id = -1 };
		out++;
	}
	w->rx_pending = k;
	return out;
}

static void wire_kick_peer(struct wire_nic *w)
{
	uint8_t b = 1;
	ssize_t r;

	/* orders our head store before the armed load (pairs with arm) */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&w->tx->armed, memory_order_relaxed))
		return;
	if (!atomic_exchange_explicit(&w->tx->armed, 0, memory_order_relaxed))
		return;
	r = write(w->tx_fifo, &b, 1); /* EAGAIN: FIFO full, already readable */
	(void)r;
}

static unsigned wire_tx_burst(struct nic *nic, unsigned q,
			      const struct nic_tx *tx, unsigned n)
{
	struct wire_nic *w = to_wire(nic);
	uint32_t tail, start = w->tx_head;
	unsigned i;

	(void)q;
	tail = atomic_load_explicit(&w->tx->tail, memory_order_acquire);
	if (w->tx_head - tail > w->nslots) {
		w->peer_bad++;
		return 0;
	}
	for (i = 0; i < n; i++) {
		const struct nic_tx *t = &tx[i];
		size_t total = t->hdr_len;
		uint8_t *s, *p;
		uint16_t len;
		unsigned j;

		if (w->comp_head - w->comp_tail == w->comp_cap)
			break;
		if (t->nseg > NIC_TX_MAX_SEG || t->hdr_len > NIC_HDR_MAX) {
			total = SIZE_MAX;
		} else {
			for (j = 0; j < t->nseg; j++)
				total += t->seg[j].len;
		}
		if (total > w->max_frame || total == 0) {
			w->tx_oversize++; /* dropped, but completed */
			w->comp[w->comp_head++ % w->comp_cap] = t->cookie;
			continue;
		}
		if (w->tx_head - tail == w->nslots)
			break; /* peer's ring full: short count */
		s = wire_slot(w, w->tx_slots, w->tx_head);
		p = s + WIRE_SLOT_HDR;
		memcpy(p, t->hdr, t->hdr_len);
		p += t->hdr_len;
		for (j = 0; j < t->nseg; j++) {
			memcpy(p, t->seg[j].addr, t->seg[j].len);
			p += t->seg[j].len;
		}
		len = (uint16_t)(total |
				 (t->flags & NIC_TX_CSUM ? WIRE_LEN_PARTIAL
							 : 0));
		memcpy(s, &len, sizeof(len));
		w->tx_head++;
		w->comp[w->comp_head++ % w->comp_cap] = t->cookie;
	}
	if (w->tx_head != start) {
		/* release: slot contents before the new head */
		atomic_store_explicit(&w->tx->head, w->tx_head,
				      memory_order_release);
		wire_kick_peer(w);
	}
	return i;
}

static unsigned wire_tx_completions(struct nic *nic, unsigned q,
				    uint64_t *cookies, unsigned n)
{
	struct wire_nic *w = to_wire(nic);
	unsigned k = 0;

	(void)q;
	while (k < n && w->comp_tail != w->comp_head)
		cookies[k++] = w->comp[w->comp_tail++ % w->comp_cap];
	return k;
}

static int wire_reg_mem(struct nic *nic, void *addr, size_t len, uint32_t *key)
{
	(void)nic;
	(void)addr;
	(void)len;
	*key = 1; /* the wire copies on TX: nothing to register */
	return 0;
}

static int wire_dereg_mem(struct nic *nic, uint32_t key)
{
	(void)nic;
	(void)key;
	return 0;
}

static int wire_add_steer(struct nic *nic, const struct nic_steer *rule)
{
	(void)nic;
	(void)rule;
	return 0; /* one queue, no filtering: everything goes to queue 0 */
}

/* A sender finding our ring full is told so (a short tx_burst) and keeps
 * the frame: the wire never drops on receive. */
static int wire_rx_dropped(struct nic *nic, uint64_t *n)
{
	(void)nic;
	*n = 0;
	return 0;
}

static void wire_link_info(struct nic *nic, struct nic_link_info *info)
{
	struct wire_nic *w = to_wire(nic);

	memset(info, 0, sizeof(*info));
	info->mac[0] = 0x02;
	info->mac[5] = w->side ? 0x0b : 0x0a;
	info->mtu = (uint16_t)w->mtu;
	info->nqueues = 1;
	info->offloads = NIC_OFF_TX_CSUM;
	info->max_tso = 0;
	info->max_segs = NIC_TX_MAX_SEG;
	info->numa_node = -1;
}

static int wire_arm(struct nic *nic, unsigned q)
{
	struct wire_nic *w = to_wire(nic);
	uint8_t buf[64];
	uint32_t head;

	(void)q;
	while (read(w->rx_fifo, buf, sizeof(buf)) > 0)
		;
	atomic_store_explicit(&w->rx->armed, 1, memory_order_relaxed);
	/* orders the armed store before the head load (pairs with kick) */
	atomic_thread_fence(memory_order_seq_cst);
	head = atomic_load_explicit(&w->rx->head, memory_order_acquire);
	if (head != w->rx_tail + w->rx_pending)
		return -EAGAIN;
	return 0;
}

static int wire_fd(struct nic *nic, unsigned q)
{
	(void)q;
	return to_wire(nic)->rx_fifo;
}

static void wire_unlink_all(const struct wire_nic *w)
{
	unlink(w->fifo_path[0]);
	unlink(w->fifo_path[1]);
	unlink(w->path);
}

static void wire_close(struct nic *nic)
{
	struct wire_nic *w = to_wire(nic);
	uint32_t bit = w->side ? WIRE_B : WIRE_A, old;

	old = atomic_fetch_and_explicit(&w->shm->attached, ~bit,
					memory_order_acq_rel);
	if ((old & ~bit) == 0)
		wire_unlink_all(w);
	munmap(w->shm, w->map_len);
	close(w->rx_fifo);
	close(w->tx_fifo);
	free(w->comp);
	free(w);
}

static unsigned wire_flow_queue(struct nic *nic, uint32_t local_ip,
				uint16_t local_port, uint32_t remote_ip,
				uint16_t remote_port)
{
	(void)nic;
	(void)local_ip;
	(void)local_port;
	(void)remote_ip;
	(void)remote_port;
	return 0; /* one queue */
}

static const struct nic_ops wire_ops = {
	.rx_burst = wire_rx_burst,
	.tx_burst = wire_tx_burst,
	.tx_completions = wire_tx_completions,
	.reg_mem = wire_reg_mem,
	.dereg_mem = wire_dereg_mem,
	.add_steer = wire_add_steer,
	.link_info = wire_link_info,
	.arm = wire_arm,
	.fd = wire_fd,
	.flow_queue = wire_flow_queue,
	.place_open = NULL, /* no receive placement */
	.place_post = NULL,
	.place_close = NULL,
	.rx_dropped = wire_rx_dropped,
	.close = wire_close,
};

static size_t wire_map_len(uint32_t nslots, uint32_t slot_size)
{
	return WIRE_SLOTS_OFF + 2 * (size_t)nslots * slot_size;
}

static bool wire_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > WIRE_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return name[0] != '.';
}

static void wire_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000 };

	nanosleep(&ts, NULL);
}

/* Side A: size, map and initialize a file we just created. */
static int wire_create(struct wire_nic *w, int fd, const struct nic_params *p,
		       char *err)
{
	uint32_t mtu = p->mtu ? p->mtu : WIRE_DEFAULT_MTU;
	uint32_t want = p->tx_ring ? p->tx_ring : p->rx_ring, nslots = 1;
	struct wire_shm *shm;
	size_t len;

	if (mtu < 68 || mtu > WIRE_MAX_MTU) {
		snprintf(err, NIC_ERR_LEN, "%s: mtu %u out of range 68..%u",
			 w->spec, mtu, WIRE_MAX_MTU);
		return -EINVAL;
	}
	if (!want)
		want = WIRE_DEFAULT_SLOTS;
	if (want > WIRE_MAX_SLOTS)
		want = WIRE_MAX_SLOTS;
	while (nslots < want)
		nslots <<= 1;
	w->mtu = mtu;
	w->nslots = nslots;
	w->slot_size = (WIRE_SLOT_HDR + mtu + 14 + 63) & ~63u;
	len = wire_map_len(nslots, w->slot_size);
	if (mkfifo(w->fifo_path[0], 0600) < 0 && errno != EEXIST)
		goto err_sys;
	if (mkfifo(w->fifo_path[1], 0600) < 0 && errno != EEXIST)
		goto err_sys;
	if (ftruncate(fd, (off_t)len) < 0)
		goto err_sys;
	shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED)
		goto err_sys;
	w->shm = shm;
	w->map_len = len;
	shm->version = WIRE_VERSION;
	shm->mtu = mtu;
	shm->nslots = nslots;
	shm->slot_size = w->slot_size;
	atomic_store_explicit(&shm->attached, WIRE_A, memory_order_relaxed);
	atomic_store_explicit(&shm->pid_a, (int32_t)getpid(),
			      memory_order_relaxed);
	/* release: the whole header before the magic that B waits for */
	atomic_store_explicit(&shm->magic, WIRE_MAGIC, memory_order_release);
	return 0;
err_sys:
	snprintf(err, NIC_ERR_LEN, "%s: creating %s: %s", w->spec, w->path,
		 strerror(errno));
	return -errno;
}

/* Side B: wait for A's header, check it, map it, claim side B. Returns
 * -EAGAIN when the file is stale or going away (caller retries). */
static int wire_attach(struct wire_nic *w, int fd, const struct nic_params *p,
		       bool last_try, char *err)
{
	struct wire_shm *shm = MAP_FAILED;
	struct stat st;
	uint32_t cur;
	size_t len;
	int i, rc;

	for (i = 0; i < WIRE_ATTACH_WAIT_MS; i++) {
		if (fstat(fd, &st) < 0)
			goto err_sys;
		if ((size_t)st.st_size >= WIRE_SLOTS_OFF) {
			shm = mmap(NULL, WIRE_SLOTS_OFF, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0);
			if (shm == MAP_FAILED)
				goto err_sys;
			if (atomic_load_explicit(&shm->magic,
						 memory_order_acquire) ==
			    WIRE_MAGIC)
				break;
			munmap(shm, WIRE_SLOTS_OFF);
			shm = MAP_FAILED;
		}
		wire_sleep_ms(1);
	}
	if (shm == MAP_FAILED) {
		snprintf(err, NIC_ERR_LEN,
			 "%s: %s exists but was never initialized", w->spec,
			 w->path);
		return -EBUSY;
	}
	if (shm->version != WIRE_VERSION || shm->nslots == 0 ||
	    (shm->nslots & (shm->nslots - 1)) || shm->nslots > WIRE_MAX_SLOTS ||
	    shm->mtu < 68 || shm->mtu > WIRE_MAX_MTU ||
	    shm->slot_size < WIRE_SLOT_HDR + shm->mtu + 14) {
		snprintf(err, NIC_ERR_LEN, "%s: %s has a bad header", w->spec,
			 w->path);
		rc = -EPROTO;
		goto err_unmap;
	}
	if (p->mtu && p->mtu != shm->mtu) {
		snprintf(err, NIC_ERR_LEN,
			 "%s: mtu %u differs from the cable's mtu %u", w->spec,
			 p->mtu, shm->mtu);
		rc = -EINVAL;
		goto err_unmap;
	}
	len = wire_map_len(shm->nslots, shm->slot_size);
	if ((size_t)st.st_size < len) {
		snprintf(err, NIC_ERR_LEN, "%s: %s is truncated", w->spec,
			 w->path);
		rc = -EPROTO;
		goto err_unmap;
	}
	cur = atomic_load_explicit(&shm->attached, memory_order_acquire);
	for (;;) {
		if (cur & WIRE_B) {
			snprintf(err, NIC_ERR_LEN,
				 "%s: cable already has two ends", w->spec);
			rc = -EBUSY;
			goto err_unmap;
		}
		if (cur == 0) {
			/* last side closing right now, or a crash left it */
			if (last_try)
				wire_unlink_all(w);
			rc = -EAGAIN;
			goto err_unmap;
		}
		if (kill(atomic_load(&shm->pid_a), 0) < 0 && errno == ESRCH) {
			wire_unlink_all(w); /* stale */
			rc = -EAGAIN;
			goto err_unmap;
		}
		if (atomic_compare_exchange_weak_explicit(
			    &shm->attached, &cur, cur | WIRE_B,
			    memory_order_acq_rel, memory_order_acquire))
			break;
	}
	atomic_store(&shm->pid_b, (int32_t)getpid());
	w->mtu = shm->mtu;
	w->nslots = shm->nslots;
	w->slot_size = shm->slot_size;
	w->shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w->shm == MAP_FAILED) {
		rc = -errno;
		snprintf(err, NIC_ERR_LEN, "%s: mmap %s: %s", w->spec, w->path,
			 strerror(errno));
		w->shm = NULL;
		atomic_fetch_and(&shm->attached, ~WIRE_B);
		goto err_unmap;
	}
	w->map_len = len;
	munmap(shm, WIRE_SLOTS_OFF);
	return 0;
err_sys:
	rc = -errno;
	snprintf(err, NIC_ERR_LEN, "%s: %s: %s", w->spec, w->path,
		 strerror(errno));
	return rc;
err_unmap:
	munmap(shm, WIRE_SLOTS_OFF);
	return rc;
}

/**
 * nic_wire_open - open one end of the shared-memory cable NAME
 * @name: cable name ([A-Za-z0-9_.-], up to 64 characters)
 * @p: mtu (default 1500) and tx_ring (slots per ring, default 256) are
 *     taken from side A; side B must pass the same mtu or 0
 * @err: one line on failure
 *
 * Return: the nic, or NULL with errno set (EBUSY for a third opener).
 */
struct nic *nic_wire_open(const char *name, const struct nic_params *p,
			  char *err)
{
	static const struct nic_params defaults;
	struct wire_nic *w;
	int fd = -1, rc = -EINVAL, attempt;

	if (!p)
		p = &defaults;
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, NIC_ERR_LEN, "wire:%s: out of memory", name);
		errno = ENOMEM;
		return NULL;
	}
	w->rx_fifo = w->tx_fifo = -1;
	snprintf(w->spec, sizeof(w->spec), "wire:%.*s", WIRE_NAME_MAX, name);
	if (!wire_name_ok(name)) {
		snprintf(err, NIC_ERR_LEN,
			 "wire:%.64s: bad cable name (want 1..64 of "
			 "[A-Za-z0-9_.-])",
			 name);
		goto err_free;
	}
	if (p->nqueues > 1) {
		snprintf(err, NIC_ERR_LEN,
			 "%s: wire supports one queue, not %u", w->spec,
			 p->nqueues);
		goto err_free;
	}
	snprintf(w->path, sizeof(w->path), WIRE_DIR "/tas-wire-%s", name);
	snprintf(w->fifo_path[0], sizeof(w->fifo_path[0]),
		 WIRE_DIR "/tas-wire-%s.ab", name);
	snprintf(w->fifo_path[1], sizeof(w->fifo_path[1]),
		 WIRE_DIR "/tas-wire-%s.ba", name);
	for (attempt = 0; attempt < 5; attempt++) {
		fd = open(w->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			w->side = 0;
			rc = wire_create(w, fd, p, err);
			if (rc < 0) {
				close(fd);
				wire_unlink_all(w);
				goto err_free;
			}
			break;
		}
		if (errno != EEXIST) {
			rc = -errno;
			snprintf(err, NIC_ERR_LEN, "%s: %s: %s", w->spec,
				 w->path, strerror(errno));
			goto err_free;
		}
		fd = open(w->path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			wire_sleep_ms(1); /* unlinked between the two opens */
			continue;
		}
		w->side = 1;
		rc = wire_attach(w, fd, p, attempt >= 3, err);
		close(fd);
		fd = -1;
		if (rc == -EAGAIN) {
			wire_sleep_ms(1);
			continue;
		}
		if (rc < 0 && w->shm)
			goto err_detach;
		if (rc < 0)
			goto err_free;
		break;
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		snprintf(err, NIC_ERR_LEN, "%s: %s keeps going away", w->spec,
			 w->path);
		goto err_free;
	}
	/* O_RDWR on both FIFOs: never blocks, no ENXIO, no SIGPIPE */
	w->rx_fifo = open(w->fifo_path[w->side ? 0 : 1],
			  O_RDWR | O_NONBLOCK | O_CLOEXEC);
	w->tx_fifo = open(w->fifo_path[w->side ? 1 : 0],
			  O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (w->rx_fifo < 0 || w->tx_fifo < 0) {
		rc = -errno;
		snprintf(err, NIC_ERR_LEN, "%s: opening wakeup FIFO: %s",
			 w->spec, strerror(errno));
		goto err_detach;
	}
	w->comp_cap = 2 * w->nslots;
	w->comp = calloc(w->comp_cap, sizeof(*w->comp));
	if (!w->comp) {
		rc = -ENOMEM;
		snprintf(err, NIC_ERR_LEN, "%s: out of memory", w->spec);
		goto err_detach;
	}
	w->max_frame = w->mtu + 14;
	w->tx = &w->shm->ring[w->side];
	w->rx = &w->shm->ring[!w->side];
	w->tx_slots = (uint8_t *)w->shm + WIRE_SLOTS_OFF +
		      (size_t)w->side * w->nslots * w->slot_size;
	w->rx_slots = (uint8_t *)w->shm + WIRE_SLOTS_OFF +
		      (size_t)!w->side * w->nslots * w->slot_size;
	/* a fresh side starts where the rings are now (B attaches late) */
	w->tx_head = atomic_load_explicit(&w->tx->head, memory_order_acquire);
	w->rx_tail = atomic_load_explicit(&w->rx->tail, memory_order_acquire);
	w->nic.ops = &wire_ops;
	w->nic.name = w->spec;
	return &w->nic;
err_detach:
	if (w->rx_fifo >= 0)
		close(w->rx_fifo);
	if (w->tx_fifo >= 0)
		close(w->tx_fifo);
	if (w->shm) {
		uint32_t bit = w->side ? WIRE_B : WIRE_A;

		if ((atomic_fetch_and(&w->shm->attached, ~bit) & ~bit) == 0)
			wire_unlink_all(w);
		munmap(w->shm, w->map_len ? w->map_len : WIRE_SLOTS_OFF);
	}
err_free:
	free(w);
	errno = -rc;
	return NULL;
}
