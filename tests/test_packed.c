/* SPDX-License-Identifier: MIT */
/*
 * tests/test_packed.c - packed variable-length rings (SHMRING_PACKED):
 * sizing and validation, every length 0..slot_size, the wrap with its
 * padding record, bursts, zero-copy (reserve-commit of fewer bytes,
 * acquire/release), a cross-process stream of random lengths checked byte
 * for byte, corrupt records and indices from a hostile writer, end of
 * stream, poll and event-fd readiness, statistics.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include "common.h"

static char name[64];
static struct shmring *ring;   /* producer and consumer */

static void make(uint32_t slot_size, uint64_t slots)
{
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = slot_size,
	                              .slots = slots, .flags = SHMRING_PACKED };
	test_name(name, sizeof(name), "pk");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &ring), 0);
}

static void teardown(void)
{
	shmring_close(ring);
	shmring_unlink(name);
}

static void setup_100x8(void) { make(100, 8); }      /* area 800 bytes */
static void setup_64x4(void) { make(64, 4); }        /* area 256 bytes */

static unsigned char *area(void)
{
	return (unsigned char *)ring->hdr + SHMRING_HEADER_BYTES;
}

Test(packed, sizing_and_refusals)
{
	struct shmring *r;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 100, .slots = 8,
	                              .flags = SHMRING_PACKED };
	test_name(name, sizeof(name), "pksz");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &r), 0);
	struct shmring_info in;
	cr_assert_eq(shmring_info(r, &in), 0);
	cr_assert_eq(in.kind, SHMRING_SPSC, "the public kind");
	cr_assert(in.flags & SHMRING_PACKED);
	cr_assert_eq(in.data_size, 800, "slots * slot_size");
	cr_assert_eq(in.mem_size, SHMRING_HEADER_BYTES + 800);
	shmring_close(r);
	shmring_unlink(name);

	cfg.slot_size = 13;   /* 8 * 13 = 104: rounded up to 8 */
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	cr_assert_eq(shmring_info(r, &in), 0);
	cr_assert_eq(in.data_size, 104);
	shmring_close(r);
	shmring_unlink(name);

	cfg.kind = SHMRING_MPMC;
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), -EINVAL, "packed MPMC is not built");
	cfg.kind = SHMRING_SPSC;
	cfg.slot_size = 4;    /* 2 * 4 = 8 bytes cannot hold a 16-byte record */
	cfg.slots = 2;
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), -EINVAL);
	cfg.slot_size = 8;    /* 16 bytes hold one record of 8, but not after an
	                       * empty message (8 bytes of padding + 16) */
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), -EINVAL);
	cfg.slot_size = 5;    /* 4 * 5 = 24 = 2 * 8 + 8: the smallest accepted */
	cfg.slots = 4;
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &r), 0);
	char buf[16] = "12345678";
	cr_assert_eq(shmring_send(r, buf, 5, 0), 0);
	cr_assert_eq(shmring_send(r, buf, 0, 0), 0);
	cr_assert_eq(shmring_send(r, buf, 0, 0), -EAGAIN, "full");
	cr_assert_eq(shmring_send(r, buf, 6, 0), -EMSGSIZE);
	cr_assert_eq(shmring_recv(r, buf, 8, 0), 5);
	cr_assert_eq(shmring_recv(r, buf, 8, 0), 0);
	cr_assert_eq(shmring_send(r, buf, 5, 0), 0, "at offset 0 after the wrap");
	cr_assert_eq(shmring_recv(r, buf, 8, 0), 5);
	cr_assert_eq(shmring_send(r, buf, 5, 0), 0, "offset 16: 8 bytes of padding + 16");
	cr_assert_eq(shmring_recv(r, buf, 8, 0), 5);
	shmring_close(r);
	shmring_unlink(name);
}

/* a new flag this library does not know, or an impossible packed header,
 * is refused at open */
Test(packed, open_refuses_unknown_flags_and_bad_sizes)
{
	struct shmring *r, *o;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 64, .slots = 4,
	                              .flags = SHMRING_PACKED };
	test_name(name, sizeof(name), "pkopen");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), 0);
	shmring_close(o);
	r->hdr->flags |= 0x100;
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO, "unknown flag");
	r->hdr->flags = SHMRING_PACKED;
	r->hdr->slot_stride = 72;
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO, "packed: stride 0");
	r->hdr->slot_stride = 0;
	r->hdr->slot_size = 65;   /* the object would be larger */
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO, "size mismatch");
	r->hdr->slot_size = 64;
	r->hdr->kind = SHMRING_MPMC;
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO, "packed MPMC");
	r->hdr->kind = SHMRING_SPSC;
	r->hdr->flags = 0;        /* as a fixed-slot ring: stride and total disagree */
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO);
	r->hdr->flags = SHMRING_PACKED;
	r->hdr->prod_idx = 12;    /* not a record boundary */
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO, "misaligned index");
	r->hdr->prod_idx = 0;
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), 0);
	shmring_close(o);
	shmring_close(r);
	shmring_unlink(name);
}

/* SHMRING_PACKED and SHMRING_OVERWRITE select two engines; no engine does
 * both, so the pair is refused at create and, written into a header, at
 * open (one flags check in validate.c serves both) */
