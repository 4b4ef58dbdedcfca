/* SPDX-License-Identifier: MIT */
/*
 * transports_os.c - the kernel's IPC, each used the way its experts would:
 * blocking I/O; pipes enlarged to the 1 MiB maximum an unprivileged user
 * may set; socket buffers of 4 MiB; TCP_NODELAY on loopback; byte-stream
 * receivers that read whatever is there (up to 64 KiB per read) and cut
 * messages out of it; a batched pipe that packs 64 KiB of messages into
 * each write; POSIX queues within the system's limits. Each supplies how
 * to send, receive and end; msgloop.h runs the loops.
 *
 * Descriptor layout in struct bctx (the parent closes its copies after
 * forking; side_ready() closes the ends a child did not take, so EOF works):
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
#include "msgloop.h"
#include "transports.h"

#define PIPE_BYTES  (1 << 20)
#define SOCK_BYTES  (4 << 20)
#define READ_CHUNK  65536

static void nop_teardown(struct bctx *c)
{
	(void)c;
}

/* ---- descriptors: one write per message (or a 64 KiB batch), chunked reads ---- */

struct fd_port {
	struct port port;
	int fd;
	size_t have, off;           /* byte-stream receiver: bytes at buf, handed out */
};

/* a sender writes fd[i] one message (batch 0) or 64 KiB of them at a time;
 * a receiver reads it in chunks of up to 64 KiB */
MSG_OP int fd_open(struct bctx *c, struct port *p, int dir, int i, int batch)
{
	struct fd_port *e = (struct fd_port *)p;
	size_t size = c->size, chunk = size > READ_CHUNK ? size : READ_CHUNK;
	unsigned k = batch && READ_CHUNK / size ? READ_CHUNK / size : 1;
	e->fd = take_fd(c, i);
	e->have = e->off = 0;
	if (port_init(c, p, dir, dir == PORT_SEND ? k * size : chunk + size))
		return -1;
	p->batch = k;
	return 0;
}

MSG_OP void fd_close(struct port *p)
{
	port_fini(p);
}

