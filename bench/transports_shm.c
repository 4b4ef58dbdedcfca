/* SPDX-License-Identifier: MIT */
/*
 * transports_shm.c - shared-memory transports: shmring (SPSC copy, burst,
 * zero-copy, sleep-at-once; the MPMC shapes 1x1, 1x4, 4x1, 2x2, 4x4), the
 * reference ring (ref_ring.h) and the textbook ring handed over with two
 * process-shared POSIX semaphores. Each supplies how to send, receive and
 * end a stream; msgloop.h runs the loops. Bursts and zero-copy keep their
 * native shape: a burst of 32 is built in place, leaves in one
 * send_burst() call (.batched) and arrives through one recv_burst()
 * (.chunked); a zero-copy message is built in the reserved slot (slot())
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
#include "transports.h"
#include "transports_shm.h"
#include "ref_loops.h"
#include "ref_ring.h"

/* ------------------------------------------------------------------ */
/* shmring                                                             */

int shm_create(struct bctx *c, const char *name, unsigned kind)
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

void shm_teardown(struct bctx *c)
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

/* the ring's futex calls (sleeps + wakes) and, at *memb, its membarrier()
 * calls so far: ring-wide counters, every handle's calls */
static uint64_t futex_count(struct shmring *r, uint64_t *memb)
{
	struct shmring_stats st;
	*memb = 0;
	if (shmring_stats(r, &st))
		return 0;
	*memb = st.membarriers;
	return st.full_waits + st.empty_waits + st.prod_wakes + st.cons_wakes;
}

/*
 * Streaming, shmring keeps the two loops the suite always ran, like the
 * reference ring: one producer and one consumer for copies, bursts and
 * zero-copy, the mode chosen by the case, stamping with the shared stamp()
 * and checking with the shared chk_msg(). These loops are the measurement:
 * a streaming ring runs full or runs empty depending on which side's loop
 * is a few cycles slower (msgloop.h), and the generic loops measured
 * shm-spsc 64 B 1.2x faster with the same library (a consumer loop a few
 * instructions shorter) and 3x faster when the compiler kept the 64-byte
 * copy's temporaries of shmring_send() in registers in the producer. Any
 * change here is a re-baseline of every x ref: measure it with
 * bench/ab.sh and say so in docs/benchmarks.md.
 */
enum shm_mode { SM_COPY, SM_BURST, SM_ZC };

static int shm_mode(const struct bctx *c)
{
	return c->burst > 1 ? SM_BURST : c->burst == 1 ? SM_ZC : SM_COPY;
}

/* attach as role, with the case's wait policy: 0, or -1 (side_fail called) */
int shm_attach(struct bctx *c, const char *name, int role, struct shmring **r)
{
	/* a ring passed as a descriptor (memfd) in fd[0], else by name */
	int rc = c->fd[0] >= 0 ? shmring_open_fd(c->fd[0], role, r) : shmring_open(name, role, r);
	if (rc)
		return side_fail(c, "shmring_open %s: %s", name, shmring_strerror(rc));
	if (c->spin_ns != INT64_MIN)
		shmring_set_spin(*r, c->spin_ns);
	return 0;
}

