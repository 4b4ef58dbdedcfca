/* SPDX-License-Identifier: MIT */
/*
 * transports_shm.c - shared-memory transports: shmring (SPSC copy, burst,
 * zero-copy, sleep-at-once; MPMC 1x1 and 2x2), the reference ring
 * (ref_ring.h) and the textbook ring handed over with two process-shared
 * POSIX semaphores. Each supplies how to send, receive and end a stream;
 * msgloop.h runs the loops. Bursts and zero-copy keep their native shape:
 * a burst of 32 is built in place and leaves in one send_burst() call
 * (.batched); a zero-copy message is built in the reserved slot (slot())
 * and checked in the acquired one.
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
#include "msgloop.h"
#include "ref_ring.h"

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

/* the wait policy in force: the set value, or the automatic decision once
 * one was made (-1: none yet), as shmring_info() reports it */
static int64_t spin_in_force(struct shmring *r)
{
	struct shmring_info in;
	return shmring_info(r, &in) == 0 ? in.spin_ns : -1;
}

struct shm_port {
	struct port port;
	struct shmring *r;
	unsigned burst, i, got;     /* burst: messages per call; handed out, received */
	struct iovec *iov;          /* burst: one per message at buf */
	struct shmring_slot s;      /* zero-copy: the slot reserved or acquired */
	uint64_t futex0;            /* consumer: futex calls before the start */
};

static uint64_t futex_count(struct shmring *r)
{
	struct shmring_stats st;
	if (shmring_stats(r, &st))
		return 0;
	return st.full_waits + st.empty_waits + st.prod_wakes + st.cons_wakes;
}

/* channel 0 is the ring name, channel 1 (the echo) name2 */
MSG_OP int shm_open_port(struct bctx *c, struct port *p, int chan, int dir)
{
	struct shm_port *e = (struct shm_port *)p;
	const char *name = chan ? c->name2 : c->name;
	e->burst = c->burst ? c->burst : 1;
	e->i = e->got = 0;
	e->futex0 = 0;
	e->iov = NULL;
	if (port_init(c, p, dir, e->burst * c->size))
		return -1;
	int rc = shmring_open(name, dir == PORT_SEND ? SHMRING_PRODUCER : SHMRING_CONSUMER, &e->r);
	if (rc)
		return side_fail(c, "shmring_open %s: %s", name, shmring_strerror(rc));
	if (c->spin_ns != INT64_MIN)
		shmring_set_spin(e->r, c->spin_ns);
	if (e->burst > 1) {
		p->every = p->batch = e->burst;
		e->iov = calloc(e->burst, sizeof(*e->iov));
		if (!e->iov)
			return side_fail(c, "out of memory");
		for (unsigned i = 0; i < e->burst; i++)
			e->iov[i] = (struct iovec){p->buf + i * c->size, c->size};
	}
	return 0;
}

MSG_OP void shm_go(struct port *p)
{
	struct shm_port *e = (struct shm_port *)p;
	e->futex0 = futex_count(e->r);
}

/* a consumer reports the wait policy and (the first one) the futex calls */
MSG_OP void shm_close(struct port *p)
{
	struct shm_port *e = (struct shm_port *)p;
	struct bctx *c = p->c;
	if (p->dir == PORT_RECV) {
		c->res->spin_ns = spin_in_force(e->r);
		if (c->my_id == 0) {
			c->res->has_futex = 1;
			c->res->futex_calls = futex_count(e->r) - e->futex0;
		}
	}
	shmring_close(e->r);
	free(e->iov);
	port_fini(p);
}

/* n: messages sent or received before the failing call */
static int shm_fail(struct bctx *c, const char *what, uint64_t n, int rc)
{
	return side_fail(c, "%s after %llu messages: %s", what, (unsigned long long)n,
	                 shmring_strerror(rc));
}

MSG_OP int shm_send(struct port *p, const void *m, size_t len, uint64_t n)
{
	int rc = shmring_send(((struct shm_port *)p)->r, m, len, -1);
	return rc ? shm_fail(p->c, "send", n, rc) : 0;
}

MSG_OP ssize_t shm_recv(struct port *p, const void **m, uint64_t n)
{
	ssize_t len = shmring_recv(((struct shm_port *)p)->r, p->buf, p->size, -1);
	*m = p->buf;
	if (len >= 0)
		return len;
	return len == -EPIPE ? MSG_END : shm_fail(p->c, "recv", n, (int)len);
}

MSG_OP int shm_end(struct port *p)
{
	shmring_shutdown(((struct shm_port *)p)->r);
	return 0;
}

