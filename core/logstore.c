/* logstore: exec_logs rows and the handlers' last-run columns. */
#include "logstore.h"

#include "db.h"
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGSTORE_ERROR_MAX 1024 /* exec_logs.error, handlers.last_error */
#define LOGSTORE_TEXT_MAX 60000 /* TEXT columns hold 65535 bytes */

static const char SQL_INSERT_LOG[] =
    "INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, object_id, event_uid, "
    "delivery_id, attempt, trigger_kind, redelivery_of, http_status, exit_code, duration_us, "
    "request_body, request_headers, response_body, response_headers, response_truncated, "
    "script_stderr, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_UPDATE_HANDLER[] =
    "UPDATE handlers SET last_status = ?, last_run_at = ?, last_error = ?, "
    "consecutive_failures = IF(? = 'success', 0, consecutive_failures + 1) WHERE id = ?";

/* The cleaned texts of one row; each owned here. */
struct row_texts {
	char *request;
	char *request_headers;
	char *response;
	char *response_headers;
	char *stderr_text;
	char *error;
	int response_cut;
};

static void texts_free(struct row_texts *t)
{
	free(t->request);
	free(t->request_headers);
	free(t->response);
	free(t->response_headers);
	free(t->stderr_text);
	free(t->error);
}

static char *clean_or_null(const char *text, size_t max, int *cut)
{
	if (text == NULL || text[0] == '\0')
		return NULL;
	return delivery_utf8_clean(text, strlen(text), max, cut);
}

/* Handler replies are arbitrary bytes; the columns are utf8mb4 and strict. */
static int texts_build(const struct logstore_entry *e, size_t response_max, struct row_texts *t)
{
	const struct delivery_result *r = e->result;
	memset(t, 0, sizeof *t);
	int cut = 0;
	t->request = delivery_utf8_clean(e->request_body, e->request_len, e->request_len, NULL);
	t->request_headers = clean_or_null(r->request_headers, LOGSTORE_TEXT_MAX, NULL);
	if (r->response_body != NULL && r->response_len > 0)
		t->response =
		    delivery_utf8_clean(r->response_body, r->response_len, response_max, &t->response_cut);
	t->response_cut |= r->response_overflow;
	t->response_headers = clean_or_null(r->response_headers, LOGSTORE_TEXT_MAX, NULL);
	t->stderr_text = clean_or_null(r->script_stderr, LOGSTORE_TEXT_MAX, &cut);
	t->error = clean_or_null(r->success ? NULL : r->error, LOGSTORE_ERROR_MAX, NULL);
	return t->request == NULL ? -1 : 0;
}

static int write_one(struct db *db, const struct logstore_entry *e, size_t response_max)
{
	const struct delivery_result *r = e->result;
	struct row_texts t;
	if (texts_build(e, response_max, &t) != 0) {
		texts_free(&t);
		return -1;
	}
	char dt[32];
	delivery_time_text(r->started_us, 0, dt, sizeof dt);
	struct db_param p[] = {
	    DB_STR(dt),
	    DB_STR(r->success ? "success" : "fail"),
	    DB_STR(e->events_id),
	    e->handler_id > 0 ? DB_INT(e->handler_id) : DB_NULL(),
	    DB_STR(e->handler_name ? e->handler_name : ""),
	    e->has_object_id ? DB_INT(e->object_id) : DB_NULL(),
	    DB_STR(e->event_uid),
	    DB_STR(e->delivery_id),
	    DB_INT(e->attempt ? e->attempt : 1),
	    DB_STR(delivery_trigger_name(e->trigger)),
	    e->redelivery_of > 0 ? DB_INT(e->redelivery_of) : DB_NULL(),
	    r->http_status > 0 ? DB_INT(r->http_status) : DB_NULL(),
	    r->has_exit_code ? DB_INT(r->exit_code) : DB_NULL(),
	    DB_INT(r->duration_us > 0 ? r->duration_us : 0),
	    DB_STR(t.request),
	    DB_STR_OR_NULL(t.request_headers),
	    t.response ? DB_STR(t.response) : DB_NULL(),
	    DB_STR_OR_NULL(t.response_headers),
	    DB_INT(t.response_cut),
	    DB_STR_OR_NULL(t.stderr_text),
	    DB_STR_OR_NULL(t.error),
	};
	int rc = db_exec(db, SQL_INSERT_LOG, p, sizeof p / sizeof p[0], NULL, NULL);
	texts_free(&t);
	return rc;
}

static int update_handler(struct db *db, const struct logstore_entry *e)
{
	const struct delivery_result *r = e->result;
	char dt[32];
	delivery_time_text(r->started_us, 0, dt, sizeof dt);
	char *error = clean_or_null(r->success ? NULL : r->error, LOGSTORE_ERROR_MAX, NULL);
	const char *status = r->success ? "success" : "fail";
	struct db_param p[] = {DB_STR(status), DB_STR(dt), DB_STR_OR_NULL(error), DB_STR(status),
	                       DB_INT(e->handler_id)};
	int rc = db_exec(db, SQL_UPDATE_HANDLER, p, 5, NULL, NULL);
	free(error);
	return rc;
}

static int by_handler_id(const void *a, const void *b)
{
	const struct logstore_entry *x = *(const struct logstore_entry *const *)a;
	const struct logstore_entry *y = *(const struct logstore_entry *const *)b;
	return (x->handler_id > y->handler_id) - (x->handler_id < y->handler_id);
}

int logstore_write(struct db *db, size_t response_max, const struct logstore_entry *entries, size_t n,
                   char *err, size_t errlen)
{
	if (n == 0)
		return 0;
	/* Handler rows are updated in id order: concurrent dispatchers then lock
	 * them in one global order and cannot deadlock each other. */
	const struct logstore_entry **order = calloc(n, sizeof *order);
	if (order == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = &entries[i];
	qsort(order, n, sizeof *order, by_handler_id);
	int rc = db_begin(db);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = write_one(db, &entries[i], response_max);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (order[i]->handler_id > 0 &&
		    (i == n - 1 || order[i + 1]->handler_id != order[i]->handler_id))
			rc = update_handler(db, order[i]);
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		snprintf(err, errlen, "%s", db_error(db));
		db_rollback(db);
	}
	free(order);
	return rc;
}

int logstore_write_outcome(struct db *db, size_t response_max, const struct dispatch_event *event,
                           const struct dispatch_outcome *outcome, char *err, size_t errlen)
{
	struct logstore_entry *entries = calloc(outcome->nsteps ? outcome->nsteps : 1, sizeof *entries);
	if (entries == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < outcome->nsteps; i++) {
		const struct dispatch_step *step = &outcome->steps[i];
		entries[i] = (struct logstore_entry){.events_id = event->events_id,
		                                     .event_uid = event->uid,
		                                     .has_object_id = event->has_object_id,
		                                     .object_id = event->object_id,
		                                     .handler_id = step->handler->id,
		                                     .handler_name = step->handler->name,
		                                     .delivery_id = step->delivery_id,
		                                     .attempt = 1,
		                                     .trigger = DELIVERY_TRIGGER_DISPATCH,
		                                     .request_body = step->request_body,
		                                     .request_len = step->request_len,
		                                     .result = &step->result};
	}
	int rc = logstore_write(db, response_max, entries, outcome->nsteps, err, errlen);
	free(entries);
	return rc;
}
