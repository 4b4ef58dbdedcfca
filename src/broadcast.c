/* SPDX-License-Identifier: MIT */
/*
 * broadcast.c - the engine of broadcast rings (SHMRING_BROADCAST): one
 * producer, up to 64 subscribers (consumer attachments), each receiving,
 * in order, every message sent after it joined. Same shape as the other
 * engines; api.c has checked the arguments and the role.
 *
 * Slots are sequence words (struct shmring__slot_ow): seq = 2 pos + 2
 * holds the complete message of position pos. A subscriber polls the seq
 * word of the slot it reads next (never the producer's index on its fast
 * path) and keeps its position in a line of its own after the slot array
 * (struct shmring__bcast_sub, line i for consumers[i]): hold = position + 1,
 * 0 for none.
 *
 * Lossless (the default): the producer writes position w only below its
 * cached limit, the slowest hold it saw at its last scan of the 64 lines
 * (or its own position, the slowest possible joiner) plus slots; it scans
 * again only when it reaches the limit. A subscriber that dies stops
 * holding it back once the producer, waiting, finds its kernel lock free
 * (rate-limited) and clears its line (CAS). Overwrite (SHMRING_OVERWRITE):
 * the producer never waits; each slot is a sequence lock as in
 * overwrite.c, and a subscriber that finds a later lap's mark counts the
 * position lost (its own overruns) and moves on.
 *
 * Labels (docs/memory-model.md):
 *   F1 producer: seq_cst fence, then the scan of the holds      pairs with F2
 *   F2 subscriber join: seq_cst store of hold, seq_cst load of prod_idx
 *   F3 producer: load-acquire each hold, then overwrite          pairs with F4
 *   F4 subscriber: slot reads, then store-release hold           pairs with F3
 *   F5 producer: store-release seq := 2 pos + 2 after the payload pairs with F6
 *   F6 subscriber: load-acquire seq, then length and payload
 *   F7 producer: store-release prod_idx after the slots          pairs with F8
 *   F8 subscriber: load-acquire prod_idx (join, skips, probes)
 *   F9 overwriting producer: seq := 2 pos + 1, release fence     pairs with F10
 *   F10 overwrite subscriber: acquire fence, then seq again
 *   F11 producer: CAS of a dead subscriber's hold to 0 (acq_rel)
 * The join (F1/F2): if the producer's scan missed the new hold, the
 * subscriber's re-read of prod_idx comes after the scan's fence and so
 * sees at least the position the producer scanned from; the subscriber
 * starts there, and the limit of that scan keeps the producer a whole ring
 * short of overwriting it. docs/design.md, "Broadcast rings".
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "private.h"
#include "seqlock_words.h"

static unsigned char *payload(struct shmring__slot_ow *s)
{
	return (unsigned char *)(s + 1);   /* 8-byte aligned: layout.h */
}

static int lossy(struct shmring *r)
{
	return (priv(r)->flags & SHMRING_OVERWRITE) != 0;
}

/* a - b read as a signed distance is in 1 .. INT64_MAX */
static int later(uint64_t a, uint64_t b)
{
	return a != b && a - b <= (uint64_t)INT64_MAX;
}

/* ---- producer ---- */

/*
 * How far behind p.pos the slowest subscriber a line names is, 0 .. slots.
 * A hold ahead of us or more than a ring behind no live subscriber can
 * have (a scribbled line): it counts as a ring behind, so it holds us at
 * full (until our timeout, or until its holder is found dead).
 */
static uint64_t lag_of(struct shmring *r, uint64_t hold)
{
	uint64_t lag = r->p.pos - (hold - 1);
	return lag > priv(r)->nslots ? priv(r)->nslots : lag;
}

/*
 * Lossless: scan the subscriber lines, set the cached limit (positions
 * below it may be written). >0 room, 0 full. Overwrite: always room.
 */
