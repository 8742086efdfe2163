/* test_nic_fault.c - the fault-injecting decorator over an in-memory fake
 *
 * The fake nic captures TX frames (length, sequence number, hash) and
 * serves RX frames the test queues, so every decision is observable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verbs/nic.h"
#include "verbs/nic_fault.h"

#define FRAME_MAX 1514
#define FAKE_RX_SLOTS 1024
#define FAKE_CAP_MAX 400000

struct cap {
	uint32_t len;
	uint32_t seq;
	uint64_t hash;
};

struct fake {
	struct nic nic;
	/* RX: frames queued by the test */
	uint8_t rx[FAKE_RX_SLOTS][FRAME_MAX];
	uint32_t rx_len[FAKE_RX_SLOTS];
	uint32_t rx_head, rx_tail, rx_out;
	/* TX: what the wrapper sent */
	struct cap *cap;
	uint32_t ncap;
	uint64_t comp[8192];
	uint32_t comp_head, comp_tail;
	int closed;
	uint8_t rx_csum; /* what rx_burst reports */
	/* flow_queue: calls and the last arguments seen */
	unsigned fq_calls;
	uint32_t fq_lip, fq_rip;
	uint16_t fq_lport, fq_rport;
};

static struct fake *to_fake(struct nic *nic)
{
	return container_of(nic, struct fake, nic);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

static unsigned fake_rx_burst(struct nic *nic, unsigned q, struct nic_rx *rx,
			      unsigned n)
{
	struct fake *f = to_fake(nic);
	unsigned k = 0;

	(void)q;
	f->rx_tail += f->rx_out; /* previous frames released now */
	f->rx_out = 0;
	while (k < n && f->rx_tail + k != f->rx_head) {
		uint32_t s = (f->rx_tail + k) % FAKE_RX_SLOTS;

		rx[k].data = f->rx[s];
		rx[k].len = f->rx_len[s];
		rx[k].gso_size = 0;
		rx[k].csum = f->rx_csum;
		k++;
	}
	f->rx_out = k;
	return k;
}

static unsigned fake_tx_burst(struct nic *nic, unsigned q,
			      const struct nic_tx *tx, unsigned n)
{
	struct fake *f = to_fake(nic);
	uint8_t buf[FRAME_MAX + NIC_HDR_MAX];
	unsigned i, j;

	(void)q;
	for (i = 0; i < n; i++) {
		size_t len = tx[i].hdr_len;

		if (f->comp_head - f->comp_tail == 8192 ||
		    f->ncap == FAKE_CAP_MAX)
			break;
		memcpy(buf, tx[i].hdr, tx[i].hdr_len);
		for (j = 0; j < tx[i].nseg; j++) {
			memcpy(buf + len, tx[i].seg[j].addr, tx[i].seg[j].len);
			len += tx[i].seg[j].len;
		}
		f->cap[f->ncap].len = (uint32_t)len;
		f->cap[f->ncap].seq = 0;
		if (len >= 4)
			memcpy(&f->cap[f->ncap].seq, buf, 4);
		f->cap[f->ncap].hash = fnv(buf, len);
		f->ncap++;
		f->comp[f->comp_head++ % 8192] = tx[i].cookie;
	}
	return i;
}

static unsigned fake_tx_completions(struct nic *nic, unsigned q, uint64_t *c,
				    unsigned n)
{
	struct fake *f = to_fake(nic);
	unsigned k = 0;

	(void)q;
	while (k < n && f->comp_tail != f->comp_head)
		c[k++] = f->comp[f->comp_tail++ % 8192];
	return k;
}

static int fake_reg_mem(struct nic *nic, void *a, size_t l, uint32_t *key)
{
	(void)nic;
	(void)a;
	(void)l;
	*key = 42;
	return 0;
}

static int fake_dereg_mem(struct nic *nic, uint32_t key)
{
	(void)nic;
	assert_int_equal(key, 42);
	return 0;
}

static int fake_add_steer(struct nic *nic, const struct nic_steer *r)
{
	(void)nic;
	(void)r;
	return 0;
}

static void fake_link_info(struct nic *nic, struct nic_link_info *info)
{
	(void)nic;
	memset(info, 0, sizeof(*info));
	info->mtu = 1500;
	info->nqueues = 1;
	info->max_segs = NIC_TX_MAX_SEG;
	info->offloads = NIC_OFF_TSO | NIC_OFF_TX_CSUM;
	info->numa_node = -1;
}

static int fake_arm(struct nic *nic, unsigned q)
{
	struct fake *f = to_fake(nic);

	(void)q;
	return f->rx_tail + f->rx_out != f->rx_head ? -EAGAIN : 0;
}

static int fake_fd(struct nic *nic, unsigned q)
{
	(void)nic;
	(void)q;
	return -1;
}

static unsigned fake_flow_queue(struct nic *nic, uint32_t local_ip,
				uint16_t local_port, uint32_t remote_ip,
				uint16_t remote_port)
{
	struct fake *f = to_fake(nic);

	f->fq_calls++;
	f->fq_lip = local_ip;
	f->fq_lport = local_port;
	f->fq_rip = remote_ip;
	f->fq_rport = remote_port;
	return remote_port % 3u;
}

static void fake_close(struct nic *nic)
{
	struct fake *f = to_fake(nic);

	free(f->cap);
	free(f);
}

static const struct nic_ops fake_ops = {
	.rx_burst = fake_rx_burst,
	.tx_burst = fake_tx_burst,
	.tx_completions = fake_tx_completions,
	.reg_mem = fake_reg_mem,
	.dereg_mem = fake_dereg_mem,
	.add_steer = fake_add_steer,
	.link_info = fake_link_info,
	.arm = fake_arm,
	.fd = fake_fd,
	.flow_queue = fake_flow_queue,
	.close = fake_close,
};

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->cap = calloc(FAKE_CAP_MAX, sizeof(*f->cap));
	assert_non_null(f->cap);
	f->nic.ops = &fake_ops;
	f->nic.name = "fake";
	return f;
}

