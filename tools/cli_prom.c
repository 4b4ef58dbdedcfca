/* SPDX-License-Identifier: MIT */
/*
 * cli_prom.c - rings as Prometheus metrics: the text exposition format
 * (version 0.0.4) that node-exporter's textfile collector and a
 * Pushgateway read. One family per metric, each announced once by its HELP
 * and TYPE lines, then one sample per ring (and side); counters end in
 * _total, units are in the names, and every sample carries the labels
 * ring (the name or path as given), kind (spsc, mpmc, broadcast) and, where
 * a figure belongs to one side, side (producer, consumer). The
 * shmring_subscriber_* families have a sample per subscriber of a
 * broadcast ring, labelled subscriber (its registry entry, 0..63: stable
 * while it is attached, unlike a pid); other rings have none there.
 *
 * Used by `shmring info --prometheus RING...` and `shmring ls --prometheus`.
 */
#include <stdio.h>
#include <string.h>
#include "cli.h"

/* a label value: backslash, double quote and newline escaped */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

enum prom_type { GAUGE, COUNTER };
enum prom_side { NO_SIDE, PRODUCER, CONSUMER, SUBSCRIBER };

struct family {
	const char *name;
	enum prom_type type;
	enum prom_side side;   /* NO_SIDE: one sample per ring; PRODUCER,
	                        * CONSUMER: one for this side (the caller
	                        * prints both families); SUBSCRIBER: one per
	                        * subscriber (value_sub) */
	const char *help;
	double (*value)(const struct cli_prom_ring *p);
	double (*value_sub)(const struct shmring_subscriber *b);
};

static unsigned live(const struct shmring_peer *p, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++)
		k += p[i].alive;
	return k;
}

#define V(fn, expr) \
	static double fn(const struct cli_prom_ring *p) { return (double)(expr); }
V(v_slots, p->info.slots)
V(v_slot_size, p->info.slot_size)
V(v_mem, p->info.mem_size)
V(v_data, p->info.data_size)
V(v_used, p->info.flags & SHMRING_PACKED ? 0 : p->info.used)
V(v_used_bytes, p->info.flags & SHMRING_PACKED ? p->info.used : p->info.used * p->info.slot_size)
V(v_prod_live, live(p->info.producers, p->info.nproducers))
V(v_cons_live, live(p->info.consumers, p->info.nconsumers))
V(v_eof, p->info.eof != 0)
V(v_reason, p->end_reason > 0 ? p->end_reason : 0)
V(v_epoch, p->info.stream_epoch)
V(v_created, (double)p->info.created_ns / 1e9)
V(v_sent, p->stats.sent)
V(v_received, p->stats.received)
V(v_sent_bytes, p->stats.sent_bytes)
V(v_recv_bytes, p->stats.recv_bytes)
V(v_full, p->stats.full_waits)
V(v_empty, p->stats.empty_waits)
V(v_pwakes, p->stats.prod_wakes)
V(v_cwakes, p->stats.cons_wakes)
V(v_mb, p->stats.membarriers)
V(v_bad, p->stats.bad_msgs)
V(v_orphans, p->stats.orphans)
V(v_abandoned, p->stats.abandoned)
V(v_overruns, p->stats.overruns)
V(v_shutdowns, p->info.shutdowns)
V(v_pdeaths, p->info.prod_deaths)
V(v_cdeaths, p->info.cons_deaths)
#undef V
#define VS(fn, expr) \
	static double fn(const struct shmring_subscriber *b) { return (double)(expr); }
VS(vs_lag, b->lag)
VS(vs_position, b->position)
VS(vs_delivered, b->delivered)
VS(vs_overruns, b->overruns)
VS(vs_alive, b->alive != 0)
VS(vs_stalling, b->stalling != 0)
#undef VS

