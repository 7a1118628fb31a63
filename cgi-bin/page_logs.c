/* page_logs: the Execution Logs pages: the filtered list (all handlers, or one
 * through ?handler=ID), the details of one execution, and the admin's purge. */
#include "pages.h"

#include "page_charts.h"

#include "db.h"
#include "events.h"
#include "logs.h"
#include "redeliver.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_MAX 4096 /* every filter at its longest, percent-encoded, fits */
#define PURGE_BATCH 5000
#define PURGE_WEB_SECONDS 10.0 /* a click purges this long at most; the command finishes */

/* ---------------------------------------------------------------- links */

struct query_string {
	char text[QUERY_MAX];
	size_t len;
};

/* Append name=value, percent-encoding everything but unreserved characters. */
static void query_add(struct query_string *qs, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	if (value == NULL || value[0] == '\0')
		return;
	size_t need = strlen(name) + 2 + 3 * strlen(value);
	if (qs->len + need + 1 > sizeof qs->text)
		return; /* cannot happen with validated filters; never emit half a value */
	char separator = qs->len == 0 ? '?' : '&';
	qs->text[qs->len++] = separator;
	for (const char *p = name; *p; p++)
		qs->text[qs->len++] = *p;
	qs->text[qs->len++] = '=';
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			qs->text[qs->len++] = (char)*p;
		} else {
			qs->text[qs->len++] = '%';
			qs->text[qs->len++] = hex[*p >> 4];
			qs->text[qs->len++] = hex[*p & 15];
		}
	}
	qs->text[qs->len] = '\0';
}

/* The filters of q (from and to as given) as /logs?..., plus one paging parameter. */
static void filters_href(const struct logs_query *q, const char *from, const char *to, const char *paging,
                         long long id, char *out, size_t outlen)
{
	struct query_string qs = {.len = 0};
	char number[32];
	qs.text[0] = '\0';
	if (q->handler_id > 0) {
		snprintf(number, sizeof number, "%lld", q->handler_id);
		query_add(&qs, "handler", number);
	}
	query_add(&qs, "event", q->events_id);
	/* A verdict implies its status: the link carries the verdict alone. */
	if (q->verdict[0])
		query_add(&qs, "verdict", q->verdict);
	else
		query_add(&qs, "status", q->status);
	query_add(&qs, "q", q->text);
	query_add(&qs, "from", from);
	query_add(&qs, "to", to);
	if (paging != NULL) {
		snprintf(number, sizeof number, "%lld", id);
		query_add(&qs, paging, number);
	}
	snprintf(out, outlen, "/logs%s", qs.text);
}

void logs_range_href(const struct logs_query *q, const char *from, const char *to, char *out, size_t outlen)
{
	filters_href(q, from, to, NULL, 0, out, outlen);
}

/* The filters of q as a query string, plus one paging parameter. */
static void filter_link(struct web_request *req, const char *hdf_name, const struct logs_query *q,
                        const char *paging, long long id)
{
	char href[QUERY_MAX + 8];
	filters_href(q, q->from, q->to, paging, id, href, sizeof href);
	web_set(req, hdf_name, href);
}

/* ---------------------------------------------------------------- shared HDF */

static void set_event(struct web_request *req, const char *prefix, const char *events_id)
{
	char key[96];
	const struct event_def *event = events_find(events_id);
	snprintf(key, sizeof key, "%s.EventId", prefix);
	web_set(req, key, events_id);
	snprintf(key, sizeof key, "%s.EventGroup", prefix);
	web_set(req, key, event ? event->group : "");
	snprintf(key, sizeof key, "%s.EventLabel", prefix);
	web_set(req, key, event ? event->label : events_id);
}

static void set_duration(struct web_request *req, const char *key, const char *microseconds)
{
	char text[32];
	logs_format_duration(microseconds ? strtoll(microseconds, NULL, 10) : 0, text, sizeof text);
	web_set(req, key, text);
}

static void set_event_catalog(struct web_request *req)
{
	char key[64];
	for (size_t i = 0; i < events_count(); i++) {
		const struct event_def *event = events_at(i);
		snprintf(key, sizeof key, "Events.%zu.Id", i);
		web_set(req, key, event->id);
		snprintf(key, sizeof key, "Events.%zu.Group", i);
		web_set(req, key, event->group);
		snprintf(key, sizeof key, "Events.%zu.Label", i);
		web_set(req, key, event->label);
	}
}

