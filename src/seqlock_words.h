/* SPDX-License-Identifier: MIT */
/*
 * seqlock_words.h - the payload copy of a sequence-locked slot, shared by
 * the overwrite engine (overwrite.c) and the lossy broadcast engine
 * (broadcast.c): inline, so that neither file calls the other.
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

#include <string.h>
#include "private.h"

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
