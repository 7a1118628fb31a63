/* Live tests of core/db against the test instance's real MariaDB (PROV_CONFIG):
 * what a lost connection does to a transaction, to its COMMIT, and to
 * statements outside a transaction. tests/run.sh runs them once the private
 * servers are up. The connection is lost with KILL CONNECTION from a second
 * connection (Connector/C directly: KILL is not a preparable statement). */
#include "config.h"
#include "db.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct config cfg;
static MYSQL *killer;
static char tag[64];

static const char SQL_CREATE[] = "CREATE TABLE IF NOT EXISTS live_db_probe (id BIGINT AUTO_INCREMENT "
                                 "PRIMARY KEY, tag VARCHAR(64) NOT NULL, KEY (tag)) ENGINE=InnoDB";
static const char SQL_INSERT[] = "INSERT INTO live_db_probe (tag) VALUES (?)";
static const char SQL_COUNT[] = "SELECT COUNT(*) FROM live_db_probe WHERE tag = ?";
static const char SQL_CONNECTION_ID[] = "SELECT CONNECTION_ID()";

static int group_setup(void **state)
{
	(void)state;
	const char *path = getenv("PROV_CONFIG");
	char err[512];
	if (path == NULL) {
		fprintf(stderr, "PROV_CONFIG is not set: run these through tests/run.sh\n");
		return -1;
	}
	if (config_load(path, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	killer = mysql_init(NULL);
	if (killer == NULL ||
	    mysql_real_connect(killer, "localhost", cfg.db_user, cfg.db_password, cfg.db_name, 0,
	                       cfg.db_socket[0] ? cfg.db_socket : NULL, 0) == NULL ||
	    mysql_query(killer, SQL_CREATE) != 0) {
		fprintf(stderr, "live tests: %s\n", killer ? mysql_error(killer) : "out of memory");
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (killer != NULL) {
		mysql_query(killer, "DROP TABLE IF EXISTS live_db_probe");
		mysql_close(killer);
	}
	return 0;
}

static int setup(void **state)
{
	static int n;
	snprintf(tag, sizeof tag, "t%d-%d", (int)getpid(), ++n);
	struct db *db;
	char err[512];
	db = db_open(&cfg, err, sizeof err);
	if (db == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = db;
	return 0;
}

static int teardown(void **state)
{
	db_close(*state);
	return 0;
}

static long long connection_id(struct db *db)
{
	struct db_rows rows;
	assert_int_equal(db_query(db, SQL_CONNECTION_ID, NULL, 0, &rows), 0);
	long long id = db_cell_int(&rows, 0, 0, -1);
	db_rows_free(&rows);
	assert_true(id > 0);
	return id;
}

/* Kill the connection and wait until the server has let it go. */
static void kill_connection(long long id)
{
	char sql[128];
	snprintf(sql, sizeof sql, "KILL CONNECTION %lld", id);
	assert_int_equal(mysql_query(killer, sql), 0);
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.processlist WHERE id = %lld", id);
	for (int tries = 0; tries < 500; tries++) {
		assert_int_equal(mysql_query(killer, sql), 0);
		MYSQL_RES *res = mysql_store_result(killer);
		assert_non_null(res);
		MYSQL_ROW row = mysql_fetch_row(res);
		int gone = row != NULL && strcmp(row[0], "0") == 0;
		mysql_free_result(res);
		if (gone)
			return;
		usleep(10000); /* polled: the server ends the thread asynchronously */
	}
	fail_msg("connection %lld still listed 5 s after KILL", id);
}

static long long count_tag(void)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM live_db_probe WHERE tag = '%s'", tag);
	assert_int_equal(mysql_query(killer, sql), 0);
	MYSQL_RES *res = mysql_store_result(killer);
	assert_non_null(res);
	MYSQL_ROW row = mysql_fetch_row(res);
	long long n = row ? atoll(row[0]) : -1;
	mysql_free_result(res);
	return n;
}

/* The defect this guards: COMMIT was sent again on a new connection, where it
 * trivially succeeded, and the caller discarded its journal for 0 rows. */
static void test_commit_on_a_lost_connection_fails(void **state)
{
	struct db *db = *state;
	struct db_param p[] = {DB_STR(tag)};
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, SQL_INSERT, p, 1, NULL, NULL), 0);
	kill_connection(connection_id(db));
	assert_int_equal(db_commit(db), -1);
	assert_int_equal(count_tag(), 0);
	/* The handle is usable again: a new transaction on a new connection. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, SQL_INSERT, p, 1, NULL, NULL), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(count_tag(), 1);
}

/* A statement of a transaction whose connection went must not run on a new
 * connection in autocommit mode, and neither may the ones after it. */
static void test_statements_of_a_lost_transaction_fail(void **state)
{
	struct db *db = *state;
	struct db_param p[] = {DB_STR(tag)};
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, SQL_INSERT, p, 1, NULL, NULL), 0);
	kill_connection(connection_id(db));
	assert_int_equal(db_exec(db, SQL_INSERT, p, 1, NULL, NULL), -1);
	assert_int_equal(db_exec(db, SQL_INSERT, p, 1, NULL, NULL), -1);
	struct db_rows rows;
	assert_int_equal(db_query(db, SQL_COUNT, p, 1, &rows), -1);
	db_rollback(db);
	assert_int_equal(count_tag(), 0);
	assert_int_equal(db_query(db, SQL_COUNT, p, 1, &rows), 0);
	assert_int_equal(db_cell_int(&rows, 0, 0, -1), 0);
	db_rows_free(&rows);
}

