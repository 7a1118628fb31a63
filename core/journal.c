/* journal: the begin/end records of deliveries (JSON in spool framing), the
 * per-process journal that holds them, and their reading back as log rows. */
#include "journal.h"

#include "dispatch.h"
#include "events.h"
#include "handlers.h"
#include "retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOURNAL_TEXT_MAX 60000 /* headers and stderr, as logstore keeps them */

static const char *const queue_actions[] = {[LOGSTORE_QUEUE_NONE] = "none",
                                            [LOGSTORE_QUEUE_ENQUEUE] = "enqueue",
                                            [LOGSTORE_QUEUE_FINISH] = "finish",
                                            [LOGSTORE_QUEUE_WAIT] = "wait"};
static const char *const queue_outcomes[] = {[RETRYQ_DONE] = "done",
                                             [RETRYQ_RESCHEDULE] = "reschedule",
                                             [RETRYQ_EXHAUSTED] = "exhausted",
                                             [RETRYQ_BLOCKED] = "blocked"};

/* ---------------------------------------------------------------- writing */

void journal_init(struct journal *j, const char *dir, size_t response_max)
{
	memset(j, 0, sizeof *j);
	j->file.fd = -1;
	snprintf(j->dir, sizeof j->dir, "%s", dir);
	j->response_max = response_max;
}

void journal_reuse(struct journal *j, struct spool_journal *spare)
{
	j->spare = spare;
}

/* A JSON string of arbitrary bytes: valid UTF-8 of at most max bytes. */
static json_t *text_json(const char *text, size_t len, size_t max, int *cut)
{
	if (text == NULL)
		return json_null();
	char *clean = delivery_utf8_clean(text, len, max, cut);
	json_t *value = clean ? json_string(clean) : NULL;
	free(clean);
	return value;
}

/* Text of arbitrary bytes up to NUL (NULL: JSON null). */
static json_t *text_of(const char *text, size_t max)
{
	return text ? text_json(text, strlen(text), max, NULL) : json_null();
}

/* Set key to value (taken over); a failure (out of memory) clears *ok. */
static void put(json_t *record, const char *key, json_t *value, int *ok)
{
	if (record == NULL) {
		json_decref(value);
		*ok = 0;
	} else if (value == NULL || json_object_set_new(record, key, value) != 0) {
		*ok = 0; /* json_object_set_new has released value */
	}
}

/* Append record (taken over; NULL when it could not be built). */
/* The journal file for the first record: the spare, or a new one. */
static int file_ready(struct journal *j)
{
	if (j->file.fd >= 0)
		return 0;
	if (j->spare != NULL && j->spare->fd >= 0) {
		j->file = *j->spare; /* emptied when its last run committed */
		j->spare->fd = -1;
		return 0;
	}
	return spool_journal_open(j->dir, &j->file, j->error, sizeof j->error);
}

static int append(struct journal *j, json_t *record, int ok)
{
	char *text = record && ok ? json_dumps(record, JSON_COMPACT) : NULL;
	json_decref(record);
	int rc = -1;
	if (text == NULL)
		snprintf(j->error, sizeof j->error, "journal: out of memory");
	else if (file_ready(j) == 0)
		rc = spool_journal_append(&j->file, text, strlen(text), j->error, sizeof j->error);
	free(text);
	if (rc != 0)
		j->failed = 1;
	else
		j->records++;
	return rc;
}

int journal_begin(struct journal *j, const struct journal_begin *b)
{
	if (j->failed)
		return -1; /* reported once, by whoever keeps or discards it */
	int ok = 1;
	json_t *retry = json_object();
	put(retry, "enabled", json_boolean(b->retry_enabled), &ok);
	put(retry, "schedule", text_of(b->retry_schedule, 255), &ok);
	put(retry, "max_attempts", json_integer(b->retry_max_attempts), &ok);
	put(retry, "ordered", json_boolean(b->ordered), &ok);
	json_t *r = json_object();
	put(r, "k", json_string("begin"), &ok);
	put(r, "trigger", json_string(delivery_trigger_name(b->trigger)), &ok);
	put(r, "delivery_id", text_of(b->delivery_id, DELIVERY_ID_LEN), &ok);
	put(r, "attempt", json_integer(b->attempt), &ok);
	put(r, "events_id", text_of(b->events_id, 64), &ok);
	put(r, "event_uid", text_of(b->event_uid, 64), &ok);
	put(r, "object_id", b->has_object_id ? json_integer(b->object_id) : json_null(), &ok);
	put(r, "handler_id", json_integer(b->handler_id), &ok);
	put(r, "handler_name", text_of(b->handler_name ? b->handler_name : "", 1024), &ok);
	put(r, "retry", retry, &ok);
	put(r, "queue_id", json_integer(b->queue_id), &ok);
	put(r, "started_us", json_integer(b->started_us), &ok);
	put(r, "request", text_json(b->request, b->request_len, b->request_len, NULL), &ok);
	if (append(j, r, ok) != 0)
		return -1;
	if (j->sync_begin && spool_journal_sync(&j->file, j->error, sizeof j->error) != 0) {
		j->failed = 1;
		return -1;
	}
	return 0;
}

