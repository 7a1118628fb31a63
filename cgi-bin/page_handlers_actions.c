/* page_handlers_actions: the list's icons that change things: the status
 * toggle (enabled <-> disabled) and delete with its confirmation page. Each
 * answers with a redirect back to the list view the operator came from. */
#include "page_handlers.h"

#include "pages.h"

#include "db.h"
#include "web.h"

#include <string.h>

void page_handler_toggle(struct web_request *req)
{
	struct list_state state;
	list_state_from_return(req, &state);
	/* The status the operator asked for, not "the other one": a double
	 * click or a second tab cannot flip it back. */
	enum handler_status to;
	const char *wanted = web_param(req, "to");
	if (handler_status_parse(wanted, &to) != 0 || to == HANDLER_ARCHIVED) {
		web_error(req, 400, "The status icon switches between enabled and disabled only.", NULL);
		return;
	}
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	enum handler_store_result r = handlers_set_status(db, web_path_id(req), to);
	if (r == HANDLER_STORE_OK)
		list_redirect(req, &state, handler_status_name(to), web_path_id(req));
	else
		handler_store_failed(req, r, db, "The status could not be changed; try again shortly.");
}

void page_handler_delete_confirm(struct web_request *req)
{
	struct list_state state;
	list_state_from_return(req, &state);
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct handler h;
	enum handler_store_result got = handlers_get(db, web_path_id(req), &h);
	if (got != HANDLER_STORE_OK) {
		handler_store_failed(req, got, db, "The handler could not be read; try again shortly.");
		return;
	}
	char query[LIST_QUERY_MAX];
	list_state_query(req, &state, 1, query);
	const char *group, *label;
	event_labels(h.events_id, &group, &label);
	web_set_int(req, "Delete.Id", h.id);
	web_set(req, "Delete.Name", h.name);
	web_setf(req, "Delete.Event", "%s \u203a %s", group, label);
	web_set(req, "Delete.TaskType", handler_task_type_name(h.task_type));
	web_set(req, "Delete.Task", h.task);
	web_set(req, "Delete.Status", handler_status_name(h.status));
	web_set(req, "Delete.Return", query);
	web_setf(req, "Delete.ListUrl", "/handlers%s%s", query[0] ? "?" : "", query);
	web_setf(req, "Page.Title", "Delete handler #%lld", h.id);
	web_set(req, "Page.Section", "handlers");
	web_render(req, 200, "handlers_delete.cs");
}

void page_handler_delete(struct web_request *req)
{
	struct list_state state;
	list_state_from_return(req, &state);
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	enum handler_store_result r = handlers_delete(db, web_path_id(req));
	if (r == HANDLER_STORE_OK)
		list_redirect(req, &state, "deleted", web_path_id(req));
	else
		handler_store_failed(req, r, db, "The handler could not be deleted; try again shortly.");
}
