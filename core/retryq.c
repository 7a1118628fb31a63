/* retryq: SQL of the retry queue. */
#include "retryq.h"

#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_ENQUEUE[] =
    "INSERT INTO retry_queue (delivery_id, handler_id, handler_name, log_id, events_id, object_id, "
    "event_uid, envelope, attempt, state, next_attempt_at, last_error, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6) + INTERVAL ? SECOND, ?, "
    "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)) "
    "ON DUPLICATE KEY UPDATE attempt = GREATEST(attempt, VALUES(attempt)), state = VALUES(state), "
    "next_attempt_at = VALUES(next_attempt_at), last_error = VALUES(last_error), "
    "log_id = VALUES(log_id), claimed_by = NULL, updated_at = UTC_TIMESTAMP(6)";
static const char SQL_DUE[] =
    "SELECT id FROM retry_queue WHERE state = 'scheduled' AND next_attempt_at <= UTC_TIMESTAMP(6) "
    "ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED";
static const char SQL_LEASE[] =
    "UPDATE retry_queue SET claimed_by = ?, next_attempt_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND, "
    "updated_at = UTC_TIMESTAMP(6) WHERE id = ?";
static const char SQL_CLAIMED[] =
    "SELECT id, delivery_id, handler_id, handler_name, events_id, object_id, event_uid, envelope, attempt "
    "FROM retry_queue WHERE claimed_by = ? AND state = 'scheduled' AND id BETWEEN ? AND ? ORDER BY id";
static const char SQL_FINISH[] =
    "UPDATE retry_queue SET state = ?, attempt = ?, "
    "next_attempt_at = IF(? = 'scheduled', UTC_TIMESTAMP(6) + INTERVAL ? SECOND, next_attempt_at), "
    "log_id = IF(? > 0, ?, log_id), last_error = ?, claimed_by = NULL, updated_at = UTC_TIMESTAMP(6) "
    "WHERE id = ? AND claimed_by = ? AND state = 'scheduled'";
static const char SQL_FINISH_SPOOLED[] =
    "UPDATE retry_queue SET state = ?, attempt = ?, "
    "next_attempt_at = IF(? = 'scheduled', UTC_TIMESTAMP(6) + INTERVAL ? SECOND, next_attempt_at), "
    "log_id = IF(? > 0, ?, log_id), last_error = ?, claimed_by = NULL, updated_at = UTC_TIMESTAMP(6) "
    "WHERE delivery_id = ? AND state = 'scheduled' AND attempt < ?";
/* Per-object order: the newest row still ahead in (object, handler)'s chain,
 * locked (with the index range) until the caller's transaction ends, so the
 * row queued behind it and the head's finish are never interleaved. */
static const char SQL_CHAIN_TAIL[] =
    "SELECT id, log_id FROM retry_queue WHERE object_id = ? AND handler_id = ? "
    "AND state IN ('scheduled', 'waiting', 'blocked') ORDER BY id DESC LIMIT 1 FOR UPDATE";
/* The next of a chain whose head is finished: due at once. */
static const char SQL_PROMOTE[] =
    "UPDATE retry_queue SET state = 'scheduled', next_attempt_at = UTC_TIMESTAMP(6), "
    "updated_at = UTC_TIMESTAMP(6) WHERE object_id = ? AND handler_id = ? AND state = 'waiting' "
    "ORDER BY id LIMIT 1";
static const char SQL_BEHIND[] = "SELECT id FROM retry_queue WHERE object_id = ? AND handler_id = ? "
                                 "AND state = 'waiting' LIMIT 1 FOR UPDATE";
static const char SQL_BLOCKED_BY_LOG[] = "SELECT id, handler_id, object_id FROM retry_queue "
                                         "WHERE log_id = ? AND state = 'blocked' FOR UPDATE";
static const char SQL_RELEASE[] = "UPDATE retry_queue SET state = 'exhausted', claimed_by = NULL, "
                                  "updated_at = UTC_TIMESTAMP(6) WHERE id = ? AND state = 'blocked'";
static const char SQL_RENEW[] = "UPDATE retry_queue SET next_attempt_at = UTC_TIMESTAMP(6) + INTERVAL ? "
                                "SECOND, updated_at = UTC_TIMESTAMP(6) "
                                "WHERE id = ? AND claimed_by = ? AND state = 'scheduled'";
/* Each count is one range of ix_retry_due (state, next_attempt_at), read from
 * the index alone, and stops after RETRYQ_COUNT_CAP + 1 entries: a backlog of
 * millions after an outage costs the Task Scheduler page and the worker's
 * summary no more than ten thousand index entries each ("more than 10,000"). */
