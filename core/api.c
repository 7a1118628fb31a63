/* api: FastCGI loop for the JSON API. One request at a time per process;
 * mod_fcgid runs more processes for more load. */
#include "api.h"

#include "apikeys.h"
#include "db.h"
#include "netpolicy.h"
#include "request_stats.h"
#include "route.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fcgiapp.h>
#include <ClearSilver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct api_request {
	struct app *app;
	FCGX_Request *fcgx;
	const char *method;
	const char *path;
	long long path_id;
	struct user user;
	json_t *body;
	char *query_buf; /* decoded copy of QUERY_STRING; names and values point into it */
	const char *query_names[API_MAX_QUERY];
	const char *query_values[API_MAX_QUERY];
	size_t nquery;
	int answered;
};

struct app *api_app(struct api_request *req)
{
	return req->app;
}

const struct user *api_user(struct api_request *req)
{
	return &req->user;
}

long long api_path_id(struct api_request *req)
{
	return req->path_id;
}

json_t *api_body(struct api_request *req)
{
	return req->body;
}

const char *api_query(struct api_request *req, const char *name)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (strcmp(req->query_names[i], name) == 0)
			return req->query_values[i];
	return NULL;
}

int api_query_only(struct api_request *req, const char *const *accepted)
{
	for (size_t i = 0; i < req->nquery; i++) {
		size_t a = 0;
		while (accepted[a] != NULL && strcmp(accepted[a], req->query_names[i]) != 0)
			a++;
		if (accepted[a] != NULL)
			continue;
		char message[512], names[256] = "";
		size_t len = 0;
		for (a = 0; accepted[a] != NULL && len < sizeof names; a++) {
			int n = snprintf(names + len, sizeof names - len, "%s%s", a ? ", " : "", accepted[a]);
			if (n < 0)
				break;
			len += (size_t)n;
		}
		snprintf(message, sizeof message, "unknown query parameter '%.64s'; this list takes: %s",
		         req->query_names[i], names);
		api_fail(req, 400, message, "bad_request", req->query_names[i]);
		return -1;
	}
	return 0;
}

