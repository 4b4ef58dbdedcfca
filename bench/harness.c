/* SPDX-License-Identifier: MIT */
/*
 * harness.c - running one case: set the transport up, fork its producer(s)
 * and consumer(s) (or one child with two threads), pin them (not the MPMC
 * worker-pool shapes: transport.unpinned), start them together through a
 * shared flag, wait for them, and turn what they report into one case_out,
 * checking that every producer's messages arrived exactly once (count and
 * sum of sequence numbers), over all consumers, or for a fan-out case
 * (transport.fanout: a broadcast) at each consumer on its own. Also the services the sides call: the start
 * and stop of the clocks (wall and CPU time, context switches), pinning,
 * failures.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

/* ------------------------------------------------------------------ */
/* clocks and placement                                                */

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

/* CPU seconds and context switches (voluntary + involuntary) of the calling
 * thread; RUSAGE_THREAD: the same as RUSAGE_SELF for a side that is a
 * single-threaded process, and each thread's own for the threads cases */
static double thread_usage(uint64_t *csw)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	*csw = (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
	return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

/* pin the calling thread to cpu (no-op when cpu < 0) */
static void pin_cpu(int cpu)
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

int harness_cpus(enum placement pl, int *cpu_prod, int *cpu_cons)
{
	cpu_set_t allowed;
	int cpus[2] = {-1, -1}, ncpu = 0;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
		for (int i = 0; i < CPU_SETSIZE && ncpu < 2; i++)
			if (CPU_ISSET(i, &allowed))
				cpus[ncpu++] = i;
	*cpu_prod = *cpu_cons = -1;
	if (pl == PL_SAME && ncpu >= 1)
		*cpu_prod = *cpu_cons = cpus[0];
	else if (pl == PL_CROSS && ncpu >= 2) {
		*cpu_prod = cpus[0];
		*cpu_cons = cpus[1];
	}
	return pl == PL_CROSS && ncpu < 2 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* noise: a cache-line ping-pong between the case's two CPUs           */

#define RTT_BATCHES 48              /* timed batches (median of their means) */
#define RTT_PER     64              /* round trips per batch */
#define RTT_GIVEUP  0.2             /* seconds: a peer that never ran */

struct rtt {
	_Alignas(128) _Atomic uint64_t line;   /* the ping-pong word */
	int cpu[2];
	int spin;                   /* pauses before yielding the CPU */
	double deadline;
	double batch[RTT_BATCHES];
	int nbatch;
};

/* wait until line == want; 0, or -1 (gave up: the peer stopped or never ran) */
static int rtt_wait(struct rtt *x, uint64_t want)
{
	for (unsigned i = 0;; i++) {
		/* acquire: pairs with the peer's release store of line */
		uint64_t v = atomic_load_explicit(&x->line, memory_order_acquire);
		if (v == want)
			return 0;
		if (v == UINT64_MAX)
			return -1;
		if ((int)i < x->spin) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			continue;
		}
		sched_yield();      /* same CPU (or a busy one): let the peer run */
		if ((i & 63) == 0 && now_s() > x->deadline)
			return -1;
	}
}

static void rtt_pin(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *rtt_pong(void *arg)
{
	struct rtt *x = arg;
	rtt_pin(x->cpu[1]);
	for (uint64_t v = 1;; v += 2) {
		if (rtt_wait(x, v))
			break;
		/* release: pairs with the pinger's acquire in rtt_wait */
		atomic_store_explicit(&x->line, v + 1, memory_order_release);
	}
	return NULL;
}

static void *rtt_ping(void *arg)
{
	struct rtt *x = arg;
	rtt_pin(x->cpu[0]);
	uint64_t v = 1;
	for (int b = -1; b < RTT_BATCHES; b++) {   /* batch -1: warm-up */
		uint64_t t0 = now_ns();
		for (int i = 0; i < RTT_PER; i++, v += 2) {
			/* release: pairs with the ponger's acquire in rtt_wait */
			atomic_store_explicit(&x->line, v, memory_order_release);
			if (rtt_wait(x, v + 1))
				goto out;
		}
		if (b >= 0)
			x->batch[x->nbatch++] = (double)(now_ns() - t0) / RTT_PER;
	}
out:
	atomic_store_explicit(&x->line, UINT64_MAX, memory_order_release);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double harness_line_rtt(int cpu_a, int cpu_b)
{
	static struct rtt x;
	memset(&x, 0, sizeof(x));
	x.cpu[0] = cpu_a;
	x.cpu[1] = cpu_b;
	/* on one CPU the peer runs only when we yield */
	x.spin = cpu_a >= 0 && cpu_a == cpu_b ? 0 : 4096;
	x.deadline = now_s() + RTT_GIVEUP;
	pthread_t a, b;
	if (pthread_create(&b, NULL, rtt_pong, &x) != 0)
		return NAN;
	if (pthread_create(&a, NULL, rtt_ping, &x) != 0) {
		atomic_store_explicit(&x.line, UINT64_MAX, memory_order_release);
		pthread_join(b, NULL);
		return NAN;
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	if (x.nbatch < RTT_BATCHES / 2)
		return NAN;
	qsort(x.batch, (size_t)x.nbatch, sizeof(double), cmp_double);
	return x.nbatch % 2 ? x.batch[x.nbatch / 2]
	                    : (x.batch[x.nbatch / 2 - 1] + x.batch[x.nbatch / 2]) / 2;
}

/* ------------------------------------------------------------------ */
/* services for the sides                                              */

int take_fd(struct bctx *c, int i)
{
	c->fd_taken |= 1u << i;
	return c->fd[i];
}

void side_ready(struct bctx *c)
{
	/* the ends this side does not use: closed, so EOF reaches the peer */
	for (int i = 0; i < MAX_FDS; i++)
		if (c->fd[i] >= 0 && !(c->fd_taken & (1u << i))) {
			close(c->fd[i]);
			c->fd[i] = -1;
		}
	pin_cpu(c->my_cpu);
	atomic_fetch_add_explicit(&c->sh->ready, 1, memory_order_acq_rel);
	while (!atomic_load_explicit(&c->sh->go, memory_order_acquire))
		sched_yield();
	c->res->t0 = c->sh->go_time;
	/* RUSAGE_THREAD: every side is a single-threaded process or one thread */
	uint64_t csw;
	c->res->cpu_s = -thread_usage(&csw);
	c->res->csw = 0 - csw;      /* side_done adds the count then: the difference */
}

int side_running(struct bctx *c)
{
	return now_s() < c->sh->go_time + c->duration;
}

void side_done(struct bctx *c)
{
	uint64_t csw;
	c->res->cpu_s += thread_usage(&csw);
	c->res->csw += csw;
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

/* ------------------------------------------------------------------ */
/* signals                                                             */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

void harness_signals(void)
{
	/* SIGCHLD waited for; SIGINT/SIGTERM stop cleanly (names unlinked) */
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
}

int harness_interrupted(void)
{
	return interrupted;
}

/* ------------------------------------------------------------------ */
/* running one case                                                    */

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

/* the parent's part: start the sides together, wait for them; 1 failed */
static int start_and_wait(struct bctx *c, pid_t *pids, int np, int expect, double duration,
                          struct case_out *o)
{
	int failed = 0;
	for (int i = 0; i < np; i++)
		if (pids[i] < 0)
			failed = 1;
	/* the children hold what they need; our copies would hide EOF */
	for (int i = 0; i < MAX_FDS; i++)
		if (c->fd[i] >= 0) {
			close(c->fd[i]);
			c->fd[i] = -1;
		}

	/* wait until every side attached, then start them together */
	double limit = now_s() + 10;
	while (!failed && atomic_load_explicit(&c->sh->ready, memory_order_acquire) < expect) {
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
		c->sh->go_time = now_s();
		atomic_store_explicit(&c->sh->go, 1, memory_order_release);
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
	return failed;
}

/* round trip: the client's percentiles; 1 failed */
static int collect_latency(const struct side_result *r, struct case_out *o)
{
	o->p50 = r[0].p50;
	o->p99 = r[0].p99;
	o->p999 = r[0].p999;
	o->max = r[0].max;
	o->mean = r[0].mean;
	o->samples = (double)r[0].samples;
	if (r[0].samples)
		return 0;
	snprintf(o->why, sizeof(o->why), "no samples");
	return 1;
}

/* stream: nothing lost or duplicated, then the rates; 1 failed. fanout:
 * every consumer must have received each message of the one producer
 * exactly once (count and sum per consumer), and the rates count
 * deliveries: sent times consumers */
static int collect_stream(const struct side_result *r, int nprod, int ncons, int fanout,
                          int ring_each, size_t size, struct case_out *o)
{
	uint64_t sent = 0, got = 0, csw = 0, yields = 0, futex = 0, memb = 0;
	double pcpu = 0, ccpu = 0, t0 = 1e300, t1 = 0;
	int failed = 0, has_yield = 0, has_futex = 0;
	int64_t spin = 0;
	for (int i = 0; i < nprod; i++) {
		sent += r[i].msgs;
		pcpu += r[i].cpu_s;
		csw += r[i].csw;
		yields += r[i].yields;
		has_yield |= r[i].has_yield;
		uint64_t cnt = 0, sum = 0, m = r[i].msgs, want = m ? m * (m - 1) / 2 : 0;
		for (int j = 0; j < ncons; j++) {
			uint64_t cj = r[MAX_SIDE + j].seq_cnt[i], sj = r[MAX_SIDE + j].seq_sum[i];
			cnt += cj;
			sum += sj;
			/* a fan-out: this consumer alone got each message once */
			if (fanout && (cj != m || sj != want)) {
				failed = 1;
				snprintf(o->why, sizeof(o->why),
				         "fan-out: producer %d sent %llu, consumer %d got %llu (sum %llu,"
				         " expected %llu)", i, (unsigned long long)m, j,
				         (unsigned long long)cj, (unsigned long long)sj,
				         (unsigned long long)want);
			}
		}
		/* nothing lost or duplicated: count and sum of 0..m-1 */
		if (!fanout && (cnt != m || sum != want)) {
			failed = 1;
			snprintf(o->why, sizeof(o->why),
			         "producer %d sent %llu, consumers got %llu (sum %llu)", i,
			         (unsigned long long)m, (unsigned long long)cnt,
			         (unsigned long long)sum);
		}
	}
	for (int j = 0; j < ncons; j++) {
		const struct side_result *q = &r[MAX_SIDE + j];
		got += q->msgs;
		ccpu += q->cpu_s;
		csw += q->csw;
		yields += q->yields;
		has_yield |= q->has_yield;
		/* shmring's counters are the ring's, not the process's: each consumer
		 * reports their change from its go to its done, and those windows
		 * nearly coincide, so the widest one counts (a sum would count every
		 * call once per consumer); where each consumer has a ring of its own
		 * (transport.ring_each), the rings' counts add up */
		if (q->has_futex) {
			if (!has_futex)
				spin = q->spin_ns;
			has_futex = 1;
			if (ring_each) {
				futex += q->futex_calls;
				memb += q->membarriers;
			} else {
				futex = q->futex_calls > futex ? q->futex_calls : futex;
				memb = q->membarriers > memb ? q->membarriers : memb;
			}
		}
		if (q->t0 < t0)
			t0 = q->t0;
		if (q->t1 > t1)
			t1 = q->t1;
	}
	/* deliveries: one per message, or one per message and consumer */
	uint64_t due = fanout ? sent * (uint64_t)ncons : sent;
	if (!failed && (got != due || got == 0 || t1 <= t0)) {
		snprintf(o->why, sizeof(o->why), "sent %llu, received %llu (expected %llu)",
		         (unsigned long long)sent, (unsigned long long)got,
		         (unsigned long long)due);
		return 1;
	}
	if (failed)
		return 1;
	double per_1k = 1000.0 / (double)got;
	o->msgs = got;
	o->mps = (double)got / (t1 - t0);
	o->mps_sub = fanout ? o->mps / ncons : o->mps;
	o->bps = o->mps * (double)size;
	o->pcpu = pcpu / ((double)got / 1e6);
	o->ccpu = ccpu / ((double)got / 1e6);
	o->futex = has_futex ? (double)futex * per_1k : NAN;
	o->memb = has_futex ? (double)memb * per_1k : NAN;
	o->spin_ns = has_futex ? (double)spin : NAN;
	o->yield = has_yield ? (double)yields * per_1k : NAN;
	o->csw = (double)csw * per_1k;     /* every process (or thread) of the case */
	return 0;
}

int run_case(const struct transport *t, size_t size, double duration, int latency,
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
	c.spin_ns = t->spin_ns;
	c.burst = t->burst;
	c.fanout = !latency && t->fanout;
	for (int i = 0; i < MAX_FDS; i++)
		c.fd[i] = -1;
	/* capacity: about 4 MiB of slots, 16..4096 messages, unless the
	 * transport says (the MPMC shapes: MPMC_SLOTS) */
	uint64_t want = (4u << 20) / (size + 8), slots = 16;
	while (slots < want && slots < 4096)
		slots <<= 1;
	c.slots = t->slots ? t->slots : slots;
	/* the worker-pool shapes: the scheduler places every side */
	if (t->unpinned)
		cpu_prod = cpu_cons = -1;
	serial++;
	snprintf(c.name, sizeof(c.name), "/shmring-bench-%d-%u-a", (int)getpid(), serial);
	snprintf(c.name2, sizeof(c.name2), "/shmring-bench-%d-%u-b", (int)getpid(), serial);

	c.cpu_prod = cpu_prod;
	c.cpu_cons = cpu_cons;

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
	/* the weather just before the case (set up: only the fork is left) */
	double rtt0 = harness_line_rtt(cpu_prod, cpu_cons);

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
	int failed = start_and_wait(&c, pids, np, expect, duration, o);
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
	if (!failed && !o->why[0] && latency)
		failed = collect_latency(r, o);
	else if (!failed)
		failed = collect_stream(r, t->threads ? 1 : c.nprod, t->threads ? 1 : c.ncons,
		                        c.fanout, t->ring_each, size, o);
	munmap(c.sh, sizeof(struct bshared));
	o->rtt_before = rtt0;
	o->rtt_after = harness_line_rtt(cpu_prod, cpu_cons);
	if (failed && !o->why[0])
		snprintf(o->why, sizeof(o->why), "a child failed (see stderr)");
	o->ok = failed ? 0 : 1;
	return failed ? -1 : 0;
}
