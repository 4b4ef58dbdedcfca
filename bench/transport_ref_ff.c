/* SPDX-License-Identifier: MIT */
/*
 * transport_ref_ff.c - the second reference ring, FastForward-style
 * (bench/ref_ff.h): per-slot full/empty words, the consumer polls the slot
 * itself, no shared indices. `x ref` compares shmring with the better of
 * this ring and ref-ring in the same repetition (report.c).
 *
 * Its loops are ref-ring's (ref_loops.h), for the same reason: the ring
 * state is a struct local to the loop, which the compiler keeps in
 * registers. Where a ring's loop state lives moved ref-ring by ~22-25 % at
 * 8 B (msgloop.h), so a reference written any other way would be a weaker
 * bar.
 */
#include <stdlib.h>
#include "ref_ff.h"
#include "ref_loops.h"
#include "transports.h"

REF_LOOPS(ff, struct ref_ff, ref_ff_bytes, ref_ff_attach, ref_ff_send, ref_ff_recv, ref_ff_finish)

const struct transport t_ref_ff = {
	.name = "ref-ff",
	.what = "reference: ~80-line FastForward-style SPSC ring (bench/ref_ff.h), per-slot "
	        "full/empty words, no shared indices, busy-polling",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.setup = ff_setup, .teardown = unmap_shared,
	.producer = ff_producer, .consumer = ff_consumer, .ping = ff_ping, .pong = ff_pong,
};
