/* prov-loggen: fills the Execution Log with realistic generated rows for
 * development and benchmarks. The rows are built inside MariaDB (one
 * INSERT ... SELECT per 10,000 rows over the SEQUENCE engine), so a million
 * rows take well under a minute; they are deterministic for a given --seed. */
#include "cli.h"
#include "config.h"
#include "db.h"
#include "events.h"
#include "logs.h"
#include "metrics_text.h"
#include "monotonic.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "prov-loggen"
#define BATCH 10000 /* rows per statement: the size of seq_0_to_9999 */
#define SYNTHETIC_FIRST_ID 900000001LL

static const char usage[] =
    "usage: prov-loggen [--config FILE] --rows N [--handlers K] [--days D] [--seed S]\n"
    "                   [--existing-handlers]\n"
    "\n"
    "Adds N generated execution log rows, spread evenly over the last D days (UTC),\n"
    "across K handlers and their events: HTTP and script handlers, successes,\n"
    "HTTP errors, timeouts, refused connections, failing scripts, retries and\n"
    "manual redeliveries, with realistic envelopes, responses and headers, and\n"
    "their counts in the roll-ups (exec_rollup, _hour, _day, exec_totals), in the\n"
    "same transaction as each batch of 10,000 rows.\n"
    "For development and benchmarks; never on a production database.\n"
    "\n"
    "options:\n"
    "  --rows N              rows to add (1-50000000), required\n"
    "  --handlers K          handlers to spread them over (1-1000, default 20)\n"
    "  --days D              days back from now (1-3650, default 30)\n"
    "  --seed S              same seed, same rows (0-2147483647, default: from the clock)\n"
    "  --existing-handlers   use the handlers table's first K handlers (by id) first;\n"
    "                        otherwise all K are made up: ids from 900000001,\n"
    "                        named \"generated handler N\", with no handlers row\n"
    "  --config FILE         configuration file (else $PROV_CONFIG, else " CONFIG_DEFAULT_PATH ")\n"
    "  --help                this text\n"
    "\n"
    "exit codes:\n"
    "  0   done\n"
    "  64  usage error\n"
    "  69  database unreachable\n"
    "  70  a statement failed (rows of earlier batches stay)\n"
    "  78  configuration missing or invalid\n";

/* Parameters: base, total, t0, span, seed, k, count (rows in this batch), then
 * the handlers as a JSON array of {id, name, events_id, task_type}. Pseudo
 * random choices are CRC32s of (seed, row number, purpose), so every column
 * derived from one choice agrees and a seed reproduces the same rows. */
