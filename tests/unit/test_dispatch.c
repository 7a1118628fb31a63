/* Unit tests: the handler chain with a scripted fake delivery: priority order
 * as given, data replaced for the next handlers, an echo changes nothing, a
 * forbid stops the chain, a failure does not; and the result document.
 * Batch-mode envelopes and their ISO-8601 times are read strictly. */
#include "dispatch.h"
#include "dispatch_order.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the fake handler with a given id answers. */
struct fake {
	long long id;
	int fail;
	const char *reply; /* read like an HTTP reply */
};

struct fake_run {
	const struct fake *fakes;
	size_t nfakes;
	long long called[8];
	char *seen[8]; /* the envelopes received */
	size_t ncalls;
};

static int fake_deliver(void *ctx, const struct delivery_request *req, struct delivery_result *out)
{
	struct fake_run *run = ctx;
	memset(out, 0, sizeof *out);
	run->called[run->ncalls] = req->handler->id;
	run->seen[run->ncalls++] = strndup(req->body, req->body_len);
	for (size_t i = 0; i < run->nfakes; i++) {
		if (run->fakes[i].id != req->handler->id)
			continue;
		if (run->fakes[i].fail) {
			snprintf(out->error, sizeof out->error, "the handler answered HTTP 500");
			return -1;
		}
		if (delivery_read_reply(run->fakes[i].reply, strlen(run->fakes[i].reply), 0, out) != 0)
			return -1;
		out->success = 1;
		return 0;
	}
	return -1;
}

static void fake_run_free(struct fake_run *run)
{
	for (size_t i = 0; i < run->ncalls; i++)
		free(run->seen[i]);
}

static struct cache_handler handler(long long id)
{
	return (struct cache_handler){.id = id,
	                              .name = "h",
	                              .events_id = "clients.update",
	                              .task = "x",
	                              .kind = DELIVERY_HTTP,
	                              .priority = id,
	                              .timeout_ms = 1000};
}

static json_t *data_of(const char *text)
{
	json_t *data = json_loads(text, 0, NULL);
	assert_non_null(data);
	return data;
}

static void data_flows_through_the_chain_in_order(void **state)
{
	(void)state;
	struct cache_handler hs[] = {handler(3), handler(1), handler(2)};
	struct fake fakes[] = {{3, 0, "{\"data\":{\"a\":1,\"b\":2}}"}, {1, 1, ""}, {2, 0, "OK"}};
	struct fake_run run = {.fakes = fakes, .nfakes = 3};
	struct dispatch_event ev;
	assert_int_equal(dispatch_event_init(&ev, "clients.update", "evt-1"), 0);
	struct dispatch_outcome out;
	assert_int_equal(dispatch_run(&ev, data_of("{\"a\":1}"), hs, 3, fake_deliver, &run, &out), 0);
	assert_int_equal(run.ncalls, 3);
	assert_int_equal(run.called[0], 3); /* the order given: the snapshot's */
	assert_int_equal(run.called[1], 1);
	assert_int_equal(run.called[2], 2);
	assert_null(strstr(run.seen[0], "\"b\""));
	assert_non_null(strstr(run.seen[1], "\"data\":{\"a\":1,\"b\":2}")); /* after the replacement */
	assert_non_null(strstr(run.seen[2], "\"b\":2"));                    /* a failure changed nothing */
	assert_non_null(strstr(run.seen[0], "\"event\":{\"id\":\"evt-1\""));
	assert_int_equal(out.forbidden, 0);
	assert_int_equal(json_integer_value(json_object_get(out.data, "b")), 2);
	assert_int_equal(out.steps[1].result.success, 0);
	json_t *result = dispatch_result_json(&ev, &out, 9, 1);
	char *text = json_dumps(result, JSON_COMPACT);
	assert_non_null(strstr(text, "\"verdict\":\"allow\""));
	assert_non_null(strstr(text, "\"generation\":9"));
	assert_non_null(strstr(text, "\"error\":\"the handler answered HTTP 500\""));
	free(text);
	json_decref(result);
	dispatch_outcome_free(&out);
	fake_run_free(&run);
}

