/* SPDX-License-Identifier: MIT */
/*
 * transport_ref_vyukov.c - the MPMC reference (bench/ref_vyukov.h) in the
 * five MPMC shapes, two ways of waiting: ref-vyukov-yield calls
 * sched_yield() whenever it finds the queue full (producer) or empty
 * (consumer) and retries; ref-vyukov-spin executes one pause instruction
 * and retries. `x ref` of an shm-mpmc row is its ratio to the better of the
 * two of the same shape in the same repetition (report.c).
 *
 * The mapping: one 128-byte line with the end count, then the queue of
 * MPMC_SLOTS cells, numbered by the parent before fork (ref_vy_init).
 *
 * End of stream, in band: each producer sends one SEQ_END message after its
 * last one. A consumer that receives it adds one to the end count and goes
 * on; a consumer that finds the queue empty and the count at nprod is done.
 * That is safe because positions are claimed in order: once every marker
 * has been claimed, so has every message before it (each producer's
 * messages precede its marker), and whoever claimed one will check it.
 *
 * The loops are written like ref_loops.h's (the queue state a loop local,
 * kept in registers); what they add is the producer id in the stamp, the
 * end count and the count of yields, kept in a register and stored once.
 * Order within a consumer: a consumer's claims move forward, and so do a
 * producer's, so the messages one consumer gets from one producer arrive in
 * that producer's order, and chk_msg() checks it (exactly next at 1x1).
 */
#include <sched.h>
#include <stdlib.h>
#include "msgloop.h"
#include "transports.h"
#include "transports_shm.h"
#include "ref_vyukov.h"

#define VY_ENDS_LINE 128   /* the end count's line before the queue */

static int vy_setup(struct bctx *c, int latency)
{
	(void)latency;   /* streaming only (TK_MPMC) */
	if (map_shared(c, VY_ENDS_LINE + ref_vy_bytes(c->slots, c->size)))
		return -1;
	ref_vy_init((char *)c->mem + VY_ENDS_LINE, c->slots, c->size);
	return 0;
}

static void vy_at(struct bctx *c, struct ref_vy *q)
{
	ref_vy_attach(q, (char *)c->mem + VY_ENDS_LINE, c->slots, c->size);
}

static inline __attribute__((always_inline)) void vy_wait(int yield, uint64_t *yields)
{
	if (yield) {
		sched_yield();
		(*yields)++;
	} else {
		ref_vy_pause();
	}
}

/* the producer; yield a constant in each of the two callers */
static inline __attribute__((always_inline)) int vy_producer(struct bctx *c, int yield)
{
	struct ref_vy q;
	vy_at(c, &q);
	size_t size = c->size;
	unsigned char *buf = malloc(size);
	if (!buf)
		return side_fail(c, "out of memory");
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)i;
	uint64_t n = 0, yields = 0;
	int id = c->my_id;
	side_ready(c);
	do {
		for (int i = 0; i < CHECK_EVERY; i++, n++) {
			stamp(buf, size, seq_word(id, n));
			while (!ref_vy_try_send(&q, buf, (uint32_t)size))
				vy_wait(yield, &yields);
		}
	} while (side_running(c));
	stamp(buf, size, SEQ_END);
	while (!ref_vy_try_send(&q, buf, (uint32_t)size))
		vy_wait(yield, &yields);
	side_done(c);
	c->res->msgs = n;
	c->res->has_yield = yield;
	c->res->yields = yields;
	free(buf);
	return 0;
}

static inline __attribute__((always_inline)) int vy_consumer(struct bctx *c, int yield)
{
	struct ref_vy q;
	vy_at(c, &q);
	uint64_t *ends = (uint64_t *)c->mem;
	uint64_t nprod = (uint64_t)c->nprod, yields = 0;
	unsigned char *buf = malloc(c->size);
	if (!buf)
		return side_fail(c, "out of memory");
	struct checker chk = {.strict = c->nprod == 1 && c->ncons == 1};
	char err[160];
	side_ready(c);
	for (;;) {
		ssize_t len = ref_vy_try_recv(&q, buf);
		if (len >= 0) {
			if (msg_word(buf) == SEQ_END) {
				/* E1 release: pairs with E2; counted after the claim */
				atomic_fetch_add_explicit(VY_A(ends), 1, memory_order_release);
				continue;
			}
			if (chk_msg(&chk, buf, (size_t)len, c->size, err, sizeof(err))) {
				side_done(c);
				return side_fail(c, "%s", err);
			}
			continue;
		}
		/* E2 acquire: pairs with E1; every marker claimed, so every message */
		if (VY_LOAD(ends, acquire) == nprod)
			break;
		vy_wait(yield, &yields);
	}
	side_done(c);
	chk_report(c, &chk);
	c->res->has_yield = yield;
	c->res->yields = yields;
	free(buf);
	return 0;
}

static int vy_yield_producer(struct bctx *c) { return vy_producer(c, 1); }
static int vy_yield_consumer(struct bctx *c) { return vy_consumer(c, 1); }
static int vy_spin_producer(struct bctx *c) { return vy_producer(c, 0); }
static int vy_spin_consumer(struct bctx *c) { return vy_consumer(c, 0); }

#define VY_T(ident, nm, how, np, nc)                                                  \
	const struct transport ident = {                                              \
		.name = "ref-vyukov-" #how "-" nm, .kinds = TK_MPMC,                      \
		.what = "reference: ~80-line Vyukov bounded MPMC queue (bench/ref_vyukov.h), " \
		        nm " processes, on full/empty: " #how,                                         \
		.nprod = np, .ncons = nc, .slots = MPMC_SLOTS, .unpinned = (np) * (nc) > 1, \
		.setup = vy_setup, .teardown = unmap_shared,                              \
		.family_what = "reference: ~80-line Vyukov bounded MPMC queue "            \
		               "(bench/ref_vyukov.h), NxM processes, on full/empty: " #how, \
		.producer = vy_##how##_producer, .consumer = vy_##how##_consumer,         \
	}

VY_T(t_vy_yield11, "1x1", yield, 1, 1);
VY_T(t_vy_yield14, "1x4", yield, 1, 4);
VY_T(t_vy_yield41, "4x1", yield, 4, 1);
VY_T(t_vy_yield22, "2x2", yield, 2, 2);
VY_T(t_vy_yield44, "4x4", yield, 4, 4);
VY_T(t_vy_spin11, "1x1", spin, 1, 1);
VY_T(t_vy_spin14, "1x4", spin, 1, 4);
VY_T(t_vy_spin41, "4x1", spin, 4, 1);
VY_T(t_vy_spin22, "2x2", spin, 2, 2);
VY_T(t_vy_spin44, "4x4", spin, 4, 4);
