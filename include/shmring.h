/* SPDX-License-Identifier: MIT */
/*
 * shmring.h - message rings between processes in POSIX shared memory.
 *
 * Every function returns >= 0 on success (a count or a length where that
 * means something) and a negative errno value on failure. No errno side
 * channel, no abort(). EINTR is retried inside and never returned.
 *
 * Timeouts (timeout_ns): 0 = do not wait (-EAGAIN when the ring is full or
 * empty), < 0 = wait as long as it takes, > 0 = wait at most that many
 * nanoseconds (-ETIMEDOUT).
 *
 * What may run concurrently:
 *   - one handle: one thread at a time (handles are not thread-safe);
 *   - SPSC ring: one producer handle and one consumer handle, in any
 *     processes or threads, plus any number of role-less observers;
 *   - MPMC ring: up to 64 producer and 64 consumer handles;
 *   - BROADCAST ring: one producer handle and up to 64 consumer
 *     (subscriber) handles, each receiving every message.
 * A handle is not inherited usefully across fork(): the child opens its own.
 *
 * See docs/api.md for the full reference and docs/design.md for the
 * layout and the memory-order argument.
 */
#ifndef SHMRING_H
#define SHMRING_H

#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "shmring/handle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* the library's version (the Makefile reads it from here); the major
 * number is the soname: it moves when the ABI changes */
#define SHMRING_VERSION_MAJOR 3
#define SHMRING_VERSION_MINOR 2
#define SHMRING_VERSION_PATCH 0

/* ring kinds */
#define SHMRING_SPSC 1u
#define SHMRING_MPMC 2u
#define SHMRING_BROADCAST 3u  /* one producer, up to 64 subscribers (consumer
                               * attachments); each receives, in order, every
                               * message sent after it attached. Lossless: the
                               * producer waits while the slowest live
                               * subscriber is a ring behind; with
                               * SHMRING_OVERWRITE it never waits and each
                               * subscriber counts what it lost in its own
                               * stats.overruns (since 3.2) */

/* roles, given when attaching; a handle may hold both, or none */
#define SHMRING_PRODUCER 1
#define SHMRING_CONSUMER 2

/* config flags */
#define SHMRING_PREFAULT  0x1u  /* touch every page at create */
#define SHMRING_HUGEPAGES 0x2u  /* back the ring with huge pages: a memfd ring
                                 * (MFD_HUGETLB) or a file on hugetlbfs; -ENOMEM
                                 * when none are available, -EINVAL for a POSIX
                                 * shm name or a file on another filesystem */
#define SHMRING_MLOCK     0x4u  /* every attaching process locks its mapping in
                                 * memory (-ENOMEM / -EPERM when refused) */
#define SHMRING_OVERWRITE 0x8u  /* SPSC or BROADCAST (-EINVAL with MPMC): the producer
                                 * never waits; when the ring is full the
                                 * oldest messages are overwritten. The
                                 * consumer never returns a torn message: it
                                 * skips to the oldest intact one and counts
                                 * what it lost in stats.overruns; release
                                 * after acquire returns -ESTALE when the slot
                                 * was overwritten meanwhile */
#define SHMRING_PACKED    0x10u /* SPSC: variable-length messages packed back to
                                 * back in a record area of slots * slot_size
                                 * bytes (rounded up to 8); a message is any
                                 * length 0..slot_size and takes an 8-byte
                                 * header plus its payload rounded up to 8.
                                 * Same calls; -EINVAL with SHMRING_MPMC
                                 * or SHMRING_OVERWRITE */
#define SHMRING__FLAGS_KNOWN (SHMRING_PREFAULT | SHMRING_HUGEPAGES | SHMRING_MLOCK | \
                              SHMRING_OVERWRITE | SHMRING_PACKED)

/* limits */
#define SHMRING_MAX_SLOT_SIZE (1u << 30)
#define SHMRING_MAX_SLOTS     (UINT64_C(1) << 32)
#define SHMRING_MAX_PEERS     ((int)SHMRING__MAX_PEERS)  /* attachments per side (MPMC) */
#define SHMRING_HEADER_BYTES  SHMRING__HDR_SIZE   /* every ring object is at least
                                                   * this large (tools filter by it) */

/* default spin before sleeping, when more than one CPU is usable */
#define SHMRING_DEFAULT_SPIN_NS 20000

