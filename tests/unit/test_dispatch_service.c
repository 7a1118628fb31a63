/* Unit tests: the hand-over between prov-dispatch and a service worker
 * (arguments, stdio fds, exit code), malformed requests, the stdio swap,
 * and the listening socket's refusals. Over socketpairs and a temp dir. */
#include "dispatch_service.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64];
static char sock_path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/prov-dsvc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock_path, sizeof sock_path, "%s/d.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	rmdir(dir);
	return 0;
}

static int same_file(int a, int b)
{
	struct stat x, y;
	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static void arguments_and_stdio_arrive_whole(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	char *argv[] = {"prov-dispatch", "clients.update", "--object-id", "12", "", "--event-id=e 1", NULL};
	assert_int_equal(dsvc_send(sv[0], 6, argv), 0);
	static struct dsvc_request req;
	char err[256];
	assert_int_equal(dsvc_receive(sv[1], &req, err, sizeof err), 0);
	assert_int_equal(req.argc, 6);
	assert_string_equal(req.argv[0], "prov-dispatchd");
	for (int i = 1; i < 6; i++)
		assert_string_equal(req.argv[i], argv[i]);
	assert_null(req.argv[6]);
	for (int i = 0; i < 3; i++) {
		assert_true(req.fds[i] > 2);
		assert_true(same_file(req.fds[i], i));
		assert_int_equal(fcntl(req.fds[i], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	}
	dsvc_request_close(&req);
	assert_int_equal(req.fds[0], -1);

	assert_int_equal(dsvc_reply(sv[1], 69), 0);
	assert_int_equal(dsvc_wait_exit(sv[0], 1), 69);
	close(sv[1]);
	assert_int_equal(dsvc_wait_exit(sv[0], 1), -1); /* ended without an exit code */
	close(sv[0]);
}

static void too_many_or_too_long_arguments_are_not_sent(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	char *many[DSVC_ARGC_MAX + 3];
	for (int i = 0; i < DSVC_ARGC_MAX + 2; i++)
		many[i] = "x";
	many[DSVC_ARGC_MAX + 2] = NULL;
	assert_int_equal(dsvc_send(sv[0], DSVC_ARGC_MAX + 2, many), -1);
	char *big = malloc(DSVC_ARGS_MAX + 1);
	assert_non_null(big);
	memset(big, 'a', DSVC_ARGS_MAX);
	big[DSVC_ARGS_MAX] = '\0';
	char *argv[] = {"prov-dispatch", big, NULL};
	assert_int_equal(dsvc_send(sv[0], 2, argv), -1);
	free(big);
	close(sv[0]);
	static struct dsvc_request req;
	char err[256];
	assert_int_equal(dsvc_receive(sv[1], &req, err, sizeof err), -1);
	assert_string_equal(err, ""); /* nothing came: the caller gave up, nothing to report */
	close(sv[1]);
}

/* A request written by hand: header bytes, body, and how many fds. */
static int receive_crafted(const void *bytes, size_t len, int nfds, char *err, size_t errlen)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int fds[4] = {0, 1, 2, 0};
	union {
		char buf[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof control);
	struct iovec iov = {.iov_base = (void *)bytes, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (nfds > 0) {
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(sv[0], &msg, 0), (ssize_t)len);
	close(sv[0]);
	static struct dsvc_request req;
	int rc = dsvc_receive(sv[1], &req, err, errlen);
	if (rc == 0)
		dsvc_request_close(&req);
	for (int i = 0; i < 3; i++)
		assert_int_equal(req.fds[i], -1); /* closed on failure too */
	close(sv[1]);
	return rc;
}

static void malformed_requests_are_refused_with_a_reason(void **state)
{
	(void)state;
	char err[256];
	struct {
		char magic[4];
		uint32_t len;
		char body[8];
	} r = {{'P', 'D', '1', '\n'}, 4, "abc"};
	assert_int_equal(receive_crafted(&r, 12, 3, err, sizeof err), 0);
	assert_int_equal(receive_crafted(&r, 12, 0, err, sizeof err), -1);
	assert_string_equal(err, "a request without its stdin, stdout and stderr");
	assert_int_equal(receive_crafted(&r, 12, 2, err, sizeof err), -1);
	assert_string_equal(err, "a request without its stdin, stdout and stderr");
	assert_int_equal(receive_crafted(&r, 12, 4, err, sizeof err),
	                 -1); /* extra fds are closed, not kept */
	assert_int_equal(receive_crafted(&r, 10, 3, err, sizeof err), -1);
	assert_string_equal(err, "a truncated request");
	r.body[3] = 'd'; /* the last argument is not terminated */
	assert_int_equal(receive_crafted(&r, 12, 3, err, sizeof err), -1);
	assert_string_equal(err, "a truncated request");
	r.magic[2] = '9';
	assert_int_equal(receive_crafted(&r, 12, 3, err, sizeof err), -1);
	assert_string_equal(err, "not a prov-dispatch request");
	r.magic[2] = '1';
	r.len = DSVC_ARGS_MAX;
	assert_int_equal(receive_crafted(&r, 12, 3, err, sizeof err), -1);
	assert_string_equal(err, "not a prov-dispatch request");
}

static void the_stdio_swap_sends_output_to_the_caller_and_back(void **state)
{
	(void)state;
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(write(in[1], "ping", 4), 4);
	close(in[1]);
	int before = dup(STDOUT_FILENO);
	struct dsvc_stdio s;
	int fds[3] = {in[0], out[1], STDERR_FILENO};
	assert_int_equal(dsvc_stdio_take(&s, fds), 0);
	char buf[8] = "";
	assert_int_equal(read(STDIN_FILENO, buf, sizeof buf), 4);
	printf("pong"); /* buffered: the restore flushes it to the caller */
	dsvc_stdio_restore(&s);
	close(out[1]);
	char got[8] = "";
	assert_int_equal(read(out[0], got, sizeof got), 4);
	assert_memory_equal(got, "pong", 4);
	assert_true(same_file(STDOUT_FILENO, before)); /* ours again */
	close(before);
	close(in[0]);
	close(out[0]);
}

static void connect_gives_up_without_a_service_or_a_free_worker(void **state)
{
	(void)state;
	int taken;
	assert_int_equal(dsvc_connect(sock_path, 10, &taken), -1); /* nothing there */
	char err[256];
	int lfd = dsvc_listen(sock_path, err, sizeof err);
	assert_true(lfd >= 0);
	struct stat st;
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(dsvc_connect(sock_path, 50, &taken), -1); /* listening, but nobody accepts */
	assert_int_equal(dsvc_listen(sock_path, err, sizeof err), -1);
	assert_non_null(strstr(err, "another prov-dispatchd is already serving there"));
	close(lfd);
	int again = dsvc_listen(sock_path, err, sizeof err); /* stale now: replaced */
	assert_true(again >= 0);
	close(again);

	char file[160];
	snprintf(file, sizeof file, "%s/plain", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(dsvc_listen(file, err, sizeof err), -1);
	assert_non_null(strstr(err, "exists and is not a socket"));
	unlink(file);
	char long_path[200];
	memset(long_path, 'a', sizeof long_path - 1);
	long_path[0] = '/';
	long_path[sizeof long_path - 1] = '\0';
	assert_int_equal(dsvc_listen(long_path, err, sizeof err), -1);
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(dsvc_connect(long_path, 10, &taken), -1);
}

/* The state file as dsvc_serve writes it: magic, worker count, a byte per worker. */
static void write_state(int workers, int idle_worker)
{
	char path[160];
	snprintf(path, sizeof path, "%s.state", sock_path);
	unsigned char st[8 + 256] = {0x50, 0x53, 0x44, 0x31}; /* 0x31445350 little-endian */
	memcpy(st + 4, &(uint32_t){(uint32_t)workers}, 4);
	if (idle_worker >= 0)
		st[8 + idle_worker] = 1;
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(st, 1, sizeof st, f), sizeof st);
	fclose(f);
}

static void an_idle_worker_in_the_state_file_means_no_wait_for_its_answer(void **state)
{
	(void)state;
	char err[256], path[160];
	int lfd = dsvc_listen(sock_path, err, sizeof err);
	assert_true(lfd >= 0);
	int taken = -1;
	write_state(2, 1);
	int conn = dsvc_connect(sock_path, 5000, &taken); /* nobody accepts, yet no wait */
	assert_true(conn >= 0);
	assert_int_equal(taken, 0);
	char *argv[] = {"prov-dispatch", "clients.create", NULL};
	assert_int_equal(dsvc_send(conn, 2, argv), 0); /* queued until a worker accepts */
	int worker = accept(lfd, NULL, NULL);
	assert_true(worker >= 0);
	assert_int_equal(send(worker, "R", 1, 0), 1);
	static struct dsvc_request req;
	assert_int_equal(dsvc_receive(worker, &req, err, sizeof err), 0);
	assert_string_equal(req.argv[1], "clients.create");
	dsvc_request_close(&req);
	assert_int_equal(dsvc_reply(worker, 1), 0);
	assert_int_equal(dsvc_wait_exit(conn, taken), 1); /* "R", then the code */
	close(worker);
	close(conn);

	write_state(2, -1); /* every worker busy: wait for the answer, then give up */
	assert_int_equal(dsvc_connect(sock_path, 30, &taken), -1);
	write_state(1, 1); /* an idle byte past the worker count is not a worker */
	assert_int_equal(dsvc_connect(sock_path, 30, &taken), -1);
	close(lfd);
	snprintf(path, sizeof path, "%s.state", sock_path);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(arguments_and_stdio_arrive_whole),
	    cmocka_unit_test(too_many_or_too_long_arguments_are_not_sent),
	    cmocka_unit_test(malformed_requests_are_refused_with_a_reason),
	    cmocka_unit_test(the_stdio_swap_sends_output_to_the_caller_and_back),
	    cmocka_unit_test_setup_teardown(connect_gives_up_without_a_service_or_a_free_worker, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(an_idle_worker_in_the_state_file_means_no_wait_for_its_answer,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests_name("dispatch_service", tests, NULL, NULL);
}