static void fill(uint8_t *b, uint32_t len, uint32_t seq)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(seq * 131u + i * 7u);
	memcpy(b, &seq, 4);
}

static uint32_t size_of(uint32_t seq)
{
	return 60 + (seq * 977u) % (FRAME_MAX - 60 + 1);
}

static struct nic *wrap(struct fake **fp, const char *spec)
{
	char err[NIC_ERR_LEN] = "";
	struct nic *n;

	*fp = fake_new();
	n = nic_fault_wrap(&(*fp)->nic, spec, err);
	if (!n)
		print_error("%s\n", err);
	assert_non_null(n);
	return n;
}

/* Sends frames [0, count) through @n on TX; checks that every cookie
 * completes exactly once and in order. */
static void tx_frames(struct nic *n, uint32_t count)
{
	static uint8_t buf[32][FRAME_MAX];
	uint64_t next = 0, c[64];
	uint32_t sent = 0;
	unsigned i, k, spins = 0;

	while ((sent < count || next < count) && spins++ < 10000000) {
		struct nic_tx tx[32];
		unsigned m = count - sent < 32 ? count - sent : 32;

		for (i = 0; i < m; i++) {
			uint32_t len = size_of(sent + i);

			fill(buf[i], len, sent + i);
			memset(&tx[i], 0, sizeof(tx[i]));
			tx[i].hdr = buf[i];
			tx[i].hdr_len = 54;
			tx[i].nseg = 1;
			tx[i].seg[0].addr = buf[i] + 54;
			tx[i].seg[0].len = len - 54;
			tx[i].cookie = sent + i;
		}
		sent += m ? nic_tx_burst(n, 0, tx, m) : 0;
		/* scribble over the caller's memory: held copies must not
		 * care */
		memset(buf, 0xee, sizeof(buf));
		while ((k = nic_tx_completions(n, 0, c, 64)) > 0) {
			for (i = 0; i < k; i++)
				assert_int_equal(c[i], next++);
		}
	}
	assert_int_equal(sent, count);
	assert_int_equal(next, count);
}

/* Queues frames [0, count) on the fake's RX and receives them through @n;
 * records the sequence numbers seen in @seen (may be NULL). */
