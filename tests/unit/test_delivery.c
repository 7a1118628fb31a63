/* Unit tests: delivery ids, signatures, URLs, UTF-8 cleaning, reply reading,
 * and script handlers run for real (exit codes, timeout, no zombie or orphan,
 * no descriptor leaked, paths outside the scripts folder refused). */
#include "delivery.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/prov-test-scripts-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_script(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
}

static int run_script(const char *task, long timeout_ms, struct delivery_result *out)
{
	struct delivery_limits limits = {.response_read_max = 4096, .scripts_dir = dir};
	char err[128];
	struct delivery *d = delivery_new(&limits, err, sizeof err);
	assert_non_null(d);
	struct delivery_handler h = {
	    .id = 7, .name = "t", .kind = DELIVERY_SCRIPT, .task = task, .timeout_ms = timeout_ms};
	const char body[] = "{\"event\":{\"id\":\"e1\"},\"data\":{\"a\":1}}";
	struct delivery_request req = {.handler = &h,
	                               .events_id = "clients.update",
	                               .event_uid = "e1",
	                               .delivery_id = "00000000-0000-4000-8000-000000000000",
	                               .attempt = 1,
	                               .body = body,
	                               .body_len = strlen(body)};
	int rc = delivery_run(d, &req, out);
	delivery_free(d);
	return rc;
}

static void ids_are_uuid_v4(void **state)
{
	(void)state;
	char a[DELIVERY_ID_LEN + 1], b[DELIVERY_ID_LEN + 1];
	assert_int_equal(delivery_new_id(a), 0);
	assert_int_equal(delivery_new_id(b), 0);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');
	assert_true(strchr("89ab", a[19]) != NULL);
	assert_string_not_equal(a, b);
}

static void signature_matches_known_hmac(void **state)
{
	(void)state;
	char sig[DELIVERY_SIGNATURE_MAX];
	/* printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret */
	const char *secrets[] = {"secret"};
	assert_int_equal(delivery_sign(secrets, 1, 1700000000, "{\"a\":1}", 7, sig), 0);
	assert_string_equal(
	    sig, "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686");
}

/* The vectors below were made with the receivers' official libraries (npm):
 * stripe 22.6.2 webhooks.generateTestHeaderString and standardwebhooks 1.1.1
 * Webhook.sign; the first Standard Webhooks one is the specification's own. */
#define VECTOR_BODY "{\"test\": 2432232314}"
#define VECTOR_MSG_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"

static void prov_signature_carries_one_v1_per_secret(void **state)
{
	(void)state;
	char sig[DELIVERY_SIGNATURE_MAX];
	const char *both[] = {"whsec_test", "whsec_old"};
	assert_int_equal(delivery_sign(both, 2, 1700000000, VECTOR_BODY, strlen(VECTOR_BODY), sig), 0);
	assert_string_equal(sig,
	                    "t=1700000000,v1=39665baf8ba1f2dbedffd9904ebd1acbafc7f35cc9774b41d39e73f80acddd1f"
	                    ",v1=da22e323054a9d2aaec6084e0cd92411a5be7e7c9f1765cbc77f51c8d9b13668");
	assert_int_equal(delivery_sign(both, 0, 1700000000, "", 0, sig), -1);
}

