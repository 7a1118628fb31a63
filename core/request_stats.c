/* request_stats: per-process answer counts by status, flushed bounded. */
#include "request_stats.h"

#include "db.h"
#include "monotonic.h"

#include <stdio.h>

#define STATUS_MIN 100
#define STATUS_MAX 599

static long long counts[STATUS_MAX - STATUS_MIN + 1];
static int pending;
static long long last_flush_ms = -1;

static const char SQL_ADD[] = "INSERT INTO request_stats (program, status, requests) VALUES (?, ?, ?) "
                              "ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests)";

void request_stats_count(int status)
{
	if (status < STATUS_MIN || status > STATUS_MAX)
		return;
	counts[status - STATUS_MIN]++;
	pending = 1;
}

int request_stats_flush(struct db **db, const struct config *cfg, const char *program, char *err,
                        size_t errlen)
{
	long long now = monotonic_ms();
	if (!pending || (last_flush_ms >= 0 && now - last_flush_ms < REQUEST_STATS_FLUSH_MS))
		return 0;
	last_flush_ms = now;
	if (*db == NULL && (*db = db_open(cfg, err, errlen)) == NULL)
		return -1;
	for (int i = 0; i <= STATUS_MAX - STATUS_MIN; i++) {
		if (counts[i] == 0)
			continue;
		struct db_param p[] = {DB_STR(program), DB_INT(i + STATUS_MIN), DB_INT(counts[i])};
		if (db_exec(*db, SQL_ADD, p, 3, NULL, NULL) != 0) {
			snprintf(err, errlen, "%s", db_error(*db));
			return -1;
		}
		counts[i] = 0;
	}
	pending = 0;
	return 0;
}
