/* fuzz_spool: a spool or journal file as the worker's importer reads it
 * (core/worker_import.c): spool_read over the file, each record parsed as
 * JSON, begin and end records paired (journal_record_kind,
 * journal_records_match) and rebuilt into executions
 * (journal_execution_build), as the log would receive them. An input that
 * starts "S1 " is the file as it is; any other is one record payload per
 * line, framed here with the right length and CRC so that mutations of the
 * records reach the importer rather than the CRC check. */
#include "fuzz_util.h"

#include "journal.h"
#include "spool.h"

#include <jansson.h>
#include <zlib.h>

#define NOW_US 1714564800000000LL /* 2024-05-01T12:00:00Z */

struct import {
	json_t *pending; /* a begin waiting for its end */
	size_t records;
};

static void emit(json_t *begin, json_t *end)
{
	struct journal_execution x;
	char why[256] = "";
	memset(&x, 0, sizeof x);
	if (journal_execution_build(&x, begin, end, NOW_US, why, sizeof why) != 0)
		fuzz_require_utf8("an import's reason for a record it refuses", why);
	journal_execution_free(&x);
}

static int on_record(void *ctx, const char *payload, size_t len)
{
	struct import *im = ctx;
	im->records++;
	json_t *record = json_loadb(payload, len, 0, NULL);
	const char *kind = record ? journal_record_kind(record) : NULL;
	if (kind == NULL) {
		json_decref(record);
		return 0;
	}
	if (strcmp(kind, "begin") == 0) {
		json_t *before = im->pending;
		im->pending = record;
		if (before != NULL)
			emit(before, NULL);
		return 0;
	}
	if (im->pending == NULL || !journal_records_match(im->pending, record)) {
		json_decref(record);
		return 0;
	}
	json_t *begin = im->pending;
	im->pending = NULL;
	emit(begin, record);
	return 0;
}

/* Each line of data as a record: "S1 <len> <crc32>\n<payload>\n" (spool.c). */
static uint8_t *frame_lines(const uint8_t *data, size_t size, size_t *outlen)
{
	uint8_t *out = malloc(size * 2 + 64 * (size + 1));
	if (out == NULL)
		abort();
	size_t o = 0, i = 0;
	while (i <= size) {
		const uint8_t *line = data + i;
		const uint8_t *nl = memchr(line, '\n', size - i);
		size_t len = nl ? (size_t)(nl - line) : size - i;
		unsigned long crc = crc32(0L, line, (uInt)len);
		o += (size_t)sprintf((char *)out + o, "S1 %zu %08lx\n", len, crc);
		memcpy(out + o, line, len);
		o += len;
		out[o++] = '\n';
		i += len + 1;
	}
	*outlen = o;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[1024];
	uint8_t *framed = NULL;
	if (size < 3 || memcmp(data, "S1 ", 3) != 0) {
		data = framed = frame_lines(data, size, &size);
	}
	int written = fuzz_regular_file(data, size, path, sizeof path);
	free(framed);
	if (written != 0)
		return 0;
	struct import im = {NULL, 0};
	struct spool_read_result res;
	memset(&res, 0, sizeof res);
	int rc = spool_read(path, on_record, &im, &res, err, sizeof err);
	if (rc < 0) { /* a regular file that cannot be read: the harness tests nothing */
		fprintf(stderr, "spool_read refused the input file: %s\n", err);
		abort();
	}
	if (rc == 0 && im.pending != NULL) {
		emit(im.pending, NULL);
		im.pending = NULL;
	}
	json_decref(im.pending);
	if (rc == 0 &&
	    (res.records != im.records || res.stop_offset < -1 || res.stop_offset > (long long)size)) {
		fprintf(stderr, "spool_read: %zu records delivered, %zu counted; stop at %lld of %zu\n",
		        im.records, res.records, res.stop_offset, size);
		abort();
	}
	return 0;
}
