/* SPDX-License-Identifier: MIT */
/*
 * stress_fault.c - kill -9 fault injection. Workers are SIGKILLed at random
 * moments (a random pause before each kill; no hook in the library) and
 * replaced at once:
 *   SPSC 1x1: producers and consumers are killed; the replacement takes the
 *             dead holder's role over (pid liveness); slots of 200 bytes,
 *             then of 64;
 *   MPMC 2x2: producers and consumers are killed; new ones attach into free
 *             or dead registry entries. A dead producer's stamped claim is
 *             skipped by the consumers (stats.abandoned), a dead consumer's
 *             stamped claim is freed by the producers (stats.orphans); a
 *             process killed between its claim CAS and its stamp store wedges
 *             the ring (counted as wedged=, the round ends, the next one
 *             starts on a fresh ring).
 * -k is the number of kills per ring kind (at least; default 60).
 * Usage: stress_fault [-s seed] [-t s] [-k kills]
 */
#include <stdio.h>
#include "stress.h"

int main(int argc, char **argv)
{
	uint64_t seed = stress_seed_default();
	double secs = 2;
	unsigned kills = 60;
	struct st_result res;
	int failed = 0;

	if (stress_args(argc, argv, &seed, &secs, &kills))
		return 2;
	struct st_cfg spsc = {
		.tag = "fault-spsc", .kind = SHMRING_SPSC, .nprod = 1, .ncons = 1,
		.slot_size = 200, .slots = 64, .seconds = secs, .kill_prod = 1,
		.kill_cons = 1, .min_kills = kills, .max_gap_us = 20000,
		.timeout_ns = 200000000, .seed = seed,
	};
	failed |= stress_run(&spsc, &res) != 0;
	/* slots of up to 128 bytes: recv_burst reads by the producer's index
	 * (spsc.c), a killed producer's sealed, unindexed messages by their seals */
	spsc.tag = "fault-spsc-64";
	spsc.slot_size = 64;
	spsc.seed = seed + 2;
	failed |= stress_run(&spsc, &res) != 0;
	struct st_cfg mpmc = {
		.tag = "fault-mpmc", .kind = SHMRING_MPMC, .nprod = 2, .ncons = 2,
		.slot_size = 200, .slots = 64, .seconds = secs, .kill_prod = 1,
		.kill_cons = 1, .min_kills = kills, .max_gap_us = 20000, .timeout_ns = 200000000,
		.seed = seed + 1,
	};
	/* a wedge (a dead process's unstamped claim) ends a round early: go on
	 * with fresh rings until the kills are done */
	struct st_result all = { 0 };
	int64_t t0 = stress_now_ns();
	do {
		mpmc.quiet = 1;
		mpmc.min_kills = kills - (unsigned)all.kills;
		failed |= stress_run(&mpmc, &res) != 0;
		stress_merge(&all, &res);
		mpmc.seed += 1000;
	} while (!all.failed && all.kills < kills && stress_now_ns() - t0 < (int64_t)(secs * 8e9));
	mpmc.seed = seed + 1;
	stress_verdict("fault-mpmc", &mpmc, &all, (double)(stress_now_ns() - t0) / 1e9);
	return failed;
}
