/* SPDX-License-Identifier: MIT */
/*
 * transport.h - what a transport is, and what the harness gives it.
 *
 * The harness (harness.c) forks the two sides of every case (up to MAX_SIDE
 * processes each), pins them (the MPMC shapes other than 1x1: not), starts
 * them together and collects one struct side_result per process through an
 * anonymous shared mapping (struct bshared). A transport (transports_*.c,
 * transport_*.c) only moves messages: msgloop.h runs its sends and receives
 * between side_ready() and side_done().
 *
 * Every message carries a 64-bit word at offset 0 (and, from 16 bytes on,
 * the same word in its last 8 bytes): producer id in the top 8 bits, the
 * message's sequence number below (msgloop.h stamps and checks it).
 */
#ifndef BENCH_TRANSPORT_H
#define BENCH_TRANSPORT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MAX_SIDE      4            /* processes (or threads) per side */
#define MAX_FDS       4            /* descriptors a case may hold */
#define SEQ_END       UINT64_MAX   /* in-band end-of-stream marker */
#define SEQ_ID_SHIFT  56
#define SEQ_MASK      ((UINT64_C(1) << SEQ_ID_SHIFT) - 1)
#define LAT_WARMUP    2000         /* round trips not recorded */
#define LAT_MAX_SAMPLES (4u << 20)

enum side_role { ROLE_PROD = 0, ROLE_CONS = 1 };

/* what one process (or thread) reports back to the harness */
struct side_result {
	int used;
	int failed;                 /* non-zero: the run is invalid */
	char err[200];
	uint64_t msgs;              /* sent (producer) / received and checked (consumer) */
	uint64_t seq_cnt[MAX_SIDE]; /* consumer: messages per producer id */
	uint64_t seq_sum[MAX_SIDE]; /* consumer: sum of sequence numbers per producer id */
	double t0, t1;              /* CLOCK_MONOTONIC seconds: go, done */
	double cpu_s;               /* user + system CPU seconds between go and done */
	int has_futex;              /* futex_calls and membarriers are meaningful (shmring) */
	uint64_t futex_calls;       /* shmring: sleeps + wakes between go and done */
	int64_t spin_ns;            /* shmring: the handle's wait policy */
	/* latency (the client side) */
	uint64_t samples;
	double p50, p99, p999, max, min; /* nanoseconds */
	double mean;                /* nanoseconds */
	/* after the fields above, so that those keep their offsets */
	uint64_t membarriers;       /* shmring: membarrier() calls between go and done */
	int has_yield;              /* yields is meaningful (ref-vyukov-yield) */
	uint64_t yields;            /* sched_yield() calls between go and done */
	uint64_t csw;               /* context switches, voluntary + involuntary, go to done */
};

/* the state of one case, set up by the parent before fork */
struct bctx {
	size_t size;                /* message bytes */
	uint64_t slots;             /* ring capacity (messages) for ring-like transports */
	double duration;            /* seconds of sending */
	int nprod, ncons;
	int cpu_prod, cpu_cons;     /* -1: not pinned */
	char name[96];              /* shm / mq name of this case ("bench" and our pid) */
	char name2[96];             /* second object (ping-pong back channel) */
	int fd[MAX_FDS];            /* transport descriptors */
	void *mem;                  /* transport memory (shared: parent mapping; threads: theirs) */
	size_t mem_len;
	int64_t spin_ns;            /* shmring wait policy; INT64_MIN = library default */
	unsigned burst;             /* shmring bursts: messages per call (0: one) */
	/* harness */
	struct bshared *sh;
	int my_index;               /* which result slot this process writes */
	int my_id;                  /* producer / consumer number within its side */
	int my_cpu;                 /* where side_ready() pins this process or thread */
	struct side_result *res;
	unsigned fd_taken;          /* bit i: this side took fd[i] (take_fd); last, so
	                             * the fields the loops read keep their offsets */
	int fanout;                 /* transport.fanout: each consumer gets every message */
};

