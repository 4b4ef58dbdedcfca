/* SPDX-License-Identifier: MIT */
/*
 * stress_internal.h - what the parts of the stress engine share and the
 * drivers do not see (drivers include stress.h only): the ledger's layout,
 * a worker's context, the supervisor's state. One concern per file; each
 * calls only files listed below it (nothing calls back up):
 *
 *   stress_super.c    stress_run(): one round, kill injection, watchdog
 *   stress_launch.c   a worker as a process or as a thread; reap, SIGKILL
 *   stress_worker.c   the producer and consumer loops
 *   stress_inspect.c  the supervisor's reads of an MPMC ring: open claims
 *                     (wedges), the sweep after the drain, hang diagnostics
 *   stress_ledger.c   the ledger: receipts, kill accounting, the final tally
 *   stress_report.c   st_result: first failure, merge, the verdict line
 *   stress_msg.c      the message format (shared with hostile.c)
 *   stress_cli.c      clock, sleep, default seed, the common command line
 */
#ifndef SHMRING_STRESS_INTERNAL_H
#define SHMRING_STRESS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include "stress.h"

#define CAP_SEQ      (UINT64_C(1) << 23)   /* sequences per producer role per round */
#define BM_WORDS     (CAP_SEQ / 64)
#define MAX_BURST    8
#define HANG_NS      (INT64_C(10) * 1000000000)
#define OVERRUN_NS   (INT64_C(2) * 1000000000)
#define NALLOW       4096

/* ------------------------------------------------ stress_cli.c, report.c */

void st_sleep_ns(int64_t ns);
extern const char *const st_op_names[OP_NOPS];
/* first failure wins: sets res->failed and res->why unless already failed */
void st_fail(struct st_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline const char *st_role(int prod)
{
	return prod ? "producer" : "consumer";
}

/* how many workers one side (producers: prod = 1) has */
static inline unsigned st_nside(const struct st_cfg *cfg, int prod)
{
	return prod ? cfg->nprod : cfg->ncons;
}

/* ------------------------------------------------------ stress_ledger.c */

struct led_prod {
	_Atomic uint64_t next_seq;
	_Atomic uint64_t attempt_end;
	_Atomic uint32_t op;
	_Atomic int64_t beat;
	char pad[128 - 28];
};

struct led_cons {
	_Atomic uint32_t op;
	_Atomic uint32_t op_n;        /* burst size of the call in progress */
	_Atomic uint32_t held;        /* holds an acquired message (held_prod, held_seq) */
	_Atomic uint32_t held_prod;
	_Atomic uint64_t held_seq;
	_Atomic uint64_t recv;
	_Atomic int64_t beat;
	char pad[128 - 40];
};

struct allow {
	_Atomic uint32_t state;      /* 0 empty, 1 allowed, 2 used */
	uint32_t prod;
	uint64_t seq;
};

struct ledger {
	_Atomic int stop;
	_Atomic int prod_done;
	_Atomic uint64_t err[E_NKINDS];
	_Atomic uint64_t dup, redelivered, reorder, corrupt, overruns, max_call_ns;
	_Atomic int why_set;
	char why[256];
	_Atomic uint32_t nallow;
	struct allow allow[NALLOW];
	struct led_prod p[ST_MAXP];
	struct led_cons c[ST_MAXC];
	_Atomic uint64_t recv_bits[ST_MAXP][BM_WORDS];
	_Atomic uint64_t doubt_bits[ST_MAXP][BM_WORDS];
};

/* what worker (prod, idx) is doing, and when it last made progress */
static inline _Atomic uint32_t *led_op(struct ledger *L, int prod, unsigned idx)
{
	return prod ? &L->p[idx].op : &L->c[idx].op;
}

static inline _Atomic int64_t *led_beat(struct ledger *L, int prod, unsigned idx)
{
	return prod ? &L->p[idx].beat : &L->c[idx].beat;
}

/* shared with forked workers; NULL if it cannot be mapped */
struct ledger *led_new(void);
void led_free(struct ledger *L);
void led_fail(struct ledger *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void led_count_err(struct ledger *L, int rc);
/* a blocking call that started at t0 returned now */
void led_note_call(struct ledger *L, int64_t t0, int64_t timeout_ns);
/* mark a message received: -1 corrupt (or not from this round's producers),
 * 1 its bit was set already, 0 first receipt; *prod, *seq filled unless -1 */
int led_receive(struct ledger *L, unsigned nprod, const void *msg, size_t len,
                uint32_t *prod, uint64_t *seq);
/* consumer idx received msg; last[] is its per-producer order check */
void led_record(struct ledger *L, const struct st_cfg *cfg, unsigned idx, const void *msg,
                size_t len, int64_t *last);
/* after a SIGKILL: a producer's in-flight range goes in doubt; a consumer's
 * held message becomes an allowed redelivery (SPSC). The latter returns how
 * many messages the dead consumer may have taken with it. */
void led_prod_killed(struct ledger *L, unsigned idx);
uint64_t led_cons_killed(struct ledger *L, unsigned kind, unsigned idx, unsigned op);
/* end of round: every sequence accounted, the workers' counts added to res */
void led_tally(struct ledger *L, const struct st_cfg *cfg, struct st_result *res);

/* ------------------------------------------------------ stress_worker.c */

struct wctx {
	const struct st_cfg *cfg;
	struct ledger *L;
	const char *name;
	unsigned idx;
	int producer;
	uint64_t rng;
	struct shmring *base;   /* threads: share this handle's mapping */
};

/* the producer or consumer loop; the exit status of a worker process */
int st_worker_main(struct wctx *w);

/* ------------------------------------------------------ stress_launch.c */

struct sup {
	const struct st_cfg *cfg;
	struct st_result *res;
	struct ledger *L;
	struct shmring *ring;          /* role-less handle of the creator */
	char name[64];
	pid_t ppid[ST_MAXP], cpid[ST_MAXC];
	pthread_t pth[ST_MAXP], cth[ST_MAXC];
	struct wctx pw[ST_MAXP], cw[ST_MAXC];
	unsigned incarnation;
	uint64_t rng;
};

/* start worker (prod, idx), a new incarnation; 0 or -1 (errno) */
int st_launch(struct sup *S, int prod, unsigned idx);
/* reap the workers of one side that ended; returns how many still run */
unsigned st_reap(struct sup *S, int prod);
int st_running(const struct sup *S, int prod, unsigned idx);
/* processes only: SIGKILL (prod, idx) and wait for it; -1 if it had ended */
int st_kill(struct sup *S, int prod, unsigned idx);
void st_kill_all(struct sup *S);

/* ----------------------------------------------------- stress_inspect.c */

/* MPMC: claims of one side (producer or consumer) left open by a dead
 * process, still open after 300 ms */
unsigned st_mpmc_open_claims(struct shmring *r, int prod);
void st_mpmc_sweep(struct shmring *r, struct ledger *L, unsigned nprod, struct st_result *res);
void st_mpmc_diag(struct shmring *r, const char *tag);

#endif
