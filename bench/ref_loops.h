/* SPDX-License-Identifier: MIT */
/*
 * ref_loops.h - the loops of the two reference rings (ref-ring in
 * transports_shm.c, ref-ff in transport_ref_ff.c), written once and
 * expanded for each ring's type and calls, so that both rings run the same
 * loops to the instruction and neither gets a second copy to drift.
 *
 * They are the loops anyone would write around such a ring: the ring state
 * (a struct of cached indices or a slot cursor) is a local of the loop,
 * which the compiler keeps in registers; the stamp's id a constant 0; a
 * mismatch ends the consumer at once (the harness then stops the
 * producer). A variant that kept the id in a stack slot and drained after
 * a mismatch measured ~22 % slower at 8 B (msgloop.h says why), which is
 * why these are not the shared per-message loops of msgloop.h. Stamping and
 * checking are the shared stamp() and chk_msg().
 *
 * REF_LOOPS(p, T, bytes, attach, send, recv, finish) defines
 * p_setup, p_producer, p_consumer, p_ping and p_pong for a ring of type T
 * (bytes(nslots, cap), attach(T *, mem, nslots, cap), send(T *, msg, len),
 * recv(T *, buf) -> length or -1 at the end, finish(T *)).
 */
#ifndef REF_LOOPS_H
#define REF_LOOPS_H

#include <stdlib.h>
#include "msgloop.h"
#include "transports_shm.h"

#define REF_LOOPS(p, T, bytes, attach, send, recv, finish)                              \
static size_t p##_half(const struct bctx *c)                                           \
{                                                                                      \
	return (bytes(c->slots, c->size) + 4095) & ~(size_t)4095;                      \
}                                                                                      \
                                                                                       \
static int p##_setup(struct bctx *c, int latency)                                      \
{                                                                                      \
	return map_shared(c, p##_half(c) * (latency ? 2 : 1));                         \
}                                                                                      \
                                                                                       \
static void p##_at(struct bctx *c, T *r, int chan)                                     \
{                                                                                      \
	attach(r, (char *)c->mem + p##_half(c) * (size_t)chan, c->slots, c->size);     \
}                                                                                      \
                                                                                       \
static int p##_producer(struct bctx *c)                                                \
{                                                                                      \
	T r;                                                                           \
	p##_at(c, &r, 0);                                                              \
	unsigned char *buf = malloc(c->size);                                          \
	if (!buf)                                                                      \
		return side_fail(c, "out of memory");                                  \
	for (size_t i = 0; i < c->size; i++)                                           \
		buf[i] = (unsigned char)i;                                             \
	uint64_t n = 0;                                                                \
	side_ready(c);                                                                 \
	do {                                                                           \
		for (int i = 0; i < CHECK_EVERY; i++, n++) {                           \
			stamp(buf, c->size, seq_word(0, n));                           \
			send(&r, buf, (uint32_t)c->size);                              \
		}                                                                      \
	} while (side_running(c));                                                     \
	finish(&r);                                                                    \
	side_done(c);                                                                  \
	c->res->msgs = n;                                                              \
	free(buf);                                                                     \
	return 0;                                                                      \
}                                                                                      \
                                                                                       \
static int p##_consumer(struct bctx *c)                                                \
{                                                                                      \
	T r;                                                                           \
	p##_at(c, &r, 0);                                                              \
	unsigned char *buf = malloc(c->size);                                          \
	if (!buf)                                                                      \
		return side_fail(c, "out of memory");                                  \
	struct checker chk = {.strict = 1};                                            \
	char err[160];                                                                 \
	ssize_t len;                                                                   \
	side_ready(c);                                                                 \
	while ((len = recv(&r, buf)) >= 0)                                             \
		if (chk_msg(&chk, buf, (size_t)len, c->size, err, sizeof(err))) {      \
			side_done(c);                                                  \
			return side_fail(c, "%s", err);                                \
		}                                                                      \
	side_done(c);                                                                  \
	chk_report(c, &chk);                                                           \
	free(buf);                                                                     \
	return 0;                                                                      \
}                                                                                      \
                                                                                       \
static int p##_ping(struct bctx *c)                                                    \
{                                                                                      \
	T out, in;                                                                     \
	p##_at(c, &out, 0);                                                            \
	p##_at(c, &in, 1);                                                             \
	size_t size = c->size;                                                         \
	unsigned char *buf = calloc(1, size), *rbuf = calloc(1, size);                 \
	struct lat_rec l;                                                              \
	if (!buf || !rbuf || lat_init(c, &l))                                          \
		return side_fail(c, "out of memory");                                  \
	int rc = 0;                                                                    \
	side_ready(c);                                                                 \
	for (uint64_t n = 0;; n++) {                                                   \
		if (!lat_step(c, &l, n))                                               \
			break;                                                         \
		uint64_t w = seq_word(0, n), t0 = now_ns();                            \
		stamp(buf, size, w);                                                   \
		send(&out, buf, (uint32_t)size);                                       \
		ssize_t len = recv(&in, rbuf);                                         \
		uint64_t t1 = now_ns();                                                \
		if ((size_t)len != size || msg_word(rbuf) != w ||                      \
		    msg_tail(rbuf, size) != w) {                                       \
			rc = side_fail(c, "round trip %llu: bad echo",                 \
			               (unsigned long long)n);                         \
			break;                                                         \
		}                                                                      \
		lat_add(&l, t1 - t0);                                                  \
	}                                                                              \
	finish(&out);                                                                  \
	side_done(c);                                                                  \
	lat_finish(c, &l);                                                             \
	free(buf);                                                                     \
	free(rbuf);                                                                    \
	return rc;                                                                     \
}                                                                                      \
                                                                                       \
static int p##_pong(struct bctx *c)                                                    \
{                                                                                      \
	T in, out;                                                                     \
	p##_at(c, &in, 0);                                                             \
	p##_at(c, &out, 1);                                                            \
	unsigned char *buf = calloc(1, c->size);                                       \
	if (!buf)                                                                      \
		return side_fail(c, "out of memory");                                  \
	side_ready(c);                                                                 \
	ssize_t len;                                                                   \
	while ((len = recv(&in, buf)) >= 0)                                            \
		send(&out, buf, (uint32_t)len);                                        \
	side_done(c);                                                                  \
	free(buf);                                                                     \
	return 0;                                                                      \
}

#endif /* REF_LOOPS_H */
