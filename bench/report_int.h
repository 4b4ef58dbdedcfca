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
	F_RATIO,                    /* 1.23; below 0.095 two significant digits
	                             * (0.0031), never 0.00 ("-" for NaN) */
	F_FIXED,                    /* value / div, prec decimals ("-" for NaN) */
};

enum {                          /* CSV flags */
	CSV_RANGE = 1,              /* also key_min, key_max */
	CSV_RAW = 2,                /* %.6g even for NaN ("nan"): how format 1 writes latency */
	PER_REP = 4,                /* JSON: every repetition's value (an array), no median */
};

#define RK_ANY (-1)             /* a metric of every kind (the noise figures) */
#define NOISE_RATIO 2.0         /* a rep is marked when the line round trip moved more */

struct metric {
	int kind;                   /* RK_STREAM / RK_LATENCY */
	const char *key;            /* JSON key (and key_min, key_max); CSV column name */
	size_t off;                 /* measured: where run_case() puts it in struct case_out */
	const char *vs;             /* derived: ratio to this transport, same size and rep, */
	const char *vs2;            /* ... or to the better of vs and vs2 in that rep */
	int shaped;                 /* vs, vs2 name families: the yardstick is the
	                             * family's transport of the row's shape (vs-NxM) */
	int by_row;                 /* no vs: the yardstick is the row's own,
	                             * transport.ref (none: NaN) */
	int ring_only;              /* derived only for a row whose transport has a
	                             * reference ring for a yardstick (not .no_ref) */
	int of, invert;             /* of metric [of]: ours / theirs (invert: theirs / ours;
	                             * then the lower of vs and vs2 is the better) */
	int csv;                    /* CSV column (1..); 0: not in the CSV */
	unsigned csv_flags;
	int col;                    /* terminal column (1..); 0: not shown */
	int range;                  /* terminal: a " [min - max]" column after it */
	int sum;                    /* summary column (1..) of a ratio; 0: not there */
	const char *head, *unit;    /* heading, and the line under it (NULL: blank) */
	const char *help;           /* the legend's line for the column */
	int width;
	enum fmt fmt;
	int prec;
	double div;
};

enum {
	M_MPS, M_BPS, M_PCPU, M_CCPU, M_FUTEX, M_XPIPE, M_SPIN, M_XREF, M_XBATCH,
	L_P50, L_P99, L_P999, L_MAX, L_SAMPLES, L_XPIPE, L_MEAN, L_XREF,
	P_MPS, P_BPS, P_XREF, P_PCPU, P_CCPU, P_FUTEX, P_MEMB, P_YIELD, P_CSW, P_SPIN,
	B_MPS, B_SUB, B_BPS, B_XREF, B_PCPU, B_CCPU, B_FUTEX, B_CSW, B_SPIN,
	N_RTT0, N_RTT1, NMETRIC
};

/* in JSON order within each kind (report.c) */
extern const struct metric metrics[NMETRIC];

struct kind_desc {
	const char *name;           /* "kind" in JSON and CSV */
	const char *title;          /* terminal: above each size's table */
	unsigned tk;                /* the transports that have this kind */
	int lead;                   /* the metric the summary ranks by, and whose
	                             * spread over the reps marks a row noisy */
	int lower_better;           /* lead: lower is faster (a round trip) */
	const char *word;           /* the summary's name for the kind */
	const char *unit;           /* the summary's unit for the lead metric */
	const char *ours;           /* shmring's row in the summary: a transport, or
	                             * with shaped a family (one line per shape) */
	int shaped;
};
extern const struct kind_desc kinds[RK_N];

/* one kind x transport x size: every repetition */
struct cell {
	int n, skipped, failed;
	char why[200];              /* skipped: why; failed: the last failure */
	int rep[MAX_REPS];          /* the repetition each value came from (0-based) */
	signed char best[MAX_REPS]; /* the vs/vs2 metric: 0 vs was the better, 1 vs2, -1 n/a;
	                             * the by_row metric: 1 the row was faster than its
	                             * yardstick, 0 not, -1 n/a */
	const char *vs;             /* the by_row metric's yardstick (transport.ref) */
	double v[MAX_REPS][NMETRIC];
};

extern struct cell cells[RK_N][MAX_TRANS][MAX_SIZES];

struct stat3 {
	double med, min, max;
};

int of_kind(const struct metric *mt, int kind);
/* median, min, max of metric m over the cell's repetitions (NaN: none) */
struct stat3 stat_of(const struct cell *a, int m);
/* the kind's metric with two yardsticks (x ref), or NULL */
const struct metric *best_metric(int kind);
/* the kind's metric whose yardstick is the row's own (x ref), or NULL */
const struct metric *row_metric(int kind);
/* a ratio's metric: derived from other rows, not measured */
int derived(const struct metric *mt);
/* how often each yardstick of best_metric() was the better one */
void best_counts(const struct cell *a, int *first, int *second);
/* "ref-ff 7/9": the better yardstick and in how many repetitions; for a
 * kind with a row_metric(), "won 7/9 vs spsc-fanout-3": in how many
 * repetitions the row was the faster, and its yardstick */
const char *best_text(char *buf, size_t len, const struct cell *a, int kind);
/* repetition i's two line round trips differ by more than NOISE_RATIO */
int noisy(const struct cell *a, int i);
int noise_marks(const struct cell *a);
/* the lead metric's max / min over the reps (NaN: fewer than two) */
double spread(const struct cell *a, int kind);
/* the row is noisy: spread above r->noise_spread, or a rep marked */
int row_noisy(const struct report *r, const struct cell *a, int kind);
/* the noise column: "-", or the spread ("2.31x") and/or the marked reps ("1/3") */
const char *noise_text(char *buf, size_t len, const struct report *r, const struct cell *a,
                       int kind);

/* the index of transport name in r->trans, r->ntrans if absent */
size_t trans_index(const struct report *r, const char *name);
/* the fastest measured row of a kind and size (lead metric; with shape,
 * only transports of that shape); r->ntrans if none */
size_t fastest(const struct report *r, int kind, int si, const struct transport *shape);
/* the summary: one line per kind and size (and shape, for shaped kinds) */
struct sum_line {
	int kind, si;
	size_t ours, fast;          /* indexes in r->trans; r->ntrans: none */
};
#define MAX_SUM (RK_N * MAX_SIZES * 8)
int summary_lines(const struct report *r, struct sum_line *out, int max);
/* the row is the shmring row a summary line reports */
int in_summary(const struct report *r, int kind, size_t ti);
/* the metric of a kind in summary column col, or NULL */
const struct metric *at_sum(int kind, int col);
/* a shape-family member's family name ("shm-mpmc" of "shm-mpmc-2x2"), or NULL */
const char *family_of(const struct transport *t, char *buf, size_t len);

#endif /* REPORT_INT_H */
