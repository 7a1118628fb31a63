/* login: password login with lock-out per user name and per source address
 * (the login_failures table). Every refusal does the same work and gives the
 * same answer whether the name exists, is disabled, or not: a password hash
 * is always verified (a fixed dummy when there is no user) and failures are
 * counted, and locked, per name whether or not a user has it. */
#include "users.h"

#include "config.h"
#include "db.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* Verified when the name has no user (or is not a valid name), so that the
 * answer takes as long as for a real one: yescrypt with libcrypt's default
 * cost, the one auth_password_hash uses ("$y$j9T$"). */
static const char dummy_hash[] = "$y$j9T$CoB8X/pgjM4fThoh4Tb471$yRgQf.54dtFEWuZXw.f7M3XczmEhExjl.WeOh0raFNB";

static const char SQL_LOGIN_USER[] = "SELECT id, password_hash, role, disabled_at IS NOT NULL "
                                     "FROM users WHERE name = ?";
static const char SQL_LOGIN_LOCKED[] =
    "SELECT COUNT(*) FROM login_failures WHERE ((scope = 'name' AND subject = ?) OR "
    "(scope = 'address' AND subject = ?)) AND locked_until > UTC_TIMESTAMP()";
/* One failure more in the window, locked at the max-th. MariaDB evaluates
 * the assignments of ON DUPLICATE KEY UPDATE left to right, each seeing the
 * ones before: failures first (a window that is over, or a lock that has
 * run out, starts again at 1), then the window's start, then the lock from
 * the new count. Parameters: scope, subject, max, lock, lock, max, lock. */
static const char SQL_LOGIN_FAILED[] =
    "INSERT INTO login_failures (scope, subject, failures, window_started_at, locked_until) "
    "VALUES (?, ?, 1, UTC_TIMESTAMP(), IF(1 >= ?, UTC_TIMESTAMP() + INTERVAL ? SECOND, NULL)) "
    "ON DUPLICATE KEY UPDATE "
    "failures = IF(window_started_at <= UTC_TIMESTAMP() - INTERVAL ? SECOND "
    "OR locked_until <= UTC_TIMESTAMP(), 1, failures + 1), "
    "window_started_at = IF(failures = 1, UTC_TIMESTAMP(), window_started_at), "
    "locked_until = IF(failures >= ?, UTC_TIMESTAMP() + INTERVAL ? SECOND, "
    "IF(locked_until <= UTC_TIMESTAMP(), NULL, locked_until))";
static const char SQL_LOGIN_CLEAR_NAME[] = "DELETE FROM login_failures WHERE scope = 'name' AND subject = ?";
/* Rows whose window and lock are over, a few at a time on each success. */
static const char SQL_LOGIN_PURGE[] =
    "DELETE FROM login_failures WHERE window_started_at < UTC_TIMESTAMP() - INTERVAL ? SECOND "
    "AND (locked_until IS NULL OR locked_until < UTC_TIMESTAMP()) LIMIT 100";
static const char SQL_LOGIN_SUCCEEDED[] = "UPDATE users SET last_login_at = UTC_TIMESTAMP() WHERE id = ?";

void login_address_key(const char *address, char *out, size_t outlen)
{
	unsigned char bytes[16];
	char text[INET6_ADDRSTRLEN];
	out[0] = '\0';
	if (address == NULL || outlen == 0)
		return;
	if (inet_pton(AF_INET, address, bytes) == 1) {
		snprintf(out, outlen, "%s", address);
		return;
	}
	if (inet_pton(AF_INET6, address, bytes) != 1)
		return;
	static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(bytes, v4_mapped, sizeof v4_mapped) == 0) {
		if (inet_ntop(AF_INET, bytes + 12, text, sizeof text) != NULL)
			snprintf(out, outlen, "%s", text);
		return;
	}
	/* One host of IPv6 usually holds a whole /64: count it as one source. */
	memset(bytes + 8, 0, 8);
	if (inet_ntop(AF_INET6, bytes, text, sizeof text) != NULL)
		snprintf(out, outlen, "%s/64", text);
}

