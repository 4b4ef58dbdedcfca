/* SPDX-License-Identifier: MIT */
/*
 * mpmc.c - the MPMC engine: a bounded ring with a sequence number per slot
 * (after D. Vyukov). prod_idx and cons_idx count claimed positions; a slot's
 * seq says whose turn it is:
 *
 *   seq == pos          free for the producer that claims pos
 *   seq == pos + 1      holds the message of pos, for the consumer that claims pos
 *   seq == pos + slots  released: free for the producer of pos + slots
 *
 * Claiming is one CAS on prod_idx/cons_idx (a burst claims k positions with
 * one CAS); publishing is a release store to the slot's seq. Producers never
 * wait for each other to publish, and neither do consumers.
 *
 * Progress: lock-free for claims. Blocking between the two sides: a producer
 * preempted (or killed) between its claim and its publication holds back
 * every consumer at that position until it publishes; the consumers' waits
 * are bounded by their timeouts and they keep checking liveness, but the
 * slot of a killed claimant is not recovered in layout version 1 (see
 * docs/design.md, "MPMC").
 *
 * Labels: Q1 producer seq load (acquire) pairs with Q4; Q2 producer publish
 * (release) pairs with Q3; Q3 consumer seq load (acquire); Q4 consumer
 * release (release store of pos + slots).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "internal.h"

static inline struct shmring__slot_mpmc *mslot(struct shmring *r, uint64_t pos)
{
	return (struct shmring__slot_mpmc *)shmring__slot(r, pos);
}

static void release_slot(struct shmring *r, uint64_t pos);

void shmring__mpmc_init_slots(struct shmring *r)
{
	/* before the magic is published (M1), so plain stores suffice */
	for (uint64_t i = 0; i < r->nslots; i++)
		mslot(r, i)->seq = i;
}

/*
 * Claim intent: before each claim CAS, an attachment records in its registry
 * entry the positions [pos, pos + k) it is about to claim (I1). The intent
 * stays until its next claim attempt, which comes after it stamped every
 * slot of this claim (pstamp/stamp). So while a claim is made and not yet
 * stamped, the claimant's intent covers it: a peer that finds a claimed,
 * unstamped slot and no live attachment whose intent covers its position
 * knows the claimant died between its CAS and its stamp (see
 * unstamped_claim_dead()). Both stores are release: a peer that reads a
 * newer intent (acquire) also sees the stamps made before it.
 */
static inline void intent(struct shmring *r, int consumer, uint64_t pos, unsigned k)
{
	int i = consumer ? r->cons_peer : r->prod_peer;
	uint32_t *cached = consumer ? &r->c.intent_n : &r->p.intent_n;

	if (i < 0)
		return;
	if (*cached != k) {
		*cached = k;
		/* I1a: release: after our earlier stamps; pairs with I2 */
		shmring__store_release32(&r->hdr->claim_n[consumer][i], k);
	}
	struct shmring__peer *e = consumer ? &r->hdr->consumers[i] : &r->hdr->producers[i];
	/* I1: release: after the count and our earlier stamps; the claim CAS
	 * (release) that follows publishes it with the index; pairs with I2 */
	shmring__store_release64(&e->claim, pos + 1);
}

/*
 * Claim up to n positions on one side. Returns the count claimed (>= 1,
 * first position in *first), 0 if none is ready (full / empty), or -EPROTO
 * when the shared state is impossible (a slot's seq ahead of its claim index
 * while the index does not move: only a scribbling peer does that).
 * Consumers pass fit[0..n-1]: a message is claimed only if its length fits
 * its buffer; when the first does not fit, nothing is claimed (-EMSGSIZE)
 * and the message stays in the ring.
 */
