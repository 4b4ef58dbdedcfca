/* SPDX-License-Identifier: MIT */
/*
 * cli_bridge.h - the parts of `shmring bridge`, one concern a file; for
 * them only (the rest of the tool knows cmd_bridge() from cli.h):
 *   cli_bridge.c       the command: usage, options, which way it carries
 *   cli_bridge_wire.c  the wire format: greeting, batches of records, the
 *                      end record and its REASONs, the size limit
 *   cli_bridge_link.c  the ZeroMQ side: a socket, its monitor, and whether
 *                      the stream's connection broke
 *   cli_bridge_send.c  ring -> ZeroMQ, the sending bridge
 *   cli_bridge_recv.c  ZeroMQ -> ring, the receiving bridge
 */
#ifndef SHMRING_CLI_BRIDGE_H
#define SHMRING_CLI_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include "cli.h"

/* the command's options (cli_bridge.c) */
struct bridge_opts {
	struct cli_ring_opts ro;
	int create;                     /* ZeroMQ -> ring: create a missing ring */
	double wait_s;                  /* ring -> ZeroMQ: wait for the ring */
	int hwm;                        /* ZMQ_SNDHWM / ZMQ_RCVHWM, in batches */
	int peer_timeout_s;             /* TCP keepalive + TCP_USER_TIMEOUT */
	int64_t spin_ns;                /* the ring handle's spin budget: 0 by
	                                 * default, since a bridge shares the
	                                 * CPUs with the ring's other end and
	                                 * with ZeroMQ's I/O thread, and a batch
	                                 * makes a wake-up rare */
};

/* ------------------------------------------- wire (cli_bridge_wire.c) */

#define END_MAGIC   "shmring-bridge"
#define END_VERSION 2u              /* of the whole wire format */
#define END_MAX     128             /* longest end record */
#define REC_HDR     4u              /* a record's length: 4 bytes, LE */
#define BATCH_BYTES (256u * 1024)   /* a batch is sent once this full */
/* the largest batch: short of BATCH_BYTES before its last record, which
 * is at most slot_size bytes (the receiver's, for a batch it can take) */
#define BATCH_MAX(slot_size) ((uint64_t)BATCH_BYTES + REC_HDR + (slot_size))

/* the text of an end record (the greeting is one with REASON "hello"):
 * its length, short of END_MAX */
int wire_end_record(char *buf, size_t size, const char *reason, uint64_t msgs,
                    uint64_t bytes);
/* an end record's text, len bytes: 0 and its version, REASON (up to rsize
 * - 1 bytes) and counts; -1 when it is not one */
int wire_parse_end(const char *rec, size_t len, unsigned *version, char *reason,
                   size_t rsize, unsigned long long *msgs, unsigned long long *bytes);
/* the REASON for how the source ring's stream ended (shmring_end_reason) */
const char *wire_end_word(int end_reason);
/* what a receiver says of a REASON: NULL for a whole stream ("clean") */
const char *wire_end_why(const char *word);
/* a record's 4-byte length */
uint32_t wire_rec_len(const unsigned char *h);
void wire_rec_put(unsigned char *h, uint32_t len);
/* a batch's records fill it exactly and each fits slot_size: EX_OK, or
 * EX_PROTO / EX_MSGSIZE (reported, naming ep or name) */
int wire_batch_check(const unsigned char *p, size_t size, uint32_t slot_size,
                     const char *ep, const char *name);

/* ------------------------------------------- ZeroMQ (cli_bridge_link.c) */

/* one socket, its monitor, and what the monitor has told so far */
#define LINK_CONNS 32
struct link {
	void *ctx, *sock, *mon;
	const char *ep;
	int bound;         /* PULL: bound on ep */
	int shaken;        /* handshakes completed */
	int broken;        /* sticky: the stream's connection closed, or a
	                    * second peer completed a handshake */
	unsigned nconns;   /* open connections (accepted or connected) */
	struct {
		uint32_t fd;   /* the monitor's name for it */
		int stream;    /* it may be the one carrying the stream */
	} conns[LINK_CONNS];
};
/* an endpoint argument: tcp:// or ipc:// (1), another scheme (-1), or not
 * an endpoint (0: a ring) */
int link_is_endpoint(const char *arg);
/* a PUSH socket connected to ep, or a PULL socket bound on it, with its
 * monitor attached first so that no event is missed; max_msg: the largest
 * message it takes (ZMQ_MAXMSGSIZE; -1: no limit); 0 or an exit code
 * (reported) */
int link_open(struct link *l, int type, const char *ep, const struct bridge_opts *o,
              int64_t max_msg);
void link_close(struct link *l, int linger_ms);
/* read the monitor's pending events into l->broken and the rest */
void link_events(struct link *l);
/* wait up to ms for the socket (events: ZMQ_POLLIN / 0) or the monitor */
void link_wait(struct link *l, short events, long ms);
/* send one frame, waiting in slices; 0, -ECONNRESET (the stream's
 * connection is gone), -EINTR (a signal), or another -errno */
int link_send(struct link *l, const void *p, size_t n, int flags);

/* ------------------------------------------------------ the two ways */

/* ring -> ZeroMQ (cli_bridge_send.c) and ZeroMQ -> ring (cli_bridge_recv.c):
 * the command's exit code */
int bridge_send(const char *name, const char *ep, const struct bridge_opts *o);
int bridge_recv(const char *ep, const char *name, const struct bridge_opts *o);

#endif /* SHMRING_CLI_BRIDGE_H */
