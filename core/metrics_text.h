/* metrics_text: the Prometheus text exposition format (version 0.0.4) into a
 * bounded buffer, and the execution-duration buckets shared by the per-minute
 * roll-up (rollup.c), the scrape (metrics.c) and later the panel's charts. */
#ifndef PROV_METRICS_TEXT_H
#define PROV_METRICS_TEXT_H

#include <stddef.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Duration buckets, upper bounds inclusive (Prometheus "le"): a 1-2.5-5 series
 * from 1 ms to 10 s, then 25 s, 60 s and the longest handler timeout (300 s).
 * Up to 60 s neighbours differ by at most 2.5x, so a p50/p95 interpolated
 * inside its bucket (histogram_quantile) is off by less than that factor
 * whatever the handler's speed; a duration past the last bound falls in the
 * +Inf bucket only. */
#define METRICS_BUCKETS 16
extern const long long metrics_bucket_us[METRICS_BUCKETS];
extern const char *const metrics_bucket_le[METRICS_BUCKETS]; /* the bounds in seconds, as text */

/* The bucket of a duration: the first whose bound is >= duration_us, or
 * METRICS_BUCKETS when it is longer than every bound (negative counts as 0). */
int metrics_bucket_index(long long duration_us);

/* Escape a label value (backslash, double quote, newline as \\, \", \n).
 * Returns the length written, or -1 when out (with its NUL) is too small. */
long metrics_escape_label(const char *in, char *out, size_t outlen);

/* Escape HELP text (backslash and newline). Same returns. */
long metrics_escape_help(const char *in, char *out, size_t outlen);

struct metrics_label {
	const char *name; /* [a-zA-Z_][a-zA-Z0-9_]*: the caller's constants */
	const char *value;
};

/* The exposition being built: at most max bytes; past that every write fails
 * and overflow stays set (the scrape answers 500, never a cut page). */
struct metrics_out {
	char *text;
	size_t len, cap, max;
	int overflow;
};

void metrics_out_init(struct metrics_out *out, size_t max);
void metrics_out_free(struct metrics_out *out);

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
int metrics_family(struct metrics_out *out, const char *name, const char *type, const char *help);

/* name{labels} value. Integers print exactly; doubles with up to 17
 * significant digits (NaN, +Inf and -Inf as Prometheus spells them). */
int metrics_sample_int(struct metrics_out *out, const char *name, const struct metrics_label *labels,
                       size_t nlabels, long long value);
int metrics_sample_double(struct metrics_out *out, const char *name, const struct metrics_label *labels,
                          size_t nlabels, double value);

/* A histogram's samples: name_bucket{labels,le=...} cumulative for each bound
 * and +Inf, name_sum (seconds, from sum_us) and name_count. counts[i] is the
 * non-cumulative count of bucket i; total includes the ones past the last. */
int metrics_histogram(struct metrics_out *out, const char *name, const struct metrics_label *labels,
                      size_t nlabels, const long long counts[METRICS_BUCKETS], long long total,
                      long long sum_us);

#endif
