/* logstore: exec_logs rows, the handlers' last-run columns and auto-disable,
 * and the retry queue rows of the same executions. */
#include "logstore.h"

#include "config.h"
#include "db.h"
#include "history.h"
#include "dispatch.h"
#include "retryq.h"
#include "rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGSTORE_ERROR_MAX 1024 /* exec_logs.error, handlers.last_error */
#define LOGSTORE_TEXT_MAX 60000 /* TEXT columns hold 65535 bytes */

#define INSERT_LOG                                                                                           \
	"INSERT INTO exec_logs (dt, status, verdict, forbid_reason, skipped_handlers, events_id, "           \
	"handler_id, handler_name, object_id, event_uid, delivery_id, attempt, trigger_kind, "               \
	"redelivery_of, http_status, exit_code, duration_us, request_body, request_headers, "                \
	"response_body, response_headers, response_truncated, script_stderr, error, behind_log_id) VALUES "  \
	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define LOG_PARAMS 25
/* An execution imported from a spool may be older than the last one logged:
 * it must not overwrite a newer state. */
#define UPDATE_HANDLER_WHERE "WHERE id = ? AND (last_run_at IS NULL OR last_run_at <= ?)"
static const char SQL_INSERT_LOG[] = INSERT_LOG;
static const char SQL_UPDATE_HANDLER[] =
    "UPDATE handlers SET last_status = ?, last_run_at = ?, last_error = ?, "
    "consecutive_failures = IF(? = 'success', 0, consecutive_failures + 1), "
    "failing_since = IF(? = 'success', NULL, IFNULL(failing_since, ?)) " UPDATE_HANDLER_WHERE;
static const char SQL_AUTO_DISABLE[] = "UPDATE handlers SET status = 'disabled', auto_disabled_at = "
                                       "UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP() "
                                       "WHERE id = ? AND status = 'enabled' AND consecutive_failures >= ?";
static const char SQL_BUMP_VERSION[] =
    "UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1";
/* The start time to the microsecond tells two executions of one attempt apart. */
static const char SQL_ALREADY_LOGGED[] =
    "SELECT id FROM exec_logs WHERE delivery_id = ? AND attempt = ? AND trigger_kind = ? AND dt = ? LIMIT 1";

#define LOGSTORE_DEADLOCK_TRIES 5

/* The cleaned texts of one row; each owned here. */
struct row_texts {
	char *request;
	char *request_headers;
	char *response;
	char *response_headers;
	char *stderr_text;
	char *error;
	char *reason; /* a forbid's reason */
	int response_cut;
};

static void texts_free(struct row_texts *t)
{
	free(t->request);
	free(t->request_headers);
	free(t->response);
	free(t->response_headers);
	free(t->stderr_text);
	free(t->error);
	free(t->reason);
}

static char *clean_or_null(const char *text, size_t max, int *cut)
{
	if (text == NULL || text[0] == '\0')
		return NULL;
	return delivery_utf8_clean(text, strlen(text), max, cut);
}

/* Handler replies are arbitrary bytes; the columns are utf8mb4 and strict. */
static int texts_build(const struct logstore_entry *e, size_t response_max, struct row_texts *t)
{
	const struct delivery_result *r = e->result;
	memset(t, 0, sizeof *t);
	int cut = 0;
	t->request = delivery_utf8_clean(e->request_body, e->request_len, e->request_len, NULL);
	t->request_headers = clean_or_null(r->request_headers, LOGSTORE_TEXT_MAX, NULL);
	if (r->response_body != NULL && r->response_len > 0)
		t->response =
		    delivery_utf8_clean(r->response_body, r->response_len, response_max, &t->response_cut);
	t->response_cut |= r->response_overflow;
	t->response_headers = clean_or_null(r->response_headers, LOGSTORE_TEXT_MAX, NULL);
	t->stderr_text = clean_or_null(r->script_stderr, LOGSTORE_TEXT_MAX, &cut);
	t->error = clean_or_null(r->success ? NULL : r->error, LOGSTORE_ERROR_MAX, NULL);
	t->reason = clean_or_null(r->success && r->verdict == DELIVERY_FORBID ? r->reason : NULL,
	                          DELIVERY_REASON_MAX, NULL);
	return t->request == NULL ? -1 : 0;
}

