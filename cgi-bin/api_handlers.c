/* api_handlers: handlers over JSON (SPEC section 8). The same validation and
 * store as the panel's form (core/handlers.c): what the form refuses, this
 * refuses with 422 naming the field. */
#include "api.h"

#include "../core/api.h"
#include "db.h"
#include "events.h"
#include "handler_test.h"
#include "handlers.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_LIST_LIMIT_DEFAULT 50
#define API_LIST_LIMIT_MAX 500

/* JSON member -> handler_input member, with the JSON type it must have. */
enum json_kind { KIND_STRING, KIND_INTEGER, KIND_BOOLEAN, KIND_MILLISECONDS };

struct api_field {
	const char *json;  /* name in the API */
	const char *input; /* name in struct handler_input and in its errors */
	enum json_kind kind;
	int nullable;
	size_t offset;
};

#define FIELD(j, i, k, n)                                                                                    \
	{                                                                                                    \
		j, #i, k, n, offsetof(struct handler_input, i)                                               \
	}
static const struct api_field api_fields[] = {
    FIELD("name", name, KIND_STRING, 0),
    FIELD("events_id", events_id, KIND_STRING, 0),
    FIELD("task", task, KIND_STRING, 0),
    FIELD("status", status, KIND_STRING, 0),
    FIELD("priority", priority, KIND_INTEGER, 0),
    FIELD("timeout_ms", timeout, KIND_MILLISECONDS, 0),
    FIELD("retry_enabled", retry_enabled, KIND_BOOLEAN, 0),
    FIELD("retry_schedule", retry_schedule, KIND_STRING, 1),
    FIELD("retry_max_attempts", retry_max_attempts, KIND_INTEGER, 1),
    FIELD("ordered", ordered, KIND_BOOLEAN, 0),
    FIELD("secret_action", secret_action, KIND_STRING, 0),
    FIELD("old_secret_hours", old_secret_hours, KIND_INTEGER, 0),
    FIELD("signature_scheme", signature_scheme, KIND_STRING, 0),
    FIELD("revision", revision, KIND_INTEGER, 0),
};
#define NFIELDS (sizeof api_fields / sizeof api_fields[0])

static const char *json_name_of(const char *input_field)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strcmp(api_fields[i].input, input_field) == 0)
			return api_fields[i].json;
	return input_field;
}

/* Text storage for converted values: one slot per field. */
struct input_text {
	char slot[NFIELDS][64];
};

static const char **input_member(struct handler_input *in, const struct api_field *f)
{
	return (const char **)((char *)in + f->offset);
}

/* Copy the body's members into in (over whatever it holds). Answers 422 and
 * returns -1 on an unknown member or a value of the wrong type. */
static int input_from_json(struct api_request *req, json_t *body, struct handler_input *in,
                           struct input_text *text)
{
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value)
	{
		const struct api_field *f = NULL;
		for (size_t i = 0; i < NFIELDS && f == NULL; i++)
			if (strcmp(api_fields[i].json, key) == 0)
				f = &api_fields[i];
		if (f == NULL) {
			/* Cut at a character boundary: the message goes out as JSON. */
			size_t shown = utf8_prefix(key, 100);
			char message[160];
			snprintf(message, sizeof message, "unknown field '%.*s'", (int)shown, key);
			api_fail(req, 422, message, "unknown_field", key);
			return -1;
		}
		char *buf = text->slot[f - api_fields];
		const char **member = input_member(in, f);
		if (json_is_null(value) && f->nullable) {
			*member = "";
			continue;
		}
		switch (f->kind) {
		case KIND_STRING:
			if (!json_is_string(value))
				goto wrong_type;
			*member = json_string_value(value);
			break;
		case KIND_INTEGER:
		case KIND_MILLISECONDS:
			if (!json_is_integer(value))
				goto wrong_type;
			if (f->kind == KIND_INTEGER)
				snprintf(buf, 64, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
			else if (json_integer_value(value) < 0)
				snprintf(buf, 64, "-1");
			else
				snprintf(buf, 64, "%" JSON_INTEGER_FORMAT ".%03d",
				         json_integer_value(value) / 1000,
				         (int)(json_integer_value(value) % 1000));
			*member = buf;
			break;
		case KIND_BOOLEAN:
			if (!json_is_boolean(value))
				goto wrong_type;
			*member = json_is_true(value) ? "1" : "0";
			break;
		}
		continue;
	wrong_type:;
		char message[128];
		snprintf(message, sizeof message, "%s must be %s", key,
		         f->kind == KIND_STRING    ? "a string"
		         : f->kind == KIND_BOOLEAN ? "true or false"
		                                   : "an integer");
		api_fail(req, 422, message, "invalid_type", key);
		return -1;
	}
	return 0;
}

