/* SPDX-License-Identifier: MIT */
/*
 * tests/test_bias.c - the biased claim of MPMC rings (src/mpmc_bias.c): a
 * side's only attachment claims with plain stores; a newcomer that attaches
 * mid-stream revokes that and every message is still delivered once, in
 * order per producer; a sole owner killed in the middle of a claim does not
 * hold the newcomer back, and its half-done claim is skipped; a forked copy
 * of an owner's handle never claims; rings without the creator's bit (an
 * older library's) are never biased.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include "common.h"
#include "../src/private.h"   /* the bias words and the handle's token */

#define BPER 30000u           /* messages a mid-stream newcomer sends */

struct bmsg {
	uint32_t id;
	uint32_t pad;
	uint64_t seq;
};

/* shared between the processes of one test */
struct btally {
	_Atomic uint32_t errors;
	_Atomic uint64_t received[2];   /* per producer id */
	_Atomic uint64_t last_seq[2];   /* per producer id, 1 + the last seq sent */
	_Atomic int newcomer_in;        /* the newcomer has attached */
	_Atomic int newcomer_done;
	_Atomic int owner_checked;      /* the first producer has looked */
};

static struct btally *tally_new(void)
{
	struct btally *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
	                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(t, MAP_FAILED);
	return t;
}

/* the owner word of a side as the ring's header holds it */
static uint32_t owner_word(struct shmring *r, int consumer)
{
	return __atomic_load_n(&r->hdr->bias[consumer].owner, __ATOMIC_ACQUIRE);
}

/* one consumer: every message in order per producer (no gap either when
 * it is the only consumer: strict) until end of stream */
static void bconsumer(const char *name, struct btally *t, int strict, int tag)
{
	struct shmring *r;
	int64_t last[2] = { -1, -1 };
	if (shmring_open(name, SHMRING_CONSUMER, &r))
		_exit(3);
	if (tag) {
		atomic_store(&t->newcomer_in, 1);
	}
	for (;;) {
		struct bmsg m;
		ssize_t n = shmring_recv(r, &m, sizeof(m), 20000000000LL);
		if (n == -EPIPE)
			break;
		if (n != (ssize_t)sizeof(m) || m.id > 1) {
			atomic_fetch_add(&t->errors, 1);
			if (n < 0)
				_exit(4);
			continue;
		}
		if ((int64_t)m.seq <= last[m.id] || (strict && (int64_t)m.seq != last[m.id] + 1))
			atomic_fetch_add(&t->errors, 1);   /* reordered, repeated or lost */
		last[m.id] = (int64_t)m.seq;
		atomic_fetch_add(&t->received[m.id], 1);
	}
	shmring_close(r);
	_exit(0);
}

static int bsend(struct shmring *r, uint32_t id, uint64_t seq)
{
	struct bmsg m = { id, 0, seq };
	return shmring_send(r, &m, sizeof(m), 20000000000LL);
}

static int bsend_now(struct shmring *r, uint32_t id, uint64_t seq)
{
	struct bmsg m = { id, 0, seq };
	return shmring_send(r, &m, sizeof(m), 0);
}

/* a second producer, attaching while the first sends */
static void newcomer_producer(const char *name, struct btally *t)
{
	struct shmring *r;
	if (shmring_open(name, SHMRING_PRODUCER, &r))
		_exit(3);
	atomic_store(&t->newcomer_in, 1);
	if (priv(r)->bias_tok[0] != 0)
		_exit(5);   /* its scan saw the first producer: no bias */
	for (uint64_t s = 0; s < BPER; s++)
		if (bsend(r, 1, s))
			_exit(4);
	atomic_store(&t->newcomer_done, 1);
	while (!atomic_load(&t->owner_checked))
		test_sleep_ms(1);   /* attached until the first producer looked */
	shmring_close(r);
	_exit(0);
}

/* the token a lone attachment of this handle's side should own, or 0 if
 * this process cannot own one (no membarrier: r->fence_free == 0) */
static uint32_t expected_owner(struct shmring *r, int consumer)
{
	if (!r->fence_free)
		return 0;
	return consumer ? priv(r)->cons_stamp : priv(r)->prod_stamp;
}