static const char SQL_GENERATE[] =
    "INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, object_id, event_uid,\n"
    "  delivery_id, attempt, trigger_kind, http_status, exit_code, duration_us, request_body,\n"
    "  request_headers, response_body, response_headers, response_truncated, script_stderr, error)\n"
    "WITH p AS (SELECT ? AS base, ? AS total, ? AS t0, ? AS span, ? AS seed, ? AS k, ? AS cnt),\n"
    "hj AS (SELECT * FROM JSON_TABLE(?, '$[*]' COLUMNS (hk FOR ORDINALITY, hid INT UNSIGNED PATH '$.id',\n"
    "  hname VARCHAR(255) PATH '$.name', ev VARCHAR(64) PATH '$.events_id', ttype VARCHAR(8) PATH "
    "'$.task_type')) j),\n"
    "q AS (SELECT p.base + seq.seq AS n,\n"
    "  CRC32(CONCAT(p.seed, '/', p.base + seq.seq, '/h')) AS r_h,\n"
    "  CRC32(CONCAT(p.seed, '/', p.base + seq.seq, '/o')) MOD 1000 AS r_out,\n"
    "  CRC32(CONCAT(p.seed, '/', p.base + seq.seq, '/r')) MOD 100 AS r_resp,\n"
    "  CRC32(CONCAT(p.seed, '/', p.base + seq.seq, '/t')) MOD 100 AS r_try,\n"
    "  CRC32(CONCAT(p.seed, '/', p.base + seq.seq, '/u')) AS r_u,\n"
    "  CRC32(CONCAT(p.seed, '/', p.base + seq.seq, '/n')) AS r_num\n"
    "  FROM seq_0_to_9999 seq JOIN p WHERE seq.seq < p.cnt),\n"
    "s AS (SELECT q.*,\n"
    "  FROM_UNIXTIME(p.t0 + (q.n * p.span) / p.total + (q.r_num MOD 1000000) * 0.000001) AS dt,\n"
    "  1 + FLOOR(SQRT(q.r_h MOD (p.k * p.k))) AS hk,\n"
    "  1 + q.r_num MOD 200000 AS obj,\n"
    "  LOWER(CONCAT(LPAD(HEX(q.r_u), 8, '0'), '-', LPAD(HEX(p.seed MOD 65536), 4, '0'), '-4',\n"
    "    LPAD(HEX(q.r_h MOD 4096), 3, '0'), '-8', LPAD(HEX(q.r_out MOD 4096), 3, '0'), '-',\n"
    "    LPAD(HEX(q.n), 12, '0'))) AS uid,\n"
    "  LOWER(CONCAT(LPAD(HEX(q.r_num), 8, '0'), '-', LPAD(HEX(p.seed MOD 65536), 4, '0'), '-4',\n"
    "    LPAD(HEX(q.r_u MOD 4096), 3, '0'), '-9', LPAD(HEX(q.r_resp MOD 4096), 3, '0'), '-',\n"
    "    LPAD(HEX(q.n), 12, '0'))) AS did,\n"
    "  IF(q.r_try < 85, 1, IF(q.r_try < 97, 2 + q.r_try MOD 3, 1)) AS attempt,\n"
    "  IF(q.r_try < 85, 'dispatch', IF(q.r_try < 97, 'retry', 'manual')) AS trig\n"
    "  FROM q JOIN p),\n"
    "o AS (SELECT s.*, hj.hid, hj.hname, hj.ev, hj.ttype = 'http' AS http,\n"
    "  IF(hj.ttype = 'http',\n"
    "    CASE WHEN s.r_out < 930 THEN 'ok' WHEN s.r_out < 955 THEN 'http5xx'\n"
    "         WHEN s.r_out < 980 THEN 'timeout' ELSE 'refused' END,\n"
    "    CASE WHEN s.r_out < 940 THEN 'ok' WHEN s.r_out < 975 THEN 'scriptfail'\n"
    "         WHEN s.r_out < 990 THEN 'timeout' ELSE 'badjson' END) AS outcome\n"
    "  FROM s JOIN hj ON hj.hk = s.hk),\n"
    "g AS (SELECT o.*,\n"
    "  CASE o.outcome WHEN 'ok' THEN IF(o.http, 200, 0) WHEN 'http5xx' THEN ELT(1 + o.r_num MOD 3, 500, 502, "
    "503)\n"
    "    WHEN 'scriptfail' THEN 1 + o.r_num MOD 2 WHEN 'badjson' THEN 0 ELSE NULL END AS code,\n"
    "  CASE WHEN o.outcome = 'timeout' THEN IF(o.http, 5000000, 10000000) + o.r_num MOD 3000\n"
    "    WHEN o.outcome = 'refused' THEN 200 + o.r_num MOD 800\n"
    "    ELSE 1500 + FLOOR(POW(o.r_num MOD 1000, 2) / 4) + o.r_h MOD 997 END AS dur,\n"
    "  JSON_OBJECT('event', JSON_OBJECT('id', o.uid, 'dt', DATE_FORMAT(o.dt, '%Y-%m-%dT%H:%i:%s.%fZ'),\n"
    "      'events_id', o.ev, 'object_id', o.obj),\n"
    "    'data', CASE\n"
    "      WHEN o.ev LIKE 'clients.accounts.%' THEN JSON_OBJECT('id', o.r_num MOD 900000, 'clients_id', "
    "o.obj,\n"
    "        'username', CONCAT('sip', 100000 + o.r_num MOD 900000), 'protocol', 'SIP', 'status', 'active',\n"
    "        'max_sessions', 1 + o.r_num MOD 10)\n"
    "      WHEN o.ev LIKE 'clients.subscriptions.%' THEN JSON_OBJECT('id', o.r_num MOD 500000, 'clients_id', "
    "o.obj,\n"
    "        'packages_id', 1 + o.r_num MOD 40, 'package_name', ELT(1 + o.r_num MOD 4, 'Unlimited Local',\n"
    "        'International 500', 'Mobile 10 GB', 'Business Trunk'), 'start_date', DATE_FORMAT(o.dt, "
    "'%Y-%m-%d'),\n"
    "        'status', 'active')\n"
    "      ELSE JSON_OBJECT('id', o.obj, 'name', CONCAT('Client ', o.obj), 'type', ELT(1 + o.r_num MOD 2, "
    "'prepaid', 'postpaid'),\n"
    "        'status', 'active', 'balance', ROUND((CAST(o.r_num MOD 2000000 AS SIGNED) - 400000) / 100, 2),\n"
    "        'currency', 'USD', 'email', CONCAT('client', o.obj, '@example.com'),\n"
    "        'custom_fields', JSON_OBJECT('crm_id', CONCAT('CRM-', o.r_num MOD 100000)))\n"
    "    END) AS envelope\n"
    "  FROM o)\n"
    "SELECT g.dt, IF(g.outcome = 'ok', 'success', 'fail'), g.ev, g.hid, g.hname, g.obj, g.uid, g.did,\n"
    "  g.attempt, g.trig, IF(g.http, g.code, NULL), IF(g.http, NULL, g.code), g.dur, g.envelope,\n"
    "  IF(g.http, CONCAT('Content-Type: application/json\nUser-Agent: prov-dispatch/1.0\nX-Prov-Event: ', "
    "g.ev,\n"
    "     '\nX-Prov-Delivery: ', g.did, '\nX-Prov-Attempt: ', g.attempt), NULL),\n"
    "  CASE\n"
    "    WHEN g.outcome IN ('timeout', 'refused', 'scriptfail') THEN NULL\n"
    "    WHEN g.outcome = 'http5xx' THEN CONCAT('<html><head><title>', g.code, ' "
    "Error</title></head><body><h1>',\n"
    "      g.code, ' Error</h1><p>upstream for ', g.hname, ' failed</p></body></html>')\n"
    "    WHEN g.outcome = 'badjson' THEN CONCAT('OK processed ', g.obj)\n"
    "    WHEN g.r_resp < 55 THEN g.envelope\n"
    "    WHEN g.r_resp < 90 THEN JSON_OBJECT('data', JSON_OBJECT('id', g.obj, 'crm_id', CONCAT('CRM-', "
    "g.r_num MOD 100000),\n"
    "      'synced_at', DATE_FORMAT(g.dt, '%Y-%m-%dT%H:%i:%sZ')))\n"
    "    ELSE JSON_OBJECT('allow', FALSE, 'reason', ELT(1 + g.r_num MOD 4, 'Client is on credit hold',\n"
    "      'Duplicate account name', 'Package not available in region', 'Manual review required'))\n"
    "  END,\n"
    "  IF(g.http AND g.outcome NOT IN ('timeout', 'refused'),\n"
    "     CONCAT('HTTP/1.1 ', g.code, IF(g.code = 200, ' OK', IF(g.code = 500, ' Internal Server Error', "
    "IF(g.code = 502, ' Bad Gateway', ' Service Unavailable'))), '\nContent-Type: ', IF(g.outcome = "
    "'http5xx', 'text/html', 'application/json'),\n"
    "            '\nServer: nginx/1.24.0\nX-Request-Id: ', LPAD(HEX(g.r_num), 8, '0')), NULL),\n"
    "  0,\n"
    "  CASE g.outcome\n"
    "    WHEN 'scriptfail' THEN CONCAT('Traceback (most recent call last):\n  File \"/opt/hooks/sync.py\", "
    "line 42, in <module>\n',\n"
    "      '    client = api.get_client(', g.obj, ')\nRuntimeError: CRM returned 503 for client ', g.obj, "
    "'\n')\n"
    "    WHEN 'badjson' THEN 'warning: legacy output mode\n'\n"
    "    ELSE NULL END,\n"
    "  CASE g.outcome\n"
    "    WHEN 'http5xx' THEN CONCAT('HTTP ', g.code, ' from handler')\n"
    "    WHEN 'timeout' THEN CONCAT('timed out after ', IF(g.http, 5000, 10000), ' ms')\n"
    "    WHEN 'refused' THEN 'connection refused (127.0.0.1:5000)'\n"
    "    WHEN 'scriptfail' THEN CONCAT('script exited with code ', g.code)\n"
    "    WHEN 'badjson' THEN 'script output is not a JSON object'\n"
    "    ELSE NULL END\n"
    "FROM g\n";

