/* SPDX-License-Identifier: MIT */
/*
 * spsc.c - the SPSC engine, out-of-line half: the space and data checks
 * behind the inline fast paths, waiting, bursts, the slow paths of the
 * inline calls in shmring/spsc_inline.h, and where a new producer resumes.
 * Same shape as mpmc.c; api.c has checked the arguments and the role.
 *
 * Publication protocol (labels as in docs/memory-model.md):
 *   P1  producer: payload writes, then store-release the slot's seal   pairs with C1
 *   P1i producer: store-release prod_idx, after the seal               pairs with C1i
 *   C1  consumer: load-acquire the seal of the slot at c.pos, then payload reads
 *   C1i consumer: load-acquire prod_idx, then the seal again (a missing seal)
 *   C2  consumer: slot reads, then store-release cons_idx               pairs with P2
 *   P2  producer: load-acquire cons_idx, then overwrite the slot
 */
#include <errno.h>
#include <string.h>
#include "private.h"

/*
 * Producer: re-read cons_idx into the cache. >0 if at least one slot is
 * free, 0 if full, -EPROTO if the shared index is impossible (a peer
 * scribbled on it: cons_idx must lie in [pos - slots, pos]).
 */
static int space_ready(struct shmring *r)
{
	uint64_t pos = r->p.pos, n = priv(r)->nslots;
	/* P2: acquire: the consumer's slot reads are done; pairs with C2 */
	uint64_t cons = shmring__load_acquire64(&r->hdr->cons_idx);
	if (pos - cons > n)
		return -EPROTO;
	r->p.limit = cons + n;
	return pos < r->p.limit;
}

/*
 * The inline paths' refresh when the cached limit is reached: >0 when at
 * least space_batch slots are free. Fewer (the consumer is a slot or two
 * behind us on a full ring, its reads and our writes on the same cache
 * lines) and the caller goes to the slow path, where wait_space() waits a
 * moment for a batch before it takes what there is.
 */
int shmring__spsc_space(struct shmring *r)
{
	int rc = space_ready(r);
	if (rc > 0 && r->p.limit - r->p.pos < priv(r)->space_batch) {
		r->p.limit = r->p.pos;   /* not yet: keep the inline path out */
		return 0;
	}
	return rc;
}

/*
 * Consumer: is there a message at c.pos? >0 yes (or a published slot
 * without its seal: recv finds it corrupt and skips it), 0 not yet,
 * -EPROTO the producer's index is impossible (more than a ring from pos).
 * A waiting consumer polls the seal of the slot it reads next, as the
 * inline paths do: measured, that beat watching the producer's index even
 * while the producer is writing that very slot (docs/benchmarks.md). The
 * index is read only when asked (seal_probe: on entry to a try, and at the
 * wait loop's cadence through spsc_probe(), before every sleep), to find a
 * slot that was published but lost its seal; it may lag behind pos when a producer
 * died between its seals (P1) and the index store (P1i): we took those
 * messages already.
 */
/*
 * The producer's index as the consumer sees it, read once (C1i): how many
 * slots from c.pos it covers (0 to a ring), INDEX_BEHIND when it lags
 * behind c.pos by at most a ring (a producer died between its seals and
 * its index store: we took those messages already), or -EPROTO when it is
 * neither (a peer scribbled on it).
 */
#define INDEX_BEHIND (-1)

static int64_t index_ahead(struct shmring *r)
{
	uint64_t pos = r->c.pos, n = priv(r)->nslots;
	/* C1i: acquire: pairs with P1i; the seals before it are visible */
	uint64_t prod = shmring__load_acquire64(&r->hdr->prod_idx);
	if (prod - pos <= n)
		return (int64_t)(prod - pos);
	return pos - prod <= n ? INDEX_BEHIND : -EPROTO;
}

