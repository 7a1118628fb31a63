/* Unit tests: the per-process page cache (core/web_cache): exact slot and
 * version matches only, one version per slot, its bounds, and a clear. */
#include "web_cache.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int teardown(void **state)
{
	(void)state;
	web_cache_clear();
	return 0;
}

static void found_only_for_the_same_slot_and_version(void **state)
{
	(void)state;
	size_t len = 0;
	assert_int_equal(web_cache_store("/logs?\n1\nann\nadmin\ncsrf-a", "7|1,2,3", "page A", 6), 0);
	const char *body = web_cache_find("/logs?\n1\nann\nadmin\ncsrf-a", "7|1,2,3", &len);
	assert_non_null(body);
	assert_int_equal(len, 6);
	assert_memory_equal(body, "page A", 6);
	/* Another session, another version, a prefix or an extension of either: nothing. */
	assert_null(web_cache_find("/logs?\n1\nann\nadmin\ncsrf-b", "7|1,2,3", &len));
	assert_null(web_cache_find("/logs?\n1\nann\nviewer\ncsrf-a", "7|1,2,3", &len)); /* role changed */
	assert_null(web_cache_find("/logs?\n1\nann2\nadmin\ncsrf-a", "7|1,2,3", &len)); /* renamed */
	assert_null(web_cache_find("/logs?\n1\nann\nadmin\ncsrf-a", "8|1,2,3", &len));
	assert_null(web_cache_find("/logs?\n1\nann\nadmin\ncsrf-a", "7|1,2", &len));
	assert_null(web_cache_find("/logs?\n1\nann\nadmin\ncsrf-a", "7|1,2,3,4", &len));
	assert_null(web_cache_find("/logs?\n1\nann\nadmin\ncsrf", "7|1,2,3", &len));
	assert_null(web_cache_find("/logs?status=fail\n1\nann\nadmin\ncsrf-a", "7|1,2,3", &len));
}

static void a_slot_keeps_its_newest_version_only(void **state)
{
	(void)state;
	size_t len = 0;
	assert_int_equal(web_cache_store("slot", "v1", "old", 3), 0);
	assert_int_equal(web_cache_store("slot", "v2", "newer", 5), 0);
	assert_int_equal(web_cache_count(), 1);
	assert_null(web_cache_find("slot", "v1", &len));
	const char *body = web_cache_find("slot", "v2", &len);
	assert_non_null(body);
	assert_memory_equal(body, "newer", 5);
	assert_int_equal(web_cache_bytes(), strlen("slot") + strlen("v2") + 5 + 2);
}

static void bodies_may_hold_any_bytes(void **state)
{
	(void)state;
	size_t len = 0;
	static const char bytes[] = {'a', '\0', 'b', '\n'};
	assert_int_equal(web_cache_store("s", "v", bytes, sizeof bytes), 0);
	const char *body = web_cache_find("s", "v", &len);
	assert_non_null(body);
	assert_int_equal(len, sizeof bytes);
	assert_memory_equal(body, bytes, sizeof bytes);
	assert_int_equal(web_cache_store("empty", "v", "", 0), 0);
	assert_non_null(web_cache_find("empty", "v", &len));
	assert_int_equal(len, 0);
}

static void the_least_recently_used_go_first(void **state)
{
	(void)state;
	char slot[32];
	size_t len = 0;
	for (int i = 0; i < WEB_CACHE_ENTRIES; i++) {
		snprintf(slot, sizeof slot, "slot-%d", i);
		assert_int_equal(web_cache_store(slot, "v", "x", 1), 0);
	}
	assert_int_equal(web_cache_count(), WEB_CACHE_ENTRIES);
	assert_non_null(web_cache_find("slot-0", "v", &len)); /* now the most recent */
	assert_int_equal(web_cache_store("one-more", "v", "y", 1), 0);
	assert_int_equal(web_cache_count(), WEB_CACHE_ENTRIES);
	assert_non_null(web_cache_find("slot-0", "v", &len));
	assert_null(web_cache_find("slot-1", "v", &len)); /* the oldest unused one went */
	assert_non_null(web_cache_find("one-more", "v", &len));
}

static void the_byte_cap_holds(void **state)
{
	(void)state;
	size_t big = WEB_CACHE_BYTES / 3, len = 0;
	char *body = malloc(big);
	assert_non_null(body);
	memset(body, 'p', big);
	assert_int_equal(web_cache_store("a", "v", body, big), 0);
	assert_int_equal(web_cache_store("b", "v", body, big), 0);
	assert_int_equal(web_cache_store("c", "v", body, big), 0); /* evicts "a" */
	assert_true(web_cache_bytes() <= WEB_CACHE_BYTES);
	assert_null(web_cache_find("a", "v", &len));
	assert_non_null(web_cache_find("c", "v", &len));
	free(body);
	/* Larger than the whole cache: refused, and the slot's old copy is gone. */
	body = malloc(WEB_CACHE_BYTES + 1);
	assert_non_null(body);
	memset(body, 'q', WEB_CACHE_BYTES + 1);
	assert_int_equal(web_cache_store("c", "v2", body, WEB_CACHE_BYTES + 1), -1);
	assert_null(web_cache_find("c", "v", &len));
	assert_null(web_cache_find("c", "v2", &len));
	assert_true(web_cache_bytes() <= WEB_CACHE_BYTES);
	free(body);
}

static void a_clear_drops_every_entry(void **state)
{
	(void)state;
	size_t len = 0;
	assert_int_equal(web_cache_store("a", "v", "page A", 6), 0);
	assert_int_equal(web_cache_store("b", "v", "page B", 6), 0);
	web_cache_clear();
	assert_int_equal(web_cache_count(), 0);
	assert_int_equal(web_cache_bytes(), 0);
	assert_null(web_cache_find("a", "v", &len));
	assert_null(web_cache_find("b", "v", &len));
	/* and the cache is usable again */
	assert_int_equal(web_cache_store("a", "v", "page A", 6), 0);
	assert_non_null(web_cache_find("a", "v", &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(found_only_for_the_same_slot_and_version, teardown),
	    cmocka_unit_test_teardown(a_slot_keeps_its_newest_version_only, teardown),
	    cmocka_unit_test_teardown(bodies_may_hold_any_bytes, teardown),
	    cmocka_unit_test_teardown(the_least_recently_used_go_first, teardown),
	    cmocka_unit_test_teardown(the_byte_cap_holds, teardown),
	    cmocka_unit_test_teardown(a_clear_drops_every_entry, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
