/* SPDX-License-Identifier: MIT */
/*
 * soak.c - the long run (make soak): three lanes at once until the time is
 * up, then one verdict line with the counts of all of them.
 *   matrix:  SPSC 1x1 and MPMC P x C (P, C in {1, 2, 4}) rounds of 8 s;
 *   faults:  kill -9 rounds: SPSC and MPMC 2x2 / 4x2, producers and
 *            consumers killed, at least 1000 kills in all when the run lasts
 *            long enough (a 10-minute run makes far more);
 *   hostile: the hostile peer (./hostile next to this binary) scribbling on
 *            rings while honest processes use them (broadcast rings too);
 *   broadcast: ./broadcast rounds of 8 s, lossless and overwrite in turn:
 *            three subscribers and a churning one that is SIGKILLed at
 *            random moments (tests/stress/broadcast.c).
 * Usage: soak [-s seed] [-t seconds]
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "stress.h"

struct lane {
	struct st_result res;
	struct st_result mpmc;   /* faults lane: its MPMC rounds alone */
	unsigned rounds;
	int done;
	/* broadcast lane: rounds run and failed, the first failing verdict */
	unsigned bc_rounds, bc_failed;
	char bc_line[400];
};

static void lane_matrix(struct lane *L, uint64_t seed, int64_t end)
{
	static const unsigned n[] = { 1, 2, 4 };
	char tag[32];
	for (unsigned i = 0; stress_now_ns() < end && !L->res.failed; i++) {
		unsigned cell = i % 10;
		struct st_cfg cfg = {
			.tag = tag, .kind = cell == 9 ? SHMRING_SPSC : SHMRING_MPMC,
			.nprod = cell == 9 ? 1 : n[cell / 3], .ncons = cell == 9 ? 1 : n[cell % 3],
			.slot_size = 200, .slots = cell & 1 ? 16 : 256, .seconds = 8,
			.timeout_ns = 200000000, .seed = seed + i, .quiet = 1,
		};
		snprintf(tag, sizeof(tag), "soak-%s-%ux%u", cfg.kind == SHMRING_SPSC ? "spsc" : "mpmc",
		         cfg.nprod, cfg.ncons);
		struct st_result r;
		stress_run(&cfg, &r);
		if (r.failed)
			stress_verdict(tag, &cfg, &r, 8);
		stress_merge(&L->res, &r);
		L->rounds++;
	}
}

static void lane_faults(struct lane *L, uint64_t seed, int64_t end)
{
	char tag[32];
	for (unsigned i = 0; stress_now_ns() < end && !L->res.failed; i++) {
		int spsc = (i % 2) == 0;
		struct st_cfg cfg = {
			.tag = tag, .kind = spsc ? SHMRING_SPSC : SHMRING_MPMC,
			.nprod = spsc ? 1 : 2 + 2 * ((i / 2) % 2), .ncons = spsc ? 1 : 2,
			.slot_size = 200, .slots = 64, .seconds = 4, .kill_prod = 1,
			.kill_cons = 1, .min_kills = 100, .max_gap_us = 30000,
			.timeout_ns = 200000000, .seed = seed + i, .quiet = 1,
		};
		snprintf(tag, sizeof(tag), "soak-fault-%s", spsc ? "spsc" : "mpmc");
		struct st_result r;
		stress_run(&cfg, &r);
		if (r.failed)
			stress_verdict(tag, &cfg, &r, 4);
		stress_merge(&L->res, &r);
		if (!spsc)
			stress_merge(&L->mpmc, &r);
		L->rounds++;
	}
}

/* run ./hostile for the whole time; keep its verdict line */
static int lane_hostile(const char *self, uint64_t seed, double secs, char *line, size_t cap)
{
	char path[PATH_MAX], s_secs[32], s_seed[32];
	const char *slash = strrchr(self, '/');
	int fd[2];
	snprintf(path, sizeof(path), "%.*shostile", slash ? (int)(slash - self + 1) : 0, self);
	snprintf(s_secs, sizeof(s_secs), "%.0f", secs);
	snprintf(s_seed, sizeof(s_seed), "%" PRIu64, seed);
	if (pipe(fd))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execl(path, "hostile", "-t", s_secs, "-s", s_seed, (char *)NULL);
		printf("hostile: FAIL cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	char buf[1024];
	line[0] = '\0';
	while (f && fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "hostile:", 8))
			snprintf(line, cap, "%s", buf);
	if (f)
		fclose(f);
	int status;
	waitpid(pid, &status, 0);
	line[strcspn(line, "\n")] = '\0';
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* the broadcast lane: ./broadcast (next to this binary) in rounds */
static void lane_broadcast(struct lane *L, const char *self, uint64_t seed, int64_t end)
{
	char path[PATH_MAX];
	const char *slash = strrchr(self, '/');
	snprintf(path, sizeof(path), "%.*sbroadcast", slash ? (int)(slash - self + 1) : 0, self);
	for (unsigned i = 0; stress_now_ns() + INT64_C(8000000000) < end; i++) {
		char s_seed[32], buf[1024], line[1024] = "";
		int fd[2];
		snprintf(s_seed, sizeof(s_seed), "%" PRIu64, seed + i);
		if (pipe(fd))
			break;
		pid_t pid = fork();
		if (pid == 0) {
			dup2(fd[1], 1);
			close(fd[0]);
			execl(path, "broadcast", "-t", "8", "-s", s_seed, i % 2 ? "-O" : (char *)NULL,
			      (char *)NULL);
			printf("broadcast: FAIL cannot run %s: %s\n", path, strerror(errno));
			_exit(127);
		}
		close(fd[1]);
		FILE *f = fdopen(fd[0], "r");
		while (f && fgets(buf, sizeof(buf), f))
			if (!strncmp(buf, "broadcast", 9))
				snprintf(line, sizeof(line), "%s", buf);
		if (f)
			fclose(f);
		int status;
		waitpid(pid, &status, 0);
		L->bc_rounds++;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(line, ": PASS")) {
			if (!L->bc_failed++) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(L->bc_line, sizeof(L->bc_line), "%s (status 0x%x)",
				         line[0] ? line : "no verdict", status);
			}
		}
	}
}

