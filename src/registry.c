/* SPDX-License-Identifier: MIT */
/*
 * registry.c - who is attached: kernel-owned liveness, role claims and
 * reaping, the announce bits of dead sleepers, and what a forked child does
 * with the handles it inherited.
 *
 * Liveness is an open-file-description lock per registry entry (one byte of
 * the ring's file, see layout.h), held on a descriptor of the handle's own
 * that is never mapped. The kernel releases it when the holder closes,
 * exits, is killed or execs, whatever PID namespace, user or /proc mount
 * the holder and the observer have. No pid is ever tested.
 *
 * The lock is also the entry's mutex. Claiming an entry: take its lock
 * (F_OFD_SETLK, non-blocking), then write it: whatever the entry holds is
 * a dead holder's, or nothing. Releasing: reset state, clear owner, drop
 * the lock. Reaping a dead holder's entry: test the lock (F_OFD_GETLK on
 * the mapping's descriptor, which never holds locks), take it, clear the
 * entry, drop it. A claimant and a reaper cannot both hold an entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "private.h"

/* ---- identity, for display only ---- */

/* the low 32 bits of our PID namespace's inode; 0 if /proc cannot say */
static uint32_t pidns_id(void)
{
	struct stat st;
	if (stat("/proc/self/ns/pid", &st) < 0)
		return 0;
	return (uint32_t)st.st_ino;
}

/* this process's owner word: (pidns << 32) | pid; recomputed after fork */
uint64_t shmring__self_id(void)
{
	static _Atomic uint64_t cached;  /* one word per process; a race recomputes the same value */
	pid_t pid = getpid();
	/* relaxed: a cache of a value any thread computes alike */
	uint64_t o = atomic_load_explicit(&cached, memory_order_relaxed);

	if (o && (pid_t)(uint32_t)o == pid)
		return o;
	o = (uint64_t)pidns_id() << 32 | (uint32_t)pid;
	atomic_store_explicit(&cached, o, memory_order_relaxed);   /* relaxed: as above */
	return o;
}

/* 1 unless both namespaces are known and differ */
int shmring__same_pidns(uint64_t owner)
{
	uint32_t ns = (uint32_t)(owner >> 32), ours = (uint32_t)(shmring__self_id() >> 32);
	return ns == 0 || ours == 0 || ns == ours;
}

/* ---- the locks ---- */

static off_t lock_byte(int side, unsigned i)
{
	return (off_t)SHMRING__LOCK_BASE + (side == SHMRING_CONSUMER ? SHMRING__MAX_PEERS : 0) + i;
}

/* 0: we hold entry i's lock now; < 0: somebody else holds it (-EAGAIN) or
 * the kernel refused (-errno) */
static int lock_take(int fd, int side, unsigned i)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	                    .l_start = lock_byte(side, i), .l_len = 1 };
	int rc;
	do
		rc = fcntl(fd, F_OFD_SETLK, &fl);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

static void lock_drop(int fd, int side, unsigned i)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET,
	                    .l_start = lock_byte(side, i), .l_len = 1 };
	while (fcntl(fd, F_OFD_SETLK, &fl) < 0 && errno == EINTR)
		;
}

/*
 * Does a live attachment hold entry i of a side? Asked on the mapping's
 * descriptor, which holds no locks, so every holder shows, our own other
 * handles included. When the kernel cannot answer, say held: a wrong
 * "dead" would break a live peer's role.
 */
int shmring__entry_held(struct shmring *r, int side, unsigned i)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET,
	                    .l_start = lock_byte(side, i), .l_len = 1 };
	int rc;
	do
		rc = fcntl(priv(r)->fd, F_OFD_GETLK, &fl);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return 1;
	return fl.l_type != F_UNLCK;
}

static struct shmring__peer *side_table(struct shmring *r, int side)
{
	return side == SHMRING_PRODUCER ? r->hdr->producers : r->hdr->consumers;
}

/* the announce mask in which entry i of a side sleeps: consumers wait for
 * data, producers for space */
static uint64_t *side_waiters(struct shmring *r, int side)
{
	return side == SHMRING_PRODUCER ? &r->hdr->space_waiters : &r->hdr->data_waiters;
}

/*
 * A producer entry is left without a shutdown (its holder closed it, died
 * or exec'd): the stream it was part of is incomplete. Recorded before the
 * entry is cleared, so that whoever sees the entry free or unlocked (R5
 * acquire on owner/state, after R1 release) also sees the flag.
 * E1: seq_cst RMW: pairs with E3 (the consumer's acquire load of end_flags
 * in stream.c); an OR, so concurrent reapers and aborters never lose a bit.
 */
