/* delivery_http: an HTTP handler's POST through libcurl. One easy handle per
 * delivery context, so the connections of a run are reused (keep-alive).
 * Every address libcurl connects to (after DNS, so a name that resolves to a
 * new address each time gains nothing) passes the destination policy first. */
#include "delivery_internal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

struct http_io {
	struct delivery_buf body;
	struct delivery_buf headers;
	long retry_after_s;
	const struct netpolicy *policy;
	unsigned connects;               /* sockets opened to allowed addresses */
	char blocked[NETPOLICY_WHY_MAX]; /* the first address refused, "" when none */
};

/* libcurl's socket opener: the one place every connection starts. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	struct http_io *io = clientp;
	char why[NETPOLICY_WHY_MAX];
	(void)purpose;
	if (netpolicy_check(io->policy, &address->addr, why, sizeof why) != 0) {
		if (io->blocked[0] == '\0')
			snprintf(io->blocked, sizeof io->blocked, "%s", why);
		return CURL_SOCKET_BAD;
	}
	io->connects++;
	return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_io *io = userdata;
	size_t n = size * nmemb;
	if (delivery_buf_add(&io->body, ptr, n) != 0 || io->body.overflow)
		return 0; /* stops the transfer: memory stays bounded */
	return n;
}

static long parse_retry_after(const char *value)
{
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value >= '0' && *value <= '9') {
		char *end;
		long seconds = strtol(value, &end, 10);
		return seconds >= 0 ? seconds : -1;
	}
	char date[128];
	size_t n = strcspn(value, "\r\n");
	if (n == 0 || n >= sizeof date)
		return -1;
	memcpy(date, value, n);
	date[n] = '\0';
	time_t when = curl_getdate(date, NULL);
	if (when < 0)
		return -1;
	time_t now = time(NULL);
	return when > now ? (long)(when - now) : 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_io *io = userdata;
	size_t n = size * nmemb;
	/* A status line starts the headers of a new response (after "100 Continue"). */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		io->headers.len = 0;
		io->headers.overflow = 0;
		io->retry_after_s = -1;
	}
	if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
		char value[160];
		size_t len = n - 12 < sizeof value - 1 ? n - 12 : sizeof value - 1;
		memcpy(value, ptr + 12, len);
		value[len] = '\0';
		io->retry_after_s = parse_retry_after(value);
	}
	if (delivery_buf_add(&io->headers, ptr, n) != 0)
		return 0;
	return n;
}

/* A signature header's value as the log keeps it: the MACs (runs of 16 or
 * more hex or base64 characters) become "[redacted]", the rest stays
 * ("t=1700000000,v1=[redacted]"), so a reader of the log cannot replay it. */
static void redact_signature(const char *value, char *out, size_t outlen)
{
	static const char mac_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/_-";
	size_t used = 0;
	out[0] = '\0';
	while (*value && used + 1 < outlen) {
		size_t run = strspn(value, mac_chars);
		if (run >= 16) {
			used += (size_t)snprintf(out + used, outlen - used, "[redacted]");
			value += run;
			value += strspn(value, "="); /* base64 padding */
		} else {
			size_t n = run ? run : 1;
			used += (size_t)snprintf(out + used, outlen - used, "%.*s", (int)n, value);
			value += n;
		}
		if (used >= outlen)
			used = outlen - 1;
	}
}

/* Header lines whose value is redacted in the log. */
static int is_signature_header(const char *line)
{
	static const char *const names[] = {"X-Prov-Signature:", "webhook-signature:"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strncasecmp(line, names[i], strlen(names[i])) == 0)
			return (int)strlen(names[i]);
	return 0;
}

/* One request header line into the log's text, signatures redacted. */
static int log_header_line(struct delivery_buf *text, const char *line)
{
	char redacted[2 * DELIVERY_SIGNATURE_MAX + 128];
	int name_len = is_signature_header(line);
	if (name_len > 0) {
		char value[DELIVERY_SIGNATURE_MAX + 64];
		redact_signature(line + name_len, value, sizeof value);
		snprintf(redacted, sizeof redacted, "%.*s%s", name_len, line, value);
		line = redacted;
	}
	if (delivery_buf_add(text, line, strlen(line)) != 0 || delivery_buf_add(text, "\n", 1) != 0)
		return -1;
	return 0;
}

