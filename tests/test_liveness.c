/* SPDX-License-Identifier: MIT */
/*
 * tests/test_liveness.c - the promises that depend on knowing who is
 * alive, and on reading a hostile header once: kernel-owned liveness
 * (fork, exec), the header read once at open, the MPMC dead-claim skip
 * that must never move a slot backwards, wakes that reach the sleeper
 * that can use them, and a killed sleeper that costs nothing afterwards.
 * Each test is the reproducer of a bug seen in layout version 1.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "common.h"
#include "../src/private.h"   /* the tests below drive internals */


/* ---- kernel-owned liveness ---- */

/* A producer forks a child that never touches the ring and then dies: the
 * child must not keep it "alive" (its inherited lock descriptor is closed
 * by the library's fork handler). Before: liveness by pid said dead here
 * too, but an OFD lock without the fork handler would say alive for as
 * long as the child runs. */
Test(liveness, forked_child_does_not_keep_a_dead_producer_alive, .timeout = 20)
{
	char n[64], buf[8];
	struct shmring *c;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	int gone[2];
	test_name(n, sizeof(n), "forkkeep");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(pipe(gone), 0);
	pid_t prod = fork();
	if (prod == 0) {
		struct shmring *p;
		if (shmring_open(n, SHMRING_PRODUCER, &p) || shmring_send(p, "m", 1, 0))
			_exit(1);
		pid_t child = fork();
		if (child == 0) {   /* the grandchild: lives on, ring untouched */
			close(gone[0]);
			sleep(10);
			_exit(0);
		}
		char pid[32];
		int len = snprintf(pid, sizeof(pid), "%d", (int)child);
		if (write(gone[1], pid, (size_t)len) != len)
			_exit(1);
		_exit(0);   /* the producer dies without close or shutdown */
	}
	char pidbuf[32] = "";
	close(gone[1]);
	cr_assert_gt(read(gone[0], pidbuf, sizeof(pidbuf) - 1), 0);
	pid_t grandchild = (pid_t)atoi(pidbuf);
	cr_assert_eq(test_wait_child(prod, 5000), 0);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 1000000000), 1);
	int64_t t0 = test_now_ns();
	ssize_t rc = shmring_recv(c, buf, sizeof(buf), 5000000000);
	int64_t took_ms = (test_now_ns() - t0) / 1000000;
	kill(grandchild, SIGKILL);
	cr_assert_eq(rc, -EPIPE, "recv -> %zd while the forked child lives", rc);
	cr_assert_lt(took_ms, 1000, "end of stream seen after %lld ms", (long long)took_ms);
	shmring_close(c);
	shmring_unlink(n);
}

/*
 * Another thread forks while shmring_open() has opened the lock descriptor
 * of a new attachment but the handle does not hold it yet (issue 22, item
 * 8). The child must not keep an untracked copy of that open file
 * description: its locks would keep the producer "alive" for as long as
 * the child lives (the consumer got -ETIMEDOUT instead of -EPIPE, a
 * takeover -EBUSY). The library's test hook runs at exactly that point and
 * releases a forker thread; it returns once the fork is done (the window
 * was open to it) or once the forker sleeps in futex() after starting to
 * fork (the fork waits for the library: the window is closed to it), so
 * the outcome never depends on scheduling.
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int go;
	_Atomic pid_t tid;      /* the forker thread */
	_Atomic int forking, forked;
	int pidfd;              /* write end: the grandchild's pid */
} fk = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, -1 };

static void *forker(void *arg)
{
	(void)arg;
	atomic_store(&fk.tid, (pid_t)syscall(SYS_gettid));
	pthread_mutex_lock(&fk.mu);
	while (!fk.go)
		pthread_cond_wait(&fk.cv, &fk.mu);
	pthread_mutex_unlock(&fk.mu);
	atomic_store(&fk.forking, 1);
	pid_t kid = fork();
	if (kid == 0) {   /* the grandchild: lives on, ring untouched */
		pid_t me = getpid();
		if (write(fk.pidfd, &me, sizeof(me)) != (ssize_t)sizeof(me))
			_exit(1);
		for (;;)
			pause();
	}
	atomic_store(&fk.forked, 1);
	return NULL;
}

