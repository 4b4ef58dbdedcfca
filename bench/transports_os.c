/* SPDX-License-Identifier: MIT */
/*
 * transports_os.c - the kernel's IPC, each used the way its experts would:
 * blocking I/O; pipes enlarged to the 1 MiB maximum an unprivileged user
 * may set; socket buffers of 4 MiB; TCP_NODELAY on loopback; byte-stream
 * receivers that read whatever is there (up to 64 KiB per read) and cut
 * messages out of it; a batched pipe that packs 64 KiB of messages into
 * each write; POSIX queues within the system's limits.
 *
 * Descriptor layout in struct bctx (the parent closes its copies after
 * forking; each child closes the ends it does not use, so EOF works):
 *   pipe:    stream fd0 read, fd1 write; latency adds fd2 read, fd3 write
 *            (client writes fd1, reads fd2; server reads fd0, writes fd3)
 *   sockets: fd0 the producer's/client's end, fd1 the consumer's/server's
 *   mq:      fd0 client->server queue, fd1 server->client queue
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ipc_bench.h"

#define CHECK_EVERY 64
#define PIPE_BYTES  (1 << 20)
#define SOCK_BYTES  (4 << 20)
#define READ_CHUNK  65536

static void keep_fds(struct bctx *c, int a, int b)
{
	for (int i = 0; i < 4; i++)
		if (c->fd[i] >= 0 && c->fd[i] != a && c->fd[i] != b) {
			close(c->fd[i]);
			c->fd[i] = -1;
		}
}

static void nop_teardown(struct bctx *c)
{
	(void)c;
}

/* ---- generic byte-stream / datagram producer and consumers ---- */

static int fd_producer_at(struct bctx *c, int fd)
{
	keep_fds(c, fd, -1);
	size_t size = c->size;
	unsigned char *buf = malloc(size);
	if (!buf)
		return side_fail(c, "out of memory");
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)i;
	uint64_t n = 0;
	side_ready(c);
	do {
		for (int i = 0; i < CHECK_EVERY; i++, n++) {
			stamp(buf, size, seq_word(0, n));
			if (write_all(fd, buf, size))
				return side_fail(c, "write: %s", strerror(errno));
		}
	} while (side_running(c));
	close(fd);   /* EOF for the consumer */
	side_done(c);
	c->res->msgs = n;
	free(buf);
	return 0;
}

/* byte stream: read what is there, cut fixed-size messages out of it */
static int stream_consumer_at(struct bctx *c, int fd)
{
	keep_fds(c, fd, -1);
	size_t size = c->size, chunk = size > READ_CHUNK ? size : READ_CHUNK;
	size_t cap = chunk + size, have = 0;
	unsigned char *buf = malloc(cap);
	if (!buf)
		return side_fail(c, "out of memory");
	struct checker chk = {.strict = 1};
	char err[160];
	side_ready(c);
	for (;;) {
		ssize_t n = read(fd, buf + have, cap - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return side_fail(c, "read: %s", strerror(errno));
		}
		if (n == 0)
			break;
		have += (size_t)n;
		size_t off = 0;
		for (; have - off >= size; off += size)
			if (chk_msg(&chk, buf + off, size, size, err, sizeof(err)))
				return side_fail(c, "%s", err);
		if (off) {
			memmove(buf, buf + off, have - off);
			have -= off;
		}
	}
	side_done(c);
	if (have)
		return side_fail(c, "EOF inside a message (%zu bytes left)", have);
	chk_report(c, &chk);
	free(buf);
	return 0;
}

/* message-preserving (seqpacket): one read per message */
static int packet_consumer_at(struct bctx *c, int fd)
{
	keep_fds(c, fd, -1);
	size_t size = c->size;
	unsigned char *buf = malloc(size);
	if (!buf)
		return side_fail(c, "out of memory");
	struct checker chk = {.strict = 1};
	char err[160];
	side_ready(c);
	for (;;) {
		ssize_t n = read(fd, buf, size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return side_fail(c, "read: %s", strerror(errno));
		}
		if (n == 0)
			break;
		if (chk_msg(&chk, buf, (size_t)n, size, err, sizeof(err)))
			return side_fail(c, "%s", err);
	}
	side_done(c);
	chk_report(c, &chk);
	free(buf);
	return 0;
}

