/* worker: claiming due retry_queue rows and delivering them again. */
#include "worker.h"

#include "cache.h"
#include "config.h"
#include "db.h"
#include "delivery.h"
#include "journal.h"
#include "logstore.h"
#include "retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_TRIES 5 /* a claim that met a deadlock is simply made again */

struct worker {
	const struct config *cfg;
	char id[RETRYQ_WORKER_ID_MAX];
	size_t batch;
	struct delivery *delivery;
	struct logstore_options opt;
	struct cache_snapshot snap;
	int have_snap;
	struct journal journal;
	int journal_warned;
};

const char *worker_id(const struct worker *w)
{
	return w->id;
}

struct worker *worker_new(const struct config *cfg, const char *id, size_t batch, char *err, size_t errlen)
{
	struct worker *w = calloc(1, sizeof *w);
	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->cfg = cfg;
	snprintf(w->id, sizeof w->id, "%s", id);
	w->batch = batch ? batch : WORKER_BATCH_DEFAULT;
	struct delivery_limits limits = {.response_read_max = (size_t)cfg->payload_max_bytes + 65536,
	                                 .scripts_dir = cfg->scripts_dir,
	                                 .outbound_allow = cfg->outbound_allow};
	w->delivery = delivery_new(&limits, err, errlen);
	if (w->delivery == NULL) {
		free(w);
		return NULL;
	}
	logstore_options_from_config(cfg, &w->opt);
	return w;
}

void worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	delivery_free(w->delivery);
	if (w->have_snap)
		cache_snapshot_free(&w->snap);
	free(w);
}

static const struct cache_handler *find_handler(const struct worker *w, long long id)
{
	for (size_t i = 0; w->have_snap && i < w->snap.count; i++)
		if (w->snap.handlers[i].id == id)
			return &w->snap.handlers[i];
	return NULL;
}

/* The published set, refreshed once per drain (one query when unchanged). */
static int load_snapshot(struct worker *w, struct db *db, char *err, size_t errlen)
{
	if (w->have_snap)
		cache_snapshot_free(&w->snap);
	w->have_snap = 0;
	char why[1024], warning[1024];
	int source = cache_load(w->cfg, db, &w->snap, why, sizeof why, warning, sizeof warning);
	if (source < 0) {
		snprintf(err, errlen, "no handler set: %s", why);
		return -1;
	}
	if (warning[0] != '\0')
		fprintf(stderr, "prov-worker: warning: %s\n", warning);
	w->have_snap = source != CACHE_NOTHING_PUBLISHED;
	return 0;
}

static long lease_for(const struct cache_handler *h)
{
	return (h->timeout_ms + 999) / 1000 + WORKER_LEASE_GRACE_SECONDS;
}

/* A claim covers a whole batch delivered one after the other. */
static long batch_lease(const struct worker *w)
{
	long longest = 5;
	for (size_t i = 0; w->have_snap && i < w->snap.count; i++)
		if ((w->snap.handlers[i].timeout_ms + 999) / 1000 > longest)
			longest = (w->snap.handlers[i].timeout_ms + 999) / 1000;
	return (long)w->batch * (longest + WORKER_LEASE_GRACE_SECONDS);
}

/* Give a row up without an attempt: exhausted (why), or back to due (NULL). */
static int finish_without_attempt(struct worker *w, struct db *db, const struct retryq_item *it,
                                  const char *why)
{
	if (why == NULL || !it->has_object_id) {
		int rc = retryq_finish(db, it->id, w->id, why ? RETRYQ_EXHAUSTED : RETRYQ_RESCHEDULE,
		                       it->attempts_made, 0, 0, why);
		return rc < 0 ? -1 : 0;
	}
	/* Given up without an attempt (its handler is gone or retries are off):
	 * the next of its (handler, object) chain is due, in the same transaction. */
	if (db_begin(db) != 0)
		return -1;
	int rc = retryq_finish(db, it->id, w->id, RETRYQ_EXHAUSTED, it->attempts_made, 0, 0, why);
	if (rc > 0)
		rc = retryq_promote(db, it->handler_id, it->object_id);
	if (rc >= 0 && db_commit(db) == 0)
		return 0;
	db_rollback(db);
	return -1;
}

static void count_outcome(struct worker_stats *st, const struct logstore_entry *e)
{
	if (e->claim_lost) {
		st->lost_claims++;
		fprintf(
		    stderr,
		    "prov-worker: delivery %s attempt %u was logged, but another worker had taken its row\n",
		    e->delivery_id, e->attempt);
	} else if (e->queue.outcome == RETRYQ_DONE) {
		st->delivered++;
	} else if (e->queue.outcome == RETRYQ_RESCHEDULE) {
		st->rescheduled++;
	} else if (e->blocked) {
		st->exhausted++;
		fprintf(stderr,
		        "prov-worker: delivery %s of object %lld to handler %lld was given up (log #%lld): "
		        "the later deliveries of that object to it are held until an operator releases it "
		        "(prov-worker --release %lld)\n",
		        e->delivery_id, e->object_id, e->handler_id, e->log_id, e->log_id);
	} else {
		st->exhausted++;
	}
}

