/* Unit tests: the snapshot format, per-event selection, and the atomic write
 * of the dispatcher's local copy. */
#include "cache.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char snapshot[] =
    "{\"generation\":4,\"generation_uid\":\"0123456789abcdef0123456789abcdef\",\"published_at\":\"2024-05-01 "
    "10:00:00\",\"published_by\":\"admin\","
    "\"handlers_version\":7,\"handlers\":["
    "{\"id\":5,\"name\":\"a\",\"events_id\":\"clients.create\",\"task\":\"http://h/"
    "a\",\"task_type\":\"http\","
    "\"priority\":1,\"timeout_ms\":500,\"retry_enabled\":true,\"retry_max_attempts\":null,"
    "\"retry_schedule\":null,\"secret\":\"k\",\"signature_scheme\":\"standard\","
    "\"old_secret\":\"k0\",\"old_secret_until\":1700003600},"
    "{\"id\":2,\"name\":\"b\",\"events_id\":\"clients.update\",\"task\":\"s.sh\",\"task_type\":\"script\","
    "\"priority\":1,\"timeout_ms\":5000,\"retry_enabled\":false,\"retry_max_attempts\":3,"
    "\"retry_schedule\":\"5s,1m\",\"secret\":null},"
    "{\"id\":9,\"name\":\"c\",\"events_id\":\"clients.update\",\"task\":\"h:1/c\",\"task_type\":\"http\","
    "\"priority\":2,\"timeout_ms\":5000,\"retry_enabled\":true,\"retry_max_attempts\":null,"
    "\"retry_schedule\":null,\"secret\":\"\"}]}";

static void snapshot_parses_and_selects_per_event(void **state)
{
	(void)state;
	struct cache_snapshot snap;
	char err[256];
	assert_int_equal(cache_snapshot_parse(snapshot, strlen(snapshot), &snap, err, sizeof err), 0);
	assert_int_equal(snap.generation, 4);
	assert_string_equal(snap.generation_uid, "0123456789abcdef0123456789abcdef");
	assert_int_equal(snap.handlers_version, 7);
	assert_string_equal(snap.published_by, "admin");
	assert_int_equal(snap.count, 3);
	size_t first;
	assert_int_equal(cache_select(&snap, "clients.update", &first), 2);
	assert_int_equal(snap.handlers[first].id, 2);
	assert_int_equal(snap.handlers[first].kind, DELIVERY_SCRIPT);
	assert_int_equal(snap.handlers[first].retry_max_attempts, 3);
	assert_null(snap.handlers[first].secret);
	assert_int_equal(snap.handlers[first + 1].id, 9);
	assert_null(snap.handlers[first + 1].secret); /* "" means unsigned */
	assert_int_equal(cache_select(&snap, "clients.create", &first), 1);
	assert_string_equal(snap.handlers[first].secret, "k");
	assert_int_equal(snap.handlers[first].timeout_ms, 500);
	assert_int_equal(snap.handlers[first].scheme, DELIVERY_SCHEME_STANDARD);
	struct delivery_handler dh = cache_delivery_handler(&snap.handlers[first]);
	assert_string_equal(dh.old_secret, "k0");
	assert_int_equal(dh.old_secret_until, 1700003600);
	assert_int_equal(dh.scheme, DELIVERY_SCHEME_STANDARD);
	/* No scheme in the copy (written before schemes): X-Prov-Signature. */
	assert_int_equal(cache_select(&snap, "clients.update", &first), 2);
	assert_int_equal(snap.handlers[first].scheme, DELIVERY_SCHEME_PROV);
	assert_null(snap.handlers[first].old_secret);
	assert_int_equal(cache_select(&snap, "clients.delete", &first), 0);
	cache_snapshot_free(&snap);
}

static void malformed_snapshots_are_refused(void **state)
{
	(void)state;
	struct cache_snapshot snap;
	char err[256];
	assert_int_equal(cache_snapshot_parse("[]", 2, &snap, err, sizeof err), -1);
	const char *no_gen = "{\"handlers\":[]}";
	assert_int_equal(cache_snapshot_parse(no_gen, strlen(no_gen), &snap, err, sizeof err), -1);
	assert_non_null(strstr(err, "generation"));
	const char *bad = "{\"generation\":1,\"handlers\":[{\"id\":1}]}";
	assert_int_equal(cache_snapshot_parse(bad, strlen(bad), &snap, err, sizeof err), -1);
	assert_non_null(strstr(err, "malformed"));
	assert_int_equal(cache_snapshot_parse("{", 1, &snap, err, sizeof err), -1);
	const char *bad_scheme =
	    "{\"generation\":1,\"handlers\":[{\"id\":1,\"name\":\"a\",\"events_id\":"
	    "\"clients.create\",\"task\":\"http://h/\",\"task_type\":\"http\",\"priority\":1,"
	    "\"timeout_ms\":500,\"signature_scheme\":\"svix\"}]}";
	assert_int_equal(cache_snapshot_parse(bad_scheme, strlen(bad_scheme), &snap, err, sizeof err), -1);
	/* A copy written before generations had ids: no id, never current. */
	const char *old_copy = "{\"generation\":2,\"handlers\":[]}";
	assert_int_equal(cache_snapshot_parse(old_copy, strlen(old_copy), &snap, err, sizeof err), 0);
	assert_string_equal(snap.generation_uid, "");
	cache_snapshot_free(&snap);
}

static void local_copy_is_written_atomically_and_privately(void **state)
{
	(void)state;
	char dir[64] = "/tmp/prov-test-cache-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/snapshot.json", dir);
	char err[256];
	assert_int_equal(cache_write_file(path, "old", 3, err, sizeof err), 0);
	assert_int_equal(cache_write_file(path, snapshot, strlen(snapshot), err, sizeof err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600); /* it holds signing secrets */
	assert_int_equal((size_t)st.st_size, strlen(snapshot));
	DIR *d = opendir(dir);
	assert_non_null(d);
	int entries = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		entries += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(entries, 1); /* no temporary file left behind */
	char missing[160];
	snprintf(missing, sizeof missing, "%s/no-such-dir/snapshot.json", dir);
	assert_int_equal(cache_write_file(missing, "x", 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot write"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(snapshot_parses_and_selects_per_event),
	    cmocka_unit_test(malformed_snapshots_are_refused),
	    cmocka_unit_test(local_copy_is_written_atomically_and_privately),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
