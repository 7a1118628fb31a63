/* worker_import: the spool's journals back into the Execution Log and the
 * retry queue, each execution exactly once (logstore skips one it finds). */
#include "worker.h"

#include "config.h"
#include "journal.h"
#include "logstore.h"
#include "spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_BATCH 100 /* executions per transaction */

struct import {
	struct db *db;
	struct logstore_options opt;
	struct worker_stats *st;
	long long now_us;
	json_t *pending;  /* a begin record waiting for its end */
	const char *path; /* the file being read */
	long invalid;     /* its records refused as invalid */
	char invalid_why[160];
	struct journal_execution batch[IMPORT_BATCH];
	size_t n;
	int db_failed;
	char err[1024];
};

static int flush(struct import *im)
{
	if (im->n == 0)
		return 0;
	struct logstore_entry entries[IMPORT_BATCH];
	for (size_t i = 0; i < im->n; i++)
		entries[i] = im->batch[i].entry;
	int rc = logstore_write(im->db, &im->opt, entries, im->n, im->err, sizeof im->err);
	for (size_t i = 0; i < im->n; i++) {
		if (rc == 0 && entries[i].skipped)
			im->st->already_logged++;
		else if (rc == 0)
			im->st->imported++;
		if (rc == 0 && !entries[i].skipped && im->batch[i].end == NULL)
			im->st->interrupted++;
		journal_execution_free(&im->batch[i]);
	}
	im->n = 0;
	if (rc != 0)
		im->db_failed = 1;
	return rc;
}

/* Queue one execution (takes both references); flushes a full batch. */
static int emit(struct import *im, json_t *begin, json_t *end)
{
	struct journal_execution *x = &im->batch[im->n];
	char why[128];
	if (journal_execution_build(x, begin, end, im->now_us, why, sizeof why) != 0) {
		journal_execution_free(x);
		im->st->unreadable++;
		if (im->invalid++ == 0)
			snprintf(im->invalid_why, sizeof im->invalid_why, "%s", why);
		return 0;
	}
	im->n++;
	return im->n == IMPORT_BATCH ? flush(im) : 0;
}

static int on_record(void *ctx, const char *payload, size_t len)
{
	struct import *im = ctx;
	json_t *record = json_loadb(payload, len, 0, NULL);
	const char *kind = record ? journal_record_kind(record) : NULL;
	if (kind == NULL) {
		json_decref(record);
		im->st->unreadable++;
		return 0;
	}
	if (strcmp(kind, "begin") == 0) {
		json_t *before = im->pending;
		im->pending = record;
		return before ? emit(im, before, NULL) : 0;
	}
	if (im->pending == NULL || !journal_records_match(im->pending, record)) {
		json_decref(record); /* an outcome without its request cannot be logged */
		im->st->unreadable++;
		return 0;
	}
	json_t *begin = im->pending;
	im->pending = NULL;
	return emit(im, begin, record);
}

static void note(struct worker_stats *st, const char *fmt, const char *path, long long offset)
{
	snprintf(st->spool_note, sizeof st->spool_note, fmt, path, offset);
	fprintf(stderr, "prov-worker: %s\n", st->spool_note);
}

static enum spool_disposition import_file(void *ctx, const char *path)
{
	struct import *im = ctx;
	if (im->db_failed)
		return SPOOL_KEEP;
	im->st->files++;
	im->path = path;
	im->invalid = 0;
	struct spool_read_result res;
	char err[1024] = "";
	int rc = spool_read(path, on_record, im, &res, err, sizeof err);
	/* A begin the file ends with: the writer died during that delivery. */
	if (rc == 0 && im->pending != NULL) {
		json_t *begin = im->pending;
		im->pending = NULL;
		rc = emit(im, begin, NULL);
	}
	json_decref(im->pending);
	im->pending = NULL;
	if (rc == 0)
		rc = flush(im);
	if (rc != 0) {
		if (!im->db_failed)
			fprintf(stderr, "prov-worker: %s\n", err);
		for (size_t i = 0; i < im->n; i++)
			journal_execution_free(&im->batch[i]);
		im->n = 0;
		return SPOOL_KEEP; /* read again next time: what was logged is skipped */
	}
	if (im->invalid > 0) {
		/* Well framed but not what a dispatcher writes: a person looks at it. */
		im->st->corrupt++;
		snprintf(
		    im->st->spool_note, sizeof im->st->spool_note,
		    "spool %s: %ld invalid record%s not imported (%s), the valid ones imported; file kept "
		    "as *.corrupt",
		    path, im->invalid, im->invalid == 1 ? "" : "s", im->invalid_why);
		fprintf(stderr, "prov-worker: %s\n", im->st->spool_note);
		return SPOOL_CORRUPT;
	}
	if (res.corrupt) {
		im->st->corrupt++;
		note(im->st,
		     "spool %s: damaged record at offset %lld skipped, the records after it imported; "
		     "file kept as *.corrupt",
		     path, res.stop_offset);
		return SPOOL_CORRUPT;
	}
	if (res.torn_tail) {
		im->st->torn++;
		note(im->st,
		     "spool %s: torn last record at offset %lld (a write cut short): imported up to it", path,
		     res.stop_offset);
	}
	return SPOOL_REMOVE;
}

static void refuse_file(void *ctx, const char *path, const char *why)
{
	struct import *im = ctx;
	im->st->refused++;
	snprintf(im->st->spool_note, sizeof im->st->spool_note, "spool %s: %s, not imported (left alone)",
	         path, why);
	fprintf(stderr, "prov-worker: %s\n", im->st->spool_note);
}

int worker_import(const struct config *cfg, struct db *db, struct worker_stats *st, char *err, size_t errlen)
{
	struct import *im = calloc(1, sizeof *im);
	if (im == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	im->db = db;
	im->st = st;
	im->now_us = delivery_now_us();
	logstore_options_from_config(cfg, &im->opt);
	int rc = spool_import_each(cfg->spool_dir, import_file, refuse_file, im, err, errlen) < 0 ? -1 : 0;
	if (im->db_failed) {
		snprintf(err, errlen, "the spool could not be imported: %s", im->err);
		rc = -1;
	}
	free(im);
	return rc;
}
