/* config.c - parse and check the daemon's command line; every bad value
 * gets one line naming the option */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl/config.h"
#include "ctrl/log.h"
#include "tas/abi.h"

#define ERR_LEN 256

/**
 * config_usage - print the CLI summary to stdout
 */
void config_usage(const char *prog)
{
	printf("usage: %s --nic BACKEND:DEV --ip ADDR/PREFIX [options]\n"
	       "  --nic SPEC        ibv:DEV | packet:IFNAME | wire:NAME\n"
	       "  --ip A.B.C.D/N    the service's IPv4 address and prefix\n"
	       "  --gateway IP      next hop for addresses off the prefix\n"
	       "  --cores N         fast-path cores, one NIC queue each "
	       "(default 1)\n"
	       "  --socket PATH     app socket (default %s)\n"
	       "  --fault SPEC      drop=P,dup=P,reorder=P,corrupt=P,"
	       "truncate=P,delay=DUR,seed=S,dir=rx|tx|both\n"
	       "  --cc ALGO         dctcp (default) | timely[:k=v,..] | "
	       "const[:RATE] | reno\n"
	       "  --cc-interval DUR how often the control thread recomputes "
	       "windows (default 1ms)\n"
	       "  --link SPEC       bottleneck model: rate=RATE,delay=DUR,"
	       "queue=PKTS,ecn=PKTS\n"
	       "  --mtu N           IP MTU (default: the device's)\n"
	       "  --idle-us N       poll this long, yielding the CPU between "
	       "polls, before sleeping (default 50)\n"
	       "  --busy-poll       dedicated cores: spin, never yield or "
	       "sleep\n"
	       "  --max-flows N     flows per core (default 16384)\n"
	       "  --rxbuf BYTES     receive ring per connection (default "
	       "131072)\n"
	       "  --txbuf BYTES     send ring per connection (default "
	       "131072)\n"
	       "  --app-conns N     connections per app (default 1024)\n"
	       "  --zc-mem MIB      zero-copy region memory per app "
	       "(default 1024)\n"
	       "  --log-level L     error|warn|info|debug (default info)\n",
	       prog, TAS_SOCKET_DEFAULT);
}