Test(packed, packed_and_overwrite_exclude_each_other)
{
	struct shmring *r, *o;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 64, .slots = 4,
	                              .flags = SHMRING_PACKED | SHMRING_OVERWRITE };
	test_name(name, sizeof(name), "pkow");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), -EINVAL, "packed | overwrite");
	cr_assert_eq(shmring_create_memfd(&cfg, 0, &r), -EINVAL);
	int fd = shm_open(name, O_RDONLY, 0);
	cr_assert(fd < 0 && errno == ENOENT, "nothing was left behind");

	/* a packed ring whose header gains the overwrite flag */
	cfg.flags = SHMRING_PACKED;
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	r->hdr->flags = SHMRING_PACKED | SHMRING_OVERWRITE;
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO, "packed + overwrite");
	cr_assert_eq(shmring_open(name, 0, &o), -EPROTO, "an observer too");
	r->hdr->flags = SHMRING_PACKED;
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), 0);
	struct shmring_info in;
	cr_assert_eq(shmring_info(o, &in), 0);
	cr_assert_eq(in.flags, SHMRING_PACKED);
	cr_assert_eq(in.kind, SHMRING_SPSC, "the public kind");
	shmring_close(o);
	shmring_close(r);
	shmring_unlink(name);

	/* an overwrite ring whose header gains the packed flag */
	cfg.flags = SHMRING_OVERWRITE;
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	r->hdr->flags = SHMRING_PACKED | SHMRING_OVERWRITE;
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO, "overwrite + packed");
	r->hdr->flags = SHMRING_OVERWRITE;
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), 0);
	cr_assert_eq(shmring_info(o, &in), 0);
	cr_assert_eq(in.flags, SHMRING_OVERWRITE);
	shmring_close(o);
	shmring_close(r);
	shmring_unlink(name);
}

/* the flags change while open runs (between its read of the header and
 * its checks): the handle binds what open read, and it fits the mapping */
extern void (*shmring__test_hook_open)(void);
static struct shmring__hdr *flip_hdr;
static void flip_to_fixed(void)
{
	flip_hdr->flags = 0;
	flip_hdr->slot_stride = 72;
	flip_hdr->total_size = SHMRING_HEADER_BYTES + 4 * 72;
}

Test(packed, flags_flipped_during_open)
{
	struct shmring *r, *o;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 64, .slots = 4,
	                              .flags = SHMRING_PACKED };
	test_name(name, sizeof(name), "pkflip");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	flip_hdr = r->hdr;
	shmring__test_hook_open = flip_to_fixed;
	int rc = shmring_open(name, SHMRING_PRODUCER | SHMRING_CONSUMER, &o);
	shmring__test_hook_open = NULL;
	cr_assert_eq(rc, 0, "open read a consistent packed header");
	struct shmring_info in;
	cr_assert_eq(shmring_info(o, &in), 0);
	cr_assert(in.flags & SHMRING_PACKED, "bound what it read, not the flip");
	cr_assert_eq(in.data_size, 256);
	cr_assert(in.data_size + SHMRING_HEADER_BYTES <= in.mem_size);
	char buf[64] = "x";
	cr_assert_eq(shmring_send(o, buf, 40, 0), 0);
	cr_assert_eq(shmring_recv(o, buf, sizeof(buf), 0), 40);
	shmring_close(o);
	/* the flipped header is now a fixed-slot ring too large for the
	 * object: refused */
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO);
	shmring_close(r);
	shmring_unlink(name);
}

/* every length 0..slot_size, one at a time and several passes, so each
 * length meets many offsets and the wrap */
Test(packed, every_length, .init = setup_100x8, .fini = teardown)
{
	unsigned char msg[100], buf[128];
	uint64_t seq = 0;
	for (int pass = 0; pass < 9; pass++) {
		for (size_t len = 0; len <= 100; len++, seq++) {
			test_msg_fill(msg, len, 7, seq);
			cr_assert_eq(shmring_send(ring, msg, len, 0), 0, "len %zu", len);
			/* two in flight at a time: the wrap happens with data queued */
			if (len & 1)
				continue;
			for (int k = 0; k < 2 && (len || k == 0); k++) {
				memset(buf, 0xee, sizeof(buf));
				ssize_t n = shmring_recv(ring, buf, sizeof(buf), 0);
				size_t want = k == 0 && len ? len - 1 : len;
				cr_assert_eq(n, (ssize_t)want, "pass %d len %zu: got %zd", pass, len, n);
				test_msg_fill(msg, want, 7, k == 0 && len ? seq - 1 : seq);
				cr_assert_eq(memcmp(buf, msg, want), 0);
				cr_assert_eq(buf[want], 0xee, "no byte past the message");
			}
		}
	}
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EAGAIN);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(ring, &st), 0);
	cr_assert_eq(st.sent, 9 * 101, "messages, not bytes");
	cr_assert_eq(st.received, 9 * 101);
	cr_assert_eq(st.sent_bytes, 9 * 5050);
	cr_assert_eq(st.recv_bytes, 9 * 5050);
	cr_assert_eq(st.bad_msgs, 0);
}

/* the wrap: a record that does not fit before the end is preceded by a
 * padding record and starts over at offset 0 */