static const char SQL_COUNTS[] =
    "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM retry_queue WHERE state = 'scheduled' "
    "AND next_attempt_at <= UTC_TIMESTAMP(6) LIMIT ?) AS r), "
    "(SELECT COUNT(*) FROM (SELECT 1 FROM retry_queue WHERE state = 'scheduled' "
    "AND next_attempt_at > UTC_TIMESTAMP(6) LIMIT ?) AS r), "
    "(SELECT COUNT(*) FROM (SELECT 1 FROM retry_queue WHERE state = 'exhausted' LIMIT ?) AS r), "
    "(SELECT COUNT(*) FROM (SELECT 1 FROM retry_queue WHERE state = 'done' LIMIT ?) AS r)";

static const char *state_name(enum retryq_outcome outcome)
{
	return outcome == RETRYQ_DONE        ? "done"
	       : outcome == RETRYQ_EXHAUSTED ? "exhausted"
	       : outcome == RETRYQ_BLOCKED   ? "blocked"
	                                     : "scheduled";
}

int retryq_enqueue(struct db *db, const struct retryq_entry *e)
{
	struct db_param params[] = {
	    DB_STR(e->delivery_id),   DB_INT(e->handler_id),
	    DB_STR(e->handler_name),  e->log_id > 0 ? DB_INT(e->log_id) : DB_NULL(),
	    DB_STR(e->events_id),     e->has_object_id ? DB_INT(e->object_id) : DB_NULL(),
	    DB_STR(e->event_uid),     DB_STR(e->envelope),
	    DB_INT(e->attempts_made), DB_STR(e->waiting ? "waiting" : "scheduled"),
	    DB_INT(e->delay_seconds), DB_STR_OR_NULL(e->last_error),
	};
	return db_exec(db, SQL_ENQUEUE, params, sizeof params / sizeof params[0], NULL, NULL);
}

void retryq_items_free(struct retryq_item *items, size_t count)
{
	for (size_t i = 0; items && i < count; i++) {
		free(items[i].handler_name);
		free(items[i].envelope);
	}
	free(items);
}

/* Nothing is allocated for no rows: the rows claimed may all have been
 * finished by another worker before the re-read, and callers stop on a count
 * of 0 without freeing. */
static int fill_items(const struct db_rows *rows, struct retryq_item **items, size_t *count)
{
	if (rows->nrows == 0)
		return 0;
	struct retryq_item *out = calloc(rows->nrows, sizeof *out);
	if (out == NULL)
		return -1;
	for (size_t r = 0; r < rows->nrows; r++) {
		struct retryq_item *it = &out[r];
		it->id = db_cell_int(rows, r, 0, 0);
		snprintf(it->delivery_id, sizeof it->delivery_id, "%s", db_cell(rows, r, 1));
		it->handler_id = db_cell_int(rows, r, 2, 0);
		it->handler_name = strdup(db_cell(rows, r, 3) ? db_cell(rows, r, 3) : "");
		snprintf(it->events_id, sizeof it->events_id, "%s", db_cell(rows, r, 4));
		it->has_object_id = db_cell(rows, r, 5) != NULL;
		it->object_id = db_cell_int(rows, r, 5, 0);
		snprintf(it->event_uid, sizeof it->event_uid, "%s", db_cell(rows, r, 6));
		it->envelope = strdup(db_cell(rows, r, 7) ? db_cell(rows, r, 7) : "");
		it->attempts_made = (int)db_cell_int(rows, r, 8, 1);
		if (it->handler_name == NULL || it->envelope == NULL) {
			retryq_items_free(out, r + 1);
			return -1;
		}
	}
	*items = out;
	*count = rows->nrows;
	return 0;
}

int retryq_claim(struct db *db, const char *worker_id, long lease_seconds, size_t max,
                 struct retryq_item **items, size_t *count)
{
	*items = NULL;
	*count = 0;
	struct db_rows due;
	if (db_begin(db) != 0)
		return -1;
	struct db_param limit[] = {DB_INT(max)};
	if (db_query(db, SQL_DUE, limit, 1, &due) != 0) {
		db_rollback(db);
		return -1;
	}
	long long low = 0, high = 0;
	for (size_t r = 0; r < due.nrows; r++) {
		long long id = db_cell_int(&due, r, 0, 0);
		struct db_param lease[] = {DB_STR(worker_id), DB_INT(lease_seconds), DB_INT(id)};
		if (db_exec(db, SQL_LEASE, lease, 3, NULL, NULL) != 0) {
			db_rows_free(&due);
			db_rollback(db);
			return -1;
		}
		low = (r == 0 || id < low) ? id : low;
		high = id > high ? id : high;
	}
	size_t claimed = due.nrows;
	db_rows_free(&due);
	if (db_commit(db) != 0)
		return -1;
	if (claimed == 0)
		return 0;
	struct db_rows rows;
	struct db_param mine[] = {DB_STR(worker_id), DB_INT(low), DB_INT(high)};
	if (db_query(db, SQL_CLAIMED, mine, 3, &rows) != 0)
		return -1;
	int rc = fill_items(&rows, items, count);
	db_rows_free(&rows);
	return rc;
}

