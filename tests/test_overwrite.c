/* SPDX-License-Identifier: MIT */
/* tests/test_overwrite.c - SHMRING_OVERWRITE (overwrite-oldest SPSC rings):
 * the producer never waits, losses are counted exactly, no torn message
 * is ever delivered, -ESTALE on a release after the slot was overwritten,
 * end of stream, poll readiness, hostile slot words */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include "common.h"
#include "../src/private.h"   /* the hostile test resets the engine's cached index */

static char name[64];
static struct shmring *prod, *cons;

static struct shmring_config ow_cfg(uint32_t slot_size, uint64_t slots)
{
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = slot_size,
	                              .slots = slots, .flags = SHMRING_OVERWRITE };
	return cfg;
}

/* a producer handle and a consumer handle on one new ring */
static void open_pair(uint32_t slot_size, uint64_t slots)
{
	struct shmring_config cfg = ow_cfg(slot_size, slots);
	test_name(name, sizeof(name), "ow");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &prod), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &cons), 0);
}

static void teardown(void)
{
	shmring_close(cons);
	shmring_close(prod);
	cons = prod = NULL;
	shmring_unlink(name);
}

static struct shmring_stats stats_of(struct shmring *r)
{
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(r, &st), 0);
	return st;
}

static void send_u64(struct shmring *r, uint64_t v)
{
	cr_assert_eq(shmring_send(r, &v, sizeof(v), 0), 0, "send %llu", (unsigned long long)v);
}

static uint64_t recv_u64(struct shmring *r)
{
	uint64_t v = UINT64_MAX;
	cr_assert_eq(shmring_recv(r, &v, sizeof(v), 0), (ssize_t)sizeof(v));
	return v;
}

static struct shmring__slot_ow *slot_of(struct shmring *r, uint64_t pos)
{
	return (struct shmring__slot_ow *)(void *)(r->slots0 + (pos & r->mask) * r->stride);
}

Test(overwrite, config_rules_and_info)
{
	struct shmring_config cfg = ow_cfg(16, 8);
	struct shmring *r;
	test_name(name, sizeof(name), "owcfg");

	cfg.kind = SHMRING_MPMC;
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), -EINVAL, "overwrite is SPSC only");
	cr_assert_eq(shmring_create_memfd(&cfg, 0, &r), -EINVAL);
	cfg.kind = SHMRING_SPSC;
	cfg.flags = SHMRING_OVERWRITE | 0x400u;
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), -EINVAL, "unknown flag");
	cfg.flags = SHMRING_OVERWRITE;
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &r), 0);
	struct shmring_info in;
	cr_assert_eq(shmring_info(r, &in), 0);
	cr_assert_eq(in.kind, SHMRING_SPSC, "the public kind");
	cr_assert(in.flags & SHMRING_OVERWRITE);
	struct shmring *r2;
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &r2), -EBUSY, "one producer");
	shmring_close(r);
	shmring_unlink(name);
}

Test(overwrite, unknown_or_impossible_flags_refused_at_open)
{
	struct shmring_config cfg = ow_cfg(16, 8);
	struct shmring *r, *r2;
	test_name(name, sizeof(name), "owflags");

	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	uint32_t *flags = &r->hdr->flags;
	*flags = SHMRING_OVERWRITE | 0x800u;   /* a later library's flag */
	cr_assert_eq(shmring_open(name, 0, &r2), -EPROTO);
	*flags = SHMRING_OVERWRITE;
	r->hdr->kind = SHMRING_MPMC;           /* MPMC overwrite does not exist */
	cr_assert_eq(shmring_open(name, 0, &r2), -EPROTO);
	r->hdr->kind = SHMRING_SPSC;
	*flags = 0;   /* the plain SPSC layout has another stride */
	cr_assert_eq(shmring_open(name, 0, &r2), -EPROTO);
	*flags = SHMRING_OVERWRITE;
	cr_assert_eq(shmring_open(name, 0, &r2), 0);
	shmring_close(r2);
	shmring_close(r);
	shmring_unlink(name);
}

