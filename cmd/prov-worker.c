/* prov-worker: the retry worker's command line (SPEC section 7): imports the
 * spool, delivers due retries, once (cron, Task Scheduler) or in a loop that
 * stops cleanly on SIGTERM. */
#include "cli.h"
#include "config.h"
#include "db.h"
#include "bulk.h"
#include "handler_test_queue.h"
#include "redeliver.h"
#include "retryq.h"
#include "scheduler.h"
#include "worker.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "prov-worker"

static const char usage[] =
    "usage: prov-worker [--config FILE] [--once] [--interval N] [--batch N] [--id NAME]\n"
    "       prov-worker [--config FILE] --release LOG_ID\n"
    "\n"
    "Delivers failed handler executions again from the retry queue (SPEC section 7).\n"
    "Each pass first imports the spool (spool_dir): what dispatchers and workers kept\n"
    "while MariaDB was unreachable, or left behind when they were killed; every\n"
    "execution is logged once. Then it claims due rows (FOR UPDATE SKIP LOCKED, so any\n"
    "number of workers on any hosts can run at once), delivers each with the same\n"
    "delivery id and the next attempt number, logs the attempt (trigger \"retry\") and\n"
    "marks the row done, rescheduled (the handler's schedule, Retry-After honoured)\n"
    "or exhausted. It also runs what the panel and the API hand it because they never\n"
    "run a script: script redeliveries and script Send tests (each at most once).\n"
    "Each pass is recorded in the Task Scheduler's Retry Worker row.\n"
    "\n"
    "options:\n"
    "  --once          one pass: import, deliver everything due, exit (for cron)\n"
    "  --interval N    loop mode: a pass every N seconds (1-3600, default 5); SIGTERM or\n"
    "                  SIGINT stops it after the delivery in flight\n"
    "  --batch N       rows claimed at a time (1-1000, default 10)\n"
    "  --id NAME       a name for this worker's claims: NAME@HOST:PID (default HOST:PID;\n"
    "                  host and process id keep two workers from sharing a claim)\n"
    "  --release ID    per-object order: give up the blocked delivery whose last execution\n"
    "                  is log #ID (it stays exhausted) and let the deliveries held behind it\n"
    "                  go, in order; exit 65 when no blocked delivery has that log id\n"
    "  --config FILE   configuration file (else $PROV_CONFIG, else " CONFIG_DEFAULT_PATH ")\n"
    "  --help          this text\n"
    "\n"
    "exit codes:\n"
    "  0   done (--once), or stopped by SIGTERM / SIGINT (loop)\n"
    "  64  usage error\n"
    "  69  database unreachable (--once; the loop waits for it)\n"
    "  70  a pass failed, e.g. the database went away during it (nothing is lost:\n"
    "      the next pass takes it up again)\n"
    "  78  configuration missing or invalid\n";

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct worker_args {
	const char *config_path;
	int once;
	long interval;
	long batch;
	char id[RETRYQ_WORKER_ID_MAX];
	long long release; /* --release LOG_ID; 0: none */
};

static int usage_error(const char *message)
{
	fprintf(stderr, PROG ": %s (see --help)\n", message);
	return CLI_EXIT_USAGE;
}

static int number(const char *text, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long value = strtol(text, &end, 10);
	if (text[0] == '\0' || *end != '\0' || errno == ERANGE || value < min || value > max)
		return -1;
	*out = value;
	return 0;
}

static int parse_args(int argc, char **argv, struct worker_args *a)
{
	a->interval = 5;
	a->batch = WORKER_BATCH_DEFAULT;
	char host[64] = "host";
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	snprintf(a->id, sizeof a->id, "%.63s:%d", host, (int)getpid()); /* unique while it runs */
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int has_value = i + 1 < argc;
		if (strcmp(arg, "--once") == 0) {
			a->once = 1;
		} else if (strcmp(arg, "--interval") == 0) {
			if (!has_value || number(argv[++i], 1, 3600, &a->interval) != 0)
				return usage_error("--interval must be 1-3600 seconds");
		} else if (strcmp(arg, "--batch") == 0) {
			if (!has_value || number(argv[++i], 1, 1000, &a->batch) != 0)
				return usage_error("--batch must be 1-1000");
		} else if (strcmp(arg, "--id") == 0) {
			const char *name = has_value ? argv[++i] : "";
			if (name[0] == '\0' || strlen(name) > 24 || strchr(name, '@') != NULL)
				return usage_error("--id needs a name of 1-24 characters without '@'");
			snprintf(a->id, sizeof a->id, "%s@%.56s:%d", name, host, (int)getpid());
		} else if (strcmp(arg, "--release") == 0) {
			long id = 0;
			if (!has_value || number(argv[++i], 1, LONG_MAX, &id) != 0)
				return usage_error("--release needs a log id");
			a->release = id;
		} else {
			fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", arg);
			return CLI_EXIT_USAGE;
		}
	}
	return 0;
}

