/* web: FastCGI + ClearSilver glue. One request at a time per process
 * (ClearSilver keeps its I/O hooks in a process-global struct); mod_fcgid
 * scales by running more processes. */
#include "web.h"

#include "auth.h"
#include "db.h"
#include "history.h"
#include "request_stats.h"
#include "route.h"
#include "web_io.h"
#include "web_tmpl.h"

#include <ClearSilver.h>
#include <fcgiapp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WEB_MAX_COOKIES 4
#define WEB_COOKIE_MAX 512
#define PRELOGIN_CSRF_COOKIE "prov_csrf"
#define SESSION_COOKIE "prov_session"

struct web_request {
	struct app *app;
	FCGX_Request *fcgx;
	CGI *cgi;
	HDF *hdf; /* owned by cgi */
	const char *method;
	const char *path;
	long long path_id;
	struct session session;
	int logged_in;
	int answered;
	int hdf_failed;
	char cookies[WEB_MAX_COOKIES][WEB_COOKIE_MAX];
	size_t ncookies;
};

/* ---------------------------------------------------------------- logging */

static void log_neoerr(const char *what, NEOERR *err)
{
	STRING text;
	string_init(&text);
	nerr_error_traceback(err, &text);
	fprintf(stderr, "prov-panel: %s: %s\n", what, text.buf ? text.buf : "?");
	string_clear(&text);
	nerr_ignore(&err);
}

/* ---------------------------------------------------------------- accessors */

struct app *web_app(struct web_request *req)
{
	return req->app;
}

const struct session *web_session(struct web_request *req)
{
	return req->logged_in ? &req->session : NULL;
}

long long web_path_id(struct web_request *req)
{
	return req->path_id;
}

const char *web_method(struct web_request *req)
{
	return req->method;
}

const char *web_remote_addr(struct web_request *req)
{
	return FCGX_GetParam("REMOTE_ADDR", req->fcgx->envp);
}

const char *web_param(struct web_request *req, const char *name)
{
	char key[128];
	if (snprintf(key, sizeof key, "Query.%s", name) >= (int)sizeof key)
		return NULL;
	HDF *node = hdf_get_obj(req->hdf, key);
	if (node == NULL)
		return NULL;
	/* A repeated field becomes a node with children; take the first value. */
	HDF *child = hdf_obj_child(node);
	return child ? hdf_obj_value(child) : hdf_obj_value(node);
}

struct db *web_db(struct web_request *req)
{
	if (req->app->db == NULL) {
		char err[512];
		req->app->db = db_open(&req->app->cfg, err, sizeof err);
		if (req->app->db == NULL) {
			web_error(req, 503, "The database is unavailable; try again shortly.", err);
			return NULL;
		}
	}
	return req->app->db;
}

void web_set(struct web_request *req, const char *name, const char *value)
{
	NEOERR *err = hdf_set_value(req->hdf, name, value ? value : "");
	if (err != STATUS_OK) {
		log_neoerr(name, err);
		req->hdf_failed = 1;
	}
}

void web_setf(struct web_request *req, const char *name, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	web_set(req, name, buf);
}

void web_set_int(struct web_request *req, const char *name, long long value)
{
	web_setf(req, name, "%lld", value);
}

void web_cookie(struct web_request *req, const char *name, const char *value, long max_age)
{
	if (req->ncookies == WEB_MAX_COOKIES)
		return;
	char age[48] = "";
	if (max_age >= 0)
		snprintf(age, sizeof age, "; Max-Age=%ld", max_age);
	const char *https = FCGX_GetParam("HTTPS", req->fcgx->envp);
	snprintf(req->cookies[req->ncookies++], WEB_COOKIE_MAX,
	         "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Strict%s%s\r\n", name, value, age,
	         https && strcmp(https, "on") == 0 ? "; Secure" : "");
}

int web_login(struct web_request *req, const struct user *user)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return -1;
	char token[AUTH_HEX_LEN + 1];
	if (sessions_create(db, &req->app->cfg, user, web_remote_addr(req), token, &req->session) != 0) {
		web_error(req, 503, "The database is unavailable; try again shortly.", db_error(db));
		return -1;
	}
	req->logged_in = 1;
	web_cookie(req, SESSION_COOKIE, token, -1);
	web_cookie(req, PRELOGIN_CSRF_COOKIE, "", 0);
	return 0;
}

