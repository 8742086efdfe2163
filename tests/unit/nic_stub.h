/* nic_stub.h - the struct nic ops an in-memory test NIC has no use for:
 * registration succeeds (key 1), steering is accepted, one queue of MTU
 * 1500, no wakeup fd, every flow on queue 0. Test NICs fill the data-path
 * ops themselves and take these for the rest (NIC_STUB_OPS).
 */
#ifndef TESTS_UNIT_NIC_STUB_H
#define TESTS_UNIT_NIC_STUB_H

#include "verbs/nic.h"

int nic_stub_reg(struct nic *n, void *a, size_t l, uint32_t *key);
int nic_stub_dereg(struct nic *n, uint32_t k);
int nic_stub_steer(struct nic *n, const struct nic_steer *r);
void nic_stub_info(struct nic *n, struct nic_link_info *li);
int nic_stub_arm(struct nic *n, unsigned q);
int nic_stub_fd(struct nic *n, unsigned q);
unsigned nic_stub_flow_queue(struct nic *n, uint32_t a, uint16_t b, uint32_t c,
			     uint16_t d);
void nic_stub_close(struct nic *n);

/* designated initialisers for the ops above, inside a struct nic_ops */
#define NIC_STUB_OPS                                             \
	.reg_mem = nic_stub_reg, .dereg_mem = nic_stub_dereg,    \
	.add_steer = nic_stub_steer, .link_info = nic_stub_info, \
	.arm = nic_stub_arm, .fd = nic_stub_fd,                  \
	.flow_queue = nic_stub_flow_queue, .close = nic_stub_close

#endif /* TESTS_UNIT_NIC_STUB_H */