void logstore_options_from_config(const struct config *cfg, struct logstore_options *opt)
{
	opt->response_max = (size_t)cfg->response_max_bytes;
	opt->auto_disable_failures = cfg->auto_disable_failures;
}

static int already_logged(struct db *db, const struct logstore_entry *e, const char *dt, int *found)
{
	struct db_rows rows;
	struct db_param p[] = {DB_STR(e->delivery_id), DB_INT(e->attempt ? e->attempt : 1),
	                       DB_STR(delivery_trigger_name(e->trigger)), DB_STR(dt)};
	if (db_query(db, SQL_ALREADY_LOGGED, p, 4, &rows) != 0)
		return -1;
	*found = rows.nrows > 0;
	db_rows_free(&rows);
	return 0;
}

/* A waiting entry was not delivered: it is no execution for the handler's
 * state or the metrics' counters. */
static int is_waiting(const struct logstore_entry *e)
{
	return e->queue.action == LOGSTORE_QUEUE_WAIT;
}

/* Per-object order: lock the entry's chain before its rows are written and
 * note whether rows are ahead (*ahead) and behind whom a waiting entry is. */
static int chain_lock(struct db *db, struct logstore_entry *e, int *ahead)
{
	struct logstore_queue *q = &e->queue;
	*ahead = 0;
	if (!e->has_object_id || e->handler_id <= 0 ||
	    !(q->action == LOGSTORE_QUEUE_WAIT || (q->action == LOGSTORE_QUEUE_ENQUEUE && q->ordered)))
		return 0;
	long long tail = 0;
	int found = retryq_chain_tail(db, e->handler_id, e->object_id, &tail);
	if (found < 0)
		return -1;
	*ahead = found;
	if (found && tail > 0 && q->action == LOGSTORE_QUEUE_WAIT)
		q->behind = tail;
	return 0;
}

static int queue_write(struct db *db, struct logstore_entry *e, const struct row_texts *t, int ahead)
{
	const struct logstore_queue *q = &e->queue;
	int attempt = (int)(e->attempt ? e->attempt : 1);
	if (q->action == LOGSTORE_QUEUE_WAIT || q->action == LOGSTORE_QUEUE_ENQUEUE) {
		/* A waiting entry was never attempted: the worker's first attempt is
		 * attempt 1, due as soon as nothing is ahead of it. */
		int wait = q->action == LOGSTORE_QUEUE_WAIT;
		struct retryq_entry r = {.delivery_id = e->delivery_id,
		                         .handler_id = e->handler_id,
		                         .handler_name = e->handler_name ? e->handler_name : "",
		                         .log_id = e->log_id,
		                         .events_id = e->events_id,
		                         .object_id = e->object_id,
		                         .has_object_id = e->has_object_id,
		                         .event_uid = e->event_uid,
		                         .envelope = t->request,
		                         .attempts_made = wait ? 0 : attempt,
		                         .delay_seconds = wait ? 0 : q->delay_seconds,
		                         .last_error = wait ? NULL : t->error,
		                         .waiting = ahead};
		return retryq_enqueue(db, &r);
	}
	if (q->action != LOGSTORE_QUEUE_FINISH)
		return 0;
	/* A given-up row of an ordered handler holds its chain (blocked) when
	 * rows wait behind it; alone, it is simply exhausted (the object free). */
	enum retryq_outcome outcome = q->outcome;
	if (outcome == RETRYQ_EXHAUSTED && q->ordered && e->has_object_id) {
		int behind = retryq_has_waiting(db, e->handler_id, e->object_id);
		if (behind < 0)
			return -1;
		if (behind)
			outcome = RETRYQ_BLOCKED;
	}
	e->blocked = outcome == RETRYQ_BLOCKED;
	int rc = q->claimed_by != NULL ? retryq_finish(db, q->queue_id, q->claimed_by, outcome, attempt,
	                                               q->delay_seconds, e->log_id, t->error)
	                               : retryq_finish_spooled(db, e->delivery_id, outcome, attempt,
	                                                       q->delay_seconds, e->log_id, t->error);
	if (rc < 0)
		return -1;
	/* The attempt happened and stays logged even when the row moved on. */
	e->claim_lost = q->claimed_by != NULL && rc == 0;
	/* A finished head lets the next of its chain go at once; a blocked one
	 * holds it (and a rescheduled one is still the head). */
	if (rc > 0 && e->has_object_id && (outcome == RETRYQ_DONE || outcome == RETRYQ_EXHAUSTED))
		return retryq_promote(db, e->handler_id, e->object_id);
	return 0;
}