/* One attempt of a claimed row whose handler is h. */
static int attempt_row(struct worker *w, struct db *db, const struct retryq_item *it,
                       const struct cache_handler *h, const struct retry_policy *policy,
                       struct worker_stats *st, char *err, size_t errlen)
{
	unsigned attempt = (unsigned)it->attempts_made + 1;
	struct delivery_handler dh = cache_delivery_handler(h);
	struct delivery_request req = {.handler = &dh,
	                               .events_id = it->events_id,
	                               .event_uid = it->event_uid,
	                               .delivery_id = it->delivery_id,
	                               .attempt = attempt,
	                               .trigger = DELIVERY_TRIGGER_RETRY,
	                               .body = it->envelope,
	                               .body_len = strlen(it->envelope)};
	struct journal_begin begin = {.trigger = DELIVERY_TRIGGER_RETRY,
	                              .delivery_id = it->delivery_id,
	                              .attempt = attempt,
	                              .events_id = it->events_id,
	                              .event_uid = it->event_uid,
	                              .has_object_id = it->has_object_id,
	                              .object_id = it->object_id,
	                              .handler_id = h->id,
	                              .handler_name = h->name,
	                              .retry_enabled = h->retry_enabled,
	                              .retry_schedule = h->retry_schedule,
	                              .retry_max_attempts = h->retry_max_attempts,
	                              .ordered = h->ordered,
	                              .queue_id = it->id,
	                              .request = req.body,
	                              .request_len = req.body_len,
	                              .started_us = delivery_now_us()};
	if (journal_begin(&w->journal, &begin) != 0) {
		/* Not sent: the claim lapses and the row is due again after its lease. */
		snprintf(err, errlen,
		         "the spool journal in spool_dir %s cannot be written (%s): nothing was delivered",
		         w->cfg->spool_dir, w->journal.error);
		return -1;
	}
	struct delivery_result result;
	delivery_run(w->delivery, &req, &result);
	long delay = 0;
	enum retry_action act = retry_decide(policy, result.success, result.http_status, result.retry_after_s,
	                                     (int)attempt, retry_jitter(), &delay);
	if (result.final) /* refused again on every attempt: exhausted now, like a 4xx */
		act = RETRY_NONE;
	/* Per-object order: a given-up row of an ordered handler holds the
	 * deliveries of its object waiting behind it until an operator releases
	 * it (logstore decides, under the chain's lock). */
	int ordered = h->ordered && it->has_object_id;
	struct logstore_entry e = {.events_id = it->events_id,
	                           .event_uid = it->event_uid,
	                           .has_object_id = it->has_object_id,
	                           .object_id = it->object_id,
	                           .handler_id = h->id,
	                           .handler_name = h->name,
	                           .delivery_id = it->delivery_id,
	                           .attempt = attempt,
	                           .trigger = DELIVERY_TRIGGER_RETRY,
	                           .request_body = req.body,
	                           .request_len = req.body_len,
	                           .result = &result,
	                           .queue = {.action = LOGSTORE_QUEUE_FINISH,
	                                     .outcome = result.success       ? RETRYQ_DONE
	                                                : act == RETRY_AGAIN ? RETRYQ_RESCHEDULE
	                                                                     : RETRYQ_EXHAUSTED,
	                                     .delay_seconds = delay,
	                                     .queue_id = it->id,
	                                     .claimed_by = w->id,
	                                     .ordered = ordered}};
	journal_end(&w->journal, it->delivery_id, attempt, &result, &e.queue);
	int rc = logstore_write(db, &w->opt, &e, 1, err, errlen);
	if (rc == 0)
		count_outcome(st, &e);
	delivery_result_free(&result);
	return rc;
}

static int process_row(struct worker *w, struct db *db, const struct retryq_item *it, struct worker_stats *st,
                       char *err, size_t errlen)
{
	const struct cache_handler *h = find_handler(w, it->handler_id);
	char why[256];
	if (h == NULL) {
		st->unpublished++;
		st->exhausted++;
		snprintf(why, sizeof why,
		         "handler %lld is no longer published (deleted, disabled or archived)",
		         it->handler_id);
		return finish_without_attempt(w, db, it, why);
	}
	struct retry_policy policy;
	if (retry_policy_init(&policy, h->retry_enabled, h->retry_schedule, h->retry_max_attempts, why,
	                      sizeof why) != 0)
		fprintf(stderr, "prov-worker: handler %lld: %s; using the default schedule\n", h->id, why);
	/* A row queued behind others for per-object order was never delivered:
	 * its first attempt is made whatever the retry settings. */
	if (!policy.enabled && it->attempts_made > 0) {
		st->exhausted++;
		return finish_without_attempt(w, db, it, "retries were turned off for this handler");
	}
	int ours = retryq_renew(db, it->id, w->id, lease_for(h));
	if (ours <= 0) {
		st->lost_claims += ours == 0;
		return ours;
	}
	return attempt_row(w, db, it, h, &policy, st, err, errlen);
}