Test(packed, wrap_with_padding, .init = setup_64x4, .fini = teardown)
{
	unsigned char msg[64], buf[64];
	struct shmring_info in;
	memset(msg, 'a', sizeof(msg));
	/* 3 records of 64 bytes (56 payload): offset 192, 64 bytes left */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(shmring_send(ring, msg, 56, 0), 0);
	cr_assert_eq(shmring_send(ring, msg, 57, 0), -EAGAIN, "72 bytes do not fit in 64");
	cr_assert_eq(shmring_send(ring, msg, 56, 0), 0, "64 do: the area is full");
	cr_assert_eq(shmring_send(ring, msg, 0, 0), -EAGAIN);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 56);
	/* offset 0 again (256 = 0): now 3 x 64, then a 64-byte message (72
	 * bytes) wraps: padding of 64 at 192, the record at 0 */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(shmring_send(ring, msg, 56, 0), 0);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 56);
	cr_assert_eq(shmring_send(ring, msg, 64, 0), -EAGAIN, "128 free: needs 64 padding + 72");
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 56);
	memset(msg, 'b', sizeof(msg));
	cr_assert_eq(shmring_send(ring, msg, 64, 0), 0);
	const struct shmring__rec_packed *pad = (const void *)(area() + 192);
	cr_assert_eq(SHMRING__REC_TYPE(pad->word), SHMRING__REC_PAD);
	cr_assert_eq(SHMRING__REC_LEN(pad->word), 56, "the bytes after its header up to the end");
	const struct shmring__rec_packed *r0 = (const void *)area();
	cr_assert_eq(SHMRING__REC_TYPE(r0->word), SHMRING__REC_MSG);
	cr_assert_eq(SHMRING__REC_LEN(r0->word), 64);
	cr_assert_eq(shmring_info(ring, &in), 0);
	cr_assert_eq(in.prod_idx, 256 + 192 + 64 + 72, "byte positions");
	cr_assert_eq(in.used, 64 + 64 + 72, "one 56 left, the padding, the new record");
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 56);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 64);
	cr_assert_eq(memcmp(buf, msg, 64), 0);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EAGAIN);
}

/* how many messages a packed ring holds: area / record size */
Test(packed, capacity_follows_the_lengths, .init = setup_100x8, .fini = teardown)
{
	char msg[100] = { 0 };
	unsigned n = 0;
	while (shmring_send(ring, msg, 8, 0) == 0)
		n++;
	cr_assert_eq(n, 800 / 16, "8-byte messages take 16 bytes each: %u", n);
	char buf[8];
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 8);
	n = 0;
	while (shmring_send(ring, msg, 0, 0) == 0)
		n++;
	cr_assert_eq(n, 100, "empty messages take their header only");
}

Test(packed, bursts, .init = setup_100x8, .fini = teardown)
{
	unsigned char store[32][100], in[32][100];
	struct iovec iv[32], ov[32];
	uint64_t seq = 0, rseq = 0;
	for (int round = 0; round < 200; round++) {
		unsigned n = 1 + (unsigned)(test_mix((uint64_t)round) % 32);
		for (unsigned i = 0; i < n; i++) {
			size_t len = test_msg_len(3, seq + i, 100);
			test_msg_fill(store[i], len, 3, seq + i);
			iv[i] = (struct iovec){ store[i], len };
		}
		int sent = shmring_send_burst(ring, iv, n, 0);
		cr_assert(sent >= 1 && sent <= (int)n, "sent %d of %u", sent, n);
		seq += (uint64_t)sent;
		while (rseq < seq) {
			unsigned m = 1 + (unsigned)(test_mix((uint64_t)round * 7 + rseq) % 32);
			for (unsigned i = 0; i < m; i++)
				ov[i] = (struct iovec){ in[i], sizeof(in[i]) };
			int got = shmring_recv_burst(ring, ov, m, 0);
			cr_assert(got >= 1 && got <= (int)m, "got %d", got);
			for (int i = 0; i < got; i++, rseq++)
				cr_assert_eq(test_msg_check(in[i], ov[i].iov_len, 3, rseq, 100), 0,
				             "message %llu", (unsigned long long)rseq);
		}
	}
	cr_assert_eq(shmring_recv_burst(ring, ov, 4, 0), -EAGAIN);
	/* a burst stops at a message too long; the next call reports it */
	unsigned char big[101] = { 0 };
	iv[0] = (struct iovec){ big, 5 };
	iv[1] = (struct iovec){ big, 101 };
	cr_assert_eq(shmring_send_burst(ring, iv, 2, 0), 1);
	cr_assert_eq(shmring_send_burst(ring, iv + 1, 1, 0), -EMSGSIZE);
	/* a receive buffer too small: first message -EMSGSIZE (it stays) */
	cr_assert_eq(shmring_send(ring, big, 50, 0), 0);
	ov[0] = (struct iovec){ in[0], 100 };
	ov[1] = (struct iovec){ in[1], 10 };
	cr_assert_eq(shmring_recv_burst(ring, ov, 2, 0), 1, "stops before the 50");
	cr_assert_eq(ov[0].iov_len, 5);
	ov[0] = (struct iovec){ in[0], 10 };
	cr_assert_eq(shmring_recv_burst(ring, ov, 1, 0), -EMSGSIZE);
	cr_assert_eq(shmring_recv(ring, in[0], 49, 0), -EMSGSIZE);
	cr_assert_eq(shmring_recv(ring, in[0], 50, 0), 50);
}

