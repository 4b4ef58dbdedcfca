/* SPDX-License-Identifier: MIT */
/*
 * private.h - what the files of src/ share: the private part of the handle,
 * and each file's entry points, grouped by file.
 *
 * Who calls whom (an arrow is "calls"; no two files call each other, and
 * there is no cycle: tools/lint_calls.py checks it in make lint):
 *
 *   poll.c      -> api.c, wait.c, clock.c
 *   api.c       -> spsc.c, mpmc.c, overwrite.c, packed.c, broadcast.c (the engines),
 *                  stream.c, stats.c
 *   place.c     -> lifecycle.c, validate.c (names, paths, memfds, fds)
 *   event.c     -> api.c (wait tables), wait.c, stream.c, clock.c
 *   lifecycle.c -> event.c (close stops the watcher thread)
 *   lifecycle.c -> validate.c, registry.c, stream.c, spsc.c, mpmc.c, mpmc_bias.c, packed.c,
 *                  broadcast.c (join and leave), wait.c, stats.c, clock.c
 *   spsc.c      -> wait.c, stream.c, stats.c
 *   overwrite.c -> wait.c, stream.c, stats.c, clock.c
 *   mpmc.c      -> mpmc_dead.c, mpmc_bias.c, wait.c, stream.c, stats.c, clock.c
 *   mpmc_bias.c -> registry.c, clock.c
 *   packed.c    -> wait.c, stream.c, stats.c
 *   broadcast.c -> registry.c, wait.c, stream.c, stats.c, clock.c
 *   mpmc_dead.c -> registry.c, wait.c, clock.c
 *   stream.c    -> registry.c, wait.c
 *   wait.c      -> stats.c, clock.c
 *   stats.c     -> registry.c
 *   registry.c  -> clock.c
 *   validate.c, clock.c, errors.c: leaves
 * (wait.c is reached from the inline notifier too: shmring__wake; stats.c
 * from the inline byte counters: shmring__flush_bytes.)
 *
 * wait.c knows no ring kind: an engine hands it what to wait for (struct
 * shmring__wait_for: the condition, the end-of-stream test, the repair of
 * a stalled peer) as function pointers. poll.c knows none either: api.c
 * looks up the engine's table for each ring (shmring__wait_table()).
 */
#ifndef SHMRING_PRIVATE_H
#define SHMRING_PRIVATE_H

#include <stdint.h>
#include <time.h>
#include "shmring.h"

/* ---- the private part of the handle (after the public one) ---- */

struct shmring__priv {
	uint64_t nslots;            /* slots, validated at open */
	uint32_t payload_off;       /* bytes before the payload in a slot: 8
	                             * (SPSC) or 16 (MPMC, overwrite) */
	int roles;                  /* SHMRING_PRODUCER | SHMRING_CONSUMER held */
	int readonly;               /* mapped PROT_READ (observer without write access) */
	int forked;                 /* this copy was inherited across fork():
	                             * it holds no attachment */
	int fd;                     /* the object, mapped; -1 once closed */
	int lock_fd;                /* our own open file description of the
	                             * object, never mapped: holds the OFD locks
	                             * of our registry entries (-1: none) */
	size_t map_size;
	uint32_t flags;             /* the ring's config flags, read once at open */
	char name[SHMRING__NAME_MAX + 2];   /* POSIX shm name, or "" */
	char *path;                 /* file path (malloc'd), or NULL */

	/* registry */
	uint64_t self_id;           /* this process as shown in our entries:
	                             * (pidns << 32) | pid, for display */
	int prod_entry;             /* registry index held, -1 if none */
	int cons_entry;
	uint64_t data_bit;          /* our announce bit in data_waiters (the
	                             * consumer entry), 0 without that role */
	uint64_t space_bit;         /* ... in space_waiters (producer entry) */
	int64_t liveness_ns;        /* last liveness scan of the peers */
	struct shmring *next_live;  /* the process's list of open handles, for */
	struct shmring *prev_live;  /* the fork handler (registry.c) */

	/* SPSC */
	uint64_t space_batch;       /* free slots the inline send waits for once
	                             * the ring was full (spsc.c) */
	uint64_t burst_covered;     /* recv_burst: slots the producer's index
	                             * covered (spsc.c, burst_data()) */
	int seal_probe;             /* the next data check also reads prod_idx
	                             * (spsc.c: a published slot without its seal) */
	int slip;                   /* the last data wait found the head at once:
	                             * the next one waits for a distance (spsc.c) */

