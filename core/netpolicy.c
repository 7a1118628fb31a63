/* netpolicy: classifying destination addresses and the outbound_allow list.
 * Pure functions over socket addresses: no DNS, no traffic. */
#include "netpolicy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- the ranges */

struct range4 {
	uint32_t net;
	unsigned prefix;
	const char *name;
};

/* Special-purpose IPv4 networks (IANA registry, RFC 6890 and successors).
 * First match wins: the broadcast address comes before 240.0.0.0/4. */
static const struct range4 ranges4[] = {
    {0x00000000, 8, "unspecified 0.0.0.0/8"},
    {0x0a000000, 8, "private 10.0.0.0/8"},
    {0x64400000, 10, "CGNAT 100.64.0.0/10"},
    {0x7f000000, 8, "loopback 127.0.0.0/8"},
    {0xa9fe0000, 16, "link-local 169.254.0.0/16"},
    {0xac100000, 12, "private 172.16.0.0/12"},
    {0xc0000000, 24, "IETF protocol assignments 192.0.0.0/24"},
    {0xc0000200, 24, "documentation 192.0.2.0/24"},
    {0xc0586300, 24, "6to4 relay anycast 192.88.99.0/24"},
    {0xc0a80000, 16, "private 192.168.0.0/16"},
    {0xc6120000, 15, "benchmarking 198.18.0.0/15"},
    {0xc6336400, 24, "documentation 198.51.100.0/24"},
    {0xcb007100, 24, "documentation 203.0.113.0/24"},
    {0xe0000000, 4, "multicast 224.0.0.0/4"},
    {0xffffffff, 32, "broadcast 255.255.255.255"},
    {0xf0000000, 4, "reserved 240.0.0.0/4"},
};

/* What an IPv6 range means: refused, or an IPv4 address inside that decides. */
enum range6_kind { RANGE6_DENY, RANGE6_MAPPED, RANGE6_NAT64, RANGE6_6TO4 };

struct range6 {
	unsigned char net[16];
	unsigned prefix;
	enum range6_kind kind;
	const char *name;
};

static const struct range6 ranges6[] = {
    {{0}, 128, RANGE6_DENY, "unspecified ::"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, RANGE6_DENY, "loopback ::1"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, RANGE6_MAPPED, "IPv4-mapped ::ffff:0:0/96"},
    {{0}, 96, RANGE6_DENY, "IPv4-compatible ::/96"},
    {{0, 0x64, 0xff, 0x9b}, 96, RANGE6_NAT64, "NAT64 of a special-purpose IPv4 address 64:ff9b::/96"},
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, RANGE6_DENY, "NAT64 local-use 64:ff9b:1::/48"},
    {{0x01, 0x00}, 64, RANGE6_DENY, "discard-only 100::/64"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, RANGE6_DENY, "documentation 2001:db8::/32"},
    {{0x20, 0x01, 0x00, 0x00}, 32, RANGE6_DENY, "Teredo 2001::/32"},
    {{0x20, 0x01, 0x00, 0x00}, 23, RANGE6_DENY, "IETF protocol assignments 2001::/23"},
    {{0x20, 0x02}, 16, RANGE6_6TO4, "6to4 of a special-purpose IPv4 address 2002::/16"},
    {{0xfc}, 7, RANGE6_DENY, "unique-local fc00::/7"},
    {{0xfe, 0x80}, 10, RANGE6_DENY, "link-local fe80::/10"},
    {{0xfe, 0xc0}, 10, RANGE6_DENY, "site-local fec0::/10"},
    {{0xff}, 8, RANGE6_DENY, "multicast ff00::/8"},
};

