/* test_nic_link.c - the bottleneck link decorator and its pure queue, over
 * an in-memory fake nic and a virtual clock
 *
 * The fake captures every frame it is handed with the virtual time it was
 * handed at, so rate, drop-tail, marking and delay are exact to the ns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "verbs/nic.h"
#include "verbs/nic_link.h"

#define FRAME_MAX 1514
#define CAP_MAX 4096
#define RX_SLOTS 64

struct fake {
	struct nic nic;
	uint64_t *clock;
	uint8_t cap[CAP_MAX][FRAME_MAX];
	uint32_t cap_len[CAP_MAX];
	uint64_t cap_t[CAP_MAX];
	uint32_t ncap;
	uint64_t comp[8192];
	uint32_t comp_head, comp_tail;
	uint8_t rx[RX_SLOTS][FRAME_MAX];
	uint32_t rx_len[RX_SLOTS];
	uint32_t rx_head, rx_tail, rx_out;
};

static struct fake *to_fake(struct nic *nic)
{
	return container_of(nic, struct fake, nic);
}

static unsigned fake_rx_burst(struct nic *nic, unsigned q, struct nic_rx *rx,
			      unsigned n)
{
	struct fake *f = to_fake(nic);
	unsigned k = 0;

	(void)q;
	f->rx_tail += f->rx_out;
	f->rx_out = 0;
	while (k < n && f->rx_tail + k != f->rx_head) {
		uint32_t s = (f->rx_tail + k) % RX_SLOTS;

		memset(&rx[k], 0, sizeof(rx[k]));
		rx[k].data = f->rx[s];
		rx[k].len = f->rx_len[s];
		k++;
	}
	f->rx_out = k;
	return k;
}

static unsigned fake_tx_burst(struct nic *nic, unsigned q,
			      const struct nic_tx *tx, unsigned n)
{
	struct fake *f = to_fake(nic);
	unsigned i, j;

	(void)q;
	for (i = 0; i < n && f->ncap < CAP_MAX; i++) {
		uint8_t *b = f->cap[f->ncap];
		uint32_t len = tx[i].hdr_len;

		memcpy(b, tx[i].hdr, tx[i].hdr_len);
		for (j = 0; j < tx[i].nseg; j++) {
			assert_true(len + tx[i].seg[j].len <= FRAME_MAX);
			memcpy(b + len, tx[i].seg[j].addr, tx[i].seg[j].len);
			len += tx[i].seg[j].len;
		}
		f->cap_len[f->ncap] = len;
		f->cap_t[f->ncap] = *f->clock;
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
	*key = 7;
	return 0;
}

static int fake_dereg_mem(struct nic *nic, uint32_t key)
{
	(void)nic;
	assert_int_equal(key, 7);
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
	(void)nic;
	(void)q;
	return 0;
}

static int fake_fd(struct nic *nic, unsigned q)
{
	(void)nic;
	(void)q;
	return -1;
}

static unsigned fake_flow_queue(struct nic *nic, uint32_t a, uint16_t b,
				uint32_t c, uint16_t d)
{
	(void)nic;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return 0;
}

static void fake_close(struct nic *nic)
{
	free(to_fake(nic));
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

static uint64_t vclock;

static uint64_t vclock_now(void *arg)
{
	return *(uint64_t *)arg;
}

static struct nic *wrap(struct fake **fp, const char *spec)
{
	char err[NIC_ERR_LEN] = "";
	struct fake *f = calloc(1, sizeof(*f));
	struct nic *n;

	assert_non_null(f);
	f->nic.ops = &fake_ops;
	f->nic.name = "fake";
	f->clock = &vclock;
	vclock = 0;
	n = nic_link_wrap(&f->nic, spec, err);
	if (!n)
		print_error("%s\n", err);
	assert_non_null(n);
	assert_int_equal(nic_link_set_clock(n, vclock_now, &vclock), 0);
	*fp = f;
	return n;
}

/* IPv4 header checksum over the 20-byte header at @ip: 0 when valid. */
static uint16_t ip_csum(const uint8_t *ip)
{
	uint32_t sum = 0;
	int i;

	for (i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An Ethernet/IPv4/TCP frame of @len bytes with IP ECN @ecn, id @id and a
 * valid header checksum. */
static void frame(uint8_t *b, uint32_t len, uint8_t ecn, uint16_t id)
{
	uint16_t c;

	memset(b, 0, len);
	b[12] = 0x08;
	b[14] = 0x45;
	b[15] = (uint8_t)(0xb8 | ecn); /* DSCP 46: the ECN bits stay apart */
	b[16] = (uint8_t)((len - 14) >> 8);
	b[17] = (uint8_t)(len - 14);
	b[18] = (uint8_t)(id >> 8);
	b[19] = (uint8_t)id;
	b[22] = 64;
	b[23] = 6;
	b[26] = 198;
	b[27] = 18;
	b[29] = 1;
	b[30] = 198;
	b[31] = 18;
	b[33] = 2;
	c = ip_csum(b + 14);
	b[24] = (uint8_t)(c >> 8);
	b[25] = (uint8_t)c;
}

/* Posts @count frames at the current virtual time; every cookie must
 * complete at once, in order. Returns how many tx_burst accepted. */
static unsigned send(struct nic *n, unsigned count, uint32_t len, uint8_t ecn)
{
	static uint8_t buf[64][FRAME_MAX];
	static uint64_t next_cookie;
	unsigned i, acc = 0, k;
	uint64_t c[64];

	while (acc < count) {
		struct nic_tx tx[64];
		unsigned m = count - acc < 64 ? count - acc : 64, got;

		for (i = 0; i < m; i++) {
			frame(buf[i], len, ecn, (uint16_t)(acc + i));
			memset(&tx[i], 0, sizeof(tx[i]));
			tx[i].hdr = buf[i];
			tx[i].hdr_len = 54;
			tx[i].nseg = 1;
			tx[i].seg[0].addr = buf[i] + 54;
			tx[i].seg[0].len = len - 54;
			tx[i].cookie = next_cookie + acc + i;
		}
		got = nic_tx_burst(n, 0, tx, m);
		assert_int_equal(got, m);
		memset(buf, 0xee, sizeof(buf)); /* held copies must not care */
		acc += got;
	}
	while ((k = nic_tx_completions(n, 0, c, 64)) > 0) {
		for (i = 0; i < k; i++)
			assert_int_equal(c[i], next_cookie++);
	}
	return acc;
}

/* Steps the virtual clock to @until in @step ns, polling completions. */
static void advance(struct nic *n, uint64_t until, uint64_t step)
{
	uint64_t c[64];

	while (vclock < until) {
		vclock += step;
		while (nic_tx_completions(n, 0, c, 64) > 0)
			;
	}
}

static void test_link_spec_bad_rejected_with_one_line(void **state)
{
	static const char *bad[] = {
		"",
		"queue=10",
		"rate=0gbit",
		"rate=fast",
		"rate=10",
		"rate=1gbit,delay=5",
		"rate=1gbit,delay=-5us",
		"rate=1gbit,queue=0",
		"rate=1gbit,queue=x",
		"rate=1gbit,queue=50,ecn=50",
		"rate=1gbit,ecn=7x",
		"rate=1gbit,dir=both",
		"rate=1gbit,color=red",
		"rate",
	};
	static const char *good[] = {
		"rate=1gbit",
		"rate=10gbit,delay=20us,queue=200,ecn=65",
		"rate=500mbit,delay=0,queue=100,ecn=20,dir=rx",
		"rate=2.5Gbit,dir=tx",
	};
	struct link_params p;
	char err[NIC_ERR_LEN];
	struct fake *f;
	struct nic *n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fake *in = calloc(1, sizeof(*in));

		assert_non_null(in);
		in->nic.ops = &fake_ops;
		in->clock = &vclock;
		err[0] = '\0';
		errno = 0;
		assert_null(nic_link_wrap(&in->nic, bad[i], err));
		assert_int_equal(errno, EINVAL);
		assert_true(strncmp(err, "--link: ", 8) == 0);
		assert_null(strchr(err, '\n'));
		nic_close(&in->nic); /* the caller still owns inner */
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(nic_link_parse(good[i], &p, err), 0);
		n = wrap(&f, good[i]);
		nic_close(n);
	}
	assert_int_equal(nic_link_parse("rate=2.5Gbit", &p, err), 0);
	assert_int_equal(p.rate_bps, 2500000000ull);
	assert_int_equal(p.limit, 100);
	assert_int_equal(p.ecn_k, LINK_ECN_OFF);
	assert_int_equal(
		nic_link_parse("rate=1gbit,delay=20us,dir=rx", &p, err), 0);
	assert_int_equal(p.delay_ns, 20000);
	assert_true(p.dir_rx);
}

static void test_link_rate_serializes_exactly(void **state)
{
	struct nic_link_stats st;
	struct fake *f;
	struct nic *n;
	unsigned i;

	(void)state;
	/* 1250-byte frames at 1 Gbit/s: one per 10 us, then 30 us away */
	n = wrap(&f, "rate=1gbit,delay=30us,queue=1000");
	assert_int_equal(send(n, 100, 1250, 0), 100);
	assert_int_equal(f->ncap, 0);
	assert_int_equal(nic_arm(n, 0), -EAGAIN); /* frames held */
	advance(n, 2000000, 100);
	assert_int_equal(f->ncap, 100);
	for (i = 0; i < 100; i++) {
		uint64_t due = (uint64_t)(i + 1) * 10000 + 30000;

		assert_true(f->cap_t[i] >= due);
		assert_true(f->cap_t[i] < due + 100);
		assert_int_equal(f->cap_len[i], 1250);
	}
	assert_int_equal(nic_arm(n, 0), 0);
	assert_int_equal(nic_link_stats(n, &st), 0);
	assert_int_equal(st.enqueued, 100);
	assert_int_equal(st.delivered, 100);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.bytes, 125000);
	assert_int_equal(st.max_occupancy, 99);
	nic_close(n);
}

