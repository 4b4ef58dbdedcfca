/* SPDX-License-Identifier: MIT */
/*
 * msgloop.h - the per-message loops, written once (the two rings' streaming
 * loops excepted, see below): the producer stamps and sends, the consumer
 * receives and checks, the ping client stamps, sends, receives, checks the
 * echo and records the round trip, the pong server echoes. A transport
 * supplies only struct msg_ops: attach an end (open), send one message,
 * receive one message, end the stream.
 *
 * The loops are static inline templates: MSG_SIDES() instantiates them in
 * the transport's own file with its ops, so each op is a direct call the
 * compiler inlines (shmring_send() stays the inline fast path it is for a
 * user), and an op the transport leaves NULL costs nothing.
 *
 * Which loops run where: these serve the kernel's IPC, the semaphore
 * ring, liburcu and every round trip. The two rings the suite is about,
 * the reference ring and shmring, stream through the loops they always
 * had (transports_shm.c), because a streaming ring's msgs/s depends on the
 * compiled loops to a degree no template can promise: a ring settles in
 * one of two states, running full (the sides work on different cache
 * lines) or running empty (every slot line bounces between the CPUs), and
 * the relative speed of the two sides' loops picks the state. With the
 * library unchanged, a few loads or a branch more per message moved
 * ref-ring 8 B by -22%, a consumer loop a few instructions shorter moved
 * shm-spsc 64 B by +20%, and the compiler keeping the 64-byte copy's
 * temporaries in registers in the producer moved it 3x (21 interleaved
 * reps each). Change a loop only with bench/ab.sh at hand.
 *
 * What a loop here does per message is the work the suite always did for
 * these transports: a producer stamps its id (read from the case) and
 * sequence number and sends, reading the clock every CHECK_EVERY
 * messages; a consumer receives into its buffer and calls chk_msg(). Native
 * batches stay: with .batched the producer stamps p->batch messages at
 * p->buf and hands them to one send() (one write of 64 KiB); a .chunked
 * receiver (a byte stream) returns as many whole messages as one read
 * brought, and the loop checks each of them. Queue-node transports build
 * each message where slot() says (a free node).
 */
#ifndef MSGLOOP_H
#define MSGLOOP_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "transport.h"

/* ---- message stamping and checking (msgloop.c) ---- */
static inline uint64_t seq_word(int id, uint64_t n)
{
	return ((uint64_t)id << SEQ_ID_SHIFT) | n;
}

static inline void stamp(void *msg, size_t size, uint64_t w)
{
	memcpy(msg, &w, sizeof(w));
	if (size >= 16)
		memcpy((char *)msg + size - 8, &w, sizeof(w));
}

/* the head word (to spot SEQ_END before checking) */
static inline uint64_t msg_word(const void *msg)
{
	uint64_t w;
	memcpy(&w, msg, sizeof(w));
	return w;
}

/* the tail word (the head word again below 16 bytes) */
static inline uint64_t msg_tail(const void *msg, size_t size)
{
	uint64_t w;
	memcpy(&w, (const char *)msg + (size >= 16 ? size - 8 : 0), sizeof(w));
	return w;
}

struct checker {
	int strict;                 /* 1x1, or each consumer of a fan-out (transport.fanout):
	                             * every id's sequence must be exactly next */
	uint64_t next[MAX_SIDE];
	uint64_t cnt[MAX_SIDE], sum[MAX_SIDE];
	uint64_t total;
};

/* 0 ok, -1 mismatch (err filled) */
int chk_msg(struct checker *k, const void *msg, size_t len, size_t size, char *err, size_t errlen);
void chk_report(struct bctx *c, const struct checker *k);

/* latency client: the round-trip samples */
struct lat_rec {
	uint64_t *ns;
	uint64_t n, cap;
	int recording;              /* warm-up over */
	double end;                 /* recording stops here */
};
int lat_init(struct bctx *c, struct lat_rec *l);
/* before round trip i: 1 go on, 0 stop. The first LAT_WARMUP round trips
 * (or 50 ms, whichever comes first) are not recorded; then it records for
 * the case's duration. */
int lat_step(struct bctx *c, struct lat_rec *l, uint64_t i);
static inline void lat_add(struct lat_rec *l, uint64_t ns)
{
	if (l->recording && l->n < l->cap)
		l->ns[l->n++] = ns;
}
void lat_finish(struct bctx *c, struct lat_rec *l);

