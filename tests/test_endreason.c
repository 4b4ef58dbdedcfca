/* SPDX-License-Identifier: MIT */
/* tests/test_endreason.c - shmring_abort() and shmring_end_reason(): how a
 * stream ended, for every kind of ring, as consumers and observers see it */
#include <criterion/criterion.h>
#include <fcntl.h>
#include "common.h"

static struct shmring *make(const char *name, unsigned kind, unsigned flags)
{
	struct shmring_config cfg = { .kind = kind, .slot_size = 64, .slots = 16, .flags = flags };
	struct shmring *r = NULL;
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	return r;
}

static struct shmring *attach(const char *name, int roles)
{
	struct shmring *r = NULL;
	cr_assert_eq(shmring_open(name, roles, &r), 0);
	return r;
}

/* receive exactly n messages, then end of stream (a try, then a blocking
 * call: both paths must record the reason) */
static void drain(struct shmring *c, int n)
{
	char buf[64];
	for (int i = 0; i < n; i++)
		cr_assert_geq(shmring_recv(c, buf, sizeof(buf), 1000000000), 0, "message %d", i);
	cr_assert_eq(shmring_end_reason(c), 0, "no reason before the end is received");
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), -EPIPE);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 1000000000), -EPIPE);
}

enum ending { END_BY_SHUTDOWN, END_BY_ABORT, END_BY_CLOSE };

/* one producer sends 3 and ends its stream as told; the consumer drains and
 * reads the reason */
static void one_stream(unsigned kind, unsigned flags, enum ending how, int want)
{
	char name[96];
	test_name(name, sizeof(name), "end");
	struct shmring *own = make(name, kind, flags);
	struct shmring *p = attach(name, SHMRING_PRODUCER), *c = attach(name, SHMRING_CONSUMER);

	for (int i = 0; i < 3; i++)
		cr_assert_eq(shmring_send(p, "abcdefgh", 8, 0), 0);
	cr_assert_eq(shmring_end_reason(c), 0);
	if (how == END_BY_SHUTDOWN)
		cr_assert_eq(shmring_shutdown(p), 0);
	else if (how == END_BY_ABORT)
		cr_assert_eq(shmring_abort(p), 0);
	if (how == END_BY_CLOSE)
		shmring_close(p);
	drain(c, 3);
	cr_assert_eq(shmring_end_reason(c), want, "kind %u flags %#x: reason %d, want %d", kind, flags,
	             shmring_end_reason(c), want);
	cr_assert_eq(shmring_end_reason(own), want, "the observer's view");
	if (how != END_BY_CLOSE)
		shmring_close(p);
	shmring_close(c);
	shmring_close(own);
	shmring_unlink(name);
}

static const struct { unsigned kind, flags; } kinds[] = {
	{ SHMRING_SPSC, 0 }, { SHMRING_MPMC, 0 },
	{ SHMRING_SPSC, SHMRING_PACKED }, { SHMRING_SPSC, SHMRING_OVERWRITE },
};

Test(endreason, clean_aborted_and_closed_in_every_kind, .timeout = 30)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		one_stream(kinds[k].kind, kinds[k].flags, END_BY_SHUTDOWN, SHMRING_END_CLEAN);
		one_stream(kinds[k].kind, kinds[k].flags, END_BY_ABORT, SHMRING_END_ABORTED);
		one_stream(kinds[k].kind, kinds[k].flags, END_BY_CLOSE, SHMRING_END_DIED);
	}
}

