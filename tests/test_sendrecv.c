/* SPDX-License-Identifier: MIT */
/* tests/test_sendrecv.c - copying send/recv in one process: every error */
#include <criterion/criterion.h>
#include "common.h"

static char name[64];
static struct shmring *ring;     /* producer + consumer */

static void setup_ring(uint32_t slot_size, uint64_t slots, unsigned kind)
{
	struct shmring_config cfg = { .kind = kind, .slot_size = slot_size, .slots = slots };
	test_name(name, sizeof(name), "sr");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &ring), 0);
}

static void teardown(void)
{
	shmring_close(ring);
	shmring_unlink(name);
}

static void setup_spsc(void) { setup_ring(64, 8, SHMRING_SPSC); }
static void setup_mpmc(void) { setup_ring(64, 8, SHMRING_MPMC); }

/* the same checks run on both kinds */
static void round_trip_and_errors(void)
{
	char buf[128], msg[65];
	memset(msg, 'x', sizeof(msg));

	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EAGAIN, "empty");
	cr_assert_eq(shmring_send(ring, "hello", 5, 0), 0);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);

	/* zero-length messages are messages */
	cr_assert_eq(shmring_send(ring, "", 0, 0), 0);
	cr_assert_eq(shmring_send(ring, NULL, 0, 0), 0);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 0);
	cr_assert_eq(shmring_recv(ring, NULL, 0, 0), 0);

	/* too large for the slot */
	cr_assert_eq(shmring_send(ring, msg, 65, 0), -EMSGSIZE);
	cr_assert_eq(shmring_send(ring, msg, 64, 0), 0);
	/* buffer too small: the message stays */
	cr_assert_eq(shmring_recv(ring, buf, 63, 0), -EMSGSIZE);
	cr_assert_eq(shmring_recv(ring, buf, 63, -1), -EMSGSIZE);
	cr_assert_eq(shmring_recv(ring, buf, 64, 0), 64);

	/* full */
	for (int i = 0; i < 8; i++)
		cr_assert_eq(shmring_send(ring, &i, sizeof(i), 0), 0);
	cr_assert_eq(shmring_send(ring, "x", 1, 0), -EAGAIN, "full");
	for (int i = 0; i < 8; i++) {
		int v = -1;
		cr_assert_eq(shmring_recv(ring, &v, sizeof(v), 0), (ssize_t)sizeof(v));
		cr_assert_eq(v, i, "FIFO order");
	}
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EAGAIN);

	/* bad arguments */
	cr_assert_eq(shmring_send(ring, NULL, 4, 0), -EINVAL);
	cr_assert_eq(shmring_send(ring, "abcd", 4, 0), 0);
	cr_assert_eq(shmring_recv(ring, NULL, 4, 0), -EINVAL);
	cr_assert_eq(shmring_recv(ring, buf, 4, 0), 4);
}

Test(sendrecv, spsc_round_trip_and_errors, .init = setup_spsc, .fini = teardown)
{
	round_trip_and_errors();
}

Test(sendrecv, mpmc_round_trip_and_errors, .init = setup_mpmc, .fini = teardown)
{
	round_trip_and_errors();
}

static void timeouts(void)
{
	char buf[8];
	int64_t t0 = test_now_ns();
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 50000000), -ETIMEDOUT);
	int64_t dt = test_now_ns() - t0;
	cr_assert_geq(dt, 50000000, "waited the full timeout (%lld ns)", (long long)dt);
	cr_assert_lt(dt, 500000000, "not much longer (%lld ns)", (long long)dt);

	shmring_set_spin(ring, 0);   /* straight to the futex */
	t0 = test_now_ns();
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 30000000), -ETIMEDOUT);
	dt = test_now_ns() - t0;
	cr_assert_geq(dt, 30000000);
	cr_assert_lt(dt, 500000000);

	for (int i = 0; i < 8; i++)
		cr_assert_eq(shmring_send(ring, &i, 1, 0), 0);
	shmring_set_spin(ring, -1);  /* pure polling still honours timeouts */
	t0 = test_now_ns();
	cr_assert_eq(shmring_send(ring, "x", 1, 20000000), -ETIMEDOUT);
	dt = test_now_ns() - t0;
	cr_assert_geq(dt, 20000000);
	cr_assert_lt(dt, 500000000);
}

