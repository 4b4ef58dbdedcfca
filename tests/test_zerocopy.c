/* SPDX-License-Identifier: MIT */
/* tests/test_zerocopy.c - reserve/commit and acquire/release on both kinds */
#include <criterion/criterion.h>
#include "common.h"

static char name[64];
static struct shmring *ring;

static void setup_kind(unsigned kind)
{
	struct shmring_config cfg = { .kind = kind, .slot_size = 48, .slots = 4 };
	test_name(name, sizeof(name), "zc");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &ring), 0);
}
static void setup_spsc(void) { setup_kind(SHMRING_SPSC); }
static void setup_mpmc(void) { setup_kind(SHMRING_MPMC); }
static void teardown(void)
{
	shmring_close(ring);
	shmring_unlink(name);
}

static void zero_copy(void)
{
	struct shmring_slot w, w2, rd, rd2;
	char buf[64];

	cr_assert_eq(shmring_acquire(ring, &rd, 0), -EAGAIN);
	cr_assert_eq(shmring_reserve(ring, &w, 0), 0);
	cr_assert_not_null(w.data);
	cr_assert_eq(w.len, 48, "reserve offers slot_size bytes");
	cr_assert_eq(shmring_reserve(ring, &w2, 0), -EBUSY, "one reservation at a time");
	cr_assert_eq(shmring_send(ring, "x", 1, 0), -EINVAL, "send while reserved");
	memcpy(w.data, "in place", 8);
	cr_assert_eq(shmring_commit(ring, &w, 49), -EMSGSIZE);
	cr_assert_eq(shmring_commit(ring, &w, 8), 0);
	cr_assert_eq(shmring_commit(ring, &w, 8), -EINVAL, "committed twice");

	cr_assert_eq(shmring_acquire(ring, &rd, 0), 0);
	cr_assert_eq(rd.len, 8);
	cr_assert_eq(memcmp(rd.data, "in place", 8), 0);
	cr_assert_eq(shmring_acquire(ring, &rd2, 0), -EBUSY);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EINVAL, "recv while acquired");
	struct shmring_slot fake = rd;
	fake.pos += 1;
	cr_assert_eq(shmring_release(ring, &fake), -EINVAL, "not the slot handed out");
	cr_assert_eq(shmring_release(ring, &rd), 0);
	cr_assert_eq(shmring_release(ring, &rd), -EINVAL, "released twice");

	/* mixing zero-copy and copying calls keeps FIFO order */
	cr_assert_eq(shmring_send(ring, "A", 1, 0), 0);
	cr_assert_eq(shmring_reserve(ring, &w, 0), 0);
	memcpy(w.data, "B", 1);
	cr_assert_eq(shmring_commit(ring, &w, 1), 0);
	cr_assert_eq(shmring_send(ring, "C", 1, 0), 0);
	cr_assert_eq(shmring_acquire(ring, &rd, 0), 0);
	cr_assert_eq(((char *)rd.data)[0], 'A');
	cr_assert_eq(shmring_release(ring, &rd), 0);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 1);
	cr_assert_eq(buf[0], 'B');
	cr_assert_eq(shmring_acquire(ring, &rd, 0), 0);
	cr_assert_eq(((char *)rd.data)[0], 'C');
	cr_assert_eq(shmring_release(ring, &rd), 0);

	/* full: reserve waits, then times out */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(shmring_send(ring, &i, 1, 0), 0);
	cr_assert_eq(shmring_reserve(ring, &w, 0), -EAGAIN);
	cr_assert_eq(shmring_reserve(ring, &w, 10000000), -ETIMEDOUT);
	/* argument errors */
	cr_assert_eq(shmring_reserve(ring, NULL, 0), -EINVAL);
	cr_assert_eq(shmring_acquire(ring, NULL, 0), -EINVAL);
	cr_assert_eq(shmring_commit(ring, NULL, 0), -EINVAL);
	cr_assert_eq(shmring_release(ring, NULL), -EINVAL);
}

Test(zerocopy, spsc, .init = setup_spsc, .fini = teardown, .timeout = 10)
{
	zero_copy();
}

Test(zerocopy, mpmc, .init = setup_mpmc, .fini = teardown, .timeout = 10)
{
	zero_copy();
}

Test(zerocopy, roles_enforced, .timeout = 10)
{
	char n[64];
	struct shmring *c, *p;
	struct shmring_slot s;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "zcroles");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_reserve(c, &s, 0), -EINVAL);
	cr_assert_eq(shmring_acquire(p, &s, 0), -EINVAL);
	cr_assert_eq(shmring_reserve(p, &s, 0), 0);
	cr_assert_eq(shmring_commit(c, &s, 1), -EINVAL);
	cr_assert_eq(shmring_commit(p, &s, 1), 0);
	cr_assert_eq(shmring_acquire(c, &s, 0), 0);
	cr_assert_eq(shmring_release(p, &s), -EINVAL);
	cr_assert_eq(shmring_release(c, &s), 0);
	shmring_close(p);
	shmring_close(c);
	shmring_unlink(n);
}
