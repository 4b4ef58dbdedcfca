/* SPDX-License-Identifier: MIT */
/*
 * seqlock_words.h - the sequence-locked slot, shared by the overwrite
 * engine (overwrite.c) and the broadcast engine (broadcast.c): the slot's
 * address and seq values, the writer's two marks, the payload copy and the
 * zero-copy writer's lend and commit; inline, so that neither file calls
 * the other.
 *
 * A reader may copy a slot while the writer rewrites it, so every byte of
 * the payload moves as part of a relaxed 64-bit atomic (no torn word, no
 * data race); the seq word's marks around the copy tell the reader whether
 * what it copied is whole. The caller's labels order the copy: the writer
 * stores between its odd mark (O1 / F9) and its even one (O2 / F5); the
 * reader loads between its first seq load (O5 / F6) and its acquire fence
 * (O6 / F10). The payload area is slot_size rounded up to 8 bytes
 * (layout.h), so the last word is whole.
 */
#ifndef SHMRING_SEQLOCK_WORDS_H
#define SHMRING_SEQLOCK_WORDS_H

#include <errno.h>
#include <string.h>
#include "private.h"

/* the sequence-locked slot of pos (overwrite and broadcast layout: a
 * 16-byte header, then the payload, 8-byte aligned: layout.h) */
static inline struct shmring__slot_ow *shmring__ow_slot(const struct shmring *r, uint64_t pos)
{
	return (struct shmring__slot_ow *)shmring__slot(r, pos);
}

/* its seq word while pos's message is being written, and once it is whole */
static inline uint64_t shmring__seq_busy(uint64_t pos)
{
	return 2 * pos + 1;
}

static inline uint64_t shmring__seq_full(uint64_t pos)
{
	return 2 * pos + 2;
}

/* the writer's odd mark, before any byte of the slot changes: overwrite.c's
 * O1, broadcast.c's F9 (overwrite form) */
static inline void shmring__seqlock_mark(struct shmring__slot_ow *s, uint64_t pos)
{
	/* relaxed: ordered before the payload stores by the fence below */
	shmring__store_relaxed64(&s->seq, shmring__seq_busy(pos));
	/* O1: release fence: the odd mark before every length and payload
	 * store that follows; pairs with O6 (overwrite.c's reader) */
	/* F9: the same fence for broadcast.c's overwrite form; pairs with F10 */
	shmring__fence_release();
}

/* the writer's even mark, after the length and payload: O2 / F5 */
static inline void shmring__seqlock_seal(struct shmring__slot_ow *s, uint64_t pos, size_t len)
{
	shmring__store_relaxed32(&s->len, (uint32_t)len);   /* relaxed: before O2 / F5 */
	/* O2: release: length and payload before the slot reads as complete;
	 * pairs with O5 (overwrite.c's reader) */
	/* F5: the same store for broadcast.c; pairs with F6 */
	shmring__store_release64(&s->seq, shmring__seq_full(pos));
}

/* reserve: lend the slot sl of p.pos (marked by the engine as it needs)
 * to the caller, who writes its payload with plain stores */
static inline void shmring__seqlock_lend(struct shmring *r, struct shmring_slot *s,
                                         struct shmring__slot_ow *sl)
{
	s->data = sl + 1;   /* the payload, 8-byte aligned: layout.h */
	s->len = r->slot_size;
	s->pos = r->p.pos;
	r->p.reserved = 1;
}

/* commit: seal the lent slot with len (O2 / F5), or say why not: not the
 * slot handed out (-EINVAL), shut down while reserved (-EPIPE: the slot is
 * not published), too long (-EMSGSIZE). The engine publishes after it */
static inline int shmring__seqlock_commit(struct shmring *r, struct shmring_slot *s, size_t len)
{
	if (s->pos != r->p.pos)
		return -EINVAL;
	if (r->p.shut)
		return -EPIPE;
	if (len > r->slot_size)
		return -EMSGSIZE;
	shmring__seqlock_seal(shmring__ow_slot(r, s->pos), s->pos, len);
	r->p.reserved = 0;
	return 0;
}

/* len bytes from src into the slot's payload dst (8-byte aligned); the
 * last word padded with zeros */
static inline void shmring__put_words(void *dst, const void *src, size_t len)
{
	const unsigned char *p = src;
	uint64_t *d = dst;
	size_t full = len / 8;

	for (size_t i = 0; i < full; i++) {
		uint64_t w;
		memcpy(&w, p + 8 * i, 8);
		shmring__store_relaxed64(d + i, w);   /* relaxed: ordered by the caller's marks */
	}
	if (len % 8) {
		uint64_t w = 0;
		memcpy(&w, p + 8 * full, len % 8);
		shmring__store_relaxed64(d + full, w);   /* relaxed: as above */
	}
}

/* len bytes of the slot's payload src (8-byte aligned) into dst */
static inline void shmring__get_words(unsigned char *dst, const void *src, size_t len)
{
	const uint64_t *s = src;
	size_t full = len / 8;

	for (size_t i = 0; i < full; i++) {
		uint64_t w = shmring__load_relaxed64(s + i);   /* relaxed: ordered by the caller's marks */
		memcpy(dst + 8 * i, &w, 8);
	}
	if (len % 8) {
		uint64_t w = shmring__load_relaxed64(s + full);   /* relaxed: as above */
		memcpy(dst + 8 * full, &w, len % 8);
	}
}

#endif
