/* SPDX-License-Identifier: MIT */
/* tests/test_broadcast.c - broadcast rings (SHMRING_BROADCAST): every
 * subscriber process gets every message in order; a dead subscriber stops
 * holding the producer back; a late joiner gets everything from its join
 * on; abort reaches every subscriber; the overwrite form counts losses
 * exactly; acquire holds the producer; poll and the event descriptor;
 * scribbled subscriber lines and slots stall or are skipped, never crash */
#include <criterion/criterion.h>
#include <poll.h>
#include "common.h"
#include "../src/private.h"   /* hostile tests write the shared lines */

#define SEED UINT64_C(0x6263617374)   /* "bcast" */
#define MAXLEN 64u

static char name[64];

static struct shmring_config bc_cfg(uint32_t slot_size, uint64_t slots, unsigned flags)
{
	struct shmring_config cfg = { .kind = SHMRING_BROADCAST, .slot_size = slot_size,
	                              .slots = slots, .flags = flags };
	return cfg;
}

/* message seq: 8 bytes of seq, then 0..56 bytes that are a function of it */
static size_t msg_make(unsigned char *buf, uint64_t seq)
{
	size_t len = 8 + test_msg_len(SEED, seq, MAXLEN - 8);
	memcpy(buf, &seq, 8);
	test_msg_fill(buf + 8, len - 8, SEED, seq);
	return len;
}

/* the sequence number of a received message, or UINT64_MAX if its bytes
 * are not those of that message */
static uint64_t msg_seq(const unsigned char *buf, size_t len)
{
	uint64_t seq;
	if (len < 8)
		return UINT64_MAX;
	memcpy(&seq, buf, 8);
	if (test_msg_check(buf + 8, len - 8, SEED, seq, MAXLEN - 8))
		return UINT64_MAX;
	return seq;
}

static int subscribers(struct shmring *r)
{
	struct shmring_subscriber s[SHMRING_MAX_PEERS];
	int n = shmring_subscriber_info(r, s, SHMRING_MAX_PEERS), live = 0;
	for (int i = 0; i < n; i++)
		live += s[i].alive;
	return live;
}

/* wait (at most 10 s) until want live subscribers are attached */
static void await_subscribers(struct shmring *r, int want)
{
	int64_t end = test_now_ns() + INT64_C(10000000000);
	while (subscribers(r) < want) {
		cr_assert(test_now_ns() < end, "subscribers did not attach");
		test_sleep_ms(1);
	}
}

/*
 * A subscriber process: open the ring, then receive until -EPIPE. Each
 * message must be the next one (from `first` on, or from its join position
 * when first is UINT64_MAX) with intact bytes; at the end it must have
 * `count` messages (UINT64_MAX: up to `last` inclusive) and the end reason
 * `reason`. mode 's' stalls after `stall_after` messages (until killed).
 * Exit status: 0 ok, 1 verification failed, 3 library error.
 */
static void subscriber_main(const char *nm, uint64_t first, uint64_t last, int reason,
                            uint64_t stall_after)
{
	struct shmring *r;
	unsigned char buf[256];
	int rc = shmring_open(nm, SHMRING_CONSUMER, &r);
	if (rc) {
		fprintf(stderr, "sub: open %d\n", rc);
		_exit(3);
	}
	struct shmring_subscriber me[SHMRING_MAX_PEERS];
	int n = shmring_subscriber_info(r, me, SHMRING_MAX_PEERS);
	uint64_t start = UINT64_MAX;
	for (int i = 0; i < n; i++)
		if (me[i].self)
			start = me[i].start;
	if (start == UINT64_MAX) {
		fprintf(stderr, "sub: not listed as a subscriber\n");
		_exit(1);
	}
	uint64_t next = first == UINT64_MAX ? start : first, got = 0;
	if (next < start) {
		fprintf(stderr, "sub: joined at %llu, after %llu\n", (unsigned long long)start,
		        (unsigned long long)next);
		_exit(1);
	}
	for (;;) {
		if (got == stall_after)
			for (;;)
				pause();
		ssize_t len = shmring_recv(r, buf, sizeof(buf), -1);
		if (len == -EPIPE)
			break;
		if (len < 0) {
			fprintf(stderr, "sub: recv %zd\n", len);
			_exit(3);
		}
		uint64_t seq = msg_seq(buf, (size_t)len);
		if (seq != next) {
			fprintf(stderr, "sub: got %llu, want %llu\n", (unsigned long long)seq,
			        (unsigned long long)next);
			_exit(1);
		}
		next++;
		got++;
	}
	if (next != last + 1 || shmring_end_reason(r) != reason) {
		fprintf(stderr, "sub: ended at %llu (want %llu), reason %d (want %d)\n",
		        (unsigned long long)next, (unsigned long long)last + 1,
		        shmring_end_reason(r), reason);
		_exit(1);
	}
	struct shmring_stats st;
	if (shmring_stats(r, &st) || st.received != got || st.overruns != 0) {
		fprintf(stderr, "sub: stats received %llu overruns %llu, got %llu\n",
		        (unsigned long long)st.received, (unsigned long long)st.overruns,
		        (unsigned long long)got);
		_exit(1);
	}
	shmring_close(r);
	_exit(0);
}