/* The handler filter: a select of every handler when there are at most
 * LOGS_HANDLER_CHOICES_MAX, else a field for the id (a select of thousands is
 * neither usable nor cheap to render on every page); and the heading's name
 * for ?handler=ID. */
static int set_handler_choices(struct web_request *req, struct db *db, long long selected)
{
	char key[64];
	struct db_rows rows;
	if (logs_handler_choices(db, &rows) != 0)
		return -1;
	if (rows.nrows > LOGS_HANDLER_CHOICES_MAX) {
		db_rows_free(&rows);
		web_set_int(req, "HandlerChoicesTooMany", 1);
		if (selected <= 0)
			return 0;
		if (logs_handler_name(db, selected, &rows) != 0)
			return -1;
		if (rows.nrows > 0)
			web_set(req, "Filter.HandlerName", db_cell(&rows, 0, 0));
		db_rows_free(&rows);
		return 0;
	}
	for (size_t i = 0; i < rows.nrows; i++) {
		snprintf(key, sizeof key, "HandlerChoices.%zu.Id", i);
		web_set(req, key, db_cell(&rows, i, 0));
		snprintf(key, sizeof key, "HandlerChoices.%zu.Name", i);
		web_set(req, key, db_cell(&rows, i, 1));
		snprintf(key, sizeof key, "HandlerChoices.%zu.Status", i);
		web_set(req, key, db_cell(&rows, i, 2));
		if (selected > 0 && db_cell_int(&rows, i, 0, 0) == selected) {
			snprintf(key, sizeof key, "HandlerChoices.%zu.Selected", i);
			web_set_int(req, key, 1);
			web_set(req, "Filter.HandlerName", db_cell(&rows, i, 1));
		}
	}
	db_rows_free(&rows);
	return 0;
}

/* ---------------------------------------------------------------- the list */

static void set_log_row(struct web_request *req, const struct db_rows *rows, size_t row)
{
	char prefix[32], key[64], preview[512];
	snprintf(prefix, sizeof prefix, "Logs.%zu", row);
	static const struct {
		const char *name;
		enum logs_list_column col;
	} plain[] = {
	    {"Id", LCOL_ID},
	    {"Date", LCOL_DT},
	    {"Status", LCOL_STATUS},
	    {"HandlerId", LCOL_HANDLER_ID},
	    {"HandlerName", LCOL_HANDLER_NAME},
	    {"ObjectId", LCOL_OBJECT_ID},
	    {"Attempt", LCOL_ATTEMPT},
	    {"Trigger", LCOL_TRIGGER},
	    {"HttpStatus", LCOL_HTTP_STATUS},
	    {"ExitCode", LCOL_EXIT_CODE},
	    {"Verdict", LCOL_VERDICT},
	    {"ForbidReason", LCOL_FORBID_REASON},
	    {"Behind", LCOL_BEHIND},
	};
	/* Only what has a value: every HDF node costs, 25 rows a page. */
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		const char *value = db_cell(rows, row, plain[i].col);
		if (value == NULL || value[0] == '\0')
			continue;
		snprintf(key, sizeof key, "%s.%s", prefix, plain[i].name);
		web_set(req, key, value);
	}
	set_event(req, prefix, db_cell(rows, row, LCOL_EVENTS_ID));
	const char *error = db_cell(rows, row, LCOL_ERROR);
	const char *shown = error && error[0] ? error : db_cell(rows, row, LCOL_RESPONSE);
	logs_preview(shown, 90, preview, sizeof preview);
	snprintf(key, sizeof key, "%s.Preview", prefix);
	web_set(req, key, preview);
	if (error && error[0]) {
		snprintf(key, sizeof key, "%s.PreviewIsError", prefix);
		web_set_int(req, key, 1);
	}
	snprintf(key, sizeof key, "%s.Duration", prefix);
	set_duration(req, key, db_cell(rows, row, LCOL_DURATION_US));
}

/* At most max bytes of text, never ending inside a UTF-8 sequence. */
static void copy_prefix(const char *text, char *out, size_t max)
{
	size_t len = text ? strlen(text) : 0;
	if (len >= max) {
		len = max - 1;
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
	}
	if (len > 0)
		memcpy(out, text, len);
	out[len] = '\0';
}