static int claim(struct worker *w, struct db *db, struct retryq_item **items, size_t *count)
{
	for (int tries = 0;; tries++) {
		if (retryq_claim(db, w->id, batch_lease(w), w->batch, items, count) == 0)
			return 0;
		if (tries + 1 >= CLAIM_TRIES || !db_error_is_deadlock(db))
			return -1;
	}
}

/* The batch's journal: gone once all its attempts are logged, else kept. */
static int close_journal(struct worker *w, int logged, char *err, size_t errlen)
{
	if (logged && !w->journal.failed) {
		journal_discard(&w->journal);
		return 0;
	}
	if (journal_keep(&w->journal) != 0 && !w->journal_warned) {
		w->journal_warned = 1;
		fprintf(stderr, "prov-worker: warning: the spool journal could not be written: %s\n",
		        w->journal.error);
	}
	if (!logged)
		return -1;
	(void)err;
	(void)errlen;
	return 0;
}

int worker_drain(struct worker *w, struct db *db, volatile sig_atomic_t *stop, struct worker_stats *st,
                 char *err, size_t errlen)
{
	err[0] = '\0';
	if (load_snapshot(w, db, err, errlen) != 0)
		return -1;
	while (!*stop) {
		struct retryq_item *items;
		size_t count;
		if (claim(w, db, &items, &count) != 0) {
			snprintf(err, errlen, "claiming due retries failed: %s", db_error(db));
			return -1;
		}
		if (count == 0)
			break;
		st->claimed += (long)count;
		journal_init(&w->journal, w->cfg->spool_dir, (size_t)w->cfg->response_max_bytes);
		w->journal.sync_begin = w->cfg->journal_sync != 0;
		int rc = 0;
		size_t i = 0;
		for (; rc == 0 && i < count && !*stop; i++)
			rc = process_row(w, db, &items[i], st, err, errlen);
		/* Stopping: the rest of the batch is due again at once, for any worker. */
		for (; rc == 0 && i < count; i++)
			rc = finish_without_attempt(w, db, &items[i], NULL);
		if (rc != 0 && err[0] == '\0')
			snprintf(err, errlen, "%s", db_error(db));
		retryq_items_free(items, count);
		if (close_journal(w, rc == 0, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int worker_release(struct db *db, long long log_id, char *err, size_t errlen)
{
	int rc = retryq_release(db, log_id);
	if (rc < 0)
		snprintf(err, errlen, "releasing log #%lld failed: %s", log_id, db_error(db));
	else if (rc == 0)
		snprintf(err, errlen, "no blocked delivery has log id %lld", log_id);
	return rc;
}

void worker_summary(const struct worker_stats *st, const struct retryq_counts *counts, char *out,
                    size_t outlen)
{
	int n = snprintf(out, outlen, "%ld delivered, %ld rescheduled, %ld exhausted", st->delivered,
	                 st->rescheduled, st->exhausted);
	if (st->lost_claims > 0 && n > 0 && (size_t)n < outlen)
		n += snprintf(out + n, outlen - (size_t)n, ", %ld taken over by another worker",
		              st->lost_claims);
	if (st->files > 0 && n > 0 && (size_t)n < outlen)
		n += snprintf(
		    out + n, outlen - (size_t)n,
		    "; spool: %ld file%s, %ld execution%s imported (%ld interrupted), %ld already logged",
		    st->files, st->files == 1 ? "" : "s", st->imported, st->imported == 1 ? "" : "s",
		    st->interrupted, st->already_logged);
	if (st->unreadable > 0 && n > 0 && (size_t)n < outlen)
		n += snprintf(out + n, outlen - (size_t)n, ", %ld unreadable record%s", st->unreadable,
		              st->unreadable == 1 ? "" : "s");
	if (st->refused > 0 && n > 0 && (size_t)n < outlen)
		n += snprintf(out + n, outlen - (size_t)n, "; spool: %ld link%s or special file%s left alone",
		              st->refused, st->refused == 1 ? "" : "s", st->refused == 1 ? "" : "s");
	char due[32], later[32], exhausted[32];
	if (counts != NULL && n > 0 && (size_t)n < outlen)
		n +=
		    snprintf(out + n, outlen - (size_t)n, "; queue: %s due, %s scheduled later, %s exhausted",
		             retryq_count_text(counts->due, due, sizeof due),
		             retryq_count_text(counts->later, later, sizeof later),
		             retryq_count_text(counts->exhausted, exhausted, sizeof exhausted));
	if (st->redelivered > 0 && n > 0 && (size_t)n < outlen)
		n += snprintf(out + n, outlen - (size_t)n, "; %ld queued redeliver%s run", st->redelivered,
		              st->redelivered == 1 ? "y" : "ies");
	if (st->tests > 0 && n > 0 && (size_t)n < outlen)
		n += snprintf(out + n, outlen - (size_t)n, "; %ld script test%s run", st->tests,
		              st->tests == 1 ? "" : "s");
	if (st->spool_note[0] != '\0' && n > 0 && (size_t)n < outlen)
		snprintf(out + n, outlen - (size_t)n, "; %s", st->spool_note);
}
