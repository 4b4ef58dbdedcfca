/* SPDX-License-Identifier: MIT */
/*
 * mpmc_bias.c - the biased claim of an MPMC ring: while one side of a ring
 * has a single attachment, that attachment (the owner) claims positions
 * with a plain store of the claim index instead of a locked CAS (mpmc.c,
 * own_begin()). This file takes and gives back the bias, at attach, close
 * and now and then from a sole claimant's slow path; a newcomer revokes it
 * before its first claim. docs/design.md, "The biased claim", has the
 * argument; tests/model/bias.pml the model.
 *
 * Per side (hdr->bias[side]): owner, the owning attachment's token or 0;
 * busy, the owner's token while it is inside a claim (K1 .. K3 in mpmc.c).
 *
 *   owner, each claim:   K1 busy = tok; compiler barrier; K2 owner == tok?
 *                        yes: claim with a plain store; K3 busy = 0 (release)
 *                        no:  busy = 0, and CAS claims from now on
 *   newcomer, attach:    J1 seq_cst fence after its registry entry;
 *                        J2 owner (acquire); nonzero: J3 CAS owner -> 0,
 *                        J4 membarrier (every owner's K1 .. K2 becomes
 *                        store, fence, load), J5 wait until busy != tok
 *                        (acquire, pairs with K3) or tok's attachment is
 *                        gone (kernel lock), then claim with CAS
 *   sole claimant:       A1 CAS owner 0 -> tok (seq_cst), A2 seq_cst fence,
 *                        A3 every other entry of the side free? yes: we
 *                        own it; no: CAS owner tok -> 0
 *
 * J1/J2 against A1-A3 is a store-buffering pair with a fence on each side:
 * a newcomer that does not see the owner is seen by the owner's scan. J3/J4
 * against K1/K2 is the asymmetric version (the owner has only a compiler
 * barrier, the membarrier supplies its fence): an owner claim whose K2
 * comes after the barrier sees the revocation; one whose K2 came before
 * had stored K1 before it, so the newcomer sees busy == tok until that
 * claim's K3, after which its index store is visible.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "private.h"

void (*shmring__test_hook_bias)(void);

/* how long a newcomer waits for a live owner to leave its claim before the
 * attach gives up (-EBUSY): only a stopped owner stays in a claim that long */
#define BIAS_WAIT_NS (10 * INT64_C(1000000000))

static struct shmring__bias *bias_of(struct shmring *r, int side)
{
	return &r->hdr->bias[side == SHMRING_CONSUMER];
}

static int entry_of(struct shmring *r, int side)
{
	return side == SHMRING_CONSUMER ? priv(r)->cons_entry : priv(r)->prod_entry;
}

static uint32_t token_of(struct shmring *r, int side)
{
	return side == SHMRING_CONSUMER ? priv(r)->cons_stamp : priv(r)->prod_stamp;
}

/* the attachment a token names still holds its entry (gen first, lock
 * second, as stamp_dead() in mpmc_dead.c); a token that names no entry is
 * garbage: nobody to wait for */
static int token_alive(struct shmring *r, int side, uint32_t tok)
{
	unsigned idx = tok & 0x7f;
	const struct shmring__peer *tab = side == SHMRING_PRODUCER ? r->hdr->producers
	                                                           : r->hdr->consumers;
	if (idx == 0 || idx > SHMRING__MAX_PEERS)
		return 0;
	/* acquire: pairs with the release of the owner word at attach; gen
	 * relaxed: the owner word orders it */
	uint64_t owner = shmring__load_acquire64(&tab[idx - 1].owner);
	uint32_t gen = shmring__load_relaxed32(&tab[idx - 1].gen);
	return owner && (gen & 0xffffff) == (tok >> 8) &&
	       shmring__entry_held(r, side, idx - 1);
}

/* J4: a full barrier on every CPU that runs a registered process (every
 * owner is registered: it takes a bias only with r->fence_free), or, where
 * the expedited form is refused, on every CPU (slower, needs no
 * registration) */
static int barrier_all(void)
{
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0)
		return 0;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0)
		return 0;
	return -errno;
}

static void nap(void)
{
	struct timespec ts = { 0, 50000 };   /* 50 us */
	nanosleep(&ts, NULL);
}

/* J2-J5 for one side: returns once no owner of the side can be inside a
 * plain-store claim, 0; -EBUSY if a live owner stayed in one past
 * BIAS_WAIT_NS; -errno if no barrier is available */
