/* nic_stub.c - see nic_stub.h */
#include <string.h>

#include "tests/unit/nic_stub.h"

int nic_stub_reg(struct nic *n, void *a, size_t l, uint32_t *key)
{
	(void)n, (void)a, (void)l;
	*key = 1;
	return 0;
}

int nic_stub_dereg(struct nic *n, uint32_t k)
{
	(void)n, (void)k;
	return 0;
}

int nic_stub_steer(struct nic *n, const struct nic_steer *r)
{
	(void)n, (void)r;
	return 0;
}

void nic_stub_info(struct nic *n, struct nic_link_info *li)
{
	(void)n;
	memset(li, 0, sizeof(*li));
	li->mtu = 1500;
	li->nqueues = 1;
	li->max_segs = NIC_TX_MAX_SEG;
	li->numa_node = -1;
}

int nic_stub_arm(struct nic *n, unsigned q)
{
	(void)n, (void)q;
	return 0;
}

int nic_stub_fd(struct nic *n, unsigned q)
{
	(void)n, (void)q;
	return -1;
}

unsigned nic_stub_flow_queue(struct nic *n, uint32_t a, uint16_t b, uint32_t c,
			     uint16_t d)
{
	(void)n, (void)a, (void)b, (void)c, (void)d;
	return 0;
}

void nic_stub_close(struct nic *n)
{
	(void)n;
}
