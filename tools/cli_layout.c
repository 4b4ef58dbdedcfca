/* SPDX-License-Identifier: MIT */
/*
 * cli_layout.c - rings of another layout version, which the library refuses
 * to open (-EPROTO): what ls and rm --stale can still tell of them without
 * it, from the object itself.
 *
 * What this tool knows of other versions (include/shmring/layout.h and its
 * history):
 *   - line 0, the identity (magic, version, kind, slot_size, slots, flags,
 *     creator_pid, created_ns at the offsets of struct shmring__hdr), is the
 *     same in every version so far (1 to SHMRING__LAYOUT_VERSION);
 *   - the liveness locks (an open-file-description write lock on byte
 *     SHMRING__LOCK_BASE + i for producer entry i, + 64 + i for consumer
 *     entry i, held for as long as the entry's holder is attached) came
 *     with version 2 and are unchanged since.
 * A version above ours is unknown: nothing past the magic and the version
 * word is read, and whether a process holds it cannot be told.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

#define ID_SINCE    1u   /* line 0 as in struct shmring__hdr */
#define LOCKS_SINCE 2u   /* the OFD lock bytes as in layout.h */

/* the descriptor of the object, read-only: looking needs no more */
static int open_ro(const char *ring)
{
	return cli_is_path(ring) ? open(ring, O_RDONLY | O_CLOEXEC)
	                         : shm_open(ring, O_RDONLY | O_CLOEXEC, 0);
}

/* a live process holds the lock byte off (F_OFD_GETLK: any other open file
 * description's lock shows, whatever its process, user or PID namespace):
 * 1, 0, or -errno */
static int byte_held(int fd, off_t off)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off,
	                    .l_len = 1 };
	int rc;
	do
		rc = fcntl(fd, F_OFD_GETLK, &fl);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

int cli_foreign_read(const char *ring, struct cli_foreign *f)
{
	int fd = open_ro(ring);
	if (fd < 0)
		return -errno;
	int rc = cli_foreign_read_fd(fd, f);
	close(fd);
	return rc;
}

int cli_foreign_read_fd(int fd, struct cli_foreign *f)
{
	struct shmring__hdr h;
	struct stat st;

	memset(f, 0, sizeof(*f));
	ssize_t n = pread(fd, &h, offsetof(struct shmring__hdr, pad0), 0);
	if (fstat(fd, &st) < 0 || n != (ssize_t)offsetof(struct shmring__hdr, pad0) ||
	    h.magic != SHMRING__MAGIC || h.version == SHMRING__LAYOUT_VERSION || h.version == 0)
		return -EPROTO;   /* not a shmring, or one of ours */
	f->version = h.version;
	f->size = (uint64_t)st.st_size;
	if (h.version >= ID_SINCE && h.version < SHMRING__LAYOUT_VERSION) {
		f->known_id = 1;
		f->kind = h.kind;
		f->slot_size = h.slot_size;
		f->slots = h.slots;
		f->flags = h.flags;
		f->creator_pid = h.creator_pid;
		f->created_ns = h.created_ns;
	}
	f->held = -1;
	if (h.version >= LOCKS_SINCE && h.version < SHMRING__LAYOUT_VERSION) {
		int rc = 0;
		for (unsigned i = 0; i < 2 * SHMRING__MAX_PEERS && rc >= 0; i++) {
			rc = byte_held(fd, (off_t)SHMRING__LOCK_BASE + i);
			if (rc > 0 && i < SHMRING__MAX_PEERS)
				f->live_producers++;
			else if (rc > 0)
				f->live_consumers++;
		}
		if (rc >= 0)
			f->held = f->live_producers + f->live_consumers > 0;
	}
	return 0;
}

const char *cli_foreign_warning(const struct cli_foreign *f, char *buf, size_t size)
{
	snprintf(buf, size, "layout version %u; this shmring (library %d.%d.%d) speaks layout "
	         "version %u only: its state cannot be read", f->version, SHMRING_VERSION_MAJOR,
	         SHMRING_VERSION_MINOR, SHMRING_VERSION_PATCH, SHMRING__LAYOUT_VERSION);
	return buf;
}
