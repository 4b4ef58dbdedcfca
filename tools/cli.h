/* SPDX-License-Identifier: MIT */
/*
 * cli.h - pieces shared by the parts of the shmring command-line tool:
 * exit codes, error reporting, argument parsing, ring opening.
 */
#ifndef SHMRING_CLI_H
#define SHMRING_CLI_H

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include "shmring.h"

/* exit codes: documented in docs/man/shmring.1, EXIT STATUS */
#define EX_OK        0   /* success (pop: a shut-down stream's end reached) */
#define EX_FAIL      1   /* other failure: I/O on stdin/stdout, memory, ... */
#define EX_USAGE     2   /* bad option, argument, name or configuration */
#define EX_NOENT     3   /* no such ring (pop --wait: not created in time) */
#define EX_EXIST     4   /* the ring already exists */
#define EX_ACCES     5   /* permission denied */
#define EX_PROTO     6   /* not a shmring, unsupported or corrupt layout */
#define EX_BUSY      7   /* role held by a live process, or no free entry */
#define EX_NOPEER    8   /* push: every consumer left; the rest was not sent */
#define EX_MSGSIZE   9   /* push --lines: a line longer than the slot size */
#define EX_TIMEOUT  10   /* pop --timeout: no message in time; push
                          * --timeout: no room in time */
#define EX_OUTPUT   11   /* pop: standard output was closed by its reader */
#define EX_NOBENCH  12   /* bench: the benchmark program is not built */
#define EX_TRUNCATED 13  /* pop: the stream did not end cleanly
                          * (shmring_end_reason: aborted, or a producer died
                          * or closed without a shutdown): the data may be
                          * incomplete */
#define EX_ENDPOINT 14   /* bridge: the ZeroMQ endpoint cannot be bound or
                          * connected (address in use, unknown host, ...) */
#define EX_LOST     15   /* pop: an overwrite-oldest ring overran the reader:
                          * messages were lost (the output holds intact
                          * messages in order, with gaps); --allow-loss: 0 */
#define EX_SIGNAL  130   /* interrupted by SIGINT, SIGTERM or SIGHUP (push:
                          * also SIGPIPE) */

/* how long a blocking library call waits before we look at the stop flag */
#define CLI_SLICE_NS 200000000LL

/* default ring made by create (and by push when the ring does not exist) */
#define CLI_DEF_SLOTS     64
#define CLI_DEF_SLOT_SIZE 65536

extern const char *cli_cmd;            /* subcommand name, for messages */
extern volatile sig_atomic_t cli_stop; /* set by SIGINT/SIGTERM/SIGHUP */

