/* zc_hostile.c - a misbehaving zero-copy app for tests/netns/zerocopy.sh:
 * bad regions, offsets and frees, through libtas and past it
 *
 *   zc_hostile --ip A --port P
 *
 * A and P: a kernel objstore server (client/examples/objstore.c, which
 * answers a GET of an unknown object with one 32-byte header). The
 * library's own checks must refuse (EINVAL, EBUSY) without side effects.
 * The daemon's checks are reached by scribbling on the public struct
 * flextcp_mem_region the way a buggy or hostile program can (a lie about
 * len, a stale or unknown id, a zeroed busy count): the library then
 * sends commands the daemon has to refuse, count (drop_bad_zc_cmd,
 * zc_requests_refused) and answer by resetting only the offending
 * connection. Last, a region freed under a posted receive (the library's
 * EBUSY bypassed): the daemon must keep placing into its own mapping
 * until the post is done.
 *
 * Prints one line per check and "zc_hostile: N checks ok" or
 * "zc_hostile: N of M checks FAILED" (exit 1). Every wait is bounded.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tas/abi.h>
#include <tas_ll.h>

#define WAIT_MS 5000

static struct flextcp_context ctx;
static uint32_t peer_ip;
static uint16_t peer_port;
static int checks, failed;

static void check(bool ok, const char *what)
{
	checks++;
	if (!ok)
		failed++;
	printf("zc_hostile: %-68s %s\n", what, ok ? "ok" : "FAILED");
	fflush(stdout);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct flextcp_connection *ev_conn(const struct flextcp_event *ev)
{
	switch (ev->event_type) {
	case FLEXTCP_EV_CONN_OPEN:
		return ev->ev.conn_open.conn;
	case FLEXTCP_EV_CONN_CLOSED:
		return ev->ev.conn_closed.conn;
	case FLEXTCP_EV_CONN_RX_PLACED:
		return ev->ev.conn_rx_placed.conn;
	case FLEXTCP_EV_CONN_TX_ZC_DONE:
		return ev->ev.conn_tx_zc_done.conn;
	case FLEXTCP_EV_CONN_RECEIVED:
		return ev->ev.conn_received.conn;
	case FLEXTCP_EV_CONN_RXCLOSED:
		return ev->ev.conn_rxclosed.conn;
	case FLEXTCP_EV_CONN_SENDBUF:
		return ev->ev.conn_sendbuf.conn;
	default:
		return NULL;
	}
}

/* Events polled but not waited for yet, oldest first. */
static struct flextcp_event pend[256];
static unsigned npend;

/* Take the oldest pending event of @c; true if it has @type. Events of
 * @c before it are noted in *@seen (bit per type) and dropped. */
static bool take_ev(struct flextcp_connection *c, uint8_t type,
		    struct flextcp_event *out, uint32_t *seen)
{
	for (unsigned i = 0; i < npend; i++) {
		if (ev_conn(&pend[i]) != c)
			continue;
		if (seen)
			*seen |= 1u << pend[i].event_type;
		if (pend[i].event_type != type)
			continue;
		if (out)
			*out = pend[i];
		memmove(&pend[i], &pend[i + 1],
			(npend - i - 1) * sizeof(pend[0]));
		npend--;
		return true;
	}
	return false;
}

/* Wait up to WAIT_MS for an event of @type on @c. */
static bool wait_ev(struct flextcp_connection *c, uint8_t type,
		    struct flextcp_event *out, uint32_t *seen)
{
	uint64_t end = now_ms() + WAIT_MS;

	for (;;) {
		int n;

		if (take_ev(c, type, out, seen))
			return true;
		if (now_ms() >= end || npend == 256)
			return false; /* 256: events nobody waits for */
		n = flextcp_context_poll(&ctx, (int)(256 - npend),
					 pend + npend);
		if (n > 0)
			npend += (unsigned)n;
		else
			flextcp_block(&ctx, 10);
	}
}

static bool conn_open(struct flextcp_connection *c)
{
	struct flextcp_event ev;

	memset(c, 0, sizeof(*c));
	return flextcp_connection_open(&ctx, c, peer_ip, peer_port) == 0 &&
	       wait_ev(c, FLEXTCP_EV_CONN_OPEN, &ev, NULL) &&
	       ev.ev.conn_open.status == 0;
}

