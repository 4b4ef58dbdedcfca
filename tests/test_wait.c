/* SPDX-License-Identifier: MIT */
/*
 * tests/test_wait.c - the default wait policy where the waiter and the
 * peer it waits for share one CPU (design.md, "Crowded rings"): the waiter
 * yields that CPU to the peer before it sleeps, instead of sleeping at
 * once. Observed without timing: the handle counts its yields, and the
 * test waits for the sleep to be counted before it lets the peer send.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include "common.h"
#include "../src/private.h"   /* the handle's yield count */

struct waiting { struct shmring *c; ssize_t got; char b[8]; };

static void *recv_thread(void *arg)
{
	struct waiting *x = arg;
	x->got = shmring_recv(x->c, x->b, sizeof(x->b), -1);
	return NULL;
}

/*
 * The fixture of the tests below: this process, bound to one CPU, holds the
 * consumer; a child (the same CPU, inherited, and so in its registry hint)
 * attaches as the producer and sends one message `msg` when told. Two
 * processes on one CPU: a crowded ring.
 */
struct pair { char n[64]; struct shmring *c; int go; pid_t kid; };

/* bind this test process (and the children it forks) to one CPU: the
 * first it may run on (a container's cpuset need not hold CPU 0) */
static void pin_one_cpu(void)
{
	cpu_set_t mine, one;
	int cpu = 0;
	cr_assert_eq(sched_getaffinity(0, sizeof(mine), &mine), 0);
	while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &mine))
		cpu++;
	cr_assert_lt(cpu, CPU_SETSIZE);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);   /* this test process only */
}

static void pair_start(struct pair *pr, unsigned kind, uint64_t slots, int64_t spin,
                       const char *tag, char msg)
{
	struct shmring_config cfg = { .kind = kind, .slot_size = 8, .slots = slots };
	int go[2];

	pin_one_cpu();
	test_name(pr->n, sizeof(pr->n), tag);
	cr_assert_eq(shmring_create(pr->n, &cfg, SHMRING_CONSUMER, &pr->c), 0);
	if (spin >= 0)
		cr_assert_eq(shmring_set_spin(pr->c, spin), 0);
	cr_assert_eq(pipe(go), 0);
	pr->kid = fork();
	cr_assert_geq(pr->kid, 0);
	if (pr->kid == 0) {
		struct shmring *p;
		char k;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		if (shmring_open(pr->n, SHMRING_PRODUCER, &p) || read(go[0], &k, 1) != 1 ||
		    shmring_send(p, &msg, 1, -1))
			_exit(1);
		shmring_close(p);
		_exit(0);
	}
	close(go[0]);
	pr->go = go[1];
	struct shmring_info info;
	do   /* the producer attached (its affinity hint is then in the registry) */
		cr_assert_eq(shmring_info(pr->c, &info), 0);
	while (info.nproducers == 0);
}

/* receive on a thread; once its wait is counted as a sleep, let the child
 * send, and check that the sleeper was woken with the message */
static void pair_sleep_then_send(struct pair *pr, char msg)
{
	struct waiting x = { pr->c, 0, { 0 } };
	pthread_t t;
	uint64_t w0 = test_waits(pr->c, 0);
	cr_assert_eq(pthread_create(&t, NULL, recv_thread, &x), 0);
	while (test_waits(pr->c, 0) == w0)   /* the wait went to sleep */
		sched_yield();
	cr_assert_eq(write(pr->go, "k", 1), 1);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(x.got, 1, "woken with the message: %zd", x.got);
	cr_assert_eq(x.b[0], msg);
}