/* the harness's shared page */
struct bshared {
	_Atomic int ready;
	_Atomic int go;
	double go_time;
	struct side_result r[2 * MAX_SIDE];
};

/* TK_MPMC: a streaming case of an MPMC shape, in the MPMC tables (its own
 * sizes, --mpmc-sizes; x ref against ref-vyukov of the same shape).
 * TK_BCAST: a case of the broadcast tables (its own sizes, --bcast-sizes;
 * x ref against the row's own yardstick, transport.ref) */
enum tkind { TK_STREAM = 1, TK_LATENCY = 2, TK_MPMC = 4, TK_BCAST = 8 };

struct transport {
	const char *name;
	const char *what;           /* one line for --help and the JSON */
	unsigned kinds;             /* TK_STREAM | TK_LATENCY */
	size_t max_size;            /* 0: no limit */
	int nprod, ncons;           /* stream: processes per side */
	int threads;                /* 1: both sides are threads of one child process */
	/* parent, before fork: 0 ready, > 0 skip this size (c->name holds why), < 0 error */
	int (*setup)(struct bctx *c, int latency);
	void (*teardown)(struct bctx *c);
	/* one call per process (MSG_SIDES in msgloop.h makes them) */
	int (*producer)(struct bctx *c);
	int (*consumer)(struct bctx *c);
	int (*ping)(struct bctx *c);  /* latency: the client measures */
	int (*pong)(struct bctx *c);  /* latency: the server echoes */
	/* threads: one call runs both sides */
	int (*run_threads)(struct bctx *c, struct side_result *prod, struct side_result *cons);
	int64_t spin_ns;
	unsigned burst;
	int extra;                  /* not in the default selection (named, or "all") */
	uint64_t slots;             /* ring capacity in messages; 0: about 4 MiB (run_case) */
	/* the kinds (TK_*) in which no reference ring is a yardstick for this
	 * transport: its messages or its every wake-up go through the kernel,
	 * while the references busy-poll in user space (x ref: "-" there) */
	unsigned no_ref;
	/* one of a family of shapes (name-NxM): the legend's one line for all
	 * of them (NULL: the transport has a line of its own, .what) */
	const char *family_what;
	int unpinned;               /* every side left to the scheduler, whatever
	                             * --placement says (the MPMC worker-pool shapes) */
	/* one producer, and every consumer receives every message (a broadcast
	 * subscriber, one ring of a fan-out): the harness checks each consumer's
	 * count and sum on its own, each consumer checks its stream in order, and
	 * msgs/s counts deliveries (one message to three consumers: three) */
	int fanout;
	/* the yardstick of the row's x ref where the kind takes it from the row
	 * (TK_BCAST): a transport measured in the same repetition */
	const char *ref;
	/* the kinds in which this transport is only a yardstick: it runs there
	 * only beside a selected transport of the kind that is not (shm-spsc in
	 * the broadcast tables, beside shm-bcast-1x1) */
	unsigned yardstick;
	/* each consumer has a ring of its own (spsc-fanout-3): the case's
	 * futex and membarrier calls are the sum of the consumers' rings'
	 * counters, not the widest view of one shared ring's */
	int ring_each;
};

#define MPMC_SLOTS 1024            /* ring capacity of every MPMC case */

/* ---- the harness's services to the sides (harness.c) ---- */
double now_s(void);
/* attached: close the case's descriptors this side did not take, pin,
 * report ready, wait for the start signal, start the clocks */
void side_ready(struct bctx *c);
/* producers: call every few messages; 0 once the duration is over */
int side_running(struct bctx *c);
/* stop the clocks (CPU time, wall time) */
void side_done(struct bctx *c);
/* record a failure (printf format; the first one is kept); returns -1 */
int side_fail(struct bctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* this side uses c->fd[i] (side_ready closes the others); returns it */
int take_fd(struct bctx *c, int i);

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* BENCH_TRANSPORT_H */
