/* fuzz_logs_filter: the logs filter as GET /api/logs receives it: a query
 * string split and URL-decoded by core/api.c's api_query_split, validated
 * by logs_query_parse into the typed query. A query that validates must
 * validate again from its own normalised fields (what the page echoes back
 * into the form) to the same bounds and pattern. */
#include "fuzz_util.h"

#include "api.h"
#include "logs.h"

static void check_echo(const struct logs_query *q)
{
	static struct logs_query again;
	char handler[32] = "", before[32] = "", after[32] = "";
	if (q->handler_id)
		snprintf(handler, sizeof handler, "%lld", q->handler_id);
	if (q->before_id)
		snprintf(before, sizeof before, "%lld", q->before_id);
	if (q->after_id)
		snprintf(after, sizeof after, "%lld", q->after_id);
	struct logs_input in = {
	    .handler = handler,
	    .event = q->events_id,
	    .status = q->status,
	    .text = q->text,
	    .from = q->from,
	    .to = q->to,
	    .before = before,
	    .after = after,
	};
	if (logs_query_parse(&in, &again) != 0 || again.handler_id != q->handler_id ||
	    strcmp(again.events_id, q->events_id) != 0 || strcmp(again.status, q->status) != 0 ||
	    strcmp(again.like, q->like) != 0 || strcmp(again.from_sql, q->from_sql) != 0 ||
	    strcmp(again.to_sql, q->to_sql) != 0 || again.before_id != q->before_id ||
	    again.after_id != q->after_id) {
		fprintf(stderr, "a validated logs query does not validate the same from its echo\n");
		for (size_t f = 0; f < LOGS_F__MAX; f++)
			if (again.errors[f][0])
				fprintf(stderr, "  %s\n", again.errors[f]);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct logs_query q;
	char *query = fuzz_string(data, size);
	struct logs_input in;
	memset(&in, 0, sizeof in);
	/* The API's own split (core/api.c), then its first-pair lookup. */
	const char *names[API_MAX_QUERY], *values[API_MAX_QUERY];
	long n = api_query_split(query, names, values, API_MAX_QUERY);
	for (long i = 0; i < n; i++) {
		const char *pair = names[i];
		const char **slot = strcmp(pair, "handler") == 0  ? &in.handler
		                    : strcmp(pair, "event") == 0  ? &in.event
		                    : strcmp(pair, "status") == 0 ? &in.status
		                    : strcmp(pair, "q") == 0      ? &in.text
		                    : strcmp(pair, "from") == 0   ? &in.from
		                    : strcmp(pair, "to") == 0     ? &in.to
		                    : strcmp(pair, "before") == 0 ? &in.before
		                    : strcmp(pair, "after") == 0  ? &in.after
		                                                  : NULL;
		if (slot != NULL && *slot == NULL) /* api_query answers the first */
			*slot = values[i];
	}
	int problems = logs_query_parse(&in, &q);
	if (problems != q.nerrors)
		abort();
	for (size_t f = 0; f < LOGS_F__MAX; f++)
		fuzz_require_utf8("a logs filter message (a 400 answer)", q.errors[f]);
	if (problems == 0)
		check_echo(&q);
	free(query);
	return 0;
}
