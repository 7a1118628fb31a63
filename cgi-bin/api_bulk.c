/* api_bulk: bulk recovery over JSON (issue #16): POST /bulk-redeliveries
 * asks for the failed executions of a handler (or a filter) since a time to
 * be redelivered by prov-worker; GET /bulk-redeliveries/{id} is its progress.
 * (Not under /logs/: /logs/{id}/redeliver would make /logs/x/{id} ambiguous.) */
#include "api.h"

#include "../core/api.h"
#include "bulk.h"
#include "history.h"
#include "db.h"
#include "logs.h"

#include <stdio.h>
#include <string.h>

static json_t *progress_json(const struct bulk_progress *p)
{
	json_t *o = json_pack("{s:I, s:s, s:o?, s:o?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
	                      "id", (json_int_t)p->id, "state", p->state, "handler_id",
	                      p->handler_id > 0 ? json_integer(p->handler_id) : json_null(), "events_id",
	                      p->events_id[0] ? json_string(p->events_id) : json_null(), "max_log_id",
	                      (json_int_t)p->max_log_id, "expected", (json_int_t)p->expected, "total",
	                      (json_int_t)p->total, "skipped", (json_int_t)p->skipped, "queued",
	                      (json_int_t)p->queued, "running", (json_int_t)p->running, "delivered",
	                      (json_int_t)p->delivered, "failed", (json_int_t)p->failed, "done",
	                      (json_int_t)(p->delivered + p->failed), "requested_by", p->requested_by);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "since", api_time(p->since));
	json_object_set_new(o, "until", api_time(p->until));
	json_object_set_new(o, "created_at", api_time(p->created_at));
	json_object_set_new(o, "finished_at", api_time(p->finished_at));
	return o;
}

static void reply_progress(struct api_request *req, struct db *db, long long id, int status, int existing)
{
	struct bulk_progress p;
	int found = bulk_get(db, id, &p);
	if (found < 0) {
		fprintf(stderr, "prov-api: bulk: %s\n", db_error(db));
		api_fail(req, 500, "internal error", "internal", NULL);
		return;
	}
	if (found == 0) {
		api_fail(req, 404, "no such bulk redelivery", "not_found", NULL);
		return;
	}
	json_t *o = progress_json(&p);
	if (o != NULL && existing)
		json_object_set_new(o, "existing", json_true());
	api_reply(req, status, o);
}

/* An ISO 8601 UTC time ("2026-12-01T10:00:00Z") as the log filter reads it
 * ("2026-12-01 10:00:00"); other spellings are left to its validation. */
static const char *filter_time(const char *text, char *buf, size_t buflen)
{
	if (text == NULL)
		return NULL;
	snprintf(buf, buflen, "%s", text);
	size_t n = strlen(buf);
	if (n > 0 && (buf[n - 1] == 'Z' || buf[n - 1] == 'z'))
		buf[n - 1] = '\0';
	char *t = strchr(buf, 'T');
	if (t != NULL)
		*t = ' ';
	return buf;
}

/* A member that must be a string (or absent / null): 0, else answers 422. */
static int string_member(struct api_request *req, json_t *body, const char *name, const char **out)
{
	json_t *v = json_object_get(body, name);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s must be a string", name);
		api_fail(req, 422, msg, "invalid_type", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

void api_bulk_create(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	json_t *body = api_body(req);
	if (!json_is_object(body)) {
		api_fail(req, 422, "a JSON object with since (and handler_id, events_id, until) is required",
		         "validation", NULL);
		return;
	}
	static const char *const known[] = {"handler_id", "events_id", "since", "until"};
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value)
	{
		size_t k = 0;
		while (k < 4 && strcmp(key, known[k]) != 0)
			k++;
		if (k == 4) {
			api_fail(req, 422, "unknown member; this takes handler_id, events_id, since, until",
			         "unknown_field", key);
			return;
		}
	}
	json_t *handler = json_object_get(body, "handler_id");
	char handler_text[32] = "";
	if (handler != NULL && !json_is_null(handler)) {
		if (!json_is_integer(handler) || json_integer_value(handler) <= 0) {
			api_fail(req, 422, "handler_id must be a positive integer", "validation",
			         "handler_id");
			return;
		}
		snprintf(handler_text, sizeof handler_text, "%lld", (long long)json_integer_value(handler));
	}
	const char *event, *since, *until;
	if (string_member(req, body, "events_id", &event) != 0 ||
	    string_member(req, body, "since", &since) != 0 || string_member(req, body, "until", &until) != 0)
		return;
	char since_buf[64], until_buf[64];
	struct logs_input in = {.handler = handler_text,
	                        .event = event,
	                        .from = filter_time(since, since_buf, sizeof since_buf),
	                        .to = filter_time(until, until_buf, sizeof until_buf)};
	struct bulk_filter f;
	char msg[640];
	if (bulk_filter_from_logs(&in, &f, msg, sizeof msg) != 0) {
		const char *field = since == NULL || strstr(msg, "Date From") ? "since"
		                    : strstr(msg, "vent")                     ? "events_id"
		                    : strstr(msg, "andler")                   ? "handler_id"
		                                                              : "until";
		api_fail(req, 422, msg, "validation", field);
		return;
	}
	long long count = 0, max_log_id = bulk_max_log_id(db), id = 0;
	enum bulk_submit r = BULK_ERROR;
	if (max_log_id >= 0 && bulk_count(db, &f, max_log_id, &count) == 0)
		r = bulk_request(db, &f, max_log_id, count, history_actor_name(), &id);
	if (r == BULK_ERROR) {
		fprintf(stderr, "prov-api: bulk request: %s\n", db_error(db));
		api_fail(req, 500, "internal error", "internal", NULL);
		return;
	}
	reply_progress(req, db, id, r == BULK_CREATED ? 202 : 200, r == BULK_EXISTING);
}

void api_bulk_get(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db != NULL)
		reply_progress(req, db, api_path_id(req), 200, 0);
}