/* bursts: the loop builds 32 messages at buf (the iovecs point there) */
MSG_OP int burst_send(struct port *p, const void *m, size_t len, uint64_t n)
{
	struct shm_port *e = (struct shm_port *)p;
	(void)m;
	(void)len;
	for (unsigned sent = 0; sent < e->burst;) {
		int rc = shmring_send_burst(e->r, e->iov + sent, e->burst - sent, -1);
		if (rc < 0)
			return shm_fail(p->c, "send", n + sent, rc);
		sent += (unsigned)rc;
	}
	return 0;
}

MSG_OP ssize_t burst_recv(struct port *p, const void **m, uint64_t n)
{
	struct shm_port *e = (struct shm_port *)p;
	while (e->i == e->got) {
		for (unsigned i = 0; i < e->burst; i++)
			e->iov[i] = (struct iovec){p->buf + i * p->size, p->size};
		int rc = shmring_recv_burst(e->r, e->iov, e->burst, -1);
		if (rc < 0)
			return rc == -EPIPE ? MSG_END : shm_fail(p->c, "recv", n, rc);
		e->got = (unsigned)rc;
		e->i = 0;
	}
	*m = e->iov[e->i].iov_base;
	return (ssize_t)e->iov[e->i++].iov_len;
}

/* zero-copy: the message is built in the reserved slot (the same copy of
 * its bytes that send() makes, then the stamps) and checked where it lies */
MSG_OP unsigned char *zc_slot(struct port *p)
{
	struct shm_port *e = (struct shm_port *)p;
	int rc = shmring_reserve(e->r, &e->s, -1);
	if (rc) {
		side_fail(p->c, "reserve: %s", shmring_strerror(rc));
		return NULL;
	}
	memcpy(e->s.data, p->buf, p->size);
	return e->s.data;
}

MSG_OP int zc_send(struct port *p, const void *m, size_t len, uint64_t n)
{
	struct shm_port *e = (struct shm_port *)p;
	int rc = shmring_commit(e->r, &e->s, len);
	(void)m;
	return rc ? shm_fail(p->c, "commit", n, rc) : 0;
}

MSG_OP ssize_t zc_recv(struct port *p, const void **m, uint64_t n)
{
	struct shm_port *e = (struct shm_port *)p;
	int rc = shmring_acquire(e->r, &e->s, -1);
	if (rc < 0)
		return rc == -EPIPE ? MSG_END : shm_fail(p->c, "acquire", n, rc);
	*m = e->s.data;
	return (ssize_t)e->s.len;
}

MSG_OP int zc_release(struct port *p)
{
	struct shm_port *e = (struct shm_port *)p;
	int rc = shmring_release(e->r, &e->s);
	return rc < 0 ? side_fail(p->c, "release: %s", shmring_strerror(rc)) : 0;
}

static const struct msg_ops shm_ops = {
	.open = shm_open_port, .close = shm_close, .send = shm_send, .end = shm_end,
	.recv = shm_recv, .go = shm_go,
};
static const struct msg_ops burst_ops = {
	.open = shm_open_port, .close = shm_close, .send = burst_send, .end = shm_end,
	.recv = burst_recv, .go = shm_go, .batched = 1,
};
static const struct msg_ops zc_ops = {
	.open = shm_open_port, .close = shm_close, .slot = zc_slot, .send = zc_send,
	.end = shm_end, .recv = zc_recv, .release = zc_release, .go = shm_go,
};
MSG_SIDES(shm, struct shm_port, shm_ops)
MSG_SIDES(burst, struct shm_port, burst_ops)
MSG_SIDES(zc, struct shm_port, zc_ops)

/* ping/pong (send/recv) only where the kinds include round trips */
#define SHM_T(ident, nm, desc, kinds_, np, nc, setup_, spin, burst_, pfx)         \
	const struct transport ident = {                                               \
		.name = nm, .what = desc, .kinds = kinds_, .nprod = np, .ncons = nc,       \
		.setup = setup_, .teardown = shm_teardown, .producer = pfx##_producer,    \
		.consumer = pfx##_consumer, .spin_ns = spin, .burst = burst_,             \
		.ping = (kinds_) & TK_LATENCY ? shm_ping : NULL,                           \
		.pong = (kinds_) & TK_LATENCY ? shm_pong : NULL,                           \
	}

SHM_T(t_shm_spsc, "shm-spsc", "shmring SPSC send/recv, default wait (spin, then futex)",
      TK_STREAM | TK_LATENCY, 1, 1, shm_setup_spsc, INT64_MIN, 0, shm);
SHM_T(t_shm_burst, "shm-burst32", "shmring SPSC send_burst/recv_burst, 32 per call",
      TK_STREAM, 1, 1, shm_setup_spsc, INT64_MIN, 32, burst);
