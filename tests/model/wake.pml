/*
 * tests/model/wake.pml - Spin model of shmring's sleep/wake handshake with
 * announce bits (one bit per waiter registry entry in data_waiters /
 * space_waiters) instead of a waiter count.
 *
 * Run it with tests/model/run.sh (or: spin -a wake.pml && gcc -DSAFETY -o pan
 * pan.c && ./pan). The model shows the "data" direction: consumers wait for
 * messages, producers publish and wake them. The "space" direction is the
 * same handshake with the roles swapped.
 *
 * What is modelled
 *   - NPROD producers publish NMSG messages in all, MPMC style: a producer
 *     claims a position, then publishes that slot (P1). Slots may be
 *     published out of order, as in the Vyukov ring: a consumer whose head
 *     slot is not yet published sees "nothing" even if a later one is.
 *   - NCONS = 2 consumers. A consumer sees that the head slot is ready, then
 *     claims it with a CAS on the head; the CAS may fail because the other
 *     consumer claimed it first, and then it looks again. So a waiter woken
 *     for a message may find it already gone.
 *   - The futex, as the kernel implements it: FUTEX_WAIT compares the word
 *     with the snapshot and queues the caller in one step (under the hash
 *     bucket lock); if they differ it returns at once (EAGAIN). FUTEX_WAKE
 *     takes every queued waiter off the queue in one step; a waiter that
 *     queues after the wake is not woken by it. Up to SPURIOUS returns from
 *     FUTEX_WAIT without a wake (EINTR, a stale wake) are allowed.
 *     Sleep deadlines (the 100 ms liveness slices in src/wait.c) are NOT
 *     modelled: they would hide a lost wake-up, which is a bug even when a
 *     timeout later bounds its cost.
 *   - The futex word is a byte here; it cannot wrap within the few bumps a
 *     run makes. (The real 32-bit word could in principle come back to the
 *     snapshot after 2^32 bumps while a waiter is between W3 and W5: not a
 *     concern in practice, and not modelled.)
 *
 * What is NOT modelled: memory ordering. Spin interleaves whole statements,
 * so every execution is sequentially consistent. The fences W2 and N1 (and
 * the membarrier that lets N1 be a compiler barrier) are therefore no-ops
 * here, and a variant without them cannot fail in Spin. Weak-memory
 * behaviour needs a different tool (Relacy, see NOTES.md).
 *
 * The property (checked by the watchdog process below): when nothing in the
 * system can move any more - producers finished, every consumer that did not
 * finish is asleep in FUTEX_WAIT - every published message has been
 * consumed. A published message nobody will ever take, with all consumers
 * asleep, is a lost wake-up, and shows up as an assertion violation.
 *
 * A second property, per consumer, is described at CHECK_REACHABLE below.
 *
 * Variants (spin -D...): the real protocol with none of them; each mutant
 * below must be caught (an assertion violation trail).
 *   NO_RECHECK          the waiter skips W4: announces and sleeps without
 *                       looking at the ring again.
 *   SNAP_AFTER_RECHECK  the waiter reads the futex word just before
 *                       FUTEX_WAIT (after W4 and W4b) instead of before W4.
 *                       (Read between W4 and W4b instead, the model still
 *                       verifies: W4b then catches every bump that the
 *                       late snapshot would hide. Do not rely on that.)
 *   NO_BIT_RECHECK      the waiter skips W4b: it sleeps even when a notifier
 *                       already took its announce bit.
 *   WAKE_ONE            the notifier takes every bit at X but wakes only
 *                       one sleeper at N4 (FUTEX_WAKE with n = 1). With two
 *                       consumers no message is lost (the woken one drains
 *                       the ring), but the other sleeps on with no
 *                       announcement: caught by the per-consumer property.
 *   NO_STRANDED_CHECK   not a mutant: leaves out the per-consumer check.
 * Size knobs: NMSG (messages, default 3), NPROD (1 or 2, default 2),
 * SPURIOUS (spurious FUTEX_WAIT returns allowed in a run, default 1).
 *
 * Step labels follow src/wait.c and docs/design.md, section 4:
 *   W1..W6  sleep_once() in src/wait.c (W4 = its ready() and end_of_stream()
 *           calls; after W6 it returns and shmring__wait() looks at the ring
 *           again before the next sleep_once(): "goto top" here)
 *   P1      the publication (e.g. shmring__spsc_publish(), the MPMC slot
 *           sequence store in src/mpmc.c)
 *   N1, N2  shmring__notify() in include/shmring/spsc_inline.h
 *   X..N4 shmring__wake() in src/wait.c
 * With announce bits there is no N5 (the exchange at X already removed
 * the announcements of everyone it wakes) and W6 always clears the bit.
 */

