/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ring.c - a valid live ring whose header and slots are then overlaid
 * with fuzzer bytes, as a hostile peer would; the honest handles keep
 * calling recv, recv_burst, acquire/release, send, send_burst,
 * reserve/commit with timeout 0.
 *
 * Input: byte 0 bit 0 = kind (SPSC/MPMC), bit 1 = SHMRING_OVERWRITE (with
 * SPSC: the overwrite-oldest layout, whose slots carry a sequence word),
 * bit 2 alone (bits 0-2 = 4) = packed (SPSC with SHMRING_PACKED: the overlay
 * then covers its record area), bit 3 = broadcast (SHMRING_BROADCAST, with
 * bit 1 its overwrite form; the overlay then covers the slots and the
 * subscriber lines after them), bytes 1-8 = the operations
 * (low 3 bits: which call, high 4 bits: buffer size), byte 9 = number of
 * header patches (mod 16), each 10 bytes (u16 offset, u64 value, written
 * at the 8-byte-aligned offset in the header), then bytes copied over the
 * slot array from its start. Operations run before (warm-up sends) and
 * after the overlay.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 10)
		return 0;
	const char *name = fz_ring_name("ring");
	struct shmring_config cfg = {
		.kind = (data[0] & 1) ? SHMRING_MPMC : SHMRING_SPSC, .slot_size = 64, .slots = 8,
		.flags = (data[0] & 3) == 2 ? SHMRING_OVERWRITE : 0,
	};
	if ((data[0] & 7) == 4)
		cfg.flags = SHMRING_PACKED;   /* SPSC (bit 0 clear), not overwrite */
	if (data[0] & 8) {
		cfg.kind = SHMRING_BROADCAST;
		cfg.flags = (data[0] & 2) ? SHMRING_OVERWRITE : 0;
	}
	struct shmring *p = NULL, *c = NULL;

	shm_unlink(name);
	if (shmring_create(name, &cfg, SHMRING_PRODUCER, &p))
		return 0;
	if (shmring_open(name, SHMRING_CONSUMER, &c)) {
		shmring_close(p);
		shmring_unlink(name);
		return 0;
	}
	/* some traffic first, so indices and slots hold real state */
	static const uint8_t warm[] = { 3, 0x53, 4, 3 };
	fz_exercise(p, warm, sizeof(warm));
	static const uint8_t warm_c[] = { 0xf0 };
	fz_exercise(c, warm_c, sizeof(warm_c));

	const uint8_t *ops = data + 1;
	unsigned npatch = data[9] % 16;
	const uint8_t *q = data + 10, *end = data + size;
	unsigned char *hdr = (unsigned char *)p->hdr;
	for (unsigned i = 0; i < npatch && end - q >= 10; i++, q += 10) {
		uint16_t off;
		uint64_t v;
		memcpy(&off, q, 2);
		memcpy(&v, q + 2, 8);
		off = (uint16_t)((off % SHMRING__HDR_SIZE) & ~7u);
		memcpy(hdr + off, &v, 8);
	}
	struct shmring_info in;
	if (shmring_info(p, &in))
		__builtin_trap();
	size_t slots_bytes = (size_t)in.data_size;   /* the slots, or the record area */
	if (cfg.kind == SHMRING_BROADCAST)   /* the slots, then the subscriber lines */
		slots_bytes = (size_t)(in.mem_size - SHMRING__HDR_SIZE);
	size_t n = (size_t)(end - q);
	memcpy(p->slots0, q, n < slots_bytes ? n : slots_bytes);

	fz_exercise(c, ops, 4);
	fz_exercise(p, ops + 4, 2);
	fz_exercise(c, ops + 6, 2);
	if (cfg.kind == SHMRING_BROADCAST) {   /* the lines as a tool shows them */
		struct shmring_subscriber si[SHMRING_MAX_PEERS];
		int k = shmring_subscriber_info(p, si, SHMRING_MAX_PEERS);
		if (k < 0 || k > SHMRING_MAX_PEERS)
			__builtin_trap();
		for (int i = 0; i < k; i++)
			if (si[i].lag > cfg.slots || si[i].index >= SHMRING_MAX_PEERS)
				__builtin_trap();
	}

	shmring_close(c);
	shmring_close(p);
	shmring_unlink(name);
	return 0;
}
