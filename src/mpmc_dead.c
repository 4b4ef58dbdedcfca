/* SPDX-License-Identifier: MIT */
/*
 * mpmc_dead.c - MPMC claimants that died holding a slot. A producer killed
 * between its claim and its publication leaves a slot no consumer can pass;
 * a consumer killed between its claim and its release leaves one no
 * producer can reuse. Claims are stamped with the claimant's attachment
 * (gen, entry), and covered by its claim intent until stamped (mpmc.c,
 * intent()); once the kernel says the attachment is gone, a peer skips the
 * dead producer's slot (a skip record) or frees the dead consumer's (its
 * message is lost with it: stats.orphans). The wait loop calls these, rate
 * limited, through the engine's wait table (struct shmring__wait_for).
 */
#include <errno.h>
#include "private.h"
#include "mpmc_slot.h"

void (*shmring__test_hook_stamp)(void);

/*
 * What one recovery pass knows about one side's attachments. The side's
 * claim index is read first (acquire: it reads a claimant's CAS or a later
 * one), then every claim intent (I2), so for any position below that index
 * the claimant's intent (I1, stored before its CAS), or a later intent of
 * its own (stored after its stamps), is in the snapshot; the stamps the
 * pass reads afterwards (acquire) then show it. The kernel is asked about
 * each entry's lock at most once per pass: a hostile ring cannot make one
 * pass cost more than 64 questions.
 */
struct pass {
	struct shmring *r;
	int side;
	uint64_t idx;                    /* the side's claim index at the start */
	uint64_t asked, held;            /* entry bits: asked the kernel; held */
	uint64_t first[SHMRING__MAX_PEERS]; /* intents: [first, first + n) */
	uint32_t n[SHMRING__MAX_PEERS];
};

static void pass_begin(struct pass *ps, struct shmring *r, int side)
{
	int consumer = side == SHMRING_CONSUMER;
	const struct shmring__peer *tab = consumer ? r->hdr->consumers : r->hdr->producers;

	ps->r = r;
	ps->side = side;
	ps->asked = ps->held = 0;
	/* acquire: pairs with the claim CAS (acq_rel) */
	ps->idx = shmring__load_acquire64(consumer ? &r->hdr->cons_idx : &r->hdr->prod_idx);
	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
		/* I2: acquire: pairs with I1 / I1a */
		uint64_t c = shmring__load_acquire64(&tab[i].claim);
		ps->first[i] = c - 1;
		/* I2 for the count: acquire, pairs with I1a */
		ps->n[i] = c ? shmring__load_acquire32(&r->hdr->claim_n[consumer][i]) : 0;
	}
}

/* does a live attachment hold entry i? (the kernel's answer, once a pass) */
static int pass_held(struct pass *ps, unsigned i)
{
	uint64_t bit = UINT64_C(1) << i;
	if (!(ps->asked & bit)) {
		ps->asked |= bit;
		if (shmring__entry_held(ps->r, ps->side, i))
			ps->held |= bit;
	}
	return (ps->held & bit) != 0;
}

/*
 * Position pos is claimed, but the claimant's stamp is not on its slot: is
 * the claimant dead, killed between its claim CAS and its stamp? Yes when
 * pos is below the index the pass read and no live attachment's intent
 * covers it. A live claimant shows up either as an intent here or as a
 * stamp in the caller's later (acquire) read of the slot; an intent read
 * stale only makes us wait.
 */
static int unstamped_claim_dead(struct pass *ps, uint64_t pos)
{
	if ((int64_t)(ps->idx - pos) <= 0)
		return 0;   /* not claimed (as of the pass): claimants are behind */
	if (ps->idx - pos > priv(ps->r)->nslots)
		return 0;   /* an index more than a lap ahead is garbage: no
		             * claim is vouched for (else every lap of a hostile
		             * index would be skipped, without end) */
	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++)
		if (pos - ps->first[i] < ps->n[i] && pass_held(ps, i))
			return 0;   /* a live claimant may still stamp it */
	return 1;
}