static void test_link_queue_rate_exact_over_many_packets(void **state)
{
	struct link_params p = { .rate_bps = 10000000000ull,
				 .limit = 1000,
				 .ecn_k = LINK_ECN_OFF };
	struct link_queue q;
	uint64_t now = 0, deliver = 0, bytes = 0;
	unsigned i;

	(void)state;
	assert_int_equal(link_queue_init(&q, &p), 0);
	/* odd sizes keep a remainder; the total time must not drift */
	for (i = 0; i < 100000; i++) {
		uint32_t len = 64 + (i * 977u) % 1451;

		assert_int_not_equal(
			link_queue_enqueue(&q, now, len, false, &deliver),
			LINK_DROP);
		bytes += len;
		now = deliver - 1000; /* keep about one packet queued */
		if (deliver < 1000)
			now = 0;
	}
	assert_true(deliver * p.rate_bps / 1000000000ull <= bytes * 8);
	assert_true((deliver + 1) * p.rate_bps / 1000000000ull >= bytes * 8);
	link_queue_fini(&q);
}

static void test_link_queue_full_drops_tail(void **state)
{
	struct nic_link_stats st;
	struct fake *f;
	struct nic *n;
	unsigned i;

	(void)state;
	n = wrap(&f, "rate=1gbit,queue=10");
	assert_int_equal(send(n, 30, 1000, 2), 30); /* all cookies back */
	advance(n, 1000000, 1000);
	assert_int_equal(f->ncap, 10);
	for (i = 0; i < 10; i++) /* the first ten, in order */
		assert_int_equal(f->cap[i][18] << 8 | f->cap[i][19], i);
	assert_int_equal(nic_link_stats(n, &st), 0);
	assert_int_equal(st.enqueued, 10);
	assert_int_equal(st.dropped, 20);
	assert_int_equal(st.max_occupancy, 10);
	/* drained: the queue accepts again */
	assert_int_equal(send(n, 5, 1000, 0), 5);
	advance(n, 2000000, 1000);
	assert_int_equal(f->ncap, 15);
	nic_close(n);
}

