/* cache: the Cache Manager (SPEC section 6). Publishing builds a snapshot of
 * the enabled handlers as one generation, atomically; dispatchers run the
 * current generation from a local copy and fetch a new one only when the
 * current generation is another one, so they never read the handlers table
 * per event and keep working from the copy while MariaDB is down. A
 * generation is named by its number and a random id drawn when it is
 * published: numbers repeat when a database is re-created or restored from a
 * backup, the id does not. */
#ifndef PROV_CACHE_H
#define PROV_CACHE_H

#include "delivery.h"

#include <jansson.h>
#include <stddef.h>

struct config;
struct db;
struct db_rows;

/* A published handler. Strings are borrowed from the snapshot's JSON. */
struct cache_handler {
	long long id;
	const char *name;
	const char *events_id;
	const char *task;
	enum delivery_kind kind;
	long long priority;
	long timeout_ms;
	int retry_enabled;
	long long retry_max_attempts; /* -1: the default schedule's length */
	const char *retry_schedule;   /* NULL: the default schedule */
	int ordered;                  /* per-object order (dispatch_order.h); absent: 1 */
	const char *secret;           /* NULL: unsigned */
	enum delivery_scheme scheme;  /* "signature_scheme": "prov" (also when absent) or "standard" */
	const char *old_secret;       /* a rotation's old secret, NULL: none (or its window had ended) */
	long long old_secret_until;   /* unix seconds: old_secret signs until then */
};

#define CACHE_GENERATION_UID_LEN 32 /* 128 random bits as lowercase hex */

struct cache_snapshot {
	long long generation;                              /* 0: nothing published yet */
	char generation_uid[CACHE_GENERATION_UID_LEN + 1]; /* "" in a copy written before ids */
	char published_at[32];
	char published_by[72];
	long long handlers_version;
	size_t count;
	struct cache_handler *handlers; /* ordered by events_id, priority, id */
	json_t *root;                   /* owns the strings above */
};

enum cache_source { CACHE_FROM_LOCAL, CACHE_FROM_DATABASE, CACHE_NOTHING_PUBLISHED };

struct cache_publish_info {
	long long generation;
	char generation_uid[CACHE_GENERATION_UID_LEN + 1];
	long long handlers_version;
	size_t handler_count;
	char published_at[32];
};

/* Publish the enabled handlers as a new generation in one transaction and
 * record the run in the services row 'cache_manager'. by: who published.
 * Returns 0, or -1 with a one-line reason in err. */
int cache_publish(struct db *db, const char *by, struct cache_publish_info *info, char *err, size_t errlen);

/* The snapshot to run. db may be NULL (unreachable): the local copy at
 * cfg->cache_path is used. Returns the source, or -1 with a reason in err
 * when there is no snapshot to run at all. warning receives a one-line note
 * ("" when none), e.g. when the local copy could not be written. */
int cache_load(const struct config *cfg, struct db *db, struct cache_snapshot *snap, char *err, size_t errlen,
               char *warning, size_t warnlen);
void cache_snapshot_free(struct cache_snapshot *snap);

/* For a long-running caller that already holds snap (from cache_load): one
 * round trip for the current generation, and the new snapshot (also written
 * to the local copy) only when it is not the held one (number and id). The held snapshot stays in use,
 * with a warning, when the database cannot answer. Same returns as cache_load;
 * CACHE_FROM_LOCAL means "the held one". With cfg NULL and a zeroed snap it
 * reads the published set and keeps no local copy: the panel and the API run
 * as another user and must not write the dispatcher's cache_path. */
int cache_refresh(const struct config *cfg, struct db *db, struct cache_snapshot *snap, char *err,
                  size_t errlen, char *warning, size_t warnlen);

/* What delivery needs of a published handler (strings borrowed from h). */
struct delivery_handler cache_delivery_handler(const struct cache_handler *h);

/* The published handlers of one event, in run order: *first is an index
 * into snap->handlers; returns how many follow it. */
size_t cache_select(const struct cache_snapshot *snap, const char *events_id, size_t *first);

/* Parse the local copy's JSON (an object with generation, generation_uid,
 * published_at, published_by, handlers_version and the handlers array). */
int cache_snapshot_parse(const char *text, size_t len, struct cache_snapshot *snap, char *err, size_t errlen);
/* Write text to path atomically: a temporary file in the same folder,
 * fsync, rename. Mode 0600: the snapshot holds signing secrets. */
int cache_write_file(const char *path, const char *text, size_t len, char *err, size_t errlen);

/* What the Task Scheduler and `prov-cache show` display. */
struct cache_status {
	long long generation; /* 0: never published */
	char generation_uid[CACHE_GENERATION_UID_LEN + 1];
	char published_at[32];
	char published_by[72];
	long long handler_count;
	long long handlers_version;           /* current, bumped by every edit */
	long long published_handlers_version; /* the one the generation holds */
	int pending;                          /* edits not yet published */
};
int cache_status_read(struct db *db, struct cache_status *status);

/* ---------------------------------------------------------------- preview, rollback (issue #16) */

/* What differs between two snapshot arrays (cache_diff.c, pure): an object
 * {"added":[...], "changed":[...], "removed":[...], "added_count":N, ...},
 * each entry {id, name, events_id} and, when changed, "changes" (history.h's
 * field list; secrets only as "changed"). At most cap entries per list; the
 * counts count all. New reference, NULL when out of memory. */
json_t *cache_diff(const json_t *published, const json_t *next, size_t cap);

#define CACHE_DIFF_CAP 200 /* entries per list kept in a history row or shown */

/* What a restart would publish against the current generation (nothing
 * published: everything is added). *diff: cache_diff's object. 0 or -1 (err). */
int cache_preview(struct db *db, json_t **diff, char *err, size_t errlen);

/* What publishing generation's snapshot again would change against the
 * current one. 0, 1 when that generation is not kept, -1 (err). */
int cache_rollback_preview(struct db *db, long long generation, json_t **diff, char *err, size_t errlen);

/* Publish the snapshot of an earlier generation again, as a new generation
 * (a new number and id: dispatchers fetch it as any publish). It keeps that
 * generation's handlers_version, so the panel shows edits made since as
 * pending; a later restart publishes the handlers table again. Recorded in
 * the history. 0, 1 when that generation is not kept (purged, or never
 * was), -1 (err). */
int cache_rollback(struct db *db, const char *by, long long generation, struct cache_publish_info *info,
                   char *err, size_t errlen);

/* The kept generations, newest first, at most limit: generation,
 * published_at, published_by, handler_count, current (1/0). */
int cache_generations_list(struct db *db, long limit, struct db_rows *rows);

#endif
