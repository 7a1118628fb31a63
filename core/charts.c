/* charts: SVG sparklines, stacked histograms and line charts into a bounded
 * buffer, text escaped; percentiles from duration buckets. */
#include "charts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void charts_svg_init(struct charts_svg *svg)
{
	memset(svg, 0, sizeof *svg);
	svg->max = CHARTS_SVG_MAX;
}

void charts_svg_free(struct charts_svg *svg)
{
	free(svg->text);
	memset(svg, 0, sizeof *svg);
}

long charts_escape(const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	if (outlen == 0)
		return -1;
	for (const char *p = in; *p != '\0'; p++) {
		const char *rep = *p == '&'    ? "&amp;"
		                  : *p == '<'  ? "&lt;"
		                  : *p == '>'  ? "&gt;"
		                  : *p == '"'  ? "&quot;"
		                  : *p == '\'' ? "&#39;"
		                               : NULL;
		size_t need = rep != NULL ? strlen(rep) : 1;
		if (n + need >= outlen)
			return -1;
		if (rep != NULL)
			memcpy(out + n, rep, need);
		else
			out[n] = *p;
		n += need;
	}
	out[n] = '\0';
	return (long)n;
}

static int reserve(struct charts_svg *svg, size_t need)
{
	if (svg->overflow || svg->len + need + 1 > svg->max) {
		svg->overflow = 1;
		return -1;
	}
	if (svg->len + need + 1 <= svg->cap)
		return 0;
	size_t cap = svg->cap ? svg->cap : 2048;
	while (cap < svg->len + need + 1)
		cap *= 2;
	if (cap > svg->max)
		cap = svg->max;
	char *text = realloc(svg->text, cap);
	if (text == NULL) {
		svg->overflow = 1;
		return -1;
	}
	svg->text = text;
	svg->cap = cap;
	return 0;
}

/* Markup from the callers' own formats; text goes through add_text. */
__attribute__((format(printf, 2, 3))) static int add(struct charts_svg *svg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(svg, (size_t)n) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(svg->text + svg->len, svg->cap - svg->len, fmt, ap);
	va_end(ap);
	svg->len += (size_t)n;
	return 0;
}

/* Escaped text: at most 6 bytes for each byte in. */
static int add_text(struct charts_svg *svg, const char *text)
{
	size_t room = 6 * strlen(text) + 1;
	if (reserve(svg, room) != 0)
		return -1;
	long n = charts_escape(text, svg->text + svg->len, svg->cap - svg->len);
	if (n < 0) {
		svg->overflow = 1;
		return -1;
	}
	svg->len += (size_t)n;
	return 0;
}

double charts_quantile_us(const long long counts[METRICS_BUCKETS], long long total, double q)
{
	if (total <= 0)
		return -1;
	double rank = q * (double)total;
	long long seen = 0;
	for (int b = 0; b < METRICS_BUCKETS; b++) {
		long long c = counts[b] > 0 ? counts[b] : 0;
		if (c > 0 && (double)(seen + c) >= rank) {
			double lower = b == 0 ? 0 : (double)metrics_bucket_us[b - 1];
			double upper = (double)metrics_bucket_us[b];
			return lower + (upper - lower) * (rank - (double)seen) / (double)c;
		}
		seen += c;
	}
	return (double)metrics_bucket_us[METRICS_BUCKETS - 1];
}

void charts_duration_text(double us, char *out, size_t outlen)
{
	if (us < 0)
		snprintf(out, outlen, "n/a");
	else if (us < 1000)
		snprintf(out, outlen, "%.0f \xc2\xb5s", us);
	else if (us < 10000)
		snprintf(out, outlen, "%.1f ms", us / 1000);
	else if (us < 1000000)
		snprintf(out, outlen, "%.0f ms", us / 1000);
	else if (us < 60000000)
		snprintf(out, outlen, "%.1f s", us / 1000000);
	else
		snprintf(out, outlen, "%.1f min", us / 60000000);
}

static long long largest(const long long *ok, const long long *fail, size_t n)
{
	long long top = 0;
	for (size_t i = 0; i < n; i++)
		if (ok[i] + fail[i] > top)
			top = ok[i] + fail[i];
	return top;
}

/* Heights in a 0..100 box: a non-zero count is at least 2 high, so that it shows. */
static double bar_height(long long count, long long top)
{
	if (count <= 0 || top <= 0)
		return 0;
	double h = 100.0 * (double)count / (double)top;
	return h < 2 ? 2 : h;
}

static int stacked_bar(struct charts_svg *svg, double x, double width, long long ok, long long fail,
                       long long top)
{
	double h_ok = bar_height(ok, top), h_fail = bar_height(fail, top);
	if (h_ok + h_fail > 100)
		h_ok = 100 - h_fail;
	int rc = 0;
	if (h_ok > 0)
		rc = add(svg, "<rect class=\"ok\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>", x,
		         100 - h_ok, width, h_ok);
	if (rc == 0 && h_fail > 0)
		rc = add(svg, "<rect class=\"fail\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>",
		         x, 100 - h_ok - h_fail, width, h_fail);
	return rc;
}

