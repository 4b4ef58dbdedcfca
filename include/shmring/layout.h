/* SPDX-License-Identifier: MIT */
/*
 * shmring/layout.h - THE shared-memory layout of a ring (layout version 4).
 * Do not include directly; include <shmring.h>.
 *
 * One object per ring:
 *
 *   offset 0      struct shmring__hdr   (8192 bytes: identity, indices,
 *                                        futex words, end-of-stream state,
 *                                        statistics, role registry)
 *   offset 8192   slot[0] slot[1] ... slot[slots-1], each slot_stride bytes
 *   broadcast rings only (kind SHMRING_BROADCAST): then, at the next
 *   multiple of 128, SHMRING__MAX_PEERS subscriber lines (struct
 *   shmring__bcast_sub), line i for consumers[i]
 *
 * A slot is a small header (struct shmring__slot_spsc or _mpmc) followed by
 * slot_size payload bytes; the payload starts 8-byte aligned and the stride
 * is a multiple of 8.
 *
 * Every hot field sits on its own 128-byte line (two 64-byte lines, so the
 * adjacent-line prefetcher does not make neighbours share). Each field says
 * who writes it. Nothing here is trusted by a reader after open: sizes are
 * copied into the handle and checked, indices and lengths are checked before
 * use (see src/validate.c).
 *
 * The ABI is fixed-width integers and offsets only; no pointers, no _Atomic
 * (all concurrent access goes through shmring/atomic.h).
 */
#ifndef SHMRING_LAYOUT_H
#define SHMRING_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define SHMRING__MAGIC          UINT64_C(0x31474e4952524853) /* "SHRRING1" read little-endian */
#define SHMRING__LAYOUT_VERSION 4u   /* 4: end_flags (how a stream ended) */
#define SHMRING__LINE           128u
#define SHMRING__HDR_SIZE       8192u
#define SHMRING__MAX_PEERS      64u  /* registry entries per side */

/* registry entry states (shmring__peer.state) */
#define SHMRING__PEER_FREE      0u   /* owner == 0 */
#define SHMRING__PEER_ACTIVE    1u
#define SHMRING__PEER_SHUTDOWN  2u   /* producer called shmring_shutdown() */

/* end_flags bits (shmring__hdr.end_flags): what a consumer reports as
 * shmring_end_reason() once it has drained the stream */
#define SHMRING__ENDF_ABORTED   1u   /* a producer called shmring_abort() */
#define SHMRING__ENDF_DIED      2u   /* a producer entry was left without a
                                      * shutdown: closed, died, exec'd */

/*
 * Liveness of an attachment comes from the kernel, not from a pid: each
 * registry entry has one byte of the ring's file on which its holder keeps
 * an open-file-description write lock (F_OFD_SETLK) for as long as it is
 * attached. The kernel drops the lock when the holder closes the handle,
 * exits, is killed or execs; peers test it with F_OFD_GETLK, which gives the
 * same answer in every PID namespace, for every user, whatever /proc shows.
 * The lock is taken on a descriptor of its own that is never mapped (a
 * mapping would keep the open file, and so the lock, alive) and that a
 * forked child closes (pthread_atfork). Byte of entry i:
 *   producers: SHMRING__LOCK_BASE + i; consumers: SHMRING__LOCK_BASE + 64 + i
 * The lock is also the entry's mutex: whoever holds it may rewrite the
 * entry, so claiming an entry and reaping a dead holder's entry are
 * "lock, then write", never a race on the shared words.
 */
#define SHMRING__LOCK_BASE      0    /* byte offsets in the object; locks
                                      * need no data there */

/*
 * One attachment. owner identifies the holder for display only (shmring
 * info): owner = (uint64_t)pidns << 32 | pid, where pid is the holder's pid
 * in its own PID namespace and pidns the low 32 bits of that namespace's
 * inode (0 if unknown), so a tool can say "another PID namespace". 0 means
 * free. Nobody judges liveness from it.
 */
