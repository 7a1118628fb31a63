/* dispatch_order: per-object order (issue #15). For each (handler, object_id)
 * of a handler whose `ordered` switch is on, deliveries happen in event
 * order: while an earlier delivery of the object to the handler is queued in
 * retry_queue ('scheduled', 'waiting' or 'blocked'), a later event is not
 * delivered to it but logged 'waiting' and queued behind (logstore, action
 * LOGSTORE_QUEUE_WAIT), and the retry worker delivers it once everything
 * ahead is done. The check here is a plain read before the deliveries; the
 * enqueue locks the chain (retryq_chain_tail) in the log transaction, so a
 * head finishing meanwhile never strands the row behind it. */
#ifndef PROV_DISPATCH_ORDER_H
#define PROV_DISPATCH_ORDER_H

#include "cache.h"
#include "dispatch.h"

#include <stddef.h>

struct db;

/* Held behind a row whose log id is not known (a row queued without one). */
#define DISPATCH_ORDER_UNKNOWN (-1)

/* For each of the n handlers of chain, behind[i]: 0 deliver it now; > 0 hold
 * it behind that exec_logs id; DISPATCH_ORDER_UNKNOWN hold it behind a row
 * without a log id. One statement for all of the handlers, none when the
 * event has no object_id or no handler is ordered. When the queue cannot be
 * read (db NULL, MariaDB unreachable) nothing is held: events go on from the
 * local snapshot as they always did during an outage (README, Per-object
 * order). Returns how many are held. */
size_t dispatch_order_check(struct db *db, const struct dispatch_event *event,
                            const struct cache_handler *chain, size_t n, long long *behind);

#endif