static void test_link_ecn_marks_ect_above_k_csum_valid(void **state)
{
	struct nic_link_stats st;
	struct fake *f;
	struct nic *n;
	unsigned i;

	(void)state;
	n = wrap(&f, "rate=1gbit,queue=100,ecn=5");
	assert_int_equal(send(n, 20, 600, 2), 20); /* ECT(0) */
	assert_int_equal(send(n, 10, 600, 0), 10); /* Not-ECT */
	assert_int_equal(send(n, 10, 600, 1), 10); /* ECT(1) */
	advance(n, 1000000, 1000);
	assert_int_equal(f->ncap, 40);
	for (i = 0; i < 40; i++) {
		const uint8_t *ip = f->cap[i] + 14;
		uint8_t ecn = ip[1] & 3;

		assert_int_equal(ip_csum(ip), 0);
		assert_int_equal(ip[1] >> 2, 46); /* DSCP untouched */
		if (i < 6)
			assert_int_equal(ecn, 2); /* 0..5 packets ahead */
		else if (i < 20)
			assert_int_equal(ecn, 3);
		else if (i < 30)
			assert_int_equal(ecn, 0); /* never marked */
		else
			assert_int_equal(ecn, 3);
	}
	assert_int_equal(nic_link_stats(n, &st), 0);
	assert_int_equal(st.marked, 24);
	assert_int_equal(st.dropped, 0);
	assert_true(st.p99_occupancy >= 38 && st.p99_occupancy <= 39);
	nic_close(n);
}

