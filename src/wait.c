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
 *
 * The waiter's steps are functions over an array of words (struct
 * shmring__sleeper): a single-ring wait (sleep_once()) passes one,
 * shmring_poll() (poll.c) one per ring and direction. W1 is done on every
 * word, then one W2 serves them all, so the argument above holds for each
 * word separately; W5 is then one futex_waitv over all of them.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "private.h"

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

static struct timespec abs_ts(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
	return ts;
}

/* FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline; shared (no
 * FUTEX_PRIVATE_FLAG): the notifier may be another process */
static long futex_wait_abs(uint32_t *word, uint32_t val, int64_t deadline_ns)
{
	struct timespec ts = abs_ts(deadline_ns);
	/* 0 (woken), or -1 with EAGAIN (word changed), EINTR, ETIMEDOUT: the
	 * caller re-checks in every case */
	return syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, &ts, NULL,
	               FUTEX_BITSET_MATCH_ANY);
}

/*
 * futex_waitv (Linux 5.16): sleep on up to SHMRING__WAITV_MAX (the kernel's
 * FUTEX_WAITV_MAX) words at once, each compared with its snapshot as it is
 * queued, as FUTEX_WAIT does for one; absolute CLOCK_MONOTONIC deadline;
 * shared words (FUTEX_32 without FUTEX_PRIVATE_FLAG). Returns 0 when it slept (woken, refused, timed out,
 * interrupted: the caller re-checks in every case), -1 when the kernel
 * cannot do it (the caller falls back). SHMRING_NO_FUTEX_WAITV=1 in the
 * environment takes the fallback from the start (to test it).
 */
#if defined(SYS_futex_waitv) && defined(FUTEX_32)
static int futex_waitv_abs(const struct shmring__sleeper *s, unsigned n, int64_t deadline_ns)
{
	/* process-wide: 1 usable, -1 not (ENOSYS, or EPERM from a seccomp
	 * filter); a lost race between threads costs one more failed call */
	static _Atomic int state;
	struct futex_waitv v[SHMRING__WAITV_MAX];
	/* relaxed: a process-wide latch; every thread reaches the same answer */
	int st = atomic_load_explicit(&state, memory_order_relaxed);

	if (!st) {
		const char *env = getenv("SHMRING_NO_FUTEX_WAITV");
		st = env && env[0] == '1' ? -1 : 1;
		atomic_store_explicit(&state, st, memory_order_relaxed);   /* relaxed: as above */
	}
	if (st < 0)
		return -1;
	if (n > SHMRING__WAITV_MAX)
		n = SHMRING__WAITV_MAX;
	for (unsigned i = 0; i < n; i++)
		v[i] = (struct futex_waitv){ .val = s[i].snap, .uaddr = (uintptr_t)s[i].word,
		                             .flags = FUTEX_32 };
	struct timespec ts = abs_ts(deadline_ns);
	if (syscall(SYS_futex_waitv, v, n, 0, &ts, CLOCK_MONOTONIC) >= 0 || errno == EAGAIN ||
	    errno == ETIMEDOUT || errno == EINTR)
		return 0;
	/* relaxed: as above. Another error (not expected) costs this one
	 * sleep the fallback */
	if (errno == ENOSYS || errno == EPERM)
		atomic_store_explicit(&state, -1, memory_order_relaxed);
	return -1;
}
#else
static int futex_waitv_abs(const struct shmring__sleeper *s, unsigned n, int64_t deadline_ns)
{
	(void)s, (void)n, (void)deadline_ns;
	return -1;
}
#endif

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
int shmring__wait_ended(struct shmring *r, const struct shmring__wait_for *w, int force)
{
	if (w->stalled)
		w->stalled(r, force);
	return w->gone(r, force);
}

