/* SPDX-License-Identifier: MIT */
/*
 * fuzz_open.c - arbitrary object contents and sizes under shmring_open(),
 * and identity fields rewritten while open runs.
 *
 * Input: byte 0 = flags, bytes 1-2 = object size beyond the header, then
 * (bit 5 only) the flips, then the object's bytes from offset 0. Flags
 * help the fuzzer past the checks it cannot guess (it still mutates
 * everything after them):
 *   bit 0  write the right magic      bit 1  the right layout version
 *   bit 2  make sizes consistent (kind, slot_size, slots, stride, total;
 *          the kind byte picks SPSC, MPMC or broadcast, whose total holds
 *          the subscriber lines after the slots)
 *   bits 3-4 roles for open           bit 5  flips during open
 *   bit 6  flags word := SHMRING_OVERWRITE (with bit 2 and an SPSC kind:
 *          the overwrite-oldest slot layout)
 *   bit 7  with bit 2: a packed ring (SHMRING_PACKED, SPSC, stride 0, a
 *          record area of slots * slot_size rounded up to 8)
 * A zero magic is made non-zero (a zero magic makes open wait 200 ms for a
 * creator; the Criterion suite covers that case). Objects are never smaller
 * than the header for the same reason (also covered there).
 *
 * Flips (bit 5): byte 3 = count (mod 16), then 5 bytes each: a selector
 * and a 32-bit little-endian value v. Selector bits 0-2 = field (magic,
 * version, kind, slot_size, slot_stride, slots, total_size; 7 = a whole
 * consistent set made from v), bits 3-4 = how v becomes the value (v
 * itself, 1 << (v % 64), the field's value + (int32_t)v, a dangerous
 * constant). The library's test hook (shmring__test_hook_open, called
 * once open has read the identity fields and before it checks them)
 * applies them there, so open's checks and the shared header disagree.
 * The handle must then hold exactly what open read (the hook notes it),
 * and its sizes must fit its mapping: 8192 + slots * stride (broadcast:
 * rounded up to 128, plus 64 subscriber lines of 128; packed: the
 * record area) <= mem_size.
 *
 * After a successful open: info, stats, then recv, recv_burst,
 * acquire/release, send, burst, reserve/commit with timeout 0.
 */
#include <stdint.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern void (*shmring__test_hook_open)(void);   /* src/validate.c, test-only */

#define FZ_MAX_FLIPS 16

enum { FZ_MAGIC, FZ_VERSION, FZ_KIND, FZ_SLOT_SIZE, FZ_STRIDE, FZ_SLOTS, FZ_TOTAL, FZ_SET };

static struct {
	struct shmring__hdr *h;
	const uint8_t *flips;   /* 5 bytes each */
	unsigned nflips;
	unsigned calls;         /* hook calls in this open */
	/* what open read: the fields as they were when the hook ran */
	uint32_t kind, slot_size;
	uint64_t slots;
} fz;

static uint64_t fz_read(const struct shmring__hdr *h, int f)
{
	switch (f) {
	case FZ_MAGIC: return h->magic;
	case FZ_VERSION: return h->version;
	case FZ_KIND: return h->kind;
	case FZ_SLOT_SIZE: return h->slot_size;
	case FZ_STRIDE: return h->slot_stride;
	case FZ_SLOTS: return h->slots;
	default: return h->total_size;
	}
}

static void fz_write(struct shmring__hdr *h, int f, uint64_t v)
{
	switch (f) {
	case FZ_MAGIC: __atomic_store_n(&h->magic, v, __ATOMIC_RELAXED); break;
	case FZ_VERSION: __atomic_store_n(&h->version, (uint32_t)v, __ATOMIC_RELAXED); break;
	case FZ_KIND: __atomic_store_n(&h->kind, (uint32_t)v, __ATOMIC_RELAXED); break;
	case FZ_SLOT_SIZE: __atomic_store_n(&h->slot_size, (uint32_t)v, __ATOMIC_RELAXED); break;
	case FZ_STRIDE: __atomic_store_n(&h->slot_stride, (uint32_t)v, __ATOMIC_RELAXED); break;
	case FZ_SLOTS: __atomic_store_n(&h->slots, v, __ATOMIC_RELAXED); break;
	default: __atomic_store_n(&h->total_size, v, __ATOMIC_RELAXED); break;
	}
}