int shm_stream_producer(struct bctx *c)
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
		/* zero-copy: the message is built in place: the same copy of
		 * its bytes that send() makes (shmring__copy(), the library's
		 * inline copy; the C library's memcpy, called here until
		 * December 8, made 8 and 64 B zero-copy messages cost a call
		 * that send's do not: docs/benchmarks.md), then the stamps */
		do {
			for (int i = 0; i < CHECK_EVERY; i++, n++) {
				struct shmring_slot s;
				rc = shmring_reserve(r, &s, -1);
				if (rc)
					goto out;
				shmring__copy(s.data, buf, size);
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

int shm_stream_consumer(struct bctx *c)
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
	/* in order: one producer to one consumer (a fan-out's consumer counts as
	 * the one consumer of its stream: transport_bcast.c) */
	struct checker chk = {.strict = c->nprod == 1 && c->ncons == 1};
	char err[160];
	int mode = shm_mode(c), rc = 0;

	side_ready(c);
	uint64_t m0, f0 = futex_count(r, &m0);
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
	/* every consumer: the harness takes the widest window (the counters
	 * are the ring's) */
	uint64_t m1, f1 = futex_count(r, &m1);
	c->res->has_futex = 1;
	c->res->futex_calls = f1 - f0;
	c->res->membarriers = m1 - m0;
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

/* round trips: the shared ping/pong loops, copying send() and recv() */
struct shm_port {
	struct port port;
	struct shmring *r;
};

/* channel 0 is the ring name, channel 1 (the echo) name2 */
MSG_OP int shm_open_port(struct bctx *c, struct port *p, int chan, int dir)
{
	struct shm_port *e = (struct shm_port *)p;
	e->r = NULL;
	if (shm_attach(c, chan ? c->name2 : c->name,
	               dir == PORT_SEND ? SHMRING_PRODUCER : SHMRING_CONSUMER, &e->r))
		return -1;
	return port_init(c, p, dir, c->size);
}

MSG_OP void shm_close(struct port *p)
{
	shmring_close(((struct shm_port *)p)->r);
	port_fini(p);
}

MSG_OP int shm_send(struct port *p, const void *m, size_t len)
{
	return shmring_send(((struct shm_port *)p)->r, m, len, -1);
}

MSG_OP ssize_t shm_recv(struct port *p, unsigned char *buf, size_t size, const void **m)
{
	*m = buf;
	return shmring_recv(((struct shm_port *)p)->r, buf, size, -1);
}

MSG_OP int shm_end(struct port *p)
{
	return shmring_shutdown(((struct shm_port *)p)->r);
}

static const struct msg_ops shm_ops = {
	.open = shm_open_port, .close = shm_close, .send = shm_send, .end = shm_end,
	.recv = shm_recv, .why = shmring_strerror,
};
MSG_SIDES(shm, struct shm_port, shm_ops)

/* ping/pong (send/recv) only where the kinds include round trips */
#define SHM_T(ident, nm, desc, kinds_, np, nc, setup_, spin, burst_)              \
	const struct transport ident = {                                               \
		.name = nm, .what = desc, .kinds = kinds_, .nprod = np, .ncons = nc,       \
		.setup = setup_, .teardown = shm_teardown, .producer = shm_stream_producer, \
		.consumer = shm_stream_consumer, .spin_ns = spin, .burst = burst_,        \
		.ping = (kinds_) & TK_LATENCY ? shm_ping : NULL,                           \
		.pong = (kinds_) & TK_LATENCY ? shm_pong : NULL,                           \
		/* spin 0: every round trip sleeps and wakes through the kernel */        \
		.no_ref = (spin) == 0 ? TK_LATENCY : 0,                                    \
		/* in the broadcast tables: only shm-bcast-1x1's yardstick */              \
		.yardstick = (kinds_) & TK_BCAST,                                          \
	}

SHM_T(t_shm_spsc, "shm-spsc", "shmring SPSC send/recv, default wait (spin, then futex)",
      TK_STREAM | TK_LATENCY | TK_BCAST, 1, 1, shm_setup_spsc, INT64_MIN, 0);
SHM_T(t_shm_burst, "shm-burst32", "shmring SPSC send_burst/recv_burst, 32 per call",
      TK_STREAM, 1, 1, shm_setup_spsc, INT64_MIN, 32);
SHM_T(t_shm_burst256, "shm-burst256", "shmring SPSC send_burst/recv_burst, 256 per call",
      TK_STREAM, 1, 1, shm_setup_spsc, INT64_MIN, 256);
SHM_T(t_shm_zc, "shm-zc", "shmring SPSC zero-copy: reserve/commit, acquire/release",
      TK_STREAM, 1, 1, shm_setup_spsc, INT64_MIN, 1);
SHM_T(t_shm_sleep, "shm-sleep", "shmring SPSC send/recv, spin 0: futex sleep at once",
      TK_STREAM | TK_LATENCY, 1, 1, shm_setup_spsc, 0, 0);

/* the MPMC shapes: 1024 slots, like ref-vyukov's cells; every shape but 1x1
 * unpinned (the worker pool or collector in a container, NOTES.md) */
#define SHM_MPMC_T(ident, nm, desc, np, nc)                                            \
	const struct transport ident = {                                               \
		.name = nm, .what = desc, .kinds = TK_MPMC, .nprod = np, .ncons = nc,      \
		.setup = shm_setup_mpmc, .teardown = shm_teardown,                         \
		.producer = shm_stream_producer, .consumer = shm_stream_consumer,          \
		.spin_ns = INT64_MIN, .slots = MPMC_SLOTS, .unpinned = (np) * (nc) > 1,    \
		.family_what = "shmring MPMC ring, N producer x M consumer processes",      \
	}

SHM_MPMC_T(t_shm_mpmc11, "shm-mpmc-1x1", "shmring MPMC ring, 1 producer x 1 consumer, pinned", 1, 1);
SHM_MPMC_T(t_shm_mpmc14, "shm-mpmc-1x4", "shmring MPMC ring, 1 producer x 4 consumers, unpinned", 1, 4);
SHM_MPMC_T(t_shm_mpmc41, "shm-mpmc-4x1", "shmring MPMC ring, 4 producers x 1 consumer, unpinned", 4, 1);
SHM_MPMC_T(t_shm_mpmc22, "shm-mpmc-2x2", "shmring MPMC ring, 2 producers x 2 consumers, unpinned", 2, 2);
SHM_MPMC_T(t_shm_mpmc44, "shm-mpmc-4x4", "shmring MPMC ring, 4 producers x 4 consumers, unpinned", 4, 4);

/* ------------------------------------------------------------------ */
/* plain shared memory for the reference ring and the semaphore ring   */

int map_shared(struct bctx *c, size_t len)
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

void unmap_shared(struct bctx *c)
{
	if (c->mem)
		munmap(c->mem, c->mem_len);
	c->mem = NULL;
}

/* ---- the reference ring ---- */

REF_LOOPS(ref, struct ref_ring, ref_ring_bytes, ref_ring_attach, ref_ring_send, ref_ring_recv,
          ref_ring_finish)

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

MSG_OP int sem_put(struct port *p, const void *m, size_t len)
{
	struct sem_port *e = (struct sem_port *)p;
	if (sem_wait_retry(&e->s->empty))
		return -errno;
	memcpy(e->s->data + (e->pos++ & e->mask) * len, m, len);
	sem_post(&e->s->full);
	return 0;
}

MSG_OP int sem_end(struct port *p)
{
	return sem_put(p, end_mark(p), p->size);
}

MSG_OP ssize_t sem_get(struct port *p, unsigned char *buf, size_t size, const void **m)
{
	struct sem_port *e = (struct sem_port *)p;
	if (sem_wait_retry(&e->s->full))
		return -errno;
	memcpy(buf, e->s->data + (e->pos++ & e->mask) * size, size);
	sem_post(&e->s->empty);
	*m = buf;
	return or_end(buf, (ssize_t)size);
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
