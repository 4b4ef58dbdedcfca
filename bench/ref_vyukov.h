/* SPDX-License-Identifier: MIT */
/*
 * ref_vyukov.h - the MPMC reference: a bounded multi-producer
 * multi-consumer queue of the kind Dmitry Vyukov published (1024cores.net),
 * written out here from its idea. Every cell carries a sequence word that
 * says whose turn the cell is: seq == pos, free for the producer that claims
 * position pos; seq == pos + 1, holding the message of position pos; after
 * the consumer is done, seq == pos + ncells, free for the next lap. A side
 * claims a position with one compare-and-swap on the shared enqueue
 * (dequeue) counter, then owns the cell until it stores the new sequence.
 * No waiting here: try_send/try_recv say full or empty and the caller
 * decides (bench/transport_ref_vyukov.c: sched_yield() or pause). No
 * validation, no statistics, no sleeping.
 *
 * Layout: the enqueue counter and the dequeue counter on their own 128-byte
 * lines, then ncells cells of [u64 seq, u32 len, u32 unused, payload], the
 * payload rounded up to 8 bytes. ref_vy_init() numbers the cells; zeroed
 * memory is not a queue. Compiles as C11 and as C++.
 */
#ifndef REF_VYUKOV_H
#define REF_VYUKOV_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#ifdef __cplusplus
#include <atomic>
#define VY_A(p) reinterpret_cast<std::atomic<uint64_t> *>(p)
#define VY_LOAD(p, mo) VY_A(p)->load(std::memory_order_##mo)
#define VY_STORE(p, v, mo) VY_A(p)->store(v, std::memory_order_##mo)
#define VY_CAS(p, exp, v) \
	VY_A(p)->compare_exchange_weak(*(exp), v, std::memory_order_relaxed, std::memory_order_relaxed)
#else
#include <stdatomic.h>
#define VY_A(p) ((_Atomic uint64_t *)(void *)(p))
#define VY_LOAD(p, mo) atomic_load_explicit(VY_A(p), memory_order_##mo)
#define VY_STORE(p, v, mo) atomic_store_explicit(VY_A(p), v, memory_order_##mo)
#define VY_CAS(p, exp, v) atomic_compare_exchange_weak_explicit(VY_A(p), exp, v, \
	memory_order_relaxed, memory_order_relaxed)
#endif

#define VY_LINE 128   /* each counter's line (two lines of 64: no adjacent-line prefetch sharing) */

struct ref_vy {                             /* process-local: keep it a loop local */
	uint64_t *enq, *deq;                    /* the two shared counters */
	unsigned char *cells;
	uint64_t mask;
	size_t stride;
};

static inline size_t ref_vy_stride(size_t cap)
{
	return 16 + ((cap + 7) & ~(size_t)7);
}

static inline size_t ref_vy_bytes(uint64_t ncells, size_t cap)
{
	return 2 * VY_LINE + ncells * ref_vy_stride(cap);
}

/* mem: shared memory of ref_vy_bytes(); ncells a power of two */
static inline void ref_vy_attach(struct ref_vy *q, void *mem, uint64_t ncells, size_t cap)
{
	q->enq = (uint64_t *)mem;
	q->deq = (uint64_t *)((unsigned char *)mem + VY_LINE);
	q->cells = (unsigned char *)mem + 2 * VY_LINE;
	q->mask = ncells - 1;
	q->stride = ref_vy_stride(cap);
}

/* once, before any side attaches (the parent, before fork): cell i free for position i */
static inline void ref_vy_init(void *mem, uint64_t ncells, size_t cap)
{
	struct ref_vy q;
	ref_vy_attach(&q, mem, ncells, cap);
	VY_STORE(q.enq, 0, relaxed);
	VY_STORE(q.deq, 0, relaxed);
	for (uint64_t i = 0; i < ncells; i++)
		VY_STORE(q.cells + i * q.stride, i, relaxed);
}

/* producer: 1 sent, 0 the queue is full */
static inline int ref_vy_try_send(struct ref_vy *q, const void *msg, uint32_t len)
{
	/* relaxed: only a guess at the next free position; the CAS decides */
	uint64_t pos = VY_LOAD(q->enq, relaxed);
	unsigned char *c;
	for (;;) {
		c = q->cells + (pos & q->mask) * q->stride;
		/* V1 acquire: pairs with V4; the last reader of this cell is done with it */
		int64_t d = (int64_t)(VY_LOAD(c, acquire) - pos);
		if (d == 0) {
			/* relaxed: the claim orders nothing; the cell's word (V1, V2) does */
			if (VY_CAS(q->enq, &pos, pos + 1))
				break;  /* on failure pos holds the counter's value: retry there */
		} else if (d < 0) {
			return 0;   /* the cell still holds last lap's message: full */
		} else {
			pos = VY_LOAD(q->enq, relaxed);  /* another producer took it */
		}
	}
	memcpy(c + 8, &len, sizeof(len));
	memcpy(c + 16, msg, len);
	/* V2 release: pairs with V3; length and payload before the word that says full */
	VY_STORE(c, pos + 1, release);
	return 1;
}

/* consumer: the length, or -1 empty */
static inline ssize_t ref_vy_try_recv(struct ref_vy *q, void *buf)
{
	uint64_t pos = VY_LOAD(q->deq, relaxed);   /* relaxed: a guess, as in send */
	unsigned char *c;
	for (;;) {
		c = q->cells + (pos & q->mask) * q->stride;
		/* V3 acquire: pairs with V2; the producer's length and payload are visible */
		int64_t d = (int64_t)(VY_LOAD(c, acquire) - (pos + 1));
		if (d == 0) {
			if (VY_CAS(q->deq, &pos, pos + 1))
				break;
		} else if (d < 0) {
			return -1;  /* nothing published at pos yet: empty */
		} else {
			pos = VY_LOAD(q->deq, relaxed);
		}
	}
	uint32_t len;
	memcpy(&len, c + 8, sizeof(len));
	memcpy(buf, c + 16, len);
	/* V4 release: pairs with V1; our reads of the cell before next lap's producer writes */
	VY_STORE(c, pos + q->mask + 1, release);
	return len;
}

static inline void ref_vy_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

#endif /* REF_VYUKOV_H */
