/* handler_test: the sample payloads and one logged test execution. */
#include "handler_test.h"

#include "config.h"
#include "db.h"
#include "events.h"
#include "handlers.h"
#include "logs.h"
#include "logstore.h"
#include "rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fields as the billing system sends them; the ids are obviously samples. */
#define SAMPLE_CLIENT                                                                                        \
	"\"client_id\":10001,\"login\":\"sample.client\",\"name\":\"Sample Client Ltd\","                    \
	"\"email\":\"billing@example.com\",\"phone\":\"+1 555 0100\",\"currency\":\"USD\","                  \
	"\"status\":\"active\""
#define SAMPLE_ACCOUNT                                                                                       \
	"\"client_id\":10001,\"account_id\":20001,\"login\":\"sample.account\",\"service\":\"internet\""
#define SAMPLE_PACKAGE                                                                                       \
	"\"client_id\":10001,\"subscription_id\":30001,\"package_id\":42,\"package_name\":\"Fiber 100\","    \
	"\"price\":\"29.90\",\"currency\":\"USD\",\"period\":\"monthly\""

static const struct {
	const char *events_id;
	const char *json;
} samples[] = {
    {"clients.create", "{" SAMPLE_CLIENT ",\"created_at\":\"2024-05-01T12:00:00Z\"}"},
    {"clients.update", "{" SAMPLE_CLIENT ",\"changed\":[\"email\",\"phone\"]}"},
    {"clients.delete", "{\"client_id\":10001,\"login\":\"sample.client\"}"},
    {"clients.archive", "{\"client_id\":10001,\"login\":\"sample.client\",\"status\":\"archived\"}"},
    {"clients.custom_fields.update",
     "{\"client_id\":10001,\"custom_fields\":{\"contract_no\":\"C-2024-0042\",\"vip\":true}}"},
    {"clients.balance_notzero", "{\"client_id\":10001,\"balance\":\"12.50\",\"currency\":\"USD\"}"},
    {"clients.balance_zero", "{\"client_id\":10001,\"balance\":\"-3.20\",\"currency\":\"USD\"}"},
    {"clients.accounts.create", "{" SAMPLE_ACCOUNT ",\"password_set\":true}"},
    {"clients.accounts.update", "{" SAMPLE_ACCOUNT ",\"changed\":[\"service\"]}"},
    {"clients.accounts.delete", "{\"client_id\":10001,\"account_id\":20001,\"login\":\"sample.account\"}"},
    {"clients.subscriptions.assign", "{" SAMPLE_PACKAGE ",\"starts_at\":\"2024-05-01\"}"},
    {"clients.subscriptions.activate", "{" SAMPLE_PACKAGE ",\"active_from\":\"2024-05-01\"}"},
    {"clients.subscriptions.deactivate", "{" SAMPLE_PACKAGE ",\"reason\":\"unpaid\"}"},
    {"clients.subscriptions.renew", "{" SAMPLE_PACKAGE ",\"renewed_until\":\"2024-06-01\"}"},
    {"clients.subscriptions.close", "{" SAMPLE_PACKAGE ",\"closed_at\":\"2024-05-31\"}"},
};

json_t *handler_test_sample(const char *events_id)
{
	for (size_t i = 0; events_id && i < sizeof samples / sizeof samples[0]; i++)
		if (strcmp(samples[i].events_id, events_id) == 0)
			return json_loads(samples[i].json, 0, NULL);
	return NULL;
}

