/* SPDX-License-Identifier: MIT */
/*
 * cli_admin.c - the subcommands that manage and look at rings: create,
 * info, ls, rm, watch, bench.
 *
 * Looking never attaches a role: info, ls, watch and rm --stale open the
 * ring as a role-less observer, which neither disturbs the producer and
 * consumer nor tidies up after dead ones (so a dead peer stays visible).
 */
#include <dirent.h>
#include <fnmatch.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

#define SHM_DIR "/dev/shm"

static int help_or_usage(int opt, const char *usage, char **argv)
{
	if (opt == 'h') {
		fputs(usage, stdout);
		return EX_OK;
	}
	return cli_bad_option(argv);
}

/* -------------------------------------------------------------- create */

static const char create_usage[] =
"Usage: shmring create [OPTIONS] NAME\n"
"Create the ring NAME (fails if it exists). NAME is a POSIX shm name (/r or r)\n"
"or, with a '/' after its first character (./r, /var/run/app/r), a file path:\n"
"the ring then lives in that file, on any filesystem, until it is removed.\n"
"\n"
"Options:\n"
"      --kind spsc|mpmc|broadcast\n"
"                         one producer and one consumer, up to 64 of each,\n"
"                         or one producer and up to 64 subscribers that\n"
"                         each receive every message (default spsc)\n"
"      --broadcast        the same as --kind broadcast: every 'shmring pop'\n"
"                         is a subscriber and gets every message sent after\n"
"                         it attached; the producer waits for the slowest\n"
"                         (with --overwrite: never; each subscriber counts\n"
"                         what it lost)\n"
"      --slots N          number of slots, a power of two (default 64)\n"
"      --slot-size BYTES  largest message, K/M/G suffixes allowed (default 64K)\n"
"      --mode OCTAL       permission bits of the object (default 0600)\n"
"      --prefault         touch every page now rather than on first use\n"
"      --file             NAME is a file path even without a '/' (--file r\n"
"                         makes ./r; other commands then name it ./r)\n"
"      --hugepages        back the ring with huge pages: NAME must be a file on\n"
"                         hugetlbfs, such as /dev/hugepages/r\n"
"      --mlock            every process that attaches locks the ring in memory\n"
"      --overwrite        overwrite-oldest (spsc or broadcast): the producer\n"
"                         never waits; when the ring is full the oldest\n"
"                         messages are overwritten and the consumer (each\n"
"                         subscriber) counts them as overruns\n"
"      --packed           variable-length messages packed back to back (spsc\n"
"                         only, not with --overwrite):\n"
"                         a record area of slots x slot-size bytes; a message\n"
"                         takes 8 bytes plus its length rounded up to 8\n"
"  -h, --help             show this help\n"
"\n"
"Exit status: 0 created; 1 no huge pages, or the lock in memory refused\n"
"(RLIMIT_MEMLOCK); 2 bad option, name or path (a directory, --hugepages off\n"
"hugetlbfs, --overwrite with --kind mpmc, --packed with mpmc or broadcast,\n"
"--overwrite with --packed); 3 no such directory; 4 the ring exists;\n"
"5 permission denied; see shmring(1).\n";

int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		CLI_RING_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_ring_opts ro;
	char name[CLI_RING_MAX];
	int opt;

	cli_ring_opts_init(&ro);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int k = cli_ring_opt(&ro, opt, optarg);
		if (k < 0)
			return EX_USAGE;
		if (k == 0)
			return help_or_usage(opt, create_usage, argv);
	}
	if ((ro.cfg.flags & SHMRING_PACKED) && ro.cfg.kind != SHMRING_SPSC)
		return cli_usage("--packed rings are SPSC only (not mpmc or broadcast)");
	if (optind + 1 != argc)
		return cli_usage("expects exactly one ring NAME");
	int rc = cli_name(argv[optind], ro.as_file, name, sizeof(name));
	if (rc < 0)
		return cli_fail_ring(argv[optind], NULL, rc);

	struct shmring *r;
	rc = cli_ring_create(name, &ro.cfg, 0, &r);
	if (rc < 0)
		return cli_fail_ring(name, &ro.cfg, rc);
	shmring_close(r);
	return EX_OK;
}

/* ---------------------------------------------------------------- info */

static const char info_usage[] =
"Usage: shmring info [OPTIONS] NAME\n"
"       shmring info --prometheus NAME...\n"
"Show the ring NAME (a shm name, or a file path such as ./r): kind, sizes,\n"
"memory, indices and fill level, attached producers and consumers (pid, alive\n"
"or dead, shut down), end-of-stream state and statistics. On a broadcast ring\n"
"also every subscriber: registry entry, pid, alive or dead, position, lag,\n"
"messages delivered and lost (overruns), and which one the producer waits\n"
"for (STALLING). Looking does not attach or disturb anything.\n"
"\n"
"Options:\n"
"  -j, --json         one JSON object on standard output, for scripts\n"
"  -p, --prometheus   the Prometheus text exposition format (for node-exporter's\n"
"                     textfile collector): gauges and _total counters labelled\n"
"                     ring, kind and side (broadcast rings: per subscriber,\n"
"                     labelled subscriber), every ring NAME given\n"
"  -h, --help         show this help\n"
"\n"
"Exit status: 0 shown; 2 a directory; 3 no such ring; 5 permission denied;\n"
"6 not a shmring (with --prometheus: the first ring that failed; the others\n"
"are still printed).\n";

struct snapshot {
	struct shmring_info info;
	struct shmring_stats stats;
	int end_reason;   /* shmring_end_reason(): the ring as it stands */
	unsigned nsubs;   /* broadcast rings: the subscribers (else 0) */
	struct shmring_subscriber subs[SHMRING_MAX_PEERS];
};

/* "clean", "aborted", "died"; NULL while the stream has not ended */
static const char *end_name(int end_reason)
{
	switch (end_reason) {
	case SHMRING_END_CLEAN:   return "clean";
	case SHMRING_END_ABORTED: return "aborted";
	case SHMRING_END_DIED:    return "died";
	default:                  return NULL;
	}
}

static int take_snapshot(struct shmring *r, struct snapshot *s)
{
	int rc = shmring_info(r, &s->info);
	if (rc == 0)
		rc = shmring_stats(r, &s->stats);
	s->end_reason = shmring_end_reason(r);
	s->nsubs = 0;
	if (rc == 0 && s->info.kind == SHMRING_BROADCAST) {
		int n = shmring_subscriber_info(r, s->subs, SHMRING_MAX_PEERS);
		if (n < 0)
			return n;
		s->nsubs = n < SHMRING_MAX_PEERS ? (unsigned)n : SHMRING_MAX_PEERS;
	}
	return rc;
}