/* round trip over descriptors; packets: one read per message */
static int fd_ping_at(struct bctx *c, int wfd, int rfd)
{
	keep_fds(c, wfd, rfd);
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
		if (write_all(wfd, buf, size) || read_all(rfd, rbuf, size) != 1) {
			rc = side_fail(c, "round trip %llu: %s", (unsigned long long)n,
			               strerror(errno));
			break;
		}
		uint64_t t1 = now_ns(), tail = w;
		if (size >= 16)
			memcpy(&tail, rbuf + size - 8, 8);
		if (msg_word(rbuf) != w || tail != w) {
			rc = side_fail(c, "round trip %llu: bad echo", (unsigned long long)n);
			break;
		}
		lat_add(&l, t1 - t0);
	}
	close(wfd);
	side_done(c);
	lat_finish(c, &l);
	free(buf);
	free(rbuf);
	return rc;
}

static int fd_pong_at(struct bctx *c, int rfd, int wfd)
{
	keep_fds(c, wfd, rfd);
	unsigned char *buf = calloc(1, c->size);
	if (!buf)
		return side_fail(c, "out of memory");
	side_ready(c);
	int rc;
	while ((rc = read_all(rfd, buf, c->size)) == 1)
		if (write_all(wfd, buf, c->size))
			return side_fail(c, "echo write: %s", strerror(errno));
	side_done(c);
	free(buf);
	return rc == 0 ? 0 : side_fail(c, "echo read: %s", strerror(errno));
}

/* ---- pipes ---- */

static int make_pipe(int *fds)
{
	if (pipe(fds) != 0) {
		perror("ipc_bench: pipe");
		return -1;
	}
	/* the largest an unprivileged user may ask for (fs.pipe-max-size) */
	if (fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES) < 0)
		perror("ipc_bench: F_SETPIPE_SZ");
	return 0;
}

static int pipe_setup(struct bctx *c, int latency)
{
	if (make_pipe(&c->fd[0]))
		return -1;
	if (latency && make_pipe(&c->fd[2]))
		return -1;
	return 0;
}

static int pipe_producer(struct bctx *c) { return fd_producer_at(c, c->fd[1]); }
static int pipe_consumer(struct bctx *c) { return stream_consumer_at(c, c->fd[0]); }
static int pipe_ping(struct bctx *c) { return fd_ping_at(c, c->fd[1], c->fd[2]); }
static int pipe_pong(struct bctx *c) { return fd_pong_at(c, c->fd[0], c->fd[3]); }

const struct transport t_pipe = {
	.name = "pipe",
	.what = "pipe, one write per message (1 MiB pipe; reader takes up to 64 KiB per read)",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.setup = pipe_setup, .teardown = nop_teardown,
	.producer = pipe_producer, .consumer = pipe_consumer,
	.ping = pipe_ping, .pong = pipe_pong,
};

/* batched: as many whole messages as fit in 64 KiB per write */
static int pipe_batch_producer(struct bctx *c)
{
	int fd = c->fd[1];
	keep_fds(c, fd, -1);
	size_t size = c->size, k = READ_CHUNK / size ? READ_CHUNK / size : 1;
	unsigned char *buf = malloc(k * size);
	if (!buf)
		return side_fail(c, "out of memory");
	for (size_t i = 0; i < k * size; i++)
		buf[i] = (unsigned char)i;
	uint64_t n = 0;
	side_ready(c);
	do {
		for (size_t i = 0; i < k; i++)
			stamp(buf + i * size, size, seq_word(0, n + i));
		if (write_all(fd, buf, k * size))
			return side_fail(c, "write: %s", strerror(errno));
		n += k;
	} while (side_running(c));
	close(fd);
	side_done(c);
	c->res->msgs = n;
	free(buf);
	return 0;
}

const struct transport t_pipe_batch = {
	.name = "pipe-batch",
	.what = "pipe, 64 KiB of messages per write (the expert's pipe for small records)",
	.kinds = TK_STREAM, .nprod = 1, .ncons = 1,
	.setup = pipe_setup, .teardown = nop_teardown,
	.producer = pipe_batch_producer, .consumer = pipe_consumer,
};

