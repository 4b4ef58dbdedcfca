/* SPDX-License-Identifier: MIT */
/*
 * validate.c - everything that decides whether input is acceptable: shm
 * names, configurations, and the shared header found at open. After open
 * the shared header is untrusted: the handle keeps its own copies of the
 * sizes validated here and never re-reads them.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "private.h"

/* POSIX shm rules: one leading '/', no other '/', 1..NAME_MAX bytes after it */
int shmring__check_name(const char *name)
{
	size_t len;

	if (!name || name[0] != '/')
		return -EINVAL;
	len = strnlen(name + 1, NAME_MAX + 1);
	if (len == 0 || len > NAME_MAX)
		return -EINVAL;
	if (memchr(name + 1, '/', len))
		return -EINVAL;
	if (!strcmp(name, "/.") || !strcmp(name, "/.."))
		return -EINVAL;
	return 0;
}

/* a file path for a ring: non-empty, shorter than PATH_MAX */
int shmring__check_path(const char *path)
{
	if (!path || !path[0] || strnlen(path, PATH_MAX) >= PATH_MAX)
		return -EINVAL;
	return 0;
}

/* the engine that serves a ring of this public kind and these flags: the
 * public kind, or a private one (include/shmring/handle.h). Only for a
 * kind and flags that passed check_flags() */
unsigned shmring__engine_kind(unsigned kind, uint32_t flags)
{
	if (kind == SHMRING_SPSC && (flags & SHMRING_OVERWRITE))
		return SHMRING__KIND_OVERWRITE;
	if (kind == SHMRING_SPSC && (flags & SHMRING_PACKED))
		return SHMRING__KIND_PACKED;
	return kind;
}

/*
 * The flags a ring of this public kind may carry: only known ones (an
 * unknown flag may change the layout: a later library's ring), and the
 * engine flags only on SPSC rings (overwrite-oldest has one producer to
 * order; packed MPMC is not built, docs/design.md says why). OVERWRITE and
 * PACKED exclude each other: each is an engine of its own and no engine
 * does both (overwriting variable-length records would need a consumer
 * that can find the oldest intact record in a byte stream the producer is
 * rewriting). 0 if acceptable, -1 if not.
 */
static int check_flags(unsigned kind, uint32_t flags)
{
	if (flags & ~SHMRING__FLAGS_KNOWN)
		return -1;
	/* broadcast rings take OVERWRITE (the lossy form), not PACKED */
	if ((flags & SHMRING_OVERWRITE) && kind != SHMRING_SPSC && kind != SHMRING_BROADCAST)
		return -1;
	if ((flags & SHMRING_PACKED) && kind != SHMRING_SPSC)
		return -1;
	if ((flags & SHMRING_OVERWRITE) && (flags & SHMRING_PACKED))
		return -1;
	return 0;
}

/* bytes before the payload in a slot of this engine kind */
uint32_t shmring__payload_off(unsigned kind)
{
	switch (kind) {
	case SHMRING_MPMC:
		return (uint32_t)sizeof(struct shmring__slot_mpmc);
	case SHMRING__KIND_OVERWRITE:
	case SHMRING_BROADCAST:
		return (uint32_t)sizeof(struct shmring__slot_ow);
	default:
		return (uint32_t)sizeof(struct shmring__slot_spsc);
	}
}

/* slot header + payload, rounded up to 8 bytes (kind: the engine kind);
 * 0 for a packed ring, which has no slots (its header's stride field is 0) */
uint32_t shmring__stride(unsigned kind, uint32_t slot_size)
{
	if (kind == SHMRING__KIND_PACKED)
		return 0;
	uint64_t s = (uint64_t)shmring__payload_off(kind) + slot_size;
	return (uint32_t)((s + 7) & ~UINT64_C(7));
}

#define SHMRING__MAX_TOTAL (UINT64_C(1) << 40)   /* 1 TiB per ring */

static int is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/*
 * Bytes after the header (kind: the engine kind). Fixed slots: slots *
 * stride. A packed ring (SHMRING__KIND_PACKED): a record area of slots *
 * slot_size bytes, rounded up to 8 (records are 8-byte aligned). 0 on
 * overflow.
 */
uint64_t shmring__data_size(unsigned kind, uint32_t slot_size, uint64_t slots)
{
	int packed = kind == SHMRING__KIND_PACKED;
	uint64_t unit = packed ? slot_size : shmring__stride(kind, slot_size);
	uint64_t lines = SHMRING__MAX_PEERS * sizeof(struct shmring__bcast_sub);

	if (!unit || slots > (UINT64_MAX - SHMRING__HDR_SIZE - SHMRING__LINE - lines) / unit)
		return 0;
	if (kind == SHMRING_BROADCAST)   /* the subscriber lines after the slots */
		return shmring__bcast_lines_off((uint32_t)unit, slots) - SHMRING__HDR_SIZE + lines;
	return packed ? (slots * unit + 7) & ~UINT64_C(7) : slots * unit;
}

/* broadcast: where the subscriber lines start, the first multiple of 128
 * after the slots (stride and slots validated: no overflow) */
uint64_t shmring__bcast_lines_off(uint32_t stride, uint64_t slots)
{
	uint64_t end = SHMRING__HDR_SIZE + slots * stride;
	return (end + SHMRING__LINE - 1) & ~(uint64_t)(SHMRING__LINE - 1);
}

