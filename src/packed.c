/* SPDX-License-Identifier: MIT */
/*
 * packed.c - the packed engine (SHMRING_PACKED, one producer and one
 * consumer): messages of any length 0..slot_size packed back to back in a
 * record area of pk.size bytes (slots * slot_size rounded up to 8). Same
 * shape as spsc.c and mpmc.c; api.c has checked the arguments and the
 * role. A packed handle never takes the inline SPSC paths (its kind is
 * SHMRING__KIND_PACKED, so p.fast and c.fast stay 0).
 *
 * Records (struct shmring__rec_packed in shmring/layout.h): an 8-byte
 * header {len, type}, then for a message len payload bytes padded to a
 * multiple of 8, so every record starts 8-byte aligned. A record never
 * wraps: when the next one does not fit before the end of the area, the
 * producer first writes a padding record over the rest (its len: the bytes
 * after its header up to the end) and goes on at offset 0. prod_idx and
 * cons_idx count bytes; positions stay multiples of 8 and the offset of a
 * position is pos % size, which each side keeps step by step.
 *
 * Index protocol (labels as in docs/memory-model.md):
 *   B1 producer: record writes, then store-release prod_idx    pairs with B2
 *   B2 consumer: load-acquire prod_idx, then record reads
 *   B3 consumer: record reads, then store-release cons_idx      pairs with B4
 *   B4 producer: load-acquire cons_idx, then overwrite the bytes
 *
 * Untrusted input: both indices are read once and must be multiples of 8
 * within one area of our own position (else -EPROTO, as the SPSC engine);
 * each record header is read once (len and type) and checked against the
 * local slot_size, the bytes to the end of the area and the bytes
 * published. A record that fails is corrupt: its boundaries and everything
 * after them up to prod_idx cannot be trusted, so the consumer drops what
 * was published (up to the prod_idx it read), counts one bad message and
 * returns -EBADMSG; the producer's next record starts there. Nothing is
 * ever read or written outside [0, size) of the area.
 */
#include <errno.h>
#include <string.h>
#include "private.h"

#define REC_HDR ((uint64_t)sizeof(struct shmring__rec_packed))

/* the producer's per-message steps are inlined into the burst loop, where
 * the positions stay in registers (a store into the area could otherwise
 * alias the handle's fields and force them to memory every message). The
 * consumer's peek() is left to the compiler: forced inline it measured
 * ~20 % slower on 8-byte bursts between two processes (a streaming ring
 * settles full or empty on a few instructions per message), see
 * docs/benchmarks.md, "Packed rings" */
#if defined(__GNUC__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif

/* bytes of a message record with len payload bytes */
static uint64_t rec_bytes(uint64_t len)
{
	return REC_HDR + ((len + 7) & ~UINT64_C(7));
}

static unsigned char *area(const struct shmring *r)
{
	return r->slots0;
}

/* bytes a record of len payload bytes takes at offset off: its own, plus
 * (*pad) the padding up to the end of the area when it does not fit there */
static uint64_t cost(const struct shmring__priv *pv, uint64_t off, uint64_t len, uint64_t *pad)
{
	uint64_t need = rec_bytes(len), to_end = pv->pk.size - off;

	*pad = need <= to_end ? 0 : to_end;
	return *pad + need;
}

/* a side's position, offset (pos % size) and limit while it works: the
 * producer's limit is the cached cons_idx + size, the consumer's the
 * cached prod_idx */
struct cursor {
	uint64_t pos, off, lim;
};

HOT void step(struct cursor *c, uint64_t size, uint64_t bytes)
{
	c->pos += bytes;
	c->off += bytes;
	if (c->off >= size)   /* == size: records never cross the end */
		c->off -= size;
}

