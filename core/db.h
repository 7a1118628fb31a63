/* db: the one path to MariaDB. A connection, a per-connection cache of prepared
 * statements, and two calls: db_exec (no rows back) and db_query (rows as text).
 * All SQL goes through prepared statements with bound parameters. */
#ifndef PROV_DB_H
#define PROV_DB_H

#include <stddef.h>
#include <string.h>

struct config;
struct db;

enum db_param_type { DB_PARAM_NULL, DB_PARAM_INT, DB_PARAM_STR };

struct db_param {
	enum db_param_type type;
	long long i;
	const char *s;
	size_t len;
};

static inline struct db_param db_param_str(const char *s)
{
	return (struct db_param){.type = DB_PARAM_STR, .s = s, .len = s ? strlen(s) : 0};
}

/* A string, or SQL NULL when it is NULL or empty. */
static inline struct db_param db_param_str_or_null(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return (struct db_param){.type = DB_PARAM_NULL};
	return db_param_str(s);
}

#define DB_INT(v) ((struct db_param){.type = DB_PARAM_INT, .i = (long long)(v)})
#define DB_STR(v) db_param_str(v)
#define DB_NULL() ((struct db_param){.type = DB_PARAM_NULL})
#define DB_STR_OR_NULL(v) db_param_str_or_null(v)

/* Rows of a result set, every cell as a NUL-terminated string; NULL for SQL NULL. */
struct db_rows {
	size_t nrows;
	size_t ncols;
	char **cells; /* nrows * ncols, row-major; one allocation owner: db_rows_free */
};

/* Connect using cfg. Returns NULL and writes a one-line reason into err. */
struct db *db_open(const struct config *cfg, char *err, size_t errlen);
void db_close(struct db *db);

/* Run a statement that returns no rows. affected / insert_id may be NULL.
 * Returns 0, or -1 with db_error() set. Outside a transaction it is run
 * again on a new connection only when it cannot have reached the server;
 * a connection idle for DB_IDLE_CHECK_MS is checked (ping) first. */
#define DB_IDLE_CHECK_MS 1000
int db_exec(struct db *db, const char *sql, const struct db_param *params, size_t nparams,
            unsigned long long *affected, unsigned long long *insert_id);

/* Run a query and collect all its rows. Returns 0, or -1 with db_error() set.
 * Outside a transaction a lost connection is replaced and the query run again. */
int db_query(struct db *db, const char *sql, const struct db_param *params, size_t nparams,
             struct db_rows *rows);

/* Run a text of several statements (schema.sql) as the server parses it.
 * Returns 0, or -1 with db_error() naming the failed statement's number
 * ("statement N: ..."). done (may be NULL): statements that succeeded. */
int db_exec_script(struct db *db, const char *sql, size_t len, unsigned long *done);

const char *db_cell(const struct db_rows *rows, size_t row, size_t col);
long long db_cell_int(const struct db_rows *rows, size_t row, size_t col, long long fallback);
void db_rows_free(struct db_rows *rows);

/* A transaction. Any statement of it, COMMIT included, that fails or loses
 * its connection is a failure and is never run again on another connection:
 * the caller rolls back (db_rollback) and treats the transaction as not
 * written; after a lost COMMIT it may or may not have committed, so what
 * the caller keeps (a journal) must be safe to import twice. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* The last error, for logs only: never shown to a user. */
const char *db_error(const struct db *db);
/* 1 when the last error was a duplicate key. */
int db_error_is_duplicate(const struct db *db);
/* 1 when the last error was a deadlock, a lock wait timeout or a row changed
 * since the read view (MariaDB 11.6+): the transaction is to be rolled back
 * and may simply be run again. */
int db_error_is_deadlock(const struct db *db);
/* 1 when the last statement ran past its max_statement_time (and was cut). */
int db_error_is_timeout(const struct db *db);

#endif
