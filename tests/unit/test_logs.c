/* Unit tests: Execution Log filter validation and value formatting (core/logs). */
#include "logs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

static struct logs_query q;

static int parse(struct logs_input in)
{
	return logs_query_parse(&in, &q);
}

static void empty_input_means_everything(void **state)
{
	(void)state;
	assert_int_equal(parse((struct logs_input){0}), 0);
	assert_int_equal(q.handler_id, 0);
	assert_string_equal(q.events_id, "");
	assert_string_equal(q.status, "");
	assert_string_equal(q.text, "");
	assert_string_equal(q.from_sql, "");
	assert_string_equal(q.to_sql, "");
	assert_int_equal(q.before_id, 0);
	assert_int_equal(q.after_id, 0);
	/* Blank fields are "any", not errors. */
	assert_int_equal(parse((struct logs_input){.handler = "  ", .event = "", .status = " "}), 0);
}

static void valid_filters_are_normalised(void **state)
{
	(void)state;
	assert_int_equal(parse((struct logs_input){.handler = " 42 ",
	                                           .event = "clients.balance_zero",
	                                           .status = "fail",
	                                           .text = "  refused  ",
	                                           .from = "2026-01-31",
	                                           .to = "2026-02-01 10:30",
	                                           .before = "987"}),
	                 0);
	assert_int_equal(q.handler_id, 42);
	assert_string_equal(q.events_id, "clients.balance_zero");
	assert_string_equal(q.status, "fail");
	assert_string_equal(q.text, "refused");
	assert_string_equal(q.like, "%refused%");
	assert_string_equal(q.from, "2026-01-31");
	assert_string_equal(q.from_sql, "2026-01-31 00:00:00");
	/* "To" includes the minute typed. */
	assert_string_equal(q.to_sql, "2026-02-01 10:31:00");
	assert_int_equal(q.before_id, 987);
	assert_int_equal(q.handler_id, 42);
}

static void to_includes_the_whole_unit_typed(void **state)
{
	(void)state;
	assert_int_equal(parse((struct logs_input){.to = "2026-12-31"}), 0);
	assert_string_equal(q.to_sql, "2027-01-01 00:00:00");
	assert_int_equal(parse((struct logs_input){.to = "2028-02-28T23:59:59"}), 0);
	assert_string_equal(q.to_sql, "2028-02-29 00:00:00");
	assert_int_equal(parse((struct logs_input){.from = "2024-02-29 08:00", .to = "2024-02-29"}), 0);
	assert_string_equal(q.from_sql, "2024-02-29 08:00:00");
	/* The same day as From and To is one day, not an empty range. */
	assert_int_equal(parse((struct logs_input){.from = "2026-03-01", .to = "2026-03-01"}), 0);
}