Test(endreason, abort_and_shutdown_together)
{
	char name[96];
	test_name(name, sizeof(name), "end-both");
	struct shmring *own = make(name, SHMRING_SPSC, 0);
	struct shmring *p = attach(name, SHMRING_PRODUCER), *c = attach(name, SHMRING_CONSUMER);

	cr_assert_eq(shmring_abort(p), 0);
	cr_assert_eq(shmring_abort(p), 0, "idempotent");
	cr_assert_eq(shmring_shutdown(p), 0, "shutdown after abort: already ended");
	drain(c, 0);
	cr_assert_eq(shmring_end_reason(c), SHMRING_END_ABORTED, "shutdown does not undo abort");
	shmring_close(p);

	/* a new producer begins the next stream: the consumer keeps its answer
	 * (the producer may come between its -EPIPE and its question) until it
	 * receives in the new stream, which has not ended */
	p = attach(name, SHMRING_PRODUCER);
	cr_assert_eq(shmring_end_reason(c), SHMRING_END_ABORTED, "kept across a new producer");
	cr_assert_eq(shmring_end_reason(own), 0, "the ring's new stream has not ended");
	cr_assert_eq(shmring_send(p, "n", 1, 0), 0);
	char buf[8];
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 1);
	cr_assert_eq(shmring_end_reason(c), 0, "received in a new stream: not ended");
	cr_assert_eq(shmring_shutdown(p), 0);
	cr_assert_eq(shmring_abort(p), -EINVAL, "abort after shutdown: declared complete");
	drain(c, 0);
	cr_assert_eq(shmring_end_reason(c), SHMRING_END_CLEAN, "the new stream's flags start empty");
	shmring_close(p);
	shmring_close(c);
	shmring_close(own);
	shmring_unlink(name);
}

/* the keep-then-reset rule in every kind: the progress that resets the
 * answer is each engine's own (c.pos, MPMC releases, packed bytes) */
Test(endreason, answer_kept_until_the_next_stream_delivers)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char name[96], buf[64];
		test_name(name, sizeof(name), "end-keep");
		struct shmring *own = make(name, kinds[k].kind, kinds[k].flags);
		struct shmring *c = attach(name, SHMRING_CONSUMER);
		struct shmring *p = attach(name, SHMRING_PRODUCER);
		cr_assert_eq(shmring_send(p, "a", 1, 0), 0);
		cr_assert_eq(shmring_shutdown(p), 0);
		shmring_close(p);
		drain(c, 1);
		cr_assert_eq(shmring_end_reason(c), SHMRING_END_CLEAN);
		p = attach(name, SHMRING_PRODUCER);   /* the next stream begins */
		cr_assert_eq(shmring_end_reason(c), SHMRING_END_CLEAN, "kind %zu: kept", k);
		cr_assert_eq(shmring_send(p, "b", 1, 0), 0);
		cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 1000000000), 1);
		cr_assert_eq(shmring_end_reason(c), 0, "kind %zu: a new stream, not ended", k);
		shmring_close(p);   /* without shutdown */
		drain(c, 0);
		cr_assert_eq(shmring_end_reason(c), SHMRING_END_DIED, "kind %zu", k);
		shmring_close(c);
		shmring_close(own);
		shmring_unlink(name);
	}
}

Test(endreason, bad_arguments)
{
	char name[96];
	test_name(name, sizeof(name), "end-args");
	struct shmring *own = make(name, SHMRING_SPSC, 0);
	struct shmring *c = attach(name, SHMRING_CONSUMER);

	cr_assert_eq(shmring_abort(NULL), -EINVAL);
	cr_assert_eq(shmring_abort(c), -EINVAL, "a consumer cannot abort");
	cr_assert_eq(shmring_abort(own), -EINVAL, "nor an observer");
	cr_assert_eq(shmring_end_reason(NULL), -EINVAL);
	cr_assert_eq(shmring_end_reason(own), 0, "no producer attached yet: not ended");
	shmring_close(c);
	shmring_close(own);
	shmring_unlink(name);
}

