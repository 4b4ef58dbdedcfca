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
 * Both threads busy-poll. The threads run the loops of msgloop.h like the
 * processes of the other transports.
 */
#define _LGPL_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <urcu/wfcqueue.h>
#include "msgloop.h"
#include "transports.h"
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

/* each thread's end; c->mem is the struct urcu_run */
struct urcu_port {
	struct port port;
	struct urcu_run *u;
	struct unode *cur;          /* sender: the node being built */
};

MSG_OP int urcu_open(struct bctx *c, struct port *p, int chan, int dir)
{
	(void)chan;
	((struct urcu_port *)p)->u = c->mem;
	return port_init(c, p, dir, c->size);
}

/* a free node, holding the payload */
MSG_OP int urcu_slot(struct port *p, const unsigned char *payload, size_t size,
                     unsigned char **m)
{
	struct urcu_port *e = (struct urcu_port *)p;
	e->cur = take(&e->u->free_q);
	memcpy(e->cur->data, payload, size);
	*m = e->cur->data;
	return 0;
}

MSG_OP int urcu_send(struct port *p, const void *m, size_t len)
{
	struct urcu_port *e = (struct urcu_port *)p;
	(void)m;
	e->cur->len = len;
	cds_wfcq_node_init(&e->cur->node);
	cds_wfcq_enqueue(&e->u->full.head, &e->u->full.tail, &e->cur->node);
	return 0;
}

/* the end mark, copied into a node like any message */
MSG_OP int urcu_end(struct port *p)
{
	unsigned char *m;
	urcu_slot(p, end_mark(p), p->size, &m);
	return urcu_send(p, m, p->size);
}

/* copied out, and the node goes back to the pool at once */
MSG_OP ssize_t urcu_recv(struct port *p, unsigned char *buf, size_t size, const void **m)
{
	struct urcu_port *e = (struct urcu_port *)p;
	struct unode *q = take(&e->u->full);
	size_t len = q->len;
	(void)size;
	memcpy(buf, q->data, len);
	cds_wfcq_node_init(&q->node);
	cds_wfcq_enqueue(&e->u->free_q.head, &e->u->free_q.tail, &q->node);
	*m = buf;
	return or_end(buf, (ssize_t)len);
}

static const struct msg_ops urcu_ops = {
	.open = urcu_open, .close = port_fini, .slot = urcu_slot, .send = urcu_send,
	.end = urcu_end, .recv = urcu_recv,
};
MSG_SIDES(urcu, struct urcu_port, urcu_ops)

static void *urcu_consumer_thread(void *arg)
{
	struct urcu_run *u = arg;
	urcu_consumer(&u->cons);
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
	u->prod.mem = u;
	u->cons = *c;
	u->cons.res = cr;
	u->cons.my_cpu = c->cpu_cons;
	u->cons.mem = u;
	pr->used = cr->used = 1;

	pthread_t th;
	if (pthread_create(&th, NULL, urcu_consumer_thread, u))
		return side_fail(c, "pthread_create failed");
	urcu_producer(&u->prod);
	pthread_join(th, NULL);
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
