/* dispatch: the handler chain of one event and the result returned to billing. */
#include "dispatch.h"

#include "events.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int dispatch_uid_valid(const char *uid)
{
	size_t len = strlen(uid);
	return len > 0 && len <= DISPATCH_UID_MAX &&
	       strspn(uid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") == len;
}

int dispatch_event_init(struct dispatch_event *event, const char *events_id, const char *uid)
{
	memset(event, 0, sizeof *event);
	event->events_id = events_id;
	event->dt_us = delivery_now_us();
	if (uid == NULL)
		return delivery_new_id(event->uid);
	if (!dispatch_uid_valid(uid))
		return -1;
	memcpy(event->uid, uid, strlen(uid) + 1);
	return 0;
}

static int two_digits(const char *s, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

int dispatch_parse_dt(const char *text, long long *us)
{
	/* YYYY-MM-DDTHH:MM:SS, then optionally .F{1,6}, then Z */
	int century, year2, month, day, hour, minute, second;
	size_t len = strlen(text);
	if (len < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
	    text[16] != ':' || two_digits(text, &century) != 0 || two_digits(text + 2, &year2) != 0 ||
	    two_digits(text + 5, &month) != 0 || two_digits(text + 8, &day) != 0 ||
	    two_digits(text + 11, &hour) != 0 || two_digits(text + 14, &minute) != 0 ||
	    two_digits(text + 17, &second) != 0)
		return -1;
	long long fraction = 0;
	size_t i = 19, digits = 0;
	if (text[i] == '.') {
		for (i++; text[i] >= '0' && text[i] <= '9' && digits < 6; i++, digits++)
			fraction = fraction * 10 + (text[i] - '0');
		if (digits == 0)
			return -1;
		for (size_t d = digits; d < 6; d++)
			fraction *= 10;
	}
	if (text[i] != 'Z' || text[i + 1] != '\0')
		return -1;
	static const int days_in[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int year = century * 100 + year2;
	if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in[month - 1] || hour > 23 ||
	    minute > 59 || second > 59)
		return -1;
	struct tm tm = {.tm_year = year - 1900,
	                .tm_mon = month - 1,
	                .tm_mday = day,
	                .tm_hour = hour,
	                .tm_min = minute,
	                .tm_sec = second};
	time_t secs = timegm(&tm);
	if (secs == (time_t)-1 || tm.tm_mday != day) /* Feb 29 of a common year rolls over */
		return -1;
	*us = (long long)secs * 1000000 + fraction;
	return 0;
}

/* The "event" member of an envelope into event. */
static int read_event_header(json_t *ev, struct dispatch_event *event, char *err, size_t errlen)
{
	const char *key;
	json_t *value;
	json_object_foreach(ev, key, value)
	{
		if (strcmp(key, "events_id") != 0 && strcmp(key, "id") != 0 && strcmp(key, "dt") != 0 &&
		    strcmp(key, "object_id") != 0) {
			snprintf(err, errlen,
			         "unknown member \"event.%.*s\" (expected events_id, id, dt, object_id)",
			         (int)utf8_prefix(key, 64), key);
			return -1;
		}
	}
	json_t *events_id = json_object_get(ev, "events_id");
	json_t *id = json_object_get(ev, "id");
	json_t *dt = json_object_get(ev, "dt");
	json_t *object_id = json_object_get(ev, "object_id");
	const struct event_def *def =
	    json_is_string(events_id) ? events_find(json_string_value(events_id)) : NULL;
	if (!json_is_string(events_id)) {
		snprintf(err, errlen, "\"event.events_id\" is missing or not a string");
		return -1;
	}
	if (def == NULL) {
		snprintf(err, errlen, "unknown event '%.*s'; valid events: %s",
		         (int)utf8_prefix(json_string_value(events_id), 64), json_string_value(events_id),
		         events_valid_list());
		return -1;
	}
	if (id != NULL && !json_is_null(id) && !json_is_string(id)) {
		snprintf(err, errlen, "\"event.id\" must be a string");
		return -1;
	}
	if (dispatch_event_init(event, def->id, json_is_string(id) ? json_string_value(id) : NULL) != 0) {
		snprintf(err, errlen, "\"event.id\" must be 1-64 characters of A-Z a-z 0-9 . _ : -");
		return -1;
	}
	if (dt != NULL && !json_is_null(dt) &&
	    (!json_is_string(dt) || dispatch_parse_dt(json_string_value(dt), &event->dt_us) != 0)) {
		snprintf(err, errlen,
		         "\"event.dt\" must be an ISO-8601 UTC time such as 2024-05-01T12:00:00.000Z");
		return -1;
	}
	if (object_id != NULL && !json_is_null(object_id)) {
		if (!json_is_integer(object_id) || json_integer_value(object_id) < 0) {
			snprintf(err, errlen, "\"event.object_id\" must be a non-negative integer or null");
			return -1;
		}
		event->has_object_id = 1;
		event->object_id = json_integer_value(object_id);
	}
	return 0;
}

int dispatch_envelope_read(json_t *envelope, struct dispatch_event *event, json_t **data, char *err,
                           size_t errlen)
{
	*data = NULL;
	if (!json_is_object(envelope)) {
		snprintf(err, errlen, "the line must be a JSON object {\"event\":{...},\"data\":{...}}");
		return -1;
	}
	const char *key;
	json_t *value;
	json_object_foreach(envelope, key, value)
	{
		if (strcmp(key, "event") != 0 && strcmp(key, "data") != 0) {
			snprintf(err, errlen, "unknown member \"%.*s\" (expected event and data)",
			         (int)utf8_prefix(key, 64), key);
			return -1;
		}
	}
	json_t *ev = json_object_get(envelope, "event");
	json_t *payload = json_object_get(envelope, "data");
	if (!json_is_object(ev)) {
		snprintf(err, errlen, "\"event\" is missing or not an object");
		return -1;
	}
	if (read_event_header(ev, event, err, errlen) != 0)
		return -1;
	if (!json_is_object(payload)) {
		snprintf(err, errlen, "\"data\" is missing or not a JSON object");
		return -1;
	}
	*data = json_incref(payload);
	return 0;
}

json_t *dispatch_envelope(const struct dispatch_event *event, json_t *data)
{
	char dt[40];
	delivery_time_text(event->dt_us, 1, dt, sizeof dt);
	json_t *ev = json_object();
	json_t *envelope = json_object();
	if (ev == NULL || envelope == NULL) {
		json_decref(ev);
		json_decref(envelope);
		return NULL;
	}
	int rc = 0;
	rc |= json_object_set_new(ev, "id", json_string(event->uid));
	rc |= json_object_set_new(ev, "dt", json_string(dt));
	rc |= json_object_set_new(ev, "events_id", json_string(event->events_id));
	rc |= json_object_set_new(ev, "object_id",
	                          event->has_object_id ? json_integer(event->object_id) : json_null());
	rc |= json_object_set_new(envelope, "event", ev);
	rc |= json_object_set(envelope, "data", data);
	if (rc != 0) {
		json_decref(envelope);
		return NULL;
	}
	return envelope;
}

/* Run one step; returns 0, or -1 when out of memory. */
static int run_step(const struct dispatch_event *event, struct dispatch_outcome *out,
                    const struct cache_handler *h, dispatch_deliver_fn deliver, void *ctx)
{
	struct dispatch_step *step = &out->steps[out->nsteps];
	step->handler = h;
	json_t *envelope = dispatch_envelope(event, out->data);
	step->request_body = envelope ? json_dumps(envelope, JSON_COMPACT) : NULL;
	json_decref(envelope);
	if (step->request_body == NULL || delivery_new_id(step->delivery_id) != 0)
		return -1;
	step->request_len = strlen(step->request_body);
	out->nsteps++;
	struct delivery_handler dh = cache_delivery_handler(h);
	struct delivery_request req = {.handler = &dh,
	                               .events_id = event->events_id,
	                               .event_uid = event->uid,
	                               .delivery_id = step->delivery_id,
	                               .attempt = 1,
	                               .trigger = DELIVERY_TRIGGER_DISPATCH,
	                               .body = step->request_body,
	                               .body_len = step->request_len};
	int rc = deliver(ctx, &req, &step->result);
	if (rc == DISPATCH_DELIVER_REFUSED) {
		out->nsteps--; /* never sent: not an execution */
		free(step->request_body);
		delivery_result_free(&step->result);
		memset(step, 0, sizeof *step);
		out->stopped = 1;
		return 0;
	}
	if (rc == DISPATCH_DELIVER_HELD) {
		step->held = 1; /* it cannot change or forbid this event: it gets it later */
		return 0;
	}
	if (rc != 0 || !step->result.success)
		return 0; /* a failure is logged; the chain goes on */
	if (step->result.verdict == DELIVERY_FORBID) {
		out->forbidden = 1;
		out->forbidden_by = h->id;
		if (step->result.reason[0] != '\0')
			snprintf(out->reason, sizeof out->reason, "%s", step->result.reason);
		else
			snprintf(out->reason, sizeof out->reason, "forbidden by handler %lld", h->id);
	} else if (step->result.verdict == DELIVERY_REPLACE && json_equal(step->result.data, out->data)) {
		step->result.verdict = DELIVERY_UNCHANGED; /* an echo */
	} else if (step->result.verdict == DELIVERY_REPLACE) {
		json_decref(out->data);
		out->data = json_incref(step->result.data);
	}
	return 0;
}

int dispatch_run(const struct dispatch_event *event, json_t *data, const struct cache_handler *handlers,
                 size_t n, dispatch_deliver_fn deliver, void *ctx, struct dispatch_outcome *out)
{
	memset(out, 0, sizeof *out);
	out->data = data;
	out->steps = calloc(n ? n : 1, sizeof *out->steps);
	if (out->steps == NULL)
		return -1;
	size_t i = 0;
	for (; i < n && !out->forbidden && !out->stopped; i++)
		if (run_step(event, out, &handlers[i], deliver, ctx) != 0)
			return -1;
	if (out->forbidden)
		dispatch_skipped_list(handlers + i, n - i, out->skipped, sizeof out->skipped);
	return 0;
}

void dispatch_skipped_list(const struct cache_handler *handlers, size_t n, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char id[32];
		int len = snprintf(id, sizeof id, "%s%lld", used ? "," : "", handlers[i].id);
		if (len < 0 || used + (size_t)len + 1 > outlen)
			break; /* whole ids only; ~50 of them fit, far more than a chain holds */
		memcpy(out + used, id, (size_t)len + 1);
		used += (size_t)len;
	}
}

void dispatch_outcome_free(struct dispatch_outcome *out)
{
	if (out == NULL)
		return;
	for (size_t i = 0; i < out->nsteps; i++) {
		free(out->steps[i].request_body);
		delivery_result_free(&out->steps[i].result);
	}
	free(out->steps);
	json_decref(out->data);
	memset(out, 0, sizeof *out);
}

static json_t *step_json(const struct dispatch_step *step)
{
	const struct delivery_result *r = &step->result;
	json_t *s = json_object();
	if (s == NULL)
		return NULL;
	static const char *const verdicts[] = {[DELIVERY_UNCHANGED] = "unchanged",
	                                       [DELIVERY_REPLACE] = "replaced",
	                                       [DELIVERY_FORBID] = "forbid"};
	int rc = 0;
	rc |= json_object_set_new(s, "id", json_integer(step->handler->id));
	rc |= json_object_set_new(s, "name", json_string(step->handler->name));
	rc |= json_object_set_new(s, "status",
	                          json_string(step->held   ? "waiting"
	                                      : r->success ? "success"
	                                                   : "fail"));
	if (step->held)
		rc |= json_object_set_new(s, "behind",
		                          step->behind > 0 ? json_integer(step->behind) : json_null());
	rc |= json_object_set_new(s, "verdict", r->success ? json_string(verdicts[r->verdict]) : json_null());
	rc |= json_object_set_new(s, "duration_ms", json_real((double)r->duration_us / 1000.0));
	rc |= json_object_set_new(s, "http_status",
	                          r->http_status ? json_integer(r->http_status) : json_null());
	rc |=
	    json_object_set_new(s, "exit_code", r->has_exit_code ? json_integer(r->exit_code) : json_null());
	rc |= json_object_set_new(s, "error", r->success || step->held ? json_null() : json_string(r->error));
	rc |= json_object_set_new(s, "delivery_id", json_string(step->delivery_id));
	if (rc != 0) {
		json_decref(s);
		return NULL;
	}
	return s;
}

json_t *dispatch_result_json(const struct dispatch_event *event, const struct dispatch_outcome *out,
                             long long generation, int logged)
{
	json_t *result = dispatch_envelope(event, out->data);
	json_t *steps = json_array();
	if (result == NULL || steps == NULL) {
		json_decref(result);
		json_decref(steps);
		return NULL;
	}
	int rc = 0;
	rc |= json_object_set_new(result, "verdict", json_string(out->forbidden ? "forbid" : "allow"));
	rc |= json_object_set_new(result, "reason", out->forbidden ? json_string(out->reason) : json_null());
	rc |= json_object_set_new(result, "forbidden_by",
	                          out->forbidden ? json_integer(out->forbidden_by) : json_null());
	rc |= json_object_set_new(result, "generation", json_integer(generation));
	rc |= json_object_set_new(result, "logged", json_boolean(logged));
	for (size_t i = 0; i < out->nsteps; i++)
		rc |= json_array_append_new(steps, step_json(&out->steps[i]));
	rc |= json_object_set_new(result, "handlers", steps);
	if (rc != 0) {
		json_decref(result);
		return NULL;
	}
	return result;
}
