/* Unit tests: the event catalog. */
#include "events.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

static void catalog_has_the_fifteen_events_of_the_spec(void **state)
{
	(void)state;
	assert_int_equal(events_count(), 15);
	assert_null(events_at(15));
	size_t clients = 0, accounts = 0, packages = 0;
	for (size_t i = 0; i < events_count(); i++) {
		const struct event_def *e = events_at(i);
		if (strcmp(e->group, "Clients") == 0)
			clients++;
		else if (strcmp(e->group, "Accounts") == 0)
			accounts++;
		else if (strcmp(e->group, "Clients Packages") == 0)
			packages++;
		assert_ptr_equal(events_find(e->id), e);
	}
	assert_int_equal(clients, 7);
	assert_int_equal(accounts, 3);
	assert_int_equal(packages, 5);
}

static void find_knows_labels_and_refuses_unknown_ids(void **state)
{
	(void)state;
	const struct event_def *e = events_find("clients.balance_zero");
	assert_non_null(e);
	assert_string_equal(e->label, "balance became <=0");
	assert_string_equal(events_find("clients.subscriptions.renew")->group, "Clients Packages");
	assert_null(events_find("clients.Create"));
	assert_null(events_find("clients.create "));
	assert_null(events_find(""));
	assert_null(events_find(NULL));
}

static void valid_list_names_every_event(void **state)
{
	(void)state;
	const char *list = events_valid_list();
	for (size_t i = 0; i < events_count(); i++)
		assert_non_null(strstr(list, events_at(i)->id));
	assert_ptr_equal(list, events_valid_list()); /* built once */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(catalog_has_the_fifteen_events_of_the_spec),
	    cmocka_unit_test(find_knows_labels_and_refuses_unknown_ids),
	    cmocka_unit_test(valid_list_names_every_event),
	};
	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
