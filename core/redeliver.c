/* redeliver: one logged execution run again (trigger manual). */
#include "redeliver.h"

#include "cache.h"
#include "config.h"
#include "db.h"
#include "delivery.h"
#include "logs.h"
#include "logstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_NEXT_ATTEMPT[] =
    "SELECT COALESCE(MAX(attempt), 0) + 1 FROM exec_logs WHERE delivery_id = ?";
static const char SQL_NEW_ROW[] =
    "SELECT MAX(id) FROM exec_logs WHERE delivery_id = ? AND attempt = ? AND trigger_kind = 'manual'";

static const char SQL_QUEUE[] = "INSERT INTO redeliver_queue (log_id, state, created_at, updated_at) "
                                "VALUES (?, 'queued', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))";
static const char SQL_QUEUED[] = "SELECT id, log_id FROM redeliver_queue WHERE state = 'queued' "
                                 "ORDER BY id LIMIT 20 FOR UPDATE SKIP LOCKED";
static const char SQL_CLAIM[] = "UPDATE redeliver_queue SET state = 'running', claimed_by = ?, "
                                "updated_at = UTC_TIMESTAMP(6) WHERE id = ?";
static const char SQL_DONE[] =
    "UPDATE redeliver_queue SET state = 'done', new_log_id = NULLIF(?, 0), error = ?, "
    "updated_at = UTC_TIMESTAMP(6) WHERE id = ?";

static const struct cache_handler *find_handler(const struct cache_snapshot *snap, long long id)
{
	for (size_t i = 0; i < snap->count; i++)
		if (snap->handlers[i].id == id)
			return &snap->handlers[i];
	return NULL;
}

static long long query_number(struct db *db, const char *sql, const struct db_param *params, size_t n)
{
	struct db_rows rows;
	if (db_query(db, sql, params, n, &rows) != 0)
		return -1;
	long long value = db_cell_int(&rows, 0, 0, -1);
	db_rows_free(&rows);
	return value;
}

/* Run and log; the row's cells are borrowed from logged. */
static enum redeliver_status run_again(struct db *db, const struct config *cfg, const struct db_rows *logged,
                                       const struct cache_handler *ch, struct redeliver_outcome *out,
                                       char *err, size_t errlen)
{
	const char *delivery_id = db_cell(logged, 0, DCOL_DELIVERY_ID);
	const char *body = db_cell(logged, 0, DCOL_REQUEST_BODY);
	struct db_param by_delivery[] = {DB_STR(delivery_id)};
	long long attempt = query_number(db, SQL_NEXT_ATTEMPT, by_delivery, 1);
	if (attempt < 1) {
		snprintf(err, errlen, "redeliver: %s", db_error(db));
		return REDELIVER_ERROR;
	}
	struct delivery_limits limits = {.response_read_max = (size_t)cfg->payload_max_bytes + 65536,
	                                 .scripts_dir = cfg->scripts_dir,
	                                 .outbound_allow = cfg->outbound_allow};
	struct delivery *d = delivery_new(&limits, err, errlen);
	if (d == NULL)
		return REDELIVER_ERROR;
	struct delivery_handler handler = cache_delivery_handler(ch);
	struct delivery_request req = {.handler = &handler,
	                               .events_id = db_cell(logged, 0, DCOL_EVENTS_ID),
	                               .event_uid = db_cell(logged, 0, DCOL_EVENT_UID),
	                               .delivery_id = delivery_id,
	                               .attempt = (unsigned)attempt,
	                               .trigger = DELIVERY_TRIGGER_MANUAL,
	                               .body = body,
	                               .body_len = strlen(body)};
	struct delivery_result result;
	delivery_run(d, &req, &result);
	delivery_free(d);
	const char *object = db_cell(logged, 0, DCOL_OBJECT_ID);
	struct logstore_entry entry = {.events_id = req.events_id,
	                               .event_uid = req.event_uid,
	                               .has_object_id = object != NULL,
	                               .object_id = object ? strtoll(object, NULL, 10) : 0,
	                               .handler_id = ch->id,
	                               .handler_name = ch->name,
	                               .delivery_id = delivery_id,
	                               .attempt = (unsigned)attempt,
	                               .trigger = DELIVERY_TRIGGER_MANUAL,
	                               .redelivery_of = db_cell_int(logged, 0, DCOL_ID, 0),
	                               .request_body = body,
	                               .request_len = strlen(body),
	                               .result = &result};
	/* Delivered: a retry still waiting for this delivery has nothing left to do. */
	if (result.success)
		entry.queue =
		    (struct logstore_queue){.action = LOGSTORE_QUEUE_FINISH, .outcome = RETRYQ_DONE};
	out->success = result.success;
	out->attempt = (unsigned)attempt;
	snprintf(out->error, sizeof out->error, "%s", result.error);
	struct logstore_options opt;
	logstore_options_from_config(cfg, &opt);
	int rc = logstore_write(db, &opt, &entry, 1, err, errlen);
	delivery_result_free(&result);
	if (rc != 0)
		return REDELIVER_ERROR;
	struct db_param new_row[] = {DB_STR(delivery_id), DB_INT(attempt)};
	out->new_log_id = query_number(db, SQL_NEW_ROW, new_row, 2);
	return REDELIVER_DONE;
}

