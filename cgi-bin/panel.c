/* panel: the operator panel's FastCGI program. The page table below is the
 * whole site map: address, method, who may call it, and the page function. */
#include "pages.h"

#include "cgi_guard.h"
#include "config.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>

static const struct page pages[] = {
    {"GET", "/", GUARD_PUBLIC, page_root},
    {"GET", "/login", GUARD_PUBLIC, page_login_form},
    {"POST", "/login", GUARD_PUBLIC, page_login_submit},
    {"POST", "/logout", GUARD_USER, page_logout},
    /* Provisioning API handlers: viewers read, admins change (every change a POST) */
    {"GET", "/handlers/new", GUARD_ADMIN, page_handler_new},
    {"POST", "/handlers/new", GUARD_ADMIN, page_handler_create},
    {"GET", "/handlers/#", GUARD_USER, page_handler_show},
    {"POST", "/handlers/#", GUARD_ADMIN, page_handler_update},
    {"POST", "/handlers/#/test", GUARD_ADMIN, page_handler_test},
    {"POST", "/handlers/test", GUARD_ADMIN, page_handler_test_new},
    {"GET", "/handlers/tests/#", GUARD_ADMIN,
     page_handler_test_show}, /* a script's test, run by prov-worker */
    {"GET", "/handlers/#/secret", GUARD_ADMIN, page_handler_secret},
    {"POST", "/handlers/#/status", GUARD_ADMIN, page_handler_toggle},
    {"GET", "/handlers/#/delete", GUARD_ADMIN, page_handler_delete_confirm},
    {"POST", "/handlers/#/delete", GUARD_ADMIN, page_handler_delete},
    {"GET", "/handlers", GUARD_USER, page_handlers_list},
    /* API keys (admin only) */
    {"GET", "/apikeys", GUARD_ADMIN, page_apikeys_list},
    {"POST", "/apikeys", GUARD_ADMIN, page_apikeys_create},
    {"POST", "/apikeys/#/revoke", GUARD_ADMIN, page_apikeys_revoke},
    {"GET", "/scheduler", GUARD_USER, page_scheduler},
    {"POST", "/scheduler/cache/restart", GUARD_ADMIN, page_scheduler_cache_restart},
    {"GET", "/scheduler/rollback/#", GUARD_ADMIN, page_scheduler_rollback_confirm},
    {"POST", "/scheduler/rollback/#", GUARD_ADMIN, page_scheduler_rollback},
    {"GET", "/logs", GUARD_USER, page_logs_list},
    {"GET", "/logs/#", GUARD_USER, page_logs_detail},
    {"GET", "/logs/#/event", GUARD_USER, page_logs_event},
    {"POST", "/logs/purge", GUARD_ADMIN, page_logs_purge},
    {"POST", "/logs/#/redeliver", GUARD_ADMIN, page_logs_redeliver},
    /* bulk recovery: confirmation stating N, the request, its progress */
    {"GET", "/logs/redeliver", GUARD_ADMIN, page_logs_bulk_confirm},
    {"POST", "/logs/redeliver", GUARD_ADMIN, page_logs_bulk_submit},
    {"GET", "/logs/bulk/#", GUARD_USER, page_logs_bulk_show},
};

int main(void)
{
	static struct app app;
	if (cgi_guard_fastcgi("prov-panel") != 0)
		return 1;
	char err[512];
	const char *path = config_resolve_path(NULL);
	if (config_load(path, &app.cfg, err, sizeof err) != 0) {
		/* mod_fcgid would restart a process that exits at once, again and
		 * again; log the reason where the operator looks and stop. */
		fprintf(stderr, "prov-panel: %s\n", err);
		return 1;
	}
	return web_serve(&app, pages, sizeof pages / sizeof pages[0]);
}