static void record_unended(struct shmring *r, int side, uint32_t state)
{
	if (side == SHMRING_PRODUCER && state != SHMRING__PEER_SHUTDOWN)
		shmring__or_seqcst32(&r->hdr->end_flags, SHMRING__ENDF_DIED);
}

/* clear entry e, whose lock we hold: state first, then owner */
static void release_entry(struct shmring__peer *e)
{
	/* relaxed: R1 below publishes it */
	shmring__store_relaxed32(&e->state, SHMRING__PEER_FREE);
	/* R1: release: the state reset is visible before the entry looks
	 * free; pairs with R5 */
	shmring__store_release64(&e->owner, 0);
}

/*
 * Claim one entry of a side. SPSC (and a broadcast ring's producer) uses
 * entry 0 only: -EBUSY while a live attachment holds it. MPMC (and
 * broadcast subscribers) take the first entry whose lock is free: -EUSERS
 * when all 64 are held.
 */
static int claim(struct shmring *r, int side)
{
	struct shmring__peer *tab = side_table(r, side);
	unsigned n = shmring__entries(r, side);

	for (unsigned i = 0; i < n; i++) {
		struct shmring__peer *e = &tab[i];
		int rc = lock_take(priv(r)->lock_fd, side, i);
		if (rc == -EAGAIN || rc == -EACCES)
			continue;   /* held by a live attachment (or being reaped) */
		if (rc < 0)
			return rc;  /* the kernel will not lock this file (-ENOLCK) */
		/* the entry is ours: nobody else writes it while we hold the
		 * lock, so relaxed loads of our own lock-protected words */
		if (shmring__load_relaxed64(&e->owner) != 0 &&
		    shmring__load_relaxed32(&e->state) != SHMRING__PEER_SHUTDOWN) {
			/* its holder went without releasing it: a death nobody
			 * reaped yet (relaxed: a counter for tools) */
			shmring__add_relaxed32(side == SHMRING_PRODUCER ? &r->hdr->prod_deaths
			                                                : &r->hdr->cons_deaths, 1);
			record_unended(r, side, SHMRING__PEER_ACTIVE);   /* E1 */
		}
		/* relaxed: only the lock holder writes gen; readers order it
		 * through the owner word (released below) */
		uint32_t gen = shmring__load_relaxed32(&e->gen) + 1;
		shmring__store_relaxed32(&e->gen, gen);
		/* no claim intent yet (a dead holder's would make peers wait
		 * for it); relaxed: a peer that reads the old intent while we
		 * hold the lock takes it for a live one and only waits longer */
		shmring__store_relaxed64(&e->claim, 0);
		shmring__store_relaxed32(&r->hdr->claim_n[side == SHMRING_CONSUMER][i], 0);
		if (side == SHMRING_CONSUMER)
			priv(r)->cons_intent_n = 0;
		else
			priv(r)->prod_intent_n = 0;
		/* a dead holder's announcement would cost every notifier a wake:
		 * seq_cst RMW like every announce-bit change (pairs with W1/N2) */
		shmring__and_seqcst64(side_waiters(r, side), ~(UINT64_C(1) << i));
		if (side == SHMRING_CONSUMER) {
			priv(r)->cons_stamp = (gen << 8) | (i + 1);
			priv(r)->data_bit = UINT64_C(1) << i;
		} else {
			priv(r)->prod_stamp = (gen << 8) | SHMRING__STAMP_PRODUCER | (i + 1);
			priv(r)->space_bit = UINT64_C(1) << i;
		}
		priv(r)->cpus = shmring__cpu_mask();
		shmring__store_relaxed64(&e->cpus, priv(r)->cpus);   /* relaxed: a hint */
		/* release: gen and the rest before the owner word (display) */
		shmring__store_release64(&e->owner, priv(r)->self_id);
		/* R3: release: ACTIVE after the entry is written; pairs with R5 */
		shmring__store_release32(&e->state, SHMRING__PEER_ACTIVE);
		return (int)i;
	}
	return n == 1 ? -EBUSY : -EUSERS;
}

int shmring__attach_roles(struct shmring *r, int roles)
{
	int i;

	priv(r)->prod_entry = priv(r)->cons_entry = -1;
	if (roles & SHMRING_PRODUCER) {
		i = claim(r, SHMRING_PRODUCER);
		if (i < 0)
			return i;
		priv(r)->prod_entry = i;
	}
	if (roles & SHMRING_CONSUMER) {
		i = claim(r, SHMRING_CONSUMER);
		if (i < 0) {
			shmring__detach_roles(r);
			return i;
		}
		priv(r)->cons_entry = i;
	}
	return 0;
}

