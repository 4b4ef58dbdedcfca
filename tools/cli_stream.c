/* SPDX-License-Identifier: MIT */
/*
 * cli_stream.c - `shmring push` (standard input -> ring) and `shmring pop`
 * (ring -> standard output).
 *
 * Byte mode (the default) carries the byte stream exactly: push reads
 * standard input straight into a reserved slot (one read() per message, up
 * to slot_size bytes) and commits what it read; pop writes each message's
 * bytes in order. Message boundaries carry no meaning in this mode.
 * --lines makes one message per line (without its newline) on push, and
 * appends a newline to every message on pop.
 *
 * Blocking library calls wait at most CLI_SLICE_NS at a time so that a
 * signal (SIGINT, SIGTERM, SIGHUP; push also SIGPIPE) ends the program
 * within a slice. push shuts the stream down (shmring_shutdown) only when
 * all of its input went into the ring; a signal, a failed read, a line too
 * long, --timeout or a vanished consumer end it with shmring_abort, so that
 * pop (here or past a bridge) exits 13 rather than take a prefix for the
 * whole. pop exits 0 only when the library says the stream ended cleanly
 * (shmring_end_reason).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

/* ---------------------------------------------------------------- push */

static const char push_usage[] =
"Usage: shmring push [OPTIONS] NAME\n"
"Send standard input into the ring NAME, then end the stream.\n"
"\n"
"By default the bytes of standard input are carried exactly: they are cut\n"
"into messages of at most the ring's slot size, and 'shmring pop' writes them\n"
"back unchanged. At end of input the stream is shut down, so pop exits 0;\n"
"when push stops before the end of its input (a signal, a read error, a line\n"
"too long, --timeout, no consumer left) it aborts the stream, so pop exits 13.\n"
"If NAME does not exist it is created with the ring options below. NAME is a\n"
"shm name, or a file path when it has a '/' after its first character (./r).\n"
"\n"
"Options:\n"
"  -l, --lines          one message per input line (the newline is not sent)\n"
"      --no-create      fail if the ring does not exist\n"
"      --spin NS        spin this many ns before sleeping (0: sleep at once)\n"
"  -t, --timeout SECONDS  fail (exit 10) when the ring has no room for a\n"
"                       message for this long (no consumer takes any)\n"
"  ring options, used only when push creates the ring (see shmring create):\n"
"      --kind spsc|mpmc|broadcast --broadcast --slots N (64)\n"
"      --slot-size BYTES (64K) --mode OCTAL (0600) --prefault --hugepages\n"
"      --mlock --overwrite --packed\n"
"      --file               NAME is a file path even without a '/' (r: ./r)\n"
"  -h, --help           show this help\n"
"\n"
"Exit status: 0 all input sent; 1 no huge pages, or the lock in memory\n"
"refused (RLIMIT_MEMLOCK), or reading standard input failed; 8 every consumer\n"
"left (closed or died) before the end; 9 a line longer than the slot size\n"
"(--lines); 10 --timeout expired; 130 interrupted (SIGINT, SIGTERM, SIGHUP,\n"
"SIGPIPE); see shmring(1).\n";

/* consumers seen when push attached: -EPIPE from the library means "every
 * consumer that ever attached is gone"; for push it means so only if one
 * was there when we came or came since. Otherwise (a ring reused after an
 * earlier stream) we wait for the next consumer, like a FIFO's writer. */
static uint32_t push_attaches0;
static int push_live0;

static int consumers_live(const struct shmring_info *in)
{
	for (unsigned i = 0; i < in->nconsumers; i++)
		if (in->consumers[i].alive)
			return 1;
	return 0;
}

static void note_consumers(struct shmring *r)
{
	struct shmring_info in;
	if (shmring_info(r, &in) == 0) {
		push_attaches0 = in.consumer_attaches;
		push_live0 = consumers_live(&in);
	}
}

int cli_open_producer(const char *name, const struct cli_ring_opts *ro, int create,
                      struct shmring **r)
{
	int rc = -EEXIST;
	for (int tries = 0; tries < 3; tries++) {
		rc = cli_ring_open(name, SHMRING_PRODUCER, r);
		if (rc == 0)
			goto attached;
		if (rc != -ENOENT || !create)
			return cli_fail_ring(name, NULL, rc);
		rc = cli_ring_create(name, &ro->cfg, SHMRING_PRODUCER, r);
		if (rc == 0)
			goto attached;
		if (rc != -EEXIST)   /* lost a race with another creator: open it */
			break;
	}
	return cli_fail_ring(name, &ro->cfg, rc);
attached:
	note_consumers(*r);
	return EX_OK;
}