/* reserve hands out slot_size contiguous bytes; commit takes what was used */
Test(packed, zero_copy, .init = setup_64x4, .fini = teardown)
{
	struct shmring_slot w, w2, rd;
	char buf[64];
	struct shmring_info in;

	cr_assert_eq(shmring_acquire(ring, &rd, 0), -EAGAIN);
	cr_assert_eq(shmring_reserve(ring, &w, 0), 0);
	cr_assert_eq(w.len, 64);
	cr_assert_eq(shmring_reserve(ring, &w2, 0), -EBUSY);
	cr_assert_eq(shmring_send(ring, "x", 1, 0), -EINVAL, "send while reserved");
	memset(w.data, 'z', 64);   /* all of it is writable */
	memcpy(w.data, "three", 5);
	cr_assert_eq(shmring_commit(ring, &w, 65), -EMSGSIZE);
	cr_assert_eq(shmring_commit(ring, &w, 5), 0, "fewer bytes than reserved");
	cr_assert_eq(shmring_commit(ring, &w, 5), -EINVAL, "committed twice");
	cr_assert_eq(shmring_info(ring, &in), 0);
	cr_assert_eq(in.prod_idx, 16, "5 bytes take 16, not 72");
	cr_assert_eq(shmring_reserve(ring, &w, 0), 0);
	cr_assert_eq(shmring_commit(ring, &w, 0), 0, "an empty message");

	cr_assert_eq(shmring_acquire(ring, &rd, 0), 0);
	cr_assert_eq(rd.len, 5);
	cr_assert_eq(memcmp(rd.data, "three", 5), 0);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EINVAL, "recv while acquired");
	struct shmring_slot fake = rd;
	fake.pos += 8;
	cr_assert_eq(shmring_release(ring, &fake), -EINVAL);
	cr_assert_eq(shmring_release(ring, &rd), 0);
	cr_assert_eq(shmring_acquire(ring, &rd, 0), 0);
	cr_assert_eq(rd.len, 0);
	cr_assert_eq(shmring_release(ring, &rd), 0);

	/* at offset 32: reserve needs 72 contiguous bytes; 224 remain, fine.
	 * Fill to offset 224 (32 left): the next reserve pads and takes 0 */
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(shmring_send(ring, buf, 56, 0), 0);
		cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 56);
	}
	cr_assert_eq(shmring_reserve(ring, &w, 0), 0);
	cr_assert_eq((unsigned char *)w.data, area() + 8, "starts over at offset 0");
	memcpy(w.data, "wrapped", 7);
	cr_assert_eq(shmring_commit(ring, &w, 7), 0);
	cr_assert_eq(shmring_acquire(ring, &rd, 0), 0);
	cr_assert_eq(rd.len, 7);
	cr_assert_eq(memcmp(rd.data, "wrapped", 7), 0);
	cr_assert_eq(shmring_release(ring, &rd), 0);

	/* mixed calls keep FIFO order */
	cr_assert_eq(shmring_send(ring, "A", 1, 0), 0);
	cr_assert_eq(shmring_reserve(ring, &w, 0), 0);
	memcpy(w.data, "BB", 2);
	cr_assert_eq(shmring_commit(ring, &w, 2), 0);
	cr_assert_eq(shmring_acquire(ring, &rd, 0), 0);
	cr_assert_eq(((char *)rd.data)[0], 'A');
	cr_assert_eq(shmring_release(ring, &rd), 0);
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 2);
	cr_assert_eq(memcmp(buf, "BB", 2), 0);
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(ring, &st), 0);
	cr_assert_eq(st.sent, 8);
	cr_assert_eq(st.received, 8);
}

/* a reservation pending while full waits for the whole record */
Test(packed, reserve_waits_for_a_whole_record, .init = setup_64x4, .fini = teardown)
{
	struct shmring_slot w;
	char buf[64] = { 0 };
	cr_assert_eq(shmring_send(ring, buf, 56, 0), 0);
	cr_assert_eq(shmring_send(ring, buf, 56, 0), 0);
	cr_assert_eq(shmring_send(ring, buf, 56, 0), 0);   /* 64 bytes left < 72 */
	cr_assert_eq(shmring_reserve(ring, &w, 0), -EAGAIN);
	cr_assert_eq(shmring_reserve(ring, &w, 2000000), -ETIMEDOUT);
	cr_assert_eq(shmring_send(ring, buf, 8, 0), 0, "a small message still fits");
}

/*
 * An empty ring always takes a largest record, whatever offset the
 * producer is at (issue 22, item 4). Padding before a record fills the rest
 * of the area, which is less than the record: up to align8(slot_size)
 * bytes. So a configuration is accepted only when its area holds a largest
 * record plus that padding, 2 * align8(slot_size) + 8 bytes; one that is
 * accepted must then take a slot_size message (send, reserve, POLLOUT) at
 * every offset the producer can reach (0-byte messages step it 8 at a time).
 */
static uint64_t align8(uint64_t x) { return (x + 7) & ~UINT64_C(7); }

/* the producer's offset in the record area (the ring is empty) */
static uint64_t prod_off(struct shmring *r)
{
	struct shmring_info in;
	cr_assert_eq(shmring_info(r, &in), 0);
	return in.prod_idx % in.data_size;
}

