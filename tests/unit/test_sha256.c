/*
 * test_sha256.c - known-answer tests of client/examples/sha256.c (FIPS
 * 180-4; vectors from NIST's SHA-256 examples), including every split of
 * the input across update calls.
 *
 * Needs: nothing (no root, no netns, no hardware). ASAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "client/examples/sha256.h"

static void hash_hex(const void *d, size_t len, char hex[SHA256_HEX_LEN])
{
	struct sha256 s;
	uint8_t dg[SHA256_DIGEST_LEN];

	sha256_init(&s);
	sha256_update(&s, d, len);
	sha256_final(&s, dg);
	sha256_hex(dg, hex);
}

static void test_sha256_empty_matches_nist(void **state)
{
	char hex[SHA256_HEX_LEN];

	(void)state;
	hash_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
				 "27ae41e4649b934ca495991b7852b855");
}

static void test_sha256_abc_matches_nist(void **state)
{
	char hex[SHA256_HEX_LEN];

	(void)state;
	hash_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
}

static void test_sha256_two_blocks_matches_nist(void **state)
{
	const char *m =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char hex[SHA256_HEX_LEN];

	(void)state;
	hash_hex(m, strlen(m), hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039"
				 "a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_million_a_matches_nist(void **state)
{
	char hex[SHA256_HEX_LEN];
	char *m = malloc(1000000);

	(void)state;
	assert_non_null(m);
	memset(m, 'a', 1000000);
	hash_hex(m, 1000000, hex);
	free(m);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
				 "f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_split_updates_match_one_shot(void **state)
{
	const char *m =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	size_t len = strlen(m);
	char want[SHA256_HEX_LEN], got[SHA256_HEX_LEN];

	(void)state;
	hash_hex(m, len, want);
	for (size_t cut = 0; cut <= len; cut++) {
		struct sha256 s;
		uint8_t dg[SHA256_DIGEST_LEN];

		sha256_init(&s);
		sha256_update(&s, m, cut);
		sha256_update(&s, m + cut, len - cut);
		sha256_final(&s, dg);
		sha256_hex(dg, got);
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_empty_matches_nist),
		cmocka_unit_test(test_sha256_abc_matches_nist),
		cmocka_unit_test(test_sha256_two_blocks_matches_nist),
		cmocka_unit_test(test_sha256_million_a_matches_nist),
		cmocka_unit_test(test_sha256_split_updates_match_one_shot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
