/* page_handlers_form: the New Handler and Edit forms (read-only for viewers),
 * and their submits. Validation is handler_validate's alone; an invalid
 * submit shows the form again with the operator's values and one message
 * next to each bad field. A generated signing secret is shown once, on the
 * secret page the save redirects to (POST / redirect / GET: a reload of it
 * shows "already shown" and saves nothing); session_flash carries it there. */
#include "page_handlers.h"

#include "pages.h"

#include "page_charts.h"

#include "db.h"
#include "retry.h"
#include "session_flash.h"
#include "web.h"

#include <stdio.h>
#include <string.h>

/* The form's fields, named as handler_input names them, and their labels in
 * a conflict's list (NULL: an input of a save only, never stored). */
static const struct form_field {
	const char *name;
	const char *label;
} form_fields[] = {
    {"name", "Name"},
    {"events_id", "Event"},
    {"task", "Task"},
    {"status", "Status"},
    {"priority", "Priority"},
    {"timeout", "Timeout (s)"},
    {"retry_enabled", "Retries"},
    {"retry_schedule", "Retry schedule"},
    {"retry_max_attempts", "Retry attempts"},
    {"ordered", "Per-object order"},
    {"secret_action", NULL},
    {"old_secret_hours", NULL},
    {"signature_scheme", "Signature scheme"},
};
#define NFIELDS (sizeof form_fields / sizeof form_fields[0])

static void set_form_field(struct web_request *req, const char *field, const char *value)
{
	char key[64];
	snprintf(key, sizeof key, "Form.Values.%s", field);
	web_set(req, key, value);
}

/* "5000" ms -> "5", "2500" -> "2.5", "250" -> "0.25". */
static void format_seconds(long ms, char *out, size_t outlen)
{
	if (ms % 1000 == 0)
		snprintf(out, outlen, "%ld", ms / 1000);
	else if (ms % 100 == 0)
		snprintf(out, outlen, "%ld.%ld", ms / 1000, (ms % 1000) / 100);
	else if (ms % 10 == 0)
		snprintf(out, outlen, "%ld.%02ld", ms / 1000, (ms % 1000) / 10);
	else
		snprintf(out, outlen, "%ld.%03ld", ms / 1000, ms % 1000);
}

/* A stored handler's field as the form shows it (a viewer sees a task's
 * credentials masked); buf holds numbers and masked text. */
static const char *form_value(struct web_request *req, const struct handler *h, const char *field, char *buf,
                              size_t len)
{
	if (strcmp(field, "name") == 0)
		return h->name;
	if (strcmp(field, "events_id") == 0)
		return h->events_id;
	if (strcmp(field, "task") == 0) {
		const struct session *session = web_session(req);
		if (session != NULL && session->user.role == ROLE_ADMIN)
			return h->task;
		handler_task_masked(h->task, buf, len); /* a viewer's form is read-only */
		return buf;
	}
	if (strcmp(field, "status") == 0)
		return handler_status_name(h->status);
	if (strcmp(field, "priority") == 0) {
		snprintf(buf, len, "%ld", h->priority);
		return buf;
	}
	if (strcmp(field, "timeout") == 0) {
		format_seconds(h->timeout_ms, buf, len);
		return buf;
	}
	if (strcmp(field, "retry_enabled") == 0)
		return h->retry_enabled ? "1" : "0";
	if (strcmp(field, "retry_schedule") == 0)
		return h->retry_schedule;
	if (strcmp(field, "ordered") == 0)
		return h->ordered ? "1" : "0";
	if (strcmp(field, "retry_max_attempts") == 0) {
		snprintf(buf, len, "%ld", h->retry_max_attempts);
		return h->retry_max_attempts > 0 ? buf : "";
	}
	if (strcmp(field, "signature_scheme") == 0)
		return handler_scheme_name(h->signature_scheme);
	if (strcmp(field, "old_secret_hours") == 0)
		return "0";
	return "keep"; /* secret_action: an input of a save, never stored */
}

