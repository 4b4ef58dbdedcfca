/* SPDX-License-Identifier: MIT */
/*
 * stats.c - looking at a ring (info, stats), the per-handle wait policy,
 * end of stream, and error names.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "internal.h"

int shmring_shutdown(struct shmring *r)
{
	if (!r || !(r->roles & SHMRING_PRODUCER) || r->prod_peer < 0 || r->forked)
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

/* announce our end of stream in our registry entry */
void shmring__mark_shutdown(struct shmring *r)
{
	/* S1: release: every publication of ours before SHUTDOWN; pairs with
	 * the acquire load in shmring__peers_gone() */
	shmring__store_release32(&r->hdr->producers[r->prod_peer].state,
	                         SHMRING__PEER_SHUTDOWN);
	/* release: after S1; a counter read only by tools */
	shmring__add_release32(&r->hdr->shutdowns, 1);
	shmring__notify(r, SHMRING__DIR_DATA, INT_MAX);   /* sleeping consumers re-check */
}

void shmring__flush_bytes(struct shmring *r)
{
	if (r->readonly)
		return;
	/* relaxed: counters for display; RMW because MPMC has many writers */
	if (r->p.bytes) {
		shmring__add_relaxed64(&r->hdr->sent_bytes, r->p.bytes);
		r->p.bytes = 0;
	}
	if (r->c.bytes) {
		shmring__add_relaxed64(&r->hdr->recv_bytes, r->c.bytes);
		r->c.bytes = 0;
	}
}

int shmring_set_spin(struct shmring *r, int64_t spin_ns)
{
	if (!r)
		return -EINVAL;
	r->spin_ns = spin_ns;
	r->spin_auto = 0;
	return 0;
}

static unsigned list_peers(struct shmring *r, const struct shmring__peer *tab,
                           struct shmring_peer *out, int side, unsigned *live)
{
	unsigned n = r->kind == SHMRING_SPSC ? 1 : SHMRING__MAX_PEERS, k = 0;

	*live = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t owner = shmring__load_acquire64(&tab[i].owner);
		if (!owner)
			continue;
		uint32_t state = shmring__load_acquire32(&tab[i].state);
		struct shmring_peer *p = &out[k++];
		p->pid = (int32_t)(uint32_t)owner;
		p->alive = (uint8_t)shmring__entry_held(r, side, i);
		p->shut_down = side == SHMRING_PRODUCER && state == SHMRING__PEER_SHUTDOWN;
		p->other_pidns = !shmring__same_pidns(owner);
		p->index = (uint8_t)i;
		if (p->alive && !p->shut_down)
			(*live)++;
	}
	return k;
}

int shmring_info(struct shmring *r, struct shmring_info *out)
{
	if (!r || !out)
		return -EINVAL;
	struct shmring__hdr *h = r->hdr;
	unsigned live_prod, live_cons;

	memset(out, 0, sizeof(*out));
	out->kind = r->kind;
	out->slot_size = r->slot_size;
	out->slots = r->nslots;
	out->mem_size = r->map_size;
	/* relaxed: a snapshot for display; nothing is read through it */
	out->prod_idx = shmring__load_relaxed64(&h->prod_idx);
	out->cons_idx = shmring__load_relaxed64(&h->cons_idx);
	uint64_t used = out->prod_idx - out->cons_idx;
	out->used = used > r->nslots ? r->nslots : used;
	out->roles = (unsigned)r->roles;
	out->nproducers = list_peers(r, h->producers, out->producers, SHMRING_PRODUCER, &live_prod);
	out->nconsumers = list_peers(r, h->consumers, out->consumers, SHMRING_CONSUMER, &live_cons);
	out->eof = shmring__load_relaxed32(&h->prod_ever) && live_prod == 0;
	out->shutdowns = shmring__load_relaxed32(&h->shutdowns);
	uint32_t stream = shmring__load_relaxed32(&h->stream);
	out->stream_epoch = stream >> 1;
	out->stream_ended = (int)(stream & 1);
	out->consumer_attaches = shmring__load_relaxed32(&h->cons_attaches);
	out->prod_deaths = shmring__load_relaxed32(&h->prod_deaths);
	out->cons_deaths = shmring__load_relaxed32(&h->cons_deaths);
	out->creator_pid = (int32_t)shmring__load_relaxed32(&h->creator_pid);
	out->created_ns = shmring__load_relaxed64(&h->created_ns);
	return 0;
}

int shmring_stats(struct shmring *r, struct shmring_stats *out)
{
	if (!r || !out)
		return -EINVAL;
	struct shmring__hdr *h = r->hdr;

	/* relaxed: counters for display */
	memset(out, 0, sizeof(*out));
	out->sent = shmring__load_relaxed64(&h->prod_idx);
	out->received = shmring__load_relaxed64(&h->cons_idx);
	shmring__flush_bytes(r);   /* our own share is then exact */
	out->sent_bytes = shmring__load_relaxed64(&h->sent_bytes);
	out->recv_bytes = shmring__load_relaxed64(&h->recv_bytes);
	out->full_waits = shmring__load_relaxed64(&h->full_waits);
	out->empty_waits = shmring__load_relaxed64(&h->empty_waits);
	out->prod_wakes = shmring__load_relaxed64(&h->prod_wakes);
	out->cons_wakes = shmring__load_relaxed64(&h->cons_wakes);
	out->bad_msgs = shmring__load_relaxed64(&h->bad_msgs);
	out->orphans = shmring__load_relaxed64(&h->orphans);
	out->abandoned = shmring__load_relaxed64(&h->abandoned);
	out->membarriers = shmring__load_relaxed64(&h->membarriers);
	return 0;
}

const char *shmring_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:         return "success";
	case EAGAIN:    return "ring full or empty (try again)";
	case ETIMEDOUT: return "timed out";
	case EPIPE:     return "end of stream (peer shut down, closed or died)";
	case EMSGSIZE:  return "message larger than the slot or the buffer";
	case EINVAL:    return "invalid argument, name, config or role";
	case EEXIST:    return "ring already exists";
	case ENOENT:    return "no such ring";
	case EACCES:    return "permission denied";
	case EBUSY:     return "role held by a live process, or slot already outstanding";
	case EUSERS:    return "too many attached processes";
	case EPROTO:    return "not a shmring, or an unsupported or corrupt layout";
	case EBADMSG:   return "corrupt message slot (skipped)";
	case ENOMEM:    return "out of memory";
	case ENOTSUP:   return "not supported";
	default:        return strerror(err < 0 ? -err : err);
	}
}
