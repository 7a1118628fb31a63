/* Unit tests: spool records survive, torn tails are detected, swaps are safe. */
#include "spool.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/prov-spool-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/%s", dir, SPOOL_FILE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct seen {
	char text[8][64];
	size_t n;
};

static int collect(void *ctx, const char *payload, size_t len)
{
	struct seen *seen = ctx;
	if (seen->n == 8 || len >= 64)
		return 1;
	memcpy(seen->text[seen->n++], payload, len + 1);
	return 0;
}

static void append(const char *text)
{
	char err[256];
	assert_int_equal(spool_append(dir, text, strlen(text), err, sizeof err), 0);
}

static void records_come_back_in_order(void **state)
{
	(void)state;
	append("{\"a\":1}");
	append("{\"b\":\"two\\nlines\"}");
	append("x");
	struct seen seen = {0};
	struct spool_read_result result;
	char err[256];
	assert_int_equal(spool_read(path, collect, &seen, &result, err, sizeof err), 0);
	assert_int_equal(result.records, 3);
	assert_false(result.torn_tail);
	assert_false(result.corrupt);
	assert_string_equal(seen.text[1], "{\"b\":\"two\\nlines\"}");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void a_torn_last_record_is_reported_not_fatal(void **state)
{
	(void)state;
	append("first");
	append("second-record");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	for (off_t cut = 1; cut <= 20; cut++) {
		char copy[160];
		snprintf(copy, sizeof copy, "%s/torn", dir);
		char cmd[400];
		snprintf(cmd, sizeof cmd, "head -c %lld %s > %s", (long long)(st.st_size - cut), path, copy);
		assert_int_equal(system(cmd), 0);
		struct seen seen = {0};
		struct spool_read_result result;
		char err[256];
		assert_int_equal(spool_read(copy, collect, &seen, &result, err, sizeof err), 0);
		assert_int_equal(result.records, 1);
		assert_string_equal(seen.text[0], "first");
		assert_true(result.torn_tail);
		assert_false(result.corrupt);
		assert_int_equal(result.stop_offset,
		                 3 + 1 + 1 + 8 + 1 + 5 + 1); /* after "S1 5 xxxxxxxx\nfirst\n" */
	}
}

static void a_damaged_middle_record_is_skipped_and_reported(void **state)
{
	(void)state;
	append("one");
	append("two");
	append("three");
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	assert_int_equal(fseek(f, 14 + 4 + 14, SEEK_SET), 0); /* inside "two" */
	assert_int_equal(fputc('X', f), 'X');
	assert_int_equal(fclose(f), 0);
	struct seen seen = {0};
	struct spool_read_result result;
	char err[256];
	assert_int_equal(spool_read(path, collect, &seen, &result, err, sizeof err), 0);
	assert_int_equal(result.records, 2);
	assert_string_equal(seen.text[0], "one");
	assert_string_equal(seen.text[1], "three");
	assert_true(result.corrupt);
	assert_false(result.torn_tail);
	assert_int_equal(result.damaged, 1);
	assert_int_equal(result.stop_offset, 14 + 4); /* where "two" starts */
}

static void garbage_and_a_bad_length_are_skipped_up_to_the_next_record(void **state)
{
	(void)state;
	append("alpha");
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("S1 99999 00000000\nshort\n", f); /* a length far past the next record */
	fputs("\x01\x02 noise without a newline, S1 in the middle", f);
	fputs("\nS1 x y\n", f); /* a header that does not parse */
	assert_int_equal(fclose(f), 0);
	append("omega");
	append("last");
	struct seen seen = {0};
	struct spool_read_result result;
	char err[256];
	assert_int_equal(spool_read(path, collect, &seen, &result, err, sizeof err), 0);
	assert_int_equal(result.records, 3);
	assert_string_equal(seen.text[0], "alpha");
	assert_string_equal(seen.text[1], "omega");
	assert_string_equal(seen.text[2], "last");
	assert_true(result.corrupt);
	assert_int_equal(result.damaged, 2);
	assert_false(result.torn_tail);
}

static void damage_then_a_torn_tail_are_both_reported(void **state)
{
	(void)state;
	append("one");
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("junk\n", f);
	assert_int_equal(fclose(f), 0);
	append("two");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 2), 0);
	struct seen seen = {0};
	struct spool_read_result result;
	char err[256];
	assert_int_equal(spool_read(path, collect, &seen, &result, err, sizeof err), 0);
	assert_int_equal(result.records, 1);
	assert_true(result.corrupt);
	assert_true(result.torn_tail);
	assert_int_equal(result.stop_offset, 14 + 4); /* the first bad stretch */
}

static void take_moves_the_file_and_appends_start_afresh(void **state)
{
	(void)state;
	char moved[256], err[256];
	assert_int_equal(spool_take(dir, moved, sizeof moved, err, sizeof err), 0); /* nothing yet */
	append("before");
	assert_int_equal(spool_take(dir, moved, sizeof moved, err, sizeof err), 1);
	append("after");
	struct seen seen = {0};
	struct spool_read_result result;
	assert_int_equal(spool_read(moved, collect, &seen, &result, err, sizeof err), 0);
	assert_int_equal(result.records, 1);
	assert_string_equal(seen.text[0], "before");
	struct seen fresh = {0};
	assert_int_equal(spool_read(path, collect, &fresh, &result, err, sizeof err), 0);
	assert_int_equal(result.records, 1);
	assert_string_equal(fresh.text[0], "after");
}

static void bad_arguments_are_refused(void **state)
{
	(void)state;
	char err[256] = "";
	assert_int_equal(spool_append(dir, "", 0, err, sizeof err), -1);
	assert_int_equal(spool_append("/nonexistent/dir", "x", 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/dir"));
	struct spool_read_result result;
	assert_int_equal(spool_read("/nonexistent/file", collect, NULL, &result, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(records_come_back_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_torn_last_record_is_reported_not_fatal, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_damaged_middle_record_is_skipped_and_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(garbage_and_a_bad_length_are_skipped_up_to_the_next_record, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(damage_then_a_torn_tail_are_both_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(take_moves_the_file_and_appends_start_afresh, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_arguments_are_refused, setup, teardown),
	};
	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