/* the attachment a stamp of the pass's side names is gone (freed, re-used,
 * or its holder's kernel lock released: closed, dead or exec'd) */
static int stamp_dead(struct pass *ps, uint32_t st)
{
	unsigned idx = st & 0x7f;
	const struct shmring__peer *tab = ps->side == SHMRING_PRODUCER ? ps->r->hdr->producers
	                                                               : ps->r->hdr->consumers;
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
	 * alive (we only wait longer). The answer is the kernel's as of now,
	 * whatever the pass asked before: asked afresh */
	return !(owner && (gen & 0xffffff) == (st >> 8) &&
	         shmring__entry_held(ps->r, ps->side, idx - 1));
}

/* the recovery scans run at most every 50 ms per handle (they ask the
 * kernel about locks), unless forced */
static int due(struct shmring *r, int64_t *last, int force)
{
	int64_t now = shmring__now_ns();
	if (priv(r)->readonly || (!force && now - *last < SHMRING__LIVENESS_NS))
		return 0;
	*last = now;
	return 1;
}

/*
 * Producer, blocked on a full ring: is the slot we wait for held by a
 * consumer that died between claiming and releasing it? Its stamp names the
 * registry entry and generation of the claimant; if that attachment is gone
 * (freed, re-used, or its process dead), free the slot on its behalf: the
 * message it held is lost with it (counted in orphans). A claim without a
 * consumer stamp is judged by the consumers' claim intents: freed only when
 * no live consumer covers it. At most every 50 ms unless forced (when the
 * producer is about to report that no consumer is left).
 */
void shmring__mpmc_recover(struct shmring *r, int force)
{
	if (!due(r, &priv(r)->recover_ns, force))
		return;
	/* relaxed: only picks the slot to look at; its seq (Q1) decides */
	uint64_t pos = shmring__load_relaxed64(&r->hdr->prod_idx);
	struct shmring__slot_mpmc *sl = mslot(r, pos);
	uint64_t prev = pos - priv(r)->nslots;          /* the position the slot last held */
	uint64_t seq = shmring__load_acquire64(&sl->seq);   /* Q1 */
	if (seq != prev + 1)
		return;   /* free already, or never published: nothing to recover */
	struct pass ps;
	pass_begin(&ps, r, SHMRING_CONSUMER);   /* claimed by a consumer? */
	if ((int64_t)(ps.idx - prev) <= 0)
		return;   /* not claimed yet: the consumers are just behind */
	/* acquire: after the intents (I2): a stamp made before a later
	 * intent of a live claimant is visible now */
	uint32_t st = shmring__load_acquire32(&sl->stamp);
	if ((st & 0x7f) == 0 || (st & SHMRING__STAMP_PRODUCER)) {
		/* no consumer stamp: its claimant may have died between its
		 * claim and its stamp */
		if (!unstamped_claim_dead(&ps, prev))
			return;
	} else if (!stamp_dead(&ps, st)) {
		return;   /* the claimant lives: it will release */
	}
	/* a skip record its dead claimant did not unmark: unmark it (CAS:
	 * only that value) before the slot goes to the next producer */
	uint32_t skip = SHMRING__STAMP_SKIP;
	shmring__cas_seqcst32(&sl->stamp, &skip, 0);
	/* Q4 on the dead consumer's behalf; the CAS makes one producer do it */
	if (shmring__cas_acqrel64(&sl->seq, &seq, prev + priv(r)->nslots)) {
		shmring__add_relaxed64(&r->hdr->orphans, 1);   /* relaxed: a statistic */
		shmring__notify(r, SHMRING__DIR_SPACE);
	}
}