/* the stride of (kind, flags, slot_size): the overwrite layout's slot
 * header is 16 bytes, as MPMC's and broadcast's */
static uint64_t fz_stride(uint64_t kind, uint32_t flags, uint64_t slot_size)
{
	uint64_t off = kind == SHMRING_MPMC || kind == SHMRING_BROADCAST ||
	               (flags & SHMRING_OVERWRITE) ? 16 : 8;
	return (off + slot_size + 7) & ~UINT64_C(7);
}

/* a broadcast ring's size: the slots, rounded up to a 128-byte line, then
 * one 128-byte line per possible subscriber (layout.h), worked out here
 * independently of the library's shmring__data_size() */
static uint64_t fz_bcast_total(uint64_t slots, uint64_t stride)
{
	uint64_t end = SHMRING__HDR_SIZE + slots * stride;
	return ((end + 127) & ~UINT64_C(127)) + 64 * 128;
}

static void fz_hook(void)
{
	struct shmring__hdr *h = fz.h;
	if (!h)
		return;
	/* nothing else writes the object: these are the values open read */
	fz.kind = h->kind;
	fz.slot_size = h->slot_size;
	fz.slots = h->slots;
	if (fz.calls++)
		return;   /* the flips once per open */
	for (unsigned i = 0; i < fz.nflips; i++) {
		const uint8_t *q = fz.flips + 5 * i;
		int f = q[0] & 7;
		uint32_t v = (uint32_t)q[1] | (uint32_t)q[2] << 8 | (uint32_t)q[3] << 16 |
		             (uint32_t)q[4] << 24;
		static const uint64_t bad[] = {
			0, 1, 2, 3, UINT64_C(1) << 30, (UINT64_C(1) << 30) + 1, UINT64_C(1) << 31,
			UINT64_C(1) << 32, UINT64_C(1) << 62, UINT64_MAX, UINT32_MAX, 8192, 8200,
		};
		if (f == FZ_SET) {   /* a whole consistent set, fields in order */
			uint64_t kind = (v & 1) ? SHMRING_MPMC : SHMRING_SPSC;
			uint64_t ss = (v & 2) ? SHMRING_MAX_SLOT_SIZE : 1 + (v >> 2) % 256;
			uint64_t slots = (v & (1u << 12)) ? UINT64_C(1) << 30 : UINT64_C(2) << ((v >> 13) % 6);
			uint64_t st = fz_stride(kind, h->flags, ss);
			fz_write(h, FZ_KIND, kind);
			fz_write(h, FZ_SLOT_SIZE, ss);
			fz_write(h, FZ_STRIDE, st);
			fz_write(h, FZ_SLOTS, slots);
			fz_write(h, FZ_TOTAL, SHMRING__HDR_SIZE + slots * st);
			continue;
		}
		uint64_t val;
		switch ((q[0] >> 3) & 3) {
		case 0: val = v; break;
		case 1: val = UINT64_C(1) << (v % 64); break;
		case 2: val = fz_read(h, f) + (uint64_t)(int64_t)(int32_t)v; break;
		default: val = bad[v % (sizeof(bad) / sizeof(bad[0]))]; break;
		}
		fz_write(h, f, val);
	}
}

