/* batchrun: prov-dispatch --batch (SPEC section 5), one envelope per stdin
 * line, with group commit (issue #15): the executions of up to
 * BATCHRUN_GROUP_EVENTS events (BATCHRUN_GROUP_BYTES of requests and
 * replies, BATCHRUN_GROUP_MS since the first) are logged in one transaction,
 * and their result lines are printed after it commits, in line order. A group
 * is also committed as soon as no further line is waiting on stdin (a caller
 * that sends one line and waits for its result gets it), before the published
 * generation is checked again, and at the end. Their deliveries all go to the
 * process's one spool journal, which is dropped once the group commits and
 * kept for prov-worker when it cannot (the results then say spooled). */
#ifndef PROV_BATCHRUN_H
#define PROV_BATCHRUN_H

#include <jansson.h>

struct dispatcher;

#define BATCHRUN_GROUP_EVENTS 128
#define BATCHRUN_GROUP_BYTES (4L * 1024 * 1024)
#define BATCHRUN_GROUP_MS 50

/* Every line of stdin, in order. Returns the exit code: 70 if any event hit
 * an internal error, else 64 if any line was bad, else 0; 73 (no result line
 * for that event, the batch stops) when the spool journal cannot be written:
 * no event may be delivered without its journal. When stdout refuses a result
 * the batch stops there: nobody would learn the verdicts of the next events. */
int batchrun(struct dispatcher *dp);

/* One result line on stdout, flushed (a batch consumer may read as it goes;
 * a single run prints its one result the same way). Returns 0, or -1 with
 * the reason on stderr and dp->output_failed set. */
int batchrun_print_result(struct dispatcher *dp, json_t *result);

#endif