static void set_form_from_handler(struct web_request *req, const struct handler *h)
{
	char buf[HANDLER_TASK_MASKED_MAX];
	for (size_t i = 0; i < NFIELDS; i++)
		set_form_field(req, form_fields[i].name,
		               form_value(req, h, form_fields[i].name, buf, sizeof buf));
	web_set_int(req, "Form.Revision", h->revision);
	handler_test_form_set(req, h->events_id);
}

/* A save made on an older revision: the operator's values stay in the form,
 * the stored ones that differ from them are listed (what the other save
 * left), and the form now carries the stored revision: saving again replaces
 * that save knowingly. */
static void set_conflict(struct web_request *req, const struct handler *stored)
{
	char buf[HANDLER_TASK_MASKED_MAX], key[64];
	size_t n = 0;
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *theirs = form_value(req, stored, form_fields[i].name, buf, sizeof buf);
		const char *yours = web_param(req, form_fields[i].name);
		/* A save's input only, not sent (its default applies), or the same. */
		if (form_fields[i].label == NULL || yours == NULL || strcmp(theirs, yours) == 0)
			continue;
		snprintf(key, sizeof key, "Form.Conflict.Fields.%zu.Label", n);
		web_set(req, key, form_fields[i].label);
		snprintf(key, sizeof key, "Form.Conflict.Fields.%zu.Theirs", n);
		web_set(req, key, theirs);
		n++;
	}
	web_set_int(req, "Form.Conflict.Revision", stored->revision);
	web_set(req, "Form.Conflict.UpdatedAt", stored->updated_at);
	web_set_int(req, "Form.Revision", stored->revision);
}

static void set_form_from_request(struct web_request *req)
{
	for (size_t i = 0; i < NFIELDS; i++)
		set_form_field(req, form_fields[i].name, web_param(req, form_fields[i].name));
	web_set(req, "Form.Revision", web_param(req, "revision"));
	handler_test_form_set(req, web_param(req, "events_id"));
}

void handler_form_read_input(struct web_request *req, struct handler_input *in)
{
	in->name = web_param(req, "name");
	in->events_id = web_param(req, "events_id");
	in->task = web_param(req, "task");
	in->status = web_param(req, "status");
	in->priority = web_param(req, "priority");
	in->timeout = web_param(req, "timeout");
	in->retry_enabled = web_param(req, "retry_enabled");
	in->retry_schedule = web_param(req, "retry_schedule");
	in->retry_max_attempts = web_param(req, "retry_max_attempts");
	in->ordered = web_param(req, "ordered");
	in->secret_action = web_param(req, "secret_action");
	in->old_secret_hours = web_param(req, "old_secret_hours");
	in->signature_scheme = web_param(req, "signature_scheme");
	in->revision = web_param(req, "revision");
}

static void set_meta(struct web_request *req, const struct handler *h)
{
	web_set_int(req, "Form.Id", h->id);
	web_set_int(req, "Form.HasSecret", h->has_secret);
	web_set(req, "Form.OldSecretUntil", h->old_secret_until); /* never the old secret itself */
	web_set(req, "Form.Meta.CreatedAt", h->created_at);
	web_set(req, "Form.Meta.UpdatedAt", h->updated_at);
	web_set(req, "Form.Meta.LastStatus", h->last_status);
	web_set(req, "Form.Meta.LastRunAt", h->last_run_at);
	web_set_int(req, "Form.Meta.Failures", h->consecutive_failures);
	web_set(req, "Form.Meta.LastError", h->last_error);
	web_set(req, "Form.Meta.Status", handler_status_name(h->status));
}

/* Everything the template needs besides the values; renders it. */
static void render_form(struct web_request *req, int status, const struct list_state *state,
                        const struct handler_errors *errors)
{
	char query[LIST_QUERY_MAX], key[64];
	list_state_query(req, state, 1, query);
	web_set(req, "Form.Return", query);
	web_setf(req, "Form.ListUrl", "/handlers%s%s", query[0] ? "?" : "", query);
	web_set(req, "Form.ScriptsDir", web_app(req)->cfg.scripts_dir);
	web_set(req, "Form.DefaultSchedule", RETRY_DEFAULT_SCHEDULE);
	const struct session *session = web_session(req);
	web_set_int(req, "Form.ReadOnly", session == NULL || session->user.role != ROLE_ADMIN);
	for (size_t i = 0; errors != NULL && i < errors->count; i++) {
		snprintf(key, sizeof key, "Form.Errors.%s", errors->list[i].field);
		web_set(req, key, errors->list[i].message);
	}
	web_set_int(req, "Form.ErrorCount", errors ? (long long)errors->count : 0);
	set_event_catalog(req);
	web_set(req, "Page.Section", "handlers");
	web_render(req, status, "handlers_form.cs");
}

