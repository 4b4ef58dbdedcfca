/* SPDX-License-Identifier: MIT */
/*
 * stress_inspect.c - the supervisor's reads of an MPMC ring's shared
 * layout (test-only use of include/shmring/layout.h): claims that a killed
 * process left open (a wedge), the sweep of what is left between cons_idx
 * and prod_idx after the drain, and the one-line diagnosis of a hang.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "stress_internal.h"

static struct shmring__slot_mpmc *slot_at(const struct shmring *r, uint64_t pos)
{
	return (void *)(r->slots0 + (pos & r->mask) * r->stride);
}

/* positions claimed by producers and not consumed yet: [cons_idx, prod_idx),
 * one lap at most; returns how many, *first the first of them */
static uint64_t produced_window(const struct shmring *r, uint64_t *first)
{
	uint64_t n = r->mask + 1;
	uint64_t cons = shmring__load_acquire64(&r->hdr->cons_idx);
	int64_t ahead = (int64_t)(shmring__load_acquire64(&r->hdr->prod_idx) - cons);
	*first = cons;
	return ahead <= 0 ? 0 : (uint64_t)ahead < n ? (uint64_t)ahead : n;
}

/* a producer's claim stamp (not a consumer's, not a skip mark) */
static int producer_stamp(uint32_t st)
{
	return (st & SHMRING__STAMP_PRODUCER) && (st & 0x7f) != 0;
}

/* prod: claimed and not published (seq still pos) and no producer claim
 * stamp; !prod: claimed by a consumer and not released (seq still pos + 1) */
static int claim_open(const struct shmring *r, uint64_t pos, int prod)
{
	struct shmring__slot_mpmc *sl = slot_at(r, pos);
	if (!prod)
		return shmring__load_acquire64(&sl->seq) == pos + 1;
	return shmring__load_acquire64(&sl->seq) == pos &&
	       !producer_stamp(shmring__load_relaxed32(&sl->stamp));
}

/*
 * Claims of one side that stay open for 300 ms:
 *   producers (positions in [cons_idx, prod_idx)): a producer killed between
 *     its claim CAS and its stamp store, whose claim the consumers failed to
 *     skip (they must: no live claim intent covers it);
 *   consumers (the lap before cons_idx): a dead consumer's claim, never
 *     released. Producers stall there once the ring wraps.
 */
unsigned st_mpmc_open_claims(struct shmring *r, int prod)
{
	uint64_t n = r->mask + 1, first, count;
	uint64_t *cand = calloc(n, sizeof(*cand));
	unsigned ncand = 0, open = 0;
	if (!cand)
		return 0;
	if (prod) {
		count = produced_window(r, &first);
	} else {
		uint64_t cons = shmring__load_acquire64(&r->hdr->cons_idx);
		count = cons < n ? cons : n;
		first = cons - count;
	}
	for (uint64_t k = 0; k < count; k++)
		if (claim_open(r, first + k, prod))
			cand[ncand++] = first + k;
	if (ncand) {
		st_sleep_ns(300000000);
		for (unsigned k = 0; k < ncand; k++)
			open += (unsigned)claim_open(r, cand[k], prod);
	}
	free(cand);
	return open;
}

/*
 * After every worker has ended: what is still in the ring between cons_idx
 * and prod_idx? The consumers drained until end of stream, so it must be
 * empty. A dead producer's claim at the head, stamped or not, is a failure:
 * end of stream must skip it. (Should one ever stay, the messages behind it
 * are stranded, not lost: they are checked and recorded like a consumer
 * would, a duplicate or corrupt one failing the run.)
 */
void st_mpmc_sweep(struct shmring *r, struct ledger *L, unsigned nprod, struct st_result *res)
{
	struct shmring_stats st;
	uint64_t pos, count = produced_window(r, &pos);
	int wedge = 0;

	if (shmring_stats(r, &st) == 0)
		res->abandoned += st.abandoned;
	for (uint64_t i = 0; i < count; i++, pos++) {
		struct shmring__slot_mpmc *sl = slot_at(r, pos);
		uint64_t seq = shmring__load_acquire64(&sl->seq);
		uint32_t stamp = shmring__load_relaxed32(&sl->stamp);
		uint32_t len = shmring__load_relaxed32(&sl->len);
		if (seq == pos) {   /* claimed, unpublished */
			if (i == 0) {
				st_fail(res, "end of stream with an unpublished claim at position %"
				        PRIu64 " (stamp 0x%x): not skipped", pos, stamp);
				wedge = 1;
				return;
			}
			continue;
		}
		if (seq != pos + 1) {
			st_fail(res, "after the drain: position %" PRIu64 " has seq %" PRIu64
			        " (cons_idx..prod_idx)", pos, seq);
			return;
		}
		if (!wedge) {
			st_fail(res, "consumers ended (end of stream) with position %" PRIu64
			        " published and not delivered, no wedge before it", pos);
			return;
		}
		if (stamp == SHMRING__STAMP_SKIP)
			continue;   /* a dead producer's skip record behind the wedge */
		uint32_t mp;
		uint64_t ms;
		int again = len > r->slot_size ? -1 : led_receive(L, nprod, sl + 1, len, &mp, &ms);
		if (again < 0) {
			res->corrupt++;
			st_fail(res, "stranded message at position %" PRIu64 " is corrupt (len %u)",
			        pos, len);
			continue;
		}
		if (again) {
			res->dup++;
			st_fail(res, "stranded message producer %u seq %" PRIu64 " was also received",
			        mp, ms);
		}
		res->stranded++;
	}
}

/* consumers hung after stop: print what they wait at (stderr, one line) */
void st_mpmc_diag(struct shmring *r, const char *tag)
{
	struct shmring__hdr *h = r->hdr;
	uint64_t ci = shmring__load_acquire64(&h->cons_idx), pi = shmring__load_acquire64(&h->prod_idx);
	struct shmring__slot_mpmc *sl = slot_at(r, ci);
	fprintf(stderr, "%s: diag: cons_idx=%" PRIu64 " prod_idx=%" PRIu64 " head seq=%" PRIu64
	        " stamp=0x%x len=%u stream=0x%x prod_ever=%u; producers:", tag, ci, pi,
	        shmring__load_acquire64(&sl->seq), shmring__load_relaxed32(&sl->stamp),
	        shmring__load_relaxed32(&sl->len), shmring__load_relaxed32(&h->stream),
	        shmring__load_relaxed32(&h->prod_ever));
	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
		uint64_t o = shmring__load_acquire64(&h->producers[i].owner);
		if (o)
			fprintf(stderr, " [%u] pid %u state %u gen %u", i, (unsigned)(uint32_t)o,
			        shmring__load_relaxed32(&h->producers[i].state),
			        shmring__load_relaxed32(&h->producers[i].gen));
	}
	fprintf(stderr, "\n");
}
