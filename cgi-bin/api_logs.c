/* api_logs: the Execution Log over JSON: search with the panel's filters and
 * keyset cursors (core/logs.c), one execution in full, and Redeliver. */
#include "api.h"

#include "../core/api.h"
#include "db.h"
#include "logs.h"
#include "redeliver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_LOGS_LIMIT_DEFAULT 50

static const char *const field_names[LOGS_F__MAX] = {
    [LOGS_F_HANDLER] = "handler", [LOGS_F_EVENT] = "event",     [LOGS_F_STATUS] = "status",
    [LOGS_F_TEXT] = "q",          [LOGS_F_VERDICT] = "verdict", [LOGS_F_FROM] = "from",
    [LOGS_F_TO] = "to",           [LOGS_F_PAGE] = "before",
};

/* A cell as a JSON integer, or null. */
static json_t *int_or_null(const struct db_rows *rows, size_t row, size_t col)
{
	const char *cell = db_cell(rows, row, col);
	return cell ? json_integer(strtoll(cell, NULL, 10)) : json_null();
}

static json_t *text_or_null(const struct db_rows *rows, size_t row, size_t col)
{
	const char *cell = db_cell(rows, row, col);
	return cell ? json_string(cell) : json_null();
}

static json_t *list_item(const struct db_rows *rows, size_t r)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", int_or_null(rows, r, LCOL_ID));
	json_object_set_new(o, "dt", api_time(db_cell(rows, r, LCOL_DT)));
	json_object_set_new(o, "status", text_or_null(rows, r, LCOL_STATUS));
	json_object_set_new(o, "events_id", text_or_null(rows, r, LCOL_EVENTS_ID));
	json_object_set_new(o, "handler_id", int_or_null(rows, r, LCOL_HANDLER_ID));
	json_object_set_new(o, "handler_name", text_or_null(rows, r, LCOL_HANDLER_NAME));
	json_object_set_new(o, "object_id", int_or_null(rows, r, LCOL_OBJECT_ID));
	json_object_set_new(o, "error", text_or_null(rows, r, LCOL_ERROR));
	json_object_set_new(o, "response_preview", text_or_null(rows, r, LCOL_RESPONSE));
	json_object_set_new(o, "duration_us", int_or_null(rows, r, LCOL_DURATION_US));
	json_object_set_new(o, "attempt", int_or_null(rows, r, LCOL_ATTEMPT));
	json_object_set_new(o, "trigger", text_or_null(rows, r, LCOL_TRIGGER));
	json_object_set_new(o, "http_status", int_or_null(rows, r, LCOL_HTTP_STATUS));
	json_object_set_new(o, "exit_code", int_or_null(rows, r, LCOL_EXIT_CODE));
	json_object_set_new(o, "verdict", text_or_null(rows, r, LCOL_VERDICT));
	json_object_set_new(o, "forbid_reason", text_or_null(rows, r, LCOL_FORBID_REASON));
	json_object_set_new(o, "behind_log_id", int_or_null(rows, r, LCOL_BEHIND));
	return o;
}

/* GET /logs?handler=&event=&status=&q=&from=&to=&before=&after=&limit= */
void api_logs_list(struct api_request *req)
{
	static const char *const accepted[] = {"handler", "event",  "status", "verdict", "q", "from",
	                                       "to",      "before", "after",  "limit",   NULL};
	if (api_query_only(req, accepted) != 0)
		return;
	struct logs_input in = {
	    .handler = api_query(req, "handler"),
	    .event = api_query(req, "event"),
	    .status = api_query(req, "status"),
	    .verdict = api_query(req, "verdict"),
	    .text = api_query(req, "q"),
	    .from = api_query(req, "from"),
	    .to = api_query(req, "to"),
	    .before = api_query(req, "before"),
	    .after = api_query(req, "after"),
	};
	static struct logs_query q; /* large; one request at a time per process */
	if (logs_query_parse(&in, &q) > 0) {
		for (size_t f = 0; f < LOGS_F__MAX; f++)
			if (q.errors[f][0] != '\0') {
				api_fail(req, 400, q.errors[f], "bad_request", field_names[f]);
				return;
			}
	}
	long long limit = API_LOGS_LIMIT_DEFAULT;
	const char *limit_text = api_query(req, "limit");
	if (limit_text != NULL) {
		char *end;
		limit = strtoll(limit_text, &end, 10);
		if (limit_text[0] < '0' || limit_text[0] > '9' || *end != '\0' || limit < 1 ||
		    limit > LOGS_PAGE_MAX) {
			char message[96];
			snprintf(message, sizeof message, "limit must be an integer from 1 to %d",
			         LOGS_PAGE_MAX);
			api_fail(req, 400, message, "bad_request", "limit");
			return;
		}
	}
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct logs_page page;
	if (logs_list(db, &q, (size_t)limit, &page) != 0) {
		fprintf(stderr, "prov-api: logs: %s\n", db_error(db));
		api_fail(req, 500, "internal error", "internal", NULL);
		return;
	}
	json_t *items = json_array();
	for (size_t r = 0; r < page.rows.nrows; r++)
		json_array_append_new(items, list_item(&page.rows, r));
	json_t *body = json_pack("{s:o}", "logs", items);
	/* Cursors: pass older as ?before= and newer as ?after= for the next pages. */
	json_object_set_new(body, "older", page.older_id ? json_integer(page.older_id) : json_null());
	json_object_set_new(body, "newer", page.newer_id ? json_integer(page.newer_id) : json_null());
	json_object_set_new(body, "cursor_missing", json_boolean(page.cursor_missing));
	json_object_set_new(body, "search_window_ended", json_boolean(page.window_ended));
	logs_page_free(&page);
	api_reply(req, 200, body);
}

