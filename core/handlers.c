/* handlers: reads and writes of the handlers table. Every write bumps
 * cache_state.handlers_version in the same transaction: that is how the
 * panel knows edits wait for the Cache Manager (SPEC section 6). */
#include "handlers.h"

#include "db.h"
#include "events.h"
#include "history.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* ---------------------------------------------------------------- the list */

#define LIST_COLUMNS                                                                                         \
	"SELECT id, priority, name, events_id, task, task_type, status, last_status, "                       \
	"DATE_FORMAT(last_run_at, '%Y-%m-%d %H:%i:%s'), "                                                    \
	"TIMESTAMPDIFF(SECOND, last_run_at, UTC_TIMESTAMP(6)), consecutive_failures, last_error, "           \
	"secret IS NOT NULL "                                                                                \
	"FROM handlers "

/* One WHERE per combination of the three filters (bit 1 event, 2 type, 4
 * status), each a plain equality the optimizer can read an index for: an
 * "(? = '' OR col = ?)" that covers every combination in one statement makes
 * MariaDB read every handler, whatever the filter. Without a status filter
 * the archived are left out. */
#define LIST_WHERE_0 "WHERE status IN ('enabled','disabled') "
#define LIST_WHERE_1 "WHERE events_id = ? AND status IN ('enabled','disabled') "
#define LIST_WHERE_2 "WHERE task_type = ? AND status IN ('enabled','disabled') "
#define LIST_WHERE_3 "WHERE events_id = ? AND task_type = ? AND status IN ('enabled','disabled') "
#define LIST_WHERE_4 "WHERE status = ? "
#define LIST_WHERE_5 "WHERE events_id = ? AND status = ? "
#define LIST_WHERE_6 "WHERE task_type = ? AND status = ? "
#define LIST_WHERE_7 "WHERE events_id = ? AND task_type = ? AND status = ? "

/* The catalog's order (events.c), so "sort by event" groups as the select does. */
#define EVENT_ORDER                                                                                          \
	"FIELD(events_id, 'clients.create', 'clients.update', 'clients.delete', 'clients.archive', "         \
	"'clients.custom_fields.update', 'clients.balance_notzero', 'clients.balance_zero', "                \
	"'clients.accounts.create', 'clients.accounts.update', 'clients.accounts.delete', "                  \
	"'clients.subscriptions.assign', 'clients.subscriptions.activate', "                                 \
	"'clients.subscriptions.deactivate', 'clients.subscriptions.renew', "                                \
	"'clients.subscriptions.close')"

#define LIST_SQL(where, order) LIST_COLUMNS where "ORDER BY " order " LIMIT ? OFFSET ?"

/* ORDER BY comes only from these literals; the request picks one by index.
 * status is an ENUM: it sorts enabled, disabled, archived. */
#define LIST_SORTS(where)                                                                                    \
	{                                                                                                    \
		[HANDLER_SORT_PRIORITY] = {LIST_SQL(where, "priority, id"),                                  \
		                           LIST_SQL(where, "priority DESC, id DESC")},                       \
		[HANDLER_SORT_ID] = {LIST_SQL(where, "id"), LIST_SQL(where, "id DESC")},                     \
		[HANDLER_SORT_NAME] = {LIST_SQL(where, "name, priority, id"),                                \
		                       LIST_SQL(where, "name DESC, priority DESC, id DESC")},                \
		[HANDLER_SORT_EVENT] = {LIST_SQL(where, EVENT_ORDER ", priority, id"),                       \
		                        LIST_SQL(where, EVENT_ORDER " DESC, priority, id")},                 \
		[HANDLER_SORT_HANDLER] = {LIST_SQL(where, "task_type, task, priority, id"),                  \
		                          LIST_SQL(where, "task_type DESC, task DESC, priority, id")},       \
		[HANDLER_SORT_STATUS] = {LIST_SQL(where, "status, priority, id"),                            \
		                         LIST_SQL(where, "status DESC, priority, id")},                      \
	}

static const char *const list_sql[8][HANDLER_SORT__MAX][2] = {
    LIST_SORTS(LIST_WHERE_0), LIST_SORTS(LIST_WHERE_1), LIST_SORTS(LIST_WHERE_2), LIST_SORTS(LIST_WHERE_3),
    LIST_SORTS(LIST_WHERE_4), LIST_SORTS(LIST_WHERE_5), LIST_SORTS(LIST_WHERE_6), LIST_SORTS(LIST_WHERE_7),
};