int shmring__spsc_data(struct shmring *r)
{
	uint64_t pos = r->c.pos;

	if (shmring__sealed_for(r, shmring__spsc_seal_at(r, pos), pos))   /* C1 */
		return 1;
	if (!priv(r)->seal_probe)
		return 0;
	priv(r)->seal_probe = 0;
	int64_t ahead = index_ahead(r);
	if (ahead == -EPROTO)
		return -EPROTO;
	return ahead > 0;   /* covered: the seal is missing; else not yet */
}

/* the wait loop's periodic hook (struct shmring__wait_for.stalled): the
 * next data check also reads the index */
static void spsc_probe(struct shmring *r, int force)
{
	(void)force;
	priv(r)->seal_probe = 1;
}

/* what a waiting producer / consumer waits for (shmring__wait(); and
 * shmring_poll() through shmring__wait_table() in api.c) */
const struct shmring__wait_for shmring__spsc_for_space = {
	.dir = SHMRING__DIR_SPACE,
	.ready = space_ready,
	.gone = shmring__consumers_gone,
};

/*
 * recv_burst's data check for slots of up to BURST_LOOKAHEAD_MAX_SLOT bytes
 * (larger ones wait as recv does): it takes what the producer's index covers (C1i)
 * rather than polling the head's seal, so it neither reads a burst that is
 * still being written line by line, pulling each line from the producer
 * between its stores, nor reads past what the index vouches for (its
 * look-ahead relies on that). >0 with priv(r)->burst_covered the slots
 * covered, 0 none yet, -EPROTO an impossible index. When asked (seal_probe:
 * a try, the wait loop's cadence, before every sleep, at the end) and the
 * index covers nothing, the head's seal decides, burst_covered UINT64_MAX:
 * a producer that died between its seals and its index store.
 */
static int burst_data(struct shmring *r)
{
	uint64_t pos = r->c.pos;
	int64_t ahead = index_ahead(r);
	if (ahead > 0) {
		priv(r)->burst_covered = (uint64_t)ahead;
		return 1;
	}
	if (ahead == -EPROTO)
		return -EPROTO;
	if (!priv(r)->seal_probe)
		return 0;
	priv(r)->seal_probe = 0;
	priv(r)->burst_covered = UINT64_MAX;   /* the seals say how far */
	return shmring__sealed_for(r, shmring__spsc_seal_at(r, pos), pos);   /* C1 */
}

static const struct shmring__wait_for spsc_for_burst = {
	.dir = SHMRING__DIR_DATA,
	.ready = burst_data,
	.gone = shmring__producers_gone,
	.stalled = spsc_probe,
	.at_end = shmring__stream_seen_end,
};

const struct shmring__wait_for shmring__spsc_for_data = {
	.dir = SHMRING__DIR_DATA,
	.ready = shmring__spsc_data,
	.gone = shmring__producers_gone,
	.stalled = spsc_probe,
	.at_end = shmring__stream_seen_end,
};

/*
 * Where a producer attaching to a used ring starts: after the last sealed
 * position. A producer that died between sealing a slot (P1) and storing
 * the index (P1i) left a message the consumer may already have taken, so
 * the index alone could send us back onto it. From the later of the two
 * indices, step over slots sealed for their position, at most up to
 * cons + slots (the ring full). prod and cons were validated by the caller
 * (one lies at most a ring ahead of the other).
 */
uint64_t shmring__spsc_resume(struct shmring *r, uint64_t prod, uint64_t cons)
{
	uint64_t pos = prod - cons <= priv(r)->nslots ? prod : cons;
	uint64_t end = cons + priv(r)->nslots;

	while (pos < end && shmring__sealed_for(r, shmring__spsc_seal_at(r, pos), pos))
		pos++;
	return pos;
}

/* spins of wait_space() for a batch of room (each one cons_idx load and a
 * pause: a few microseconds in all) */
#define SPACE_BATCH_SPINS 256