struct shmring__peer {
	uint64_t owner;   /* writer: the lock holder (claim, release, reap) */
	uint32_t state;   /* writer: the lock holder (ACTIVE, SHUTDOWN, FREE) */
	uint32_t gen;     /* writer: the lock holder; bumped at each attach, so
	                   * a claim stamp names one attachment */
	uint64_t cpus;    /* writer: the owner; its CPU affinity (CPUs 0-63,
	                   * 0 = unknown), so a waiter can tell that it shares
	                   * its only CPU with this peer and must not spin */
	uint64_t claim;   /* MPMC: claim intent: the first position of the
	                   * claim this attachment attempts (or made and has
	                   * not stamped yet) plus 1; 0 = none. How many
	                   * positions it covers: claim_n[side][entry]. Lets a
	                   * peer tell a dead claimant's unstamped claim from a
	                   * live one's (see mpmc.c and mpmc_dead.c) */
};

struct shmring__hdr {
	/* line 0: identity; written once by the creator, magic last (release) */
	uint64_t magic;
	uint32_t version;
	uint32_t kind;          /* SHMRING_SPSC, SHMRING_MPMC or SHMRING_BROADCAST
	                         * (3: older libraries refuse it at open, so it
	                         * needed no layout version of its own) */
	uint32_t slot_size;     /* largest payload */
	uint32_t slot_stride;   /* bytes per slot, header included */
	uint64_t slots;         /* power of two >= 2 */
	uint64_t total_size;    /* SHMRING__HDR_SIZE + slots * slot_stride
	                         * (broadcast: rounded up to 128, plus the
	                         * subscriber lines) */
	uint32_t flags;         /* SHMRING_PREFAULT ... as given at create */
	uint32_t creator_pid;
	uint64_t created_ns;    /* CLOCK_REALTIME at create, for tools */
	uint8_t  pad0[SHMRING__LINE - 56];

	/* line 1: producer index. SPSC: messages published (the producer's
	 * tail; stored after each message's seal, read by the consumer only
	 * when it checks a missing seal, and by tools). MPMC: positions
	 * claimed. writer: producer(s) */
	uint64_t prod_idx;
	uint8_t  pad1[SHMRING__LINE - 8];

	/* line 2: consumer index. SPSC: messages released (the consumer's
	 * head). MPMC: positions claimed. writer: consumer(s) */
	uint64_t cons_idx;
	uint8_t  pad2[SHMRING__LINE - 8];

	/* line 3: "data available": consumers sleep on data_futex, producers
	 * bump it and wake. data_waiters: one announce bit per consumer
	 * registry entry (bit i: consumers[i] is about to sleep or sleeps).
	 * A notifier takes the whole mask (exchange to 0) and wakes every
	 * announced sleeper; each re-checks and announces again if it must
	 * still wait. A dead sleeper's bit is cleared by the next notifier
	 * (or its reaper) and never set again, so it costs at most one wake.
	 * data_futex stays a plain 32-bit futex word at this fixed offset so a
	 * later futex_waitv() can watch many rings at once. */
	uint32_t data_futex;    /* writer: producers (and closers), +1 per wake */
	uint32_t pad3a;
	uint64_t data_waiters;  /* writer: consumers set their bit; notifiers
	                         * and reapers clear bits */
	uint8_t  pad3[SHMRING__LINE - 16];

	/* line 4: "space available": producers sleep, consumers wake them */
	uint32_t space_futex;   /* writer: consumers (and closers) */
	uint32_t pad4a;
	uint64_t space_waiters; /* bit i: producers[i]; as data_waiters */
	uint8_t  pad4[SHMRING__LINE - 16];

