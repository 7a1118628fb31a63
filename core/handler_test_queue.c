/* handler_test_queue: script Send tests queued by the web server and run by
 * prov-worker (claim as redeliver_queue's: SELECT ... FOR UPDATE SKIP LOCKED
 * of queued rows, marked running in the same transaction). */
#include "handler_test_queue.h"

#include "db.h"
#include "handler_test.h"
#include "health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_TRIES 5 /* a claim that met a deadlock is simply made again */
#define ADD_TRIES 5   /* so is a queueing that met another */

/* The bound and the insert in one statement: two admins queueing at once
 * cannot both take the last place (the count's shared locks make one wait,
 * or deadlock and try again). Tests past the stale limit do not count. */
static const char SQL_ADD[] =
    "INSERT INTO handler_test_queue (state, requested_by, created_at, updated_at, handler_id, handler_name, "
    "events_id, task, timeout_ms, data) "
    "SELECT 'queued', ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), ?, ?, ?, ?, ?, ? FROM DUAL "
    "WHERE (SELECT COUNT(*) FROM handler_test_queue WHERE state = 'queued' "
    "AND created_at > UTC_TIMESTAMP(6) - INTERVAL ? SECOND) < ?";
static const char SQL_WORKER_AGE[] =
    "SELECT IFNULL(TIMESTAMPDIFF(SECOND, last_run_at, UTC_TIMESTAMP(6)), -1) FROM services "
    "WHERE name = 'retry_worker'";
static const char SQL_GET[] =
    "SELECT id, state, requested_by, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s'), handler_id, "
    "handler_name, events_id, task, timeout_ms, IFNULL(claimed_by, ''), IFNULL(log_id, 0), "
    "IFNULL(error, ''), result, TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP(6)), "
    "TIMESTAMPDIFF(SECOND, updated_at, UTC_TIMESTAMP(6)), "
    "IFNULL((SELECT TIMESTAMPDIFF(SECOND, last_run_at, UTC_TIMESTAMP(6)) FROM services "
    "WHERE name = 'retry_worker'), -1) FROM handler_test_queue WHERE id = ?";
enum {
	GET_ID,
	GET_STATE,
	GET_REQUESTED_BY,
	GET_CREATED_AT,
	GET_HANDLER_ID,
	GET_NAME,
	GET_EVENTS_ID,
	GET_TASK,
	GET_TIMEOUT,
	GET_CLAIMED_BY,
	GET_LOG_ID,
	GET_ERROR,
	GET_RESULT,
	GET_AGE,
	GET_SINCE_UPDATE,
	GET_WORKER_AGE,
};
/* The claim reads whether the test waited too long: a stale one is marked
 * not run in the claim's own transaction (a separate UPDATE of the queued
 * rows would wait for the row locks of another worker's claim). */
static const char SQL_NEXT[] = "SELECT id, handler_id, handler_name, events_id, task, timeout_ms, data, "
                               "created_at <= UTC_TIMESTAMP(6) - INTERVAL ? SECOND FROM handler_test_queue "
                               "WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";
enum { NEXT_ID, NEXT_HANDLER_ID, NEXT_NAME, NEXT_EVENTS_ID, NEXT_TASK, NEXT_TIMEOUT, NEXT_DATA, NEXT_STALE };
static const char SQL_EXPIRE[] = "UPDATE handler_test_queue SET state = 'done', error = ?, "
                                 "updated_at = UTC_TIMESTAMP(6) WHERE id = ?";
static const char SQL_CLAIM[] = "UPDATE handler_test_queue SET state = 'running', claimed_by = ?, "
                                "updated_at = UTC_TIMESTAMP(6) WHERE id = ?";
static const char SQL_DONE[] =
    "UPDATE handler_test_queue SET state = 'done', log_id = NULLIF(?, 0), error = ?, result = ?, "
    "updated_at = UTC_TIMESTAMP(6) WHERE id = ?";

