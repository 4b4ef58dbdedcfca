/* SPDX-License-Identifier: MIT */
/*
 * transport_urcu.c - the in-process anchor: liburcu's wait-free concurrent
 * queue (wfcqueue) between two threads of one process, pinned like the
 * processes of the other cases.
 *
 * Used as its experts would: the inline (_LGPL_SOURCE) fast paths, the
 * lock-free __cds_wfcq head (each queue has exactly one dequeuer, so no
 * dequeue mutex), and a fixed pool of preallocated nodes recycled through a
 * second queue, which bounds memory like a ring of the same capacity
 * (an unbounded queue would let the producer run away from the consumer).
 * Both threads busy-poll.
 */
#define _LGPL_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <urcu/wfcqueue.h>
#include "ipc_bench.h"
#include "ref_ring.h"   /* ref_pause() */

struct wq {
	_Alignas(128) struct __cds_wfcq_head head;
	_Alignas(128) struct cds_wfcq_tail tail;
};

struct unode {
	struct cds_wfcq_node node;
	size_t len;
	_Alignas(16) unsigned char data[];
};

struct urcu_run {
	struct wq full, free_q;
	struct bctx prod, cons;
};

static struct unode *take(struct wq *q)
{
	struct cds_wfcq_node *n;
	while (!(n = __cds_wfcq_dequeue_blocking(&q->head, &q->tail)))
		ref_pause();
	return caa_container_of(n, struct unode, node);
}

static void *urcu_consumer(void *arg)
{
	struct urcu_run *u = arg;
	struct bctx *c = &u->cons;
	size_t size = c->size;
	unsigned char *buf = malloc(size);
	struct checker chk = {.strict = 1};
	char err[160];
	if (!buf) {
		side_fail(c, "out of memory");
		return NULL;
	}
	side_ready(c);
	for (;;) {
		struct unode *m = take(&u->full);
		memcpy(buf, m->data, m->len);
		size_t len = m->len;
		cds_wfcq_node_init(&m->node);
		cds_wfcq_enqueue(&u->free_q.head, &u->free_q.tail, &m->node);
		if (msg_word(buf) == SEQ_END)
			break;
		if (chk_msg(&chk, buf, len, size, err, sizeof(err))) {
			side_fail(c, "%s", err);
			/* keep draining so the producer is not left waiting */
			chk.strict = 0;
		}
	}
	side_done(c);
	chk_report(c, &chk);
	free(buf);
	return NULL;
}

static int urcu_run_threads(struct bctx *c, struct side_result *pr, struct side_result *cr)
{
	struct urcu_run *u = aligned_alloc(128, (sizeof(*u) + 127) & ~(size_t)127);
	size_t nsz = (sizeof(struct unode) + c->size + 63) & ~(size_t)63;
	unsigned char *pool = aligned_alloc(64, nsz * c->slots);
	if (!u || !pool)
		return side_fail(c, "out of memory");
	memset(pool, 0, nsz * c->slots);
	__cds_wfcq_init(&u->full.head, &u->full.tail);
	__cds_wfcq_init(&u->free_q.head, &u->free_q.tail);
	for (uint64_t i = 0; i < c->slots; i++) {
		struct unode *m = (struct unode *)(pool + i * nsz);
		cds_wfcq_node_init(&m->node);
		cds_wfcq_enqueue(&u->free_q.head, &u->free_q.tail, &m->node);
	}
	u->prod = *c;
	u->prod.res = pr;
	u->prod.my_cpu = c->cpu_prod;
	u->cons = *c;
	u->cons.res = cr;
	u->cons.my_cpu = c->cpu_cons;
	pr->used = cr->used = 1;

	pthread_t th;
	if (pthread_create(&th, NULL, urcu_consumer, u))
		return side_fail(c, "pthread_create failed");

	struct bctx *p = &u->prod;
	size_t size = c->size;
	unsigned char *buf = malloc(size);
	if (!buf)
		return side_fail(p, "out of memory");
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)i;
	uint64_t n = 0;
	side_ready(p);
	do {
		for (int i = 0; i < 64; i++, n++) {
			struct unode *m = take(&u->free_q);
			memcpy(m->data, buf, size);
			stamp(m->data, size, seq_word(0, n));
			m->len = size;
			cds_wfcq_node_init(&m->node);
			cds_wfcq_enqueue(&u->full.head, &u->full.tail, &m->node);
		}
	} while (side_running(p));
	struct unode *m = take(&u->free_q);
	stamp(m->data, size, SEQ_END);
	m->len = size;
	cds_wfcq_node_init(&m->node);
	cds_wfcq_enqueue(&u->full.head, &u->full.tail, &m->node);
	side_done(p);
	pr->msgs = n;
	pthread_join(th, NULL);
	free(buf);
	free(pool);
	free(u);
	return pr->failed || cr->failed ? -1 : 0;
}

static int urcu_setup(struct bctx *c, int latency)
{
	(void)c;
	(void)latency;
	return 0;
}

static void urcu_teardown(struct bctx *c)
{
	(void)c;
}

const struct transport t_urcu = {
	.name = "urcu-wfcq",
	.what = "in-process anchor: liburcu wfcqueue between two threads, node pool, busy-poll",
	.kinds = TK_STREAM, .nprod = 1, .ncons = 1, .threads = 1,
	.setup = urcu_setup, .teardown = urcu_teardown, .run_threads = urcu_run_threads,
};
