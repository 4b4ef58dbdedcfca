/* SPDX-License-Identifier: MIT */
/*
 * poll.c - shmring_poll(): wait until any of up to SHMRING_POLL_MAX rings
 * can make progress.
 *
 * The single-ring wait (shmring__wait() in wait.c) over many rings: spin
 * while re-checking every item, then one sleep over every futex word with
 * the same announce / re-check handshake. wait.c does the handshake's steps
 * over an array of words (W1 on each, one W2, W3 on each; W4b, W5, W6);
 * here are only the re-check (W4) and the loop. What "ready" means for an
 * item comes from its ring's engine (the struct shmring__wait_for that
 * shmring__wait_table() in api.c finds): this file knows no ring kind.
 *
 * Why no wake-up is lost with several words: W2 follows every W1 and
 * precedes every W4, so for each ring the argument of a single wait holds
 * on its own (docs/design.md, section 4, "Many rings, one wait"); one word
 * whose snapshot is stale is enough for futex_waitv to refuse the sleep,
 * and one word woken is enough to end it.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include "private.h"

#define POLL_WORDS (2 * SHMRING_POLL_MAX)   /* an item may ask both directions */

/* one direction of one item's ring */
struct watch {
	const struct shmring__wait_for *w;   /* the engine's: what to wait for */
	unsigned item;
	unsigned ev;                         /* SHMRING_POLLIN or SHMRING_POLLOUT */
};

/*
 * Look at every watch once (the re-check W4 when it follows an
 * announcement). A watch whose ring is ready, in error (the next call on it
 * says which) or, when full is set, at its end (the peers it waits for are
 * gone: the next call returns -EPIPE; rate-limited as in shmring__wait())
 * sets its event in revents. Returns the number of items ready.
 */
static int check(struct shmring_pollitem *items, const struct watch *wt, unsigned nw, int full)
{
	int count = 0;

	for (unsigned k = 0; k < nw; k++) {
		struct shmring *r = items[wt[k].item].ring;
		/* the engine's own acquire loads (C1, P2, Q1, Q3) */
		int rc = wt[k].w->ready(r);
		if (rc == 0 && full)
			rc = shmring__wait_ended(r, wt[k].w, 0);
		if (rc) {
			count += items[wt[k].item].revents == 0;
			items[wt[k].item].revents |= wt[k].ev;
		}
	}
	return count;
}

struct poll_set {
	const struct shmring_pollitem *items;
	const struct watch *wt;
	unsigned nw;
};

/* the longest spin budget among the items' handles; one that never sleeps
 * (< 0) makes the poll never sleep */
static int64_t spin_budget(void *ctx, int64_t now)
{
	const struct poll_set *ps = ctx;
	const struct shmring_pollitem *items = ps->items;
	const struct watch *wt = ps->wt;
	unsigned nw = ps->nw;
	int64_t spin = 0;

	for (unsigned k = 0; k < nw; k++) {
		int64_t b = shmring__spin_budget(items[wt[k].item].ring, wt[k].w->dir, now);
		if (b < 0)
			return b;
		if (b > spin)
			spin = b;
	}
	return spin;
}

/* one sleep over every watch: announce, barrier, snapshot, re-check, wait,
 * un-announce. Returns the number of items the re-check found ready (their
 * revents set), 0 when the caller should look again. */
static int sleep_once(struct shmring_pollitem *items, const struct watch *wt, unsigned nw,
                      int64_t until_ns)
{
	struct shmring__sleeper s[POLL_WORDS];
	int count;

	if (nw == 0) {   /* every item has events 0: a plain sleep */
		struct timespec ts = { .tv_sec = until_ns / 1000000000,
		                       .tv_nsec = until_ns % 1000000000 };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		return 0;
	}
	for (unsigned k = 0; k < nw; k++)
		shmring__sleeper_init(&s[k], items[wt[k].item].ring, wt[k].w->dir);
	int exact = shmring__announce(s, nw);   /* W1 on each word, one W2, W3 on each */
	/* W4: re-check every ring, and whether its peers are gone */
	count = check(items, wt, nw, 1);
	if (count == 0 && shmring__announced(s, nw))   /* W4b on each word */
		shmring__sleep_on(s, nw, exact, until_ns);   /* W5: one futex_waitv */
	shmring__unannounce(s, nw);             /* W6 on each word */
	return count;
}

/*
 * The loop of shmring__wait(), over every item: spin (per the handles'
 * policies) re-checking them all, every SHMRING__SPIN_CHECK_EVERY rounds
 * also their ends and the clock; then sleep in slices of at most
 * SHMRING__SLEEP_SLICE_NS, so that a dead peer is noticed.
 */
int shmring_poll(struct shmring_pollitem *items, unsigned n, int64_t timeout_ns)
{
	struct watch wt[POLL_WORDS];
	unsigned nw = 0;
	int may_spin = 0;

	if (!items || n == 0 || n > SHMRING_POLL_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		items[i].revents = 0;
	for (unsigned i = 0; i < n; i++) {
		struct shmring *r = items[i].ring;
		unsigned ev = items[i].events;

		if (!r || (ev & ~(SHMRING_POLLIN | SHMRING_POLLOUT)))
			return -EINVAL;
		for (int dir = SHMRING__DIR_DATA; dir <= SHMRING__DIR_SPACE; dir++) {
			unsigned bit = dir == SHMRING__DIR_DATA ? SHMRING_POLLIN : SHMRING_POLLOUT;
			if (!(ev & bit))
				continue;
			const struct shmring__wait_for *w = shmring__wait_table(r, dir);
			if (!w)
				return -EINVAL;   /* the handle lacks the role */
			wt[nw++] = (struct watch){ .w = w, .item = i, .ev = bit };
			may_spin |= shmring__may_spin(r);
		}
	}

	struct shmring__pace pace = { 0 };
	struct poll_set ps = { items, wt, nw };
	int64_t until;
	/* as in shmring__wait(): a poll that may spin polls a while before the
	 * first clock read and end-of-stream check */
	unsigned iter = timeout_ns != 0 && may_spin ? 1 : 0;

	for (;;) {
		int full = iter % SHMRING__SPIN_CHECK_EVERY == 0;
		int count = check(items, wt, nw, full);
		if (count)
			return count;
		if (full) {
			int rc = shmring__pace(&pace, timeout_ns, spin_budget, &ps, &until);
			if (rc < 0)
				return rc;
			if (rc) {
				count = sleep_once(items, wt, nw, until);
				if (count)
					return count;
				iter = 0;
				continue;
			}
		}
		iter++;
		shmring__cpu_relax();
	}
}
