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
/* a ring of the case's size and capacity, of kind SHMRING_*, created and
 * closed (teardown unlinks it): 0 or -1 */
int shm_create(struct bctx *c, const char *name, unsigned kind);
/* attach by name (or c->fd[0]) as role, with the case's wait policy: 0, or
 * -1 (side_fail called) */
struct shmring;
int shm_attach(struct bctx *c, const char *name, int role, struct shmring **r);
void shm_teardown(struct bctx *c);           /* unlinks c->name and c->name2 */

#endif /* BENCH_TRANSPORTS_SHM_H */
