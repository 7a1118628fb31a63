/* cache: publishing handler snapshots (cache_generations + cache_state) and
 * loading the current one for a dispatcher, through its local copy. */
#include "cache.h"

#include "auth.h"
#include "config.h"
#include "db.h"
#include "history.h"
#include "scheduler.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Locking the one state row serialises publishers, and an edit that bumps
 * handlers_version in its own transaction waits for us: the version stored
 * with a generation is exactly the one its snapshot reflects. */
static const char SQL_LOCK_STATE[] = "SELECT handlers_version FROM cache_state WHERE id = 1 FOR UPDATE";
static const char SQL_ENABLED_HANDLERS[] =
    "SELECT id, name, events_id, task, task_type, priority, timeout_ms, retry_enabled, "
    "retry_max_attempts, retry_schedule, secret, signature_scheme, "
    /* A rotation's old secret only while its window lasts, its end in unix
     * seconds whatever the session's time zone. */
    "IF(old_secret_until > UTC_TIMESTAMP(), old_secret, NULL), "
    "IF(old_secret_until > UTC_TIMESTAMP(), TIMESTAMPDIFF(SECOND, '1970-01-01', old_secret_until), NULL), "
    "ordered FROM handlers WHERE status = 'enabled' ORDER BY events_id, priority, id";
static const char SQL_INSERT_GENERATION[] =
    "INSERT INTO cache_generations (generation_uid, published_at, published_by, handlers_version, "
    "handler_count, snapshot) VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_CURRENT_SNAPSHOT[] =
    "SELECT g.generation, g.snapshot, g.handlers_version FROM cache_state s "
    "JOIN cache_generations g ON g.generation = s.generation WHERE s.id = 1";
static const char SQL_GENERATION_SNAPSHOT[] =
    "SELECT generation, snapshot, handlers_version FROM cache_generations WHERE generation = ?";
static const char SQL_GENERATIONS[] =
    "SELECT g.generation, DATE_FORMAT(g.published_at, '%Y-%m-%d %H:%i:%s'), g.published_by, g.handler_count, "
    "g.generation = COALESCE((SELECT generation FROM cache_state WHERE id = 1), 0) "
    "FROM cache_generations g ORDER BY g.generation DESC LIMIT ?";
static const char SQL_POINT_STATE[] = "UPDATE cache_state SET generation = ? WHERE id = 1";
/* One indexed round trip per event: the current generation, and its snapshot
 * only when it is not the one the caller already holds. The number alone does
 * not say so: a re-created or restored database publishes the same numbers
 * again, so the random id must match too (a NULL id never does). */
static const char SQL_CURRENT_GENERATION[] =
    "SELECT s.generation, DATE_FORMAT(g.published_at, '%Y-%m-%d %H:%i:%s'), g.published_by, "
    "g.handlers_version, IF(s.generation = ? AND g.generation_uid = ?, NULL, g.snapshot), g.generation_uid "
    "FROM cache_state s LEFT JOIN cache_generations g ON g.generation = s.generation WHERE s.id = 1";
static const char SQL_STATUS[] =
    "SELECT s.generation, DATE_FORMAT(g.published_at, '%Y-%m-%d %H:%i:%s'), g.published_by, "
    "g.handler_count, s.handlers_version, g.handlers_version, g.generation_uid "
    "FROM cache_state s LEFT JOIN cache_generations g ON g.generation = s.generation WHERE s.id = 1";

static void copy_text(char *dst, size_t dstlen, const char *src)
{
	snprintf(dst, dstlen, "%s", src ? src : "");
}

/* ---------------------------------------------------------------- publishing */

/* A new generation's id: 128 bits from getrandom(2), as hex. (Not
 * auth_random_hex: auth.o brings libcrypt into prov-dispatchd's static link;
 * auth_hex is inline.) */