/* Outside a transaction a read is simply run again on a new connection. */
static void test_read_after_an_idle_loss_reconnects(void **state)
{
	struct db *db = *state;
	long long before = connection_id(db);
	kill_connection(before);
	long long after = connection_id(db);
	assert_true(after != before);
}

/* Outside a transaction a write is run again only when it cannot have
 * reached the server: either it is written once, or it fails and is not
 * written; never twice. */
static void test_write_after_an_idle_loss_is_never_doubled(void **state)
{
	struct db *db = *state;
	struct db_param p[] = {DB_STR(tag)};
	kill_connection(connection_id(db));
	int rc = db_exec(db, SQL_INSERT, p, 1, NULL, NULL);
	assert_int_equal(count_tag(), rc == 0 ? 1 : 0);
	assert_int_equal(db_exec(db, SQL_INSERT, p, 1, NULL, NULL), 0);
	assert_int_equal(count_tag(), rc == 0 ? 2 : 1);
}

/* A read cut by its max_statement_time fails as a timeout, again and again,
 * and the statements after it run at once: the connection and statement the
 * cut left behind are dropped (kept, the statement run again waited out the
 * 30 s read timeout before reconnecting; the bound is a hang detector). */
static const char SQL_SLOW[] = "SET STATEMENT max_statement_time = 0.01 FOR "
                               "SELECT COUNT(*) FROM (SELECT 1 FROM seq_1_to_1000000000 WHERE seq % 7 = ?) s";
static const char SQL_ONE[] = "SELECT 1";

static void test_a_read_cut_by_its_time_limit_leaves_the_next_statement_free(void **state)
{
	struct db *db = *state;
	struct db_rows rows;
	struct db_param p[] = {DB_INT(3)};
	for (int i = 0; i < 3; i++) {
		time_t started = time(NULL);
		assert_int_equal(db_query(db, SQL_SLOW, p, 1, &rows), -1);
		assert_true(db_error_is_timeout(db));
		assert_int_equal(db_query(db, SQL_ONE, NULL, 0, &rows), 0);
		assert_int_equal(db_cell_int(&rows, 0, 0, -1), 1);
		db_rows_free(&rows);
		assert_true(time(NULL) - started < 10);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_commit_on_a_lost_connection_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_statements_of_a_lost_transaction_fail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_after_an_idle_loss_reconnects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_after_an_idle_loss_is_never_doubled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_read_cut_by_its_time_limit_leaves_the_next_statement_free,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
