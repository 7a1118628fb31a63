/* page_charts: the HDF of the charts (SVG from core/charts.c, summaries,
 * axis labels) and of the Task Scheduler's health summary. */
#include "page_charts.h"

#include "charts.h"
#include "charts_data.h"
#include "db.h"
#include "health.h"
#include "logs.h"
#include "web.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* "12,345": counts read at a glance. */
static void count_text(long long n, char *out, size_t outlen)
{
	char digits[32];
	int len = snprintf(digits, sizeof digits, "%lld", n < 0 ? 0 : n);
	size_t o = 0;
	for (int i = 0; i < len && o + 2 < outlen; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* prefix.field = value */
static void set_field(struct web_request *req, const char *prefix, const char *field, const char *value)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", prefix, field);
	web_set(req, key, value);
}

/* An SVG into the HDF (printed raw by the include: every text in it was
 * escaped by charts.c), or a note that the chart could not be drawn. */
static void set_svg(struct web_request *req, const char *key, struct charts_svg *svg, int rc)
{
	if (rc == 0 && !svg->overflow && svg->text != NULL)
		web_set(req, key, svg->text);
	else
		fprintf(stderr, "prov-panel: chart %s: larger than %u bytes\n", key, CHARTS_SVG_MAX);
	charts_svg_free(svg);
}

/* ---------------------------------------------------------------- handler form */

struct window {
	const char *key, *title;
	int step_hours;
	size_t n;
};

static void set_window(struct web_request *req, struct db *db, long long handler_id, time_t now, size_t index,
                       const struct window *w)
{
	struct charts_period periods[28];
	char key[64], id[64], text[512];
	snprintf(key, sizeof key, "HandlerCharts.%zu", index);
	if (charts_handler_periods(db, handler_id, now, w->step_hours, periods, w->n) != 0) {
		fprintf(stderr, "prov-panel: handler charts: %s\n", db_error(db));
		web_set(req, "HandlerCharts.Error", "The charts could not be read.");
		return;
	}
	double rate[28], p50[28], p95[28], top = 0;
	long long ok = 0, fail = 0, all[METRICS_BUCKETS] = {0};
	for (size_t i = 0; i < w->n; i++) {
		long long total = periods[i].ok + periods[i].fail;
		rate[i] = total > 0 ? 100.0 * (double)periods[i].ok / (double)total : -1;
		p50[i] = charts_quantile_us(periods[i].buckets, total, 0.50);
		p95[i] = charts_quantile_us(periods[i].buckets, total, 0.95);
		if (p95[i] > top)
			top = p95[i];
		ok += periods[i].ok;
		fail += periods[i].fail;
		for (int b = 0; b < METRICS_BUCKETS; b++)
			all[b] += periods[i].buckets[b];
	}
	set_field(req, key, "Key", w->key);
	set_field(req, key, "Title", w->title);
	char count[32], d50[32], d95[32];
	count_text(ok + fail, count, sizeof count);
	charts_duration_text(charts_quantile_us(all, ok + fail, 0.50), d50, sizeof d50);
	charts_duration_text(charts_quantile_us(all, ok + fail, 0.95), d95, sizeof d95);
	if (ok + fail == 0)
		snprintf(text, sizeof text, "%s: no executions.", w->title);
	else
		snprintf(text, sizeof text, "%s: %s execution%s, %.1f%% succeeded; duration p50 %s, p95 %s.",
		         w->title, count, ok + fail == 1 ? "" : "s", 100.0 * (double)ok / (double)(ok + fail),
		         d50, d95);
	set_field(req, key, "Summary", text);

	top = top > 0 ? top * 1.1 : 1000;
	charts_duration_text(top, d95, sizeof d95);
	set_field(req, key, "DurationTop", d95);
	char svg_key[128];
	struct charts_svg svg;
	charts_svg_init(&svg);
	struct charts_series rate_line[] = {{rate, "rate"}};
	snprintf(id, sizeof id, "chart-%s-rate-title", w->key);
	snprintf(text, sizeof text, "Success rate, %s, per %d h", w->title, w->step_hours);
	snprintf(svg_key, sizeof svg_key, "%s.RateSvg", key);
	set_svg(req, svg_key, &svg, charts_lines(&svg, rate_line, 1, w->n, 100, id, text));
	charts_svg_init(&svg);
	struct charts_series duration_lines[] = {{p95, "p95"}, {p50, "p50"}};
	snprintf(id, sizeof id, "chart-%s-duration-title", w->key);
	snprintf(text, sizeof text, "Duration p50 and p95, %s, per %d h", w->title, w->step_hours);
	snprintf(svg_key, sizeof svg_key, "%s.DurationSvg", key);
	set_svg(req, svg_key, &svg, charts_lines(&svg, duration_lines, 2, w->n, top, id, text));
	char from[20], to[20];
	time_t step = (time_t)w->step_hours * 3600;
	time_t end = (now / step + 1) * step;
	charts_time_text(end - step * (time_t)w->n, from);
	charts_time_text(end, to);
	from[16] = to[16] = '\0';
	set_field(req, key, "From", from);
	set_field(req, key, "To", to);
}

void charts_set_handler(struct web_request *req, struct db *db, long long handler_id)
{
	static const struct window windows[] = {
	    {"day", "Last 24 h", 1, 24},
	    {"week", "Last 7 days", 6, 28},
	};
	if (db == NULL)
		return;
	time_t now = time(NULL);
	for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++)
		set_window(req, db, handler_id, now, i, &windows[i]);
}