static int claim(struct shmring *r, int consumer, unsigned n, uint64_t *first,
                 const struct iovec *fit)
{
	uint64_t *idx = consumer ? &r->hdr->cons_idx : &r->hdr->prod_idx;
	uint64_t want = consumer ? 1 : 0;   /* seq - pos that means "ready for us" */
	/* relaxed: the CAS below decides; the seq loads give the ordering */
	uint64_t pos = shmring__load_relaxed64(idx);
	unsigned stuck = 0;

	for (;;) {
		/* Q1 (producer) / Q3 (consumer): acquire the slot's state */
		uint64_t seq = shmring__load_acquire64(&mslot(r, pos)->seq);
		int64_t dif = (int64_t)(seq - (pos + want));
		if (dif < 0)
			return 0;   /* full (producer) or empty / not yet published */
		if (dif > 0) {
			/* another claimed pos: the index has moved (coherence after
			 * Q1/Q3), unless the seq is garbage */
			uint64_t again = shmring__load_relaxed64(idx);   /* relaxed: as pos above */
			if (again == pos && ++stuck > 1000)
				return -EPROTO;
			pos = again;
			continue;
		}
		unsigned k = 0;
		int skip = 0;
		/* k stays below INT_MAX: it is returned as an int, and every
		 * position claimed must be published by the caller */
		while (k < n && k < r->nslots && k < (unsigned)INT_MAX) {
			struct shmring__slot_mpmc *sl = mslot(r, pos + k);
			/* Q1/Q3 for the further slots of a burst */
			if (k > 0 && shmring__load_acquire64(&sl->seq) != pos + k + want)
				break;
			if (consumer) {
				/* relaxed peek, after Q3; re-read and re-checked once claimed */
				uint32_t len = shmring__load_relaxed32(&sl->len);
				if (len == SHMRING__LEN_SKIP) {
					skip = k == 0;   /* a dead producer's slot: drop it */
					if (skip)
						k = 1;
					break;
				}
				if (fit && len <= r->slot_size && len > fit[k].iov_len) {
					if (k == 0)
						return -EMSGSIZE;   /* not claimed: it stays */
					break;
				}
			}
			k++;
		}
		intent(r, consumer, pos, k);
		/* one CAS claims all k; acq_rel keeps our slot accesses after it,
		 * and our intent (I1) before it */
		if (shmring__cas_acqrel64(idx, &pos, pos + k)) {
			if (skip) {
				/* nothing to deliver: free it and look further */
				release_slot(r, pos);
				shmring__notify(r, SHMRING__DIR_SPACE, 1);
				pos++;
				continue;
			}
			*first = pos;
			return (int)k;
		}
		/* the CAS loaded the current index into pos: look again */
	}
}

void (*shmring__test_hook_stamp)(void);

/* the attachment a stamp names is gone (freed, re-used, or its holder's
 * kernel lock released: closed, dead or exec'd) */
static int stamp_dead(struct shmring *r, uint32_t st)
{
	unsigned idx = st & 0x7f;
	int side = (st & SHMRING__STAMP_PRODUCER) ? SHMRING_PRODUCER : SHMRING_CONSUMER;
	const struct shmring__peer *tab = side == SHMRING_PRODUCER ? r->hdr->producers
	                                                           : r->hdr->consumers;
	if (idx == 0 || idx > SHMRING__MAX_PEERS)
		return 0;   /* not stamped (or garbage): assume alive */
	const struct shmring__peer *e = &tab[idx - 1];
	/* acquire: pairs with the release stores of a claim (the owner word
	 * after gen); gen relaxed: the owner word orders it */
	uint64_t owner = shmring__load_acquire64(&e->owner);
	uint32_t gen = shmring__load_relaxed32(&e->gen);
	if (shmring__test_hook_stamp)
		shmring__test_hook_stamp();
	/* gen first, lock second: the holder of gen took the lock before it
	 * wrote gen, so "gen matches, lock free" means that holder is gone;
	 * a new claimant that locked but has not bumped gen yet reads as
	 * alive (we only wait longer) */
	return !(owner && (gen & 0xffffff) == (st >> 8) &&
	         shmring__entry_held(r, side, idx - 1));
}

