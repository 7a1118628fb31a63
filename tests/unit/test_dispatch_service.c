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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
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

	assert_int_equal(send(sv[1], "A", 1, 0), 1);
	assert_int_equal(dsvc_reply(sv[1], 69), 0);
	assert_int_equal(dsvc_wait_exit(sv[0]), 69);
	close(sv[1]);
	assert_int_equal(dsvc_wait_exit(sv[0]), DSVC_NOT_RUN); /* ended before anything */
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
	assert_int_equal(dsvc_connect(sock_path, 10), -1); /* nothing there */
	char err[256];
	int lfd = dsvc_listen(sock_path, err, sizeof err);
	assert_true(lfd >= 0);
	struct stat st;
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(dsvc_connect(sock_path, 50), -1); /* listening, but nobody accepts */
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
	assert_int_equal(dsvc_connect(long_path, 10), -1);
}

enum worker_end { END_BEFORE_ACCEPT, END_DURING_RUN, END_WITH_CODE };

/* A worker in a child process: takes one connection, reads the request, then
 * ends as told. */
static pid_t fake_worker(int lfd, enum worker_end end)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	struct pollfd ready = {.fd = lfd, .events = POLLIN}; /* the listener does not block */
	int conn = poll(&ready, 1, 10000) == 1 ? accept(lfd, NULL, NULL) : -1;
	static struct dsvc_request req;
	char err[256];
	if (conn < 0 || send(conn, "R", 1, 0) != 1 || dsvc_receive(conn, &req, err, sizeof err) != 0)
		_exit(1);
	dsvc_request_close(&req);
	if (end != END_BEFORE_ACCEPT && send(conn, "A", 1, 0) != 1)
		_exit(1);
	if (end == END_WITH_CODE && dsvc_reply(conn, 1) != 0)
		_exit(1);
	_exit(0); /* closes the connection */
}

static int handed_over(int lfd, enum worker_end end)
{
	pid_t pid = fake_worker(lfd, end);
	assert_true(pid > 0);
	int conn = dsvc_connect(sock_path, 5000);
	assert_true(conn >= 0);
	char *argv[] = {"prov-dispatch", "clients.create", NULL};
	assert_int_equal(dsvc_send(conn, 2, argv), 0);
	int code = dsvc_wait_exit(conn);
	close(conn);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return code;
}

/* Only a worker that accepted the request and then ended makes the caller
 * answer "may have run"; one that ended before it accepted leaves the event
 * to the caller (it runs it itself, exactly once). */
static void the_caller_knows_whether_anything_ran(void **state)
{
	(void)state;
	char err[256];
	int lfd = dsvc_listen(sock_path, err, sizeof err);
	assert_true(lfd >= 0);
	assert_int_equal(handed_over(lfd, END_WITH_CODE), 1);
	assert_int_equal(handed_over(lfd, END_DURING_RUN), DSVC_DIED);
	assert_int_equal(handed_over(lfd, END_BEFORE_ACCEPT), DSVC_NOT_RUN);

	/* A caller that gave up waiting: the worker that takes its connection
	 * later reads nothing and runs nothing (no message either). */
	assert_int_equal(dsvc_connect(sock_path, 20), -1);
	int late = accept(lfd, NULL, NULL);
	assert_true(late >= 0);
	static struct dsvc_request req;
	assert_int_equal(dsvc_receive(late, &req, err, sizeof err), -1);
	assert_string_equal(err, "");
	close(late);
	close(lfd);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A caller whose stdin stays open does not hold the reader past the
 * deadline; data that arrives and ends in time is read whole. */
static void the_event_data_has_a_read_deadline(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	char buf[16];
	size_t len = 99;
	assert_int_equal(write(p[1], "{\"a\"", 4), 4); /* a start, then nothing, never closed */
	long long start = now_ms();
	assert_int_equal(dsvc_read_data(p[0], buf, 8, 200, &len), DSVC_READ_TIMEOUT);
	long long took = now_ms() - start;
	assert_true(took >= 190 && took < 2000);
	assert_int_equal(write(p[1], ":1}", 3), 3);
	close(p[1]);
	assert_int_equal(dsvc_read_data(p[0], buf, 8, 200, &len), 0);
	assert_int_equal(len, 3); /* the rest: this call's bytes */
	close(p[0]);

	assert_int_equal(pipe(p), 0); /* too much: stops at cap + 1 */
	assert_int_equal(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	assert_int_equal(dsvc_read_data(p[0], buf, 8, 200, &len), 0);
	assert_int_equal(len, 9);
	close(p[0]);
}

/* A pool whose run holds its worker until the caller's stdin closes. */
static int pool_listen_fd = -1;

static int run_until_stdin_closes(void *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	char c;
	while (read(0, &c, 1) > 0)
		;
	return 3;
}

static int pool_worker(void *ctx)
{
	return dsvc_worker_loop(pool_listen_fd, run_until_stdin_closes, ctx) == 0 ? 0 : 70;
}

/* Hand an event over with stdin = the read end of a new pipe; *writer keeps it open. */
static int hand_over_holding_stdin(int *writer)
{
	int conn = dsvc_connect(sock_path, 3000);
	if (conn < 0)
		return -1;
	int p[2];
	assert_int_equal(pipe(p), 0);
	int saved = dup(0);
	assert_true(saved >= 0);
	assert_int_equal(dup2(p[0], 0), 0);
	char *argv[] = {"prov-dispatch", "clients.create", NULL};
	assert_int_equal(dsvc_send(conn, 2, argv), 0);
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	close(p[0]);
	*writer = p[1];
	return conn;
}

/* One caller uid may keep at most per_uid workers busy: with two workers and
 * a cap of one, a second event of the same uid is refused at once (the caller
 * runs it itself) although a worker is free, and is served once the first
 * finished. */
static void one_uid_cannot_take_every_worker(void **state)
{
	(void)state;
	char err[256];
	pool_listen_fd = dsvc_listen(sock_path, err, sizeof err);
	assert_true(pool_listen_fd >= 0);
	pid_t pool = fork();
	assert_true(pool >= 0);
	if (pool == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2); /* the pool's messages */
		_exit(dsvc_serve("test-pool", sock_path, pool_listen_fd, 2, 1, pool_worker, NULL));
	}
	close(pool_listen_fd);
	int first_writer = -1, second_writer = -1;
	int first = hand_over_holding_stdin(&first_writer);
	assert_true(first >= 0);
	long long start = now_ms();
	int second = hand_over_holding_stdin(&second_writer);
	assert_int_equal(second, -1); /* refused, not queued: no wait for dispatch_wait_ms */
	assert_true(now_ms() - start < 2000);
	close(first_writer);
	assert_int_equal(dsvc_wait_exit(first), 3);
	close(first);
	int third = hand_over_holding_stdin(&second_writer);
	assert_true(third >= 0);
	close(second_writer);
	assert_int_equal(dsvc_wait_exit(third), 3);
	close(third);
	kill(pool, SIGTERM);
	int status;
	assert_int_equal(waitpid(pool, &status, 0), pool);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
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
	    cmocka_unit_test_setup_teardown(the_caller_knows_whether_anything_ran, setup, teardown),
	    cmocka_unit_test(the_event_data_has_a_read_deadline),
	    cmocka_unit_test_setup_teardown(one_uid_cannot_take_every_worker, setup, teardown),
	};
	return cmocka_run_group_tests_name("dispatch_service", tests, NULL, NULL);
}
