/* SPDX-License-Identifier: MIT */
/*
 * spsc.c - the SPSC engine's out-of-line half: index refresh (the cached
 * peer index said full/empty), bursts, and the slow paths of the inline
 * calls in shmring.h (waiting, errors). MPMC rings are handed to mpmc.c.
 *
 * Index protocol (labels as in docs/memory-model.md):
 *   P1 producer: slot writes, then store-release prod_idx      pairs with C1
 *   C1 consumer: load-acquire prod_idx, then slot reads
 *   C2 consumer: slot reads, then store-release cons_idx        pairs with P2
 *   P2 producer: load-acquire cons_idx, then overwrite the slot
 */
#include <errno.h>
#include <string.h>
#include "internal.h"

/*
 * Producer: re-read cons_idx into the cache. >0 if at least one slot is
 * free, 0 if full, -EPROTO if the shared index is impossible (a peer
 * scribbled on it: cons_idx must lie in [pos - slots, pos]).
 */
int shmring__spsc_space(struct shmring *r)
{
	uint64_t pos = r->p.pos;
	/* P2: acquire: the consumer's slot reads are done; pairs with C2 */
	uint64_t cons = shmring__load_acquire64(&r->hdr->cons_idx);
	if (pos - cons > r->nslots)
		return -EPROTO;
	r->p.limit = cons + r->nslots;
	return pos < r->p.limit;
}

/* Consumer: re-read prod_idx. >0 data, 0 empty, -EPROTO impossible index
 * (prod_idx must lie in [pos, pos + slots]). */
int shmring__spsc_data(struct shmring *r)
{
	uint64_t pos = r->c.pos;
	/* C1: acquire: the slot contents are visible; pairs with P1 */
	uint64_t prod = shmring__load_acquire64(&r->hdr->prod_idx);
	if (prod - pos > r->nslots)
		return -EPROTO;
	r->c.avail = prod;
	return pos < prod;
}

static int check_producer(struct shmring *r)
{
	if (!r || !(r->roles & SHMRING_PRODUCER))
		return -EINVAL;
	if (r->p.shut)
		return -EPIPE;
	return 0;
}

static int check_consumer(struct shmring *r)
{
	if (!r || !(r->roles & SHMRING_CONSUMER))
		return -EINVAL;
	return 0;
}

static int wait_space(struct shmring *r, int64_t timeout_ns)
{
	if (r->p.pos < r->p.limit)
		return 1;
	return shmring__wait(r, SHMRING__DIR_SPACE, timeout_ns, shmring__spsc_space);
}

static int wait_data(struct shmring *r, int64_t timeout_ns)
{
	if (r->c.pos < r->c.avail)
		return 1;
	return shmring__wait(r, SHMRING__DIR_DATA, timeout_ns, shmring__spsc_data);
}

int shmring__send_slow(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns)
{
	int rc = check_producer(r);
	if (rc)
		return rc;
	if (r->kind == SHMRING_MPMC)
		return shmring__mpmc_send(r, msg, len, timeout_ns);
	if (r->p.reserved || (!msg && len))
		return -EINVAL;
	if (len > r->slot_size)
		return -EMSGSIZE;
	rc = wait_space(r, timeout_ns);
	if (rc < 0)
		return rc;
	shmring__spsc_put(r, msg, len);
	return 0;
}

/* the consumer found a slot whose length is impossible: skip it (the ring
 * stays usable), count it, report it */
static int skip_corrupt(struct shmring *r, uint64_t pos)
{
	/* relaxed: a statistic */
	shmring__add_relaxed64(&r->hdr->bad_msgs, 1);
	shmring__spsc_release(r, pos + 1);
	return -EBADMSG;
}

ssize_t shmring__recv_slow(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns)
{
	int rc = check_consumer(r);
	if (rc)
		return rc;
	if (r->kind == SHMRING_MPMC)
		return shmring__mpmc_recv(r, buf, cap, timeout_ns);
	if (r->c.acquired || (!buf && cap))
		return -EINVAL;
	rc = wait_data(r, timeout_ns);
	if (rc < 0)
		return rc;
	uint32_t len;
	const struct shmring__slot_spsc *s = shmring__spsc_head(r, &len);
	if (len > r->slot_size)
		return skip_corrupt(r, r->c.pos);
	if (len > cap)
		return -EMSGSIZE;
	shmring__copy(buf, s + 1, len);
	shmring__spsc_release(r, r->c.pos + 1);
	shmring__count_recv(r, len);
	return (ssize_t)len;
}