/* The task a key's user may read: masked for viewers (handler_task_masked). */
static json_t *task_json(struct api_request *req, const char *task)
{
	if (api_user(req)->role == ROLE_ADMIN)
		return json_string(task ? task : "");
	char masked[HANDLER_TASK_MASKED_MAX];
	handler_task_masked(task ? task : "", masked, sizeof masked);
	return json_string(masked);
}

static json_t *handler_json(struct api_request *req, const struct handler *h)
{
	json_t *o =
	    json_pack("{s:I,s:s,s:s,s:o,s:s,s:s,s:I,s:I,s:b,s:b}", "id", (json_int_t)h->id, "name", h->name,
	              "events_id", h->events_id, "task", task_json(req, h->task), "task_type",
	              handler_task_type_name(h->task_type), "status", handler_status_name(h->status),
	              "priority", (json_int_t)h->priority, "timeout_ms", (json_int_t)h->timeout_ms,
	              "retry_enabled", h->retry_enabled, "has_secret", h->has_secret);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "retry_schedule",
	                    h->retry_schedule[0] ? json_string(h->retry_schedule) : json_null());
	json_object_set_new(o, "retry_max_attempts",
	                    h->retry_max_attempts > 0 ? json_integer(h->retry_max_attempts) : json_null());
	json_object_set_new(o, "last_status", h->last_status[0] ? json_string(h->last_status) : json_null());
	json_object_set_new(o, "last_run_at", api_time(h->last_run_at));
	json_object_set_new(o, "consecutive_failures", json_integer(h->consecutive_failures));
	json_object_set_new(o, "created_at", api_time(h->created_at));
	json_object_set_new(o, "updated_at", api_time(h->updated_at));
	json_object_set_new(o, "signature_scheme", json_string(handler_scheme_name(h->signature_scheme)));
	json_object_set_new(o, "ordered", json_boolean(h->ordered));
	/* While a rotation's window lasts: until when the old secret still signs. */
	json_object_set_new(o, "old_secret_until", api_time(h->old_secret_until));
	json_object_set_new(o, "revision", json_integer(h->revision));
	if (h->secret[0]) /* only in the answer of the save that generated it */
		json_object_set_new(o, "secret", json_string(h->secret));
	return o;
}

static void fail_validation(struct api_request *req, const struct handler_errors *errors)
{
	const struct handler_field_error *first = &errors->list[0];
	json_t *fields = json_object();
	for (size_t i = 0; i < errors->count; i++)
		json_object_set_new(fields, json_name_of(errors->list[i].field),
		                    json_string(errors->list[i].message));
	json_t *body = json_pack("{s:{s:s,s:{s:s,s:s,s:o}}}", "error", "message", first->message, "data",
	                         "code", "validation", "field", json_name_of(first->field), "fields", fields);
	api_reply(req, 422, body);
}