struct shmring_config {
	unsigned kind;        /* SHMRING_SPSC, SHMRING_MPMC or SHMRING_BROADCAST */
	uint32_t slot_size;   /* largest message in bytes, 1 .. SHMRING_MAX_SLOT_SIZE */
	uint64_t slots;       /* number of slots, a power of two, 2 .. SHMRING_MAX_SLOTS */
	mode_t   mode;        /* permission bits of the object; 0 means 0600 */
	unsigned flags;       /* SHMRING_PREFAULT, _HUGEPAGES, _MLOCK, _OVERWRITE */
};

struct shmring_slot {
	void    *data;        /* reserve: slot_size writable bytes; acquire: the message */
	size_t   len;         /* acquire: the message length */
	uint64_t pos;         /* internal: the ring position */
};

struct shmring_peer {
	int32_t  pid;         /* in the attacher's own PID namespace: for display;
	                       * liveness never comes from it */
	uint8_t  alive;       /* the attachment's kernel lock is held: its handle
	                       * is open in a running process (any namespace) */
	uint8_t  shut_down;   /* producer: called shmring_shutdown() */
	uint8_t  other_pidns; /* pid belongs to another PID namespace than ours */
	uint8_t  index;       /* registry entry */
};

struct shmring_info {
	unsigned kind;
	uint32_t slot_size;
	uint64_t slots;
	uint64_t mem_size;    /* bytes of the shared object */
	uint64_t prod_idx;    /* producer index (SPSC: published; MPMC: claimed) */
	uint64_t cons_idx;    /* consumer index (SPSC: released; MPMC: claimed) */
	uint64_t used;        /* prod_idx - cons_idx, clamped to slots */
	unsigned roles;       /* roles held by this handle */
	unsigned nproducers;  /* entries in producers[] */
	unsigned nconsumers;
	int      eof;         /* every producer that attached is gone or shut down */
	uint32_t shutdowns;   /* shmring_shutdown() calls so far */
	uint32_t stream_epoch; /* streams begun on this ring before the current one */
	int      stream_ended; /* a consumer has received the current stream's end */
	uint32_t consumer_attaches; /* consumer attachments so far (any side tool
	                             * can tell "a consumer came since") */
	uint32_t prod_deaths; /* producers found dead and detached by a peer */
	uint32_t cons_deaths; /* consumers found dead and detached by a peer */
	int32_t  creator_pid;
	uint64_t created_ns;  /* CLOCK_REALTIME */
	struct shmring_peer producers[SHMRING_MAX_PEERS];
	struct shmring_peer consumers[SHMRING_MAX_PEERS];
	int64_t  spin_ns;     /* this handle's wait policy in force: what
	                       * shmring_set_spin() set, or the default's
	                       * decision (0 = sleep at once); -1 = the default
	                       * has not decided yet (the handle never waited) */
	unsigned flags;       /* the ring's config flags (SHMRING_OVERWRITE,
	                       * SHMRING_PACKED ...) */
	uint64_t data_size;   /* bytes of the slot array, or of the record area
	                       * of a packed ring (where prod_idx, cons_idx and
	                       * used count bytes, not messages) */
};

struct shmring_stats {
	uint64_t sent;        /* messages published (SPSC) / slots claimed (MPMC) */
	uint64_t received;    /* messages released (SPSC) / slots claimed (MPMC);
	                       * SHMRING_OVERWRITE: delivered, overruns not counted */
	uint64_t sent_bytes;  /* payload bytes sent; each handle adds its count
	                       * every 64 KiB, and when it sleeps, shuts down,
	                       * closes or calls shmring_stats() */
	uint64_t recv_bytes;  /* payload bytes received, likewise */
	uint64_t full_waits;  /* producer sleeps on a full ring */
	uint64_t empty_waits; /* consumer sleeps on an empty ring */
	uint64_t prod_wakes;  /* FUTEX_WAKE calls by producers */
	uint64_t cons_wakes;  /* FUTEX_WAKE calls by consumers */
	uint64_t bad_msgs;    /* corrupt slots reported (-EBADMSG) */
	uint64_t orphans;     /* MPMC: messages lost with a consumer that died
	                       * holding them (their slots were freed) */
	uint64_t abandoned;   /* MPMC: slots claimed by a producer that died
	                       * before publishing (skipped by consumers) */
	uint64_t membarriers; /* membarrier() calls by sleepers (the price of a
	                       * fence-free sender, paid only on the way to sleep) */
	uint64_t overruns;    /* SHMRING_OVERWRITE: messages overwritten before
	                       * the consumer could read them (sent = received +
	                       * overruns + still in the ring, once the consumer
	                       * has published its position) */
};

