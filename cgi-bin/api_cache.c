/* api_cache: the Cache Manager over JSON: its state and a restart (publish). */
#include "api.h"

#include "../core/api.h"
#include "cache.h"
#include "db.h"

#include <stdio.h>

static json_t *status_json(const struct cache_status *st)
{
	json_t *o = json_pack("{s:I,s:I,s:b,s:I,s:I}", "generation", (json_int_t)st->generation,
	                      "handler_count", (json_int_t)st->handler_count, "pending", st->pending,
	                      "handlers_version", (json_int_t)st->handlers_version,
	                      "published_handlers_version", (json_int_t)st->published_handlers_version);
	json_object_set_new(o, "published_at", api_time(st->published_at));
	json_object_set_new(o, "published_by",
	                    st->published_by[0] ? json_string(st->published_by) : json_null());
	return o;
}

static void reply_status(struct api_request *req, struct db *db, int status)
{
	struct cache_status st;
	if (cache_status_read(db, &st) != 0) {
		fprintf(stderr, "prov-api: cache status: %s\n", db_error(db));
		api_fail(req, 500, "internal error", "internal", NULL);
		return;
	}
	api_reply(req, status, status_json(&st));
}

void api_cache_get(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db != NULL)
		reply_status(req, db, 200);
}

/* POST /cache/restart: publish the enabled handlers as a new generation. */
void api_cache_restart(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct cache_publish_info info;
	char err[512];
	if (cache_publish(db, api_user(req)->name, &info, err, sizeof err) != 0) {
		fprintf(stderr, "prov-api: cache publish: %s\n", err);
		api_fail(req, 500, "the Cache Manager could not publish; see the server log", "internal",
		         NULL);
		return;
	}
	reply_status(req, db, 200);
}
