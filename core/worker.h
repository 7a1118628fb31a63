/* worker: the retry worker (SPEC section 7). It imports what dispatchers and
 * workers left in the spool while MariaDB was unreachable (or when they were
 * killed), then claims due retry_queue rows, delivers each again through
 * delivery_run with the same delivery id, logs the attempt and finishes the
 * row: done, rescheduled or exhausted. prov-worker is its command line. */
#ifndef PROV_WORKER_H
#define PROV_WORKER_H

#include "retryq.h"

#include <signal.h>
#include <stddef.h>

struct config;
struct db;

#define WORKER_BATCH_DEFAULT 10
#define WORKER_LEASE_GRACE_SECONDS 30

struct worker_stats {
	/* spool import */
	long files;          /* spool files read */
	long imported;       /* executions logged from them */
	long already_logged; /* executions found in the log already */
	long interrupted;    /* deliveries without an outcome (the process died) */
	long torn;           /* files that ended in a torn record */
	long corrupt;        /* files set aside as *.corrupt */
	long unreadable;     /* records that could not be used */
	long refused;        /* importable names that are links or not regular files */
	char spool_note[512];
	/* the queue */
	long claimed;
	long delivered; /* done */
	long rescheduled;
	long exhausted;
	long lost_claims; /* rows another worker had taken over */
	long redelivered; /* redeliveries of scripts queued by the panel or the API */
	long tests;       /* Send tests of scripts queued by the panel or the API */
	long unpublished; /* rows whose handler is no longer published */
};

/* Import every importable file of cfg->spool_dir. Returns 0, or -1 with a
 * reason when the database failed (the file stays for the next run). */
int worker_import(const struct config *cfg, struct db *db, struct worker_stats *st, char *err, size_t errlen);

struct worker;

/* id names this worker in claims (e.g. "host:pid"); batch: rows per claim. */
/* The id it claims rows under ("host:pid" or "name@host:pid"). */
const char *worker_id(const struct worker *w);
struct worker *worker_new(const struct config *cfg, const char *id, size_t batch, char *err, size_t errlen);
void worker_free(struct worker *w);

/* Deliver due rows until none is due or *stop becomes non-zero (checked
 * between attempts: the one in flight finishes). Returns 0, or -1 with a
 * reason when the database failed. */
int worker_drain(struct worker *w, struct db *db, volatile sig_atomic_t *stop, struct worker_stats *st,
                 char *err, size_t errlen);

/* One line for people: what this run did and what the queue holds. */
/* Per-object order: an operator gives up the blocked delivery whose last
 * execution is log_id; the next of its chain becomes due. 1 released, 0 no
 * blocked delivery has that log id, -1 the database failed (err says why). */
int worker_release(struct db *db, long long log_id, char *err, size_t errlen);

void worker_summary(const struct worker_stats *st, const struct retryq_counts *counts, char *out,
                    size_t outlen);

#endif
