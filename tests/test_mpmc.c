/* SPDX-License-Identifier: MIT */
/*
 * tests/test_mpmc.c - MPMC rings across processes: exactly-once delivery,
 * per-producer order at each consumer, bursts and zero-copy under
 * contention, the attachment limit.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include "common.h"

struct mpmc_msg {
	uint32_t id;
	uint32_t pad;
	uint64_t seq;
	uint64_t sum;
};

#define MAXP 4
#define PER  20000

/* shared between the forked consumers and the test: how often each
 * (producer, seq) arrived, and any order violation seen */
struct tally {
	_Atomic uint32_t seen[MAXP][PER];
	_Atomic uint32_t errors;
	_Atomic uint64_t received;
};

enum mode { COPY, BURST, ZEROCOPY };

static void consumer_loop(const char *name, struct tally *t, enum mode mode)
{
	struct shmring *r;
	int64_t last[MAXP];
	for (int i = 0; i < MAXP; i++)
		last[i] = -1;
	if (shmring_open(name, SHMRING_CONSUMER, &r))
		_exit(3);
	shmring_set_spin(r, 0);   /* oversubscribed on 2 cores: sleep */
	for (;;) {
		struct mpmc_msg m[8];
		int n = 0;
		if (mode == BURST) {
			struct iovec iov[8];
			for (int i = 0; i < 8; i++)
				iov[i] = (struct iovec){ &m[i], sizeof(m[i]) };
			n = shmring_recv_burst(r, iov, 8, 10000000000LL);
			for (int i = 0; i < n; i++)
				if (iov[i].iov_len != sizeof(m[i]))
					atomic_fetch_add(&t->errors, 1);
		} else if (mode == ZEROCOPY) {
			struct shmring_slot s;
			n = shmring_acquire(r, &s, 10000000000LL);
			if (n == 0) {
				if (s.len == sizeof(m[0]))
					memcpy(&m[0], s.data, sizeof(m[0]));
				else
					atomic_fetch_add(&t->errors, 1);
				shmring_release(r, &s);
				n = 1;
			}
		} else {
			ssize_t len = shmring_recv(r, &m[0], sizeof(m[0]), 10000000000LL);
			n = len < 0 ? (int)len : 1;
			if (len >= 0 && len != (ssize_t)sizeof(m[0]))
				atomic_fetch_add(&t->errors, 1);
		}
		if (n == -EPIPE)
			break;
		if (n < 0) {
			fprintf(stderr, "consumer: %s\n", shmring_strerror(n));
			_exit(4);
		}
		for (int i = 0; i < n; i++) {
			if (m[i].id >= MAXP || m[i].seq >= PER ||
			    m[i].sum != test_mix(((uint64_t)m[i].id << 40) ^ m[i].seq)) {
				atomic_fetch_add(&t->errors, 1);
				continue;
			}
			if ((int64_t)m[i].seq <= last[m[i].id])
				atomic_fetch_add(&t->errors, 1);   /* reordered within a producer */
			last[m[i].id] = (int64_t)m[i].seq;
			atomic_fetch_add(&t->seen[m[i].id][m[i].seq], 1);
			atomic_fetch_add(&t->received, 1);
		}
	}
	shmring_close(r);
	_exit(0);
}

static void producer_loop(const char *name, uint32_t id, enum mode mode)
{
	struct shmring *r;
	if (shmring_open(name, SHMRING_PRODUCER, &r))
		_exit(3);
	shmring_set_spin(r, 0);
	uint64_t seq = 0;
	while (seq < PER) {
		struct mpmc_msg m[8];
		int k = mode == BURST ? 8 : 1;
		if (seq + (uint64_t)k > PER)
			k = (int)(PER - seq);
		for (int i = 0; i < k; i++)
			m[i] = (struct mpmc_msg){ id, 0, seq + (uint64_t)i,
			                          test_mix(((uint64_t)id << 40) ^ (seq + (uint64_t)i)) };
		int rc;
		if (mode == BURST) {
			struct iovec iov[8];
			for (int i = 0; i < k; i++)
				iov[i] = (struct iovec){ &m[i], sizeof(m[i]) };
			rc = shmring_send_burst(r, iov, (unsigned)k, -1);
		} else if (mode == ZEROCOPY) {
			struct shmring_slot s;
			rc = shmring_reserve(r, &s, -1);
			if (rc == 0) {
				memcpy(s.data, &m[0], sizeof(m[0]));
				rc = shmring_commit(r, &s, sizeof(m[0]));
				rc = rc ? rc : 1;
			}
		} else {
			rc = shmring_send(r, &m[0], sizeof(m[0]), -1);
			rc = rc ? rc : 1;
		}
		if (rc < 0) {
			fprintf(stderr, "producer %u: %s\n", id, shmring_strerror(rc));
			_exit(4);
		}
		seq += (uint64_t)rc;
	}
	shmring_close(r);
	_exit(0);
}

