/* SPDX-License-Identifier: MIT */
/*
 * shmring/atomic.h - memory-order wrappers for fields in shared memory.
 * Do not include directly; include <shmring.h>.
 *
 * Shared fields are plain uint32_t/uint64_t so that the layout is the same
 * ABI in C and C++ (g++ rejects C11 _Atomic in a C header). Every access to a
 * field that another process or thread may touch goes through one of these
 * wrappers, which name the C11 ordering they give. The C branch casts the
 * field to an _Atomic pointer for <stdatomic.h>; the C++ branch casts it to
 * std::atomic<T> (same size and representation on every Linux ABI we build
 * for), so the inline fast paths compile unchanged from C++ code.
 */
#ifndef SHMRING_ATOMIC_H
#define SHMRING_ATOMIC_H

#include <stdint.h>

#ifdef __cplusplus
#include <atomic>
#define SHMRING__A32(p) (reinterpret_cast<std::atomic<uint32_t> *>(p))
#define SHMRING__A64(p) (reinterpret_cast<std::atomic<uint64_t> *>(p))
#define SHMRING__MO(x) std::memory_order_##x
#define SHMRING__NS std::
#else
#include <stdatomic.h>
#define SHMRING__A32(p) ((_Atomic uint32_t *)(p))
#define SHMRING__A64(p) ((_Atomic uint64_t *)(p))
#define SHMRING__MO(x) memory_order_##x
#define SHMRING__NS
#endif

/* 64-bit loads and stores */
static inline uint64_t shmring__load_relaxed64(const uint64_t *p)
{
	return SHMRING__NS atomic_load_explicit(SHMRING__A64((uint64_t *)p), SHMRING__MO(relaxed));
}
static inline uint64_t shmring__load_acquire64(const uint64_t *p)
{
	return SHMRING__NS atomic_load_explicit(SHMRING__A64((uint64_t *)p), SHMRING__MO(acquire));
}
static inline uint64_t shmring__load_seqcst64(const uint64_t *p)
{
	return SHMRING__NS atomic_load_explicit(SHMRING__A64((uint64_t *)p), SHMRING__MO(seq_cst));
}
static inline void shmring__store_relaxed64(uint64_t *p, uint64_t v)
{
	SHMRING__NS atomic_store_explicit(SHMRING__A64(p), v, SHMRING__MO(relaxed));
}
static inline void shmring__store_release64(uint64_t *p, uint64_t v)
{
	SHMRING__NS atomic_store_explicit(SHMRING__A64(p), v, SHMRING__MO(release));
}
static inline void shmring__store_seqcst64(uint64_t *p, uint64_t v)
{
	SHMRING__NS atomic_store_explicit(SHMRING__A64(p), v, SHMRING__MO(seq_cst));
}
static inline uint64_t shmring__add_relaxed64(uint64_t *p, uint64_t v)
{
	return SHMRING__NS atomic_fetch_add_explicit(SHMRING__A64(p), v, SHMRING__MO(relaxed));
}
/* the announce-bit RMWs (wait.c): fetch-or, fetch-and, exchange */
static inline uint64_t shmring__or_seqcst64(uint64_t *p, uint64_t v)
{
	return SHMRING__NS atomic_fetch_or_explicit(SHMRING__A64(p), v, SHMRING__MO(seq_cst));
}
static inline uint64_t shmring__and_seqcst64(uint64_t *p, uint64_t v)
{
	return SHMRING__NS atomic_fetch_and_explicit(SHMRING__A64(p), v, SHMRING__MO(seq_cst));
}
static inline uint64_t shmring__xchg_seqcst64(uint64_t *p, uint64_t v)
{
	return SHMRING__NS atomic_exchange_explicit(SHMRING__A64(p), v, SHMRING__MO(seq_cst));
}
/* strong CAS; on failure *expected receives the current value */
static inline int shmring__cas_acqrel64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
	return SHMRING__NS atomic_compare_exchange_strong_explicit(SHMRING__A64(p), expected, desired,
			SHMRING__MO(acq_rel), SHMRING__MO(acquire));
}
/* weak CAS (may fail spuriously: callers loop) */
static inline int shmring__cas_relaxed64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
	return SHMRING__NS atomic_compare_exchange_weak_explicit(SHMRING__A64(p), expected, desired,
			SHMRING__MO(relaxed), SHMRING__MO(relaxed));
}

