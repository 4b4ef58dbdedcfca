/* SPDX-License-Identifier: MIT */
/*
 * hostile.c - a hostile peer. It maps the ring itself (shm_open + mmap of the
 * object, no library) and writes random values over header fields (indices,
 * futex words, waiter counts, end-of-stream words, statistics, registry,
 * identity) and over slots (lengths, sequence words, payloads) while honest
 * processes use the ring through the library.
 *
 * The honest processes may see errors (-EBADMSG, -EPROTO, -EPIPE, ...),
 * timeouts, or garbage payloads. They must never crash, touch memory outside
 * their buffers or the mapping (checked here with canaries and bounds, and
 * by ASan in `make check`), or block past their timeout (+ 500 ms).
 *
 *   hostile [-s seed] [-t seconds]   live runs, SPSC and MPMC rounds of 1 s
 *   hostile -f                       the fixed cases only
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "stress.h"

#define SLOT_SIZE   120
#define TIMEOUT_NS  20000000          /* every honest blocking call */
#define SLACK_NS    500000000         /* allowed lateness of a timed call */
#define CANARY      64

struct hcount {
	_Atomic int stop;
	_Atomic uint64_t ops, good, garbage, writes, reopens, open_fail;
	_Atomic uint64_t err[E_NKINDS];
	_Atomic uint64_t unexpected, overruns, bounds, max_late_ns;
	_Atomic int why_set;
	char why[200];
};

static struct hcount *H;

static void hfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void hfail(const char *fmt, ...)
{
	int z = 0;
	if (!atomic_compare_exchange_strong(&H->why_set, &z, 1))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(H->why, sizeof(H->why), fmt, ap);
	va_end(ap);
}

static void herr(int rc, int allowed)
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
	atomic_fetch_add(&H->err[k], 1);
	if (!allowed) {
		atomic_fetch_add(&H->unexpected, 1);
		hfail("unexpected return %d (%s)", rc, shmring_strerror(rc));
	}
}

static void timed(int64_t t0)
{
	int64_t late = stress_now_ns() - t0 - TIMEOUT_NS;
	if (late < 0)
		return;
	uint64_t cur = atomic_load(&H->max_late_ns);
	while ((uint64_t)late > cur && !atomic_compare_exchange_weak(&H->max_late_ns, &cur, (uint64_t)late))
		;
	if (late > SLACK_NS) {
		atomic_fetch_add(&H->overruns, 1);
		hfail("a call with a 20 ms timeout returned %" PRId64 " ms late", late / 1000000);
	}
}

/* the [p, p+n) range must lie inside the handle's mapping */
static void in_map(struct shmring *r, const void *p, size_t n)
{
	const unsigned char *lo = (const unsigned char *)r->hdr, *hi = lo + r->map_size;
	const unsigned char *a = p;
	if (!p || a < r->slots0 || a > hi || n > (size_t)(hi - a) || n > r->slot_size) {
		atomic_fetch_add(&H->bounds, 1);
		hfail("slot pointer %p + %zu outside the mapping / slot", p, n);
	}
}

static void canary_set(unsigned char *b, size_t cap)
{
	memset(b + cap, 0xa5, CANARY);
}

static void canary_check(const unsigned char *b, size_t cap)
{
	for (size_t i = 0; i < CANARY; i++)
		if (b[cap + i] != 0xa5) {
			atomic_fetch_add(&H->bounds, 1);
			hfail("receive buffer overrun past %zu bytes", cap);
			return;
		}
}

static void judge_msg(const void *p, size_t len)
{
	uint32_t prod;
	uint64_t seq;
	if (st_msg_check(p, len, &prod, &seq) == 0)
		atomic_fetch_add(&H->good, 1);
	else
		atomic_fetch_add(&H->garbage, 1);
}

static int allowed_common(int rc)
{
	return rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EPIPE || rc == -EPROTO ||
	       rc == -EBADMSG;
}

