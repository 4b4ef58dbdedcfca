/* SPDX-License-Identifier: MIT */
/*
 * ref_ff.h - the second reference: a FastForward-style SPSC ring (after
 * Giacomoni, Moseley and Vachharajani, PPoPP 2008). No shared indices at
 * all: each slot opens with a control word, 0 when the slot is empty and
 * FF_FULL | length when it holds a message. The producer waits for its next
 * slot's word to read empty, the consumer polls its next slot's word until
 * it reads full; each keeps its position to itself. A message therefore
 * moves only the slot's own line(s) between the CPUs, never an index line.
 * Busy-polling, no sleeping, no validation, no statistics.
 *
 * Layout: the end flag on its own 128-byte line, then nslots slots of
 * [u64 word, payload], each rounded up to 8 bytes. Zeroed memory is an
 * empty ring. Compiles as C11 and as C++ (bench/micro.cc).
 */
#ifndef REF_FF_H
#define REF_FF_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#ifdef __cplusplus
#include <atomic>
#define FF_LOAD(p, mo) reinterpret_cast<std::atomic<uint64_t> *>(p)->load(std::memory_order_##mo)
#define FF_STORE(p, v, mo) reinterpret_cast<std::atomic<uint64_t> *>(p)->store(v, std::memory_order_##mo)
#else
#include <stdatomic.h>
#define FF_LOAD(p, mo) atomic_load_explicit((_Atomic uint64_t *)(void *)(p), memory_order_##mo)
#define FF_STORE(p, v, mo) atomic_store_explicit((_Atomic uint64_t *)(void *)(p), v, memory_order_##mo)
#endif

#define FF_FULL (UINT64_C(1) << 32)
#define FF_HDR  128   /* the end-flag line before the slots */

struct ref_ff {                             /* process-local: keep it a loop local */
	unsigned char *slots;
	uint64_t *done;                         /* producer: no more messages */
	uint64_t mask, pos;
	size_t stride;
};

static inline size_t ref_ff_bytes(uint64_t nslots, size_t cap)
{
	return FF_HDR + nslots * ((cap + 8 + 7) & ~(size_t)7);
}

/* mem: zeroed shared memory of ref_ff_bytes(); nslots a power of two */
static inline void ref_ff_attach(struct ref_ff *r, void *mem, uint64_t nslots, size_t cap)
{
	r->done = (uint64_t *)mem;
	r->slots = (unsigned char *)mem + FF_HDR;
	r->mask = nslots - 1;
	r->stride = (cap + 8 + 7) & ~(size_t)7;
	r->pos = 0;
}

static inline void ref_ff_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* producer: 1 sent, 0 the slot is still full */
static inline int ref_ff_try_send(struct ref_ff *r, const void *msg, uint32_t len)
{
	unsigned char *s = r->slots + (r->pos & r->mask) * r->stride;
	/* F1 acquire: pairs with F4; the consumer's reads of the slot are done */
	if (FF_LOAD(s, acquire) != 0)
		return 0;
	memcpy(s + 8, msg, len);
	/* F2 release: pairs with F3; the payload before the word that says full */
	FF_STORE(s, FF_FULL | len, release);
	r->pos++;
	return 1;
}

/* consumer: the length, or -1 empty (the length is trusted: our own ring) */
static inline ssize_t ref_ff_try_recv(struct ref_ff *r, void *buf)
{
	unsigned char *s = r->slots + (r->pos & r->mask) * r->stride;
	/* F3 acquire: pairs with F2 */
	uint64_t w = FF_LOAD(s, acquire);
	if (w == 0)
		return -1;
	uint32_t len = (uint32_t)w;
	memcpy(buf, s + 8, len);
	/* F4 release: pairs with F1; our reads before the producer may refill */
	FF_STORE(s, 0, release);
	r->pos++;
	return len;
}

static inline void ref_ff_send(struct ref_ff *r, const void *msg, uint32_t len)
{
	while (!ref_ff_try_send(r, msg, len))
		ref_ff_pause();
}

/* the length, or -1 once the producer is done and the ring drained */
static inline ssize_t ref_ff_recv(struct ref_ff *r, void *buf)
{
	for (;;) {
		ssize_t n = ref_ff_try_recv(r, buf);
		if (n >= 0)
			return n;
		/* F6 acquire: pairs with F5; messages before done show on the retry */
		if (FF_LOAD(r->done, acquire))
			return ref_ff_try_recv(r, buf);
		ref_ff_pause();
	}
}

static inline void ref_ff_finish(struct ref_ff *r)
{
	/* F5 release: pairs with F6; after every message */
	FF_STORE(r->done, 1, release);
}

#endif /* REF_FF_H */