static int space_ready(struct shmring *r)
{
	uint64_t n = priv(r)->nslots, lag = 0;
	struct shmring__bcast_sub *subs = priv(r)->bc.subs;

	if (lossy(r))
		return 1;
	/* F1: seq_cst fence: our prod_idx store (F7) before the loads of the
	 * holds (store->load); pairs with F2 */
	shmring__fence_seqcst();
	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
		/* F3: acquire: the subscriber's slot reads happen before we
		 * overwrite them; pairs with F4 */
		uint64_t h = shmring__load_acquire64(&subs[i].hold);
		if (h) {
			uint64_t l = lag_of(r, h);
			lag = l > lag ? l : lag;
		}
	}
	r->p.limit = r->p.pos - lag + n;
	return r->p.pos < r->p.limit;
}

/*
 * The space wait's repair hook: the subscribers that hold us at full and
 * whose kernel lock is free are dead (closed, killed, exec'd): clear their
 * lines. At most every SHMRING__LIVENESS_NS unless force.
 */
static void reap_stuck(struct shmring *r, int force)
{
	struct shmring__bcast_sub *subs = priv(r)->bc.subs;
	int64_t now;
	int found = 0;

	if (lossy(r))
		return;
	now = shmring__now_ns();
	if (!force && now - priv(r)->bc.reap_ns < SHMRING__LIVENESS_NS)
		return;
	priv(r)->bc.reap_ns = now;
	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
		/* acquire: as F3 */
		uint64_t h = shmring__load_acquire64(&subs[i].hold);
		if (!h || lag_of(r, h) < priv(r)->nslots)
			continue;   /* not what holds us back */
		if (shmring__entry_held(r, SHMRING_CONSUMER, i))
			continue;   /* alive: lossless means we wait for it */
		/* F11: acq_rel CAS: only the value we judged dead (an RMW
		 * reads the latest hold); a subscriber that took the entry
		 * since has stored its own (F2), and that one stays */
		shmring__cas_acqrel64(&subs[i].hold, &h, 0);
		found = 1;
	}
	if (found)   /* free their registry entries (and announce bits) too */
		shmring__live_peers(r, SHMRING_CONSUMER, 1);
}

/* read-only (the event watcher's thread asks, while the caller leaves the
 * handle alone): does a dead subscriber hold us at full? Then the caller's
 * next call clears it (reap_stuck) */
static int stuck_on_dead(struct shmring *r)
{
	struct shmring__bcast_sub *subs = priv(r)->bc.subs;

	if (lossy(r))
		return 0;
	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
		/* acquire: as F3 */
		uint64_t h = shmring__load_acquire64(&subs[i].hold);
		if (h && lag_of(r, h) >= priv(r)->nslots &&
		    !shmring__entry_held(r, SHMRING_CONSUMER, i))
			return 1;
	}
	return 0;
}

/* the producer's wait ends only with its own shutdown: subscribers may
 * come and go, and with none attached every message goes nowhere */
static int producer_stopped(struct shmring *r, int force)
{
	(void)force;
	return r->p.shut;
}

/* a slot for position p.pos in the room the limit grants. Full after a
 * scan: first clear the lines of dead subscribers that hold us (rate-
 * limited), so that even a try finds the room they leave */
static int wait_space(struct shmring *r, int64_t timeout_ns)
{
	if (r->p.pos < r->p.limit || space_ready(r))
		return 1;
	reap_stuck(r, 0);
	return shmring__wait(r, &shmring__broadcast_for_space, timeout_ns);
}

/* the slot of pos is about to be rewritten: mark it, before any byte of it
 * changes (overwrite form only: a lossless producer writes no slot that a
 * live subscriber may still read) */
static struct shmring__slot_ow *begin_write(struct shmring *r, uint64_t pos)
{
	struct shmring__slot_ow *s = shmring__ow_slot(r, pos);
	if (lossy(r))
		shmring__seqlock_mark(s, pos);   /* F9, in seqlock_words.h */
	return s;
}

static void put(struct shmring *r, uint64_t pos, const void *msg, size_t len)
{
	struct shmring__slot_ow *s = begin_write(r, pos);
	if (lossy(r))
		shmring__put_words(payload(s), msg, len);
	else
		shmring__copy(payload(s), msg, len);   /* no live reader: F3 */
	shmring__seqlock_seal(s, pos, len);
}

