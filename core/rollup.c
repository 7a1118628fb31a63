/* rollup: per-minute and total execution counters (exec_rollup, exec_totals),
 * upserted in key order inside the log's transaction; pruning by minute. */
#include "rollup.h"

#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKET_COLUMNS "b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15"
#define BUCKET_PARAMS "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
#define BUCKET_ADD                                                                                           \
	"b0 = b0 + VALUES(b0), b1 = b1 + VALUES(b1), b2 = b2 + VALUES(b2), b3 = b3 + VALUES(b3), "           \
	"b4 = b4 + VALUES(b4), b5 = b5 + VALUES(b5), b6 = b6 + VALUES(b6), b7 = b7 + VALUES(b7), "           \
	"b8 = b8 + VALUES(b8), b9 = b9 + VALUES(b9), b10 = b10 + VALUES(b10), b11 = b11 + VALUES(b11), "     \
	"b12 = b12 + VALUES(b12), b13 = b13 + VALUES(b13), b14 = b14 + VALUES(b14), b15 = b15 + VALUES(b15)"
#define COUNTS_ADD                                                                                           \
	"executions = executions + VALUES(executions), "                                                     \
	"duration_us_sum = duration_us_sum + VALUES(duration_us_sum), " BUCKET_ADD

static const char SQL_ROLLUP[] =
    "INSERT INTO exec_rollup (minute, handler_id, events_id, status, verdict, trigger_kind, executions, "
    "duration_us_sum, " BUCKET_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, " BUCKET_PARAMS
    ") ON DUPLICATE KEY UPDATE " COUNTS_ADD;
static const char SQL_TOTALS[] =
    "INSERT INTO exec_totals (handler_id, events_id, status, verdict, trigger_kind, executions, "
    "duration_us_sum, " BUCKET_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, " BUCKET_PARAMS
    ") ON DUPLICATE KEY UPDATE " COUNTS_ADD;
/* The hour and day rows (no verdict), for the panel's charts. */
#define PERIOD_UPSERT(table, column)                                                                         \
	"INSERT INTO " table " (" column ", handler_id, events_id, status, trigger_kind, executions, "       \
	"duration_us_sum, " BUCKET_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, " BUCKET_PARAMS                   \
	") ON DUPLICATE KEY UPDATE " COUNTS_ADD
static const char SQL_HOUR[] = PERIOD_UPSERT("exec_rollup_hour", "hour");
static const char SQL_DAY[] = PERIOD_UPSERT("exec_rollup_day", "day");
/* The primary key starts with the minute: one short range per batch. */
static const char SQL_PRUNE[] =
    "DELETE FROM exec_rollup WHERE minute < UTC_TIMESTAMP() - INTERVAL ? DAY ORDER BY minute LIMIT ?";
/* Along ix_rollup_*_time: one short range per batch. */
static const char SQL_PRUNE_HOUR[] =
    "DELETE FROM exec_rollup_hour WHERE hour < UTC_TIMESTAMP() - INTERVAL ? DAY ORDER BY hour LIMIT ?";

const char *rollup_verdict_name(int success, enum delivery_verdict verdict)
{
	if (!success)
		return "failed";
	return verdict == DELIVERY_REPLACE  ? "modified"
	       : verdict == DELIVERY_FORBID ? "forbidden"
	                                    : "unchanged";
}

static int compare_totals_key(const struct rollup_row *x, const struct rollup_row *y)
{
	if (x->handler_id != y->handler_id)
		return (x->handler_id > y->handler_id) - (x->handler_id < y->handler_id);
	int c = strcmp(x->events_id, y->events_id);
	if (c == 0)
		c = strcmp(x->status, y->status);
	if (c == 0)
		c = strcmp(x->verdict, y->verdict);
	if (c == 0)
		c = strcmp(x->trigger, y->trigger);
	return c;
}

static int compare_rollup_key(const void *a, const void *b)
{
	const struct rollup_row *x = a, *y = b;
	int c = strcmp(x->minute, y->minute);
	return c != 0 ? c : compare_totals_key(x, y);
}

/* The hour and day tables' primary key order: (handler, period, event,
 * status, trigger); the verdict is not part of it. */
static int compare_period_key(const void *a, const void *b)
{
	const struct rollup_row *x = a, *y = b;
	if (x->handler_id != y->handler_id)
		return (x->handler_id > y->handler_id) - (x->handler_id < y->handler_id);
	int c = strcmp(x->minute, y->minute);
	if (c == 0)
		c = strcmp(x->events_id, y->events_id);
	if (c == 0)
		c = strcmp(x->status, y->status);
	if (c == 0)
		c = strcmp(x->trigger, y->trigger);
	return c;
}

static int compare_totals_ptr(const void *a, const void *b)
{
	return compare_totals_key(*(const struct rollup_row *const *)a, *(const struct rollup_row *const *)b);
}

static void add_counts(struct rollup_row *to, const struct rollup_row *from)
{
	to->executions += from->executions;
	to->duration_us_sum += from->duration_us_sum;
	for (int b = 0; b < METRICS_BUCKETS; b++)
		to->buckets[b] += from->buckets[b];
}

static void minute_text(long long started_us, char out[20])
{
	time_t t = (time_t)(started_us / 1000000);
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, 20, "%Y-%m-%d %H:%M:00", &tm) == 0)
		snprintf(out, 20, "1970-01-01 00:00:00");
}

