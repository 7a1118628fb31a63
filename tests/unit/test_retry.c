/* Unit tests: retry schedule parsing, retryable outcomes, next-attempt delays. */
#include "retry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

static void default_schedule_is_the_spec_one(void **state)
{
	(void)state;
	struct retry_schedule s;
	char err[128];
	assert_int_equal(retry_schedule_parse(NULL, &s, err, sizeof err), 0);
	long expected[] = {5, 300, 1800, 7200, 18000, 36000, 36000};
	assert_int_equal(s.count, 7);
	assert_memory_equal(s.delays, expected, sizeof expected);
	assert_int_equal(retry_schedule_parse("", &s, err, sizeof err), 0);
	assert_int_equal(s.count, 7);
}

static void custom_schedules_and_their_errors(void **state)
{
	(void)state;
	struct retry_schedule s;
	char err[128];
	assert_int_equal(retry_schedule_parse("1s, 2m,3h,1d", &s, err, sizeof err), 0);
	assert_int_equal(s.count, 4);
	assert_int_equal(s.delays[3], 86400);
	const char *bad[] = {"5", "5x", "0s", "8d", "5s;5m", ",", "s", "5s,,5m", "-1s"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		if (retry_schedule_parse(bad[i], &s, err, sizeof err) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(strncmp(err, "retry schedule:", 15) == 0);
	}
}

static void retryable_outcomes(void **state)
{
	(void)state;
	assert_true(retry_is_retryable(0));
	assert_true(retry_is_retryable(500));
	assert_true(retry_is_retryable(503));
	assert_true(retry_is_retryable(429));
	assert_true(retry_is_retryable(408));
	assert_false(retry_is_retryable(400));
	assert_false(retry_is_retryable(404));
	assert_false(retry_is_retryable(422));
}

static void delays_follow_the_schedule_then_stop(void **state)
{
	(void)state;
	struct retry_schedule s;
	char err[128];
	assert_int_equal(retry_schedule_parse(NULL, &s, err, sizeof err), 0);
	assert_int_equal(retry_next_delay(&s, 1, 0, -1, 500), 5);
	assert_int_equal(retry_next_delay(&s, 2, 0, -1, 500), 300);
	assert_int_equal(retry_next_delay(&s, 7, 0, -1, 500), 36000);
	assert_int_equal(retry_next_delay(&s, 8, 0, -1, 500), -1); /* 1 + 7 retries made */
	assert_int_equal(retry_next_delay(&s, 0, 0, -1, 500), -1);
	assert_int_equal(retry_next_delay(&s, 3, 3, -1, 500), -1); /* max_attempts caps */
	assert_int_equal(retry_next_delay(&s, 2, 3, -1, 500), 300);
	/* more attempts allowed than steps: the last step repeats */
	assert_int_equal(retry_next_delay(&s, 9, 20, -1, 500), 36000);
}

static void jitter_and_retry_after(void **state)
{
	(void)state;
	struct retry_schedule s;
	char err[128];
	assert_int_equal(retry_schedule_parse("100s", &s, err, sizeof err), 0);
	assert_int_equal(retry_next_delay(&s, 1, 0, -1, 0), 90);
	assert_int_equal(retry_next_delay(&s, 1, 0, -1, 999), 109);
	assert_int_equal(retry_next_delay(&s, 1, 0, 50, 500), 100);  /* earlier Retry-After: schedule wins */
	assert_int_equal(retry_next_delay(&s, 1, 0, 600, 500), 600); /* later Retry-After wins */
	assert_int_equal(retry_next_delay(&s, 1, 0, 999999, 500), RETRY_AFTER_CAP_SECONDS);
}

static void retry_after_header_forms(void **state)
{
	(void)state;
	long now = 1784000000; /* a fixed "now" */
	assert_int_equal(retry_after_parse("120", now), 120);
	assert_int_equal(retry_after_parse(" 7\r\n", now), 7);
	assert_int_equal(retry_after_parse("soon", now), -1);
	assert_int_equal(retry_after_parse("12abc", now), -1);
	assert_int_equal(retry_after_parse(NULL, now), -1);
	/* Thu, 01 Jan 1970 00:02:00 GMT is in the past: due now. */
	assert_int_equal(retry_after_parse("Thu, 01 Jan 1970 00:02:00 GMT", now), 0);
	assert_int_equal(retry_after_parse("Sun, 06 Jan 2030 08:49:37 GMT", 1893919777 - 60), 60);
}

static void a_policy_decides_retry_give_up_or_final(void **state)
{
	(void)state;
	struct retry_policy p;
	char err[128];
	long delay = -7;
	assert_int_equal(retry_policy_init(&p, 1, NULL, 0, err, sizeof err), 0);
	assert_int_equal(retry_decide(&p, 1, 200, -1, 1, 500, &delay), RETRY_NONE); /* success */
	assert_int_equal(delay, 0);
	assert_int_equal(retry_decide(&p, 0, 0, -1, 1, 500, &delay), RETRY_AGAIN); /* no answer */
	assert_int_equal(delay, 5);
	assert_int_equal(retry_decide(&p, 0, 503, 120, 1, 500, &delay), RETRY_AGAIN);
	assert_int_equal(delay, 120);                                               /* Retry-After */
	assert_int_equal(retry_decide(&p, 0, 404, -1, 1, 500, &delay), RETRY_NONE); /* final 4xx */
	assert_int_equal(retry_decide(&p, 0, 200, -1, 1, 500, &delay), RETRY_NONE); /* acknowledged */
	assert_int_equal(retry_decide(&p, 0, 429, -1, 2, 500, &delay), RETRY_AGAIN);
	assert_int_equal(delay, 300);
	assert_int_equal(retry_decide(&p, 0, 500, -1, 8, 500, &delay), RETRY_GIVE_UP); /* 1 + 7 made */

	assert_int_equal(retry_policy_init(&p, 1, "1m", 2, err, sizeof err), 0);
	assert_int_equal(retry_decide(&p, 0, 0, -1, 1, 500, &delay), RETRY_AGAIN);
	assert_int_equal(delay, 60);
	assert_int_equal(retry_decide(&p, 0, 0, -1, 2, 500, &delay), RETRY_GIVE_UP);

	assert_int_equal(retry_policy_init(&p, 0, NULL, 0, err, sizeof err), 0);
	assert_int_equal(retry_decide(&p, 0, 500, -1, 1, 500, &delay), RETRY_NONE); /* retries off */

	/* A schedule that does not parse: reported, and the default is used. */
	assert_int_equal(retry_policy_init(&p, 1, "soon", 0, err, sizeof err), -1);
	assert_true(strncmp(err, "retry schedule:", 15) == 0);
	assert_int_equal(p.schedule.count, 7);
	assert_int_equal(retry_decide(&p, 0, 0, -1, 1, 500, &delay), RETRY_AGAIN);
	assert_int_equal(delay, 5);
}

static void jitter_stays_in_range(void **state)
{
	(void)state;
	unsigned seen_low = 0, seen_high = 0;
	for (int i = 0; i < 2000; i++) {
		unsigned j = retry_jitter();
		assert_true(j < 1000);
		seen_low |= j < 500;
		seen_high |= j >= 500;
	}
	assert_true(seen_low && seen_high);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(default_schedule_is_the_spec_one),
	    cmocka_unit_test(custom_schedules_and_their_errors),
	    cmocka_unit_test(retryable_outcomes),
	    cmocka_unit_test(delays_follow_the_schedule_then_stop),
	    cmocka_unit_test(jitter_and_retry_after),
	    cmocka_unit_test(retry_after_header_forms),
	    cmocka_unit_test(a_policy_decides_retry_give_up_or_final),
	    cmocka_unit_test(jitter_stays_in_range),
	};
	return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}
