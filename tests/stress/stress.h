/* SPDX-License-Identifier: MIT */
/*
 * stress.h - the worker template shared by every stress, fault-injection
 * and soak driver in tests/stress/ (one engine, thin per-mode drivers, as
 * DPDK's test_ring_stress does).
 *
 * A run ("round") creates one ring, starts P producers and C consumers
 * (processes, or threads of this process), lets them move messages for a
 * fixed time, optionally SIGKILLs some of them at random moments and starts
 * replacements, then stops the producers, lets the consumers drain, and
 * checks from a shared ledger that every committed message arrived exactly
 * once, in order per producer and consumer, uncorrupted.
 *
 * Every message carries (producer id, sequence, length, checksum) in a
 * 24-byte header followed by a payload derived from (id, sequence).
 */
#ifndef SHMRING_STRESS_H
#define SHMRING_STRESS_H

#include <stdint.h>
#include <stddef.h>
#include <shmring.h>

#define ST_MAXP 8
#define ST_MAXC 8

/* what a worker was doing; kept in the ledger so a kill can be attributed */
enum st_op {
	OP_IDLE = 0,     /* between library calls (the harness's own code) */
	OP_SEND,
	OP_SEND_BURST,
	OP_RESERVE,      /* from reserve() to the return of commit() */
	OP_RECV,
	OP_RECV_BURST,
	OP_ACQUIRE,      /* from acquire() to the return of release() */
	OP_OPEN,         /* attaching (open) or detaching (shutdown/close) */
	OP_NOPS
};

/* error kinds counted by the workers */
enum st_err {
	E_AGAIN, E_TIMEDOUT, E_PIPE, E_BADMSG, E_PROTO, E_MSGSIZE, E_BUSY, E_OTHER, E_NKINDS
};
/* the kind of a -errno return (E_OTHER for one not listed) */
enum st_err stress_err_kind(int rc);

struct st_cfg {
	const char *tag;        /* printed in the verdict line */
	unsigned kind;          /* SHMRING_SPSC or SHMRING_MPMC */
	unsigned flags;         /* config flags of the ring (SHMRING_PACKED) */
	unsigned nprod, ncons;
	uint32_t slot_size;     /* >= 24 */
	uint64_t slots;
	double seconds;         /* run time (the fault phase may run longer for min_kills) */
	int threads;            /* 1: workers are threads of this process (TSan) */
	int kill_prod;          /* fault injection: producers may be killed */
	int kill_cons;          /* consumers may be killed */
	unsigned min_kills;     /* keep injecting until this many (bounded by 4x seconds) */
	unsigned max_gap_us;    /* random pause before each kill: 0 .. max_gap_us */
	int64_t timeout_ns;     /* timeout of every blocking call */
	uint64_t seed;
	int quiet;              /* no verdict line from stress_run (the caller prints) */
};

struct st_result {
	uint64_t msgs;          /* messages received and verified */
	uint64_t committed;     /* messages whose send returned success */
	uint64_t kills;
	uint64_t kills_by_op[OP_NOPS];   /* all kills, by what the victim was doing */
	uint64_t pkills_by_op[OP_NOPS];  /* ... of which producers */
	uint64_t err[E_NKINDS];
	uint64_t lost;          /* committed, never received: lost with a killed consumer */
	uint64_t lost_allowed;  /* upper bound explained by consumer kills inside a call */
	uint64_t dup;           /* received twice, unexplained: a failure */
	uint64_t redelivered;   /* received twice: consumer killed between acquire and release */
	uint64_t doubt_recv;    /* in-doubt sends (producer killed in the call) that arrived */
	uint64_t doubt_absent;  /* ... that did not */
	uint64_t reorder;       /* out of order within (producer, consumer): a failure */
	uint64_t corrupt;       /* bad checksum/length: a failure */
	uint64_t phantom;       /* a sequence number never sent: a failure */
	uint64_t overruns;      /* a call returned > 2 s after its timeout: a failure */
	uint64_t hangs;         /* a worker made no progress for 10 s: a failure */
	uint64_t crashes;       /* a worker died by a signal we did not send: a failure */
	uint64_t wedges;        /* MPMC: a process killed between its claim CAS and its
	                         * claim stamp left a slot nobody can recover (known
	                         * limit): wedges_prod of them by producers (consumers
	                         * stall), the rest by consumers (producers stall) */
	uint64_t wedges_prod;
	uint64_t stranded;      /* MPMC: published messages left behind a producer wedge
	                         * at the end of a round; the supervisor reads them from
	                         * the ring and checks them like a consumer */
	uint64_t abandoned;     /* MPMC: shmring_stats().abandoned (dead producers' claims
	                         * published as skip records) */
	uint64_t max_call_ns;   /* longest blocking call seen */
	int failed;
	char why[256];          /* first failure */
};

/* one round; 0 = pass, -1 = fail (res->why says why) */
int stress_run(const struct st_cfg *cfg, struct st_result *res);
/* add b into a (counts; failed ORed; first why kept) */
void stress_merge(struct st_result *a, const struct st_result *b);
/* "<tag>: PASS|FAIL seed=... msgs=... ..." */
void stress_verdict(const char *tag, const struct st_cfg *cfg, const struct st_result *r,
                    double secs);

/* "send:3,recv:2" for the non-zero counts ("0" if none) */
void stress_ops_str(char *buf, size_t cap, const uint64_t by_op[OP_NOPS]);

/* common command line: -s seed -t seconds -k min_kills -q; returns 0 or -1 */
int stress_args(int argc, char **argv, uint64_t *seed, double *seconds, unsigned *kills);
uint64_t stress_seed_default(void);
int64_t stress_now_ns(void);

/* message format, shared with hostile.c and the fuzz targets */
#define ST_MSG_MIN 24u
size_t st_msg_build(void *dst, size_t cap, uint32_t prod, uint64_t seq, uint64_t rnd);
/* 0 ok; -1 bad (length, checksum); fills prod/seq when the header is sane */
int st_msg_check(const void *buf, size_t len, uint32_t *prod, uint64_t *seq);

/* xorshift64*: seedable, per process */
static inline uint64_t st_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(2685821657736338717);
}

static inline uint64_t st_mix(uint64_t z)
{
	z += UINT64_C(0x9e3779b97f4a7c15);
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

#endif