static enum redeliver_status queue_for_worker(struct db *db, long long log_id, struct redeliver_outcome *out,
                                              char *err, size_t errlen)
{
	struct db_param row[] = {DB_INT(log_id)};
	unsigned long long id = 0;
	if (db_exec(db, SQL_QUEUE, row, 1, NULL, &id) != 0) {
		snprintf(err, errlen, "redeliver: %s", db_error(db));
		return REDELIVER_ERROR;
	}
	out->request_id = (long long)id;
	return REDELIVER_QUEUED;
}

enum redeliver_status redeliver_log_with(struct db *db, const struct config *cfg,
                                         const struct cache_snapshot *snap, long long log_id,
                                         enum redeliver_where where, struct redeliver_outcome *out, char *err,
                                         size_t errlen)
{
	memset(out, 0, sizeof *out);
	struct db_rows logged;
	int found = logs_get(db, log_id, &logged);
	if (found < 0) {
		snprintf(err, errlen, "redeliver: %s", db_error(db));
		return REDELIVER_ERROR;
	}
	if (found == 0) {
		db_rows_free(&logged);
		return REDELIVER_NOT_FOUND;
	}
	enum redeliver_status status;
	const struct cache_handler *ch = find_handler(snap, db_cell_int(&logged, 0, DCOL_HANDLER_ID, 0));
	if (ch == NULL)
		status = REDELIVER_NOT_PUBLISHED;
	else if (ch->kind == DELIVERY_SCRIPT && where == REDELIVER_HERE_HTTP_ONLY)
		status = queue_for_worker(db, log_id, out, err, errlen);
	else
		status = run_again(db, cfg, &logged, ch, out, err, errlen);
	db_rows_free(&logged);
	return status;
}

enum redeliver_status redeliver_log(struct db *db, const struct config *cfg, long long log_id,
                                    enum redeliver_where where, struct redeliver_outcome *out, char *err,
                                    size_t errlen)
{
	memset(out, 0, sizeof *out);
	/* From the database, without touching the dispatcher's local copy: the
	 * panel runs as another user than the billing system's dispatcher. */
	struct cache_snapshot snap = {0};
	char warning[512];
	if (cache_refresh(NULL, db, &snap, err, errlen, warning, sizeof warning) < 0) {
		/* Nothing published (or unreadable): a missing log row still says so. */
		struct db_rows logged;
		int found = logs_get(db, log_id, &logged);
		if (found >= 0)
			db_rows_free(&logged);
		else
			snprintf(err, errlen, "redeliver: %s", db_error(db));
		return found < 0    ? REDELIVER_ERROR
		       : found == 0 ? REDELIVER_NOT_FOUND
		                    : REDELIVER_NOT_PUBLISHED;
	}
	enum redeliver_status status = redeliver_log_with(db, cfg, &snap, log_id, where, out, err, errlen);
	cache_snapshot_free(&snap);
	return status;
}

int redeliver_run_queued(struct db *db, const struct config *cfg, const char *worker_id, long *ran, char *err,
                         size_t errlen)
{
	*ran = 0;
	for (;;) {
		struct db_rows queued;
		if (db_begin(db) != 0)
			goto db_failed;
		if (db_query(db, SQL_QUEUED, NULL, 0, &queued) != 0) {
			db_rollback(db);
			goto db_failed;
		}
		size_t n = queued.nrows;
		for (size_t r = 0; r < n; r++) {
			struct db_param claim[] = {DB_STR(worker_id), DB_INT(db_cell_int(&queued, r, 0, 0))};
			if (db_exec(db, SQL_CLAIM, claim, 2, NULL, NULL) != 0) {
				db_rows_free(&queued);
				db_rollback(db);
				goto db_failed;
			}
		}
		if (db_commit(db) != 0) {
			db_rows_free(&queued);
			goto db_failed;
		}
		for (size_t r = 0; r < n; r++) {
			long long id = db_cell_int(&queued, r, 0, 0), log_id = db_cell_int(&queued, r, 1, 0);
			struct redeliver_outcome out = {0};
			char why[512] = "";
			const char *error = NULL;
			switch (redeliver_log(db, cfg, log_id, REDELIVER_HERE, &out, why, sizeof why)) {
			case REDELIVER_DONE: error = out.success ? NULL : out.error; break;
			case REDELIVER_NOT_FOUND: error = "the execution log entry is gone (purged?)"; break;
			case REDELIVER_NOT_PUBLISHED:
				error = "the handler is not in the published set";
				break;
			default: error = why[0] ? why : "internal error"; break;
			}
			struct db_param done[] = {DB_INT(out.new_log_id), DB_STR_OR_NULL(error), DB_INT(id)};
			if (db_exec(db, SQL_DONE, done, 3, NULL, NULL) != 0) {
				db_rows_free(&queued);
				goto db_failed;
			}
			(*ran)++;
		}
		db_rows_free(&queued);
		if (n == 0)
			return 0;
	}
db_failed:
	snprintf(err, errlen, "queued redeliveries: %s", db_error(db));
	return -1;
}
