/*
 * objstore.h - what the files of the objstore example share (see
 * objstore.c): the wire header, object content, files, statistics lines
 * and the client's state
 */
#ifndef EXAMPLES_OBJSTORE_H
#define EXAMPLES_OBJSTORE_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define OS_MAGIC 0x4f424a31u /* "OBJ1" */
#define OS_HDR_LEN 32	     /* every message starts with one header */
#define OS_PAGE 4096ull	     /* O_DIRECT alignment */
#define OS_MAX_OBJ (1ull << 30)
#define OS_EV_BATCH 64

enum os_op {
	OS_OP_PUT = 1, /* client: store len bytes as id */
	OS_OP_GET = 2, /* client: send object id back */
	OS_OP_READY =
		3, /* server: send the PUT payload after the eager bytes */
	OS_OP_DONE =
		4, /* server: request done (status); GET: len bytes follow */
};

/* The header, host order. On the wire: magic, op, status, eager, pad (all
 * big endian, 4+2+2+4+4 bytes), then id and len (8 bytes each). */
struct os_hdr {
	uint16_t op;
	int16_t status; /* replies: 0 or negative errno */
	uint32_t eager; /* PUT: payload bytes that follow the header at once */
	uint64_t id;
	uint64_t len; /* PUT: payload; GET's DONE: bytes that follow */
};

/* Pages that hold @len bytes (at least one). */
static inline size_t os_pages(uint64_t len)
{
	return len ? (size_t)((len + OS_PAGE - 1) / OS_PAGE) : 1;
}

struct io_stats {
	uint64_t direct, buffered;	  /* writes by path */
	uint64_t rdirect, rbuffered;	  /* reads by path */
	bool said_direct, said_unaligned; /* first use of each path printed */
	bool said_nodirect;
};

struct conn_stats {
	uint64_t puts, gets, put_bytes, get_bytes;
	uint64_t placed;  /* PUT payload the service placed in our buffers */
	uint64_t copied;  /* PUT payload we copied out of the receive ring
			  * (kernel: every byte, recv copies) */
	uint64_t zc_sent; /* GET payload sent with tx_send_zc */
	uint64_t errors;
};

struct cli {
	bool put, kernel;
	uint32_t ip_be;
	long port;
	uint64_t count, size, first;
	uint32_t eager;
	long conns;
	double timeout_s;
	uint64_t deadline_ns;
	uint8_t (*hashes)[SHA256_DIGEST_LEN]; /* expected, per object */
	bool want_hashes;
	uint8_t *scratch; /* flextcp client: expected content */
	size_t scap;
	atomic_ullong ok, failed, bytes; /* objects verified; mismatches */
	atomic_int reported;		 /* mismatches printed */
};

extern volatile sig_atomic_t os_stop; /* SIGINT or SIGTERM came */

/* objstore.c */
void os_hdr_emit(const struct os_hdr *h, uint8_t *b);
int os_hdr_parse(const uint8_t *b, size_t n, struct os_hdr *h);
void os_obj_fill(uint8_t *dst, uint64_t id, uint64_t off, size_t len);
void os_obj_sha(uint64_t id, uint64_t len, uint8_t *scratch, size_t cap,
		uint8_t out[SHA256_DIGEST_LEN]);
void *os_xmalloc(size_t n);
int os_obj_write(int dirfd, const char *dir, uint64_t id, const uint8_t *buf,
		 uint64_t len, struct io_stats *io);
int os_obj_open(int dirfd, uint64_t id, uint64_t *size, bool *direct);
int os_obj_read(int fd, bool direct, uint8_t *buf, uint64_t size,
		struct io_stats *io);
void os_stats_add(struct conn_stats *t, const struct conn_stats *s);
void os_stats_print(const char *what, const struct conn_stats *s,
		    const struct io_stats *io);
void os_catch_signals(void);

/* objstore_server.c */
int os_run_server(long port, const char *dir, long buf_mb);

/* objstore_kernel.c */
int os_run_kserver(long port, const char *dir, uint32_t ip_be);
int os_run_kclient(struct cli *cl);

/* objstore_client.c */
void os_object_ok(struct cli *cl);
void os_report_mismatch(struct cli *cl, uint64_t id, const char *why);
uint64_t os_obj_id(const struct cli *cl, long j, uint64_t k);
uint64_t os_objs_of(const struct cli *cl, long j);
int os_run_client(struct cli *cl);
int os_write_hashes(const struct cli *cl, const char *path);

#endif /* EXAMPLES_OBJSTORE_H */
