/* Live test of core/redeliver against the test instance's MariaDB
 * (PROV_CONFIG): Redeliver obeys the outbound destination policy. The
 * instance allows loopback (its receivers live there); this test runs
 * redeliver_log with the default policy (outbound_allow empty), so a
 * handler on 127.0.0.1 is refused at connect time and logged as blocked.
 * The "receiver" is a listening socket of this process: nothing may connect. */
#include "cache.h"
#include "config.h"
#include "db.h"
#include "redeliver.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct config cfg;
static struct db *db;
static int listener = -1;
static int port;

static const char SQL_ADD_HANDLER[] =
    "INSERT INTO handlers (name, events_id, task, task_type, status, priority, retry_enabled, timeout_ms, "
    "created_at, updated_at) VALUES ('live redeliver policy', 'clients.update', ?, 'http', 'enabled', 1, 1, "
    "1000, UTC_TIMESTAMP(), UTC_TIMESTAMP())";
static const char SQL_ADD_LOG[] =
    "INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, event_uid, delivery_id, "
    "request_body, error) VALUES (UTC_TIMESTAMP(6), 'fail', 'clients.update', ?, 'live redeliver policy', "
    "'live-redeliver', UUID(), '{\"event\":{\"id\":\"live-redeliver\"},\"data\":{}}', 'first attempt')";
static const char SQL_DISABLE[] = "UPDATE handlers SET status = 'disabled' WHERE id = ?";
static const char SQL_BUMP[] = "UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1";
static const char SQL_NEW_ROW[] = "SELECT status, error, trigger_kind FROM exec_logs WHERE id = ?";

static long long handler_id;

static int group_setup(void **state)
{
	(void)state;
	const char *path = getenv("PROV_CONFIG");
	char err[512];
	if (path == NULL || config_load(path, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "live tests need PROV_CONFIG (tests/run.sh): %s\n", path ? err : "unset");
		return -1;
	}
	if ((db = db_open(&cfg, err, sizeof err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(listener, 8) != 0 || getsockname(listener, (struct sockaddr *)&sa, &len) != 0) {
		fprintf(stderr, "live tests: a loopback listener: %s\n", strerror(errno));
		return -1;
	}
	port = ntohs(sa.sin_port);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (handler_id > 0) {
		struct db_param p[] = {DB_INT(handler_id)};
		struct cache_publish_info info;
		char err[512];
		/* Leave the published set as the next tests expect: this handler off. */
		if (db_exec(db, SQL_DISABLE, p, 1, NULL, NULL) != 0 ||
		    db_exec(db, SQL_BUMP, NULL, 0, NULL, NULL) != 0 ||
		    cache_publish(db, "live tests", &info, err, sizeof err) != 0)
			fprintf(stderr, "live tests: clean-up failed: %s\n", db_error(db));
	}
	if (listener >= 0)
		close(listener);
	db_close(db);
	return 0;
}

static void redeliver_obeys_the_default_destination_policy(void **state)
{
	(void)state;
	char task[128], err[512];
	snprintf(task, sizeof task, "http://127.0.0.1:%d/redeliver", port);
	unsigned long long id = 0, log_id = 0;
	struct db_param t[] = {DB_STR(task)};
	assert_int_equal(db_exec(db, SQL_ADD_HANDLER, t, 1, NULL, &id), 0);
	handler_id = (long long)id;
	assert_int_equal(db_exec(db, SQL_BUMP, NULL, 0, NULL, NULL), 0);
	struct cache_publish_info info;
	assert_int_equal(cache_publish(db, "live tests", &info, err, sizeof err), 0);
	struct db_param h[] = {DB_INT(handler_id)};
	assert_int_equal(db_exec(db, SQL_ADD_LOG, h, 1, NULL, &log_id), 0);

	struct config deny = cfg;
	deny.outbound_allow[0] = '\0'; /* the default: loopback refused */
	struct redeliver_outcome out;
	assert_int_equal(
	    redeliver_log(db, &deny, (long long)log_id, REDELIVER_HERE_HTTP_ONLY, &out, err, sizeof err),
	    REDELIVER_DONE);
	assert_int_equal(out.success, 0);
	assert_non_null(strstr(out.error, "blocked by the destination policy"));
	assert_int_equal(accept(listener, NULL, NULL), -1); /* nothing came to the receiver */
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);

	struct db_rows rows;
	struct db_param n[] = {DB_INT(out.new_log_id)};
	assert_int_equal(db_query(db, SQL_NEW_ROW, n, 1, &rows), 0);
	assert_int_equal(rows.nrows, 1);
	assert_string_equal(db_cell(&rows, 0, 0), "fail");
	assert_non_null(strstr(db_cell(&rows, 0, 1), "blocked by the destination policy"));
	assert_string_equal(db_cell(&rows, 0, 2), "manual");
	db_rows_free(&rows);

	/* The same redelivery under the instance's policy reaches the receiver. */
	assert_int_equal(
	    redeliver_log(db, &cfg, (long long)log_id, REDELIVER_HERE_HTTP_ONLY, &out, err, sizeof err),
	    REDELIVER_DONE);
	int conn = accept(listener, NULL, NULL);
	assert_true(conn >= 0); /* it connected (and timed out waiting for an answer: fine here) */
	close(conn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(redeliver_obeys_the_default_destination_policy),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