/* an honest worker: role 1 producer, 2 consumer; reopens after persistent errors */
static int honest(const char *name, int role, uint64_t seed)
{
	uint64_t rng = st_mix(seed) | 1, seq = 0;
	struct shmring *r = NULL;
	unsigned bad_streak = 0;
	unsigned char *buf = malloc(8 * (SLOT_SIZE + CANARY));

	if (!buf)
		return 1;
	while (!atomic_load(&H->stop)) {
		alarm(10);
		if (!r) {
			int rc = shmring_open(name, role, &r);
			if (rc) {
				atomic_fetch_add(&H->open_fail, 1);
				if (rc != -EPROTO && rc != -EBUSY && rc != -EUSERS && rc != -ENOENT)
					hfail("open: %s", shmring_strerror(rc));
				usleep(2000);
				r = NULL;
				continue;
			}
			if (rng & 2)
				shmring_set_spin(r, 0);
		}
		unsigned pick = (unsigned)(st_rand(&rng) % 3);
		int64_t t0 = stress_now_ns();
		int rc;
		atomic_fetch_add(&H->ops, 1);
		if (role == SHMRING_PRODUCER) {
			if (pick == 0) {
				size_t len = st_msg_build(buf, SLOT_SIZE, 0, seq++, st_rand(&rng));
				rc = shmring_send(r, buf, len, TIMEOUT_NS);
			} else if (pick == 1) {
				struct iovec iov[4];
				for (int i = 0; i < 4; i++) {
					iov[i].iov_base = buf + i * SLOT_SIZE;
					iov[i].iov_len = st_msg_build(iov[i].iov_base, SLOT_SIZE, 0, seq++,
					                              st_rand(&rng));
				}
				rc = shmring_send_burst(r, iov, 4, TIMEOUT_NS);
				rc = rc > 0 ? 0 : rc;
			} else {
				struct shmring_slot s;
				rc = shmring_reserve(r, &s, TIMEOUT_NS);
				if (rc == 0) {
					in_map(r, s.data, s.len);
					size_t len = st_msg_build(s.data, SLOT_SIZE, 0, seq++, st_rand(&rng));
					rc = shmring_commit(r, &s, len);
					if (rc == -EMSGSIZE)   /* see below; the reservation stays */
						shmring_commit(r, &s, 0);
				}
			}
			timed(t0);
			/* -EMSGSIZE: after a reopen, the handle may have taken a
			 * slot_size the scribbler lowered by a few bytes (113..120
			 * all give this stride, so the header is consistent) */
			if (rc < 0)
				herr(rc, allowed_common(rc) || rc == -EMSGSIZE);
		} else {
			size_t cap = (st_rand(&rng) & 3) ? SLOT_SIZE : 40;  /* sometimes small */
			if (pick == 0) {
				canary_set(buf, cap);
				ssize_t n = shmring_recv(r, buf, cap, TIMEOUT_NS);
				timed(t0);
				canary_check(buf, cap);
				if (n > (ssize_t)cap) {
					atomic_fetch_add(&H->bounds, 1);
					hfail("recv returned %zd > cap %zu", n, cap);
				} else if (n >= 0) {
					judge_msg(buf, (size_t)n);
				}
				rc = n < 0 ? (int)n : 0;
				if (rc < 0)
					herr(rc, allowed_common(rc) || rc == -EMSGSIZE);
			} else if (pick == 1) {
				struct iovec iov[4];
				for (int i = 0; i < 4; i++) {
					iov[i].iov_base = buf + i * (SLOT_SIZE + CANARY);
					iov[i].iov_len = cap;
					canary_set(iov[i].iov_base, cap);
				}
				rc = shmring_recv_burst(r, iov, 4, TIMEOUT_NS);
				timed(t0);
				for (int i = 0; i < 4; i++)
					canary_check(buf + i * (SLOT_SIZE + CANARY), cap);
				for (int i = 0; i < rc; i++) {
					if (iov[i].iov_len > cap) {
						atomic_fetch_add(&H->bounds, 1);
						hfail("recv_burst length %zu > cap %zu", iov[i].iov_len, cap);
					} else {
						judge_msg(iov[i].iov_base, iov[i].iov_len);
					}
				}
				if (rc > 4)
					hfail("recv_burst returned %d > 4", rc);
				if (rc < 0)
					herr(rc, allowed_common(rc) || rc == -EMSGSIZE);
				rc = rc > 0 ? 0 : rc;
			} else {
				struct shmring_slot s;
				rc = shmring_acquire(r, &s, TIMEOUT_NS);
				timed(t0);
				if (rc == 0) {
					in_map(r, s.data, s.len);
					unsigned char tmp[SLOT_SIZE];
					memcpy(tmp, s.data, s.len <= SLOT_SIZE ? s.len : SLOT_SIZE);
					judge_msg(tmp, s.len <= SLOT_SIZE ? s.len : 0);
					rc = shmring_release(r, &s);
					if (rc)
						hfail("release: %s", shmring_strerror(rc));
				} else {
					herr(rc, allowed_common(rc));
				}
			}
		}
		/* a ring that keeps failing: detach and attach again */
		bad_streak = (rc == -EPROTO || rc == -EPIPE || rc == -EBADMSG) ? bad_streak + 1 : 0;
		if (bad_streak > 20) {
			shmring_close(r);
			r = NULL;
			bad_streak = 0;
			atomic_fetch_add(&H->reopens, 1);
		}
	}
	if (r)
		shmring_close(r);
	free(buf);
	return 0;
}

