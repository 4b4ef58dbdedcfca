/* SPDX-License-Identifier: MIT */
/*
 * stress_ledger.c - the ledger that proves exactly-once delivery: what the
 * workers write into it (receipts, error counts, call times, the first
 * failure), what the supervisor writes into it when it kills a worker, and
 * the tally that turns it into an st_result at the end of a round.
 *
 * The ledger (an anonymous MAP_SHARED mapping made before fork, or plain
 * memory shared by threads) holds, per producer role:
 *   next_seq     every sequence below it was sent (send returned success)
 *                or is "in doubt" (its sender was killed inside the call);
 *   attempt_end  stored before each send call: [next_seq, attempt_end) is
 *                in flight. When a producer is killed the supervisor marks
 *                that range in doubt (delivered at most once, either is
 *                fine) and the replacement continues at attempt_end;
 * and one bit per (producer, sequence) set by the consumer that received
 * it (atomic fetch_or: a bit already set is a duplicate).
 *
 * Consumers record what they are doing (op) and, for zero-copy, which
 * message they hold between acquire and release, so that a kill can be
 * attributed: a consumer killed inside recv may take a message with it
 * (counted, bounded, reported as lost); one killed holding an acquired slot
 * of an SPSC ring makes its replacement read that message again (counted as
 * redelivered, not as a duplicate).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include "stress_internal.h"

struct ledger *led_new(void)
{
	struct ledger *L = mmap(NULL, sizeof(struct ledger), PROT_READ | PROT_WRITE,
	                        MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return L == MAP_FAILED ? NULL : L;
}

void led_free(struct ledger *L)
{
	munmap(L, sizeof(struct ledger));
}

void led_fail(struct ledger *L, const char *fmt, ...)
{
	int expected = 0;
	if (!atomic_compare_exchange_strong(&L->why_set, &expected, 1))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(L->why, sizeof(L->why), fmt, ap);
	va_end(ap);
}

void led_count_err(struct ledger *L, int rc)
{
	atomic_fetch_add_explicit(&L->err[stress_err_kind(rc)], 1, memory_order_relaxed);
}

void led_note_call(struct ledger *L, int64_t t0, int64_t timeout_ns)
{
	int64_t d = stress_now_ns() - t0;
	uint64_t cur = atomic_load_explicit(&L->max_call_ns, memory_order_relaxed);
	while ((uint64_t)d > cur &&
	       !atomic_compare_exchange_weak(&L->max_call_ns, &cur, (uint64_t)d))
		;
	if (timeout_ns > 0 && d > timeout_ns + OVERRUN_NS) {
		atomic_fetch_add(&L->overruns, 1);
		led_fail(L, "a call with timeout %" PRId64 " ms returned after %" PRId64 " ms",
		         timeout_ns / 1000000, d / 1000000);
	}
}

int led_receive(struct ledger *L, unsigned nprod, const void *msg, size_t len,
                uint32_t *prod, uint64_t *seq)
{
	if (st_msg_check(msg, len, prod, seq) || *prod >= nprod || *seq >= CAP_SEQ)
		return -1;
	uint64_t bit = UINT64_C(1) << (*seq % 64);
	return (atomic_fetch_or(&L->recv_bits[*prod][*seq / 64], bit) & bit) != 0;
}

/* an allowance for a redelivered message: consume it if present */
static int allow_take(struct ledger *L, uint32_t prod, uint64_t seq)
{
	uint32_t n = atomic_load(&L->nallow);
	for (uint32_t i = 0; i < n && i < NALLOW; i++) {
		struct allow *a = &L->allow[i];
		uint32_t one = 1;
		if (atomic_load(&a->state) == 1 && a->prod == prod && a->seq == seq &&
		    atomic_compare_exchange_strong(&a->state, &one, 2))
			return 1;
	}
	return 0;
}

void led_record(struct ledger *L, const struct st_cfg *cfg, unsigned idx, const void *msg,
                size_t len, int64_t *last)
{
	uint32_t prod;
	uint64_t seq;
	int again = led_receive(L, cfg->nprod, msg, len, &prod, &seq);

	if (again < 0) {
		atomic_fetch_add(&L->corrupt, 1);
		led_fail(L, "consumer %u: corrupt message (len %zu)", idx, len);
		return;
	}
	if (again) {
		if (allow_take(L, prod, seq)) {
			atomic_fetch_add(&L->redelivered, 1);
		} else {
			atomic_fetch_add(&L->dup, 1);
			led_fail(L, "consumer %u: duplicate message producer %u seq %" PRIu64,
			         idx, prod, seq);
		}
	}
	if ((int64_t)seq <= last[prod]) {
		atomic_fetch_add(&L->reorder, 1);
		led_fail(L, "consumer %u: producer %u seq %" PRIu64 " after %" PRId64,
		         idx, prod, seq, last[prod]);
	}
	last[prod] = (int64_t)seq;
	atomic_fetch_add_explicit(&L->c[idx].recv, 1, memory_order_relaxed);
}