/* The roll-ups of one batch, as logstore would have
 * counted them one transaction at a time: per minute, hour and day and in
 * total, with the duration buckets of metrics_text.h. exec_logs has no
 * verdict: a failure is 'failed', a response refusing the action
 * 'forbidden', one carrying data 'modified', any other 'unchanged'. */
#define ROLLUP_VERDICT                                                                                       \
	"IF(status = 'fail', 'failed', IF(JSON_VALUE(response_body, '$.allow') = 'false', 'forbidden', "     \
	"IF(JSON_EXISTS(response_body, '$.data'), 'modified', 'unchanged')))"
#define ROLLUP_COUNTS_ADD                                                                                    \
	"executions = executions + VALUES(executions), duration_us_sum = duration_us_sum + "                 \
	"VALUES(duration_us_sum)"
static const struct rollup_target {
	const char *table, *columns, *key;
} rollup_targets[] = {
    {"exec_rollup", "minute, handler_id, events_id, status, verdict, trigger_kind",
     "DATE_FORMAT(dt, '%Y-%m-%d %H:%i:00'), handler_id, events_id, status, " ROLLUP_VERDICT ", trigger_kind"},
    {"exec_rollup_hour", "hour, handler_id, events_id, status, trigger_kind",
     "DATE_FORMAT(dt, '%Y-%m-%d %H:00:00'), handler_id, events_id, status, trigger_kind"},
    {"exec_rollup_day", "day, handler_id, events_id, status, trigger_kind",
     "DATE_FORMAT(dt, '%Y-%m-%d 00:00:00'), handler_id, events_id, status, trigger_kind"},
    {"exec_totals", "handler_id, events_id, status, verdict, trigger_kind",
     "handler_id, events_id, status, " ROLLUP_VERDICT ", trigger_kind"},
};
#define ROLLUP_SQL_MAX 4096