static pid_t spawn_subscriber(uint64_t first, uint64_t last, int reason, uint64_t stall_after)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0)
		subscriber_main(name, first, last, reason, stall_after);
	return pid;
}

/* send messages [from, to) blocking (each send at most 10 s) */
static void send_range(struct shmring *p, uint64_t from, uint64_t to)
{
	unsigned char buf[256];
	for (uint64_t i = from; i < to; i++) {
		size_t len = msg_make(buf, i);
		int rc = shmring_send(p, buf, len, INT64_C(10000000000));
		cr_assert_eq(rc, 0, "send %llu: %d", (unsigned long long)i, rc);
	}
}

Test(broadcast, config_open_and_roles)
{
	struct shmring_config cfg = bc_cfg(32, 16, 0);
	struct shmring *p, *q, *s[SHMRING_MAX_PEERS + 1];
	test_name(name, sizeof(name), "bccfg");

	cfg.flags = SHMRING_PACKED;
	cr_assert_eq(shmring_create(name, &cfg, 0, &p), -EINVAL, "packed broadcast is not built");
	cfg.flags = SHMRING_OVERWRITE;
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	shmring_close(p);
	shmring_unlink(name);
	cfg.flags = 0;
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	struct shmring_info in;
	cr_assert_eq(shmring_info(p, &in), 0);
	cr_assert_eq(in.kind, SHMRING_BROADCAST);
	/* the subscriber lines follow the slots: 16 slots of 16 + 32 bytes */
	cr_assert_eq(in.mem_size, SHMRING__HDR_SIZE + 16 * 48 + 64 * 128);
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &q), -EBUSY, "one producer");
	for (unsigned i = 0; i < SHMRING_MAX_PEERS; i++)
		cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &s[i]), 0, "subscriber %u", i);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &s[SHMRING_MAX_PEERS]), -EUSERS);
	cr_assert_eq(shmring_subscriber_info(p, NULL, 0), SHMRING_MAX_PEERS);
	struct shmring_subscriber si[SHMRING_MAX_PEERS];
	cr_assert_eq(shmring_subscriber_info(s[3], si, SHMRING_MAX_PEERS), SHMRING_MAX_PEERS);
	cr_assert(si[3].self && !si[2].self && si[3].alive && si[3].lag == 0);
	for (unsigned i = 0; i < SHMRING_MAX_PEERS; i++)
		shmring_close(s[i]);
	cr_assert_eq(shmring_subscriber_info(p, si, SHMRING_MAX_PEERS), 0, "all left");
	struct shmring *spsc;
	struct shmring_config c2 = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	char n2[64];
	test_name(n2, sizeof(n2), "bcspsc");
	cr_assert_eq(shmring_create(n2, &c2, 0, &spsc), 0);
	cr_assert_eq(shmring_subscriber_info(spsc, si, 1), -EINVAL, "not a broadcast ring");
	shmring_close(spsc);
	shmring_unlink(n2);
	shmring_close(p);
	shmring_unlink(name);
}

/* the object's identity is checked at open from the handle's copies: a
 * total size that does not include the subscriber lines is refused */
Test(broadcast, open_checks_the_size_with_the_lines)
{
	struct shmring_config cfg = bc_cfg(32, 16, 0);
	struct shmring *p, *q;
	test_name(name, sizeof(name), "bcsize");
	cr_assert_eq(shmring_create(name, &cfg, 0, &p), 0);
	uint64_t total = p->hdr->total_size;
	p->hdr->total_size = SHMRING__HDR_SIZE + 16 * 48;   /* as an SPSC ring's */
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &q), -EPROTO);
	p->hdr->total_size = total;
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &q), 0);
	shmring_close(q);
	shmring_close(p);
	shmring_unlink(name);
}

#define N_MSGS 200000u

