/* config.h - the daemon's command line */
#ifndef TAS_CTRL_CONFIG_H
#define TAS_CTRL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "ctrl/cc.h"

struct tas_config {
	const char *nic; /* BACKEND:DEV */
	uint32_t ip;	 /* network order */
	uint8_t prefix;
	uint32_t gateway; /* network order, 0 = none */
	unsigned cores;
	const char *socket;
	const char *link;  /* NULL = none */
	const char *fault; /* NULL = none */
	unsigned mtu;	   /* 0 = the device's */
	unsigned idle_us;
	bool busy_poll;
	unsigned max_flows;
	int log_level;
	uint32_t rxbuf, txbuf; /* per connection, powers of two */
	unsigned app_conns;    /* connection buffer slots per app */
	unsigned zc_mem_mb;    /* zero-copy region memory per app, MiB */
	struct cc_config cc;
};

/**
 * config_parse - fill @cfg from argv
 * @err: one line on failure (256 bytes)
 *
 * Return: 0, 1 when --help was printed, or -EINVAL with @err set.
 */
int config_parse(struct tas_config *cfg, int argc, char **argv, char *err);

void config_usage(const char *prog);

#endif /* TAS_CTRL_CONFIG_H */