/* After a save that generated a secret: keep it for the session's next GET
 * of the secret page, wipe it here, and redirect there. */
static void redirect_to_secret(struct web_request *req, struct handler *h, const struct list_state *state,
                               const char *done, int replaced)
{
	struct secret_flash flash = {.handler_id = h->id,
	                             .old_secret_hours = replaced ? h->old_secret_hours : 0};
	snprintf(flash.done, sizeof flash.done, "%s", done);
	memcpy(flash.secret, h->secret, sizeof flash.secret);
	handler_forget_secret(h);
	struct db *db = web_db(req);
	if (db == NULL) {
		session_flash_forget(&flash);
		return;
	}
	int kept = session_flash_put_secret(db, web_session(req), &flash);
	session_flash_forget(&flash);
	if (kept != 0) {
		web_error(req, 503,
		          "The handler was saved, but its new signing secret could not be kept to be shown: "
		          "generate a new one in its form.",
		          db_error(db));
		return;
	}
	char query[LIST_QUERY_MAX], param[3 * LIST_QUERY_MAX], location[64 + 3 * LIST_QUERY_MAX];
	list_state_query(req, state, 1, query);
	list_query_as_param(query, param, sizeof param);
	snprintf(location, sizeof location, "/handlers/%lld/secret%s%s", h->id, param[0] ? "?return=" : "",
	         param);
	web_redirect(req, location);
}

void page_handler_new(struct web_request *req)
{
	struct list_state state;
	list_state_from_return(req, &state);
	struct handler defaults = {.status = HANDLER_ENABLED,
	                           .priority = 1,
	                           .timeout_ms = HANDLER_TIMEOUT_DEFAULT_MS,
	                           .retry_enabled = 1,
	                           .ordered = 1};
	set_form_from_handler(req, &defaults);
	set_form_field(req, "task", "");
	web_set(req, "Form.Mode", "new");
	web_set(req, "Page.Title", "New handler");
	render_form(req, 200, &state, NULL);
}

void page_handler_create(struct web_request *req)
{
	struct list_state state;
	list_state_from_return(req, &state);
	struct handler_input in;
	handler_form_read_input(req, &in);
	struct handler h;
	struct handler_errors errors;
	if (handler_validate(&in, web_app(req)->cfg.scripts_dir, web_app(req)->cfg.outbound_allow, &h,
	                     &errors) != 0) {
		set_form_from_request(req);
		web_set(req, "Form.Mode", "new");
		web_set(req, "Page.Title", "New handler");
		render_form(req, 422, &state, &errors);
		return;
	}
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	if (handlers_insert(db, &h) != HANDLER_STORE_OK) {
		web_error(req, 503, "The handler could not be saved; try again shortly.", db_error(db));
		return;
	}
	if (h.secret[0] != '\0')
		redirect_to_secret(req, &h, &state, "created", 0);
	else
		list_redirect(req, &state, "created", h.id);
}

/* Load handler id for the edit pages; answers 404/503 itself when it cannot. */
static int load_handler(struct web_request *req, struct handler *h)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return -1;
	enum handler_store_result got = handlers_get(db, web_path_id(req), h);
	if (got == HANDLER_STORE_OK)
		return 0;
	handler_store_failed(req, got, db, "The handler could not be read; try again shortly.");
	return -1;
}

