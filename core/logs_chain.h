/* logs_chain: the executions of one event (the event view, issue #16): the
 * dispatch chain in the order it ran (priority order), its later executions
 * (retries, redeliveries, tests), what each step received and what a
 * modifying reply set, and the handlers a forbid kept from running, as the
 * forbidding row recorded them at dispatch time. */
#ifndef PROV_LOGS_CHAIN_H
#define PROV_LOGS_CHAIN_H

#include "db.h"

#include <jansson.h>

#define LOGS_CHAIN_MAX 200 /* executions read for one event */

enum logs_chain_column {
	CCOL_ID,
	CCOL_DT,
	CCOL_STATUS,
	CCOL_VERDICT,
	CCOL_FORBID_REASON,
	CCOL_SKIPPED,
	CCOL_HANDLER_ID,
	CCOL_HANDLER_NAME,
	CCOL_TRIGGER,
	CCOL_ATTEMPT,
	CCOL_HTTP_STATUS,
	CCOL_EXIT_CODE,
	CCOL_DURATION_US,
	CCOL_REQUEST_BODY,
	CCOL_RESPONSE_BODY,
	CCOL_RESPONSE_TRUNCATED,
	CCOL_ERROR,
	CCOL_EVENTS_ID,
	CCOL_OBJECT_ID,
	CCOL__MAX
};

/* The event id of log row id: 1 (uid filled), 0 when there is no such row, -1 on error. */
int logs_chain_uid(struct db *db, long long id, char *uid, size_t uidlen);
/* Every execution of event uid, oldest first (at most LOGS_CHAIN_MAX). */
int logs_chain_rows(struct db *db, const char *uid, struct db_rows *rows);
/* Names of the handlers in an id list "3,7": columns id, name. */
int logs_chain_names(struct db *db, const char *ids, struct db_rows *rows);

/* The "data" member of a request envelope or a reply (new reference), or NULL. */
json_t *logs_chain_data(const char *body);

/* The top-level keys of after that differ from before: "+key" added,
 * "-key" removed, "~key" changed, one per line, into a malloc'd string ("" when
 * the same); NULL when out of memory. */
char *logs_chain_changes(json_t *before, json_t *after);

#endif
