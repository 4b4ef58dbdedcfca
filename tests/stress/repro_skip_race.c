/* SPDX-License-Identifier: MIT */
/*
 * repro_skip_race.c - reproducer for a library bug in
 * shmring__mpmc_skip_dead() (src/mpmc.c); not part of make test-stress.
 *
 * A consumer that decides a dead producer's claim must be skipped writes
 * len = SHMRING__LEN_SKIP and owner = 0 into the slot BEFORE the CAS on seq
 * that makes its decision exclusive. If it is delayed between its checks
 * (seq == pos, a dead stamp) and those stores, another consumer may skip
 * the slot in the meantime, the ring may go on, and a live producer may
 * claim and publish the same slot one lap later. The late stores then
 * overwrite that live message's length with LEN_SKIP (the CAS fails, but
 * the damage is done) and consumers drop the message silently: a message
 * whose send returned 0 is lost (and a consumer claim stamp in that slot
 * could be wiped the same way, disabling orphan recovery).
 *
 * The delay is made deterministic here: the library's test hook
 * shmring__test_hook_stamp (src/mpmc.c) runs inside stamp_dead(), between
 * reading the slot's stamp and asking the kernel whether its attachment
 * lives, i.e. exactly between the checks and the stores; in the delayed
 * consumer's thread it blocks on a pipe. Real processes get the same
 * window from preemption.
 *
 * Build and run: make test-stress (build/stress/repro_skip_race).
 * Prints "BUG REPRODUCED" (exit 1) or "not reproduced" (exit 0), then a
 * verdict line "skip-race: PASS|FAIL" for tests/stress/run.sh. Part of
 * make test-stress since the fix (take the slot by CAS on the dead stamp
 * before writing the skip length).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <shmring.h>

extern void (*shmring__test_hook_stamp)(void);   /* src/mpmc.c, test-only */

static _Thread_local int delay_me;       /* set in the delayed consumer only */
static pid_t dead_pid;
static int gate[2], entered[2];

static void hold_in_liveness_check(void)
{
	if (delay_me) {
		char x = 'x';
		delay_me = 0;
		if (write(entered[1], &x, 1) != 1 || read(gate[0], &x, 1) != 1)
			abort();
	}
}

static const char *name = "/shmring-repro-skip-race";
static char got_x[64];
static ssize_t n_x;

static void *delayed_consumer(void *arg)
{
	struct shmring *c = arg;
	shmring_set_spin(c, 0);   /* wait at once: skip_dead runs on the first check */
	delay_me = 1;
	n_x = shmring_recv(c, got_x, sizeof(got_x), 1000000000);
	return NULL;
}

int main(void)
{
	struct shmring *cr, *p2, *cx, *c2;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 64, .slots = 4 };
	int ready[2];
	char buf[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	shmring__test_hook_stamp = hold_in_liveness_check;
	shmring_unlink(name);
	if (shmring_create(name, &cfg, 0, &cr) || pipe(gate) || pipe(entered) || pipe(ready))
		return 2;
	/* 1. a producer claims position 0 (reserve: stamped) and is killed */
	dead_pid = fork();
	if (dead_pid == 0) {
		struct shmring *p;
		struct shmring_slot s;
		if (shmring_open(name, SHMRING_PRODUCER, &p) || shmring_reserve(p, &s, 0))
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char x;
	if (read(ready[0], &x, 1) != 1)
		return 2;
	kill(dead_pid, SIGKILL);
	waitpid(dead_pid, NULL, 0);

	/* 2. consumer X finds the dead claim and is delayed inside stamp_dead() */
	if (shmring_open(name, SHMRING_CONSUMER, &cx))
		return 2;
	pthread_t t;
	pthread_create(&t, NULL, delayed_consumer, cx);
	if (read(entered[0], &x, 1) != 1)
		return 2;
	/* (opened only now: a new producer takes the dead one's registry entry
	 * over, after which X would see the stamp dead by its generation alone) */
	if (shmring_open(name, SHMRING_CONSUMER, &c2) || shmring_open(name, SHMRING_PRODUCER, &p2))
		return 2;

	/* 3. meanwhile consumer 2 skips position 0 and the ring goes on: the
	 *    live producer's "D" (position 4) lands in slot 0 */
	int rc = shmring_send(p2, "A", 1, 0);
	ssize_t n = shmring_recv(c2, buf, sizeof(buf), 1000000000);
	printf("send A -> %d; consumer 2 recv -> %zd (%.*s)\n", rc, n, n > 0 ? (int)n : 0, buf);
	int sd = 0;
	sd |= shmring_send(p2, "B", 1, 0);
	sd |= shmring_send(p2, "C", 1, 0);
	sd |= shmring_send(p2, "D", 1, 0);
	printf("send B, C, D (D is position 4, slot 0) -> %d\n", sd);

	/* 4. X resumes: its late stores hit the live message in slot 0 */
	if (write(gate[1], "x", 1) != 1)
		return 2;
	pthread_join(t, NULL);
	char seen[8] = "";
	size_t ns = 0;
	if (n_x > 0)
		seen[ns++] = got_x[0];
	for (;;) {
		n = shmring_recv(c2, buf, sizeof(buf), 200000000);
		if (n < 0)
			break;
		if (n > 0 && ns < sizeof(seen) - 1)
			seen[ns++] = buf[0];
	}
	struct shmring_stats st;
	shmring_stats(c2, &st);
	int lost = !memchr(seen, 'D', ns);
	printf("after X resumed: received B..D as \"%s\" (X: %zd), then %s; abandoned=%" PRIu64
	       " -> %s\n", seen, n_x, shmring_strerror((int)n), st.abandoned,
	       lost ? "BUG REPRODUCED: \"D\" (send returned 0) was dropped as a skip record"
	            : "not reproduced");
	printf("skip-race: %s (a consumer held inside its liveness check while the slot\n"
	       "  is skipped by another and reused by a live producer must not clobber it)\n",
	       lost ? "FAIL" : "PASS");
	shmring_close(p2);
	shmring_close(c2);
	shmring_close(cx);
	shmring_close(cr);
	shmring_unlink(name);
	return lost;
}
