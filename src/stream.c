/* SPDX-License-Identifier: MIT */
/*
 * stream.c - end of stream, like a FIFO's: a consumer waits while a
 * producer is attached or none has attached yet; once every producer that
 * attached has shut down, closed or died, consumers drain and then get
 * -EPIPE. Symmetrically a producer gets -EPIPE once every consumer that
 * attached is gone (or it shut down itself). Also the stream epoch that
 * tools read to tell one stream on a reused ring from the next, and how a
 * stream ended (shmring_end_reason()): the end_flags word of the header
 * collects, during a stream, "a producer aborted" and "a producer entry was
 * left without a shutdown"; a consumer that returns end of stream reads it
 * once and keeps the answer.
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
		/* the new stream starts with no end recorded: only the producer
		 * whose CAS began the epoch clears the flags (every producer of
		 * the old stream is gone: a consumer saw its end, after reaping).
		 * relaxed: R4 below orders it before "a producer attached" */
		if (v & 1)
			shmring__store_relaxed32(&h->end_flags, 0);
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

/* the reason recorded so far for the current stream; a death that nobody
 * reaped yet (an observer never reaps) counts as recorded */
static int reason_now(struct shmring *r)
{
	/* E3: acquire: pairs with E1 (a reaper's or closer's OR) and E2 (an
	 * aborter's OR); the end we act on was seen through R5 (acquire on
	 * the entries), after which both are visible */
	uint32_t f = shmring__load_acquire32(&r->hdr->end_flags);
	if (f & SHMRING__ENDF_ABORTED)
		return SHMRING_END_ABORTED;
	if ((f & SHMRING__ENDF_DIED) || shmring__producer_died_unreaped(r))
		return SHMRING_END_DIED;
	return SHMRING_END_CLEAN;
}

/* how far this consumer has read: its position (SPSC, overwrite, MPMC:
 * c.pos) or its byte position (packed); only compared with itself */
static uint64_t consumer_progress(struct shmring *r)
{
	return r->c.pos + priv(r)->pk.cpos;
}

/* a consumer returns end of stream: keep how the stream ended, then mark
 * the stream "seen ended" for tools (a producer attaching later starts the
 * next epoch and clears end_flags, so the flags are read first) */
void shmring__stream_seen_end(struct shmring *r)
{
	/* acquire/CAS: pair with the producer's CAS in stream_attached() */
	uint32_t v = shmring__load_acquire32(&r->hdr->stream);
	priv(r)->end_reason = reason_now(r);
	priv(r)->end_epoch = v >> 1;
	priv(r)->end_progress = consumer_progress(r);
	if (priv(r)->readonly)
		return;
	if (!(v & 1))
		shmring__cas_seqcst32(&r->hdr->stream, &v, v | 1);
}

/*
 * shmring_end_reason(): a consumer answers with what it saw when a receive
 * returned end of stream, until it receives again in a new stream (a new
 * producer alone does not take the answer away: it may attach between the
 * consumer's -EPIPE and its question); a handle without the consumer role
 * answers for the ring as it is now (0 while a producer may still send, or
 * none attached yet).
 */
int shmring__end_reason(struct shmring *r)
{
	/* relaxed: the epoch only tells an old answer from a new stream */
	uint32_t epoch = shmring__load_relaxed32(&r->hdr->stream) >> 1;

	if (priv(r)->roles & SHMRING_CONSUMER) {
		if (!priv(r)->end_reason)
			return 0;
		if (priv(r)->end_epoch == epoch || consumer_progress(r) == priv(r)->end_progress)
			return priv(r)->end_reason;
		return 0;   /* received in the next stream, which has not ended */
	}
	if (!shmring__side_gone_now(r, SHMRING_PRODUCER))
		return 0;
	return reason_now(r);
}

/* shmring_abort(): the stream is incomplete. E2: seq_cst RMW, before S1
 * (mark_shutdown's release store of SHUTDOWN) in program order, so a
 * consumer that sees our entry ended (R5 acquire) sees the flag (E3) */
void shmring__mark_aborted(struct shmring *r)
{
	/* E2: seq_cst RMW; pairs with E3 */
	shmring__or_seqcst32(&r->hdr->end_flags, SHMRING__ENDF_ABORTED);
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