json_t *api_time(const char *db_time)
{
	if (db_time == NULL || db_time[0] == '\0')
		return json_null();
	char iso[40];
	size_t len = strlen(db_time);
	if ((len != 19 && len != 26) || db_time[10] != ' ')
		return json_string(db_time); /* not MariaDB's form: as it is, never cut */
	snprintf(iso, sizeof iso, "%.10sT%sZ", db_time, db_time + 11);
	return json_string(iso);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static void write_response(struct api_request *req, int status, const char *extra_headers, const char *body)
{
	FCGX_FPrintF(req->fcgx->out,
	             "Status: %d %s\r\n"
	             "Cache-Control: no-store\r\n"
	             "X-Content-Type-Options: nosniff\r\n"
	             "%s",
	             status, status_text(status), extra_headers ? extra_headers : "");
	request_stats_count(status);
	if (body != NULL) {
		FCGX_FPrintF(req->fcgx->out, "Content-Type: application/json\r\n\r\n");
		FCGX_PutS(body, req->fcgx->out);
		FCGX_PutS("\n", req->fcgx->out);
	} else {
		FCGX_PutS("\r\n", req->fcgx->out);
	}
	req->answered = 1;
}

void api_reply(struct api_request *req, int status, json_t *body)
{
	if (req->answered) {
		json_decref(body);
		return;
	}
	if (body == NULL) {
		write_response(req, status, NULL, NULL);
		return;
	}
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(body);
	if (text == NULL) {
		write_response(
		    req, 500, NULL,
		    "{\"error\":{\"message\":\"internal error\",\"data\":{\"code\":\"internal\"}}}");
		return;
	}
	write_response(req, status, NULL, text);
	free(text);
}

void api_reply_text(struct api_request *req, int status, const char *content_type, const char *text,
                    size_t len)
{
	if (req->answered)
		return;
	FCGX_FPrintF(req->fcgx->out,
	             "Status: %d %s\r\n"
	             "Cache-Control: no-store\r\n"
	             "X-Content-Type-Options: nosniff\r\n"
	             "Content-Type: %s\r\n\r\n",
	             status, status_text(status), content_type);
	request_stats_count(status);
	if (len > 0)
		FCGX_PutStr(text, (int)len, req->fcgx->out);
	req->answered = 1;
}

static json_t *error_body(const char *message, const char *code, const char *field)
{
	json_t *data = json_object();
	if (code != NULL)
		json_object_set_new(data, "code", json_string(code));
	if (field != NULL)
		json_object_set_new(data, "field", json_string(field));
	return json_pack("{s:{s:s,s:o}}", "error", "message", message, "data", data);
}

void api_fail(struct api_request *req, int status, const char *message, const char *code, const char *field)
{
	api_reply(req, status, error_body(message, code, field));
}

struct db *api_db(struct api_request *req)
{
	if (req->app->db == NULL) {
		char err[512];
		req->app->db = db_open(&req->app->cfg, err, sizeof err);
		if (req->app->db == NULL) {
			fprintf(stderr, "prov-api: %s\n", err);
			api_fail(req, 503, "the database is unavailable; try again shortly", "unavailable",
			         NULL);
			return NULL;
		}
	}
	return req->app->db;
}

/* ---------------------------------------------------------------- input */

long api_query_split(char *query, const char **names, const char **values, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *pair = strtok_r(query, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
		if (n == max)
			return -1;
		char *eq = strchr(pair, '=');
		char *value = "";
		if (eq != NULL) {
			*eq = '\0';
			value = eq + 1;
		}
		cgi_url_unescape(pair);
		cgi_url_unescape(value);
		if (strlen(value) > API_QUERY_VALUE_MAX)
			return -1;
		names[n] = pair;
		values[n] = value;
		n++;
	}
	return (long)n;
}

static int parse_query(struct api_request *req)
{
	const char *query = FCGX_GetParam("QUERY_STRING", req->fcgx->envp);
	if (query == NULL || query[0] == '\0')
		return 0;
	if (strlen(query) > API_MAX_QUERY * (size_t)API_QUERY_VALUE_MAX)
		return -1;
	req->query_buf = strdup(query);
	if (req->query_buf == NULL)
		return -1;
	long n = api_query_split(req->query_buf, req->query_names, req->query_values, API_MAX_QUERY);
	if (n < 0)
		return -1;
	req->nquery = (size_t)n;
	return 0;
}

/* Read and parse a JSON object body; answers the request itself on failure. */
static int read_body(struct api_request *req)
{
	const char *length_text = FCGX_GetParam("CONTENT_LENGTH", req->fcgx->envp);
	long long length = length_text ? strtoll(length_text, NULL, 10) : 0;
	if (length <= 0)
		return 0;
	if (length > req->app->cfg.request_max_bytes) {
		api_fail(req, 413, "request body is too large", "too_large", NULL);
		return -1;
	}
	const char *type = FCGX_GetParam("CONTENT_TYPE", req->fcgx->envp);
	size_t json_len = strlen("application/json");
	if (type == NULL || strncasecmp(type, "application/json", json_len) != 0 ||
	    (type[json_len] != '\0' && type[json_len] != ';')) {
		api_fail(req, 415, "request body must be application/json", "unsupported_media_type", NULL);
		return -1;
	}
	char *buf = malloc((size_t)length + 1);
	if (buf == NULL) {
		api_fail(req, 500, "internal error", "internal", NULL);
		return -1;
	}
	int got = FCGX_GetStr(buf, (int)length, req->fcgx->in);
	if (got != (int)length) {
		free(buf);
		api_fail(req, 400, "request body is shorter than its Content-Length", "bad_request", NULL);
		return -1;
	}
	json_error_t error;
	req->body = json_loadb(buf, (size_t)length, JSON_REJECT_DUPLICATES, &error);
	free(buf);
	if (req->body == NULL) {
		char message[256];
		snprintf(message, sizeof message, "invalid JSON at line %d column %d: %s", error.line,
		         error.column, error.text);
		api_fail(req, 400, message, "invalid_json", NULL);
		return -1;
	}
	if (!json_is_object(req->body)) {
		api_fail(req, 400, "request body must be a JSON object", "invalid_json", NULL);
		return -1;
	}
	return 0;
}

/* Whether the client (REMOTE_ADDR) is in metrics_allow. */
static int scrape_address_listed(struct api_request *req)
{
	const char *text = req->app->cfg.metrics_allow;
	const char *remote = FCGX_GetParam("REMOTE_ADDR", req->fcgx->envp);
	if (text[0] == '\0' || remote == NULL)
		return 0;
	struct netpolicy listed;
	char why[256];
	if (netpolicy_parse(text, &listed, why, sizeof why) != 0)
		return 0; /* config_load checked it */
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)&ss;
	if (inet_pton(AF_INET, remote, &v4->sin_addr) == 1)
		v4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, remote, &v6->sin6_addr) == 1)
		v6->sin6_family = AF_INET6;
	else
		return 0;
	return netpolicy_lists(&listed, (const struct sockaddr *)&ss);
}

