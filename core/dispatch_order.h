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

/* ---------------------------------------------------------------- the book
 * A batch (batchrun.c) commits its events' log rows in groups, so what it
 * queued a moment ago is not in retry_queue yet, and its connection belongs
 * to the group being committed. It keeps what is ahead in a book instead:
 * (handler, object) pairs queued or held by its own deliveries not yet known
 * to be committed (tagged with their group), and the retry_queue rows of the
 * objects of the lines it has read, loaded in one statement (on a connection
 * of its own) after those lines arrived and before any of them is run. A
 * caller that sends an event only after the result of the one before has it
 * in the book either way: a result line is printed after its group commits. */
struct order_pair {
	long long handler_id;
	long long object_id;
	long long behind; /* > 0 that exec_logs id; DISPATCH_ORDER_UNKNOWN */
	long group;       /* the group that queued it; ORDER_BOOK_LOADED: read from the queue */
};
#define ORDER_BOOK_LOADED (-1L)
#define ORDER_BOOK_OBJECTS 128

struct order_book {
	struct order_pair *pairs;
	size_t n, cap;
};

/* Note that (handler, object) is queued or held by a delivery of group. */
int order_book_add(struct order_book *book, long long handler_id, long long object_id, long group);

/* Replace the loaded pairs with the queue's rows ahead of these objects (one
 * statement, none for n == 0; n at most ORDER_BOOK_OBJECTS), and forget the
 * pairs of the groups up to committed, which that read sees in the queue. Returns 0, or -1 when the
 * queue could not be read (db NULL included): the loaded pairs are then none
 * and the groups' pairs are kept (see dispatch_order_check on an outage). */
int order_book_load(struct order_book *book, struct db *db, const long long *object_ids, size_t n,
                    long committed);

void order_book_free(struct order_book *book);

/* dispatch_order_check answered from the book (no statement). */
size_t dispatch_order_check_book(const struct order_book *book, const struct dispatch_event *event,
                                 const struct cache_handler *chain, size_t n, long long *behind);

#endif