static uint32_t rx_frames(struct fake *f, struct nic *n, uint32_t count,
			  uint32_t *seen, uint32_t seen_max)
{
	uint32_t queued = 0, got = 0;
	unsigned i, k, idle = 0;

	while (idle < 64) {
		struct nic_rx rx[32];

		while (queued < count &&
		       f->rx_head - f->rx_tail < FAKE_RX_SLOTS - 1) {
			uint32_t s = f->rx_head % FAKE_RX_SLOTS;

			f->rx_len[s] = size_of(queued);
			fill(f->rx[s], f->rx_len[s], queued);
			f->rx_head++;
			queued++;
		}
		k = nic_rx_burst(n, 0, rx, 32);
		for (i = 0; i < k; i++) {
			uint32_t seq = 0;

			if (rx[i].len >= 4)
				memcpy(&seq, rx[i].data, 4);
			if (seen && got < seen_max)
				seen[got] = seq;
			got++;
		}
		idle = (k == 0 && queued == count) ? idle + 1 : 0;
	}
	return got;
}

static void test_fault_spec_table_accepts_good_rejects_bad(void **state)
{
	static const char *good[] = {
		"",
		"drop=0.1",
		"drop=2%,dup=0,reorder=1,corrupt=100%,truncate=0.5",
		"delay=100us,seed=7,dir=rx",
		"delay=5ms,dir=tx",
		"delay=1s,seed=0x10,dir=both",
		"delay=0",
	};
	static const struct {
		const char *spec;
		const char *line;
	} bad[] = {
		{ "drop=1.5", "--fault: bad probability \"drop=1.5\" (want "
			      "0..1 or 0..100%)" },
		{ "dup=101%", "--fault: bad probability \"dup=101%\" (want "
			      "0..1 or 0..100%)" },
		{ "reorder=", "--fault: bad probability \"reorder=\" (want "
			      "0..1 or 0..100%)" },
		{ "corrupt=-0.1", "--fault: bad probability \"corrupt=-0.1\" "
				  "(want 0..1 or 0..100%)" },
		{ "truncate=0.5x", "--fault: bad probability \"truncate=0.5x\" "
				   "(want 0..1 or 0..100%)" },
		{ "delay=5x", "--fault: bad duration \"delay=5x\" (want e.g. "
			      "100us, 5ms or 1s)" },
		{ "delay=ms", "--fault: bad duration \"delay=ms\" (want e.g. "
			      "100us, 5ms or 1s)" },
		{ "seed=abc", "--fault: bad seed \"seed=abc\" (want an "
			      "unsigned integer)" },
		{ "dir=up", "--fault: bad direction \"dir=up\" (want rx, tx "
			    "or both)" },
		{ "drop", "--fault: bad token \"drop\" (want key=value)" },
		{ "drop=0.1,lose=0.2",
		  "--fault: unknown key \"lose=0.2\" (want drop, dup, "
		  "reorder, corrupt, truncate, delay, seed or dir)" },
	};
	char err[NIC_ERR_LEN];
	struct fake *f;
	struct nic *n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		n = wrap(&f, good[i]);
		nic_close(n);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fake_new();
		errno = 0;
		err[0] = '\0';
		assert_null(nic_fault_wrap(&f->nic, bad[i].spec, err));
		assert_int_equal(errno, EINVAL);
		assert_string_equal(err, bad[i].line);
		nic_close(&f->nic); /* still the caller's */
	}
}

static void test_fault_stats_on_plain_nic_fails_einval(void **state)
{
	struct nic_fault_stats st;
	struct fake *f = fake_new();

	(void)state;
	assert_int_equal(nic_fault_stats(&f->nic, &st), -EINVAL);
	nic_close(&f->nic);
}

static void test_fault_drop_rate_tx_within_one_percent(void **state)
{
	struct nic_fault_stats st;
	struct fake *f;
	struct nic *n = wrap(&f, "drop=0.1,seed=42,dir=tx");
	const uint32_t total = 100000;

	(void)state;
	tx_frames(n, total);
	assert_int_equal(nic_fault_stats(n, &st), 0);
	assert_int_equal(st.tx.frames, total);
	assert_int_equal(st.tx.drop + f->ncap, total);
	assert_true(st.tx.drop >= 9000 && st.tx.drop <= 11000);
	assert_int_equal(st.rx.frames, 0);
	nic_close(n);
}

