/* main.c - the tas daemon: parse the command line, open the NIC, start the
 * fast-path cores, and run the control loop (apps, exceptions, timers,
 * signals) until SIGINT/SIGTERM
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ctrl/log.h"
#include "ctrl/svc.h"
#include "ctrl/cc_loop.h"
#include "verbs/nic_fault.h"
#include "verbs/nic_link.h"

enum { TAG_LSOCK = 1, TAG_APP, TAG_CORE, TAG_SIGNAL, TAG_TIMER, TAG_CC };

static int add_fd(struct svc *s, int fd, uint32_t tag, uint32_t idx)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = ((uint64_t)tag << 32) | idx };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/**
 * svc_drain_core - take a core's exception frames and notes
 */
void svc_drain_core(struct svc *s, unsigned k)
{
	static struct fp_frame frames[16];
	static unsigned depth;
	struct fp_note notes[32];
	uint64_t v;
	unsigned n;

	if (read(fp_core_ctrl_fd(s->cores[k]), &v, sizeof(v)) < 0 &&
	    errno != EAGAIN)
		log_warn("core %u: ctrl fd: %s", k, strerror(errno));
	/* An ARP answer dispatches the opens that waited for it, and
	 * svc_post_cmd drains while a core's ring is full: exceptions are
	 * taken at the outer level only (frames[] is still being read
	 * there); notes never wait. */
	depth++;
	while (depth == 1 &&
	       (n = fp_core_take_exc(s->cores[k], frames, 16)) > 0)
		for (unsigned i = 0; i < n; i++)
			slow_exception(s, &frames[i]);
	depth--;
	while ((n = fp_core_take_notes(s->cores[k], notes, 32)) > 0)
		for (unsigned i = 0; i < n; i++) {
			if (notes[i].type == FP_NOTE_APP_DELETED)
				app_deleted_ack(s, notes[i].app_id);
			else if (notes[i].type == FP_NOTE_LISTEN_DONE ||
				 notes[i].type == FP_NOTE_LISTEN_CLOSED)
				slow_listen_ack(s, &notes[i]);
			else if (notes[i].type == FP_NOTE_PORT_FREE)
				slow_port_free(s, notes[i].port,
					       notes[i].remote_ip,
					       notes[i].remote_port);
			else if (notes[i].type == FP_NOTE_CONNECT_FAILED)
				slow_connect_failed(s, &notes[i]);
		}
}

/**
 * svc_post_cmd - queue a command for core @k, waiting while its ring is
 * full; the core's notes are drained meanwhile, so a core that waits for
 * us can always make progress
 */
void svc_post_cmd(struct svc *s, unsigned k, const struct fp_cmd *cmd)
{
	while (!fp_core_post_cmd(s->cores[k], cmd)) {
		svc_drain_core(s, k);
		usleep(50);
	}
}

static int run(struct svc *s, int sigfd, int tfd, int ccfd)
{
	struct epoll_event evs[32];

	for (;;) {
		int n = epoll_wait(s->epfd, evs, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint32_t tag = (uint32_t)(evs[i].data.u64 >> 32);
			uint32_t idx = (uint32_t)evs[i].data.u64;
			uint64_t v;

			switch (tag) {
			case TAG_LSOCK:
				app_accept(s);
				break;
			case TAG_APP:
				if (s->apps[idx].used && s->apps[idx].sock >= 0)
					app_handle(s, &s->apps[idx]);
				break;
			case TAG_CORE:
				svc_drain_core(s, idx);
				break;
			case TAG_TIMER:
				if (read(tfd, &v, sizeof(v)) > 0)
					slow_tick(s, svc_now_ns());
				app_kin_retry(s);
				app_region_sweep(s);
				for (unsigned k = 0; k < s->ncores; k++)
					svc_drain_core(s, k);
				break;
			case TAG_CC:
				if (read(ccfd, &v, sizeof(v)) > 0)
					cc_loop_run(&s->cc);
				break;
			case TAG_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(sigfd, &si, sizeof(si)) > 0) {
					log_info("signal %s: shutting down",
						 strsignal((int)si.ssi_signo));
					return 0;
				}
				break;
			}
			}
		}
	}
}

