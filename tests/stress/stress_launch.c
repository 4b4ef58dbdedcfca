/* SPDX-License-Identifier: MIT */
/*
 * stress_launch.c - how a worker runs: a forked process, or, for
 * ThreadSanitizer (st_cfg.threads), a thread of this process whose handle
 * shares the creator's mapping. Starting a new incarnation of a worker,
 * reaping the ones that ended (a process must end with status 0), and the
 * SIGKILLs of the fault injection (processes only: a thread cannot be
 * killed alone).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "stress_internal.h"

static pid_t *pid_of(struct sup *S, int prod, unsigned idx)
{
	return prod ? &S->ppid[idx] : &S->cpid[idx];
}

static void *thread_main(void *arg)
{
	return (void *)(intptr_t)st_worker_main(arg);
}

int st_launch(struct sup *S, int prod, unsigned idx)
{
	struct wctx *w = prod ? &S->pw[idx] : &S->cw[idx];
	w->cfg = S->cfg;
	w->L = S->L;
	w->name = S->name;
	w->idx = idx;
	w->producer = prod;
	w->rng = st_mix(S->cfg->seed ^ ((uint64_t)++S->incarnation << 20) ^ (uint64_t)prod << 8 ^ idx) | 1;
	w->base = S->cfg->threads ? S->ring : NULL;
	atomic_store(led_beat(S->L, prod, idx), stress_now_ns());
	if (S->cfg->threads)
		return pthread_create(prod ? &S->pth[idx] : &S->cth[idx], NULL, thread_main, w) ? -1 : 0;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		_exit(st_worker_main(w));
	}
	*pid_of(S, prod, idx) = pid;
	return 0;
}

/* a worker process ended on its own: fine only with status 0 */
static void check_status(struct sup *S, int prod, unsigned idx, int status)
{
	if (WIFSIGNALED(status)) {
		S->res->crashes++;
		st_fail(S->res, "%s %u died by signal %d (%s)%s", st_role(prod), idx,
		        WTERMSIG(status), strsignal(WTERMSIG(status)),
		        WTERMSIG(status) == SIGALRM ? ": hung for 30 s" : "");
	} else if (WEXITSTATUS(status) != 0) {
		st_fail(S->res, "%s %u exited with status %d", st_role(prod), idx,
		        WEXITSTATUS(status));
	}
}

unsigned st_reap(struct sup *S, int prod)
{
	unsigned n = st_nside(S->cfg, prod), live = 0;
	for (unsigned i = 0; i < n; i++) {
		if (S->cfg->threads) {
			pthread_t *t = prod ? &S->pth[i] : &S->cth[i];
			if (!*t)
				continue;
			if (pthread_tryjoin_np(*t, NULL) == 0)
				*t = 0;
			else
				live++;
			continue;
		}
		pid_t *p = pid_of(S, prod, i);
		int status;
		if (*p <= 0)
			continue;
		pid_t got = waitpid(*p, &status, WNOHANG);
		if (got == *p) {
			*p = 0;
			check_status(S, prod, i, status);
		} else {
			live++;
		}
	}
	return live;
}

int st_running(const struct sup *S, int prod, unsigned idx)
{
	if (S->cfg->threads)
		return (prod ? S->pth[idx] : S->cth[idx]) != 0;
	return (prod ? S->ppid[idx] : S->cpid[idx]) > 0;
}

int st_kill(struct sup *S, int prod, unsigned idx)
{
	pid_t *pp = pid_of(S, prod, idx);
	int status;

	if (*pp <= 0)
		return -1;   /* it ended on its own (reported by st_reap) */
	kill(*pp, SIGKILL);
	while (waitpid(*pp, &status, 0) < 0 && errno == EINTR)
		;
	*pp = 0;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		check_status(S, prod, idx, status);   /* it died before our signal */
	return 0;
}

void st_kill_all(struct sup *S)
{
	for (int prod = 1; prod >= 0; prod--)
		for (unsigned i = 0; i < st_nside(S->cfg, prod); i++) {
			pid_t *p = pid_of(S, prod, i);
			if (*p > 0) {
				kill(*p, SIGKILL);
				waitpid(*p, NULL, 0);
				*p = 0;
			}
		}
}
