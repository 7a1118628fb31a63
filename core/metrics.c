/* metrics: the families GET /metrics shows, each read with one bounded query
 * (exec_totals by key, handlers, the retry queue's state index, cache_state,
 * services) or one bounded look at spool_dir. */
#include "metrics.h"

#include "config.h"
#include "db.h"
#include "dispatch_stats.h"
#include "spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKET_COLUMNS "b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15"

/* One row per key: as many as (handler, event, status, verdict, trigger)
 * combinations ever counted, whatever the size of the log. */
static const char SQL_TOTALS[] =
    "SELECT handler_id, events_id, status, verdict, trigger_kind, executions, "
    "duration_us_sum, " BUCKET_COLUMNS
    " FROM exec_totals ORDER BY handler_id, events_id, status, verdict, trigger_kind";
enum { TOT_HANDLER, TOT_EVENT, TOT_STATUS, TOT_VERDICT, TOT_TRIGGER, TOT_COUNT, TOT_SUM, TOT_B0 };
/* Names only (never the task: a URL may carry credentials), no secret. */
static const char SQL_HANDLERS[] = "SELECT id, name, events_id, task_type, status FROM handlers ORDER BY id";
/* Ranges of ix_retry_due (state, next_attempt_at); MIN is its first entry. */
static const char SQL_RETRY[] =
    "SELECT (SELECT COUNT(*) FROM retry_queue WHERE state = 'scheduled'), "
    "(SELECT COUNT(*) FROM retry_queue WHERE state = 'exhausted'), "
    "(SELECT COUNT(*) FROM retry_queue WHERE state = 'scheduled' AND next_attempt_at <= UTC_TIMESTAMP(6)), "
    "(SELECT TIMESTAMPDIFF(MICROSECOND, MIN(next_attempt_at), UTC_TIMESTAMP(6)) FROM retry_queue "
    "WHERE state = 'scheduled' AND next_attempt_at <= UTC_TIMESTAMP(6))";
static const char SQL_CACHE[] =
    "SELECT IFNULL(s.generation, 0), GREATEST(0, CAST(s.handlers_version AS SIGNED) - "
    "CAST(IFNULL(g.handlers_version, 0) AS SIGNED)), UNIX_TIMESTAMP(g.published_at), "
    "IFNULL(g.handler_count, 0) FROM cache_state s LEFT JOIN cache_generations g "
    "ON g.generation = s.generation WHERE s.id = 1";
static const char SQL_SERVICES[] =
    "SELECT name, UNIX_TIMESTAMP(last_run_at), last_result, last_count FROM services ORDER BY name";

/* One row per billing host's service (dispatch_stats.c) and per (program, status). */
static const char SQL_DISPATCH[] =
    "SELECT host, workers, busy, events_served, exec_fallbacks, "
    "IFNULL(TIMESTAMPDIFF(SECOND, updated_at, UTC_TIMESTAMP()), -1) FROM dispatch_service_stats "
    "ORDER BY host LIMIT 10000";
static const char SQL_REQUESTS[] =
    "SELECT program, status, requests FROM request_stats ORDER BY program, status";
#define DISPATCH_FRESH_SECONDS (3 * DISPATCH_STATS_INTERVAL_S) /* a report missed twice: not up */

struct collect {
	struct db *db;
	struct metrics_out *out;
	char *err;
	size_t errlen;
};

static int query(struct collect *c, const char *sql, struct db_rows *rows)
{
	if (db_query(c->db, sql, NULL, 0, rows) == 0)
		return 0;
	snprintf(c->err, c->errlen, "metrics: a query failed: %s", db_error(c->db));
	return -1;
}

static const char *cell(const struct db_rows *rows, size_t r, size_t col)
{
	const char *v = db_cell(rows, r, col);
	return v != NULL ? v : "";
}

static int executions(struct collect *c, const struct db_rows *rows)
{
	if (metrics_family(c->out, "prov_executions_total", "counter",
	                   "Handler executions logged, by handler id, event, status, verdict and trigger.") !=
	    0)
		return -1;
	for (size_t r = 0; r < rows->nrows; r++) {
		struct metrics_label l[] = {{"handler", cell(rows, r, TOT_HANDLER)},
		                            {"event", cell(rows, r, TOT_EVENT)},
		                            {"status", cell(rows, r, TOT_STATUS)},
		                            {"verdict", cell(rows, r, TOT_VERDICT)},
		                            {"trigger", cell(rows, r, TOT_TRIGGER)}};
		if (metrics_sample_int(c->out, "prov_executions_total", l, 5,
		                       db_cell_int(rows, r, TOT_COUNT, 0)) != 0)
			return -1;
	}
	return 0;
}

