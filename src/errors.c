/* SPDX-License-Identifier: MIT */
/* errors.c - the human-readable names of shmring's return codes */
#include <errno.h>
#include <string.h>
#include "private.h"

const char *shmring_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:         return "success";
	case EAGAIN:    return "ring full or empty (try again)";
	case ETIMEDOUT: return "timed out";
	case EPIPE:     return "end of stream (peer shut down, closed or died)";
	case EMSGSIZE:  return "message larger than the slot or the buffer";
	case EINVAL:    return "invalid argument, name, config or role";
	case EEXIST:    return "ring already exists";
	case ENOENT:    return "no such ring";
	case EACCES:    return "permission denied";
	case EBUSY:     return "role held by a live process, or slot already outstanding";
	case EUSERS:    return "too many attached processes";
	case EPROTO:    return "not a shmring, or an unsupported or corrupt layout";
	case EBADMSG:   return "corrupt message slot (skipped)";
	case ENOMEM:    return "out of memory";
	case ENOTSUP:   return "not supported";
	case ENOLCK:    return "the filesystem refuses the locks that prove an attachment alive";
	case ESTALE:    return "overwritten while acquired (discard what was read), "
	                       "or the ring's name was replaced while attaching";
	default:        return strerror(err < 0 ? -err : err);
	}
}