/* The daemon refused a command on @c: the connection is reset with
 * -EINVAL, and its outstanding posts end with -ECONNABORTED. */
static bool reset_einval(struct flextcp_connection *c, uint32_t *seen)
{
	struct flextcp_event ev;

	return wait_ev(c, FLEXTCP_EV_CONN_CLOSED, &ev, seen) &&
	       ev.ev.conn_closed.status == -EINVAL;
}

/* A GET of an object that does not exist (objstore protocol, 32 bytes):
 * the server answers with one 32-byte header. */
static bool send_get(struct flextcp_connection *c)
{
	uint8_t h[32] = { 0 }, *b;
	uint32_t w32 = htobe32(0x4f424a31u);
	uint16_t w16 = htobe16(2);
	uint64_t w64 = htobe64(0xdeadbeefull);

	memcpy(h, &w32, 4);
	memcpy(h + 4, &w16, 2);
	memcpy(h + 16, &w64, 8);
	if (flextcp_connection_tx_alloc(c, sizeof(h), (void **)&b) !=
	    (ssize_t)sizeof(h))
		return false;
	memcpy(b, h, sizeof(h));
	return flextcp_connection_tx_send(&ctx, c, sizeof(h)) == 0;
}

int main(int argc, char **argv)
{
	struct flextcp_mem_region *r, *r2, *big, *fake;
	struct flextcp_connection c1, c2, c3, c4, c5;
	struct flextcp_event ev;
	struct in_addr ip;
	uint32_t seen, id;
	size_t len;
	void *tb;

	if (argc != 5 || strcmp(argv[1], "--ip") ||
	    inet_pton(AF_INET, argv[2], &ip) != 1 ||
	    strcmp(argv[3], "--port") || atoi(argv[4]) <= 0) {
		fprintf(stderr, "usage: zc_hostile --ip A --port P\n");
		return 2;
	}
	peer_ip = ntohl(ip.s_addr);
	peer_port = (uint16_t)atoi(argv[4]);
	if (flextcp_init() != 0 || flextcp_context_create(&ctx) != 0)
		return 1;

	/* ---- regions the daemon refuses (zc_requests_refused) ---- */
	errno = 0;
	check(flextcp_mem_alloc(&ctx, (size_t)2 << 30, &big) == -1 &&
		      errno == EINVAL,
	      "mem_alloc of 2 GiB: EINVAL from the daemon");
	check(flextcp_mem_alloc(&ctx, 1 << 20, &r) == 0 && r->len == 1 << 20,
	      "mem_alloc of 1 MiB works");
	check(flextcp_mem_alloc(&ctx, 1 << 20, &r2) == 0,
	      "a second region works");
	r2->id_ += TAS_MAX_REGIONS; /* same slot, the next generation */
	errno = 0;
	check(flextcp_mem_free(&ctx, r2) == -1 && errno == EINVAL,
	      "mem_free of a stale region id: EINVAL from the daemon");
	len = r->len;

	/* ---- the library's own checks ---- */
	check(conn_open(&c1), "connection 1 opens");
	errno = 0;
	check(flextcp_connection_rx_post(&ctx, &c1, r, len, 4096, 1) == -1 &&
		      errno == EINVAL,
	      "rx_post at offset == region length: EINVAL");
	errno = 0;
	check(flextcp_connection_rx_post(&ctx, &c1, r, 4096, len, 1) == -1 &&
		      errno == EINVAL,
	      "rx_post past the region end: EINVAL");
	errno = 0;
	check(flextcp_connection_tx_send_zc(&ctx, &c1, r, len - 10, 20, 1) ==
			      -1 &&
		      errno == EINVAL,
	      "tx_send_zc past the region end: EINVAL");
	errno = 0;
	check(flextcp_connection_tx_send_zc(&ctx, &c1, NULL, 0, 20, 1) == -1 &&
		      errno == EINVAL,
	      "tx_send_zc without a region: EINVAL");
	check(flextcp_connection_tx_alloc(&c1, 8, &tb) == 8,
	      "tx_alloc of 8 bytes");
	errno = 0;
	check(flextcp_connection_tx_send_zc(&ctx, &c1, r, 0, 20, 1) == -1 &&
		      errno == EINVAL,
	      "tx_send_zc with allocated, unsent ring bytes: EINVAL");

	/* ---- a region in use cannot be freed ---- */
	check(flextcp_connection_rx_post(&ctx, &c1, r, 0, 4096, 2) == 0,
	      "rx_post of 4 KiB (the peer sends nothing)");
	errno = 0;
	check(flextcp_mem_free(&ctx, r) == -1 && errno == EBUSY,
	      "mem_free of the region under that post: EBUSY");

	/* ---- past the library: an offset beyond the real region ---- */
	r->len = (size_t)1 << 30; /* the lie */
	check(flextcp_connection_rx_post(&ctx, &c1, r, len + 4096, 4096, 3) ==
		      0,
	      "rx_post beyond the real region (len lied about) passes libtas");
	r->len = len;
	seen = 0;
	check(reset_einval(&c1, &seen) &&
		      (seen & (1u << FLEXTCP_EV_CONN_RX_PLACED)),
	      "daemon resets connection 1 (-EINVAL), posts end");
	check(r->busy_ == 0, "the region is idle again");

	/* ---- a stale region id on a send ---- */
	check(conn_open(&c2), "connection 2 opens");
	id = r->id_;
	r->id_ = id + TAS_MAX_REGIONS; /* same slot, the next generation */
	errno = 0;
	check(flextcp_connection_tx_send_zc(&ctx, &c2, r, 0, 4096, 4) == 0,
	      "tx_send_zc with a stale region id passes libtas");
	r->id_ = id;
	seen = 0;
	check(reset_einval(&c2, &seen) &&
		      (seen & (1u << FLEXTCP_EV_CONN_TX_ZC_DONE)),
	      "daemon resets connection 2 (-EINVAL), the send ends");

	/* ---- an id that was never allocated ---- */
	check(conn_open(&c3), "connection 3 opens");
	r->id_ = TAS_MAX_REGIONS - 1; /* slot 63, generation 0: never live */
	check(flextcp_connection_rx_post(&ctx, &c3, r, 0, 4096, 5) == 0,
	      "rx_post with an unknown region id passes libtas");
	r->id_ = id;
	check(reset_einval(&c3, NULL), "daemon resets connection 3 (-EINVAL)");

	/* ---- an out-of-bounds zero-copy send ---- */
	check(conn_open(&c4), "connection 4 opens");
	r->len = (size_t)1 << 30;
	check(flextcp_connection_tx_send_zc(&ctx, &c4, r, len - 4096, 8192,
					    6) == 0,
	      "tx_send_zc across the real region end passes libtas");
	r->len = len;
	check(reset_einval(&c4, NULL), "daemon resets connection 4 (-EINVAL)");

	/* ---- free a region under a post, behind the library's back ----
	 * The post must reach the fast path before the free (a free that
	 * overtakes it gets the post refused, which is right too, but not
	 * this case): the GET queued after it is acknowledged first. */
	check(conn_open(&c5), "connection 5 opens");
	check(flextcp_connection_rx_post(&ctx, &c5, r, 0, 64, 7) == 0,
	      "rx_post of 64 bytes on connection 5");
	check(send_get(&c5) &&
		      wait_ev(&c5, FLEXTCP_EV_CONN_SENDBUF, NULL, NULL),
	      "GET 1 sent and acknowledged (the post is in the daemon)");
	/* the lie: a copy that claims nothing is outstanding (libtas frees
	 * the copy; the post keeps the original, which it updates later) */
	fake = malloc(sizeof(*fake));
	if (fake == NULL)
		return 1;
	*fake = *r;
	fake->busy_ = 0;
	check(flextcp_mem_free(&ctx, fake) == 0,
	      "mem_free of that region while the daemon holds the post");
	check(send_get(&c5), "GET 2 sent");
	check(wait_ev(&c5, FLEXTCP_EV_CONN_RX_PLACED, &ev, NULL) &&
		      ev.ev.conn_rx_placed.status == 0 &&
		      ev.ev.conn_rx_placed.len == 64,
	      "both 32-byte answers are placed (into the daemon's mapping)");
	check(flextcp_connection_close(&ctx, &c5) == 0 &&
		      wait_ev(&c5, FLEXTCP_EV_CONN_CLOSED, &ev, NULL),
	      "connection 5 closes");

	free(r); /* given back above, through the copy */
	if (failed) {
		printf("zc_hostile: %d of %d checks FAILED\n", failed, checks);
		return 1;
	}
	printf("zc_hostile: %d checks ok\n", checks);
	return 0;
}