Test(overwrite, no_loss_when_the_consumer_keeps_up, .fini = teardown)
{
	unsigned char msg[200], buf[200];
	open_pair(200, 4);
	for (uint64_t i = 0; i < 20001; i++) {
		size_t len = test_msg_len(7, i, sizeof(msg));
		test_msg_fill(msg, len, 7, i);
		cr_assert_eq(shmring_send(prod, msg, len, 0), 0);
		if (i % 3 == 2)   /* up to 3 in the ring, never more than 4 */
			for (uint64_t j = i - 2; j <= i; j++) {
				ssize_t n = shmring_recv(cons, buf, sizeof(buf), 0);
				cr_assert_geq(n, 0);
				cr_assert_eq(test_msg_check(buf, (size_t)n, 7, j, sizeof(msg)), 0,
				             "message %llu", (unsigned long long)j);
			}
	}
	cr_assert_eq(shmring_recv(cons, buf, sizeof(buf), 0), -EAGAIN);
	struct shmring_stats st = stats_of(cons);
	cr_assert_eq(st.overruns, 0);
	cr_assert_eq(st.sent, 20001);
	cr_assert_eq(st.received, 20001);
}

Test(overwrite, exact_loss_count_when_lapped, .fini = teardown)
{
	open_pair(8, 8);
	for (uint64_t i = 0; i < 20; i++)
		send_u64(prod, i);   /* never -EAGAIN: the oldest go */
	for (uint64_t i = 12; i < 20; i++)
		cr_assert_eq(recv_u64(cons), i, "the oldest intact first, in order");
	uint64_t v;
	cr_assert_eq(shmring_recv(cons, &v, sizeof(v), 0), -EAGAIN);
	struct shmring_stats st = stats_of(cons);
	cr_assert_eq(st.overruns, 12);
	cr_assert_eq(st.sent, 20);
	cr_assert_eq(st.received, 8);

	/* a second lap, partly read in between */
	for (uint64_t i = 20; i < 23; i++)
		send_u64(prod, i);
	cr_assert_eq(recv_u64(cons), 20);
	for (uint64_t i = 23; i < 40; i++)
		send_u64(prod, i);
	for (uint64_t i = 32; i < 40; i++)
		cr_assert_eq(recv_u64(cons), i);
	st = stats_of(cons);
	cr_assert_eq(st.overruns, 12 + 11, "21, 22, 23..31 lost");
	cr_assert_eq(st.sent, st.received + st.overruns);
	struct shmring_info in;
	cr_assert_eq(shmring_info(cons, &in), 0);
	cr_assert_eq(in.used, 0);
}

Test(overwrite, bursts_keep_order_and_count_losses, .fini = teardown)
{
	uint64_t vals[40], got[40];
	struct iovec iov[40];
	open_pair(8, 16);
	for (unsigned i = 0; i < 40; i++)
		vals[i] = 1000 + i, iov[i] = (struct iovec){ &vals[i], 8 };
	cr_assert_eq(shmring_send_burst(prod, iov, 40, 0), 16, "one lap per burst");
	cr_assert_eq(shmring_send_burst(prod, iov + 16, 10, 0), 10);
	/* 26 sent into 16 slots: 1010..1025 are there */
	for (unsigned i = 0; i < 40; i++)
		iov[i] = (struct iovec){ &got[i], 8 };
	cr_assert_eq(shmring_recv_burst(cons, iov, 5, 0), 5);
	for (unsigned i = 0; i < 5; i++)
		cr_assert_eq(got[i], 1010 + i);
	cr_assert_eq(shmring_recv_burst(cons, iov, 40, 0), 11);
	for (unsigned i = 0; i < 11; i++)
		cr_assert_eq(got[i], 1015 + i);
	cr_assert_eq(iov[0].iov_len, 8);
	cr_assert_eq(stats_of(cons).overruns, 10);
	cr_assert_eq(shmring_recv_burst(cons, iov, 4, 0), -EAGAIN);
}

