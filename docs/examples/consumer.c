/* SPDX-License-Identifier: MIT */
/*
 * consumer.c - the receiving half of a two-program shmring example: attach
 * to a ring as its consumer (waiting for a producer to create it, or
 * creating it), print every message, stop at the end of the stream
 * (shmring_recv returns -EPIPE once every producer has shut down, closed or
 * died and the ring is drained), then remove the ring.
 *
 * Build: cc -O2 -o consumer consumer.c $(pkg-config --cflags --libs shmring)
 * Run:   ./consumer /example-demo & ./producer /example-demo 1000
 */
#include <shmring.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s NAME [-q]\n", argv[0]);
		return 2;
	}
	const char *name = argv[1];
	int quiet = argc > 2 && strcmp(argv[2], "-q") == 0;

	struct shmring *r;
	int rc = shmring_open(name, SHMRING_CONSUMER, &r);
	if (rc == -ENOENT) {
		/* same configuration as producer.c: whoever comes first creates */
		struct shmring_config cfg = {
			.kind = SHMRING_SPSC,
			.slot_size = 256,
			.slots = 1024,
		};
		rc = shmring_create(name, &cfg, SHMRING_CONSUMER, &r);
		if (rc == -EEXIST)
			rc = shmring_open(name, SHMRING_CONSUMER, &r);
	}
	if (rc < 0) {
		fprintf(stderr, "consumer: %s: %s\n", name, shmring_strerror(rc));
		return 1;
	}

	char buf[256 + 1];
	long n = 0;
	int status = 0;
	for (;;) {
		/* wait as long as it takes: a producer that dies still ends the
		 * stream, so this cannot hang on a crashed peer */
		ssize_t len = shmring_recv(r, buf, sizeof(buf) - 1, -1);
		if (len == -EPIPE)
			break;                  /* end of stream */
		if (len < 0) {
			fprintf(stderr, "consumer: %s: recv: %s\n", name, shmring_strerror((int)len));
			status = 1;
			break;
		}
		buf[len] = '\0';
		n++;
		if (!quiet)
			printf("%s\n", buf);
	}
	shmring_close(r);
	shmring_unlink(name);
	printf("consumer: received %ld messages\n", n);
	return status;
}
