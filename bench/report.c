/* SPDX-License-Identifier: MIT */
/*
 * report.c - the results of a run: one cell per kind x transport x size
 * holding every repetition's metrics, the ratios to the yardsticks (pipe;
 * the better of the two reference rings, ref-ring and ref-ff; for the MPMC
 * shapes the better of ref-vyukov-yield and ref-vyukov-spin of the row's
 * shape) measured in the same repetition, the noise marks, and the
 * terminal tables (JSON and CSV: report_files.c). The metric table below
 * drives all three outputs: add a metric there and it shows in the
 * terminal, the JSON and the CSV.
 *
 * Noise marks: run_case() measures a cache-line round trip between the
 * case's two CPUs just before and just after the case; a repetition whose
 * two figures differ by more than NOISE_RATIO either way is marked (the
 * host moved the vCPUs during the case, NOTES.md), and the tables count the
 * marked repetitions of each case.
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
/* in JSON order within each kind */
const struct metric metrics[NMETRIC] = {
	[M_MPS]   = {RK_STREAM, "msgs_per_s", AT(mps), .csv = 1, .csv_flags = CSV_RANGE,
	             .col = 1, .head = "msgs/s", .width = 8, .fmt = F_SI_RANGE},
	[M_BPS]   = {RK_STREAM, "bytes_per_s", AT(bps), .csv = 2,
	             .col = 2, .head = "bytes/s", .width = 9, .fmt = F_SI},
	[M_PCPU]  = {RK_STREAM, "prod_cpu_s_per_M", AT(pcpu), .csv = 4, .col = 5,
	             .head = "prodCPU", .unit = "s/Mmsg", .width = 8, .fmt = F_FIXED, .prec = 3},
	[M_CCPU]  = {RK_STREAM, "cons_cpu_s_per_M", AT(ccpu), .csv = 5, .col = 6,
	             .head = "consCPU", .unit = "s/Mmsg", .width = 8, .fmt = F_FIXED, .prec = 3},
	[M_FUTEX] = {RK_STREAM, "futex_per_1k", AT(futex), .csv = 6, .col = 7,
	             .head = "futex/1k", .unit = "msgs", .width = 9, .fmt = F_FIXED, .prec = 3},
	[M_XPIPE] = {RK_STREAM, "x_pipe", .vs = "pipe", .of = M_MPS, .csv = 3,
	             .col = 3, .head = "x pipe", .width = 7, .fmt = F_RATIO},
	[M_SPIN]  = {RK_STREAM, "spin_ns", AT(spin_ns), .col = 0},
	[M_XREF]  = {RK_STREAM, "x_ref", .vs = "ref-ring", .vs2 = "ref-ff", .of = M_MPS,
	             .csv = 13, .col = 4, .head = "x ref", .width = 6, .fmt = F_RATIO},
	[L_P50]   = {RK_LATENCY, "p50_ns", AT(p50), .csv = 7, .csv_flags = CSV_RAW,
	             .col = 1, .head = "p50", .width = 9, .fmt = F_FIXED, .prec = 2, .div = 1e3},
	[L_P99]   = {RK_LATENCY, "p99_ns", AT(p99), .csv = 8, .csv_flags = CSV_RAW,
	             .col = 2, .head = "p99", .width = 9, .fmt = F_FIXED, .prec = 2, .div = 1e3},
	[L_P999]  = {RK_LATENCY, "p999_ns", AT(p999), .csv = 9, .csv_flags = CSV_RAW,
	             .col = 3, .head = "p99.9", .width = 9, .fmt = F_FIXED, .prec = 2, .div = 1e3},
	[L_MAX]   = {RK_LATENCY, "max_ns", AT(max), .csv = 10, .csv_flags = CSV_RAW,
	             .col = 4, .head = "max", .width = 9, .fmt = F_FIXED, .prec = 1, .div = 1e3},
	[L_SAMPLES] = {RK_LATENCY, "samples", AT(samples), .csv = 11, .csv_flags = CSV_RAW,
	             .col = 5, .head = "samples", .width = 9, .fmt = F_SI},
	[L_XPIPE] = {RK_LATENCY, "x_pipe_p50", .vs = "pipe", .of = L_P50, .invert = 1,
	             .csv = 12, .csv_flags = CSV_RAW, .col = 7, .head = "x pipe p50",
	             .width = 11, .fmt = F_RATIO},
	[L_MEAN]  = {RK_LATENCY, "mean_ns", AT(mean), .csv = 14, .csv_flags = CSV_RAW,
	             .col = 6, .head = "mean", .width = 9, .fmt = F_FIXED, .prec = 2, .div = 1e3},
	[L_XREF]  = {RK_LATENCY, "x_ref_p50", .vs = "ref-ring", .vs2 = "ref-ff", .of = L_P50,
	             .invert = 1, .csv = 15, .col = 8, .head = "x ref p50", .width = 10,
	             .fmt = F_RATIO},
	/* the MPMC shapes: the stream's keys and CSV columns where the figure is
	 * the same, x ref against ref-vyukov of the row's shape, and the
	 * per-message costs of oversubscription (futex, membarrier, sched_yield
	 * calls and context switches, all processes of the case) */
	[P_MPS]   = {RK_MPMC, "msgs_per_s", AT(mps), .csv = 1, .csv_flags = CSV_RANGE,
	             .col = 1, .head = "msgs/s", .width = 8, .fmt = F_SI_RANGE},
	[P_BPS]   = {RK_MPMC, "bytes_per_s", AT(bps), .csv = 2,
	             .col = 2, .head = "bytes/s", .width = 9, .fmt = F_SI},
	[P_XREF]  = {RK_MPMC, "x_ref", .vs = "ref-vyukov-yield", .vs2 = "ref-vyukov-spin",
	             .shaped = 1, .of = P_MPS, .csv = 13, .col = 3, .head = "x ref", .width = 6,
	             .fmt = F_RATIO},
	[P_PCPU]  = {RK_MPMC, "prod_cpu_s_per_M", AT(pcpu), .csv = 4, .col = 4,
	             .head = "prodCPU", .unit = "s/Mmsg", .width = 8, .fmt = F_FIXED, .prec = 3},
	[P_CCPU]  = {RK_MPMC, "cons_cpu_s_per_M", AT(ccpu), .csv = 5, .col = 5,
	             .head = "consCPU", .unit = "s/Mmsg", .width = 8, .fmt = F_FIXED, .prec = 3},
	[P_FUTEX] = {RK_MPMC, "futex_per_1k", AT(futex), .csv = 6, .col = 6,
	             .head = "futex/1k", .unit = "msgs", .width = 9, .fmt = F_FIXED, .prec = 3},
	[P_MEMB]  = {RK_MPMC, "membarrier_per_1k", AT(memb), .csv = 16, .col = 7,
	             .head = "membar/1k", .unit = "msgs", .width = 9, .fmt = F_FIXED, .prec = 3},
	[P_YIELD] = {RK_MPMC, "yield_per_1k", AT(yield), .csv = 17, .col = 8,
	             .head = "yield/1k", .unit = "msgs", .width = 9, .fmt = F_FIXED, .prec = 1},
	[P_CSW]   = {RK_MPMC, "csw_per_1k", AT(csw), .csv = 18, .col = 9,
	             .head = "csw/1k", .unit = "msgs", .width = 8, .fmt = F_FIXED, .prec = 3},
	[P_SPIN]  = {RK_MPMC, "spin_ns", AT(spin_ns), .col = 0},
	[N_RTT0]  = {RK_ANY, "line_rtt_before_ns", AT(rtt_before), .csv_flags = PER_REP},
	[N_RTT1]  = {RK_ANY, "line_rtt_after_ns", AT(rtt_after), .csv_flags = PER_REP},
};
#undef AT

