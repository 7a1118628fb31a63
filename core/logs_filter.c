/* logs_filter: validation of the Execution Log filters, shared by the panel
 * and the API, so both refuse the same input with the same messages. */
#include "logs.h"

#include "events.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void field_error(struct logs_query *q, enum logs_field field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void field_error(struct logs_query *q, enum logs_field field, const char *fmt, ...)
{
	if (q->errors[field][0] == '\0')
		q->nerrors++;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->errors[field], sizeof q->errors[field], fmt, ap);
	va_end(ap);
}

/* Copy s without leading and trailing whitespace; 0, or -1 when it does not fit. */
static int trimmed(const char *s, char *out, size_t outlen)
{
	out[0] = '\0';
	if (s == NULL)
		return 0;
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len >= outlen)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* A positive whole number of at most max; 0 when text is not one. */
static long long parse_id(const char *text, long long max)
{
	long long value = 0;
	if (text[0] == '\0' || strlen(text) > 19)
		return 0;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		if (value > (max - (*p - '0')) / 10)
			return 0;
		value = value * 10 + (*p - '0');
	}
	return value;
}

/* Exactly n digits at s; their value, or -1. */
static int digits(const char *s, int n)
{
	int value = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		value = value * 10 + (s[i] - '0');
	}
	return value;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

enum date_unit { UNIT_DAY, UNIT_MINUTE, UNIT_SECOND };

/* "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS" ('T' may replace
 * the space). Fills tm and the precision given; -1 when not a real date. */
static int parse_date(const char *s, struct tm *tm, enum date_unit *unit)
{
	size_t len = strlen(s);
	if (len != 10 && len != 16 && len != 19)
		return -1;
	memset(tm, 0, sizeof *tm);
	int year = digits(s, 4), month = digits(s + 5, 2), day = digits(s + 8, 2);
	if (s[4] != '-' || s[7] != '-' || year < 1970 || year > 9998 || month < 1 || month > 12 || day < 1 ||
	    day > days_in_month(year, month))
		return -1;
	int hour = 0, minute = 0, second = 0;
	*unit = UNIT_DAY;
	if (len >= 16) {
		hour = digits(s + 11, 2);
		minute = digits(s + 14, 2);
		if ((s[10] != ' ' && s[10] != 'T') || s[13] != ':' || hour < 0 || hour > 23 || minute < 0 ||
		    minute > 59)
			return -1;
		*unit = UNIT_MINUTE;
	}
	if (len == 19) {
		second = digits(s + 17, 2);
		if (s[16] != ':' || second < 0 || second > 59)
			return -1;
		*unit = UNIT_SECOND;
	}
	tm->tm_year = year - 1900;
	tm->tm_mon = month - 1;
	tm->tm_mday = day;
	tm->tm_hour = hour;
	tm->tm_min = minute;
	tm->tm_sec = second;
	return 0;
}

static void format_sql_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Validate one date field; the SQL bound is the start of what was typed, or
 * (for an inclusive "to") the start of the next day / minute / second. */
static int parse_bound(struct logs_query *q, enum logs_field field, const char *input, char *echo, char *sql,
                       int upper, time_t *when)
{
	const char *label = field == LOGS_F_FROM ? "Date From" : "Date To";
	if (trimmed(input, echo, LOGS_DATETIME_LEN + 1) != 0) {
		echo[0] = '\0';
		field_error(q, field, "%s must be a real date like 2026-01-31 or 2026-01-31 14:30 (UTC).",
		            label);
		return -1;
	}
	if (echo[0] == '\0')
		return 0;
	struct tm tm;
	enum date_unit unit;
	if (parse_date(echo, &tm, &unit) != 0) {
		field_error(q, field, "%s must be a real date like 2026-01-31 or 2026-01-31 14:30 (UTC).",
		            label);
		return -1;
	}
	time_t t = timegm(&tm);
	if (upper)
		t += unit == UNIT_DAY ? 86400 : unit == UNIT_MINUTE ? 60 : 1;
	*when = t;
	format_sql_time(t, sql, LOGS_DATETIME_LEN + 1);
	return 1;
}

