/* test_fp_ctrl.c - the rings between the control thread and a fast-path
 * core, with the core running on its own thread as in the daemon
 *
 * The control thread posts commands (fp_core_post_cmd) and frames
 * (fp_core_post_frame) and takes notes (fp_core_take_notes) while the core
 * thread consumes and produces on the same rings. Every command and frame
 * must arrive exactly once and in order: the daemon's active opens are
 * commands, their local ports come back as notes, and a lost CONNECT left
 * an app waiting for CONN_OPEN forever.
 *
 * A listener command for a context the core does not know is the probe:
 * the core answers every FP_CMD_LISTEN with one FP_NOTE_LISTEN_DONE
 * carrying the command's cookie, whatever else it does with it.
 *
 * Needs: two threads (better two CPUs); no root, no netns, no hardware.
 * ASAN_OK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/fp_harness.h"

#define NCMDS 400000u	/* commands per run */
#define NFRAMES 200000u /* frames per run, each with its number ... */
#define FRAME_LEN 64
#define FRAME_SEQ_OFF 20 /* ... here, past the Ethernet header */
/* a wedged ring must not hang the suite */
#define TEST_LIMIT_NS 10000000000ull
/* no context of this app on the core: a listen for it only answers */
#define NOTE_APP_ID 0xdeadu
/* polls that send the frames the stopped core thread left */
#define FRAME_DRAIN_POLLS 128

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int setup(void **state)
{
	struct fph *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	assert_int_equal(fph_init(h, 4096), 0);
	assert_int_equal(fp_core_start(h->core, -1), 0);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct fph *h = *state;

	fph_fini(h); /* stops the core thread first */
	free(h);
	return 0;
}

/* Take the notes waiting; each must be the next LISTEN_DONE in order. */
static void take_notes(struct fph *h, uint64_t *next, uint64_t *bad)
{
	struct fp_note n[64];
	unsigned got;

	while ((got = fp_core_take_notes(h->core, n, 64)) > 0)
		for (unsigned i = 0; i < got; i++) {
			if (n[i].type != FP_NOTE_LISTEN_DONE ||
			    n[i].user != *next)
				(*bad)++;
			*next = n[i].user + 1;
		}
}

static void test_core_thread_cmds_each_noted_once_in_order(void **state)
{
	struct fph *h = *state;
	uint64_t next = 0, bad = 0, until = now_ns() + TEST_LIMIT_NS;

	for (uint32_t i = 0; i < NCMDS; i++) {
		struct fp_cmd c = { .type = FP_CMD_LISTEN,
				    .app_id = NOTE_APP_ID,
				    .port = 7,
				    .user = i };

		/* as svc_post_cmd: wait while the ring is full, taking notes
		 * meanwhile so the core can always go on */
		while (!fp_core_post_cmd(h->core, &c)) {
			take_notes(h, &next, &bad);
			assert_true(now_ns() < until);
			sched_yield();
		}
		take_notes(h, &next, &bad);
	}
	while (next < NCMDS && bad == 0 && now_ns() < until) {
		take_notes(h, &next, &bad);
		sched_yield();
	}
	/* a lost command leaves a gap, a repeated one goes backwards */
	assert_int_equal(bad, 0);
	assert_int_equal(next, NCMDS);
}

static void test_core_thread_frames_each_sent_once_in_order(void **state)
{
	struct fph *h = *state;
	uint8_t f[FRAME_LEN];
	uint64_t until = now_ns() + TEST_LIMIT_NS;
	unsigned keep;

	memset(f, 0, sizeof(f));
	for (uint32_t i = 0; i < NFRAMES; i++) {
		memcpy(f + FRAME_SEQ_OFF, &i, sizeof(i));
		while (!fp_core_post_frame(h->core, f, sizeof(f))) {
			assert_true(now_ns() < until);
			sched_yield();
		}
	}
	/* what the core thread has not sent yet, it sends here once it is
	 * stopped (one thread again: the TX log can be read) */
	fp_core_stop(h->core);
	for (unsigned i = 0; i < FRAME_DRAIN_POLLS && h->ntx < NFRAMES; i++)
		fph_poll(h, 0);
	assert_int_equal(h->ntx, NFRAMES);
	keep = NFRAMES < FPH_TXLOG ? NFRAMES : FPH_TXLOG;
	for (unsigned back = 0; back < keep; back++) {
		const struct fph_tx *t = fph_tx_at(h, back);
		uint32_t seq;

		assert_non_null(t);
		assert_int_equal(t->len, FRAME_LEN);
		memcpy(&seq, t->data + FRAME_SEQ_OFF, sizeof(seq));
		assert_int_equal(seq, NFRAMES - 1 - back);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_core_thread_cmds_each_noted_once_in_order, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_core_thread_frames_each_sent_once_in_order, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
