/* page_handlers: the Provisioning API list (Integration > Provisioning API):
 * Advanced Search filters, sortable columns, pages, status / logs / delete
 * icons, the pending-changes notice; and the list state every handler page
 * carries so that the operator lands back on the view they came from. */
#include "page_handlers.h"

#include "pages.h"

#include "page_charts.h"

#include "cache.h"
#include "db.h"
#include "events.h"
#include "web.h"

#include <ClearSilver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const long page_sizes[] = {10, 25, 50, 100};
#define NSIZES (sizeof page_sizes / sizeof page_sizes[0])

/* ---------------------------------------------------------------- list state */

static long default_size(struct web_request *req)
{
	return web_app(req)->cfg.page_size_default;
}

static int size_fixed(long size)
{
	for (size_t i = 0; i < NSIZES; i++)
		if (page_sizes[i] == size)
			return 1;
	return 0;
}

static int size_allowed(struct web_request *req, long size)
{
	return size == default_size(req) || size_fixed(size);
}

static void state_init(struct web_request *req, struct list_state *state)
{
	memset(state, 0, sizeof *state);
	state->sort = HANDLER_SORT_PRIORITY;
	state->size = default_size(req);
	state->page = 1;
}

/* A positive number of at most 9 digits, else -1. */
static long small_number(const char *text)
{
	size_t len = strlen(text);
	if (len == 0 || len > 9 || strspn(text, "0123456789") != len)
		return -1;
	return strtol(text, NULL, 10);
}

/* Apply one key=value. Filters that are not known are dropped with a message
 * (a bookmark from an older version should still open); paging and sorting
 * values that are not known fall back to their defaults. */
static void state_set(struct web_request *req, struct list_state *state, const char *key, const char *value)
{
	char why[HANDLER_MESSAGE_MAX];
	struct handler_filter probe = {0};
	if (value == NULL || value[0] == '\0')
		return;
	if (strcmp(key, "event") == 0 || strcmp(key, "type") == 0 || strcmp(key, "status") == 0) {
		char *target = key[0] == 'e'   ? state->events_id
		               : key[0] == 't' ? state->task_type
		                               : state->status;
		size_t size = key[0] == 'e'   ? sizeof state->events_id
		              : key[0] == 't' ? sizeof state->task_type
		                              : sizeof state->status;
		probe.events_id = key[0] == 'e' ? value : NULL;
		probe.task_type = key[0] == 't' ? value : NULL;
		probe.status = key[0] == 's' ? value : NULL;
		const char *problem = handler_filter_check(&probe, why, sizeof why);
		if (problem != NULL || strlen(value) >= size) {
			snprintf(state->error, sizeof state->error, "%s (filter ignored).",
			         problem ? problem : "Unknown filter value");
			return;
		}
		memcpy(target, value, strlen(value) + 1);
	} else if (strcmp(key, "sort") == 0) {
		if (handler_sort_parse(value, &state->sort) != 0)
			state->sort = HANDLER_SORT_PRIORITY;
	} else if (strcmp(key, "dir") == 0) {
		state->descending = strcmp(value, "desc") == 0;
	} else if (strcmp(key, "size") == 0) {
		long size = small_number(value);
		state->size = size_allowed(req, size) ? size : default_size(req);
	} else if (strcmp(key, "page") == 0) {
		long page = small_number(value);
		state->page = page >= 1 ? page : 1;
	}
}

static const char *const state_keys[] = {"event", "type", "status", "sort", "dir", "size", "page"};
#define NKEYS (sizeof state_keys / sizeof state_keys[0])

void list_state_from_request(struct web_request *req, struct list_state *state)
{
	state_init(req, state);
	for (size_t i = 0; i < NKEYS; i++)
		state_set(req, state, state_keys[i], web_param(req, state_keys[i]));
}