void shmring__sleeper_init(struct shmring__sleeper *s, struct shmring *r, int dir)
{
	struct shmring__hdr *h = r->hdr;
	s->r = r;
	s->dir = dir;
	s->word = dir == SHMRING__DIR_DATA ? &h->data_futex : &h->space_futex;
	s->waiters = dir == SHMRING__DIR_DATA ? &h->data_waiters : &h->space_waiters;
	s->bit = priv(r)->readonly ? 0 : dir == SHMRING__DIR_DATA ? priv(r)->data_bit
	                                                          : priv(r)->space_bit;
	s->snap = 0;
}

/*
 * The steps before the re-check, for n words at once: announce on each
 * (W1), one barrier for all (W2), snapshot each word (W3). Returns 1 when
 * every wake will reach the sleep, 0 when one may be missed (our membarrier
 * failed, or a word without a bit to announce with): then the sleep must
 * be short.
 */
int shmring__announce(struct shmring__sleeper *s, unsigned n)
{
	int exact = 1;

	for (unsigned i = 0; i < n; i++) {
		shmring__flush_bytes(s[i].r);   /* counters are current while we sleep */
		if (s[i].bit)
			/* W1: announce; seq_cst RMW, pairs with N2 and X */
			shmring__or_seqcst64(s[i].waiters, s[i].bit);
		else
			exact = 0;
	}
	/* W2: store->load: every W1 before every W4. The membarrier also acts
	 * as N1's fence in every registered notifier; pairs with N1 */
	int mb_ok = global_barrier() == 0;
	shmring__fence_seqcst();
	for (unsigned i = 0; i < n; i++) {
		if (mb_ok)   /* relaxed: a statistic */
			shmring__add_relaxed64(&s[i].r->hdr->membarriers, 1);
		/* W3: seq_cst snapshot BEFORE the re-check; pairs with N3 */
		s[i].snap = shmring__load_seqcst32(s[i].word);
	}
	return exact && mb_ok;
}

/*
 * W4b, after the caller's re-check W4: is every announcement still there?
 * If a notifier took one (X), its N3 may precede our W3 and its wake would
 * be lost on us: the caller must not sleep, but look again and announce
 * anew.
 */
int shmring__announced(const struct shmring__sleeper *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		/* W4b: seq_cst: pairs with X */
		if (s[i].bit && !(shmring__load_seqcst64(s[i].waiters) & s[i].bit))
			return 0;
	return 1;
}

/*
 * W5: sleep until a notifier bumps one of the n words past its snapshot
 * (or it differs already), or until_ns. One word: FUTEX_WAIT_BITSET; more:
 * one futex_waitv call over up to SHMRING__WAITV_MAX of them. Capped at
 * SHMRING__SHORT_SLICE_NS when a wake could be missed: exact is 0
 * (shmring__announce()), some words are beyond what the kernel call takes,
 * or futex_waitv is not there (then FUTEX_WAIT on the first word, and the
 * others are looked at again when the slice ends).
 */
void shmring__sleep_on(struct shmring__sleeper *s, unsigned n, int exact, int64_t until_ns)
{
	int64_t cap = INT64_MAX;

	if (n == 0)
		return;
	if (!exact || n > SHMRING__WAITV_MAX)
		cap = shmring__now_ns() + SHMRING__SHORT_SLICE_NS;
	for (unsigned i = 0; i < n; i++)   /* relaxed: a statistic */
		shmring__add_relaxed64(s[i].dir == SHMRING__DIR_DATA ? &s[i].r->hdr->empty_waits
		                                                      : &s[i].r->hdr->full_waits, 1);
	if (n > 1 && futex_waitv_abs(s, n, cap < until_ns ? cap : until_ns) == 0)
		return;
	if (n > 1 && cap == INT64_MAX)
		cap = shmring__now_ns() + SHMRING__SHORT_SLICE_NS;
	futex_wait_abs(s[0].word, s[0].snap, cap < until_ns ? cap : until_ns);
}

/* W6: un-announce (a notifier may have done it already: X) */
void shmring__unannounce(struct shmring__sleeper *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (s[i].bit)
			/* W6: seq_cst RMW; pairs with X */
			shmring__and_seqcst64(s[i].waiters, ~s[i].bit);
}

