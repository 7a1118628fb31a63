/* db: MariaDB Connector/C behind prepared statements with a statement cache.
 * Statements are cached by the address of their SQL text, which is always a
 * string literal at the call site, so each page prepares a statement once per
 * process, not once per request. */
#include "db.h"

#include "config.h"
#include "monotonic.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>

#define DB_STMT_CACHE 64
#define DB_MAX_PARAMS 1024 /* a multi-row INSERT of the log (logstore.c); sparklines pass 100 ids */
#define DB_STACK_PARAMS 32

struct db_stmt_slot {
	const char *sql;
	MYSQL_STMT *stmt;
};

struct db {
	const struct config *cfg; /* owned by the caller; outlives the db */
	MYSQL *conn;
	struct db_stmt_slot cache[DB_STMT_CACHE];
	size_t ncache;
	int in_transaction;
	int transaction_lost; /* the connection went away inside the transaction */
	long long used_ms;    /* when the connection last answered (monotonic) */
	unsigned int last_errno;
	char error[1024];
};

static void set_error(struct db *db, unsigned int code, const char *what, const char *detail)
{
	db->last_errno = code;
	snprintf(db->error, sizeof db->error, "%s: %s (%u)", what, detail ? detail : "?", code);
}

/* Connector/C's default TCP port. Its one-time library init looks it up with
 * getservbyname("mysql") unless it is already set: an NSS lookup (nsswitch,
 * a search for libnss_db, /etc/services) that costs about 0.1 ms of a
 * dispatcher run, for a port we never use (we always pass cfg->db_port).
 * The variable is visible only when Connector/C is linked statically (as in
 * prov-dispatch); the weak reference is NULL otherwise. */
extern unsigned int mysql_port __attribute__((weak));

/* mysql_real_connect() sleeps 1 us after connect(); with the default 50 us of
 * timer slack that sleep costs more than the rest of a Unix-socket connect.
 * The slack is lowered for the connect only. */
static MYSQL *connect_with_small_slack(MYSQL *conn, const struct config *cfg, const char *host,
                                       const char *socket)
{
	int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (slack > 1)
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	MYSQL *done = mysql_real_connect(conn, host, cfg->db_user, cfg->db_password, cfg->db_name,
	                                 (unsigned int)cfg->db_port, socket, 0);
	if (slack > 1)
		prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
	return done;
}

