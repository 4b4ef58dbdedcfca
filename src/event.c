/* SPDX-License-Identifier: MIT */
/*
 * event.c - a descriptor an event loop can watch: shmring_event_fd() and
 * shmring_arm().
 *
 * The descriptor is an eventfd of the handle's own. Nothing outside the
 * process is involved: the peer still only bumps the ring's futex word and
 * wakes its announced sleepers, exactly as for a sleeping recv/send, so it
 * works across PID namespaces and users as the ring itself does, leaves no
 * file anywhere, and a dead waiter's announcement costs the peer at most
 * one wake (the announce bits of wait.c).
 *
 * The sleeping is done by a watcher thread, started by the first
 * shmring_event_fd() of the handle, but the handshake's decisions are made
 * in the caller's thread: shmring_arm() announces (W1), issues the barrier
 * (W2), snapshots the futex words (W3), re-checks the ring through the
 * engine (W4) and checks its announcements (W4b), exactly as a blocking
 * recv/send does before it sleeps. Only then does it hand the thread the
 * words and their snapshots (copies: the thread never touches the handle).
 * The thread sleeps on them (W5; futex_waitv when there are two), and the
 * first bump of a word past its snapshot makes the eventfd readable; so
 * does the end of the peers (the thread looks at the registry's kernel
 * locks, read-only, every 200 ms). No wake-up is lost for the
 * reason a blocked call loses none. A readable descriptor means "look":
 * the caller drains with timeout 0 and arms again.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "private.h"

enum { EV_IDLE, EV_ARMED, EV_STOP };

/* how often an armed watcher with nothing happening looks at the peers'
 * liveness: a dead peer is reported within about this long */
#define WATCH_SLICE_NS 200000000

struct shmring__event {
	int efd;
	pthread_t thread;
	uint32_t state;     /* EV_*: written by arm/close (caller) and the thread;
	                     * a private futex word the idle thread sleeps on */
	unsigned nwait;     /* directions watched: 1 or 2 */
	int dir[2];         /* SHMRING__DIR_DATA (consumer) / _SPACE (producer) */
	/* handed to the thread by arm (release/acquire on state): */
	struct shmring__sleeper s[2];
	int exact;          /* shmring__announce()'s verdict */
	int prod_shut;      /* the handle had shut down (space: over) */
};

