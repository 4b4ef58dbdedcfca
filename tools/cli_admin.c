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
"Create the ring NAME (fails if it exists).\n"
"\n"
"Options:\n"
"      --kind spsc|mpmc   one producer and one consumer, or up to 64 of each\n"
"                         (default spsc)\n"
"      --slots N          number of slots, a power of two (default 64)\n"
"      --slot-size BYTES  largest message, K/M/G suffixes allowed (default 64K)\n"
"      --mode OCTAL       permission bits of the object (default 0600)\n"
"      --prefault         touch every page now rather than on first use\n"
"  -h, --help             show this help\n"
"\n"
"Exit status: 0 created; 2 bad option or name; 4 the ring exists; 5 permission\n"
"denied; see shmring(1).\n";

int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		CLI_RING_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_ring_opts ro;
	char name[NAME_MAX + 2];
	int opt;

	cli_ring_opts_init(&ro);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int k = cli_ring_opt(&ro, opt, optarg);
		if (k < 0)
			return EX_USAGE;
		if (k == 0)
			return help_or_usage(opt, create_usage, argv);
	}
	if (optind + 1 != argc)
		return cli_usage("expects exactly one ring NAME");
	if (cli_name(argv[optind], name, sizeof(name)))
		return cli_fail(argv[optind], -EINVAL);

	struct shmring *r;
	int rc = shmring_create(name, &ro.cfg, 0, &r);
	if (rc < 0)
		return cli_fail(name, rc);
	shmring_close(r);
	return EX_OK;
}

/* ---------------------------------------------------------------- info */

static const char info_usage[] =
"Usage: shmring info [OPTIONS] NAME\n"
"Show the ring NAME: kind, sizes, memory, indices and fill level, attached\n"
"producers and consumers (pid, alive or dead, shut down), end-of-stream state\n"
"and statistics. Looking does not attach or disturb anything.\n"
"\n"
"Options:\n"
"  -j, --json   one JSON object on standard output, for scripts\n"
"  -h, --help   show this help\n"
"\n"
"Exit status: 0 shown; 3 no such ring; 5 permission denied; 6 not a shmring.\n";

struct snapshot {
	struct shmring_info info;
	struct shmring_stats stats;
};