Test(bias, producer_newcomer_mid_stream_every_message_once_in_order, .timeout = 120)
{
	char name[64];
	struct shmring *p;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = sizeof(struct bmsg),
	                              .slots = 64 };
	struct btally *t = tally_new();
	test_name(name, sizeof(name), "bias-p");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	/* alone on our side: ours (where membarrier exists) */
	cr_assert_eq(owner_word(p, 0), expected_owner(p, 0));
	cr_assert_eq(priv(p)->bias_tok[0], expected_owner(p, 0));
	pid_t c = fork();
	if (c == 0)
		bconsumer(name, t, 1, 0);
	uint64_t seq = 0;
	for (; seq < 5000; seq++)   /* the plain-store claims */
		cr_assert_eq(bsend(p, 0, seq), 0);
	pid_t n = fork();
	if (n == 0)
		newcomer_producer(name, t);
	/* keep sending while the newcomer attaches and sends */
	while (!atomic_load(&t->newcomer_done))
		cr_assert_eq(bsend(p, 0, seq++), 0);
	/* the newcomer is still attached: our claims saw the revocation (CAS
	 * from then on), and nobody may own the side */
	cr_assert_eq(bsend(p, 0, seq++), 0);
	cr_assert_eq(priv(p)->bias_tok[0], 0);
	cr_assert_eq(owner_word(p, 0), 0);
	atomic_store(&t->owner_checked, 1);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(bsend(p, 0, seq++), 0);
	cr_assert_eq(test_wait_child(n, 60000), 0, "newcomer");
	shmring_close(p);
	cr_assert_eq(test_wait_child(c, 60000), 0, "consumer");
	cr_assert_eq(atomic_load(&t->errors), 0, "lost, repeated or reordered messages");
	cr_assert_eq(atomic_load(&t->received[0]), seq);
	cr_assert_eq(atomic_load(&t->received[1]), BPER);
	munmap(t, sizeof(*t));
	shmring_unlink(name);
}

Test(bias, consumer_newcomer_mid_stream_every_message_once_in_order, .timeout = 120)
{
	char name[64];
	struct shmring *p, *c1;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = sizeof(struct bmsg),
	                              .slots = 64 };
	struct btally *t = tally_new();
	test_name(name, sizeof(name), "bias-c");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &c1), 0);
	cr_assert_eq(owner_word(c1, 1), expected_owner(c1, 1));
	/* the first consumer is this process: it receives in turn with the
	 * sends until the second one has attached, then a forked pair of
	 * producer/consumer streams the rest */
	uint64_t seq = 0, got = 0;
	int64_t last = -1;
	for (; seq < 5000; seq++) {
		struct bmsg m;
		cr_assert_eq(bsend(p, 0, seq), 0);
		cr_assert_eq(shmring_recv(c1, &m, sizeof(m), 1000000000LL), (ssize_t)sizeof(m));
		cr_assert_eq(m.seq, seq);
		last = (int64_t)m.seq;
		got++;
	}
	pid_t c2 = fork();
	if (c2 == 0)
		bconsumer(name, t, 0, 1);
	/* send and receive side by side until the newcomer is in, then on */
	uint64_t end = seq + 200000;
	while (seq < end) {
		cr_assert_eq(bsend(p, 0, seq++), 0);
		struct bmsg m;
		ssize_t n = shmring_recv(c1, &m, sizeof(m), 0);
		if (n == -EAGAIN)
			continue;
		cr_assert_eq(n, (ssize_t)sizeof(m));
		cr_assert_gt((int64_t)m.seq, last, "reordered at the first consumer");
		last = (int64_t)m.seq;
		got++;
		if (!atomic_load(&t->newcomer_in))
			end++;   /* not yet: keep the stream going */
	}
	/* the second consumer is attached (until end of stream): our claims
	 * since its attach saw the revocation */
	cr_assert_eq(priv(c1)->bias_tok[1], 0);
	shmring_close(p);   /* end of stream: drain the rest between us */
	for (;;) {
		struct bmsg m;
		ssize_t n = shmring_recv(c1, &m, sizeof(m), 20000000000LL);
		if (n == -EPIPE)
			break;
		cr_assert_eq(n, (ssize_t)sizeof(m));
		cr_assert_gt((int64_t)m.seq, last);
		last = (int64_t)m.seq;
		got++;
	}
	shmring_close(c1);
	cr_assert_eq(test_wait_child(c2, 60000), 0, "second consumer");
	cr_assert_eq(atomic_load(&t->errors), 0, "corrupt or reordered at the second consumer");
	/* every message once: the two counts add up to what was sent (the
	 * strict per-consumer order excludes repeats within one consumer; a
	 * message taken by both would make the sum exceed seq) */
	cr_assert_eq(got + atomic_load(&t->received[0]), seq);
	munmap(t, sizeof(*t));
	shmring_unlink(name);
}

/*
 * A sole producer killed inside a claim: it had announced the claim (busy),
 * recorded its intent and stored the index, and died before its stamp.
 * A newcomer's attach must not wait for it (its lock is gone), and the
 * consumer skips the dead claim (stats.abandoned) and gets the rest.
 */
