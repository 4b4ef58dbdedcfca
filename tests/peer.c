/* SPDX-License-Identifier: MIT */
/*
 * tests/peer.c - the other process in cross-process tests. It is exec'd, so
 * it shares nothing with the test but the ring's name.
 *
 *   peer produce NAME COUNT SEED MAXLEN [shutdown|close|hang]
 *        send COUNT messages (length and bytes a function of SEED and the
 *        sequence), blocking; then shut down and close, just close, or hang
 *   peer consume NAME COUNT SEED MAXLEN
 *        receive and verify COUNT messages, then expect -EPIPE
 *   peer echo NAME_IN NAME_OUT COUNT SPIN_NS
 *        COUNT times: blocking recv from NAME_IN, send it back on NAME_OUT
 *   peer hold NAME producer|consumer
 *        attach with the role, print "ready", then sleep until killed
 *   peer mpmc-produce NAME ID COUNT
 *        MPMC: send COUNT messages {id, seq, checksum}, then close
 * Exit status: 0 success, 1 verification failure, 2 usage, 3 library error.
 */
#include <sys/prctl.h>
#include "common.h"

static int fail(const char *what, long rc)
{
	fprintf(stderr, "peer: %s: %ld (%s)\n", what, rc, shmring_strerror((int)rc));
	return 3;
}

static int produce(int argc, char **argv)
{
	if (argc < 6)
		return 2;
	const char *name = argv[2];
	uint64_t count = strtoull(argv[3], NULL, 0), seed = strtoull(argv[4], NULL, 0);
	size_t maxlen = strtoul(argv[5], NULL, 0);
	const char *end = argc > 6 ? argv[6] : "shutdown";
	static unsigned char buf[65536];
	struct shmring *r;
	int rc = shmring_open(name, SHMRING_PRODUCER, &r);
	if (rc)
		return fail("open", rc);
	for (uint64_t i = 0; i < count; i++) {
		size_t len = test_msg_len(seed, i, maxlen);
		test_msg_fill(buf, len, seed, i);
		rc = shmring_send(r, buf, len, -1);
		if (rc)
			return fail("send", rc);
	}
	if (!strcmp(end, "hang")) {
		printf("sent\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (!strcmp(end, "shutdown") && (rc = shmring_shutdown(r)))
		return fail("shutdown", rc);
	shmring_close(r);
	return 0;
}

static int consume(int argc, char **argv)
{
	if (argc < 6)
		return 2;
	const char *name = argv[2];
	uint64_t count = strtoull(argv[3], NULL, 0), seed = strtoull(argv[4], NULL, 0);
	size_t maxlen = strtoul(argv[5], NULL, 0);
	static unsigned char buf[65536];
	struct shmring *r;
	int rc = shmring_open(name, SHMRING_CONSUMER, &r);
	if (rc)
		return fail("open", rc);
	for (uint64_t i = 0; i < count; i++) {
		ssize_t n = shmring_recv(r, buf, sizeof(buf), -1);
		if (n < 0)
			return fail("recv", n);
		if (test_msg_check(buf, (size_t)n, seed, i, maxlen)) {
			fprintf(stderr, "peer: message %llu corrupt\n", (unsigned long long)i);
			return 1;
		}
	}
	ssize_t n = shmring_recv(r, buf, sizeof(buf), 5000000000);
	if (n != -EPIPE)
		return fail("expected end of stream", n);
	shmring_close(r);
	return 0;
}

static int echo(int argc, char **argv)
{
	if (argc < 6)
		return 2;
	struct shmring *in, *out;
	uint64_t count = strtoull(argv[4], NULL, 0);
	int64_t spin = strtoll(argv[5], NULL, 0);
	int rc = shmring_open(argv[2], SHMRING_CONSUMER, &in);
	if (rc)
		return fail("open in", rc);
	rc = shmring_open(argv[3], SHMRING_PRODUCER, &out);
	if (rc)
		return fail("open out", rc);
	shmring_set_spin(in, spin);
	shmring_set_spin(out, spin);
	unsigned char buf[256];
	for (uint64_t i = 0; i < count; i++) {
		ssize_t n = shmring_recv(in, buf, sizeof(buf), -1);
		if (n < 0)
			return fail("echo recv", n);
		rc = shmring_send(out, buf, (size_t)n, -1);
		if (rc)
			return fail("echo send", rc);
	}
	shmring_close(in);
	shmring_close(out);
	return 0;
}

static int hold(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	int role = !strcmp(argv[3], "producer") ? SHMRING_PRODUCER : SHMRING_CONSUMER;
	struct shmring *r;
	int rc = shmring_open(argv[2], role, &r);
	if (rc)
		return fail("open", rc);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* MPMC message: producer id, sequence, checksum of both */
struct mpmc_msg {
	uint32_t id;
	uint32_t pad;
	uint64_t seq;
	uint64_t sum;
};

static int mpmc_produce(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	struct shmring *r;
	uint32_t id = (uint32_t)strtoul(argv[3], NULL, 0);
	uint64_t count = strtoull(argv[4], NULL, 0);
	int rc = shmring_open(argv[2], SHMRING_PRODUCER, &r);
	if (rc)
		return fail("open", rc);
	for (uint64_t i = 0; i < count; i++) {
		struct mpmc_msg m = { id, 0, i, test_mix(((uint64_t)id << 40) ^ i) };
		rc = shmring_send(r, &m, sizeof(m), -1);
		if (rc)
			return fail("send", rc);
	}
	shmring_close(r);
	return 0;
}

int main(int argc, char **argv)
{
	/* never outlive the test that started us (a failed test would leave
	 * a "hold" or "hang" peer behind) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "produce"))
		return produce(argc, argv);
	if (!strcmp(argv[1], "consume"))
		return consume(argc, argv);
	if (!strcmp(argv[1], "echo"))
		return echo(argc, argv);
	if (!strcmp(argv[1], "hold"))
		return hold(argc, argv);
	if (!strcmp(argv[1], "mpmc-produce"))
		return mpmc_produce(argc, argv);
	return 2;
}