Test(sendrecv, spsc_timeouts, .init = setup_spsc, .fini = teardown, .timeout = 10)
{
	timeouts();
}

Test(sendrecv, mpmc_timeouts, .init = setup_mpmc, .fini = teardown, .timeout = 10)
{
	timeouts();
}

static void shutdown_drains_then_epipe(void)
{
	char buf[8];
	cr_assert_eq(shmring_send(ring, "a", 1, 0), 0);
	cr_assert_eq(shmring_send(ring, "b", 1, 0), 0);
	cr_assert_eq(shmring_shutdown(ring), 0);
	cr_assert_eq(shmring_shutdown(ring), 0, "idempotent");
	cr_assert_eq(shmring_send(ring, "c", 1, 0), -EPIPE, "send after shutdown");
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), -1), 1);
	cr_assert_eq(buf[0], 'a');
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 1);
	cr_assert_eq(buf[0], 'b');
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EPIPE);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), -1), -EPIPE, "no hang at EOF");
	struct shmring_info info;
	cr_assert_eq(shmring_info(ring, &info), 0);
	cr_assert(info.eof);
	cr_assert_eq(info.shutdowns, 1);
}

Test(sendrecv, spsc_shutdown_drains_then_epipe, .init = setup_spsc, .fini = teardown, .timeout = 10)
{
	shutdown_drains_then_epipe();
}

Test(sendrecv, mpmc_shutdown_drains_then_epipe, .init = setup_mpmc, .fini = teardown, .timeout = 10)
{
	shutdown_drains_then_epipe();
}

Test(sendrecv, roles_are_enforced, .timeout = 10)
{
	char n[64], buf[8];
	struct shmring *c, *p, *o;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "roles");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(n, 0, &o), 0);
	cr_assert_eq(shmring_send(c, "x", 1, 0), -EINVAL, "consumer cannot send");
	cr_assert_eq(shmring_shutdown(c), -EINVAL);
	cr_assert_eq(shmring_recv(p, buf, sizeof(buf), 0), -EINVAL, "producer cannot recv");
	cr_assert_eq(shmring_send(o, "x", 1, 0), -EINVAL);
	cr_assert_eq(shmring_recv(o, buf, sizeof(buf), 0), -EINVAL);
	/* no producer attached yet is not EOF; one attached and closed is */
	shmring_close(p);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), -1), -EPIPE);
	shmring_close(o);
	shmring_close(c);
	shmring_unlink(n);
}

Test(sendrecv, no_producer_yet_is_not_eof, .timeout = 10)
{
	char n[64], buf[8];
	struct shmring *c;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "noprod");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 20000000), -ETIMEDOUT);
	shmring_close(c);
	shmring_unlink(n);
}

/* a consumer asleep on the futex is woken by the producer's close (its end
 * of stream) in another process, well before any timeout */
Test(sendrecv, producer_close_wakes_sleeping_consumer, .timeout = 10)
{
	char n[64], buf[8];
	struct shmring *c;
	struct shmring_info info;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "wakeclose");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	pid_t prod = fork();
	if (prod == 0) {
		struct shmring *pp;
		if (shmring_open(n, SHMRING_PRODUCER, &pp))
			_exit(1);
		test_sleep_ms(150);
		shmring_close(pp);
		_exit(0);
	}
	do {
		test_sleep_ms(1);
		cr_assert_eq(shmring_info(c, &info), 0);
	} while (info.nproducers == 0);
	shmring_set_spin(c, 0);
	int64_t t0 = test_now_ns();
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 5000000000), -EPIPE);
	int64_t dt = test_now_ns() - t0;
	cr_assert_lt(dt, 1000000000, "woken by the close, not a timeout (%lld ns)", (long long)dt);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(c, &st), 0);
	cr_assert_geq(st.empty_waits, 1, "the consumer really slept");
	cr_assert_eq(test_wait_child(prod, 5000), 0);
	shmring_close(c);
	shmring_unlink(n);
}

