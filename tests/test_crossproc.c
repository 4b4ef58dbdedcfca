/* SPDX-License-Identifier: MIT */
/*
 * tests/test_crossproc.c - two unrelated processes (the peer is exec'd):
 * long verified streams, blocking wake-ups, end of stream after a SIGKILL.
 */
#include <criterion/criterion.h>
#include "common.h"

static struct shmring *make_ring(char *name, size_t n, const char *tag, uint32_t slot_size,
                                 uint64_t slots, int roles)
{
	struct shmring *r;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = slot_size, .slots = slots };
	test_name(name, n, tag);
	cr_assert_eq(shmring_create(name, &cfg, roles, &r), 0);
	return r;
}

/* one million random-length messages, producer in another process, every
 * byte verified here, then end of stream */
Test(crossproc, stream_of_a_million_random_length_messages, .timeout = 180)
{
	char name[64], cnt[32], seed[32];
	static unsigned char buf[65536];
	const uint64_t N = 1000000, SEED = 0x5eed;
	struct shmring *c = make_ring(name, sizeof(name), "stream", 200, 256, SHMRING_CONSUMER);
	snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)N);
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)SEED);
	char *args[] = { "produce", name, cnt, seed, "200", "shutdown", NULL };
	pid_t pid = test_spawn_peer(args);

	uint64_t bytes = 0;
	for (uint64_t i = 0; i < N; i++) {
		ssize_t n = shmring_recv(c, buf, sizeof(buf), 10000000000LL);
		cr_assert_geq(n, 0, "recv %llu: %s", (unsigned long long)i, shmring_strerror((int)n));
		cr_assert_eq(test_msg_check(buf, (size_t)n, SEED, i, 200), 0,
		             "message %llu differs", (unsigned long long)i);
		bytes += (uint64_t)n;
	}
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 5000000000LL), -EPIPE);
	cr_assert_eq(test_wait_child(pid, 10000), 0);
	cr_assert_gt(bytes, N * 50, "lengths really vary up to 200");
	shmring_close(c);
	shmring_unlink(name);
}

/* the other direction: we produce, the exec'd peer verifies */
Test(crossproc, stream_verified_by_the_peer, .timeout = 180)
{
	char name[64];
	static unsigned char buf[4096];
	const uint64_t N = 300000, SEED = 77;
	struct shmring *p = make_ring(name, sizeof(name), "stream2", 1000, 64, SHMRING_PRODUCER);
	char *args[] = { "consume", name, "300000", "77", "1000", NULL };
	pid_t pid = test_spawn_peer(args);
	for (uint64_t i = 0; i < N; i++) {
		size_t len = test_msg_len(SEED, i, 1000);
		test_msg_fill(buf, len, SEED, i);
		cr_assert_eq(shmring_send(p, buf, len, 10000000000LL), 0);
	}
	cr_assert_eq(shmring_shutdown(p), 0);
	cr_assert_eq(test_wait_child(pid, 30000), 0, "peer verified every message and saw EOF");
	shmring_close(p);
	shmring_unlink(name);
}

/* 100,000 round trips where both sides sleep on the futex every time: a
 * lost wake-up hangs, and the .timeout turns the hang into a failure */
Test(crossproc, blocking_ping_pong_without_lost_wakeups, .timeout = 240)
{
	char ping[64], pong[64];
	const unsigned N = 100000;
	struct shmring *tx = make_ring(ping, sizeof(ping), "ping", 64, 4, SHMRING_PRODUCER);
	struct shmring *rx = make_ring(pong, sizeof(pong), "pong", 64, 4, SHMRING_CONSUMER);
	shmring_set_spin(tx, 0);
	shmring_set_spin(rx, 0);
	char *args[] = { "echo", ping, pong, "100000", "0", NULL };
	pid_t pid = test_spawn_peer(args);
	for (unsigned i = 0; i < N; i++) {
		unsigned v = 0;
		cr_assert_eq(shmring_send(tx, &i, sizeof(i), -1), 0);
		cr_assert_eq(shmring_recv(rx, &v, sizeof(v), -1), (ssize_t)sizeof(v));
		cr_assert_eq(v, i);
	}
	cr_assert_eq(test_wait_child(pid, 10000), 0);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(rx, &st), 0);
	/* the consumer here slept for (nearly) every reply, and was woken */
	cr_assert_gt(st.empty_waits, N / 2, "slept %llu times", (unsigned long long)st.empty_waits);
	cr_assert_gt(st.prod_wakes, N / 2);
	shmring_close(tx);
	shmring_close(rx);
	shmring_unlink(ping);
	shmring_unlink(pong);
}

