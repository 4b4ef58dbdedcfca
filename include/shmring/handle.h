/* SPDX-License-Identifier: MIT */
/*
 * shmring/handle.h - the process-local handle and the inline SPSC engine.
 * Do not include directly; include <shmring.h>.
 *
 * The handle is private memory: cached peer indices, local copies of the
 * sizes (validated once at open, never re-read from shared memory), roles.
 * The producer's and the consumer's hot fields sit on separate 128-byte
 * lines, so two threads of one process (one per side) do not share a line.
 *
 * Concurrency (what may run at the same time on one handle): nothing. A
 * handle belongs to one thread at a time; use one handle per thread. Any
 * number of handles, in any processes, may use one ring at once within the
 * role rules (SPSC: one producer and one consumer).
 */
#ifndef SHMRING_HANDLE_H
#define SHMRING_HANDLE_H

#include <stdint.h>
#include <string.h>
#include <limits.h>
#include <sys/types.h>
#include "layout.h"
#include "atomic.h"

#ifdef __cplusplus
#define SHMRING__ALIGNED(n) alignas(n)
#else
#define SHMRING__ALIGNED(n) _Alignas(n)
#endif

/* NAME_MAX of POSIX shm names; spelled out so that the header also builds
 * in strict ISO C modes, where <limits.h> does not define NAME_MAX */
#define SHMRING__NAME_MAX 255

#if defined(__GNUC__)
#define SHMRING__LIKELY(x)   __builtin_expect(!!(x), 1)
#define SHMRING__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SHMRING__LIKELY(x)   (x)
#define SHMRING__UNLIKELY(x) (x)
#endif

struct shmring {
	/* read-only after open */
	struct shmring__hdr *hdr;
	unsigned char *slots0;      /* address of slot 0 */
	uint64_t mask;              /* slots - 1 */
	uint64_t nslots;
	uint32_t slot_size;
	uint32_t stride;
	uint32_t payload_off;       /* 8 (SPSC) or 16 (MPMC) */
	unsigned kind;
	int roles;
	int fence_free;             /* 1: this process is registered for the
	                             * waiter's membarrier; notifiers may use a
	                             * compiler barrier instead of a fence */
	int readonly;               /* mapped PROT_READ (observer without write access) */
	int64_t spin_ns;            /* wait policy set by shmring_set_spin() */
	int spin_auto;              /* no policy set: decide from CPU placement */
	int64_t spin_auto_ns;       /* the decision, refreshed every 50 ms */
	int64_t spin_checked_ns;    /* when it was last refreshed */
	uint64_t cpus;              /* our affinity as last published (CPUs 0-63) */
	size_t map_size;
	int prod_peer;              /* registry index held, -1 if none */
	int cons_peer;
	uint64_t owner;             /* this process, for display: (pidns << 32) | pid */
	int lock_fd;                /* our own open file description of the ring,
	                             * never mapped: holds the OFD locks of our
	                             * registry entries (-1: none, e.g. observers
	                             * and a forked child's copy) */
	int forked;                 /* this copy of the handle was inherited
	                             * across fork(): it holds nothing */
	uint64_t data_bit;          /* our announce bit in data_waiters (consumer
	                             * entry), 0 without the consumer role */
	uint64_t space_bit;         /* ... in space_waiters (producer entry) */
	struct shmring *next_live;  /* the process's list of open handles (for */
	struct shmring *prev_live;  /* the fork handler), see registry.c */
	int64_t liveness_ns;        /* last full liveness check of the peers */
	int64_t recover_ns;         /* last MPMC orphan check (producers) */
	uint32_t stamp;             /* MPMC consumer claim stamp, see layout.h */
	uint32_t pstamp;            /* MPMC producer claim stamp */
	int64_t skip_ns;            /* last MPMC dead-claim check (consumers) */
	int fd;                     /* kept for shmring_info(); -1 once closed */
	char name[SHMRING__NAME_MAX + 2];

	/* producer side, written only by the producer's thread */
	SHMRING__ALIGNED(128) struct {
		uint64_t pos;       /* next position to write (SPSC: == prod_idx) */
		uint64_t limit;     /* cached cons_idx + slots: free up to here */
		uint64_t bytes;     /* payload bytes not yet added to sent_bytes */
		int fast;           /* SPSC producer, nothing reserved, not shut down */
		int reserved;       /* a zero-copy reservation is outstanding */
		int shut;           /* shmring_shutdown() was called */
		uint32_t intent_n;  /* MPMC: claim_n as we last wrote it */
	} p;

	/* consumer side, written only by the consumer's thread */
	SHMRING__ALIGNED(128) struct {
		uint64_t pos;       /* next position to read (SPSC: == cons_idx) */
		uint64_t avail;     /* cached prod_idx: published up to here */
		uint64_t bytes;     /* payload bytes not yet added to recv_bytes */
		int fast;           /* SPSC consumer, nothing acquired */
		int acquired;       /* a zero-copy acquisition is outstanding */
		uint32_t intent_n;  /* MPMC: claim_n as we last wrote it */
	} c;
};