/*
 * How long one message waits for room. The first try does not wait (and
 * reads no clock: the fast path stays as it is); after it, the wait goes
 * in slices of CLI_SLICE_NS so that the stop flag is looked at, the last
 * slice cut to what push --timeout leaves. -EINTR: a signal; -ETIME:
 * --timeout spent (no consumer made room for that long).
 */
static double send_timeout_s = -1;   /* push --timeout; < 0: no limit */

struct send_wait {
	int started;       /* a try found no room: the clock runs */
	double give_up;    /* when --timeout is spent */
};

static int64_t wait_slice(const struct send_wait *w)
{
	if (!w->started)
		return 0;
	if (send_timeout_s < 0)
		return CLI_SLICE_NS;
	double left = w->give_up - cli_now();
	if (left <= 0)
		return 0;
	return left * 1e9 < (double)CLI_SLICE_NS ? (int64_t)(left * 1e9) + 1 : CLI_SLICE_NS;
}

/* after a try that found no room: 0 to try again, -EINTR or -ETIME */
static int wait_more(struct send_wait *w)
{
	if (cli_stop)
		return -EINTR;
	if (!w->started) {
		w->started = 1;
		w->give_up = cli_now() + send_timeout_s;
		return 0;
	}
	if (send_timeout_s >= 0 && cli_now() >= w->give_up)
		return -ETIME;
	return 0;
}

/* after -EPIPE: 0 when a consumer has (re)appeared and the call can be
 * retried, -EPIPE when a consumer we could have served is gone, or
 * wait_more's -EINTR / -ETIME while none comes */
static int await_consumer(struct shmring *r, struct send_wait *w)
{
	struct shmring_info in;
	for (;;) {
		if (shmring_info(r, &in) < 0)
			return -EPIPE;
		if (consumers_live(&in))
			return 0;
		if (push_live0 || in.consumer_attaches != push_attaches0)
			return -EPIPE;
		int rc = wait_more(w);
		if (rc < 0)
			return rc;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
}

/* the library's answer to a try, as the loops below take it: 1 to try
 * again, else what to return (0 or an error) */
static int retry(struct shmring *r, struct send_wait *w, int rc)
{
	if (rc == -EPIPE)
		return (rc = await_consumer(r, w)) == 0 ? 1 : rc;
	if (rc != -EAGAIN && rc != -ETIMEDOUT)
		return rc;
	return (rc = wait_more(w)) == 0 ? 1 : rc;
}

/* wait for a free slot */
static int reserve_slot(struct shmring *r, struct shmring_slot *s)
{
	struct send_wait w = { 0, 0 };
	int rc;
	while ((rc = retry(r, &w, shmring_reserve(r, s, wait_slice(&w)))) == 1)
		;
	return rc;
}

int cli_send_msg(struct shmring *r, const void *msg, size_t len)
{
	struct send_wait w = { 0, 0 };
	int rc;
	while ((rc = retry(r, &w, shmring_send(r, msg, len, wait_slice(&w)))) == 1)
		;
	return rc;
}

int cli_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n)
{
	struct send_wait w = { 0, 0 };
	while (n > 0) {
		int rc = shmring_send_burst(r, msgs, n, wait_slice(&w));
		if (rc > 0) {
			msgs += rc;
			n -= (unsigned)rc;
			w.started = 0;   /* progress: a new wait */
			continue;
		}
		if ((rc = retry(r, &w, rc)) != 1)
			return rc;
	}
	return 0;
}

