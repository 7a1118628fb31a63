/* handlers: reads and writes of the handlers table. */
#include "handlers.h"

#include "db.h"

#include <string.h>

/* One statement covers every filter combination: an empty parameter means
 * "any", so the plan stays prepared once per process. */
static const char SQL_HANDLERS_LIST[] =
	"SELECT id, priority, name, events_id, task, task_type, status, last_status, "
	"DATE_FORMAT(last_run_at, '%Y-%m-%d %H:%i:%s') "
	"FROM handlers "
	"WHERE (? = '' OR events_id = ?) "
	"AND (? = '' OR task_type = ?) "
	"AND (IF(? = '', status IN ('enabled','disabled'), status = ?)) "
	"ORDER BY priority, id";

int handlers_list(struct db *db, const struct handler_filter *filter, struct db_rows *rows)
{
	const char *event = filter->events_id ? filter->events_id : "";
	const char *type = filter->task_type ? filter->task_type : "";
	const char *status = filter->status ? filter->status : "";
	struct db_param params[] = {DB_STR(event), DB_STR(event), DB_STR(type),
				    DB_STR(type), DB_STR(status), DB_STR(status)};
	return db_query(db, SQL_HANDLERS_LIST, params, 6, rows);
}
