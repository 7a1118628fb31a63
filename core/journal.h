/* journal: what a dispatcher or worker writes to its spool journal around
 * each delivery (SPEC section 7), and how the records read back. A "begin"
 * record (the request, the handler's retry settings) goes out before the
 * delivery, an "end" record (the outcome and the retry queue's action) after
 * it. Once the log transaction commits the journal is discarded; when it
 * cannot commit, or the process dies, the importer turns the records into
 * the same log and queue rows: a begin without its end is a delivery that was
 * interrupted, logged as such and retried. */
#ifndef PROV_JOURNAL_H
#define PROV_JOURNAL_H

#include "delivery.h"
#include "logstore.h"
#include "spool.h"

#include <jansson.h>
#include <stddef.h>

/* The record written before a delivery (borrowed pointers). */
struct journal_begin {
	enum delivery_trigger trigger;
	const char *delivery_id;
	unsigned attempt;
	const char *events_id;
	const char *event_uid;
	int has_object_id;
	long long object_id;
	long long handler_id;
	const char *handler_name;
	int retry_enabled;
	const char *retry_schedule; /* NULL: the default */
	long long retry_max_attempts;
	int ordered;        /* the handler keeps per-object order */
	long long queue_id; /* a retry: its retry_queue row */
	const char *request;
	size_t request_len;
	long long started_us;
};

/* A process's journal, opened on the first record. */
struct journal {
	struct spool_journal file;
	char dir[4096];
	size_t response_max;
	size_t records;
	int failed;     /* a record could not be written: the journal is incomplete */
	int sync_begin; /* journal_sync = 1: each begin record reaches the disk before the delivery */
	char error[512];
	struct spool_journal *spare; /* NULL, or an emptied journal kept for the next run */
};

void journal_init(struct journal *j, const char *dir, size_t response_max);
/* A process that runs many events (--batch, the service) keeps one journal
 * file: the first record takes it from *spare (fd -1: none yet), and a
 * discard empties it back into *spare instead of removing it. The owner
 * removes it at the end with spool_journal_discard(spare). */
void journal_reuse(struct journal *j, struct spool_journal *spare);
/* The record of a delivery about to be made. Returns 0, or -1 (reason in
 * j->error): the delivery must not be made, nothing would show it happened. */
int journal_begin(struct journal *j, const struct journal_begin *b);
int journal_end(struct journal *j, const char *delivery_id, unsigned attempt, const struct delivery_result *r,
                const struct logstore_queue *queue);
/* The log transaction committed: the records are no longer needed (the file
 * goes, or back to the spare). */
void journal_discard(struct journal *j);
/* The log could not be written: make the records durable for the importer.
 * Returns 0 when every record is safe, -1 (reason in j->error) otherwise. */
int journal_keep(struct journal *j);

/* ---------------------------------------------------------------- reading back */

/* One execution rebuilt from its records: entry is ready for logstore_write
 * (from_spool set); its strings point into the records it owns. */
struct journal_execution {
	json_t *begin;
	json_t *end; /* NULL: interrupted */
	struct delivery_result result;
	struct logstore_entry entry;
};

/* Rebuild an execution from a begin record and its end record (NULL when it
 * never came). now_us: queue delays are counted from the original failure.
 * The begin record is checked as the dispatcher checks fresh input (event of
 * the catalog, event and delivery id formats, object_id >= 0, a handler id
 * and name, attempt bounds). Takes over both references. Returns 0, or -1
 * with the reason in err when a record is malformed or invalid. */
int journal_execution_build(struct journal_execution *x, json_t *begin, json_t *end, long long now_us,
                            char *err, size_t errlen);
void journal_execution_free(struct journal_execution *x);

/* "begin" or "end" for a parsed record, NULL when it is neither. */
const char *journal_record_kind(json_t *record);
/* Whether end belongs to begin (same delivery id and attempt). */
int journal_records_match(json_t *begin, json_t *end);

#endif