	/* MPMC */
	uint32_t prod_stamp;        /* claim stamps (layout.h) of our producer */
	uint32_t cons_stamp;        /* and consumer attachments */
	uint32_t prod_intent_n;     /* claim_n as we last wrote it */
	uint32_t cons_intent_n;
	uint64_t prod_lent;         /* position of the reservation handed out */
	uint64_t cons_lent;         /* position of the acquisition handed out */
	int64_t recover_ns;         /* last dead-consumer check (producers) */
	int64_t skip_ns;            /* last dead-producer check (consumers) */
	int bias_ok;                /* the ring speaks the biased claim
	                             * (SHMRING__FLAG_BIAS, read once at open) */
	uint32_t bias_tok[2];       /* [side]: our token while we own that
	                             * side's bias (plain-store claims), else 0 */
	uint32_t bias_retry[2];     /* slow-path claims since the last try to
	                             * take a side's bias (mpmc.c) */

	/* overwrite-oldest (overwrite.c), consumer side */
	uint64_t ow_seq;            /* the seq word of the acquired slot as
	                             * acquire read it (release compares) */
	uint64_t ow_avail;          /* overwrite: cached prod_idx (overwrite.c) */
	uint64_t ow_lost;           /* overruns found, not yet added to the
	                             * shared counter */

	/* packed rings (packed.c): positions are bytes of the record area;
	 * off = pos % size, kept step by step (no division) */
	struct {
		uint64_t size;          /* bytes of the record area, validated */
		uint64_t ppos, plimit;  /* producer: next byte to write (==
		                         * prod_idx), cached cons_idx + size */
		uint64_t poff;
		uint64_t cpos, cavail;  /* consumer: next byte to read (==
		                         * cons_idx), cached prod_idx */
		uint64_t coff;
		uint64_t want;          /* payload bytes the producer waits room
		                         * for (slot_size when not in a call:
		                         * shmring_poll's POLLOUT) */
		uint64_t lent_pad;      /* reserve: padding bytes before the
		                         * handed-out record */
		uint64_t lent_rec;      /* acquire: payload bytes of the lent
		                         * record */
		uint64_t sent, received;  /* messages, as stored in pk_sent /
		                           * pk_received */
	} pk;

	/* broadcast rings (broadcast.c) */
	struct {
		struct shmring__bcast_sub *subs;  /* the subscriber lines, after
		                                   * the slots (from validated
		                                   * sizes) */
		uint64_t start;         /* subscriber: its first position */
		uint64_t delivered;     /* subscriber: messages received */
		uint64_t overruns;      /* subscriber: messages lost */
		uint64_t seq;           /* subscriber: the seq word of the
		                         * acquired slot as acquire read it */
		int probe;              /* subscriber: the next data check also
		                         * reads prod_idx (a published slot
		                         * without its mark) */
		int64_t reap_ns;        /* producer: last liveness check of the
		                         * subscribers that hold it back */
	} bc;

	/* event descriptor (event.c), NULL until shmring_event_fd() */
	struct shmring__event *event;

	/* wait policy */
	int64_t spin_ns;            /* set by shmring_set_spin() */
	int spin_auto;              /* no policy set: decide from CPU placement */
	int64_t spin_auto_ns;       /* the decision, refreshed every 50 ms */
	int64_t spin_checked_ns;    /* when it was last refreshed */
	uint64_t cpus;              /* our affinity as last published (CPUs 0-63) */
	int64_t share_checked_ns;   /* shmring__may_share_cpu()'s last scan */
	int share;                  /* and its answers: another attachment may
	                             * run on our CPUs; */
	int crowded;                /* more attached processes than CPUs */
	unsigned side_n[2];         /* attachments of each side, [producers,
	                             * consumers], ourselves included */
	uint32_t data_batch_rest;   /* MPMC consumer: waits left without a batch
	                             * wait (mpmc.c, batch_first()) */
	uint64_t yields;            /* sched_yield() calls made by this handle's
	                             * crowded waits (process-local; the tests
	                             * read it) */
	uint64_t batch_yields;      /* and by its MPMC batch waits (mpmc.c) */
	uint64_t batch_waits;       /* batch waits begun (spsc.c, mpmc.c;
	                             * process-local, the tests read it) */
	uint8_t held_shift[2];      /* MPMC held wait, [data, space]: the bound
	                             * is SHMRING__HELD_SPIN_NS >> this */

