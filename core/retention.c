/* retention: deleting finished retry_queue rows and old cache_generations in
 * short statements of a bounded number of rows, along an index, so no lock
 * is held for long. */
#include "retention.h"

#include "db.h"
#include "handler_test_queue.h"
#include "rollup.h"
#include "scheduler.h"

#include <stdio.h>
#include <string.h>

/* ix_retry_finished (state, updated_at): one short range per state. */
static const char SQL_QUEUE_BATCH[] =
    "DELETE FROM retry_queue WHERE state = ? AND updated_at < UTC_TIMESTAMP(6) - INTERVAL ? DAY LIMIT ?";
/* ix_redeliver_finished (state, updated_at): run script redeliveries (queued
 * and running ones stay). Their outcome is in the log (new_log_id). */
static const char SQL_REDELIVER_BATCH[] = "DELETE FROM redeliver_queue WHERE state = 'done' "
                                          "AND updated_at < UTC_TIMESTAMP(6) - INTERVAL ? DAY LIMIT ?";
/* Bulk redeliveries finished longer ago (core/bulk.c): their items first, a
 * batch per statement (a request may hold 100,000), then the requests. The
 * outcome of each item is in the log (new_log_id). */
static const char SQL_BULK_ITEMS_BATCH[] =
    "DELETE FROM bulk_redelivery_items WHERE bulk_id IN (SELECT id FROM bulk_redeliveries "
    "WHERE state = 'done' AND finished_at < UTC_TIMESTAMP(6) - INTERVAL ? DAY) LIMIT ?";
static const char SQL_BULK_BATCH[] = "DELETE FROM bulk_redeliveries WHERE state = 'done' "
                                     "AND finished_at < UTC_TIMESTAMP(6) - INTERVAL ? DAY LIMIT ?";
/* Script Send tests (core/handler_test_queue.c) a day old, whatever their
 * state: one still queued was expired long ago; the execution is in the log. */
static const char SQL_TESTS_BATCH[] =
    "DELETE FROM handler_test_queue WHERE created_at < UTC_TIMESTAMP(6) - INTERVAL ? HOUR LIMIT ?";
/* The oldest generation of the newest keep (OFFSET keep - 1). */
static const char SQL_OLDEST_KEPT[] =
    "SELECT generation FROM cache_generations ORDER BY generation DESC LIMIT 1 OFFSET ?";
/* The current one stays whatever its number: a rollback may point back. */
static const char SQL_GENERATIONS_BATCH[] =
    "DELETE FROM cache_generations WHERE generation < ? "
    "AND generation <> (SELECT IFNULL(generation, 0) FROM cache_state WHERE id = 1) "
    "ORDER BY generation LIMIT ?";

static int delete_batches(struct db *db, const char *sql, struct db_param *params, size_t nparams, long batch,
                          unsigned long long *removed)
{
	for (;;) {
		unsigned long long affected = 0;
		if (db_exec(db, sql, params, nparams, &affected, NULL) != 0)
			return -1;
		*removed += affected;
		if (affected < (unsigned long long)batch)
			return 0;
	}
}

static int prune_queue(struct db *db, long days, long batch, unsigned long long *removed)
{
	static const char *const finished[] = {"done", "exhausted"};
	for (size_t i = 0; i < sizeof finished / sizeof finished[0]; i++) {
		struct db_param params[] = {DB_STR(finished[i]), DB_INT(days), DB_INT(batch)};
		if (delete_batches(db, SQL_QUEUE_BATCH, params, 3, batch, removed) != 0)
			return -1;
	}
	return 0;
}

static int prune_generations(struct db *db, long keep, long batch, unsigned long long *removed)
{
	struct db_rows rows;
	struct db_param offset[] = {DB_INT(keep - 1)};
	if (db_query(db, SQL_OLDEST_KEPT, offset, 1, &rows) != 0)
		return -1;
	long long oldest_kept = rows.nrows == 1 ? db_cell_int(&rows, 0, 0, 0) : 0;
	db_rows_free(&rows);
	if (oldest_kept <= 1)
		return 0; /* no more than keep generations yet */
	struct db_param params[] = {DB_INT(oldest_kept), DB_INT(batch)};
	return delete_batches(db, SQL_GENERATIONS_BATCH, params, 2, batch, removed);
}

int retention_prune(struct db *db, long queue_days, long generations_keep, long rollup_days, long batch,
                    struct retention_result *result, char *err, size_t errlen)
{
	memset(result, 0, sizeof *result);
	if (queue_days < 1 || generations_keep < 2 || rollup_days < 1 || batch < 1) {
		snprintf(err, errlen, "retention needs at least 1 day, 2 generations and a batch of 1");
		return -1;
	}
	int rc = prune_queue(db, queue_days, batch, &result->queue_removed);
	if (rc == 0) {
		struct db_param params[] = {DB_INT(queue_days), DB_INT(batch)};
		rc = delete_batches(db, SQL_REDELIVER_BATCH, params, 2, batch, &result->redeliveries_removed);
		unsigned long long items = 0;
		if (rc == 0)
			rc = delete_batches(db, SQL_BULK_ITEMS_BATCH, params, 2, batch, &items);
		if (rc == 0)
			rc = delete_batches(db, SQL_BULK_BATCH, params, 2, batch, &result->bulk_removed);
	}
	if (rc == 0) {
		struct db_param params[] = {DB_INT(HANDLER_TEST_KEEP_HOURS), DB_INT(batch)};
		rc = delete_batches(db, SQL_TESTS_BATCH, params, 2, batch, &result->tests_removed);
	}
	if (rc == 0)
		rc = prune_generations(db, generations_keep, batch, &result->generations_removed);
	if (rc == 0)
		rc = rollup_prune(db, rollup_days, batch, &result->rollup_removed);
	char detail[512];
	int n = snprintf(detail, sizeof detail,
	                 "removed %llu finished retry queue rows, %llu run script redeliveries and %llu "
	                 "finished bulk redeliveries older than %ld days and %llu snapshot generations "
	                 "beyond the newest %ld; %llu metrics roll-up rows older than %ld days; %llu script "
	                 "tests older than %d h",
	                 result->queue_removed, result->redeliveries_removed, result->bulk_removed,
	                 queue_days, result->generations_removed, generations_keep, result->rollup_removed,
	                 rollup_days, result->tests_removed, HANDLER_TEST_KEEP_HOURS);
	if (rc != 0) {
		snprintf(err, errlen, "delete failed: %s", db_error(db));
		if (n > 0 && (size_t)n < sizeof detail)
			snprintf(detail + n, sizeof detail - (size_t)n, "; then failed: %.200s",
			         db_error(db));
	}
	if (scheduler_record(db, "retention", rc == 0 ? "ok" : "error", detail) != 0 && rc == 0) {
		snprintf(err, errlen, "pruned, but could not record the run: %s", db_error(db));
		return -1;
	}
	return rc;
}