Test(bias, owner_killed_mid_claim_does_not_hold_the_newcomer, .timeout = 60)
{
	char name[64];
	struct shmring *c;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = sizeof(struct bmsg),
	                              .slots = 16 };
	test_name(name, sizeof(name), "bias-k");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_CONSUMER, &c), 0);
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t o = fork();
	if (o == 0) {
		struct shmring *p;
		if (shmring_open(name, SHMRING_PRODUCER, &p))
			_exit(3);
		for (uint64_t s = 0; s < 3; s++)
			if (bsend(p, 0, s))
				_exit(4);
		uint32_t tok = priv(p)->bias_tok[0];
		/* a claim cut short, as own_begin() and claim_one() do it */
		uint64_t pos = __atomic_load_n(&p->hdr->prod_idx, __ATOMIC_RELAXED);
		if (tok) {
			__atomic_store_n(&p->hdr->bias[0].busy, tok, __ATOMIC_RELAXED);   /* K1 */
			__atomic_store_n(&p->hdr->claim_n[0][priv(p)->prod_entry], 1, __ATOMIC_RELEASE);
			__atomic_store_n(&p->hdr->producers[priv(p)->prod_entry].claim, pos + 1,
			                 __ATOMIC_RELEASE);                                  /* I1 */
			__atomic_store_n(&p->hdr->prod_idx, pos + 1, __ATOMIC_RELEASE);     /* the claim */
		}
		char ok = tok ? 'b' : 'n';
		if (write(pfd[1], &ok, 1) != 1)
			_exit(6);
		for (;;)
			pause();   /* killed here, inside the claim */
	}
	close(pfd[1]);
	char why = 0;
	cr_assert_eq(read(pfd[0], &why, 1), 1);
	close(pfd[0]);
	kill(o, SIGKILL);
	cr_assert_eq(test_wait_child(o, 10000), 128 + SIGKILL);
	struct shmring *n;
	/* the newcomer: its attach sees the dead owner's token and busy word,
	 * and goes on (a live owner would be waited for) */
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &n), 0);
	if (why == 'b') {
		/* the dead owner's word was cleared; alone now (the dead entry
		 * is reaped by our attach only if we took its slot: either way
		 * the newcomer owns it or nobody does) */
		uint32_t w = owner_word(n, 0);
		cr_assert(w == 0 || w == priv(n)->prod_stamp, "owner word %#x", w);
	}
	for (uint64_t s = 0; s < 10; s++)   /* 3 + the dead claim + 10 fit in 16 */
		cr_assert_eq(bsend(n, 1, s), 0);
	shmring_close(n);
	/* the consumer: the three messages, the dead claim skipped, then 10 */
	uint64_t got0 = 0, got1 = 0;
	for (;;) {
		struct bmsg m;
		ssize_t k = shmring_recv(c, &m, sizeof(m), 10000000000LL);
		if (k == -EPIPE)
			break;
		cr_assert_eq(k, (ssize_t)sizeof(m), "recv %zd", k);
		if (m.id == 0) {
			cr_assert_eq(m.seq, got0);
			got0++;
		} else {
			cr_assert_eq(m.seq, got1);
			got1++;
		}
	}
	cr_assert_eq(got0, 3);
	cr_assert_eq(got1, 10);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(c, &st), 0);
	cr_assert_eq(st.abandoned, why == 'b' ? 1u : 0u);
	shmring_close(c);
	shmring_unlink(name);
}

/* a forked child inherits the owner's handle, never its attachment: the
 * copy refuses to send, and a handle of its own revokes the bias */
Test(bias, forked_copy_of_an_owner_never_claims, .timeout = 60)
{
	char name[64];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = sizeof(struct bmsg),
	                              .slots = 64 };
	test_name(name, sizeof(name), "bias-f");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(priv(p)->bias_tok[0], expected_owner(p, 0));
	cr_assert_eq(bsend(p, 0, 0), 0);
	pid_t f = fork();
	if (f == 0) {
		if (bsend(p, 1, 0) == 0)
			_exit(5);   /* the inherited copy must not claim */
		struct shmring *q;
		if (shmring_open(name, SHMRING_PRODUCER, &q))
			_exit(3);
		if (owner_word(q, 0) != 0)
			_exit(6);
		for (uint64_t s = 0; s < 10; s++)
			if (bsend(q, 1, s))
				_exit(4);
		shmring_close(q);
		_exit(0);
	}
	cr_assert_eq(test_wait_child(f, 20000), 0);
	cr_assert_eq(bsend(p, 0, 1), 0);   /* sees the revocation: a CAS claim */
	cr_assert_eq(priv(p)->bias_tok[0], 0);
	uint64_t got0 = 0, got1 = 0;
	for (int i = 0; i < 12; i++) {
		struct bmsg m;
		cr_assert_eq(shmring_recv(c, &m, sizeof(m), 1000000000LL), (ssize_t)sizeof(m));
		if (m.id == 0)
			cr_assert_eq(m.seq, got0++);
		else
			cr_assert_eq(m.seq, got1++);
	}
	cr_assert_eq(got0, 2);
	cr_assert_eq(got1, 10);
	shmring_close(p);
	shmring_close(c);
	shmring_unlink(name);
}

