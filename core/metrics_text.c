/* metrics_text: Prometheus text exposition (escaping, samples, histograms)
 * into a bounded buffer; the duration buckets. */
#include "metrics_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const long long metrics_bucket_us[METRICS_BUCKETS] = {
    1000,   2500,    5000,    10000,   25000,    50000,    100000,   250000,
    500000, 1000000, 2500000, 5000000, 10000000, 25000000, 60000000, 300000000,
};
const char *const metrics_bucket_le[METRICS_BUCKETS] = {
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
    "0.5",   "1",      "2.5",   "5",    "10",    "25",   "60",  "300",
};

int metrics_bucket_index(long long duration_us)
{
	for (int i = 0; i < METRICS_BUCKETS; i++)
		if (duration_us <= metrics_bucket_us[i])
			return i;
	return METRICS_BUCKETS;
}

static long escape(const char *in, char *out, size_t outlen, int quote)
{
	size_t n = 0;
	for (const char *p = in; *p != '\0'; p++) {
		const char *rep = NULL;
		if (*p == '\\')
			rep = "\\\\";
		else if (*p == '\n')
			rep = "\\n";
		else if (quote && *p == '"')
			rep = "\\\"";
		size_t need = rep != NULL ? 2 : 1;
		if (n + need >= outlen)
			return -1;
		if (rep != NULL)
			memcpy(out + n, rep, 2);
		else
			out[n] = *p;
		n += need;
	}
	if (outlen == 0)
		return -1;
	out[n] = '\0';
	return (long)n;
}

long metrics_escape_label(const char *in, char *out, size_t outlen)
{
	return escape(in, out, outlen, 1);
}

long metrics_escape_help(const char *in, char *out, size_t outlen)
{
	return escape(in, out, outlen, 0);
}

void metrics_out_init(struct metrics_out *out, size_t max)
{
	memset(out, 0, sizeof *out);
	out->max = max;
}

void metrics_out_free(struct metrics_out *out)
{
	free(out->text);
	memset(out, 0, sizeof *out);
}

/* Room for need more bytes and a NUL. */
static int reserve(struct metrics_out *out, size_t need)
{
	if (out->overflow || need > out->max || out->len + need + 1 > out->max) {
		out->overflow = 1;
		return -1;
	}
	if (out->len + need + 1 <= out->cap)
		return 0;
	size_t cap = out->cap ? out->cap : 4096;
	while (cap < out->len + need + 1)
		cap *= 2;
	if (cap > out->max)
		cap = out->max;
	char *text = realloc(out->text, cap);
	if (text == NULL) {
		out->overflow = 1;
		return -1;
	}
	out->text = text;
	out->cap = cap;
	return 0;
}

static int append(struct metrics_out *out, const char *s, size_t len)
{
	if (reserve(out, len) != 0)
		return -1;
	memcpy(out->text + out->len, s, len);
	out->len += len;
	out->text[out->len] = '\0';
	return 0;
}

static int append_str(struct metrics_out *out, const char *s)
{
	return append(out, s, strlen(s));
}

/* A label value's escaped form is at most twice as long. */
static int append_escaped(struct metrics_out *out, const char *value, int quote)
{
	size_t room = 2 * strlen(value) + 1;
	if (reserve(out, room) != 0)
		return -1;
	long n = escape(value, out->text + out->len, out->cap - out->len, quote);
	if (n < 0) {
		out->overflow = 1;
		return -1;
	}
	out->len += (size_t)n;
	return 0;
}

int metrics_family(struct metrics_out *out, const char *name, const char *type, const char *help)
{
	if (append_str(out, "# HELP ") != 0 || append_str(out, name) != 0 || append_str(out, " ") != 0 ||
	    append_escaped(out, help, 0) != 0 || append_str(out, "\n# TYPE ") != 0 ||
	    append_str(out, name) != 0 || append_str(out, " ") != 0 || append_str(out, type) != 0)
		return -1;
	return append_str(out, "\n");
}

/* name{a="x",b="y"} with an optional extra label (a histogram's le). */
static int sample_head(struct metrics_out *out, const char *name, const struct metrics_label *labels,
                       size_t nlabels, const char *le)
{
	if (append_str(out, name) != 0)
		return -1;
	if (nlabels == 0 && le == NULL)
		return 0;
	if (append_str(out, "{") != 0)
		return -1;
	for (size_t i = 0; i < nlabels; i++) {
		if ((i > 0 && append_str(out, ",") != 0) || append_str(out, labels[i].name) != 0 ||
		    append_str(out, "=\"") != 0 ||
		    append_escaped(out, labels[i].value ? labels[i].value : "", 1) != 0 ||
		    append_str(out, "\"") != 0)
			return -1;
	}
	if (le != NULL && ((nlabels > 0 && append_str(out, ",") != 0) || append_str(out, "le=\"") != 0 ||
	                   append_str(out, le) != 0 || append_str(out, "\"") != 0))
		return -1;
	return append_str(out, "}");
}

static int sample_value(struct metrics_out *out, const char *value)
{
	if (append_str(out, " ") != 0 || append_str(out, value) != 0)
		return -1;
	return append_str(out, "\n");
}

int metrics_sample_int(struct metrics_out *out, const char *name, const struct metrics_label *labels,
                       size_t nlabels, long long value)
{
	char text[32];
	snprintf(text, sizeof text, "%lld", value);
	if (sample_head(out, name, labels, nlabels, NULL) != 0)
		return -1;
	return sample_value(out, text);
}

int metrics_sample_double(struct metrics_out *out, const char *name, const struct metrics_label *labels,
                          size_t nlabels, double value)
{
	char text[40];
	if (isnan(value))
		snprintf(text, sizeof text, "NaN");
	else if (isinf(value))
		snprintf(text, sizeof text, "%s", value > 0 ? "+Inf" : "-Inf");
	else
		snprintf(text, sizeof text, "%.17g", value);
	if (sample_head(out, name, labels, nlabels, NULL) != 0)
		return -1;
	return sample_value(out, text);
}

int metrics_histogram(struct metrics_out *out, const char *name, const struct metrics_label *labels,
                      size_t nlabels, const long long counts[METRICS_BUCKETS], long long total,
                      long long sum_us)
{
	char series[128];
	if (snprintf(series, sizeof series, "%s_bucket", name) >= (int)sizeof series)
		return -1;
	long long cumulative = 0;
	char text[32];
	for (int i = 0; i <= METRICS_BUCKETS; i++) {
		cumulative = i < METRICS_BUCKETS ? cumulative + counts[i] : total;
		snprintf(text, sizeof text, "%lld", cumulative);
		if (sample_head(out, series, labels, nlabels,
		                i < METRICS_BUCKETS ? metrics_bucket_le[i] : "+Inf") != 0 ||
		    sample_value(out, text) != 0)
			return -1;
	}
	snprintf(series, sizeof series, "%s_sum", name);
	if (metrics_sample_double(out, series, labels, nlabels, (double)sum_us / 1e6) != 0)
		return -1;
	snprintf(series, sizeof series, "%s_count", name);
	return metrics_sample_int(out, series, labels, nlabels, total);
}
