/* SPDX-License-Identifier: MIT */
/*
 * cli_bridge.c - `shmring bridge FROM TO`: a ring on one side, a ZeroMQ
 * endpoint (tcp://, ipc://) on the other, so that a ring on one host feeds a
 * ring on another (SPEC section 8, issue 14 part 2). This file is the
 * command; cli_bridge.h lists the others.
 *
 * ring -> ZeroMQ (the sender): attach the ring as a consumer, connect a PUSH
 * socket to TO, pack the ring's messages into batches (one ZeroMQ message
 * each) and send them.
 * ZeroMQ -> ring (the receiver): bind a PULL socket on FROM, attach the ring
 * as its producer (created like push does when missing), unpack each batch
 * into it with send_burst. Backpressure is ZeroMQ's high-water mark on one
 * side and the ring's blocking send on the other.
 *
 * Why batches: one ZeroMQ message per ring message made the two bridges
 * cost about twice a plain PUSH/PULL pair's CPU per message (zmq_send and
 * zmq_msg_recv, their queues and wake-ups, per message), and on a small
 * machine the bridges share the CPUs with the ring's producer and consumer.
 * A batch carries up to BATCH_BYTES of messages; the sender sends it as soon
 * as the ring runs empty, so a lone message is not held back, or when it is
 * full, or BATCH_S after its first message (a ring that never quite runs
 * empty). The batch is handed to ZeroMQ without a copy (zmq_msg_init_data).
 */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "cli_bridge.h"

static const char bridge_usage[] =
"Usage: shmring bridge [OPTIONS] FROM TO\n"
"Carry a stream of messages between a ring and a ZeroMQ endpoint, so that a\n"
"ring on one host feeds a ring on another:\n"
"  host A$ shmring bridge /frames tcp://hostB:5555     (ring -> ZeroMQ)\n"
"  host B$ shmring bridge tcp://*:5555 /frames         (ZeroMQ -> ring)\n"
"\n"
"One of FROM and TO is a ring (a shm name, or a file path when it has a '/'\n"
"after its first character), the other a ZeroMQ endpoint, tcp://HOST:PORT or\n"
"ipc://PATH. From a ring, the bridge attaches as a consumer and connects a\n"
"PUSH socket to TO; into a ring, it binds a PULL socket on FROM and attaches\n"
"as the producer, creating the ring when it is missing. Ring messages travel\n"
"in batches, many to a ZeroMQ message (a batch goes as soon as the ring runs\n"
"empty): boundaries and bytes are carried exactly. So is the end of the\n"
"stream, and how it ended: a stream shut down upstream is shut down\n"
"downstream (pop there exits 0); one aborted upstream (push interrupted, its\n"
"input failed) or whose producer died there is aborted downstream (pop there\n"
"exits 13). Both bridges must speak the same version of the wire format. A\n"
"broken stream (a bridge or host that dies, a message larger than the\n"
"largest batch for the ring's slot size) makes the receiving bridge exit 13\n"
"and abort its ring, so that pop there exits 13 too.\n"
"\n"
"Options:\n"
"  -w, --wait SECONDS   ring -> ZeroMQ: how long to wait for the ring to be\n"
"                       created (default 10; 0: fail at once; 'inf': forever)\n"
"      --hwm N          ZeroMQ high-water mark in batches of up to 256 KiB\n"
"                       (default 64; 0: no limit)\n"
"      --peer-timeout SECONDS  tcp://: a peer whose host goes silent counts\n"
"                       as gone after about this long (default 30; 0: never)\n"
"      --no-create      ZeroMQ -> ring: fail if the ring does not exist\n"
"      --spin NS        spin this many ns before sleeping on the ring (default\n"
"                       0: sleep at once, which leaves the CPU to the ring's\n"
"                       other end)\n"
"  ring options, used only when the bridge creates the ring (see shmring create):\n"
"      --kind spsc|mpmc --slots N (64) --slot-size BYTES (64K)\n"
"      --mode OCTAL (0600) --prefault --hugepages --mlock --overwrite\n"
"      --file               the ring argument is a file path even without a '/'\n"
"  -h, --help           show this help\n"
"\n"
"Exit status: 0 the whole stream was carried and had been shut down; 3 no such\n"
"ring; 6 a message not in the bridge's format (or in another version of it),\n"
"or corrupt messages skipped; 7 the ring's role is held by a live process;\n"
"8 the far side went away (the receiving bridge, or every consumer of the\n"
"ring) before the end; 9 a message longer than the ring's slot size; 13 the\n"
"stream is incomplete (it was not shut down upstream: aborted, or a producer\n"
"died; or the sending side went away, or sent a message too large); 14 the\n"
"endpoint cannot be bound or connected; 130 interrupted; see shmring(1).\n";