/* 1 when s is well-formed UTF-8 without control characters; counts characters. */
static int utf8_text_ok(const char *s, size_t *chars)
{
	const unsigned char *p = (const unsigned char *)s;
	*chars = 0;
	while (*p) {
		size_t extra;
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p < 0x80)
			extra = 0;
		else if (*p >= 0xc2 && *p <= 0xdf)
			extra = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			extra = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			extra = 3;
		else
			return 0;
		unsigned int code = extra == 0 ? *p : *p & (0x3f >> extra);
		for (size_t i = 1; i <= extra; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			code = (code << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF. */
		if ((extra == 2 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) ||
		    (extra == 3 && (code < 0x10000 || code > 0x10ffff)))
			return 0;
		p += extra + 1;
		(*chars)++;
	}
	return 1;
}

static void parse_text(const char *input, struct logs_query *q)
{
	char buf[sizeof q->text];
	if (trimmed(input, buf, sizeof buf) != 0) {
		field_error(q, LOGS_F_TEXT, "Search text is longer than %d characters.", LOGS_TEXT_MAX);
		return;
	}
	size_t chars;
	if (!utf8_text_ok(buf, &chars)) {
		field_error(q, LOGS_F_TEXT, "Search text must be plain text (UTF-8, no control characters).");
		return;
	}
	if (chars > LOGS_TEXT_MAX) {
		field_error(q, LOGS_F_TEXT, "Search text is longer than %d characters.", LOGS_TEXT_MAX);
		return;
	}
	memcpy(q->text, buf, strlen(buf) + 1);
	if (q->text[0] == '\0')
		return;
	/* LIKE with '!' as the escape: the operator's % and _ are literal. */
	char *out = q->like;
	*out++ = '%';
	for (const char *p = q->text; *p; p++) {
		if (*p == '%' || *p == '_' || *p == '!')
			*out++ = '!';
		*out++ = *p;
	}
	*out++ = '%';
	*out = '\0';
}

/* Each verdict has one status (failed: fail; the others: success), so the
 * filter reads the status index and checks the verdict on its rows. */
static void parse_verdict(const struct logs_input *in, struct logs_query *q)
{
	static const char *const verdicts[] = {"unchanged", "modified", "forbidden", "failed"};
	char buf[64];
	if (trimmed(in->verdict, buf, sizeof buf) != 0)
		buf[0] = '?';
	if (buf[0] == '\0')
		return;
	for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++) {
		if (strcmp(buf, verdicts[i]) != 0)
			continue;
		const char *implied = i == 3 ? "fail" : "success";
		if (q->status[0] != '\0' && strcmp(q->status, implied) != 0) {
			field_error(q, LOGS_F_VERDICT, "Verdict %s never has status %s: clear one of them.",
			            buf, q->status);
			return;
		}
		strcpy(q->verdict, verdicts[i]);
		strcpy(q->status, implied);
		return;
	}
	field_error(q, LOGS_F_VERDICT, "Verdict must be unchanged, modified, forbidden or failed.");
}

static void parse_choice_fields(const struct logs_input *in, struct logs_query *q)
{
	char buf[256];
	if (trimmed(in->handler, buf, sizeof buf) != 0 ||
	    (buf[0] != '\0' && (q->handler_id = parse_id(buf, 4294967295LL)) == 0))
		field_error(q, LOGS_F_HANDLER, "Handler must be a handler id (a whole number from 1).");
	if (trimmed(in->status, buf, sizeof buf) != 0 ||
	    (buf[0] != '\0' && strcmp(buf, "success") != 0 && strcmp(buf, "fail") != 0 &&
	     strcmp(buf, "waiting") != 0))
		field_error(q, LOGS_F_STATUS, "Status must be success, fail or waiting.");
	else if (buf[0] != '\0')
		strcpy(q->status, buf[0] == 's' ? "success" : buf[0] == 'w' ? "waiting" : "fail");
	parse_verdict(in, q);
	size_t chars;
	if (trimmed(in->event, buf, sizeof buf) != 0 || (buf[0] != '\0' && !utf8_text_ok(buf, &chars))) {
		/* Not echoed: the message goes out as JSON too, which takes UTF-8 only. */
		field_error(q, LOGS_F_EVENT, "Unknown event. Valid events: %s.", events_valid_list());
	} else if (buf[0] != '\0' && events_find(buf) == NULL) {
		char shown[40];
		logs_preview(buf, 32, shown, sizeof shown);
		field_error(q, LOGS_F_EVENT, "Unknown event '%s'. Valid events: %s.", shown,
		            events_valid_list());
	} else if (buf[0] != '\0') {
		const char *id = events_find(buf)->id; /* the catalog's own text, known to fit */
		memcpy(q->events_id, id, strlen(id) + 1);
	}
}

static void parse_paging(const struct logs_input *in, struct logs_query *q)
{
	char before[32], after[32];
	int bad =
	    trimmed(in->before, before, sizeof before) != 0 || trimmed(in->after, after, sizeof after) != 0;
	if (!bad && before[0] != '\0' && (q->before_id = parse_id(before, 9223372036854775807LL)) == 0)
		bad = 1;
	if (!bad && after[0] != '\0' && (q->after_id = parse_id(after, 9223372036854775807LL)) == 0)
		bad = 1;
	if (bad)
		field_error(q, LOGS_F_PAGE, "This page link is not valid: before and after take a log id.");
	else if (q->before_id > 0 && q->after_id > 0)
		field_error(q, LOGS_F_PAGE, "This page link is not valid: use before or after, not both.");
}

int logs_query_parse(const struct logs_input *in, struct logs_query *q)
{
	memset(q, 0, sizeof *q);
	parse_choice_fields(in, q);
	parse_text(in->text, q);
	time_t from = 0, to = 0;
	int have_from = parse_bound(q, LOGS_F_FROM, in->from, q->from, q->from_sql, 0, &from);
	int have_to = parse_bound(q, LOGS_F_TO, in->to, q->to, q->to_sql, 1, &to);
	if (have_from == 1 && have_to == 1 && from >= to)
		field_error(q, LOGS_F_TO, "Date To is before Date From; swap them or widen the range.");
	parse_paging(in, q);
	return q->nerrors;
}
