/* Unit tests: the destination policy's address classifier, the outbound_allow
 * list and address literals. Pure functions: no DNS, no traffic. */
#include "netpolicy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* A socket address from text ("1.2.3.4" or "::1"). */
static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1)
		v4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1)
		v6->sin6_family = AF_INET6;
	else
		fail_msg("not an address: %s", text);
	return ss;
}

static const char *classify(const char *text)
{
	struct sockaddr_storage ss = addr(text);
	return netpolicy_classify((const struct sockaddr *)&ss);
}

struct expect {
	const char *address;
	const char *range; /* a word of the range's name, NULL: public */
};

static void check_all(const struct expect *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = classify(list[i].address);
		if (list[i].range == NULL && got != NULL)
			fail_msg("%s: expected public, got %s", list[i].address, got);
		if (list[i].range != NULL && (got == NULL || strstr(got, list[i].range) == NULL))
			fail_msg("%s: expected %s, got %s", list[i].address, list[i].range,
			         got ? got : "public");
	}
}

static void ipv4_special_ranges_are_named(void **state)
{
	(void)state;
	static const struct expect list[] = {
	    {"127.0.0.1", "loopback"},
	    {"127.255.255.254", "loopback"},
	    {"0.0.0.0", "unspecified"},
	    {"0.1.2.3", "unspecified"},
	    {"10.0.0.0", "private"},
	    {"10.255.255.255", "private"},
	    {"172.16.0.1", "private"},
	    {"172.31.255.255", "private"},
	    {"192.168.1.1", "private"},
	    {"100.64.0.1", "CGNAT"},
	    {"100.127.255.255", "CGNAT"},
	    {"169.254.169.254", "link-local"},
	    {"224.0.0.1", "multicast"},
	    {"239.255.255.250", "multicast"},
	    {"255.255.255.255", "broadcast"},
	    {"240.0.0.1", "reserved"},
	    {"192.0.0.8", "IETF"},
	    {"192.0.2.1", "documentation"},
	    {"198.51.100.7", "documentation"},
	    {"203.0.113.9", "documentation"},
	    {"198.18.0.1", "benchmarking"},
	    {"198.19.255.255", "benchmarking"},
	    {"192.88.99.1", "6to4"},
	    /* the neighbours just outside are public */
	    {"11.0.0.1", NULL},
	    {"172.15.255.255", NULL},
	    {"172.32.0.0", NULL},
	    {"192.167.255.255", NULL},
	    {"192.169.0.0", NULL},
	    {"100.63.255.255", NULL},
	    {"100.128.0.0", NULL},
	    {"169.253.255.255", NULL},
	    {"126.255.255.255", NULL},
	    {"128.0.0.0", NULL},
	    {"223.255.255.255", NULL},
	    {"8.8.8.8", NULL},
	    {"1.1.1.1", NULL},
	    {"198.20.0.0", NULL},
	    {"192.0.1.1", NULL},
	};
	check_all(list, sizeof list / sizeof list[0]);
}

static void ipv6_special_ranges_are_named(void **state)
{
	(void)state;
	static const struct expect list[] = {
	    {"::1", "loopback"},
	    {"::", "unspecified"},
	    {"::ffff:127.0.0.1", "loopback"}, /* IPv4-mapped: as its IPv4 */
	    {"::ffff:10.1.2.3", "private"},
	    {"::ffff:169.254.169.254", "link-local"},
	    {"::ffff:8.8.8.8", NULL},
	    {"::127.0.0.1", "IPv4-compatible"},
	    {"fc00::1", "unique-local"},
	    {"fd12:3456::1", "unique-local"},
	    {"fe80::1", "link-local"},
	    {"febf:ffff::1", "link-local"},
	    {"fec0::1", "site-local"},
	    {"ff02::1", "multicast"},
	    {"ff05::1:3", "multicast"},
	    {"64:ff9b::7f00:1", "NAT64"}, /* NAT64 of 127.0.0.1 */
	    {"64:ff9b::a9fe:a9fe", "NAT64"},
	    {"64:ff9b::808:808", NULL}, /* NAT64 of 8.8.8.8 */
	    {"64:ff9b:1::1", "NAT64 local-use"},
	    {"2002:7f00:1::1", "6to4"}, /* 6to4 of 127.0.0.1 */
	    {"2002:c0a8:101::1", "6to4"},
	    {"2002:808:808::1", NULL},
	    {"2001:db8::1", "documentation"},
	    {"2001:0:4136:e378::1", "Teredo"},
	    {"100::1", "discard"},
	    {"2606:4700:4700::1111", NULL},
	    {"2a00:1450:4001::200e", NULL},
	    {"fbff:ffff::1", NULL},
	};
	check_all(list, sizeof list / sizeof list[0]);
}

static int check(const char *allow, const char *address, char *why, size_t whylen)
{
	struct netpolicy policy;
	char err[128];
	assert_int_equal(netpolicy_parse(allow, &policy, err, sizeof err), 0);
	struct sockaddr_storage ss = addr(address);
	return netpolicy_check(&policy, (const struct sockaddr *)&ss, why, whylen);
}