/* 32-bit */
static inline uint32_t shmring__load_relaxed32(const uint32_t *p)
{
	return SHMRING__NS atomic_load_explicit(SHMRING__A32((uint32_t *)p), SHMRING__MO(relaxed));
}
static inline uint32_t shmring__load_acquire32(const uint32_t *p)
{
	return SHMRING__NS atomic_load_explicit(SHMRING__A32((uint32_t *)p), SHMRING__MO(acquire));
}
static inline uint32_t shmring__load_seqcst32(const uint32_t *p)
{
	return SHMRING__NS atomic_load_explicit(SHMRING__A32((uint32_t *)p), SHMRING__MO(seq_cst));
}
static inline void shmring__store_relaxed32(uint32_t *p, uint32_t v)
{
	SHMRING__NS atomic_store_explicit(SHMRING__A32(p), v, SHMRING__MO(relaxed));
}
static inline void shmring__store_release32(uint32_t *p, uint32_t v)
{
	SHMRING__NS atomic_store_explicit(SHMRING__A32(p), v, SHMRING__MO(release));
}
static inline uint32_t shmring__add_seqcst32(uint32_t *p, uint32_t v)
{
	return SHMRING__NS atomic_fetch_add_explicit(SHMRING__A32(p), v, SHMRING__MO(seq_cst));
}
static inline uint32_t shmring__sub_seqcst32(uint32_t *p, uint32_t v)
{
	return SHMRING__NS atomic_fetch_sub_explicit(SHMRING__A32(p), v, SHMRING__MO(seq_cst));
}
static inline uint32_t shmring__or_seqcst32(uint32_t *p, uint32_t v)
{
	return SHMRING__NS atomic_fetch_or_explicit(SHMRING__A32(p), v, SHMRING__MO(seq_cst));
}
static inline uint32_t shmring__add_relaxed32(uint32_t *p, uint32_t v)
{
	return SHMRING__NS atomic_fetch_add_explicit(SHMRING__A32(p), v, SHMRING__MO(relaxed));
}
static inline uint32_t shmring__add_release32(uint32_t *p, uint32_t v)
{
	return SHMRING__NS atomic_fetch_add_explicit(SHMRING__A32(p), v, SHMRING__MO(release));
}
static inline int shmring__cas_seqcst32(uint32_t *p, uint32_t *expected, uint32_t desired)
{
	return SHMRING__NS atomic_compare_exchange_strong_explicit(SHMRING__A32(p), expected, desired,
			SHMRING__MO(seq_cst), SHMRING__MO(seq_cst));
}

/* fences */
static inline void shmring__fence_seqcst(void)
{
	SHMRING__NS atomic_thread_fence(SHMRING__MO(seq_cst));
}
/* release fence: no store after it becomes visible before the accesses
 * ahead of it (a seqlock writer's "mark, then write"); acquire fence: the
 * loads ahead of it complete before the accesses after it (a seqlock
 * reader's "read, then re-check") */
static inline void shmring__fence_release(void)
{
	SHMRING__NS atomic_thread_fence(SHMRING__MO(release));
}
static inline void shmring__fence_acquire(void)
{
	SHMRING__NS atomic_thread_fence(SHMRING__MO(acquire));
}
/* compiler-only barrier: orders nothing between CPUs by itself; upgraded to a
 * full fence by the waiter's membarrier() (see docs/memory-model.md, N1 and W2) */
static inline void shmring__compiler_barrier(void)
{
	SHMRING__NS atomic_signal_fence(SHMRING__MO(seq_cst));
}

/* spin-wait hint: not ordering, only a pause for the sibling hyperthread */
static inline void shmring__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* SHMRING_ATOMIC_H */