void shmring__detach_roles(struct shmring *r)
{
	if (priv(r)->forked || priv(r)->lock_fd < 0) {
		/* a forked child's copy holds nothing: the parent's entries
		 * stay the parent's */
		priv(r)->prod_entry = priv(r)->cons_entry = -1;
		return;
	}
	if (priv(r)->prod_entry >= 0) {
		struct shmring__peer *e = &r->hdr->producers[priv(r)->prod_entry];
		/* closing without a shutdown leaves the stream incomplete (E1);
		 * relaxed: our own entry, only we write it */
		record_unended(r, SHMRING_PRODUCER, shmring__load_relaxed32(&e->state));
		release_entry(e);
		lock_drop(priv(r)->lock_fd, SHMRING_PRODUCER, (unsigned)priv(r)->prod_entry);
		priv(r)->prod_entry = -1;
	}
	if (priv(r)->cons_entry >= 0) {
		release_entry(&r->hdr->consumers[priv(r)->cons_entry]);
		lock_drop(priv(r)->lock_fd, SHMRING_CONSUMER, (unsigned)priv(r)->cons_entry);
		priv(r)->cons_entry = -1;
	}
	priv(r)->data_bit = priv(r)->space_bit = 0;
}

/*
 * Entry i of a side looked unlocked with an owner: free it for its dead
 * holder. Returns 1 if it is dead (reaped now, or we may not write), 0 if a
 * live attachment holds it after all (a claimant got there first).
 */
static int reap(struct shmring *r, int side, unsigned i)
{
	struct shmring__peer *e = &side_table(r, side)[i];

	if (priv(r)->readonly || priv(r)->lock_fd < 0)
		return 1;   /* an observer only looks */
	if (lock_take(priv(r)->lock_fd, side, i) < 0)
		return 0;
	/* relaxed: we hold the entry's lock; nobody else writes it */
	if (shmring__load_relaxed64(&e->owner) != 0) {
		uint32_t state = shmring__load_relaxed32(&e->state);
		record_unended(r, side, state);   /* E1, before the entry looks free */
		release_entry(e);
		/* its announcement goes with it (seq_cst: as in claim) */
		shmring__and_seqcst64(side_waiters(r, side), ~(UINT64_C(1) << i));
		if (state != SHMRING__PEER_SHUTDOWN)   /* relaxed: a counter */
			shmring__add_relaxed32(side == SHMRING_PRODUCER ? &r->hdr->prod_deaths
			                                                : &r->hdr->cons_deaths, 1);
	}
	lock_drop(priv(r)->lock_fd, side, i);
	return 1;
}

/* entry i of a side is taken by an attachment that may still act (for
 * producers: not shut down); whether it lives is the lock's to say */
static int entry_taken(struct shmring *r, int side, unsigned i)
{
	const struct shmring__peer *e = &side_table(r, side)[i];
	/* R5: acquire: pairs with R1/R3 */
	if (!shmring__load_acquire64(&e->owner))
		return 0;
	/* acquire: as R5; pairs with R3 and S1 (SHUTDOWN) */
	uint32_t state = shmring__load_acquire32(&e->state);
	return !(side == SHMRING_PRODUCER && state == SHMRING__PEER_SHUTDOWN);
}

/* read-only: does a live attachment that may still act hold an entry of
 * the side? (no reaping, nothing written: safe from another thread) */
int shmring__peer_held(struct shmring *r, int side)
{
	unsigned n = shmring__public_kind(r->kind) == SHMRING_SPSC ? 1 : SHMRING__MAX_PEERS;
	for (unsigned i = 0; i < n; i++)
		if (entry_taken(r, side, i) && shmring__entry_held(r, side, i))
			return 1;
	return 0;
}

int shmring__producer_died_unreaped(struct shmring *r)
{
	unsigned n = shmring__public_kind(r->kind) == SHMRING_SPSC ? 1 : SHMRING__MAX_PEERS;
	for (unsigned i = 0; i < n; i++)
		if (entry_taken(r, SHMRING_PRODUCER, i) && !shmring__entry_held(r, SHMRING_PRODUCER, i))
			return 1;
	return 0;
}

unsigned shmring__live_peers(struct shmring *r, int side, int force)
{
	unsigned n = shmring__public_kind(r->kind) == SHMRING_SPSC ? 1 : SHMRING__MAX_PEERS;
	int64_t now = shmring__now_ns();
	int scan = force || now - priv(r)->liveness_ns >= SHMRING__LIVENESS_NS;
	if (scan)
		priv(r)->liveness_ns = now;

	unsigned live = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!entry_taken(r, side, i))
			continue;
		if (scan && !shmring__entry_held(r, side, i) && reap(r, side, i))
			continue;
		live++;
	}
	return live;
}

