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
#define EX_TIMEOUT  10   /* pop --timeout: no message in time */
#define EX_OUTPUT   11   /* pop: standard output was closed by its reader */
#define EX_NOBENCH  12   /* bench: the benchmark program is not built */
#define EX_TRUNCATED 13  /* pop: the stream ended because a producer died or
                          * vanished before shutting down (or nobody shut it
                          * down): the data may be incomplete */
#define EX_SIGNAL  130   /* interrupted by SIGINT, SIGTERM or SIGHUP */

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
/* "r" -> "/r"; copies into buf (NAME_MAX + 2 bytes). -EINVAL if too long */
int cli_name(const char *arg, char *buf, size_t size);
/* numbers: decimal (or 0x), optional K/M/G/T binary suffix; 0 or -EINVAL */
int cli_parse_size(const char *s, uint64_t *out);
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_seconds(const char *s, double *out);
/* "4.0 MiB" */
const char *cli_human(uint64_t bytes, char *buf, size_t size);
/* "spsc" / "mpmc" / "kind-N" */
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

/* shared by create and push: --kind/--slots/--slot-size/--mode/--prefault */
struct cli_ring_opts {
	struct shmring_config cfg;
};
void cli_ring_opts_init(struct cli_ring_opts *o);
/* handles one of the ring options; 1 if it was one, 0 if not, <0 usage error */
int cli_ring_opt(struct cli_ring_opts *o, int opt, const char *arg);
#define CLI_OPT_KIND      0x101
#define CLI_OPT_SLOTS     0x102
#define CLI_OPT_SLOT_SIZE 0x103
#define CLI_OPT_MODE      0x104
#define CLI_OPT_PREFAULT  0x105
#define CLI_RING_LONGOPTS \
	{ "kind", required_argument, NULL, CLI_OPT_KIND }, \
	{ "slots", required_argument, NULL, CLI_OPT_SLOTS }, \
	{ "slot-size", required_argument, NULL, CLI_OPT_SLOT_SIZE }, \
	{ "mode", required_argument, NULL, CLI_OPT_MODE }, \
	{ "prefault", no_argument, NULL, CLI_OPT_PREFAULT }

/* a role-less observer handle (info, ls, watch, rm --stale) */
int cli_open_observer(const char *name, struct shmring **out);

#endif /* SHMRING_CLI_H */
