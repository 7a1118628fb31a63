/* users: the users and sessions tables. Session tokens are stored as SHA-256
 * digests, so a copy of the database does not yield live sessions. */
#include "users.h"

#include "config.h"
#include "db.h"

#include <crypt.h>
#include <stdio.h>
#include <string.h>

const char *users_role_name(enum user_role role)
{
	return role == ROLE_ADMIN ? "admin" : "viewer";
}

int users_role_parse(const char *text, enum user_role *role)
{
	if (text == NULL)
		return -1;
	if (strcmp(text, "admin") == 0)
		*role = ROLE_ADMIN;
	else if (strcmp(text, "viewer") == 0)
		*role = ROLE_VIEWER;
	else
		return -1;
	return 0;
}

const char *users_check_name(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0)
		return "user name is required";
	if (len > USER_NAME_MAX)
		return "user name is longer than 64 characters";
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		         c == '.' || c == '_' || c == '-' || c == '@';
		if (!ok)
			return "user name may contain only letters, digits and . _ - @";
	}
	return NULL;
}

const char *users_check_password(const char *password)
{
	size_t len = password ? strlen(password) : 0;
	if (len < 8)
		return "password must be at least 8 characters";
	if (len > 1024)
		return "password is longer than 1024 characters";
	return NULL;
}

static const char SQL_USER_ADD[] =
    "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP())";
static const char SQL_USER_SET_PASSWORD[] = "UPDATE users SET password_hash = ? WHERE name = ?";
static const char SQL_SESSION_ADD[] =
    "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at, "
    "source_address) VALUES (?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL ? SECOND, "
    "UTC_TIMESTAMP(), ?)";
static const char SQL_SESSION_GET[] =
    "SELECT u.id, u.name, u.role, s.csrf_token, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), s.expires_at) "
    "FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.token_hash = ? AND s.expires_at > UTC_TIMESTAMP() AND u.disabled_at IS NULL";
static const char SQL_SESSION_TOUCH[] =
    "UPDATE sessions SET expires_at = UTC_TIMESTAMP() + INTERVAL ? SECOND, last_seen_at = UTC_TIMESTAMP() "
    "WHERE token_hash = ?";
static const char SQL_SESSION_DELETE[] = "DELETE FROM sessions WHERE token_hash = ?";
static const char SQL_SESSIONS_OF_USER_DELETE[] =
    "DELETE s FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = ?";
static const char SQL_SESSION_PURGE[] = "DELETE FROM sessions WHERE expires_at < UTC_TIMESTAMP()";

static const char SQL_USER_LOCK_BY_NAME[] = "SELECT id FROM users WHERE name = ? FOR UPDATE";
static const char SQL_USER_DISABLE[] =
    "UPDATE users SET disabled_at = COALESCE(disabled_at, UTC_TIMESTAMP()) WHERE id = ?";
static const char SQL_USER_ENABLE[] = "UPDATE users SET disabled_at = NULL WHERE id = ?";
static const char SQL_SESSIONS_OF_USER_ID_DELETE[] = "DELETE FROM sessions WHERE user_id = ?";
static const char SQL_SESSIONS_OF_USER_LIST[] =
    "SELECT DATE_FORMAT(s.created_at, '%Y-%m-%d %H:%i:%s'), "
    "DATE_FORMAT(COALESCE(s.last_seen_at, s.created_at), '%Y-%m-%d %H:%i:%s'), "
    "DATE_FORMAT(s.expires_at, '%Y-%m-%d %H:%i:%s'), s.source_address "
    "FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE u.name = ? AND s.expires_at > UTC_TIMESTAMP() ORDER BY s.created_at, s.expires_at";

static const char SQL_USERS_LIST[] = "SELECT id, name, role FROM users ORDER BY name";

int users_list(struct db *db, struct db_rows *rows)
{
	return db_query(db, SQL_USERS_LIST, NULL, 0, rows);
}

