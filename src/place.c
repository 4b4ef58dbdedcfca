/* SPDX-License-Identifier: MIT */
/*
 * place.c - where a ring lives: a POSIX shared-memory name, a file path on
 * any filesystem, an anonymous sealed memfd, or a descriptor received from
 * elsewhere. Each entry point only finds or creates the object and hands
 * its descriptor to lifecycle.c, which makes or opens the ring on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "private.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

/*
 * Every open of a name or a path: close-on-exec, and never a wait or a
 * controlling terminal, whatever the name turns out to be. A FIFO opened
 * without O_NONBLOCK waits for its other end (for ever when nobody comes);
 * O_NOCTTY keeps a terminal from becoming ours. What was opened is then
 * required to be a regular file (fstat in lifecycle.c's open_ring(), before
 * anything else: -EPROTO), so O_NONBLOCK never matters afterwards (it has
 * no effect on a regular file). A directory is open(2)'s -EISDIR; a socket,
 * which open(2) refuses with -ENXIO, is -EPROTO like the others.
 */
#define OPEN_FLAGS (O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

static int open_errno(void)
{
	return errno == ENXIO ? -EPROTO : errno == ENAMETOOLONG ? -EINVAL : -errno;
}

static int check_roles(int roles)
{
	return roles & ~(SHMRING_PRODUCER | SHMRING_CONSUMER) ? -EINVAL : 0;
}

static uint64_t ring_bytes(const struct shmring_config *cfg)
{
	unsigned engine = shmring__engine_kind(cfg->kind, cfg->flags);
	return SHMRING__HDR_SIZE + shmring__data_size(engine, cfg->slot_size, cfg->slots);
}

/* the page size of the object on fd: a huge page on hugetlbfs */
static uint64_t page_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_blksize > 0)
		return (uint64_t)st.st_blksize;
	return 4096;
}

static int on_hugetlbfs(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && (unsigned long)sf.f_type == HUGETLBFS_MAGIC;
}

/* size a freshly created object: the ring's bytes, rounded up to a whole
 * huge page where the object is huge-page backed (asked for, or a file on
 * hugetlbfs: the kernel maps no less);
 * the umask must not narrow the mode the caller asked for */
static int size_object(int fd, const struct shmring_config *cfg, int set_mode, off_t *size)
{
	uint64_t bytes = ring_bytes(cfg);
	if ((cfg->flags & SHMRING_HUGEPAGES) || on_hugetlbfs(fd)) {
		uint64_t page = page_of(fd);
		bytes = (bytes + page - 1) / page * page;
	}
	if (set_mode && fchmod(fd, cfg->mode ? cfg->mode : 0600) < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes) < 0)
		return errno == EINVAL && (cfg->flags & SHMRING_HUGEPAGES) ? -ENOMEM : -errno;
	*size = (off_t)bytes;
	return 0;
}

/* ---- POSIX shared memory: a name such as "/ring" ---- */

/* undo a failed create: remove the name only while it still names the
 * object we created (somebody may have replaced it meanwhile) */
static void shm_unlink_if_ours(const char *name, int fd)
{
	struct stat mine, now;
	int cur = shm_open(name, O_RDONLY | OPEN_FLAGS, 0);
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
	off_t size;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((rc = shmring__check_name(name)) || (rc = shmring__check_config(cfg)) ||
	    (rc = check_roles(roles)))
		return rc;
	if (cfg->flags & SHMRING_HUGEPAGES)
		return -EINVAL;   /* shm objects are never huge-page backed */
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | OPEN_FLAGS,
	                  cfg->mode ? cfg->mode : 0600);
	if (fd < 0)
		return errno == ENAMETOOLONG ? -EINVAL : -errno;
	struct shmring__place where = { .name = name };
	if ((rc = size_object(fd, cfg, 1, &size)) == 0 &&
	    (rc = shmring__make_ring(fd, &where, size, cfg, roles, out)) == 0)
		return 0;
	shm_unlink_if_ours(name, fd);
	close(fd);
	return rc;
}

/* an observer may look at a ring it cannot write: read-only then */
static int open_rw_or_ro(int fd_rw, int roles, int (*again)(const char *), const char *at,
                         int *readonly)
{
	*readonly = 0;
	if (fd_rw < 0 && errno == EACCES && roles == 0) {
		*readonly = 1;
		return again(at);
	}
	return fd_rw;
}

static int shm_open_ro(const char *name)
{
	return shm_open(name, O_RDONLY | OPEN_FLAGS, 0);
}