void api_logs_get(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct db_rows row;
	int found = logs_get(db, api_path_id(req), &row);
	if (found <= 0) {
		db_rows_free(&row);
		if (found < 0) {
			fprintf(stderr, "prov-api: log: %s\n", db_error(db));
			api_fail(req, 500, "internal error", "internal", NULL);
		} else {
			api_fail(req, 404, "no execution log entry with that id", "not_found", NULL);
		}
		return;
	}
	static const struct {
		const char *name;
		enum logs_detail_column col;
		int numeric;
	} fields[] = {
	    {"id", DCOL_ID, 1},
	    {"dt", DCOL_DT, 0},
	    {"status", DCOL_STATUS, 0},
	    {"events_id", DCOL_EVENTS_ID, 0},
	    {"handler_id", DCOL_HANDLER_ID, 1},
	    {"handler_name", DCOL_HANDLER_NAME, 0},
	    {"object_id", DCOL_OBJECT_ID, 1},
	    {"event_uid", DCOL_EVENT_UID, 0},
	    {"delivery_id", DCOL_DELIVERY_ID, 0},
	    {"attempt", DCOL_ATTEMPT, 1},
	    {"trigger", DCOL_TRIGGER, 0},
	    {"redelivery_of", DCOL_REDELIVERY_OF, 1},
	    {"http_status", DCOL_HTTP_STATUS, 1},
	    {"exit_code", DCOL_EXIT_CODE, 1},
	    {"duration_us", DCOL_DURATION_US, 1},
	    {"request_body", DCOL_REQUEST_BODY, 0},
	    {"request_headers", DCOL_REQUEST_HEADERS, 0},
	    {"response_body", DCOL_RESPONSE_BODY, 0},
	    {"response_headers", DCOL_RESPONSE_HEADERS, 0},
	    {"script_stderr", DCOL_SCRIPT_STDERR, 0},
	    {"error", DCOL_ERROR, 0},
	    {"verdict", DCOL_VERDICT, 0},
	    {"forbid_reason", DCOL_FORBID_REASON, 0},
	    {"skipped_handlers", DCOL_SKIPPED_HANDLERS, 0},
	    {"behind_log_id", DCOL_BEHIND, 1},
	};
	json_t *o = json_object();
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		json_object_set_new(o, fields[i].name,
		                    fields[i].numeric ? int_or_null(&row, 0, fields[i].col)
		                                      : text_or_null(&row, 0, fields[i].col));
	json_object_set_new(o, "dt", api_time(db_cell(&row, 0, DCOL_DT)));
	json_object_set_new(o, "response_truncated",
	                    json_boolean(db_cell_int(&row, 0, DCOL_RESPONSE_TRUNCATED, 0)));
	db_rows_free(&row);
	api_reply(req, 200, o);
}

/* POST /logs/{id}/redeliver: run it again now; answers with the new execution's
 * outcome, or 202 when a script handler's run was queued for prov-worker. */
void api_logs_redeliver(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct redeliver_outcome out;
	char err[1024] = "";
	switch (redeliver_log(db, &api_app(req)->cfg, api_path_id(req), REDELIVER_HERE_HTTP_ONLY, &out, err,
	                      sizeof err)) {
	case REDELIVER_QUEUED: /* a script: the retry worker runs it as the dispatcher's user */
		api_reply(req, 202,
		          json_pack("{s:I,s:s,s:I}", "redelivery_of", (json_int_t)api_path_id(req), "status",
		                    "queued", "request_id", (json_int_t)out.request_id));
		return;
	case REDELIVER_DONE:
		api_reply(req, 200,
		          json_pack("{s:I,s:I,s:s,s:I,s:s?}", "log_id", (json_int_t)out.new_log_id,
		                    "redelivery_of", (json_int_t)api_path_id(req), "status",
		                    out.success ? "success" : "fail", "attempt", (json_int_t)out.attempt,
		                    "error", out.error[0] ? out.error : NULL));
		return;
	case REDELIVER_NOT_FOUND:
		api_fail(req, 404, "no execution log entry with that id", "not_found", NULL);
		return;
	case REDELIVER_NOT_PUBLISHED:
		api_fail(req, 409,
		         "the handler is not in the published set (disabled, archived, deleted or not yet "
		         "published)",
		         "not_published", NULL);
		return;
	case REDELIVER_ERROR:
		fprintf(stderr, "prov-api: redeliver: %s\n", err);
		api_fail(req, 500, "internal error", "internal", NULL);
		return;
	}
}