/* a corrupt slot length: reported, skipped, the ring stays usable */
Test(sendrecv, corrupt_slot_is_ebadmsg_and_skipped, .init = setup_spsc, .fini = teardown)
{
	char buf[128];
	cr_assert_eq(shmring_send(ring, "one", 3, 0), 0);
	cr_assert_eq(shmring_send(ring, "two", 3, 0), 0);
	/* scribble on slot 0's length as a hostile peer would (the seal's
	 * lap tag left right: only the length is impossible) */
	struct shmring__slot_spsc *s0 = (struct shmring__slot_spsc *)ring->slots0;
	s0->seal = (s0->seal & ~UINT64_C(0xffffffff)) | 1000000;
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EBADMSG);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 3);
	cr_assert_eq(memcmp(buf, "two", 3), 0);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(ring, &st), 0);
	cr_assert_eq(st.bad_msgs, 1);
	cr_assert_eq(shmring_send(ring, "three", 5, 0), 0);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 5);
}

/* a published slot whose seal a hostile peer destroyed: the consumer does
 * not wait on it forever; the index says it was published, so one recv
 * with this timeout reports it corrupt (skipped) and the next gets "two".
 * A blocking wait reads the index at its cadence, a try (timeout 0) on
 * entry (spsc.c, wait_data()): both must find it. */
static void destroyed_seal_found(int64_t timeout_ns)
{
	char buf[128];
	cr_assert_eq(shmring_send(ring, "one", 3, 0), 0);
	cr_assert_eq(shmring_send(ring, "two", 3, 0), 0);
	struct shmring__slot_spsc *s0 = (struct shmring__slot_spsc *)ring->slots0;
	s0->seal = 0;
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), timeout_ns), -EBADMSG);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 3);
	cr_assert_eq(memcmp(buf, "two", 3), 0);
}

Test(sendrecv, spsc_destroyed_seal_is_ebadmsg_and_skipped, .init = setup_spsc,
     .fini = teardown, .timeout = 10)
{
	char buf[128];
	destroyed_seal_found(100000000);
	/* a stale seal (last lap's tag) on an unpublished slot is just empty */
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EAGAIN);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EAGAIN);
}

Test(sendrecv, spsc_destroyed_seal_found_by_one_try, .init = setup_spsc,
     .fini = teardown, .timeout = 10)
{
	destroyed_seal_found(0);
}

/* a producer that died between sealing a slot and storing its index: the
 * consumer took the message; the next producer must resume after it, not
 * on top of it (and the consumer is not told the index is impossible) */
Test(sendrecv, spsc_producer_resumes_after_unindexed_seal, .timeout = 10)
{
	char n[64], buf[16];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "resume");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_send(p, "a", 1, 0), 0);
	/* what a producer killed after P1 and before P1i leaves: slots 1 and
	 * 2 sealed, prod_idx still 1 */
	for (uint64_t pos = 1; pos <= 2; pos++) {
		struct shmring__slot_spsc *s = (void *)shmring__slot(p, pos);
		memcpy(s + 1, pos == 1 ? "b" : "c", 1);
		s->seal = (uint64_t)shmring__lap_tag(p, pos) << 32 | 1;
	}
	shmring_close(p);   /* its end of stream; the ring keeps the messages */
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 1);
	cr_assert_eq(buf[0], 'a');
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 1);
	cr_assert_eq(buf[0], 'b');
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 1);
	cr_assert_eq(buf[0], 'c');
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), -EPIPE);
	/* cons_idx 3 is ahead of prod_idx 1: a new producer starts at 3 */
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(p->p.pos, 3);
	cr_assert_eq(p->hdr->prod_idx, 3, "the index covers the seals stepped over");
	for (int i = 0; i < 6; i++) {   /* around the ring and past slot 1 */
		char m = (char)('d' + i);
		cr_assert_eq(shmring_send(p, &m, 1, 1000000000), 0);
		cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 1000000000), 1);
		cr_assert_eq(buf[0], m);
	}
	shmring_close(p);
	shmring_close(c);
	shmring_unlink(n);
}