/* 0, or -errno */
static int fd_write(int fd, const void *m, size_t len)
{
	const char *b = m;
	while (len) {
		ssize_t n = write(fd, b, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* bytes read, 0 at EOF, or -errno */
static ssize_t fd_read(int fd, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n >= 0 || errno != EINTR)
			return n < 0 ? -errno : n;
	}
}

MSG_OP int fd_send(struct port *p, const void *m, size_t len)
{
	return fd_write(((struct fd_port *)p)->fd, m, len);
}

/* EOF for the receiver */
MSG_OP int fd_end(struct port *p)
{
	return close(((struct fd_port *)p)->fd) ? -errno : 0;
}

/* byte stream (.chunked): read what is there after the part of a message
 * the last read left, return all the whole messages it holds */
MSG_OP ssize_t stream_recv(struct port *p, unsigned char *buf, size_t size, const void **m)
{
	struct fd_port *e = (struct fd_port *)p;
	if (e->off) {
		memmove(buf, buf + e->off, e->have - e->off);
		e->have -= e->off;
		e->off = 0;
	}
	do {
		ssize_t got = fd_read(e->fd, buf + e->have, p->cap - e->have);
		if (got == 0 && e->have) {
			side_fail(p->c, "EOF inside a message (%zu bytes left)", e->have);
			return -EPROTO;
		}
		if (got <= 0)
			return got ? got : -EPIPE;
		e->have += (size_t)got;
	} while (e->have < size);
	e->off = e->have - e->have % size;
	*m = buf;
	return (ssize_t)e->off;
}

/* message-preserving (seqpacket): one read per message */
MSG_OP ssize_t packet_recv(struct port *p, unsigned char *buf, size_t size, const void **m)
{
	ssize_t got = fd_read(((struct fd_port *)p)->fd, buf, size);
	*m = buf;
	return got ? got : -EPIPE;
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

MSG_OP int pipe_open(struct bctx *c, struct port *p, int chan, int dir)
{
	return fd_open(c, p, dir, 2 * chan + (dir == PORT_SEND), 0);
}

MSG_OP int pipe_batch_open(struct bctx *c, struct port *p, int chan, int dir)
{
	return fd_open(c, p, dir, 2 * chan + (dir == PORT_SEND), 1);
}

static const struct msg_ops pipe_ops = {
	.open = pipe_open, .close = fd_close, .send = fd_send, .end = fd_end,
	.recv = stream_recv, .chunked = 1,
};
/* batched: the loop builds 64 KiB of messages at buf, one write sends them */
static const struct msg_ops pipe_batch_ops = {
	.open = pipe_batch_open, .close = fd_close, .send = fd_send, .end = fd_end,
	.recv = stream_recv, .batched = 1, .chunked = 1,
};
MSG_SIDES(pipe, struct fd_port, pipe_ops)
MSG_SIDES(pipe_batch, struct fd_port, pipe_batch_ops)

const struct transport t_pipe = {
	.name = "pipe",
	.what = "pipe, one write per message (1 MiB pipe; reader takes up to 64 KiB per read)",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.no_ref = TK_STREAM | TK_LATENCY,  /* through the kernel */
	.setup = pipe_setup, .teardown = nop_teardown,
	.producer = pipe_producer, .consumer = pipe_consumer,
	.ping = pipe_ping, .pong = pipe_pong,
};

const struct transport t_pipe_batch = {
	.name = "pipe-batch",
	.what = "pipe, 64 KiB of messages per write (the expert's pipe for small records)",
	.kinds = TK_STREAM, .nprod = 1, .ncons = 1,
	.no_ref = TK_STREAM | TK_LATENCY,  /* through the kernel */
	.setup = pipe_setup, .teardown = nop_teardown,
	.producer = pipe_batch_producer, .consumer = pipe_batch_consumer,
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

/* the producer (client) sends on fd0, the echo comes back on it */
MSG_OP int sock_open(struct bctx *c, struct port *p, int chan, int dir)
{
	return fd_open(c, p, dir, chan ^ (dir == PORT_RECV), 0);
}

static const struct msg_ops sock_ops = {
	.open = sock_open, .close = fd_close, .send = fd_send, .end = fd_end,
	.recv = stream_recv, .chunked = 1,
};
static const struct msg_ops packet_ops = {
	.open = sock_open, .close = fd_close, .send = fd_send, .end = fd_end,
	.recv = packet_recv,
};
MSG_SIDES(sock, struct fd_port, sock_ops)
MSG_SIDES(packet, struct fd_port, packet_ops)

const struct transport t_unix_stream = {
	.name = "unix-stream",
	.what = "Unix stream socketpair, one write per message, 4 MiB buffers",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.no_ref = TK_STREAM | TK_LATENCY,  /* through the kernel */
	.setup = ustream_setup, .teardown = nop_teardown,
	.producer = sock_producer, .consumer = sock_consumer,
	.ping = sock_ping, .pong = sock_pong,
};

const struct transport t_unix_seqpacket = {
	.name = "unix-seqpacket",
	.what = "Unix seqpacket socketpair, one write/read per message, 4 MiB buffers",
	.kinds = TK_STREAM, .nprod = 1, .ncons = 1,
	.no_ref = TK_STREAM | TK_LATENCY,  /* through the kernel */
	.setup = useq_setup, .teardown = nop_teardown,
	.producer = packet_producer, .consumer = packet_consumer,
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
	.no_ref = TK_STREAM | TK_LATENCY,  /* through the kernel */
	.setup = tcp_setup, .teardown = nop_teardown,
	.producer = sock_producer, .consumer = sock_consumer,
	.ping = sock_ping, .pong = sock_pong,
};

/* ---- POSIX message queues: mq_send/mq_receive, an in-band end marker ---- */

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

/* queue chan: fd[chan], both ends */
MSG_OP int mq_port_open(struct bctx *c, struct port *p, int chan, int dir)
{
	((struct fd_port *)p)->fd = take_fd(c, chan);
	return port_init(c, p, dir, c->size);
}

MSG_OP int mq_put(struct port *p, const void *m, size_t len)
{
	while (mq_send((mqd_t)((struct fd_port *)p)->fd, m, len, 0) != 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

MSG_OP int mq_end(struct port *p)
{
	return mq_put(p, end_mark(p), p->size);
}

MSG_OP ssize_t mq_get(struct port *p, unsigned char *buf, size_t size, const void **m)
{
	ssize_t got;
	while ((got = mq_receive((mqd_t)((struct fd_port *)p)->fd, (char *)buf, size,
	                         NULL)) < 0)
		if (errno != EINTR)
			return -errno;
	*m = buf;
	return or_end(buf, got);
}

static const struct msg_ops mq_ops = {
	.open = mq_port_open, .close = fd_close, .send = mq_put, .end = mq_end,
	.recv = mq_get,
};
MSG_SIDES(mq, struct fd_port, mq_ops)

const struct transport t_mq = {
	.name = "mq",
	.what = "POSIX message queue, mq_send/mq_receive per message (system limits apply)",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.no_ref = TK_STREAM | TK_LATENCY,  /* through the kernel */
	.setup = mq_setup, .teardown = mq_teardown,
	.producer = mq_producer, .consumer = mq_consumer, .ping = mq_ping, .pong = mq_pong,
};
