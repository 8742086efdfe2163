/* seq.h - TCP sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4)
 *
 * Never compare two sequence numbers with a bare < : use these.
 */
#ifndef TAS_TCP_SEQ_H
#define TAS_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static inline bool seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static inline bool seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

/* seq_in_window - true when start <= x < start + len (mod 2^32). */
static inline bool seq_in_window(uint32_t x, uint32_t start, uint32_t len)
{
	return x - start < len;
}

static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
	return seq_gt(a, b) ? a : b;
}

static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
	return seq_lt(a, b) ? a : b;
}

#endif /* TAS_TCP_SEQ_H */
