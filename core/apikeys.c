/* apikeys: the api_keys table. */
#include "apikeys.h"

#include "db.h"
#include "history.h"

#include <stdio.h>
#include <string.h>

static const char SQL_APIKEY_ADD[] = "INSERT INTO api_keys (user_id, name, key_prefix, key_hash, created_at) "
                                     "SELECT id, ?, ?, ?, UTC_TIMESTAMP() FROM users WHERE name = ?";
static const char SQL_APIKEY_AUTH[] =
    "SELECT k.id, u.id, u.name, u.role, "
    "k.last_used_at IS NULL OR k.last_used_at < UTC_TIMESTAMP() - INTERVAL 60 SECOND, k.name "
    "FROM api_keys k JOIN users u ON u.id = k.user_id "
    "WHERE k.key_hash = ? AND k.revoked_at IS NULL AND u.disabled_at IS NULL";
static const char SQL_APIKEY_TOUCH[] = "UPDATE api_keys SET last_used_at = UTC_TIMESTAMP() WHERE id = ?";
static const char SQL_APIKEY_REVOKE[] =
    "UPDATE api_keys SET revoked_at = UTC_TIMESTAMP() WHERE id = ? AND revoked_at IS NULL";
static const char SQL_APIKEY_LIST[] =
    "SELECT k.id, k.name, k.key_prefix, u.name, u.role, "
    "DATE_FORMAT(k.created_at, '%Y-%m-%d %H:%i:%s'), "
    "DATE_FORMAT(k.last_used_at, '%Y-%m-%d %H:%i:%s'), "
    "DATE_FORMAT(k.revoked_at, '%Y-%m-%d %H:%i:%s') "
    "FROM api_keys k JOIN users u ON u.id = k.user_id ORDER BY k.revoked_at IS NOT NULL, k.id DESC";

int apikeys_create(struct db *db, const char *user_name, const char *name, char *key, size_t keylen,
                   long long *id, char *err, size_t errlen)
{
	size_t name_len = name ? strlen(name) : 0;
	if (name_len == 0 || name_len > APIKEY_NAME_MAX) {
		snprintf(err, errlen, "key name must be 1-%d characters", APIKEY_NAME_MAX);
		return -1;
	}
	char hex[AUTH_HEX_LEN + 1];
	if (keylen < APIKEY_LEN + 1 || auth_random_hex(hex, sizeof hex, AUTH_TOKEN_BYTES) != 0) {
		snprintf(err, errlen, "cannot generate a key");
		return -1;
	}
	snprintf(key, keylen, APIKEY_PREFIX "%s", hex);
	char digest[AUTH_HEX_LEN + 1], prefix[9];
	auth_sha256_hex(key, strlen(key), digest);
	snprintf(prefix, sizeof prefix, "%.8s", hex);
	unsigned long long affected = 0, insert_id = 0;
	struct db_param params[] = {DB_STR(name), DB_STR(prefix), DB_STR(digest), DB_STR(user_name)};
	if (db_exec(db, SQL_APIKEY_ADD, params, 4, &affected, &insert_id) != 0) {
		snprintf(err, errlen, "cannot store the key: %s", db_error(db));
		return -1;
	}
	if (affected == 0) {
		snprintf(err, errlen, "no user named '%s'", user_name);
		return -1;
	}
	*id = (long long)insert_id;
	return 0;
}

static int key_well_formed(const char *key)
{
	size_t plen = strlen(APIKEY_PREFIX);
	return key != NULL && strlen(key) == APIKEY_LEN && strncmp(key, APIKEY_PREFIX, plen) == 0 &&
	       strspn(key + plen, "0123456789abcdef") == AUTH_HEX_LEN;
}

int apikeys_authenticate(struct db *db, const char *key, struct user *user)
{
	if (!key_well_formed(key))
		return 0;
	char digest[AUTH_HEX_LEN + 1];
	auth_sha256_hex(key, strlen(key), digest);
	struct db_rows rows;
	struct db_param params[] = {DB_STR(digest)};
	if (db_query(db, SQL_APIKEY_AUTH, params, 1, &rows) != 0)
		return -1;
	if (rows.nrows == 0) {
		db_rows_free(&rows);
		return 0;
	}
	long long key_id = db_cell_int(&rows, 0, 0, 0);
	user->id = db_cell_int(&rows, 0, 1, 0);
	snprintf(user->name, sizeof user->name, "%s", db_cell(&rows, 0, 2));
	if (users_role_parse(db_cell(&rows, 0, 3), &user->role) != 0)
		user->role = ROLE_VIEWER;
	int stale = db_cell_int(&rows, 0, 4, 1) != 0;
	/* The API's changes are recorded as made by this key (history.h). */
	char actor[HISTORY_ACTOR_MAX + 1];
	snprintf(actor, sizeof actor, "key %.180s (%.64s)", db_cell(&rows, 0, 5) ? db_cell(&rows, 0, 5) : "?",
	         user->name);
	history_set_actor("api", actor);
	db_rows_free(&rows);
	/* last_used_at is for people: minute precision, not a write per call. */
	if (stale) {
		struct db_param touch[] = {DB_INT(key_id)};
		if (db_exec(db, SQL_APIKEY_TOUCH, touch, 1, NULL, NULL) != 0)
			return -1;
	}
	return 1;
}

int apikeys_revoke(struct db *db, long long id)
{
	unsigned long long affected = 0;
	struct db_param params[] = {DB_INT(id)};
	if (db_exec(db, SQL_APIKEY_REVOKE, params, 1, &affected, NULL) != 0)
		return -1;
	return affected > 0;
}

int apikeys_list(struct db *db, struct db_rows *rows)
{
	return db_query(db, SQL_APIKEY_LIST, NULL, 0, rows);
}
