/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.c - create, open, close, unlink; mapping and attaching.
 *
 * Creation is atomic to observers: O_CREAT|O_EXCL, size, initialise, and
 * publish the magic last with release order. An opener that finds the
 * object too small or without magic retries for a short while (the creator
 * may be between ftruncate and the magic store), then fails with -EPROTO.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "private.h"

#define OPEN_RETRY_NS   200000000   /* wait this long for a creator to finish */
#define OPEN_RETRY_STEP 1000000

static struct shmring *handle_new(const char *name)
{
	struct shmring__handle *h = aligned_alloc(128, (sizeof(*h) + 127) & ~(size_t)127);
	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	struct shmring *r = &h->pub;
	priv(r)->fd = -1;
	priv(r)->lock_fd = -1;
	priv(r)->prod_entry = priv(r)->cons_entry = -1;
	if (name)
		strncpy(priv(r)->name, name, sizeof(priv(r)->name) - 1);
	return r;
}

/* fill the handle's local copies from a validated identity (the creator's
 * config, or the copy check_header() made): never from shared memory */
static void handle_bind(struct shmring *r, void *map, size_t map_size,
                        const struct shmring__ident *id)
{
	r->hdr = map;
	priv(r)->map_size = map_size;
	r->kind = id->kind;
	r->slot_size = id->slot_size;
	priv(r)->nslots = id->slots;
	r->mask = priv(r)->nslots - 1;
	r->stride = shmring__stride(r->kind, r->slot_size);
	priv(r)->payload_off = shmring__payload_off(r->kind);
	r->slots0 = (unsigned char *)map + SHMRING__HDR_SIZE;
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

	if (priv(r)->roles && r->kind == SHMRING_SPSC && prod - cons > priv(r)->nslots)
		return -EPROTO;   /* indices corrupt: refuse rather than guess (an
		                   * observer may still look, e.g. shmring info) */
	r->p.pos = prod;
	r->p.limit = cons + priv(r)->nslots;
	r->c.pos = cons;
	r->c.avail = prod;
	shmring__refresh_fast(r);
	return 0;
}

/*
 * The descriptor that holds our registry locks: a second open file
 * description of the same object, never mapped (a mapping keeps its open
 * file, and so its locks, alive after close). Reopened through
 * /proc/self/fd (always visible to ourselves, whatever hidepid says); where
 * /proc is missing, by name, checked to be the same object.
 */
static int open_lock_fd(struct shmring *r)
{
	char path[64];
	struct stat a, b;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", priv(r)->fd);
	do
		fd = open(path, O_RDWR | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0 && priv(r)->name[0])
		fd = shm_open(priv(r)->name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &a) < 0 || fstat(priv(r)->fd, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);
		return -ESTALE;   /* the name now names another object */
	}
	priv(r)->lock_fd = fd;
	return 0;
}

static int attach(struct shmring *r, int roles)
{
	if (roles && priv(r)->lock_fd < 0) {
		int lrc = open_lock_fd(r);
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

static void handle_free(struct shmring *r)
{
	shmring__untrack(r);
	if (r->hdr)
		munmap(r->hdr, priv(r)->map_size);
	if (priv(r)->lock_fd >= 0)
		close(priv(r)->lock_fd);   /* drops our registry locks, if any are left */
	if (priv(r)->fd >= 0)
		close(priv(r)->fd);
	free(r);
}

/* undo a failed create: remove the name only while it still names the
 * object we created (somebody may have replaced it meanwhile) */
static void unlink_if_ours(const char *name, int fd)
{
	struct stat mine, now;
	int cur = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (cur < 0)
		return;
	int same = fstat(fd, &mine) == 0 && fstat(cur, &now) == 0 &&
	           mine.st_dev == now.st_dev && mine.st_ino == now.st_ino;
	close(cur);
	if (same)
		shm_unlink(name);
}

int shmring_create(const char *name, const struct shmring_config *cfg, int roles,
                   struct shmring **out)
{
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((rc = shmring__check_name(name)) || (rc = shmring__check_config(cfg)))
		return rc;
	if (roles & ~(SHMRING_PRODUCER | SHMRING_CONSUMER))
		return -EINVAL;

	uint32_t stride = shmring__stride(cfg->kind, cfg->slot_size);
	uint64_t total = SHMRING__HDR_SIZE + cfg->slots * stride;
	mode_t mode = cfg->mode ? cfg->mode : 0600;
	struct shmring *r = handle_new(name);
	if (!r)
		return -ENOMEM;
	shmring__track(r);

	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = -errno;
		handle_free(r);
		return rc == -ENAMETOOLONG ? -EINVAL : rc;
	}
	priv(r)->fd = fd;
	/* the umask must not narrow the mode the caller asked for */
	if (fchmod(fd, mode) < 0 || ftruncate(fd, (off_t)total) < 0) {
		rc = -errno;
		goto fail_unlink;
	}
	/* reserve the memory now: a full /dev/shm is -ENOSPC here rather than
	 * SIGBUS at some later page fault (filesystems without fallocate skip) */
	rc = posix_fallocate(fd, 0, (off_t)total);
	if (rc == ENOSPC || rc == EFBIG || rc == ENOMEM) {
		rc = -ENOSPC;
		goto fail_unlink;
	}
	int mflags = MAP_SHARED | ((cfg->flags & SHMRING_PREFAULT) ? MAP_POPULATE : 0);
	void *map = mmap(NULL, total, PROT_READ | PROT_WRITE, mflags, fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		goto fail_unlink;
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
	 * object is visible by name from shm_open on, and a peer with access
	 * could already be rewriting it */
	struct shmring__ident id = { .kind = cfg->kind, .slot_size = cfg->slot_size,
	                             .slots = cfg->slots, .total = total };
	handle_bind(r, map, total, &id);
	if (r->kind == SHMRING_MPMC)
		shmring__mpmc_init_slots(r);
	/* M1: release: every field above before the magic; pairs with M2 */
	shmring__store_release64(&h->magic, SHMRING__MAGIC);

	rc = attach(r, roles);
	if (rc)
		goto fail_unlink;
	*out = r;
	return 0;

fail_unlink:
	unlink_if_ours(name, priv(r)->fd);
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

int shmring_open(const char *name, int roles, struct shmring **out)
{
	int rc, readonly = 0;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((rc = shmring__check_name(name)))
		return rc;
	if (roles & ~(SHMRING_PRODUCER | SHMRING_CONSUMER))
		return -EINVAL;

	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0 && errno == EACCES && roles == 0) {
		/* an observer may look at a ring it cannot write */
		fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
		readonly = 1;
	}
	if (fd < 0) {
		rc = -errno;
		return rc == -ENAMETOOLONG ? -EINVAL : rc;
	}

	struct shmring *r = handle_new(name);
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
	rc = attach(r, roles);
	if (rc) {
		handle_free(r);
		return rc;
	}
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
	if (!priv(r)->readonly && !priv(r)->forked && r->hdr) {
		shmring__flush_bytes(r);
		int had_prod = priv(r)->prod_entry >= 0, had_cons = priv(r)->cons_entry >= 0;
		shmring__detach_roles(r);
		/* our departure may end someone's wait: let sleepers re-check */
		if (had_prod)
			shmring__notify(r, SHMRING__DIR_DATA);
		if (had_cons)
			shmring__notify(r, SHMRING__DIR_SPACE);
	}
	handle_free(r);
}

int shmring_unlink(const char *name)
{
	int rc = shmring__check_name(name);
	if (rc)
		return rc;
	if (shm_unlink(name) < 0)
		return errno == ENAMETOOLONG ? -EINVAL : -errno;
	return 0;
}