const struct kind_desc kinds[RK_N] = {
	[RK_STREAM] = {"stream", "streaming, %zu B messages", TK_STREAM},
	[RK_LATENCY] = {"latency", "round trip (ping-pong), %zu B each way; microseconds,"
	                " medians over reps of each percentile", TK_LATENCY},
	[RK_MPMC] = {"mpmc", "MPMC shapes (NxM: N producer x M consumer processes), %zu B"
	             " messages, rings of " STR(MPMC_SLOTS) " slots; x ref: the better of"
	             " ref-vyukov-yield and ref-vyukov-spin of the same shape in the same rep",
	             TK_MPMC},
};

const char *row_placement(const struct report *r, const struct transport *t)
{
	return t->unpinned ? "none" : r->m.placement;
}

/* "1x1, 2x2" style: the selected MPMC shapes that ran pinned (or not) */
static void shapes(const struct report *r, int unpinned, char *buf, size_t len)
{
	buf[0] = 0;
	for (size_t ti = 0; ti < r->ntrans; ti++) {
		const struct transport *t = r->trans[ti];
		char one[16];
		if (!shown(r, ti, RK_MPMC) || !t->unpinned != !unpinned)
			continue;
		snprintf(one, sizeof(one), "%dx%d", t->nprod, t->ncons);
		if (!strstr(buf, one))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", one);
	}
}

