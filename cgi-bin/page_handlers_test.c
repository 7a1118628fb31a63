/* page_handlers_test: the handler form's "Send test" (issue #16). The form's
 * second submit button posts every field here: the handler as it stands in
 * the form (unsaved edits included) is checked as a save checks it, sent once
 * to itself alone with the test payload (core/handler_test.c), and the form
 * comes back with the operator's values, nothing saved, and the result. A
 * script handler is queued for prov-worker instead (the web server never runs
 * a script) and its page, /handlers/tests/ID, shows the result once run. */
#include "page_handlers.h"

#include "pages.h"

#include "db.h"
#include "events.h"
#include "handler_test.h"
#include "handler_test_queue.h"
#include "health.h"
#include "history.h"
#include "logs.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The event the form's sample was made for travels with it: a payload left
 * as that sample follows the event select to the new event's sample. */
static int is_sample_of(const char *text, const char *events_id)
{
	json_t *sample = handler_test_sample(events_id);
	json_t *sent = text ? json_loads(text, 0, NULL) : NULL;
	int same = sample != NULL && sent != NULL && json_equal(sample, sent);
	json_decref(sample);
	json_decref(sent);
	return same;
}

void handler_test_form_set(struct web_request *req, const char *events_id)
{
	const struct event_def *event = events_find(events_id);
	if (event == NULL)
		event = events_at(0); /* the select's first option */
	const char *typed = web_param(req, "test_data");
	const char *sample_of = web_param(req, "test_sample_of");
	if (typed != NULL && !(sample_of != NULL && is_sample_of(typed, sample_of))) {
		web_set(req, "Test.Data", typed);
		web_set(req, "Test.SampleOf", "");
		return;
	}
	char *sample = handler_test_sample_text(event->id);
	web_set(req, "Test.Data", sample ? sample : "{}");
	web_set(req, "Test.SampleOf", event->id);
	free(sample);
}

static const char *member_text(json_t *o, const char *name)
{
	const char *text = json_string_value(json_object_get(o, name));
	return text ? text : "";
}

void handler_test_result_set(struct web_request *req, json_t *result, int script, int heading_level)
{
	char text[64];
	json_t *http_status = json_object_get(result, "http_status"),
	       *exit_code = json_object_get(result, "exit_code");
	const char *reply = json_string_value(json_object_get(result, "reply"));
	const char *error = json_string_value(json_object_get(result, "error"));
	web_set(req, "Test.Result.Status", member_text(result, "status"));
	web_set(req, "Test.Result.Verdict", member_text(result, "verdict"));
	if (member_text(result, "reason")[0] != '\0')
		web_set(req, "Test.Result.Reason", member_text(result, "reason"));
	web_set(req, "Test.Result.Kind", script ? "script" : "http");
	web_setf(req, "Test.Result.Heading", "h%d", heading_level);
	web_setf(req, "Test.Result.Subheading", "h%d", heading_level + 1);
	if (json_is_integer(http_status))
		web_set_int(req, "Test.Result.HttpStatus", json_integer_value(http_status));
	if (json_is_integer(exit_code))
		web_set_int(req, "Test.Result.ExitCode", json_integer_value(exit_code));
	if (error != NULL)
		web_set(req, "Test.Result.Error", error);
	logs_format_duration(
	    (long long)(json_number_value(json_object_get(result, "duration_ms")) * 1000.0 + 0.5), text,
	    sizeof text);
	web_set(req, "Test.Result.Duration", text);
	long long timeout_ms = json_integer_value(json_object_get(result, "timeout_ms"));
	web_setf(req, "Test.Result.Timeout", "%lld.%03lld s", timeout_ms / 1000, timeout_ms % 1000);
	web_set(req, "Test.Result.RequestHeaders", member_text(result, "request_headers"));
	if (reply != NULL && reply[0] != '\0') {
		char *pretty = logs_pretty_json(reply);
		web_set(req, "Test.Result.Reply", pretty ? pretty : reply);
		web_set_int(req, "Test.Result.ReplyIsJson", pretty != NULL);
		free(pretty);
	}
	web_set_int(req, "Test.Result.LogId", json_integer_value(json_object_get(result, "log_id")));
	web_set(req, "Test.Result.EventUid", member_text(result, "event_id"));
}

/* A script: queued for prov-worker (the web server never runs one), then
 * POST/redirect/GET to its page; a full queue: the form again, refused. */
static void queue_script_test(struct web_request *req, struct db *db, struct handler *h, json_t *data,
                              const struct list_state *state, const struct handler *current)
{
	long long test_id = 0;
	char err[512];
	switch (handler_test_queue_add(db, h, data, history_actor_name(), &test_id, err, sizeof err)) {
	case HANDLER_TEST_QUEUED: {
		char location[64];
		snprintf(location, sizeof location, "/handlers/tests/%lld", test_id);
		web_redirect(req, location);
		return;
	}
	case HANDLER_TEST_QUEUE_FULL:
		web_set(req, "Test.Refused", err);
		handler_form_again(req, 429, state, current, NULL);
		return;
	case HANDLER_TEST_QUEUE_FAILED:
		web_error(req, 503, "The test could not be queued; try again shortly.", err);
		return;
	}
}

