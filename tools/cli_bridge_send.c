/* SPDX-License-Identifier: MIT */
/*
 * cli_bridge_send.c - ring -> ZeroMQ, the sending bridge: attach the ring
 * as a consumer, connect a PUSH socket, pack the ring's messages into
 * batches (cli_bridge_wire.c) and send each as one ZeroMQ message, without
 * a copy (zmq_msg_init_data). A batch goes as soon as the ring runs empty,
 * so a lone message is not held back, or when it holds BATCH_BYTES, or
 * BATCH_S after its first message (a ring that never quite runs empty).
 * At the end of the source stream, the end record says how it ended
 * (shmring_end_reason).
 * After the end message the sender waits for the receiver to close the
 * connection, which it does once the end is in its ring: the sender's exit
 * follows the end's arrival, and no timer guesses how long a queue takes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "cli_bridge.h"

#define BATCH_S 0.001   /* a batch goes this long after its first record */

/* the greeting or the end record: an empty frame, then its text */
static int send_end(struct link *l, const char *reason, uint64_t msgs, uint64_t bytes)
{
	char rec[END_MAX];
	int n = wire_end_record(rec, sizeof(rec), reason, msgs, bytes);
	int rc = link_send(l, "", 0, ZMQ_SNDMORE);
	return rc < 0 ? rc : link_send(l, rec, (size_t)n, 0);
}

/* the batch being filled: records (4-byte LE length, bytes) in buf, which
 * has room for one more whole record past BATCH_BYTES */
struct batch {
	unsigned char *buf;
	size_t cap, len;
	uint64_t msgs, bytes;   /* records in it, their payload bytes */
	double t0;              /* when its first record came */
};

/* ZeroMQ's I/O thread frees a batch once it is written out */
static void batch_free(void *data, void *hint)
{
	(void)hint;
	free(data);
}

/* send the batch (if any) and start a new one; 0 and *msgs, *bytes
 * advanced, -ENOMEM, or link_send's errors */
static int batch_flush(struct link *l, struct batch *b, uint64_t *msgs, uint64_t *bytes)
{
	if (b->msgs == 0)
		return 0;
	zmq_msg_t m;
	if (zmq_msg_init_data(&m, b->buf, b->len, batch_free, NULL) < 0)
		return -errno;
	b->buf = NULL;   /* ZeroMQ's now, even if the send fails */
	int rc = 0;
	while (zmq_msg_send(&m, l->sock, 0) < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			break;
		}
		link_events(l);
		if (l->broken) {
			rc = -ECONNRESET;
			break;
		}
		if (cli_stop) {
			rc = -EINTR;
			break;
		}
	}
	if (rc < 0) {
		zmq_msg_close(&m);
		return rc;
	}
	*msgs += b->msgs;
	*bytes += b->bytes;
	b->len = 0;
	b->msgs = b->bytes = 0;
	if (!(b->buf = malloc(b->cap)))
		return -ENOMEM;
	return 0;
}

