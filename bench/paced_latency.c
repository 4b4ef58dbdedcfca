/* SPDX-License-Identifier: MIT */
/*
 * paced_latency.c - one-way latency of a paced stream: the producer
 * (pinned to CPU 0) sends one message every GAP nanoseconds, stamped with
 * CLOCK_MONOTONIC; the consumer (pinned to CPU 1) records now - stamp for
 * each and prints percentiles. The ring is SPSC, or MPMC with --mpmc (one
 * producer, one consumer), or with --crowd an MPMC ring with a third,
 * idle process attached as a second producer on CPU 1: more processes
 * than CPUs, the crowded ring whose waits differ (docs/design.md); with
 * --pool the idle third process is a second consumer, so the consumers
 * outnumber the producer (a worker pool's shape, whose batch wait yields).
 * ipc_bench measures saturated streams and round trips; neither shows
 * what a consumer-side batching policy (e.g. "temporal slipping",
 * docs/benchmarks.md) costs a stream that is neither, which this does. Not part of make bench: make bench-paced.
 *
 *   paced_latency [--mpmc | --crowd | --pool] GAP_NS SIZE [COUNT]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <shmring.h>

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);   /* best effort: one CPU leaves both unpinned */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int consumer(const char *name, const char *kind_name, int count, uint64_t gap,
                    size_t size)
{
	struct shmring *c;
	int rc = shmring_open(name, SHMRING_CONSUMER, &c);
	if (rc) {
		fprintf(stderr, "paced_latency: open: %s\n", shmring_strerror(rc));
		return 1;
	}
	uint64_t *lat = malloc((size_t)count * sizeof(*lat));
	unsigned char buf[4096];
	int n = 0;
	ssize_t len;
	if (!lat)
		return 1;
	while ((len = shmring_recv(c, buf, sizeof(buf), -1)) >= 8) {
		uint64_t t;
		memcpy(&t, buf, sizeof(t));
		uint64_t d = now_ns() - t;
		if (n < count)
			lat[n++] = d;
	}
	shmring_close(c);
	if (len != -EPIPE || n == 0) {
		fprintf(stderr, "paced_latency: recv after %d: %s\n", n, shmring_strerror((int)len));
		return 1;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	printf("%s, gap %llu ns, %zu B, %d messages: one-way p50 %llu ns, p90 %llu ns, p99 %llu ns\n",
	       kind_name, (unsigned long long)gap, size, n, (unsigned long long)lat[n / 2],
	       (unsigned long long)lat[n * 9 / 10], (unsigned long long)lat[n * 99 / 100]);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned kind = SHMRING_SPSC;
	int crowd = 0;   /* an idle third process attached: its role */

	for (; argc > 1 && strncmp(argv[1], "--", 2) == 0 && strcmp(argv[1], "--help"); argc--, argv++) {
		if (strcmp(argv[1], "--mpmc") == 0)
			kind = SHMRING_MPMC;
		else if (strcmp(argv[1], "--crowd") == 0)
			kind = SHMRING_MPMC, crowd = SHMRING_PRODUCER;
		else if (strcmp(argv[1], "--pool") == 0)
			kind = SHMRING_MPMC, crowd = SHMRING_CONSUMER;
		else
			argc = 0;   /* unknown option: usage */
	}
	if (argc < 3 || argc > 4 || strcmp(argv[1], "--help") == 0) {
		int help = argc == 2 && strcmp(argv[1], "--help") == 0;
		fprintf(help ? stdout : stderr,
		        "usage: paced_latency [--mpmc | --crowd | --pool] GAP_NS SIZE [COUNT]\n"
		        "  one message of SIZE bytes (8-4096) every GAP_NS ns, COUNT times (200000);\n"
		        "  prints the one-way latency percentiles. --mpmc: an MPMC ring (one\n"
		        "  producer, one consumer) instead of SPSC; --crowd: MPMC with an idle\n"
		        "  second producer attached on the consumer's CPU (3 processes on 2 CPUs);\n"
		        "  --pool: the same with an idle second consumer (the consumers outnumber).\n"
		        "  Exit 0 ok, 1 error, 2 usage.\n");
		return help ? 0 : 2;
	}
	uint64_t gap = strtoull(argv[1], NULL, 0);
	size_t size = strtoul(argv[2], NULL, 0);
	int count = argc > 3 ? atoi(argv[3]) : 200000;
	if (size < 8 || size > 4096 || count <= 0) {
		fprintf(stderr, "paced_latency: SIZE 8-4096, COUNT > 0\n");
		return 2;
	}
	char name[64];
	snprintf(name, sizeof(name), "/paced_latency.%d", (int)getpid());
	struct shmring_config cfg = { .kind = kind, .slot_size = (uint32_t)size,
	                              .slots = 1024 };
	struct shmring *p;
	int rc = shmring_create(name, &cfg, SHMRING_PRODUCER, &p);
	if (rc) {
		fprintf(stderr, "paced_latency: create: %s\n", shmring_strerror(rc));
		return 1;
	}
	int hold[2] = { -1, -1 };
	pid_t idle = -1;
	if (crowd) {   /* the idle peer: attached until the stream ends */
		if (pipe(hold) < 0 || (idle = fork()) < 0) {
			perror("paced_latency");
			return 1;
		}
		if (idle == 0) {
			struct shmring *q;
			char k;
			pin(1);
			close(hold[1]);
			if (shmring_open(name, (unsigned)crowd, &q))
				_exit(1);
			while (read(hold[0], &k, 1) < 0 && errno == EINTR)
				;
			if (crowd == SHMRING_PRODUCER)
				shmring_shutdown(q);
			shmring_close(q);
			_exit(0);
		}
		close(hold[0]);
	}
	pid_t kid = fork();
	if (kid == 0) {
		if (crowd)
			close(hold[1]);
		pin(1);
		int crc = consumer(name, crowd == SHMRING_PRODUCER ? "mpmc crowded"
		                         : crowd ? "mpmc pool" : kind == SHMRING_MPMC ? "mpmc" : "spsc",
		                   count, gap, size);
		fflush(stdout);
		_exit(crc);
	}
	pin(0);
	unsigned char msg[4096] = { 0 };
	/* the consumer attached and waits: it is then a paced stream from
	 * the first message (shmring_info counts consumer attachments) */
	struct shmring_info in;
	for (int i = 0; i < 5000 && shmring_info(p, &in) == 0 && in.consumer_attaches == 0; i++)
		usleep(1000);
	uint64_t next = now_ns();
	for (int i = 0; i < count && rc == 0; i++) {
		while (now_ns() < next)
			;
		uint64_t t = now_ns();
		memcpy(msg, &t, sizeof(t));
		rc = shmring_send(p, msg, size, -1);
		next += gap;
	}
	shmring_shutdown(p);
	int st = 0, ist = 0;
	if (crowd) {   /* the idle peer leaves (a producer: the stream ends) */
		close(hold[1]);
		waitpid(idle, &ist, 0);
	}
	waitpid(kid, &st, 0);
	shmring_close(p);
	shmring_unlink(name);
	if (rc)
		fprintf(stderr, "paced_latency: send: %s\n", shmring_strerror(rc));
	return rc || !WIFEXITED(st) || WEXITSTATUS(st) || !WIFEXITED(ist) || WEXITSTATUS(ist)
	       ? 1 : 0;
}
