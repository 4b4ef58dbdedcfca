/* SPDX-License-Identifier: MIT */
/*
 * overwrite.c - stress of an overwrite-oldest ring (SHMRING_OVERWRITE): a
 * producer that never waits laps a slow consumer continuously for the
 * whole run. The producer mixes send, send_burst and reserve/commit; the
 * consumer mixes recv, recv_burst and acquire/release and pauses now and
 * then, so that it is overrun all the time. Checks: every delivered
 * message is intact (length and checksum of the stress message format)
 * and in order; losses are counted exactly: sent = delivered + overruns,
 * and the gaps in the delivered sequence numbers add up to overruns; no
 * slot is reported corrupt; the last message is delivered (nothing
 * overwrites it after the end of the stream); no call hangs.
 *
 * Processes by default (producer and consumer in two processes); -T runs
 * them as two threads of this process whose handles share one mapping, for
 * ThreadSanitizer. Zero-copy bytes are copied with relaxed atomic word
 * loads and stores, the way docs/api.md says a program that wants defined
 * behaviour does it.
 *
 * Usage: overwrite [-s seed] [-t seconds] [-T]
 * Verdict: "overwrite-procs: PASS ..." or "overwrite-threads: PASS ...".
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "stress.h"

#define SLOT  256
#define SLOTS 64
#define BURST 8

struct run {
	char name[64];
	double secs;
	uint64_t seed;
	struct shmring *cons;      /* the consumer's handle */
	int threads;
	int prod_rc;               /* the producer's verdict (threads) */
};