#ifndef NMSG
#define NMSG 3
#endif
#ifndef NPROD
#define NPROD 2
#endif
#ifndef SPURIOUS
#define SPURIOUS 1
#endif
#define NCONS 2
#define BIT(i) (1 << (i))
#define NOTHING 255

/*
 * One look at the ring: t = the head position if its slot is published
 * (work to claim), NMSG if every message is consumed, NOTHING otherwise.
 * The two loads happen in one step here; that loses no behaviour, because
 * both values only grow (a slot once published stays published until the
 * head passes it), so reading them apart is equivalent to reading them
 * together at one of the two moments; a stale "ready" just makes the CAS
 * fail.
 */
inline look(t)
{
	atomic {
		t = taken;
		if
		:: t < NMSG && !pub[t] -> t = NOTHING
		:: else
		fi
	}
}

byte word = 0;          /* the 32-bit futex word (data_futex) */
byte mask = 0;          /* announce bits (data_waiters): bit i = consumer i */
bool pub[NMSG];         /* slot k published (the slot's sequence word) */
byte pclaim = 0;        /* producers' claim position (prod_idx in MPMC) */
byte taken = 0;         /* consumers' claim position (cons_idx in MPMC);
                         * also the shared "messages consumed" counter */
bool queued[NCONS];     /* kernel state: consumer i is on the futex queue */
byte spur = SPURIOUS;   /* spurious returns from FUTEX_WAIT still allowed */
byte held[NPROD];       /* notifier p's local "m": the bits it took at X,
                         * until its wake at N4 is done; global only so
                         * that the stranded-sleeper check can see it */

/*
 * A second, stronger property, for each consumer on its own: a consumer on
 * the futex queue can always be reached by a future FUTEX_WAKE - its bit is
 * still in the mask (the next notifier will take it and wake it) or in the
 * hands of a notifier between X and N4 (which will wake it). That is what
 * the announce-bit design promises (layout.h: a notifier "wakes every
 * announced sleeper"). The lost-message property can miss a consumer left
 * stranded while the other consumer happens to take every message; this
 * one cannot. Only two kinds of step can break it - a consumer queueing
 * (W5) and a notifier finishing its wake (N4); every other step that clears
 * a bit either moves it into held[] (X) or is the consumer clearing its
 * own bit while it is not queued (W6, W6') - so it is asserted right after
 * those two steps rather than in every state (a monitor process would
 * about double the states).
 * -DNO_STRANDED_CHECK leaves it out (to see a mutant lose a message).
 */
#if NPROD >= 2
#define HELD (held[0] | held[1])
#else
#define HELD (held[0])
#endif
#define REACHABLE(i) (!queued[i] || ((mask | HELD) & BIT(i)) != 0)
#ifdef NO_STRANDED_CHECK
#define CHECK_REACHABLE skip
#else
#define CHECK_REACHABLE assert(REACHABLE(0) && REACHABLE(1))
#endif

/*
 * Producer (notifier): claim a position, publish it, then run the
 * notifier's half of the handshake - shmring__notify() in
 * include/shmring/spsc_inline.h, and shmring__wake() in src/wait.c when someone
 * is announced.
 */
proctype producer(byte p)
{
	byte k;

	do
	:: atomic { pclaim < NMSG -> k = pclaim; pclaim++ }
		/* P1: publish the slot (release store of the slot's sequence /
		 * the producer index; seq_cst in Spin like everything else) */
		pub[k] = true;
		/* N1: store->load fence between P1 and N2 (a seq_cst fence, or a
		 * compiler barrier upgraded by the waiter's membarrier at W2).
		 * Nothing to model: Spin is sequentially consistent. */
		/* N2: the fast path - one plain load of the announce mask; no
		 * bits set means nobody sleeps or is about to, so no syscall */
		if
		:: mask == 0 -> goto published
		:: else
		fi;
		/* X: take every announcement at once (atomic exchange with 0).
		 * Whoever we took is woken below and must announce again if it
		 * still has to wait. Another notifier may have taken them first. */
		atomic {
			held[p] = mask;
			mask = 0;
			if
			:: held[p] == 0 -> goto published   /* took nothing */
			:: else
			fi
		};
		/* N3: bump the futex word: a waiter whose snapshot (W3) predates
		 * this bump cannot go to sleep any more (FUTEX_WAIT -> EAGAIN) */
		word++;
		/* N4: FUTEX_WAKE(word, INT_MAX): every waiter queued right now
		 * leaves the queue; one that queues later is not woken by this
		 * call (but it snapshotted after N3, so N3 did not stop it) */
#ifdef WAKE_ONE
		/* the mutant: wake one queued waiter (any one), as a wake count
		 * of n = 1 per message would */
		atomic {
			if
			:: queued[0] -> queued[0] = false
			:: queued[1] -> queued[1] = false
			:: else
			fi;
			held[p] = 0;
			CHECK_REACHABLE
		};
#else
		atomic { queued[0] = false; queued[1] = false; held[p] = 0; CHECK_REACHABLE };
#endif
published:
		k = 0
	:: pclaim >= NMSG -> break
	od
}