/* The edit form for handler h, its values already set. */
static void render_edit(struct web_request *req, int status, const struct list_state *state,
                        const struct handler *h, const struct handler_errors *errors)
{
	set_meta(req, h);
	charts_set_handler(req, web_db(req), h->id);
	web_set(req, "Form.Mode", "edit");
	web_setf(req, "Page.Title", "Handler #%lld", h->id);
	render_form(req, status, state, errors);
}

void page_handler_show(struct web_request *req)
{
	struct list_state state;
	list_state_from_return(req, &state);
	struct handler h;
	if (load_handler(req, &h) != 0)
		return;
	set_form_from_handler(req, &h);
	struct db *db = web_db(req);
	if (db == NULL || page_history_panel(req, db, h.id) != 0) { /* page_history.c */
		if (db != NULL)
			web_error(req, 500, "The handler's history could not be read.", db_error(db));
		return;
	}
	render_edit(req, 200, &state, &h, NULL);
}

void page_handler_update(struct web_request *req)
{
	struct list_state state;
	list_state_from_return(req, &state);
	struct handler current;
	if (load_handler(req, &current) != 0)
		return;
	struct handler_input in;
	handler_form_read_input(req, &in);
	struct handler h;
	struct handler_errors errors;
	if (handler_validate(&in, web_app(req)->cfg.scripts_dir, web_app(req)->cfg.outbound_allow, &h,
	                     &errors) != 0) {
		set_form_from_request(req);
		render_edit(req, 422, &state, &current, &errors);
		return;
	}
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	enum handler_store_result saved = handlers_update(db, current.id, &h);
	if (saved == HANDLER_STORE_CONFLICT && handlers_get(db, current.id, &current) == HANDLER_STORE_OK) {
		set_form_from_request(req);
		set_conflict(req, &current);
		render_edit(req, 409, &state, &current, NULL);
		return;
	}
	if (saved != HANDLER_STORE_OK) {
		handler_store_failed(req, saved, db, "The handler could not be saved; try again shortly.");
		return;
	}
	if (h.secret[0] != '\0')
		redirect_to_secret(req, &h, &state, "saved", current.has_secret);
	else if (h.status == HANDLER_ARCHIVED && current.status != HANDLER_ARCHIVED)
		list_redirect(req, &state, "archived", h.id); /* the list says where it went */
	else
		list_redirect(req, &state, "saved", h.id);
}

void handler_form_again(struct web_request *req, int status, const struct list_state *state,
                        const struct handler *stored, const struct handler_errors *errors)
{
	set_form_from_request(req);
	if (stored != NULL) {
		render_edit(req, status, state, stored, errors);
		return;
	}
	web_set(req, "Form.Mode", "new");
	web_set(req, "Page.Title", "New handler");
	render_form(req, status, state, errors);
}

/* The page a save that generated a secret redirects to: the secret, once.
 * Again (a reload, another tab, a bookmark) it says it was already shown. */
void page_handler_secret(struct web_request *req)
{
	struct list_state state;
	list_state_from_return(req, &state);
	struct handler h;
	if (load_handler(req, &h) != 0)
		return;
	struct db *db = web_db(req);
	struct secret_flash flash;
	int found = session_flash_take_secret(db, web_session(req), h.id, &flash);
	if (found < 0) {
		web_error(req, 503, "The signing secret could not be read; try again shortly.", db_error(db));
		return;
	}
	char query[LIST_QUERY_MAX];
	list_state_query(req, &state, 1, query);
	web_setf(req, "Secret.ListUrl", "/handlers%s%s", query[0] ? "?" : "", query);
	web_set_int(req, "Secret.Id", h.id);
	web_set(req, "Secret.Name", h.name);
	web_set(req, "Secret.Scheme", handler_scheme_name(h.signature_scheme));
	if (found) {
		web_set(req, "Secret.Done", flash.done);
		web_set_int(req, "Secret.OldHours", flash.old_secret_hours);
		web_set(req, "Secret.Value", flash.secret);
		session_flash_forget(&flash);
		web_set(req, "Page.Title", "Signing secret");
	} else {
		web_set(req, "Page.Title", "Signing secret already shown");
	}
	web_set(req, "Page.Section", "handlers");
	web_render(req, 200, "handlers_secret.cs");
}