/* families with a side come in pairs of one name: producer, then consumer */
static const struct family families[] = {
	{ "shmring_slots", GAUGE, NO_SIDE, "Slots in the ring (packed rings: the slot count the record area was sized by).", v_slots, NULL },
	{ "shmring_slot_size_bytes", GAUGE, NO_SIDE, "Largest message the ring takes, in bytes.", v_slot_size, NULL },
	{ "shmring_memory_bytes", GAUGE, NO_SIDE, "Size of the shared object, in bytes.", v_mem, NULL },
	{ "shmring_data_bytes", GAUGE, NO_SIDE, "Bytes of the slot array or packed record area.", v_data, NULL },
	{ "shmring_used_slots", GAUGE, NO_SIDE, "Slots holding messages not yet received (0 for packed rings, see shmring_used_bytes).", v_used, NULL },
	{ "shmring_used_bytes", GAUGE, NO_SIDE, "Bytes of the data area in use: slots in use times the slot size, or the packed bytes in use.", v_used_bytes, NULL },
	{ "shmring_attached", GAUGE, PRODUCER, "Live attachments (the kernel holds their locks).", v_prod_live, NULL },
	{ "shmring_attached", GAUGE, CONSUMER, NULL, v_cons_live, NULL },
	{ "shmring_end_of_stream", GAUGE, NO_SIDE, "1 once every producer that attached has shut down, aborted, closed or died.", v_eof, NULL },
	{ "shmring_end_reason", GAUGE, NO_SIDE, "How the stream ended: 0 not ended, 1 clean, 2 aborted, 3 a producer died or closed without shutdown.", v_reason, NULL },
	{ "shmring_stream_epoch", GAUGE, NO_SIDE, "Streams begun on the ring before the current one.", v_epoch, NULL },
	{ "shmring_created_timestamp_seconds", GAUGE, NO_SIDE, "When the ring was created, seconds since the Unix epoch.", v_created, NULL },
	{ "shmring_messages_total", COUNTER, PRODUCER, "Messages published (producer) and received (consumer).", v_sent, NULL },
	{ "shmring_messages_total", COUNTER, CONSUMER, NULL, v_received, NULL },
	{ "shmring_payload_bytes_total", COUNTER, PRODUCER, "Payload bytes sent and received (each handle adds its count every 64 KiB and when it sleeps or closes).", v_sent_bytes, NULL },
	{ "shmring_payload_bytes_total", COUNTER, CONSUMER, NULL, v_recv_bytes, NULL },
	{ "shmring_sleeps_total", COUNTER, PRODUCER, "Futex sleeps: producers on a full ring, consumers on an empty one.", v_full, NULL },
	{ "shmring_sleeps_total", COUNTER, CONSUMER, NULL, v_empty, NULL },
	{ "shmring_wakes_total", COUNTER, PRODUCER, "FUTEX_WAKE calls made by each side.", v_pwakes, NULL },
	{ "shmring_wakes_total", COUNTER, CONSUMER, NULL, v_cwakes, NULL },
	{ "shmring_membarriers_total", COUNTER, NO_SIDE, "membarrier() calls made by sleepers.", v_mb, NULL },
	{ "shmring_corrupt_messages_total", COUNTER, NO_SIDE, "Corrupt slots reported to a consumer (-EBADMSG).", v_bad, NULL },
	{ "shmring_orphaned_messages_total", COUNTER, NO_SIDE, "MPMC: messages lost with a consumer that died holding them.", v_orphans, NULL },
	{ "shmring_abandoned_slots_total", COUNTER, NO_SIDE, "MPMC: slots claimed by a producer that died before publishing.", v_abandoned, NULL },
	{ "shmring_overruns_total", COUNTER, NO_SIDE, "Overwrite-oldest rings: messages overwritten before the consumer read them.", v_overruns, NULL },
	{ "shmring_shutdowns_total", COUNTER, NO_SIDE, "shmring_shutdown() calls.", v_shutdowns, NULL },
	{ "shmring_peer_deaths_total", COUNTER, PRODUCER, "Attachments found dead and detached by a peer.", v_pdeaths, NULL },
	{ "shmring_peer_deaths_total", COUNTER, CONSUMER, NULL, v_cdeaths, NULL },
	{ "shmring_subscriber_lag_messages", GAUGE, SUBSCRIBER, "Broadcast rings: messages published that the subscriber has not read yet (0 to slots).", NULL, vs_lag },
	{ "shmring_subscriber_position", GAUGE, SUBSCRIBER, "Broadcast rings: the next message the subscriber reads (a stream position).", NULL, vs_position },
	{ "shmring_subscriber_delivered_messages_total", COUNTER, SUBSCRIBER, "Broadcast rings: messages the subscriber received since it attached.", NULL, vs_delivered },
	{ "shmring_subscriber_overruns_total", COUNTER, SUBSCRIBER, "Broadcast rings with overwrite: messages the subscriber lost (overwritten before it read them).", NULL, vs_overruns },
	{ "shmring_subscriber_alive", GAUGE, SUBSCRIBER, "Broadcast rings: 1 while the subscriber's kernel lock is held (a running process).", NULL, vs_alive },
	{ "shmring_subscriber_stalling", GAUGE, SUBSCRIBER, "Broadcast rings: 1 when the producer waits for this subscriber (a whole ring behind).", NULL, vs_stalling },
};

static void sample(FILE *f, const struct family *fam, const struct cli_prom_ring *p)
{
	unsigned n = fam->side == SUBSCRIBER ? p->nsubs : 1;

	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "%s{ring=\"", fam->name);
		label_value(f, p->name);
		fprintf(f, "\",kind=\"%s\"", cli_kind_name(p->info.kind));
		if (fam->side == SUBSCRIBER) {
			fprintf(f, ",subscriber=\"%u\"} %.17g\n", p->subs[i].index,
			        fam->value_sub(&p->subs[i]));
			continue;
		}
		if (fam->side != NO_SIDE)
			fprintf(f, ",side=\"%s\"", fam->side == PRODUCER ? "producer" : "consumer");
		fprintf(f, "} %.17g\n", fam->value(p));
	}
}

void cli_prom_write(FILE *f, const struct cli_prom_ring *rings, size_t n)
{
	size_t nf = sizeof(families) / sizeof(families[0]);

	for (size_t i = 0; i < nf; i++) {
		const struct family *fam = &families[i];
		if (fam->help)   /* the first of a family's entries */
			fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
			        fam->type == COUNTER ? "counter" : "gauge");
		/* a family's entries are adjacent: ring by ring, side by side */
		if (i + 1 < nf && !families[i + 1].help)
			continue;   /* printed with the family's last entry */
		size_t first = i;
		while (first > 0 && !families[first].help)
			first--;
		for (size_t r = 0; r < n; r++)
			for (size_t k = first; k <= i; k++)
				sample(f, &families[k], &rings[r]);
	}
}
