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
	char token_hash[AUTH_HEX_LEN +
	                1]; /* the row's key (the cookie's digest): what session_flash rows belong to */
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
/* Set a new password, clear the name's lock-out and end the user's sessions.
 * Returns 0, or -1 with a reason. */
int users_set_password(struct db *db, const char *name, const char *password, char *err, size_t errlen);
/* Disable a user (its sessions end in the same transaction; logins, sessions
 * and API keys of a disabled user are refused) or enable it again. Returns 0,
 * or -1 with a reason (unknown user included). */
int users_set_disabled(struct db *db, const char *name, int disabled, char *err, size_t errlen);

/* The id of the user name: > 0, 0 when there is none, -1 on error. */
long long users_id(struct db *db, const char *name);

/* All users, by name: columns id, name, role. */
int users_list(struct db *db, struct db_rows *rows);

/* Login with lock-out (core/login.c). source: the client's address (REMOTE_ADDR)
 * or NULL. LOGIN_BAD and LOGIN_LOCKED are answered alike and take as long
 * whether the name exists, is disabled, or not. */
enum login_result { LOGIN_OK, LOGIN_BAD, LOGIN_LOCKED, LOGIN_ERROR };
enum login_result users_login(struct db *db, const struct config *cfg, const char *name, const char *password,
                              const char *source, struct user *out);
/* Forget the failed logins of name (a password set by an administrator). 0 or -1. */
int login_failures_clear_name(struct db *db, const char *name);
/* How long a lock-out lasts, for people: "15 minutes", "1 hour", "90 seconds". */
void login_lock_duration(long seconds, char *out, size_t outlen);
/* The key failed logins of an address are counted under: the IPv4 address,
 * or an IPv6 address's /64 ("2001:db8:1:2::/64"); "" when unparseable. */
void login_address_key(const char *address, char *out, size_t outlen);

/* Create a session; token receives the cookie value (only its digest is
 * stored). source: the client's address, kept for `prov-admin user sessions`. */
int sessions_create(struct db *db, const struct config *cfg, const struct user *user, const char *source,
                    char token[AUTH_HEX_LEN + 1], struct session *out);
/* Live sessions of the user name: columns created, last seen, expires
 * (UTC, "YYYY-MM-DD HH:MM:SS"), source address (NULL when not recorded). */
int sessions_of_user(struct db *db, const char *name, struct db_rows *rows);
/* End every session of the user name: how many, or -1. */
long long sessions_revoke_user(struct db *db, const char *name);
/* 1 when token names a live session (filled into out), 0 when not, -1 on error. */
int sessions_lookup(struct db *db, const struct config *cfg, const char *token, struct session *out);

int sessions_delete(struct db *db, const char *token);

#endif