/* INSERT ... SELECT ... GROUP BY ... ON DUPLICATE KEY UPDATE for one target;
 * the bucket bounds are metrics_text.h's constants (no input goes in). */
static int rollup_sql(const struct rollup_target *t, char *sql, size_t len)
{
	char buckets[1024] = "", names[256] = "", adds[1024] = "";
	size_t nb = 0, nn = 0, na = 0;
	for (int b = 0; b < METRICS_BUCKETS; b++) {
		long long low = b == 0 ? -1 : metrics_bucket_us[b - 1];
		nb += (size_t)snprintf(buckets + nb, sizeof buckets - nb,
		                       ", SUM(duration_us > %lld AND duration_us <= %lld)", low,
		                       metrics_bucket_us[b]);
		nn += (size_t)snprintf(names + nn, sizeof names - nn, ", b%d", b);
		na += (size_t)snprintf(adds + na, sizeof adds - na, ", b%d = b%d + VALUES(b%d)", b, b, b);
	}
	if (nb >= sizeof buckets || nn >= sizeof names || na >= sizeof adds)
		return -1;
	int n = snprintf(sql, len,
	                 "INSERT INTO %s (%s, executions, duration_us_sum%s) SELECT %s, COUNT(*), "
	                 "SUM(GREATEST(IFNULL(duration_us, 0), 0))%s FROM exec_logs WHERE id >= ? "
	                 "AND SUBSTRING(event_uid, 10, 4) = ? AND RIGHT(event_uid, 12) BETWEEN ? AND ? "
	                 "GROUP BY %s ON DUPLICATE KEY UPDATE " ROLLUP_COUNTS_ADD "%s",
	                 t->table, t->columns, names, t->key, buckets, t->key, adds);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* The batch's rows are told by their event ids ("…-SSSS-…-NNNNNNNNNNNN": the
 * seed and the row number n, in hex, see SQL_GENERATE) at or after its first
 * id: a partitioned exec_logs does not hand one INSERT ... SELECT consecutive
 * ids while another generator inserts (a range of ids counted the other's rows
 * and missed its own). Generators at once need seeds that differ mod 65536. */
