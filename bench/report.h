/* SPDX-License-Identifier: MIT */
/*
 * report.h - the results of a run and their three outputs (report.c): the
 * terminal tables, JSON (one record per line) and CSV. One table of
 * metrics in report.c names each metric's JSON key and CSV column, its
 * terminal column and format, and where run_case() measured it (or which
 * ratio derives it); all three outputs are driven by that table.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include "harness.h"

#define MAX_TRANS 64
#define MAX_SIZES 32
#define MAX_REPS  64
/* a row whose slowest and fastest reps differ by more than this (max / min
 * of msgs/s, or of the round trip's p50) is noisy (--noise-spread) */
#define NOISE_SPREAD 1.5

/* RK_MPMC: the MPMC shapes (TK_MPMC), tables of their own; RK_BCAST: one
 * producer to every consumer (TK_BCAST: broadcast, fan-out), likewise */
enum rkind { RK_STREAM, RK_LATENCY, RK_MPMC, RK_BCAST, RK_N };

struct machine {
	char cpu[256];
	char kernel[65];
	long online;                /* CPUs online */
	const char *placement;      /* --placement: cross, same, none */
	char placement_detail[160]; /* which CPUs */
};

struct report {
	const struct transport *const *trans; /* in run order */
	size_t ntrans;
	const int *use;             /* use[i]: trans[i] was selected */
	int reps;
	double duration;
	int on[RK_N];               /* the kind was run (not --no-stream / --no-latency) */
	const size_t *sizes[RK_N];  /* message sizes per kind */
	int nsizes[RK_N];
	struct machine m;
	const char *not_run[RK_N];  /* why a kind was not run (the option), or NULL */
	double noise_spread;        /* a row is noisy above this spread (NOISE_SPREAD) */
	/* after the run */
	int cases, failed;
	double elapsed_s;
};

/* where the sides of transport t ran: "none" (an unpinned MPMC shape) or
 * the --placement */
const char *row_placement(const struct report *r, const struct transport *t);
/* the MPMC tables' placement: which shapes ran pinned (where), which not */
const char *mpmc_placement(const struct report *r, char *buf, size_t len);
/* the same for the broadcast tables */
const char *bcast_placement(const struct report *r, char *buf, size_t len);
/* transport ti runs (and is reported) in this kind: selected, of the kind,
 * and where it is only a yardstick (transport.yardstick), beside a selected
 * transport of the kind that is not */
int shown(const struct report *r, size_t ti, int kind);
/* the machine and the placement, for the header and the JSON */
void report_machine(struct machine *m, const char *placement, int cpu_prod, int cpu_cons);
/* the lines before the run */
void report_header(const struct report *r);
/* one case of repetition rep (0-based): measured (o->ok == 1) or skipped (why) */
void report_add(int kind, size_t ti, int si, int rep, const struct case_out *o);
void report_skip(int kind, size_t ti, int si, const char *why);
/* one case of a repetition failed (why); failed_cases counts these */
void report_fail(int kind, size_t ti, int si, const char *why);
/* after the run: the ratios to other transports, then the outputs; the
 * terminal's report opens with the summary, then the legend (what each
 * transport and column is), then the tables */
void report_ratios(const struct report *r);
void report_terminal(const struct report *r);
int report_json(const struct report *r, const char *path);
int report_csv(const struct report *r, const char *path);

#endif /* REPORT_H */
