/* page_bulk: bulk recovery in the panel (issue #16): the Execution Logs'
 * offer ("Redeliver the N failed executions shown"), its confirmation page
 * stating N, the request (POST, admin) and its progress page. prov-worker
 * does the work (core/bulk.c). */
#include "pages.h"

#include "bulk.h"
#include "db.h"
#include "logs.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BULK_FAILURES_SHOWN 50

static void read_filter_input(struct web_request *req, struct logs_input *in)
{
	*in = (struct logs_input){.handler = web_param(req, "handler"),
	                          .event = web_param(req, "event"),
	                          .status = web_param(req, "status"),
	                          .text = web_param(req, "q"),
	                          .from = web_param(req, "from"),
	                          .to = web_param(req, "to")};
}

/* The request's filter, validated; -1 after answering 422. */
static int read_filter(struct web_request *req, struct bulk_filter *f)
{
	struct logs_input in;
	read_filter_input(req, &in);
	char msg[640];
	if (bulk_filter_from_logs(&in, f, msg, sizeof msg) == 0)
		return 0;
	web_error(req, 422, msg, NULL);
	return -1;
}

static void set_filter(struct web_request *req, const struct bulk_filter *f)
{
	if (f->handler_id > 0)
		web_set_int(req, "Bulk.HandlerId", f->handler_id);
	web_set(req, "Bulk.Event", f->events_id);
	web_set(req, "Bulk.Since", f->since_text);
	web_set(req, "Bulk.Until", f->until_text);
}

void page_logs_bulk_offer(struct web_request *req, struct db *db, const struct logs_input *in)
{
	const struct session *s = web_session(req);
	/* Offered only for a view of failed executions since a time: what it redelivers is what is shown. */
	if (s == NULL || s->user.role != ROLE_ADMIN || in->status == NULL || strcmp(in->status, "fail") != 0)
		return;
	struct bulk_filter f;
	char msg[640];
	long long count = 0;
	if (bulk_filter_from_logs(in, &f, msg, sizeof msg) != 0) {
		web_set(req, "Bulk.Unavailable", msg);
		return;
	}
	long long max_log_id = bulk_max_log_id(db);
	/* Bounded in rows and time: the exact number is the confirmation page's. */
	int counted =
	    max_log_id < 0 ? -1 : bulk_count_capped(db, &f, max_log_id, BULK_OFFER_COUNT_MAX + 1, &count);
	if (counted < 0) {
		fprintf(stderr, "prov-panel: bulk count: %s\n", db_error(db));
		return;
	}
	set_filter(req, &f);
	if (counted == 1) {
		web_set_int(req, "Bulk.CountUnknown", 1);
		web_set_int(req, "Bulk.Offer", 1);
		return;
	}
	web_set_int(req, "Bulk.Count", count > BULK_OFFER_COUNT_MAX ? BULK_OFFER_COUNT_MAX : count);
	web_set_int(req, "Bulk.CountMore", count > BULK_OFFER_COUNT_MAX);
	web_set_int(req, "Bulk.Offer", 1);
}

void page_logs_bulk_confirm(struct web_request *req)
{
	struct db *db = web_db(req);
	struct bulk_filter f;
	if (db == NULL || read_filter(req, &f) != 0)
		return;
	long long count = 0, max_log_id = bulk_max_log_id(db);
	if (max_log_id < 0 || bulk_count(db, &f, max_log_id, &count) != 0) {
		web_error(req, 500, "The execution log could not be read.", db_error(db));
		return;
	}
	set_filter(req, &f);
	web_set_int(req, "Bulk.Count", count);
	web_set_int(req, "Bulk.MaxLogId", max_log_id);
	web_set(req, "Page.Title", "Redeliver failed executions");
	web_set(req, "Page.Section", "logs");
	web_render(req, 200, "logs_bulk_confirm.cs");
}

