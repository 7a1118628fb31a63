/* web: the FastCGI request loop, page routing with guards (login, role, CSRF),
 * and rendering of ClearSilver templates with HTML escaping on by default.
 * Page functions read input through web_param() and answer with exactly one of
 * web_render(), web_redirect() or web_error(). */
#ifndef PROV_WEB_H
#define PROV_WEB_H

#include "config.h"
#include "db.h"
#include "users.h"

#include <stddef.h>

struct web_request;
struct page_prefetch;

/* What every page process shares across requests. */
struct app {
	struct config cfg;
	struct db *db;                        /* opened lazily, reopened when it fails */
	const struct page_prefetch *prefetch; /* optional, see below */
	size_t nprefetch;
};

enum page_guard {
	GUARD_PUBLIC, /* anyone: login page, static error pages */
	GUARD_USER,   /* a logged-in user of any role */
	GUARD_ADMIN,  /* a logged-in admin */
};

typedef void (*page_fn)(struct web_request *req);

struct page {
	const char *method;  /* "GET" or "POST" */
	const char *pattern; /* "/handlers/#/edit": '#' matches a positive id */
	enum page_guard guard;
	page_fn fn;
};

/* A page that must read a little before it can answer (typically: whether
 * its cached copy is still current) may have those columns added to the
 * session lookup, saving a round trip. prepare() runs before the login check
 * (it may read web_param only) and fills sql, a file-scope static text built
 * with SESSIONS_LOOKUP_SQL (users.h), and the extra columns' parameters; it
 * may leave sql NULL. Parameter strings must live until the request ends. */
struct web_prefetch {
	const char *sql;
	struct db_param params[SESSIONS_LOOKUP_PARAMS];
	size_t nparams;
};

struct page_prefetch {
	page_fn page; /* the page function it serves */
	void (*prepare)(struct web_request *req, struct web_prefetch *prefetch);
};

/* Run the FastCGI accept loop until the server stops the process. */
int web_serve(struct app *app, const struct page *pages, size_t npages);

/* Route and answer one request already set up in req (used by web_serve and tests). */
void web_dispatch(struct web_request *req, const struct page *pages, size_t npages);

/* --- for page functions --- */
struct app *web_app(struct web_request *req);
struct db *web_db(struct web_request *req);                 /* NULL after answering 500 */
const struct session *web_session(struct web_request *req); /* NULL when not logged in */
long long web_path_id(struct web_request *req);
const char *web_method(struct web_request *req);
/* The client's address as the server saw it (REMOTE_ADDR), or NULL. */
const char *web_remote_addr(struct web_request *req);
/* The one accessor for request input (query string and form fields). */
const char *web_param(struct web_request *req, const char *name);
/* The extra columns the page's prefetch asked for (0 = the first), read in
 * the session lookup: NULL when SQL NULL or not asked for. */
const char *web_prefetched(struct web_request *req, size_t column);
size_t web_prefetched_count(struct web_request *req);

void web_set(struct web_request *req, const char *name, const char *value);
void web_setf(struct web_request *req, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void web_set_int(struct web_request *req, const char *name, long long value);

/* Set a cookie: HttpOnly; SameSite=Strict; Path=/ always. max_age < 0: session cookie, 0: delete. */
void web_cookie(struct web_request *req, const char *name, const char *value, long max_age);

/* Start a session for user (cookie + row); 0 or -1 after answering 503. */
int web_login(struct web_request *req, const struct user *user);
/* End the current session (row + cookie). 0 or -1 after answering 503. */
int web_logout(struct web_request *req);

void web_render(struct web_request *req, int status, const char *template_name);

/* The per-process page cache (core/web_cache.h), for logged-in GET pages. A
 * page's bytes are kept under its slot: the address with its exact query
 * string, and everything of the session the layout prints (user id, name,
 * role, CSRF token); and under a version: a text the page builds that names
 * everything else its output depends on. A version must never name data
 * newer than the bytes kept under it (read it before that data, or derive it
 * from the data rendered). web_cached answers 200 with the kept bytes when
 * slot and version match (returns 1), else returns 0; web_render_cached
 * renders 200 like web_render and keeps the bytes. Both say so in an
 * X-Panel-Cache header (hit / miss). */
int web_cached(struct web_request *req, const char *version);
void web_render_cached(struct web_request *req, const char *template_name, const char *version);
void web_redirect(struct web_request *req, const char *path);
/* An error page with a one-line message; also logs detail (never shown) when given. */
void web_error(struct web_request *req, int status, const char *message, const char *detail);

#endif