#define COUNT_SQL(where) "SELECT COUNT(*) FROM handlers " where
static const char *const count_sql[8] = {
    COUNT_SQL(LIST_WHERE_0), COUNT_SQL(LIST_WHERE_1), COUNT_SQL(LIST_WHERE_2), COUNT_SQL(LIST_WHERE_3),
    COUNT_SQL(LIST_WHERE_4), COUNT_SQL(LIST_WHERE_5), COUNT_SQL(LIST_WHERE_6), COUNT_SQL(LIST_WHERE_7),
};

static const char *const sort_names[HANDLER_SORT__MAX] = {
    [HANDLER_SORT_PRIORITY] = "priority", [HANDLER_SORT_ID] = "id",
    [HANDLER_SORT_NAME] = "name",         [HANDLER_SORT_EVENT] = "event",
    [HANDLER_SORT_HANDLER] = "handler",   [HANDLER_SORT_STATUS] = "status",
};

const char *handler_sort_name(enum handler_sort sort)
{
	return (unsigned)sort < HANDLER_SORT__MAX ? sort_names[sort] : sort_names[0];
}

int handler_sort_parse(const char *text, enum handler_sort *sort)
{
	for (unsigned i = 0; text != NULL && i < HANDLER_SORT__MAX; i++)
		if (strcmp(text, sort_names[i]) == 0) {
			*sort = (enum handler_sort)i;
			return 0;
		}
	return -1;
}

const char *handler_filter_check(const struct handler_filter *filter, char *buf, size_t buflen)
{
	enum handler_task_type type;
	enum handler_status status;
	if (filter->events_id && filter->events_id[0] && events_find(filter->events_id) == NULL) {
		snprintf(buf, buflen, "Unknown event; valid events are: %s", events_valid_list());
		return buf;
	}
	if (filter->task_type && filter->task_type[0] &&
	    handler_task_type_parse(filter->task_type, &type) != 0)
		return "Unknown handler type; valid types are: http, script";
	if (filter->status && filter->status[0] && handler_status_parse(filter->status, &status) != 0)
		return "Unknown status; valid statuses are: enabled, disabled, archived";
	if ((unsigned)filter->sort >= HANDLER_SORT__MAX)
		return "Unknown sort column";
	return NULL;
}

/* The filter's WHERE (an index of list_sql / count_sql) and its parameters,
 * in the statement's order: event, type, status. */
static unsigned filter_params(const struct handler_filter *filter, struct db_param *params, size_t *n)
{
	unsigned where = 0;
	*n = 0;
	if (filter->events_id && filter->events_id[0]) {
		where |= 1;
		params[(*n)++] = DB_STR(filter->events_id);
	}
	if (filter->task_type && filter->task_type[0]) {
		where |= 2;
		params[(*n)++] = DB_STR(filter->task_type);
	}
	if (filter->status && filter->status[0]) {
		where |= 4;
		params[(*n)++] = DB_STR(filter->status);
	}
	return where;
}

int handlers_list(struct db *db, const struct handler_filter *filter, struct db_rows *rows)
{
	struct db_param params[5];
	size_t n;
	unsigned where = filter_params(filter, params, &n);
	unsigned sort = (unsigned)filter->sort < HANDLER_SORT__MAX ? (unsigned)filter->sort : 0;
	params[n++] = DB_INT(filter->limit > 0 ? filter->limit : 25);
	params[n++] = DB_INT(filter->offset > 0 ? filter->offset : 0);
	return db_query(db, list_sql[where][sort][filter->descending ? 1 : 0], params, n, rows);
}

int handlers_count(struct db *db, const struct handler_filter *filter, long long *total)
{
	struct db_param params[3];
	size_t n;
	unsigned where = filter_params(filter, params, &n);
	struct db_rows rows;
	if (db_query(db, count_sql[where], params, n, &rows) != 0)
		return -1;
	*total = db_cell_int(&rows, 0, 0, 0);
	db_rows_free(&rows);
	return 0;
}

/* ---------------------------------------------------------------- the store */

static const char SQL_BUMP_VERSION[] =
    "UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1";
static const char SQL_LOCK[] = "SELECT status, revision FROM handlers WHERE id = ? FOR UPDATE";
static const char SQL_INSERT[] =
    "INSERT INTO handlers (name, events_id, task, task_type, status, priority, timeout_ms, "
    "retry_enabled, retry_max_attempts, retry_schedule, signature_scheme, ordered, secret, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())";
