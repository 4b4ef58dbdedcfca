/* SPDX-License-Identifier: MIT */
/*
 * zerocopy.c - zero-copy transfer with shmring_reserve/commit and
 * shmring_acquire/release: the producer builds each "frame" directly inside
 * the shared slot, and the consumer checks it in place; no byte is copied
 * through a private buffer. The two sides are a parent and a child process
 * (each opens its own handle after fork: handles are not shared).
 *
 * Build: cc -O2 -o zerocopy zerocopy.c $(pkg-config --cflags --libs shmring)
 * Run:   ./zerocopy [FRAMES]
 */
#include <shmring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FRAME_BYTES (64 * 1024)

struct frame {              /* lives in the slot: header, then pixels */
	uint64_t seq;
	uint32_t width, height;
	uint64_t sum;           /* of the pixel bytes, for the consumer to check */
	unsigned char pixels[];
};

static int consume(const char *name)
{
	struct shmring *r;
	int rc = shmring_open(name, SHMRING_CONSUMER, &r);
	if (rc < 0) {
		fprintf(stderr, "zerocopy consumer: %s\n", shmring_strerror(rc));
		return 1;
	}
	uint64_t frames = 0, bad = 0;
	struct shmring_slot s;
	/* the frame is read where the producer wrote it, until release */
	while ((rc = shmring_acquire(r, &s, -1)) == 0) {
		const struct frame *f = s.data;
		uint64_t sum = 0;
		size_t n = (size_t)f->width * f->height;
		if (s.len < sizeof(*f) || n > s.len - sizeof(*f) || f->seq != frames) {
			bad++;
		} else {
			for (size_t i = 0; i < n; i++)
				sum += f->pixels[i];
			bad += sum != f->sum;
		}
		frames++;
		shmring_release(r, &s);  /* the slot goes back to the producer */
	}
	shmring_close(r);
	if (rc != -EPIPE)
		fprintf(stderr, "zerocopy consumer: %s\n", shmring_strerror(rc));
	printf("consumer: %llu frames checked in place, %llu bad\n",
	       (unsigned long long)frames, (unsigned long long)bad);
	fflush(stdout);   /* the child leaves with _exit(), which does not flush */
	return rc == -EPIPE && bad == 0 ? 0 : 1;
}

static int produce(const char *name, uint64_t frames)
{
	struct shmring *r;
	int rc = shmring_open(name, SHMRING_PRODUCER, &r);
	if (rc < 0) {
		fprintf(stderr, "zerocopy producer: %s\n", shmring_strerror(rc));
		return 1;
	}
	for (uint64_t i = 0; i < frames && rc == 0; i++) {
		struct shmring_slot s;
		rc = shmring_reserve(r, &s, -1);  /* s.data: slot_size writable bytes */
		if (rc < 0)
			break;
		struct frame *f = s.data;
		f->seq = i;
		f->width = 160;
		f->height = 120 + (uint32_t)(i % 64);
		f->sum = 0;
		for (uint32_t p = 0; p < f->width * f->height; p++) {
			f->pixels[p] = (unsigned char)(p * 7 + i);
			f->sum += f->pixels[p];
		}
		/* publish exactly the bytes used */
		rc = shmring_commit(r, &s, sizeof(*f) + (size_t)f->width * f->height);
	}
	if (rc < 0)
		fprintf(stderr, "zerocopy producer: %s\n", shmring_strerror(rc));
	shmring_shutdown(r);
	shmring_close(r);
	return rc < 0;
}

int main(int argc, char **argv)
{
	uint64_t frames = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000;
	char name[64];
	snprintf(name, sizeof(name), "/example-zerocopy-%d", (int)getpid());

	struct shmring_config cfg = {
		.kind = SHMRING_SPSC,
		.slot_size = sizeof(struct frame) + FRAME_BYTES,
		.slots = 16,
	};
	struct shmring *r;
	int rc = shmring_create(name, &cfg, 0, &r);  /* no role: just set it up */
	if (rc < 0) {
		fprintf(stderr, "zerocopy: %s: %s\n", name, shmring_strerror(rc));
		return 1;
	}
	shmring_close(r);

	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		shmring_unlink(name);
		return 1;
	}
	if (child == 0)
		_exit(consume(name));
	int status = produce(name, frames), wst = 0;
	waitpid(child, &wst, 0);
	shmring_unlink(name);
	if (status == 0)
		printf("producer: %llu frames built in place\n", (unsigned long long)frames);
	return status || !WIFEXITED(wst) || WEXITSTATUS(wst) != 0;
}
