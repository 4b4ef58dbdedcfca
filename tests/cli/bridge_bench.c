/* SPDX-License-Identifier: MIT */
/*
 * bridge_bench.c - `shmring bridge` throughput over loopback TCP against a
 * plain ZeroMQ PUSH/PULL pair, in the same run (issue 14 part 2).
 *
 *   bridge_bench PATH/TO/shmring [COUNT_64B [COUNT_64K [REPS]]]
 *
 * zmq:    a PUSH process sends COUNT messages to a PULL process
 *         (zmq_send / zmq_recv, one message each, tcp://127.0.0.1).
 * bridge: a producer sends COUNT messages into ring A; shmring bridge A ->
 *         tcp://127.0.0.1 -> shmring bridge -> ring B; a consumer receives
 *         them from ring B (shmring_send / shmring_recv).
 * Each case is timed from just before the sender starts to the last receive
 * (CLOCK_MONOTONIC, system-wide); connection set-up is inside the time, and
 * COUNT makes it negligible. "CPU us/msg" is the CPU time (user + system,
 * all threads) of the two transport ends per message: the PUSH and PULL
 * processes, or the two bridges; the ring producer and consumer of the
 * bridge case are not in it. Cases are interleaved, REPS times; each
 * repetition's bridge/zmq throughput ratio and winner are printed, then
 * the median of each case and the median of the same-repetition ratios.
 * Build: make bench-bridge (tools/tools.mk).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "shmring.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bridge_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int next_port;   /* a fresh port per run: no TIME_WAIT clash */

/* CPU seconds (user + system) of a child, reaped */
static double reap(pid_t pid, int *ok)
{
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		*ok = 0;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* the receiver's end time comes back through a pipe */
static double end_time(int fd)
{
	double t = 0;
	if (read(fd, &t, sizeof(t)) != (ssize_t)sizeof(t))
		die("receiver failed", EIO);
	close(fd);
	return t;
}

static void zmq_pull(const char *ep, size_t size, long count, int fd)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PULL);
	if (zmq_bind(s, ep) < 0)
		_exit(2);
	char *buf = malloc(size + 1);
	for (long i = 0; i < count; i++)
		if (zmq_recv(s, buf, size + 1, 0) != (int)size)
			_exit(3);
	double t = now();
	if (write(fd, &t, sizeof(t)) < 0)
		_exit(4);
	zmq_close(s);
	zmq_ctx_term(ctx);
	_exit(0);
}

static void zmq_push(const char *ep, size_t size, long count)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PUSH);
	char *buf = calloc(1, size);
	zmq_connect(s, ep);
	for (long i = 0; i < count; i++)
		if (zmq_send(s, buf, size, 0) < 0)
			_exit(5);
	zmq_close(s);   /* linger: everything goes out first */
	zmq_ctx_term(ctx);
	_exit(0);
}

/* elapsed seconds; *cpu: CPU seconds of the two ZeroMQ ends */
static double run_zmq(size_t size, long count, double *cpu)
{
	char ep[64];
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", next_port++);
	int fds[2];
	if (pipe(fds) < 0)
		die("pipe", errno);
	pid_t pull = fork();
	if (pull == 0)
		zmq_pull(ep, size, count, fds[1]);
	close(fds[1]);
	double t0 = now();
	pid_t push = fork();
	if (push == 0)
		zmq_push(ep, size, count);
	double t1 = end_time(fds[0]);
	int ok = 1;
	*cpu = reap(pull, &ok) + reap(push, &ok);
	if (!ok)
		die("a ZeroMQ end failed", EIO);
	return t1 - t0;
}

