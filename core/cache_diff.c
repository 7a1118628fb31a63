/* cache_diff: what differs between two published handler sets (snapshot
 * arrays as cache_generations keeps them): the publish preview, the publish
 * history and the rollback confirmation. Pure (tests/unit/test_history.c). */
#include "cache.h"
#include "history.h"

#include <stdio.h>

static json_t *by_id(const json_t *list)
{
	json_t *index = json_object();
	size_t i;
	json_t *h;
	char key[32];
	json_array_foreach(list, i, h)
	{
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(h, "id")));
		if (index != NULL && json_object_set(index, key, h) != 0) {
			json_decref(index);
			index = NULL;
		}
	}
	return index;
}

/* {id, name, events_id} of a snapshot entry, plus changes when given (stolen). */
static json_t *entry(const json_t *h, json_t *changes)
{
	json_t *e = json_object();
	static const char *const keys[] = {"id", "name", "events_id"};
	for (size_t k = 0; e != NULL && k < 3; k++) {
		json_t *v = json_object_get(h, keys[k]);
		if (json_object_set_new(e, keys[k], v ? json_deep_copy(v) : json_null()) != 0) {
			json_decref(e);
			e = NULL;
		}
	}
	if (changes == NULL)
		return e;
	if (e == NULL || json_object_set_new(e, "changes", changes) != 0) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* Append to kind's list while it has fewer than cap entries; count all. */
static int add(json_t *diff, const char *kind, json_t *e, size_t cap)
{
	char count_key[32];
	snprintf(count_key, sizeof count_key, "%s_count", kind);
	json_t *count = json_object_get(diff, count_key);
	json_int_t n = json_integer_value(count);
	json_integer_set(count, n + 1);
	if (e == NULL)
		return -1;
	if ((size_t)n >= cap) {
		json_decref(e);
		return 0;
	}
	return json_array_append_new(json_object_get(diff, kind), e);
}

json_t *cache_diff(const json_t *published, const json_t *next, size_t cap)
{
	json_t *old_index = by_id(published), *new_index = by_id(next);
	json_t *diff =
	    json_pack("{s:[], s:[], s:[], s:I, s:I, s:I}", "added", "changed", "removed", "added_count",
	              (json_int_t)0, "changed_count", (json_int_t)0, "removed_count", (json_int_t)0);
	int rc = old_index != NULL && new_index != NULL && diff != NULL ? 0 : -1;
	size_t i;
	json_t *h;
	char key[32];
	json_array_foreach(next, i, h)
	{
		if (rc != 0)
			break;
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(h, "id")));
		json_t *was = json_object_get(old_index, key);
		if (was == NULL) {
			rc = add(diff, "added", entry(h, NULL), cap);
			continue;
		}
		json_t *changes = history_changes(was, h);
		if (changes == NULL)
			rc = -1;
		else if (json_array_size(changes) == 0)
			json_decref(changes);
		else
			rc = add(diff, "changed", entry(h, changes), cap);
	}
	json_array_foreach(published, i, h)
	{
		if (rc != 0)
			break;
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(h, "id")));
		if (json_object_get(new_index, key) == NULL)
			rc = add(diff, "removed", entry(h, NULL), cap);
	}
	json_decref(old_index);
	json_decref(new_index);
	if (rc != 0) {
		json_decref(diff);
		return NULL;
	}
	return diff;
}