#define CHECK_EVERY 64             /* messages between clock reads */

enum port_dir { PORT_SEND, PORT_RECV };

/* one end of a channel, first member of each transport's own port type */
struct port {
	struct bctx *c;
	size_t size;                /* message bytes */
	int dir;                    /* PORT_SEND / PORT_RECV */
	unsigned batch;             /* sender with .batched: messages per send() */
	unsigned char *buf;         /* sender: the message(s) it builds, filled with
	                             * a pattern; receiver: where messages land */
	size_t cap;                 /* bytes at buf */
};

/* Returns: 0 or a count on success, -errno (or the library's negative
 * code, see why) on failure, as the library calls do. */
struct msg_ops {
	/* attach p as the sender or receiver of channel chan (0: producer or
	 * client to consumer or server; 1: the echo back): 0, or -1 failed
	 * (side_fail called) */
	int (*open)(struct bctx *c, struct port *p, int chan, int dir);
	/* detach and free; a receiver of a measured ring reports its counters */
	void (*close)(struct port *p);
	/* sender: where to build the next message, *m, with the size bytes of
	 * payload copied in (NULL op: the loop builds it at p->buf) */
	int (*slot)(struct port *p, const unsigned char *payload, size_t size,
	            unsigned char **m);
	/* sender: send len bytes at m (from slot(), p->buf, or an echo; with
	 * .batched: the p->batch messages at p->buf) */
	int (*send)(struct port *p, const void *m, size_t len);
	/* sender: end of stream, after the last send */
	int (*end)(struct port *p);
	/* receiver: the next message of up to size bytes, copied to buf
	 * (p->buf) and *m pointed at it: its length (.chunked: of one or more
	 * whole messages), or -EPIPE at the end of the stream */
	ssize_t (*recv)(struct port *p, unsigned char *buf, size_t size, const void **m);
	/* the text of a negative return (NULL: strerror(-err)) */
	const char *(*why)(int err);
	int batched;                /* the producer sends p->batch messages per send() */
	int chunked;                /* recv() may return several messages */
};

#define MSG_INLINE static inline __attribute__((always_inline))
/* every op of a transport is MSG_OP: inlined into the loops, as a user's
 * call of shmring_send() would be */
#define MSG_OP MSG_INLINE

/* for open(): fill the common fields, allocate bytes at buf (a sender's
 * filled with a pattern): 0, or -1 (side_fail called). Inline, like the ops. */
MSG_INLINE int port_init(struct bctx *c, struct port *p, int dir, size_t bytes)
{
	p->c = c;
	p->size = c->size;
	p->dir = dir;
	p->batch = 1;
	p->cap = bytes;
	p->buf = calloc(1, bytes);
	if (!p->buf)
		return side_fail(c, "out of memory");
	/* a sender's payload: some bytes other than zeros (the stamps go on top) */
	for (size_t i = 0; dir == PORT_SEND && i < bytes; i++)
		p->buf[i] = (unsigned char)i;
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
	return msg_word(m) == SEQ_END ? -EPIPE : len;
}

MSG_INLINE int msg_fail(struct bctx *c, const struct msg_ops *o, const char *what,
                        uint64_t n, int err)
{
	return side_fail(c, "%s after %llu messages: %s", what, (unsigned long long)n,
	                 o->why ? o->why(err) : strerror(-err));
}

/* stream producer: sends for the case's duration, then ends the stream */
MSG_INLINE int msg_producer(struct bctx *c, struct port *tx, const struct msg_ops *o)
{
	if (o->open(c, tx, 0, PORT_SEND))
		return -1;
	unsigned char *buf = tx->buf, *m = buf;
	size_t size = c->size;
	uint64_t n = 0;
	int rc;
	side_ready(c);
	if (o->batched) {
		unsigned k = tx->batch;
		do {
			for (unsigned i = 0; i < k; i++)
				stamp(buf + i * size, size, seq_word(c->my_id, n + i));
			if ((rc = o->send(tx, buf, k * size)))
				goto out;
			n += k;
		} while (side_running(c));
	} else {
		do {
			for (int i = 0; i < CHECK_EVERY; i++, n++) {
				if (o->slot && (rc = o->slot(tx, buf, size, &m)))
					goto out;
				stamp(m, size, seq_word(c->my_id, n));
				if ((rc = o->send(tx, m, size)))
					goto out;
			}
		} while (side_running(c));
	}
	rc = o->end(tx);
out:
	c->res->msgs = n;
	if (rc)
		msg_fail(c, o, "send", n, rc);
	side_done(c);
	o->close(tx);
	return rc ? -1 : 0;
}

