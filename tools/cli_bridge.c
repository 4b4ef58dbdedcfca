/* SPDX-License-Identifier: MIT */
/*
 * cli_bridge.c - `shmring bridge FROM TO`: a ring on one side, a ZeroMQ
 * endpoint (tcp://, ipc://) on the other, so that a ring on one host feeds a
 * ring on another (SPEC section 8, issue 14 part 2).
 *
 * ring -> ZeroMQ (the sender): attach the ring as a consumer, connect a PUSH
 * socket to TO, pack the ring's messages into batches (one ZeroMQ message
 * each) and send them.
 * ZeroMQ -> ring (the receiver): bind a PULL socket on FROM, attach the ring
 * as its producer (created like push does when missing), unpack each batch
 * into it with send_burst. Backpressure is ZeroMQ's high-water mark on one
 * side and the ring's blocking send on the other.
 *
 * Why batches: one ZeroMQ message per ring message made the two bridges
 * cost about twice a plain PUSH/PULL pair's CPU per message (zmq_send and
 * zmq_msg_recv, their queues and wake-ups, per message), and on a small
 * machine the bridges share the CPUs with the ring's producer and consumer.
 * A batch carries up to BATCH_BYTES of messages; the sender sends it as soon
 * as the ring runs empty, so a lone message is not held back, or when it is
 * full, or BATCH_S after its first message (a ring that never quite runs
 * empty). The batch is handed to ZeroMQ without a copy (zmq_msg_init_data).
 *
 * Wire format, version 2 (version 1 sent each message as it was):
 *   hello a two-part message, first of all: an empty frame, then the text
 *         "shmring-bridge 2 end hello 0 0". It has the end record's shape so
 *         that a version-1 receiver refuses it saying which version came;
 *         a receiver of this version refuses a first message that is not
 *         this (a version-1 sender's data or end) the same way.
 *   data  a single-part message, a batch: records one after the other, each
 *         a 4-byte little-endian length then that many bytes, one record per
 *         ring message, in order. A batch whose records do not exactly fill
 *         it is refused (exit 6) before any of it enters the ring.
 *   end   a two-part message: an empty frame, then the text
 *         "shmring-bridge 2 end REASON MESSAGES BYTES", REASON one of
 *           clean        the source stream was shut down
 *                        (shmring_end_reason: SHMRING_END_CLEAN)
 *           aborted      a producer aborted it (SHMRING_END_ABORTED:
 *                        shmring push interrupted, or its input failed)
 *           died         a producer died or closed without a shutdown
 *                        (SHMRING_END_DIED); senders before end reasons
 *                        said "truncated", which receivers still take
 *           corrupt      corrupt messages were skipped in the source ring
 *           interrupted  the sender was stopped by a signal
 *           unknown      the sender could not tell (a new stream began on
 *                        its ring at once)
 *         and MESSAGES, BYTES the ring messages (records) sent before it.
 *         A receiver takes a REASON it does not know as an incomplete
 *         stream, so adding one needs no new version.
 * The receiver shuts its ring down (pop there exits 0) only on a clean end
 * whose counts match what it received. Otherwise (any other REASON, counts
 * that differ, a broken connection, a refused message, a signal) it aborts
 * its ring (shmring_abort), so that pop there exits 13, and exits non-zero.
 *
 * Sizes: a sender ends a batch once it holds BATCH_BYTES, so a batch is
 * shorter than BATCH_BYTES + REC_HDR + the largest record (BATCH_MAX); a
 * record longer than the receiver's slot size is refused anyway. The
 * receiver sets ZMQ_MAXMSGSIZE to BATCH_MAX of its ring's slot size:
 * ZeroMQ drops the connection of a bigger message when its size arrives,
 * before allocating it, so a peer cannot make the receiver hold more than
 * about --hwm such batches. ZeroMQ gives no reason for the drop; the
 * receiver says that a lost connection may be this.
 *
 * Failure detection: each socket has a monitor. The connection that
 * completed the handshake closing before the end (a peer killed: the kernel
 * closes its sockets) breaks the stream for good: ZeroMQ would reconnect and
 * carry on, and whatever was in flight would be lost without a word. A
 * connection that opens after it and closes (a port scan) is not the stream
 * and is ignored; a second handshake (a second sender) breaks the stream. A peer host that vanishes is found by TCP keepalive and
 * TCP_USER_TIMEOUT (--peer-timeout), which the peer's kernel answers even
 * while its bridge is stalled by backpressure. ZMTP heartbeats are not used:
 * a receiver at its high-water mark stops reading, its peer's pings go
 * unanswered, and the connection is dropped and silently re-made.
 * After the end message the sender waits for the receiver to close the
 * connection, which it does once the end is in its ring: the sender's exit
 * follows the end's arrival, and no timer guesses how long a queue takes.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "cli.h"

static const char bridge_usage[] =
"Usage: shmring bridge [OPTIONS] FROM TO\n"
"Carry a stream of messages between a ring and a ZeroMQ endpoint, so that a\n"
"ring on one host feeds a ring on another:\n"
"  host A$ shmring bridge /frames tcp://hostB:5555     (ring -> ZeroMQ)\n"
"  host B$ shmring bridge tcp://*:5555 /frames         (ZeroMQ -> ring)\n"
"\n"
"One of FROM and TO is a ring (a shm name, or a file path when it has a '/'\n"
"after its first character), the other a ZeroMQ endpoint, tcp://HOST:PORT or\n"
"ipc://PATH. From a ring, the bridge attaches as a consumer and connects a\n"
"PUSH socket to TO; into a ring, it binds a PULL socket on FROM and attaches\n"
"as the producer, creating the ring when it is missing. Ring messages travel\n"
"in batches, many to a ZeroMQ message (a batch goes as soon as the ring runs\n"
"empty): boundaries and bytes are carried exactly. So is the end of the\n"
"stream, and how it ended: a stream shut down upstream is shut down\n"
"downstream (pop there exits 0); one aborted upstream (push interrupted, its\n"
"input failed) or whose producer died there is aborted downstream (pop there\n"
"exits 13). Both bridges must speak the same version of the wire format. A\n"
"broken stream (a bridge or host that dies, a message larger than the\n"
"largest batch for the ring's slot size) makes the receiving bridge exit 13\n"
"and abort its ring, so that pop there exits 13 too.\n"
"\n"
"Options:\n"
"  -w, --wait SECONDS   ring -> ZeroMQ: how long to wait for the ring to be\n"
"                       created (default 10; 0: fail at once; 'inf': forever)\n"
"      --hwm N          ZeroMQ high-water mark in batches of up to 256 KiB\n"
"                       (default 64; 0: no limit)\n"
"      --peer-timeout SECONDS  tcp://: a peer whose host goes silent counts\n"
"                       as gone after about this long (default 30; 0: never)\n"
"      --no-create      ZeroMQ -> ring: fail if the ring does not exist\n"
"      --spin NS        spin this many ns before sleeping on the ring (default\n"
"                       0: sleep at once, which leaves the CPU to the ring's\n"
"                       other end)\n"
"  ring options, used only when the bridge creates the ring (see shmring create):\n"
"      --kind spsc|mpmc --slots N (64) --slot-size BYTES (64K)\n"
"      --mode OCTAL (0600) --prefault --hugepages --mlock --overwrite\n"
"      --file               the ring argument is a file path even without a '/'\n"
"  -h, --help           show this help\n"
"\n"
"Exit status: 0 the whole stream was carried and had been shut down; 3 no such\n"
"ring; 6 a message not in the bridge's format (or in another version of it),\n"
"or corrupt messages skipped; 7 the ring's role is held by a live process;\n"
"8 the far side went away (the receiving bridge, or every consumer of the\n"
"ring) before the end; 9 a message longer than the ring's slot size; 13 the\n"
"stream is incomplete (it was not shut down upstream: aborted, or a producer\n"
"died; or the sending side went away, or sent a message too large); 14 the\n"
"endpoint cannot be bound or connected; 130 interrupted; see shmring(1).\n";

#define END_MAGIC   "shmring-bridge"
#define END_VERSION 2u              /* of the whole wire format */
#define END_MAX     128             /* longest end record */
#define REC_HDR     4u              /* a record's length: 4 bytes, LE */
#define BATCH_BYTES (256u * 1024)   /* a batch is sent once this full */
/* the largest batch: short of BATCH_BYTES before its last record, which
 * is at most slot_size bytes (the receiver's, for a batch it can take) */
