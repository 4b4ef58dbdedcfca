/* SPDX-License-Identifier: MIT */
/*
 * hostile.c - a hostile peer. It maps the ring itself (shm_open + mmap of the
 * object, no library) and writes random values over header fields (indices,
 * futex words, waiter counts, end-of-stream words, statistics, registry,
 * identity) and over slots (lengths, sequence words, payloads) while honest
 * processes use the ring through the library.
 *
 * Identity flips at open: a thread of the scribbler keeps rewriting the
 * identity fields (magic, version, kind, slot_size, slot_stride, slots,
 * total_size) between complete valid sets and dangerous values (slots
 * 2^30, slot_size 2^30, the other kind with a matching or mismatching
 * stride, totals past the object, garbage), while opener processes open
 * the ring over and over (and the honest ones reopen); the openers pause
 * at times inside open, between its read of the header and its checks
 * (the library's test hook), so that flips land there. Every successful
 * open must bind sizes that fit its mapping (slots * stride + 8192 <=
 * mem_size, as shmring_info() reports them) and one combination of
 * (kind, slot_size, slots) that was valid at some time; each opened
 * handle then sends and receives with timeout 0 (ASan in `make check`).
 *
 * The honest processes may see errors (-EBADMSG, -EPROTO, -EPIPE, ...),
 * timeouts, or garbage payloads. They must never crash, touch memory outside
 * their buffers or the mapping (checked here with canaries and bounds, and
 * by ASan in `make check`), or block past their timeout (+ 500 ms).
 *
 * Overwrite-oldest rings (SHMRING_OVERWRITE) get rounds and fixed cases of
 * their own: their slots carry a sequence word that the scribbler rewrites
 * too, and a release may also return -ESTALE there.
 *
 * Packed rounds (SHMRING_PACKED, every fourth round): the same honest
 * processes and scribbler, the scribbler's slot writes land anywhere in the
 * record area (headers, padding, payload), no identity flipper or openers
 * (their valid sets are fixed-slot shapes); a bind must be the creator's
 * packed shape with its record area inside the mapping.
 *
 * Broadcast rounds (SHMRING_BROADCAST, lossless and overwrite): one honest
 * producer, three honest subscribers; the scribbler also writes the
 * subscriber lines after the slots (positions, counters); no identity
 * flipper or openers (as packed rounds). A scribbled position may hold the
 * producer back (-ETIMEDOUT) but no call may run late or out of bounds.
 *
 *   hostile [-s seed] [-t seconds]   live runs: SPSC, MPMC, broadcast,
 *                                    overwrite-oldest, packed SPSC and
 *                                    overwrite broadcast rounds of 1 s, in turn
 *   hostile -f                       the fixed cases only
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "stress.h"

#define SLOT_SIZE   120
#define TIMEOUT_NS  20000000          /* every honest blocking call */
#define SLACK_NS    500000000         /* allowed lateness of a timed call */
#define CANARY      64

struct hcount {
	_Atomic int stop;
	_Atomic uint64_t ops, good, garbage, writes, reopens, open_fail;
	_Atomic uint64_t pk_good;   /* good messages in packed rounds */
	_Atomic uint64_t err[E_NKINDS];
	_Atomic uint64_t unexpected, overruns, bounds, max_late_ns;
	/* identity flips: field writes by the flipper (and the scribbler's
	 * identity writes), opens checked, of which bound a set other than
	 * the creator's, bad binds, opener opens refused */
	_Atomic uint64_t id_flips, bind_checks, flipped_binds, bad_binds, id_open_fail;
	_Atomic int why_set;
	char why[200];
};

static struct hcount *H;
static int P_packed;   /* this round's ring is SHMRING_PACKED (set before the fork) */
static int P_bcast;    /* ... SHMRING_BROADCAST */

static void hfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void hfail(const char *fmt, ...)
{
	int z = 0;
	if (!atomic_compare_exchange_strong(&H->why_set, &z, 1))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(H->why, sizeof(H->why), fmt, ap);
	va_end(ap);
}

static void herr(int rc, int allowed)
{
	int k;
	switch (rc) {
	case -EAGAIN: k = E_AGAIN; break;
	case -ETIMEDOUT: k = E_TIMEDOUT; break;
	case -EPIPE: k = E_PIPE; break;
	case -EBADMSG: k = E_BADMSG; break;
	case -EPROTO: k = E_PROTO; break;
	case -EMSGSIZE: k = E_MSGSIZE; break;
	case -EBUSY: k = E_BUSY; break;
	default: k = E_OTHER; break;
	}
	atomic_fetch_add(&H->err[k], 1);
	if (!allowed) {
		atomic_fetch_add(&H->unexpected, 1);
		hfail("unexpected return %d (%s)", rc, shmring_strerror(rc));
	}
}

static void timed(int64_t t0)
{
	int64_t late = stress_now_ns() - t0 - TIMEOUT_NS;
	if (late < 0)
		return;
	uint64_t cur = atomic_load(&H->max_late_ns);
	while ((uint64_t)late > cur && !atomic_compare_exchange_weak(&H->max_late_ns, &cur, (uint64_t)late))
		;
	if (late > SLACK_NS) {
		atomic_fetch_add(&H->overruns, 1);
		hfail("a call with a 20 ms timeout returned %" PRId64 " ms late", late / 1000000);
	}
}

/* the mapping size of the one handle this process uses (honest workers and
 * openers keep one at a time): set by check_bind() at every open, from
 * shmring_info() (the handle's own copy is private to the library) */
static uint64_t cur_map_size;

/* the [p, p+n) range must lie inside the handle's mapping */
static void in_map(struct shmring *r, const void *p, size_t n)
{
	const unsigned char *lo = (const unsigned char *)r->hdr, *hi = lo + cur_map_size;
	const unsigned char *a = p;
	if (!p || a < r->slots0 || a > hi || n > (size_t)(hi - a) || n > r->slot_size) {
		atomic_fetch_add(&H->bounds, 1);
		hfail("slot pointer %p + %zu outside the mapping / slot", p, n);
	}
}

static void canary_set(unsigned char *b, size_t cap)
{
	memset(b + cap, 0xa5, CANARY);
}

static void canary_check(const unsigned char *b, size_t cap)
{
	for (size_t i = 0; i < CANARY; i++)
		if (b[cap + i] != 0xa5) {
			atomic_fetch_add(&H->bounds, 1);
			hfail("receive buffer overrun past %zu bytes", cap);
			return;
		}
}

static void judge_msg(const void *p, size_t len)
{
	uint32_t prod;
	uint64_t seq;
	if (st_msg_check(p, len, &prod, &seq) == 0) {
		atomic_fetch_add(&H->good, 1);
		if (P_packed)
			atomic_fetch_add(&H->pk_good, 1);
	} else
		atomic_fetch_add(&H->garbage, 1);
}

/* the config flags of the current round's ring (SHMRING_OVERWRITE,
 * SHMRING_PACKED or 0); set before the fork, inherited by every process of
 * the round */
static uint32_t R_flags;

/* -ESTALE from a release is an answer only an overwrite handle gives (the
 * flags it bound at open: the scribbler may have switched the layout) */
static int stale_ok(struct shmring *r, int rc)
{
	struct shmring_info in;
	return rc == -ESTALE && shmring_info(r, &in) == 0 && (in.flags & SHMRING_OVERWRITE);
}

static int allowed_common(int rc)
{
	return rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EPIPE || rc == -EPROTO ||
	       rc == -EBADMSG;
}

/* ------------------------------------------------ identity flips at open */

/*
 * The ring of a round: kind K, SLOT_SIZE, ROUND_SLOTS slots. The flipper
 * writes identity fields from per-field candidate lists: the values of a
 * few valid shapes (K with SLOT_SIZE, SLOT_SIZE - 7 (same stride), 24 and
 * 8; the other kind with the same stride and with SLOT_SIZE) and counts
 * (16, 2, 8 slots), and dangerous values (slots 2^30, 2^32, 2^62, 0, 3;
 * slot_size 0, 2^30, 2^30 + 1; strides 0, 8, 2^31, the huge slot's;
 * totals 0, past the object, ~0; versions 0, 1, 3), plus garbage with the
 * top bit set (never valid in its field). I_sets is every combination of
 * candidates that open's rules accept for this object: an opener that
 * reads the fields while they change gets one of them or -EPROTO, and the
 * flipper writes each of them as a complete set. A bound (kind, slot_size,
 * slots) outside I_sets, or sizes past the mapping, is a bad bind.
 */
#define ROUND_SLOTS 16
#define NCAND       40
#define NSETS_MAX   1024
#define ID_NICE     5     /* flipper and openers: not timed, so less CPU */

enum { F_MAGIC, F_VERSION, F_KIND, F_SLOT_SIZE, F_STRIDE, F_SLOTS, F_TOTAL, F_N };

