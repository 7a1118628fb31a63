/* logs_format: how log values read for people: durations, one-line previews,
 * and JSON re-indented without re-encoding a single value (a log viewer must
 * show the numbers and strings exactly as they were sent). */
#include "logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void logs_format_duration(long long us, char *buf, size_t buflen)
{
	if (us < 0)
		us = 0;
	if (us < 1000)
		snprintf(buf, buflen, "%lld µs", us);
	else if (us < 100000)
		snprintf(buf, buflen, "%.1f ms", (double)us / 1000.0);
	else if (us < 1000000)
		snprintf(buf, buflen, "%lld ms", (us + 500) / 1000);
	else if (us < 100000000)
		snprintf(buf, buflen, "%.2f s", (double)us / 1e6);
	else
		snprintf(buf, buflen, "%lld s", (us + 500000) / 1000000);
}

void logs_preview(const char *text, size_t max_chars, char *buf, size_t buflen)
{
	static const char ellipsis[] = "\xe2\x80\xa6";
	size_t used = 0, chars = 0;
	int space = 0;
	if (buflen == 0)
		return;
	buf[0] = '\0';
	if (text == NULL || buflen < sizeof ellipsis + 1)
		return;
	const unsigned char *p = (const unsigned char *)text;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	while (*p) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			space = 1;
			p++;
			continue;
		}
		/* A character is its lead byte and the continuation bytes after it. */
		size_t n = 1;
		while ((p[n] & 0xc0) == 0x80)
			n++;
		size_t need = n + (space ? 1 : 0);
		if (chars + (space ? 1 : 0) + 1 > max_chars || used + need + sizeof ellipsis > buflen) {
			memcpy(buf + used, ellipsis, sizeof ellipsis);
			return;
		}
		if (space) {
			buf[used++] = ' ';
			chars++;
			space = 0;
		}
		memcpy(buf + used, p, n);
		used += n;
		chars++;
		p += n;
		buf[used] = '\0';
	}
}

/* ---------------------------------------------------------------- JSON */

#define PRETTY_MAX_DEPTH 64

struct pretty {
	const char *p;
	char *out;
	size_t len, cap;
	int failed;
};

static void put(struct pretty *s, const char *text, size_t n)
{
	if (s->failed)
		return;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		while (s->len + n + 1 > cap)
			cap *= 2;
		char *grown = realloc(s->out, cap);
		if (grown == NULL) {
			s->failed = 1;
			return;
		}
		s->out = grown;
		s->cap = cap;
	}
	memcpy(s->out + s->len, text, n);
	s->len += n;
	s->out[s->len] = '\0';
}

static void newline(struct pretty *s, int depth)
{
	static const char spaces[] = "                                ";
	put(s, "\n", 1);
	for (int i = 0; i < depth; i++)
		put(s, spaces, 2);
}

static void skip_ws(struct pretty *s)
{
	while (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')
		s->p++;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int copy_string(struct pretty *s)
{
	const char *start = s->p++;
	for (;;) {
		unsigned char c = (unsigned char)*s->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return -1; /* end of text or a raw control character */
		if (c == '\\') {
			char e = s->p[1];
			if (e == 'u') {
				if (!is_hex(s->p[2]) || !is_hex(s->p[3]) || !is_hex(s->p[4]) ||
				    !is_hex(s->p[5]))
					return -1;
				s->p += 6;
				continue;
			}
			if (strchr("\"\\/bfnrt", e) == NULL || e == '\0')
				return -1;
			s->p += 2;
			continue;
		}
		s->p++;
	}
	s->p++;
	put(s, start, (size_t)(s->p - start));
	return 0;
}

static int copy_number(struct pretty *s)
{
	const char *start = s->p;
	if (*s->p == '-')
		s->p++;
	if (*s->p == '0')
		s->p++;
	else if (*s->p >= '1' && *s->p <= '9')
		while (*s->p >= '0' && *s->p <= '9')
			s->p++;
	else
		return -1;
	if (*s->p == '.') {
		s->p++;
		if (*s->p < '0' || *s->p > '9')
			return -1;
		while (*s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	if (*s->p == 'e' || *s->p == 'E') {
		s->p++;
		if (*s->p == '+' || *s->p == '-')
			s->p++;
		if (*s->p < '0' || *s->p > '9')
			return -1;
		while (*s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	put(s, start, (size_t)(s->p - start));
	return 0;
}

static int copy_value(struct pretty *s, int depth);

/* An object or array: members on their own lines, one level deeper. */
static int copy_container(struct pretty *s, int depth)
{
	char open = *s->p, close = open == '{' ? '}' : ']';
	if (depth >= PRETTY_MAX_DEPTH)
		return -1;
	s->p++;
	put(s, &open, 1);
	skip_ws(s);
	if (*s->p == close) {
		s->p++;
		put(s, &close, 1);
		return 0;
	}
	for (;;) {
		newline(s, depth + 1);
		skip_ws(s);
		if (open == '{') {
			if (*s->p != '"' || copy_string(s) != 0)
				return -1;
			skip_ws(s);
			if (*s->p++ != ':')
				return -1;
			put(s, ": ", 2);
			skip_ws(s);
		}
		if (copy_value(s, depth + 1) != 0)
			return -1;
		skip_ws(s);
		if (*s->p == ',') {
			s->p++;
			put(s, ",", 1);
			continue;
		}
		if (*s->p != close)
			return -1;
		s->p++;
		newline(s, depth);
		put(s, &close, 1);
		return 0;
	}
}

static int copy_value(struct pretty *s, int depth)
{
	static const char *const literals[] = {"true", "false", "null"};
	switch (*s->p) {
	case '{':
	case '[': return copy_container(s, depth);
	case '"': return copy_string(s);
	default: break;
	}
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(literals[i]);
		if (strncmp(s->p, literals[i], n) == 0) {
			put(s, s->p, n);
			s->p += n;
			return 0;
		}
	}
	return copy_number(s);
}

char *logs_pretty_json(const char *text)
{
	if (text == NULL)
		return NULL;
	struct pretty s = {.p = text};
	skip_ws(&s);
	if (*s.p != '{' && *s.p != '[')
		return NULL;
	if (copy_value(&s, 0) == 0) {
		skip_ws(&s);
		if (*s.p == '\0' && !s.failed)
			return s.out;
	}
	free(s.out);
	return NULL;
}
