/* SPDX-License-Identifier: MIT */
/*
 * clock.c - time and CPU placement: the monotonic clock every deadline
 * uses, this thread's CPU affinity, and the default wait policy that
 * follows from where we and our peers may run.
 */
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include "private.h"

int64_t shmring__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* our CPU affinity as a mask of CPUs 0-63; 0 if unknown or wider */
uint64_t shmring__cpu_mask(void)
{
	cpu_set_t set;
	uint64_t mask = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (c >= 64)
			return 0;
		mask |= UINT64_C(1) << c;
	}
	return mask;
}

/*
 * The default wait policy (no shmring_set_spin() call): spin
 * SHMRING_DEFAULT_SPIN_NS before sleeping, except when spinning can only
 * delay the peer we wait for: one CPU online, or we and a peer of the other
 * side are both bound to the same single CPU. Re-decided at most every
 * 50 ms, since affinity can change; our own mask is republished in our
 * registry entries for the peers' benefit.
 */
int64_t shmring__auto_spin(struct shmring *r, int dir, int64_t now)
{
	if (priv(r)->spin_checked_ns && now - priv(r)->spin_checked_ns < SHMRING__LIVENESS_NS)
		return priv(r)->spin_auto_ns;
	priv(r)->spin_checked_ns = now;

	uint64_t mine = shmring__cpu_mask();
	if (mine != priv(r)->cpus && !priv(r)->readonly) {
		priv(r)->cpus = mine;
		/* relaxed: a hint for peers' wait policy, ordered with nothing */
		if (priv(r)->prod_entry >= 0)
			shmring__store_relaxed64(&r->hdr->producers[priv(r)->prod_entry].cpus, mine);
		if (priv(r)->cons_entry >= 0)
			shmring__store_relaxed64(&r->hdr->consumers[priv(r)->cons_entry].cpus, mine);
	}
	int64_t spin = SHMRING_DEFAULT_SPIN_NS;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		spin = 0;
	} else if (mine && !(mine & (mine - 1))) {
		const struct shmring__peer *tab = dir == SHMRING__DIR_DATA ? r->hdr->producers
		                                                           : r->hdr->consumers;
		for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {   /* SPSC: 0 only */
			/* relaxed: hints; a stale value only costs a spin budget */
			if (shmring__load_relaxed64(&tab[i].owner) &&
			    shmring__load_relaxed64(&tab[i].cpus) == mine) {
				spin = 0;
				break;
			}
		}
	}
	priv(r)->spin_auto_ns = spin;
	return spin;
}

/* the wait policy in force for r waiting in direction dir: spin this many
 * ns before sleeping (0: sleep at once; < 0: never sleep) */
int64_t shmring__spin_budget(struct shmring *r, int dir, int64_t now)
{
	return priv(r)->spin_auto ? shmring__auto_spin(r, dir, now) : priv(r)->spin_ns;
}

/*
 * Where this ring's attachments may run, as the registry's affinity hints
 * say, rescanned at most every SHMRING__LIVENESS_NS:
 * - share: could yielding our CPU let another process of this ring run
 *   (the claimant that holds us up, or one of our side with work to do)?
 *   Only if some other attachment may run where we may; else a
 *   sched_yield() is a system call for nothing.
 * - crowded: are there more attached processes than CPUs they may run on
 *   together (a worker pool on a small machine or a CPU-limited
 *   container)? Then a waiter's spin mostly keeps a peer that has work off
 *   the CPU, and wait.c yields instead (see shmring__crowded()).
 * - side_n: how many attachments each side has (ourselves included), for
 *   the MPMC batch wait (mpmc.c): the side with fewer is the bottleneck.
 */
