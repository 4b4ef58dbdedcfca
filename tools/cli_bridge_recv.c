/* SPDX-License-Identifier: MIT */
/*
 * cli_bridge_recv.c - ZeroMQ -> ring, the receiving bridge: bind a PULL
 * socket, attach the ring as its producer (created like push does when it
 * is missing), check each batch (cli_bridge_wire.c) and move it into the
 * ring with send_burst. Backpressure is the ring's blocking send, and
 * ZeroMQ's high-water mark behind it. The ring's stream is shut down only
 * on a clean end whose counts match; every other end is an abort.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <zmq.h>
#include "cli_bridge.h"

#define BURST   256u   /* records per send_burst */
#define DRAIN_S 0.3    /* what is in flight after a lost connection lands
                        * within this */

/* the two-part end message, whose empty first frame m is in hand: its
 * reason and counts, 0, or EX_PROTO (reported) */
static int recv_end(struct link *l, zmq_msg_t *m, char *reason, size_t rsize,
                    unsigned long long *msgs, unsigned long long *bytes)
{
	char rec[END_MAX];
	size_t first = zmq_msg_size(m);
	zmq_msg_close(m);
	zmq_msg_init(m);
	int n = zmq_msg_recv(m, l->sock, 0);   /* parts arrive together */
	int more = n >= 0 && zmq_msg_more(m);
	size_t len = n >= 0 ? zmq_msg_size(m) : 0;
	if (n >= 0 && len <= END_MAX)
		memcpy(rec, zmq_msg_data(m), len);
	zmq_msg_close(m);
	while (more) {
		zmq_msg_init(m);
		more = zmq_msg_recv(m, l->sock, 0) >= 0 && zmq_msg_more(m);
		zmq_msg_close(m);
		n = -1;
	}
	unsigned version = 0;
	if (first != 0 || n < 0 ||
	    wire_parse_end(rec, len, &version, reason, rsize, msgs, bytes) < 0) {
		cli_err(l->ep, "a message that is not the bridge's (a multipart message "
		        "other than its end record)");
		return EX_PROTO;
	}
	if (version != END_VERSION) {
		cli_err(l->ep, "the sender speaks version %u of the bridge's wire format, "
		        "this bridge version %u: run the same version at both ends",
		        version, END_VERSION);
		return EX_PROTO;
	}
	return EX_OK;
}

/* put a batch's records into the ring: EX_OK and *msgs, *bytes advanced, or
 * an exit code (reported). The records are checked first: a malformed
 * batch puts none of them in. */
static int batch_unpack(struct shmring *r, const char *name, const char *ep,
                        uint32_t slot_size, const unsigned char *p, size_t size,
                        uint64_t *msgs, uint64_t *bytes)
{
	int ret = wire_batch_check(p, size, slot_size, ep, name);
	if (ret != EX_OK)
		return ret;
	struct iovec iov[BURST];
	unsigned n = 0;
	uint64_t nb = 0;
	for (size_t off = 0; off < size;) {
		uint32_t len = wire_rec_len(p + off);
		off += REC_HDR;
		iov[n].iov_base = (void *)(p + off);
		iov[n++].iov_len = len;
		nb += len;
		off += len;
		if (n < BURST && off < size)
			continue;
		int rc = cli_send_burst(r, iov, n);
		if (rc == -EINTR)
			return EX_SIGNAL;
		if (rc == -EPIPE) {
			cli_err(name, "no consumer left (every consumer closed or died); "
			        "the stream was not fully delivered");
			return EX_NOPEER;
		}
		if (rc < 0)
			return cli_fail(name, rc);
		*msgs += n;
		*bytes += nb;
		n = 0;
		nb = 0;
	}
	return EX_OK;
}

/* the slot size of the ring a receiving bridge will feed: its own when it
 * exists (looked at without a role: a bind that fails must leave the ring
 * untouched), else the one it would be created with */
static uint32_t target_slot_size(const char *name, const struct cli_ring_opts *ro)
{
	struct shmring *r;
	struct shmring_info in;
	if (cli_open_observer(name, &r) == 0) {
		int rc = shmring_info(r, &in);
		shmring_close(r);
		if (rc == 0)
			return in.slot_size;
	}
	return ro->cfg.slot_size;
}

