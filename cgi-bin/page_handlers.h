/* page_handlers: what the Provisioning API pages share: the list's state
 * (filters, sort, page) as it travels in query strings and in the hidden
 * "return" field of forms, and the event catalog for selects. */
#ifndef PROV_PAGE_HANDLERS_H
#define PROV_PAGE_HANDLERS_H

#include "handlers.h"

#include <jansson.h>
#include <stddef.h>

struct db;
struct web_request;

#define LIST_QUERY_MAX 256

/* Every value here has been checked: it can go into a URL as it is. */
struct list_state {
	char events_id[HANDLER_EVENT_MAX + 1]; /* "" = any */
	char task_type[8];                     /* "" = any */
	char status[16];                       /* "" = enabled + disabled */
	enum handler_sort sort;
	int descending;
	long size;                       /* rows per page */
	long page;                       /* 1-based */
	char error[HANDLER_MESSAGE_MAX]; /* why a filter value was dropped, or "" */
};

/* The state from the request's query string. */
void list_state_from_request(struct web_request *req, struct list_state *state);
/* The state from a form's "return" field ("event=...&sort=..."); bad parts are dropped. */
void list_state_from_return(struct web_request *req, struct list_state *state);
/* "event=...&sort=name" (defaults left out); with_page adds page when > 1. */
void list_state_query(struct web_request *req, const struct list_state *state, int with_page,
                      char out[LIST_QUERY_MAX]);

/* A list query as the value of a "return=" parameter ('=' and '&' encoded). */
const char *list_query_as_param(const char *query, char *out, size_t outlen);

/* Answer with a redirect to the list in state, telling it what was done to id. */
void list_redirect(struct web_request *req, const struct list_state *state, const char *done, long long id);

/* The answer to a store result other than HANDLER_STORE_OK: 404 when the
 * handler is gone, 409 when it is archived, else 503 saying failed (e.g.
 * "The handler could not be saved; try again shortly."). */
void handler_store_failed(struct web_request *req, enum handler_store_result r, struct db *db,
                          const char *failed);

/* Events.N.{Id,Group,Label} and EventGroups.N.{Name,Events.M.{Id,Label}}. */
void set_event_catalog(struct web_request *req);

/* "Clients", "create" for an events_id (the id itself when unknown). */
void event_labels(const char *events_id, const char **group, const char **label);

/* page_handlers_form.c: the form's fields from the request, and the form
 * again with the operator's values (stored NULL: the New form; errors may
 * be NULL), for the Send test answer. */
void handler_form_read_input(struct web_request *req, struct handler_input *in);
void handler_form_again(struct web_request *req, int status, const struct list_state *state,
                        const struct handler *stored, const struct handler_errors *errors);

/* page_handlers_test.c: Test.Data (the form's test payload: what was typed,
 * else the sample of events_id) and Test.SampleOf. */
void handler_test_form_set(struct web_request *req, const char *events_id);
/* Test.Result.* (templates/handlers_test_result.cs) from a result object
 * (handler_test_json); script: exit code rather than HTTP status; its title
 * is an h<heading_level>. */
void handler_test_result_set(struct web_request *req, json_t *result, int script, int heading_level);

#endif
