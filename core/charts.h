/* charts: the panel's server-rendered SVG (no script, no library): the
 * handler list's sparklines, the handler form's rate and duration lines, the
 * Execution Logs' stacked histogram; every text XML-escaped here. And the
 * percentiles read from the roll-ups' duration buckets (metrics_text.h). The
 * SVGs carry shapes and <title>s only: the axis labels and the text summary
 * are HTML around them (templates), so they stay readable at any width. */
#ifndef PROV_CHARTS_H
#define PROV_CHARTS_H

#include "metrics_text.h"

#include <stddef.h>

#define CHARTS_SVG_MAX (256u * 1024) /* one chart's bytes; more is an error, never a cut chart */

/* A chart being built: bounded like metrics_out; past max every write fails
 * and overflow stays set. */
struct charts_svg {
	char *text;
	size_t len, cap, max;
	int overflow;
};

void charts_svg_init(struct charts_svg *svg);
void charts_svg_free(struct charts_svg *svg);

/* Escape text for an XML text node or attribute (& < > " '). Returns the
 * length written, or -1 when out (with its NUL) is too small. */
long charts_escape(const char *in, char *out, size_t outlen);

/* The q-quantile (0 < q < 1) of a duration histogram in microseconds,
 * interpolated inside its bucket as Prometheus' histogram_quantile does
 * (the first bucket from 0; past the last bound: the last bound). counts are
 * per bucket (not cumulative); total includes those past the last bound.
 * -1 when total is 0. */
double charts_quantile_us(const long long counts[METRICS_BUCKETS], long long total, double q);

/* A sparkline: n slots of stacked bars (successes under failures), scaled to
 * the largest slot; label is its accessible name and <title>. 0 or -1. */
int charts_sparkline(struct charts_svg *svg, const long long *ok, const long long *fail, size_t n,
                     const char *label);

/* One bar of a histogram: its counts, where clicking it goes and what it says. */
struct charts_bar {
	long long ok, fail;
	char href[512]; /* "": no link */
	char label[256];
};

/* A stacked histogram (successes under failures) scaled to the largest bar;
 * each bar a link with its label as name and <title>. id names the chart's
 * <title> element (aria-labelledby). 0 or -1. */
int charts_histogram(struct charts_svg *svg, const struct charts_bar *bars, size_t n, const char *id,
                     const char *title);

/* A line of a line chart: npoints values (a value < 0: no data, the line
 * breaks there), drawn with CSS class cls. */
struct charts_series {
	const double *values;
	const char *cls;
};

/* Lines over npoints evenly spaced points from 0 to ymax (values above are
 * drawn at ymax), with grid lines at a quarter, half and three quarters. 0 or -1. */
int charts_lines(struct charts_svg *svg, const struct charts_series *series, size_t nseries, size_t npoints,
                 double ymax, const char *id, const char *title);

/* A duration for people: "850 µs", "12 ms", "1.5 s", "4 min". */
void charts_duration_text(double us, char *out, size_t outlen);

#endif
