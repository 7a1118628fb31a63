/* handler_test_queue: the Send test of a script handler asked for in the
 * panel or the API (issue #16). The web server never runs a script (it runs
 * as another user, one that can read the configuration): it queues the
 * handler as it stands in the form or the body with the test payload, and
 * prov-worker runs it as the dispatcher's user through handler_test_run (the
 * same path as `prov-admin handlers test`), at most once, and keeps the
 * result the API's 200 answer would have had. The table: handler_test_queue
 * (schema.sql); retention (core/retention.c) removes rows a day old. */
#ifndef PROV_HANDLER_TEST_QUEUE_H
#define PROV_HANDLER_TEST_QUEUE_H

#include "handlers.h"
#include "retryq.h"

#include <jansson.h>
#include <signal.h>
#include <stddef.h>

struct config;
struct db;

#define HANDLER_TEST_QUEUE_MAX 20     /* tests waiting at once; the next is refused */
#define HANDLER_TEST_STALE_MINUTES 15 /* one waiting longer is never run */
#define HANDLER_TEST_STALE_SECONDS (60 * HANDLER_TEST_STALE_MINUTES)
#define HANDLER_TEST_WORKER_QUIET_SECONDS 120 /* a worker passes every few seconds */
#define HANDLER_TEST_KEEP_HOURS 24            /* retention: rows this old go, whatever their state */
/* A claimed test runs at most HANDLER_TEST_TIMEOUT_MAX_MS; one still running
 * this long after its claim was left by a worker that stopped. */
#define HANDLER_TEST_RUNNING_LOST_SECONDS 70

enum handler_test_queued {
	HANDLER_TEST_QUEUED,       /* *id: its row */
	HANDLER_TEST_QUEUE_FULL,   /* err: one line for people */
	HANDLER_TEST_QUEUE_FAILED, /* database error: err (for logs) */
};

/* Queue a test of the script handler h (validated; h->id 0: unsaved) with
 * data (a JSON object), asked for by requested_by. */
enum handler_test_queued handler_test_queue_add(struct db *db, const struct handler *h, json_t *data,
                                                const char *requested_by, long long *id, char *err,
                                                size_t errlen);

struct handler_test_request {
	long long id;
	char state[8];           /* queued, running, done */
	char requested_by[1024]; /* VARCHAR(255) of utf8mb4 */
	char created_at[32];     /* "YYYY-MM-DD HH:MM:SS" UTC */
	long long handler_id;    /* 0: unsaved */
	char handler_name[HANDLER_NAME_BYTES + 1];
	char events_id[HANDLER_EVENT_MAX + 1];
	char task[HANDLER_TASK_MAX + 1];
	long timeout_ms;
	char claimed_by[RETRYQ_WORKER_ID_MAX + 1]; /* "" until claimed */
	long long log_id;                          /* 0: none */
	char error[1024];                          /* done without a result: why */
	json_t *result;                            /* done: handler_test_json's object, owned */
	long long worker_age_seconds;              /* the retry worker's last pass; -1: never */
	int waiting;                               /* a worker is expected to run or finish it */
	char notice[512];                          /* one line when there is something to say */
};

/* Read test id. 1 found, 0 none, -1 database error (db_error). Free with
 * handler_test_request_free. */
int handler_test_queue_get(struct db *db, long long id, struct handler_test_request *out);
void handler_test_request_free(struct handler_test_request *r);

/* prov-worker: claim the queued tests oldest first, one at a time (FOR UPDATE
 * SKIP LOCKED: any number of workers, each test run by one), and run each as
 * this process's user; one that waited past HANDLER_TEST_STALE_SECONDS is
 * marked not run instead. At most HANDLER_TEST_QUEUE_MAX run per call; stops
 * between tests when *stop becomes non-zero. *ran counts the tests run. 0, or
 * -1 on a database error (err); a test whose worker failed there stays
 * "running" (its page says so after HANDLER_TEST_RUNNING_LOST_SECONDS). */
int handler_test_queue_run(struct db *db, const struct config *cfg, const char *worker_id,
                           volatile sig_atomic_t *stop, long *ran, char *err, size_t errlen);

#endif