Test(broadcast, three_subscriber_processes_get_every_message, .timeout = 240)
{
	struct shmring_config cfg = bc_cfg(MAXLEN, 256, 0);
	struct shmring *p;
	pid_t kids[3];
	test_name(name, sizeof(name), "bc3");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	for (int i = 0; i < 3; i++)
		kids[i] = spawn_subscriber(0, N_MSGS - 1, SHMRING_END_CLEAN, UINT64_MAX);
	await_subscribers(p, 3);
	send_range(p, 0, N_MSGS);
	cr_assert_eq(shmring_shutdown(p), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(test_wait_child(kids[i], 120000), 0, "subscriber %d", i);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(p, &st), 0);
	cr_assert_eq(st.sent, N_MSGS);
	shmring_close(p);
	shmring_unlink(name);
}

/* bursts both ways, and the zero-copy calls, across processes */
Test(broadcast, bursts_and_zero_copy_across_processes, .timeout = 120)
{
	struct shmring_config cfg = bc_cfg(MAXLEN, 64, 0);
	struct shmring *p;
	enum { N = 50000 };
	test_name(name, sizeof(name), "bcburst");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	pid_t kid = fork();
	cr_assert(kid >= 0);
	if (kid == 0) {
		/* burst receiver, then acquire/release for the rest */
		struct shmring *r;
		unsigned char b[16][256];
		struct iovec v[16];
		uint64_t next = 0;
		if (shmring_open(name, SHMRING_CONSUMER, &r))
			_exit(3);
		while (next < N / 2) {
			for (int i = 0; i < 16; i++)
				v[i] = (struct iovec){ b[i], MAXLEN };
			int k = shmring_recv_burst(r, v, 16, -1);
			if (k < 1)
				_exit(3);
			for (int i = 0; i < k; i++)
				if (msg_seq(b[i], v[i].iov_len) != next++)
					_exit(1);
		}
		for (;;) {
			struct shmring_slot s;
			int rc = shmring_acquire(r, &s, -1);
			if (rc == -EPIPE)
				break;
			if (rc || msg_seq(s.data, s.len) != next++)
				_exit(1);
			if (shmring_release(r, &s))
				_exit(1);
		}
		_exit(next == N && shmring_end_reason(r) == SHMRING_END_CLEAN ? 0 : 1);
	}
	await_subscribers(p, 1);
	unsigned char b[16][256];
	struct iovec v[16];
	uint64_t next = 0;
	while (next < N / 2) {
		unsigned k = 0;
		for (; k < 16 && next + k < N / 2; k++)
			v[k] = (struct iovec){ b[k], msg_make(b[k], next + k) };
		int sent = shmring_send_burst(p, v, k, INT64_C(10000000000));
		cr_assert(sent >= 1, "send_burst %d", sent);
		next += (uint64_t)sent;
	}
	for (; next < N; next++) {
		struct shmring_slot s;
		cr_assert_eq(shmring_reserve(p, &s, INT64_C(10000000000)), 0);
		cr_assert_geq(s.len, MAXLEN);
		size_t len = msg_make(s.data, next);
		cr_assert_eq(shmring_commit(p, &s, len), 0);
	}
	cr_assert_eq(shmring_shutdown(p), 0);
	cr_assert_eq(test_wait_child(kid, 60000), 0);
	shmring_close(p);
	shmring_unlink(name);
}

/* a subscriber that stops reading holds the producer at full; SIGKILLed,
 * it holds nothing: the producer finishes and the others get everything */
Test(broadcast, killed_stalled_subscriber_releases_the_producer, .timeout = 120)
{
	struct shmring_config cfg = bc_cfg(MAXLEN, 64, 0);
	struct shmring *p;
	enum { N = 20000 };
	pid_t kids[2], stalled;
	test_name(name, sizeof(name), "bckill");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	for (int i = 0; i < 2; i++)
		kids[i] = spawn_subscriber(0, N - 1, SHMRING_END_CLEAN, UINT64_MAX);
	stalled = spawn_subscriber(0, N - 1, SHMRING_END_CLEAN, 10);
	await_subscribers(p, 3);
	/* fill until the stalled one holds us: a send that cannot proceed
	 * while subscriber_info says someone is a whole ring behind */
	unsigned char buf[256];
	uint64_t i = 0;
	int64_t end = test_now_ns() + INT64_C(30000000000);
	for (;;) {
		cr_assert(i < N && test_now_ns() < end, "the stalled subscriber never held us");
		size_t len = msg_make(buf, i);
		int rc = shmring_send(p, buf, len, 1000000);
		if (rc == 0) {
			i++;
			continue;
		}
		cr_assert(rc == -ETIMEDOUT, "send %d", rc);
		struct shmring_subscriber s[SHMRING_MAX_PEERS];
		int n = shmring_subscriber_info(p, s, SHMRING_MAX_PEERS), stalling = 0;
		for (int k = 0; k < n; k++)
			stalling += s[k].stalling;
		if (stalling == 1)
			break;
	}
	cr_assert_eq(kill(stalled, SIGKILL), 0);
	cr_assert_eq(test_wait_child(stalled, 10000), 128 + SIGKILL);
	/* the rest goes through (each send at most 10 s: never on a dead one) */
	int64_t t0 = test_now_ns();
	send_range(p, i, N);
	cr_assert_eq(shmring_shutdown(p), 0);
	for (int k = 0; k < 2; k++)
		cr_assert_eq(test_wait_child(kids[k], 60000), 0, "subscriber %d", k);
	cr_log_info("producer finished %.3f s after the kill", (test_now_ns() - t0) / 1e9);
	shmring_close(p);
	shmring_unlink(name);
}