static int generation_uid_new(char out[CACHE_GENERATION_UID_LEN + 1])
{
	unsigned char bytes[CACHE_GENERATION_UID_LEN / 2];
	size_t got = 0;
	while (got < sizeof bytes) {
		ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	auth_hex(bytes, sizeof bytes, out);
	return 0;
}

static json_t *nullable_string(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *handler_json(const struct db_rows *rows, size_t r)
{
	json_t *h = json_object();
	if (h == NULL)
		return NULL;
	const char *max_attempts = db_cell(rows, r, 8);
	int rc = 0;
	rc |= json_object_set_new(h, "id", json_integer(db_cell_int(rows, r, 0, 0)));
	rc |= json_object_set_new(h, "name", json_string(db_cell(rows, r, 1)));
	rc |= json_object_set_new(h, "events_id", json_string(db_cell(rows, r, 2)));
	rc |= json_object_set_new(h, "task", json_string(db_cell(rows, r, 3)));
	rc |= json_object_set_new(h, "task_type", json_string(db_cell(rows, r, 4)));
	rc |= json_object_set_new(h, "priority", json_integer(db_cell_int(rows, r, 5, 1)));
	rc |= json_object_set_new(h, "timeout_ms", json_integer(db_cell_int(rows, r, 6, 5000)));
	rc |= json_object_set_new(h, "retry_enabled", json_boolean(db_cell_int(rows, r, 7, 1) != 0));
	rc |= json_object_set_new(h, "retry_max_attempts",
	                          max_attempts ? json_integer(db_cell_int(rows, r, 8, 0)) : json_null());
	rc |= json_object_set_new(h, "retry_schedule", nullable_string(db_cell(rows, r, 9)));
	rc |= json_object_set_new(h, "secret", nullable_string(db_cell(rows, r, 10)));
	rc |= json_object_set_new(h, "signature_scheme", json_string(db_cell(rows, r, 11)));
	rc |= json_object_set_new(h, "ordered", json_boolean(db_cell_int(rows, r, 14, 1) != 0));
	if (db_cell(rows, r, 12) != NULL) {
		rc |= json_object_set_new(h, "old_secret", json_string(db_cell(rows, r, 12)));
		rc |= json_object_set_new(h, "old_secret_until", json_integer(db_cell_int(rows, r, 13, 0)));
	}
	if (rc != 0) {
		json_decref(h);
		return NULL;
	}
	return h;
}

static json_t *snapshot_list(const struct db_rows *rows)
{
	json_t *list = json_array();
	for (size_t r = 0; list != NULL && r < rows->nrows; r++) {
		json_t *h = handler_json(rows, r);
		if (h == NULL || json_array_append_new(list, h) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return list;
}

/* The handler list a publish would snapshot now. */
static json_t *enabled_handlers(struct db *db)
{
	struct db_rows rows;
	if (db_query(db, SQL_ENABLED_HANDLERS, NULL, 0, &rows) != 0)
		return NULL;
	json_t *list = snapshot_list(&rows);
	db_rows_free(&rows);
	return list;
}

/* The snapshot array of generation (0: the current one); *list NULL and 0
 * when there is none. -1 on a database error or unreadable JSON. */
static int generation_list(struct db *db, long long generation, json_t **list, long long *number,
                           long long *handlers_version)
{
	*list = NULL;
	struct db_rows rows;
	struct db_param p[] = {DB_INT(generation)};
	if (db_query(db, generation > 0 ? SQL_GENERATION_SNAPSHOT : SQL_CURRENT_SNAPSHOT, p,
	             generation > 0 ? 1 : 0, &rows) != 0)
		return -1;
	int rc = 0;
	if (rows.nrows == 1 && db_cell(&rows, 0, 1) != NULL) {
		json_error_t jerr;
		*list = json_loads(db_cell(&rows, 0, 1), 0, &jerr);
		rc = json_is_array(*list) ? 0 : -1;
		if (number != NULL)
			*number = db_cell_int(&rows, 0, 0, 0);
		if (handlers_version != NULL)
			*handlers_version = db_cell_int(&rows, 0, 2, 0);
	}
	db_rows_free(&rows);
	return rc;
}

/* The history row of a publish or rollback: the new generation, the one it
 * replaced and what changed (capped, with full counts). */
static int record_history(struct db *db, const char *by, enum history_action action, long long generation,
                          long long rollback_of, const json_t *previous, long long previous_number,
                          const json_t *next)
{
	json_t *empty = json_array();
	json_t *diff = empty ? cache_diff(previous ? previous : empty, next, CACHE_DIFF_CAP) : NULL;
	json_decref(empty);
	if (diff == NULL)
		return -1;
	json_t *details = json_pack("{s:I, s:o?, s:o?, s:I, s:o}", "generation", (json_int_t)generation,
	                            "previous", previous_number > 0 ? json_integer(previous_number) : NULL,
	                            "rollback_of", rollback_of > 0 ? json_integer(rollback_of) : NULL,
	                            "handler_count", (json_int_t)json_array_size(next), "diff", diff);
	int rc = details != NULL ? history_record_cache(db, action, by, generation, details) : -1;
	json_decref(details);
	return rc;
}

static void record_run(struct db *db, const char *result, const char *detail)
{
	if (scheduler_record(db, "cache_manager", result, detail) != 0)
		fprintf(stderr, "cache: could not record the run in services: %s\n", db_error(db));
}

/* The transaction itself; the caller commits or rolls back. */
static int publish_in_transaction(struct db *db, const char *by, const char *when,
                                  struct cache_publish_info *info)
{
	struct db_rows state, rows;
	if (db_query(db, SQL_LOCK_STATE, NULL, 0, &state) != 0)
		return -1;
	info->handlers_version = db_cell_int(&state, 0, 0, 0);
	size_t nstate = state.nrows;
	db_rows_free(&state);
	if (nstate != 1 || db_query(db, SQL_ENABLED_HANDLERS, NULL, 0, &rows) != 0)
		return -1;
	json_t *list = snapshot_list(&rows);
	char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
	info->handler_count = rows.nrows;
	db_rows_free(&rows);
	json_t *previous = NULL;
	long long previous_number = 0;
	if (text == NULL || generation_list(db, 0, &previous, &previous_number, NULL) != 0) {
		free(text);
		json_decref(list);
		json_decref(previous);
		return -1;
	}
	unsigned long long generation = 0;
	struct db_param insert[] = {
	    DB_STR(info->generation_uid), DB_STR(when), DB_STR(by), DB_INT(info->handlers_version),
	    DB_INT(info->handler_count),  DB_STR(text)};
	int rc = db_exec(db, SQL_INSERT_GENERATION, insert, 6, NULL, &generation);
	free(text);
	info->generation = (long long)generation;
	struct db_param point[] = {DB_INT(info->generation)};
	if (rc == 0)
		rc = db_exec(db, SQL_POINT_STATE, point, 1, NULL, NULL);
	if (rc == 0)
		rc = record_history(db, by, HISTORY_PUBLISH, info->generation, 0, previous, previous_number,
		                    list);
	json_decref(list);
	json_decref(previous);
	return rc;
}

int cache_publish(struct db *db, const char *by, struct cache_publish_info *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof *info);
	char db_time[32];
	long long now = delivery_now_us();
	delivery_time_text(now, 0, db_time, sizeof db_time);
	delivery_time_text(now, 0, info->published_at, sizeof info->published_at);
	info->published_at[19] = '\0'; /* seconds are enough for people */
	char detail[256];
	if (generation_uid_new(info->generation_uid) != 0) {
		snprintf(err, errlen, "publishing failed: no random id for the generation");
		record_run(db, "error", err);
		return -1;
	}
	if (db_begin(db) != 0 || publish_in_transaction(db, by, db_time, info) != 0 || db_commit(db) != 0) {
		snprintf(err, errlen, "publishing failed: %s", db_error(db));
		db_rollback(db);
		record_run(db, "error", err);
		return -1;
	}
	snprintf(detail, sizeof detail, "generation %lld published by %s: %zu enabled handler%s",
	         info->generation, by, info->handler_count, info->handler_count == 1 ? "" : "s");
	record_run(db, "ok", detail);
	return 0;
}

/* ---------------------------------------------------------------- snapshots */

void cache_snapshot_free(struct cache_snapshot *snap)
{
	if (snap == NULL)
		return;
	free(snap->handlers);
	json_decref(snap->root);
	memset(snap, 0, sizeof *snap);
}

static const char *optional_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

static int parse_handler(json_t *h, struct cache_handler *out)
{
	json_t *id = json_object_get(h, "id");
	json_t *name = json_object_get(h, "name");
	json_t *event = json_object_get(h, "events_id");
	json_t *task = json_object_get(h, "task");
	json_t *type = json_object_get(h, "task_type");
	json_t *priority = json_object_get(h, "priority");
	json_t *timeout = json_object_get(h, "timeout_ms");
	json_t *attempts = json_object_get(h, "retry_max_attempts");
	if (!json_is_integer(id) || !json_is_string(name) || !json_is_string(event) ||
	    !json_is_string(task) || !json_is_string(type) || !json_is_integer(priority) ||
	    !json_is_integer(timeout))
		return -1;
	out->id = json_integer_value(id);
	out->name = json_string_value(name);
	out->events_id = json_string_value(event);
	out->task = json_string_value(task);
	if (strcmp(json_string_value(type), "http") == 0)
		out->kind = DELIVERY_HTTP;
	else if (strcmp(json_string_value(type), "script") == 0)
		out->kind = DELIVERY_SCRIPT;
	else
		return -1;
	out->priority = json_integer_value(priority);
	out->timeout_ms = (long)json_integer_value(timeout);
	out->retry_enabled = json_is_true(json_object_get(h, "retry_enabled"));
	out->retry_max_attempts = json_is_integer(attempts) ? json_integer_value(attempts) : -1;
	out->retry_schedule = optional_string(h, "retry_schedule");
	/* A copy written before per-object order existed: the column's default. */
	out->ordered = !json_is_false(json_object_get(h, "ordered"));
	out->secret = optional_string(h, "secret");
	/* A copy written before schemes existed has none: the scheme it used. */
	const char *scheme = optional_string(h, "signature_scheme");
	if (scheme == NULL || strcmp(scheme, "prov") == 0)
		out->scheme = DELIVERY_SCHEME_PROV;
	else if (strcmp(scheme, "standard") == 0)
		out->scheme = DELIVERY_SCHEME_STANDARD;
	else
		return -1;
	json_t *until = json_object_get(h, "old_secret_until");
	out->old_secret = json_is_integer(until) ? optional_string(h, "old_secret") : NULL;
	out->old_secret_until = json_is_integer(until) ? json_integer_value(until) : 0;
	return 0;
}

/* Fill snap->handlers from the array list (borrowed from snap->root). */
static int parse_handlers(json_t *list, struct cache_snapshot *snap, char *err, size_t errlen)
{
	if (!json_is_array(list)) {
		snprintf(err, errlen, "the snapshot has no handler list");
		return -1;
	}
	size_t n = json_array_size(list);
	snap->handlers = calloc(n ? n : 1, sizeof *snap->handlers);
	if (snap->handlers == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_handler(json_array_get(list, i), &snap->handlers[i]) != 0) {
			snprintf(err, errlen, "the snapshot's handler #%zu is malformed", i + 1);
			return -1;
		}
	}
	snap->count = n;
	return 0;
}

/* Fill snap from root, which it takes over (also on failure). */
static int snapshot_from_root(json_t *root, struct cache_snapshot *snap, char *err, size_t errlen)
{
	memset(snap, 0, sizeof *snap);
	snap->root = root;
	json_t *generation = json_object_get(root, "generation");
	snap->generation = json_is_integer(generation) ? json_integer_value(generation) : 0;
	copy_text(snap->generation_uid, sizeof snap->generation_uid,
	          json_string_value(json_object_get(root, "generation_uid")));
	snap->handlers_version = json_integer_value(json_object_get(root, "handlers_version"));
	copy_text(snap->published_at, sizeof snap->published_at,
	          json_string_value(json_object_get(root, "published_at")));
	copy_text(snap->published_by, sizeof snap->published_by,
	          json_string_value(json_object_get(root, "published_by")));
	if (snap->generation <= 0) {
		snprintf(err, errlen, "the snapshot has no generation number");
		cache_snapshot_free(snap);
		return -1;
	}
	if (parse_handlers(json_object_get(root, "handlers"), snap, err, errlen) != 0) {
		cache_snapshot_free(snap);
		return -1;
	}
	return 0;
}

int cache_snapshot_parse(const char *text, size_t len, struct cache_snapshot *snap, char *err, size_t errlen)
{
	memset(snap, 0, sizeof *snap);
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		snprintf(err, errlen, "not a snapshot: %s", root ? "not a JSON object" : jerr.text);
		json_decref(root);
		return -1;
	}
	return snapshot_from_root(root, snap, err, errlen);
}

size_t cache_select(const struct cache_snapshot *snap, const char *events_id, size_t *first)
{
	size_t i = 0;
	while (i < snap->count && strcmp(snap->handlers[i].events_id, events_id) != 0)
		i++;
	*first = i;
	size_t n = 0;
	while (i + n < snap->count && strcmp(snap->handlers[i + n].events_id, events_id) == 0)
		n++;
	return n;
}

/* ---------------------------------------------------------------- the local copy */

int cache_write_file(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp ||
	    snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
		snprintf(err, errlen, "cache path is too long");
		return -1;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write the local snapshot copy %s: %s", tmp, strerror(errno));
		return -1;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	int ok = done == len && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (!ok || rename(tmp, path) != 0) {
		if (ok)
			saved = errno;
		unlink(tmp);
		snprintf(err, errlen, "cannot write the local snapshot copy %s: %s", path, strerror(saved));
		return -1;
	}
	/* The rename itself must survive a crash too. */
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int read_local(const char *path, struct cache_snapshot *snap, char *err, size_t errlen)
{
	memset(snap, 0, sizeof *snap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "no local snapshot copy at %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	char *text = malloc(size ? size : 1);
	size_t done = 0;
	while (text != NULL && done < size) {
		ssize_t n = read(fd, text + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	char why[256] = "out of memory";
	int rc = text != NULL && done == size ? cache_snapshot_parse(text, size, snap, why, sizeof why) : -1;
	if (rc != 0)
		snprintf(err, errlen, "the local snapshot copy %s is unusable: %s", path, why);
	free(text);
	return rc;
}

/* Build snap from a row of SQL_CURRENT_GENERATION holding the snapshot array,
 * and keep a local copy of it. */
static int adopt_published(const struct config *cfg, const struct db_rows *rows, struct cache_snapshot *snap,
                           char *err, size_t errlen, char *warning, size_t warnlen)
{
	const char *list_text = db_cell(rows, 0, 4);
	json_error_t jerr;
	json_t *list = json_loads(list_text, 0, &jerr);
	json_t *root = json_object();
	if (list == NULL || root == NULL) {
		json_decref(list);
		json_decref(root);
		snprintf(err, errlen, "the published snapshot is not valid JSON");
		return -1;
	}
	json_object_set_new(root, "generation", json_integer(db_cell_int(rows, 0, 0, 0)));
	json_object_set_new(root, "generation_uid",
	                    json_string(db_cell(rows, 0, 5) ? db_cell(rows, 0, 5) : ""));
	json_object_set_new(root, "published_at",
	                    json_string(db_cell(rows, 0, 1) ? db_cell(rows, 0, 1) : ""));
	json_object_set_new(root, "published_by",
	                    json_string(db_cell(rows, 0, 2) ? db_cell(rows, 0, 2) : ""));
	json_object_set_new(root, "handlers_version", json_integer(db_cell_int(rows, 0, 3, 0)));
	json_object_set_new(root, "handlers", list);
	if (snapshot_from_root(root, snap, err, errlen) != 0)
		return -1;
	if (cfg == NULL)
		return 0; /* a reader that keeps no local copy (the panel, the API) */
	char *text = json_dumps(snap->root, JSON_COMPACT);
	if (text == NULL) {
		snprintf(warning, warnlen, "out of memory: the local snapshot copy was not written");
		return 0;
	}
	char werr[512];
	if (cache_write_file(cfg->cache_path, text, strlen(text), werr, sizeof werr) != 0)
		snprintf(warning, warnlen, "%s", werr);
	free(text);
	return 0;
}

/* Ask the database for the current generation and adopt it when it is not
 * the one in snap (have: snap holds a snapshot). local_err says why there is
 * no snapshot held, for the message when there is nothing to run at all. */
static int load_current(const struct config *cfg, struct db *db, struct cache_snapshot *snap, int have,
                        const char *local_err, char *err, size_t errlen, char *warning, size_t warnlen)
{
	struct db_rows rows;
	struct db_param p[] = {DB_INT(have ? snap->generation : 0), DB_STR(have ? snap->generation_uid : "")};
	if (db_query(db, SQL_CURRENT_GENERATION, p, 2, &rows) != 0) {
		if (have) {
			snprintf(warning, warnlen, "using the local snapshot copy: %s", db_error(db));
			return CACHE_FROM_LOCAL;
		}
		snprintf(err, errlen, "cannot read the published generation (%s) and %s", db_error(db),
		         local_err);
		return -1;
	}
	int rc;
	if (rows.nrows != 1 || db_cell(&rows, 0, 0) == NULL) {
		cache_snapshot_free(snap); /* nothing published: nothing runs */
		rc = CACHE_NOTHING_PUBLISHED;
	} else if (db_cell(&rows, 0, 4) == NULL && db_cell(&rows, 0, 5) != NULL && have) {
		rc = CACHE_FROM_LOCAL; /* the generation we hold is current */
	} else if (db_cell(&rows, 0, 4) == NULL) {
		/* cache_state names a generation whose row is gone (edited by hand). */
		snprintf(have ? warning : err, have ? warnlen : errlen,
		         "the published generation %s is missing from cache_generations%s",
		         db_cell(&rows, 0, 0), have ? "; running the held snapshot" : "");
		rc = have ? CACHE_FROM_LOCAL : -1;
	} else {
		cache_snapshot_free(snap);
		rc = adopt_published(cfg, &rows, snap, err, errlen, warning, warnlen) == 0
		         ? CACHE_FROM_DATABASE
		         : -1;
	}
	db_rows_free(&rows);
	return rc;
}

int cache_load(const struct config *cfg, struct db *db, struct cache_snapshot *snap, char *err, size_t errlen,
               char *warning, size_t warnlen)
{
	char local_err[2048] = "";
	warning[0] = '\0';
	int have_local = read_local(cfg->cache_path, snap, local_err, sizeof local_err) == 0;
	if (db == NULL) {
		if (have_local)
			return CACHE_FROM_LOCAL;
		snprintf(err, errlen, "the database is unreachable and %s", local_err);
		return -1;
	}
	return load_current(cfg, db, snap, have_local, local_err, err, errlen, warning, warnlen);
}

int cache_refresh(const struct config *cfg, struct db *db, struct cache_snapshot *snap, char *err,
                  size_t errlen, char *warning, size_t warnlen)
{
	warning[0] = '\0';
	int have = snap->generation > 0;
	if (db == NULL) {
		if (have)
			return CACHE_FROM_LOCAL;
		snprintf(err, errlen, "the database is unreachable and no snapshot is held");
		return -1;
	}
	return load_current(cfg, db, snap, have, "no snapshot is held", err, errlen, warning, warnlen);
}

/* ---------------------------------------------------------------- status */

int cache_status_read(struct db *db, struct cache_status *status)
{
	memset(status, 0, sizeof *status);
	struct db_rows rows;
	if (db_query(db, SQL_STATUS, NULL, 0, &rows) != 0)
		return -1;
	if (rows.nrows == 1) {
		status->generation = db_cell_int(&rows, 0, 0, 0);
		copy_text(status->published_at, sizeof status->published_at, db_cell(&rows, 0, 1));
		copy_text(status->published_by, sizeof status->published_by, db_cell(&rows, 0, 2));
		status->handler_count = db_cell_int(&rows, 0, 3, 0);
		status->handlers_version = db_cell_int(&rows, 0, 4, 0);
		status->published_handlers_version = db_cell_int(&rows, 0, 5, 0);
		copy_text(status->generation_uid, sizeof status->generation_uid, db_cell(&rows, 0, 6));
	}
	db_rows_free(&rows);
	status->pending = status->handlers_version != status->published_handlers_version;
	return 0;
}

struct delivery_handler cache_delivery_handler(const struct cache_handler *h)
{
	return (struct delivery_handler){.id = h->id,
	                                 .name = h->name,
	                                 .kind = h->kind,
	                                 .task = h->task,
	                                 .timeout_ms = h->timeout_ms,
	                                 .secret = h->secret,
	                                 .scheme = h->scheme,
	                                 .old_secret = h->old_secret,
	                                 .old_secret_until = h->old_secret_until};
}

/* ---------------------------------------------------------------- preview, rollback */

int cache_preview(struct db *db, json_t **diff, char *err, size_t errlen)
{
	*diff = NULL;
	json_t *published = NULL, *next = NULL, *empty = json_array();
	if (empty != NULL && generation_list(db, 0, &published, NULL, NULL) == 0 &&
	    (next = enabled_handlers(db)) != NULL)
		*diff = cache_diff(published ? published : empty, next, CACHE_DIFF_CAP);
	json_decref(published);
	json_decref(next);
	json_decref(empty);
	if (*diff != NULL)
		return 0;
	snprintf(err, errlen, "publish preview: %s", db_error(db));
	return -1;
}

int cache_rollback_preview(struct db *db, long long generation, json_t **diff, char *err, size_t errlen)
{
	*diff = NULL;
	json_t *published = NULL, *target = NULL, *empty = json_array();
	int rc = -1;
	if (empty != NULL && generation_list(db, generation, &target, NULL, NULL) == 0 &&
	    generation_list(db, 0, &published, NULL, NULL) == 0) {
		rc = target == NULL ? 1 : 0;
		if (target != NULL &&
		    (*diff = cache_diff(published ? published : empty, target, CACHE_DIFF_CAP)) == NULL)
			rc = -1;
	}
	json_decref(published);
	json_decref(target);
	json_decref(empty);
	if (rc < 0)
		snprintf(err, errlen, "rollback preview: %s", db_error(db));
	return rc;
}

static int rollback_in_transaction(struct db *db, const char *by, const char *when, long long generation,
                                   struct cache_publish_info *info)
{
	struct db_rows state;
	if (db_query(db, SQL_LOCK_STATE, NULL, 0, &state) != 0)
		return -1;
	db_rows_free(&state);
	json_t *target = NULL, *previous = NULL;
	long long previous_number = 0;
	if (generation_list(db, generation, &target, NULL, &info->handlers_version) != 0)
		return -1;
	if (target == NULL)
		return 1;
	if (generation_list(db, 0, &previous, &previous_number, NULL) != 0) {
		json_decref(target);
		return -1;
	}
	char *text = json_dumps(target, JSON_COMPACT);
	info->handler_count = json_array_size(target);
	unsigned long long number = 0;
	struct db_param insert[] = {
	    DB_STR(info->generation_uid), DB_STR(when), DB_STR(by), DB_INT(info->handlers_version),
	    DB_INT(info->handler_count),  DB_STR(text)};
	int rc = text != NULL ? db_exec(db, SQL_INSERT_GENERATION, insert, 6, NULL, &number) : -1;
	free(text);
	info->generation = (long long)number;
	struct db_param point[] = {DB_INT(info->generation)};
	if (rc == 0)
		rc = db_exec(db, SQL_POINT_STATE, point, 1, NULL, NULL);
	if (rc == 0)
		rc = record_history(db, by, HISTORY_ROLLBACK, info->generation, generation, previous,
		                    previous_number, target);
	json_decref(target);
	json_decref(previous);
	return rc;
}

int cache_rollback(struct db *db, const char *by, long long generation, struct cache_publish_info *info,
                   char *err, size_t errlen)
{
	memset(info, 0, sizeof *info);
	char db_time[32];
	long long now = delivery_now_us();
	delivery_time_text(now, 0, db_time, sizeof db_time);
	delivery_time_text(now, 0, info->published_at, sizeof info->published_at);
	info->published_at[19] = '\0';
	if (generation_uid_new(info->generation_uid) != 0) {
		snprintf(err, errlen, "rollback failed: no random id for the generation");
		return -1;
	}
	int rc = db_begin(db) != 0 ? -1 : rollback_in_transaction(db, by, db_time, generation, info);
	if (rc == 0 && db_commit(db) != 0)
		rc = -1;
	if (rc != 0) {
		if (rc < 0)
			snprintf(err, errlen, "rollback failed: %s", db_error(db));
		else
			snprintf(err, errlen, "generation %lld is not kept (purged, or never published)",
			         generation);
		db_rollback(db);
		if (rc < 0)
			record_run(db, "error", err);
		return rc;
	}
	char detail[256];
	snprintf(detail, sizeof detail,
	         "generation %lld published by %s: a rollback to generation %lld, %zu enabled handler%s",
	         info->generation, by, generation, info->handler_count, info->handler_count == 1 ? "" : "s");
	record_run(db, "ok", detail);
	return 0;
}

int cache_generations_list(struct db *db, long limit, struct db_rows *rows)
{
	struct db_param p[] = {DB_INT(limit)};
	return db_query(db, SQL_GENERATIONS, p, 1, rows);
}