int users_add(struct db *db, const char *name, const char *password, enum user_role role, char *err,
              size_t errlen)
{
	const char *problem = users_check_name(name);
	if (problem == NULL)
		problem = users_check_password(password);
	if (problem != NULL) {
		snprintf(err, errlen, "%s", problem);
		return -1;
	}
	char hash[CRYPT_OUTPUT_SIZE];
	if (auth_password_hash(password, hash, sizeof hash) != 0) {
		snprintf(err, errlen, "cannot hash the password");
		return -1;
	}
	struct db_param params[] = {DB_STR(name), DB_STR(hash), DB_STR(users_role_name(role))};
	if (db_exec(db, SQL_USER_ADD, params, 3, NULL, NULL) != 0) {
		if (db_error_is_duplicate(db))
			snprintf(err, errlen, "user '%s' already exists", name);
		else
			snprintf(err, errlen, "cannot add user: %s", db_error(db));
		return -1;
	}
	return 0;
}

int users_set_password(struct db *db, const char *name, const char *password, char *err, size_t errlen)
{
	const char *problem = users_check_password(password);
	if (problem != NULL) {
		snprintf(err, errlen, "%s", problem);
		return -1;
	}
	char hash[CRYPT_OUTPUT_SIZE];
	if (auth_password_hash(password, hash, sizeof hash) != 0) {
		snprintf(err, errlen, "cannot hash the password");
		return -1;
	}
	/* A new password ends every session of the user, in the same transaction:
	 * whoever knew the old one is logged out on their next request. */
	unsigned long long affected = 0;
	struct db_param params[] = {DB_STR(hash), DB_STR(name)};
	struct db_param by_name[] = {DB_STR(name)};
	if (db_begin(db) != 0 || db_exec(db, SQL_USER_SET_PASSWORD, params, 2, &affected, NULL) != 0 ||
	    db_exec(db, SQL_SESSIONS_OF_USER_DELETE, by_name, 1, NULL, NULL) != 0 ||
	    login_failures_clear_name(db, name) != 0 || db_commit(db) != 0) {
		snprintf(err, errlen, "cannot set password: %s", db_error(db));
		db_rollback(db);
		return -1;
	}
	if (affected == 0) {
		snprintf(err, errlen, "no user named '%s'", name);
		return -1;
	}
	return 0;
}

/* Disable (ending every session in the same transaction) or enable a user. */
int users_set_disabled(struct db *db, const char *name, int disabled, char *err, size_t errlen)
{
	struct db_rows rows;
	struct db_param by_name[] = {DB_STR(name)};
	if (db_begin(db) != 0 || db_query(db, SQL_USER_LOCK_BY_NAME, by_name, 1, &rows) != 0) {
		snprintf(err, errlen, "cannot change user: %s", db_error(db));
		db_rollback(db);
		return -1;
	}
	long long id = rows.nrows == 1 ? db_cell_int(&rows, 0, 0, 0) : 0;
	db_rows_free(&rows);
	if (id == 0) {
		db_rollback(db);
		snprintf(err, errlen, "no user named '%s'", name);
		return -1;
	}
	struct db_param by_id[] = {DB_INT(id)};
	if (db_exec(db, disabled ? SQL_USER_DISABLE : SQL_USER_ENABLE, by_id, 1, NULL, NULL) != 0 ||
	    (disabled && db_exec(db, SQL_SESSIONS_OF_USER_ID_DELETE, by_id, 1, NULL, NULL) != 0) ||
	    db_commit(db) != 0) {
		snprintf(err, errlen, "cannot change user: %s", db_error(db));
		db_rollback(db);
		return -1;
	}
	return 0;
}

long long users_id(struct db *db, const char *name)
{
	static const char sql[] = "SELECT id FROM users WHERE name = ?";
	struct db_rows rows;
	struct db_param by_name[] = {DB_STR(name)};
	if (db_query(db, sql, by_name, 1, &rows) != 0)
		return -1;
	long long id = rows.nrows == 1 ? db_cell_int(&rows, 0, 0, 0) : 0;
	db_rows_free(&rows);
	return id;
}

