/* prov-dispatchd: the dispatcher (SPEC section 5). Runs one event, a --batch,
 * or, with --serve, stays resident as a pool of workers that prov-dispatch
 * hands its events to (core/dispatch_service.c). An event: read the data, run
 * the published handlers, log every execution (or spool it when MariaDB is
 * unreachable, SPEC section 7), answer with one JSON result and an exit code. */
#include "batchrun.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "dispatch_service.h"
#include "dispatch_stats.h"
#include "dispatcher.h"
#include "events.h"
#include "monotonic.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "prov-dispatch"
#define SERVICE_PROG "prov-dispatchd"

/* GnuTLS is in the release binary only as a dependency of libcurl's LDAP and
 * RTMP backends, which the dispatcher never uses (delivery allows http and
 * https only, and https goes through OpenSSL). Linked statically, its
 * constructor would still build its ASN.1 trees and probe the CPU at every
 * start, about 60 page faults (0.3 ms) here. GnuTLS's documented switch
 * GNUTLS_NO_IMPLICIT_INIT skips that; gnutls_global_init() would still run
 * if anything called into GnuTLS. Priority 101 runs this before the default
 * priority constructors of the statically linked libraries. */
static int gnutls_switch_set;

__attribute__((constructor(101))) static void skip_gnutls_implicit_init(void)
{
	if (getenv("GNUTLS_NO_IMPLICIT_INIT") == NULL && setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0) == 0)
		gnutls_switch_set = 1;
}

static const char dispatch_usage[] =
    "usage: prov-dispatch [--config FILE] EVENT [--object-id N] [--event-id UID] < data.json\n"
    "       prov-dispatch [--config FILE] --batch < envelopes.ndjson\n"
    "       prov-dispatchd [--config FILE] --serve\n"
    "\n"
    "Runs the published enabled handlers of EVENT in priority order with the JSON object\n"
    "read from stdin as the event data, logs every execution, and prints one JSON result:\n"
    "  {\"event\":{...},\"data\":{final data},\"verdict\":\"allow\"|\"forbid\",\"reason\":...,\n"
    "   \"forbidden_by\":ID,\"generation\":N,\"logged\":true,\"spooled\":false,\n"
    "   \"handlers\":[{\"id\",\"name\",\"status\",\"verdict\",\"duration_ms\",\"http_status\",\n"
    "   \"exit_code\",\"error\",\"delivery_id\"}]}\n"
    "\n"
    "arguments:\n"
    "  EVENT            an event id, e.g. clients.update (the events are listed below)\n"
    "  --object-id N    the id of the client, account or package the event is about\n"
    "  --event-id UID   the event's id (1-64 of A-Z a-z 0-9 . _ : -); default: a new UUID\n"
    "  --batch          many events: one envelope per stdin line,\n"
    "                   {\"event\":{\"events_id\":E,\"id\":UID,\"dt\":ISO-8601 "
    "UTC,\"object_id\":N},\"data\":{...}}\n"
    "                   (id, dt, object_id optional), each line at most payload_max_bytes;\n"
    "                   one result per line on stdout, in order, with \"line\":N added; a bad\n"
    "                   line gets {\"line\":N,\"error\":\"...\"} and nothing runs for it. One\n"
    "                   database connection and one HTTP connection pool serve the batch; the\n"
    "                   published generation is checked before every event; every event's\n"
    "                   log is its own transaction\n"
    "  --serve          (prov-dispatchd) stay resident: dispatch_workers processes on the\n"
    "                   Unix socket dispatch_socket run the events prov-dispatch hands\n"
    "                   them, with the caller's stdin, stdout and stderr; each keeps its\n"
    "                   database connection, HTTP connections and snapshot (the published\n"
    "                   generation is checked before every event). prov-dispatch runs an\n"
    "                   event itself when the service is not running or no worker is free\n"
    "                   within dispatch_wait_ms. Stops on SIGTERM after the runs in progress\n"
    "  --config FILE    configuration file (else $PROV_CONFIG, else " CONFIG_DEFAULT_PATH ")\n"
    "  --help           this text\n"
    "\n"
    "exit codes:\n"
    "  0   allowed: every handler ran (or failed and was logged); the result is on stdout.\n"
    "      --batch: every line was read and run (each result carries its own verdict)\n"
    "  1   forbidden: a handler answered \"allow\": false; the reason is in the result\n"
    "  64  bad input (unknown event, bad option, data not a JSON object, data larger than\n"
    "      payload_max_bytes): one line on stderr, no handler was run, nothing logged.\n"
    "      --batch: at least one line was bad (the others were run)\n"
    "  69  no handler set to run: the database is unreachable and there is no local copy\n"
    "      of the published snapshot (cache_path); no handler was run\n"
    "  70  internal error, e.g. the execution log could be neither written nor spooled:\n"
    "      handlers may have run, and the result on stdout (when present) still carries\n"
    "      the verdict. --batch: this for any event wins over 64\n"
    "  73  the spool journal in spool_dir cannot be written (disk full, not writable):\n"
    "      no delivery is made that its journal would not show; handlers run before it\n"
    "      are logged; no result on stdout. --batch: stops at that event (no result line\n"
    "      for it or any later line)\n"
    "  78  configuration missing or invalid\n"
    "prov-dispatch also exits 70 when the service's worker ended during the run (its\n"
    "handlers may have run; the spool keeps their log). --serve exits 0 once stopped,\n"
    "70 when it cannot listen on dispatch_socket, 78 for the configuration.\n"
    "\n"
    "When MariaDB is unreachable the handlers still run (from the local snapshot copy)\n"
    "and the log rows and retries are kept in spool_dir (\"logged\":false,\"spooled\":true,\n"
    "exit code as above) until prov-worker imports them. Failed deliveries are queued\n"
    "for prov-worker to retry. prov-dispatchd --help: the service; man prov-dispatch(1).\n";

