/* dispatcher: one process's dispatcher state and the run of one event with
 * its journal and log transaction (see dispatcher.h). */
#include "dispatcher.h"

#include "config.h"
#include "db.h"
#include "delivery.h"
#include "dispatch_order.h"
#include "journal.h"
#include "logstore.h"
#include "monotonic.h"
#include "retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "prov-dispatch"

/* ---------------------------------------------------------------- the journal
 * Every delivery's request goes to this process's spool journal before it is
 * sent and its outcome after: a kill -9 loses no log row. The journal is
 * removed once the log is committed (a batch or a service worker empties it
 * for its next event instead), and kept (fsync) when it cannot be. */
struct run_state {
	struct delivery *delivery;
	struct journal *journal;
	const struct dispatch_event *event;
	const struct cache_handler *chain; /* the handlers in run order */
	size_t next;                       /* the step being delivered */
	struct logstore_queue *queues;     /* what the retry queue does with each step */
	long long *behind;                 /* per-object order: dispatch_order_check's answer */
};

/* A failed first delivery is queued when the handler retries and it is worth
 * it; a final failure (refused by a check that would refuse it again) is not. */
static struct logstore_queue queue_for(const struct cache_handler *h, const struct dispatch_event *ev,
                                       const struct delivery_result *r)
{
	struct logstore_queue q = {.action = LOGSTORE_QUEUE_NONE, .ordered = h->ordered && ev->has_object_id};
	if (r->success || r->final || !h->retry_enabled)
		return q;
	struct retry_policy policy;
	char ignored[128];
	retry_policy_init(&policy, 1, h->retry_schedule, h->retry_max_attempts, ignored, sizeof ignored);
	if (retry_decide(&policy, 0, r->http_status, r->retry_after_s, 1, retry_jitter(), &q.delay_seconds) ==
	    RETRY_AGAIN)
		q.action = LOGSTORE_QUEUE_ENQUEUE;
	return q;
}

static int journal_step_begin(struct run_state *rs, const struct cache_handler *h,
                              const struct delivery_request *req)
{
	const struct dispatch_event *ev = rs->event;
	struct journal_begin b = {.trigger = DELIVERY_TRIGGER_DISPATCH,
	                          .delivery_id = req->delivery_id,
	                          .attempt = req->attempt,
	                          .events_id = ev->events_id,
	                          .event_uid = ev->uid,
	                          .has_object_id = ev->has_object_id,
	                          .object_id = ev->object_id,
	                          .handler_id = h->id,
	                          .handler_name = h->name,
	                          .retry_enabled = h->retry_enabled,
	                          .retry_schedule = h->retry_schedule,
	                          .retry_max_attempts = h->retry_max_attempts,
	                          .ordered = h->ordered,
	                          .request = req->body,
	                          .request_len = req->body_len,
	                          .started_us = delivery_now_us()};
	return journal_begin(rs->journal, &b);
}

static int deliver(void *ctx, const struct delivery_request *req, struct delivery_result *out)
{
	struct run_state *rs = ctx;
	const struct cache_handler *h = &rs->chain[rs->next];
	if (journal_step_begin(rs, h, req) != 0)
		return DISPATCH_DELIVER_REFUSED; /* a delivery nothing could show was made */
	long long behind = rs->behind[rs->next];
	if (behind != 0) {
		/* Per-object order: an earlier delivery of this object to h is
		 * queued; this one goes behind it, for the worker. */
		memset(out, 0, sizeof *out);
		out->started_us = delivery_now_us();
		out->retry_after_s = -1;
		rs->queues[rs->next] = (struct logstore_queue){
		    .action = LOGSTORE_QUEUE_WAIT, .ordered = 1, .behind = behind > 0 ? behind : 0};
		journal_end(rs->journal, req->delivery_id, req->attempt, out, &rs->queues[rs->next]);
		rs->next++;
		return DISPATCH_DELIVER_HELD;
	}
	int rc = delivery_run(rs->delivery, req, out);
	rs->queues[rs->next] = queue_for(h, rs->event, out);
	journal_end(rs->journal, req->delivery_id, req->attempt, out, &rs->queues[rs->next]);
	rs->next++;
	return rc;
}

