/* redeliver: the Execution Log's Redeliver action (SPEC 4.3): run the logged
 * execution's handler again, now, with the logged envelope and the same
 * delivery id, through the one delivery path, and log it as trigger "manual"
 * linked to the original row. Used by the panel and the JSON API. */
#ifndef PROV_REDELIVER_H
#define PROV_REDELIVER_H

#include <stddef.h>

struct config;
struct db;

enum redeliver_status {
	REDELIVER_DONE,          /* ran and logged: see success / new_log_id */
	REDELIVER_NOT_FOUND,     /* no log row with that id */
	REDELIVER_NOT_PUBLISHED, /* the handler is not in the published set any more */
	REDELIVER_ERROR,         /* database or internal error: err says what (for logs) */
};

struct redeliver_outcome {
	int success;          /* the new execution succeeded */
	long long new_log_id; /* the row logged for it */
	unsigned attempt;
	char error[512]; /* the new execution's error, "" on success */
};

enum redeliver_status redeliver_log(struct db *db, const struct config *cfg, long long log_id,
                                    struct redeliver_outcome *out, char *err, size_t errlen);

#endif
