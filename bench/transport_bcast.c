/* SPDX-License-Identifier: MIT */
/*
 * transport_bcast.c - one producer, every message to each of several
 * consumers (transport.fanout), two ways:
 *
 *   shm-bcast-1x1, shm-bcast-1x3   a SHMRING_BROADCAST ring: each consumer
 *                  attachment is a subscriber; all of them attach before
 *                  the start signal (side_ready), so each sees every
 *                  message; the producer shuts the ring down at the end and
 *                  each subscriber receives until -EPIPE. The loops are
 *                  shm-spsc's own (transports_shm.c), so 1x1 against
 *                  shm-spsc compares the rings, not the loops.
 *   spsc-fanout-3  the by-hand alternative: one producer writes each
 *                  message into three SPSC rings with shmring_send(), one
 *                  consumer per ring (shm-spsc's consumer loop on its ring).
 *
 * The harness checks each consumer's count and sum on its own, each
 * consumer checks its stream in order, and msgs/s counts deliveries. 1x1
 * runs pinned like shm-spsc; 1x3 and fanout-3 (four processes on the
 * machine's CPUs) unpinned. In the broadcast tables (TK_BCAST) x ref is
 * 1x1 over shm-spsc and 1x3 over spsc-fanout-3, same repetition.
 *
 * Built with -DBENCH_FAULTS (make test-bench's second binary), the
 * environment variable BENCH_FAULT makes spsc-fanout-3's producer break
 * the fan-out after its loop, to prove that the checks fail: "drop-last"
 * sends one more message to rings 0 and 2 but not ring 1 (in order
 * everywhere: only the harness's per-consumer count sees it), "swap" sends
 * two more to ring 1 in swapped order and in order to the others (count
 * and sum right: only the in-order check sees it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <shmring.h>
#include "msgloop.h"
#include "transports.h"
#include "transports_shm.h"

/* ------------------------------------------------------------------ */
/* spsc-fanout-3: three SPSC rings, one producer                       */

#define FANOUT 3

/* ring k of the fan-out: the case's name and "-k" */
static void ring_name(const struct bctx *c, int k, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%d", c->name, k);
}

static void fanout_teardown(struct bctx *c)
{
	char nm[128];
	for (int k = 0; k < FANOUT; k++) {
		ring_name(c, k, nm, sizeof(nm));
		shmring_unlink(nm);     /* -ENOENT for one setup did not create */
	}
}

static int fanout_setup(struct bctx *c, int latency)
{
	char nm[128];
	(void)latency;              /* streaming only */
	for (int k = 0; k < FANOUT; k++) {
		ring_name(c, k, nm, sizeof(nm));
		if (shm_create(c, nm, SHMRING_SPSC)) {
			fanout_teardown(c);
			return -1;
		}
	}
	return 0;
}

#ifdef BENCH_FAULTS
/* the test build's faults, after the loop (see the top of the file): 0 ok */
static int fanout_fault(struct bctx *c, struct shmring **r, unsigned char *buf, uint64_t *n)
{
	const char *f = getenv("BENCH_FAULT");
	size_t size = c->size;
	int rc = 0;
	if (!f)
		return 0;
	if (strcmp(f, "drop-last") == 0) {
		stamp(buf, size, seq_word(c->my_id, *n));
		for (int k = 0; k < FANOUT && !rc; k++)
			if (k != 1)
				rc = shmring_send(r[k], buf, size, -1);
		++*n;
	} else if (strcmp(f, "swap") == 0) {
		for (int k = 0; k < FANOUT && !rc; k++)
			for (uint64_t i = 0; i < 2 && !rc; i++) {
				/* ring 1: n + 1, then n; the others n, then n + 1 */
				stamp(buf, size, seq_word(c->my_id, *n + (k == 1 ? 1 - i : i)));
				rc = shmring_send(r[k], buf, size, -1);
			}
		*n += 2;
	}
	return rc;
}
#endif