/* Open db->conn from db->cfg; on failure leaves db->conn NULL and writes err. */
static int connect_conn(struct db *db, char *err, size_t errlen)
{
	const struct config *cfg = db->cfg;
	if (&mysql_port != NULL && mysql_port == 0)
		mysql_port = 3306;
	db->conn = mysql_init(NULL);
	if (db->conn == NULL) {
		snprintf(err, errlen, "database: mysql_init failed");
		return -1;
	}
	unsigned int timeout = (unsigned int)cfg->db_connect_timeout;
	unsigned int io_timeout = 30;
	mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db->conn, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
	mysql_options(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
	mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* UTC everywhere: log dates are stored and compared in UTC. */
	mysql_options(db->conn, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
	const char *socket = cfg->db_socket[0] ? cfg->db_socket : NULL;
	const char *host = socket ? "localhost" : cfg->db_host;
	if (connect_with_small_slack(db->conn, cfg, host, socket) == NULL) {
		if (socket)
			snprintf(err, errlen, "database unreachable at socket %s: %s", socket,
			         mysql_error(db->conn));
		else
			snprintf(err, errlen, "database unreachable at %s:%ld: %s", cfg->db_host,
			         cfg->db_port, mysql_error(db->conn));
		mysql_close(db->conn);
		db->conn = NULL;
		return -1;
	}
	db->used_ms = monotonic_ms();
	return 0;
}

struct db *db_open(const struct config *cfg, char *err, size_t errlen)
{
	struct db *db = calloc(1, sizeof *db);
	if (db == NULL) {
		snprintf(err, errlen, "database: out of memory");
		return NULL;
	}
	db->cfg = cfg;
	if (connect_conn(db, err, errlen) != 0) {
		free(db);
		return NULL;
	}
	return db;
}

static void drop_statements(struct db *db)
{
	for (size_t i = 0; i < db->ncache; i++)
		mysql_stmt_close(db->cache[i].stmt);
	db->ncache = 0;
}

/* A connection left mid-answer (a statement cut by its time limit): closed
 * first, so that its statements are only freed (Connector/C 3.4 keeps a
 * statement it cannot tell the server to close: leaked); the next statement
 * reconnects. */
static void abandon_conn(struct db *db)
{
	if (db->conn)
		mysql_close(db->conn);
	db->conn = NULL;
	drop_statements(db);
}

/* Close the connection and its statements; the next statement reconnects. */
static void close_conn(struct db *db)
{
	drop_statements(db);
	if (db->conn)
		mysql_close(db->conn);
	db->conn = NULL;
}

void db_close(struct db *db)
{
	if (db == NULL)
		return;
	close_conn(db);
	free(db);
}

/* The server closed an idle connection (FastCGI processes outlive its
 * wait_timeout, and servers restart): open a fresh one. */
static int reconnect(struct db *db)
{
	char err[512];
	close_conn(db);
	if (connect_conn(db, err, sizeof err) != 0) {
		set_error(db, CR_SERVER_GONE_ERROR, "reconnect", err);
		return -1;
	}
	return 0;
}

static int connection_lost(unsigned int code)
{
	return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == ER_UNKNOWN_STMT_HANDLER ||
	       code == ER_CONNECTION_KILLED || code == ER_SERVER_SHUTDOWN;
}

const char *db_error(const struct db *db)
{
	return db->error;
}

int db_error_is_duplicate(const struct db *db)
{
	return db->last_errno == ER_DUP_ENTRY;
}

int db_error_is_deadlock(const struct db *db)
{
	/* 1020 (ER_CHECKREAD): MariaDB 11.6+ (Debian 13) with innodb_snapshot_isolation
	 * refuses a write to a row changed since the transaction's read view. */
	return db->last_errno == ER_LOCK_DEADLOCK || db->last_errno == ER_LOCK_WAIT_TIMEOUT ||
	       db->last_errno == 1020;
}

int db_error_is_timeout(const struct db *db)
{
	return db->last_errno == 1969; /* ER_STATEMENT_TIMEOUT */
}

static MYSQL_STMT *prepared(struct db *db, const char *sql)
{
	for (size_t i = 0; i < db->ncache; i++)
		if (db->cache[i].sql == sql)
			return db->cache[i].stmt;
	MYSQL_STMT *stmt = mysql_stmt_init(db->conn);
	if (stmt == NULL) {
		set_error(db, 0, "prepare", "out of memory");
		return NULL;
	}
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
		set_error(db, mysql_stmt_errno(stmt), "prepare", mysql_stmt_error(stmt));
		mysql_stmt_close(stmt);
		return NULL;
	}
	if (db->ncache == DB_STMT_CACHE) {
		/* Full: evict the oldest. Callers use a bounded set of statements. */
		mysql_stmt_close(db->cache[0].stmt);
		memmove(&db->cache[0], &db->cache[1], sizeof db->cache[0] * (DB_STMT_CACHE - 1));
		db->ncache--;
	}
	db->cache[db->ncache].sql = sql;
	db->cache[db->ncache].stmt = stmt;
	db->ncache++;
	return stmt;
}

static int bind_params(struct db *db, MYSQL_STMT *stmt, const struct db_param *params, size_t n,
                       MYSQL_BIND *binds, unsigned long *lengths)
{
	if (n > DB_MAX_PARAMS || mysql_stmt_param_count(stmt) != n) {
		set_error(db, 0, "bind", "parameter count does not match the statement");
		return -1;
	}
	memset(binds, 0, sizeof(MYSQL_BIND) * n);
	for (size_t i = 0; i < n; i++) {
		switch (params[i].type) {
		case DB_PARAM_NULL: binds[i].buffer_type = MYSQL_TYPE_NULL; break;
		case DB_PARAM_INT:
			binds[i].buffer_type = MYSQL_TYPE_LONGLONG;
			binds[i].buffer = (void *)&params[i].i;
			break;
		case DB_PARAM_STR:
			lengths[i] = (unsigned long)params[i].len;
			binds[i].buffer_type = MYSQL_TYPE_STRING;
			binds[i].buffer = (void *)(params[i].s ? params[i].s : "");
			binds[i].buffer_length = lengths[i];
			binds[i].length = &lengths[i];
			break;
		}
	}
	if (n > 0 && mysql_stmt_bind_param(stmt, binds) != 0) {
		set_error(db, mysql_stmt_errno(stmt), "bind", mysql_stmt_error(stmt));
		return -1;
	}
	return 0;
}

/* A statement that failed this way may simply run again on a new
 * connection: the server closed an idle one (FastCGI processes outlive its
 * wait_timeout, servers restart). Never inside a transaction: what the
 * transaction did is gone with its connection, and a COMMIT that lost its
 * connection may or may not have committed. Outside one, a read is always
 * safe to repeat; a write only when it cannot have reached the server
 * (CR_SERVER_LOST means it was sent and the answer never came). */
static int may_run_again(const struct db *db, int is_read)
{
	if (db->in_transaction)
		return 0;
	unsigned int code = db->last_errno;
	if (is_read)
		return connection_lost(code);
	return code == CR_SERVER_GONE_ERROR || code == ER_UNKNOWN_STMT_HANDLER;
}

/* After a failure: a connection lost inside a transaction is closed (the
 * server rolled the transaction back, or committed it, without us) and the
 * transaction is marked lost until db_rollback or db_commit ends it, so
 * nothing runs on a new connection in the belief that it is still inside. */
static void after_failure(struct db *db)
{
	/* A statement cut by its max_statement_time leaves the connection
	 * waiting for the rest of its answer (the next statement on it waited
	 * out the 30 s read timeout): drop it; the next statement reconnects. */
	if (!db->in_transaction && db_error_is_timeout(db)) {
		abandon_conn(db);
		return;
	}
	if (!db->in_transaction || !connection_lost(db->last_errno))
		return;
	db->transaction_lost = 1;
	close_conn(db);
}

static int refuse_lost_transaction(struct db *db)
{
	if (!db->transaction_lost)
		return 0;
	set_error(db, CR_SERVER_LOST, "transaction", "its connection was lost; roll back");
	return -1;
}

/* Prepare (or reuse), bind and execute. A connection lost while idle is
 * replaced once and the statement run again when may_run_again says so. */
static MYSQL_STMT *execute_bound(struct db *db, const char *sql, const struct db_param *params, size_t n,
                                 int is_read, MYSQL_BIND *binds, unsigned long *lengths)
{
	if (refuse_lost_transaction(db) != 0)
		return NULL;
	for (int attempt = 0;; attempt++) {
		if (db->conn == NULL && reconnect(db) != 0)
			return NULL;
		MYSQL_STMT *stmt = prepared(db, sql);
		if (stmt != NULL) {
			if (bind_params(db, stmt, params, n, binds, lengths) != 0)
				return NULL;
			if (mysql_stmt_execute(stmt) == 0) {
				db->used_ms = monotonic_ms();
				return stmt;
			}
			set_error(db, mysql_stmt_errno(stmt), "execute", mysql_stmt_error(stmt));
		}
		if (attempt > 0 || !may_run_again(db, is_read)) {
			after_failure(db);
			return NULL;
		}
		if (reconnect(db) != 0)
			return NULL;
	}
}

/* The binds live until the statement has run: on the stack for the usual
 * few parameters, else on the heap. */
static MYSQL_STMT *execute(struct db *db, const char *sql, const struct db_param *params, size_t n,
                           int is_read)
{
	MYSQL_BIND stack_binds[DB_STACK_PARAMS];
	unsigned long stack_lengths[DB_STACK_PARAMS];
	if (n <= DB_STACK_PARAMS)
		return execute_bound(db, sql, params, n, is_read, stack_binds, stack_lengths);
	MYSQL_BIND *binds = n <= DB_MAX_PARAMS ? calloc(n, sizeof *binds) : NULL;
	unsigned long *lengths = n <= DB_MAX_PARAMS ? calloc(n, sizeof *lengths) : NULL;
	MYSQL_STMT *stmt = NULL;
	if (binds == NULL || lengths == NULL)
		set_error(db, 0, "bind", n > DB_MAX_PARAMS ? "too many parameters" : "out of memory");
	else
		stmt = execute_bound(db, sql, params, n, is_read, binds, lengths);
	free(binds);
	free(lengths);
	return stmt;
}

int db_exec(struct db *db, const char *sql, const struct db_param *params, size_t nparams,
            unsigned long long *affected, unsigned long long *insert_id)
{
	/* A write that loses its answer is not repeated: find a dead idle
	 * connection before sending rather than after. */
	if (!db->in_transaction && db->conn != NULL && monotonic_ms() - db->used_ms > DB_IDLE_CHECK_MS &&
	    mysql_ping(db->conn) != 0 && reconnect(db) != 0)
		return -1;
	MYSQL_STMT *stmt = execute(db, sql, params, nparams, 0);
	if (stmt == NULL)
		return -1;
	if (affected)
		*affected = mysql_stmt_affected_rows(stmt);
	if (insert_id)
		*insert_id = mysql_stmt_insert_id(stmt);
	mysql_stmt_free_result(stmt);
	return 0;
}

/* Several statements in one text, parsed by the server (comments, quoting and
 * statement ends are its business); each statement's result is consumed in
 * turn. Used for schema.sql only: no parameters, never repeated. */
int db_exec_script(struct db *db, const char *sql, size_t len, unsigned long *done)
{
	if (done)
		*done = 0;
	if (db->conn == NULL && reconnect(db) != 0)
		return -1;
	if (mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_ON) != 0) {
		set_error(db, mysql_errno(db->conn), "multi-statements", mysql_error(db->conn));
		return -1;
	}
	unsigned long count = 0;
	int rc = 0;
	if (mysql_real_query(db->conn, sql, (unsigned long)len) != 0) {
		rc = -1;
	} else {
		for (;;) {
			MYSQL_RES *res = mysql_store_result(db->conn);
			if (res != NULL)
				mysql_free_result(res);
			else if (mysql_field_count(db->conn) != 0) {
				rc = -1;
				break;
			}
			count++;
			int next = mysql_next_result(db->conn);
			if (next == -1)
				break; /* no more results */
			if (next > 0) {
				rc = -1;
				break;
			}
		}
	}
	if (rc != 0) {
		char what[64];
		snprintf(what, sizeof what, "statement %lu", count + 1);
		set_error(db, mysql_errno(db->conn), what, mysql_error(db->conn));
	}
	if (done)
		*done = count;
	/* Prepared statements stay single: a connection that lost its way is dropped. */
	if (mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_OFF) != 0)
		close_conn(db);
	db->used_ms = monotonic_ms();
	return rc;
}

