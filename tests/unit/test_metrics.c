/* Unit tests: the Prometheus exposition (label and HELP escaping, samples,
 * cumulative histograms, the size bound) and the duration buckets and
 * roll-up keys behind it. */
#include "metrics_text.h"
#include "rollup.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static void label_values_escape_backslash_quote_newline(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(metrics_escape_label("a\\b\"c\nd", out, sizeof out), 10);
	assert_string_equal(out, "a\\\\b\\\"c\\nd");
	assert_int_equal(metrics_escape_label("", out, sizeof out), 0);
	assert_string_equal(out, "");
	/* Other bytes (UTF-8 included) pass as they are. */
	assert_true(metrics_escape_label("Zürich\ttab", out, sizeof out) > 0);
	assert_string_equal(out, "Zürich\ttab");
	/* HELP text keeps quotes. */
	assert_int_equal(metrics_escape_help("say \"hi\"\\\n", out, sizeof out), 12);
	assert_string_equal(out, "say \"hi\"\\\\\\n");
}

static void escaping_never_overflows(void **state)
{
	(void)state;
	char out[5];
	assert_int_equal(metrics_escape_label("abcd", out, sizeof out), 4);
	assert_int_equal(metrics_escape_label("abcde", out, sizeof out), -1);
	assert_int_equal(metrics_escape_label("ab\"c", out, sizeof out), -1); /* needs 5 + NUL */
	assert_int_equal(metrics_escape_label("a\"", out, sizeof out), 3);
	assert_int_equal(metrics_escape_label("", out, 0), -1);
}

static void samples_and_families(void **state)
{
	(void)state;
	struct metrics_out out;
	metrics_out_init(&out, 4096);
	struct metrics_label l[] = {{"handler", "7"}, {"name", "say \"hi\"\\\nbye"}};
	assert_int_equal(metrics_family(&out, "prov_x_total", "counter", "Things.\nMore \\ \"quoted\"."), 0);
	assert_int_equal(metrics_sample_int(&out, "prov_x_total", l, 2, 42), 0);
	assert_int_equal(metrics_sample_int(&out, "prov_y", NULL, 0, -1), 0);
	assert_int_equal(metrics_sample_double(&out, "prov_z", NULL, 0, 1.5), 0);
	assert_int_equal(metrics_sample_double(&out, "prov_z", NULL, 0, 1.0 / 0.0), 0);
	assert_string_equal(out.text, "# HELP prov_x_total Things.\\nMore \\\\ \"quoted\".\n"
	                              "# TYPE prov_x_total counter\n"
	                              "prov_x_total{handler=\"7\",name=\"say \\\"hi\\\"\\\\\\nbye\"} 42\n"
	                              "prov_y -1\n"
	                              "prov_z 1.5\n"
	                              "prov_z +Inf\n");
	assert_int_equal(out.len, strlen(out.text));
	metrics_out_free(&out);
}

static void histograms_are_cumulative_with_inf_sum_and_count(void **state)
{
	(void)state;
	struct metrics_out out;
	metrics_out_init(&out, 8192);
	long long counts[METRICS_BUCKETS] = {0};
	counts[0] = 2; /* <= 1 ms */
	counts[9] = 3; /* <= 1 s */
	struct metrics_label l[] = {{"handler", "3"}};
	/* 6 in all: one past the last bound (only in +Inf). */
	assert_int_equal(metrics_histogram(&out, "prov_d_seconds", l, 1, counts, 6, 2500000), 0);
	assert_non_null(strstr(out.text, "prov_d_seconds_bucket{handler=\"3\",le=\"0.001\"} 2\n"));
	assert_non_null(strstr(out.text, "prov_d_seconds_bucket{handler=\"3\",le=\"0.5\"} 2\n"));
	assert_non_null(strstr(out.text, "prov_d_seconds_bucket{handler=\"3\",le=\"1\"} 5\n"));
	assert_non_null(strstr(out.text, "prov_d_seconds_bucket{handler=\"3\",le=\"300\"} 5\n"));
	assert_non_null(strstr(out.text, "prov_d_seconds_bucket{handler=\"3\",le=\"+Inf\"} 6\n"));
	assert_non_null(strstr(out.text, "prov_d_seconds_sum{handler=\"3\"} 2.5\n"));
	assert_non_null(strstr(out.text, "prov_d_seconds_count{handler=\"3\"} 6\n"));
	metrics_out_free(&out);
}

static void a_page_past_its_bound_fails_and_stays_failed(void **state)
{
	(void)state;
	struct metrics_out out;
	metrics_out_init(&out, 32);
	assert_int_equal(metrics_sample_int(&out, "prov_a", NULL, 0, 1), 0);
	assert_int_equal(metrics_sample_int(&out, "prov_long_name_that_does_not_fit", NULL, 0, 1), -1);
	assert_true(out.overflow);
	assert_int_equal(metrics_sample_int(&out, "b", NULL, 0, 1), -1);
	assert_true(out.len < 32);
	metrics_out_free(&out);
}

