/* prov-admin: the first setup (schema and first admin), users, API keys and
 * the execution log purge (with the retention of the retry queue and the
 * published snapshots) from the command line. */
#include "apikeys.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "bulk.h"
#include "history.h"
#include "events.h"
#include "handler_test.h"
#include "handler_test_queue.h"
#include "handlers.h"
#include "logs.h"
#include "monotonic.h"
#include "retention.h"
#include "users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where the Debian package installs schema.sql. */
#define SCHEMA_DEFAULT_PATH "/usr/share/provisioning/schema.sql"
#define SCHEMA_MAX_BYTES (4L * 1024 * 1024)

static const char usage[] =
    "usage: prov-admin [--config FILE] COMMAND ...\n"
    "\n"
    "commands:\n"
    "  setup [--schema FILE] [--admin NAME]\n"
    "                                      create or update the tables (schema.sql; default\n"
    "                                      " SCHEMA_DEFAULT_PATH "; safe to run again),\n"
    "                                      then, when no admin exists yet, add the admin NAME\n"
    "                                      (default admin) with the password read from stdin\n"
    "  user add NAME --role admin|viewer   add a user; the password is read from stdin\n"
    "  user passwd NAME                    set a new password (stdin), unlock the user, end its sessions\n"
    "  user disable NAME                   refuse the user's logins, sessions and API keys;\n"
    "                                      end its sessions\n"
    "  user enable NAME                    let a disabled user in again\n"
    "  user unlock NAME                    lift the login lock-out of NAME (login_max_failures\n"
    "                                      failed logins lock a name for login_lock_seconds)\n"
    "  user sessions NAME [--revoke]       list the user's live sessions (created, last seen, expires,\n"
    "                                      source address; never the token); --revoke ends them all\n"
    "  apikey create USER NAME             create an API key acting as USER; printed once\n"
    "  apikey revoke ID                    revoke an API key\n"
    "  apikey list                         list API keys (prefix, user, role, last use)\n"
    "  logs purge [--days N] [--batch M]   delete execution log rows older than N days\n"
    "                                      (default log_retention_days), M rows per\n"
    "                                      statement (default 5000); each run shows on\n"
    "                                      the Task Scheduler page (Execution Log Purge);\n"
    "                                      then deletes done and exhausted retry queue\n"
    "                                      rows older than retry_retention_days and the\n"
    "                                      snapshots beyond the newest\n"
    "                                      cache_generations_keep (the current one stays)\n"
    "  logs redeliver --since T [--handler ID] [--event E] [--until T]\n"
    "                                      redeliver in bulk the failed executions since T\n"
    "                                      (UTC, YYYY-MM-DD[ HH:MM[:SS]]) whose delivery\n"
    "                                      has not succeeded or been tried again since;\n"
    "                                      prov-worker runs them; asking again while it is\n"
    "                                      pending gives the same request\n"
    "  logs bulk ID                        a bulk redelivery's progress\n"
    "  handlers test ID [--event E] [--data FILE|-]\n"
    "                                      send a test to handler ID alone (any status,\n"
    "                                      published or not) with the sample of its event\n"
    "                                      (or E's), or the JSON object in FILE (- : stdin);\n"
    "                                      logged with trigger test, never retried; prints\n"
    "                                      the result as JSON; a script handler runs here,\n"
    "                                      as the invoking user: run it as the dispatcher's\n"
    "                                      user (the script rules of prov-worker apply)\n"
    "\n"
    "options:\n"
    "  --config FILE   configuration file (else $PROV_CONFIG, else " CONFIG_DEFAULT_PATH ")\n"
    "  --help          this text\n"
    "\n"
    "exit codes:\n"
    "  0   done\n"
    "  1   refused (bad name, weak password, duplicate user, unknown user; handlers test:\n"
    "      bad payload or event, not sent; or sent and the handler failed)\n"
    "  64  usage error or no password on stdin\n"
    "  66  setup: the schema file cannot be read\n"
    "  69  database unreachable\n"
    "  70  a database statement failed (logs purge: rows already removed stay removed;\n"
    "      setup: the statements before the failed one stay applied, and setup may run again)\n"
    "  78  configuration missing or invalid\n";

