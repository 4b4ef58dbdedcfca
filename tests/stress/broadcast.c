/* SPDX-License-Identifier: MIT */
/*
 * broadcast.c - stress of a broadcast ring (SHMRING_BROADCAST): one
 * producer mixing send, send_burst and reserve/commit; three steady
 * subscribers mixing recv, recv_burst and acquire/release, pausing now and
 * then; and a churning subscriber slot that joins in mid-stream, reads a
 * while and leaves (closes, or, with processes, is SIGKILLed at a random
 * moment), again and again.
 *
 * Checks, for every subscriber (the churners included): every delivered
 * message is intact (the stress message format's checksum) and in order;
 * lossless (default): it got exactly the messages from its first one on,
 * without a gap, its first one is its join position or later (nothing
 * from before its join), and a steady one ends at the last message sent
 * and with the end reason CLEAN; overwrite (-O): the gaps in what it got
 * add up to its own overruns and sent - start = delivered + overruns. The
 * producer never waits on a dead subscriber (every call is bounded by 5 s:
 * longer is a hang), and no call hangs.
 *
 * Processes by default; -T runs everyone as threads of this process with
 * one shared mapping, for ThreadSanitizer (churners close instead of being
 * killed). Zero-copy bytes are copied with relaxed atomic word loads and
 * stores in the overwrite form, as docs/api.md advises.
 *
 * Usage: broadcast [-s seed] [-t seconds] [-T] [-O]
 * Verdict: "broadcast-{procs,threads}[-overwrite]: PASS ..." or FAIL.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "stress.h"
#include "../../src/private.h"   /* threads: every handle on one mapping */

#define SLOT   256
#define SLOTS  64
#define BURST  8
#define NSTEADY 3
#define CALL_NS INT64_C(5000000000)   /* a call this long is a hang */

struct tally {
	uint64_t start, delivered, gaps, stale, last, overruns;
	int have_last, ended, reason;
	char why[200];
};

/* shared with the children (processes) or the threads */
struct shared {
	char name[64];
	double secs;
	uint64_t seed;
	int threads, lossy;
	_Atomic int stop_churn;
	_Atomic uint64_t churn_rounds, churn_kills, churn_closes;
	_Atomic int failed;
	char why[256];
	struct tally steady[NSTEADY];
	int prod_rc;
	uint64_t sent;
};

static struct shared *sh;
static struct shmring *base;   /* threads: the mapping everyone uses */

static void fail(const char *who, const char *why)
{
	int zero = 0;
	if (atomic_compare_exchange_strong(&sh->failed, &zero, 1))
		snprintf(sh->why, sizeof(sh->why), "%s: %s", who, why);
}

static void sleep_ns(long ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* threads: point a handle at the shared mapping (and back before close) */
struct saved { struct shmring__hdr *hdr; unsigned char *slots0; struct shmring__bcast_sub *subs; };

static struct saved rebind(struct shmring *r, struct shmring *to)
{
	struct saved s = { r->hdr, r->slots0, priv(r)->bc.subs };
	if (to) {
		r->hdr = to->hdr;
		r->slots0 = to->slots0;
		priv(r)->bc.subs = priv(to)->bc.subs;
	}
	return s;
}

static void unbind(struct shmring *r, struct saved s)
{
	r->hdr = s.hdr;
	r->slots0 = s.slots0;
	priv(r)->bc.subs = s.subs;
}

static int open_as(int role, struct shmring **r, struct saved *sv)
{
	int rc = shmring_open(sh->name, role, r);
	if (rc == 0)
		*sv = rebind(*r, sh->threads ? base : NULL);
	return rc;
}

static void close_as(struct shmring *r, struct saved sv)
{
	if (sh->threads)
		unbind(r, sv);
	shmring_close(r);
}

static void put_atomic(void *dst, const void *src, size_t len)
{
	_Atomic uint64_t *d = dst;
	const unsigned char *s = src;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		memcpy(&w, s + i, len - i < 8 ? len - i : 8);
		atomic_store_explicit(&d[i / 8], w, memory_order_relaxed);
	}
}

