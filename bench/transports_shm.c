/* SPDX-License-Identifier: MIT */
/*
 * transports_shm.c - shared-memory transports: shmring (SPSC copy, burst,
 * zero-copy, sleep-at-once; MPMC 1x1 and 2x2), the reference ring
 * (ref_ring.h) and the textbook ring handed over with two process-shared
 * POSIX semaphores.
 *
 * Without shmring_set_spin() the library decides the wait policy from CPU
 * placement (spin SHMRING_DEFAULT_SPIN_NS unless both peers share one
 * CPU); the consumer reports what it decided.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <shmring.h>
#include "ipc_bench.h"
#include "ref_ring.h"

#define CHECK_EVERY 64   /* messages between clock reads */

/* ------------------------------------------------------------------ */
/* shmring                                                             */

static int shm_create(struct bctx *c, const char *name, unsigned kind)
{
	struct shmring_config cfg = {
		.kind = kind,
		.slot_size = (uint32_t)c->size,
		.slots = c->slots,
		.mode = 0600,
		.flags = SHMRING_PREFAULT,
	};
	struct shmring *r;
	int rc = shmring_create(name, &cfg, 0, &r);
	if (rc) {
		fprintf(stderr, "ipc_bench: shmring_create %s: %s\n", name, shmring_strerror(rc));
		return -1;
	}
	shmring_close(r);   /* the object lives until teardown unlinks it */
	return 0;
}

static int shm_setup_kind(struct bctx *c, int latency, unsigned kind)
{
	if (shm_create(c, c->name, kind))
		return -1;
	if (latency && shm_create(c, c->name2, kind)) {
		shmring_unlink(c->name);
		return -1;
	}
	return 0;
}

static int shm_setup_spsc(struct bctx *c, int latency)
{
	return shm_setup_kind(c, latency, SHMRING_SPSC);
}

static int shm_setup_mpmc(struct bctx *c, int latency)
{
	return shm_setup_kind(c, latency, SHMRING_MPMC);
}

static void shm_teardown(struct bctx *c)
{
	shmring_unlink(c->name);
	shmring_unlink(c->name2);   /* -ENOENT when there is none */
}

static int shm_attach(struct bctx *c, const char *name, int role, struct shmring **r)
{
	int rc = shmring_open(name, role, r);
	if (rc)
		return side_fail(c, "shmring_open %s: %s", name, shmring_strerror(rc));
	if (c->spin_ns != INT64_MIN)
		shmring_set_spin(*r, c->spin_ns);
	return 0;
}

/* the wait policy in force: the set value, or the automatic decision once
 * one was made (-1: none yet), as shmring_info() reports it */
static int64_t spin_in_force(const struct shmring *r)
{
	struct shmring_info in;
	return shmring_info((struct shmring *)r, &in) == 0 ? in.spin_ns : -1;
}

static uint64_t futex_count(struct shmring *r)
{
	struct shmring_stats st;
	if (shmring_stats(r, &st))
		return 0;
	return st.full_waits + st.empty_waits + st.prod_wakes + st.cons_wakes;
}

enum shm_mode { SM_COPY, SM_BURST, SM_ZC };

static int shm_mode(const struct bctx *c)
{
	return c->burst > 1 ? SM_BURST : c->burst == 1 ? SM_ZC : SM_COPY;
}

