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
 * Index protocol (labels as in docs/memory-model.md):
 *   P1 producer: slot writes, then store-release prod_idx      pairs with C1
 *   C1 consumer: load-acquire prod_idx, then slot reads
 *   C2 consumer: slot reads, then store-release cons_idx        pairs with P2
 *   P2 producer: load-acquire cons_idx, then overwrite the slot
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

/* SPSC producer: publish everything up to pos (P1 pairs with C1) */
static inline void shmring__spsc_publish(struct shmring *r, uint64_t pos)
{
	r->p.pos = pos;
	/* P1: release: slot contents before the index; pairs with C1 */
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


/* ---- inline fast paths (SPSC); everything else goes out of line ---- */

/* zero-copy hand-outs: the slot at p.pos (reserve) or c.pos (acquire) */
static inline void shmring__spsc_lend_write(struct shmring *r, struct shmring_slot *s)
{
	s->data = shmring__slot(r, r->p.pos) + sizeof(struct shmring__slot_spsc);
	s->len = r->slot_size;
	s->pos = r->p.pos;
	r->p.reserved = 1;
	r->p.fast = 0;
}

static inline void shmring__spsc_lend_read(struct shmring *r, struct shmring_slot *s,
                                           const struct shmring__slot_spsc *sl, uint32_t len)
{
	s->data = (void *)(sl + 1);
	s->len = len;
	s->pos = r->c.pos;
	r->c.acquired = 1;
	r->c.fast = 0;
}


static inline int shmring_send(struct shmring *r, const void *msg, size_t len,
                               int64_t timeout_ns)
{
	if (SHMRING__LIKELY(r->p.fast && len <= r->slot_size && msg) &&
	    (SHMRING__LIKELY(r->p.pos < r->p.limit) || shmring__spsc_space(r) > 0)) {
		shmring__spsc_put(r, msg, len);
		return 0;
	}
	return shmring__send_slow(r, msg, len, timeout_ns);
}

static inline ssize_t shmring_recv(struct shmring *r, void *buf, size_t cap,
                                   int64_t timeout_ns)
{
	if (SHMRING__LIKELY(r->c.fast) &&
	    (SHMRING__LIKELY(r->c.pos < r->c.avail) || shmring__spsc_data(r) > 0)) {
		uint32_t len;
		const struct shmring__slot_spsc *s = shmring__spsc_head(r, &len);
		if (SHMRING__LIKELY(len <= cap && len <= r->slot_size && buf)) {
			shmring__copy(buf, s + 1, len);
			shmring__spsc_consume(r, r->c.pos + 1);
			shmring__count_recv(r, len);
			return (ssize_t)len;
		}
	}
	return shmring__recv_slow(r, buf, cap, timeout_ns);
}

static inline int shmring_reserve(struct shmring *r, struct shmring_slot *s,
                                  int64_t timeout_ns)
{
	if (SHMRING__LIKELY(r->p.fast && s) &&
	    (SHMRING__LIKELY(r->p.pos < r->p.limit) || shmring__spsc_space(r) > 0)) {
		shmring__spsc_lend_write(r, s);
		return 0;
	}
	return shmring__reserve_slow(r, s, timeout_ns);
}

static inline int shmring_commit(struct shmring *r, struct shmring_slot *s, size_t len)
{
	if (SHMRING__LIKELY(r->kind == SHMRING_SPSC && r->p.reserved && !r->p.shut &&
	                    s && s->pos == r->p.pos && len <= r->slot_size)) {
		struct shmring__slot_spsc *sl =
			(struct shmring__slot_spsc *)shmring__slot(r, s->pos);
		sl->len = (uint32_t)len;
		r->p.reserved = 0;
		r->p.fast = 1;
		shmring__spsc_publish(r, s->pos + 1);
		shmring__count_sent(r, len);
		s->data = NULL;
		return 0;
	}
	return shmring__commit_slow(r, s, len);
}

static inline int shmring_acquire(struct shmring *r, struct shmring_slot *s,
                                  int64_t timeout_ns)
{
	if (SHMRING__LIKELY(r->c.fast && s) &&
	    (SHMRING__LIKELY(r->c.pos < r->c.avail) || shmring__spsc_data(r) > 0)) {
		uint32_t len;
		const struct shmring__slot_spsc *sl = shmring__spsc_head(r, &len);
		if (SHMRING__LIKELY(len <= r->slot_size)) {
			shmring__spsc_lend_read(r, s, sl, len);
			return 0;
		}
	}
	return shmring__acquire_slow(r, s, timeout_ns);
}

static inline int shmring_release(struct shmring *r, struct shmring_slot *s)
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