static int prefix_match(const unsigned char *addr, const unsigned char *net, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;
	if (memcmp(addr, net, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (addr[whole] & mask) == (net[whole] & mask);
}

static uint32_t v4_number(const unsigned char *bytes)
{
	return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

static const char *classify4(const unsigned char *bytes)
{
	uint32_t a = v4_number(bytes);
	for (size_t i = 0; i < sizeof ranges4 / sizeof ranges4[0]; i++) {
		uint32_t mask = ranges4[i].prefix ? 0xffffffffu << (32 - ranges4[i].prefix) : 0;
		if ((a & mask) == ranges4[i].net)
			return ranges4[i].name;
	}
	return NULL;
}

static const char *classify6(const unsigned char *bytes)
{
	for (size_t i = 0; i < sizeof ranges6 / sizeof ranges6[0]; i++) {
		const struct range6 *r = &ranges6[i];
		if (!prefix_match(bytes, r->net, r->prefix))
			continue;
		switch (r->kind) {
		case RANGE6_DENY: return r->name;
		case RANGE6_MAPPED: return classify4(bytes + 12);
		case RANGE6_NAT64: return classify4(bytes + 12) ? r->name : NULL;
		case RANGE6_6TO4: return classify4(bytes + 2) ? r->name : NULL;
		}
	}
	return NULL;
}

/* The address bytes of sa, an IPv4-mapped IPv6 address as its IPv4. Returns
 * the family (AF_INET, AF_INET6) or 0 for anything else. */
static int address_of(const struct sockaddr *sa, unsigned char bytes[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(bytes, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	memcpy(bytes, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	if (prefix_match(bytes, ranges6[2].net, 96)) {
		memmove(bytes, bytes + 12, 4);
		return AF_INET;
	}
	return AF_INET6;
}

const char *netpolicy_classify(const struct sockaddr *sa)
{
	unsigned char bytes[16];
	int family = address_of(sa, bytes);
	if (family == AF_INET)
		return classify4(bytes);
	if (family == AF_INET6)
		return classify6(bytes);
	return "not an IP address";
}

/* ---------------------------------------------------------------- the allowlist */

static int parse_network(const char *text, struct netpolicy_network *net)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	if (len == 0 || len >= sizeof addr)
		return -1;
	memcpy(addr, text, len);
	addr[len] = '\0';
	memset(net, 0, sizeof *net);
	if (inet_pton(AF_INET, addr, net->addr) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, net->addr) == 1)
		net->family = AF_INET6;
	else
		return -1;
	unsigned max = net->family == AF_INET ? 32 : 128;
	net->prefix = max;
	if (slash != NULL) {
		char *end;
		if (!isdigit((unsigned char)slash[1]))
			return -1;
		unsigned long prefix = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || prefix > max)
			return -1;
		net->prefix = (unsigned)prefix;
	}
	/* "127.0.0.1/8" means 127.0.0.0/8: host bits are cleared. */
	for (unsigned bit = net->prefix; bit < max; bit++)
		net->addr[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
	return 0;
}

int netpolicy_parse(const char *text, struct netpolicy *out, char *err, size_t errlen)
{
	struct netpolicy scratch = {0};
	struct netpolicy *p = out ? out : &scratch;
	p->count = 0;
	const char *s = text ? text : "";
	while (*s) {
		size_t skip = strspn(s, " \t,");
		s += skip;
		size_t len = strcspn(s, " \t,");
		if (len == 0)
			break;
		char item[64];
		if (len >= sizeof item) {
			snprintf(err, errlen, "'%.24s...' is not a network such as 10.0.0.0/8 or fd00::/8",
			         s);
			return -1;
		}
		memcpy(item, s, len);
		item[len] = '\0';
		if (p->count == NETPOLICY_NETWORKS_MAX) {
			snprintf(err, errlen, "lists more than %d networks", NETPOLICY_NETWORKS_MAX);
			return -1;
		}
		if (parse_network(item, &p->allow[p->count]) != 0) {
			snprintf(err, errlen, "'%s' is not a network such as 10.0.0.0/8 or fd00::/8", item);
			return -1;
		}
		p->count++;
		s += len;
	}
	return 0;
}

static int allowed(const struct netpolicy *policy, int family, const unsigned char *bytes)
{
	for (size_t i = 0; policy != NULL && i < policy->count; i++)
		if (policy->allow[i].family == family &&
		    prefix_match(bytes, policy->allow[i].addr, policy->allow[i].prefix))
			return 1;
	return 0;
}

int netpolicy_lists(const struct netpolicy *policy, const struct sockaddr *sa)
{
	unsigned char bytes[16];
	int family = address_of(sa, bytes);
	return family != 0 && allowed(policy, family, bytes);
}

int netpolicy_check(const struct netpolicy *policy, const struct sockaddr *sa, char *why, size_t whylen)
{
	unsigned char bytes[16];
	int family = address_of(sa, bytes);
	if (family != 0 && allowed(policy, family, bytes))
		return 0;
	const char *range = netpolicy_classify(sa);
	if (range == NULL)
		return 0;
	char text[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, text,
		          sizeof text);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, text,
		          sizeof text);
	snprintf(why, whylen, "%s (%s)", text, range);
	return -1;
}

/* ---------------------------------------------------------------- literal hosts */

static int is_localhost(const char *host)
{
	size_t len = strlen(host);
	if (len > 0 && host[len - 1] == '.')
		len--; /* "localhost." */
	static const char name[] = "localhost";
	size_t n = sizeof name - 1;
	if (len < n || strncasecmp(host + len - n, name, n) != 0)
		return 0;
	return len == n || host[len - n - 1] == '.'; /* "localhost" or "*.localhost" */
}

int netpolicy_literal(const char *host, struct sockaddr_storage *out)
{
	char text[256];
	size_t len = strlen(host);
	memset(out, 0, sizeof *out);
	if (len == 0 || len >= sizeof text)
		return 0;
	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']')
			return 0;
		memcpy(text, host + 1, len - 2);
		text[len - 2] = '\0';
		text[strcspn(text, "%")] = '\0'; /* a zone id: "fe80::1%eth0" */
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
		if (inet_pton(AF_INET6, text, &v6->sin6_addr) != 1)
			return 0;
		v6->sin6_family = AF_INET6;
		return 1;
	}
	memcpy(text, host, len + 1);
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	v4->sin_family = AF_INET;
	if (is_localhost(text)) {
		v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return 1;
	}
	/* inet_aton takes what getaddrinfo and libcurl take: "127.1",
	 * "2130706433", "0x7f000001", "0177.0.0.1"; it also stops at a space,
	 * which no URL host contains. */
	if (strpbrk(text, " \t\r\n") != NULL || inet_aton(text, &v4->sin_addr) == 0) {
		memset(out, 0, sizeof *out);
		return 0;
	}
	return 1;
}