void db_rows_free(struct db_rows *rows)
{
	if (rows == NULL || rows->cells == NULL)
		return;
	for (size_t i = 0; i < rows->nrows * rows->ncols; i++)
		free(rows->cells[i]);
	free(rows->cells);
	rows->cells = NULL;
	rows->nrows = rows->ncols = 0;
}

const char *db_cell(const struct db_rows *rows, size_t row, size_t col)
{
	if (row >= rows->nrows || col >= rows->ncols)
		return NULL;
	return rows->cells[row * rows->ncols + col];
}

long long db_cell_int(const struct db_rows *rows, size_t row, size_t col, long long fallback)
{
	const char *cell = db_cell(rows, row, col);
	if (cell == NULL || cell[0] == '\0')
		return fallback;
	return strtoll(cell, NULL, 10);
}

static int collect_rows(struct db *db, MYSQL_STMT *stmt, MYSQL_RES *meta, struct db_rows *rows)
{
	size_t ncols = mysql_num_fields(meta);
	MYSQL_FIELD *fields = mysql_fetch_fields(meta);
	size_t nrows = (size_t)mysql_stmt_num_rows(stmt);
	MYSQL_BIND *binds = calloc(ncols ? ncols : 1, sizeof *binds);
	unsigned long *lengths = calloc(ncols ? ncols : 1, sizeof *lengths);
	my_bool *nulls = calloc(ncols ? ncols : 1, sizeof *nulls);
	char **buffers = calloc(ncols ? ncols : 1, sizeof *buffers);
	size_t ncells = nrows * ncols;
	char **cells = calloc(ncells > 0 ? ncells : 1, sizeof *cells);
	int rc = -1;
	if (!binds || !lengths || !nulls || !buffers || !cells) {
		set_error(db, 0, "fetch", "out of memory");
		goto out;
	}
	for (size_t c = 0; c < ncols; c++) {
		unsigned long size = fields[c].max_length;
		if (size < 64)
			size = 64; /* numbers and dates: room for their text form */
		buffers[c] = malloc(size + 1);
		if (buffers[c] == NULL) {
			set_error(db, 0, "fetch", "out of memory");
			goto out;
		}
		binds[c].buffer_type = MYSQL_TYPE_STRING;
		binds[c].buffer = buffers[c];
		binds[c].buffer_length = size + 1;
		binds[c].length = &lengths[c];
		binds[c].is_null = &nulls[c];
	}
	if (ncols > 0 && mysql_stmt_bind_result(stmt, binds) != 0) {
		set_error(db, mysql_stmt_errno(stmt), "bind result", mysql_stmt_error(stmt));
		goto out;
	}
	size_t row = 0;
	for (;;) {
		int status = mysql_stmt_fetch(stmt);
		if (status == MYSQL_NO_DATA)
			break;
		if (status == 1 || status == MYSQL_DATA_TRUNCATED || row >= nrows) {
			set_error(db, mysql_stmt_errno(stmt), "fetch",
			          status == MYSQL_DATA_TRUNCATED ? "truncated column"
			                                         : mysql_stmt_error(stmt));
			goto out;
		}
		for (size_t c = 0; c < ncols; c++) {
			char **cell = &cells[row * ncols + c];
			if (nulls[c])
				continue;
			*cell = malloc(lengths[c] + 1);
			if (*cell == NULL) {
				set_error(db, 0, "fetch", "out of memory");
				goto out;
			}
			memcpy(*cell, buffers[c], lengths[c]);
			(*cell)[lengths[c]] = '\0';
		}
		row++;
	}
	rows->nrows = row;
	rows->ncols = ncols;
	rows->cells = cells;
	cells = NULL;
	rc = 0;
out:
	if (cells) {
		for (size_t i = 0; i < nrows * ncols; i++)
			free(cells[i]);
		free(cells);
	}
	for (size_t c = 0; buffers && c < ncols; c++)
		free(buffers[c]);
	free(buffers);
	free(nulls);
	free(lengths);
	free(binds);
	return rc;
}