static const char SQL_UPDATE[] =
    "UPDATE handlers SET name = ?, events_id = ?, task = ?, task_type = ?, status = ?, "
    "priority = ?, timeout_ms = ?, retry_enabled = ?, retry_max_attempts = ?, "
    "retry_schedule = ?, signature_scheme = ?, ordered = ?, "
    /* A rotation (a new secret with a window in hours) keeps the replaced
     * one; any other new secret or a removal ends an ongoing window. Read
     * before secret is assigned (the assignments run left to right). */
    "old_secret_until = IF(?, old_secret_until, "
    "  IF(? > 0 AND secret IS NOT NULL, UTC_TIMESTAMP() + INTERVAL ? HOUR, NULL)), "
    "old_secret = IF(?, old_secret, IF(? > 0, secret, NULL)), "
    "secret = IF(?, secret, ?), revision = revision + 1, updated_at = UTC_TIMESTAMP() WHERE id = ?";
static const char SQL_SET_STATUS[] =
    "UPDATE handlers SET status = ?, revision = revision + 1, updated_at = UTC_TIMESTAMP() WHERE id = ?";
static const char SQL_DELETE[] = "DELETE FROM handlers WHERE id = ?";
static const char SQL_GET[] =
    "SELECT id, name, events_id, task, task_type, status, priority, timeout_ms, retry_enabled, "
    "retry_max_attempts, retry_schedule, secret IS NOT NULL, last_status, "
    "DATE_FORMAT(last_run_at, '%Y-%m-%d %H:%i:%s'), consecutive_failures, last_error, "
    "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s'), "
    "signature_scheme, IF(old_secret IS NOT NULL AND old_secret_until > UTC_TIMESTAMP(), "
    "DATE_FORMAT(old_secret_until, '%Y-%m-%d %H:%i:%s'), NULL), revision, ordered "
    "FROM handlers WHERE id = ?";

/* Commit when every step went well, else roll back. */
static enum handler_store_result finish(struct db *db, enum handler_store_result result)
{
	if (result == HANDLER_STORE_OK && db_commit(db) == 0)
		return HANDLER_STORE_OK;
	db_rollback(db);
	return result == HANDLER_STORE_OK ? HANDLER_STORE_ERROR : result;
}

static int bump_version(struct db *db)
{
	return db_exec(db, SQL_BUMP_VERSION, NULL, 0, NULL, NULL);
}

/* The change's history row, in the change's transaction (history.h): the
 * handler's fields as they are now after the write, and before (may be
 * NULL: a create). Returns the store result. */
static enum handler_store_result record_history(struct db *db, enum history_action action, long long id,
                                                json_t *before)
{
	int found = 0;
	json_t *after = action == HISTORY_DELETE ? NULL : history_handler_read(db, id, &found);
	enum handler_store_result result = HANDLER_STORE_ERROR;
	if ((action == HISTORY_DELETE || after != NULL) &&
	    history_record_handler(db, action, id, before, after) == 0)
		result = HANDLER_STORE_OK;
	json_decref(after);
	return result;
}

/* The handler's fields before a write (its row is locked), or NULL. */
static json_t *history_before(struct db *db, long long id)
{
	int found = 0;
	return history_handler_read(db, id, &found);
}

/* Lock row id for the transaction; its status into *status, its revision
 * into *revision. */
static enum handler_store_result lock_row(struct db *db, long long id, enum handler_status *status,
                                          long long *revision)
{
	struct db_rows rows;
	struct db_param params[] = {DB_INT(id)};
	if (db_query(db, SQL_LOCK, params, 1, &rows) != 0)
		return HANDLER_STORE_ERROR;
	enum handler_store_result result = HANDLER_STORE_NOT_FOUND;
	if (rows.nrows == 1) {
		result = HANDLER_STORE_OK;
		if (handler_status_parse(db_cell(&rows, 0, 0), status) != 0)
			*status = HANDLER_DISABLED;
		*revision = db_cell_int(&rows, 0, 1, 0);
	}
	db_rows_free(&rows);
	return result;
}

void handler_forget_secret(struct handler *h)
{
	explicit_bzero(h->secret, sizeof h->secret);
}

/* "whsec_" + base64 of HANDLER_SECRET_BYTES random bytes: the form both
 * schemes' receivers expect (Standard Webhooks keys with the decoded bytes,
 * Stripe's format with the whole text). */
static int make_secret(struct handler *h)
{
	unsigned char bytes[HANDLER_SECRET_BYTES];
	char text[4 * ((HANDLER_SECRET_BYTES + 2) / 3) + 1];
	if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
		return -1;
	EVP_EncodeBlock((unsigned char *)text, bytes, sizeof bytes);
	snprintf(h->secret, sizeof h->secret, HANDLER_SECRET_PREFIX "%s", text);
	explicit_bzero(bytes, sizeof bytes);
	explicit_bzero(text, sizeof text);
	return 0;
}

