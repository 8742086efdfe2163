/* test_ports.c - local ports of active opens (ctrl/ports.c): one per
 * (port, destination), reused across destinations, exhausted per
 * destination, and a random take/put sequence against a plain model */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl/ports.h"

#define NPORTS (EPHEMERAL_HI - EPHEMERAL_LO + 1)
#define IP_A 0x0212a8c6u /* 198.18.0.2, network order on LE */
#define IP_B 0x0312a8c6u

static void
test_every_port_once_per_destination_then_eaddrnotavail(void **state)
{
	struct port_table t = { 0 };
	uint8_t *seen = calloc(NPORTS, 1);

	(void)state;
	assert_non_null(seen);
	for (int i = 0; i < NPORTS; i++) {
		int p = ports_take(&t, IP_A, 80);

		assert_in_range(p, EPHEMERAL_LO, EPHEMERAL_HI);
		assert_int_equal(seen[p - EPHEMERAL_LO]++, 0);
	}
	assert_int_equal(ports_take(&t, IP_A, 80), -EADDRNOTAVAIL);
	/* another port or address of the peer: every port again */
	assert_in_range(ports_take(&t, IP_A, 81), EPHEMERAL_LO, EPHEMERAL_HI);
	assert_in_range(ports_take(&t, IP_B, 80), EPHEMERAL_LO, EPHEMERAL_HI);
	assert_int_equal(t.n, NPORTS + 2);
	/* one back: exactly that one is free again */
	ports_put(&t, EPHEMERAL_LO + 1234, IP_A, 80);
	assert_int_equal(ports_take(&t, IP_A, 80), EPHEMERAL_LO + 1234);
	assert_int_equal(ports_take(&t, IP_A, 80), -EADDRNOTAVAIL);
	/* unknown triples are ignored */
	ports_put(&t, EPHEMERAL_LO, IP_B, 9);
	assert_int_equal(t.n, NPORTS + 2);
	ports_fini(&t);
	free(seen);
}

/* 200,000 random takes and puts over 8 destinations against a bitmap per
 * destination: the table never hands out a pair twice, never loses one */
static void test_random_take_put_matches_model(void **state)
{
	enum { NDST = 8 };
	struct port_table t = { 0 };
	uint8_t *used = calloc((size_t)NDST * NPORTS, 1);
	uint32_t x = 1, n = 0;

	(void)state;
	assert_non_null(used);
	for (int step = 0; step < 200000; step++) {
		uint32_t d, p;

		x = x * 1103515245u + 12345u;
		d = (x >> 16) % NDST;
		if ((x >> 8) % 3) { /* take, twice as often */
			int r = ports_take(&t, IP_A + (d << 24), 80);

			assert_in_range(r, EPHEMERAL_LO, EPHEMERAL_HI);
			assert_int_equal(
				used[d * NPORTS + (r - EPHEMERAL_LO)]++, 0);
			n++;
		} else {
			x = x * 1103515245u + 12345u;
			p = (x >> 4) % NPORTS;
			ports_put(&t, (uint16_t)(EPHEMERAL_LO + p),
				  IP_A + (d << 24), 80);
			if (used[d * NPORTS + p]) {
				used[d * NPORTS + p] = 0;
				n--;
			}
		}
		assert_int_equal(t.n, n);
	}
	/* everything still there can be given back, and then nothing is */
	for (uint32_t d = 0; d < NDST; d++)
		for (uint32_t p = 0; p < NPORTS; p++)
			if (used[d * NPORTS + p])
				ports_put(&t, (uint16_t)(EPHEMERAL_LO + p),
					  IP_A + (d << 24), 80);
	assert_int_equal(t.n, 0);
	for (uint32_t i = 0; i < t.cap; i++)
		assert_true(t.keys[i] == 0);
	ports_fini(&t);
	free(used);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_every_port_once_per_destination_then_eaddrnotavail),
		cmocka_unit_test(test_random_take_put_matches_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