static void sleep_ns(long ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* zero-copy bytes as relaxed atomic words (s.data is 8-byte aligned) */
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

/* the producer: never waits; 0 or 1 (a call failed) */
static int produce(struct run *ru, struct shmring *r)
{
	uint64_t rng = ru->seed | 1, seq = 0;
	unsigned char m[BURST][SLOT];
	int64_t end = stress_now_ns() + (int64_t)(ru->secs * 1e9);

	while (stress_now_ns() < end) {
		for (unsigned round = 0; round < 256; round++) {
			uint64_t x = st_rand(&rng);
			int rc;
			if (x % 8 == 0) {
				struct iovec iov[BURST];
				unsigned n = 1 + (unsigned)(x >> 8) % BURST;
				for (unsigned i = 0; i < n; i++) {
					iov[i].iov_base = m[i];
					iov[i].iov_len = st_msg_build(m[i], SLOT, 0, seq + i, st_rand(&rng));
				}
				rc = shmring_send_burst(r, iov, n, 0);
				if (rc > 0) {
					seq += (unsigned)rc;
					rc = 0;
				}
			} else if (x % 8 == 1) {
				struct shmring_slot s;
				rc = shmring_reserve(r, &s, 0);
				if (rc == 0) {
					size_t len = st_msg_build(m[0], SLOT, 0, seq, st_rand(&rng));
					put_atomic(s.data, m[0], len);
					rc = shmring_commit(r, &s, len);
					seq += rc == 0;
				}
			} else {
				size_t len = st_msg_build(m[0], SLOT, 0, seq, st_rand(&rng));
				rc = shmring_send(r, m[0], len, 0);
				seq += rc == 0;
			}
			if (rc) {
				fprintf(stderr, "overwrite: producer: %s\n", shmring_strerror(rc));
				return 1;
			}
		}
	}
	int rc = shmring_shutdown(r);
	if (rc) {
		fprintf(stderr, "overwrite: shutdown: %s\n", shmring_strerror(rc));
		return 1;
	}
	return 0;
}

static void *producer_thread(void *arg)
{
	struct run *ru = arg;
	struct shmring *r;
	int rc = shmring_open(ru->name, SHMRING_PRODUCER, &r);
	if (rc) {
		fprintf(stderr, "overwrite: producer open: %s\n", shmring_strerror(rc));
		ru->prod_rc = 1;
		return NULL;
	}
	/* one mapping for both handles, so TSan sees one address per word */
	struct shmring__hdr *hdr = r->hdr;
	unsigned char *slots0 = r->slots0;
	r->hdr = ru->cons->hdr;
	r->slots0 = ru->cons->slots0;
	ru->prod_rc = produce(ru, r);
	r->hdr = hdr;
	r->slots0 = slots0;
	shmring_close(r);
	return NULL;
}

struct tally {
	uint64_t delivered, gaps, stale, last;
	int have_last;
	char why[200];
};

/* one delivered message: intact and after the last one */
static int check(struct tally *t, const void *buf, size_t len)
{
	uint32_t p;
	uint64_t seq;
	if (st_msg_check(buf, len, &p, &seq) || p != 0) {
		snprintf(t->why, sizeof(t->why), "torn or corrupt message (len %zu) after seq %llu",
		         len, (unsigned long long)t->last);
		return -1;
	}
	if (t->have_last && seq <= t->last) {
		snprintf(t->why, sizeof(t->why), "seq %llu after %llu", (unsigned long long)seq,
		         (unsigned long long)t->last);
		return -1;
	}
	t->gaps += seq - (t->have_last ? t->last + 1 : 0);
	t->last = seq;
	t->have_last = 1;
	t->delivered++;
	return 0;
}

#define CALL_NS INT64_C(5000000000)   /* a call this long is a hang */

/* the consumer, until the end of the stream: 0, or -1 (t->why) */
static int consume(struct run *ru, struct tally *t)
{
	struct shmring *r = ru->cons;
	uint64_t rng = ru->seed * 3 + 1;
	unsigned char buf[BURST][SLOT];

	for (unsigned i = 1;; i++) {
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
				get_atomic(buf[0], s.data, len);
				rc = shmring_release(r, &s);
				if (rc == -ESTALE) {
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
		if (rc == -EPIPE)
			return 0;
		if (rc < 0) {
			snprintf(t->why, sizeof(t->why), "consumer: %s", shmring_strerror(rc));
			return -1;
		}
		if (i % 32 == 0)
			sleep_ns(20000 + (long)(x % 200000));   /* slow: we get lapped */
	}
}

int main(int argc, char **argv)
{
	struct run ru = { .secs = 10 };
	struct tally t = { 0 };
	int opt_threads = 0;

	for (int i = 1; i < argc; i++)   /* -T is ours; the rest are stress_args' */
		if (!strcmp(argv[i], "-T")) {
			opt_threads = 1;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	ru.seed = stress_seed_default();
	if (stress_args(argc, argv, &ru.seed, &ru.secs, NULL))
		return 2;
	ru.threads = opt_threads;
	const char *tag = ru.threads ? "overwrite-threads" : "overwrite-procs";
	snprintf(ru.name, sizeof(ru.name), "/shmring-stress-ow-%d", (int)getpid());
	shmring_unlink(ru.name);
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = SLOT, .slots = SLOTS,
	                              .flags = SHMRING_OVERWRITE };
	int rc = shmring_create(ru.name, &cfg, SHMRING_CONSUMER, &ru.cons);
	if (rc) {
		printf("%s: FAIL create: %s\n", tag, shmring_strerror(rc));
		return 1;
	}
	int64_t t0 = stress_now_ns();
	pthread_t th;
	pid_t pid = -1;
	if (ru.threads) {
		pthread_create(&th, NULL, producer_thread, &ru);
	} else {
		pid = fork();
		if (pid == 0) {
			struct shmring *p;
			alarm((unsigned)ru.secs + 60);   /* backstop */
			if (shmring_open(ru.name, SHMRING_PRODUCER, &p))
				_exit(3);
			int prc = produce(&ru, p);
			shmring_close(p);
			_exit(prc);
		}
	}
	int failed = consume(&ru, &t) != 0;
	int prod_rc;
	if (ru.threads) {
		pthread_join(th, NULL);
		prod_rc = ru.prod_rc;
	} else {
		if (failed)
			kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		prod_rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	struct shmring_stats st;
	shmring_stats(ru.cons, &st);
	if (!failed && prod_rc) {
		snprintf(t.why, sizeof(t.why), "producer exited with %d", prod_rc);
		failed = 1;
	}
	if (!failed && st.sent != t.delivered + st.overruns) {
		snprintf(t.why, sizeof(t.why), "sent %llu != delivered %llu + overruns %llu",
		         (unsigned long long)st.sent, (unsigned long long)t.delivered,
		         (unsigned long long)st.overruns);
		failed = 1;
	}
	/* every position not delivered (a gap; a stale acquisition is one
	 * too) is an overrun, and nothing else is */
	if (!failed && t.gaps + (t.have_last ? st.sent - 1 - t.last : st.sent) != st.overruns) {
		snprintf(t.why, sizeof(t.why), "gaps %llu != overruns %llu",
		         (unsigned long long)t.gaps, (unsigned long long)st.overruns);
		failed = 1;
	}
	if (!failed && (!t.have_last || t.last + 1 != st.sent)) {
		snprintf(t.why, sizeof(t.why), "the last message (%llu) was not delivered",
		         (unsigned long long)st.sent - 1);
		failed = 1;
	}
	if (!failed && (st.bad_msgs || st.received != t.delivered || st.overruns == 0)) {
		snprintf(t.why, sizeof(t.why), "bad_msgs %llu, received %llu, overruns %llu",
		         (unsigned long long)st.bad_msgs, (unsigned long long)st.received,
		         (unsigned long long)st.overruns);
		failed = 1;
	}
	printf("%s: %s seed=%llu secs=%.1f sent=%llu delivered=%llu overruns=%llu stale=%llu%s%s\n",
	       tag, failed ? "FAIL" : "PASS", (unsigned long long)ru.seed,
	       (double)(stress_now_ns() - t0) / 1e9, (unsigned long long)st.sent,
	       (unsigned long long)t.delivered, (unsigned long long)st.overruns,
	       (unsigned long long)t.stale, failed ? " why=" : "", failed ? t.why : "");
	shmring_close(ru.cons);
	shmring_unlink(ru.name);
	return failed;
}
