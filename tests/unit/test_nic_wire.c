/* test_nic_wire.c - the wire backend (shared-memory cable) and nic_open
 *
 * Both ends in one process, and a fork()ed peer. Needs /dev/shm only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "verbs/nic.h"

#define FRAME_MAX 1514

static char cable[64];
static char cable_path[128];

static void fill(uint8_t *b, uint32_t len, uint32_t seq)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(seq * 131u + i * 7u + (i >> 8));
	if (len >= 4)
		memcpy(b, &seq, 4);
}

static int check(const uint8_t *b, uint32_t len, uint32_t seq)
{
	uint8_t want[FRAME_MAX];

	fill(want, len, seq);
	return memcmp(b, want, len) == 0;
}

static uint32_t size_of(uint32_t seq)
{
	return 60 + (seq * 977u) % (FRAME_MAX - 60 + 1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
	static unsigned n;

	(void)state;
	snprintf(cable, sizeof(cable), "t%d-%u", (int)getpid(), n++);
	snprintf(cable_path, sizeof(cable_path), "/dev/shm/tas-wire-%s", cable);
	return 0;
}

static struct nic *open_end(const struct nic_params *p)
{
	char spec[96], err[NIC_ERR_LEN] = "";
	struct nic *nic;

	snprintf(spec, sizeof(spec), "wire:%s", cable);
	nic = nic_open(spec, p, err);
	if (!nic)
		print_error("%s\n", err);
	assert_non_null(nic);
	return nic;
}

/* Sends frames seq [first, first+count) split in segments; returns how
 * many the nic accepted. */
static unsigned send_frames(struct nic *nic, uint32_t first, unsigned count,
			    uint8_t (*bufs)[FRAME_MAX])
{
	struct nic_tx tx[32];
	unsigned i;

	assert_true(count <= 32);
	for (i = 0; i < count; i++) {
		uint32_t len = size_of(first + i), h = len < 54 ? len : 54;

		fill(bufs[i], len, first + i);
		memset(&tx[i], 0, sizeof(tx[i]));
		tx[i].hdr = bufs[i];
		tx[i].hdr_len = (uint16_t)h;
		tx[i].nseg = 2;
		tx[i].seg[0].addr = bufs[i] + h;
		tx[i].seg[0].len = (len - h) / 2;
		tx[i].seg[1].addr = bufs[i] + h + (len - h) / 2;
		tx[i].seg[1].len = len - h - (len - h) / 2;
		tx[i].cookie = first + i;
	}
	return nic_tx_burst(nic, 0, tx, count);
}

static void drain_completions(struct nic *nic, uint64_t *next)
{
	uint64_t c[64];
	unsigned k, i;

	while ((k = nic_tx_completions(nic, 0, c, 64)) > 0) {
		for (i = 0; i < k; i++)
			assert_int_equal(c[i], (*next)++);
	}
}

static void test_wire_two_ends_mixed_sizes_byte_exact(void **state)
{
	static uint8_t bufs[32][FRAME_MAX];
	struct nic *a, *b, *ends[2];
	struct nic_link_info la, lb;
	uint32_t sent[2] = { 0 }, got[2] = { 0 };
	uint64_t comp[2] = { 0 };
	const uint32_t total = 20000;
	uint64_t t0 = now_ms();
	int d;

	(void)state;
	a = open_end(NULL);
	b = open_end(NULL);
	ends[0] = a;
	ends[1] = b;
	nic_link_info(a, &la);
	nic_link_info(b, &lb);
	assert_int_equal(la.mac[5], 0x0a);
	assert_int_equal(lb.mac[5], 0x0b);
	assert_int_equal(la.mtu, 1500);
	assert_int_equal(la.nqueues, 1);
	while ((got[0] < total || got[1] < total) && now_ms() - t0 < 20000) {
		for (d = 0; d < 2; d++) {
			struct nic_rx rx[32];
			unsigned k, i;

			if (sent[d] < total) {
				unsigned c = total - sent[d] < 32
						     ? total - sent[d]
						     : 32;
				sent[d] +=
					send_frames(ends[d], sent[d], c, bufs);
			}
			drain_completions(ends[d], &comp[d]);
			k = nic_rx_burst(ends[!d], 0, rx, 32);
			for (i = 0; i < k; i++) {
				assert_int_equal(rx[i].len, size_of(got[d]));
				assert_true(
					check(rx[i].data, rx[i].len, got[d]));
				got[d]++;
			}
		}
	}
	assert_int_equal(got[0], total);
	assert_int_equal(got[1], total);
	drain_completions(a, &comp[0]);
	drain_completions(b, &comp[1]);
	assert_int_equal(comp[0], total);
	assert_int_equal(comp[1], total);
	nic_close(a);
	nic_close(b);
}