/*
 * Position pos of a side is claimed (that side's index is past it) but its
 * slot carries no stamp of the claimant. Is the claimant dead, killed
 * between its claim CAS and its stamp? Yes when no live attachment of that
 * side has an intent covering pos. The index load (acquire) reads the
 * claimant's CAS or a later one, so its intent (I1, before that CAS) or a
 * later one of its intents is visible to the loads below (I2); a later
 * intent comes after its stamps, which the caller's acquire re-read of the
 * slot's owner then sees. So a live claimant shows up either here or as a
 * stamp. A live entry whose intent we read stale only makes us wait.
 */
static int unstamped_claim_dead(struct shmring *r, int side, uint64_t pos)
{
	int consumer = side == SHMRING_CONSUMER;
	const struct shmring__peer *tab = consumer ? r->hdr->consumers : r->hdr->producers;
	/* acquire: pairs with the claim CAS (acq_rel) */
	uint64_t idx = shmring__load_acquire64(consumer ? &r->hdr->cons_idx : &r->hdr->prod_idx);

	if ((int64_t)(idx - pos) <= 0)
		return 0;   /* not claimed yet: the claimants are just behind */
	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
		/* I2: acquire: pairs with I1 / I1a */
		uint64_t c = shmring__load_acquire64(&tab[i].claim);
		if (!c)
			continue;
		uint32_t k = shmring__load_acquire32(&r->hdr->claim_n[consumer][i]);
		if (pos - (c - 1) >= k)
			continue;   /* does not cover pos */
		if (shmring__entry_held(r, side, i))
			return 0;   /* a live claimant may still stamp it */
	}
	return 1;
}

/* the recovery scans run at most every 50 ms per handle (they may read
 * /proc), unless forced */
static int due(struct shmring *r, int64_t *last, int force)
{
	int64_t now = shmring__now_ns();
	if (r->readonly || (!force && now - *last < SHMRING__LIVENESS_NS))
		return 0;
	*last = now;
	return 1;
}

/*
 * Producer, blocked on a full ring: is the slot we wait for held by a
 * consumer that died between claiming and releasing it? Its stamp names the
 * registry entry and generation of the claimant; if that attachment is gone
 * (freed, re-used, or its process dead), free the slot on its behalf: the
 * message it held is lost with it (counted in orphans). A stamp of 0 means
 * "not stamped yet" and is left alone. At most every 50 ms.
 */
void shmring__mpmc_recover(struct shmring *r)
{
	if (!due(r, &r->recover_ns, 0))
		return;
	/* relaxed: only picks the slot to look at; its seq (Q1) decides */
	uint64_t pos = shmring__load_relaxed64(&r->hdr->prod_idx);
	struct shmring__slot_mpmc *sl = mslot(r, pos);
	uint64_t prev = pos - r->nslots;          /* the position the slot last held */
	uint64_t seq = shmring__load_acquire64(&sl->seq);   /* Q1 */
	if (seq != prev + 1)
		return;   /* free already, or never published: nothing to recover */
	/* claimed by a consumer? (acquire: its stamp store may follow) */
	if ((int64_t)(shmring__load_acquire64(&r->hdr->cons_idx) - prev) <= 0)
		return;   /* not claimed yet: the consumers are just behind */
	/* relaxed: a hint (a stale 0 or a live stamp only means we wait) */
	uint32_t st = shmring__load_relaxed32(&sl->owner);
	if ((st & 0x7f) == 0 || (st & SHMRING__STAMP_PRODUCER)) {
		/* no consumer stamp: its claimant may have died between its
		 * claim and its stamp; then the owner, re-read after the
		 * intents (acquire: sees a stamp made before a later intent),
		 * must still carry none */
		if (!unstamped_claim_dead(r, SHMRING_CONSUMER, prev))
			return;
		st = shmring__load_acquire32(&sl->owner);
		if ((st & 0x7f) != 0 && !(st & SHMRING__STAMP_PRODUCER))
			return;   /* stamped meanwhile: the next scan looks at it */
	} else if (!stamp_dead(r, st)) {
		return;   /* the claimant lives: it will release */
	}
	/* Q4 on the dead consumer's behalf; the CAS makes one producer do it */
	if (shmring__cas_acqrel64(&sl->seq, &seq, prev + r->nslots)) {
		shmring__add_relaxed64(&r->hdr->orphans, 1);   /* relaxed: a statistic */
		shmring__notify(r, SHMRING__DIR_SPACE, 1);
	}
}