static void set_filters(struct web_request *req, const struct logs_input *in, const struct logs_query *q)
{
	static const char *const error_names[LOGS_F__MAX] = {
	    [LOGS_F_HANDLER] = "Handler", [LOGS_F_EVENT] = "Event",     [LOGS_F_STATUS] = "Status",
	    [LOGS_F_TEXT] = "Text",       [LOGS_F_FROM] = "From",       [LOGS_F_TO] = "To",
	    [LOGS_F_PAGE] = "Page",       [LOGS_F_VERDICT] = "Verdict",
	};
	char key[64], shown[256];
	/* Echo what was typed (bounded), so a refused value can be corrected. */
	const char *echo[] = {in->handler, in->event, in->status, in->text, in->from, in->to, in->verdict};
	const char *names[] = {"Handler", "Event", "Status", "Text", "From", "To", "Verdict"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		copy_prefix(echo[i], shown, sizeof shown);
		snprintf(key, sizeof key, "Filter.%s", names[i]);
		web_set(req, key, shown);
	}
	for (size_t f = 0; f < LOGS_F__MAX; f++) {
		if (q->errors[f][0] == '\0')
			continue;
		snprintf(key, sizeof key, "Errors.%s", error_names[f]);
		web_set(req, key, q->errors[f]);
	}
	web_set_int(req, "ErrorCount", q->nerrors);
	web_set_int(req, "Filter.Active",
	            q->handler_id > 0 || q->events_id[0] || q->status[0] || q->verdict[0] || q->text[0] ||
	                q->from[0] || q->to[0]);
}

static void set_pager(struct web_request *req, const struct logs_query *q, const struct logs_page *page)
{
	if (q->before_id > 0 || q->after_id > 0 || page->cursor_missing)
		filter_link(req, "Pager.Newest", q, NULL, 0);
	if (page->newer_id > 0)
		filter_link(req, "Pager.Newer", q, "after", page->newer_id);
	if (page->older_id > 0)
		filter_link(req, "Pager.Older", q, "before", page->older_id);
	filter_link(req, "Pager.Self", q, NULL, 0);
	web_set_int(req, "Pager.CursorMissing", page->cursor_missing);
	if (page->window_ended) {
		web_set_int(req, "Search.WindowEnded", 1);
		web_set(req, "Search.WindowDate", page->window_dt);
	}
	web_set_int(req, "Search.Window", LOGS_SEARCH_WINDOW);
}

/* The admin's retention box; the last run's result only right after a purge
 * (the Task Scheduler page shows it otherwise), which saves a query a page. */
static int set_purge_info(struct web_request *req, struct db *db)
{
	const struct session *session = web_session(req);
	if (session == NULL || session->user.role != ROLE_ADMIN)
		return 0;
	web_set_int(req, "Purge.Days", web_app(req)->cfg.log_retention_days);
	if (web_param(req, "purged") == NULL)
		return 0;
	web_set_int(req, "Purge.Done", 1);
	struct db_rows row;
	if (logs_purge_last(db, &row) != 0)
		return -1;
	if (row.nrows == 1) {
		web_set(req, "Purge.LastRun", db_cell(&row, 0, 0));
		web_set(req, "Purge.LastResult", db_cell(&row, 0, 1));
		web_set(req, "Purge.LastDetail", db_cell(&row, 0, 2));
	}
	db_rows_free(&row);
	return 0;
}

/* The list's query. Large; one request at a time per process. */
static struct logs_query list_query;

static int list_parse(struct web_request *req, struct logs_input *in)
{
	*in = (struct logs_input){
	    .handler = web_param(req, "handler"),
	    .event = web_param(req, "event"),
	    .status = web_param(req, "status"),
	    .verdict = web_param(req, "verdict"),
	    .text = web_param(req, "q"),
	    .from = web_param(req, "from"),
	    .to = web_param(req, "to"),
	    .before = web_param(req, "before"),
	    .after = web_param(req, "after"),
	};
	return logs_query_parse(in, &list_query);
}

static size_t list_page_size(struct web_request *req)
{
	return (size_t)web_app(req)->cfg.page_size_default;
}

