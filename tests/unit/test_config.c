/* Unit tests: config parsing, defaults, and one-line errors naming the key. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static void write_config(const char *text)
{
	snprintf(path, sizeof path, "/tmp/prov-test-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int teardown(void **state)
{
	(void)state;
	if (path[0])
		unlink(path);
	path[0] = '\0';
	return 0;
}

static const char minimal[] = "db_user = prov\n"
                              "db_name = provisioning\n"
                              "scripts_dir = /srv/scripts\n";

static void minimal_file_gets_defaults(void **state)
{
	(void)state;
	struct config cfg;
	char err[256] = "";
	write_config(minimal);
	assert_int_equal(config_load(path, &cfg, err, sizeof err), 0);
	assert_string_equal(cfg.db_user, "prov");
	assert_string_equal(cfg.db_host, "localhost");
	assert_int_equal(cfg.db_port, 3306);
	assert_string_equal(cfg.db_socket, "");
	assert_int_equal(cfg.session_ttl, 28800);
	assert_int_equal(cfg.payload_max_bytes, 1048576);
	assert_string_equal(cfg.outbound_allow, ""); /* the destination policy's default: nothing more */
	assert_string_equal(cfg.path, path);
}

static void comments_spaces_and_overrides(void **state)
{
	(void)state;
	struct config cfg;
	char err[256] = "";
	write_config("# comment\n\n  db_user=u  \r\ndb_name = n\nscripts_dir=/s\n"
	             "db_port = 3307\ndb_password = p a s s\n");
	assert_int_equal(config_load(path, &cfg, err, sizeof err), 0);
	assert_string_equal(cfg.db_user, "u");
	assert_int_equal(cfg.db_port, 3307);
	assert_string_equal(cfg.db_password, "p a s s");
}

static void expect_error(const char *text, const char *needle)
{
	struct config cfg;
	char err[256] = "";
	write_config(text);
	assert_int_equal(config_load(path, &cfg, err, sizeof err), -1);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, needle);
	assert_null(strchr(err, '\n'));
	unlink(path);
	path[0] = '\0';
}

static void bad_values_name_their_key(void **state)
{
	(void)state;
	expect_error("db_user = u\nscripts_dir=/s\n", "missing required key 'db_name'");
	expect_error("db_user = u\ndb_name=n\nscripts_dir=/s\ncolour = red\n", "unknown key 'colour'");
	expect_error("db_user = u\ndb_name=n\nscripts_dir=/s\ndb_port = 80a\n",
	             "key 'db_port' must be an integer");
	expect_error("db_user = u\ndb_name=n\nscripts_dir=/s\ndb_port = 70000\n",
	             "key 'db_port' is out of range: 70000 is not in 1-65535");
	expect_error("db_user = u\ndb_name=n\nscripts_dir=/s\nlogin_lock_seconds = 0\n",
	             "key 'login_lock_seconds' is out of range: 0 is not in 1-86400");
	expect_error("db_user = u\ndb_name=n\nscripts_dir=relative/dir\n",
	             "key 'scripts_dir' must be an absolute path");
	expect_error("db_user = u\ndb_name n\n", ":2: expected 'key = value'");
	expect_error("db_user = u\ndb_name=n\nscripts_dir=/s\noutbound_allow = 127.0.0.0/8, localhost\n",
	             "key 'outbound_allow' 'localhost' is not a network");
	char long_line[400];
	memset(long_line, 'x', sizeof long_line);
	memcpy(long_line, "db_user = ", 10);
	long_line[sizeof long_line - 2] = '\n';
	long_line[sizeof long_line - 1] = '\0';
	expect_error(long_line, "key 'db_user' is too long");
}

static void missing_file_is_one_line(void **state)
{
	(void)state;
	struct config cfg;
	char err[256] = "";
	assert_int_equal(config_load("/nonexistent/prov.conf", &cfg, err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/prov.conf"));
	assert_non_null(strstr(err, "cannot open"));
}

static void resolve_prefers_cli_then_env_then_default(void **state)
{
	(void)state;
	assert_int_equal(setenv("PROV_CONFIG", "/from/env", 1), 0);
	assert_string_equal(config_resolve_path("/from/cli"), "/from/cli");
	assert_string_equal(config_resolve_path(NULL), "/from/env");
	assert_int_equal(unsetenv("PROV_CONFIG"), 0);
	assert_string_equal(config_resolve_path(NULL), CONFIG_DEFAULT_PATH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(minimal_file_gets_defaults, teardown),
	    cmocka_unit_test_teardown(comments_spaces_and_overrides, teardown),
	    cmocka_unit_test_teardown(bad_values_name_their_key, teardown),
	    cmocka_unit_test(missing_file_is_one_line),
	    cmocka_unit_test(resolve_prefers_cli_then_env_then_default),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