int web_logout(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return -1;
	const char *token = hdf_get_value(req->hdf, "Cookie." SESSION_COOKIE, NULL);
	if (token != NULL && sessions_delete(db, token) != 0) {
		web_error(req, 503, "The database is unavailable; try again shortly.", db_error(db));
		return -1;
	}
	req->logged_in = 0;
	web_cookie(req, SESSION_COOKIE, "", 0);
	return 0;
}

/* ---------------------------------------------------------------- output */

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 303: return "See Other";
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

static void write_head(struct web_request *req, int status, const char *extra)
{
	request_stats_count(status);
	FCGX_FPrintF(req->fcgx->out,
	             "Status: %d %s\r\n"
	             "Content-Type: text/html; charset=utf-8\r\n"
	             "Content-Security-Policy: default-src 'none'; script-src 'self'; "
	             "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
	             "form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
	             "X-Frame-Options: DENY\r\n"
	             "X-Content-Type-Options: nosniff\r\n"
	             "Referrer-Policy: same-origin\r\n"
	             "Cache-Control: no-store\r\n"
	             "%s",
	             status, status_text(status), extra ? extra : "");
	for (size_t i = 0; i < req->ncookies; i++)
		FCGX_PutS(req->cookies[i], req->fcgx->out);
	FCGX_PutS("\r\n", req->fcgx->out);
}

/* Last resort when a template cannot be rendered: fixed text, nothing echoed. */
static void write_plain_error(struct web_request *req, int status)
{
	req->ncookies = 0;
	write_head(req, status, NULL);
	FCGX_FPrintF(req->fcgx->out,
	             "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Error</title></head>"
	             "<body><h1>%d %s</h1><p>The request could not be completed.</p></body></html>\n",
	             status, status_text(status));
	req->answered = 1;
}

static void set_common(struct web_request *req)
{
	if (req->logged_in) {
		web_set(req, "User.Name", req->session.user.name);
		web_set(req, "User.Role", users_role_name(req->session.user.role));
		web_set_int(req, "User.IsAdmin", req->session.user.role == ROLE_ADMIN);
		web_set(req, "CSRF.Token", req->session.csrf);
	}
	web_set(req, "Page.Path", req->path);
}

/* Head and body of a complete answer. Content-Length spares Apache the
 * chunked encoding of a body of unknown length. */
static void write_body(struct web_request *req, int status, const char *body, size_t len)
{
	char extra[64];
	snprintf(extra, sizeof extra, "Content-Length: %zu\r\n", len);
	write_head(req, status, extra);
	if (len > 0)
		FCGX_PutStr(body, (int)len, req->fcgx->out);
	req->answered = 1;
}

void web_render(struct web_request *req, int status, const char *template_name)
{
	if (req->answered)
		return;
	set_common(req);
	if (req->hdf_failed) {
		write_plain_error(req, 500);
		return;
	}
	STRING out;
	string_init(&out);
	NEOERR *err = web_tmpl_render(req->app->cfg.templates_dir, template_name, req->hdf, &out);
	if (err != STATUS_OK) {
		log_neoerr(template_name, err);
		string_clear(&out);
		write_plain_error(req, 500);
		return;
	}
	write_body(req, status, out.buf ? out.buf : "", (size_t)out.len);
	string_clear(&out);
}

void web_redirect(struct web_request *req, const char *path)
{
	if (req->answered)
		return;
	char location[2048];
	/* Only site-relative paths built by the pages themselves reach here. */
	if (path[0] != '/' || path[1] == '/' || strpbrk(path, "\r\n") != NULL) {
		write_plain_error(req, 500);
		return;
	}
	snprintf(location, sizeof location, "Location: %s\r\n", path);
	write_head(req, 303, location);
	req->answered = 1;
}