/* the handle holds what open read, and its sizes fit its mapping */
static void fz_check_bind(struct shmring *r, int flipped)
{
	struct shmring_info in;
	if (shmring_info(r, &in))
		__builtin_trap();
	if (in.kind != SHMRING_SPSC && in.kind != SHMRING_MPMC && in.kind != SHMRING_BROADCAST)
		__builtin_trap();
	uint64_t stride = fz_stride(in.kind, in.flags, in.slot_size);
	int bad = in.mem_size < SHMRING__HDR_SIZE;
	if (!bad && (in.flags & SHMRING_PACKED))
		bad = in.kind != SHMRING_SPSC || in.data_size > in.mem_size - SHMRING__HDR_SIZE ||
		      in.data_size < in.slots * in.slot_size || in.data_size < 8 + in.slot_size;
	else if (!bad)
		bad = in.slots > (in.mem_size - SHMRING__HDR_SIZE) / stride ||
		      (in.kind == SHMRING_BROADCAST && fz_bcast_total(in.slots, stride) > in.mem_size);
	if (bad) {
		fprintf(stderr, "fuzz_open: bound slots=%llu slot_size=%u kind=%u on a %llu-byte "
		        "mapping\n", (unsigned long long)in.slots, in.slot_size, in.kind,
		        (unsigned long long)in.mem_size);
		__builtin_trap();
	}
	if (flipped && (in.kind != fz.kind || in.slot_size != fz.slot_size || in.slots != fz.slots)) {
		fprintf(stderr, "fuzz_open: bound kind=%u slot_size=%u slots=%llu, open read "
		        "kind=%u slot_size=%u slots=%llu\n", in.kind, in.slot_size,
		        (unsigned long long)in.slots, fz.kind, fz.slot_size,
		        (unsigned long long)fz.slots);
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t flags = data[0];
	size_t extra = (size_t)data[1] | (size_t)data[2] << 8;
	data += 3;
	size -= 3;
	unsigned nflips = 0;
	const uint8_t *flips = NULL;
	if (flags & 0x20) {
		if (size < 1)
			return 0;
		nflips = data[0] % FZ_MAX_FLIPS;
		data++;
		size--;
		if (size < 5 * (size_t)nflips)
			nflips = (unsigned)(size / 5);
		flips = data;
		data += 5 * nflips;
		size -= 5 * nflips;
	}
	size_t obj = SHMRING__HDR_SIZE + extra;
	const char *name = fz_ring_name("open");

	shm_unlink(name);
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 0;
	if (ftruncate(fd, (off_t)obj) < 0) {
		close(fd);
		shm_unlink(name);
		return 0;
	}
	unsigned char *m = mmap(NULL, obj, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		shm_unlink(name);
		return 0;
	}
	memcpy(m, data, size < obj ? size : obj);
	struct shmring__hdr *h = (struct shmring__hdr *)m;
	if (flags & 0x40)
		h->flags = SHMRING_OVERWRITE;
	if (flags & 4) {
		h->kind = SHMRING_SPSC + h->kind % 3;   /* SPSC, MPMC, BROADCAST */
		h->slot_size = 1 + h->slot_size % 256;
		h->slots = UINT64_C(2) << (h->slots % 6);
		h->flags &= SHMRING__FLAGS_KNOWN & ~(SHMRING_PACKED | SHMRING_MLOCK);
		h->slot_stride = (uint32_t)fz_stride(h->kind, h->flags, h->slot_size);
		h->total_size = h->kind == SHMRING_BROADCAST
		                ? fz_bcast_total(h->slots, h->slot_stride)
		                : SHMRING__HDR_SIZE + h->slots * h->slot_stride;
		if (flags & 0x80) {
			h->kind = SHMRING_SPSC;
			h->flags = (h->flags & ~SHMRING_OVERWRITE) | SHMRING_PACKED;
			h->slot_stride = 0;
			h->total_size = SHMRING__HDR_SIZE + ((h->slots * h->slot_size + 7) & ~UINT64_C(7));
		}
		if (h->total_size > obj)
			h->total_size = obj;   /* still inconsistent unless it fits: fine */
	}
	if (flags & 2)
		h->version = SHMRING__LAYOUT_VERSION;
	if (flags & 1)
		h->magic = SHMRING__MAGIC;
	else if (h->magic == 0)
		h->magic = 1;

	/* our mapping stays: the hook writes through it while open runs */
	memset(&fz, 0, sizeof(fz));
	fz.h = h;
	fz.flips = flips;
	fz.nflips = nflips;
	struct shmring *r = NULL;
	int roles = (flags >> 3) & 3;
	shmring__test_hook_open = (flags & 0x20) ? fz_hook : NULL;
	int rc = shmring_open(name, roles, &r);
	shmring__test_hook_open = NULL;
	if (rc == 0) {
		static const uint8_t ops[] = { 0, 1, 2, 0x30, 3, 4, 5, 6, 0xf0, 2, 1, 7, 0 };
		fz_check_bind(r, (flags & 0x20) && fz.calls);
		fz_exercise(r, ops, sizeof(ops));
		shmring_close(r);
	}
	fz.h = NULL;
	munmap(m, obj);
	shm_unlink(name);
	return 0;
}