static void fail_store(struct api_request *req, enum handler_store_result result, struct db *db)
{
	if (result == HANDLER_STORE_NOT_FOUND)
		api_fail(req, 404, "no handler with that id", "not_found", NULL);
	else if (result == HANDLER_STORE_ARCHIVED)
		api_fail(req, 409, "an archived handler changes status only through an update", "archived",
		         "status");
	else if (result == HANDLER_STORE_CONFLICT)
		api_fail(req, 409,
		         "the handler was saved by someone else since that revision: GET it again and "
		         "apply the change to what it is now",
		         "conflict", "revision");
	else {
		fprintf(stderr, "prov-api: handlers: %s\n", db_error(db));
		api_fail(req, 500, "internal error", "internal", NULL);
	}
}

/* Read back what was stored and answer with it (plus a generated secret). */
static void reply_handler(struct api_request *req, struct db *db, long long id, int status,
                          struct handler *saved)
{
	struct handler *h = malloc(sizeof *h);
	if (h == NULL) {
		api_fail(req, 500, "internal error", "internal", NULL);
		return;
	}
	enum handler_store_result got = handlers_get(db, id, h);
	if (got != HANDLER_STORE_OK) {
		free(h);
		fail_store(req, got, db);
		return;
	}
	if (saved != NULL)
		memcpy(h->secret, saved->secret, sizeof h->secret);
	api_reply(req, status, handler_json(req, h));
	handler_forget_secret(h);
	free(h);
}

void api_handlers_create(struct api_request *req)
{
	json_t *body = api_body(req);
	if (body == NULL) {
		api_fail(req, 400, "a JSON object body is required", "bad_request", NULL);
		return;
	}
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct handler_input in = {0};
	struct input_text text = {0};
	if (input_from_json(req, body, &in, &text) != 0)
		return;
	struct handler *h = calloc(1, sizeof *h);
	struct handler_errors *errors = calloc(1, sizeof *errors);
	if (h == NULL || errors == NULL) {
		api_fail(req, 500, "internal error", "internal", NULL);
	} else if (handler_validate(&in, api_app(req)->cfg.scripts_dir, api_app(req)->cfg.outbound_allow, h,
	                            errors) != 0) {
		fail_validation(req, errors);
	} else {
		enum handler_store_result r = handlers_insert(db, h);
		if (r != HANDLER_STORE_OK)
			fail_store(req, r, db);
		else
			reply_handler(req, db, h->id, 201, h);
		handler_forget_secret(h);
	}
	free(errors);
	free(h);
}

void api_handlers_get(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	reply_handler(req, db, api_path_id(req), 200, NULL);
}

/* PATCH: the stored handler's values, overridden by the body's members, go
 * through the same validation as a full save. */
void api_handlers_update(struct api_request *req)
{
	json_t *body = api_body(req);
	if (body == NULL) {
		api_fail(req, 400, "a JSON object body is required", "bad_request", NULL);
		return;
	}
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct handler *old = calloc(1, sizeof *old);
	struct handler *h = calloc(1, sizeof *h);
	struct handler_errors *errors = calloc(1, sizeof *errors);
	if (old == NULL || h == NULL || errors == NULL) {
		api_fail(req, 500, "internal error", "internal", NULL);
		goto out;
	}
	enum handler_store_result got = handlers_get(db, api_path_id(req), old);
	if (got != HANDLER_STORE_OK) {
		fail_store(req, got, db);
		goto out;
	}
	char priority[32], timeout[32], attempts[32], revision[32];
	snprintf(revision, sizeof revision, "%lld", old->revision);
	snprintf(priority, sizeof priority, "%ld", old->priority);
	snprintf(timeout, sizeof timeout, "%ld.%03ld", old->timeout_ms / 1000, old->timeout_ms % 1000);
	snprintf(attempts, sizeof attempts, "%ld", old->retry_max_attempts);
	struct handler_input in = {
	    .name = old->name,
	    .events_id = old->events_id,
	    .task = old->task,
	    .status = handler_status_name(old->status),
	    .priority = priority,
	    .timeout = timeout,
	    .retry_enabled = old->retry_enabled ? "1" : "0",
	    .retry_schedule = old->retry_schedule,
	    .retry_max_attempts = old->retry_max_attempts > 0 ? attempts : "",
	    .ordered = old->ordered ? "1" : "0",
	    .secret_action = "keep",
	    .signature_scheme = handler_scheme_name(old->signature_scheme),
	    /* The revision read above, unless the body names the one its change
	     * was made on: a save in between is a conflict, never overwritten. */
	    .revision = revision,
	};
	struct input_text text = {0};
	if (input_from_json(req, body, &in, &text) != 0)
		goto out;
	if (handler_validate(&in, api_app(req)->cfg.scripts_dir, api_app(req)->cfg.outbound_allow, h,
	                     errors) != 0) {
		fail_validation(req, errors);
		goto out;
	}
	enum handler_store_result r = handlers_update(db, api_path_id(req), h);
	if (r != HANDLER_STORE_OK)
		fail_store(req, r, db);
	else
		reply_handler(req, db, api_path_id(req), 200, h);
	handler_forget_secret(h);
out:
	free(errors);
	free(h);
	free(old);
}