static int shm_producer(struct bctx *c)
{
	struct shmring *r;
	if (shm_attach(c, c->name, SHMRING_PRODUCER, &r))
		return -1;
	size_t size = c->size;
	unsigned k = c->burst > 1 ? c->burst : 1;
	unsigned char *buf = calloc(k, size);
	struct iovec *iov = calloc(k, sizeof(*iov));
	if (!buf || !iov)
		return side_fail(c, "out of memory");
	for (size_t i = 0; i < k * size; i++)
		buf[i] = (unsigned char)i;
	for (unsigned i = 0; i < k; i++)
		iov[i] = (struct iovec){buf + i * size, size};
	int mode = shm_mode(c), rc = 0;
	uint64_t n = 0;

	side_ready(c);
	if (mode == SM_COPY) {
		do {
			for (int i = 0; i < CHECK_EVERY; i++, n++) {
				stamp(buf, size, seq_word(c->my_id, n));
				rc = shmring_send(r, buf, size, -1);
				if (rc)
					goto out;
			}
		} while (side_running(c));
	} else if (mode == SM_BURST) {
		do {
			for (unsigned i = 0; i < k; i++)
				stamp(buf + i * size, size, seq_word(c->my_id, n + i));
			for (unsigned sent = 0; sent < k;) {
				rc = shmring_send_burst(r, iov + sent, k - sent, -1);
				if (rc < 0)
					goto out;
				sent += (unsigned)rc;
			}
			rc = 0;
			n += k;
		} while (side_running(c));
	} else {
		/* zero-copy: the message is built in place (the same copy of
		 * its bytes that send() makes, then the stamps) */
		do {
			for (int i = 0; i < CHECK_EVERY; i++, n++) {
				struct shmring_slot s;
				rc = shmring_reserve(r, &s, -1);
				if (rc)
					goto out;
				memcpy(s.data, buf, size);
				stamp(s.data, size, seq_word(c->my_id, n));
				rc = shmring_commit(r, &s, size);
				if (rc)
					goto out;
			}
		} while (side_running(c));
	}
out:
	c->res->msgs = n;
	if (rc)
		side_fail(c, "send after %llu messages: %s", (unsigned long long)n,
		          shmring_strerror(rc));
	shmring_shutdown(r);
	side_done(c);
	shmring_close(r);
	free(buf);
	free(iov);
	return rc ? -1 : 0;
}

static int shm_consumer(struct bctx *c)
{
	struct shmring *r;
	if (shm_attach(c, c->name, SHMRING_CONSUMER, &r))
		return -1;
	size_t size = c->size;
	unsigned k = c->burst > 1 ? c->burst : 1;
	unsigned char *buf = calloc(k, size);
	struct iovec *iov = calloc(k, sizeof(*iov));
	if (!buf || !iov)
		return side_fail(c, "out of memory");
	struct checker chk = {.strict = c->nprod == 1 && c->ncons == 1};
	char err[160];
	int mode = shm_mode(c), rc = 0;

	side_ready(c);
	uint64_t f0 = futex_count(r);
	for (;;) {
		if (mode == SM_COPY) {
			ssize_t len = shmring_recv(r, buf, size, -1);
			if (len < 0) {
				rc = (int)len;
				break;
			}
			if (chk_msg(&chk, buf, (size_t)len, size, err, sizeof(err)))
				goto bad;
		} else if (mode == SM_BURST) {
			for (unsigned i = 0; i < k; i++)
				iov[i] = (struct iovec){buf + i * size, size};
			rc = shmring_recv_burst(r, iov, k, -1);
			if (rc < 0)
				break;
			for (int i = 0; i < rc; i++)
				if (chk_msg(&chk, iov[i].iov_base, iov[i].iov_len, size, err,
				            sizeof(err)))
					goto bad;
		} else {
			struct shmring_slot s;
			rc = shmring_acquire(r, &s, -1);
			if (rc < 0)
				break;
			if (chk_msg(&chk, s.data, s.len, size, err, sizeof(err)))
				goto bad;
			rc = shmring_release(r, &s);
			if (rc < 0)
				break;
		}
	}
	side_done(c);
	c->res->spin_ns = spin_in_force(r);
	if (c->my_id == 0) {
		c->res->has_futex = 1;
		c->res->futex_calls = futex_count(r) - f0;
	}
	chk_report(c, &chk);
	shmring_close(r);
	free(buf);
	free(iov);
	if (rc != -EPIPE)
		return side_fail(c, "recv after %llu messages: %s",
		                 (unsigned long long)chk.total, shmring_strerror(rc));
	return 0;
bad:
	side_done(c);
	shmring_close(r);
	return side_fail(c, "%s", err);
}