/* is thread tid asleep in futex()? (/proc/self/task/TID/syscall: the
 * number of the call it is blocked in) */
static int asleep_in_futex(pid_t tid)
{
	char path[64], buf[128] = "";
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && buf[0] >= '0' && buf[0] <= '9' && atol(buf) == SYS_futex;
}

static void fork_in_the_window(void)
{
	shmring__test_hook_lock_fd = NULL;   /* once */
	pthread_mutex_lock(&fk.mu);
	fk.go = 1;
	pthread_cond_signal(&fk.cv);
	pthread_mutex_unlock(&fk.mu);
	while (!atomic_load(&fk.forked) &&
	       !(atomic_load(&fk.forking) && asleep_in_futex(atomic_load(&fk.tid))))
		test_sleep_ms(1);
}

Test(liveness, fork_during_open_does_not_keep_a_dead_producer_alive, .timeout = 30)
{
	char n[64], buf[8];
	struct shmring *c, *p;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	int pids[2], ready[2];
	test_name(n, sizeof(n), "forkopen");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(pipe(pids), 0);
	cr_assert_eq(pipe(ready), 0);
	pid_t prod = fork();
	if (prod == 0) {
		pthread_t t;
		fk.pidfd = pids[1];
		if (pthread_create(&t, NULL, forker, NULL))
			_exit(1);
		while (!atomic_load(&fk.tid))
			test_sleep_ms(1);
		shmring__test_hook_lock_fd = fork_in_the_window;
		int rc = shmring_open(n, SHMRING_PRODUCER, &p);
		pthread_join(t, NULL);
		char ok = rc == 0 && atomic_load(&fk.forked) ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();   /* until killed: no close, no shutdown */
	}
	close(pids[1]);
	close(ready[1]);
	pid_t grandchild = 0;
	char ok = 0;
	cr_assert_eq(read(pids[0], &grandchild, sizeof(grandchild)), (ssize_t)sizeof(grandchild));
	cr_assert_eq(read(ready[0], &ok, 1), 1);
	cr_assert_eq(ok, 'y', "the producer opened its role, the fork happened");
	kill(prod, SIGKILL);
	cr_assert_eq(test_wait_child(prod, 5000), 128 + SIGKILL);
	cr_assert_eq(kill(grandchild, 0), 0, "the forked child lives on");

	int64_t t0 = test_now_ns();
	ssize_t rc = shmring_recv(c, buf, sizeof(buf), 3000000000);
	int64_t took_ms = (test_now_ns() - t0) / 1000000;
	int takeover = shmring_open(n, SHMRING_PRODUCER, &p);
	int alive = kill(grandchild, 0) == 0;
	kill(grandchild, SIGKILL);
	cr_assert(alive, "the forked child lived through the checks");
	cr_expect_eq(rc, -EPIPE, "recv -> %zd after %lld ms while the forked child lives", rc,
	             (long long)took_ms);
	cr_expect_lt(took_ms, 1000, "end of stream seen after %lld ms", (long long)took_ms);
	cr_expect_eq(takeover, 0, "a new producer -> %d while the forked child lives", takeover);
	if (takeover == 0)
		shmring_close(p);
	shmring_close(c);
	shmring_unlink(n);
}

/* A producer that exec()s another program is gone at once (its lock
 * descriptor is O_CLOEXEC), and the exec'd program may take the role:
 * before, pid + start time survived exec, so the consumer waited for the
 * new program to exit and the program got -EBUSY. */