/* joiners in mid-stream get every message from their join on, nothing
 * from before; the ones from the start get all */
Test(broadcast, subscriber_joining_mid_stream_gets_everything_after_its_join, .timeout = 120)
{
	struct shmring_config cfg = bc_cfg(MAXLEN, 32, 0);
	struct shmring *p;
	enum { N = 60000 };
	pid_t early, late[3];
	test_name(name, sizeof(name), "bcjoin");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	early = spawn_subscriber(0, N - 1, SHMRING_END_CLEAN, UINT64_MAX);
	await_subscribers(p, 1);
	send_range(p, 0, 5000);
	for (int k = 0; k < 3; k++) {
		late[k] = spawn_subscriber(UINT64_MAX, N - 1, SHMRING_END_CLEAN, UINT64_MAX);
		/* the producer keeps sending while it joins */
		uint64_t from = 5000 + (uint64_t)k * 5000;
		send_range(p, from, from + 5000);
		await_subscribers(p, 2 + k);
	}
	send_range(p, 20000, N);
	cr_assert_eq(shmring_shutdown(p), 0);
	cr_assert_eq(test_wait_child(early, 60000), 0);
	for (int k = 0; k < 3; k++)
		cr_assert_eq(test_wait_child(late[k], 60000), 0, "late subscriber %d", k);
	shmring_close(p);
	shmring_unlink(name);
}

Test(broadcast, abort_ends_every_subscribers_stream_aborted, .timeout = 60)
{
	struct shmring_config cfg = bc_cfg(MAXLEN, 16, 0);
	struct shmring *p;
	pid_t kids[3];
	test_name(name, sizeof(name), "bcabort");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	for (int i = 0; i < 3; i++)
		kids[i] = spawn_subscriber(0, 999, SHMRING_END_ABORTED, UINT64_MAX);
	await_subscribers(p, 3);
	send_range(p, 0, 1000);
	cr_assert_eq(shmring_abort(p), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(test_wait_child(kids[i], 30000), 0, "subscriber %d", i);
	shmring_close(p);
	shmring_unlink(name);
}

/* a producer that closes without a shutdown: every subscriber drains, then
 * -EPIPE with SHMRING_END_DIED */
Test(broadcast, producer_close_without_shutdown_is_died, .timeout = 60)
{
	struct shmring_config cfg = bc_cfg(MAXLEN, 16, 0);
	struct shmring *p;
	pid_t kids[2];
	test_name(name, sizeof(name), "bcdied");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	for (int i = 0; i < 2; i++)
		kids[i] = spawn_subscriber(0, 499, SHMRING_END_DIED, UINT64_MAX);
	await_subscribers(p, 2);
	send_range(p, 0, 500);
	shmring_close(p);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(test_wait_child(kids[i], 30000), 0, "subscriber %d", i);
	shmring_unlink(name);
}

/* ---- in one process: exact, scheduling-free checks ---- */

static void send_u64(struct shmring *r, uint64_t v, int want)
{
	cr_assert_eq(shmring_send(r, &v, sizeof(v), 0), want, "send %llu", (unsigned long long)v);
}

static uint64_t recv_u64(struct shmring *r)
{
	uint64_t v = UINT64_MAX;
	cr_assert_eq(shmring_recv(r, &v, sizeof(v), 0), (ssize_t)sizeof(v));
	return v;
}

Test(broadcast, lossless_producer_waits_for_the_slowest)
{
	struct shmring_config cfg = bc_cfg(8, 8, 0);
	struct shmring *p, *a, *b;
	test_name(name, sizeof(name), "bcslow");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	/* no subscriber: messages go nowhere, the producer never waits */
	for (uint64_t i = 0; i < 20; i++)
		send_u64(p, i, 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &a), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &b), 0);
	cr_assert_eq(shmring_recv(a, &(uint64_t){ 0 }, 8, 0), -EAGAIN, "nothing from before");
	for (uint64_t i = 20; i < 28; i++)
		send_u64(p, i, 0);
	send_u64(p, 28, -EAGAIN);   /* both a ring behind */
	for (uint64_t i = 20; i < 28; i++)
		cr_assert_eq(recv_u64(a), i);
	send_u64(p, 28, -EAGAIN);   /* b still is */
	cr_assert_eq(recv_u64(b), 20);
	send_u64(p, 28, 0);
	send_u64(p, 29, -EAGAIN);
	cr_assert_eq(shmring_send(p, &(uint64_t){ 29 }, 8, 20000000), -ETIMEDOUT);
	shmring_close(b);   /* leaves: holds nothing */
	send_u64(p, 29, 0);
	cr_assert_eq(recv_u64(a), 28);
	cr_assert_eq(recv_u64(a), 29);
	cr_assert_eq(shmring_recv(a, &(uint64_t){ 0 }, 8, 0), -EAGAIN);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(a, &st), 0);
	cr_assert_eq(st.received, 10);
	cr_assert_eq(st.sent, 30);
	shmring_close(a);
	shmring_close(p);
	shmring_unlink(name);
}

