/* SPDX-License-Identifier: MIT */
/*
 * shmring/spsc_inline.h - the inline SPSC engine: the fast paths of send,
 * recv, reserve, commit, acquire and release, and the notifier's half of
 * the sleep/wake handshake. Do not include directly; include <shmring.h>.
 *
 * Each call does its work here when it can (SPSC, room or data known from
 * the cached peer index, arguments in range) and otherwise calls its
 * out-of-line twin in src/ (liburing's split): the slow path re-checks
 * everything, waits, and serves MPMC rings.
 *
 * Publication protocol (labels as in docs/memory-model.md):
 *   P1 producer: payload writes, then store-release the slot's seal  pairs with C1
 *   P1i producer: store-release prod_idx (after the seal)            pairs with C1i
 *   C1 consumer: load-acquire the seal of the slot at c.pos, then payload reads
 *   C1i consumer (slow path only): load-acquire prod_idx, then the seal
 *   C2 consumer: slot reads, then store-release cons_idx              pairs with P2
 *   P2 producer: load-acquire cons_idx, then overwrite the slot
 * In a stream the consumer touches only its slots' lines and its own index;
 * the producer its slots, its own index, and cons_idx once per lap.
 */
#ifndef SHMRING_SPSC_INLINE_H
#define SHMRING_SPSC_INLINE_H

#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* byte counters are added to shared memory in batches of this size (and
 * whenever the handle waits, shuts down or closes) */
#define SHMRING__BYTES_BATCH 65536

#define SHMRING__DIR_DATA  0   /* consumers wait for data, producers wake them */
#define SHMRING__DIR_SPACE 1   /* producers wait for space, consumers wake them */

/*
 * memcpy for message payloads. Up to 64 bytes it copies inline with
 * fixed-size, possibly overlapping loads and stores inside [0, n) of both
 * buffers: 16-byte pieces in order, the last one ending at n (17..64), two
 * 8- or 4-byte ones (4..16), bytes below. Above, the C library's memcpy.
 * Measured (docs/benchmarks.md): the earlier inline copy, which loaded two
 * 32-byte halves into temporaries and then stored them, held a 64 B
 * stream between two processes to ~24 M msg/s; glibc's memcpy reached
 * ~45 M at 64 B but ~16 M at 32 B; these in-order 16-byte pieces ~120 M
 * at 64 B and ~72 M at 32 B, and cost the single-thread send+recv pair
 * what the old copy did (7.1 ns at 64 B).
 */
/* gcc 12 warns (-Warray-bounds, -Wstringop-overflow) about the 8-byte
 * branch when a caller receives into a smaller object: it does not carry
 * "n <= cap" from the caller's check into this function. The branch runs
 * only for n >= 8, inside [0, n) of both buffers; the warning is silenced
 * for this function only. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
static inline void shmring__copy(void *dst, const void *src, size_t n)
{
	unsigned char *d = (unsigned char *)dst;
	const unsigned char *s = (const unsigned char *)src;

	if (n > 64) {
		memcpy(d, s, n);
	} else if (n > 16) {
		/* the pieces [0, 16), [16, 32) if n > 32, [32, 48) if n > 48,
		 * then [n - 16, n): unrolled, since the caller's n is rarely a
		 * constant (a loop cost 49 instructions per send+recv pair at
		 * 64 B, callgrind; these 16 fewer per copy) */
		memcpy(d, s, 16);
		if (n > 32) {
			memcpy(d + 16, s + 16, 16);
			if (n > 48)
				memcpy(d + 32, s + 32, 16);
		}
		memcpy(d + n - 16, s + n - 16, 16);
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
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static inline unsigned char *shmring__slot(const struct shmring *r, uint64_t pos)
{
	return r->slots0 + (size_t)(pos & r->mask) * r->stride;
}

/*
 * The notifier's half of the sleep/wake handshake, run right after an index
 * (or slot sequence) was published. N1 orders the publication before the
 * load of the announce mask (store->load): a seq_cst fence, or only a
 * compiler barrier when this process is registered with membarrier, because
 * then a waiter's MEMBARRIER_CMD_GLOBAL_EXPEDITED (W2 in src/wait.c) acts as
 * that fence on our CPU. Almost always the mask is 0 and no system call is
 * made. Otherwise shmring__wake() wakes every announced sleeper.
 */