void list_state_from_return(struct web_request *req, struct list_state *state)
{
	state_init(req, state);
	const char *ret = web_param(req, "return");
	char buf[LIST_QUERY_MAX];
	if (ret == NULL || strlen(ret) >= sizeof buf)
		return;
	memcpy(buf, ret, strlen(ret) + 1);
	char *save = NULL;
	for (char *pair = strtok_r(buf, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		cgi_url_unescape(eq + 1);
		state_set(req, state, pair, eq + 1);
	}
	state->error[0] = '\0'; /* the list shows no complaint about a form's return */
}

static void append(char *out, size_t *used, const char *key, const char *value)
{
	int n = snprintf(out + *used, LIST_QUERY_MAX - *used, "%s%s=%s", *used ? "&" : "", key, value);
	if (n > 0 && (size_t)n < LIST_QUERY_MAX - *used)
		*used += (size_t)n;
}

void list_state_query(struct web_request *req, const struct list_state *state, int with_page,
                      char out[LIST_QUERY_MAX])
{
	size_t used = 0;
	char number[24];
	out[0] = '\0';
	if (state->events_id[0])
		append(out, &used, "event", state->events_id);
	if (state->task_type[0])
		append(out, &used, "type", state->task_type);
	if (state->status[0])
		append(out, &used, "status", state->status);
	if (state->sort != HANDLER_SORT_PRIORITY)
		append(out, &used, "sort", handler_sort_name(state->sort));
	if (state->descending)
		append(out, &used, "dir", "desc");
	if (state->size != default_size(req)) {
		snprintf(number, sizeof number, "%ld", state->size);
		append(out, &used, "size", number);
	}
	if (with_page && state->page > 1) {
		snprintf(number, sizeof number, "%ld", state->page);
		append(out, &used, "page", number);
	}
}

void list_redirect(struct web_request *req, const struct list_state *state, const char *done, long long id)
{
	char query[LIST_QUERY_MAX], location[LIST_QUERY_MAX + 64];
	list_state_query(req, state, 1, query);
	snprintf(location, sizeof location, "/handlers?%s%sdone=%s&id=%lld", query, query[0] ? "&" : "", done,
	         id);
	web_redirect(req, location);
}

void handler_store_failed(struct web_request *req, enum handler_store_result r, struct db *db,
                          const char *failed)
{
	if (r == HANDLER_STORE_NOT_FOUND)
		web_error(req, 404, "There is no such handler; it may have been deleted.", NULL);
	else if (r == HANDLER_STORE_ARCHIVED)
		web_error(req, 409, "This handler is archived: change its status in the edit form.", NULL);
	else if (r == HANDLER_STORE_CONFLICT)
		web_error(req, 409, "Someone else saved this handler meanwhile: open it again.", NULL);
	else
		web_error(req, 503, failed, db_error(db));
}

/* ---------------------------------------------------------------- events */

void event_labels(const char *events_id, const char **group, const char **label)
{
	const struct event_def *event = events_find(events_id);
	*group = event ? event->group : "";
	*label = event ? event->label : (events_id ? events_id : "");
}

void set_event_catalog(struct web_request *req)
{
	char key[96];
	size_t group = 0, member = 0;
	for (size_t i = 0; i < events_count(); i++) {
		const struct event_def *event = events_at(i);
		if (i > 0 && strcmp(events_at(i - 1)->group, event->group) != 0) {
			group++;
			member = 0;
		}
		snprintf(key, sizeof key, "EventGroups.%zu.Name", group);
		web_set(req, key, event->group);
		snprintf(key, sizeof key, "EventGroups.%zu.Events.%zu.Id", group, member);
		web_set(req, key, event->id);
		snprintf(key, sizeof key, "EventGroups.%zu.Events.%zu.Label", group, member);
		web_set(req, key, event->label);
		member++;
	}
}

/* ---------------------------------------------------------------- the page */

static void set_row_value(struct web_request *req, size_t row, const char *name, const char *value)
{
	char key[64];
	snprintf(key, sizeof key, "Handlers.%zu.%s", row, name);
	web_set(req, key, value);
}

/* "3 min ago": the health hint reads at a glance. */
static void format_age(long long seconds, char *out, size_t outlen)
{
	if (seconds < 60)
		snprintf(out, outlen, "just now");
	else if (seconds < 3600)
		snprintf(out, outlen, "%lld min ago", seconds / 60);
	else if (seconds < 86400)
		snprintf(out, outlen, "%lld h ago", seconds / 3600);
	else
		snprintf(out, outlen, "%lld days ago", seconds / 86400);
}

static void set_handler_row(struct web_request *req, const struct db_rows *rows, size_t row)
{
	static const char *const names[HCOL__MAX] = {
	    [HCOL_ID] = "Id",
	    [HCOL_PRIORITY] = "Priority",
	    [HCOL_NAME] = "Name",
	    [HCOL_EVENTS_ID] = "EventId",
	    [HCOL_TASK] = "Task",
	    [HCOL_TASK_TYPE] = "TaskType",
	    [HCOL_STATUS] = "Status",
	    [HCOL_LAST_STATUS] = "LastStatus",
	    [HCOL_LAST_RUN_AT] = "LastRunAt",
	    [HCOL_LAST_RUN_AGE] = "LastRunAge",
	    [HCOL_FAILURES] = "Failures",
	    [HCOL_LAST_ERROR] = "LastError",
	    [HCOL_HAS_SECRET] = "HasSecret",
	};
	for (size_t col = 0; col < HCOL__MAX; col++)
		set_row_value(req, row, names[col], db_cell(rows, row, col));
	const struct session *session = web_session(req);
	if (session == NULL || session->user.role != ROLE_ADMIN) {
		/* Credentials in a task's URL are for the admins who edit it. */
		char masked[HANDLER_TASK_MASKED_MAX];
		const char *task = db_cell(rows, row, HCOL_TASK);
		handler_task_masked(task ? task : "", masked, sizeof masked);
		set_row_value(req, row, "Task", masked);
	}
	const char *group, *label;
	event_labels(db_cell(rows, row, HCOL_EVENTS_ID), &group, &label);
	set_row_value(req, row, "EventGroup", group);
	set_row_value(req, row, "EventLabel", label);
	const char *status = db_cell(rows, row, HCOL_STATUS);
	if (status && strcmp(status, "enabled") == 0)
		set_row_value(req, row, "Toggle", "disabled");
	else if (status && strcmp(status, "disabled") == 0)
		set_row_value(req, row, "Toggle", "enabled");
	if (db_cell(rows, row, HCOL_LAST_RUN_AT) != NULL) {
		char age[32];
		format_age(db_cell_int(rows, row, HCOL_LAST_RUN_AGE, 0), age, sizeof age);
		set_row_value(req, row, "LastRunAgo", age);
	}
}

/* Column headers: a link that sorts by the column, ascending first, or
 * flips the direction of the current one. The page goes back to 1. */
static void set_sort_links(struct web_request *req, const struct list_state *state)
{
	char key[64], query[LIST_QUERY_MAX];
	for (int sort = 0; sort < HANDLER_SORT__MAX; sort++) {
		struct list_state link = *state;
		int active = state->sort == (enum handler_sort)sort;
		link.sort = (enum handler_sort)sort;
		link.descending = active ? !state->descending : 0;
		list_state_query(req, &link, 0, query);
		snprintf(key, sizeof key, "SortLinks.%s.Url", handler_sort_name(link.sort));
		web_setf(req, key, "/handlers%s%s", query[0] ? "?" : "", query);
		snprintf(key, sizeof key, "SortLinks.%s.Dir", handler_sort_name(link.sort));
		web_set(req, key, active ? (state->descending ? "desc" : "asc") : "");
	}
}

static void set_page_link(struct web_request *req, const char *key, const struct list_state *state, long page)
{
	struct list_state link = *state;
	char query[LIST_QUERY_MAX];
	link.page = page;
	list_state_query(req, &link, 1, query);
	web_setf(req, key, "/handlers%s%s", query[0] ? "?" : "", query);
}

/* Prev / next and a window of page numbers around the current one, with the
 * first and last always there: 1 … 4 5 [6] 7 8 … 20. */
static void set_pager(struct web_request *req, const struct list_state *state, long pages)
{
	char key[64];
	web_set_int(req, "Pager.Page", state->page);
	web_set_int(req, "Pager.Pages", pages);
	if (state->page > 1)
		set_page_link(req, "Pager.PrevUrl", state, state->page - 1);
	if (state->page < pages)
		set_page_link(req, "Pager.NextUrl", state, state->page + 1);
	size_t item = 0;
	long last_shown = 0;
	for (long page = 1; page <= pages && pages > 1; page++) {
		if (page != 1 && page != pages && labs(page - state->page) > 2)
			continue;
		if (page > last_shown + 1) {
			snprintf(key, sizeof key, "Pager.Items.%zu.Gap", item++);
			web_set(req, key, "1");
		}
		snprintf(key, sizeof key, "Pager.Items.%zu.Num", item);
		web_set_int(req, key, page);
		snprintf(key, sizeof key, "Pager.Items.%zu.Current", item);
		web_set(req, key, page == state->page ? "1" : "0");
		snprintf(key, sizeof key, "Pager.Items.%zu.Url", item++);
		set_page_link(req, key, state, page);
		last_shown = page;
	}
	/* The page sizes on offer: the fixed ones and the configured default, in order. */
	long sizes[NSIZES + 1];
	size_t n = 0;
	for (size_t i = 0; i < NSIZES; i++)
		sizes[n++] = page_sizes[i];
	if (!size_fixed(default_size(req)))
		sizes[n++] = default_size(req);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && sizes[j - 1] > sizes[j]; j--) {
			long swap = sizes[j];
			sizes[j] = sizes[j - 1];
			sizes[j - 1] = swap;
		}
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof key, "Pager.Sizes.%zu", i);
		web_set_int(req, key, sizes[i]);
	}
}

