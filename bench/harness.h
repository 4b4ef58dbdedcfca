/* SPDX-License-Identifier: MIT */
/*
 * harness.h - running one case (harness.c), for the run loop (ipc_bench.c):
 * placement, signals, the noise probe, and run_case() with what it measured.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include "transport.h"

/* what run_case() measured: one case of one repetition */
struct case_out {
	int ok;                     /* 1 measured, 0 failed, -1 skipped */
	char why[200];
	uint64_t msgs;
	/* stream; futex, memb, yield, csw (calls or switches per 1000 messages)
	 * and spin_ns are NaN where n/a */
	double mps, bps, pcpu, ccpu, futex, spin_ns;
	double memb, yield, csw;
	/* a fan-out case (transport.fanout): mps counts deliveries, and this is
	 * what each consumer received per second (mps / consumers); else mps */
	double mps_sub;
	/* latency, nanoseconds */
	double p50, p99, p999, max, samples, mean;
	/* noise: cache-line round trip between the case's two CPUs, ns, median
	 * of a short ping-pong just before and just after the case */
	double rtt_before, rtt_after;
};
/* SIGCHLD blocked for run_case, SIGINT/SIGTERM stop the run, SIGPIPE ignored */
void harness_signals(void);
int harness_interrupted(void);
/* --placement: where the two sides run */
enum placement { PL_CROSS, PL_SAME, PL_NONE };
/* the CPUs for a placement: cross, the first two CPUs we may run on; same,
 * the first one for both; none, -1 (not pinned). 0, or -1 when cross has
 * fewer than two CPUs (then both are -1) */
int harness_cpus(enum placement pl, int *cpu_prod, int *cpu_cons);
/* median cache-line round trip (ns) between two threads on these CPUs (-1:
 * not pinned): a short ping-pong on one line; NaN if it could not run */
double harness_line_rtt(int cpu_a, int cpu_b);
/* one case: 0 measured or skipped (o->ok says which), -1 failed (o->why says why) */
int run_case(const struct transport *t, size_t size, double duration, int latency,
             int cpu_prod, int cpu_cons, struct case_out *o);

#endif /* BENCH_HARNESS_H */