#define PROG "prov-admin"
#define EXIT_REFUSED 1 /* see the usage's exit codes */

static int usage_error(const char *message)
{
	fprintf(stderr, PROG ": %s (see --help)\n", message);
	return CLI_EXIT_USAGE;
}

static int read_password(char *buf, size_t buflen)
{
	if (cli_read_line(stdin, buf, buflen) < 0) {
		fprintf(stderr, PROG ": expected the password as one line on stdin (1-1024 characters)\n");
		return -1;
	}
	return 0;
}

/* user disable|enable|unlock NAME, user sessions NAME [--revoke]: no password involved. */
static int user_access_command(const struct config *cfg, const char *sub, const char *name, int revoke)
{
	struct db *db = cli_open_db(PROG, cfg);
	if (db == NULL)
		return CLI_EXIT_UNAVAILABLE;
	char err[512];
	int rc = 0;
	if (strcmp(sub, "unlock") == 0) {
		/* Any name: a lock-out counts names whether or not a user has them. */
		if (login_failures_clear_name(db, name) != 0) {
			fprintf(stderr, PROG ": %s\n", db_error(db));
			rc = CLI_EXIT_SOFTWARE;
		} else {
			printf("login lock-out of %s lifted; its failed logins are forgotten\n", name);
		}
		db_close(db);
		return rc;
	}
	if (strcmp(sub, "sessions") != 0) {
		int disable = strcmp(sub, "disable") == 0;
		if (users_set_disabled(db, name, disable, err, sizeof err) != 0) {
			fprintf(stderr, PROG ": %s\n", err);
			rc = strncmp(err, "no user", 7) == 0 ? 1 : CLI_EXIT_SOFTWARE;
		} else {
			printf(disable ? "user %s disabled; its sessions ended\n" : "user %s enabled\n",
			       name);
		}
		db_close(db);
		return rc;
	}
	long long id = users_id(db, name);
	if (id <= 0) {
		if (id < 0)
			fprintf(stderr, PROG ": %s\n", db_error(db));
		else
			fprintf(stderr, PROG ": no user named '%s'\n", name);
		db_close(db);
		return id < 0 ? CLI_EXIT_SOFTWARE : 1;
	}
	struct db_rows rows;
	if (sessions_of_user(db, name, &rows) != 0) {
		fprintf(stderr, PROG ": %s\n", db_error(db));
		db_close(db);
		return CLI_EXIT_SOFTWARE;
	}
	printf("%-19s  %-19s  %-19s  %s\n", "CREATED (UTC)", "LAST SEEN", "EXPIRES", "SOURCE");
	for (size_t r = 0; r < rows.nrows; r++) {
		const char *source = db_cell(&rows, r, 3);
		printf("%-19s  %-19s  %-19s  %s\n", db_cell(&rows, r, 0), db_cell(&rows, r, 1),
		       db_cell(&rows, r, 2), source ? source : "-");
	}
	db_rows_free(&rows);
	if (revoke) {
		long long ended = sessions_revoke_user(db, name);
		if (ended < 0) {
			fprintf(stderr, PROG ": %s\n", db_error(db));
			rc = CLI_EXIT_SOFTWARE;
		} else {
			printf("%lld sessions of %s ended\n", ended, name);
		}
	}
	db_close(db);
	return rc;
}