	/* how the stream ended, as this consumer saw it (stream.c) */
	int end_reason;             /* SHMRING_END_*, 0 until a receive
	                             * returned end of stream */
	uint32_t end_epoch;         /* the stream epoch it was for */
	uint64_t end_progress;      /* where this consumer stood then: the
	                             * answer holds until it receives again
	                             * in a later epoch (stream.c) */
	int aborted;                /* producer: shmring_abort() was called */
};

/* what the library allocates: the public part first, so that a struct
 * shmring * is also a struct shmring__handle * */
struct shmring__handle {
	struct shmring pub;
	struct shmring__priv priv;
};

static inline struct shmring__priv *priv(struct shmring *r)
{
	return &((struct shmring__handle *)r)->priv;
}

/* the public kind of a handle's engine kind (SHMRING_SPSC or _MPMC) */
static inline unsigned shmring__public_kind(unsigned kind)
{
	return kind == SHMRING__KIND_OVERWRITE || kind == SHMRING__KIND_PACKED ? SHMRING_SPSC : kind;
}

/* registry entries a side of r may claim: one producer in SPSC rings (the
 * private kinds included) and broadcast rings, one consumer in SPSC rings;
 * SHMRING__MAX_PEERS otherwise */
static inline unsigned shmring__entries(const struct shmring *r, int side)
{
	unsigned k = shmring__public_kind(r->kind);
	if (k == SHMRING_SPSC || (k == SHMRING_BROADCAST && side == SHMRING_PRODUCER))
		return 1;
	return SHMRING__MAX_PEERS;
}

/* the fast-path permission bits of the handle, recomputed on state changes */
static inline void shmring__refresh_fast(struct shmring *r)
{
	int roles = priv(r)->roles;
	r->p.fast = r->kind == SHMRING_SPSC && (roles & SHMRING_PRODUCER) &&
	            !r->p.reserved && !r->p.shut;
	r->c.fast = r->kind == SHMRING_SPSC && (roles & SHMRING_CONSUMER) &&
	            !r->c.acquired;
}

#define SHMRING__LIVENESS_NS 50000000   /* 50 ms between liveness scans */
#define SHMRING__SLEEP_SLICE_NS 100000000 /* a sleep ends at least this often,
                                           * to check the peers' liveness */
#define SHMRING__SHORT_SLICE_NS   1000000 /* ... and at least this often when a
                                           * wake could be missed on it */
#define SHMRING__SPIN_CHECK_EVERY 64      /* spins between clock reads and
                                           * end-of-stream checks */
#define SHMRING__WAITV_MAX 128            /* words one futex_waitv call takes */
#define SHMRING__HELD_SPIN_NS  10000000   /* MPMC: a waiter held up by a claimant
                                           * in mid-operation spins at most this
                                           * long past its budget before sleeping */
#define SHMRING__HELD_SHIFT_MAX 12        /* ... or that >> up to 12 (2.4 us),
                                           * after holds that outlasted it */
#define SHMRING__YIELD_GAP_NS     20000   /* ... yielding the CPU after this,
                                           * then after gaps doubling up to */
#define SHMRING__YIELD_GAP_MAX_NS 1000000 /* this */
#define SHMRING__BATCH_MIN_TIMEOUT_NS 1000000 /* a batch wait (up to ~10 us of
                                           * polls, or 16 yields) only for a
                                           * timeout of at least 1 ms, or none:
                                           * a shorter one is kept to the wait
                                           * loop's precision */
#ifndef SHMRING__CROWD_YIELD_NS          /* (-D for experiments) */
#define SHMRING__CROWD_YIELD_NS 1000000   /* crowded (more processes than
                                           * CPUs): yield at every look,
                                           * through the spin budget and this
                                           * past it */
#endif

