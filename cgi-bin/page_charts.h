/* page_charts: the chart parts of the panel's pages (handler form, handler
 * list, Execution Logs) and the Task Scheduler's health summary, each
 * rendered by its own template include (handlers_charts.cs,
 * handlers_spark.cs, logs_histogram.cs, scheduler_health.cs). A chart that
 * cannot be read is left out with a note; the page itself still answers. */
#ifndef PROV_PAGE_CHARTS_H
#define PROV_PAGE_CHARTS_H

#include <stddef.h>

struct web_request;
struct db;
struct db_rows;
struct logs_query;

/* HandlerCharts.*: 24 h and 7 days of handler_id. */
void charts_set_handler(struct web_request *req, struct db *db, long long handler_id);

/* Handlers.N.Spark and .SparkText for the list's rows (id in column id_col). */
void charts_set_sparklines(struct web_request *req, struct db *db, const struct db_rows *rows, size_t id_col);

/* Histogram.*: the Execution Logs' bars for q. */
void charts_set_logs(struct web_request *req, struct db *db, const struct logs_query *q);

/* Health.*: the Task Scheduler's health summary. */
void charts_set_health(struct web_request *req, struct db *db);

/* page_logs.c: the list's address for q's filters with from and to replaced. */
void logs_range_href(const struct logs_query *q, const char *from, const char *to, char *out, size_t outlen);

#endif