static int wait_space(struct shmring *r, int64_t timeout_ns)
{
	if (r->p.pos < r->p.limit)
		return 1;
	/* a full ring: a caller who may wait and spin waits a moment for
	 * space_batch free slots (the consumer then reads lines we no longer
	 * write); then takes what there is, so nobody waits on a batch that
	 * never comes. Sleep-at-once handles and a timeout under 1 ms (0:
	 * a try) take a slot: the polls would overrun a short deadline. */
	if (shmring__may_batch(r, timeout_ns)) {
		priv(r)->batch_waits++;
		for (int i = 0; i < SPACE_BATCH_SPINS; i++) {
			int rc = space_ready(r);
			if (rc < 0)
				return rc;
			if (r->p.limit - r->p.pos >= priv(r)->space_batch)
				return 1;
			shmring__cpu_relax();
		}
	}
	return shmring__wait(r, &shmring__spsc_for_space, timeout_ns);
}

/*
 * A blocking wait reads prod_idx only at the wait loop's cadence (the first
 * time after SHMRING__SPIN_CHECK_EVERY polls, and before every sleep), not on
 * entry: a consumer that keeps catching up with its producer enters a wait
 * for nearly every message, and a read of prod_idx each time pulled the
 * line the producer stores after every message away from it (measured,
 * 9 reps: shm-spsc 512 B 1.09x, zero-copy 4 KiB 1.10x on an Intel VM, 64 B
 * 1.42x and 512 B 1.18x on an AMD one; docs/benchmarks.md).
 * A try (timeout 0) still probes on entry, so one call finds a published
 * slot without its seal. w: shmring__spsc_for_data, or recv_burst's
 * spsc_for_burst.
 */
static int wait_data_by(struct shmring *r, const struct shmring__wait_for *w,
                        int64_t timeout_ns)
{
	if (timeout_ns == 0)
		priv(r)->seal_probe = 1;
	int rc = w->ready(r);
	if (rc)
		return rc;
	return shmring__wait(r, w, timeout_ns);
}

/*
 * EXPERIMENT (off unless built with -DSHMRING__SLIP_BYTES=N): a consumer
 * that keeps catching up with a streaming producer polls the very line the
 * producer is writing, and the two pass it back and forth for every
 * message. FastForward's temporal slipping: when the last wait found the
 * head within SLIP_QUICK polls (a stream, not a reply to a request), wait
 * first, at most SLIP_POLLS polls, for the slot SLIP_BYTES further on;
 * its seal (C1) shows every slot before it sealed too (one producer seals
 * in position order, P1), so the head can be taken with them.
 * Not enabled: on a quiet machine it gave +20-30 % saturated throughput
 * at 64-512 B, but a paced stream's one-way p50 went from 120-180 ns to
 * 300-940 ns (bench/paced_latency.c; docs/benchmarks.md, "December 8,
 * quiet machine"): each message waits for one SLIP_BYTES further on.
 */
#ifndef SHMRING__SLIP_BYTES
#define SHMRING__SLIP_BYTES 0
#endif
#define SLIP_QUICK 2
#define SLIP_POLLS 64

static int wait_data(struct shmring *r, int64_t timeout_ns)
{
	if (SHMRING__SLIP_BYTES && timeout_ns != 0 && shmring__may_spin(r)) {
		uint64_t pos = r->c.pos, d = SHMRING__SLIP_BYTES / r->stride;
		if (d > priv(r)->nslots / 4)
			d = priv(r)->nslots / 4;
		if (priv(r)->slip && d) {
			priv(r)->slip = 0;
			for (int i = 0; i < SLIP_POLLS; i++) {
				/* C1 of slot pos + d: pairs with its P1 */
				if (shmring__sealed_for(r, shmring__spsc_seal_at(r, pos + d), pos + d)) {
					priv(r)->slip = 1;
					return 1;
				}
				shmring__cpu_relax();
			}
		}
		for (int i = 0; i < SLIP_QUICK; i++) {
			if (shmring__sealed_for(r, shmring__spsc_seal_at(r, pos), pos)) {   /* C1 */
				priv(r)->slip = 1;
				return 1;
			}
			shmring__cpu_relax();
		}
	}
	return wait_data_by(r, &shmring__spsc_for_data, timeout_ns);
}