static int bias_revoke(struct shmring *r, int side)
{
	struct shmring__bias *b = bias_of(r, side);
	/* J2: acquire: pairs with A1 (the owner's CAS) */
	uint32_t tok = shmring__load_acquire32(&b->owner);
	if (!tok)
		return 0;
	/* J3: seq_cst CAS: clear whatever is there (a later value can only
	 * be a would-be owner whose scan sees our entry: it never claims
	 * plainly, and its own CAS back then fails harmlessly) */
	uint32_t cur = tok;
	while (cur && !shmring__cas_seqcst32(&b->owner, &cur, 0))
		;
	if (shmring__test_hook_bias)
		shmring__test_hook_bias();
	int rc = barrier_all();   /* J4 */
	if (rc)
		return rc;
	int64_t start = shmring__now_ns();
	for (;;) {
		/* J5: acquire: pairs with K3; the owner's index store of that
		 * claim is then visible to our first CAS */
		if (shmring__load_acquire32(&b->busy) != tok)
			return 0;
		if (!token_alive(r, side, tok))
			return 0;   /* died in a claim: its intent covers it */
		if (shmring__now_ns() - start > BIAS_WAIT_NS)
			return -EBUSY;
		nap();
	}
}

/* A1-A3: take our side's bias if we are its only attachment */
static void bias_take(struct shmring *r, int side)
{
	struct shmring__bias *b = bias_of(r, side);
	int self = entry_of(r, side);
	uint32_t tok = token_of(r, side);
	const struct shmring__peer *tab = side == SHMRING_PRODUCER ? r->hdr->producers
	                                                           : r->hdr->consumers;
	uint32_t zero = 0;

	/* a process that no membarrier reaches must not own one: its K1 .. K2
	 * would have no fence at all */
	if (!priv(r)->bias_ok || self < 0 || !r->fence_free || priv(r)->readonly)
		return;
	/* A1: seq_cst: pairs with J3 (a newcomer's revocation) */
	if (!shmring__cas_seqcst32(&b->owner, &zero, tok))
		return;
	shmring__fence_seqcst();   /* A2: A1 before A3; pairs with J1 */
	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
		/* A3: relaxed after A2: any entry taken counts (a dead one
		 * too, until it is reaped) */
		if ((int)i != self && shmring__load_relaxed64(&tab[i].owner) != 0) {
			/* not alone: give it back (seq_cst; fails harmlessly if
			 * a newcomer cleared it first) */
			shmring__cas_seqcst32(&b->owner, &tok, 0);
			return;
		}
	}
	priv(r)->bias_tok[side == SHMRING_CONSUMER] = tok;
}

/*
 * After attach_roles(): for each MPMC side we now hold, revoke any other
 * attachment's bias, then take it if we are alone. Returns 0, or the error
 * of a revocation (the caller detaches).
 */
int shmring__bias_join(struct shmring *r)
{
	if (!priv(r)->bias_ok)
		return 0;
	for (int s = 0; s < 2; s++) {
		int side = s ? SHMRING_CONSUMER : SHMRING_PRODUCER;
		if (entry_of(r, side) < 0)
			continue;
		/* J1: our entry (its owner word, R3) before J2; pairs with A2 */
		shmring__fence_seqcst();
		int rc = bias_revoke(r, side);
		if (rc)
			return rc;
		bias_take(r, side);
	}
	return 0;
}

/* at close, before our entries go: give back what we own (we are in no
 * claim: a handle is not closed while it is used) */
void shmring__bias_leave(struct shmring *r)
{
	for (int s = 0; s < 2; s++) {
		uint32_t tok = priv(r)->bias_tok[s];
		if (!tok)
			continue;
		priv(r)->bias_tok[s] = 0;
		/* seq_cst CAS: only our own token (a newcomer may have
		 * revoked it already) */
		shmring__cas_seqcst32(&r->hdr->bias[s].owner, &tok, 0);
	}
}

/* a claimant in its slow path, now and then: the others of its side may
 * have left; take the bias if so */
void shmring__bias_try(struct shmring *r, int consumer)
{
	int side = consumer ? SHMRING_CONSUMER : SHMRING_PRODUCER;
	if (priv(r)->bias_tok[consumer] || !priv(r)->bias_ok)
		return;
	/* relaxed: a hint; bias_take() decides with its CAS and scan */
	uint32_t tok = shmring__load_relaxed32(&bias_of(r, side)->owner);
	/* an owner word left by an attachment that died: revoke it as a
	 * newcomer would (a live owner cannot be there: we are attached) */
	if (tok && (token_alive(r, side, tok) || bias_revoke(r, side) != 0))
		return;
	bias_take(r, side);
}
