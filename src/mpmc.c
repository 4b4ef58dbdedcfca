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
 * one CAS), or, while a side has a single attachment that owns the side's
 * bias, a plain release store of the index (mpmc_bias.c; K1-K3 below);
 * publishing is a release store to the slot's seq. Producers never wait
 * for each other to publish, and neither do consumers.
 *
 * Progress: lock-free for claims. Blocking between the two sides: a producer
 * preempted between its claim and its publication holds back every
 * consumer at that position until it publishes (and a consumer between
 * claim and release holds back the producers a lap later). A claimant that
 * is killed there is recovered: its claim is stamped (or covered by its
 * claim intent until stamped), and once the kernel says its attachment is
 * gone a peer skips (dead producer) or frees (dead consumer) its slot; see
 * docs/design.md, "Dead claimants". Same engine shape as spsc.c; api.c has
 * checked the arguments and the role.
 *
 * Labels: Q1 producer seq load (acquire) pairs with Q4; Q2 producer publish
 * (release) pairs with Q3; Q3 consumer seq load (acquire); Q4 consumer
 * release (release store of pos + slots).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include "private.h"
#include "mpmc_slot.h"

/* slow-path claims between two looks at whether a side became ours alone */
#define SHMRING__BIAS_RETRY 4096u



void shmring__mpmc_init_slots(struct shmring *r)
{
	/* before the magic is published (M1), so plain stores suffice */
	for (uint64_t i = 0; i < priv(r)->nslots; i++)
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
	int i = consumer ? priv(r)->cons_entry : priv(r)->prod_entry;
	uint32_t *cached = consumer ? &priv(r)->cons_intent_n : &priv(r)->prod_intent_n;

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
 * The biased claim (mpmc_bias.c): while we own our side's bias we are its
 * only claimant, and claim with a plain store of the index. K1 announces
 * that we are inside a claim, K2 checks that the bias is still ours; a
 * newcomer that revokes it waits until busy no longer names us (K3).
 * Returns 1 if this claim may use the plain store, 0 for the CAS.
 */
static inline int own_begin(struct shmring *r, int consumer)
{
	uint32_t tok = priv(r)->bias_tok[consumer];
	if (SHMRING__LIKELY(!tok))
		return 0;
	struct shmring__bias *b = &r->hdr->bias[consumer];
	/* K1: relaxed, then only a compiler barrier before K2: a revoker's
	 * membarrier (J4) is the fence between them (store->load) */
	shmring__store_relaxed32(&b->busy, tok);
	shmring__compiler_barrier();
	/* K2: relaxed: J4 orders it against the revocation (J3) */
	if (SHMRING__LIKELY(shmring__load_relaxed32(&b->owner) == tok))
		return 1;
	priv(r)->bias_tok[consumer] = 0;   /* revoked: CAS from now on */
	/* K3: release: pairs with J5 */
	shmring__store_release32(&b->busy, 0);
	return 0;
}

/* K3: release: our index store before "out of the claim"; pairs with J5 */
static inline void own_end(struct shmring *r, int consumer)
{
	shmring__store_release32(&r->hdr->bias[consumer].busy, 0);
}

/* claim [*pos, *pos + k): the owner of the side's bias stores the index
 * (release: our intent I1 before it, as the CAS's release part did; nobody
 * else writes it); everyone else CASes (acq_rel: keeps our slot accesses
 * after it, our intent before it; on failure *pos is the current index) */
static inline int take_positions(uint64_t *idx, uint64_t *pos, uint64_t k, int owned)
{
	if (owned) {
		shmring__store_release64(idx, *pos + k);
		return 1;
	}
	return shmring__cas_acqrel64(idx, pos, *pos + k);
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
static int claim_in(struct shmring *r, int consumer, unsigned n, uint64_t *first,
                    const struct iovec *fit, int owned)
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
		while (k < n && k < priv(r)->nslots && k < (unsigned)INT_MAX) {
			struct shmring__slot_mpmc *sl = mslot(r, pos + k);
			/* Q1/Q3 for the further slots of a burst */
			if (k > 0 && shmring__load_acquire64(&sl->seq) != pos + k + want)
				break;
			if (consumer) {
				/* relaxed peeks, after Q3 (the completer's CAS on seq
				 * published its mark); len re-read once claimed */
				if (shmring__load_relaxed32(&sl->stamp) == SHMRING__STAMP_SKIP) {
					skip = k == 0;   /* a dead producer's slot: drop it */
					if (skip)
						k = 1;
					break;
				}
				uint32_t len = shmring__load_relaxed32(&sl->len);
				if (len > r->slot_size && k > 0)
					break;   /* a corrupt slot only ever comes first
					          * (reported alone: -EBADMSG), so each
					          * message claimed lands in the buffer
					          * it was checked against */
				if (fit && len <= r->slot_size && len > fit[k].iov_len) {
					if (k == 0)
						return -EMSGSIZE;   /* not claimed: it stays */
					break;
				}
			}
			k++;
		}
		intent(r, consumer, pos, k);
		/* one CAS (or the owner's store) claims all k */
		if (take_positions(idx, &pos, k, owned)) {
			if (skip) {
				/* nothing to deliver: unmark it (relaxed: Q4
				 * orders it before the next producer's claim),
				 * free it and look further */
				shmring__store_relaxed32(&mslot(r, pos)->stamp, 0);
				release_slot(r, pos);
				shmring__notify(r, SHMRING__DIR_SPACE);
				pos++;
				continue;
			}
			*first = pos;
			return (int)k;
		}
		/* the CAS loaded the current index into pos: look again */
	}
}