/* P producers x C consumers, all processes; the test holds a producer
 * handle until every producer has finished, so the stream ends once */
static void run_mpmc(int P, int C, enum mode mode, uint64_t slots)
{
	char name[64];
	struct shmring *hold;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = sizeof(struct mpmc_msg),
	                              .slots = slots };
	test_name(name, sizeof(name), "mpmc");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &hold), 0);
	struct tally *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
	                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(t, MAP_FAILED);
	pid_t cons[8], prod[8];
	for (int i = 0; i < C; i++)
		if ((cons[i] = fork()) == 0)
			consumer_loop(name, t, mode);
	for (int i = 0; i < P; i++)
		if ((prod[i] = fork()) == 0)
			producer_loop(name, (uint32_t)i, mode);
	for (int i = 0; i < P; i++)
		cr_assert_eq(test_wait_child(prod[i], 60000), 0, "producer %d", i);
	shmring_close(hold);   /* now every producer is gone: consumers drain, EOF */
	for (int i = 0; i < C; i++)
		cr_assert_eq(test_wait_child(cons[i], 60000), 0, "consumer %d", i);
	cr_assert_eq(atomic_load(&t->errors), 0, "corrupt or reordered messages");
	cr_assert_eq(atomic_load(&t->received), (uint64_t)P * PER);
	for (int p = 0; p < P; p++)
		for (int s = 0; s < PER; s++)
			cr_assert_eq(atomic_load(&t->seen[p][s]), 1, "producer %d seq %d delivered %u times",
			             p, s, atomic_load(&t->seen[p][s]));
	munmap(t, sizeof(*t));
	shmring_unlink(name);
}

Test(mpmc, three_producers_two_consumers, .timeout = 120) { run_mpmc(3, 2, COPY, 64); }
Test(mpmc, one_by_one, .timeout = 120) { run_mpmc(1, 1, COPY, 16); }
Test(mpmc, four_by_four_small_ring, .timeout = 120) { run_mpmc(4, 4, COPY, 4); }
Test(mpmc, bursts_under_contention, .timeout = 120) { run_mpmc(2, 2, BURST, 32); }
Test(mpmc, zero_copy_under_contention, .timeout = 120) { run_mpmc(2, 2, ZEROCOPY, 8); }

Test(mpmc, at_most_64_per_side_then_eusers)
{
	char name[64];
	struct shmring *r, *h[SHMRING_MAX_PEERS], *extra;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 8 };
	test_name(name, sizeof(name), "eusers");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	for (int side = 0; side < 2; side++) {
		int role = side ? SHMRING_CONSUMER : SHMRING_PRODUCER;
		for (int i = 0; i < SHMRING_MAX_PEERS; i++)
			cr_assert_eq(shmring_open(name, role, &h[i]), 0, "attachment %d", i);
		cr_assert_eq(shmring_open(name, role, &extra), -EUSERS);
		struct shmring_info info;
		cr_assert_eq(shmring_info(r, &info), 0);
		cr_assert_eq(side ? info.nconsumers : info.nproducers, SHMRING_MAX_PEERS);
		shmring_close(h[17]);
		cr_assert_eq(shmring_open(name, role, &h[17]), 0, "a closed entry is reused");
		for (int i = 0; i < SHMRING_MAX_PEERS; i++)
			shmring_close(h[i]);
	}
	shmring_close(r);
	shmring_unlink(name);
}

Test(mpmc, killed_consumer_entry_is_reaped_and_stream_continues, .timeout = 20)
{
	char name[64];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	test_name(name, sizeof(name), "mpmckill");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmring *x;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (shmring_open(name, SHMRING_CONSUMER, &x))
			_exit(1);
		for (;;)
			pause();
	}
	struct shmring_info info;
	do {
		test_sleep_ms(1);
		shmring_info(p, &info);
	} while (info.nconsumers == 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(shmring_send(p, &i, 1, 0), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(shmring_send(p, "x", 1, -1), -EPIPE, "the only consumer died");
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &c), 0);
	char b;
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(shmring_recv(c, &b, 1, 0), 1);
		cr_assert_eq(b, i);
	}
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(name);
}

