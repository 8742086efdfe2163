/*
 * libtas_harness.h - a fake tas daemon for unit tests of libtas: answers
 * HELLO and CTX_CREATE on a temporary Unix socket with a real memfd segment
 * laid out as the daemon lays it out, records the other requests, and lets
 * the test play the fast path (inject tas_ev entries, read tas_cmd entries).
 * Zero-copy regions (MEM_ALLOC, MEM_FREE) are answered as the daemon does,
 * each request recorded with the reply's status and region id.
 *
 * One harness thread serves the socket (several clients at once, e.g. a fork
 * child beside its parent). Event queues have two producers, serialized by
 * harness_ev_push(): the test and the harness thread, which answers
 * LISTEN_CLOSE on kin itself. The test thread is the only consumer of the
 * command queues.
 */
#ifndef TESTS_UNIT_LIBTAS_HARNESS_H
#define TESTS_UNIT_LIBTAS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "tas/abi.h"

#define HARNESS_KIN (-1) /* queue argument: the context's kin */

struct harness_cfg {
	uint32_t ncores;      /* fast-path cores, 1..TAS_MAX_CORES */
	uint32_t abi_version; /* version the fake daemon speaks */
	uint64_t seg_size;    /* bytes of the segment */
};

struct harness;

struct harness *harness_start(const struct harness_cfg *cfg);
void harness_stop(struct harness *h);
const char *harness_path(const struct harness *h);
uint8_t *harness_seg(struct harness *h);
struct tas_seg_hdr *harness_hdr(struct harness *h);
struct tas_ctx_shm *harness_ctx_shm(struct harness *h, uint16_t ctx_id);
int harness_ctx_evfd(struct harness *h, uint16_t ctx_id);
int harness_next_msg(struct harness *h, struct tas_msg *out, int timeout_ms);
bool harness_ev_push(struct harness *h, uint16_t ctx_id, int queue,
		     const struct tas_ev *ev);
bool harness_cmd_pop(struct harness *h, uint16_t ctx_id, uint32_t core,
		     struct tas_cmd *out);
uint64_t harness_rings_alloc(struct harness *h, uint32_t rx_size,
			     uint32_t tx_size, uint64_t *tx_off);
uint64_t harness_doorbell_read(struct harness *h, uint32_t core);
unsigned harness_listen_count(struct harness *h);
void harness_mem_limit(struct harness *h, uint64_t bytes);
uint8_t *harness_region(struct harness *h, uint32_t id, uint64_t *len);
unsigned harness_region_count(struct harness *h);

#endif /* TESTS_UNIT_LIBTAS_HARNESS_H */