static int claim(struct shmring *r, int consumer, unsigned n, uint64_t *first,
                 const struct iovec *fit)
{
	int owned = own_begin(r, consumer);
	int k = claim_in(r, consumer, n, first, fit, owned);
	if (owned)
		own_end(r, consumer);
	return k;
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

/*
 * Why a waiter is not ready (keep_spinning() in wait.c): the state of the
 * slot at its position tells an idle ring from one held up by a claimant
 * in mid-operation. Relaxed loads: a hint that only decides whether to spin
 * on or sleep; a stale answer costs a little CPU or one sleep.
 *
 * Consumer at pos: seq == pos while prod_idx > pos: a producer claimed pos
 * and has not published it (the side waited for holds us). seq == pos + 1
 * - slots: the message a lap back is still being read by the consumer that
 * claimed it, and the producers wait for that slot (our side holds us).
 * Producer at pos: seq == pos + 1 - slots while cons_idx > pos - slots: a
 * consumer is reading the slot (the side waited for); seq == pos - slots:
 * a producer a lap back has not published it, and the consumers wait there
 * (our side). Otherwise the ring is plainly empty / full.
 */
static int held_data(struct shmring *r)
{
	/* relaxed: hints, see above */
	uint64_t pos = shmring__load_relaxed64(&r->hdr->cons_idx);
	uint64_t seq = shmring__load_relaxed64(&mslot(r, pos)->seq);

	if (seq == pos)
		/* relaxed: a hint */
		return (int64_t)(shmring__load_relaxed64(&r->hdr->prod_idx) - pos) > 0
		               ? SHMRING__HELD_PEER : 0;
	return seq == pos + 1 - priv(r)->nslots ? SHMRING__HELD_OURS : 0;
}

static int held_space(struct shmring *r)
{
	/* relaxed: hints, see held_data() */
	uint64_t pos = shmring__load_relaxed64(&r->hdr->prod_idx);
	uint64_t seq = shmring__load_relaxed64(&mslot(r, pos)->seq);
	uint64_t lap = pos - priv(r)->nslots;

	if (seq == lap + 1)
		/* relaxed: a hint */
		return (int64_t)(shmring__load_relaxed64(&r->hdr->cons_idx) - lap) > 0
		               ? SHMRING__HELD_PEER : 0;
	return seq == lap ? SHMRING__HELD_OURS : 0;
}

/* what a waiting producer / consumer waits for, and what it repairs when
 * the peer looks stalled (shmring__wait() knows no ring kind; shmring_poll()
 * finds these through shmring__wait_table() in api.c) */
const struct shmring__wait_for shmring__mpmc_for_space = {
	.dir = SHMRING__DIR_SPACE,
	.ready = ready_space,
	.gone = shmring__consumers_gone,
	.stalled = shmring__mpmc_recover,
	.held = held_space,
};

const struct shmring__wait_for shmring__mpmc_for_data = {
	.dir = SHMRING__DIR_DATA,
	.ready = ready_data,
	.gone = shmring__producers_gone,
	.stalled = shmring__mpmc_skip_dead,
	.at_end = shmring__stream_seen_end,
	.held = held_data,
};

/* producer: mark claimed slots as ours, for shmring__mpmc_skip_dead() */
static void pstamp(struct shmring *r, uint64_t pos, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		/* release: our claim's view of the slot (its seq == pos) comes
		 * with the stamp; pairs with the mark CAS in skip_claim()
		 * (mpmc_dead.c) */
		shmring__store_release32(&mslot(r, pos + i)->stamp, priv(r)->prod_stamp);
}

/* consumer: mark claimed slots as ours, for shmring__mpmc_recover() */
static void stamp(struct shmring *r, uint64_t pos, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		/* relaxed: our next claim intent (I1, release) orders it
		 * for a producer's recover() (I2); until then our current
		 * intent covers the claim */
		shmring__store_relaxed32(&mslot(r, pos + i)->stamp, priv(r)->cons_stamp);
}


/*
 * One position, the send/recv/reserve/acquire case, when the slot at the
 * index is ready for us at the first look: the same steps as claim() with
 * n == 1 (Q1/Q3, the consumer's peeks, intent I1, the claim CAS, the stamp)
 * without its loop, its burst bookkeeping or a second computation of the
 * slot's address. Anything else (not ready, a skip record, a lost CAS)
 * returns -EAGAIN and the caller takes claim(), which looks again.
 */
static SHMRING__ALWAYS_INLINE int claim_one(struct shmring *r, int consumer,
                                            uint64_t *first, const struct iovec *fit,
                                            struct shmring__slot_mpmc **slot)
{
	uint64_t *idx = consumer ? &r->hdr->cons_idx : &r->hdr->prod_idx;
	int owned = own_begin(r, consumer);
	/* relaxed: the CAS below decides (an owner is the index's only
	 * writer); the seq load gives the ordering */
	uint64_t pos = shmring__load_relaxed64(idx);
	struct shmring__slot_mpmc *sl = mslot(r, pos);
	int rc = -EAGAIN;

	/* Q1 (producer) / Q3 (consumer): acquire the slot's state */
	if (shmring__load_acquire64(&sl->seq) != pos + (uint64_t)consumer)
		goto out;
	if (consumer) {
		/* relaxed peeks after Q3, as in claim() */
		if (shmring__load_relaxed32(&sl->stamp) == SHMRING__STAMP_SKIP)
			goto out;
		uint32_t len = shmring__load_relaxed32(&sl->len);
		if (fit && len <= r->slot_size && len > fit->iov_len) {
			rc = -EMSGSIZE;   /* not claimed: it stays */
			goto out;
		}
	}
	intent(r, consumer, pos, 1);
	/* as in claim() */
	if (!take_positions(idx, &pos, 1, owned))
		goto out;
	if (owned)
		own_end(r, consumer);
	if (consumer)
		/* relaxed: see stamp() */
		shmring__store_relaxed32(&sl->stamp, priv(r)->cons_stamp);
	else
		/* release: see pstamp() */
		shmring__store_release32(&sl->stamp, priv(r)->prod_stamp);
	*first = pos;
	if (slot)   /* NULL from a burst of one */
		*slot = sl;
	return 1;
out:
	if (owned)
		own_end(r, consumer);
	return rc;
}

/* polls of batch_wait() (each one seq load and a pause: a few microseconds
 * in all), as SPSC's wait_space() */
#define BATCH_SPINS 256
/* a consumer's batch: at most this many messages (fewer when
 * space_batch, ~8 KiB of slots, is fewer) */
#define DATA_BATCH_MAX 64u
/* waits a consumer makes without a batch after one that did not come */
#define DATA_BATCH_REST 256u
/* looks of an outnumbering side's batch wait, a sched_yield() after each */
#define BATCH_YIELDS 16

/*
 * Batch waits: a claimant that found the ring full (producer) or empty
 * (consumer) first polls, a bounded number of times, the slot `batch`
 * positions past the side's index, until it is free for this lap
 * (producer) or published (consumer). Meanwhile the other side works
 * through lines nobody polls: without it a saturated stream runs in
 * lockstep, the waiter taking back each slot's line the moment the other
 * side wrote it, one line transfer per message each way (1x1, 8 B, before
 * these waits: 29 % of the producer's send samples on the compare after
 * its seq load, the largest share of any instruction). Only a hint: the claim
 * that follows looks at the index again, slots are freed (and published)
 * out of order by several claimants, and the loads order nothing. Skipped
 * for sleep-at-once handles, for timeout 0 (a try takes what there is) and
 * for any timeout under SHMRING__BATCH_MIN_TIMEOUT_NS (1 ms): the polls
 * come before the wait loop reads the clock, and took a 10 us send 19 us.
 *
 * A producer's batch costs nobody latency: the ring is full, the consumers
 * have a ring's worth to read. A consumer's does, to a paced stream (the
 * first message waits for the ones after it), so consumers batch only on a
 * crowded ring (more processes than CPUs: there a wait already gives the
 * CPU away, at 0.5 us or a scheduler slice a yield), and after a batch
 * that did not come they wait DATA_BATCH_REST times without one: a paced
 * stream pays the bounded spin once per that many messages. On a crowded
 * ring where our side has more attachments than the other, the other side
 * is the bottleneck (a collector's one consumer, a pool's one producer)
 * and the CPU we would poll on is what it lacks: then each look is followed
 * by a sched_yield(), at most BATCH_YIELDS of them. Returns 1 when the
 * batch came.
 */
static int batch_wait(struct shmring *r, int consumer, uint64_t batch)
{
	uint64_t *idx = consumer ? &r->hdr->cons_idx : &r->hdr->prod_idx;
	/* relaxed: only picks the slot, whose seq tells */
	uint64_t want = shmring__load_relaxed64(idx) + batch - 1;
	uint64_t ready = want + (uint64_t)consumer;   /* seq of "free" / "published" */

	/* crowded, and our side outnumbers the other (4 producers, 1
	 * consumer): the other side is the bottleneck and needs the CPU we
	 * would poll on, so give it away between looks, fewer times */
	int outnumbering = priv(r)->crowded &&
	                   priv(r)->side_n[consumer] > priv(r)->side_n[!consumer];
	priv(r)->batch_waits++;
	for (int i = 0; i < BATCH_SPINS; i++) {
		/* relaxed: a hint (the claim's Q1/Q3 order what is used) */
		if ((int64_t)(shmring__load_relaxed64(&mslot(r, want)->seq) - ready) >= 0)
			return 1;
		if (outnumbering) {
			if (i >= BATCH_YIELDS)
				return 0;
			sched_yield();
			priv(r)->batch_yields++;
			continue;
		}
		shmring__cpu_relax();
	}
	return 0;
}

/* the batch wait of a claimant whose claim found nothing ready, before
 * its first real wait; 1 when it waited (the caller then claims again) */
static int batch_first(struct shmring *r, int consumer, int64_t timeout_ns)
{
	if (!shmring__may_batch(r, timeout_ns))
		return 0;
	if (!consumer) {
		batch_wait(r, 0, priv(r)->space_batch);
		return 1;
	}
	if (!priv(r)->crowded)
		return 0;
	if (priv(r)->data_batch_rest) {
		priv(r)->data_batch_rest--;
		return 0;
	}
	uint64_t b = priv(r)->space_batch < DATA_BATCH_MAX ? priv(r)->space_batch : DATA_BATCH_MAX;
	if (!batch_wait(r, 1, b))
		priv(r)->data_batch_rest = DATA_BATCH_REST;
	return 1;
}

/* claim with waiting: retries the claim after every wake; the slots
 * claimed are stamped as ours before it returns */
static __attribute__((noinline)) int claim_wait_slow(struct shmring *r, int consumer,
                                                     unsigned n, uint64_t *first,
                                                     const struct iovec *fit,
                                                     int64_t timeout_ns)
{
	int64_t deadline = 0;

	/* now and then a claimant without the bias looks whether it has
	 * become its side's only one (the others left) */
	if (priv(r)->bias_ok && !priv(r)->bias_tok[consumer] &&
	    ++priv(r)->bias_retry[consumer] >= SHMRING__BIAS_RETRY) {
		priv(r)->bias_retry[consumer] = 0;
		shmring__bias_try(r, consumer);
	}
	for (int batched = 0;;) {
		int k = claim(r, consumer, n, first, fit);
		if (k > 0) {
			if (consumer)
				stamp(r, *first, (unsigned)k);
			else
				pstamp(r, *first, (unsigned)k);
		}
		if (k != 0)
			return k;
		if (!batched) {   /* nothing ready: first a batch wait, once */
			batched = 1;
			if (batch_first(r, consumer, timeout_ns))
				continue;
		}
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
		int rc = shmring__wait(r, consumer ? &shmring__mpmc_for_data
		                                   : &shmring__mpmc_for_space, left);
		if (rc < 0)
			return rc;
	}
}

/* the same, with the first look of a single claim inline in each caller
 * (consumer and n are constants there); for a single claim (slot not
 * NULL) also the claimed slot's address, computed once per message */
static SHMRING__ALWAYS_INLINE int claim_wait(struct shmring *r, int consumer, unsigned n,
                                             uint64_t *first, const struct iovec *fit,
                                             int64_t timeout_ns,
                                             struct shmring__slot_mpmc **slot)
{
	if (n == 1) {
		int k = claim_one(r, consumer, first, fit, slot);
		if (SHMRING__LIKELY(k != -EAGAIN))
			return k;
	}
	int k = claim_wait_slow(r, consumer, n, first, fit, timeout_ns);
	if (k > 0 && slot)
		*slot = mslot(r, *first);
	return k;
}

/* publish the slot sl of position pos (the caller's address of it: one
 * computation of a slot's address per message, callgrind) */
static SHMRING__ALWAYS_INLINE void publish_at(struct shmring__slot_mpmc *sl, uint64_t pos)
{
	/* relaxed: ordered before the consumers see it by Q2 below */
	shmring__store_relaxed32(&sl->stamp, 0);   /* not claimed yet */
	/* Q2: release: length and payload before the seq; pairs with Q3 */
	shmring__store_release64(&sl->seq, pos + 1);
}

static SHMRING__ALWAYS_INLINE void publish(struct shmring *r, uint64_t pos)
{
	publish_at(mslot(r, pos), pos);
}

/* a claimed slot whose length is impossible: release it, count, report */
static int skip_corrupt(struct shmring *r, uint64_t pos)
{
	shmring__add_relaxed64(&r->hdr->bad_msgs, 1);   /* relaxed: a statistic */
	release_slot(r, pos);
	shmring__notify(r, SHMRING__DIR_SPACE);
	return -EBADMSG;
}

/* send and recv: api.c (shmring__send_slow(), shmring__recv_slow(), their
 * only caller) has checked the role, the reservation and the arguments */
int shmring__mpmc_send(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns)
{
	uint64_t pos;
	struct shmring__slot_mpmc *s = NULL;   /* set by every claim that succeeds */
	int k = claim_wait(r, 0, 1, &pos, NULL, timeout_ns, &s);
	if (k < 0)
		return k;
	/* relaxed: a consumer may peek at len before its claim CAS */
	shmring__store_relaxed32(&s->len, (uint32_t)len);
	shmring__copy(s + 1, msg, len);
	publish_at(s, pos);
	shmring__notify(r, SHMRING__DIR_DATA);
	shmring__count_sent(r, len);
	return 0;
}

ssize_t shmring__mpmc_recv(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns)
{
	uint64_t pos;
	struct iovec fit = { buf, cap };
	struct shmring__slot_mpmc *s = NULL;   /* set by every claim that succeeds */
	int k = claim_wait(r, 1, 1, &pos, &fit, timeout_ns, &s);
	if (k < 0)
		return k;
	uint32_t len = shmring__load_relaxed32(&s->len);   /* once: untrusted */
	if (len > r->slot_size || len > cap)
		return skip_corrupt(r, pos);   /* changed under us after the peek */
	shmring__copy(buf, s + 1, len);
	release_at(r, s, pos);
	shmring__notify(r, SHMRING__DIR_SPACE);
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
	int k = claim_wait(r, 0, ok, &pos, NULL, timeout_ns, NULL);
	if (k < 0)
		return k;
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
	shmring__notify(r, SHMRING__DIR_DATA);
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
	int k = claim_wait(r, 1, ok, &pos, bufs, timeout_ns, NULL);
	if (k < 0)
		return k;
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
	shmring__notify(r, SHMRING__DIR_SPACE);
	return got ? got : (bad ? -EBADMSG : 0);
}

int shmring__mpmc_reserve(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	uint64_t pos;
	struct shmring__slot_mpmc *sl = NULL;   /* as in send */
	int k = claim_wait(r, 0, 1, &pos, NULL, timeout_ns, &sl);
	if (k < 0)
		return k;
	s->data = sl + 1;
	s->len = r->slot_size;
	s->pos = pos;
	r->p.reserved = 1;
	priv(r)->prod_lent = pos;   /* remembered for commit */
	return 0;
}

int shmring__mpmc_commit(struct shmring *r, struct shmring_slot *s, size_t len)
{
	if (!r->p.reserved || s->pos != priv(r)->prod_lent)
		return -EINVAL;
	if (len > r->slot_size)
		return -EMSGSIZE;
	/* after shutdown the claimed slot must still be published, or it would
	 * block every consumer: it goes out as the stream's last message */
	shmring__store_relaxed32(&mslot(r, s->pos)->len, (uint32_t)len);   /* relaxed: see send */
	publish(r, s->pos);
	r->p.reserved = 0;
	s->data = NULL;
	shmring__notify(r, SHMRING__DIR_DATA);
	shmring__count_sent(r, len);
	if (r->p.shut)   /* shut down while reserved: the end of stream now */
		shmring__mark_shutdown(r);
	return 0;
}

int shmring__mpmc_acquire(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	uint64_t pos;
	struct shmring__slot_mpmc *sl = NULL;   /* as in send */
	int k = claim_wait(r, 1, 1, &pos, NULL, timeout_ns, &sl);
	if (k < 0)
		return k;
	uint32_t len = shmring__load_relaxed32(&sl->len);   /* once: untrusted */
	if (len > r->slot_size)
		return skip_corrupt(r, pos);
	s->data = sl + 1;
	s->len = len;
	s->pos = pos;
	r->c.acquired = 1;
	priv(r)->cons_lent = pos;   /* remembered for release */
	return 0;
}

int shmring__mpmc_release(struct shmring *r, struct shmring_slot *s)
{
	if (!r->c.acquired || s->pos != priv(r)->cons_lent)
		return -EINVAL;
	release_slot(r, s->pos);
	r->c.acquired = 0;
	shmring__count_recv(r, s->len);
	s->data = NULL;
	shmring__notify(r, SHMRING__DIR_SPACE);
	return 0;
}
