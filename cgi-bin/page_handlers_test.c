/* page_handlers_test: the handler form's "Send test" (issue #16). The form's
 * second submit button posts every field here: the handler as it stands in
 * the form (unsaved edits included) is checked as a save checks it, sent once
 * to itself alone with the test payload (core/handler_test.c), and the form
 * comes back with the operator's values, nothing saved, and the result. */
#include "page_handlers.h"

#include "pages.h"

#include "db.h"
#include "events.h"
#include "handler_test.h"
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

/* The result panel's HDF: Test.Result.* (templates/handlers_test_result.cs). */
static void set_result(struct web_request *req, const struct handler_test *t, const struct handler *h)
{
	const struct delivery_result *r = &t->result;
	char text[64];
	web_set(req, "Test.Result.Status", r->success ? "success" : "fail");
	web_set(req, "Test.Result.Verdict", handler_test_verdict(t));
	if (r->success && r->verdict == DELIVERY_FORBID)
		web_set(req, "Test.Result.Reason", r->reason);
	web_set(req, "Test.Result.Kind", h->task_type == HANDLER_TASK_SCRIPT ? "script" : "http");
	if (r->http_status > 0)
		web_set_int(req, "Test.Result.HttpStatus", r->http_status);
	if (r->has_exit_code)
		web_set_int(req, "Test.Result.ExitCode", r->exit_code);
	if (!r->success)
		web_set(req, "Test.Result.Error", r->error);
	logs_format_duration(r->duration_us, text, sizeof text);
	web_set(req, "Test.Result.Duration", text);
	web_setf(req, "Test.Result.Timeout", "%ld.%03ld s", t->timeout_ms / 1000, t->timeout_ms % 1000);
	web_set(req, "Test.Result.RequestHeaders", r->request_headers ? r->request_headers : "");
	if (r->response_body != NULL && r->response_len > 0) {
		char *clean = delivery_utf8_clean(r->response_body, r->response_len, r->response_len, NULL);
		char *pretty = clean ? logs_pretty_json(clean) : NULL;
		web_set(req, "Test.Result.Reply", pretty ? pretty : clean ? clean : "");
		web_set_int(req, "Test.Result.ReplyIsJson", pretty != NULL);
		free(pretty);
		free(clean);
	}
	web_set_int(req, "Test.Result.LogId", t->log_id);
	web_set(req, "Test.Result.EventUid", t->event_uid);
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
	struct handler_test t;
	int status = 200;
	switch (
	    handler_test_run(db, &web_app(req)->cfg, &h, data, HANDLER_TEST_HTTP_ONLY, &t, err, sizeof err)) {
	case HANDLER_TEST_DONE: set_result(req, &t, &h); break;
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
