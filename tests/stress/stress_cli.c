/* SPDX-License-Identifier: MIT */
/*
 * stress_cli.c - what every driver shares outside a round: the monotonic
 * clock, a sleep that survives signals, the default seed and the common
 * command line (-s seed -t seconds -k kills).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "stress_internal.h"

int64_t stress_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t stress_seed_default(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return st_mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid());
}

void st_sleep_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int stress_args(int argc, char **argv, uint64_t *seed, double *seconds, unsigned *kills)
{
	int c;
	while ((c = getopt(argc, argv, "s:t:k:")) != -1) {
		switch (c) {
		case 's': *seed = strtoull(optarg, NULL, 0); break;
		case 't': *seconds = atof(optarg); break;
		case 'k': if (kills) *kills = (unsigned)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: %s [-s seed] [-t seconds] [-k kills]\n", argv[0]);
			return -1;
		}
	}
	return 0;
}
