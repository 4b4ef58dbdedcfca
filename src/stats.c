/* SPDX-License-Identifier: MIT */
/*
 * stats.c - looking at a ring: info (sizes, fill, who is attached, stream
 * state) and statistics, and the byte counters each handle batches.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "private.h"

void shmring__flush_bytes(struct shmring *r)
{
	if (priv(r)->readonly)
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

static unsigned list_peers(struct shmring *r, const struct shmring__peer *tab,
                           struct shmring_peer *out, int side, unsigned *live)
{
	unsigned n = shmring__public_kind(r->kind) == SHMRING_SPSC ? 1 : SHMRING__MAX_PEERS, k = 0;

	*live = 0;
	for (unsigned i = 0; i < n; i++) {
		/* acquire: pairs with R1/R3, as R5 */
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

/* broadcast: how far the slowest subscriber line lags behind prod, 0 ..
 * slots (an impossible position counts as slots). A snapshot for display */
static uint64_t bcast_max_lag(struct shmring *r, uint64_t prod)
{
	uint64_t lag = 0;
	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
		/* relaxed: display only */
		uint64_t h = shmring__load_relaxed64(&priv(r)->bc.subs[i].hold);
		uint64_t l = prod - (h - 1);
		if (!h)
			continue;
		l = l > priv(r)->nslots ? priv(r)->nslots : l;
		lag = l > lag ? l : lag;
	}
	return lag;
}

int shmring_subscriber_info(struct shmring *r, struct shmring_subscriber *out, unsigned cap)
{
	if (!r || !r->hdr || (!out && cap) || r->kind != SHMRING_BROADCAST)
		return -EINVAL;
	struct shmring__hdr *h = r->hdr;
	/* relaxed: a snapshot for display; nothing is read through it */
	uint64_t prod = shmring__load_relaxed64(&h->prod_idx);
	unsigned k = 0;

	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
		const struct shmring__bcast_sub *line = &priv(r)->bc.subs[i];
		/* acquire: pairs with R1/R3, as R5 */
		uint64_t owner = shmring__load_acquire64(&h->consumers[i].owner);
		uint64_t hold = shmring__load_relaxed64(&line->hold);   /* relaxed: display */
		if (!owner && !hold)
			continue;
		if (k++ >= cap)
			continue;   /* counted, not written */
		struct shmring_subscriber *s = &out[k - 1];
		memset(s, 0, sizeof(*s));
		s->pid = (int32_t)(uint32_t)owner;
		s->index = (uint8_t)i;
		s->alive = (uint8_t)shmring__entry_held(r, SHMRING_CONSUMER, i);
		s->self = priv(r)->cons_entry == (int)i;
		s->position = hold ? hold - 1 : prod;
		uint64_t lag = prod - s->position;
		s->lag = lag > priv(r)->nslots ? priv(r)->nslots : lag;
		s->stalling = hold && !(priv(r)->flags & SHMRING_OVERWRITE) &&
		              s->lag >= priv(r)->nslots;
		/* relaxed: counters written by the subscriber, display only */
		s->start = shmring__load_relaxed64(&line->start);
		s->delivered = shmring__load_relaxed64(&line->delivered);
		s->overruns = shmring__load_relaxed64(&line->overruns);
	}
	return (int)k;
}

int shmring_info(struct shmring *r, struct shmring_info *out)
{
	if (!r || !out)
		return -EINVAL;
	struct shmring__hdr *h = r->hdr;
	unsigned live_prod, live_cons;

	memset(out, 0, sizeof(*out));
	int packed = r->kind == SHMRING__KIND_PACKED;
	out->kind = shmring__public_kind(r->kind);   /* never a private kind */
	out->flags = priv(r)->flags;
	out->slot_size = r->slot_size;
	out->slots = priv(r)->nslots;
	out->mem_size = priv(r)->map_size;
	out->data_size = packed ? priv(r)->pk.size : priv(r)->nslots * r->stride;
	/* relaxed: a snapshot for display; nothing is read through it */
	out->prod_idx = shmring__load_relaxed64(&h->prod_idx);
	out->cons_idx = shmring__load_relaxed64(&h->cons_idx);
	if (r->kind == SHMRING_BROADCAST)   /* the slowest subscriber (or prod_idx) */
		out->cons_idx = out->prod_idx - bcast_max_lag(r, out->prod_idx);
	uint64_t used = out->prod_idx - out->cons_idx;
	uint64_t cap = packed ? priv(r)->pk.size : priv(r)->nslots;   /* bytes or slots */
	out->used = used > cap ? cap : used;
	out->roles = (unsigned)priv(r)->roles;
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
	struct shmring__priv *pv = priv(r);
	out->spin_ns = !pv->spin_auto ? pv->spin_ns : pv->spin_checked_ns ? pv->spin_auto_ns : -1;
	return 0;
}

int shmring_stats(struct shmring *r, struct shmring_stats *out)
{
	if (!r || !out)
		return -EINVAL;
	struct shmring__hdr *h = r->hdr;

	/* relaxed: counters for display */
	memset(out, 0, sizeof(*out));
	if (r->kind == SHMRING__KIND_PACKED) {   /* the indices count bytes there */
		out->sent = shmring__load_relaxed64(&h->pk_sent);
		out->received = shmring__load_relaxed64(&h->pk_received);
	} else {
		out->sent = shmring__load_relaxed64(&h->prod_idx);
		out->received = shmring__load_relaxed64(&h->cons_idx);
	}
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
	out->overruns = shmring__load_relaxed64(&h->overruns);
	/* overwrite-oldest: the consumer's position counts what it lost too;
	 * received is what it delivered (clamped: the two words are read at
	 * slightly different moments while the consumer moves) */
	if (r->kind == SHMRING__KIND_OVERWRITE)
		out->received = out->received > out->overruns ? out->received - out->overruns : 0;
	/* broadcast: a subscriber counts for itself (exact: its own
	 * counters); another handle gets the sums over the subscriber lines */
	if (r->kind == SHMRING_BROADCAST) {
		out->received = out->overruns = 0;
		if (priv(r)->cons_entry >= 0) {
			out->received = priv(r)->bc.delivered;
			out->overruns = priv(r)->bc.overruns;
		} else {
			for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
				const struct shmring__bcast_sub *line = &priv(r)->bc.subs[i];
				/* relaxed: counters for display */
				if (!shmring__load_relaxed64(&line->hold))
					continue;
				out->received += shmring__load_relaxed64(&line->delivered);
				out->overruns += shmring__load_relaxed64(&line->overruns);
			}
		}
	}
	return 0;
}
