/* session_flash: what a page shows once after its POST's redirect (POST /
 * redirect / GET), kept in MariaDB keyed to the session's token digest: gone
 * once read, and with its session. Today: a newly generated signing secret. */
#ifndef PROV_SESSION_FLASH_H
#define PROV_SESSION_FLASH_H

#include "handlers.h"
#include "users.h"

struct db;

/* A signing secret waiting to be shown on handler_id's secret page. */
struct secret_flash {
	long long handler_id;
	char done[16];                       /* "created" or "saved" */
	long old_secret_hours;               /* the replaced secret still signs this long */
	char secret[HANDLER_SECRET_MAX + 1]; /* wiped by session_flash_forget */
};

/* Keep f for the session (replacing one of the same handler). 0 or -1. */
int session_flash_put_secret(struct db *db, const struct session *session, const struct secret_flash *f);
/* Take (read and delete at once) the session's secret of handler_id:
 * 1 and out filled, 0 when there is none (already shown), -1 on error. */
int session_flash_take_secret(struct db *db, const struct session *session, long long handler_id,
                              struct secret_flash *out);
/* Wipe the secret from memory once it has been stored or shown. */
void session_flash_forget(struct secret_flash *f);

#endif