/* start "peer produce ... hang" and wait until it has sent everything */
static pid_t spawn_hanging_producer(const char *name, const char *count)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		const char *peer = getenv("SHMRING_PEER");
		execl(peer ? peer : "build/tests/peer", "peer", "produce", name, count, "9", "40",
		      "hang", NULL);
		_exit(127);
	}
	close(fds[1]);
	char buf[16] = { 0 };
	cr_assert_gt(read(fds[0], buf, sizeof(buf) - 1), 0, "producer sent its messages");
	close(fds[0]);
	return pid;
}

static void killed_producer(int64_t spin)
{
	char name[64];
	unsigned char buf[64];
	struct shmring *c = make_ring(name, sizeof(name), "killprod", 64, 1024, SHMRING_CONSUMER);
	shmring_set_spin(c, spin);
	pid_t pid = spawn_hanging_producer(name, "1000");
	/* drain while the producer lives, then block in recv */
	for (uint64_t i = 0; i < 1000; i++) {
		ssize_t n = shmring_recv(c, buf, sizeof(buf), 0);
		cr_assert_geq(n, 0);
		cr_assert_eq(test_msg_check(buf, (size_t)n, 9, i, 40), 0);
	}
	pid_t killer = fork();
	if (killer == 0) {
		test_sleep_ms(200);
		kill(pid, SIGKILL);   /* not reaped: a zombie must count as dead */
		_exit(0);
	}
	int64_t t0 = test_now_ns();
	ssize_t n = shmring_recv(c, buf, sizeof(buf), -1);
	int64_t dt = test_now_ns() - t0;
	cr_assert_eq(n, -EPIPE, "got %zd", n);
	cr_assert_lt(dt - 200000000, 1000000000, "EPIPE within 1 s of the kill (%lld ms after start)",
	             (long long)(dt / 1000000));
	waitpid(killer, NULL, 0);
	waitpid(pid, NULL, 0);
	shmring_close(c);
	shmring_unlink(name);
}

Test(crossproc, killed_producer_sleeping_consumer_gets_epipe, .timeout = 20)
{
	killed_producer(0);
}

Test(crossproc, killed_producer_spinning_consumer_gets_epipe, .timeout = 20)
{
	killed_producer(-1);
}

Test(crossproc, killed_producer_committed_messages_are_drained, .timeout = 20)
{
	char name[64];
	unsigned char buf[64];
	struct shmring *c = make_ring(name, sizeof(name), "killdrain", 64, 1024, SHMRING_CONSUMER);
	pid_t pid = spawn_hanging_producer(name, "500");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (uint64_t i = 0; i < 500; i++) {
		ssize_t n = shmring_recv(c, buf, sizeof(buf), -1);
		cr_assert_geq(n, 0, "message %llu after the kill", (unsigned long long)i);
		cr_assert_eq(test_msg_check(buf, (size_t)n, 9, i, 40), 0);
	}
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), -1), -EPIPE);
	/* a new producer takes over the dead one's role; the stream resumes */
	struct shmring *p;
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_send(p, "again", 5, 0), 0);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), -1), 5);
	shmring_close(p);
	shmring_close(c);
	shmring_unlink(name);
}

Test(crossproc, consumer_gone_blocked_producer_gets_epipe, .timeout = 20)
{
	char name[64];
	struct shmring *p = make_ring(name, sizeof(name), "killcons", 8, 4, SHMRING_PRODUCER);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		const char *peer = getenv("SHMRING_PEER");
		execl(peer ? peer : "build/tests/peer", "peer", "hold", name, "consumer", NULL);
		_exit(127);
	}
	close(fds[1]);
	char rd[16] = { 0 };
	cr_assert_gt(read(fds[0], rd, sizeof(rd) - 1), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(shmring_send(p, &i, 1, 0), 0);
	cr_assert_eq(shmring_send(p, "x", 1, 0), -EAGAIN);
	pid_t killer = fork();
	if (killer == 0) {
		test_sleep_ms(100);
		kill(pid, SIGKILL);
		_exit(0);
	}
	int64_t t0 = test_now_ns();
	cr_assert_eq(shmring_send(p, "x", 1, -1), -EPIPE);
	cr_assert_lt(test_now_ns() - t0, 1100000000LL);
	waitpid(killer, NULL, 0);
	waitpid(pid, NULL, 0);
	shmring_close(p);
	shmring_unlink(name);
}