/* move an empty ring's producer to offset off: 0-byte messages (8 bytes
 * each), received at once */
static void go_to(struct shmring *r, uint64_t off)
{
	char b[8];
	while (prod_off(r) != off) {
		cr_assert_eq(shmring_send(r, b, 0, 0), 0);
		cr_assert_eq(shmring_recv(r, b, sizeof(b), 0), 0);
	}
}

Test(packed, empty_ring_takes_a_largest_record_at_every_offset, .timeout = 30)
{
	static const struct { uint32_t slot_size; uint64_t slots; } cases[] = {
		{ 64, 2 }, { 4, 4 }, { 8, 2 }, { 1, 2 }, { 1000, 2 }, { 3, 4 },   /* too small */
		{ 1, 16 }, { 121, 2 },
		{ 5, 4 }, { 8, 4 }, { 3, 8 }, { 64, 4 }, { 60, 4 }, { 100, 8 },   /* enough */
		{ 13, 8 }, { 1, 32 }, { 1000, 4 },
	};
	static char msg[1000], buf[1000];
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct shmring *r;
		uint32_t ss = cases[i].slot_size;
		uint64_t n = cases[i].slots, area = align8((uint64_t)ss * n);
		int fits = area >= 2 * align8(ss) + 8;
		struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = ss, .slots = n,
		                              .flags = SHMRING_PACKED };
		test_name(name, sizeof(name), "pkreach");
		int rc = shmring_create(name, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &r);
		if (!fits)
			cr_expect_eq(rc, -EINVAL, "%" PRIu64 " x %u (area %" PRIu64 " < %" PRIu64
			             "): create gave %d, want -EINVAL", n, ss, area,
			             2 * align8(ss) + 8, rc);
		else
			cr_assert_eq(rc, 0, "%" PRIu64 " x %u (area %" PRIu64 "): create gave %d",
			             n, ss, area, rc);
		if (rc)
			continue;
		/* accepted: the empty ring must take a slot_size message at every
		 * offset (on a refused shape this shows where it would stick) */
		for (uint64_t off = 0; off < area; off += 8) {
			struct shmring_pollitem it = { r, SHMRING_POLLOUT, 0 };
			struct shmring_slot s;
			go_to(r, off);
			cr_expect_eq(shmring_poll(&it, 1, 0), 1, "%" PRIu64 " x %u, offset %" PRIu64
			             ": no POLLOUT on an empty ring", n, ss, off);
			rc = shmring_send(r, msg, ss, 0);
			cr_expect_eq(rc, 0, "%" PRIu64 " x %u, offset %" PRIu64 ": send(%u) on an "
			             "empty ring gave %d", n, ss, off, ss, rc);
			if (rc) {
				cr_expect_eq(shmring_send(r, msg, ss, 2000000), -ETIMEDOUT);
				break;   /* stuck for good: nothing will ever free room */
			}
			cr_assert_eq(shmring_recv(r, buf, sizeof(buf), 0), (ssize_t)ss);
			go_to(r, off);
			rc = shmring_reserve(r, &s, 0);
			cr_expect_eq(rc, 0, "%" PRIu64 " x %u, offset %" PRIu64 ": reserve on an "
			             "empty ring gave %d", n, ss, off, rc);
			if (rc)
				break;
			cr_assert_eq(shmring_commit(r, &s, ss), 0);
			cr_assert_eq(shmring_recv(r, buf, sizeof(buf), 0), (ssize_t)ss);
		}
		shmring_close(r);
		shmring_unlink(name);
	}
}

/* ... and at open: a header whose shape could stall is -EPROTO, judged from
 * the values open read (the test hook rewrites the header after that read:
 * what the handle binds is the copy, never a re-read) */
extern void (*shmring__test_hook_open)(void);   /* src/validate.c, test-only */
static struct shmring__hdr *hook_hdr;
static uint32_t hook_slot_size;
static uint64_t hook_slots;

static void rewrite_shape(void)
{
	hook_hdr->slot_size = hook_slot_size;
	hook_hdr->slots = hook_slots;
	hook_hdr->total_size = SHMRING_HEADER_BYTES + align8((uint64_t)hook_slot_size * hook_slots);
}

Test(packed, open_refuses_a_shape_that_could_stall)
{
	struct shmring *r, *o;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 64, .slots = 4,
	                              .flags = SHMRING_PACKED };
	test_name(name, sizeof(name), "pkstall");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);   /* area 256 */
	hook_hdr = r->hdr;
	/* 2 x 64: area 128 < 2 * 64 + 8, a consistent header otherwise */
	hook_slot_size = 64;
	hook_slots = 2;
	rewrite_shape();
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO, "2 x 64");
	cr_assert_eq(shmring_open(name, 0, &o), -EPROTO, "2 x 64, an observer");
	/* read as 2 x 64, rewritten to 4 x 64 before the checks: still refused */
	hook_slots = 4;
	shmring__test_hook_open = rewrite_shape;
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO, "judged from the copy");
	shmring__test_hook_open = NULL;
	/* read as 4 x 64, rewritten to 2 x 64: the handle keeps 4 x 64 */
	hook_slots = 2;
	shmring__test_hook_open = rewrite_shape;
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER | SHMRING_CONSUMER, &o), 0);
	shmring__test_hook_open = NULL;
	struct shmring_info in;
	cr_assert_eq(shmring_info(o, &in), 0);
	cr_assert_eq(in.slots, 4);
	cr_assert_eq(in.data_size, 256);
	shmring_close(o);
	/* 4 x 4: area 16 < 2 * 8 + 8 */
	hook_slot_size = 4;
	hook_slots = 4;
	rewrite_shape();
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), -EPROTO, "4 x 4");
	/* 4 x 5: area 24 = 2 * 8 + 8, the smallest that never stalls */
	hook_slot_size = 5;
	rewrite_shape();
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &o), 0, "4 x 5");
	shmring_close(o);
	shmring_close(r);
	shmring_unlink(name);
}