int main(int argc, char **argv)
{
	static struct svc svc;
	struct svc *s = &svc;
	char err[NIC_ERR_LEN];
	struct nic_params np = { 0 };
	struct nic *nic;
	sigset_t mask;
	int sigfd, tfd, ccfd = -1, ret = 1;
	char ips[16], gws[16] = "none";

	setvbuf(stderr, NULL, _IOLBF, 0);
	ret = config_parse(&s->cfg, argc, argv, err);
	if (ret == 1)
		return 0;
	if (ret) {
		fprintf(stderr, "tas: %s\n", err);
		return 2;
	}
	log_set_level((enum log_level)s->cfg.log_level);
	signal(SIGPIPE, SIG_IGN);

	np.nqueues = s->cfg.cores;
	np.mtu = s->cfg.mtu;
	nic = nic_open(s->cfg.nic, &np, err);
	if (!nic) {
		fprintf(stderr, "tas: %s\n", err);
		return 1;
	}
	if (s->cfg.fault) {
		struct nic *f = nic_fault_wrap(nic, s->cfg.fault, err);

		if (!f) {
			fprintf(stderr, "tas: %s\n", err);
			nic_close(nic);
			return 2;
		}
		nic = f;
		s->fault_nic = f;
	}
	if (s->cfg.link) {
		struct nic *l = nic_link_wrap(nic, s->cfg.link, err);

		if (!l) {
			fprintf(stderr, "tas: %s\n", err);
			nic_close(nic);
			return 2;
		}
		nic = l;
		s->link_nic = l;
	}
	s->nic = nic;
	nic_link_info(nic, &s->link);
	if (s->link.nqueues < s->cfg.cores) {
		fprintf(stderr,
			"tas: %s: %u queues opened, --cores %u needs %u\n",
			s->cfg.nic, s->link.nqueues, s->cfg.cores,
			s->cfg.cores);
		goto out_nic;
	}
	if (s->cfg.mtu && s->cfg.mtu < s->link.mtu)
		s->link.mtu = (uint16_t)s->cfg.mtu;

	s->ncores = s->cfg.cores;
	s->sh.ip = s->cfg.ip;
	memcpy(s->sh.mac, s->link.mac, 6);
	s->sh.mtu = s->link.mtu;
	s->sh.rxbuf_size = s->cfg.rxbuf;
	s->sh.txbuf_size = s->cfg.txbuf;
	s->sh.max_flows = s->cfg.max_flows;
	s->sh.idle_us = s->cfg.idle_us;
	s->sh.busy_poll = s->cfg.busy_poll;
	tcp_cfg_default(&s->sh.tcp, s->link.mtu);
	/* DCTCP needs ECN and a receiver whose ECE follows CE exactly */
	s->sh.tcp.ecn = s->cfg.cc.algo == CC_DCTCP;
	s->sh.tcp.dctcp_ecn_echo = s->cfg.cc.algo == CC_DCTCP;
	/* Reno stays inside the engine; the others run in this thread */
	s->sh.cc_external = s->cfg.cc.algo != CC_RENO;
	s->sh.tcp.ecn_external = s->sh.cc_external;
	if (getrandom(s->sh.isn_secret, sizeof(s->sh.isn_secret), 0) !=
	    sizeof(s->sh.isn_secret)) {
		fprintf(stderr, "tas: getrandom: %s\n", strerror(errno));
		goto out_nic;
	}
	app_pool_ops(&s->sh.pool);

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL); /* cores inherit the mask */
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = { .it_interval = { 0, 100000000 },
				  .it_value = { 0, 100000000 } };
	if (s->epfd < 0 || sigfd < 0 || tfd < 0 ||
	    timerfd_settime(tfd, 0, &its, NULL) ||
	    add_fd(s, sigfd, TAG_SIGNAL, 0) || add_fd(s, tfd, TAG_TIMER, 0)) {
		fprintf(stderr, "tas: setup: %s\n", strerror(errno));
		goto out_nic;
	}
	for (unsigned k = 0; k < s->ncores; k++) {
		s->cores[k] = fp_core_create(k, nic, k, &s->sh);
		if (!s->cores[k] ||
		    add_fd(s, fp_core_ctrl_fd(s->cores[k]), TAG_CORE, k)) {
			fprintf(stderr, "tas: core %u: %s\n", k,
				strerror(errno));
			goto out_cores;
		}
	}
	if (cc_loop_init(&s->cc, &s->cfg.cc, s->cores, s->ncores,
			 s->cfg.max_flows)) {
		fprintf(stderr, "tas: congestion control: out of memory\n");
		goto out_cores;
	}
	ccfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	long ccns = (long)s->cfg.cc.interval_us * 1000;
	struct itimerspec ccit = {
		.it_interval = { ccns / 1000000000, ccns % 1000000000 },
		.it_value = { ccns / 1000000000, ccns % 1000000000 },
	};
	if (s->sh.cc_external &&
	    (ccfd < 0 || timerfd_settime(ccfd, 0, &ccit, NULL) ||
	     add_fd(s, ccfd, TAG_CC, 0))) {
		fprintf(stderr, "tas: cc timer: %s\n", strerror(errno));
		goto out_cores;
	}
	if (app_listen_socket(s)) {
		fprintf(stderr, "tas: cannot serve apps on %s\n",
			s->cfg.socket);
		goto out_cores;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	for (unsigned k = 0; k < s->ncores; k++)
		if (fp_core_start(s->cores[k],
				  ncpu > 0 ? (int)(k % (unsigned long)ncpu)
					   : -1)) {
			fprintf(stderr, "tas: core %u: cannot start thread\n",
				k);
			goto out_sock;
		}

	inet_ntop(AF_INET, &s->cfg.ip, ips, sizeof(ips));
	if (s->cfg.gateway)
		inet_ntop(AF_INET, &s->cfg.gateway, gws, sizeof(gws));
	log_info("started: nic %s mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u "
		 "ip %s/%u gateway %s cores %u socket %s fault %s "
		 "rxbuf %u txbuf %u max-flows %u idle-us %u cc %s/%lluus "
		 "link %s%s",
		 s->cfg.nic, s->link.mac[0], s->link.mac[1], s->link.mac[2],
		 s->link.mac[3], s->link.mac[4], s->link.mac[5], s->link.mtu,
		 ips, s->cfg.prefix, gws, s->ncores, s->cfg.socket,
		 s->cfg.fault ? s->cfg.fault : "none", s->cfg.rxbuf,
		 s->cfg.txbuf, s->cfg.max_flows, s->cfg.idle_us,
		 cc_algo_name(s->cfg.cc.algo),
		 (unsigned long long)s->cfg.cc.interval_us,
		 s->cfg.link ? s->cfg.link : "none",
		 s->cfg.busy_poll ? " busy-poll" : "");
	ret = run(s, sigfd, tfd, ccfd) ? 1 : 0;

out_sock:
	close(s->lsock);
	unlink(s->cfg.socket);
out_cores:
	for (unsigned k = 0; k < s->ncores; k++)
		fp_core_destroy(s->cores[k]);
	for (unsigned i = 0; i < SVC_MAX_APPS; i++)
		if (s->apps[i].used && s->apps[i].sock >= 0)
			close(s->apps[i].sock);
out_nic:
	nic_close(nic);
	ports_fini(&s->ports);
	if (!ret)
		log_info("stopped");
	return ret;
}