int shmring_open(const char *name, int roles, struct shmring **out)
{
	int rc, readonly;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((rc = shmring__check_name(name)) || (rc = check_roles(roles)))
		return rc;
	int fd = open_rw_or_ro(shm_open(name, O_RDWR | OPEN_FLAGS, 0), roles, shm_open_ro, name,
	                       &readonly);
	if (fd < 0)
		return open_errno();
	struct shmring__place where = { .name = name };
	return shmring__open_ring(fd, readonly, &where, roles, out);
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

/* ---- a file on any filesystem ---- */

static void unlink_if_ours(const char *path, int fd)
{
	struct stat mine, now;
	if (fstat(fd, &mine) == 0 && stat(path, &now) == 0 &&
	    mine.st_dev == now.st_dev && mine.st_ino == now.st_ino)
		unlink(path);
}

int shmring_create_file(const char *path, const struct shmring_config *cfg, int roles,
                        struct shmring **out)
{
	int rc;
	off_t size;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((rc = shmring__check_path(path)) || (rc = shmring__check_config(cfg)) ||
	    (rc = check_roles(roles)))
		return rc;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | OPEN_FLAGS, cfg->mode ? cfg->mode : 0600);
	if (fd < 0)
		return -errno;
	struct shmring__place where = { .path = path };
	if ((cfg->flags & SHMRING_HUGEPAGES) && !on_hugetlbfs(fd))
		rc = -EINVAL;   /* huge pages from a path: it must be on hugetlbfs */
	else if ((rc = size_object(fd, cfg, 1, &size)) == 0)
		rc = shmring__make_ring(fd, &where, size, cfg, roles, out);
	if (rc == 0)
		return 0;
	unlink_if_ours(path, fd);
	close(fd);
	return rc;
}

static int file_open_ro(const char *path)
{
	return open(path, O_RDONLY | OPEN_FLAGS);
}

int shmring_open_file(const char *path, int roles, struct shmring **out)
{
	int rc, readonly;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((rc = shmring__check_path(path)) || (rc = check_roles(roles)))
		return rc;
	int fd = open_rw_or_ro(open(path, O_RDWR | OPEN_FLAGS), roles, file_open_ro, path,
	                       &readonly);
	if (fd < 0)
		return errno == ENXIO ? -EPROTO : -errno;
	struct shmring__place where = { .path = path };
	return shmring__open_ring(fd, readonly, &where, roles, out);
}

/* ---- anonymous, sealed ---- */

int shmring_create_memfd(const struct shmring_config *cfg, int roles, struct shmring **out)
{
	int rc;
	off_t size;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((rc = shmring__check_config(cfg)) || (rc = check_roles(roles)))
		return rc;
	unsigned mfd = MFD_CLOEXEC | MFD_ALLOW_SEALING |
	               ((cfg->flags & SHMRING_HUGEPAGES) ? MFD_HUGETLB : 0);
	int fd = memfd_create("shmring", mfd);
	if (fd < 0)
		return errno == EINVAL && (cfg->flags & SHMRING_HUGEPAGES) ? -ENOMEM : -errno;
	/* sized, then sealed before anyone else can have it: from here on the
	 * object can neither shrink (no SIGBUS for a peer) nor grow, and the
	 * seals cannot be removed */
	struct shmring__place where = { 0 };
	if ((rc = size_object(fd, cfg, 0, &size)) == 0 &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		rc = -errno;
	if (rc == 0 && (rc = shmring__make_ring(fd, &where, size, cfg, roles, out)) == 0)
		return 0;
	close(fd);
	return rc;
}

int shmring_fd(const struct shmring *r)
{
	if (!r)
		return -EINVAL;
	return ((const struct shmring__handle *)r)->priv.fd;
}

/*
 * May we map the object on fd, received from someone we may not trust? A
 * holder of a descriptor of an unsealed object can truncate it under our
 * mapping: SIGBUS at our next access. A memfd can be sealed against that,
 * and every memfd ring is (shmring_create_memfd(): F_SEAL_SHRINK |
 * F_SEAL_GROW | F_SEAL_SEAL), so a memfd without F_SEAL_SHRINK and
 * F_SEAL_GROW is refused (-EPROTO: not what a memfd ring is). It is a memfd
 * when its name under /proc/self/fd says so, or, without /proc, when it
 * may still be sealed (no F_SEAL_SEAL: only a memfd made with
 * MFD_ALLOW_SEALING is in that state). F_GET_SEALS alone cannot tell: a
 * shm_open object or any tmpfs or hugetlbfs file answers F_SEAL_SEAL too.
 * Those, and files elsewhere (F_GET_SEALS fails), cannot be sealed at all:
 * accepted, as shmring_open() accepts a name; the risk is documented
 * (docs/api.md: a peer with write access can truncate them).
 */
static int check_seals(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return 0;   /* not sealable: not a memfd */
	if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SHRINK | F_SEAL_GROW))
		return 0;
	if (!(seals & F_SEAL_SEAL))
		return -EPROTO;   /* a memfd its creator could have sealed */
	char proc[64], link[16];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, link, sizeof(link));
	if (n >= 7 && !memcmp(link, "/memfd:", 7))
		return -EPROTO;   /* a memfd that can no longer be sealed */
	return 0;
}

int shmring_open_fd(int fd, int roles, struct shmring **out)
{
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((rc = check_roles(roles)))
		return rc;
	if (fd < 0)
		return -EBADF;
	int acc = fcntl(fd, F_GETFL);
	if (acc < 0)
		return -errno;
	int readonly = (acc & O_ACCMODE) == O_RDONLY;
	if (readonly && roles)
		return -EACCES;   /* a role needs a descriptor open for writing */
	if ((rc = check_seals(fd)))
		return rc;
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return -errno;
	struct shmring__place where = { 0 };
	return shmring__open_ring(own, readonly, &where, roles, out);
}
