/* history_diff: field-by-field changes between two handler objects, for the
 * History panel, the publish history and the publish preview. Pure: no
 * database, no I/O (tests/unit/test_history.c). */
#include "history.h"

#include <stdio.h>
#include <string.h>

/* The fields people read, in the form's order, and their labels. */
static const struct {
	const char *field;
	const char *label;
} fields[] = {
    {"name", "Name"},
    {"events_id", "Event"},
    {"task", "Task"},
    {"task_type", "Handler type"},
    {"status", "Status"},
    {"priority", "Priority"},
    {"timeout_ms", "Timeout"},
    {"retry_enabled", "Retries"},
    {"retry_max_attempts", "Retry attempts"},
    {"retry_schedule", "Retry schedule"},
    {"signature_scheme", "Signature scheme"},
    {"secret", "Signing secret"},
};

static const json_t *member(const json_t *obj, const char *key)
{
	if (obj == NULL)
		return NULL;
	const json_t *v = json_object_get(obj, key);
	return v != NULL && !json_is_null(v) ? v : NULL;
}

/* Whether the secret changed between two objects that both have one: their
 * digests (history rows, read with history_handler_read), the after object's
 * "secret_changed" (stored rows), or the values themselves (snapshots). */
static int secret_changed(const json_t *before, const json_t *after)
{
	if (json_is_true(json_object_get(after, "secret_changed")))
		return 1;
	const json_t *a = member(before, "secret_digest"), *b = member(after, "secret_digest");
	if (a != NULL || b != NULL)
		return !json_equal(a, b);
	return !json_equal(member(before, "secret"), member(after, "secret"));
}

static int add_change(json_t *list, const char *field, const char *label, json_t *before, json_t *after)
{
	json_t *c = json_object();
	if (c == NULL || json_object_set_new(c, "field", json_string(field)) != 0 ||
	    json_object_set_new(c, "label", json_string(label)) != 0 ||
	    json_object_set_new(c, "before", before ? before : json_null()) != 0 ||
	    json_object_set_new(c, "after", after ? after : json_null()) != 0) {
		json_decref(c);
		return -1;
	}
	return json_array_append_new(list, c);
}

static json_t *copy_or_null(const json_t *v)
{
	return v != NULL ? json_deep_copy(v) : NULL;
}

json_t *history_changes(const json_t *before, const json_t *after)
{
	json_t *list = json_array();
	if (list == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const char *f = fields[i].field;
		const json_t *b = member(before, f), *a = member(after, f);
		int rc = 0;
		if (strcmp(f, "secret") == 0) {
			/* Never a value: only that there is one, and whether it changed. */
			if (b == NULL && a == NULL)
				continue;
			if (b != NULL && a != NULL &&
			    (before == NULL || after == NULL || !secret_changed(before, after)))
				continue;
			rc = add_change(list, f, fields[i].label, b ? json_string("set") : NULL,
			                a ? json_string(b ? "changed" : "set") : NULL);
		} else {
			if (before != NULL && after != NULL && json_equal(b, a))
				continue;
			if (b == NULL && a == NULL)
				continue;
			rc = add_change(list, f, fields[i].label, copy_or_null(b), copy_or_null(a));
		}
		if (rc != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

void history_value_text(const char *field, const json_t *value, char *out, size_t outlen)
{
	if (value == NULL || json_is_null(value))
		snprintf(out, outlen, "(none)");
	else if (json_is_string(value))
		snprintf(out, outlen, "%s", json_string_value(value));
	else if (json_is_boolean(value))
		snprintf(out, outlen, "%s", json_is_true(value) ? "on" : "off");
	else if (json_is_integer(value) && field != NULL && strcmp(field, "timeout_ms") == 0) {
		long long ms = json_integer_value(value);
		if (ms % 1000 == 0)
			snprintf(out, outlen, "%lld s", ms / 1000);
		else
			snprintf(out, outlen, "%lld.%03lld s", ms / 1000, ms % 1000);
	} else if (json_is_integer(value))
		snprintf(out, outlen, "%lld", (long long)json_integer_value(value));
	else
		snprintf(out, outlen, "?");
}
