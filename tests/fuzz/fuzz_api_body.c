/* fuzz_api_body: a JSON body sent to the API's handler endpoints
 * (cgi-bin/api_handlers.c): parsed as core/api.c's read_body does, its
 * members mapped onto the handler input (input_from_json) for a create (no
 * old values) and an update (a stored handler's values, as PATCH builds
 * them), validated (handler_validate), the 422 answer built; and the status
 * toggle's body check. A valid handler written back as PATCH writes its
 * values must validate to the same handler. The API's request plumbing is
 * stubbed here: answers are encoded and dropped. */
#include "fuzz_util.h"
#include "fuzz_scripts.h"

#include "../../cgi-bin/api_handlers.c"

struct api_request {
	json_t *body;
	int answered;
	int status;
	int viewer; /* answers as a viewer sees them (task URLs masked) */
};

static struct app fuzz_app;

struct app *api_app(struct api_request *req)
{
	(void)req;
	return &fuzz_app;
}

struct db *api_db(struct api_request *req)
{
	(void)req;
	return NULL;
}

long long api_path_id(struct api_request *req)
{
	(void)req;
	return 1;
}

const struct user *api_user(struct api_request *req)
{
	static const struct user admin = {.id = 1, .name = "fuzz", .role = ROLE_ADMIN};
	static const struct user viewer = {.id = 2, .name = "fuzz-viewer", .role = ROLE_VIEWER};
	return req->viewer ? &viewer : &admin;
}

json_t *api_body(struct api_request *req)
{
	return req->body;
}

const char *api_query(struct api_request *req, const char *name)
{
	(void)req;
	(void)name;
	return NULL;
}

int api_query_only(struct api_request *req, const char *const *accepted)
{
	(void)req;
	(void)accepted;
	return 0; /* the query string is not what this harness feeds */
}

json_t *api_time(const char *db_time)
{
	return db_time != NULL && db_time[0] != '\0' ? json_string(db_time) : json_null();
}

/* core/api.c's answer path, minus the socket: every answer but 204 has a body. */
void api_reply(struct api_request *req, int status, json_t *body)
{
	if (req->answered) {
		json_decref(body);
		return;
	}
	req->answered = 1;
	req->status = status;
	if (body == NULL) {
		if (status != 204) {
			fprintf(stderr, "a %d answer without a body (its JSON could not be built)\n", status);
			abort();
		}
		return;
	}
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(body);
	if (text == NULL)
		abort();
	free(text);
}

void api_fail(struct api_request *req, int status, const char *message, const char *code, const char *field)
{
	fuzz_require_utf8("an API error message", message);
	json_t *data = json_object();
	if (code != NULL)
		json_object_set_new(data, "code", json_string(code));
	if (field != NULL)
		json_object_set_new(data, "field", json_string(field));
	api_reply(req, status, json_pack("{s:{s:s,s:o}}", "error", "message", message, "data", data));
}

/* What api_handlers_update builds from a stored handler before the body's members. */
struct stored_text {
	char priority[32], timeout[32], attempts[32];
};

static struct handler_input input_of_stored(const struct handler *old, struct stored_text *t)
{
	snprintf(t->priority, sizeof t->priority, "%ld", old->priority);
	snprintf(t->timeout, sizeof t->timeout, "%ld.%03ld", old->timeout_ms / 1000, old->timeout_ms % 1000);
	snprintf(t->attempts, sizeof t->attempts, "%ld", old->retry_max_attempts);
	struct handler_input in = {
	    .name = old->name,
	    .events_id = old->events_id,
	    .task = old->task,
	    .status = handler_status_name(old->status),
	    .priority = t->priority,
	    .timeout = t->timeout,
	    .retry_enabled = old->retry_enabled ? "1" : "0",
	    .retry_schedule = old->retry_schedule,
	    .retry_max_attempts = old->retry_max_attempts > 0 ? t->attempts : "",
	    .secret_action = "keep",
	    .signature_scheme = handler_scheme_name(old->signature_scheme),
	};
	return in;
}

static void check_stored_revalidates(const struct handler *h)
{
	static struct handler again;
	static struct handler_errors errors;
	struct stored_text t;
	struct handler_input in = input_of_stored(h, &t);
	memset(&errors, 0, sizeof errors);
	if (handler_validate(&in, fuzz_app.cfg.scripts_dir, fuzz_app.cfg.outbound_allow, &again, &errors) !=
	    0) {
		fprintf(stderr, "a valid handler does not validate again from its stored values: %s: %s\n",
		        errors.list[0].field, errors.list[0].message);
		abort();
	}
	if (strcmp(again.name, h->name) != 0 || strcmp(again.events_id, h->events_id) != 0 ||
	    strcmp(again.task, h->task) != 0 || again.task_type != h->task_type ||
	    again.status != h->status || again.priority != h->priority || again.timeout_ms != h->timeout_ms ||
	    again.retry_enabled != h->retry_enabled || again.retry_max_attempts != h->retry_max_attempts ||
	    strcmp(again.retry_schedule, h->retry_schedule) != 0 ||
	    again.signature_scheme != h->signature_scheme) {
		fprintf(stderr, "a valid handler validates to another from its stored values\n");
		abort();
	}
}

/* Create (base NULL) or update (base: the stored handler) with the body. */
static void save(json_t *body, const struct handler *base)
{
	static struct handler h;
	static struct handler_errors errors;
	struct api_request req = {body, 0, 0, 0};
	struct handler_input in = {0};
	struct stored_text t;
	if (base != NULL)
		in = input_of_stored(base, &t);
	struct input_text text = {0};
	if (input_from_json(&req, body, &in, &text) != 0) {
		if (!req.answered || req.status != 422)
			abort();
		return;
	}
	memset(&errors, 0, sizeof errors);
	if (handler_validate(&in, fuzz_app.cfg.scripts_dir, fuzz_app.cfg.outbound_allow, &h, &errors) != 0) {
		if (errors.count == 0 || errors.count > HANDLER_FIELD_ERRORS_MAX)
			abort();
		for (size_t i = 0; i < errors.count; i++)
			fuzz_require_utf8("a handler_validate message (a 422 answer)",
			                  errors.list[i].message);
		fail_validation(&req, &errors);
		return;
	}
	check_stored_revalidates(&h);
	json_decref(handler_json(&req, &h));
	req.viewer = 1;
	json_decref(handler_json(&req, &h)); /* the masked task of a viewer's answer */
	handler_forget_secret(&h);
}

static const struct handler stored = {
    .id = 1,
    .name = "Sync client to CRM",
    .events_id = "clients.update",
    .task = "https://crm.example.com/hooks/billing",
    .task_type = HANDLER_TASK_HTTP,
    .status = HANDLER_ENABLED,
    .priority = 10,
    .timeout_ms = 2500,
    .retry_enabled = 1,
    .retry_max_attempts = 5,
    .retry_schedule = "5s,1m,10m",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_app.cfg.scripts_dir[0] == '\0')
		snprintf(fuzz_app.cfg.scripts_dir, sizeof fuzz_app.cfg.scripts_dir, "%s", fuzz_scripts_dir());
	json_error_t error;
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &error);
	if (body == NULL || !json_is_object(body)) {
		json_decref(body);
		return 0;
	}
	save(body, NULL);
	save(body, &stored);
	struct api_request req = {body, 0, 0, 0};
	api_handlers_set_status(&req); /* answers 422 or stops at api_db (no database here) */
	json_decref(body);
	return 0;
}