/* byte mode: read() straight into the shared slot, commit what came */
static int push_bytes(struct shmring *r, const char *name, unsigned kind)
{
	struct shmring_slot s;

	for (;;) {
		int rc = reserve_slot(r, &s);
		if (rc < 0)
			return rc;
		ssize_t n;
		do
			n = read(STDIN_FILENO, s.data, s.len);
		while (n < 0 && errno == EINTR && !cli_stop);
		if (n <= 0) {
			int err = n < 0 ? errno : 0;
			/* no way to cancel a reservation: an MPMC slot that was
			 * claimed must be published or it blocks every consumer,
			 * so it goes out empty (an empty message adds no bytes);
			 * an SPSC reservation is simply never published */
			if (kind == SHMRING_MPMC)
				shmring_commit(r, &s, 0);
			if (n == 0)
				return 0;
			if (err == EINTR)
				return -EINTR;
			cli_err(name, "reading standard input: %s", strerror(err));
			return -EIO;
		}
		rc = shmring_commit(r, &s, (size_t)n);
		if (rc < 0)
			return rc;
	}
}

static int push_lines(struct shmring *r, const char *name, uint32_t slot_size)
{
	char *line = NULL;
	size_t cap = 0;
	uint64_t lineno = 0;
	int rc = 0;

	for (;;) {
		errno = 0;
		ssize_t n = getline(&line, &cap, stdin);
		if (n < 0) {
			if (ferror(stdin)) {
				if (errno == EINTR && !cli_stop) {
					clearerr(stdin);
					continue;
				}
				if (errno == EINTR) {
					rc = -EINTR;
				} else {
					cli_err(name, "reading standard input: %s", strerror(errno));
					rc = -EIO;
				}
			}
			break;
		}
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if ((size_t)n > slot_size) {
			cli_err(name, "line %llu is %zd bytes, longer than the slot size (%u)",
			        (unsigned long long)lineno, n, slot_size);
			rc = -EMSGSIZE;
			break;
		}
		rc = cli_send_msg(r, line, (size_t)n);
		if (rc < 0)
			break;
	}
	free(line);
	return rc;
}

/* SIGPIPE ends push like the other signals (cli_signals() takes SIGINT,
 * SIGTERM and SIGHUP): the stream is aborted, not left half-sent */
static void on_sigpipe(int sig)
{
	(void)sig;
	cli_stop = 1;
}

