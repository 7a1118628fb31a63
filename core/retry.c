/* retry: schedule parsing and next-attempt arithmetic. */
#include "retry.h"

#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int retry_schedule_parse(const char *text, struct retry_schedule *out, char *err, size_t errlen)
{
	if (text == NULL || text[0] == '\0')
		text = RETRY_DEFAULT_SCHEDULE;
	memset(out, 0, sizeof *out);
	const char *p = text;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p)) {
			snprintf(err, errlen, "retry schedule: expected a number at '%.*s'",
			         (int)utf8_prefix(p, 20), p);
			return -1;
		}
		char *end;
		errno = 0;
		long value = strtol(p, &end, 10);
		long unit = 0;
		switch (*end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default:
			snprintf(err, errlen, "retry schedule: each step needs a unit s, m, h or d");
			return -1;
		}
		if (errno == ERANGE || value < 1 || value > 7L * 86400 / unit) {
			snprintf(err, errlen, "retry schedule: each step must be between 1s and 7d");
			return -1;
		}
		if (out->count == RETRY_MAX_STEPS) {
			snprintf(err, errlen, "retry schedule: at most %d steps", RETRY_MAX_STEPS);
			return -1;
		}
		out->delays[out->count++] = value * unit;
		p = end + 1;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p != '\0') {
			snprintf(err, errlen, "retry schedule: steps are separated by commas");
			return -1;
		}
	}
	if (out->count == 0) {
		snprintf(err, errlen, "retry schedule: no steps");
		return -1;
	}
	return 0;
}

int retry_is_retryable(int http_status)
{
	if (http_status == 0)
		return 1;
	return http_status == 408 || http_status == 429 || (http_status >= 500 && http_status <= 599);
}

long retry_next_delay(const struct retry_schedule *schedule, int attempts_made, int max_attempts,
                      long retry_after, unsigned jitter_permille)
{
	int limit = max_attempts > 0 ? max_attempts : (int)schedule->count + 1;
	if (attempts_made < 1 || attempts_made >= limit)
		return -1;
	size_t step = (size_t)attempts_made - 1;
	if (step >= schedule->count)
		step = schedule->count - 1; /* more attempts than steps: repeat the last */
	long delay = schedule->delays[step];
	if (jitter_permille > 999)
		jitter_permille = 999;
	/* +/-10%: spreads a burst of failures so the receiver is not hit at once. */
	delay += delay * ((long)jitter_permille - 500) / 5000;
	if (delay < 1)
		delay = 1;
	if (retry_after > delay)
		delay = retry_after < RETRY_AFTER_CAP_SECONDS ? retry_after : RETRY_AFTER_CAP_SECONDS;
	return delay;
}

long retry_after_parse(const char *value, long now)
{
	if (value == NULL)
		return -1;
	while (*value == ' ')
		value++;
	if (isdigit((unsigned char)*value)) {
		char *end;
		errno = 0;
		long seconds = strtol(value, &end, 10);
		while (*end == ' ' || *end == '\r' || *end == '\n')
			end++;
		if (errno == ERANGE || *end != '\0' || seconds < 0)
			return -1;
		return seconds;
	}
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *rest = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (rest == NULL)
		return -1;
	time_t when = timegm(&tm);
	if (when == (time_t)-1)
		return -1;
	return when > now ? (long)(when - now) : 0;
}

int retry_policy_init(struct retry_policy *policy, int enabled, const char *schedule, long long max_attempts,
                      char *err, size_t errlen)
{
	memset(policy, 0, sizeof *policy);
	policy->enabled = enabled != 0;
	policy->max_attempts = max_attempts > 0 && max_attempts < 1000 ? (int)max_attempts : 0;
	if (retry_schedule_parse(schedule, &policy->schedule, err, errlen) == 0)
		return 0;
	char ignored[16];
	retry_schedule_parse(NULL, &policy->schedule, ignored, sizeof ignored);
	return -1;
}

enum retry_action retry_decide(const struct retry_policy *policy, int success, long http_status,
                               long retry_after, int attempts_made, unsigned jitter_permille, long *delay)
{
	*delay = 0;
	if (success || !policy->enabled)
		return RETRY_NONE;
	if (http_status != 0 && !retry_is_retryable((int)http_status))
		return RETRY_NONE;
	long next = retry_next_delay(&policy->schedule, attempts_made, policy->max_attempts, retry_after,
	                             jitter_permille);
	if (next < 0)
		return RETRY_GIVE_UP;
	*delay = next;
	return RETRY_AGAIN;
}

unsigned retry_jitter(void)
{
	unsigned short r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = (unsigned short)(time(NULL) ^ (long)&r);
	return r % 1000u;
}