static int take_snapshot(struct shmring *r, struct snapshot *s)
{
	int rc = shmring_info(r, &s->info);
	if (rc == 0)
		rc = shmring_stats(r, &s->stats);
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

static void print_info_json(const char *name, const struct snapshot *s)
{
	const struct shmring_info *in = &s->info;
	const struct shmring_stats *st = &s->stats;

	printf("{\"name\":");
	cli_json_str(stdout, name);
	printf(",\"kind\":\"%s\",\"slot_size\":%u,\"slots\":%llu,\"mem_size\":%llu,"
	       "\"prod_idx\":%llu,\"cons_idx\":%llu,\"used\":%llu,\"state\":\"%s\","
	       "\"eof\":%s,\"shutdowns\":%u,\"creator_pid\":%d,\"created_ns\":%llu,",
	       cli_kind_name(in->kind), in->slot_size, (unsigned long long)in->slots,
	       (unsigned long long)in->mem_size, (unsigned long long)in->prod_idx,
	       (unsigned long long)in->cons_idx, (unsigned long long)in->used,
	       ring_state(in), in->eof ? "true" : "false", in->shutdowns, in->creator_pid,
	       (unsigned long long)in->created_ns);
	json_peers("producers", in->producers, in->nproducers);
	printf(",");
	json_peers("consumers", in->consumers, in->nconsumers);
	printf(",\"stats\":{\"sent\":%llu,\"received\":%llu,\"full_waits\":%llu,"
	       "\"empty_waits\":%llu,\"prod_wakes\":%llu,\"cons_wakes\":%llu,"
	       "\"bad_msgs\":%llu,\"orphans\":%llu,\"sent_bytes\":%llu,"
	       "\"recv_bytes\":%llu,\"membarriers\":%llu,\"prod_deaths\":%u,"
	       "\"cons_deaths\":%u}}\n",
	       (unsigned long long)st->sent, (unsigned long long)st->received,
	       (unsigned long long)st->full_waits, (unsigned long long)st->empty_waits,
	       (unsigned long long)st->prod_wakes, (unsigned long long)st->cons_wakes,
	       (unsigned long long)st->bad_msgs, (unsigned long long)st->orphans,
	       (unsigned long long)st->sent_bytes, (unsigned long long)st->recv_bytes,
	       (unsigned long long)st->membarriers, in->prod_deaths, in->cons_deaths);
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
	printf("%-13s %s\n", "kind:", cli_kind_name(in->kind));
	printf("%-13s %llu x %u bytes (%s of payload)\n", "slots:",
	       (unsigned long long)in->slots, in->slot_size,
	       cli_human(in->slots * in->slot_size, h1, sizeof(h1)));
	printf("%-13s %s (%llu bytes)\n", "memory:", cli_human(in->mem_size, h2, sizeof(h2)),
	       (unsigned long long)in->mem_size);
	printf("%-13s %s by pid %d\n", "created:", when, in->creator_pid);
	printf("%-13s producer %llu, consumer %llu\n", "indices:",
	       (unsigned long long)in->prod_idx, (unsigned long long)in->cons_idx);
	printf("%-13s %llu of %llu slots (%.0f%%)\n", "fill:", (unsigned long long)in->used,
	       (unsigned long long)in->slots, 100.0 * (double)in->used / (double)in->slots);
	printf("%-13s %s%s", "state:", ring_state(in),
	       !in->eof ? "" :
	       in->shutdowns ? " (end of stream: every producer that attached is gone or shut down)"
	                     : " (end of stream: the producers closed or died without a shutdown)");
	printf(", %u shutdown call%s\n", in->shutdowns, in->shutdowns == 1 ? "" : "s");
	print_peers("producers:", in->producers, in->nproducers);
	print_peers("consumers:", in->consumers, in->nconsumers);
	printf("%-13s sent %llu, received %llu, corrupt %llu, orphaned %llu\n", "messages:",
	       (unsigned long long)st->sent, (unsigned long long)st->received,
	       (unsigned long long)st->bad_msgs, (unsigned long long)st->orphans);
	printf("%-13s sent %llu, received %llu (counted every 64 KiB per handle)\n", "bytes:",
	       (unsigned long long)st->sent_bytes, (unsigned long long)st->recv_bytes);
	printf("%-13s producers %u, consumers %u\n", "found dead:", in->prod_deaths,
	       in->cons_deaths);
	printf("%-13s full %llu, empty %llu; wakes by producers %llu, by consumers %llu\n",
	       "sleeps:", (unsigned long long)st->full_waits,
	       (unsigned long long)st->empty_waits, (unsigned long long)st->prod_wakes,
	       (unsigned long long)st->cons_wakes);
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int json = 0, opt;
	char name[NAME_MAX + 2];

	while ((opt = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		if (opt == 'j')
			json = 1;
		else
			return help_or_usage(opt, info_usage, argv);
	}
	if (optind + 1 != argc)
		return cli_usage("expects exactly one ring NAME");
	if (cli_name(argv[optind], name, sizeof(name)))
		return cli_fail(argv[optind], -EINVAL);

	struct shmring *r;
	struct snapshot s;
	int rc = cli_open_observer(name, &r);
	if (rc < 0)
		return cli_fail(name, rc);
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
 * Calls fn for every shmring in /dev/shm. A file is a shmring when an
 * observer open succeeds; -EPROTO (something else) and -ENOENT (gone
 * meanwhile) are skipped silently, other failures are warnings. Files
 * smaller than a ring header are skipped without opening (the library would
 * wait for a creator that is not coming). Returns the number of warnings.
 */
static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);   /* each entry starts with its name */
}

typedef void (*ring_fn)(const char *name, struct shmring *r, void *arg);

/* NAME matches one of the shell patterns (all names when there are none);
 * patterns without a leading '/' match as if they had one */
static int name_matches(const char *name, char **pats, int npats)
{
	if (npats == 0)
		return 1;
	for (int i = 0; i < npats; i++)
		if (fnmatch(pats[i], pats[i][0] == '/' ? name : name + 1, 0) == 0)
			return 1;
	return 0;
}

static int for_each_ring(char **pats, int npats, ring_fn fn, void *arg)
{
	DIR *d = opendir(SHM_DIR);
	int warnings = 0;

	if (!d) {
		cli_err(SHM_DIR, "%s", strerror(errno));
		return -1;
	}
	struct dirent *e;
	struct entry { char name[NAME_MAX + 2]; } *list = NULL;
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
		snprintf(list[n++].name, sizeof(list->name), "/%s", e->d_name);
	}
	closedir(d);
	/* sorted by name: stable output for people and scripts */
	qsort(list, n, sizeof(*list), by_name);

	for (size_t i = 0; i < n; i++) {
		char path[sizeof(SHM_DIR) + NAME_MAX + 2];
		struct stat st;
		snprintf(path, sizeof(path), "%s%s", SHM_DIR, list[i].name);
		if (!name_matches(list[i].name, pats, npats) || lstat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size < SHMRING_HEADER_BYTES)
			continue;
		struct shmring *r;
		int rc = cli_open_observer(list[i].name, &r);
		if (rc == -EPROTO || rc == -ENOENT || rc == -EINVAL)
			continue;
		if (rc < 0) {
			fprintf(stderr, "shmring: %s: warning: %s: %s\n", cli_cmd, list[i].name,
			        shmring_strerror(rc));
			warnings++;
			continue;
		}
		fn(list[i].name, r, arg);
		shmring_close(r);
	}
	free(list);
	return warnings;
}

