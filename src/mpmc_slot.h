/* SPDX-License-Identifier: MIT */
/*
 * mpmc_slot.h - the MPMC slot accessors that the engine (mpmc.c) and the
 * dead-claimant recovery (mpmc_dead.c) share: inline, so that neither file
 * calls the other.
 */
#ifndef SHMRING_MPMC_SLOT_H
#define SHMRING_MPMC_SLOT_H

#include "private.h"

static inline struct shmring__slot_mpmc *mslot(struct shmring *r, uint64_t pos)
{
	return (struct shmring__slot_mpmc *)shmring__slot(r, pos);
}

/* free the slot sl of position pos for the producer a lap later */
static inline void release_at(struct shmring *r, struct shmring__slot_mpmc *sl, uint64_t pos)
{
	/* Q4: release: our payload reads before the slot is free; pairs with Q1 */
	shmring__store_release64(&sl->seq, pos + priv(r)->nslots);
	r->c.pos = pos + 1;   /* this consumer's progress (stream.c's end reason) */
}

static inline void release_slot(struct shmring *r, uint64_t pos)
{
	release_at(r, mslot(r, pos), pos);
}

#endif