/* a child process that attaches with one role, takes a slot in place
 * (acquire as consumer, reserve as producer), reports, and holds it until it
 * is killed. Returns its pid once it holds the slot. */
static pid_t spawn_slot_holder(const char *name, int role)
{
	int fds[2];
	char k;
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmring *x;
		struct shmring_slot s;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (shmring_open(name, role, &x))
			_exit(1);
		if ((role == SHMRING_CONSUMER ? shmring_acquire(x, &s, -1) : shmring_reserve(x, &s, -1)))
			_exit(1);
		if (write(fds[1], "k", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &k, 1), 1, "the holder took its slot");
	close(fds[0]);
	return pid;
}

/* a consumer killed between acquire and release: producers free its slot
 * once they find the claimant dead, instead of wedging after one lap */
Test(mpmc, slot_of_a_killed_consumer_is_recovered, .timeout = 20)
{
	char name[64];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	test_name(name, sizeof(name), "orphan");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &p), 0);
	cr_assert_eq(shmring_send(p, "dies", 4, 0), 0);
	pid_t pid = spawn_slot_holder(name, SHMRING_CONSUMER);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &c), 0);   /* a live consumer stays */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(shmring_send(p, &i, 1, 0), 0);
	cr_assert_eq(shmring_send(p, "x", 1, 0), -EAGAIN, "full: one slot held by the child");
	char b[8];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(shmring_recv(c, b, sizeof(b), 0), 1);
	/* the ring is empty, but the producer has wrapped to the held slot */
	cr_assert_eq(shmring_send(p, "w", 1, 50000000), -ETIMEDOUT, "blocked on the held slot");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	int64_t t0 = test_now_ns();
	cr_assert_eq(shmring_send(p, "w", 1, 2000000000), 0, "slot recovered from the dead consumer");
	cr_assert_lt(test_now_ns() - t0, 1000000000);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(p, &st), 0);
	cr_assert_eq(st.orphans, 1);
	cr_assert_eq(shmring_send(p, "x", 1, 0), 0);
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 0), 1);
	cr_assert_eq(b[0], 'w');
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 0), 1);
	cr_assert_eq(b[0], 'x');
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(name);
}

/* a producer killed between claim (reserve) and publication (commit):
 * consumers skip its slot once they find it dead, deliver what other
 * producers published behind it, and still see the end of stream */
Test(mpmc, slot_of_a_killed_producer_is_skipped, .timeout = 20)
{
	char name[64];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 8 };
	test_name(name, sizeof(name), "deadclaim");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_CONSUMER, &c), 0);
	pid_t pid = spawn_slot_holder(name, SHMRING_PRODUCER);   /* never commits */
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_send(p, "after", 5, 0), 0);   /* lands behind the claim */
	char b[8];
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 50000000), -ETIMEDOUT,
	             "held back by the live claimant");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	int64_t t0 = test_now_ns();
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 2000000000), 5, "the dead claim is skipped");
	cr_assert_lt(test_now_ns() - t0, 1000000000);
	cr_assert_eq(memcmp(b, "after", 5), 0);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(c, &st), 0);
	cr_assert_eq(st.abandoned, 1);
	/* again, and this time the last live producer closes: the consumer
	 * must drain the published message behind the dead claim, then EOF */
	pid = spawn_slot_holder(name, SHMRING_PRODUCER);
	cr_assert_eq(shmring_send(p, "last", 4, 0), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	shmring_close(p);
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 2000000000), 4);
	cr_assert_eq(memcmp(b, "last", 4), 0);
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 2000000000), -EPIPE);
	shmring_close(c);
	shmring_unlink(name);
}

struct late_recv {
	struct shmring *c;
	int64_t timeout_ns;
	ssize_t got;
	ssize_t then;     /* the call after it */
	char buf[8];
};

static void *late_recv_thread(void *arg)
{
	struct late_recv *l = arg;
	l->got = shmring_recv(l->c, l->buf, sizeof(l->buf), l->timeout_ns);
	l->then = shmring_recv(l->c, l->buf + 1, sizeof(l->buf) - 1, 1000000000);
	return NULL;
}

