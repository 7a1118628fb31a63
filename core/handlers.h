/* handlers: the handler model shared by the panel, the API and the Cache
 * Manager, and its table. */
#ifndef PROV_HANDLERS_H
#define PROV_HANDLERS_H

#include <stddef.h>

struct db;
struct db_rows;

/* Columns of the rows handlers_list returns, in order. */
enum handler_column {
	HCOL_ID,
	HCOL_PRIORITY,
	HCOL_NAME,
	HCOL_EVENTS_ID,
	HCOL_TASK,
	HCOL_TASK_TYPE,
	HCOL_STATUS,
	HCOL_LAST_STATUS,
	HCOL_LAST_RUN_AT,
	HCOL__MAX
};

/* What the list shows. Empty strings mean "any"; an empty status means
 * enabled + disabled (archived only when asked for). */
struct handler_filter {
	const char *events_id;
	const char *task_type; /* "http" / "script" */
	const char *status;    /* "enabled" / "disabled" / "archived" */
};

/* Handlers matching filter in priority order (1 first, ties by id). */
int handlers_list(struct db *db, const struct handler_filter *filter, struct db_rows *rows);

#endif
