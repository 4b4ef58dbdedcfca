/* SPDX-License-Identifier: MIT */
/*
 * stress_core.c - the worker template: producers, consumers, the ledger that
 * proves exactly-once delivery, the supervisor that SIGKILLs workers at
 * random moments and starts replacements, and the verdict.
 *
 * The ledger (an anonymous MAP_SHARED mapping made before fork, or plain
 * memory shared by threads) holds, per producer role:
 *   next_seq     every sequence below it was sent (send returned success)
 *                or is "in doubt" (its sender was killed inside the call);
 *   attempt_end  stored before each send call: [next_seq, attempt_end) is
 *                in flight. When a producer is killed the supervisor marks
 *                that range in doubt (delivered at most once, either is
 *                fine) and the replacement continues at attempt_end;
 * and one bit per (producer, sequence) set by the consumer that received
 * it (atomic fetch_or: a bit already set is a duplicate).
 *
 * Consumers record what they are doing (op) and, for zero-copy, which
 * message they hold between acquire and release, so that a kill can be
 * attributed: a consumer killed inside recv may take a message with it
 * (counted, bounded, reported as lost); one killed holding an acquired slot
 * of an SPSC ring makes its replacement read that message again (counted as
 * redelivered, not as a duplicate).
 *
 * Kills are timed at random (a random pause of 0..max_gap_us before each),
 * not through a hook in the library; the op recorded at the moment of death
 * shows which calls were hit.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "stress.h"

#define CAP_SEQ      (UINT64_C(1) << 23)   /* sequences per producer role per round */
#define BM_WORDS     (CAP_SEQ / 64)
#define MAX_BURST    8
#define HANG_NS      (INT64_C(10) * 1000000000)
#define OVERRUN_NS   (INT64_C(2) * 1000000000)
#define NALLOW       4096

/* ------------------------------------------------------------------ misc */

int64_t stress_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t stress_seed_default(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return st_mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid());
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int stress_args(int argc, char **argv, uint64_t *seed, double *seconds, unsigned *kills)
{
	int c;
	while ((c = getopt(argc, argv, "s:t:k:")) != -1) {
		switch (c) {
		case 's': *seed = strtoull(optarg, NULL, 0); break;
		case 't': *seconds = atof(optarg); break;
		case 'k': if (kills) *kills = (unsigned)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: %s [-s seed] [-t seconds] [-k kills]\n", argv[0]);
			return -1;
		}
	}
	return 0;
}

/* --------------------------------------------------------------- messages */

struct st_msg_hdr {
	uint32_t prod;
	uint32_t len;    /* whole message, header included */
	uint64_t seq;
	uint64_t sum;
};