/* the scribbler: its own mapping, no library */
static int scribbler(const char *name, uint64_t seed)
{
	uint64_t rng = st_mix(seed ^ 0xbad) | 1;
	int fd = shm_open(name, O_RDWR, 0);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return 1;
	unsigned char *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return 1;
	struct shmring__hdr *h = (void *)m;
	uint64_t nslots = h->slots, stride = h->slot_stride;
	if (SHMRING__HDR_SIZE + nslots * stride > (uint64_t)st.st_size)
		return 1;

	while (!atomic_load(&H->stop)) {
		unsigned nw = 1 + (unsigned)(st_rand(&rng) % 4);
		for (unsigned w = 0; w < nw; w++) {
			uint64_t v, x = st_rand(&rng);
			switch (x % 6) {
			case 0: v = st_rand(&rng); break;
			case 1: v = st_rand(&rng) % 64; break;
			case 2: v = 0; break;
			case 3: v = ~UINT64_C(0); break;
			case 4: v = (uint64_t)(int64_t)((int)(st_rand(&rng) % 9) - 4); break;
			default: v = nslots + st_rand(&rng) % 4; break;
			}
			unsigned char *p;
			unsigned width = 8;
			int add = (x >> 8) & 1;   /* add to the current value instead */
			unsigned t = (unsigned)((x >> 16) % 40);
			switch (t < 23 ? t / 2 : 12) {
			case 0: case 1: p = t & 1 ? (void *)&h->cons_idx : (void *)&h->prod_idx; break;
			case 2: case 3: p = t & 1 ? (void *)&h->cons_idx : (void *)&h->prod_idx; break;
			case 4: p = (void *)&h->data_futex + 4 * (t & 1); width = 4; break;
			case 5: p = (void *)&h->space_futex + 4 * (t & 1); width = 4; break;
			case 6: p = (void *)&h->data_futex + 4 * (st_rand(&rng) % 2); width = 4; break;
			case 7: p = (void *)&h->space_futex + 4 * (st_rand(&rng) % 2); width = 4; break;
			case 8: p = (void *)&h->prod_ever + 4 * (st_rand(&rng) % 4); width = 4; break;
			case 9: p = (void *)&h->full_waits + 128 * (st_rand(&rng) % 2); break;
			case 10: p = (void *)h->producers + 8 * (st_rand(&rng) %
			                ((sizeof(h->producers) + sizeof(h->consumers)) / 8)); break;
			case 11: p = m + 8 * (st_rand(&rng) % 6); break;   /* identity: 1 in 40 */
			default: {                                         /* a slot */
				unsigned char *sl = m + SHMRING__HDR_SIZE + (st_rand(&rng) % nslots) * stride;
				uint64_t off = (st_rand(&rng) & 1) ? 0 : 8 * (st_rand(&rng) % (stride / 8));
				p = sl + off;
				width = (st_rand(&rng) & 1) ? 4 : 8;
				break;
			}
			}
			if (width == 8) {
				_Atomic uint64_t *q = (void *)p;
				if (add)
					atomic_fetch_add_explicit(q, v, memory_order_relaxed);
				else
					atomic_store_explicit(q, v, memory_order_relaxed);
			} else {
				_Atomic uint32_t *q = (void *)p;
				if (add)
					atomic_fetch_add_explicit(q, (uint32_t)v, memory_order_relaxed);
				else
					atomic_store_explicit(q, (uint32_t)v, memory_order_relaxed);
			}
			atomic_fetch_add(&H->writes, 1);
		}
		usleep((useconds_t)(st_rand(&rng) % 2000));
	}
	munmap(m, (size_t)st.st_size);
	return 0;
}

