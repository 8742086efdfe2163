/*
 * libtas_fx.h - CMocka fixture of the libtas suites (test_libtas,
 * test_libtas_zc): a fake daemon (libtas_harness.h) with libtas registered
 * and one context created, and helpers that play the fast path on it.
 *
 * The helpers assert with CMocka, so they may be called from tests only.
 */
#ifndef TESTS_UNIT_LIBTAS_FX_H
#define TESTS_UNIT_LIBTAS_FX_H

#include <stdint.h>

#include <tas_ll.h>
#include "libtas_harness.h"

#define FX_NCORES 2
#define FX_SEG_SIZE (8u << 20)
#define FX_RING 4096u		/* both byte rings of every connection */
#define FX_PEER_IP 0xc6120002u	/* 198.18.0.2, host order */
#define FX_LOCAL_IP 0xc6120001u /* 198.18.0.1 */

/**
 * struct fx - one test's fake daemon and context
 * @h:         the fake daemon
 * @ctx:       a context created on it
 * @next_flow: handle of the next flow fx_flow_ev() makes up
 */
struct fx {
	struct harness *h;
	struct flextcp_context ctx;
	uint32_t next_flow;
};

struct harness *fx_start(uint32_t abi);
int fx_init(struct fx *f);
void fx_fini(struct fx *f);
int fx_setup(void **state);
int fx_teardown(void **state);
int fx_poll_all(struct flextcp_context *ctx, struct flextcp_event *evs,
		int num);
struct tas_ev fx_flow_ev(struct fx *f, uint8_t type, uint8_t core,
			 uint64_t user);
struct tas_ev fx_open_conn(struct fx *f, struct flextcp_connection *c,
			   uint8_t core);
struct tas_ev fx_ev_for(const struct tas_ev *conn, uint8_t type, uint32_t a);
void fx_push(struct fx *f, int q, const struct tas_ev *ev);
struct tas_cmd fx_pop_cmd(struct fx *f, uint32_t core);
void fx_expect_cmd(struct fx *f, uint32_t core, uint8_t type, uint32_t flow,
		   uint32_t len);
void fx_expect_no_cmd(struct fx *f, uint32_t core);

#endif /* TESTS_UNIT_LIBTAS_FX_H */
