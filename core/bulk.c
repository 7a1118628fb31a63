/* bulk: bulk redelivery requests and their run by prov-worker (bulk.h). */
#include "bulk.h"

#include "auth.h"
#include "cache.h"
#include "db.h"
#include "logs.h"
#include "redeliver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The executions a request redelivers: failed, the last of their delivery,
 * in its time range and logged no later than its bound. One WHERE per
 * combination of the handler and event filters, each an equality an index
 * with (status, dt) reads (ix_logs_handler_status, ix_logs_event_status,
 * ix_logs_handler_event_status, ix_logs_status); the NOT EXISTS reads
 * ix_logs_delivery, which is one index per day partition: "n.dt >= since"
 * (a later attempt of a delivery starts after it, so after since) keeps it
 * to the days from since on instead of every day of the log. */
#define MATCH                                                                                                \
	"l.status = 'fail' AND l.dt >= ? AND l.dt < ? AND l.id <= ? AND NOT EXISTS "                         \
	"(SELECT 1 FROM exec_logs n WHERE n.delivery_id = l.delivery_id AND n.id > l.id AND n.dt >= ?) "
#define WHERE_0 "WHERE " MATCH
#define WHERE_1 "WHERE l.handler_id = ? AND " MATCH
#define WHERE_2 "WHERE l.events_id = ? AND " MATCH
#define WHERE_3 "WHERE l.handler_id = ? AND l.events_id = ? AND " MATCH
#define COUNT_SQL(where) "SELECT COUNT(*) FROM exec_logs l " where
/* The list's offer waits at most BULK_OFFER_COUNT_SECONDS for its number. */
#define CAPPED_SQL(where)                                                                                    \
	"SET STATEMENT max_statement_time = " BULK_OFFER_COUNT_SECONDS                                       \
	" FOR SELECT COUNT(*) FROM (SELECT 1 "                                                               \
	"FROM exec_logs l " where "LIMIT ?) c"
#define CHUNK_SQL(where)                                                                                     \
	"SELECT l.id, l.handler_id, l.object_id, DATE_FORMAT(l.dt, '%Y-%m-%d %H:%i:%s.%f') FROM exec_logs "  \
	"l " where "AND (l.dt > ? OR (l.dt = ? AND l.id > ?)) ORDER BY l.dt, l.id LIMIT ?"

static const char *const count_sql[4] = {COUNT_SQL(WHERE_0), COUNT_SQL(WHERE_1), COUNT_SQL(WHERE_2),
                                         COUNT_SQL(WHERE_3)};
static const char *const capped_sql[4] = {CAPPED_SQL(WHERE_0), CAPPED_SQL(WHERE_1), CAPPED_SQL(WHERE_2),
                                          CAPPED_SQL(WHERE_3)};
static const char *const chunk_sql[4] = {CHUNK_SQL(WHERE_0), CHUNK_SQL(WHERE_1), CHUNK_SQL(WHERE_2),
                                         CHUNK_SQL(WHERE_3)};

static const char SQL_MAX_LOG[] = "SELECT COALESCE(MAX(id), 0) FROM exec_logs";
static const char SQL_REQUEST[] =
    "INSERT INTO bulk_redeliveries (pending_key, handler_id, events_id, since, until, max_log_id, expected, "
    "state, requested_by, created_at, updated_at, cursor_dt, cursor_id) VALUES "
    "(?, NULLIF(?, 0), NULLIF(?, ''), ?, ?, ?, ?, 'selecting', ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), ?, 0)";
static const char SQL_PENDING[] = "SELECT id FROM bulk_redeliveries WHERE pending_key = ?";
#define TIME_FMT(col) "DATE_FORMAT(" col ", '%Y-%m-%d %H:%i:%s.%f')"
static const char SQL_SELECTING[] =
    "SELECT id, COALESCE(handler_id, 0), COALESCE(events_id, ''), " TIME_FMT("since") ", " TIME_FMT(
        "until") ", max_log_id, " TIME_FMT("cursor_dt") ", cursor_id "
                                                        "FROM bulk_redeliveries WHERE state = 'selecting' "
                                                        "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";