/* "shmring: CMD NAME: cause" on stderr; NAME may be NULL */
void cli_err(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* report a library error (negative errno) and return its exit code */
int cli_fail(const char *name, int err);
/* exit code of a library error */
int cli_exit_code(int err);
/* usage error: message plus a pointer to --help; returns EX_USAGE */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* the option getopt just rejected; returns EX_USAGE */
int cli_bad_option(char **argv);
/*
 * Where a ring lives, from its argument (SPEC section 8): a ring argument
 * with a '/' after its first character ("./r", "/var/run/app/r") is a file
 * path; otherwise it is a POSIX shm name ("r" and "/r" both name /dev/shm/r).
 */
#define CLI_RING_MAX PATH_MAX   /* buffer for a ring argument (cli_name) */
int cli_is_path(const char *ring);
/* the ring argument as the helpers below take it: a path is kept as given
 * (-ENAMETOOLONG from PATH_MAX on), a shm name gets its '/' ("r" -> "/r";
 * -EINVAL if too long). as_file (create --file) makes ARG a path even
 * without a second '/': "r" -> "./r", "/r" -> "//r" (the file /r) */
int cli_name(const char *arg, int as_file, char *buf, size_t size);
/* open, create or remove the ring named by a cli_name() result */
int cli_ring_open(const char *ring, int roles, struct shmring **out);
int cli_ring_create(const char *ring, const struct shmring_config *cfg, int roles,
                    struct shmring **out);
int cli_ring_unlink(const char *ring);
/* report a failure of cli_ring_open (cfg NULL) or cli_ring_create (the cfg
 * it was given) and return its exit code: like cli_fail, plus the causes a
 * ring's place adds (a directory, a missing directory, no huge pages, a
 * refused mlock) */
/* a shmring of another layout version: that version, else 0 */
unsigned cli_other_layout(const char *ring);
int cli_fail_ring(const char *ring, const struct shmring_config *cfg, int err);
/* numbers: decimal (or 0x), optional K/M/G/T binary suffix; 0 or -EINVAL */
int cli_parse_size(const char *s, uint64_t *out);
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_seconds(const char *s, double *out);
/* "4.0 MiB" */
const char *cli_human(uint64_t bytes, char *buf, size_t size);
/* "spsc" / "mpmc" / "broadcast" / "unknown" */
const char *cli_kind_name(unsigned kind);
/* JSON string literal with escapes */
void cli_json_str(FILE *f, const char *s);
/* seconds on CLOCK_MONOTONIC */
double cli_now(void);
/* install the stop-flag handlers (no SA_RESTART: blocking reads return) */
void cli_signals(void);

/* subcommands */
int cmd_create(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_pop(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bridge(int argc, char **argv);

/* shared by create and push: --kind/--broadcast/--slots/--slot-size/--mode,
 * --prefault/--file/--hugepages/--mlock/--overwrite/--packed */
struct cli_ring_opts {
	struct shmring_config cfg;
	int as_file;   /* --file: NAME is a file path (cli_name's as_file) */
};
void cli_ring_opts_init(struct cli_ring_opts *o);
/* handles one of the ring options; 1 if it was one, 0 if not, <0 usage error */
int cli_ring_opt(struct cli_ring_opts *o, int opt, const char *arg);
#define CLI_OPT_KIND      0x101
#define CLI_OPT_SLOTS     0x102
#define CLI_OPT_SLOT_SIZE 0x103
#define CLI_OPT_MODE      0x104
#define CLI_OPT_PREFAULT  0x105
#define CLI_OPT_FILE      0x106
#define CLI_OPT_HUGEPAGES 0x107
#define CLI_OPT_MLOCK     0x108
#define CLI_OPT_OVERWRITE 0x109
#define CLI_OPT_PACKED    0x110
#define CLI_OPT_BROADCAST 0x111   /* --broadcast: --kind broadcast */
#define CLI_RING_LONGOPTS \
	{ "kind", required_argument, NULL, CLI_OPT_KIND }, \
	{ "slots", required_argument, NULL, CLI_OPT_SLOTS }, \
	{ "slot-size", required_argument, NULL, CLI_OPT_SLOT_SIZE }, \
	{ "mode", required_argument, NULL, CLI_OPT_MODE }, \
	{ "prefault", no_argument, NULL, CLI_OPT_PREFAULT }, \
	{ "file", no_argument, NULL, CLI_OPT_FILE }, \
	{ "hugepages", no_argument, NULL, CLI_OPT_HUGEPAGES }, \
	{ "mlock", no_argument, NULL, CLI_OPT_MLOCK }, \
	{ "overwrite", no_argument, NULL, CLI_OPT_OVERWRITE }, \
	{ "packed", no_argument, NULL, CLI_OPT_PACKED }, \
	{ "broadcast", no_argument, NULL, CLI_OPT_BROADCAST }

/* push's and pop's ends of a stream, shared with bridge (cli_stream.c) */
/* attach NAME as its producer, creating it with ro's config if missing and
 * create is set; notes the consumers there, for cli_send_msg. 0 or the
 * exit code of the failure (reported) */
int cli_open_producer(const char *name, const struct cli_ring_opts *ro, int create,
                      struct shmring **r);
/* send one message, waiting in slices (cli_stop ends the wait: -EINTR;
 * push --timeout: -ETIME); on a ring reused after an earlier stream, with
 * no consumer attached yet, waits for the next one; -EPIPE when a consumer
 * we could serve is gone */
int cli_send_msg(struct shmring *r, const void *msg, size_t len);
/* the same for n messages, moved in bursts (bridge): 0 once all are in the
 * ring, or cli_send_msg's errors (some of the n may be in by then) */
int cli_send_burst(struct shmring *r, const struct iovec *msgs, unsigned n);
/* attach NAME as a consumer, waiting up to wait_s for it to be created;
 * 0, -EINTR or the library's error */
int cli_open_consumer(const char *name, double wait_s, struct shmring **r);
/* the stream a consumer receives: cli_stream_begin right after attaching
 * (on a ring whose last stream already ended, it waits for the next one:
 * 0 or -EINTR); at -EPIPE, cli_stream_end gives shmring_end_reason()
 * (SHMRING_END_*, 0 when it cannot tell) and *why, a warning for anything
 * but SHMRING_END_CLEAN (then NULL) */
int cli_stream_begin(struct shmring *r);
int cli_stream_end(struct shmring *r, const char **why);
/* the next message of a consumer (pop, bridge), as acquire gives it: in
 * place, or for an overwrite-oldest ring copied into copy (cap bytes) with
 * recv, since a message read in place there may be overwritten while it
 * is written out. cli_msg_done ends it. copy: NULL for other rings. */
int cli_msg_next(struct shmring *r, struct shmring_slot *s, void *copy, size_t cap,
                 int64_t timeout_ns);
void cli_msg_done(struct shmring *r, struct shmring_slot *s, const void *copy);
/* a consumer's copy buffer: malloc'd slot_size bytes for an overwrite-oldest
 * ring, NULL for others (and *overruns: the ring's count now) */
void *cli_msg_buffer(struct shmring *r, size_t *cap, uint64_t *overruns);

/* a ring of another layout version (the library says -EPROTO), read
 * without the library for ls and rm --stale (cli_layout.c) */
struct cli_foreign {
	unsigned version;          /* its layout version */
	uint64_t size;             /* bytes of the object */
	int known_id;              /* the identity below was read (a version
	                            * whose first header line is ours) */
	unsigned kind;
	uint32_t slot_size, flags, creator_pid;
	uint64_t slots, created_ns;
	int held;                  /* a live process is attached (1) or none
	                            * (0), by the liveness locks; -1: cannot
	                            * tell (a version without them, or above
	                            * ours) */
	unsigned live_producers, live_consumers;   /* held >= 0 */
};
/* 0, -EPROTO (not a shmring, or one of this layout version), or -errno */
int cli_foreign_read(const char *ring, struct cli_foreign *f);
/* the same through an open descriptor of the file (not closed) */
int cli_foreign_read_fd(int fd, struct cli_foreign *f);
/* "layout version 3; this shmring ... speaks layout version 4 only: ..." */
const char *cli_foreign_warning(const struct cli_foreign *f, char *buf, size_t size);

/* a role-less observer handle (info, ls, watch, rm): cli_ring_open(ring, 0),
 * or read-only where a ring created with --mlock cannot be locked */
int cli_open_observer(const char *name, struct shmring **out);

/* Prometheus text exposition (cli_prom.c): one ring's figures as read */
struct cli_prom_ring {
	const char *name;            /* the ring argument as given */
	struct shmring_info info;
	struct shmring_stats stats;
	int end_reason;              /* shmring_end_reason() of an observer */
	unsigned nsubs;              /* broadcast rings: subscribers (else 0) */
	struct shmring_subscriber subs[SHMRING_MAX_PEERS];
};
/* every metric family once (HELP, TYPE), a sample per ring and side (and
 * per subscriber of a broadcast ring) */
void cli_prom_write(FILE *f, const struct cli_prom_ring *rings, size_t n);

#endif /* SHMRING_CLI_H */
