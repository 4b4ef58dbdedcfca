/* SPDX-License-Identifier: MIT */
/*
 * report.c - the results of a run: one cell per kind x transport x size
 * holding every repetition's metrics, the ratios to the yardsticks (pipe;
 * the better of the two reference rings, ref-ring and ref-ff; for the MPMC
 * shapes the better of ref-vyukov-yield and ref-vyukov-spin of the row's
 * shape; for the broadcast rows the row's own, transport.ref, with the reps
 * the row won) measured in the same repetition, the noise, the summary, and the
 * terminal's report: the summary, the legend, the tables (JSON and CSV:
 * report_files.c). The metric table below drives all of them: add a
 * metric there and it shows in the terminal, the legend (its help), the
 * JSON and the CSV, and in the summary if it has a summary column.
 *
 * Which way a ratio reads: always as speed, above 1 = faster than the
 * yardstick (msgs/s ours over theirs; for round trips p50 theirs over
 * ours). A reference ring is no yardstick for a row whose messages or
 * wake-ups go through the kernel (transport.no_ref): its x ref is NaN,
 * printed "-", never a 0.00 that only says "a syscall is slower than a
 * cache line".
 *
 * Noise: a row is noisy when its repetitions disagree, as its [min - max]
 * shows: the kind's lead metric (msgs/s; p50 for round trips) spreads more
 * than r->noise_spread (max / min, --noise-spread). Also when a repetition
 * is marked: run_case() measures a cache-line round trip between the
 * case's two CPUs just before and just after the case, and a repetition
 * whose two figures differ by more than NOISE_RATIO either way is marked
 * (the host moved the vCPUs during the case, NOTES.md). The noise column
 * is "-" only for a row that is neither.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "report_int.h"

/* ------------------------------------------------------------------ */
/* the metric table (its type: report_int.h)                          */

#define STR_(x) #x
#define STR(x) STR_(x)
#define AT(f) offsetof(struct case_out, f)
/* in JSON order within each kind. help: the legend's line for a column
 * (the ratios: how many times faster than the yardstick, above 1 faster) */
#define NO_REF_HELP "; \"-\" where the row's messages or wake-ups go through the kernel" \
	" (pipes, sockets, mq, sleeping waits): no busy-polling ring compares with it"