static void standard_signature_matches_the_libraries(void **state)
{
	(void)state;
	char sig[DELIVERY_SIGNATURE_MAX];
	const char *spec[] = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
	assert_int_equal(
	    delivery_sign_standard(spec, 1, VECTOR_MSG_ID, 1614265330, VECTOR_BODY, strlen(VECTOR_BODY), sig),
	    0);
	assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* A padded secret, then a hex one (secrets made before base64: its
	 * digits are base64 characters too), space separated in that order. */
	const char *two[] = {"whsec_c2lnbmluZyBrZXkgb2YgdGhpcnR5LXR3byBieXRlcyE=",
	                     "whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
	assert_int_equal(
	    delivery_sign_standard(two, 2, VECTOR_MSG_ID, 1614265330, VECTOR_BODY, strlen(VECTOR_BODY), sig),
	    0);
	assert_string_equal(sig, "v1,14on/yuXNavXZib/chMK5rfbhixXYmuNhOEktZ/bF/w= "
	                         "v1,D8JwEp/VvbhOcQkhJwbR/fciEufqBTQYSpXI+cMs+Vk=");
}

static void standard_keys_are_whsec_base64(void **state)
{
	(void)state;
	unsigned char key[128];
	assert_int_equal(
	    delivery_standard_key("whsec_c2lnbmluZyBrZXkgb2YgdGhpcnR5LXR3byBieXRlcyE=", key, sizeof key), 32);
	assert_memory_equal(key, "signing key of thirty-two bytes!", 32);
	/* Padding may be left out. */
	assert_int_equal(
	    delivery_standard_key("whsec_c2lnbmluZyBrZXkgb2YgdGhpcnR5LXR3byBieXRlcyE", key, sizeof key), 32);
	assert_memory_equal(key, "signing key of thirty-two bytes!", 32);
	assert_int_equal(delivery_standard_key("whsec_YWJj", key, sizeof key), 3);
	assert_memory_equal(key, "abc", 3);
	static const char *const bad[] = {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	                                  "whsec_",
	                                  "whsec_a",
	                                  "whsec_ab!c",
	                                  "whsec_YWJj=",
	                                  "whsec_YQ===",
	                                  "whsec-redaction-test"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(delivery_standard_key(bad[i], key, sizeof key), -1);
	assert_int_equal(delivery_standard_key("whsec_YWJj", key, 2), -1); /* longer than the room */
	char sig[DELIVERY_SIGNATURE_MAX];
	const char *unusable[] = {"whsec-redaction-test"};
	assert_int_equal(delivery_sign_standard(unusable, 1, "id", 1, "{}", 2, sig), -1);
}

static void old_secret_signs_only_inside_its_window(void **state)
{
	(void)state;
	const char *secrets[DELIVERY_SECRETS_MAX];
	struct delivery_handler h = {
	    .secret = "whsec_new", .old_secret = "whsec_old", .old_secret_until = 1000};
	assert_int_equal(delivery_signing_secrets(&h, 999, secrets), 2);
	assert_string_equal(secrets[0], "whsec_new");
	assert_string_equal(secrets[1], "whsec_old");
	assert_int_equal(delivery_signing_secrets(&h, 1000, secrets), 1); /* the window has ended */
	assert_string_equal(secrets[0], "whsec_new");
	assert_int_equal(delivery_signing_secrets(&h, 5000, secrets), 1);
	h.old_secret = NULL;
	assert_int_equal(delivery_signing_secrets(&h, 999, secrets), 1);
	h.secret = ""; /* removed: nothing signs, the old one neither */
	h.old_secret = "whsec_old";
	assert_int_equal(delivery_signing_secrets(&h, 999, secrets), 0);
}

static void urls_without_scheme_are_http(void **state)
{
	(void)state;
	char url[64];
	assert_int_equal(delivery_http_url("127.0.0.1:5000/api", url, sizeof url), 0);
	assert_string_equal(url, "http://127.0.0.1:5000/api");
	assert_int_equal(delivery_http_url("https://x.example/h", url, sizeof url), 0);
	assert_string_equal(url, "https://x.example/h");
	assert_int_equal(
	    delivery_http_url("http://a-very-long-host-name.example/path/that/does/not/fit", url, 16), -1);
}

static void utf8_clean_replaces_and_cuts(void **state)
{
	(void)state;
	int cut = 0;
	char *s = delivery_utf8_clean("ok\xff\xc3\xa9\0x", 7, 100, &cut);
	assert_string_equal(s, "ok\xef\xbf\xbd\xc3\xa9\xef\xbf\xbdx");
	assert_int_equal(cut, 0);
	free(s);
	s = delivery_utf8_clean("ab\xc3\xa9", 4, 3, &cut); /* never half a character */
	assert_string_equal(s, "ab");
	assert_int_equal(cut, 1);
	free(s);
}

static void replies_are_read_per_spec(void **state)
{
	(void)state;
	struct delivery_result r;
	memset(&r, 0, sizeof r);
	const char *forbid = "{\"allow\":false,\"reason\":\"no balance\"}";
	assert_int_equal(delivery_read_reply(forbid, strlen(forbid), 1, &r), 0);
	assert_int_equal(r.verdict, DELIVERY_FORBID);
	assert_string_equal(r.reason, "no balance");
	const char *data = "{\"data\":{\"b\":2}}";
	assert_int_equal(delivery_read_reply(data, strlen(data), 1, &r), 0);
	assert_int_equal(r.verdict, DELIVERY_REPLACE);
	assert_int_equal(json_integer_value(json_object_get(r.data, "b")), 2);
	delivery_result_free(&r);
	assert_int_equal(delivery_read_reply("OK", 2, 0, &r), 0); /* HTTP: text is fine */
	assert_int_equal(r.verdict, DELIVERY_UNCHANGED);
	assert_int_equal(delivery_read_reply("OK", 2, 1, &r), -1); /* script: must be JSON */
	assert_non_null(strstr(r.error, "not valid JSON"));
	assert_int_equal(delivery_read_reply(" \n", 2, 1, &r), 0);
	assert_int_equal(r.verdict, DELIVERY_UNCHANGED);
	assert_int_equal(delivery_read_reply("{\"data\":[1]}", 12, 0, &r), -1);
	assert_int_equal(delivery_read_reply("{\"allow\":\"no\"}", 14, 0, &r), -1);
	delivery_result_free(&r);
}

static void script_success_sees_envelope_and_environment(void **state)
{
	(void)state;
	write_script("ok.sh", "#!/bin/sh\n"
	                      "body=$(cat)\n"
	                      "echo \"to stderr\" >&2\n"
	                      "printf '{\"data\":{\"event\":\"%s\",\"handler\":\"%s\",\"len\":%d}}' "
	                      "\"$PROV_EVENT\" \"$PROV_HANDLER_ID\" ${#body}\n");
	struct delivery_result r;
	assert_int_equal(run_script("ok.sh", 5000, &r), 0);
	assert_int_equal(r.success, 1);
	assert_int_equal(r.has_exit_code, 1);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.verdict, DELIVERY_REPLACE);
	assert_string_equal(json_string_value(json_object_get(r.data, "event")), "clients.update");
	assert_string_equal(json_string_value(json_object_get(r.data, "handler")), "7");
	assert_int_equal(json_integer_value(json_object_get(r.data, "len")), 36);
	assert_string_equal(r.script_stderr, "to stderr\n");
	delivery_result_free(&r);
}

static void script_failures_are_reported(void **state)
{
	(void)state;
	struct delivery_result r;
	write_script("exit3.sh", "#!/bin/sh\necho '{}'\nexit 3\n");
	assert_int_equal(run_script("exit3.sh", 5000, &r), -1);
	assert_int_equal(r.exit_code, 3);
	assert_string_equal(r.error, "the script exited with code 3");
	delivery_result_free(&r);
	write_script("junk.sh", "#!/bin/sh\necho 'not json'\n");
	assert_int_equal(run_script("junk.sh", 5000, &r), -1);
	assert_non_null(strstr(r.error, "not valid JSON"));
	delivery_result_free(&r);
	write_script("noexec.txt", "#!/bin/sh\n");
	char path[128];
	snprintf(path, sizeof path, "%s/noexec.txt", dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(run_script("noexec.txt", 5000, &r), -1);
	assert_non_null(strstr(r.error, "cannot execute"));
	delivery_result_free(&r);
	assert_int_equal(run_script("/bin/true", 5000, &r), -1);
	assert_non_null(strstr(r.error, "outside the scripts directory"));
	delivery_result_free(&r);
	assert_int_equal(run_script("../../bin/true", 5000, &r), -1);
	assert_non_null(strstr(r.error, "outside the scripts directory"));
	delivery_result_free(&r);
}

/* A script that outlives its timeout and leaves a grandchild behind: both die
 * with the process group, and nothing is left to reap. */
static void script_timeout_kills_the_group(void **state)
{
	(void)state;
	char marker[128];
	snprintf(marker, sizeof marker, "%s/grandchild.pid", dir);
	char text[512];
	snprintf(text, sizeof text, "#!/bin/sh\nsleep 30 &\necho $! > %s\nsleep 30\n", marker);
	write_script("hang.sh", text);
	struct delivery_result r;
	assert_int_equal(run_script("hang.sh", 300, &r), -1);
	assert_non_null(strstr(r.error, "timeout"));
	assert_true(r.duration_us >= 300000 && r.duration_us < 3000000);
	assert_int_equal(r.has_exit_code, 0);
	delivery_result_free(&r);
	FILE *f = fopen(marker, "r");
	assert_non_null(f);
	int grandchild = 0;
	assert_int_equal(fscanf(f, "%d", &grandchild), 1);
	fclose(f);
	/* SIGKILL is delivered at once, but the orphan's reaping by init may lag. */
	int alive = 1;
	for (int i = 0; i < 200 && alive; i++) {
		alive = kill(grandchild, 0) == 0;
		if (alive)
			usleep(10000);
	}
	assert_int_equal(alive, 0);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no zombie child of ours */
	assert_int_equal(errno, ECHILD);
}

static void script_gets_no_inherited_descriptors(void **state)
{
	(void)state;
	FILE *held = fopen("/dev/null", "r"); /* a descriptor the script must not see */
	assert_non_null(held);
	write_script("fds.sh", "#!/bin/sh\ncat >/dev/null\n"
	                       "printf '{\"data\":{\"fds\":\"%s\"}}' \"$(for f in /proc/$$/fd/*; do readlink "
	                       "$f; done | tr '\\n' ' ')\"\n");
	struct delivery_result r;
	assert_int_equal(run_script("fds.sh", 5000, &r), 0);
	const char *fds = json_string_value(json_object_get(r.data, "fds"));
	assert_non_null(fds);
	assert_non_null(strstr(fds, "pipe:")); /* stdin, stdout, stderr */
	assert_null(strstr(fds, "/dev/null"));
	assert_null(strstr(fds, "socket:"));
	delivery_result_free(&r);
	fclose(held);
}

static int occurrences(const char *text, const char *phrase)
{
	int n = 0;
	for (const char *at = strstr(text, phrase); at != NULL; at = strstr(at + 1, phrase))
		n++;
	return n;
}

/* A loopback port nobody listens on: bound, then closed. */
static int refusing_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof addr;
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	close(fd);
	return ntohs(addr.sin_port);
}

/* A refused connection is one line that says so once (libcurl's error text
 * and its error buffer both carry "Couldn't connect to server", or "Could
 * not" in newer versions). */
static void refused_connection_is_one_line(void **state)
{
	(void)state;
	struct delivery_limits limits = {
	    .response_read_max = 4096, .scripts_dir = dir, .outbound_allow = "127.0.0.0/8"};
	char err[128], url[64];
	struct delivery *d = delivery_new(&limits, err, sizeof err);
	assert_non_null(d);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", refusing_port());
	struct delivery_handler h = {
	    .id = 7, .name = "t", .kind = DELIVERY_HTTP, .task = url, .timeout_ms = 2000};
	const char body[] = "{}";
	struct delivery_request req = {.handler = &h,
	                               .events_id = "clients.update",
	                               .event_uid = "e1",
	                               .delivery_id = "00000000-0000-4000-8000-000000000000",
	                               .attempt = 1,
	                               .body = body,
	                               .body_len = strlen(body)};
	struct delivery_result r;
	assert_int_not_equal(delivery_run(d, &req, &r), 0);
	delivery_free(d);
	assert_int_equal(r.success, 0);
	assert_int_equal(r.http_status, 0);
	print_message("error: %s\n", r.error);
	assert_non_null(strstr(r.error, "127.0.0.1"));
	assert_null(strchr(r.error, '\n'));
	assert_non_null(strstr(r.error, "onnect"));
	assert_int_equal(occurrences(r.error, curl_easy_strerror(CURLE_COULDNT_CONNECT)), 1);
	delivery_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ids_are_uuid_v4),
	    cmocka_unit_test(signature_matches_known_hmac),
	    cmocka_unit_test(prov_signature_carries_one_v1_per_secret),
	    cmocka_unit_test(standard_signature_matches_the_libraries),
	    cmocka_unit_test(standard_keys_are_whsec_base64),
	    cmocka_unit_test(old_secret_signs_only_inside_its_window),
	    cmocka_unit_test(urls_without_scheme_are_http),
	    cmocka_unit_test(refused_connection_is_one_line),
	    cmocka_unit_test(utf8_clean_replaces_and_cuts),
	    cmocka_unit_test(replies_are_read_per_spec),
	    cmocka_unit_test(script_success_sees_envelope_and_environment),
	    cmocka_unit_test(script_failures_are_reported),
	    cmocka_unit_test(script_timeout_kills_the_group),
	    cmocka_unit_test(script_gets_no_inherited_descriptors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