/* one sleep: announce, barrier, snapshot, re-check, wait, un-announce.
 * Returns ready(r) as re-checked, 0 when the caller should look again */
static int sleep_once(struct shmring *r, const struct shmring__wait_for *w, int64_t until_ns)
{
	struct shmring__sleeper s;
	int rc;

	shmring__sleeper_init(&s, r, w->dir);
	if (!s.bit) {
		/* no registry entry to announce with (a handle copied across
		 * fork): poll at a slow pace instead of sleeping unannounced */
		struct timespec ts = { 0, SHMRING__SHORT_SLICE_NS };
		nanosleep(&ts, NULL);
		return w->ready(r);
	}
	int exact = shmring__announce(&s, 1);   /* W1, W2, W3 */
	rc = w->ready(r);                       /* W4: re-check */
	if (rc == 0 && !shmring__wait_ended(r, w, 0) && shmring__announced(&s, 1))   /* W4b */
		shmring__sleep_on(&s, 1, exact, until_ns);                              /* W5 */
	shmring__unannounce(&s, 1);             /* W6 */
	return rc;
}

/*
 * Wait until w->ready(r) > 0 (returned), an error from it, the deadline
 * (-ETIMEDOUT, or -EAGAIN when timeout_ns is 0), or the end: w->gone says
 * the peers we wait for left (-EPIPE, after a last look). Spin first, per
 * the handle's policy, then sleep in slices of at most
 * SHMRING__SLEEP_SLICE_NS so that a dead peer is noticed. (shmring_poll()
 * in poll.c is the same loop over many rings.)
 */
struct budget_of { struct shmring *r; int dir; };

/*
 * MPMC: the spin budget is spent, but what we wait for is held by a
 * claimant between its claim and its publication (or release), i.e. by a
 * process that is running or runnable, not by an idle ring. In a saturated
 * stream with more processes than CPUs that claimant was preempted, often
 * by a process of its own side now spinning in its place, and it resumes
 * within a scheduler slice or two: a sleep then costs a FUTEX_WAIT, a
 * membarrier and the holder's FUTEX_WAKE, nothing gained. So keep spinning,
 * for at most a bound after the budget ran out, then sleep as usual, once
 * per wait. The bound adapts per handle and direction: SHMRING__HELD_SPIN_NS
 * halved once for every hold that outlasted it (a holder that is stopped,
 * dead until the liveness scan says so, or one that keeps a reservation
 * for long on purpose), doubled back for every hold that ended while we
 * spun; so a ring whose holds are long stops being spun on, and its idle
 * waiters sleep almost as before. While spinning, yield the CPU when another
 * attachment of the ring may run on ours (it may be the holder, or a
 * process of our side with work to do): at once when our own side holds
 * us up (the holder may be the very process queued behind us), after
 * SHMRING__YIELD_GAP_NS when the other side does, then at doubling gaps,
 * so that waiters that take turns on one CPU make few system calls.
 * Returns 1 to keep spinning, 0 to sleep. h->since is 0 until the first
 * hold of this wait; h->done once we gave up on it or slept.
 */
struct held_spin { int64_t since, yield_at, gap; int done; };

static int keep_spinning(struct shmring *r, const struct shmring__wait_for *w,
                         struct held_spin *h, const struct shmring__pace *pace)
{
	uint8_t *shift = &priv(r)->held_shift[w->dir == SHMRING__DIR_DATA ? 0 : 1];
	int64_t now = pace->now;
	int held;