/*
 * Can an empty packed ring with a record area of `area` bytes always take a
 * largest record (8 + align8(slot_size) = M bytes), wherever the producer
 * stands? A record never wraps: at offset off with fewer than M bytes
 * before the end, the producer pads those bytes and writes at 0, so it
 * needs (area - off) + M bytes free. The padding is shorter than the
 * record and a multiple of 8: at most M - 8 bytes. Every offset that is a
 * multiple of 8 is reachable (an empty message takes 8 bytes), the worst
 * being area - M + 8, so the rule is exact:
 *
 *     area >= M + (M - 8) = 2 * align8(slot_size) + 8
 *
 * A smaller area accepts a largest record at some offsets and at others
 * never, however long the producer waits (issue 22, item 4: 2 slots of 64
 * bytes stuck after one 56-byte message). We refuse such shapes rather
 * than make room reachable some other way: the producer cannot move the
 * consumer's index, and publishing the padding on its own would hand
 * consumers readiness with no message behind it; refusing keeps every
 * guarantee of the engine simple (an empty ring takes any message).
 */
static int packed_area_ok(uint64_t area, uint32_t slot_size)
{
	uint64_t payload = ((uint64_t)slot_size + 7) & ~UINT64_C(7);
	return area >= 2 * payload + sizeof(struct shmring__rec_packed);
}

/* total object size, or 0 on overflow (kind: the engine kind) */
static uint64_t total_size(unsigned kind, uint32_t slot_size, uint64_t slots)
{
	uint64_t data = shmring__data_size(kind, slot_size, slots);
	return data ? SHMRING__HDR_SIZE + data : 0;
}

int shmring__check_config(const struct shmring_config *cfg)
{
	if (!cfg)
		return -EINVAL;
	if (cfg->kind != SHMRING_SPSC && cfg->kind != SHMRING_MPMC &&
	    cfg->kind != SHMRING_BROADCAST)
		return -EINVAL;
	if (cfg->slot_size == 0 || cfg->slot_size > SHMRING_MAX_SLOT_SIZE)
		return -EINVAL;
	if (cfg->slots < 2 || cfg->slots > SHMRING_MAX_SLOTS || !is_pow2(cfg->slots))
		return -EINVAL;
	if (cfg->mode & ~(mode_t)0777)
		return -EINVAL;
	if (check_flags(cfg->kind, cfg->flags))
		return -EINVAL;
	unsigned engine = shmring__engine_kind(cfg->kind, cfg->flags);
	uint64_t total = total_size(engine, cfg->slot_size, cfg->slots);
	if (!total || total > SHMRING__MAX_TOTAL)
		return -EINVAL;
	/* an empty packed ring must always take its largest record */
	if (engine == SHMRING__KIND_PACKED &&
	    !packed_area_ok(total - SHMRING__HDR_SIZE, cfg->slot_size))
		return -EINVAL;
	return 0;
}

/*
 * The header of an object we are opening: obj_size is fstat's size. Each
 * identity field is read exactly once into a local; the checks and the
 * copy handed back to the caller use those locals only, so a peer that
 * rewrites the header while we open cannot make us bind sizes we did not
 * check. Everything must agree with what a creator of this layout version
 * writes, with no flag this library does not know. Returns 0 (and fills
 * *out) or -EPROTO.
 */
void (*shmring__test_hook_open)(void);

int shmring__check_header(const struct shmring__hdr *h, uint64_t obj_size,
                          struct shmring__ident *out)
{
	/* relaxed: after M2 (acquire of the magic); each read once */
	uint32_t version = shmring__load_relaxed32(&h->version);
	uint32_t kind = shmring__load_relaxed32(&h->kind);
	uint32_t slot_size = shmring__load_relaxed32(&h->slot_size);
	uint32_t stride = shmring__load_relaxed32(&h->slot_stride);
	uint64_t slots = shmring__load_relaxed64(&h->slots);
	uint64_t total = shmring__load_relaxed64(&h->total_size);
	uint32_t flags = shmring__load_relaxed32(&h->flags);

	if (shmring__test_hook_open)
		shmring__test_hook_open();
	if (version != SHMRING__LAYOUT_VERSION)
		return -EPROTO;
	if (kind != SHMRING_SPSC && kind != SHMRING_MPMC && kind != SHMRING_BROADCAST)
		return -EPROTO;
	if (slot_size == 0 || slot_size > SHMRING_MAX_SLOT_SIZE)
		return -EPROTO;
	if (slots < 2 || slots > SHMRING_MAX_SLOTS || !is_pow2(slots))
		return -EPROTO;
	/* a flag we do not know, or flags no engine serves: never guess */
	if (check_flags(kind, flags))
		return -EPROTO;
	unsigned engine = shmring__engine_kind(kind, flags);
	/* a packed ring has no slots: its stride field is 0 */
	if (stride != shmring__stride(engine, slot_size))
		return -EPROTO;
	uint64_t want = total_size(engine, slot_size, slots);
	if (!want || total != want || total > obj_size || total > SHMRING__MAX_TOTAL)
		return -EPROTO;
	/* from the copies read above, as create's check */
	if (engine == SHMRING__KIND_PACKED && !packed_area_ok(total - SHMRING__HDR_SIZE, slot_size))
		return -EPROTO;
	out->kind = kind;
	out->slot_size = slot_size;
	out->slots = slots;
	out->total = total;
	out->flags = flags;
	return 0;
}