void api_handlers_delete(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	enum handler_store_result r = handlers_delete(db, api_path_id(req));
	if (r != HANDLER_STORE_OK)
		fail_store(req, r, db);
	else
		api_reply(req, 204, NULL);
}

/* POST /handlers/{id}/status {"status":"enabled"|"disabled"}: the status icon's toggle. */
void api_handlers_set_status(struct api_request *req)
{
	json_t *body = api_body(req);
	json_t *status = body ? json_object_get(body, "status") : NULL;
	enum handler_status to;
	if (body == NULL || json_object_size(body) != 1 || !json_is_string(status) ||
	    handler_status_parse(json_string_value(status), &to) != 0 || to == HANDLER_ARCHIVED) {
		api_fail(req, 422, "body must be {\"status\": \"enabled\"} or {\"status\": \"disabled\"}",
		         "validation", "status");
		return;
	}
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	enum handler_store_result r = handlers_set_status(db, api_path_id(req), to);
	if (r != HANDLER_STORE_OK)
		fail_store(req, r, db);
	else
		reply_handler(req, db, api_path_id(req), 200, NULL);
}

/* A positive integer query parameter within [1, max], or fallback when absent. */
static int query_long(struct api_request *req, const char *name, long long max, long long fallback,
                      long long *out)
{
	const char *text = api_query(req, name);
	*out = fallback;
	if (text == NULL)
		return 0;
	char *end;
	long long value = strtoll(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || value < 1 || value > max) {
		char message[128];
		snprintf(message, sizeof message, "%s must be an integer from 1 to %lld", name, max);
		api_fail(req, 400, message, "bad_request", name);
		return -1;
	}
	*out = value;
	return 0;
}