static unsigned live_peers(const struct shmring_peer *p, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++)
		k += p[i].alive != 0;
	return k;
}

static const char *ring_state(const struct shmring_info *in)
{
	unsigned lp = live_peers(in->producers, in->nproducers);
	unsigned lc = live_peers(in->consumers, in->nconsumers);

	if (in->eof)
		return in->used ? "draining" : "ended";
	if (lp == 0 && lc == 0)
		return "idle";
	return "active";
}

static void print_peers(const char *label, const struct shmring_peer *p, unsigned n)
{
	printf("%-13s", label);
	if (n == 0)
		printf(" none attached");
	for (unsigned i = 0; i < n; i++)
		printf("%s pid %d%s %s%s", i ? "," : "", p[i].pid,
		       p[i].other_pidns ? " (in another PID namespace)" : "",
		       p[i].alive ? "alive" : "DEAD", p[i].shut_down ? " (shut down)" : "");
	printf("\n");
}

static void json_peers(const char *key, const struct shmring_peer *p, unsigned n)
{
	printf("\"%s\":[", key);
	for (unsigned i = 0; i < n; i++)
		printf("%s{\"pid\":%d,\"other_pidns\":%s,\"alive\":%s,\"shut_down\":%s,"
		       "\"entry\":%u}", i ? "," : "", p[i].pid,
		       p[i].other_pidns ? "true" : "false", p[i].alive ? "true" : "false",
		       p[i].shut_down ? "true" : "false", p[i].index);
	printf("]");
}

/* "subscribers":[...] of a broadcast ring (info --json, ls --json) */
static void json_subscribers(const struct snapshot *s)
{
	printf(",\"subscribers\":[");
	for (unsigned i = 0; i < s->nsubs; i++) {
		const struct shmring_subscriber *b = &s->subs[i];
		printf("%s{\"index\":%u,\"pid\":%d,\"alive\":%s,\"stalling\":%s,"
		       "\"position\":%llu,\"lag\":%llu,\"start\":%llu,\"delivered\":%llu,"
		       "\"overruns\":%llu}", i ? "," : "", b->index, b->pid,
		       b->alive ? "true" : "false", b->stalling ? "true" : "false",
		       (unsigned long long)b->position, (unsigned long long)b->lag,
		       (unsigned long long)b->start, (unsigned long long)b->delivered,
		       (unsigned long long)b->overruns);
	}
	printf("]");
}

static void print_info_json(const char *name, const struct snapshot *s)
{
	const struct shmring_info *in = &s->info;
	const struct shmring_stats *st = &s->stats;

	printf("{\"name\":");
	cli_json_str(stdout, name);
	printf(",\"layout_version\":%u,\"readable\":true", SHMRING__LAYOUT_VERSION);
	printf(",\"kind\":\"%s\",\"overwrite\":%s,\"slot_size\":%u,\"slots\":%llu,\"mem_size\":%llu,"
	       "\"prod_idx\":%llu,\"cons_idx\":%llu,\"used\":%llu,\"state\":\"%s\","
	       "\"eof\":%s,\"shutdowns\":%u,\"creator_pid\":%d,\"created_ns\":%llu,"
	       "\"packed\":%s,\"data_size\":%llu,\"flags\":%u,",
	       cli_kind_name(in->kind), (in->flags & SHMRING_OVERWRITE) ? "true" : "false",
	       in->slot_size, (unsigned long long)in->slots,
	       (unsigned long long)in->mem_size, (unsigned long long)in->prod_idx,
	       (unsigned long long)in->cons_idx, (unsigned long long)in->used,
	       ring_state(in), in->eof ? "true" : "false", in->shutdowns, in->creator_pid,
	       (unsigned long long)in->created_ns, (in->flags & SHMRING_PACKED) ? "true" : "false",
	       (unsigned long long)in->data_size, in->flags);
	printf("\"end_reason\":");
	if (end_name(s->end_reason))
		printf("\"%s\",", end_name(s->end_reason));
	else
		printf("null,");
	json_peers("producers", in->producers, in->nproducers);
	printf(",");
	json_peers("consumers", in->consumers, in->nconsumers);
	if (in->kind == SHMRING_BROADCAST)
		json_subscribers(s);
	printf(",\"stats\":{\"sent\":%llu,\"received\":%llu,\"full_waits\":%llu,"
	       "\"empty_waits\":%llu,\"prod_wakes\":%llu,\"cons_wakes\":%llu,"
	       "\"bad_msgs\":%llu,\"orphans\":%llu,\"sent_bytes\":%llu,"
	       "\"recv_bytes\":%llu,\"membarriers\":%llu,\"prod_deaths\":%u,"
	       "\"cons_deaths\":%u,\"overruns\":%llu}}\n",
	       (unsigned long long)st->sent, (unsigned long long)st->received,
	       (unsigned long long)st->full_waits, (unsigned long long)st->empty_waits,
	       (unsigned long long)st->prod_wakes, (unsigned long long)st->cons_wakes,
	       (unsigned long long)st->bad_msgs, (unsigned long long)st->orphans,
	       (unsigned long long)st->sent_bytes, (unsigned long long)st->recv_bytes,
	       (unsigned long long)st->membarriers, in->prod_deaths, in->cons_deaths,
	       (unsigned long long)st->overruns);
}

/* a broadcast ring's subscribers, a line each, under a heading; the one(s)
 * a lossless producer waits for marked STALLING */
static void print_subscribers(const struct snapshot *s)
{
	printf("%-13s %u", "subscribers:", s->nsubs);
	if (s->nsubs == 0) {
		printf(" (messages sent now go nowhere)\n");
		return;
	}
	printf("\n  %5s %8s %5s %14s %10s %14s %12s\n", "ENTRY", "PID", "ALIVE", "POSITION",
	       "LAG", "DELIVERED", "OVERRUNS");
	for (unsigned i = 0; i < s->nsubs; i++) {
		const struct shmring_subscriber *b = &s->subs[i];
		printf("  %5u %8d %5s %14llu %10llu %14llu %12llu%s\n", b->index, b->pid,
		       b->alive ? "yes" : "DEAD", (unsigned long long)b->position,
		       (unsigned long long)b->lag, (unsigned long long)b->delivered,
		       (unsigned long long)b->overruns,
		       b->stalling ? "  STALLING (the producer waits for it)" : "");
	}
}

