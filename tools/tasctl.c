/* tasctl.c - ask a running tas daemon for its counters or connections */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tas/abi.h"

static void usage(void)
{
	fprintf(stderr, "usage: tasctl [--socket PATH] stats|conns\n");
}

int main(int argc, char **argv)
{
	const char *path = getenv("TAS_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tas_msg m = { .abi_version = TAS_ABI_VERSION };
	const char *what = NULL;
	char buf[4096];
	int fd, i;

	if (!path)
		path = TAS_SOCKET_DEFAULT;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "stats") ||
			   !strcmp(argv[i], "conns")) {
			what = argv[i];
		} else {
			fprintf(stderr, "tasctl: unknown argument \"%s\"\n",
				argv[i]);
			usage();
			return 2;
		}
	}
	if (!what) {
		usage();
		return 2;
	}
	m.type = !strcmp(what, "stats") ? TAS_MSG_STATS : TAS_MSG_CONNS;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "tasctl: cannot reach tas at %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (send(fd, &m, sizeof(m), 0) != sizeof(m)) {
		fprintf(stderr, "tasctl: send: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			fprintf(stderr, "tasctl: recv: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	return 0;
}