static uint64_t msg_sum(uint32_t prod, uint32_t len, uint64_t seq, const unsigned char *p, size_t n)
{
	uint64_t h = st_mix(((uint64_t)prod << 32 | len) ^ st_mix(seq));
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * UINT64_C(0x100000001b3) + (h >> 29);
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

size_t st_msg_build(void *dst, size_t cap, uint32_t prod, uint64_t seq, uint64_t rnd)
{
	struct st_msg_hdr h;
	size_t len = ST_MSG_MIN + (size_t)(rnd % (cap - ST_MSG_MIN + 1));
	unsigned char *p = (unsigned char *)dst + sizeof(h);
	size_t n = len - sizeof(h);
	uint64_t x = st_mix(seq * 31 + prod);

	for (size_t i = 0; i < n; i += 8) {
		x = st_mix(x);
		memcpy(p + i, &x, n - i < 8 ? n - i : 8);
	}
	h.prod = prod;
	h.len = (uint32_t)len;
	h.seq = seq;
	h.sum = msg_sum(prod, (uint32_t)len, seq, p, n);
	memcpy(dst, &h, sizeof(h));
	return len;
}

int st_msg_check(const void *buf, size_t len, uint32_t *prod, uint64_t *seq)
{
	struct st_msg_hdr h;
	if (len < sizeof(h))
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (h.len != len)
		return -1;
	if (msg_sum(h.prod, h.len, h.seq, (const unsigned char *)buf + sizeof(h),
	            len - sizeof(h)) != h.sum)
		return -1;
	*prod = h.prod;
	*seq = h.seq;
	return 0;
}

/* ----------------------------------------------------------------- ledger */

struct led_prod {
	_Atomic uint64_t next_seq;
	_Atomic uint64_t attempt_end;
	_Atomic uint32_t op;
	_Atomic int64_t beat;
	char pad[128 - 28];
};

struct led_cons {
	_Atomic uint32_t op;
	_Atomic uint32_t op_n;        /* burst size of the call in progress */
	_Atomic uint32_t held;        /* holds an acquired message (held_prod, held_seq) */
	_Atomic uint32_t held_prod;
	_Atomic uint64_t held_seq;
	_Atomic uint64_t recv;
	_Atomic int64_t beat;
	char pad[128 - 40];
};

struct allow {
	_Atomic uint32_t state;      /* 0 empty, 1 allowed, 2 used */
	uint32_t prod;
	uint64_t seq;
};

struct ledger {
	_Atomic int stop;
	_Atomic int prod_done;
	_Atomic uint64_t err[E_NKINDS];
	_Atomic uint64_t dup, redelivered, reorder, corrupt, overruns, max_call_ns;
	_Atomic int why_set;
	char why[256];
	_Atomic uint32_t nallow;
	struct allow allow[NALLOW];
	struct led_prod p[ST_MAXP];
	struct led_cons c[ST_MAXC];
	_Atomic uint64_t recv_bits[ST_MAXP][BM_WORDS];
	_Atomic uint64_t doubt_bits[ST_MAXP][BM_WORDS];
};

static void led_fail(struct ledger *L, const char *fmt, ...)
{
	int expected = 0;
	if (!atomic_compare_exchange_strong(&L->why_set, &expected, 1))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(L->why, sizeof(L->why), fmt, ap);
	va_end(ap);
}

static void count_err(struct ledger *L, int rc)
{
	int k;
	switch (rc) {
	case -EAGAIN: k = E_AGAIN; break;
	case -ETIMEDOUT: k = E_TIMEDOUT; break;
	case -EPIPE: k = E_PIPE; break;
	case -EBADMSG: k = E_BADMSG; break;
	case -EPROTO: k = E_PROTO; break;
	case -EMSGSIZE: k = E_MSGSIZE; break;
	case -EBUSY: k = E_BUSY; break;
	default: k = E_OTHER; break;
	}
	atomic_fetch_add_explicit(&L->err[k], 1, memory_order_relaxed);
}

static const char *const op_names[OP_NOPS] = {
	"idle", "send", "send_burst", "reserve/commit", "recv", "recv_burst",
	"acquire/release", "open/close",
};
static const char *const err_names[E_NKINDS] = {
	"EAGAIN", "ETIMEDOUT", "EPIPE", "EBADMSG", "EPROTO", "EMSGSIZE", "EBUSY", "other",
};

/* ---------------------------------------------------------------- workers */

struct wctx {
	const struct st_cfg *cfg;
	struct ledger *L;
	const char *name;
	unsigned idx;
	int producer;
	uint64_t rng;
	struct shmring *base;   /* threads: share this handle's mapping */
};

/*
 * Thread mode: point the handle at the base handle's mapping, so that every
 * thread touches the ring through one virtual address and ThreadSanitizer
 * can see the happens-before edges (two mappings of one object look like
 * unrelated memory to it). Test-only use of the handle's fields.
 */
struct mapsave { struct shmring__hdr *hdr; unsigned char *slots0; };

static void share_map(struct shmring *r, struct shmring *base, struct mapsave *s)
{
	s->hdr = r->hdr;
	s->slots0 = r->slots0;
	if (base) {
		r->hdr = base->hdr;
		r->slots0 = base->slots0;
	}
}

static void unshare_map(struct shmring *r, const struct mapsave *s)
{
	r->hdr = s->hdr;
	r->slots0 = s->slots0;
}

static void beat(_Atomic int64_t *b, int threads)
{
	atomic_store_explicit(b, stress_now_ns(), memory_order_relaxed);
	if (!threads)
		alarm(30);   /* backstop: the supervisor's watchdog fires at 10 s */
}

static void note_call(struct ledger *L, int64_t t0, int64_t timeout_ns)
{
	int64_t d = stress_now_ns() - t0;
	uint64_t cur = atomic_load_explicit(&L->max_call_ns, memory_order_relaxed);
	while ((uint64_t)d > cur &&
	       !atomic_compare_exchange_weak(&L->max_call_ns, &cur, (uint64_t)d))
		;
	if (timeout_ns > 0 && d > timeout_ns + OVERRUN_NS) {
		atomic_fetch_add(&L->overruns, 1);
		led_fail(L, "a call with timeout %" PRId64 " ms returned after %" PRId64 " ms",
		         timeout_ns / 1000000, d / 1000000);
	}
}

static int open_role(struct wctx *w, int role, struct shmring **r)
{
	int64_t give_up = stress_now_ns() + 5 * INT64_C(1000000000);
	for (;;) {
		int rc = shmring_open(w->name, role, r);
		if (rc == 0)
			return 0;
		count_err(w->L, rc);
		/* -EBUSY: the previous holder is not seen dead yet */
		if (rc != -EBUSY || stress_now_ns() > give_up) {
			led_fail(w->L, "%s %u: open: %s", w->producer ? "producer" : "consumer",
			         w->idx, shmring_strerror(rc));
			return rc;
		}
		sleep_ns(1000000);
	}
}

static int producer(struct wctx *w)
{
	const struct st_cfg *cfg = w->cfg;
	struct ledger *L = w->L;
	struct led_prod *me = &L->p[w->idx];
	struct shmring *r;
	struct mapsave ms;
	size_t ss = cfg->slot_size;
	unsigned char *buf = malloc(ss * MAX_BURST);
	struct iovec iov[MAX_BURST];
	int64_t T = cfg->timeout_ns;

	if (!buf)
		return 1;
	atomic_store(&me->op, OP_OPEN);
	if (open_role(w, SHMRING_PRODUCER, &r)) {
		free(buf);
		return 1;
	}
	share_map(r, w->base, &ms);
	if (st_rand(&w->rng) & 1)
		shmring_set_spin(r, 0);   /* sleep at once: the blocking path */
	uint64_t seq = atomic_load(&me->next_seq);
	atomic_store(&me->op, OP_IDLE);

	while (!atomic_load_explicit(&L->stop, memory_order_acquire) && seq + MAX_BURST < CAP_SEQ) {
		beat(&me->beat, cfg->threads);
		unsigned pick = (unsigned)(st_rand(&w->rng) % 8);
		int rc;
		int64_t t0;
		if (pick < 4) {                       /* send */
			size_t len = st_msg_build(buf, ss, w->idx, seq, st_rand(&w->rng));
			atomic_store(&me->attempt_end, seq + 1);
			atomic_store(&me->op, OP_SEND);
			t0 = stress_now_ns();
			rc = shmring_send(r, buf, len, T);
			note_call(L, t0, T);
			rc = rc == 0 ? 1 : rc;
		} else if (pick < 6) {                /* send_burst */
			unsigned n = 1 + (unsigned)(st_rand(&w->rng) % MAX_BURST);
			for (unsigned i = 0; i < n; i++) {
				iov[i].iov_base = buf + i * ss;
				iov[i].iov_len = st_msg_build(buf + i * ss, ss, w->idx, seq + i,
				                              st_rand(&w->rng));
			}
			atomic_store(&me->attempt_end, seq + n);
			atomic_store(&me->op, OP_SEND_BURST);
			t0 = stress_now_ns();
			rc = shmring_send_burst(r, iov, n, T);
			note_call(L, t0, T);
		} else {                              /* reserve / commit */
			struct shmring_slot s;
			atomic_store(&me->attempt_end, seq + 1);
			atomic_store(&me->op, OP_RESERVE);
			t0 = stress_now_ns();
			rc = shmring_reserve(r, &s, T);
			note_call(L, t0, T);
			if (rc == 0) {
				if (s.len != ss) {
					led_fail(L, "reserve gave %zu bytes, slot_size %zu", s.len, ss);
					rc = -EINVAL;
				} else {
					size_t len = st_msg_build(s.data, ss, w->idx, seq, st_rand(&w->rng));
					/* MPMC fault runs: now and then fill the slot slowly, so
					 * kills land between claim and publish (the dead claim
					 * must be skipped), and consumers wait at the claim of a
					 * live producer past their 50 ms liveness check (it must
					 * not be skipped) */
					if (cfg->kind == SHMRING_MPMC && cfg->kill_prod) {
						uint64_t x = st_rand(&w->rng);
						if (x % 4096 == 0)
							sleep_ns(60000000 + (int64_t)(x >> 40) % 60000000);
						else if (x % 64 == 0)
							sleep_ns((int64_t)(x >> 40) % 1000000);
					}
					rc = shmring_commit(r, &s, len);
					rc = rc == 0 ? 1 : rc;
				}
			}
		}
		if (rc > 0) {
			seq += (uint64_t)rc;
			atomic_store(&me->next_seq, seq);
		}
		atomic_store(&me->op, OP_IDLE);
		if (rc < 0) {
			count_err(L, rc);
			if (rc == -EPIPE)
				sleep_ns(1000000);   /* every consumer gone: a replacement comes */
			else if (rc != -EAGAIN && rc != -ETIMEDOUT) {
				led_fail(L, "producer %u: %s", w->idx, shmring_strerror(rc));
				break;
			}
		}
	}
	atomic_store(&me->op, OP_OPEN);
	shmring_shutdown(r);
	unshare_map(r, &ms);
	shmring_close(r);
	atomic_store(&me->op, OP_IDLE);
	free(buf);
	return 0;
}

/* an allowance for a redelivered message: consume it if present */
static int allow_take(struct ledger *L, uint32_t prod, uint64_t seq)
{
	uint32_t n = atomic_load(&L->nallow);
	for (uint32_t i = 0; i < n && i < NALLOW; i++) {
		struct allow *a = &L->allow[i];
		uint32_t one = 1;
		if (atomic_load(&a->state) == 1 && a->prod == prod && a->seq == seq &&
		    atomic_compare_exchange_strong(&a->state, &one, 2))
			return 1;
	}
	return 0;
}

static void record(struct wctx *w, const void *msg, size_t len, int64_t *last)
{
	struct ledger *L = w->L;
	uint32_t prod;
	uint64_t seq;

	if (st_msg_check(msg, len, &prod, &seq) || prod >= w->cfg->nprod || seq >= CAP_SEQ) {
		atomic_fetch_add(&L->corrupt, 1);
		led_fail(L, "consumer %u: corrupt message (len %zu)", w->idx, len);
		return;
	}
	uint64_t bit = UINT64_C(1) << (seq % 64);
	uint64_t old = atomic_fetch_or(&L->recv_bits[prod][seq / 64], bit);
	if (old & bit) {
		if (allow_take(L, prod, seq)) {
			atomic_fetch_add(&L->redelivered, 1);
		} else {
			atomic_fetch_add(&L->dup, 1);
			led_fail(L, "consumer %u: duplicate message producer %u seq %" PRIu64,
			         w->idx, prod, seq);
		}
	}
	if ((int64_t)seq <= last[prod]) {
		atomic_fetch_add(&L->reorder, 1);
		led_fail(L, "consumer %u: producer %u seq %" PRIu64 " after %" PRId64,
		         w->idx, prod, seq, last[prod]);
	}
	last[prod] = (int64_t)seq;
	atomic_fetch_add_explicit(&L->c[w->idx].recv, 1, memory_order_relaxed);
}

static int consumer(struct wctx *w)
{
	const struct st_cfg *cfg = w->cfg;
	struct ledger *L = w->L;
	struct led_cons *me = &L->c[w->idx];
	struct shmring *r;
	struct mapsave ms;
	size_t ss = cfg->slot_size;
	unsigned char *buf = malloc(ss * MAX_BURST);
	struct iovec iov[MAX_BURST];
	int64_t last[ST_MAXP];
	int64_t T = cfg->timeout_ns;

	if (!buf)
		return 1;
	for (unsigned i = 0; i < ST_MAXP; i++)
		last[i] = -1;
	atomic_store(&me->op, OP_OPEN);
	if (open_role(w, SHMRING_CONSUMER, &r)) {
		free(buf);
		return 1;
	}
	share_map(r, w->base, &ms);
	if (st_rand(&w->rng) & 1)
		shmring_set_spin(r, 0);
	atomic_store(&me->op, OP_IDLE);

	for (;;) {
		beat(&me->beat, cfg->threads);
		unsigned pick = (unsigned)(st_rand(&w->rng) % 8);
		int rc;
		int64_t t0;
		if (pick < 4) {
			atomic_store(&me->op_n, 1);
			atomic_store(&me->op, OP_RECV);
			t0 = stress_now_ns();
			ssize_t n = shmring_recv(r, buf, ss, T);
			note_call(L, t0, T);
			if (n >= 0) {
				record(w, buf, (size_t)n, last);
				rc = 1;
			} else {
				rc = (int)n;
			}
		} else if (pick < 6) {
			unsigned n = 1 + (unsigned)(st_rand(&w->rng) % MAX_BURST);
			for (unsigned i = 0; i < n; i++) {
				iov[i].iov_base = buf + i * ss;
				iov[i].iov_len = ss;
			}
			atomic_store(&me->op_n, n);
			atomic_store(&me->op, OP_RECV_BURST);
			t0 = stress_now_ns();
			rc = shmring_recv_burst(r, iov, n, T);
			note_call(L, t0, T);
			for (int i = 0; i < rc; i++)
				record(w, iov[i].iov_base, iov[i].iov_len, last);
		} else {
			struct shmring_slot s;
			uint32_t prod;
			uint64_t seq;
			atomic_store(&me->op_n, 1);
			atomic_store(&me->op, OP_ACQUIRE);
			t0 = stress_now_ns();
			rc = shmring_acquire(r, &s, T);
			note_call(L, t0, T);
			if (rc == 0) {
				if (st_msg_check(s.data, s.len, &prod, &seq) == 0 && prod < ST_MAXP) {
					atomic_store(&me->held_prod, prod);
					atomic_store(&me->held_seq, seq);
					atomic_store(&me->held, 1);
				}
				record(w, s.data, s.len, last);
				rc = shmring_release(r, &s);
				if (rc < 0)
					led_fail(L, "consumer %u: release: %s", w->idx, shmring_strerror(rc));
				atomic_store(&me->held, 0);
				rc = rc == 0 ? 1 : rc;
			}
		}
		atomic_store(&me->op, OP_IDLE);
		if (rc < 0) {
			count_err(L, rc);
			if (rc == -EPIPE) {
				/* drained and every producer gone: final once the
				 * supervisor says producers are done */
				if (atomic_load_explicit(&L->prod_done, memory_order_acquire))
					break;
				sleep_ns(1000000);
			} else if (rc != -EAGAIN && rc != -ETIMEDOUT) {
				led_fail(L, "consumer %u: %s", w->idx, shmring_strerror(rc));
				break;
			}
		}
	}
	atomic_store(&me->op, OP_OPEN);
	unshare_map(r, &ms);
	shmring_close(r);
	atomic_store(&me->op, OP_IDLE);
	free(buf);
	return 0;
}

/* ------------------------------------------------------------- supervisor */

struct sup {
	const struct st_cfg *cfg;
	struct st_result *res;
	struct ledger *L;
	struct shmring *ring;          /* role-less handle of the creator */
	char name[64];
	pid_t ppid[ST_MAXP], cpid[ST_MAXC];
	pthread_t pth[ST_MAXP], cth[ST_MAXC];
	struct wctx pw[ST_MAXP], cw[ST_MAXC];
	unsigned incarnation;
	uint64_t rng;
};

static void *thread_main(void *arg)
{
	struct wctx *w = arg;
	int rc = w->producer ? producer(w) : consumer(w);
	return (void *)(intptr_t)rc;
}

static int start_worker(struct sup *S, int prod, unsigned idx)
{
	struct wctx *w = prod ? &S->pw[idx] : &S->cw[idx];
	w->cfg = S->cfg;
	w->L = S->L;
	w->name = S->name;
	w->idx = idx;
	w->producer = prod;
	w->rng = st_mix(S->cfg->seed ^ ((uint64_t)++S->incarnation << 20) ^ (uint64_t)prod << 8 ^ idx) | 1;
	w->base = S->cfg->threads ? S->ring : NULL;
	atomic_store(prod ? &S->L->p[idx].beat : &S->L->c[idx].beat, stress_now_ns());
	if (S->cfg->threads)
		return pthread_create(prod ? &S->pth[idx] : &S->cth[idx], NULL, thread_main, w) ? -1 : 0;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		_exit(prod ? producer(w) : consumer(w));
	}
	*(prod ? &S->ppid[idx] : &S->cpid[idx]) = pid;
	return 0;
}

