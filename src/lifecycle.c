/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.c - a ring's life on an open descriptor, wherever the object
 * lives (place.c opens it: a POSIX shm name, a file path, a memfd, a
 * descriptor received from elsewhere): make a new ring on it, open an
 * existing one, map it, bind the handle from validated sizes, attach the
 * roles, close.
 *
 * Creation is atomic to observers: the place is created exclusively,
 * sized, initialised, and the magic is published last with release order.
 * An opener that finds the object too small or without magic retries for a
 * short while (the creator may be between ftruncate and the magic store),
 * then fails with -EPROTO.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "private.h"

#define OPEN_RETRY_NS   200000000   /* wait this long for a creator to finish */
#define OPEN_RETRY_STEP 1000000

static struct shmring *handle_new(const struct shmring__place *where)
{
	struct shmring__handle *h = aligned_alloc(128, (sizeof(*h) + 127) & ~(size_t)127);
	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	struct shmring *r = &h->pub;
	priv(r)->fd = -1;
	priv(r)->lock_fd = -1;
	priv(r)->prod_entry = priv(r)->cons_entry = -1;
	if (where->name)
		strncpy(priv(r)->name, where->name, sizeof(priv(r)->name) - 1);
	if (where->path && !(priv(r)->path = strdup(where->path))) {
		free(h);
		return NULL;
	}
	return r;
}

/* fill the handle's local copies from a validated identity (the creator's
 * config, or the copy check_header() made): never from shared memory */
static void handle_bind(struct shmring *r, void *map, size_t map_size,
                        const struct shmring__ident *id)
{
	r->hdr = map;
	priv(r)->map_size = map_size;
	r->kind = shmring__engine_kind(id->kind, id->flags);   /* a private kind
	                                                        * picks its engine */
	r->slot_size = id->slot_size;
	priv(r)->flags = id->flags;
	priv(r)->nslots = id->slots;
	r->mask = priv(r)->nslots - 1;
	r->lap_shift = (unsigned)__builtin_ctzll(priv(r)->nslots);
	r->stride = shmring__stride(r->kind, r->slot_size);   /* packed: 0, no slots */
	if (r->stride) {
		/* ~8 KiB of slots between a producer that found the ring full
		 * and its consumer, at most a quarter of the ring (spsc.c;
		 * docs/benchmarks.md: 8 KiB instead of 2 KiB took 256 B
		 * streams 1.16x faster, 9 reps, other sizes within noise) */
		uint64_t batch = (8192 + r->stride - 1) / r->stride, quarter = priv(r)->nslots / 4;
		priv(r)->space_batch = batch < quarter ? batch : quarter ? quarter : 1;
	}
	priv(r)->payload_off = shmring__payload_off(r->kind);
	if (r->kind == SHMRING__KIND_PACKED)
		priv(r)->pk.size = id->total - SHMRING__HDR_SIZE;   /* the record area */
	r->slots0 = (unsigned char *)map + SHMRING__HDR_SIZE;
	if (r->kind == SHMRING_BROADCAST)   /* the subscriber lines (layout.h) */
		priv(r)->bc.subs = (struct shmring__bcast_sub *)(void *)((unsigned char *)map +
		                   shmring__bcast_lines_off(r->stride, priv(r)->nslots));
	priv(r)->spin_ns = SHMRING_DEFAULT_SPIN_NS;
	priv(r)->spin_auto = 1;
	priv(r)->self_id = shmring__self_id();
	r->fence_free = shmring__fence_free_init();
}