/* round trip: the client sends on name, the server echoes on name2 */
static int shm_ping(struct bctx *c)
{
	struct shmring *out, *in;
	if (shm_attach(c, c->name, SHMRING_PRODUCER, &out) ||
	    shm_attach(c, c->name2, SHMRING_CONSUMER, &in))
		return -1;
	size_t size = c->size;
	unsigned char *buf = calloc(1, size), *rbuf = calloc(1, size);
	struct lat_rec l;
	if (!buf || !rbuf || lat_init(c, &l))
		return side_fail(c, "out of memory");
	int rc = 0;
	side_ready(c);
	for (uint64_t n = 0;; n++) {
		if (!lat_step(c, &l, n))
			break;
		uint64_t w = seq_word(0, n), t0 = now_ns();
		stamp(buf, size, w);
		rc = shmring_send(out, buf, size, -1);
		if (rc)
			break;
		ssize_t len = shmring_recv(in, rbuf, size, -1);
		uint64_t t1 = now_ns();
		if (len < 0) {
			rc = (int)len;
			break;
		}
		uint64_t tail = w;
		if (size >= 16)
			memcpy(&tail, rbuf + size - 8, 8);
		if ((size_t)len != size || msg_word(rbuf) != w || tail != w) {
			rc = side_fail(c, "round trip %llu: bad echo", (unsigned long long)n);
			break;
		}
		lat_add(&l, t1 - t0);
	}
	shmring_shutdown(out);
	side_done(c);
	lat_finish(c, &l);
	shmring_close(out);
	shmring_close(in);
	free(buf);
	free(rbuf);
	if (rc)
		return side_fail(c, "round trip: %s", rc == -1 ? "bad echo" : shmring_strerror(rc));
	return 0;
}

static int shm_pong(struct bctx *c)
{
	struct shmring *in, *out;
	if (shm_attach(c, c->name, SHMRING_CONSUMER, &in) ||
	    shm_attach(c, c->name2, SHMRING_PRODUCER, &out))
		return -1;
	unsigned char *buf = calloc(1, c->size);
	if (!buf)
		return side_fail(c, "out of memory");
	side_ready(c);
	ssize_t len;
	int rc = 0;
	while ((len = shmring_recv(in, buf, c->size, -1)) >= 0) {
		rc = shmring_send(out, buf, (size_t)len, -1);
		if (rc)
			break;
	}
	side_done(c);
	shmring_shutdown(out);
	shmring_close(in);
	shmring_close(out);
	free(buf);
	if (rc || len != -EPIPE)
		return side_fail(c, "echo: %s", shmring_strerror(rc ? rc : (int)len));
	return 0;
}

#define SHM_T(ident, nm, desc, kinds_, np, nc, setup_, spin, burst_)             \
	const struct transport ident = {                                               \
		.name = nm, .what = desc, .kinds = kinds_, .nprod = np, .ncons = nc,       \
		.setup = setup_, .teardown = shm_teardown, .producer = shm_producer,      \
		.consumer = shm_consumer, .ping = shm_ping, .pong = shm_pong,              \
		.spin_ns = spin, .burst = burst_,                                          \
	}

SHM_T(t_shm_spsc, "shm-spsc", "shmring SPSC send/recv, default wait (spin, then futex)",
      TK_STREAM | TK_LATENCY, 1, 1, shm_setup_spsc, INT64_MIN, 0);
SHM_T(t_shm_burst, "shm-burst32", "shmring SPSC send_burst/recv_burst, 32 per call",
      TK_STREAM, 1, 1, shm_setup_spsc, INT64_MIN, 32);
SHM_T(t_shm_zc, "shm-zc", "shmring SPSC zero-copy: reserve/commit, acquire/release",
      TK_STREAM, 1, 1, shm_setup_spsc, INT64_MIN, 1);
SHM_T(t_shm_sleep, "shm-sleep", "shmring SPSC send/recv, spin 0: futex sleep at once",
      TK_STREAM | TK_LATENCY, 1, 1, shm_setup_spsc, 0, 0);
SHM_T(t_shm_mpmc11, "shm-mpmc-1x1", "shmring MPMC ring, 1 producer x 1 consumer process",
      TK_STREAM, 1, 1, shm_setup_mpmc, INT64_MIN, 0);
SHM_T(t_shm_mpmc22, "shm-mpmc-2x2",
      "shmring MPMC ring, 2 producers (CPU A) x 2 consumers (CPU B)", TK_STREAM, 2, 2,
      shm_setup_mpmc, INT64_MIN, 0);