#define BATCH_MAX(slot_size) ((uint64_t)BATCH_BYTES + REC_HDR + (slot_size))
#define BATCH_S     0.001           /* or this long after its first record */
#define BURST       256u            /* records per send_burst */
#define DRAIN_S     0.3             /* receiver: what is in flight after a
                                     * lost connection lands within this */

struct bridge_opts {
	struct cli_ring_opts ro;
	int create;                     /* ZeroMQ -> ring: create a missing ring */
	double wait_s;                  /* ring -> ZeroMQ: wait for the ring */
	int hwm;                        /* ZMQ_SNDHWM / ZMQ_RCVHWM, in batches */
	int peer_timeout_s;             /* TCP keepalive + TCP_USER_TIMEOUT */
	int64_t spin_ns;                /* the ring handle's spin budget: 0 by
	                                 * default, since a bridge shares the
	                                 * CPUs with the ring's other end and
	                                 * with ZeroMQ's I/O thread, and a batch
	                                 * makes a wake-up rare */
};

/* ------------------------------------------------- the ZeroMQ side */

/* one socket, its monitor, and what the monitor has told so far */
#define LINK_CONNS 32
struct link {
	void *ctx, *sock, *mon;
	const char *ep;
	int bound;         /* PULL: bound on ep */
	int shaken;        /* handshakes completed */
	int broken;        /* sticky: the stream's connection closed, or a
	                    * second peer completed a handshake */
	unsigned nconns;   /* open connections (accepted or connected) */
	struct {
		uint32_t fd;   /* the monitor's name for it */
		int stream;    /* it may be the one carrying the stream */
	} conns[LINK_CONNS];
};
/* an endpoint argument: tcp:// or ipc:// (1), another scheme (-1), or not
 * an endpoint (0: a ring) */