Test(overwrite, zero_copy_and_estale, .fini = teardown)
{
	struct shmring_slot w, rd;
	open_pair(16, 4);

	cr_assert_eq(shmring_reserve(prod, &w, 0), 0);
	cr_assert_eq(w.len, 16);
	memcpy(w.data, "in place", 8);
	cr_assert_eq(shmring_commit(prod, &w, 17), -EMSGSIZE, "the reservation stays");
	cr_assert_eq(shmring_commit(prod, &w, 8), 0);
	cr_assert_eq(shmring_acquire(cons, &rd, 0), 0);
	cr_assert_eq(rd.len, 8);
	cr_assert_eq(memcmp(rd.data, "in place", 8), 0);
	cr_assert_eq(shmring_release(cons, &rd), 0, "intact: a plain release");

	/* acquired, then the producer laps the ring: -ESTALE */
	send_u64(prod, 1);
	cr_assert_eq(shmring_acquire(cons, &rd, 0), 0);
	struct shmring_slot fake = rd;
	fake.pos++;
	cr_assert_eq(shmring_release(cons, &fake), -EINVAL);
	for (uint64_t i = 2; i < 6; i++)
		send_u64(prod, i);   /* the 4th overwrites message 1's slot */
	cr_assert_eq(shmring_release(cons, &rd), -ESTALE);
	cr_assert_eq(shmring_release(cons, &rd), -EINVAL, "the acquisition is over");
	cr_assert_eq(stats_of(cons).overruns, 1);
	for (uint64_t i = 2; i < 6; i++)
		cr_assert_eq(recv_u64(cons), i);
	struct shmring_stats st = stats_of(cons);
	cr_assert_eq(st.sent, 6);
	cr_assert_eq(st.received, 5);

	/* a reservation marks its slot at once: the message there goes */
	for (uint64_t i = 6; i < 10; i++)
		send_u64(prod, i);
	cr_assert_eq(shmring_reserve(prod, &w, 0), 0);   /* slot of message 6 */
	cr_assert_eq(recv_u64(cons), 7, "6 is being rewritten");
	memcpy(w.data, "x", 1);
	cr_assert_eq(shmring_commit(prod, &w, 1), 0);
	cr_assert_eq(recv_u64(cons), 8);
	cr_assert_eq(recv_u64(cons), 9);
	char c;
	cr_assert_eq(shmring_recv(cons, &c, 1, 0), 1);
	cr_assert_eq(c, 'x');
	cr_assert_eq(stats_of(cons).overruns, 2);
}

Test(overwrite, emsgsize_leaves_the_message, .fini = teardown)
{
	char big[40] = "0123456789abcdef0123456789abcdef", buf[32];
	open_pair(32, 4);
	cr_assert_eq(shmring_send(prod, big, 32, 0), 0);
	cr_assert_eq(shmring_send(prod, big, 33, 0), -EMSGSIZE);
	cr_assert_eq(shmring_recv(cons, buf, 31, 0), -EMSGSIZE);
	cr_assert_eq(shmring_recv(cons, buf, 32, 0), 32);
	cr_assert_eq(memcmp(buf, big, 32), 0);
	struct iovec iov = { NULL, 0 };
	cr_assert_eq(shmring_send(prod, big, 3, 0), 0);
	cr_assert_eq(shmring_recv_burst(cons, &iov, 1, 0), -EINVAL);
	cr_assert_eq(shmring_recv(cons, buf, 3, 0), 3);
	cr_assert_eq(shmring_send(prod, NULL, 0, 0), 0, "an empty message");
	cr_assert_eq(shmring_recv(cons, NULL, 0, 0), 0);
}

Test(overwrite, end_of_stream_after_draining, .fini = teardown)
{
	open_pair(8, 4);
	for (uint64_t i = 0; i < 6; i++)
		send_u64(prod, i);
	cr_assert_eq(shmring_shutdown(prod), 0);
	cr_assert_eq(shmring_send(prod, "x", 1, 0), -EPIPE);
	for (uint64_t i = 2; i < 6; i++)
		cr_assert_eq(recv_u64(cons), i);
	uint64_t v;
	cr_assert_eq(shmring_recv(cons, &v, sizeof(v), 0), -EPIPE);
	cr_assert_eq(shmring_recv(cons, &v, sizeof(v), -1), -EPIPE);
	struct shmring_slot s;
	cr_assert_eq(shmring_acquire(cons, &s, 1000000), -EPIPE);
	cr_assert_eq(stats_of(cons).overruns, 2);
}

Test(overwrite, commit_after_shutdown_is_epipe, .fini = teardown)
{
	struct shmring_slot w;
	open_pair(8, 4);
	cr_assert_eq(shmring_reserve(prod, &w, 0), 0);
	cr_assert_eq(shmring_shutdown(prod), 0);
	cr_assert_eq(shmring_commit(prod, &w, 1), -EPIPE);
	uint64_t v;
	cr_assert_eq(shmring_recv(cons, &v, sizeof(v), 0), -EPIPE);
}

static void *late_sender(void *arg)
{
	test_sleep_ms(50);
	uint64_t v = 42;
	(void)shmring_send(arg, &v, sizeof(v), 0);
	return NULL;
}

