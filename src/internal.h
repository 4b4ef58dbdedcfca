/* SPDX-License-Identifier: MIT */
/* internal.h - declarations shared by the out-of-line parts of libshmring */
#ifndef SHMRING_INTERNAL_H
#define SHMRING_INTERNAL_H

#include <stdint.h>
#include <time.h>
#include "shmring.h"

/* clock.c-like helpers (wait.c) */
int64_t shmring__now_ns(void);

/* registry.c: identity (display only), kernel-owned liveness (OFD locks),
 * roles, end of stream, fork handling */
uint64_t shmring__self_owner(void);
int shmring__same_pidns(uint64_t owner);
int shmring__entry_held(struct shmring *r, int side, unsigned i);
int shmring__attach_roles(struct shmring *r, int roles);
void shmring__detach_roles(struct shmring *r);
/* every producer (side = SHMRING_PRODUCER) or consumer that attached is gone
 * (or, for producers, shut down): 1, else 0. Reaps dead entries at most
 * every SHMRING__LIVENESS_NS, or always when force is set. */
int shmring__peers_gone(struct shmring *r, int side, int force);
#define SHMRING__LIVENESS_NS 50000000   /* 50 ms between liveness scans */
void shmring__track(struct shmring *r);     /* on the process's handle list */
void shmring__untrack(struct shmring *r);

/* wait.c: spin, then futex sleep; membarrier registration */
int shmring__fence_free_init(void);
/* wait until ready(r) > 0 (returns that), an error, the deadline, or the end
 * of stream; dir says which futex word and which peers to watch */
int shmring__wait(struct shmring *r, int dir, int64_t timeout_ns,
                  int (*ready)(struct shmring *));
uint64_t shmring__cpu_mask(void);

/* validate.c: names, configs, and the shared header at open */
int shmring__check_name(const char *name);
int shmring__check_config(const struct shmring_config *cfg);
uint32_t shmring__stride(unsigned kind, uint32_t slot_size);
uint32_t shmring__payload_off(unsigned kind);
/* the identity of a ring, as read ONCE from an untrusted header and
 * validated; the handle is bound from this copy, never from a re-read */
struct shmring__ident {
	uint32_t kind;
	uint32_t slot_size;
	uint64_t slots;
	uint64_t total;
};
int shmring__check_header(const struct shmring__hdr *h, uint64_t obj_size,
                          struct shmring__ident *out);
/* test-only: called between reading the header and validating it (tests
 * flip identity fields there); NULL in production */
extern void (*shmring__test_hook_open)(void);

/* stats.c: a producer's end of stream, made visible in its registry entry */
void shmring__mark_shutdown(struct shmring *r);

/* mpmc.c: the MPMC engine (every MPMC call lands here) */
void shmring__mpmc_init_slots(struct shmring *r);
void shmring__mpmc_recover(struct shmring *r);
void shmring__mpmc_skip_dead(struct shmring *r, int force);
int shmring__mpmc_send(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns);
ssize_t shmring__mpmc_recv(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns);
int shmring__mpmc_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n,
                             int64_t timeout_ns);
int shmring__mpmc_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
                             int64_t timeout_ns);
int shmring__mpmc_reserve(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns);
int shmring__mpmc_commit(struct shmring *r, struct shmring_slot *s, size_t len);
int shmring__mpmc_acquire(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns);
int shmring__mpmc_release(struct shmring *r, struct shmring_slot *s);
/* test-only: called in a dead-claim check between reading a slot's stamp
 * and asking the kernel whether its attachment lives; NULL in production */
extern void (*shmring__test_hook_stamp)(void);

/* the fast-path permission bits of the handle, recomputed on state changes */
static inline void shmring__refresh_fast(struct shmring *r)
{
	r->p.fast = r->kind == SHMRING_SPSC && (r->roles & SHMRING_PRODUCER) &&
	            !r->p.reserved && !r->p.shut;
	r->c.fast = r->kind == SHMRING_SPSC && (r->roles & SHMRING_CONSUMER) &&
	            !r->c.acquired;
}

#endif