/* everything below pos is written: publish it, wake sleeping subscribers */
static void publish(struct shmring *r, uint64_t pos)
{
	r->p.pos = pos;
	/* F7: release: the slots' marks before the index (joiners, tools,
	 * skips); pairs with F8 */
	shmring__store_release64(&r->hdr->prod_idx, pos);
	shmring__notify(r, SHMRING__DIR_DATA);
}

int shmring__broadcast_send(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns)
{
	int rc = wait_space(r, timeout_ns);
	if (rc < 0)
		return rc;
	put(r, r->p.pos, msg, len);
	publish(r, r->p.pos + 1);
	shmring__count_sent(r, len);
	return 0;
}

int shmring__broadcast_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n,
                                  int64_t timeout_ns)
{
	int rc = wait_space(r, timeout_ns);
	if (rc < 0)
		return rc;
	uint64_t pos = r->p.pos, room;
	if (lossy(r)) {
		/* at most a lap: more would overwrite the burst's own messages */
		room = priv(r)->nslots;
	} else {
		if (r->p.limit - pos < n)
			space_ready(r);   /* the cache falls short: look once */
		room = r->p.limit - pos;
	}
	unsigned k = 0;
	size_t bytes = 0;
	for (; k < n && k < room; k++) {
		size_t len = msgs[k].iov_len;
		if (len > r->slot_size || (!msgs[k].iov_base && len))
			break;   /* the caller learns from the count; next call reports it */
		put(r, pos + k, msgs[k].iov_base, len);
		bytes += len;
	}
	publish(r, pos + k);   /* one publication for the burst */
	shmring__count_sent(r, bytes);
	return (int)k;
}

/* overwrite form: the slot is marked at once and the caller writes it
 * with plain stores (a subscriber reading the previous lap's message
 * there sees the mark and drops it) */
int shmring__broadcast_reserve(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	int rc = wait_space(r, timeout_ns);
	if (rc < 0)
		return rc;
	shmring__seqlock_lend(r, s, begin_write(r, r->p.pos));
	return 0;
}

int shmring__broadcast_commit(struct shmring *r, struct shmring_slot *s, size_t len)
{
	int rc = shmring__seqlock_commit(r, s, len);
	if (rc)
		return rc;
	publish(r, s->pos + 1);
	shmring__count_sent(r, len);
	s->data = NULL;
	return 0;
}

/* ---- subscriber ---- */

enum look { NOT_YET, READY, LOST, CORRUPT };

/*
 * What the slot of pos holds for us: READY (the message of pos), LOST (a
 * later lap's mark: overwritten), CORRUPT (the producer's index says pos
 * was published, yet the slot carries an older mark), NOT_YET. prod_idx is
 * read only for a later mark, or when probe is set (the wait loop's
 * cadence, a try, a skip): a later mark counts only once the index shows
 * the producer really passed pos, so a scribbled seq word cannot push us
 * ahead of the producer. *seq: the seq word as last read.
 */
static enum look look_at(struct shmring *r, uint64_t pos, int probe, uint64_t *seq)
{
	struct shmring__slot_ow *s = shmring__ow_slot(r, pos);
	uint64_t want = shmring__seq_full(pos);
	/* F6: acquire: the length and payload stored before it; pairs with F5 */
	uint64_t s1 = shmring__load_acquire64(&s->seq);

	*seq = s1;
	if (s1 == want)
		return READY;
	if (!probe && !later(s1, want))
		return NOT_YET;
	/* F8: acquire: the marks of the slots below it; pairs with F7 */
	uint64_t prod = shmring__load_acquire64(&r->hdr->prod_idx);
	if (!later(prod, pos))
		return NOT_YET;   /* not published (or the index lags the seals) */
	/* acquire: as F6, after F8: the mark F7 covered, or a later one */
	s1 = shmring__load_acquire64(&s->seq);
	*seq = s1;
	if (s1 == want)
		return READY;
	return later(s1, want) ? LOST : CORRUPT;
}

static int data_ready(struct shmring *r)
{
	uint64_t seq;
	int probe = priv(r)->bc.probe;

	priv(r)->bc.probe = 0;
	return look_at(r, r->c.pos, probe, &seq) != NOT_YET;
}

/* the wait loop's periodic hook: the next data check also reads the index */
static void probe_next(struct shmring *r, int force)
{
	(void)force;
	priv(r)->bc.probe = 1;
}

