/* SPDX-License-Identifier: MIT */
/*
 * mpmc_pool.c - a worker pool on two SHMRING_MPMC rings: the parent puts
 * jobs on a "jobs" ring, WORKERS child processes take them (each job goes to
 * exactly one worker, whichever is free) and put answers on a "results"
 * ring, which the parent reads. End of stream does the bookkeeping: when the
 * parent shuts "jobs" down, each worker drains it, gets -EPIPE and closes its
 * producer handle on "results"; when the last worker has closed, the parent's
 * recv on "results" returns -EPIPE.
 *
 * Build: cc -O2 -o mpmc_pool mpmc_pool.c $(pkg-config --cflags --libs shmring)
 * Run:   ./mpmc_pool [WORKERS] [JOBS]
 */
#include <shmring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct job { uint64_t id, n; };
struct result { uint64_t id, n, steps; int32_t worker; };

/* the work: steps of the Collatz sequence from n down to 1 */
static uint64_t collatz(uint64_t n)
{
	uint64_t steps = 0;
	while (n > 1) {
		n = (n & 1) ? 3 * n + 1 : n / 2;
		steps++;
	}
	return steps;
}

static int worker(const char *jobs_name, const char *res_name, int id)
{
	struct shmring *jobs, *res;
	int rc = shmring_open(jobs_name, SHMRING_CONSUMER, &jobs);
	if (rc == 0 && (rc = shmring_open(res_name, SHMRING_PRODUCER, &res)) < 0)
		shmring_close(jobs);
	if (rc < 0) {
		fprintf(stderr, "worker %d: %s\n", id, shmring_strerror(rc));
		return 1;
	}
	struct job j;
	ssize_t len;
	while ((len = shmring_recv(jobs, &j, sizeof(j), -1)) == (ssize_t)sizeof(j)) {
		struct result out = { j.id, j.n, collatz(j.n), id };
		if ((rc = shmring_send(res, &out, sizeof(out), -1)) < 0)
			break;
	}
	shmring_close(jobs);
	shmring_close(res);   /* a producer's close is its end of stream */
	return len == -EPIPE ? 0 : 1;
}

int main(int argc, char **argv)
{
	int workers = argc > 1 ? atoi(argv[1]) : 4;
	uint64_t njobs = argc > 2 ? strtoull(argv[2], NULL, 10) : 10000;
	if (workers < 1 || workers > 64 || njobs == 0) {
		fprintf(stderr, "usage: %s [WORKERS 1..64] [JOBS]\n", argv[0]);
		return 2;
	}
	char jobs_name[64], res_name[64];
	snprintf(jobs_name, sizeof(jobs_name), "/example-pool-jobs-%d", (int)getpid());
	snprintf(res_name, sizeof(res_name), "/example-pool-results-%d", (int)getpid());

	struct shmring_config jcfg = { .kind = SHMRING_MPMC, .slot_size = sizeof(struct job),
	                               .slots = 256 };
	/* results: room for every answer, so that the parent may send all jobs
	 * before it reads any (with a smaller ring it would have to alternate) */
	uint64_t rslots = 2;
	while (rslots < njobs)
		rslots *= 2;
	struct shmring_config rcfg = { .kind = SHMRING_MPMC, .slot_size = sizeof(struct result),
	                               .slots = rslots };
	struct shmring *jobs, *res;
	int rc = shmring_create(jobs_name, &jcfg, SHMRING_PRODUCER, &jobs);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", jobs_name, shmring_strerror(rc));
		return 1;
	}
	rc = shmring_create(res_name, &rcfg, 0, &res);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", res_name, shmring_strerror(rc));
		shmring_close(jobs);
		shmring_unlink(jobs_name);
		return 1;
	}
	shmring_close(res);

	for (int w = 0; w < workers; w++) {
		pid_t pid = fork();
		if (pid == 0) {
			/* the inherited handle belongs to the parent: leave it alone */
			_exit(worker(jobs_name, res_name, w));
		}
		if (pid < 0)
			perror("fork");
	}
	/* open the results side before sending, so the ring's end of stream
	 * is only reached once every worker has attached and left */
	rc = shmring_open(res_name, SHMRING_CONSUMER, &res);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", res_name, shmring_strerror(rc));
		return 1;
	}

	for (uint64_t i = 0; i < njobs && rc == 0; i++) {
		struct job j = { i, 1 + i * 7919 % 1000003 };
		rc = shmring_send(jobs, &j, sizeof(j), -1);
	}
	shmring_shutdown(jobs);   /* no more jobs: workers finish and leave */
	shmring_close(jobs);

	uint64_t got = 0, sum = 0, per_worker[64] = { 0 };
	unsigned char *seen = calloc(njobs, 1);
	struct result out;
	ssize_t len;
	while ((len = shmring_recv(res, &out, sizeof(out), -1)) == (ssize_t)sizeof(out)) {
		if (out.id < njobs && !seen[out.id] && out.steps == collatz(out.n)) {
			seen[out.id] = 1;
			got++;
			sum += out.steps;
		}
		if (out.worker >= 0 && out.worker < 64)
			per_worker[out.worker]++;
	}
	shmring_close(res);
	while (wait(NULL) > 0)
		;
	shmring_unlink(jobs_name);
	shmring_unlink(res_name);
	free(seen);

	printf("%llu of %llu jobs answered correctly (total steps %llu); per worker:",
	       (unsigned long long)got, (unsigned long long)njobs, (unsigned long long)sum);
	for (int w = 0; w < workers; w++)
		printf(" %llu", (unsigned long long)per_worker[w]);
	printf("\n");
	return got == njobs && len == -EPIPE ? 0 : 1;
}