/* POST /handlers/#/test and POST /handlers/test (the New form). */
static void send_test(struct web_request *req, long long id)
{
	struct list_state state;
	list_state_from_return(req, &state);
	struct handler_input in;
	handler_form_read_input(req, &in);
	struct handler h;
	struct handler_errors errors;
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct handler current;
	if (id > 0) {
		enum handler_store_result got = handlers_get(db, id, &current);
		if (got != HANDLER_STORE_OK) {
			handler_store_failed(req, got, db,
			                     "The handler could not be read; try again shortly.");
			return;
		}
	}
	if (handler_validate(&in, web_app(req)->cfg.scripts_dir, web_app(req)->cfg.outbound_allow, &h,
	                     &errors) != 0) {
		web_set(req, "Test.Refused", "The test was not sent: correct the fields marked below.");
		handler_form_again(req, 422, &state, id > 0 ? &current : NULL, &errors);
		return;
	}
	h.id = id; /* a saved handler signs with its stored secret (unless the form removes it) */
	if (id == 0)
		h.secret_action = HANDLER_SECRET_REMOVE;
	json_t *data = NULL;
	char err[DELIVERY_ERROR_MAX];
	const char *typed = web_param(req, "test_data");
	const char *sample_of = web_param(req, "test_sample_of");
	if (typed != NULL && sample_of != NULL && strcmp(sample_of, h.events_id) != 0 &&
	    is_sample_of(typed, sample_of))
		typed = NULL; /* the sample of the event the select had: the chosen event's sample */
	if (handler_test_data_read(typed, h.events_id, &data, err, sizeof err) != 0) {
		web_set(req, "Test.Refused", err);
		web_set(req, "Test.DataError", err);
		handler_form_again(req, 422, &state, id > 0 ? &current : NULL, NULL);
		return;
	}
	if (h.task_type == HANDLER_TASK_SCRIPT) {
		queue_script_test(req, db, &h, data, &state, id > 0 ? &current : NULL);
		json_decref(data);
		return;
	}
	struct handler_test t;
	int status = 200;
	switch (
	    handler_test_run(db, &web_app(req)->cfg, &h, data, HANDLER_TEST_HTTP_ONLY, &t, err, sizeof err)) {
	case HANDLER_TEST_DONE: {
		json_t *result = handler_test_json(&t);
		if (result == NULL) {
			handler_test_free(&t);
			json_decref(data);
			web_error(req, 500, "The test was sent but its result could not be shown.",
			          "out of memory");
			return;
		}
		handler_test_result_set(req, result, 0, 3);
		json_decref(result);
		break;
	}
	case HANDLER_TEST_REFUSED:
		web_set(req, "Test.Refused", err);
		status = 422;
		break;
	case HANDLER_TEST_ERROR:
		handler_test_free(&t);
		json_decref(data);
		web_error(req, 503, "The test could not be sent or logged; try again shortly.", err);
		return;
	}
	handler_test_free(&t);
	json_decref(data);
	web_set_int(req, "Test.Sent", 1);
	handler_form_again(req, status, &state, id > 0 ? &current : NULL, NULL);
}

void page_handler_test(struct web_request *req)
{
	send_test(req, web_path_id(req));
}

void page_handler_test_new(struct web_request *req)
{
	send_test(req, 0);
}

/* GET /handlers/tests/#: a queued script test; while it waits the page
 * fetches itself again (static/js/panel.js, data-poll) until the result is in. */
void page_handler_test_show(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	static struct handler_test_request t; /* one request at a time per process; large */
	int found = handler_test_queue_get(db, web_path_id(req), &t);
	if (found < 0) {
		web_error(req, 500, "The test could not be read; try again shortly.", db_error(db));
		return;
	}
	if (found == 0) {
		web_error(req, 404, "There is no such test; a test is kept for a day.", NULL);
		return;
	}
	char age[32];
	web_set_int(req, "TestRun.Id", t.id);
	web_set(req, "TestRun.State", t.state);
	web_set_int(req, "TestRun.Waiting", t.waiting);
	web_set(req, "TestRun.Notice", t.notice);
	if (t.handler_id > 0)
		web_set_int(req, "TestRun.HandlerId", t.handler_id);
	web_set(req, "TestRun.HandlerName", t.handler_name);
	web_set(req, "TestRun.Event", t.events_id);
	web_set(req, "TestRun.Task", t.task);
	web_set(req, "TestRun.RequestedBy", t.requested_by);
	web_set(req, "TestRun.CreatedAt", t.created_at);
	web_set(req, "TestRun.ClaimedBy", t.claimed_by);
	web_set(req, "TestRun.Error", t.error);
	if (t.worker_age_seconds >= 0) {
		health_age_text(t.worker_age_seconds, age, sizeof age);
		web_set(req, "TestRun.WorkerLastRun", age);
	}
	if (t.result != NULL)
		handler_test_result_set(req, t.result, 1, 2);
	handler_test_request_free(&t);
	web_setf(req, "Page.Title", "Send test #%lld", web_path_id(req));
	web_set(req, "Page.Section", "handlers");
	web_render(req, 200, "handlers_test_page.cs");
}