/* ---- clock.c: time and CPU placement ---- */
int64_t shmring__now_ns(void);
uint64_t shmring__cpu_mask(void);
/* the default wait policy: how long to spin before sleeping */
int64_t shmring__auto_spin(struct shmring *r, int dir, int64_t now);
/* the policy in force (shmring_set_spin() or the default's): ns to spin
 * before sleeping, 0 sleep at once, < 0 never sleep */
int64_t shmring__spin_budget(struct shmring *r, int dir, int64_t now);
int shmring__may_spin(struct shmring *r);   /* without reading the clock */
/* may a wait with this timeout begin with a batch wait (spsc.c
 * wait_space(), mpmc.c batch_first())? It may spin, and the timeout is
 * infinite or at least SHMRING__BATCH_MIN_TIMEOUT_NS: the batch's bounded
 * polls come before the wait loop reads the clock */
int shmring__may_batch(struct shmring *r, int64_t timeout_ns);
/* may another attachment of r (either side; our own entries left out) run
 * on a CPU we may run on? From the registry's affinity hints, refreshed at
 * most every 50 ms; 1 when unknown */
int shmring__may_share_cpu(struct shmring *r, int64_t now);
/* more attached processes (both sides, us included) than the CPUs they may
 * run on together; same scan and rate as shmring__may_share_cpu() */
int shmring__crowded(struct shmring *r, int64_t now);
int64_t shmring__deadline(int64_t now, int64_t timeout_ns);   /* saturating */
struct shmring__pace {
	int64_t start, deadline, spin;   /* all 0 before the first call */
	int64_t now;                     /* the clock as the last call read it */
};
int shmring__pace(struct shmring__pace *p, int64_t timeout_ns,
                  int64_t (*budget)(void *ctx, int64_t now), void *ctx, int64_t *until);

/* ---- validate.c: names, configs, and the shared header at open ---- */
int shmring__check_name(const char *name);
int shmring__check_config(const struct shmring_config *cfg);
/* the engine kind (public, or private: handle.h) of a ring's kind and flags */
unsigned shmring__engine_kind(unsigned kind, uint32_t flags);
uint32_t shmring__stride(unsigned engine_kind, uint32_t slot_size);
uint32_t shmring__payload_off(unsigned engine_kind);
/* bytes after the header: slots * stride, or a packed ring's record area
 * (slots * slot_size rounded up to 8); 0 on overflow */
uint64_t shmring__data_size(unsigned engine_kind, uint32_t slot_size, uint64_t slots);
/* the identity of a ring, as read ONCE from an untrusted header and
 * validated; the handle is bound from this copy, never from a re-read */
struct shmring__ident {
	uint32_t kind;              /* public kind, as in the header */
	uint32_t slot_size;
	uint64_t slots;
	uint64_t total;
	uint32_t flags;
};
int shmring__check_header(const struct shmring__hdr *h, uint64_t obj_size,
                          struct shmring__ident *out);
int shmring__check_path(const char *path);
/* test-only: called between reading the header and validating it (tests
 * flip identity fields there); NULL in production */
extern void (*shmring__test_hook_open)(void);

/* ---- lifecycle.c: a ring on an open descriptor (place.c opens it) ---- */
struct shmring__place {
	const char *name;           /* POSIX shm name, or NULL */
	const char *path;           /* file path, or NULL (anonymous: both NULL) */
};
/* a new ring on fd (just created, sized to size): on failure fd stays the
 * caller's */
int shmring__make_ring(int fd, const struct shmring__place *where, off_t size,
                       const struct shmring_config *cfg, int roles, struct shmring **out);
/* an existing ring on fd: the handle owns fd, on failure too */
int shmring__open_ring(int fd, int readonly, const struct shmring__place *where, int roles,
                       struct shmring **out);

/* ---- registry.c: attachments, kernel-owned liveness, fork ---- */
uint64_t shmring__self_id(void);
int shmring__same_pidns(uint64_t owner);
int shmring__entry_held(struct shmring *r, int side, unsigned i);
int shmring__attach_roles(struct shmring *r, int roles);
void shmring__detach_roles(struct shmring *r);
/* attachments of a side that may still act (producers: not shut down);
 * dead ones are reaped on the way, at most every SHMRING__LIVENESS_NS
 * unless force is set */
unsigned shmring__live_peers(struct shmring *r, int side, int force);
int shmring__peer_held(struct shmring *r, int side);   /* read-only */
/* read-only: is a producer entry still held by nobody, never shut down, and
 * not reaped yet (a death a reaper will record as SHMRING__ENDF_DIED)? */
