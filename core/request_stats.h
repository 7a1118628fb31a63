/* request_stats: panel and API answers by HTTP status, for /metrics. Each
 * FastCGI process counts in memory (no statement per request) and adds its
 * counts to the request_stats table at most once every
 * REQUEST_STATS_FLUSH_MS, after answering a request (one upsert per status
 * seen since the last flush). Counts of a process that exits before its next
 * flush (at most that interval's) are lost: the series undercounts, never
 * double counts. */
#ifndef PROV_REQUEST_STATS_H
#define PROV_REQUEST_STATS_H

struct config;
struct db;

#include <stddef.h>

#define REQUEST_STATS_FLUSH_MS 5000

/* Count one answer with status (100-599; others are not counted). */
void request_stats_count(int status);

/* When the last flush (or try) is older than REQUEST_STATS_FLUSH_MS and
 * there is something to add: add the counts for program ("panel" or "api")
 * and forget the ones written, through *db (opened with cfg when the
 * requests needed none; a failed open is tried again an interval later, so
 * a database that is down costs one try per interval). 0, or -1 with a reason
 * in err (the unwritten counts wait). */
int request_stats_flush(struct db **db, const struct config *cfg, const char *program, char *err,
                        size_t errlen);

#endif