static void test_wire_full_ring_short_count_then_drain(void **state)
{
	static uint8_t bufs[32][FRAME_MAX];
	struct nic_params p = { .tx_ring = 64 };
	struct nic *a, *b;
	struct nic_rx rx[32];
	uint32_t sent = 0, got = 0;
	uint64_t comp = 0;
	unsigned k, i, round;

	(void)state;
	a = open_end(&p);
	b = open_end(NULL);
	for (round = 0; round < 3; round++) {
		k = send_frames(a, sent, 32, bufs);
		sent += k;
		drain_completions(a, &comp);
	}
	assert_int_equal(sent, 64); /* third burst: nothing fits */
	k = send_frames(a, sent, 1, bufs);
	assert_int_equal(k, 0);
	assert_int_equal(nic_arm(b, 0), -EAGAIN);
	while ((k = nic_rx_burst(b, 0, rx, 32)) > 0) {
		for (i = 0; i < k; i++) {
			assert_true(check(rx[i].data, rx[i].len, got));
			got++;
		}
	}
	assert_int_equal(got, 64);
	assert_int_equal(nic_arm(b, 0), 0);
	assert_int_equal(send_frames(a, sent, 1, bufs), 1);
	nic_close(a);
	nic_close(b);
}

static void test_wire_third_opener_fails_ebusy(void **state)
{
	char spec[96], err[NIC_ERR_LEN] = "";
	struct nic *a, *b;

	(void)state;
	a = open_end(NULL);
	b = open_end(NULL);
	snprintf(spec, sizeof(spec), "wire:%s", cable);
	errno = 0;
	assert_null(nic_open(spec, NULL, err));
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(err, "two ends"));
	assert_null(strchr(err, '\n'));
	nic_close(a);
	nic_close(b);
}

static void test_wire_oversize_frame_dropped_and_completed(void **state)
{
	static uint8_t big[9100];
	struct nic_params p = { .mtu = 1000 };
	struct nic *a, *b;
	struct nic_tx tx[2];
	struct nic_rx rx[4];
	uint64_t c[4];
	char spec[96], err[NIC_ERR_LEN];

	(void)state;
	a = open_end(&p);
	/* side B must agree on the MTU (or pass 0) */
	snprintf(spec, sizeof(spec), "wire:%s", cable);
	p.mtu = 1500;
	assert_null(nic_open(spec, &p, err));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "mtu"));
	b = open_end(NULL);
	memset(tx, 0, sizeof(tx));
	tx[0].hdr = big;
	tx[0].hdr_len = 14;
	tx[0].nseg = 1;
	tx[0].seg[0].addr = big + 14;
	tx[0].seg[0].len = 1001; /* 1015 > mtu + 14 */
	tx[0].cookie = 7;
	tx[1] = tx[0];
	tx[1].seg[0].len = 1000; /* exactly mtu + 14 */
	tx[1].cookie = 8;
	assert_int_equal(nic_tx_burst(a, 0, tx, 2), 2);
	assert_int_equal(nic_tx_completions(a, 0, c, 4), 2);
	assert_int_equal(c[0], 7);
	assert_int_equal(c[1], 8);
	assert_int_equal(nic_rx_burst(b, 0, rx, 4), 1);
	assert_int_equal(rx[0].len, 1014);
	nic_close(a);
	nic_close(b);
}

