/* prov-cache: the Cache Manager from the command line: publish the enabled
 * handlers (reload), show what is published, or publish every N seconds
 * when there are edits (watch). */
#include "cache.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "history.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define PROG "prov-cache"

static const char usage[] =
    "usage: prov-cache [--config FILE] COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  reload [--by NAME]       publish the enabled handlers as a new generation (what the\n"
    "                           Task Scheduler's Cache Manager restart does); dispatchers run\n"
    "                           the new set from their next event on\n"
    "  show [--handlers]        the published generation, when and by whom, whether edits\n"
    "                           are pending; --handlers lists the published handlers\n"
    "  watch --interval N       publish every N seconds (1-86400) when edits are pending;\n"
    "                           runs until stopped (SIGTERM / SIGINT)\n"
    "  preview                  what reload would change against the published generation:\n"
    "                           handlers added, changed (field by field), removed\n"
    "  generations              the kept generations, newest first (* marks the current one)\n"
    "  rollback N [--by NAME]   publish generation N's handlers again, as a new generation\n"
    "                           (the handlers table is not changed; its edits stay pending)\n"
    "\n"
    "options:\n"
    "  --by NAME       who published, recorded with the generation (default: cli:USER)\n"
    "  --config FILE   configuration file (else $PROV_CONFIG, else " CONFIG_DEFAULT_PATH ")\n"
    "  --help          this text\n"
    "\n"
    "exit codes:\n"
    "  0   done\n"
    "  64  usage error\n"
    "  69  database unreachable\n"
    "  65  rollback: generation N is not kept (purged, or never published)\n"
    "  70  publishing failed (the reason is on stderr and in the Task Scheduler)\n"
    "  78  configuration missing or invalid\n";

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int usage_error(const char *message)
{
	fprintf(stderr, PROG ": %s (see --help)\n", message);
	return CLI_EXIT_USAGE;
}

static void default_publisher(char *by, size_t len)
{
	struct passwd *pw = getpwuid(getuid());
	snprintf(by, len, "cli:%.59s", pw && pw->pw_name ? pw->pw_name : "unknown");
}

static int publish(struct db *db, const char *by)
{
	struct cache_publish_info info;
	char err[1024];
	if (cache_publish(db, by, &info, err, sizeof err) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return CLI_EXIT_SOFTWARE;
	}
	printf("generation %lld published at %s UTC by %s: %zu enabled handler%s (handlers version %lld)\n",
	       info.generation, info.published_at, by, info.handler_count, info.handler_count == 1 ? "" : "s",
	       info.handlers_version);
	fflush(stdout);
	return 0;
}

static int show(const struct config *cfg, struct db *db, int with_handlers)
{
	struct cache_status st;
	if (cache_status_read(db, &st) != 0) {
		fprintf(stderr, PROG ": %s\n", db_error(db));
		return CLI_EXIT_UNAVAILABLE;
	}
	if (st.generation == 0)
		printf("generation: none published yet\n");
	else
		printf("generation: %lld (id %s)\npublished: %s UTC by %s\nhandlers: %lld enabled\n",
		       st.generation, st.generation_uid, st.published_at, st.published_by, st.handler_count);
	printf("pending edits: %s\n", st.pending ? "yes (restart the Cache Manager to publish them)" : "no");
	if (!with_handlers || st.generation == 0)
		return 0;
	struct cache_snapshot snap;
	char err[2048], warning[1024];
	if (cache_load(cfg, db, &snap, err, sizeof err, warning, sizeof warning) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return CLI_EXIT_SOFTWARE;
	}
	if (warning[0])
		fprintf(stderr, PROG ": warning: %s\n", warning);
	printf("%-6s %-32s %-8s %-7s %s\n", "ID", "EVENT", "PRIORITY", "TYPE", "NAME / TASK");
	for (size_t i = 0; i < snap.count; i++) {
		const struct cache_handler *h = &snap.handlers[i];
		printf("%-6lld %-32s %-8lld %-7s %s / %s\n", h->id, h->events_id, h->priority,
		       h->kind == DELIVERY_HTTP ? "http" : "script", h->name, h->task);
	}
	cache_snapshot_free(&snap);
	return 0;
}

static void print_entries(const json_t *diff, const char *kind, const char *mark)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(diff, kind), i, e)
	{
		printf("%s #%lld %s (%s)\n", mark, (long long)json_integer_value(json_object_get(e, "id")),
		       json_string_value(json_object_get(e, "name")),
		       json_string_value(json_object_get(e, "events_id")));
		size_t j;
		json_t *c;
		json_array_foreach(json_object_get(e, "changes"), j, c)
		{
			const char *field = json_string_value(json_object_get(c, "field"));
			char before[1024], after[1024];
			history_value_text(field, json_object_get(c, "before"), before, sizeof before);
			history_value_text(field, json_object_get(c, "after"), after, sizeof after);
			printf("    %s: %s -> %s\n", json_string_value(json_object_get(c, "label")), before,
			       after);
		}
	}
	char key[32];
	snprintf(key, sizeof key, "%s_count", kind);
	long long more = json_integer_value(json_object_get(diff, key)) -
	                 (long long)json_array_size(json_object_get(diff, kind));
	if (more > 0)
		printf("%s ... and %lld more\n", mark, more);
}

