/* SPDX-License-Identifier: MIT */
/*
 * ref_ring.h - the reference the library must not lose to: a minimal
 * cached-index SPSC ring of fixed-size slots in shared memory, busy-polling,
 * no sleeping, no validation, no statistics. Each side keeps a private copy
 * of the other side's index and re-reads the shared one only when the copy
 * says full (producer) or empty (consumer).
 *
 * Layout: head (producer index), tail (consumer index) and the end flag on
 * their own 128-byte lines, then nslots slots of [u32 len, pad, payload], 8-byte aligned.
 */
#ifndef REF_RING_H
#define REF_RING_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

struct ref_shared {
	_Alignas(128) _Atomic uint64_t head;   /* written by the producer */
	_Alignas(128) _Atomic uint64_t tail;   /* written by the consumer */
	_Alignas(128) _Atomic uint32_t done;   /* producer: no more messages */
};

struct ref_ring {                           /* process-local */
	struct ref_shared *sh;
	unsigned char *slots;
	uint64_t mask, pos, peer;               /* peer: cached index of the other side */
	size_t stride, cap;
};

static inline size_t ref_ring_bytes(uint64_t nslots, size_t cap)
{
	return sizeof(struct ref_shared) + nslots * ((cap + 8 + 7) & ~(size_t)7);
}

/* mem: zeroed shared memory of ref_ring_bytes(); nslots a power of two */
static inline void ref_ring_attach(struct ref_ring *r, void *mem, uint64_t nslots, size_t cap)
{
	r->sh = (struct ref_shared *)mem;
	r->slots = (unsigned char *)mem + sizeof(struct ref_shared);
	r->mask = nslots - 1;
	r->stride = (cap + 8 + 7) & ~(size_t)7;
	r->cap = cap;
	r->pos = r->peer = 0;
}

static inline void ref_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* producer: 1 sent, 0 full */
static inline int ref_ring_try_send(struct ref_ring *r, const void *msg, uint32_t len)
{
	if (r->pos - r->peer > r->mask) {
		/* acquire: the consumer is done reading the slot we reuse */
		r->peer = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
		if (r->pos - r->peer > r->mask)
			return 0;
	}
	unsigned char *s = r->slots + (r->pos & r->mask) * r->stride;
	memcpy(s, &len, sizeof(len));
	memcpy(s + 8, msg, len);
	/* release: the slot's bytes before the index that publishes them */
	atomic_store_explicit(&r->sh->head, ++r->pos, memory_order_release);
	return 1;
}

/* consumer: the length, or -1 empty (cap is trusted: this is our own ring) */
static inline ssize_t ref_ring_try_recv(struct ref_ring *r, void *buf)
{
	if (r->pos == r->peer) {
		/* acquire: pairs with the producer's release of head */
		r->peer = atomic_load_explicit(&r->sh->head, memory_order_acquire);
		if (r->pos == r->peer)
			return -1;
	}
	const unsigned char *s = r->slots + (r->pos & r->mask) * r->stride;
	uint32_t len;
	memcpy(&len, s, sizeof(len));
	memcpy(buf, s + 8, len);
	/* release: our reads of the slot before the producer may overwrite it */
	atomic_store_explicit(&r->sh->tail, ++r->pos, memory_order_release);
	return len;
}

static inline void ref_ring_send(struct ref_ring *r, const void *msg, uint32_t len)
{
	while (!ref_ring_try_send(r, msg, len))
		ref_pause();
}

/* the length, or -1 once the producer is done and the ring drained */
static inline ssize_t ref_ring_recv(struct ref_ring *r, void *buf)
{
	for (;;) {
		ssize_t n = ref_ring_try_recv(r, buf);
		if (n >= 0)
			return n;
		/* acquire: messages published before done are visible on the retry */
		if (atomic_load_explicit(&r->sh->done, memory_order_acquire))
			return ref_ring_try_recv(r, buf);
		ref_pause();
	}
}

static inline void ref_ring_finish(struct ref_ring *r)
{
	/* release: after every message */
	atomic_store_explicit(&r->sh->done, 1, memory_order_release);
}

#endif /* REF_RING_H */
