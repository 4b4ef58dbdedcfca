/* SPDX-License-Identifier: MIT */
/*
 * cli_bridge_link.c - the bridge's ZeroMQ side: one socket (PUSH connected,
 * or PULL bound), a monitor on it, and what the monitor says of the
 * connection that carries the stream.
 *
 * Failure detection: each socket has a monitor. The connection that
 * completed the handshake closing before the end (a peer killed: the kernel
 * closes its sockets) breaks the stream for good: ZeroMQ would reconnect and
 * carry on, and whatever was in flight would be lost without a word. A
 * connection that opens after it and closes (a port scan) is not the stream
 * and is ignored; a second handshake (a second sender) breaks the stream.
 * A peer host that vanishes is found by TCP keepalive and TCP_USER_TIMEOUT
 * (--peer-timeout), which the peer's kernel answers even while its bridge
 * is stalled by backpressure. ZMTP heartbeats are not used:
 * a receiver at its high-water mark stops reading, its peer's pings go
 * unanswered, and the connection is dropped and silently re-made.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "cli_bridge.h"

int link_is_endpoint(const char *arg)
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
void link_events(struct link *l)
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

void link_close(struct link *l, int linger_ms)
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

int link_open(struct link *l, int type, const char *ep, const struct bridge_opts *o,
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

void link_wait(struct link *l, short events, long ms)
{
	zmq_pollitem_t it[2] = {
		{ l->mon, 0, ZMQ_POLLIN, 0 },
		{ l->sock, 0, events, 0 },
	};
	zmq_poll(it, events ? 2 : 1, ms);
	link_events(l);
}

int link_send(struct link *l, const void *p, size_t n, int flags)
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