static void print_info_text(const char *name, const struct snapshot *s)
{
	const struct shmring_info *in = &s->info;
	const struct shmring_stats *st = &s->stats;
	char h1[32], h2[32], when[64] = "?";
	time_t t = (time_t)(in->created_ns / 1000000000u);
	struct tm tm;

	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%-13s %s\n", "ring:", name);
	int packed = (in->flags & SHMRING_PACKED) != 0;
	printf("%-13s %s%s%s%s\n", "kind:", cli_kind_name(in->kind), packed ? ", packed" : "",
	       in->kind == SHMRING_BROADCAST
	               ? " (every subscriber receives every message sent after it attached)" : "",
	       (in->flags & SHMRING_OVERWRITE)
	               ? ", overwrite-oldest (the producer never waits; the oldest messages go)" : "");
	if (packed)
		printf("%-13s %llu bytes (%llu x %u), messages of 0..%u bytes\n", "records:",
		       (unsigned long long)in->data_size, (unsigned long long)in->slots,
		       in->slot_size, in->slot_size);
	else
		printf("%-13s %llu x %u bytes (%s of payload)\n", "slots:",
		       (unsigned long long)in->slots, in->slot_size,
		       cli_human(in->slots * in->slot_size, h1, sizeof(h1)));
	printf("%-13s %s (%llu bytes)\n", "memory:", cli_human(in->mem_size, h2, sizeof(h2)),
	       (unsigned long long)in->mem_size);
	printf("%-13s %s by pid %d\n", "created:", when, in->creator_pid);
	printf(in->kind == SHMRING_BROADCAST ? "%-13s producer %llu, slowest subscriber %llu\n"
	                                     : "%-13s producer %llu, consumer %llu\n", "indices:",
	       (unsigned long long)in->prod_idx, (unsigned long long)in->cons_idx);
	if (packed)   /* the indices count bytes there */
		printf("%-13s %llu of %llu bytes (%.0f%%)\n", "fill:", (unsigned long long)in->used,
		       (unsigned long long)in->data_size,
		       100.0 * (double)in->used / (double)in->data_size);
	else
		printf("%-13s %llu of %llu slots (%.0f%%)\n", "fill:", (unsigned long long)in->used,
		       (unsigned long long)in->slots,
		       100.0 * (double)in->used / (double)in->slots);
	printf("%-13s %s%s", "state:", ring_state(in),
	       !in->eof ? "" :
	       s->end_reason == SHMRING_END_CLEAN ?
	               " (end of stream, clean: every producer that attached shut down)" :
	       s->end_reason == SHMRING_END_ABORTED ?
	               " (end of stream, aborted: a producer ended it as incomplete)" :
	       s->end_reason == SHMRING_END_DIED ?
	               " (end of stream: a producer died or closed without a shutdown)" :
	               " (end of stream)");
	printf(", %u shutdown call%s\n", in->shutdowns, in->shutdowns == 1 ? "" : "s");
	print_peers("producers:", in->producers, in->nproducers);
	print_peers("consumers:", in->consumers, in->nconsumers);
	if (in->kind == SHMRING_BROADCAST)
		print_subscribers(s);
	printf("%-13s sent %llu, received %llu, corrupt %llu, orphaned %llu", "messages:",
	       (unsigned long long)st->sent, (unsigned long long)st->received,
	       (unsigned long long)st->bad_msgs, (unsigned long long)st->orphans);
	if (in->flags & SHMRING_OVERWRITE)
		printf(", overwritten before read %llu", (unsigned long long)st->overruns);
	printf("\n");
	printf("%-13s sent %llu, received %llu (counted every 64 KiB per handle)\n", "bytes:",
	       (unsigned long long)st->sent_bytes, (unsigned long long)st->recv_bytes);
	printf("%-13s producers %u, consumers %u\n", "found dead:", in->prod_deaths,
	       in->cons_deaths);
	printf("%-13s full %llu, empty %llu; wakes by producers %llu, by consumers %llu\n",
	       "sleeps:", (unsigned long long)st->full_waits,
	       (unsigned long long)st->empty_waits, (unsigned long long)st->prod_wakes,
	       (unsigned long long)st->cons_wakes);
}

/* info --prometheus RING...: every ring that can be read, then the exit
 * code of the first that could not */
static int info_prometheus(int n, char **rings)
{
	struct cli_prom_ring *pr = calloc((size_t)n, sizeof(*pr));
	char (*names)[CLI_RING_MAX] = calloc((size_t)n, sizeof(*names));
	int ret = EX_OK, got = 0;

	if (!pr || !names) {
		free(pr);
		free(names);
		cli_err(NULL, "out of memory");
		return EX_FAIL;
	}
	for (int i = 0; i < n; i++) {
		struct shmring *r;
		struct snapshot s;
		int code = EX_OK;
		int rc = cli_name(rings[i], 0, names[got], sizeof(names[got]));
		if (rc < 0) {
			code = cli_fail_ring(rings[i], NULL, rc);
		} else if ((rc = cli_open_observer(names[got], &r)) < 0) {
			code = cli_fail_ring(names[got], NULL, rc);
		} else {
			rc = take_snapshot(r, &s);
			shmring_close(r);
			if (rc < 0) {
				code = cli_fail(names[got], rc);
			} else {
				pr[got] = (struct cli_prom_ring){ names[got], s.info, s.stats,
				                                  s.end_reason, s.nsubs, { { 0 } } };
				memcpy(pr[got].subs, s.subs, sizeof(s.subs));
				got++;
			}
		}
		if (code != EX_OK && ret == EX_OK)
			ret = code;
	}
	cli_prom_write(stdout, pr, (size_t)got);
	free(pr);
	free(names);
	return fflush(stdout) == 0 ? ret : EX_FAIL;
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int json = 0, prom = 0, opt;
	char name[CLI_RING_MAX];

	while ((opt = getopt_long(argc, argv, "jph", longopts, NULL)) != -1) {
		if (opt == 'j')
			json = 1;
		else if (opt == 'p')
			prom = 1;
		else
			return help_or_usage(opt, info_usage, argv);
	}
	if (json && prom)
		return cli_usage("--json and --prometheus are two formats: pick one");
	if (prom) {
		if (optind == argc)
			return cli_usage("expects at least one ring NAME");
		return info_prometheus(argc - optind, argv + optind);
	}
	if (optind + 1 != argc)
		return cli_usage("expects exactly one ring NAME (several with --prometheus)");
	int rc = cli_name(argv[optind], 0, name, sizeof(name));
	if (rc < 0)
		return cli_fail_ring(argv[optind], NULL, rc);

	struct shmring *r;
	struct snapshot s;
	rc = cli_open_observer(name, &r);
	if (rc < 0)
		return cli_fail_ring(name, NULL, rc);
	rc = take_snapshot(r, &s);
	shmring_close(r);
	if (rc < 0)
		return cli_fail(name, rc);
	if (json)
		print_info_json(name, &s);
	else
		print_info_text(name, &s);
	return fflush(stdout) == 0 ? EX_OK : EX_FAIL;
}

