/* api endpoints: every route function of the JSON API; the table in api.c routes to them. */
#ifndef PROV_API_ENDPOINTS_H
#define PROV_API_ENDPOINTS_H

struct api_request;

/* api_events.c */
void api_events_list(struct api_request *req);
void api_me(struct api_request *req);

#endif