SHM_T(t_shm_zc, "shm-zc", "shmring SPSC zero-copy: reserve/commit, acquire/release",
      TK_STREAM, 1, 1, shm_setup_spsc, INT64_MIN, 0, zc);
SHM_T(t_shm_sleep, "shm-sleep", "shmring SPSC send/recv, spin 0: futex sleep at once",
      TK_STREAM | TK_LATENCY, 1, 1, shm_setup_spsc, 0, 0, shm);
SHM_T(t_shm_mpmc11, "shm-mpmc-1x1", "shmring MPMC ring, 1 producer x 1 consumer process",
      TK_STREAM, 1, 1, shm_setup_mpmc, INT64_MIN, 0, shm);
SHM_T(t_shm_mpmc22, "shm-mpmc-2x2",
      "shmring MPMC ring, 2 producers (CPU A) x 2 consumers (CPU B)", TK_STREAM, 2, 2,
      shm_setup_mpmc, INT64_MIN, 0, shm);

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

struct ref_port {
	struct port port;
	struct ref_ring r;
};

static size_t ref_half(const struct bctx *c)
{
	return (ref_ring_bytes(c->slots, c->size) + 4095) & ~(size_t)4095;
}

static int ref_setup(struct bctx *c, int latency)
{
	return map_shared(c, ref_half(c) * (latency ? 2 : 1));
}

/* channel chan: the ring in half chan of the mapping */
MSG_OP int ref_open(struct bctx *c, struct port *p, int chan, int dir)
{
	ref_ring_attach(&((struct ref_port *)p)->r, (char *)c->mem + ref_half(c) * (size_t)chan,
	                c->slots, c->size);
	return port_init(c, p, dir, c->size);
}

MSG_OP int ref_send(struct port *p, const void *m, size_t len, uint64_t n)
{
	(void)n;
	ref_ring_send(&((struct ref_port *)p)->r, m, (uint32_t)len);
	return 0;
}

MSG_OP int ref_end(struct port *p)
{
	ref_ring_finish(&((struct ref_port *)p)->r);
	return 0;
}

MSG_OP ssize_t ref_recv(struct port *p, const void **m, uint64_t n)
{
	ssize_t len = ref_ring_recv(&((struct ref_port *)p)->r, p->buf);
	(void)n;
	*m = p->buf;
	return len < 0 ? MSG_END : len;
}

static const struct msg_ops ref_ops = {
	.open = ref_open, .close = port_fini, .send = ref_send, .end = ref_end, .recv = ref_recv,
};
MSG_SIDES(ref, struct ref_port, ref_ops)

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

struct sem_port {
	struct port port;
	struct sem_ring *s;
	uint64_t mask, pos;         /* slots - 1; the next slot this end uses */
};

MSG_OP int sem_open_port(struct bctx *c, struct port *p, int chan, int dir)
{
	struct sem_port *e = (struct sem_port *)p;
	(void)chan;
	e->s = c->mem;
	e->mask = c->slots - 1;
	e->pos = 0;
	return port_init(c, p, dir, c->size);
}

MSG_OP int sem_put(struct port *p, const void *m, size_t len, uint64_t n)
{
	struct sem_port *e = (struct sem_port *)p;
	(void)n;
	if (sem_wait_retry(&e->s->empty))
		return side_fail(p->c, "sem_wait: %s", strerror(errno));
	memcpy(e->s->data + (e->pos++ & e->mask) * len, m, len);
	sem_post(&e->s->full);
	return 0;
}

MSG_OP int sem_end(struct port *p)
{
	return sem_put(p, end_mark(p), p->size, 0);
}

MSG_OP ssize_t sem_get(struct port *p, const void **m, uint64_t n)
{
	struct sem_port *e = (struct sem_port *)p;
	(void)n;
	if (sem_wait_retry(&e->s->full))
		return side_fail(p->c, "sem_wait: %s", strerror(errno));
	memcpy(p->buf, e->s->data + (e->pos++ & e->mask) * p->size, p->size);
	sem_post(&e->s->empty);
	*m = p->buf;
	return or_end(p->buf, (ssize_t)p->size);
}

static const struct msg_ops sem_ops = {
	.open = sem_open_port, .close = port_fini, .send = sem_put, .end = sem_end,
	.recv = sem_get,
};
MSG_SIDES(sem, struct sem_port, sem_ops)

const struct transport t_sem = {
	.name = "sem-shm",
	.what = "textbook: shm_open+mmap slots, sem_wait/sem_post (2 process-shared sems) per message",
	.kinds = TK_STREAM, .nprod = 1, .ncons = 1,
	.setup = sem_setup, .teardown = sem_teardown,
	.producer = sem_producer, .consumer = sem_consumer,
};