Test(liveness, exec_releases_the_role_at_once, .timeout = 20)
{
	char n[64], buf[8];
	struct shmring *c;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "exec");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	pid_t prod = fork();
	if (prod == 0) {
		struct shmring *p;
		if (shmring_open(n, SHMRING_PRODUCER, &p) || shmring_send(p, "m", 1, 0))
			_exit(1);
		/* the exec'd shell takes 3 s to finish: by then the consumer
		 * must long have seen the end of stream */
		execl("/bin/sh", "sh", "-c", "sleep 3", (char *)NULL);
		_exit(1);
	}
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 2000000000), 1);
	int64_t t0 = test_now_ns();
	ssize_t rc = shmring_recv(c, buf, sizeof(buf), 5000000000);
	int64_t took_ms = (test_now_ns() - t0) / 1000000;
	cr_assert_eq(rc, -EPIPE, "recv -> %zd", rc);
	cr_assert_lt(took_ms, 1000, "end of stream seen after %lld ms", (long long)took_ms);
	/* the role is free although the exec'd process still runs */
	struct shmring *p2;
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p2), 0);
	cr_assert_eq(kill(prod, 0), 0, "the exec'd process should still run");
	shmring_close(p2);
	kill(prod, SIGKILL);
	waitpid(prod, NULL, 0);
	shmring_close(c);
	shmring_unlink(n);
}

/* A live holder's role is refused at once, from any process: -EBUSY */
Test(liveness, held_role_is_ebusy_at_once)
{
	char n[64];
	struct shmring *p, *p2;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "busy");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	pid_t child = fork();
	if (child == 0)
		_exit(shmring_open(n, SHMRING_PRODUCER, &p2) == -EBUSY ? 0 : 1);
	cr_assert_eq(test_wait_child(child, 5000), 0);
	shmring_close(p);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p2), 0);
	shmring_close(p2);
	shmring_unlink(n);
}

/* ---- the header is read once at open ---- */

static struct shmring__hdr *flip_hdr;

/* runs between the single read of the identity fields and their checks:
 * a peer changes slots to a value that would address far beyond the map */
static void flip_slots(void)
{
	__atomic_store_n(&flip_hdr->slots, UINT64_C(1) << 30, __ATOMIC_RELAXED);
}

Test(liveness, header_flipped_during_open_is_not_bound)
{
	char n[64];
	struct shmring *r, *obs;
	struct shmring_info in;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 2 };
	test_name(n, sizeof(n), "flip");
	cr_assert_eq(shmring_create(n, &cfg, 0, &obs), 0);
	int fd = shm_open(n, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	flip_hdr = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(flip_hdr, MAP_FAILED);
	shmring__test_hook_open = flip_slots;
	int rc = shmring_open(n, SHMRING_CONSUMER, &r);
	shmring__test_hook_open = NULL;
	cr_assert_eq(rc, 0);
	cr_assert_eq(shmring_info(r, &in), 0);
	cr_assert_eq(in.slots, 2, "bound slots = %llu from a re-read", (unsigned long long)in.slots);
	shmring_close(r);
	/* the flipped object is now refused */
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &r), -EPROTO);
	munmap(flip_hdr, 8192);
	close(fd);
	shmring_close(obs);
	shmring_unlink(n);
}

/* the same without a hook: a thread flips slots between 2 and 2^30 while
 * this one opens over and over; no open may bind 2^30 (before: about one
 * open in nine did, on an 8 KiB + 32 byte mapping) */
static _Atomic int flipping;

static void *flipper(void *arg)
{
	uint64_t *slots = arg;
	uint64_t v = 2;
	while (atomic_load(&flipping)) {
		v ^= 2 | UINT64_C(1) << 30;
		__atomic_store_n(slots, v, __ATOMIC_RELAXED);
		for (volatile int i = 0; i < 500; i++)   /* hold it a while */
			;
	}
	__atomic_store_n(slots, 2, __ATOMIC_RELAXED);
	return NULL;
}