int main(int argc, char **argv)
{
	uint64_t seed = stress_seed_default();
	double secs = 600;
	char hline[1024];

	if (stress_args(argc, argv, &seed, &secs, NULL))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("soak: seed=%" PRIu64 " seconds=%.0f (matrix, faults and hostile lanes at once)\n",
	       seed, secs);
	struct lane *lanes = mmap(NULL, 3 * sizeof(struct lane), PROT_READ | PROT_WRITE,
	                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lanes == MAP_FAILED)
		return 2;
	memset(lanes, 0, 3 * sizeof(struct lane));
	int64_t t0 = stress_now_ns(), end = t0 + (int64_t)(secs * 1e9);
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			if (i == 0)
				lane_matrix(&lanes[0], seed, end);
			else if (i == 1)
				lane_faults(&lanes[1], seed + 0x10000, end);
			else
				lane_broadcast(&lanes[2], argv[0], seed + 0x30000, end);
			lanes[i].done = 1;
			_exit(0);
		}
	}
	int hrc = lane_hostile(argv[0], seed + 0x20000, secs, hline, sizeof(hline));
	int failed = hrc != 0;
	for (int i = 0; i < 3; i++) {
		int status;
		waitpid(kids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !lanes[i].done) {
			failed = 1;
			printf("soak: lane %d ended abnormally (status 0x%x)\n", i, status);
		}
	}
	struct st_result all = { 0 };
	stress_merge(&all, &lanes[0].res);
	stress_merge(&all, &lanes[1].res);
	failed |= all.failed || lanes[2].bc_failed;
	if (secs >= 30 && lanes[2].bc_rounds == 0) {
		failed = 1;
		printf("soak: the broadcast lane ran no round\n");
	}
	if (all.kills < 1000 && secs >= 600) {
		failed = 1;
		printf("soak: only %" PRIu64 " kills\n", all.kills);
	}
	const char *h = strchr(hline, ' ');
	char pk[256];
	uint64_t mpk = 0;
	stress_ops_str(pk, sizeof(pk), lanes[1].mpmc.pkills_by_op);
	for (int k = 0; k < OP_NOPS; k++)
		mpk += lanes[1].mpmc.pkills_by_op[k];
	printf("soak: %s seed=%" PRIu64 " time=%.0fs matrix_rounds=%u fault_rounds=%u msgs=%" PRIu64
	       " committed=%" PRIu64 " kills=%" PRIu64 " lost=%" PRIu64 " (with killed consumers;"
	       " allowed %" PRIu64 ") duplicated=%" PRIu64 " redelivered=%" PRIu64
	       " in-doubt=%" PRIu64 "/%" PRIu64 " reorder=%" PRIu64 " corrupt=%" PRIu64
	       " hangs=%" PRIu64 " crashes=%" PRIu64 " overruns=%" PRIu64 " wedged=%" PRIu64
	       " (producer:%" PRIu64 ",consumer:%" PRIu64 ") mpmc_producer_kills=%" PRIu64 " (%s)"
	       " abandoned=%" PRIu64 " stranded=%" PRIu64
	       " errors=[EAGAIN:%" PRIu64 ",ETIMEDOUT:%" PRIu64 ",EPIPE:%" PRIu64 ",EBADMSG:%" PRIu64
	       ",EPROTO:%" PRIu64 ",EBUSY:%" PRIu64 ",other:%" PRIu64 "] | broadcast: rounds=%u"
	       " failed=%u%s%s | hostile:%s%s%s\n",
	       failed ? "FAIL" : "PASS", seed, (double)(stress_now_ns() - t0) / 1e9,
	       lanes[0].rounds, lanes[1].rounds, all.msgs, all.committed, all.kills, all.lost,
	       all.lost_allowed, all.dup, all.redelivered, all.doubt_recv,
	       all.doubt_recv + all.doubt_absent, all.reorder, all.corrupt, all.hangs,
	       all.crashes, all.overruns, all.wedges, all.wedges_prod, all.wedges - all.wedges_prod,
	       mpk, pk, all.abandoned, all.stranded, all.err[E_AGAIN], all.err[E_TIMEDOUT],
	       all.err[E_PIPE], all.err[E_BADMSG], all.err[E_PROTO], all.err[E_BUSY],
	       all.err[E_OTHER] + all.err[E_MSGSIZE], lanes[2].bc_rounds, lanes[2].bc_failed,
	       lanes[2].bc_failed ? " first: " : "", lanes[2].bc_failed ? lanes[2].bc_line : "",
	       h ? h : " (no verdict)",
	       all.failed ? " | first failure: " : "", all.failed ? all.why : "");
	return failed;
}
