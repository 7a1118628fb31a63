/* health: the Task Scheduler's health summary, a handful of bounded reads. */
#include "health.h"

#include "spool.h"

#include <stdio.h>
#include <string.h>

#define SPOOL_SCAN_MAX 100000

static const char SQL_FAILING[] =
    "SELECT id, name, consecutive_failures, DATE_FORMAT(IFNULL(failing_since, last_run_at), '%Y-%m-%d "
    "%H:%i'), "
    "TIMESTAMPDIFF(SECOND, IFNULL(failing_since, last_run_at), UTC_TIMESTAMP(6)), LEFT(IFNULL(last_error, "
    "''), "
    "200), status FROM handlers WHERE last_status = 'fail' AND status <> 'archived' "
    "ORDER BY IFNULL(failing_since, last_run_at), id LIMIT ?";
/* Both along ix_handlers_failing: the failing handlers only. */
static const char SQL_FAILING_COUNT[] =
    "SELECT COUNT(*) FROM handlers WHERE last_status = 'fail' AND status <> 'archived'";
/* The trend over the last hour: rows added (ix_retry_created) and finished
 * (ix_retry_finished), each count stopping at HEALTH_TREND_CAP + 1 index
 * entries; the oldest due row (ix_retry_due's first entry). The backlog's
 * own counts are the page's (retryq_count). */
static const char SQL_RETRY[] =
    "SELECT (SELECT COUNT(*) FROM (SELECT id FROM retry_queue WHERE created_at >= UTC_TIMESTAMP(6) - "
    "INTERVAL 1 "
    "HOUR LIMIT ?) a), "
    "(SELECT COUNT(*) FROM (SELECT id FROM retry_queue WHERE state = 'done' "
    "AND updated_at >= UTC_TIMESTAMP(6) - INTERVAL 1 HOUR LIMIT ?) d) + "
    "(SELECT COUNT(*) FROM (SELECT id FROM retry_queue WHERE state = 'exhausted' "
    "AND updated_at >= UTC_TIMESTAMP(6) - INTERVAL 1 HOUR LIMIT ?) e), "
    "(SELECT TIMESTAMPDIFF(SECOND, MIN(next_attempt_at), UTC_TIMESTAMP(6)) FROM retry_queue "
    "WHERE state = 'scheduled' AND next_attempt_at <= UTC_TIMESTAMP(6))";
static const char SQL_SERVICES[] =
    "SELECT name, title, IFNULL(DATE_FORMAT(last_run_at, '%Y-%m-%d %H:%i'), ''), "
    "IFNULL(TIMESTAMPDIFF(SECOND, last_run_at, UTC_TIMESTAMP(6)), -1) FROM services ORDER BY title LIMIT ?";
/* Edits not yet published, and how long the oldest has waited: the first
 * entry of ix_handlers_updated past the published generation's time. */
static const char SQL_PUBLISH_WAIT[] =
    "SELECT IFNULL(TIMESTAMPDIFF(SECOND, (SELECT MIN(h.updated_at) FROM handlers h WHERE h.updated_at > "
    "IFNULL((SELECT g.published_at FROM cache_generations g WHERE g.generation = s.generation), "
    "'1000-01-01')), UTC_TIMESTAMP()), -1) FROM cache_state s "
    "WHERE s.id = 1 AND s.handlers_version > IFNULL((SELECT g.handlers_version FROM cache_generations g "
    "WHERE g.generation = s.generation), 0)";
/* The log holds rows old enough for the daily purge to matter. */
static const char SQL_LOG_AGE[] =
    "SELECT IFNULL(TIMESTAMPDIFF(SECOND, MIN(dt), UTC_TIMESTAMP(6)), -1) FROM exec_logs";

void health_age_text(long long seconds, char *out, size_t outlen)
{
	if (seconds < 60)
		snprintf(out, outlen, "%lld s", seconds < 0 ? 0 : seconds);
	else if (seconds < 3600)
		snprintf(out, outlen, "%lld min", seconds / 60);
	else if (seconds < 2 * 86400)
		snprintf(out, outlen, "%lld h", seconds / 3600);
	else
		snprintf(out, outlen, "%lld days", seconds / 86400);
}

static int single(struct db *db, const char *sql, long long *value)
{
	struct db_rows rows;
	if (db_query(db, sql, NULL, 0, &rows) != 0)
		return -1;
	*value = rows.nrows == 1 ? db_cell_int(&rows, 0, 0, -1) : -1;
	db_rows_free(&rows);
	return 0;
}