static const char service_usage[] =
    "usage: prov-dispatchd [--config FILE] --serve\n"
    "       prov-dispatchd [--config FILE] EVENT [--object-id N] [--event-id UID] < data.json\n"
    "       prov-dispatchd [--config FILE] --batch < envelopes.ndjson\n"
    "\n"
    "The dispatcher. With --serve it stays resident: dispatch_workers processes listen on\n"
    "the Unix socket dispatch_socket (mode 0660) and run the events prov-dispatch hands\n"
    "them, with the caller's arguments, stdin, stdout and stderr; each worker keeps its\n"
    "database connection, prepared statements, HTTP connections and the snapshot, and\n"
    "checks the published generation before every event. A worker that dies is\n"
    "restarted; its run's journal stays in spool_dir for prov-worker.\n"
    "\n"
    "Without --serve it runs one event or a --batch exactly as prov-dispatch does:\n"
    "prov-dispatch becomes prov-dispatchd (exec) when no service worker takes its event\n"
    "within dispatch_wait_ms. The arguments, the result and the exit codes of an event\n"
    "are those of prov-dispatch --help.\n"
    "\n"
    "options:\n"
    "  --serve          run the service (no EVENT, --batch, --object-id or --event-id)\n"
    "  --config FILE    configuration file (else $PROV_CONFIG, else " CONFIG_DEFAULT_PATH ");\n"
    "                   --serve reads dispatch_socket, dispatch_workers (1-256),\n"
    "                   dispatch_wait_ms, dispatch_workers_per_uid (0-256, 0: no cap) and\n"
    "                   dispatch_read_timeout_ms from it\n"
    "  --help           this text\n"
    "\n"
    "exit codes of --serve:\n"
    "  0   stopped by SIGTERM, SIGINT or SIGHUP: the socket is removed at once, and\n"
    "      every run in progress finishes\n"
    "  64  usage error\n"
    "  70  it cannot listen on dispatch_socket (another service listens there)\n"
    "  78  configuration missing or invalid, or dispatch_socket not set\n"
    "See man prov-dispatchd(1) and prov-dispatch(1).\n";

/* --help: the text of the name it was run as (prov-dispatch execs this
 * program with its own argv[0]), then the event catalog. */
static void print_usage(const char *argv0)
{
	const char *slash = argv0 != NULL ? strrchr(argv0, '/') : NULL;
	const char *name = slash != NULL ? slash + 1 : argv0 != NULL ? argv0 : "";
	fputs(strcmp(name, SERVICE_PROG) == 0 ? service_usage : dispatch_usage, stdout);
	printf("\nevents (EVENT, or \"events_id\" in an envelope):\n");
	for (size_t i = 0; i < events_count(); i++) {
		const struct event_def *e = events_at(i);
		printf("  %-34s %s: %s\n", e->id, e->group, e->label);
	}
}

struct dispatch_args {
	const char *config_path;
	int batch;
	int serve;
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
	return DISPATCHER_BAD_INPUT;
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
		} else if (strcmp(arg, "--batch") == 0) {
			args->batch = 1;
		} else if (strcmp(arg, "--serve") == 0) {
			args->serve = 1;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			return bad_input("unknown option %s (see --help)", arg);
		} else if (args->events_id != NULL) {
			return bad_input("one EVENT only; unexpected '%s'", arg);
		} else {
			args->events_id = arg;
		}
	}
	if (args->serve) {
		if (args->batch || args->events_id != NULL || args->event_uid != NULL || args->has_object_id)
			return bad_input("%s", "--serve takes no EVENT, --batch, --object-id or --event-id");
		return 0;
	}
	if (args->batch) {
		if (args->events_id != NULL || args->event_uid != NULL || args->has_object_id)
			return bad_input(
			    "%s", "--batch takes the events from stdin: no EVENT, --object-id or --event-id");
		return 0;
	}
	if (args->events_id == NULL)
		return bad_input("missing EVENT; valid events: %s", events_valid_list());
	if (events_find(args->events_id) == NULL) {
		fprintf(stderr, PROG ": unknown event '%s'; valid events: %s\n", args->events_id,
		        events_valid_list());
		return DISPATCHER_BAD_INPUT;
	}
	return 0;
}

