/* history: who changed what (issue #16). Every handler create, edit, status
 * change and delete (handlers.c) and every publish or rollback of the Cache
 * Manager (cache.c) writes one change_history row in the transaction of the
 * change itself: who (panel user, API key, CLI), when, and the fields before
 * and after as JSON. A secret is never stored: only "set"/none and whether it
 * changed. history_diff.c turns two such objects into field-by-field changes. */
#ifndef PROV_HISTORY_H
#define PROV_HISTORY_H

#include <jansson.h>
#include <stddef.h>

struct db;
struct db_rows;

enum history_action {
	HISTORY_CREATE,
	HISTORY_EDIT,
	HISTORY_STATUS,
	HISTORY_DELETE,
	HISTORY_PUBLISH,
	HISTORY_ROLLBACK,
};

#define HISTORY_ACTOR_MAX 255

/* Who the changes of this process (until the next call) are made by. kind is
 * "panel", "api", "cli" or "system"; the panel and the API set it for every
 * request (one request at a time per process), the CLIs once. Until set:
 * "system". */
void history_set_actor(const char *kind, const char *name);
const char *history_actor_kind(void);
const char *history_actor_name(void);

/* The stored fields of handler id as a JSON object, read in the caller's
 * transaction; NULL when there is no such handler (*found 0) or on a database
 * error (*found -1). Its "secret_digest" member is only for comparison:
 * history_record_handler removes it. */
json_t *history_handler_read(struct db *db, long long id, int *found);

/* Write one handler change (before and/or after may be NULL; both are
 * borrowed). Returns 0 or -1 (db_error says why). */
int history_record_handler(struct db *db, enum history_action action, long long handler_id, json_t *before,
                           json_t *after);
/* The auto_disable_failures setting switched handler_id off (logstore.c, in
 * the log's transaction): recorded as a status change by "system". */
int history_record_auto_disable(struct db *db, long long handler_id, long threshold);
/* Write one publish or rollback by the publisher by (cache_publish's): details is borrowed. */
int history_record_cache(struct db *db, enum history_action action, const char *by, long long generation,
                         json_t *details);

/* The newest changes of one handler, newest first, at most limit. Columns:
 * HIST_COL_*. */
enum history_column {
	HIST_COL_ID,
	HIST_COL_AT, /* "YYYY-MM-DD HH:MM:SS" UTC */
	HIST_COL_ACTOR_KIND,
	HIST_COL_ACTOR,
	HIST_COL_ACTION,
	HIST_COL_HANDLER_ID,
	HIST_COL_GENERATION,
	HIST_COL_BEFORE,
	HIST_COL_AFTER,
	HIST_COL__MAX
};
int history_list_handler(struct db *db, long long handler_id, long limit, struct db_rows *rows);
/* The newest publishes and rollbacks, newest first. */
int history_list_cache(struct db *db, long limit, struct db_rows *rows);

const char *history_action_name(enum history_action action);

/* ---------------------------------------------------------------- diffing (pure) */

/* The fields that differ between two handler objects (either may be NULL:
 * a create or a delete lists every field), in a fixed, readable order:
 * an array of {"field", "label", "before", "after"}; a secret change is
 * {"field":"secret","label":"Signing secret","before":"set"|null,
 *  "after":"changed"|"set"|null}, never its value. New reference. */
json_t *history_changes(const json_t *before, const json_t *after);

/* A field value as people read it: strings as they are, null as "(none)",
 * booleans as yes/no, numbers in decimal; timeout_ms in seconds. */
void history_value_text(const char *field, const json_t *value, char *out, size_t outlen);

#endif
