/* api: the JSON API's request loop (SPEC section 8): routing, X-Api-Key
 * authentication with the key's user role, JSON bodies (Jansson), and the one
 * error shape {"error":{"message":...,"data":{"code":...,"field":...}}}. */
#ifndef PROV_API_H
#define PROV_API_H

#include "users.h"
#include "web.h"

#include <jansson.h>
#include <stddef.h>

struct api_request;
struct db;

enum api_access {
	API_READ,   /* any valid key */
	API_WRITE,  /* a key of an admin user */
	API_SCRAPE, /* any valid key, as X-Api-Key or "Authorization: Bearer" (how Prometheus sends
	               one), or none from a client address in the config's metrics_allow */
};

typedef void (*api_fn)(struct api_request *req);

struct api_route {
	const char *method;
	const char *pattern; /* "/handlers/#": '#' matches a positive id */
	enum api_access access;
	api_fn fn;
};

int api_serve(struct app *app, const struct api_route *routes, size_t nroutes);

struct app *api_app(struct api_request *req);
struct db *api_db(struct api_request *req); /* NULL after answering 503 */
const struct user *api_user(struct api_request *req);
long long api_path_id(struct api_request *req);
/* The request's JSON object, or NULL when the request had no body. */
json_t *api_body(struct api_request *req);
/* A decoded query-string parameter, or NULL. */
const char *api_query(struct api_request *req, const char *name);
/* For a route that takes query parameters: 0 when every name in the query
 * string is one of accepted (NULL-terminated), else answers 400 (the API's
 * answer to any bad query; 422 is for bad body fields) naming the first other
 * one and what the route takes, and returns -1. A misspelled filter must not
 * silently widen a list ("?event=" for "?events_id="). */
int api_query_only(struct api_request *req, const char *const *accepted);
/* A UTC time from MariaDB ("YYYY-MM-DD HH:MM:SS[.ffffff]") as ISO 8601 with
 * its zone ("YYYY-MM-DDTHH:MM:SS[.ffffff]Z"); JSON null for NULL or "". */
json_t *api_time(const char *db_time);

#define API_MAX_QUERY 32
#define API_QUERY_VALUE_MAX 8192
/* Split a query string (modified in place) into its pairs, percent-decoded
 * (ClearSilver's decoder): names[i] = values[i]. Returns how many, or -1 when
 * there are more than max or a value is longer than API_QUERY_VALUE_MAX.
 * api_query answers a name's first pair. */
long api_query_split(char *query, const char **names, const char **values, size_t max);

/* Answer with body (reference stolen; NULL for 204). */
void api_reply(struct api_request *req, int status, json_t *body);
/* Answer with a text body of content_type (copied). */
void api_reply_text(struct api_request *req, int status, const char *content_type, const char *text,
                    size_t len);
/* Answer with the error shape; code and field may be NULL. */
void api_fail(struct api_request *req, int status, const char *message, const char *code, const char *field);

#endif
