/* SPDX-License-Identifier: MIT */
/*
 * tests/test_event.c - shmring_event_fd() / shmring_arm() under epoll:
 * data, room, end of stream and peer death make the descriptor readable;
 * arm's edge cases; close while armed; a saturated stream sleeps (and so
 * wakes) only when the ring runs empty.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include "common.h"

static int watch(int fd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	cr_assert_geq(ep, 0);
	struct epoll_event e = { .events = EPOLLIN };
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
	return ep;
}

/* ms until the descriptor polls readable, or -1 after limit_ms */
static long readable_after(int ep, int limit_ms)
{
	struct epoll_event e;
	int64_t t0 = test_now_ns();
	int n = epoll_wait(ep, &e, 1, limit_ms);
	return n == 1 ? (long)((test_now_ns() - t0) / 1000000) : -1;
}

static pid_t producer_child(const char *name, int count, int die)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	struct shmring *p;
	if (shmring_open(name, SHMRING_PRODUCER, &p))
		_exit(1);
	test_sleep_ms(50);
	for (int i = 0; i < count; i++)
		if (shmring_send(p, "e", 1, -1))
			_exit(2);
	if (die)
		raise(SIGKILL);
	test_sleep_ms(50);
	shmring_shutdown(p);
	shmring_close(p);
	_exit(0);
}

Test(event, data_then_end_of_stream_make_it_readable, .timeout = 20)
{
	char n[64], buf[8];
	struct shmring *c;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 8 };
	test_name(n, sizeof(n), "evdata");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	int fd = shmring_event_fd(c);
	cr_assert_geq(fd, 0);
	cr_assert_eq(shmring_event_fd(c), fd);   /* one per handle */
	int ep = watch(fd);
	cr_assert_eq(shmring_arm(c), 0);
	cr_assert_eq(readable_after(ep, 20), -1, "readable with nothing to read");
	pid_t p = producer_child(n, 1, 0);
	cr_assert_geq(readable_after(ep, 2000), 0, "no wake for a message");
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 1);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), -EAGAIN);
	int armed = shmring_arm(c);
	cr_assert(armed == 0 || armed == 1);
	if (armed == 0)   /* the producer's shutdown comes 50 ms later */
		cr_assert_geq(readable_after(ep, 2000), 0, "no wake for the end of stream");
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 1000000000), -EPIPE);
	cr_assert_eq(shmring_arm(c), 1, "an ended ring stays ready");
	cr_assert_eq(test_wait_child(p, 5000), 0);
	close(ep);
	shmring_close(c);
	shmring_unlink(n);
}

Test(event, peer_death_makes_it_readable, .timeout = 20)
{
	char n[64], buf[8];
	struct shmring *c;
	struct shmring_config cfg = { .kind = SHMRING_MPMC, .slot_size = 8, .slots = 8 };
	test_name(n, sizeof(n), "evdeath");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	int ep = watch(shmring_event_fd(c));
	pid_t p = producer_child(n, 2, 1);
	int got = 0;
	while (got < 2) {
		ssize_t rc = shmring_recv(c, buf, sizeof(buf), 0);
		if (rc == 1) {
			got++;
			continue;
		}
		cr_assert_eq(rc, -EAGAIN);
		if (shmring_arm(c) == 0)
			cr_assert_geq(readable_after(ep, 2000), 0);
	}
	waitpid(p, NULL, 0);
	/* killed without shutdown: the kernel drops its lock; within a
	 * liveness slice the descriptor says so */
	if (shmring_arm(c) == 0)
		cr_assert_geq(readable_after(ep, 2000), 0, "a dead producer went unnoticed");
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), -EPIPE);
	close(ep);
	shmring_close(c);
	shmring_unlink(n);
}