struct ident {
	uint32_t version, kind, slot_size, stride;
	uint64_t slots, total;
};

static struct ident I_sets[NSETS_MAX];   /* [0]: the creator's */
static unsigned I_nsets;
static uint64_t I_cand[F_N][NCAND];
static unsigned I_ncand[F_N];
static uint64_t I_obj;                   /* the object's size */

/* the sizes as a reader of shmring_info() computes them */
/* slot header bytes in the layout of (kind, flags) */
static uint64_t id_payload_off_f(unsigned kind, uint32_t flags)
{
	if (kind == SHMRING_SPSC && (flags & SHMRING_OVERWRITE))
		return sizeof(struct shmring__slot_ow);   /* the overwrite layout */
	return kind == SHMRING_MPMC ? 16 : 8;
}

static uint64_t id_stride_f(unsigned kind, uint32_t flags, uint64_t slot_size)
{
	return (id_payload_off_f(kind, flags) + slot_size + 7) & ~UINT64_C(7);
}

/* ... in the layout the round's ring was created with */
static uint64_t id_payload_off(unsigned kind)
{
	return id_payload_off_f(kind, R_flags);
}

static uint64_t id_stride(unsigned kind, uint64_t slot_size)
{
	return id_stride_f(kind, R_flags, slot_size);
}

static void cand_add(int f, uint64_t v)
{
	for (unsigned i = 0; i < I_ncand[f]; i++)
		if (I_cand[f][i] == v)
			return;
	if (I_ncand[f] < NCAND)
		I_cand[f][I_ncand[f]++] = v;
	else
		hfail("identity candidate list %d full", f);
}

/* what open accepts (src/validate.c's rules, spelled out again here), for
 * a header whose flags word says flags */
static int id_acceptable_f(const struct ident *d, uint64_t obj, uint32_t flags)
{
	if (d->version != SHMRING__LAYOUT_VERSION)
		return 0;
	if (d->kind != SHMRING_SPSC && d->kind != SHMRING_MPMC)
		return 0;
	if ((flags & SHMRING_OVERWRITE) && d->kind != SHMRING_SPSC)
		return 0;   /* overwrite-oldest is SPSC only */
	if (d->slot_size == 0 || d->slot_size > SHMRING_MAX_SLOT_SIZE)
		return 0;
	if (d->slots < 2 || d->slots > SHMRING_MAX_SLOTS || (d->slots & (d->slots - 1)))
		return 0;
	if (d->stride != id_stride_f(d->kind, flags, d->slot_size))
		return 0;
	if (d->slots > (UINT64_MAX - SHMRING__HDR_SIZE) / d->stride)
		return 0;
	uint64_t t = SHMRING__HDR_SIZE + d->slots * d->stride;
	return d->total == t && t <= obj;
}

/* the scribbler may rewrite the flags word too (SHMRING_OVERWRITE on or
 * off: another slot layout); a set valid under either counts */
static int id_acceptable(const struct ident *d, uint64_t obj)
{
	return id_acceptable_f(d, obj, R_flags) ||
	       id_acceptable_f(d, obj, R_flags ^ SHMRING_OVERWRITE);
}

static int id_in_sets(unsigned kind, uint64_t slot_size, uint64_t slots)
{
	for (unsigned i = 0; i < I_nsets; i++)
		if (I_sets[i].kind == kind && I_sets[i].slot_size == slot_size &&
		    I_sets[i].slots == slots)
			return 1;
	return 0;
}

/* the candidates and the sets for a round's ring; inherited by its processes */
static void ident_setup(unsigned kind)
{
	unsigned ko = kind == SHMRING_SPSC ? SHMRING_MPMC : SHMRING_SPSC;
	uint64_t s = id_stride(kind, SLOT_SIZE);
	uint64_t huge = id_stride(kind, SHMRING_MAX_SLOT_SIZE);
	static const uint64_t counts[] = { ROUND_SLOTS, 2, 8 };

	memset(I_ncand, 0, sizeof(I_ncand));
	I_nsets = 0;
	I_obj = SHMRING__HDR_SIZE + ROUND_SLOTS * s;
	cand_add(F_MAGIC, SHMRING__MAGIC);
	cand_add(F_VERSION, SHMRING__LAYOUT_VERSION);
	cand_add(F_KIND, kind);
	cand_add(F_KIND, ko);
	cand_add(F_SLOT_SIZE, SLOT_SIZE);
	cand_add(F_SLOT_SIZE, SLOT_SIZE - 7);                     /* same stride */
	cand_add(F_SLOT_SIZE, s - id_payload_off(ko));            /* other kind, same stride */
	cand_add(F_SLOT_SIZE, 24);
	cand_add(F_SLOT_SIZE, 8);
	for (unsigned k = 0; k < 2; k++)
		for (unsigned i = 0; i < I_ncand[F_SLOT_SIZE]; i++)
			cand_add(F_STRIDE, id_stride(I_cand[F_KIND][k], I_cand[F_SLOT_SIZE][i]));
	for (unsigned i = 0; i < I_ncand[F_SLOT_SIZE]; i++)   /* the other SPSC layout */
		cand_add(F_STRIDE, id_stride_f(SHMRING_SPSC, R_flags ^ SHMRING_OVERWRITE,
		                               I_cand[F_SLOT_SIZE][i]));
	for (unsigned c = 0; c < 3; c++) {
		cand_add(F_SLOTS, counts[c]);
		for (unsigned i = 0; i < I_ncand[F_STRIDE]; i++)
			cand_add(F_TOTAL, SHMRING__HDR_SIZE + counts[c] * I_cand[F_STRIDE][i]);
	}
	/* dangerous values */
	cand_add(F_MAGIC, 0);
	cand_add(F_MAGIC, SHMRING__MAGIC ^ 1);
	cand_add(F_VERSION, 0);
	cand_add(F_VERSION, 1);
	cand_add(F_VERSION, SHMRING__LAYOUT_VERSION + 1);
	cand_add(F_KIND, 0);
	cand_add(F_KIND, 3);
	cand_add(F_SLOT_SIZE, 0);
	cand_add(F_SLOT_SIZE, SHMRING_MAX_SLOT_SIZE);             /* huge, valid alone */
	cand_add(F_SLOT_SIZE, SHMRING_MAX_SLOT_SIZE + 1);
	cand_add(F_STRIDE, 0);
	cand_add(F_STRIDE, 8);
	cand_add(F_STRIDE, huge);
	cand_add(F_STRIDE, UINT32_C(1) << 31);
	cand_add(F_SLOTS, UINT64_C(1) << 30);
	cand_add(F_SLOTS, SHMRING_MAX_SLOTS);
	cand_add(F_SLOTS, UINT64_C(1) << 62);
	cand_add(F_SLOTS, 0);
	cand_add(F_SLOTS, 3);
	cand_add(F_TOTAL, 0);
	cand_add(F_TOTAL, I_obj + 8);
	cand_add(F_TOTAL, ~UINT64_C(0));
	cand_add(F_TOTAL, SHMRING__HDR_SIZE + (UINT64_C(1) << 30) * s);    /* slots 2^30, consistent */
	cand_add(F_TOTAL, SHMRING__HDR_SIZE + ROUND_SLOTS * huge);         /* huge slots, consistent */

	/* every accepted combination: the creator's first */
	struct ident d = { SHMRING__LAYOUT_VERSION, kind, SLOT_SIZE, (uint32_t)s, ROUND_SLOTS, I_obj };
	I_sets[I_nsets++] = d;
	for (unsigned a = 0; a < I_ncand[F_KIND]; a++)
	for (unsigned b = 0; b < I_ncand[F_SLOT_SIZE]; b++)
	for (unsigned c = 0; c < I_ncand[F_STRIDE]; c++)
	for (unsigned e = 0; e < I_ncand[F_SLOTS]; e++)
	for (unsigned f = 0; f < I_ncand[F_TOTAL]; f++) {
		d.kind = (uint32_t)I_cand[F_KIND][a];
		d.slot_size = (uint32_t)I_cand[F_SLOT_SIZE][b];
		d.stride = (uint32_t)I_cand[F_STRIDE][c];
		d.slots = I_cand[F_SLOTS][e];
		d.total = I_cand[F_TOTAL][f];
		if (!id_acceptable(&d, I_obj) ||
		    (d.kind == kind && d.slot_size == SLOT_SIZE && d.slots == ROUND_SLOTS))
			continue;
		if (I_nsets == NSETS_MAX) {
			hfail("identity set table full");
			return;
		}
		I_sets[I_nsets++] = d;
	}
}