/*
 * Lifecycle (src/place.c finds the object, src/lifecycle.c makes or opens
 * the ring on it).
 * create: -EINVAL (name, config, roles; SHMRING_HUGEPAGES on a shm name),
 *         -EEXIST, -EACCES, -ENOMEM, -ENOSPC, -EPERM (SHMRING_MLOCK refused),
 *         -EBUSY never (a new ring has no holders).
 * open:   -EINVAL, -ENOENT, -EACCES, -EPROTO (not a shmring, a version this
 *         library does not speak, or an inconsistent/truncated object),
 *         -EBUSY (SPSC role held by a live process), -EUSERS (MPMC: all 64
 *         entries of a side held by live processes).
 * Attaching a role also opens a second descriptor of the object for its
 * liveness lock: -EMFILE/-ENFILE, -ENOLCK (a filesystem without locks),
 * -ESTALE (without /proc: the name was replaced meanwhile).
 * close:  detaches, releases roles (a producer's close counts as its end of
 *         stream), wakes sleepers so they re-check. NULL is ignored.
 * unlink: -EINVAL, -ENOENT, -EACCES. Attached processes keep working.
 */
SHMRING_API int  shmring_create(const char *name, const struct shmring_config *cfg, int roles,
                    struct shmring **out);
SHMRING_API int  shmring_open(const char *name, int roles, struct shmring **out);
SHMRING_API void shmring_close(struct shmring *r);
SHMRING_API int  shmring_unlink(const char *name);

/*
 * Where else a ring lives (src/place.c). The same layout, validation,
 * liveness and end-of-stream rules as a POSIX shm ring.
 * create_file / open_file: a ring in an ordinary file on any filesystem
 *   (tmpfs, hugetlbfs, ext4, ...); it outlives its processes; errors as
 *   create/open, with paths (-EEXIST, -ENOENT, -EACCES, -ENOTDIR, ...).
 *   Remove it with unlink(2).
 * create_memfd: an anonymous ring (memfd_create), sealed against shrink and
 *   grow (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL): nobody holding its
 *   descriptor can truncate it under the others (the SIGBUS attack a named
 *   ring cannot rule out). Share it with shmring_fd() (fork, or SCM_RIGHTS
 *   over a Unix socket); it disappears with its last descriptor and mapping.
 * shmring_fd: the ring's descriptor, owned by the handle (closed by
 *   shmring_close; dup it to keep it).
 * open_fd: attach through a descriptor of a ring (it is dup'ed; the caller
 *   keeps its own). -EPROTO when it is not a ring, -EBADF when fd is not open.
 */
SHMRING_API int shmring_create_file(const char *path, const struct shmring_config *cfg,
                                    int roles, struct shmring **out);
SHMRING_API int shmring_open_file(const char *path, int roles, struct shmring **out);
SHMRING_API int shmring_create_memfd(const struct shmring_config *cfg, int roles,
                                     struct shmring **out);
SHMRING_API int shmring_fd(const struct shmring *r);
SHMRING_API int shmring_open_fd(int fd, int roles, struct shmring **out);

/*
 * Copying send/recv. send: 0, -EMSGSIZE (len > slot_size), -EAGAIN,
 * -ETIMEDOUT, -EPIPE (this handle shut down, or every consumer that attached
 * is gone while the ring is full), -EINVAL (no producer role, NULL msg with
 * len > 0, a reservation outstanding), -EPROTO (shared indices corrupt).
 * recv: the message length, -EMSGSIZE (cap too small: the message stays),
 * -EAGAIN, -ETIMEDOUT, -EPIPE (drained, and every producer that attached has
 * shut down, closed or died), -EBADMSG (a corrupt slot; it is skipped, the
 * ring stays usable), -EINVAL, -EPROTO.
 * SHMRING_OVERWRITE rings: send never waits and never returns -EAGAIN,
 * -ETIMEDOUT, or -EPIPE for a missing consumer (only after its own
 * shutdown); recv skips what was overwritten (stats.overruns) and returns
 * the oldest intact message; on an error return the contents of buf are
 * unspecified.
 */
static inline int shmring_send(struct shmring *r, const void *msg, size_t len,
                               int64_t timeout_ns);
static inline ssize_t shmring_recv(struct shmring *r, void *buf, size_t cap,
                                   int64_t timeout_ns);