static const char ls_usage[] =
"Usage: shmring ls [OPTIONS] [PATTERN...]\n"
"List every shmring in /dev/shm (or those whose name matches a shell PATTERN,\n"
"such as '/frames-*'), one line each: name, kind, slots x slot size,\n"
"memory, fill, live/attached producers and consumers, and state (active,\n"
"idle: nobody attached, draining or ended: end of stream). Other files are\n"
"ignored; rings that cannot be read are reported as warnings.\n"
"\n"
"Options:\n"
"  -j, --json   a JSON array of objects like 'shmring info --json' prints\n"
"  -h, --help   show this help\n"
"\n"
"Exit status: 0 (also when some files could not be read: see the warnings).\n";

struct ls_ctx {
	int json;
	unsigned count;
};

static void ls_one(const char *name, struct shmring *r, void *arg)
{
	struct ls_ctx *c = arg;
	struct snapshot s;
	char h1[32], h2[32];

	if (take_snapshot(r, &s) < 0)
		return;
	if (c->json) {
		printf("%s", c->count ? ",\n" : "");
		print_info_json(name, &s);
	} else {
		const struct shmring_info *in = &s.info;
		if (c->count == 0)
			printf("%-24s %-4s %16s %10s %7s %6s %6s  %s\n", "NAME", "KIND",
			       "SLOTS x SIZE", "MEMORY", "FILL", "PROD", "CONS", "STATE");
		char geo[48];
		snprintf(geo, sizeof(geo), "%llu x %s", (unsigned long long)in->slots,
		         cli_human(in->slot_size, h1, sizeof(h1)));
		printf("%-24s %-4s %16s %10s %6.0f%% %3u/%-2u %3u/%-2u  %s\n", name,
		       cli_kind_name(in->kind), geo, cli_human(in->mem_size, h2, sizeof(h2)),
		       100.0 * (double)in->used / (double)in->slots,
		       live_peers(in->producers, in->nproducers), in->nproducers,
		       live_peers(in->consumers, in->nconsumers), in->nconsumers,
		       ring_state(in));
	}
	c->count++;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ls_ctx c = { 0, 0 };
	int opt;

	while ((opt = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		if (opt == 'j')
			c.json = 1;
		else
			return help_or_usage(opt, ls_usage, argv);
	}
	if (c.json)
		printf("[");
	/* a failure to read /dev/shm itself is reported inside */
	int rc = for_each_ring(argv + optind, argc - optind, ls_one, &c);
	if (c.json)
		printf("%s]\n", c.count ? "\n" : "");
	if (fflush(stdout) != 0)
		return EX_FAIL;
	return rc < 0 ? EX_FAIL : EX_OK;
}

static const char rm_usage[] =
"Usage: shmring rm [OPTIONS] NAME...\n"
"       shmring rm --stale [--dry-run] [--min-age SECONDS] [PATTERN...]\n"
"Remove rings. Processes still attached keep working on their mapping; the\n"
"name disappears at once.\n"
"\n"
"Options:\n"
"  -s, --stale            remove every ring in /dev/shm that no live process\n"
"                         is attached to (as producer or consumer); with\n"
"                         PATTERNs, only rings whose name matches one\n"
"      --min-age SECONDS  with --stale: spare rings younger than this\n"
"  -n, --dry-run          with --stale: only print what would be removed\n"
"  -f, --force            remove NAME even if it is not a shmring\n"
"  -h, --help             show this help\n"
"\n"
"Removed names are printed with --stale. Exit status: 0 all removed; 3 no such\n"
"ring; 5 permission denied; 6 not a shmring (without --force); with several\n"
"NAMEs, the code of the first failure.\n";

struct stale_ctx {
	int dry_run;
	double min_age;
	int failures;
	unsigned removed;
};

static void stale_one(const char *name, struct shmring *r, void *arg)
{
	struct stale_ctx *c = arg;
	struct shmring_info in;
	struct timespec now;

	if (shmring_info(r, &in) < 0)
		return;
	if (live_peers(in.producers, in.nproducers) || live_peers(in.consumers, in.nconsumers))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	double age = (double)now.tv_sec + (double)now.tv_nsec / 1e9 -
	             (double)in.created_ns / 1e9;
	if (age < c->min_age)
		return;
	if (!c->dry_run) {
		int rc = shmring_unlink(name);
		if (rc < 0 && rc != -ENOENT) {
			cli_fail(name, rc);
			c->failures++;
			return;
		}
	}
	printf("%s%s\n", c->dry_run ? "would remove " : "removed ", name);
	c->removed++;
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
		int w = for_each_ring(argv + optind, argc - optind, stale_one, &sc);
		if (fflush(stdout) != 0)
			return EX_FAIL;
		return w < 0 || sc.failures ? EX_FAIL : EX_OK;
	}
	if (optind == argc)
		return cli_usage("expects at least one ring NAME (or --stale)");

	int ret = EX_OK;
	for (int i = optind; i < argc; i++) {
		char name[NAME_MAX + 2];
		int rc = cli_name(argv[i], name, sizeof(name)) ? -EINVAL : 0;
		if (rc == 0 && !force) {
			/* look before removing: rm must not delete somebody's other
			 * shared-memory object by a typo */
			struct shmring *r;
			rc = cli_open_observer(name, &r);
			if (rc == 0)
				shmring_close(r);
			else if (rc == -EPROTO) {
				cli_err(name, "not a shmring (use --force to remove it anyway)");
				if (ret == EX_OK)
					ret = EX_PROTO;
				continue;
			} else if (rc == -EACCES) {
				rc = 0;   /* unlinking may still be allowed: let it decide */
			}
		}
		if (rc == 0)
			rc = shmring_unlink(name);
		if (rc < 0) {
			int code = cli_fail(rc == -EINVAL ? argv[i] : name, rc);
			if (ret == EX_OK)
				ret = code;
		}
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
"\n"
"Options:\n"
"  -c, --count N          stop after N lines (default: until interrupted)\n"
"  -i, --interval SECONDS time between lines (default 1)\n"
"  -h, --help             show this help\n"
"\n"
"Exit status: 0; 3 no such ring; 6 not a shmring.\n";

int cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t count = UINT64_MAX;
	double interval = 1;
	char name[NAME_MAX + 2];
	int opt;

	while ((opt = getopt_long(argc, argv, "c:i:h", longopts, NULL)) != -1) {
		switch (opt) {
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
	if (cli_name(argv[optind], name, sizeof(name)))
		return cli_fail(argv[optind], -EINVAL);

	struct shmring *r;
	int rc = cli_open_observer(name, &r);
	if (rc < 0)
		return cli_fail(name, rc);
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
		if (line % 20 == 0)
			printf("%12s %12s %10s %6s %10s %10s %10s %5s %5s %s\n", "sent/s", "recv/s",
			       "recvMB/s", "fill%", "fullslp/s", "emptyslp/s", "wakes/s", "prod", "cons",
			       "state");
		const struct shmring_info *in = &cur.info;
#define RATE(f) ((double)(cur.stats.f - prev.stats.f) / dt)
		printf("%12.0f %12.0f %10.2f %6.1f %10.0f %10.0f %10.0f %5u %5u %s\n", RATE(sent),
		       RATE(received), RATE(recv_bytes) / 1e6,
		       100.0 * (double)in->used / (double)in->slots,
		       RATE(full_waits), RATE(empty_waits), RATE(prod_wakes) + RATE(cons_wakes),
		       live_peers(in->producers, in->nproducers),
		       live_peers(in->consumers, in->nconsumers), ring_state(in));
#undef RATE
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
"as shmring-ipc-bench on PATH. Build it with 'make bench' in the source tree.\n"
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
			snprintf(cand, sizeof(cand), "%s/bench/ipc_bench", dirname(self));
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
