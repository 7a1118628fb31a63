/* dispatch_stats: the dispatcher service's figures for /metrics, one row per
 * host in dispatch_service_stats: prov-dispatchd --serve's reporter writes
 * its pool's workers, busy ones and events served every
 * DISPATCH_STATS_INTERVAL_S; a standalone prov-dispatchd that prov-dispatch
 * ran because the service did not take the event adds one exec fallback. */
#ifndef PROV_DISPATCH_STATS_H
#define PROV_DISPATCH_STATS_H

#include "dispatch_service.h"

struct db;

#define DISPATCH_STATS_INTERVAL_S 5
/* prov-dispatch sets it (to "1") when it runs the event itself although a
 * service is configured; prov-dispatchd unsets it before running anything. */
#define DISPATCH_FALLBACK_ENV "PROV_DISPATCH_FALLBACK"

/* This host's row from the shared counters (pid: the service's). 0 or -1. */
int dispatch_stats_report(struct db *db, int pid, const struct dsvc_counters *c);

/* One exec fallback on this host. 0 or -1. */
int dispatch_stats_fallback(struct db *db);

#endif
