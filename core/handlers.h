/* handlers: the handler model shared by the panel, the API and the Cache
 * Manager (SPEC section 3): validation of raw input into a typed handler with
 * per-field errors (handlers_validate.c), and the handlers table (handlers.c).
 * No web or HDF code here: the JSON API calls the very same functions. */
#ifndef PROV_HANDLERS_H
#define PROV_HANDLERS_H

#include <stddef.h>

struct db;
struct db_rows;

#define HANDLER_NAME_CHARS 255 /* characters, as the column counts them */
#define HANDLER_NAME_BYTES (4 * HANDLER_NAME_CHARS)
#define HANDLER_EVENT_MAX 64
#define HANDLER_TASK_MAX 2048
#define HANDLER_SCHEDULE_MAX 255
#define HANDLER_SECRET_MAX 128
#define HANDLER_ERROR_MAX 1024
#define HANDLER_PRIORITY_MAX 1000000L
#define HANDLER_TIMEOUT_MIN_MS 100L
#define HANDLER_TIMEOUT_MAX_MS 300000L
#define HANDLER_TIMEOUT_DEFAULT_MS 5000L
#define HANDLER_ATTEMPTS_MAX 100L
#define HANDLER_SECRET_PREFIX "whsec_"
#define HANDLER_SECRET_BYTES 32           /* random bytes of a generated secret, base64 after the prefix */
#define HANDLER_OLD_SECRET_HOURS_MAX 168L /* a rotation keeps the old secret at most a week */

enum handler_task_type { HANDLER_TASK_HTTP, HANDLER_TASK_SCRIPT };
enum handler_status { HANDLER_ENABLED, HANDLER_DISABLED, HANDLER_ARCHIVED };
/* How requests are signed (delivery.h's enum delivery_scheme, as stored). */
enum handler_signature_scheme { HANDLER_SCHEME_PROV, HANDLER_SCHEME_STANDARD };

/* What a save does to the signing secret. */
enum handler_secret_action {
	HANDLER_SECRET_KEEP,     /* leave it as it is (none on a new handler) */
	HANDLER_SECRET_GENERATE, /* a new random secret, shown to the operator once */
	HANDLER_SECRET_REMOVE,   /* deliveries are no longer signed */
};

/* A handler as stored. Strings are complete (never cut): validation refuses
 * what does not fit. */
struct handler {
	long long id;
	char name[HANDLER_NAME_BYTES + 1];
	char events_id[HANDLER_EVENT_MAX + 1];
	char task[HANDLER_TASK_MAX + 1]; /* normalised: URL with scheme, or a script's realpath */
	enum handler_task_type task_type;
	enum handler_status status;
	long priority; /* >= 1; 1 runs first, ties by id */
	long timeout_ms;
	int retry_enabled;
	long retry_max_attempts;                       /* 0: one per schedule step plus the first */
	char retry_schedule[HANDLER_SCHEDULE_MAX + 1]; /* "": RETRY_DEFAULT_SCHEDULE (retry.h) */
	int ordered;                              /* per-object order (core/dispatch_order.h); default on */
	enum handler_secret_action secret_action; /* input of a save only */
	long long expected_revision;              /* input of an update: 0 unchecked */
	/* Input of a save that generates a secret: hours the replaced one still
	 * signs along (0: it stops at once). */
	long old_secret_hours;
	enum handler_signature_scheme signature_scheme;
	int has_secret;
	/* Filled only by a save that generated it, to show once; never read back. */
	char secret[HANDLER_SECRET_MAX + 1];

	/* Read-only, filled by handlers_get. */
	char last_status[16]; /* "", "success", "fail" */
	char last_run_at[32]; /* "YYYY-MM-DD HH:MM:SS" UTC, or "" */
	long long consecutive_failures;
	char last_error[HANDLER_ERROR_MAX + 1];
	/* "YYYY-MM-DD HH:MM:SS" UTC: a rotation's old secret is still sent until
	 * then; "" when none is (the old secret itself is never read back). */
	char old_secret_until[32];
	char created_at[32];
	char updated_at[32];
	/* Every write adds 1 (optimistic locking: handlers_update compares it). */
	long long revision;
};

