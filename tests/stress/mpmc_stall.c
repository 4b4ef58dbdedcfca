/* SPDX-License-Identifier: MIT */
/*
 * mpmc_stall.c - measured facts about MPMC rings and dead processes (layout
 * version 1), each shown with timeouts, never an unbounded wait:
 *
 *  A. a producer SIGKILLed between claiming a slot (reserve) and publishing
 *     it (commit), with a message published after it by a live producer:
 *     the consumer must skip the dead claim (its stamp names a dead
 *     attachment), deliver that message, and get end of stream once the live
 *     producer has closed; the dead claim is never delivered
 *     (stats.abandoned counts it). Without recovery the consumer stalls;
 *  B. a consumer SIGKILLed between claiming a slot (acquire) and releasing
 *     it: once the ring wraps to that slot, a producer must free it (stamp
 *     of a dead attachment, stats.orphans) instead of stalling;
 *  C. recv with a timeout on a contended MPMC ring: a consumer that is woken
 *     but loses the claim to another consumer must not start a fresh timeout
 *     (one deadline per call);
 *  D. for contrast, SPSC: a consumer SIGKILLed between acquire and release;
 *     the replacement consumer reads that message again (at-least-once).
 *
 * Prints one line per fact; exits 0 when the run itself worked (the facts
 * are what they are), 1 on a harness error.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "stress.h"

static char name[80];

static int mk(uint64_t slots, struct shmring **cr)
{
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 64, .slots = slots };
	shmring_unlink(name);
	return shmring_create(name, &cfg, 0, cr);
}

static void demo_producer_kill(void)
{
	struct shmring *cr, *p2, *c;
	char buf[64];
	int pipefd[2];

	snprintf(name, sizeof(name), "/shmring-stress-stall-a-%d", (int)getpid());
	if (mk(8, &cr) || pipe(pipefd)) {
		printf("mpmc-stall A: setup failed\n");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		struct shmring *p;
		struct shmring_slot s;
		if (shmring_open(name, SHMRING_PRODUCER, &p) || shmring_reserve(&*p, &s, 0))
			_exit(1);
		memcpy(s.data, "never committed", 16);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		pause();   /* killed here: claimed, not published */
		_exit(0);
	}
	char x;
	if (read(pipefd[0], &x, 1) != 1) {
		printf("mpmc-stall A: child failed\n");
		return;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	shmring_open(name, SHMRING_PRODUCER, &p2);
	shmring_open(name, SHMRING_CONSUMER, &c);
	const char live[] = "after the dead claim";
	int s1 = shmring_send(p2, live, sizeof(live) - 1, 0);
	int64_t t0 = stress_now_ns();
	ssize_t r1 = shmring_recv(c, buf, sizeof(buf), 1000000000);
	double waited = (double)(stress_now_ns() - t0) / 1e9;
	int got_live = r1 == (ssize_t)(sizeof(live) - 1) && !memcmp(buf, live, sizeof(live) - 1);
	struct shmring_info info;
	shmring_info(c, &info);
	/* the live producer leaves: end of stream must follow, and nothing else
	 * (the dead claim is never delivered) */
	shmring_close(p2);
	ssize_t r2 = shmring_recv(c, buf, sizeof(buf), 1000000000);
	struct shmring_stats st = { 0 };
	shmring_stats(c, &st);
	const char *verdict = got_live && r2 == -EPIPE && st.abandoned == 1
	                      ? "recovered (dead claim skipped, published message delivered, EOF follows)"
	                      : r1 < 0 ? "STALLED at the dead claim"
	                      : !got_live ? "WRONG MESSAGE (the dead claim was delivered?)"
	                      : r2 != -EPIPE ? "NO END OF STREAM after the message"
	                      : "abandoned count wrong";
	printf("mpmc-stall A (producer killed between claim and publish): send after it %s; "
	       "consumer recv(1 s) -> %s after %.2f s (prod_idx %" PRIu64 ", cons_idx %" PRIu64
	       "); after the live producer closed: recv -> %s; abandoned=%" PRIu64 ": %s\n",
	       s1 == 0 ? "ok" : shmring_strerror(s1),
	       got_live ? "the published message" : r1 >= 0 ? "another message"
	                                                    : shmring_strerror((int)r1),
	       waited, info.prod_idx, info.cons_idx,
	       r2 >= 0 ? "a message" : r2 == -EPIPE ? "end of stream" : shmring_strerror((int)r2),
	       st.abandoned, verdict);
	shmring_close(c);
	shmring_close(cr);
	shmring_unlink(name);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void demo_consumer_kill(void)
{
	struct shmring *cr, *p, *c2;
	char buf[64];
	int pipefd[2];
	const uint64_t slots = 4;

	snprintf(name, sizeof(name), "/shmring-stress-stall-b-%d", (int)getpid());
	if (mk(slots, &cr) || pipe(pipefd) || shmring_open(name, SHMRING_PRODUCER, &p)) {
		printf("mpmc-stall B: setup failed\n");
		return;
	}
	shmring_send(p, "held by the dead", 16, 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmring *c;
		struct shmring_slot s;
		if (shmring_open(name, SHMRING_CONSUMER, &c) || shmring_acquire(c, &s, 0))
			_exit(1);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		pause();   /* killed here: claimed, not released */
		_exit(0);
	}
	char x;
	if (read(pipefd[0], &x, 1) != 1) {
		printf("mpmc-stall B: child failed\n");
		return;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	shmring_open(name, SHMRING_CONSUMER, &c2);
	/* a live consumer drains everything; the producer still stalls after
	 * slots - 1 more messages */
	unsigned sent = 0;
	int rc = 0;
	int64_t t0 = 0;
	for (unsigned i = 0; i < 2 * slots; i++) {
		t0 = stress_now_ns();
		rc = shmring_send(p, "m", 1, 500000000);
		if (rc)
			break;
		sent++;
		while (shmring_recv(c2, buf, sizeof(buf), 0) >= 0)
			;
	}
	double waited = (double)(stress_now_ns() - t0) / 1e9;
	printf("mpmc-stall B (consumer killed between acquire and release, %" PRIu64 " slots): "
	       "%u sends ok, then send(500 ms) -> %s after %.2f s with the ring empty: %s\n",
	       slots, sent, rc ? shmring_strerror(rc) : "ok", waited,
	       rc ? "STALLED (dead consumer's slot is never released)" : "recovered");
	shmring_close(c2);
	shmring_close(p);
	shmring_close(cr);
	shmring_unlink(name);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* C: three polling consumers, recv(timeout 5 ms) each, one producer sending
 * a message every 1 ms for 2 s: longest single recv call */
static void demo_timeout(void)
{
	struct shmring *cr;
	_Atomic int64_t *worst = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const int64_t T = 5000000;

	snprintf(name, sizeof(name), "/shmring-stress-stall-c-%d", (int)getpid());
	if (worst == MAP_FAILED || mk(64, &cr)) {
		printf("mpmc-stall C: setup failed\n");
		return;
	}
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct shmring *c;
			char buf[64];
			if (shmring_open(name, SHMRING_CONSUMER, &c))
				_exit(1);
			shmring_set_spin(c, -1);   /* polling: every consumer sees each message */
			for (;;) {
				int64_t t0 = stress_now_ns();
				ssize_t n = shmring_recv(c, buf, sizeof(buf), T);
				int64_t d = stress_now_ns() - t0;
				if (d > atomic_load(&worst[i]))
					atomic_store(&worst[i], d);
				if (d > 2 * T)
					atomic_fetch_add(&worst[8], 1);
				atomic_fetch_add(&worst[9], 1);
				if (n == -EPIPE)
					_exit(0);
			}
		}
	}
	struct shmring *p;
	if (shmring_open(name, SHMRING_PRODUCER, &p) == 0) {
		int64_t end = stress_now_ns() + 2000000000;
		while (stress_now_ns() < end) {
			shmring_send(p, "tick", 4, 0);
			usleep(1000);
		}
		shmring_close(p);
	}
	for (int i = 0; i < 3; i++)
		waitpid(kids[i], NULL, 0);
	int64_t w = 0;
	for (int i = 0; i < 3; i++)
		if (worst[i] > w)
			w = worst[i];
	printf("mpmc-stall C (3 consumers, polling, recv timeout 5 ms, a message every 1 ms): "
	       "longest recv %.1f ms; %" PRId64 " of %" PRId64 " calls took more than 2x their "
	       "timeout: %s\n", (double)w / 1e6, worst[8], worst[9],
	       w > 3 * T ? "TIMEOUT NOT A DEADLINE (the wait restarts after a lost claim)"
	                 : "within bounds");
	shmring_close(cr);
	shmring_unlink(name);
	munmap((void *)worst, 4096);
}

/* D (SPSC, for contrast): a consumer killed between acquire and release;
 * its replacement takes the role over and reads the same message again */
static void demo_spsc_acquire_kill(void)
{
	struct shmring *cr, *p, *c2;
	char buf[64];
	int pipefd[2];
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 64, .slots = 4 };

	snprintf(name, sizeof(name), "/shmring-stress-stall-d-%d", (int)getpid());
	shmring_unlink(name);
	if (shmring_create(name, &cfg, 0, &cr) || pipe(pipefd) ||
	    shmring_open(name, SHMRING_PRODUCER, &p)) {
		printf("spsc-redelivery D: setup failed\n");
		return;
	}
	shmring_send(p, "first", 5, 0);
	shmring_send(p, "second", 6, 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmring *c;
		struct shmring_slot s;
		if (shmring_open(name, SHMRING_CONSUMER, &c) || shmring_acquire(c, &s, 0))
			_exit(1);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		pause();   /* killed here: acquired "first", not released */
		_exit(0);
	}
	char x;
	if (read(pipefd[0], &x, 1) != 1) {
		printf("spsc-redelivery D: child failed\n");
		return;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	int rc = shmring_open(name, SHMRING_CONSUMER, &c2);
	ssize_t n = rc ? rc : shmring_recv(c2, buf, sizeof(buf), 100000000);
	printf("spsc-redelivery D (SPSC consumer killed between acquire and release): "
	       "replacement open -> %s, first recv -> %s: %s\n",
	       rc ? shmring_strerror(rc) : "ok",
	       n == 5 && !memcmp(buf, "first", 5) ? "\"first\"" : n >= 0 ? "another message" : shmring_strerror((int)n),
	       n == 5 && !memcmp(buf, "first", 5) ? "REDELIVERED (at-least-once for acquire/release)"
	                                          : "not redelivered");
	if (!rc)
		shmring_close(c2);
	shmring_close(p);
	shmring_close(cr);
	shmring_unlink(name);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	demo_producer_kill();
	demo_consumer_kill();
	demo_timeout();
	demo_spsc_acquire_kill();
	return 0;
}
