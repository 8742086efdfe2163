/* nic.c - nic_open: split a "BACKEND:DEV" spec and dispatch to a backend
 *
 * Known gaps: decorators ("fault") are not part of the spec syntax here;
 * callers wrap the result with nic_fault_wrap themselves.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "verbs/nic.h"

typedef struct nic *(*nic_ctor)(const char *dev, const struct nic_params *p,
				char *err);

static const struct {
	const char *name;
	nic_ctor open;
} nic_backends[] = {
	{ "ibv", nic_ibv_open },
	{ "packet", nic_packet_open },
	{ "wire", nic_wire_open },
};

/**
 * nic_open - open a backend from a "BACKEND:DEV" spec
 * @spec: "ibv:mlx5_0", "ibv:eth0", "packet:veth0", "wire:name"
 * @p: parameters, or NULL for defaults
 * @err: on failure, one line naming the cause (NIC_ERR_LEN bytes)
 *
 * Return: the nic, or NULL with errno set and @err filled. An unknown
 * backend, a missing ':' or an empty device name gives EINVAL.
 */
struct nic *nic_open(const char *spec, const struct nic_params *p, char *err)
{
	static const struct nic_params defaults;
	const char *colon;
	size_t blen, i;

	if (!spec) {
		snprintf(err, NIC_ERR_LEN,
			 "nic spec missing (use ibv:DEV, "
			 "packet:IFNAME or wire:NAME)");
		errno = EINVAL;
		return NULL;
	}
	if (!p)
		p = &defaults;
	colon = strchr(spec, ':');
	blen = colon ? (size_t)(colon - spec) : strlen(spec);
	for (i = 0; i < sizeof(nic_backends) / sizeof(nic_backends[0]); i++) {
		if (strlen(nic_backends[i].name) != blen ||
		    strncmp(nic_backends[i].name, spec, blen) != 0)
			continue;
		if (!colon || colon[1] == '\0') {
			snprintf(err, NIC_ERR_LEN,
				 "nic spec \"%s\": missing device after "
				 "\"%s:\"",
				 spec, nic_backends[i].name);
			errno = EINVAL;
			return NULL;
		}
		return nic_backends[i].open(colon + 1, p, err);
	}
	snprintf(err, NIC_ERR_LEN,
		 "nic spec \"%s\": unknown backend \"%.*s\" (use ibv:DEV, "
		 "packet:IFNAME or wire:NAME)",
		 spec, (int)(blen > 32 ? 32 : blen), spec);
	errno = EINVAL;
	return NULL;
}