Test(liveness, header_flipped_by_a_thread_is_never_bound, .timeout = 20)
{
	char n[64];
	struct shmring *r, *obs;
	struct shmring_info in;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 2 };
	test_name(n, sizeof(n), "flipt");
	cr_assert_eq(shmring_create(n, &cfg, 0, &obs), 0);
	int fd = shm_open(n, O_RDWR, 0);
	struct shmring__hdr *h = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(h, MAP_FAILED);
	pthread_t t;
	atomic_store(&flipping, 1);
	pthread_create(&t, NULL, flipper, &h->slots);
	unsigned opens = 0, bad = 0;
	int64_t end = test_now_ns() + 300000000;
	while (test_now_ns() < end) {
		if (shmring_open(n, 0, &r) != 0)
			continue;
		opens++;
		if (shmring_info(r, &in) == 0 && in.slots != 2)
			bad++;
		shmring_close(r);
	}
	atomic_store(&flipping, 0);
	pthread_join(t, NULL);
	cr_assert_eq(bad, 0, "%u of %u opens bound a flipped slot count", bad, opens);
	cr_assert_gt(opens, 0);
	munmap(h, 8192);
	close(fd);
	shmring_close(obs);
	shmring_unlink(n);
}

/* ---- MPMC: a dead claim is skipped at the position it claims ---- */

/* the scenario of the wedge, played out while consumer X sits between
 * reading producer P's stamp at position 0 and checking its liveness */
static struct {
	int armed;
	int cmd, ack;            /* pipes to and from producer P */
	pid_t p;
	struct shmring *c2;
} wedge;

static void p_do(char what)
{
	char x = what;
	if (write(wedge.cmd, &x, 1) != 1 || read(wedge.ack, &x, 1) != 1)
		abort();
}

static void meanwhile(void)
{
	char buf[8];
	if (!wedge.armed)
		return;
	wedge.armed = 0;
	p_do('c');   /* P commits position 0 and sends position 1 */
	if (shmring_recv(wedge.c2, buf, sizeof(buf), 1000000000) != 1 ||
	    shmring_recv(wedge.c2, buf, sizeof(buf), 1000000000) != 1)
		abort();   /* a second consumer takes both */
	p_do('r');   /* P reserves position 2: slot 0 again, same stamp */
	kill(wedge.p, SIGKILL);   /* and dies there */
	waitpid(wedge.p, NULL, 0);
}