/*
 * Consumer, at position pos whose slot is claimed but carries no producer
 * stamp: skip it if its producer died between its claim CAS and its stamp.
 * Returns 1 if the slot was skipped (by us or meanwhile by someone else).
 */
static int skip_unstamped(struct shmring *r, struct shmring__slot_mpmc *sl, uint64_t pos)
{
	if (!unstamped_claim_dead(r, SHMRING_PRODUCER, pos))
		return 0;
	/* acquire: after the intents (I2): a stamp made before a later
	 * intent of a live claimant is visible now */
	uint32_t st = shmring__load_acquire32(&sl->owner);
	if ((st & SHMRING__STAMP_PRODUCER) && (st & 0x7f) != 0)
		return 0;   /* stamped meanwhile: the next scan looks at it */
	/* take it: one skipper only. The marker (producer bit, no entry)
	 * reads as "stamped, alive" to other skippers */
	if (!shmring__cas_seqcst32(&sl->owner, &st, SHMRING__STAMP_PRODUCER))
		return 0;
	/* acquire: still the same claim? (another skipper may have skipped
	 * it and the ring gone on while we looked) */
	if (shmring__load_acquire64(&sl->seq) != pos) {
		uint32_t mark = SHMRING__STAMP_PRODUCER;
		shmring__cas_seqcst32(&sl->owner, &mark, st);   /* put it back */
		return 1;
	}
	/* relaxed: ordered before consumers see it by the release below */
	shmring__store_relaxed32(&sl->len, SHMRING__LEN_SKIP);
	shmring__store_relaxed32(&sl->owner, 0);
	/* Q2 on the dead producer's behalf */
	shmring__store_release64(&sl->seq, pos + 1);
	shmring__add_relaxed64(&r->hdr->abandoned, 1);   /* relaxed: a statistic */
	shmring__notify(r, SHMRING__DIR_DATA, 1);
	return 1;
}

/*
 * Consumer, waiting at a slot that is claimed but not published: did its
 * producer die between claim and publication? Producers stamp the slots
 * they claim; if the stamp's attachment is gone, publish the slot on its
 * behalf as a skip record (len SHMRING__LEN_SKIP), which consumers drop
 * without delivering: the message was never sent (its send never
 * returned). Consecutive dead claims (a burst) are skipped together. At
 * most every 50 ms unless forced (at end of stream).
 */