static void get_atomic(void *dst, const void *src, size_t len)
{
	const _Atomic uint64_t *s = src;
	unsigned char *d = dst;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = atomic_load_explicit(&s[i / 8], memory_order_relaxed);
		memcpy(d + i, &w, len - i < 8 ? len - i : 8);
	}
}

/* the producer: 0, or 1 (a call failed or hung) */
static int produce(struct shmring *r)
{
	uint64_t rng = sh->seed | 1, seq = 0;
	unsigned char m[BURST][SLOT];
	int64_t end = stress_now_ns() + (int64_t)(sh->secs * 1e9);
	char why[128];

	while (stress_now_ns() < end && !sh->failed) {
		for (unsigned round = 0; round < 64; round++) {
			uint64_t x = st_rand(&rng);
			int rc;
			if (x % 8 == 0) {
				struct iovec iov[BURST];
				unsigned n = 1 + (unsigned)(x >> 8) % BURST;
				for (unsigned i = 0; i < n; i++) {
					iov[i].iov_base = m[i];
					iov[i].iov_len = st_msg_build(m[i], SLOT, 0, seq + i, st_rand(&rng));
				}
				rc = shmring_send_burst(r, iov, n, CALL_NS);
				if (rc > 0) {
					seq += (unsigned)rc;
					rc = 0;
				}
			} else if (x % 8 == 1) {
				struct shmring_slot s;
				rc = shmring_reserve(r, &s, CALL_NS);
				if (rc == 0) {
					size_t len = st_msg_build(m[0], SLOT, 0, seq, st_rand(&rng));
					if (sh->lossy)
						put_atomic(s.data, m[0], len);
					else
						memcpy(s.data, m[0], len);
					rc = shmring_commit(r, &s, len);
					seq += rc == 0;
				}
			} else {
				size_t len = st_msg_build(m[0], SLOT, 0, seq, st_rand(&rng));
				rc = shmring_send(r, m[0], len, CALL_NS);
				seq += rc == 0;
			}
			if (rc) {
				snprintf(why, sizeof(why), "%s after %llu messages", shmring_strerror(rc),
				         (unsigned long long)seq);
				fail("producer", why);
				return 1;
			}
		}
	}
	int rc = shmring_shutdown(r);
	if (rc) {
		fail("producer", "shutdown failed");
		return 1;
	}
	sh->sent = seq;
	return 0;
}

/* one delivered message: intact, after the last one; lossless: the next */
static int check(struct tally *t, const void *buf, size_t len)
{
	uint32_t p;
	uint64_t seq;
	if (st_msg_check(buf, len, &p, &seq) || p != 0) {
		snprintf(t->why, sizeof(t->why), "torn or corrupt message (len %zu) after seq %llu",
		         len, (unsigned long long)t->last);
		return -1;
	}
	uint64_t want = t->have_last ? t->last + 1 : t->start;
	if (seq < want || (!sh->lossy && seq != want)) {
		snprintf(t->why, sizeof(t->why), "seq %llu, want %s%llu", (unsigned long long)seq,
		         sh->lossy ? ">= " : "", (unsigned long long)want);
		return -1;
	}
	t->gaps += seq - want;
	t->last = seq;
	t->have_last = 1;
	t->delivered++;
	return 0;
}

/* our join position, from the library's own account */
static uint64_t my_start(struct shmring *r)
{
	struct shmring_subscriber s[SHMRING_MAX_PEERS];
	int n = shmring_subscriber_info(r, s, SHMRING_MAX_PEERS);
	for (int i = 0; i < n; i++)
		if (s[i].self)
			return s[i].start;
	return UINT64_MAX;
}

/*
 * A subscriber: receive until the end of the stream, or `budget` calls
 * (UINT64_MAX: no limit). 0, or -1 (t->why).
 */