/* local positions from the shared indices, once, at attach */
static int handle_start(struct shmring *r)
{
	struct shmring__hdr *h = r->hdr;
	/* acquire: pairs with the releases of a previous holder (P1/C2) */
	uint64_t prod = shmring__load_acquire64(&h->prod_idx);
	uint64_t cons = shmring__load_acquire64(&h->cons_idx);

	uint64_t n = priv(r)->nslots;

	/* packed: byte positions, the engine's own fields (packed.c) */
	if (r->kind == SHMRING__KIND_PACKED) {
		int rc = shmring__packed_start(r, prod, cons);
		return priv(r)->roles ? rc : 0;   /* an observer may still look */
	}
	/* broadcast: the producer resumes, a subscriber joins (broadcast.c);
	 * cons_idx means nothing there */
	if (r->kind == SHMRING_BROADCAST) {
		shmring__broadcast_start(r);
		shmring__refresh_fast(r);
		return 0;
	}
	/* SPSC: one index lies at most a ring ahead of the other (cons may be
	 * ahead of prod when a producer died between a seal and its index) */
	if (priv(r)->roles && r->kind == SHMRING_SPSC && prod - cons > n && cons - prod > n)
		return -EPROTO;   /* indices corrupt: refuse rather than guess (an
		                   * observer may still look, e.g. shmring info) */
	/* overwrite-oldest: the producer may be any distance ahead (what it
	 * overwrote counts as overruns), never behind */
	if (priv(r)->roles && r->kind == SHMRING__KIND_OVERWRITE && prod - cons > (uint64_t)INT64_MAX)
		return -EPROTO;
	r->p.pos = prod;
	if ((priv(r)->roles & SHMRING_PRODUCER) && r->kind == SHMRING_SPSC) {
		r->p.pos = shmring__spsc_resume(r, prod, cons);
		if (r->p.pos != prod)
			/* P1i: release: the index covers the seals we stepped
			 * over (tools then show a settled count); pairs with C1i */
			shmring__store_release64(&h->prod_idx, r->p.pos);
	}
	r->p.limit = cons + n;
	r->c.pos = cons;
	priv(r)->ow_avail = prod;   /* overwrite.c's cached prod_idx */
	shmring__refresh_fast(r);
	return 0;
}

static int attach(struct shmring *r, int roles)
{
	if (roles && priv(r)->lock_fd < 0) {
		int lrc = shmring__open_lock_fd(r);
		if (lrc)
			return lrc;
	}
	int rc = shmring__attach_roles(r, roles);
	if (rc)
		return rc;
	shmring__stream_attached(r);
	priv(r)->roles = roles;
	/* our positions, read once we hold our roles (a dead holder we took
	 * over can no longer move them) */
	rc = handle_start(r);
	if (rc) {
		shmring__detach_roles(r);
		priv(r)->roles = 0;
	}
	return rc;
}

/* SHMRING_MLOCK (a flag of the ring, read once at open): every attaching
 * process locks its mapping, so that no page of the ring is ever paged out;
 * -ENOMEM or -EPERM when the kernel refuses (RLIMIT_MEMLOCK) */
static int lock_in_memory(struct shmring *r)
{
	if (!(priv(r)->flags & SHMRING_MLOCK))
		return 0;
	if (mlock(r->hdr, priv(r)->map_size) < 0)
		return errno == EAGAIN ? -ENOMEM : -errno;
	return 0;
}

static void handle_free(struct shmring *r)
{
	shmring__close_lock_fd(r);   /* drops our registry locks, if any are left */
	shmring__untrack(r);
	if (r->hdr)
		munmap(r->hdr, priv(r)->map_size);
	if (priv(r)->fd >= 0)
		close(priv(r)->fd);
	free(priv(r)->path);
	free(r);
}

/*
 * Make a new ring on fd, an object just created exclusively at `where`
 * (nobody else has it yet), already sized to `size` bytes (>= the ring's
 * total; a huge-page object is rounded up). On success the handle owns
 * fd; on failure the caller still does (it may have to remove the place).
 */
int shmring__make_ring(int fd, const struct shmring__place *where, off_t size,
                       const struct shmring_config *cfg, int roles, struct shmring **out)
{
	unsigned engine = shmring__engine_kind(cfg->kind, cfg->flags);
	uint32_t stride = shmring__stride(engine, cfg->slot_size);   /* packed: 0 */
	uint64_t total = SHMRING__HDR_SIZE + shmring__data_size(engine, cfg->slot_size, cfg->slots);
	struct shmring *r = handle_new(where);
	int rc;

	if (!r)
		return -ENOMEM;
	shmring__track(r);
	/* reserve the memory now: a full /dev/shm (or no huge page left) is an
	 * error here rather than SIGBUS at some later page fault (filesystems
	 * without fallocate skip this) */
	rc = posix_fallocate(fd, 0, size);
	if (rc == ENOSPC || rc == EFBIG || rc == ENOMEM) {
		rc = (cfg->flags & SHMRING_HUGEPAGES) ? -ENOMEM : -ENOSPC;
		goto fail;
	}
	int mflags = MAP_SHARED | ((cfg->flags & SHMRING_PREFAULT) ? MAP_POPULATE : 0);
	void *map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, mflags, fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	struct shmring__hdr *h = map;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	/* the object is ours alone until the magic is published */
	h->version = SHMRING__LAYOUT_VERSION;
	h->kind = cfg->kind;
	h->slot_size = cfg->slot_size;
	h->slot_stride = stride;
	h->slots = cfg->slots;
	h->total_size = total;
	h->flags = cfg->flags;
	h->creator_pid = (uint32_t)getpid();
	h->created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	/* bound from our own config, not read back from shared memory: the
	 * object is visible from its creation on, and a peer with access
	 * could already be rewriting it */
	struct shmring__ident id = { .kind = cfg->kind, .slot_size = cfg->slot_size,
	                             .slots = cfg->slots, .total = total, .flags = cfg->flags };
	priv(r)->fd = fd;
	handle_bind(r, map, (size_t)size, &id);
	if (r->kind == SHMRING_MPMC)
		shmring__mpmc_init_slots(r);
	/* M1: release: every field above before the magic; pairs with M2 */
	shmring__store_release64(&h->magic, SHMRING__MAGIC);

	if ((rc = lock_in_memory(r)) == 0 && (rc = attach(r, roles)) == 0) {
		*out = r;
		return 0;
	}
	priv(r)->fd = -1;   /* the caller's again */
fail:
	handle_free(r);
	return rc;
}