/* the consumer found a slot without its seal or with an impossible length:
 * skip it (the ring stays usable), count it, report it */
static int skip_corrupt(struct shmring *r, uint64_t pos)
{
	/* relaxed: a statistic */
	shmring__add_relaxed64(&r->hdr->bad_msgs, 1);
	shmring__spsc_consume(r, pos + 1);
	return -EBADMSG;
}

/* the message at c.pos once wait_data() said so: its length, or -1 when
 * the slot is corrupt (seal not for this position, length impossible) */
static int64_t head_len(struct shmring *r)
{
	uint64_t seal = shmring__spsc_seal_at(r, r->c.pos);   /* C1, once */
	uint32_t len = (uint32_t)seal;
	if (!shmring__sealed_for(r, seal, r->c.pos) || len > r->slot_size)
		return -1;
	return len;
}

/*
 * The bursts' copy: 17-64 bytes as two overlapping halves, both loaded
 * before either is stored; the rest as shmring__copy(). In a loop over many
 * slots this costs less than the inline path's in-order 16-byte pieces
 * (Burst/8 of 64-byte messages, one thread: 48.7 -> 35.0 ns a call), and
 * between two processes it measured the same (docs/benchmarks.md). The
 * single-message paths keep the pieces: there the halves held a 64 B
 * stream to a third of its rate.
 */
static inline void burst_copy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (n > 32 && n <= 64) {
		unsigned char a[32], b[32];
		memcpy(a, s, 32);
		memcpy(b, s + n - 32, 32);
		memcpy(d, a, 32);
		memcpy(d + n - 32, b, 32);
	} else if (n > 16 && n <= 32) {
		unsigned char a[16], b[16];
		memcpy(a, s, 16);
		memcpy(b, s + n - 16, 16);
		memcpy(d, a, 16);
		memcpy(d + n - 16, b, 16);
	} else {
		shmring__copy(d, s, n);
	}
}

/* the bursts' copy when every payload fits 16 bytes (slot_size <= 16):
 * shmring__copy() without its tests for larger sizes */