/*
 * Skip records. A producer that died between its claim and its publication
 * left a claimed slot nobody will publish. A consumer marks it with the
 * stamp SKIP (a CAS from what it found there: the dead producer's stamp,
 * or no producer stamp at all when the producer died before stamping),
 * then completes it: the slot's seq goes from the claimed position q to
 * q + 1 (a CAS: one completer only), and consumers drop the record without
 * delivering anything (the message was never sent: its send never
 * returned). Nothing else of the slot is written: a late skipper can only
 * put its mark on a slot, never damage a message.
 *
 * A mark is only a proposal: it is completed (by whoever sees it, so a
 * marker that dies does not wedge the ring) when the claim it sits on is
 * dead: q is claimed and no live producer's claim intent covers q. A mark
 * that landed on a live producer's claim (the slot went round while the
 * marker was delayed) is never completed, and that producer's stamp
 * overwrites it.
 */
static int complete_skip(struct pass *ps, struct shmring__slot_mpmc *sl)
{
	struct shmring *r = ps->r;
	/* acquire: the claimed position the mark sits on (Q3) */
	uint64_t q = shmring__load_acquire64(&sl->seq);
	if (!unstamped_claim_dead(ps, q))
		return 0;   /* not claimed, or a live producer may still stamp it */
	/* acquire: after the intents (I2), as in unstamped_claim_dead() */
	if (shmring__load_acquire32(&sl->stamp) != SHMRING__STAMP_SKIP)
		return 0;   /* stamped (by a live claimant) meanwhile */
	/* Q2 on the dead producer's behalf; the CAS makes one completer */
	if (!shmring__cas_acqrel64(&sl->seq, &q, q + 1))
		return 0;
	shmring__add_relaxed64(&r->hdr->abandoned, 1);   /* relaxed: a statistic */
	shmring__notify(r, SHMRING__DIR_DATA);
	return 1;
}

/* mark the claimed slot sl, found with stamp st, as a skip, then complete */
static int skip_claim(struct pass *ps, struct shmring__slot_mpmc *sl, uint32_t st)
{
	/* seq_cst CAS: one mark over exactly the value we judged; a stamp
	 * written since (a live claimant) makes it fail */
	if (st != SHMRING__STAMP_SKIP && !shmring__cas_seqcst32(&sl->stamp, &st, SHMRING__STAMP_SKIP))
		return 0;
	return complete_skip(ps, sl);
}

/*
 * Consumer, waiting at a slot that is claimed but not published: did its
 * producer die between claim and publication? Producers stamp the slots
 * they claim (and cover them with a claim intent until then); if the
 * stamp's attachment is gone, or nobody alive covers an unstamped claim,
 * the slot becomes a skip record (above). Consecutive dead claims (a burst)
 * are skipped together. At most every 50 ms unless forced (at end of
 * stream).
 */
void shmring__mpmc_skip_dead(struct shmring *r, int force)
{
	if (!due(r, &priv(r)->skip_ns, force))
		return;
	struct pass ps;
	pass_begin(&ps, r, SHMRING_PRODUCER);
	/* relaxed: only picks where to start looking; each seq (Q3) decides */
	uint64_t pos = shmring__load_relaxed64(&r->hdr->cons_idx);
	for (uint64_t i = 0; i < priv(r)->nslots; i++, pos++) {
		struct shmring__slot_mpmc *sl = mslot(r, pos);
		uint64_t seq = shmring__load_acquire64(&sl->seq);   /* Q3 */
		if (seq == pos + 1)
			continue;   /* published: consumers will take it */
		if (seq != pos)
			return;
		/* acquire: after the pass's intents (I2); the CAS in
		 * skip_claim() re-checks it */
		uint32_t st = shmring__load_acquire32(&sl->stamp);
		int stamped = (st & SHMRING__STAMP_PRODUCER) && (st & 0x7f) != 0;
		if (stamped) {
			if (!stamp_dead(&ps, st))
				return;   /* its producer lives */
		} else if (st != SHMRING__STAMP_SKIP && !unstamped_claim_dead(&ps, pos)) {
			return;   /* not claimed, or a live producer will stamp it */
		}
		if (!skip_claim(&ps, sl, st))
			return;
		/* the mark sat on the slot's current claim, which may be a later
		 * position than pos (the stamp names an attachment, not a claim):
		 * then the ring moved on meanwhile; look again later */
		if (shmring__load_acquire64(&sl->seq) != pos + 1)
			return;
	}
}
