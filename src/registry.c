/* SPDX-License-Identifier: MIT */
/*
 * registry.c - who is attached: process identity, liveness, role claims and
 * takeover, and the end-of-stream test built on them.
 *
 * An entry's owner word is (start_time & 0xffffffff) << 32 | pid, claimed
 * with one CAS. The start time (field 22 of /proc/PID/stat) tells a dead
 * process from a new one that reused its pid. An entry only becomes free
 * with state FREE: a closer resets state then clears owner; a reaper first
 * takes the dead owner's entry over (CAS to its own owner word), resets the
 * state, then clears it. So "owner != 0 && state != SHUTDOWN" always means
 * a producer that may still send.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

/* /proc/PID/stat: state char and start time; -1 if unreadable (ENOENT: gone) */
static int read_stat(pid_t pid, char *state, uint64_t *start)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: parse after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	p += 2;
	*state = *p;
	/* fields after comm: 3=state ... 22=starttime, i.e. 19 more after state */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return 0;
}

static uint64_t make_owner(pid_t pid, uint64_t start)
{
	return (start & 0xffffffffu) << 32 | (uint32_t)pid;
}

/* this process's owner word; recomputed after fork (pid changes) */
uint64_t shmring__self_owner(void)
{
	static _Atomic uint64_t cached;  /* one word per process; a race recomputes the same value */
	pid_t pid = getpid();
	uint64_t o = atomic_load_explicit(&cached, memory_order_relaxed);
	char state;
	uint64_t start = 0;

	if (o && (pid_t)(uint32_t)o == pid)
		return o;
	if (read_stat(pid, &state, &start) < 0)
		start = 0;  /* no /proc: pid alone (no reuse guard) */
	o = make_owner(pid, start);
	atomic_store_explicit(&cached, o, memory_order_relaxed);
	return o;
}

/*
 * 1 if the process named by owner exists, is not a zombie, and started when
 * the owner word says; 0 if it is gone. When we cannot tell (no /proc, no
 * permission), say alive: a wrong "dead" would break a live peer's role.
 */
int shmring__owner_alive(uint64_t owner)
{
	pid_t pid = (pid_t)(uint32_t)owner;
	char state;
	uint64_t start;

	if (owner == 0 || pid <= 0)
		return 0;
	if (owner == shmring__self_owner())
		return 1;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	int rc = read_stat(pid, &state, &start);
	if (rc == -ENOENT || rc == -ESRCH)
		return 0;
	if (rc < 0)
		return 1;
	if (state == 'Z' || state == 'X' || state == 'x')
		return 0;
	if ((owner >> 32) != 0 && (start & 0xffffffffu) != (owner >> 32))
		return 0;
	return 1;
}

static struct shmring__peer *side_table(struct shmring *r, int side)
{
	return side == SHMRING_PRODUCER ? r->hdr->producers : r->hdr->consumers;
}

/* release entry e that we own: state first, then owner (see top comment) */
static void release_entry(struct shmring__peer *e)
{
	shmring__store_relaxed32(&e->state, SHMRING__PEER_FREE);
	/* R1: release: the state reset is visible before the entry looks free;
	 * pairs with R2 (the acquire CAS of the next claimant) */
	shmring__store_release64(&e->owner, 0);
}

/*
 * Claim one entry of a side. SPSC uses entry 0 only: -EBUSY while its owner
 * lives. MPMC takes the first free or dead entry: -EUSERS when all 64 live.
 */
static int claim(struct shmring *r, int side)
{
	struct shmring__peer *tab = side_table(r, side);
	unsigned n = r->kind == SHMRING_SPSC ? 1 : SHMRING__MAX_PEERS;

	for (unsigned i = 0; i < n; i++) {
		struct shmring__peer *e = &tab[i];
		/* R2: acquire: see the previous holder's state reset (R1) */
		uint64_t cur = shmring__load_acquire64(&e->owner);
		if (cur != 0 && shmring__owner_alive(cur))
			continue;
		if (!shmring__cas_acqrel64(&e->owner, &cur, r->owner))
			continue;   /* somebody else claimed it first */
		/* relaxed: only the owner writes gen; readers pair it with the
		 * owner word they loaded with acquire */
		uint32_t gen = shmring__load_relaxed32(&e->gen) + 1;
		shmring__store_relaxed32(&e->gen, gen);
		if (side == SHMRING_CONSUMER)
			r->stamp = (gen << 8) | (i + 1);
		else
			r->pstamp = (gen << 8) | SHMRING__STAMP_PRODUCER | (i + 1);
		r->cpus = shmring__cpu_mask();
		shmring__store_relaxed64(&e->cpus, r->cpus);   /* relaxed: a hint */
		/* R3: release: ACTIVE after we own it; pairs with the acquire
		 * loads in peers_gone() */
		shmring__store_release32(&e->state, SHMRING__PEER_ACTIVE);
		return (int)i;
	}
	return r->kind == SHMRING_SPSC ? -EBUSY : -EUSERS;
}

