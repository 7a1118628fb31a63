/* delivery: the entry point (delivery_run), ids and the reading of replies
 * (signatures: delivery_sign.c). The transports live in delivery_http.c and delivery_script.c. */
#include "delivery_internal.h"

#include "auth.h"
#include "monotonic.h"
#include "utf8.h"

#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---------------------------------------------------------------- buffers */

int delivery_buf_add(struct delivery_buf *buf, const void *bytes, size_t n)
{
	if (buf->len + n > buf->limit) {
		buf->overflow = 1;
		n = buf->limit > buf->len ? buf->limit - buf->len : 0;
	}
	if (n == 0)
		return 0;
	if (buf->len + n + 1 > buf->cap_size) {
		size_t size = buf->cap_size ? buf->cap_size : 1024;
		while (size < buf->len + n + 1)
			size *= 2;
		char *grown = realloc(buf->data, size);
		if (grown == NULL)
			return -1;
		buf->data = grown;
		buf->cap_size = size;
	}
	memcpy(buf->data + buf->len, bytes, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
	return 0;
}

char *delivery_buf_take(struct delivery_buf *buf)
{
	char *data = buf->data ? buf->data : calloc(1, 1);
	buf->data = NULL;
	buf->len = buf->cap_size = 0;
	return data;
}

void delivery_buf_free(struct delivery_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap_size = 0;
}

/* ---------------------------------------------------------------- small helpers */

void delivery_fail(struct delivery_result *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof out->error, fmt, ap);
	va_end(ap);
	out->success = 0;
}

long long delivery_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void delivery_time_text(long long us, int iso, char *out, size_t outlen)
{
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;
	char date[32];
	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(date, sizeof date, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		snprintf(out, outlen, "1970-01-01%s00:00:00", iso ? "T" : " ");
		return;
	}
	if (iso)
		snprintf(out, outlen, "%s.%03lldZ", date, (us % 1000000) / 1000);
	else
		snprintf(out, outlen, "%s.%06lld", date, us % 1000000);
}

const char *delivery_trigger_name(enum delivery_trigger trigger)
{
	switch (trigger) {
	case DELIVERY_TRIGGER_RETRY: return "retry";
	case DELIVERY_TRIGGER_MANUAL: return "manual";
	case DELIVERY_TRIGGER_TEST: return "test";
	case DELIVERY_TRIGGER_DISPATCH: break;
	}
	return "dispatch";
}

int delivery_new_id(char out[DELIVERY_ID_LEN + 1])
{
	unsigned char b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	char hex[33];
	auth_hex(b, sizeof b, hex);
	snprintf(out, DELIVERY_ID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
	         hex + 20);
	return 0;
}

int delivery_id_valid(const char *id)
{
	if (strlen(id) != DELIVERY_ID_LEN)
		return 0;
	for (size_t i = 0; i < DELIVERY_ID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? id[i] != '-' : strchr("0123456789abcdef", id[i]) == NULL || id[i] == '\0')
			return 0;
	}
	return 1;
}

int delivery_http_url(const char *task, char *out, size_t outlen)
{
	int has_scheme = strncmp(task, "http://", 7) == 0 || strncmp(task, "https://", 8) == 0;
	int n = snprintf(out, outlen, "%s%s", has_scheme ? "" : "http://", task);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	if (s[0] >= 0x01 && s[0] < 0x80)
		return 1;
	size_t len = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
	             : s[0] >= 0xe0 && s[0] <= 0xef ? 3
	             : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
	                                            : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || /* overlong, surrogate */
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))   /* overlong, > U+10FFFF */
		return 0;
	return len;
}

char *delivery_utf8_clean(const char *text, size_t len, size_t max, int *cut)
{
	size_t room = (len < max ? len : max) * 3 + 4;
	char *out = malloc(room);
	if (out == NULL)
		return NULL;
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	size_t i = 0, o = 0;
	int shortened = 0;
	while (i < len) {
		size_t k = utf8_sequence(s + i, len - i);
		const char *bytes = k ? (const char *)s + i : "\xef\xbf\xbd";
		size_t nbytes = k ? k : 3;
		if (o + nbytes > max || o + nbytes > room - 1) {
			shortened = 1;
			break;
		}
		memcpy(out + o, bytes, nbytes);
		o += nbytes;
		i += k ? k : 1;
	}
	out[o] = '\0';
	if (cut)
		*cut = shortened;
	return out;
}