Test(event, room_for_a_producer, .timeout = 20)
{
	char n[64], buf[8];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 2 };
	test_name(n, sizeof(n), "evroom");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_send(p, "a", 1, 0), 0);
	cr_assert_eq(shmring_send(p, "b", 1, 0), 0);
	cr_assert_eq(shmring_send(p, "c", 1, 0), -EAGAIN);
	int ep = watch(shmring_event_fd(p));
	cr_assert_eq(shmring_arm(p), 0);
	cr_assert_eq(readable_after(ep, 20), -1);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 1);   /* frees a slot */
	cr_assert_geq(readable_after(ep, 2000), 0, "no wake for room");
	cr_assert_eq(shmring_send(p, "c", 1, 0), 0);
	close(ep);
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(n);
}

Test(event, arm_edge_cases)
{
	char n[64];
	struct shmring *p, *obs;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 2 };
	test_name(n, sizeof(n), "evedge");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_arm(p), -EINVAL, "arm before event_fd");
	cr_assert_eq(shmring_open(n, 0, &obs), 0);
	cr_assert_eq(shmring_event_fd(obs), -EINVAL, "an observer has no role to wait for");
	cr_assert_eq(shmring_event_fd(NULL), -EINVAL);
	cr_assert_eq(shmring_arm(NULL), -EINVAL);
	shmring_event_fd(p);
	cr_assert_eq(shmring_arm(p), 1, "room already: ready");
	shmring_close(obs);
	shmring_close(p);
	shmring_unlink(n);
}

/* close while armed stops the watcher at once (not after its 200 ms sleep
 * slice) */
Test(event, close_while_armed, .timeout = 10)
{
	char n[64];
	struct shmring *c, *p;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 2 };
	test_name(n, sizeof(n), "evclose");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);   /* no end of stream */
	shmring_event_fd(c);
	cr_assert_eq(shmring_arm(c), 0);
	test_sleep_ms(20);   /* the watcher is asleep on the ring */
	int64_t t0 = test_now_ns();
	shmring_close(c);
	long ms = (long)((test_now_ns() - t0) / 1000000);
	cr_assert_lt(ms, 100, "close took %ld ms", ms);
	shmring_close(p);
	shmring_unlink(n);
}

/* a saturated stream drained with timeout 0 arms (and sleeps) only when
 * the ring runs empty: the producer's wake calls are bounded by the arm
 * calls (each announces once, whatever it returns), never one per message */
Test(event, saturated_stream_wakes_only_on_empty, .timeout = 30)
{
	char n[64], buf[8];
	struct shmring *c;
	struct shmring_stats st;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 1024 };
	enum { COUNT = 200000 };
	test_name(n, sizeof(n), "evsat");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	int ep = watch(shmring_event_fd(c));
	pid_t p = producer_child(n, COUNT, 0);
	long got = 0, arms = 0, calls = 0;
	for (;;) {
		ssize_t rc = shmring_recv(c, buf, sizeof(buf), 0);
		if (rc == 1) {
			got++;
			continue;
		}
		if (rc == -EPIPE)
			break;
		cr_assert_eq(rc, -EAGAIN);
		int a = shmring_arm(c);
		calls++;
		if (a == 0) {
			arms++;
			cr_assert_geq(readable_after(ep, 5000), 0, "stuck after %ld messages", got);
		}
	}
	cr_assert_eq(got, COUNT);
	shmring_stats(c, &st);
	cr_assert_leq(st.prod_wakes, (uint64_t)calls + 1, "%llu wakes for %ld arm calls",
	              (unsigned long long)st.prod_wakes, calls);
	cr_assert_lt(st.prod_wakes, (uint64_t)COUNT / 100, "%llu wakes for %d messages",
	             (unsigned long long)st.prod_wakes, COUNT);
	cr_log_info("event: %ld messages, %ld arm calls (%ld armed), %llu producer wakes", got,
	            calls, arms, (unsigned long long)st.prod_wakes);
	cr_assert_eq(test_wait_child(p, 5000), 0);
	close(ep);
	shmring_close(c);
	shmring_unlink(n);
}
