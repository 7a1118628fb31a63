/* dispatch: the handler chain of one event and the result returned to billing. */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dispatch_event_init(struct dispatch_event *event, const char *events_id, const char *uid)
{
	memset(event, 0, sizeof *event);
	event->events_id = events_id;
	event->dt_us = delivery_now_us();
	if (uid == NULL)
		return delivery_new_id(event->uid);
	size_t len = strlen(uid);
	if (len == 0 || len > DISPATCH_UID_MAX ||
	    strspn(uid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") != len)
		return -1;
	memcpy(event->uid, uid, len + 1);
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
	struct delivery_handler dh = {.id = h->id,
	                              .name = h->name,
	                              .kind = h->kind,
	                              .task = h->task,
	                              .timeout_ms = h->timeout_ms,
	                              .secret = h->secret};
	struct delivery_request req = {.handler = &dh,
	                               .events_id = event->events_id,
	                               .event_uid = event->uid,
	                               .delivery_id = step->delivery_id,
	                               .attempt = 1,
	                               .trigger = DELIVERY_TRIGGER_DISPATCH,
	                               .body = step->request_body,
	                               .body_len = step->request_len};
	if (deliver(ctx, &req, &step->result) != 0 || !step->result.success)
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
	for (size_t i = 0; i < n && !out->forbidden; i++)
		if (run_step(event, out, &handlers[i], deliver, ctx) != 0)
			return -1;
	return 0;
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
	rc |= json_object_set_new(s, "status", json_string(r->success ? "success" : "fail"));
	rc |= json_object_set_new(s, "verdict", r->success ? json_string(verdicts[r->verdict]) : json_null());
	rc |= json_object_set_new(s, "duration_ms", json_real((double)r->duration_us / 1000.0));
	rc |= json_object_set_new(s, "http_status",
	                          r->http_status ? json_integer(r->http_status) : json_null());
	rc |=
	    json_object_set_new(s, "exit_code", r->has_exit_code ? json_integer(r->exit_code) : json_null());
	rc |= json_object_set_new(s, "error", r->success ? json_null() : json_string(r->error));
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