static int rollup_batch(struct db *db, unsigned long long first_id, long long seed, long long base,
                        long long count)
{
	char seed_hex[8], lo[24], hi[24];
	snprintf(seed_hex, sizeof seed_hex, "%04llx", seed % 65536);
	snprintf(lo, sizeof lo, "%012llx", base);
	snprintf(hi, sizeof hi, "%012llx", base + count - 1);
	/* db.c caches a prepared statement by its text's address: one buffer each. */
	static char sqls[sizeof rollup_targets / sizeof rollup_targets[0]][ROLLUP_SQL_MAX];
	for (size_t i = 0; i < sizeof rollup_targets / sizeof rollup_targets[0]; i++) {
		char *sql = sqls[i];
		if (sql[0] == '\0' && rollup_sql(&rollup_targets[i], sql, ROLLUP_SQL_MAX) != 0) {
			fprintf(stderr, PROG ": the roll-up statement does not fit\n");
			return -1;
		}
		struct db_param params[] = {DB_INT(first_id), DB_STR(seed_hex), DB_STR(lo), DB_STR(hi)};
		if (db_exec(db, sql, params, 4, NULL, NULL) != 0)
			return -1; /* the caller says why (or runs the batch again) */
	}
	return 0;
}

#define LOGGEN_DEADLOCK_TRIES 10

static const char SQL_EXISTING_HANDLERS[] =
    "SELECT id, name, events_id, task_type FROM handlers ORDER BY id LIMIT ?";

struct options {
	long long rows;
	long handlers;
	long days;
	long long seed;
	int existing;
};

static int usage_error(const char *message)
{
	fprintf(stderr, PROG ": %s (see --help)\n", message);
	return CLI_EXIT_USAGE;
}

/* A whole number in [min, max] from text, or -1. */
static long long number_arg(const char *text, long long min, long long max)
{
	char *end;
	if (text == NULL || text[0] < '0' || text[0] > '9')
		return -1;
	long long value = strtoll(text, &end, 10);
	if (*end != '\0' || value < min || value > max)
		return -1;
	return value;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){.rows = -1,
	                      .handlers = 20,
	                      .days = 30,
	                      .seed = (long long)((time(NULL) ^ getpid()) & 0x7fffffff)};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(arg, "--existing-handlers") == 0) {
			o->existing = 1;
			continue;
		}
		long long parsed, min, max;
		if (strcmp(arg, "--rows") == 0)
			parsed = o->rows = number_arg(value, min = 1, max = 50000000);
		else if (strcmp(arg, "--handlers") == 0)
			parsed = o->handlers = (long)number_arg(value, min = 1, max = 1000);
		else if (strcmp(arg, "--days") == 0)
			parsed = o->days = (long)number_arg(value, min = 1, max = 3650);
		else if (strcmp(arg, "--seed") == 0)
			parsed = o->seed = number_arg(value, min = 0, max = 2147483647);
		else
			return usage_error("unexpected argument");
		if (parsed < 0) {
			fprintf(stderr,
			        PROG ": %s needs a whole number from %lld to %lld, not '%s' (see --help)\n",
			        arg, min, max, value != NULL ? value : "");
			return CLI_EXIT_USAGE;
		}
		i++;
	}
	if (o->rows < 0)
		return usage_error("--rows N is required");
	return 0;
}

static int add_handler(json_t *list, long long id, const char *name, const char *event, const char *type)
{
	json_t *h = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "name", name, "events_id", event,
	                      "task_type", type);
	return h == NULL ? -1 : json_array_append_new(list, h);
}

/* The handlers as JSON: existing ones first when asked, then made-up ones. */
static char *handlers_json(struct db *db, const struct options *o)
{
	json_t *list = json_array();
	if (list == NULL)
		return NULL;
	int failed = 0;
	if (o->existing) {
		struct db_rows rows;
		struct db_param params[] = {DB_INT(o->handlers)};
		if (db_query(db, SQL_EXISTING_HANDLERS, params, 1, &rows) != 0) {
			fprintf(stderr, PROG ": cannot read handlers: %s\n", db_error(db));
			json_decref(list);
			return NULL;
		}
		for (size_t i = 0; i < rows.nrows && !failed; i++)
			failed = add_handler(list, db_cell_int(&rows, i, 0, 0), db_cell(&rows, i, 1),
			                     db_cell(&rows, i, 2), db_cell(&rows, i, 3)) != 0;
		db_rows_free(&rows);
	}
	for (long i = (long)json_array_size(list); i < o->handlers && !failed; i++) {
		char name[64];
		snprintf(name, sizeof name, "generated handler %ld", i + 1);
		const char *event = events_at((size_t)i % events_count())->id;
		failed = add_handler(list, SYNTHETIC_FIRST_ID + i, name, event,
		                     i % 4 == 3 ? "script" : "http") != 0;
	}
	char *text = failed ? NULL : json_dumps(list, JSON_COMPACT);
	json_decref(list);
	return text;
}