int sessions_of_user(struct db *db, const char *name, struct db_rows *rows)
{
	struct db_param by_name[] = {DB_STR(name)};
	return db_query(db, SQL_SESSIONS_OF_USER_LIST, by_name, 1, rows);
}

long long sessions_revoke_user(struct db *db, const char *name)
{
	unsigned long long affected = 0;
	struct db_param by_name[] = {DB_STR(name)};
	if (db_exec(db, SQL_SESSIONS_OF_USER_DELETE, by_name, 1, &affected, NULL) != 0)
		return -1;
	return (long long)affected;
}

int sessions_create(struct db *db, const struct config *cfg, const struct user *user, const char *source,
                    char token[AUTH_HEX_LEN + 1], struct session *out)
{
	char digest[AUTH_HEX_LEN + 1];
	if (auth_random_hex(token, AUTH_HEX_LEN + 1, AUTH_TOKEN_BYTES) != 0 ||
	    auth_random_hex(out->csrf, sizeof out->csrf, AUTH_TOKEN_BYTES) != 0)
		return -1;
	auth_sha256_hex(token, strlen(token), digest);
	/* Expired rows go when a new session starts: no cron needed for them. */
	if (db_exec(db, SQL_SESSION_PURGE, NULL, 0, NULL, NULL) != 0)
		return -1;
	struct db_param params[] = {DB_STR(digest), DB_INT(user->id), DB_STR(out->csrf),
	                            DB_INT(cfg->session_ttl), DB_STR_OR_NULL(source)};
	if (db_exec(db, SQL_SESSION_ADD, params, 5, NULL, NULL) != 0)
		return -1;
	out->user = *user;
	memcpy(out->token_hash, digest, sizeof out->token_hash);
	return 0;
}

static int token_well_formed(const char *token)
{
	if (token == NULL || strlen(token) != AUTH_HEX_LEN)
		return 0;
	for (const char *p = token; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

int sessions_lookup(struct db *db, const struct config *cfg, const char *token, struct session *out)
{
	if (!token_well_formed(token))
		return 0;
	char digest[AUTH_HEX_LEN + 1];
	auth_sha256_hex(token, strlen(token), digest);
	struct db_param param = DB_STR(digest);
	struct db_rows row;
	if (db_query(db, SQL_SESSION_GET, &param, 1, &row) != 0)
		return -1;
	if (row.nrows == 0) {
		db_rows_free(&row);
		return 0;
	}
	out->user.id = db_cell_int(&row, 0, 0, 0);
	snprintf(out->user.name, sizeof out->user.name, "%s", db_cell(&row, 0, 1));
	if (users_role_parse(db_cell(&row, 0, 2), &out->user.role) != 0)
		out->user.role = ROLE_VIEWER;
	snprintf(out->csrf, sizeof out->csrf, "%s", db_cell(&row, 0, 3) ? db_cell(&row, 0, 3) : "");
	memcpy(out->token_hash, digest, sizeof out->token_hash);
	long long left = db_cell_int(&row, 0, 4, 0);
	db_rows_free(&row);
	/* Sliding expiry, written at most once a minute rather than on every request. */
	if (left < cfg->session_ttl - 60) {
		struct db_param touch[] = {DB_INT(cfg->session_ttl), DB_STR(digest)};
		if (db_exec(db, SQL_SESSION_TOUCH, touch, 2, NULL, NULL) != 0)
			return -1;
	}
	return 1;
}

int sessions_delete(struct db *db, const char *token)
{
	if (!token_well_formed(token))
		return 0;
	char digest[AUTH_HEX_LEN + 1];
	auth_sha256_hex(token, strlen(token), digest);
	struct db_param params[] = {DB_STR(digest)};
	return db_exec(db, SQL_SESSION_DELETE, params, 1, NULL, NULL);
}
