/* SPDX-License-Identifier: MIT */
/*
 * msgloop.h - the per-message loops of every transport, written once:
 * the producer stamps and sends, the consumer receives and checks, the
 * ping client stamps, sends, receives, checks the echo and records the
 * round trip, the pong server echoes. A transport supplies only struct
 * msg_ops: attach an end (open), send one message, receive one message,
 * end the stream.
 *
 * The loops are static inline templates: MSG_SIDES() instantiates them in
 * the transport's own file with its ops, so each op is a direct call the
 * compiler inlines (shmring_send() stays the inline fast path it is for a
 * user). A loop that called the ops through pointers would add an
 * indirect call per message, which is most of a message at 8 bytes, and
 * would charge it to the shared-memory transports more than to the kernel
 * ones.
 *
 * Batching transports keep their native batches: with .batched the
 * producer loop stamps p->batch messages in place at p->buf and hands them
 * to one send() (one write of 64 KiB, one send_burst() of 32). Zero-copy
 * and queue-node transports build each message where slot() says (a
 * reserved ring slot, a free node). The loop's state lives in locals, so
 * the stamp stores (through unsigned char *) cannot force it to memory.
 */
#ifndef MSGLOOP_H
#define MSGLOOP_H

#include <stdlib.h>
#include "ipc_bench.h"

#define CHECK_EVERY 64             /* messages between clock reads */
#define MSG_END     (-2)           /* recv(): the stream ended */

enum port_dir { PORT_SEND, PORT_RECV };

/* one end of a channel, first member of each transport's own port type */
struct port {
	struct bctx *c;
	size_t size;                /* message bytes */
	int dir;                    /* PORT_SEND / PORT_RECV */
	unsigned every;             /* sender: messages between clock reads */
	unsigned batch;             /* sender with .batched: messages per send() */
	unsigned char *buf;         /* sender: the message(s) it builds, filled with
	                             * a pattern; receiver: where messages land */
	size_t cap;                 /* bytes at buf */
};

struct msg_ops {
	/* attach p as the sender or receiver of channel chan (0: producer or
	 * client to consumer or server; 1: the echo back): 0, or -1 failed */
	int (*open)(struct bctx *c, struct port *p, int chan, int dir);
	/* detach and free; a receiver of a measured ring reports its counters */
	void (*close)(struct port *p);
	/* sender: where to build the next message, NULL on failure (the op
	 * itself NULL: in p->buf) */
	unsigned char *(*slot)(struct port *p);
	/* sender: send m, len bytes (from slot(), p->buf, or an echo; with
	 * .batched: the p->batch messages at p->buf); n: messages sent before
	 * (for the error text); 0, or -1 failed */
	int (*send)(struct port *p, const void *m, size_t len, uint64_t n);
	/* sender: end of stream, after the last send: 0, or -1 failed */
	int (*end)(struct port *p);
	/* receiver: the next message in *m: its length, MSG_END, or -1 failed;
	 * n: messages received so far (for the error text) */
	ssize_t (*recv)(struct port *p, const void **m, uint64_t n);
	/* receiver, after checking *m (zero-copy: give the slot back; NULL: none) */
	int (*release)(struct port *p);
	/* receiver, as the clocks start (NULL: nothing to do) */
	void (*go)(struct port *p);
	int batched;                /* the producer sends p->batch messages per send() */
};

#define MSG_INLINE static inline __attribute__((always_inline))
/* every op of a transport is MSG_OP: inlined into the loops, as a user's
 * call of shmring_send() would be, so its port never leaves the loop's
 * frame and the compiler may keep it in registers (helpers that are not
 * inlined take the bctx or a descriptor, never the port) */
#define MSG_OP MSG_INLINE

/* for open(): fill the common fields, allocate bytes at buf (a sender's
 * filled with a pattern): 0, or -1 (side_fail called). Inline, like the ops. */
MSG_INLINE int port_init(struct bctx *c, struct port *p, int dir, size_t bytes)
{
	p->c = c;
	p->size = c->size;
	p->dir = dir;
	p->every = CHECK_EVERY;
	p->batch = 1;
	p->cap = bytes;
	p->buf = malloc(bytes);
	if (!p->buf)
		return side_fail(c, "out of memory");
	/* a sender's payload: some bytes other than zeros (the stamps go on
	 * top); a receiver's buffer touched now, not during the measurement */
	for (size_t i = 0; i < bytes; i++)
		p->buf[i] = dir == PORT_SEND ? (unsigned char)i : 0;
	return 0;
}

MSG_INLINE void port_fini(struct port *p)
{
	free(p->buf);
	p->buf = NULL;
}

/* the in-band end of stream, for transports without one of their own (POSIX
 * queues, the semaphore ring, the liburcu queue): a message whose head
 * word is SEQ_END. end_mark(): that message, at p->buf; or_end(): what
 * recv() returns for a message m of len bytes */
MSG_INLINE const void *end_mark(struct port *p)
{
	stamp(p->buf, p->size, SEQ_END);
	return p->buf;
}

MSG_INLINE ssize_t or_end(const void *m, ssize_t len)
{
	return msg_word(m) == SEQ_END ? MSG_END : len;
}

MSG_INLINE unsigned char *msg_slot(struct port *p, const struct msg_ops *o)
{
	return o->slot ? o->slot(p) : p->buf;
}