Test(sendrecv, mpmc_corrupt_slot_is_ebadmsg_and_skipped, .init = setup_mpmc, .fini = teardown)
{
	char buf[128];
	cr_assert_eq(shmring_send(ring, "one", 3, 0), 0);
	cr_assert_eq(shmring_send(ring, "two", 3, 0), 0);
	struct shmring__slot_mpmc *s0 = (struct shmring__slot_mpmc *)ring->slots0;
	s0->len = 1000000;
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EBADMSG);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 3);
	cr_assert_eq(memcmp(buf, "two", 3), 0);
}

/* impossible indices: an error, bounded, never an out-of-bounds access */
Test(sendrecv, corrupt_indices_are_eproto, .init = setup_spsc, .fini = teardown, .timeout = 10)
{
	char buf[8];
	ring->hdr->prod_idx = UINT64_C(1) << 50;   /* far ahead of the consumer */
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EPROTO);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 10000000), -EPROTO);
	ring->hdr->prod_idx = 0;
	ring->hdr->cons_idx = 1000;                /* consumer ahead of producer */
	for (int i = 0; i < 8; i++)
		shmring_send(ring, "x", 1, 0);         /* fills the local view */
	cr_assert_eq(shmring_send(ring, "x", 1, 0), -EPROTO);
}

Test(sendrecv, strerror_names_every_code)
{
	int codes[] = { EAGAIN, ETIMEDOUT, EPIPE, EMSGSIZE, EINVAL, EEXIST, ENOENT,
	                EACCES, EBUSY, EUSERS, EPROTO, EBADMSG };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = shmring_strerror(-codes[i]);
		cr_assert_not_null(s);
		cr_assert_gt(strlen(s), 3);
		cr_assert_str_eq(s, shmring_strerror(codes[i]));
	}
	cr_assert_str_eq(shmring_strerror(0), "success");
}

Test(sendrecv, byte_counters, .init = setup_spsc, .fini = teardown)
{
	char buf[64];
	struct shmring_stats st;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(shmring_send(ring, buf, 10 + (size_t)i, 0), 0);   /* 60 bytes */
	for (int i = 0; i < 3; i++)
		cr_assert_geq(shmring_recv(ring, buf, sizeof(buf), 0), 10);    /* 33 bytes */
	cr_assert_eq(shmring_stats(ring, &st), 0);
	cr_assert_eq(st.sent, 5);
	cr_assert_eq(st.received, 3);
	cr_assert_eq(st.sent_bytes, 60, "this handle's own share is exact");
	cr_assert_eq(st.recv_bytes, 33);
}

/* a ring carries one stream after another. End of stream follows SPEC's
 * FIFO rule (every producer that attached is gone), so a consumer that
 * attaches between two streams sees the old end; shmring_info() tells an
 * ended, already-received stream from a new one (stream_epoch,
 * stream_ended), which is what "shmring pop" uses to wait for the next */
