/* Unit tests: the field-by-field changes of the history (history_diff.c) and
 * the diff between two published handler sets (cache_diff.c). */
#include "cache.h"
#include "history.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);
	assert_non_null(v);
	return v;
}

/* "field:before>after;..." of a changes array, values as history_value_text writes them. */
static void changes_text(const json_t *changes, char *out, size_t outlen)
{
	size_t i, used = 0;
	json_t *c;
	out[0] = '\0';
	json_array_foreach(changes, i, c)
	{
		const char *field = json_string_value(json_object_get(c, "field"));
		char before[128], after[128];
		history_value_text(field, json_object_get(c, "before"), before, sizeof before);
		history_value_text(field, json_object_get(c, "after"), after, sizeof after);
		used += (size_t)snprintf(out + used, outlen - used, "%s:%s>%s;", field, before, after);
	}
}

static void edit_lists_changed_fields_in_form_order(void **state)
{
	(void)state;
	json_t *before =
	    load("{\"name\":\"CRM\",\"events_id\":\"clients.create\",\"task\":\"http://a/x\","
	         "\"status\":\"enabled\",\"priority\":1,\"timeout_ms\":5000,\"retry_enabled\":true,"
	         "\"retry_max_attempts\":null,\"secret\":null,\"revision\":3}");
	json_t *after =
	    load("{\"name\":\"CRM\",\"events_id\":\"clients.create\",\"task\":\"http://a/y\","
	         "\"status\":\"disabled\",\"priority\":1,\"timeout_ms\":2500,\"retry_enabled\":false,"
	         "\"retry_max_attempts\":4,\"secret\":null,\"revision\":4}");
	json_t *changes = history_changes(before, after);
	char text[1024];
	changes_text(changes, text, sizeof text);
	/* revision is not a field people edit; unchanged fields are left out. */
	assert_string_equal(text, "task:http://a/x>http://a/y;status:enabled>disabled;timeout_ms:5 s>2.500 s;"
	                          "retry_enabled:on>off;retry_max_attempts:(none)>4;");
	assert_string_equal(json_string_value(json_object_get(json_array_get(changes, 0), "label")), "Task");
	json_decref(changes);
	/* Nothing changed: an empty list. */
	changes = history_changes(before, before);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);
	json_decref(before);
	json_decref(after);
}

static void create_and_delete_list_every_field(void **state)
{
	(void)state;
	json_t *h =
	    load("{\"name\":\"N\",\"events_id\":\"clients.update\",\"priority\":2,\"secret\":\"set\"}");
	json_t *changes = history_changes(NULL, h);
	char text[512];
	changes_text(changes, text, sizeof text);
	assert_string_equal(
	    text, "name:(none)>N;events_id:(none)>clients.update;priority:(none)>2;secret:(none)>set;");
	json_decref(changes);
	changes = history_changes(h, NULL);
	changes_text(changes, text, sizeof text);
	assert_string_equal(
	    text, "name:N>(none);events_id:clients.update>(none);priority:2>(none);secret:set>(none);");
	json_decref(changes);
	json_decref(h);
}

static void a_secret_shows_only_that_it_changed(void **state)
{
	(void)state;
	/* As read (digests), as stored (secret_changed), and in snapshots (values). */
	json_t *a = load("{\"secret\":\"set\",\"secret_digest\":\"aa\"}");
	json_t *b = load("{\"secret\":\"set\",\"secret_digest\":\"bb\"}");
	json_t *stored = load("{\"secret\":\"set\",\"secret_changed\":true}");
	json_t *snap_a = load("{\"secret\":\"whsec_one\"}");
	json_t *snap_b = load("{\"secret\":\"whsec_two\"}");
	json_t *none = load("{\"secret\":null}");
	char text[256];
	json_t *c = history_changes(a, b);
	changes_text(c, text, sizeof text);
	assert_string_equal(text, "secret:set>changed;");
	json_decref(c);
	c = history_changes(a, a);
	assert_int_equal(json_array_size(c), 0);
	json_decref(c);
	c = history_changes(a, stored);
	changes_text(c, text, sizeof text);
	assert_string_equal(text, "secret:set>changed;");
	json_decref(c);
	c = history_changes(snap_a, snap_b);
	changes_text(c, text, sizeof text);
	assert_string_equal(text, "secret:set>changed;");
	char *dumped = json_dumps(c, 0);
	assert_null(strstr(dumped, "whsec"));
	free(dumped);
	json_decref(c);
	c = history_changes(snap_a, none);
	changes_text(c, text, sizeof text);
	assert_string_equal(text, "secret:set>(none);");
	json_decref(c);
	json_t *all[] = {a, b, stored, snap_a, snap_b, none};
	for (size_t i = 0; i < 6; i++)
		json_decref(all[i]);
}

static void cache_diff_lists_added_changed_removed(void **state)
{
	(void)state;
	json_t *published = load("[{\"id\":1,\"name\":\"a\",\"events_id\":\"clients.create\",\"task\":\"http:"
	                         "//x/1\",\"priority\":1},"
	                         "{\"id\":2,\"name\":\"b\",\"events_id\":\"clients.create\",\"task\":\"http:/"
	                         "/x/2\",\"priority\":2},"
	                         "{\"id\":3,\"name\":\"c\",\"events_id\":\"clients.update\",\"task\":\"http:/"
	                         "/x/3\",\"priority\":1}]");
	json_t *next = load("[{\"id\":1,\"name\":\"a\",\"events_id\":\"clients.create\",\"task\":\"http://x/"
	                    "1\",\"priority\":1},"
	                    "{\"id\":4,\"name\":\"d\",\"events_id\":\"clients.create\",\"task\":\"http://x/"
	                    "4\",\"priority\":3},"
	                    "{\"id\":3,\"name\":\"c2\",\"events_id\":\"clients.update\",\"task\":\"http://x/"
	                    "3\",\"priority\":5}]");
	json_t *d = cache_diff(published, next, 10);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "added_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(d, "changed_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(d, "removed_count")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(json_object_get(d, "added"), 0), "id")), 4);
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(json_object_get(d, "removed"), 0), "id")), 2);
	json_t *changed = json_array_get(json_object_get(d, "changed"), 0);
	assert_int_equal(json_integer_value(json_object_get(changed, "id")), 3);
	char text[256];
	changes_text(json_object_get(changed, "changes"), text, sizeof text);
	assert_string_equal(text, "name:c>c2;priority:1>5;");
	json_decref(d);
	/* The cap keeps the lists short and the counts whole. */
	json_t *empty = json_array();
	d = cache_diff(empty, next, 2);
	assert_int_equal(json_integer_value(json_object_get(d, "added_count")), 3);
	assert_int_equal(json_array_size(json_object_get(d, "added")), 2);
	json_decref(d);
	d = cache_diff(next, next, 10);
	assert_int_equal(json_integer_value(json_object_get(d, "changed_count")), 0);
	json_decref(d);
	json_decref(empty);
	json_decref(published);
	json_decref(next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(edit_lists_changed_fields_in_form_order),
	    cmocka_unit_test(create_and_delete_list_every_field),
	    cmocka_unit_test(a_secret_shows_only_that_it_changed),
	    cmocka_unit_test(cache_diff_lists_added_changed_removed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