static void impossible_dates_are_refused(void **state)
{
	(void)state;
	const char *bad[] = {"2026-13-45",
	                     "2026-02-29",
	                     "2023-02-29",
	                     "2026-04-31",
	                     "2026-00-10",
	                     "26-01-01",
	                     "2026/01/01",
	                     "2026-01-01 24:00",
	                     "2026-01-01 10:60",
	                     "2026-01-01 10:00:60",
	                     "2026-01-01x10:00",
	                     "yesterday",
	                     "1969-12-31",
	                     "2026-01-01 10:00:00.5",
	                     "'; DROP TABLE exec_logs; --"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(parse((struct logs_input){.from = bad[i]}), 1);
		assert_non_null(strstr(q.errors[LOGS_F_FROM], "Date From must be a real date"));
		assert_string_equal(q.from_sql, "");
	}
	assert_int_equal(parse((struct logs_input){.to = "2026-13-45"}), 1);
	assert_non_null(strstr(q.errors[LOGS_F_TO], "Date To"));
	char huge[300];
	memset(huge, '9', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	assert_int_equal(parse((struct logs_input){.from = huge}), 1);
	assert_string_equal(q.from, "");
}

static void from_after_to_is_a_message(void **state)
{
	(void)state;
	assert_int_equal(parse((struct logs_input){.from = "2026-02-02", .to = "2026-02-01"}), 1);
	assert_non_null(strstr(q.errors[LOGS_F_TO], "Date To is before Date From"));
	assert_int_equal(parse((struct logs_input){.from = "2026-02-01 10:00", .to = "2026-02-01 09:59"}), 1);
	assert_int_equal(parse((struct logs_input){.from = "2026-02-01 10:00", .to = "2026-02-01 10:00"}), 0);
}

static void bad_ids_status_and_events_are_refused(void **state)
{
	(void)state;
	const char *ids[] = {"abc", "0", "-1", "1.5", "12a", "4294967296", "99999999999999999999", "0x10"};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		assert_int_equal(parse((struct logs_input){.handler = ids[i]}), 1);
		assert_non_null(strstr(q.errors[LOGS_F_HANDLER], "Handler must be a handler id"));
	}
	assert_int_equal(parse((struct logs_input){.handler = "4294967295"}), 0);
	assert_int_equal(parse((struct logs_input){.status = "Success"}), 1);
	assert_string_equal(q.errors[LOGS_F_STATUS], "Status must be success, fail or waiting.");
	assert_int_equal(parse((struct logs_input){.event = "clients.nope"}), 1);
	assert_non_null(strstr(q.errors[LOGS_F_EVENT], "Unknown event 'clients.nope'"));
	assert_non_null(strstr(q.errors[LOGS_F_EVENT], "clients.subscriptions.close"));
	char long_event[400];
	memset(long_event, 'e', sizeof long_event - 1);
	long_event[sizeof long_event - 1] = '\0';
	assert_int_equal(parse((struct logs_input){.event = long_event}), 1);
	assert_true(strlen(q.errors[LOGS_F_EVENT]) < sizeof q.errors[LOGS_F_EVENT]);
	/* Every problem is reported at once. */
	assert_int_equal(parse((struct logs_input){
	                     .handler = "x", .status = "y", .event = "z", .from = "w", .before = "v"}),
	                 5);
}

static void paging_links_take_ids(void **state)
{
	(void)state;
	assert_int_equal(parse((struct logs_input){.after = "9223372036854775807"}), 0);
	assert_int_equal(q.after_id, 9223372036854775807LL);
	assert_int_equal(parse((struct logs_input){.before = "9223372036854775808"}), 1);
	assert_int_equal(parse((struct logs_input){.before = "1 OR 1=1"}), 1);
	assert_non_null(strstr(q.errors[LOGS_F_PAGE], "not valid"));
	assert_int_equal(parse((struct logs_input){.before = "5", .after = "6"}), 1);
	assert_non_null(strstr(q.errors[LOGS_F_PAGE], "not both"));
}

static void search_text_is_bounded_and_literal(void **state)
{
	(void)state;
	assert_int_equal(parse((struct logs_input){.text = "100% _done_ !"}), 0);
	assert_string_equal(q.like, "%100!% !_done!_ !!%");
	char *long_text = malloc(5001);
	assert_non_null(long_text);
	memset(long_text, 'a', 5000);
	long_text[5000] = '\0';
	assert_int_equal(parse((struct logs_input){.text = long_text}), 1);
	assert_non_null(strstr(q.errors[LOGS_F_TEXT], "longer than 200 characters"));
	assert_string_equal(q.text, "");
	/* 200 characters is the limit, counted as characters, not bytes. */
	long_text[200] = '\0';
	assert_int_equal(parse((struct logs_input){.text = long_text}), 0);
	char accents[404] = "";
	for (int i = 0; i < 200; i++)
		strcat(accents, "\xc3\xa9");
	assert_int_equal(parse((struct logs_input){.text = accents}), 0);
	assert_int_equal(strlen(q.text), 400);
	strcat(accents, "\xc3\xa9");
	assert_int_equal(parse((struct logs_input){.text = accents}), 1);
	free(long_text);
	assert_int_equal(parse((struct logs_input){.text = "bad \xff utf8"}), 1);
	assert_int_equal(parse((struct logs_input){.text = "\xc0\xaf overlong"}), 1);
	assert_int_equal(parse((struct logs_input){.text = "tab\there"}), 1);
	assert_int_equal(parse((struct logs_input){.text = "' OR 1=1 -- <script>"}), 0);
	assert_string_equal(q.text, "' OR 1=1 -- <script>");
}