static inline void copy_upto16(void *dst, const void *src, size_t n)
{
	if (n >= 8) {
		uint64_t a, b;
		memcpy(&a, src, 8);
		memcpy(&b, (const unsigned char *)src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy((unsigned char *)dst + n - 8, &b, 8);
	} else {
		shmring__copy(dst, src, n);
	}
}

int shmring__spsc_send(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns)
{
	int rc = wait_space(r, timeout_ns);
	if (rc < 0)
		return rc;
	shmring__spsc_put(r, msg, len);
	return 0;
}

ssize_t shmring__spsc_recv(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns)
{
	int rc = wait_data(r, timeout_ns);
	if (rc < 0)
		return rc;
	int64_t len = head_len(r);
	if (len < 0)
		return skip_corrupt(r, r->c.pos);
	if ((size_t)len > cap)
		return -EMSGSIZE;
	shmring__copy(buf, shmring__spsc_payload(r, r->c.pos), (size_t)len);
	shmring__spsc_consume(r, r->c.pos + 1);
	shmring__count_recv(r, (size_t)len);
	return (ssize_t)len;
}

/*
 * A burst stores its index (and checks for a sleeping peer) once at its end,
 * and also after every BURST_PUBLISH_BYTES of slots (and at the ring's end,
 * see the runs below): a burst of large
 * messages would otherwise hold the peer off for all of it (a producer
 * finds no room until the consumer's whole burst is copied, a sleeping
 * consumer is not woken until the producer's is). Measured: bursts of 256
 * 16 KiB messages ran at 0.45x of send/recv with 4 futex calls per 1000
 * messages before (docs/benchmarks.md).
 */
#define BURST_PUBLISH_BYTES 65536

/*
 * recv_burst's look-ahead: the slots the producer's index covers are
 * finished, so the loop fetches the line BURST_LOOKAHEAD_BYTES ahead of the
 * slot it reads, instead of stalling on each seal while its line comes over
 * from the producer's cache (perf: 81 % of recv_burst's samples on the seal
 * load at 8 B). Never past the index: a line the producer is still writing
 * would be pulled away from it. Only for slots of up to
 * BURST_LOOKAHEAD_MAX_SLOT bytes: above, the copy streams by itself and the
 * fetches cost (bursts of 32 at 256 B: 0.91x), and reading by the index
 * alone cost too (0.93x), so larger slots are read as before, by their
 * seals. Measured, 9 reps, Intel VM: bursts of 256 at 8 B 2.11x, 64 B
 * 1.18x, 128 B 1.10x; of 32 1.58x, 1.20x, 1.00x (docs/benchmarks.md).
 */
#define BURST_LOOKAHEAD_BYTES 1024
#define BURST_LOOKAHEAD_MAX_SLOT 128

/*
 * The bursts walk their slots in runs: the slots up to the end of the ring
 * (one lap tag, the slot pointer advanced by the stride, no wrap test per
 * slot) and at most burst_step() of them, the most slots that can hold
 * BURST_PUBLISH_BYTES of payload; the index is stored after each run that
 * does not end the burst, and once at its end. The handle's fields are
 * copied into locals first: the copies' stores may alias the handle, so
 * the compiler would read them again after every message.
 * Measured (docs/benchmarks.md, December 7, second session): the cursor
 * walk with a test per slot for the wrap and for the 64 KiB step cost
 * 45 (send_burst) and 55 (recv_burst) instructions a message of 8 bytes.
 */
static uint64_t burst_step(const struct shmring *r, unsigned n)
{
	/* a burst whose slots cannot hold more is one step (no division:
	 * Burst/1 in the microbenchmark paid ~6 ns for one) */
	if ((uint64_t)n * r->slot_size <= BURST_PUBLISH_BYTES)
		return n;
	uint64_t step = BURST_PUBLISH_BYTES / (r->slot_size ? r->slot_size : 1);
	return step ? step : 1;
}

/* the slots of a run: n from pos, none past the ring's end or the step */
static unsigned run_len(const struct shmring *r, uint64_t pos, unsigned n, uint64_t step)
{
	uint64_t to_end = r->mask + 1 - (pos & r->mask);
	uint64_t run = n < to_end ? n : to_end;
	return (unsigned)(run < step ? run : step);
}

/* one run of send_burst: msgs[0..n) into the n slots from slot, sealed
 * with tag; how many (fewer where a message is invalid). small: every
 * payload fits 16 bytes (the copy for them, see copy_upto16()) */
static SHMRING__ALWAYS_INLINE unsigned put_run(unsigned char *slot, size_t stride,
                                               uint32_t cap, uint64_t tag,
                                               const struct iovec *msgs, unsigned n,
                                               size_t *bytes, int small)
{
	size_t sum = 0;
	unsigned k;
	for (k = 0; k < n; k++, slot += stride) {
		size_t len = msgs[k].iov_len;
		const void *src = msgs[k].iov_base;
		if (len > cap || (!src && len))
			break;   /* the caller learns from the count; next call reports it */
		if (small)
			copy_upto16(slot + sizeof(struct shmring__slot_spsc), src, len);
		else
			burst_copy(slot + sizeof(struct shmring__slot_spsc), src, len);
		/* P1: release: the payload before the seal (as shmring__spsc_seal);
		 * pairs with C1. The consumer may start on it at once */
		shmring__store_release64(&((struct shmring__slot_spsc *)(void *)slot)->seal,
		                         tag | (uint32_t)len);
		sum += len;
	}
	*bytes += sum;
	return k;
}

int shmring__spsc_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n,
                             int64_t timeout_ns)
{
	int rc = wait_space(r, timeout_ns);
	if (rc < 0)
		return rc;

	uint64_t pos = r->p.pos;
	/* the cache falls short of the burst: look at the shared index once */
	if (r->p.limit - pos < n)
		space_ready(r);
	uint64_t room = r->p.limit - pos;
	unsigned m = room < n ? (unsigned)room : n;
	uint64_t step = burst_step(r, m);
	size_t stride = r->stride;
	uint32_t cap = r->slot_size;
	unsigned k = 0;
	size_t bytes = 0;
	while (k < m) {
		uint64_t at = pos + k;
		unsigned run = run_len(r, at, m - k, step);
		unsigned char *slot = shmring__slot(r, at);
		uint64_t tag = (uint64_t)shmring__lap_tag(r, at) << 32;
		unsigned done = cap <= 16 ? put_run(slot, stride, cap, tag, msgs + k, run, &bytes, 1)
		                          : put_run(slot, stride, cap, tag, msgs + k, run, &bytes, 0);
		k += done;
		if (done < run || k == m)
			break;
		shmring__spsc_publish(r, pos + k);   /* a step or a lap: wakes a sleeper */
	}
	if (r->p.pos != pos + k)   /* not already stored after the last run */
		shmring__spsc_publish(r, pos + k);   /* one index store and one wake check */
	shmring__count_sent(r, bytes);
	return (int)k;
}