static void forbid_stops_the_chain(void **state)
{
	(void)state;
	struct cache_handler hs[] = {handler(1), handler(2), handler(3)};
	struct fake fakes[] = {{1, 0, "{\"event\":{},\"data\":{\"a\":1}}"}, /* an echo */
	                       {2, 0, "{\"allow\":false,\"reason\":\"balance too low\"}"},
	                       {3, 0, "{}"}};
	struct fake_run run = {.fakes = fakes, .nfakes = 3};
	struct dispatch_event ev;
	assert_int_equal(dispatch_event_init(&ev, "clients.update", NULL), 0);
	assert_int_equal(strlen(ev.uid), 36);
	struct dispatch_outcome out;
	assert_int_equal(dispatch_run(&ev, data_of("{\"a\":1}"), hs, 3, fake_deliver, &run, &out), 0);
	assert_int_equal(run.ncalls, 2);
	assert_int_equal(out.nsteps, 2);
	assert_int_equal(out.forbidden, 1);
	assert_int_equal(out.forbidden_by, 2);
	assert_string_equal(out.reason, "balance too low");
	assert_int_equal(out.steps[0].result.verdict, DELIVERY_UNCHANGED); /* the echo */
	json_t *result = dispatch_result_json(&ev, &out, 1, 1);
	assert_string_equal(json_string_value(json_object_get(result, "verdict")), "forbid");
	json_decref(result);
	dispatch_outcome_free(&out);
	fake_run_free(&run);
}

/* A fake that holds handler 2 back for per-object order. */
static int holding_deliver(void *ctx, const struct delivery_request *req, struct delivery_result *out)
{
	if (req->handler->id == 2) {
		memset(out, 0, sizeof *out);
		return DISPATCH_DELIVER_HELD;
	}
	return fake_deliver(ctx, req, out);
}

static void a_held_handler_waits_and_the_chain_goes_on(void **state)
{
	(void)state;
	struct cache_handler hs[] = {handler(1), handler(2), handler(3)};
	struct fake fakes[] = {{1, 0, "{\"data\":{\"a\":2}}"}, {3, 0, "OK"}};
	struct fake_run run = {.fakes = fakes, .nfakes = 2};
	struct dispatch_event ev;
	assert_int_equal(dispatch_event_init(&ev, "clients.update", "evt-held"), 0);
	struct dispatch_outcome out;
	assert_int_equal(dispatch_run(&ev, data_of("{\"a\":1}"), hs, 3, holding_deliver, &run, &out), 0);
	assert_int_equal(out.nsteps, 3);
	assert_int_equal(run.ncalls, 2); /* 1 and 3 delivered */
	assert_int_equal(out.steps[1].held, 1);
	assert_non_null(strstr(out.steps[1].request_body, "\"a\":2")); /* kept for later, as it stood */
	out.steps[1].behind = 41;
	json_t *result = dispatch_result_json(&ev, &out, 1, 1);
	json_t *held = json_array_get(json_object_get(result, "handlers"), 1);
	assert_string_equal(json_string_value(json_object_get(held, "status")), "waiting");
	assert_int_equal(json_integer_value(json_object_get(held, "behind")), 41);
	assert_true(json_is_null(json_object_get(held, "verdict")));
	assert_true(json_is_null(json_object_get(held, "error")));
	assert_string_equal(json_string_value(json_object_get(result, "verdict")), "allow");
	json_decref(result);
	dispatch_outcome_free(&out);
	fake_run_free(&run);
}

static void the_order_check_needs_an_object_an_ordered_handler_and_the_queue(void **state)
{
	(void)state;
	struct cache_handler hs[] = {handler(1), handler(2), handler(3)};
	hs[0].ordered = 1;
	hs[2].ordered = 1;
	long long behind[3] = {7, 7, 7};
	struct dispatch_event ev;
	assert_int_equal(dispatch_event_init(&ev, "clients.update", NULL), 0);
	/* No object_id: nothing to keep in order, no statement (db NULL is never used). */
	assert_int_equal(dispatch_order_check(NULL, &ev, hs, 3, behind), 0);
	assert_true(behind[0] == 0 && behind[1] == 0 && behind[2] == 0);
	/* An object, but the queue cannot be read (MariaDB down): nothing is
	 * held, the event goes on from the local snapshot as before. */
	ev.has_object_id = 1;
	ev.object_id = 7;
	behind[0] = behind[2] = 7;
	assert_int_equal(dispatch_order_check(NULL, &ev, hs, 3, behind), 0);
	assert_true(behind[0] == 0 && behind[1] == 0 && behind[2] == 0);
	/* No ordered handler: none held, no statement. */
	hs[0].ordered = hs[2].ordered = 0;
	assert_int_equal(dispatch_order_check(NULL, &ev, hs, 3, behind), 0);
}