/* ---- sockets ---- */

static void sock_bufs(int fd)
{
	int v = SOCK_BYTES;
	/* SO_SNDBUFFORCE needs CAP_NET_ADMIN; fall back to the capped request */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

static int unix_setup(struct bctx *c, int type)
{
	if (socketpair(AF_UNIX, type, 0, c->fd) != 0) {
		perror("ipc_bench: socketpair");
		return -1;
	}
	sock_bufs(c->fd[0]);
	sock_bufs(c->fd[1]);
	return 0;
}

static int ustream_setup(struct bctx *c, int latency)
{
	(void)latency;
	return unix_setup(c, SOCK_STREAM);
}

static int useq_setup(struct bctx *c, int latency)
{
	(void)latency;
	return unix_setup(c, SOCK_SEQPACKET);
}

static int sock_producer(struct bctx *c) { return fd_producer_at(c, c->fd[0]); }
static int sock_stream_consumer(struct bctx *c) { return stream_consumer_at(c, c->fd[1]); }
static int sock_packet_consumer(struct bctx *c) { return packet_consumer_at(c, c->fd[1]); }
static int sock_ping(struct bctx *c) { return fd_ping_at(c, c->fd[0], c->fd[0]); }
static int sock_pong(struct bctx *c) { return fd_pong_at(c, c->fd[1], c->fd[1]); }

const struct transport t_unix_stream = {
	.name = "unix-stream",
	.what = "Unix stream socketpair, one write per message, 4 MiB buffers",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.setup = ustream_setup, .teardown = nop_teardown,
	.producer = sock_producer, .consumer = sock_stream_consumer,
	.ping = sock_ping, .pong = sock_pong,
};

const struct transport t_unix_seqpacket = {
	.name = "unix-seqpacket",
	.what = "Unix seqpacket socketpair, one write/read per message, 4 MiB buffers",
	.kinds = TK_STREAM, .nprod = 1, .ncons = 1,
	.setup = useq_setup, .teardown = nop_teardown,
	.producer = sock_producer, .consumer = sock_packet_consumer,
};

static int tcp_setup(struct bctx *c, int latency)
{
	(void)latency;
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t al = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || s < 0)
		goto fail;
	sock_bufs(l);   /* before listen/connect: window scaling is negotiated then */
	sock_bufs(s);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &al) ||
	    connect(s, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	int d = accept(l, NULL, NULL);
	if (d < 0)
		goto fail;
	close(l);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(d, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd[0] = s;
	c->fd[1] = d;
	return 0;
fail:
	perror("ipc_bench: tcp loopback");
	if (l >= 0)
		close(l);
	if (s >= 0)
		close(s);
	return -1;
}

const struct transport t_tcp = {
	.name = "tcp",
	.what = "TCP over 127.0.0.1, TCP_NODELAY, one write per message, 4 MiB buffers",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.setup = tcp_setup, .teardown = nop_teardown,
	.producer = sock_producer, .consumer = sock_stream_consumer,
	.ping = sock_ping, .pong = sock_pong,
};

/* ---- POSIX message queues ---- */

static long read_long(const char *path, long dflt)
{
	FILE *f = fopen(path, "r");
	long v = dflt;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = dflt;
		fclose(f);
	}
	return v;
}

static int mq_make(struct bctx *c, const char *name, int *out)
{
	long maxmsg = read_long("/proc/sys/fs/mqueue/msg_max", 10);
	struct mq_attr at = {.mq_maxmsg = maxmsg, .mq_msgsize = (long)c->size};
	mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &at);
	if (q == (mqd_t)-1) {
		fprintf(stderr, "ipc_bench: mq_open %s: %s\n", name, strerror(errno));
		return -1;
	}
	*out = (int)q;   /* an mqd_t is a descriptor on Linux */
	return 0;
}

static int mq_setup(struct bctx *c, int latency)
{
	long maxsize = read_long("/proc/sys/fs/mqueue/msgsize_max", 8192);
	if ((long)c->size > maxsize) {
		snprintf(c->name, sizeof(c->name), "above fs.mqueue.msgsize_max %ld", maxsize);
		return 1;
	}
	if (mq_make(c, c->name, &c->fd[0]))
		return -1;
	if (latency && mq_make(c, c->name2, &c->fd[1])) {
		mq_unlink(c->name);
		return -1;
	}
	return 0;
}