static void id_store(struct shmring__hdr *h, int f, uint64_t v)
{
	_Atomic uint32_t *p32 = NULL;
	_Atomic uint64_t *p64 = NULL;
	switch (f) {
	case F_MAGIC: p64 = (void *)&h->magic; break;
	case F_VERSION: p32 = (void *)&h->version; break;
	case F_KIND: p32 = (void *)&h->kind; break;
	case F_SLOT_SIZE: p32 = (void *)&h->slot_size; break;
	case F_STRIDE: p32 = (void *)&h->slot_stride; break;
	case F_SLOTS: p64 = (void *)&h->slots; break;
	default: p64 = (void *)&h->total_size; break;
	}
	if (p64)
		atomic_store_explicit(p64, v, memory_order_relaxed);
	else
		atomic_store_explicit(p32, (uint32_t)v, memory_order_relaxed);
	atomic_fetch_add_explicit(&H->id_flips, 1, memory_order_relaxed);
}

static uint64_t id_value(const struct ident *d, int f)
{
	switch (f) {
	case F_MAGIC: return SHMRING__MAGIC;
	case F_VERSION: return d->version;
	case F_KIND: return d->kind;
	case F_SLOT_SIZE: return d->slot_size;
	case F_STRIDE: return d->stride;
	case F_SLOTS: return d->slots;
	default: return d->total;
	}
}

/* a value for field f: a candidate (valid or dangerous) or garbage with
 * the top bit of the field set (never valid there) */
static uint64_t id_pick(int f, uint64_t *rng)
{
	uint64_t x = st_rand(rng);
	if (x % 8)
		return I_cand[f][(x >> 8) % I_ncand[f]];
	x = st_rand(rng);
	return (f == F_MAGIC || f == F_SLOTS || f == F_TOTAL) ? x | UINT64_C(1) << 63
	                                                      : (uint32_t)x | UINT32_C(1) << 31;
}

/* a complete set, its fields in random order (readers may see any mix) */
static void id_write_set(struct shmring__hdr *h, const struct ident *d, uint64_t *rng)
{
	int order[F_N - 1] = { F_VERSION, F_KIND, F_SLOT_SIZE, F_STRIDE, F_SLOTS, F_TOTAL };
	for (int i = F_N - 2; i > 0; i--) {
		int j = (int)(st_rand(rng) % (uint64_t)(i + 1)), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < F_N - 1; i++)
		id_store(h, order[i], id_value(d, order[i]));
}

extern void (*shmring__test_hook_open)(void);   /* src/validate.c, test-only */