MSG_INLINE int msg_release(struct port *p, const struct msg_ops *o)
{
	return o->release ? o->release(p) : 0;
}

/* stream producer: sends for the case's duration, then ends the stream */
MSG_INLINE int msg_producer(struct bctx *c, struct port *tx, const struct msg_ops *o)
{
	if (o->open(c, tx, 0, PORT_SEND))
		return -1;
	unsigned char *buf = tx->buf, *m = buf;
	size_t size = c->size;
	unsigned batch = o->batched ? tx->batch : 1, every = tx->every;
	uint64_t id = seq_word(c->my_id, 0), n = 0;
	int rc = -1;
	side_ready(c);
	do {
		for (unsigned i = 0; i < every; i += batch) {
			for (unsigned j = 0; j < batch; j++, n++) {
				if (o->slot && !(m = o->slot(tx)))
					goto out;
				stamp(o->batched ? buf + j * size : m, size, id | n);
			}
			if (o->send(tx, m, batch * size, n - batch))
				goto out;
		}
	} while (side_running(c));
	rc = o->end(tx);
	side_done(c);
out:
	c->res->msgs = n;
	o->close(tx);
	return rc;
}

/* stream consumer: checks every message until the stream ends. After a
 * mismatch it drains the stream, so a sender never waits on a receiver
 * that gave up (the failure is recorded; the case fails). */
MSG_INLINE int msg_consumer(struct bctx *c, struct port *rx, const struct msg_ops *o)
{
	if (o->open(c, rx, 0, PORT_RECV))
		return -1;
	struct checker chk = {.strict = c->nprod == 1 && c->ncons == 1};
	char err[160];
	const void *m = NULL;
	ssize_t len;
	side_ready(c);
	if (o->go)
		o->go(rx);
	while ((len = o->recv(rx, &m, chk.total)) >= 0) {
		if (chk_msg(&chk, m, (size_t)len, c->size, err, sizeof(err))) {
			side_fail(c, "%s", err);
			chk.strict = 0;
		}
		if (msg_release(rx, o)) {
			len = -1;
			break;
		}
	}
	side_done(c);
	chk_report(c, &chk);
	o->close(rx);
	return len == MSG_END && !c->res->failed ? 0 : -1;
}

/* round-trip client: one message in flight, every round trip recorded */
MSG_INLINE int msg_ping(struct bctx *c, struct port *tx, struct port *rx,
                        const struct msg_ops *o)
{
	struct lat_rec l;
	if (o->open(c, tx, 0, PORT_SEND) || o->open(c, rx, 1, PORT_RECV) || lat_init(c, &l))
		return -1;
	size_t size = c->size;
	int rc = 0;
	side_ready(c);
	for (uint64_t n = 0; lat_step(c, &l, n); n++) {
		uint64_t w = seq_word(0, n), t0 = now_ns();
		unsigned char *m = msg_slot(tx, o);
		if (!m) {
			rc = -1;
			break;
		}
		stamp(m, size, w);
		const void *e = NULL;
		ssize_t len = o->send(tx, m, size, n) ? -1 : o->recv(rx, &e, n);
		uint64_t t1 = now_ns();
		if (len == -1) {
			rc = -1;
			break;
		}
		if ((size_t)len != size || msg_word(e) != w || msg_tail(e, size) != w) {
			rc = side_fail(c, "round trip %llu: bad echo", (unsigned long long)n);
			break;
		}
		if (msg_release(rx, o)) {
			rc = -1;
			break;
		}
		lat_add(&l, t1 - t0);
	}
	o->end(tx);
	side_done(c);
	lat_finish(c, &l);
	o->close(tx);
	o->close(rx);
	return rc;
}

/* round-trip server: echoes each message until the client ends */
MSG_INLINE int msg_pong(struct bctx *c, struct port *rx, struct port *tx,
                        const struct msg_ops *o)
{
	if (o->open(c, rx, 0, PORT_RECV) || o->open(c, tx, 1, PORT_SEND))
		return -1;
	const void *m = NULL;
	ssize_t len;
	uint64_t n = 0;
	side_ready(c);
	while ((len = o->recv(rx, &m, n)) >= 0)
		if (o->send(tx, m, (size_t)len, n++) || msg_release(rx, o)) {
			len = -1;
			break;
		}
	side_done(c);
	o->end(tx);
	o->close(rx);
	o->close(tx);
	return len == MSG_END ? 0 : -1;
}

/*
 * MSG_SIDES(pfx, type, ops) defines pfx_producer, pfx_consumer, pfx_ping
 * and pfx_pong, the entries of struct transport, for ports of the
 * transport's own type (which starts with struct port port).
 */
#define MSG_SIDES(pfx, type, ops)                                                    \
	static __attribute__((unused)) int pfx##_producer(struct bctx *c)                \
	{ type tx; return msg_producer(c, &tx.port, &ops); }                            \
	static __attribute__((unused)) int pfx##_consumer(struct bctx *c)                \
	{ type rx; return msg_consumer(c, &rx.port, &ops); }                            \
	static __attribute__((unused)) int pfx##_ping(struct bctx *c)                    \
	{ type tx, rx; return msg_ping(c, &tx.port, &rx.port, &ops); }                  \
	static __attribute__((unused)) int pfx##_pong(struct bctx *c)                    \
	{ type tx, rx; return msg_pong(c, &rx.port, &tx.port, &ops); }

#endif /* MSGLOOP_H */