static int run_round(unsigned kind, double secs, uint64_t seed, unsigned round)
{
	char name[80];
	struct shmring *cr;
	struct shmring_config cfg = { .kind = kind, .slot_size = SLOT_SIZE, .slots = 16 };
	snprintf(name, sizeof(name), "/shmring-hostile-%d-%u", (int)getpid(), round);
	shm_unlink(name);
	int rc = shmring_create(name, &cfg, 0, &cr);
	if (rc) {
		hfail("create: %s", shmring_strerror(rc));
		return -1;
	}
	unsigned np = kind == SHMRING_SPSC ? 1 : 2, nc = np;
	pid_t pids[8];
	unsigned n = 0;
	atomic_store(&H->stop, 0);
	fflush(NULL);
	for (unsigned i = 0; i < np + nc + 1; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			if (i == np + nc)
				_exit(scribbler(name, seed));
			_exit(honest(name, i < np ? SHMRING_PRODUCER : SHMRING_CONSUMER,
			             seed + i * 7919 + round));
		}
		if (pid > 0)
			pids[n++] = pid;
	}
	usleep((useconds_t)(secs * 1e6));
	atomic_store(&H->stop, 1);
	int64_t give_up = stress_now_ns() + INT64_C(5000000000);
	for (unsigned i = 0; i < n; i++) {
		int status;
		pid_t got;
		while ((got = waitpid(pids[i], &status, WNOHANG)) == 0 && stress_now_ns() < give_up)
			usleep(2000);
		if (got == 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
			hfail("HANG: an honest process did not stop within 5 s");
		} else if (WIFSIGNALED(status)) {
			hfail("an honest process died by signal %d (%s)", WTERMSIG(status),
			      strsignal(WTERMSIG(status)));
		} else if (WEXITSTATUS(status)) {
			hfail("a process exited with status %d (ASan report above?)", WEXITSTATUS(status));
		}
	}
	shmring_close(cr);
	shmring_unlink(name);
	return 0;
}

/* ------------------------------------------------------------ fixed cases */

static int fixed_fail;

#define EXPECT(cond, ...) do { if (!(cond)) { fixed_fail++; \
	printf("hostile-fixed: FAIL line %d: ", __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static struct shmring__slot_spsc *spsc_slot(struct shmring *r, uint64_t pos)
{
	return (void *)shmring__slot(r, pos);
}

/* one timed call: returns within its timeout + slack */
#define WITHIN(call, to, out) do { int64_t t0_ = stress_now_ns(); out = (call); \
	EXPECT(stress_now_ns() - t0_ < (to) + SLACK_NS, #call " took %" PRId64 " ms", \
	       (stress_now_ns() - t0_) / 1000000); } while (0)