/* The INSERT_LOG parameters of e (p has room for LOG_PARAMS). */
static void log_params(const struct logstore_entry *e, const char *dt, const struct row_texts *t,
                       struct db_param *p)
{
	const struct delivery_result *r = e->result;
	struct db_param all[LOG_PARAMS] = {
	    DB_STR(dt),
	    DB_STR(is_waiting(e) ? "waiting"
	           : r->success  ? "success"
	                         : "fail"),
	    /* a waiting delivery has not run: no verdict yet */
	    DB_STR_OR_NULL(is_waiting(e) ? NULL : rollup_verdict_name(r->success, r->verdict)),
	    DB_STR_OR_NULL(t->reason),
	    DB_STR_OR_NULL(e->skipped_handlers),
	    DB_STR(e->events_id),
	    e->handler_id > 0 ? DB_INT(e->handler_id) : DB_NULL(),
	    DB_STR(e->handler_name ? e->handler_name : ""),
	    e->has_object_id ? DB_INT(e->object_id) : DB_NULL(),
	    DB_STR(e->event_uid),
	    DB_STR(e->delivery_id),
	    DB_INT(e->attempt ? e->attempt : 1),
	    DB_STR(delivery_trigger_name(e->trigger)),
	    e->redelivery_of > 0 ? DB_INT(e->redelivery_of) : DB_NULL(),
	    r->http_status > 0 ? DB_INT(r->http_status) : DB_NULL(),
	    r->has_exit_code ? DB_INT(r->exit_code) : DB_NULL(),
	    DB_INT(r->duration_us > 0 ? r->duration_us : 0),
	    DB_STR(t->request),
	    DB_STR_OR_NULL(t->request_headers),
	    t->response ? DB_STR(t->response) : DB_NULL(),
	    DB_STR_OR_NULL(t->response_headers),
	    DB_INT(t->response_cut),
	    DB_STR_OR_NULL(t->stderr_text),
	    DB_STR_OR_NULL(t->error),
	    is_waiting(e) && e->queue.behind > 0 ? DB_INT(e->queue.behind) : DB_NULL(),
	};
	memcpy(p, all, sizeof all);
}

static int write_one(struct db *db, struct logstore_entry *e, size_t response_max)
{
	const struct delivery_result *r = e->result;
	char dt[32];
	delivery_time_text(r->started_us, 0, dt, sizeof dt);
	if (e->from_spool) {
		int found = 0;
		if (already_logged(db, e, dt, &found) != 0)
			return -1;
		if (found) {
			e->skipped = 1;
			return 0;
		}
	}
	int ahead = 0;
	if (chain_lock(db, e, &ahead) != 0)
		return -1;
	struct row_texts t;
	if (texts_build(e, response_max, &t) != 0) {
		texts_free(&t);
		return -1;
	}
	struct db_param p[LOG_PARAMS];
	log_params(e, dt, &t, p);
	unsigned long long id = 0;
	int rc = db_exec(db, SQL_INSERT_LOG, p, LOG_PARAMS, NULL, &id);
	e->log_id = (long long)id;
	if (rc == 0)
		rc = queue_write(db, e, &t, ahead);
	texts_free(&t);
	return rc;
}

