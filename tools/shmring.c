/* SPDX-License-Identifier: MIT */
/*
 * shmring.c - the `shmring` command-line tool: entry point, subcommand
 * dispatch, and the helpers every subcommand uses (errors, exit codes,
 * number parsing, where a ring lives: a shm name or a file). The
 * subcommands live in cli_admin.c (create, info, ls, rm, watch, bench),
 * cli_stream.c (push, pop) and cli_bridge.c (bridge, over ZeroMQ: its wire
 * format in cli_bridge_wire.c, the ZeroMQ link in cli_bridge_link.c, the two
 * directions in cli_bridge_send.c and cli_bridge_recv.c); beside them
 * cli_layout.c (rings of another layout version, for ls and rm --stale)
 * and cli_prom.c (the Prometheus exposition of info and ls).
 *
 * Build: make            (gives $(BUILD)/shmring; see tools/tools.mk)
 * Manual: man -l docs/man/shmring.1
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

const char *cli_cmd = NULL;
volatile sig_atomic_t cli_stop = 0;

static const char main_usage[] =
"Usage: shmring COMMAND [OPTIONS] [ARGS]\n"
"Message rings between processes in POSIX shared memory or in files.\n"
"\n"
"Commands:\n"
"  create NAME     create a ring (--kind, --broadcast, --slots, --slot-size,\n"
"                  --mode, --file, --hugepages, --mlock, --overwrite, --packed)\n"
"  info NAME       show a ring's configuration, state, peers and statistics\n"
"  ls [DIR]        list the rings in /dev/shm, or among the files of DIR\n"
"  rm NAME...      remove rings; rm --stale removes those nobody uses\n"
"  push NAME       send standard input into a ring (creates it if missing)\n"
"  pop NAME...     receive from a ring (or several) onto standard output until end of stream\n"
"  watch NAME      print message rates and fill level once a second\n"
"  bridge FROM TO  carry a ring's stream over ZeroMQ (tcp://, ipc://) to or\n"
"                  from another host\n"
"  bench [ARGS]    run the IPC comparison benchmark (if built)\n"
"\n"
"NAME is a POSIX shared-memory name such as /frames (the leading '/' may be\n"
"left out), or a file path: a NAME with a '/' after its first character, such\n"
"as ./r or /var/run/app/r, is a ring in that file. Every command takes --help.\n"
"\n"
"Exit status (shmring(1), EXIT STATUS, says which command returns which):\n"
"    0  success (pop: the stream was shut down cleanly and drained)\n"
"    1  another failure: reading input, writing output, memory, huge pages, mlock\n"
"    2  usage: unknown command or option, bad argument, name or configuration\n"
"    3  no such ring (or directory)\n"
"    4  the ring already exists\n"
"    5  permission denied\n"
"    6  not a shmring, a layout version this tool does not speak, or corrupt\n"
"    7  the role is held by a live process, or no free entry is left\n"
"    8  push, bridge: every consumer left before the end\n"
"    9  push --lines, bridge: a message longer than the slot size\n"
"   10  pop --timeout: no message in time\n"
"   11  pop: standard output was closed by its reader\n"
"   12  bench: the benchmark program is not built\n"
"   13  pop, bridge: the stream ended without a clean shutdown (incomplete)\n"
"   14  bridge: the endpoint cannot be bound or connected\n"
"   15  pop: an overwrite-oldest ring lost messages (not with --allow-loss)\n"
"  130  interrupted by SIGINT, SIGTERM or SIGHUP\n";

void cli_err(const char *name, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli_cmd && name)
		fprintf(stderr, "shmring: %s %s: %s\n", cli_cmd, name, msg);
	else if (cli_cmd)
		fprintf(stderr, "shmring: %s: %s\n", cli_cmd, msg);
	else
		fprintf(stderr, "shmring: %s\n", msg);
}

int cli_exit_code(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:         return EX_OK;
	case EINVAL:
	case EISDIR:    /* a directory given as a ring */
	case ENAMETOOLONG: return EX_USAGE;
	case ENOENT:
	case ENOTDIR:   /* a part of the path is a file: no such ring there */
	                return EX_NOENT;
	case EEXIST:    return EX_EXIST;
	case EACCES:
	case EPERM:     return EX_ACCES;
	case EPROTO:
	case EBADMSG:   return EX_PROTO;
	case EBUSY:
	case EUSERS:    return EX_BUSY;
	case EPIPE:     return EX_NOPEER;
	case EMSGSIZE:  return EX_MSGSIZE;
	case ETIMEDOUT: return EX_TIMEOUT;
	default:        return EX_FAIL;
	}
}

