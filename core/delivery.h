/* delivery: the one path that runs a handler once: an HTTP POST (libcurl) or a
 * local script (fork/exec, no shell), then reads its reply (SPEC section 5).
 * The dispatcher, the retry worker and the panel's Redeliver all call it; it
 * keeps no event or chain state, only a reusable curl handle and the limits. */
#ifndef PROV_DELIVERY_H
#define PROV_DELIVERY_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#define DELIVERY_ID_LEN 36 /* a UUID: 8-4-4-4-12 hex digits */
#define DELIVERY_ERROR_MAX 512
#define DELIVERY_REASON_MAX 512
/* A signature header's value with DELIVERY_SECRETS_MAX signatures:
 * "t=<unix>,v1=<64 hex>,v1=<64 hex>" or "v1,<44 base64> v1,<44 base64>". */
#define DELIVERY_SIGNATURE_MAX 192
#define DELIVERY_SECRETS_MAX 2 /* the current secret and, while a rotation lasts, the old one */
#define DELIVERY_USER_AGENT "Provisioning-API/1.0 (prov-dispatch)"

enum delivery_kind { DELIVERY_HTTP, DELIVERY_SCRIPT };
/* How a signed request carries its signatures (a handler's signature_scheme). */
enum delivery_scheme {
	DELIVERY_SCHEME_PROV,     /* X-Prov-Signature: t=<unix>,v1=<hex> (Stripe's format) */
	DELIVERY_SCHEME_STANDARD, /* Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature */
};

enum delivery_trigger {
	DELIVERY_TRIGGER_DISPATCH,
	DELIVERY_TRIGGER_RETRY,
	DELIVERY_TRIGGER_MANUAL,
	DELIVERY_TRIGGER_TEST, /* a "Send test": never queued, never the handler's last status */
};

/* What a reply asks for, once the execution succeeded. */
enum delivery_verdict {
	DELIVERY_UNCHANGED, /* allowed, data as it was */
	DELIVERY_REPLACE,   /* allowed, data replaced by result.data */
	DELIVERY_FORBID,    /* the action is forbidden: result.reason; the chain stops */
};

/* A handler as delivery needs it (borrowed strings). */
struct delivery_handler {
	long long id;
	const char *name;
	enum delivery_kind kind;
	const char *task; /* URL ("host:port/path" means http://) or script path */
	long timeout_ms;
	const char *secret; /* NULL or "": requests are not signed */
	enum delivery_scheme scheme;
	/* The secret a rotation replaced: it signs too until old_secret_until
	 * (unix seconds), so receivers can switch without a gap. NULL: none. */
	const char *old_secret;
	long long old_secret_until;
};

/* One execution to make. body is the envelope {"event":{...},"data":{...}}. */
struct delivery_request {
	const struct delivery_handler *handler;
	const char *events_id;
	const char *event_uid;
	const char *delivery_id; /* the same across retries of one delivery */
	unsigned attempt;        /* 1 for the first */
	enum delivery_trigger trigger;
	const char *body;
	size_t body_len;
};

struct delivery_limits {
	size_t response_read_max;   /* a longer reply is a failure (and is cut there) */
	const char *scripts_dir;    /* scripts must resolve inside it */
	const char *outbound_allow; /* the config's networks HTTP handlers may reach (netpolicy.h);
	                               NULL or "": public addresses only */
};

/* What happened. Every pointer is owned by the result: delivery_result_free. */
struct delivery_result {
	int success;      /* 2xx / exit 0 with a readable reply */
	long http_status; /* 0: no HTTP answer */
	int has_exit_code;
	int exit_code;
	long long started_us; /* wall clock, microseconds since the epoch */
	long long duration_us;
	char *request_headers; /* as sent, one "Name: value" per line */
	char *response_body;   /* as received, at most response_read_max bytes */
	size_t response_len;
	int response_overflow; /* the handler sent more than response_read_max */
	char *response_headers;
	char *script_stderr; /* at most DELIVERY_STDERR_MAX bytes */
	int stderr_overflow;
	long retry_after_s;             /* Retry-After in seconds, -1 when absent */
	char error[DELIVERY_ERROR_MAX]; /* "" on success */
	int final; /* not attempted and a retry would be refused the same way (the destination
	            * policy, an untrusted script): logged as failed, never queued or rescheduled */
	enum delivery_verdict verdict;
	json_t *data;                     /* DELIVERY_REPLACE: the new data (an object) */
	char reason[DELIVERY_REASON_MAX]; /* DELIVERY_FORBID */
};