const struct shmring__wait_for shmring__broadcast_for_data = {
	.dir = SHMRING__DIR_DATA,
	.ready = data_ready,
	.gone = shmring__producers_gone,
	.stalled = probe_next,
	.at_end = shmring__stream_seen_end,
};

const struct shmring__wait_for shmring__broadcast_for_space = {
	.dir = SHMRING__DIR_SPACE,
	.ready = space_ready,
	.gone = producer_stopped,
	.stalled = reap_stuck,
	.peer_dead = stuck_on_dead,
};

/* our position moves on to pos: the counters, then the hold that lets the
 * producer overwrite what we passed, then its wake if it waits */
static void consume(struct shmring *r, uint64_t pos)
{
	struct shmring__bcast_sub *me = &priv(r)->bc.subs[priv(r)->cons_entry];

	r->c.pos = pos;
	/* relaxed: counters for tools; only we write our line */
	shmring__store_relaxed64(&me->delivered, priv(r)->bc.delivered);
	shmring__store_relaxed64(&me->overruns, priv(r)->bc.overruns);
	/* F4: release: our reads of the slots below pos before the producer
	 * may overwrite them; pairs with F3 */
	shmring__store_release64(&me->hold, pos + 1);
	if (!lossy(r))
		shmring__notify(r, SHMRING__DIR_SPACE);   /* N1/N2: a waiting producer */
}

static int skip_corrupt(struct shmring *r)
{
	/* relaxed: a statistic */
	shmring__add_relaxed64(&r->hdr->bad_msgs, 1);
	consume(r, r->c.pos + 1);
	return -EBADMSG;
}

/*
 * Read (buf) or check (buf NULL) the message of pos, whose seq word s1
 * said complete. 1: intact (*len); 0: overwritten while we read (overwrite
 * form); -EBADMSG: a length no producer writes; -EMSGSIZE: longer than cap
 * (it stays).
 */
static int read_slot(struct shmring *r, uint64_t pos, uint64_t s1, void *buf, size_t cap,
                     uint32_t *len)
{
	struct shmring__slot_ow *s = shmring__ow_slot(r, pos);
	uint32_t l = shmring__load_relaxed32(&s->len);   /* once: untrusted; after F6 */

	if (buf && l <= r->slot_size && l <= cap) {
		if (lossy(r))
			shmring__get_words(buf, payload(s), l);
		else
			shmring__copy(buf, payload(s), l);   /* held by our hold: F3/F4 */
	}
	if (lossy(r)) {
		/* F10: acquire fence: every load above before the re-read of
		 * seq; pairs with F9 */
		shmring__fence_acquire();
		/* relaxed after F10: the seqlock's second read */
		if (shmring__load_relaxed64(&s->seq) != s1)
			return 0;
	}
	if (l > r->slot_size)
		return -EBADMSG;
	if (l > cap)
		return -EMSGSIZE;
	*len = l;
	return 1;
}

/*
 * The message at c.pos (read into buf, or checked when buf is NULL), not
 * consumed. Positions found overwritten on the way are skipped and counted
 * in bc.overruns (c.pos moves; the line is written by the caller). 1: the
 * message (*len, *seq); 0: nothing yet; -EBADMSG (a corrupt slot at c.pos,
 * not skipped), -EMSGSIZE. At most a bounded number of skips per call, so
 * that a caller with a deadline gets to check it.
 */
static int take(struct shmring *r, void *buf, size_t cap, uint32_t *len, uint64_t *seq,
                int probe)
{
	uint64_t n = priv(r)->nslots;

	for (unsigned tries = 0; tries < 64; tries++) {
		uint64_t pos = r->c.pos, s1;
		enum look k = look_at(r, pos, probe, &s1);
		if (k == NOT_YET)
			return 0;
		if (k == CORRUPT)
			return -EBADMSG;
		if (k == READY) {
			int rc = read_slot(r, pos, s1, buf, cap, len);
			if (rc) {
				*seq = s1;
				return rc;
			}
		}
		/* lost: skip to the oldest position the ring may still hold */
		/* F8: acquire, as above */
		uint64_t prod = shmring__load_acquire64(&r->hdr->prod_idx);
		uint64_t to = later(prod, pos) && prod - pos > n ? prod - n : pos + 1;
		priv(r)->bc.overruns += to - pos;
		r->c.pos = to;
		probe = 1;
	}
	return 0;
}

