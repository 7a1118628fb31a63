/* pages: every page function of the panel; the table in panel.c routes to them. */
#ifndef PROV_PAGES_H
#define PROV_PAGES_H

struct web_request;

/* page_login.c */
void page_root(struct web_request *req);
void page_login_form(struct web_request *req);
void page_login_submit(struct web_request *req);
void page_logout(struct web_request *req);

/* page_handlers.c */
void page_handlers_list(struct web_request *req);

/* page_logs.c */
void page_logs_list(struct web_request *req);
void page_logs_detail(struct web_request *req);
void page_logs_purge(struct web_request *req);

#endif
