/* SPDX-License-Identifier: MIT */
/*
 * event_threads.c - shmring_event_fd()/shmring_arm() with the producer in
 * another thread of the same process, so that ThreadSanitizer (make check)
 * sees the handle handed between the caller and the watcher thread: the
 * consumer drains with timeout 0, arms, and waits in epoll; 200,000
 * messages must all arrive, in order, then end of stream.
 * Prints "event-threads: PASS|FAIL (...)" for tests/stress/run.sh.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <shmring.h>

#define COUNT 200000
static char name[64];

static void *producer(void *arg)
{
	struct shmring *p;
	(void)arg;
	if (shmring_open(name, SHMRING_PRODUCER, &p))
		return (void *)1;
	for (uint32_t i = 0; i < COUNT; i++) {
		if (i % 5000 == 0)
			usleep(200);   /* let the consumer run dry and arm */
		if (shmring_send(p, &i, sizeof(i), -1))
			return (void *)2;
	}
	shmring_shutdown(p);
	shmring_close(p);
	return NULL;
}

int main(void)
{
	struct shmring *c;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 256 };
	snprintf(name, sizeof(name), "/shmring-event-threads-%d", (int)getpid());
	shmring_unlink(name);
	if (shmring_create(name, &cfg, SHMRING_CONSUMER, &c)) {
		printf("event-threads: FAIL (create)\n");
		return 1;
	}
	int fd = shmring_event_fd(c), ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e = { .events = EPOLLIN };
	if (fd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) {
		printf("event-threads: FAIL (event fd %d)\n", fd);
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, producer, NULL);
	uint32_t next = 0, v;
	long arms = 0, stalls = 0;
	int bad = 0;
	for (;;) {
		ssize_t rc = shmring_recv(c, &v, sizeof(v), 0);
		if (rc == (ssize_t)sizeof(v)) {
			bad |= v != next++;
			continue;
		}
		if (rc == -EPIPE)
			break;
		if (rc != -EAGAIN) {
			bad = 1;
			break;
		}
		if (shmring_arm(c) == 0) {
			arms++;
			stalls += epoll_wait(ep, &e, 1, 5000) != 1;
		}
	}
	void *prc;
	pthread_join(t, &prc);
	shmring_close(c);
	shmring_unlink(name);
	int ok = !bad && !stalls && !prc && next == COUNT;
	printf("event-threads: %s (%u messages in order, %ld arms, %ld waits past 5 s)\n",
	       ok ? "PASS" : "FAIL", next, arms, stalls);
	return !ok;
}