/* out-of-line parts (src/) */
#ifdef __cplusplus
extern "C" {
#endif
int shmring__send_slow(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns);
ssize_t shmring__recv_slow(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns);
void shmring__wake(struct shmring *r, int dir, int n);
int shmring__spsc_space(struct shmring *r);
int shmring__spsc_data(struct shmring *r);
void shmring__flush_bytes(struct shmring *r);
#ifdef __cplusplus
}
#endif

/* byte counters are added to shared memory in batches of this size (and
 * whenever the handle waits, shuts down or closes) */
#define SHMRING__BYTES_BATCH 65536

#define SHMRING__DIR_DATA  0   /* consumers wait for data, producers wake them */
#define SHMRING__DIR_SPACE 1   /* producers wait for space, consumers wake them */

/*
 * memcpy for message payloads. Up to 64 bytes it copies with a few
 * fixed-size, possibly overlapping loads and stores inside [0, n) of both
 * buffers: no library call, no loop; that is most of a small message's cost.
 */
static inline void shmring__copy(void *dst, const void *src, size_t n)
{
	unsigned char *d = (unsigned char *)dst;
	const unsigned char *s = (const unsigned char *)src;

	if (n > 64) {
		memcpy(d, s, n);
	} else if (n > 32) {
		unsigned char a[32], b[32];
		memcpy(a, s, 32);
		memcpy(b, s + n - 32, 32);
		memcpy(d, a, 32);
		memcpy(d + n - 32, b, 32);
	} else if (n > 16) {
		unsigned char a[16], b[16];
		memcpy(a, s, 16);
		memcpy(b, s + n - 16, 16);
		memcpy(d, a, 16);
		memcpy(d + n - 16, b, 16);
	} else if (n >= 8) {
		uint64_t a, b;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

static inline unsigned char *shmring__slot(const struct shmring *r, uint64_t pos)
{
	return r->slots0 + (size_t)(pos & r->mask) * r->stride;
}

/*
 * The notifier's half of the sleep/wake handshake, run right after an index
 * (or slot sequence) was published. N1 orders the publication before the
 * load of the waiter count (store->load): a seq_cst fence, or only a
 * compiler barrier when this process is registered with membarrier, because
 * then a waiter's MEMBARRIER_CMD_GLOBAL_EXPEDITED (W2 in src/wait.c) acts as
 * that fence on our CPU. Almost always the count is 0 and no system call is
 * made. n: how many sleepers to wake (the messages or slots just made
 * available; INT_MAX on close and shutdown).
 */
static inline void shmring__notify(struct shmring *r, int dir, int n)
{
	uint64_t *waiters = dir == SHMRING__DIR_DATA ? &r->hdr->data_waiters
	                                             : &r->hdr->space_waiters;
	if (SHMRING__LIKELY(r->fence_free))
		shmring__compiler_barrier();    /* N1: upgraded by W2's membarrier */
	else
		shmring__fence_seqcst();        /* N1: publish -> waiter load; pairs with W2 */
	/* N2: relaxed is enough after N1; pairs with W1 (the announcement) */
	if (SHMRING__UNLIKELY(shmring__load_relaxed64(waiters) != 0))
		shmring__wake(r, dir, n);
}

static inline void shmring__count_sent(struct shmring *r, size_t len)
{
	if (SHMRING__UNLIKELY((r->p.bytes += len) >= SHMRING__BYTES_BATCH))
		shmring__flush_bytes(r);
}

static inline void shmring__count_recv(struct shmring *r, size_t len)
{
	if (SHMRING__UNLIKELY((r->c.bytes += len) >= SHMRING__BYTES_BATCH))
		shmring__flush_bytes(r);
}

/* SPSC producer: publish everything up to pos (P1 pairs with C1) */
static inline void shmring__spsc_publish(struct shmring *r, uint64_t pos)
{
	r->p.pos = pos;
	/* P1: release: slot contents before the index; pairs with C1 */
	shmring__store_release64(&r->hdr->prod_idx, pos);
	shmring__notify(r, SHMRING__DIR_DATA, 1);
}

/* SPSC consumer: release everything up to pos (C2 pairs with P2) */
static inline void shmring__spsc_release(struct shmring *r, uint64_t pos)
{
	r->c.pos = pos;
	/* C2: release: our slot reads complete before the producer may reuse
	 * the slot; pairs with P2 */
	shmring__store_release64(&r->hdr->cons_idx, pos);
	shmring__notify(r, SHMRING__DIR_SPACE, 1);
}

/* SPSC producer, room checked: write one message at p.pos, publish it */
static inline void shmring__spsc_put(struct shmring *r, const void *msg, size_t len)
{
	struct shmring__slot_spsc *s = (struct shmring__slot_spsc *)shmring__slot(r, r->p.pos);
	s->len = (uint32_t)len;
	shmring__copy(s + 1, msg, len);
	shmring__spsc_publish(r, r->p.pos + 1);
	shmring__count_sent(r, len);
}

/* SPSC consumer, data checked: the slot at c.pos, its length read once
 * (relaxed, after C1: shared memory may change under us; never re-read) */
static inline const struct shmring__slot_spsc *shmring__spsc_head(struct shmring *r,
                                                                  uint32_t *len)
{
	const struct shmring__slot_spsc *s =
		(const struct shmring__slot_spsc *)shmring__slot(r, r->c.pos);
	*len = shmring__load_relaxed32(&s->len);
	return s;
}

#endif /* SHMRING_HANDLE_H */