/* ------------------------------------------------------------ ls / rm */

/*
 * Calls fn for every shmring in /dev/shm (shown as /NAME), or among the
 * regular files of the directory dir (shown as DIR/NAME: a path, as the
 * other commands take it). Each entry is opened once, relative to the open
 * directory, without following a symlink and without waiting (a FIFO or a
 * device is never waited on: O_NONBLOCK, O_NOCTTY); what it is is asked of
 * that descriptor (fstat), and the ring is looked at through it (a
 * read-only observer, shmring_open_fd), so that what fn is told about (the
 * struct found) is the file that was looked at, whatever the name names by
 * then. A file is a shmring when that observer open succeeds (fn gets the
 * handle), or when it has a ring's magic and another layout version (fn
 * gets what cli_foreign_read_fd() tells of it, and r NULL). Symlinks,
 * other file types, and files smaller than a ring header are skipped
 * without a word (the library would wait for a creator that is not
 * coming); so are -EPROTO (something else) and -ENOENT (gone meanwhile);
 * other failures are warnings. Returns the number of warnings, or a
 * negative errno when the directory cannot be read (reported).
 */
static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);   /* each entry starts with its name */
}

/* a ring for_each_ring() found: its name as shown, and the file looked at */
struct found {
	const char *name;   /* /NAME or DIR/NAME */
	int dfd;            /* the directory it is in, open */
	const char *file;   /* its entry there */
	dev_t dev;          /* the file looked at (fstat of the descriptor) */
	ino_t ino;
};

/* r: the ring, open; or NULL and fo: a ring of another layout version */
typedef void (*ring_fn)(const struct found *f, struct shmring *r, const struct cli_foreign *fo,
                        void *arg);

/* the ring matches one of the shell patterns (all rings when there are
 * none): a pattern with a '/' matches the ring as shown (/NAME, DIR/NAME),
 * one without matches the file name, so '/frames-*' and 'frames-*' are
 * the same in /dev/shm */
static int name_matches(const char *shown, const char *file, char **pats, int npats)
{
	if (npats == 0)
		return 1;
	for (int i = 0; i < npats; i++)
		if (fnmatch(pats[i], strchr(pats[i], '/') ? shown : file, 0) == 0)
			return 1;
	return 0;
}

/* ls and rm --stale: a first argument that names a directory says where to
 * look: a path by the ring rule (a '/' after the first character), '.',
 * '..', or an absolute name of an existing directory without wildcards
 * (/tmp); anything else is a pattern on /dev/shm */
static int is_dir_arg(const char *a)
{
	struct stat st;

	if (cli_is_path(a) || !strcmp(a, ".") || !strcmp(a, ".."))
		return 1;
	return a[0] == '/' && !strpbrk(a, "*?[") && stat(a, &st) == 0 && S_ISDIR(st.st_mode);
}

/* DIR/NAME; "//NAME" in the root directory, so that it reads as a path */
static int join_path(const char *dir, const char *file, char *buf, size_t size)
{
	size_t dl = strlen(dir);
	int slash = dl == 0 || dir[dl - 1] != '/' || !strcmp(dir, "/");
	int n = snprintf(buf, size, "%s%s%s", dir, slash ? "/" : "", file);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int for_each_ring(const char *dir, char **pats, int npats, ring_fn fn, void *arg)
{
	const char *where = dir ? dir : SHM_DIR;
	DIR *d = opendir(where);
	int warnings = 0;

	if (!d) {
		int err = errno;
		cli_err(where, "%s", strerror(err));
		return -err;
	}
	struct dirent *e;
	struct entry { char name[NAME_MAX + 1]; } *list = NULL;
	size_t n = 0, cap = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			struct entry *nl = realloc(list, cap * sizeof(*list));
			if (!nl)
				break;
			list = nl;
		}
		snprintf(list[n++].name, sizeof(list->name), "%s", e->d_name);
	}
	/* sorted by name: stable output for people and scripts */
	qsort(list, n, sizeof(*list), by_name);

	int dfd = dirfd(d);
	for (size_t i = 0; i < n; i++) {
		char shown[CLI_RING_MAX];
		struct stat st;
		if (dir) {
			if (join_path(dir, list[i].name, shown, sizeof(shown)))
				continue;
		} else {
			snprintf(shown, sizeof(shown), "/%s", list[i].name);
		}
		if (!name_matches(shown, list[i].name, pats, npats))
			continue;
		int fd = openat(dfd, list[i].name,
		                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			int err = errno;
			/* a symlink (ELOOP), gone, a socket (ENXIO): not a ring here */
			if (err != ELOOP && err != ENOENT && err != ENXIO) {
				fprintf(stderr, "shmring: %s: warning: %s: %s\n", cli_cmd, shown,
				        shmring_strerror(-err));
				warnings++;
			}
			continue;
		}
		struct shmring *r;
		struct cli_foreign fo;
		int rc = fstat(fd, &st) < 0 ? -errno
		         : !S_ISREG(st.st_mode) || (uint64_t)st.st_size < SHMRING_HEADER_BYTES
		                 ? -EPROTO
		                 : shmring_open_fd(fd, 0, &r);
		if (rc == -EPROTO && S_ISREG(st.st_mode) && cli_foreign_read_fd(fd, &fo) == 0) {
			close(fd);
			struct found f = { shown, dfd, list[i].name, st.st_dev, st.st_ino };
			fn(&f, NULL, &fo, arg);   /* another layout version */
			warnings++;
			continue;
		}
		close(fd);   /* the handle has its own */
		if (rc == -EPROTO || rc == -ENOENT || rc == -EINVAL)
			continue;
		if (rc < 0) {
			fprintf(stderr, "shmring: %s: warning: %s: %s\n", cli_cmd, shown,
			        shmring_strerror(rc));
			warnings++;
			continue;
		}
		struct found f = { shown, dfd, list[i].name, st.st_dev, st.st_ino };
		fn(&f, r, NULL, arg);
		shmring_close(r);
	}
	closedir(d);
	free(list);
	return warnings;
}