static void durations_read_naturally(void **state)
{
	(void)state;
	char buf[32];
	logs_format_duration(850, buf, sizeof buf);
	assert_string_equal(buf, "850 µs");
	logs_format_duration(12345, buf, sizeof buf);
	assert_string_equal(buf, "12.3 ms");
	logs_format_duration(245600, buf, sizeof buf);
	assert_string_equal(buf, "246 ms");
	logs_format_duration(5000123, buf, sizeof buf);
	assert_string_equal(buf, "5.00 s");
	logs_format_duration(250000000, buf, sizeof buf);
	assert_string_equal(buf, "250 s");
	logs_format_duration(-5, buf, sizeof buf);
	assert_string_equal(buf, "0 µs");
}

static void previews_are_one_line_and_cut_between_characters(void **state)
{
	(void)state;
	char buf[64];
	logs_preview("  {\n  \"a\":\t1\r\n}  ", 40, buf, sizeof buf);
	assert_string_equal(buf, "{ \"a\": 1 }");
	logs_preview("abcdefghij", 5, buf, sizeof buf);
	assert_string_equal(buf, "abcde\xe2\x80\xa6");
	logs_preview("abcde", 5, buf, sizeof buf);
	assert_string_equal(buf, "abcde");
	logs_preview("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3, buf, sizeof buf);
	assert_string_equal(buf, "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	/* A small buffer cuts too, never mid-character. */
	char small[8];
	logs_preview("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 100, small, sizeof small);
	assert_string_equal(small, "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	logs_preview(NULL, 10, buf, sizeof buf);
	assert_string_equal(buf, "");
}

static void json_is_indented_without_changing_values(void **state)
{
	(void)state;
	char *out = logs_pretty_json("{\"a\":1.50,\"b\":[true,null,\"x\\\"y\\u00e9\"],\"c\":{},\"d\":[],"
	                             "\"big\":123456789012345678901234567890,\"e\":-0.5e+10}");
	assert_non_null(out);
	assert_string_equal(out, "{\n"
	                         "  \"a\": 1.50,\n"
	                         "  \"b\": [\n"
	                         "    true,\n"
	                         "    null,\n"
	                         "    \"x\\\"y\\u00e9\"\n"
	                         "  ],\n"
	                         "  \"c\": {},\n"
	                         "  \"d\": [],\n"
	                         "  \"big\": 123456789012345678901234567890,\n"
	                         "  \"e\": -0.5e+10\n"
	                         "}");
	free(out);
	const char *not_json[] = {"",          "plain text",  "{\"a\":}",         "{\"a\":1,}",
	                          "[1 2]",     "{\"a\":1} x", "{'a':1}",          "\"just a string\"",
	                          "42",        "{\"a\":01}",  "{\"a\":\"\x01\"}", "{\"a\":tru}",
	                          "[\"\\q\"]", "{\"a\":1"};
	for (size_t i = 0; i < sizeof not_json / sizeof not_json[0]; i++)
		assert_null(logs_pretty_json(not_json[i]));
	assert_null(logs_pretty_json(NULL));
	/* Deep nesting is shown as stored rather than recursed into. */
	char deep[401];
	memset(deep, '[', 200);
	memset(deep + 200, ']', 200);
	deep[400] = '\0';
	assert_null(logs_pretty_json(deep));
	out = logs_pretty_json("[[[[[[[[[[1]]]]]]]]]]");
	assert_non_null(out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(empty_input_means_everything),
	    cmocka_unit_test(valid_filters_are_normalised),
	    cmocka_unit_test(to_includes_the_whole_unit_typed),
	    cmocka_unit_test(impossible_dates_are_refused),
	    cmocka_unit_test(from_after_to_is_a_message),
	    cmocka_unit_test(bad_ids_status_and_events_are_refused),
	    cmocka_unit_test(paging_links_take_ids),
	    cmocka_unit_test(search_text_is_bounded_and_literal),
	    cmocka_unit_test(durations_read_naturally),
	    cmocka_unit_test(previews_are_one_line_and_cut_between_characters),
	    cmocka_unit_test(json_is_indented_without_changing_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