/* ---------------------------------------------------------------- handler list */

void charts_set_sparklines(struct web_request *req, struct db *db, const struct db_rows *rows, size_t id_col)
{
	static long long ids[CHARTS_SPARK_IDS_MAX], ok[CHARTS_SPARK_IDS_MAX][CHARTS_SPARK_HOURS],
	    fail[CHARTS_SPARK_IDS_MAX][CHARTS_SPARK_HOURS];
	size_t n = rows->nrows < CHARTS_SPARK_IDS_MAX ? rows->nrows : CHARTS_SPARK_IDS_MAX;
	for (size_t i = 0; i < n; i++)
		ids[i] = db_cell_int(rows, i, id_col, 0);
	if (charts_sparklines(db, ids, n, time(NULL), ok, fail) != 0) {
		fprintf(stderr, "prov-panel: sparklines: %s\n", db_error(db));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		long long all_ok = 0, all_fail = 0;
		for (int hour = 0; hour < CHARTS_SPARK_HOURS; hour++) {
			all_ok += ok[i][hour];
			all_fail += fail[i][hour];
		}
		char key[64], text[160], a[32], b[32];
		count_text(all_ok + all_fail, a, sizeof a);
		count_text(all_fail, b, sizeof b);
		if (all_ok + all_fail == 0)
			snprintf(text, sizeof text, "24 h: no runs");
		else
			snprintf(text, sizeof text, "24 h: %s run%s, %s failed", a,
			         all_ok + all_fail == 1 ? "" : "s", b);
		snprintf(key, sizeof key, "Handlers.%zu.SparkText", i);
		web_set(req, key, text);
		char label[256];
		snprintf(label, sizeof label, "Executions per hour of handler #%lld over the last 24 h: %s",
		         ids[i], text + 6);
		struct charts_svg svg;
		charts_svg_init(&svg);
		snprintf(key, sizeof key, "Handlers.%zu.Spark", i);
		set_svg(req, key, &svg, charts_sparkline(&svg, ok[i], fail[i], CHARTS_SPARK_HOURS, label));
	}
}

/* ---------------------------------------------------------------- logs */

/* A bar's range as the filters take it: from and to inclusive. */
static void bar_range(const struct charts_histogram *h, size_t i, char *from, char *to, char *label,
                      size_t labellen)
{
	time_t start = h->start + (time_t)i * h->width, last = start + h->width - 60;
	char a[20], b[20];
	charts_time_text(start, a);
	charts_time_text(last, b);
	if (h->grain == CHARTS_DAY) {
		snprintf(from, 20, "%.10s", a);
		snprintf(to, 20, "%.10s", b);
		snprintf(label, labellen, h->width == 86400 ? "%.10s" : "%.10s to %.10s", a, b);
	} else {
		snprintf(from, 20, "%.16s", a);
		snprintf(to, 20, "%.16s", b);
		snprintf(label, labellen, h->grain == CHARTS_MINUTE ? "%.16s" : "%.16s to %.5s", a, b + 11);
	}
}

