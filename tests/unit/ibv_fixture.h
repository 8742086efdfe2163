/* ibv_fixture.h - shared fixture of the ibv backend's unit tests
 *
 * Group setup builds a fake sysfs tree and points $TAS_SYSFS_ROOT at it;
 * each test starts from dbl_reset() and ends asserting that the double
 * saw no misuse and no verbs object is left alive.
 */
#ifndef TAS_TESTS_IBV_FIXTURE_H
#define TAS_TESTS_IBV_FIXTURE_H

#include <stdint.h>

#include "tests/unit/ibv_double.h"
#include "verbs/nic.h"

/* enp65s0f0's MAC (mlx5_0) */
extern const uint8_t MAC0[6];

int ibv_fix_group_setup(void **state);
int ibv_fix_group_teardown(void **state);
int ibv_fix_setup(void **state);
int ibv_fix_teardown(void **state);

/* nic_ibv_open with these sizes; fails the test if it fails. */
struct nic *open_nic(const char *dev, unsigned nq, unsigned rx, unsigned tx);

/* i-th QP created that is (rss != 0) an RSS QP or (rss == 0) a raw QP. */
struct dbl_qp_rec *qp_nth(int rss, int i);

/* The i-th spec of a recorded flow rule. */
const uint8_t *flow_spec(const struct dbl_flow_rec *f, int i);

/* A frame of just the header @hdr (@hl bytes), cookie @cookie. */
struct nic_tx ibv_tx_frame(const uint8_t *hdr, uint16_t hl, uint64_t cookie);

#define T(f) cmocka_unit_test_setup_teardown(f, ibv_fix_setup, ibv_fix_teardown)

#endif /* TAS_TESTS_IBV_FIXTURE_H */