static void fail(struct sup *S, const char *fmt, ...)
{
	if (S->res->failed)
		return;
	S->res->failed = 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(S->res->why, sizeof(S->res->why), fmt, ap);
	va_end(ap);
}

/* a worker process ended on its own: fine only with status 0 */
static void check_status(struct sup *S, int prod, unsigned idx, int status)
{
	if (WIFSIGNALED(status)) {
		S->res->crashes++;
		fail(S, "%s %u died by signal %d (%s)%s", prod ? "producer" : "consumer", idx,
		     WTERMSIG(status), strsignal(WTERMSIG(status)),
		     WTERMSIG(status) == SIGALRM ? ": hung for 30 s" : "");
	} else if (WEXITSTATUS(status) != 0) {
		fail(S, "%s %u exited with status %d", prod ? "producer" : "consumer", idx,
		     WEXITSTATUS(status));
	}
}

/* reap workers that exited; returns how many of the given side still run */
static unsigned poll_side(struct sup *S, int prod)
{
	unsigned n = prod ? S->cfg->nprod : S->cfg->ncons, live = 0;
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
		pid_t *p = prod ? &S->ppid[i] : &S->cpid[i];
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

static void watchdog(struct sup *S)
{
	int64_t now = stress_now_ns();
	for (unsigned i = 0; i < S->cfg->nprod; i++) {
		int running = S->cfg->threads ? S->pth[i] != 0 : S->ppid[i] > 0;
		if (running && now - atomic_load(&S->L->p[i].beat) > HANG_NS) {
			S->res->hangs++;
			fail(S, "HANG: producer %u made no progress for 10 s (in %s)", i,
			     op_names[atomic_load(&S->L->p[i].op) % OP_NOPS]);
			atomic_store(&S->L->p[i].beat, now);
		}
	}
	for (unsigned i = 0; i < S->cfg->ncons; i++) {
		int running = S->cfg->threads ? S->cth[i] != 0 : S->cpid[i] > 0;
		if (running && now - atomic_load(&S->L->c[i].beat) > HANG_NS) {
			S->res->hangs++;
			fail(S, "HANG: consumer %u made no progress for 10 s (in %s)", i,
			     op_names[atomic_load(&S->L->c[i].op) % OP_NOPS]);
			atomic_store(&S->L->c[i].beat, now);
		}
	}
}

/*
 * MPMC: positions a consumer claimed (cons_idx moved past them) whose slot
 * was never released (seq still pos + 1) and stays so for 300 ms: a dead
 * consumer's claim. Producers stall there once the ring wraps.
 */
static unsigned mpmc_stuck(struct sup *S)
{
	struct shmring *r = S->ring;
	uint64_t n = r->nslots;
	uint64_t *cand = calloc(n, sizeof(*cand));
	unsigned ncand = 0, stuck = 0;
	if (!cand)
		return 0;
	uint64_t cons = shmring__load_acquire64(&r->hdr->cons_idx);
	for (uint64_t i = 0; i < n; i++) {
		struct shmring__slot_mpmc *sl = (void *)(r->slots0 + i * r->stride);
		uint64_t seq = shmring__load_acquire64(&sl->seq);
		uint64_t pos = seq - 1;
		if ((pos & r->mask) == i && pos < cons && cons - pos <= n)
			cand[ncand++] = seq;
	}
	if (ncand) {
		sleep_ns(300000000);
		for (unsigned k = 0; k < ncand; k++) {
			struct shmring__slot_mpmc *sl =
				(void *)(r->slots0 + ((cand[k] - 1) & r->mask) * r->stride);
			if (shmring__load_acquire64(&sl->seq) == cand[k])
				stuck++;
		}
	}
	free(cand);
	return stuck;
}

/*
 * MPMC: positions a producer claimed (prod_idx moved past them) that are not
 * published (seq still pos) and carry no producer claim stamp, and stay so
 * for 300 ms: a producer killed between its claim CAS and its stamp store.
 * Consumers stall there for good (a stamped dead claim is skipped by them).
 */
static unsigned mpmc_unstamped(struct sup *S)
{
	struct shmring *r = S->ring;
	uint64_t n = r->nslots;
	uint64_t *cand = calloc(n, sizeof(*cand));
	unsigned ncand = 0, stuck = 0;
	if (!cand)
		return 0;
	uint64_t pos = shmring__load_acquire64(&r->hdr->cons_idx);
	uint64_t prod = shmring__load_acquire64(&r->hdr->prod_idx);
	for (uint64_t i = 0; i < n && (int64_t)(prod - pos) > 0; i++, pos++) {
		struct shmring__slot_mpmc *sl = (void *)(r->slots0 + (pos & r->mask) * r->stride);
		if (shmring__load_acquire64(&sl->seq) == pos &&
		    !(shmring__load_relaxed32(&sl->owner) & SHMRING__STAMP_PRODUCER))
			cand[ncand++] = pos;
	}
	if (ncand) {
		sleep_ns(300000000);
		for (unsigned k = 0; k < ncand; k++) {
			struct shmring__slot_mpmc *sl =
				(void *)(r->slots0 + (cand[k] & r->mask) * r->stride);
			if (shmring__load_acquire64(&sl->seq) == cand[k] &&
			    !(shmring__load_relaxed32(&sl->owner) & SHMRING__STAMP_PRODUCER))
				stuck++;
		}
	}
	free(cand);
	return stuck;
}

/* SIGKILL one worker, account for what it was doing, start its replacement.
 * Returns 1 if the ring is now wedged (MPMC: a claim the dead process did not
 * stamp yet, so nobody can recover it). */
static int kill_one(struct sup *S)
{
	const struct st_cfg *cfg = S->cfg;
	struct ledger *L = S->L;
	int prod;
	if (cfg->kill_prod && cfg->kill_cons)
		prod = (int)(st_rand(&S->rng) & 1);
	else
		prod = cfg->kill_prod;
	unsigned n = prod ? cfg->nprod : cfg->ncons;
	unsigned idx = (unsigned)(st_rand(&S->rng) % n);
	pid_t *pp = prod ? &S->ppid[idx] : &S->cpid[idx];
	int status;
	int wedged = 0;

	if (*pp <= 0)
		return 0;   /* it ended on its own (reported by poll_side) */
	kill(*pp, SIGKILL);
	while (waitpid(*pp, &status, 0) < 0 && errno == EINTR)
		;
	*pp = 0;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		check_status(S, prod, idx, status);   /* it died before our signal */
	S->res->kills++;
	if (prod) {
		struct led_prod *p = &L->p[idx];
		unsigned op = atomic_load(&p->op) % OP_NOPS;
		S->res->kills_by_op[op]++;
		S->res->pkills_by_op[op]++;
		uint64_t ns = atomic_load(&p->next_seq), ne = atomic_load(&p->attempt_end);
		for (uint64_t s = ns; s < ne; s++)
			atomic_fetch_or(&L->doubt_bits[idx][s / 64], UINT64_C(1) << (s % 64));
		if (ne > ns)
			atomic_store(&p->next_seq, ne);
		atomic_store(&p->attempt_end, atomic_load(&p->next_seq));
		atomic_store(&p->op, OP_IDLE);
		/* a claim it stamped is skipped by the consumers (stats.abandoned);
		 * one it did not stamp yet stalls them */
		if (cfg->kind == SHMRING_MPMC && op >= OP_SEND && op <= OP_RESERVE &&
		    mpmc_unstamped(S)) {
			S->res->wedges++;
			S->res->wedges_prod++;
			wedged = 1;
		}
	} else {
		struct led_cons *c = &L->c[idx];
		unsigned op = atomic_load(&c->op) % OP_NOPS;
		S->res->kills_by_op[op]++;
		if (op == OP_RECV || op == OP_RECV_BURST)
			S->res->lost_allowed += atomic_load(&c->op_n);
		if (op == OP_ACQUIRE) {
			if (cfg->kind == SHMRING_SPSC && atomic_load(&c->held)) {
				uint32_t k = atomic_fetch_add(&L->nallow, 1);
				if (k < NALLOW) {
					L->allow[k].prod = atomic_load(&c->held_prod);
					L->allow[k].seq = atomic_load(&c->held_seq);
					atomic_store(&L->allow[k].state, 1);
				}
			} else if (cfg->kind == SHMRING_MPMC && !atomic_load(&c->held)) {
				S->res->lost_allowed++;
			}
		}
		if (cfg->kind == SHMRING_MPMC && op >= OP_RECV && op <= OP_ACQUIRE &&
		    mpmc_stuck(S)) {
			S->res->wedges++;
			wedged = 1;
		}
		atomic_store(&c->op, OP_IDLE);
		atomic_store(&c->held, 0);
	}
	if (start_worker(S, prod, idx))
		fail(S, "fork failed: %s", strerror(errno));
	return wedged;
}

static void kill_all(struct sup *S)
{
	for (unsigned i = 0; i < S->cfg->nprod; i++)
		if (S->ppid[i] > 0) {
			kill(S->ppid[i], SIGKILL);
			waitpid(S->ppid[i], NULL, 0);
			S->ppid[i] = 0;
		}
	for (unsigned i = 0; i < S->cfg->ncons; i++)
		if (S->cpid[i] > 0) {
			kill(S->cpid[i], SIGKILL);
			waitpid(S->cpid[i], NULL, 0);
			S->cpid[i] = 0;
		}
}

/* wait until one side has ended, within a deadline; 0 ok, -1 hang */
static int wait_side(struct sup *S, int prod, int64_t limit_ns)
{
	int64_t give_up = stress_now_ns() + limit_ns;
	while (poll_side(S, prod)) {
		watchdog(S);
		if (stress_now_ns() > give_up) {
			S->res->hangs++;
			fail(S, "HANG: %s did not finish within %" PRId64 " s after stop",
			     prod ? "producers" : "consumers", limit_ns / 1000000000);
			return -1;
		}
		sleep_ns(2000000);
	}
	return 0;
}

/*
 * MPMC, after every worker has ended: what is still in the ring between
 * cons_idx and prod_idx? The consumers drained until end of stream, so it
 * must be empty, unless the first position is a claim that no producer
 * published or stamped (a producer wedge): then the messages behind it are
 * stranded, not lost. The supervisor checks and records them like a
 * consumer (a duplicate or corrupt one fails the run). A stamped dead
 * producer's claim at the head is a failure: end of stream must skip it.
 */
static void sweep_mpmc(struct sup *S)
{
	struct shmring *r = S->ring;
	struct ledger *L = S->L;
	struct shmring_stats st;
	uint64_t pos = shmring__load_acquire64(&r->hdr->cons_idx);
	uint64_t prod = shmring__load_acquire64(&r->hdr->prod_idx);
	int wedge = 0;

	if (shmring_stats(r, &st) == 0)
		S->res->abandoned += st.abandoned;
	for (uint64_t i = 0; i < r->nslots && (int64_t)(prod - pos) > 0; i++, pos++) {
		struct shmring__slot_mpmc *sl = (void *)(r->slots0 + (pos & r->mask) * r->stride);
		uint64_t seq = shmring__load_acquire64(&sl->seq);
		uint32_t owner = shmring__load_relaxed32(&sl->owner);
		uint32_t len = shmring__load_relaxed32(&sl->len);
		if (seq == pos) {   /* claimed, unpublished */
			if (i == 0 && (owner & SHMRING__STAMP_PRODUCER)) {
				fail(S, "end of stream with a stamped, unpublished claim at position %"
				     PRIu64 " (owner 0x%x): not skipped", pos, owner);
				return;
			}
			if (i == 0)
				wedge = 1;
			continue;
		}
		if (seq != pos + 1) {
			fail(S, "after the drain: position %" PRIu64 " has seq %" PRIu64
			     " (cons_idx..prod_idx)", pos, seq);
			return;
		}
		if (!wedge) {
			fail(S, "consumers ended (end of stream) with position %" PRIu64
			     " published and not delivered, no wedge before it", pos);
			return;
		}
		if (len == SHMRING__LEN_SKIP)
			continue;   /* a dead producer's skip record behind the wedge */
		uint32_t mp;
		uint64_t ms;
		if (len > r->slot_size || st_msg_check(sl + 1, len, &mp, &ms) ||
		    mp >= S->cfg->nprod || ms >= CAP_SEQ) {
			S->res->corrupt++;
			fail(S, "stranded message at position %" PRIu64 " is corrupt (len %u)", pos, len);
			continue;
		}
		uint64_t bit = UINT64_C(1) << (ms % 64);
		if (atomic_fetch_or(&L->recv_bits[mp][ms / 64], bit) & bit) {
			S->res->dup++;
			fail(S, "stranded message producer %u seq %" PRIu64 " was also received",
			     mp, ms);
		}
		S->res->stranded++;
	}
}

static void verify(struct sup *S)
{
	struct ledger *L = S->L;
	struct st_result *res = S->res;

	for (unsigned p = 0; p < S->cfg->nprod; p++) {
		uint64_t end = atomic_load(&L->p[p].next_seq);
		for (uint64_t wi = 0; wi < BM_WORDS; wi++) {
			uint64_t w = atomic_load_explicit(&L->recv_bits[p][wi], memory_order_relaxed);
			uint64_t d = atomic_load_explicit(&L->doubt_bits[p][wi], memory_order_relaxed);
			uint64_t base = wi * 64;
			if (base >= end && w == 0)
				continue;
			for (unsigned b = 0; b < 64; b++) {
				uint64_t s = base + b;
				int got = (int)((w >> b) & 1), doubt = (int)((d >> b) & 1);
				if (s >= end) {
					if (got) {
						res->phantom++;
						fail(S, "producer %u seq %" PRIu64
						     " received but never sent", p, s);
					}
				} else if (doubt) {
					if (got)
						res->doubt_recv++;
					else
						res->doubt_absent++;
				} else {
					res->committed++;
					if (!got)
						res->lost++;
				}
			}
		}
	}
	for (unsigned c = 0; c < S->cfg->ncons; c++)
		res->msgs += atomic_load(&L->c[c].recv);
	for (int k = 0; k < E_NKINDS; k++)
		res->err[k] += atomic_load(&L->err[k]);
	res->dup += atomic_load(&L->dup);
	res->redelivered += atomic_load(&L->redelivered);
	res->reorder += atomic_load(&L->reorder);
	res->corrupt += atomic_load(&L->corrupt);
	res->overruns += atomic_load(&L->overruns);
	res->max_call_ns = atomic_load(&L->max_call_ns);
	if (atomic_load(&L->why_set))
		fail(S, "%s", L->why);
	if (res->lost > res->lost_allowed)
		fail(S, "%" PRIu64 " committed messages lost, only %" PRIu64
		     " explained by consumers killed inside recv", res->lost, res->lost_allowed);
	if (res->err[E_BADMSG] || res->err[E_PROTO] || res->err[E_MSGSIZE] || res->err[E_OTHER])
		fail(S, "unexpected errors: EBADMSG %" PRIu64 " EPROTO %" PRIu64 " EMSGSIZE %" PRIu64
		     " other %" PRIu64, res->err[E_BADMSG], res->err[E_PROTO],
		     res->err[E_MSGSIZE], res->err[E_OTHER]);
	if (res->committed == 0)
		fail(S, "no message was committed");
	/* every skip record stands for an in-doubt message that never arrived */
	if (res->abandoned > res->doubt_absent)
		fail(S, "%" PRIu64 " dead producers' claims skipped, but only %" PRIu64
		     " in-doubt messages absent", res->abandoned, res->doubt_absent);
}

/* consumers hung after stop: print what they wait at (stderr, one line) */
static void diag_mpmc(struct sup *S)
{
	struct shmring *r = S->ring;
	struct shmring__hdr *h = r->hdr;
	uint64_t ci = shmring__load_acquire64(&h->cons_idx), pi = shmring__load_acquire64(&h->prod_idx);
	struct shmring__slot_mpmc *sl = (void *)(r->slots0 + (ci & r->mask) * r->stride);
	fprintf(stderr, "%s: diag: cons_idx=%" PRIu64 " prod_idx=%" PRIu64 " head seq=%" PRIu64
	        " owner=0x%x len=%u stream=0x%x prod_ever=%u; producers:", S->cfg->tag, ci, pi,
	        shmring__load_acquire64(&sl->seq), shmring__load_relaxed32(&sl->owner),
	        shmring__load_relaxed32(&sl->len), shmring__load_relaxed32(&h->stream),
	        shmring__load_relaxed32(&h->prod_ever));
	for (unsigned i = 0; i < SHMRING__MAX_PEERS; i++) {
		uint64_t o = shmring__load_acquire64(&h->producers[i].owner);
		if (o)
			fprintf(stderr, " [%u] pid %u state %u gen %u", i, (unsigned)(uint32_t)o,
			        shmring__load_relaxed32(&h->producers[i].state),
			        shmring__load_relaxed32(&h->producers[i].gen));
	}
	fprintf(stderr, "\n");
}

static unsigned name_counter;

int stress_run(const struct st_cfg *cfg, struct st_result *res)
{
	struct sup *S = calloc(1, sizeof(*S));
	int64_t t_start = stress_now_ns();
	int rc;

	memset(res, 0, sizeof(*res));
	if (!S)
		return -1;
	S->cfg = cfg;
	S->res = res;
	S->rng = st_mix(cfg->seed ^ 0x5eed) | 1;
	snprintf(S->name, sizeof(S->name), "/shmring-stress-%s-%d-%u", cfg->tag, (int)getpid(),
	         name_counter++);
	S->L = mmap(NULL, sizeof(struct ledger), PROT_READ | PROT_WRITE,
	            MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (S->L == MAP_FAILED) {
		free(S);
		snprintf(res->why, sizeof(res->why), "ledger mmap failed");
		res->failed = 1;
		return -1;
	}
	struct shmring_config rc_cfg = {
		.kind = cfg->kind, .slot_size = cfg->slot_size, .slots = cfg->slots,
	};
	shmring_unlink(S->name);
	rc = shmring_create(S->name, &rc_cfg, 0, &S->ring);
	if (rc) {
		fail(S, "create %s: %s", S->name, shmring_strerror(rc));
		goto out_unmap;
	}

	for (unsigned i = 0; i < cfg->ncons; i++)
		if (start_worker(S, 0, i))
			fail(S, "start consumer: %s", strerror(errno));
	for (unsigned i = 0; i < cfg->nprod; i++)
		if (start_worker(S, 1, i))
			fail(S, "start producer: %s", strerror(errno));

	int64_t end = t_start + (int64_t)(cfg->seconds * 1e9);
	int64_t hard_end = t_start + (int64_t)(cfg->seconds * 4e9) + INT64_C(2000000000);
	int faults = !cfg->threads && (cfg->kill_prod || cfg->kill_cons);
	for (;;) {
		int64_t now = stress_now_ns();
		if (res->failed)
			break;
		if (now >= end && (!faults || res->kills >= cfg->min_kills || now >= hard_end))
			break;
		if (faults) {
			sleep_ns((int64_t)(st_rand(&S->rng) % (cfg->max_gap_us + 1)) * 1000);
			if (kill_one(S))
				break;   /* wedged: end the round, the rest is accounted */
		} else {
			sleep_ns(10000000);
		}
		poll_side(S, 1);
		poll_side(S, 0);
		watchdog(S);
	}

	atomic_store_explicit(&S->L->stop, 1, memory_order_release);
	if (wait_side(S, 1, 15 * INT64_C(1000000000)) == 0) {
		atomic_store_explicit(&S->L->prod_done, 1, memory_order_release);
		if (wait_side(S, 0, 15 * INT64_C(1000000000)) && cfg->kind == SHMRING_MPMC)
			diag_mpmc(S);
	}
	if (!cfg->threads)
		kill_all(S);
	else if (res->failed) {
		fprintf(stderr, "%s: FAIL %s (threads cannot be stopped)\n", cfg->tag, res->why);
		_exit(1);
	}
	if (cfg->kind == SHMRING_MPMC && !res->hangs)
		sweep_mpmc(S);
	verify(S);
	shmring_close(S->ring);
out_unmap:
	shmring_unlink(S->name);
	munmap(S->L, sizeof(struct ledger));
	free(S);
	if (!cfg->quiet)
		stress_verdict(cfg->tag, cfg, res, (double)(stress_now_ns() - t_start) / 1e9);
	return res->failed ? -1 : 0;
}

void stress_merge(struct st_result *a, const struct st_result *b)
{
	a->msgs += b->msgs;
	a->committed += b->committed;
	a->kills += b->kills;
	for (int k = 0; k < OP_NOPS; k++) {
		a->kills_by_op[k] += b->kills_by_op[k];
		a->pkills_by_op[k] += b->pkills_by_op[k];
	}
	for (int k = 0; k < E_NKINDS; k++)
		a->err[k] += b->err[k];
	a->lost += b->lost;
	a->lost_allowed += b->lost_allowed;
	a->dup += b->dup;
	a->redelivered += b->redelivered;
	a->doubt_recv += b->doubt_recv;
	a->doubt_absent += b->doubt_absent;
	a->reorder += b->reorder;
	a->corrupt += b->corrupt;
	a->phantom += b->phantom;
	a->overruns += b->overruns;
	a->hangs += b->hangs;
	a->crashes += b->crashes;
	a->wedges += b->wedges;
	a->wedges_prod += b->wedges_prod;
	a->stranded += b->stranded;
	a->abandoned += b->abandoned;
	if (b->max_call_ns > a->max_call_ns)
		a->max_call_ns = b->max_call_ns;
	if (b->failed && !a->failed) {
		a->failed = 1;
		memcpy(a->why, b->why, sizeof(a->why));
	}
}

void stress_ops_str(char *buf, size_t cap, const uint64_t by_op[OP_NOPS])
{
	size_t o = 0;
	buf[0] = '\0';
	for (int k = 0; k < OP_NOPS; k++)
		if (by_op[k] && o < cap)
			o += (size_t)snprintf(buf + o, cap - o, "%s%s:%" PRIu64, o ? "," : "",
			                      op_names[k], by_op[k]);
	if (!o)
		snprintf(buf, cap, "0");
}

void stress_verdict(const char *tag, const struct st_cfg *cfg, const struct st_result *r,
                    double secs)
{
	char kills[600] = "", errs[256] = "", pk[256], ck[256];
	size_t o = 0;
	if (r->kills) {
		uint64_t cons_by_op[OP_NOPS];
		for (int k = 0; k < OP_NOPS; k++)
			cons_by_op[k] = r->kills_by_op[k] - r->pkills_by_op[k];
		stress_ops_str(pk, sizeof(pk), r->pkills_by_op);
		stress_ops_str(ck, sizeof(ck), cons_by_op);
		snprintf(kills, sizeof(kills), " (producers: %s; consumers: %s)", pk, ck);
	}
	for (int k = 0; k < E_NKINDS; k++)
		if (r->err[k] && o < sizeof(errs))
			o += (size_t)snprintf(errs + o, sizeof(errs) - o, "%s%s:%" PRIu64,
			                      o ? "," : "", err_names[k], r->err[k]);
	printf("%s: %s seed=%" PRIu64 " time=%.1fs msgs=%" PRIu64 " committed=%" PRIu64
	       " kills=%" PRIu64 "%s lost=%" PRIu64 " (allowed %" PRIu64 ") dup=%" PRIu64
	       " redelivered=%" PRIu64 " in-doubt=%" PRIu64 "/%" PRIu64 " reorder=%" PRIu64
	       " corrupt=%" PRIu64 " phantom=%" PRIu64 " hangs=%" PRIu64 " crashes=%" PRIu64
	       " overruns=%" PRIu64 " wedged=%" PRIu64 " (producer:%" PRIu64 ",consumer:%" PRIu64 ")"
	       " abandoned=%" PRIu64 " stranded=%" PRIu64 " max_call=%.0fms errors=[%s]%s%s\n",
	       tag, r->failed ? "FAIL" : "PASS", cfg->seed, secs, r->msgs, r->committed,
	       r->kills, kills, r->lost, r->lost_allowed, r->dup, r->redelivered,
	       r->doubt_recv, r->doubt_recv + r->doubt_absent, r->reorder, r->corrupt,
	       r->phantom, r->hangs, r->crashes, r->overruns, r->wedges, r->wedges_prod,
	       r->wedges - r->wedges_prod, r->abandoned, r->stranded,
	       (double)r->max_call_ns / 1e6, errs, r->failed ? " why: " : "",
	       r->failed ? r->why : "");
	fflush(stdout);
}