int login_failures_clear_name(struct db *db, const char *name)
{
	struct db_param params[] = {DB_STR(name)};
	return db_exec(db, SQL_LOGIN_CLEAR_NAME, params, 1, NULL, NULL);
}

void login_lock_duration(long seconds, char *out, size_t outlen)
{
	long count = seconds;
	const char *unit = "second";
	if (seconds >= 3600 && seconds % 3600 == 0) {
		count = seconds / 3600;
		unit = "hour";
	} else if (seconds >= 60 && seconds % 60 == 0) {
		count = seconds / 60;
		unit = "minute";
	}
	snprintf(out, outlen, "%ld %s%s", count, unit, count == 1 ? "" : "s");
}

static int record_failure(struct db *db, const struct config *cfg, const char *scope, const char *subject,
                          long max)
{
	if (subject[0] == '\0' || max <= 0)
		return 0;
	long lock = cfg->login_lock_seconds;
	struct db_param params[] = {DB_STR(scope), DB_STR(subject), DB_INT(max), DB_INT(lock),
	                            DB_INT(lock),  DB_INT(max),     DB_INT(lock)};
	return db_exec(db, SQL_LOGIN_FAILED, params, 7, NULL, NULL);
}

enum login_result users_login(struct db *db, const struct config *cfg, const char *name, const char *password,
                              const char *source, struct user *out)
{
	int name_ok = name != NULL && users_check_name(name) == NULL;
	int password_ok = password != NULL && strlen(password) <= 1024;
	char address[64];
	login_address_key(source, address, sizeof address);
	if (cfg->login_max_failures_per_address <= 0)
		address[0] = '\0';

	struct db_rows rows;
	struct db_param lock_params[] = {DB_STR(name_ok ? name : ""), DB_STR(address)};
	if (db_query(db, SQL_LOGIN_LOCKED, lock_params, 2, &rows) != 0)
		return LOGIN_ERROR;
	int locked = db_cell_int(&rows, 0, 0, 0) > 0;
	db_rows_free(&rows);

	memset(&rows, 0, sizeof rows);
	if (name_ok) {
		struct db_param by_name[] = {DB_STR(name)};
		if (db_query(db, SQL_LOGIN_USER, by_name, 1, &rows) != 0)
			return LOGIN_ERROR;
	}
	int found = rows.nrows == 1;
	/* The same hash work whatever happens next: locked, unknown, disabled. */
	const char *hash = found && db_cell(&rows, 0, 1) ? db_cell(&rows, 0, 1) : dummy_hash;
	int match = auth_password_verify(password_ok ? password : "", hash) && found && password_ok;
	long long id = found ? db_cell_int(&rows, 0, 0, 0) : 0;
	enum user_role role = ROLE_VIEWER;
	if (found && (users_role_parse(db_cell(&rows, 0, 2), &role) != 0 || db_cell_int(&rows, 0, 3, 1) != 0))
		match = 0; /* a disabled user is refused like a wrong password */
	db_rows_free(&rows);

	if (locked)
		return LOGIN_LOCKED;
	if (!match) {
		if (record_failure(db, cfg, "name", name_ok ? name : "", cfg->login_max_failures) != 0 ||
		    record_failure(db, cfg, "address", address, cfg->login_max_failures_per_address) != 0)
			return LOGIN_ERROR;
		return LOGIN_BAD;
	}
	/* The address's failures stay: one good account must not reset them. */
	struct db_param ok[] = {DB_INT(id)};
	struct db_param purge[] = {DB_INT(cfg->login_lock_seconds)};
	if (login_failures_clear_name(db, name) != 0 ||
	    db_exec(db, SQL_LOGIN_SUCCEEDED, ok, 1, NULL, NULL) != 0 ||
	    db_exec(db, SQL_LOGIN_PURGE, purge, 1, NULL, NULL) != 0)
		return LOGIN_ERROR;
	out->id = id;
	snprintf(out->name, sizeof out->name, "%s", name);
	out->role = role;
	return LOGIN_OK;
}
