/* dispatch_order: which of an event's ordered handlers are behind a queued
 * delivery of the same object (see dispatch_order.h). */
#include "dispatch_order.h"

#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The object's rows still ahead for these handlers, newest first (the first
 * of each handler is its chain's tail): one short range of ix_retry_chain
 * (object_id, handler_id, state), usually empty. */
static const char SQL_AHEAD[] =
    "SELECT handler_id, log_id FROM retry_queue WHERE object_id = ? AND FIND_IN_SET(handler_id, ?) "
    "AND state IN ('scheduled', 'waiting', 'blocked') ORDER BY id DESC";

size_t dispatch_order_check(struct db *db, const struct dispatch_event *event,
                            const struct cache_handler *chain, size_t n, long long *behind)
{
	size_t ordered = 0;
	for (size_t i = 0; i < n; i++) {
		behind[i] = 0;
		ordered += chain[i].ordered != 0;
	}
	if (!event->has_object_id || ordered == 0)
		return 0;
	char *ids = malloc(ordered * 21 + 1);
	struct db_rows rows;
	int failed = ids == NULL;
	if (!failed) {
		size_t len = 0;
		ids[0] = '\0';
		for (size_t i = 0; i < n; i++)
			if (chain[i].ordered)
				len += (size_t)snprintf(ids + len, 22, "%s%lld", len ? "," : "", chain[i].id);
		struct db_param p[] = {DB_INT(event->object_id), DB_STR(ids)};
		failed = db == NULL || db_query(db, SQL_AHEAD, p, 2, &rows) != 0;
	}
	free(ids);
	size_t held = 0;
	for (size_t i = 0; i < n; i++) {
		if (!chain[i].ordered)
			continue;
		for (size_t r = 0; !failed && r < rows.nrows && behind[i] == 0; r++)
			if (db_cell_int(&rows, r, 0, 0) == chain[i].id) {
				long long log_id = db_cell_int(&rows, r, 1, 0);
				behind[i] = log_id > 0 ? log_id : DISPATCH_ORDER_UNKNOWN;
			}
		held += behind[i] != 0;
	}
	if (!failed)
		db_rows_free(&rows);
	return held;
}
