/* SPDX-License-Identifier: MIT */
/*
 * transport_huge.c - does the page size matter for a big ring? shmring SPSC
 * send/recv (the shm-spsc loops) through a ring of about 64 MiB on a sealed
 * memfd, backed by huge pages (SHMRING_HUGEPAGES: MFD_HUGETLB, 2 MiB
 * pages) or by ordinary 4 KiB pages; nothing else differs (issue 13). Not
 * in the default selection: `make bench-full` names them
 * (--transports default,shm-64m*).
 *
 * Huge pages: when fewer are free than the ring needs and this process may
 * write /proc/sys/vm/nr_hugepages (root), setup raises the pool by what is
 * missing and teardown takes that many off again after the case (the old
 * value, unless another process changed the pool meanwhile: then its
 * change stands); otherwise the case is skipped, and the reason says why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <shmring.h>
#include "transport.h"
#include "transports.h"
#include "transports_shm.h"

#define BIG_RING (64u << 20)
#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

static long hp_added;      /* huge pages setup added to the pool (0: none) */

/* a "Key:   value" line of /proc/meminfo; -1 when missing */
static long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long v = -1;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0) {
			v = strtol(line + kl, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/* 0, or an errno */
static int write_nr(long v)
{
	FILE *f = fopen(NR_HUGEPAGES, "w");
	if (!f)
		return errno;
	int bad = fprintf(f, "%ld\n", v) < 0;
	bad |= fclose(f) != 0;
	return bad ? (errno ? errno : EIO) : 0;
}

static long read_nr(void)
{
	FILE *f = fopen(NR_HUGEPAGES, "r");
	long v = -1;
	if (!f || fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

/* take off what setup added (pages still mapped become surplus and go when
 * they are released) */
static void hp_restore(void)
{
	if (!hp_added)
		return;
	long now = read_nr(), v = now - hp_added;
	int e = now < 0 ? ENOENT : write_nr(v < 0 ? 0 : v);
	if (e)
		fprintf(stderr, "ipc_bench: could not take %ld pages off %s: %s\n", hp_added,
		        NR_HUGEPAGES, strerror(e));
	hp_added = 0;
}

/* enough free huge pages for a ring of cfg: 0, > 0 skip (c->name says why) */
static int hp_reserve(struct bctx *c, const struct shmring_config *cfg)
{
	/* the object's size from the library itself: a sparse probe ring */
	struct shmring_config probe = *cfg;
	struct shmring_info in;
	struct shmring *r;
	probe.flags = 0;
	if (shmring_create_memfd(&probe, 0, &r) != 0)
		return snprintf(c->name, sizeof(c->name), "probe ring refused"), 1;
	int rc = shmring_info(r, &in);
	shmring_close(r);
	long hp_kb = meminfo("Hugepagesize:"), free_pages = meminfo("HugePages_Free:");
	if (rc || hp_kb <= 0 || free_pages < 0)
		return snprintf(c->name, sizeof(c->name), "no huge page support"), 1;
	long need = (long)((in.mem_size + (uint64_t)hp_kb * 1024 - 1) / ((uint64_t)hp_kb * 1024));
	if (free_pages >= need)
		return 0;
	long old = read_nr();
	int e = old < 0 ? ENOENT : write_nr(old + need - free_pages);
	if (e) {
		if (old >= 0)
			write_nr(old);
		snprintf(c->name, sizeof(c->name), "%ld huge pages free, %ld needed; %s: %s",
		         free_pages, need, NR_HUGEPAGES, strerror(e));
		return 1;
	}
	hp_added = need - free_pages;
	long got = meminfo("HugePages_Free:");
	if (got < need) {
		hp_restore();
		snprintf(c->name, sizeof(c->name), "asked the kernel for %ld huge pages, %ld free",
		         need, got);
		return 1;
	}
	return 0;
}

static int big_setup(struct bctx *c, unsigned flags)
{
	/* about 64 MiB of slots (64-72 MiB: a power of two of them) */
	uint64_t per = c->size + 8, slots = 16;
	while (slots * 2 * per <= BIG_RING + BIG_RING / 8)
		slots <<= 1;
	c->slots = slots;
	struct shmring_config cfg = {
		.kind = SHMRING_SPSC, .slot_size = (uint32_t)c->size, .slots = slots,
		.mode = 0600, .flags = SHMRING_PREFAULT | flags,
	};
	if ((flags & SHMRING_HUGEPAGES) && hp_reserve(c, &cfg))
		return 1;
	struct shmring *r;
	int rc = shmring_create_memfd(&cfg, 0, &r);
	if (rc) {
		hp_restore();
		if ((flags & SHMRING_HUGEPAGES) && rc == -ENOMEM) {
			snprintf(c->name, sizeof(c->name), "huge-page memfd: %s", shmring_strerror(rc));
			return 1;
		}
		fprintf(stderr, "ipc_bench: shmring_create_memfd: %s\n", shmring_strerror(rc));
		return -1;
	}
	/* the children attach through this descriptor (shm_attach) */
	c->fd[0] = dup(shmring_fd(r));
	shmring_close(r);
	if (c->fd[0] < 0) {
		hp_restore();
		perror("ipc_bench: dup");
		return -1;
	}
	return 0;
}

static int big_setup_small(struct bctx *c, int latency)
{
	(void)latency;
	return big_setup(c, 0);
}

static int big_setup_huge(struct bctx *c, int latency)
{
	(void)latency;
	return big_setup(c, SHMRING_HUGEPAGES);
}

/* after the children exited: the memfd is gone (start_and_wait closed our
 * copy), so the huge pages are free again before the pool shrinks */
static void big_teardown(struct bctx *c)
{
	for (int i = 0; i < MAX_FDS; i++)
		if (c->fd[i] >= 0) {
			close(c->fd[i]);
			c->fd[i] = -1;
		}
	hp_restore();
}

const struct transport t_shm_64m = {
	.name = "shm-64m",
	.what = "shmring SPSC send/recv, ~64 MiB memfd ring, 4 KiB pages (compare shm-64m-huge)",
	.kinds = TK_STREAM, .nprod = 1, .ncons = 1, .extra = 1,
	.setup = big_setup_small, .teardown = big_teardown,
	.producer = shm_stream_producer, .consumer = shm_stream_consumer, .spin_ns = INT64_MIN,
};

const struct transport t_shm_64m_huge = {
	.name = "shm-64m-huge",
	.what = "shmring SPSC send/recv, ~64 MiB memfd ring, SHMRING_HUGEPAGES (2 MiB pages)",
	.kinds = TK_STREAM, .nprod = 1, .ncons = 1, .extra = 1,
	.setup = big_setup_huge, .teardown = big_teardown,
	.producer = shm_stream_producer, .consumer = shm_stream_consumer, .spin_ns = INT64_MIN,
};
