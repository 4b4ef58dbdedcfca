/*
 * tests/model/bias.pml - the biased claim of an MPMC side (src/mpmc_bias.c,
 * src/mpmc.c own_begin/own_end; docs/design.md "The biased claim").
 *
 * One side, two attachments: the owner, which takes the bias while it is
 * alone and then claims with plain stores, and a newcomer, which attaches
 * at any moment, revokes the bias and claims with CAS. The owner may be
 * killed at any step, and may try to take the bias again later.
 *
 * Memory: sequentially consistent, except the owner's stores, which go
 * through a FIFO store buffer (x86-TSO) that a separate process drains at
 * any moment; the owner's own loads see its buffered stores (forwarding).
 * A locked instruction of the owner (its CAS) drains the buffer first; the
 * newcomer's membarrier (J4) drains it at the moment of the barrier; a
 * killed owner's buffer drains before the kernel drops its lock. The
 * newcomer has no buffer (it uses locked instructions and fences only).
 *
 * Property: no position is claimed twice (assert in claim_at()).
 *
 * Mutants (each must fail that assertion):
 *   NO_WAIT     the newcomer does not wait for busy (skips J5)
 *   NO_RECHECK  the owner does not re-check the owner word (skips K2)
 *   NO_BARRIER  the newcomer skips its membarrier (J4)
 *   NO_SCAN     a would-be owner does not look for others (skips A3)
 *   K3_EARLY    the owner leaves the claim (K3) before its index store
 */

#define TOK     1
#define CLAIMS  3       /* owner claims */
#define NCLAIMS 2       /* newcomer claims */
#define NPOS    (CLAIMS + NCLAIMS + 1)

/* shared words */
byte idx = 0;           /* the side's claim index */
byte owner_word = 0;    /* bias[side].owner */
byte busy = 0;          /* bias[side].busy */
bit  entryN = 0;        /* the newcomer's registry entry is taken */
bit  dead = 0;          /* the owner was killed (its lock is free) */
byte claimed[NPOS];     /* how often each position was claimed */

/* the owner's store buffer: variable (1 idx, 2 busy) and value, FIFO */
#define V_IDX  1
#define V_BUSY 2
#define SB 10            /* CLAIMS * 3 stores fit */
byte sb_var[SB];
byte sb_val[SB];
byte sb_n = 0;
byte sb_i = 0, sb_j = 0;   /* loop counters of the buffer's helpers */

inline apply_oldest() {
	if
	:: sb_var[0] == V_IDX -> idx = sb_val[0]
	:: sb_var[0] == V_BUSY -> busy = sb_val[0]
	fi;
	sb_i = 1;
	do
	:: sb_i < sb_n -> sb_var[sb_i - 1] = sb_var[sb_i]; sb_val[sb_i - 1] = sb_val[sb_i]; sb_i++
	:: else -> break
	od;
	sb_n--;
	sb_var[sb_n] = 0; sb_val[sb_n] = 0;
	sb_i = 0
}

inline drain_all() {
	do
	:: sb_n > 0 -> apply_oldest()
	:: else -> break
	od
}

inline buffer_store(v, x) {
	atomic { assert(sb_n < SB); sb_var[sb_n] = v; sb_val[sb_n] = x; sb_n++ }
}

/* the owner's load of idx: its newest buffered store, else memory */
inline owner_load_idx(res) {
	atomic {
		res = idx;
		sb_j = 0;
		do
		:: sb_j < sb_n -> if :: sb_var[sb_j] == V_IDX -> res = sb_val[sb_j] :: else fi; sb_j++
		:: else -> break
		od;
		sb_j = 0
	}
}

inline claim_at(p) {
	claimed[p]++;
	assert(claimed[p] == 1)   /* "claimed twice" */
}

/* the CPU drains the owner's buffer whenever it likes */
active proctype Drain() {
end:	do
	:: atomic { sb_n > 0 -> apply_oldest() }
	od
}

/* killed at this step (at most once); the exit path drains the buffer
 * before the kernel drops the lock */
#define MAYBE_DIE if :: atomic { drain_all(); dead = 1 }; goto died :: true -> skip fi

/* A1-A3: take the bias if alone; ok says whether we own it now */
inline try_take(ok) {
	/* A1: CAS 0 -> TOK (locked: drains our buffer) */
	atomic {
		drain_all();
		if
		:: owner_word == 0 -> owner_word = TOK; ok = 1
		:: else -> ok = 0
		fi
	}
	/* A2: the CAS is the fence; A3: look for another entry */
#ifndef NO_SCAN
	if
	:: ok && entryN ->
		atomic { drain_all(); if :: owner_word == TOK -> owner_word = 0 :: else fi };
		ok = 0
	:: else
	fi
#endif
}

active proctype Owner() {
	byte pos, c = 0;
	bit mine = 0, retried = 0;

	try_take(mine);
	do
	:: c < CLAIMS ->
		MAYBE_DIE;
		if
		:: mine ->
			buffer_store(V_BUSY, TOK);          /* K1 */
			MAYBE_DIE;
#ifndef NO_RECHECK
			if
			:: owner_word == TOK ->             /* K2 */
#else
			if
			:: true ->
#endif
				owner_load_idx(pos);
				MAYBE_DIE;
#ifdef K3_EARLY
				buffer_store(V_BUSY, 0);
				MAYBE_DIE;
#endif
				atomic { claim_at(pos); buffer_store(V_IDX, pos + 1) }
				MAYBE_DIE;
#ifndef K3_EARLY
				buffer_store(V_BUSY, 0)     /* K3 */
#endif
			:: else ->
				mine = 0;
				buffer_store(V_BUSY, 0);
				goto cas
			fi
		:: else ->
cas:			/* a CAS claim: locked, drains the buffer */
			atomic { drain_all(); pos = idx; idx = pos + 1; claim_at(pos) }
		fi;
		c++;
		/* now and then, without the bias: take it again if alone */
		if
		:: !mine && !retried -> retried = 1; try_take(mine)
		:: true -> skip
		fi
	:: else -> break
	od;
	goto done;
died:
	skip;
done:
	skip
}

active proctype Newcomer() {
	byte t, pos, k = 0;

	entryN = 1;                 /* its registry entry; J1: a fence follows */
	t = owner_word;             /* J2 */
	if
	:: t != 0 ->
		owner_word = 0;     /* J3: CAS to 0 */
#ifndef NO_BARRIER
		atomic { drain_all() }      /* J4: membarrier */
#endif
#ifndef NO_WAIT
		(busy != t || dead)         /* J5 */
#endif
	:: else
	fi;
	do
	:: k < NCLAIMS ->
		atomic { pos = idx; idx = pos + 1; claim_at(pos) };
		k++
	:: else -> break
	od
}
