/* SPDX-License-Identifier: MIT */
/*
 * api.c - the public calls that are not inline (and the slow paths of the
 * inline ones): argument and role checks, then the engine of the ring's
 * kind (spsc.c, mpmc.c, overwrite.c, packed.c or broadcast.c). The engines have one shape;
 * nothing below knows how any of them works. Also the lookup of an
 * engine's wait table for shmring_poll() (poll.c), which knows no ring
 * kind.
 */
#include <errno.h>
#include "private.h"

static int check_producer(struct shmring *r)
{
	if (!r || !(priv(r)->roles & SHMRING_PRODUCER) || priv(r)->forked)
		return -EINVAL;
	if (r->p.shut)
		return -EPIPE;
	return 0;
}

static int check_consumer(struct shmring *r)
{
	if (!r || !(priv(r)->roles & SHMRING_CONSUMER) || priv(r)->forked)
		return -EINVAL;
	return 0;
}

/* each engine's entry points (private.h, SHMRING__ENGINE) and wait tables */
struct engine {
	int (*send)(struct shmring *, const void *, size_t, int64_t);
	ssize_t (*recv)(struct shmring *, void *, size_t, int64_t);
	int (*send_burst)(struct shmring *, const struct iovec *, unsigned, int64_t);
	int (*recv_burst)(struct shmring *, struct iovec *, unsigned, int64_t);
	int (*reserve)(struct shmring *, struct shmring_slot *, int64_t);
	int (*commit)(struct shmring *, struct shmring_slot *, size_t);
	int (*acquire)(struct shmring *, struct shmring_slot *, int64_t);
	int (*release)(struct shmring *, struct shmring_slot *);
	const struct shmring__wait_for *for_data, *for_space;
};

#define ENGINE_TABLE(k) { shmring__##k##_send, shmring__##k##_recv,                 \
	shmring__##k##_send_burst, shmring__##k##_recv_burst, shmring__##k##_reserve,  \
	shmring__##k##_commit, shmring__##k##_acquire, shmring__##k##_release,          \
	&shmring__##k##_for_data, &shmring__##k##_for_space }
static const struct engine spsc = ENGINE_TABLE(spsc);
static const struct engine mpmc = ENGINE_TABLE(mpmc);
static const struct engine overwrite = ENGINE_TABLE(overwrite);
static const struct engine packed = ENGINE_TABLE(packed);
static const struct engine broadcast = ENGINE_TABLE(broadcast);

/* the engine of a handle's kind (a public kind, or a private one:
 * include/shmring/handle.h); lifecycle.c binds no other value */
static const struct engine *engine_of(const struct shmring *r)
{
	switch (r->kind) {
	case SHMRING_MPMC:
		return &mpmc;
	case SHMRING__KIND_OVERWRITE:
		return &overwrite;
	case SHMRING__KIND_PACKED:
		return &packed;
	case SHMRING_BROADCAST:
		return &broadcast;
	default:
		return &spsc;
	}
}

#define ENGINE(r, call, ...) (engine_of(r)->call(__VA_ARGS__))

int shmring__send_slow(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns)
{
	int rc = check_producer(r);
	if (rc)
		return rc;
	if (r->p.reserved || (!msg && len))
		return -EINVAL;
	if (len > r->slot_size)
		return -EMSGSIZE;
	return ENGINE(r, send, r, msg, len, timeout_ns);
}

ssize_t shmring__recv_slow(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns)
{
	int rc = check_consumer(r);
	if (rc)
		return rc;
	if (r->c.acquired || (!buf && cap))
		return -EINVAL;
	return ENGINE(r, recv, r, buf, cap, timeout_ns);
}

int shmring_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n,
                       int64_t timeout_ns)
{
	int rc = check_producer(r);
	if (rc)
		return rc;
	if (!msgs || n == 0 || r->p.reserved)
		return -EINVAL;
	if (msgs[0].iov_len > r->slot_size)
		return -EMSGSIZE;
	if (!msgs[0].iov_base && msgs[0].iov_len)
		return -EINVAL;
	return ENGINE(r, send_burst, r, msgs, n, timeout_ns);
}

int shmring_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
                       int64_t timeout_ns)
{
	int rc = check_consumer(r);
	if (rc)
		return rc;
	if (!bufs || n == 0 || r->c.acquired || (!bufs[0].iov_base && bufs[0].iov_len))
		return -EINVAL;
	return ENGINE(r, recv_burst, r, bufs, n, timeout_ns);
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
	return ENGINE(r, reserve, r, s, timeout_ns);
}

int shmring__commit_slow(struct shmring *r, struct shmring_slot *s, size_t len)
{
	if (!r || !(priv(r)->roles & SHMRING_PRODUCER) || priv(r)->forked || !s)
		return -EINVAL;
	if (!r->p.reserved)
		return -EINVAL;
	return ENGINE(r, commit, r, s, len);
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
	return ENGINE(r, acquire, r, s, timeout_ns);
}

int shmring__release_slow(struct shmring *r, struct shmring_slot *s)
{
	if (!r || !(priv(r)->roles & SHMRING_CONSUMER) || priv(r)->forked || !s)
		return -EINVAL;
	if (!r->c.acquired)
		return -EINVAL;   /* nothing acquired */
	return ENGINE(r, release, r, s);
}

int shmring_shutdown(struct shmring *r)
{
	if (!r || !(priv(r)->roles & SHMRING_PRODUCER) || priv(r)->prod_entry < 0 ||
	    priv(r)->forked)
		return -EINVAL;
	if (r->p.shut)
		return 0;
	r->p.shut = 1;
	shmring__flush_bytes(r);
	shmring__refresh_fast(r);
	/* MPMC with a reservation outstanding: the claimed slot is still to be
	 * published by commit (it must be, or it would block every consumer),
	 * so the end of stream is announced only after it: consumers must not
	 * return end of stream while a message of ours is still on its way */
	if (r->kind == SHMRING_MPMC && r->p.reserved)
		return 0;
	shmring__mark_shutdown(r);
	return 0;
}

int shmring_abort(struct shmring *r)
{
	if (!r || !(priv(r)->roles & SHMRING_PRODUCER) || priv(r)->prod_entry < 0 ||
	    priv(r)->forked)
		return -EINVAL;
	if (r->p.shut)
		return priv(r)->aborted ? 0 : -EINVAL;
	priv(r)->aborted = 1;
	shmring__mark_aborted(r);   /* E2, before the end is announced (S1) */
	return shmring_shutdown(r);
}

int shmring_end_reason(struct shmring *r)
{
	if (!r || !r->hdr)
		return -EINVAL;
	return shmring__end_reason(r);
}

int shmring_set_spin(struct shmring *r, int64_t spin_ns)
{
	if (!r)
		return -EINVAL;
	priv(r)->spin_ns = spin_ns;
	priv(r)->spin_auto = 0;
	return 0;
}

const struct shmring__wait_for *shmring__wait_table(struct shmring *r, int dir)
{
	int role = dir == SHMRING__DIR_DATA ? SHMRING_CONSUMER : SHMRING_PRODUCER;

	if (!r || !(priv(r)->roles & role) || priv(r)->forked)
		return NULL;
	return dir == SHMRING__DIR_DATA ? engine_of(r)->for_data : engine_of(r)->for_space;
}
