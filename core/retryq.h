/* retryq: the retry queue table (SPEC section 7). Failed deliveries are
 * enqueued with their next attempt time; workers claim due rows with a lease
 * (FOR UPDATE SKIP LOCKED), deliver, and finish them. */
#ifndef PROV_RETRYQ_H
#define PROV_RETRYQ_H

#include <stddef.h>

struct db;

#define RETRYQ_WORKER_ID_MAX 96

struct retryq_entry {
	const char *delivery_id;
	long long handler_id;
	const char *handler_name;
	long long log_id; /* 0: none */
	const char *events_id;
	long long object_id;
	int has_object_id;
	const char *event_uid;
	const char *envelope;
	int attempts_made;
	long delay_seconds; /* from now to the next attempt */
	const char *last_error;
	int waiting; /* per-object order: queued behind another row, not claimable */
};

/* Queue (or re-queue) a delivery. One row per delivery id. 0 or -1 (db_error). */
int retryq_enqueue(struct db *db, const struct retryq_entry *entry);

/* A claimed row; strings owned by the item, freed by retryq_items_free. */
struct retryq_item {
	long long id;
	char delivery_id[40];
	long long handler_id;
	char *handler_name;
	char events_id[72];
	long long object_id;
	int has_object_id;
	char event_uid[72];
	char *envelope;
	int attempts_made;
};

/* Claim up to max due rows for worker_id, leased for lease_seconds. *items
 * is NULL when *count is 0; else free them with retryq_items_free. */
int retryq_claim(struct db *db, const char *worker_id, long lease_seconds, size_t max,
                 struct retryq_item **items, size_t *count);
void retryq_items_free(struct retryq_item *items, size_t count);

/* RETRYQ_BLOCKED: given up like RETRYQ_EXHAUSTED, but rows wait behind it
 * in its (object, handler) chain: it holds them until an operator releases
 * it (retryq_release). */
enum retryq_outcome { RETRYQ_DONE, RETRYQ_RESCHEDULE, RETRYQ_EXHAUSTED, RETRYQ_BLOCKED };

/* Record the outcome of a claimed row's attempt. Only the worker holding the
 * claim may finish it: returns 1 when recorded, 0 when the claim was lost
 * (lease expired and taken by another worker), -1 on error. */
int retryq_finish(struct db *db, long long id, const char *worker_id, enum retryq_outcome outcome,
                  int attempts_made, long delay_seconds, long long log_id, const char *error);

/* The same for an attempt read back from a spool, whose claim is long gone:
 * applied only while the row still waits for an attempt before this one.
 * Returns 1 when recorded, 0 when the queue had moved on, -1 on error. */
int retryq_finish_spooled(struct db *db, const char *delivery_id, enum retryq_outcome outcome,
                          int attempts_made, long delay_seconds, long long log_id, const char *error);

/* Per-object order (dispatch_order.h). Inside a transaction: lock the chain
 * of (handler, object) and give the log id of its newest row still ahead
 * ('scheduled', 'waiting' or 'blocked'). 1 found, 0 none, -1 error. */
int retryq_chain_tail(struct db *db, long long handler_id, long long object_id, long long *tail_log_id);
/* Inside a transaction: whether rows wait behind (handler, object)'s head
 * (locked until the transaction ends). 1 yes, 0 no, -1 error. */
int retryq_has_waiting(struct db *db, long long handler_id, long long object_id);
/* The chain's head is finished: its oldest 'waiting' row becomes due now. */
int retryq_promote(struct db *db, long long handler_id, long long object_id);
/* An operator gives a blocked row up (its own transaction): it becomes
 * 'exhausted' and the next of its chain is due. 1 released, 0 no blocked row
 * has that log id, -1 error. */
int retryq_release(struct db *db, long long log_id);

/* Just before delivering a claimed row: still ours? Extends the lease to
 * lease_seconds from now. 1 yes, 0 the claim was lost, -1 on error. */
int retryq_renew(struct db *db, long long id, const char *worker_id, long lease_seconds);

/* The queue's rows by state, each counted up to RETRYQ_COUNT_CAP + 1: a count
 * above the cap means "more than RETRYQ_COUNT_CAP" (retryq_count_text). */
#define RETRYQ_COUNT_CAP 10000
struct retryq_counts {
	long long due;   /* scheduled, next attempt now or earlier */
	long long later; /* scheduled for later */
	long long exhausted, done;
};
int retryq_count(struct db *db, struct retryq_counts *counts);
/* "1234", or "more than 10,000" for a count above the cap. */
const char *retryq_count_text(long long count, char *buf, size_t buflen);

#endif