#define TEXT_OF(x) #x
#define TEXT(x) TEXT_OF(x)
static const char EXPIRED[] = "not run: no retry worker took it within " TEXT(
    HANDLER_TEST_STALE_MINUTES) " min (start prov-worker and send the test again)";

static long long worker_age(struct db *db)
{
	struct db_rows rows;
	if (db_query(db, SQL_WORKER_AGE, NULL, 0, &rows) != 0)
		return -2;
	long long age = rows.nrows == 1 ? db_cell_int(&rows, 0, 0, -1) : -1;
	db_rows_free(&rows);
	return age;
}

/* "" when the worker ran recently; else one line saying it did not. */
static void worker_quiet_text(long long age, char *out, size_t outlen)
{
	char ago[32];
	out[0] = '\0';
	if (age >= 0 && age <= HANDLER_TEST_WORKER_QUIET_SECONDS)
		return;
	if (age < 0) {
		snprintf(out, outlen,
		         "No retry worker has ever run: start prov-worker (as the dispatcher's user) and the "
		         "test runs.");
		return;
	}
	health_age_text(age, ago, sizeof ago);
	snprintf(out, outlen,
	         "No retry worker has run in the last %d minutes (last run %s ago): start prov-worker "
	         "and the test runs.",
	         HANDLER_TEST_WORKER_QUIET_SECONDS / 60, ago);
}

enum handler_test_queued handler_test_queue_add(struct db *db, const struct handler *h, json_t *data,
                                                const char *requested_by, long long *id, char *err,
                                                size_t errlen)
{
	*id = 0;
	char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return HANDLER_TEST_QUEUE_FAILED;
	}
	struct db_param p[] = {DB_STR(requested_by),
	                       DB_INT(h->id),
	                       DB_STR(h->name),
	                       DB_STR(h->events_id),
	                       DB_STR(h->task),
	                       DB_INT(h->timeout_ms),
	                       DB_STR(text),
	                       DB_INT(HANDLER_TEST_STALE_SECONDS),
	                       DB_INT(HANDLER_TEST_QUEUE_MAX)};
	unsigned long long affected = 0, insert_id = 0;
	int rc;
	for (int tries = 0;; tries++) {
		rc = db_exec(db, SQL_ADD, p, sizeof p / sizeof p[0], &affected, &insert_id);
		if (rc == 0 || tries + 1 >= ADD_TRIES || !db_error_is_deadlock(db))
			break;
	}
	free(text);
	if (rc != 0) {
		snprintf(err, errlen, "test queue: %s", db_error(db));
		return HANDLER_TEST_QUEUE_FAILED;
	}
	if (affected == 1) {
		*id = (long long)insert_id;
		return HANDLER_TEST_QUEUED;
	}
	char quiet[256] = "";
	long long age = worker_age(db);
	if (age >= -1) /* -2: unreadable; the refusal stands without the hint */
		worker_quiet_text(age, quiet, sizeof quiet);
	snprintf(err, errlen,
	         "Not queued: %d script tests are already waiting for the retry worker (prov-worker); send "
	         "it again when they have run.%s%s",
	         HANDLER_TEST_QUEUE_MAX, quiet[0] ? " " : "", quiet);
	return HANDLER_TEST_QUEUE_FULL;
}

static void copy_cell(char *out, size_t outlen, const struct db_rows *rows, size_t col)
{
	const char *cell = db_cell(rows, 0, col);
	snprintf(out, outlen, "%s", cell ? cell : "");
}

/* What a reader is told while the test waits, and whether it still does. */
static void judge(struct handler_test_request *r, long long age, long long since_update)
{
	char ago[32];
	r->waiting = 0;
	r->notice[0] = '\0';
	if (strcmp(r->state, "queued") == 0) {
		if (age >= HANDLER_TEST_STALE_SECONDS) { /* the next worker marks it so */
			snprintf(r->notice, sizeof r->notice, "%s", EXPIRED);
			return;
		}
		r->waiting = 1;
		worker_quiet_text(r->worker_age_seconds, r->notice, sizeof r->notice);
	} else if (strcmp(r->state, "running") == 0) {
		if (since_update >= HANDLER_TEST_RUNNING_LOST_SECONDS) {
			health_age_text(since_update, ago, sizeof ago);
			snprintf(
			    r->notice, sizeof r->notice,
			    "The retry worker %s took this test %s ago and has not finished it: it may have "
			    "stopped. Send the test again.",
			    r->claimed_by, ago);
			return;
		}
		r->waiting = 1;
	}
}