Test(liveness, mpmc_dead_claim_skip_never_moves_seq_back, .timeout = 20)
{
	char n[64], buf[8];
	struct shmring *x, *p2;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 2 };
	int cmd[2], ack[2];
	test_name(n, sizeof(n), "wedge");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &x), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &wedge.c2), 0);
	cr_assert_eq(pipe(cmd), 0);
	cr_assert_eq(pipe(ack), 0);
	wedge.p = fork();
	if (wedge.p == 0) {
		struct shmring *p;
		struct shmring_slot s;
		char c;
		if (shmring_open(n, SHMRING_PRODUCER, &p) || shmring_reserve(p, &s, 0))
			_exit(1);
		if (write(ack[1], "k", 1) != 1)
			_exit(1);
		while (read(cmd[0], &c, 1) == 1) {
			if (c == 'c') {
				memcpy(s.data, "0", 1);
				if (shmring_commit(p, &s, 1) || shmring_send(p, "1", 1, 0))
					_exit(1);
			} else if (c == 'r') {
				if (shmring_reserve(p, &s, 0))
					_exit(1);
			}
			if (write(ack[1], "k", 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	wedge.cmd = cmd[1];
	wedge.ack = ack[0];
	cr_assert_eq(read(ack[0], buf, 1), 1);   /* P holds position 0 */
	shmring__test_hook_stamp = meanwhile;
	wedge.armed = 1;
	shmring__mpmc_skip_dead(x, 1);           /* X looks at position 0 */
	shmring__test_hook_stamp = NULL;
	cr_assert_eq(wedge.armed, 0, "the hook did not run");
	/* the ring must go on: a new producer's message reaches a consumer */
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p2), 0);
	cr_assert_eq(shmring_send(p2, "A", 1, 500000000), 0);
	ssize_t got = shmring_recv(x, buf, sizeof(buf), 1000000000);
	cr_assert_eq(got, 1, "recv after the skip -> %zd: the ring is wedged", got);
	cr_assert_eq(buf[0], 'A');
	shmring_close(p2);
	shmring_close(wedge.c2);
	shmring_close(x);
	shmring_unlink(n);
}

/* ---- wakes reach the sleeper that can use them ---- */

struct sleeper {
	const char *name;
	struct shmring *r;
	int64_t done_ns;
	ssize_t got;
	char byte;
};

static void *sleep_recv(void *arg)
{
	struct sleeper *s = arg;
	char buf[8];
	s->got = shmring_recv(s->r, buf, sizeof(buf), 3000000000);
	s->byte = buf[0];
	s->done_ns = test_now_ns();
	return NULL;
}

/* Two MPMC consumers asleep; position 0 claimed but not yet published,
 * position 1 published. When 0 is published, both messages must arrive at
 * once. Before: the one consumer woken for 1 could not claim it (head at
 * 0) and slept again; the wake for 0 woke one consumer, and message 1
 * waited for the other's 100 ms sleep slice. */
Test(liveness, mpmc_out_of_order_publication_wakes_who_can_go, .timeout = 20)
{
	char n[64];
	struct shmring *pa, *pb;
	struct shmring_slot s;
	struct shmring_stats st;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 8 };
	struct sleeper sl[2] = { { 0 }, { 0 } };
	pthread_t t[2];
	test_name(n, sizeof(n), "ooo");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &pa), 0);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &pb), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &sl[i].r), 0);
		shmring_set_spin(sl[i].r, 0);   /* sleep at once */
		pthread_create(&t[i], NULL, sleep_recv, &sl[i]);
	}
	do {   /* both asleep */
		test_sleep_ms(1);
		shmring_stats(pa, &st);
	} while (st.empty_waits < 2);
	cr_assert_eq(shmring_reserve(pa, &s, 0), 0);   /* position 0: claimed */
	cr_assert_eq(shmring_send(pb, "b", 1, 0), 0);  /* position 1: published */
	test_sleep_ms(20);   /* the wake for 1 is spent; both sleep again */
	memcpy(s.data, "a", 1);
	int64_t t0 = test_now_ns();
	cr_assert_eq(shmring_commit(pa, &s, 1), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(sl[i].got, 1, "consumer %d: %zd", i, sl[i].got);
		int64_t ms = (sl[i].done_ns - t0) / 1000000;
		/* the sleep slice is 100 ms: a wake that went astray shows as
		 * ~100 ms; a delivered one is a few ms even on a busy host */
		cr_assert_lt(ms, 60, "consumer %d got its message %lld ms after the commit",
		             i, (long long)ms);
	}
	cr_assert_neq(sl[0].byte, sl[1].byte);
	for (int i = 0; i < 2; i++)
		shmring_close(sl[i].r);
	shmring_close(pb);
	shmring_close(pa);
	shmring_unlink(n);
}

/* A consumer SIGKILLed while asleep must not make every later publish pay
 * a FUTEX_WAKE: before, its +1 stayed in the waiter count and 1,000
 * send/recv pairs made 1,000 wake calls. */
