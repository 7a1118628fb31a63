/* api_events: the event catalog and the caller's identity. */
#include "api.h"

#include "../core/api.h"
#include "events.h"

void api_events_list(struct api_request *req)
{
	json_t *items = json_array();
	for (size_t i = 0; i < events_count(); i++) {
		const struct event_def *event = events_at(i);
		json_array_append_new(items, json_pack("{s:s,s:s,s:s}", "events_id", event->id, "group",
		                                       event->group, "label", event->label));
	}
	api_reply(req, 200, json_pack("{s:o}", "events", items));
}

void api_me(struct api_request *req)
{
	const struct user *user = api_user(req);
	api_reply(req, 200,
	          json_pack("{s:I,s:s,s:s}", "id", (json_int_t)user->id, "name", user->name, "role",
	                    users_role_name(user->role)));
}
