/* Unit tests (issue #16): the test payloads (core/handler_test.c), the event
 * view's data comparison (core/logs_chain.c), the skipped-handler list a
 * forbid records (core/dispatch.c) and the verdict filter (core/logs_filter.c). */
#include "dispatch.h"
#include "events.h"
#include "handler_test.h"
#include "logs.h"
#include "logs_chain.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

static void every_event_has_an_object_sample(void **state)
{
	(void)state;
	for (size_t i = 0; i < events_count(); i++) {
		json_t *sample = handler_test_sample(events_at(i)->id);
		assert_non_null(sample);
		assert_true(json_is_object(sample));
		assert_true(json_integer_value(json_object_get(sample, "client_id")) == 10001);
		json_decref(sample);
	}
	assert_null(handler_test_sample("clients.nope"));
	assert_null(handler_test_sample(NULL));
}

static void payloads_are_objects_or_a_one_line_reason(void **state)
{
	(void)state;
	json_t *data = NULL;
	char err[256];
	assert_int_equal(handler_test_data_read(NULL, "clients.update", &data, err, sizeof err), 0);
	assert_non_null(json_object_get(data, "changed"));
	json_decref(data);
	assert_int_equal(handler_test_data_read("  \n", "clients.delete", &data, err, sizeof err), 0);
	assert_null(json_object_get(data, "changed"));
	json_decref(data);
	assert_int_equal(handler_test_data_read("{\"a\": 1}", "clients.delete", &data, err, sizeof err), 0);
	assert_int_equal(json_integer_value(json_object_get(data, "a")), 1);
	json_decref(data);

	static const struct {
		const char *text, *event, *message;
	} bad[] = {
	    {"{\"a\":", "clients.create", "not valid JSON"},
	    {"[1]", "clients.create", "must be a JSON object"},
	    {"{\"a\":1,\"a\":2}", "clients.create", "not valid JSON"},
	    {"{}", "clients.nope", "unknown event 'clients.nope'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		data = (json_t *)1;
		assert_int_equal(handler_test_data_read(bad[i].text, bad[i].event, &data, err, sizeof err),
		                 -1);
		assert_null(data);
		assert_non_null(strstr(err, bad[i].message));
		assert_null(strchr(err, '\n'));
	}
	char *big = malloc(HANDLER_TEST_DATA_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', HANDLER_TEST_DATA_MAX + 1);
	big[0] = '{';
	big[HANDLER_TEST_DATA_MAX] = '}';
	big[HANDLER_TEST_DATA_MAX + 1] = '\0';
	assert_int_equal(handler_test_data_read(big, "clients.create", &data, err, sizeof err), -1);
	assert_non_null(strstr(err, "longer than"));
	free(big);
}

static void changes_name_added_changed_and_removed_keys(void **state)
{
	(void)state;
	json_t *before = json_pack("{s:i, s:s, s:b}", "id", 1, "email", "a@x", "gone", 1);
	json_t *after = json_pack("{s:i, s:s, s:s}", "id", 1, "email", "b@x", "crm", "C-1");
	char *text = logs_chain_changes(before, after);
	assert_string_equal(text, "~email\n+crm\n-gone\n");
	free(text);
	text = logs_chain_changes(before, before);
	assert_string_equal(text, "");
	free(text);
	json_decref(before);
	json_decref(after);

	json_t *data = logs_chain_data("{\"event\":{},\"data\":{\"x\":2}}");
	assert_int_equal(json_integer_value(json_object_get(data, "x")), 2);
	json_decref(data);
	assert_null(logs_chain_data("{\"data\":[1]}"));
	assert_null(logs_chain_data("<html>"));
	assert_null(logs_chain_data(NULL));
}

static void skipped_lists_hold_whole_ids(void **state)
{
	(void)state;
	struct cache_handler h[3] = {{.id = 3}, {.id = 7}, {.id = 12345}};
	char out[DISPATCH_SKIPPED_MAX];
	dispatch_skipped_list(h, 3, out, sizeof out);
	assert_string_equal(out, "3,7,12345");
	dispatch_skipped_list(h, 0, out, sizeof out);
	assert_string_equal(out, "");
	char small[6];
	dispatch_skipped_list(h, 3, small, sizeof small);
	assert_string_equal(small, "3,7"); /* never half an id */
}

static struct logs_query q;

static void verdict_filter_implies_its_status(void **state)
{
	(void)state;
	assert_int_equal(logs_query_parse(&(struct logs_input){.verdict = "forbidden"}, &q), 0);
	assert_string_equal(q.verdict, "forbidden");
	assert_string_equal(q.status, "success");
	assert_int_equal(logs_query_parse(&(struct logs_input){.verdict = " failed "}, &q), 0);
	assert_string_equal(q.status, "fail");
	assert_int_equal(
	    logs_query_parse(&(struct logs_input){.verdict = "modified", .status = "success"}, &q), 0);
	assert_int_equal(logs_query_parse(&(struct logs_input){.verdict = "modified", .status = "fail"}, &q),
	                 1);
	assert_non_null(strstr(q.errors[LOGS_F_VERDICT], "never has status fail"));
	assert_int_equal(logs_query_parse(&(struct logs_input){.verdict = "maybe"}, &q), 1);
	assert_non_null(strstr(q.errors[LOGS_F_VERDICT], "unchanged, modified, forbidden or failed"));
	assert_int_equal(logs_query_parse(&(struct logs_input){.verdict = ""}, &q), 0);
	assert_string_equal(q.verdict, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_event_has_an_object_sample),
	    cmocka_unit_test(payloads_are_objects_or_a_one_line_reason),
	    cmocka_unit_test(changes_name_added_changed_and_removed_keys),
	    cmocka_unit_test(skipped_lists_hold_whole_ids),
	    cmocka_unit_test(verdict_filter_implies_its_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
