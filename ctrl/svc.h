/* svc.h - the control thread's state: apps, ARP cache, listeners, cores */
#ifndef TAS_CTRL_SVC_H
#define TAS_CTRL_SVC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctrl/cc_loop.h"
#include "ctrl/config.h"
#include "tas/abi.h"
#include "tas/ring.h"
#include "tcp/fastpath.h"
#include "ctrl/ports.h"
#include "verbs/nic.h"

#define SVC_MAX_APPS 256
#define SVC_MAX_LISTEN 256
#define ARP_CACHE 256
/* next hops being resolved at a time, and the first size of the array of
 * active opens waiting for one */
#define ARP_PENDING 256
#define ARP_WAIT_INIT 16

struct svc;

struct app_ctx {
	bool used;
	uint64_t off; /* struct tas_ctx_shm in the segment */
	int evfd;
	struct tas_ring kin; /* we produce */
	/* events that found kin full, oldest at kin_whead: they go before
	 * any newer one, retried on every post and every tick (a lost
	 * CONN_OPEN leaves the app waiting for it forever) */
	struct tas_ev *kin_wait;
	uint32_t kin_whead, kin_wn, kin_wcap;
};

/* An app (one socket connection); the cores see it as struct fp_app. */
struct fp_app {
	bool used;
	bool dying; /* waiting for every core's APP_DELETED */
	unsigned del_acks;
	uint32_t id;
	int sock;
	pid_t pid;
	uid_t uid;
	int memfd;
	uint8_t *seg;
	uint64_t seg_size;
	uint32_t mem_key;
	bool mem_reg;
	struct app_ctx ctx[TAS_MAX_CTX];
	/* connection buffer slots: the cores take them at passive open */
	pthread_mutex_t pool_lock;
	uint64_t slots_off;
	uint32_t slot_size, nslots, slots_free;
	uint8_t *slot_used;
	/* zero-copy regions: the table the cores read, and what only the
	 * control thread keeps (generation for ids, whether base is mapped,
	 * whether it is registered with the NIC) */
	struct fp_region regions[TAS_MAX_REGIONS];
	uint16_t region_gen[TAS_MAX_REGIONS];
	bool region_mapped[TAS_MAX_REGIONS];
	bool region_reg[TAS_MAX_REGIONS];
	uint64_t region_bytes;
	unsigned regions_dying; /* freed, waiting for the cores' references */
	struct svc *svc;
};

struct listen_rec {
	bool used;
	uint16_t port;
	bool reuseport;
	struct fp_app *app;
	uint16_t ctx;
	uint64_t user;
	unsigned acks; /* cores that applied it */
};

/* A LISTEN_CLOSE waiting for every core. */
struct listen_close {
	bool used;
	struct fp_app *app;
	uint16_t ctx;
	uint64_t user;
	unsigned acks;
	int status;
};

struct arp_entry {
	uint32_t ip;
	uint8_t mac[6];
	bool valid;
	uint64_t expires_ns;
};

/* A next hop being resolved and the active opens waiting for it: each
 * holds a local port and a buffer slot, so their number is bounded by the
 * ephemeral ports, not by this table. */
struct arp_wait {
	bool used;
	uint32_t ip; /* next hop */
	uint64_t next_try_ns;
	unsigned tries;
	struct fp_cmd *cmds; /* FP_CMD_CONNECT, MAC still to fill */
	uint32_t ncmds, cap;
};

struct svc {
	struct tas_config cfg;
	struct nic *nic;
	struct nic *fault_nic, *link_nic; /* decorators, NULL if unused */
	struct nic_link_info link;
	struct fp_shared sh;
	struct fp_core *cores[TAS_MAX_CORES];
	unsigned ncores;
	int lsock;
	int epfd;
	struct fp_app apps[SVC_MAX_APPS];
	uint32_t next_app_id;
	struct listen_rec lst[SVC_MAX_LISTEN];
	struct listen_close lclose[SVC_MAX_LISTEN];
	struct arp_entry arp[ARP_CACHE];
	struct arp_wait arpq[ARP_PENDING];
	struct port_table ports; /* tasctl: ports_in_use = ports.n */
	uint64_t ctr_arp_rx, ctr_arp_tx, ctr_icmp_echo, ctr_exc_drop;
	uint64_t ctr_apps, ctr_app_errors;
	uint64_t ctr_zc_refused; /* bad MEM_ALLOC / MEM_FREE requests */
	struct cc_loop cc;
};

/* app.c */
int app_listen_socket(struct svc *s);
void app_accept(struct svc *s);
/* app_handle - serve one readable app socket; returns false if it died */
bool app_handle(struct svc *s, struct fp_app *a);
void app_begin_delete(struct svc *s, struct fp_app *a, const char *why);
void app_deleted_ack(struct svc *s, uint32_t app_id);
void app_pool_ops(struct fp_pool_ops *ops);
void app_region_sweep(struct svc *s);
bool app_kin_post(struct fp_app *a, uint16_t ctx, const struct tas_ev *e);
void app_kin_retry(struct svc *s);

/* slow.c */
void slow_exception(struct svc *s, const struct fp_frame *fr);
void slow_tick(struct svc *s, uint64_t now_ns);
/* slow_connect - start an active open (ARP first if needed) */
int slow_connect(struct svc *s, struct fp_app *a, uint16_t ctx, uint64_t user,
		 uint32_t ip_host, uint16_t port);
void slow_port_free(struct svc *s, uint16_t port, uint32_t rip, uint16_t rport);
void slow_connect_failed(struct svc *s, const struct fp_note *n);
int slow_listen(struct svc *s, struct fp_app *a, const struct tas_msg *m);
int slow_listen_close(struct svc *s, struct fp_app *a, const struct tas_msg *m);
void slow_app_gone(struct svc *s, struct fp_app *a);
void slow_listen_ack(struct svc *s, const struct fp_note *n);
/* stats text for tasctl */
void slow_stats_text(struct svc *s, int fd);
void slow_conns_text(struct svc *s, int fd);

uint64_t svc_now_ns(void);
/* main.c */
void svc_drain_core(struct svc *s, unsigned k);
void svc_post_cmd(struct svc *s, unsigned k, const struct fp_cmd *cmd);

#endif /* TAS_CTRL_SVC_H */