/* One histogram per handler: its keys' buckets added up (rows come by handler). */
static int durations(struct collect *c, const struct db_rows *rows)
{
	if (metrics_family(c->out, "prov_execution_duration_seconds", "histogram",
	                   "How long handler executions took (HTTP request or script run), by handler id.") !=
	    0)
		return -1;
	for (size_t r = 0; r < rows->nrows;) {
		const char *handler = cell(rows, r, TOT_HANDLER);
		long long counts[METRICS_BUCKETS] = {0}, total = 0, sum_us = 0;
		for (; r < rows->nrows && strcmp(cell(rows, r, TOT_HANDLER), handler) == 0; r++) {
			total += db_cell_int(rows, r, TOT_COUNT, 0);
			sum_us += db_cell_int(rows, r, TOT_SUM, 0);
			for (int b = 0; b < METRICS_BUCKETS; b++)
				counts[b] += db_cell_int(rows, r, (size_t)(TOT_B0 + b), 0);
		}
		struct metrics_label l[] = {{"handler", handler}};
		if (metrics_histogram(c->out, "prov_execution_duration_seconds", l, 1, counts, total,
		                      sum_us) != 0)
			return -1;
	}
	return 0;
}

static int handlers(struct collect *c)
{
	struct db_rows rows;
	if (query(c, SQL_HANDLERS, &rows) != 0)
		return -1;
	int rc =
	    metrics_family(c->out, "prov_handler_info", "gauge",
	                   "1 for each handler: its id, name, event, type and status (no task, no secret).");
	for (size_t r = 0; rc == 0 && r < rows.nrows; r++) {
		struct metrics_label l[] = {{"handler", cell(&rows, r, 0)},
		                            {"name", cell(&rows, r, 1)},
		                            {"event", cell(&rows, r, 2)},
		                            {"type", cell(&rows, r, 3)},
		                            {"status", cell(&rows, r, 4)}};
		rc = metrics_sample_int(c->out, "prov_handler_info", l, 5, 1);
	}
	db_rows_free(&rows);
	return rc;
}

static int gauge(struct collect *c, const char *name, const char *help, double value)
{
	if (metrics_family(c->out, name, "gauge", help) != 0)
		return -1;
	return metrics_sample_double(c->out, name, NULL, 0, value);
}

static double cell_double(const struct db_rows *rows, size_t r, size_t col, double fallback)
{
	const char *v = db_cell(rows, r, col);
	if (v == NULL || v[0] == '\0')
		return fallback;
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	return *end == '\0' && errno == 0 ? d : fallback;
}

static int retry_queue(struct collect *c)
{
	struct db_rows rows;
	if (query(c, SQL_RETRY, &rows) != 0)
		return -1;
	int rc = -1;
	if (rows.nrows == 1 &&
	    metrics_family(c->out, "prov_retry_queue_rows", "gauge",
	                   "Retry queue rows by state: scheduled (waiting or due) and exhausted.") == 0) {
		struct metrics_label scheduled[] = {{"state", "scheduled"}},
		                     exhausted[] = {{"state", "exhausted"}};
		if (metrics_sample_int(c->out, "prov_retry_queue_rows", scheduled, 1,
		                       db_cell_int(&rows, 0, 0, 0)) == 0 &&
		    metrics_sample_int(c->out, "prov_retry_queue_rows", exhausted, 1,
		                       db_cell_int(&rows, 0, 1, 0)) == 0 &&
		    gauge(c, "prov_retry_queue_due_rows", "Scheduled retries whose time has come.",
		          (double)db_cell_int(&rows, 0, 2, 0)) == 0 &&
		    gauge(c, "prov_retry_queue_oldest_due_age_seconds",
		          "How long the oldest due retry has waited past its time (0: none due).",
		          cell_double(&rows, 0, 3, 0) / 1e6) == 0)
			rc = 0;
	}
	if (rows.nrows != 1)
		snprintf(c->err, c->errlen, "metrics: the retry queue counts are missing");
	db_rows_free(&rows);
	return rc;
}