/* why a run of recv_burst stopped before its end: the slot there holds no
 * message for its position or an impossible length (RUN_CORRUPT), or the
 * caller's buffer is too small (-EMSGSIZE) or missing (-EINVAL) */
#define RUN_CORRUPT 1

/* one run of recv_burst: the n slots from slot, lap tag tag, into bufs;
 * how many (*why says why fewer). The slots below fetch get the line
 * BURST_LOOKAHEAD_BYTES ahead fetched (the caller made sure that the
 * index covers it and that it lies in the ring) */
static SHMRING__ALWAYS_INLINE unsigned get_run(const unsigned char *slot, size_t stride,
                                               uint32_t cap, uint64_t tag,
                                               struct iovec *bufs, unsigned n,
                                               unsigned fetch, size_t *bytes, int *why,
                                               int small)
{
	size_t sum = 0;
	unsigned k;
	for (k = 0; k < n; k++, slot += stride) {
		if (k < fetch)
			__builtin_prefetch(slot + BURST_LOOKAHEAD_BYTES);
		/* C1: acquire, once (untrusted): pairs with P1 */
		uint64_t seal = shmring__load_acquire64(
			&((const struct shmring__slot_spsc *)(const void *)slot)->seal);
		uint32_t len = (uint32_t)seal;
		if ((seal & ~UINT64_C(0xffffffff)) != tag || len > cap) {
			*why = RUN_CORRUPT;   /* or, found by seals, not sealed yet */
			break;
		}
		void *dst = bufs[k].iov_base;
		if (len > bufs[k].iov_len || (!dst && len)) {
			*why = dst || !len ? -EMSGSIZE : -EINVAL;
			break;
		}
		if (small)
			copy_upto16(dst, slot + sizeof(struct shmring__slot_spsc), len);
		else
			burst_copy(dst, slot + sizeof(struct shmring__slot_spsc), len);
		bufs[k].iov_len = len;
		sum += len;
	}
	*bytes += sum;
	return k;
}

