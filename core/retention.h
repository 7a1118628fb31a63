/* retention: pruning the tables that would otherwise only grow, besides the
 * Execution Log (logs_purge): finished retry_queue rows (each holds its
 * envelope), old cache_generations (each holds a whole snapshot, secrets
 * included) and the metrics' per-minute roll-up (exec_rollup). Run with the log purge (`prov-admin logs
 * purge`, daily); recorded in the services row 'retention'. */
#ifndef PROV_RETENTION_H
#define PROV_RETENTION_H

#include <stddef.h>

struct db;

struct retention_result {
	unsigned long long queue_removed;        /* done and exhausted rows */
	unsigned long long redeliveries_removed; /* redeliver_queue rows run (done) */
	unsigned long long bulk_removed;         /* finished bulk redeliveries (their items too) */
	unsigned long long tests_removed;        /* script Send tests a day old (handler_test_queue) */
	unsigned long long generations_removed;  /* snapshots past the newest kept */
	unsigned long long rollup_removed;       /* exec_rollup rows of old minutes */
};

/* Delete done and exhausted retry_queue rows last changed more than
 * queue_days ago (scheduled rows, claimed or not, stay), run (done)
 * redeliver_queue rows as old, bulk redeliveries finished as long ago (their
 * items first, in batches), script Send tests older than
 * HANDLER_TEST_KEEP_HOURS whatever their state, and every
 * generation but the newest generations_keep and the current one, and
 * exec_rollup minutes older than rollup_days; batch rows per statement.
 * Records the run. Returns 0, or -1 with a reason in err (what was removed
 * stays removed). */
int retention_prune(struct db *db, long queue_days, long generations_keep, long rollup_days, long batch,
                    struct retention_result *result, char *err, size_t errlen);

#endif