const struct metric metrics[NMETRIC] = {
	[M_MPS]   = {RK_STREAM, "msgs_per_s", AT(mps), .csv = 1, .csv_flags = CSV_RANGE,
	             .col = 1, .range = 1, .head = "msgs/s", .width = 8, .fmt = F_SI,
	             .help = "messages received and checked per second, median over reps"
	                     " [slowest - fastest rep]"},
	[M_BPS]   = {RK_STREAM, "bytes_per_s", AT(bps), .csv = 2,
	             .col = 2, .head = "bytes/s", .width = 9, .fmt = F_SI,
	             .help = "msgs/s times the message size"},
	[M_PCPU]  = {RK_STREAM, "prod_cpu_s_per_M", AT(pcpu), .csv = 4, .col = 5,
	             .head = "prodCPU", .unit = "s/Mmsg", .width = 8, .fmt = F_FIXED, .prec = 3,
	             .help = "CPU seconds per million messages, producer side (spinning counts)"},
	[M_CCPU]  = {RK_STREAM, "cons_cpu_s_per_M", AT(ccpu), .csv = 5, .col = 6,
	             .head = "consCPU", .unit = "s/Mmsg", .width = 8, .fmt = F_FIXED, .prec = 3,
	             .help = "the same, consumer side"},
	[M_FUTEX] = {RK_STREAM, "futex_per_1k", AT(futex), .csv = 6, .col = 7,
	             .head = "futex/1k", .unit = "msgs", .width = 9, .fmt = F_FIXED, .prec = 3,
	             .help = "shmring's system calls to sleep or wake per 1000 messages"},
	[M_XPIPE] = {RK_STREAM, "x_pipe", .vs = "pipe", .of = M_MPS, .csv = 3,
	             .col = 3, .sum = 1, .head = "x pipe", .width = 7, .fmt = F_RATIO,
	             .help = "msgs/s over pipe's in the same rep, median over reps: above 1 = faster"},
	[M_SPIN]  = {RK_STREAM, "spin_ns", AT(spin_ns), .col = 0},
	[M_XREF]  = {RK_STREAM, "x_ref", .vs = "ref-ring", .vs2 = "ref-ff", .ring_only = 1,
	             .of = M_MPS, .csv = 13, .col = 4, .sum = 3, .head = "x ref", .width = 6,
	             .fmt = F_RATIO, .help = "msgs/s over the better reference ring's (ref-ring or"
	             " ref-ff) in the same rep: above 1 = faster" NO_REF_HELP},
	[M_XBATCH] = {RK_STREAM, "x_pipe_batch", .vs = "pipe-batch", .of = M_MPS, .csv = 19,
	             .sum = 2, .head = "x pipe-batch", .width = 12, .fmt = F_RATIO,
	             .help = "(summary) msgs/s over pipe-batch's, same rep: the pipe an expert"
	                     " would use for small records"},
	[L_P50]   = {RK_LATENCY, "p50_ns", AT(p50), .csv = 7, .csv_flags = CSV_RAW,
	             .col = 1, .range = 1, .head = "p50", .width = 9, .fmt = F_FIXED, .prec = 2,
	             .div = 1e3, .help = "round-trip median, microseconds: median over reps"
	                                 " [slowest - fastest rep]"},
	[L_P99]   = {RK_LATENCY, "p99_ns", AT(p99), .csv = 8, .csv_flags = CSV_RAW,
	             .col = 2, .head = "p99", .width = 9, .fmt = F_FIXED, .prec = 2, .div = 1e3,
	             .help = "round-trip 99th percentile, microseconds, median over reps; p99.9"
	                     " and max likewise"},
	[L_P999]  = {RK_LATENCY, "p999_ns", AT(p999), .csv = 9, .csv_flags = CSV_RAW,
	             .col = 3, .head = "p99.9", .width = 9, .fmt = F_FIXED, .prec = 2, .div = 1e3},
	[L_MAX]   = {RK_LATENCY, "max_ns", AT(max), .csv = 10, .csv_flags = CSV_RAW,
	             .col = 4, .head = "max", .width = 9, .fmt = F_FIXED, .prec = 1, .div = 1e3},
	[L_SAMPLES] = {RK_LATENCY, "samples", AT(samples), .csv = 11, .csv_flags = CSV_RAW,
	             .col = 5, .head = "samples", .width = 9, .fmt = F_SI,
	             .help = "round trips recorded (after the warm-up)"},
	[L_XPIPE] = {RK_LATENCY, "x_pipe_p50", .vs = "pipe", .of = L_P50, .invert = 1,
	             .csv = 12, .csv_flags = CSV_RAW, .col = 7, .sum = 1, .head = "x pipe p50",
	             .width = 11, .fmt = F_RATIO,
	             .help = "pipe's p50 over the row's, same rep: above 1 = a shorter round trip"
	                     " (1.12 = a round trip 0.89x as long as a pipe's)"},
	[L_MEAN]  = {RK_LATENCY, "mean_ns", AT(mean), .csv = 14, .csv_flags = CSV_RAW,
	             .col = 6, .head = "mean", .width = 9, .fmt = F_FIXED, .prec = 2, .div = 1e3,
	             .help = "mean round trip, microseconds (what other harnesses report)"},
	[L_XREF]  = {RK_LATENCY, "x_ref_p50", .vs = "ref-ring", .vs2 = "ref-ff", .ring_only = 1,
	             .of = L_P50, .invert = 1, .csv = 15, .col = 8, .sum = 3, .head = "x ref p50",
	             .width = 10, .fmt = F_RATIO,
	             .help = "the better reference ring's p50 (ref-ring or ref-ff) over the row's,"
	                     " same rep: above 1 = a shorter round trip" NO_REF_HELP},
	/* the MPMC shapes: the stream's keys and CSV columns where the figure is
	 * the same, x ref against ref-vyukov of the row's shape, and the
	 * per-message costs of oversubscription (futex, membarrier, sched_yield
	 * calls and context switches, all processes of the case) */
	[P_MPS]   = {RK_MPMC, "msgs_per_s", AT(mps), .csv = 1, .csv_flags = CSV_RANGE,
	             .col = 1, .range = 1, .head = "msgs/s", .width = 8, .fmt = F_SI},
	[P_BPS]   = {RK_MPMC, "bytes_per_s", AT(bps), .csv = 2,
	             .col = 2, .head = "bytes/s", .width = 9, .fmt = F_SI},
	[P_XREF]  = {RK_MPMC, "x_ref", .vs = "ref-vyukov-yield", .vs2 = "ref-vyukov-spin",
	             .shaped = 1, .ring_only = 1, .of = P_MPS, .csv = 13, .col = 3, .sum = 3,
	             .head = "x ref", .width = 6, .fmt = F_RATIO,
	             .help = "MPMC shapes: msgs/s over the better of ref-vyukov-yield and"
	                     " ref-vyukov-spin of the same shape, same rep"},
	[P_PCPU]  = {RK_MPMC, "prod_cpu_s_per_M", AT(pcpu), .csv = 4, .col = 4,
	             .head = "prodCPU", .unit = "s/Mmsg", .width = 8, .fmt = F_FIXED, .prec = 3},
	[P_CCPU]  = {RK_MPMC, "cons_cpu_s_per_M", AT(ccpu), .csv = 5, .col = 5,
	             .head = "consCPU", .unit = "s/Mmsg", .width = 8, .fmt = F_FIXED, .prec = 3},
	[P_FUTEX] = {RK_MPMC, "futex_per_1k", AT(futex), .csv = 6, .col = 6,
	             .head = "futex/1k", .unit = "msgs", .width = 9, .fmt = F_FIXED, .prec = 3},
	[P_MEMB]  = {RK_MPMC, "membarrier_per_1k", AT(memb), .csv = 16, .col = 7,
	             .head = "membar/1k", .unit = "msgs", .width = 9, .fmt = F_FIXED, .prec = 3,
	             .help = "shmring's membarrier() calls per 1000 messages (all processes)"},
	[P_YIELD] = {RK_MPMC, "yield_per_1k", AT(yield), .csv = 17, .col = 8,
	             .head = "yield/1k", .unit = "msgs", .width = 9, .fmt = F_FIXED, .prec = 1,
	             .help = "ref-vyukov-yield's sched_yield() calls per 1000 messages"},
	[P_CSW]   = {RK_MPMC, "csw_per_1k", AT(csw), .csv = 18, .col = 9,
	             .head = "csw/1k", .unit = "msgs", .width = 8, .fmt = F_FIXED, .prec = 3,
	             .help = "context switches per 1000 messages (all processes)"},
	[P_SPIN]  = {RK_MPMC, "spin_ns", AT(spin_ns), .col = 0},
	/* broadcast: msgs/s counts deliveries (a message to three consumers:
	 * three), beside it what each consumer received per second; x ref
	 * against the row's own yardstick (transport.ref), same rep */
	[B_MPS]   = {RK_BCAST, "msgs_per_s", AT(mps), .csv = 1, .csv_flags = CSV_RANGE,
	             .col = 1, .range = 1, .head = "msgs/s", .width = 8, .fmt = F_SI,
	             .help = "broadcast: deliveries per second, each message counted once per"
	                     " consumer that received and checked it (1x3: three times), median"
	                     " over reps [slowest - fastest rep]"},
	[B_SUB]   = {RK_BCAST, "msgs_per_s_per_sub", AT(mps_sub), .csv = 20, .col = 2,
	             .head = "per sub", .unit = "msgs/s", .width = 8, .fmt = F_SI,
	             .help = "messages each subscriber (consumer) received per second: msgs/s"
	                     " over the consumers; every consumer got every message"},
	[B_BPS]   = {RK_BCAST, "bytes_per_s", AT(bps), .csv = 2,
	             .col = 3, .head = "bytes/s", .width = 9, .fmt = F_SI},
	[B_XREF]  = {RK_BCAST, "x_ref", .by_row = 1, .of = B_MPS, .csv = 13, .col = 4, .sum = 3,
	             .head = "x ref", .width = 6, .fmt = F_RATIO,
	             .help = "broadcast: msgs/s (deliveries) over the row's yardstick's in the"
	                     " same rep: shm-bcast-1x1 over shm-spsc, shm-bcast-1x3 over"
	                     " spsc-fanout-3; above 1 = faster"},
	[B_PCPU]  = {RK_BCAST, "prod_cpu_s_per_M", AT(pcpu), .csv = 4, .col = 5,
	             .head = "prodCPU", .unit = "s/Mdlv", .width = 8, .fmt = F_FIXED, .prec = 3,
	             .help = "broadcast: CPU seconds per million deliveries, producer side; the"
	                     " consumer side likewise (all consumers)"},
	[B_CCPU]  = {RK_BCAST, "cons_cpu_s_per_M", AT(ccpu), .csv = 5, .col = 6,
	             .head = "consCPU", .unit = "s/Mdlv", .width = 8, .fmt = F_FIXED, .prec = 3},
	[B_FUTEX] = {RK_BCAST, "futex_per_1k", AT(futex), .csv = 6, .col = 7,
	             .head = "futex/1k", .unit = "dlv", .width = 9, .fmt = F_FIXED, .prec = 3,
	             .help = "broadcast: shmring's sleeps and wakes per 1000 deliveries, all"
	                     " processes (spsc-fanout-3: its three rings' counts added up)"},
	[B_CSW]   = {RK_BCAST, "csw_per_1k", AT(csw), .csv = 18, .col = 8,
	             .head = "csw/1k", .unit = "dlv", .width = 8, .fmt = F_FIXED, .prec = 3,
	             .help = "broadcast: context switches per 1000 deliveries (all processes)"},
	[B_SPIN]  = {RK_BCAST, "spin_ns", AT(spin_ns), .col = 0},
	[N_RTT0]  = {RK_ANY, "line_rtt_before_ns", AT(rtt_before), .csv_flags = PER_REP},
	[N_RTT1]  = {RK_ANY, "line_rtt_after_ns", AT(rtt_after), .csv_flags = PER_REP},
};
#undef AT