int cmd_bridge(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ "hwm", required_argument, NULL, 'H' },
		{ "peer-timeout", required_argument, NULL, 'P' },
		{ "no-create", no_argument, NULL, 'N' },
		{ "spin", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		CLI_RING_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct bridge_opts o = { .create = 1, .wait_s = 10, .hwm = 64, .peer_timeout_s = 30,
	                         .spin_ns = 0 };
	uint64_t v;
	double d;
	int opt;

	cli_ring_opts_init(&o.ro);
	while ((opt = getopt_long(argc, argv, "w:h", longopts, NULL)) != -1) {
		int k = cli_ring_opt(&o.ro, opt, optarg);
		if (k < 0)
			return EX_USAGE;
		if (k > 0)
			continue;
		switch (opt) {
		case 'w':
			if (!strcmp(optarg, "inf"))
				o.wait_s = 1e18;
			else if (cli_parse_seconds(optarg, &o.wait_s))
				return cli_usage("--wait takes seconds or 'inf', not '%s'", optarg);
			break;
		case 'H':
			if (cli_parse_u64(optarg, &v) || v > INT32_MAX)
				return cli_usage("--hwm takes a number of messages, not '%s'", optarg);
			o.hwm = (int)v;
			break;
		case 'P':
			if (cli_parse_seconds(optarg, &d) || d > 86400 ||
			    (d > 0 && d < 1))
				return cli_usage("--peer-timeout takes 0 or 1 to 86400 seconds, "
				                 "not '%s'", optarg);
			o.peer_timeout_s = (int)d;
			break;
		case 'N': o.create = 0; break;
		case 'S':
			if (cli_parse_u64(optarg, &v) || v > INT64_MAX)
				return cli_usage("--spin takes nanoseconds, not '%s'", optarg);
			o.spin_ns = (int64_t)v;
			break;
		case 'h': fputs(bridge_usage, stdout); return EX_OK;
		default: return cli_bad_option(argv);
		}
	}
	if (optind + 2 != argc)
		return cli_usage("expects FROM and TO: a ring and a ZeroMQ endpoint");
	const char *from = argv[optind], *to = argv[optind + 1];
	int ef = link_is_endpoint(from), et = link_is_endpoint(to);
	if (ef < 0 || et < 0)
		return cli_usage("'%s' is not a transport the bridge speaks (tcp:// or ipc://)",
		                 ef < 0 ? from : to);
	if (ef == et)
		return cli_usage(ef ? "one of FROM and TO must be a ring"
		                    : "one of FROM and TO must be a ZeroMQ endpoint "
		                      "(tcp://HOST:PORT or ipc://PATH)");
	const char *ring = ef ? to : from, *ep = ef ? from : to;
	char name[CLI_RING_MAX];
	int rc = cli_name(ring, o.ro.as_file, name, sizeof(name));
	if (rc < 0)
		return cli_fail_ring(ring, NULL, rc);

	cli_signals();
	signal(SIGPIPE, SIG_IGN);
	/* batches come and go at a high rate: malloc'd here and freed by
	 * ZeroMQ's I/O thread on the sending side, malloc'd by that thread and
	 * freed here on the receiving side. glibc hands such blocks back to
	 * the kernel (munmap, or a trimmed heap) and the next one faults its
	 * pages in again: measured, 57000 and 98000 page faults in the two
	 * bridges per 20000 messages of 64 KiB. Keep freed memory for reuse. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	return ef ? bridge_recv(ep, name, &o) : bridge_send(name, ep, &o);
}