static int user_command(const struct config *cfg, int argc, char **argv)
{
	if (argc < 2)
		return usage_error(
		    "user needs a subcommand and a name: add, passwd, disable, enable, unlock or sessions");
	const char *sub = argv[0];
	const char *name = argv[1];
	enum user_role role = ROLE_VIEWER;
	int have_role = 0, revoke = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
			if (users_role_parse(argv[++i], &role) != 0)
				return usage_error("--role must be admin or viewer");
			have_role = 1;
		} else if (strcmp(argv[i], "--revoke") == 0 && strcmp(sub, "sessions") == 0) {
			revoke = 1;
		} else {
			return usage_error("unexpected argument");
		}
	}
	int adding = strcmp(sub, "add") == 0;
	int access = strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0 ||
	             strcmp(sub, "sessions") == 0 || strcmp(sub, "unlock") == 0;
	if (!adding && !access && strcmp(sub, "passwd") != 0)
		return usage_error("unknown user subcommand");
	if (adding && !have_role)
		return usage_error("user add needs --role admin|viewer");
	if (!adding && have_role)
		return usage_error("only user add takes --role");
	const char *problem = users_check_name(name);
	if (problem != NULL) {
		fprintf(stderr, PROG ": %s\n", problem);
		return 1;
	}
	if (access)
		return user_access_command(cfg, sub, name, revoke);
	char password[1026];
	if (read_password(password, sizeof password) != 0)
		return CLI_EXIT_USAGE;
	struct db *db = cli_open_db(PROG, cfg);
	if (db == NULL)
		return CLI_EXIT_UNAVAILABLE;
	char err[512];
	int rc = adding ? users_add(db, name, password, role, err, sizeof err)
	                : users_set_password(db, name, password, err, sizeof err);
	explicit_bzero(password, sizeof password);
	db_close(db);
	if (rc != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (adding)
		printf("user %s added (%s)\n", name, users_role_name(role));
	else
		printf("password of %s changed\n", name);
	return 0;
}

/* apikey list: one line per key, in columns as wide as their longest value. */
static int print_apikeys(const struct db_rows *rows)
{
	enum { NCOLS = 7 };
	static const char *const headers[NCOLS] = {"ID",        "PREFIX",  "USER", "ROLE",
	                                           "LAST USED", "REVOKED", "NAME"};
	const char **cells = calloc(rows->nrows > 0 ? rows->nrows * NCOLS : 1, sizeof *cells);
	char(*prefixes)[40] = calloc(rows->nrows > 0 ? rows->nrows : 1, sizeof *prefixes);
	if (cells == NULL || prefixes == NULL) {
		free(cells);
		free(prefixes);
		fprintf(stderr, PROG ": out of memory\n");
		return CLI_EXIT_SOFTWARE;
	}
	for (size_t r = 0; r < rows->nrows; r++) {
		const char **row = cells + r * NCOLS;
		snprintf(prefixes[r], sizeof prefixes[r], APIKEY_PREFIX "%.32s",
		         db_cell(rows, r, AKCOL_PREFIX));
		row[0] = db_cell(rows, r, AKCOL_ID);
		row[1] = prefixes[r];
		row[2] = db_cell(rows, r, AKCOL_USER);
		row[3] = db_cell(rows, r, AKCOL_ROLE);
		row[4] = db_cell(rows, r, AKCOL_LAST_USED);
		row[5] = db_cell(rows, r, AKCOL_REVOKED);
		row[6] = db_cell(rows, r, AKCOL_NAME);
	}
	cli_table_print(stdout, NCOLS, headers, cells, rows->nrows);
	free(cells);
	free(prefixes);
	return 0;
}

static int apikey_command(const struct config *cfg, int argc, char **argv)
{
	if (argc < 1)
		return usage_error("apikey needs a subcommand: create, revoke or list");
	const char *sub = argv[0];
	long long id = 0;
	if (strcmp(sub, "create") == 0) {
		if (argc != 3)
			return usage_error("apikey create takes USER and NAME");
	} else if (strcmp(sub, "revoke") == 0) {
		char *end = NULL;
		if (argc != 2 || (id = strtoll(argv[1], &end, 10)) <= 0 || *end != '\0')
			return usage_error("apikey revoke takes a numeric ID");
	} else if (strcmp(sub, "list") == 0) {
		if (argc != 1)
			return usage_error("apikey list takes no arguments");
	} else {
		return usage_error("unknown apikey subcommand");
	}
	struct db *db = cli_open_db(PROG, cfg);
	if (db == NULL)
		return CLI_EXIT_UNAVAILABLE;
	int rc = 0;
	if (strcmp(sub, "create") == 0) {
		char key[APIKEY_LEN + 1], err[512];
		if (apikeys_create(db, argv[1], argv[2], key, sizeof key, &id, err, sizeof err) != 0) {
			fprintf(stderr, PROG ": %s\n", err);
			rc = 1;
		} else {
			printf("%s\n", key);
			fprintf(stderr, "API key %lld created for %s; it is shown only this once\n", id,
			        argv[1]);
		}
	} else if (strcmp(sub, "revoke") == 0) {
		int revoked = apikeys_revoke(db, id);
		if (revoked < 0)
			fprintf(stderr, PROG ": %s\n", db_error(db));
		else if (revoked == 0)
			fprintf(stderr, PROG ": no live API key with id %lld\n", id);
		else
			printf("API key %lld revoked\n", id);
		rc = revoked == 1 ? 0 : revoked < 0 ? CLI_EXIT_UNAVAILABLE : 1;
	} else {
		struct db_rows rows;
		if (apikeys_list(db, &rows) != 0) {
			fprintf(stderr, PROG ": %s\n", db_error(db));
			rc = CLI_EXIT_UNAVAILABLE;
		} else {
			rc = print_apikeys(&rows);
			db_rows_free(&rows);
		}
	}
	db_close(db);
	return rc;
}