/* The one-time line after a change ("Handler #5 disabled."); panel.js takes
 * done/id out of the address bar so a reload or bookmark does not repeat it.
 * An archived handler leaves a view without Status: archived, so the line
 * says where it went, with a link to that view. */
static void set_flash(struct web_request *req, const struct list_state *state)
{
	static const char *const done_words[] = {"created",  "saved",   "enabled",
	                                         "disabled", "deleted", "archived"};
	const char *done = web_param(req, "done");
	const char *id = web_param(req, "id");
	if (done == NULL || id == NULL || small_number(id) < 1)
		return;
	for (size_t i = 0; i < sizeof done_words / sizeof done_words[0]; i++) {
		if (strcmp(done, done_words[i]) != 0)
			continue;
		web_set(req, "Flash.Id", id);
		if (strcmp(done, "archived") != 0 || strcmp(state->status, "archived") == 0) {
			web_setf(req, "Flash.Message", "Handler #%ld %s.", small_number(id), done);
			return;
		}
		web_setf(req, "Flash.Message", "Handler #%ld archived: it is listed under", small_number(id));
		struct list_state archived = *state;
		snprintf(archived.status, sizeof archived.status, "archived");
		archived.page = 1;
		char query[LIST_QUERY_MAX];
		list_state_query(req, &archived, 0, query);
		web_setf(req, "Flash.ArchivedUrl", "/handlers?%s", query);
		return;
	}
}

