/* SPDX-License-Identifier: MIT */
/*
 * transport_ref_ff.c - the second reference ring, FastForward-style
 * (bench/ref_ff.h): per-slot full/empty words, the consumer polls the slot
 * itself, no shared indices. `x ref` compares shmring with the better of
 * this ring and ref-ring in the same repetition (report.c).
 *
 * Its loops are written the way ref-ring's are (transports_shm.c), for the
 * same reason: the ring state is a struct local to the loop, which the
 * compiler keeps in registers, the stamp's id a constant 0, a mismatch
 * ending the consumer at once. Where a ring's loop state lives moved
 * ref-ring by ~22-25 % at 8 B (msgloop.h), so a reference written any
 * other way would be a weaker bar.
 */
#include <stdlib.h>
#include "msgloop.h"
#include "ref_ff.h"

static size_t ff_half(const struct bctx *c)
{
	return (ref_ff_bytes(c->slots, c->size) + 4095) & ~(size_t)4095;
}

static int ff_setup(struct bctx *c, int latency)
{
	return map_shared(c, ff_half(c) * (latency ? 2 : 1));
}

static void ff_at(struct bctx *c, struct ref_ff *r, int chan)
{
	ref_ff_attach(r, (char *)c->mem + ff_half(c) * (size_t)chan, c->slots, c->size);
}

static int ff_producer(struct bctx *c)
{
	struct ref_ff r;
	ff_at(c, &r, 0);
	unsigned char *buf = malloc(c->size);
	if (!buf)
		return side_fail(c, "out of memory");
	for (size_t i = 0; i < c->size; i++)
		buf[i] = (unsigned char)i;
	uint64_t n = 0;
	side_ready(c);
	do {
		for (int i = 0; i < CHECK_EVERY; i++, n++) {
			stamp(buf, c->size, seq_word(0, n));
			ref_ff_send(&r, buf, (uint32_t)c->size);
		}
	} while (side_running(c));
	ref_ff_finish(&r);
	side_done(c);
	c->res->msgs = n;
	free(buf);
	return 0;
}

static int ff_consumer(struct bctx *c)
{
	struct ref_ff r;
	ff_at(c, &r, 0);
	unsigned char *buf = malloc(c->size);
	if (!buf)
		return side_fail(c, "out of memory");
	struct checker chk = {.strict = 1};
	char err[160];
	ssize_t len;
	side_ready(c);
	while ((len = ref_ff_recv(&r, buf)) >= 0)
		if (chk_msg(&chk, buf, (size_t)len, c->size, err, sizeof(err))) {
			side_done(c);
			return side_fail(c, "%s", err);
		}
	side_done(c);
	chk_report(c, &chk);
	free(buf);
	return 0;
}

static int ff_ping(struct bctx *c)
{
	struct ref_ff out, in;
	ff_at(c, &out, 0);
	ff_at(c, &in, 1);
	size_t size = c->size;
	unsigned char *buf = calloc(1, size), *rbuf = calloc(1, size);
	struct lat_rec l;
	if (!buf || !rbuf || lat_init(c, &l))
		return side_fail(c, "out of memory");
	int rc = 0;
	side_ready(c);
	for (uint64_t n = 0;; n++) {
		if (!lat_step(c, &l, n))
			break;
		uint64_t w = seq_word(0, n), t0 = now_ns();
		stamp(buf, size, w);
		ref_ff_send(&out, buf, (uint32_t)size);
		ssize_t len = ref_ff_recv(&in, rbuf);
		uint64_t t1 = now_ns();
		if ((size_t)len != size || msg_word(rbuf) != w || msg_tail(rbuf, size) != w) {
			rc = side_fail(c, "round trip %llu: bad echo", (unsigned long long)n);
			break;
		}
		lat_add(&l, t1 - t0);
	}
	ref_ff_finish(&out);
	side_done(c);
	lat_finish(c, &l);
	free(buf);
	free(rbuf);
	return rc;
}

static int ff_pong(struct bctx *c)
{
	struct ref_ff in, out;
	ff_at(c, &in, 0);
	ff_at(c, &out, 1);
	unsigned char *buf = calloc(1, c->size);
	if (!buf)
		return side_fail(c, "out of memory");
	side_ready(c);
	ssize_t len;
	while ((len = ref_ff_recv(&in, buf)) >= 0)
		ref_ff_send(&out, buf, (uint32_t)len);
	side_done(c);
	free(buf);
	return 0;
}

const struct transport t_ref_ff = {
	.name = "ref-ff",
	.what = "reference: ~80-line FastForward-style SPSC ring (bench/ref_ff.h), per-slot "
	        "full/empty words, no shared indices, busy-polling",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.setup = ff_setup, .teardown = unmap_shared,
	.producer = ff_producer, .consumer = ff_consumer, .ping = ff_ping, .pong = ff_pong,
};