static void fixed_kind(unsigned kind)
{
	char name[80];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = kind, .slot_size = 64, .slots = 8 };
	unsigned char msg[64] = "hello", buf[64 + CANARY];
	struct iovec iov[2] = { { buf, 64 }, { buf, 64 } };
	struct shmring_slot s;
	ssize_t n;
	int rc;
	const char *k = kind == SHMRING_SPSC ? "spsc" : "mpmc";

	snprintf(name, sizeof(name), "/shmring-hostile-fixed-%s-%d", k, (int)getpid());
	shm_unlink(name);
	rc = shmring_create(name, &cfg, SHMRING_PRODUCER, &p);
	EXPECT(rc == 0, "%s create %d", k, rc);
	if (rc)
		return;
	rc = shmring_open(name, SHMRING_CONSUMER, &c);
	EXPECT(rc == 0, "%s open %d", k, rc);
	if (rc) {
		shmring_close(p);
		shmring_unlink(name);
		return;
	}
	struct shmring__hdr *h = p->hdr;
	uint32_t *lenp = kind == SHMRING_SPSC ? &spsc_slot(p, 0)->len
	                                      : &((struct shmring__slot_mpmc *)shmring__slot(p, 0))->len;

	/* 1. slot length > slot_size: -EBADMSG, skipped, the ring goes on */
	static const uint32_t badlens[] = { 65, 4096, 0x7fffffff, 0xffffffff };
	for (unsigned i = 0; i < 4; i++) {
		uint64_t pos = shmring__load_relaxed64(&h->prod_idx);
		lenp = kind == SHMRING_SPSC ? &spsc_slot(p, pos)->len
		                            : &((struct shmring__slot_mpmc *)shmring__slot(p, pos))->len;
		EXPECT(shmring_send(p, msg, 10, 0) == 0, "%s send", k);
		*lenp = badlens[i];
		canary_set(buf, 64);
		if (i == 0)
			n = shmring_recv(c, buf, 64, 0);
		else if (i == 1)
			n = shmring_recv_burst(c, iov, 2, 0);
		else if (i == 2)
			n = shmring_acquire(c, &s, 0);
		else
			n = shmring_recv(c, buf, 10, 0);
		canary_check(buf, 64);
		/* on MPMC rings 0xffffffff is the skip record of a dead producer's
		 * slot (SHMRING__LEN_SKIP): dropped silently, so the ring reads empty */
		if (kind == SHMRING_MPMC && badlens[i] == SHMRING__LEN_SKIP)
			EXPECT(n == -EAGAIN, "%s len %u (skip record): got %zd, want -EAGAIN",
			       k, badlens[i], n);
		else
			EXPECT(n == -EBADMSG, "%s len %u: got %zd, want -EBADMSG", k, badlens[i], n);
		EXPECT(shmring_send(p, msg, 10, 0) == 0, "%s send after bad", k);
		n = shmring_recv(c, buf, 64, 0);
		EXPECT(n == 10, "%s recv after bad slot: %zd", k, n);
	}

	/* 2. futex words and waiter counts garbage: calls still work and time out in time */
	h->data_futex = 0xdeadbeef;
	h->space_futex = 0x12345678;
	h->data_waiters = 0xffffffff;
	h->space_waiters = 0x80000000;
	EXPECT(shmring_send(p, msg, 5, 0) == 0, "%s send with garbage futex words", k);
	EXPECT(shmring_recv(c, buf, 64, 0) == 5, "%s recv with garbage futex words", k);
	WITHIN(shmring_recv(c, buf, 64, 30000000), 30000000, n);
	EXPECT(n == -ETIMEDOUT, "%s blocking recv on empty ring: %zd", k, n);
	h->data_waiters = 0;
	h->space_waiters = 0;

	/* 3. indices far apart: producer index 2^40 ahead */
	uint64_t pi = h->prod_idx, ci = h->cons_idx;
	h->prod_idx = ci + (UINT64_C(1) << 40);
	canary_set(buf, 64);
	WITHIN(shmring_recv(c, buf, 64, 30000000), 30000000, n);
	canary_check(buf, 64);
	EXPECT(n == -EPROTO || n == -ETIMEDOUT || n == -EAGAIN || n == -EBADMSG || (n >= 0 && n <= 64),
	       "%s recv with far producer index: %zd", k, n);
	WITHIN(shmring_send(p, msg, 5, 30000000), 30000000, rc);
	EXPECT(rc == -EPROTO || rc == -ETIMEDOUT || rc == 0, "%s send with far producer index: %d", k, rc);
	h->prod_idx = pi;
	h->cons_idx = ci;

	/* 4. tail behind head: consumer index ahead of the producer's */
	pi = h->prod_idx;
	h->cons_idx = pi + 3;
	WITHIN(shmring_send(p, msg, 5, 30000000), 30000000, rc);
	EXPECT(rc == -EPROTO || rc == -ETIMEDOUT || rc == 0, "%s send with tail behind head: %d", k, rc);
	WITHIN(shmring_recv(c, buf, 64, 30000000), 30000000, n);
	EXPECT(n == -EPROTO || n == -ETIMEDOUT || n == -EAGAIN || n == -EBADMSG || (n >= 0 && n <= 64),
	       "%s recv with tail behind head: %zd", k, n);
	/* a new consumer refuses impossible indices (SPSC) or attaches (MPMC) */
	struct shmring *c2 = NULL;
	shmring_close(c);
	c = NULL;
	pi = h->prod_idx;
	h->cons_idx = pi + 3;
	rc = shmring_open(name, SHMRING_CONSUMER, &c2);
	EXPECT(kind == SHMRING_SPSC ? rc == -EPROTO : rc == 0,
	       "%s open with tail behind head: %d", k, rc);
	shmring_close(c2);

	/* 5. registry garbage: an owner word naming a live process (pid 1) and one naming nobody */
	h->prod_idx = pi;
	h->cons_idx = pi;
	h->consumers[0].owner = 1;   /* pid 1, start time 0: not what pid 1 started at */
	h->consumers[0].state = 0xffffffff;
	rc = shmring_open(name, SHMRING_CONSUMER, &c);
	EXPECT(rc == 0 || rc == -EBUSY, "%s open over registry garbage: %d", k, rc);
	if (rc == 0) {
		EXPECT(shmring_send(p, msg, 7, 0) == 0 || 1, "send");
		n = shmring_recv(c, buf, 64, 10000000);
		EXPECT((n >= 0 && n <= 64) || n == -ETIMEDOUT || n == -EAGAIN, "%s recv after registry garbage: %zd", k, n);
		shmring_close(c);
	}

	/* 6. identity garbage after open: ignored by open handles, new opens -EPROTO */
	h->slot_size = 1u << 30;
	h->slots = 3;
	EXPECT(shmring_send(p, msg, 64, 0) == 0 || 1, "send");
	rc = shmring_open(name, SHMRING_CONSUMER, &c);
	EXPECT(rc == -EPROTO, "%s open with corrupt identity: %d", k, rc);
	if (rc == 0)
		shmring_close(c);
	EXPECT(shmring_send(p, msg, 65, 0) == -EMSGSIZE, "%s local slot_size kept", k);

	shmring_close(p);
	shmring_unlink(name);
}

