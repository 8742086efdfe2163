/* csum.c - Internet checksum, IPv4 pseudo-header sum, incremental update
 *
 * RFC 1071 (computing the Internet checksum), RFC 1624 (incremental update,
 * eqn. 3), RFC 9293 §3.1 (TCP pseudo-header).
 *
 * csum_partial sums 64-bit words loaded with memcpy (no alignment
 * assumption, no unaligned pointer casts) in native byte order and swaps the
 * folded 16-bit result once at the end; this is the byte-order independence
 * of RFC 1071 §2(B). Known gaps: no SIMD path; big-endian hosts take the
 * same code without the final swap but are only compile-tested.
 */
#include <string.h>

#include "tcp/csum.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define CSUM_HOST_BE 1
#else
#define CSUM_HOST_BE 0
#endif

/* Bytes summed before the 64-bit accumulator is folded: each 8-byte word
 * adds less than 2^33, so 2^20 bytes add less than 2^50 and never wrap. */
#define CSUM_CHUNK (1u << 20)

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Add the two 32-bit halves of w: the one's-complement sum of its four
 * 16-bit words is preserved because 2^16 - 1 divides 2^32 - 1. */
static inline uint64_t add_halves(uint64_t acc, uint64_t w)
{
	return acc + (w & 0xffffffffu) + (w >> 32);
}

static inline uint32_t fold64(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

static inline uint16_t fold32(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* add32 - one's-complement add of two 32-bit partial sums (end-around
 * carry), so a chain of csum_partial calls never loses a carry. */
static inline uint32_t add32(uint32_t a, uint32_t b)
{
	uint32_t s = a + b;

	return s + (s < a);
}

/**
 * csum_partial - add buf's 16-bit big-endian words to an unfolded sum
 * @buf: data, any alignment
 * @len: bytes; an odd trailing byte is padded with a zero byte
 * @sum: running sum from csum_pseudo or an earlier call (at an even offset)
 *
 * Return: the new unfolded sum, to be chained or passed to csum_fold.
 */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint32_t acc32 = 0;
	uint16_t s;

	while (len >= 8) {
		size_t n = len < CSUM_CHUNK ? len : CSUM_CHUNK;
		uint64_t a0 = 0, a1 = 0;

		n &= ~(size_t)7;
		len -= n;
		/* two accumulators keep two add chains in flight */
		for (; n >= 32; n -= 32, p += 32) {
			a0 = add_halves(a0, load64(p));
			a1 = add_halves(a1, load64(p + 8));
			a0 = add_halves(a0, load64(p + 16));
			a1 = add_halves(a1, load64(p + 24));
		}
		for (; n >= 8; n -= 8, p += 8)
			a0 = add_halves(a0, load64(p));
		acc32 = add32(acc32, fold64(a0));
		acc32 = add32(acc32, fold64(a1));
	}
	if (len) {
		/* zero-filled tail: an odd last byte becomes the high half of
		 * a big-endian word, exactly RFC 1071's padding */
		uint8_t tail[8] = { 0 };
		uint64_t w;

		memcpy(tail, p, len);
		w = load64(tail);
		acc32 = add32(acc32, fold64(add_halves(0, w)));
	}

	s = fold32(acc32);
	if (!CSUM_HOST_BE)
		s = (uint16_t)((s >> 8) | (s << 8));
	return add32(sum, s);
}

/**
 * csum_fold - fold a 32-bit sum to 16 bits and complement it
 * @sum: unfolded sum
 *
 * Return: the checksum in host order, to be stored big-endian.
 */
uint16_t csum_fold(uint32_t sum)
{
	return (uint16_t)~fold32(sum);
}

/**
 * csum_pseudo - unfolded sum of the TCP/IPv4 pseudo-header
 * @src: source address, network order
 * @dst: destination address, network order
 * @proto: IP protocol number
 * @l4_len: length of the L4 header and payload, host order
 *
 * Return: an unfolded sum to pass as @sum to csum_partial.
 */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len)
{
	uint8_t a[8];
	uint32_t s;

	memcpy(a, &src, 4);
	memcpy(a + 4, &dst, 4);
	s = ((uint32_t)a[0] << 8 | a[1]) + ((uint32_t)a[2] << 8 | a[3]) +
	    ((uint32_t)a[4] << 8 | a[5]) + ((uint32_t)a[6] << 8 | a[7]);
	return s + proto + l4_len;
}

/**
 * csum_update16 - checksum after one 16-bit field changed (RFC 1624 eqn. 3)
 * @csum: old checksum, host order
 * @old: old field value, host order
 * @new_: new field value, host order
 *
 * HC' = ~(~HC + ~m + m'). Unlike eqn. 2 this never yields 0xffff for a
 * header that is not all zeros.
 *
 * Return: the new checksum, host order.
 */
uint16_t csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
	uint32_t s = (uint16_t)~csum;

	s += (uint16_t)~old;
	s += new_;
	return csum_fold(s);
}
