/* page_handlers: the Provisioning API list (Integration > Provisioning API). */
#include "pages.h"

#include "db.h"
#include "events.h"
#include "handlers.h"
#include "web.h"

#include <stdio.h>
#include <string.h>

/* The event catalog for selects and labels: Events.N.{Id,Group,Label}. */
static void set_event_catalog(struct web_request *req)
{
	char key[64];
	for (size_t i = 0; i < events_count(); i++) {
		const struct event_def *event = events_at(i);
		snprintf(key, sizeof key, "Events.%zu.Id", i);
		web_set(req, key, event->id);
		snprintf(key, sizeof key, "Events.%zu.Group", i);
		web_set(req, key, event->group);
		snprintf(key, sizeof key, "Events.%zu.Label", i);
		web_set(req, key, event->label);
	}
}

static void set_handler_row(struct web_request *req, const struct db_rows *rows, size_t row)
{
	static const char *const names[HCOL__MAX] = {
		[HCOL_ID] = "Id", [HCOL_PRIORITY] = "Priority", [HCOL_NAME] = "Name",
		[HCOL_EVENTS_ID] = "EventId", [HCOL_TASK] = "Task", [HCOL_TASK_TYPE] = "TaskType",
		[HCOL_STATUS] = "Status", [HCOL_LAST_STATUS] = "LastStatus",
		[HCOL_LAST_RUN_AT] = "LastRunAt",
	};
	char key[64];
	for (size_t col = 0; col < HCOL__MAX; col++) {
		snprintf(key, sizeof key, "Handlers.%zu.%s", row, names[col]);
		web_set(req, key, db_cell(rows, row, col));
	}
	const struct event_def *event = events_find(db_cell(rows, row, HCOL_EVENTS_ID));
	snprintf(key, sizeof key, "Handlers.%zu.EventGroup", row);
	web_set(req, key, event ? event->group : "");
	snprintf(key, sizeof key, "Handlers.%zu.EventLabel", row);
	web_set(req, key, event ? event->label : db_cell(rows, row, HCOL_EVENTS_ID));
}

void page_handlers_list(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct handler_filter filter = {0};
	struct db_rows rows;
	if (handlers_list(db, &filter, &rows) != 0) {
		web_error(req, 500, "The handler list could not be read.", db_error(db));
		return;
	}
	for (size_t row = 0; row < rows.nrows; row++)
		set_handler_row(req, &rows, row);
	web_set_int(req, "List.Count", (long long)rows.nrows);
	db_rows_free(&rows);
	set_event_catalog(req);
	web_set(req, "Page.Title", "Provisioning API");
	web_set(req, "Page.Section", "handlers");
	web_render(req, 200, "handlers_list.cs");
}
