/* delivery_internal: what delivery.c shares with its two transports,
 * delivery_http.c and delivery_script.c. Not for other modules. */
#ifndef PROV_DELIVERY_INTERNAL_H
#define PROV_DELIVERY_INTERNAL_H

#include "delivery.h"
#include "netpolicy.h"

#include <stdarg.h>

struct delivery {
	struct delivery_limits limits;
	char scripts_dir[4096];    /* limits.scripts_dir points here */
	void *curl;                /* CURL *, created on the first HTTP delivery */
	struct netpolicy outbound; /* from limits.outbound_allow (then NULL) */
};

/* A growing byte buffer with a cap: bytes past the cap are counted, not kept. */
struct delivery_buf {
	char *data;
	size_t len;
	size_t cap_size; /* allocated */
	size_t limit;
	int overflow;
};

int delivery_buf_add(struct delivery_buf *buf, const void *bytes, size_t n);
/* Hand the bytes over as a NUL-terminated string (never NULL on success). */
char *delivery_buf_take(struct delivery_buf *buf);
void delivery_buf_free(struct delivery_buf *buf);

void delivery_fail(struct delivery_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The transports: fill out (transport part only); 0 when the handler answered
 * with success (2xx / exit 0), -1 otherwise. */
int delivery_http_post(struct delivery *d, const struct delivery_request *req, struct delivery_result *out);
void delivery_http_cleanup(struct delivery *d);
int delivery_script_run(struct delivery *d, const struct delivery_request *req, struct delivery_result *out);

#endif