/* A whole number in [min, max], or -1. */
static long number_arg(const char *text, long min, long max)
{
	char *end;
	if (text == NULL || text[0] < '0' || text[0] > '9')
		return -1;
	long value = strtol(text, &end, 10);
	if (*end != '\0' || value < min || value > max)
		return -1;
	return value;
}

static void print_bulk(const struct bulk_progress *p)
{
	printf(
	    "bulk redelivery #%lld: %s; %lld of %lld done (%lld delivered, %lld failed again), %lld waiting",
	    p->id, p->state, p->delivered + p->failed, p->total, p->delivered, p->failed,
	    p->queued + p->running);
	if (p->skipped > 0)
		printf(", %lld skipped (queued by another pending request)", p->skipped);
	printf("; asked for %lld by %s at %s UTC\n", p->expected, p->requested_by, p->created_at);
}

static int bulk_show(const struct config *cfg, struct db *db, long long id)
{
	(void)cfg;
	struct bulk_progress p;
	int found = bulk_get(db, id, &p);
	if (found < 0) {
		fprintf(stderr, PROG ": logs bulk: %s\n", db_error(db));
		return CLI_EXIT_SOFTWARE;
	}
	if (found == 0) {
		fprintf(stderr, PROG ": logs bulk: no bulk redelivery #%lld\n", id);
		return 1;
	}
	print_bulk(&p);
	return 0;
}

static int logs_redeliver_command(const struct config *cfg, int argc, char **argv)
{
	struct logs_input in = {0};
	for (int i = 1; i < argc; i++) {
		const char **target = strcmp(argv[i], "--since") == 0     ? &in.from
		                      : strcmp(argv[i], "--until") == 0   ? &in.to
		                      : strcmp(argv[i], "--handler") == 0 ? &in.handler
		                      : strcmp(argv[i], "--event") == 0   ? &in.event
		                                                          : NULL;
		if (target == NULL || i + 1 >= argc)
			return usage_error(
			    "logs redeliver takes --since T, --handler ID, --event E, --until T");
		*target = argv[++i];
	}
	if (in.from == NULL)
		return usage_error("logs redeliver needs --since T (UTC: YYYY-MM-DD[ HH:MM[:SS]])");
	struct bulk_filter f;
	char msg[640];
	if (bulk_filter_from_logs(&in, &f, msg, sizeof msg) != 0) {
		fprintf(stderr, PROG ": logs redeliver: %s\n", msg);
		return CLI_EXIT_USAGE;
	}
	struct db *db = cli_open_db(PROG, cfg);
	if (db == NULL)
		return CLI_EXIT_UNAVAILABLE;
	long long count = 0, id = 0, max_log_id = bulk_max_log_id(db);
	enum bulk_submit r = BULK_ERROR;
	if (max_log_id >= 0 && bulk_count(db, &f, max_log_id, &count) == 0)
		r = bulk_request(db, &f, max_log_id, count, history_actor_name(), &id);
	int rc = 0;
	if (r == BULK_ERROR) {
		fprintf(stderr, PROG ": logs redeliver: %s\n", db_error(db));
		rc = CLI_EXIT_SOFTWARE;
	} else {
		if (r == BULK_EXISTING)
			printf("the same bulk redelivery is already pending: nothing queued twice\n");
		else
			printf("%lld failed execution%s to redeliver; prov-worker runs them\n", count,
			       count == 1 ? "" : "s");
		rc = bulk_show(cfg, db, id);
	}
	db_close(db);
	return rc;
}