static const char ls_usage[] =
"Usage: shmring ls [OPTIONS] [DIR] [PATTERN...]\n"
"List every shmring in /dev/shm, or among the regular files of the directory\n"
"DIR (shown as DIR/NAME, the path the other commands take), one line each:\n"
"name, kind, slots x slot size, memory, fill, live/attached producers and\n"
"consumers, and state (active, idle: nobody attached, draining or ended: end\n"
"of stream). Other files are ignored; rings that cannot be read are reported\n"
"as warnings. A ring of another layout version (made by an older or newer\n"
"shmring) is listed with its version, what its first header line tells\n"
"(kind, slots, memory) and, where its version has the liveness locks (2 and\n"
"up), its live producers and consumers; its state cannot be read, which a\n"
"warning says.\n"
"\n"
"The first argument is DIR when it has a '/' after its first character\n"
"(./, /run/app), is . or .., or is an existing directory such as /tmp.\n"
"PATTERNs (shell wildcards) limit the list: one without a '/' matches the\n"
"file name ('frames-*'), one with a '/' the name as shown ('/frames-*').\n"
"\n"
"Options:\n"
"  -p, --prometheus  every ring in the Prometheus text exposition format, as\n"
"               'shmring info --prometheus' prints it (rings of another\n"
"               layout version are left out, with a warning)\n"
"  -j, --json   a JSON array of objects like 'shmring info --json' prints;\n"
"               \"readable\": false, \"layout_version\" and \"warning\" mark a\n"
"               ring of another layout version\n"
"  -h, --help   show this help\n"
"\n"
"Exit status: 0 (also when some files could not be read: see the warnings);\n"
"3 no such directory; 5 the directory cannot be read.\n";

struct ls_ctx {
	int json;
	unsigned count;
	int prom;                    /* --prometheus: collect, print at the end */
	struct cli_prom_ring *pr;    /* the rings collected (names malloc'd) */
	size_t npr, cap;
};

/* ls --prometheus: keep one ring's snapshot for the exposition */
static void ls_collect(struct ls_ctx *c, const char *name, const struct snapshot *s)
{
	if (c->npr == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct cli_prom_ring *pr = realloc(c->pr, cap * sizeof(*pr));
		if (!pr)
			return;   /* out of memory: the ring is left out */
		c->pr = pr;
		c->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return;
	c->pr[c->npr] = (struct cli_prom_ring){ copy, s->info, s->stats, s->end_reason,
	                                        s->nsubs, { { 0 } } };
	memcpy(c->pr[c->npr++].subs, s->subs, sizeof(s->subs));
}

#define LS_ROW "%-24s %-9s %16s %10s %7s %6s %6s  %s\n"

static void ls_head(struct ls_ctx *c)
{
	if (c->json)
		printf("%s", c->count ? ",\n" : "");
	else if (c->count == 0)
		printf(LS_ROW, "NAME", "KIND", "SLOTS x SIZE", "MEMORY", "FILL", "PROD", "CONS",
		       "STATE");
	c->count++;
}

/* a ring of another layout version: what can be told without reading its
 * state, and a warning (on standard error, and in the JSON object) */
static void ls_foreign(const char *name, const struct cli_foreign *f, struct ls_ctx *c)
{
	char warn[256], h1[32], h2[32], geo[48] = "?", prod[16] = "-", cons[16] = "-";

	cli_foreign_warning(f, warn, sizeof(warn));
	fprintf(stderr, "shmring: %s: warning: %s: %s\n", cli_cmd, name, warn);
	ls_head(c);
	if (c->json) {
		printf("{\"name\":");
		cli_json_str(stdout, name);
		printf(",\"layout_version\":%u,\"readable\":false,\"warning\":", f->version);
		cli_json_str(stdout, warn);
		printf(",\"mem_size\":%llu", (unsigned long long)f->size);
		if (f->known_id)
			printf(",\"kind\":\"%s\",\"slot_size\":%u,\"slots\":%llu,\"flags\":%u,"
			       "\"creator_pid\":%u,\"created_ns\":%llu", cli_kind_name(f->kind),
			       f->slot_size, (unsigned long long)f->slots, f->flags, f->creator_pid,
			       (unsigned long long)f->created_ns);
		if (f->held >= 0)
			printf(",\"live_producers\":%u,\"live_consumers\":%u", f->live_producers,
			       f->live_consumers);
		printf("}\n");
		return;
	}
	if (f->known_id)
		snprintf(geo, sizeof(geo), "%llu x %s", (unsigned long long)f->slots,
		         cli_human(f->slot_size, h1, sizeof(h1)));
	if (f->held >= 0) {   /* live ones only: the registry is not read */
		snprintf(prod, sizeof(prod), "%3u/- ", f->live_producers);
		snprintf(cons, sizeof(cons), "%3u/- ", f->live_consumers);
	}
	char state[32];
	snprintf(state, sizeof(state), "layout-v%u (unreadable)", f->version);
	printf(LS_ROW, name, f->known_id ? cli_kind_name(f->kind) : "?", geo,
	       cli_human(f->size, h2, sizeof(h2)), "-", prod, cons, state);
}

static void ls_one(const struct found *found, struct shmring *r, const struct cli_foreign *f,
                   void *arg)
{
	const char *name = found->name;
	struct ls_ctx *c = arg;
	struct snapshot s;
	char h1[32], h2[32];

	if (f) {
		if (!c->prom)
			ls_foreign(name, f, c);
		else   /* not in the exposition: a warning says why */
			fprintf(stderr, "shmring: %s: warning: %s: layout version %u: not "
			        "exported\n", cli_cmd, name, f->version);
		return;
	}
	if (take_snapshot(r, &s) < 0)
		return;
	if (c->prom) {
		ls_collect(c, name, &s);
		return;
	}
	ls_head(c);
	if (c->json) {
		print_info_json(name, &s);
	} else {
		const struct shmring_info *in = &s.info;
		char geo[48];
		snprintf(geo, sizeof(geo), "%llu x %s", (unsigned long long)in->slots,
		         cli_human(in->slot_size, h1, sizeof(h1)));
		printf("%-24s %-9s %16s %10s %6.0f%% %3u/%-2u %3u/%-2u  %s\n", name,
		       cli_kind_name(in->kind), geo, cli_human(in->mem_size, h2, sizeof(h2)),
		       100.0 * (double)in->used /
		               (double)((in->flags & SHMRING_PACKED) ? in->data_size : in->slots),
		       live_peers(in->producers, in->nproducers), in->nproducers,
		       live_peers(in->consumers, in->nconsumers), in->nconsumers,
		       ring_state(in));
	}
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ls_ctx c = { 0 };
	const char *dir = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "jph", longopts, NULL)) != -1) {
		if (opt == 'j')
			c.json = 1;
		else if (opt == 'p')
			c.prom = 1;
		else
			return help_or_usage(opt, ls_usage, argv);
	}
	if (c.json && c.prom)
		return cli_usage("--json and --prometheus are two formats: pick one");
	if (optind < argc && is_dir_arg(argv[optind]))
		dir = argv[optind++];
	if (c.json)
		printf("[");
	/* a failure to read the directory itself is reported inside */
	int rc = for_each_ring(dir, argv + optind, argc - optind, ls_one, &c);
	if (c.json)
		printf("%s]\n", c.count ? "\n" : "");
	if (c.prom) {
		cli_prom_write(stdout, c.pr, c.npr);
		for (size_t i = 0; i < c.npr; i++)
			free((char *)c.pr[i].name);
		free(c.pr);
	}
	if (fflush(stdout) != 0)
		return EX_FAIL;
	return rc < 0 ? cli_exit_code(rc) : EX_OK;
}