static void test_wire_close_removes_shm_file(void **state)
{
	struct nic *a, *b;
	struct stat st;
	char fifo[160];

	(void)state;
	a = open_end(NULL);
	assert_int_equal(stat(cable_path, &st), 0);
	b = open_end(NULL);
	nic_close(a);
	assert_int_equal(stat(cable_path, &st), 0); /* B still holds it */
	nic_close(b);
	assert_int_equal(stat(cable_path, &st), -1);
	snprintf(fifo, sizeof(fifo), "%s.ab", cable_path);
	assert_int_equal(stat(fifo, &st), -1);
	/* and the name is free again */
	a = open_end(NULL);
	nic_close(a);
	assert_int_equal(stat(cable_path, &st), -1);
}

/* Offered checksum offload: what was sent with NIC_TX_CSUM arrives as
 * NIC_CSUM_PARTIAL (trusted, like veth), anything else as UNKNOWN. */
static void test_wire_csum_offload_reported_partial(void **state)
{
	struct nic *a = open_end(NULL), *b = open_end(NULL);
	uint8_t buf[2][FRAME_MAX];
	struct nic_link_info li;
	struct nic_tx tx[2];
	struct nic_rx rx[4];
	unsigned n = 0;

	(void)state;
	nic_link_info(a, &li);
	assert_true(li.offloads & NIC_OFF_TX_CSUM);
	for (int i = 0; i < 2; i++) {
		fill(buf[i], 100, (uint32_t)i);
		memset(&tx[i], 0, sizeof(tx[i]));
		tx[i].hdr = buf[i];
		tx[i].hdr_len = 100;
		tx[i].cookie = (uint64_t)i;
	}
	tx[0].flags = NIC_TX_CSUM;
	assert_int_equal(nic_tx_burst(a, 0, tx, 2), 2);
	for (int k = 0; k < 100 && n < 2; k++)
		n += nic_rx_burst(b, 0, rx + n, 4 - n);
	assert_int_equal(n, 2);
	assert_int_equal(rx[0].len, 100);
	assert_int_equal(rx[0].csum, NIC_CSUM_PARTIAL);
	assert_int_equal(rx[1].len, 100);
	assert_int_equal(rx[1].csum, NIC_CSUM_UNKNOWN);
	assert_memory_equal(rx[0].data, buf[0], 100);
	nic_close(a);
	nic_close(b);
}

static void test_wire_flow_queue_is_always_zero(void **state)
{
	struct nic *a = open_end(NULL);
	unsigned i;

	(void)state;
	for (i = 0; i < 1000; i++)
		assert_int_equal(nic_flow_queue(a, 0x0100000au + i * 7919u,
						(uint16_t)(i * 13u),
						0x0200000au ^ i * 104729u,
						(uint16_t)(65535u - i)),
				 0);
	nic_close(a);
}