/*
 * Bursts: wait (per timeout_ns) until at least one message can move, then
 * move as many of the n as fit with one index publication (SPSC: also one
 * after every 64 KiB of payload, so the peer is not held off). Return the count
 * moved (>= 1), or the errors of send/recv for the first message.
 * recv_burst sets bufs[i].iov_len to each message's length; it stops early
 * before a message that does not fit its buffer or a corrupt slot. SPSC,
 * slots of up to 128 bytes: recv_burst takes what the producer's index
 * covers (a send_burst in progress arrives at its end or 64 KiB step).
 */
SHMRING_API int shmring_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n,
                       int64_t timeout_ns);
SHMRING_API int shmring_recv_burst(struct shmring *r, struct iovec *bufs, unsigned n,
                       int64_t timeout_ns);

/*
 * Zero-copy. reserve: s->data points at slot_size writable bytes inside the
 * shared slot; commit publishes len bytes of it. acquire: s->data/s->len
 * describe the message in place, valid until release. One outstanding
 * reservation and one outstanding acquisition per handle (-EBUSY for a
 * second). commit/release with a slot this handle did not hand out: -EINVAL.
 * commit: -EMSGSIZE when len > slot_size (the reservation stays).
 * SHMRING_OVERWRITE rings: release returns -ESTALE when the producer
 * overwrote the slot while it was acquired: what the caller read from
 * s->data may be torn and must be discarded (the acquisition is over, the
 * message counts as an overrun).
 */
static inline int shmring_reserve(struct shmring *r, struct shmring_slot *s,
                                  int64_t timeout_ns);
static inline int shmring_commit(struct shmring *r, struct shmring_slot *s, size_t len);
static inline int shmring_acquire(struct shmring *r, struct shmring_slot *s,
                                  int64_t timeout_ns);
static inline int shmring_release(struct shmring *r, struct shmring_slot *s);

/* producer: end of stream; consumers drain, then get -EPIPE. Idempotent
 * (also after shmring_abort(), which it does not undo). -EINVAL without the
 * producer role. */
SHMRING_API int shmring_shutdown(struct shmring *r);

/*
 * How a stream ended (shmring_end_reason()). A stream ends once every
 * producer that attached has shut down, aborted, closed or died; consumers
 * drain what was committed and then get -EPIPE, whatever the reason.
 */
#define SHMRING_END_CLEAN   1  /* every producer that attached called shmring_shutdown() */
#define SHMRING_END_ABORTED 2  /* a producer called shmring_abort(): the stream is incomplete */
#define SHMRING_END_DIED    3  /* a producer died, closed, exec'd or vanished without
                                * shutting down: the stream may be incomplete */
/* producer: end the stream as incomplete (an interrupted or failed source).
 * Like shmring_shutdown() for the consumers (they drain, then -EPIPE), but
 * shmring_end_reason() says SHMRING_END_ABORTED. Idempotent. -EINVAL without
 * the producer role, or after shmring_shutdown() (the stream was already
 * declared complete). */
SHMRING_API int shmring_abort(struct shmring *r);
/* 0 while the stream has not ended, else SHMRING_END_*. A consumer answers
 * once one of its receives returned -EPIPE, until it receives a message of
 * a new stream on the ring; a handle without the consumer role answers for the
 * ring as it stands (0 while a producer may still send or none attached
 * yet). Aborted outranks died, died outranks clean. -EINVAL for NULL. */
SHMRING_API int shmring_end_reason(struct shmring *r);
/* wait policy of this handle: spin spin_ns before sleeping; 0 = sleep at
 * once; < 0 = never sleep (pure polling). Without a call: spin
 * SHMRING_DEFAULT_SPIN_NS, except with one CPU online or when this process
 * and the peer it waits for are both bound to the same single CPU (then no
 * spin: spinning would only delay the peer; the waiter yields its CPU for
 * up to 1 ms, then sleeps, where a set spin 0 sleeps at once). MPMC,
 * budget > 0: a waiter blocked by a claimant in mid-operation spins on past
 * the budget (up to 10 ms) instead of sleeping; see docs/api.md. */
SHMRING_API int shmring_set_spin(struct shmring *r, int64_t spin_ns);
SHMRING_API int shmring_info(struct shmring *r, struct shmring_info *out);
SHMRING_API int shmring_stats(struct shmring *r, struct shmring_stats *out);

/*
 * Broadcast rings (SHMRING_BROADCAST, since 3.2): one entry per subscriber,
 * as its position line in the ring says (shared memory: a snapshot for
 * display, never trusted). shmring_stats() on a subscriber's handle counts
 * for that subscriber alone: received = messages it delivered, overruns =
 * messages it lost (SHMRING_OVERWRITE); sent - start = received + overruns
 * once it has drained. On other handles received and overruns are the sums
 * over the attached subscribers.
 */