static void spin(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

/* one random identity write (the scribbler's 1 in 40 header writes) */
static void id_scribble(struct shmring__hdr *h, uint64_t *rng)
{
	int f = (int)(st_rand(rng) % F_N);
	id_store(h, f, id_pick(f, rng));
}

/* the flipper: a thread of the scribbler, toggling identity fields while
 * the openers open */
static void *id_flipper(void *arg)
{
	struct shmring__hdr *h = arg;
	uint64_t rng = st_mix((uint64_t)(uintptr_t)arg ^ (uint64_t)getpid()) | 1;
	unsigned cycle = 0;

	/* below the honest processes: their calls are timed */
	setpriority(PRIO_PROCESS, (id_t)gettid(), ID_NICE);

	while (!atomic_load(&H->stop)) {
		const struct ident *base = &I_sets[st_rand(&rng) % I_nsets];
		unsigned n = 1 + (unsigned)(st_rand(&rng) % 64), hold = (unsigned)(st_rand(&rng) % 3000);
		switch (st_rand(&rng) % 8) {
		case 0:   /* two complete valid sets, alternating */
		case 1: {
			const struct ident *other = &I_sets[st_rand(&rng) % I_nsets];
			for (unsigned i = 0; i < n && !atomic_load(&H->stop); i++) {
				id_write_set(h, i & 1 ? other : base, &rng);
				spin(hold);
			}
			break;
		}
		case 2:   /* a valid set, slots <-> 2^30 (the bug that was), fast */
		case 3:
		case 4:
		case 5: { /* a valid set, one field <-> a dangerous value */
			int f = F_SLOTS;
			uint64_t bad = UINT64_C(1) << 30;
			if (st_rand(&rng) % 2 == 0)
				base = &I_sets[0];   /* the creator's */
			if (st_rand(&rng) % 4 == 0) {
				f = F_VERSION + (int)(st_rand(&rng) % (F_N - 1));
				bad = id_pick(f, &rng);
			} else {
				n *= 4;
				hold /= 8;
			}
			id_write_set(h, base, &rng);
			for (unsigned i = 0; i < n && !atomic_load(&H->stop); i++) {
				id_store(h, f, i & 1 ? id_value(base, f) : bad);
				spin(hold);
			}
			break;
		}
		case 6:   /* kind <-> the other kind, stride as it is */
			id_write_set(h, base, &rng);
			for (unsigned i = 0; i < n && !atomic_load(&H->stop); i++) {
				id_store(h, F_KIND, i & 1 ? base->kind : base->kind ^ 3);
				spin(hold);
			}
			break;
		default:  /* a few single dangerous or garbage writes */
			for (unsigned i = 0; i < 1 + n % 4; i++)
				id_scribble(h, &rng);
			break;
		}
		/* the magic back, mostly (the scribbler and case 7 break it) */
		if (st_rand(&rng) % 4)
			id_store(h, F_MAGIC, SHMRING__MAGIC);
		/* often the creator's set again, held a while: the honest
		 * processes' reopens should mostly find their ring */
		if (st_rand(&rng) % 2)
			id_write_set(h, &I_sets[0], &rng);
		/* two CPUs may be all there is: let the others run */
		if (++cycle % 4 == 0)
			usleep((useconds_t)(st_rand(&rng) % 200));
		else
			sched_yield();
	}
	return NULL;
}

/*
 * A handle just opened: its sizes must fit its mapping, and (kind,
 * slot_size, slots) must be a set that was valid at some time (I_sets).
 * Returns 0, or -1 after counting a bad bind (the handle must not be used).
 */
static int check_bind(struct shmring *r, const char *who, uint32_t *slot_size)
{
	struct shmring_info in;
	if (shmring_info(r, &in)) {
		hfail("%s: shmring_info failed on an opened handle", who);
		return -1;
	}
	atomic_fetch_add(&H->bind_checks, 1);
	cur_map_size = in.mem_size;
	const char *bad = NULL;
	if (P_packed) {   /* the creator's packed shape, its record area inside the map */
		if (!(in.flags & SHMRING_PACKED) || in.kind != SHMRING_SPSC)
			bad = "not the packed SPSC ring";
		else if (in.slot_size != SLOT_SIZE || in.slots != ROUND_SLOTS ||
		         in.mem_size != I_obj)
			bad = "not the creator's sizes";
		else if (in.data_size < (uint64_t)SLOT_SIZE * ROUND_SLOTS ||
		         in.data_size > in.mem_size - SHMRING__HDR_SIZE)
			bad = "record area outside the mapping";
		if (bad) {
			atomic_fetch_add(&H->bad_binds, 1);
			hfail("BAD BIND (%s, packed): %s", who, bad);
			return -1;
		}
		if (slot_size)
			*slot_size = in.slot_size;
		return 0;
	}
	if (P_bcast) {   /* the creator's broadcast shape, lines inside the map */
		if (in.kind != SHMRING_BROADCAST)
			bad = "not the broadcast ring";
		else if (in.slot_size != SLOT_SIZE || in.slots != ROUND_SLOTS || in.mem_size != I_obj)
			bad = "not the creator's sizes";
		if (bad) {
			atomic_fetch_add(&H->bad_binds, 1);
			hfail("BAD BIND (%s, broadcast): %s: kind %u slot_size %" PRIu32 " slots %"
			      PRIu64 " mem_size %" PRIu64 " (want %" PRIu64 ") flags %#x", who, bad,
			      in.kind, in.slot_size, in.slots, in.mem_size, I_obj, in.flags);
			return -1;
		}
		if (slot_size)
			*slot_size = in.slot_size;
		return 0;
	}
	uint64_t stride = id_stride_f(in.kind, in.flags, in.slot_size);
	if (in.kind != SHMRING_SPSC && in.kind != SHMRING_MPMC)
		bad = "kind";
	else if (in.mem_size < SHMRING__HDR_SIZE ||
	         in.slots > (in.mem_size - SHMRING__HDR_SIZE) / stride)
		bad = "slots * stride + 8192 > mem_size";
	else if (in.mem_size != I_obj)
		bad = "mem_size is not the object's size";
	else if (!id_in_sets(in.kind, in.slot_size, in.slots))
		bad = "(kind, slot_size, slots) never valid";
	if (bad) {
		atomic_fetch_add(&H->bad_binds, 1);
		hfail("BAD BIND (%s): kind=%u slot_size=%" PRIu32 " slots=%" PRIu64
		      " mem_size=%" PRIu64 ": %s", who, in.kind, in.slot_size, in.slots,
		      in.mem_size, bad);
		return -1;
	}
	if (in.kind != I_sets[0].kind || in.slot_size != I_sets[0].slot_size ||
	    in.slots != I_sets[0].slots)
		atomic_fetch_add(&H->flipped_binds, 1);
	if (slot_size)
		*slot_size = in.slot_size;
	return 0;
}

/* a few calls with timeout 0 on a handle an opener just bound (ss: its
 * slot_size, as shmring_info() tells) */
static void id_exercise(struct shmring *r, int roles, size_t ss, uint64_t *rng)
{
	unsigned char buf[2 * (256 + CANARY)] = { 0 };
	struct iovec iov[2];
	struct shmring_slot s;
	int rc;
	ssize_t n;

	if (!roles) {   /* an observer: no data calls */
		if (shmring_send(r, buf, 1, 0) >= 0 || shmring_recv(r, buf, 1, 0) >= 0)
			hfail("an observer handle sent or received");
		return;
	}
	for (unsigned k = 0; k < 4; k++) {
		unsigned op = (unsigned)(st_rand(rng) % 4);
		if ((roles & SHMRING_PRODUCER) && (op < 2 || !(roles & SHMRING_CONSUMER))) {
			size_t cap = ss < SLOT_SIZE ? ss : SLOT_SIZE;
			if (op == 0) {
				size_t len = cap >= ST_MSG_MIN ? st_msg_build(buf, cap, 0, st_rand(rng), st_rand(rng))
				                               : cap;
				rc = shmring_send(r, buf, len, 0);
				if (rc < 0)
					herr(rc, allowed_common(rc));
				/* the local slot_size is the limit */
				if (ss + 1 > sizeof(buf))
					continue;
				memset(buf, 0x3c, ss + 1);
				rc = shmring_send(r, buf, ss + 1, 0);
				if (rc == 0)
					hfail("send of %zu bytes accepted with slot_size %zu", ss + 1, ss);
				else if (rc != -EMSGSIZE)
					herr(rc, allowed_common(rc));
			} else if (shmring_reserve(r, &s, 0) == 0) {
				in_map(r, s.data, s.len);
				if (s.len > ss)
					hfail("reserve: slot of %zu bytes, slot_size %zu", s.len, ss);
				memset(s.data, 0x5a, s.len);
				size_t len = s.len ? (size_t)(st_rand(rng) % (s.len + 1)) : 0;
				rc = shmring_commit(r, &s, len);
				if (rc)
					herr(rc, allowed_common(rc));
			}
		} else {
			size_t cap = (st_rand(rng) & 1) ? 256 : 1 + (size_t)(st_rand(rng) % 64);
			if (op == 0) {
				canary_set(buf, cap);
				n = shmring_recv(r, buf, cap, 0);
				canary_check(buf, cap);
				if (n > (ssize_t)cap || n > (ssize_t)ss)
					hfail("opener recv returned %zd (cap %zu, slot_size %zu)", n, cap, ss);
				else if (n < 0)
					herr((int)n, allowed_common((int)n) || n == -EMSGSIZE);
			} else if (op == 1) {
				iov[0].iov_base = buf;
				iov[1].iov_base = buf + 256 + CANARY;
				iov[0].iov_len = iov[1].iov_len = cap;
				canary_set(iov[0].iov_base, cap);
				canary_set(iov[1].iov_base, cap);
				rc = shmring_recv_burst(r, iov, 2, 0);
				canary_check(iov[0].iov_base, cap);
				canary_check(iov[1].iov_base, cap);
				for (int i = 0; i < rc && i < 2; i++)
					if (iov[i].iov_len > cap || iov[i].iov_len > ss)
						hfail("opener recv_burst length %zu (cap %zu, slot_size %zu)",
						      iov[i].iov_len, cap, ss);
				if (rc > 2)
					hfail("recv_burst returned %d > 2", rc);
				else if (rc < 0)
					herr(rc, allowed_common(rc) || rc == -EMSGSIZE);
			} else if ((rc = shmring_acquire(r, &s, 0)) == 0) {
				in_map(r, s.data, s.len);
				volatile unsigned char sink = 0;
				for (size_t i = 0; i < s.len && i <= ss; i++)
					sink ^= ((unsigned char *)s.data)[i];
				(void)sink;
				rc = shmring_release(r, &s);
				if (rc && !stale_ok(r, rc))
					hfail("opener release: %s", shmring_strerror(rc));
			} else {
				herr(rc, allowed_common(rc));
			}
		}
	}
}

/* openers hold open here at times, after the header was read and before
 * it is checked and bound: the flipper's writes land in that window more
 * often (a library that re-read the header would be caught sooner) */
static uint64_t id_delay_rng;

static void id_open_delay(void)
{
	uint64_t x = st_rand(&id_delay_rng);
	if (x % 4 == 0)
		spin((unsigned)((x >> 8) % 4000));
	else if (x % 8 == 1)
		sched_yield();
}

/* an opener: open (random roles), check the bind, a few calls, close; again */
static int opener(const char *name, uint64_t seed)
{
	static const int pick[] = { SHMRING_PRODUCER | SHMRING_CONSUMER, SHMRING_PRODUCER,
	                            SHMRING_CONSUMER, 0 };
	uint64_t rng = st_mix(seed ^ 0x0fe7) | 1;

	setpriority(PRIO_PROCESS, 0, ID_NICE);   /* as the flipper's */
	id_delay_rng = rng ^ 0xde1a;
	shmring__test_hook_open = id_open_delay;
	while (!atomic_load(&H->stop)) {
		alarm(10);
		struct shmring *r = NULL;
		int roles = pick[st_rand(&rng) % 4];
		int rc = shmring_open(name, roles, &r);
		if ((rc == -EBUSY || rc == -EUSERS) && roles) {
			roles = 0;   /* the roles are taken: look at least */
			rc = shmring_open(name, 0, &r);
		}
		if (rc) {
			atomic_fetch_add(&H->id_open_fail, 1);
			if (rc != -EPROTO && rc != -EBUSY && rc != -EUSERS && rc != -ENOENT)
				hfail("opener: open: %s", shmring_strerror(rc));
			if (st_rand(&rng) % 4 == 0)
				sched_yield();
			continue;
		}
		uint32_t ss;
		if (check_bind(r, "opener", &ss) == 0)
			id_exercise(r, roles, ss, &rng);
		shmring_close(r);
		if (st_rand(&rng) % 4 == 0)   /* leave the CPUs to the honest ones at times */
			usleep((useconds_t)(st_rand(&rng) % 200));
	}
	return 0;
}

/* an honest worker: role 1 producer, 2 consumer; reopens after persistent errors */
static int honest(const char *name, int role, uint64_t seed)
{
	uint64_t rng = st_mix(seed) | 1, seq = 0;
	struct shmring *r = NULL;
	unsigned bad_streak = 0;
	unsigned char *buf = malloc(8 * (SLOT_SIZE + CANARY));

	if (!buf)
		return 1;
	while (!atomic_load(&H->stop)) {
		alarm(10);
		if (!r) {
			int rc = shmring_open(name, role, &r);
			if (rc) {
				atomic_fetch_add(&H->open_fail, 1);
				if (rc != -EPROTO && rc != -EBUSY && rc != -EUSERS && rc != -ENOENT)
					hfail("open: %s", shmring_strerror(rc));
				usleep(2000);
				r = NULL;
				continue;
			}
			if (check_bind(r, "honest", NULL)) {
				shmring_close(r);   /* counted; never used */
				r = NULL;
				continue;
			}
			if (rng & 2)
				shmring_set_spin(r, 0);
		}
		unsigned pick = (unsigned)(st_rand(&rng) % 3);
		int64_t t0 = stress_now_ns();
		int rc;
		atomic_fetch_add(&H->ops, 1);
		if (role == SHMRING_PRODUCER) {
			if (pick == 0) {
				size_t len = st_msg_build(buf, SLOT_SIZE, 0, seq++, st_rand(&rng));
				rc = shmring_send(r, buf, len, TIMEOUT_NS);
			} else if (pick == 1) {
				struct iovec iov[4];
				for (int i = 0; i < 4; i++) {
					iov[i].iov_base = buf + i * SLOT_SIZE;
					iov[i].iov_len = st_msg_build(iov[i].iov_base, SLOT_SIZE, 0, seq++,
					                              st_rand(&rng));
				}
				rc = shmring_send_burst(r, iov, 4, TIMEOUT_NS);
				rc = rc > 0 ? 0 : rc;
			} else {
				struct shmring_slot s;
				rc = shmring_reserve(r, &s, TIMEOUT_NS);
				if (rc == 0) {
					in_map(r, s.data, s.len);
					/* a reopened handle may have bound a smaller slot */
					size_t cap = s.len < SLOT_SIZE ? s.len : SLOT_SIZE;
					size_t len = cap >= ST_MSG_MIN ? st_msg_build(s.data, cap, 0, seq++,
					                                               st_rand(&rng)) : 0;
					rc = shmring_commit(r, &s, len);
					if (rc == -EMSGSIZE)   /* see below; the reservation stays */
						shmring_commit(r, &s, 0);
				}
			}
			timed(t0);
			/* -EMSGSIZE: after a reopen, the handle may have taken a
			 * smaller slot_size the flipper wrote as a complete valid
			 * set (113 has this stride too; 24, 8, ...) */
			if (rc < 0)
				herr(rc, allowed_common(rc) || rc == -EMSGSIZE);
		} else {
			size_t cap = (st_rand(&rng) & 3) ? SLOT_SIZE : 40;  /* sometimes small */
			if (pick == 0) {
				canary_set(buf, cap);
				ssize_t n = shmring_recv(r, buf, cap, TIMEOUT_NS);
				timed(t0);
				canary_check(buf, cap);
				if (n > (ssize_t)cap) {
					atomic_fetch_add(&H->bounds, 1);
					hfail("recv returned %zd > cap %zu", n, cap);
				} else if (n >= 0) {
					judge_msg(buf, (size_t)n);
				}
				rc = n < 0 ? (int)n : 0;
				if (rc < 0)
					herr(rc, allowed_common(rc) || rc == -EMSGSIZE);
			} else if (pick == 1) {
				struct iovec iov[4];
				for (int i = 0; i < 4; i++) {
					iov[i].iov_base = buf + i * (SLOT_SIZE + CANARY);
					iov[i].iov_len = cap;
					canary_set(iov[i].iov_base, cap);
				}
				rc = shmring_recv_burst(r, iov, 4, TIMEOUT_NS);
				timed(t0);
				for (int i = 0; i < 4; i++)
					canary_check(buf + i * (SLOT_SIZE + CANARY), cap);
				for (int i = 0; i < rc; i++) {
					if (iov[i].iov_len > cap) {
						atomic_fetch_add(&H->bounds, 1);
						hfail("recv_burst length %zu > cap %zu", iov[i].iov_len, cap);
					} else {
						judge_msg(iov[i].iov_base, iov[i].iov_len);
					}
				}
				if (rc > 4)
					hfail("recv_burst returned %d > 4", rc);
				if (rc < 0)
					herr(rc, allowed_common(rc) || rc == -EMSGSIZE);
				rc = rc > 0 ? 0 : rc;
			} else {
				struct shmring_slot s;
				rc = shmring_acquire(r, &s, TIMEOUT_NS);
				timed(t0);
				if (rc == 0) {
					in_map(r, s.data, s.len);
					unsigned char tmp[SLOT_SIZE];
					memcpy(tmp, s.data, s.len <= SLOT_SIZE ? s.len : SLOT_SIZE);
					judge_msg(tmp, s.len <= SLOT_SIZE ? s.len : 0);
					rc = shmring_release(r, &s);
					/* -ESTALE: an overwrite ring's slot rewritten
					 * while acquired (by the producer, or by the
					 * scribbler's seq words) */
					if (rc && !stale_ok(r, rc))
						hfail("release: %s", shmring_strerror(rc));
				} else {
					herr(rc, allowed_common(rc));
				}
			}
		}
		/* a ring that keeps failing: detach and attach again (also a
		 * producer whose reopen bound a slot too small for its messages) */
		bad_streak = (rc == -EPROTO || rc == -EPIPE || rc == -EBADMSG ||
		              (rc == -EMSGSIZE && role == SHMRING_PRODUCER)) ? bad_streak + 1 : 0;
		if (bad_streak > 20) {
			shmring_close(r);
			r = NULL;
			bad_streak = 0;
			atomic_fetch_add(&H->reopens, 1);
			/* the flipper may have left a set that fails at once
			 * again: no busy loop of reopens (the timed calls of
			 * the others need the CPUs) */
			usleep(1000);
		}
	}
	if (r)
		shmring_close(r);
	free(buf);
	return 0;
}

/* the scribbler: its own mapping, no library */
static int scribbler(const char *name, uint64_t seed)
{
	uint64_t rng = st_mix(seed ^ 0xbad) | 1;
	int fd = shm_open(name, O_RDWR, 0);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return 1;
	unsigned char *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return 1;
	struct shmring__hdr *h = (void *)m;
	uint64_t nslots = h->slots, stride = h->slot_stride;
	/* packed: 8-byte "slots" over the record area */
	uint64_t area = (uint64_t)st.st_size - SHMRING__HDR_SIZE;
	if (P_packed) {
		nslots = area / 8;
		stride = 8;
	}
	if (SHMRING__HDR_SIZE + nslots * stride > (uint64_t)st.st_size)
		return 1;
	/* broadcast: the subscriber lines, after the slots at a multiple of 128 */
	uint64_t lines = (SHMRING__HDR_SIZE + nslots * stride + 127) & ~UINT64_C(127);
	if (P_bcast && lines + SHMRING__MAX_PEERS * 128 > (uint64_t)st.st_size)
		return 1;
	/* the round carries a message before the first scribble (at most
	 * 200 ms): one early write to an index can leave the ring refused at
	 * every open (-EPROTO, as it must be) for the rest of the round, and a
	 * packed round then carried no message at all (the check at the end:
	 * 4 of 22 runs, plain and ASan builds, failed so on a 2-vCPU AMD EPYC
	 * VM; 0 of 22 since) */
	uint64_t good0 = atomic_load(&H->good);
	for (int i = 0; i < 100 && atomic_load(&H->good) == good0 && !atomic_load(&H->stop); i++)
		usleep(2000);

	/* from here on the identity fields change under everyone's opens */
	pthread_t flip;
	int flipping = !P_packed && !P_bcast;
	if (flipping && pthread_create(&flip, NULL, id_flipper, h))
		return 1;

	while (!atomic_load(&H->stop)) {
		unsigned nw = 1 + (unsigned)(st_rand(&rng) % 4);
		for (unsigned w = 0; w < nw; w++) {
			uint64_t v, x = st_rand(&rng);
			switch (x % 6) {
			case 0: v = st_rand(&rng); break;
			case 1: v = st_rand(&rng) % 64; break;
			case 2: v = 0; break;
			case 3: v = ~UINT64_C(0); break;
			case 4: v = (uint64_t)(int64_t)((int)(st_rand(&rng) % 9) - 4); break;
			default: v = nslots + st_rand(&rng) % 4; break;
			}
			unsigned char *p;
			unsigned width = 8;
			int add = (x >> 8) & 1;   /* add to the current value instead */
			unsigned t = (unsigned)((x >> 16) % 40);
			switch (t < 23 ? t / 2 : 12) {
			case 0: case 1: p = t & 1 ? (void *)&h->cons_idx : (void *)&h->prod_idx; break;
			case 2: case 3: p = t & 1 ? (void *)&h->cons_idx : (void *)&h->prod_idx; break;
			case 4: p = (void *)&h->data_futex + 4 * (t & 1); width = 4; break;
			case 5: p = (void *)&h->space_futex + 4 * (t & 1); width = 4; break;
			case 6: p = (void *)&h->data_futex + 4 * (st_rand(&rng) % 2); width = 4; break;
			case 7: p = (void *)&h->space_futex + 4 * (st_rand(&rng) % 2); width = 4; break;
			case 8: p = (void *)&h->prod_ever + 4 * (st_rand(&rng) % 4); width = 4; break;
			case 9: p = (void *)&h->full_waits + 128 * (st_rand(&rng) % 2); break;
			case 10: p = (void *)h->producers + 8 * (st_rand(&rng) %
			                ((sizeof(h->producers) + sizeof(h->consumers)) / 8)); break;
			case 11:                                           /* identity: 1 in 40 */
				if (flipping && st_rand(&rng) % 6) {   /* the flipper's values: see I_sets */
					id_scribble(h, &rng);
					atomic_fetch_add(&H->writes, 1);
					continue;
				}
				p = m + 40;                /* flags, creator_pid */
				break;
			default:                                           /* a slot */
				if (P_bcast && st_rand(&rng) % 3 == 0) {   /* a subscriber line */
					p = m + lines + 128 * (st_rand(&rng) % 4) + 8 * (st_rand(&rng) % 4);
					if (x % 6 == 5)   /* near the producer's index */
						v = atomic_load_explicit((_Atomic uint64_t *)(void *)&h->prod_idx,
						                         memory_order_relaxed) + st_rand(&rng) % 32 - 16;
					break;
				}
				{
				unsigned char *sl = m + SHMRING__HDR_SIZE + (st_rand(&rng) % nslots) * stride;
				uint64_t off = (st_rand(&rng) & 1) ? 0 : 8 * (st_rand(&rng) % (stride / 8));
				p = sl + off;
				width = (st_rand(&rng) & 1) ? 4 : 8;
				break;
			}
			}
			if (width == 8) {
				_Atomic uint64_t *q = (void *)p;
				if (add)
					atomic_fetch_add_explicit(q, v, memory_order_relaxed);
				else
					atomic_store_explicit(q, v, memory_order_relaxed);
			} else {
				_Atomic uint32_t *q = (void *)p;
				if (add)
					atomic_fetch_add_explicit(q, (uint32_t)v, memory_order_relaxed);
				else
					atomic_store_explicit(q, (uint32_t)v, memory_order_relaxed);
			}
			atomic_fetch_add(&H->writes, 1);
		}
		usleep((useconds_t)(st_rand(&rng) % 2000));
	}
	if (flipping)
		pthread_join(flip, NULL);
	munmap(m, (size_t)st.st_size);
	return 0;
}

static int run_round(unsigned kind, uint32_t flags, double secs, uint64_t seed, unsigned round)
{
	char name[80];
	struct shmring *cr;
	struct shmring_config cfg = { .kind = kind, .slot_size = SLOT_SIZE, .slots = ROUND_SLOTS,
	                              .flags = flags };
	R_flags = flags;
	int packed = (flags & SHMRING_PACKED) != 0;
	snprintf(name, sizeof(name), "/shmring-hostile-%d-%u", (int)getpid(), round);
	ident_setup(kind);   /* before the fork: every process checks binds with it */
	P_packed = packed;
	P_bcast = kind == SHMRING_BROADCAST;
	if (packed)
		I_obj = SHMRING__HDR_SIZE + (((uint64_t)SLOT_SIZE * ROUND_SLOTS + 7) & ~UINT64_C(7));
	if (P_bcast)   /* 16-byte slot headers, then the 64 subscriber lines */
		I_obj = ((SHMRING__HDR_SIZE + ROUND_SLOTS * ((16 + SLOT_SIZE + 7) & ~UINT64_C(7)) +
		          127) & ~UINT64_C(127)) + SHMRING__MAX_PEERS * 128;
	shm_unlink(name);
	int rc = shmring_create(name, &cfg, 0, &cr);
	if (rc) {
		hfail("create: %s", shmring_strerror(rc));
		return -1;
	}
	unsigned np = kind == SHMRING_MPMC ? 2 : 1, nc = P_bcast ? 3 : np;
	unsigned nopen = packed || P_bcast ? 0 : 2;
	pid_t pids[12];
	unsigned n = 0;
	atomic_store(&H->stop, 0);
	fflush(NULL);
	for (unsigned i = 0; i < np + nc + 1 + nopen; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			if (i > np + nc)
				_exit(opener(name, seed + i * 104729 + round));
			if (i == np + nc)
				_exit(scribbler(name, seed));
			_exit(honest(name, i < np ? SHMRING_PRODUCER : SHMRING_CONSUMER,
			             seed + i * 7919 + round));
		}
		if (pid > 0)
			pids[n++] = pid;
	}
	usleep((useconds_t)(secs * 1e6));
	atomic_store(&H->stop, 1);
	int64_t give_up = stress_now_ns() + INT64_C(5000000000);
	for (unsigned i = 0; i < n; i++) {
		int status;
		pid_t got;
		while ((got = waitpid(pids[i], &status, WNOHANG)) == 0 && stress_now_ns() < give_up)
			usleep(2000);
		if (got == 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
			hfail("HANG: an honest process did not stop within 5 s");
		} else if (WIFSIGNALED(status)) {
			hfail("an honest process died by signal %d (%s)", WTERMSIG(status),
			      strsignal(WTERMSIG(status)));
		} else if (WEXITSTATUS(status)) {
			hfail("a process exited with status %d (ASan report above?)", WEXITSTATUS(status));
		}
	}
	shmring_close(cr);
	shmring_unlink(name);
	return 0;
}

