/* bulk: bulk recovery (issue #16). "Redeliver the failed executions of a
 * handler (or of an Execution Logs filter) since a time": the panel, the API
 * and prov-admin ask for it (bulk_request), prov-worker runs it (bulk_run).
 *
 * What is redelivered: executions that failed and are the last of their
 * delivery (a delivery a retry or a redelivery already succeeded or tried
 * again is left out), logged in [since, until) and no later than the newest
 * log row when it was asked for.
 *
 * Guarantees, each held by the database:
 * - at most once per request: one item row per (request, execution), the
 *   primary key; an item is claimed ('running', committed) before it is
 *   delivered, and a claimed item is never delivered again (one whose
 *   worker died is failed after BULK_STALE_MINUTES);
 * - a second identical request while the first is pending is the first:
 *   bulk_redeliveries.pending_key (the filter's digest) is unique while the
 *   request is pending; and no execution is queued by two pending requests
 *   (bulk_redelivery_items.active_log_id is unique while an item waits);
 * - per-object order: items are claimed in log id order, and an item waits
 *   while an earlier one of the same (handler, object) is running;
 * - bounded: the worker selects the executions in chunks of BULK_CHUNK, each
 *   its own transaction, reading the log with a keyset on (dt, id). */
#ifndef PROV_BULK_H
#define PROV_BULK_H

#include <signal.h>
#include <stddef.h>

struct config;
struct db;
struct db_rows;
struct logs_input;

#define BULK_CHUNK 500
#define BULK_CLAIM 20
#define BULK_STALE_MINUTES 15
#define BULK_PER_PASS                                                                                        \
	1000 /* items a prov-worker pass delivers at most (then its retries come first again)                \
	      */

struct bulk_filter {
	long long handler_id; /* 0: any */
	char events_id[65];   /* "": any */
	char since[32];       /* inclusive, "YYYY-MM-DD HH:MM:SS[.ffffff]" UTC */
	char until[32];       /* exclusive */
	char since_text[32];  /* as typed, for echoing */
	char until_text[32];
};

/* The Execution Logs' filter as a bulk filter: handler, event, from (required:
 * "since"), to; the status must be empty or "fail" and the text search empty.
 * 0, or -1 with one line in msg naming what is wrong. */
int bulk_filter_from_logs(const struct logs_input *in, struct bulk_filter *f, char *msg, size_t msglen);

/* The newest execution log id (what a request is bounded by). */
long long bulk_max_log_id(struct db *db);
/* How many executions a request with f and max_log_id would redeliver now. */
int bulk_count(struct db *db, const struct bulk_filter *f, long long max_log_id, long long *count);
/* The same, counting at most cap, for at most BULK_OFFER_COUNT_SECONDS (a
 * page that offers a bulk costs a bounded read): 0, 1 when the time ran out
 * (the number is unknown; the confirmation counts it), -1 on an error. */
#define BULK_OFFER_COUNT_SECONDS "0.03"
int bulk_count_capped(struct db *db, const struct bulk_filter *f, long long max_log_id, long long cap,
                      long long *count);
#define BULK_OFFER_COUNT_MAX 10000

enum bulk_submit { BULK_CREATED, BULK_EXISTING, BULK_ERROR };
/* Ask for a bulk redelivery (the worker selects and runs it). expected: N as
 * stated to the operator. *id: the new request, or the pending identical one
 * (BULK_EXISTING). by: who asked (kept with it). */
enum bulk_submit bulk_request(struct db *db, const struct bulk_filter *f, long long max_log_id,
                              long long expected, const char *by, long long *id);

struct bulk_progress {
	long long id;
	char state[16]; /* selecting, running, done */
	long long handler_id;
	char events_id[65];
	char since[32], until[32];
	long long max_log_id, expected, total, skipped;
	long long queued, running, delivered, failed;
	char requested_by[256];
	char created_at[32], finished_at[32];
};
/* 1 and p filled, 0 when there is no such request, -1 on error. */
int bulk_get(struct db *db, long long id, struct bulk_progress *p);
/* Failed items of a request, at most limit, by log id: log_id, new_log_id, error. */
int bulk_failures(struct db *db, long long id, long limit, struct db_rows *rows);

struct bulk_stats {
	long selected; /* items queued by selection this pass */
	long delivered;
	long failed;
	long finished; /* requests that ended */
};
/* prov-worker: advance the selection of requests, then deliver up to
 * max_items claimed items (stop: checked between deliveries). 0 or -1 (err). */
int bulk_run(struct db *db, const struct config *cfg, const char *worker_id, volatile sig_atomic_t *stop,
             long max_items, struct bulk_stats *st, char *err, size_t errlen);

#endif