static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* elapsed seconds; *cpu: CPU seconds of the two bridges */
static double run_bridge(const char *cli, size_t size, long count, double *cpu)
{
	char ep[64], a[64], b[64], slots[16] = "1024", ssz[32];
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", next_port++);
	snprintf(a, sizeof(a), "/bridge-bench-%d-a", (int)getpid());
	snprintf(b, sizeof(b), "/bridge-bench-%d-b", (int)getpid());
	snprintf(ssz, sizeof(ssz), "%zu", size < 64 ? 64 : size);
	shmring_unlink(a);
	shmring_unlink(b);
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slots = 1024,
	                              .slot_size = (uint32_t)(size < 64 ? 64 : size) };
	struct shmring *tx;
	int rc = shmring_create(a, &cfg, SHMRING_PRODUCER, &tx);
	if (rc < 0)
		die("create ring A", rc);

	char *recv_argv[] = { (char *)cli, "bridge", ep, b, "--slots", slots,
	                      "--slot-size", ssz, NULL };
	char *send_argv[] = { (char *)cli, "bridge", a, ep, NULL };
	pid_t rb = spawn(recv_argv);
	int fds[2];
	if (pipe(fds) < 0)
		die("pipe", errno);
	pid_t pid = fork();
	if (pid == 0) {   /* the consumer of ring B */
		struct shmring *rx = NULL;
		for (int i = 0; i < 1000 && shmring_open(b, SHMRING_CONSUMER, &rx) < 0; i++)
			usleep(10000);
		if (!rx)
			_exit(2);
		char *buf = malloc(size + 1);
		long got = 0;
		ssize_t n;
		while ((n = shmring_recv(rx, buf, size + 1, -1)) >= 0)
			if ((size_t)n == size)
				got++;
		double t = now();
		if (n != -EPIPE || got != count || write(fds[1], &t, sizeof(t)) < 0)
			_exit(3);
		shmring_close(rx);
		_exit(0);
	}
	close(fds[1]);
	char *buf = calloc(1, size);
	double t0 = now();
	pid_t sb = spawn(send_argv);
	for (long i = 0; i < count; i++)
		if ((rc = shmring_send(tx, buf, size, -1)) < 0)
			die("shmring_send", rc);
	shmring_shutdown(tx);
	double t1 = end_time(fds[0]);
	shmring_close(tx);
	int ok = 1;
	reap(pid, &ok);
	*cpu = reap(sb, &ok) + reap(rb, &ok);
	if (!ok)
		die("a bridge or the consumer failed", EIO);
	shmring_unlink(a);
	shmring_unlink(b);
	free(buf);
	return t1 - t0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bridge_bench PATH/TO/shmring [COUNT_64B [COUNT_64K [REPS]]]\n");
		return 2;
	}
	long counts[2] = { argc > 2 ? atol(argv[2]) : 1000000, argc > 3 ? atol(argv[3]) : 20000 };
	size_t sizes[2] = { 64, 65536 };
	int reps = argc > 4 ? atoi(argv[4]) : 9;
	if (reps < 1 || reps > 15)
		reps = 9;
	next_port = 20000 + (int)(getpid() % 20000);
	signal(SIGPIPE, SIG_IGN);

	printf("%-8s %-7s %10s %14s %12s %14s\n", "size", "case", "count", "msgs/s", "MB/s",
	       "CPU us/msg");
	for (int k = 0; k < 2; k++) {
		double tz[15], tb[15], cz[15], cb[15], ratio[15];
		int bridge_won = 0;
		for (int r = 0; r < reps; r++) {   /* interleaved */
			tz[r] = run_zmq(sizes[k], counts[k], &cz[r]);
			tb[r] = run_bridge(argv[1], sizes[k], counts[k], &cb[r]);
			ratio[r] = tz[r] / tb[r];
			bridge_won += ratio[r] > 1;
			printf("# %zu B rep %d: zmq %.0f msgs/s, bridge %.0f msgs/s, "
			       "bridge/zmq %.2f, %s won\n", sizes[k], r + 1, counts[k] / tz[r],
			       counts[k] / tb[r], ratio[r], ratio[r] > 1 ? "bridge" : "zmq");
			fflush(stdout);
		}
		qsort(ratio, (size_t)reps, sizeof(double), cmp_double);
		qsort(tz, (size_t)reps, sizeof(double), cmp_double);
		qsort(tb, (size_t)reps, sizeof(double), cmp_double);
		qsort(cz, (size_t)reps, sizeof(double), cmp_double);
		qsort(cb, (size_t)reps, sizeof(double), cmp_double);
		double z = tz[reps / 2], b = tb[reps / 2];
		printf("%-8zu %-7s %10ld %14.0f %12.1f %14.3f\n", sizes[k], "zmq", counts[k],
		       counts[k] / z, counts[k] * (double)sizes[k] / z / 1e6,
		       cz[reps / 2] / counts[k] * 1e6);
		printf("%-8zu %-7s %10ld %14.0f %12.1f %14.3f   bridge/zmq %.2f (median ratio)\n",
		       sizes[k],
		       "bridge", counts[k], counts[k] / b, counts[k] * (double)sizes[k] / b / 1e6,
		       cb[reps / 2] / counts[k] * 1e6, ratio[reps / 2]);
		printf("# %zu B: median of the %d same-repetition ratios %.2f; the bridge won "
		       "%d of %d\n", sizes[k], reps, ratio[reps / 2], bridge_won, reps);
		fflush(stdout);
	}
	return 0;
}