int bridge_send(const char *name, const char *ep, const struct bridge_opts *o)
{
	struct link l;   /* first: a bad endpoint is told at once */
	int ret = link_open(&l, ZMQ_PUSH, ep, o, -1);
	if (ret != EX_OK)
		return ret;
	struct shmring *r;
	int rc = cli_open_consumer(name, o->wait_s, &r);
	if (rc < 0) {
		link_close(&l, 0);
		return rc == -EINTR ? EX_SIGNAL : cli_fail_ring(name, NULL, rc);
	}
	shmring_set_spin(r, o->spin_ns);
	if (cli_stream_begin(r) < 0) {
		link_close(&l, 0);
		shmring_close(r);
		return EX_SIGNAL;
	}

	uint64_t msgs = 0, bytes = 0, bad = 0, overruns0, seen = 0;
	size_t cap;
	/* overwrite-oldest rings: a message is copied out with recv (read in
	 * place it could be overwritten meanwhile), straight into the batch;
	 * copy only says so */
	void *copy = cli_msg_buffer(r, &cap, &overruns0);
	struct shmring_info info;
	shmring_info(r, &info);
	struct batch b = { .cap = BATCH_MAX(info.slot_size) };
	b.buf = malloc(b.cap);
	if (!b.buf) {
		rc = -ENOMEM;
		ret = cli_fail(name, rc);
		rc = -EIO;
	} else {
		rc = send_end(&l, "hello", 0, 0);   /* the version, first of all */
	}
	while (rc == 0) {
		struct shmring_slot s;
		unsigned char *dst = b.buf + b.len + REC_HDR;
		rc = cli_msg_next(r, &s, copy ? dst : NULL, info.slot_size, 0);
		if (rc == -EAGAIN && b.msgs) {
			/* the ring ran empty: what we have goes out now */
			rc = batch_flush(&l, &b, &msgs, &bytes);
			if (rc == 0)
				continue;
			break;
		} else if (rc == -EAGAIN) {
			/* nothing to send: look at the link before sleeping */
			link_events(&l);
			if (l.broken) {
				rc = -ECONNRESET;
				break;
			}
			if (cli_stop) {
				rc = -EINTR;
				break;
			}
			rc = cli_msg_next(r, &s, copy ? dst : NULL, info.slot_size, CLI_SLICE_NS);
		}
		if (rc == -ETIMEDOUT || rc == -EAGAIN) {
			rc = 0;
			continue;
		}
		if (rc == -EBADMSG) {   /* skipped by the library; told at the end */
			bad++;
			rc = 0;
			continue;
		}
		if (rc == -EPIPE) {   /* the end of the source stream: flush, then end */
			rc = batch_flush(&l, &b, &msgs, &bytes);
			if (rc == 0)
				rc = -EPIPE;
			break;
		}
		if (rc < 0) {
			if (rc != -ECONNRESET && rc != -EINTR) {
				ret = cli_fail(name, rc);
				rc = -EIO;    /* reported */
			}
			break;
		}
		uint32_t len = (uint32_t)s.len;
		wire_rec_put(b.buf + b.len, len);
		if (s.data != dst)
			memcpy(dst, s.data, len);
		cli_msg_done(r, &s, copy);
		if (b.msgs++ == 0)
			b.t0 = cli_now();
		b.len += REC_HDR + len;
		b.bytes += len;
		seen++;
		if (b.len >= BATCH_BYTES || ((seen & 63) == 0 && cli_now() - b.t0 >= BATCH_S))
			rc = batch_flush(&l, &b, &msgs, &bytes);
		/* a receiver that died is found when the queue fills, or here */
		if (rc == 0 && (seen & 1023) == 0) {
			link_events(&l);
			if (l.broken)
				rc = -ECONNRESET;
		}
		if (rc == 0 && cli_stop)
			rc = -EINTR;
	}
	if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET && rc != -EINTR && rc != -EIO) {
		cli_err(ep, "sending: %s", zmq_strerror(-rc));
		ret = EX_FAIL;
		rc = -EIO;
	}

	struct shmring_stats lst;
	if (copy && shmring_stats(r, &lst) == 0 && lst.overruns != overruns0)
		cli_err(name, "warning: %llu message(s) lost: overwritten before they were read "
		        "(overwrite-oldest ring); the others went out intact, in order",
		        (unsigned long long)(lst.overruns - overruns0));
	free(copy);
	free(b.buf);

	int linger = 0;
	if (rc == -EPIPE) {
		/* how the source stream ended, as the library says; passed on */
		const char *why;
		int end = cli_stream_end(r, &why);
		const char *reason = wire_end_word(end);
		ret = EX_OK;
		if (bad) {
			cli_err(name, "%llu corrupt message(s) skipped", (unsigned long long)bad);
			reason = "corrupt";
			ret = EX_PROTO;
		} else if (why) {
			cli_err(name, "warning: %s", why);
			ret = EX_TRUNCATED;
		}
		rc = send_end(&l, reason, msgs, bytes);
		/* the receiver closes the connection once the end is in its
		 * ring (or it died: then its ring tells, without a shutdown) */
		while (rc == 0 && !l.broken) {
			if (cli_stop)
				rc = -EINTR;
			else
				link_wait(&l, 0, CLI_SLICE_NS / 1000000);
		}
	} else if (rc == -EINTR) {
		/* tell the receiver at once (what is still in the batch is not
		 * sent); if the end cannot go out within a second, the closed
		 * connection tells it */
		zmq_send(l.sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
		char rec[END_MAX];
		int n = wire_end_record(rec, sizeof(rec), "interrupted", msgs, bytes);
		zmq_send(l.sock, rec, (size_t)n, ZMQ_DONTWAIT);
		linger = 1000;
	}
	if (rc == -EINTR) {
		ret = EX_SIGNAL;
	} else if (rc == -ECONNRESET) {
		cli_err(ep, "the receiving side went away (connection lost) after %llu "
		        "message(s); the rest of the stream was not sent",
		        (unsigned long long)msgs);
		ret = EX_NOPEER;
	}
	link_close(&l, linger);
	shmring_close(r);
	return ret;
}