void charts_set_logs(struct web_request *req, struct db *db, const struct logs_query *q)
{
	struct charts_histogram_query hq = {.handler_id = q->handler_id,
	                                    .events_id = q->events_id,
	                                    .status = q->status,
	                                    .from_sql = q->from_sql,
	                                    .to_sql = q->to_sql};
	static struct charts_histogram h;
	static struct charts_bar bars[CHARTS_BARS_MAX];
	if (charts_histogram_read(db, &hq, time(NULL), &h) != 0) {
		fprintf(stderr, "prov-panel: histogram: %s\n", db_error(db));
		web_set(req, "Histogram.Error", "The histogram could not be read.");
		return;
	}
	web_set_int(req, "Histogram.Bars", (long long)h.n);
	if (q->text[0])
		web_set_int(req, "Histogram.TextIgnored", 1);
	if (h.n == 0)
		return;
	long long top = 0;
	for (size_t i = 0; i < h.n; i++) {
		char from[20], to[20], when[80], a[32], b[32];
		bar_range(&h, i, from, to, when, sizeof when);
		count_text(h.ok[i], a, sizeof a);
		count_text(h.fail[i], b, sizeof b);
		snprintf(bars[i].label, sizeof bars[i].label, "%s UTC: %s succeeded, %s failed", when, a, b);
		logs_range_href(q, from, to, bars[i].href, sizeof bars[i].href);
		bars[i].ok = h.ok[i];
		bars[i].fail = h.fail[i];
		if (h.ok[i] + h.fail[i] > top)
			top = h.ok[i] + h.fail[i];
	}
	char first[20], last[20], all[32], ok[32], fail[32], text[400], per[32];
	charts_time_text(h.start, first);
	charts_time_text(h.start + (time_t)h.n * h.width, last);
	count_text(h.total_ok + h.total_fail, all, sizeof all);
	count_text(h.total_ok, ok, sizeof ok);
	count_text(h.total_fail, fail, sizeof fail);
	if (h.grain == CHARTS_DAY)
		snprintf(per, sizeof per, h.width == 86400 ? "day" : "%ld days", h.width / 86400);
	else
		snprintf(per, sizeof per, h.grain == CHARTS_HOUR ? "hour" : "minute");
	snprintf(text, sizeof text,
	         "%s executions from %.16s to %.16s UTC: %s succeeded, %s failed; one bar per %s.", all,
	         first, last, ok, fail, per);
	web_set(req, "Histogram.Summary", text);
	first[16] = last[16] = '\0';
	web_set(req, "Histogram.From", first);
	web_set(req, "Histogram.To", last);
	count_text(top, all, sizeof all);
	web_set(req, "Histogram.Top", all);
	struct charts_svg svg;
	charts_svg_init(&svg);
	snprintf(text, sizeof text,
	         "Executions per %s, successes and failures stacked; a bar narrows the dates", per);
	set_svg(req, "Histogram.Svg", &svg, charts_histogram(&svg, bars, h.n, "histogram-title", text));
}

/* ---------------------------------------------------------------- health */

static void set_count(struct web_request *req, const char *key, long long n)
{
	char text[48];
	if (n > HEALTH_TREND_CAP)
		snprintf(text, sizeof text, "more than 1,000");
	else
		count_text(n, text, sizeof text);
	web_set(req, key, text);
}

void charts_set_health(struct web_request *req, struct db *db)
{
	static struct health_summary h;
	if (health_read(db, web_app(req)->cfg.spool_dir, &h) != 0) {
		fprintf(stderr, "prov-panel: health summary: %s\n", db_error(db));
		web_set(req, "Health.Error", "The health summary could not be read.");
		return;
	}
	char key[64], age[32];
	for (size_t r = 0; r < h.failing.nrows; r++) {
		snprintf(key, sizeof key, "Health.Failing.%zu", r);
		set_field(req, key, "Id", db_cell(&h.failing, r, HF_ID));
		set_field(req, key, "Name", db_cell(&h.failing, r, HF_NAME));
		set_field(req, key, "Failures", db_cell(&h.failing, r, HF_FAILURES));
		set_field(req, key, "Since", db_cell(&h.failing, r, HF_SINCE));
		health_age_text(db_cell_int(&h.failing, r, HF_SINCE_SECONDS, 0), age, sizeof age);
		set_field(req, key, "For", age);
		set_field(req, key, "Error", db_cell(&h.failing, r, HF_ERROR));
		set_field(req, key, "Status", db_cell(&h.failing, r, HF_STATUS));
	}
	web_set_int(req, "Health.FailingCount", h.failing_count);
	web_set_int(req, "Health.FailingMore", h.failing_count - (long long)h.failing.nrows);
	set_count(req, "Health.Retry.Added", h.retry_added_hour);
	set_count(req, "Health.Retry.Finished", h.retry_finished_hour);
	web_set(req, "Health.Retry.Trend",
	        h.retry_added_hour > h.retry_finished_hour   ? "growing"
	        : h.retry_added_hour < h.retry_finished_hour ? "shrinking"
	                                                     : "steady");
	if (h.oldest_due_seconds >= 0) {
		health_age_text(h.oldest_due_seconds, age, sizeof age);
		web_set(req, "Health.Retry.OldestDue", age);
	}
	web_set_int(req, "Health.Spool.Readable", h.spool_readable);
	web_set_int(req, "Health.Spool.Waiting", h.spool_waiting);
	web_set_int(req, "Health.Spool.Corrupt", h.spool_corrupt);
	size_t late = 0;
	for (size_t i = 0; i < h.nservices; i++) {
		const struct health_service *s = &h.services[i];
		if (!s->late)
			continue;
		snprintf(key, sizeof key, "Health.Late.%zu", late++);
		set_field(req, key, "Name", s->name);
		set_field(req, key, "Title", s->title);
		set_field(req, key, "Why", s->why);
	}
	web_set_int(req, "Health.LateCount", (long long)late);
	int problems = h.failing_count > 0 || late > 0 || h.oldest_due_seconds >= 0 || h.spool_waiting > 0 ||
	               h.spool_corrupt > 0;
	web_set_int(req, "Health.Problems", problems);
	health_free(&h);
}