static int logs_command(const struct config *cfg, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "redeliver") == 0)
		return logs_redeliver_command(cfg, argc, argv);
	if (argc >= 1 && strcmp(argv[0], "bulk") == 0) {
		long id = number_arg(argc == 2 ? argv[1] : NULL, 1, 2147483647L);
		if (id < 0)
			return usage_error("logs bulk takes a request's numeric ID");
		struct db *db = cli_open_db(PROG, cfg);
		if (db == NULL)
			return CLI_EXIT_UNAVAILABLE;
		int rc = bulk_show(cfg, db, id);
		db_close(db);
		return rc;
	}
	if (argc < 1 || strcmp(argv[0], "purge") != 0)
		return usage_error("logs needs a subcommand: purge, redeliver or bulk");
	long days = cfg->log_retention_days, batch = 5000;
	for (int i = 1; i < argc; i++) {
		long *target = strcmp(argv[i], "--days") == 0    ? &days
		               : strcmp(argv[i], "--batch") == 0 ? &batch
		                                                 : NULL;
		if (target == NULL)
			return usage_error("unexpected argument");
		*target = number_arg(i + 1 < argc ? argv[++i] : NULL, 1, target == &days ? 36500 : 100000);
		if (*target < 0)
			return usage_error(target == &days ? "--days needs a whole number from 1 to 36500"
			                                   : "--batch needs a whole number from 1 to 100000");
	}
	struct db *db = cli_open_db(PROG, cfg);
	if (db == NULL)
		return CLI_EXIT_UNAVAILABLE;
	struct logs_purge_result result;
	char err[512];
	long long started_us = monotonic_us();
	int rc = logs_purge(db, days, batch, 0, &result, err, sizeof err);
	long long purged_us = monotonic_us();
	if (rc != 0) {
		db_close(db);
		fprintf(stderr, PROG ": logs purge: %s\n", err);
		return CLI_EXIT_SOFTWARE;
	}
	printf("removed %llu rows older than %ld days (before %.19s UTC) in %lu batches", result.removed,
	       days, result.cutoff, result.batches);
	if (result.partitions_dropped > 0)
		printf(" (%lu days dropped whole)", result.partitions_dropped);
	printf("\n");
	struct retention_result kept;
	rc = retention_prune(db, cfg->retry_retention_days, cfg->cache_generations_keep,
	                     cfg->metrics_rollup_retention_days, batch, &kept, err, sizeof err);
	db_close(db);
	if (rc != 0) {
		fprintf(stderr, PROG ": logs purge: retention: %s\n", err);
		return CLI_EXIT_SOFTWARE;
	}
	printf("removed %llu finished retry queue rows, %llu run script redeliveries and %llu finished bulk "
	       "redeliveries older than %ld days, "
	       "%llu snapshot generations beyond the newest %ld, %llu metrics roll-up rows older than %ld "
	       "days, %llu script tests older than %d h\n",
	       kept.queue_removed, kept.redeliveries_removed, kept.bulk_removed, cfg->retry_retention_days,
	       kept.generations_removed, cfg->cache_generations_keep, kept.rollup_removed,
	       cfg->metrics_rollup_retention_days, kept.tests_removed, HANDLER_TEST_KEEP_HOURS);
	printf("took %.2f s for the log and %.2f s for the retention\n",
	       (double)(purged_us - started_us) / 1e6, (double)(monotonic_us() - purged_us) / 1e6);
	return 0;
}