/* A batch's order book: its own queued pairs hold later events of the same
 * (handler, object) until a read after their group committed replaces them;
 * a read that fails keeps them (db NULL here). */
static void the_order_book_holds_a_batch_s_own_pairs_until_committed(void **state)
{
	(void)state;
	struct cache_handler hs[] = {handler(1), handler(2)};
	hs[0].ordered = hs[1].ordered = 1;
	struct dispatch_event ev;
	assert_int_equal(dispatch_event_init(&ev, "clients.update", NULL), 0);
	ev.has_object_id = 1;
	ev.object_id = 7;
	struct order_book book = {0};
	long long behind[2] = {0, 0};
	assert_int_equal(dispatch_order_check_book(&book, &ev, hs, 2, behind), 0);
	assert_int_equal(order_book_add(&book, 1, 7, 3), 0); /* group 3 queued (1, 7) */
	assert_int_equal(order_book_add(&book, 2, 8, 4), 0); /* group 4 queued (2, 8) */
	assert_int_equal(dispatch_order_check_book(&book, &ev, hs, 2, behind), 1);
	assert_true(behind[0] == DISPATCH_ORDER_UNKNOWN && behind[1] == 0);
	/* Other objects and unordered handlers are not held. */
	ev.object_id = 8;
	hs[1].ordered = 0;
	assert_int_equal(dispatch_order_check_book(&book, &ev, hs, 2, behind), 0);
	hs[1].ordered = 1;
	assert_int_equal(dispatch_order_check_book(&book, &ev, hs, 2, behind), 1);
	assert_true(behind[0] == 0 && behind[1] == DISPATCH_ORDER_UNKNOWN);
	/* The queue cannot be read: no group is forgotten. */
	long long ids[] = {7, 8};
	assert_int_equal(order_book_load(&book, NULL, ids, 2, 4), -1);
	assert_int_equal(book.n, 2);
	/* Nothing to read (no objects): the committed groups are forgotten, the
	 * one still filling (5) is kept. */
	assert_int_equal(order_book_add(&book, 1, 9, 5), 0);
	assert_int_equal(order_book_load(&book, NULL, ids, 0, 4), 0);
	assert_int_equal(book.n, 1);
	assert_true(book.pairs[0].object_id == 9 && book.pairs[0].group == 5);
	order_book_free(&book);
}