static void the_allowlist_opens_its_networks_only(void **state)
{
	(void)state;
	char why[NETPOLICY_WHY_MAX];
	assert_int_equal(check("", "127.0.0.1", why, sizeof why), -1);
	assert_string_equal(why, "127.0.0.1 (loopback 127.0.0.0/8)");
	assert_int_equal(check("", "8.8.8.8", why, sizeof why), 0);
	assert_int_equal(check("127.0.0.0/8, ::1/128", "127.0.0.1", why, sizeof why), 0);
	assert_int_equal(check("127.0.0.0/8, ::1/128", "127.9.9.9", why, sizeof why), 0);
	assert_int_equal(check("127.0.0.0/8, ::1/128", "::1", why, sizeof why), 0);
	assert_int_equal(check("127.0.0.0/8, ::1/128", "::ffff:127.0.0.1", why, sizeof why), 0);
	assert_int_equal(check("127.0.0.0/8, ::1/128", "10.0.0.1", why, sizeof why), -1);
	assert_int_equal(check("127.0.0.0/8, ::1/128", "fe80::1", why, sizeof why), -1);
	assert_string_equal(why, "fe80::1 (link-local fe80::/10)");
	assert_int_equal(check("10.1.2.0/24", "10.1.2.200", why, sizeof why), 0);
	assert_int_equal(check("10.1.2.0/24", "10.1.3.1", why, sizeof why), -1);
	assert_int_equal(check("10.1.2.3", "10.1.2.3", why, sizeof why), 0); /* one host */
	assert_int_equal(check("10.1.2.3", "10.1.2.4", why, sizeof why), -1);
	assert_int_equal(check("172.16.0.0/12", "172.20.1.1", why, sizeof why), 0);
	assert_int_equal(check("fd00::/8", "fd00::5", why, sizeof why), 0);
	assert_int_equal(check("fd00::/8", "fc00::5", why, sizeof why), -1);
	assert_int_equal(check("127.0.0.1/8", "127.0.0.2", why, sizeof why), 0); /* host bits cleared */
	assert_int_equal(check("0.0.0.0/0", "169.254.169.254", why, sizeof why), 0);
	/* The default policy (NULL) is the empty list. */
	struct sockaddr_storage ss = addr("::1");
	assert_int_equal(netpolicy_check(NULL, (const struct sockaddr *)&ss, why, sizeof why), -1);
	assert_string_equal(why, "::1 (loopback ::1)");
	/* Not an IP address at all: refused. */
	struct sockaddr_storage unix_addr = {.ss_family = AF_UNIX};
	assert_int_equal(netpolicy_check(NULL, (const struct sockaddr *)&unix_addr, why, sizeof why), -1);
}

static void bad_allowlists_are_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {"127.0.0.0/33", "::1/129",    "localhost",
	                                  "10.0.0.0/",    "10.0.0.0/x", "10.0.0/8",
	                                  "2130706433",   "0x7f000001", "127.1"};
	char err[128];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (netpolicy_parse(bad[i], NULL, err, sizeof err) != -1)
			fail_msg("accepted %s", bad[i]);
	assert_non_null(strstr(err, "not a network"));
	char many[2048] = "";
	for (int i = 0; i <= NETPOLICY_NETWORKS_MAX; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.%d.0/24,", i);
	assert_int_equal(netpolicy_parse(many, NULL, err, sizeof err), -1);
	assert_int_equal(netpolicy_parse(NULL, NULL, err, sizeof err), 0);
	assert_int_equal(netpolicy_parse(" 127.0.0.0/8 ,::1/128, ", NULL, err, sizeof err), 0);
}

static void literals_in_every_spelling_are_addresses(void **state)
{
	(void)state;
	static const struct {
		const char *host, *address;
	} literals[] = {
	    {"127.0.0.1", "127.0.0.1"},
	    {"2130706433", "127.0.0.1"},
	    {"0x7f000001", "127.0.0.1"},
	    {"0", "0.0.0.0"},
	    {"0177.0.0.1", "127.0.0.1"},
	    {"127.1", "127.0.0.1"},
	    {"0x7f.1", "127.0.0.1"},
	    {"localhost", "127.0.0.1"},
	    {"LocalHost.", "127.0.0.1"},
	    {"a.b.localhost", "127.0.0.1"},
	    {"[::1]", "::1"},
	    {"[fe80::1%eth0]", "fe80::1"},
	    {"[::ffff:127.0.0.1]", "::ffff:127.0.0.1"},
	};
	for (size_t i = 0; i < sizeof literals / sizeof literals[0]; i++) {
		struct sockaddr_storage ss;
		if (netpolicy_literal(literals[i].host, &ss) != 1)
			fail_msg("%s is a literal", literals[i].host);
		char text[INET6_ADDRSTRLEN];
		const void *bytes = ss.ss_family == AF_INET
		                        ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
		                        : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
		assert_non_null(inet_ntop(ss.ss_family, bytes, text, sizeof text));
		assert_string_equal(text, literals[i].address);
	}
	static const char *const names[] = {
	    "example.com", "localhost.example.com", "mylocalhost", "1.2.3.4.5", "[nope]", "", "127.0.0.1 x"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct sockaddr_storage ss;
		if (netpolicy_literal(names[i], &ss) != 0)
			fail_msg("%s is a name", names[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ipv4_special_ranges_are_named),
	    cmocka_unit_test(ipv6_special_ranges_are_named),
	    cmocka_unit_test(the_allowlist_opens_its_networks_only),
	    cmocka_unit_test(bad_allowlists_are_refused),
	    cmocka_unit_test(literals_in_every_spelling_are_addresses),
	};
	return cmocka_run_group_tests_name("netpolicy", tests, NULL, NULL);
}
