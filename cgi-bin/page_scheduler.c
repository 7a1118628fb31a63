/* page_scheduler: the Task Scheduler (SPEC 4.4): every service's last run, the
 * Cache Manager's published generation, and its restart (publish) button, and
 * the retry queue's counts (SPEC 7). */
#include "pages.h"

#include "page_charts.h"

#include "cache.h"
#include "db.h"
#include "retryq.h"
#include "scheduler.h"
#include "web.h"

#include <stdio.h>
#include <string.h>

static void set_services(struct web_request *req, const struct db_rows *rows)
{
	static const char *const names[SCOL__MAX] = {
	    [SCOL_NAME] = "Name",
	    [SCOL_TITLE] = "Title",
	    [SCOL_LAST_RUN_AT] = "LastRunAt",
	    [SCOL_LAST_RESULT] = "LastResult",
	    [SCOL_LAST_DETAIL] = "LastDetail",
	};
	char key[64];
	for (size_t row = 0; row < rows->nrows; row++)
		for (size_t col = 0; col < SCOL__MAX; col++) {
			snprintf(key, sizeof key, "Services.%zu.%s", row, names[col]);
			web_set(req, key, db_cell(rows, row, col));
		}
	web_set_int(req, "ServiceCount", (long long)rows->nrows);
}

static void set_cache_status(struct web_request *req, const struct cache_status *st)
{
	web_set_int(req, "Cache.Generation", st->generation);
	web_set(req, "Cache.PublishedAt", st->published_at);
	web_set(req, "Cache.PublishedBy", st->published_by);
	web_set_int(req, "Cache.HandlerCount", st->handler_count);
	web_set_int(req, "Cache.Pending", st->pending);
}

/* Retry.<Name> is the count's text ("more than 10,000" above the cap),
 * Retry.<Name>Any is 1 when there is at least one. */
static void set_retry_count(struct web_request *req, const char *name, long long count)
{
	char key[48], text[32];
	snprintf(key, sizeof key, "Retry.%s", name);
	web_set(req, key, retryq_count_text(count, text, sizeof text));
	snprintf(key, sizeof key, "Retry.%sAny", name);
	web_set_int(req, key, count > 0);
}

static void set_retry_counts(struct web_request *req, const struct retryq_counts *c)
{
	set_retry_count(req, "Due", c->due);
	set_retry_count(req, "Later", c->later);
	set_retry_count(req, "Exhausted", c->exhausted);
	set_retry_count(req, "Done", c->done);
}

/* The outcome of a restart, from the redirect's query string (digits only). */
static void set_flash(struct web_request *req)
{
	const char *published = web_param(req, "published");
	if (published != NULL && published[0] != '\0' && strlen(published) < 19 &&
	    strspn(published, "0123456789") == strlen(published))
		web_set(req, "Flash.Published", published);
	const char *failed = web_param(req, "failed");
	if (failed != NULL && strcmp(failed, "1") == 0)
		web_set_int(req, "Flash.Failed", 1);
}

void page_scheduler(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct db_rows rows;
	struct cache_status st;
	if (scheduler_services(db, &rows) != 0) {
		web_error(req, 500, "The services could not be read.", db_error(db));
		return;
	}
	set_services(req, &rows);
	db_rows_free(&rows);
	if (cache_status_read(db, &st) != 0) {
		web_error(req, 500, "The Cache Manager's state could not be read.", db_error(db));
		return;
	}
	set_cache_status(req, &st);
	struct retryq_counts counts;
	if (retryq_count(db, &counts) != 0) {
		web_error(req, 500, "The retry queue could not be read.", db_error(db));
		return;
	}
	set_retry_counts(req, &counts);
	charts_set_health(req, db);
	set_flash(req);
	if (page_history_scheduler(req, db, st.pending) != 0) { /* page_history.c */
		web_error(req, 500, "The publish history could not be read.", db_error(db));
		return;
	}
	web_set(req, "Page.Title", "Task Scheduler");
	web_set(req, "Page.Section", "scheduler");
	web_render(req, 200, "scheduler.cs");
}

void page_scheduler_cache_restart(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct cache_publish_info info;
	char err[1024];
	if (cache_publish(db, web_session(req)->user.name, &info, err, sizeof err) != 0) {
		fprintf(stderr, "prov-panel: cache restart: %s\n", err);
		web_redirect(req, "/scheduler?failed=1");
		return;
	}
	char location[64];
	snprintf(location, sizeof location, "/scheduler?published=%lld", info.generation);
	web_redirect(req, location);
}
