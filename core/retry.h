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

/* A handler's retry settings, ready to use. */
struct retry_policy {
	int enabled;
	struct retry_schedule schedule;
	int max_attempts; /* total attempts, the first included; 0: schedule length + 1 */
};

/* From a published handler's settings: schedule NULL/"" means the default,
 * max_attempts <= 0 the schedule's length + 1. A schedule that does not parse
 * falls back to the default: returns -1 with the reason in err (the policy is
 * still usable), else 0. */
int retry_policy_init(struct retry_policy *policy, int enabled, const char *schedule, long long max_attempts,
                      char *err, size_t errlen);

enum retry_action {
	RETRY_NONE,    /* success, retries off, or a final failure (e.g. HTTP 404) */
	RETRY_AGAIN,   /* try again in *delay seconds */
	RETRY_GIVE_UP, /* worth retrying, but the attempts are used up */
};

/* What to do after attempt number attempts_made of a delivery ended. A
 * failure without an HTTP status (connection error, timeout, reset, script)
 * is retryable; with one, retry_is_retryable decides: a handler that answered
 * 2xx acknowledged the event, so an unusable reply is not sent again.
 * retry_after: seconds from a Retry-After header or -1. */
enum retry_action retry_decide(const struct retry_policy *policy, int success, long http_status,
                               long retry_after, int attempts_made, unsigned jitter_permille, long *delay);

/* A random jitter_permille for retry_next_delay / retry_decide. */
unsigned retry_jitter(void);

/* Parse a Retry-After header value (delta seconds or an HTTP date) relative to
 * now; -1 when absent or unparseable. */
long retry_after_parse(const char *value, long now);

#endif