static int subscribe(struct shmring *r, struct tally *t, uint64_t rng, uint64_t budget)
{
	unsigned char buf[BURST][SLOT];

	for (uint64_t i = 1; i <= budget; i++) {
		uint64_t x = st_rand(&rng);
		int rc;
		if (x % 4 == 0) {
			struct iovec iov[BURST];
			for (unsigned k = 0; k < BURST; k++)
				iov[k] = (struct iovec){ buf[k], SLOT };
			rc = shmring_recv_burst(r, iov, 1 + (unsigned)(x >> 8) % BURST, CALL_NS);
			for (int k = 0; k < rc; k++)
				if (check(t, buf[k], iov[k].iov_len))
					return -1;
		} else if (x % 4 == 1) {
			struct shmring_slot s;
			rc = shmring_acquire(r, &s, CALL_NS);
			if (rc == 0) {
				size_t len = s.len <= SLOT ? s.len : SLOT;
				if (sh->lossy)
					get_atomic(buf[0], s.data, len);
				else
					memcpy(buf[0], s.data, len);
				rc = shmring_release(r, &s);
				if (rc == -ESTALE && sh->lossy) {
					t->stale++;   /* what we read may be torn: discard */
					continue;
				}
				if (rc == 0 && check(t, buf[0], len))
					return -1;
			}
		} else {
			ssize_t n = shmring_recv(r, buf[0], SLOT, CALL_NS);
			rc = n < 0 ? (int)n : 0;
			if (n >= 0 && check(t, buf[0], (size_t)n))
				return -1;
		}
		if (rc == -EPIPE) {
			t->ended = 1;
			t->reason = shmring_end_reason(r);
			return 0;
		}
		if (rc < 0) {
			snprintf(t->why, sizeof(t->why), "%s", shmring_strerror(rc));
			return -1;
		}
		if (i % 64 == 0)
			sleep_ns(10000 + (long)(x % (sh->lossy ? 200000 : 50000)));
	}
	return 0;
}

/* after a subscriber's last call: its counters agree with what it saw.
 * Every position it passed and did not deliver is an overrun (a stale
 * acquisition is a gap too); lossless: none. Once it has drained: sent -
 * start = delivered + overruns */
static int account(struct shmring *r, struct tally *t)
{
	struct shmring_stats st;
	shmring_stats(r, &st);
	t->overruns = st.overruns;
	if (st.received != t->delivered) {
		snprintf(t->why, sizeof(t->why), "stats.received %llu, delivered %llu",
		         (unsigned long long)st.received, (unsigned long long)t->delivered);
		return -1;
	}
	int bad = !sh->lossy ? st.overruns || t->gaps || t->stale : t->gaps > st.overruns;
	if (t->ended)
		bad |= t->delivered + st.overruns != st.sent - t->start;
	if (bad) {
		snprintf(t->why, sizeof(t->why),
		         "start %llu sent %llu: delivered %llu + overruns %llu (gaps %llu stale %llu)",
		         (unsigned long long)t->start, (unsigned long long)st.sent,
		         (unsigned long long)t->delivered, (unsigned long long)st.overruns,
		         (unsigned long long)t->gaps, (unsigned long long)t->stale);
		return -1;
	}
	return 0;
}

static void steady_run(int k)
{
	struct shmring *r;
	struct saved sv;
	struct tally *t = &sh->steady[k];
	char who[32];
	snprintf(who, sizeof(who), "subscriber %d", k);
	int rc = open_as(SHMRING_CONSUMER, &r, &sv);
	if (rc) {
		fail(who, shmring_strerror(rc));
		return;
	}
	t->start = my_start(r);
	if (subscribe(r, t, sh->seed * 7 + (uint64_t)k, UINT64_MAX) || account(r, t))
		fail(who, t->why);
	close_as(r, sv);
}