/* stream consumer: checks every message until the stream ends. After a
 * mismatch it drains the stream, so a sender never waits on a receiver
 * that gave up (the failure is recorded; the case fails). */
MSG_INLINE int msg_consumer(struct bctx *c, struct port *rx, const struct msg_ops *o)
{
	if (o->open(c, rx, 0, PORT_RECV))
		return -1;
	/* in order: one producer to one consumer, or to each of a fan-out's */
	struct checker chk = {.strict = c->nprod == 1 && (c->ncons == 1 || c->fanout)};
	char err[160];
	unsigned char *buf = rx->buf;
	size_t size = c->size;
	if (!buf)                   /* never (open() checked): one test less a message */
		return -1;
	const void *m = NULL;
	ssize_t len;
	side_ready(c);
	while ((len = o->recv(rx, buf, size, &m)) >= 0) {
		if (!o->chunked) {
			if (chk_msg(&chk, m, (size_t)len, size, err, sizeof(err)))
				goto bad;
		} else {
			/* each whole message of a read */
			for (size_t off = 0; off < (size_t)len; off += size)
				if (chk_msg(&chk, (const char *)m + off, size, size, err, sizeof(err)))
					goto bad;
		}
		continue;
bad:
		side_fail(c, "%s", err);
		chk.strict = 0;
	}
	side_done(c);
	if (len != -EPIPE)
		msg_fail(c, o, "receive", chk.total, (int)len);
	chk_report(c, &chk);
	o->close(rx);
	return c->res->failed ? -1 : 0;
}

/* round-trip client: one message in flight, every round trip recorded */
MSG_INLINE int msg_ping(struct bctx *c, struct port *tx, struct port *rx,
                        const struct msg_ops *o)
{
	struct lat_rec l;
	if (o->open(c, tx, 0, PORT_SEND) || o->open(c, rx, 1, PORT_RECV) || lat_init(c, &l))
		return -1;
	unsigned char *buf = tx->buf, *m = buf, *rbuf = rx->buf;
	size_t size = c->size;
	int rc = 0;
	side_ready(c);
	for (uint64_t n = 0; lat_step(c, &l, n); n++) {
		uint64_t w = seq_word(0, n), t0 = now_ns();
		if (o->slot && (rc = o->slot(tx, buf, size, &m)))
			break;
		stamp(m, size, w);
		if ((rc = o->send(tx, m, size)))
			break;
		const void *e = NULL;
		ssize_t len = o->recv(rx, rbuf, size, &e);
		uint64_t t1 = now_ns();
		if (len < 0) {
			rc = (int)len;
			break;
		}
		if ((size_t)len != size || msg_word(e) != w || msg_tail(e, size) != w) {
			side_fail(c, "round trip %llu: bad echo", (unsigned long long)n);
			break;
		}
		lat_add(&l, t1 - t0);
	}
	if (rc)
		msg_fail(c, o, "round trip", l.n, rc);
	o->end(tx);
	side_done(c);
	lat_finish(c, &l);
	o->close(tx);
	o->close(rx);
	return c->res->failed ? -1 : 0;
}

/* round-trip server: echoes each message until the client ends */
MSG_INLINE int msg_pong(struct bctx *c, struct port *rx, struct port *tx,
                        const struct msg_ops *o)
{
	if (o->open(c, rx, 0, PORT_RECV) || o->open(c, tx, 1, PORT_SEND))
		return -1;
	unsigned char *buf = rx->buf;
	const void *m = NULL;
	ssize_t len;
	int rc = 0;
	uint64_t n = 0;
	side_ready(c);
	while ((len = o->recv(rx, buf, c->size, &m)) >= 0) {
		if ((rc = o->send(tx, m, (size_t)len)))
			break;
		n++;
	}
	side_done(c);
	o->end(tx);
	if (rc || len != -EPIPE)
		msg_fail(c, o, "echo", n, rc ? rc : (int)len);
	o->close(rx);
	o->close(tx);
	return c->res->failed ? -1 : 0;
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
