/* api_handler_tests: the Send test of a script handler over JSON (issue #16).
 * The API runs as the web server's user and never runs a script: POST
 * /handlers/{id}/test and POST /handlers/test queue it for prov-worker (202,
 * core/handler_test_queue.c); GET /handler-tests/{id} answers its state and,
 * once run, the result object a 200 answer has. */
#include "api.h"

#include "../core/api.h"
#include "db.h"
#include "handler_test_queue.h"
#include "history.h"

#include <stdio.h>

void api_handler_test_queue(struct api_request *req, struct db *db, const struct handler *h, json_t *data)
{
	long long id = 0;
	char err[512];
	switch (handler_test_queue_add(db, h, data, history_actor_name(), &id, err, sizeof err)) {
	case HANDLER_TEST_QUEUED: {
		char location[64];
		snprintf(location, sizeof location, "/handler-tests/%lld", id);
		api_reply(req, 202,
		          json_pack("{s:I, s:s, s:s}", "test_id", (json_int_t)id, "state", "queued",
		                    "location", location));
		return;
	}
	case HANDLER_TEST_QUEUE_FULL: api_fail(req, 429, err, "queue_full", NULL); return;
	case HANDLER_TEST_QUEUE_FAILED:
		fprintf(stderr, "prov-api: handler test: %s\n", err);
		api_fail(req, 500, "internal error", "internal", NULL);
		return;
	}
}

static json_t *string_or_null(const char *text)
{
	return text[0] ? json_string(text) : json_null();
}

/* GET /handler-tests/#: a queued script test, and its result once run. */
void api_handler_tests_get(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	static struct handler_test_request t; /* one request at a time per process; large */
	int found = handler_test_queue_get(db, api_path_id(req), &t);
	if (found < 0) {
		fprintf(stderr, "prov-api: handler test: %s\n", db_error(db));
		api_fail(req, 500, "internal error", "internal", NULL);
		return;
	}
	if (found == 0) {
		api_fail(req, 404, "no such test (a test is kept for a day)", "not_found", NULL);
		return;
	}
	json_t *o = json_pack("{s:I, s:s, s:b, s:o, s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o, s:o}", "test_id",
	                      (json_int_t)t.id, "state", t.state, "waiting", t.waiting, "handler_id",
	                      t.handler_id > 0 ? json_integer(t.handler_id) : json_null(), "handler_name",
	                      t.handler_name, "events_id", t.events_id, "task", t.task, "timeout_ms",
	                      (json_int_t)t.timeout_ms, "requested_by", t.requested_by, "claimed_by",
	                      string_or_null(t.claimed_by), "error", string_or_null(t.error), "notice",
	                      string_or_null(t.notice), "log_id",
	                      t.log_id > 0 ? json_integer(t.log_id) : json_null());
	if (o != NULL)
		json_object_set_new(o, "created_at", api_time(t.created_at));
	if (o != NULL && t.result != NULL) /* only once run: the object a 200 test answer has */
		json_object_set(o, "result", t.result);
	handler_test_request_free(&t);
	api_reply(req, 200, o);
}
