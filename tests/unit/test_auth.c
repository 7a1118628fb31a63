/* Unit tests: password hashing, tokens, digests, user name rules. */
#include "auth.h"
#include "users.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <crypt.h>
#include <string.h>

static void password_hash_verifies_and_is_salted(void **state)
{
	(void)state;
	char a[CRYPT_OUTPUT_SIZE], b[CRYPT_OUTPUT_SIZE];
	assert_int_equal(auth_password_hash("correct horse", a, sizeof a), 0);
	assert_int_equal(auth_password_hash("correct horse", b, sizeof b), 0);
	assert_memory_equal(a, "$y$", 3); /* yescrypt */
	assert_string_not_equal(a, b);
	assert_true(auth_password_verify("correct horse", a));
	assert_true(auth_password_verify("correct horse", b));
	assert_false(auth_password_verify("correct horsE", a));
	assert_false(auth_password_verify("", a));
	assert_false(auth_password_verify("correct horse", "plaintext"));
	assert_false(auth_password_verify("correct horse", ""));
	assert_false(auth_password_verify("correct horse", NULL));
	char tiny[8];
	assert_int_equal(auth_password_hash("x", tiny, sizeof tiny), -1);
}

static void random_tokens_are_hex_and_distinct(void **state)
{
	(void)state;
	char a[AUTH_HEX_LEN + 1], b[AUTH_HEX_LEN + 1];
	assert_int_equal(auth_random_hex(a, sizeof a, AUTH_TOKEN_BYTES), 0);
	assert_int_equal(auth_random_hex(b, sizeof b, AUTH_TOKEN_BYTES), 0);
	assert_int_equal(strlen(a), AUTH_HEX_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), AUTH_HEX_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(auth_random_hex(a, 10, AUTH_TOKEN_BYTES), -1);
}

static void sha256_matches_the_standard_vector(void **state)
{
	(void)state;
	char out[AUTH_HEX_LEN + 1];
	auth_sha256_hex("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void equal_compares_whole_strings(void **state)
{
	(void)state;
	assert_true(auth_equal("abc", "abc"));
	assert_false(auth_equal("abc", "abd"));
	assert_false(auth_equal("abc", "abcd"));
	assert_false(auth_equal("", "a"));
}

static void user_names_passwords_and_roles(void **state)
{
	(void)state;
	assert_null(users_check_name("admin"));
	assert_null(users_check_name("ops.team-1@example"));
	assert_non_null(users_check_name(""));
	assert_non_null(users_check_name("bad name"));
	assert_non_null(users_check_name("<script>"));
	char long_name[80];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	assert_non_null(users_check_name(long_name));
	assert_non_null(users_check_password("short"));
	assert_null(users_check_password("long enough"));
	enum user_role role;
	assert_int_equal(users_role_parse("admin", &role), 0);
	assert_int_equal(role, ROLE_ADMIN);
	assert_int_equal(users_role_parse("viewer", &role), 0);
	assert_int_equal(role, ROLE_VIEWER);
	assert_int_equal(users_role_parse("root", &role), -1);
	assert_string_equal(users_role_name(ROLE_ADMIN), "admin");
}

/* Failed logins count per IPv4 address and per IPv6 /64 (one host's usual share). */
static void login_address_keys(void **state)
{
	(void)state;
	char key[64];
	login_address_key("192.0.2.7", key, sizeof key);
	assert_string_equal(key, "192.0.2.7");
	login_address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", key, sizeof key);
	assert_string_equal(key, "2001:db8:1:2::/64");
	login_address_key("2001:db8:1:2::1", key, sizeof key);
	assert_string_equal(key, "2001:db8:1:2::/64");
	login_address_key("::ffff:192.0.2.9", key, sizeof key);
	assert_string_equal(key, "192.0.2.9");
	login_address_key("not an address", key, sizeof key);
	assert_string_equal(key, "");
	login_address_key(NULL, key, sizeof key);
	assert_string_equal(key, "");
}

static void lock_durations_read_as_people_say_them(void **state)
{
	(void)state;
	char out[64];
	static const struct {
		long seconds;
		const char *text;
	} cases[] = {{900, "15 minutes"}, {60, "1 minute"},      {3600, "1 hour"},    {7200, "2 hours"},
	             {90, "90 seconds"},  {1, "1 second"},       {86400, "24 hours"}, {5400, "90 minutes"},
	             {59, "59 seconds"},  {3601, "3601 seconds"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		login_lock_duration(cases[i].seconds, out, sizeof out);
		assert_string_equal(out, cases[i].text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(login_address_keys),
	    cmocka_unit_test(lock_durations_read_as_people_say_them),
	    cmocka_unit_test(password_hash_verifies_and_is_salted),
	    cmocka_unit_test(random_tokens_are_hex_and_distinct),
	    cmocka_unit_test(sha256_matches_the_standard_vector),
	    cmocka_unit_test(equal_compares_whole_strings),
	    cmocka_unit_test(user_names_passwords_and_roles),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