/* Raw fields as a form or a JSON body sends them. NULL means "not given"
 * and takes the default; "" is a value and is checked. */
struct handler_input {
	const char *name;
	const char *events_id;
	const char *task;               /* http(s)://..., host:port/path, or a script path */
	const char *status;             /* enabled | disabled | archived; default enabled */
	const char *priority;           /* integer 1..HANDLER_PRIORITY_MAX; default 1 */
	const char *timeout;            /* seconds, up to 3 decimals: "5", "2.5"; default 5 */
	const char *retry_enabled;      /* 1/0, on/off, true/false, yes/no; default on */
	const char *retry_schedule;     /* "5s,5m,2h": retry_schedule_parse rules; "" default */
	const char *retry_max_attempts; /* integer 1..HANDLER_ATTEMPTS_MAX; "" default */
	const char *ordered;            /* per-object order: 1/0, on/off, ...; default on */
	const char *secret_action;      /* keep | generate | remove; default keep */
	const char *old_secret_hours; /* 0..HANDLER_OLD_SECRET_HOURS_MAX, > 0 only with generate; default 0 */
	const char *signature_scheme; /* prov | standard; default prov */
	/* The revision the change was made on (a form's hidden field, the API's
	 * "revision"): a save on an older one is a conflict. NULL or "": unchecked. */
	const char *revision;
};

#define HANDLER_FIELD_ERRORS_MAX 14
#define HANDLER_MESSAGE_MAX 640

struct handler_field_error {
	const char *field;                 /* the struct handler_input member name: "name", "task", ... */
	char message[HANDLER_MESSAGE_MAX]; /* one line, for people */
};

struct handler_errors {
	size_t count;
	struct handler_field_error list[HANDLER_FIELD_ERRORS_MAX];
};

/* Check every field of in (all of them, not just the first bad one) and fill
 * out. scripts_dir is the configured folder scripts must resolve inside;
 * outbound_allow the config's networks an HTTP task may name beyond public
 * addresses (netpolicy.h). Returns 0 when valid, -1 with errors->count > 0
 * otherwise. */
int handler_validate(const struct handler_input *in, const char *scripts_dir, const char *outbound_allow,
                     struct handler *out, struct handler_errors *errors);

/* The message for field, or NULL when it has none. */
const char *handler_error_for(const struct handler_errors *errors, const char *field);

/* Just the task rules: fills task (normalised) and type, or writes a message. */
int handler_check_task(const char *task, const char *scripts_dir, char out[HANDLER_TASK_MAX + 1],
                       enum handler_task_type *type, char *message, size_t messagelen);

/* An HTTP task whose host is an address literal (any spelling: "127.1",
 * "2130706433", "[::1]") or "localhost" the destination policy refuses gets
 * a message and -1; names are left to the connect-time check. */
int handler_check_destination(const char *url, const char *outbound_allow, char *message, size_t messagelen);

/* The task as a viewer sees it: an URL's userinfo password (or a userinfo
 * without one, often a token) and its query values become "***":
 * "http://user:***@host/path?token=***&x=***". Admins see the task as stored.
 * A script path is copied. out holds HANDLER_TASK_MASKED_MAX bytes. */
#define HANDLER_TASK_MASKED_MAX (2 * HANDLER_TASK_MAX + 16)
void handler_task_masked(const char *task, char *out, size_t outlen);

const char *handler_status_name(enum handler_status status);
int handler_status_parse(const char *text, enum handler_status *status);
const char *handler_task_type_name(enum handler_task_type type);
const char *handler_scheme_name(enum handler_signature_scheme scheme);
int handler_scheme_parse(const char *text, enum handler_signature_scheme *scheme);
int handler_task_type_parse(const char *text, enum handler_task_type *type);

