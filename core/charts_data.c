/* charts_data: the charts' series from the roll-ups, one statement each. */
#include "charts_data.h"

#include "db.h"

#include <stdio.h>
#include <string.h>

#define BUCKET_SUMS                                                                                          \
	"SUM(b0), SUM(b1), SUM(b2), SUM(b3), SUM(b4), SUM(b5), SUM(b6), SUM(b7), SUM(b8), SUM(b9), "         \
	"SUM(b10), SUM(b11), SUM(b12), SUM(b13), SUM(b14), SUM(b15)"

/* Along the primary key (handler_id, hour, ...). */
static const char SQL_PERIODS[] = "SELECT TIMESTAMPDIFF(HOUR, ?, hour) DIV ?, status, SUM(executions), "
                                  "SUM(duration_us_sum), " BUCKET_SUMS
                                  " FROM exec_rollup_hour WHERE handler_id = ? AND hour >= ? AND hour < ? "
                                  "GROUP BY 1, 2";
enum { P_SLOT, P_STATUS, P_COUNT, P_SUM, P_B0 };

/* One index probe (ix_logs_dt): where the histogram starts by default. */
static const char SQL_OLDEST[] = "SELECT DATE_FORMAT(MIN(dt), '%Y-%m-%d %H:%i:%s') FROM exec_logs";

/* The histogram: a table, its time column; with a handler along the primary
 * key, without along ix_rollup_*_time (covering); the minute roll-up's key
 * starts with the minute. Parameters: start, width, from, to, event twice,
 * status twice[, handler twice]. */
#define HISTOGRAM(table, column, handler_where)                                                              \
	"SELECT TIMESTAMPDIFF(SECOND, ?, " column ") DIV ?, status, SUM(executions) FROM " table             \
	" WHERE " handler_where column " >= ? AND " column " < ? AND (? = '' OR events_id = ?) "             \
	"AND (? = '' OR status = ?) GROUP BY 1, 2"
static const char SQL_MINUTES[] = HISTOGRAM("exec_rollup", "minute", "(? = 0 OR handler_id = ?) AND ");
static const char SQL_HOURS_ALL[] = HISTOGRAM("exec_rollup_hour", "hour", "");
static const char SQL_HOURS_ONE[] = HISTOGRAM("exec_rollup_hour", "hour", "handler_id = ? AND ");
static const char SQL_DAYS_ALL[] = HISTOGRAM("exec_rollup_day", "day", "");
static const char SQL_DAYS_ONE[] = HISTOGRAM("exec_rollup_day", "day", "handler_id = ? AND ");

void charts_time_text(time_t t, char out[20])
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, 20, "1970-01-01 00:00:00");
}