/* ------------------------------------------------------------ fixed cases */

static int fixed_fail;

#define EXPECT(cond, ...) do { if (!(cond)) { fixed_fail++; \
	printf("hostile-fixed: FAIL line %d: ", __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

/* the length word of the slot of pos, in the ring's own slot layout */
static uint32_t *slot_len(struct shmring *r, unsigned kind, uint32_t flags, uint64_t pos)
{
	if (kind == SHMRING_MPMC)
		return &((struct shmring__slot_mpmc *)(void *)shmring__slot(r, pos))->len;
	if (flags & SHMRING_OVERWRITE)
		return &((struct shmring__slot_ow *)(void *)shmring__slot(r, pos))->len;
	/* SPSC: the length is the low half of the seal (little-endian) */
	return (uint32_t *)(void *)&((struct shmring__slot_spsc *)(void *)shmring__slot(r, pos))->seal;
}

/* one timed call: returns within its timeout + slack */
#define WITHIN(call, to, out) do { int64_t t0_ = stress_now_ns(); out = (call); \
	EXPECT(stress_now_ns() - t0_ < (to) + SLACK_NS, #call " took %" PRId64 " ms", \
	       (stress_now_ns() - t0_) / 1000000); } while (0)

static void fixed_kind(unsigned kind, uint32_t flags)
{
	char name[80];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = kind, .slot_size = 64, .slots = 8, .flags = flags };
	unsigned char msg[64] = "hello", buf[64 + CANARY];
	struct iovec iov[2] = { { buf, 64 }, { buf, 64 } };
	struct shmring_slot s;
	ssize_t n;
	int rc;
	const char *k = (flags & SHMRING_OVERWRITE) ? "overwrite" :
	                kind == SHMRING_SPSC ? "spsc" : "mpmc";

	snprintf(name, sizeof(name), "/shmring-hostile-fixed-%s-%d", k, (int)getpid());
	shm_unlink(name);
	rc = shmring_create(name, &cfg, SHMRING_PRODUCER, &p);
	EXPECT(rc == 0, "%s create %d", k, rc);
	if (rc)
		return;
	rc = shmring_open(name, SHMRING_CONSUMER, &c);
	EXPECT(rc == 0, "%s open %d", k, rc);
	if (rc) {
		shmring_close(p);
		shmring_unlink(name);
		return;
	}
	struct shmring__hdr *h = p->hdr;
	uint32_t *lenp;

	/* 1. slot length > slot_size: -EBADMSG, skipped, the ring goes on */
	static const uint32_t badlens[] = { 65, 4096, 0x7fffffff, 0xffffffff };
	for (unsigned i = 0; i < 4; i++) {
		uint64_t pos = shmring__load_relaxed64(&h->prod_idx);
		lenp = slot_len(p, kind, flags, pos);
		EXPECT(shmring_send(p, msg, 10, 0) == 0, "%s send", k);
		*lenp = badlens[i];
		canary_set(buf, 64);
		if (i == 0)
			n = shmring_recv(c, buf, 64, 0);
		else if (i == 1)
			n = shmring_recv_burst(c, iov, 2, 0);
		else if (i == 2)
			n = shmring_acquire(c, &s, 0);
		else
			n = shmring_recv(c, buf, 10, 0);
		canary_check(buf, 64);
		/* (a skip record is marked by its stamp, SHMRING__STAMP_SKIP,
		 * not by its length: 0xffffffff is just too long, on MPMC too) */
		EXPECT(n == -EBADMSG, "%s len %u: got %zd, want -EBADMSG", k, badlens[i], n);
		EXPECT(shmring_send(p, msg, 10, 0) == 0, "%s send after bad", k);
		n = shmring_recv(c, buf, 64, 0);
		EXPECT(n == 10, "%s recv after bad slot: %zd", k, n);
	}

	/* 2. futex words and waiter counts garbage: calls still work and time out in time */
	h->data_futex = 0xdeadbeef;
	h->space_futex = 0x12345678;
	h->data_waiters = 0xffffffff;
	h->space_waiters = 0x80000000;
	EXPECT(shmring_send(p, msg, 5, 0) == 0, "%s send with garbage futex words", k);
	EXPECT(shmring_recv(c, buf, 64, 0) == 5, "%s recv with garbage futex words", k);
	WITHIN(shmring_recv(c, buf, 64, 30000000), 30000000, n);
	EXPECT(n == -ETIMEDOUT, "%s blocking recv on empty ring: %zd", k, n);
	h->data_waiters = 0;
	h->space_waiters = 0;

	/* 3. indices far apart: producer index 2^40 ahead */
	uint64_t pi = h->prod_idx, ci = h->cons_idx;
	h->prod_idx = ci + (UINT64_C(1) << 40);
	canary_set(buf, 64);
	WITHIN(shmring_recv(c, buf, 64, 30000000), 30000000, n);
	canary_check(buf, 64);
	EXPECT(n == -EPROTO || n == -ETIMEDOUT || n == -EAGAIN || n == -EBADMSG || (n >= 0 && n <= 64),
	       "%s recv with far producer index: %zd", k, n);
	WITHIN(shmring_send(p, msg, 5, 30000000), 30000000, rc);
	EXPECT(rc == -EPROTO || rc == -ETIMEDOUT || rc == 0, "%s send with far producer index: %d", k, rc);
	h->prod_idx = pi;
	h->cons_idx = ci;

	/* 4. tail behind head: consumer index ahead of the producer's */
	pi = h->prod_idx;
	h->cons_idx = pi + 3;
	WITHIN(shmring_send(p, msg, 5, 30000000), 30000000, rc);
	EXPECT(rc == -EPROTO || rc == -ETIMEDOUT || rc == 0, "%s send with tail behind head: %d", k, rc);
	WITHIN(shmring_recv(c, buf, 64, 30000000), 30000000, n);
	EXPECT(n == -EPROTO || n == -ETIMEDOUT || n == -EAGAIN || n == -EBADMSG || (n >= 0 && n <= 64),
	       "%s recv with tail behind head: %zd", k, n);
	/* a new consumer refuses impossible indices (SPSC: the consumer more
	 * than a ring ahead; up to a ring ahead is what a producer that died
	 * between its seals and its index store leaves) or attaches (MPMC) */
	struct shmring *c2 = NULL;
	shmring_close(c);
	c = NULL;
	pi = h->prod_idx;
	h->cons_idx = pi + cfg.slots + 3;
	rc = shmring_open(name, SHMRING_CONSUMER, &c2);
	EXPECT(kind == SHMRING_SPSC ? rc == -EPROTO : rc == 0,
	       "%s open with tail behind head: %d", k, rc);
	shmring_close(c2);
	c2 = NULL;
	h->cons_idx = pi + 3;
	rc = shmring_open(name, SHMRING_CONSUMER, &c2);
	EXPECT((flags & SHMRING_OVERWRITE) ? rc == -EPROTO : rc == 0,
	       "%s open with tail 3 behind head: %d", k, rc);
	shmring_close(c2);

	/* 5. registry garbage: an owner word naming a live process (pid 1) and one naming nobody */
	h->prod_idx = pi;
	h->cons_idx = pi;
	h->consumers[0].owner = 1;   /* pid 1, start time 0: not what pid 1 started at */
	h->consumers[0].state = 0xffffffff;
	rc = shmring_open(name, SHMRING_CONSUMER, &c);
	EXPECT(rc == 0 || rc == -EBUSY, "%s open over registry garbage: %d", k, rc);
	if (rc == 0) {
		EXPECT(shmring_send(p, msg, 7, 0) == 0 || 1, "send");
		n = shmring_recv(c, buf, 64, 10000000);
		/* -EPROTO too (MPMC): while the indices were garbage (steps 3
		 * and 4), consumers may have skipped positions that looked
		 * claimed by a dead producer; the slots' sequences then no
		 * longer match the restored indices: an impossible state */
		EXPECT((n >= 0 && n <= 64) || n == -ETIMEDOUT || n == -EAGAIN ||
		       (kind == SHMRING_MPMC && n == -EPROTO),
		       "%s recv after registry garbage: %zd", k, n);
		shmring_close(c);
	}

	/* 5b. overwrite layout: sequence words no producer writes. Older
	 * than the position: -EBADMSG; newer: lost (stats.overruns); odd
	 * (being written) forever: lost; an acquisition whose seq changes:
	 * -ESTALE. Never a message, never a hang */
	if (flags & SHMRING_OVERWRITE) {
		struct shmring_stats st0, st1;
		/* indices in step with the producer's own position again */
		h->prod_idx = h->cons_idx = p->p.pos;
		rc = shmring_open(name, SHMRING_CONSUMER, &c);
		EXPECT(rc == 0 || rc == -EBUSY || rc == -EPROTO, "%s reopen: %d", k, rc);
		if (rc == 0) {
			shmring_stats(c, &st0);
			static const int64_t deltas[] = { -2, 2, 1, 2 * 8, -(INT64_C(1) << 62) };
			for (unsigned i = 0; i < 5; i++) {
				uint64_t pos = p->p.pos;
				EXPECT(shmring_send(p, msg, 10, 0) == 0, "%s send", k);
				struct shmring__slot_ow *so = (void *)shmring__slot(p, pos);
				so->seq += (uint64_t)deltas[i];
				canary_set(buf, 64);
				WITHIN(shmring_recv(c, buf, 64, 20000000), 20000000, n);
				canary_check(buf, 64);
				EXPECT(n == -EBADMSG || n == -ETIMEDOUT || n == -EPROTO,
				       "%s seq %+lld: got %zd", k, (long long)deltas[i], n);
			}
			shmring_stats(c, &st1);
			EXPECT(st1.overruns - st0.overruns + st1.bad_msgs - st0.bad_msgs >= 5,
			       "%s seq garbage not counted", k);
			/* acquired, then the seq word moves: -ESTALE */
			EXPECT(shmring_send(p, msg, 10, 0) == 0, "%s send", k);
			n = shmring_acquire(c, &s, 0);
			EXPECT(n == 0, "%s acquire: %zd", k, n);
			if (n == 0) {
				((struct shmring__slot_ow *)(void *)shmring__slot(p, s.pos))->seq += 2;
				rc = shmring_release(c, &s);
				EXPECT(rc == -ESTALE, "%s release after seq moved: %d", k, rc);
			}
			EXPECT(shmring_send(p, msg, 10, 0) == 0, "%s send", k);
			n = shmring_recv(c, buf, 64, 0);
			EXPECT(n == 10, "%s recv after seq garbage: %zd", k, n);
			shmring_close(c);
		}
	}

	/* 6. identity garbage after open: ignored by open handles, new opens -EPROTO */
	h->slot_size = 1u << 30;
	h->slots = 3;
	EXPECT(shmring_send(p, msg, 64, 0) == 0 || 1, "send");
	rc = shmring_open(name, SHMRING_CONSUMER, &c);
	EXPECT(rc == -EPROTO, "%s open with corrupt identity: %d", k, rc);
	if (rc == 0)
		shmring_close(c);
	EXPECT(shmring_send(p, msg, 65, 0) == -EMSGSIZE, "%s local slot_size kept", k);

	shmring_close(p);
	shmring_unlink(name);
}