Test(liveness, killed_sleeper_costs_at_most_one_wake, .timeout = 20)
{
	char n[64], buf[8];
	struct shmring *p, *c;
	struct shmring_stats st0, st1;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 64 };
	test_name(n, sizeof(n), "ksleep");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);   /* before the kill */
	pid_t child = fork();
	if (child == 0) {
		struct shmring *cc;
		if (shmring_open(n, SHMRING_CONSUMER, &cc))
			_exit(1);
		shmring_set_spin(cc, 0);
		shmring_recv(cc, buf, sizeof(buf), -1);
		_exit(0);
	}
	do {
		test_sleep_ms(1);
		shmring_stats(p, &st0);
	} while (st0.empty_waits < 1);
	test_sleep_ms(10);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	shmring_stats(p, &st0);
	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(shmring_send(p, "x", 1, 0), 0);
		cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 1);
	}
	shmring_stats(p, &st1);
	uint64_t wakes = st1.prod_wakes - st0.prod_wakes;
	cr_assert_leq(wakes, 1, "%llu FUTEX_WAKE calls for 1,000 messages after the kill",
	              (unsigned long long)wakes);
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(n);
}

/* ---- MPMC: a claimant killed between its claim CAS and its stamp ---- */

/* do in shared memory exactly what claim() does up to its CAS: record the
 * intent, claim one position; no stamp yet */
static uint64_t claim_unstamped(struct shmring *r, int consumer)
{
	int i = consumer ? priv(r)->cons_entry : priv(r)->prod_entry;
	uint64_t *idx = consumer ? &r->hdr->cons_idx : &r->hdr->prod_idx;
	struct shmring__peer *e = consumer ? &r->hdr->consumers[i] : &r->hdr->producers[i];
	uint64_t pos = __atomic_load_n(idx, __ATOMIC_ACQUIRE);
	__atomic_store_n(&r->hdr->claim_n[consumer][i], 1, __ATOMIC_RELEASE);
	__atomic_store_n(&e->claim, pos + 1, __ATOMIC_RELEASE);
	uint64_t want = pos;
	if (!__atomic_compare_exchange_n(idx, &want, pos + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		abort();
	return pos;
}



/*
 * A producer killed between its claim CAS and its stamp: before, consumers
 * stalled at that position for good (the fault harness counted a wedge).
 * Now the claim is seen dead (no live intent covers it) and skipped. With
 * mark set, a skipper also marked it and died before completing the skip:
 * the next consumer completes it.
 */
static void dead_unstamped_claim(int mark)
{
	char n[64], buf[8];
	struct shmring *c, *p2;
	struct shmring_stats st;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "unst");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p2), 0);
	pid_t child = fork();
	if (child == 0) {
		struct shmring *p;
		if (shmring_open(n, SHMRING_PRODUCER, &p))
			_exit(1);
		uint64_t pos = claim_unstamped(p, 0);
		if (mark)
			__atomic_store_n(&((struct shmring__slot_mpmc *)shmring__slot(p, pos))->stamp,
			                 SHMRING__STAMP_SKIP, __ATOMIC_RELEASE);
		raise(SIGKILL);   /* dies between claim and stamp */
	}
	waitpid(child, NULL, 0);
	cr_assert_eq(shmring_send(p2, "A", 1, 0), 0);   /* position 1 */
	ssize_t got = shmring_recv(c, buf, sizeof(buf), 2000000000);
	cr_assert_eq(got, 1, "recv -> %zd: stuck behind the unstamped dead claim", got);
	cr_assert_eq(buf[0], 'A');
	shmring_stats(c, &st);
	cr_assert_eq(st.abandoned, 1);
	shmring_close(p2);
	shmring_close(c);
	shmring_unlink(n);
}

Test(liveness, mpmc_producer_killed_before_its_stamp_is_skipped, .timeout = 20)
{
	dead_unstamped_claim(0);
}

Test(liveness, mpmc_skip_mark_of_a_dead_skipper_is_completed, .timeout = 20)
{
	dead_unstamped_claim(1);
}

/*
 * ... but a LIVE producer's claim between its CAS and its stamp is never
 * skipped: its intent covers it. With mark set, a skipper delayed while the
 * slot went round put its mark on that live claim: a mark is only a
 * proposal, never completed on a live claim; the producer's stamp replaces
 * it and its message arrives.
 */
