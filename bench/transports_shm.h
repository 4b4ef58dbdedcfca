/* SPDX-License-Identifier: MIT */
/*
 * transports_shm.h - what transports_shm.c lends the other shared-memory
 * transport files (transport_huge.c, transport_ref_ff.c,
 * transport_ref_vyukov.c, ref_loops.h): the case's shared mapping and
 * shm-spsc's streaming loops.
 */
#ifndef BENCH_TRANSPORTS_SHM_H
#define BENCH_TRANSPORTS_SHM_H

#include "transport.h"

int map_shared(struct bctx *c, size_t len);  /* zeroed, at c->mem; 0 or -1 */
void unmap_shared(struct bctx *c);
int shm_stream_producer(struct bctx *c);      /* shm-spsc's streaming loops */
int shm_stream_consumer(struct bctx *c);

#endif /* BENCH_TRANSPORTS_SHM_H */