/* A timeout so large that now + timeout overflows means "wait". Before,
 * the MPMC claim wait computed now + timeout in signed arithmetic: undefined
 * behaviour, which this test shows under UBSan in make check ("signed
 * integer overflow" in src/mpmc.c); plain builds happened to wrap back. */
Test(mpmc, huge_timeout_waits_instead_of_timing_out, .timeout = 20)
{
	char n[64];
	struct shmring *p;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	struct late_recv l = { .timeout_ns = INT64_MAX };
	pthread_t t;
	test_name(n, sizeof(n), "hugeto");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &l.c), 0);
	pthread_create(&t, NULL, late_recv_thread, &l);
	test_sleep_ms(100);
	cr_assert_eq(shmring_send(p, "h", 1, 0), 0);
	cr_assert_eq(shmring_shutdown(p), 0);
	pthread_join(t, NULL);
	cr_assert_eq(l.got, 1, "recv(INT64_MAX) -> %zd", l.got);
	cr_assert_eq(l.then, -EPIPE);
	shmring_close(l.c);
	shmring_close(p);
	shmring_unlink(n);
}

/* shutdown while a reservation is outstanding: the reserved message is
 * still committed (MPMC must publish it), and consumers must get it before
 * the end of stream. Before, a sleeping consumer saw the shutdown, found
 * nothing published and returned -EPIPE: the message committed a moment
 * later was never received. */
Test(mpmc, shutdown_with_reservation_ends_after_the_commit, .timeout = 20)
{
	char n[64];
	struct shmring *p;
	struct shmring_slot s;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	struct late_recv l = { .timeout_ns = 2000000000 };
	pthread_t t;
	test_name(n, sizeof(n), "shutres");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &l.c), 0);
	shmring_set_spin(l.c, 0);
	pthread_create(&t, NULL, late_recv_thread, &l);
	test_sleep_ms(20);
	cr_assert_eq(shmring_reserve(p, &s, 0), 0);
	cr_assert_eq(shmring_shutdown(p), 0);
	test_sleep_ms(100);   /* the consumer has looked by now */
	memcpy(s.data, "r", 1);
	cr_assert_eq(shmring_commit(p, &s, 1), 0);
	pthread_join(t, NULL);
	cr_assert_eq(l.got, 1, "recv -> %zd: the message committed after shutdown was lost", l.got);
	cr_assert_eq(l.buf[0], 'r');
	cr_assert_eq(l.then, -EPIPE);
	shmring_close(l.c);
	shmring_close(p);
	shmring_unlink(n);
}

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The MPMC wait policy: a consumer whose next message is claimed but not
 * yet published (its producer is between reserve and commit) keeps spinning
 * past its spin budget, because such a hold ends as soon as the holder
 * runs; a sleep would cost a futex wait, a membarrier and the holder's
 * wake. But only for a bounded time (a holder that does not finish is
 * slept on), and an idle ring is slept on after the budget as before.
 */
Test(mpmc, consumer_held_by_a_claimant_spins_on_within_a_bound, .timeout = 20)
{
	char n[64], b[8];
	struct shmring *p, *c;
	struct shmring_slot s;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "heldc");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_set_spin(c, 1000000), 0);   /* 1 ms budget */

	uint64_t w0 = test_waits(c, 0);
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 200000000), -ETIMEDOUT);
	cr_assert_gt(test_waits(c, 0), w0, "an idle ring is slept on once the budget is spent");

	cr_assert_eq(shmring_reserve(p, &s, 0), 0);   /* claimed, not published */
	w0 = test_waits(c, 0);
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 5000000), -ETIMEDOUT);
	cr_assert_eq(test_waits(c, 0), w0, "held by a producer in mid-write: spin on, no sleep");

	int64_t cpu0 = thread_cpu_ns();
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 200000000), -ETIMEDOUT);
	int64_t cpu = thread_cpu_ns() - cpu0;
	cr_assert_gt(test_waits(c, 0), w0, "a hold that does not end is slept on after the bound");
	cr_assert_lt(cpu, 80000000, "200 ms wait on a stuck holder burned %lld ns of CPU",
	             (long long)cpu);

	memcpy(s.data, "m", 1);
	cr_assert_eq(shmring_commit(p, &s, 1), 0);
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 0), 1);
	cr_assert_eq(b[0], 'm');
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(n);
}

