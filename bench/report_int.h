/* SPDX-License-Identifier: MIT */
/*
 * report_int.h - what report.c (the cells, the ratios, the terminal) and
 * report_files.c (JSON and CSV) share: the metric table's type, the cells
 * of every repetition, and the helpers both outputs read them with.
 */
#ifndef REPORT_INT_H
#define REPORT_INT_H

#include "report.h"

#ifndef BENCH_CFLAGS
#define BENCH_CFLAGS "unknown"
#endif

enum fmt {
	F_SI,                       /* 12.3M ("-" for NaN) */
	F_SI_RANGE,                 /* 12.3M, then a " [min - max]" column */
	F_RATIO,                    /* 1.23 ("-" for NaN) */
	F_FIXED,                    /* value / div, prec decimals ("-" for NaN) */
};

enum {                          /* CSV flags */
	CSV_RANGE = 1,              /* also key_min, key_max */
	CSV_RAW = 2,                /* %.6g even for NaN ("nan"): how format 1 writes latency */
	PER_REP = 4,                /* JSON: every repetition's value (an array), no median */
};

#define RK_ANY (-1)             /* a metric of every kind (the noise figures) */
#define NOISE_RATIO 2.0

struct metric {
	int kind;                   /* RK_STREAM / RK_LATENCY */
	const char *key;            /* JSON key (and key_min, key_max); CSV column name */
	size_t off;                 /* measured: where run_case() puts it in struct case_out */
	const char *vs;             /* derived: ratio to this transport, same size and rep, */
	const char *vs2;            /* ... or to the better of vs and vs2 in that rep */
	int shaped;                 /* vs, vs2 name families: the yardstick is the
	                             * family's transport of the row's shape (vs-NxM) */
	int of, invert;             /* of metric [of]: ours / theirs (invert: theirs / ours;
	                             * then the lower of vs and vs2 is the better) */
	int csv;                    /* CSV column (1..); 0: not in the CSV */
	unsigned csv_flags;
	int col;                    /* terminal column (1..); 0: not shown */
	const char *head, *unit;    /* heading, and the line under it (NULL: blank) */
	int width;
	enum fmt fmt;
	int prec;
	double div;
};

enum {
	M_MPS, M_BPS, M_PCPU, M_CCPU, M_FUTEX, M_XPIPE, M_SPIN, M_XREF,
	L_P50, L_P99, L_P999, L_MAX, L_SAMPLES, L_XPIPE, L_MEAN, L_XREF,
	P_MPS, P_BPS, P_XREF, P_PCPU, P_CCPU, P_FUTEX, P_MEMB, P_YIELD, P_CSW, P_SPIN,
	N_RTT0, N_RTT1, NMETRIC
};

/* in JSON order within each kind (report.c) */
extern const struct metric metrics[NMETRIC];

struct kind_desc {
	const char *name;           /* "kind" in JSON and CSV */
	const char *title;          /* terminal: above each size's table */
	unsigned tk;                /* the transports that have this kind */
};
extern const struct kind_desc kinds[RK_N];

/* one kind x transport x size: every repetition */
struct cell {
	int n, skipped, failed;
	char why[200];              /* skipped: why; failed: the last failure */
	int rep[MAX_REPS];          /* the repetition each value came from (0-based) */
	signed char best[MAX_REPS]; /* the vs/vs2 metric: 0 vs was the better, 1 vs2, -1 n/a */
	double v[MAX_REPS][NMETRIC];
};

extern struct cell cells[RK_N][MAX_TRANS][MAX_SIZES];

struct stat3 {
	double med, min, max;
};

int of_kind(const struct metric *mt, int kind);
/* median, min, max of metric m over the cell's repetitions (NaN: none) */
struct stat3 stat_of(const struct cell *a, int m);
/* the transports of a kind that this run selected */
int shown(const struct report *r, size_t ti, int kind);
/* the kind's metric with two yardsticks (x ref), or NULL */
const struct metric *best_metric(int kind);
/* how often each yardstick of best_metric() was the better one */
void best_counts(const struct cell *a, int *first, int *second);
/* "ref-ff 7/9": the better yardstick and in how many repetitions */
const char *best_text(char *buf, size_t len, const struct cell *a, int kind);
/* repetition i's two noise figures differ by more than NOISE_RATIO */
int noisy(const struct cell *a, int i);
int noise_marks(const struct cell *a);

#endif /* REPORT_INT_H */
