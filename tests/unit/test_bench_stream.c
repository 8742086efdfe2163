/* test_bench_stream.c - the bench's stream pattern: what blast --pattern
 * relies on to catch a wrong byte without hashing */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "client/examples/bench_common.h"

#define LEN (3u * 251u * 256u + 777u) /* spans several pattern pieces */

static void test_stream_fill_then_check_is_clean(void **state)
{
	uint8_t *b = malloc(LEN);
	static const uint64_t offs[] = {
		0, 1, 250, 251, 64255, 1u << 31, (1ull << 40) + 17
	};

	(void)state;
	assert_non_null(b);
	for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
		bench_stream_fill(b, offs[k], LEN, NULL, NULL);
		for (size_t i = 0; i < LEN; i += 997)
			assert_int_equal(b[i], (offs[k] + i) % 251);
		assert_int_equal(bench_stream_check(b, offs[k], LEN), -1);
		/* the same bytes at another offset are wrong at once */
		assert_int_equal(bench_stream_check(b, offs[k] + 1, LEN), 0);
	}
	free(b);
}

static void test_stream_check_finds_first_wrong_byte(void **state)
{
	uint8_t *b = malloc(LEN);
	static const size_t bad[] = { 0, 1, 250, 64255, 64256, LEN - 1 };

	(void)state;
	assert_non_null(b);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		bench_stream_fill(b, 12345, LEN, NULL, NULL);
		b[bad[k]] ^= 0x40;
		assert_int_equal(bench_stream_check(b, 12345, LEN),
				 (long)bad[k]);
		if (bad[k] + 10 < LEN) { /* a later one too: the first wins */
			b[bad[k] + 10] ^= 1;
			assert_int_equal(bench_stream_check(b, 12345, LEN),
					 (long)bad[k]);
		}
	}
	assert_int_equal(bench_stream_check(b, 0, 0), -1);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_fill_then_check_is_clean),
		cmocka_unit_test(test_stream_check_finds_first_wrong_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