int shmring__attach_roles(struct shmring *r, int roles)
{
	struct shmring__hdr *h = r->hdr;
	int i;

	r->prod_peer = r->cons_peer = -1;
	if (roles & SHMRING_PRODUCER) {
		i = claim(r, SHMRING_PRODUCER);
		if (i < 0)
			return i;
		r->prod_peer = i;
		/* relaxed reset: in SPSC no other producer can be announced */
		if (r->kind == SHMRING_SPSC)
			shmring__store_relaxed32(&h->space_waiters, 0);
		/* a stream that ended (a consumer saw its end) is over: we start
		 * the next one (tools such as "shmring pop" use this to tell an
		 * old, finished stream from a new one) */
		/* informational word: acquire/CAS pair with the consumer's CAS in
		 * shmring__wait(); a lost race only retries */
		uint32_t v = shmring__load_acquire32(&h->stream);
		while ((v & 1) && !shmring__cas_seqcst32(&h->stream, &v, v + 1))
			;

		/* R4: release: our entry (R3) before "a producer attached";
		 * pairs with the acquire in peers_gone() */
		shmring__store_release32(&h->prod_ever, 1);
	}
	if (roles & SHMRING_CONSUMER) {
		i = claim(r, SHMRING_CONSUMER);
		if (i < 0) {
			if (r->prod_peer >= 0) {
				release_entry(&h->producers[r->prod_peer]);
				r->prod_peer = -1;
			}
			return i;
		}
		r->cons_peer = i;
		if (r->kind == SHMRING_SPSC)   /* relaxed: as space_waiters above */
			shmring__store_relaxed32(&h->data_waiters, 0);

		shmring__add_release32(&h->cons_attaches, 1);   /* R4 for consumers too */
		shmring__store_release32(&h->cons_ever, 1);  /* R4 for consumers */
	}
	return 0;
}

void shmring__detach_roles(struct shmring *r)
{
	if (r->prod_peer >= 0) {
		release_entry(&r->hdr->producers[r->prod_peer]);
		r->prod_peer = -1;
	}
	if (r->cons_peer >= 0) {
		release_entry(&r->hdr->consumers[r->cons_peer]);
		r->cons_peer = -1;
	}
}

/* free a dead process's entry: take it over, reset, release */
static void reap(struct shmring *r, int side, struct shmring__peer *e, uint64_t dead)
{
	if (r->readonly)
		return;
	if (shmring__cas_acqrel64(&e->owner, &dead, r->owner)) {
		release_entry(e);
		/* relaxed: a counter for tools (tells a death from a shutdown) */
		shmring__add_relaxed32(side == SHMRING_PRODUCER ? &r->hdr->prod_deaths
		                                                : &r->hdr->cons_deaths, 1);
	}
}

int shmring__peers_gone(struct shmring *r, int side, int force)
{
	struct shmring__hdr *h = r->hdr;
	struct shmring__peer *tab = side_table(r, side);
	unsigned n = r->kind == SHMRING_SPSC ? 1 : SHMRING__MAX_PEERS;
	/* R5: acquire: pairs with R4; an attached peer's entry is then visible */
	uint32_t ever = shmring__load_acquire32(side == SHMRING_PRODUCER ? &h->prod_ever
	                                                                 : &h->cons_ever);
	if (!ever)
		return 0;   /* nobody attached yet: keep waiting, like a FIFO */

	int64_t now = shmring__now_ns();
	int scan = force || now - r->liveness_ns >= SHMRING__LIVENESS_NS;
	if (scan)
		r->liveness_ns = now;

	int live = 0;
	for (unsigned i = 0; i < n; i++) {
		struct shmring__peer *e = &tab[i];
		/* acquire: pairs with R1/R3 */
		uint64_t owner = shmring__load_acquire64(&e->owner);
		if (!owner)
			continue;
		uint32_t state = shmring__load_acquire32(&e->state);
		if (side == SHMRING_PRODUCER && state == SHMRING__PEER_SHUTDOWN)
			continue;
		if (scan && owner != r->owner && !shmring__owner_alive(owner)) {
			reap(r, side, e, owner);
			continue;
		}
		live++;
	}
	return live == 0;
}