/* 7. identity flipped during open (after open's single read, before its
 * checks: the library's test hook; and by a thread, racing for real). The
 * handle must keep what was read and checked, never a re-read. */

static struct shmring__hdr *fx_hdr;
static const struct ident *fx_set;   /* the hook writes this set, or ... */
static uint64_t fx_slots;            /* ... only this slots value */

static void fx_hook(void)
{
	if (fx_set) {
		uint64_t rng = 12345;
		id_write_set(fx_hdr, fx_set, &rng);
	} else {
		__atomic_store_n(&fx_hdr->slots, fx_slots, __ATOMIC_RELAXED);
	}
}

static _Atomic int fx_flipping;

static void *fx_slots_flipper(void *arg)
{
	uint64_t good = (uint64_t)(uintptr_t)arg, v = good;
	while (atomic_load(&fx_flipping)) {
		v = v == good ? UINT64_C(1) << 30 : good;
		__atomic_store_n(&fx_hdr->slots, v, __ATOMIC_RELAXED);
		spin(300);
	}
	__atomic_store_n(&fx_hdr->slots, good, __ATOMIC_RELAXED);
	return NULL;
}

/* open as consumer with the hook set; returns rc, fills *in on success */
static int fx_open(const char *name, struct shmring **c, struct shmring_info *in)
{
	shmring__test_hook_open = fx_hook;
	int rc = shmring_open(name, SHMRING_CONSUMER, c);
	shmring__test_hook_open = NULL;
	if (rc == 0)
		shmring_info(*c, in);
	return rc;
}

