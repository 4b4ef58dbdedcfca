/*
 * tests/model/broadcast.pml - Spin model of the broadcast ring's protocol
 * (src/broadcast.c, docs/design.md section 11): the producer's cached
 * minimum and its scan of the subscribers' holds (backpressure), the join
 * of a subscriber in mid-stream, a subscriber that leaves, and both wake
 * directions (subscribers sleep for data, the producer for space) with the
 * announce/re-check handshake of src/wait.c.
 *
 * Run it with tests/model/broadcast_run.sh (make model-check runs it).
 *
 * What is modelled
 *   - A ring of NSLOTS slots; the producer sends NMSG messages. A slot holds
 *     a mark (the position it completes, F5/F6) and a value (the payload:
 *     here the position written); the producer writes the value, then the
 *     mark, then prod_idx (F7).
 *   - Subscriber 0 is attached from the start; it may leave before any
 *     message (hold := 0, then it wakes the producer as close does).
 *     Subscriber 1 joins at any moment: first look at prod_idx (p0), hold :=
 *     p0 + 1, look again (p1), start at p1 (F2).
 *   - The producer writes position w only if w < limit; limit is its cached
 *     minimum: at a scan it reads the holds one at a time (other steps may
 *     interleave) and sets limit = min(w, hold - 1 of each) + NSLOTS; it
 *     scans again only when w reaches the limit. Full after a scan: it
 *     sleeps with the space handshake (announce, snapshot, re-scan as W4,
 *     W4b, wait).
 *   - A subscriber waits for the mark of its next position (data
 *     handshake), reads the value in a separate step (a real copy takes
 *     time: the producer may run in between), then stores hold = pos + 2
 *     (F4) and runs the notifier's half for the producer (N2, X, N3, N4).
 *   - The futex: a wait blocks until the word moves past the snapshot (every
 *     bump is followed by a wake here, so this is the kernel's compare,
 *     queue and wake). No sleep deadlines: they would hide a lost wake-up.
 * Spin is sequentially consistent: the fences F1 and W2/N1 are no-ops; the
 * C11 argument for them is in docs/design.md. What Spin checks is the
 * protocol: the join order, the rescan, the min rule and the wakes.
 *
 * The properties
 *   - no overwrite under a reader (lossless): a subscriber that saw the mark
 *     of position pos complete reads value pos, never another lap's;
 *   - a subscriber never sees a later lap's mark at its position (the
 *     producer never laps a live subscriber);
 *   - every subscriber gets every message from its start to NMSG - 1, in
 *     order (it reads positions start, start + 1, ...; the asserts above
 *     check each one), and nothing before its join (start >= the prod_idx
 *     it first saw);
 *   - no deadlock: every process ends (Spin's end-state check): a sleeper
 *     nobody will wake is a lost wake-up.
 *
 * Variants (spin -D...), each must be caught:
 *   JOIN_NO_RECHECK  the joiner starts at its first look at prod_idx (p0),
 *                    not at the look after its hold store
 *   NO_RESCAN        the producer does not rescan when it reaches its
 *                    cached limit: it writes on (a stale minimum)
 *   NO_SELF_BOUND    the scan's minimum leaves out the producer's own
 *                    position: with no hold seen, no limit at all
 *   NO_SPACE_WAKE    a subscriber that advances does not wake the producer
 *   NO_DATA_WAKE     the producer does not wake sleeping subscribers
 *   NO_JOIN_WAKE     a joiner that starts past its first hold does not
 *                    wake the producer, which may have stopped at that
 *                    hold while the joiner waits for the next message
 */

#ifndef NMSG
#define NMSG 4
#endif
#define NSLOTS 2
#define NSUB 2
#define BIG 200         /* "no limit" */

byte mark[NSLOTS];      /* slot seq: position + 1 it completes (0: none) */
byte val[NSLOTS];       /* the payload: the position written */
byte prod_idx = 0;
byte hold[NSUB];        /* 0: none; else next position + 1 */

byte dword = 0;         /* data_futex */
byte dmask = 0;         /* data_waiters: bit i = subscriber i */
byte sword = 0;         /* space_futex */
bool swait = false;     /* space_waiters: the producer's bit */

/* the notifier's half (shmring__notify / shmring__wake): N2, X, N3, N4 */
inline wake_data()
{
	if
	:: dmask != 0 -> atomic { dmask = 0; dword++ }   /* X + N3 (+ N4) */
	:: else
	fi
}

