/* users: panel and API accounts, login with lock-out, and browser sessions. */
#ifndef PROV_USERS_H
#define PROV_USERS_H

#include "auth.h"

#include <stddef.h>

struct config;
struct db;
struct db_param;
struct db_rows;

enum user_role { ROLE_VIEWER = 0, ROLE_ADMIN = 1 };

#define USER_NAME_MAX 64

struct user {
	long long id;
	char name[USER_NAME_MAX + 1];
	enum user_role role;
};

struct session {
	struct user user;
	char csrf[AUTH_HEX_LEN + 1];
};

const char *users_role_name(enum user_role role);
/* 0 and *role set for "admin"/"viewer"; -1 otherwise. */
int users_role_parse(const char *text, enum user_role *role);

/* NULL when name is acceptable, else a one-line reason. */
const char *users_check_name(const char *name);
const char *users_check_password(const char *password);

/* Add a user. Returns 0, or -1 with a one-line reason in err (duplicate name included). */
int users_add(struct db *db, const char *name, const char *password, enum user_role role, char *err,
              size_t errlen);
/* Set a new password, clear any lock and end the user's sessions. Returns 0, or -1
 * with a reason. */
int users_set_password(struct db *db, const char *name, const char *password, char *err, size_t errlen);

/* All users, by name: columns id, name, role. */
int users_list(struct db *db, struct db_rows *rows);

enum login_result { LOGIN_OK, LOGIN_BAD, LOGIN_LOCKED, LOGIN_ERROR };
enum login_result users_login(struct db *db, const struct config *cfg, const char *name, const char *password,
                              struct user *out);

/* Create a session; token receives the cookie value (only its digest is stored). */
int sessions_create(struct db *db, const struct config *cfg, const struct user *user,
                    char token[AUTH_HEX_LEN + 1], struct session *out);
/* 1 when token names a live session (filled into out), 0 when not, -1 on error. */
int sessions_lookup(struct db *db, const struct config *cfg, const char *token, struct session *out);

/* The session lookup with extra columns a caller needs in the same round trip
 * (core/web.c's prefetch): SESSIONS_LOOKUP_SQL("(SELECT ...), (SELECT ...)")
 * must be the whole text of a file-scope static string. Its extra parameters
 * come first, in order; the token's digest is bound after them. */
#define SESSIONS_LOOKUP_SELECT                                                                               \
	"SELECT u.id, u.name, u.role, s.csrf_token, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), s.expires_at)"
#define SESSIONS_LOOKUP_FROM                                                                                 \
	" FROM sessions s JOIN users u ON u.id = s.user_id "                                                 \
	"WHERE s.token_hash = ? AND s.expires_at > UTC_TIMESTAMP()"
#define SESSIONS_LOOKUP_SQL(extra_columns) SESSIONS_LOOKUP_SELECT ", " extra_columns SESSIONS_LOOKUP_FROM
#define SESSIONS_LOOKUP_COLUMNS 5 /* the first extra column's index */
#define SESSIONS_LOOKUP_PARAMS 15 /* extra parameters at most */

/* Like sessions_lookup; on 1, *row holds the session's row (the extra columns
 * from SESSIONS_LOOKUP_COLUMNS on), freed by the caller with db_rows_free.
 * On 0 or -1 *row is empty. */
int sessions_lookup_with(struct db *db, const struct config *cfg, const char *token, const char *sql,
                         const struct db_param *params, size_t nparams, struct session *out,
                         struct db_rows *row);
int sessions_delete(struct db *db, const char *token);

#endif