void shmring__mpmc_skip_dead(struct shmring *r, int force)
{
	if (!due(r, &r->skip_ns, force))
		return;
	/* relaxed: only picks where to start looking; each seq (Q3) decides */
	uint64_t pos = shmring__load_relaxed64(&r->hdr->cons_idx);
	for (uint64_t i = 0; i < r->nslots; i++, pos++) {
		struct shmring__slot_mpmc *sl = mslot(r, pos);
		uint64_t seq = shmring__load_acquire64(&sl->seq);   /* Q3 */
		if (seq == pos + 1)
			continue;   /* published: consumers will take it */
		if (seq != pos)
			return;
		/* relaxed: the CAS below re-checks it before anything is written */
		uint32_t st = shmring__load_relaxed32(&sl->owner);
		if (!(st & SHMRING__STAMP_PRODUCER) || (st & 0x7f) == 0) {
			if (!skip_unstamped(r, sl, pos))
				return;
			continue;
		}
		if (!stamp_dead(r, st))
			return;   /* its producer lives */
		/* take the skip first: one CAS from the dead stamp makes us its
		 * only skipper. Writing len before winning would clobber a live
		 * message if another consumer skipped the slot and a producer
		 * reused it while we were checking liveness. */
		if (!shmring__cas_seqcst32(&sl->owner, &st, 0))   /* one skipper only */
			return;
		/* The stamp names an attachment, not a claim: while we checked
		 * liveness, the dead producer may have published this position,
		 * gone round the ring and claimed the slot again, for a later
		 * position, with the same stamp. Our CAS read its last stamp
		 * (released by pstamp()), so the slot's seq (acquire) is now
		 * exactly that last, unpublished claim: skip that position, never
		 * the one we first looked at (seq must never go backwards). */
		uint64_t claimed = shmring__load_acquire64(&sl->seq);   /* Q3 */
		uint64_t prod = shmring__load_acquire64(&r->hdr->prod_idx);
		if (((claimed - pos) & r->mask) != 0 || (int64_t)(claimed - pos) < 0 ||
		    (int64_t)(prod - claimed) <= 0)
			return;   /* not a claim of this slot's (garbage): leave it */
		/* relaxed: ordered before consumers see it by the release below */
		shmring__store_relaxed32(&sl->len, SHMRING__LEN_SKIP);
		/* Q2 on the dead producer's behalf */
		shmring__store_release64(&sl->seq, claimed + 1);
		shmring__add_relaxed64(&r->hdr->abandoned, 1);   /* relaxed: a statistic */
		shmring__notify(r, SHMRING__DIR_DATA, 1);
		if (claimed != pos)
			return;   /* the ring moved on meanwhile: look again later */
	}
}

/* the wait loop's re-checks (W4): relaxed index loads only pick the slot,
 * whose seq (acquire) says whether it is ready */
static int ready_space(struct shmring *r)
{
	uint64_t pos = shmring__load_relaxed64(&r->hdr->prod_idx);
	uint64_t seq = shmring__load_acquire64(&mslot(r, pos)->seq);   /* Q1 */
	return (int64_t)(seq - pos) >= 0;
}

static int ready_data(struct shmring *r)
{
	uint64_t pos = shmring__load_relaxed64(&r->hdr->cons_idx);
	uint64_t seq = shmring__load_acquire64(&mslot(r, pos)->seq);   /* Q3 */
	return (int64_t)(seq - (pos + 1)) >= 0;
}

/* claim with waiting: retries the claim after every wake */
static int claim_wait(struct shmring *r, int consumer, unsigned n, uint64_t *first,
                      const struct iovec *fit, int64_t timeout_ns)
{
	int64_t deadline = 0;

	for (;;) {
		int k = claim(r, consumer, n, first, fit);
		if (k != 0)
			return k;
		/* another claimant may take what a wait announced: wait again,
		 * for what is left of the caller's timeout, not a fresh one */
		int64_t left = timeout_ns;
		if (timeout_ns > 0) {
			int64_t now = shmring__now_ns();
			if (!deadline)   /* saturating: a huge timeout is "forever" */
				deadline = timeout_ns > INT64_MAX - now ? INT64_MAX
				                                        : now + timeout_ns;
			left = deadline - now;
			if (left <= 0)
				return -ETIMEDOUT;
		}
		int rc = shmring__wait(r, consumer ? SHMRING__DIR_DATA : SHMRING__DIR_SPACE,
		                       left, consumer ? ready_data : ready_space);
		if (rc < 0)
			return rc;
	}
}

static void publish(struct shmring *r, uint64_t pos)
{
	/* relaxed: ordered before the consumers see it by Q2 below */
	shmring__store_relaxed32(&mslot(r, pos)->owner, 0);   /* not claimed yet */
	/* Q2: release: length and payload before the seq; pairs with Q3 */
	shmring__store_release64(&mslot(r, pos)->seq, pos + 1);
}

/* producer: mark claimed slots as ours, for shmring__mpmc_skip_dead() */
static void pstamp(struct shmring *r, uint64_t pos, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		/* release: our claim's view of the slot (its seq == pos) comes
		 * with the stamp; pairs with the skipper's CAS in skip_dead() */
		shmring__store_release32(&mslot(r, pos + i)->owner, r->pstamp);
}