/* The event data: a JSON object of at most max bytes on stdin, arriving
 * within timeout_ms (a caller that never closes its stdin holds nothing). */
static json_t *read_data(long max, long timeout_ms, int *rc)
{
	size_t limit = (size_t)max;
	char *buf = malloc(limit + 1);
	size_t len = 0;
	*rc = DISPATCHER_BAD_INPUT;
	if (buf == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		*rc = DISPATCHER_INTERNAL;
		return NULL;
	}
	int got = dsvc_read_data(STDIN_FILENO, buf, limit, timeout_ms, &len);
	if (got == DSVC_READ_TIMEOUT) {
		fprintf(stderr,
		        PROG
		        ": the event data did not arrive within %ld ms (dispatch_read_timeout_ms): stdin "
		        "was not closed; nothing was run\n",
		        timeout_ms);
		free(buf);
		return NULL;
	}
	if (got != 0) {
		fprintf(stderr, PROG ": cannot read the event data from stdin: %s\n", strerror(errno));
		free(buf);
		return NULL;
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

static int run_single(struct dispatcher *dp, const struct dispatch_event *event, json_t *data)
{
	int exit_code;
	json_t *result = dispatcher_run(dp, event, data, &exit_code);
	if (result != NULL && batchrun_print_result(dp, result) != 0)
		exit_code = DISPATCHER_INTERNAL;
	json_decref(result);
	return exit_code;
}

/* ---------------------------------------------------------------- --serve */

/* One worker's state: what a --batch keeps, kept across callers. */
struct service {
	const struct config *cfg;
	int listen_fd;
	int open; /* dp holds a snapshot */
	struct dispatcher dp;
};

/* One caller's event, with the caller's stdin, stdout and stderr as fds 0-2:
 * the same checks, run and result as a direct run. */
static int serve_event(void *ctx, int argc, char **argv)
{
	struct service *svc = ctx;
	struct dispatch_args args = {0};
	int rc = parse_args(argc, argv, &args);
	if (rc != 0)
		return rc;
	if (args.batch || args.serve)
		return bad_input("%s", "--batch and --serve run in their own process, not in the service");
	struct dispatch_event event;
	if (dispatch_event_init(&event, args.events_id, args.event_uid) != 0)
		return bad_input("--event-id must be 1-64 characters of A-Z a-z 0-9 . _ : - (got '%s')",
		                 args.event_uid);
	event.has_object_id = args.has_object_id;
	event.object_id = args.object_id;
	json_t *data = read_data(svc->cfg->payload_max_bytes, svc->cfg->dispatch_read_timeout_ms, &rc);
	if (data == NULL)
		return rc;
	/* Like a direct run, every event runs the generation published when it
	 * arrives: one round trip, the price of "seen right after a restart". */
	rc = svc->open ? dispatcher_refresh(&svc->dp) : dispatcher_open(&svc->dp, svc->cfg);
	if (rc != 0) {
		json_decref(data);
		if (!svc->open)
			dispatcher_close(&svc->dp);
		return rc;
	}
	svc->open = svc->dp.many = 1;
	return run_single(&svc->dp, &event, data);
}

static int service_worker(void *ctx)
{
	struct service *svc = ctx;
	/* Connect and load the snapshot now, so the first caller does not wait
	 * for it; a failure here is tried again by the next event. */
	svc->open = svc->dp.many = dispatcher_open(&svc->dp, svc->cfg) == 0;
	if (svc->open)
		fprintf(stderr, SERVICE_PROG "[%d]: worker ready, generation %lld\n", (int)getpid(),
		        svc->dp.snap.generation);
	else {
		dispatcher_close(&svc->dp);
		fprintf(stderr,
		        SERVICE_PROG "[%d]: worker ready without a snapshot (tried again per event)\n",
		        (int)getpid());
	}
	int rc = dsvc_worker_loop(svc->listen_fd, serve_event, svc);
	if (rc != 0)
		fprintf(stderr, SERVICE_PROG "[%d]: the listening socket failed: %s\n", (int)getpid(),
		        strerror(errno));
	if (svc->open)
		dispatcher_close(&svc->dp);
	return rc == 0 ? DISPATCHER_ALLOWED : DISPATCHER_INTERNAL;
}

/* The reporter (dsvc_set_reporter): this host's row every few seconds, and
 * once more after the pool stopped (workers 0). Its own connection, opened
 * again when it fails. */
static int service_reporter(void *ctx, const struct dsvc_counters *counters)
{
	const struct config *cfg = ctx;
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	int pid = (int)getppid();
	struct db *db = NULL;
	for (int stopping = 0;;) {
		char err[512];
		if (db == NULL && (db = db_open(cfg, err, sizeof err)) == NULL)
			fprintf(stderr, SERVICE_PROG "[%d]: reporter: %s\n", (int)getpid(), err);
		if (db != NULL && dispatch_stats_report(db, pid, counters) != 0) {
			fprintf(stderr, SERVICE_PROG "[%d]: reporter: %s\n", (int)getpid(), db_error(db));
			db_close(db);
			db = NULL;
		}
		if (stopping)
			break;
		struct timespec interval = {.tv_sec = DISPATCH_STATS_INTERVAL_S};
		int sig = sigtimedwait(&stop, NULL, &interval);
		if (sig == SIGTERM || sig == SIGINT)
			stopping = 1; /* the master sets workers to 0 before it stops this process */
	}
	if (db != NULL)
		db_close(db);
	return 0;
}

static int serve(const struct config *cfg)
{
	if (cfg->dispatch_socket[0] == '\0') {
		fprintf(stderr, SERVICE_PROG ": --serve needs dispatch_socket in %s\n", cfg->path);
		return DISPATCHER_CONFIG;
	}
	char err[512];
	int fd = dsvc_listen(cfg->dispatch_socket, err, sizeof err);
	if (fd < 0) {
		fprintf(stderr, SERVICE_PROG ": %s\n", err);
		return DISPATCHER_INTERNAL;
	}
	struct service svc = {.cfg = cfg, .listen_fd = fd};
	dsvc_set_reporter(service_reporter, (void *)cfg);
	return dsvc_serve(SERVICE_PROG, cfg->dispatch_socket, fd, (int)cfg->dispatch_workers,
	                  (int)cfg->dispatch_workers_per_uid, service_worker, &svc);
}

/* ---------------------------------------------------------------- main */

/* Leaves without the libraries' exit-time cleanup (OpenSSL and GnuTLS free
 * their global tables: 0.1 ms of a 4 ms run); the kernel frees the memory,
 * and stdout is flushed first. Sanitizer builds return normally so that
 * LeakSanitizer still checks at exit; valgrind checks either way. */
static int leave(int exit_code)
{
#if !defined(__SANITIZE_ADDRESS__)
	if (fflush(NULL) == 0)
		_exit(exit_code);
#endif
	return exit_code;
}

int main(int argc, char **argv)
{
	if (gnutls_switch_set)
		unsetenv("GNUTLS_NO_IMPLICIT_INIT"); /* the environment stays the caller's */
	int fallback = getenv(DISPATCH_FALLBACK_ENV) != NULL;
	unsetenv(DISPATCH_FALLBACK_ENV); /* never seen by a script handler */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_usage(argv[0]);
			return DISPATCHER_ALLOWED;
		}
	struct dispatch_args args = {0};
	if (config_take_option(&argc, argv, &args.config_path) != 0)
		return bad_input("%s", "--config needs a file");
	int rc = parse_args(argc, argv, &args);
	if (rc != 0)
		return rc;
	static struct config cfg;
	if (cli_load_config(args.serve ? SERVICE_PROG : PROG, args.config_path, &cfg) != 0)
		return DISPATCHER_CONFIG;
	if (args.serve)
		return serve(&cfg);
	struct dispatch_event event;
	json_t *data = NULL;
	if (!args.batch) {
		if (dispatch_event_init(&event, args.events_id, args.event_uid) != 0)
			return bad_input(
			    "--event-id must be 1-64 characters of A-Z a-z 0-9 . _ : - (got '%s')",
			    args.event_uid);
		event.has_object_id = args.has_object_id;
		event.object_id = args.object_id;
		data = read_data(cfg.payload_max_bytes, cfg.dispatch_read_timeout_ms, &rc);
		if (data == NULL)
			return rc;
	}
	struct dispatcher dp;
	rc = dispatcher_open(&dp, &cfg);
	dp.many = args.batch;
	if (rc == 0)
		rc = args.batch ? batchrun(&dp) : run_single(&dp, &event, data);
	else
		json_decref(data);
	/* After the event (it never waits for this): counted for /metrics. */
	if (fallback && dp.db != NULL && dispatch_stats_fallback(dp.db) != 0)
		fprintf(stderr, PROG ": could not count the exec fallback: %s\n", db_error(dp.db));
	dispatcher_close(&dp);
	return leave(rc);
}