int rollup_build(const struct rollup_exec *execs, size_t n, struct rollup_row **rows, size_t *nrows)
{
	*rows = NULL;
	*nrows = 0;
	if (n == 0)
		return 0;
	struct rollup_row *all = calloc(n, sizeof *all);
	if (all == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct rollup_exec *e = &execs[i];
		struct rollup_row *r = &all[i];
		minute_text(e->started_us, r->minute);
		r->handler_id = e->handler_id > 0 ? e->handler_id : 0;
		r->events_id = e->events_id;
		r->status = e->success ? "success" : "fail";
		r->verdict = rollup_verdict_name(e->success, e->verdict);
		r->trigger = delivery_trigger_name(e->trigger);
		long long us = e->duration_us > 0 ? e->duration_us : 0;
		r->executions = 1;
		r->duration_us_sum = us;
		int b = metrics_bucket_index(us);
		if (b < METRICS_BUCKETS)
			r->buckets[b] = 1;
	}
	qsort(all, n, sizeof *all, compare_rollup_key);
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (out > 0 && compare_rollup_key(&all[out - 1], &all[i]) == 0)
			add_counts(&all[out - 1], &all[i]);
		else
			all[out++] = all[i];
	}
	*rows = all;
	*nrows = out;
	return 0;
}

/* The parameters after the minute: key (the verdict only where the table
 * has one: not the hour and day roll-ups), count, sum, buckets. */
static size_t counter_params(const struct rollup_row *r, int with_verdict, struct db_param *p)
{
	size_t k = 0;
	p[k++] = DB_INT(r->handler_id);
	p[k++] = DB_STR(r->events_id);
	p[k++] = DB_STR(r->status);
	if (with_verdict)
		p[k++] = DB_STR(r->verdict);
	p[k++] = DB_STR(r->trigger);
	p[k++] = DB_INT(r->executions);
	p[k++] = DB_INT(r->duration_us_sum);
	for (int b = 0; b < METRICS_BUCKETS; b++)
		p[k++] = DB_INT(r->buckets[b]);
	return k;
}

#define ROLLUP_PARAMS (8 + METRICS_BUCKETS)

/* The rows' hour (keep 13: "YYYY-MM-DD HH") or day (keep 10), merged per
 * period key and written in that key's order. */
static int write_periods(struct db *db, const char *sql, const struct rollup_row *rows, size_t nrows,
                         size_t keep)
{
	struct rollup_row *period = calloc(nrows, sizeof *period);
	if (period == NULL)
		return -1;
	for (size_t i = 0; i < nrows; i++) {
		period[i] = rows[i];
		memcpy(period[i].minute + keep, &"0000-00-00 00:00:00"[keep], sizeof period[i].minute - keep);
	}
	qsort(period, nrows, sizeof *period, compare_period_key);
	struct db_param p[ROLLUP_PARAMS];
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < nrows; i++) {
		struct rollup_row sum = period[i];
		while (i + 1 < nrows && compare_period_key(&period[i + 1], &sum) == 0)
			add_counts(&sum, &period[++i]);
		p[0] = DB_STR(sum.minute);
		size_t k = 1 + counter_params(&sum, 0, p + 1);
		rc = db_exec(db, sql, p, k, NULL, NULL);
	}
	free(period);
	return rc;
}

int rollup_write(struct db *db, const struct rollup_row *rows, size_t nrows)
{
	if (nrows == 0)
		return 0;
	struct db_param p[ROLLUP_PARAMS];
	for (size_t i = 0; i < nrows; i++) {
		p[0] = DB_STR(rows[i].minute);
		size_t k = 1 + counter_params(&rows[i], 1, p + 1);
		if (db_exec(db, SQL_ROLLUP, p, k, NULL, NULL) != 0)
			return -1;
	}
	if (write_periods(db, SQL_HOUR, rows, nrows, 13) != 0 ||
	    write_periods(db, SQL_DAY, rows, nrows, 10) != 0)
		return -1;
	/* The totals in their own key order (the rows may span minutes). */
	const struct rollup_row **order = calloc(nrows, sizeof *order);
	struct rollup_row sum;
	if (order == NULL)
		return -1;
	for (size_t i = 0; i < nrows; i++)
		order[i] = &rows[i];
	qsort(order, nrows, sizeof *order, compare_totals_ptr);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < nrows; i++) {
		sum = *order[i];
		while (i + 1 < nrows && compare_totals_key(order[i + 1], &sum) == 0)
			add_counts(&sum, order[++i]);
		size_t k = counter_params(&sum, 1, p);
		rc = db_exec(db, SQL_TOTALS, p, k, NULL, NULL);
	}
	free(order);
	return rc;
}

static int prune(struct db *db, const char *sql, long days, long batch, unsigned long long *removed)
{
	for (;;) {
		unsigned long long affected = 0;
		struct db_param p[] = {DB_INT(days), DB_INT(batch)};
		if (db_exec(db, sql, p, 2, &affected, NULL) != 0)
			return -1;
		*removed += affected;
		if (affected < (unsigned long long)batch)
			return 0;
	}
}

int rollup_prune(struct db *db, long days, long batch, unsigned long long *removed)
{
	if (prune(db, SQL_PRUNE, days, batch, removed) != 0)
		return -1;
	return prune(db, SQL_PRUNE_HOUR, days, batch, removed);
}
