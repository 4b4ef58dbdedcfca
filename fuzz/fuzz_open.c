/* SPDX-License-Identifier: MIT */
/*
 * fuzz_open.c - arbitrary object contents and sizes under shmring_open().
 *
 * Input: byte 0 = flags, bytes 1-2 = object size beyond the header, then the
 * object's bytes from offset 0. Flags help the fuzzer past the checks it
 * cannot guess (it still mutates everything after them):
 *   bit 0  write the right magic      bit 1  the right layout version
 *   bit 2  make sizes consistent (kind, slot_size, slots, stride, total)
 *   bits 3-4 roles for open           bits 5-7 unused
 * A zero magic is made non-zero (a zero magic makes open wait 200 ms for a
 * creator; the Criterion suite covers that case). Objects are never smaller
 * than the header for the same reason (also covered there).
 * After a successful open: info, stats, then recv, recv_burst,
 * acquire/release, send, burst, reserve/commit with timeout 0.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t flags = data[0];
	size_t extra = (size_t)data[1] | (size_t)data[2] << 8;
	data += 3;
	size -= 3;
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
	if (flags & 4) {
		h->kind = (h->kind & 1) ? SHMRING_MPMC : SHMRING_SPSC;
		h->slot_size = 1 + h->slot_size % 256;
		h->slots = UINT64_C(2) << (h->slots % 6);
		h->slot_stride = (uint32_t)(((h->kind == SHMRING_MPMC ? 16u : 8u) + h->slot_size + 7) & ~7u);
		h->total_size = SHMRING__HDR_SIZE + h->slots * h->slot_stride;
		if (h->total_size > obj)
			h->total_size = obj;   /* still inconsistent unless it fits: fine */
	}
	if (flags & 2)
		h->version = SHMRING__LAYOUT_VERSION;
	if (flags & 1)
		h->magic = SHMRING__MAGIC;
	else if (h->magic == 0)
		h->magic = 1;
	munmap(m, obj);

	struct shmring *r = NULL;
	int roles = (flags >> 3) & 3;
	if (shmring_open(name, roles, &r) == 0) {
		static const uint8_t ops[] = { 0, 1, 2, 0x30, 3, 4, 5, 6, 0xf0, 2, 1, 7, 0 };
		fz_exercise(r, ops, sizeof(ops));
		shmring_close(r);
	}
	shm_unlink(name);
	return 0;
}