/* ---------------------------------------------------------------- replies */

/* Copy a UTF-8 string, cut at a character boundary when it does not fit. */
static void copy_utf8(char *dst, size_t dstlen, const char *src)
{
	size_t n = utf8_prefix(src, dstlen - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int delivery_read_reply(const char *body, size_t len, int strict, struct delivery_result *out)
{
	out->verdict = DELIVERY_UNCHANGED;
	size_t start = 0;
	while (start < len && strchr(" \t\r\n", body[start]) != NULL && body[start] != '\0')
		start++;
	if (start == len)
		return 0; /* an empty reply: done, nothing to change */
	json_error_t jerr;
	json_t *reply = json_loadb(body, len, 0, &jerr);
	if (reply == NULL) {
		if (!strict)
			return 0; /* "OK" and the like from an HTTP handler */
		delivery_fail(out, "the reply is not valid JSON: %s (line %d)", jerr.text, jerr.line);
		return -1;
	}
	int rc = 0;
	if (json_is_object(reply)) {
		json_t *allow = json_object_get(reply, "allow");
		json_t *data = json_object_get(reply, "data");
		json_t *reason = json_object_get(reply, "reason");
		if (allow != NULL && !json_is_boolean(allow)) {
			delivery_fail(out, "the reply's \"allow\" must be true or false");
			rc = -1;
		} else if (data != NULL && !json_is_null(data) && !json_is_object(data)) {
			delivery_fail(out, "the reply's \"data\" must be a JSON object");
			rc = -1;
		} else if (allow != NULL && json_is_false(allow)) {
			out->verdict = DELIVERY_FORBID;
			copy_utf8(out->reason, sizeof out->reason,
			          json_is_string(reason) ? json_string_value(reason) : "");
		} else if (json_is_object(data)) {
			out->verdict = DELIVERY_REPLACE;
			out->data = json_incref(data);
		}
	}
	json_decref(reply);
	return rc;
}

/* ---------------------------------------------------------------- the context */

struct delivery *delivery_new(const struct delivery_limits *limits, char *err, size_t errlen)
{
	struct delivery *d = calloc(1, sizeof *d);
	if (d == NULL) {
		snprintf(err, errlen, "delivery: out of memory");
		return NULL;
	}
	d->limits = *limits;
	const char *dir = limits->scripts_dir ? limits->scripts_dir : "";
	if (strlen(dir) >= sizeof d->scripts_dir) {
		snprintf(err, errlen, "delivery: scripts_dir is too long");
		free(d);
		return NULL;
	}
	memcpy(d->scripts_dir, dir, strlen(dir) + 1);
	d->limits.scripts_dir = d->scripts_dir;
	char why[256];
	if (netpolicy_parse(limits->outbound_allow, &d->outbound, why, sizeof why) != 0) {
		snprintf(err, errlen, "delivery: outbound_allow %s", why);
		free(d);
		return NULL;
	}
	d->limits.outbound_allow = NULL;
	signal(SIGPIPE, SIG_IGN);
	return d;
}

void delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	delivery_http_cleanup(d);
	free(d);
}

void delivery_result_free(struct delivery_result *r)
{
	if (r == NULL)
		return;
	free(r->request_headers);
	free(r->response_body);
	free(r->response_headers);
	free(r->script_stderr);
	json_decref(r->data);
	memset(r, 0, sizeof *r);
}

int delivery_run(struct delivery *d, const struct delivery_request *req, struct delivery_result *out)
{
	memset(out, 0, sizeof *out);
	out->retry_after_s = -1;
	out->started_us = delivery_now_us();
	long long t0 = monotonic_us();
	int transport = req->handler->kind == DELIVERY_HTTP ? delivery_http_post(d, req, out)
	                                                    : delivery_script_run(d, req, out);
	out->duration_us = monotonic_us() - t0;
	if (transport != 0) {
		out->success = 0;
		if (out->error[0] == '\0')
			delivery_fail(out, "the handler failed");
		return -1;
	}
	if (out->response_overflow) {
		delivery_fail(out, "the reply is larger than %zu bytes", d->limits.response_read_max);
		return -1;
	}
	int strict = req->handler->kind == DELIVERY_SCRIPT;
	if (delivery_read_reply(out->response_body ? out->response_body : "", out->response_len, strict,
	                        out) != 0)
		return -1;
	out->success = 1;
	out->error[0] = '\0';
	return 0;
}
