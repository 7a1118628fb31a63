/* Unit tests: the charts' SVG (escaping, shapes, links, the size bound), the
 * percentiles read from duration buckets, and the histogram's bar widths. */
#include "charts.h"
#include "charts_data.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static size_t occurrences(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void text_is_escaped_for_xml(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(charts_escape("a<b>&\"c'", out, sizeof out), 27);
	assert_string_equal(out, "a&lt;b&gt;&amp;&quot;c&#39;");
	assert_int_equal(charts_escape("", out, sizeof out), 0);
	/* Too small: -1, never a cut entity. */
	assert_int_equal(charts_escape("&&", out, 6), -1);
	assert_int_equal(charts_escape("&", out, 6), 5);
}

static void quantiles_interpolate_inside_their_bucket(void **state)
{
	(void)state;
	long long counts[METRICS_BUCKETS] = {0};
	assert_true(charts_quantile_us(counts, 0, 0.5) < 0); /* nothing: no estimate */
	/* 100 executions in (10 ms, 25 ms]: the median is half way through. */
	counts[4] = 100;
	assert_true(fabs(charts_quantile_us(counts, 100, 0.5) - 17500) < 1e-6);
	assert_true(fabs(charts_quantile_us(counts, 100, 0.95) - 24250) < 1e-6);
	/* The first bucket starts at 0. */
	memset(counts, 0, sizeof counts);
	counts[0] = 10;
	assert_true(fabs(charts_quantile_us(counts, 10, 0.5) - 500) < 1e-6);
	/* 90 fast, 10 slow: p50 among the fast, p95 among the slow. */
	memset(counts, 0, sizeof counts);
	counts[1] = 90; /* (1 ms, 2.5 ms] */
	counts[9] = 10; /* (0.5 s, 1 s] */
	double p50 = charts_quantile_us(counts, 100, 0.5), p95 = charts_quantile_us(counts, 100, 0.95);
	assert_true(p50 > 1000 && p50 <= 2500);
	assert_true(p95 > 500000 && p95 <= 1000000);
	/* Past the last bound (only in total): the last bound. */
	memset(counts, 0, sizeof counts);
	assert_true(fabs(charts_quantile_us(counts, 5, 0.5) - 300000000) < 1e-6);
}

static void durations_read_for_people(void **state)
{
	(void)state;
	char out[32];
	charts_duration_text(850, out, sizeof out);
	assert_string_equal(out, "850 \xc2\xb5s");
	charts_duration_text(2500, out, sizeof out);
	assert_string_equal(out, "2.5 ms");
	charts_duration_text(120000, out, sizeof out);
	assert_string_equal(out, "120 ms");
	charts_duration_text(1500000, out, sizeof out);
	assert_string_equal(out, "1.5 s");
	charts_duration_text(-1, out, sizeof out);
	assert_string_equal(out, "n/a");
}

static void sparkline_stacks_failures_on_successes(void **state)
{
	(void)state;
	long long ok[4] = {100, 0, 5, 0}, fail[4] = {0, 0, 5, 1};
	struct charts_svg svg;
	charts_svg_init(&svg);
	assert_int_equal(charts_sparkline(&svg, ok, fail, 4, "24 h: 111 runs <6 failed>"), 0);
	assert_non_null(strstr(svg.text, "role=\"img\" aria-label=\"24 h: 111 runs &lt;6 failed&gt;\""));
	assert_non_null(strstr(svg.text, "<title>24 h: 111 runs &lt;6 failed&gt;</title>"));
	assert_null(strstr(svg.text, "<6"));
	assert_int_equal(occurrences(svg.text, "class=\"ok\""), 2);
	assert_int_equal(occurrences(svg.text, "class=\"fail\""), 2);
	/* The largest slot (100) is full height; one failure of 100 still shows (at least 2). */
	assert_non_null(
	    strstr(svg.text, "<rect class=\"ok\" x=\"1.00\" y=\"0.00\" width=\"8.00\" height=\"100.00\"/>"));
	assert_non_null(strstr(
	    svg.text, "<rect class=\"fail\" x=\"31.00\" y=\"98.00\" width=\"8.00\" height=\"2.00\"/>"));
	assert_true(strcmp(svg.text + svg.len - 6, "</svg>") == 0);
	charts_svg_free(&svg);
}

