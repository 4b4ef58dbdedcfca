/* SPDX-License-Identifier: MIT */
/*
 * report_files.c - the run's results as JSON (format 3: the summary, the
 * legend's transports, then one record per line) and CSV (one row per
 * record; the summary is the rows with in_summary 1), from the cells and the
 * metric table of report.c: a case no repetition measured says why
 * ("skipped": an option or a limit; "failed").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "report_int.h"

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "ipc_bench: %s: %s\n", path, strerror(errno));
	return f;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, const char *key, const char *suffix, double v)
{
	if (isnan(v) || isinf(v))
		fprintf(f, ",\"%s%s\":null", key, suffix);
	else
		fprintf(f, ",\"%s%s\":%.6g", key, suffix, v);
}

static void json_array(FILE *f, const char *key, const struct cell *a, int m)
{
	fprintf(f, ",\"%s\":[", key);
	for (int i = 0; i < a->n; i++) {
		double v = a->v[i][m];
		if (isnan(v) || isinf(v))
			fprintf(f, "%snull", i ? "," : "");
		else
			fprintf(f, "%s%.6g", i ? "," : "", v);
	}
	fputc(']', f);
}

/* a case no repetition measured: why (an option, a limit, a failure) */
static const char *unmeasured(const struct report *r, const struct cell *a, int kind)
{
	if (a->failed || a->skipped)
		return a->why;
	return r->on[kind] ? "not run (interrupted)" : r->not_run[kind];
}

static void json_record(FILE *f, const struct report *r, const struct transport *t,
                        const struct cell *a, int kind, size_t size)
{
	char key[80];
	fprintf(f, "{\"kind\":\"%s\",\"transport\":\"%s\",\"size\":%zu", kinds[kind].name,
	        t->name, size);
	fprintf(f, ",\"reps\":%d,\"placement\":\"%s\"", a->n, row_placement(r, t));
	if (a->failed) {
		fprintf(f, ",\"failed_reps\":%d,\"failed\":", a->failed);
		json_str(f, a->why);
	}
	if (!a->n) {
		if (!a->failed) {
			fprintf(f, ",\"skipped\":");
			json_str(f, unmeasured(r, a, kind));
		}
		fprintf(f, "}");
		return;
	}
	int first = -1;
	for (int m = 0; m < NMETRIC; m++) {
		if (!of_kind(&metrics[m], kind))
			continue;
		if (metrics[m].csv_flags & PER_REP) {
			json_array(f, metrics[m].key, a, m);
			continue;
		}
		struct stat3 st = stat_of(a, m);
		json_num(f, metrics[m].key, "", st.med);
		json_num(f, metrics[m].key, "_min", st.min);
		json_num(f, metrics[m].key, "_max", st.max);
		if (first < 0)
			first = m;
	}
	/* which reference was the better one, each repetition */
	const struct metric *bm = best_metric(kind);
	if (bm) {
		int c1, c2;
		best_counts(a, &c1, &c2);
		fprintf(f, ",\"%s_best\":[", bm->key);
		for (int i = 0; i < a->n; i++)
			fprintf(f, i ? ",%s%s%s" : "%s%s%s", a->best[i] < 0 ? "" : "\"",
			        a->best[i] < 0 ? "null" : a->best[i] ? bm->vs2 : bm->vs,
			        a->best[i] < 0 ? "" : "\"");
		fprintf(f, "],\"%s_best_count\":{\"%s\":%d,\"%s\":%d}", bm->key, bm->vs, c1,
		        bm->vs2, c2);
	}
	/* a row's own yardstick: which, and whether the row was the faster, each
	 * repetition (null: the yardstick was not measured in it) */
	const struct metric *rm = row_metric(kind);
	if (rm) {
		int lost, won;
		best_counts(a, &lost, &won);
		fprintf(f, ",\"%s_vs\":", rm->key);
		if (a->vs)
			json_str(f, a->vs);
		else
			fputs("null", f);
		fprintf(f, ",\"%s_won\":[", rm->key);
		for (int i = 0; i < a->n; i++)
			fprintf(f, "%s%s", i ? "," : "",
			        a->best[i] < 0 ? "null" : a->best[i] ? "true" : "false");
		fprintf(f, "],\"%s_wins\":%d", rm->key, won);
	}
	/* the noise: the spread of the lead metric over the reps, the
	 * repetitions (1-based) whose line round trip moved > 2x, and the
	 * verdict of the two (the terminal's noise column) */
	json_num(f, "spread", "", spread(a, kind));
	fprintf(f, ",\"noisy\":%s", row_noisy(r, a, kind) ? "true" : "false");
	fprintf(f, ",\"noise_marks\":%d,\"noisy_reps\":[", noise_marks(a));
	for (int i = 0, k = 0; i < a->n; i++)
		if (noisy(a, i))
			fprintf(f, "%s%d", k++ ? "," : "", a->rep[i] + 1);
	fputc(']', f);
	/* every rep of the kind's first metric, and which repetition it was */
	snprintf(key, sizeof(key), "per_rep_%s", metrics[first].key);
	json_array(f, key, a, first);
	fprintf(f, ",\"per_rep_index\":[");
	for (int i = 0; i < a->n; i++)
		fprintf(f, "%s%d", i ? "," : "", a->rep[i] + 1);
	fprintf(f, "]}");
}

