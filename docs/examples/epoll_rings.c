/* SPDX-License-Identifier: MIT */
/*
 * epoll_rings.c - an event loop that serves 16 rings and a timer with one
 * epoll_wait: each ring's shmring_event_fd() sits in the epoll set next to
 * a timerfd. A forked child feeds the rings (COUNT messages each, in
 * bursts with pauses); the loop drains a ring with timeout 0 until
 * -EAGAIN, then arms it again, and stops when every ring has ended.
 *
 *   epoll_rings [COUNT]     default 1000 messages per ring
 *
 * Build: cc -o epoll_rings epoll_rings.c $(pkg-config --cflags --libs shmring)
 */
#define _POSIX_C_SOURCE 200809L   /* nanosleep, in strict -std=c11 too */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <shmring.h>

#define NRINGS 16

static void feed(long count)
{
	struct shmring *p[NRINGS];
	char name[64];
	for (int i = 0; i < NRINGS; i++) {
		snprintf(name, sizeof(name), "/epoll-rings-%d-%d", (int)getppid(), i);
		if (shmring_open(name, SHMRING_PRODUCER, &p[i]))
			_exit(1);
	}
	for (long n = 0; n < count; n++) {
		for (int i = 0; i < NRINGS; i++)
			if (shmring_send(p[i], &n, sizeof(n), -1))
				_exit(2);
		if (n % 100 == 99)
			nanosleep(&(struct timespec){ 0, 2000000 }, NULL);   /* let the loop run dry and sleep */
	}
	for (int i = 0; i < NRINGS; i++) {
		shmring_shutdown(p[i]);
		shmring_close(p[i]);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 1000;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 64, .slots = 256 };
	struct shmring *r[NRINGS];
	char name[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	for (int i = 0; i < NRINGS; i++) {
		snprintf(name, sizeof(name), "/epoll-rings-%d-%d", (int)getpid(), i);
		shmring_unlink(name);
		int rc = shmring_create(name, &cfg, SHMRING_CONSUMER, &r[i]);
		if (rc) {
			fprintf(stderr, "epoll_rings: %s: %s\n", name, shmring_strerror(rc));
			return 1;
		}
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, shmring_event_fd(r[i]), &e) < 0)
			return 1;
	}
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec tick = { { 0, 100000000 }, { 0, 100000000 } };
	timerfd_settime(tfd, 0, &tick, NULL);
	struct epoll_event te = { .events = EPOLLIN, .data.u32 = NRINGS };
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &te);

	pid_t child = fork();
	if (child == 0)
		feed(count);

	long got = 0, ticks = 0, next[NRINGS] = { 0 };
	int ended = 0, open_rings = NRINGS, dirty[NRINGS], done[NRINGS] = { 0 };
	for (int i = 0; i < NRINGS; i++)
		dirty[i] = 1;   /* look at every ring once before sleeping */
	while (open_rings > 0) {
		for (int i = 0; i < NRINGS; i++) {
			if (!dirty[i])
				continue;
			long v;
			ssize_t n;
			while ((n = shmring_recv(r[i], &v, sizeof(v), 0)) == sizeof(v)) {
				if (v != next[i]++) {
					fprintf(stderr, "epoll_rings: ring %d: message %ld out of order\n", i, v);
					return 1;
				}
				got++;
			}
			if (n == -EPIPE) {   /* this ring is over: out of the set */
				epoll_ctl(ep, EPOLL_CTL_DEL, shmring_event_fd(r[i]), NULL);
				done[i] = 1;
				dirty[i] = 0;
				open_rings--;
				ended++;
				continue;
			}
			/* drained: arm; 1 means "ready already", look again */
			dirty[i] = shmring_arm(r[i]) == 1;
		}
		int any_dirty = 0;
		for (int i = 0; i < NRINGS; i++)
			any_dirty |= dirty[i];
		if (open_rings == 0 || any_dirty)
			continue;
		struct epoll_event ev[NRINGS + 1];
		int k = epoll_wait(ep, ev, NRINGS + 1, 5000);
		if (k <= 0) {
			fprintf(stderr, "epoll_rings: nothing for 5 s\n");
			return 1;
		}
		for (int j = 0; j < k; j++) {
			if (ev[j].data.u32 == NRINGS) {
				uint64_t t;
				if (read(tfd, &t, sizeof(t)) == sizeof(t))
					ticks += (long)t;
			} else if (!done[ev[j].data.u32]) {
				dirty[ev[j].data.u32] = 1;
			}
		}
	}
	int st;
	waitpid(child, &st, 0);
	for (int i = 0; i < NRINGS; i++) {
		snprintf(name, sizeof(name), "/epoll-rings-%d-%d", (int)getpid(), i);
		shmring_unlink(name);
		shmring_close(r[i]);
	}
	printf("epoll_rings: received %ld messages from %d rings, %d ended, %ld timer ticks\n",
	       got, NRINGS, ended, ticks);
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 0 && got == count * NRINGS);
}