/* Log the run, or keep its journal for prov-worker. Sets *logged / *spooled. */
static void log_run(const struct config *cfg, struct db *db, const char *db_err, struct run_state *rs,
                    const struct dispatch_outcome *outcome, int *logged, int *spooled)
{
	char err[1024];
	struct logstore_options opt;
	logstore_options_from_config(cfg, &opt);
	*logged = *spooled = 0;
	if (db != NULL &&
	    logstore_write_outcome(db, &opt, rs->event, outcome, rs->queues, err, sizeof err) == 0) {
		*logged = 1;
		if (rs->journal->failed)
			fprintf(stderr,
			        PROG ": warning: the spool journal could not be written (%s): a crash "
			             "during a run could lose its log rows\n",
			        rs->journal->error);
		journal_discard(rs->journal);
		return;
	}
	const char *why = db == NULL ? db_err : err;
	if (journal_keep(rs->journal) == 0) {
		*spooled = 1;
		fprintf(stderr,
		        PROG
		        ": the execution log was not written: %s; kept in the spool (%s) for prov-worker\n",
		        why, rs->journal->file.path);
	} else {
		fprintf(stderr, PROG ": the execution log was not written: %s; nor spooled: %s\n", why,
		        rs->journal->error);
	}
}

void dispatcher_warning(const char *warning)
{
	if (warning[0] != '\0')
		fprintf(stderr, PROG ": warning: %s\n", warning);
}

/* The published generation costs a round trip, a third of an event's time
 * to the database: a batch checks it again once the last check is older
 * than batch_generation_check_ms (0: before every event). */
int dispatcher_stale(const struct dispatcher *dp)
{
	return monotonic_us() - dp->checked_us >= dp->cfg->batch_generation_check_ms * 1000;
}

/* Connect, load the snapshot, make the delivery context. Returns 0 or an exit code. */
int dispatcher_open(struct dispatcher *dp, const struct config *cfg)
{
	memset(dp, 0, sizeof *dp);
	dp->spare.fd = -1;
	dp->cfg = cfg;
	dp->db = db_open(cfg, dp->db_err, sizeof dp->db_err);
	char err[2048], warning[1024];
	if (cache_load(cfg, dp->db, &dp->snap, err, sizeof err, warning, sizeof warning) < 0) {
		fprintf(stderr, PROG ": no handler set to run: %s\n", err);
		return DISPATCHER_NO_SNAPSHOT;
	}
	dispatcher_warning(warning);
	dp->checked_us = monotonic_us();
	struct delivery_limits limits = {.response_read_max = (size_t)cfg->payload_max_bytes + 65536,
	                                 .scripts_dir = cfg->scripts_dir,
	                                 .outbound_allow = cfg->outbound_allow};
	dp->delivery = delivery_new(&limits, err, sizeof err);
	if (dp->delivery == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		return DISPATCHER_INTERNAL;
	}
	return 0;
}

void dispatcher_close(struct dispatcher *dp)
{
	spool_journal_discard(&dp->spare);
	delivery_free(dp->delivery);
	cache_snapshot_free(&dp->snap);
	db_close(dp->db);
	memset(dp, 0, sizeof *dp);
}

int dispatcher_chain(struct dispatcher *dp, struct journal *journal, const struct order_book *book,
                     const struct dispatch_event *event, json_t *data, struct dispatch_outcome *outcome,
                     struct logstore_queue **queues)
{
	size_t first = 0;
	size_t n = cache_select(&dp->snap, event->events_id, &first);
	struct run_state rs = {.delivery = dp->delivery,
	                       .journal = journal,
	                       .event = event,
	                       .chain = n ? &dp->snap.handlers[first] : NULL};
	rs.queues = calloc(n ? n : 1, sizeof *rs.queues);
	rs.behind = calloc(n ? n : 1, sizeof *rs.behind);
	*queues = rs.queues;
	if (rs.queues == NULL || rs.behind == NULL) {
		free(rs.behind);
		json_decref(data);
		memset(outcome, 0, sizeof *outcome);
		return -1;
	}
	if (book != NULL)
		dispatch_order_check_book(book, event, rs.chain, n, rs.behind);
	else
		dispatch_order_check(dp->db, event, rs.chain, n, rs.behind);
	int rc = dispatch_run(event, data, rs.chain, n, deliver, &rs, outcome);
	free(rs.behind);
	return rc;
}