static void test_fault_rates_rx_within_one_percent(void **state)
{
	struct nic_fault_stats st;
	struct fake *f;
	struct nic *n = wrap(&f, "drop=10%,dup=0.05,corrupt=0.02,seed=3,"
				 "dir=rx");
	const uint32_t total = 100000;
	uint32_t got;

	(void)state;
	got = rx_frames(f, n, total, NULL, 0);
	assert_int_equal(nic_fault_stats(n, &st), 0);
	assert_int_equal(st.rx.frames, total);
	assert_true(st.rx.drop >= 9000 && st.rx.drop <= 11000);
	/* dup and corrupt draw only for frames that survived the drop */
	assert_true(st.rx.dup >= 90000 * 4 / 100 &&
		    st.rx.dup <= 90000 * 6 / 100);
	assert_true(st.rx.corrupt >= 90000 * 1 / 100 &&
		    st.rx.corrupt <= 90000 * 3 / 100);
	assert_int_equal(got, total - st.rx.drop + st.rx.dup);
	assert_int_equal(st.rx.out, got);
	assert_int_equal(st.tx.frames, 0);
	nic_close(n);
}

static void run_seen(const char *spec, uint32_t *seen, uint32_t *nseen)
{
	struct fake *f;
	struct nic *n = wrap(&f, spec);

	*nseen = rx_frames(f, n, 20000, seen, 40000);
	nic_close(n);
}

static void test_fault_same_seed_replays_same_decisions(void **state)
{
	static uint32_t s1[40000], s2[40000], s3[40000];
	uint32_t n1, n2, n3;

	(void)state;
	run_seen("drop=0.2,dup=0.2,reorder=0.2,seed=99", s1, &n1);
	run_seen("drop=0.2,dup=0.2,reorder=0.2,seed=99", s2, &n2);
	run_seen("drop=0.2,dup=0.2,reorder=0.2,seed=100", s3, &n3);
	assert_int_equal(n1, n2);
	assert_memory_equal(s1, s2, n1 * sizeof(s1[0]));
	assert_true(n1 != n3 || memcmp(s1, s3, n1 * sizeof(s1[0])) != 0);
}

static void test_fault_dup_delivers_each_frame_twice(void **state)
{
	static uint32_t seen[2000];
	struct fake *f;
	struct nic *n = wrap(&f, "dup=1");
	uint32_t i, got;

	(void)state;
	got = rx_frames(f, n, 1000, seen, 2000);
	assert_int_equal(got, 2000);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(seen[2 * i], i);
		assert_int_equal(seen[2 * i + 1], i);
	}
	tx_frames(n, 1000);
	assert_int_equal(f->ncap, 2000);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(f->cap[2 * i].seq, i);
		assert_int_equal(f->cap[2 * i + 1].hash, f->cap[2 * i].hash);
	}
	nic_close(n);
}

static void test_fault_reorder_swaps_with_next_frame(void **state)
{
	static uint32_t seen[1000];
	struct fake *f;
	struct nic *n = wrap(&f, "reorder=1");
	uint32_t i, got;

	(void)state;
	got = rx_frames(f, n, 1000, seen, 1000);
	assert_int_equal(got, 1000);
	for (i = 0; i < 1000; i += 2) {
		assert_int_equal(seen[i], i + 1);
		assert_int_equal(seen[i + 1], i);
	}
	/* TX, odd count: the last frame is released by idle calls */
	tx_frames(n, 999);
	assert_int_equal(f->ncap, 998);
	for (i = 0; i < 16; i++) {
		uint64_t c[4];

		assert_int_equal(nic_tx_completions(n, 0, c, 4), 0);
	}
	assert_int_equal(f->ncap, 999);
	for (i = 0; i + 1 < 998; i += 2) {
		assert_int_equal(f->cap[i].seq, i + 1);
		assert_int_equal(f->cap[i + 1].seq, i);
	}
	assert_int_equal(f->cap[998].seq, 998);
	nic_close(n);
}

