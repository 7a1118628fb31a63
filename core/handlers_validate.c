/* handlers_validate: raw handler fields (form or JSON) into a typed handler,
 * with one message per bad field. The only place the handler rules live. */
#include "handlers.h"

#include "delivery.h"

#include "events.h"
#include "netpolicy.h"
#include "retry.h"

#include <ClearSilver.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static void add_error(struct handler_errors *errors, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(struct handler_errors *errors, const char *field, const char *fmt, ...)
{
	if (errors->count == HANDLER_FIELD_ERRORS_MAX)
		return;
	struct handler_field_error *e = &errors->list[errors->count++];
	e->field = field;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
}

const char *handler_error_for(const struct handler_errors *errors, const char *field)
{
	for (size_t i = 0; i < errors->count; i++)
		if (strcmp(errors->list[i].field, field) == 0)
			return errors->list[i].message;
	return NULL;
}

/* ---------------------------------------------------------------- names of things */

static const char *const status_names[] = {"enabled", "disabled", "archived"};
static const char *const task_type_names[] = {"http", "script"};

const char *handler_status_name(enum handler_status status)
{
	return (unsigned)status < 3 ? status_names[status] : "disabled";
}

int handler_status_parse(const char *text, enum handler_status *status)
{
	for (unsigned i = 0; text != NULL && i < 3; i++)
		if (strcmp(text, status_names[i]) == 0) {
			*status = (enum handler_status)i;
			return 0;
		}
	return -1;
}

const char *handler_task_type_name(enum handler_task_type type)
{
	return type == HANDLER_TASK_SCRIPT ? task_type_names[1] : task_type_names[0];
}

int handler_task_type_parse(const char *text, enum handler_task_type *type)
{
	for (unsigned i = 0; text != NULL && i < 2; i++)
		if (strcmp(text, task_type_names[i]) == 0) {
			*type = (enum handler_task_type)i;
			return 0;
		}
	return -1;
}

static const char *const scheme_names[] = {"prov", "standard"};

const char *handler_scheme_name(enum handler_signature_scheme scheme)
{
	return scheme == HANDLER_SCHEME_STANDARD ? scheme_names[1] : scheme_names[0];
}

int handler_scheme_parse(const char *text, enum handler_signature_scheme *scheme)
{
	for (unsigned i = 0; text != NULL && i < 2; i++)
		if (strcmp(text, scheme_names[i]) == 0) {
			*scheme = (enum handler_signature_scheme)i;
			return 0;
		}
	return -1;
}

/* ---------------------------------------------------------------- text helpers */

/* Copy text without leading and trailing blanks into out; -1 when it does not fit. */
static int trimmed_copy(const char *text, char *out, size_t outlen)
{
	while (*text == ' ' || *text == '\t')
		text++;
	size_t len = strlen(text);
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	if (len >= outlen)
		return -1;
	memcpy(out, text, len);
	out[len] = '\0';
	return 0;
}

/* NULL, empty, or only blanks: "not given" for optional fields. */
static int is_blank(const char *text)
{
	return text == NULL || strspn(text, " \t") == strlen(text);
}

/* Characters in valid UTF-8 text, or -1 when it is not valid UTF-8 or holds
 * control characters (the column and the page would both mangle them). */
static long utf8_length(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	long count = 0;
	while (*p) {
		unsigned c = *p;
		size_t extra;
		unsigned code;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return -1;
			extra = 0;
			code = c;
		} else if (c >= 0xc2 && c <= 0xdf) {
			extra = 1;
			code = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			extra = 2;
			code = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			extra = 3;
			code = c & 0x07;
		} else {
			return -1;
		}
		for (size_t i = 1; i <= extra; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			code = (code << 6) | (p[i] & 0x3f);
		}
		if ((extra == 2 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) ||
		    (extra == 3 && (code < 0x10000 || code > 0x10ffff)) || (code >= 0x80 && code <= 0x9f))
			return -1;
		p += extra + 1;
		count++;
	}
	return count;
}

