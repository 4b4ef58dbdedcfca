/* SPDX-License-Identifier: MIT */
/*
 * ipc_bench.c - the IPC comparison: shmring against pipes, sockets, POSIX
 * message queues, the reference rings (two SPSC, one MPMC queue in two
 * waiting styles), semaphores and liburcu. This file owns
 * the options and the run loop; harness.c runs one case, report.c prints
 * the results, transports_*.c move the messages.
 *
 * Each case forks its producer(s) and consumer(s) (separate processes, or
 * two threads of one child for liburcu), pins producers to one CPU and
 * consumers to another (the MPMC shapes other than 1x1: not pinned, a
 * worker pool's placement), starts them together through a shared flag, and
 * lets the producers send for --duration seconds. The consumers check every
 * message's sequence number; the parent checks counts and sums. Cases are
 * interleaved (every transport and size once per repetition) because the
 * machine drifts: compare ratios within a run, not absolute numbers across
 * runs.
 *
 * The files, one concern each (what includes what: a .c includes the
 * headers of what it uses, never the other way round):
 *
 *   ipc_bench.c        options and the run loop (every case of every repetition)
 *   harness.h/.c       fork, pin, start together, time, run one case, verify
 *                      counts, the noise probe (for the run loop)
 *   transport.h        what a transport is, and the services the harness
 *                      gives its sides (side_ready(), side_done(), ...)
 *   transports.h       every transport, defined in the files below
 *   msgloop.h/.c       the per-message loops: stamp, check, round trips
 *   report.h/.c        the metric table, the ratios, the summary, the legend
 *                      and the terminal tables; report_files.c JSON and CSV;
 *                      report_int.h what those two share
 *   transports_*.c, transport_*.c   how each transport sends, receives and
 *                      ends a stream (transports_shm.h: what transports_shm.c
 *                      lends the other shared-memory files)
 *   ref_ring.h, ref_ff.h (transport_ref_ff.c)   the two SPSC reference rings
 *   ref_vyukov.h (transport_ref_vyukov.c)       the MPMC reference queue
 *   transport_bcast.c  one producer to every consumer: the broadcast ring
 *                      and its by-hand alternative, three SPSC rings
 *
 *   ipc_bench [--reps N] [--duration S] [--sizes 8,64,...] [--lat-sizes 8,4096]
 *             [--mpmc-sizes 64] [--bcast-sizes 64] [--transports a,b,...]
 *             [--no-stream] [--no-latency] [--no-mpmc] [--no-bcast]
 *             [--placement cross|same|none] [--lock FILE] [--noise-spread X]
 *             [--json FILE] [--csv FILE] [--quiet] [--list] [--help]
 */
#include <fcntl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "harness.h"
#include "report.h"
#include "transports.h"

/* run order within a rep (rotated each rep): the yardsticks, pipe and the
 * two reference rings, sit next to the shmring cases they are compared
 * with; each MPMC shape's shm-mpmc case next to its two ref-vyukov cases;
 * the broadcast cases together (shm-spsc, 1x1's yardstick, runs in their
 * block too, where it is shown: report.c's shown()).
 * Entries marked .extra run only when named (make bench-full does). */
static const struct transport *const all_transports[] = {
	&t_pipe, &t_ref_ring, &t_ref_ff, &t_shm_spsc, &t_shm_burst, &t_shm_burst256, &t_shm_zc, &t_shm_sleep,
	&t_shm_mpmc11, &t_vy_yield11, &t_vy_spin11, &t_shm_mpmc14, &t_vy_yield14, &t_vy_spin14,
	&t_shm_mpmc41, &t_vy_yield41, &t_vy_spin41, &t_shm_mpmc22, &t_vy_yield22, &t_vy_spin22,
	&t_shm_mpmc44, &t_vy_yield44, &t_vy_spin44,   /* TK_MPMC: the MPMC tables */
	&t_pipe_batch, &t_unix_stream, &t_unix_seqpacket,
	&t_tcp, &t_mq, &t_urcu, &t_sem,
	&t_shm_poll1, &t_shm_poll64, &t_shm_poll64s, &t_shm_epoll, &t_pipe_epoll,   /* transport_wait.c */
	&t_think_recv, &t_think_poll1, &t_think_poll64,
	&t_shm_64m, &t_shm_64m_huge,
	&t_shm_bcast11, &t_shm_bcast13, &t_spsc_fanout3,   /* TK_BCAST (and shm-spsc) */
};
#define NTRANS (sizeof(all_transports) / sizeof(all_transports[0]))
_Static_assert(NTRANS <= MAX_TRANS, "report.h: MAX_TRANS");