int bridge_recv(const char *ep, const char *name, const struct bridge_opts *o)
{
	struct link l;
	/* the largest batch a sending bridge makes for records this ring can
	 * take (BATCH_MAX); ZeroMQ drops the connection of a bigger message
	 * before it allocates it. Set before the bind, which copies it */
	uint32_t slot_size = target_slot_size(name, &o->ro);
	int ret = link_open(&l, ZMQ_PULL, ep, o, (int64_t)BATCH_MAX(slot_size));
	if (ret != EX_OK)
		return ret;
	struct shmring *r;
	if ((ret = cli_open_producer(name, &o->ro, o->create, &r)) != EX_OK) {
		link_close(&l, 0);
		return ret;
	}
	struct shmring_info info;
	shmring_info(r, &info);
	shmring_set_spin(r, o->spin_ns);
	if (info.slot_size > slot_size) {
		/* replaced by a ring of bigger slots since we looked: the
		 * limit would refuse some of its legitimate batches */
		cli_err(name, "the ring was re-created with bigger slots while the bridge "
		        "started; start it again");
		shmring_abort(r);
		shmring_close(r);
		link_close(&l, 0);
		return EX_FAIL;
	}

	uint64_t msgs = 0, bytes = 0;
	double lost_at = 0;   /* when the connection was found gone */
	int shut = 0, hello = 0;
	for (;;) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, l.sock, ZMQ_DONTWAIT) < 0) {
			int err = errno;
			zmq_msg_close(&m);
			if (err != EAGAIN && err != EINTR) {
				cli_err(ep, "receiving: %s", zmq_strerror(err));
				ret = EX_FAIL;
				break;
			}
			if (cli_stop) {
				ret = EX_SIGNAL;
				break;
			}
			link_events(&l);
			if (l.broken) {
				/* what the peer sent before it went is flushed
				 * to us before the event; give it time to land */
				if (lost_at == 0) {
					lost_at = cli_now();
				} else if (cli_now() - lost_at >= DRAIN_S) {
					/* ZeroMQ closes the connection of a message
					 * over ZMQ_MAXMSGSIZE without a word: that
					 * is one cause we cannot tell apart */
					cli_err(ep, "warning: connection lost after %llu message(s), "
					        "before the end of the stream: the sending side went "
					        "away, or sent a message too large (over %llu bytes, "
					        "the largest batch a sending bridge makes for slots of "
					        "%u bytes: ZeroMQ drops such a connection); the data "
					        "may be incomplete",
					        (unsigned long long)msgs,
					        (unsigned long long)BATCH_MAX(slot_size), slot_size);
					ret = EX_TRUNCATED;
					break;
				}
				link_wait(&l, ZMQ_POLLIN, 50);
			} else {
				link_wait(&l, ZMQ_POLLIN, CLI_SLICE_NS / 1000000);
			}
			continue;
		}
		if (zmq_msg_more(&m)) {   /* the end record */
			char reason[32];
			unsigned long long n_msgs, n_bytes;
			ret = recv_end(&l, &m, reason, sizeof(reason), &n_msgs, &n_bytes);
			if (ret != EX_OK)
				break;
			if (!strcmp(reason, "hello") || !hello) {
				if (!strcmp(reason, "hello") && !hello) {
					hello = 1;   /* a sender of our version */
					continue;
				}
				cli_err(ep, hello ? "a second greeting in the stream" :
				        "an end record before the sender's greeting");
				ret = EX_PROTO;
				break;
			}
			const char *why = wire_end_why(reason);
			if (why) {
				cli_err(name, "warning: %s; the data may be incomplete", why);
				ret = EX_TRUNCATED;
			} else if (n_msgs != msgs || n_bytes != bytes) {
				cli_err(name, "warning: the sender sent %llu message(s) (%llu bytes), "
				        "%llu (%llu bytes) arrived; the data is incomplete",
				        n_msgs, n_bytes, (unsigned long long)msgs,
				        (unsigned long long)bytes);
				ret = EX_TRUNCATED;
			} else {
				shut = 1;
			}
			break;
		}
		if (!hello) {
			cli_err(ep, "data before the sender's greeting: the sender speaks version 1 "
			        "of the bridge's wire format (one ZeroMQ message per ring message), "
			        "this bridge version %u: run the same version at both ends",
			        END_VERSION);
			zmq_msg_close(&m);
			ret = EX_PROTO;
			break;
		}
		ret = batch_unpack(r, name, ep, info.slot_size, zmq_msg_data(&m), zmq_msg_size(&m),
		                   &msgs, &bytes);
		zmq_msg_close(&m);
		if (ret != EX_OK)
			break;
	}
	/* a clean end whose counts match is shut down; anything else (an end
	 * of another reason, a broken stream, a refusal, a signal) is aborted,
	 * so that pop there exits 13 */
	if (shut)
		shmring_shutdown(r);
	else
		shmring_abort(r);
	shmring_close(r);
	/* closing the connection is the sender's word that the end arrived */
	link_close(&l, 0);
	return ret;
}

