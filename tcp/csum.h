/* csum.h - Internet checksum (RFC 1071), TCP/IPv4 pseudo-header, and
 * incremental update (RFC 1624)
 */
#ifndef TAS_TCP_CSUM_H
#define TAS_TCP_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* csum_partial - add buf's 16-bit big-endian words to sum (unfolded); an
 * odd trailing byte is padded with zero. Chain calls only at even offsets. */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);

/* csum_ip20 - unfolded sum of a 20-byte IPv4 header (its ten 16-bit
 * big-endian words): csum_partial(hdr, 20, 0) without the call. */
static inline uint32_t csum_ip20(const uint8_t *h)
{
	uint32_t s = 0;

	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)h[i] << 8 | h[i + 1];
	return s;
}

/* csum_fold - fold a 32-bit sum to 16 bits and complement it; the result is
 * in host order, ready to be stored big-endian. */
uint16_t csum_fold(uint32_t sum);

/* csum_pseudo - unfolded sum of the IPv4 pseudo-header (addresses in
 * network order, proto, L4 length in host order). */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto,
		     uint16_t l4_len);

/* csum_update16 - RFC 1624 eqn. 3: checksum after a 16-bit field changed
 * from old to new (all host order). */
uint16_t csum_update16(uint16_t csum, uint16_t old, uint16_t new_);

#endif /* TAS_TCP_CSUM_H */
