/* scheduler: reads and writes of the services table. */
#include "scheduler.h"

#include "db.h"
#include "delivery.h"

#include <stdlib.h>
#include <string.h>

static const char SQL_SERVICES[] =
    "SELECT name, title, DATE_FORMAT(last_run_at, '%Y-%m-%d %H:%i:%s'), last_result, last_detail "
    "FROM services ORDER BY title";
static const char SQL_RECORD[] =
    "UPDATE services SET last_run_at = ?, last_result = ?, last_detail = ? WHERE name = ?";

int scheduler_services(struct db *db, struct db_rows *rows)
{
	return db_query(db, SQL_SERVICES, NULL, 0, rows);
}

int scheduler_record(struct db *db, const char *name, const char *result, const char *detail)
{
	char when[32];
	delivery_time_text(delivery_now_us(), 0, when, sizeof when);
	/* last_detail is VARCHAR(1024) of utf8mb4 under strict mode. */
	char *clean = delivery_utf8_clean(detail, strlen(detail), 1024, NULL);
	if (clean == NULL)
		return -1;
	struct db_param p[] = {DB_STR(when), DB_STR(result), DB_STR(clean), DB_STR(name)};
	int rc = db_exec(db, SQL_RECORD, p, 4, NULL, NULL);
	free(clean);
	return rc;
}
