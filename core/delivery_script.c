/* delivery_script: a local script handler. fork + execve without a shell, the
 * envelope on stdin, the reply on stdout, stderr kept for the log; the script
 * runs in its own process group, which is killed at the timeout and cleared
 * of stragglers when the script exits, so no zombie or orphan is left. */
#include "delivery_internal.h"

#include "monotonic.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCRIPT_ENV_MAX 12
#define SCRIPT_ENV_LEN 512

struct script_run {
	pid_t pid;
	int to_child;   /* the script's stdin; -1 once closed */
	int from_out;   /* its stdout */
	int from_err;   /* its stderr */
	int exec_error; /* reads the errno of a failed execve */
	int pidfd;      /* readable when the script exits; -1: poll by ticks */
	size_t written;
	struct delivery_buf out;
	struct delivery_buf err;
};

/* The script's real path when task resolves inside scripts_dir. */
static int resolve_script(const char *scripts_dir, const char *task, char *path, struct delivery_result *out)
{
	char joined[PATH_MAX], dir[PATH_MAX];
	int n = task[0] == '/' ? snprintf(joined, sizeof joined, "%s", task)
	                       : snprintf(joined, sizeof joined, "%s/%s", scripts_dir, task);
	if (n < 0 || (size_t)n >= sizeof joined) {
		delivery_fail(out, "the script path is too long");
		return -1;
	}
	if (realpath(scripts_dir, dir) == NULL) {
		delivery_fail(out, "the scripts directory %s is not accessible: %s", scripts_dir,
		              strerror(errno));
		return -1;
	}
	if (realpath(joined, path) == NULL) {
		delivery_fail(out, "script %s not found: %s", task, strerror(errno));
		return -1;
	}
	size_t dlen = strlen(dir);
	if (strncmp(path, dir, dlen) != 0 || (path[dlen] != '/' && dlen != 1)) {
		delivery_fail(out, "script %s is outside the scripts directory %s", task, scripts_dir);
		return -1;
	}
	return 0;
}