/* one churn round: join, read a while, close. 0 or -1 */
static int churn_once(uint64_t *rng)
{
	struct shmring *r;
	struct saved sv;
	struct tally t = { 0 };
	int rc = open_as(SHMRING_CONSUMER, &r, &sv);
	if (rc == -EUSERS)
		return 0;
	if (rc) {
		fail("churner", shmring_strerror(rc));
		return -1;
	}
	t.start = my_start(r);
	if (t.start == UINT64_MAX) {
		fail("churner", "not listed as a subscriber");
		close_as(r, sv);
		return -1;
	}
	if (subscribe(r, &t, st_rand(rng), 1 + st_rand(rng) % 2000) || account(r, &t)) {
		fail("churner", t.why);
		close_as(r, sv);
		return -1;
	}
	close_as(r, sv);
	atomic_fetch_add(&sh->churn_closes, 1);
	return 0;
}

static void *thread_main(void *arg)
{
	long k = (long)arg;
	if (k < NSTEADY) {
		steady_run((int)k);
	} else if (k == NSTEADY) {
		uint64_t rng = sh->seed * 11 + 5;
		while (!sh->stop_churn && !sh->failed && churn_once(&rng) == 0)
			atomic_fetch_add(&sh->churn_rounds, 1);
	} else {
		struct shmring *r;
		struct saved sv;
		int rc = open_as(SHMRING_PRODUCER, &r, &sv);
		if (rc) {
			fail("producer", shmring_strerror(rc));
			sh->prod_rc = 1;
			return NULL;
		}
		sh->prod_rc = produce(r);
		close_as(r, sv);
	}
	return NULL;
}

/* processes: the churner is a child that may be SIGKILLed at any moment */
static pid_t spawn_churner(uint64_t seed)
{
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t rng = seed;
		alarm((unsigned)sh->secs + 60);
		for (;;)
			if (churn_once(&rng))
				_exit(1);
	}
	return pid;
}

