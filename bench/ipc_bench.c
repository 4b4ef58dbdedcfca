/* SPDX-License-Identifier: MIT */
/*
 * ipc_bench.c - the IPC comparison: shmring against pipes, sockets, POSIX
 * message queues, a reference ring, semaphores and liburcu.
 *
 * Each case forks its producer(s) and consumer(s) (separate processes, or
 * two threads of one child for liburcu), pins producers to one CPU and
 * consumers to another, starts them together through a shared flag, and
 * lets the producers send for --duration seconds. The consumers check every
 * message's sequence number; the parent checks counts and sums. Cases are
 * interleaved (every transport and size once per repetition) because the
 * machine drifts: compare ratios within a run, not absolute numbers across
 * runs.
 *
 *   ipc_bench [--reps N] [--duration S] [--sizes 8,64,...] [--lat-sizes 8,4096]
 *             [--transports a,b,...] [--no-stream] [--no-latency]
 *             [--json FILE] [--csv FILE] [--quiet] [--list] [--help]
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ipc_bench.h"

#ifndef BENCH_CFLAGS
#define BENCH_CFLAGS "unknown"
#endif

/* run order within a rep (rotated each rep): the two yardsticks, pipe and
 * the reference ring, sit next to the shmring cases they are compared with */
static const struct transport *const all_transports[] = {
	&t_pipe, &t_ref_ring, &t_shm_spsc, &t_shm_burst, &t_shm_zc, &t_shm_sleep,
	&t_shm_mpmc11, &t_shm_mpmc22, &t_pipe_batch, &t_unix_stream, &t_unix_seqpacket,
	&t_tcp, &t_mq, &t_urcu, &t_sem,
};
#define NTRANS (sizeof(all_transports) / sizeof(all_transports[0]))
#define MAX_SIZES 32
#define MAX_REPS 64

/* ------------------------------------------------------------------ */
/* harness services                                                    */

double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

double thread_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

double proc_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

void pin_cpu(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* 0: the calling thread */
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("ipc_bench: sched_setaffinity");
}

void side_ready(struct bctx *c)
{
	pin_cpu(c->my_cpu);
	atomic_fetch_add_explicit(&c->sh->ready, 1, memory_order_acq_rel);
	while (!atomic_load_explicit(&c->sh->go, memory_order_acquire))
		sched_yield();
	c->res->t0 = c->sh->go_time;
	/* RUSAGE_THREAD: every side is a single-threaded process or one thread */
	c->res->cpu_s = -thread_cpu_s();
}

int side_running(struct bctx *c)
{
	return now_s() < c->sh->go_time + c->duration;
}

void side_done(struct bctx *c)
{
	c->res->cpu_s += thread_cpu_s();
	c->res->t1 = now_s();
}

int side_fail(struct bctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (!c->res->failed)
		vsnprintf(c->res->err, sizeof(c->res->err), fmt, ap);
	va_end(ap);
	c->res->failed = 1;
	return -1;
}

int chk_msg(struct checker *k, const void *msg, size_t len, size_t size, char *err, size_t errlen)
{
	uint64_t w = msg_word(msg), tail = w;
	if (len != size) {
		snprintf(err, errlen, "message %llu: length %zu, expected %zu",
		         (unsigned long long)k->total, len, size);
		return -1;
	}
	if (size >= 16)
		memcpy(&tail, (const char *)msg + size - 8, sizeof(tail));
	unsigned id = (unsigned)(w >> SEQ_ID_SHIFT);
	uint64_t n = w & SEQ_MASK;
	if (id >= MAX_SIDE || tail != w) {
		snprintf(err, errlen, "message %llu: corrupt stamp %#llx / tail %#llx",
		         (unsigned long long)k->total, (unsigned long long)w,
		         (unsigned long long)tail);
		return -1;
	}
	if (k->strict ? n != k->next[id] : n < k->next[id]) {
		snprintf(err, errlen, "producer %u: sequence %llu, expected %s%llu", id,
		         (unsigned long long)n, k->strict ? "" : ">= ",
		         (unsigned long long)k->next[id]);
		return -1;
	}
	k->next[id] = n + 1;
	k->cnt[id]++;
	k->sum[id] += n;
	k->total++;
	return 0;
}

void chk_report(struct bctx *c, const struct checker *k)
{
	c->res->msgs = k->total;
	for (int i = 0; i < MAX_SIDE; i++) {
		c->res->seq_cnt[i] = k->cnt[i];
		c->res->seq_sum[i] = k->sum[i];
	}
}

int lat_init(struct bctx *c, struct lat_rec *l)
{
	memset(l, 0, sizeof(*l));
	l->cap = LAT_MAX_SAMPLES;
	l->ns = malloc(l->cap * sizeof(*l->ns));
	if (!l->ns)
		return side_fail(c, "out of memory for samples");
	/* touch the array now, not during the measurement */
	memset(l->ns, 0, l->cap * sizeof(*l->ns));
	return 0;
}