static int is_endpoint(const char *arg)
{
	const char *p = strstr(arg, "://");
	if (!p)
		return 0;
	if ((p - arg == 3) && (!strncmp(arg, "tcp", 3) || !strncmp(arg, "ipc", 3)))
		return 1;
	return -1;
}

static int set_int(void *sock, int opt, int v)
{
	return zmq_setsockopt(sock, opt, &v, sizeof(v));
}

/* read every pending monitor event (6 bytes: u16 event, u32 value; then
 * the endpoint), and derive the stream's state. A connection is known by
 * its descriptor (the value of ACCEPTED, CONNECTED and DISCONNECTED); the
 * handshake event names none, so every connection open and not yet
 * handshaken when it comes may be the stream's: when one of them closes,
 * the stream is broken. A connection that opens later and closes (a port
 * scan, a peer of the wrong socket type) is not the stream. */
static void link_events(struct link *l)
{
	for (;;) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, l->mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return;
		}
		uint16_t ev = 0;
		uint32_t fd = 0;
		if (zmq_msg_size(&m) >= sizeof(ev) + sizeof(fd)) {
			memcpy(&ev, zmq_msg_data(&m), sizeof(ev));
			memcpy(&fd, (char *)zmq_msg_data(&m) + sizeof(ev), sizeof(fd));
		}
		int more = zmq_msg_more(&m);
		zmq_msg_close(&m);
		while (more) {   /* the endpoint frame: parts arrive together */
			zmq_msg_init(&m);
			more = zmq_msg_recv(&m, l->mon, 0) >= 0 && zmq_msg_more(&m);
			zmq_msg_close(&m);
		}
		unsigned i;
		switch (ev) {
		case ZMQ_EVENT_ACCEPTED:
		case ZMQ_EVENT_CONNECTED:
			if (l->nconns < LINK_CONNS) {
				l->conns[l->nconns].fd = fd;
				l->conns[l->nconns++].stream = 0;
			}
			break;
		case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
			if (++l->shaken > 1)   /* a second sender, or a reconnection */
				l->broken = 1;
			for (i = 0; i < l->nconns; i++)
				l->conns[i].stream = 1;
			break;
		case ZMQ_EVENT_DISCONNECTED:
			for (i = 0; i < l->nconns && l->conns[i].fd != fd; i++)
				;
			if (i == l->nconns) {   /* not tracked: assume the worst */
				if (l->shaken)
					l->broken = 1;
				break;
			}
			if (l->conns[i].stream)
				l->broken = 1;
			l->conns[i] = l->conns[--l->nconns];
			break;
		}
	}
}

