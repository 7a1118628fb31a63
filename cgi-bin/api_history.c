/* api_history: history, publish preview and rollback over JSON (issue #16):
 * GET /handlers/{id}/history, GET /cache/preview, GET /cache/history,
 * GET /cache/generations, POST /cache/rollback. */
#include "api.h"

#include "../core/api.h"
#include "cache.h"
#include "db.h"
#include "history.h"

#include <stdio.h>
#include <string.h>

#define API_HISTORY_MAX 100

static void internal(struct api_request *req, const char *what, struct db *db)
{
	fprintf(stderr, "prov-api: %s: %s\n", what, db_error(db));
	api_fail(req, 500, "internal error", "internal", NULL);
}

static json_t *parsed(const char *text)
{
	json_error_t jerr;
	json_t *v = text != NULL ? json_loads(text, 0, &jerr) : NULL;
	return v != NULL ? v : json_null();
}

static json_t *history_entry(const struct db_rows *rows, size_t r)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)db_cell_int(rows, r, HIST_COL_ID, 0),
	                      "actor_kind", db_cell(rows, r, HIST_COL_ACTOR_KIND), "actor",
	                      db_cell(rows, r, HIST_COL_ACTOR), "action", db_cell(rows, r, HIST_COL_ACTION));
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "at", api_time(db_cell(rows, r, HIST_COL_AT)));
	return o;
}

void api_handlers_history(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct db_rows rows;
	if (history_list_handler(db, api_path_id(req), API_HISTORY_MAX, &rows) != 0) {
		internal(req, "history", db);
		return;
	}
	json_t *list = json_array();
	for (size_t r = 0; list != NULL && r < rows.nrows; r++) {
		json_t *o = history_entry(&rows, r);
		json_t *before = parsed(db_cell(&rows, r, HIST_COL_BEFORE));
		json_t *after = parsed(db_cell(&rows, r, HIST_COL_AFTER));
		json_t *changes =
		    history_changes(json_is_null(before) ? NULL : before, json_is_null(after) ? NULL : after);
		if (o != NULL) {
			json_object_set_new(o, "changes", changes ? changes : json_array());
			json_object_set_new(o, "before", before);
			json_object_set_new(o, "after", after);
			json_array_append_new(list, o);
		} else {
			json_decref(changes);
			json_decref(before);
			json_decref(after);
		}
	}
	db_rows_free(&rows);
	api_reply(req, 200,
	          json_pack("{s:I, s:o}", "handler_id", (json_int_t)api_path_id(req), "history", list));
}

void api_cache_preview(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct cache_status st;
	json_t *diff = NULL;
	char err[512];
	if (cache_status_read(db, &st) != 0 || cache_preview(db, &diff, err, sizeof err) != 0) {
		internal(req, "preview", db);
		return;
	}
	api_reply(req, 200,
	          json_pack("{s:I, s:b, s:o}", "generation", (json_int_t)st.generation, "pending", st.pending,
	                    "diff", diff));
}

void api_cache_history(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct db_rows rows;
	if (history_list_cache(db, API_HISTORY_MAX, &rows) != 0) {
		internal(req, "publish history", db);
		return;
	}
	json_t *list = json_array();
	for (size_t r = 0; list != NULL && r < rows.nrows; r++) {
		json_t *o = history_entry(&rows, r);
		json_t *details = parsed(db_cell(&rows, r, HIST_COL_AFTER));
		if (o == NULL) {
			json_decref(details);
			continue;
		}
		static const char *const keys[] = {"generation", "previous", "rollback_of", "handler_count",
		                                   "diff"};
		for (size_t k = 0; k < 5; k++) {
			json_t *v = json_object_get(details, keys[k]);
			json_object_set(o, keys[k], v ? v : json_null());
		}
		json_decref(details);
		json_array_append_new(list, o);
	}
	db_rows_free(&rows);
	api_reply(req, 200, json_pack("{s:o}", "history", list));
}

void api_cache_generations(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct db_rows rows;
	if (cache_generations_list(db, API_HISTORY_MAX, &rows) != 0) {
		internal(req, "generations", db);
		return;
	}
	json_t *list = json_array();
	for (size_t r = 0; list != NULL && r < rows.nrows; r++) {
		json_t *o = json_pack(
		    "{s:I, s:s, s:I, s:b}", "generation", (json_int_t)db_cell_int(&rows, r, 0, 0),
		    "published_by", db_cell(&rows, r, 2), "handler_count",
		    (json_int_t)db_cell_int(&rows, r, 3, 0), "current", db_cell_int(&rows, r, 4, 0) != 0);
		if (o != NULL) {
			json_object_set_new(o, "published_at", api_time(db_cell(&rows, r, 1)));
			json_array_append_new(list, o);
		}
	}
	db_rows_free(&rows);
	api_reply(req, 200, json_pack("{s:o}", "generations", list));
}

void api_cache_rollback(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	json_t *body = api_body(req);
	json_t *g = json_is_object(body) ? json_object_get(body, "generation") : NULL;
	if (!json_is_integer(g) || json_integer_value(g) <= 0 || json_object_size(body) != 1) {
		api_fail(req, 422, "a JSON object {\"generation\": N} naming a kept generation is required",
		         "validation", "generation");
		return;
	}
	struct cache_publish_info info;
	char err[512];
	int rc = cache_rollback(db, api_user(req)->name, json_integer_value(g), &info, err, sizeof err);
	if (rc > 0) {
		api_fail(req, 404, "that generation is not kept (purged, or never published)", "not_found",
		         "generation");
		return;
	}
	if (rc < 0) {
		fprintf(stderr, "prov-api: rollback: %s\n", err);
		api_fail(req, 500, "the Cache Manager could not roll back; see the server log", "internal",
		         NULL);
		return;
	}
	api_reply(req, 200,
	          json_pack("{s:I, s:I, s:I}", "generation", (json_int_t)info.generation, "rollback_of",
	                    (json_int_t)json_integer_value(g), "handler_count",
	                    (json_int_t)info.handler_count));
}