	if (!w->held || pace->spin <= 0 || h->done)
		return 0;   /* SPSC, a policy that sleeps at once, or given up */
	if (h->since && now - h->since >= (SHMRING__HELD_SPIN_NS >> *shift)) {
		h->done = 1;   /* held too long: sleep, as for an idle ring */
		if (*shift < SHMRING__HELD_SHIFT_MAX)
			++*shift;
		return 0;
	}
	held = w->held(r);
	if (!held)
		return 0;
	if (!h->since) {
		h->since = now;
		h->gap = SHMRING__YIELD_GAP_NS;
		h->yield_at = held == SHMRING__HELD_OURS ? now : now + h->gap;
	}
	if (now >= h->yield_at && shmring__may_share_cpu(r, now)) {
		sched_yield();
		h->yield_at = shmring__now_ns() + h->gap;
		if (h->gap < SHMRING__YIELD_GAP_MAX_NS)
			h->gap *= 2;
	}
	return 1;
}

/*
 * More processes attached than CPUs to run them (shmring__crowded()): a
 * worker pool of 1 producer and 4 consumers on 2 CPUs, say. There what we
 * wait for is usually a peer that is runnable but not running, often
 * queued behind us on our own CPU: spinning only delays it (and our polls
 * of the slot it is about to write steal that line from it), and sleeping
 * costs a membarrier (an IPI to every CPU), a FUTEX_WAIT and the peer's
 * FUTEX_WAKE per wait. So give the CPU away at every look (sched_yield:
 * the kernel runs whoever is queued here, or returns at once), from the
 * first look on, through the spin budget and SHMRING__CROWD_YIELD_NS past
 * it, then sleep as usual. A handle whose owner set a spin of 0 (sleep at
 * once) is left alone; the default's 0 (co-located with the peer, or one
 * CPU online: a crowded ring by definition) yields for the 1 ms. Returns 1
 * when it yielded in place of a sleep (over_budget) or of a spin; the
 * caller then looks again at once, not after another run of
 * SHMRING__SPIN_CHECK_EVERY spins.
 */
static int crowd_yield(struct shmring *r, const struct shmring__pace *pace, int over_budget)
{
	if (pace->spin == 0 && !priv(r)->spin_auto)
		return 0;   /* the caller's own "sleep at once" */
	if (over_budget && pace->now - pace->start - pace->spin >= SHMRING__CROWD_YIELD_NS)
		return 0;   /* yielded long enough: sleep */
	if (!shmring__crowded(r, pace->now))
		return 0;
	sched_yield();
	priv(r)->yields++;
	return 1;
}

static int64_t budget(void *ctx, int64_t now)
{
	struct budget_of *b = ctx;
	return shmring__spin_budget(b->r, b->dir, now);
}

int shmring__wait(struct shmring *r, const struct shmring__wait_for *w, int64_t timeout_ns)
{
	struct shmring__pace pace = { 0 };
	struct budget_of b = { r, w->dir };
	struct held_spin held = { 0, 0, 0, 0 };
	/* a caller that may wait, and may spin, polls a while before the first
	 * clock read and registry scan: the peer's message is often tens of ns
	 * away. Sleep-at-once handles (and co-located ones) skip this. */
	unsigned iter = timeout_ns != 0 && shmring__may_spin(r) ? 1 : 0;
	/* crowded as last seen (placement_scan(), at most 50 ms old): skip
	 * the blind polls and yield from the first look (crowd_yield()) */
	int yielding = priv(r)->crowded;
	int64_t until;
	int rc;

	for (;;) {
		rc = w->ready(r);
		if (rc) {
			uint8_t *shift = &priv(r)->held_shift[w->dir == SHMRING__DIR_DATA ? 0 : 1];
			if (held.since && !held.done && *shift)
				--*shift;   /* the hold ended while we spun */
			return rc;
		}
		if (yielding || (iter % SHMRING__SPIN_CHECK_EVERY) == 0) {
			if (shmring__wait_ended(r, w, 0)) {
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
			rc = shmring__pace(&pace, timeout_ns, budget, &b, &until);
			if (rc < 0)
				return rc;
			yielding = crowd_yield(r, &pace, rc);
			if (yielding)
				rc = 0;   /* yielded instead of spinning or sleeping */
			if (rc && !keep_spinning(r, w, &held, &pace)) {
				held.done = held.since != 0;   /* held, then slept */
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
