/* test_csum.c - Internet checksum, pseudo-header, RFC 1624 update, seq math
 *
 * RFC 1071 (examples of §3), RFC 1624 (eqn. 3 and its 0x0000/0xffff edge),
 * RFC 9293 §3.4 (sequence comparison modulo 2^32). csum_partial is checked
 * against a naive byte-at-a-time reference over random buffers from a fixed
 * xorshift seed, at every alignment offset and odd length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "tcp/csum.h"
#include "tcp/seq.h"

static uint64_t rng_state;

static uint64_t xorshift64(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void rng_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)xorshift64();
}

/* The textbook RFC 1071 loop, one big-endian 16-bit word at a time. */
static uint16_t naive_fold(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t s = sum;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void test_csum_rfc1071_example_sums_to_ddf2(void **state)
{
	/* RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03,
				     0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t c[10];

	(void)state;
	assert_int_equal(csum_fold(csum_partial(b, sizeof(b), 0)),
			 (uint16_t)~0xddf2);
	/* and a sum carrying its own checksum verifies to zero */
	memcpy(c, b, 8);
	c[8] = (uint8_t)(~0xddf2 >> 8);
	c[9] = (uint8_t)~0xddf2;
	assert_int_equal(csum_fold(csum_partial(c, sizeof(c), 0)), 0);
}

static void test_csum_ipv4_header_known_value(void **state)
{
	/* a classic example header, checksum field zeroed: b861 */
	static const uint8_t h[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
				     0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
				     0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	(void)state;
	assert_int_equal(csum_fold(csum_partial(h, sizeof(h), 0)), 0xb861);
}

struct odd_case {
	uint8_t bytes[5];
	size_t len;
	uint16_t folded_sum; /* before complement */
};

static void test_csum_odd_length_pads_with_zero(void **state)
{
	static const struct odd_case cases[] = {
		{ { 0 }, 0, 0x0000 },
		{ { 0xab }, 1, 0xab00 },
		{ { 0x12, 0x34, 0x56 }, 3, 0x6834 },
		{ { 0xff, 0xff, 0xff }, 3, 0xff00 },
		{ { 0x01, 0x02, 0x03, 0x04, 0x05 }, 5, 0x0906 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct odd_case *c = &cases[i];

		assert_int_equal(csum_fold(csum_partial(c->bytes, c->len, 0)),
				 (uint16_t)~c->folded_sum);
	}
}

static void test_csum_random_every_offset_matches_naive(void **state)
{
	static uint8_t store[2048 + 16];

	(void)state;
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int trial = 0; trial < 4000; trial++) {
		size_t off = (size_t)trial % 16;
		size_t len = xorshift64() % 2048;
		uint32_t init = (uint32_t)xorshift64();
		uint8_t *p = store + off;

		rng_fill(p, len);
		assert_int_equal(csum_fold(csum_partial(p, len, init)),
				 naive_fold(p, len, init));
	}
}

static void test_csum_all_ones_large_buffer_matches_naive(void **state)
{
	/* 3 MiB + 7 of 0xff: crosses the 1 MiB accumulator fold */
	size_t len = (3u << 20) + 7;
	uint8_t *p = malloc(len + 1);

	(void)state;
	assert_non_null(p);
	memset(p, 0xff, len + 1);
	assert_int_equal(csum_fold(csum_partial(p, len, 0)),
			 naive_fold(p, len, 0));
	assert_int_equal(csum_fold(csum_partial(p + 1, len, 0xffffffffu)),
			 naive_fold(p + 1, len, 0xffffffffu));
	free(p);
}

static void test_csum_chain_at_even_offsets_matches_whole(void **state)
{
	uint8_t b[1500];

	(void)state;
	rng_state = 12345;
	rng_fill(b, sizeof(b));
	for (size_t cut = 0; cut <= sizeof(b); cut += 2) {
		for (size_t cut2 = cut; cut2 <= sizeof(b); cut2 += 146) {
			uint32_t s = csum_partial(b, cut, 0);

			s = csum_partial(b + cut, cut2 - cut, s);
			s = csum_partial(b + cut2, sizeof(b) - cut2, s);
			assert_int_equal(csum_fold(s),
					 naive_fold(b, sizeof(b), 0));
		}
	}
}

static void test_csum_pseudo_matches_header_bytes(void **state)
{
	uint8_t ph[12];
	uint32_t src, dst;

	(void)state;
	rng_state = 777;
	for (int i = 0; i < 1000; i++) {
		uint16_t l4 = (uint16_t)xorshift64();
		uint8_t proto = (uint8_t)xorshift64();

		src = (uint32_t)xorshift64();
		dst = (uint32_t)xorshift64();
		memcpy(ph, &src, 4);
		memcpy(ph + 4, &dst, 4);
		ph[8] = 0;
		ph[9] = proto;
		ph[10] = (uint8_t)(l4 >> 8);
		ph[11] = (uint8_t)l4;
		assert_int_equal(csum_fold(csum_pseudo(src, dst, proto, l4)),
				 naive_fold(ph, sizeof(ph), 0));
	}
	/* 198.18.0.1 -> 198.18.0.2, TCP, 20 bytes, by hand:
	 * c612 + 0001 + c612 + 0002 + 0006 + 0014 = 18c41 -> 8c42 */
	src = htonl(0xc6120001);
	dst = htonl(0xc6120002);
	assert_int_equal(csum_fold(csum_pseudo(src, dst, 6, 20)),
			 (uint16_t)~0x8c42);
}

/* Full checksum of n 16-bit words (host order values). */
static uint16_t words_csum(const uint16_t *w, size_t n)
{
	uint8_t b[64];

	for (size_t i = 0; i < n; i++) {
		b[2 * i] = (uint8_t)(w[i] >> 8);
		b[2 * i + 1] = (uint8_t)w[i];
	}
	return csum_fold(csum_partial(b, 2 * n, 0));
}

static uint16_t oc_add(uint16_t a, uint16_t b)
{
	uint32_t s = (uint32_t)a + b;

	return (uint16_t)((s & 0xffff) + (s >> 16));
}

static void test_csum_update16_random_equals_recompute(void **state)
{
	uint16_t w[10];

	(void)state;
	rng_state = 0xdeadbeefcafef00dull;
	for (int trial = 0; trial < 100000; trial++) {
		size_t n = 1 + xorshift64() % 10, k = xorshift64() % n;
		uint16_t before, old, want;
		bool all_zero;

		for (size_t i = 0; i < n; i++)
			w[i] = (uint16_t)xorshift64();
		/* bias toward the one's-complement zeros */
		if (trial % 7 == 0)
			w[k] = trial % 14 ? 0xffff : 0x0000;
		before = words_csum(w, n);
		old = w[k];
		w[k] = trial % 5 == 0 ? (uint16_t)~old : (uint16_t)xorshift64();
		/* force a sum of 0xffff (checksum 0x0000): add -S, where
		 * -S = ~S = the current checksum */
		if (trial % 11 == 0)
			w[k] = oc_add(w[k], words_csum(w, n));
		want = words_csum(w, n);
		/* all-zero data is the one case where both differ (0x0000
		 * vs 0xffff, the same one's-complement zero); IP headers are
		 * never all zero (RFC 1624 §3) */
		all_zero = true;
		for (size_t i = 0; i < n; i++)
			all_zero &= w[i] == 0;
		if (all_zero)
			continue;
		assert_int_equal(csum_update16(before, old, w[k]), want);
	}
}

struct upd_case {
	uint16_t other, old, new_;
};

static void test_csum_update16_zero_edges_equal_recompute(void **state)
{
	static const struct upd_case cases[] = {
		{ 0x1234, 0x0000, 0xffff }, /* -0 to +0: sum unchanged */
		{ 0x1234, 0xffff, 0x0000 },
		{ 0x1234, 0x0001, 0xedcb }, /* sum becomes 0xffff: csum 0 */
		{ 0x1234, 0xedcb, 0x0001 }, /* and back from csum 0 */
		{ 0xffff, 0x0000, 0x0001 },
		{ 0x0001, 0xfffe, 0xffff },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t w[2] = { cases[i].other, cases[i].old };
		uint16_t before = words_csum(w, 2), want;

		w[1] = cases[i].new_;
		want = words_csum(w, 2);
		assert_int_equal(
			csum_update16(before, cases[i].old, cases[i].new_),
			want);
	}
	/* RFC 1624 §4 example: eqn. 3 gives 0x0000, never 0xffff */
	assert_int_equal(csum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

struct seq_case {
	uint32_t a, b;
	bool lt, leq, gt, geq;
};

static void test_seq_compare_around_wrap_table(void **state)
{
	static const struct seq_case cases[] = {
		{ 0, 0, false, true, false, true },
		{ 0, 1, true, true, false, false },
		{ 0xffffffffu, 0, true, true, false, false },
		{ 0, 0xffffffffu, false, false, true, true },
		{ 0xfffffff0u, 0x10, true, true, false, false },
		{ 0x10, 0xfffffff0u, false, false, true, true },
		{ 0x7fffffffu, 0, false, false, true, true },
		{ 0x80000001u, 0, true, true, false, false },
		{ 0xffffffffu, 0xffffffffu, false, true, false, true },
		{ 0x7ffffffdu, 0xfffffffeu, false, false, true, true },
		/* 2^31 apart: ambiguous, (int32_t) says a is before b */
		{ 0x7ffffffeu, 0xfffffffeu, true, true, false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct seq_case *c = &cases[i];

		assert_int_equal(seq_lt(c->a, c->b), c->lt);
		assert_int_equal(seq_leq(c->a, c->b), c->leq);
		assert_int_equal(seq_gt(c->a, c->b), c->gt);
		assert_int_equal(seq_geq(c->a, c->b), c->geq);
	}
	assert_int_equal(seq_max(0xfffffff0u, 5), 5);
	assert_int_equal(seq_min(0xfffffff0u, 5), 0xfffffff0u);
}

struct win_case {
	uint32_t x, start, len;
	bool in;
};

static void test_seq_in_window_around_wrap_table(void **state)
{
	static const struct win_case cases[] = {
		{ 0xfffffff0u, 0xfffffff0u, 0x20, true }, /* start */
		{ 0xffffffffu, 0xfffffff0u, 0x20, true },
		{ 0x00000000u, 0xfffffff0u, 0x20, true },  /* across 2^32 */
		{ 0x0000000fu, 0xfffffff0u, 0x20, true },  /* last */
		{ 0x00000010u, 0xfffffff0u, 0x20, false }, /* one past */
		{ 0xffffffefu, 0xfffffff0u, 0x20, false }, /* one before */
		{ 5, 5, 0, false },			   /* empty window */
		{ 0, 1, 0xffffffffu, false },
		{ 0xffffffffu, 0, 0xffffffffu, false },
		{ 0xfffffffeu, 0, 0xffffffffu, true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(
			seq_in_window(cases[i].x, cases[i].start, cases[i].len),
			cases[i].in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071_example_sums_to_ddf2),
		cmocka_unit_test(test_csum_ipv4_header_known_value),
		cmocka_unit_test(test_csum_odd_length_pads_with_zero),
		cmocka_unit_test(test_csum_random_every_offset_matches_naive),
		cmocka_unit_test(test_csum_all_ones_large_buffer_matches_naive),
		cmocka_unit_test(test_csum_chain_at_even_offsets_matches_whole),
		cmocka_unit_test(test_csum_pseudo_matches_header_bytes),
		cmocka_unit_test(test_csum_update16_random_equals_recompute),
		cmocka_unit_test(test_csum_update16_zero_edges_equal_recompute),
		cmocka_unit_test(test_seq_compare_around_wrap_table),
		cmocka_unit_test(test_seq_in_window_around_wrap_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