int cmd_push(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lines", no_argument, NULL, 'l' },
		{ "no-create", no_argument, NULL, 'N' },
		{ "spin", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		CLI_RING_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_ring_opts ro;
	int lines = 0, create = 1, opt;
	int64_t spin = -2;   /* -2: library default */
	char name[CLI_RING_MAX];
	uint64_t v;

	cli_ring_opts_init(&ro);
	while ((opt = getopt_long(argc, argv, "lt:h", longopts, NULL)) != -1) {
		int k = cli_ring_opt(&ro, opt, optarg);
		if (k < 0)
			return EX_USAGE;
		if (k > 0)
			continue;
		switch (opt) {
		case 'l': lines = 1; break;
		case 'N': create = 0; break;
		case 'S':
			if (cli_parse_u64(optarg, &v) || v > INT64_MAX)
				return cli_usage("--spin takes nanoseconds, not '%s'", optarg);
			spin = (int64_t)v;
			break;
		case 't':
			if (cli_parse_seconds(optarg, &send_timeout_s))
				return cli_usage("--timeout takes seconds, not '%s'", optarg);
			break;
		case 'h': fputs(push_usage, stdout); return EX_OK;
		default: return cli_bad_option(argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("expects exactly one ring NAME");
	int rc = cli_name(argv[optind], ro.as_file, name, sizeof(name));
	if (rc < 0)
		return cli_fail_ring(argv[optind], NULL, rc);

	cli_signals();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;   /* no SA_RESTART, as cli_signals() */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	struct shmring *r;
	if ((rc = cli_open_producer(name, &ro, create, &r)) != EX_OK)
		return rc;
	if (spin != -2)
		shmring_set_spin(r, spin);

	struct shmring_info info;
	shmring_info(r, &info);
	if (lines)
		rc = push_lines(r, name, info.slot_size);
	else
		rc = push_bytes(r, name, info.kind);

	/* the end of the stream: complete only when all input went in;
	 * consumers drain what was sent either way, then stop */
	if (rc == 0)
		shmring_shutdown(r);
	else
		shmring_abort(r);
	shmring_close(r);
	if (rc == 0)
		return EX_OK;
	if (rc == -EINTR)
		return EX_SIGNAL;
	if (rc == -EIO)
		return EX_FAIL;           /* already reported */
	if (rc == -EMSGSIZE)
		return EX_MSGSIZE;        /* already reported */
	if (rc == -EPIPE) {
		cli_err(name, "no consumer left (every consumer closed or died); input not fully sent");
		return EX_NOPEER;
	}
	if (rc == -ETIME) {
		cli_err(name, "no room in the ring for %g s (no consumer took a message); "
		        "input not fully sent", send_timeout_s);
		return EX_TIMEOUT;
	}
	return cli_fail(name, rc);
}

/* ----------------------------------------------------------------- pop */

static const char pop_usage[] =
"Usage: shmring pop [OPTIONS] NAME [NAME...]\n"
"Receive messages from the ring NAME and write them to standard output until\n"
"the end of the stream (every producer shut down, aborted, closed or died;\n"
"only a stream that every producer shut down, as 'shmring push' does after\n"
"all of its input, ends with exit 0).\n"
"On a broadcast ring each pop is one subscriber: it receives every message\n"
"sent after it attached, whatever other subscribers read.\n"
"With several rings (up to 128), messages are written as they arrive on any\n"
"of them (one wait for all: shmring_poll), whole messages interleaved, until\n"
"every stream has ended; use --lines when they carry lines.\n"
"\n"
"By default each message's bytes are written as they are, so the output is\n"
"exactly what 'shmring push' read. If NAME does not exist yet, pop waits for\n"
"it to be created (see --wait). NAME is a shm name, or a file path when it\n"
"has a '/' after its first character (./r).\n"
"\n"
"Options:\n"
"  -l, --lines          write a newline after every message\n"
"  -n, --count N        stop after N messages (in all)\n"
"  -w, --wait SECONDS   how long to wait for NAME to be created (default 10;\n"
"                       0: fail at once; 'inf': forever)\n"
"  -t, --timeout SECONDS  fail (exit 10) when no message comes for this long\n"
"  -u, --unlink         remove the ring(s) after the end of the stream(s)\n"
"      --spin NS        spin this many ns before sleeping (0: sleep at once)\n"
"      --allow-loss     an overwrite-oldest ring's losses are reported but do\n"
"                       not change the exit status\n"
"  -h, --help           show this help\n"
"\n"
"Exit status: 0 end of a stream that was shut down (or --count reached;\n"
"several rings: every stream ended so);\n"
"3 no such ring; 6 corrupt messages were skipped; 7 another consumer holds\n"
"the ring; 10 --timeout expired; 11 standard output was closed; 13 the stream\n"
"did not end cleanly: its producer aborted it (push interrupted, or its input\n"
"failed) or died or closed without shutting down, so the data may be\n"
"incomplete; 15 an overwrite-oldest ring lost messages before they were\n"
"read (the output holds the intact ones, in order; the count is on standard\n"
"error; not with --allow-loss); 130 interrupted; see shmring(1).\n";

/* an output buffer in front of write(2): small messages are gathered, big
 * ones go straight from the slot; partial writes are finished */
#define OUTBUF_SIZE (256 * 1024)
struct outbuf {
	size_t len;
	int err;        /* errno of a failed write, sticky */
	char data[OUTBUF_SIZE];
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR && !cli_stop)
				continue;
			return errno;   /* EINTR: a signal, while the reader stalls */
		}
		p += w;
		n -= (size_t)w;
		if (n > 0 && cli_stop)
			return EINTR;   /* a signal cut a blocked write short */
	}
	return 0;
}

static int out_flush(struct outbuf *o)
{
	if (!o->err && o->len)
		o->err = write_all(STDOUT_FILENO, o->data, o->len);
	o->len = 0;
	return o->err;
}

static int out_put(struct outbuf *o, const void *p, size_t n, int newline)
{
	if (o->err)
		return o->err;
	if (o->len + n + 1 > OUTBUF_SIZE && out_flush(o))
		return o->err;
	if (n >= OUTBUF_SIZE / 2) {   /* big: no copy */
		o->err = write_all(STDOUT_FILENO, p, n);
		if (!o->err && newline)
			o->err = write_all(STDOUT_FILENO, "\n", 1);
		return o->err;
	}
	memcpy(o->data + o->len, p, n);
	o->len += n;
	if (newline)
		o->data[o->len++] = '\n';
	return 0;
}

int cli_open_consumer(const char *name, double wait_s, struct shmring **r)
{
	double give_up = cli_now() + wait_s;
	for (;;) {
		int rc = cli_ring_open(name, SHMRING_CONSUMER, r);
		if (rc != -ENOENT || cli_now() >= give_up)
			return rc;
		if (cli_stop)
			return -EINTR;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* Where the stream a consumer receives starts (pop, and bridge from a
 * ring): on a ring whose last stream was already received to its end, that
 * end is not ours; wait, like a FIFO's reader, for the next producer. A
 * broadcast subscriber receives nothing sent before it attached, so an
 * ended stream is never its own, whatever other subscribers still hold. */
int cli_stream_begin(struct shmring *r)
{
	struct shmring_info at_open, in;
	if (shmring_info(r, &at_open) < 0 || !at_open.stream_ended ||
	    (at_open.used != 0 && at_open.kind != SHMRING_BROADCAST))
		return 0;
	in = at_open;
	while (in.stream_epoch == at_open.stream_epoch && !cli_stop) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
		if (shmring_info(r, &in) < 0)
			break;
	}
	return cli_stop ? -EINTR : 0;
}

/* At the end of the stream (a receive returned -EPIPE): the library's
 * shmring_end_reason(), asked at once (a consumer's answer lasts until a
 * producer starts the next stream); the warning for it, NULL when clean. */
int cli_stream_end(struct shmring *r, const char **why)
{
	int reason = shmring_end_reason(r);
	switch (reason) {
	case SHMRING_END_CLEAN:
		*why = NULL;
		break;
	case SHMRING_END_ABORTED:
		*why = "the stream was aborted by its producer (interrupted, or its input "
		       "failed); the data is incomplete";
		break;
	case SHMRING_END_DIED:
		*why = "a producer died or closed without shutting down (killed, crashed, "
		       "or exec'd); the data may be incomplete";
		break;
	default:
		*why = "cannot tell how the stream ended (a new stream began at once); "
		       "the data may be incomplete";
		reason = 0;
		break;
	}
	return reason;
}

/* one ring pop reads from */
struct pop_src {
	char name[CLI_RING_MAX];
	struct shmring *r;
	int done;                   /* its stream ended (-EPIPE seen) */
	void *copy;                 /* overwrite-oldest ring: messages are copied
	                             * out (recv), never read in place */
	size_t cap;
	uint64_t overruns0;         /* its overruns when we attached */
};

/* messages taken from one ring before pop looks at the next (several rings) */
#define POP_BATCH 64

/* open every ring as a consumer, then find where each one's stream starts
 * (which may wait for a new stream: after the opens, so that a missing ring
 * fails first); on failure the ones opened are closed */
static int pop_open_all(struct pop_src *src, unsigned n, double wait_s, int64_t spin)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		rc = cli_open_consumer(src[i].name, wait_s, &src[i].r);
		if (rc == 0 && spin != -2)
			shmring_set_spin(src[i].r, spin);
	}
	if (rc < 0) {
		for (unsigned j = 0; j + 1 < i; j++)
			shmring_close(src[j].r);
		return rc == -EINTR ? EX_SIGNAL : cli_fail_ring(src[i - 1].name, NULL, rc);
	}
	for (i = 0; i < n; i++)
		if (cli_stream_begin(src[i].r) < 0) {
			for (unsigned j = 0; j < n; j++)
				shmring_close(src[j].r);
			return EX_SIGNAL;
		}
	return EX_OK;
}