int lat_step(struct bctx *c, struct lat_rec *l, uint64_t i)
{
	if (i & 15)
		return 1;
	double t = now_s();
	if (!l->recording) {
		if (i >= LAT_WARMUP || t - c->sh->go_time > 0.05) {
			l->recording = 1;
			l->end = t + c->duration;
		}
		return 1;
	}
	return t < l->end && l->n < l->cap;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted samples */
static double pct(const uint64_t *v, uint64_t n, double p)
{
	uint64_t i = (uint64_t)ceil(p / 100.0 * (double)n);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (double)v[i - 1];
}

void lat_finish(struct bctx *c, struct lat_rec *l)
{
	struct side_result *r = c->res;
	r->samples = l->n;
	if (l->n) {
		qsort(l->ns, l->n, sizeof(*l->ns), cmp_u64);
		r->p50 = pct(l->ns, l->n, 50);
		r->p99 = pct(l->ns, l->n, 99);
		r->p999 = pct(l->ns, l->n, 99.9);
		r->max = (double)l->ns[l->n - 1];
		r->min = (double)l->ns[0];
	}
	free(l->ns);
	l->ns = NULL;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return got ? -1 : 0;
		got += (size_t)n;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* running one case                                                    */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct case_out {
	int ok;                 /* 1 measured, 0 failed, -1 skipped */
	char why[200];
	/* stream */
	double mps, bps, pcpu, ccpu, futex;   /* futex: calls per 1000 messages, < 0 n/a */
	uint64_t msgs;
	int64_t spin_ns;
	/* latency */
	double p50, p99, p999, max;
	uint64_t samples;
};

static pid_t spawn(const struct transport *t, struct bctx *c, int index, int role, int id,
                   int cpu, int latency)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	c->my_index = index;
	c->my_id = id;
	c->my_cpu = cpu;
	c->res = &c->sh->r[index];
	c->res->used = 1;
	int rc;
	if (t->threads && !latency)
		rc = t->run_threads(c, &c->sh->r[0], &c->sh->r[MAX_SIDE]);
	else if (latency)
		rc = role == ROLE_PROD ? t->ping(c) : t->pong(c);
	else
		rc = role == ROLE_PROD ? t->producer(c) : t->consumer(c);
	_exit(rc == 0 && !c->res->failed ? 0 : 1);
}

static void kill_all(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
}

static int run_case(const struct transport *t, size_t size, double duration, int latency,
                    int cpu_prod, int cpu_cons, struct case_out *o)
{
	static unsigned serial;
	struct bctx c;
	memset(&c, 0, sizeof(c));
	memset(o, 0, sizeof(*o));
	c.size = size;
	c.duration = duration;
	c.nprod = latency ? 1 : t->nprod;
	c.ncons = latency ? 1 : t->ncons;
	c.cpu_prod = cpu_prod;
	c.cpu_cons = cpu_cons;
	c.spin_ns = t->spin_ns;
	c.burst = t->burst;
	for (int i = 0; i < 4; i++)
		c.fd[i] = -1;
	/* capacity: about 4 MiB of slots, 16..4096 messages */
	uint64_t want = (4u << 20) / (size + 8), slots = 16;
	while (slots < want && slots < 4096)
		slots <<= 1;
	c.slots = slots;
	serial++;
	snprintf(c.name, sizeof(c.name), "/shmring-bench-%d-%u-a", (int)getpid(), serial);
	snprintf(c.name2, sizeof(c.name2), "/shmring-bench-%d-%u-b", (int)getpid(), serial);

	c.sh = mmap(NULL, sizeof(struct bshared), PROT_READ | PROT_WRITE,
	            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c.sh == MAP_FAILED) {
		snprintf(o->why, sizeof(o->why), "mmap: %s", strerror(errno));
		return -1;
	}
	int rc = t->setup(&c, latency);
	if (rc != 0) {
		o->ok = rc > 0 ? -1 : 0;
		snprintf(o->why, sizeof(o->why), "%s", c.name);
		munmap(c.sh, sizeof(struct bshared));
		return rc > 0 ? 0 : -1;
	}

	pid_t pids[2 * MAX_SIDE];
	int np = 0, expect;
	if (t->threads && !latency) {
		pids[np++] = spawn(t, &c, 0, ROLE_PROD, 0, -1, 0);
		expect = 2;
	} else {
		for (int i = 0; i < c.nprod; i++)
			pids[np++] = spawn(t, &c, i, ROLE_PROD, i, cpu_prod, latency);
		for (int i = 0; i < c.ncons; i++)
			pids[np++] = spawn(t, &c, MAX_SIDE + i, ROLE_CONS, i, cpu_cons, latency);
		expect = c.nprod + c.ncons;
	}
	int failed = 0;
	for (int i = 0; i < np; i++)
		if (pids[i] < 0)
			failed = 1;
	/* the children hold what they need; our copies would hide EOF */
	for (int i = 0; i < 4; i++)
		if (c.fd[i] >= 0) {
			close(c.fd[i]);
			c.fd[i] = -1;
		}

	/* wait until every side attached, then start them together */
	double limit = now_s() + 10;
	while (!failed && atomic_load_explicit(&c.sh->ready, memory_order_acquire) < expect) {
		for (int i = 0; i < np; i++) {
			int st;
			if (waitpid(pids[i], &st, WNOHANG) == pids[i]) {
				pids[i] = -1;
				failed = 1;
			}
		}
		if (now_s() > limit || interrupted)
			failed = 1;
		usleep(200);
	}
	if (!failed) {
		c.sh->go_time = now_s();
		atomic_store_explicit(&c.sh->go, 1, memory_order_release);
	}

	/* wait for the children (SIGCHLD is blocked; sigtimedwait wakes us) */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	double deadline = now_s() + duration + 30;
	int left = np;
	while (!failed && left > 0) {
		for (int i = 0; i < np; i++) {
			int st;
			if (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) == pids[i]) {
				pids[i] = -1;
				left--;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					failed = 1;
			}
		}
		if (left == 0 || failed)
			break;
		if (now_s() > deadline || interrupted) {
			failed = 1;
			snprintf(o->why, sizeof(o->why), interrupted ? "interrupted" : "timed out");
			break;
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		sigtimedwait(&chld, NULL, &ts);
	}
	kill_all(pids, np);
	t->teardown(&c);

	/* collect and verify */
	struct side_result *r = c.sh->r;
	for (int i = 0; i < 2 * MAX_SIDE; i++) {
		if (r[i].used && r[i].failed) {
			failed = 1;
			snprintf(o->why, sizeof(o->why), "%s side %d: %s",
			         i < MAX_SIDE ? "producer" : "consumer", i % MAX_SIDE, r[i].err);
		}
	}
	if (!failed && !o->why[0] && latency) {
		o->p50 = r[0].p50;
		o->p99 = r[0].p99;
		o->p999 = r[0].p999;
		o->max = r[0].max;
		o->samples = r[0].samples;
		if (!o->samples) {
			failed = 1;
			snprintf(o->why, sizeof(o->why), "no samples");
		}
	} else if (!failed) {
		uint64_t sent = 0, got = 0;
		double pcpu = 0, ccpu = 0, t0 = 1e300, t1 = 0;
		int nprod = t->threads ? 1 : c.nprod, ncons = t->threads ? 1 : c.ncons;
		for (int i = 0; i < nprod; i++) {
			sent += r[i].msgs;
			pcpu += r[i].cpu_s;
			uint64_t cnt = 0, sum = 0, m = r[i].msgs;
			for (int j = 0; j < ncons; j++) {
				cnt += r[MAX_SIDE + j].seq_cnt[i];
				sum += r[MAX_SIDE + j].seq_sum[i];
			}
			/* nothing lost or duplicated: count and sum of 0..m-1 */
			if (cnt != m || sum != (m ? m * (m - 1) / 2 : 0)) {
				failed = 1;
				snprintf(o->why, sizeof(o->why),
				         "producer %d sent %llu, consumers got %llu (sum %llu)", i,
				         (unsigned long long)m, (unsigned long long)cnt,
				         (unsigned long long)sum);
			}
		}
		for (int j = 0; j < ncons; j++) {
			struct side_result *q = &r[MAX_SIDE + j];
			got += q->msgs;
			ccpu += q->cpu_s;
			if (q->t0 < t0)
				t0 = q->t0;
			if (q->t1 > t1)
				t1 = q->t1;
		}
		if (!failed && (got != sent || got == 0 || t1 <= t0)) {
			failed = 1;
			snprintf(o->why, sizeof(o->why), "sent %llu, received %llu",
			         (unsigned long long)sent, (unsigned long long)got);
		}
		if (!failed) {
			o->msgs = got;
			o->mps = (double)got / (t1 - t0);
			o->bps = o->mps * (double)size;
			o->pcpu = pcpu / ((double)got / 1e6);
			o->ccpu = ccpu / ((double)got / 1e6);
			o->futex = r[MAX_SIDE].has_futex
			           ? (double)r[MAX_SIDE].futex_calls * 1000.0 / (double)got : -1;
			o->spin_ns = r[MAX_SIDE].spin_ns;
		}
	}
	munmap(c.sh, sizeof(struct bshared));
	if (failed && !o->why[0])
		snprintf(o->why, sizeof(o->why), "a child failed (see stderr)");
	o->ok = failed ? 0 : 1;
	return failed ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* statistics and output                                               */

struct agg {                 /* one transport x size: all reps */
	int n, skipped;
	char why[200];
	double v[MAX_REPS][10];  /* per rep: the metrics below */
};
enum { M_MPS, M_BPS, M_PCPU, M_CCPU, M_FUTEX, M_XPIPE, M_SPIN, M_XREF, M_NMET };
enum { L_P50, L_P99, L_P999, L_MAX, L_SAMPLES, L_XPIPE, L_NMET };

struct stat3 {
	double med, min, max;
};

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static struct stat3 stat_of(const struct agg *a, int m)
{
	double v[MAX_REPS];
	struct stat3 s = {NAN, NAN, NAN};
	int n = 0;
	for (int i = 0; i < a->n; i++)
		if (!isnan(a->v[i][m]))
			v[n++] = a->v[i][m];
	if (!n)
		return s;
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* 12.3M style */
static const char *si(char *buf, size_t len, double v)
{
	const char *u = "";
	if (isnan(v)) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (v >= 1e9) {
		v /= 1e9;
		u = "G";
	} else if (v >= 1e6) {
		v /= 1e6;
		u = "M";
	} else if (v >= 1e3) {
		v /= 1e3;
		u = "k";
	}
	snprintf(buf, len, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v, u);
	return buf;
}

/* a ratio, or "-" when there is nothing to compare with */
static const char *ratio(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f", v);
	return buf;
}

struct opts {
	int reps;
	double duration;
	size_t sizes[MAX_SIZES];
	int nsizes;
	size_t lat_sizes[MAX_SIZES];
	int nlat;
	int use[NTRANS];
	int stream, latency, quiet;
	const char *json, *csv;
};

static int parse_sizes(const char *arg, size_t *out, int *n)
{
	char *dup = strdup(arg), *save = NULL;
	*n = 0;
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long v = strtoul(tok, &end, 10);
		if (*end == 'k' || *end == 'K') {
			v *= 1024;
			end++;
		}
		if (*end || v < 8 || v > (1u << 20) || *n >= MAX_SIZES) {
			fprintf(stderr, "ipc_bench: bad size '%s' (8 .. 1048576, at most %d sizes)\n",
			        tok, MAX_SIZES);
			free(dup);
			return -1;
		}
		out[(*n)++] = v;
	}
	free(dup);
	return *n ? 0 : -1;
}

static int parse_transports(const char *arg, int *use)
{
	char *dup = strdup(arg), *save = NULL;
	memset(use, 0, sizeof(int) * NTRANS);
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int hit = 0;
		size_t l = strlen(tok);
		int prefix = l && tok[l - 1] == '*';
		for (size_t i = 0; i < NTRANS; i++) {
			const char *nm = all_transports[i]->name;
			if (prefix ? strncmp(nm, tok, l - 1) == 0 : strcmp(nm, tok) == 0) {
				use[i] = 1;
				hit = 1;
			}
		}
		if (!hit) {
			fprintf(stderr, "ipc_bench: unknown transport '%s' (see --list)\n", tok);
			free(dup);
			return -1;
		}
	}
	free(dup);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
	"usage: ipc_bench [options]\n"
	"  Streaming throughput and ping-pong latency between two processes, pinned\n"
	"  to different CPUs, for shmring and the usual IPC mechanisms.\n"
	"  --reps N           repetitions, cases interleaved (default 3); median [min-max]\n"
	"  --duration S       seconds per case per repetition (default 0.25)\n"
	"  --sizes LIST       streaming message sizes (default 8,64,512,4096,65536; 4k ok)\n"
	"  --lat-sizes LIST   round-trip sizes (default 8,4096)\n"
	"  --transports LIST  names from --list, comma separated; 'shm-*' matches a prefix\n"
	"  --no-stream        skip the throughput cases\n"
	"  --no-latency       skip the round-trip cases\n"
	"  --json FILE        write results as JSON (one record per line)\n"
	"  --csv FILE         write results as CSV\n"
	"  --quiet            no progress line\n"
	"  --list             list the transports and exit\n"
	"  --help             this text\n"
	"  Exit status: 0 all cases verified; 1 a case failed (a sequence mismatch,\n"
	"  a lost message, a child error); 2 usage.\n");
}