int db_query(struct db *db, const char *sql, const struct db_param *params, size_t nparams,
             struct db_rows *rows)
{
	memset(rows, 0, sizeof *rows);
	MYSQL_STMT *stmt = execute(db, sql, params, nparams, 1);
	if (stmt == NULL)
		return -1;
	MYSQL_RES *meta = mysql_stmt_result_metadata(stmt);
	if (meta == NULL) {
		mysql_stmt_free_result(stmt);
		return 0; /* a statement without a result set */
	}
	my_bool update_max = 1;
	int rc = -1;
	if (mysql_stmt_attr_set(stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max) != 0 ||
	    mysql_stmt_store_result(stmt) != 0) {
		set_error(db, mysql_stmt_errno(stmt), "store result", mysql_stmt_error(stmt));
		if (db_error_is_timeout(db)) {
			mysql_free_result(meta);
			after_failure(db); /* the statement and its connection go */
			return -1;
		}
	} else {
		rc = collect_rows(db, stmt, meta, rows);
	}
	mysql_free_result(meta);
	mysql_stmt_free_result(stmt);
	return rc;
}

/* A statement without parameters (transaction control), text protocol. */
static int simple(struct db *db, const char *sql)
{
	if (refuse_lost_transaction(db) != 0)
		return -1;
	for (int attempt = 0;; attempt++) {
		if (db->conn == NULL && reconnect(db) != 0)
			return -1;
		if (mysql_query(db->conn, sql) == 0) {
			db->used_ms = monotonic_ms();
			return 0;
		}
		set_error(db, mysql_errno(db->conn), sql, mysql_error(db->conn));
		if (attempt > 0 || !may_run_again(db, 1)) {
			after_failure(db);
			return -1;
		}
		if (reconnect(db) != 0)
			return -1;
	}
}

int db_begin(struct db *db)
{
	if (simple(db, "START TRANSACTION") != 0)
		return -1;
	db->in_transaction = 1;
	db->transaction_lost = 0;
	return 0;
}

/* Still inside the transaction while COMMIT is on its way: a COMMIT that
 * fails or loses its connection is a failure, never sent again on another
 * connection (where it would trivially succeed, having nothing to commit). */
int db_commit(struct db *db)
{
	int rc = simple(db, "COMMIT");
	db->in_transaction = 0;
	db->transaction_lost = 0;
	return rc;
}

void db_rollback(struct db *db)
{
	db->in_transaction = 0;
	db->transaction_lost = 0;
	if (db->conn != NULL && mysql_rollback(db->conn) != 0) {
		set_error(db, mysql_errno(db->conn), "rollback", mysql_error(db->conn));
		if (connection_lost(db->last_errno))
			close_conn(db); /* the server rolls back a transaction whose connection went */
	}
}