/* consumer: mark claimed slots as ours, for shmring__mpmc_recover() */
static void stamp(struct shmring *r, uint64_t pos, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		/* relaxed: a hint; a producer that reads 0 just keeps waiting */
		shmring__store_relaxed32(&mslot(r, pos + i)->owner, r->stamp);
}

static void release_slot(struct shmring *r, uint64_t pos)
{
	/* Q4: release: our payload reads before the slot is free; pairs with Q1 */
	shmring__store_release64(&mslot(r, pos)->seq, pos + r->nslots);
}

/* a claimed slot whose length is impossible: release it, count, report */
static int skip_corrupt(struct shmring *r, uint64_t pos)
{
	shmring__add_relaxed64(&r->hdr->bad_msgs, 1);   /* relaxed: a statistic */
	release_slot(r, pos);
	shmring__notify(r, SHMRING__DIR_SPACE, 1);
	return -EBADMSG;
}

int shmring__mpmc_send(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns)
{
	uint64_t pos;

	if (r->p.reserved || (!msg && len))
		return -EINVAL;
	if (len > r->slot_size)
		return -EMSGSIZE;
	int k = claim_wait(r, 0, 1, &pos, NULL, timeout_ns);
	if (k < 0)
		return k;
	pstamp(r, pos, 1);
	struct shmring__slot_mpmc *s = mslot(r, pos);
	/* relaxed: a consumer may peek at len before its claim CAS */
	shmring__store_relaxed32(&s->len, (uint32_t)len);
	shmring__copy(s + 1, msg, len);
	publish(r, pos);
	shmring__notify(r, SHMRING__DIR_DATA, 1);
	shmring__count_sent(r, len);
	return 0;
}

ssize_t shmring__mpmc_recv(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns)
{
	uint64_t pos;

	if (r->c.acquired || (!buf && cap))
		return -EINVAL;
	struct iovec fit = { buf, cap };
	int k = claim_wait(r, 1, 1, &pos, &fit, timeout_ns);
	if (k < 0)
		return k;
	struct shmring__slot_mpmc *s = mslot(r, pos);
	stamp(r, pos, 1);
	uint32_t len = shmring__load_relaxed32(&s->len);   /* once: untrusted */
	if (len > r->slot_size || len > cap)
		return skip_corrupt(r, pos);   /* changed under us after the peek */
	shmring__copy(buf, s + 1, len);
	release_slot(r, pos);
	shmring__notify(r, SHMRING__DIR_SPACE, 1);
	shmring__count_recv(r, len);
	return (ssize_t)len;
}

int shmring__mpmc_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n,
                             int64_t timeout_ns)
{
	uint64_t pos;
	unsigned ok = 0;

	if (r->p.reserved)
		return -EINVAL;
	/* only claim what we can fill: stop before a message that is invalid */
	while (ok < n && msgs[ok].iov_len <= r->slot_size && (msgs[ok].iov_base || !msgs[ok].iov_len))
		ok++;
	if (ok == 0)
		return msgs[0].iov_len > r->slot_size ? -EMSGSIZE : -EINVAL;
	int k = claim_wait(r, 0, ok, &pos, NULL, timeout_ns);
	if (k < 0)
		return k;
	pstamp(r, pos, (unsigned)k);
	for (int i = 0; i < k; i++) {
		struct shmring__slot_mpmc *s = mslot(r, pos + (uint64_t)i);
		shmring__store_relaxed32(&s->len, (uint32_t)msgs[i].iov_len);   /* relaxed: see send */
		if (msgs[i].iov_len)
			memcpy(s + 1, msgs[i].iov_base, msgs[i].iov_len);
	}
	size_t bytes = 0;
	for (int i = 0; i < k; i++) {
		publish(r, pos + (uint64_t)i);
		bytes += msgs[i].iov_len;
	}
	shmring__notify(r, SHMRING__DIR_DATA, k);
	shmring__count_sent(r, bytes);
	return k;
}