/* ---------------------------------------------------------------- the list */

enum handler_sort {
	HANDLER_SORT_PRIORITY, /* the default: the order the dispatcher runs them in */
	HANDLER_SORT_ID,
	HANDLER_SORT_NAME,
	HANDLER_SORT_EVENT,   /* in catalog order: Clients, Accounts, Clients Packages */
	HANDLER_SORT_HANDLER, /* type, then task */
	HANDLER_SORT_STATUS,  /* enabled, disabled, archived */
	HANDLER_SORT__MAX
};

const char *handler_sort_name(enum handler_sort sort);
int handler_sort_parse(const char *text, enum handler_sort *sort);

/* Columns of the rows handlers_list returns, in order. */
enum handler_column {
	HCOL_ID,
	HCOL_PRIORITY,
	HCOL_NAME,
	HCOL_EVENTS_ID,
	HCOL_TASK,
	HCOL_TASK_TYPE,
	HCOL_STATUS,
	HCOL_LAST_STATUS,
	HCOL_LAST_RUN_AT,
	HCOL_LAST_RUN_AGE, /* seconds since last_run_at */
	HCOL_FAILURES,     /* consecutive_failures */
	HCOL_LAST_ERROR,
	HCOL_HAS_SECRET,
	HCOL__MAX
};

/* What the list shows. NULL or "" means "any"; a NULL/"" status means
 * enabled + disabled (archived only when asked for). Values must have been
 * checked with handler_filter_check. */
struct handler_filter {
	const char *events_id;
	const char *task_type; /* "http" / "script" */
	const char *status;    /* "enabled" / "disabled" / "archived" */
	enum handler_sort sort;
	int descending;
	long long limit;  /* rows of one page (> 0) */
	long long offset; /* rows skipped */
};

/* NULL when the filter's values are known, else a one-line reason naming the
 * bad value (an unknown event lists the valid ones). */
const char *handler_filter_check(const struct handler_filter *filter, char *buf, size_t buflen);

/* One page of the handlers matching filter, sorted as asked (ties: priority, id). */
int handlers_list(struct db *db, const struct handler_filter *filter, struct db_rows *rows);
/* How many handlers match filter (ignoring sort, limit, offset). */
int handlers_count(struct db *db, const struct handler_filter *filter, long long *total);

/* ---------------------------------------------------------------- the store */

enum handler_store_result {
	HANDLER_STORE_OK,
	HANDLER_STORE_NOT_FOUND,
	HANDLER_STORE_ARCHIVED, /* a status toggle on an archived handler */
	HANDLER_STORE_CONFLICT, /* an update made on an older revision than the stored one */
	HANDLER_STORE_ERROR,    /* database error: db_error() says what, for the log */
};

/* Every write below runs in one transaction with the bump of
 * cache_state.handlers_version, so the Cache Manager sees it as pending
 * (cache_status_read in cache.h tells whether edits wait for a publish). */

/* Insert h (its id is set). HANDLER_SECRET_GENERATE fills h->secret. */
enum handler_store_result handlers_insert(struct db *db, struct handler *h);
/* Replace handler id with h. The secret follows h->secret_action. */
enum handler_store_result handlers_update(struct db *db, long long id, struct handler *h);
/* Set enabled/disabled; archived handlers are refused (they change in the form). */
enum handler_store_result handlers_set_status(struct db *db, long long id, enum handler_status to);
/* Delete the handler. Its execution log rows stay (they carry the name). */
enum handler_store_result handlers_delete(struct db *db, long long id);
/* Read one handler (without its secret). */
enum handler_store_result handlers_get(struct db *db, long long id, struct handler *out);

/* Wipe a generated secret from memory once it has been shown. */
void handler_forget_secret(struct handler *h);

#endif
