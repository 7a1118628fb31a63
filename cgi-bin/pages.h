/* pages: every page function of the panel; the table in panel.c routes to them. */
#ifndef PROV_PAGES_H
#define PROV_PAGES_H

struct web_request;

/* page_login.c */
void page_root(struct web_request *req);
void page_login_form(struct web_request *req);
void page_login_submit(struct web_request *req);
void page_logout(struct web_request *req);

/* page_handlers_form.c */
void page_handler_new(struct web_request *req);
void page_handler_create(struct web_request *req);
void page_handler_show(struct web_request *req);
void page_handler_test(struct web_request *req);
void page_handler_test_new(struct web_request *req);
void page_handler_test_show(struct web_request *req); /* page_handlers_test.c: a queued script test */
void page_handler_update(struct web_request *req);
void page_handler_secret(struct web_request *req);
/* page_handlers_actions.c */
void page_handler_toggle(struct web_request *req);
void page_handler_delete_confirm(struct web_request *req);
void page_handler_delete(struct web_request *req);

/* page_handlers.c */
void page_handlers_list(struct web_request *req);

/* page_apikeys.c */
void page_apikeys_list(struct web_request *req);
void page_apikeys_create(struct web_request *req);
void page_apikeys_revoke(struct web_request *req);
/* page_scheduler.c */
void page_scheduler(struct web_request *req);
void page_scheduler_cache_restart(struct web_request *req);
/* page_logs.c */
void page_logs_list(struct web_request *req);
void page_logs_event(struct web_request *req);
void page_logs_detail(struct web_request *req);
void page_logs_purge(struct web_request *req);
void page_logs_redeliver(struct web_request *req);

/* page_bulk.c (issue #16: bulk recovery) */
struct db;
struct logs_input;
/* For the Execution Logs list: Bulk.* when an admin views failed executions since a time. */
void page_logs_bulk_offer(struct web_request *req, struct db *db, const struct logs_input *in);
void page_logs_bulk_confirm(struct web_request *req);
void page_logs_bulk_submit(struct web_request *req);
void page_logs_bulk_show(struct web_request *req);

/* page_history.c (issue #16: history, publish preview and rollback) */
/* History.* for the handler form; 0 or -1 (db_error). */
int page_history_panel(struct web_request *req, struct db *db, long long handler_id);
/* Preview.* (when edits are pending), Publishes.*, Generations.* for the Task Scheduler. */
int page_history_scheduler(struct web_request *req, struct db *db, int pending);
void page_scheduler_rollback_confirm(struct web_request *req);
void page_scheduler_rollback(struct web_request *req);

#endif