int shmring__mpmc_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
                             int64_t timeout_ns)
{
	uint64_t pos;
	unsigned ok = 0;

	if (r->c.acquired)
		return -EINVAL;
	while (ok < n && (bufs[ok].iov_base || !bufs[ok].iov_len))
		ok++;
	if (ok == 0)
		return -EINVAL;
	int k = claim_wait(r, 1, ok, &pos, bufs, timeout_ns);
	if (k < 0)
		return k;
	stamp(r, pos, (unsigned)k);
	/* every claimed slot is ours to deliver; lengths were checked before
	 * the claim, and are read once more here: a slot that changed under
	 * us (a scribbling peer) is skipped as corrupt */
	int got = 0, bad = 0;
	for (int i = 0; i < k; i++) {
		uint64_t p = pos + (uint64_t)i;
		struct shmring__slot_mpmc *s = mslot(r, p);
		uint32_t len = shmring__load_relaxed32(&s->len);
		if (len > r->slot_size || len > bufs[got].iov_len) {
			shmring__add_relaxed64(&r->hdr->bad_msgs, 1);   /* relaxed: a statistic */
			bad++;
		} else {
			if (len)
				memcpy(bufs[got].iov_base, s + 1, len);
			bufs[got].iov_len = len;
			got++;
			shmring__count_recv(r, len);
		}
		release_slot(r, p);
	}
	shmring__notify(r, SHMRING__DIR_SPACE, k);
	return got ? got : (bad ? -EBADMSG : 0);
}

int shmring__mpmc_reserve(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	uint64_t pos;
	int k = claim_wait(r, 0, 1, &pos, NULL, timeout_ns);
	if (k < 0)
		return k;
	pstamp(r, pos, 1);
	s->data = (unsigned char *)mslot(r, pos) + sizeof(struct shmring__slot_mpmc);
	s->len = r->slot_size;
	s->pos = pos;
	r->p.reserved = 1;
	r->p.limit = pos;   /* remembers the reservation for commit */
	return 0;
}

int shmring__mpmc_commit(struct shmring *r, struct shmring_slot *s, size_t len)
{
	if (!r->p.reserved || s->pos != r->p.limit)
		return -EINVAL;
	if (len > r->slot_size)
		return -EMSGSIZE;
	/* after shutdown the claimed slot must still be published, or it would
	 * block every consumer: it goes out as the stream's last message */
	shmring__store_relaxed32(&mslot(r, s->pos)->len, (uint32_t)len);   /* relaxed: see send */
	publish(r, s->pos);
	r->p.reserved = 0;
	s->data = NULL;
	shmring__notify(r, SHMRING__DIR_DATA, 1);
	shmring__count_sent(r, len);
	if (r->p.shut)   /* shut down while reserved: the end of stream now */
		shmring__mark_shutdown(r);
	return 0;
}

int shmring__mpmc_acquire(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	uint64_t pos;
	int k = claim_wait(r, 1, 1, &pos, NULL, timeout_ns);
	if (k < 0)
		return k;
	stamp(r, pos, 1);
	struct shmring__slot_mpmc *sl = mslot(r, pos);
	uint32_t len = shmring__load_relaxed32(&sl->len);   /* once: untrusted */
	if (len > r->slot_size)
		return skip_corrupt(r, pos);
	s->data = sl + 1;
	s->len = len;
	s->pos = pos;
	r->c.acquired = 1;
	r->c.avail = pos;   /* remembers the acquisition for release */
	return 0;
}

int shmring__mpmc_release(struct shmring *r, struct shmring_slot *s)
{
	if (!r->c.acquired || s->pos != r->c.avail)
		return -EINVAL;
	release_slot(r, s->pos);
	r->c.acquired = 0;
	shmring__count_recv(r, s->len);
	s->data = NULL;
	shmring__notify(r, SHMRING__DIR_SPACE, 1);
	return 0;
}
