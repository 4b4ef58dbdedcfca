/* SPDX-License-Identifier: MIT */
/*
 * stress_super.c - the supervisor: stress_run() runs one round. It creates
 * the ring and the ledger, starts the workers, lets them run for the set
 * time while a watchdog looks for hangs, SIGKILLs workers at random moments
 * and starts replacements (fault runs), then stops the producers, lets the
 * consumers drain, and has the ledger tallied into the verdict.
 *
 * Kills are timed at random (a random pause of 0..max_gap_us before each),
 * not through a hook in the library; the op recorded at the moment of death
 * shows which calls were hit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stress_internal.h"

static void watchdog(struct sup *S)
{
	int64_t now = stress_now_ns();
	for (int prod = 1; prod >= 0; prod--)
		for (unsigned i = 0; i < st_nside(S->cfg, prod); i++) {
			_Atomic int64_t *b = led_beat(S->L, prod, i);
			if (st_running(S, prod, i) && now - atomic_load(b) > HANG_NS) {
				S->res->hangs++;
				st_fail(S->res, "HANG: %s %u made no progress for 10 s (in %s)",
				        st_role(prod), i,
				        st_op_names[atomic_load(led_op(S->L, prod, i)) % OP_NOPS]);
				atomic_store(b, now);
			}
		}
}

/* SIGKILL one worker, account for what it was doing, start its replacement.
 * Returns 1 if the ring is now wedged (MPMC: a claim the dead process left
 * open that nobody can recover). */
static int kill_one(struct sup *S)
{
	const struct st_cfg *cfg = S->cfg;
	struct st_result *res = S->res;
	int prod;
	if (cfg->kill_prod && cfg->kill_cons)
		prod = (int)(st_rand(&S->rng) & 1);
	else
		prod = cfg->kill_prod;
	unsigned idx = (unsigned)(st_rand(&S->rng) % st_nside(cfg, prod));
	int mpmc = cfg->kind == SHMRING_MPMC;
	int wedged = 0;

	if (st_kill(S, prod, idx))
		return 0;
	res->kills++;
	unsigned op = atomic_load(led_op(S->L, prod, idx)) % OP_NOPS;
	res->kills_by_op[op]++;
	if (prod) {
		res->pkills_by_op[op]++;
		led_prod_killed(S->L, idx);
		/* a claim it stamped is skipped by the consumers (stats.abandoned);
		 * one it did not stamp yet stalls them */
		if (mpmc && op >= OP_SEND && op <= OP_RESERVE && st_mpmc_open_claims(S->ring, 1)) {
			res->wedges++;
			res->wedges_prod++;
			wedged = 1;
		}
	} else {
		res->lost_allowed += led_cons_killed(S->L, cfg->kind, idx, op);
		if (mpmc && op >= OP_RECV && op <= OP_ACQUIRE && st_mpmc_open_claims(S->ring, 0)) {
			res->wedges++;
			wedged = 1;
		}
	}
	if (st_launch(S, prod, idx))
		st_fail(res, "fork failed: %s", strerror(errno));
	return wedged;
}

/* wait until one side has ended, within a deadline; 0 ok, -1 hang */
static int wait_side(struct sup *S, int prod, int64_t limit_ns)
{
	int64_t give_up = stress_now_ns() + limit_ns;
	while (st_reap(S, prod)) {
		watchdog(S);
		if (stress_now_ns() > give_up) {
			S->res->hangs++;
			st_fail(S->res, "HANG: %s did not finish within %" PRId64 " s after stop",
			        prod ? "producers" : "consumers", limit_ns / 1000000000);
			return -1;
		}
		st_sleep_ns(2000000);
	}
	return 0;
}

static unsigned name_counter;

int stress_run(const struct st_cfg *cfg, struct st_result *res)
{
	struct sup *S = calloc(1, sizeof(*S));
	int64_t t_start = stress_now_ns();
	int rc;

	memset(res, 0, sizeof(*res));
	if (!S)
		return -1;
	S->cfg = cfg;
	S->res = res;
	S->rng = st_mix(cfg->seed ^ 0x5eed) | 1;
	snprintf(S->name, sizeof(S->name), "/shmring-stress-%s-%d-%u", cfg->tag, (int)getpid(),
	         name_counter++);
	S->L = led_new();
	if (!S->L) {
		free(S);
		snprintf(res->why, sizeof(res->why), "ledger mmap failed");
		res->failed = 1;
		return -1;
	}
	struct shmring_config rc_cfg = {
		.kind = cfg->kind, .slot_size = cfg->slot_size, .slots = cfg->slots,
		.flags = cfg->flags,
	};
	shmring_unlink(S->name);
	rc = shmring_create(S->name, &rc_cfg, 0, &S->ring);
	if (rc) {
		st_fail(res, "create %s: %s", S->name, shmring_strerror(rc));
		goto out_unmap;
	}

	for (unsigned i = 0; i < cfg->ncons; i++)
		if (st_launch(S, 0, i))
			st_fail(res, "start consumer: %s", strerror(errno));
	for (unsigned i = 0; i < cfg->nprod; i++)
		if (st_launch(S, 1, i))
			st_fail(res, "start producer: %s", strerror(errno));

	int64_t end = t_start + (int64_t)(cfg->seconds * 1e9);
	int64_t hard_end = t_start + (int64_t)(cfg->seconds * 4e9) + INT64_C(2000000000);
	int faults = !cfg->threads && (cfg->kill_prod || cfg->kill_cons);
	for (;;) {
		int64_t now = stress_now_ns();
		if (res->failed)
			break;
		if (now >= end && (!faults || res->kills >= cfg->min_kills || now >= hard_end))
			break;
		if (faults) {
			st_sleep_ns((int64_t)(st_rand(&S->rng) % (cfg->max_gap_us + 1)) * 1000);
			if (kill_one(S))
				break;   /* wedged: end the round, the rest is accounted */
		} else {
			st_sleep_ns(10000000);
		}
		st_reap(S, 1);
		st_reap(S, 0);
		watchdog(S);
	}

	atomic_store_explicit(&S->L->stop, 1, memory_order_release);
	if (wait_side(S, 1, 15 * INT64_C(1000000000)) == 0) {
		atomic_store_explicit(&S->L->prod_done, 1, memory_order_release);
		if (wait_side(S, 0, 15 * INT64_C(1000000000)) && cfg->kind == SHMRING_MPMC)
			st_mpmc_diag(S->ring, cfg->tag);
	}
	if (!cfg->threads)
		st_kill_all(S);
	else if (res->failed) {
		fprintf(stderr, "%s: FAIL %s (threads cannot be stopped)\n", cfg->tag, res->why);
		_exit(1);
	}
	if (cfg->kind == SHMRING_MPMC && !res->hangs)
		st_mpmc_sweep(S->ring, S->L, cfg->nprod, res);
	led_tally(S->L, cfg, res);
	shmring_close(S->ring);
out_unmap:
	shmring_unlink(S->name);
	led_free(S->L);
	free(S);
	if (!cfg->quiet)
		stress_verdict(cfg->tag, cfg, res, (double)(stress_now_ns() - t_start) / 1e9);
	return res->failed ? -1 : 0;
}