static void print_diff(const json_t *diff)
{
	printf("%lld added, %lld changed, %lld removed\n",
	       (long long)json_integer_value(json_object_get(diff, "added_count")),
	       (long long)json_integer_value(json_object_get(diff, "changed_count")),
	       (long long)json_integer_value(json_object_get(diff, "removed_count")));
	print_entries(diff, "added", "+");
	print_entries(diff, "changed", "~");
	print_entries(diff, "removed", "-");
}

static int preview(struct db *db)
{
	json_t *diff;
	char err[1024];
	if (cache_preview(db, &diff, err, sizeof err) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return CLI_EXIT_SOFTWARE;
	}
	print_diff(diff);
	json_decref(diff);
	return 0;
}

static int generations(struct db *db)
{
	struct db_rows rows;
	if (cache_generations_list(db, 100, &rows) != 0) {
		fprintf(stderr, PROG ": %s\n", db_error(db));
		return CLI_EXIT_SOFTWARE;
	}
	printf("  %-10s %-19s %-8s %s\n", "GENERATION", "PUBLISHED (UTC)", "HANDLERS", "BY");
	for (size_t r = 0; r < rows.nrows; r++)
		printf("%s %-10s %-19s %-8s %s\n", db_cell_int(&rows, r, 4, 0) ? "*" : " ",
		       db_cell(&rows, r, 0), db_cell(&rows, r, 1), db_cell(&rows, r, 3),
		       db_cell(&rows, r, 2));
	db_rows_free(&rows);
	return 0;
}

static int rollback(struct db *db, long long generation, const char *by)
{
	json_t *diff = NULL;
	char err[1024];
	int found = cache_rollback_preview(db, generation, &diff, err, sizeof err);
	struct cache_publish_info info;
	int rc = found == 0 ? cache_rollback(db, by, generation, &info, err, sizeof err) : found;
	if (rc > 0) {
		fprintf(stderr, PROG ": generation %lld is not kept (purged, or never published)\n",
		        generation);
		json_decref(diff);
		return EX_DATAERR;
	}
	if (rc < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		json_decref(diff);
		return CLI_EXIT_SOFTWARE;
	}
	printf("generation %lld published at %s UTC by %s: generation %lld's %zu enabled handler%s again\n",
	       info.generation, info.published_at, by, generation, info.handler_count,
	       info.handler_count == 1 ? "" : "s");
	print_diff(diff);
	json_decref(diff);
	return 0;
}

static int watch(const struct config *cfg, struct db *db, long interval, const char *by)
{
	(void)cfg;
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("watching: publishing every %ld s when edits are pending\n", interval);
	fflush(stdout);
	while (!stop_requested) {
		struct cache_status st;
		if (cache_status_read(db, &st) != 0)
			fprintf(stderr, PROG ": %s\n", db_error(db));
		else if (st.pending)
			publish(db, by);
		struct timespec pause = {.tv_sec = interval, .tv_nsec = 0};
		while (!stop_requested && nanosleep(&pause, &pause) != 0 && errno == EINTR)
			;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *config_path;
	int begun = cli_begin(&argc, argv, PROG, usage, &config_path);
	if (begun >= 0)
		return begun;
	if (argc < 2)
		return usage_error("missing command: reload, show, watch, preview, generations or rollback");
	const char *command = argv[1];
	char by[65];
	default_publisher(by, sizeof by);
	long interval = 0;
	int with_handlers = 0;
	long long target = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(command, "rollback") == 0 && i == 2 && argv[i][0] != '-') {
			char *end;
			target = strtoll(argv[i], &end, 10);
			if (*end != '\0' || target <= 0)
				return usage_error("rollback needs a generation number");
			continue;
		}
		if (strcmp(argv[i], "--by") == 0 && i + 1 < argc) {
			const char *name = argv[++i];
			if (name[0] == '\0' || strlen(name) > 64)
				return usage_error("--by needs a name of 1-64 characters");
			snprintf(by, sizeof by, "%s", name);
		} else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			char *end;
			interval = strtol(argv[++i], &end, 10);
			if (*end != '\0' || interval < 1 || interval > 86400)
				return usage_error("--interval must be 1-86400 seconds");
		} else if (strcmp(argv[i], "--handlers") == 0) {
			with_handlers = 1;
		} else {
			return usage_error("unexpected argument");
		}
	}
	int is_reload = strcmp(command, "reload") == 0, is_show = strcmp(command, "show") == 0;
	int is_watch = strcmp(command, "watch") == 0, is_preview = strcmp(command, "preview") == 0;
	int is_generations = strcmp(command, "generations") == 0,
	    is_rollback = strcmp(command, "rollback") == 0;
	if (!is_reload && !is_show && !is_watch && !is_preview && !is_generations && !is_rollback)
		return usage_error("unknown command");
	if (is_rollback && target <= 0)
		return usage_error("rollback needs a generation number");
	if (is_watch && interval == 0)
		return usage_error("watch needs --interval N");
	static struct config cfg;
	int rc = cli_load_config(PROG, config_path, &cfg);
	if (rc != 0)
		return rc;
	struct db *db = cli_open_db(PROG, &cfg);
	if (db == NULL)
		return CLI_EXIT_UNAVAILABLE;
	if (is_reload)
		rc = publish(db, by);
	else if (is_show)
		rc = show(&cfg, db, with_handlers);
	else if (is_preview)
		rc = preview(db);
	else if (is_generations)
		rc = generations(db);
	else if (is_rollback)
		rc = rollback(db, target, by);
	else
		rc = watch(&cfg, db, interval, by);
	db_close(db);
	return rc;
}