/* GET /handlers?events_id=&task_type=&status=&sort=&order=&limit=&offset= */
void api_handlers_list(struct api_request *req)
{
	static const char *const accepted[] = {"events_id", "task_type", "status", "sort",
	                                       "order",     "limit",     "offset", NULL};
	if (api_query_only(req, accepted) != 0)
		return;
	struct handler_filter filter = {
	    .events_id = api_query(req, "events_id"),
	    .task_type = api_query(req, "task_type"),
	    .status = api_query(req, "status"),
	    .sort = HANDLER_SORT_PRIORITY,
	};
	const char *sort = api_query(req, "sort");
	const char *order = api_query(req, "order");
	char problem[768];
	const char *bad = handler_filter_check(&filter, problem, sizeof problem);
	if (bad == NULL && sort != NULL && handler_sort_parse(sort, &filter.sort) != 0)
		bad = "sort must be one of priority, id, name, event, handler, status";
	if (bad == NULL && order != NULL && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
		bad = "order must be asc or desc";
	if (bad != NULL) {
		api_fail(req, 400, bad, "bad_request", NULL);
		return;
	}
	filter.descending = order != NULL && strcmp(order, "desc") == 0;
	if (query_long(req, "limit", API_LIST_LIMIT_MAX, API_LIST_LIMIT_DEFAULT, &filter.limit) != 0)
		return;
	const char *offset = api_query(req, "offset");
	if (offset != NULL) {
		char *end;
		filter.offset = strtoll(offset, &end, 10);
		if (offset[0] < '0' || offset[0] > '9' || *end != '\0' || filter.offset > 100000000) {
			api_fail(req, 400, "offset must be a non-negative integer", "bad_request", "offset");
			return;
		}
	}
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	long long total = 0;
	struct db_rows rows;
	if (handlers_count(db, &filter, &total) != 0 || handlers_list(db, &filter, &rows) != 0) {
		fprintf(stderr, "prov-api: handlers list: %s\n", db_error(db));
		api_fail(req, 500, "internal error", "internal", NULL);
		return;
	}
	json_t *items = json_array();
	for (size_t r = 0; r < rows.nrows; r++) {
		const char *last_status = db_cell(&rows, r, HCOL_LAST_STATUS);
		const char *last_run = db_cell(&rows, r, HCOL_LAST_RUN_AT);
		json_array_append_new(
		    items,
		    json_pack("{s:I,s:I,s:s,s:s,s:o,s:s,s:s,s:o,s:o,s:I,s:b}", "id",
		              (json_int_t)db_cell_int(&rows, r, HCOL_ID, 0), "priority",
		              (json_int_t)db_cell_int(&rows, r, HCOL_PRIORITY, 0), "name",
		              db_cell(&rows, r, HCOL_NAME), "events_id", db_cell(&rows, r, HCOL_EVENTS_ID),
		              "task", task_json(req, db_cell(&rows, r, HCOL_TASK)), "task_type",
		              db_cell(&rows, r, HCOL_TASK_TYPE), "status", db_cell(&rows, r, HCOL_STATUS),
		              "last_status", last_status ? json_string(last_status) : json_null(),
		              "last_run_at", api_time(last_run), "consecutive_failures",
		              (json_int_t)db_cell_int(&rows, r, HCOL_FAILURES, 0), "has_secret",
		              (int)db_cell_int(&rows, r, HCOL_HAS_SECRET, 0)));
	}
	db_rows_free(&rows);
	api_reply(req, 200,
	          json_pack("{s:o,s:I,s:I,s:I}", "handlers", items, "total", (json_int_t)total, "limit",
	                    (json_int_t)filter.limit, "offset", (json_int_t)filter.offset));
}

/* ---------------------------------------------------------------- test sends */

/* Run the test and answer: 200 with the result (sent, whatever the handler
 * answered), 422 when it was not sent; a script handler is queued for
 * prov-worker (202, api_handler_tests.c). */
static void run_test(struct api_request *req, struct db *db, const struct handler *h, json_t *data)
{
	if (h->task_type == HANDLER_TASK_SCRIPT) {
		api_handler_test_queue(req, db, h, data);
		return;
	}
	struct handler_test t;
	char err[DELIVERY_ERROR_MAX];
	switch (
	    handler_test_run(db, &api_app(req)->cfg, h, data, HANDLER_TEST_HTTP_ONLY, &t, err, sizeof err)) {
	case HANDLER_TEST_DONE: api_reply(req, 200, handler_test_json(&t)); break;
	case HANDLER_TEST_REFUSED: api_fail(req, 422, err, "not_here", "task"); break;
	case HANDLER_TEST_ERROR:
		fprintf(stderr, "prov-api: handler test: %s\n", err);
		api_fail(req, 500, "internal error", "internal", NULL);
		break;
	}
	handler_test_free(&t);
}

/* The body's "data" (absent or null: the event's sample). 0, or -1 answered. */
static int test_data(struct api_request *req, json_t *member, const char *events_id, json_t **data)
{
	char err[256];
	*data = NULL;
	if (member != NULL && !json_is_null(member) && !json_is_object(member)) {
		api_fail(req, 422, "data must be a JSON object", "invalid_type", "data");
		return -1;
	}
	char *text = member && json_is_object(member) ? json_dumps(member, JSON_COMPACT) : NULL;
	int rc = handler_test_data_read(text, events_id, data, err, sizeof err);
	free(text);
	if (rc != 0)
		api_fail(req, 422, err, "validation", "data");
	return rc;
}

/* Members a test body may have besides "data". */
static int test_body_check(struct api_request *req, json_t *body, const char *allowed)
{
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value)
	{
		if (strcmp(key, "data") == 0 || strcmp(key, allowed) == 0)
			continue;
		char message[160];
		snprintf(message, sizeof message, "unknown field '%.*s' (expected data, %s)",
		         (int)utf8_prefix(key, 100), key, allowed);
		api_fail(req, 422, message, "unknown_field", key);
		return -1;
	}
	return 0;
}

