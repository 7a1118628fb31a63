/* retry: the retry policy (SPEC section 7): which failures are retried, and
 * when the next attempt is due. Pure functions; the queue itself is retryq. */
#ifndef PROV_RETRY_H
#define PROV_RETRY_H

#include <stddef.h>

#define RETRY_MAX_STEPS 32
#define RETRY_DEFAULT_SCHEDULE "5s,5m,30m,2h,5h,10h,10h"
#define RETRY_AFTER_CAP_SECONDS (24L * 3600)

struct retry_schedule {
	long delays[RETRY_MAX_STEPS]; /* seconds before retry 1, 2, ... */
	size_t count;
};

/* Parse "5s,5m,30m,2h" (units s, m, h, d; each step 1 s .. 7 d). NULL or ""
 * gives the default schedule. Returns 0, or -1 with a one-line reason. */
int retry_schedule_parse(const char *text, struct retry_schedule *out, char *err, size_t errlen);

/* Whether an outcome is worth another attempt: no HTTP status (connection
 * error, timeout) or a script failure, 408, 429 and 5xx are; other statuses are
 * final. http_status 0 means "no HTTP answer". */
int retry_is_retryable(int http_status);

/* Seconds until the next attempt after attempts_made attempts (1 = the first
 * delivery failed), or -1 when the schedule is exhausted. max_attempts (0 =
 * schedule length + 1) caps the total number of attempts. retry_after (seconds
 * from a Retry-After header, -1 when absent) wins when it is later, up to
 * RETRY_AFTER_CAP_SECONDS. jitter_permille in [0, 1000) spreads the delay by
 * up to +/-10% (pass a random value; 500 = no change). */
long retry_next_delay(const struct retry_schedule *schedule, int attempts_made, int max_attempts,
		      long retry_after, unsigned jitter_permille);

/* Parse a Retry-After header value (delta seconds or an HTTP date) relative to
 * now; -1 when absent or unparseable. */
long retry_after_parse(const char *value, long now);

#endif