static void state_wake(struct shmring__event *ev)
{
	syscall(SYS_futex, &ev->state, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* the peers a direction waits for are all gone: stream.c's rule, read-only
 * (the dead are reaped by whoever drains the ring next); or the engine says
 * a dead peer holds the way that the caller's next call would free */
static int peers_gone(struct shmring *r, const struct shmring__event *ev, int dir)
{
	const struct shmring__wait_for *w = shmring__wait_table(r, dir);
	if (dir == SHMRING__DIR_SPACE && ev->prod_shut)
		return 1;
	if (w && w->peer_dead && w->peer_dead(r))
		return 1;
	return shmring__side_gone_now(r, dir == SHMRING__DIR_DATA ? SHMRING_PRODUCER
	                                                          : SHMRING_CONSUMER);
}

/* one armed period: sleep on the words handed over until one moves past
 * its snapshot (a notifier's N3, or a close), the peers are gone, or stop */
static void watch(struct shmring *r, struct shmring__event *ev)
{
	for (;;) {
		shmring__sleep_on(ev->s, ev->nwait, ev->exact,
		                  shmring__now_ns() + WATCH_SLICE_NS);   /* W5 */
		/* acquire: pairs with the release store of EV_STOP */
		if (shmring__load_acquire32(&ev->state) == EV_STOP)
			return;
		for (unsigned i = 0; i < ev->nwait; i++)
			/* acquire: a notifier's N3 moved it: look */
			if (shmring__load_acquire32(ev->s[i].word) != ev->s[i].snap ||
			    peers_gone(r, ev, ev->dir[i]))
				return;
	}
}

static void *watcher(void *arg)
{
	struct shmring *r = arg;
	struct shmring__event *ev = priv(r)->event;
	uint64_t one = 1;

	for (;;) {
		/* acquire: what arm handed over comes with EV_ARMED; pairs with
		 * the release store in shmring_arm() */
		uint32_t st = shmring__load_acquire32(&ev->state);
		if (st == EV_STOP)
			return NULL;
		if (st == EV_IDLE) {
			syscall(SYS_futex, &ev->state, FUTEX_WAIT_PRIVATE, EV_IDLE, NULL, NULL, 0);
			continue;
		}
		watch(r, ev);
		shmring__unannounce(ev->s, ev->nwait);   /* W6 */
		uint32_t armed = EV_ARMED;
		/* seq_cst CAS: a STOP that came meanwhile stays */
		if (shmring__cas_seqcst32(&ev->state, &armed, EV_IDLE))
			while (write(ev->efd, &one, sizeof(one)) < 0 && errno == EINTR)
				;
	}
}

int shmring_event_fd(struct shmring *r)
{
	if (!r || priv(r)->forked || priv(r)->readonly)
		return -EINVAL;
	if (priv(r)->event)
		return priv(r)->event->efd;
	struct shmring__event *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	if (priv(r)->roles & SHMRING_CONSUMER)
		ev->dir[ev->nwait++] = SHMRING__DIR_DATA;
	if (priv(r)->roles & SHMRING_PRODUCER)
		ev->dir[ev->nwait++] = SHMRING__DIR_SPACE;
	if (!ev->nwait) {
		free(ev);
		return -EINVAL;   /* an observer has nothing to wait for */
	}
	ev->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev->efd < 0) {
		int rc = -errno;
		free(ev);
		return rc;
	}
	priv(r)->event = ev;
	int rc = pthread_create(&ev->thread, NULL, watcher, r);
	if (rc) {
		close(ev->efd);
		free(ev);
		priv(r)->event = NULL;
		return -rc;
	}
	return ev->efd;
}

int shmring_arm(struct shmring *r)
{
	/* a copy inherited across fork() holds no role and has no watcher
	 * (threads do not survive fork): nothing to arm */
	if (!r || !priv(r)->event || priv(r)->forked)
		return -EINVAL;
	struct shmring__event *ev = priv(r)->event;
	uint64_t n;

	/* acquire: pairs with the watcher's CAS; while it still sleeps for the
	 * last arm, that arm holds */
	if (shmring__load_acquire32(&ev->state) == EV_ARMED)
		return 0;
	while (read(ev->efd, &n, sizeof(n)) < 0 && errno == EINTR)   /* drain */
		;
	for (unsigned i = 0; i < ev->nwait; i++)
		shmring__sleeper_init(&ev->s[i], r, ev->dir[i]);
	ev->exact = shmring__announce(ev->s, ev->nwait);   /* W1, W2, W3 */
	ev->prod_shut = r->p.shut;
	for (unsigned i = 0; i < ev->nwait; i++) {         /* W4: re-check */
		const struct shmring__wait_for *w = shmring__wait_table(r, ev->dir[i]);
		if (w->ready(r) || shmring__wait_ended(r, w, 0)) {
			shmring__unannounce(ev->s, ev->nwait);
			return 1;   /* ready now: do not wait */
		}
	}
	if (!shmring__announced(ev->s, ev->nwait)) {       /* W4b */
		/* a notifier took an announcement: something moved; look */
		shmring__unannounce(ev->s, ev->nwait);
		return 1;
	}
	/* release: the words and snapshots to the thread; pairs with the
	 * acquire load in watcher() */
	shmring__store_release32(&ev->state, EV_ARMED);
	state_wake(ev);
	return 0;
}

/* from shmring_close(): stop the thread, close the descriptor */
void shmring__event_stop(struct shmring *r)
{
	struct shmring__event *ev = priv(r)->event;
	if (!ev)
		return;
	if (priv(r)->forked) {
		/* a forked child's copy: the watcher thread is the parent's and
		 * does not exist here, and the ring words are none of our
		 * business; only our copy of the eventfd and the memory are */
		close(ev->efd);
		free(ev);
		priv(r)->event = NULL;
		return;
	}
	/* release: pairs with the acquire loads in watch() and watcher() */
	shmring__store_release32(&ev->state, EV_STOP);
	state_wake(ev);
	/* the thread may sleep on a ring word: wake that word's sleepers (they
	 * re-check and sleep again), so that close does not wait a slice */
	for (unsigned i = 0; i < ev->nwait; i++) {
		uint32_t *word = ev->dir[i] == SHMRING__DIR_DATA ? &r->hdr->data_futex
		                                                 : &r->hdr->space_futex;
		/* seq_cst RMW, as a notifier's N3: a sleep that starts from an
		 * older snapshot is refused */
		shmring__add_seqcst32(word, 1);
		syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
	pthread_join(ev->thread, NULL);
	close(ev->efd);
	free(ev);
	priv(r)->event = NULL;
}
