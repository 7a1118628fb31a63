/* history: the change_history table (see history.h). */
#include "history.h"

#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char actor_kind[16] = "system";
static char actor_name[HISTORY_ACTOR_MAX + 1] = "system";

static const char *const action_names[] = {
    [HISTORY_CREATE] = "create", [HISTORY_EDIT] = "edit",       [HISTORY_STATUS] = "status",
    [HISTORY_DELETE] = "delete", [HISTORY_PUBLISH] = "publish", [HISTORY_ROLLBACK] = "rollback",
};

const char *history_action_name(enum history_action action)
{
	return (unsigned)action <= HISTORY_ROLLBACK ? action_names[action] : "edit";
}

void history_set_actor(const char *kind, const char *name)
{
	static const char *const kinds[] = {"panel", "api", "cli", "system"};
	const char *k = "system";
	for (size_t i = 0; kind != NULL && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kind, kinds[i]) == 0)
			k = kinds[i];
	snprintf(actor_kind, sizeof actor_kind, "%s", k);
	snprintf(actor_name, sizeof actor_name, "%s", name != NULL && name[0] != '\0' ? name : k);
}

const char *history_actor_kind(void)
{
	return actor_kind;
}

const char *history_actor_name(void)
{
	return actor_name;
}

static const char SQL_HANDLER[] =
    "SELECT id, name, events_id, task, task_type, status, priority, timeout_ms, retry_enabled, "
    "retry_max_attempts, retry_schedule, signature_scheme, secret IS NOT NULL, SHA2(secret, 256), revision "
    "FROM handlers WHERE id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO change_history (at, actor_kind, actor, kind, action, handler_id, generation, before_json, "
    "after_json) VALUES (UTC_TIMESTAMP(6), ?, ?, ?, ?, ?, ?, ?, ?)";
#define LIST_COLUMNS                                                                                         \
	"SELECT id, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s'), actor_kind, actor, action, handler_id, "           \
	"generation, "                                                                                       \
	"before_json, after_json FROM change_history "
static const char SQL_LIST_HANDLER[] =
    LIST_COLUMNS "WHERE kind = 'handler' AND handler_id = ? ORDER BY id DESC LIMIT ?";
static const char SQL_LIST_CACHE[] = LIST_COLUMNS "WHERE kind = 'cache' ORDER BY id DESC LIMIT ?";

static json_t *text_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *int_or_null(const struct db_rows *rows, size_t col)
{
	return db_cell(rows, 0, col) != NULL ? json_integer(db_cell_int(rows, 0, col, 0)) : json_null();
}

json_t *history_handler_read(struct db *db, long long id, int *found)
{
	struct db_rows rows;
	struct db_param p[] = {DB_INT(id)};
	*found = -1;
	if (db_query(db, SQL_HANDLER, p, 1, &rows) != 0)
		return NULL;
	*found = rows.nrows == 1;
	json_t *h = NULL;
	if (rows.nrows == 1 && (h = json_object()) != NULL) {
		int rc = 0;
		rc |= json_object_set_new(h, "id", json_integer(db_cell_int(&rows, 0, 0, 0)));
		rc |= json_object_set_new(h, "name", text_or_null(db_cell(&rows, 0, 1)));
		rc |= json_object_set_new(h, "events_id", text_or_null(db_cell(&rows, 0, 2)));
		rc |= json_object_set_new(h, "task", text_or_null(db_cell(&rows, 0, 3)));
		rc |= json_object_set_new(h, "task_type", text_or_null(db_cell(&rows, 0, 4)));
		rc |= json_object_set_new(h, "status", text_or_null(db_cell(&rows, 0, 5)));
		rc |= json_object_set_new(h, "priority", json_integer(db_cell_int(&rows, 0, 6, 1)));
		rc |= json_object_set_new(h, "timeout_ms", json_integer(db_cell_int(&rows, 0, 7, 0)));
		rc |= json_object_set_new(h, "retry_enabled", json_boolean(db_cell_int(&rows, 0, 8, 1) != 0));
		rc |= json_object_set_new(h, "retry_max_attempts", int_or_null(&rows, 9));
		rc |= json_object_set_new(h, "retry_schedule", text_or_null(db_cell(&rows, 0, 10)));
		rc |= json_object_set_new(h, "signature_scheme", text_or_null(db_cell(&rows, 0, 11)));
		rc |= json_object_set_new(h, "secret",
		                          db_cell_int(&rows, 0, 12, 0) ? json_string("set") : json_null());
		rc |= json_object_set_new(h, "secret_digest", text_or_null(db_cell(&rows, 0, 13)));
		rc |= json_object_set_new(h, "revision", json_integer(db_cell_int(&rows, 0, 14, 1)));
		if (rc != 0) {
			json_decref(h);
			h = NULL;
			*found = -1;
		}
	} else if (rows.nrows == 1) {
		*found = -1;
	}
	db_rows_free(&rows);
	return h;
}