static int update_handler(struct db *db, const struct logstore_entry *e)
{
	const struct delivery_result *r = e->result;
	char dt[32];
	delivery_time_text(r->started_us, 0, dt, sizeof dt);
	char *error = clean_or_null(r->success ? NULL : r->error, LOGSTORE_ERROR_MAX, NULL);
	const char *status = r->success ? "success" : "fail";
	struct db_param p[] = {DB_STR(status), DB_STR(dt), DB_STR_OR_NULL(error), DB_STR(status),
	                       DB_STR(status), DB_STR(dt), DB_INT(e->handler_id), DB_STR(dt)};
	int rc = db_exec(db, SQL_UPDATE_HANDLER, p, 8, NULL, NULL);
	free(error);
	return rc;
}

/* After a failure: disable the handler when it has failed often enough in a
 * row; the edit shows as pending until the Cache Manager publishes it. */
static int auto_disable(struct db *db, struct logstore_entry *e, long threshold)
{
	if (threshold <= 0 || e->result->success)
		return 0;
	unsigned long long affected = 0;
	struct db_param p[] = {DB_INT(e->handler_id), DB_INT(threshold)};
	if (db_exec(db, SQL_AUTO_DISABLE, p, 2, &affected, NULL) != 0)
		return -1;
	if (affected == 0)
		return 0;
	e->auto_disabled = 1;
	if (history_record_auto_disable(db, e->handler_id, threshold) != 0) /* history.h */
		return -1;
	return db_exec(db, SQL_BUMP_VERSION, NULL, 0, NULL, NULL);
}

/* The metrics' counters of the rows just logged (not of skipped ones), in
 * the roll-up's key order. */
static int count_executions(struct db *db, const struct logstore_entry *entries, size_t n)
{
	struct rollup_exec *execs = calloc(n, sizeof *execs);
	if (execs == NULL)
		return -1;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct logstore_entry *e = &entries[i];
		if (e->skipped || is_waiting(e))
			continue;
		execs[m++] = (struct rollup_exec){.started_us = e->result->started_us,
		                                  .duration_us = e->result->duration_us,
		                                  .handler_id = e->handler_id,
		                                  .events_id = e->events_id,
		                                  .success = e->result->success,
		                                  .verdict = e->result->verdict,
		                                  .trigger = e->trigger};
	}
	struct rollup_row *rows = NULL;
	size_t nrows = 0;
	int rc = rollup_build(execs, m, &rows, &nrows);
	if (rc == 0)
		rc = rollup_write(db, rows, nrows);
	free(rows);
	free(execs);
	return rc;
}

/* ---------------------------------------------------------------- many rows per INSERT
 * A batch logs many executions per transaction (issue #15). Those with no
 * retry queue row to write and no import check (their id is never needed)
 * go in INSERTs of up to LOGSTORE_ROWS_MAX rows, the statement of
 * SQL_INSERT_LOG with its VALUES tuple repeated: one round trip and one
 * index update pass per statement instead of per row. Sizes are powers of
 * two, so a connection prepares at most log2(LOGSTORE_ROWS_MAX) + 1 of them. */
#define LOGSTORE_ROWS_MAX 32

static int plain_entry(const struct logstore_entry *e)
{
	return !e->from_spool && e->queue.action == LOGSTORE_QUEUE_NONE;
}

/* SQL_INSERT_LOG with rows VALUES tuples; NULL when out of memory. */
static char *insert_rows_sql(size_t rows)
{
	const char *values = strstr(SQL_INSERT_LOG, " VALUES ");
	if (values == NULL)
		return NULL;
	values += strlen(" VALUES ");
	size_t head = (size_t)(values - SQL_INSERT_LOG), tuple = strlen(values);
	char *sql = malloc(head + rows * (tuple + 2) + 1);
	if (sql == NULL)
		return NULL;
	memcpy(sql, SQL_INSERT_LOG, head);
	size_t at = head;
	for (size_t i = 0; i < rows; i++) {
		if (i > 0) {
			memcpy(sql + at, ", ", 2);
			at += 2;
		}
		memcpy(sql + at, values, tuple);
		at += tuple;
	}
	sql[at] = '\0';
	return sql;
}