void page_logs_bulk_submit(struct web_request *req)
{
	struct db *db = web_db(req);
	struct bulk_filter f;
	if (db == NULL || read_filter(req, &f) != 0)
		return;
	/* The bound the confirmation stated N for (never above the log's newest row). */
	const char *bound = web_param(req, "max_log_id"), *stated = web_param(req, "expected");
	char *end = NULL;
	long long max_log_id = bound ? strtoll(bound, &end, 10) : 0, newest = bulk_max_log_id(db);
	long long expected = stated ? strtoll(stated, NULL, 10) : 0;
	if (bound == NULL || end == bound || *end != '\0' || max_log_id <= 0 || newest < 0 ||
	    max_log_id > newest) {
		web_error(req, 422, "The confirmation has expired; open the Execution Logs and ask again.",
		          NULL);
		return;
	}
	long long id = 0;
	enum bulk_submit r =
	    bulk_request(db, &f, max_log_id, expected < 0 ? 0 : expected, web_session(req)->user.name, &id);
	if (r == BULK_ERROR) {
		web_error(req, 500, "The bulk redelivery could not be queued; try again shortly.",
		          db_error(db));
		return;
	}
	char location[96];
	snprintf(location, sizeof location, "/logs/bulk/%lld%s", id, r == BULK_EXISTING ? "?existing=1" : "");
	web_redirect(req, location);
}

void page_logs_bulk_show(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct bulk_progress p;
	int found = bulk_get(db, web_path_id(req), &p);
	if (found < 0) {
		web_error(req, 500, "The bulk redelivery could not be read.", db_error(db));
		return;
	}
	if (found == 0) {
		web_error(req, 404, "There is no such bulk redelivery.", NULL);
		return;
	}
	web_set_int(req, "Bulk.Id", p.id);
	web_set(req, "Bulk.State", p.state);
	if (p.handler_id > 0)
		web_set_int(req, "Bulk.HandlerId", p.handler_id);
	web_set(req, "Bulk.Event", p.events_id);
	web_set(req, "Bulk.Since", p.since);
	web_set(req, "Bulk.Until", p.until);
	web_set_int(req, "Bulk.Expected", p.expected);
	web_set_int(req, "Bulk.Total", p.total);
	web_set_int(req, "Bulk.Skipped", p.skipped);
	web_set_int(req, "Bulk.Queued", p.queued);
	web_set_int(req, "Bulk.Running", p.running);
	web_set_int(req, "Bulk.Delivered", p.delivered);
	web_set_int(req, "Bulk.Failed", p.failed);
	web_set_int(req, "Bulk.Done", p.delivered + p.failed);
	web_set_int(req, "Bulk.Waiting", p.queued + p.running);
	web_set_int(req, "Bulk.Percent", p.total > 0 ? (p.delivered + p.failed) * 100 / p.total : 0);
	web_set(req, "Bulk.RequestedBy", p.requested_by);
	web_set(req, "Bulk.CreatedAt", p.created_at);
	web_set(req, "Bulk.FinishedAt", p.finished_at);
	if (web_param(req, "existing") != NULL)
		web_set_int(req, "Bulk.Existing", 1);
	struct db_rows rows;
	if (p.failed > 0 && bulk_failures(db, p.id, BULK_FAILURES_SHOWN, &rows) != 0) {
		web_error(req, 500, "The bulk redelivery's failures could not be read.", db_error(db));
		return;
	}
	if (p.failed > 0) {
		char key[64];
		for (size_t r = 0; r < rows.nrows; r++) {
			snprintf(key, sizeof key, "Bulk.Failures.%zu.LogId", r);
			web_set(req, key, db_cell(&rows, r, 0));
			snprintf(key, sizeof key, "Bulk.Failures.%zu.NewLogId", r);
			web_set(req, key, db_cell(&rows, r, 1));
			snprintf(key, sizeof key, "Bulk.Failures.%zu.Error", r);
			web_set(req, key, db_cell(&rows, r, 2));
		}
		db_rows_free(&rows);
	}
	if (strcmp(p.state, "done") != 0)
		web_set_int(req, "Page.Refresh", 3);
	web_set(req, "Page.Title", "Bulk redelivery");
	web_set(req, "Page.Section", "logs");
	web_render(req, 200, "logs_bulk.cs");
}
