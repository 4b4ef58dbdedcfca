/* SPDX-License-Identifier: MIT */
/*
 * stress_msg.c - the message format of every stress run, shared with
 * hostile.c: a 24-byte header (producer id, length, sequence, checksum)
 * followed by a payload derived from (id, sequence), of random length from
 * ST_MSG_MIN to the slot size.
 */
#include <string.h>
#include "stress.h"

struct st_msg_hdr {
	uint32_t prod;
	uint32_t len;    /* whole message, header included */
	uint64_t seq;
	uint64_t sum;
};

static uint64_t msg_sum(uint32_t prod, uint32_t len, uint64_t seq, const unsigned char *p, size_t n)
{
	uint64_t h = st_mix(((uint64_t)prod << 32 | len) ^ st_mix(seq));
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * UINT64_C(0x100000001b3) + (h >> 29);
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

size_t st_msg_build(void *dst, size_t cap, uint32_t prod, uint64_t seq, uint64_t rnd)
{
	struct st_msg_hdr h;
	size_t len = ST_MSG_MIN + (size_t)(rnd % (cap - ST_MSG_MIN + 1));
	unsigned char *p = (unsigned char *)dst + sizeof(h);
	size_t n = len - sizeof(h);
	uint64_t x = st_mix(seq * 31 + prod);

	for (size_t i = 0; i < n; i += 8) {
		x = st_mix(x);
		memcpy(p + i, &x, n - i < 8 ? n - i : 8);
	}
	h.prod = prod;
	h.len = (uint32_t)len;
	h.seq = seq;
	h.sum = msg_sum(prod, (uint32_t)len, seq, p, n);
	memcpy(dst, &h, sizeof(h));
	return len;
}

int st_msg_check(const void *buf, size_t len, uint32_t *prod, uint64_t *seq)
{
	struct st_msg_hdr h;
	if (len < sizeof(h))
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (h.len != len)
		return -1;
	if (msg_sum(h.prod, h.len, h.seq, (const unsigned char *)buf + sizeof(h),
	            len - sizeof(h)) != h.sum)
		return -1;
	*prod = h.prod;
	*seq = h.seq;
	return 0;
}