/* ---- a hostile writer: scribbles on records and indices ---- */

Test(packed, corrupt_length_is_ebadmsg_and_the_ring_recovers, .init = setup_100x8,
     .fini = teardown)
{
	char buf[128];
	struct shmring__rec_packed *h = (struct shmring__rec_packed *)area();
	const uint32_t bad[] = { 101, 1000000, UINT32_MAX, 96 /* past what was published */ };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct shmring_info in;
		cr_assert_eq(shmring_info(ring, &in), 0);
		h = (struct shmring__rec_packed *)(area() + in.cons_idx % 800);
		cr_assert_eq(shmring_send(ring, "one", 3, 0), 0);
		cr_assert_eq(shmring_send(ring, "two", 3, 0), 0);
		h->word = SHMRING__REC_WORD(SHMRING__REC_TYPE(h->word), bad[i]);
		cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EBADMSG, "len %u", bad[i]);
		cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EAGAIN,
		             "what was published is dropped");
		cr_assert_eq(shmring_send(ring, "three", 5, 0), 0);
		cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 5);
		cr_assert_eq(memcmp(buf, "three", 5), 0);
	}
	/* a bad type, through each call */
	struct shmring_slot s;
	struct iovec iv = { buf, sizeof(buf) };
	for (int call = 0; call < 3; call++) {
		struct shmring_info in;
		cr_assert_eq(shmring_info(ring, &in), 0);
		h = (struct shmring__rec_packed *)(area() + in.cons_idx % 800);
		cr_assert_eq(shmring_send(ring, "one", 3, 0), 0);
		h->word = SHMRING__REC_WORD(0, SHMRING__REC_LEN(h->word));
		int rc = call == 0 ? (int)shmring_recv(ring, buf, sizeof(buf), 0)
		       : call == 1 ? shmring_recv_burst(ring, &iv, 1, 0)
		                   : shmring_acquire(ring, &s, 0);
		cr_assert_eq(rc, -EBADMSG, "call %d", call);
	}
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(ring, &st), 0);
	cr_assert_eq(st.bad_msgs, 7);
}

Test(packed, corrupt_padding_is_ebadmsg, .init = setup_64x4, .fini = teardown)
{
	char msg[64] = { 0 }, buf[64];
	for (int variant = 0; variant < 3; variant++) {
		/* bring the producer to offset 192 with the ring empty */
		struct shmring_info in;
		cr_assert_eq(shmring_info(ring, &in), 0);
		while (in.prod_idx % 256 != 192) {
			cr_assert_eq(shmring_send(ring, msg, 0, 0), 0);
			cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 0);
			cr_assert_eq(shmring_info(ring, &in), 0);
		}
		cr_assert_eq(shmring_send(ring, msg, 64, 0), 0);   /* padding at 192 */
		struct shmring__rec_packed *pad = (struct shmring__rec_packed *)(area() + 192);
		cr_assert_eq(SHMRING__REC_TYPE(pad->word), SHMRING__REC_PAD);
		if (variant == 0)
			pad->word = SHMRING__REC_WORD(SHMRING__REC_PAD, 48);   /* short of the end */
		else if (variant == 1)
			pad->word = SHMRING__REC_WORD(SHMRING__REC_PAD, 0xfffffff0u);   /* far past */
		else {
			/* a shorter message, then garbage where the next
			 * header would be */
			pad->word = SHMRING__REC_WORD(SHMRING__REC_MSG, 48);
			memset(area() + 248, 0, 8);
		}
		ssize_t rc = shmring_recv(ring, buf, sizeof(buf), 0);
		if (variant == 2) {
			cr_assert_eq(rc, 48, "a valid-looking message is delivered");
			rc = shmring_recv(ring, buf, sizeof(buf), 0);
		}
		cr_assert_eq(rc, -EBADMSG, "variant %d", variant);
		cr_assert_eq(shmring_send(ring, "ok", 2, 0), 0);
		cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), 2);
	}
}

Test(packed, corrupt_indices_are_eproto, .init = setup_64x4, .fini = teardown, .timeout = 10)
{
	char buf[64];
	ring->hdr->prod_idx = 12;   /* not a multiple of 8 */
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 0), -EPROTO);
	ring->hdr->prod_idx = 1 << 20;   /* beyond one area */
	cr_assert_eq(shmring_recv(ring, buf, sizeof(buf), 5000000), -EPROTO);
	ring->hdr->prod_idx = 0;
	ring->hdr->cons_idx = 4;
	for (int i = 0; i < 16; i++)
		shmring_send(ring, "x", 1, 0);   /* uses up the local view */
	cr_assert_eq(shmring_send(ring, "x", 1, 0), -EPROTO);
}