static void histogram_bars_are_links_with_names(void **state)
{
	(void)state;
	struct charts_bar bars[3] = {{.ok = 4, .fail = 0}, {.ok = 0, .fail = 0}, {.ok = 2, .fail = 2}};
	snprintf(bars[0].href, sizeof bars[0].href, "/logs?from=2026-01-01&to=2026-01-01&q=a%%26b");
	snprintf(bars[0].label, sizeof bars[0].label, "2026-01-01 UTC: 4 succeeded, 0 failed");
	snprintf(bars[2].href, sizeof bars[2].href, "/logs?x=\"><script>");
	snprintf(bars[2].label, sizeof bars[2].label, "day 3");
	struct charts_svg svg;
	charts_svg_init(&svg);
	assert_int_equal(charts_histogram(&svg, bars, 3, "h-title", "Executions <per day>"), 0);
	assert_non_null(
	    strstr(svg.text,
	           "aria-labelledby=\"h-title\"><title id=\"h-title\">Executions &lt;per day&gt;</title>"));
	assert_non_null(
	    strstr(svg.text, "<a class=\"bar\" href=\"/logs?from=2026-01-01&amp;to=2026-01-01&amp;q=a%26b\" "
	                     "aria-label=\"2026-01-01 UTC: 4 succeeded, 0 failed\">"));
	assert_non_null(strstr(svg.text, "href=\"/logs?x=&quot;&gt;&lt;script&gt;\""));
	assert_null(strstr(svg.text, "<script"));
	/* A bar without an address is a group, not a link; every column has its hit area. */
	assert_int_equal(occurrences(svg.text, "<a class=\"bar\""), 2);
	assert_int_equal(occurrences(svg.text, "<g class=\"bar\">"), 1);
	assert_int_equal(occurrences(svg.text, "class=\"hit\""), 3);
	assert_int_equal(occurrences(svg.text, "class=\"fail\""), 1);
	charts_svg_free(&svg);
}

static void lines_break_where_there_is_no_data(void **state)
{
	(void)state;
	double rate[5] = {100, 50, -1, 75, -1};
	struct charts_series s[] = {{rate, "rate"}};
	struct charts_svg svg;
	charts_svg_init(&svg);
	assert_int_equal(charts_lines(&svg, s, 1, 5, 100, "r", "Success rate"), 0);
	/* 0..100 maps to 98..2: a run of two points, then a lone point as a dash. */
	assert_non_null(strstr(svg.text, "d=\"M0.00 2.00L10.00 50.00M27.50 26.00H32.50\""));
	assert_int_equal(occurrences(svg.text, "class=\"grid\""), 3);
	charts_svg_free(&svg);
}

static void a_chart_past_its_bound_fails(void **state)
{
	(void)state;
	static struct charts_bar bars[CHARTS_BARS_MAX];
	for (size_t i = 0; i < CHARTS_BARS_MAX; i++) {
		bars[i].ok = (long long)i;
		memset(bars[i].href, '&', sizeof bars[i].href - 1); /* 5 bytes each once escaped */
		memset(bars[i].label, '<', sizeof bars[i].label - 1);
	}
	struct charts_svg svg;
	charts_svg_init(&svg);
	assert_int_equal(charts_histogram(&svg, bars, CHARTS_BARS_MAX, "t", "t"), -1);
	assert_true(svg.overflow);
	assert_true(svg.len <= CHARTS_SVG_MAX);
	long long ok[1] = {1}, fail[1] = {0};
	assert_int_equal(charts_sparkline(&svg, ok, fail, 1, "x"), -1); /* stays failed */
	charts_svg_free(&svg);
}

static void histogram_bars_widen_with_the_range(void **state)
{
	(void)state;
	enum charts_grain grain;
	long width;
	charts_histogram_grain(3600, &grain, &width);
	assert_int_equal(grain, CHARTS_MINUTE);
	assert_int_equal(width, 60);
	charts_histogram_grain(2 * 3600 + 1, &grain, &width);
	assert_int_equal(grain, CHARTS_HOUR);
	assert_int_equal(width, 3600);
	charts_histogram_grain(4 * 86400, &grain, &width);
	assert_int_equal(grain, CHARTS_HOUR);
	charts_histogram_grain(90 * 86400, &grain, &width);
	assert_int_equal(grain, CHARTS_DAY);
	assert_int_equal(width, 86400);
	/* A year: whole days per bar, at most CHARTS_BARS_MAX bars. */
	charts_histogram_grain(365LL * 86400, &grain, &width);
	assert_int_equal(grain, CHARTS_DAY);
	assert_int_equal(width, 4 * 86400);
	assert_true(365LL * 86400 / width <= CHARTS_BARS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(text_is_escaped_for_xml),
	    cmocka_unit_test(quantiles_interpolate_inside_their_bucket),
	    cmocka_unit_test(durations_read_for_people),
	    cmocka_unit_test(sparkline_stacks_failures_on_successes),
	    cmocka_unit_test(histogram_bars_are_links_with_names),
	    cmocka_unit_test(lines_break_where_there_is_no_data),
	    cmocka_unit_test(a_chart_past_its_bound_fails),
	    cmocka_unit_test(histogram_bars_widen_with_the_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
