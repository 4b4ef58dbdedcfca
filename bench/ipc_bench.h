/* SPDX-License-Identifier: MIT */
/*
 * ipc_bench.h - what the parts of the IPC comparison suite share.
 *
 *   ipc_bench.c      options and the run loop (every case of every repetition)
 *   harness.c        fork, pin, start together, time, run one case, verify counts
 *   msgloop.h/.c     the per-message loops: stamp, check, round trips
 *   report.h/.c      the metric table and its terminal, JSON and CSV output
 *   transports_*.c   how each transport sends, receives and ends a stream
 *                    (the reference ring keeps the loops it always had)
 *   ref_ring.h, ref_ff.h (transport_ref_ff.c)   the two SPSC reference rings
 *   ref_vyukov.h (transport_ref_vyukov.c)       the MPMC reference queue
 *
 * The harness forks the two sides of every case (up to MAX_SIDE processes
 * each), pins them (the MPMC shapes other than 1x1: not), starts them
 * together and collects one struct side_result per process through an
 * anonymous shared mapping. A transport only moves messages: msgloop.h runs
 * its sends and receives between side_ready() and side_done().
 *
 * Every message carries a 64-bit word at offset 0 (and, from 16 bytes on,
 * the same word in its last 8 bytes): producer id in the top 8 bits, the
 * message's sequence number below. Receivers check every message with
 * chk_msg(); a mismatch fails the run.
 */
#ifndef IPC_BENCH_H
#define IPC_BENCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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
};

/* the harness's shared page */
struct bshared {
	_Atomic int ready;
	_Atomic int go;
	double go_time;
	struct side_result r[2 * MAX_SIDE];
};

/* TK_MPMC: a streaming case of an MPMC shape, in the MPMC tables (its own
 * sizes, --mpmc-sizes; x ref against ref-vyukov of the same shape) */
enum tkind { TK_STREAM = 1, TK_LATENCY = 2, TK_MPMC = 4 };

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
	int unpinned;               /* every side left to the scheduler, whatever
	                             * --placement says (the MPMC worker-pool shapes) */
};

/* ---- harness services for transports (harness.c) ---- */
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

/* ---- for main (harness.c) ---- */
struct case_out {
	int ok;                     /* 1 measured, 0 failed, -1 skipped */
	char why[200];
	uint64_t msgs;
	/* stream; futex, memb, yield, csw (calls or switches per 1000 messages)
	 * and spin_ns are NaN where n/a */
	double mps, bps, pcpu, ccpu, futex, spin_ns;
	double memb, yield, csw;
	/* latency, nanoseconds */
	double p50, p99, p999, max, samples, mean;
	/* noise: cache-line round trip between the case's two CPUs, ns, median
	 * of a short ping-pong just before and just after the case */
	double rtt_before, rtt_after;
};
/* SIGCHLD blocked for run_case, SIGINT/SIGTERM stop the run, SIGPIPE ignored */
void harness_signals(void);
int harness_interrupted(void);
/* --placement: where the two sides run */
enum placement { PL_CROSS, PL_SAME, PL_NONE };
/* the CPUs for a placement: cross, the first two CPUs we may run on; same,
 * the first one for both; none, -1 (not pinned). 0, or -1 when cross has
 * fewer than two CPUs (then both are -1) */
int harness_cpus(enum placement pl, int *cpu_prod, int *cpu_cons);
/* median cache-line round trip (ns) between two threads on these CPUs (-1:
 * not pinned): a short ping-pong on one line; NaN if it could not run */
double harness_line_rtt(int cpu_a, int cpu_b);
/* one case: 0 measured or skipped (o->ok says which), -1 failed (o->why says why) */
int run_case(const struct transport *t, size_t size, double duration, int latency,
             int cpu_prod, int cpu_cons, struct case_out *o);

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
	int strict;                 /* 1x1: every id's sequence must be exactly next */
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
static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* transports */
extern const struct transport t_shm_spsc, t_shm_burst, t_shm_burst256, t_shm_zc, t_shm_sleep,
	t_ref_ring, t_sem, t_pipe, t_pipe_batch,
	t_unix_stream, t_unix_seqpacket, t_tcp, t_mq, t_urcu, t_ref_ff,
	t_shm_64m, t_shm_64m_huge;
/* the MPMC shapes (transports_shm.c, transport_ref_vyukov.c) */
extern const struct transport t_shm_mpmc11, t_shm_mpmc14, t_shm_mpmc41, t_shm_mpmc22,
	t_shm_mpmc44, t_vy_yield11, t_vy_yield14, t_vy_yield41, t_vy_yield22, t_vy_yield44,
	t_vy_spin11, t_vy_spin14, t_vy_spin41, t_vy_spin22, t_vy_spin44;
#define MPMC_SLOTS 1024            /* ring capacity of every MPMC case */
extern const struct transport t_shm_poll1, t_shm_poll64, t_shm_poll64s, t_shm_epoll, t_pipe_epoll,
	t_think_recv, t_think_poll1, t_think_poll64;

/* shared by the shared-memory transport files (transports_shm.c) */
int map_shared(struct bctx *c, size_t len);  /* zeroed, at c->mem; 0 or -1 */
void unmap_shared(struct bctx *c);
int shm_stream_producer(struct bctx *c);      /* shm-spsc's streaming loops */
int shm_stream_consumer(struct bctx *c);

#endif /* IPC_BENCH_H */
