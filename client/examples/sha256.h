/*
 * sha256.h - SHA-256 (FIPS 180-4) for the example programs: both ends of a
 * bulk transfer print the hash of the byte stream they saw
 */
#ifndef EXAMPLES_SHA256_H
#define EXAMPLES_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN (2 * SHA256_DIGEST_LEN + 1)

struct sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	uint8_t buf[64];
	uint32_t fill; /* bytes in buf */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST_LEN]);
void sha256_hex(const uint8_t digest[SHA256_DIGEST_LEN],
		char out[SHA256_HEX_LEN]);

#endif /* EXAMPLES_SHA256_H */