static void test_fault_corrupt_flips_exactly_one_bit(void **state)
{
	struct fake *f;
	struct nic *n = wrap(&f, "corrupt=1,seed=5,dir=tx");
	uint8_t want[FRAME_MAX];
	struct nic_rx rx[8];
	uint32_t i, seq = 0;
	unsigned k, j, bits;

	(void)state;
	tx_frames(n, 1000);
	assert_int_equal(f->ncap, 1000);
	for (i = 0; i < 1000; i++) {
		fill(want, size_of(i), i);
		assert_int_equal(f->cap[i].len, size_of(i));
		assert_true(f->cap[i].hash != fnv(want, size_of(i)));
	}
	/* RX untouched with dir=tx; then check the bit count on RX */
	nic_close(n);
	n = wrap(&f, "corrupt=1,seed=5,dir=rx");
	for (i = 0; i < 8; i++) {
		f->rx_len[i] = size_of(i);
		fill(f->rx[i], f->rx_len[i], i);
	}
	f->rx_head = 8;
	k = nic_rx_burst(n, 0, rx, 8);
	assert_int_equal(k, 8);
	for (i = 0; i < k; i++) {
		fill(want, size_of(i), i);
		assert_int_equal(rx[i].len, size_of(i));
		for (j = 0, bits = 0; j < rx[i].len; j++)
			bits += (unsigned)__builtin_popcount(rx[i].data[j] ^
							     want[j]);
		assert_int_equal(bits, 1);
		assert_int_equal(rx[i].csum, NIC_CSUM_UNKNOWN); /* verify */
		(void)seq;
	}
	nic_close(n);
	/* checksums the inner NIC vouched for: corrupted frames say BAD */
	n = wrap(&f, "corrupt=0.5,seed=9,dir=rx");
	f->rx_csum = NIC_CSUM_PARTIAL;
	for (i = 0; i < 8; i++) {
		f->rx_len[i] = size_of(i);
		fill(f->rx[i], f->rx_len[i], i);
	}
	f->rx_head = 8;
	k = nic_rx_burst(n, 0, rx, 8);
	assert_int_equal(k, 8);
	for (i = 0, bits = 0; i < k; i++) {
		fill(want, size_of(i), i);
		int flipped = memcmp(rx[i].data, want, rx[i].len) != 0;

		assert_int_equal(rx[i].csum,
				 flipped ? NIC_CSUM_BAD : NIC_CSUM_PARTIAL);
		bits += flipped;
	}
	assert_true(bits > 0 && bits < 8);
	nic_close(n);
}