static int generate(struct db *db, const struct options *o, const char *handlers)
{
	long long span = (long long)o->days * 86400;
	long long t0 = (long long)time(NULL) - span;
	long long handler_count = o->handlers;
	/* The days written get their partitions first (schema.sql makes them
	 * from the setup day on): a purge then drops them whole. */
	/* The roll-ups read the batch's rows back: without locking reads, which
	 * under REPEATABLE READ would wait for (and deadlock with) the rows of
	 * another generator inserting at the same time. */
	static const char SQL_READ_COMMITTED[] = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";
	if (db_exec(db, SQL_READ_COMMITTED, NULL, 0, NULL, NULL) != 0) {
		fprintf(stderr, PROG ": %s\n", db_error(db));
		return CLI_EXIT_SOFTWARE;
	}
	int made = -1;
	for (int tries = 0; made != 0 && tries < 3; tries++)
		made = logs_partitions_back(db, o->days + 1); /* another generator may have just made them */
	if (made != 0) {
		fprintf(stderr, PROG ": cannot make the day partitions: %s\n", db_error(db));
		return CLI_EXIT_SOFTWARE;
	}
	long long started_us = monotonic_us();
	for (long long base = 0; base < o->rows; base += BATCH) {
		long long count = o->rows - base < BATCH ? o->rows - base : BATCH;
		struct db_param params[] = {DB_INT(base),  DB_INT(o->rows), DB_INT(t0),
		                            DB_INT(span),  DB_INT(o->seed), DB_INT(handler_count),
		                            DB_INT(count), DB_STR(handlers)};
		unsigned long long affected = 0, first_id = 0;
		/* Each batch and its counts in one transaction, as logstore writes
		 * them; run again when the server rolls it back for a deadlock (two
		 * generators' roll-up upserts meet on the same keys). */
		int rc = -1, tries = 0;
		while (rc != 0 && tries++ < LOGGEN_DEADLOCK_TRIES) {
			rc = db_begin(db) != 0 ||
			     db_exec(db, SQL_GENERATE, params, 8, &affected, &first_id) != 0;
			if (rc == 0 && affected != (unsigned long long)count) {
				db_rollback(db);
				fprintf(stderr,
				        PROG
				        ": a batch inserted %llu rows instead of %lld; is every handler's "
				        "event id at most 64 characters?\n",
				        affected, count);
				return CLI_EXIT_SOFTWARE;
			}
			if (rc == 0)
				rc = rollup_batch(db, first_id, o->seed, base, count) != 0 ||
				     db_commit(db) != 0;
			if (rc != 0) {
				int again = db_error_is_deadlock(db);
				char why[512];
				snprintf(why, sizeof why, "%s", db_error(db));
				db_rollback(db);
				if (!again || tries == LOGGEN_DEADLOCK_TRIES) {
					fprintf(stderr, PROG ": a batch failed after %lld rows: %s\n", base,
					        why);
					return CLI_EXIT_SOFTWARE;
				}
			}
		}
	}
	double took = (double)(monotonic_us() - started_us) / 1e6;
	printf("inserted %lld rows over %ld days across %ld handlers in %.1f s (%.0f rows/s), seed %lld\n",
	       o->rows, o->days, o->handlers, took, took > 0 ? (double)o->rows / took : 0.0, o->seed);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config_path;
	int begun = cli_begin(&argc, argv, PROG, usage, &config_path);
	if (begun >= 0)
		return begun;
	struct options options;
	int rc = parse_options(argc, argv, &options);
	if (rc != 0)
		return rc;
	static struct config cfg;
	rc = cli_load_config(PROG, config_path, &cfg);
	if (rc != 0)
		return rc;
	struct db *db = cli_open_db(PROG, &cfg);
	if (db == NULL)
		return CLI_EXIT_UNAVAILABLE;
	char *handlers = handlers_json(db, &options);
	rc = handlers ? generate(db, &options, handlers) : CLI_EXIT_SOFTWARE;
	free(handlers);
	db_close(db);
	return rc;
}