int shmring__producer_died_unreaped(struct shmring *r);
void shmring__track(struct shmring *r);     /* on the process's handle list */
void shmring__untrack(struct shmring *r);
/* the handle's lock descriptor (priv->lock_fd), opened and closed under
 * the fork handler's mutex: never inheritable untracked. r is tracked */
int shmring__open_lock_fd(struct shmring *r);
void shmring__close_lock_fd(struct shmring *r);
/* test-only: called while a new lock descriptor is open but not yet the
 * handle's (under the fork mutex); NULL in production */
extern void (*shmring__test_hook_lock_fd)(void);

/* ---- event.c: shmring_event_fd() / shmring_arm() ---- */
void shmring__event_stop(struct shmring *r);   /* from shmring_close() */

/* ---- stream.c: end of stream, like a FIFO's ---- */
void shmring__stream_attached(struct shmring *r);   /* after attach_roles */
int shmring__producers_gone(struct shmring *r, int force);
int shmring__consumers_gone(struct shmring *r, int force);
void shmring__stream_seen_end(struct shmring *r);   /* a consumer got -EPIPE */
int shmring__side_gone_now(struct shmring *r, int side);   /* read-only */
void shmring__mark_shutdown(struct shmring *r);
void shmring__mark_aborted(struct shmring *r);   /* before mark_shutdown */
int shmring__end_reason(struct shmring *r);      /* shmring_end_reason() */

/* ---- wait.c: the futex handshake (waiter's half; the notifier's half is
 * shmring__notify() inline and shmring__wake()) ---- */
struct shmring__wait_for {
	int dir;                                    /* SHMRING__DIR_DATA/_SPACE */
	int (*ready)(struct shmring *r);            /* > 0 go on, 0 wait, < 0 error */
	int (*gone)(struct shmring *r, int force);  /* the peers we wait for left */
	void (*stalled)(struct shmring *r, int force); /* repair what a dead peer
	                                                 * left behind, or NULL */
	void (*at_end)(struct shmring *r);          /* on -EPIPE, or NULL */
	/* MPMC: why the ring is not ready, a hint from relaxed loads:
	 * SHMRING__HELD_PEER (a claimant of the side we wait for is between
	 * its claim and its publication or release), SHMRING__HELD_OURS (one
	 * of our own side is, and holds the other side back), or 0 (the ring
	 * is plainly empty or full). NULL: never held (SPSC) */
	int (*held)(struct shmring *r);
	/* read-only, safe from the event watcher's thread: a peer this wait
	 * depends on is dead, and the waiter's own repair (stalled) would
	 * free the way: the waiter must look again. NULL: never (broadcast:
	 * a dead subscriber that holds the producer at full) */
	int (*peer_dead)(struct shmring *r);
};
#define SHMRING__HELD_PEER 1
#define SHMRING__HELD_OURS 2
int shmring__fence_free_init(void);
int shmring__wait(struct shmring *r, const struct shmring__wait_for *w, int64_t timeout_ns);
/* the peers w waits for are gone (after w->stalled(), rate-limited unless
 * force) */
int shmring__wait_ended(struct shmring *r, const struct shmring__wait_for *w, int force);

/* the waiter's steps, over n futex words at once (the single-ring wait has
 * one; shmring_poll() one per ring and direction). In this order:
 *   announce (W1 each, W2 once, W3 each), the caller's re-check (W4),
 *   announced (W4b), and only if it said yes: sleep_on (W5), then always
 *   unannounce (W6). */
struct shmring__sleeper {
	struct shmring *r;
	int dir;              /* SHMRING__DIR_DATA/_SPACE */
	uint32_t *word;       /* the side's futex word */
	uint64_t *waiters;    /* the side's announce mask */
	uint64_t bit;         /* ours in it; 0: none to announce with */
	uint32_t snap;        /* the word as W3 read it */
};
void shmring__sleeper_init(struct shmring__sleeper *s, struct shmring *r, int dir);
int shmring__announce(struct shmring__sleeper *s, unsigned n);   /* 1: every wake
                                                                    * reaches us */