/*
 * Consumer (waiter): take messages until all NMSG are consumed; when the
 * ring looks empty, sleep using the waiter's half of the handshake -
 * sleep_once() in src/wait.c. The spin budget of shmring__wait() is folded
 * into the single look at the top of the loop.
 */
proctype consumer(byte i)
{
	byte t;
	byte snap;

top:
	/* the ring check (ready() in src/wait.c): read the head, then the
	 * head slot's sequence; if ready, claim it with a CAS on the head */
	look(t);
	if
	:: t == NMSG -> goto done       /* everything consumed: end of stream */
	:: t == NOTHING -> t = 0        /* nothing to do: go to sleep */
	:: else ->
		atomic {
			if
			:: taken == t -> taken++    /* claimed: message consumed */
			:: else                     /* the other consumer won */
			fi;
			t = 0
		};
		goto top
	fi;

announce:
	/* W1: announce - seq_cst fetch_or of our bit into the mask */
	mask = mask | BIT(i);
	/* W2: full fence (membarrier + seq_cst fence) between W1 and the loads
	 * below. Nothing to model: Spin is sequentially consistent. */
#ifndef SNAP_AFTER_RECHECK
	/* W3: snapshot the futex word BEFORE the re-check: any bump made
	 * after this read makes W5 return at once */
	snap = word;
#endif
#ifndef NO_RECHECK
	/* W4: re-check the ring after announcing. Work (or end of stream)
	 * there: W6', clear our own bit (fetch_and) and go take it. */
	look(t);
	if
	:: t == NOTHING -> t = 0
	:: else ->
		atomic { mask = mask & ~BIT(i); t = 0 };   /* W6' */
		goto top
	fi;
#endif
#ifndef NO_BIT_RECHECK
	/* W4b: is our bit still set? If a notifier took it (X), its bump
	 * (N3) may already precede our snapshot, so FUTEX_WAIT would not
	 * notice it, and later notifiers no longer see us: announce again.
	 * (If the bit is still set, any notifier that takes it later bumps
	 * the word after our W3. Under C11 that needs W3 acquire and N3
	 * release, which Spin cannot check.) */
	if
	:: (mask & BIT(i)) == 0 -> goto announce
	:: else
	fi;
#endif
#ifdef SNAP_AFTER_RECHECK
	/* the mutant: the snapshot read just before going to sleep */
	snap = word;
#endif
	/* W5: FUTEX_WAIT(word, snap): compare and queue in one step ... */
	atomic {
		if
		:: word == snap -> queued[i] = true
		:: else                          /* EAGAIN */
		fi;
		snap = 0;                        /* (local no longer needed) */
		CHECK_REACHABLE
	};
	/* ... then stay blocked until a FUTEX_WAKE takes us off the queue,
	 * or return spuriously while the budget lasts */
	if
	:: !queued[i]
	:: atomic { queued[i] && spur > 0 -> spur--; queued[i] = false }
	fi;
	/* W6: un-announce (fetch_and; the bit may already be gone) and loop:
	 * a return from FUTEX_WAIT proves nothing, look at the ring again */
	mask = mask & ~BIT(i);
	goto top;
done:
	skip
}

/*
 * The property. `timeout` is true only when no other statement in the whole
 * system can run: producers have finished and every consumer still running
 * is blocked in FUTEX_WAIT. At that point no message may be left unconsumed.
 * Then the watchdog plays the final wake-all of close/shutdown (end of
 * stream), so that consumers that slept harmlessly after the last message
 * exit and the run ends in a valid end state; this wake comes after the
 * check, so it cannot hide a lost wake-up.
 */
active proctype watchdog()
{
	timeout ->
	assert(taken == NMSG);   /* else: a lost wake-up */
	atomic { queued[0] = false; queued[1] = false }
}

init
{
	atomic {
		run consumer(0);
		run consumer(1);
		run producer(0);
#if NPROD >= 2
		run producer(1);
#endif
	}
}