static inline void shmring__notify(struct shmring *r, int dir)
{
	uint64_t *waiters = dir == SHMRING__DIR_DATA ? &r->hdr->data_waiters
	                                             : &r->hdr->space_waiters;
	if (SHMRING__LIKELY(r->fence_free))
		shmring__compiler_barrier();    /* N1: upgraded by W2's membarrier */
	else
		shmring__fence_seqcst();        /* N1: publish -> waiter load; pairs with W2 */
	/* N2: relaxed is enough after N1; pairs with W1 (the announcement) */
	if (SHMRING__UNLIKELY(shmring__load_relaxed64(waiters) != 0))
		shmring__wake(r, dir);
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

/* SPSC: the payload of the slot at pos (after its seal) */
static inline unsigned char *shmring__spsc_payload(const struct shmring *r, uint64_t pos)
{
	return shmring__slot(r, pos) + sizeof(struct shmring__slot_spsc);
}

/* the lap tag of position pos, and the seal of a slot there (layout.h) */
static inline uint32_t shmring__lap_tag(const struct shmring *r, uint64_t pos)
{
	return (uint32_t)(pos >> r->lap_shift) + 1u;
}

static inline int shmring__sealed_for(const struct shmring *r, uint64_t seal, uint64_t pos)
{
	return (uint32_t)(seal >> 32) == shmring__lap_tag(r, pos);
}

/* the seal word of a message of len bytes at position pos */
static inline uint64_t shmring__seal_word(const struct shmring *r, uint64_t pos, size_t len)
{
	return (uint64_t)shmring__lap_tag(r, pos) << 32 | (uint32_t)len;
}

/* SPSC producer: seal the slot at pos with the message length (P1) */
static inline void shmring__spsc_seal(struct shmring *r, uint64_t pos, size_t len)
{
	struct shmring__slot_spsc *s = (struct shmring__slot_spsc *)shmring__slot(r, pos);
	/* P1: release: the payload before the seal; pairs with C1 */
	shmring__store_release64(&s->seal, shmring__seal_word(r, pos, len));
}

/* SPSC producer: everything up to pos is sealed; advance the index */
static inline void shmring__spsc_publish(struct shmring *r, uint64_t pos)
{
	r->p.pos = pos;
	/* P1i: release: after the seals; pairs with C1i (a consumer that finds
	 * a seal missing checks the index) and with tools */
	shmring__store_release64(&r->hdr->prod_idx, pos);
	shmring__notify(r, SHMRING__DIR_DATA);
}

/* SPSC consumer: release everything up to pos (C2 pairs with P2) */
static inline void shmring__spsc_consume(struct shmring *r, uint64_t pos)
{
	r->c.pos = pos;
	/* C2: release: our slot reads complete before the producer may reuse
	 * the slot; pairs with P2 */
	shmring__store_release64(&r->hdr->cons_idx, pos);
	shmring__notify(r, SHMRING__DIR_SPACE);
}

/* SPSC producer, room checked: write one message at p.pos, publish it */
static inline void shmring__spsc_put(struct shmring *r, const void *msg, size_t len)
{
	/* the slot and its seal are derived from the handle before the copy:
	 * the compiler cannot tell that the copy's stores leave the handle
	 * alone, and would read it again (measured: SendRecv/8 5.47 -> 5.19 ns,
	 * docs/benchmarks.md; the consumer is left as it is, see there) */
	uint64_t pos = r->p.pos;
	struct shmring__slot_spsc *s = (struct shmring__slot_spsc *)shmring__slot(r, pos);
	uint64_t seal = shmring__seal_word(r, pos, len);
	shmring__copy(s + 1, msg, len);
	/* P1: release: the payload before the seal; pairs with C1 */
	shmring__store_release64(&s->seal, seal);
	shmring__spsc_publish(r, pos + 1);
	shmring__count_sent(r, len);
}

/* SPSC consumer: the seal of the slot at pos, read once (C1: acquire, so
 * the payload is visible once the seal is ours; shared memory may change
 * under us: the copy is what we validate and use, never re-read) */
static inline uint64_t shmring__spsc_seal_at(const struct shmring *r, uint64_t pos)
{
	const struct shmring__slot_spsc *s =
		(const struct shmring__slot_spsc *)shmring__slot(r, pos);
	/* C1: acquire: pairs with P1 */
	return shmring__load_acquire64(&s->seal);
}

/* ---- inline fast paths (SPSC); everything else goes out of line ---- */

/* zero-copy hand-outs: the slot at p.pos (reserve) or c.pos (acquire) */
static inline void shmring__spsc_lend_write(struct shmring *r, struct shmring_slot *s)
{
	s->data = shmring__spsc_payload(r, r->p.pos);
	s->len = r->slot_size;
	s->pos = r->p.pos;
	r->p.reserved = 1;
	r->p.fast = 0;
}

static inline void shmring__spsc_lend_read(struct shmring *r, struct shmring_slot *s,
                                           uint32_t len)
{
	s->data = shmring__spsc_payload(r, r->c.pos);
	s->len = len;
	s->pos = r->c.pos;
	r->c.acquired = 1;
	r->c.fast = 0;
}


static SHMRING__ALWAYS_INLINE int shmring_send(struct shmring *r, const void *msg, size_t len,
                               int64_t timeout_ns)
{
	if (SHMRING__LIKELY(r->p.fast && len <= r->slot_size && msg) &&
	    (SHMRING__LIKELY(r->p.pos < r->p.limit) || shmring__spsc_space(r) > 0)) {
		shmring__spsc_put(r, msg, len);
		return 0;
	}
	return shmring__send_slow(r, msg, len, timeout_ns);
}

static SHMRING__ALWAYS_INLINE ssize_t shmring_recv(struct shmring *r, void *buf, size_t cap,
                                   int64_t timeout_ns)
{
	if (SHMRING__LIKELY(r->c.fast)) {
		uint64_t seal = shmring__spsc_seal_at(r, r->c.pos);
		uint32_t len = (uint32_t)seal;
		if (SHMRING__LIKELY(shmring__sealed_for(r, seal, r->c.pos) &&
		                    len <= cap && len <= r->slot_size && buf)) {
			shmring__copy(buf, shmring__spsc_payload(r, r->c.pos), len);
			shmring__spsc_consume(r, r->c.pos + 1);
			shmring__count_recv(r, len);
			return (ssize_t)len;
		}
	}
	return shmring__recv_slow(r, buf, cap, timeout_ns);
}

static SHMRING__ALWAYS_INLINE int shmring_reserve(struct shmring *r, struct shmring_slot *s,
                                  int64_t timeout_ns)
{
	if (SHMRING__LIKELY(r->p.fast && s) &&
	    (SHMRING__LIKELY(r->p.pos < r->p.limit) || shmring__spsc_space(r) > 0)) {
		shmring__spsc_lend_write(r, s);
		return 0;
	}
	return shmring__reserve_slow(r, s, timeout_ns);
}

static SHMRING__ALWAYS_INLINE int shmring_commit(struct shmring *r, struct shmring_slot *s, size_t len)
{
	if (SHMRING__LIKELY(r->kind == SHMRING_SPSC && r->p.reserved && !r->p.shut &&
	                    s && s->pos == r->p.pos && len <= r->slot_size)) {
		shmring__spsc_seal(r, s->pos, len);
		r->p.reserved = 0;
		r->p.fast = 1;
		shmring__spsc_publish(r, s->pos + 1);
		shmring__count_sent(r, len);
		s->data = NULL;
		return 0;
	}
	return shmring__commit_slow(r, s, len);
}

static SHMRING__ALWAYS_INLINE int shmring_acquire(struct shmring *r, struct shmring_slot *s,
                                  int64_t timeout_ns)
{
	if (SHMRING__LIKELY(r->c.fast && s)) {
		uint64_t seal = shmring__spsc_seal_at(r, r->c.pos);
		uint32_t len = (uint32_t)seal;
		if (SHMRING__LIKELY(shmring__sealed_for(r, seal, r->c.pos) &&
		                    len <= r->slot_size)) {
			shmring__spsc_lend_read(r, s, len);
			return 0;
		}
	}
	return shmring__acquire_slow(r, s, timeout_ns);
}

static SHMRING__ALWAYS_INLINE int shmring_release(struct shmring *r, struct shmring_slot *s)
{
	if (SHMRING__LIKELY(r->kind == SHMRING_SPSC && r->c.acquired && s &&
	                    s->pos == r->c.pos)) {
		r->c.acquired = 0;
		r->c.fast = 1;
		shmring__spsc_consume(r, s->pos + 1);
		shmring__count_recv(r, s->len);
		s->data = NULL;
		return 0;
	}
	return shmring__release_slow(r, s);
}

#ifdef __cplusplus
}
#endif

#endif /* SHMRING_SPSC_INLINE_H */
