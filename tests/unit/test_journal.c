/* Unit tests: journal records read back as the log rows they stand for; a
 * begin without its end is an interrupted delivery; live journals are not
 * offered to the importer, finished ones are. */
#include "journal.h"
#include "spool.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/prov-journal-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char ID1[] = "11111111-1111-4111-8111-111111111111";
static const char ID2[] = "22222222-2222-4222-8222-222222222222";
static const char BODY[] = "{\"event\":{\"id\":\"e-1\"},\"data\":{\"x\":\"\xc3\xa9\"}}";

static struct journal_begin begin_of(const char *id, enum delivery_trigger trigger, unsigned attempt)
{
	return (struct journal_begin){.trigger = trigger,
	                              .delivery_id = id,
	                              .attempt = attempt,
	                              .events_id = "clients.update",
	                              .event_uid = "e-1",
	                              .has_object_id = 1,
	                              .object_id = 12,
	                              .handler_id = 7,
	                              .handler_name = "crm",
	                              .retry_enabled = 1,
	                              .retry_schedule = NULL,
	                              .retry_max_attempts = -1,
	                              .queue_id = 0,
	                              .request = BODY,
	                              .request_len = sizeof BODY - 1,
	                              .started_us = 1700000000000000LL};
}

struct readback {
	json_t *pending;
	struct journal_execution x[4];
	size_t n;
	long long now_us;
};

static int collect(void *ctx, const char *payload, size_t len)
{
	struct readback *rb = ctx;
	char why[128];
	json_t *rec = json_loadb(payload, len, 0, NULL);
	assert_non_null(rec);
	const char *kind = journal_record_kind(rec);
	assert_non_null(kind);
	if (strcmp(kind, "begin") == 0) {
		if (rb->pending)
			assert_int_equal(journal_execution_build(&rb->x[rb->n++], rb->pending, NULL,
			                                         rb->now_us, why, sizeof why),
			                 0);
		rb->pending = rec;
		return 0;
	}
	assert_true(journal_records_match(rb->pending, rec));
	assert_int_equal(
	    journal_execution_build(&rb->x[rb->n++], rb->pending, rec, rb->now_us, why, sizeof why), 0);
	rb->pending = NULL;
	return 0;
}

static void read_back(const char *path, struct readback *rb)
{
	struct spool_read_result res;
	char err[256], why[128];
	assert_int_equal(spool_read(path, collect, rb, &res, err, sizeof err), 0);
	assert_false(res.torn_tail);
	assert_false(res.corrupt);
	if (rb->pending) {
		assert_int_equal(
		    journal_execution_build(&rb->x[rb->n++], rb->pending, NULL, rb->now_us, why, sizeof why),
		    0);
		rb->pending = NULL;
	}
}