int handler_test_queue_get(struct db *db, long long id, struct handler_test_request *out)
{
	memset(out, 0, sizeof *out);
	struct db_param p[] = {DB_INT(id)};
	struct db_rows rows;
	if (db_query(db, SQL_GET, p, 1, &rows) != 0)
		return -1;
	if (rows.nrows != 1) {
		db_rows_free(&rows);
		return 0;
	}
	out->id = db_cell_int(&rows, 0, GET_ID, 0);
	copy_cell(out->state, sizeof out->state, &rows, GET_STATE);
	copy_cell(out->requested_by, sizeof out->requested_by, &rows, GET_REQUESTED_BY);
	copy_cell(out->created_at, sizeof out->created_at, &rows, GET_CREATED_AT);
	out->handler_id = db_cell_int(&rows, 0, GET_HANDLER_ID, 0);
	copy_cell(out->handler_name, sizeof out->handler_name, &rows, GET_NAME);
	copy_cell(out->events_id, sizeof out->events_id, &rows, GET_EVENTS_ID);
	copy_cell(out->task, sizeof out->task, &rows, GET_TASK);
	out->timeout_ms = (long)db_cell_int(&rows, 0, GET_TIMEOUT, 0);
	copy_cell(out->claimed_by, sizeof out->claimed_by, &rows, GET_CLAIMED_BY);
	out->log_id = db_cell_int(&rows, 0, GET_LOG_ID, 0);
	copy_cell(out->error, sizeof out->error, &rows, GET_ERROR);
	const char *result = db_cell(&rows, 0, GET_RESULT);
	out->result = result ? json_loads(result, 0, NULL) : NULL;
	out->worker_age_seconds = db_cell_int(&rows, 0, GET_WORKER_AGE, -1);
	judge(out, db_cell_int(&rows, 0, GET_AGE, 0), db_cell_int(&rows, 0, GET_SINCE_UPDATE, 0));
	if (strcmp(out->state, "done") == 0 && out->result == NULL && out->error[0] == '\0')
		snprintf(out->error, sizeof out->error, "the result could not be read");
	db_rows_free(&rows);
	return 1;
}

void handler_test_request_free(struct handler_test_request *r)
{
	if (r == NULL)
		return;
	json_decref(r->result);
	r->result = NULL;
}

enum claim { CLAIM_FAILED = -1, CLAIM_NONE, CLAIM_TAKEN, CLAIM_EXPIRED };

/* Claim the oldest queued test (CLAIM_TAKEN, *row: its cells), or mark it
 * not run when it waited too long (CLAIM_EXPIRED). */
static enum claim claim_next(struct db *db, const char *worker_id, struct db_rows *row)
{
	struct db_param stale_after[] = {DB_INT(HANDLER_TEST_STALE_SECONDS)};
	for (int tries = 0;; tries++) {
		if (db_begin(db) != 0)
			return CLAIM_FAILED;
		if (db_query(db, SQL_NEXT, stale_after, 1, row) == 0) {
			if (row->nrows == 0) {
				db_rows_free(row);
				db_rollback(db);
				return CLAIM_NONE;
			}
			long long id = db_cell_int(row, 0, NEXT_ID, 0);
			int stale = db_cell_int(row, 0, NEXT_STALE, 0) != 0;
			struct db_param claim[] = {DB_STR(worker_id), DB_INT(id)};
			struct db_param expire[] = {DB_STR(EXPIRED), DB_INT(id)};
			if (db_exec(db, stale ? SQL_EXPIRE : SQL_CLAIM, stale ? expire : claim, 2, NULL,
			            NULL) == 0 &&
			    db_commit(db) == 0) {
				if (!stale)
					return CLAIM_TAKEN;
				db_rows_free(row);
				return CLAIM_EXPIRED;
			}
			db_rows_free(row);
		}
		db_rollback(db);
		if (tries + 1 >= CLAIM_TRIES || !db_error_is_deadlock(db))
			return CLAIM_FAILED;
	}
}