static int parse_uint(const char *opt, const char *s, unsigned long min,
		      unsigned long max, unsigned long *out, char *err)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		snprintf(err, ERR_LEN, "%s: bad value \"%s\" (want %lu..%lu)",
			 opt, s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_pow2(const char *opt, const char *s, uint32_t *out, char *err)
{
	unsigned long v;

	if (parse_uint(opt, s, 4096, 1ul << 30, &v, err))
		return -EINVAL;
	if (v & (v - 1)) {
		snprintf(err, ERR_LEN, "%s: %lu is not a power of two", opt, v);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_ip(const char *opt, const char *s, uint32_t *ip,
		    uint8_t *prefix, char *err)
{
	char buf[64], *slash;
	struct in_addr a;
	unsigned long p = 32;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = 0;
		if (!prefix || parse_uint(opt, slash + 1, 1, 32, &p, err))
			goto bad;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		goto bad;
	*ip = a.s_addr;
	if (prefix)
		*prefix = (uint8_t)p;
	return 0;
bad:
	snprintf(err, ERR_LEN, "%s: bad address \"%s\" (want A.B.C.D%s)", opt,
		 s, prefix ? "/PREFIX" : "");
	return -EINVAL;
}

/**
 * config_parse - see config.h
 */
int config_parse(struct tas_config *cfg, int argc, char **argv, char *err)
{
	enum {
		O_NIC = 256,
		O_IP,
		O_GW,
		O_CORES,
		O_SOCK,
		O_FAULT,
		O_LINK,
		O_CC,
		O_MTU,
		O_IDLE,
		O_BUSY,
		O_FLOWS,
		O_LOG,
		O_RXBUF,
		O_TXBUF,
		O_APPCONNS,
		O_ZCMEM,
		O_CCINT,
		O_HELP
	};
	static const struct option opts[] = {
		{ "nic", required_argument, 0, O_NIC },
		{ "ip", required_argument, 0, O_IP },
		{ "gateway", required_argument, 0, O_GW },
		{ "cores", required_argument, 0, O_CORES },
		{ "socket", required_argument, 0, O_SOCK },
		{ "fault", required_argument, 0, O_FAULT },
		{ "link", required_argument, 0, O_LINK },
		{ "cc", required_argument, 0, O_CC },
		{ "cc-interval", required_argument, 0, O_CCINT },
		{ "mtu", required_argument, 0, O_MTU },
		{ "idle-us", required_argument, 0, O_IDLE },
		{ "busy-poll", no_argument, 0, O_BUSY },
		{ "max-flows", required_argument, 0, O_FLOWS },
		{ "log-level", required_argument, 0, O_LOG },
		{ "rxbuf", required_argument, 0, O_RXBUF },
		{ "txbuf", required_argument, 0, O_TXBUF },
		{ "app-conns", required_argument, 0, O_APPCONNS },
		{ "zc-mem", required_argument, 0, O_ZCMEM },
		{ "help", no_argument, 0, O_HELP },
		{ 0, 0, 0, 0 },
	};
	unsigned long v;
	int o;

	memset(cfg, 0, sizeof(*cfg));
	cfg->cores = 1;
	cfg->socket = TAS_SOCKET_DEFAULT;
	cfg->idle_us = 50;
	cfg->max_flows = 16384;
	cfg->log_level = LOG_INFO;
	cfg->rxbuf = cfg->txbuf = 131072;
	cfg->app_conns = 1024;
	cfg->zc_mem_mb = 1024;
	cc_config_init(&cfg->cc);
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_NIC:
			if (!strchr(optarg, ':')) {
				snprintf(
					err, ERR_LEN,
					"--nic: bad spec \"%s\" (want ibv:DEV, "
					"packet:IFNAME or wire:NAME)",
					optarg);
				return -EINVAL;
			}
			cfg->nic = optarg;
			break;
		case O_IP:
			if (parse_ip("--ip", optarg, &cfg->ip, &cfg->prefix,
				     err))
				return -EINVAL;
			break;
		case O_GW:
			if (parse_ip("--gateway", optarg, &cfg->gateway, NULL,
				     err))
				return -EINVAL;
			break;
		case O_CORES:
			if (parse_uint("--cores", optarg, 1, TAS_MAX_CORES, &v,
				       err))
				return -EINVAL;
			cfg->cores = (unsigned)v;
			break;
		case O_SOCK:
			if (!optarg[0] || strlen(optarg) >= 108) {
				snprintf(err, ERR_LEN,
					 "--socket: path empty or longer than "
					 "107 bytes");
				return -EINVAL;
			}
			cfg->socket = optarg;
			break;
		case O_FAULT:
			cfg->fault = optarg;
			break;
		case O_LINK:
			cfg->link = optarg;
			break;
		case O_CC:
			if (cc_parse(optarg, &cfg->cc, err))
				return -EINVAL;
			break;
		case O_CCINT:
			if (cc_parse_interval(optarg, &cfg->cc, err))
				return -EINVAL;
			break;
		case O_MTU:
			if (parse_uint("--mtu", optarg, 576, 9000, &v, err))
				return -EINVAL;
			cfg->mtu = (unsigned)v;
			break;
		case O_IDLE:
			if (parse_uint("--idle-us", optarg, 0, 10000000, &v,
				       err))
				return -EINVAL;
			cfg->idle_us = (unsigned)v;
			break;
		case O_BUSY:
			cfg->busy_poll = true;
			break;
		case O_FLOWS:
			if (parse_uint("--max-flows", optarg, 16, 1u << 22, &v,
				       err))
				return -EINVAL;
			cfg->max_flows = (unsigned)v;
			break;
		case O_LOG:
			cfg->log_level = log_parse_level(optarg);
			if (cfg->log_level < 0) {
				snprintf(err, ERR_LEN,
					 "--log-level: bad level \"%s\" (want "
					 "error, warn, info or debug)",
					 optarg);
				return -EINVAL;
			}
			break;
		case O_RXBUF:
			if (parse_pow2("--rxbuf", optarg, &cfg->rxbuf, err))
				return -EINVAL;
			break;
		case O_TXBUF:
			if (parse_pow2("--txbuf", optarg, &cfg->txbuf, err))
				return -EINVAL;
			break;
		case O_APPCONNS:
			if (parse_uint("--app-conns", optarg, 1, 65536, &v,
				       err))
				return -EINVAL;
			cfg->app_conns = (unsigned)v;
			break;
		case O_ZCMEM:
			if (parse_uint("--zc-mem", optarg, 0, 1u << 20, &v,
				       err))
				return -EINVAL;
			cfg->zc_mem_mb = (unsigned)v;
			break;
		case O_HELP:
			config_usage(argv[0]);
			return 1;
		default:
			if (optopt)
				snprintf(err, ERR_LEN,
					 "option needs a value or is unknown: "
					 "%s (see --help)",
					 argv[optind - 1]);
			else
				snprintf(err, ERR_LEN,
					 "unknown option %s (see --help)",
					 argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, ERR_LEN,
			 "unexpected argument \"%s\" (see --help)",
			 argv[optind]);
		return -EINVAL;
	}
	if (!cfg->nic || !cfg->ip) {
		snprintf(err, ERR_LEN, "%s is required (see --help)",
			 !cfg->nic ? "--nic" : "--ip");
		return -EINVAL;
	}
	return 0;
}
