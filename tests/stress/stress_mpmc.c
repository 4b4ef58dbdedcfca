/* SPDX-License-Identifier: MIT */
/*
 * stress_mpmc.c - the MPMC P x C matrix, P and C in {1, 2, 4}, as processes
 * (oversubscribed on small machines), blocking waits, every API family mixed
 * at random. -t is the time per cell. Usage: stress_mpmc [-s seed] [-t s]
 */
#include <stdio.h>
#include "stress.h"

int main(int argc, char **argv)
{
	static const unsigned n[] = { 1, 2, 4 };
	uint64_t seed = stress_seed_default();
	double secs = 1.5;
	int failed = 0;

	if (stress_args(argc, argv, &seed, &secs, NULL))
		return 2;
	for (unsigned i = 0; i < 3; i++)
		for (unsigned j = 0; j < 3; j++) {
			char tag[32];
			struct st_result res;
			snprintf(tag, sizeof(tag), "stress-mpmc-%ux%u", n[i], n[j]);
			struct st_cfg cfg = {
				.tag = tag, .kind = SHMRING_MPMC, .nprod = n[i], .ncons = n[j],
				.slot_size = 200, .slots = 32, .seconds = secs,
				.timeout_ns = 200000000, .seed = seed + i * 3 + j,
			};
			failed |= stress_run(&cfg, &res) != 0;
		}
	return failed;
}