int shmring_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n,
                       int64_t timeout_ns)
{
	int rc = check_producer(r);
	if (rc)
		return rc;
	if (!msgs || n == 0)
		return -EINVAL;
	if (r->kind == SHMRING_MPMC)
		return shmring__mpmc_send_burst(r, msgs, n, timeout_ns);
	if (r->p.reserved)
		return -EINVAL;
	if (msgs[0].iov_len > r->slot_size)
		return -EMSGSIZE;
	if (!msgs[0].iov_base && msgs[0].iov_len)
		return -EINVAL;
	rc = wait_space(r, timeout_ns);
	if (rc < 0)
		return rc;

	uint64_t pos = r->p.pos;
	uint64_t room = r->p.limit - pos;
	if (room < n && shmring__spsc_space(r) > 0)
		room = r->p.limit - pos;    /* the cache was stale: look again once */
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

int shmring_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
                       int64_t timeout_ns)
{
	int rc = check_consumer(r);
	if (rc)
		return rc;
	if (!bufs || n == 0)
		return -EINVAL;
	if (r->kind == SHMRING_MPMC)
		return shmring__mpmc_recv_burst(r, bufs, n, timeout_ns);
	if (r->c.acquired || (!bufs[0].iov_base && bufs[0].iov_len))
		return -EINVAL;
	rc = wait_data(r, timeout_ns);
	if (rc < 0)
		return rc;

	uint64_t pos = r->c.pos;
	uint64_t avail = r->c.avail - pos;
	if (avail < n && shmring__spsc_data(r) > 0)
		avail = r->c.avail - pos;
	unsigned k = 0;
	size_t bytes = 0;
	for (; k < n && k < avail; k++) {
		const struct shmring__slot_spsc *s =
			(const struct shmring__slot_spsc *)shmring__slot(r, pos + k);
		uint32_t len = shmring__load_relaxed32(&s->len);
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
	shmring__spsc_release(r, pos + k);
	shmring__count_recv(r, bytes);
	return (int)k;
}

int shmring__reserve_slow(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	int rc = check_producer(r);
	if (rc)
		return rc;
	if (!s)
		return -EINVAL;
	if (r->p.reserved)
		return -EBUSY;
	if (r->kind == SHMRING_MPMC)
		return shmring__mpmc_reserve(r, s, timeout_ns);
	rc = wait_space(r, timeout_ns);
	if (rc < 0)
		return rc;
	shmring__spsc_lend_write(r, s);
	return 0;
}

int shmring__commit_slow(struct shmring *r, struct shmring_slot *s, size_t len)
{
	if (!r || !(r->roles & SHMRING_PRODUCER) || !s)
		return -EINVAL;
	if (r->kind == SHMRING_MPMC)
		return shmring__mpmc_commit(r, s, len);
	if (!r->p.reserved || s->pos != r->p.pos)
		return -EINVAL;
	if (r->p.shut)
		return -EPIPE;   /* shut down while reserved: the slot is not published */
	if (len > r->slot_size)
		return -EMSGSIZE;
	return -EINVAL;   /* unreachable: the inline path takes every valid commit */
}

int shmring__acquire_slow(struct shmring *r, struct shmring_slot *s, int64_t timeout_ns)
{
	int rc = check_consumer(r);
	if (rc)
		return rc;
	if (!s)
		return -EINVAL;
	if (r->c.acquired)
		return -EBUSY;
	if (r->kind == SHMRING_MPMC)
		return shmring__mpmc_acquire(r, s, timeout_ns);
	rc = wait_data(r, timeout_ns);
	if (rc < 0)
		return rc;
	uint32_t len;
	const struct shmring__slot_spsc *sl = shmring__spsc_head(r, &len);
	if (len > r->slot_size)
		return skip_corrupt(r, r->c.pos);
	shmring__spsc_lend_read(r, s, sl, len);
	return 0;
}

int shmring__release_slow(struct shmring *r, struct shmring_slot *s)
{
	if (!r || !(r->roles & SHMRING_CONSUMER) || !s)
		return -EINVAL;
	if (r->kind == SHMRING_MPMC)
		return shmring__mpmc_release(r, s);
	return -EINVAL;   /* nothing acquired, or not the slot handed out */
}
