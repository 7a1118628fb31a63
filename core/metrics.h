/* metrics: what GET /metrics shows (Prometheus text format), read at a cost
 * bounded whatever the size of the Execution Log: execution counters and
 * duration histograms from exec_totals (kept by logstore in the log's own
 * transactions, rollup.c), the retry queue from its state index, the Cache
 * Manager's state, the services' last runs, the spool folder's files. Never a
 * secret: no task URL, signing secret, key or payload is read. */
#ifndef PROV_METRICS_H
#define PROV_METRICS_H

#include "metrics_text.h"

#include <stddef.h>

struct config;
struct db;

#define METRICS_MAX_BYTES (64u * 1024 * 1024) /* a larger page is an error, never cut */
#define METRICS_SPOOL_SCAN_MAX 100000         /* spool_dir entries looked at per scrape */

/* Write every metric into out. Returns 0, or -1 with a one-line reason (a
 * failed query, or a page past METRICS_MAX_BYTES). */
int metrics_collect(struct db *db, const struct config *cfg, struct metrics_out *out, char *err,
                    size_t errlen);

#endif