void web_error(struct web_request *req, int status, const char *message, const char *detail)
{
	if (req->answered)
		return;
	if (detail != NULL)
		fprintf(stderr, "prov-panel: %s %s: %d: %s\n", req->method, req->path, status, detail);
	web_set_int(req, "Error.Status", status);
	web_set(req, "Error.Title", status_text(status));
	web_set(req, "Error.Message", message);
	web_render(req, status, "error.cs");
}

/* ---------------------------------------------------------------- routing */

/* Logged in: the session's token. On public pages (the login form) before a
 * session exists: the token must match the pre-login cookie (double submit). */
static int csrf_token_ok(struct web_request *req, int public_page)
{
	const char *sent = web_param(req, "csrf_token");
	if (sent == NULL)
		return 0;
	if (req->logged_in && auth_equal(sent, req->session.csrf))
		return 1;
	if (!public_page)
		return 0;
	const char *cookie = hdf_get_value(req->hdf, "Cookie." PRELOGIN_CSRF_COOKIE, NULL);
	return cookie != NULL && strlen(cookie) == AUTH_HEX_LEN && auth_equal(sent, cookie);
}

/* Before login, forms carry a token that matches a cookie (double submit). */
static void ensure_prelogin_csrf(struct web_request *req)
{
	const char *cookie = hdf_get_value(req->hdf, "Cookie." PRELOGIN_CSRF_COOKIE, NULL);
	char token[AUTH_HEX_LEN + 1];
	if (cookie != NULL && strlen(cookie) == AUTH_HEX_LEN &&
	    strspn(cookie, "0123456789abcdef") == AUTH_HEX_LEN) {
		web_set(req, "CSRF.Token", cookie);
		return;
	}
	if (auth_random_hex(token, sizeof token, AUTH_TOKEN_BYTES) != 0)
		return;
	web_cookie(req, PRELOGIN_CSRF_COOKIE, token, -1);
	web_set(req, "CSRF.Token", token);
}

static void load_session(struct web_request *req)
{
	const char *token = hdf_get_value(req->hdf, "Cookie." SESSION_COOKIE, NULL);
	if (token == NULL)
		return;
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	int found = sessions_lookup(db, &req->app->cfg, token, &req->session);
	if (found < 0) {
		web_error(req, 503, "The database is unavailable; try again shortly.", db_error(db));
		return;
	}
	req->logged_in = found == 1;
}

void web_dispatch(struct web_request *req, const struct page *pages, size_t npages)
{
	const struct page *page = NULL;
	int path_known = 0;
	for (size_t i = 0; i < npages && page == NULL; i++) {
		long long id = 0;
		if (!route_match(pages[i].pattern, req->path, &id))
			continue;
		path_known = 1;
		const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
		if (strcmp(pages[i].method, method) == 0) {
			page = &pages[i];
			req->path_id = id;
		}
	}
	if (page == NULL) {
		if (path_known)
			web_error(req, 405, "This address does not accept that method.", NULL);
		else
			web_error(req, 404, "There is no such page.", NULL);
		return;
	}
	load_session(req);
	if (req->answered)
		return;
	if (!req->logged_in && page->guard == GUARD_PUBLIC)
		ensure_prelogin_csrf(req);
	if (page->guard != GUARD_PUBLIC && !req->logged_in) {
		if (strcmp(page->method, "GET") == 0)
			web_redirect(req, "/login");
		else
			web_error(req, 401, "Your session has ended; log in again.", NULL);
		return;
	}
	if (page->guard == GUARD_ADMIN && req->session.user.role != ROLE_ADMIN) {
		web_error(req, 403, "Your role does not allow this action.", NULL);
		return;
	}
	if (strcmp(page->method, "POST") == 0 && !csrf_token_ok(req, page->guard == GUARD_PUBLIC)) {
		web_error(
		    req, 403,
		    "The form has expired or was not sent by this panel; reload the page and try again.",
		    "CSRF token missing or wrong");
		return;
	}
	/* Who the page's changes are recorded as (history.h). */
	history_set_actor(req->logged_in ? "panel" : "system",
	                  req->logged_in ? req->session.user.name : NULL);
	page->fn(req);
	if (!req->answered)
		web_error(req, 500, "The page did not answer.", "page function returned without answering");
}