int shmring__announced(const struct shmring__sleeper *s, unsigned n);
void shmring__sleep_on(struct shmring__sleeper *s, unsigned n, int exact, int64_t until_ns);
void shmring__unannounce(struct shmring__sleeper *s, unsigned n);

/* ---- spsc.c, mpmc.c, overwrite.c and packed.c: the engines, one shape ---- */
#define SHMRING__ENGINE(kind)                                                          \
	int shmring__##kind##_send(struct shmring *r, const void *msg, size_t len,     \
	                           int64_t timeout_ns);                                \
	ssize_t shmring__##kind##_recv(struct shmring *r, void *buf, size_t cap,       \
	                               int64_t timeout_ns);                            \
	int shmring__##kind##_send_burst(struct shmring *r, const struct iovec *msgs,  \
	                                 unsigned n, int64_t timeout_ns);              \
	int shmring__##kind##_recv_burst(struct shmring *r, struct iovec *bufs,        \
	                                 unsigned n, int64_t timeout_ns);              \
	int shmring__##kind##_reserve(struct shmring *r, struct shmring_slot *s,       \
	                              int64_t timeout_ns);                             \
	int shmring__##kind##_commit(struct shmring *r, struct shmring_slot *s,        \
	                             size_t len);                                      \
	int shmring__##kind##_acquire(struct shmring *r, struct shmring_slot *s,       \
	                              int64_t timeout_ns);                             \
	int shmring__##kind##_release(struct shmring *r, struct shmring_slot *s);
SHMRING__ENGINE(spsc)
SHMRING__ENGINE(mpmc)
SHMRING__ENGINE(overwrite)
SHMRING__ENGINE(packed)
SHMRING__ENGINE(broadcast)
#undef SHMRING__ENGINE
/* what each engine's waits wait for (shmring_poll() reaches them through
 * shmring__wait_table() in api.c) */
extern const struct shmring__wait_for shmring__spsc_for_data, shmring__spsc_for_space;
int shmring__spsc_data(struct shmring *r);   /* >0: a message at c.pos (or a
                                              * published slot without its seal:
                                              * corrupt; recv skips it) */
uint64_t shmring__spsc_resume(struct shmring *r, uint64_t prod, uint64_t cons);
extern const struct shmring__wait_for shmring__mpmc_for_data, shmring__mpmc_for_space;
extern const struct shmring__wait_for shmring__overwrite_for_data,
                                      shmring__overwrite_for_space;
extern const struct shmring__wait_for shmring__packed_for_data, shmring__packed_for_space;
/* packed.c: the handle's positions from the shared indices, at attach
 * (-EPROTO if they are impossible) */
int shmring__packed_start(struct shmring *r, uint64_t prod, uint64_t cons);
extern const struct shmring__wait_for shmring__broadcast_for_data,
                                      shmring__broadcast_for_space;
/* broadcast.c: where the handle's producer resumes and its subscriber
 * joins (at attach, roles held); the subscriber's leave (at close, before
 * its entry is released) */
void shmring__broadcast_start(struct shmring *r);
void shmring__broadcast_leave(struct shmring *r);
/* validate.c: byte offset of the subscriber lines in a broadcast ring */
uint64_t shmring__bcast_lines_off(uint32_t stride, uint64_t slots);

/* ---- api.c ---- */
/* the engine's table for r's waits in direction dir; NULL when the handle
 * may not wait that way (no such role, or a copy inherited across fork) */
const struct shmring__wait_for *shmring__wait_table(struct shmring *r, int dir);
void shmring__mpmc_init_slots(struct shmring *r);
void shmring__mpmc_recover(struct shmring *r, int force);
void shmring__mpmc_skip_dead(struct shmring *r, int force);
/* mpmc_bias.c: the biased claim's attach and close steps (lifecycle.c),
 * and a sole claimant's later try to take its side's bias (mpmc.c) */
int shmring__bias_join(struct shmring *r);
void shmring__bias_leave(struct shmring *r);
void shmring__bias_try(struct shmring *r, int consumer);
/* test-only: called by a revoking newcomer after it has cleared the owner
 * word and before its barrier; NULL in production */
extern void (*shmring__test_hook_bias)(void);
/* test-only: called in a dead-claim check between reading a slot's stamp
 * and asking the kernel whether its attachment lives; NULL in production */
extern void (*shmring__test_hook_stamp)(void);

#endif