/* the handle's positions from the shared indices, once, at attach */
int shmring__packed_start(struct shmring *r, uint64_t prod, uint64_t cons)
{
	struct shmring__priv *pv = priv(r);
	uint64_t size = pv->pk.size;

	pv->pk.want = r->slot_size;
	if (!size || prod - cons > size || (prod & 7) || (cons & 7))
		return -EPROTO;   /* corrupt indices: refuse rather than guess */
	pv->pk.ppos = prod;
	pv->pk.plimit = cons + size;
	pv->pk.poff = prod % size;
	pv->pk.cpos = cons;
	pv->pk.cavail = prod;
	pv->pk.coff = cons % size;
	/* relaxed: statistics; we hold the role, nobody else writes them */
	pv->pk.sent = shmring__load_relaxed64(&r->hdr->pk_sent);
	pv->pk.received = shmring__load_relaxed64(&r->hdr->pk_received);
	return 0;
}

/* ---- producer ---- */

/* re-read cons_idx. > 0: room for a record of pk.want payload bytes, 0:
 * not yet, -EPROTO: an impossible index (a peer scribbled on it) */
static int space(struct shmring *r)
{
	struct shmring__priv *pv = priv(r);
	uint64_t pos = pv->pk.ppos, pad;
	/* B4: acquire: the consumer's record reads are done; pairs with B3 */
	uint64_t cons = shmring__load_acquire64(&r->hdr->cons_idx);

	if (pos - cons > pv->pk.size || (cons & 7))
		return -EPROTO;
	pv->pk.plimit = cons + pv->pk.size;
	return pv->pk.plimit - pos >= cost(pv, pv->pk.poff, pv->pk.want, &pad);
}

/* consumer: re-read prod_idx. > 0 bytes published, 0 none, -EPROTO */
static int data(struct shmring *r)
{
	struct shmring__priv *pv = priv(r);
	uint64_t pos = pv->pk.cpos;
	/* B2: acquire: the records are visible; pairs with B1 */
	uint64_t prod = shmring__load_acquire64(&r->hdr->prod_idx);

	if (prod - pos > pv->pk.size || (prod & 7))
		return -EPROTO;
	pv->pk.cavail = prod;
	return pos < prod;
}

/* what a waiting producer / consumer waits for (shmring__wait(); and
 * shmring_poll() / the event fd through shmring__wait_table() in api.c).
 * Outside a call the producer "has room" when a message of slot_size
 * would fit (pk.want) */
const struct shmring__wait_for shmring__packed_for_space = {
	.dir = SHMRING__DIR_SPACE,
	.ready = space,
	.gone = shmring__consumers_gone,
};

const struct shmring__wait_for shmring__packed_for_data = {
	.dir = SHMRING__DIR_DATA,
	.ready = data,
	.gone = shmring__producers_gone,
	.at_end = shmring__stream_seen_end,
};

/* wait for room for a record of len payload bytes */
static int wait_space(struct shmring *r, uint64_t len, int64_t timeout_ns)
{
	struct shmring__priv *pv = priv(r);
	uint64_t pad;

	if (pv->pk.plimit - pv->pk.ppos >= cost(pv, pv->pk.poff, len, &pad))
		return 1;
	pv->pk.want = len;
	int rc = shmring__wait(r, &shmring__packed_for_space, timeout_ns);
	pv->pk.want = r->slot_size;
	return rc;
}

HOT void write_pad(unsigned char *a, uint64_t off, uint64_t pad)
{
	struct shmring__rec_packed *h = (struct shmring__rec_packed *)(a + off);
	/* len: the bytes after the header, < a record of slot_size: fits */
	h->word = SHMRING__REC_WORD(SHMRING__REC_PAD, pad - REC_HDR);
}

/* write one message at the cursor (room for pad + its record checked),
 * the padding first when pad; not yet published */
HOT void put(unsigned char *a, uint64_t size, struct cursor *w, const void *msg,
             uint64_t len, uint64_t pad)
{
	if (pad) {
		write_pad(a, w->off, pad);
		step(w, size, pad);   /* to offset 0 */
	}
	struct shmring__rec_packed *h = (struct shmring__rec_packed *)(a + w->off);
	h->word = SHMRING__REC_WORD(SHMRING__REC_MSG, len);
	shmring__copy(h + 1, msg, len);
	step(w, size, rec_bytes(len));
}