const char *mpmc_placement(const struct report *r, char *buf, size_t len)
{
	char pinned[64], loose[64];
	shapes(r, 0, pinned, sizeof(pinned));
	shapes(r, 1, loose, sizeof(loose));
	size_t n = 0;
	buf[0] = 0;
	if (pinned[0])
		n = (size_t)snprintf(buf, len, "%s as --placement %s (%s)%s", pinned,
		                     r->m.placement, r->m.placement_detail, loose[0] ? "; " : "");
	if (loose[0] && n < len)
		snprintf(buf + n, len - n, "%s not pinned: the scheduler places the processes on"
		         " the %ld CPUs online, as in a worker pool in a container", loose,
		         r->m.online);
	return buf;
}

int of_kind(const struct metric *mt, int kind)
{
	return mt->kind == kind || mt->kind == RK_ANY;
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
		v[m] = of_kind(mt, kind) && !mt->vs ? *(const double *)((const char *)o + mt->off)
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

static size_t trans_index(const struct report *r, const char *name)
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
		if (!mt->vs)
			continue;
		size_t j = trans_index(r, mt->vs), j2 = trans_index(r, mt->vs2);
		for (size_t ti = 0; ti < r->ntrans; ti++)
			for (int s = 0; s < MAX_SIZES; s++) {
				if (mt->shaped) {
					j = shape_index(r, mt->vs, r->trans[ti]);
					j2 = shape_index(r, mt->vs2, r->trans[ti]);
				}
				struct cell *a = &cells[mt->kind][ti][s];
				const struct cell *p = j < r->ntrans ? &cells[mt->kind][j][s] : NULL;
				const struct cell *p2 = j2 < r->ntrans ? &cells[mt->kind][j2][s] : NULL;
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

/* "ring 2 ff 7" style: "ref-ff 7/9", the winner and its count */
const char *best_text(char *buf, size_t len, const struct cell *a, int kind)
{
	const struct metric *mt = best_metric(kind);
	int c1, c2;
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
	if (mt->fmt == F_SI || mt->fmt == F_SI_RANGE)
		return si(buf, len, v);
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (mt->fmt == F_RATIO)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.*f", mt->prec, mt->div ? v / mt->div : v);
	return buf;
}

/* the transports of a kind that this run selected */
int shown(const struct report *r, size_t ti, int kind)
{
	return r->use[ti] && (r->trans[ti]->kinds & kinds[kind].tk);
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

/* terminal: the best ref column, as wide as "<longer yardstick> 64/64" */
static int best_width(int kind)
{
	const struct metric *mt = best_metric(kind);
	size_t w = 14;
	if (mt && strlen(mt->vs) + 6 > w)
		w = strlen(mt->vs) + 6;
	if (mt && strlen(mt->vs2) + 6 > w)
		w = strlen(mt->vs2) + 6;
	return (int)w;
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
	printf("reps %d (interleaved), %.3g s per case; medians, [min-max] over reps;"
	       " x pipe / x ref = median over reps of the ratio to 'pipe' / the better of"
	       " 'ref-ring' and 'ref-ff' of the same size in the same rep ('best ref': which"
	       " was better, in how many reps); noise: reps whose cache-line round trip"
	       " between the two CPUs moved > %.0fx from before the case to after it\n",
	       r->reps, r->duration, NOISE_RATIO);
	if (r->on[RK_MPMC] && any_shown(r, RK_MPMC)) {
		char pl[512];
		printf("MPMC shapes: x ref against the better of ref-vyukov-yield and"
		       " ref-vyukov-spin of the same shape in the same rep; futex, membarrier and"
		       " sched_yield calls and context switches (all processes) per 1000 messages;"
		       " placement: %s\n", mpmc_placement(r, pl, sizeof(pl)));
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

/* a heading line (unit 0) or the units line under it (unit 1) */
static void term_heading(int kind, int unit, int nw)
{
	printf("%-*s", nw, unit ? "" : "transport");
	const struct metric *mt;
	for (int col = 1; (mt = at_col(kind, col)); col++) {
		const char *h = unit ? (mt->unit ? mt->unit : "") : mt->head;
		printf(" %*s", mt->width, h);
		if (mt->fmt == F_SI_RANGE)
			printf(" %-17s", unit ? "" : " [min - max]");
	}
	if (best_metric(kind))
		printf(" %-*s", best_width(kind), unit ? "" : "best ref");
	printf(" %5s\n", unit ? "" : "noise");
}

static void term_row(const char *name, const struct cell *a, int kind, int nw)
{
	char b1[64], b2[32], range[40];
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
		if (mt->fmt == F_SI_RANGE) {
			snprintf(range, sizeof(range), " [%s - %s]", si(b1, 32, st.min),
			         si(b2, 32, st.max));
			printf(" %-17s", range);
		}
	}
	if (best_metric(kind))
		printf(" %-*s", best_width(kind), best_text(b1, sizeof(b1), a, kind));
	int nm = noise_marks(a);
	snprintf(b2, sizeof(b2), "%d/%d", nm, a->n);
	printf(" %5s%s", nm ? b2 : "-", a->failed ? "  (some reps FAILED)" : "");
	printf("\n");
}

void report_terminal(const struct report *r)
{
	int marked = 0, measured = 0;
	for (int k = 0; k < RK_N; k++) {
		int nw = name_width(r, k);
		if (!any_shown(r, k))
			continue;           /* no transport of this kind selected */
		if (!r->on[k]) {
			printf("\n%s cases: skipped (%s)\n", kinds[k].name, r->not_run[k]);
			continue;
		}
		for (size_t ti = 0; ti < r->ntrans; ti++)
			for (int s = 0; shown(r, ti, k) && s < r->nsizes[k]; s++) {
				marked += noise_marks(&cells[k][ti][s]);
				measured += cells[k][ti][s].n;
			}
		int units = 0;
		for (int m = 0; m < NMETRIC; m++)
			units |= metrics[m].kind == k && metrics[m].unit;
		for (int s = 0; s < r->nsizes[k]; s++) {
			printf("\n");
			printf(kinds[k].title, r->sizes[k][s]);
			printf("\n");
			if (k == RK_MPMC) {
				char pl[512];
				printf("placement: %s\n", mpmc_placement(r, pl, sizeof(pl)));
			}
			term_heading(k, 0, nw);
			if (units)
				term_heading(k, 1, nw);
			for (size_t ti = 0; ti < r->ntrans; ti++)
				if (shown(r, ti, k))
					term_row(r->trans[ti]->name, &cells[k][ti][s], k, nw);
		}
	}
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
	printf("\nnoise marks: %d of %d measured cases (cache-line round trip moved > %.0fx"
	       " during the case)\n", marked, measured, NOISE_RATIO);
	printf("\n%d cases in %.1f s; placement %s; %s\n", r->cases, r->elapsed_s,
	       r->m.placement, r->failed ? "SOME CASES FAILED (see above)" : "every message verified");
}