struct shmring_subscriber {
	int32_t  pid;         /* display only, as struct shmring_peer */
	uint8_t  index;       /* registry entry (consumers[index] of shmring_info) */
	uint8_t  alive;       /* its kernel lock is held (a running process) */
	uint8_t  self;        /* this handle's own subscription */
	uint8_t  stalling;    /* lossless ring: it is a whole ring behind (or
	                       * its position is impossible): the producer waits
	                       * for it */
	uint64_t position;    /* the next message it reads */
	uint64_t lag;         /* messages published it has not read (prod_idx -
	                       * position, clamped to 0 .. slots: an impossible
	                       * position shows as slots) */
	uint64_t start;       /* its first position: it receives what was sent
	                       * from there on */
	uint64_t delivered;   /* messages it received */
	uint64_t overruns;    /* messages it lost (SHMRING_OVERWRITE) */
	uint64_t reserved[3]; /* zero */
};
/* fill up to cap entries (SHMRING_MAX_PEERS always suffices) with the ring's
 * subscribers, in registry order. Returns how many there are (may exceed
 * cap: only cap were written), -EINVAL (r NULL, out NULL with cap > 0, not
 * a broadcast ring). */
SHMRING_API int shmring_subscriber_info(struct shmring *r, struct shmring_subscriber *out,
                                        unsigned cap);

/* human-readable name of a shmring return code (static string) */
SHMRING_API const char *shmring_strerror(int err);

/*
 * Many rings, one wait (src/poll.c): wait until at least one of n items can
 * make progress. An item asks SHMRING_POLLIN (its handle holds the consumer
 * role: a message to receive, or the end of the stream: the next recv
 * returns -EPIPE) and/or SHMRING_POLLOUT (the producer role: room to send,
 * or no consumer left / this handle shut down: the next send returns
 * -EPIPE); events 0 leaves an item out. A ring may appear in two items, once
 * per role. revents says which of the asked events are ready; it is a hint
 * in an MPMC ring (another consumer may take the message first: recv with
 * timeout 0 then returns -EAGAIN). The wait spins first, for the longest
 * spin budget among the items' handles (shmring_set_spin; one that never
 * sleeps makes the poll never sleep), then sleeps in one futex_waitv call
 * (Linux >= 5.16; without it, in slices of at most 1 ms).
 * Returns the number of items with revents set (>= 1); -EAGAIN (timeout_ns
 * 0 and nothing ready), -ETIMEDOUT, -EINVAL (items NULL, n 0 or above
 * SHMRING_POLL_MAX, a NULL ring, an unknown event bit, or an event whose
 * role the handle does not hold).
 */
#define SHMRING_POLLIN   1u   /* consumer: a message to receive, or end of stream */
#define SHMRING_POLLOUT  2u   /* producer: room to send, or no consumer left */
#define SHMRING_POLL_MAX 128u /* items per call */

struct shmring_pollitem {
	struct shmring *ring;
	unsigned events;      /* SHMRING_POLLIN | SHMRING_POLLOUT, or 0 */
	unsigned revents;     /* set by shmring_poll: the events ready */
};

SHMRING_API int shmring_poll(struct shmring_pollitem *items, unsigned n, int64_t timeout_ns);

/*
 * Event-loop integration (src/event.c): a descriptor that epoll, poll,
 * select, io_uring or libuv can watch.
 * shmring_event_fd: the handle's descriptor (an eventfd, owned by the
 *   handle, closed by shmring_close); it becomes readable when the handle's
 *   role can make progress: a message to receive (consumer), room to send
 *   (producer), or the end of the stream / no consumer left (the next call
 *   returns -EPIPE). -EINVAL for an observer handle or a copy inherited
 *   across fork, -ENOMEM, -EMFILE. The first call starts a watcher thread.
 * shmring_arm: call before waiting on the descriptor: 0 = armed (the
 *   descriptor becomes readable on progress), 1 = ready already (do not
 *   wait: go on with timeout 0 calls). After it polls readable, drain with
 *   timeout 0 until -EAGAIN, then arm again. Between an arm that returned 0
 *   and the descriptor turning readable, do not use the handle (close is
 *   fine). -EINVAL without a prior shmring_event_fd().
 */
SHMRING_API int shmring_event_fd(struct shmring *r);
SHMRING_API int shmring_arm(struct shmring *r);

#ifdef __cplusplus
}
#endif

/* the inline fast paths of the calls above (SPSC) */
#include "shmring/spsc_inline.h"

#endif /* SHMRING_H */