int cli_fail(const char *name, int err)
{
	cli_err(name, "%s", shmring_strerror(err));
	return cli_exit_code(err);
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "shmring: %s%s%s (try 'shmring %s%s--help')\n",
	        cli_cmd ? cli_cmd : "", cli_cmd ? ": " : "", msg,
	        cli_cmd ? cli_cmd : "", cli_cmd ? " " : "");
	return EX_USAGE;
}

int cli_bad_option(char **argv)
{
	/* getopt leaves optind past the offending word in every case we use */
	const char *w = optind > 0 ? argv[optind - 1] : "?";
	return cli_usage("unknown option or missing argument: '%s'", w);
}

int cli_is_path(const char *ring)
{
	return ring[0] && strchr(ring + 1, '/') != NULL;
}

int cli_name(const char *arg, int as_file, char *buf, size_t size)
{
	int file = as_file || cli_is_path(arg);
	const char *pre = cli_is_path(arg) ? "" :
	                  as_file ? (arg[0] == '/' ? "/" : "./") :
	                  arg[0] == '/' ? "" : "/";

	if (!arg[0])
		return -EINVAL;
	int n = snprintf(buf, size, "%s%s", pre, arg);
	if (n < 0 || (size_t)n >= size || (file && n >= PATH_MAX))
		return file ? -ENAMETOOLONG : -EINVAL;
	if (!file && n > NAME_MAX + 1)
		return -EINVAL;
	return 0;
}

int cli_ring_open(const char *ring, int roles, struct shmring **out)
{
	if (cli_is_path(ring))
		return shmring_open_file(ring, roles, out);
	return shmring_open(ring, roles, out);
}

int cli_ring_create(const char *ring, const struct shmring_config *cfg, int roles,
                    struct shmring **out)
{
	if (cli_is_path(ring))
		return shmring_create_file(ring, cfg, roles, out);
	return shmring_create(ring, cfg, roles, out);
}

int cli_ring_unlink(const char *ring)
{
	if (!cli_is_path(ring))
		return shmring_unlink(ring);
	return unlink(ring) < 0 ? -errno : 0;
}

/* the directory part of a path ("." for none), into buf */
static const char *dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return ".";
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	snprintf(buf, size, "%.*s", (int)n, path);
	return buf;
}

/* a ring's object opened read-only to look at it: never a wait (a FIFO
 * opened without O_NONBLOCK waits for a writer) nor a controlling
 * terminal; -1 (errno set) if it cannot be opened, or is not a regular
 * file (EPROTO) */
static int open_to_look(const char *ring)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	int fd = cli_is_path(ring) ? open(ring, flags) : shm_open(ring, flags, 0);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		errno = EPROTO;
		return -1;
	}
	return fd;
}

/* the layout version written in a ring's header when it is a shmring of
 * another layout version (then -EPROTO says only "not a ring we speak"),
 * else 0: read from the object itself, for the error message */
unsigned cli_other_layout(const char *ring)
{
	struct { uint64_t magic; uint32_t version; } id;
	int fd = open_to_look(ring);
	if (fd < 0)
		return 0;
	ssize_t n = pread(fd, &id, sizeof(id), 0);
	close(fd);
	if (n != (ssize_t)sizeof(id) || id.magic != SHMRING__MAGIC ||
	    id.version == SHMRING__LAYOUT_VERSION)
		return 0;
	return id.version;
}

