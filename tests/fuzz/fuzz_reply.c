/* fuzz_reply: a handler's reply body as delivery interprets it
 * (delivery_read_reply, strict for scripts and lenient for HTTP), and the
 * UTF-8 cleaning every logged text goes through (delivery_utf8_clean): its
 * result fits the limit, is valid UTF-8 and cleans to itself. */
#include "fuzz_util.h"

#include "delivery.h"

#include <jansson.h>

static void check_reply(const char *body, size_t len, int strict)
{
	struct delivery_result r;
	memset(&r, 0, sizeof r);
	int rc = delivery_read_reply(body, len, strict, &r);
	if (rc == 0 && r.verdict == DELIVERY_REPLACE && !json_is_object(r.data)) {
		fprintf(stderr, "a replace verdict without a data object\n");
		abort();
	}
	if (strlen(r.reason) >= sizeof r.reason)
		abort();
	delivery_result_free(&r);
}

static void check_clean(const char *text, size_t len, size_t max)
{
	int cut = 0;
	char *clean = delivery_utf8_clean(text, len, max, &cut);
	if (clean == NULL)
		return;
	size_t n = strlen(clean);
	if (n > max) {
		fprintf(stderr, "delivery_utf8_clean: %zu bytes over a limit of %zu\n", n, max);
		abort();
	}
	int again_cut = 0;
	char *again = delivery_utf8_clean(clean, n, max, &again_cut);
	if (again != NULL && (strcmp(again, clean) != 0 || again_cut)) {
		fprintf(stderr, "delivery_utf8_clean: its output is not clean UTF-8\n");
		abort();
	}
	free(again);
	free(clean);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The body as a heap copy of exactly its length: reads past it show. */
	char *body = malloc(size ? size : 1);
	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	check_reply(body, size, 1);
	check_reply(body, size, 0);
	size_t max = size ? (size_t)data[0] * 4 : 0;
	check_clean(body, size, max);
	check_clean(body, size, 65536);
	free(body);
	return 0;
}
