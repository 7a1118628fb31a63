/* apikeys: keys for the JSON API. A key acts with its user's role; only its
 * SHA-256 digest is stored, so the key is shown once, when it is created. */
#ifndef PROV_APIKEYS_H
#define PROV_APIKEYS_H

#include "users.h"

#include <stddef.h>

struct db;
struct db_rows;

#define APIKEY_PREFIX "pk_"
#define APIKEY_LEN (3 + AUTH_HEX_LEN) /* "pk_" + 64 hex */
#define APIKEY_NAME_MAX 255

/* Create a key named name for user user_name; the key is written to key
 * (APIKEY_LEN + 1 bytes). Returns 0, or -1 with a one-line reason. */
int apikeys_create(struct db *db, const char *user_name, const char *name, char *key, size_t keylen,
                   long long *id, char *err, size_t errlen);

/* 1 and *user filled when key is live, 0 when unknown, revoked or its user is
 * disabled, -1 on error. */
int apikeys_authenticate(struct db *db, const char *key, struct user *user);

/* 1 revoked now, 0 no such live key, -1 on error. */
int apikeys_revoke(struct db *db, long long id);

/* Columns of apikeys_list rows. */
enum apikey_column {
	AKCOL_ID,
	AKCOL_NAME,
	AKCOL_PREFIX,
	AKCOL_USER,
	AKCOL_ROLE,
	AKCOL_CREATED,
	AKCOL_LAST_USED,
	AKCOL_REVOKED,
	AKCOL__MAX
};
int apikeys_list(struct db *db, struct db_rows *rows);

#endif