/* The object as stored: without the digest (a secret's digest is a
 * dictionary attack's target), with "secret_changed" when it changed. */
static char *stored_text(json_t *obj, int changed)
{
	if (obj == NULL)
		return NULL;
	json_t *copy = json_deep_copy(obj);
	if (copy == NULL)
		return NULL;
	json_object_del(copy, "secret_digest");
	if (changed)
		json_object_set_new(copy, "secret_changed", json_true());
	char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	return text;
}

static int insert_as(struct db *db, const char *who_kind, const char *by, const char *kind,
                     enum history_action action, long long handler_id, long long generation,
                     const char *before, const char *after)
{
	struct db_param p[] = {DB_STR(who_kind),
	                       DB_STR(by),
	                       DB_STR(kind),
	                       DB_STR(history_action_name(action)),
	                       handler_id > 0 ? DB_INT(handler_id) : DB_NULL(),
	                       generation > 0 ? DB_INT(generation) : DB_NULL(),
	                       DB_STR_OR_NULL(before),
	                       DB_STR_OR_NULL(after)};
	return db_exec(db, SQL_INSERT, p, 8, NULL, NULL);
}

static int insert(struct db *db, const char *by, const char *kind, enum history_action action,
                  long long handler_id, long long generation, const char *before, const char *after)
{
	return insert_as(db, actor_kind, by, kind, action, handler_id, generation, before, after);
}

int history_record_handler(struct db *db, enum history_action action, long long handler_id, json_t *before,
                           json_t *after)
{
	int changed = 0;
	if (before != NULL && after != NULL) {
		const char *a = json_string_value(json_object_get(before, "secret_digest"));
		const char *b = json_string_value(json_object_get(after, "secret_digest"));
		changed = a != NULL && b != NULL && strcmp(a, b) != 0;
	}
	char *before_text = stored_text(before, 0), *after_text = stored_text(after, changed);
	int rc = -1;
	if ((before == NULL || before_text != NULL) && (after == NULL || after_text != NULL))
		rc = insert(db, actor_name, "handler", action, handler_id, 0, before_text, after_text);
	free(before_text);
	free(after_text);
	return rc;
}

int history_record_auto_disable(struct db *db, long long handler_id, long threshold)
{
	char actor[96];
	snprintf(actor, sizeof actor, "auto-disable: %ld failures in a row", threshold);
	return insert_as(db, "system", actor, "handler", HISTORY_STATUS, handler_id, 0,
	                 "{\"status\":\"enabled\"}", "{\"status\":\"disabled\"}");
}

int history_record_cache(struct db *db, enum history_action action, const char *by, long long generation,
                         json_t *details)
{
	char *text = details ? json_dumps(details, JSON_COMPACT) : NULL;
	if (details != NULL && text == NULL)
		return -1;
	/* The panel's and the API's own actor names the key; a CLI's is --by. */
	int own = strcmp(actor_kind, "panel") == 0 || strcmp(actor_kind, "api") == 0;
	int rc = insert(db, own || by == NULL || by[0] == '\0' ? actor_name : by, "cache", action, 0,
	                generation, NULL, text);
	free(text);
	return rc;
}

int history_list_handler(struct db *db, long long handler_id, long limit, struct db_rows *rows)
{
	struct db_param p[] = {DB_INT(handler_id), DB_INT(limit)};
	return db_query(db, SQL_LIST_HANDLER, p, 2, rows);
}

int history_list_cache(struct db *db, long limit, struct db_rows *rows)
{
	struct db_param p[] = {DB_INT(limit)};
	return db_query(db, SQL_LIST_CACHE, p, 1, rows);
}
