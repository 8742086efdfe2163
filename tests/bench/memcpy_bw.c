/*
 * memcpy_bw.c - benchmark ceiling: single-core memcpy and SHA-256 speed,
 * measured in the same run as the bulk transfers they bound
 *
 *   memcpy_bw [--ms MS]
 *
 * Prints three lines, each the best of five rounds of about MS/5 ms:
 *   memcpy_bw: memcpy 131072 B blocks G Gbit/s   (ring-sized, in cache)
 *   memcpy_bw: memcpy 67108864 B blocks G Gbit/s (larger than the caches)
 *   memcpy_bw: sha256 G Gbit/s                   (blast hashes every byte)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/examples/sha256.h"

#define ROUNDS 5
#define SMALL_LEN (128u * 1024)
#define LARGE_LEN (64u * 1024 * 1024)
#define SHA_LEN (1u * 1024 * 1024)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Defeats dead-store elimination of the copies. */
static volatile uint8_t sink;

static double memcpy_gbps(uint8_t *dst, const uint8_t *src, size_t len,
			  uint64_t round_ns)
{
	double best = 0;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = now_ns(), t, bytes = 0;

		do {
			memcpy(dst, src, len);
			sink = dst[bytes % len];
			bytes += len;
			t = now_ns();
		} while (t - t0 < round_ns);
		if ((double)bytes * 8 / (double)(t - t0) > best)
			best = (double)bytes * 8 / (double)(t - t0);
	}
	return best;
}

static double sha_gbps(const uint8_t *src, uint64_t round_ns)
{
	double best = 0;

	for (int r = 0; r < ROUNDS; r++) {
		struct sha256 h;
		uint8_t dg[SHA256_DIGEST_LEN];
		uint64_t t0 = now_ns(), t, bytes = 0;

		sha256_init(&h);
		do {
			sha256_update(&h, src, SHA_LEN);
			bytes += SHA_LEN;
			t = now_ns();
		} while (t - t0 < round_ns);
		sha256_final(&h, dg);
		sink = dg[0];
		if ((double)bytes * 8 / (double)(t - t0) > best)
			best = (double)bytes * 8 / (double)(t - t0);
	}
	return best;
}

int main(int argc, char **argv)
{
	long ms = 1000;
	uint8_t *src, *dst;
	uint64_t round_ns;

	if (argc == 3 && strcmp(argv[1], "--ms") == 0) {
		char *end;

		errno = 0;
		ms = strtol(argv[2], &end, 10);
		if (errno || *end != '\0' || ms < 5 || ms > 60000) {
			fprintf(stderr, "memcpy_bw: bad --ms '%s'\n", argv[2]);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "memcpy_bw: usage: memcpy_bw [--ms MS]\n");
		return 2;
	}
	round_ns = (uint64_t)ms * 1000000ull / ROUNDS / 3;
	src = malloc(LARGE_LEN);
	dst = malloc(LARGE_LEN);
	if (src == NULL || dst == NULL) {
		fprintf(stderr, "memcpy_bw: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < LARGE_LEN; i++)
		src[i] = (uint8_t)(i % 251);
	memset(dst, 0, LARGE_LEN);
	printf("memcpy_bw: memcpy %u B blocks %.2f Gbit/s\n", SMALL_LEN,
	       memcpy_gbps(dst, src, SMALL_LEN, round_ns));
	printf("memcpy_bw: memcpy %u B blocks %.2f Gbit/s\n", LARGE_LEN,
	       memcpy_gbps(dst, src, LARGE_LEN, round_ns));
	printf("memcpy_bw: sha256 %.2f Gbit/s\n", sha_gbps(src, round_ns));
	free(src);
	free(dst);
	return 0;
}