/* Run the claimed test in row; fills what the done row records. */
static void run_claimed(struct db *db, const struct config *cfg, const struct db_rows *row, long long *log_id,
                        char **result, char *error, size_t errorlen)
{
	struct handler h;
	memset(&h, 0, sizeof h);
	h.id = db_cell_int(row, 0, NEXT_HANDLER_ID, 0);
	snprintf(h.name, sizeof h.name, "%s", db_cell(row, 0, NEXT_NAME));
	snprintf(h.events_id, sizeof h.events_id, "%s", db_cell(row, 0, NEXT_EVENTS_ID));
	snprintf(h.task, sizeof h.task, "%s", db_cell(row, 0, NEXT_TASK));
	h.task_type = HANDLER_TASK_SCRIPT; /* only scripts are queued; run inside scripts_dir, no shell */
	h.timeout_ms = (long)db_cell_int(row, 0, NEXT_TIMEOUT, HANDLER_TIMEOUT_DEFAULT_MS);
	h.secret_action = h.id > 0 ? HANDLER_SECRET_KEEP : HANDLER_SECRET_REMOVE;
	json_t *data = json_loads(db_cell(row, 0, NEXT_DATA), 0, NULL);
	if (data == NULL) {
		snprintf(error, errorlen, "not run: the queued test payload could not be read");
		return;
	}
	struct handler_test t;
	char err[DELIVERY_ERROR_MAX];
	enum handler_test_status status =
	    handler_test_run(db, cfg, &h, data, HANDLER_TEST_ANY, &t, err, sizeof err);
	if (status == HANDLER_TEST_DONE) {
		json_t *o = handler_test_json(&t);
		*result = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		*log_id = t.log_id;
		if (*result == NULL)
			snprintf(error, errorlen,
			         "the test ran (execution #%lld) but its result could not be kept", t.log_id);
	} else {
		fprintf(stderr, "prov-worker: test #%lld: %s\n", db_cell_int(row, 0, NEXT_ID, 0), err);
		snprintf(error, errorlen, "%s",
		         status == HANDLER_TEST_REFUSED
		             ? err
		             : "the retry worker could not run or log the test (its error output says why)");
	}
	handler_test_free(&t);
	json_decref(data);
}

int handler_test_queue_run(struct db *db, const struct config *cfg, const char *worker_id,
                           volatile sig_atomic_t *stop, long *ran, char *err, size_t errlen)
{
	*ran = 0;
	/* Bounded work per pass (the queue's own bound): retries wait behind it.
	 * Expired tests cost one short transaction each and end. */
	while (*ran < HANDLER_TEST_QUEUE_MAX && !*stop) {
		struct db_rows row;
		enum claim claimed = claim_next(db, worker_id, &row);
		if (claimed == CLAIM_FAILED)
			goto db_failed;
		if (claimed == CLAIM_NONE)
			return 0;
		if (claimed == CLAIM_EXPIRED)
			continue;
		long long id = db_cell_int(&row, 0, NEXT_ID, 0), log_id = 0;
		char *result = NULL;
		char error[1024] = "";
		run_claimed(db, cfg, &row, &log_id, &result, error, sizeof error);
		db_rows_free(&row);
		struct db_param done[] = {DB_INT(log_id), DB_STR_OR_NULL(error), DB_STR_OR_NULL(result),
		                          DB_INT(id)};
		int rc = db_exec(db, SQL_DONE, done, 4, NULL, NULL);
		free(result);
		if (rc != 0)
			goto db_failed;
		(*ran)++;
	}
	return 0;
db_failed:
	snprintf(err, errlen, "queued tests: %s", db_error(db));
	return -1;
}