Test(broadcast, acquire_holds_the_producer_back)
{
	struct shmring_config cfg = bc_cfg(8, 4, 0);
	struct shmring *p, *a;
	struct shmring_slot s;
	test_name(name, sizeof(name), "bcacq");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &a), 0);
	send_u64(p, 0, 0);
	cr_assert_eq(shmring_acquire(a, &s, 0), 0);
	cr_assert_eq(s.len, 8);
	cr_assert_eq(*(uint64_t *)s.data, 0);
	cr_assert_eq(shmring_acquire(a, &s, 0), -EBUSY);
	for (uint64_t i = 1; i < 4; i++)
		send_u64(p, i, 0);
	send_u64(p, 4, -EAGAIN);   /* would overwrite the acquired slot */
	cr_assert_eq(*(uint64_t *)s.data, 0, "the slot is intact");
	cr_assert_eq(shmring_release(a, &s), 0);
	send_u64(p, 4, 0);
	for (uint64_t i = 1; i < 5; i++)
		cr_assert_eq(recv_u64(a), i);
	/* reserve/commit on the producer side */
	struct shmring_slot w;
	cr_assert_eq(shmring_reserve(p, &w, 0), 0);
	cr_assert_eq(shmring_reserve(p, &w, 0), -EBUSY);
	memcpy(w.data, &(uint64_t){ 77 }, 8);
	cr_assert_eq(shmring_commit(p, &w, 9), -EMSGSIZE);
	cr_assert_eq(shmring_commit(p, &w, 8), 0);
	cr_assert_eq(recv_u64(a), 77);
	shmring_close(a);
	shmring_close(p);
	shmring_unlink(name);
}

/* the overwrite form: the producer never waits, each subscriber loses what
 * it did not read in time and counts it: sent = delivered + overruns */
Test(broadcast, overwrite_counts_losses_exactly)
{
	struct shmring_config cfg = bc_cfg(8, 8, SHMRING_OVERWRITE);
	struct shmring *p, *s[3];
	uint64_t last[3] = { 0 }, got[3] = { 0 };
	test_name(name, sizeof(name), "bcow");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	for (int k = 0; k < 3; k++)
		cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &s[k]), 0);
	/* subscriber k reads one message every k + 1 sends (k = 2: burst) */
	enum { N = 1000 };
	for (uint64_t i = 0; i < N; i++) {
		send_u64(p, i, 0);
		for (int k = 0; k < 3; k++) {
			if (i % (uint64_t)(k * 5 + 1))
				continue;
			uint64_t v[4] = { 0 };
			struct iovec iov[4];
			for (int j = 0; j < 4; j++)
				iov[j] = (struct iovec){ &v[j], 8 };
			int n = k == 2 ? shmring_recv_burst(s[k], iov, 4, 0) : 1;
			if (k != 2)
				cr_assert_eq(shmring_recv(s[k], &v[0], 8, 0), 8);
			cr_assert_geq(n, 1);
			for (int j = 0; j < n; j++) {
				cr_assert(got[k] == 0 || v[j] > last[k], "in order");
				last[k] = v[j];
				got[k]++;
			}
		}
	}
	cr_assert_eq(shmring_shutdown(p), 0);
	for (int k = 0; k < 3; k++) {
		uint64_t v;
		ssize_t rc;
		while ((rc = shmring_recv(s[k], &v, 8, 0)) == 8) {
			cr_assert(v > last[k]);
			last[k] = v;
			got[k]++;
		}
		cr_assert_eq(rc, -EPIPE);
		cr_assert_eq(shmring_end_reason(s[k]), SHMRING_END_CLEAN);
		struct shmring_stats st;
		cr_assert_eq(shmring_stats(s[k], &st), 0);
		cr_assert_eq(st.received, got[k]);
		cr_assert_eq(st.sent, N);
		cr_assert_eq(st.received + st.overruns, N, "subscriber %d: %llu + %llu", k,
		             (unsigned long long)st.received, (unsigned long long)st.overruns);
		cr_assert_eq(last[k], N - 1, "the newest is never lost");
	}
	cr_assert_gt(shmring_stats(s[1], &(struct shmring_stats){ 0 }) == 0, -1);
	/* subscriber 0 read after every send: lost nothing */
	struct shmring_stats st0;
	cr_assert_eq(shmring_stats(s[0], &st0), 0);
	cr_assert_eq(st0.overruns, 0);
	for (int k = 0; k < 3; k++)
		shmring_close(s[k]);
	shmring_close(p);
	shmring_unlink(name);
}

