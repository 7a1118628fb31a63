/* Unit tests: the handler chain with a scripted fake delivery: priority order
 * as given, data replaced for the next handlers, an echo changes nothing, a
 * forbid stops the chain, a failure does not; and the result document. */
#include "dispatch.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(data_flows_through_the_chain_in_order),
	    cmocka_unit_test(forbid_stops_the_chain),
	    cmocka_unit_test(event_ids_are_validated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