const struct kind_desc kinds[RK_N] = {
	[RK_STREAM] = {"stream", "streaming, %zu B messages", TK_STREAM, .lead = M_MPS,
	               .word = "stream", .unit = "msg/s", .ours = "shm-spsc"},
	[RK_LATENCY] = {"latency", "round trip (ping-pong), %zu B each way; microseconds,"
	                " medians over reps of each percentile", TK_LATENCY, .lead = L_P50,
	                .lower_better = 1, .word = "round trip", .unit = "us p50",
	                .ours = "shm-spsc"},
	[RK_MPMC] = {"mpmc", "MPMC shapes (NxM: N producer x M consumer processes), %zu B"
	             " messages, rings of " STR(MPMC_SLOTS) " slots; x ref: the better of"
	             " ref-vyukov-yield and ref-vyukov-spin of the same shape in the same rep",
	             TK_MPMC, .lead = P_MPS, .word = "mpmc", .unit = "msg/s", .ours = "shm-mpmc",
	             .shaped = 1},
	[RK_BCAST] = {"bcast", "broadcast, one producer to each of N consumers (1xN), %zu B"
	              " messages; msgs/s: deliveries (a message to 3 consumers counts 3);"
	              " x ref: shm-bcast-1x1 over shm-spsc, shm-bcast-1x3 over spsc-fanout-3,"
	              " same rep", TK_BCAST, .lead = B_MPS, .word = "broadcast",
	              .unit = "dlv/s", .ours = "shm-bcast", .shaped = 1},
};

const char *row_placement(const struct report *r, const struct transport *t)
{
	return t->unpinned ? "none" : r->m.placement;
}

/* "1x1, 2x2" style: the selected shapes of a kind that ran pinned (or not) */
static void shapes(const struct report *r, int kind, int unpinned, char *buf, size_t len)
{
	buf[0] = 0;
	for (size_t ti = 0; ti < r->ntrans; ti++) {
		const struct transport *t = r->trans[ti];
		char one[16];
		if (!shown(r, ti, kind) || !t->unpinned != !unpinned)
			continue;
		snprintf(one, sizeof(one), "%dx%d", t->nprod, t->ncons);
		if (!strstr(buf, one))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", one);
	}
}

/* which shapes of a kind ran pinned (where), which not; why: after "the
 * scheduler places the processes on the N CPUs online" */
static const char *kind_placement(const struct report *r, int kind, const char *why,
                                  char *buf, size_t len)
{
	char pinned[64], loose[64];
	shapes(r, kind, 0, pinned, sizeof(pinned));
	shapes(r, kind, 1, loose, sizeof(loose));
	size_t n = 0;
	buf[0] = 0;
	if (pinned[0])
		n = (size_t)snprintf(buf, len, "%s as --placement %s (%s)%s", pinned,
		                     r->m.placement, r->m.placement_detail, loose[0] ? "; " : "");
	if (loose[0] && n < len)
		snprintf(buf + n, len - n, "%s not pinned: the scheduler places the processes on"
		         " the %ld CPUs online%s", loose, r->m.online, why);
	return buf;
}

const char *mpmc_placement(const struct report *r, char *buf, size_t len)
{
	return kind_placement(r, RK_MPMC, ", as in a worker pool in a container", buf, len);
}