	/* line 5: end-of-stream state */
	uint32_t prod_ever;     /* writer: producers; 1 once any producer attached */
	uint32_t cons_ever;     /* writer: consumers; 1 once any consumer attached */
	uint32_t shutdowns;     /* writer: producers; count of shmring_shutdown() */
	uint32_t prod_deaths;   /* writer: reapers; dead producer attachments freed */
	uint32_t cons_deaths;   /* writer: reapers; dead consumer attachments freed */
	uint32_t stream;        /* (epoch << 1) | ended. writer: a consumer that
	                         * returns end of stream sets "ended" (CAS); a
	                         * producer that attaches to an ended stream starts
	                         * the next epoch (CAS). Informational (tools) */
	uint64_t membarriers;   /* writer: waiters; membarrier() calls (W2) */
	uint32_t cons_attaches; /* writer: consumers; +1 at every consumer attach */
	uint32_t end_flags;     /* how the current stream is ending: a set of
	                         * SHMRING__ENDF_* bits, only ever added to
	                         * during a stream (seq_cst OR), cleared by the
	                         * producer that starts the next epoch. writers:
	                         * producers (abort), closers and reapers of a
	                         * producer entry that never shut down */
	uint8_t  pad5[SHMRING__LINE - 40];

	/* line 6: producer-side statistics (slow path only, relaxed adds) */
	uint64_t full_waits;    /* producer sleeps on a full ring */
	uint64_t prod_wakes;    /* FUTEX_WAKE calls made by producers */
	uint64_t sent_bytes;    /* payload bytes published, added in batches */
	uint8_t  pad6[SHMRING__LINE - 24];

	/* line 7: consumer-side statistics (slow path only, relaxed adds) */
	uint64_t empty_waits;   /* consumer sleeps on an empty ring */
	uint64_t cons_wakes;    /* FUTEX_WAKE calls made by consumers */
	uint64_t bad_msgs;      /* corrupt slots reported as -EBADMSG */
	uint64_t orphans;       /* MPMC: slots freed after their consumer died
	                         * holding them (writer: producers) */
	uint64_t recv_bytes;    /* payload bytes consumed, added in batches */
	uint64_t abandoned;     /* MPMC: slots claimed by a producer that died
	                         * before publishing, skipped by consumers */
	uint64_t overruns;      /* SHMRING_OVERWRITE: messages the producer
	                         * overwrote before the consumer read them
	                         * (writer: the consumer) */
	uint8_t  pad7[SHMRING__LINE - 56];

	/* line 8: packed rings (SHMRING_PACKED): messages counted. There
	 * prod_idx and cons_idx count bytes of the record area, so the message
	 * counts of shmring_stats() live here, one 64-byte half per writer.
	 * Each is stored (relaxed, one writer) after the index publication it
	 * counts; a killed holder's last burst may be missing. Zero otherwise */
	uint64_t pk_sent;       /* writer: the producer; messages published */
	uint8_t  pad8a[64 - 8];
	uint64_t pk_received;   /* writer: the consumer; messages released */
	uint8_t  pad8[64 - 8];

	/* lines 9-15: reserved; zero in version 4 */
	uint8_t  rsvd[7 * SHMRING__LINE];

	/* 2048..4095: producer registry; 4096..6143: consumer registry */
	struct shmring__peer producers[SHMRING__MAX_PEERS];
	struct shmring__peer consumers[SHMRING__MAX_PEERS];

	/* 6144..6655: MPMC claim intents: how many positions the claim in
	 * producers[i].claim ([0][i]) or consumers[i].claim ([1][i]) covers.
	 * writer: that entry's holder */
	uint32_t claim_n[2][SHMRING__MAX_PEERS];

	/* 6656..8191: reserved; zero in version 4 */
	uint8_t  rsvd_tail[2048 - 8 * SHMRING__MAX_PEERS];
};

/*
 * slot header of an SPSC ring: 8 bytes, payload follows. The seal publishes
 * the slot (P1): the producer stores it, with release, after the payload;
 * the consumer polls the seal of the slot it reads next, not the producer's
 * index, so a message costs the consumer only the lines of its slot.
 *   seal = (uint64_t)lap_tag << 32 | len
 *   lap_tag = (uint32_t)(pos >> log2(slots)) + 1, pos the slot's position
 * The slot at pos was last sealed for pos - slots (tag one lower) or for pos
 * itself, so a seal is stale exactly when its tag is not pos's; a zeroed
 * slot (tag 0) is never sealed for lap 0. A seal with the right tag but an
 * impossible length is a corrupt slot (-EBADMSG). prod_idx is still stored
 * after each publication, for tools, statistics and the consumer's check
 * that a published slot really carries its seal.
 */
