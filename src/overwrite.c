/* SPDX-License-Identifier: MIT */
/*
 * overwrite.c - the engine of SPSC rings created with SHMRING_OVERWRITE
 * (overwrite-oldest): the producer never waits; when it laps the consumer
 * it overwrites the oldest messages. Same shape as spsc.c and mpmc.c;
 * api.c has checked the arguments and the role. Handles of this engine
 * have kind SHMRING__KIND_OVERWRITE, so the inline SPSC fast paths never
 * run for them.
 *
 * Each slot is a sequence lock that names its position (layout.h, struct
 * shmring__slot_ow): seq = 2 pos + 1 while the producer writes position
 * pos, 2 pos + 2 once the message is complete. Length and payload are
 * written and read as atomic words (relaxed; the payload as whole 64-bit
 * words), so a read that overlaps a rewrite is defined behaviour in C11:
 * it reads some mix of old and new words, and the second read of seq says
 * that it did. The consumer delivers a message only when both reads of seq
 * say 2 pos + 2; otherwise it counts the position lost (stats.overruns)
 * and moves on to the oldest message still in the ring.
 *
 * Protocol (labels as in docs/memory-model.md):
 *   O1 producer: seq := 2 pos + 1 (relaxed), release fence     pairs with O6
 *      then len and payload words (relaxed)
 *   O2 producer: store-release seq := 2 pos + 2                pairs with O5
 *   O3 producer: store-release prod_idx (after the slots)      pairs with O4
 *   O4 consumer: load-acquire prod_idx
 *   O5 consumer: load-acquire seq (s1), then len and payload (relaxed)
 *   O6 consumer: acquire fence, then seq again (s2): s1 == s2 == 2 pos + 2
 *      means no store of a later lap was read (O1 would be visible)
 * Why: if a payload load read a word stored after some later O1 of this
 * slot, O1's fence and O6's fence synchronise, so the mark stored before
 * O1's fence happens before s2, and s2 reads it or a later value, never
 * 2 pos + 2 (seq only grows). If no load did, the loads read position
 * pos's own stores (O5 read O2, which follows them). docs/design.md,
 * "Overwrite-oldest rings".
 *
 * The consumer publishes cons_idx (what it passed: delivered, lost or
 * corrupt) only for tools and a later consumer; the producer never reads
 * it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "private.h"
#include "seqlock_words.h"

static uint64_t *payload(struct shmring__slot_ow *s)
{
	return (uint64_t *)(void *)(s + 1);   /* 8-byte aligned: layout.h */
}

/* ---- producer ---- */

/* mark the slot of pos as being rewritten, before any byte of it changes
 * (O1, seqlock_words.h) */
static struct shmring__slot_ow *begin_write(struct shmring *r, uint64_t pos)
{
	struct shmring__slot_ow *s = shmring__ow_slot(r, pos);
	shmring__seqlock_mark(s, pos);
	return s;
}

/* everything below pos is written: publish it, wake a sleeping consumer */
static void publish(struct shmring *r, uint64_t pos)
{
	r->p.pos = pos;
	/* O3: release: the slots' final seq words before the index; pairs
	 * with O4 */
	shmring__store_release64(&r->hdr->prod_idx, pos);
	shmring__notify(r, SHMRING__DIR_DATA);
}

int shmring__overwrite_send(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns)
{
	(void)timeout_ns;   /* the producer never waits */
	uint64_t pos = r->p.pos;
	struct shmring__slot_ow *s = begin_write(r, pos);
	shmring__put_words(payload(s), msg, len);
	shmring__seqlock_seal(s, pos, len);
	publish(r, pos + 1);
	shmring__count_sent(r, len);
	return 0;
}

/* at most one lap per call: more would overwrite the burst's own messages
 * before they were ever visible */
int shmring__overwrite_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n,
                                  int64_t timeout_ns)
{
	(void)timeout_ns;
	uint64_t pos = r->p.pos;
	uint64_t most = n < priv(r)->nslots ? n : priv(r)->nslots;
	unsigned k = 0;
	size_t bytes = 0;

	for (; k < most; k++) {
		size_t len = msgs[k].iov_len;
		if (len > r->slot_size || (!msgs[k].iov_base && len))
			break;   /* the caller learns from the count; next call reports it */
		struct shmring__slot_ow *s = begin_write(r, pos + k);
		shmring__put_words(payload(s), msgs[k].iov_base, len);
		shmring__seqlock_seal(s, pos + k, len);
		bytes += len;
	}
	publish(r, pos + k);   /* one publication for the burst */
	shmring__count_sent(r, bytes);
	return (int)k;
}

/* the slot is marked busy at once: the caller writes into it with plain
 * stores (documented: a consumer reading the previous lap's message there
 * sees the mark and drops it) */
int shmring__overwrite_reserve(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	(void)timeout_ns;
	shmring__seqlock_lend(r, s, begin_write(r, r->p.pos));
	return 0;
}