#define DELIVERY_STDERR_MAX 16384
#define DELIVERY_HEADERS_MAX 16384

struct delivery;

/* A delivery context; limits are copied. Ignores SIGPIPE for the process
 * (a handler closing its end must be an error, not the end of the caller). */
struct delivery *delivery_new(const struct delivery_limits *limits, char *err, size_t errlen);
void delivery_free(struct delivery *d);

/* Run req once and fill out (always, even on failure: out->error says why).
 * Returns 0 when the execution succeeded, -1 when it failed. */
int delivery_run(struct delivery *d, const struct delivery_request *req, struct delivery_result *out);
void delivery_result_free(struct delivery_result *r);

/* A new random delivery id (UUID version 4). Returns 0 or -1. */
int delivery_new_id(char out[DELIVERY_ID_LEN + 1]);
/* Whether id has that form: 8-4-4-4-12 lower-case hex digits. */
int delivery_id_valid(const char *id);

/* The secrets that sign a request made at unix time now, in order: the
 * current one, then the old one while now < old_secret_until. Returns how
 * many (0: the request is not signed). */
size_t delivery_signing_secrets(const struct delivery_handler *h, long long now,
                                const char *out[DELIVERY_SECRETS_MAX]);

/* X-Prov-Signature (Stripe's format, verified by stripe's webhooks.constructEvent):
 * "t=<unix>,v1=<hex>[,v1=<hex>]", one v1 per secret: the HMAC-SHA256 of
 * "<unix>.<body>" keyed by the secret's bytes as they are (prefix included).
 * Returns 0, or -1 (no secret, too many, OpenSSL failed). */
int delivery_sign(const char *const secrets[], size_t nsecrets, long long unix_time, const char *body,
                  size_t body_len, char out[DELIVERY_SIGNATURE_MAX]);

/* webhook-signature (Standard Webhooks): "v1,<base64>[ v1,<base64>]", one per
 * secret: the HMAC-SHA256 of "<msg_id>.<unix>.<body>" keyed by the bytes the
 * base64 after "whsec_" decodes to. Returns 0, or -1 (a secret that is not
 * whsec_<base64>, OpenSSL failed). */
int delivery_sign_standard(const char *const secrets[], size_t nsecrets, const char *msg_id,
                           long long unix_time, const char *body, size_t body_len,
                           char out[DELIVERY_SIGNATURE_MAX]);

/* The key a Standard Webhooks secret names: "whsec_" + base64 (padding may be
 * left out). Returns its length, or -1 when secret is not of that form or
 * the key is longer than keymax. */
int delivery_standard_key(const char *secret, unsigned char *key, size_t keymax);

/* The URL libcurl is given: "host:port/path" becomes "http://host:port/path".
 * Returns 0, or -1 when out is too small. */
int delivery_http_url(const char *task, char *out, size_t outlen);

/* Read a successful transport's reply into out (verdict, data, reason, or a
 * failure in out->error). strict: a non-empty reply must be JSON (scripts). */
int delivery_read_reply(const char *body, size_t len, int strict, struct delivery_result *out);

const char *delivery_trigger_name(enum delivery_trigger trigger);

/* Whether a script may be run: the script (a real path inside the real
 * scripts folder dir) and every folder from dir down to it must be writable
 * by their owner only, and owned by root, the running user, or also_owner
 * ((uid_t)-1: nobody else). Otherwise a script could be swapped by another
 * local user and run as the dispatcher's. Returns 0, or -1 with
 * "refused: PATH is writable by others" (or owned by ...) in err. */
int delivery_script_trusted(const char *dir, const char *path, uid_t also_owner, char *err, size_t errlen);

/* A valid UTF-8 copy (malloc'd) of at most max bytes of text, cut at a
 * character boundary; invalid bytes and NUL become U+FFFD. *cut (may be
 * NULL) is set to 1 when text was shortened. NULL when out of memory. */
char *delivery_utf8_clean(const char *text, size_t len, size_t max, int *cut);

/* Wall-clock time in microseconds since the epoch, and its UTC text:
 * "2024-05-01 12:00:00.123456" for MariaDB, "2024-05-01T12:00:00.123Z" (iso). */
long long delivery_now_us(void);
void delivery_time_text(long long us, int iso, char *out, size_t outlen);

#endif