/* overwrite form, acquire: -ESTALE when the slot was overwritten meanwhile */
Test(broadcast, overwrite_release_after_overwrite_is_estale)
{
	struct shmring_config cfg = bc_cfg(8, 4, SHMRING_OVERWRITE);
	struct shmring *p, *a;
	struct shmring_slot s;
	test_name(name, sizeof(name), "bcowacq");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &a), 0);
	send_u64(p, 0, 0);
	cr_assert_eq(shmring_acquire(a, &s, 0), 0);
	for (uint64_t i = 1; i < 6; i++)
		send_u64(p, i, 0);   /* never waits */
	cr_assert_eq(shmring_release(a, &s), -ESTALE);
	uint64_t v = recv_u64(a);
	cr_assert_geq(v, 2);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(a, &st), 0);
	cr_assert_eq(st.received + st.overruns, v + 1);
	shmring_close(a);
	shmring_close(p);
	shmring_unlink(name);
}

/* poll and the event descriptor of a subscriber */
Test(broadcast, poll_and_event_fd_on_a_subscriber, .timeout = 30)
{
	struct shmring_config cfg = bc_cfg(8, 4, 0);
	struct shmring *p, *a;
	test_name(name, sizeof(name), "bcpoll");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &a), 0);
	struct shmring_pollitem it[2] = { { a, SHMRING_POLLIN, 0 }, { p, SHMRING_POLLOUT, 0 } };
	cr_assert_eq(shmring_poll(it, 1, 0), -EAGAIN);
	cr_assert_eq(shmring_poll(&it[1], 1, 0), 1, "room");
	for (uint64_t i = 0; i < 4; i++)
		send_u64(p, i, 0);
	it[1].revents = 0;
	cr_assert_eq(shmring_poll(&it[1], 1, 0), -EAGAIN, "full: the subscriber is a ring behind");
	cr_assert_eq(shmring_poll(it, 1, 0), 1);
	cr_assert_eq(it[0].revents, SHMRING_POLLIN);
	for (uint64_t i = 0; i < 4; i++)
		cr_assert_eq(recv_u64(a), i);
	/* event fd: armed on an empty ring, readable once a message comes */
	int fd = shmring_event_fd(a);
	cr_assert_geq(fd, 0);
	cr_assert_eq(shmring_arm(a), 0);
	struct pollfd pf = { fd, POLLIN, 0 };
	cr_assert_eq(poll(&pf, 1, 0), 0, "nothing yet");
	send_u64(p, 4, 0);
	cr_assert_eq(poll(&pf, 1, 10000), 1, "the message woke the descriptor");
	cr_assert_eq(recv_u64(a), 4);
	/* and the end of the stream */
	cr_assert_eq(shmring_arm(a), 0);
	cr_assert_eq(shmring_shutdown(p), 0);
	cr_assert_eq(poll(&pf, 1, 10000), 1, "the end woke the descriptor");
	cr_assert_eq(shmring_recv(a, &(uint64_t){ 0 }, 8, 0), -EPIPE);
	shmring_close(a);
	shmring_close(p);
	shmring_unlink(name);
}

/* a sleeping producer is woken by the subscriber that frees room, and a
 * sleeping subscriber by the producer (both sleep at once: no spinning) */