const char *bcast_placement(const struct report *r, char *buf, size_t len)
{
	return kind_placement(r, RK_BCAST, "", buf, len);
}

int of_kind(const struct metric *mt, int kind)
{
	return mt->kind == kind || mt->kind == RK_ANY;
}

int derived(const struct metric *mt)
{
	return mt->vs || mt->by_row;
}

struct cell cells[RK_N][MAX_TRANS][MAX_SIZES];

void report_add(int kind, size_t ti, int si, int rep, const struct case_out *o)
{
	struct cell *a = &cells[kind][ti][si];
	a->rep[a->n] = rep;
	a->best[a->n] = -1;
	double *v = a->v[a->n++];
	for (int m = 0; m < NMETRIC; m++) {
		const struct metric *mt = &metrics[m];
		v[m] = of_kind(mt, kind) && !derived(mt) ? *(const double *)((const char *)o + mt->off)
		                                         : NAN;
	}
}

void report_skip(int kind, size_t ti, int si, const char *why)
{
	struct cell *a = &cells[kind][ti][si];
	a->skipped = 1;
	snprintf(a->why, sizeof(a->why), "%s", why);
}

void report_fail(int kind, size_t ti, int si, const char *why)
{
	struct cell *a = &cells[kind][ti][si];
	a->failed++;
	snprintf(a->why, sizeof(a->why), "%s", why);
}

size_t trans_index(const struct report *r, const char *name)
{
	size_t j = 0;
	while (name && j < r->ntrans && strcmp(r->trans[j]->name, name) != 0)
		j++;
	return name ? j : r->ntrans;
}

/* family's transport of t's shape: "family-NxM" */
static size_t shape_index(const struct report *r, const char *family, const struct transport *t)
{
	char name[64];
	snprintf(name, sizeof(name), "%s-%dx%d", family, t->nprod, t->ncons);
	return trans_index(r, name);
}

/* metric m of the value measured in repetition rep, NaN if none */
static double at_rep(const struct cell *p, int rep, int m)
{
	for (int i = 0; p && i < p->n; i++)
		if (p->rep[i] == rep)
			return p->v[i][m];
	return NAN;
}

void report_ratios(const struct report *r)
{
	for (int m = 0; m < NMETRIC; m++) {
		const struct metric *mt = &metrics[m];
		if (!derived(mt))
			continue;
		size_t j = trans_index(r, mt->vs), j2 = trans_index(r, mt->vs2);
		for (size_t ti = 0; ti < r->ntrans; ti++)
			for (int s = 0; s < MAX_SIZES; s++) {
				struct cell *a = &cells[mt->kind][ti][s];
				if (mt->shaped) {
					j = shape_index(r, mt->vs, r->trans[ti]);
					j2 = shape_index(r, mt->vs2, r->trans[ti]);
				}
				if (mt->by_row) {
					/* the row's own yardstick (a transport's ref names itself
					 * never; no ref: NaN) */
					a->vs = r->trans[ti]->ref;
					j = trans_index(r, a->vs);
				}
				const struct cell *p = j < r->ntrans ? &cells[mt->kind][j][s] : NULL;
				const struct cell *p2 = j2 < r->ntrans ? &cells[mt->kind][j2][s] : NULL;
				/* no reference ring compares with a row that goes
				 * through the kernel: NaN ("-") rather than 0.00 */
				if (mt->ring_only && (r->trans[ti]->no_ref & kinds[mt->kind].tk))
					p = p2 = NULL;
				/* the yardstick measured in the same repetition; with two,
				 * the better of them there (higher, or lower when inverted) */
				for (int i = 0; i < a->n; i++) {
					double ours = a->v[i][mt->of];
					double t1 = at_rep(p, a->rep[i], mt->of), t2 = at_rep(p2, a->rep[i], mt->of);
					int second = !isnan(t2) &&
					             (isnan(t1) || (mt->invert ? t2 < t1 : t2 > t1));
					double theirs = second ? t2 : t1;
					if (mt->vs2)
						a->best[i] = (signed char)(isnan(theirs) ? -1 : second);
					if (mt->by_row)
						a->best[i] = (signed char)(isnan(theirs) || isnan(ours) ? -1 :
						                           mt->invert ? ours < theirs : ours > theirs);
					a->v[i][m] = mt->invert ? theirs / ours : ours / theirs;
				}
			}
	}
}

/* the kind's metric with two yardsticks, or NULL */
const struct metric *best_metric(int kind)
{
	for (int m = 0; m < NMETRIC; m++)
		if (metrics[m].kind == kind && metrics[m].vs2)
			return &metrics[m];
	return NULL;
}

/* how often each yardstick of best_metric() was the better one */
void best_counts(const struct cell *a, int *first, int *second)
{
	*first = *second = 0;
	for (int i = 0; i < a->n; i++) {
		*first += a->best[i] == 0;
		*second += a->best[i] == 1;
	}
}

/* the kind's metric whose yardstick is the row's own, or NULL */
const struct metric *row_metric(int kind)
{
	for (int m = 0; m < NMETRIC; m++)
		if (metrics[m].kind == kind && metrics[m].by_row)
			return &metrics[m];
	return NULL;
}

/* "ring 2 ff 7" style: "ref-ff 7/9", the winner and its count; a row's own
 * yardstick: "won 7/9 vs spsc-fanout-3", the reps in which the row was the
 * faster */