struct shmring__slot_spsc {
	uint64_t seal;  /* writer: producer, after the payload (release) */
};

/* slot header of an SPSC ring created with SHMRING_OVERWRITE: 16 bytes,
 * payload follows (8-byte aligned; written and read as whole 64-bit words,
 * all of them atomic, so a read that overlaps a rewrite is defined).
 * A per-slot sequence lock that also names the position it holds:
 * seq == 2 * pos + 1: the producer is writing the message of position pos
 *                     (whatever the slot held before is being destroyed);
 * seq == 2 * pos + 2: holds the complete message of position pos.
 * A consumer reads seq, the length and the payload, then seq again; the
 * message is intact only if both reads of seq say 2 * pos + 2 (see
 * src/overwrite.c). */
struct shmring__slot_ow {
	uint64_t seq;   /* writer: producer (odd before, even after the payload) */
	uint32_t len;   /* writer: producer, between the two seq stores */
	uint32_t rsvd;
};

/*
 * Broadcast rings (SHMRING_BROADCAST): slots are struct shmring__slot_ow
 * (seq = 2 pos + 2 holds the complete message of position pos; 2 pos + 1
 * while an overwriting producer writes it), and after the slot array one
 * line per subscriber registry entry. The subscriber holding consumers[i]
 * writes line i; the producer reads every line when its cached minimum
 * says the ring is full (src/broadcast.c, docs/design.md "Broadcast
 * rings"). Nothing in a line is trusted: a position impossible for a live
 * subscriber holds the producer back (until its timeout), no more.
 */
struct shmring__bcast_sub {
	uint64_t hold;      /* 0: holds nothing; else the subscriber's next
	                     * position + 1: the producer may not overwrite the
	                     * slots of positions >= hold - 1. writer: the
	                     * subscriber (join: seq_cst; advance and leave:
	                     * release); the producer clears a dead one's (CAS) */
	uint64_t start;     /* writer: the subscriber, at join: its first position */
	uint64_t delivered; /* writer: the subscriber; messages it received */
	uint64_t overruns;  /* writer: the subscriber; messages it lost */
	uint8_t  pad[SHMRING__LINE - 32];
};

/*
 * Record header of a packed ring (SHMRING_PACKED). The record area (at
 * offset 8192) holds records back to back, each starting 8-byte aligned:
 * this header, then for a message len payload bytes padded to a multiple
 * of 8. A record never wraps: where the next one does not fit before the
 * end of the area, the producer fills the rest with one padding record
 * (len = the bytes after its header up to the end) and starts over at 0.
 * prod_idx / cons_idx are byte positions there (multiples of 8).
 */
struct shmring__rec_packed {
	uint64_t word;  /* len | (uint64_t)type << 32, one word so that it is
	                 * written and read in one access. writer: producer,
	                 * before publishing prod_idx */
};
#define SHMRING__REC_MSG 0x6d736731u   /* types; anything else (zero memory, */
#define SHMRING__REC_PAD 0x70616431u   /* garbage) is a corrupt record */
#define SHMRING__REC_WORD(type, len) ((uint64_t)(type) << 32 | (uint32_t)(len))
#define SHMRING__REC_LEN(word)       ((uint32_t)(word))
#define SHMRING__REC_TYPE(word)      ((uint32_t)((word) >> 32))

/* slot header of an MPMC ring (Vyukov): 16 bytes, payload follows.
 * seq == pos: free for the producer of position pos;
 * seq == pos + 1: holds the message of position pos;
 * seq == pos + slots: released, free for position pos + slots. */
