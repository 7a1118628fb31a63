/* page_history: what the panel shows of the history (issue #16): the History
 * panel of the handler form, and in the Task Scheduler the publish preview,
 * the publish history with its diffs, the kept generations and the rollback
 * (confirmation, then the publish of the old snapshot). */
#include "pages.h"

#include "cache.h"
#include "db.h"
#include "events.h"
#include "history.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_PANEL_MAX 50
#define PUBLISH_HISTORY_MAX 10
#define GENERATIONS_MAX 20

/* prefix.N.Label / .Before / .After for a history_changes array. */
static void set_changes(struct web_request *req, const char *prefix, const json_t *changes)
{
	size_t i;
	json_t *c;
	char key[128], text[4096];
	json_array_foreach(changes, i, c)
	{
		const char *field = json_string_value(json_object_get(c, "field"));
		snprintf(key, sizeof key, "%.80s.%zu.Field", prefix, i);
		web_set(req, key, field);
		snprintf(key, sizeof key, "%.80s.%zu.Label", prefix, i);
		web_set(req, key, json_string_value(json_object_get(c, "label")));
		history_value_text(field, json_object_get(c, "before"), text, sizeof text);
		snprintf(key, sizeof key, "%.80s.%zu.Before", prefix, i);
		web_set(req, key, text);
		history_value_text(field, json_object_get(c, "after"), text, sizeof text);
		snprintf(key, sizeof key, "%.80s.%zu.After", prefix, i);
		web_set(req, key, text);
	}
}

static void set_entry(struct web_request *req, const char *prefix, size_t i, const json_t *e)
{
	char key[128];
	snprintf(key, sizeof key, "%.80s.%zu.Id", prefix, i);
	web_set_int(req, key, json_integer_value(json_object_get(e, "id")));
	snprintf(key, sizeof key, "%.80s.%zu.Name", prefix, i);
	web_set(req, key, json_string_value(json_object_get(e, "name")));
	const char *events_id = json_string_value(json_object_get(e, "events_id"));
	const struct event_def *ev = events_id ? events_find(events_id) : NULL;
	snprintf(key, sizeof key, "%.80s.%zu.Event", prefix, i);
	if (ev != NULL)
		web_setf(req, key, "%s › %s", ev->group, ev->label);
	else
		web_set(req, key, events_id);
	json_t *changes = json_object_get(e, "changes");
	if (changes != NULL) {
		snprintf(key, sizeof key, "%.80s.%zu.Changes", prefix, i);
		set_changes(req, key, changes);
	}
}

/* A cache_diff object as prefix.{Added,Changed,Removed}.N and counts. */
static void set_diff(struct web_request *req, const char *prefix, const json_t *diff)
{
	static const char *const kinds[] = {"added", "changed", "removed"};
	static const char *const names[] = {"Added", "Changed", "Removed"};
	char key[128];
	long long all = 0;
	for (size_t k = 0; k < 3; k++) {
		char count_key[32];
		snprintf(count_key, sizeof count_key, "%s_count", kinds[k]);
		long long count = json_integer_value(json_object_get(diff, count_key));
		json_t *list = json_object_get(diff, kinds[k]);
		all += count;
		snprintf(key, sizeof key, "%.80s.%sCount", prefix, names[k]);
		web_set_int(req, key, count);
		snprintf(key, sizeof key, "%.80s.%sMore", prefix, names[k]);
		web_set_int(req, key, count - (long long)json_array_size(list));
		size_t i;
		json_t *e;
		snprintf(key, sizeof key, "%.80s.%s", prefix, names[k]);
		json_array_foreach(list, i, e)
		{
			set_entry(req, key, i, e);
		}
	}
	snprintf(key, sizeof key, "%.80s.Total", prefix);
	web_set_int(req, key, all);
}

static const char *action_label(const char *action)
{
	static const struct {
		const char *action, *label;
	} labels[] = {{"create", "Created"}, {"edit", "Edited"},       {"status", "Status changed"},
	              {"delete", "Deleted"}, {"publish", "Published"}, {"rollback", "Rolled back"}};
	for (size_t i = 0; action != NULL && i < sizeof labels / sizeof labels[0]; i++)
		if (strcmp(action, labels[i].action) == 0)
			return labels[i].label;
	return action;
}

/* prefix.r.<name> = the row's cell, for each (name, column). */
struct cell_name {
	const char *name;
	size_t col;
};
static void set_cells(struct web_request *req, const char *prefix, const struct db_rows *rows, size_t r,
                      const struct cell_name *cells, size_t n)
{
	char key[128];
	for (size_t c = 0; c < n; c++) {
		snprintf(key, sizeof key, "%.80s.%zu.%s", prefix, r, cells[c].name);
		web_set(req, key, db_cell(rows, r, cells[c].col));
	}
}

static json_t *parse_or_null(const char *text)
{
	json_error_t jerr;
	return text != NULL ? json_loads(text, 0, &jerr) : NULL;
}

/* ---------------------------------------------------------------- the handler form */

