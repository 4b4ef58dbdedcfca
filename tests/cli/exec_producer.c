/* SPDX-License-Identifier: MIT */
/*
 * tests/cli/exec_producer.c - a producer that vanishes without dying, for
 * tests/cli/test_liveness.sh:
 *
 *   exec_producer NAME [SECONDS]
 *
 * attaches to the existing ring NAME as its producer, sends the one-byte
 * message "x", and then exec()s "sleep SECONDS" (default 6) without calling
 * shmring_shutdown() or shmring_close(). The process lives on with the same
 * pid (and start time), but it is no longer the program that attached: the
 * ring's descriptor was close-on-exec and the mapping is gone. A consumer
 * must see the end of the stream soon after the exec, not when sleep ends.
 *
 * Exit status (before the exec): 2 usage, 3 library error, 4 exec failed.
 */
#include <stdio.h>
#include <unistd.h>
#include "shmring.h"

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: exec_producer NAME [SECONDS]\n");
		return 2;
	}
	const char *secs = argc > 2 ? argv[2] : "6";
	struct shmring *r;
	int rc = shmring_open(argv[1], SHMRING_PRODUCER, &r);
	if (rc < 0) {
		fprintf(stderr, "exec_producer: open %s: %s\n", argv[1], shmring_strerror(rc));
		return 3;
	}
	rc = shmring_send(r, "x", 1, -1);
	if (rc < 0) {
		fprintf(stderr, "exec_producer: send: %s\n", shmring_strerror(rc));
		return 3;
	}
	fflush(NULL);
	execlp("sleep", "sleep", secs, (char *)NULL);
	perror("exec_producer: exec sleep");
	return 4;
}
