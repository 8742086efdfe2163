/* nic_fault.h - counters of the fault-injecting NIC decorator
 *
 * The decorator itself is created with nic_fault_wrap() (verbs/nic.h).
 */
#ifndef TAS_VERBS_NIC_FAULT_H
#define TAS_VERBS_NIC_FAULT_H

#include <stdint.h>

#include "verbs/nic.h"

/* What happened to the frames of one direction, summed over queues. */
struct nic_fault_dir_stats {
	uint64_t frames;   /* frames that entered the injector */
	uint64_t drop;	   /* vanished */
	uint64_t dup;	   /* delivered twice */
	uint64_t reorder;  /* held back behind the next frame */
	uint64_t corrupt;  /* one bit flipped */
	uint64_t truncate; /* cut to a shorter length */
	uint64_t delay;	   /* held for the delay */
	uint64_t out;	   /* frames handed on (dups counted twice) */
};

struct nic_fault_stats {
	struct nic_fault_dir_stats rx;
	struct nic_fault_dir_stats tx;
};

/**
 * nic_fault_stats - read the fault counters of a fault wrapper
 * @nic: a nic returned by nic_fault_wrap()
 * @out: filled with the counters, summed over queues
 *
 * Control-thread call: counters of queues in use are read without locks.
 *
 * Return: 0, or -EINVAL when @nic is not a fault wrapper.
 */
int nic_fault_stats(struct nic *nic, struct nic_fault_stats *out);

#endif /* TAS_VERBS_NIC_FAULT_H */