/* the same for a producer: a slot still being read by the consumer that
 * claimed it (acquire without release) is spun on; a ring that is full
 * because nobody consumes is slept on */
Test(mpmc, producer_held_by_a_reader_spins_on_full_ring_sleeps, .timeout = 20)
{
	char n[64];
	struct shmring *p, *c;
	struct shmring_slot s;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "heldp");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_set_spin(p, 1000000), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(shmring_send(p, &i, 1, 0), 0);
	cr_assert_eq(shmring_acquire(c, &s, 0), 0);   /* slot 0: claimed, being read */

	uint64_t w0 = test_waits(p, 1);
	cr_assert_eq(shmring_send(p, "x", 1, 5000000), -ETIMEDOUT);
	cr_assert_eq(test_waits(p, 1), w0, "held by a consumer in mid-read: spin on, no sleep");

	cr_assert_eq(shmring_release(c, &s), 0);
	cr_assert_eq(shmring_send(p, "y", 1, 0), 0);   /* full again, nobody reading */
	w0 = test_waits(p, 1);
	cr_assert_eq(shmring_send(p, "z", 1, 200000000), -ETIMEDOUT);
	cr_assert_gt(test_waits(p, 1), w0, "a full ring nobody drains is slept on");
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(n);
}

/* a consumer that spun on a held slot, gave up and slept is woken by the
 * holder's publication at once (no wake-up lost between the two phases) */
Test(mpmc, consumer_asleep_behind_a_claimant_is_woken_by_its_commit, .timeout = 20)
{
	char n[64];
	struct shmring *p;
	struct shmring_slot s;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	struct late_recv l = { .timeout_ns = 2000000000 };
	pthread_t t;
	test_name(n, sizeof(n), "heldwake");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &l.c), 0);
	cr_assert_eq(shmring_set_spin(l.c, 1000000), 0);
	cr_assert_eq(shmring_reserve(p, &s, 0), 0);
	uint64_t w0 = test_waits(p, 0);
	pthread_create(&t, NULL, late_recv_thread, &l);
	int64_t t0 = test_now_ns();
	while (test_waits(p, 0) == w0 && test_now_ns() - t0 < 5000000000)
		test_sleep_ms(1);   /* until the consumer has gone to sleep */
	cr_assert_gt(test_waits(p, 0), w0, "the consumer slept after the bound");
	test_sleep_ms(5);
	memcpy(s.data, "w", 1);
	int64_t t1 = test_now_ns();
	cr_assert_eq(shmring_commit(p, &s, 1), 0);
	cr_assert_eq(shmring_shutdown(p), 0);
	pthread_join(t, NULL);
	cr_assert_eq(l.got, 1);
	cr_assert_eq(l.buf[0], 'w');
	cr_assert_eq(l.then, -EPIPE);
	/* the 100 ms sleep slice would be a lost wake's latency */
	cr_assert_lt(test_now_ns() - t1, 50000000, "woken %lld ns after the commit",
	             (long long)(test_now_ns() - t1));
	shmring_close(l.c);
	shmring_close(p);
	shmring_unlink(n);
}

/* holds that keep outlasting the spin bound (a producer that keeps its
 * reservation for long on purpose) shrink the bound: the consumer soon
 * sleeps almost as on an idle ring instead of spinning 10 ms each time */
Test(mpmc, long_holds_shrink_the_held_spin, .timeout = 20)
{
	char n[64], b[8];
	struct shmring *p, *c;
	struct shmring_slot s;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "heldlong");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_set_spin(c, 1000000), 0);
	cr_assert_eq(shmring_reserve(p, &s, 0), 0);
	uint64_t w0 = test_waits(c, 0);
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 10000000), -ETIMEDOUT);
	cr_assert_eq(test_waits(c, 0), w0, "a first hold is spun on for 10 ms");
	for (int i = 0; i < 6; i++)   /* each outlasts the bound (10 ms >> i) */
		cr_assert_eq(shmring_recv(c, b, sizeof(b), 30000000), -ETIMEDOUT);
	w0 = test_waits(c, 0);
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 10000000), -ETIMEDOUT);
	cr_assert_gt(test_waits(c, 0), w0, "after long holds, a 10 ms wait sleeps");
	memcpy(s.data, "l", 1);
	cr_assert_eq(shmring_commit(p, &s, 1), 0);
	cr_assert_eq(shmring_recv(c, b, sizeof(b), 0), 1);
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(n);
}

