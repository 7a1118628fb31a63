/* api: the JSON API's FastCGI program, served under /api/v1/. The route table
 * below is the whole API: method, path, who may call it, and the function.
 * static/openapi.json describes it (served at /api/v1/openapi.json). */
#include "api.h"

#include "../core/api.h"
#include "config.h"

#include <stdio.h>

static const struct api_route routes[] = {
	{"GET", "/events", API_READ, api_events_list},
	{"GET", "/me", API_READ, api_me},
};

int main(void)
{
	static struct app app;
	char err[512];
	if (config_load(config_resolve_path(NULL), &app.cfg, err, sizeof err) != 0) {
		fprintf(stderr, "prov-api: %s\n", err);
		return 1;
	}
	return api_serve(&app, routes, sizeof routes / sizeof routes[0]);
}
