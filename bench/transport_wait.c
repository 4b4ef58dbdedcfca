/* SPDX-License-Identifier: MIT */
/*
 * transport_wait.c - shmring waited on the way an event loop waits on it:
 * through shmring_poll() over 1 or 64 rings, and through the handle's event
 * descriptor in epoll (shmring_event_fd() + shmring_arm()); and, as the
 * yardstick for the latter, a pipe read through epoll.
 *
 * Every receiver follows the documented protocol: take a message with
 * timeout 0; on -EAGAIN wait (shmring_poll(), or shmring_arm() then
 * epoll_wait() when arm says 0) and try again. Senders use the ordinary
 * blocking send.
 *
 *   shm-poll1      round trips; each side waits in shmring_poll() over its
 *                  one ring; spin 0 (sleep at once), to compare with
 *                  shm-sleep (recv blocking, spin 0)
 *   shm-poll64     the same over 64 rings per side: the message comes on
 *                  the last, the other 63 are open (the peer holds their
 *                  producer role) and idle
 *   shm-poll64-spin  streaming over 64 rings with the default wait policy
 *                  (spin, then sleep): the system calls of a saturated stream
 *   shm-epoll      round trips and streaming; each side waits in epoll on
 *                  the handle's event descriptor (default policy)
 *   pipe-epoll     round trips over two pipes read through epoll
 *                  (non-blocking reads): what such a user would otherwise
 *                  put in the event loop
 *   t50-recv, t50-poll1, t50-poll64
 *                  as shm-sleep (recv blocking, spin 0), shm-poll1 and
 *                  shm-poll64, with an echo server that works 50 us before
 *                  each reply: the client is asleep when the reply comes
 *
 * The stream consumer reports system calls per 1000 messages in the futex
 * column: the ring's futex sleeps and wakes and membarriers from
 * shmring_stats() (both sides), the loop's own epoll_wait() calls, and for
 * the event descriptor the calls arm() and the watcher thread make that the
 * statistics do not show (arm's read of the eventfd and its wake of the
 * thread, the thread's write and its idle wait; see src/event.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>
#include <shmring.h>
#include "msgloop.h"
#include "transports.h"

#define IDLE_MAX 63                /* idle rings beside the busy one */
#define IDLE_SLOTS 4                /* idle rings: never used, never prefaulted */

static void idle_name(char *out, size_t len, const struct bctx *c, int chan, unsigned i)
{
	snprintf(out, len, "%s-i%02u", chan ? c->name2 : c->name, i);
}