static void buckets_are_inclusive_upper_bounds(void **state)
{
	(void)state;
	assert_int_equal(metrics_bucket_index(-5), 0);
	assert_int_equal(metrics_bucket_index(0), 0);
	assert_int_equal(metrics_bucket_index(1000), 0);
	assert_int_equal(metrics_bucket_index(1001), 1);
	assert_int_equal(metrics_bucket_index(2500), 1);
	assert_int_equal(metrics_bucket_index(1000000), 9);
	assert_int_equal(metrics_bucket_index(1000001), 10);
	assert_int_equal(metrics_bucket_index(300000000), METRICS_BUCKETS - 1);
	assert_int_equal(metrics_bucket_index(300000001), METRICS_BUCKETS);
}

/* p50/p95 are estimated inside one bucket: neighbours must be close (at most
 * 2.5x) from 1 ms to the longest timeout, ascending, their "le" text equal to
 * their bound. */
static void bucket_bounds_allow_percentile_estimates(void **state)
{
	(void)state;
	assert_int_equal(metrics_bucket_us[0], 1000);
	assert_true(metrics_bucket_us[METRICS_BUCKETS - 1] >= 300000000); /* HANDLER_TIMEOUT_MAX_MS */
	for (int i = 0; i < METRICS_BUCKETS; i++) {
		char text[32];
		snprintf(text, sizeof text, "%g", (double)metrics_bucket_us[i] / 1e6);
		assert_string_equal(text, metrics_bucket_le[i]);
		if (i > 0 && i < METRICS_BUCKETS - 1) { /* the last step goes to the 300 s timeout */
			assert_true(metrics_bucket_us[i] > metrics_bucket_us[i - 1]);
			assert_true(metrics_bucket_us[i] * 2 <= metrics_bucket_us[i - 1] * 5);
		}
	}
}

static void rollup_rows_are_merged_and_in_key_order(void **state)
{
	(void)state;
	long long minute = 1700000040LL * 1000000; /* 2023-11-14 22:14:00 UTC */
	struct rollup_exec e[] = {
	    {minute + 5000000, 2000, 9, "clients.update", 1, DELIVERY_UNCHANGED, DELIVERY_TRIGGER_DISPATCH},
	    {minute + 1000, 400000000, 2, "clients.update", 0, DELIVERY_UNCHANGED, DELIVERY_TRIGGER_RETRY},
	    {minute + 7000000, 3000, 9, "clients.update", 1, DELIVERY_UNCHANGED, DELIVERY_TRIGGER_DISPATCH},
	    {minute - 1, 10, 9, "clients.update", 1, DELIVERY_FORBID, DELIVERY_TRIGGER_DISPATCH},
	    {minute + 2, 10, 2, "clients.create", 1, DELIVERY_REPLACE, DELIVERY_TRIGGER_MANUAL},
	};
	struct rollup_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(rollup_build(e, 5, &rows, &n), 0);
	assert_int_equal(n, 4);
	/* The previous minute first, then by handler, event... */
	assert_string_equal(rows[0].minute, "2023-11-14 22:13:00");
	assert_string_equal(rows[0].verdict, "forbidden");
	assert_string_equal(rows[1].minute, "2023-11-14 22:14:00");
	assert_int_equal(rows[1].handler_id, 2);
	assert_string_equal(rows[1].events_id, "clients.create");
	assert_string_equal(rows[1].verdict, "modified");
	assert_string_equal(rows[1].trigger, "manual");
	assert_int_equal(rows[2].handler_id, 2);
	assert_string_equal(rows[2].status, "fail");
	assert_string_equal(rows[2].verdict, "failed");
	assert_int_equal(rows[2].buckets[METRICS_BUCKETS - 1], 0); /* 400 s: past every bound */
	long long in_buckets = 0;
	for (int b = 0; b < METRICS_BUCKETS; b++)
		in_buckets += rows[2].buckets[b];
	assert_int_equal(in_buckets, 0);
	assert_int_equal(rows[2].executions, 1);
	/* Two executions of one key, one row. */
	assert_int_equal(rows[3].handler_id, 9);
	assert_int_equal(rows[3].executions, 2);
	assert_int_equal(rows[3].duration_us_sum, 5000);
	assert_int_equal(rows[3].buckets[1], 1);
	assert_int_equal(rows[3].buckets[2], 1);
	free(rows);
	assert_int_equal(rollup_build(e, 0, &rows, &n), 0);
	assert_null(rows);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(label_values_escape_backslash_quote_newline),
	    cmocka_unit_test(escaping_never_overflows),
	    cmocka_unit_test(samples_and_families),
	    cmocka_unit_test(histograms_are_cumulative_with_inf_sum_and_count),
	    cmocka_unit_test(a_page_past_its_bound_fails_and_stays_failed),
	    cmocka_unit_test(buckets_are_inclusive_upper_bounds),
	    cmocka_unit_test(bucket_bounds_allow_percentile_estimates),
	    cmocka_unit_test(rollup_rows_are_merged_and_in_key_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