static const char SQL_ADD_ITEM[] =
    "INSERT IGNORE INTO bulk_redelivery_items (bulk_id, log_id, handler_id, object_id, active_log_id, state) "
    "VALUES (?, ?, ?, ?, ?, 'queued')";
static const char SQL_SELECTED[] =
    "UPDATE bulk_redeliveries SET total = total + ?, skipped = skipped + ?, cursor_dt = ?, cursor_id = ?, "
    "state = IF(?, 'running', 'selecting'), updated_at = UTC_TIMESTAMP(6) WHERE id = ?";
/* Claimers of one request take turns on its row (a short transaction). */
static const char SQL_RUNNING[] =
    "SELECT id FROM bulk_redeliveries WHERE state = 'running' ORDER BY id LIMIT 1 "
    "FOR UPDATE";
static const char SQL_STALE[] =
    "UPDATE bulk_redelivery_items SET state = 'failed', active_log_id = NULL, "
    "error = 'the worker stopped during this delivery; not run again (at most once per request)' "
    "WHERE bulk_id = ? AND state = 'running' AND claimed_at < UTC_TIMESTAMP(6) - INTERVAL ? MINUTE";
/* In log id order; an item waits while an earlier one of its (handler,
 * object) is running (taken by this or another worker). */
static const char SQL_CLAIMABLE[] =
    "SELECT i.log_id FROM bulk_redelivery_items i WHERE i.bulk_id = ? AND i.state = 'queued' AND NOT EXISTS "
    "(SELECT 1 FROM bulk_redelivery_items r WHERE r.bulk_id = i.bulk_id AND r.handler_id <=> i.handler_id "
    "AND r.object_id <=> i.object_id AND r.state = 'running') ORDER BY i.log_id LIMIT ?";
static const char SQL_CLAIM[] =
    "UPDATE bulk_redelivery_items SET state = 'running', claimed_by = ?, claimed_at = UTC_TIMESTAMP(6) "
    "WHERE bulk_id = ? AND log_id = ? AND state = 'queued'";
static const char SQL_UNCLAIM[] = "UPDATE bulk_redelivery_items SET state = 'queued', claimed_by = NULL, "
                                  "claimed_at = NULL WHERE bulk_id = ? AND log_id = ? AND state = 'running'";
static const char SQL_ITEM_DONE[] =
    "UPDATE bulk_redelivery_items SET state = ?, active_log_id = NULL, new_log_id = NULLIF(?, 0), error = ? "
    "WHERE bulk_id = ? AND log_id = ?";
static const char SQL_FINISH[] =
    "UPDATE bulk_redeliveries SET state = 'done', pending_key = NULL, finished_at = UTC_TIMESTAMP(6), "
    "updated_at = UTC_TIMESTAMP(6) WHERE id = ? AND state = 'running' AND NOT EXISTS "
    "(SELECT 1 FROM bulk_redelivery_items WHERE bulk_id = ? AND state IN ('queued', 'running'))";
static const char SQL_GET[] =
    "SELECT id, state, COALESCE(handler_id, 0), COALESCE(events_id, ''), "
    "DATE_FORMAT(since, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(until, '%Y-%m-%d %H:%i:%s'), max_log_id, expected, "
    "total, skipped, requested_by, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s'), "
    "DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:%s') FROM bulk_redeliveries WHERE id = ?";
static const char SQL_ITEM_COUNTS[] =
    "SELECT state, COUNT(*) FROM bulk_redelivery_items WHERE bulk_id = ? GROUP BY state";
static const char SQL_FAILURES[] = "SELECT log_id, new_log_id, error FROM bulk_redelivery_items "
                                   "WHERE bulk_id = ? AND state = 'failed' ORDER BY log_id LIMIT ?";

#define FAR_FUTURE "9999-12-31 23:59:59.999999"

/* ---------------------------------------------------------------- the filter */

