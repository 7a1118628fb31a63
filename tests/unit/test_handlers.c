/* Unit tests: handler validation (every field, every rule) and the list's
 * filter and sort names. The store is tested against MariaDB in
 * tests/integration/panel_handlers.test.mjs. */
#include "handlers.h"
#include "retry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scripts[PATH_MAX]; /* a fresh scripts directory per run */
static char outside[PATH_MAX]; /* a script next to it, outside */

static void write_script(const char *path, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\ncat\n", f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	char base[] = "/tmp/prov-unit-handlers.XXXXXX";
	if (mkdtemp(base) == NULL)
		return -1;
	char path[PATH_MAX + 64];
	snprintf(scripts, sizeof scripts, "%s/scripts", base);
	snprintf(outside, sizeof outside, "%s/outside.sh", base);
	if (mkdir(scripts, 0755) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/sub", scripts);
	if (mkdir(path, 0755) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/ok.sh", scripts);
	write_script(path, 0755);
	snprintf(path, sizeof path, "%s/sub/nested.py", scripts);
	write_script(path, 0750);
	snprintf(path, sizeof path, "%s/noexec.sh", scripts);
	write_script(path, 0644);
	write_script(outside, 0755);
	snprintf(path, sizeof path, "%s/escape.sh", scripts);
	if (symlink(outside, path) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/alias.sh", scripts);
	return symlink("ok.sh", path);
}

static int teardown(void **state)
{
	(void)state;
	char command[PATH_MAX + 32];
	char *slash = strrchr(scripts, '/');
	*slash = '\0';
	snprintf(command, sizeof command, "rm -rf '%s'", scripts);
	return system(command) == 0 ? 0 : -1;
}

/* The tests' receivers are on loopback, which the destination policy refuses
 * unless the config allows it (as the test instance's config does). */
#define LOOPBACK "127.0.0.0/8, ::1/128"

static struct handler_input good_input(void)
{
	return (struct handler_input){
	    .name = "CRM sync", .events_id = "clients.create", .task = "http://127.0.0.1:5000/api"};
}

/* Validate in; returns the number of errors; the task's message in msg. */
static size_t check(const struct handler_input *in, struct handler *h, struct handler_errors *e)
{
	handler_validate(in, scripts, LOOPBACK, h, e);
	return e->count;
}

static void defaults_fill_what_is_not_given(void **state)
{
	(void)state;
	struct handler_input in = good_input();
	struct handler h;
	struct handler_errors e;
	assert_int_equal(handler_validate(&in, scripts, LOOPBACK, &h, &e), 0);
	assert_int_equal(e.count, 0);
	assert_string_equal(h.name, "CRM sync");
	assert_string_equal(h.events_id, "clients.create");
	assert_string_equal(h.task, "http://127.0.0.1:5000/api");
	assert_int_equal(h.task_type, HANDLER_TASK_HTTP);
	assert_int_equal(h.status, HANDLER_ENABLED);
	assert_int_equal(h.priority, 1);
	assert_int_equal(h.timeout_ms, 5000);
	assert_int_equal(h.retry_enabled, 1);
	assert_int_equal(h.retry_max_attempts, 0);
	assert_string_equal(h.retry_schedule, "");
	assert_int_equal(h.secret_action, HANDLER_SECRET_KEEP);
}

static void every_bad_field_gets_its_own_message(void **state)
{
	(void)state;
	struct handler_input in = {.name = "",
	                           .events_id = "clients.nope",
	                           .task = "ftp://x",
	                           .status = "paused",
	                           .priority = "abc",
	                           .timeout = "soon",
	                           .retry_enabled = "maybe",
	                           .retry_schedule = "5x",
	                           .retry_max_attempts = "0",
	                           .secret_action = "show",
	                           .old_secret_hours = "169",
	                           .signature_scheme = "svix"};
	struct handler h;
	struct handler_errors e;
	assert_int_equal(handler_validate(&in, scripts, LOOPBACK, &h, &e), -1);
	assert_int_equal(e.count, 12);
	assert_string_equal(handler_error_for(&e, "name"), "The name is required");
	assert_non_null(strstr(handler_error_for(&e, "events_id"), "clients.subscriptions.close"));
	assert_non_null(strstr(handler_error_for(&e, "task"), "not ftp://"));
	assert_non_null(strstr(handler_error_for(&e, "status"), "enabled, disabled or archived"));
	assert_non_null(strstr(handler_error_for(&e, "priority"), "whole number from 1"));
	assert_non_null(handler_error_for(&e, "timeout"));
	assert_non_null(handler_error_for(&e, "retry_enabled"));
	assert_non_null(strstr(handler_error_for(&e, "retry_schedule"), "unit s, m, h or d"));
	assert_non_null(handler_error_for(&e, "retry_max_attempts"));
	assert_non_null(handler_error_for(&e, "secret_action"));
	assert_non_null(strstr(handler_error_for(&e, "old_secret_hours"), "from 0 to 168"));
	assert_string_equal(handler_error_for(&e, "signature_scheme"),
	                    "The signature scheme must be prov or standard");
	assert_null(handler_error_for(&e, "nothing"));
}

static void names_are_trimmed_bounded_and_clean(void **state)
{
	(void)state;
	struct handler_input in = good_input();
	struct handler h;
	struct handler_errors e;
	in.name = "  spaced out \t";
	assert_int_equal(check(&in, &h, &e), 0);
	assert_string_equal(h.name, "spaced out");
	in.name = " \t ";
	assert_int_equal(check(&in, &h, &e), 1);
	assert_string_equal(handler_error_for(&e, "name"), "The name is required");
	in.name = NULL;
	assert_int_equal(check(&in, &h, &e), 1);

	char name[HANDLER_NAME_CHARS + 2];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	in.name = name; /* 256 characters */
	assert_int_equal(check(&in, &h, &e), 1);
	assert_string_equal(handler_error_for(&e, "name"), "The name is longer than 255 characters");
	name[HANDLER_NAME_CHARS] = '\0'; /* 255 */
	assert_int_equal(check(&in, &h, &e), 0);

	static char big[10 * 1024 + 1];
	memset(big, 'x', sizeof big - 1);
	in.name = big;
	assert_int_equal(check(&in, &h, &e), 1);
	assert_string_equal(handler_error_for(&e, "name"), "The name is longer than 255 characters");

	/* 255 three-byte characters fit; the column counts characters, not bytes. */
	static char wide[3 * HANDLER_NAME_CHARS + 1];
	for (int i = 0; i < HANDLER_NAME_CHARS; i++)
		memcpy(wide + 3 * i, "\xe2\x82\xac", 3);
	in.name = wide;
	assert_int_equal(check(&in, &h, &e), 0);

	in.name = "tab\tinside";
	assert_int_equal(check(&in, &h, &e), 1);
	in.name = "bad \xc3\x28 utf8";
	assert_int_equal(check(&in, &h, &e), 1);
	assert_non_null(strstr(handler_error_for(&e, "name"), "invalid UTF-8"));
	in.name = "<b>bold</b> & \"quoted\"";
	assert_int_equal(check(&in, &h, &e), 0); /* markup is text: escaped where shown */
	assert_string_equal(h.name, "<b>bold</b> & \"quoted\"");
}

static void events_come_from_the_catalog(void **state)
{
	(void)state;
	struct handler_input in = good_input();
	struct handler h;
	struct handler_errors e;
	in.events_id = "clients.subscriptions.renew";
	assert_int_equal(check(&in, &h, &e), 0);
	assert_string_equal(h.events_id, "clients.subscriptions.renew");
	const char *bad[] = {"", "Clients.Create", "clients.create ", "before.clients.create"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		in.events_id = bad[i];
		assert_int_equal(check(&in, &h, &e), 1);
		assert_non_null(handler_error_for(&e, "events_id"));
	}
	in.events_id = NULL;
	assert_int_equal(check(&in, &h, &e), 1);
	assert_string_equal(handler_error_for(&e, "events_id"), "Choose an event");
}

static void priorities_are_whole_numbers_from_one(void **state)
{
	(void)state;
	struct handler_input in = good_input();
	struct handler h;
	struct handler_errors e;
	in.priority = " 42 ";
	assert_int_equal(check(&in, &h, &e), 0);
	assert_int_equal(h.priority, 42);
	in.priority = "1000000";
	assert_int_equal(check(&in, &h, &e), 0);
	const char *bad[] = {"0", "-1", "abc", "", "1.5", "1e3", "1000001", "99999999999999999999", "+3"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		in.priority = bad[i];
		assert_int_equal(check(&in, &h, &e), 1);
		assert_non_null(handler_error_for(&e, "priority"));
	}
}

static void urls_and_host_port_are_http_tasks(void **state)
{
	(void)state;
	struct {
		const char *task, *stored;
	} good[] = {
	    {"http://127.0.0.1:5000/api", "http://127.0.0.1:5000/api"},
	    {"HTTPS://crm.example.com/hooks?x=1", "https://crm.example.com/hooks?x=1"},
	    {"120.0.0.1:5000/api", "http://120.0.0.1:5000/api"},
	    {"localhost:8080", "http://localhost:8080"},
	    {"[::1]:9000/x", "http://[::1]:9000/x"},
	    {"http://user:pw@host.example/p", "http://user:pw@host.example/p"},
	    {"  http://trim.me/  ", "http://trim.me/"},
	};
	char out[HANDLER_TASK_MAX + 1], msg[HANDLER_MESSAGE_MAX];
	enum handler_task_type type;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(handler_check_task(good[i].task, scripts, out, &type, msg, sizeof msg), 0);
		assert_string_equal(out, good[i].stored);
		assert_int_equal(type, HANDLER_TASK_HTTP);
	}
	struct {
		const char *task, *message;
	} bad[] = {
	    {"ftp://x", "not ftp://"},
	    {"javascript://x", "not javascript://"},
	    {"http://", "no host"},
	    {"http:///path", "no host"},
	    {"http://host:0/x", "port"},
	    {"http://host:65536/x", "port"},
	    {"http://host:80a/x", "port"},
	    {"http://ho st/x", "spaces"},
	    {"http://h\xc3\xa9st/x", "non-ASCII"},
	    {"http://bad<host>/", "not allowed"},
	    {"", "required"},
	    {"   ", "required"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(handler_check_task(bad[i].task, scripts, out, &type, msg, sizeof msg), -1);
		if (strstr(msg, bad[i].message) == NULL)
			fail_msg("task '%s': message '%s' lacks '%s'", bad[i].task, msg, bad[i].message);
	}
	static char longest[HANDLER_TASK_MAX + 16];
	memcpy(longest, "http://h/", 9);
	memset(longest + 9, 'a', HANDLER_TASK_MAX);
	assert_int_equal(handler_check_task(longest, scripts, out, &type, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "longer than 2048"));
}

static void scripts_must_resolve_inside_the_scripts_directory(void **state)
{
	(void)state;
	char out[HANDLER_TASK_MAX + 1], msg[HANDLER_MESSAGE_MAX], expected[PATH_MAX + 32];
	enum handler_task_type type;
	char real[PATH_MAX];
	assert_non_null(realpath(scripts, real));

	/* relative to the scripts directory, absolute, through ./.. inside, via an inside symlink */
	const char *good[] = {"ok.sh", "./sub/../ok.sh", "alias.sh"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(handler_check_task(good[i], scripts, out, &type, msg, sizeof msg), 0);
		assert_int_equal(type, HANDLER_TASK_SCRIPT);
		snprintf(expected, sizeof expected, "%s/ok.sh", real);
		assert_string_equal(out, expected); /* stored as its realpath */
	}
	snprintf(expected, sizeof expected, "%s/sub/nested.py", scripts);
	assert_int_equal(handler_check_task(expected, scripts, out, &type, msg, sizeof msg), 0);

	struct {
		const char *task, *message;
	} bad[] = {
	    {"../../bin/sh", "must be inside the scripts directory"},
	    {"/bin/sh", "must be inside the scripts directory"},
	    {"sub/../../outside.sh", "must be inside the scripts directory"},
	    {"..", "must be inside the scripts directory"},
	    {"escape.sh", "through a symbolic link"},
	    {"missing.sh", "no such script"},
	    {"sub", "not a regular file"},
	    {"noexec.sh", "not executable"},
	    {"user/local/vcs/script.py", "no such script"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(handler_check_task(bad[i].task, scripts, out, &type, msg, sizeof msg), -1);
		if (strstr(msg, bad[i].message) == NULL)
			fail_msg("task '%s': message '%s' lacks '%s'", bad[i].task, msg, bad[i].message);
	}
	/* The absolute path of a script outside, spelled through the scripts directory. */
	snprintf(expected, sizeof expected, "%s/../outside.sh", scripts);
	assert_int_equal(handler_check_task(expected, scripts, out, &type, msg, sizeof msg), -1);
	/* A scripts directory that does not exist is a configuration problem. */
	assert_int_equal(handler_check_task("ok.sh", "/nonexistent/scripts", out, &type, msg, sizeof msg),
	                 -1);
	assert_non_null(strstr(msg, "scripts_dir"));
}

static void delivery_settings_are_checked_and_normalised(void **state)
{
	(void)state;
	struct handler_input in = good_input();
	struct handler h;
	struct handler_errors e;
	in.timeout = "2.5";
	in.retry_enabled = "off";
	in.retry_schedule = " 10s, 1m ,2h,1d ";
	in.retry_max_attempts = "4";
	in.secret_action = "generate";
	assert_int_equal(check(&in, &h, &e), 0);
	assert_int_equal(h.timeout_ms, 2500);
	assert_int_equal(h.retry_enabled, 0);
	assert_string_equal(h.retry_schedule, "10s,1m,2h,1d");
	assert_int_equal(h.retry_max_attempts, 4);
	assert_int_equal(h.secret_action, HANDLER_SECRET_GENERATE);

	in.retry_schedule = "";
	in.retry_max_attempts = "";
	in.timeout = "0.1";
	assert_int_equal(check(&in, &h, &e), 0);
	assert_string_equal(h.retry_schedule, "");
	assert_int_equal(h.retry_max_attempts, 0);
	assert_int_equal(h.timeout_ms, 100);

	const char *bad_timeouts[] = {"0", "0.05", "301", "1.2345", "abc", "", "-1", "5s", ".5"};
	for (size_t i = 0; i < sizeof bad_timeouts / sizeof bad_timeouts[0]; i++) {
		in.timeout = bad_timeouts[i];
		assert_int_equal(check(&in, &h, &e), 1);
		assert_non_null(handler_error_for(&e, "timeout"));
	}
	in.timeout = NULL;
	in.retry_schedule = "1m, 2h,";
	assert_int_equal(check(&in, &h, &e), 0);
	assert_string_equal(h.retry_schedule, "1m,2h");
	const char *bad_schedules[] = {"5", "5s;5m", "0s", "8d", "5s,,5m", "s", ",5s", "5 minutes"};
	for (size_t i = 0; i < sizeof bad_schedules / sizeof bad_schedules[0]; i++) {
		in.retry_schedule = bad_schedules[i];
		assert_int_equal(check(&in, &h, &e), 1);
		assert_non_null(handler_error_for(&e, "retry_schedule"));
	}
	char many[256] = "";
	for (int i = 0; i < RETRY_MAX_STEPS + 1; i++)
		strcat(many, i ? ",1s" : "1s");
	in.retry_schedule = many;
	assert_int_equal(check(&in, &h, &e), 1);
	assert_non_null(strstr(handler_error_for(&e, "retry_schedule"), "at most 32 steps"));
}

static void signing_scheme_and_rotation_window_are_checked(void **state)
{
	(void)state;
	struct handler_input in = good_input();
	struct handler h;
	struct handler_errors e;
	assert_int_equal(check(&in, &h, &e), 0);
	assert_int_equal(h.signature_scheme, HANDLER_SCHEME_PROV); /* the default */
	assert_int_equal(h.old_secret_hours, 0);
	in.signature_scheme = "standard";
	in.secret_action = "generate";
	in.old_secret_hours = " 168 ";
	assert_int_equal(check(&in, &h, &e), 0);
	assert_int_equal(h.signature_scheme, HANDLER_SCHEME_STANDARD);
	assert_int_equal(h.old_secret_hours, 168);
	in.old_secret_hours = "";
	assert_int_equal(check(&in, &h, &e), 0);
	assert_int_equal(h.old_secret_hours, 0);
	const char *bad_hours[] = {"-1", "169", "1.5", "a day", "24h"};
	for (size_t i = 0; i < sizeof bad_hours / sizeof bad_hours[0]; i++) {
		in.old_secret_hours = bad_hours[i];
		assert_int_equal(check(&in, &h, &e), 1);
		assert_non_null(handler_error_for(&e, "old_secret_hours"));
	}
	/* A window keeps the replaced secret: only a new one replaces it. */
	in.old_secret_hours = "24";
	in.secret_action = "keep";
	assert_int_equal(check(&in, &h, &e), 1);
	assert_non_null(
	    strstr(handler_error_for(&e, "old_secret_hours"), "only when a new one is generated"));
	in.secret_action = "remove";
	assert_int_equal(check(&in, &h, &e), 1);
	in.old_secret_hours = "0";
	assert_int_equal(check(&in, &h, &e), 0);
	in.signature_scheme = "Standard";
	assert_int_equal(check(&in, &h, &e), 1);
	assert_non_null(handler_error_for(&e, "signature_scheme"));
	enum handler_signature_scheme scheme;
	assert_int_equal(handler_scheme_parse(handler_scheme_name(HANDLER_SCHEME_STANDARD), &scheme), 0);
	assert_int_equal(scheme, HANDLER_SCHEME_STANDARD);
	assert_string_equal(handler_scheme_name(HANDLER_SCHEME_PROV), "prov");
}

static void status_type_and_sort_names_round_trip(void **state)
{
	(void)state;
	enum handler_status s;
	enum handler_task_type t;
	enum handler_sort o;
	for (int i = HANDLER_ENABLED; i <= HANDLER_ARCHIVED; i++) {
		assert_int_equal(handler_status_parse(handler_status_name(i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(handler_status_parse("Enabled", &s), -1);
	assert_int_equal(handler_status_parse(NULL, &s), -1);
	assert_int_equal(handler_task_type_parse("script", &t), 0);
	assert_int_equal(t, HANDLER_TASK_SCRIPT);
	assert_int_equal(handler_task_type_parse("HTTP", &t), -1);
	for (int i = 0; i < HANDLER_SORT__MAX; i++) {
		assert_int_equal(handler_sort_parse(handler_sort_name(i), &o), 0);
		assert_int_equal(o, i);
	}
	assert_int_equal(handler_sort_parse("name; DROP TABLE handlers", &o), -1);
}

static void filters_accept_only_known_values(void **state)
{
	(void)state;
	char buf[HANDLER_MESSAGE_MAX];
	struct handler_filter f = {
	    .events_id = "clients.balance_zero", .task_type = "script", .status = "archived"};
	assert_null(handler_filter_check(&f, buf, sizeof buf));
	f.events_id = "";
	f.task_type = NULL;
	f.status = "";
	assert_null(handler_filter_check(&f, buf, sizeof buf));
	f.events_id = "clients.x";
	assert_non_null(strstr(handler_filter_check(&f, buf, sizeof buf), "clients.create"));
	f.events_id = NULL;
	f.task_type = "ftp";
	assert_non_null(handler_filter_check(&f, buf, sizeof buf));
	f.task_type = NULL;
	f.status = "deleted";
	assert_non_null(handler_filter_check(&f, buf, sizeof buf));
}

/* Address literals in every spelling libcurl accepts are refused in the form
 * when their network is not allowed; names are left to the connect-time check. */
static void literal_destinations_follow_the_policy(void **state)
{
	(void)state;
	static const char *const refused[] = {
	    "http://127.0.0.1:5000/api", "http://2130706433/",
	    "http://0x7f000001/",        "http://0/",
	    "http://0177.0.0.1/",        "http://127.1/",
	    "http://localhost:8080/",    "http://api.localhost/",
	    "http://[::1]:8080/",        "http://[::ffff:127.0.0.1]/",
	    "http://%31%32%37.0.0.1/",   "https://user:pw@10.1.2.3/x",
	    "http://192.168.0.10/",      "http://172.31.255.255/",
	    "http://100.64.0.1/",        "http://169.254.169.254/latest/meta-data/",
	    "http://[fe80::1]/",         "http://[fd00::1]:443/",
	    "http://224.0.0.1/",         "http://255.255.255.255/",
	    "http://0.0.0.0:80/",        "10.0.0.1:8080/hook",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		struct handler_input in = good_input();
		in.task = refused[i];
		struct handler h;
		struct handler_errors e;
		if (handler_validate(&in, scripts, "", &h, &e) != -1)
			fail_msg("accepted %s", refused[i]);
		const char *message = handler_error_for(&e, "task");
		assert_non_null(message);
		assert_non_null(strstr(message, "destination policy"));
		assert_null(strchr(message, '\n'));
	}
	static const char *const accepted[] = {"http://example.com/hook", "https://8.8.8.8/",
	                                       "http://[2606:4700::1111]/", "http://1.1.1.1:8080/x"};
	for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
		struct handler_input in = good_input();
		in.task = accepted[i];
		struct handler h;
		struct handler_errors e;
		if (handler_validate(&in, scripts, "", &h, &e) != 0)
			fail_msg("refused %s: %s", accepted[i], e.list[0].message);
	}
	/* The allowlist lets its networks through, and only them. */
	struct handler_input in = good_input();
	struct handler h;
	struct handler_errors e;
	in.task = "http://2130706433:5000/";
	assert_int_equal(handler_validate(&in, scripts, LOOPBACK, &h, &e), 0);
	in.task = "http://10.1.2.3/";
	assert_int_equal(handler_validate(&in, scripts, "10.1.2.0/24", &h, &e), 0);
	assert_int_equal(handler_validate(&in, scripts, LOOPBACK, &h, &e), -1);
	/* A name is left to the connect-time check. */
	char message[HANDLER_MESSAGE_MAX];
	assert_int_equal(handler_check_destination("http://example.com/", "", message, sizeof message), 0);
}

/* What viewers see of a task: no password, token or query value. */
static void tasks_are_masked_for_viewers(void **state)
{
	(void)state;
	static const struct {
		const char *task, *masked;
	} cases[] = {
	    {"http://user:pw@crm.example/hook?token=s3cr3t", "http://user:***@crm.example/hook?token=***"},
	    {"https://TOKEN123@api.example/x", "https://***@api.example/x"},
	    {"http://h/p?a=1&b=&c&d=x%20y", "http://h/p?a=***&b=***&***&d=***"},
	    {"http://127.0.0.1:5000/api", "http://127.0.0.1:5000/api"},
	    {"http://h/p?k=v#frag", "http://h/p?k=***#***"},
	    {"http://h/p#", "http://h/p#"},
	    {"http://[::1]:80/?q=1", "http://[::1]:80/?q=***"},
	    {"/srv/scripts/notify.sh", "/srv/scripts/notify.sh"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[HANDLER_TASK_MASKED_MAX];
		handler_task_masked(cases[i].task, out, sizeof out);
		assert_string_equal(out, cases[i].masked);
	}
	char tiny[12];
	handler_task_masked("http://u:p@h/?a=b", tiny, sizeof tiny);
	assert_int_equal(strlen(tiny), sizeof tiny - 1);
	assert_null(strstr(tiny, ":p@"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults_fill_what_is_not_given),
	    cmocka_unit_test(every_bad_field_gets_its_own_message),
	    cmocka_unit_test(names_are_trimmed_bounded_and_clean),
	    cmocka_unit_test(events_come_from_the_catalog),
	    cmocka_unit_test(priorities_are_whole_numbers_from_one),
	    cmocka_unit_test(urls_and_host_port_are_http_tasks),
	    cmocka_unit_test(scripts_must_resolve_inside_the_scripts_directory),
	    cmocka_unit_test(delivery_settings_are_checked_and_normalised),
	    cmocka_unit_test(signing_scheme_and_rotation_window_are_checked),
	    cmocka_unit_test(status_type_and_sort_names_round_trip),
	    cmocka_unit_test(filters_accept_only_known_values),
	    cmocka_unit_test(literal_destinations_follow_the_policy),
	    cmocka_unit_test(tasks_are_masked_for_viewers),
	};
	return cmocka_run_group_tests_name("handlers", tests, setup, teardown);
}