static void test_fault_truncate_cuts_to_shorter_prefix(void **state)
{
	struct fake *f;
	struct nic *n = wrap(&f, "truncate=1,seed=9");
	uint8_t want[FRAME_MAX];
	struct nic_rx rx[32];
	uint32_t i;
	unsigned k;

	(void)state;
	for (i = 0; i < 32; i++) {
		f->rx_len[i] = size_of(i);
		fill(f->rx[i], f->rx_len[i], i);
	}
	f->rx_head = 32;
	k = nic_rx_burst(n, 0, rx, 32);
	assert_int_equal(k, 32);
	for (i = 0; i < k; i++) {
		fill(want, size_of(i), i);
		assert_true(rx[i].len >= 1 && rx[i].len < size_of(i));
		assert_memory_equal(rx[i].data, want, rx[i].len);
	}
	nic_close(n);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_fault_delay_holds_frames_then_releases_in_order(void **st)
{
	struct fake *f;
	struct nic *n = wrap(&f, "delay=20ms,dir=rx");
	struct nic_rx rx[32];
	uint64_t t0;
	uint32_t i, got = 0, seq;
	unsigned k;

	(void)st;
	for (i = 0; i < 16; i++) {
		f->rx_len[i] = size_of(i);
		fill(f->rx[i], f->rx_len[i], i);
	}
	f->rx_head = 16;
	t0 = now_ns();
	k = nic_rx_burst(n, 0, rx, 32);
	if (now_ns() - t0 < 15000000)
		assert_int_equal(k, 0);
	assert_int_equal(nic_arm(n, 0), -EAGAIN); /* held: don't sleep */
	while (got < 16 && now_ns() - t0 < 2000000000ull) {
		k = nic_rx_burst(n, 0, rx, 32);
		for (i = 0; i < k; i++) {
			assert_true(now_ns() - t0 >= 20000000);
			memcpy(&seq, rx[i].data, 4);
			assert_int_equal(seq, got);
			got++;
		}
	}
	assert_int_equal(got, 16);
	assert_int_equal(nic_arm(n, 0), 0);
	/* TX delay: nothing reaches the fake before 20ms */
	nic_close(n);
	n = wrap(&f, "delay=20ms,dir=tx");
	t0 = now_ns();
	tx_frames(n, 10); /* cookies complete at once: frames were copied */
	if (now_ns() - t0 < 15000000)
		assert_int_equal(f->ncap, 0);
	while (f->ncap < 10 && now_ns() - t0 < 2000000000ull) {
		uint64_t c[4];

		nic_tx_completions(n, 0, c, 4);
	}
	assert_true(now_ns() - t0 >= 20000000);
	assert_int_equal(f->ncap, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(f->cap[i].seq, i);
	nic_close(n);
}

static void test_fault_tx_cookies_complete_exactly_once(void **state)
{
	struct nic_fault_stats st;
	struct fake *f;
	struct nic *n = wrap(&f, "drop=0.2,dup=0.2,reorder=0.2,corrupt=0.1,"
				 "truncate=0.1,seed=1234");
	struct nic_link_info li;

	(void)state;
	nic_link_info(n, &li);
	assert_int_equal(li.offloads & NIC_OFF_TSO, 0);
	/* checksums in software: a frame corrupted on the way out must fail
	 * verification at the peer */
	assert_int_equal(li.offloads & NIC_OFF_TX_CSUM, 0);
	tx_frames(n, 20000); /* asserts each cookie once, in order */
	assert_int_equal(nic_fault_stats(n, &st), 0);
	assert_int_equal(st.tx.frames, 20000);
	assert_int_equal(f->ncap, st.tx.out);
	assert_int_equal(st.tx.out, 20000 - st.tx.drop + st.tx.dup);
	nic_close(n);
}

static void test_fault_flow_queue_delegates_to_inner(void **state)
{
	struct fake *f;
	struct nic *n = wrap(&f, "drop=0.5,reorder=0.5,seed=7");
	uint32_t lip = htonl(0xc0a80001u), rip = htonl(0x0a000002u);

	(void)state;
	assert_int_equal(nic_flow_queue(n, lip, 80, rip, 40001), 40001 % 3);
	assert_int_equal(f->fq_calls, 1);
	assert_int_equal(f->fq_lip, lip);
	assert_int_equal(f->fq_lport, 80);
	assert_int_equal(f->fq_rip, rip);
	assert_int_equal(f->fq_rport, 40001);
	assert_int_equal(nic_flow_queue(n, lip, 80, rip, 40002), 40002 % 3);
	assert_int_equal(f->fq_calls, 2);
	nic_close(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_fault_spec_table_accepts_good_rejects_bad),
		cmocka_unit_test(test_fault_stats_on_plain_nic_fails_einval),
		cmocka_unit_test(test_fault_drop_rate_tx_within_one_percent),
		cmocka_unit_test(test_fault_rates_rx_within_one_percent),
		cmocka_unit_test(test_fault_same_seed_replays_same_decisions),
		cmocka_unit_test(test_fault_dup_delivers_each_frame_twice),
		cmocka_unit_test(test_fault_reorder_swaps_with_next_frame),
		cmocka_unit_test(test_fault_corrupt_flips_exactly_one_bit),
		cmocka_unit_test(test_fault_truncate_cuts_to_shorter_prefix),
		cmocka_unit_test(
			test_fault_delay_holds_frames_then_releases_in_order),
		cmocka_unit_test(test_fault_tx_cookies_complete_exactly_once),
		cmocka_unit_test(test_fault_flow_queue_delegates_to_inner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
