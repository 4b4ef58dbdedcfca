/* SPDX-License-Identifier: MIT */
/*
 * wait.c - spin, then sleep on a futex word in shared memory; wake sleepers.
 *
 * The waiter's half of the handshake (the notifier's half is
 * shmring__notify() in shmring/handle.h). Labels match docs/memory-model.md.
 * Sleepers announce themselves with one bit each (their registry entry) in
 * the side's waiters mask; a notifier takes the whole mask and wakes them
 * all, so every sleeper that could make progress re-checks (none is left
 * asleep behind one that could not), and a dead sleeper's bit is gone after
 * one wake.
 *
 *   waiter                                notifier
 *   W1 mask |= bit         (seq_cst RMW)   P1 publish index    (release)
 *   W2 membarrier + fence  (store->load)   N1 barrier/fence    (store->load)
 *   W3 snap = futex word   (seq_cst)       N2 load mask        (relaxed)
 *   W4 re-check the ring                   X  take = mask := 0 (seq_cst RMW)
 *   W4b mask still has bit? (seq_cst)      N3 futex word += 1  (seq_cst RMW)
 *   W5 FUTEX_WAIT(word, snap, deadline)    N4 FUTEX_WAKE(all)
 *   W6 mask &= ~bit        (seq_cst RMW)
 *
 * If W4 misses P1, then N2 comes after W1 in the order the fences impose, so
 * the notifier sees the bit, takes it (X) and bumps the word (N3). If W4b
 * still saw our bit, W4b (and W3 before it) precede X and so N3: the kernel
 * either refuses the wait (word != snap) or N4 wakes it. If W4b found the
 * bit taken, we do not sleep: we announce again (a notifier that took our
 * bit may have bumped the word before our snapshot). Full argument:
 * docs/design.md, "Sleeping and waking"; the Spin model in tests/model/.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "private.h"

#define SLEEP_SLICE_NS      100000000   /* wake at least this often to check liveness */
#define SLEEP_SLICE_NO_MB_NS  1000000   /* when our membarrier failed: bound a missed wake */
#define SPIN_CHECK_EVERY    64          /* spin iterations between clock reads */

/* process-wide: 1 registered for global-expedited membarrier, -1 not */
static _Atomic int mb_state;

/*
 * Register this process as a target of MEMBARRIER_CMD_GLOBAL_EXPEDITED. Only
 * then may its notifiers use a compiler barrier for N1. SHMRING_FENCE=1 in
 * the environment forces real fences (for measuring the difference).
 * SHMRING_NO_MEMBARRIER at build time (ThreadSanitizer builds) does too.
 */
int shmring__fence_free_init(void)
{
	int st = atomic_load_explicit(&mb_state, memory_order_relaxed);
	if (st)
		return st > 0;
#ifdef SHMRING_NO_MEMBARRIER
	st = -1;
#else
	const char *env = getenv("SHMRING_FENCE");
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (env && env[0] == '1')
		st = -1;
	else if (cmds < 0 || !(cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
	         !(cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED))
		st = -1;
	else if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) < 0)
		st = -1;
	else
		st = 1;
#endif
	/* relaxed: idempotent; every thread computes the same answer */
	atomic_store_explicit(&mb_state, st, memory_order_relaxed);
	return st > 0;
}

/* W2's membarrier: a full barrier on every CPU running a registered
 * process. 0 on success. Waiters always issue it (if the kernel has it),
 * whatever their own registration: the notifier may be registered. */
static int global_barrier(void)
{
#ifdef SHMRING_NO_MEMBARRIER
	return -1;
#else
	static _Atomic int unavailable;
	/* relaxed: a process-wide latch; every thread reaches the same answer */
	if (atomic_load_explicit(&unavailable, memory_order_relaxed))
		return -1;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0)
		return 0;
	/* only a kernel that does not have it (or forbids it) is latched; a
	 * transient failure (ENOMEM, EINTR) costs this one sleep a fallback */
	if (errno == ENOSYS || errno == EINVAL || errno == EPERM)
		atomic_store_explicit(&unavailable, 1, memory_order_relaxed);
	return -1;
#endif
}

/* FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline; shared (no
 * FUTEX_PRIVATE_FLAG): the notifier may be another process */
static long futex_wait_abs(uint32_t *word, uint32_t val, int64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = deadline_ns / 1000000000,
		.tv_nsec = deadline_ns % 1000000000,
	};
	/* 0 (woken), or -1 with EAGAIN (word changed), EINTR, ETIMEDOUT: the
	 * caller re-checks in every case */
	return syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, &ts, NULL,
	               FUTEX_BITSET_MATCH_ANY);
}

/*
 * The notifier's slow path: somebody announced (N2 saw a bit). Take every
 * announcement at once (X), bump the word (N3), wake every sleeper (N4).
 * Waking them all, not n of them, is what keeps a wake from being spent on
 * a sleeper that cannot use it (an MPMC consumer whose next position is
 * not yet published) while one that could stays asleep; each woken sleeper
 * re-checks and announces again if it must still wait.
 */
void shmring__wake(struct shmring *r, int dir)
{
	struct shmring__hdr *h = r->hdr;
	uint32_t *word = dir == SHMRING__DIR_DATA ? &h->data_futex : &h->space_futex;
	uint64_t *waiters = dir == SHMRING__DIR_DATA ? &h->data_waiters : &h->space_waiters;

	if (priv(r)->readonly)
		return;
	/* X: seq_cst RMW: take the announcements; pairs with W1 and W4b. A
	 * concurrent notifier that took them first does the wake itself */
	if (shmring__xchg_seqcst64(waiters, 0) == 0)
		return;
	/* N3: seq_cst RMW: after X in the single order, so after the W3 of
	 * every sleeper whose W4b saw its bit; pairs with W3 */
	shmring__add_seqcst32(word, 1);
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);   /* N4 */
	/* relaxed: a statistic, ordered with nothing */
	shmring__add_relaxed64(dir == SHMRING__DIR_DATA ? &h->prod_wakes : &h->cons_wakes, 1);
}