int cli_msg_next(struct shmring *r, struct shmring_slot *s, void *copy, size_t cap,
                 int64_t timeout_ns)
{
	if (!copy)
		return shmring_acquire(r, s, timeout_ns);
	ssize_t n = shmring_recv(r, copy, cap, timeout_ns);
	if (n < 0)
		return (int)n;
	s->data = copy;
	s->len = (size_t)n;
	return 0;
}

void cli_msg_done(struct shmring *r, struct shmring_slot *s, const void *copy)
{
	if (!copy)
		shmring_release(r, s);
}

void *cli_msg_buffer(struct shmring *r, size_t *cap, uint64_t *overruns)
{
	struct shmring_info in;
	struct shmring_stats st;
	*cap = 0;
	*overruns = 0;
	if (shmring_info(r, &in) < 0 || !(in.flags & SHMRING_OVERWRITE))
		return NULL;
	if (shmring_stats(r, &st) == 0)
		*overruns = st.overruns;
	*cap = in.slot_size;
	return malloc(in.slot_size);
}

int cmd_pop(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lines", no_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'n' },
		{ "wait", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "unlink", no_argument, NULL, 'u' },
		{ "spin", required_argument, NULL, 'S' },
		{ "allow-loss", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int lines = 0, unlink_at_end = 0, allow_loss = 0, opt;
	uint64_t count = UINT64_MAX, v;
	double wait_s = 10, timeout_s = -1;
	int64_t spin = -2;

	while ((opt = getopt_long(argc, argv, "ln:w:t:uh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l': lines = 1; break;
		case 'n':
			if (cli_parse_u64(optarg, &count))
				return cli_usage("--count takes a number, not '%s'", optarg);
			break;
		case 'w':
			if (!strcmp(optarg, "inf"))
				wait_s = 1e18;
			else if (cli_parse_seconds(optarg, &wait_s))
				return cli_usage("--wait takes seconds or 'inf', not '%s'", optarg);
			break;
		case 't':
			if (cli_parse_seconds(optarg, &timeout_s))
				return cli_usage("--timeout takes seconds, not '%s'", optarg);
			break;
		case 'u': unlink_at_end = 1; break;
		case 'L': allow_loss = 1; break;
		case 'S':
			if (cli_parse_u64(optarg, &v) || v > INT64_MAX)
				return cli_usage("--spin takes nanoseconds, not '%s'", optarg);
			spin = (int64_t)v;
			break;
		case 'h': fputs(pop_usage, stdout); return EX_OK;
		default: return cli_bad_option(argv);
		}
	}
	if (optind >= argc)
		return cli_usage("expects a ring NAME");
	unsigned n = (unsigned)(argc - optind);
	if (n > SHMRING_POLL_MAX)
		return cli_usage("at most %u rings", SHMRING_POLL_MAX);
	struct pop_src *src = calloc(n, sizeof(*src));
	struct shmring_pollitem *items = calloc(n, sizeof(*items));
	struct outbuf *o = malloc(sizeof(*o));
	unsigned *live = calloc(n, sizeof(*live));   /* items[k] is src[live[k]] */
	if (!src || !items || !o || !live) {
		free(src), free(items), free(o), free(live);
		return cli_fail(NULL, -ENOMEM);
	}
	int rc, ret = EX_OK;
	for (unsigned i = 0; i < n; i++) {
		rc = cli_name(argv[optind + i], 0, src[i].name, sizeof(src[i].name));
		for (unsigned j = 0; rc == 0 && j < i; j++)
			if (!strcmp(src[i].name, src[j].name)) {
				ret = cli_usage("ring '%s' given twice", argv[optind + i]);
				goto out_free;
			}
		if (rc < 0) {
			ret = cli_fail_ring(argv[optind + i], NULL, rc);
			goto out_free;
		}
	}

	cli_signals();
	signal(SIGPIPE, SIG_IGN);   /* a closed stdout shows up as EPIPE */
	if ((ret = pop_open_all(src, n, wait_s, spin)) != EX_OK)
		goto out_free;
	o->len = 0;
	o->err = 0;
	for (unsigned i = 0; i < n; i++) {   /* overwrite-oldest rings */
		src[i].copy = cli_msg_buffer(src[i].r, &src[i].cap, &src[i].overruns0);
		if (!src[i].copy && src[i].cap) {
			ret = cli_fail(src[i].name, -ENOMEM);
			for (unsigned j = 0; j < n; j++)
				shmring_close(src[j].r);
			goto out_free;
		}
	}

	/*
	 * Take what each ring holds without waiting (up to POP_BATCH messages
	 * at a time, round robin, so that a busy ring does not starve the
	 * others); when none had anything, flush the output and wait for any
	 * of the live rings in one shmring_poll(), at most CLI_SLICE_NS, so
	 * that the stop flag and --timeout are looked at.
	 */
	uint64_t got = 0, bad = 0;
	unsigned left = n;
	double idle_since = cli_now();
	while (got < count && left > 0 && ret == EX_OK && !o->err) {
		int moved = 0;
		for (unsigned i = 0; i < n && got < count && ret == EX_OK; i++) {
			struct pop_src *p = &src[i];
			for (unsigned k = 0; !p->done && k < POP_BATCH && got < count; k++) {
				struct shmring_slot s;
				rc = cli_msg_next(p->r, &s, p->copy, p->cap, 0);
				if (rc == -EAGAIN)
					break;
				if (rc == -EPIPE) {
					/* this stream's end: drained, every producer gone */
					const char *why;
					cli_stream_end(p->r, &why);
					if (why) {
						cli_err(p->name, "warning: %s", why);
						p->done = EX_TRUNCATED;
					} else {
						p->done = 1;
					}
					left--;
					break;
				}
				if (rc == -EBADMSG) {
					/* the library skipped a corrupt slot; report at the end */
					bad++;
					continue;
				}
				if (rc < 0) {
					ret = cli_fail(p->name, rc);
					break;
				}
				out_put(o, s.data, s.len, lines);
				cli_msg_done(p->r, &s, p->copy);
				got++;
				moved = 1;
				if (o->err)
					break;
			}
			if (o->err)
				break;
		}
		if (cli_stop) {
			ret = EX_SIGNAL;
			break;
		}
		if (moved) {
			if (timeout_s >= 0)
				idle_since = cli_now();
			continue;
		}
		if (ret != EX_OK || left == 0 || got >= count || o->err)
			break;
		/* nothing anywhere: flush what we hold, then sleep on them all */
		if (out_flush(o))
			break;
		unsigned m = 0;
		for (unsigned i = 0; i < n; i++)
			if (!src[i].done) {
				items[m] = (struct shmring_pollitem){ .ring = src[i].r,
				                                      .events = SHMRING_POLLIN };
				live[m++] = i;
			}
		rc = shmring_poll(items, m, CLI_SLICE_NS);
		if (rc == -ETIMEDOUT || rc == -EAGAIN) {
			if (cli_stop) {
				ret = EX_SIGNAL;
				break;
			}
			if (timeout_s >= 0 && cli_now() - idle_since >= timeout_s) {
				cli_err(n == 1 ? src[0].name : NULL, "no message for %g s", timeout_s);
				ret = EX_TIMEOUT;
			}
		} else if (rc < 0) {
			ret = cli_fail(src[live[0]].name, rc);
		}
	}
	out_flush(o);
	if (o->err == EPIPE) {
		ret = EX_OUTPUT;   /* the reader went away: leave quietly, like cat */
	} else if (o->err == EINTR) {
		ret = EX_SIGNAL;   /* interrupted while its reader did not read */
	} else if (o->err) {
		cli_err(n == 1 ? src[0].name : NULL, "writing standard output: %s",
		        strerror(o->err));
		ret = EX_FAIL;
	} else if (ret == EX_OK) {
		for (unsigned i = 0; i < n; i++)
			if (src[i].done == EX_TRUNCATED)
				ret = EX_TRUNCATED;   /* a stream of them may be incomplete */
	}
	if (!o->err && bad) {
		cli_err(n == 1 ? src[0].name : NULL, "%llu corrupt message(s) skipped",
		        (unsigned long long)bad);
		if (ret == EX_OK)
			ret = EX_PROTO;   /* a truncated stream keeps 13 */
	}
	for (unsigned i = 0; i < n; i++) {
		struct shmring_stats st;
		if (src[i].copy && shmring_stats(src[i].r, &st) == 0 &&
		    st.overruns != src[i].overruns0) {
			/* SPSC: we are the only consumer, every overrun since
			 * we attached is ours; broadcast: the subscriber's
			 * handle counts its own losses only */
			cli_err(src[i].name, "%s%llu message(s) lost: the producer overwrote them "
			        "before they were read (overwrite-oldest ring)",
			        allow_loss ? "" : "warning: ",
			        (unsigned long long)(st.overruns - src[i].overruns0));
			if (ret == EX_OK && !allow_loss)
				ret = EX_LOST;
		}
	}
	for (unsigned i = 0; i < n; i++)
		shmring_close(src[i].r);
	if (unlink_at_end && (ret == EX_OK || ret == EX_TRUNCATED))
		for (unsigned i = 0; i < n; i++) {
			rc = cli_ring_unlink(src[i].name);
			if (rc < 0 && rc != -ENOENT)
				ret = cli_fail(src[i].name, rc);
		}
out_free:
	for (unsigned i = 0; i < n; i++)
		free(src[i].copy);
	free(src);
	free(items);
	free(o);
	free(live);
	return ret;
}