/* The signature lines of the handler's scheme; returns how many were added to
 * lines (none when the handler has no secret), or -1 with out->error set. */
static int signature_lines(const struct delivery_request *req, char (*lines)[DELIVERY_SIGNATURE_MAX + 64],
                           struct delivery_result *out)
{
	long long now = (long long)time(NULL);
	const char *secrets[DELIVERY_SECRETS_MAX];
	size_t nsecrets = delivery_signing_secrets(req->handler, now, secrets);
	if (nsecrets == 0)
		return 0;
	char signature[DELIVERY_SIGNATURE_MAX];
	if (req->handler->scheme == DELIVERY_SCHEME_STANDARD) {
		/* webhook-id is the delivery id: the same on every retry and
		 * redelivery, so the receiver can de-duplicate. */
		if (delivery_sign_standard(secrets, nsecrets, req->delivery_id, now, req->body, req->body_len,
		                           signature) != 0) {
			delivery_fail(out, "could not sign the request: the secret is not whsec_<base64>, or "
			                   "OpenSSL's HMAC failed");
			return -1;
		}
		snprintf(lines[0], sizeof lines[0], "webhook-id: %s", req->delivery_id);
		snprintf(lines[1], sizeof lines[0], "webhook-timestamp: %lld", now);
		snprintf(lines[2], sizeof lines[0], "webhook-signature: %s", signature);
		return 3;
	}
	if (delivery_sign(secrets, nsecrets, now, req->body, req->body_len, signature) != 0) {
		delivery_fail(out, "could not sign the request (OpenSSL HMAC failed)");
		return -1;
	}
	snprintf(lines[0], sizeof lines[0], "X-Prov-Signature: %s", signature);
	return 1;
}

/* The request headers, as a curl list and as text for the log. */
static struct curl_slist *build_headers(const struct delivery_request *req, struct delivery_buf *text,
                                        struct delivery_result *out)
{
	char lines[8][DELIVERY_SIGNATURE_MAX + 64];
	size_t n = 0;
	snprintf(lines[n++], sizeof lines[0], "Content-Type: application/json");
	snprintf(lines[n++], sizeof lines[0], "X-Prov-Event: %s", req->events_id);
	snprintf(lines[n++], sizeof lines[0], "X-Prov-Event-Id: %s", req->event_uid);
	snprintf(lines[n++], sizeof lines[0], "X-Prov-Delivery: %s", req->delivery_id);
	snprintf(lines[n++], sizeof lines[0], "X-Prov-Attempt: %u", req->attempt);
	int signed_lines = signature_lines(req, lines + n, out);
	if (signed_lines < 0)
		return NULL;
	n += (size_t)signed_lines;
	struct curl_slist *list = NULL;
	for (size_t i = 0; i < n; i++) {
		struct curl_slist *next = curl_slist_append(list, lines[i]);
		if (next == NULL || log_header_line(text, lines[i]) != 0) {
			curl_slist_free_all(next ? next : list);
			delivery_fail(out, "out of memory");
			return NULL;
		}
		list = next;
	}
	/* No "Expect: 100-continue" round trip for larger bodies. */
	struct curl_slist *next = curl_slist_append(list, "Expect:");
	if (next == NULL) {
		curl_slist_free_all(list);
		delivery_fail(out, "out of memory");
		return NULL;
	}
	char ua[128];
	snprintf(ua, sizeof ua, "User-Agent: %s\n", DELIVERY_USER_AGENT);
	delivery_buf_add(text, ua, strlen(ua));
	return next;
}

static CURL *easy_handle(struct delivery *d)
{
	if (d->curl == NULL) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		d->curl = curl_easy_init();
		if (d->curl == NULL)
			curl_global_cleanup();
	}
	return d->curl;
}

void delivery_http_cleanup(struct delivery *d)
{
	if (d->curl == NULL)
		return;
	curl_easy_cleanup(d->curl);
	d->curl = NULL;
	curl_global_cleanup();
}