int page_history_panel(struct web_request *req, struct db *db, long long handler_id)
{
	struct db_rows rows;
	if (history_list_handler(db, handler_id, HISTORY_PANEL_MAX, &rows) != 0)
		return -1;
	static const struct cell_name cells[] = {{"At", HIST_COL_AT},
	                                         {"Actor", HIST_COL_ACTOR},
	                                         {"ActorKind", HIST_COL_ACTOR_KIND},
	                                         {"Action", HIST_COL_ACTION}};
	char key[96];
	for (size_t r = 0; r < rows.nrows; r++) {
		set_cells(req, "History", &rows, r, cells, sizeof cells / sizeof cells[0]);
		snprintf(key, sizeof key, "History.%zu.ActionLabel", r);
		web_set(req, key, action_label(db_cell(&rows, r, HIST_COL_ACTION)));
		json_t *before = parse_or_null(db_cell(&rows, r, HIST_COL_BEFORE));
		json_t *after = parse_or_null(db_cell(&rows, r, HIST_COL_AFTER));
		json_t *changes = history_changes(before, after);
		snprintf(key, sizeof key, "History.%zu.Changes", r);
		if (changes != NULL)
			set_changes(req, key, changes);
		json_decref(changes);
		json_decref(before);
		json_decref(after);
	}
	web_set_int(req, "HistoryCount", (long long)rows.nrows);
	db_rows_free(&rows);
	return 0;
}

/* ---------------------------------------------------------------- the Task Scheduler */

static int set_publish_history(struct web_request *req, struct db *db)
{
	struct db_rows rows;
	if (history_list_cache(db, PUBLISH_HISTORY_MAX, &rows) != 0)
		return -1;
	static const struct cell_name cells[] = {{"At", HIST_COL_AT},
	                                         {"Actor", HIST_COL_ACTOR},
	                                         {"Action", HIST_COL_ACTION},
	                                         {"Generation", HIST_COL_GENERATION}};
	char key[96];
	for (size_t r = 0; r < rows.nrows; r++) {
		set_cells(req, "Publishes", &rows, r, cells, sizeof cells / sizeof cells[0]);
		json_t *details = parse_or_null(db_cell(&rows, r, HIST_COL_AFTER));
		json_t *previous = json_object_get(details, "previous");
		json_t *rollback_of = json_object_get(details, "rollback_of");
		if (json_is_integer(previous)) {
			snprintf(key, sizeof key, "Publishes.%zu.Previous", r);
			web_set_int(req, key, json_integer_value(previous));
		}
		if (json_is_integer(rollback_of)) {
			snprintf(key, sizeof key, "Publishes.%zu.RollbackOf", r);
			web_set_int(req, key, json_integer_value(rollback_of));
		}
		snprintf(key, sizeof key, "Publishes.%zu.HandlerCount", r);
		web_set_int(req, key, json_integer_value(json_object_get(details, "handler_count")));
		snprintf(key, sizeof key, "Publishes.%zu.Diff", r);
		set_diff(req, key, json_object_get(details, "diff"));
		json_decref(details);
	}
	db_rows_free(&rows);
	return 0;
}

static int set_generations(struct web_request *req, struct db *db)
{
	struct db_rows rows;
	if (cache_generations_list(db, GENERATIONS_MAX, &rows) != 0)
		return -1;
	static const struct cell_name cells[] = {
	    {"Generation", 0}, {"PublishedAt", 1}, {"PublishedBy", 2}, {"HandlerCount", 3}, {"Current", 4}};
	for (size_t r = 0; r < rows.nrows; r++)
		set_cells(req, "Generations", &rows, r, cells, sizeof cells / sizeof cells[0]);
	db_rows_free(&rows);
	return 0;
}

int page_history_scheduler(struct web_request *req, struct db *db, int pending)
{
	if (pending) {
		json_t *diff = NULL;
		char err[512];
		if (cache_preview(db, &diff, err, sizeof err) != 0) {
			fprintf(stderr, "prov-panel: %s\n", err);
			return -1;
		}
		set_diff(req, "Preview", diff);
		json_decref(diff);
	}
	const char *rolled = web_param(req, "rolledback");
	if (rolled != NULL && rolled[0] != '\0' && strlen(rolled) < 19 &&
	    strspn(rolled, "0123456789") == strlen(rolled))
		web_set(req, "Flash.RolledBack", rolled);
	if (web_param(req, "notkept") != NULL)
		web_set_int(req, "Flash.NotKept", 1);
	return set_publish_history(req, db) != 0 || set_generations(req, db) != 0 ? -1 : 0;
}

void page_scheduler_rollback_confirm(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	long long generation = web_path_id(req);
	json_t *diff = NULL;
	char err[512];
	int rc = cache_rollback_preview(db, generation, &diff, err, sizeof err);
	if (rc < 0) {
		web_error(req, 500, "The generations could not be read.", err);
		return;
	}
	if (rc > 0) {
		web_error(req, 404, "That generation is not kept (purged, or never published).", NULL);
		return;
	}
	struct cache_status st;
	if (cache_status_read(db, &st) != 0) {
		web_error(req, 500, "The Cache Manager's state could not be read.", db_error(db));
		json_decref(diff);
		return;
	}
	web_set_int(req, "Rollback.Generation", generation);
	web_set_int(req, "Rollback.Current", st.generation);
	set_diff(req, "Rollback.Diff", diff);
	json_decref(diff);
	web_set(req, "Page.Title", "Roll back the published handlers");
	web_set(req, "Page.Section", "scheduler");
	web_render(req, 200, "scheduler_rollback.cs");
}

void page_scheduler_rollback(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct cache_publish_info info;
	char err[1024];
	int rc = cache_rollback(db, web_session(req)->user.name, web_path_id(req), &info, err, sizeof err);
	if (rc > 0) {
		web_redirect(req, "/scheduler?notkept=1");
		return;
	}
	if (rc < 0) {
		fprintf(stderr, "prov-panel: rollback: %s\n", err);
		web_redirect(req, "/scheduler?failed=1");
		return;
	}
	char location[96];
	snprintf(location, sizeof location, "/scheduler?published=%lld&rolledback=%lld", info.generation,
	         web_path_id(req));
	web_redirect(req, location);
}