/* MPMC: the worst ending among the producers is the stream's */
Test(endreason, mpmc_worst_of_the_producers)
{
	static const struct { enum ending a, b; int want; } cases[] = {
		{ END_BY_SHUTDOWN, END_BY_SHUTDOWN, SHMRING_END_CLEAN },
		{ END_BY_SHUTDOWN, END_BY_CLOSE, SHMRING_END_DIED },
		{ END_BY_ABORT, END_BY_SHUTDOWN, SHMRING_END_ABORTED },
		{ END_BY_CLOSE, END_BY_ABORT, SHMRING_END_ABORTED },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[96];
		test_name(name, sizeof(name), "end-mpmc");
		struct shmring *own = make(name, SHMRING_MPMC, 0);
		struct shmring *c = attach(name, SHMRING_CONSUMER);
		struct shmring *p[2] = { attach(name, SHMRING_PRODUCER), attach(name, SHMRING_PRODUCER) };
		enum ending how[2] = { cases[i].a, cases[i].b };
		for (int j = 0; j < 2; j++) {
			cr_assert_eq(shmring_send(p[j], "x", 1, 0), 0);
			if (how[j] == END_BY_SHUTDOWN)
				cr_assert_eq(shmring_shutdown(p[j]), 0);
			else if (how[j] == END_BY_ABORT)
				cr_assert_eq(shmring_abort(p[j]), 0);
			if (j == 0) {   /* one producer still attached: not ended */
				char buf[64];
				cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 1);
				cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), -EAGAIN);
				cr_assert_eq(shmring_end_reason(c), 0);
			}
		}
		for (int j = 0; j < 2; j++)
			shmring_close(p[j]);
		drain(c, 1);
		cr_assert_eq(shmring_end_reason(c), cases[i].want, "case %zu: %d", i,
		             shmring_end_reason(c));
		shmring_close(c);
		shmring_close(own);
		shmring_unlink(name);
	}
}

/* a producer process SIGKILLed mid-stream: the consumer drains what was
 * committed, then -EPIPE with SHMRING_END_DIED; an observer that looks
 * before anyone reaped the entry says the same */
Test(endreason, killed_producer_is_died, .timeout = 30)
{
	for (int observer_first = 0; observer_first < 2; observer_first++) {
		char name[96];
		test_name(name, sizeof(name), "end-kill");
		struct shmring *own = make(name, SHMRING_SPSC, 0);
		int go[2];
		cr_assert_eq(pipe(go), 0);
		pid_t pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			struct shmring *p;
			if (shmring_open(name, SHMRING_PRODUCER, &p))
				_exit(2);
			for (int i = 0; i < 5; i++)
				if (shmring_send(p, "12345678", 8, -1))
					_exit(3);
			if (write(go[1], "k", 1) != 1)
				_exit(4);
			pause();   /* killed here, attached, without a shutdown */
			_exit(5);
		}
		char k;
		cr_assert_eq(read(go[0], &k, 1), 1);
		kill(pid, SIGKILL);
		int st;
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFSIGNALED(st));
		if (observer_first)
			cr_assert_eq(shmring_end_reason(own), SHMRING_END_DIED, "observer, unreaped");
		struct shmring *c = attach(name, SHMRING_CONSUMER);
		drain(c, 5);
		cr_assert_eq(shmring_end_reason(c), SHMRING_END_DIED);
		cr_assert_eq(shmring_end_reason(own), SHMRING_END_DIED);
		close(go[0]);
		close(go[1]);
		shmring_close(c);
		shmring_close(own);
		shmring_unlink(name);
	}
}

/* an aborting producer in another process while the consumer sleeps in a
 * blocking recv: woken, drains, ABORTED */
Test(endreason, abort_wakes_a_sleeping_consumer, .timeout = 30)
{
	char name[96];
	test_name(name, sizeof(name), "end-sleep");
	struct shmring *own = make(name, SHMRING_SPSC, 0);
	struct shmring *c = attach(name, SHMRING_CONSUMER);
	cr_assert_eq(shmring_set_spin(c, 0), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct shmring *p;
		if (shmring_open(name, SHMRING_PRODUCER, &p))
			_exit(2);
		if (shmring_send(p, "m", 1, -1))
			_exit(3);
		test_sleep_ms(50);
		_exit(shmring_abort(p) ? 4 : 0);   /* exit closes: still ABORTED */
	}
	char buf[64];
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 5000000000), 1);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 5000000000), -EPIPE, "woken by the abort");
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(shmring_end_reason(c), SHMRING_END_ABORTED);
	shmring_close(c);
	shmring_close(own);
	shmring_unlink(name);
}