/* ------------------------------------------------------------------ */
/* plain shared memory for the reference ring and the semaphore ring   */

static int map_shared(struct bctx *c, size_t len)
{
	/* shm_open + mmap, unlinked at once: the mapping outlives the name */
	int fd = shm_open(c->name, O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd < 0) {
		perror("ipc_bench: shm_open");
		return -1;
	}
	shm_unlink(c->name);
	if (ftruncate(fd, (off_t)len) != 0) {
		perror("ipc_bench: ftruncate");
		close(fd);
		return -1;
	}
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		perror("ipc_bench: mmap");
		return -1;
	}
	memset(m, 0, len);   /* prefault, as SHMRING_PREFAULT does */
	c->mem = m;
	c->mem_len = len;
	return 0;
}

static void unmap_shared(struct bctx *c)
{
	if (c->mem)
		munmap(c->mem, c->mem_len);
	c->mem = NULL;
}

/* ---- the reference ring ---- */

static size_t ref_half(const struct bctx *c)
{
	return (ref_ring_bytes(c->slots, c->size) + 4095) & ~(size_t)4095;
}

static int ref_setup(struct bctx *c, int latency)
{
	return map_shared(c, ref_half(c) * (latency ? 2 : 1));
}

static void ref_at(struct bctx *c, struct ref_ring *r, int which)
{
	ref_ring_attach(r, (char *)c->mem + ref_half(c) * (size_t)which, c->slots, c->size);
}

static int ref_producer(struct bctx *c)
{
	struct ref_ring r;
	ref_at(c, &r, 0);
	unsigned char *buf = malloc(c->size);
	if (!buf)
		return side_fail(c, "out of memory");
	for (size_t i = 0; i < c->size; i++)
		buf[i] = (unsigned char)i;
	uint64_t n = 0;
	side_ready(c);
	do {
		for (int i = 0; i < CHECK_EVERY; i++, n++) {
			stamp(buf, c->size, seq_word(0, n));
			ref_ring_send(&r, buf, (uint32_t)c->size);
		}
	} while (side_running(c));
	ref_ring_finish(&r);
	side_done(c);
	c->res->msgs = n;
	free(buf);
	return 0;
}

static int ref_consumer(struct bctx *c)
{
	struct ref_ring r;
	ref_at(c, &r, 0);
	unsigned char *buf = malloc(c->size);
	if (!buf)
		return side_fail(c, "out of memory");
	struct checker chk = {.strict = 1};
	char err[160];
	ssize_t len;
	side_ready(c);
	while ((len = ref_ring_recv(&r, buf)) >= 0)
		if (chk_msg(&chk, buf, (size_t)len, c->size, err, sizeof(err))) {
			side_done(c);
			return side_fail(c, "%s", err);
		}
	side_done(c);
	chk_report(c, &chk);
	free(buf);
	return 0;
}

static int ref_ping(struct bctx *c)
{
	struct ref_ring out, in;
	ref_at(c, &out, 0);
	ref_at(c, &in, 1);
	size_t size = c->size;
	unsigned char *buf = calloc(1, size), *rbuf = calloc(1, size);
	struct lat_rec l;
	if (!buf || !rbuf || lat_init(c, &l))
		return side_fail(c, "out of memory");
	int rc = 0;
	side_ready(c);
	for (uint64_t n = 0;; n++) {
		if (!lat_step(c, &l, n))
			break;
		uint64_t w = seq_word(0, n), t0 = now_ns();
		stamp(buf, size, w);
		ref_ring_send(&out, buf, (uint32_t)size);
		ssize_t len = ref_ring_recv(&in, rbuf);
		uint64_t t1 = now_ns(), tail = w;
		if (size >= 16)
			memcpy(&tail, rbuf + size - 8, 8);
		if ((size_t)len != size || msg_word(rbuf) != w || tail != w) {
			rc = side_fail(c, "round trip %llu: bad echo", (unsigned long long)n);
			break;
		}
		lat_add(&l, t1 - t0);
	}
	ref_ring_finish(&out);
	side_done(c);
	lat_finish(c, &l);
	free(buf);
	free(rbuf);
	return rc;
}