static json_t *queue_json(const struct logstore_queue *q)
{
	return json_pack("{s:s, s:s, s:I, s:b, s:I}", "action", queue_actions[q->action], "outcome",
	                 queue_outcomes[q->outcome], "delay", (json_int_t)q->delay_seconds, "ordered",
	                 q->ordered, "behind", (json_int_t)q->behind);
}

int journal_end(struct journal *j, const char *delivery_id, unsigned attempt, const struct delivery_result *r,
                const struct logstore_queue *queue)
{
	if (j->failed)
		return -1;
	int ok = 1, cut = 0;
	json_t *rec = json_object();
	put(rec, "k", json_string("end"), &ok);
	put(rec, "delivery_id", text_of(delivery_id, DELIVERY_ID_LEN), &ok);
	put(rec, "attempt", json_integer(attempt), &ok);
	put(rec, "success", json_boolean(r->success), &ok);
	put(rec, "http_status", json_integer(r->http_status), &ok);
	put(rec, "exit_code", r->has_exit_code ? json_integer(r->exit_code) : json_null(), &ok);
	put(rec, "started_us", json_integer(r->started_us), &ok);
	put(rec, "duration_us", json_integer(r->duration_us), &ok);
	put(rec, "request_headers", text_of(r->request_headers, JOURNAL_TEXT_MAX), &ok);
	put(rec, "response",
	    r->response_body && r->response_len > 0
	        ? text_json(r->response_body, r->response_len, j->response_max, &cut)
	        : json_null(),
	    &ok);
	put(rec, "response_truncated", json_boolean(r->response_overflow || cut), &ok);
	put(rec, "response_headers", text_of(r->response_headers, JOURNAL_TEXT_MAX), &ok);
	put(rec, "stderr", text_of(r->script_stderr, JOURNAL_TEXT_MAX), &ok);
	/* Errors quote replies (a JSON parser's "near '...'"): any bytes. */
	put(rec, "error", text_of(r->error, DELIVERY_ERROR_MAX), &ok);
	/* What the reply decided, when it decided something (the event view shows
	 * it); the data itself is in the response. Unchanged and failed: no member. */
	if (r->success && r->verdict != DELIVERY_UNCHANGED)
		put(rec, "verdict", json_integer((json_int_t)r->verdict), &ok);
	if (r->success && r->verdict == DELIVERY_FORBID)
		put(rec, "reason", text_of(r->reason, DELIVERY_REASON_MAX), &ok);
	put(rec, "queue", queue_json(queue), &ok);
	put(rec, "decided_us", json_integer(delivery_now_us()), &ok);
	return append(j, rec, ok);
}

void journal_discard(struct journal *j)
{
	if (j->file.fd >= 0 && j->spare != NULL && j->spare->fd < 0 && !j->failed &&
	    spool_journal_reset(&j->file) == 0) {
		*j->spare = j->file;
		j->file.fd = -1;
		return;
	}
	spool_journal_discard(&j->file);
}

int journal_keep(struct journal *j)
{
	if (j->file.fd < 0 && !j->failed)
		return 0; /* nothing was written */
	if (j->file.fd >= 0 && spool_journal_keep(&j->file, j->error, sizeof j->error) != 0)
		j->failed = 1;
	return j->failed ? -1 : 0;
}

/* ---------------------------------------------------------------- reading back */