/* the summary's lines: per kind and size (and shape) the fastest row and
 * shmring's row with its ratios; "table", not "kind", so that a line reader
 * looking for result records (tools/plot.sh) passes them by */
static void json_summary(FILE *f, const struct report *r)
{
	static struct sum_line L[MAX_SUM];
	int n = summary_lines(r, L, MAX_SUM);
	char key[80], b[64];
	fprintf(f, "\"summary\":[");
	for (int i = 0; i < n; i++) {
		const struct sum_line *l = &L[i];
		const char *lead = metrics[kinds[l->kind].lead].key;
		const struct cell *a = l->ours < r->ntrans ? &cells[l->kind][l->ours][l->si] : NULL;
		const struct cell *q = l->fast < r->ntrans ? &cells[l->kind][l->fast][l->si] : NULL;
		fprintf(f, "%s\n{\"table\":\"%s\",\"size\":%zu,\"fastest\":", i ? "," : "",
		        kinds[l->kind].name, r->sizes[l->kind][l->si]);
		if (q)
			json_str(f, r->trans[l->fast]->name);
		else
			fputs("null", f);
		snprintf(key, sizeof(key), "fastest_%s", lead);
		json_num(f, key, "", q ? stat_of(q, kinds[l->kind].lead).med : NAN);
		fprintf(f, ",\"shmring\":");
		json_str(f, a ? r->trans[l->ours]->name : kinds[l->kind].ours);
		snprintf(key, sizeof(key), "shmring_%s", lead);
		json_num(f, key, "", a ? stat_of(a, kinds[l->kind].lead).med : NAN);
		for (int col = 1; col <= 3; col++) {
			const struct metric *mt = at_sum(l->kind, col);
			if (mt)
				json_num(f, mt->key, "", a ? stat_of(a, (int)(mt - metrics)).med : NAN);
		}
		fprintf(f, ",\"better_ref\":");
		json_str(f, a && a->n ? best_text(b, sizeof(b), a, l->kind) : "-");
		fprintf(f, ",\"noisy\":%s}", a && a->n && row_noisy(r, a, l->kind) ? "true" : "false");
	}
	fprintf(f, "],\n");
}

/* the legend's transports: name and what it is */
static void json_transports(FILE *f, const struct report *r)
{
	const char *sep = "";
	fprintf(f, "\"transports\":[");
	for (size_t ti = 0; ti < r->ntrans; ti++) {
		int any = 0;
		for (int k = 0; k < RK_N; k++)
			any |= r->on[k] && shown(r, ti, k);
		if (!any)
			continue;
		fprintf(f, "%s\n{\"name\":", sep);
		json_str(f, r->trans[ti]->name);
		fprintf(f, ",\"what\":");
		json_str(f, r->trans[ti]->what);
		fputc('}', f);
		sep = ",";
	}
	fprintf(f, "],\n");
}

int report_json(const struct report *r, const char *path)
{
	FILE *f = open_out(path);
	if (!f)
		return -1;
	fprintf(f, "{\"tool\":\"shmring ipc_bench\",\"format\":3,\n\"machine\":{\"cpu\":");
	json_str(f, r->m.cpu);
	fprintf(f, ",\"cpus_online\":%ld,\"kernel\":", r->m.online);
	json_str(f, r->m.kernel);
	fprintf(f, ",\"compiler\":");
	json_str(f, __VERSION__);
	fprintf(f, ",\"cflags\":");
	json_str(f, BENCH_CFLAGS);
	fprintf(f, "},\n\"config\":{\"reps\":%d,\"duration_s\":%g,\"placement\":", r->reps,
	        r->duration);
	json_str(f, r->m.placement);
	fprintf(f, ",\"placement_detail\":");
	json_str(f, r->m.placement_detail);
	char pl[512];
	fprintf(f, ",\"mpmc_placement\":");
	json_str(f, mpmc_placement(r, pl, sizeof(pl)));
	fprintf(f, ",\"bcast_placement\":");
	json_str(f, bcast_placement(r, pl, sizeof(pl)));
	int marked = 0, measured = 0, rows = 0, noisy_rows = 0;
	for (int k = 0; k < RK_N; k++)
		for (size_t ti = 0; ti < r->ntrans; ti++)
			for (int s = 0; shown(r, ti, k) && s < r->nsizes[k]; s++) {
				const struct cell *a = &cells[k][ti][s];
				marked += noise_marks(a);
				measured += a->n;
				rows += a->n > 0;
				noisy_rows += a->n > 0 && row_noisy(r, a, k);
			}
	fprintf(f, ",\"noise_ratio\":%g,\"noise_marks\":%d,\"measured_cases\":%d", NOISE_RATIO,
	        marked, measured);
	fprintf(f, ",\"noise_spread\":%g,\"rows\":%d,\"noisy_rows\":%d", r->noise_spread, rows,
	        noisy_rows);
	fprintf(f, ",\"elapsed_s\":%.1f,\"failed_cases\":%d},\n", r->elapsed_s, r->failed);
	json_summary(f, r);
	json_transports(f, r);
	fprintf(f, "\"results\":[\n");
	/* every selected transport and size of both kinds, run or not: a case
	 * not measured says why ("skipped": an option or a limit; "failed") */
	const char *sep = "";
	for (int k = 0; k < RK_N; k++)
		for (size_t ti = 0; ti < r->ntrans; ti++)
			for (int s = 0; shown(r, ti, k) && s < r->nsizes[k]; s++) {
				fputs(sep, f);
				sep = ",\n";
				json_record(f, r, r->trans[ti], &cells[k][ti][s], k, r->sizes[k][s]);
			}
	fprintf(f, "\n]}\n");
	fclose(f);
	return 0;
}

