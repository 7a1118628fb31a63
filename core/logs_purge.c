/* logs_purge: Execution Log retention (SPEC 7). Drops the day partitions past
 * the cutoff (logs_partitions.c), then deletes the rest in short statements
 * of a bounded number of rows, oldest first along the dt index, so no lock is
 * held for long and dispatchers writing new rows never wait on it. */
#include "logs.h"

#include "db.h"
#include "monotonic.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char SQL_PURGE_CUTOFF[] =
    "SELECT DATE_FORMAT(UTC_TIMESTAMP(6) - INTERVAL ? DAY, '%Y-%m-%d %H:%i:%s.%f')";
static const char SQL_PURGE_BATCH[] = "DELETE FROM exec_logs WHERE dt < ? ORDER BY dt LIMIT ?";
static const char SQL_PURGE_RECORD[] =
    "INSERT INTO services (name, title, last_run_at, last_result, last_detail, last_count) "
    "VALUES ('log_purge', 'Execution Log Purge', UTC_TIMESTAMP(6), ?, ?, ?) "
    "ON DUPLICATE KEY UPDATE last_run_at = VALUES(last_run_at), "
    "last_result = VALUES(last_result), last_detail = VALUES(last_detail), last_count = VALUES(last_count)";
static const char SQL_PURGE_LAST[] =
    "SELECT DATE_FORMAT(last_run_at, '%Y-%m-%d %H:%i:%s'), last_result, last_detail "
    "FROM services WHERE name = 'log_purge'";

/* removed: the rows this run deleted (for /metrics). */
static int record(struct db *db, const char *result, const char *detail, unsigned long long removed)
{
	struct db_param params[] = {DB_STR(result), DB_STR(detail), DB_INT(removed)};
	return db_exec(db, SQL_PURGE_RECORD, params, 3, NULL, NULL);
}

static int find_cutoff(struct db *db, long days, char *cutoff, size_t len)
{
	struct db_rows rows;
	struct db_param params[] = {DB_INT(days)};
	if (db_query(db, SQL_PURGE_CUTOFF, params, 1, &rows) != 0)
		return -1;
	int ok = rows.nrows == 1 && db_cell(&rows, 0, 0) != NULL;
	if (ok)
		snprintf(cutoff, len, "%s", db_cell(&rows, 0, 0));
	db_rows_free(&rows);
	return ok ? 0 : -1;
}

int logs_purge(struct db *db, long days, long batch, double max_seconds, struct logs_purge_result *result,
               char *err, size_t errlen)
{
	memset(result, 0, sizeof *result);
	if (days < 1 || batch < 1) {
		snprintf(err, errlen, "retention days and batch size must be at least 1");
		return -1;
	}
	char detail[512];
	if (find_cutoff(db, days, result->cutoff, sizeof result->cutoff) != 0) {
		snprintf(err, errlen, "cannot read the clock of the database: %s", db_error(db));
		return -1;
	}
	long long started_us = monotonic_us();
	/* Whole days first: the coming days' partitions, then the expired ones
	 * dropped. When either fails (a transaction held exec_logs too long), the
	 * rows go by DELETE below and the next run tries again. */
	char partitions_error[160] = "";
	unsigned long long dropped_rows = 0;
	if (logs_partitions_ahead(db) != 0 ||
	    logs_partitions_drop(db, result->cutoff, &result->partitions_dropped, &dropped_rows) != 0)
		snprintf(partitions_error, sizeof partitions_error, "; partitions not maintained: %.100s",
		         db_error(db));
	result->removed = dropped_rows;
	for (;;) {
		unsigned long long affected = 0;
		struct db_param params[] = {DB_STR(result->cutoff), DB_INT(batch)};
		if (db_exec(db, SQL_PURGE_BATCH, params, 2, &affected, NULL) != 0) {
			snprintf(err, errlen, "delete failed after removing %llu rows: %s", result->removed,
			         db_error(db));
			snprintf(detail, sizeof detail, "failed after removing %llu rows older than %ld days",
			         result->removed, days);
			record(db, "error", detail, result->removed);
			return -1;
		}
		result->removed += affected;
		result->batches++;
		if (affected < (unsigned long long)batch)
			break;
		if (max_seconds > 0 && (double)(monotonic_us() - started_us) / 1e6 >= max_seconds) {
			result->more_left = 1;
			break;
		}
	}
	char dropped[64] = "";
	if (result->partitions_dropped > 0)
		snprintf(dropped, sizeof dropped, " (%lu days dropped whole)", result->partitions_dropped);
	snprintf(detail, sizeof detail, "removed %llu rows older than %ld days%s%s%s", result->removed, days,
	         dropped, result->more_left ? "; more remain" : "", partitions_error);
	if (record(db, "ok", detail, result->removed) != 0) {
		snprintf(err, errlen, "removed %llu rows but could not record the run: %s", result->removed,
		         db_error(db));
		return -1;
	}
	return 0;
}

int logs_purge_last(struct db *db, struct db_rows *row)
{
	return db_query(db, SQL_PURGE_LAST, NULL, 0, row);
}