static void test_link_mark_ce_helper_rejects_non_ect(void **state)
{
	uint8_t b[100];

	(void)state;
	frame(b, sizeof(b), 0, 1);
	assert_false(link_frame_mark_ce(b, sizeof(b)));
	frame(b, sizeof(b), 3, 1);
	assert_false(link_frame_mark_ce(b, sizeof(b)));
	frame(b, sizeof(b), 1, 0xffff);
	assert_true(link_frame_mark_ce(b, sizeof(b)));
	assert_int_equal(ip_csum(b + 14), 0);
	assert_false(link_frame_mark_ce(b, 20)); /* short */
	b[12] = 0x86;				 /* IPv6 ethertype */
	b[13] = 0xdd;
	frame(b, sizeof(b), 2, 1);
	b[12] = 0x86;
	b[13] = 0xdd;
	assert_false(link_frame_is_ect(b, sizeof(b)));
}

static void test_link_rx_direction_delays_and_passes_tx(void **state)
{
	struct nic_rx rx[8];
	struct fake *f;
	struct nic *n;

	(void)state;
	n = wrap(&f, "rate=10gbit,delay=50us,queue=10,dir=rx");
	frame(f->rx[0], 1000, 2, 9);
	f->rx_len[0] = 1000;
	f->rx_head = 1;
	assert_int_equal(nic_rx_burst(n, 0, rx, 8), 0); /* 0.8 us + 50 us */
	vclock = 50799;
	assert_int_equal(nic_rx_burst(n, 0, rx, 8), 0);
	vclock = 50800;
	assert_int_equal(nic_rx_burst(n, 0, rx, 8), 1);
	assert_int_equal(rx[0].len, 1000);
	assert_int_equal(rx[0].data[19], 9);
	/* TX is not modelled in this direction: straight through */
	assert_int_equal(send(n, 3, 500, 2), 3);
	assert_int_equal(f->ncap, 3);
	nic_close(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_spec_bad_rejected_with_one_line),
		cmocka_unit_test(test_link_rate_serializes_exactly),
		cmocka_unit_test(test_link_queue_rate_exact_over_many_packets),
		cmocka_unit_test(test_link_queue_full_drops_tail),
		cmocka_unit_test(test_link_ecn_marks_ect_above_k_csum_valid),
		cmocka_unit_test(test_link_mark_ce_helper_rejects_non_ect),
		cmocka_unit_test(test_link_rx_direction_delays_and_passes_tx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