/* A list query as the value of a "return=" parameter. Its characters are
 * letters, digits, '.', '_', '=' and '&' (list_state_query only writes
 * checked values), so only '=' and '&' need encoding. */
const char *list_query_as_param(const char *query, char *out, size_t outlen)
{
	size_t used = 0;
	for (const char *p = query; *p && used + 4 < outlen; p++) {
		if (*p == '=' || *p == '&') {
			snprintf(out + used, outlen - used, "%%%02X", (unsigned char)*p);
			used += 3;
		} else {
			out[used++] = *p;
		}
	}
	out[used] = '\0';
	return out;
}

static void set_list_state(struct web_request *req, const struct list_state *state)
{
	char query[LIST_QUERY_MAX], param[3 * LIST_QUERY_MAX];
	web_set(req, "Filter.Event", state->events_id);
	web_set(req, "Filter.Type", state->task_type);
	web_set(req, "Filter.Status", state->status);
	web_set_int(req, "Filter.Active", state->events_id[0] || state->task_type[0] || state->status[0]);
	if (state->events_id[0]) {
		const char *group, *label;
		event_labels(state->events_id, &group, &label);
		web_setf(req, "Filter.EventLabel", "%s \u203a %s", group, label);
	}
	web_set(req, "List.Sort", handler_sort_name(state->sort));
	web_set(req, "List.Dir", state->descending ? "desc" : "asc");
	web_set_int(req, "List.Size", state->size);
	list_state_query(req, state, 1, query);
	web_set(req, "List.Return", query);
	web_set(req, "List.ReturnParam", list_query_as_param(query, param, sizeof param));
	/* Reset keeps how the operator sorts and pages, and drops the filters. */
	struct list_state reset = *state;
	reset.events_id[0] = reset.task_type[0] = reset.status[0] = '\0';
	list_state_query(req, &reset, 0, query);
	web_setf(req, "List.ResetUrl", "/handlers%s%s", query[0] ? "?" : "", query);
	if (state->error[0])
		web_set(req, "List.Error", state->error);
}

