/* SPDX-License-Identifier: MIT */
/*
 * cli_bridge_wire.c - the bridge's wire format: what a sending bridge puts
 * on a ZeroMQ PUSH socket and a receiving bridge takes from its PULL socket.
 *
 * Wire format, version 2 (version 1 sent each message as it was):
 *   hello a two-part message, first of all: an empty frame, then the text
 *         "shmring-bridge 2 end hello 0 0". It has the end record's shape so
 *         that a version-1 receiver refuses it saying which version came;
 *         a receiver of this version refuses a first message that is not
 *         this (a version-1 sender's data or end) the same way.
 *   data  a single-part message, a batch: records one after the other, each
 *         a 4-byte little-endian length then that many bytes, one record per
 *         ring message, in order. A batch whose records do not exactly fill
 *         it is refused (exit 6) before any of it enters the ring.
 *   end   a two-part message: an empty frame, then the text
 *         "shmring-bridge 2 end REASON MESSAGES BYTES", REASON one of
 *           clean        the source stream was shut down
 *                        (shmring_end_reason: SHMRING_END_CLEAN)
 *           aborted      a producer aborted it (SHMRING_END_ABORTED:
 *                        shmring push interrupted, or its input failed)
 *           died         a producer died or closed without a shutdown
 *                        (SHMRING_END_DIED); senders before end reasons
 *                        said "truncated", which receivers still take
 *           corrupt      corrupt messages were skipped in the source ring
 *           interrupted  the sender was stopped by a signal
 *           unknown      the sender could not tell (a new stream began on
 *                        its ring at once)
 *         and MESSAGES, BYTES the ring messages (records) sent before it.
 *         A receiver takes a REASON it does not know as an incomplete
 *         stream, so adding one needs no new version.
 * The receiver shuts its ring down (pop there exits 0) only on a clean end
 * whose counts match what it received. Otherwise (any other REASON, counts
 * that differ, a broken connection, a refused message, a signal) it aborts
 * its ring (shmring_abort), so that pop there exits 13, and exits non-zero.
 *
 * Sizes: a sender ends a batch once it holds BATCH_BYTES, so a batch is
 * shorter than BATCH_BYTES + REC_HDR + the largest record (BATCH_MAX); a
 * record longer than the receiver's slot size is refused anyway. The
 * receiver sets ZMQ_MAXMSGSIZE to BATCH_MAX of its ring's slot size:
 * ZeroMQ drops the connection of a bigger message when its size arrives,
 * before allocating it, so a peer cannot make the receiver hold more than
 * about --hwm such batches. ZeroMQ gives no reason for the drop; the
 * receiver says that a lost connection may be this.
 *
 * Every break is loud: a receiver refuses what is not in this format,
 * naming the version it got when it can.
 */
#include <stdio.h>
#include <string.h>
#include "cli_bridge.h"

int wire_end_record(char *buf, size_t size, const char *reason, uint64_t msgs,
                    uint64_t bytes)
{
	return snprintf(buf, size, END_MAGIC " %u end %s %llu %llu", END_VERSION, reason,
	                (unsigned long long)msgs, (unsigned long long)bytes);
}

int wire_parse_end(const char *rec, size_t len, unsigned *version, char *reason,
                   size_t rsize, unsigned long long *msgs, unsigned long long *bytes)
{
	char text[END_MAX + 1], why[32];
	int used = 0;
	if (len > END_MAX)
		return -1;
	memcpy(text, rec, len);
	text[len] = '\0';
	if (sscanf(text, END_MAGIC " %u end %31s %llu %llu%n", version, why, msgs, bytes,
	           &used) != 4 || (size_t)used != len)
		return -1;
	snprintf(reason, rsize, "%s", why);
	return 0;
}

/* every REASON a receiver knows, and what it says of it (NULL: the stream
 * is whole); any other word counts as an incomplete stream too */
static const struct {
	const char *word, *why;
} end_reasons[] = {
	{ "clean", NULL },
	{ "aborted", "the stream was aborted at the sending side (its producer was "
	             "interrupted, or its input failed)" },
	{ "died", "a producer died or closed without a shutdown at the sending side" },
	{ "truncated", "a producer died or closed without a shutdown at the sending side" },
	{ "corrupt", "corrupt messages were skipped at the sending side" },
	{ "interrupted", "the sending bridge was stopped by a signal before the end" },
	{ "unknown", "the sending side could not tell how its stream ended" },
};

const char *wire_end_why(const char *word)
{
	for (size_t i = 0; i < sizeof(end_reasons) / sizeof(end_reasons[0]); i++)
		if (!strcmp(word, end_reasons[i].word))
			return end_reasons[i].why;
	return "the sending side ended the stream for a reason this bridge does not know";
}

const char *wire_end_word(int end_reason)
{
	switch (end_reason) {
	case SHMRING_END_CLEAN:   return "clean";
	case SHMRING_END_ABORTED: return "aborted";
	case SHMRING_END_DIED:    return "died";
	default:                  return "unknown";
	}
}

uint32_t wire_rec_len(const unsigned char *h)
{
	return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
	       (uint32_t)h[3] << 24;
}

void wire_rec_put(unsigned char *h, uint32_t len)
{
	h[0] = (unsigned char)len;
	h[1] = (unsigned char)(len >> 8);
	h[2] = (unsigned char)(len >> 16);
	h[3] = (unsigned char)(len >> 24);
}

int wire_batch_check(const unsigned char *p, size_t size, uint32_t slot_size,
                     const char *ep, const char *name)
{
	size_t off = 0;
	while (off < size) {
		uint32_t len;
		if (size - off < REC_HDR || (len = wire_rec_len(p + off)) > size - off - REC_HDR) {
			cli_err(ep, "a batch not in the bridge's format (version %u): its records "
			        "do not fill it exactly", END_VERSION);
			return EX_PROTO;
		}
		if (len > slot_size) {
			cli_err(name, "a message of %lu bytes is longer than the slot size (%u)",
			        (unsigned long)len, slot_size);
			return EX_MSGSIZE;
		}
		off += REC_HDR + len;
	}
	return EX_OK;
}