/* A whole number in [min, max] with nothing around it but blanks. */
static int parse_whole(const char *text, long min, long max, long *out)
{
	char buf[32];
	if (trimmed_copy(text, buf, sizeof buf) != 0 || buf[0] == '\0')
		return -1;
	for (const char *p = buf; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	long value = strtol(buf, NULL, 10);
	if (errno != 0 || value < min || value > max)
		return -1;
	*out = value;
	return 0;
}

/* Seconds with at most three decimals ("5", "0.25") into milliseconds. */
static int parse_seconds_ms(const char *text, long *ms)
{
	char buf[32];
	if (trimmed_copy(text, buf, sizeof buf) != 0 || buf[0] == '\0')
		return -1;
	const char *p = buf;
	long whole = 0, frac = 0;
	int digits = 0, decimals = 0;
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if (digits < 9)
			whole = whole * 10 + (*p - '0');
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, decimals++)
			if (decimals < 3)
				frac = frac * 10 + (*p - '0');
		if (decimals == 0 || decimals > 3)
			return -1;
		for (int d = decimals; d < 3; d++)
			frac *= 10;
	}
	if (*p != '\0' || digits == 0 || digits > 6)
		return -1;
	*ms = whole * 1000 + frac;
	return 0;
}

static int parse_flag(const char *text, int *out)
{
	static const char *const yes[] = {"1", "on", "true", "yes"};
	static const char *const no[] = {"0", "off", "false", "no"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Check text with the retry policy's own parser (the one the worker uses) and
 * keep it without blanks: " 10s, 1m " -> "10s,1m". */
static int check_schedule(const char *text, char *out, size_t outlen, char *why, size_t whylen)
{
	struct retry_schedule schedule;
	static const char prefix[] = "retry schedule: ";
	if (retry_schedule_parse(text, &schedule, why, whylen) != 0) {
		if (strncmp(why, prefix, sizeof prefix - 1) == 0)
			memmove(why, why + sizeof prefix - 1, strlen(why) - (sizeof prefix - 1) + 1);
		return -1;
	}
	size_t used = 0;
	for (const char *p = text; *p; p++) {
		if (*p == ' ' || *p == '\t')
			continue;
		if (used + 1 >= outlen) {
			snprintf(why, whylen, "longer than %zu characters", outlen - 1);
			return -1;
		}
		out[used++] = *p;
	}
	while (used > 0 && out[used - 1] == ',')
		used--;
	out[used] = '\0';
	return 0;
}

/* ---------------------------------------------------------------- task */

static int is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~' || c == '%';
}

/* "host:port" or "[v6]:port" followed by '/', '?' or the end: the seed's
 * "120.0.0.1:5000/api" form, read as http://. */
static int looks_like_host_port(const char *task)
{
	const char *p = task;
	if (*p == '[') {
		p = strchr(p, ']');
		if (p == NULL)
			return 0;
		p++;
	} else {
		const char *start = p;
		while (is_host_char(*p))
			p++;
		if (p == start)
			return 0;
	}
	if (*p++ != ':' || *p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0' || *p == '/' || *p == '?';
}

/* rest: everything after "scheme://". */
static int check_url_rest(const char *rest, char *message, size_t messagelen)
{
	for (const char *p = rest; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			snprintf(
			    message, messagelen,
			    "The URL must not contain spaces or non-ASCII characters: percent-encode them");
			return -1;
		}
	size_t authority_len = strcspn(rest, "/?#");
	const char *at = memchr(rest, '@', authority_len);
	const char *host = at ? at + 1 : rest;
	const char *end = rest + authority_len;
	const char *port = NULL;
	if (host < end && *host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		if (close == NULL || close == host + 1) {
			snprintf(message, messagelen, "The URL's IPv6 host must be written as [address]");
			return -1;
		}
		for (const char *p = host + 1; p < close; p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p)) {
				snprintf(message, messagelen, "The URL's IPv6 host is not an address");
				return -1;
			}
		port = close + 1 < end ? close + 1 : NULL;
		if (port != NULL && *port != ':') {
			snprintf(message, messagelen, "The URL's host is not valid");
			return -1;
		}
	} else {
		const char *p = host;
		while (p < end && is_host_char(*p))
			p++;
		if (p == host) {
			snprintf(message, messagelen, "The URL has no host, as in http://host:port/path");
			return -1;
		}
		if (p < end && *p != ':') {
			snprintf(message, messagelen,
			         "The URL's host contains characters that are not allowed");
			return -1;
		}
		port = p < end ? p : NULL;
	}
	if (port != NULL) {
		long number = 0;
		int digits = 0;
		for (const char *p = port + 1; p < end; p++, digits++) {
			if (*p < '0' || *p > '9' || digits >= 5) {
				digits = -1;
				break;
			}
			number = number * 10 + (*p - '0');
		}
		if (digits <= 0 || number < 1 || number > 65535) {
			snprintf(message, messagelen, "The URL's port must be a number from 1 to 65535");
			return -1;
		}
	}
	return 0;
}

/* Resolve "." and ".." of an absolute path without touching the file system. */
static int path_normalize(const char *path, char *out, size_t outlen)
{
	size_t used = 0;
	const char *p = path;
	if (outlen < 2 || *p != '/')
		return -1;
	out[0] = '\0';
	while (*p) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(out, '/');
			used = slash ? (size_t)(slash - out) : 0;
			out[used] = '\0';
		} else {
			if (used + 1 + len + 1 > outlen)
				return -1;
			out[used++] = '/';
			memcpy(out + used, p, len);
			used += len;
			out[used] = '\0';
		}
		p += len;
	}
	if (used == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

static int path_inside(const char *path, const char *dir)
{
	size_t len = strlen(dir);
	if (len == 1 && dir[0] == '/')
		return path[0] == '/' && path[1] != '\0';
	return strncmp(path, dir, len) == 0 && path[len] == '/' && path[len + 1] != '\0';
}

static int check_script(const char *task, const char *scripts_dir, char out[HANDLER_TASK_MAX + 1],
                        char *message, size_t messagelen)
{
	char real_dir[PATH_MAX], lexical_dir[PATH_MAX], candidate[2 * PATH_MAX], lexical[2 * PATH_MAX];
	char resolved[PATH_MAX];
	if (realpath(scripts_dir, real_dir) == NULL ||
	    path_normalize(scripts_dir, lexical_dir, sizeof lexical_dir) != 0) {
		snprintf(message, messagelen,
		         "The scripts directory cannot be read: ask the administrator to check scripts_dir");
		return -1;
	}
	if (task[0] == '/')
		snprintf(candidate, sizeof candidate, "%s", task);
	else
		snprintf(candidate, sizeof candidate, "%s/%s", scripts_dir, task);
	if (path_normalize(candidate, lexical, sizeof lexical) != 0 ||
	    (!path_inside(lexical, lexical_dir) && !path_inside(lexical, real_dir))) {
		snprintf(message, messagelen,
		         "A script must be inside the scripts directory %s (or use an http:// URL)",
		         scripts_dir);
		return -1;
	}
	if (realpath(candidate, resolved) == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			snprintf(message, messagelen, "There is no such script in the scripts directory %s",
			         scripts_dir);
		else
			snprintf(message, messagelen, "The script cannot be read (%s)", strerror(errno));
		return -1;
	}
	if (!path_inside(resolved, real_dir)) {
		snprintf(message, messagelen,
		         "The script resolves outside the scripts directory %s (through a symbolic link)",
		         scripts_dir);
		return -1;
	}
	struct stat st;
	if (stat(resolved, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(message, messagelen, "The script is not a regular file");
		return -1;
	}
	if ((st.st_mode & 0111) == 0) {
		snprintf(message, messagelen, "The script is not executable (chmod +x it)");
		return -1;
	}
	/* The dispatcher refuses to run a script others could change; say so now.
	 * The panel runs as another user than the dispatcher: the owner of
	 * scripts_dir counts as the dispatcher's user here. */
	struct stat dir_st;
	char why[PATH_MAX + 128];
	if (stat(real_dir, &dir_st) != 0 ||
	    delivery_script_trusted(real_dir, resolved, dir_st.st_uid, why, sizeof why) != 0) {
		const char *reason = strncmp(why, "refused: ", 9) == 0 ? why + 9 : why;
		snprintf(message, messagelen, "The script is not safe to run: %s", reason);
		return -1;
	}
	if (strlen(resolved) > HANDLER_TASK_MAX) {
		snprintf(message, messagelen, "The script's path is longer than %d characters",
		         HANDLER_TASK_MAX);
		return -1;
	}
	memcpy(out, resolved, strlen(resolved) + 1);
	return 0;
}

int handler_check_task(const char *task, const char *scripts_dir, char out[HANDLER_TASK_MAX + 1],
                       enum handler_task_type *type, char *message, size_t messagelen)
{
	char text[HANDLER_TASK_MAX + 1];
	if (is_blank(task)) {
		snprintf(
		    message, messagelen,
		    "The task is required: an http:// or https:// URL, host:port/path, or a script path");
		return -1;
	}
	if (trimmed_copy(task, text, sizeof text) != 0) {
		snprintf(message, messagelen, "The task is longer than %d characters", HANDLER_TASK_MAX);
		return -1;
	}
	if (utf8_length(text) < 0) {
		snprintf(message, messagelen, "The task contains control characters or invalid UTF-8");
		return -1;
	}
	const char *sep = strstr(text, "://");
	size_t scheme_len = sep ? (size_t)(sep - text) : 0;
	static const char scheme_chars[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-";
	if (sep != NULL && scheme_len > 0 && strspn(text, scheme_chars) == scheme_len) {
		int https = scheme_len == 5 && strncasecmp(text, "https", 5) == 0;
		if (!https && !(scheme_len == 4 && strncasecmp(text, "http", 4) == 0)) {
			snprintf(message, messagelen,
			         "Only http:// and https:// URLs can be handlers, not %.*s://",
			         (int)(scheme_len > 16 ? 16 : scheme_len), text);
			return -1;
		}
		if (check_url_rest(sep + 3, message, messagelen) != 0)
			return -1;
		snprintf(out, HANDLER_TASK_MAX + 1, "%s://%s", https ? "https" : "http", sep + 3);
		*type = HANDLER_TASK_HTTP;
		return 0;
	}
	if (looks_like_host_port(text)) {
		if (check_url_rest(text, message, messagelen) != 0)
			return -1;
		if (strlen(text) + 7 > HANDLER_TASK_MAX) {
			snprintf(message, messagelen, "The task is longer than %d characters",
			         HANDLER_TASK_MAX);
			return -1;
		}
		memcpy(out, "http://", 7);
		memcpy(out + 7, text, strlen(text) + 1);
		*type = HANDLER_TASK_HTTP;
		return 0;
	}
	*type = HANDLER_TASK_SCRIPT;
	return check_script(text, scripts_dir, out, message, messagelen);
}

/* ---------------------------------------------------------------- destination */

/* The host of a checked URL ("[v6]" keeps its brackets), percent-decoded as
 * a resolver would see it (ClearSilver's decoder, as the panel's and the
 * API's query strings are). */
static void url_host(const char *url, char *host, size_t hostlen)
{
	const char *rest = strstr(url, "://");
	rest = rest ? rest + 3 : url;
	size_t authority_len = strcspn(rest, "/?#");
	const char *at = memchr(rest, '@', authority_len);
	const char *start = at ? at + 1 : rest;
	const char *end = rest + authority_len;
	const char *close = *start == '[' ? memchr(start, ']', (size_t)(end - start)) : NULL;
	if (close != NULL)
		end = close + 1;
	else if (memchr(start, ':', (size_t)(end - start)) != NULL)
		end = memchr(start, ':', (size_t)(end - start));
	snprintf(host, hostlen, "%.*s", (int)(end - start), start);
	cgi_url_unescape(host);
}

int handler_check_destination(const char *url, const char *outbound_allow, char *message, size_t messagelen)
{
	char host[HANDLER_TASK_MAX + 1];
	url_host(url, host, sizeof host);
	struct sockaddr_storage addr;
	if (!netpolicy_literal(host, &addr))
		return 0; /* a name: delivery checks what it resolves to, at connect time */
	struct netpolicy policy;
	char why[NETPOLICY_WHY_MAX];
	if (netpolicy_parse(outbound_allow, &policy, why, sizeof why) != 0)
		policy.count = 0; /* config_load refuses a bad list: not reached */
	if (netpolicy_check(&policy, (const struct sockaddr *)&addr, why, sizeof why) == 0)
		return 0;
	snprintf(message, messagelen,
	         "The destination policy refuses the address %s; the config's outbound_allow lists the "
	         "networks handlers may reach",
	         why);
	return -1;
}

/* ---------------------------------------------------------------- masking */

static void put(char *out, size_t outlen, size_t *used, const char *text, size_t n)
{
	if (*used + n >= outlen)
		n = *used < outlen - 1 ? outlen - 1 - *used : 0;
	memcpy(out + *used, text, n);
	*used += n;
	out[*used] = '\0';
}

void handler_task_masked(const char *task, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	const char *rest = strstr(task, "://");
	if (rest == NULL || (strncasecmp(task, "http", 4) != 0)) {
		put(out, outlen, &used, task, strlen(task)); /* a script path */
		return;
	}
	rest += 3;
	put(out, outlen, &used, task, (size_t)(rest - task));
	size_t authority_len = strcspn(rest, "/?#");
	const char *at = memchr(rest, '@', authority_len);
	if (at != NULL) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon != NULL)
			put(out, outlen, &used, rest, (size_t)(colon - rest) + 1);
		put(out, outlen, &used, "***@", 4);
		rest = at + 1;
	}
	size_t plain = strcspn(rest, "?#"); /* host, port and path */
	put(out, outlen, &used, rest, plain);
	rest += plain;
	if (*rest == '?') {
		put(out, outlen, &used, "?", 1);
		rest++;
		while (*rest != '\0' && *rest != '#') {
			size_t item = strcspn(rest, "&#");
			const char *eq = memchr(rest, '=', item);
			if (eq != NULL)
				put(out, outlen, &used, rest, (size_t)(eq - rest) + 1);
			if (item > 0)
				put(out, outlen, &used, "***", 3);
			rest += item;
			if (*rest == '&') {
				put(out, outlen, &used, "&", 1);
				rest++;
			}
		}
	}
	if (*rest == '#')
		put(out, outlen, &used, "#***", rest[1] ? 4 : 1);
}

/* ---------------------------------------------------------------- the whole handler */

static void validate_name(const char *raw, struct handler *out, struct handler_errors *errors)
{
	if (is_blank(raw)) {
		add_error(errors, "name", "The name is required");
		return;
	}
	if (trimmed_copy(raw, out->name, sizeof out->name) != 0) {
		add_error(errors, "name", "The name is longer than %d characters", HANDLER_NAME_CHARS);
		return;
	}
	long chars = utf8_length(out->name);
	if (chars < 0)
		add_error(errors, "name", "The name contains control characters or invalid UTF-8");
	else if (chars > HANDLER_NAME_CHARS)
		add_error(errors, "name", "The name is longer than %d characters", HANDLER_NAME_CHARS);
}

static void validate_event(const char *raw, struct handler *out, struct handler_errors *errors)
{
	if (raw == NULL || raw[0] == '\0') {
		add_error(errors, "events_id", "Choose an event");
		return;
	}
	const struct event_def *event = events_find(raw);
	if (event == NULL) {
		add_error(errors, "events_id", "Unknown event; valid events are: %s", events_valid_list());
		return;
	}
	snprintf(out->events_id, sizeof out->events_id, "%s", event->id);
}

/* The signing secret's action, its rotation window and the scheme. */
static void validate_signing(const struct handler_input *in, struct handler *out,
                             struct handler_errors *errors)
{
	int action_ok = 1;
	if (in->secret_action != NULL) {
		if (strcmp(in->secret_action, "keep") == 0)
			out->secret_action = HANDLER_SECRET_KEEP;
		else if (strcmp(in->secret_action, "generate") == 0)
			out->secret_action = HANDLER_SECRET_GENERATE;
		else if (strcmp(in->secret_action, "remove") == 0)
			out->secret_action = HANDLER_SECRET_REMOVE;
		else {
			action_ok = 0;
			add_error(errors, "secret_action",
			          "The signing secret action must be keep, generate or remove");
		}
	}
	if (!is_blank(in->old_secret_hours)) {
		if (parse_whole(in->old_secret_hours, 0, HANDLER_OLD_SECRET_HOURS_MAX,
		                &out->old_secret_hours) != 0)
			add_error(errors, "old_secret_hours",
			          "Keeping the old secret must be a whole number of hours from 0 to %ld",
			          HANDLER_OLD_SECRET_HOURS_MAX);
		else if (action_ok && out->old_secret_hours > 0 &&
		         out->secret_action != HANDLER_SECRET_GENERATE)
			add_error(
			    errors, "old_secret_hours",
			    "The old secret is kept only when a new one is generated: choose generate, or 0 "
			    "hours");
	}
	if (in->signature_scheme != NULL &&
	    handler_scheme_parse(in->signature_scheme, &out->signature_scheme) != 0)
		add_error(errors, "signature_scheme", "The signature scheme must be prov or standard");
}

static void validate_delivery(const struct handler_input *in, struct handler *out,
                              struct handler_errors *errors)
{
	if (in->timeout != NULL &&
	    (parse_seconds_ms(in->timeout, &out->timeout_ms) != 0 ||
	     out->timeout_ms < HANDLER_TIMEOUT_MIN_MS || out->timeout_ms > HANDLER_TIMEOUT_MAX_MS))
		add_error(errors, "timeout", "The timeout must be a number of seconds from %.1f to %ld",
		          HANDLER_TIMEOUT_MIN_MS / 1000.0, HANDLER_TIMEOUT_MAX_MS / 1000);
	if (in->retry_enabled != NULL && parse_flag(in->retry_enabled, &out->retry_enabled) != 0)
		add_error(errors, "retry_enabled", "Retries must be on or off");
	if (in->ordered != NULL && parse_flag(in->ordered, &out->ordered) != 0)
		add_error(errors, "ordered", "Per-object order must be on or off");
	char why[128];
	if (!is_blank(in->retry_schedule) && check_schedule(in->retry_schedule, out->retry_schedule,
	                                                    sizeof out->retry_schedule, why, sizeof why) != 0)
		add_error(errors, "retry_schedule", "The retry schedule is not valid: %s", why);
	if (!is_blank(in->retry_max_attempts) &&
	    parse_whole(in->retry_max_attempts, 1, HANDLER_ATTEMPTS_MAX, &out->retry_max_attempts) != 0)
		add_error(errors, "retry_max_attempts",
		          "Max attempts must be a whole number from 1 to %ld, or empty (one per step, plus "
		          "the first)",
		          HANDLER_ATTEMPTS_MAX);
	validate_signing(in, out, errors);
}

int handler_validate(const struct handler_input *in, const char *scripts_dir, const char *outbound_allow,
                     struct handler *out, struct handler_errors *errors)
{
	memset(out, 0, sizeof *out);
	errors->count = 0;
	out->status = HANDLER_ENABLED;
	out->priority = 1;
	out->timeout_ms = HANDLER_TIMEOUT_DEFAULT_MS;
	out->retry_enabled = 1;
	out->ordered = 1;
	out->secret_action = HANDLER_SECRET_KEEP;

	validate_name(in->name, out, errors);
	validate_event(in->events_id, out, errors);
	char message[HANDLER_MESSAGE_MAX];
	if (handler_check_task(in->task, scripts_dir, out->task, &out->task_type, message, sizeof message) !=
	        0 ||
	    (out->task_type == HANDLER_TASK_HTTP &&
	     handler_check_destination(out->task, outbound_allow, message, sizeof message) != 0))
		add_error(errors, "task", "%s", message);
	if (in->status != NULL && handler_status_parse(in->status, &out->status) != 0)
		add_error(errors, "status", "The status must be enabled, disabled or archived");
	if (in->priority != NULL && parse_whole(in->priority, 1, HANDLER_PRIORITY_MAX, &out->priority) != 0)
		add_error(errors, "priority",
		          "The priority must be a whole number from 1 to %ld (1 runs first)",
		          HANDLER_PRIORITY_MAX);
	validate_delivery(in, out, errors);
	long revision = 0;
	if (!is_blank(in->revision) && parse_whole(in->revision, 1, 2147483647L, &revision) != 0)
		add_error(errors, "revision",
		          "The revision must be the whole number the handler was read at");
	out->expected_revision = revision;
	return errors->count == 0 ? 0 : -1;
}