/* The columns SQL_INSERT and SQL_UPDATE share, in their order (p has room
 * for HANDLER_PARAMS). */
#define HANDLER_PARAMS 12
static void handler_params(const struct handler *h, struct db_param *p)
{
	struct db_param all[HANDLER_PARAMS] = {
	    DB_STR(h->name),
	    DB_STR(h->events_id),
	    DB_STR(h->task),
	    DB_STR(handler_task_type_name(h->task_type)),
	    DB_STR(handler_status_name(h->status)),
	    DB_INT(h->priority),
	    DB_INT(h->timeout_ms),
	    DB_INT(h->retry_enabled ? 1 : 0),
	    h->retry_max_attempts > 0 ? DB_INT(h->retry_max_attempts) : DB_NULL(),
	    DB_STR_OR_NULL(h->retry_schedule),
	    DB_STR(handler_scheme_name(h->signature_scheme)),
	    DB_INT(h->ordered ? 1 : 0),
	};
	memcpy(p, all, sizeof all);
}

enum handler_store_result handlers_insert(struct db *db, struct handler *h)
{
	h->secret[0] = '\0';
	if (h->secret_action == HANDLER_SECRET_GENERATE && make_secret(h) != 0)
		return HANDLER_STORE_ERROR;
	struct db_param params[HANDLER_PARAMS + 1];
	handler_params(h, params);
	params[HANDLER_PARAMS] = DB_STR_OR_NULL(h->secret);
	unsigned long long id = 0;
	if (db_begin(db) != 0)
		return HANDLER_STORE_ERROR;
	enum handler_store_result result = HANDLER_STORE_ERROR;
	if (db_exec(db, SQL_INSERT, params, HANDLER_PARAMS + 1, NULL, &id) == 0 && bump_version(db) == 0)
		result = record_history(db, HISTORY_CREATE, (long long)id, NULL);
	result = finish(db, result);
	if (result == HANDLER_STORE_OK) {
		h->id = (long long)id;
		h->has_secret = h->secret[0] != '\0';
	} else {
		handler_forget_secret(h);
	}
	return result;
}

enum handler_store_result handlers_update(struct db *db, long long id, struct handler *h)
{
	h->secret[0] = '\0';
	if (h->secret_action == HANDLER_SECRET_GENERATE && make_secret(h) != 0)
		return HANDLER_STORE_ERROR;
	int keep = h->secret_action == HANDLER_SECRET_KEEP;
	long window_hours = h->secret_action == HANDLER_SECRET_GENERATE ? h->old_secret_hours : 0;
	struct db_param params[HANDLER_PARAMS + 8];
	handler_params(h, params);
	params[HANDLER_PARAMS] = DB_INT(keep);
	params[HANDLER_PARAMS + 1] = DB_INT(window_hours);
	params[HANDLER_PARAMS + 2] = DB_INT(window_hours);
	params[HANDLER_PARAMS + 3] = DB_INT(keep);
	params[HANDLER_PARAMS + 4] = DB_INT(window_hours);
	params[HANDLER_PARAMS + 5] = DB_INT(keep);
	params[HANDLER_PARAMS + 6] = DB_STR_OR_NULL(h->secret); /* NULL: removed */
	params[HANDLER_PARAMS + 7] = DB_INT(id);
	enum handler_status current;
	long long revision = 0;
	if (db_begin(db) != 0)
		return HANDLER_STORE_ERROR;
	enum handler_store_result result = lock_row(db, id, &current, &revision);
	if (result == HANDLER_STORE_OK && h->expected_revision > 0 && h->expected_revision != revision)
		result = HANDLER_STORE_CONFLICT;
	json_t *before = result == HANDLER_STORE_OK ? history_before(db, id) : NULL;
	if (result == HANDLER_STORE_OK &&
	    (before == NULL || db_exec(db, SQL_UPDATE, params, HANDLER_PARAMS + 8, NULL, NULL) != 0 ||
	     bump_version(db) != 0))
		result = HANDLER_STORE_ERROR;
	if (result == HANDLER_STORE_OK)
		result = record_history(db, HISTORY_EDIT, id, before);
	json_decref(before);
	result = finish(db, result);
	if (result == HANDLER_STORE_OK) {
		h->id = id;
		h->revision = revision + 1;
	} else
		handler_forget_secret(h);
	return result;
}