static void placement_scan(struct shmring *r, int64_t now)
{
	struct shmring__priv *pv = priv(r);
	uint64_t mine = shmring__cpu_mask(), all = mine;
	unsigned procs = 1;   /* ourselves */
	unsigned side_n[2] = { pv->prod_entry >= 0, pv->cons_entry >= 0 };
	int any = 0;

	pv->share_checked_ns = now;
	for (int side = 0; side < 2; side++) {
		const struct shmring__peer *tab = side ? r->hdr->consumers : r->hdr->producers;
		int self = side ? pv->cons_entry : pv->prod_entry;
		unsigned n = shmring__public_kind(r->kind) == SHMRING_SPSC ? 1 : SHMRING__MAX_PEERS;
		for (unsigned i = 0; i < n; i++) {
			if ((int)i == self)
				continue;
			/* relaxed: hints (owner, cpus); a stale value costs
			 * one useless yield or one missed */
			uint64_t owner = shmring__load_relaxed64(&tab[i].owner);
			if (!owner)
				continue;
			uint64_t c = shmring__load_relaxed64(&tab[i].cpus);
			any |= !mine || !c || (c & mine);
			all = all && c ? all | c : 0;
			procs += owner != pv->self_id;   /* our other role: same process */
			side_n[side]++;
		}
	}
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned ncpu = all ? (unsigned)__builtin_popcountll(all) : online > 0 ? (unsigned)online : 1;
	pv->share = any;
	pv->crowded = procs > ncpu;
	pv->side_n[0] = side_n[0];
	pv->side_n[1] = side_n[1];
}

int shmring__may_share_cpu(struct shmring *r, int64_t now)
{
	if (!priv(r)->share_checked_ns || now - priv(r)->share_checked_ns >= SHMRING__LIVENESS_NS)
		placement_scan(r, now);
	return priv(r)->share;
}

int shmring__crowded(struct shmring *r, int64_t now)
{
	if (!priv(r)->share_checked_ns || now - priv(r)->share_checked_ns >= SHMRING__LIVENESS_NS)
		placement_scan(r, now);
	return priv(r)->crowded;
}

/* the policy's last word without reading the clock: may r spin at all? */
int shmring__may_spin(struct shmring *r)
{
	return priv(r)->spin_auto ? priv(r)->spin_auto_ns != 0 : priv(r)->spin_ns != 0;
}

int shmring__may_batch(struct shmring *r, int64_t timeout_ns)
{
	return (timeout_ns < 0 || timeout_ns >= SHMRING__BATCH_MIN_TIMEOUT_NS) &&
	       shmring__may_spin(r);
}

/* the absolute deadline of a wait of timeout_ns from now; INT64_MAX for a
 * negative timeout and, saturating, for one too large to add */
int64_t shmring__deadline(int64_t now, int64_t timeout_ns)
{
	if (timeout_ns < 0 || timeout_ns > INT64_MAX - now)
		return INT64_MAX;
	return now + timeout_ns;
}

/*
 * One look at the clock in a wait loop (shmring__wait, shmring_poll):
 * -EAGAIN for timeout 0, -ETIMEDOUT past the deadline, 1 when the spin
 * budget is spent (sleep until *until: at most a liveness slice, never past
 * the deadline), 0 to spin on. The first call starts the clock and asks
 * budget(ctx, now) for the spin budget (< 0: never sleep).
 */
int shmring__pace(struct shmring__pace *p, int64_t timeout_ns,
                  int64_t (*budget)(void *ctx, int64_t now), void *ctx, int64_t *until)
{
	if (timeout_ns == 0)
		return -EAGAIN;
	int64_t now = shmring__now_ns();
	p->now = now;
	if (!p->start) {
		p->start = now;
		p->spin = budget(ctx, now);
		p->deadline = shmring__deadline(now, timeout_ns);
	}
	if (now >= p->deadline)
		return -ETIMEDOUT;
	if (p->spin < 0 || now - p->start < p->spin)
		return 0;
	*until = now + SHMRING__SLEEP_SLICE_NS;
	if (*until > p->deadline)
		*until = p->deadline;
	return 1;
}