static int read_retry(struct db *db, struct health_summary *h)
{
	struct db_param cap = DB_INT(HEALTH_TREND_CAP + 1);
	struct db_param p[] = {cap, cap, cap};
	struct db_rows rows;
	if (db_query(db, SQL_RETRY, p, 3, &rows) != 0)
		return -1;
	if (rows.nrows == 1) {
		h->retry_added_hour = db_cell_int(&rows, 0, 0, 0);
		h->retry_finished_hour = db_cell_int(&rows, 0, 1, 0);
		h->oldest_due_seconds = db_cell_int(&rows, 0, 2, -1);
	}
	db_rows_free(&rows);
	return 0;
}

/* Whether service s is late, and why, by its own schedule. */
static void judge(struct health_service *s, long long publish_wait, long long log_age)
{
	char age[32];
	health_age_text(s->age_seconds, age, sizeof age);
	if (strcmp(s->name, "retry_worker") == 0) {
		s->late = s->age_seconds < 0 || s->age_seconds > HEALTH_WORKER_LATE_SECONDS;
		if (s->late)
			snprintf(s->why, sizeof s->why,
			         "%s%s%s: retries and the spool wait until prov-worker runs",
			         s->age_seconds < 0 ? "never run" : "last ran ",
			         s->age_seconds < 0 ? "" : age, s->age_seconds < 0 ? "" : " ago");
	} else if (strcmp(s->name, "log_purge") == 0 || strcmp(s->name, "retention") == 0) {
		s->late = log_age > HEALTH_PURGE_LATE_SECONDS &&
		          (s->age_seconds < 0 || s->age_seconds > HEALTH_PURGE_LATE_SECONDS);
		if (s->late)
			snprintf(s->why, sizeof s->why, "%s%s%s: the daily prov-admin logs purge has not run",
			         s->age_seconds < 0 ? "never run" : "last ran ",
			         s->age_seconds < 0 ? "" : age, s->age_seconds < 0 ? "" : " ago");
	} else if (strcmp(s->name, "cache_manager") == 0) {
		s->late = publish_wait > HEALTH_PUBLISH_LATE_SECONDS;
		if (s->late) {
			health_age_text(publish_wait, age, sizeof age);
			snprintf(s->why, sizeof s->why,
			         "handler edits made %s ago are not published: restart it, or run prov-cache "
			         "watch",
			         age);
		}
	}
}

static int read_services(struct db *db, struct health_summary *h)
{
	long long publish_wait, log_age;
	if (single(db, SQL_PUBLISH_WAIT, &publish_wait) != 0 || single(db, SQL_LOG_AGE, &log_age) != 0)
		return -1;
	struct db_param p[] = {DB_INT(HEALTH_SERVICES_MAX)};
	struct db_rows rows;
	if (db_query(db, SQL_SERVICES, p, 1, &rows) != 0)
		return -1;
	for (size_t r = 0; r < rows.nrows && h->nservices < HEALTH_SERVICES_MAX; r++) {
		struct health_service *s = &h->services[h->nservices++];
		snprintf(s->name, sizeof s->name, "%s", db_cell(&rows, r, 0) ? db_cell(&rows, r, 0) : "");
		snprintf(s->title, sizeof s->title, "%s", db_cell(&rows, r, 1) ? db_cell(&rows, r, 1) : "");
		snprintf(s->last_run, sizeof s->last_run, "%s",
		         db_cell(&rows, r, 2) ? db_cell(&rows, r, 2) : "");
		s->age_seconds = db_cell_int(&rows, r, 3, -1);
		judge(s, publish_wait, log_age);
		h->nlate += s->late != 0;
	}
	db_rows_free(&rows);
	return 0;
}

int health_read(struct db *db, const char *spool_dir, struct health_summary *h)
{
	memset(h, 0, sizeof *h);
	h->oldest_due_seconds = -1;
	struct db_param p[] = {DB_INT(HEALTH_FAILING_SHOWN)};
	if (db_query(db, SQL_FAILING, p, 1, &h->failing) != 0)
		return -1;
	if (single(db, SQL_FAILING_COUNT, &h->failing_count) != 0 || read_retry(db, h) != 0 ||
	    read_services(db, h) != 0) {
		health_free(h);
		return -1;
	}
	h->spool_readable = spool_count(spool_dir, SPOOL_SCAN_MAX, &h->spool_waiting, &h->spool_corrupt) == 0;
	return 0;
}

void health_free(struct health_summary *h)
{
	db_rows_free(&h->failing);
	memset(&h->failing, 0, sizeof h->failing);
}