/* <svg ...><title id=ID>TITLE</title>: a chart named by its title. */
static int open_titled(struct charts_svg *svg, const char *cls, double width, const char *role,
                       const char *id, const char *title)
{
	int rc = add(svg,
	             "<svg class=\"chart %s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f 100\" "
	             "preserveAspectRatio=\"none\" role=\"%s\" aria-labelledby=\"",
	             cls, width, role);
	rc = rc ? rc : add_text(svg, id);
	rc = rc ? rc : add(svg, "\"><title id=\"");
	rc = rc ? rc : add_text(svg, id);
	rc = rc ? rc : add(svg, "\">");
	rc = rc ? rc : add_text(svg, title);
	return rc ? rc : add(svg, "</title>");
}

int charts_sparkline(struct charts_svg *svg, const long long *ok, const long long *fail, size_t n,
                     const char *label)
{
	long long top = largest(ok, fail, n);
	int rc =
	    add(svg,
	        "<svg class=\"chart spark\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %zu 100\" "
	        "preserveAspectRatio=\"none\" role=\"img\" aria-label=\"",
	        n * 10);
	rc = rc ? rc : add_text(svg, label);
	rc = rc ? rc : add(svg, "\"><title>");
	rc = rc ? rc : add_text(svg, label);
	rc = rc ? rc
	        : add(svg, "</title><line class=\"base\" x1=\"0\" y1=\"99\" x2=\"%zu\" y2=\"99\"/>", n * 10);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = stacked_bar(svg, (double)i * 10 + 1, 8, ok[i], fail[i], top);
	return rc ? rc : add(svg, "</svg>");
}

int charts_histogram(struct charts_svg *svg, const struct charts_bar *bars, size_t n, const char *id,
                     const char *title)
{
	long long top = 0;
	for (size_t i = 0; i < n; i++)
		if (bars[i].ok + bars[i].fail > top)
			top = bars[i].ok + bars[i].fail;
	int rc = open_titled(svg, "histogram", (double)n * 10, "group", id, title);
	for (int g = 1; rc == 0 && g < 4; g++)
		rc = add(svg, "<line class=\"grid\" x1=\"0\" y1=\"%d\" x2=\"%zu\" y2=\"%d\"/>", g * 25,
		         n * 10, g * 25);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct charts_bar *b = &bars[i];
		int link = b->href[0] != '\0';
		if (link) {
			rc = add(svg, "<a class=\"bar\" href=\"");
			rc = rc ? rc : add_text(svg, b->href);
			rc = rc ? rc : add(svg, "\" aria-label=\"");
			rc = rc ? rc : add_text(svg, b->label);
			rc = rc ? rc : add(svg, "\">");
		} else {
			rc = add(svg, "<g class=\"bar\">");
		}
		rc = rc ? rc : add(svg, "<title>");
		rc = rc ? rc : add_text(svg, b->label);
		/* The whole column takes the click, not only the drawn part. */
		rc = rc ? rc
		        : add(svg,
		              "</title><rect class=\"hit\" x=\"%zu\" y=\"0\" width=\"10\" height=\"100\"/>",
		              i * 10);
		rc = rc ? rc : stacked_bar(svg, (double)i * 10 + 1, 8, b->ok, b->fail, top);
		rc = rc ? rc : add(svg, link ? "</a>" : "</g>");
	}
	return rc ? rc
	          : add(svg, "<line class=\"base\" x1=\"0\" y1=\"99.5\" x2=\"%zu\" y2=\"99.5\"/></svg>",
	                n * 10);
}

static double y_of(double value, double ymax)
{
	if (ymax <= 0)
		return 98;
	double v = value > ymax ? ymax : value;
	return 98 - 96 * v / ymax; /* 2..98: a line at 0 or at the top stays visible */
}

/* One series: a path of runs between gaps; a lone point is a short dash. */
static int line_path(struct charts_svg *svg, const struct charts_series *s, size_t npoints, double step,
                     double ymax)
{
	int rc = add(svg, "<path class=\"line %s\" vector-effect=\"non-scaling-stroke\" d=\"", s->cls);
	for (size_t i = 0; rc == 0 && i < npoints; i++) {
		if (s->values[i] < 0)
			continue;
		double x = (double)i * step, y = y_of(s->values[i], ymax);
		int starts = i == 0 || s->values[i - 1] < 0;
		int alone = starts && (i + 1 == npoints || s->values[i + 1] < 0);
		if (alone)
			rc =
			    add(svg, "M%.2f %.2fH%.2f", x - step / 4 < 0 ? 0 : x - step / 4, y, x + step / 4);
		else
			rc = add(svg, "%s%.2f %.2f", starts ? "M" : "L", x, y);
	}
	return rc ? rc : add(svg, "\"/>");
}

int charts_lines(struct charts_svg *svg, const struct charts_series *series, size_t nseries, size_t npoints,
                 double ymax, const char *id, const char *title)
{
	double width = npoints > 1 ? (double)(npoints - 1) * 10 : 10;
	int rc = open_titled(svg, "lines", width, "img", id, title);
	for (int g = 1; rc == 0 && g < 4; g++)
		rc = add(svg,
		         "<line class=\"grid\" vector-effect=\"non-scaling-stroke\" x1=\"0\" y1=\"%.2f\" "
		         "x2=\"%.0f\" "
		         "y2=\"%.2f\"/>",
		         y_of(ymax * g / 4, ymax), width, y_of(ymax * g / 4, ymax));
	for (size_t s = 0; rc == 0 && s < nseries; s++)
		rc = line_path(svg, &series[s], npoints, npoints > 1 ? 10 : 0, ymax);
	return rc ? rc : add(svg, "</svg>");
}
