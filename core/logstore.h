/* logstore: the Execution Log's writes (SPEC 4.3, 7): one exec_logs row per
 * handler execution, the handler's last status (and its auto-disable), and
 * the retry queue row the execution calls for, written together in one
 * transaction so an outcome is logged whole or not at all. */
#ifndef PROV_LOGSTORE_H
#define PROV_LOGSTORE_H

#include "delivery.h"
#include "retryq.h"

#include <stddef.h>

struct db;
struct dispatch_event;
struct dispatch_outcome;

struct logstore_options {
	size_t response_max;        /* response bodies longer are cut and marked */
	long auto_disable_failures; /* 0: off; else disable a handler after this many failures in a row */
};

enum logstore_queue_action {
	LOGSTORE_QUEUE_NONE,
	LOGSTORE_QUEUE_ENQUEUE, /* a failed delivery to retry: its retry_queue row */
	LOGSTORE_QUEUE_FINISH,  /* a retry attempt: its outcome in its retry_queue row */
	LOGSTORE_QUEUE_WAIT,    /* per-object order: not delivered, logged 'waiting' and queued behind */
};

/* What the retry queue does with an execution, in the same transaction. */
struct logstore_queue {
	enum logstore_queue_action action;
	enum retryq_outcome outcome; /* FINISH */
	long delay_seconds;          /* ENQUEUE, FINISH + RESCHEDULE: until the next attempt */
	long long queue_id;          /* FINISH by the worker holding the row's claim ... */
	const char *claimed_by;      /* ... its id; NULL: from a spool, matched by delivery id and attempt */
	/* Per-object order (dispatch_order.h), with the entry's object_id:
	 * ENQUEUE queues the row 'waiting' when its chain holds rows ahead;
	 * FINISH + RETRYQ_EXHAUSTED leaves it 'blocked' when rows wait behind;
	 * WAIT queues it behind them (or due now when the chain emptied since
	 * the check) and sets behind to the log id it waits for (0: unknown). */
	int ordered;
	long long behind;
};

/* One execution to log (borrowed pointers). */
struct logstore_entry {
	const char *events_id;
	const char *event_uid;
	int has_object_id;
	long long object_id;
	long long handler_id;
	const char *handler_name; /* the name at execution time */
	const char *delivery_id;
	unsigned attempt;
	enum delivery_trigger trigger;
	long long redelivery_of; /* 0: not a redelivery */
	/* A forbidding dispatch: the ids of the chain's handlers it kept from
	 * running, "3,7" (NULL: none). The verdict and reason come from result. */
	const char *skipped_handlers;
	const char *request_body;
	size_t request_len;
	const struct delivery_result *result;
	struct logstore_queue queue;
	int from_spool; /* skip it when this execution is already logged (an import) */

	/* Set by logstore_write. */
	long long log_id;  /* the exec_logs row; 0 when skipped, or when written with others in
	                      one INSERT (no queue action, not from a spool: nothing needs it) */
	int skipped;       /* from_spool and already logged */
	int claim_lost;    /* FINISH: another worker holds the row now; it was left alone */
	int auto_disabled; /* this execution disabled its handler */
	int blocked;       /* FINISH: given up with rows waiting behind it (per-object order) */
};

struct config;
void logstore_options_from_config(const struct config *cfg, struct logstore_options *opt);

/* Write n entries in one transaction (tried again after a deadlock; never
 * after a lost connection). Returns 0, or -1 with a reason: nothing was
 * written, or, when the COMMIT lost its connection, maybe everything; the
 * caller keeps its journal, whose import skips what was logged. An
 * auto-disable is announced on stderr once committed. */
int logstore_write(struct db *db, const struct logstore_options *opt, struct logstore_entry *entries,
                   size_t n, char *err, size_t errlen);

/* The executions of one dispatched event (the forbidding one carries the
 * outcome's skipped handlers); queues[i] (NULL: none) is what the retry queue
 * does with step i (its behind is updated once committed). */
int logstore_write_outcome(struct db *db, const struct logstore_options *opt,
                           const struct dispatch_event *event, const struct dispatch_outcome *outcome,
                           struct logstore_queue *queues, char *err, size_t errlen);

/* The executions of several dispatched events, in one transaction (a
 * batch's group commit); queues as for logstore_write_outcome. */
struct logstore_outcome {
	const struct dispatch_event *event;
	const struct dispatch_outcome *outcome;
	struct logstore_queue *queues; /* behind updated once committed */
};
int logstore_write_outcomes(struct db *db, const struct logstore_options *opt,
                            const struct logstore_outcome *events, size_t nevents, char *err, size_t errlen);

#endif
