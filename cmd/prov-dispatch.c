/* prov-dispatch: what the billing system runs once per event (SPEC section 5):
 * reads the event data, runs the published handlers of the event, logs every
 * execution (or spools it when MariaDB is unreachable, SPEC section 7) and
 * answers with one JSON result and a distinct exit code. */
#include "cache.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "delivery.h"
#include "dispatch.h"
#include "events.h"
#include "journal.h"
#include "logstore.h"
#include "retry.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "prov-dispatch"

enum dispatch_exit {
	EXIT_ALLOWED = 0,
	EXIT_FORBIDDEN = 1,
	EXIT_BAD_INPUT = CLI_EXIT_USAGE,         /* 64 */
	EXIT_NO_SNAPSHOT = CLI_EXIT_UNAVAILABLE, /* 69 */
	EXIT_INTERNAL = CLI_EXIT_SOFTWARE,       /* 70 */
	EXIT_CONFIG = CLI_EXIT_CONFIG,           /* 78 */
};

static const char usage[] =
    "usage: prov-dispatch [--config FILE] EVENT [--object-id N] [--event-id UID] < data.json\n"
    "\n"
    "Runs the published enabled handlers of EVENT in priority order with the JSON object\n"
    "read from stdin as the event data, logs every execution, and prints one JSON result:\n"
    "  {\"event\":{...},\"data\":{final data},\"verdict\":\"allow\"|\"forbid\",\"reason\":...,\n"
    "   \"forbidden_by\":ID,\"generation\":N,\"logged\":true,\"spooled\":false,\n"
    "   \"handlers\":[{\"id\",\"name\",\"status\",\"verdict\",\"duration_ms\",\"http_status\",\n"
    "   \"exit_code\",\"error\",\"delivery_id\"}]}\n"
    "\n"
    "arguments:\n"
    "  EVENT            an event id, e.g. clients.update (see the list below)\n"
    "  --object-id N    the id of the client, account or package the event is about\n"
    "  --event-id UID   the event's id (1-64 of A-Z a-z 0-9 . _ : -); default: a new UUID\n"
    "  --config FILE    configuration file (else $PROV_CONFIG, else " CONFIG_DEFAULT_PATH ")\n"
    "  --help           this text\n"
    "\n"
    "exit codes:\n"
    "  0   allowed: every handler ran (or failed and was logged); the result is on stdout\n"
    "  1   forbidden: a handler answered \"allow\": false; the reason is in the result\n"
    "  64  bad input (unknown event, bad option, data not a JSON object, data larger than\n"
    "      payload_max_bytes): one line on stderr, no handler was run, nothing logged\n"
    "  69  no handler set to run: the database is unreachable and there is no local copy\n"
    "      of the published snapshot (cache_path); no handler was run\n"
    "  70  internal error, e.g. the execution log could be neither written nor spooled:\n"
    "      handlers may have run, and the result on stdout (when present) still carries\n"
    "      the verdict\n"
    "\n"
    "When MariaDB is unreachable the handlers still run (from the local snapshot copy)\n"
    "and the log rows and retries are kept in spool_dir (\"logged\":false,\"spooled\":true,\n"
    "exit code as above) until prov-worker imports them. Failed deliveries are queued\n"
    "for prov-worker to retry.\n"
    "  78  configuration missing or invalid\n";

struct dispatch_args {
	const char *config_path;
	const char *events_id;
	const char *event_uid;
	int has_object_id;
	long long object_id;
};

static int bad_input(const char *fmt, const char *detail)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, detail);
	fputc('\n', stderr);
	return EXIT_BAD_INPUT;
}

static int parse_object_id(const char *text, struct dispatch_args *args)
{
	char *end;
	errno = 0;
	long long value = strtoll(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE || value < 0)
		return -1;
	args->object_id = value;
	args->has_object_id = 1;
	return 0;
}

/* Options may come before or after EVENT, as "--opt value" or "--opt=value". */
static int parse_args(int argc, char **argv, struct dispatch_args *args)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = NULL;
		int is_object = strncmp(arg, "--object-id", 11) == 0 && (arg[11] == '\0' || arg[11] == '=');
		int is_event = strncmp(arg, "--event-id", 10) == 0 && (arg[10] == '\0' || arg[10] == '=');
		if (is_object || is_event) {
			const char *eq = strchr(arg, '=');
			if (eq != NULL)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return bad_input("%s needs a value (see --help)", arg);
			if (is_object && parse_object_id(value, args) != 0)
				return bad_input("--object-id must be a non-negative integer, not '%s'",
				                 value);
			if (is_event)
				args->event_uid = value;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			return bad_input("unknown option %s (see --help)", arg);
		} else if (args->events_id != NULL) {
			return bad_input("one EVENT only; unexpected '%s'", arg);
		} else {
			args->events_id = arg;
		}
	}
	if (args->events_id == NULL)
		return bad_input("missing EVENT; valid events: %s", events_valid_list());
	if (events_find(args->events_id) == NULL) {
		fprintf(stderr, PROG ": unknown event '%s'; valid events: %s\n", args->events_id,
		        events_valid_list());
		return EXIT_BAD_INPUT;
	}
	return 0;
}