int retryq_finish(struct db *db, long long id, const char *worker_id, enum retryq_outcome outcome,
                  int attempts_made, long delay_seconds, long long log_id, const char *error)
{
	const char *state = state_name(outcome);
	unsigned long long affected = 0;
	struct db_param params[] = {
	    DB_STR(state),  DB_INT(attempts_made), DB_STR(state), DB_INT(delay_seconds), DB_INT(log_id),
	    DB_INT(log_id), DB_STR_OR_NULL(error), DB_INT(id),    DB_STR(worker_id),
	};
	if (db_exec(db, SQL_FINISH, params, sizeof params / sizeof params[0], &affected, NULL) != 0)
		return -1;
	return affected > 0;
}

int retryq_finish_spooled(struct db *db, const char *delivery_id, enum retryq_outcome outcome,
                          int attempts_made, long delay_seconds, long long log_id, const char *error)
{
	const char *state = state_name(outcome);
	unsigned long long affected = 0;
	struct db_param params[] = {
	    DB_STR(state),  DB_INT(attempts_made), DB_STR(state),       DB_INT(delay_seconds), DB_INT(log_id),
	    DB_INT(log_id), DB_STR_OR_NULL(error), DB_STR(delivery_id), DB_INT(attempts_made),
	};
	if (db_exec(db, SQL_FINISH_SPOOLED, params, sizeof params / sizeof params[0], &affected, NULL) != 0)
		return -1;
	return affected > 0;
}

int retryq_chain_tail(struct db *db, long long handler_id, long long object_id, long long *tail_log_id)
{
	struct db_rows rows;
	struct db_param p[] = {DB_INT(object_id), DB_INT(handler_id)};
	*tail_log_id = 0;
	if (db_query(db, SQL_CHAIN_TAIL, p, 2, &rows) != 0)
		return -1;
	int found = rows.nrows > 0;
	if (found)
		*tail_log_id = db_cell_int(&rows, 0, 1, 0);
	db_rows_free(&rows);
	return found;
}

int retryq_has_waiting(struct db *db, long long handler_id, long long object_id)
{
	struct db_rows rows;
	struct db_param p[] = {DB_INT(object_id), DB_INT(handler_id)};
	if (db_query(db, SQL_BEHIND, p, 2, &rows) != 0)
		return -1;
	int found = rows.nrows > 0;
	db_rows_free(&rows);
	return found;
}

int retryq_promote(struct db *db, long long handler_id, long long object_id)
{
	struct db_param p[] = {DB_INT(object_id), DB_INT(handler_id)};
	return db_exec(db, SQL_PROMOTE, p, 2, NULL, NULL);
}

int retryq_release(struct db *db, long long log_id)
{
	struct db_rows rows;
	struct db_param p[] = {DB_INT(log_id)};
	if (db_begin(db) != 0)
		return -1;
	if (db_query(db, SQL_BLOCKED_BY_LOG, p, 1, &rows) != 0) {
		db_rollback(db);
		return -1;
	}
	int found = rows.nrows > 0;
	int rc = 0;
	if (found) {
		struct db_param id[] = {DB_INT(db_cell_int(&rows, 0, 0, 0))};
		rc = db_exec(db, SQL_RELEASE, id, 1, NULL, NULL);
		if (rc == 0)
			rc = retryq_promote(db, db_cell_int(&rows, 0, 1, 0), db_cell_int(&rows, 0, 2, 0));
	}
	db_rows_free(&rows);
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		db_rollback(db);
		return -1;
	}
	return found;
}

int retryq_renew(struct db *db, long long id, const char *worker_id, long lease_seconds)
{
	unsigned long long affected = 0;
	struct db_param params[] = {DB_INT(lease_seconds), DB_INT(id), DB_STR(worker_id)};
	if (db_exec(db, SQL_RENEW, params, 3, &affected, NULL) != 0)
		return -1;
	return affected > 0;
}

int retryq_count(struct db *db, struct retryq_counts *counts)
{
	struct db_param params[] = {DB_INT(RETRYQ_COUNT_CAP + 1), DB_INT(RETRYQ_COUNT_CAP + 1),
	                            DB_INT(RETRYQ_COUNT_CAP + 1), DB_INT(RETRYQ_COUNT_CAP + 1)};
	struct db_rows rows;
	if (db_query(db, SQL_COUNTS, params, 4, &rows) != 0)
		return -1;
	counts->due = db_cell_int(&rows, 0, 0, 0);
	counts->later = db_cell_int(&rows, 0, 1, 0);
	counts->exhausted = db_cell_int(&rows, 0, 2, 0);
	counts->done = db_cell_int(&rows, 0, 3, 0);
	db_rows_free(&rows);
	return 0;
}

const char *retryq_count_text(long long count, char *buf, size_t buflen)
{
	if (count > RETRYQ_COUNT_CAP)
		snprintf(buf, buflen, "more than %d,%03d", RETRYQ_COUNT_CAP / 1000, RETRYQ_COUNT_CAP % 1000);
	else
		snprintf(buf, buflen, "%lld", count);
	return buf;
}
