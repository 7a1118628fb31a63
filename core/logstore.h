/* logstore: the Execution Log's writes (SPEC 4.3, 7): one exec_logs row per
 * handler execution, and the handler's last status, written together in one
 * transaction so an event's outcome is logged whole or not at all. */
#ifndef PROV_LOGSTORE_H
#define PROV_LOGSTORE_H

#include "delivery.h"

#include <stddef.h>

struct db;
struct dispatch_event;
struct dispatch_outcome;

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
	const char *request_body;
	size_t request_len;
	const struct delivery_result *result;
};

/* Write n entries in one transaction; response bodies longer than
 * response_max bytes are cut and marked. Returns 0, or -1 with a reason. */
int logstore_write(struct db *db, size_t response_max, const struct logstore_entry *entries, size_t n,
                   char *err, size_t errlen);

/* The executions of one dispatched event. */
int logstore_write_outcome(struct db *db, size_t response_max, const struct dispatch_event *event,
                           const struct dispatch_outcome *outcome, char *err, size_t errlen);

#endif