void led_prod_killed(struct ledger *L, unsigned idx)
{
	struct led_prod *p = &L->p[idx];
	uint64_t ns = atomic_load(&p->next_seq), ne = atomic_load(&p->attempt_end);
	for (uint64_t s = ns; s < ne; s++)
		atomic_fetch_or(&L->doubt_bits[idx][s / 64], UINT64_C(1) << (s % 64));
	if (ne > ns)
		atomic_store(&p->next_seq, ne);
	atomic_store(&p->attempt_end, atomic_load(&p->next_seq));
	atomic_store(&p->op, OP_IDLE);
}

uint64_t led_cons_killed(struct ledger *L, unsigned kind, unsigned idx, unsigned op)
{
	struct led_cons *c = &L->c[idx];
	uint64_t lost_allowed = 0;
	if (op == OP_RECV || op == OP_RECV_BURST)
		lost_allowed += atomic_load(&c->op_n);
	if (op == OP_ACQUIRE) {
		if (kind == SHMRING_SPSC && atomic_load(&c->held)) {
			uint32_t k = atomic_fetch_add(&L->nallow, 1);
			if (k < NALLOW) {
				L->allow[k].prod = atomic_load(&c->held_prod);
				L->allow[k].seq = atomic_load(&c->held_seq);
				atomic_store(&L->allow[k].state, 1);
			}
		} else if (kind == SHMRING_MPMC && !atomic_load(&c->held)) {
			lost_allowed++;
		}
	}
	atomic_store(&c->op, OP_IDLE);
	atomic_store(&c->held, 0);
	return lost_allowed;
}

void led_tally(struct ledger *L, const struct st_cfg *cfg, struct st_result *res)
{
	for (unsigned p = 0; p < cfg->nprod; p++) {
		uint64_t end = atomic_load(&L->p[p].next_seq);
		for (uint64_t wi = 0; wi < BM_WORDS; wi++) {
			uint64_t w = atomic_load_explicit(&L->recv_bits[p][wi], memory_order_relaxed);
			uint64_t d = atomic_load_explicit(&L->doubt_bits[p][wi], memory_order_relaxed);
			uint64_t base = wi * 64;
			if (base >= end && w == 0)
				continue;
			for (unsigned b = 0; b < 64; b++) {
				uint64_t s = base + b;
				int got = (int)((w >> b) & 1), doubt = (int)((d >> b) & 1);
				if (s >= end) {
					if (got) {
						res->phantom++;
						st_fail(res, "producer %u seq %" PRIu64
						        " received but never sent", p, s);
					}
				} else if (doubt) {
					if (got)
						res->doubt_recv++;
					else
						res->doubt_absent++;
				} else {
					res->committed++;
					if (!got)
						res->lost++;
				}
			}
		}
	}
	for (unsigned c = 0; c < cfg->ncons; c++)
		res->msgs += atomic_load(&L->c[c].recv);
	for (int k = 0; k < E_NKINDS; k++)
		res->err[k] += atomic_load(&L->err[k]);
	res->dup += atomic_load(&L->dup);
	res->redelivered += atomic_load(&L->redelivered);
	res->reorder += atomic_load(&L->reorder);
	res->corrupt += atomic_load(&L->corrupt);
	res->overruns += atomic_load(&L->overruns);
	res->max_call_ns = atomic_load(&L->max_call_ns);
	if (atomic_load(&L->why_set))
		st_fail(res, "%s", L->why);
	if (res->lost > res->lost_allowed)
		st_fail(res, "%" PRIu64 " committed messages lost, only %" PRIu64
		        " explained by consumers killed inside recv", res->lost, res->lost_allowed);
	if (res->err[E_BADMSG] || res->err[E_PROTO] || res->err[E_MSGSIZE] || res->err[E_OTHER])
		st_fail(res, "unexpected errors: EBADMSG %" PRIu64 " EPROTO %" PRIu64 " EMSGSIZE %"
		        PRIu64 " other %" PRIu64, res->err[E_BADMSG], res->err[E_PROTO],
		        res->err[E_MSGSIZE], res->err[E_OTHER]);
	if (res->committed == 0)
		st_fail(res, "no message was committed");
	/* every skip record stands for an in-doubt message that never arrived */
	if (res->abandoned > res->doubt_absent)
		st_fail(res, "%" PRIu64 " dead producers' claims skipped, but only %" PRIu64
		        " in-doubt messages absent", res->abandoned, res->doubt_absent);
}