static struct cursor prod_cursor(const struct shmring__priv *pv)
{
	return (struct cursor){ pv->pk.ppos, pv->pk.poff, pv->pk.plimit };
}

static void prod_save(struct shmring__priv *pv, const struct cursor *w)
{
	pv->pk.ppos = w->pos;
	pv->pk.poff = w->off;
	pv->pk.plimit = w->lim;
}

/* publish everything written, msgs messages */
static void publish(struct shmring *r, unsigned msgs)
{
	struct shmring__priv *pv = priv(r);

	/* B1: release: the records before the index; pairs with B2 */
	shmring__store_release64(&r->hdr->prod_idx, pv->pk.ppos);
	pv->pk.sent += msgs;
	/* relaxed: a statistic with one writer, the producer */
	shmring__store_relaxed64(&r->hdr->pk_sent, pv->pk.sent);
	shmring__notify(r, SHMRING__DIR_DATA);
}

int shmring__packed_send(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns)
{
	struct shmring__priv *pv = priv(r);
	int rc = wait_space(r, len, timeout_ns);
	if (rc < 0)
		return rc;
	uint64_t pad;
	struct cursor w = prod_cursor(pv);
	cost(pv, w.off, len, &pad);
	put(area(r), pv->pk.size, &w, msg, len, pad);
	prod_save(pv, &w);
	publish(r, 1);
	shmring__count_sent(r, len);
	return 0;
}

int shmring__packed_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n,
                               int64_t timeout_ns)
{
	struct shmring__priv *pv = priv(r);
	int rc = wait_space(r, msgs[0].iov_len, timeout_ns);
	if (rc < 0)
		return rc;

	unsigned char *a = area(r);
	uint64_t size = pv->pk.size, max = r->slot_size;
	struct cursor w = prod_cursor(pv);
	unsigned k = 0;
	size_t bytes = 0;
	int refreshed = 0;
	for (; k < n; k++) {
		size_t len = msgs[k].iov_len;
		const void *base = msgs[k].iov_base;
		if (len > max || (!base && len))
			break;   /* the caller learns from the count; next call reports it */
		uint64_t need = rec_bytes(len), to_end = size - w.off;
		uint64_t pad = need <= to_end ? 0 : to_end;
		if (w.lim - w.pos < pad + need) {
			/* the cache falls short: look at the shared index once */
			if (refreshed)
				break;
			refreshed = 1;
			space(r);   /* checks cons_idx against the published position */
			w.lim = pv->pk.plimit;
			if (w.lim - w.pos < pad + need)
				break;
		}
		put(a, size, &w, base, len, pad);
		bytes += len;
	}
	prod_save(pv, &w);
	publish(r, k);   /* one publication for the burst */
	shmring__count_sent(r, bytes);
	return (int)k;
}

int shmring__packed_reserve(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	struct shmring__priv *pv = priv(r);
	int rc = wait_space(r, r->slot_size, timeout_ns);
	if (rc < 0)
		return rc;
	/* slot_size contiguous bytes: pad to the end now if they do not fit
	 * there (nothing is published before commit) */
	uint64_t pad, off = pv->pk.poff;
	cost(pv, off, r->slot_size, &pad);
	if (pad) {
		write_pad(area(r), off, pad);
		off = 0;
	}
	pv->pk.lent_pad = pad;
	s->data = area(r) + off + REC_HDR;
	s->len = r->slot_size;
	s->pos = pv->pk.ppos;
	r->p.reserved = 1;
	return 0;
}

