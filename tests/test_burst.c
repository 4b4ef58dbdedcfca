/* SPDX-License-Identifier: MIT */
/* tests/test_burst.c - send_burst / recv_burst on both kinds */
#include <criterion/criterion.h>
#include "common.h"

static char name[64];
static struct shmring *ring;

static void setup_kind(unsigned kind)
{
	struct shmring_config cfg = { .kind = kind, .slot_size = 32, .slots = 16 };
	test_name(name, sizeof(name), "burst");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &ring), 0);
}
static void setup_spsc(void) { setup_kind(SHMRING_SPSC); }
static void setup_mpmc(void) { setup_kind(SHMRING_MPMC); }
static void teardown(void)
{
	shmring_close(ring);
	shmring_unlink(name);
}

static void bursts(void)
{
	char src[40][32], dst[40][32];
	struct iovec in[40], out[40];
	for (int i = 0; i < 40; i++) {
		snprintf(src[i], sizeof(src[i]), "message %d", i);
		in[i].iov_base = src[i];
		in[i].iov_len = strlen(src[i]);
	}
	for (int i = 0; i < 4; i++) {
		out[i].iov_base = NULL;
		out[i].iov_len = 8;
	}
	cr_assert_eq(shmring_recv_burst(ring, out, 4, 0), -EINVAL, "NULL buffers with lengths");
	for (int i = 0; i < 40; i++) {
		out[i].iov_base = dst[i];
		out[i].iov_len = sizeof(dst[i]);
	}
	cr_assert_eq(shmring_recv_burst(ring, out, 8, 0), -EAGAIN);
	/* as many as fit: 16 of 40 */
	cr_assert_eq(shmring_send_burst(ring, in, 40, 0), 16);
	cr_assert_eq(shmring_send_burst(ring, in, 1, 0), -EAGAIN);
	cr_assert_eq(shmring_send_burst(ring, in, 1, 10000000), -ETIMEDOUT);
	cr_assert_eq(shmring_recv_burst(ring, out, 10, 0), 10);
	cr_assert_eq(shmring_recv_burst(ring, out + 10, 30, 0), 6);
	for (int i = 0; i < 16; i++) {
		cr_assert_eq(out[i].iov_len, strlen(src[i]), "length of %d", i);
		cr_assert_eq(memcmp(dst[i], src[i], out[i].iov_len), 0);
	}
	/* a message too large stops the burst before it */
	char big[33] = { 0 };
	struct iovec mixed[3] = { { src[0], 5 }, { big, 33 }, { src[1], 5 } };
	cr_assert_eq(shmring_send_burst(ring, mixed, 3, 0), 1);
	cr_assert_eq(shmring_send_burst(ring, mixed + 1, 2, 0), -EMSGSIZE);
	/* a buffer too small stops the receive burst; first one: -EMSGSIZE */
	cr_assert_eq(shmring_send_burst(ring, in, 3, 0), 3);   /* 4 queued now */
	char small[4];
	struct iovec tiny[2] = { { small, 4 }, { dst[1], 32 } };
	cr_assert_eq(shmring_recv_burst(ring, tiny, 2, 0), -EMSGSIZE, "message stays");
	struct iovec two[2] = { { dst[0], 32 }, { small, 4 } };
	cr_assert_eq(shmring_recv_burst(ring, two, 2, 0), 1, "stops before the one that does not fit");
	cr_assert_eq(two[0].iov_len, 5);
	for (int i = 0; i < 3; i++) {
		out[i].iov_base = dst[i];
		out[i].iov_len = sizeof(dst[i]);
	}
	cr_assert_eq(shmring_recv_burst(ring, out, 8, 0), 3);
	cr_assert_eq(memcmp(dst[2], src[2], out[2].iov_len), 0);
	/* argument errors */
	cr_assert_eq(shmring_send_burst(ring, NULL, 1, 0), -EINVAL);
	cr_assert_eq(shmring_send_burst(ring, in, 0, 0), -EINVAL);
	cr_assert_eq(shmring_recv_burst(ring, NULL, 1, 0), -EINVAL);
	cr_assert_eq(shmring_recv_burst(ring, out, 0, 0), -EINVAL);
	/* end of stream */
	cr_assert_eq(shmring_send_burst(ring, in, 2, 0), 2);
	cr_assert_eq(shmring_shutdown(ring), 0);
	cr_assert_eq(shmring_send_burst(ring, in, 2, 0), -EPIPE);
	out[0].iov_len = out[1].iov_len = out[2].iov_len = 32;
	cr_assert_eq(shmring_recv_burst(ring, out, 3, -1), 2);
	cr_assert_eq(shmring_recv_burst(ring, out, 3, -1), -EPIPE);
}

Test(burst, spsc, .init = setup_spsc, .fini = teardown, .timeout = 10)
{
	bursts();
}

Test(burst, mpmc, .init = setup_mpmc, .fini = teardown, .timeout = 10)
{
	bursts();
}

Test(burst, one_publication_per_burst, .init = setup_spsc, .fini = teardown)
{
	char m[8][8];
	struct iovec in[8];
	for (int i = 0; i < 8; i++) {
		in[i].iov_base = m[i];
		in[i].iov_len = 8;
	}
	uint64_t before = ring->hdr->prod_idx;
	cr_assert_eq(shmring_send_burst(ring, in, 8, 0), 8);
	cr_assert_eq(ring->hdr->prod_idx, before + 8);
}