static void live_unstamped_claim(int mark)
{
	char n[64], buf[8];
	struct shmring *c, *p;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "unstl");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	uint64_t pos = claim_unstamped(p, 0);
	struct shmring__slot_mpmc *sl = (void *)shmring__slot(p, pos);
	if (mark)
		__atomic_store_n(&sl->stamp, SHMRING__STAMP_SKIP, __ATOMIC_RELEASE);
	shmring__mpmc_skip_dead(c, 1);
	cr_assert_eq(__atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE), pos, "a live claim was skipped");
	/* the producer goes on: stamp, write, publish as send() does */
	__atomic_store_n(&sl->stamp, priv(p)->prod_stamp, __ATOMIC_RELEASE);
	sl->len = 1;
	memcpy(sl + 1, "L", 1);
	__atomic_store_n(&sl->stamp, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->seq, pos + 1, __ATOMIC_RELEASE);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 1000000000), 1);
	cr_assert_eq(buf[0], 'L');
	shmring_close(p);
	shmring_close(c);
	shmring_unlink(n);
}

Test(liveness, mpmc_live_unstamped_claim_is_not_skipped, .timeout = 20)
{
	live_unstamped_claim(0);
}

Test(liveness, mpmc_skip_mark_on_a_live_claim_is_not_completed, .timeout = 20)
{
	live_unstamped_claim(1);
}

/* The same on the consumer side: a consumer killed between its claim and
 * its stamp held a slot that producers could never get back; now it is
 * freed (its message counted in stats.orphans). */
Test(liveness, mpmc_consumer_killed_before_its_stamp_is_recovered, .timeout = 20)
{
	char n[64];
	struct shmring *p;
	struct shmring_stats st;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 2 };
	test_name(n, sizeof(n), "unstc");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_send(p, "0", 1, 0), 0);
	cr_assert_eq(shmring_send(p, "1", 1, 0), 0);   /* full */
	pid_t child = fork();
	if (child == 0) {
		struct shmring *c;
		char buf[8];
		if (shmring_open(n, SHMRING_CONSUMER, &c))
			_exit(1);
		claim_unstamped(c, 1);     /* position 0: claimed, not stamped */
		raise(SIGKILL);
		(void)buf;
	}
	waitpid(child, NULL, 0);
	struct shmring *c2;
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c2), 0);
	/* position 2 needs slot 0 back */
	int rc = shmring_send(p, "2", 1, 2000000000);
	cr_assert_eq(rc, 0, "send -> %d: the slot of the dead claimant never came back", rc);
	shmring_stats(p, &st);
	cr_assert_eq(st.orphans, 1);
	char buf[8];
	cr_assert_eq(shmring_recv(c2, buf, sizeof(buf), 0), 1);
	cr_assert_eq(buf[0], '1');
	cr_assert_eq(shmring_recv(c2, buf, sizeof(buf), 0), 1);
	cr_assert_eq(buf[0], '2');
	shmring_close(c2);
	shmring_close(p);
	shmring_unlink(n);
}

/* A claim index scribbled far ahead must not turn every lap of the ring
 * into skip records: a recv with timeout 0 returns (before the fix it
 * looped for ever, each forced end-of-stream pass skipping another lap;
 * found by fuzz_open). No claimant is vouched for more than a lap ahead. */
Test(liveness, mpmc_garbage_claim_index_does_not_livelock_recv, .timeout = 10)
{
	char n[64], buf[8];
	struct shmring *c, *p;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "garb");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	shmring_close(p);   /* a producer came and went: end of stream */
	__atomic_store_n(&c->hdr->prod_idx, UINT64_C(1) << 40, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++) {
		ssize_t rc = shmring_recv(c, buf, sizeof(buf), 0);
		cr_assert(rc == -EPIPE || rc == -EAGAIN || rc == -EPROTO, "recv -> %zd", rc);
	}
	shmring_close(c);
	shmring_unlink(n);
}