Test(overwrite, blocking_recv_sleeps_and_wakes, .fini = teardown, .timeout = 20)
{
	open_pair(8, 4);
	shmring_set_spin(cons, 0);   /* straight to the futex */
	pthread_t t;
	pthread_create(&t, NULL, late_sender, prod);
	int64_t t0 = test_now_ns();
	uint64_t v = 0;
	cr_assert_eq(shmring_recv(cons, &v, sizeof(v), 5000000000), (ssize_t)sizeof(v));
	cr_assert_eq(v, 42);
	cr_assert_lt(test_now_ns() - t0, 2000000000);
	pthread_join(t, NULL);
	cr_assert_geq(stats_of(cons).empty_waits, 1, "it slept");
	t0 = test_now_ns();
	cr_assert_eq(shmring_recv(cons, &v, sizeof(v), 30000000), -ETIMEDOUT);
	cr_assert_geq(test_now_ns() - t0, 30000000);
}

Test(overwrite, poll_and_event_fd_readiness, .fini = teardown, .timeout = 20)
{
	open_pair(8, 4);
	struct shmring_pollitem it[2] = { { cons, SHMRING_POLLIN, 0 }, { prod, SHMRING_POLLOUT, 0 } };
	cr_assert_eq(shmring_poll(it, 1, 0), -EAGAIN, "empty");
	cr_assert_eq(shmring_poll(it + 1, 1, 0), 1, "the producer always has room");
	for (uint64_t i = 0; i < 9; i++)
		send_u64(prod, i);
	cr_assert_eq(shmring_poll(it + 1, 1, 0), 1, "even when full");
	cr_assert_eq(shmring_poll(it, 2, 0), 2);
	cr_assert_eq(it[0].revents, SHMRING_POLLIN);

	int efd = shmring_event_fd(cons);
	cr_assert_geq(efd, 0);
	cr_assert_eq(shmring_arm(cons), 1, "data there: ready");
	for (uint64_t i = 5; i < 9; i++)
		cr_assert_eq(recv_u64(cons), i);
	cr_assert_eq(shmring_arm(cons), 0, "armed");
	send_u64(prod, 9);
	struct pollfd pfd = { efd, POLLIN, 0 };
	cr_assert_eq(poll(&pfd, 1, 5000), 1, "a send makes the fd readable");
	cr_assert_eq(recv_u64(cons), 9);
}

Test(overwrite, hostile_sequence_words_and_indices, .fini = teardown)
{
	uint64_t v;
	open_pair(8, 4);

	/* a seq older than the position: corrupt, skipped, counted */
	send_u64(prod, 0);
	send_u64(prod, 1);
	slot_of(cons, 0)->seq = 0;
	cr_assert_eq(shmring_recv(cons, &v, sizeof(v), 0), -EBADMSG);
	cr_assert_eq(recv_u64(cons), 1);
	cr_assert_eq(stats_of(cons).bad_msgs, 1);

	/* a seq from the future: overwritten, lost, counted */
	send_u64(prod, 2);
	send_u64(prod, 3);
	slot_of(cons, 2)->seq = UINT64_C(1) << 40;
	cr_assert_eq(recv_u64(cons), 3);
	cr_assert_eq(stats_of(cons).overruns, 1);

	/* an impossible length with an intact seq: corrupt */
	send_u64(prod, 4);
	slot_of(cons, 4)->len = 9;
	cr_assert_eq(shmring_recv(cons, &v, sizeof(v), 0), -EBADMSG);
	send_u64(prod, 5);
	slot_of(cons, 5)->len = UINT32_MAX;
	struct shmring_slot s;
	cr_assert_eq(shmring_acquire(cons, &s, 0), -EBADMSG);
	cr_assert_eq(stats_of(cons).bad_msgs, 3);

	/* the producer index behind the consumer: -EPROTO, nothing read */
	uint64_t saved = cons->hdr->prod_idx;
	cons->hdr->prod_idx = 1;
	priv(cons)->ow_avail = cons->c.pos;   /* forget the cached copy */
	cr_assert_eq(shmring_recv(cons, &v, sizeof(v), 0), -EPROTO);

	/* far ahead: the positions no slot holds are counted (lost, or
	 * corrupt where a slot holds an older position), nothing delivered,
	 * nothing read out of bounds */
	struct shmring_stats before = stats_of(cons);
	cons->hdr->prod_idx = saved + 1000;
	ssize_t rc;
	unsigned k = 0;
	while ((rc = shmring_recv(cons, &v, sizeof(v), 0)) == -EBADMSG && k++ < 10)
		;
	cr_assert_eq(rc, -EAGAIN);
	struct shmring_stats after = stats_of(cons);
	cr_assert_eq(after.overruns - before.overruns + after.bad_msgs - before.bad_msgs, 1000);
	cr_assert_eq(after.received - before.received, after.bad_msgs - before.bad_msgs,
	             "corrupt slots count as received, as in a plain SPSC ring");
	cons->hdr->prod_idx = saved;
}