/* random scribbles on the whole record area while messages flow: every
 * call returns a length <= slot_size or an error, never a crash (ASan in
 * make check watches the reads) */
Test(packed, random_scribbles_never_escape, .init = setup_100x8, .fini = teardown)
{
	unsigned char buf[100], msg[100] = { 0 };
	struct shmring_slot s;
	struct iovec iv[4];
	for (uint64_t i = 0; i < 20000; i++) {
		uint64_t x = test_mix(i);
		size_t len = x % 101;
		shmring_send(ring, msg, len, 0);
		if (x & 0x300)
			area()[(x >> 16) % 800] = (unsigned char)(x >> 40);
		switch ((x >> 12) & 3) {
		case 0: {
			ssize_t n = shmring_recv(ring, buf, sizeof(buf), 0);
			cr_assert(n <= 100 && (n >= 0 || n == -EAGAIN || n == -EBADMSG ||
			                       n == -EMSGSIZE), "recv %zd", n);
			break;
		}
		case 1:
			for (int k = 0; k < 4; k++)
				iv[k] = (struct iovec){ buf, sizeof(buf) };
			cr_assert(shmring_recv_burst(ring, iv, 4, 0) <= 4);
			break;
		default:
			if (shmring_acquire(ring, &s, 0) == 0) {
				cr_assert(s.len <= 100);
				cr_assert((unsigned char *)s.data >= area() &&
				          (unsigned char *)s.data + s.len <= area() + 800);
				volatile unsigned char sum = 0;
				for (size_t k = 0; k < s.len; k++)
					sum += ((unsigned char *)s.data)[k];
				cr_assert_eq(shmring_release(ring, &s), 0);
			}
		}
	}
}

/* ---- between processes ---- */

#define XP_MAX 4096
#define XP_N   200000

/* a producer process: XP_N messages of random lengths 0..XP_MAX, sent one
 * by one, in bursts and through reserve/commit */
static int xp_producer(const char *nm)
{
	struct shmring *p;
	if (shmring_open(nm, SHMRING_PRODUCER, &p))
		return 2;
	static unsigned char store[16][XP_MAX];
	struct iovec iv[16];
	uint64_t seq = 0;
	while (seq < XP_N) {
		unsigned mode = (unsigned)(test_mix(seq * 31) % 3);
		if (mode == 0) {
			size_t len = test_msg_len(11, seq, XP_MAX);
			test_msg_fill(store[0], len, 11, seq);
			if (shmring_send(p, store[0], len, -1))
				return 3;
			seq++;
		} else if (mode == 1) {
			unsigned n = 16;
			if (XP_N - seq < n)
				n = (unsigned)(XP_N - seq);
			for (unsigned i = 0; i < n; i++) {
				size_t len = test_msg_len(11, seq + i, XP_MAX);
				test_msg_fill(store[i], len, 11, seq + i);
				iv[i] = (struct iovec){ store[i], len };
			}
			int k = shmring_send_burst(p, iv, n, -1);
			if (k < 1)
				return 4;
			seq += (uint64_t)k;
		} else {
			struct shmring_slot s;
			if (shmring_reserve(p, &s, -1))
				return 5;
			size_t len = test_msg_len(11, seq, XP_MAX);
			test_msg_fill(s.data, len, 11, seq);
			if (shmring_commit(p, &s, len))
				return 6;
			seq++;
		}
	}
	shmring_shutdown(p);
	shmring_close(p);
	return 0;
}

Test(packed, cross_process_random_lengths_byte_exact, .timeout = 120)
{
	struct shmring *c;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = XP_MAX, .slots = 16,
	                              .flags = SHMRING_PACKED };
	test_name(name, sizeof(name), "pkxp");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_CONSUMER, &c), 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(xp_producer(name));
	static unsigned char bufs[8][XP_MAX];
	struct iovec iv[8];
	uint64_t seq = 0;
	for (;;) {
		unsigned mode = (unsigned)(seq % 3);
		int got;
		if (mode == 0) {
			ssize_t n = shmring_recv(c, bufs[0], XP_MAX, -1);
			if (n == -EPIPE)
				break;
			cr_assert(n >= 0, "recv %zd", n);
			iv[0].iov_len = (size_t)n;
			got = 1;
		} else if (mode == 1) {
			for (int i = 0; i < 8; i++)
				iv[i] = (struct iovec){ bufs[i], XP_MAX };
			got = shmring_recv_burst(c, iv, 8, -1);
			if (got == -EPIPE)
				break;
			cr_assert(got >= 1, "recv_burst %d", got);
		} else {
			struct shmring_slot s;
			int rc = shmring_acquire(c, &s, -1);
			if (rc == -EPIPE)
				break;
			cr_assert_eq(rc, 0);
			cr_assert_eq(test_msg_check(s.data, s.len, 11, seq, XP_MAX), 0,
			             "message %llu", (unsigned long long)seq);
			cr_assert_eq(shmring_release(c, &s), 0);
			seq++;
			continue;
		}
		for (int i = 0; i < got; i++, seq++)
			cr_assert_eq(test_msg_check(bufs[i], iv[i].iov_len, 11, seq, XP_MAX), 0,
			             "message %llu", (unsigned long long)seq);
	}
	cr_assert_eq(test_wait_child(pid, 60000), 0);
	cr_assert_eq(seq, XP_N, "every message, then end of stream");
	struct shmring_stats st;
	cr_assert_eq(shmring_stats(c, &st), 0);
	cr_assert_eq(st.sent, XP_N);
	cr_assert_eq(st.received, XP_N);
	cr_assert_eq(st.bad_msgs, 0);
	shmring_close(c);
	shmring_unlink(name);
}

