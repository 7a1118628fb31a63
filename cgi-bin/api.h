/* api endpoints: every route function of the JSON API; the table in api.c routes to them. */
#ifndef PROV_API_ENDPOINTS_H
#define PROV_API_ENDPOINTS_H

#include <jansson.h>

struct api_request;

/* api_events.c */
void api_events_list(struct api_request *req);
void api_me(struct api_request *req);

/* api_handlers.c */
void api_handlers_list(struct api_request *req);
void api_handlers_create(struct api_request *req);
void api_handlers_get(struct api_request *req);
void api_handlers_update(struct api_request *req);
void api_handlers_delete(struct api_request *req);
void api_handlers_set_status(struct api_request *req);
void api_handlers_test(struct api_request *req);
void api_handlers_test_unsaved(struct api_request *req);

/* api_handler_tests.c (issue #16: script Send tests run by prov-worker) */
struct db;
struct handler;
/* Queue the test of script handler h and answer 202 (429 when the queue is full). */
void api_handler_test_queue(struct api_request *req, struct db *db, const struct handler *h, json_t *data);
void api_handler_tests_get(struct api_request *req);

/* api_cache.c */
void api_cache_get(struct api_request *req);
void api_cache_restart(struct api_request *req);

/* api_logs.c */
void api_logs_list(struct api_request *req);
void api_logs_get(struct api_request *req);
void api_logs_redeliver(struct api_request *req);

/* api_bulk.c (issue #16: bulk recovery) */
void api_bulk_create(struct api_request *req);
void api_bulk_get(struct api_request *req);

/* api_history.c (issue #16: history, publish preview, rollback) */
void api_handlers_history(struct api_request *req);
void api_cache_preview(struct api_request *req);
void api_cache_history(struct api_request *req);
void api_cache_generations(struct api_request *req);
void api_cache_rollback(struct api_request *req);

/* api_metrics.c */
void api_metrics(struct api_request *req);

#endif
