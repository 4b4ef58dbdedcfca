/* SPDX-License-Identifier: MIT */
/*
 * shmring/handle.h - the part of the process-local handle that the inline
 * fast paths use, and the out-of-line entry points they call.
 * Do not include directly; include <shmring.h>.
 */
#ifndef SHMRING_HANDLE_H
#define SHMRING_HANDLE_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "layout.h"
#include "atomic.h"

#ifdef __cplusplus
#define SHMRING__ALIGNED(n) alignas(n)
#else
#define SHMRING__ALIGNED(n) _Alignas(n)
#endif

/* what the shared library exports: the public API and the entry points
 * the inline code calls; everything else is hidden (src/libshmring.map) */
#if defined(__GNUC__)
#define SHMRING_API __attribute__((visibility("default")))
#else
#define SHMRING_API
#endif

struct shmring_slot;

/*
 * Private engine kinds: the value of struct shmring's kind when a ring's
 * flags select another engine than its public kind's. Never stored in
 * shared memory (the header keeps the public kind and the flags) and never
 * reported (shmring_info() gives the public kind and the flags). The inline
 * fast paths run only for kind == SHMRING_SPSC (p.fast/c.fast are 0 and
 * the inline commit/release test the kind), so a ring of a private kind
 * always reaches its engine through api.c.
 */
#define SHMRING__KIND_OVERWRITE 0x101u  /* SPSC + SHMRING_OVERWRITE: src/overwrite.c */
#define SHMRING__KIND_PACKED    0x102u  /* SPSC + SHMRING_PACKED: variable-length
                                         * records, src/packed.c */

/* NAME_MAX of POSIX shm names; spelled out so that the header also builds
 * in strict ISO C modes, where <limits.h> does not define NAME_MAX */
#define SHMRING__NAME_MAX 255

#if defined(__GNUC__)
#define SHMRING__LIKELY(x)   __builtin_expect(!!(x), 1)
#define SHMRING__UNLIKELY(x) __builtin_expect(!!(x), 0)
/* the inline calls of spsc_inline.h: their fast path is a few instructions
 * and a call of the out-of-line twin, so inlining them is always the
 * better deal; g++ -O2 left shmring_recv() a call in a loop of send+recv */
#define SHMRING__ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SHMRING__LIKELY(x)   (x)
#define SHMRING__UNLIKELY(x) (x)
#define SHMRING__ALWAYS_INLINE inline
#endif

/*
 * The handle. This part is what the inline fast paths (shmring/spsc_inline.h)
 * read and write; its layout is part of the ABI and pinned by the static
 * asserts below. Everything else a handle needs (registry entries, liveness
 * and wait-policy state, the descriptors, the name) lives in a private part
 * that only src/ sees (src/private.h); the library allocates both at once.
 * Nothing here is shared memory: it is private to the process, and the
 * sizes were validated once at open (never re-read from the ring).
 *
 * The producer's and the consumer's hot fields sit on separate 128-byte
 * lines, so two threads of one process (one per side) do not share a line.
 *
 * Concurrency (what may run at the same time on one handle): nothing. A
 * handle belongs to one thread at a time; use one handle per thread. Any
 * number of handles, in any processes, may use one ring at once within the
 * role rules (SPSC: one producer and one consumer).
 */
struct shmring {
	/* read-only after open */
	struct shmring__hdr *hdr;
	unsigned char *slots0;      /* address of slot 0 */
	uint64_t mask;              /* slots - 1 */
	uint32_t slot_size;
	uint32_t stride;            /* bytes per slot, header included */
	unsigned kind;              /* engine kind: SHMRING_SPSC, SHMRING_MPMC, or a
	                             * private one (SHMRING__KIND_OVERWRITE,
	                             * SHMRING__KIND_PACKED) */
	int fence_free;             /* 1: this process is registered for the
	                             * waiter's membarrier; notifiers may use a
	                             * compiler barrier instead of a fence */
	unsigned lap_shift;         /* log2(slots): pos >> lap_shift is the lap
	                             * (SPSC seals, layout.h) */

	/* producer side, written only by the producer's thread */
	SHMRING__ALIGNED(128) struct {
		uint64_t pos;       /* next position to write (SPSC: == prod_idx) */
		uint64_t limit;     /* SPSC: cached cons_idx + slots: free up to here */
		uint64_t bytes;     /* payload bytes not yet added to sent_bytes */
		int fast;           /* SPSC producer, nothing reserved, not shut down */
		int reserved;       /* a zero-copy reservation is outstanding */
		int shut;           /* shmring_shutdown() was called */
	} p;

	/* consumer side, written only by the consumer's thread */
	SHMRING__ALIGNED(128) struct {
		uint64_t pos;       /* next position to read (SPSC: == cons_idx;
		                     * MPMC: one past the last one this handle
		                     * released, its progress) */
		uint64_t bytes;     /* payload bytes not yet added to recv_bytes */
		int fast;           /* SPSC consumer, nothing acquired */
		int acquired;       /* a zero-copy acquisition is outstanding */
	} c;
};

#ifndef __cplusplus
#define SHMRING__HSA _Static_assert
#else
#define SHMRING__HSA static_assert
#endif
/* the ABI of the inline part: offsets the compiled fast paths rely on */
SHMRING__HSA(offsetof(struct shmring, hdr) == 0, "handle: hdr");
SHMRING__HSA(offsetof(struct shmring, slots0) == 8, "handle: slots0");
SHMRING__HSA(offsetof(struct shmring, mask) == 16, "handle: mask");
SHMRING__HSA(offsetof(struct shmring, slot_size) == 24, "handle: slot_size");
SHMRING__HSA(offsetof(struct shmring, stride) == 28, "handle: stride");
SHMRING__HSA(offsetof(struct shmring, kind) == 32, "handle: kind");
SHMRING__HSA(offsetof(struct shmring, fence_free) == 36, "handle: fence_free");
SHMRING__HSA(offsetof(struct shmring, lap_shift) == 40, "handle: lap_shift");
SHMRING__HSA(offsetof(struct shmring, p) == 128, "handle: producer line");
SHMRING__HSA(offsetof(struct shmring, c) == 256, "handle: consumer line");
SHMRING__HSA(sizeof(struct shmring) == 384, "handle: public size");
#undef SHMRING__HSA

/* out-of-line entry points of the inline fast paths (exported) */
#ifdef __cplusplus
extern "C" {
#endif
SHMRING_API int shmring__send_slow(struct shmring *r, const void *msg, size_t len,
                                   int64_t timeout_ns);
SHMRING_API ssize_t shmring__recv_slow(struct shmring *r, void *buf, size_t cap,
                                       int64_t timeout_ns);
SHMRING_API int shmring__reserve_slow(struct shmring *r, struct shmring_slot *s,
                                      int64_t timeout_ns);
SHMRING_API int shmring__commit_slow(struct shmring *r, struct shmring_slot *s, size_t len);
SHMRING_API int shmring__acquire_slow(struct shmring *r, struct shmring_slot *s,
                                      int64_t timeout_ns);
SHMRING_API int shmring__release_slow(struct shmring *r, struct shmring_slot *s);
SHMRING_API void shmring__wake(struct shmring *r, int dir);
SHMRING_API int shmring__spsc_space(struct shmring *r);
SHMRING_API void shmring__flush_bytes(struct shmring *r);
#ifdef __cplusplus
}
#endif

#endif /* SHMRING_HANDLE_H */