/* the creator's bit: set on MPMC rings, never shown as a config flag, and
 * a ring without it (an older library's) is never biased */
Test(bias, only_rings_with_the_creators_bit_are_biased)
{
	char name[64];
	struct shmring *h, *p;
	struct shmring_info in;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 8 };
	test_name(name, sizeof(name), "bias-v");
	cr_assert_eq(shmring_create(name, &cfg, 0, &h), 0);
	cr_assert_neq(__atomic_load_n(&h->hdr->flags, __ATOMIC_RELAXED) & SHMRING__FLAG_BIAS, 0);
	cr_assert_eq(shmring_info(h, &in), 0);
	cr_assert_eq(in.flags, 0u);
	/* as an older library of layout 4 writes it: no bit */
	__atomic_fetch_and(&h->hdr->flags, ~SHMRING__FLAG_BIAS, __ATOMIC_RELAXED);
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(priv(p)->bias_tok[0], 0);
	cr_assert_eq(owner_word(p, 0), 0);
	shmring_close(p);
	shmring_close(h);
	shmring_unlink(name);
	/* SPSC rings never carry it, and create refuses it from a caller */
	struct shmring_config bad = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 8,
	                              .flags = SHMRING__FLAG_BIAS };
	cr_assert_eq(shmring_create(name, &bad, 0, &h), -EINVAL);
}

/*
 * The same with real claims: a sole producer streams into a small ring
 * while this process receives, and is SIGKILLed after a varying number of
 * messages (inside a claim, a copy, a publication or a wait: wherever it
 * is). A newcomer producer must attach and be delivered in full, after the
 * dead one's messages, each stream in order and without gaps.
 */
Test(bias, owner_killed_anywhere_then_a_newcomer, .timeout = 120)
{
	for (int round = 0; round < 20; round++) {
		char name[64];
		struct shmring *c, *n;
		struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = sizeof(struct bmsg),
		                              .slots = 8 };
		test_name(name, sizeof(name), "bias-r");
		cr_assert_eq(shmring_create(name, &cfg, SHMRING_CONSUMER, &c), 0);
		pid_t o = fork();
		if (o == 0) {
			struct shmring *p;
			if (shmring_open(name, SHMRING_PRODUCER, &p))
				_exit(3);
			for (uint64_t s = 0;; s++)
				if (bsend(p, 0, s))
					_exit(4);
		}
		/* receive a varying share of the stream, then kill */
		uint64_t next0 = 0, stop = 1 + (uint64_t)test_mix((uint64_t)round) % 3000;
		while (next0 < stop) {
			struct bmsg m;
			cr_assert_eq(shmring_recv(c, &m, sizeof(m), 10000000000LL), (ssize_t)sizeof(m));
			cr_assert_eq(m.id, 0);
			cr_assert_eq(m.seq, next0);
			next0++;
		}
		kill(o, SIGKILL);
		cr_assert_eq(test_wait_child(o, 10000), 128 + SIGKILL);
		cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &n), 0, "round %d", round);
		/* what the dead one published is still there, ahead of the
		 * newcomer's (positions are claimed in order): send without
		 * waiting (the ring may be full of it) and take one each time */
		uint64_t sent1 = 0, next1 = 0;
		while (next1 < 5) {
			if (sent1 < 5) {
				int rc = bsend_now(n, 1, sent1);
				if (rc == 0)
					sent1++;
				else
					cr_assert_eq(rc, -EAGAIN, "round %d: %d", round, rc);
			}
			struct bmsg m;
			cr_assert_eq(shmring_recv(c, &m, sizeof(m), 10000000000LL),
			             (ssize_t)sizeof(m), "round %d", round);
			if (m.id == 0) {
				cr_assert_eq(next1, 0, "round %d: the dead one's after ours", round);
				cr_assert_eq(m.seq, next0, "round %d", round);
				next0++;
			} else {
				cr_assert_eq(m.seq, next1, "round %d", round);
				next1++;
			}
		}
		shmring_close(n);
		struct bmsg m;
		cr_assert_eq(shmring_recv(c, &m, sizeof(m), 10000000000LL), -EPIPE, "round %d", round);
		shmring_close(c);
		shmring_unlink(name);
	}
}