static void link_close(struct link *l, int linger_ms)
{
	if (l->sock) {
		set_int(l->sock, ZMQ_LINGER, linger_ms);
		zmq_close(l->sock);
	}
	if (l->mon) {
		set_int(l->mon, ZMQ_LINGER, 0);
		zmq_close(l->mon);
	}
	if (l->ctx)
		zmq_ctx_term(l->ctx);
	/* the socket file of an ipc:// endpoint we bound (libzmq 4.3 leaves
	 * it; "ipc://@name" is abstract, no file) */
	struct stat st;
	if (l->bound && !strncmp(l->ep, "ipc://", 6) && l->ep[6] != '@' &&
	    lstat(l->ep + 6, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(l->ep + 6);
	memset(l, 0, sizeof(*l));
}

/* a PUSH socket connected to ep, or a PULL socket bound on it, with its
 * monitor attached first so that no event is missed; max_msg: the largest
 * message it takes (ZMQ_MAXMSGSIZE; -1: no limit); 0 or an exit code
 * (reported) */
static int link_open(struct link *l, int type, const char *ep, const struct bridge_opts *o,
                     int64_t max_msg)
{
	memset(l, 0, sizeof(*l));
	l->ep = ep;
	if (!(l->ctx = zmq_ctx_new()) || !(l->sock = zmq_socket(l->ctx, type)) ||
	    !(l->mon = zmq_socket(l->ctx, ZMQ_PAIR))) {
		cli_err(ep, "cannot start ZeroMQ: %s", zmq_strerror(errno));
		link_close(l, 0);
		return EX_FAIL;
	}
	set_int(l->sock, type == ZMQ_PUSH ? ZMQ_SNDHWM : ZMQ_RCVHWM, o->hwm);
	if (max_msg >= 0)
		zmq_setsockopt(l->sock, ZMQ_MAXMSGSIZE, &max_msg, sizeof(max_msg));
	/* an IPv6 literal needs IPv6 on ("tcp://[::]:P" binds both families);
	 * off, "localhost" resolves to 127.0.0.1 on both sides */
	if (strchr(ep, '['))
		set_int(l->sock, ZMQ_IPV6, 1);
	set_int(l->sock, ZMQ_SNDTIMEO, (int)(CLI_SLICE_NS / 1000000));
	if (o->peer_timeout_s > 0) {
		/* idle connection: probes after half the time, then 5 more;
		 * data unacknowledged for the whole time: TCP_USER_TIMEOUT */
		int t = o->peer_timeout_s, idle = t / 2 > 0 ? t / 2 : 1;
		int intvl = (t - idle) / 5 > 0 ? (t - idle) / 5 : 1;
		set_int(l->sock, ZMQ_TCP_KEEPALIVE, 1);
		set_int(l->sock, ZMQ_TCP_KEEPALIVE_IDLE, idle);
		set_int(l->sock, ZMQ_TCP_KEEPALIVE_INTVL, intvl);
		set_int(l->sock, ZMQ_TCP_KEEPALIVE_CNT, 5);
		set_int(l->sock, ZMQ_TCP_MAXRT, t * 1000);
	}
	const char *mon_ep = "inproc://shmring-bridge-monitor";
	if (zmq_socket_monitor(l->sock, mon_ep,
	                       ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_CONNECTED |
	                       ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0 ||
	    zmq_connect(l->mon, mon_ep) < 0) {
		cli_err(ep, "cannot monitor the ZeroMQ socket: %s", zmq_strerror(errno));
		link_close(l, 0);
		return EX_FAIL;
	}
	int rc = type == ZMQ_PUSH ? zmq_connect(l->sock, ep) : zmq_bind(l->sock, ep);
	if (rc < 0) {
		int err = errno;
		cli_err(ep, "cannot %s: %s", type == ZMQ_PUSH ? "connect" : "bind",
		        zmq_strerror(err));
		link_close(l, 0);
		return err == EINVAL || err == EPROTONOSUPPORT ? EX_USAGE : EX_ENDPOINT;
	}
	l->bound = type == ZMQ_PULL;
	return EX_OK;
}

/* wait up to ms for the socket (events: ZMQ_POLLIN / 0) or the monitor */
static void link_wait(struct link *l, short events, long ms)
{
	zmq_pollitem_t it[2] = {
		{ l->mon, 0, ZMQ_POLLIN, 0 },
		{ l->sock, 0, events, 0 },
	};
	zmq_poll(it, events ? 2 : 1, ms);
	link_events(l);
}

/* send one frame, waiting in slices; 0, -ECONNRESET (the stream's
 * connection is gone), -EINTR (a signal), or another -errno */
static int link_send(struct link *l, const void *p, size_t n, int flags)
{
	for (;;) {
		if (zmq_send(l->sock, p, n, flags) >= 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		link_events(l);
		if (l->broken)
			return -ECONNRESET;
		if (cli_stop)
			return -EINTR;
	}
}

/* ------------------------------------------------ the end record's REASON */

/* every REASON a receiver knows, and what it says of it (NULL: the stream
 * is whole); any other word counts as an incomplete stream too */
static const struct {
	const char *word, *why;
} end_reasons[] = {
	{ "clean", NULL },
	{ "aborted", "the stream was aborted at the sending side (its producer was "
	             "interrupted, or its input failed)" },
	{ "died", "a producer died or closed without a shutdown at the sending side" },
	{ "truncated", "a producer died or closed without a shutdown at the sending side" },
	{ "corrupt", "corrupt messages were skipped at the sending side" },
	{ "interrupted", "the sending bridge was stopped by a signal before the end" },
	{ "unknown", "the sending side could not tell how its stream ended" },
};

static const char *end_why(const char *word)
{
	for (size_t i = 0; i < sizeof(end_reasons) / sizeof(end_reasons[0]); i++)
		if (!strcmp(word, end_reasons[i].word))
			return end_reasons[i].why;
	return "the sending side ended the stream for a reason this bridge does not know";
}

/* the REASON for how the source ring's stream ended (cli_stream_end) */
static const char *end_word(int end_reason)
{
	switch (end_reason) {
	case SHMRING_END_CLEAN:   return "clean";
	case SHMRING_END_ABORTED: return "aborted";
	case SHMRING_END_DIED:    return "died";
	default:                  return "unknown";
	}
}

/* ---------------------------------------------- ring -> ZeroMQ (PUSH) */

static int send_end(struct link *l, const char *reason, uint64_t msgs, uint64_t bytes)
{
	char rec[END_MAX];
	int n = snprintf(rec, sizeof(rec), END_MAGIC " %u end %s %llu %llu", END_VERSION,
	                 reason, (unsigned long long)msgs, (unsigned long long)bytes);
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

static int ring_to_zmq(const char *name, const char *ep, const struct bridge_opts *o)
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
		unsigned char *h = b.buf + b.len;
		h[0] = (unsigned char)len;
		h[1] = (unsigned char)(len >> 8);
		h[2] = (unsigned char)(len >> 16);
		h[3] = (unsigned char)(len >> 24);
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
		const char *reason = end_word(end);
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
		int n = snprintf(rec, sizeof(rec), END_MAGIC " %u end interrupted %llu %llu",
		                 END_VERSION, (unsigned long long)msgs, (unsigned long long)bytes);
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

/* ---------------------------------------------- ZeroMQ -> ring (PULL) */

/* the two-part end message, whose empty first frame m is in hand: its
 * reason and counts, 0, or EX_PROTO (reported) */
static int recv_end(struct link *l, zmq_msg_t *m, char *reason, size_t rsize,
                    unsigned long long *msgs, unsigned long long *bytes)
{
	char rec[END_MAX + 1], why[32];
	size_t first = zmq_msg_size(m);
	zmq_msg_close(m);
	zmq_msg_init(m);
	int n = zmq_msg_recv(m, l->sock, 0);   /* parts arrive together */
	int more = n >= 0 && zmq_msg_more(m);
	size_t len = n >= 0 ? zmq_msg_size(m) : 0;
	if (n >= 0 && len <= END_MAX)
		memcpy(rec, zmq_msg_data(m), len);
	rec[len <= END_MAX ? len : 0] = '\0';
	zmq_msg_close(m);
	while (more) {
		zmq_msg_init(m);
		more = zmq_msg_recv(m, l->sock, 0) >= 0 && zmq_msg_more(m);
		zmq_msg_close(m);
		n = -1;
	}
	unsigned version = 0;
	int used = 0;
	if (first != 0 || n < 0 || len > END_MAX ||
	    sscanf(rec, END_MAGIC " %u end %31s %llu %llu%n", &version, why, msgs, bytes,
	           &used) != 4 || (size_t)used != len) {
		cli_err(l->ep, "a message that is not the bridge's (a multipart message "
		        "other than its end record)");
		return EX_PROTO;
	}
	if (version != END_VERSION) {
		cli_err(l->ep, "the sender speaks version %u of the bridge's wire format, "
		        "this bridge version %u: run the same version at both ends",
		        version, END_VERSION);
		return EX_PROTO;
	}
	snprintf(reason, rsize, "%s", why);
	return EX_OK;
}

static uint32_t rec_len(const unsigned char *h)
{
	return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
	       (uint32_t)h[3] << 24;
}

/* put a batch's records into the ring: EX_OK and *msgs, *bytes advanced, or
 * an exit code (reported). The records are checked first: a malformed
 * batch puts none of them in. */
static int batch_unpack(struct shmring *r, const char *name, const char *ep,
                        uint32_t slot_size, const unsigned char *p, size_t size,
                        uint64_t *msgs, uint64_t *bytes)
{
	size_t off = 0;
	while (off < size) {
		uint32_t len;
		if (size - off < REC_HDR || (len = rec_len(p + off)) > size - off - REC_HDR) {
			cli_err(ep, "a batch not in the bridge's format (version %u): its records "
			        "do not fill it exactly", END_VERSION);
			return EX_PROTO;
		}
		if (len > slot_size) {
			cli_err(name, "a message of %lu bytes is longer than the slot size (%u)",
			        (unsigned long)len, slot_size);
			return EX_MSGSIZE;
		}
		off += REC_HDR + len;
	}
	struct iovec iov[BURST];
	unsigned n = 0;
	uint64_t nb = 0;
	for (off = 0; off < size;) {
		uint32_t len = rec_len(p + off);
		off += REC_HDR;
		iov[n].iov_base = (void *)(p + off);
		iov[n++].iov_len = len;
		nb += len;
		off += len;
		if (n < BURST && off < size)
			continue;
		int rc = cli_send_burst(r, iov, n);
		if (rc == -EINTR)
			return EX_SIGNAL;
		if (rc == -EPIPE) {
			cli_err(name, "no consumer left (every consumer closed or died); "
			        "the stream was not fully delivered");
			return EX_NOPEER;
		}
		if (rc < 0)
			return cli_fail(name, rc);
		*msgs += n;
		*bytes += nb;
		n = 0;
		nb = 0;
	}
	return EX_OK;
}

/* the slot size of the ring a receiving bridge will feed: its own when it
 * exists (looked at without a role: a bind that fails must leave the ring
 * untouched), else the one it would be created with */
static uint32_t target_slot_size(const char *name, const struct cli_ring_opts *ro)
{
	struct shmring *r;
	struct shmring_info in;
	if (cli_open_observer(name, &r) == 0) {
		int rc = shmring_info(r, &in);
		shmring_close(r);
		if (rc == 0)
			return in.slot_size;
	}
	return ro->cfg.slot_size;
}

static int zmq_to_ring(const char *ep, const char *name, const struct bridge_opts *o)
{
	struct link l;
	/* the largest batch a sending bridge makes for records this ring can
	 * take (BATCH_MAX); ZeroMQ drops the connection of a bigger message
	 * before it allocates it. Set before the bind, which copies it */
	uint32_t slot_size = target_slot_size(name, &o->ro);
	int ret = link_open(&l, ZMQ_PULL, ep, o, (int64_t)BATCH_MAX(slot_size));
	if (ret != EX_OK)
		return ret;
	struct shmring *r;
	if ((ret = cli_open_producer(name, &o->ro, o->create, &r)) != EX_OK) {
		link_close(&l, 0);
		return ret;
	}
	struct shmring_info info;
	shmring_info(r, &info);
	shmring_set_spin(r, o->spin_ns);
	if (info.slot_size > slot_size) {
		/* replaced by a ring of bigger slots since we looked: the
		 * limit would refuse some of its legitimate batches */
		cli_err(name, "the ring was re-created with bigger slots while the bridge "
		        "started; start it again");
		shmring_abort(r);
		shmring_close(r);
		link_close(&l, 0);
		return EX_FAIL;
	}

	uint64_t msgs = 0, bytes = 0;
	double lost_at = 0;   /* when the connection was found gone */
	int shut = 0, hello = 0;
	for (;;) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, l.sock, ZMQ_DONTWAIT) < 0) {
			int err = errno;
			zmq_msg_close(&m);
			if (err != EAGAIN && err != EINTR) {
				cli_err(ep, "receiving: %s", zmq_strerror(err));
				ret = EX_FAIL;
				break;
			}
			if (cli_stop) {
				ret = EX_SIGNAL;
				break;
			}
			link_events(&l);
			if (l.broken) {
				/* what the peer sent before it went is flushed
				 * to us before the event; give it time to land */
				if (lost_at == 0) {
					lost_at = cli_now();
				} else if (cli_now() - lost_at >= DRAIN_S) {
					/* ZeroMQ closes the connection of a message
					 * over ZMQ_MAXMSGSIZE without a word: that
					 * is one cause we cannot tell apart */
					cli_err(ep, "warning: connection lost after %llu message(s), "
					        "before the end of the stream: the sending side went "
					        "away, or sent a message too large (over %llu bytes, "
					        "the largest batch a sending bridge makes for slots of "
					        "%u bytes: ZeroMQ drops such a connection); the data "
					        "may be incomplete",
					        (unsigned long long)msgs,
					        (unsigned long long)BATCH_MAX(slot_size), slot_size);
					ret = EX_TRUNCATED;
					break;
				}
				link_wait(&l, ZMQ_POLLIN, 50);
			} else {
				link_wait(&l, ZMQ_POLLIN, CLI_SLICE_NS / 1000000);
			}
			continue;
		}
		if (zmq_msg_more(&m)) {   /* the end record */
			char reason[32];
			unsigned long long n_msgs, n_bytes;
			ret = recv_end(&l, &m, reason, sizeof(reason), &n_msgs, &n_bytes);
			if (ret != EX_OK)
				break;
			if (!strcmp(reason, "hello") || !hello) {
				if (!strcmp(reason, "hello") && !hello) {
					hello = 1;   /* a sender of our version */
					continue;
				}
				cli_err(ep, hello ? "a second greeting in the stream" :
				        "an end record before the sender's greeting");
				ret = EX_PROTO;
				break;
			}
			const char *why = end_why(reason);
			if (why) {
				cli_err(name, "warning: %s; the data may be incomplete", why);
				ret = EX_TRUNCATED;
			} else if (n_msgs != msgs || n_bytes != bytes) {
				cli_err(name, "warning: the sender sent %llu message(s) (%llu bytes), "
				        "%llu (%llu bytes) arrived; the data is incomplete",
				        n_msgs, n_bytes, (unsigned long long)msgs,
				        (unsigned long long)bytes);
				ret = EX_TRUNCATED;
			} else {
				shut = 1;
			}
			break;
		}
		if (!hello) {
			cli_err(ep, "data before the sender's greeting: the sender speaks version 1 "
			        "of the bridge's wire format (one ZeroMQ message per ring message), "
			        "this bridge version %u: run the same version at both ends",
			        END_VERSION);
			zmq_msg_close(&m);
			ret = EX_PROTO;
			break;
		}
		ret = batch_unpack(r, name, ep, info.slot_size, zmq_msg_data(&m), zmq_msg_size(&m),
		                   &msgs, &bytes);
		zmq_msg_close(&m);
		if (ret != EX_OK)
			break;
	}
	/* a clean end whose counts match is shut down; anything else (an end
	 * of another reason, a broken stream, a refusal, a signal) is aborted,
	 * so that pop there exits 13 */
	if (shut)
		shmring_shutdown(r);
	else
		shmring_abort(r);
	shmring_close(r);
	/* closing the connection is the sender's word that the end arrived */
	link_close(&l, 0);
	return ret;
}

/* ------------------------------------------------------------- command */

int cmd_bridge(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ "hwm", required_argument, NULL, 'H' },
		{ "peer-timeout", required_argument, NULL, 'P' },
		{ "no-create", no_argument, NULL, 'N' },
		{ "spin", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		CLI_RING_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct bridge_opts o = { .create = 1, .wait_s = 10, .hwm = 64, .peer_timeout_s = 30,
	                         .spin_ns = 0 };
	uint64_t v;
	double d;
	int opt;

	cli_ring_opts_init(&o.ro);
	while ((opt = getopt_long(argc, argv, "w:h", longopts, NULL)) != -1) {
		int k = cli_ring_opt(&o.ro, opt, optarg);
		if (k < 0)
			return EX_USAGE;
		if (k > 0)
			continue;
		switch (opt) {
		case 'w':
			if (!strcmp(optarg, "inf"))
				o.wait_s = 1e18;
			else if (cli_parse_seconds(optarg, &o.wait_s))
				return cli_usage("--wait takes seconds or 'inf', not '%s'", optarg);
			break;
		case 'H':
			if (cli_parse_u64(optarg, &v) || v > INT32_MAX)
				return cli_usage("--hwm takes a number of messages, not '%s'", optarg);
			o.hwm = (int)v;
			break;
		case 'P':
			if (cli_parse_seconds(optarg, &d) || d > 86400 ||
			    (d > 0 && d < 1))
				return cli_usage("--peer-timeout takes 0 or 1 to 86400 seconds, "
				                 "not '%s'", optarg);
			o.peer_timeout_s = (int)d;
			break;
		case 'N': o.create = 0; break;
		case 'S':
			if (cli_parse_u64(optarg, &v) || v > INT64_MAX)
				return cli_usage("--spin takes nanoseconds, not '%s'", optarg);
			o.spin_ns = (int64_t)v;
			break;
		case 'h': fputs(bridge_usage, stdout); return EX_OK;
		default: return cli_bad_option(argv);
		}
	}
	if (optind + 2 != argc)
		return cli_usage("expects FROM and TO: a ring and a ZeroMQ endpoint");
	const char *from = argv[optind], *to = argv[optind + 1];
	int ef = is_endpoint(from), et = is_endpoint(to);
	if (ef < 0 || et < 0)
		return cli_usage("'%s' is not a transport the bridge speaks (tcp:// or ipc://)",
		                 ef < 0 ? from : to);
	if (ef == et)
		return cli_usage(ef ? "one of FROM and TO must be a ring"
		                    : "one of FROM and TO must be a ZeroMQ endpoint "
		                      "(tcp://HOST:PORT or ipc://PATH)");
	const char *ring = ef ? to : from, *ep = ef ? from : to;
	char name[CLI_RING_MAX];
	int rc = cli_name(ring, o.ro.as_file, name, sizeof(name));
	if (rc < 0)
		return cli_fail_ring(ring, NULL, rc);

	cli_signals();
	signal(SIGPIPE, SIG_IGN);
	/* batches come and go at a high rate: malloc'd here and freed by
	 * ZeroMQ's I/O thread on the sending side, malloc'd by that thread and
	 * freed here on the receiving side. glibc hands such blocks back to
	 * the kernel (munmap, or a trimmed heap) and the next one faults its
	 * pages in again: measured, 57000 and 98000 page faults in the two
	 * bridges per 20000 messages of 64 KiB. Keep freed memory for reuse. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	return ef ? zmq_to_ring(ep, name, &o) : ring_to_zmq(name, ep, &o);
}