struct opts {
	int reps;
	double duration;
	size_t sizes[RK_N][MAX_SIZES];  /* streaming, round-trip, MPMC, broadcast */
	int nsizes[RK_N];
	int use[NTRANS];
	int on[RK_N];                   /* stream, latency, MPMC, broadcast */
	enum placement placement;
	int quiet;
	double noise_spread;            /* --noise-spread */
	const char *json, *csv;
	int lock_fd;                    /* --lock: held (LOCK_EX) while a block of cases runs */
};

static const char *const placement_names[] = {
	[PL_CROSS] = "cross", [PL_SAME] = "same", [PL_NONE] = "none",
};

static int parse_sizes(const char *arg, size_t *out, int *n)
{
	char *dup = strdup(arg), *save = NULL;
	*n = 0;
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long v = strtoul(tok, &end, 10);
		if (*end == 'k' || *end == 'K') {
			v *= 1024;
			end++;
		}
		if (*end || v < 8 || v > (1u << 20) || *n >= MAX_SIZES) {
			fprintf(stderr, "ipc_bench: bad size '%s' (8 .. 1048576, at most %d sizes)\n",
			        tok, MAX_SIZES);
			free(dup);
			return -1;
		}
		out[(*n)++] = v;
	}
	free(dup);
	return *n ? 0 : -1;
}

static int parse_transports(const char *arg, int *use)
{
	char *dup = strdup(arg), *save = NULL;
	memset(use, 0, sizeof(int) * NTRANS);
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int hit = 0;
		size_t l = strlen(tok);
		int prefix = l && tok[l - 1] == '*';
		for (size_t i = 0; i < NTRANS; i++) {
			const char *nm = all_transports[i]->name;
			/* "default": what runs without --transports; "all": every one */
			if (strcmp(tok, "all") == 0 ||
			    (strcmp(tok, "default") == 0 && !all_transports[i]->extra) ||
			    (prefix ? strncmp(nm, tok, l - 1) == 0 : strcmp(nm, tok) == 0)) {
				use[i] = 1;
				hit = 1;
			}
		}
		if (!hit) {
			fprintf(stderr, "ipc_bench: unknown transport '%s' (see --list)\n", tok);
			free(dup);
			return -1;
		}
	}
	free(dup);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
	"usage: ipc_bench [options]\n"
	"  Streaming throughput and ping-pong latency between two processes, pinned\n"
	"  to different CPUs (see --placement), for shmring and the usual IPC mechanisms.\n"
	"  --reps N           repetitions, cases interleaved (default 3); median [min-max]\n"
	"  --duration S       seconds per case per repetition (default 0.25)\n"
	"  --sizes LIST       streaming message sizes (default 8,64,512,4096,65536; 4k ok)\n"
	"  --lat-sizes LIST   round-trip sizes (default 8,4096)\n"
	"  --mpmc-sizes LIST  sizes of the MPMC shapes (shm-mpmc-*, ref-vyukov-*; default 64)\n"
	"  --bcast-sizes LIST sizes of the broadcast cases (shm-bcast-*, spsc-fanout-3, and\n"
	"                     shm-spsc beside them; default 64)\n"
	"  --transports LIST  names from --list, comma separated; 'shm-*' matches a prefix;\n"
	"                     'default' the usual set, 'all' also the [extra] ones\n"
	"  --no-stream        skip the throughput cases\n"
	"  --no-latency       skip the round-trip cases\n"
	"  --no-mpmc          skip the MPMC shapes\n"
	"  --no-bcast         skip the broadcast cases\n"
	"  --placement P      cross: producer/client on the first CPU, consumer/server on\n"
	"                     the second (default); same: both on the first; none: unpinned.\n"
	"                     The MPMC shapes other than 1x1, shm-bcast-1x3 and\n"
	"                     spsc-fanout-3 always run unpinned\n"
	"  --lock FILE        hold an exclusive flock on FILE while each repetition's\n"
	"                     cases of one size run (a shared machine: others wait)\n"
	"  --noise-spread X   a row whose slowest and fastest reps differ by more than\n"
	"                     X times (msgs/s; round trips: p50) is noisy (default %.3g)\n"
	"  --json FILE        write results as JSON (the summary, then one record a line)\n"
	"  --csv FILE         write results as CSV\n"
	"  --quiet            no progress lines\n"
	"  --list             list the transports and exit\n"
	"  --help             this text\n"
	"  Exit status: 0 all cases verified; 1 a case failed (a sequence mismatch,\n"
	"  a lost message, a child error); 2 usage.\n", NOISE_SPREAD);
}