enum handler_store_result handlers_set_status(struct db *db, long long id, enum handler_status to)
{
	if (to == HANDLER_ARCHIVED)
		return HANDLER_STORE_ARCHIVED;
	enum handler_status current;
	long long revision;
	if (db_begin(db) != 0)
		return HANDLER_STORE_ERROR;
	enum handler_store_result result = lock_row(db, id, &current, &revision);
	if (result == HANDLER_STORE_OK && current == HANDLER_ARCHIVED)
		result = HANDLER_STORE_ARCHIVED;
	/* Asking for the status it already has (a double click, two tabs) is done. */
	if (result == HANDLER_STORE_OK && current != to) {
		struct db_param params[] = {DB_STR(handler_status_name(to)), DB_INT(id)};
		json_t *before = history_before(db, id);
		if (before == NULL || db_exec(db, SQL_SET_STATUS, params, 2, NULL, NULL) != 0 ||
		    bump_version(db) != 0)
			result = HANDLER_STORE_ERROR;
		else
			result = record_history(db, HISTORY_STATUS, id, before);
		json_decref(before);
	}
	return finish(db, result);
}

enum handler_store_result handlers_delete(struct db *db, long long id)
{
	enum handler_status current;
	long long revision;
	if (db_begin(db) != 0)
		return HANDLER_STORE_ERROR;
	enum handler_store_result result = lock_row(db, id, &current, &revision);
	if (result == HANDLER_STORE_OK) {
		struct db_param params[] = {DB_INT(id)};
		json_t *before = history_before(db, id);
		if (before == NULL || db_exec(db, SQL_DELETE, params, 1, NULL, NULL) != 0 ||
		    bump_version(db) != 0)
			result = HANDLER_STORE_ERROR;
		else
			result = record_history(db, HISTORY_DELETE, id, before);
		json_decref(before);
	}
	return finish(db, result);
}

static void copy_cell(char *out, size_t outlen, const struct db_rows *rows, size_t col)
{
	const char *cell = db_cell(rows, 0, col);
	snprintf(out, outlen, "%s", cell ? cell : "");
}

enum handler_store_result handlers_get(struct db *db, long long id, struct handler *out)
{
	struct db_rows rows;
	struct db_param params[] = {DB_INT(id)};
	if (db_query(db, SQL_GET, params, 1, &rows) != 0)
		return HANDLER_STORE_ERROR;
	if (rows.nrows != 1) {
		db_rows_free(&rows);
		return HANDLER_STORE_NOT_FOUND;
	}
	memset(out, 0, sizeof *out);
	out->id = db_cell_int(&rows, 0, 0, 0);
	copy_cell(out->name, sizeof out->name, &rows, 1);
	copy_cell(out->events_id, sizeof out->events_id, &rows, 2);
	copy_cell(out->task, sizeof out->task, &rows, 3);
	if (handler_task_type_parse(db_cell(&rows, 0, 4), &out->task_type) != 0)
		out->task_type = HANDLER_TASK_HTTP;
	if (handler_status_parse(db_cell(&rows, 0, 5), &out->status) != 0)
		out->status = HANDLER_DISABLED;
	out->priority = (long)db_cell_int(&rows, 0, 6, 1);
	out->timeout_ms = (long)db_cell_int(&rows, 0, 7, HANDLER_TIMEOUT_DEFAULT_MS);
	out->retry_enabled = db_cell_int(&rows, 0, 8, 1) != 0;
	out->retry_max_attempts = (long)db_cell_int(&rows, 0, 9, 0);
	copy_cell(out->retry_schedule, sizeof out->retry_schedule, &rows, 10);
	out->has_secret = db_cell_int(&rows, 0, 11, 0) != 0;
	copy_cell(out->last_status, sizeof out->last_status, &rows, 12);
	copy_cell(out->last_run_at, sizeof out->last_run_at, &rows, 13);
	out->consecutive_failures = db_cell_int(&rows, 0, 14, 0);
	copy_cell(out->last_error, sizeof out->last_error, &rows, 15);
	copy_cell(out->created_at, sizeof out->created_at, &rows, 16);
	copy_cell(out->updated_at, sizeof out->updated_at, &rows, 17);
	if (handler_scheme_parse(db_cell(&rows, 0, 18), &out->signature_scheme) != 0)
		out->signature_scheme = HANDLER_SCHEME_PROV;
	copy_cell(out->old_secret_until, sizeof out->old_secret_until, &rows, 19);
	out->revision = db_cell_int(&rows, 0, 20, 1);
	out->ordered = db_cell_int(&rows, 0, 21, 1) != 0;
	db_rows_free(&rows);
	return HANDLER_STORE_OK;
}