static int fixed_cases(void)
{
	fixed_kind(SHMRING_SPSC);
	fixed_kind(SHMRING_MPMC);
	printf("hostile-fixed: %s %d failures (slot length > slot_size via recv/burst/acquire, "
	       "futex words and waiter counts garbage, indices far apart, tail behind head, "
	       "registry garbage, identity garbage; SPSC and MPMC)\n",
	       fixed_fail ? "FAIL" : "PASS", fixed_fail);
	return fixed_fail ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = stress_seed_default();
	double secs = 4;
	int c;

	H = mmap(NULL, sizeof(*H), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (H == MAP_FAILED)
		return 2;
	while ((c = getopt(argc, argv, "s:t:f")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 't': secs = atof(optarg); break;
		case 'f': return fixed_cases();
		default:
			fprintf(stderr, "usage: %s [-s seed] [-t seconds] | -f\n", argv[0]);
			return 2;
		}
	}
	int64_t t0 = stress_now_ns(), end = t0 + (int64_t)(secs * 1e9);
	unsigned round = 0;
	while (stress_now_ns() < end && !atomic_load(&H->why_set)) {
		run_round(round % 2 ? SHMRING_MPMC : SHMRING_SPSC, 1.0, seed + round, round);
		round++;
	}
	int failed = atomic_load(&H->why_set);
	printf("hostile: %s seed=%" PRIu64 " time=%.1fs rounds=%u scribbles=%" PRIu64
	       " honest_ops=%" PRIu64 " good_msgs=%" PRIu64 " garbage_msgs=%" PRIu64
	       " errors=[EAGAIN:%" PRIu64 ",ETIMEDOUT:%" PRIu64 ",EPIPE:%" PRIu64 ",EBADMSG:%" PRIu64
	       ",EPROTO:%" PRIu64 ",EMSGSIZE:%" PRIu64 ",other:%" PRIu64 "] reopens=%" PRIu64
	       " open_fail=%" PRIu64 " unexpected=%" PRIu64 " bounds=%" PRIu64 " overruns=%" PRIu64
	       " max_late=%.1fms%s%s\n",
	       failed ? "FAIL" : "PASS", seed, (double)(stress_now_ns() - t0) / 1e9, round,
	       H->writes, H->ops, H->good, H->garbage, H->err[E_AGAIN], H->err[E_TIMEDOUT],
	       H->err[E_PIPE], H->err[E_BADMSG], H->err[E_PROTO], H->err[E_MSGSIZE],
	       H->err[E_OTHER] + H->err[E_BUSY], H->reopens, H->open_fail, H->unexpected,
	       H->bounds, H->overruns, (double)H->max_late_ns / 1e6, failed ? " why: " : "",
	       failed ? H->why : "");
	return failed ? 1 : 0;
}
