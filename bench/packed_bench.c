/* SPDX-License-Identifier: MIT */
/*
 * bench/packed_bench.c - packed rings (SHMRING_PACKED) against their
 * alternatives, producer and consumer in two processes pinned to CPUs 1
 * and 0. A standalone program (make bench-packed; part of make bench-full):
 *
 *   8 B messages, streaming:
 *     packed-burst  packed ring, 1 MiB of records, send_burst/recv_burst
 *                   of 256 messages (iovecs)
 *     pipe-batch    a 1 MiB pipe, 64 KiB of 8-byte records per write, up to
 *                   64 KiB per read (as the IPC suite's pipe-batch)
 *   16 B - 4 KiB messages (log-uniform lengths, one table shared by both
 *   sides), one send/recv per message:
 *     fixed-1M      fixed-slot SPSC ring, 256 slots of 4 KiB (1 MiB + headers)
 *     packed-1M     packed ring, 256 x 4 KiB = 1 MiB of records
 *     packed-128K   packed ring, 32 x 4 KiB = 128 KiB of records
 *
 * Each run: the producer sends for --duration seconds, shuts down, the
 * consumer drains to end of stream and checks every message (length from
 * the table, sequence number in its first 8 bytes). Throughput counts the
 * consumer's payload bytes over the producer's start to the consumer's end.
 * Cases are interleaved inside each repetition, their order reversed on
 * every other one; the report gives per-repetition ratios (who won each)
 * and their medians.
 *
 *   packed_bench [--reps N (9)] [--duration S (0.5)] [--only 8|mix]
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <shmring.h>

#define MAXREPS 64
#define BURST   256
#define NLEN    4096   /* entries of the length table */
#define PIPE_SZ (1 << 20)
#define CHUNK   65536

enum { C_PACKED8, C_PIPE8, C_FIXED1M, C_PACKED1M, C_PACKED128K, NCASES };
static const char *case_name[NCASES] = { "packed-burst 8B", "pipe-batch 8B", "fixed-1M mix",
                                         "packed-1M mix", "packed-128K mix" };

struct run { double secs, bytes, msgs; uint64_t mem, sleeps; };
static struct run res[NCASES][MAXREPS];

/* shared between the two processes of a run */
struct shared { int64_t t0; int ready; };

static uint32_t lens[NLEN];

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static uint64_t mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* log-uniform lengths 16..4096 */
static void make_lens(void)
{
	for (unsigned i = 0; i < NLEN; i++) {
		double u = (double)(mix(i) >> 11) / 9007199254740992.0;
		double l = 16.0 * exp2(u * 8.0);   /* 2^4 .. 2^12 */
		lens[i] = (uint32_t)l < 16 ? 16 : (uint32_t)l > 4096 ? 4096 : (uint32_t)l;
	}
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "packed_bench: %s: %s\n", what, rc < 0 ? shmring_strerror(rc)
	                                                     : strerror(errno));
	exit(1);
}

/* ---- the producer sides (child process) ---- */

static void wait_go(struct shared *sh)
{
	while (!__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE))
		;
	__atomic_store_n(&sh->t0, now_ns(), __ATOMIC_RELEASE);
}

static void prod_ring(const char *name, int c, double dur, struct shared *sh)
{
	struct shmring *r;
	int rc = shmring_open(name, SHMRING_PRODUCER, &r);
	if (rc)
		die("open producer", rc);
	static unsigned char data[BURST][4096];
	struct iovec iv[BURST];
	uint64_t seq = 0;
	wait_go(sh);
	int64_t end = sh->t0 + (int64_t)(dur * 1e9);
	if (c == C_PACKED8) {
		for (unsigned i = 0; i < BURST; i++)
			iv[i] = (struct iovec){ data[i], 8 };
		while (now_ns() < end) {
			for (int k = 0; k < 16; k++) {
				for (unsigned i = 0; i < BURST; i++)
					memcpy(data[i], &(uint64_t){ seq + i }, 8);
				unsigned done = 0;
				while (done < BURST) {
					int n = shmring_send_burst(r, iv + done, BURST - done, -1);
					if (n < 0)
						die("send_burst", n);
					done += (unsigned)n;
				}
				seq += BURST;
			}
		}
	} else {
		while (now_ns() < end) {
			for (int k = 0; k < 256; k++, seq++) {
				memcpy(data[0], &seq, 8);
				rc = shmring_send(r, data[0], lens[seq % NLEN], -1);
				if (rc)
					die("send", rc);
			}
		}
	}
	shmring_shutdown(r);
	shmring_close(r);
}