static int insert_rows(struct db *db, struct logstore_entry *entries, size_t rows, size_t response_max)
{
	static char *sql_of[LOGSTORE_ROWS_MAX + 1]; /* built once per size, kept for the process */
	if (sql_of[rows] == NULL && (sql_of[rows] = insert_rows_sql(rows)) == NULL)
		return -1;
	struct row_texts texts[LOGSTORE_ROWS_MAX];
	struct db_param params[LOGSTORE_ROWS_MAX * LOG_PARAMS] = {0};
	char dts[LOGSTORE_ROWS_MAX][32];
	size_t built = 0;
	int rc = 0;
	for (; built < rows && rc == 0; built++) {
		struct logstore_entry *e = &entries[built];
		e->log_id = 0;
		delivery_time_text(e->result->started_us, 0, dts[built], sizeof dts[built]);
		rc = texts_build(e, response_max, &texts[built]);
		log_params(e, dts[built], &texts[built], &params[built * LOG_PARAMS]);
	}
	if (rc == 0)
		rc = db_exec(db, sql_of[rows], params, rows * LOG_PARAMS, NULL, NULL);
	for (size_t i = 0; i < built; i++)
		texts_free(&texts[i]);
	return rc;
}

/* The exec_logs rows (and their retry queue rows) in execution order. */
static int write_rows(struct db *db, struct logstore_entry *entries, size_t n, size_t response_max)
{
	for (size_t i = 0; i < n;) {
		size_t run = 0;
		while (i + run < n && run < LOGSTORE_ROWS_MAX && plain_entry(&entries[i + run]))
			run++;
		if (run < 2) {
			if (write_one(db, &entries[i], response_max) != 0)
				return -1;
			i++;
			continue;
		}
		size_t rows = 1;
		while (rows * 2 <= run)
			rows *= 2;
		if (insert_rows(db, &entries[i], rows, response_max) != 0)
			return -1;
		i += rows;
	}
	return 0;
}

/* The transaction itself; the caller commits or rolls back. */
static int write_all(struct db *db, const struct logstore_options *opt, struct logstore_entry *entries,
                     size_t n, struct logstore_entry **order)
{
	for (size_t i = 0; i < n; i++) {
		entries[i].log_id = 0;
		entries[i].skipped = entries[i].claim_lost = entries[i].auto_disabled = 0;
	}
	if (write_rows(db, entries, n, opt->response_max) != 0)
		return -1;
	if (count_executions(db, entries, n) != 0)
		return -1;
	/* The last logged execution of each handler sets its state. */
	for (size_t i = 0; i < n; i++) {
		struct logstore_entry *e = order[i];
		if (e->handler_id <= 0 || e->skipped || e->trigger == DELIVERY_TRIGGER_TEST || is_waiting(e))
			continue;
		size_t next = i + 1;
		while (next < n && order[next]->handler_id == e->handler_id &&
		       (order[next]->skipped || is_waiting(order[next])))
			next++;
		if (next < n && order[next]->handler_id == e->handler_id)
			continue;
		if (update_handler(db, e) != 0 || auto_disable(db, e, opt->auto_disable_failures) != 0)
			return -1;
	}
	return 0;
}

static int by_handler_then_time(const void *a, const void *b)
{
	const struct logstore_entry *x = *(struct logstore_entry *const *)a;
	const struct logstore_entry *y = *(struct logstore_entry *const *)b;
	if (x->handler_id != y->handler_id)
		return (x->handler_id > y->handler_id) - (x->handler_id < y->handler_id);
	return (x->result->started_us > y->result->started_us) -
	       (x->result->started_us < y->result->started_us);
}

static void announce(const struct logstore_entry *entries, size_t n, long threshold)
{
	for (size_t i = 0; i < n; i++)
		if (entries[i].auto_disabled)
			fprintf(stderr,
			        "provisioning: handler %lld (%s) was disabled after %ld failures in a row "
			        "(last: %s); "
			        "publish with the Cache Manager to stop running it\n",
			        entries[i].handler_id, entries[i].handler_name ? entries[i].handler_name : "",
			        threshold, entries[i].result->error);
}

