/* SPDX-License-Identifier: MIT */
/*
 * producer.c - the sending half of a two-program shmring example: attach to
 * a ring as its producer (creating the ring if it does not exist yet), send
 * COUNT text messages, then shut the stream down so the consumer knows the
 * stream is over. Run docs/examples/consumer.c against the same name, in
 * either order.
 *
 * Build: cc -O2 -o producer producer.c $(pkg-config --cflags --libs shmring)
 * Run:   ./consumer /example-demo & ./producer /example-demo 1000
 */
#include <shmring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEND_TIMEOUT_NS (5LL * 1000 * 1000 * 1000)   /* give up after 5 s of full ring */

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s NAME [COUNT]\n", argv[0]);
		return 2;
	}
	const char *name = argv[1];
	long count = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;

	/* open as producer; create it if the consumer has not done so */
	struct shmring *r;
	int rc = shmring_open(name, SHMRING_PRODUCER, &r);
	if (rc == -ENOENT) {
		struct shmring_config cfg = {
			.kind = SHMRING_SPSC,
			.slot_size = 256,   /* largest message */
			.slots = 1024,      /* a power of two */
		};
		rc = shmring_create(name, &cfg, SHMRING_PRODUCER, &r);
		if (rc == -EEXIST)  /* the consumer created it meanwhile */
			rc = shmring_open(name, SHMRING_PRODUCER, &r);
	}
	if (rc < 0) {
		fprintf(stderr, "producer: %s: %s\n", name, shmring_strerror(rc));
		return 1;
	}

	for (long i = 0; i < count; i++) {
		char msg[64];
		int len = snprintf(msg, sizeof(msg), "message %ld of %ld", i + 1, count);
		/* blocks while the ring is full; -EPIPE if the consumer went away */
		rc = shmring_send(r, msg, (size_t)len, SEND_TIMEOUT_NS);
		if (rc < 0) {
			fprintf(stderr, "producer: %s: send: %s\n", name, shmring_strerror(rc));
			break;
		}
	}

	/* end of stream: the consumer drains what is left, then gets -EPIPE */
	shmring_shutdown(r);
	shmring_close(r);
	if (rc == 0)
		printf("producer: sent %ld messages\n", count);
	return rc < 0;
}
