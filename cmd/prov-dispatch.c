/* prov-dispatch: what the billing system runs once per event (SPEC section 5):
 * reads the event data, runs the published handlers of the event, logs every
 * execution and answers with one JSON result and a distinct exit code. */
#include "cache.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "delivery.h"
#include "dispatch.h"
#include "events.h"
#include "logstore.h"

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
    "   \"forbidden_by\":ID,\"generation\":N,\"logged\":true,\"handlers\":[{\"id\",\"name\",\"status\",\n"
    "   \"verdict\",\"duration_ms\",\"http_status\",\"exit_code\",\"error\",\"delivery_id\"}]}\n"
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
    "  70  internal error, e.g. the execution log could not be written: handlers may have\n"
    "      run, and the result on stdout (when present) still carries the verdict\n"
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

static int deliver(void *ctx, const struct delivery_request *req, struct delivery_result *out)
{
	return delivery_run(ctx, req, out);
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
	struct dispatch_outcome outcome;
	int rc = dispatch_run(event, data, n ? &snap->handlers[first] : NULL, n, deliver, d, &outcome);
	delivery_free(d);
	int logged = 1;
	if (rc == 0 && outcome.nsteps > 0) {
		if (db == NULL) {
			logged = 0;
			fprintf(stderr, PROG ": the execution log was not written: %s\n", db_err);
		} else if (logstore_write_outcome(db, (size_t)cfg->response_max_bytes, event, &outcome, err,
		                                  sizeof err) != 0) {
			logged = 0;
			fprintf(stderr, PROG ": the execution log was not written: %s\n", err);
		}
	}
	json_t *result = rc == 0 ? dispatch_result_json(event, &outcome, snap->generation, logged) : NULL;
	int exit_code = outcome.forbidden ? EXIT_FORBIDDEN : EXIT_ALLOWED;
	if (result == NULL || json_dumpf(result, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		fprintf(stderr, PROG ": the result could not be written\n");
		exit_code = EXIT_INTERNAL;
	}
	if (!logged)
		exit_code = EXIT_INTERNAL;
	json_decref(result);
	dispatch_outcome_free(&outcome);
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