struct shmring__slot_mpmc {
	uint64_t seq;   /* writer: producer (publish), consumer (release); on a
	                 * dead claimant's behalf: a consumer (skip completion,
	                 * CAS) or a producer (orphan recovery, CAS) */
	uint32_t len;   /* writer: the producer that claimed the slot */
	uint32_t stamp; /* claim stamp: (gen << 8) | SHMRING__STAMP_PRODUCER? |
	                 * (registry index + 1), naming one attachment (gen is
	                 * the entry's generation). Written by the producer that
	                 * claimed the slot, 0 again when it publishes, then
	                 * the stamp of the consumer that claimed it: so a
	                 * consumer can skip a slot whose producer died, and a
	                 * producer can free a slot whose consumer died.
	                 * SHMRING__STAMP_SKIP marks a skip record */
};

#define SHMRING__STAMP_PRODUCER 0x80u        /* bit 7 of a claim stamp */
#define SHMRING__STAMP_SKIP     0x80u        /* the stamp of a skip record: a
                                              * claim whose producer died
                                              * before publishing it (entry 0:
                                              * no attachment). See mpmc.c */

#ifndef __cplusplus
#define SHMRING__SA _Static_assert
#else
#define SHMRING__SA static_assert
#endif
SHMRING__SA(offsetof(struct shmring__hdr, prod_idx) == 1 * SHMRING__LINE, "prod_idx line");
SHMRING__SA(offsetof(struct shmring__hdr, cons_idx) == 2 * SHMRING__LINE, "cons_idx line");
SHMRING__SA(offsetof(struct shmring__hdr, data_futex) == 3 * SHMRING__LINE, "data futex line");
SHMRING__SA(offsetof(struct shmring__hdr, space_futex) == 4 * SHMRING__LINE, "space futex line");
SHMRING__SA(offsetof(struct shmring__hdr, prod_ever) == 5 * SHMRING__LINE, "eos line");
SHMRING__SA(offsetof(struct shmring__hdr, end_flags) == 5 * SHMRING__LINE + 36, "end flags");
SHMRING__SA(offsetof(struct shmring__hdr, full_waits) == 6 * SHMRING__LINE, "prod stats line");
SHMRING__SA(offsetof(struct shmring__hdr, empty_waits) == 7 * SHMRING__LINE, "cons stats line");
SHMRING__SA(offsetof(struct shmring__hdr, pk_sent) == 8 * SHMRING__LINE, "packed counts line");
SHMRING__SA(offsetof(struct shmring__hdr, pk_received) == 8 * SHMRING__LINE + 64, "packed consumer half");
SHMRING__SA(offsetof(struct shmring__hdr, rsvd) == 9 * SHMRING__LINE, "reserved lines");
SHMRING__SA(offsetof(struct shmring__hdr, producers) == 2048, "registry offset");
SHMRING__SA(sizeof(struct shmring__rec_packed) == 8, "packed record header");
SHMRING__SA(sizeof(struct shmring__peer) == 32, "peer size");
SHMRING__SA(offsetof(struct shmring__hdr, consumers) == 4096, "consumer registry offset");
SHMRING__SA(offsetof(struct shmring__hdr, claim_n) == 6144, "claim counts offset");
SHMRING__SA(sizeof(struct shmring__hdr) == SHMRING__HDR_SIZE, "header size");
SHMRING__SA(sizeof(struct shmring__slot_spsc) == 8, "spsc slot header");
SHMRING__SA(sizeof(struct shmring__slot_mpmc) == 16, "mpmc slot header");
SHMRING__SA(sizeof(struct shmring__slot_ow) == 16, "overwrite slot header");
SHMRING__SA(offsetof(struct shmring__hdr, overruns) == 7 * SHMRING__LINE + 48, "overruns");
SHMRING__SA(sizeof(struct shmring__bcast_sub) == SHMRING__LINE, "broadcast subscriber line");
#undef SHMRING__SA

#endif /* SHMRING_LAYOUT_H */
