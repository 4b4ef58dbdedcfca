/* SPDX-License-Identifier: MIT */
/* tests/strict_c.c - the public header in strict ISO C (no _GNU_SOURCE, no
 * POSIX feature macros), as a user's own build may compile it:
 *   cc -std=c11 -pedantic -Wall -Wextra -Werror */
#include <shmring.h>
#include <stdio.h>

int main(void)
{
	struct shmring_config cfg = { SHMRING_SPSC, 64, 8, 0, 0 };
	struct shmring *r;
	char name[64], buf[64];
	snprintf(name, sizeof(name), "/shmring-test-strict-%u", (unsigned)sizeof(struct shmring));
	shmring_unlink(name);
	int rc = shmring_create(name, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &r);
	if (rc) {
		fprintf(stderr, "strict_c: create: %s\n", shmring_strerror(rc));
		return 1;
	}
	rc = shmring_send(r, "strict", 6, 0);
	ssize_t n = shmring_recv(r, buf, sizeof(buf), 0);
	shmring_close(r);
	shmring_unlink(name);
	if (rc || n != 6) {
		fprintf(stderr, "strict_c: round trip failed (%d, %ld)\n", rc, (long)n);
		return 1;
	}
	printf("strict_c: the header builds and runs in strict C11\n");
	return 0;
}