static int fanout_producer(struct bctx *c)
{
	struct shmring *r[FANOUT] = {NULL};
	char nm[128];
	for (int k = 0; k < FANOUT; k++) {
		ring_name(c, k, nm, sizeof(nm));
		if (shm_attach(c, nm, SHMRING_PRODUCER, &r[k])) {
			while (k-- > 0)
				shmring_close(r[k]);
			return -1;
		}
	}
	size_t size = c->size;
	unsigned char *buf = calloc(1, size);
	if (!buf)
		return side_fail(c, "out of memory");
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)i;
	uint64_t n = 0;
	int rc = 0;

	side_ready(c);
	/* shm-spsc's copy loop, each message sent to every ring in turn */
	do {
		for (int i = 0; i < CHECK_EVERY; i++, n++) {
			stamp(buf, size, seq_word(c->my_id, n));
			for (int k = 0; k < FANOUT; k++) {
				rc = shmring_send(r[k], buf, size, -1);
				if (rc)
					goto out;
			}
		}
	} while (side_running(c));
#ifdef BENCH_FAULTS
	rc = fanout_fault(c, r, buf, &n);
#endif
out:
	c->res->msgs = n;
	if (rc)
		side_fail(c, "send after %llu messages: %s", (unsigned long long)n,
		          shmring_strerror(rc));
	for (int k = 0; k < FANOUT; k++)
		shmring_shutdown(r[k]);
	side_done(c);
	for (int k = 0; k < FANOUT; k++)
		shmring_close(r[k]);
	free(buf);
	return rc ? -1 : 0;
}

/* a consumer of a fan-out runs shm-spsc's consumer loop, which checks in
 * order only where it is the one consumer (nprod == ncons == 1): so it is,
 * of its stream. This copy of the case is the process's own, and the loop
 * stays the instructions shm-spsc runs (a test of c->fanout in it moved
 * its code: msgloop.h on why that matters) */
static int fanout_subscriber(struct bctx *c)
{
	c->ncons = 1;
	return shm_stream_consumer(c);
}

/* consumer k: shm-spsc's consumer loop on ring k */
static int fanout_consumer(struct bctx *c)
{
	char nm[128];
	ring_name(c, c->my_id, nm, sizeof(nm));
	if (strlen(nm) >= sizeof(c->name))
		return side_fail(c, "ring name %s too long", nm);
	memcpy(c->name, nm, strlen(nm) + 1);
	return fanout_subscriber(c);
}

const struct transport t_spsc_fanout3 = {
	.name = "spsc-fanout-3",
	.what = "by hand: one producer sends each message into 3 shmring SPSC rings, one"
	        " consumer per ring; unpinned",
	.kinds = TK_BCAST, .nprod = 1, .ncons = FANOUT, .fanout = 1, .unpinned = 1, .ring_each = 1,
	.setup = fanout_setup, .teardown = fanout_teardown,
	.producer = fanout_producer, .consumer = fanout_consumer, .spin_ns = INT64_MIN,
};

/* ------------------------------------------------------------------ */
/* shm-bcast-1x1, shm-bcast-1x3: a SHMRING_BROADCAST ring              */

static int bcast_setup(struct bctx *c, int latency)
{
	(void)latency;              /* streaming only */
	return shm_create(c, c->name, SHMRING_BROADCAST);
}

/* shm-spsc's loops: the producer attaches as SHMRING_PRODUCER, each
 * subscriber as SHMRING_CONSUMER, both before side_ready() */
#define BCAST_T(ident, nm, desc, nc, ref_)                                             \
	const struct transport ident = {                                               \
		.name = nm, .what = desc, .kinds = TK_BCAST, .nprod = 1, .ncons = nc,      \
		.fanout = 1, .ref = ref_, .unpinned = (nc) > 1,                            \
		.setup = bcast_setup, .teardown = shm_teardown,                            \
		.producer = shm_stream_producer, .consumer = fanout_subscriber,            \
		.spin_ns = INT64_MIN,                                                      \
		.family_what = "shmring SHMRING_BROADCAST ring, 1 producer x N subscriber"  \
		               " processes (each gets every message)",                     \
	}

BCAST_T(t_shm_bcast11, "shm-bcast-1x1", "shmring broadcast ring, 1 subscriber, pinned", 1,
        "shm-spsc");
BCAST_T(t_shm_bcast13, "shm-bcast-1x3", "shmring broadcast ring, 3 subscribers, unpinned", 3,
        "spsc-fanout-3");