static void pair_end(struct pair *pr)
{
	int st;
	cr_assert_eq(waitpid(pr->kid, &st, 0), pr->kid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(pr->go);
	shmring_close(pr->c);
	shmring_unlink(pr->n);
}

/* the default policy (no shmring_set_spin()): the consumer's wait on the
 * empty ring yields, then sleeps, and the child's message wakes it */
static void colocated_wait(unsigned kind, const char *tag)
{
	struct pair pr;
	pair_start(&pr, kind, 4, -1, tag, 'w');
	cr_assert_eq(priv(pr.c)->yields, 0);
	pair_sleep_then_send(&pr, 'w');
	/* read after the join: the waiting thread's count is complete */
	cr_assert_gt(priv(pr.c)->yields, 0, "the co-located wait slept without yielding first");
	struct shmring_info info;
	cr_assert_eq(shmring_info(pr.c, &info), 0);
	cr_assert_eq(info.spin_ns, 0, "the policy in force for a co-located pair: %lld",
	             (long long)info.spin_ns);
	pair_end(&pr);
}

Test(wait, colocated_spsc_waiter_yields_before_it_sleeps, .timeout = 20)
{
	colocated_wait(SHMRING_SPSC, "colo-spsc");
}

Test(wait, colocated_mpmc_waiter_yields_before_it_sleeps, .timeout = 20)
{
	colocated_wait(SHMRING_MPMC, "colo-mpmc");
}

/* the caller's own spin 0 still sleeps at once, co-located or not */
Test(wait, explicit_sleep_at_once_does_not_yield, .timeout = 20)
{
	char n[64];
	struct shmring *c, *p;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };

	pin_one_cpu();
	test_name(n, sizeof(n), "colo-zero");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_set_spin(c, 0), 0);
	char b[8];
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 2000000), -ETIMEDOUT);   /* 2 ms */
	cr_assert_eq(priv(c)->yields, 0);
	cr_assert_gt(test_waits(c, 0), 0, "it slept");
	shmring_close(p);
	shmring_close(c);
	shmring_unlink(n);
}

/*
 * The MPMC batch waits (mpmc.c, batch_wait()): a claimant that finds the
 * ring full (empty) first polls a bounded while for the slot a batch ahead.
 * The batch is a hint, never a condition: a producer blocked on a full ring
 * goes on when a single slot is freed.
 */
struct sending { struct shmring *p; int rc; };

static void *send_thread(void *arg)
{
	struct sending *x = arg;
	x->rc = shmring_send(x->p, "z", 1, -1);
	return NULL;
}

Test(wait, mpmc_producer_batch_is_a_hint_one_free_slot_suffices, .timeout = 20)
{
	char n[64];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 1024 };
	test_name(n, sizeof(n), "batch-full");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_set_spin(p, 20000), 0);   /* a budget: the batch wait runs */
	for (int i = 0; i < 1024; i++)
		cr_assert_eq(shmring_send(p, "f", 1, 0), 0);
	cr_assert_eq(shmring_send(p, "f", 1, 0), -EAGAIN);   /* full */

	struct sending x = { p, 1 };
	pthread_t t;
	uint64_t w0 = test_waits(p, 1);
	cr_assert_eq(pthread_create(&t, NULL, send_thread, &x), 0);
	while (test_waits(p, 1) == w0)   /* past its batch wait, asleep on the full ring */
		sched_yield();
	char b[8];
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 0), 1);   /* one slot, not a batch */
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(x.rc, 0, "the blocked send: %d", x.rc);
	int got = 0;
	while (shmring_recv(c, b, sizeof(b), 0) == 1)
		got++;
	cr_assert_eq(got, 1024, "1023 + the blocked one: %d", got);
	cr_assert_eq(b[0], 'z');
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(n);
}

/*
 * A consumer batches only on a crowded ring (here: itself and a producer
 * bound to one CPU), and after a batch that did not come it waits the next
 * DATA_BATCH_REST times without one, so a paced stream pays the bounded
 * spin once per that many messages. The single message is sent only after
 * the consumer slept, so its batch cannot have come: no timing.
 */
Test(wait, mpmc_consumer_batch_rests_after_one_that_did_not_come, .timeout = 20)
{
	struct pair pr;
	char b[8];
	pair_start(&pr, SHMRING_MPMC, 1024, 20000, "batch-rest", 'm');   /* a budget: the batch may run */
	/* a first wait scans the placement: crowded from now on */
	cr_assert_eq(shmring_recv(pr.c, b, sizeof(b), 1000000), -ETIMEDOUT);
	cr_assert_eq(priv(pr.c)->crowded, 1);
	cr_assert_eq(priv(pr.c)->data_batch_rest, 0);
	pair_sleep_then_send(&pr, 'm');
	cr_assert_eq(priv(pr.c)->data_batch_rest, 256, "rest after a batch that did not come: %u",
	             priv(pr.c)->data_batch_rest);
	pair_end(&pr);
}

/*
 * A batch wait's polls come before the wait loop reads the clock, so only
 * a wait that may last (no timeout, or one of at least 1 ms) begins with
 * one: before, a send with a 10 us timeout on a full ring returned after
 * ~19 us. The handle counts the batch waits it began; no timing here.
 */
