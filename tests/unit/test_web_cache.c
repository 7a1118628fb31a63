/* Unit tests: the per-process page cache (core/web_cache): exact slot and
 * version matches only, one version per slot, its bounds, and trusted
 * answers (only the vouched key, only within the window, never after the
 * slot changed). */
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

#define SLOT_A "/logs?\n1\nann\nadmin\ncsrf-a"
#define TRUST_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TRUST_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void trusted_only_for_the_vouched_key_within_the_window(void **state)
{
	(void)state;
	size_t len = 0;
	assert_int_equal(web_cache_store(SLOT_A, "7|1,2,3", "page A", 6), 0);
	assert_null(web_cache_find_trusted(TRUST_A, 1000, 250, &len)); /* stored, not vouched */
	web_cache_vouch(SLOT_A, TRUST_A, 1000);
	const char *body = web_cache_find_trusted(TRUST_A, 1000, 250, &len);
	assert_non_null(body);
	assert_int_equal(len, 6);
	assert_memory_equal(body, "page A", 6);
	assert_non_null(web_cache_find_trusted(TRUST_A, 1249, 250, &len));
	assert_null(web_cache_find_trusted(TRUST_A, 1250, 250, &len)); /* the window is over */
	assert_null(web_cache_find_trusted(TRUST_A, 999, 250, &len));  /* a clock that went back */
	assert_null(web_cache_find_trusted(TRUST_B, 1000, 250, &len)); /* another session or address */
	assert_null(web_cache_find_trusted("", 1000, 250, &len));      /* no key: never */
	assert_null(web_cache_find_trusted(TRUST_A, 1000, 0, &len));   /* trust off */
	/* A check that found it current again opens a new window. */
	web_cache_vouch(SLOT_A, TRUST_A, 1300);
	assert_non_null(web_cache_find_trusted(TRUST_A, 1500, 250, &len));
	/* The same session and address under a new slot (its name or role changed):
	 * only the entry vouched for last is repeated. */
	assert_int_equal(web_cache_store("/logs?\n1\nann2\nadmin\ncsrf-a", "7|1,2,3", "page A'", 7), 0);
	web_cache_vouch("/logs?\n1\nann2\nadmin\ncsrf-a", TRUST_A, 1400);
	body = web_cache_find_trusted(TRUST_A, 1500, 250, &len);
	assert_non_null(body);
	assert_memory_equal(body, "page A'", 7);
	web_cache_vouch(SLOT_A, TRUST_A, 1500);
	body = web_cache_find_trusted(TRUST_A, 1500, 250, &len);
	assert_non_null(body);
	assert_memory_equal(body, "page A", 6);
	/* The slot's entry is what is trusted: a vouch for a missing slot does nothing. */
	web_cache_vouch("/logs?status=fail\n1\nann\nadmin\ncsrf-a", TRUST_B, 1500);
	assert_null(web_cache_find_trusted(TRUST_B, 1500, 250, &len));
}

static void a_new_version_or_a_clear_ends_the_trust(void **state)
{
	(void)state;
	size_t len = 0;
	assert_int_equal(web_cache_store(SLOT_A, "7|1,2,3", "page A", 6), 0);
	web_cache_vouch(SLOT_A, TRUST_A, 1000);
	assert_int_equal(web_cache_store(SLOT_A, "7|1,2,4", "page A2", 7), 0);
	assert_null(web_cache_find_trusted(TRUST_A, 1000, 250, &len));
	web_cache_vouch(SLOT_A, TRUST_A, 1000);
	const char *body = web_cache_find_trusted(TRUST_A, 1000, 250, &len);
	assert_non_null(body);
	assert_memory_equal(body, "page A2", 7);
	web_cache_clear();
	assert_null(web_cache_find_trusted(TRUST_A, 1000, 250, &len));
	/* A key longer than the digest is not kept. */
	assert_int_equal(web_cache_store(SLOT_A, "7|1,2,3", "page A", 6), 0);
	web_cache_vouch(SLOT_A, TRUST_A "a", 1000);
	assert_null(web_cache_find_trusted(TRUST_A "a", 1000, 250, &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(found_only_for_the_same_slot_and_version, teardown),
	    cmocka_unit_test_teardown(a_slot_keeps_its_newest_version_only, teardown),
	    cmocka_unit_test_teardown(bodies_may_hold_any_bytes, teardown),
	    cmocka_unit_test_teardown(the_least_recently_used_go_first, teardown),
	    cmocka_unit_test_teardown(the_byte_cap_holds, teardown),
	    cmocka_unit_test_teardown(trusted_only_for_the_vouched_key_within_the_window, teardown),
	    cmocka_unit_test_teardown(a_new_version_or_a_clear_ends_the_trust, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
