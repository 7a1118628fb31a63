/* logs_chain: the reads of the event view and its data comparison. */
#include "logs_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_UID[] = "SELECT event_uid FROM exec_logs WHERE id = ?";
/* ix_logs_event_uid: an event's rows without reading the rest of the log. */
static const char SQL_CHAIN[] =
    "SELECT id, DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f'), status, verdict, forbid_reason, skipped_handlers, "
    "handler_id, handler_name, trigger_kind, attempt, http_status, exit_code, duration_us, request_body, "
    "response_body, response_truncated, LEFT(error, 300), events_id, object_id "
    "FROM exec_logs FORCE INDEX (ix_logs_event_uid) WHERE event_uid = ? ORDER BY dt, id LIMIT ?";
static const char SQL_NAMES[] = "SELECT id, name FROM handlers WHERE FIND_IN_SET(id, ?) > 0";

int logs_chain_uid(struct db *db, long long id, char *uid, size_t uidlen)
{
	struct db_rows rows;
	struct db_param p = DB_INT(id);
	if (db_query(db, SQL_UID, &p, 1, &rows) != 0)
		return -1;
	int found = rows.nrows == 1 && db_cell(&rows, 0, 0) != NULL;
	if (found)
		snprintf(uid, uidlen, "%s", db_cell(&rows, 0, 0));
	db_rows_free(&rows);
	return found;
}

int logs_chain_rows(struct db *db, const char *uid, struct db_rows *rows)
{
	struct db_param p[] = {DB_STR(uid), DB_INT(LOGS_CHAIN_MAX)};
	return db_query(db, SQL_CHAIN, p, 2, rows);
}

int logs_chain_names(struct db *db, const char *ids, struct db_rows *rows)
{
	struct db_param p = DB_STR(ids);
	return db_query(db, SQL_NAMES, &p, 1, rows);
}

json_t *logs_chain_data(const char *body)
{
	json_t *value = body ? json_loads(body, 0, NULL) : NULL;
	json_t *data = json_is_object(value) ? json_object_get(value, "data") : NULL;
	data = json_is_object(data) ? json_incref(data) : NULL;
	json_decref(value);
	return data;
}

static int append_line(char **text, size_t *len, char mark, const char *key)
{
	size_t add = strlen(key) + 2;
	char *grown = realloc(*text, *len + add + 1);
	if (grown == NULL)
		return -1;
	*text = grown;
	snprintf(*text + *len, add + 1, "%c%s\n", mark, key);
	*len += add;
	return 0;
}

char *logs_chain_changes(json_t *before, json_t *after)
{
	char *text = calloc(1, 1);
	size_t len = 0;
	const char *key;
	json_t *value;
	if (text == NULL)
		return NULL;
	json_object_foreach(after, key, value)
	{
		json_t *old = json_object_get(before, key);
		if ((old == NULL && append_line(&text, &len, '+', key) != 0) ||
		    (old != NULL && !json_equal(old, value) && append_line(&text, &len, '~', key) != 0))
			goto oom;
	}
	json_object_foreach(before, key, value)
	{
		if (json_object_get(after, key) == NULL && append_line(&text, &len, '-', key) != 0)
			goto oom;
	}
	return text;
oom:
	free(text);
	return NULL;
}