static const char rm_usage[] =
"Usage: shmring rm [OPTIONS] NAME...\n"
"       shmring rm --stale [--dry-run] [--min-age SECONDS] [DIR] [PATTERN...]\n"
"Remove rings. Processes still attached keep working on their mapping; the\n"
"name disappears at once. A NAME with a '/' after its first character is a\n"
"file path: the file is removed if it is a ring.\n"
"\n"
"Options:\n"
"  -s, --stale            remove every ring in /dev/shm (or among the files\n"
"                         of DIR, as 'shmring ls DIR' finds them) that no\n"
"                         live process is attached to (as producer or\n"
"                         consumer); with PATTERNs, only rings whose name\n"
"                         matches one. A ring of another layout version is\n"
"                         removed when its liveness locks (versions 2 and\n"
"                         up) show nobody; one whose version has none this\n"
"                         shmring knows is left, with a warning\n"
"      --min-age SECONDS  with --stale: spare rings younger than this\n"
"  -n, --dry-run          with --stale: only print what would be removed\n"
"  -f, --force            remove NAME even if it is not a shmring (or, for a\n"
"                         file, cannot be read to check)\n"
"  -h, --help             show this help\n"
"\n"
"Removed names are printed with --stale. Exit status: 0 all removed; 2 a\n"
"directory; 3 no such ring (--stale: no such DIR); 5 permission denied (a\n"
"file that cannot be read, without --force); 6 not a shmring (without\n"
"--force); with several NAMEs, the code of the first failure.\n";

struct stale_ctx {
	int dry_run;
	double min_age;
	int failures;
	unsigned removed;
};

/* remove the file f found, if its name still names it: never a file that
 * replaced it after it was looked at. 0, or a negative errno */
