/* SPDX-License-Identifier: MIT */
/*
 * stress_worker.c - the two worker loops. A producer stores the range it is
 * about to send in the ledger before each call and its new next_seq after;
 * a consumer records every message it receives and, for zero-copy, which
 * one it holds. Each picks an API family at random for every call and
 * keeps its op in the ledger so a kill can be attributed. A worker runs as
 * a process or as a thread (stress_launch.c starts it).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "stress_internal.h"

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
		/* shmring_open() read the indices (acquire) through the handle's
		 * own mapping, an address TSan does not connect with the one
		 * every other thread writes: it saw no edge from the records
		 * published (and the slots freed) before this attach, and
		 * reported a consumer's first peek against the producer's write
		 * of that record (packed.c: put()/commit() vs peek()), found
		 * twice under load. The same acquires through the shared
		 * address give it the edge the hardware gives a real program */
		(void)shmring__load_acquire64(&r->hdr->prod_idx);
		(void)shmring__load_acquire64(&r->hdr->cons_idx);
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

static int open_role(struct wctx *w, struct shmring **r)
{
	int64_t give_up = stress_now_ns() + 5 * INT64_C(1000000000);
	for (;;) {
		int rc = shmring_open(w->name, w->producer ? SHMRING_PRODUCER : SHMRING_CONSUMER, r);
		if (rc == 0)
			return 0;
		led_count_err(w->L, rc);
		/* -EBUSY: the previous holder is not seen dead yet */
		if (rc != -EBUSY || stress_now_ns() > give_up) {
			led_fail(w->L, "%s %u: open: %s", st_role(w->producer), w->idx,
			         shmring_strerror(rc));
			return rc;
		}
		st_sleep_ns(1000000);
	}
}

/* op is OP_OPEN while attaching and detaching; the caller sets OP_IDLE */
static int attach(struct wctx *w, _Atomic uint32_t *op, struct shmring **r, struct mapsave *ms)
{
	atomic_store(op, OP_OPEN);
	if (open_role(w, r))
		return -1;
	share_map(*r, w->base, ms);
	if (st_rand(&w->rng) & 1)
		shmring_set_spin(*r, 0);   /* sleep at once: the blocking path */
	return 0;
}

static void detach(struct wctx *w, _Atomic uint32_t *op, struct shmring *r,
                   const struct mapsave *ms)
{
	atomic_store(op, OP_OPEN);
	if (w->producer)
		shmring_shutdown(r);
	unshare_map(r, ms);
	shmring_close(r);
	atomic_store(op, OP_IDLE);
}

/* buf holds MAX_BURST messages of slot_size bytes; iov is for the bursts */
static void producer(struct wctx *w, struct shmring *r, unsigned char *buf, struct iovec *iov)
{
	const struct st_cfg *cfg = w->cfg;
	struct ledger *L = w->L;
	struct led_prod *me = &L->p[w->idx];
	size_t ss = cfg->slot_size;
	int64_t T = cfg->timeout_ns;
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
			led_note_call(L, t0, T);
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
			led_note_call(L, t0, T);
		} else {                              /* reserve / commit */
			struct shmring_slot s;
			atomic_store(&me->attempt_end, seq + 1);
			atomic_store(&me->op, OP_RESERVE);
			t0 = stress_now_ns();
			rc = shmring_reserve(r, &s, T);
			led_note_call(L, t0, T);
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
							st_sleep_ns(60000000 + (int64_t)(x >> 40) % 60000000);
						else if (x % 64 == 0)
							st_sleep_ns((int64_t)(x >> 40) % 1000000);
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
			led_count_err(L, rc);
			if (rc == -EPIPE)
				st_sleep_ns(1000000);   /* every consumer gone: a replacement comes */
			else if (rc != -EAGAIN && rc != -ETIMEDOUT) {
				led_fail(L, "producer %u: %s", w->idx, shmring_strerror(rc));
				break;
			}
		}
	}
}

static void consumer(struct wctx *w, struct shmring *r, unsigned char *buf, struct iovec *iov)
{
	const struct st_cfg *cfg = w->cfg;
	struct ledger *L = w->L;
	struct led_cons *me = &L->c[w->idx];
	size_t ss = cfg->slot_size;
	int64_t last[ST_MAXP];
	int64_t T = cfg->timeout_ns;

	for (unsigned i = 0; i < ST_MAXP; i++)
		last[i] = -1;
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
			led_note_call(L, t0, T);
			if (n >= 0) {
				led_record(L, cfg, w->idx, buf, (size_t)n, last);
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
			led_note_call(L, t0, T);
			for (int i = 0; i < rc; i++)
				led_record(L, cfg, w->idx, iov[i].iov_base, iov[i].iov_len, last);
		} else {
			struct shmring_slot s;
			uint32_t prod;
			uint64_t seq;
			atomic_store(&me->op_n, 1);
			atomic_store(&me->op, OP_ACQUIRE);
			t0 = stress_now_ns();
			rc = shmring_acquire(r, &s, T);
			led_note_call(L, t0, T);
			if (rc == 0) {
				if (st_msg_check(s.data, s.len, &prod, &seq) == 0 && prod < ST_MAXP) {
					atomic_store(&me->held_prod, prod);
					atomic_store(&me->held_seq, seq);
					atomic_store(&me->held, 1);
				}
				led_record(L, cfg, w->idx, s.data, s.len, last);
				rc = shmring_release(r, &s);
				if (rc < 0)
					led_fail(L, "consumer %u: release: %s", w->idx, shmring_strerror(rc));
				atomic_store(&me->held, 0);
				rc = rc == 0 ? 1 : rc;
			}
		}
		atomic_store(&me->op, OP_IDLE);
		if (rc < 0) {
			led_count_err(L, rc);
			if (rc == -EPIPE) {
				/* drained and every producer gone: final once the
				 * supervisor says producers are done */
				if (atomic_load_explicit(&L->prod_done, memory_order_acquire))
					break;
				st_sleep_ns(1000000);
			} else if (rc != -EAGAIN && rc != -ETIMEDOUT) {
				led_fail(L, "consumer %u: %s", w->idx, shmring_strerror(rc));
				break;
			}
		}
	}
}

int st_worker_main(struct wctx *w)
{
	unsigned char *buf = malloc(w->cfg->slot_size * MAX_BURST);
	struct iovec iov[MAX_BURST];
	_Atomic uint32_t *op = led_op(w->L, w->producer, w->idx);
	struct shmring *r;
	struct mapsave ms;

	if (!buf)
		return 1;
	if (attach(w, op, &r, &ms)) {
		free(buf);
		return 1;
	}
	if (w->producer)
		producer(w, r, buf, iov);
	else
		consumer(w, r, buf, iov);
	detach(w, op, r, &ms);
	free(buf);
	return 0;
}
