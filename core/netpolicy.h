/* netpolicy: the outbound destination policy of HTTP handlers (SPEC section 10).
 * Loopback, private, CGNAT, link-local, unique-local, multicast, unspecified
 * and other special-purpose addresses are refused unless the config's
 * outbound_allow lists their network. Delivery checks every address it is about
 * to connect to (after DNS); the handler form checks literal addresses. */
#ifndef PROV_NETPOLICY_H
#define PROV_NETPOLICY_H

#include <stddef.h>
#include <sys/socket.h>

#define NETPOLICY_NETWORKS_MAX 32
#define NETPOLICY_WHY_MAX 160 /* "<address> (<range>)" */

struct netpolicy_network {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network bytes; 4 used for AF_INET */
	unsigned prefix;        /* bits */
};

/* The networks the config allows on top of the public Internet. */
struct netpolicy {
	size_t count;
	struct netpolicy_network allow[NETPOLICY_NETWORKS_MAX];
};

/* Parse "127.0.0.0/8, ::1/128, 10.1.2.3" (a bare address is one host; "" allows
 * nothing more). out may be NULL to only check. Returns 0, or -1 with a
 * one-line reason in err. */
int netpolicy_parse(const char *text, struct netpolicy *out, char *err, size_t errlen);

/* The name of the special-purpose range the address (AF_INET or AF_INET6; an
 * IPv4-mapped IPv6 address counts as its IPv4) lies in, e.g.
 * "loopback 127.0.0.0/8", or NULL for a public address. */
const char *netpolicy_classify(const struct sockaddr *sa);

/* 0 when a connection to sa may be made; -1 with "<address> (<range>)" in why
 * (NETPOLICY_WHY_MAX is enough) when the policy refuses it. policy NULL: the
 * default (nothing allowed beyond public addresses). */
int netpolicy_check(const struct netpolicy *policy, const struct sockaddr *sa, char *why, size_t whylen);

/* 1 when sa (an IPv4-mapped IPv6 address counts as its IPv4) lies in one of
 * the policy's listed networks, whatever its range; else 0. The metrics
 * page's metrics_allow uses it for client addresses. */
int netpolicy_lists(const struct netpolicy *policy, const struct sockaddr *sa);

/* When host (as it stands in a URL: "[::1]" with brackets) is an address
 * literal in any spelling libcurl and getaddrinfo accept ("127.1",
 * "2130706433", "0x7f000001", "0177.0.0.1", "0", "[::ffff:127.0.0.1]"), or a
 * name that never leaves the machine ("localhost", "*.localhost"), fill out
 * with its address and return 1; 0 for a name DNS decides. */
int netpolicy_literal(const char *host, struct sockaddr_storage *out);

#endif