static int unlink_found(const struct found *f)
{
	struct stat now;
	if (fstatat(f->dfd, f->file, &now, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (now.st_dev != f->dev || now.st_ino != f->ino)
		return -ESTALE;   /* replaced meanwhile: not the ring we checked */
	return unlinkat(f->dfd, f->file, 0) < 0 ? -errno : 0;
}

static void stale_remove(const struct found *f, uint64_t created_ns, const char *what,
                         struct stale_ctx *c)
{
	const char *name = f->name;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double age = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - (double)created_ns / 1e9;
	if (age < c->min_age)
		return;
	if (!c->dry_run) {
		int rc = unlink_found(f);
		if (rc == -ESTALE) {
			fprintf(stderr, "shmring: %s: warning: %s: replaced by another file while "
			        "it was checked; not removed\n", cli_cmd, name);
			return;
		}
		if (rc < 0 && rc != -ENOENT) {
			cli_fail(name, rc);
			c->failures++;
			return;
		}
	}
	printf("%s%s%s\n", c->dry_run ? "would remove " : "removed ", name, what);
	c->removed++;
}

/* a ring of another layout version: removed only when its liveness locks
 * say that nobody is attached; where they cannot say, it is left, and a
 * warning says so */
static void stale_foreign(const struct found *found, const struct cli_foreign *f,
                          struct stale_ctx *c)
{
	const char *name = found->name;
	char what[48];
	if (f->held < 0) {
		cli_err(name, "warning: not removed: layout version %u, whose rings this shmring "
		        "cannot tell in use or not (no liveness locks it knows); 'shmring rm %s' "
		        "removes it", f->version, name);
		return;
	}
	if (f->held)
		return;
	snprintf(what, sizeof(what), " (layout version %u)", f->version);
	stale_remove(found, f->created_ns, what, c);
}

static void stale_one(const struct found *found, struct shmring *r, const struct cli_foreign *f,
                      void *arg)
{
	struct stale_ctx *c = arg;
	struct shmring_info in;

	if (f) {
		stale_foreign(found, f, c);
		return;
	}
	if (shmring_info(r, &in) < 0)
		return;
	if (live_peers(in.producers, in.nproducers) || live_peers(in.consumers, in.nconsumers))
		return;
	stale_remove(found, in.created_ns, "", c);
}

int cmd_rm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stale", no_argument, NULL, 's' },
		{ "min-age", required_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stale_ctx sc = { 0, 0, 0, 0 };
	int stale = 0, force = 0, opt;

	while ((opt = getopt_long(argc, argv, "snfh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': stale = 1; break;
		case 'n': sc.dry_run = 1; break;
		case 'f': force = 1; break;
		case 'a':
			if (cli_parse_seconds(optarg, &sc.min_age))
				return cli_usage("--min-age takes seconds, not '%s'", optarg);
			break;
		default: return help_or_usage(opt, rm_usage, argv);
		}
	}
	if (stale) {
		const char *dir = NULL;
		if (optind < argc && is_dir_arg(argv[optind]))
			dir = argv[optind++];
		int w = for_each_ring(dir, argv + optind, argc - optind, stale_one, &sc);
		if (fflush(stdout) != 0)
			return EX_FAIL;
		return w < 0 ? cli_exit_code(w) : sc.failures ? EX_FAIL : EX_OK;
	}
	if (optind == argc)
		return cli_usage("expects at least one ring NAME (or --stale)");

	int ret = EX_OK;
	for (int i = optind; i < argc; i++) {
		char name[CLI_RING_MAX];
		int rc = cli_name(argv[i], 0, name, sizeof(name)), code = EX_OK;
		if (rc < 0) {
			code = cli_fail_ring(argv[i], NULL, rc);
		} else if (!force) {
			/* look before removing: rm must not delete somebody's other
			 * shared-memory object or file by a typo */
			struct shmring *r;
			rc = cli_open_observer(name, &r);
			if (rc == 0) {
				shmring_close(r);
			} else if (rc == -EPROTO && cli_other_layout(name)) {
				rc = 0;   /* a ring of another layout version: ours to remove */
			} else if (rc == -EPROTO) {
				cli_err(name, "not a shmring (use --force to remove it anyway)");
				code = EX_PROTO;
			} else if (rc == -EACCES && !cli_is_path(name)) {
				rc = 0;   /* unlinking may still be allowed: let it decide */
			} else if (rc == -EACCES) {
				/* a file we cannot read may still be one we can
				 * unlink: without a look, it is not ours to remove */
				cli_err(name, "permission denied: cannot check that it is a "
				        "shmring (use --force to remove it anyway)");
				code = EX_ACCES;
			} else {
				code = cli_fail_ring(name, NULL, rc);
			}
		}
		if (rc == 0 && (rc = cli_ring_unlink(name)) < 0)
			code = cli_fail(name, rc);
		if (ret == EX_OK)
			ret = code;
	}
	return ret;
}

/* --------------------------------------------------------------- watch */

static const char watch_usage[] =
"Usage: shmring watch [OPTIONS] NAME\n"
"Print the ring's activity once a second, like vmstat: messages sent and\n"
"received per second, payload bytes received per second, fill level,\n"
"sleeps per second on a full and on an empty ring, wake-ups per second, and\n"
"live producers/consumers. Byte counts are added by each handle every\n"
"64 KiB and when it sleeps, so a slow stream's bytes/s trails a little.\n"
"On a broadcast ring each line is followed by one per subscriber: its\n"
"registry entry, pid, lag, messages delivered per second, overruns (lost\n"
"messages, with --overwrite) and whether the producer waits for it.\n"
"\n"
"Options:\n"
"  -c, --count N          stop after N lines (default: until interrupted)\n"
"  -i, --interval SECONDS time between lines (default 1)\n"
"  -j, --json             one JSON object per interval, one per line: the\n"
"                         rates above, fill, attachments, state, end reason\n"
"                         and the counters (time_ns: when it was taken);\n"
"                         broadcast rings add \"subscribers\" (as info --json,\n"
"                         with delivered_per_s)\n"
"  -h, --help             show this help\n"
"\n"
"NAME is a shm name or a file path (such as ./r).\n"
"\n"
"Exit status: 0; 3 no such ring; 6 not a shmring.\n";

/* a subscriber's messages delivered per second over the interval: from
 * its figure in prev when the same subscription (entry and start) was
 * there, else from its attachment */
static double sub_rate(const struct snapshot *prev, const struct shmring_subscriber *b, double dt)
{
	uint64_t before = 0;
	for (unsigned i = 0; i < prev->nsubs; i++)
		if (prev->subs[i].index == b->index && prev->subs[i].start == b->start &&
		    prev->subs[i].delivered <= b->delivered)
			before = prev->subs[i].delivered;
	return (double)(b->delivered - before) / dt;
}

/* watch --json: one object per interval, on one line: the rates over
 * the interval, the fill and who is attached now, and the counters */
static void watch_json(const char *name, const struct snapshot *prev,
                       const struct snapshot *cur, double dt)
{
	const struct shmring_info *in = &cur->info;
	const struct shmring_stats *st = &cur->stats;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
#define RATE(f) ((double)(cur->stats.f - prev->stats.f) / dt)
	printf("{\"time_ns\":%llu,\"interval_s\":%.6f,\"name\":",
	       (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec, dt);
	cli_json_str(stdout, name);
	printf(",\"sent_per_s\":%.1f,\"received_per_s\":%.1f,\"recv_bytes_per_s\":%.1f,"
	       "\"full_waits_per_s\":%.1f,\"empty_waits_per_s\":%.1f,\"wakes_per_s\":%.1f,"
	       "\"used\":%llu,\"fill_pct\":%.2f,\"live_producers\":%u,\"live_consumers\":%u,"
	       "\"state\":\"%s\",",
	       RATE(sent), RATE(received), RATE(recv_bytes), RATE(full_waits), RATE(empty_waits),
	       RATE(prod_wakes) + RATE(cons_wakes), (unsigned long long)in->used,
	       100.0 * (double)in->used /
	               (double)((in->flags & SHMRING_PACKED) ? in->data_size : in->slots),
	       live_peers(in->producers, in->nproducers), live_peers(in->consumers, in->nconsumers),
	       ring_state(in));
#undef RATE
	printf("\"end_reason\":");
	if (end_name(cur->end_reason))
		printf("\"%s\"", end_name(cur->end_reason));
	else
		printf("null");
	printf(",\"stats\":{\"sent\":%llu,\"received\":%llu,\"sent_bytes\":%llu,"
	       "\"recv_bytes\":%llu,\"full_waits\":%llu,\"empty_waits\":%llu,"
	       "\"prod_wakes\":%llu,\"cons_wakes\":%llu,\"overruns\":%llu}",
	       (unsigned long long)st->sent, (unsigned long long)st->received,
	       (unsigned long long)st->sent_bytes, (unsigned long long)st->recv_bytes,
	       (unsigned long long)st->full_waits, (unsigned long long)st->empty_waits,
	       (unsigned long long)st->prod_wakes, (unsigned long long)st->cons_wakes,
	       (unsigned long long)st->overruns);
	if (in->kind == SHMRING_BROADCAST) {
		printf(",\"subscribers\":[");
		for (unsigned i = 0; i < cur->nsubs; i++) {
			const struct shmring_subscriber *b = &cur->subs[i];
			printf("%s{\"index\":%u,\"pid\":%d,\"alive\":%s,\"stalling\":%s,"
			       "\"position\":%llu,\"lag\":%llu,\"delivered\":%llu,"
			       "\"delivered_per_s\":%.1f,\"overruns\":%llu}", i ? "," : "",
			       b->index, b->pid, b->alive ? "true" : "false",
			       b->stalling ? "true" : "false", (unsigned long long)b->position,
			       (unsigned long long)b->lag, (unsigned long long)b->delivered,
			       sub_rate(prev, b, dt), (unsigned long long)b->overruns);
		}
		printf("]");
	}
	printf("}\n");
}

int cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t count = UINT64_MAX;
	double interval = 1;
	char name[CLI_RING_MAX];
	int opt, json = 0;

	while ((opt = getopt_long(argc, argv, "c:i:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 'c':
			if (cli_parse_u64(optarg, &count) || count == 0)
				return cli_usage("--count takes a positive number, not '%s'", optarg);
			break;
		case 'i':
			if (cli_parse_seconds(optarg, &interval) || interval < 0.01)
				return cli_usage("--interval takes seconds (>= 0.01), not '%s'", optarg);
			break;
		default: return help_or_usage(opt, watch_usage, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("expects exactly one ring NAME");
	int rc = cli_name(argv[optind], 0, name, sizeof(name));
	if (rc < 0)
		return cli_fail_ring(argv[optind], NULL, rc);

	struct shmring *r;
	rc = cli_open_observer(name, &r);
	if (rc < 0)
		return cli_fail_ring(name, NULL, rc);
	cli_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);

	struct snapshot prev, cur;
	take_snapshot(r, &prev);
	double t_prev = cli_now(), t_next = t_prev;
	for (uint64_t line = 0; line < count && !cli_stop; line++) {
		t_next += interval;
		for (double now; !cli_stop && (now = cli_now()) < t_next;) {
			double left = t_next - now;
			struct timespec ts = { (time_t)left,
			                       (long)((left - (double)(time_t)left) * 1e9) };
			nanosleep(&ts, NULL);   /* a signal cuts it short */
		}
		if (cli_stop)
			break;
		take_snapshot(r, &cur);
		double t = cli_now(), dt = t - t_prev;
		if (json) {
			watch_json(name, &prev, &cur, dt);
			prev = cur;
			t_prev = t;
			continue;
		}
		if (line % 20 == 0)
			printf("%12s %12s %10s %6s %10s %10s %10s %5s %5s %s\n", "sent/s", "recv/s",
			       "recvMB/s", "fill%", "fullslp/s", "emptyslp/s", "wakes/s", "prod", "cons",
			       "state");
		const struct shmring_info *in = &cur.info;
#define RATE(f) ((double)(cur.stats.f - prev.stats.f) / dt)
		printf("%12.0f %12.0f %10.2f %6.1f %10.0f %10.0f %10.0f %5u %5u %s\n", RATE(sent),
		       RATE(received), RATE(recv_bytes) / 1e6,
		       100.0 * (double)in->used /
		               (double)((in->flags & SHMRING_PACKED) ? in->data_size : in->slots),
		       RATE(full_waits), RATE(empty_waits), RATE(prod_wakes) + RATE(cons_wakes),
		       live_peers(in->producers, in->nproducers),
		       live_peers(in->consumers, in->nconsumers), ring_state(in));
#undef RATE
		for (unsigned i = 0; i < cur.nsubs; i++) {
			const struct shmring_subscriber *b = &cur.subs[i];
			printf("  subscriber %2u pid %-8d lag %-10llu %12.0f msg/s  overruns %llu%s%s\n",
			       b->index, b->pid, (unsigned long long)b->lag, sub_rate(&prev, b, dt),
			       (unsigned long long)b->overruns, b->alive ? "" : "  DEAD",
			       b->stalling ? "  STALLING" : "");
		}
		prev = cur;
		t_prev = t;
	}
	shmring_close(r);
	return EX_OK;
}

/* --------------------------------------------------------------- bench */

static const char bench_usage[] =
"Usage: shmring bench [ARGS...]\n"
"Run the IPC comparison benchmark (shmring against pipes, sockets, POSIX\n"
"message queues ...), passing ARGS on; 'shmring bench --help' shows its own\n"
"options when it is built. The program is looked for in $SHMRING_IPC_BENCH,\n"
"then in bench/ipc_bench next to this shmring binary (the build tree), then\n"
"as shmring-ipc-bench next to it (an installed tree: 'make install' puts it\n"
"there when 'make bench' built it first), then on PATH.\n"
"Its own options: shmring bench -- --help\n"
"\n"
"Exit status: that of the benchmark; 12 if it is not built.\n";

int cmd_bench(int argc, char **argv)
{
	char self[4096], cand[4096 + 32];
	const char *env = getenv("SHMRING_IPC_BENCH");
	const char *found = NULL;

	if (env && *env && access(env, X_OK) == 0) {
		found = env;
	} else {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0) {
			self[n] = '\0';
			char *dir = dirname(self);
			/* the build tree, then an installed tree (make install
			 * puts the benchmark beside the tool when it was built) */
			snprintf(cand, sizeof(cand), "%s/bench/ipc_bench", dir);
			if (access(cand, X_OK) != 0)
				snprintf(cand, sizeof(cand), "%s/shmring-ipc-bench", dir);
			if (access(cand, X_OK) == 0)
				found = cand;
		}
	}
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(bench_usage, stdout);
		printf("\nBenchmark program: %s\n", found ? found : "not found");
		return EX_OK;
	}
	if (argc > 1 && !strcmp(argv[1], "--")) {   /* shmring bench -- --help */
		argv++;
		argc--;
	}
	argv[0] = (char *)(found ? found : "shmring-ipc-bench");
	if (found)
		execv(found, argv);
	else
		execvp("shmring-ipc-bench", argv);
	if (found) {
		cli_err(found, "%s", strerror(errno));
		return EX_FAIL;
	}
	cli_err(NULL, "the benchmark program is not built (no bench/ipc_bench next to "
	        "this binary, no shmring-ipc-bench on PATH); run 'make bench' in the "
	        "source tree");
	return EX_NOBENCH;
}