const char *best_text(char *buf, size_t len, const struct cell *a, int kind)
{
	const struct metric *mt = best_metric(kind);
	int c1, c2;
	if (row_metric(kind)) {
		best_counts(a, &c1, &c2);
		if (!a->vs || (!c1 && !c2))
			snprintf(buf, len, "-");
		else
			snprintf(buf, len, "won %d/%d vs %s", c2, c1 + c2, a->vs);
		return buf;
	}
	if (!mt) {
		snprintf(buf, len, "-");
		return buf;
	}
	best_counts(a, &c1, &c2);
	if (!c1 && !c2)
		snprintf(buf, len, "-");
	else if (c1 == c2)
		snprintf(buf, len, "tie %d/%d", c1, c1 + c2);
	else
		snprintf(buf, len, "%s %d/%d", c1 > c2 ? mt->vs : mt->vs2, c1 > c2 ? c1 : c2,
		         c1 + c2);
	return buf;
}

/* repetition i's two noise figures differ by more than NOISE_RATIO */
int noisy(const struct cell *a, int i)
{
	double b = a->v[i][N_RTT0], e = a->v[i][N_RTT1];
	return !isnan(b) && !isnan(e) && b > 0 && e > 0 &&
	       (e / b > NOISE_RATIO || b / e > NOISE_RATIO);
}

int noise_marks(const struct cell *a)
{
	int k = 0;
	for (int i = 0; i < a->n; i++)
		k += noisy(a, i);
	return k;
}

/* the lead metric's max / min over the reps: what the [min - max] column
 * shows, as one number (NaN under two reps; infinite if a rep measured 0) */
double spread(const struct cell *a, int kind)
{
	struct stat3 st = stat_of(a, kinds[kind].lead);
	int n = 0;
	for (int i = 0; i < a->n; i++)
		n += !isnan(a->v[i][kinds[kind].lead]);
	if (n < 2)
		return NAN;
	return st.min > 0 ? st.max / st.min : INFINITY;
}

int row_noisy(const struct report *r, const struct cell *a, int kind)
{
	double sp = spread(a, kind);
	return (!isnan(sp) && sp > r->noise_spread) || noise_marks(a) > 0;
}

const char *noise_text(char *buf, size_t len, const struct report *r, const struct cell *a,
                       int kind)
{
	double sp = spread(a, kind);
	int nm = noise_marks(a);
	size_t n = 0;
	buf[0] = 0;
	if (!isnan(sp) && sp > r->noise_spread)
		n = (size_t)snprintf(buf, len, isinf(sp) ? "infx" : sp < 10 ? "%.2fx" :
		                     sp < 100 ? "%.1fx" : "%.0fx", sp);
	if (nm && n < len)
		snprintf(buf + n, len - n, "%s%d/%d", n ? " " : "", nm, a->n);
	if (!buf[0])
		snprintf(buf, len, "-");
	return buf;
}

/* ------------------------------------------------------------------ */
/* statistics and number formats                                       */