int shmring__overwrite_commit(struct shmring *r, struct shmring_slot *s, size_t len)
{
	int rc = shmring__seqlock_commit(r, s, len);
	if (rc)
		return rc;
	publish(r, s->pos + 1);
	shmring__count_sent(r, len);
	s->data = NULL;
	return 0;
}

/* ---- consumer ---- */

/* re-read prod_idx: > 0 a position to look at, 0 none, -EPROTO when the
 * shared index is behind ours (impossible from a real producer; ahead by
 * any distance is fine: what it overwrote counts as lost) */
static int data_ready(struct shmring *r)
{
	uint64_t pos = r->c.pos;
	/* O4: acquire: the slots below it carry their final seq (or a later
	 * lap's); pairs with O3 */
	uint64_t prod = shmring__load_acquire64(&r->hdr->prod_idx);
	if (prod - pos > (uint64_t)INT64_MAX)
		return -EPROTO;
	priv(r)->ow_avail = prod;
	return prod != pos;
}

static int space_ready(struct shmring *r)
{
	(void)r;
	return 1;   /* the producer never waits for room */
}

/* what a waiting consumer waits for; a producer never waits, but
 * shmring_poll() and the event descriptor ask (always ready) */
const struct shmring__wait_for shmring__overwrite_for_data = {
	.dir = SHMRING__DIR_DATA,
	.ready = data_ready,
	.gone = shmring__producers_gone,
	.at_end = shmring__stream_seen_end,
};

const struct shmring__wait_for shmring__overwrite_for_space = {
	.dir = SHMRING__DIR_SPACE,
	.ready = space_ready,
	.gone = shmring__consumers_gone,
};

/* our position moves on to pos: add what we lost to the shared counter,
 * then publish the position (for tools and a later consumer) */
static void consume(struct shmring *r, uint64_t pos)
{
	r->c.pos = pos;
	if (priv(r)->ow_lost) {
		/* relaxed: a counter; the one consumer adds, tools read */
		shmring__add_relaxed64(&r->hdr->overruns, priv(r)->ow_lost);
		priv(r)->ow_lost = 0;
	}
	/* release: the overrun count before the position that covers it; a
	 * later consumer's acquire in handle_start() (lifecycle.c) */
	shmring__store_release64(&r->hdr->cons_idx, pos);
}

static int skip_corrupt(struct shmring *r)
{
	/* relaxed: a statistic */
	shmring__add_relaxed64(&r->hdr->bad_msgs, 1);
	consume(r, r->c.pos + 1);
	return -EBADMSG;
}

/*
 * Read (buf) or check (buf NULL: acquire) the message of position pos.
 * 1: intact (*len, *seq set; copied when buf); 0: overwritten (lost);
 * -EBADMSG: a seq word or length no producer writes; -EMSGSIZE: intact
 * but longer than cap (it stays). buf receives bytes even when the answer
 * is 0 (unspecified contents).
 */
static int read_slot(struct shmring *r, uint64_t pos, void *buf, size_t cap, uint32_t *len,
                     uint64_t *seq)
{
	struct shmring__slot_ow *s = shmring__ow_slot(r, pos);
	uint64_t want = shmring__seq_full(pos);
	/* O5: acquire: the length and payload stored before this value;
	 * pairs with O2 */
	uint64_t s1 = shmring__load_acquire64(&s->seq);
	if (s1 != want)
		/* a later position's mark: lost. An older one (O4 said pos is
		 * published, so its O2 is visible): corrupt */
		return s1 - want <= (uint64_t)INT64_MAX ? 0 : -EBADMSG;
	uint32_t l = shmring__load_relaxed32(&s->len);   /* once: untrusted */
	if (buf && l <= r->slot_size && l <= cap)
		shmring__get_words(buf, payload(s), l);
	/* O6: acquire fence: every load above completes before the re-read
	 * of seq; pairs with O1 */
	shmring__fence_acquire();
	/* relaxed after O6: the seqlock's second read (a new value is the
	 * point of reading it again) */
	if (shmring__load_relaxed64(&s->seq) != s1)
		return 0;
	if (l > r->slot_size)
		return -EBADMSG;
	if (l > cap)
		return -EMSGSIZE;
	*len = l;
	*seq = s1;
	return 1;
}

/*
 * The oldest intact message at or after c.pos, looking up to ow_avail (and
 * refreshing it: after a loss the producer has moved on). Positions passed
 * on the way are counted in ow_lost (c.pos moves; not yet published).
 * Returns 1 (the message at c.pos, read or checked, not consumed), 0
 * (nothing intact right now), -EBADMSG (a corrupt slot at c.pos, not
 * skipped), -EMSGSIZE, -EPROTO. At most about two laps of looking per
 * call, so that a caller with a deadline gets to check it.
 */