/* "YYYY-MM-DD HH:MM:SS..." (UTC) to a time; -1 when it is not one. */
static time_t parse_time(const char *text)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (text == NULL || sscanf(text, "%4d-%2d-%2d %2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                           &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static int is_success(const struct db_rows *rows, size_t r, size_t col)
{
	const char *status = db_cell(rows, r, col);
	return status != NULL && strcmp(status, "success") == 0;
}

int charts_handler_periods(struct db *db, long long handler_id, time_t now, int step_hours,
                           struct charts_period *periods, size_t n)
{
	memset(periods, 0, n * sizeof *periods);
	long long step = (long long)step_hours * 3600;
	time_t end = (time_t)((now / step + 1) * step);
	time_t start = end - (time_t)(step * (long long)n);
	char from[20], to[20];
	charts_time_text(start, from);
	charts_time_text(end, to);
	struct db_param p[] = {DB_STR(from), DB_INT(step_hours), DB_INT(handler_id), DB_STR(from),
	                       DB_STR(to)};
	struct db_rows rows;
	if (db_query(db, SQL_PERIODS, p, 5, &rows) != 0)
		return -1;
	for (size_t r = 0; r < rows.nrows; r++) {
		long long slot = db_cell_int(&rows, r, P_SLOT, -1);
		if (slot < 0 || (size_t)slot >= n)
			continue;
		struct charts_period *period = &periods[slot];
		long long count = db_cell_int(&rows, r, P_COUNT, 0);
		if (is_success(&rows, r, P_STATUS))
			period->ok += count;
		else
			period->fail += count;
		period->sum_us += db_cell_int(&rows, r, P_SUM, 0);
		for (int b = 0; b < METRICS_BUCKETS; b++)
			period->buckets[b] += db_cell_int(&rows, r, (size_t)(P_B0 + b), 0);
	}
	db_rows_free(&rows);
	return 0;
}

#define SPARK_HEAD                                                                                           \
	"SELECT handler_id, TIMESTAMPDIFF(HOUR, ?, hour), status, SUM(executions) FROM exec_rollup_hour "    \
	"WHERE handler_id IN ("
#define SPARK_TAIL ") AND hour >= ? GROUP BY 1, 2, 3"

int charts_sparklines(struct db *db, const long long *ids, size_t nids, time_t now,
                      long long (*ok)[CHARTS_SPARK_HOURS], long long (*fail)[CHARTS_SPARK_HOURS])
{
	memset(ok, 0, nids * sizeof *ok);
	memset(fail, 0, nids * sizeof *fail);
	if (nids == 0)
		return 0;
	if (nids > CHARTS_SPARK_IDS_MAX)
		return -1;
	/* One statement text for every page: db.c caches statements by the
	 * text's address, so the list always passes CHARTS_SPARK_IDS_MAX ids,
	 * 0 (no handler's) for the unused ones. */
	static char sql[sizeof SPARK_HEAD + 3 * CHARTS_SPARK_IDS_MAX + sizeof SPARK_TAIL];
	if (sql[0] == '\0') {
		size_t len = sizeof SPARK_HEAD - 1;
		memcpy(sql, SPARK_HEAD, len);
		for (size_t i = 0; i < CHARTS_SPARK_IDS_MAX; i++) {
			memcpy(sql + len, i == 0 ? "?" : ", ?", i == 0 ? 1 : 3);
			len += i == 0 ? 1 : 3;
		}
		memcpy(sql + len, SPARK_TAIL, sizeof SPARK_TAIL);
	}
	time_t start = (now / 3600 + 1) * 3600 - CHARTS_SPARK_HOURS * 3600;
	char from[20];
	charts_time_text(start, from);
	struct db_param p[CHARTS_SPARK_IDS_MAX + 2];
	p[0] = DB_STR(from);
	for (size_t i = 0; i < CHARTS_SPARK_IDS_MAX; i++)
		p[1 + i] = DB_INT(i < nids ? ids[i] : 0);
	p[1 + CHARTS_SPARK_IDS_MAX] = DB_STR(from);
	struct db_rows rows;
	if (db_query(db, sql, p, CHARTS_SPARK_IDS_MAX + 2, &rows) != 0)
		return -1;
	for (size_t r = 0; r < rows.nrows; r++) {
		long long id = db_cell_int(&rows, r, 0, 0), hour = db_cell_int(&rows, r, 1, -1);
		if (hour < 0 || hour >= CHARTS_SPARK_HOURS)
			continue;
		for (size_t i = 0; i < nids; i++)
			if (ids[i] == id) {
				long long *to = is_success(&rows, r, 2) ? ok[i] : fail[i];
				to[hour] += db_cell_int(&rows, r, 3, 0);
			}
	}
	db_rows_free(&rows);
	return 0;
}

void charts_histogram_grain(long long span, enum charts_grain *grain, long *width)
{
	if (span <= 2 * 3600) {
		*grain = CHARTS_MINUTE;
		*width = 60;
	} else if (span <= 4 * 86400) {
		*grain = CHARTS_HOUR;
		*width = 3600;
	} else {
		long long days = (span + 86399) / 86400;
		*grain = CHARTS_DAY;
		*width = 86400 * (long)((days + CHARTS_BARS_MAX - 1) / CHARTS_BARS_MAX);
	}
}

/* The range [from, to) the bars cover, or 0 when there is nothing to show. */
static int histogram_range(struct db *db, const struct charts_histogram_query *q, time_t now, time_t *from,
                           time_t *to)
{
	struct db_rows rows;
	if (db_query(db, SQL_OLDEST, NULL, 0, &rows) != 0)
		return -1;
	time_t oldest = rows.nrows == 1 ? parse_time(db_cell(&rows, 0, 0)) : -1;
	db_rows_free(&rows);
	if (oldest < 0)
		return 0; /* an empty log */
	/* The day roll-up outlives the log: no bar before the day of its oldest row. */
	time_t oldest_day = oldest / 86400 * 86400;
	*from = q->from_sql[0] ? parse_time(q->from_sql) : oldest;
	if (*from < oldest_day)
		*from = oldest_day;
	*to = q->to_sql[0] ? parse_time(q->to_sql) : (now / 60 + 1) * 60;
	return *from >= 0 && *to > *from;
}

int charts_histogram_read(struct db *db, const struct charts_histogram_query *q, time_t now,
                          struct charts_histogram *h)
{
	memset(h, 0, sizeof *h);
	time_t from, to;
	int have = histogram_range(db, q, now, &from, &to);
	if (have <= 0)
		return have;
	charts_histogram_grain((long long)(to - from), &h->grain, &h->width);
	long align = h->grain == CHARTS_MINUTE ? 60 : h->grain == CHARTS_HOUR ? 3600 : 86400;
	h->start = from / align * align;
	long long n = ((long long)(to - h->start) + h->width - 1) / h->width;
	h->n = n > CHARTS_BARS_MAX ? CHARTS_BARS_MAX : (size_t)n;
	/* The roll-ups count whole periods: a range starting inside one counts
	 * it from its start, as its bar shows it. */
	char start[20], upper[20];
	charts_time_text(h->start, start);
	charts_time_text(to, upper);
	const char *sql = h->grain == CHARTS_MINUTE ? SQL_MINUTES
	                  : h->grain == CHARTS_HOUR ? (q->handler_id > 0 ? SQL_HOURS_ONE : SQL_HOURS_ALL)
	                                            : (q->handler_id > 0 ? SQL_DAYS_ONE : SQL_DAYS_ALL);
	struct db_param p[12];
	size_t k = 0;
	p[k++] = DB_STR(start);
	p[k++] = DB_INT(h->width);
	if (h->grain == CHARTS_MINUTE) {
		p[k++] = DB_INT(q->handler_id);
		p[k++] = DB_INT(q->handler_id);
	} else if (q->handler_id > 0) {
		p[k++] = DB_INT(q->handler_id);
	}
	p[k++] = DB_STR(start);
	p[k++] = DB_STR(upper);
	p[k++] = DB_STR(q->events_id);
	p[k++] = DB_STR(q->events_id);
	p[k++] = DB_STR(q->status);
	p[k++] = DB_STR(q->status);
	struct db_rows rows;
	if (db_query(db, sql, p, k, &rows) != 0)
		return -1;
	for (size_t r = 0; r < rows.nrows; r++) {
		long long slot = db_cell_int(&rows, r, 0, -1), count = db_cell_int(&rows, r, 2, 0);
		if (slot < 0 || (size_t)slot >= h->n)
			continue;
		if (is_success(&rows, r, 1)) {
			h->ok[slot] += count;
			h->total_ok += count;
		} else {
			h->fail[slot] += count;
			h->total_fail += count;
		}
	}
	db_rows_free(&rows);
	return 0;
}