static void list_transports(void)
{
	for (size_t i = 0; i < NTRANS; i++) {
		const struct transport *t = all_transports[i];
		printf("  %-20s %s%s%s%s\n", t->name, t->what,
		       t->kinds & TK_LATENCY ? " [+latency]" : "",
		       t->kinds & TK_MPMC ? " [MPMC shape]" :
		       t->kinds & TK_BCAST && !(t->kinds & TK_STREAM) ? " [broadcast]" :
		       t->kinds & TK_STREAM ? "" : " [latency only]", t->extra ? " [extra]" : "");
	}
}

/* 0 go on, else the exit status */
static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_REPS = 256, O_DUR, O_SIZES, O_LSIZES, O_TRANS, O_NOSTREAM, O_NOLAT, O_JSON,
	       O_CSV, O_QUIET, O_LIST, O_HELP, O_PLACE, O_LOCK, O_MSIZES, O_NOMPMC, O_NSPREAD,
	       O_BSIZES, O_NOBCAST };
	static const struct option lo[] = {
		{"reps", required_argument, 0, O_REPS},
		{"duration", required_argument, 0, O_DUR},
		{"sizes", required_argument, 0, O_SIZES},
		{"lat-sizes", required_argument, 0, O_LSIZES},
		{"transports", required_argument, 0, O_TRANS},
		{"no-stream", no_argument, 0, O_NOSTREAM},
		{"no-latency", no_argument, 0, O_NOLAT},
		{"mpmc-sizes", required_argument, 0, O_MSIZES},
		{"no-mpmc", no_argument, 0, O_NOMPMC},
		{"bcast-sizes", required_argument, 0, O_BSIZES},
		{"no-bcast", no_argument, 0, O_NOBCAST},
		{"placement", required_argument, 0, O_PLACE},
		{"lock", required_argument, 0, O_LOCK},
		{"noise-spread", required_argument, 0, O_NSPREAD},
		{"json", required_argument, 0, O_JSON},
		{"csv", required_argument, 0, O_CSV},
		{"quiet", no_argument, 0, O_QUIET},
		{"list", no_argument, 0, O_LIST},
		{"help", no_argument, 0, O_HELP},
		{0, 0, 0, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case O_REPS:
			o->reps = atoi(optarg);
			if (o->reps < 1 || o->reps > MAX_REPS) {
				fprintf(stderr, "ipc_bench: --reps 1..%d\n", MAX_REPS);
				return 2;
			}
			break;
		case O_DUR:
			o->duration = atof(optarg);
			if (!(o->duration > 0.001 && o->duration <= 60)) {
				fprintf(stderr, "ipc_bench: --duration 0.001..60 seconds\n");
				return 2;
			}
			break;
		case O_SIZES:
			if (parse_sizes(optarg, o->sizes[RK_STREAM], &o->nsizes[RK_STREAM]))
				return 2;
			break;
		case O_LSIZES:
			if (parse_sizes(optarg, o->sizes[RK_LATENCY], &o->nsizes[RK_LATENCY]))
				return 2;
			break;
		case O_TRANS:
			if (parse_transports(optarg, o->use))
				return 2;
			break;
		case O_MSIZES:
			if (parse_sizes(optarg, o->sizes[RK_MPMC], &o->nsizes[RK_MPMC]))
				return 2;
			break;
		case O_BSIZES:
			if (parse_sizes(optarg, o->sizes[RK_BCAST], &o->nsizes[RK_BCAST]))
				return 2;
			break;
		case O_NOSTREAM: o->on[RK_STREAM] = 0; break;
		case O_NOBCAST: o->on[RK_BCAST] = 0; break;
		case O_NOLAT: o->on[RK_LATENCY] = 0; break;
		case O_NOMPMC: o->on[RK_MPMC] = 0; break;
		case O_PLACE: {
			int hit = -1;
			for (int i = 0; i < 3; i++)
				if (strcmp(optarg, placement_names[i]) == 0)
					hit = i;
			if (hit < 0) {
				fprintf(stderr, "ipc_bench: --placement cross|same|none\n");
				return 2;
			}
			o->placement = (enum placement)hit;
			break;
		}
		case O_LOCK:
			if (o->lock_fd >= 0)
				close(o->lock_fd);
			o->lock_fd = open(optarg, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
			if (o->lock_fd < 0) {
				fprintf(stderr, "ipc_bench: --lock %s: %s\n", optarg, strerror(errno));
				return 2;
			}
			break;
		case O_NSPREAD:
			o->noise_spread = atof(optarg);
			if (!(o->noise_spread >= 1 && o->noise_spread <= 1e6)) {
				fprintf(stderr, "ipc_bench: --noise-spread 1..1e6 (max / min over reps)\n");
				return 2;
			}
			break;
		case O_JSON: o->json = optarg; break;
		case O_CSV: o->csv = optarg; break;
		case O_QUIET: o->quiet = 1; break;
		case O_LIST: list_transports(); return 0;
		case 'h':
		case O_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* --lock: hold the file while a block of cases runs (flock waits) */
static void block_lock(const struct opts *o, int op)
{
	if (o->lock_fd < 0)
		return;
	while (flock(o->lock_fd, op) != 0 && errno == EINTR && !harness_interrupted())
		;
}

/* the kinds, as the progress line and a failure name them */
static const char *const kind_word[RK_N] = {
	[RK_STREAM] = "stream", [RK_LATENCY] = "round-trip", [RK_MPMC] = "mpmc",
	[RK_BCAST] = "bcast",
};

/* one case of one repetition, into the report; 1 it failed */
static int run_one(const struct transport *t, int kind, size_t ti, int si, size_t size,
                   const struct opts *o, int cpu_prod, int cpu_cons, int tty, int rep)
{
	const char *what = kind_word[kind];
	struct case_out co;
	if (t->max_size && size > t->max_size) {
		char why[64];
		snprintf(why, sizeof(why), "above %zu B", t->max_size);
		report_skip(kind, ti, si, why);
		return 0;
	}
	run_case(t, size, o->duration, kind == RK_LATENCY, cpu_prod, cpu_cons, &co);
	if (co.ok < 0) {
		report_skip(kind, ti, si, co.why);
		return 0;
	}
	if (co.ok == 0 && harness_interrupted())
		return 0;           /* stopped by SIGINT/SIGTERM: not a failure of the case */
	if (co.ok == 0) {
		if (tty)
			fputc('\n', stderr);
		fprintf(stderr, "ipc_bench: FAILED %s %s %zu B rep %d: %s\n", what, t->name, size,
		        rep + 1, co.why);
		report_fail(kind, ti, si, co.why);
		return 1;
	}
	report_add(kind, ti, si, rep, &co);
	return 0;
}

/* every case of every repetition, interleaved, with a progress line */
static void run_all(const struct opts *o, struct report *r, int cpu_prod, int cpu_cons)
{
	int total = 0;
	for (size_t i = 0; i < NTRANS; i++)
		for (int k = 0; k < RK_N; k++)
			if (o->on[k] && shown(r, i, k))
				total += o->nsizes[k];
	total *= o->reps;
	int tty = isatty(2) && !o->quiet;
	double t_start = now_s();

	for (int rep = 0; rep < o->reps && !harness_interrupted(); rep++) {
		for (int k = 0; k < RK_N; k++) {
			if (!o->on[k])
				continue;
			for (int s = 0; s < o->nsizes[k] && !harness_interrupted(); s++) {
				size_t size = o->sizes[k][s];
				/* one block: every transport of this size in this rep */
				block_lock(o, LOCK_EX);
				for (size_t j = 0; j < NTRANS && !harness_interrupted(); j++) {
					/* each rep starts at a different transport, so none
					 * always runs first (or right after a heavy one) */
					size_t ti = (j + (size_t)rep * 7) % NTRANS;
					const struct transport *t = all_transports[ti];
					if (!shown(r, ti, k))
						continue;
					r->cases++;
					if (tty)
						fprintf(stderr, "\r\033[K[%3d/%d %3.0fs] rep %d/%d %-10s %-20s %6zu B",
						        r->cases, total, now_s() - t_start, rep + 1, o->reps,
						        kind_word[k], t->name, size);
					else if (!o->quiet && j == 0)
						fprintf(stderr, "[%3d/%d %3.0fs] rep %d/%d %s %zu B\n", r->cases,
						        total, now_s() - t_start, rep + 1, o->reps,
						        kind_word[k], size);
					r->failed += run_one(t, k, ti, s, size, o, cpu_prod, cpu_cons, tty,
					                     rep);
				}
				block_lock(o, LOCK_UN);
			}
		}
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
	r->elapsed_s = now_s() - t_start;
}

int main(int argc, char **argv)
{
	struct opts o = {.reps = 3, .duration = 0.25, .on = {1, 1, 1, 1}, .placement = PL_CROSS,
	                 .sizes = {[RK_STREAM] = {8, 64, 512, 4096, 65536}, [RK_LATENCY] = {8, 4096},
	                           [RK_MPMC] = {64}, [RK_BCAST] = {64}},
	                 .nsizes = {[RK_STREAM] = 5, [RK_LATENCY] = 2, [RK_MPMC] = 1,
	                            [RK_BCAST] = 1},
	                 .lock_fd = -1, .noise_spread = NOISE_SPREAD};
	for (size_t i = 0; i < NTRANS; i++)
		o.use[i] = !all_transports[i]->extra;
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;

	/* placement (cross): producer (and ping client) on the first allowed
	 * CPU, consumer (and echo server) on the second */
	int cpu_prod, cpu_cons;
	if (harness_cpus(o.placement, &cpu_prod, &cpu_cons))
		fprintf(stderr, "ipc_bench: --placement cross needs two usable CPUs; not pinned\n");
	harness_signals();

	struct report r = {
		.trans = all_transports, .ntrans = NTRANS, .use = o.use,
		.reps = o.reps, .duration = o.duration, .noise_spread = o.noise_spread,
	};
	for (int k = 0; k < RK_N; k++) {
		r.on[k] = o.on[k];
		r.sizes[k] = o.sizes[k];
		r.nsizes[k] = o.nsizes[k];
	}
	r.not_run[RK_STREAM] = "not selected (option --no-stream)";
	r.not_run[RK_LATENCY] = "not selected (option --no-latency)";
	r.not_run[RK_MPMC] = "not selected (option --no-mpmc)";
	r.not_run[RK_BCAST] = "not selected (option --no-bcast)";
	report_machine(&r.m, placement_names[o.placement], cpu_prod, cpu_cons);
	report_header(&r);
	run_all(&o, &r, cpu_prod, cpu_cons);
	report_ratios(&r);
	report_terminal(&r);
	if (o.json && report_json(&r, o.json))
		return 1;
	if (o.csv && report_csv(&r, o.csv))
		return 1;
	/* the closing line: where the results went */
	if (o.json || o.csv)
		printf("results: %s%s%s%s%s\n", o.json ? o.json : "", o.json ? " (JSON)" : "",
		       o.json && o.csv ? ", " : "", o.csv ? o.csv : "", o.csv ? " (CSV)" : "");
	if (harness_interrupted()) {
		fprintf(stderr, "ipc_bench: interrupted\n");
		return 1;
	}
	return r.failed ? 1 : 0;
}