static void short_timeout_no_batch(unsigned kind, const char *tag)
{
	char n[64];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = kind, .slot_size = 8, .slots = 16 };
	test_name(n, sizeof(n), tag);
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_set_spin(p, 20000), 0);   /* a budget: a batch wait may run */
	for (int i = 0; i < 16; i++)
		cr_assert_eq(shmring_send(p, "f", 1, 0), 0);
	cr_assert_eq(priv(p)->batch_waits, 0);
	cr_assert_eq(shmring_send(p, "f", 1, 100000), -ETIMEDOUT);   /* 100 us */
	cr_assert_eq(priv(p)->batch_waits, 0, "a 100 us send began a batch wait");
	cr_assert_eq(shmring_send(p, "f", 1, 2000000), -ETIMEDOUT);  /* 2 ms */
	cr_assert_eq(priv(p)->batch_waits, 1, "a 2 ms send: %llu batch waits",
	             (unsigned long long)priv(p)->batch_waits);
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(n);
}

Test(wait, spsc_short_timeout_skips_the_batch_wait, .timeout = 20)
{
	short_timeout_no_batch(SHMRING_SPSC, "short-spsc");
}

Test(wait, mpmc_short_timeout_skips_the_batch_wait, .timeout = 20)
{
	short_timeout_no_batch(SHMRING_MPMC, "short-mpmc");
}

/*
 * On a crowded ring whose waiting side has more attachments than the
 * other, the batch wait yields between its looks (BATCH_YIELDS of them):
 * the outnumbered side is the bottleneck and needs the CPU. Here a
 * producer and a consumer in this process and a child attached in the
 * given role, all bound to one CPU (two processes, one CPU: crowded); the
 * ring is full and nobody consumes, so the producer's batch never comes
 * and the count is exact: 16 when the child is a second producer, 0 when
 * it is a second consumer (the producers are the fewer).
 */
static void outnumbered_batch(int child_role, uint64_t expect, const char *tag)
{
	char n[64];
	int go[2];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 64 };

	pin_one_cpu();
	test_name(n, sizeof(n), tag);
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_set_spin(p, 20000), 0);   /* a budget: the batch wait runs */
	cr_assert_eq(pipe(go), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {   /* attached and idle until the test is done */
		struct shmring *q;
		char k;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		if (shmring_open(n, child_role, &q) || read(go[0], &k, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	struct shmring_info info;
	do
		cr_assert_eq(shmring_info(p, &info), 0);
	while (info.nproducers + info.nconsumers < 3);
	for (int i = 0; i < 64; i++)
		cr_assert_eq(shmring_send(p, "f", 1, 0), 0);
	/* a first wait scans the placement (crowded, the sides counted) */
	cr_assert_eq(shmring_send(p, "f", 1, 1000000), -ETIMEDOUT);
	cr_assert_eq(priv(p)->crowded, 1);
	uint64_t b0 = priv(p)->batch_yields;
	cr_assert_eq(shmring_send(p, "f", 1, 1000000), -ETIMEDOUT);
	cr_assert_eq(priv(p)->batch_yields - b0, expect, "batch yields: %llu",
	             (unsigned long long)(priv(p)->batch_yields - b0));
	close(go[1]);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(n);
}

Test(wait, mpmc_outnumbering_side_yields_in_its_batch_wait, .timeout = 20)
{
	outnumbered_batch(SHMRING_PRODUCER, 16, "batch-outnum");
}

Test(wait, mpmc_outnumbered_side_polls_in_its_batch_wait, .timeout = 20)
{
	outnumbered_batch(SHMRING_CONSUMER, 0, "batch-even");
}

/*
 * A crowded ring makes a waiter yield at every look instead of spinning
 * (design.md, "Crowded rings"). Its wait must still end in a sleep on an
 * idle ring (a waiter that yields for ever burns a CPU), and that sleep
 * must be woken by the next message. (A budget > 0: the crowded path of a
 * handle that spins, not the co-located default above.)
 */
Test(wait, crowded_waiter_yields_then_sleeps_and_is_woken, .timeout = 20)
{
	struct pair pr;
	pair_start(&pr, SHMRING_MPMC, 4, 20000, "crowd", 'w');
	pair_sleep_then_send(&pr, 'w');
	pair_end(&pr);
}
