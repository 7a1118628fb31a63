/* dispatch: one event through its handler chain (SPEC section 5): priority
 * order, each reply may replace the data for the next handlers, a forbid
 * stops the chain, a failure is recorded and the chain goes on. The chain
 * delivers through a callback (delivery_run in production, a fake in tests). */
#ifndef PROV_DISPATCH_H
#define PROV_DISPATCH_H

#include "cache.h"
#include "delivery.h"

#include <jansson.h>

#define DISPATCH_UID_MAX 64
#define DISPATCH_SKIPPED_MAX 1024 /* exec_logs.skipped_handlers */

struct dispatch_event {
	const char *events_id;
	char uid[DISPATCH_UID_MAX + 1];
	int has_object_id;
	long long object_id;
	long long dt_us; /* when the event was raised (wall clock) */
};

/* One handler execution of the chain. */
struct dispatch_step {
	const struct cache_handler *handler;
	char delivery_id[DELIVERY_ID_LEN + 1];
	char *request_body; /* the envelope sent, owned */
	size_t request_len;
	struct delivery_result result;
	/* Per-object order: not delivered, queued behind an earlier delivery of
	 * the same object to this handler (behind: that execution's log id, 0
	 * unknown); the chain goes on without it, as after a failure. */
	int held;
	long long behind;
};

struct dispatch_outcome {
	int stopped; /* a delivery was refused: the steps after it did not run */
	int forbidden;
	long long forbidden_by; /* handler id */
	char reason[DELIVERY_REASON_MAX];
	/* The handlers the forbid kept from running, in chain order: "3,7"
	 * ("": none); whole ids only, as many as DISPATCH_SKIPPED_MAX holds. */
	char skipped[DISPATCH_SKIPPED_MAX];
	json_t *data; /* the final data, owned */
	struct dispatch_step *steps;
	size_t nsteps;
};

/* Deliver one request. Returns 0 (out holds the outcome, success or not),
 * or DISPATCH_DELIVER_REFUSED when it was not sent and nothing may be: the
 * step is dropped and the chain stops (outcome->stopped). */
#define DISPATCH_DELIVER_REFUSED 1
/* Or DISPATCH_DELIVER_HELD: held back for per-object order (journaled, to be
 * logged 'waiting'): the step stays, marked held, and the chain goes on. */
#define DISPATCH_DELIVER_HELD 2
typedef int (*dispatch_deliver_fn)(void *ctx, const struct delivery_request *req,
                                   struct delivery_result *out);

/* An event id as billing may give it: 1-64 characters of [A-Za-z0-9._:-]. */
int dispatch_uid_valid(const char *uid);
/* Fill event->uid (a new UUID unless uid is given) and event->dt_us.
 * Returns -1 when uid is not valid (dispatch_uid_valid). */
int dispatch_event_init(struct dispatch_event *event, const char *events_id, const char *uid);

/* Run the n handlers (in order) for event with data, which the outcome takes
 * over. Returns 0, or -1 when out of memory (out is still freeable). */
int dispatch_run(const struct dispatch_event *event, json_t *data, const struct cache_handler *handlers,
                 size_t n, dispatch_deliver_fn deliver, void *ctx, struct dispatch_outcome *out);
void dispatch_outcome_free(struct dispatch_outcome *out);

/* The ids of n handlers as "3,7" into out (whole ids only, as many as fit). */
void dispatch_skipped_list(const struct cache_handler *handlers, size_t n, char *out, size_t outlen);

/* Read one batch-mode envelope (SPEC 5), the shape handlers receive:
 * {"event":{"events_id":"clients.update","id":"<uid>","dt":"<ISO-8601 UTC>",
 *  "object_id":12},"data":{...}}; id, dt and object_id may be left out (a new
 * UUID, now, none). Fills event (events_id points into the event catalog)
 * and *data (a new reference to the data object). Returns 0, or -1 with a
 * one-line reason in err; nothing is returned to free then. */
int dispatch_envelope_read(json_t *envelope, struct dispatch_event *event, json_t **data, char *err,
                           size_t errlen);

/* "2024-05-01T12:00:00Z" or with 1-6 fraction digits, UTC only, into
 * microseconds since the epoch. Returns 0, or -1 when it is not that. */
int dispatch_parse_dt(const char *text, long long *us);

/* {"event":{"id","dt","events_id","object_id"},"data":data} (new reference). */
json_t *dispatch_envelope(const struct dispatch_event *event, json_t *data);

/* The dispatcher's answer to billing: event, verdict, reason, final data,
 * generation, one entry per execution, and whether the log was written. */
json_t *dispatch_result_json(const struct dispatch_event *event, const struct dispatch_outcome *out,
                             long long generation, int logged);

#endif