/* The key of a scrape: X-Api-Key, else "Authorization: Bearer KEY" (the
 * scheme in any case, as RFC 7235 has it). NULL when neither is there. */
static const char *scrape_key(struct api_request *req)
{
	const char *key = FCGX_GetParam("HTTP_X_API_KEY", req->fcgx->envp);
	if (key != NULL && key[0] != '\0')
		return key;
	const char *auth = FCGX_GetParam("HTTP_AUTHORIZATION", req->fcgx->envp);
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return NULL;
	auth += 7;
	while (*auth == ' ')
		auth++;
	return auth[0] != '\0' ? auth : NULL;
}

static int authenticate(struct api_request *req, enum api_access access)
{
	const char *key = FCGX_GetParam("HTTP_X_API_KEY", req->fcgx->envp);
	if (access == API_SCRAPE) {
		key = scrape_key(req);
		if (key == NULL && scrape_address_listed(req)) {
			req->user.role = ROLE_VIEWER;
			return 0;
		}
		if (key == NULL) {
			api_fail(req, 401, "an API key is required: Authorization: Bearer KEY or X-Api-Key",
			         "missing_api_key", NULL);
			return -1;
		}
	}
	if (key == NULL || key[0] == '\0') {
		api_fail(req, 401, "an X-Api-Key header is required", "missing_api_key", NULL);
		return -1;
	}
	struct db *db = api_db(req);
	if (db == NULL)
		return -1;
	int found = apikeys_authenticate(db, key, &req->user);
	if (found < 0) {
		fprintf(stderr, "prov-api: %s\n", db_error(db));
		api_fail(req, 503, "the database is unavailable; try again shortly", "unavailable", NULL);
		return -1;
	}
	if (found == 0) {
		api_fail(req, 401, "the API key is unknown or revoked", "invalid_api_key", NULL);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- dispatch */

static const struct api_route *find_route(struct api_request *req, const struct api_route *routes, size_t n,
                                          char *allow, size_t allowlen)
{
	allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		long long id = 0;
		if (!route_match(routes[i].pattern, req->path, &id))
			continue;
		if (strcmp(routes[i].method, req->method) == 0) {
			req->path_id = id;
			return &routes[i];
		}
		size_t used = strlen(allow);
		snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", routes[i].method);
	}
	return NULL;
}

static void serve_one(struct app *app, FCGX_Request *fcgx, const struct api_route *routes, size_t n)
{
	struct api_request req;
	memset(&req, 0, sizeof req);
	req.app = app;
	req.fcgx = fcgx;
	route_request_line(fcgx->envp, &req.method, &req.path);
	char allow[128];
	const struct api_route *route = find_route(&req, routes, n, allow, sizeof allow);
	if (route == NULL) {
		if (allow[0] != '\0') {
			char header[160];
			snprintf(header, sizeof header, "Allow: %s\r\n", allow);
			json_t *body = error_body("method not allowed here", "method_not_allowed", NULL);
			char *text = json_dumps(body, JSON_COMPACT);
			json_decref(body); /* json_dumps does not take it */
			write_response(&req, 405, header, text);
			free(text);
		} else {
			api_fail(&req, 404, "no such endpoint", "not_found", NULL);
		}
		return;
	}
	if (parse_query(&req) != 0)
		api_fail(&req, 400, "the query string is too long or has too many parameters", "bad_request",
		         NULL);
	else if (authenticate(&req, route->access) != 0)
		;
	else if (route->access == API_WRITE && req.user.role != ROLE_ADMIN)
		api_fail(&req, 403, "this API key's role may only read", "forbidden", NULL);
	else if (read_body(&req) == 0)
		route->fn(&req);
	if (!req.answered) {
		fprintf(stderr, "prov-api: %s %s: route did not answer\n", req.method, req.path);
		api_fail(&req, 500, "internal error", "internal", NULL);
	}
	json_decref(req.body);
	free(req.query_buf);
}

int api_serve(struct app *app, const struct api_route *routes, size_t nroutes)
{
	FCGX_Request fcgx;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgx, 0, 0) != 0) {
		fprintf(stderr, "prov-api: cannot initialise FastCGI\n");
		return 1;
	}
	while (FCGX_Accept_r(&fcgx) >= 0) {
		serve_one(app, &fcgx, routes, nroutes);
		FCGX_Finish_r(&fcgx);
		char err[512];
		if (request_stats_flush(&app->db, &app->cfg, "api", err, sizeof err) !=
		    0) /* after the answer */
			fprintf(stderr, "prov-api: request counts: %s\n", err);
	}
	return 0;
}