/* the metric in CSV column col, or NULL; kind >= 0: the kind's own metric
 * there if it has one (the kinds share a column where the figure is the
 * same, e.g. msgs_per_s), else the first */
static const struct metric *at_csv(int col, int kind)
{
	const struct metric *first = NULL;
	for (int m = 0; m < NMETRIC; m++)
		if (metrics[m].csv == col) {
			if (metrics[m].kind == kind)
				return &metrics[m];
			if (!first)
				first = &metrics[m];
		}
	return first;
}

static void csv_row(FILE *f, const struct report *r, size_t ti, int kind, int si)
{
	const struct transport *t = r->trans[ti];
	const struct cell *a = &cells[kind][ti][si];
	size_t size = r->sizes[kind][si];
	const struct metric *mt;
	char b[64];
	fprintf(f, "%s,%s,%zu,%d", kinds[kind].name, t->name, size, a->n);
	for (int col = 1; (mt = at_csv(col, kind)); col++) {
		struct stat3 st = stat_of(a, (int)(mt - metrics));
		if (mt->kind != kind || !a->n)
			fputs(mt->csv_flags & CSV_RANGE ? ",,," : ",", f);
		else if (mt->csv_flags & CSV_RANGE)
			fprintf(f, ",%.6g,%.6g,%.6g", st.med, st.min, st.max);
		else if (isnan(st.med) && !(mt->csv_flags & CSV_RAW))
			fputs(",", f);
		else
			fprintf(f, ",%.6g", st.med);
	}
	/* after the metric columns: the better reference, the noise, the
	 * fastest row of the size (and shape) and whether the summary reports
	 * this row, where the sides ran, and what became of the case */
	fprintf(f, ",%s,%d", a->n ? best_text(b, sizeof(b), a, kind) : "", noise_marks(a));
	fprintf(f, ",%.6g,%.6g", stat_of(a, N_RTT0).med, stat_of(a, N_RTT1).med);
	double sp = spread(a, kind);
	if (isnan(sp))
		fputs(",", f);
	else
		fprintf(f, ",%.6g", sp);
	size_t fast = fastest(r, kind, si, kinds[kind].shaped ? t : NULL);
	fprintf(f, ",%d,%s,%d", a->n && row_noisy(r, a, kind),
	        fast < r->ntrans ? r->trans[fast]->name : "", in_summary(r, kind, ti));
	fprintf(f, ",%s,", row_placement(r, t));
	const char *why = a->n && !a->failed ? NULL : unmeasured(r, a, kind);
	if (!why)
		fputs("ok", f);
	else {
		/* quoted: the reason may hold commas */
		fprintf(f, "\"%s%s: ", a->n ? "some reps " : "", a->failed ? "failed" : "skipped");
		for (; *why; why++)
			fprintf(f, *why == '"' ? "\"\"" : "%c", *why);
		fputc('"', f);
	}
	fprintf(f, "\n");
}

int report_csv(const struct report *r, const char *path)
{
	const struct metric *mt;
	FILE *f = open_out(path);
	if (!f)
		return -1;
	fprintf(f, "kind,transport,size,reps");
	for (int col = 1; (mt = at_csv(col, -1)); col++)
		if (mt->csv_flags & CSV_RANGE)
			fprintf(f, ",%s,%s_min,%s_max", mt->key, mt->key, mt->key);
		else
			fprintf(f, ",%s", mt->key);
	fprintf(f, ",best_ref,noise_marks,line_rtt_before_ns,line_rtt_after_ns,spread,noisy,"
	        "fastest,in_summary,placement,status\n");
	for (int k = 0; k < RK_N; k++)
		for (size_t ti = 0; ti < r->ntrans; ti++)
			for (int s = 0; shown(r, ti, k) && s < r->nsizes[k]; s++)
				csv_row(f, r, ti, k, s);
	fclose(f);
	return 0;
}