/* ---- two processes: a producer lapping a slow consumer ---- */

#define LAP_SLOT 96

static size_t lap_len(uint64_t seq)
{
	return 16 + (size_t)(test_mix(seq) % (LAP_SLOT - 16 + 1));
}

/* message seq: its number, then bytes regenerated from it */
static void lap_fill(unsigned char *m, uint64_t seq)
{
	memcpy(m, &seq, 8);
	test_msg_fill(m + 8, lap_len(seq) - 8, 99, seq);
}

static int lap_check(const unsigned char *m, size_t len, uint64_t *seq)
{
	unsigned char want[LAP_SLOT];
	if (len < 16 || len > LAP_SLOT)
		return -1;
	memcpy(seq, m, 8);
	if (lap_len(*seq) != len)
		return -1;
	lap_fill(want, *seq);
	return memcmp(m, want, len) ? -1 : 0;
}

Test(overwrite, producer_laps_a_slow_consumer_across_processes, .timeout = 60)
{
	struct shmring_config cfg = ow_cfg(LAP_SLOT, 16);
	test_name(name, sizeof(name), "owlap");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_CONSUMER, &cons), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct shmring *p;
		unsigned char m[LAP_SLOT];
		if (shmring_open(name, SHMRING_PRODUCER, &p))
			_exit(2);
		int64_t end = test_now_ns() + 1500000000;
		for (uint64_t seq = 0; test_now_ns() < end; seq++) {
			lap_fill(m, seq);
			if (shmring_send(p, m, lap_len(seq), 0))
				_exit(3);
		}
		shmring_close(p);   /* the end of the stream */
		_exit(0);
	}
	unsigned char buf[LAP_SLOT];
	uint64_t delivered = 0, last = UINT64_MAX, stale = 0, seq;
	for (unsigned i = 0;; i++) {
		ssize_t n;
		if (i % 3 == 2) {
			struct shmring_slot s;
			int rc = shmring_acquire(cons, &s, -1);
			if (rc == -EPIPE)
				break;
			cr_assert_eq(rc, 0);
			memcpy(buf, s.data, s.len < sizeof(buf) ? s.len : sizeof(buf));
			n = (ssize_t)s.len;
			rc = shmring_release(cons, &s);
			if (rc == -ESTALE) {
				stale++;
				continue;   /* what we read may be torn: discard */
			}
			cr_assert_eq(rc, 0);
		} else {
			n = shmring_recv(cons, buf, sizeof(buf), -1);
			if (n == -EPIPE)
				break;
			cr_assert_geq(n, 0, "recv: %zd", n);
		}
		cr_assert_eq(lap_check(buf, (size_t)n, &seq), 0, "torn or corrupt message");
		cr_assert(last == UINT64_MAX || seq > last, "order: %llu after %llu",
		          (unsigned long long)seq, (unsigned long long)last);
		last = seq;
		delivered++;
		if (i % 64 == 0)
			test_sleep_ms(1);   /* slow: the producer laps us */
	}
	cr_assert_eq(test_wait_child(pid, 10000), 0);
	struct shmring_stats st = stats_of(cons);
	cr_assert_eq(st.sent, last + 1, "the last message is never lost at the end");
	cr_assert_eq(st.sent, delivered + st.overruns, "sent %llu delivered %llu overruns %llu",
	             (unsigned long long)st.sent, (unsigned long long)delivered,
	             (unsigned long long)st.overruns);
	cr_assert_eq(st.received, delivered);
	cr_assert_gt(st.overruns, 0, "the producer lapped the consumer");
	cr_assert_eq(st.bad_msgs, 0);
	cr_log_info("overwrite lap: sent %llu delivered %llu overruns %llu stale %llu",
	            (unsigned long long)st.sent, (unsigned long long)delivered,
	            (unsigned long long)st.overruns, (unsigned long long)stale);
	shmring_close(cons);
	cons = NULL;
	shmring_unlink(name);
}