static int trusted_node(const char *path, uid_t also_owner, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		snprintf(err, errlen, "refused: %s cannot be checked: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "refused: %s is writable by others (mode %04o)", path,
		         (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != also_owner) {
		snprintf(err, errlen, "refused: %s is owned by uid %u, not by root or uid %u", path,
		         (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	return 0;
}

int delivery_script_trusted(const char *dir, const char *path, uid_t also_owner, char *err, size_t errlen)
{
	size_t dlen = strlen(dir);
	if (dlen == 1 && dir[0] == '/')
		dlen = 0;
	if (strncmp(path, dir, dlen) != 0 || path[dlen] != '/') {
		snprintf(err, errlen, "refused: %s is outside the scripts directory %s", path, dir);
		return -1;
	}
	if (trusted_node(dlen ? dir : "/", also_owner, err, errlen) != 0)
		return -1;
	/* Each folder below dir, then the script: realpath() gave no links. */
	char part[PATH_MAX];
	for (const char *p = path + dlen + 1; (p = strchr(p, '/')) != NULL; p++) {
		snprintf(part, sizeof part, "%.*s", (int)(p - path), path);
		if (trusted_node(part, also_owner, err, errlen) != 0)
			return -1;
	}
	return trusted_node(path, also_owner, err, errlen);
}

static void build_env(const struct delivery_request *req, char env[][SCRIPT_ENV_LEN], char **envp)
{
	size_t n = 0;
	snprintf(env[n++], SCRIPT_ENV_LEN, "PATH=/usr/local/bin:/usr/bin:/bin");
	snprintf(env[n++], SCRIPT_ENV_LEN, "LANG=C.UTF-8");
	snprintf(env[n++], SCRIPT_ENV_LEN, "PROV_EVENT=%s", req->events_id);
	snprintf(env[n++], SCRIPT_ENV_LEN, "PROV_EVENT_ID=%s", req->event_uid);
	snprintf(env[n++], SCRIPT_ENV_LEN, "PROV_HANDLER_ID=%lld", req->handler->id);
	snprintf(env[n++], SCRIPT_ENV_LEN, "PROV_HANDLER_NAME=%s",
	         req->handler->name ? req->handler->name : "");
	snprintf(env[n++], SCRIPT_ENV_LEN, "PROV_DELIVERY_ID=%s", req->delivery_id);
	snprintf(env[n++], SCRIPT_ENV_LEN, "PROV_ATTEMPT=%u", req->attempt);
	snprintf(env[n++], SCRIPT_ENV_LEN, "PROV_TRIGGER=%s", delivery_trigger_name(req->trigger));
	for (size_t i = 0; i < n; i++)
		envp[i] = env[i];
	envp[n] = NULL;
}

/* In the child: only async-signal-safe calls until execve. */
static void child_exec(const char *path, const char *dir, char **envp, int in, int out, int err, int report)
{
	int fds[3] = {in, out, err};
	for (int i = 0; i < 3; i++)
		if (fds[i] < 3 && (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
			_exit(127);
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(127);
	if (report < 3 || close_range(3, (unsigned)report - 1, 0) != 0 ||
	    close_range((unsigned)report + 1, ~0U, 0) != 0)
		_exit(127);
	setpgid(0, 0);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL); /* an ignored SIGPIPE would survive execve */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char *argv[] = {(char *)path, NULL};
	if (chdir(dir) == 0)
		execve(path, argv, envp);
	int code = errno;
	ssize_t ignored = write(report, &code, sizeof code);
	(void)ignored;
	_exit(127);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Read what a pipe holds now; closes it at EOF. Bytes past the buffer's
 * limit are drained and dropped, so the script never blocks on a full pipe. */
static void drain(int *fd, struct delivery_buf *buf)
{
	char chunk[16384];
	while (*fd >= 0) {
		ssize_t n = read(*fd, chunk, sizeof chunk);
		if (n > 0) {
			if (delivery_buf_add(buf, chunk, (size_t)n) != 0)
				buf->overflow = 1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			close_fd(fd);
		return;
	}
}

static void feed(struct script_run *run, const struct delivery_request *req)
{
	while (run->to_child >= 0 && run->written < req->body_len) {
		ssize_t n = write(run->to_child, req->body + run->written, req->body_len - run->written);
		if (n > 0) {
			run->written += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			close_fd(&run->to_child); /* EPIPE: the script does not read stdin */
		}
	}
	if (run->written == req->body_len)
		close_fd(&run->to_child);
}

static int start(struct script_run *run, const char *path, const char *dir,
                 const struct delivery_request *req, struct delivery_result *out)
{
	int in[2] = {-1, -1}, o[2] = {-1, -1}, e[2] = {-1, -1}, x[2] = {-1, -1};
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(o, O_CLOEXEC) != 0 || pipe2(e, O_CLOEXEC) != 0 ||
	    pipe2(x, O_CLOEXEC) != 0) {
		delivery_fail(out, "cannot create pipes: %s", strerror(errno));
		goto fail;
	}
	char env[SCRIPT_ENV_MAX][SCRIPT_ENV_LEN];
	char *envp[SCRIPT_ENV_MAX + 1];
	build_env(req, env, envp);
	run->pid = fork();
	if (run->pid < 0) {
		delivery_fail(out, "cannot start the script: %s", strerror(errno));
		goto fail;
	}
	if (run->pid == 0)
		child_exec(path, dir, envp, in[0], o[1], e[1], x[1]);
	setpgid(run->pid, run->pid); /* also here: no window where a kill misses the group */
	close(in[0]);
	close(o[1]);
	close(e[1]);
	close(x[1]);
	run->to_child = in[1];
	run->from_out = o[0];
	run->from_err = e[0];
	run->exec_error = x[0];
	fcntl(run->to_child, F_SETFL, O_NONBLOCK);
	fcntl(run->from_out, F_SETFL, O_NONBLOCK);
	fcntl(run->from_err, F_SETFL, O_NONBLOCK);
	run->pidfd = pidfd_open(run->pid, 0);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&o[i]);
		close_fd(&e[i]);
		close_fd(&x[i]);
	}
	return -1;
}

/* Wait for the script, feeding stdin and reading stdout/stderr, until it
 * exits, the deadline passes or its output is too large. Returns the wait
 * status, or -1 when it had to be killed (out->error says why). */
static int supervise(struct script_run *run, const struct delivery_request *req, struct delivery_result *out)
{
	long long deadline = monotonic_us() + (long long)req->handler->timeout_ms * 1000;
	int status = 0;
	for (;;) {
		struct pollfd p[4];
		nfds_t n = 0;
		if (run->to_child >= 0)
			p[n++] = (struct pollfd){.fd = run->to_child, .events = POLLOUT};
		if (run->from_out >= 0)
			p[n++] = (struct pollfd){.fd = run->from_out, .events = POLLIN};
		if (run->from_err >= 0)
			p[n++] = (struct pollfd){.fd = run->from_err, .events = POLLIN};
		if (run->pidfd >= 0)
			p[n++] = (struct pollfd){.fd = run->pidfd, .events = POLLIN};
		long long left_ms = (deadline - monotonic_us() + 999) / 1000;
		if (left_ms <= 0) {
			delivery_fail(out, "timeout: the script was killed after %ld ms",
			              req->handler->timeout_ms);
			return -1;
		}
		int wait_ms = run->pidfd >= 0 ? (int)left_ms : (left_ms < 5 ? (int)left_ms : 5);
		if (poll(p, n, wait_ms) < 0 && errno != EINTR) {
			delivery_fail(out, "poll failed: %s", strerror(errno));
			return -1;
		}
		feed(run, req);
		drain(&run->from_out, &run->out);
		drain(&run->from_err, &run->err);
		if (run->out.overflow) {
			delivery_fail(out, "the script's output is larger than %zu bytes", run->out.limit);
			return -1;
		}
		/* WNOWAIT: the script stays a zombie until its group is killed, so
		 * the group id cannot be reused by an unrelated process meanwhile. */
		siginfo_t info = {0};
		if (waitid(P_PID, (id_t)run->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    info.si_pid == run->pid) {
			/* Everything the script wrote before exiting is in the pipes now. */
			drain(&run->from_out, &run->out);
			drain(&run->from_err, &run->err);
			kill(-run->pid, SIGKILL); /* what it left running in its group */
			while (waitpid(run->pid, &status, 0) < 0 && errno == EINTR)
				;
			run->pid = -1;
			return status;
		}
	}
}

static void finish(struct script_run *run)
{
	if (run->pid > 0) {
		kill(-run->pid, SIGKILL);
		kill(run->pid, SIGKILL);
		while (waitpid(run->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&run->to_child);
	close_fd(&run->from_out);
	close_fd(&run->from_err);
	close_fd(&run->exec_error);
	close_fd(&run->pidfd);
}

int delivery_script_run(struct delivery *d, const struct delivery_request *req, struct delivery_result *out)
{
	char path[PATH_MAX], dir[PATH_MAX];
	if (resolve_script(d->scripts_dir, req->handler->task, path, out) != 0)
		return -1;
	if (realpath(d->scripts_dir, dir) == NULL ||
	    delivery_script_trusted(dir, path, (uid_t)-1, out->error, sizeof out->error) != 0) {
		if (out->error[0] == '\0')
			delivery_fail(out, "the scripts directory %s is not accessible", d->scripts_dir);
		out->final = 1; /* the same script would be refused on every retry */
		return -1;
	}
	struct script_run run = {.pid = -1,
	                         .to_child = -1,
	                         .from_out = -1,
	                         .from_err = -1,
	                         .exec_error = -1,
	                         .pidfd = -1,
	                         .out = {.limit = d->limits.response_read_max},
	                         .err = {.limit = DELIVERY_STDERR_MAX}};
	if (start(&run, path, d->scripts_dir, req, out) != 0)
		return -1;
	int status = supervise(&run, req, out);
	int exec_errno = 0;
	if (status >= 0 && read(run.exec_error, &exec_errno, sizeof exec_errno) != (ssize_t)sizeof exec_errno)
		exec_errno = 0;
	finish(&run);
	out->response_overflow = run.out.overflow;
	out->response_len = run.out.len;
	out->response_body = delivery_buf_take(&run.out);
	out->stderr_overflow = run.err.overflow;
	out->script_stderr = delivery_buf_take(&run.err);
	if (status >= 0 && exec_errno != 0) {
		delivery_fail(out, "cannot execute %s: %s", path, strerror(exec_errno));
		return -1;
	}
	if (status < 0)
		return -1;
	int result = -1;
	if (WIFSIGNALED(status)) {
		delivery_fail(out, "the script was killed by signal %d", WTERMSIG(status));
	} else if (WIFEXITED(status)) {
		out->has_exit_code = 1;
		out->exit_code = WEXITSTATUS(status);
		if (out->exit_code == 0)
			result = 0;
		else
			delivery_fail(out, "the script exited with code %d", out->exit_code);
	}
	return result;
}