static void streams_in_sequence(unsigned kind)
{
	char n[64], buf[8];
	struct shmring *p, *c;
	struct shmring_info in;
	struct shmring_config cfg = { .kind = kind, .slot_size = 8, .slots = 4 };
	test_name(n, sizeof(n), "streams");
	cr_assert_eq(shmring_create(n, &cfg, 0, &p), 0);
	cr_assert_eq(shmring_info(p, &in), 0);
	cr_assert_eq(in.stream_epoch, 0);
	cr_assert_eq(in.stream_ended, 0);
	shmring_close(p);

	/* stream 1: empty, ended before any consumer came */
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_shutdown(p), 0);
	shmring_close(p);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_info(c, &in), 0);
	cr_assert_eq(in.stream_ended, 0, "nobody has received the end yet");
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), -EPIPE);
	cr_assert_eq(shmring_info(c, &in), 0);
	cr_assert_eq(in.stream_ended, 1);
	shmring_close(c);

	/* between streams: FIFO rule, the old end */
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), -EPIPE);
	/* stream 2 */
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_info(c, &in), 0);
	cr_assert_eq(in.stream_epoch, 1, "a producer after a received end starts the next stream");
	cr_assert_eq(in.stream_ended, 0);
	cr_assert_eq(shmring_send(p, "two", 3, 0), 0);
	shmring_close(p);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), -1), 3);
	cr_assert_eq(memcmp(buf, "two", 3), 0);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), -1), -EPIPE);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), -EPIPE, "stays at the end");
	/* stream 3 reaches the same consumer handle too */
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_send(p, "three", 5, 0), 0);
	cr_assert_eq(shmring_shutdown(p), 0);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), -1), 5);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), -1), -EPIPE);
	cr_assert_eq(shmring_info(c, &in), 0);
	cr_assert_eq(in.stream_epoch, 2);
	shmring_close(p);
	shmring_close(c);
	shmring_unlink(n);
}

Test(sendrecv, spsc_streams_in_sequence, .timeout = 10) { streams_in_sequence(SHMRING_SPSC); }
Test(sendrecv, mpmc_streams_in_sequence, .timeout = 10) { streams_in_sequence(SHMRING_MPMC); }

/* SPEC: a blocked producer gets -EPIPE once every consumer is gone, also
 * when they left before it attached; with room it still sends */
Test(sendrecv, producer_after_the_last_consumer_left, .timeout = 10)
{
	char n[64];
	struct shmring *p, *c;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 2 };
	test_name(n, sizeof(n), "latecons");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_CONSUMER, &c), 0);
	shmring_close(c);   /* a consumer came and went */
	cr_assert_eq(shmring_open(n, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_send(p, "a", 1, 0), 0);
	cr_assert_eq(shmring_send(p, "b", 1, 0), 0);
	cr_assert_eq(shmring_send(p, "c", 1, -1), -EPIPE);
	cr_assert_eq(shmring_open(n, SHMRING_CONSUMER, &c), 0);
	char buf[8];
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 1);
	cr_assert_eq(shmring_send(p, "c", 1, 0), 0, "a consumer is back");
	shmring_close(c);
	shmring_close(p);
	shmring_unlink(n);
}

/*
 * Every length from 0 to 200 through send and recv (the inline copy's
 * branches: bytes, 4, 8 and 16-byte pieces up to 64, the C library's
 * memcpy above): the bytes [0, n) arrive in order, and the receive buffer
 * beyond n is left as it was. Both kinds; the distinct byte values find a
 * piece copied from or to the wrong offset.
 */
static void every_length(unsigned kind)
{
	char n[64];
	struct shmring *r;
	struct shmring_config cfg = { .kind = kind, .slot_size = 200, .slots = 4 };
	unsigned char msg[200], buf[216];

	test_name(n, sizeof(n), "len");
	cr_assert_eq(shmring_create(n, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &r), 0);
	for (size_t len = 0; len <= 200; len++) {
		for (size_t i = 0; i < sizeof(msg); i++)
			msg[i] = (unsigned char)(i * 7 + len);
		memset(buf, 0xa5, sizeof(buf));
		cr_assert_eq(shmring_send(r, msg, len, 0), 0, "length %zu", len);
		cr_assert_eq(shmring_recv(r, buf, 200, 0), (ssize_t)len);
		cr_assert(memcmp(buf, msg, len) == 0, "length %zu: the bytes", len);
		for (size_t i = len; i < sizeof(buf); i++)
			cr_assert_eq(buf[i], 0xa5, "length %zu: byte %zu written", len, i);
	}
	shmring_close(r);
	shmring_unlink(n);
}

Test(sendrecv, spsc_every_length_exact) { every_length(SHMRING_SPSC); }
Test(sendrecv, mpmc_every_length_exact) { every_length(SHMRING_MPMC); }
