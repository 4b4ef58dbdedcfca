/* SPDX-License-Identifier: MIT */
/*
 * stress_threads.c - the stress with threads of one process sharing a ring
 * (SPSC 1x1, packed SPSC 1x1, MPMC 2x2), for ThreadSanitizer. Every thread has its own handle
 * but all handles are pointed at one mapping (see share_map() in
 * stress_worker.c), so TSan sees every access at one address.
 * Usage: stress_threads [-s seed] [-t seconds per ring]
 */
#include <stdio.h>
#include "stress.h"

int main(int argc, char **argv)
{
	uint64_t seed = stress_seed_default();
	double secs = 3;
	struct st_result res;
	int failed = 0;

	if (stress_args(argc, argv, &seed, &secs, NULL))
		return 2;
	struct st_cfg spsc = {
		.tag = "threads-spsc", .kind = SHMRING_SPSC, .nprod = 1, .ncons = 1,
		.slot_size = 200, .slots = 64, .seconds = secs, .threads = 1,
		.timeout_ns = 200000000, .seed = seed,
	};
	failed |= stress_run(&spsc, &res) != 0;
	struct st_cfg packed = spsc;   /* variable-length records, padding at the wrap */
	packed.tag = "threads-spsc-packed";
	packed.flags = SHMRING_PACKED;
	packed.slots = 16;
	packed.seed = seed + 2;
	failed |= stress_run(&packed, &res) != 0;
	struct st_cfg mpmc = spsc;
	mpmc.tag = "threads-mpmc-2x2";
	mpmc.kind = SHMRING_MPMC;
	mpmc.nprod = mpmc.ncons = 2;
	mpmc.slots = 32;
	mpmc.seed = seed + 1;
	failed |= stress_run(&mpmc, &res) != 0;
	return failed;
}
