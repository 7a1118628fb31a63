/* health: the Task Scheduler's health summary: failing handlers and since
 * when, the retry backlog and its trend over the last hour, this host's spool
 * backlog, and the services that have not run when they should have. Every
 * count is bounded (HEALTH_TREND_CAP) and read along an index; the backlog's
 * own counts are the page's (retryq_count). */
#ifndef PROV_HEALTH_H
#define PROV_HEALTH_H

#include "db.h"

#define HEALTH_FAILING_SHOWN 20          /* failing handlers listed (the count is of all) */
#define HEALTH_TREND_CAP 1000            /* the last hour's counts stop here: "more than 1,000" */
#define HEALTH_WORKER_LATE_SECONDS 600   /* the retry worker runs every few seconds */
#define HEALTH_PURGE_LATE_SECONDS 129600 /* the purge runs daily: 36 h */
#define HEALTH_PUBLISH_LATE_SECONDS 600  /* an edit waits this long for prov-cache watch */
#define HEALTH_SERVICES_MAX 8

struct health_service {
	char name[64];
	char title[256];
	char last_run[20];     /* "YYYY-MM-DD HH:MM" UTC, "" never */
	long long age_seconds; /* -1: never */
	int late;
	char why[256]; /* when late */
};

struct health_summary {
	struct db_rows failing; /* HF_* columns, oldest failure first */
	long long failing_count;
	long long oldest_due_seconds;                    /* -1: none due */
	long long retry_added_hour, retry_finished_hour; /* past HEALTH_TREND_CAP: HEALTH_TREND_CAP + 1 */
	int spool_readable;
	long spool_waiting, spool_corrupt;
	struct health_service services[HEALTH_SERVICES_MAX];
	size_t nservices;
	size_t nlate;
};

enum health_failing_column { HF_ID, HF_NAME, HF_FAILURES, HF_SINCE, HF_SINCE_SECONDS, HF_ERROR, HF_STATUS };

/* Read the summary (spool_dir: this host's). 0, or -1 (db_error); free with health_free. */
int health_read(struct db *db, const char *spool_dir, struct health_summary *h);
void health_free(struct health_summary *h);

/* "3 min", "5 h", "2 days". */
void health_age_text(long long seconds, char *out, size_t outlen);

#endif