inline wake_space()
{
	if
	:: swait -> atomic { swait = false; sword++ }
	:: else
	fi
}

/* the scan (space_ready): limit = min(w, hold - 1 ...) + NSLOTS, the holds
 * read one at a time */
inline scan(w, limit, m, h, i)
{
	m = w;
#ifdef NO_SELF_BOUND
	m = BIG;
#endif
	i = 0;
	do
	:: i < NSUB ->
		h = hold[i];
		if
		:: h != 0 && h - 1 < m -> m = h - 1
		:: else
		fi;
		i++
	:: else -> break
	od;
	if
	:: m == BIG -> limit = BIG
	:: else -> limit = m + NSLOTS
	fi;
	d_step { m = 0; h = 0; i = 0 }   /* dead locals: fewer states */
}

proctype producer()
{
	byte w = 0, limit = 0, m, h, i, snap;

	do
	:: w < NMSG ->
		if
		:: w >= limit ->
#ifndef NO_RESCAN
			scan(w, limit, m, h, i);
			do
			:: w < limit -> break
			:: else ->
				/* full: W1 announce, W3 snapshot, W4 re-scan, W4b */
				swait = true;
				snap = sword;
				scan(w, limit, m, h, i);
				if
				:: w < limit -> swait = false; break
				:: else
				fi;
				if
				:: !swait -> skip        /* a notifier took it: look again */
				:: else -> (sword != snap); swait = false   /* W5, W6 */
				fi;
				snap = 0;
				scan(w, limit, m, h, i)
			od
#else
			if
			:: limit == 0 -> scan(w, limit, m, h, i)   /* only the first */
			:: else -> skip
			fi
#endif
		:: else
		fi;
		/* write position w: the payload, then its mark (F5) */
		val[w % NSLOTS] = w;
		mark[w % NSLOTS] = w + 1;
		prod_idx = w + 1;                        /* F7 */
#ifndef NO_DATA_WAKE
		wake_data();
#endif
		w++
	:: else -> break
	od
}

/* one subscriber: from pos (its start) to NMSG - 1 */
proctype subscriber(byte i; bool joins)
{
	byte pos, p0, p1, v, snap, mk;

	if
	:: joins ->
		p0 = prod_idx;                           /* F2: first look */
		hold[i] = p0 + 1;                        /* F2: seq_cst store */
		p1 = prod_idx;                           /* F2: the re-read */
#ifdef JOIN_NO_RECHECK
		pos = p0
#else
		pos = p1
#endif
		;
		assert(pos >= p0);                       /* nothing from before */
		if
		:: pos != p0 ->
			hold[i] = pos + 1;               /* moved on: F4 */
#ifndef NO_JOIN_WAKE
			wake_space()
#else
			skip
#endif
		:: else
		fi;
		d_step { p0 = 0; p1 = 0 }
	:: else -> pos = 0
	fi;
	do
	:: pos >= NMSG -> break
	:: i == 0 && pos < NMSG ->
		/* subscriber 0 may leave (close: hold := 0, then a wake) */
		hold[i] = 0;
		wake_space();
		break
	:: pos < NMSG ->
		/* wait for the mark of pos (F6), sleeping with the handshake */
		do
		:: mk = mark[pos % NSLOTS];                /* F6 */
			if
			:: mk == pos + 1 -> break
			:: else
			fi;
			assert(mk < pos + 1);                 /* never lapped */
			mk = 0;
			dmask = dmask | (1 << i);             /* W1 */
			snap = dword;                         /* W3 */
			if
			:: mark[pos % NSLOTS] == pos + 1 ->   /* W4: it came */
				dmask = dmask & ~(1 << i)
			:: else ->
				if
				:: (dmask & (1 << i)) == 0 -> skip    /* W4b: taken */
				:: else -> (dword != snap)        /* W5 */
				fi;
				dmask = dmask & ~(1 << i)         /* W6 */
			fi;
			snap = 0
		od;
		mk = 0;
		/* the copy, a step of its own: the producer may run meanwhile */
		v = val[pos % NSLOTS];
		assert(v == pos);                         /* not overwritten */
		v = 0;
		pos++;
		hold[i] = pos + 1;                        /* F4 */
#ifndef NO_SPACE_WAKE
		wake_space();
#endif
	od
}

init
{
	atomic {
		hold[0] = 1;   /* subscriber 0 attached before the first message */
		run producer();
		run subscriber(0, false);
		run subscriber(1, true)
	}
}