json_t *dispatcher_result(struct dispatcher *dp, const struct journal *journal,
                          const struct dispatch_event *event, struct dispatch_outcome *outcome,
                          const struct logstore_queue *queues, int logged, int spooled, int *exit_code)
{
	if (outcome->stopped) {
		/* No verdict to give: the chain did not run to its end. */
		fprintf(stderr,
		        PROG ": the spool journal in spool_dir %s cannot be written (%s): %s; nothing more "
		             "was delivered\n",
		        dp->cfg->spool_dir, journal->error,
		        outcome->nsteps == 0 ? "no handler was run"
		                             : "the chain stopped after the logged handlers");
		*exit_code = DISPATCHER_SPOOL;
		return NULL;
	}
	for (size_t i = 0; i < outcome->nsteps; i++)
		outcome->steps[i].behind = queues[i].behind; /* as logged: behind whom it waits */
	json_t *result = dispatch_result_json(event, outcome, dp->snap.generation, logged);
	if (result != NULL)
		json_object_set_new(result, "spooled", json_boolean(spooled));
	*exit_code = (!logged && !spooled) || result == NULL ? DISPATCHER_INTERNAL
	             : outcome->forbidden                    ? DISPATCHER_FORBIDDEN
	                                                     : DISPATCHER_ALLOWED;
	if (result == NULL)
		fprintf(stderr, PROG ": out of memory\n");
	return result;
}

/* Run one event's chain (data is taken over) and log it, or spool it.
 * Returns the result document for billing (NULL when out of memory) and sets
 * *exit_code. */
json_t *dispatcher_run(struct dispatcher *dp, const struct dispatch_event *event, json_t *data,
                       int *exit_code)
{
	struct journal journal;
	journal_init(&journal, dp->cfg->spool_dir, (size_t)dp->cfg->response_max_bytes);
	journal.sync_begin = dp->cfg->journal_sync != 0;
	if (dp->many)
		journal_reuse(&journal, &dp->spare); /* no file created and removed per event */
	struct logstore_queue *queues = NULL;
	struct dispatch_outcome outcome;
	int rc = dispatcher_chain(dp, &journal, NULL, event, data, &outcome, &queues);
	if (queues == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		*exit_code = DISPATCHER_INTERNAL;
		return NULL;
	}
	struct run_state rs = {.journal = &journal, .event = event, .queues = queues};
	int logged = 1, spooled = 0;
	if (rc == 0 && outcome.nsteps > 0)
		log_run(dp->cfg, dp->db, dp->db_err, &rs, &outcome, &logged, &spooled);
	else if (rc != 0 && journal_keep(&journal) == 0)
		spooled = 1; /* what ran before running out of memory stays for prov-worker */
	json_t *result = NULL;
	if (rc == 0)
		result = dispatcher_result(dp, &journal, event, &outcome, queues, logged, spooled, exit_code);
	else {
		fprintf(stderr, PROG ": out of memory\n");
		*exit_code = DISPATCHER_INTERNAL;
	}
	dispatch_outcome_free(&outcome);
	free(queues);
	return result;
}

/* Reconnect if the database was away, and pick up a newly published
 * generation (one round trip). */
int dispatcher_refresh(struct dispatcher *dp)
{
	dp->checked_us = monotonic_us();
	if (dp->db == NULL)
		dp->db = db_open(dp->cfg, dp->db_err, sizeof dp->db_err);
	char err[2048], warning[1024];
	if (cache_refresh(dp->cfg, dp->db, &dp->snap, err, sizeof err, warning, sizeof warning) < 0) {
		fprintf(stderr, PROG ": no handler set to run: %s\n", err);
		return DISPATCHER_NO_SNAPSHOT;
	}
	dispatcher_warning(warning);
	return 0;
}
