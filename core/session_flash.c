/* session_flash: the session_flash table. A row lives from a POST that made
 * something to show once until the GET after its redirect shows it (or the
 * session ends: ON DELETE CASCADE). Its values are never logged. */
#include "session_flash.h"

#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_FLASH_PUT[] =
    "INSERT INTO session_flash (token_hash, handler_id, done, old_secret_hours, secret, created_at) "
    "VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE done = VALUES(done), "
    "old_secret_hours = VALUES(old_secret_hours), secret = VALUES(secret), created_at = VALUES(created_at)";
/* One statement reads and deletes: a second request finds nothing. */
static const char SQL_FLASH_TAKE[] = "DELETE FROM session_flash WHERE token_hash = ? AND handler_id = ? "
                                     "RETURNING done, old_secret_hours, secret";

int session_flash_put_secret(struct db *db, const struct session *session, const struct secret_flash *f)
{
	struct db_param params[] = {DB_STR(session->token_hash), DB_INT(f->handler_id), DB_STR(f->done),
	                            DB_INT(f->old_secret_hours), DB_STR(f->secret)};
	return db_exec(db, SQL_FLASH_PUT, params, sizeof params / sizeof params[0], NULL, NULL);
}

int session_flash_take_secret(struct db *db, const struct session *session, long long handler_id,
                              struct secret_flash *out)
{
	memset(out, 0, sizeof *out);
	struct db_param params[] = {DB_STR(session->token_hash), DB_INT(handler_id)};
	struct db_rows rows;
	if (db_query(db, SQL_FLASH_TAKE, params, 2, &rows) != 0)
		return -1;
	int found = rows.nrows > 0;
	if (found) {
		const char *done = db_cell(&rows, 0, 0), *secret = db_cell(&rows, 0, 2);
		out->handler_id = handler_id;
		snprintf(out->done, sizeof out->done, "%s", done ? done : "saved");
		out->old_secret_hours = (long)db_cell_int(&rows, 0, 1, 0);
		snprintf(out->secret, sizeof out->secret, "%s", secret ? secret : "");
		char *cell = rows.cells[2]; /* the secret's copy in the result, wiped before it is freed */
		if (cell != NULL)
			explicit_bzero(cell, strlen(cell));
	}
	db_rows_free(&rows);
	return found;
}

void session_flash_forget(struct secret_flash *f)
{
	explicit_bzero(f->secret, sizeof f->secret);
}