/* the wait is over for good: the peers we wait for are gone (after
 * repairing, rate-limited, what a dead one may have left in our way) */
static int ended(struct shmring *r, const struct shmring__wait_for *w, int force)
{
	if (w->stalled)
		w->stalled(r, force);
	return w->gone(r, force);
}

/* one sleep: announce, barrier, snapshot, re-check, wait, un-announce.
 * Returns ready(r) as re-checked, 0 when the caller should look again */
static int sleep_once(struct shmring *r, const struct shmring__wait_for *w, int64_t until_ns)
{
	int dir = w->dir;
	struct shmring__hdr *h = r->hdr;
	uint32_t *word = dir == SHMRING__DIR_DATA ? &h->data_futex : &h->space_futex;
	uint64_t *waiters = dir == SHMRING__DIR_DATA ? &h->data_waiters : &h->space_waiters;
	uint64_t bit = dir == SHMRING__DIR_DATA ? priv(r)->data_bit : priv(r)->space_bit;
	int rc;

	if (!bit) {
		/* no registry entry to announce with (a handle copied across
		 * fork): poll at a slow pace instead of sleeping unannounced */
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		return w->ready(r);
	}
	shmring__flush_bytes(r);   /* counters are current while we sleep */
	/* W1: announce; seq_cst RMW, pairs with N2 and X */
	shmring__or_seqcst64(waiters, bit);
	/* W2: store->load: W1 before W4. The membarrier also acts as N1's
	 * fence in every registered notifier; pairs with N1 */
	int mb_ok = global_barrier() == 0;
	if (mb_ok)   /* relaxed: a statistic */
		shmring__add_relaxed64(&h->membarriers, 1);
	shmring__fence_seqcst();
	/* W3: seq_cst snapshot BEFORE the re-check; pairs with N3 */
	uint32_t snap = shmring__load_seqcst32(word);
	/* W4: re-check */
	rc = w->ready(r);
	/* W4b: seq_cst: is our announcement still there? If a notifier took it
	 * (X), its N3 may precede W3 and its wake would be lost on us: do not
	 * sleep, let the caller look again and announce anew. Pairs with X */
	if (rc == 0 && !ended(r, w, 0) && (shmring__load_seqcst64(waiters) & bit)) {
		if (!mb_ok) {
			int64_t cap = shmring__now_ns() + SLEEP_SLICE_NO_MB_NS;
			if (cap < until_ns)
				until_ns = cap;
		}
		/* relaxed: a statistic */
		shmring__add_relaxed64(dir == SHMRING__DIR_DATA ? &h->empty_waits : &h->full_waits, 1);
		futex_wait_abs(word, snap, until_ns);   /* W5 */
	}
	/* W6: un-announce (a notifier may have done it already: X) */
	shmring__and_seqcst64(waiters, ~bit);
	return rc;
}

/*
 * Wait until w->ready(r) > 0 (returned), an error from it, the deadline
 * (-ETIMEDOUT, or -EAGAIN when timeout_ns is 0), or the end: w->gone says
 * the peers we wait for left (-EPIPE, after a last look). Spin first, per
 * the handle's policy, then sleep in slices of at most SLEEP_SLICE_NS so
 * that a dead peer is noticed.
 */
int shmring__wait(struct shmring *r, const struct shmring__wait_for *w, int64_t timeout_ns)
{
	struct shmring__priv *pv = priv(r);
	int64_t start = 0, deadline = INT64_MAX, spin = 0;
	/* a caller that may wait, and may spin, polls a while before the first
	 * clock read and registry scan: the peer's message is often tens of ns
	 * away. Sleep-at-once handles (and co-located ones) skip this. */
	int may_spin = pv->spin_auto ? pv->spin_auto_ns != 0 : pv->spin_ns != 0;
	unsigned iter = timeout_ns != 0 && may_spin ? 1 : 0;
	int rc;

	for (;;) {
		rc = w->ready(r);
		if (rc)
			return rc;
		if ((iter % SPIN_CHECK_EVERY) == 0) {
			if (ended(r, w, 0)) {
				/* the end observed (acquire): anything published
				 * before it is visible now; deliver it first, even
				 * behind a dead claimant */
				if (w->stalled)
					w->stalled(r, 1);
				rc = w->ready(r);
				if (rc)
					return rc;
				if (w->at_end)
					w->at_end(r);
				return -EPIPE;
			}
			if (timeout_ns == 0)
				return -EAGAIN;
			int64_t now = shmring__now_ns();
			if (!start) {
				start = now;
				spin = pv->spin_auto ? shmring__auto_spin(r, w->dir, now) : pv->spin_ns;
				if (timeout_ns > 0)
					deadline = timeout_ns > INT64_MAX - now ? INT64_MAX
					                                        : now + timeout_ns;
			}
			if (now >= deadline)
				return -ETIMEDOUT;
			if (spin >= 0 && now - start >= spin) {
				int64_t until = now + SLEEP_SLICE_NS;
				if (until > deadline)
					until = deadline;
				rc = sleep_once(r, w, until);
				if (rc)
					return rc;
				iter = 0;
				continue;
			}
		}
		iter++;
		shmring__cpu_relax();
	}
}