static void pause_ns(long ns)
{
	struct timespec ts = { 0, ns };
	nanosleep(&ts, NULL);
}

/* changed in the last two seconds: possibly a creator still at work; an
 * older object without magic is not going to get one (no waiting) */
static int fresh(const struct stat *st)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec - st->st_ctim.tv_sec < 2;
}

/*
 * Open the ring on fd (found at `where`; readonly: mapped PROT_READ, for
 * an observer that may not write). The handle owns fd from here on, on
 * failure too (it is closed).
 */
int shmring__open_ring(int fd, int readonly, const struct shmring__place *where, int roles,
                       struct shmring **out)
{
	int rc;
	struct shmring *r = handle_new(where);
	if (!r) {
		close(fd);
		return -ENOMEM;
	}
	shmring__track(r);
	priv(r)->fd = fd;
	priv(r)->readonly = readonly;
	struct shmring__ident id;

	int64_t give_up = shmring__now_ns() + OPEN_RETRY_NS;
	void *map = MAP_FAILED;
	size_t map_size = 0;
	for (;;) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			rc = -errno;
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			rc = -EPROTO;
			goto fail;
		}
		rc = -EPROTO;
		if ((uint64_t)st.st_size >= SHMRING__HDR_SIZE) {
			map_size = (size_t)st.st_size;
			map = mmap(NULL, map_size, readonly ? PROT_READ : PROT_READ | PROT_WRITE,
			           MAP_SHARED, fd, 0);
			if (map == MAP_FAILED) {
				rc = -errno;
				goto fail;
			}
			/* M2: acquire: the creator's fields are visible; pairs with M1 */
			uint64_t magic = shmring__load_acquire64(&((struct shmring__hdr *)map)->magic);
			if (magic == SHMRING__MAGIC) {
				rc = shmring__check_header(map, (uint64_t)st.st_size, &id);
				break;
			}
			munmap(map, map_size);
			map = MAP_FAILED;
			if (magic != 0)
				goto fail;   /* something else lives here: -EPROTO */
		}
		if (shmring__now_ns() >= give_up || !fresh(&st))
			goto fail;       /* empty, too small, or never finished */
		pause_ns(OPEN_RETRY_STEP);
	}
	if (rc) {
		munmap(map, map_size);
		goto fail;
	}
	handle_bind(r, map, map_size, &id);
	if (readonly) {
		*out = r;
		return 0;
	}
	if ((rc = lock_in_memory(r)) || (rc = attach(r, roles)))
		goto fail;
	*out = r;
	return 0;

fail:
	handle_free(r);   /* closes fd */
	return rc;
}

void shmring_close(struct shmring *r)
{
	if (!r)
		return;
	shmring__event_stop(r);   /* its thread may be using the handle */
	if (!priv(r)->readonly && !priv(r)->forked && r->hdr) {
		shmring__flush_bytes(r);
		int had_prod = priv(r)->prod_entry >= 0, had_cons = priv(r)->cons_entry >= 0;
		if (had_cons && r->kind == SHMRING_BROADCAST)
			shmring__broadcast_leave(r);   /* before the entry is free */
		shmring__detach_roles(r);
		/* our departure may end someone's wait: let sleepers re-check */
		if (had_prod)
			shmring__notify(r, SHMRING__DIR_DATA);
		if (had_cons)
			shmring__notify(r, SHMRING__DIR_SPACE);
	}
	handle_free(r);
}
