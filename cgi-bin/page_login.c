/* page_login: the site root, the login form, login and logout. */
#include "pages.h"

#include "db.h"
#include "users.h"
#include "web.h"

#include <stdio.h>

void page_root(struct web_request *req)
{
	web_redirect(req, web_session(req) ? "/handlers" : "/login");
}

void page_login_form(struct web_request *req)
{
	if (web_session(req)) {
		web_redirect(req, "/handlers");
		return;
	}
	web_set(req, "Page.Title", "Log in");
	web_render(req, 200, "login.cs");
}

static void login_refused(struct web_request *req, int status, const char *message)
{
	web_set(req, "Login.Error", message);
	web_render(req, status, "login.cs");
}

void page_login_submit(struct web_request *req)
{
	const char *name = web_param(req, "username");
	const char *password = web_param(req, "password");
	web_set(req, "Page.Title", "Log in");
	web_set(req, "Login.Username", name);
	if (name == NULL || name[0] == '\0' || password == NULL || password[0] == '\0') {
		login_refused(req, 422, "Enter your user name and password.");
		return;
	}
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct user user;
	switch (users_login(db, &web_app(req)->cfg, name, password, web_remote_addr(req), &user)) {
	case LOGIN_OK:
		if (web_login(req, &user) == 0)
			web_redirect(req, "/handlers");
		return;
	case LOGIN_LOCKED: {
		/* One text for a locked name, known or not, and a locked address:
		 * nothing in it depends on the name. */
		char duration[64], message[256];
		login_lock_duration(web_app(req)->cfg.login_lock_seconds, duration, sizeof duration);
		snprintf(message, sizeof message,
		         "Too many failed attempts: logging in is locked for up to %s. An administrator "
		         "can lift the lock sooner with prov-admin user unlock.",
		         duration);
		login_refused(req, 403, message);
		return;
	}
	case LOGIN_BAD: login_refused(req, 403, "Wrong user name or password."); return;
	case LOGIN_ERROR:
		web_error(req, 503, "The database is unavailable; try again shortly.", db_error(db));
		return;
	}
}

void page_logout(struct web_request *req)
{
	if (web_logout(req) == 0)
		web_redirect(req, "/login");
}
