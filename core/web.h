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

/* What every page process shares across requests. */
struct app {
	struct config cfg;
	struct db *db; /* opened lazily, reopened when it fails */
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

void web_redirect(struct web_request *req, const char *path);
/* An error page with a one-line message; also logs detail (never shown) when given. */
void web_error(struct web_request *req, int status, const char *message, const char *detail);

#endif
