/* dispatcher: what one prov-dispatchd process keeps across its events (the
 * database connection, the published snapshot, the delivery context and, for
 * many events, one spool journal file) and the run of one event: its
 * handlers, the journal around each delivery, the log transaction or the
 * spool (SPEC sections 5 and 7). Messages go to stderr as "prov-dispatch: ..."
 * (billing reads them); the exit codes are prov-dispatch's. */
#ifndef PROV_DISPATCHER_H
#define PROV_DISPATCHER_H

#include "cache.h"
#include "cli.h"
#include "dispatch.h"
#include "spool.h"

#include <jansson.h>

struct config;
struct db;
struct delivery;

enum dispatcher_exit {
	DISPATCHER_ALLOWED = 0,
	DISPATCHER_FORBIDDEN = 1,
	DISPATCHER_BAD_INPUT = CLI_EXIT_USAGE,         /* 64 */
	DISPATCHER_NO_SNAPSHOT = CLI_EXIT_UNAVAILABLE, /* 69 */
	DISPATCHER_INTERNAL = CLI_EXIT_SOFTWARE,       /* 70 */
	DISPATCHER_SPOOL = CLI_EXIT_CANTCREAT,         /* 73: the journal cannot be written; nothing sent */
	DISPATCHER_CONFIG = CLI_EXIT_CONFIG,           /* 78 */
};

/* What a process keeps across its events. */
struct dispatcher {
	const struct config *cfg;
	struct db *db; /* NULL: unreachable, db_err says why */
	char db_err[1024];
	struct cache_snapshot snap;
	long long checked_us; /* when the generation was last checked (monotonic) */
	struct delivery *delivery;
	int output_failed;          /* stdout refused a result: a batch stops there */
	int many;                   /* a batch or the service: events keep coming */
	struct spool_journal spare; /* with many: the journal file, emptied between events */
};

/* Connect, load the snapshot, make the delivery context. Returns 0 or an
 * exit code (the reason is on stderr); dispatcher_close() either way. */
int dispatcher_open(struct dispatcher *dp, const struct config *cfg);
void dispatcher_close(struct dispatcher *dp);

/* Whether the generation check is older than batch_generation_check_ms. */
int dispatcher_stale(const struct dispatcher *dp);

/* Reconnect if the database was away, and pick up a newly published
 * generation (one round trip). Returns 0 or an exit code. */
int dispatcher_refresh(struct dispatcher *dp);

/* Run one event's chain (data is taken over) and log it, or spool it.
 * Returns the result document for billing and sets *exit_code; NULL when out
 * of memory, or when the spool journal could not be written (exit code
 * DISPATCHER_SPOOL: no delivery is made that its journal does not show; the
 * handlers run before that point are logged). */
json_t *dispatcher_run(struct dispatcher *dp, const struct dispatch_event *event, json_t *data,
                       int *exit_code);

/* The two halves of dispatcher_run, for a batch that logs many events in one
 * transaction (batchrun.c). dispatcher_chain runs the event's handlers (data
 * is taken over), each delivery recorded in journal, per-object order
 * answered by book (NULL: by dp->db, see dispatch_order.h); fills outcome and
 * *queues (what the retry queue does with each step; the caller frees it;
 * NULL when out of memory). Returns 0, or -1 when out of memory.
 * dispatcher_result: the result document once the outcome is logged or
 * spooled (with queues as logged: behind whom a step waits); NULL with
 * DISPATCHER_SPOOL when the chain stopped for want of a journal (said on
 * stderr), or when out of memory (DISPATCHER_INTERNAL). */
struct journal;
struct logstore_queue;
struct order_book;
int dispatcher_chain(struct dispatcher *dp, struct journal *journal, const struct order_book *book,
                     const struct dispatch_event *event, json_t *data, struct dispatch_outcome *outcome,
                     struct logstore_queue **queues);
json_t *dispatcher_result(struct dispatcher *dp, const struct journal *journal,
                          const struct dispatch_event *event, struct dispatch_outcome *outcome,
                          const struct logstore_queue *queues, int logged, int spooled, int *exit_code);

/* "prov-dispatch: warning: ..." on stderr unless warning is empty. */
void dispatcher_warning(const char *warning);

#endif