static void list_transports(void)
{
	for (size_t i = 0; i < NTRANS; i++) {
		const struct transport *t = all_transports[i];
		printf("  %-15s %s%s%s\n", t->name, t->what,
		       t->kinds & TK_LATENCY ? " [+latency]" : "",
		       t->kinds & TK_STREAM ? "" : " [latency only]");
	}
}

static void cpu_model(char *buf, size_t len)
{
	snprintf(buf, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *p = strchr(line, ':');
			if (p) {
				p++;
				while (*p == ' ')
					p++;
				p[strcspn(p, "\n")] = 0;
				snprintf(buf, len, "%s", p);
			}
			break;
		}
	}
	fclose(f);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, const char *key, double v)
{
	if (isnan(v) || isinf(v))
		fprintf(f, ",\"%s\":null", key);
	else
		fprintf(f, ",\"%s\":%.6g", key, v);
}

int main(int argc, char **argv)
{
	struct opts o = {.reps = 3, .duration = 0.25, .stream = 1, .latency = 1};
	size_t def_sizes[] = {8, 64, 512, 4096, 65536};
	memcpy(o.sizes, def_sizes, sizeof(def_sizes));
	o.nsizes = 5;
	o.lat_sizes[0] = 8;
	o.lat_sizes[1] = 4096;
	o.nlat = 2;
	for (size_t i = 0; i < NTRANS; i++)
		o.use[i] = 1;

	enum { O_REPS = 256, O_DUR, O_SIZES, O_LSIZES, O_TRANS, O_NOSTREAM, O_NOLAT, O_JSON,
	       O_CSV, O_QUIET, O_LIST, O_HELP };
	static const struct option lo[] = {
		{"reps", required_argument, 0, O_REPS},
		{"duration", required_argument, 0, O_DUR},
		{"sizes", required_argument, 0, O_SIZES},
		{"lat-sizes", required_argument, 0, O_LSIZES},
		{"transports", required_argument, 0, O_TRANS},
		{"no-stream", no_argument, 0, O_NOSTREAM},
		{"no-latency", no_argument, 0, O_NOLAT},
		{"json", required_argument, 0, O_JSON},
		{"csv", required_argument, 0, O_CSV},
		{"quiet", no_argument, 0, O_QUIET},
		{"list", no_argument, 0, O_LIST},
		{"help", no_argument, 0, O_HELP},
		{0, 0, 0, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case O_REPS:
			o.reps = atoi(optarg);
			if (o.reps < 1 || o.reps > MAX_REPS) {
				fprintf(stderr, "ipc_bench: --reps 1..%d\n", MAX_REPS);
				return 2;
			}
			break;
		case O_DUR:
			o.duration = atof(optarg);
			if (!(o.duration > 0.001 && o.duration <= 60)) {
				fprintf(stderr, "ipc_bench: --duration 0.001..60 seconds\n");
				return 2;
			}
			break;
		case O_SIZES:
			if (parse_sizes(optarg, o.sizes, &o.nsizes))
				return 2;
			break;
		case O_LSIZES:
			if (parse_sizes(optarg, o.lat_sizes, &o.nlat))
				return 2;
			break;
		case O_TRANS:
			if (parse_transports(optarg, o.use))
				return 2;
			break;
		case O_NOSTREAM: o.stream = 0; break;
		case O_NOLAT: o.latency = 0; break;
		case O_JSON: o.json = optarg; break;
		case O_CSV: o.csv = optarg; break;
		case O_QUIET: o.quiet = 1; break;
		case O_LIST: list_transports(); return 0;
		case 'h':
		case O_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	/* placement: producer (and ping client) on the first allowed CPU,
	 * consumer (and echo server) on the second */
	cpu_set_t allowed;
	int cpus[2] = {-1, -1}, ncpu = 0;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
		for (int i = 0; i < CPU_SETSIZE && ncpu < 2; i++)
			if (CPU_ISSET(i, &allowed))
				cpus[ncpu++] = i;
	int cpu_prod = ncpu >= 2 ? cpus[0] : -1, cpu_cons = ncpu >= 2 ? cpus[1] : -1;

	/* signals: SIGCHLD waited for; SIGINT/SIGTERM stop cleanly (names unlinked) */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char cpu[256];
	cpu_model(cpu, sizeof(cpu));
	struct utsname un;
	uname(&un);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	char placement[160];
	if (cpu_prod >= 0)
		snprintf(placement, sizeof(placement),
		         "producer/client pinned to CPU %d, consumer/server to CPU %d", cpu_prod,
		         cpu_cons);
	else
		snprintf(placement, sizeof(placement), "not pinned (fewer than 2 usable CPUs)");
	printf("shmring ipc_bench: %s, %ld CPUs online, Linux %s\n", cpu, online, un.release);
	printf("compiler: gcc-compatible %s; flags: %s\n", __VERSION__, BENCH_CFLAGS);
	printf("placement: %s\n", placement);
	printf("reps %d (interleaved), %.3g s per case; medians, [min-max] over reps;"
	       " x pipe / x ref = median over reps of the ratio to 'pipe' / 'ref-ring'"
	       " of the same size in the same rep\n",
	       o.reps, o.duration);

	static struct agg sagg[NTRANS][MAX_SIZES], lagg[NTRANS][MAX_SIZES];
	int pipe_i = -1, ref_i = -1;
	for (size_t i = 0; i < NTRANS; i++) {
		if (all_transports[i] == &t_pipe)
			pipe_i = (int)i;
		if (all_transports[i] == &t_ref_ring)
			ref_i = (int)i;
	}

	/* count the cases for the progress line */
	int total = 0, done = 0, bad = 0;
	for (size_t i = 0; i < NTRANS; i++) {
		if (!o.use[i])
			continue;
		const struct transport *t = all_transports[i];
		if (o.stream && (t->kinds & TK_STREAM))
			total += o.nsizes;
		if (o.latency && (t->kinds & TK_LATENCY))
			total += o.nlat;
	}
	total *= o.reps;
	int tty = isatty(2) && !o.quiet;
	double t_start = now_s();

	for (int rep = 0; rep < o.reps && !interrupted; rep++) {
		for (int pass = 0; pass < 2; pass++) {
			int lat = pass == 1;
			if (lat ? !o.latency : !o.stream)
				continue;
			int ns = lat ? o.nlat : o.nsizes;
			for (int si_ = 0; si_ < ns && !interrupted; si_++) {
				size_t size = lat ? o.lat_sizes[si_] : o.sizes[si_];
				for (size_t k = 0; k < NTRANS && !interrupted; k++) {
					/* each rep starts at a different transport, so none
					 * always runs first (or right after a heavy one) */
					size_t ti = (k + (size_t)rep * 7) % NTRANS;
					const struct transport *t = all_transports[ti];
					if (!o.use[ti] || !(t->kinds & (lat ? TK_LATENCY : TK_STREAM)))
						continue;
					struct agg *a = lat ? &lagg[ti][si_] : &sagg[ti][si_];
					done++;
					if (tty)
						fprintf(stderr, "\r\033[K[%3d/%d %3.0fs] rep %d/%d %s %-15s %6zu B",
						        done, total, now_s() - t_start, rep + 1, o.reps,
						        lat ? "round-trip" : "stream    ", t->name, size);
					else if (!o.quiet && k == 0)
						fprintf(stderr, "[%3d/%d %3.0fs] rep %d/%d %s %zu B\n", done,
						        total, now_s() - t_start, rep + 1, o.reps,
						        lat ? "round-trip" : "stream", size);
					if (t->max_size && size > t->max_size) {
						a->skipped = 1;
						snprintf(a->why, sizeof(a->why), "above %zu B", t->max_size);
						continue;
					}
					struct case_out co;
					run_case(t, size, o.duration, lat, cpu_prod, cpu_cons, &co);
					if (co.ok < 0) {
						a->skipped = 1;
						snprintf(a->why, sizeof(a->why), "%s", co.why);
						continue;
					}
					if (co.ok == 0) {
						if (tty)
							fputc('\n', stderr);
						fprintf(stderr, "ipc_bench: FAILED %s %s %zu B rep %d: %s\n",
						        lat ? "round-trip" : "stream", t->name, size, rep + 1,
						        co.why);
						bad++;
						continue;
					}
					double *v = a->v[a->n++];
					for (int m = 0; m < 10; m++)
						v[m] = NAN;
					if (lat) {
						v[L_P50] = co.p50;
						v[L_P99] = co.p99;
						v[L_P999] = co.p999;
						v[L_MAX] = co.max;
						v[L_SAMPLES] = (double)co.samples;
					} else {
						v[M_MPS] = co.mps;
						v[M_BPS] = co.bps;
						v[M_PCPU] = co.pcpu;
						v[M_CCPU] = co.ccpu;
						v[M_FUTEX] = co.futex >= 0 ? co.futex : NAN;
						v[M_SPIN] = co.futex >= 0 ? (double)co.spin_ns : NAN;
					}
				}
			}
		}
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
	double elapsed = now_s() - t_start;

	/* x pipe, per rep (the same rep index ran in the same pass) */
	for (size_t ti = 0; ti < NTRANS; ti++)
		for (int s = 0; s < MAX_SIZES; s++) {
			if (pipe_i < 0)
				break;
			struct agg *a = &sagg[ti][s], *p = &sagg[pipe_i][s];
			for (int i = 0; i < a->n; i++)
				a->v[i][M_XPIPE] = i < p->n ? a->v[i][M_MPS] / p->v[i][M_MPS] : NAN;
			p = ref_i >= 0 ? &sagg[ref_i][s] : NULL;
			for (int i = 0; i < a->n; i++)
				a->v[i][M_XREF] = p && i < p->n ? a->v[i][M_MPS] / p->v[i][M_MPS] : NAN;
			a = &lagg[ti][s];
			p = &lagg[pipe_i][s];
			for (int i = 0; i < a->n; i++)
				a->v[i][L_XPIPE] = i < p->n ? p->v[i][L_P50] / a->v[i][L_P50] : NAN;
		}

	/* terminal tables */
	char b1[32], b2[32], b3[32], b4[32];
	if (o.stream) {
		for (int s = 0; s < o.nsizes; s++) {
			printf("\nstreaming, %zu B messages\n", o.sizes[s]);
			printf("%-15s %8s %-17s %9s %7s %6s %8s %8s %9s\n", "transport", "msgs/s",
			       " [min - max]", "bytes/s", "x pipe", "x ref", "prodCPU", "consCPU",
			       "futex/1k");
			printf("%-15s %8s %-17s %9s %7s %6s %8s %8s %9s\n", "", "", "", "", "", "",
			       "s/Mmsg", "s/Mmsg", "msgs");
			for (size_t ti = 0; ti < NTRANS; ti++) {
				const struct transport *t = all_transports[ti];
				struct agg *a = &sagg[ti][s];
				if (!o.use[ti] || !(t->kinds & TK_STREAM))
					continue;
				if (!a->n) {
					printf("%-15s %s %s\n", t->name,
					       a->skipped ? "skipped:" : "no result (failed)", a->why);
					continue;
				}
				struct stat3 mps = stat_of(a, M_MPS), bps = stat_of(a, M_BPS),
				             xp = stat_of(a, M_XPIPE), pc = stat_of(a, M_PCPU),
				             cc = stat_of(a, M_CCPU), fx = stat_of(a, M_FUTEX),
				             xr = stat_of(a, M_XREF);
				char range[40], fxs[16];
				snprintf(range, sizeof(range), " [%s - %s]", si(b1, 32, mps.min),
				         si(b2, 32, mps.max));
				if (isnan(fx.med))
					snprintf(fxs, sizeof(fxs), "-");
				else
					snprintf(fxs, sizeof(fxs), "%.3f", fx.med);
				printf("%-15s %8s %-17s %9s %7s %6s %8.3f %8.3f %9s\n", t->name,
				       si(b3, 32, mps.med), range, si(b4, 32, bps.med),
				       ratio(b1, 32, xp.med), ratio(b2, 32, xr.med), pc.med, cc.med, fxs);
			}
		}
	}
	if (o.latency) {
		for (int s = 0; s < o.nlat; s++) {
			printf("\nround trip (ping-pong), %zu B each way; microseconds, medians over reps"
			       " of each percentile\n", o.lat_sizes[s]);
			printf("%-15s %9s %9s %9s %9s %9s %11s\n", "transport", "p50", "p99", "p99.9",
			       "max", "samples", "x pipe p50");
			for (size_t ti = 0; ti < NTRANS; ti++) {
				const struct transport *t = all_transports[ti];
				struct agg *a = &lagg[ti][s];
				if (!o.use[ti] || !(t->kinds & TK_LATENCY))
					continue;
				if (!a->n) {
					printf("%-15s %s %s\n", t->name,
					       a->skipped ? "skipped:" : "no result (failed)", a->why);
					continue;
				}
				struct stat3 p50 = stat_of(a, L_P50), p99 = stat_of(a, L_P99),
				             p999 = stat_of(a, L_P999), mx = stat_of(a, L_MAX),
				             n = stat_of(a, L_SAMPLES), xp = stat_of(a, L_XPIPE);
				printf("%-15s %9.2f %9.2f %9.2f %9.1f %9s %11s\n", t->name,
				       p50.med / 1e3, p99.med / 1e3, p999.med / 1e3, mx.med / 1e3,
				       si(b1, 32, n.med), ratio(b2, 32, xp.med));
			}
		}
	}
	/* the futex budget line for the saturated blocking SPSC stream */
	size_t spsc_i = 0;
	for (size_t ti = 0; ti < NTRANS; ti++)
		if (all_transports[ti] == &t_shm_spsc)
			spsc_i = ti;
	if (o.stream && o.use[spsc_i]) {
		struct stat3 sp = stat_of(&sagg[spsc_i][0], M_SPIN);
		printf("\nfutex calls per 1000 messages, saturated blocking SPSC stream (shm-spsc;"
		       " shmring_stats waits + wakes; wait policy: spin %.0f ns):\n ", sp.med);
		for (int s = 0; s < o.nsizes; s++) {
			struct stat3 fx = stat_of(&sagg[spsc_i][s], M_FUTEX);
			printf(" %zu B: %.3f [%.3f - %.3f]%s", o.sizes[s], fx.med, fx.min, fx.max,
			       s + 1 < o.nsizes ? ";" : "");
		}
		printf("\n");
	}
	printf("\n%d cases in %.1f s; %s\n", done, elapsed,
	       bad ? "SOME CASES FAILED (see above)" : "every message verified");

	/* machine-readable output */
	if (o.json) {
		FILE *f = fopen(o.json, "w");
		if (!f) {
			fprintf(stderr, "ipc_bench: %s: %s\n", o.json, strerror(errno));
			return 1;
		}
		fprintf(f, "{\"tool\":\"shmring ipc_bench\",\"format\":1,\n\"machine\":{\"cpu\":");
		json_str(f, cpu);
		fprintf(f, ",\"cpus_online\":%ld,\"kernel\":", online);
		json_str(f, un.release);
		fprintf(f, ",\"compiler\":");
		json_str(f, __VERSION__);
		fprintf(f, ",\"cflags\":");
		json_str(f, BENCH_CFLAGS);
		fprintf(f, "},\n\"config\":{\"reps\":%d,\"duration_s\":%g,\"placement\":", o.reps,
		        o.duration);
		json_str(f, placement);
		fprintf(f, ",\"elapsed_s\":%.1f,\"failed_cases\":%d},\n\"results\":[\n", elapsed, bad);
		int first = 1;
		for (int pass = 0; pass < 2; pass++) {
			int lat = pass == 1;
			int ns = lat ? o.nlat : o.nsizes;
			for (size_t ti = 0; ti < NTRANS; ti++) {
				const struct transport *t = all_transports[ti];
				if (!o.use[ti] || !(t->kinds & (lat ? TK_LATENCY : TK_STREAM)))
					continue;
				for (int s = 0; s < ns; s++) {
					struct agg *a = lat ? &lagg[ti][s] : &sagg[ti][s];
					size_t size = lat ? o.lat_sizes[s] : o.sizes[s];
					fprintf(f, "%s{\"kind\":\"%s\",\"transport\":\"%s\",\"size\":%zu",
					        first ? "" : ",\n", lat ? "latency" : "stream", t->name, size);
					first = 0;
					fprintf(f, ",\"reps\":%d", a->n);
					if (!a->n) {
						fprintf(f, ",\"skipped\":");
						json_str(f, a->skipped ? a->why : "failed");
						fprintf(f, "}");
						continue;
					}
					static const char *const sn[] = {"msgs_per_s", "bytes_per_s",
						"prod_cpu_s_per_M", "cons_cpu_s_per_M", "futex_per_1k", "x_pipe",
						"spin_ns", "x_ref"};
					static const char *const ln[] = {"p50_ns", "p99_ns", "p999_ns",
						"max_ns", "samples", "x_pipe_p50"};
					int nm = lat ? L_NMET : M_NMET;
					for (int m = 0; m < nm; m++) {
						struct stat3 st = stat_of(a, m);
						char key[48];
						const char *k = lat ? ln[m] : sn[m];
						json_num(f, k, st.med);
						snprintf(key, sizeof(key), "%s_min", k);
						json_num(f, key, st.min);
						snprintf(key, sizeof(key), "%s_max", k);
						json_num(f, key, st.max);
					}
					fprintf(f, ",\"per_rep_%s\":[", lat ? "p50_ns" : "msgs_per_s");
					for (int i = 0; i < a->n; i++)
						fprintf(f, "%s%.6g", i ? "," : "", a->v[i][lat ? L_P50 : M_MPS]);
					fprintf(f, "]}");
				}
			}
		}
		fprintf(f, "\n]}\n");
		fclose(f);
	}
	if (o.csv) {
		FILE *f = fopen(o.csv, "w");
		if (!f) {
			fprintf(stderr, "ipc_bench: %s: %s\n", o.csv, strerror(errno));
			return 1;
		}
		fprintf(f, "kind,transport,size,reps,msgs_per_s,msgs_per_s_min,msgs_per_s_max,"
		           "bytes_per_s,x_pipe,prod_cpu_s_per_M,cons_cpu_s_per_M,futex_per_1k,"
		           "p50_ns,p99_ns,p999_ns,max_ns,samples,x_pipe_p50,x_ref\n");
		for (int pass = 0; pass < 2; pass++) {
			int lat = pass == 1;
			int ns = lat ? o.nlat : o.nsizes;
			for (size_t ti = 0; ti < NTRANS; ti++) {
				const struct transport *t = all_transports[ti];
				if (!o.use[ti] || !(t->kinds & (lat ? TK_LATENCY : TK_STREAM)))
					continue;
				for (int s = 0; s < ns; s++) {
					struct agg *a = lat ? &lagg[ti][s] : &sagg[ti][s];
					if (!a->n)
						continue;
					fprintf(f, "%s,%s,%zu,%d", lat ? "latency" : "stream", t->name,
					        lat ? o.lat_sizes[s] : o.sizes[s], a->n);
					if (lat) {
						fprintf(f, ",,,,,,,,");
						for (int m = 0; m < L_NMET; m++)
							fprintf(f, ",%.6g", stat_of(a, m).med);
						fprintf(f, ",");
					} else {
						struct stat3 mps = stat_of(a, M_MPS);
						fprintf(f, ",%.6g,%.6g,%.6g", mps.med, mps.min, mps.max);
						int ms[] = {M_BPS, M_XPIPE, M_PCPU, M_CCPU, M_FUTEX};
						for (int m = 0; m < 5; m++) {
							double v = stat_of(a, ms[m]).med;
							if (isnan(v))
								fprintf(f, ",");
							else
								fprintf(f, ",%.6g", v);
						}
						fprintf(f, ",,,,,,");
						double xr = stat_of(a, M_XREF).med;
						if (!isnan(xr))
							fprintf(f, ",%.6g", xr);
						else
							fprintf(f, ",");
					}
					fprintf(f, "\n");
				}
			}
		}
		fclose(f);
	}
	if (interrupted) {
		fprintf(stderr, "ipc_bench: interrupted\n");
		return 1;
	}
	return bad ? 1 : 0;
}