static int set_options(CURL *curl, const char *url, const struct delivery_request *req,
                       struct curl_slist *headers, struct http_io *io, char *errbuf)
{
	long timeout = req->handler->timeout_ms > 0 ? req->handler->timeout_ms : 5000;
	curl_easy_reset(curl); /* keeps the connection cache: keep-alive across handlers */
	CURLcode rc = CURLE_OK;
	rc |= curl_easy_setopt(curl, CURLOPT_URL, url);
	rc |= curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	/* No proxy from http_proxy and the like: it would connect for us, past
	 * the destination policy. Redirects are not followed (the default). */
	rc |= curl_easy_setopt(curl, CURLOPT_PROXY, "");
	rc |= curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	rc |= curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, io);
	rc |= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
	rc |= curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	rc |= curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	rc |= curl_easy_setopt(curl, CURLOPT_USERAGENT, DELIVERY_USER_AGENT);
	rc |= curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
	rc |= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	rc |= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(curl, CURLOPT_WRITEDATA, io);
	rc |= curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	rc |= curl_easy_setopt(curl, CURLOPT_HEADERDATA, io);
	rc |= curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	return rc == CURLE_OK ? 0 : -1;
}

/* One line for a failed transfer. libcurl's error buffer is the specific
 * message and usually ends with curl_easy_strerror()'s text already ("Failed
 * to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server"), so
 * it is used alone; the generic text only when the buffer is empty, or in
 * front of it when the buffer does not say it. Line ends are dropped. */
static void error_line(CURLcode rc, const char *errbuf, char *line, size_t linelen)
{
	const char *generic = curl_easy_strerror(rc);
	char detail[CURL_ERROR_SIZE];
	snprintf(detail, sizeof detail, "%s", errbuf);
	for (char *c = detail; *c != '\0'; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	size_t len = strlen(detail);
	while (len > 0 && detail[len - 1] == ' ')
		detail[--len] = '\0';
	if (len == 0)
		snprintf(line, linelen, "%s", generic);
	else if (strstr(detail, generic) != NULL)
		snprintf(line, linelen, "%s", detail);
	else
		snprintf(line, linelen, "%s: %s", generic, detail);
}

static void describe_failure(CURLcode rc, const struct delivery_request *req, const struct http_io *io,
                             const char *errbuf, struct delivery_result *out)
{
	if (io->blocked[0] != '\0' && io->connects == 0) {
		delivery_fail(out, "blocked by the destination policy: %s", io->blocked);
		out->final = 1;
	} else if (rc == CURLE_WRITE_ERROR && io->body.overflow)
		delivery_fail(out, "the reply is larger than %zu bytes", io->body.limit);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		delivery_fail(out, "timeout: no complete answer within %ld ms", req->handler->timeout_ms);
	else {
		char line[CURL_ERROR_SIZE + 128];
		error_line(rc, errbuf, line, sizeof line);
		delivery_fail(out, "%s", line);
	}
}

int delivery_http_post(struct delivery *d, const struct delivery_request *req, struct delivery_result *out)
{
	char url[4096];
	if (delivery_http_url(req->handler->task, url, sizeof url) != 0) {
		delivery_fail(out, "the handler's URL is too long");
		return -1;
	}
	CURL *curl = easy_handle(d);
	if (curl == NULL) {
		delivery_fail(out, "libcurl could not be initialised");
		return -1;
	}
	struct http_io io = {.body = {.limit = d->limits.response_read_max},
	                     .headers = {.limit = DELIVERY_HEADERS_MAX},
	                     .retry_after_s = -1,
	                     .policy = &d->outbound};
	struct delivery_buf sent = {.limit = DELIVERY_HEADERS_MAX};
	char errbuf[CURL_ERROR_SIZE] = "";
	int result = -1;
	struct curl_slist *headers = build_headers(req, &sent, out);
	if (headers == NULL)
		goto done;
	if (set_options(curl, url, req, headers, &io, errbuf) != 0) {
		delivery_fail(out, "libcurl refused an option");
		goto done;
	}
	CURLcode rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->http_status);
	if (rc != CURLE_OK) {
		describe_failure(rc, req, &io, errbuf, out);
	} else if (out->http_status < 200 || out->http_status > 299) {
		delivery_fail(out, "the handler answered HTTP %ld", out->http_status);
	} else {
		result = 0;
	}
done:
	curl_slist_free_all(headers);
	/* Nothing the handler answered is dropped, even on failure. */
	out->response_overflow = io.body.overflow;
	out->response_len = io.body.len;
	out->response_body = delivery_buf_take(&io.body);
	out->response_headers = delivery_buf_take(&io.headers);
	out->request_headers = delivery_buf_take(&sent);
	out->retry_after_s = io.retry_after_s;
	return result;
}