/* One pass; records it in the services row. 0, or -1 when it failed. */
static int run_pass(const struct config *cfg, struct db *db, struct worker *w, int verbose)
{
	struct worker_stats st;
	memset(&st, 0, sizeof st);
	char err[1024] = "";
	int rc = worker_import(cfg, db, &st, err, sizeof err);
	if (rc == 0) /* scripts the panel or the API asked to redeliver: run as this user */
		rc = redeliver_run_queued(db, cfg, worker_id(w), &st.redelivered, err, sizeof err);
	if (rc == 0) /* script Send tests the panel or the API queued: an operator is waiting */
		rc = handler_test_queue_run(db, cfg, worker_id(w), &stop_requested, &st.tests, err,
		                            sizeof err);
	if (rc == 0)
		rc = worker_drain(w, db, &stop_requested, &st, err, sizeof err);
	/* Bulk redeliveries after the due retries, a bounded number per pass. */
	struct bulk_stats bulk = {0};
	if (rc == 0)
		rc = bulk_run(db, cfg, worker_id(w), &stop_requested, BULK_PER_PASS, &bulk, err, sizeof err);
	struct retryq_counts counts;
	int have_counts = rc == 0 && retryq_count(db, &counts) == 0;
	char summary[1024];
	worker_summary(&st, have_counts ? &counts : NULL, summary, sizeof summary);
	if (rc != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		char detail[1024];
		snprintf(detail, sizeof detail, "%.500s; so far: %.500s", err, summary);
		scheduler_record(db, "retry_worker", "error", detail);
		return -1;
	}
	const char *result = st.corrupt > 0 || st.refused > 0 ? "error" : "ok";
	if (scheduler_record(db, "retry_worker", result, summary) != 0)
		fprintf(stderr, PROG ": could not record the run in services: %s\n", db_error(db));
	if (bulk.selected > 0 || bulk.delivered > 0 ||
	    bulk.failed > 0) /* an empty request ending is no news */
		printf("bulk redelivery: %ld queued, %ld delivered, %ld failed, %ld request%s finished\n",
		       bulk.selected, bulk.delivered, bulk.failed, bulk.finished,
		       bulk.finished == 1 ? "" : "s");
	fflush(stdout);
	if (verbose || st.claimed > 0 || st.files > 0 || st.refused > 0 || st.redelivered > 0 ||
	    st.tests > 0) {
		printf("%s\n", summary);
		fflush(stdout);
	}
	return 0;
}

static void pause_for(long seconds)
{
	struct timespec left = {.tv_sec = seconds, .tv_nsec = 0};
	while (!stop_requested && nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

static int loop(const struct config *cfg, struct worker *w, long interval)
{
	printf("prov-worker: a pass every %ld s; SIGTERM stops it\n", interval);
	fflush(stdout);
	struct db *db = NULL;
	int outage_reported = 0;
	while (!stop_requested) {
		char err[1024];
		if (db == NULL && (db = db_open(cfg, err, sizeof err)) == NULL) {
			if (!outage_reported)
				fprintf(stderr, PROG ": %s; trying again every %ld s\n", err, interval);
			outage_reported = 1;
		} else {
			if (outage_reported)
				fprintf(stderr, PROG ": the database is back\n");
			outage_reported = 0;
			/* A failed pass most often means the database went away: the
			 * next one starts from a new connection (an outage is then
			 * reported once, not every interval). */
			if (run_pass(cfg, db, w, 0) != 0) {
				db_close(db);
				db = NULL;
			}
		}
		pause_for(interval);
	}
	db_close(db);
	printf("prov-worker: stopped\n");
	return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return CLI_EXIT_OK;
		}
	struct worker_args args;
	memset(&args, 0, sizeof args);
	if (config_take_option(&argc, argv, &args.config_path) != 0)
		return usage_error("--config needs a file");
	int rc = parse_args(argc, argv, &args);
	if (rc != 0)
		return rc;
	static struct config cfg;
	if (cli_load_config(PROG, args.config_path, &cfg) != 0)
		return CLI_EXIT_CONFIG;
	/* No SA_RESTART: a pause ends at once; a delivery in flight completes. */
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	char err[1024];
	struct worker *w = worker_new(&cfg, args.id, (size_t)args.batch, err, sizeof err);
	if (w == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		return CLI_EXIT_SOFTWARE;
	}
	if (args.release > 0) {
		struct db *db = cli_open_db(PROG, &cfg);
		int released = db == NULL ? -2 : worker_release(db, args.release, err, sizeof err);
		rc = released == -2  ? CLI_EXIT_UNAVAILABLE
		     : released > 0  ? CLI_EXIT_OK
		     : released == 0 ? EX_DATAERR
		                     : CLI_EXIT_SOFTWARE;
		if (rc == CLI_EXIT_OK)
			printf(PROG ": released log #%lld: the deliveries behind it go in order\n",
			       args.release);
		else if (db != NULL)
			fprintf(stderr, PROG ": %s\n", err);
		db_close(db);
		worker_free(w);
		return rc;
	}
	if (!args.once) {
		rc = loop(&cfg, w, args.interval);
		worker_free(w);
		return rc;
	}
	struct db *db = cli_open_db(PROG, &cfg);
	if (db == NULL) {
		worker_free(w);
		return CLI_EXIT_UNAVAILABLE;
	}
	rc = run_pass(&cfg, db, w, 1) == 0 ? CLI_EXIT_OK : CLI_EXIT_SOFTWARE;
	db_close(db);
	worker_free(w);
	return rc;
}
