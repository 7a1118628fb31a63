/* charts_data: what the panel's charts show, read from the hour and day
 * roll-ups (exec_rollup_hour, exec_rollup_day) and, for an hour or less of
 * the Execution Logs' histogram, the minute roll-up (exec_rollup); never from
 * exec_logs but for one index probe (its oldest row). Each read is one
 * statement over at most a few thousand rows whatever the size of the log. */
#ifndef PROV_CHARTS_DATA_H
#define PROV_CHARTS_DATA_H

#include "metrics_text.h"

#include <stddef.h>
#include <time.h>

struct db;

/* Executions of one period: successes, failures, duration buckets of both. */
struct charts_period {
	long long ok, fail, sum_us;
	long long buckets[METRICS_BUCKETS];
};

/* n periods of step_hours each for handler_id, the last one holding the
 * current hour of now (UTC), aligned to step_hours since the epoch.
 * 0, or -1 (db_error). */
int charts_handler_periods(struct db *db, long long handler_id, time_t now, int step_hours,
                           struct charts_period *periods, size_t n);

#define CHARTS_SPARK_HOURS 24
#define CHARTS_SPARK_IDS_MAX 100 /* handlers per statement: the largest list page */

/* Successes and failures per hour of the last CHARTS_SPARK_HOURS (the last
 * holds now) of each of ids (at most CHARTS_SPARK_IDS_MAX), in one
 * statement. 0, or -1 (db_error; too many ids: -1 without a query). */
int charts_sparklines(struct db *db, const long long *ids, size_t nids, time_t now,
                      long long (*ok)[CHARTS_SPARK_HOURS], long long (*fail)[CHARTS_SPARK_HOURS]);

#define CHARTS_BARS_MAX 120

/* The histogram's filters (those the roll-ups have) and its time range. */
struct charts_histogram_query {
	long long handler_id;  /* 0: any */
	const char *events_id; /* "": any */
	const char *status;    /* "": any, "success", "fail" */
	const char
	    *from_sql; /* "": the log's oldest row; else "YYYY-MM-DD HH:MM:SS[.ffffff]", not before its day */
	const char *to_sql; /* "": now; else exclusive, same form */
};

enum charts_grain { CHARTS_MINUTE, CHARTS_HOUR, CHARTS_DAY };

struct charts_histogram {
	size_t n;                /* bars; 0: the log is empty or the range is */
	enum charts_grain grain; /* the roll-up read */
	long width;              /* seconds per bar: 60, 3600, or whole days */
	time_t start;            /* the first bar's start (UTC) */
	long long ok[CHARTS_BARS_MAX], fail[CHARTS_BARS_MAX];
	long long total_ok, total_fail;
};

/* The bar width for a range of span seconds: a minute up to 2 h, an hour up
 * to 4 days, a day up to 120 days, then as many whole days as keep the bars
 * at CHARTS_BARS_MAX or fewer. */
void charts_histogram_grain(long long span, enum charts_grain *grain, long *width);

/* Read the bars for q at now (UTC). 0, or -1 (db_error). */
int charts_histogram_read(struct db *db, const struct charts_histogram_query *q, time_t now,
                          struct charts_histogram *h);

/* "YYYY-MM-DD HH:MM:SS" of t (UTC) into out[20]. */
void charts_time_text(time_t t, char out[20]);

#endif
