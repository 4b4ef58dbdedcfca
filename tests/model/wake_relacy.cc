/*
 * tests/model/wake_relacy.cc - Relacy model of shmring's sleep/wake
 * handshake under the C++11/C11 memory model (weak memory).
 *
 * The Spin model next to it (wake.pml) is sequentially consistent: it cannot
 * see what the fences W2 and N1 are for. This one can. Relacy runs the
 * threads below many times, under its own scheduler, and lets every
 * relaxed/acquire load read any value the memory model allows (not only the
 * latest store); a seq_cst fence or operation restricts that as the
 * standard says. The futex is Relacy's own (rl::rl_futex on an
 * rl::atomic<int>): FUTEX_WAIT compares the word with the snapshot and parks
 * the caller in one step, FUTEX_WAKE unparks those already parked, so a wake
 * issued before the waiter parks is not delivered to it, as in the kernel.
 * Relacy's futex issues a seq_cst fence at the start of each call (as the
 * kernel has full barriers there); those come after W4b and after N3, so
 * they cannot stand in for W2 or N1. Spurious FUTEX_WAIT returns are
 * explored too. Sleep deadlines are not modelled (they would hide a lost
 * wake-up).
 *
 * One notifier publishes one message; WAITERS (1 or 2) waiters each wait
 * for it (with 2, one FUTEX_WAKE must wake both: they announce with their
 * own bits and the notifier takes both at X).
 *
 * The property: each waiter eventually sees the published message. A
 * lost wake-up shows up as "deadlock detected" (the notifier has finished
 * and every waiter is parked for ever); the waiter also checks the message
 * contents it reads (a data race or a wrong value is a failure too).
 *
 * Labels follow src/wait.c (sleep_once(), shmring__wake()) and
 * include/shmring/spsc_inline.h (shmring__notify(), shmring__spsc_publish()):
 *
 *   waiter (consumer)                          notifier (producer)
 *   C1  idx != 0 ? (acquire) -> consume, done   slot contents (plain)
 *   W1  mask |= bit            (seq_cst RMW)   P1  idx = 1       (release)
 *   W2  fence                  (seq_cst)       N1  fence         (seq_cst)
 *   W3  snap = word            (seq_cst)       N2  mask != 0 ?   (relaxed)
 *   W4  idx != 0 ? (acquire)   re-check        X   take = xchg(mask, 0) (seq_cst)
 *   W4b mask & bit ?           (seq_cst)       N3  word += 1     (seq_cst RMW)
 *   W5  FUTEX_WAIT(word, snap)                 N4  FUTEX_WAKE(all)
 *   W6  mask &= ~bit           (seq_cst RMW)
 *   then back to C1
 *
 * W2 in the real code is membarrier(GLOBAL_EXPEDITED) followed by a seq_cst
 * fence; here it is the fence alone. (The membarrier is what lets a
 * registered notifier use a compiler barrier for N1; that case is not
 * modelled: Relacy has no membarrier. N1 is modelled as the real fence the
 * notifier uses when it is not registered.) C1 and W4 are acquire loads, as
 * ready() is in src/spsc.c; the store->load ordering the handshake needs
 * comes from the fences alone.
 *
 * The futex word is an int, not unsigned: Relacy's futex takes an
 * rl::atomic<int>. It cannot wrap within one run.
 *
 * Variants (first argument; every one is run with WAITERS waiters):
 *   real          the protocol as above: must pass
 *   NO_W2_FENCE   the waiter's fence removed: W4 may read the old index while
 *                 N2 reads the mask from before W1 -> lost wake-up
 *   NO_N1_FENCE   the notifier's fence removed: the same, from the other side
 *   NO_RECHECK    W4 removed: the waiter announces and sleeps without
 *                 looking at the ring again -> lost wake-up
 *
 * Usage: wake_relacy VARIANT [WAITERS(1|2)] [ITERATIONS] [full] [report=FILE]
 *   "full" uses Relacy's full-search scheduler instead of the random one;
 *   report=FILE writes Relacy's own report there (on a failure: the failing
 *   execution's history, step by step); default /dev/null.
 * Output: one line "RESULT <result> iterations=<n>": the result is OK, or
 * Relacy's name for the failure (DEADLOCK for a lost wake-up); n is the
 * number of executions run (on a failure: the failing one's number). Exit
 * status 0 if Relacy found nothing, 1 if it found a failure, 2 on a usage
 * error.
 *
 * Build (run.sh does): g++ -std=c++11 -O1 -o wake_relacy wake_relacy.cc
 * (or clang++; the Debian package relacy-dev puts the headers in
 * /usr/include/relacy). Only <relacy/relacy.hpp> is used, with Relacy's
 * rl:: types: <relacy/relacy_std.hpp> does not build with gcc 12.
 */
/* standard headers first: relacy.hpp defines new, delete, malloc, free,
 * assert and errno as macros */
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include <relacy/relacy.hpp>

enum variant {
	V_REAL,
	V_NO_W2_FENCE,
	V_NO_N1_FENCE,
	V_NO_RECHECK,
};

static const int MSG = 42;   /* the message's contents */