static void prod_pipe(int fd, double dur, struct shared *sh)
{
	static uint64_t buf[CHUNK / 8];
	uint64_t seq = 0;
	wait_go(sh);
	int64_t end = sh->t0 + (int64_t)(dur * 1e9);
	while (now_ns() < end) {
		for (int k = 0; k < 8; k++) {
			for (unsigned i = 0; i < CHUNK / 8; i++)
				buf[i] = seq++;
			const char *p = (const char *)buf;
			size_t left = CHUNK;
			while (left) {
				ssize_t w = write(fd, p, left);
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0)
					die("write", 0);
				p += w;
				left -= (size_t)w;
			}
		}
	}
	close(fd);
}

/* ---- the consumer sides (this process) ---- */

static void bad(const char *what, uint64_t seq)
{
	fprintf(stderr, "packed_bench: %s at message %llu\n", what, (unsigned long long)seq);
	exit(1);
}

static struct run cons_ring(struct shmring *r, int c, struct shared *sh)
{
	static unsigned char data[BURST][4096];
	struct iovec iv[BURST];
	uint64_t seq = 0;
	double bytes = 0;
	for (;;) {
		if (c == C_PACKED8) {
			for (unsigned i = 0; i < BURST; i++)
				iv[i] = (struct iovec){ data[i], 4096 };
			int n = shmring_recv_burst(r, iv, BURST, -1);
			if (n == -EPIPE)
				break;
			if (n < 0)
				die("recv_burst", n);
			for (int i = 0; i < n; i++, seq++) {
				uint64_t v;
				memcpy(&v, data[i], 8);
				if (iv[i].iov_len != 8 || v != seq)
					bad("8-byte message wrong", seq);
			}
			bytes += 8.0 * n;
		} else {
			ssize_t n = shmring_recv(r, data[0], 4096, -1);
			if (n == -EPIPE)
				break;
			if (n < 0)
				die("recv", (int)n);
			uint64_t v;
			memcpy(&v, data[0], 8);
			if ((size_t)n != lens[seq % NLEN] || v != seq)
				bad("message wrong", seq);
			seq++;
			bytes += (double)n;
		}
	}
	int64_t t1 = now_ns();
	struct shmring_info in;
	struct shmring_stats st;
	shmring_info(r, &in);
	shmring_stats(r, &st);
	return (struct run){ (double)(t1 - __atomic_load_n(&sh->t0, __ATOMIC_ACQUIRE)) / 1e9, bytes,
	                     (double)seq, in.mem_size, st.full_waits + st.empty_waits };
}

static struct run cons_pipe(int fd, struct shared *sh)
{
	static unsigned char buf[CHUNK + 8];
	size_t have = 0;
	uint64_t seq = 0;
	double bytes = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read", 0);
		if (n == 0)
			break;
		have += (size_t)n;
		size_t i = 0;
		for (; i + 8 <= have; i += 8, seq++) {
			uint64_t v;
			memcpy(&v, buf + i, 8);
			if (v != seq)
				bad("pipe record wrong", seq);
		}
		bytes += (double)i;
		memmove(buf, buf + i, have - i);
		have -= i;
	}
	int64_t t1 = now_ns();
	return (struct run){ (double)(t1 - __atomic_load_n(&sh->t0, __ATOMIC_ACQUIRE)) / 1e9, bytes,
	                     bytes / 8, PIPE_SZ, 0 };
}

static struct run one_run(int c, double dur, struct shared *sh)
{
	char name[64];
	struct shmring *r = NULL;
	int fds[2] = { -1, -1 };

