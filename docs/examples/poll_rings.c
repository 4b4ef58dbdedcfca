/* SPDX-License-Identifier: MIT */
/*
 * poll_rings.c - one consumer serving four rings with shmring_poll: four
 * producer processes (forked here; each opens its ring by name, as an
 * unrelated program would) send COUNT messages each at their own pace and
 * shut down; the consumer waits on all four rings in one call, drains the
 * rings that are ready, and leaves each ring out once its stream has ended.
 *
 * Build: cc -O2 -o poll_rings poll_rings.c $(pkg-config --cflags --libs shmring)
 * Run:   ./poll_rings [COUNT]
 */
#define _POSIX_C_SOURCE 200809L   /* nanosleep, in strict -std=c11 too */
#include <shmring.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RINGS 4

static int produce(const char *name, unsigned id, unsigned count)
{
	struct shmring *r;
	int rc = shmring_open(name, SHMRING_PRODUCER, &r);
	if (rc < 0) {
		fprintf(stderr, "producer %u: open %s: %s\n", id, name, shmring_strerror(rc));
		return 1;
	}
	for (unsigned seq = 0; seq < count; seq++) {
		char msg[64];
		int len = snprintf(msg, sizeof(msg), "ring %u message %u", id, seq);
		rc = shmring_send(r, msg, (size_t)len, -1);
		if (rc < 0) {
			fprintf(stderr, "producer %u: send: %s\n", id, shmring_strerror(rc));
			return 1;
		}
		if (seq % (id + 2) == 0) {   /* each producer at its own pace */
			struct timespec pause = { 0, 20000 * (long)(id + 1) };
			nanosleep(&pause, NULL);
		}
	}
	shmring_shutdown(r);
	shmring_close(r);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned count = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
	char name[RINGS][64];
	struct shmring *ring[RINGS];
	struct shmring_pollitem items[RINGS];
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 64, .slots = 64 };
	pid_t pid[RINGS];
	int rc;

	for (unsigned i = 0; i < RINGS; i++) {
		snprintf(name[i], sizeof(name[i]), "/poll-rings-example-%d-%u", (int)getpid(), i);
		rc = shmring_create(name[i], &cfg, SHMRING_CONSUMER, &ring[i]);
		if (rc < 0) {
			fprintf(stderr, "create %s: %s\n", name[i], shmring_strerror(rc));
			return 1;
		}
		items[i] = (struct shmring_pollitem){ .ring = ring[i], .events = SHMRING_POLLIN };
	}
	for (unsigned i = 0; i < RINGS; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(produce(name[i], i, count));
	}

	unsigned long got[RINGS] = { 0 }, polls = 0;
	unsigned open_rings = RINGS;
	while (open_rings > 0) {
		rc = shmring_poll(items, RINGS, -1);   /* wait for any of the four */
		if (rc < 0) {
			fprintf(stderr, "poll: %s\n", shmring_strerror(rc));
			return 1;
		}
		polls++;
		for (unsigned i = 0; i < RINGS; i++) {
			if (!(items[i].revents & SHMRING_POLLIN))
				continue;
			char buf[64];
			ssize_t n;
			/* drain what is there, without waiting */
			while ((n = shmring_recv(ring[i], buf, sizeof(buf), 0)) >= 0)
				got[i]++;
			if (n == -EPIPE) {   /* the producer shut down (or died) */
				items[i].events = 0;   /* leave the ring out from now on */
				open_rings--;
			} else if (n != -EAGAIN) {
				fprintf(stderr, "recv: %s\n", shmring_strerror((int)n));
				return 1;
			}
		}
	}

	int status = 0;
	for (unsigned i = 0; i < RINGS; i++) {
		int st;
		waitpid(pid[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || got[i] != count)
			status = 1;
		printf("ring %u: %lu messages\n", i, got[i]);
		shmring_close(ring[i]);
		shmring_unlink(name[i]);
	}
	printf("received %lu messages from %d rings in %lu polls\n",
	       got[0] + got[1] + got[2] + got[3], RINGS, polls);
	return status;
}
