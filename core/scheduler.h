/* scheduler: the Task Scheduler's services table (Cache Manager, retry worker,
 * log purge): each service records its runs here and the panel lists them. */
#ifndef PROV_SCHEDULER_H
#define PROV_SCHEDULER_H

struct db;
struct db_rows;

/* Columns of the rows scheduler_services returns, in order. */
enum scheduler_column {
	SCOL_NAME,
	SCOL_TITLE,
	SCOL_LAST_RUN_AT,
	SCOL_LAST_RESULT,
	SCOL_LAST_DETAIL,
	SCOL__MAX
};

/* Every service, by title. */
int scheduler_services(struct db *db, struct db_rows *rows);

/* Record a run of service name: result "ok" or "error", a one-line detail. */
int scheduler_record(struct db *db, const char *name, const char *result, const char *detail);

#endif
