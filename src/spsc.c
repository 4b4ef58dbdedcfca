/* SPDX-License-Identifier: MIT */
/*
 * spsc.c - the SPSC engine, out-of-line half: index refresh (the cached
 * peer index said full/empty), waiting, bursts, and the slow paths of the
 * inline calls in shmring/spsc_inline.h. Same shape as mpmc.c; api.c has
 * checked the arguments and the role.
 *
 * Index protocol (labels as in docs/memory-model.md):
 *   P1 producer: slot writes, then store-release prod_idx      pairs with C1
 *   C1 consumer: load-acquire prod_idx, then slot reads
 *   C2 consumer: slot reads, then store-release cons_idx        pairs with P2
 *   P2 producer: load-acquire cons_idx, then overwrite the slot
 */
#include <errno.h>
#include <string.h>
#include "private.h"

/*
 * Producer: re-read cons_idx into the cache. >0 if at least one slot is
 * free, 0 if full, -EPROTO if the shared index is impossible (a peer
 * scribbled on it: cons_idx must lie in [pos - slots, pos]).
 */
int shmring__spsc_space(struct shmring *r)
{
	uint64_t pos = r->p.pos, n = priv(r)->nslots;
	/* P2: acquire: the consumer's slot reads are done; pairs with C2 */
	uint64_t cons = shmring__load_acquire64(&r->hdr->cons_idx);
	if (pos - cons > n)
		return -EPROTO;
	r->p.limit = cons + n;
	return pos < r->p.limit;
}

/* Consumer: re-read prod_idx. >0 data, 0 empty, -EPROTO impossible index
 * (prod_idx must lie in [pos, pos + slots]). */
int shmring__spsc_data(struct shmring *r)
{
	uint64_t pos = r->c.pos;
	/* C1: acquire: the slot contents are visible; pairs with P1 */
	uint64_t prod = shmring__load_acquire64(&r->hdr->prod_idx);
	if (prod - pos > priv(r)->nslots)
		return -EPROTO;
	r->c.avail = prod;
	return pos < prod;
}

/* what a waiting producer / consumer waits for (shmring__wait(); and
 * shmring_poll() through shmring__wait_table() in api.c) */
const struct shmring__wait_for shmring__spsc_for_space = {
	.dir = SHMRING__DIR_SPACE,
	.ready = shmring__spsc_space,
	.gone = shmring__consumers_gone,
};

const struct shmring__wait_for shmring__spsc_for_data = {
	.dir = SHMRING__DIR_DATA,
	.ready = shmring__spsc_data,
	.gone = shmring__producers_gone,
	.at_end = shmring__stream_seen_end,
};

static int wait_space(struct shmring *r, int64_t timeout_ns)
{
	if (r->p.pos < r->p.limit)
		return 1;
	return shmring__wait(r, &shmring__spsc_for_space, timeout_ns);
}

static int wait_data(struct shmring *r, int64_t timeout_ns)
{
	if (r->c.pos < r->c.avail)
		return 1;
	return shmring__wait(r, &shmring__spsc_for_data, timeout_ns);
}

/* the consumer found a slot whose length is impossible: skip it (the ring
 * stays usable), count it, report it */
static int skip_corrupt(struct shmring *r, uint64_t pos)
{
	/* relaxed: a statistic */
	shmring__add_relaxed64(&r->hdr->bad_msgs, 1);
	shmring__spsc_consume(r, pos + 1);
	return -EBADMSG;
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
	uint32_t len;
	const struct shmring__slot_spsc *s = shmring__spsc_head(r, &len);
	if (len > r->slot_size)
		return skip_corrupt(r, r->c.pos);
	if (len > cap)
		return -EMSGSIZE;
	shmring__copy(buf, s + 1, len);
	shmring__spsc_consume(r, r->c.pos + 1);
	shmring__count_recv(r, len);
	return (ssize_t)len;
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
		shmring__spsc_space(r);
	uint64_t room = r->p.limit - pos;
	unsigned k = 0;
	size_t bytes = 0;
	for (; k < n && k < room; k++) {
		size_t len = msgs[k].iov_len;
		if (len > r->slot_size || (!msgs[k].iov_base && len))
			break;   /* the caller learns from the count; next call reports it */
		bytes += len;
		struct shmring__slot_spsc *s =
			(struct shmring__slot_spsc *)shmring__slot(r, pos + k);
		s->len = (uint32_t)len;
		shmring__copy(s + 1, msgs[k].iov_base, len);
	}
	shmring__spsc_publish(r, pos + k);   /* one publication for the burst */
	shmring__count_sent(r, bytes);
	return (int)k;
}

int shmring__spsc_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
                             int64_t timeout_ns)
{
	int rc = wait_data(r, timeout_ns);
	if (rc < 0)
		return rc;

	uint64_t pos = r->c.pos;
	if (r->c.avail - pos < n)   /* as in send_burst */
		shmring__spsc_data(r);
	uint64_t avail = r->c.avail - pos;
	unsigned k = 0;
	size_t bytes = 0;
	for (; k < n && k < avail; k++) {
		const struct shmring__slot_spsc *s =
			(const struct shmring__slot_spsc *)shmring__slot(r, pos + k);
		uint32_t len = shmring__load_relaxed32(&s->len);   /* once: untrusted */
		if (len > r->slot_size) {
			if (k == 0)
				return skip_corrupt(r, pos);
			break;   /* reported by the next call */
		}
		if (len > bufs[k].iov_len || (!bufs[k].iov_base && len)) {
			if (k == 0)
				return bufs[0].iov_base || !len ? -EMSGSIZE : -EINVAL;
			break;
		}
		shmring__copy(bufs[k].iov_base, s + 1, len);
		bufs[k].iov_len = len;
		bytes += len;
	}
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
	struct shmring__slot_spsc *sl = (struct shmring__slot_spsc *)shmring__slot(r, s->pos);
	sl->len = (uint32_t)len;
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
	uint32_t len;
	const struct shmring__slot_spsc *sl = shmring__spsc_head(r, &len);
	if (len > r->slot_size)
		return skip_corrupt(r, r->c.pos);
	shmring__spsc_lend_read(r, s, sl, len);
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
