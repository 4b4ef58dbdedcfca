/* SPDX-License-Identifier: MIT */
/* fuzz_common.h - helpers shared by the libFuzzer targets */
#ifndef SHMRING_FUZZ_COMMON_H
#define SHMRING_FUZZ_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <shmring.h>

static char fz_name[64];

static const char *fz_ring_name(const char *what)
{
	if (!fz_name[0])
		snprintf(fz_name, sizeof(fz_name), "/shmring-fuzz-%s-%d", what, (int)getpid());
	return fz_name;
}

/* run every consumer/producer call once with timeout 0; results are only
 * checked for the contract (lengths within the buffers) */
static void fz_exercise(struct shmring *r, const uint8_t *ops, size_t nops)
{
	unsigned char buf[256 + 64];
	struct iovec iov[4];
	struct shmring_slot s;
	struct shmring_info info;
	struct shmring_stats st;

	shmring_info(r, &info);
	shmring_stats(r, &st);
	for (size_t i = 0; i < nops; i++) {
		size_t cap = (ops[i] >> 4) * 16 + 1;   /* 1 .. 241 */
		ssize_t n;
		int rc;
		switch (ops[i] & 7) {
		case 0:
			n = shmring_recv(r, buf, cap, 0);
			if (n > (ssize_t)cap)
				__builtin_trap();
			break;
		case 1:
			for (int k = 0; k < 4; k++) {
				iov[k].iov_base = buf + k * 64;
				iov[k].iov_len = 64;
			}
			rc = shmring_recv_burst(r, iov, 4, 0);
			for (int k = 0; k < rc; k++)
				if (iov[k].iov_len > 64)
					__builtin_trap();
			break;
		case 2:
			if (shmring_acquire(r, &s, 0) == 0) {
				volatile unsigned char sink = 0;
				for (size_t k = 0; k < s.len; k++)
					sink ^= ((unsigned char *)s.data)[k];
				(void)sink;
				shmring_release(r, &s);
			}
			break;
		case 3:
			memset(buf, (int)i, cap);
			shmring_send(r, buf, cap, 0);
			break;
		case 4:
			for (int k = 0; k < 4; k++) {
				iov[k].iov_base = buf;
				iov[k].iov_len = cap / (size_t)(k + 1);
			}
			shmring_send_burst(r, iov, 4, 0);
			break;
		case 5:
			if (shmring_reserve(r, &s, 0) == 0) {
				memset(s.data, 0x5a, s.len);
				shmring_commit(r, &s, cap < s.len ? cap : s.len);
			}
			break;
		case 6:
			shmring_info(r, &info);
			break;
		default:
			shmring_shutdown(r);
			break;
		}
	}
}

#endif