	memset(sh, 0, sizeof(*sh));
	if (c == C_PIPE8) {
		if (pipe(fds) < 0)
			die("pipe", 0);
		fcntl(fds[1], F_SETPIPE_SZ, PIPE_SZ);
	} else {
		struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 4096, .slots = 256 };
		if (c == C_PACKED8) {
			cfg.slot_size = 64;
			cfg.slots = 16384;   /* 1 MiB of 16-byte records */
		}
		if (c == C_PACKED128K)
			cfg.slots = 32;
		if (c != C_FIXED1M)
			cfg.flags = SHMRING_PACKED;
		snprintf(name, sizeof(name), "/shmring-packed-bench-%d", (int)getpid());
		shmring_unlink(name);
		int rc = shmring_create(name, &cfg, SHMRING_CONSUMER, &r);
		if (rc)
			die("create", rc);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		pin(1);
		if (c == C_PIPE8) {
			close(fds[0]);
			prod_pipe(fds[1], dur, sh);
		} else {
			prod_ring(name, c, dur, sh);
		}
		_exit(0);
	}
	pin(0);
	struct run out;
	if (c == C_PIPE8) {
		close(fds[1]);
		__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
		out = cons_pipe(fds[0], sh);
		close(fds[0]);
	} else {
		/* the producer attaches before the go: no end of stream before it */
		struct shmring_info in;
		do
			shmring_info(r, &in);
		while (in.nproducers == 0);
		__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
		out = cons_ring(r, c, sh);
		shmring_close(r);
		shmring_unlink(name);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("producer failed", -EIO);
	return out;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double rate(int c, int k)
{
	return res[c][k].bytes / res[c][k].secs;
}

/* a vs b: per-repetition ratios of bytes/s, who won each, the median */
static void compare(int a, int b, int reps)
{
	double v[MAXREPS];
	int wa = 0;
	printf("%s / %s, per rep:", case_name[a], case_name[b]);
	for (int k = 0; k < reps; k++) {
		v[k] = rate(a, k) / rate(b, k);
		wa += v[k] > 1;
		printf(" %.2f", v[k]);
	}
	printf("\n  median %.2fx; %s won %d of %d reps\n", median(v, reps), case_name[a], wa, reps);
}

int main(int argc, char **argv)
{
	int reps = 9, only = 0;
	double dur = 0.5;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--duration") && i + 1 < argc)
			dur = atof(argv[++i]);
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = !strcmp(argv[++i], "8") ? 8 : 1;
		else {
			fprintf(stderr, "usage: packed_bench [--reps N] [--duration S] [--only 8|mix]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > MAXREPS)
		reps = 9;
	make_lens();
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap", 0);
	int first = only == 1 ? C_FIXED1M : C_PACKED8, last = only == 8 ? C_PIPE8 : C_PACKED128K;
	printf("packed_bench: %d reps x %.2f s per case, producer on CPU 1, consumer on CPU 0\n",
	       reps, dur);
	for (int k = 0; k < reps; k++) {
		for (int j = 0; j <= last - first; j++) {
			int c = k % 2 ? last - j : first + j;   /* reversed every other rep */
			res[c][k] = one_run(c, dur, sh);
		}
	}
	printf("\n%-18s %12s %12s %12s %10s %8s\n", "case", "MB/s (med)", "Mmsg/s", "min-max MB/s",
	       "memory", "sleeps");
	for (int c = first; c <= last; c++) {
		double v[MAXREPS], m[MAXREPS], z[MAXREPS], lo = 1e300, hi = 0;
		for (int k = 0; k < reps; k++) {
			z[k] = (double)res[c][k].sleeps;
			v[k] = rate(c, k) / 1e6;
			m[k] = res[c][k].msgs / res[c][k].secs / 1e6;
			lo = v[k] < lo ? v[k] : lo;
			hi = v[k] > hi ? v[k] : hi;
		}
		char range[32];
		snprintf(range, sizeof(range), "%.0f-%.0f", lo, hi);
		printf("%-18s %12.0f %12.2f %12s %7.0f KiB %8.0f\n", case_name[c], median(v, reps),
		       median(m, reps), range, (double)res[c][0].mem / 1024, median(z, reps));
	}
	printf("\n");
	if (first == C_PACKED8)
		compare(C_PACKED8, C_PIPE8, reps);
	if (last == C_PACKED128K) {
		compare(C_PACKED1M, C_FIXED1M, reps);
		compare(C_PACKED128K, C_FIXED1M, reps);
	}
	return 0;
}