Test(broadcast, sleepers_are_woken_across_processes, .timeout = 120)
{
	struct shmring_config cfg = bc_cfg(MAXLEN, 4, 0);
	struct shmring *p;
	enum { N = 20000 };
	test_name(name, sizeof(name), "bcsleep");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_set_spin(p, 0), 0);
	pid_t kid = fork();
	cr_assert(kid >= 0);
	if (kid == 0) {
		struct shmring *r;
		unsigned char buf[256];
		uint64_t next = 0;
		if (shmring_open(name, SHMRING_CONSUMER, &r) || shmring_set_spin(r, 0))
			_exit(3);
		ssize_t len;
		while ((len = shmring_recv(r, buf, sizeof(buf), INT64_C(10000000000))) > 0)
			if (msg_seq(buf, (size_t)len) != next++)
				_exit(1);
		_exit(len == -EPIPE && next == N ? 0 : 1);
	}
	await_subscribers(p, 1);
	send_range(p, 0, N);
	cr_assert_eq(shmring_shutdown(p), 0);
	cr_assert_eq(test_wait_child(kid, 60000), 0);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(p, &st), 0);
	cr_log_info("full_waits %llu empty_waits %llu", (unsigned long long)st.full_waits,
	            (unsigned long long)st.empty_waits);
	shmring_close(p);
	shmring_unlink(name);
}

/* ---- hostile shared memory ---- */

/* garbage in a live subscriber's line: the producer is held (times out),
 * info says who; never a crash. Garbage in a line nobody holds: the
 * producer finds its entry unlocked and goes on */
Test(broadcast, scribbled_subscriber_line_stalls_or_is_cleared, .timeout = 30)
{
	struct shmring_config cfg = bc_cfg(8, 8, 0);
	struct shmring *p, *a;
	test_name(name, sizeof(name), "bcscrib");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &a), 0);
	struct shmring__bcast_sub *lines = priv(p)->bc.subs;
	int me = priv(a)->cons_entry;
	const uint64_t garbage[] = { UINT64_MAX, UINT64_C(0xdeadbeefdeadbeef), 1u << 20, 2 };
	for (unsigned g = 0; g < sizeof(garbage) / sizeof(garbage[0]); g++) {
		uint64_t v;
		while (shmring_recv(a, &v, 8, 0) == 8)
			;
		lines[me].hold = garbage[g];
		int rc = 0;
		for (int i = 0; i < 20 && rc == 0; i++)
			rc = shmring_send(p, &(uint64_t){ 1 }, 8, 2000000);
		cr_assert(rc == -ETIMEDOUT, "garbage %u: held back (%d)", g, rc);
		struct shmring_subscriber si[SHMRING_MAX_PEERS];
		cr_assert_eq(shmring_subscriber_info(p, si, SHMRING_MAX_PEERS), 1);
		cr_assert(si[0].stalling && si[0].alive, "info names the staller");
		/* the subscriber still works: it reads what is there */
		ssize_t got = shmring_recv(a, &v, 8, 0);
		cr_assert(got == 8 || got == -EAGAIN || got == -EBADMSG, "recv %zd", got);
		/* its next position frees the producer */
		while (shmring_recv(a, &v, 8, 0) == 8)
			;
		lines[me].hold = a->c.pos + 1;
		cr_assert_eq(shmring_send(p, &(uint64_t){ 1 }, 8, 0), 0, "garbage %u", g);
	}
	/* a line nobody holds, with a hold that blocks: cleared by the waiting
	 * producer (its entry's lock is free), the send goes through */
	lines[17].hold = p->p.pos + 1;   /* no subscriber at entry 17 */
	shmring_close(a);
	for (int i = 0; i < 8; i++)
		send_u64(p, 100 + (uint64_t)i, 0);
	cr_assert_eq(shmring_send(p, &(uint64_t){ 1 }, 8, INT64_C(5000000000)), 0,
	             "a dead line stops holding the producer");
	cr_assert_eq(lines[17].hold, 0);
	shmring_close(p);
	shmring_unlink(name);
}

/* garbage slot words and lengths: reported (-EBADMSG) or skipped, never a
 * read outside the slot, never a crash; the ring goes on */