char *handler_test_sample_text(const char *events_id)
{
	json_t *data = handler_test_sample(events_id);
	char *text = data ? json_dumps(data, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(data);
	return text;
}

int handler_test_data_read(const char *text, const char *events_id, json_t **data, char *err, size_t errlen)
{
	*data = NULL;
	if (events_find(events_id) == NULL) {
		snprintf(err, errlen, "unknown event '%.64s'; valid events: %s", events_id ? events_id : "",
		         events_valid_list());
		return -1;
	}
	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0') {
		*data = handler_test_sample(events_id);
		if (*data == NULL) {
			snprintf(err, errlen, "no sample for event '%s'", events_id);
			return -1;
		}
		return 0;
	}
	size_t len = strlen(text);
	if (len > HANDLER_TEST_DATA_MAX) {
		snprintf(err, errlen, "the test payload is longer than %d bytes", HANDLER_TEST_DATA_MAX);
		return -1;
	}
	json_error_t jerr;
	json_t *value = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (value == NULL) {
		snprintf(err, errlen, "the test payload is not valid JSON: %s (line %d, column %d)",
		         jerr.text, jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(value)) {
		json_decref(value);
		snprintf(err, errlen, "the test payload must be a JSON object {...}");
		return -1;
	}
	*data = value;
	return 0;
}

/* The stored secrets of a saved handler (current, and a rotation's old one
 * while its window lasts); NULL cells when none. */
static const char SQL_SECRETS[] =
    "SELECT secret, IF(old_secret_until > UTC_TIMESTAMP(), old_secret, NULL), "
    "IF(old_secret_until > UTC_TIMESTAMP(), TIMESTAMPDIFF(SECOND, '1970-01-01', old_secret_until), 0) "
    "FROM handlers WHERE id = ?";

static enum handler_test_status send_and_log(struct db *db, const struct config *cfg, const struct handler *h,
                                             const struct delivery_handler *dh, struct handler_test *out,
                                             const struct dispatch_event *event, json_t *data, char *err,
                                             size_t errlen)
{
	struct delivery_limits limits = {.response_read_max = (size_t)cfg->payload_max_bytes + 65536,
	                                 .scripts_dir = cfg->scripts_dir,
	                                 .outbound_allow = cfg->outbound_allow};
	struct delivery *d = delivery_new(&limits, err, errlen);
	if (d == NULL)
		return HANDLER_TEST_ERROR;
	size_t body_len = strlen(out->request_body);
	struct delivery_request req = {.handler = dh,
	                               .events_id = event->events_id,
	                               .event_uid = event->uid,
	                               .delivery_id = out->delivery_id,
	                               .attempt = 1,
	                               .trigger = DELIVERY_TRIGGER_TEST,
	                               .body = out->request_body,
	                               .body_len = body_len};
	delivery_run(d, &req, &out->result);
	delivery_free(d);
	/* As the chain reads it (dispatch.c): data sent back as it was is an echo. */
	if (out->result.success && out->result.verdict == DELIVERY_REPLACE &&
	    json_equal(out->result.data, data))
		out->result.verdict = DELIVERY_UNCHANGED;
	struct logstore_entry entry = {.events_id = event->events_id,
	                               .event_uid = event->uid,
	                               .handler_id = h->id,
	                               .handler_name = h->name,
	                               .delivery_id = out->delivery_id,
	                               .attempt = 1,
	                               .trigger = DELIVERY_TRIGGER_TEST,
	                               .request_body = out->request_body,
	                               .request_len = body_len,
	                               .result = &out->result}; /* queue: none, ever */
	struct logstore_options opt;
	logstore_options_from_config(cfg, &opt);
	opt.auto_disable_failures = 0; /* a test never disables its handler */
	if (logstore_write(db, &opt, &entry, 1, err, errlen) != 0)
		return HANDLER_TEST_ERROR;
	out->log_id = entry.log_id;
	return HANDLER_TEST_DONE;
}

enum handler_test_status handler_test_run(struct db *db, const struct config *cfg, const struct handler *h,
                                          json_t *data, enum handler_test_where where,
                                          struct handler_test *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (h->task_type == HANDLER_TASK_SCRIPT && where == HANDLER_TEST_HTTP_ONLY) {
		snprintf(err, errlen,
		         "a script handler runs as the dispatcher's user, never the web server's: test it "
		         "with prov-admin handlers test%s%lld on the server",
		         h->id > 0 ? " " : " (save it first) ", h->id > 0 ? h->id : 0LL);
		return HANDLER_TEST_REFUSED;
	}
	struct dispatch_event event;
	const struct event_def *def = events_find(h->events_id);
	if (def == NULL || dispatch_event_init(&event, def->id, NULL) != 0 ||
	    delivery_new_id(out->delivery_id) != 0) {
		snprintf(err, errlen, "no event id could be made");
		return HANDLER_TEST_ERROR;
	}
	memcpy(out->event_uid, event.uid, sizeof out->event_uid);
	json_t *envelope = dispatch_envelope(&event, data);
	out->request_body = envelope ? json_dumps(envelope, JSON_COMPACT) : NULL;
	json_decref(envelope);
	if (out->request_body == NULL) {
		snprintf(err, errlen, "out of memory");
		return HANDLER_TEST_ERROR;
	}
	out->timeout_ms =
	    h->timeout_ms < HANDLER_TEST_TIMEOUT_MAX_MS ? h->timeout_ms : HANDLER_TEST_TIMEOUT_MAX_MS;
	struct delivery_handler dh = {
	    .id = h->id,
	    .name = h->name,
	    .kind = h->task_type == HANDLER_TASK_SCRIPT ? DELIVERY_SCRIPT : DELIVERY_HTTP,
	    .task = h->task,
	    .timeout_ms = out->timeout_ms,
	    .scheme = h->signature_scheme == HANDLER_SCHEME_STANDARD ? DELIVERY_SCHEME_STANDARD
	                                                             : DELIVERY_SCHEME_PROV};
	struct db_rows secrets = {0};
	int have_secrets = 0;
	if (h->id > 0 && h->secret_action != HANDLER_SECRET_REMOVE) {
		struct db_param id = DB_INT(h->id);
		if (db_query(db, SQL_SECRETS, &id, 1, &secrets) != 0) {
			snprintf(err, errlen, "handler secret: %s", db_error(db));
			return HANDLER_TEST_ERROR;
		}
		have_secrets = 1;
		if (secrets.nrows == 1) {
			dh.secret = db_cell(&secrets, 0, 0);
			dh.old_secret = db_cell(&secrets, 0, 1);
			dh.old_secret_until = db_cell_int(&secrets, 0, 2, 0);
		}
	}
	enum handler_test_status status = send_and_log(db, cfg, h, &dh, out, &event, data, err, errlen);
	if (have_secrets)
		db_rows_free(&secrets);
	return status;
}

void handler_test_free(struct handler_test *t)
{
	if (t == NULL)
		return;
	free(t->request_body);
	delivery_result_free(&t->result);
	memset(t, 0, sizeof *t);
}

const char *handler_test_verdict(const struct handler_test *t)
{
	return rollup_verdict_name(t->result.success, t->result.verdict);
}

/* Replies and errors are any bytes; JSON strings are UTF-8. NULL text: null. */
static json_t *clean_string(const char *text, size_t len)
{
	if (text == NULL)
		return json_null();
	char *clean = delivery_utf8_clean(text, len, len, NULL);
	json_t *value = clean ? json_string(clean) : NULL;
	free(clean);
	return value;
}

json_t *handler_test_json(const struct handler_test *t)
{
	const struct delivery_result *r = &t->result;
	json_t *reply = clean_string(r->response_len > 0 ? r->response_body : NULL, r->response_len);
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:f, s:I, s:o, s:s, s:o, s:o, s:s, s:s}",
	                 "log_id", (json_int_t)t->log_id, "status", r->success ? "success" : "fail",
	                 "verdict", handler_test_verdict(t), "reason",
	                 r->success && r->verdict == DELIVERY_FORBID ? r->reason : "", "http_status",
	                 r->http_status > 0 ? json_integer(r->http_status) : json_null(), "exit_code",
	                 r->has_exit_code ? json_integer(r->exit_code) : json_null(), "error",
	                 r->success ? json_null() : clean_string(r->error, strlen(r->error)), "duration_ms",
	                 (double)r->duration_us / 1000.0, "timeout_ms", (json_int_t)t->timeout_ms, "reply",
	                 reply, "request_headers", r->request_headers ? r->request_headers : "", "data",
	                 r->success && r->verdict == DELIVERY_REPLACE ? json_incref(r->data) : json_null(),
	                 "request", json_loads(t->request_body ? t->request_body : "null", 0, NULL),
	                 "event_id", t->event_uid, "delivery_id", t->delivery_id);
}