static int ref_pong(struct bctx *c)
{
	struct ref_ring in, out;
	ref_at(c, &in, 0);
	ref_at(c, &out, 1);
	unsigned char *buf = calloc(1, c->size);
	if (!buf)
		return side_fail(c, "out of memory");
	side_ready(c);
	ssize_t len;
	while ((len = ref_ring_recv(&in, buf)) >= 0)
		ref_ring_send(&out, buf, (uint32_t)len);
	side_done(c);
	free(buf);
	return 0;
}

const struct transport t_ref_ring = {
	.name = "ref-ring",
	.what = "reference: ~60-line cached-index SPSC ring (bench/ref_ring.h), busy-polling",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.setup = ref_setup, .teardown = unmap_shared,
	.producer = ref_producer, .consumer = ref_consumer, .ping = ref_ping, .pong = ref_pong,
};

/* ---- the textbook: slots handed over with two process-shared semaphores ---- */

struct sem_ring {
	sem_t empty;     /* free slots */
	sem_t full;      /* filled slots */
	_Alignas(64) unsigned char data[];
};

static int sem_setup(struct bctx *c, int latency)
{
	(void)latency;
	if (map_shared(c, sizeof(struct sem_ring) + c->slots * c->size))
		return -1;
	struct sem_ring *s = c->mem;
	if (sem_init(&s->empty, 1, (unsigned)c->slots) || sem_init(&s->full, 1, 0)) {
		perror("ipc_bench: sem_init");
		unmap_shared(c);
		return -1;
	}
	return 0;
}

static void sem_teardown(struct bctx *c)
{
	struct sem_ring *s = c->mem;
	sem_destroy(&s->empty);
	sem_destroy(&s->full);
	unmap_shared(c);
}

static int sem_wait_retry(sem_t *s)
{
	while (sem_wait(s) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static int sem_producer(struct bctx *c)
{
	struct sem_ring *s = c->mem;
	size_t size = c->size;
	uint64_t mask = c->slots - 1, n = 0;
	unsigned char *buf = malloc(size);
	if (!buf)
		return side_fail(c, "out of memory");
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)i;
	side_ready(c);
	for (int more = 1; more;) {
		for (int i = 0; i < CHECK_EVERY; i++, n++) {
			stamp(buf, size, seq_word(0, n));
			if (sem_wait_retry(&s->empty))
				return side_fail(c, "sem_wait: %s", strerror(errno));
			memcpy(s->data + (n & mask) * size, buf, size);
			sem_post(&s->full);
		}
		more = side_running(c);
	}
	stamp(buf, size, SEQ_END);
	if (sem_wait_retry(&s->empty))
		return side_fail(c, "sem_wait: %s", strerror(errno));
	memcpy(s->data + (n & mask) * size, buf, size);
	sem_post(&s->full);
	side_done(c);
	c->res->msgs = n;
	free(buf);
	return 0;
}

static int sem_consumer(struct bctx *c)
{
	struct sem_ring *s = c->mem;
	size_t size = c->size;
	uint64_t mask = c->slots - 1;
	unsigned char *buf = malloc(size);
	if (!buf)
		return side_fail(c, "out of memory");
	struct checker chk = {.strict = 1};
	char err[160];
	side_ready(c);
	for (uint64_t n = 0;; n++) {
		if (sem_wait_retry(&s->full))
			return side_fail(c, "sem_wait: %s", strerror(errno));
		memcpy(buf, s->data + (n & mask) * size, size);
		sem_post(&s->empty);
		if (msg_word(buf) == SEQ_END)
			break;
		if (chk_msg(&chk, buf, size, size, err, sizeof(err)))
			return side_fail(c, "%s", err);
	}
	side_done(c);
	chk_report(c, &chk);
	free(buf);
	return 0;
}

const struct transport t_sem = {
	.name = "sem-shm",
	.what = "textbook: shm_open+mmap slots, sem_wait/sem_post (2 process-shared sems) per message",
	.kinds = TK_STREAM, .nprod = 1, .ncons = 1,
	.setup = sem_setup, .teardown = sem_teardown,
	.producer = sem_producer, .consumer = sem_consumer,
};
