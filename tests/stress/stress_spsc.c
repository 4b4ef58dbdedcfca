/* SPDX-License-Identifier: MIT */
/* stress_spsc.c - SPSC 1x1 across two processes, every API family mixed at
 * random, blocking waits on a small ring; then with slots of 64 bytes
 * (recv_burst reads those by the producer's index, with its look-ahead:
 * spsc.c); then on a packed ring (SHMRING_PACKED).
 * Usage: stress_spsc [-s seed] [-t s] (each ring) */
#include <stdio.h>
#include "stress.h"

int main(int argc, char **argv)
{
	uint64_t seed = stress_seed_default();
	double secs = 3;
	struct st_result res;

	if (stress_args(argc, argv, &seed, &secs, NULL))
		return 2;
	struct st_cfg cfg = {
		.tag = "stress-spsc", .kind = SHMRING_SPSC, .nprod = 1, .ncons = 1,
		.slot_size = 200, .slots = 64, .seconds = secs,
		.timeout_ns = 200000000, .seed = seed,
	};
	int failed = stress_run(&cfg, &res) != 0;
	cfg.tag = "stress-spsc-64";
	cfg.slot_size = 64;
	cfg.seed = seed + 2;
	failed |= stress_run(&cfg, &res) != 0;
	cfg.slot_size = 200;
	/* the same mix through a packed ring of as many bytes (messages of
	 * any length, padding at the wrap) */
	cfg.tag = "stress-spsc-packed";
	cfg.flags = SHMRING_PACKED;
	cfg.seed = seed + 1;
	failed |= stress_run(&cfg, &res) != 0;
	return failed;
}