void page_handlers_list(struct web_request *req)
{
	struct list_state state;
	list_state_from_request(req, &state);
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	struct handler_filter filter = {.events_id = state.events_id,
	                                .task_type = state.task_type,
	                                .status = state.status,
	                                .sort = state.sort,
	                                .descending = state.descending,
	                                .limit = state.size};
	long long total = 0;
	struct cache_status cache;
	if (cache_status_read(db, &cache) != 0 || handlers_count(db, &filter, &total) != 0) {
		web_error(req, 500, "The handler list could not be read.", db_error(db));
		return;
	}
	long pages = total > 0 ? (long)((total + state.size - 1) / state.size) : 1;
	if (state.page > pages)
		state.page = pages; /* a bookmark past the end shows the last page */
	filter.offset = (state.page - 1) * (long long)state.size;
	struct db_rows rows;
	if (handlers_list(db, &filter, &rows) != 0) {
		web_error(req, 500, "The handler list could not be read.", db_error(db));
		return;
	}
	for (size_t row = 0; row < rows.nrows; row++)
		set_handler_row(req, &rows, row);
	charts_set_sparklines(req, db, &rows, HCOL_ID);
	web_set_int(req, "List.Count", (long long)rows.nrows);
	web_set_int(req, "List.Total", total);
	web_set_int(req, "List.From", rows.nrows ? filter.offset + 1 : 0);
	web_set_int(req, "List.To", filter.offset + (long long)rows.nrows);
	db_rows_free(&rows);
	web_set_int(req, "Cache.Pending", cache.pending);
	web_set_int(req, "Cache.Generation", cache.generation);
	web_set(req, "Cache.PublishedAt", cache.published_at);
	web_set(req, "Cache.PublishedBy", cache.published_by);
	set_list_state(req, &state);
	set_sort_links(req, &state);
	set_pager(req, &state, pages);
	set_flash(req, &state);
	set_event_catalog(req);
	web_set(req, "Page.Title", "Provisioning API");
	web_set(req, "Page.Section", "handlers");
	web_render(req, state.error[0] ? 400 : 200, "handlers_list.cs");
}
