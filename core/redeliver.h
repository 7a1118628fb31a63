/* redeliver: the Execution Log's Redeliver action (SPEC 4.3): run the logged
 * execution's handler again, now, with the logged envelope and the same
 * delivery id, through the one delivery path, and log it as trigger "manual"
 * linked to the original row. Used by the panel and the JSON API. */
#ifndef PROV_REDELIVER_H
#define PROV_REDELIVER_H

#include <stddef.h>

struct config;
struct db;

enum redeliver_status {
	REDELIVER_DONE,          /* ran and logged: see success / new_log_id */
	REDELIVER_NOT_FOUND,     /* no log row with that id */
	REDELIVER_NOT_PUBLISHED, /* the handler is not in the published set any more */
	REDELIVER_ERROR,         /* database or internal error: err says what (for logs) */
	REDELIVER_QUEUED,        /* a script handler: handed to the retry worker (out->request_id) */
};

/* Where a redelivery may run. A script handler runs as the user of the
 * process that runs it: never the web server's (it can read the config),
 * always the dispatcher's; the panel and the API queue it for prov-worker. */
enum redeliver_where {
	REDELIVER_HERE,           /* run any handler in this process (prov-worker) */
	REDELIVER_HERE_HTTP_ONLY, /* HTTP here, scripts queued (the panel, the API) */
};

struct redeliver_outcome {
	int success;          /* the new execution succeeded */
	long long new_log_id; /* the row logged for it */
	unsigned attempt;
	char error[512];      /* the new execution's error, "" on success */
	long long request_id; /* REDELIVER_QUEUED: its redeliver_queue row */
};

enum redeliver_status redeliver_log(struct db *db, const struct config *cfg, long long log_id,
                                    enum redeliver_where where, struct redeliver_outcome *out, char *err,
                                    size_t errlen);

/* redeliver_log with a published snapshot the caller holds (and refreshes,
 * cache_refresh): a bulk redelivery runs thousands with one. */
struct cache_snapshot;
enum redeliver_status redeliver_log_with(struct db *db, const struct config *cfg,
                                         const struct cache_snapshot *snap, long long log_id,
                                         enum redeliver_where where, struct redeliver_outcome *out, char *err,
                                         size_t errlen);

/* prov-worker: run the queued redeliveries (each claimed by one worker, run
 * at most once: one whose worker died stays "running"; Redeliver again).
 * *ran counts them. 0, or -1 on a database error (err). */
int redeliver_run_queued(struct db *db, const struct config *cfg, const char *worker_id, long *ran, char *err,
                         size_t errlen);

#endif