static void test_wire_arm_fd_wakes_on_peer_frame(void **state)
{
	static uint8_t bufs[32][FRAME_MAX];
	struct nic *a, *b;
	struct pollfd pfd;
	struct nic_rx rx[4];

	(void)state;
	a = open_end(NULL);
	b = open_end(NULL);
	assert_true(nic_fd(b, 0) >= 0);
	assert_int_equal(nic_arm(b, 0), 0);
	pfd.fd = nic_fd(b, 0);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(send_frames(a, 0, 1, bufs), 1);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(nic_arm(b, 0), -EAGAIN);
	assert_int_equal(nic_rx_burst(b, 0, rx, 4), 1);
	/* arm drains the FIFO; the next frame wakes again */
	assert_int_equal(nic_arm(b, 0), 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(send_frames(a, 1, 1, bufs), 1);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	nic_close(a);
	nic_close(b);
}

/* Child: side B, echoes every frame back until it has seen @total. */
static int child_echo(uint32_t total)
{
	char spec[96], err[NIC_ERR_LEN];
	struct nic *b = NULL;
	uint32_t got = 0;
	uint64_t t0 = now_ms();
	int i;

	snprintf(spec, sizeof(spec), "wire:%s", cable);
	for (i = 0; i < 2000 && !b; i++) {
		b = nic_open(spec, NULL, err);
		if (!b)
			usleep(1000);
	}
	if (!b)
		return 2;
	while (got < total && now_ms() - t0 < 20000) {
		struct nic_rx rx[32];
		struct nic_tx tx[32];
		uint64_t c[64];
		unsigned k, i2, sent = 0;

		k = nic_rx_burst(b, 0, rx, 32);
		for (i2 = 0; i2 < k; i2++) {
			if (!check(rx[i2].data, rx[i2].len, got + i2))
				return 3;
			memset(&tx[i2], 0, sizeof(tx[i2]));
			tx[i2].hdr = rx[i2].data;
			tx[i2].hdr_len = 14;
			tx[i2].nseg = 1;
			tx[i2].seg[0].addr = rx[i2].data + 14;
			tx[i2].seg[0].len = rx[i2].len - 14;
		}
		while (sent < k && now_ms() - t0 < 20000) {
			sent += nic_tx_burst(b, 0, tx + sent, k - sent);
			while (nic_tx_completions(b, 0, c, 64))
				;
		}
		got += k;
	}
	nic_close(b);
	return got == total ? 0 : 4;
}

static void test_wire_forked_peer_echoes_byte_exact(void **state)
{
	static uint8_t bufs[32][FRAME_MAX];
	const uint32_t total = 20000;
	uint32_t sent = 0, got = 0;
	uint64_t comp = 0, t0;
	struct nic *a;
	pid_t pid;
	int status;

	(void)state;
	a = open_end(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_echo(total));
	t0 = now_ms();
	while (got < total && now_ms() - t0 < 20000) {
		struct nic_rx rx[32];
		unsigned k, i;

		if (sent < total && sent - got < 128)
			sent += send_frames(
				a, sent, total - sent < 32 ? total - sent : 32,
				bufs);
		drain_completions(a, &comp);
		k = nic_rx_burst(a, 0, rx, 32);
		for (i = 0; i < k; i++) {
			assert_int_equal(rx[i].len, size_of(got));
			assert_true(check(rx[i].data, rx[i].len, got));
			got++;
		}
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(got, total);
	nic_close(a);
	assert_int_equal(access(cable_path, F_OK), -1);
}

static void test_nic_open_bad_spec_fails_einval(void **state)
{
	static const struct {
		const char *spec;
		const char *line;
	} cases[] = {
		{ "foo:x", "nic spec \"foo:x\": unknown backend \"foo\" (use "
			   "ibv:DEV, packet:IFNAME or wire:NAME)" },
		{ "foo", "nic spec \"foo\": unknown backend \"foo\" (use "
			 "ibv:DEV, packet:IFNAME or wire:NAME)" },
		{ "wire:",
		  "nic spec \"wire:\": missing device after \"wire:\"" },
		{ "wire", "nic spec \"wire\": missing device after \"wire:\"" },
		{ "wire:a/b", "wire:a/b: bad cable name (want 1..64 of "
			      "[A-Za-z0-9_.-])" },
	};
	char err[NIC_ERR_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errno = 0;
		err[0] = '\0';
		assert_null(nic_open(cases[i].spec, NULL, err));
		assert_int_equal(errno, EINVAL);
		assert_string_equal(err, cases[i].line);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_wire_two_ends_mixed_sizes_byte_exact, setup),
		cmocka_unit_test_setup(
			test_wire_full_ring_short_count_then_drain, setup),
		cmocka_unit_test_setup(test_wire_third_opener_fails_ebusy,
				       setup),
		cmocka_unit_test_setup(
			test_wire_oversize_frame_dropped_and_completed, setup),
		cmocka_unit_test_setup(test_wire_close_removes_shm_file, setup),
		cmocka_unit_test_setup(test_wire_csum_offload_reported_partial,
				       setup),
		cmocka_unit_test_setup(test_wire_flow_queue_is_always_zero,
				       setup),
		cmocka_unit_test_setup(test_wire_arm_fd_wakes_on_peer_frame,
				       setup),
		cmocka_unit_test_setup(test_wire_forked_peer_echoes_byte_exact,
				       setup),
		cmocka_unit_test(test_nic_open_bad_spec_fails_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
