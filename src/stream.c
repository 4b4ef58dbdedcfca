/* SPDX-License-Identifier: MIT */
/*
 * stream.c - end of stream, like a FIFO's: a consumer waits while a
 * producer is attached or none has attached yet; once every producer that
 * attached has shut down, closed or died, consumers drain and then get
 * -EPIPE. Symmetrically a producer gets -EPIPE once every consumer that
 * attached is gone (or it shut down itself). Also the stream epoch that
 * tools read to tell one stream on a reused ring from the next.
 */
#include "private.h"

/* after attach_roles(): announce that a producer / consumer attached */
void shmring__stream_attached(struct shmring *r)
{
	struct shmring__hdr *h = r->hdr;

	if (priv(r)->prod_entry >= 0) {
		/* a stream that ended (a consumer saw its end) is over: we start
		 * the next one (tools such as "shmring pop" use this to tell an
		 * old, finished stream from a new one). Informational word:
		 * acquire/CAS pair with the CAS in stream_seen_end(); a lost
		 * race only retries */
		uint32_t v = shmring__load_acquire32(&h->stream);
		while ((v & 1) && !shmring__cas_seqcst32(&h->stream, &v, v + 1))
			;
		/* R4: release: our entry (R3) before "a producer attached";
		 * pairs with R6 */
		shmring__store_release32(&h->prod_ever, 1);
	}
	if (priv(r)->cons_entry >= 0) {
		shmring__add_release32(&h->cons_attaches, 1);   /* R4 for consumers too */
		shmring__store_release32(&h->cons_ever, 1);     /* R4 for consumers */
	}
}

static int ever_attached(struct shmring *r, int side)
{
	/* R6: acquire: pairs with R4; an attached peer's entry is then visible */
	return shmring__load_acquire32(side == SHMRING_PRODUCER ? &r->hdr->prod_ever
	                                                        : &r->hdr->cons_ever) != 0;
}

static int side_gone(struct shmring *r, int side, int force)
{
	/* nobody attached yet: keep waiting, like a FIFO */
	return ever_attached(r, side) && shmring__live_peers(r, side, force) == 0;
}

/* the same rule, read-only (no reaping, nothing written): for a thread
 * that watches a handle it does not own (event.c) */
int shmring__side_gone_now(struct shmring *r, int side)
{
	return ever_attached(r, side) && !shmring__peer_held(r, side);
}

/* the consumers' end of stream: every producer that attached is gone or
 * shut down */
int shmring__producers_gone(struct shmring *r, int force)
{
	return side_gone(r, SHMRING_PRODUCER, force);
}

/* the producer's: it shut down itself, or every consumer left */
int shmring__consumers_gone(struct shmring *r, int force)
{
	return r->p.shut || side_gone(r, SHMRING_CONSUMER, force);
}

/* a consumer returns end of stream: mark the stream "seen ended" for tools
 * (a producer attaching later starts the next epoch) */
void shmring__stream_seen_end(struct shmring *r)
{
	if (priv(r)->readonly)
		return;
	/* acquire/CAS: pair with the producer's CAS in stream_attached() */
	uint32_t v = shmring__load_acquire32(&r->hdr->stream);
	if (!(v & 1))
		shmring__cas_seqcst32(&r->hdr->stream, &v, v | 1);
}

/* announce our end of stream in our registry entry */
void shmring__mark_shutdown(struct shmring *r)
{
	/* S1: release: every publication of ours before SHUTDOWN; pairs with
	 * R5 (the acquire load of state in live_peers()) */
	shmring__store_release32(&r->hdr->producers[priv(r)->prod_entry].state,
	                         SHMRING__PEER_SHUTDOWN);
	/* release: after S1; a counter read only by tools */
	shmring__add_release32(&r->hdr->shutdowns, 1);
	shmring__notify(r, SHMRING__DIR_DATA);   /* sleeping consumers re-check */
}