int main(int argc, char **argv)
{
	int opt_threads = 0, opt_lossy = 0;
	double secs = 5;
	uint64_t seed;

	for (int i = 1; i < argc; i++)   /* -T and -O are ours; the rest stress_args' */
		if (!strcmp(argv[i], "-T") || !strcmp(argv[i], "-O")) {
			if (argv[i][1] == 'T')
				opt_threads = 1;
			else
				opt_lossy = 1;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	seed = stress_seed_default();
	if (stress_args(argc, argv, &seed, &secs, NULL))
		return 2;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 3;
	memset(sh, 0, sizeof(*sh));
	sh->secs = secs;
	sh->seed = seed;
	sh->threads = opt_threads;
	sh->lossy = opt_lossy;
	char tag[64];
	snprintf(tag, sizeof(tag), "broadcast-%s%s", opt_threads ? "threads" : "procs",
	         opt_lossy ? "-overwrite" : "");
	snprintf(sh->name, sizeof(sh->name), "/shmring-stress-bc-%d", (int)getpid());
	shmring_unlink(sh->name);
	struct shmring_config cfg = { .kind = SHMRING_BROADCAST, .slot_size = SLOT, .slots = SLOTS,
	                              .flags = opt_lossy ? SHMRING_OVERWRITE : 0 };
	int rc = shmring_create(sh->name, &cfg, 0, &base);
	if (rc) {
		printf("%s: FAIL create: %s\n", tag, shmring_strerror(rc));
		return 1;
	}
	int64_t t0 = stress_now_ns();
	uint64_t rng = seed * 13 + 1;
	if (opt_threads) {
		pthread_t th[NSTEADY + 2];
		for (long k = 0; k < NSTEADY; k++)
			pthread_create(&th[k], NULL, thread_main, (void *)k);
		/* the steady ones attach before the first message */
		while (shmring_subscriber_info(base, NULL, 0) < NSTEADY)
			sleep_ns(100000);
		pthread_create(&th[NSTEADY], NULL, thread_main, (void *)(long)NSTEADY);
		pthread_create(&th[NSTEADY + 1], NULL, thread_main, (void *)(long)(NSTEADY + 1));
		pthread_join(th[NSTEADY + 1], NULL);
		sh->stop_churn = 1;
		for (int k = 0; k <= NSTEADY; k++)
			pthread_join(th[k], NULL);
	} else {
		pid_t kids[NSTEADY], churner, prod;
		for (int k = 0; k < NSTEADY; k++)
			if ((kids[k] = fork()) == 0) {
				alarm((unsigned)secs + 60);
				steady_run(k);
				_exit(0);
			}
		while (shmring_subscriber_info(base, NULL, 0) < NSTEADY)
			sleep_ns(100000);
		if ((prod = fork()) == 0) {
			struct shmring *r;
			struct saved sv;
			alarm((unsigned)secs + 60);
			if (open_as(SHMRING_PRODUCER, &r, &sv))
				_exit(3);
			int prc = produce(r);
			close_as(r, sv);
			_exit(prc);
		}
		churner = spawn_churner(st_rand(&rng));
		int st;
		/* kill the churner at random moments, start a new one */
		while (waitpid(prod, &st, WNOHANG) == 0) {
			sleep_ns(1000000 + (long)(st_rand(&rng) % 30000000));
			if (waitpid(churner, &(int){ 0 }, WNOHANG) == churner) {
				fail("churner", "exited");
				churner = spawn_churner(st_rand(&rng));
				continue;
			}
			kill(churner, SIGKILL);
			waitpid(churner, &(int){ 0 }, 0);
			atomic_fetch_add(&sh->churn_kills, 1);
			churner = spawn_churner(st_rand(&rng));
		}
		sh->prod_rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		kill(churner, SIGKILL);
		waitpid(churner, &(int){ 0 }, 0);
		for (int k = 0; k < NSTEADY; k++) {
			waitpid(kids[k], &st, 0);
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				fail("subscriber", "process died");
		}
	}
	struct shmring_stats st;
	shmring_stats(base, &st);
	if (!sh->failed && sh->prod_rc)
		fail("producer", "exited non-zero");
	for (int k = 0; k < NSTEADY && !sh->failed; k++) {
		struct tally *t = &sh->steady[k];
		char who[32];
		snprintf(who, sizeof(who), "subscriber %d", k);
		if (!t->ended || t->reason != SHMRING_END_CLEAN)
			fail(who, "no clean end of stream");
		else if (!t->have_last || t->last + 1 != st.sent)
			fail(who, "the last message was not delivered");
		else if (!sh->lossy && (t->start != 0 || t->delivered != st.sent))
			fail(who, "lossless, yet not every message");
	}
	uint64_t overruns = 0;
	for (int k = 0; k < NSTEADY; k++)
		overruns += sh->steady[k].overruns;
	if (!sh->failed && sh->lossy == 0 && overruns)
		fail("subscribers", "overruns on a lossless ring");
	printf("%s: %s seed=%llu secs=%.1f sent=%llu delivered=%llu,%llu,%llu overruns=%llu "
	       "churn_rounds=%llu churn_kills=%llu full_waits=%llu%s%s\n",
	       tag, sh->failed ? "FAIL" : "PASS", (unsigned long long)seed,
	       (double)(stress_now_ns() - t0) / 1e9, (unsigned long long)st.sent,
	       (unsigned long long)sh->steady[0].delivered,
	       (unsigned long long)sh->steady[1].delivered,
	       (unsigned long long)sh->steady[2].delivered, (unsigned long long)overruns,
	       (unsigned long long)(sh->churn_closes), (unsigned long long)sh->churn_kills,
	       (unsigned long long)st.full_waits, sh->failed ? " why=" : "",
	       sh->failed ? sh->why : "");
	shmring_close(base);
	shmring_unlink(sh->name);
	return sh->failed ? 1 : 0;
}