static void mq_teardown(struct bctx *c)
{
	mq_unlink(c->name);
	mq_unlink(c->name2);
}

static int mq_put(mqd_t q, const void *buf, size_t len)
{
	while (mq_send(q, buf, len, 0) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static ssize_t mq_get(mqd_t q, void *buf, size_t cap)
{
	ssize_t n;
	while ((n = mq_receive(q, buf, cap, NULL)) < 0)
		if (errno != EINTR)
			return -1;
	return n;
}

static int mq_producer(struct bctx *c)
{
	mqd_t q = (mqd_t)c->fd[0];
	size_t size = c->size;
	unsigned char *buf = malloc(size);
	if (!buf)
		return side_fail(c, "out of memory");
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)i;
	uint64_t n = 0;
	side_ready(c);
	do {
		for (int i = 0; i < CHECK_EVERY; i++, n++) {
			stamp(buf, size, seq_word(0, n));
			if (mq_put(q, buf, size))
				return side_fail(c, "mq_send: %s", strerror(errno));
		}
	} while (side_running(c));
	stamp(buf, size, SEQ_END);
	if (mq_put(q, buf, size))
		return side_fail(c, "mq_send: %s", strerror(errno));
	side_done(c);
	c->res->msgs = n;
	free(buf);
	return 0;
}

static int mq_consumer(struct bctx *c)
{
	mqd_t q = (mqd_t)c->fd[0];
	size_t size = c->size;
	unsigned char *buf = malloc(size);
	if (!buf)
		return side_fail(c, "out of memory");
	struct checker chk = {.strict = 1};
	char err[160];
	side_ready(c);
	for (;;) {
		ssize_t n = mq_get(q, buf, size);
		if (n < 0)
			return side_fail(c, "mq_receive: %s", strerror(errno));
		if (msg_word(buf) == SEQ_END)
			break;
		if (chk_msg(&chk, buf, (size_t)n, size, err, sizeof(err)))
			return side_fail(c, "%s", err);
	}
	side_done(c);
	chk_report(c, &chk);
	free(buf);
	return 0;
}

static int mq_ping(struct bctx *c)
{
	mqd_t out = (mqd_t)c->fd[0], in = (mqd_t)c->fd[1];
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
		if (mq_put(out, buf, size) || mq_get(in, rbuf, size) != (ssize_t)size) {
			rc = side_fail(c, "round trip %llu: %s", (unsigned long long)n,
			               strerror(errno));
			break;
		}
		uint64_t t1 = now_ns(), tail = w;
		if (size >= 16)
			memcpy(&tail, rbuf + size - 8, 8);
		if (msg_word(rbuf) != w || tail != w) {
			rc = side_fail(c, "round trip %llu: bad echo", (unsigned long long)n);
			break;
		}
		lat_add(&l, t1 - t0);
	}
	stamp(buf, size, SEQ_END);
	mq_put(out, buf, size);
	side_done(c);
	lat_finish(c, &l);
	free(buf);
	free(rbuf);
	return rc;
}

static int mq_pong(struct bctx *c)
{
	mqd_t in = (mqd_t)c->fd[0], out = (mqd_t)c->fd[1];
	unsigned char *buf = calloc(1, c->size);
	if (!buf)
		return side_fail(c, "out of memory");
	side_ready(c);
	for (;;) {
		ssize_t n = mq_get(in, buf, c->size);
		if (n < 0)
			return side_fail(c, "mq_receive: %s", strerror(errno));
		if (msg_word(buf) == SEQ_END)
			break;
		if (mq_put(out, buf, (size_t)n))
			return side_fail(c, "mq_send: %s", strerror(errno));
	}
	side_done(c);
	free(buf);
	return 0;
}

const struct transport t_mq = {
	.name = "mq",
	.what = "POSIX message queue, mq_send/mq_receive per message (system limits apply)",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.setup = mq_setup, .teardown = mq_teardown,
	.producer = mq_producer, .consumer = mq_consumer, .ping = mq_ping, .pong = mq_pong,
};