static int wait_data(struct shmring *r, int64_t timeout_ns)
{
	if (timeout_ns == 0)
		priv(r)->bc.probe = 1;   /* a try finds a published slot without its mark */
	int rc = data_ready(r);
	if (rc)
		return rc;
	return shmring__wait(r, &shmring__broadcast_for_data, timeout_ns);
}

/*
 * Wait (per timeout_ns) for a message and read or check it: the first one
 * of recv, recv_burst and acquire. 1: at c.pos, not yet consumed; or the
 * errors of recv (lost positions are published first). A round that found
 * only overwritten messages waits again; with timeout 0 a few rounds, then
 * -EAGAIN.
 */
static int first(struct shmring *r, void *buf, size_t cap, uint32_t *len, uint64_t *seq,
                 int64_t timeout_ns)
{
	int64_t deadline = timeout_ns > 0 ? shmring__deadline(shmring__now_ns(), timeout_ns) : 0;
	int64_t t = timeout_ns;

	for (unsigned round = 1;; round++) {
		uint64_t was = r->c.pos;
		int rc = wait_data(r, t);
		if (rc < 0)
			return rc;
		rc = take(r, buf, cap, len, seq, 1);
		if (rc == 1)
			return 1;
		if (rc == -EBADMSG)
			return skip_corrupt(r);
		if (r->c.pos != was)
			consume(r, r->c.pos);   /* publish what was lost */
		if (rc < 0)
			return rc;
		if (timeout_ns == 0 && round >= 4)
			return -EAGAIN;
		if (timeout_ns > 0 && (t = deadline - shmring__now_ns()) <= 0)
			return -ETIMEDOUT;
	}
}

/* recv when the next message is not simply there: wait, skip, report */
static __attribute__((noinline)) ssize_t recv_wait(struct shmring *r, void *buf, size_t cap,
                                                   int64_t timeout_ns)
{
	uint32_t len;
	uint64_t seq;
	int rc = first(r, buf, cap, &len, &seq, timeout_ns);
	if (rc < 0)
		return rc;
	priv(r)->bc.delivered++;
	consume(r, r->c.pos + 1);
	shmring__count_recv(r, len);
	return (ssize_t)len;
}

ssize_t shmring__broadcast_recv(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns)
{
	uint64_t pos = r->c.pos;
	struct shmring__slot_ow *s = shmring__ow_slot(r, pos);

	/* the common case of the lossless form: the next message is there
	 * and fits (the overwrite form's seqlock read is in first()) */
	/* F6: acquire: pairs with F5 */
	if (SHMRING__LIKELY(!lossy(r) && shmring__load_acquire64(&s->seq) == shmring__seq_full(pos))) {
		uint32_t len = shmring__load_relaxed32(&s->len);   /* once: untrusted */
		if (SHMRING__LIKELY(len <= cap && len <= r->slot_size)) {
			shmring__copy(buf, payload(s), len);   /* held by our hold: F3/F4 */
			priv(r)->bc.delivered++;
			consume(r, pos + 1);
			shmring__count_recv(r, len);
			return (ssize_t)len;
		}
	}
	return recv_wait(r, buf, cap, timeout_ns);
}

int shmring__broadcast_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
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
		/* stop before anything but a message that fits: the next call
		 * reports it */
		if (take(r, b, b ? bufs[k].iov_len : 0, &len, &seq, 0) != 1)
			break;
		bufs[k].iov_len = len;
		bytes += len;
		r->c.pos++;
	}
	priv(r)->bc.delivered += k;
	consume(r, r->c.pos);   /* one publication for the burst */
	shmring__count_recv(r, bytes);
	return (int)k;
}

/* lossless: the slot stays ours (our hold does not move) until release */
int shmring__broadcast_acquire(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	uint32_t len;
	uint64_t seq;
	int rc = first(r, NULL, SIZE_MAX, &len, &seq, timeout_ns);
	if (rc < 0)
		return rc;
	s->data = payload(shmring__ow_slot(r, r->c.pos));
	s->len = len;
	s->pos = r->c.pos;
	priv(r)->bc.seq = seq;
	r->c.acquired = 1;
	return 0;
}

