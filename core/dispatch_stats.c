/* dispatch_stats: the dispatcher service's row per host. */
#include "dispatch_stats.h"

#include "db.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char SQL_REPORT[] =
    "INSERT INTO dispatch_service_stats (host, pid, workers, busy, events_served, started_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, FROM_UNIXTIME(?), UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE pid = VALUES(pid), "
    "workers = VALUES(workers), busy = VALUES(busy), events_served = VALUES(events_served), "
    "started_at = VALUES(started_at), updated_at = VALUES(updated_at)";
static const char SQL_FALLBACK[] = "INSERT INTO dispatch_service_stats (host, exec_fallbacks) VALUES (?, 1) "
                                   "ON DUPLICATE KEY UPDATE exec_fallbacks = exec_fallbacks + 1";

static void host_name(char *out, size_t len)
{
	if (gethostname(out, len) != 0 || out[0] == '\0')
		snprintf(out, len, "unknown");
	out[len - 1] = '\0';
}

int dispatch_stats_report(struct db *db, int pid, const struct dsvc_counters *c)
{
	char host[256];
	host_name(host, sizeof host);
	int busy = __atomic_load_n(&c->busy, __ATOMIC_RELAXED);
	struct db_param p[] = {DB_STR(host),
	                       DB_INT(pid),
	                       DB_INT(c->workers),
	                       DB_INT(busy < 0 ? 0 : busy),
	                       DB_INT(__atomic_load_n(&c->served, __ATOMIC_RELAXED)),
	                       DB_INT(c->started)};
	return db_exec(db, SQL_REPORT, p, 6, NULL, NULL);
}

int dispatch_stats_fallback(struct db *db)
{
	char host[256];
	host_name(host, sizeof host);
	struct db_param p[] = {DB_STR(host)};
	return db_exec(db, SQL_FALLBACK, p, 1, NULL, NULL);
}