/* thread 0 is the notifier; threads 1..NWAIT are waiters with bit 1 << (i-1) */
template<int V, int NWAIT>
struct wake_test : rl::test_suite<wake_test<V, NWAIT>, 1 + NWAIT>
{
	rl::var<int> data;            /* the slot contents (plain memory) */
	rl::atomic<unsigned> idx;     /* prod_idx: 0 empty, 1 published */
	rl::atomic<unsigned> mask;    /* data_waiters: announce bits */
	rl::atomic<int> word;         /* data_futex */
	rl::var<int> got[NWAIT];      /* what each waiter consumed (own only) */

	void before()
	{
		data($) = 0;
		idx.store(0, rl::mo_relaxed, $);
		mask.store(0, rl::mo_relaxed, $);
		word.store(0, rl::mo_relaxed, $);
		for (int i = 0; i < NWAIT; i++)
			got[i]($) = 0;
	}

	void thread(unsigned t)
	{
		if (t == 0)
			notifier();
		else
			waiter(t - 1);
	}

	void notifier()
	{
		data($) = MSG;
		idx.store(1, rl::mo_release, $);                        /* P1 */
		if (V != V_NO_N1_FENCE)
			rl::atomic_thread_fence(rl::mo_seq_cst, $);     /* N1 */
		if (mask.load(rl::mo_relaxed, $) == 0)                  /* N2 */
			return;
		/* shmring__wake() */
		if (mask.exchange(0, rl::mo_seq_cst, $) == 0)           /* X */
			return;
		word.fetch_add(1, rl::mo_seq_cst, $);                   /* N3 */
		rl::rl_futex(&word, rl::RL_FUTEX_WAKE, INT_MAX, 0, 0, 0, $);   /* N4 */
	}

	void waiter(unsigned i)
	{
		unsigned bit = 1u << i;

		for (;;) {
			/* C1: ready()? (acquire; pairs with P1) */
			if (idx.load(rl::mo_acquire, $) != 0) {
				got[i]($) = data($);
				return;
			}
			/* sleep_once() */
			mask.fetch_or(bit, rl::mo_seq_cst, $);                  /* W1 */
			if (V != V_NO_W2_FENCE)
				rl::atomic_thread_fence(rl::mo_seq_cst, $);     /* W2 */
			int snap = word.load(rl::mo_seq_cst, $);                /* W3 */
			bool ready = false;
			if (V != V_NO_RECHECK)
				ready = idx.load(rl::mo_acquire, $) != 0;       /* W4 */
			if (!ready && (mask.load(rl::mo_seq_cst, $) & bit))     /* W4b */
				rl::rl_futex(&word, rl::RL_FUTEX_WAIT, snap, 0, 0, 0, $);   /* W5 */
			mask.fetch_and(~bit, rl::mo_seq_cst, $);                /* W6 */
		}
	}

	void after()
	{
		for (int i = 0; i < NWAIT; i++)
			RL_ASSERT(got[i]($) == MSG);
	}
};

static const char *report_path = "/dev/null";

template<int V, int NWAIT>
static int run(rl::test_params &p)
{
	/* Relacy replaces operator new/delete while it runs and rejects a
	 * buffer allocated outside it: a growing std::ostringstream crashes
	 * it. A file stream's buffer is allocated once, at open. */
	std::ofstream out(report_path);
	p.output_stream = &out;
	p.progress_stream = &out;
	rl::simulate<wake_test<V, NWAIT> >(p);
	const char *res = p.test_result == rl::test_result_success ? "OK"
	                                                            : rl::test_result_str(p.test_result);
	std::cout << "RESULT " << res << " iterations=" << p.stop_iteration << std::endl;
	return p.test_result == rl::test_result_success ? 0 : 1;
}

template<int NWAIT>
static int run_variant(int v, rl::test_params &p)
{
	switch (v) {
	case V_REAL: return run<V_REAL, NWAIT>(p);
	case V_NO_W2_FENCE: return run<V_NO_W2_FENCE, NWAIT>(p);
	case V_NO_N1_FENCE: return run<V_NO_N1_FENCE, NWAIT>(p);
	default: return run<V_NO_RECHECK, NWAIT>(p);
	}
}

int main(int argc, char **argv)
{
	static const char *names[] = { "real", "NO_W2_FENCE", "NO_N1_FENCE", "NO_RECHECK" };
	int v = -1;
	for (int i = 0; argc > 1 && i < 4; i++)
		if (!strcmp(argv[1], names[i]))
			v = i;
	int nwait = argc > 2 ? atoi(argv[2]) : 1;
	if (v < 0 || (nwait != 1 && nwait != 2)) {
		std::cerr << "usage: wake_relacy real|NO_W2_FENCE|NO_N1_FENCE|NO_RECHECK"
		             " [1|2 waiters] [iterations] [full] [report=FILE]" << std::endl;
		return 2;
	}

	rl::test_params p;
	p.iteration_count = argc > 3 ? strtoul(argv[3], 0, 10) : 100000;
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "full"))
			p.search_type = rl::fair_full_search_scheduler_type;
		else if (!strncmp(argv[i], "report=", 7))
			report_path = argv[i] + 7;
	}
	return nwait == 1 ? run_variant<1>(v, p) : run_variant<2>(v, p);
}
