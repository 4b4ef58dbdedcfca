/* SPDX-License-Identifier: MIT */
/*
 * api.c - the public calls that are not inline (and the slow paths of the
 * inline ones): argument and role checks, then the engine of the ring's
 * kind (spsc.c or mpmc.c). Both engines have one shape; nothing below
 * knows how either works. Also the lookup of an engine's wait table for
 * shmring_poll() (poll.c), which knows no ring kind.
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

/* return what the engine of r's kind says: a switch over the handle's
 * kinds (the public ones and the engine values of shmring/handle.h) */
#define ENGINE(r, call, ...)                                                   \
	switch ((r)->kind) {                                                   \
	case SHMRING_MPMC:                                                     \
		return shmring__mpmc_##call(__VA_ARGS__);                      \
	case SHMRING__KIND_PACKED:                                             \
		return shmring__packed_##call(__VA_ARGS__);                    \
	default:                                                               \
		return shmring__spsc_##call(__VA_ARGS__);                      \
	}

int shmring__send_slow(struct shmring *r, const void *msg, size_t len, int64_t timeout_ns)
{
	int rc = check_producer(r);
	if (rc)
		return rc;
	if (r->p.reserved || (!msg && len))
		return -EINVAL;
	if (len > r->slot_size)
		return -EMSGSIZE;
	ENGINE(r, send, r, msg, len, timeout_ns);
}

ssize_t shmring__recv_slow(struct shmring *r, void *buf, size_t cap, int64_t timeout_ns)
{
	int rc = check_consumer(r);
	if (rc)
		return rc;
	if (r->c.acquired || (!buf && cap))
		return -EINVAL;
	ENGINE(r, recv, r, buf, cap, timeout_ns);
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
	ENGINE(r, send_burst, r, msgs, n, timeout_ns);
}

int shmring_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
                       int64_t timeout_ns)
{
	int rc = check_consumer(r);
	if (rc)
		return rc;
	if (!bufs || n == 0 || r->c.acquired || (!bufs[0].iov_base && bufs[0].iov_len))
		return -EINVAL;
	ENGINE(r, recv_burst, r, bufs, n, timeout_ns);
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
	ENGINE(r, reserve, r, s, timeout_ns);
}

int shmring__commit_slow(struct shmring *r, struct shmring_slot *s, size_t len)
{
	if (!r || !(priv(r)->roles & SHMRING_PRODUCER) || priv(r)->forked || !s)
		return -EINVAL;
	if (!r->p.reserved)
		return -EINVAL;
	ENGINE(r, commit, r, s, len);
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
	ENGINE(r, acquire, r, s, timeout_ns);
}

int shmring__release_slow(struct shmring *r, struct shmring_slot *s)
{
	if (!r || !(priv(r)->roles & SHMRING_CONSUMER) || priv(r)->forked || !s)
		return -EINVAL;
	if (!r->c.acquired)
		return -EINVAL;   /* nothing acquired */
	ENGINE(r, release, r, s);
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
	switch (r->kind) {
	case SHMRING_MPMC:
		return dir == SHMRING__DIR_DATA ? &shmring__mpmc_for_data : &shmring__mpmc_for_space;
	case SHMRING__KIND_PACKED:
		return dir == SHMRING__DIR_DATA ? &shmring__packed_for_data
		                                : &shmring__packed_for_space;
	default:
		return dir == SHMRING__DIR_DATA ? &shmring__spsc_for_data : &shmring__spsc_for_space;
	}
}