static int cache(struct collect *c)
{
	struct db_rows rows;
	if (query(c, SQL_CACHE, &rows) != 0)
		return -1;
	int rc = 0;
	if (rows.nrows == 1) {
		double published = cell_double(&rows, 0, 2, 0);
		rc = gauge(c, "prov_cache_generation",
		           "The Cache Manager's published generation (0: none yet).",
		           (double)db_cell_int(&rows, 0, 0, 0));
		if (rc == 0)
			rc = gauge(c, "prov_cache_pending_edits",
			           "Handler edits since the published generation (0: nothing to publish).",
			           (double)db_cell_int(&rows, 0, 1, 0));
		if (rc == 0)
			rc = gauge(c, "prov_cache_last_publish_timestamp_seconds",
			           "When the published generation was published (Unix time; 0: never).",
			           published);
		if (rc == 0)
			rc = gauge(c, "prov_cache_published_handlers",
			           "Enabled handlers in the published generation.",
			           (double)db_cell_int(&rows, 0, 3, 0));
	}
	db_rows_free(&rows);
	return rc;
}

static int services(struct collect *c)
{
	struct db_rows rows;
	if (query(c, SQL_SERVICES, &rows) != 0)
		return -1;
	int rc = metrics_family(c->out, "prov_service_last_run_timestamp_seconds", "gauge",
	                        "When each Task Scheduler service last ran (Unix time; 0: never).");
	for (size_t r = 0; rc == 0 && r < rows.nrows; r++) {
		struct metrics_label l[] = {{"service", cell(&rows, r, 0)}};
		rc = metrics_sample_double(c->out, "prov_service_last_run_timestamp_seconds", l, 1,
		                           cell_double(&rows, r, 1, 0));
	}
	if (rc == 0)
		rc = metrics_family(
		    c->out, "prov_service_last_run_ok", "gauge",
		    "1 when a service's last run succeeded, 0 when it failed (absent: never ran).");
	for (size_t r = 0; rc == 0 && r < rows.nrows; r++) {
		const char *result = db_cell(&rows, r, 2);
		struct metrics_label l[] = {{"service", cell(&rows, r, 0)}};
		if (result != NULL)
			rc = metrics_sample_int(c->out, "prov_service_last_run_ok", l, 1,
			                        strcmp(result, "ok") == 0);
	}
	for (size_t r = 0; rc == 0 && r < rows.nrows; r++)
		if (strcmp(cell(&rows, r, 0), "log_purge") == 0)
			rc = gauge(c, "prov_log_purge_last_removed_rows",
			           "Execution Log rows the last log purge removed.",
			           (double)db_cell_int(&rows, r, 3, 0));
	db_rows_free(&rows);
	return rc;
}

/* A family whose samples are one labelled integer column of rows. */
static int labelled(struct collect *c, const struct db_rows *rows, const char *name, const char *type,
                    const char *help, const char *label, size_t label_col, size_t value_col)
{
	int rc = metrics_family(c->out, name, type, help);
	for (size_t r = 0; rc == 0 && r < rows->nrows; r++) {
		struct metrics_label l[] = {{label, cell(rows, r, label_col)}};
		rc = metrics_sample_int(c->out, name, l, 1, db_cell_int(rows, r, value_col, 0));
	}
	return rc;
}