/* POST /handlers/#/test {"events_id"?, "data"?}: the stored handler, in any status. */
void api_handlers_test(struct api_request *req)
{
	json_t *body = api_body(req);
	json_t *empty = body ? NULL : json_object();
	struct db *db = api_db(req);
	struct handler *h = calloc(1, sizeof *h);
	json_t *data = NULL;
	if (db == NULL)
		goto out;
	if (h == NULL) {
		api_fail(req, 500, "internal error", "internal", NULL);
		goto out;
	}
	if (body == NULL)
		body = empty; /* no body: the handler's event and its sample */
	if (test_body_check(req, body, "events_id") != 0)
		goto out;
	enum handler_store_result got = handlers_get(db, api_path_id(req), h);
	if (got != HANDLER_STORE_OK) {
		fail_store(req, got, db);
		goto out;
	}
	json_t *event = json_object_get(body, "events_id");
	if (event != NULL && !json_is_null(event)) {
		const struct event_def *def =
		    json_is_string(event) ? events_find(json_string_value(event)) : NULL;
		if (def == NULL) {
			char message[1200];
			snprintf(message, sizeof message, "unknown event; valid events: %s",
			         events_valid_list());
			api_fail(req, 422, message, "validation", "events_id");
			goto out;
		}
		snprintf(h->events_id, sizeof h->events_id, "%s", def->id);
	}
	if (test_data(req, json_object_get(body, "data"), h->events_id, &data) == 0)
		run_test(req, db, h, data);
out:
	json_decref(data);
	json_decref(empty);
	free(h);
}

/* POST /handlers/test {"handler":{...}, "data"?}: an unsaved handler, checked
 * exactly as a create is (nothing is stored but the log row). */
void api_handlers_test_unsaved(struct api_request *req)
{
	json_t *body = api_body(req);
	if (body == NULL) {
		api_fail(req, 400, "a JSON object body is required", "bad_request", NULL);
		return;
	}
	json_t *fields = json_object_get(body, "handler");
	if (test_body_check(req, body, "handler") != 0)
		return;
	if (!json_is_object(fields)) {
		api_fail(req, 422, "handler must be a JSON object with the fields of a create",
		         "invalid_type", "handler");
		return;
	}
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct handler_input in = {0};
	struct input_text text = {0};
	if (input_from_json(req, fields, &in, &text) != 0)
		return;
	struct handler *h = calloc(1, sizeof *h);
	struct handler_errors *errors = calloc(1, sizeof *errors);
	json_t *data = NULL;
	if (h == NULL || errors == NULL)
		api_fail(req, 500, "internal error", "internal", NULL);
	else if (handler_validate(&in, api_app(req)->cfg.scripts_dir, api_app(req)->cfg.outbound_allow, h,
	                          errors) != 0)
		fail_validation(req, errors);
	else if (test_data(req, json_object_get(body, "data"), h->events_id, &data) == 0) {
		h->id = 0;                                /* unsaved: logged without a handler id */
		h->secret_action = HANDLER_SECRET_REMOVE; /* nothing stored to sign with */
		run_test(req, db, h, data);
	}
	json_decref(data);
	free(errors);
	free(h);
}