static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct stat3 stat_of(const struct cell *a, int m)
{
	double v[MAX_REPS];
	struct stat3 s = {NAN, NAN, NAN};
	int n = 0;
	for (int i = 0; i < a->n; i++)
		if (!isnan(a->v[i][m]))
			v[n++] = a->v[i][m];
	if (!n)
		return s;
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* 12.3M style */
static const char *si(char *buf, size_t len, double v)
{
	const char *u = "";
	if (isnan(v)) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (v >= 1e9) {
		v /= 1e9;
		u = "G";
	} else if (v >= 1e6) {
		v /= 1e6;
		u = "M";
	} else if (v >= 1e3) {
		v /= 1e3;
		u = "k";
	}
	snprintf(buf, len, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v, u);
	return buf;
}

/* one value as the terminal shows it */
static const char *fmt_val(char *buf, size_t len, const struct metric *mt, double v)
{
	if (mt->fmt == F_SI)
		return si(buf, len, v);
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (mt->fmt == F_RATIO)
		snprintf(buf, len, v >= 0.095 || v <= 0 ? "%.2f" : "%.2g", v);
	else
		snprintf(buf, len, "%.*f", mt->prec, mt->div ? v / mt->div : v);
	return buf;
}

/* selected and of the kind, not only as a yardstick there */
static int subject(const struct report *r, size_t ti, int kind)
{
	const struct transport *t = r->trans[ti];
	return r->use[ti] && (t->kinds & kinds[kind].tk) && !(t->yardstick & kinds[kind].tk);
}

int shown(const struct report *r, size_t ti, int kind)
{
	const struct transport *t = r->trans[ti];
	if (!r->use[ti] || !(t->kinds & kinds[kind].tk))
		return 0;
	if (!(t->yardstick & kinds[kind].tk))
		return 1;
	for (size_t tj = 0; tj < r->ntrans; tj++)
		if (subject(r, tj, kind))
			return 1;
	return 0;
}

/* the run selected a transport of this kind */
static int any_shown(const struct report *r, int kind)
{
	for (size_t ti = 0; ti < r->ntrans; ti++)
		if (shown(r, ti, kind))
			return 1;
	return 0;
}

/* terminal: the transport column, as wide as the kind's longest name selected */
static int name_width(const struct report *r, int kind)
{
	int w = 15;
	for (size_t ti = 0; ti < r->ntrans; ti++)
		if (shown(r, ti, kind) && (int)strlen(r->trans[ti]->name) > w)
			w = (int)strlen(r->trans[ti]->name);
	return w;
}

/* the best ref column, as wide as "<longer yardstick> 64/64" (a row's own
 * yardstick: "won 64/64 vs spsc-fanout-3") */
static int best_width(int kind)
{
	const struct metric *mt = best_metric(kind);
	size_t w = 14;
	if (row_metric(kind))
		return 26;
	if (mt && strlen(mt->vs) + 6 > w)
		w = strlen(mt->vs) + 6;
	if (mt && strlen(mt->vs2) + 6 > w)
		w = strlen(mt->vs2) + 6;
	return (int)w;
}

/* ------------------------------------------------------------------ */
/* the summary: per kind and size, the fastest row and shmring's ratios */

/* "shm-mpmc" of "shm-mpmc-2x2": a member of a family of shapes */
const char *family_of(const struct transport *t, char *buf, size_t len)
{
	const char *d = strrchr(t->name, '-');
	if (!t->family_what || !d)
		return NULL;
	snprintf(buf, len, "%.*s", (int)(d - t->name), t->name);
	return buf;
}

static int same_shape(const struct transport *a, const struct transport *b)
{
	return a->nprod == b->nprod && a->ncons == b->ncons;
}

size_t fastest(const struct report *r, int kind, int si, const struct transport *shape)
{
	size_t best = r->ntrans;
	double bv = NAN;
	for (size_t ti = 0; ti < r->ntrans; ti++) {
		if (!shown(r, ti, kind) || (shape && !same_shape(r->trans[ti], shape)))
			continue;
		double v = stat_of(&cells[kind][ti][si], kinds[kind].lead).med;
		if (!isnan(v) && (isnan(bv) || (kinds[kind].lower_better ? v < bv : v > bv))) {
			bv = v;
			best = ti;
		}
	}
	return best;
}

int in_summary(const struct report *r, int kind, size_t ti)
{
	const struct kind_desc *k = &kinds[kind];
	char fam[64];
	if (!r->on[kind] || !shown(r, ti, kind) || !k->ours)
		return 0;
	if (k->shaped)
		return family_of(r->trans[ti], fam, sizeof(fam)) && strcmp(fam, k->ours) == 0;
	return strcmp(r->trans[ti]->name, k->ours) == 0;
}

int summary_lines(const struct report *r, struct sum_line *out, int max)
{
	int n = 0;
	for (int k = 0; k < RK_N; k++) {
		if (!r->on[k] || !any_shown(r, k))
			continue;
		for (int s = 0; s < r->nsizes[k]; s++) {
			int any = 0;
			for (size_t ti = 0; ti < r->ntrans && n < max; ti++)
				if (in_summary(r, k, ti)) {
					out[n++] = (struct sum_line){k, s, ti,
						fastest(r, k, s, kinds[k].shaped ? r->trans[ti] : NULL)};
					any = 1;
				}
			/* shmring's row not selected: the fastest alone */
			if (!any && !kinds[k].shaped && n < max)
				out[n++] = (struct sum_line){k, s, r->ntrans, fastest(r, k, s, NULL)};
		}
	}
	return n;
}

const struct metric *at_sum(int kind, int col)
{
	for (int m = 0; m < NMETRIC; m++)
		if (metrics[m].kind == kind && metrics[m].sum == col)
			return &metrics[m];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* terminal                                                            */

void report_machine(struct machine *m, const char *placement, int cpu_prod, int cpu_cons)
{
	snprintf(m->cpu, sizeof(m->cpu), "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');
		if (strncmp(line, "model name", 10) != 0)
			continue;
		if (p) {
			p++;
			while (*p == ' ')
				p++;
			p[strcspn(p, "\n")] = 0;
			snprintf(m->cpu, sizeof(m->cpu), "%s", p);
		}
		break;
	}
	if (f)
		fclose(f);
	struct utsname un;
	uname(&un);
	snprintf(m->kernel, sizeof(m->kernel), "%s", un.release);
	m->online = sysconf(_SC_NPROCESSORS_ONLN);
	m->placement = placement;
	if (cpu_prod >= 0 && cpu_prod == cpu_cons)
		snprintf(m->placement_detail, sizeof(m->placement_detail),
		         "producer/client and consumer/server both pinned to CPU %d", cpu_prod);
	else if (cpu_prod >= 0)
		snprintf(m->placement_detail, sizeof(m->placement_detail),
		         "producer/client pinned to CPU %d, consumer/server to CPU %d", cpu_prod,
		         cpu_cons);
	else
		snprintf(m->placement_detail, sizeof(m->placement_detail),
		         "not pinned: the scheduler places both sides");
}

void report_header(const struct report *r)
{
	printf("shmring ipc_bench: %s, %ld CPUs online, Linux %s\n", r->m.cpu, r->m.online,
	       r->m.kernel);
	printf("compiler: gcc-compatible %s; flags: %s\n", __VERSION__, BENCH_CFLAGS);
	printf("placement: %s (%s)\n", r->m.placement, r->m.placement_detail);
	printf("reps %d (interleaved), %.3g s per case; after the run: a summary, a legend of"
	       " the transports and columns, then the tables\n", r->reps, r->duration);
}

/* the legend's two columns: a label, and text wrapped under the terminal's
 * usual width */
#define LEGEND_LABEL 21
#define LEGEND_WIDTH 110
static void legend_line(const char *label, const char *text)
{
	int col = printf("  %-*s", LEGEND_LABEL, label);
	if (col > LEGEND_LABEL + 2) {
		printf("\n%*s", LEGEND_LABEL + 2, "");
		col = LEGEND_LABEL + 2;
	}
	while (*text) {
		size_t word = strcspn(text, " ");
		if (col > LEGEND_LABEL + 2 && col + 1 + (int)word > LEGEND_WIDTH) {
			printf("\n%*s", LEGEND_LABEL + 2, "");
			col = LEGEND_LABEL + 2;
		} else if (col > LEGEND_LABEL + 2) {
			putchar(' ');
			col++;
		}
		col += printf("%.*s", (int)word, text);
		text += word;
		while (*text == ' ')
			text++;
	}
	putchar('\n');
}

/* the transport was run in some kind */
static int run_any(const struct report *r, size_t ti)
{
	for (int k = 0; k < RK_N; k++)
		if (r->on[k] && shown(r, ti, k))
			return 1;
	return 0;
}

/* one line per transport of the run (one per family of shapes) */
static void legend_transports(const struct report *r)
{
	printf("\nlegend: the transports\n");
	for (size_t ti = 0; ti < r->ntrans; ti++) {
		const struct transport *t = r->trans[ti];
		char fam[64], label[80], text[512], shp[128];
		int seen = 0;
		if (!run_any(r, ti))
			continue;
		if (!family_of(t, fam, sizeof(fam))) {
			legend_line(t->name, t->what);
			continue;
		}
		/* a family: its first member prints the line, with the shapes run */
		shp[0] = 0;
		for (size_t tj = 0; tj < r->ntrans; tj++) {
			char f2[64];
			if (!run_any(r, tj) || !family_of(r->trans[tj], f2, sizeof(f2)) ||
			    strcmp(f2, fam) != 0)
				continue;
			if (tj < ti)
				seen = 1;
			snprintf(shp + strlen(shp), sizeof(shp) - strlen(shp), "%s%dx%d",
			         shp[0] ? ", " : "", r->trans[tj]->nprod, r->trans[tj]->ncons);
		}
		if (seen)
			continue;
		snprintf(label, sizeof(label), "%s-NxM", fam);
		snprintf(text, sizeof(text), "%s; shapes run: %s", t->family_what, shp);
		legend_line(label, text);
	}
}

/* one line per column of the tables run, from the metric table */
static void legend_columns(const struct report *r)
{
	const char *done[NMETRIC];
	int nd = 0;
	char label[64], text[600];
	printf("\nlegend: the columns (x ...: ratios taken within one repetition, medians over"
	       " the reps; above 1 = faster than the yardstick)\n");
	for (int k = 0; k < RK_N; k++) {
		if (!r->on[k] || !any_shown(r, k))
			continue;
		for (int m = 0; m < NMETRIC; m++) {
			const struct metric *mt = &metrics[m];
			int again = 0;
			if (mt->kind != k || !mt->help || (!mt->col && !mt->sum))
				continue;
			for (int i = 0; i < nd; i++)
				again |= strcmp(done[i], mt->head) == 0;
			snprintf(label, sizeof(label), again ? "%s (%s)" : "%s", mt->head, kinds[k].name);
			done[nd++] = mt->head;
			legend_line(label, mt->help);
		}
	}
	legend_line("best ref", "which yardstick of x ref was the better one, in how many reps");
	if (r->on[RK_BCAST] && any_shown(r, RK_BCAST))
		legend_line("won vs ref (bcast)", "in how many reps the row's msgs/s was above its"
		            " yardstick's, and which yardstick (e.g. won 7/9 vs spsc-fanout-3)");
	snprintf(text, sizeof(text), "\"-\": the reps agree within %.3gx (slowest to fastest: the"
	         " [min - max] of msgs/s, of p50 for round trips) and in each rep the cache-line"
	         " round trip between the two CPUs, measured before and after the case, moved"
	         " less than %.0fx. Otherwise the spread (e.g. 2.31x) and/or how many reps the"
	         " round trip marked (e.g. 1/3): read that row's medians with care (one rep: no"
	         " spread)", r->noise_spread, NOISE_RATIO);
	legend_line("noise", text);
}

/* the summary: per kind and size the fastest row, and shmring's row with
 * its ratios to pipe, pipe-batch and the better reference */
static void term_summary(const struct report *r)
{
	static struct sum_line L[MAX_SUM];
	int n = summary_lines(r, L, MAX_SUM), nw = 12, bw = 10;
	char b1[64], b2[64];
	for (int i = 0; i < n; i++) {
		size_t idx[2] = {L[i].ours, L[i].fast};
		for (int j = 0; j < 2; j++)
			if (idx[j] < r->ntrans && (int)strlen(r->trans[idx[j]]->name) > nw)
				nw = (int)strlen(r->trans[idx[j]]->name);
		if (best_width(L[i].kind) > bw)
			bw = best_width(L[i].kind);
	}
	printf("\nsummary: shmring against its yardsticks, medians over %d rep%s (x ...: how many"
	       " times faster than the yardstick within one rep, round trips by p50; above 1 ="
	       " shmring faster)\n", r->reps, r->reps == 1 ? "" : "s");
	if (!n) {
		printf("  (nothing measured)\n");
		return;
	}
	printf("%-10s %7s  %-*s %13s  %-*s %13s", "kind", "size", nw, "fastest", "", nw,
	       "shmring", "");
	for (int col = 1; col <= 3; col++)
		printf(" %12s", at_sum(RK_STREAM, col)->head);
	printf("  %-*s %9s\n", bw, "better ref", "noise");
	for (int i = 0; i < n; i++) {
		const struct sum_line *l = &L[i];
		const struct kind_desc *k = &kinds[l->kind];
		const struct metric *lead = &metrics[k->lead];
		printf("%-10s %5zu B", k->word, r->sizes[l->kind][l->si]);
		size_t idx[2] = {l->fast, l->ours};
		for (int j = 0; j < 2; j++) {
			const struct cell *a = idx[j] < r->ntrans ? &cells[l->kind][idx[j]][l->si] : NULL;
			if (!a || !a->n) {
				printf("  %-*s %13s", nw, idx[j] < r->ntrans ? r->trans[idx[j]]->name :
				       j ? k->ours : "-", j && idx[j] >= r->ntrans ? "not run" : "-");
				continue;
			}
			snprintf(b2, sizeof(b2), "%s %s",
			         fmt_val(b1, sizeof(b1), lead, stat_of(a, k->lead).med), k->unit);
			printf("  %-*s %13s", nw, r->trans[idx[j]]->name, b2);
		}
		const struct cell *a = l->ours < r->ntrans ? &cells[l->kind][l->ours][l->si] : NULL;
		for (int col = 1; col <= 3; col++) {
			const struct metric *mt = at_sum(l->kind, col);
			double v = a && mt ? stat_of(a, (int)(mt - metrics)).med : NAN;
			printf(" %12s", fmt_val(b1, sizeof(b1), mt ? mt : &metrics[M_XPIPE], v));
		}
		printf("  %-*s %9s\n", bw, a && a->n ? best_text(b1, sizeof(b1), a, l->kind) : "-",
		       a && a->n ? noise_text(b2, sizeof(b2), r, a, l->kind) : "-");
	}
}

/* the metric in terminal column col of a kind, or NULL */
static const struct metric *at_col(int kind, int col)
{
	for (int m = 0; m < NMETRIC; m++)
		if (metrics[m].kind == kind && metrics[m].col == col)
			return &metrics[m];
	return NULL;
}

/* the " [min - max]" column of a metric with .range */
static int range_width(const struct metric *mt)
{
	return mt->fmt == F_SI ? 17 : 19;
}

/* a heading line (unit 0) or the units line under it (unit 1) */
static void term_heading(int kind, int unit, int nw)
{
	printf("%-*s", nw, unit ? "" : "transport");
	const struct metric *mt;
	for (int col = 1; (mt = at_col(kind, col)); col++) {
		const char *h = unit ? (mt->unit ? mt->unit : "") : mt->head;
		printf(" %*s", mt->width, h);
		if (mt->range)
			printf(" %-*s", range_width(mt), unit ? "" : " [min - max]");
	}
	if (best_metric(kind) || row_metric(kind))
		printf(" %-*s", best_width(kind), unit ? "" : row_metric(kind) ? "won vs ref" : "best ref");
	printf(" %9s\n", unit ? "" : "noise");
}

static void term_row(const struct report *r, const char *name, const struct cell *a, int kind,
                     int nw)
{
	char b1[64], b2[32], range[48];
	const struct metric *mt;
	if (!a->n) {
		printf("%-*s %s %s\n", nw, name,
		       a->failed ? "FAILED:" : a->skipped ? "skipped:" : "not run", a->why);
		return;
	}
	printf("%-*s", nw, name);
	for (int col = 1; (mt = at_col(kind, col)); col++) {
		struct stat3 st = stat_of(a, (int)(mt - metrics));
		printf(" %*s", mt->width, fmt_val(b1, sizeof(b1), mt, st.med));
		if (mt->range) {
			snprintf(range, sizeof(range), " [%s - %s]", fmt_val(b1, 32, mt, st.min),
			         fmt_val(b2, 32, mt, st.max));
			printf(" %-*s", range_width(mt), range);
		}
	}
	if (best_metric(kind) || row_metric(kind))
		printf(" %-*s", best_width(kind), best_text(b1, sizeof(b1), a, kind));
	printf(" %9s%s\n", noise_text(b2, sizeof(b2), r, a, kind),
	       a->failed ? "  (some reps FAILED)" : "");
}

static void term_tables(const struct report *r)
{
	for (int k = 0; k < RK_N; k++) {
		int nw = name_width(r, k);
		if (!any_shown(r, k))
			continue;           /* no transport of this kind selected */
		if (!r->on[k]) {
			printf("\n%s cases: skipped (%s)\n", kinds[k].name, r->not_run[k]);
			continue;
		}
		int units = 0;
		for (int m = 0; m < NMETRIC; m++)
			units |= metrics[m].kind == k && metrics[m].unit;
		for (int s = 0; s < r->nsizes[k]; s++) {
			printf("\n");
			printf(kinds[k].title, r->sizes[k][s]);
			printf("\n");
			if (k == RK_MPMC || k == RK_BCAST) {
				char pl[512];
				printf("placement: %s\n", k == RK_MPMC ? mpmc_placement(r, pl, sizeof(pl))
				                                       : bcast_placement(r, pl, sizeof(pl)));
			}
			term_heading(k, 0, nw);
			if (units)
				term_heading(k, 1, nw);
			for (size_t ti = 0; ti < r->ntrans; ti++)
				if (shown(r, ti, k))
					term_row(r, r->trans[ti]->name, &cells[k][ti][s], k, nw);
		}
	}
}

void report_terminal(const struct report *r)
{
	int marked = 0, measured = 0, rows = 0, noisy_rows = 0, spread_rows = 0;
	for (int k = 0; k < RK_N; k++)
		for (size_t ti = 0; ti < r->ntrans; ti++)
			for (int s = 0; r->on[k] && shown(r, ti, k) && s < r->nsizes[k]; s++) {
				const struct cell *a = &cells[k][ti][s];
				double sp = spread(a, k);
				marked += noise_marks(a);
				measured += a->n;
				rows += a->n > 0;
				noisy_rows += a->n > 0 && row_noisy(r, a, k);
				spread_rows += !isnan(sp) && sp > r->noise_spread;
			}
	term_summary(r);
	legend_transports(r);
	legend_columns(r);
	term_tables(r);
	/* the futex budget line for the saturated blocking SPSC stream */
	size_t spsc_i = trans_index(r, "shm-spsc");
	if (r->on[RK_STREAM] && spsc_i < r->ntrans && r->use[spsc_i]) {
		const struct cell *sp = cells[RK_STREAM][spsc_i];
		printf("\nfutex calls per 1000 messages, saturated blocking SPSC stream (shm-spsc;"
		       " shmring_stats waits + wakes; wait policy: spin %.0f ns):\n ",
		       stat_of(&sp[0], M_SPIN).med);
		for (int s = 0; s < r->nsizes[RK_STREAM]; s++) {
			struct stat3 fx = stat_of(&sp[s], M_FUTEX);
			printf(" %zu B: %.3f [%.3f - %.3f]%s", r->sizes[RK_STREAM][s], fx.med, fx.min,
			       fx.max, s + 1 < r->nsizes[RK_STREAM] ? ";" : "");
		}
		printf("\n");
	}
	printf("\nnoisy rows: %d of %d (reps spread more than %.3gx: %d; the cache-line round"
	       " trip moved more than %.0fx during the case: %d of %d measured cases)\n",
	       noisy_rows, rows, r->noise_spread, spread_rows, NOISE_RATIO, marked, measured);
	printf("\n%d cases in %.1f s; placement %s; %s\n", r->cases, r->elapsed_s,
	       r->m.placement, r->failed ? "SOME CASES FAILED (see above)" : "every message verified");
}