/* overwrite form: -ESTALE when the slot was overwritten while acquired
 * (the caller discards what it read; counted as an overrun) */
int shmring__broadcast_release(struct shmring *r, struct shmring_slot *s)
{
	if (s->pos != r->c.pos)
		return -EINVAL;   /* not the slot handed out */
	r->c.acquired = 0;
	s->data = NULL;
	if (lossy(r)) {
		struct shmring__slot_ow *sl = shmring__ow_slot(r, s->pos);
		/* F10: acquire fence: the caller's reads of the slot before the
		 * re-read of seq; pairs with F9 */
		shmring__fence_acquire();
		/* relaxed after F10: the seqlock's second read */
		if (shmring__load_relaxed64(&sl->seq) != priv(r)->bc.seq) {
			priv(r)->bc.overruns++;
			consume(r, s->pos + 1);
			return -ESTALE;
		}
	}
	priv(r)->bc.delivered++;
	consume(r, s->pos + 1);
	shmring__count_recv(r, s->len);
	return 0;
}

/* ---- attach and detach ---- */

/*
 * At attach, the roles held. A producer resumes after the last slot
 * marked complete for its position (a producer that died between a mark
 * and its index store left one), at most a ring past prod_idx, and scans
 * before its first message. A subscriber joins: F2, then starts at the
 * index as re-read (why: the file comment, and docs/design.md).
 */
void shmring__broadcast_start(struct shmring *r)
{
	struct shmring__hdr *h = r->hdr;
	uint64_t n = priv(r)->nslots;

	if (priv(r)->roles & SHMRING_PRODUCER) {
		/* F8: acquire: pairs with a previous producer's F7 */
		uint64_t prod = shmring__load_acquire64(&h->prod_idx), pos = prod;
		/* acquire: as F6 */
		while (pos - prod < n &&
		       shmring__load_acquire64(&shmring__ow_slot(r, pos)->seq) == shmring__seq_full(pos))
			pos++;
		if (pos != prod)
			/* F7: release: the index covers the marks we stepped over */
			shmring__store_release64(&h->prod_idx, pos);
		r->p.pos = pos;
		r->p.limit = lossy(r) ? UINT64_MAX : pos;   /* lossless: scan first */
	}
	if (priv(r)->roles & SHMRING_CONSUMER) {
		struct shmring__bcast_sub *me = &priv(r)->bc.subs[priv(r)->cons_entry];
		/* F2: seq_cst: a first look at where the producer stands */
		uint64_t p0 = shmring__load_seqcst64(&h->prod_idx);
		/* relaxed: counters for tools, before the hold that shows them */
		shmring__store_relaxed64(&me->delivered, 0);
		shmring__store_relaxed64(&me->overruns, 0);
		/* F2: seq_cst store: our hold, then (store->load) the index
		 * again; pairs with F1 */
		shmring__store_seqcst64(&me->hold, p0 + 1);
		uint64_t p1 = shmring__load_seqcst64(&h->prod_idx);
		if (!later(p1, p0))
			p1 = p0;   /* not moved (or moved back: a scribbler's index) */
		shmring__store_relaxed64(&me->start, p1);   /* relaxed: for tools */
		r->c.pos = p1;
		priv(r)->bc.start = p1;
		priv(r)->bc.delivered = priv(r)->bc.overruns = 0;
		priv(r)->bc.probe = 1;
		if (p1 != p0) {
			/* F4: release: moving on is always allowed. The producer
			 * may have stopped at our first hold (p0 + slots) while
			 * we wait for p1: wake it, or both would wait */
			shmring__store_release64(&me->hold, p1 + 1);
			if (!lossy(r))
				shmring__notify(r, SHMRING__DIR_SPACE);
		}
	}
}

/* at close, before the registry entry is released: hold nothing */
void shmring__broadcast_leave(struct shmring *r)
{
	/* F4: release: our slot reads before the producer may overwrite
	 * them; pairs with F3 */
	shmring__store_release64(&priv(r)->bc.subs[priv(r)->cons_entry].hold, 0);
}
