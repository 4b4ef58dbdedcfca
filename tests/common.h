/* SPDX-License-Identifier: MIT */
/* tests/common.h - helpers shared by the Criterion tests and tests/peer.c */
#ifndef SHMRING_TESTS_COMMON_H
#define SHMRING_TESTS_COMMON_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <shmring.h>

/* the ring's sleeps so far on a full ring (full) or an empty one; a ring
 * whose statistics cannot be read ends the test process (a crash) */
static inline uint64_t test_waits(struct shmring *r, int full)
{
	struct shmring_stats st;
	if (shmring_stats(r, &st) != 0)
		abort();
	return full ? st.full_waits : st.empty_waits;
}

/* a ring name no other test (or test run) uses */
static inline void test_name(char *buf, size_t n, const char *tag)
{
	static unsigned counter;
	snprintf(buf, n, "/shmring-test-%s-%d-%u", tag, (int)getpid(), counter++);
	shmring_unlink(buf);
}

static inline int64_t test_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void test_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* splitmix64: message lengths and contents are a function of (seed, seq),
 * so a receiver regenerates and compares every byte */
static inline uint64_t test_mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static inline size_t test_msg_len(uint64_t seed, uint64_t seq, size_t maxlen)
{
	return (size_t)(test_mix(seed ^ (seq * 2 + 1)) % (maxlen + 1));
}

static inline void test_msg_fill(unsigned char *buf, size_t len, uint64_t seed, uint64_t seq)
{
	uint64_t x = test_mix(seed + seq);
	for (size_t i = 0; i < len; i++) {
		if ((i & 7) == 0)
			x = test_mix(x);
		buf[i] = (unsigned char)(x >> ((i & 7) * 8));
	}
}

/* 0 if buf holds exactly message seq */
static inline int test_msg_check(const unsigned char *buf, size_t len, uint64_t seed,
                                 uint64_t seq, size_t maxlen)
{
	unsigned char want[65536];
	if (len != test_msg_len(seed, seq, maxlen) || len > sizeof(want))
		return -1;
	test_msg_fill(want, len, seed, seq);
	return memcmp(buf, want, len) ? -1 : 0;
}

/* fork + exec tests/peer (path in $SHMRING_PEER) with the given arguments */
static inline pid_t test_spawn_peer(char *const argv_tail[])
{
	const char *peer = getenv("SHMRING_PEER");
	char *argv[16];
	int i = 0;

	if (!peer)
		peer = "build/tests/peer";
	argv[i++] = (char *)peer;
	for (int j = 0; argv_tail[j] && i < 15; j++)
		argv[i++] = argv_tail[j];
	argv[i] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		execv(peer, argv);
		fprintf(stderr, "exec %s: %s\n", peer, strerror(errno));
		_exit(127);
	}
	return pid;
}

/* wait for a child, at most timeout_ms; returns its exit status (0..255),
 * 128+signal, or -1 on timeout (the child is then killed) */
static inline int test_wait_child(pid_t pid, long timeout_ms)
{
	int64_t end = test_now_ns() + timeout_ms * 1000000;
	int st;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (w < 0)
			return -2;
		if (test_now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		test_sleep_ms(2);
	}
}

#endif