/* ---- fork: a child inherits handles, not attachments ---- */

/*
 * Every open handle of the process is on this list (from before its lock
 * descriptor is opened, shmring__open_lock_fd()). In a forked child each
 * handle's lock descriptor is closed at once: the locks are the parent's
 * proof of life and must end with the parent, not with a child that may
 * never touch the ring (or exec something that runs for hours). The child's
 * copy of the handle then holds nothing; shmring_close() on it only unmaps.
 */
static pthread_mutex_t live_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static struct shmring *live_head;

static void before_fork(void)
{
	pthread_mutex_lock(&live_mutex);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&live_mutex);
}

static void after_fork_child(void)
{
	for (struct shmring *r = live_head; r; r = priv(r)->next_live) {
		if (priv(r)->lock_fd >= 0)
			close(priv(r)->lock_fd);
		priv(r)->lock_fd = -1;
		priv(r)->forked = 1;
		/* the bits are the parent's: never announce, or clear, with them */
		priv(r)->data_bit = priv(r)->space_bit = 0;
	}
	pthread_mutex_unlock(&live_mutex);
}

static void install_fork_handlers(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/*
 * The descriptor that holds our registry locks: a second open file
 * description of the same object, never mapped (a mapping keeps its open
 * file, and so its locks, alive after close). Reopened through
 * /proc/self/fd (always visible to ourselves, whatever hidepid says); where
 * /proc is missing, by name or path, checked to be the same object (an
 * anonymous ring then cannot be attached with a role: -ENOENT).
 *
 * Opened and handed to the handle under live_mutex, which the fork
 * handler's prepare step takes: a fork from another thread comes either
 * before the open (the child has no copy) or after the handle holds the
 * descriptor (after_fork_child() closes the child's copy), never in
 * between, where the child would keep an untracked copy of the open file
 * description, and with it, once we take our entry locks on it, our
 * liveness for as long as the child lives (issue 22, item 8). Every path
 * that attaches comes here (create, create_file, create_memfd, open,
 * open_file, open_fd: lifecycle.c's attach()). The cost: a fork in
 * another thread waits for this open (a /proc reopen, or a name or path
 * where /proc is missing).
 */
void (*shmring__test_hook_lock_fd)(void);

int shmring__open_lock_fd(struct shmring *r)
{
	char path[64];
	struct stat a, b;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", priv(r)->fd);
	pthread_mutex_lock(&live_mutex);
	do
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	/* by name or path (O_NONBLOCK, O_NOCTTY: whatever is there now; it
	 * must be our object, checked below) */
	if (fd < 0 && priv(r)->name[0])
		fd = shm_open(priv(r)->name, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
	else if (fd < 0 && priv(r)->path)
		fd = open(priv(r)->path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (shmring__test_hook_lock_fd)
		shmring__test_hook_lock_fd();
	if (fstat(fd, &a) < 0 || fstat(priv(r)->fd, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);
		rc = -ESTALE;   /* the name now names another object */
		goto out;
	}
	priv(r)->lock_fd = fd;
out:
	pthread_mutex_unlock(&live_mutex);
	return rc;
}

/* close the lock descriptor (its locks go with it), under the same mutex:
 * the fork handler never sees a number that is no longer ours */
void shmring__close_lock_fd(struct shmring *r)
{
	pthread_mutex_lock(&live_mutex);
	if (priv(r)->lock_fd >= 0)
		close(priv(r)->lock_fd);
	priv(r)->lock_fd = -1;
	pthread_mutex_unlock(&live_mutex);
}

void shmring__track(struct shmring *r)
{
	pthread_once(&fork_once, install_fork_handlers);
	pthread_mutex_lock(&live_mutex);
	priv(r)->prev_live = NULL;
	priv(r)->next_live = live_head;
	if (live_head)
		priv(live_head)->prev_live = r;
	live_head = r;
	pthread_mutex_unlock(&live_mutex);
}

void shmring__untrack(struct shmring *r)
{
	pthread_mutex_lock(&live_mutex);
	struct shmring *prev = priv(r)->prev_live, *next = priv(r)->next_live;
	if (prev)
		priv(prev)->next_live = next;
	else if (live_head == r)
		live_head = next;
	if (next)
		priv(next)->prev_live = prev;
	priv(r)->next_live = priv(r)->prev_live = NULL;
	pthread_mutex_unlock(&live_mutex);
}