const char *journal_record_kind(json_t *record)
{
	const char *kind = json_string_value(json_object_get(record, "k"));
	if (kind != NULL && (strcmp(kind, "begin") == 0 || strcmp(kind, "end") == 0))
		return kind;
	return NULL;
}

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static long long num(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

int journal_records_match(json_t *begin, json_t *end)
{
	const char *a = str(begin, "delivery_id"), *b = str(end, "delivery_id");
	return a != NULL && b != NULL && strcmp(a, b) == 0 && num(begin, "attempt") == num(end, "attempt");
}

static enum delivery_trigger trigger_from(const char *name)
{
	if (name != NULL && strcmp(name, "retry") == 0)
		return DELIVERY_TRIGGER_RETRY;
	if (name != NULL && strcmp(name, "manual") == 0)
		return DELIVERY_TRIGGER_MANUAL;
	if (name != NULL && strcmp(name, "test") == 0)
		return DELIVERY_TRIGGER_TEST;
	return DELIVERY_TRIGGER_DISPATCH;
}

static long remaining_seconds(long long from_us, long delay, long long now_us)
{
	long long left = (from_us + (long long)delay * 1000000 - now_us) / 1000000;
	return left > 0 ? (long)left : 0;
}

/* Logs never free these: they point into the records (see journal_execution). */
static char *borrowed(json_t *obj, const char *key)
{
	return (char *)json_string_value(json_object_get(obj, key));
}

static void read_end(struct journal_execution *x, long long now_us)
{
	json_t *end = x->end;
	struct delivery_result *r = &x->result;
	r->success = json_is_true(json_object_get(end, "success"));
	r->http_status = (long)num(end, "http_status");
	json_t *exit_code = json_object_get(end, "exit_code");
	r->has_exit_code = json_is_integer(exit_code);
	r->exit_code = (int)json_integer_value(exit_code);
	r->started_us = num(end, "started_us");
	r->duration_us = num(end, "duration_us");
	r->request_headers = borrowed(end, "request_headers");
	r->response_body = borrowed(end, "response");
	r->response_len = r->response_body ? json_string_length(json_object_get(end, "response")) : 0;
	r->response_overflow = json_is_true(json_object_get(end, "response_truncated"));
	r->response_headers = borrowed(end, "response_headers");
	r->script_stderr = borrowed(end, "stderr");
	snprintf(r->error, sizeof r->error, "%s", str(end, "error") ? str(end, "error") : "");
	long long verdict = num(end, "verdict"); /* absent in older spools: unchanged */
	if (r->success && (verdict == DELIVERY_REPLACE || verdict == DELIVERY_FORBID))
		r->verdict = (enum delivery_verdict)verdict;
	snprintf(r->reason, sizeof r->reason, "%s", str(end, "reason") ? str(end, "reason") : "");
	json_t *q = json_object_get(end, "queue");
	const char *action = str(q, "action"), *outcome = str(q, "outcome");
	struct logstore_queue *lq = &x->entry.queue;
	for (size_t i = 0; action && i < sizeof queue_actions / sizeof queue_actions[0]; i++)
		if (strcmp(action, queue_actions[i]) == 0)
			lq->action = (enum logstore_queue_action)i;
	for (size_t i = 0; outcome && i < sizeof queue_outcomes / sizeof queue_outcomes[0]; i++)
		if (strcmp(outcome, queue_outcomes[i]) == 0)
			lq->outcome = (enum retryq_outcome)i;
	lq->delay_seconds = remaining_seconds(num(end, "decided_us"), (long)num(q, "delay"), now_us);
	lq->ordered = json_is_true(json_object_get(q, "ordered"));
	lq->behind = num(q, "behind") > 0 ? num(q, "behind") : 0;
}

/* No end record: the process died while the handler had the request. */
static void read_interrupted(struct journal_execution *x, long long now_us)
{
	struct delivery_result *r = &x->result;
	enum delivery_trigger trigger = x->entry.trigger;
	r->started_us = num(x->begin, "started_us");
	snprintf(
	    r->error, sizeof r->error,
	    "interrupted: the %s stopped during this delivery; the handler may or may not have received it",
	    trigger == DELIVERY_TRIGGER_RETRY ? "retry worker" : "dispatcher");
	json_t *retry = json_object_get(x->begin, "retry");
	struct retry_policy policy;
	char ignored[128];
	retry_policy_init(&policy, json_is_true(json_object_get(retry, "enabled")), str(retry, "schedule"),
	                  num(retry, "max_attempts"), ignored, sizeof ignored);
	long delay = 0;
	enum retry_action act =
	    retry_decide(&policy, 0, 0, -1, (int)x->entry.attempt, retry_jitter(), &delay);
	struct logstore_queue *q = &x->entry.queue;
	q->ordered = json_is_true(json_object_get(retry, "ordered")) && x->entry.has_object_id;
	if (trigger == DELIVERY_TRIGGER_RETRY) {
		q->action = LOGSTORE_QUEUE_FINISH;
		q->outcome = act == RETRY_AGAIN ? RETRYQ_RESCHEDULE : RETRYQ_EXHAUSTED;
	} else if (trigger == DELIVERY_TRIGGER_DISPATCH && act == RETRY_AGAIN) {
		q->action = LOGSTORE_QUEUE_ENQUEUE;
	}
	q->delay_seconds = remaining_seconds(r->started_us, delay, now_us);
}

/* The begin record as fresh input would be checked: anything in the spool
 * folder is read back, so a record the dispatcher could not have written is
 * refused, not logged. Returns the reason, or NULL when it is usable. */
static const char *begin_invalid(json_t *begin)
{
	const char *events_id = str(begin, "events_id"), *uid = str(begin, "event_uid");
	const char *delivery_id = str(begin, "delivery_id"), *trigger = str(begin, "trigger");
	const char *name = str(begin, "handler_name");
	json_t *object_id = json_object_get(begin, "object_id"), *attempt = json_object_get(begin, "attempt");
	json_t *handler_id = json_object_get(begin, "handler_id");
	if (events_id == NULL || events_find(events_id) == NULL)
		return "events_id is not an event of the catalog";
	if (uid == NULL || !dispatch_uid_valid(uid))
		return "event_uid is not a valid event id";
	if (delivery_id == NULL || !delivery_id_valid(delivery_id))
		return "delivery_id is not a delivery id";
	if (!json_is_integer(attempt) || json_integer_value(attempt) < 1 ||
	    json_integer_value(attempt) > HANDLER_ATTEMPTS_MAX + 1)
		return "attempt is out of range";
	if (trigger == NULL || (strcmp(trigger, "dispatch") != 0 && strcmp(trigger, "retry") != 0 &&
	                        strcmp(trigger, "manual") != 0))
		return "trigger is unknown";
	if (object_id != NULL && !json_is_null(object_id) &&
	    (!json_is_integer(object_id) || json_integer_value(object_id) < 0))
		return "object_id is not a non-negative integer or null";
	if (!json_is_integer(handler_id) || json_integer_value(handler_id) < 1)
		return "handler_id is not a positive integer";
	if (name == NULL || name[0] == '\0' || strlen(name) > HANDLER_NAME_BYTES)
		return "handler_name is missing or too long";
	if (str(begin, "request") == NULL)
		return "request is missing";
	return NULL;
}

int journal_execution_build(struct journal_execution *x, json_t *begin, json_t *end, long long now_us,
                            char *err, size_t errlen)
{
	memset(x, 0, sizeof *x);
	x->begin = begin;
	x->end = end;
	x->result.retry_after_s = -1;
	const char *invalid = begin_invalid(begin);
	if (invalid != NULL) {
		snprintf(err, errlen, "%s", invalid);
		return -1;
	}
	json_t *object_id = json_object_get(begin, "object_id");
	struct logstore_entry *e = &x->entry;
	e->events_id = str(begin, "events_id");
	e->event_uid = str(begin, "event_uid");
	e->has_object_id = json_is_integer(object_id);
	e->object_id = json_integer_value(object_id);
	e->handler_id = num(begin, "handler_id");
	e->handler_name = str(begin, "handler_name");
	e->delivery_id = str(begin, "delivery_id");
	e->attempt = (unsigned)num(begin, "attempt");
	e->trigger = trigger_from(str(begin, "trigger"));
	e->request_body = str(begin, "request");
	e->request_len = json_string_length(json_object_get(begin, "request"));
	e->result = &x->result;
	e->from_spool = 1;
	if (end != NULL)
		read_end(x, now_us);
	else
		read_interrupted(x, now_us);
	return 0;
}

void journal_execution_free(struct journal_execution *x)
{
	if (x == NULL)
		return;
	json_decref(x->begin);
	json_decref(x->end);
	memset(x, 0, sizeof *x);
}