/* The event data: a JSON object of at most max bytes on stdin. */
static json_t *read_data(long max, int *rc)
{
	size_t limit = (size_t)max;
	char *buf = malloc(limit + 1);
	size_t len = 0;
	*rc = EXIT_BAD_INPUT;
	if (buf == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		*rc = EXIT_INTERNAL;
		return NULL;
	}
	while (len <= limit) {
		ssize_t n = read(STDIN_FILENO, buf + len, limit + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, PROG ": cannot read the event data from stdin: %s\n",
			        strerror(errno));
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	json_t *data = NULL;
	json_error_t jerr;
	if (len > limit)
		fprintf(stderr, PROG ": the event data is larger than payload_max_bytes (%ld bytes)\n", max);
	else if (len == 0)
		fprintf(stderr, PROG ": no event data on stdin: expected a JSON object\n");
	else if ((data = json_loadb(buf, len, JSON_DECODE_ANY, &jerr)) == NULL)
		fprintf(stderr, PROG ": the event data is not valid JSON: %s (line %d, column %d)\n",
		        jerr.text, jerr.line, jerr.column);
	else if (!json_is_object(data)) {
		fprintf(stderr, PROG ": the event data must be a JSON object, not %s\n",
		        json_is_array(data) ? "an array" : "a scalar");
		json_decref(data);
		data = NULL;
	}
	free(buf);
	return data;
}

/* ---------------------------------------------------------------- the journal
 * Every delivery's request goes to this process's spool journal before it is
 * sent and its outcome after: a kill -9 loses no log row. The journal is
 * removed once the log is committed, and kept (fsync) when it cannot be. */
struct run_state {
	struct delivery *delivery;
	struct journal journal;
	const struct dispatch_event *event;
	const struct cache_handler *chain; /* the handlers in run order */
	size_t next;                       /* the step being delivered */
	struct logstore_queue *queues;     /* what the retry queue does with each step */
};

/* A failed first delivery is queued when the handler retries and it is worth it. */
static struct logstore_queue queue_for(const struct cache_handler *h, const struct delivery_result *r)
{
	struct logstore_queue q = {.action = LOGSTORE_QUEUE_NONE};
	if (r->success || !h->retry_enabled)
		return q;
	struct retry_policy policy;
	char ignored[128];
	retry_policy_init(&policy, 1, h->retry_schedule, h->retry_max_attempts, ignored, sizeof ignored);
	if (retry_decide(&policy, 0, r->http_status, r->retry_after_s, 1, retry_jitter(), &q.delay_seconds) ==
	    RETRY_AGAIN)
		q.action = LOGSTORE_QUEUE_ENQUEUE;
	return q;
}

static void journal_step_begin(struct run_state *rs, const struct cache_handler *h,
                               const struct delivery_request *req)
{
	const struct dispatch_event *ev = rs->event;
	struct journal_begin b = {.trigger = DELIVERY_TRIGGER_DISPATCH,
	                          .delivery_id = req->delivery_id,
	                          .attempt = req->attempt,
	                          .events_id = ev->events_id,
	                          .event_uid = ev->uid,
	                          .has_object_id = ev->has_object_id,
	                          .object_id = ev->object_id,
	                          .handler_id = h->id,
	                          .handler_name = h->name,
	                          .retry_enabled = h->retry_enabled,
	                          .retry_schedule = h->retry_schedule,
	                          .retry_max_attempts = h->retry_max_attempts,
	                          .request = req->body,
	                          .request_len = req->body_len,
	                          .started_us = delivery_now_us()};
	journal_begin(&rs->journal, &b);
}

static int deliver(void *ctx, const struct delivery_request *req, struct delivery_result *out)
{
	struct run_state *rs = ctx;
	const struct cache_handler *h = &rs->chain[rs->next];
	journal_step_begin(rs, h, req);
	int rc = delivery_run(rs->delivery, req, out);
	rs->queues[rs->next] = queue_for(h, out);
	journal_end(&rs->journal, req->delivery_id, req->attempt, out, &rs->queues[rs->next]);
	rs->next++;
	return rc;
}

/* Log the run, or keep its journal for prov-worker. Sets *logged / *spooled. */
static void log_run(const struct config *cfg, struct db *db, const char *db_err, struct run_state *rs,
                    const struct dispatch_outcome *outcome, int *logged, int *spooled)
{
	char err[1024];
	struct logstore_options opt;
	logstore_options_from_config(cfg, &opt);
	*logged = *spooled = 0;
	if (db != NULL &&
	    logstore_write_outcome(db, &opt, rs->event, outcome, rs->queues, err, sizeof err) == 0) {
		*logged = 1;
		if (rs->journal.failed)
			fprintf(stderr,
			        PROG ": warning: the spool journal could not be written (%s): a crash "
			             "during a run could lose its log rows\n",
			        rs->journal.error);
		journal_discard(&rs->journal);
		return;
	}
	const char *why = db == NULL ? db_err : err;
	if (journal_keep(&rs->journal) == 0) {
		*spooled = 1;
		fprintf(stderr,
		        PROG
		        ": the execution log was not written: %s; kept in the spool (%s) for prov-worker\n",
		        why, rs->journal.file.path);
	} else {
		fprintf(stderr, PROG ": the execution log was not written: %s; nor spooled: %s\n", why,
		        rs->journal.error);
	}
}

/* Run the chain and log it; prints the result. Returns the exit code. */
static int run_event(const struct config *cfg, struct db *db, const char *db_err,
                     const struct cache_snapshot *snap, const struct dispatch_event *event, json_t *data)
{
	size_t first = 0;
	size_t n = cache_select(snap, event->events_id, &first);
	char err[1024];
	struct delivery_limits limits = {.response_read_max = (size_t)cfg->payload_max_bytes + 65536,
	                                 .scripts_dir = cfg->scripts_dir};
	struct delivery *d = n ? delivery_new(&limits, err, sizeof err) : NULL;
	if (n && d == NULL) {
		json_decref(data);
		fprintf(stderr, PROG ": %s\n", err);
		return EXIT_INTERNAL;
	}
	struct run_state rs = {.delivery = d, .event = event, .chain = n ? &snap->handlers[first] : NULL};
	journal_init(&rs.journal, cfg->spool_dir, (size_t)cfg->response_max_bytes);
	rs.queues = calloc(n ? n : 1, sizeof *rs.queues);
	struct dispatch_outcome outcome;
	int rc = rs.queues ? dispatch_run(event, data, rs.chain, n, deliver, &rs, &outcome) : -1;
	if (rs.queues == NULL)
		json_decref(data);
	delivery_free(d);
	int logged = 1, spooled = 0;
	if (rc == 0 && outcome.nsteps > 0)
		log_run(cfg, db, db_err, &rs, &outcome, &logged, &spooled);
	json_t *result = rc == 0 ? dispatch_result_json(event, &outcome, snap->generation, logged) : NULL;
	if (result != NULL)
		json_object_set_new(result, "spooled", json_boolean(spooled));
	int exit_code = rc == 0 && outcome.forbidden ? EXIT_FORBIDDEN : EXIT_ALLOWED;
	if (result == NULL || json_dumpf(result, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		fprintf(stderr, PROG ": the result could not be written\n");
		exit_code = EXIT_INTERNAL;
	}
	if (!logged && !spooled)
		exit_code = EXIT_INTERNAL;
	json_decref(result);
	if (rs.queues != NULL)
		dispatch_outcome_free(&outcome);
	free(rs.queues);
	return exit_code;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return EXIT_ALLOWED;
		}
	struct dispatch_args args = {0};
	if (cli_take_config(&argc, argv, &args.config_path) != 0)
		return bad_input("%s", "--config needs a file");
	int rc = parse_args(argc, argv, &args);
	if (rc != 0)
		return rc;
	static struct config cfg;
	if (cli_load_config(PROG, args.config_path, &cfg) != 0)
		return EXIT_CONFIG;
	struct dispatch_event event;
	if (dispatch_event_init(&event, args.events_id, args.event_uid) != 0)
		return bad_input("--event-id must be 1-64 characters of A-Z a-z 0-9 . _ : - (got '%s')",
		                 args.event_uid);
	event.has_object_id = args.has_object_id;
	event.object_id = args.object_id;
	json_t *data = read_data(cfg.payload_max_bytes, &rc);
	if (data == NULL)
		return rc;

	char db_err[1024] = "";
	struct db *db = db_open(&cfg, db_err, sizeof db_err);
	struct cache_snapshot snap;
	char err[2048], warning[1024];
	if (cache_load(&cfg, db, &snap, err, sizeof err, warning, sizeof warning) < 0) {
		fprintf(stderr, PROG ": no handler set to run: %s\n", err);
		json_decref(data);
		db_close(db);
		return EXIT_NO_SNAPSHOT;
	}
	if (warning[0] != '\0')
		fprintf(stderr, PROG ": warning: %s\n", warning);
	rc = run_event(&cfg, db, db_err, &snap, &event, data);
	cache_snapshot_free(&snap);
	db_close(db);
	return rc;
}
