/* rollup: the execution counters behind /metrics and the panel's charts,
 * written by logstore in the same transaction as the exec_logs rows they
 * count. exec_rollup holds one row per (minute, handler, event, status,
 * verdict, trigger) with the count, the duration sum and the per-bucket
 * counts (metrics_text.h); exec_totals the same without the minute, never
 * pruned, so a scrape reads as many rows as there are keys, whatever the
 * size of the log. */
#ifndef PROV_ROLLUP_H
#define PROV_ROLLUP_H

#include "delivery.h"
#include "metrics_text.h"

#include <stddef.h>

struct db;

/* One execution as the roll-up counts it (borrowed strings). */
struct rollup_exec {
	long long started_us; /* its minute (UTC) */
	long long duration_us;
	long long handler_id; /* 0: none */
	const char *events_id;
	int success;
	enum delivery_verdict verdict; /* when success */
	enum delivery_trigger trigger;
};

/* One counter row: a key and what it adds. */
struct rollup_row {
	char minute[20]; /* "YYYY-MM-DD HH:MM:00" */
	long long handler_id;
	const char *events_id;
	const char *status;  /* success, fail */
	const char *verdict; /* unchanged, modified, forbidden, failed */
	const char *trigger; /* dispatch, retry, manual, test */
	long long executions;
	long long duration_us_sum;
	long long buckets[METRICS_BUCKETS]; /* not cumulative; past the last: executions - their sum */
};

/* "unchanged", "modified", "forbidden" or "failed". */
const char *rollup_verdict_name(int success, enum delivery_verdict verdict);

/* Fold n executions into rows (*rows, *nrows; free() it), one per key, in
 * key order: (minute, handler, event, status, verdict, trigger). Every writer
 * locks the roll-up rows in this order, so parallel dispatchers wait for each
 * other instead of deadlocking. Returns 0 or -1 (out of memory). */
int rollup_build(const struct rollup_exec *execs, size_t n, struct rollup_row **rows, size_t *nrows);

/* Add rows to exec_rollup, then to exec_rollup_hour and exec_rollup_day
 * (their minute cut to the hour / day, the verdict left out, in those tables'
 * key order), then to exec_totals (in key order, the minute left out), inside
 * the caller's transaction. 0, or -1 (db_error). */
int rollup_write(struct db *db, const struct rollup_row *rows, size_t nrows);

/* Delete exec_rollup and exec_rollup_hour rows older than days, batch rows
 * per statement; adds to *removed. 0 or -1 (db_error). exec_rollup_day is
 * never pruned (a row per day and key; the histogram starts at the log's
 * oldest row). */
int rollup_prune(struct db *db, long days, long batch, unsigned long long *removed);

#endif
