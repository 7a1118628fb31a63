/* page_apikeys: API keys for the JSON API (admin only): list, create (the key
 * is shown once, on the page that answers the create), revoke. */
#include "pages.h"

#include "apikeys.h"
#include "db.h"
#include "users.h"
#include "web.h"

#include <stdio.h>

static const char *const key_fields[AKCOL__MAX] = {
    [AKCOL_ID] = "Id",
    [AKCOL_NAME] = "Name",
    [AKCOL_PREFIX] = "Prefix",
    [AKCOL_USER] = "User",
    [AKCOL_ROLE] = "Role",
    [AKCOL_CREATED] = "Created",
    [AKCOL_LAST_USED] = "LastUsed",
    [AKCOL_REVOKED] = "Revoked",
};

/* Fill Keys.N.* and Users.N.*, then render; status is 200 or the form's error status. */
static void render_keys(struct web_request *req, struct db *db, int status)
{
	struct db_rows rows;
	if (apikeys_list(db, &rows) != 0) {
		web_error(req, 500, "The API keys could not be read.", db_error(db));
		return;
	}
	char key[64];
	for (size_t r = 0; r < rows.nrows; r++)
		for (size_t c = 0; c < AKCOL__MAX; c++) {
			snprintf(key, sizeof key, "Keys.%zu.%s", r, key_fields[c]);
			web_set(req, key, db_cell(&rows, r, c));
		}
	web_set_int(req, "KeyCount", (long long)rows.nrows);
	db_rows_free(&rows);
	if (users_list(db, &rows) != 0) {
		web_error(req, 500, "The users could not be read.", db_error(db));
		return;
	}
	for (size_t r = 0; r < rows.nrows; r++) {
		snprintf(key, sizeof key, "Users.%zu.Name", r);
		web_set(req, key, db_cell(&rows, r, 1));
		snprintf(key, sizeof key, "Users.%zu.Role", r);
		web_set(req, key, db_cell(&rows, r, 2));
	}
	db_rows_free(&rows);
	web_set(req, "Page.Title", "API keys");
	web_set(req, "Page.Section", "apikeys");
	web_render(req, status, "apikeys.cs");
}

void page_apikeys_list(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	const char *revoked = web_param(req, "revoked");
	if (revoked != NULL)
		web_set(req, "Notice", "The API key was revoked.");
	render_keys(req, db, 200);
}

void page_apikeys_create(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	const char *name = web_param(req, "name");
	const char *user = web_param(req, "user");
	web_set(req, "Form.Name", name);
	web_set(req, "Form.User", user);
	if (users_check_name(user) != NULL) {
		web_set(req, "Form.Error", "Choose the user the key acts as.");
		render_keys(req, db, 422);
		return;
	}
	char created[APIKEY_LEN + 1], err[512];
	long long id = 0;
	if (apikeys_create(db, user, name, created, sizeof created, &id, err, sizeof err) != 0) {
		web_set(req, "Form.Error", err);
		render_keys(req, db, 422);
		return;
	}
	/* Shown on this answer only: the database keeps just its digest. */
	web_set(req, "Created.Key", created);
	web_set_int(req, "Created.Id", id);
	web_set(req, "Form.Name", "");
	render_keys(req, db, 200);
}

void page_apikeys_revoke(struct web_request *req)
{
	struct db *db = web_db(req);
	if (db == NULL)
		return;
	int revoked = apikeys_revoke(db, web_path_id(req));
	if (revoked < 0)
		web_error(req, 500, "The API key could not be revoked.", db_error(db));
	else if (revoked == 0)
		web_error(req, 404, "There is no live API key with that id.", NULL);
	else
		web_redirect(req, "/apikeys?revoked=1");
}
