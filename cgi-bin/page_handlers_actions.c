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
	switch (handlers_set_status(db, web_path_id(req), to)) {
	case HANDLER_STORE_OK: list_redirect(req, &state, handler_status_name(to), web_path_id(req)); return;
	case HANDLER_STORE_NOT_FOUND:
		web_error(req, 404, "There is no such handler; it may have been deleted.", NULL);
		return;
	case HANDLER_STORE_ARCHIVED:
		web_error(req, 409, "This handler is archived: change its status in the edit form.", NULL);
		return;
	default:
		web_error(req, 503, "The status could not be changed; try again shortly.", db_error(db));
		return;
	}
}

void page_handler_delete_confirm(struct web_request *req)
{
	struct list_state state;
	list_state_from_return(req, &state);
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct handler h;
	switch (handlers_get(db, web_path_id(req), &h)) {
	case HANDLER_STORE_OK: break;
	case HANDLER_STORE_NOT_FOUND:
		web_error(req, 404, "There is no such handler; it may have been deleted.", NULL);
		return;
	default:
		web_error(req, 503, "The handler could not be read; try again shortly.", db_error(db));
		return;
	}
	char query[LIST_QUERY_MAX];
	list_state_query(req, &state, 1, query);
	const char *group, *label;
	event_labels(h.events_id, &group, &label);
	web_set_int(req, "Delete.Id", h.id);
	web_set(req, "Delete.Name", h.name);
	web_setf(req, "Delete.Event", "%s %s", group, label);
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
	switch (handlers_delete(db, web_path_id(req))) {
	case HANDLER_STORE_OK: list_redirect(req, &state, "deleted", web_path_id(req)); return;
	case HANDLER_STORE_NOT_FOUND:
		web_error(req, 404, "There is no such handler; it may have been deleted already.", NULL);
		return;
	default:
		web_error(req, 503, "The handler could not be deleted; try again shortly.", db_error(db));
		return;
	}
}
