/* handler_test: a "Send test" (issue #16): one execution of one handler as a
 * form or an API body has it (saved or not, enabled, disabled or never
 * published) with a sample or an edited payload, through delivery_run (the
 * same signing, destination policy and script rules as a real delivery),
 * logged with trigger "test": never queued for retry, never the handler's
 * last status, never sent to any other handler. */
#ifndef PROV_HANDLER_TEST_H
#define PROV_HANDLER_TEST_H

#include "delivery.h"
#include "dispatch.h"

#include <jansson.h>
#include <stddef.h>

struct config;
struct db;
struct handler;

#define HANDLER_TEST_TIMEOUT_MAX_MS 10000L /* a test answers within a web request */
#define HANDLER_TEST_DATA_MAX 65536        /* bytes of edited payload JSON */

/* A realistic sample of the data of events_id (an object, new reference),
 * or NULL when the event is unknown or out of memory. */
json_t *handler_test_sample(const char *events_id);
/* The sample as indented JSON for an editable field (malloc'd), or NULL. */
char *handler_test_sample_text(const char *events_id);

/* Read an edited payload: a JSON object of at most HANDLER_TEST_DATA_MAX
 * bytes. NULL or blank text: the event's sample. Returns 0 (*data: a new
 * reference), or -1 with a one-line reason. */
int handler_test_data_read(const char *text, const char *events_id, json_t **data, char *err, size_t errlen);

/* Where the test may run: a script runs as the dispatcher's user, never the
 * web server's (it could read the configuration): the panel and the API
 * refuse scripts, prov-admin runs them. */
enum handler_test_where { HANDLER_TEST_HTTP_ONLY, HANDLER_TEST_ANY };

enum handler_test_status {
	HANDLER_TEST_DONE,    /* sent (or refused by the delivery rules) and logged */
	HANDLER_TEST_REFUSED, /* not sent: err says why, one line */
	HANDLER_TEST_ERROR,   /* database or internal error: err says what */
};

struct handler_test {
	char event_uid[DISPATCH_UID_MAX + 1];
	char delivery_id[DELIVERY_ID_LEN + 1];
	char *request_body; /* the envelope sent, owned */
	struct delivery_result result;
	long long log_id; /* its exec_logs row */
	long timeout_ms;  /* the timeout the test ran with */
};

/* Send data to h (validated; h->id 0: an unsaved handler) and log it.
 * A saved handler signs with its stored secret unless the form removes it.
 * out is always freeable (handler_test_free). */
enum handler_test_status handler_test_run(struct db *db, const struct config *cfg, const struct handler *h,
                                          json_t *data, enum handler_test_where where,
                                          struct handler_test *out, char *err, size_t errlen);
void handler_test_free(struct handler_test *t);

/* The verdict of a finished test, as the log stores it. */
const char *handler_test_verdict(const struct handler_test *t);

/* The result as the API and the CLI print it (new reference). */
json_t *handler_test_json(const struct handler_test *t);

#endif