int bulk_filter_from_logs(const struct logs_input *in, struct bulk_filter *f, char *msg, size_t msglen)
{
	memset(f, 0, sizeof *f);
	struct logs_input only = {.handler = in->handler, .event = in->event, .from = in->from, .to = in->to};
	struct logs_query *q = calloc(1, sizeof *q);
	if (q == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	int rc = -1;
	if (logs_query_parse(&only, q) != 0) {
		for (int i = 0; i < LOGS_F__MAX; i++)
			if (q->errors[i][0] != '\0') {
				snprintf(msg, msglen, "%s", q->errors[i]);
				break;
			}
	} else if (in->status != NULL && in->status[0] != '\0' && strcmp(in->status, "fail") != 0) {
		snprintf(
		    msg, msglen,
		    "Only failed executions are redelivered in bulk: set Status to Fail or leave it empty.");
	} else if (in->text != NULL && in->text[0] != '\0') {
		snprintf(msg, msglen,
		         "A text search cannot select a bulk redelivery: clear the search text.");
	} else if (q->from_sql[0] == '\0') {
		snprintf(msg, msglen, "Say since when: set Date From (UTC), e.g. the start of the outage.");
	} else {
		f->handler_id = q->handler_id;
		snprintf(f->events_id, sizeof f->events_id, "%s", q->events_id);
		snprintf(f->since, sizeof f->since, "%s", q->from_sql);
		snprintf(f->until, sizeof f->until, "%s", q->to_sql[0] ? q->to_sql : FAR_FUTURE);
		snprintf(f->since_text, sizeof f->since_text, "%s", q->from);
		snprintf(f->until_text, sizeof f->until_text, "%s", q->to);
		rc = 0;
	}
	free(q);
	return rc;
}

/* The WHERE (an index of count_sql / chunk_sql) and its parameters. */
static unsigned filter_params(const struct bulk_filter *f, long long max_log_id, struct db_param *p,
                              size_t *n)
{
	unsigned where = 0;
	*n = 0;
	if (f->handler_id > 0) {
		where |= 1;
		p[(*n)++] = DB_INT(f->handler_id);
	}
	if (f->events_id[0] != '\0') {
		where |= 2;
		p[(*n)++] = DB_STR(f->events_id);
	}
	p[(*n)++] = DB_STR(f->since);
	p[(*n)++] = DB_STR(f->until[0] ? f->until : FAR_FUTURE);
	p[(*n)++] = DB_INT(max_log_id);
	p[(*n)++] = DB_STR(f->since); /* n.dt >= since */
	return where;
}

static long long query_number(struct db *db, const char *sql, const struct db_param *p, size_t n)
{
	struct db_rows rows;
	if (db_query(db, sql, p, n, &rows) != 0)
		return -1;
	long long v = rows.nrows == 1 ? db_cell_int(&rows, 0, 0, -1) : 0;
	db_rows_free(&rows);
	return v;
}

long long bulk_max_log_id(struct db *db)
{
	return query_number(db, SQL_MAX_LOG, NULL, 0);
}

int bulk_count(struct db *db, const struct bulk_filter *f, long long max_log_id, long long *count)
{
	struct db_param p[6];
	size_t n;
	unsigned where = filter_params(f, max_log_id, p, &n);
	*count = query_number(db, count_sql[where], p, n);
	return *count < 0 ? -1 : 0;
}

int bulk_count_capped(struct db *db, const struct bulk_filter *f, long long max_log_id, long long cap,
                      long long *count)
{
	struct db_param p[7];
	size_t n;
	unsigned where = filter_params(f, max_log_id, p, &n);
	p[n++] = DB_INT(cap);
	*count = query_number(db, capped_sql[where], p, n);
	if (*count < 0 && db_error_is_timeout(db))
		return 1;
	return *count < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- requests */

enum bulk_submit bulk_request(struct db *db, const struct bulk_filter *f, long long max_log_id,
                              long long expected, const char *by, long long *id)
{
	char canonical[256], key[AUTH_HEX_LEN + 1];
	snprintf(canonical, sizeof canonical, "handler=%lld;event=%s;since=%s;until=%s", f->handler_id,
	         f->events_id, f->since, f->until[0] ? f->until : FAR_FUTURE);
	auth_sha256_hex(canonical, strlen(canonical), key);
	struct db_param p[] = {DB_STR(key),
	                       DB_INT(f->handler_id),
	                       DB_STR(f->events_id),
	                       DB_STR(f->since),
	                       DB_STR(f->until[0] ? f->until : FAR_FUTURE),
	                       DB_INT(max_log_id),
	                       DB_INT(expected),
	                       DB_STR(by),
	                       DB_STR(f->since)};
	unsigned long long insert_id = 0;
	if (db_exec(db, SQL_REQUEST, p, 9, NULL, &insert_id) == 0) {
		*id = (long long)insert_id;
		return BULK_CREATED;
	}
	if (!db_error_is_duplicate(db))
		return BULK_ERROR;
	/* The identical request still pending is this one. */
	struct db_param k[] = {DB_STR(key)};
	*id = query_number(db, SQL_PENDING, k, 1);
	return *id > 0 ? BULK_EXISTING : BULK_ERROR;
}

static void copy_cell(char *out, size_t outlen, const struct db_rows *rows, size_t col)
{
	const char *cell = db_cell(rows, 0, col);
	snprintf(out, outlen, "%s", cell ? cell : "");
}

int bulk_get(struct db *db, long long id, struct bulk_progress *pr)
{
	memset(pr, 0, sizeof *pr);
	struct db_rows rows;
	struct db_param p[] = {DB_INT(id)};
	if (db_query(db, SQL_GET, p, 1, &rows) != 0)
		return -1;
	if (rows.nrows != 1) {
		db_rows_free(&rows);
		return 0;
	}
	pr->id = db_cell_int(&rows, 0, 0, 0);
	copy_cell(pr->state, sizeof pr->state, &rows, 1);
	pr->handler_id = db_cell_int(&rows, 0, 2, 0);
	copy_cell(pr->events_id, sizeof pr->events_id, &rows, 3);
	copy_cell(pr->since, sizeof pr->since, &rows, 4);
	copy_cell(pr->until, sizeof pr->until, &rows, 5);
	if (strncmp(pr->until, "9999-", 5) == 0)
		pr->until[0] = '\0';
	pr->max_log_id = db_cell_int(&rows, 0, 6, 0);
	pr->expected = db_cell_int(&rows, 0, 7, 0);
	pr->total = db_cell_int(&rows, 0, 8, 0);
	pr->skipped = db_cell_int(&rows, 0, 9, 0);
	copy_cell(pr->requested_by, sizeof pr->requested_by, &rows, 10);
	copy_cell(pr->created_at, sizeof pr->created_at, &rows, 11);
	copy_cell(pr->finished_at, sizeof pr->finished_at, &rows, 12);
	db_rows_free(&rows);
	if (db_query(db, SQL_ITEM_COUNTS, p, 1, &rows) != 0)
		return -1;
	for (size_t r = 0; r < rows.nrows; r++) {
		const char *state = db_cell(&rows, r, 0);
		long long n = db_cell_int(&rows, r, 1, 0);
		if (strcmp(state, "queued") == 0)
			pr->queued = n;
		else if (strcmp(state, "running") == 0)
			pr->running = n;
		else if (strcmp(state, "delivered") == 0)
			pr->delivered = n;
		else if (strcmp(state, "failed") == 0)
			pr->failed = n;
	}
	db_rows_free(&rows);
	return 1;
}

int bulk_failures(struct db *db, long long id, long limit, struct db_rows *rows)
{
	struct db_param p[] = {DB_INT(id), DB_INT(limit)};
	return db_query(db, SQL_FAILURES, p, 2, rows);
}

/* ---------------------------------------------------------------- the worker */

/* One chunk of one selecting request, in its own transaction. 1 when a
 * chunk was taken, 0 when no request is selecting, -1 on error. */
static int select_chunk(struct db *db, struct bulk_stats *st)
{
	struct db_rows req, chunk = {0};
	if (db_begin(db) != 0)
		return -1;
	if (db_query(db, SQL_SELECTING, NULL, 0, &req) != 0) {
		db_rollback(db);
		return -1;
	}
	if (req.nrows == 0) {
		db_rows_free(&req);
		return db_commit(db) == 0 ? 0 : -1;
	}
	long long bulk_id = db_cell_int(&req, 0, 0, 0);
	struct bulk_filter f = {.handler_id = db_cell_int(&req, 0, 1, 0)};
	copy_cell(f.events_id, sizeof f.events_id, &req, 2);
	copy_cell(f.since, sizeof f.since, &req, 3);
	copy_cell(f.until, sizeof f.until, &req, 4);
	long long max_log_id = db_cell_int(&req, 0, 5, 0);
	char cursor_dt[32];
	copy_cell(cursor_dt, sizeof cursor_dt, &req, 6);
	long long cursor_id = db_cell_int(&req, 0, 7, 0);
	db_rows_free(&req);
	struct db_param p[10];
	size_t n;
	unsigned where = filter_params(&f, max_log_id, p, &n);
	p[n++] = DB_STR(cursor_dt);
	p[n++] = DB_STR(cursor_dt);
	p[n++] = DB_INT(cursor_id);
	p[n++] = DB_INT(BULK_CHUNK);
	int rc = db_query(db, chunk_sql[where], p, n, &chunk);
	long long added = 0, skipped = 0;
	for (size_t r = 0; rc == 0 && r < chunk.nrows; r++) {
		long long log_id = db_cell_int(&chunk, r, 0, 0);
		const char *handler = db_cell(&chunk, r, 1), *object = db_cell(&chunk, r, 2);
		struct db_param item[] = {
		    DB_INT(bulk_id), DB_INT(log_id), handler ? DB_INT(strtoll(handler, NULL, 10)) : DB_NULL(),
		    object ? DB_INT(strtoll(object, NULL, 10)) : DB_NULL(), DB_INT(log_id)};
		unsigned long long affected = 0;
		rc = db_exec(db, SQL_ADD_ITEM, item, 5, &affected, NULL);
		if (affected > 0)
			added++;
		else
			skipped++;
	}
	if (rc == 0) {
		int last = chunk.nrows < BULK_CHUNK;
		if (chunk.nrows > 0) {
			snprintf(cursor_dt, sizeof cursor_dt, "%s", db_cell(&chunk, chunk.nrows - 1, 3));
			cursor_id = db_cell_int(&chunk, chunk.nrows - 1, 0, 0);
		}
		struct db_param upd[] = {DB_INT(added),     DB_INT(skipped), DB_STR(cursor_dt),
		                         DB_INT(cursor_id), DB_INT(last),    DB_INT(bulk_id)};
		rc = db_exec(db, SQL_SELECTED, upd, 6, NULL, NULL);
	}
	db_rows_free(&chunk);
	if (rc != 0 || db_commit(db) != 0) {
		db_rollback(db);
		return -1;
	}
	st->selected += (long)added;
	return 1;
}

/* Claim up to want items of the oldest running request (its row locked for
 * the claim). *bulk_id: that request (0: none is running). Ends a request
 * with nothing left (1 in *finished). */
static int claim(struct db *db, const char *worker_id, long want, long long *bulk_id, struct db_rows *items,
                 int *finished)
{
	*bulk_id = 0;
	*finished = 0;
	memset(items, 0, sizeof *items);
	struct db_rows req;
	if (db_begin(db) != 0)
		return -1;
	if (db_query(db, SQL_RUNNING, NULL, 0, &req) != 0) {
		db_rollback(db);
		return -1;
	}
	if (req.nrows == 1)
		*bulk_id = db_cell_int(&req, 0, 0, 0);
	db_rows_free(&req);
	int rc = 0;
	if (*bulk_id > 0) {
		struct db_param stale[] = {DB_INT(*bulk_id), DB_INT(BULK_STALE_MINUTES)};
		struct db_param which[] = {DB_INT(*bulk_id), DB_INT(want)};
		rc = db_exec(db, SQL_STALE, stale, 2, NULL, NULL);
		if (rc == 0)
			rc = db_query(db, SQL_CLAIMABLE, which, 2, items);
		for (size_t r = 0; rc == 0 && r < items->nrows; r++) {
			struct db_param c[] = {DB_STR(worker_id), DB_INT(*bulk_id),
			                       DB_INT(db_cell_int(items, r, 0, 0))};
			rc = db_exec(db, SQL_CLAIM, c, 3, NULL, NULL);
		}
		if (rc == 0 && items->nrows == 0) {
			struct db_param fin[] = {DB_INT(*bulk_id), DB_INT(*bulk_id)};
			unsigned long long affected = 0;
			rc = db_exec(db, SQL_FINISH, fin, 2, &affected, NULL);
			*finished = affected > 0;
		}
	}
	if (rc != 0 || db_commit(db) != 0) {
		db_rows_free(items);
		db_rollback(db);
		return -1;
	}
	return 0;
}

static int deliver_item(struct db *db, const struct config *cfg, const struct cache_snapshot *snap,
                        long long bulk_id, long long log_id, struct bulk_stats *st)
{
	struct redeliver_outcome out;
	char why[512] = "";
	const char *error = NULL;
	switch (redeliver_log_with(db, cfg, snap, log_id, REDELIVER_HERE, &out, why, sizeof why)) {
	case REDELIVER_DONE: error = out.success ? NULL : (out.error[0] ? out.error : "failed again"); break;
	case REDELIVER_NOT_FOUND: error = "the execution log entry is gone (purged?)"; break;
	case REDELIVER_NOT_PUBLISHED: error = "the handler is not in the published set"; break;
	default: error = why[0] ? why : "internal error"; break;
	}
	if (error == NULL)
		st->delivered++;
	else
		st->failed++;
	struct db_param done[] = {DB_STR(error ? "failed" : "delivered"), DB_INT(out.new_log_id),
	                          DB_STR_OR_NULL(error), DB_INT(bulk_id), DB_INT(log_id)};
	return db_exec(db, SQL_ITEM_DONE, done, 5, NULL, NULL);
}

int bulk_run(struct db *db, const struct config *cfg, const char *worker_id, volatile sig_atomic_t *stop,
             long max_items, struct bulk_stats *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	int got;
	while (!*stop && (got = select_chunk(db, st)) > 0)
		;
	if (!*stop && got < 0)
		goto db_failed;
	struct cache_snapshot snap = {0};
	long ran = 0;
	while (!*stop && ran < max_items) {
		long long bulk_id;
		struct db_rows items;
		int finished;
		long want = max_items - ran < BULK_CLAIM ? max_items - ran : BULK_CLAIM;
		if (claim(db, worker_id, want, &bulk_id, &items, &finished) != 0)
			goto failed;
		st->finished += finished;
		if (items.nrows == 0) {
			db_rows_free(&items);
			if (finished)
				continue; /* the next request, if any */
			break;
		}
		char warning[512];
		if (cache_refresh(NULL, db, &snap, err, errlen, warning, sizeof warning) < 0)
			snap.count = 0; /* nothing published: every item fails with that reason */
		int rc = 0;
		size_t r = 0;
		for (; rc == 0 && r < items.nrows && !*stop; r++, ran++)
			rc = deliver_item(db, cfg, &snap, bulk_id, db_cell_int(&items, r, 0, 0), st);
		/* Stopping: what was claimed and not tried waits for the next pass. */
		for (; rc == 0 && r < items.nrows; r++) {
			struct db_param back[] = {DB_INT(bulk_id), DB_INT(db_cell_int(&items, r, 0, 0))};
			rc = db_exec(db, SQL_UNCLAIM, back, 2, NULL, NULL);
		}
		db_rows_free(&items);
		if (rc != 0)
			goto failed;
	}
	cache_snapshot_free(&snap);
	return 0;
failed:
	cache_snapshot_free(&snap);
db_failed:
	snprintf(err, errlen, "bulk redelivery: %s", db_error(db));
	return -1;
}
