/* SPDX-License-Identifier: MIT */
/*
 * msgloop.c - the out-of-line parts of the per-message loops (msgloop.h):
 * checking a received message's stamps and sequence, and the round-trip
 * samples and their percentiles.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "msgloop.h"

int chk_msg(struct checker *k, const void *msg, size_t len, size_t size, char *err, size_t errlen)
{
	/* the head word first, the length after it: the order the compiled
	 * check has always had (see msgloop.h on why the loops stay as they were) */
	uint64_t w = msg_word(msg), tail = w;
	if (len != size) {
		snprintf(err, errlen, "message %llu: length %zu, expected %zu",
		         (unsigned long long)k->total, len, size);
		return -1;
	}
	if (size >= 16)
		memcpy(&tail, (const char *)msg + size - 8, sizeof(tail));
	unsigned id = (unsigned)(w >> SEQ_ID_SHIFT);
	uint64_t n = w & SEQ_MASK;
	if (id >= MAX_SIDE || tail != w) {
		snprintf(err, errlen, "message %llu: corrupt stamp %#llx / tail %#llx",
		         (unsigned long long)k->total, (unsigned long long)w,
		         (unsigned long long)tail);
		return -1;
	}
	if (k->strict ? n != k->next[id] : n < k->next[id]) {
		snprintf(err, errlen, "producer %u: sequence %llu, expected %s%llu", id,
		         (unsigned long long)n, k->strict ? "" : ">= ",
		         (unsigned long long)k->next[id]);
		return -1;
	}
	k->next[id] = n + 1;
	k->cnt[id]++;
	k->sum[id] += n;
	k->total++;
	return 0;
}

void chk_report(struct bctx *c, const struct checker *k)
{
	c->res->msgs = k->total;
	for (int i = 0; i < MAX_SIDE; i++) {
		c->res->seq_cnt[i] = k->cnt[i];
		c->res->seq_sum[i] = k->sum[i];
	}
}

int lat_init(struct bctx *c, struct lat_rec *l)
{
	memset(l, 0, sizeof(*l));
	l->cap = LAT_MAX_SAMPLES;
	l->ns = malloc(l->cap * sizeof(*l->ns));
	if (!l->ns)
		return side_fail(c, "out of memory for samples");
	/* touch the array now, not during the measurement */
	memset(l->ns, 0, l->cap * sizeof(*l->ns));
	return 0;
}

int lat_step(struct bctx *c, struct lat_rec *l, uint64_t i)
{
	if (i & 15)
		return 1;
	double t = now_s();
	if (!l->recording) {
		if (i >= LAT_WARMUP || t - c->sh->go_time > 0.05) {
			l->recording = 1;
			l->end = t + c->duration;
		}
		return 1;
	}
	return t < l->end && l->n < l->cap;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted samples */
static double pct(const uint64_t *v, uint64_t n, double p)
{
	uint64_t i = (uint64_t)ceil(p / 100.0 * (double)n);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (double)v[i - 1];
}

void lat_finish(struct bctx *c, struct lat_rec *l)
{
	struct side_result *r = c->res;
	r->samples = l->n;
	if (l->n) {
		qsort(l->ns, l->n, sizeof(*l->ns), cmp_u64);
		r->p50 = pct(l->ns, l->n, 50);
		r->p99 = pct(l->ns, l->n, 99);
		r->p999 = pct(l->ns, l->n, 99.9);
		r->max = (double)l->ns[l->n - 1];
		r->min = (double)l->ns[0];
		double sum = 0;
		for (uint64_t i = 0; i < l->n; i++)
			sum += (double)l->ns[i];
		r->mean = sum / (double)l->n;
	}
	free(l->ns);
	l->ns = NULL;
}