int shmring__packed_commit(struct shmring *r, struct shmring_slot *s, size_t len)
{
	struct shmring__priv *pv = priv(r);

	if (s->pos != pv->pk.ppos)
		return -EINVAL;   /* not the record handed out */
	if (r->p.shut)
		return -EPIPE;    /* shut down while reserved: not published */
	if (len > r->slot_size)
		return -EMSGSIZE;
	struct cursor w = prod_cursor(pv);
	if (pv->pk.lent_pad)
		step(&w, pv->pk.size, pv->pk.lent_pad);   /* the padding reserve wrote */
	struct shmring__rec_packed *h = (struct shmring__rec_packed *)(area(r) + w.off);
	h->word = SHMRING__REC_WORD(SHMRING__REC_MSG, len);
	step(&w, pv->pk.size, rec_bytes(len));
	prod_save(pv, &w);
	r->p.reserved = 0;
	publish(r, 1);
	shmring__count_sent(r, len);
	s->data = NULL;
	return 0;
}

/* ---- consumer ---- */

static struct cursor cons_cursor(const struct shmring__priv *pv)
{
	return (struct cursor){ pv->pk.cpos, pv->pk.coff, pv->pk.cavail };
}

static void cons_save(struct shmring__priv *pv, const struct cursor *c)
{
	pv->pk.cpos = c->pos;
	pv->pk.coff = c->off;
	pv->pk.cavail = c->lim;
}

/* release everything read up to the consumer's position, msgs messages */
static void consume(struct shmring *r, unsigned msgs)
{
	struct shmring__priv *pv = priv(r);

	/* B3: release: our record reads complete before the producer may
	 * reuse the bytes; pairs with B4 */
	shmring__store_release64(&r->hdr->cons_idx, pv->pk.cpos);
	if (msgs) {
		pv->pk.received += msgs;
		/* relaxed: a statistic with one writer, the consumer */
		shmring__store_relaxed64(&r->hdr->pk_received, pv->pk.received);
	}
	shmring__notify(r, SHMRING__DIR_SPACE);
}

/*
 * The message record at the cursor (padding records are stepped over).
 * Its header is read once (relaxed, after B2) and judged from the copy.
 * 1: *len and *payload set; 0: nothing but padding published; -EBADMSG:
 * a corrupt record.
 */
static int peek(const unsigned char *a, uint64_t size, uint64_t max, struct cursor *c,
                uint64_t *len, const unsigned char **payload)
{
	for (;;) {
		uint64_t avail = c->lim - c->pos;   /* a multiple of 8 */
		uint64_t to_end = size - c->off;
		if (!avail)
			return 0;
		const struct shmring__rec_packed *h =
			(const struct shmring__rec_packed *)(a + c->off);
		/* relaxed, once: after B2; untrusted, never re-read */
		uint64_t word = shmring__load_relaxed64(&h->word);
		uint64_t l = SHMRING__REC_LEN(word);
		uint32_t type = SHMRING__REC_TYPE(word);
		if (type == SHMRING__REC_PAD) {
			if (l + REC_HDR != to_end || avail < to_end)
				return -EBADMSG;
			step(c, size, to_end);   /* to offset 0 */
			continue;
		}
		if (type != SHMRING__REC_MSG || l > max)
			return -EBADMSG;
		uint64_t need = rec_bytes(l);
		if (need > to_end || need > avail)
			return -EBADMSG;
		*len = l;
		*payload = (const unsigned char *)(h + 1);
		return 1;
	}
}

/* a corrupt record: drop everything published (its boundaries cannot be
 * trusted), count it, report it; the ring stays usable */
static int corrupt(struct shmring *r)
{
	struct shmring__priv *pv = priv(r);
	struct cursor c = cons_cursor(pv);

	/* relaxed: a statistic */
	shmring__add_relaxed64(&r->hdr->bad_msgs, 1);
	step(&c, pv->pk.size, c.lim - c.pos);
	cons_save(pv, &c);
	consume(r, 0);
	return -EBADMSG;
}

/* wait for a message record: 1 (the consumer's position is at it: *len,
 * *payload), or an error of the wait (-EAGAIN, -ETIMEDOUT, -EPIPE,
 * -EPROTO) or -EBADMSG */
