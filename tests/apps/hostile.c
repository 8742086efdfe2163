/* hostile.c - a misbehaving app for the robustness tests: registers with
 * tas like libtas does, then writes garbage through its shared memory and
 * its socket. The daemon must count and survive all of it.
 *
 *   hostile cmds N     N random command entries (valid ring indices)
 *   hostile ring       impossible producer index on its command queue
 *   hostile msg        malformed and unknown socket messages
 *
 * Uses only include/ (the ABI), like any app could.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tas/abi.h"
#include "tas/ring.h"

static int recv_fds(int sock, struct tas_msg *m, int *fds, int max)
{
	char cbuf[CMSG_SPACE(sizeof(int) * (TAS_MAX_CORES + 1))];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int n = 0;

	if (recvmsg(sock, &mh, 0) != sizeof(*m))
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (n > max)
			n = max;
		memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)n);
	}
	return n;
}

static uint64_t xs = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	xs ^= xs << 13;
	xs ^= xs >> 7;
	xs ^= xs << 17;
	return xs;
}

int main(int argc, char **argv)
{
	const char *path = getenv("TAS_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tas_msg m = { .type = TAS_MSG_HELLO,
			     .abi_version = TAS_ABI_VERSION };
	int fds[TAS_MAX_CORES + 1], sock, n;
	uint8_t *seg;
	struct tas_ctx_shm *cs;
	struct tas_ring atx;

	if (argc < 2) {
		fprintf(stderr, "usage: hostile cmds N | ring | msg\n");
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
		 path ? path : TAS_SOCKET_DEFAULT);
	sock = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(sock, &m, sizeof(m), 0) != sizeof(m) ||
	    (n = recv_fds(sock, &m, fds, TAS_MAX_CORES + 1)) < 1 || m.status) {
		fprintf(stderr, "hostile: registration failed\n");
		return 1;
	}
	seg = mmap(NULL, m.hello.seg_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fds[0], 0);
	if (seg == MAP_FAILED)
		return 1;
	m = (struct tas_msg){ .type = TAS_MSG_CTX_CREATE,
			      .abi_version = TAS_ABI_VERSION };
	if (send(sock, &m, sizeof(m), 0) != sizeof(m) ||
	    recv_fds(sock, &m, fds, 1) < 1 || m.status) {
		fprintf(stderr, "hostile: context failed\n");
		return 1;
	}
	cs = (struct tas_ctx_shm *)(seg + m.ctx.off);
	if (tas_ring_attach(&atx, seg + cs->atx_off[0], TAS_ATX_ENTRIES,
			    sizeof(struct tas_cmd)))
		return 1;

	if (!strcmp(argv[1], "cmds")) {
		long total = argc > 2 ? atol(argv[2]) : 10000, sent = 0;

		while (sent < total) {
			struct tas_cmd c[64];

			for (int i = 0; i < 64; i++) {
				uint64_t r = rnd();

				memcpy(&c[i], &r, 8);
				r = rnd();
				memcpy((char *)&c[i] + 8, &r, 8);
				if (i & 1) /* plausible handles too */
					c[i].flow &= 0x0f00000f;
			}
			sent += tas_ring_enqueue_burst(&atx, c, 64);
			usleep(100);
		}
		printf("hostile: wrote %ld garbage commands\n", sent);
	} else if (!strcmp(argv[1], "ring")) {
		struct tas_ring_shm *sh =
			(struct tas_ring_shm *)(seg + cs->atx_off[0]);

		atomic_store(&sh->prod, 0x7fffffffu);
		printf("hostile: wrote an impossible queue index\n");
	} else if (!strcmp(argv[1], "msg")) {
		char junk[17] = "not a tas_msg...";

		send(sock, junk, sizeof(junk), 0);
		printf("hostile: sent a malformed message\n");
	} else {
		fprintf(stderr, "hostile: unknown mode %s\n", argv[1]);
		return 2;
	}
	if (strcmp(argv[1], "cmds") || (argc > 2 && atol(argv[2]) > 0))
		usleep(300000);
	return 0;
}
