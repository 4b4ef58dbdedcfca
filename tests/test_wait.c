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

static uint64_t empty_waits(struct shmring *r)
{
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(r, &st), 0);
	return st.empty_waits;
}

/* consumer here, producer in a child, both bound to CPU 0, the default
 * policy (no shmring_set_spin()): the consumer's wait on the empty ring
 * yields, then sleeps, and the child's message wakes it */
static void colocated_wait(unsigned kind, const char *tag)
{
	char n[64];
	int go[2];
	struct shmring *c;
	struct shmring_config cfg = { .kind = kind, .slot_size = 8, .slots = 4 };
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);   /* this test process only */
	test_name(n, sizeof(n), tag);
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(pipe(go), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {   /* the producer: CPU 0 too (inherited), in its registry hint */
		struct shmring *p;
		char k;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		if (shmring_open(n, SHMRING_PRODUCER, &p) || read(go[0], &k, 1) != 1 ||
		    shmring_send(p, "w", 1, -1))
			_exit(1);
		shmring_close(p);
		_exit(0);
	}
	close(go[0]);
	struct shmring_info info;
	do   /* the producer attached (its affinity hint is then in the registry) */
		cr_assert_eq(shmring_info(c, &info), 0);
	while (info.nproducers == 0);

	struct waiting x = { c, 0, { 0 } };
	pthread_t t;
	uint64_t w0 = empty_waits(c);
	cr_assert_eq(priv(c)->yields, 0);
	cr_assert_eq(pthread_create(&t, NULL, recv_thread, &x), 0);
	while (empty_waits(c) == w0)   /* the wait went to sleep */
		sched_yield();
	cr_assert_eq(write(go[1], "k", 1), 1);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(x.got, 1, "woken with the message: %zd", x.got);
	cr_assert_eq(x.b[0], 'w');
	/* read after the join: the waiting thread's count is complete */
	cr_assert_gt(priv(c)->yields, 0, "the co-located wait slept without yielding first");
	cr_assert_eq(shmring_info(c, &info), 0);
	cr_assert_eq(info.spin_ns, 0, "the policy in force for a co-located pair: %lld",
	             (long long)info.spin_ns);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(go[1]);
	shmring_close(c);
	shmring_unlink(n);
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
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	test_name(n, sizeof(n), "colo-zero");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_set_spin(c, 0), 0);
	char b[8];
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 2000000), -ETIMEDOUT);   /* 2 ms */
	cr_assert_eq(priv(c)->yields, 0);
	cr_assert_gt(empty_waits(c), 0, "it slept");
	shmring_close(p);
	shmring_close(c);
	shmring_unlink(n);
}