static void fixed_ident(unsigned kind)
{
	char name[80];
	struct shmring *p, *c;
	struct shmring_info in;
	struct shmring_config cfg = { .kind = kind, .slot_size = 64, .slots = 8 };
	unsigned char msg[64] = "flip", buf[64 + CANARY];
	const char *k = kind == SHMRING_SPSC ? "spsc" : "mpmc";
	uint32_t stride = (uint32_t)id_stride(kind, 64);
	struct ident mine = { SHMRING__LAYOUT_VERSION, kind, 64, stride, 8,
	                      SHMRING__HDR_SIZE + 8 * stride };
	/* a complete valid set of its own: 2 slots of 8 bytes, the other kind */
	unsigned ko = kind ^ 3;
	uint32_t so = (uint32_t)id_stride(ko, 8);
	struct ident other = { SHMRING__LAYOUT_VERSION, ko, 8, so, 2, SHMRING__HDR_SIZE + 2 * so };
	int rc;
	ssize_t n;

	snprintf(name, sizeof(name), "/shmring-hostile-fixed-id-%s-%d", k, (int)getpid());
	shm_unlink(name);
	rc = shmring_create(name, &cfg, SHMRING_PRODUCER, &p);
	EXPECT(rc == 0, "%s create %d", k, rc);
	if (rc)
		return;
	fx_hdr = p->hdr;

	/* a. slots -> 2^30 right after open read it: bound 8, and it works */
	fx_set = NULL;
	fx_slots = UINT64_C(1) << 30;
	rc = fx_open(name, &c, &in);
	fx_hdr->slots = 8;
	EXPECT(rc == 0, "%s open with slots flipped to 2^30 during open: %d", k, rc);
	if (rc == 0) {
		EXPECT(in.slots == 8 && in.slot_size == 64 && in.kind == kind,
		       "%s bound slots=%" PRIu64 " slot_size=%" PRIu32 " kind=%u after a flip to "
		       "2^30 during open (want 8, 64, %u)", k, in.slots, in.slot_size, in.kind, kind);
		if (in.slots == 8) {
			EXPECT(shmring_send(p, msg, 9, 0) == 0, "%s send after flipped open", k);
			canary_set(buf, 64);
			n = shmring_recv(c, buf, 64, 0);
			canary_check(buf, 64);
			EXPECT(n == 9, "%s recv after flipped open: %zd", k, n);
		}
		shmring_close(c);
	}

	/* b. a complete other valid set written during open: the one read is bound */
	fx_set = &other;
	rc = fx_open(name, &c, &in);
	{
		uint64_t rng = 1;
		id_write_set(fx_hdr, &mine, &rng);
	}
	EXPECT(rc == 0, "%s open with another valid set written during open: %d", k, rc);
	if (rc == 0) {
		EXPECT(in.slots == 8 && in.slot_size == 64 && in.kind == kind,
		       "%s bound slots=%" PRIu64 " slot_size=%" PRIu32 " kind=%u, the set written "
		       "during open (want 8, 64, %u)", k, in.slots, in.slot_size, in.kind, kind);
		shmring_close(c);
	}

	/* c. 2^30 read, the good value back before the checks: refused */
	fx_set = NULL;
	fx_slots = 8;
	fx_hdr->slots = UINT64_C(1) << 30;
	rc = fx_open(name, &c, &in);
	fx_hdr->slots = 8;
	EXPECT(rc == -EPROTO, "%s open that read slots 2^30 (restored before the checks): %d "
	       "(bound slots %" PRIu64 ")", k, rc, rc == 0 ? in.slots : 0);
	if (rc == 0)
		shmring_close(c);

	/* d. a thread flips slots 8 <-> 2^30 while we open over and over */
	pthread_t t;
	unsigned ok = 0, refused = 0, wrong = 0;
	atomic_store(&fx_flipping, 1);
	if (pthread_create(&t, NULL, fx_slots_flipper, (void *)(uintptr_t)8) == 0) {
		int64_t end = stress_now_ns() + 300000000;
		for (unsigned i = 0; i < 3000 && stress_now_ns() < end; i++) {
			rc = shmring_open(name, SHMRING_CONSUMER, &c);
			if (rc == -EPROTO) {
				refused++;
				continue;
			}
			if (rc) {
				EXPECT(0, "%s open under a slots flipper: %d", k, rc);
				continue;
			}
			shmring_info(c, &in);
			if (in.slots != 8 || in.slot_size != 64 || in.kind != kind) {
				if (!wrong++)
					EXPECT(0, "%s open under a slots flipper bound slots=%" PRIu64
					       " slot_size=%" PRIu32 " kind=%u", k, in.slots, in.slot_size, in.kind);
			} else {
				ok++;
				if (ok % 16 == 0) {
					shmring_send(p, msg, 3, 0);
					n = shmring_recv(c, buf, 64, 0);
					EXPECT(n == 3 || n == -EAGAIN, "%s recv under a slots flipper: %zd", k, n);
				}
			}
			shmring_close(c);
		}
		atomic_store(&fx_flipping, 0);
		pthread_join(t, NULL);
		EXPECT(wrong == 0, "%s %u of %u opens under a slots flipper bound a wrong set",
		       k, wrong, ok + wrong);
		EXPECT(ok > 0, "%s no open succeeded under a slots flipper (%u refused)", k, refused);
	} else {
		EXPECT(0, "%s pthread_create", k);
	}
	fx_hdr = NULL;
	shmring_close(p);
	shmring_unlink(name);
}