void page_logs_list(struct web_request *req)
{
	struct logs_input in;
	int problems = list_parse(req, &in);
	const struct logs_query *q = &list_query;
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	set_filters(req, &in, q);
	set_event_catalog(req);
	if (set_handler_choices(req, db, q->handler_id) != 0 || set_purge_info(req, db) != 0) {
		web_error(req, 500, "The execution log could not be read.", db_error(db));
		return;
	}
	web_set(req, "Page.Title", "Execution Logs");
	web_set(req, "Page.Section", "logs");
	if (q->handler_id > 0) /* as text: ClearSilver's numbers are too small for every id */
		web_set_int(req, "Filter.HandlerId", q->handler_id);
	if (problems > 0) {
		web_set_int(req, "List.Count", 0);
		web_render(req, 422, "logs_list.cs");
		return;
	}
	struct logs_page page;
	if (logs_list(db, q, list_page_size(req), &page) != 0) {
		web_error(req, 500, "The execution log could not be read.", db_error(db));
		return;
	}
	for (size_t row = 0; row < page.rows.nrows; row++)
		set_log_row(req, &page.rows, row);
	if (q->handler_id > 0 && page.rows.nrows > 0)
		web_set(req, "Filter.LoggedName", db_cell(&page.rows, 0, LCOL_HANDLER_NAME));
	web_set_int(req, "List.Count", (long long)page.rows.nrows);
	set_pager(req, q, &page);
	page_logs_bulk_offer(req, db, &in); /* page_bulk.c */
	charts_set_logs(req, db, q);
	web_render(req, 200, "logs_list.cs");
	logs_page_free(&page);
}

/* ---------------------------------------------------------------- details */

/* A body for people: re-indented when it is JSON, as stored otherwise. */
static void set_body(struct web_request *req, const char *key, const char *json_key, const char *body)
{
	char *pretty = logs_pretty_json(body);
	web_set(req, key, pretty ? pretty : body);
	web_set_int(req, json_key, pretty != NULL);
	free(pretty);
}

/* Header blocks as stored by the dispatcher ("Name: value" lines), minus CRs. */
static void set_headers(struct web_request *req, const char *key, const char *headers)
{
	if (headers == NULL)
		return;
	char *copy = strdup(headers);
	if (copy == NULL) {
		web_set(req, key, headers);
		return;
	}
	char *out = copy;
	for (const char *p = headers; *p; p++)
		if (*p != '\r')
			*out++ = *p;
	*out = '\0';
	web_set(req, key, copy);
	free(copy);
}

static void set_attempts(struct web_request *req, struct db *db, const char *delivery_id)
{
	struct db_rows rows;
	char key[64];
	static const char *const names[] = {"Id",         "Date",     "Status", "Attempt", "Trigger",
	                                    "HttpStatus", "ExitCode", NULL,     "Error"};
	if (delivery_id == NULL || logs_delivery_attempts(db, delivery_id, &rows) != 0)
		return; /* the page is still useful without them */
	for (size_t i = 0; i < rows.nrows; i++) {
		for (size_t c = 0; c < sizeof names / sizeof names[0]; c++) {
			if (names[c] == NULL)
				continue;
			snprintf(key, sizeof key, "Attempts.%zu.%s", i, names[c]);
			web_set(req, key, db_cell(&rows, i, c));
		}
		snprintf(key, sizeof key, "Attempts.%zu.Duration", i);
		set_duration(req, key, db_cell(&rows, i, 7));
	}
	web_set_int(req, "AttemptCount", (long long)rows.nrows);
	db_rows_free(&rows);
}

