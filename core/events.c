/* events: the catalog table and lookups over it. */
#include "events.h"

#include <string.h>

static const struct event_def catalog[] = {
    {"clients.create", "Clients", "create"},
    {"clients.update", "Clients", "update"},
    {"clients.delete", "Clients", "delete"},
    {"clients.archive", "Clients", "archive"},
    {"clients.custom_fields.update", "Clients", "custom fields update"},
    {"clients.balance_notzero", "Clients", "balance became >=0"},
    {"clients.balance_zero", "Clients", "balance became <=0"},
    {"clients.accounts.create", "Accounts", "create"},
    {"clients.accounts.update", "Accounts", "update"},
    {"clients.accounts.delete", "Accounts", "delete"},
    {"clients.subscriptions.assign", "Clients Packages", "assign"},
    {"clients.subscriptions.activate", "Clients Packages", "activate"},
    {"clients.subscriptions.deactivate", "Clients Packages", "deactivate"},
    {"clients.subscriptions.renew", "Clients Packages", "renew"},
    {"clients.subscriptions.close", "Clients Packages", "close"},
};

#define CATALOG_SIZE (sizeof catalog / sizeof catalog[0])

size_t events_count(void)
{
	return CATALOG_SIZE;
}

const struct event_def *events_at(size_t index)
{
	return index < CATALOG_SIZE ? &catalog[index] : NULL;
}

const struct event_def *events_find(const char *id)
{
	if (id == NULL)
		return NULL;
	for (size_t i = 0; i < CATALOG_SIZE; i++)
		if (strcmp(catalog[i].id, id) == 0)
			return &catalog[i];
	return NULL;
}

const char *events_valid_list(void)
{
	/* Built once; the catalog is constant. Sized for the ids plus ", ". */
	static char list[1024];
	if (list[0] == '\0') {
		size_t used = 0;
		for (size_t i = 0; i < CATALOG_SIZE; i++) {
			size_t len = strlen(catalog[i].id);
			if (used + len + 3 > sizeof list)
				break;
			if (i > 0) {
				memcpy(list + used, ", ", 2);
				used += 2;
			}
			memcpy(list + used, catalog[i].id, len);
			used += len;
			list[used] = '\0';
		}
	}
	return list;
}