/* The test payload from FILE or stdin ("-"), NUL-terminated, or NULL with a message. */
static char *read_payload(const char *path)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (in == NULL) {
		fprintf(stderr, PROG ": handlers test: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char *text = malloc(HANDLER_TEST_DATA_MAX + 2);
	size_t n = text ? fread(text, 1, HANDLER_TEST_DATA_MAX + 1, in) : 0;
	int failed = text == NULL || ferror(in);
	if (in != stdin)
		fclose(in);
	if (failed || n > HANDLER_TEST_DATA_MAX) {
		fprintf(stderr, PROG ": handlers test: %s: %s\n", path,
		        failed ? "cannot be read" : "the payload is longer than 65536 bytes");
		free(text);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

static int handlers_test_command(const struct config *cfg, int argc, char **argv)
{
	const char *event = NULL, *data_path = NULL;
	long long id = argc > 0 ? strtoll(argv[0], NULL, 10) : 0;
	if (argc < 1 || id <= 0 || strspn(argv[0], "0123456789") != strlen(argv[0]))
		return usage_error("handlers test needs a handler ID (a whole number from 1)");
	for (int i = 1; i < argc; i++) {
		const char **target = strcmp(argv[i], "--event") == 0  ? &event
		                      : strcmp(argv[i], "--data") == 0 ? &data_path
		                                                       : NULL;
		if (target == NULL || i + 1 >= argc)
			return usage_error(target ? "--event and --data need a value"
			                          : "unexpected argument");
		*target = argv[++i];
	}
	if (event != NULL && events_find(event) == NULL) {
		fprintf(stderr, PROG ": handlers test: unknown event '%.64s'; valid events: %s\n", event,
		        events_valid_list());
		return EXIT_REFUSED;
	}
	char *text = data_path ? read_payload(data_path) : NULL;
	if (data_path != NULL && text == NULL)
		return EXIT_REFUSED;
	struct db *db = cli_open_db(PROG, cfg);
	if (db == NULL) {
		free(text);
		return CLI_EXIT_UNAVAILABLE;
	}
	static struct handler h;
	char err[DELIVERY_ERROR_MAX];
	json_t *data = NULL;
	int rc = EXIT_REFUSED;
	enum handler_store_result got = handlers_get(db, id, &h);
	if (got != HANDLER_STORE_OK) {
		fprintf(stderr, PROG ": handlers test: %s\n",
		        got == HANDLER_STORE_NOT_FOUND ? "no handler with that id" : db_error(db));
		rc = got == HANDLER_STORE_NOT_FOUND ? EXIT_REFUSED : CLI_EXIT_SOFTWARE;
	} else if (event != NULL && snprintf(h.events_id, sizeof h.events_id, "%s", event) < 0) {
		rc = CLI_EXIT_SOFTWARE;
	} else if (handler_test_data_read(text, h.events_id, &data, err, sizeof err) != 0) {
		fprintf(stderr, PROG ": handlers test: %s\n", err);
	} else {
		struct handler_test t;
		enum handler_test_status status =
		    handler_test_run(db, cfg, &h, data, HANDLER_TEST_ANY, &t, err, sizeof err);
		if (status == HANDLER_TEST_DONE) {
			json_t *result = handler_test_json(&t);
			char *out = result ? json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
			if (out != NULL)
				printf("%s\n", out);
			free(out);
			json_decref(result);
			rc = out == NULL ? CLI_EXIT_SOFTWARE : t.result.success ? 0 : EXIT_REFUSED;
		} else {
			fprintf(stderr, PROG ": handlers test: %s\n", err);
			rc = status == HANDLER_TEST_REFUSED ? EXIT_REFUSED : CLI_EXIT_SOFTWARE;
		}
		handler_test_free(&t);
	}
	json_decref(data);
	free(text);
	db_close(db);
	return rc;
}

/* The whole schema file, NUL-terminated, or NULL with a message printed. */
static char *read_schema(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, PROG ": setup: cannot read the schema %s: %s (--schema FILE)\n", path,
		        strerror(errno));
		return NULL;
	}
	char *text = malloc((size_t)SCHEMA_MAX_BYTES + 1);
	size_t n = text ? fread(text, 1, (size_t)SCHEMA_MAX_BYTES + 1, f) : 0;
	int failed = text == NULL || ferror(f);
	fclose(f);
	if (failed || n == 0 || n > (size_t)SCHEMA_MAX_BYTES) {
		fprintf(stderr, PROG ": setup: the schema %s is %s\n", path,
		        failed   ? "unreadable"
		        : n == 0 ? "empty"
		                 : "larger than 4 MiB");
		free(text);
		return NULL;
	}
	text[n] = '\0';
	*len = n;
	return text;
}

/* setup [--schema FILE] [--admin NAME]: the tables (schema.sql is idempotent),
 * then the first admin when the users table has none. */
static int setup_command(const struct config *cfg, int argc, char **argv)
{
	const char *schema = SCHEMA_DEFAULT_PATH, *admin = "admin";
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--schema") == 0 && i + 1 < argc)
			schema = argv[++i];
		else if (strcmp(argv[i], "--admin") == 0 && i + 1 < argc)
			admin = argv[++i];
		else
			return usage_error("setup takes --schema FILE and --admin NAME only");
	}
	const char *problem = users_check_name(admin);
	if (problem != NULL) {
		fprintf(stderr, PROG ": %s\n", problem);
		return 1;
	}
	size_t len = 0;
	char *text = read_schema(schema, &len);
	if (text == NULL)
		return EX_NOINPUT;
	struct db *db = cli_open_db(PROG, cfg);
	if (db == NULL) {
		free(text);
		return CLI_EXIT_UNAVAILABLE;
	}
	unsigned long statements = 0;
	int rc = db_exec_script(db, text, len, &statements);
	free(text);
	if (rc != 0) {
		fprintf(stderr, PROG ": setup: %s: %s\n", schema, db_error(db));
		db_close(db);
		return CLI_EXIT_SOFTWARE;
	}
	printf("schema %s applied (%lu statements)\n", schema, statements);
	struct db_rows rows;
	if (db_query(db, "SELECT name FROM users WHERE role = 'admin' ORDER BY id LIMIT 1", NULL, 0, &rows) !=
	    0) {
		fprintf(stderr, PROG ": setup: %s\n", db_error(db));
		db_close(db);
		return CLI_EXIT_SOFTWARE;
	}
	if (rows.nrows > 0) {
		printf("an admin exists already (%s): none added\n", db_cell(&rows, 0, 0));
		db_rows_free(&rows);
		db_close(db);
		return 0;
	}
	db_rows_free(&rows);
	char password[1026], err[512];
	if (read_password(password, sizeof password) != 0) {
		fprintf(stderr, PROG ": setup: no admin exists yet: give the password of %s on stdin\n",
		        admin);
		db_close(db);
		return CLI_EXIT_USAGE;
	}
	rc = users_add(db, admin, password, ROLE_ADMIN, err, sizeof err);
	explicit_bzero(password, sizeof password);
	db_close(db);
	if (rc != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	printf("user %s added (admin)\n", admin);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config_path;
	int begun = cli_begin(&argc, argv, PROG, usage, &config_path);
	if (begun >= 0)
		return begun;
	if (argc < 2)
		return usage_error("missing command");
	int is_user = strcmp(argv[1], "user") == 0;
	int is_apikey = strcmp(argv[1], "apikey") == 0;
	int is_logs = strcmp(argv[1], "logs") == 0;
	int is_setup = strcmp(argv[1], "setup") == 0;
	int is_handlers = strcmp(argv[1], "handlers") == 0;
	if (!is_user && !is_apikey && !is_logs && !is_setup && !is_handlers)
		return usage_error("unknown command");
	static struct config cfg;
	int rc = cli_load_config(PROG, config_path, &cfg);
	if (rc != 0)
		return rc;
	if (is_logs)
		return logs_command(&cfg, argc - 2, argv + 2);
	if (is_setup)
		return setup_command(&cfg, argc - 2, argv + 2);
	if (is_handlers) {
		if (argc < 3 || strcmp(argv[2], "test") != 0)
			return usage_error("handlers needs a subcommand: test");
		return handlers_test_command(&cfg, argc - 3, argv + 3);
	}
	return is_user ? user_command(&cfg, argc - 2, argv + 2) : apikey_command(&cfg, argc - 2, argv + 2);
}