/* 64 rings per receiver: two descriptors per handle, 128 handles a side */
static void more_fds(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int ring_make(const char *name, size_t size, uint64_t slots, unsigned flags)
{
	struct shmring_config cfg = {
		.kind = SHMRING_SPSC, .slot_size = (uint32_t)size, .slots = slots,
		.mode = 0600, .flags = flags,
	};
	struct shmring *r;
	int rc = shmring_create(name, &cfg, 0, &r);
	if (rc) {
		fprintf(stderr, "ipc_bench: shmring_create %s: %s\n", name, shmring_strerror(rc));
		return -1;
	}
	shmring_close(r);
	return 0;
}

static void wait_teardown(struct bctx *c)
{
	char nm[128];
	shmring_unlink(c->name);
	shmring_unlink(c->name2);
	for (int chan = 0; chan < 2; chan++)
		for (unsigned i = 0; i < IDLE_MAX; i++) {
			idle_name(nm, sizeof(nm), c, chan, i);
			shmring_unlink(nm);   /* -ENOENT where there is none */
		}
}

/* the busy ring(s), and idle rings beside each */
static int wait_setup_n(struct bctx *c, int latency, unsigned idle)
{
	char nm[128];
	more_fds();
	for (int chan = 0; chan < 1 + !!latency; chan++) {
		if (ring_make(chan ? c->name2 : c->name, c->size, c->slots, SHMRING_PREFAULT))
			goto fail;
		for (unsigned i = 0; i < idle; i++) {
			idle_name(nm, sizeof(nm), c, chan, i);
			if (ring_make(nm, c->size, IDLE_SLOTS, 0))
				goto fail;
		}
	}
	return 0;
fail:
	wait_teardown(c);
	return -1;
}

static int setup_1(struct bctx *c, int latency)
{
	return wait_setup_n(c, latency, 0);
}

static int setup_64(struct bctx *c, int latency)
{
	return wait_setup_n(c, latency, IDLE_MAX);
}

/* ------------------------------------------------------------------ */
/* shmring ends                                                        */

enum wait_how { W_POLL, W_EPOLL, W_BLOCK };

/* the -t50 variants: the echo server works this long (busy) before each
 * reply, so that the client is asleep when the reply comes */
#define THINK_NS 50000

struct wait_port {
	struct port port;
	struct shmring *r;          /* the busy ring */
	unsigned nidle;
	struct shmring *idle[IDLE_MAX];
	struct shmring_pollitem it[IDLE_MAX + 1];
	int how;                    /* receiver: enum wait_how */
	int64_t think;              /* sender: ns of work before each send */
	int ep;                     /* W_EPOLL: the epoll set (created at the first wait) */
	uint64_t f0;                /* the ring's system call statistics at open */
	uint64_t epoll_waits, arm_calls, armed;   /* the loop's own counts */
};

static uint64_t ring_calls(struct shmring *r)
{
	struct shmring_stats st;
	if (shmring_stats(r, &st))
		return 0;
	return st.full_waits + st.empty_waits + st.prod_wakes + st.cons_wakes + st.membarriers;
}

static int attach(struct bctx *c, const char *name, int role, struct shmring **r)
{
	int rc = shmring_open(name, role, r);
	if (rc)
		return side_fail(c, "shmring_open %s: %s", name, shmring_strerror(rc));
	if (c->spin_ns != INT64_MIN)
		shmring_set_spin(*r, c->spin_ns);
	return 0;
}

/* a sender attaches as producer to the busy ring and to the receiver's idle
 * rings (so that they are open streams, not rings nobody writes to); a
 * receiver as consumer to all of them, the busy ring last in its poll set */
static int wait_open(struct bctx *c, struct port *p, int chan, int dir, int how, unsigned nidle,
                     int64_t think)
{
	struct wait_port *e = (struct wait_port *)p;
	int role = dir == PORT_SEND ? SHMRING_PRODUCER : SHMRING_CONSUMER;
	char nm[128];
	memset(e, 0, sizeof(*e));
	e->how = how;
	e->ep = -1;
	e->think = chan == 1 && dir == PORT_SEND ? think : 0;   /* the echo */
	if (attach(c, chan ? c->name2 : c->name, role, &e->r))
		return -1;
	for (unsigned i = 0; i < nidle; i++) {
		idle_name(nm, sizeof(nm), c, chan, i);
		if (attach(c, nm, role, &e->idle[i]))
			return -1;
		e->nidle++;
		e->it[i] = (struct shmring_pollitem){ .ring = e->idle[i], .events = SHMRING_POLLIN };
	}
	e->it[nidle] = (struct shmring_pollitem){ .ring = e->r, .events = SHMRING_POLLIN };
	e->f0 = ring_calls(e->r);
	return port_init(c, p, dir, c->size);
}

MSG_OP int poll_open(struct bctx *c, struct port *p, int chan, int dir)
{
	return wait_open(c, p, chan, dir, W_POLL, 0, 0);
}

MSG_OP int poll64_open(struct bctx *c, struct port *p, int chan, int dir)
{
	return wait_open(c, p, chan, dir, W_POLL, IDLE_MAX, 0);
}

MSG_OP int epoll_open(struct bctx *c, struct port *p, int chan, int dir)
{
	return wait_open(c, p, chan, dir, W_EPOLL, 0, 0);
}

MSG_OP int tblock_open(struct bctx *c, struct port *p, int chan, int dir)
{
	return wait_open(c, p, chan, dir, W_BLOCK, 0, THINK_NS);
}

MSG_OP int tpoll_open(struct bctx *c, struct port *p, int chan, int dir)
{
	return wait_open(c, p, chan, dir, W_POLL, 0, THINK_NS);
}

MSG_OP int tpoll64_open(struct bctx *c, struct port *p, int chan, int dir)
{
	return wait_open(c, p, chan, dir, W_POLL, IDLE_MAX, THINK_NS);
}

MSG_OP void wait_close(struct port *p)
{
	struct wait_port *e = (struct wait_port *)p;
	struct bctx *c = p->c;
	if (p->dir == PORT_RECV && c->my_id == 0 && c->res->msgs) {
		/* system calls of the case: the ring's (both sides), the loop's,
		 * and the event descriptor's that no statistic shows: arm's
		 * drain read each call; per armed wait, arm's wake of the
		 * watcher thread, the thread's eventfd write and its idle wait */
		c->res->has_futex = 1;
		c->res->futex_calls = ring_calls(e->r) - e->f0 + e->epoll_waits + e->arm_calls +
		                      3 * e->armed;
		struct shmring_info in;
		c->res->spin_ns = shmring_info(e->r, &in) == 0 ? in.spin_ns : -1;
	}
	if (e->ep >= 0)
		close(e->ep);
	for (unsigned i = 0; i < e->nidle; i++)
		shmring_close(e->idle[i]);
	shmring_close(e->r);
	port_fini(p);
}

MSG_OP int wait_send(struct port *p, const void *m, size_t len)
{
	int64_t think = ((struct wait_port *)p)->think;
	if (think) {
		uint64_t until = now_ns() + (uint64_t)think;
		while (now_ns() < until)
			;
	}
	return shmring_send(((struct wait_port *)p)->r, m, len, -1);
}

MSG_OP int wait_end(struct port *p)
{
	return shmring_shutdown(((struct wait_port *)p)->r);
}

/* the event descriptor in a new epoll set, at the first wait: after
 * side_ready() pinned this process, so the watcher thread starts on the
 * same CPU, as it would for a user who pins the event loop first */
static int epoll_init(struct wait_port *e)
{
	int fd = shmring_event_fd(e->r);
	if (fd < 0)
		return fd;
	e->ep = epoll_create1(EPOLL_CLOEXEC);
	if (e->ep < 0)
		return -errno;
	struct epoll_event ev = { .events = EPOLLIN };
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

MSG_OP ssize_t wait_recv(struct port *p, unsigned char *buf, size_t size, const void **m)
{
	struct wait_port *e = (struct wait_port *)p;
	*m = buf;
	for (;;) {
		ssize_t rc = shmring_recv(e->r, buf, size, e->how == W_BLOCK ? -1 : 0);
		if (rc != -EAGAIN)
			return rc;
		if (e->how == W_POLL) {
			int n = shmring_poll(e->it, e->nidle + 1, -1);
			if (n < 0)
				return n;
			continue;
		}
		if (e->ep < 0 && (rc = epoll_init(e)) < 0)
			return rc;
		e->arm_calls++;
		int a = shmring_arm(e->r);
		if (a < 0)
			return a;
		if (a == 1)
			continue;
		e->armed++;
		struct epoll_event ev;
		int n;
		do {
			e->epoll_waits++;
			n = epoll_wait(e->ep, &ev, 1, -1);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
	}
}

static const struct msg_ops poll_ops = {
	.open = poll_open, .close = wait_close, .send = wait_send, .end = wait_end,
	.recv = wait_recv, .why = shmring_strerror,
};
static const struct msg_ops poll64_ops = {
	.open = poll64_open, .close = wait_close, .send = wait_send, .end = wait_end,
	.recv = wait_recv, .why = shmring_strerror,
};
static const struct msg_ops epoll_ops = {
	.open = epoll_open, .close = wait_close, .send = wait_send, .end = wait_end,
	.recv = wait_recv, .why = shmring_strerror,
};
#define THINK_OPS(nm, op)                                                          \
	static const struct msg_ops nm = {                                         \
		.open = op, .close = wait_close, .send = wait_send, .end = wait_end,   \
		.recv = wait_recv, .why = shmring_strerror,                            \
	}
THINK_OPS(tblock_ops, tblock_open);
THINK_OPS(tpoll_ops, tpoll_open);
THINK_OPS(tpoll64_ops, tpoll64_open);
MSG_SIDES(tblock, struct wait_port, tblock_ops)
MSG_SIDES(tpoll, struct wait_port, tpoll_ops)
MSG_SIDES(tpoll64, struct wait_port, tpoll64_ops)
MSG_SIDES(spoll, struct wait_port, poll_ops)
MSG_SIDES(spoll64, struct wait_port, poll64_ops)
MSG_SIDES(sepoll, struct wait_port, epoll_ops)

const struct transport t_shm_poll1 = {
	.name = "shm-poll1",
	.what = "shmring SPSC, receivers wait in shmring_poll over 1 ring; spin 0",
	.kinds = TK_LATENCY, .nprod = 1, .ncons = 1,
	.no_ref = TK_LATENCY,  /* through the kernel */
	.setup = setup_1, .teardown = wait_teardown,
	.ping = spoll_ping, .pong = spoll_pong, .spin_ns = 0,
};

const struct transport t_shm_poll64 = {
	.name = "shm-poll64",
	.what = "shmring SPSC, receivers wait in shmring_poll over 64 rings (63 idle); spin 0",
	.kinds = TK_LATENCY, .nprod = 1, .ncons = 1,
	.no_ref = TK_LATENCY,  /* through the kernel */
	.setup = setup_64, .teardown = wait_teardown,
	.ping = spoll64_ping, .pong = spoll64_pong, .spin_ns = 0,
};

const struct transport t_shm_poll64s = {
	.name = "shm-poll64-spin",
	.what = "shmring SPSC, consumer waits in shmring_poll over 64 rings; default wait",
	.kinds = TK_STREAM, .nprod = 1, .ncons = 1,
	.setup = setup_64, .teardown = wait_teardown,
	.producer = spoll64_producer, .consumer = spoll64_consumer, .spin_ns = INT64_MIN,
};

const struct transport t_shm_epoll = {
	.name = "shm-epoll",
	.what = "shmring SPSC, receivers wait in epoll on shmring_event_fd (arm, drain)",
	.kinds = TK_STREAM | TK_LATENCY, .nprod = 1, .ncons = 1,
	.no_ref = TK_LATENCY,  /* through the kernel */
	.setup = setup_1, .teardown = wait_teardown,
	.producer = sepoll_producer, .consumer = sepoll_consumer,
	.ping = sepoll_ping, .pong = sepoll_pong, .spin_ns = INT64_MIN,
};

/* the same three waits with a server that works 50 us before each reply:
 * the client sleeps before every reply (in the plain round trips over 64
 * rings the way to sleep takes long enough that the reply is mostly there
 * first, docs/benchmarks.md), so these show what a sleep and its wake cost */
#define THINK_T(ident, nm, desc, setup_, pfx)                                      \
	const struct transport ident = {                                           \
		.name = nm, .what = desc, .kinds = TK_LATENCY, .nprod = 1, .ncons = 1, \
		.setup = setup_, .teardown = wait_teardown, .ping = pfx##_ping,        \
		.pong = pfx##_pong, .spin_ns = 0, .no_ref = TK_LATENCY, /* sleeps */  \
	}
THINK_T(t_think_recv, "t50-recv", "as shm-sleep (recv blocking, spin 0), server busy 50 us per reply",
        setup_1, tblock);
THINK_T(t_think_poll1, "t50-poll1", "as shm-poll1, server busy 50 us per reply", setup_1, tpoll);
THINK_T(t_think_poll64, "t50-poll64", "as shm-poll64, server busy 50 us per reply", setup_64,
        tpoll64);

/* ------------------------------------------------------------------ */
/* the yardstick: a pipe in epoll                                      */

/* fd layout as the pipe transport's: client writes fd1, reads fd2; server
 * reads fd0, writes fd3 */
static int pe_setup(struct bctx *c, int latency)
{
	(void)latency;
	if (pipe2(&c->fd[0], O_CLOEXEC) || pipe2(&c->fd[2], O_CLOEXEC)) {
		perror("ipc_bench: pipe2");
		for (int i = 0; i < MAX_FDS; i++)
			if (c->fd[i] >= 0)
				close(c->fd[i]);
		return -1;
	}
	return 0;
}

static void pe_teardown(struct bctx *c)
{
	(void)c;
}

struct pe_port {
	struct port port;
	int fd, ep;
};

MSG_OP int pe_open(struct bctx *c, struct port *p, int chan, int dir)
{
	struct pe_port *e = (struct pe_port *)p;
	e->fd = take_fd(c, 2 * chan + (dir == PORT_SEND));
	e->ep = -1;
	if (dir == PORT_RECV) {
		fcntl(e->fd, F_SETFL, fcntl(e->fd, F_GETFL) | O_NONBLOCK);
		e->ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		if (e->ep < 0 || epoll_ctl(e->ep, EPOLL_CTL_ADD, e->fd, &ev))
			return side_fail(c, "epoll: %s", strerror(errno));
	}
	return port_init(c, p, dir, c->size);
}

MSG_OP void pe_close(struct port *p)
{
	struct pe_port *e = (struct pe_port *)p;
	if (e->ep >= 0)
		close(e->ep);
	port_fini(p);
}

MSG_OP int pe_send(struct port *p, const void *m, size_t len)
{
	const char *b = m;
	int fd = ((struct pe_port *)p)->fd;
	while (len) {
		ssize_t n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

MSG_OP int pe_end(struct port *p)
{
	return close(((struct pe_port *)p)->fd) ? -errno : 0;
}

/* one message: read what is there; on EAGAIN wait in epoll */
MSG_OP ssize_t pe_recv(struct port *p, unsigned char *buf, size_t size, const void **m)
{
	struct pe_port *e = (struct pe_port *)p;
	size_t have = 0;
	*m = buf;
	while (have < size) {
		ssize_t n = read(e->fd, buf + have, size - have);
		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		if (n == 0)
			return have ? -EPROTO : -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		struct epoll_event ev;
		if (epoll_wait(e->ep, &ev, 1, -1) < 0 && errno != EINTR)
			return -errno;
	}
	return (ssize_t)size;
}

static const struct msg_ops pe_ops = {
	.open = pe_open, .close = pe_close, .send = pe_send, .end = pe_end, .recv = pe_recv,
};
MSG_SIDES(pe, struct pe_port, pe_ops)

const struct transport t_pipe_epoll = {
	.name = "pipe-epoll",
	.what = "two pipes, non-blocking reads, receivers wait in epoll (the event-loop pipe)",
	.kinds = TK_LATENCY, .nprod = 1, .ncons = 1,
	.no_ref = TK_LATENCY,  /* through the kernel */
	.setup = pe_setup, .teardown = pe_teardown, .ping = pe_ping, .pong = pe_pong,
};