static void records_read_back_as_log_rows(void **state)
{
	(void)state;
	struct journal j;
	journal_init(&j, dir, 16);
	assert_int_equal(journal_keep(&j), 0); /* nothing written: no file */
	struct journal_begin b1 = begin_of(ID1, DELIVERY_TRIGGER_DISPATCH, 1);
	assert_int_equal(journal_begin(&j, &b1), 0);
	char reply[] = "{\"data\":1}\xff\xfe and more than sixteen bytes";
	struct delivery_result r = {.success = 1,
	                            .http_status = 200,
	                            .started_us = b1.started_us + 5,
	                            .duration_us = 1234,
	                            .request_headers = "X-Prov-Attempt: 1\n",
	                            .response_body = reply,
	                            .response_len = sizeof reply - 1,
	                            .retry_after_s = -1};
	struct logstore_queue none = {.action = LOGSTORE_QUEUE_NONE};
	assert_int_equal(journal_end(&j, ID1, 1, &r, &none), 0);
	struct journal_begin b2 = begin_of(ID2, DELIVERY_TRIGGER_DISPATCH, 1);
	assert_int_equal(journal_begin(&j, &b2), 0); /* and then the process "died" */
	char path[sizeof j.file.path];
	snprintf(path, sizeof path, "%s", j.file.path);
	assert_int_equal(journal_keep(&j), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(strstr(path, "/journal."));

	struct readback rb = {.now_us = b2.started_us};
	read_back(path, &rb);
	assert_int_equal(rb.n, 2);
	const struct logstore_entry *e = &rb.x[0].entry;
	assert_string_equal(e->events_id, "clients.update");
	assert_string_equal(e->event_uid, "e-1");
	assert_true(e->has_object_id);
	assert_int_equal(e->object_id, 12);
	assert_int_equal(e->handler_id, 7);
	assert_string_equal(e->handler_name, "crm");
	assert_string_equal(e->delivery_id, ID1);
	assert_int_equal(e->attempt, 1);
	assert_int_equal(e->trigger, DELIVERY_TRIGGER_DISPATCH);
	assert_int_equal(e->request_len, sizeof BODY - 1);
	assert_memory_equal(e->request_body, BODY, sizeof BODY - 1);
	assert_true(e->from_spool);
	assert_true(e->result->success);
	assert_int_equal(e->result->http_status, 200);
	assert_int_equal(e->result->started_us, b1.started_us + 5);
	assert_int_equal(e->result->duration_us, 1234);
	assert_string_equal(e->result->request_headers, "X-Prov-Attempt: 1\n");
	assert_int_equal(e->result->response_len, 16); /* cut at response_max */
	assert_true(e->result->response_overflow);
	assert_int_equal(e->queue.action, LOGSTORE_QUEUE_NONE);

	const struct logstore_entry *i = &rb.x[1].entry;
	assert_string_equal(i->delivery_id, ID2);
	assert_false(i->result->success);
	assert_int_equal(i->result->started_us, b2.started_us);
	assert_string_equal(i->result->error,
	                    "interrupted: the dispatcher stopped during this delivery; the handler "
	                    "may or may not have received it");
	assert_int_equal(i->queue.action, LOGSTORE_QUEUE_ENQUEUE);
	assert_true(i->queue.delay_seconds >= 4 && i->queue.delay_seconds <= 5); /* 5 s, jitter */
	for (size_t k = 0; k < rb.n; k++)
		journal_execution_free(&rb.x[k]);
}

static void a_retry_attempt_reads_back_as_a_finish(void **state)
{
	(void)state;
	struct journal j;
	journal_init(&j, dir, 1000);
	struct journal_begin b = begin_of(ID1, DELIVERY_TRIGGER_RETRY, 3);
	b.queue_id = 99;
	assert_int_equal(journal_begin(&j, &b), 0);
	struct delivery_result r = {.http_status = 503, .started_us = b.started_us, .retry_after_s = -1};
	snprintf(r.error, sizeof r.error, "the handler answered HTTP 503 \xff");
	struct logstore_queue q = {
	    .action = LOGSTORE_QUEUE_FINISH, .outcome = RETRYQ_RESCHEDULE, .delay_seconds = 300};
	assert_int_equal(journal_end(&j, ID1, 3, &r, &q), 0);
	struct journal_begin b2 =
	    begin_of(ID2, DELIVERY_TRIGGER_RETRY, 8); /* the last attempt, interrupted */
	assert_int_equal(journal_begin(&j, &b2), 0);
	char path[sizeof j.file.path];
	snprintf(path, sizeof path, "%s", j.file.path);
	assert_int_equal(journal_keep(&j), 0);
	/* Read back 100 s after the decision: 200 s are left. */
	struct readback rb = {.now_us = delivery_now_us() + 100LL * 1000000};
	read_back(path, &rb);
	assert_int_equal(rb.n, 2);
	const struct logstore_entry *e = &rb.x[0].entry;
	assert_int_equal(e->trigger, DELIVERY_TRIGGER_RETRY);
	assert_int_equal(e->attempt, 3);
	assert_string_equal(e->result->error, "the handler answered HTTP 503 \xef\xbf\xbd"); /* U+FFFD */
	assert_int_equal(e->queue.action, LOGSTORE_QUEUE_FINISH);
	assert_int_equal(e->queue.outcome, RETRYQ_RESCHEDULE);
	assert_null(e->queue.claimed_by); /* matched by delivery id and attempt */
	assert_true(e->queue.delay_seconds >= 199 && e->queue.delay_seconds <= 200);
	const struct logstore_entry *last = &rb.x[1].entry;
	assert_true(strncmp(last->result->error, "interrupted: the retry worker stopped", 37) == 0);
	assert_int_equal(last->queue.action, LOGSTORE_QUEUE_FINISH);
	assert_int_equal(last->queue.outcome, RETRYQ_EXHAUSTED); /* 8 attempts made: the default's limit */
	for (size_t k = 0; k < rb.n; k++)
		journal_execution_free(&rb.x[k]);
}

static int offered;
static enum spool_disposition count_and_remove(void *ctx, const char *path)
{
	(void)ctx;
	(void)path;
	offered++;
	return SPOOL_REMOVE;
}

static size_t files_in_dir(void)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void live_journals_are_not_offered_finished_ones_are(void **state)
{
	(void)state;
	struct journal live, done, gone;
	journal_init(&live, dir, 100);
	journal_init(&done, dir, 100);
	journal_init(&gone, dir, 100);
	struct journal_begin b = begin_of(ID1, DELIVERY_TRIGGER_DISPATCH, 1);
	assert_int_equal(journal_begin(&live, &b), 0);
	assert_int_equal(journal_begin(&done, &b), 0);
	assert_int_equal(journal_begin(&gone, &b), 0);
	assert_int_equal(journal_keep(&done), 0);
	journal_discard(&gone); /* committed: removed at once */
	assert_int_equal(files_in_dir(), 2);
	char err[256];
	offered = 0;
	assert_int_equal(spool_import_each(dir, count_and_remove, NULL, NULL, err, sizeof err), 1);
	assert_int_equal(offered, 1);
	assert_int_equal(files_in_dir(), 1); /* the live one */
	assert_int_equal(journal_keep(&live), 0);
	assert_int_equal(spool_import_each(dir, count_and_remove, NULL, NULL, err, sizeof err), 1);
	assert_int_equal(files_in_dir(), 0);
	/* A temporary name left by a writer killed before its rename: removed once stale. */
	char tmp[128];
	snprintf(tmp, sizeof tmp, "%s/.journal-abcdef", dir);
	int fd = open(tmp, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(spool_import_each(dir, count_and_remove, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(access(tmp, F_OK), 0); /* fresh: a writer may be about to rename it */
	struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
	assert_int_equal(utimensat(AT_FDCWD, tmp, old, 0), 0);
	assert_int_equal(spool_import_each(dir, count_and_remove, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(access(tmp, F_OK), -1);
}

/* Records read back through the spool reader: how many. */
static size_t records_seen;
static int count_record(void *ctx, const char *payload, size_t len)
{
	(void)ctx;
	(void)payload;
	(void)len;
	records_seen++;
	return 0;
}

static void a_reused_journal_is_emptied_between_runs_and_removed_at_the_end(void **state)
{
	(void)state;
	struct spool_journal spare = {.fd = -1};
	struct journal run;
	journal_init(&run, dir, 100);
	journal_reuse(&run, &spare);
	struct journal_begin b = begin_of(ID1, DELIVERY_TRIGGER_DISPATCH, 1);
	assert_int_equal(journal_begin(&run, &b), 0);
	char path[sizeof spare.path];
	snprintf(path, sizeof path, "%s", run.file.path);
	journal_discard(&run); /* committed: emptied into the spare, not removed */
	assert_true(spare.fd >= 0);
	assert_string_equal(spare.path, path);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	char err[256];
	offered = 0;
	assert_int_equal(spool_import_each(dir, count_and_remove, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(offered, 0); /* still locked by its owner */

	journal_init(&run, dir, 100); /* the next run takes the same file */
	journal_reuse(&run, &spare);
	b = begin_of(ID2, DELIVERY_TRIGGER_DISPATCH, 1);
	assert_int_equal(journal_begin(&run, &b), 0);
	assert_int_equal(spare.fd, -1);
	assert_string_equal(run.file.path, path);
	assert_int_equal(journal_keep(&run), 0); /* not committed: kept for the importer, this run only */
	struct spool_read_result res;
	records_seen = 0;
	assert_int_equal(spool_read(path, count_record, NULL, &res, err, sizeof err), 0);
	assert_int_equal(records_seen, 1);
	assert_int_equal(files_in_dir(), 1);

	journal_init(&run, dir, 100); /* the spare is gone with the kept file: a new one */
	journal_reuse(&run, &spare);
	assert_int_equal(journal_begin(&run, &b), 0);
	assert_string_not_equal(run.file.path, path);
	journal_discard(&run);
	assert_int_equal(files_in_dir(), 2);
	spool_journal_discard(&spare); /* the owner's end */
	assert_int_equal(spare.fd, -1);
	assert_int_equal(files_in_dir(), 1);
}

/* The begin record of one delivery as the dispatcher writes it. */
static json_t *written_begin(void)
{
	struct journal j;
	journal_init(&j, dir, 100);
	struct journal_begin b = begin_of(ID1, DELIVERY_TRIGGER_DISPATCH, 1);
	assert_int_equal(journal_begin(&j, &b), 0);
	assert_int_equal(journal_keep(&j), 0);
	json_t *got = NULL;
	struct readback rb = {.now_us = 1};
	read_back(j.file.path, &rb);
	assert_int_equal(rb.n, 1);
	got = json_deep_copy(rb.x[0].begin);
	journal_execution_free(&rb.x[0]);
	unlink(j.file.path);
	return got;
}

/* Anything in spool_dir is read back: a record the dispatcher would have
 * refused as input (SPEC: object_id >= 0, a handler, an event of the catalog)
 * is refused here too, with the reason. */
static void an_imported_record_is_checked_like_fresh_input(void **state)
{
	(void)state;
	static const struct {
		const char *key;
		const char *json; /* NULL: removed */
		const char *reason;
	} cases[] = {
	    {"object_id", "-1", "object_id"},
	    {"object_id", "\"12\"", "object_id"},
	    {"handler_name", NULL, "handler_name"},
	    {"handler_name", "\"\"", "handler_name"},
	    {"handler_id", "0", "handler_id"},
	    {"events_id", "\"no.such_event\"", "events_id"},
	    {"event_uid", "\"a b\"", "event_uid"},
	    {"event_uid", "\"\"", "event_uid"},
	    {"delivery_id", "\"11111111-1111-4111-8111-11111111111Z\"", "delivery_id"},
	    {"attempt", "0", "attempt"},
	    {"attempt", "100000", "attempt"},
	    {"trigger", "\"cron\"", "trigger"},
	    {"request", NULL, "request"},
	};
	json_t *good = written_begin();
	struct journal_execution x;
	char why[128] = "";
	assert_int_equal(journal_execution_build(&x, json_deep_copy(good), NULL, 1, why, sizeof why), 0);
	journal_execution_free(&x);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *bad = json_deep_copy(good);
		if (cases[i].json == NULL)
			json_object_del(bad, cases[i].key);
		else
			json_object_set_new(bad, cases[i].key,
			                    json_loads(cases[i].json, JSON_DECODE_ANY, NULL));
		why[0] = '\0';
		assert_int_equal(journal_execution_build(&x, bad, NULL, 1, why, sizeof why), -1);
		journal_execution_free(&x);
		if (strstr(why, cases[i].reason) == NULL)
			fail_msg("case %zu (%s): reason \"%s\"", i, cases[i].key, why);
	}
	json_decref(good);
}

static char refused_path[256];
static int refused_count;
static void note_refused(void *ctx, const char *path, const char *why)
{
	(void)ctx;
	(void)why;
	refused_count++;
	snprintf(refused_path, sizeof refused_path, "%s", path);
}

/* A journal.* name that is a symbolic link is never followed: not read, not
 * renamed, not removed; the importer is told about it. */
static void a_journal_symlink_is_reported_and_left_alone(void **state)
{
	(void)state;
	char outside[128], target[4096], link[256], err[256];
	snprintf(outside, sizeof outside, "%s-outside", dir);
	assert_int_equal(mkdir(outside, 0700), 0);
	struct journal j;
	journal_init(&j, outside, 100);
	struct journal_begin b = begin_of(ID1, DELIVERY_TRIGGER_DISPATCH, 1);
	assert_int_equal(journal_begin(&j, &b), 0);
	assert_int_equal(journal_keep(&j), 0);
	snprintf(target, sizeof target, "%s", j.file.path);
	snprintf(link, sizeof link, "%s/journal.link", dir);
	assert_int_equal(symlink(target, link), 0);
	offered = 0;
	refused_count = 0;
	assert_int_equal(spool_import_each(dir, count_and_remove, note_refused, NULL, err, sizeof err), 0);
	assert_int_equal(offered, 0);
	assert_int_equal(refused_count, 1);
	assert_string_equal(refused_path, link);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(target, &st), 0); /* what it points to is untouched */
	assert_true(st.st_size > 0);
	/* Read directly, the link is refused too. */
	struct spool_read_result res;
	records_seen = 0;
	assert_int_equal(spool_read(link, count_record, NULL, &res, err, sizeof err), -1);
	assert_int_equal(records_seen, 0);
	assert_non_null(strstr(err, "symbolic link"));
	unlink(target);
	rmdir(outside);
}

static void an_unwritable_spool_is_reported(void **state)
{
	(void)state;
	struct journal j;
	journal_init(&j, "/nonexistent/spool", 100);
	struct journal_begin b = begin_of(ID1, DELIVERY_TRIGGER_DISPATCH, 1);
	assert_int_equal(journal_begin(&j, &b), -1);
	assert_true(j.failed);
	assert_non_null(strstr(j.error, "/nonexistent/spool"));
	assert_int_equal(journal_keep(&j), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(records_read_back_as_log_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_retry_attempt_reads_back_as_a_finish, setup, teardown),
	    cmocka_unit_test_setup_teardown(live_journals_are_not_offered_finished_ones_are, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_reused_journal_is_emptied_between_runs_and_removed_at_the_end,
	                                    setup, teardown),
	    cmocka_unit_test(an_unwritable_spool_is_reported),
	    cmocka_unit_test_setup_teardown(an_imported_record_is_checked_like_fresh_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_journal_symlink_is_reported_and_left_alone, setup, teardown),
	};
	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