static int wait_record(struct shmring *r, int64_t timeout_ns, uint64_t *len,
                       const unsigned char **payload)
{
	struct shmring__priv *pv = priv(r);

	for (;;) {
		int rc = pv->pk.cpos < pv->pk.cavail
		                 ? 1
		                 : shmring__wait(r, &shmring__packed_for_data, timeout_ns);
		if (rc < 0)
			return rc;
		struct cursor c = cons_cursor(pv);
		rc = peek(area(r), pv->pk.size, r->slot_size, &c, len, payload);
		if (rc < 0)
			return corrupt(r);
		int moved = c.pos != pv->pk.cpos;
		cons_save(pv, &c);
		if (rc > 0)
			return 1;
		if (moved)
			consume(r, 0);   /* padding alone (not from us): let it go */
	}
}

ssize_t shmring__packed_recv(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns)
{
	struct shmring__priv *pv = priv(r);
	uint64_t len;
	const unsigned char *p;
	int rc = wait_record(r, timeout_ns, &len, &p);
	if (rc < 0)
		return rc;
	if (len > cap)
		return -EMSGSIZE;   /* it stays in the ring */
	shmring__copy(buf, p, len);
	struct cursor c = cons_cursor(pv);
	step(&c, pv->pk.size, rec_bytes(len));
	cons_save(pv, &c);
	consume(r, 1);
	shmring__count_recv(r, len);
	return (ssize_t)len;
}

int shmring__packed_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
                               int64_t timeout_ns)
{
	struct shmring__priv *pv = priv(r);
	uint64_t len;
	const unsigned char *p;
	int rc = wait_record(r, timeout_ns, &len, &p);
	if (rc < 0)
		return rc;

	const unsigned char *a = area(r);
	uint64_t size = pv->pk.size, max = r->slot_size;
	struct cursor c = cons_cursor(pv);
	unsigned k = 0;
	size_t bytes = 0;
	int refreshed = 0;
	for (;;) {
		if (len > bufs[k].iov_len || (!bufs[k].iov_base && len)) {
			if (k == 0)
				return bufs[0].iov_base || !len ? -EMSGSIZE : -EINVAL;
			break;
		}
		shmring__copy(bufs[k].iov_base, p, len);
		bufs[k].iov_len = len;
		bytes += len;
		step(&c, size, rec_bytes(len));
		if (++k == n)
			break;
		rc = peek(a, size, max, &c, &len, &p);
		if (rc == 0 && !refreshed) {
			/* the cache is used up: look at the shared index once */
			refreshed = 1;
			cons_save(pv, &c);
			if (data(r) > 0) {
				c.lim = pv->pk.cavail;
				rc = peek(a, size, max, &c, &len, &p);
			}
		}
		if (rc <= 0)
			break;   /* empty, or corrupt: reported by the next call */
	}
	cons_save(pv, &c);
	consume(r, k);   /* one release for the burst */
	shmring__count_recv(r, bytes);
	return (int)k;
}

int shmring__packed_acquire(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	struct shmring__priv *pv = priv(r);
	uint64_t len;
	const unsigned char *p;
	int rc = wait_record(r, timeout_ns, &len, &p);
	if (rc < 0)
		return rc;
	pv->pk.lent_rec = len;
	s->data = (void *)p;
	s->len = len;
	s->pos = pv->pk.cpos;
	r->c.acquired = 1;
	return 0;
}

int shmring__packed_release(struct shmring *r, struct shmring_slot *s)
{
	struct shmring__priv *pv = priv(r);

	if (s->pos != pv->pk.cpos)
		return -EINVAL;   /* not the record handed out */
	r->c.acquired = 0;
	struct cursor c = cons_cursor(pv);
	step(&c, pv->pk.size, rec_bytes(pv->pk.lent_rec));
	cons_save(pv, &c);
	consume(r, 1);
	shmring__count_recv(r, pv->pk.lent_rec);
	s->data = NULL;
	return 0;
}
