/* events: the one catalog of provisioning events (SPEC section 2).
 * The form's select, the search filter, validation and the dispatcher all read it. */
#ifndef PROV_EVENTS_H
#define PROV_EVENTS_H

#include <stddef.h>

struct event_def {
	const char *id;    /* events_id carried by forms, API, database */
	const char *group; /* "Clients", "Accounts", "Clients Packages" */
	const char *label; /* the operator's wording within its group */
};

size_t events_count(void);
const struct event_def *events_at(size_t index);
/* NULL when id is not a known events_id. */
const struct event_def *events_find(const char *id);
/* "clients.create, clients.update, ..." for error messages. */
const char *events_valid_list(void);

#endif