static void event_ids_are_validated(void **state)
{
	(void)state;
	struct dispatch_event ev;
	assert_int_equal(dispatch_event_init(&ev, "clients.create", "a.b:c-d_1"), 0);
	assert_int_equal(dispatch_event_init(&ev, "clients.create", ""), -1);
	assert_int_equal(dispatch_event_init(&ev, "clients.create", "has space"), -1);
	char long_id[80];
	memset(long_id, 'a', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	assert_int_equal(dispatch_event_init(&ev, "clients.create", long_id), -1);
}

static void iso_times_are_parsed_strictly(void **state)
{
	(void)state;
	long long us = 0;
	assert_int_equal(dispatch_parse_dt("2024-05-01T12:00:00Z", &us), 0);
	assert_int_equal(us, 1714564800LL * 1000000);
	assert_int_equal(dispatch_parse_dt("2024-05-01T12:00:00.5Z", &us), 0);
	assert_int_equal(us, 1714564800LL * 1000000 + 500000);
	assert_int_equal(dispatch_parse_dt("2024-02-29T23:59:59.123456Z", &us), 0);
	assert_int_equal(us % 1000000, 123456);
	char text[40];
	delivery_time_text(us, 1, text, sizeof text); /* the form handlers receive */
	assert_string_equal(text, "2024-02-29T23:59:59.123Z");
	const char *bad[] = {"2023-02-29T00:00:00Z",
	                     "2024-05-01 12:00:00Z",
	                     "2024-05-01T12:00:00",
	                     "2024-05-01T12:00:00+02:00",
	                     "2024-05-01T24:00:00Z",
	                     "2024-13-01T00:00:00Z",
	                     "2024-05-01T12:00:00.Z",
	                     "2024-05-01T12:00:00ZZ",
	                     "1969-12-31T23:59:59Z",
	                     "2024-05-01T12:00:00.1234567Z",
	                     ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		us = 42;
		assert_int_equal(dispatch_parse_dt(bad[i], &us), -1);
		assert_int_equal(us, 42);
	}
}

/* dispatch_envelope_read on text; returns its result and leaves err. */
static int read_text(const char *text, struct dispatch_event *ev, json_t **data, char *err, size_t errlen)
{
	json_t *envelope = json_loads(text, JSON_DECODE_ANY, NULL);
	assert_non_null(envelope);
	int rc = dispatch_envelope_read(envelope, ev, data, err, errlen);
	json_decref(envelope);
	return rc;
}

static void batch_envelopes_are_read_and_checked(void **state)
{
	(void)state;
	struct dispatch_event ev;
	json_t *data;
	char err[1024];
	assert_int_equal(read_text("{\"event\":{\"events_id\":\"clients.update\",\"id\":\"u-1\",\"dt\":"
	                           "\"2024-05-01T12:00:00.250Z\",\"object_id\":12},\"data\":{\"a\":1}}",
	                           &ev, &data, err, sizeof err),
	                 0);
	assert_string_equal(ev.events_id, "clients.update");
	assert_string_equal(ev.uid, "u-1");
	assert_int_equal(ev.dt_us, 1714564800250000LL);
	assert_int_equal(ev.has_object_id, 1);
	assert_int_equal(ev.object_id, 12);
	assert_int_equal(json_integer_value(json_object_get(data, "a")), 1);
	json_decref(data);
	/* id, dt and object_id may be left out or null */
	assert_int_equal(
	    read_text("{\"data\":{},\"event\":{\"events_id\":\"clients.create\",\"object_id\":null}}", &ev,
	              &data, err, sizeof err),
	    0);
	assert_int_equal(strlen(ev.uid), DELIVERY_ID_LEN);
	assert_int_equal(ev.has_object_id, 0);
	assert_true(ev.dt_us > 1700000000LL * 1000000);
	json_decref(data);
	struct {
		const char *text;
		const char *message;
	} bad[] = {
	    {"[1]", "must be a JSON object"},
	    {"{\"data\":{}}", "\"event\" is missing"},
	    {"{\"event\":{\"events_id\":\"clients.update\"}}", "\"data\" is missing or not a JSON object"},
	    {"{\"event\":{\"events_id\":\"clients.update\"},\"data\":[]}", "\"data\" is missing"},
	    {"{\"event\":{},\"data\":{}}", "\"event.events_id\" is missing"},
	    {"{\"event\":{\"events_id\":\"clients.nope\"},\"data\":{}}",
	     "unknown event 'clients.nope'; valid"},
	    {"{\"event\":{\"events_id\":\"clients.update\",\"id\":\"a b\"},\"data\":{}}",
	     "\"event.id\" must be 1-64"},
	    {"{\"event\":{\"events_id\":\"clients.update\",\"id\":7},\"data\":{}}",
	     "\"event.id\" must be a string"},
	    {"{\"event\":{\"events_id\":\"clients.update\",\"dt\":\"yesterday\"},\"data\":{}}",
	     "\"event.dt\" must be"},
	    {"{\"event\":{\"events_id\":\"clients.update\",\"object_id\":-1},\"data\":{}}",
	     "\"event.object_id\""},
	    {"{\"event\":{\"events_id\":\"clients.update\",\"object_id\":\"12\"},\"data\":{}}",
	     "\"event.object_id\""},
	    {"{\"event\":{\"events_id\":\"clients.update\",\"event_id\":\"x\"},\"data\":{}}",
	     "unknown member \"event.event_id\""},
	    {"{\"event\":{\"events_id\":\"clients.update\"},\"data\":{},\"extra\":1}",
	     "unknown member \"extra\""},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		data = (json_t *)&err; /* must be reset to NULL */
		assert_int_equal(read_text(bad[i].text, &ev, &data, err, sizeof err), -1);
		assert_null(data);
		if (strstr(err, bad[i].message) == NULL)
			fail_msg("%s: got \"%s\", expected \"%s\"", bad[i].text, err, bad[i].message);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(data_flows_through_the_chain_in_order),
	    cmocka_unit_test(forbid_stops_the_chain),
	    cmocka_unit_test(a_held_handler_waits_and_the_chain_goes_on),
	    cmocka_unit_test(the_order_check_needs_an_object_an_ordered_handler_and_the_queue),
	    cmocka_unit_test(the_order_book_holds_a_batch_s_own_pairs_until_committed),
	    cmocka_unit_test(event_ids_are_validated),
	    cmocka_unit_test(iso_times_are_parsed_strictly),
	    cmocka_unit_test(batch_envelopes_are_read_and_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