static int take(struct shmring *r, void *buf, size_t cap, uint32_t *len, uint64_t *seq)
{
	uint64_t n = priv(r)->nslots;

	for (uint64_t tries = 0; tries <= 2 * n; tries++) {
		int rc;
		if (r->c.pos == priv(r)->ow_avail && (rc = data_ready(r)) <= 0)
			return rc;
		uint64_t pos = r->c.pos;
		if (priv(r)->ow_avail - pos > n) {
			/* lapped: everything below avail - n was overwritten */
			priv(r)->ow_lost += priv(r)->ow_avail - n - pos;
			pos = r->c.pos = priv(r)->ow_avail - n;
		}
		rc = read_slot(r, pos, buf, cap, len, seq);
		if (rc)
			return rc;
		priv(r)->ow_lost++;        /* overwritten before or while we read */
		r->c.pos = pos + 1;
		if ((rc = data_ready(r)) < 0)   /* how far did the producer get? */
			return rc;
	}
	return 0;
}

static int wait_data(struct shmring *r, int64_t timeout_ns)
{
	if (r->c.pos != priv(r)->ow_avail)
		return 1;
	return shmring__wait(r, &shmring__overwrite_for_data, timeout_ns);
}

/*
 * Wait (per timeout_ns) for an intact message and read or check it: the
 * first message of recv, recv_burst and acquire. 1: at c.pos, not yet
 * consumed; or the errors of recv (lost positions are published first).
 * A round that found only overwritten messages waits again; with timeout
 * 0 a few rounds, then -EAGAIN.
 */
static int first(struct shmring *r, void *buf, size_t cap, uint32_t *len, uint64_t *seq,
                 int64_t timeout_ns)
{
	int64_t deadline = timeout_ns > 0 ? shmring__deadline(shmring__now_ns(), timeout_ns) : 0;
	int64_t t = timeout_ns;

	for (unsigned round = 1;; round++) {
		int rc = wait_data(r, t);
		if (rc < 0)
			return rc;
		rc = take(r, buf, cap, len, seq);
		if (rc == 1)
			return 1;
		if (rc == -EBADMSG)
			return skip_corrupt(r);
		consume(r, r->c.pos);   /* publish what was lost */
		if (rc < 0)
			return rc;
		if (timeout_ns == 0 && round >= 4)
			return -EAGAIN;
		if (timeout_ns > 0 && (t = deadline - shmring__now_ns()) <= 0)
			return -ETIMEDOUT;
	}
}

ssize_t shmring__overwrite_recv(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns)
{
	uint32_t len;
	uint64_t seq;
	int rc = first(r, buf, cap, &len, &seq, timeout_ns);
	if (rc < 0)
		return rc;
	consume(r, r->c.pos + 1);
	shmring__count_recv(r, len);
	return (ssize_t)len;
}

int shmring__overwrite_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
                                  int64_t timeout_ns)
{
	uint32_t len;
	uint64_t seq;
	int rc = first(r, bufs[0].iov_base, bufs[0].iov_len, &len, &seq, timeout_ns);
	if (rc < 0)
		return rc == -EMSGSIZE && !bufs[0].iov_base ? -EINVAL : rc;
	bufs[0].iov_len = len;
	size_t bytes = len;
	unsigned k = 1;
	r->c.pos++;
	for (; k < n; k++) {
		void *b = bufs[k].iov_base;
		/* stop before anything but an intact message that fits: the
		 * next call reports it */
		if (take(r, b, b ? bufs[k].iov_len : 0, &len, &seq) != 1)
			break;
		bufs[k].iov_len = len;
		bytes += len;
		r->c.pos++;
	}
	consume(r, r->c.pos);   /* one publication for the burst */
	shmring__count_recv(r, bytes);
	return (int)k;
}

int shmring__overwrite_acquire(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	uint32_t len;
	uint64_t seq;
	int rc = first(r, NULL, SIZE_MAX, &len, &seq, timeout_ns);
	if (rc < 0)
		return rc;
	s->data = payload(shmring__ow_slot(r, r->c.pos));
	s->len = len;
	s->pos = r->c.pos;
	priv(r)->ow_seq = seq;
	r->c.acquired = 1;
	return 0;
}

/* intact all along: 0, as a plain release; overwritten while acquired:
 * -ESTALE (the caller discards what it read), counted as an overrun */
int shmring__overwrite_release(struct shmring *r, struct shmring_slot *s)
{
	if (s->pos != r->c.pos)
		return -EINVAL;   /* not the slot handed out */
	struct shmring__slot_ow *sl = shmring__ow_slot(r, s->pos);
	r->c.acquired = 0;
	s->data = NULL;
	/* O6: acquire fence: the caller's reads of the slot before the
	 * re-read of seq; pairs with O1 */
	shmring__fence_acquire();
	/* relaxed after O6: the seqlock's second read */
	if (shmring__load_relaxed64(&sl->seq) != priv(r)->ow_seq) {
		priv(r)->ow_lost++;
		consume(r, s->pos + 1);
		return -ESTALE;
	}
	consume(r, s->pos + 1);
	shmring__count_recv(r, s->len);
	return 0;
}