static int fixed_cases(void)
{
	fixed_kind(SHMRING_SPSC, 0);
	fixed_kind(SHMRING_MPMC, 0);
	fixed_kind(SHMRING_SPSC, SHMRING_OVERWRITE);
	fixed_ident(SHMRING_SPSC);
	fixed_ident(SHMRING_MPMC);
	printf("hostile-fixed: %s %d failures (slot length > slot_size via recv/burst/acquire, "
	       "futex words and waiter counts garbage, indices far apart, tail behind head, "
	       "registry garbage, identity garbage, identity flipped during open by the hook "
	       "and by a thread; SPSC and MPMC; overwrite-oldest: the same and seq words "
	       "garbage)\n",
	       fixed_fail ? "FAIL" : "PASS", fixed_fail);
	return fixed_fail ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = stress_seed_default();
	double secs = 4;
	int c;

	H = mmap(NULL, sizeof(*H), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (H == MAP_FAILED)
		return 2;
	while ((c = getopt(argc, argv, "s:t:f")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 't': secs = atof(optarg); break;
		case 'f': return fixed_cases();
		default:
			fprintf(stderr, "usage: %s [-s seed] [-t seconds] | -f\n", argv[0]);
			return 2;
		}
	}
	int64_t t0 = stress_now_ns(), end = t0 + (int64_t)(secs * 1e9);
	unsigned round = 0;
	while (stress_now_ns() < end && !atomic_load(&H->why_set)) {
		static const unsigned round_kind[6] = { SHMRING_SPSC, SHMRING_MPMC, SHMRING_BROADCAST,
		                                        SHMRING_SPSC, SHMRING_SPSC, SHMRING_BROADCAST };
		static const uint32_t round_flags[6] = { 0, 0, 0, SHMRING_OVERWRITE, SHMRING_PACKED,
		                                         SHMRING_OVERWRITE };
		run_round(round_kind[round % 6], round_flags[round % 6], 1.0, seed + round, round);
		round++;
	}
	if (round && !atomic_load(&H->bind_checks))
		hfail("no open succeeded under the identity flips: nothing was checked");
	if (round > 4 && !atomic_load(&H->pk_good))
		hfail("no good message went through a packed ring");
	int failed = atomic_load(&H->why_set) || atomic_load(&H->bad_binds);
	printf("hostile: %s seed=%" PRIu64 " time=%.1fs rounds=%u scribbles=%" PRIu64
	       " honest_ops=%" PRIu64 " good_msgs=%" PRIu64 " (packed %" PRIu64 ") garbage_msgs=%" PRIu64
	       " errors=[EAGAIN:%" PRIu64 ",ETIMEDOUT:%" PRIu64 ",EPIPE:%" PRIu64 ",EBADMSG:%" PRIu64
	       ",EPROTO:%" PRIu64 ",EMSGSIZE:%" PRIu64 ",other:%" PRIu64 "] reopens=%" PRIu64
	       " open_fail=%" PRIu64 " identity_flips=%" PRIu64 " bind_checks=%" PRIu64
	       " flipped_binds=%" PRIu64 " bad_binds=%" PRIu64 " flip_open_fail=%" PRIu64
	       " unexpected=%" PRIu64 " bounds=%" PRIu64 " overruns=%" PRIu64
	       " max_late=%.1fms%s%s\n",
	       failed ? "FAIL" : "PASS", seed, (double)(stress_now_ns() - t0) / 1e9, round,
	       H->writes, H->ops, H->good, H->pk_good, H->garbage, H->err[E_AGAIN], H->err[E_TIMEDOUT],
	       H->err[E_PIPE], H->err[E_BADMSG], H->err[E_PROTO], H->err[E_MSGSIZE],
	       H->err[E_OTHER] + H->err[E_BUSY], H->reopens, H->open_fail, H->id_flips,
	       H->bind_checks, H->flipped_binds, H->bad_binds, H->id_open_fail, H->unexpected,
	       H->bounds, H->overruns, (double)H->max_late_ns / 1e6, failed ? " why: " : "",
	       failed ? H->why : "");
	return failed ? 1 : 0;
}
