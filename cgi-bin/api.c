/* api: the JSON API's FastCGI program, served under /api/v1/. The route table
 * below is the whole API: method, path, who may call it, and the function.
 * static/openapi.json describes it (served at /api/v1/openapi.json). */
#include "api.h"

#include "../core/api.h"
#include "cgi_guard.h"
#include "config.h"

#include <stdio.h>

static const struct api_route routes[] = {
    {"GET", "/events", API_READ, api_events_list},
    {"GET", "/me", API_READ, api_me},
    {"GET", "/handlers", API_READ, api_handlers_list},
    {"POST", "/handlers", API_WRITE, api_handlers_create},
    {"GET", "/handlers/#", API_READ, api_handlers_get},
    {"PATCH", "/handlers/#", API_WRITE, api_handlers_update},
    {"DELETE", "/handlers/#", API_WRITE, api_handlers_delete},
    {"POST", "/handlers/#/status", API_WRITE, api_handlers_set_status},
    {"GET", "/handlers/#/history", API_READ, api_handlers_history},
    {"POST", "/handlers/#/test", API_WRITE, api_handlers_test},
    {"POST", "/handlers/test", API_WRITE, api_handlers_test_unsaved},
    /* a queued script test; not under /handlers/: /handlers/{id}/status makes that ambiguous */
    {"GET", "/handler-tests/#", API_WRITE, api_handler_tests_get},
    {"GET", "/logs", API_READ, api_logs_list},
    {"GET", "/logs/#", API_READ, api_logs_get},
    {"POST", "/logs/#/redeliver", API_WRITE, api_logs_redeliver},
    {"POST", "/bulk-redeliveries", API_WRITE, api_bulk_create},
    {"GET", "/bulk-redeliveries/#", API_READ, api_bulk_get},
    {"GET", "/cache", API_READ, api_cache_get},
    {"POST", "/cache/restart", API_WRITE, api_cache_restart},
    {"GET", "/cache/preview", API_READ, api_cache_preview},
    {"GET", "/cache/history", API_READ, api_cache_history},
    {"GET", "/cache/generations", API_READ, api_cache_generations},
    {"POST", "/cache/rollback", API_WRITE, api_cache_rollback},
    {"GET", "/metrics", API_SCRAPE, api_metrics}, /* also at /metrics (apache.conf.example) */
};

int main(void)
{
	static struct app app;
	if (cgi_guard_fastcgi("prov-api") != 0)
		return 1;
	char err[512];
	if (config_load(config_resolve_path(NULL), &app.cfg, err, sizeof err) != 0) {
		fprintf(stderr, "prov-api: %s\n", err);
		return 1;
	}
	return api_serve(&app, routes, sizeof routes / sizeof routes[0]);
}