/* The dispatcher services of every billing host (their reporters' rows). */
static int dispatch_services(struct collect *c)
{
	struct db_rows rows;
	if (query(c, SQL_DISPATCH, &rows) != 0)
		return -1;
	int rc =
	    metrics_family(c->out, "prov_dispatch_service_up", "gauge",
	                   "1 when a host's prov-dispatchd --serve reported in the last 15 s with workers.");
	for (size_t r = 0; rc == 0 && r < rows.nrows; r++) {
		long long age = db_cell_int(&rows, r, 5, -1);
		struct metrics_label l[] = {{"host", cell(&rows, r, 0)}};
		rc = metrics_sample_int(c->out, "prov_dispatch_service_up", l, 1,
		                        age >= 0 && age <= DISPATCH_FRESH_SECONDS &&
		                            db_cell_int(&rows, r, 1, 0) > 0);
	}
	if (rc == 0)
		rc = metrics_family(
		    c->out, "prov_dispatch_service_workers", "gauge",
		    "A host's dispatcher service workers by state (busy: running an event), as last "
		    "reported.");
	for (size_t r = 0; rc == 0 && r < rows.nrows; r++) {
		long long workers = db_cell_int(&rows, r, 1, 0), busy = db_cell_int(&rows, r, 2, 0);
		struct metrics_label b[] = {{"host", cell(&rows, r, 0)}, {"state", "busy"}},
		                     i[] = {{"host", cell(&rows, r, 0)}, {"state", "idle"}};
		rc = metrics_sample_int(c->out, "prov_dispatch_service_workers", b, 2, busy);
		if (rc == 0)
			rc = metrics_sample_int(c->out, "prov_dispatch_service_workers", i, 2,
			                        workers > busy ? workers - busy : 0);
	}
	if (rc == 0)
		rc = labelled(c, &rows, "prov_dispatch_events_served_total", "counter",
		              "Events a host's dispatcher service ran since it started.", "host", 0, 3);
	if (rc == 0)
		rc = labelled(c, &rows, "prov_dispatch_exec_fallbacks_total", "counter",
		              "Events prov-dispatch ran itself although a service was configured (none free, "
		              "or not running).",
		              "host", 0, 4);
	db_rows_free(&rows);
	return rc;
}

/* Panel and API answers by status, flushed by each process (request_stats.c). */
static int requests(struct collect *c)
{
	struct db_rows rows;
	if (query(c, SQL_REQUESTS, &rows) != 0)
		return -1;
	int rc = metrics_family(c->out, "prov_http_requests_total", "counter",
	                        "Panel and API answers by program and HTTP status (each process adds its "
	                        "counts at most every 5 s).");
	for (size_t r = 0; rc == 0 && r < rows.nrows; r++) {
		struct metrics_label l[] = {{"program", cell(&rows, r, 0)}, {"status", cell(&rows, r, 1)}};
		rc =
		    metrics_sample_int(c->out, "prov_http_requests_total", l, 2, db_cell_int(&rows, r, 2, 0));
	}
	db_rows_free(&rows);
	return rc;
}

/* This host's spool_dir (where prov-dispatch and prov-worker run). */
static int spool(struct collect *c, const struct config *cfg)
{
	long waiting = 0, corrupt = 0;
	int readable = spool_count(cfg->spool_dir, METRICS_SPOOL_SCAN_MAX, &waiting, &corrupt) == 0;
	if (gauge(c, "prov_spool_readable", "1 when this host's spool_dir could be listed for the two below.",
	          readable) != 0)
		return -1;
	if (!readable)
		return 0;
	if (gauge(c, "prov_spool_files_waiting",
	          "Spool journals and files holding records not yet imported into the database.",
	          (double)waiting) != 0)
		return -1;
	return gauge(c, "prov_spool_files_corrupt", "Damaged spool files kept as *.corrupt for a person.",
	             (double)corrupt);
}

int metrics_collect(struct db *db, const struct config *cfg, struct metrics_out *out, char *err,
                    size_t errlen)
{
	struct collect c = {.db = db, .out = out, .err = err, .errlen = errlen};
	err[0] = '\0';
	struct db_rows totals;
	if (query(&c, SQL_TOTALS, &totals) != 0)
		return -1;
	int rc = executions(&c, &totals);
	if (rc == 0)
		rc = durations(&c, &totals);
	db_rows_free(&totals);
	if (rc == 0)
		rc = handlers(&c);
	if (rc == 0)
		rc = retry_queue(&c);
	if (rc == 0)
		rc = cache(&c);
	if (rc == 0)
		rc = services(&c);
	if (rc == 0)
		rc = dispatch_services(&c);
	if (rc == 0)
		rc = requests(&c);
	if (rc == 0)
		rc = spool(&c, cfg);
	if (out->overflow)
		snprintf(err, errlen, "metrics: the page would be larger than %u bytes", METRICS_MAX_BYTES);
	else if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "metrics: out of memory");
	return out->overflow ? -1 : rc;
}