/* a threaded stream in one process (what the TSan build runs) */
struct th_arg { const char *name; int rc; };

static void *th_producer(void *p)
{
	struct th_arg *a = p;
	a->rc = xp_producer(a->name);
	return NULL;
}

Test(packed, threaded_stream, .timeout = 120)
{
	struct shmring *c;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = XP_MAX, .slots = 4,
	                              .flags = SHMRING_PACKED };
	test_name(name, sizeof(name), "pkth");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_CONSUMER, &c), 0);
	struct th_arg a = { name, -1 };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, th_producer, &a), 0);
	static unsigned char buf[XP_MAX];
	uint64_t seq = 0;
	for (;;) {
		ssize_t n = shmring_recv(c, buf, sizeof(buf), -1);
		if (n == -EPIPE)
			break;
		cr_assert(n >= 0);
		cr_assert_eq(test_msg_check(buf, (size_t)n, 11, seq, XP_MAX), 0);
		seq++;
	}
	pthread_join(t, NULL);
	cr_assert_eq(a.rc, 0);
	cr_assert_eq(seq, XP_N);
	shmring_close(c);
	shmring_unlink(name);
}

/* ---- end of stream, readiness ---- */

Test(packed, end_of_stream, .init = setup_64x4, .fini = teardown)
{
	struct shmring *c;
	char buf[64];
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &c), -EBUSY, "SPSC roles");
	shmring_close(ring);
	ring = NULL;
	struct shmring *p;
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_send(p, "last", 4, 0), 0);
	cr_assert_eq(shmring_shutdown(p), 0);
	cr_assert_eq(shmring_send(p, "x", 1, 0), -EPIPE);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), -1), 4, "drained first");
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), -1), -EPIPE);
	struct shmring_slot s;
	cr_assert_eq(shmring_acquire(c, &s, 0), -EPIPE);
	shmring_close(p);
	ring = c;
}

static void *late_sender(void *p)
{
	test_sleep_ms(50);
	shmring_send(p, "late", 4, 0);
	return NULL;
}

Test(packed, poll_and_event_fd_readiness, .init = setup_64x4, .fini = teardown, .timeout = 20)
{
	struct shmring *p, *c;
	char buf[64] = { 0 };
	shmring_close(ring);
	ring = NULL;
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &c), 0);
	struct shmring_pollitem it[2] = { { c, SHMRING_POLLIN, 0 }, { p, SHMRING_POLLOUT, 0 } };
	cr_assert_eq(shmring_poll(it, 1, 0), -EAGAIN, "empty");
	cr_assert_eq(shmring_poll(it + 1, 1, 0), 1, "room");
	cr_assert_eq(it[1].revents, SHMRING_POLLOUT);

	int efd = shmring_event_fd(c);
	cr_assert(efd >= 0);
	cr_assert_eq(shmring_arm(c), 0, "nothing to read: armed");
	struct pollfd pf = { .fd = efd, .events = POLLIN };
	cr_assert_eq(poll(&pf, 1, 50), 0);
	cr_assert_eq(shmring_send(p, buf, 56, 0), 0);
	cr_assert_eq(poll(&pf, 1, 5000), 1, "the fd became readable");
	cr_assert_eq(shmring_poll(it, 1, 0), 1);
	cr_assert_eq(it[0].revents, SHMRING_POLLIN);
	cr_assert_eq(shmring_arm(c), 1, "data already there");

	/* POLLOUT means room for a message of slot_size (72 bytes) */
	cr_assert_eq(shmring_send(p, buf, 56, 0), 0);
	cr_assert_eq(shmring_send(p, buf, 56, 0), 0);   /* 64 left */
	cr_assert_eq(shmring_poll(it + 1, 1, 0), -EAGAIN, "no room for slot_size");
	int pfd = shmring_event_fd(p);
	cr_assert_eq(shmring_arm(p), 0);
	struct pollfd pp = { .fd = pfd, .events = POLLIN };
	cr_assert_eq(poll(&pp, 1, 50), 0);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 56);
	cr_assert_eq(poll(&pp, 1, 5000), 1, "released bytes: the producer's fd is readable");
	cr_assert_eq(shmring_poll(it + 1, 1, 0), -EAGAIN, "128 free < 64 padding + 72");
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 0), 56);
	cr_assert_eq(shmring_poll(it + 1, 1, 1000000000), 1);

	/* a blocked consumer wakes for a message sent later */
	while (shmring_recv(c, buf, sizeof(buf), 0) >= 0)
		;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, late_sender, p), 0);
	cr_assert_eq(shmring_recv(c, buf, sizeof(buf), 3000000000LL), 4);
	pthread_join(t, NULL);
	shmring_close(p);
	ring = c;
}
