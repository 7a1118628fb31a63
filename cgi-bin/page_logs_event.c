/* page_logs_event: the event view (issue #16): every handler execution of one
 * event id, reached from any of its log rows. The dispatch chain in the order
 * it ran (priority order) with each verdict and duration, the data each step
 * received and what a modifying reply set, the handlers a forbid kept from
 * running (recorded on the forbidding row at dispatch time), then the later
 * executions of the event (retries, redeliveries, tests). */
#include "pages.h"

#include "db.h"
#include "events.h"
#include "logs.h"
#include "logs_chain.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_json(struct web_request *req, const char *key, json_t *value)
{
	char *text = value ? json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (text != NULL)
		web_set(req, key, text);
	free(text);
}

/* The handlers the forbid of row r kept from running, by id as recorded. */
static void set_skipped(struct web_request *req, struct db *db, const char *prefix, const char *ids)
{
	struct db_rows names = {0};
	int have_names = logs_chain_names(db, ids, &names) == 0;
	char key[96];
	size_t n = 0;
	const char *p = ids;
	while (*p != '\0' && n < 200) {
		char *end;
		long long id = strtoll(p, &end, 10);
		if (end == p)
			break;
		snprintf(key, sizeof key, "%s.Skipped.%zu.Id", prefix, n);
		web_setf(req, key, "%lld", id);
		for (size_t i = 0; have_names && i < names.nrows; i++)
			if (db_cell_int(&names, i, 0, 0) == id) {
				snprintf(key, sizeof key, "%s.Skipped.%zu.Name", prefix, n);
				web_set(req, key, db_cell(&names, i, 1));
			}
		n++;
		p = *end == ',' ? end + 1 : end;
	}
	if (have_names)
		db_rows_free(&names);
}

/* One execution's HDF under prefix; next_request: the next chain step's
 * request body (its data is what this step passed on), or NULL. */
static void set_step(struct web_request *req, struct db *db, const char *prefix, const struct db_rows *rows,
                     size_t r, const char *next_request)
{
	static const struct {
		const char *name;
		enum logs_chain_column col;
	} plain[] = {
	    {"Id", CCOL_ID},
	    {"Date", CCOL_DT},
	    {"Status", CCOL_STATUS},
	    {"Verdict", CCOL_VERDICT},
	    {"ForbidReason", CCOL_FORBID_REASON},
	    {"HandlerId", CCOL_HANDLER_ID},
	    {"HandlerName", CCOL_HANDLER_NAME},
	    {"Trigger", CCOL_TRIGGER},
	    {"Attempt", CCOL_ATTEMPT},
	    {"HttpStatus", CCOL_HTTP_STATUS},
	    {"ExitCode", CCOL_EXIT_CODE},
	    {"Error", CCOL_ERROR},
	};
	char key[96], text[32];
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		const char *value = db_cell(rows, r, plain[i].col);
		if (value == NULL)
			continue;
		snprintf(key, sizeof key, "%s.%s", prefix, plain[i].name);
		web_set(req, key, value);
	}
	logs_format_duration(db_cell_int(rows, r, CCOL_DURATION_US, 0), text, sizeof text);
	snprintf(key, sizeof key, "%s.Duration", prefix);
	web_set(req, key, text);
	const char *verdict = db_cell(rows, r, CCOL_VERDICT);
	if (verdict == NULL || strcmp(verdict, "modified") != 0)
		goto skipped;
	json_t *before = logs_chain_data(db_cell(rows, r, CCOL_REQUEST_BODY));
	/* What the reply set; a cut reply is read from the next step's request. */
	json_t *after = db_cell_int(rows, r, CCOL_RESPONSE_TRUNCATED, 0)
	                    ? NULL
	                    : logs_chain_data(db_cell(rows, r, CCOL_RESPONSE_BODY));
	if (after == NULL && next_request != NULL)
		after = logs_chain_data(next_request);
	snprintf(key, sizeof key, "%s.Before", prefix);
	set_json(req, key, before);
	snprintf(key, sizeof key, "%s.After", prefix);
	set_json(req, key, after);
	char *changes = before && after ? logs_chain_changes(before, after) : NULL;
	snprintf(key, sizeof key, "%s.Changes", prefix);
	if (changes != NULL)
		web_set(req, key, changes);
	free(changes);
	json_decref(before);
	json_decref(after);
skipped:;
	const char *skipped = db_cell(rows, r, CCOL_SKIPPED);
	if (skipped != NULL && skipped[0] != '\0')
		set_skipped(req, db, prefix, skipped);
}

void page_logs_event(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	long long id = web_path_id(req);
	char uid[80];
	int found = logs_chain_uid(db, id, uid, sizeof uid);
	struct db_rows rows;
	if (found < 0 || (found == 1 && logs_chain_rows(db, uid, &rows) != 0)) {
		web_error(req, 500, "The execution log could not be read.", db_error(db));
		return;
	}
	if (found == 0) {
		web_error(req, 404, "There is no such execution log entry; it may have been purged.", NULL);
		return;
	}
	size_t chain = 0, later = 0;
	for (size_t r = 0; r < rows.nrows; r++) {
		char prefix[32];
		const char *trigger = db_cell(&rows, r, CCOL_TRIGGER);
		if (trigger != NULL && strcmp(trigger, "dispatch") == 0) {
			const char *next = NULL;
			for (size_t k = r + 1; k < rows.nrows && next == NULL; k++)
				if (strcmp(db_cell(&rows, k, CCOL_TRIGGER), "dispatch") == 0)
					next = db_cell(&rows, k, CCOL_REQUEST_BODY);
			snprintf(prefix, sizeof prefix, "Chain.%zu", chain++);
			set_step(req, db, prefix, &rows, r, next);
		} else {
			snprintf(prefix, sizeof prefix, "Later.%zu", later++);
			set_step(req, db, prefix, &rows, r, NULL);
		}
	}
	if (rows.nrows > 0) {
		const char *events_id = db_cell(&rows, 0, CCOL_EVENTS_ID);
		const struct event_def *event = events_find(events_id);
		web_set(req, "Event.EventId", events_id);
		web_set(req, "Event.EventGroup", event ? event->group : "");
		web_set(req, "Event.EventLabel", event ? event->label : events_id);
		web_set(req, "Event.ObjectId", db_cell(&rows, 0, CCOL_OBJECT_ID));
		web_set(req, "Event.First", db_cell(&rows, 0, CCOL_DT));
	}
	web_set(req, "Event.Uid", uid);
	web_set_int(req, "Event.From", id);
	web_set_int(req, "Event.ChainCount", (long long)chain);
	web_set_int(req, "Event.LaterCount", (long long)later);
	web_set_int(req, "Event.Capped", rows.nrows >= LOGS_CHAIN_MAX);
	db_rows_free(&rows);
	web_set(req, "Page.Title", "Event chain");
	web_set(req, "Page.Section", "logs");
	web_render(req, 200, "logs_event.cs");
}