Test(broadcast, scribbled_slots_are_reported_not_trusted)
{
	for (int form = 0; form < 2; form++) {
		struct shmring_config cfg = bc_cfg(8, 8, form ? SHMRING_OVERWRITE : 0);
		struct shmring *p, *a;
		test_name(name, sizeof(name), "bcslot");
		cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
		cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &a), 0);
		for (uint64_t i = 0; i < 4; i++)
			send_u64(p, i, 0);
		struct shmring__slot_ow *s0 = (void *)(p->slots0 + 0 * p->stride);
		struct shmring__slot_ow *s1 = (void *)(p->slots0 + 1 * p->stride);
		struct shmring__slot_ow *s2 = (void *)(p->slots0 + 2 * p->stride);
		s0->len = 1u << 30;                 /* impossible length */
		s1->seq = 1;                        /* an older mark: corrupt */
		s2->seq = UINT64_C(1) << 40;        /* a far later mark */
		uint64_t v;
		cr_assert_eq(shmring_recv(a, &v, 8, 0), -EBADMSG, "length");
		cr_assert_eq(shmring_recv(a, &v, 8, 0), -EBADMSG, "older mark");
		ssize_t rc = shmring_recv(a, &v, 8, 0);
		cr_assert(rc == 8 || rc == -EAGAIN || rc == -EBADMSG, "later mark: %zd", rc);
		for (uint64_t i = 4; i < 6; i++)
			send_u64(p, i, 0);
		/* whatever was skipped, the newest message still arrives */
		uint64_t last = 0;
		while ((rc = shmring_recv(a, &v, 8, 0)) == 8 || rc == -EBADMSG)
			if (rc == 8)
				last = v;
		cr_assert_eq(rc, -EAGAIN);
		cr_assert_eq(last, 5);
		shmring_close(a);
		shmring_close(p);
		shmring_unlink(name);
	}
}

/* a garbage producer index: a joiner starts somewhere, reads nothing
 * beyond its slots, and the producer is held or goes on; no crash */
Test(broadcast, scribbled_producer_index_at_join)
{
	struct shmring_config cfg = bc_cfg(8, 8, 0);
	struct shmring *p, *a;
	test_name(name, sizeof(name), "bcidx");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
	p->hdr->prod_idx = UINT64_C(0xfffffffffffffff0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &a), 0);
	uint64_t v;
	cr_assert_eq(shmring_recv(a, &v, 8, 0), -EAGAIN);
	int rc = shmring_send(p, &(uint64_t){ 1 }, 8, 1000000);
	cr_assert(rc == 0 || rc == -ETIMEDOUT, "send %d", rc);
	struct shmring_subscriber si[SHMRING_MAX_PEERS];
	cr_assert_eq(shmring_subscriber_info(p, si, SHMRING_MAX_PEERS), 1);
	cr_assert_leq(si[0].lag, 8);
	shmring_close(a);
	shmring_close(p);
	shmring_unlink(name);
}

/* a producer waiting through its event descriptor (or shmring_poll) on a
 * full ring learns that the subscriber holding it died: the descriptor
 * turns readable, and the next try finds the room */
Test(broadcast, producer_event_fd_and_poll_see_a_dead_subscriber, .timeout = 60)
{
	for (int via_poll = 0; via_poll < 2; via_poll++) {
		struct shmring_config cfg = bc_cfg(8, 4, 0);
		struct shmring *p;
		int ready[2];
		test_name(name, sizeof(name), "bcdead");
		cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &p), 0);
		cr_assert_eq(pipe(ready), 0);
		pid_t kid = fork();
		cr_assert(kid >= 0);
		if (kid == 0) {
			struct shmring *c;
			if (shmring_open(name, SHMRING_CONSUMER, &c))
				_exit(3);
			if (write(ready[1], "r", 1) != 1)
				_exit(3);
			for (;;)
				pause();
		}
		char x;
		cr_assert_eq(read(ready[0], &x, 1), 1);
		/* a live subscriber that keeps up: the consumers are never all
		 * gone, only the dead one holds the producer */
		struct shmring *a;
		cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &a), 0);
		for (uint64_t i = 0; i < 4; i++)
			send_u64(p, i, 0);
		for (uint64_t i = 0; i < 4; i++)
			cr_assert_eq(recv_u64(a), i);
		send_u64(p, 4, -EAGAIN);   /* the stopped subscriber holds us */
		int fd = -1;
		struct pollfd pf = { -1, POLLIN, 0 };
		if (!via_poll) {
			fd = shmring_event_fd(p);
			cr_assert_geq(fd, 0);
			cr_assert_eq(shmring_arm(p), 0, "full: armed");
			pf.fd = fd;
			cr_assert_eq(poll(&pf, 1, 0), 0, "nothing yet");
		}
		cr_assert_eq(kill(kid, SIGKILL), 0);
		cr_assert_eq(test_wait_child(kid, 10000), 128 + SIGKILL);
		if (via_poll) {
			struct shmring_pollitem it = { p, SHMRING_POLLOUT, 0 };
			cr_assert_eq(shmring_poll(&it, 1, INT64_C(10000000000)), 1);
			cr_assert_eq(it.revents, SHMRING_POLLOUT);
		} else {
			cr_assert_eq(poll(&pf, 1, 10000), 1, "the death woke the descriptor");
		}
		send_u64(p, 4, 0);
		cr_assert_eq(recv_u64(a), 4);
		shmring_close(a);
		close(ready[0]);
		close(ready[1]);
		shmring_close(p);
		shmring_unlink(name);
	}
}