int cli_fail_ring(const char *ring, const struct shmring_config *cfg, int err)
{
	unsigned flags = cfg ? cfg->flags : 0;
	char dir[CLI_RING_MAX];
	struct stat st;
	struct statfs sf;

	switch (-err) {
	case ENOMEM:
	case EPERM:
		if (err == -ENOMEM && (flags & SHMRING_HUGEPAGES)) {
			cli_err(ring, "no huge pages available (see /proc/sys/vm/nr_hugepages)");
			return EX_FAIL;
		}
		if (flags & SHMRING_MLOCK) {
			cli_err(ring, "cannot lock the ring in memory (RLIMIT_MEMLOCK: see "
			        "'ulimit -l'; or CAP_IPC_LOCK)");
			return EX_FAIL;
		}
		if (cfg)
			break;
		/* attaching: a ring created with --mlock is locked in memory by
		 * every process that attaches, and this is how a refusal shows */
		cli_err(ring, "%s, or cannot lock the ring in memory (a ring created with "
		        "--mlock: RLIMIT_MEMLOCK, see 'ulimit -l')",
		        err == -ENOMEM ? "out of memory" : "operation not permitted");
		return EX_FAIL;
	case EINVAL:
		if (cfg && (flags & SHMRING_OVERWRITE) && cfg->kind == SHMRING_MPMC) {
			cli_err(ring, "--overwrite needs --kind spsc or broadcast (one producer "
			        "overwrites the oldest messages; MPMC rings cannot)");
			return EX_USAGE;
		}
		if (cfg && (flags & SHMRING_PACKED) && cfg->kind != SHMRING_SPSC) {
			cli_err(ring, "--packed rings are SPSC only (not mpmc or broadcast)");
			return EX_USAGE;
		}
		if (cfg && (flags & SHMRING_OVERWRITE) && (flags & SHMRING_PACKED)) {
			cli_err(ring, "--overwrite and --packed exclude each other (no engine "
			        "overwrites variable-length records)");
			return EX_USAGE;
		}
		if (cfg && !(flags & SHMRING_HUGEPAGES) && cli_is_path(ring) &&
		    statfs(dir_of(ring, dir, sizeof(dir)), &sf) == 0 &&
		    (unsigned long)sf.f_type == HUGETLBFS_MAGIC) {
			/* sized in huge pages only when asked to */
			cli_err(ring, "a file on hugetlbfs needs --hugepages");
			return EX_USAGE;
		}
		if (!(flags & SHMRING_HUGEPAGES))
			break;
		if (!cli_is_path(ring)) {
			cli_err(ring, "--hugepages needs a file on hugetlbfs (such as "
			        "/dev/hugepages/NAME), not a POSIX shm name");
			return EX_USAGE;
		}
		if (statfs(dir_of(ring, dir, sizeof(dir)), &sf) == 0 &&
		    (unsigned long)sf.f_type != HUGETLBFS_MAGIC) {
			cli_err(ring, "--hugepages needs a file on hugetlbfs (such as "
			        "/dev/hugepages/NAME); the directory %s is not on one", dir);
			return EX_USAGE;
		}
		break;
	case ENOENT:
	case ENOTDIR:
		if (cfg && cli_is_path(ring)) {   /* creating: the directory is missing */
			dir_of(ring, dir, sizeof(dir));
			if (err == -ENOENT)
				cli_err(ring, "no such directory: %s", dir);
			else
				cli_err(ring, "%s is not a directory", dir);
			return EX_NOENT;
		}
		if (err == -ENOENT)
			break;
		cli_err(ring, "no such ring (a part of the path is not a directory)");
		return EX_NOENT;
	case EEXIST:
		if (!cli_is_path(ring) || stat(ring, &st) < 0 || !S_ISDIR(st.st_mode))
			break;
		/* fall through */
	case EISDIR:
		cli_err(ring, "is a directory, not a ring");
		return EX_USAGE;
	case ENAMETOOLONG:
		cli_err(ring, "path too long");
		return EX_USAGE;
	case EPROTO: {
		unsigned v = cli_other_layout(ring);
		if (!v)
			break;
		cli_err(ring, "the ring has layout version %u; this shmring (library %d.%d.%d) "
		        "speaks layout version %u only: use the tools of the version that "
		        "made it, or create the ring again", v, SHMRING_VERSION_MAJOR,
		        SHMRING_VERSION_MINOR, SHMRING_VERSION_PATCH, SHMRING__LAYOUT_VERSION);
		return EX_PROTO;
	}
	}
	return cli_fail(ring, err);
}

static int parse_num(const char *s, uint64_t *out, int suffixes)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	unsigned shift = 0;
	if (suffixes && *end) {
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -EINVAL;
		}
		end++;
		if (*end == 'i')   /* KiB, MiB ... */
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	return parse_num(s, out, 1);
}

int cli_parse_u64(const char *s, uint64_t *out)
{
	return parse_num(s, out, 0);
}

int cli_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e9)
		return -EINVAL;
	*out = v;
	return 0;
}

const char *cli_human(uint64_t bytes, char *buf, size_t size)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
	return buf;
}

const char *cli_kind_name(unsigned kind)
{
	switch (kind) {
	case SHMRING_SPSC: return "spsc";
	case SHMRING_MPMC: return "mpmc";
	case SHMRING_BROADCAST: return "broadcast";
	default:           return "unknown";
	}
}

void cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void cli_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;   /* no SA_RESTART: read()/write() return EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void cli_ring_opts_init(struct cli_ring_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cfg.kind = SHMRING_SPSC;
	o->cfg.slots = CLI_DEF_SLOTS;
	o->cfg.slot_size = CLI_DEF_SLOT_SIZE;
	o->cfg.mode = 0600;
}

int cli_ring_opt(struct cli_ring_opts *o, int opt, const char *arg)
{
	uint64_t v;
	char *end;

	switch (opt) {
	case CLI_OPT_KIND:
		if (!strcmp(arg, "spsc"))
			o->cfg.kind = SHMRING_SPSC;
		else if (!strcmp(arg, "mpmc"))
			o->cfg.kind = SHMRING_MPMC;
		else if (!strcmp(arg, "broadcast"))
			o->cfg.kind = SHMRING_BROADCAST;
		else
			return cli_usage("--kind must be spsc, mpmc or broadcast, not '%s'", arg),
			       -1;
		return 1;
	case CLI_OPT_BROADCAST:
		o->cfg.kind = SHMRING_BROADCAST;
		return 1;
	case CLI_OPT_SLOTS:
		if (cli_parse_size(arg, &v) || v < 2 || v > SHMRING_MAX_SLOTS || (v & (v - 1)))
			return cli_usage("--slots must be a power of two from 2 to 2^32, not '%s'",
			                 arg), -1;
		o->cfg.slots = v;
		return 1;
	case CLI_OPT_SLOT_SIZE:
		if (cli_parse_size(arg, &v) || v < 1 || v > SHMRING_MAX_SLOT_SIZE)
			return cli_usage("--slot-size must be 1 to %u bytes, not '%s'",
			                 SHMRING_MAX_SLOT_SIZE, arg), -1;
		o->cfg.slot_size = (uint32_t)v;
		return 1;
	case CLI_OPT_MODE:
		errno = 0;
		v = strtoull(arg, &end, 8);
		if (errno || end == arg || *end || v == 0 || v > 0777)
			return cli_usage("--mode must be octal permission bits such as 0600, not '%s'",
			                 arg), -1;
		o->cfg.mode = (mode_t)v;
		return 1;
	case CLI_OPT_PREFAULT:
		o->cfg.flags |= SHMRING_PREFAULT;
		return 1;
	case CLI_OPT_FILE:
		o->as_file = 1;
		return 1;
	case CLI_OPT_HUGEPAGES:
		o->cfg.flags |= SHMRING_HUGEPAGES;
		return 1;
	case CLI_OPT_MLOCK:
		o->cfg.flags |= SHMRING_MLOCK;
		return 1;
	case CLI_OPT_OVERWRITE:
		o->cfg.flags |= SHMRING_OVERWRITE;
		return 1;
	case CLI_OPT_PACKED:
		o->cfg.flags |= SHMRING_PACKED;
		return 1;
	default:
		return 0;
	}
}

int cli_open_observer(const char *name, struct shmring **out)
{
	int rc = cli_ring_open(name, 0, out);
	if (rc != -EPERM && rc != -ENOMEM)
		return rc;
	/* a ring created with --mlock is locked in memory by every process
	 * that maps it writable, and the kernel may refuse (RLIMIT_MEMLOCK);
	 * looking needs no lock: a read-only descriptor gives a read-only
	 * observer, which the library does not lock */
	int fd = open_to_look(name);
	if (fd < 0)
		return rc;
	int ro = shmring_open_fd(fd, 0, out);
	close(fd);
	return ro == 0 ? 0 : rc;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "create", cmd_create }, { "info", cmd_info }, { "ls", cmd_ls },
	{ "rm", cmd_rm }, { "push", cmd_push }, { "pop", cmd_pop },
	{ "watch", cmd_watch }, { "bench", cmd_bench }, { "bridge", cmd_bridge },
};

int main(int argc, char **argv)
{
	opterr = 0;   /* option errors are reported by cli_bad_option(), in one line */
	if (argc < 2) {
		fputs(main_usage, stderr);
		return EX_USAGE;
	}
	const char *c = argv[1];
	if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
		if (argc > 2 && strcmp(c, "help") == 0) {
			/* "shmring help push" == "shmring push --help" */
			char *sub[] = { argv[2], (char *)"--help", NULL };
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (!strcmp(argv[2], commands[i].name)) {
					cli_cmd = commands[i].name;
					return commands[i].fn(2, sub);
				}
		}
		fputs(main_usage, stdout);
		return fflush(stdout) == 0 ? EX_OK : EX_FAIL;
	}
	if (!strcmp(c, "--version") || !strcmp(c, "-V")) {
		printf("shmring %d.%d.%d\n", SHMRING_VERSION_MAJOR, SHMRING_VERSION_MINOR,
		       SHMRING_VERSION_PATCH);
		return EX_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(c, commands[i].name)) {
			cli_cmd = commands[i].name;
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "shmring: unknown command '%s' (try 'shmring --help')\n", c);
	return EX_USAGE;
}