int shmring__spsc_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
                             int64_t timeout_ns)
{
	/* small slots: by the index, with the look-ahead; larger ones as recv
	 * waits, by the head's seal, and then as far as the seals go */
	int by_index = r->slot_size <= BURST_LOOKAHEAD_MAX_SLOT;
	int rc = wait_data_by(r, by_index ? &spsc_for_burst : &shmring__spsc_for_data,
	                      timeout_ns);
	if (rc < 0)
		return rc;

	uint64_t pos = r->c.pos;
	/* UINT64_MAX: the seals say how far */
	uint64_t covered = by_index ? priv(r)->burst_covered : UINT64_MAX;
	if (covered < n)
		n = (unsigned)covered;
	/* the look-ahead reads only lines below the index (no fetch when the
	 * seals say how far) and inside the ring (no wrap) */
	uint64_t fetch_below = 0, ahead = 0, nslots = r->mask + 1;
	if (covered != UINT64_MAX && covered * r->stride > BURST_LOOKAHEAD_BYTES) {
		fetch_below = covered;   /* something to fetch: worth a division */
		ahead = BURST_LOOKAHEAD_BYTES / r->stride;
	}
	uint64_t step = burst_step(r, n);
	size_t stride = r->stride;
	uint32_t cap = r->slot_size;
	unsigned k = 0;
	size_t bytes = 0;
	int why = 0;
	while (k < n) {
		uint64_t at = pos + k, idx = at & r->mask;
		unsigned run = run_len(r, at, n - k, step);
		/* slot j of the run fetches slot k + j + ahead's line: below the
		 * index and before the ring's end (slot idx + j + ahead) */
		unsigned fetch = 0;
		if (fetch_below > k + ahead) {
			uint64_t f1 = fetch_below - k - ahead;
			uint64_t f2 = nslots > idx + ahead ? nslots - idx - ahead : 0;
			uint64_t f = f1 < f2 ? f1 : f2;
			fetch = f < run ? (unsigned)f : run;
		}
		const unsigned char *slot = shmring__slot(r, at);
		uint64_t tag = (uint64_t)shmring__lap_tag(r, at) << 32;
		unsigned done = cap <= 16
			? get_run(slot, stride, cap, tag, bufs + k, run, fetch, &bytes, &why, 1)
			: get_run(slot, stride, cap, tag, bufs + k, run, fetch, &bytes, &why, 0);
		k += done;
		if (done < run || k == n)
			break;
		shmring__spsc_consume(r, pos + k);   /* a step or a lap: frees room now */
	}
	if (k == 0 && why) {
		/* the index or its seal said the head is published */
		if (why == RUN_CORRUPT)
			return skip_corrupt(r, pos);
		return why;
	}
	if (r->c.pos != pos + k)   /* not already stored after the last run */
		shmring__spsc_consume(r, pos + k);
	shmring__count_recv(r, bytes);
	return (int)k;
}

int shmring__spsc_reserve(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	int rc = wait_space(r, timeout_ns);
	if (rc < 0)
		return rc;
	shmring__spsc_lend_write(r, s);
	return 0;
}

/* the inline commit takes every valid one; here: why it was refused */
int shmring__spsc_commit(struct shmring *r, struct shmring_slot *s, size_t len)
{
	if (s->pos != r->p.pos)
		return -EINVAL;   /* not the slot handed out */
	if (r->p.shut)
		return -EPIPE;    /* shut down while reserved: the slot is not published */
	if (len > r->slot_size)
		return -EMSGSIZE;
	shmring__spsc_seal(r, s->pos, len);
	r->p.reserved = 0;
	shmring__refresh_fast(r);
	shmring__spsc_publish(r, s->pos + 1);
	shmring__count_sent(r, len);
	s->data = NULL;
	return 0;
}

int shmring__spsc_acquire(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	int rc = wait_data(r, timeout_ns);
	if (rc < 0)
		return rc;
	int64_t len = head_len(r);
	if (len < 0)
		return skip_corrupt(r, r->c.pos);
	shmring__spsc_lend_read(r, s, (uint32_t)len);
	return 0;
}

/* the inline release takes every valid one; here: why it was refused */
int shmring__spsc_release(struct shmring *r, struct shmring_slot *s)
{
	if (s->pos != r->c.pos)
		return -EINVAL;   /* not the slot handed out */
	r->c.acquired = 0;
	shmring__refresh_fast(r);
	shmring__spsc_consume(r, s->pos + 1);
	shmring__count_recv(r, s->len);
	s->data = NULL;
	return 0;
}