static void set_detail(struct web_request *req, const struct db_rows *row)
{
	static const struct {
		const char *name;
		enum logs_detail_column col;
	} plain[] = {
	    {"Id", DCOL_ID},
	    {"Date", DCOL_DT},
	    {"Status", DCOL_STATUS},
	    {"HandlerId", DCOL_HANDLER_ID},
	    {"HandlerName", DCOL_HANDLER_NAME},
	    {"ObjectId", DCOL_OBJECT_ID},
	    {"EventUid", DCOL_EVENT_UID},
	    {"DeliveryId", DCOL_DELIVERY_ID},
	    {"Attempt", DCOL_ATTEMPT},
	    {"Trigger", DCOL_TRIGGER},
	    {"RedeliveryOf", DCOL_REDELIVERY_OF},
	    {"HttpStatus", DCOL_HTTP_STATUS},
	    {"ExitCode", DCOL_EXIT_CODE},
	    {"Stderr", DCOL_SCRIPT_STDERR},
	    {"Error", DCOL_ERROR},
	    {"DurationUs", DCOL_DURATION_US},
	    {"Verdict", DCOL_VERDICT},
	    {"ForbidReason", DCOL_FORBID_REASON},
	    {"Behind", DCOL_BEHIND},
	};
	char key[64];
	/* SQL NULL leaves the node out, so templates test presence (?Log.X), which
	 * also holds for ids past ClearSilver's integer range. */
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		const char *value = db_cell(row, 0, plain[i].col);
		if (value == NULL)
			continue;
		snprintf(key, sizeof key, "Log.%s", plain[i].name);
		web_set(req, key, value);
	}
	set_event(req, "Log", db_cell(row, 0, DCOL_EVENTS_ID));
	set_duration(req, "Log.Duration", db_cell(row, 0, DCOL_DURATION_US));
	set_body(req, "Log.RequestBody", "Log.RequestIsJson", db_cell(row, 0, DCOL_REQUEST_BODY));
	web_set_int(req, "Log.HasResponse", db_cell(row, 0, DCOL_RESPONSE_BODY) != NULL);
	set_body(req, "Log.ResponseBody", "Log.ResponseIsJson", db_cell(row, 0, DCOL_RESPONSE_BODY));
	set_headers(req, "Log.RequestHeaders", db_cell(row, 0, DCOL_REQUEST_HEADERS));
	set_headers(req, "Log.ResponseHeaders", db_cell(row, 0, DCOL_RESPONSE_HEADERS));
	web_set_int(req, "Log.ResponseTruncated", db_cell_int(row, 0, DCOL_RESPONSE_TRUNCATED, 0));
	web_set_int(req, "Log.ResponseMax", web_app(req)->cfg.response_max_bytes);
}

void page_logs_detail(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	long long id = web_path_id(req);
	struct db_rows row;
	int found = logs_get(db, id, &row);
	if (found < 0) {
		web_error(req, 500, "The execution log could not be read.", db_error(db));
		return;
	}
	if (found == 0) {
		db_rows_free(&row);
		web_error(req, 404, "There is no such execution log entry; it may have been purged.", NULL);
		return;
	}
	set_detail(req, &row);
	set_attempts(req, db, db_cell(&row, 0, DCOL_DELIVERY_ID));
	db_rows_free(&row);
	/* The answer of a Redeliver lands here, on the new execution. */
	const char *redelivered = web_param(req, "redelivered");
	if (redelivered != NULL)
		web_set(req, "Redelivered",
		        strcmp(redelivered, "ok") == 0       ? "ok"
		        : strcmp(redelivered, "queued") == 0 ? "queued"
		                                             : "fail");
	web_setf(req, "Page.Title", "Execution #%lld", id);
	web_set(req, "Page.Section", "logs");
	web_render(req, 200, "logs_detail.cs");
}

/* ---------------------------------------------------------------- redeliver */

/* POST /logs/#/redeliver: run that execution's handler again now (admin). */
void page_logs_redeliver(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct redeliver_outcome out;
	char err[1024] = "";
	switch (redeliver_log(db, &web_app(req)->cfg, web_path_id(req), REDELIVER_HERE_HTTP_ONLY, &out, err,
	                      sizeof err)) {
	case REDELIVER_QUEUED: { /* a script: the retry worker runs it as the dispatcher's user */
		char path[96];
		snprintf(path, sizeof path, "/logs/%lld?redelivered=queued", web_path_id(req));
		web_redirect(req, path);
		return;
	}
	case REDELIVER_DONE: {
		char path[96];
		snprintf(path, sizeof path, "/logs/%lld?redelivered=%s", out.new_log_id,
		         out.success ? "ok" : "fail");
		web_redirect(req, path);
		return;
	}
	case REDELIVER_NOT_FOUND:
		web_error(req, 404, "There is no such execution log entry; it may have been purged.", NULL);
		return;
	case REDELIVER_NOT_PUBLISHED:
		web_error(req, 409,
		          "This handler is not in the published set (disabled, archived, deleted, or never "
		          "published), so it cannot be run.",
		          err[0] ? err : NULL);
		return;
	case REDELIVER_ERROR: web_error(req, 500, "The redelivery could not be completed.", err); return;
	}
}

/* ---------------------------------------------------------------- purge */

void page_logs_purge(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct logs_purge_result result;
	char err[512];
	if (logs_purge(db, web_app(req)->cfg.log_retention_days, PURGE_BATCH, PURGE_WEB_SECONDS, &result, err,
	               sizeof err) != 0) {
		web_error(req, 500, "The purge stopped on a database error; see the Task Scheduler.", err);
		return;
	}
	web_redirect(req, "/logs?purged=1");
}