int logstore_write(struct db *db, const struct logstore_options *opt, struct logstore_entry *entries,
                   size_t n, char *err, size_t errlen)
{
	if (n == 0)
		return 0;
	/* The one lock order of every log transaction (dispatcher, worker,
	 * import, redeliver): exec_logs rows and their retry_queue rows in
	 * execution order, then exec_rollup rows and exec_totals rows, each in
	 * key order (rollup.c), then handlers rows in ascending id, then
	 * cache_state (an auto-disable). Writers of one event then wait for each other but
	 * never deadlock on handlers; a deadlock with another kind of writer
	 * (InnoDB's gap locks) is rolled back by the server and run again. */
	struct logstore_entry **order = calloc(n, sizeof *order);
	if (order == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = &entries[i];
	qsort(order, n, sizeof *order, by_handler_then_time);
	int rc = -1;
	for (int tries = 0; rc != 0 && tries < LOGSTORE_DEADLOCK_TRIES; tries++) {
		rc = db_begin(db);
		if (rc == 0)
			rc = write_all(db, opt, entries, n, order);
		if (rc == 0)
			rc = db_commit(db); /* a lost COMMIT fails: never run again */
		if (rc == 0)
			break;
		snprintf(err, errlen, "%s", db_error(db));
		int again = db_error_is_deadlock(db);
		db_rollback(db);
		if (!again)
			break;
	}
	free(order);
	if (rc == 0)
		announce(entries, n, opt->auto_disable_failures);
	return rc;
}

static size_t outcome_entries(const struct logstore_outcome *one, struct logstore_entry *entries);

int logstore_write_outcome(struct db *db, const struct logstore_options *opt,
                           const struct dispatch_event *event, const struct dispatch_outcome *outcome,
                           struct logstore_queue *queues, char *err, size_t errlen)
{
	struct logstore_outcome one = {.event = event, .outcome = outcome, .queues = queues};
	return logstore_write_outcomes(db, opt, &one, 1, err, errlen);
}

int logstore_write_outcomes(struct db *db, const struct logstore_options *opt,
                            const struct logstore_outcome *events, size_t nevents, char *err, size_t errlen)
{
	size_t total = 0;
	for (size_t k = 0; k < nevents; k++)
		total += events[k].outcome->nsteps;
	struct logstore_entry *entries = calloc(total ? total : 1, sizeof *entries);
	if (entries == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t n = 0;
	for (size_t k = 0; k < nevents; k++)
		n += outcome_entries(&events[k], &entries[n]);
	int rc = logstore_write(db, opt, entries, n, err, errlen);
	/* What the log says each waiting step waits for. */
	n = 0;
	for (size_t k = 0; k < nevents; k++) {
		for (size_t i = 0; rc == 0 && events[k].queues != NULL && i < events[k].outcome->nsteps; i++)
			events[k].queues[i].behind = entries[n + i].queue.behind;
		n += events[k].outcome->nsteps;
	}
	free(entries);
	return rc;
}

/* The entries of one event's executions into entries; returns how many. */
static size_t outcome_entries(const struct logstore_outcome *one, struct logstore_entry *entries)
{
	const struct dispatch_event *event = one->event;
	const struct dispatch_outcome *outcome = one->outcome;
	const struct logstore_queue *queues = one->queues;
	for (size_t i = 0; i < outcome->nsteps; i++) {
		const struct dispatch_step *step = &outcome->steps[i];
		entries[i] = (struct logstore_entry){.events_id = event->events_id,
		                                     .event_uid = event->uid,
		                                     .has_object_id = event->has_object_id,
		                                     .object_id = event->object_id,
		                                     .handler_id = step->handler->id,
		                                     .handler_name = step->handler->name,
		                                     .delivery_id = step->delivery_id,
		                                     .attempt = 1,
		                                     .trigger = DELIVERY_TRIGGER_DISPATCH,
		                                     .request_body = step->request_body,
		                                     .request_len = step->request_len,
		                                     .result = &step->result};
		if (queues != NULL)
			entries[i].queue = queues[i];
		if (outcome->forbidden && step->handler->id == outcome->forbidden_by && outcome->skipped[0])
			entries[i].skipped_handlers = outcome->skipped;
	}
	return outcome->nsteps;
}