/* ---------------------------------------------------------------- the loop */

static NEOERR *request_begin(struct web_request *req)
{
	HDF *hdf = NULL;
	NEOERR *err = hdf_init(&hdf);
	if (err != STATUS_OK)
		return nerr_pass(err);
	err = hdf_set_value(hdf, "Config.VarEscapeMode", "html");
	if (err == STATUS_OK)
		err = hdf_set_value(hdf, "Config.TimeFooter", "0");
	if (err == STATUS_OK)
		err = hdf_set_value(hdf, "Config.DebugEnabled", "0");
	if (err == STATUS_OK)
		err = hdf_set_value(hdf, "hdf.loadpaths.0", req->app->cfg.templates_dir);
	if (err != STATUS_OK) {
		hdf_destroy(&hdf);
		return nerr_pass(err);
	}
	err = cgi_init(&req->cgi, hdf); /* cgi owns hdf from here, even on failure */
	if (err != STATUS_OK)
		return nerr_pass(err);
	req->hdf = req->cgi->hdf;
	return STATUS_OK;
}

static void serve_one(struct app *app, FCGX_Request *fcgx, const struct page *pages, size_t npages)
{
	struct web_request req;
	memset(&req, 0, sizeof req);
	req.app = app;
	req.fcgx = fcgx;
	route_request_line(fcgx->envp, &req.method, &req.path);
	web_io_attach(fcgx);

	/* The panel's pages are GET and POST only. Any other method is refused
	 * here, before ClearSilver reads a body (cgi_parse stores a PUT's body
	 * in a temporary file) and before any session or page code runs. */
	if (strcmp(req.method, "GET") != 0 && strcmp(req.method, "HEAD") != 0 &&
	    strcmp(req.method, "POST") != 0) {
		write_head(&req, 405, "Allow: GET, HEAD, POST\r\nContent-Length: 0\r\n");
		req.answered = 1;
		return;
	}
	const char *length = FCGX_GetParam("CONTENT_LENGTH", fcgx->envp);
	if (length != NULL && strtoll(length, NULL, 10) > app->cfg.request_max_bytes) {
		write_plain_error(&req, 413);
		return;
	}
	/* Panel forms are url-encoded; refusing anything else keeps ClearSilver's
	 * multipart parser (and its temporary upload files) out of reach. */
	const char *type = FCGX_GetParam("CONTENT_TYPE", fcgx->envp);
	if (strcmp(req.method, "POST") == 0 && type != NULL && type[0] != '\0' &&
	    strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0) {
		write_plain_error(&req, 415);
		return;
	}
	NEOERR *err = request_begin(&req);
	/* cgi_init has read the query string into Query.*; the body is read into
	 * the same names by cgi_parse. A CSRF token counts only from a POST's
	 * body (a token in the address ends up in logs and Referer headers), so
	 * the query string's is dropped before the body is read. */
	if (err == STATUS_OK && strcmp(req.method, "POST") == 0)
		err = hdf_remove_tree(req.hdf, "Query.csrf_token");
	if (err == STATUS_OK)
		err = cgi_parse(req.cgi);
	if (err != STATUS_OK) {
		log_neoerr("request", err);
		if (req.cgi == NULL)
			write_plain_error(&req, 500);
		else
			web_error(&req, 400, "The request could not be read.", NULL);
	} else {
		web_dispatch(&req, pages, npages);
	}
	cgi_destroy(&req.cgi);
}

int web_serve(struct app *app, const struct page *pages, size_t npages)
{
	FCGX_Request fcgx;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgx, 0, 0) != 0) {
		fprintf(stderr, "prov-panel: cannot initialise FastCGI\n");
		return 1;
	}
	while (FCGX_Accept_r(&fcgx) >= 0) {
		serve_one(app, &fcgx, pages, npages);
		FCGX_Finish_r(&fcgx);
		char err[512];
		if (request_stats_flush(&app->db, &app->cfg, "panel", err, sizeof err) !=
		    0) /* after the answer */
			fprintf(stderr, "prov-panel: request counts: %s\n", err);
	}
	web_tmpl_clear();
	return 0;
}
