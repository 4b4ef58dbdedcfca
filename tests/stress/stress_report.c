/* SPDX-License-Identifier: MIT */
/*
 * stress_report.c - the st_result of a round: its first failure, the sum
 * of several rounds, and the verdict line that run.sh counts and
 * docs/reliability.md quotes ("<tag>: PASS|FAIL seed=... msgs=..."; keep
 * every key=value field and its order).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "stress_internal.h"

const char *const st_op_names[OP_NOPS] = {
	"idle", "send", "send_burst", "reserve/commit", "recv", "recv_burst",
	"acquire/release", "open/close",
};
static const char *const err_names[E_NKINDS] = {
	"EAGAIN", "ETIMEDOUT", "EPIPE", "EBADMSG", "EPROTO", "EMSGSIZE", "EBUSY", "other",
};

enum st_err stress_err_kind(int rc)
{
	switch (rc) {
	case -EAGAIN: return E_AGAIN;
	case -ETIMEDOUT: return E_TIMEDOUT;
	case -EPIPE: return E_PIPE;
	case -EBADMSG: return E_BADMSG;
	case -EPROTO: return E_PROTO;
	case -EMSGSIZE: return E_MSGSIZE;
	case -EBUSY: return E_BUSY;
	default: return E_OTHER;
	}
}

void st_fail(struct st_result *res, const char *fmt, ...)
{
	if (res->failed)
		return;
	res->failed = 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
}

void stress_merge(struct st_result *a, const struct st_result *b)
{
	a->msgs += b->msgs;
	a->committed += b->committed;
	a->kills += b->kills;
	for (int k = 0; k < OP_NOPS; k++) {
		a->kills_by_op[k] += b->kills_by_op[k];
		a->pkills_by_op[k] += b->pkills_by_op[k];
	}
	for (int k = 0; k < E_NKINDS; k++)
		a->err[k] += b->err[k];
	a->lost += b->lost;
	a->lost_allowed += b->lost_allowed;
	a->dup += b->dup;
	a->redelivered += b->redelivered;
	a->doubt_recv += b->doubt_recv;
	a->doubt_absent += b->doubt_absent;
	a->reorder += b->reorder;
	a->corrupt += b->corrupt;
	a->phantom += b->phantom;
	a->overruns += b->overruns;
	a->hangs += b->hangs;
	a->crashes += b->crashes;
	a->wedges += b->wedges;
	a->wedges_prod += b->wedges_prod;
	a->stranded += b->stranded;
	a->abandoned += b->abandoned;
	if (b->max_call_ns > a->max_call_ns)
		a->max_call_ns = b->max_call_ns;
	if (b->failed && !a->failed) {
		a->failed = 1;
		memcpy(a->why, b->why, sizeof(a->why));
	}
}

void stress_ops_str(char *buf, size_t cap, const uint64_t by_op[OP_NOPS])
{
	size_t o = 0;
	buf[0] = '\0';
	for (int k = 0; k < OP_NOPS; k++)
		if (by_op[k] && o < cap)
			o += (size_t)snprintf(buf + o, cap - o, "%s%s:%" PRIu64, o ? "," : "",
			                      st_op_names[k], by_op[k]);
	if (!o)
		snprintf(buf, cap, "0");
}

void stress_verdict(const char *tag, const struct st_cfg *cfg, const struct st_result *r,
                    double secs)
{
	char kills[600] = "", errs[256] = "", pk[256], ck[256];
	size_t o = 0;
	if (r->kills) {
		uint64_t cons_by_op[OP_NOPS];
		for (int k = 0; k < OP_NOPS; k++)
			cons_by_op[k] = r->kills_by_op[k] - r->pkills_by_op[k];
		stress_ops_str(pk, sizeof(pk), r->pkills_by_op);
		stress_ops_str(ck, sizeof(ck), cons_by_op);
		snprintf(kills, sizeof(kills), " (producers: %s; consumers: %s)", pk, ck);
	}
	for (int k = 0; k < E_NKINDS; k++)
		if (r->err[k] && o < sizeof(errs))
			o += (size_t)snprintf(errs + o, sizeof(errs) - o, "%s%s:%" PRIu64,
			                      o ? "," : "", err_names[k], r->err[k]);
	printf("%s: %s seed=%" PRIu64 " time=%.1fs msgs=%" PRIu64 " committed=%" PRIu64
	       " kills=%" PRIu64 "%s lost=%" PRIu64 " (allowed %" PRIu64 ") dup=%" PRIu64
	       " redelivered=%" PRIu64 " in-doubt=%" PRIu64 "/%" PRIu64 " reorder=%" PRIu64
	       " corrupt=%" PRIu64 " phantom=%" PRIu64 " hangs=%" PRIu64 " crashes=%" PRIu64
	       " overruns=%" PRIu64 " wedged=%" PRIu64 " (producer:%" PRIu64 ",consumer:%" PRIu64 ")"
	       " abandoned=%" PRIu64 " stranded=%" PRIu64 " max_call=%.0fms errors=[%s]%s%s\n",
	       tag, r->failed ? "FAIL" : "PASS", cfg->seed, secs, r->msgs, r->committed,
	       r->kills, kills, r->lost, r->lost_allowed, r->dup, r->redelivered,
	       r->doubt_recv, r->doubt_recv + r->doubt_absent, r->reorder, r->corrupt,
	       r->phantom, r->hangs, r->crashes, r->overruns, r->wedges, r->wedges_prod,
	       r->wedges - r->wedges_prod, r->abandoned, r->stranded,
	       (double)r->max_call_ns / 1e6, errs, r->failed ? " why: " : "",
	       r->failed ? r->why : "");
	fflush(stdout);
}
